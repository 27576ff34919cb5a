//! The invitee's inbox, for store authors: which invitations
//! [`Transaction::person_invitations`](super::Transaction::person_invitations)
//! returns ([`PersonLookup::matches`]), their order and cursor, and the
//! assembly of a page from the store's two index walks ([`person_page`]).
//!
//! A person is found through two indexes of stored-pending invitations,
//! across organizations: by recipient key (their verified email) and by
//! bound account (`user_ref`). A store walks each, newest first, keeping
//! only what [`PersonLookup::matches`] keeps, at most
//! [`page_limit`]`(limit) + 1` rows after the cursor from each, and gives
//! both walks to [`person_page`], which merges them (an invitation found
//! by both comes out once) and makes the page.
//!
//! The order is newest first: `created_at`, then organization id, then
//! invitation id, all descending. The cursor is `n.<seconds>.<nanoseconds>.<hex
//! org id>.<hex invitation id>` of the last item.

use super::cursor::{from_hex, invalid, to_hex};
use super::{StoreResult, page_limit};
use crate::id::{InvitationId, OrgId};
use crate::invitation::{InvitationStatus, StoredInvitation};
use crate::member::Page;
use chrono::{DateTime, Utc};

/// Whose invitations to find, across organizations
/// ([`Transaction::person_invitations`](super::Transaction::person_invitations)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PersonLookup {
    /// The normalized key of the person's verified email.
    pub email_key: Option<String>,
    /// The person's host account id.
    pub user_ref: Option<String>,
    /// Only invitations of this organization (the engine's "already
    /// invited" check of an account).
    pub org: Option<OrgId>,
    /// Continue after this cursor ([`person_cursor`]).
    pub after: Option<String>,
    /// Page size, through [`page_limit`].
    pub limit: u32,
}

/// The sort key of an invitation in the inbox: newest first by this key,
/// descending.
pub type PersonKey = (DateTime<Utc>, OrgId, InvitationId);

impl PersonLookup {
    /// A lookup of everyone's invitations for this email key and/or
    /// account, first page of `limit`.
    pub fn new(email_key: Option<String>, user_ref: Option<String>, limit: u32) -> Self {
        Self {
            email_key,
            user_ref,
            org: None,
            after: None,
            limit,
        }
    }

    /// Whether `inv` is one of this person's open invitations at `now`:
    /// stored pending and not past its expiry; in [`Self::org`] if given;
    /// and either bound to [`Self::user_ref`], or addressed to
    /// [`Self::email_key`] and bound to no account (an invitation bound to
    /// another account is that account's, whatever its address).
    pub fn matches(&self, inv: &StoredInvitation, now: DateTime<Utc>) -> bool {
        if inv.status != InvitationStatus::Pending || inv.expires_at.is_some_and(|e| e <= now) {
            return false;
        }
        if self.org.as_ref().is_some_and(|o| o != &inv.org_id) {
            return false;
        }
        match (&inv.user_ref, &self.user_ref) {
            (Some(bound), Some(mine)) if bound == mine => true,
            (Some(_), _) => false,
            (None, _) => self
                .email_key
                .as_ref()
                .is_some_and(|k| k == &inv.recipient_key),
        }
    }

    /// The position after which to continue, if any.
    pub fn after_key(&self) -> StoreResult<Option<PersonKey>> {
        self.after.as_deref().map(parse_person_cursor).transpose()
    }
}

/// The sort key of an invitation in the inbox.
pub fn person_key(inv: &StoredInvitation) -> PersonKey {
    (inv.created_at, inv.org_id.clone(), inv.id.clone())
}

/// The cursor after this sort key.
pub fn person_cursor(key: &PersonKey) -> String {
    format!(
        "n.{}.{}.{}.{}",
        key.0.timestamp(),
        key.0.timestamp_subsec_nanos(),
        to_hex(key.1.as_str()),
        to_hex(key.2.as_str())
    )
}

/// The sort key of a [`person_cursor`].
pub fn parse_person_cursor(cursor: &str) -> StoreResult<PersonKey> {
    let parse = || {
        let mut parts = cursor.strip_prefix("n.")?.splitn(4, '.');
        let secs: i64 = parts.next()?.parse().ok()?;
        let nanos: u32 = parts.next()?.parse().ok()?;
        let org = from_hex(parts.next()?)?;
        let id = from_hex(parts.next()?)?;
        Some((
            DateTime::from_timestamp(secs, nanos)?,
            OrgId::from(org),
            InvitationId::from(id),
        ))
    };
    parse().ok_or_else(|| invalid("person invitations"))
}

/// A page of the inbox from the store's walks (each sorted newest first,
/// each already filtered by [`PersonLookup::matches`] and the cursor, each
/// holding at least `page_limit(limit) + 1` rows when it has that many):
/// merged, without repeats, cut to the page, with the next cursor.
pub fn person_page(
    walks: Vec<Vec<StoredInvitation>>,
    limit: u32,
) -> StoreResult<Page<StoredInvitation>> {
    let limit = page_limit(limit);
    let mut all: Vec<StoredInvitation> = walks.into_iter().flatten().collect();
    all.sort_by_key(|i| std::cmp::Reverse(person_key(i)));
    all.dedup_by(|a, b| a.org_id == b.org_id && a.id == b.id);
    let more = all.len() > limit;
    all.truncate(limit);
    let next_cursor = if more {
        all.last().map(|i| person_cursor(&person_key(i)))
    } else {
        None
    };
    Ok(Page {
        items: all,
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let at = DateTime::from_timestamp(1_700_000_000, 7).expect("time");
        let key = (at, OrgId::from("org_.1"), InvitationId::from("inv_x"));
        assert_eq!(
            parse_person_cursor(&person_cursor(&key)).expect("parses"),
            key
        );
        for bad in [
            "",
            "n.",
            "n.1.2.00",
            "n.1.2.0g.00",
            "i.1.2.00",
            "n.x.0.00.00",
        ] {
            assert!(parse_person_cursor(bad).is_err(), "{bad}");
        }
    }
}

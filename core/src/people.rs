//! The people view: members and open invitations in one list (seed 001's
//! and 003's user list), with the seed's status labels.
//!
//! A [`Person`] is either a member (any status) or an invitation that is
//! staged, pending or expired (at `now`): accepted, declined and revoked
//! invitations are not people of the list (an accepted one is its member).
//! [`PeopleQuery`] filters them by label, role, group, kind, license type
//! and search text, sorts them ([`PeopleSort`], either direction) and pages
//! them with opaque cursors.
//!
//! **Search** is a case-folded *prefix* search over a person's search
//! terms ([`Person::search_terms`]): the first name, the last name, the
//! full name, the invitation's display name and the normalized email or
//! identifier. `"ada"` finds Ada Lovelace (first name), `"love"` finds her
//! too (last name), `"ada lo"` (full name) and `"ada@"` (email) as well;
//! `"velace"` finds nobody (not a prefix of any term). Stores answer it
//! from an index of the terms, so a search reads the matches, not the
//! whole organization.

use crate::group::GroupGrant;
use crate::id::{GroupId, InvitationId, MemberId, OrgId};
use crate::invitation::{Invitation, InvitationStatus};
use crate::member::{Contact, Member, MemberKind, MemberStatus};
use crate::wire_names;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// At most this many characters of search text in a [`PeopleQuery`]
/// (longer than any name or address a term can hold).
pub const MAX_PEOPLE_SEARCH_CHARS: usize = 254;

/// The status label of a person in the people view (seed 003's labels,
/// plus seed 004's staged employees and removed members).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum PersonLabel {
    /// A member who can log in and use the product.
    Active,
    /// A deactivated member.
    Inactive,
    /// Invited; the invitation is waiting and not yet past its expiry.
    Pending,
    /// Invited, but the invitation expired before it was accepted (at
    /// `now`: a pending invitation past its expiry is expired).
    Expired,
    /// Saved but not sent yet (seed 004's "Save User"; "Active"
    /// unchecked).
    Staged,
    /// A removed member; listed only when asked for.
    Removed,
}

wire_names! {
    PersonLabel {
        Active => "active",
        Inactive => "inactive",
        Pending => "pending",
        Expired => "expired",
        Staged => "staged",
        Removed => "removed",
    }
}

impl PersonLabel {
    /// The order of labels when sorting by label: the order of
    /// [`PersonLabel::ALL`] (Active first, Removed last).
    pub fn rank(self) -> i64 {
        match self {
            PersonLabel::Active => 0,
            PersonLabel::Inactive => 1,
            PersonLabel::Pending => 2,
            PersonLabel::Expired => 3,
            PersonLabel::Staged => 4,
            PersonLabel::Removed => 5,
        }
    }

    /// The labels an empty filter means: every one but Removed.
    pub const DEFAULT: [PersonLabel; 5] = [
        PersonLabel::Active,
        PersonLabel::Inactive,
        PersonLabel::Pending,
        PersonLabel::Expired,
        PersonLabel::Staged,
    ];
}

/// Whether a person of the list is a member or an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum PersonSource {
    /// A member (active, inactive or removed).
    Member,
    /// An invitation (staged, pending or expired).
    Invitation,
}

wire_names! {
    PersonSource {
        Member => "member",
        Invitation => "invitation",
    }
}

/// What the people view is sorted by. Ties are broken by the person's
/// identity, so every order is total and pages never repeat or skip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum PeopleSort {
    /// By name (case-folded display name; the email when no name is known).
    #[default]
    Name,
    /// By normalized email or identifier.
    Email,
    /// By label (in [`PersonLabel::rank`] order), then name.
    Label,
    /// By last activity. Ascending, members never active come first, then
    /// invitations (never active either) in the order they were made,
    /// then everyone else by when they were last active; descending, the
    /// other way round.
    LastActive,
    /// By organization role name, then name.
    Role,
    /// By the date joined (members) or invited (invitations).
    Date,
}

wire_names! {
    PeopleSort {
        Name => "name",
        Email => "email",
        Label => "label",
        LastActive => "last_active",
        Role => "role",
        Date => "date",
    }
}

/// A query over the people view.
///
/// In Kotlin and Swift `sort` is required (uniffi cannot default an enum
/// field): `PeopleSort.NAME` is Rust's default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PeopleQuery {
    /// Sort order.
    pub sort: PeopleSort,
    /// Sort descending (Z to A, newest first).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub descending: bool,
    /// Only people with one of these labels; empty means every label but
    /// Removed.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub labels: Vec<PersonLabel>,
    /// Only people with this organization role.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// Only people in (or invited to) this group.
    #[cfg_attr(feature = "uniffi", uniffi(default, name = "group_id"))]
    pub group: Option<GroupId>,
    /// Only members or only guests.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub kind: Option<MemberKind>,
    /// Only people with this license type.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub license_type: Option<String>,
    /// Only people one of whose search terms starts with this text,
    /// compared case-folded (see the [module](self) documentation); at most
    /// [`MAX_PEOPLE_SEARCH_CHARS`] characters. Blank means no search.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub search: Option<String>,
    /// Continue after this cursor (from a previous page's `next_cursor`,
    /// with the same sort and direction).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    #[cfg_attr(feature = "uniffi", uniffi(default = 50))]
    pub limit: u32,
}

impl Default for PeopleQuery {
    fn default() -> Self {
        Self {
            sort: PeopleSort::Name,
            descending: false,
            labels: Vec::new(),
            role: None,
            group: None,
            kind: None,
            license_type: None,
            search: None,
            after: None,
            limit: 50,
        }
    }
}

impl PeopleQuery {
    /// The labels asked for, deduplicated, in rank order (every label but
    /// Removed when none is named).
    pub fn wanted_labels(&self) -> Vec<PersonLabel> {
        let mut labels = if self.labels.is_empty() {
            PersonLabel::DEFAULT.to_vec()
        } else {
            self.labels.clone()
        };
        labels.sort_by_key(|l| l.rank());
        labels.dedup();
        labels
    }

    /// The search text case-folded, or `None` when there is none (or it
    /// is blank).
    pub fn search_folded(&self) -> Option<String> {
        let s = fold(self.search.as_deref()?.trim());
        (!s.is_empty()).then_some(s)
    }

    /// Whether a person (as seen at the time the label was computed)
    /// passes the filters (not the cursor).
    pub fn matches(&self, p: &Person) -> bool {
        self.wanted_labels().contains(&p.label)
            && self.matches_filters(p)
            && self
                .search_folded()
                .is_none_or(|s| p.search_terms().iter().any(|t| t.starts_with(&s)))
    }

    /// Whether a person passes the filters other than the labels and the
    /// search (role, kind, license type, group).
    pub(crate) fn matches_filters(&self, p: &Person) -> bool {
        self.role.as_ref().is_none_or(|r| &p.role == r)
            && self.kind.is_none_or(|k| p.kind == k)
            && self
                .license_type
                .as_ref()
                .is_none_or(|l| &p.license_type == l)
            && self
                .group
                .as_ref()
                .is_none_or(|g| p.groups.iter().any(|x| &x.group_id == g))
    }
}

/// One row of the people view: a member or an open (or expired)
/// invitation. It is a view: no secret, no hash, no accept link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct Person {
    /// The organization.
    pub org_id: OrgId,
    /// A member or an invitation.
    pub source: PersonSource,
    /// The member's id (for a member).
    pub member_id: Option<MemberId>,
    /// The invitation's id (for an invitation).
    pub invitation_id: Option<InvitationId>,
    /// The status label at the time of the query.
    pub label: PersonLabel,
    /// The name to show: "First Last", whichever part exists, or an
    /// invitation's display name; `None` when no name is known.
    pub name: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email or identifier.
    pub contact: Contact,
    /// The normalized contact.
    pub contact_key: String,
    /// Organization role (or the role the invitation offers).
    pub role: String,
    /// Groups with group roles (or those the invitation offers).
    pub groups: Vec<GroupGrant>,
    /// License type.
    pub license_type: String,
    /// Member or guest.
    pub kind: MemberKind,
    /// When the member joined, or when the invitation was created.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub since: DateTime<Utc>,
    /// When the member was last active (as recorded by the host); `None`
    /// for invitations and members never seen active.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub last_active_at: Option<DateTime<Utc>>,
    /// When a sent invitation expires (or expired).
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What [`Person::from_invitation`] reads of an invitation.
pub(crate) struct InvitationParts<'a> {
    pub org_id: &'a OrgId,
    pub id: &'a InvitationId,
    pub status: InvitationStatus,
    pub first_name: Option<&'a String>,
    pub last_name: Option<&'a String>,
    pub display_name: Option<&'a String>,
    pub recipient: &'a Contact,
    pub recipient_key: &'a crate::Text,
    pub role: &'a crate::Text,
    pub groups: &'a [GroupGrant],
    pub license_type: &'a crate::Text,
    pub kind: MemberKind,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Person {
    /// The person a member is.
    pub fn from_member(m: &Member) -> Person {
        let label = match m.status {
            MemberStatus::Active => PersonLabel::Active,
            MemberStatus::Inactive => PersonLabel::Inactive,
            MemberStatus::Removed => PersonLabel::Removed,
        };
        let name = match (&m.first_name, &m.last_name) {
            (None, None) => None,
            _ => Some(m.display_name()),
        };
        Person {
            org_id: m.org_id.clone(),
            source: PersonSource::Member,
            member_id: Some(m.id.clone()),
            invitation_id: None,
            label,
            name,
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            contact: m.contact.clone(),
            contact_key: m.contact_key.to_string(),
            role: m.role.to_string(),
            groups: m.groups.clone(),
            license_type: m.license_type.to_string(),
            kind: m.kind,
            since: m.joined_at,
            last_active_at: m.last_active_at,
            expires_at: None,
        }
    }

    /// The person an invitation is, labelled by its *stored* status, or
    /// `None` when it is not in the view (accepted, declined, revoked).
    /// [`Person::at`] turns a pending one past its expiry into Expired.
    pub fn from_invitation(inv: &Invitation) -> Option<Person> {
        Self::from_invitation_parts(InvitationParts {
            org_id: &inv.org_id,
            id: &inv.id,
            status: inv.status,
            first_name: inv.first_name.as_ref(),
            last_name: inv.last_name.as_ref(),
            display_name: inv.display_name.as_ref(),
            recipient: &inv.recipient,
            recipient_key: &inv.recipient_key,
            role: &inv.role,
            groups: &inv.groups,
            license_type: &inv.license_type,
            kind: inv.kind,
            created_at: inv.created_at,
            expires_at: inv.expires_at,
        })
    }

    /// [`Person::from_invitation`] from the fields it reads, for a store
    /// that keeps invitations in a form of its own (MemoryStore's packed
    /// one) and would otherwise make a whole invitation to read them.
    pub(crate) fn from_invitation_parts(inv: InvitationParts<'_>) -> Option<Person> {
        let label = match inv.status {
            InvitationStatus::Staged => PersonLabel::Staged,
            InvitationStatus::Pending => PersonLabel::Pending,
            InvitationStatus::Expired => PersonLabel::Expired,
            _ => return None,
        };
        let name = match (inv.first_name, inv.last_name) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(n), None) | (None, Some(n)) => Some(n.clone()),
            (None, None) => inv.display_name.cloned(),
        };
        Some(Person {
            org_id: inv.org_id.clone(),
            source: PersonSource::Invitation,
            member_id: None,
            invitation_id: Some(inv.id.clone()),
            label,
            name,
            first_name: inv.first_name.cloned(),
            last_name: inv.last_name.cloned(),
            contact: inv.recipient.clone(),
            contact_key: inv.recipient_key.to_string(),
            role: inv.role.to_string(),
            groups: inv.groups.to_vec(),
            license_type: inv.license_type.to_string(),
            kind: inv.kind,
            since: inv.created_at,
            last_active_at: None,
            expires_at: inv.expires_at,
        })
    }

    /// This person as seen at `now`: a pending invitation whose expiry is
    /// at or before `now` is Expired (as [`Invitation::status_at`]).
    pub fn at(mut self, now: DateTime<Utc>) -> Person {
        if self.label == PersonLabel::Pending && self.expires_at.is_some_and(|e| e <= now) {
            self.label = PersonLabel::Expired;
        }
        self
    }

    /// The identity that breaks ties: `m.<member id>` or `i.<invitation
    /// id>`, unique in an organization.
    pub fn pid(&self) -> String {
        match (&self.member_id, &self.invitation_id) {
            (Some(m), _) => format!("m.{m}"),
            (None, Some(i)) => invitation_pid(i),
            (None, None) => String::new(),
        }
    }

    /// The name sort key: the case-folded name, or the contact key when no
    /// name is known.
    pub fn name_key(&self) -> String {
        match &self.name {
            Some(n) => fold(n),
            None => fold(&self.contact_key),
        }
    }

    /// The case-folded terms a search is a prefix of: first name, last
    /// name, full name (the shown name) and the normalized contact;
    /// deduplicated, in byte order.
    pub fn search_terms(&self) -> Vec<String> {
        let mut terms: Vec<String> = [&self.first_name, &self.last_name, &self.name]
            .into_iter()
            .flatten()
            .map(|s| fold(s.trim()))
            .chain(std::iter::once(fold(&self.contact_key)))
            .filter(|t| !t.is_empty())
            .collect();
        terms.sort();
        terms.dedup();
        terms
    }
}

/// The pid of an invitation's person ([`Person::pid`]).
pub(crate) fn invitation_pid(id: &InvitationId) -> String {
    format!("i.{id}")
}

/// Case-folds text for the people view's names and search: Unicode
/// lowercase (`"ÉMILE"` and `"émile"` fold alike), without NUL characters
/// (which no SQL text column holds).
pub(crate) fn fold(s: &str) -> String {
    s.replace('\0', "").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(first: Option<&str>, last: Option<&str>, email: &str) -> Member {
        serde_json::from_value(serde_json::json!({
            "org_id": "org_1", "id": "mem_1", "user_ref": null,
            "contact": {"type": "email", "value": email}, "contact_key": email.to_lowercase(),
            "first_name": first, "last_name": last, "phone": null, "role": "member",
            "kind": "member", "license_type": "standard", "status": "active", "groups": [],
            "joined_at": "2026-01-01T00:00:00Z", "last_active_at": null,
            "eula_version": null, "two_factor_enrolled": false, "removed_at": null,
        }))
        .expect("a member")
    }

    #[test]
    fn search_is_a_case_folded_prefix_of_a_name_or_the_email() {
        let p = Person::from_member(&member(Some("Ada"), Some("Lovelace"), "ada@acme.test"));
        assert_eq!(
            p.search_terms(),
            ["ada", "ada lovelace", "ada@acme.test", "lovelace"]
        );
        for (text, hit) in [
            ("ADA", true),
            ("love", true),
            ("ada lo", true),
            ("ada@", true),
            ("  Lovelace ", true),
            ("velace", false),
            ("acme", false),
            ("", true),
        ] {
            let q = PeopleQuery {
                search: Some(text.to_owned()),
                ..PeopleQuery::default()
            };
            assert_eq!(q.matches(&p), hit, "{text:?}");
        }
        let unnamed = Person::from_member(&member(None, None, "x@acme.test"));
        assert_eq!(unnamed.name, None);
        assert_eq!(unnamed.name_key(), "x@acme.test");
    }

    #[test]
    fn removed_people_are_listed_only_when_asked_for() {
        let mut m = member(Some("Ada"), None, "ada@acme.test");
        m.status = MemberStatus::Removed;
        let p = Person::from_member(&m);
        assert!(!PeopleQuery::default().matches(&p));
        let q = PeopleQuery {
            labels: vec![PersonLabel::Removed],
            ..PeopleQuery::default()
        };
        assert!(q.matches(&p));
    }
}

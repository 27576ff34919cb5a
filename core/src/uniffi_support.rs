//! How core's types cross to Kotlin and Swift (the `uniffi` feature, used
//! by `bindings-uniffi`): every type that is not a plain record or enum is
//! declared here, once. The records and enums themselves derive
//! `uniffi::Record` / `uniffi::Enum` where they are defined.
//!
//! - Ids cross as strings (`typealias OrgId = String` in Kotlin).
//! - Times cross as `SystemTime` (`java.time.Instant` in Kotlin, `Date` in
//!   Swift); a foreign time outside chrono's range is refused.
//! - A [`PermissionSet`] crosses as a list in a stable order, seat limits
//!   as a map, positions (`usize`) as `u32`.
//! - An [`AddressError`] crosses as [`AddressProblem`]: its stable code,
//!   message and position, and its facts as JSON to read it back by (so a
//!   report holding one can be passed back to its methods).
//! - An [`AddressWarning`] crosses as [`AddressNotice`]: its stable code
//!   and message (read back by its code).
//! - A [`Secret`] crosses as an object (`Secret` there, the [`SecretText`]
//!   object), never as a string: printed, it shows `Secret(***)`.
//! - A [`Page`] crosses as [`MemberPage`], [`InvitationPage`],
//!   [`DeadLetterPage`] or [`PersonPage`] (a uniffi record cannot be
//!   generic).

use crate::email::{AddressError, AddressWarning};
use crate::engine::{
    ImportRejection, ImportReport, InviteReport, IssuedInvitation, RejectedRecipient,
};
use crate::id::{
    BatchId, GroupId, InvitationId, LinkId, MemberId, MembershipRequestId, MessageId, OrgId,
};
use crate::invitation::Invitation;
use crate::member::{Member, Page};
use crate::metadata::Metadata;
use crate::report::{BatchReport, ReportRow};
use crate::role::{Permission, PermissionSet};
use crate::secret::Secret;
use crate::text::Text;
use chrono::Utc;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use uniffi::deps::anyhow::anyhow;

macro_rules! id_types {
    ($($id:ident),* $(,)?) => {$(
        uniffi::custom_type!($id, String, {
            lower: |id| id.as_str().to_owned(),
            try_lift: |s| Ok($id::from(s)),
        });
    )*};
}

id_types!(
    OrgId,
    MemberId,
    GroupId,
    InvitationId,
    MessageId,
    BatchId,
    MembershipRequestId,
    LinkId,
);

// A shared text crosses as a string.
uniffi::custom_type!(Text, String, {
    lower: |t| t.into_string(),
    try_lift: |s| Ok(Text::from(s)),
});

/// A time, in UTC.
type DateTime = chrono::DateTime<Utc>;

uniffi::custom_type!(DateTime, SystemTime, {
    remote,
    // Every `DateTime<Utc>` fits a `SystemTime` on the platforms uniffi
    // targets (64-bit seconds).
    lower: |t| SystemTime::from(t),
    try_lift: |t| utc_from_system_time(t)
        .ok_or_else(|| anyhow!("the time is out of the supported range")),
});

/// A foreign time as a core time: `None` when it is outside the range core
/// represents (about 262,000 years either side of year 0). chrono's own
/// `From<SystemTime>` panics there.
pub fn utc_from_system_time(t: SystemTime) -> Option<chrono::DateTime<Utc>> {
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (i64::try_from(d.as_secs()).ok()?, d.subsec_nanos()),
        Err(before) => {
            // Seconds before the epoch, nanoseconds always counted forward.
            let d = before.duration();
            let secs = i64::try_from(d.as_secs()).ok()?;
            if d.subsec_nanos() == 0 {
                (-secs, 0)
            } else {
                (-secs - 1, 1_000_000_000 - d.subsec_nanos())
            }
        }
    };
    DateTime::from_timestamp(secs, nanos)
}

uniffi::custom_type!(PermissionSet, Vec<Permission>, {
    remote,
    lower: |set| set.into_iter().collect(),
    try_lift: |list| Ok(list.into_iter().collect()),
});

/// A role's host-defined permissions (`Role::custom_permissions`): a
/// sorted `List<String>` in Kotlin and Swift.
type CustomPermissions = std::collections::BTreeSet<String>;

uniffi::custom_type!(CustomPermissions, Vec<String>, {
    remote,
    lower: |set| set.into_iter().collect(),
    try_lift: |list| Ok(list.into_iter().collect()),
});

/// Seat limits per license type.
type SeatLimits = BTreeMap<String, u32>;

uniffi::custom_type!(SeatLimits, HashMap<String, u32>, {
    remote,
    lower: |m| m.into_iter().collect(),
    try_lift: |m| Ok(m.into_iter().collect()),
});

/// A member's or an invitation's attributes (`department`, ...): a
/// `Map<String, String>` in Kotlin, `[String: String]` in Swift.
type Attributes = BTreeMap<String, String>;

uniffi::custom_type!(Attributes, HashMap<String, String>, {
    remote,
    lower: |m| m.into_iter().collect(),
    try_lift: |m| Ok(m.into_iter().collect()),
});

// Metadata on an invitation or a member (issue 14) crosses as its JSON
// text (a `String` holding one JSON object: `"{}"` when empty). Text from
// Kotlin or Swift is read by `Metadata::from_json`: bounded (4 KiB) before
// it is parsed, objects only; a refused text reaches the caller as the
// engine's `InvalidInput`.
uniffi::custom_type!(Metadata, String, {
    lower: |m| m.to_json(),
    // A text that is not bounded JSON metadata lifts as "refused", which
    // the engine reports as an invalid input (its reason, not the text).
    try_lift: |s| Ok(Metadata::from_json(&s).unwrap_or_else(|e| Metadata::refused(e.to_string()))),
});

/// A position or count (`usize` in Rust): far below `u32::MAX` under
/// core's limits, saturating if not.
type Index = usize;

uniffi::custom_type!(Index, u32, {
    remote,
    lower: |n| u32::try_from(n).unwrap_or(u32::MAX),
    try_lift: |n| usize::try_from(n).map_err(|e| anyhow!(e)),
});

/// Why a text is not an address enlist accepts, as it crosses to Kotlin
/// and Swift.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AddressProblem {
    /// The error's stable code (`missing_at`, ...).
    pub code: String,
    /// What to tell the person who typed it.
    pub message: String,
    /// Where the problem is (0-based character index), if known.
    pub position: Option<u32>,
    /// The error with its facts, as core serializes it
    /// (`{"code":"multiple_at","detail":{"position":7}}`): what it is read
    /// back from when a record holding it is passed back in.
    pub facts: String,
}

impl From<&AddressError> for AddressProblem {
    fn from(e: &AddressError) -> Self {
        Self {
            code: e.code().to_owned(),
            message: e.to_string(),
            position: e.position().map(|p| u32::try_from(p).unwrap_or(u32::MAX)),
            facts: serde_json::to_string(e).unwrap_or_default(),
        }
    }
}

/// An address error read back from its facts: only one that could have
/// crossed out (a position that fits a `u32`, as it was lowered).
fn address_error_of(p: &AddressProblem) -> uniffi::Result<AddressError> {
    let e: AddressError = serde_json::from_str(&p.facts)
        .map_err(|e| anyhow!("unreadable address error facts: {e}"))?;
    if e.position().is_some_and(|n| u32::try_from(n).is_err()) {
        return Err(anyhow!("an address error's position is out of range"));
    }
    Ok(e)
}

uniffi::custom_type!(AddressError, AddressProblem, {
    lower: |e| AddressProblem::from(&e),
    try_lift: |p| address_error_of(&p),
});

/// A secret handed out once (an accept token, an access code, or a link or
/// email body holding one), as Kotlin and Swift hold it: `Secret` there is
/// this object, so that printing the record holding it (Kotlin `toString`,
/// Swift `description` and `dump`, a reflective JSON logger) shows
/// `Secret(***)` and never its text; `expose()` reads the text where it is
/// needed (the email to send, the page to show once).
#[derive(uniffi::Object, PartialEq, Eq)]
#[uniffi::export(Display, Debug)]
pub struct SecretText(Secret);

#[uniffi::export]
impl SecretText {
    /// The secret's text. Do not log it.
    fn expose(&self) -> String {
        self.0.expose().to_owned()
    }
}

impl fmt::Display for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

uniffi::custom_type!(Secret, Arc<SecretText>, {
    lower: |s| Arc::new(SecretText(s)),
    try_lift: |t| Ok(t.0.clone()),
});

macro_rules! page_types {
    ($($(#[$doc:meta])* $page:ident of $item:ty;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
        pub struct $page {
            /// The items of this page.
            pub items: Vec<$item>,
            /// Pass this as `after` for the next page; `None` on the last
            /// page.
            pub next_cursor: Option<String>,
        }

        impl From<Page<$item>> for $page {
            fn from(p: Page<$item>) -> Self {
                Self {
                    items: p.items,
                    next_cursor: p.next_cursor,
                }
            }
        }
    )*};
}

page_types! {
    /// One page of members, as Kotlin and Swift see [`Page<Member>`].
    MemberPage of Member;
    /// One page of invitations, as Kotlin and Swift see [`Page<Invitation>`].
    InvitationPage of Invitation;
    /// One page of dead letters, as Kotlin and Swift see
    /// [`Page<DeadLetter>`](crate::DeadLetter).
    DeadLetterPage of crate::outbox::DeadLetter;
    /// One page of the people view, as Kotlin and Swift see
    /// [`Page<Person>`](crate::Person).
    PersonPage of crate::people::Person;
    /// One page of a signed-in person's inbox, as Kotlin and Swift see
    /// [`Page<InboxInvitation>`](crate::InboxInvitation).
    InboxPage of crate::engine::InboxInvitation;
    /// One page of membership requests, as Kotlin and Swift see
    /// [`Page<MembershipRequest>`](crate::MembershipRequest).
    MembershipRequestPage of crate::domain::MembershipRequest;
    /// One page of invitation links, as Kotlin and Swift see
    /// [`Page<InviteLink>`](crate::InviteLink).
    LinkPage of crate::link::InviteLink;
    /// One page of organizations, as Kotlin and Swift see
    /// [`Page<Organization>`](crate::Organization).
    OrganizationPage of crate::organization::Organization;
    /// One page of an account's organizations, as Kotlin and Swift see
    /// [`Page<AccountMembership>`](crate::AccountMembership).
    AccountMembershipPage of crate::organization::AccountMembership;
}

/// Something suspicious about a valid address, as it crosses to Kotlin and
/// Swift (`AddressWarning` there).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AddressNotice {
    /// A stable code (`international_domain`, `confusable`, ...).
    pub code: String,
    /// What to tell the person who typed it.
    pub message: String,
}

impl From<&AddressWarning> for AddressNotice {
    fn from(w: &AddressWarning) -> Self {
        Self {
            code: w.code().to_owned(),
            message: w.to_string(),
        }
    }
}

uniffi::custom_type!(AddressWarning, AddressNotice, {
    lower: |w| AddressNotice::from(&w),
    // Read back by its code (a record holding one can be passed back in).
    try_lift: |n| n.code.parse().map_err(|_| anyhow!("unknown address warning {:?}", n.code)),
});

#[uniffi::export]
impl RejectedRecipient {
    /// The reason's stable code (`invalid_address`, `already_member`, ...).
    #[uniffi::method(name = "code")]
    fn ffi_code(&self) -> String {
        self.reason.code().to_owned()
    }

    /// The reason, for people.
    #[uniffi::method(name = "message")]
    fn ffi_message(&self) -> String {
        self.reason.to_string()
    }
}

#[uniffi::export]
impl InviteReport {
    /// The report as CSV
    /// (`index,recipient,status,invitation_id,reason_code,reason,warnings`)
    /// for a "Download report" button. Holds no secrets.
    #[uniffi::method(name = "csv")]
    fn ffi_csv(&self) -> String {
        self.to_csv()
    }
}

/// An invitation issued by an import, with its file line, as Kotlin and
/// Swift read [`ImportReport::issued`] (whose rows borrow the report).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
#[non_exhaustive]
pub struct ImportedRow {
    /// The row's line in the file.
    pub line: usize,
    /// The batch it was issued in (an index into the report's `batches`).
    pub batch: usize,
    /// The invitation, with its secret when it was sent.
    pub issued: IssuedInvitation,
}

#[uniffi::export]
impl ImportReport {
    /// The invitations issued, in file order, with their lines and batches.
    #[uniffi::method(name = "issued")]
    fn ffi_issued(&self) -> Vec<ImportedRow> {
        self.issued()
            .map(|i| ImportedRow {
                line: i.line,
                batch: i.batch,
                issued: i.issued.clone(),
            })
            .collect()
    }

    /// The rows that got no invitation, in file order.
    #[uniffi::method(name = "rejected")]
    fn ffi_rejected(&self) -> Vec<ImportRejection> {
        self.rejected().collect()
    }

    /// How many rows got no invitation.
    #[uniffi::method(name = "failed_count")]
    fn ffi_failed_count(&self) -> usize {
        self.failed_count()
    }

    /// The report as CSV, one row per line of the file. Holds no secrets.
    #[uniffi::method(name = "csv")]
    fn ffi_csv(&self) -> String {
        self.to_csv()
    }
}

#[uniffi::export]
impl BatchReport {
    /// The rows of the Invitations report (what was done).
    #[uniffi::method(name = "invitations")]
    fn ffi_invitations(&self) -> Vec<ReportRow> {
        self.invitations().cloned().collect()
    }

    /// The rows of the Errors report (what was refused, and why).
    #[uniffi::method(name = "errors")]
    fn ffi_errors(&self) -> Vec<ReportRow> {
        self.errors().cloned().collect()
    }

    /// The Invitations report as CSV. Holds no secrets.
    #[uniffi::method(name = "invitations_csv")]
    fn ffi_invitations_csv(&self) -> String {
        self.invitations_csv()
    }

    /// The Errors report as CSV. Holds no secrets.
    #[uniffi::method(name = "errors_csv")]
    fn ffi_errors_csv(&self) -> String {
        self.errors_csv()
    }
}

#[uniffi::export]
impl ImportRejection {
    /// The reason's stable code (`invalid_address`, `unknown_group`, ...).
    #[uniffi::method(name = "code")]
    fn ffi_code(&self) -> String {
        self.reason.code().to_owned()
    }
}

#[uniffi::export]
impl Member {
    /// "First Last", or whichever part exists, or the contact.
    #[uniffi::method(name = "display_name")]
    fn ffi_display_name(&self) -> String {
        self.display_name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, Event, EventKind};
    use crate::policy::Policy;
    use crate::role::Role;
    use crate::{RejectReason, UniFfiTag};
    use std::time::Duration;
    use uniffi::{Lift, Lower};

    /// `v` written the way it crosses to Kotlin and Swift, and read back.
    fn across<T: Lower<UniFfiTag> + Lift<UniFfiTag>>(v: T) -> uniffi::Result<T> {
        let mut buf = Vec::new();
        T::write(v, &mut buf);
        let mut rest = &buf[..];
        let back = T::try_read(&mut rest)?;
        assert!(rest.is_empty(), "bytes left over");
        Ok(back)
    }

    #[test]
    fn core_records_cross_whole_custom_types_included() {
        let mut policy = Policy::default();
        policy.seat_limits.insert("pro".into(), 3);
        policy.seat_limits.insert("basic".into(), 10);
        policy.eula_version = Some("2026-01".into());
        assert_eq!(across(policy.clone()).unwrap(), policy);
        for role in Role::built_ins() {
            assert_eq!(across(role.clone()).unwrap(), role);
        }
        let at = DateTime::from_timestamp(1_767_603_600, 123_456_789).unwrap();
        let event = Event {
            org_id: OrgId::from("org_1"),
            seq: 7,
            at,
            actor: Actor::Member(MemberId::from("mem_1")),
            kind: EventKind::InvitationSent {
                invitation: InvitationId::from("inv_1"),
                expires_at: at,
            },
        };
        assert_eq!(across(event.clone()).unwrap(), event);
        let dup = RejectReason::DuplicateInBatch { first_index: 3 };
        assert_eq!(across(dup.clone()).unwrap(), dup);
    }

    #[test]
    fn an_address_error_crosses_as_its_code_and_back_inside_a_reason() {
        let error = crate::email::parse_address("not-an-address").unwrap_err();
        let mut buf = Vec::new();
        <AddressError as Lower<UniFfiTag>>::write(error.clone(), &mut buf);
        let problem = <AddressProblem as Lift<UniFfiTag>>::try_read(&mut &buf[..]).unwrap();
        assert_eq!(problem, AddressProblem::from(&error));
        assert_eq!(problem.code, error.code());
        let reason = RejectReason::InvalidAddress { error };
        assert_eq!(across(reason.clone()).unwrap(), reason);
    }

    #[test]
    fn an_address_error_is_read_back_from_its_facts_and_bounded() {
        let error = crate::email::parse_address("ada@@example.com").unwrap_err();
        assert!(error.position().is_some(), "{error:?}");
        assert_eq!(across(error.clone()).unwrap(), error);
        // Facts a caller made up: a position that never crossed out, or
        // no facts at all, are refused rather than read.
        let mut forged = AddressProblem::from(&error);
        forged.facts = forged.facts.replace(
            &error.position().unwrap().to_string(),
            &usize::MAX.to_string(),
        );
        assert!(
            forged.facts.contains(&usize::MAX.to_string()),
            "{}",
            forged.facts
        );
        assert!(address_error_of(&forged).is_err());
        forged.facts = String::new();
        assert!(address_error_of(&forged).is_err());
    }

    /// The reports cross whole, an address error inside included, so that
    /// Kotlin and Swift can pass them back to their methods, which give
    /// what the Rust API computes.
    #[test]
    fn reports_cross_and_back_and_their_methods_are_cores() {
        use crate::{
            Actor, CreatedOrganization, Enlist, ImportDefaults, ImportFormat, InviteRequest,
            NewOrganization, Recipients,
        };
        let engine = Enlist::in_memory();
        let CreatedOrganization {
            organization: org,
            owner,
            ..
        } = engine
            .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
            .unwrap();
        let owner = Actor::Member(owner.id);
        let report = engine
            .invite(
                &org.id,
                &owner,
                InviteRequest::new(Recipients::Paste("bob@acme.test, not-an-address".into())),
            )
            .unwrap();
        let back = across(report.clone()).unwrap();
        assert_eq!(back, report);
        let rejected = &back.rejected[0];
        assert_eq!(rejected.ffi_code(), "invalid_address");
        assert_eq!(rejected.ffi_message(), rejected.reason.to_string());
        assert_eq!(back.ffi_csv(), report.to_csv());

        let csv = "Email\ncarol@acme.test\nnot-an-email\n";
        let imported = engine
            .import_invitations(
                &org.id,
                &owner,
                csv.as_bytes(),
                ImportFormat::Csv,
                ImportDefaults::default(),
            )
            .unwrap();
        let back = across(imported.clone()).unwrap();
        assert_eq!(back, imported);
        let lines: Vec<_> = back
            .ffi_issued()
            .iter()
            .map(|i| (i.line, i.batch))
            .collect();
        assert_eq!(lines, vec![(2, 0)]);
        let rejected = back.ffi_rejected();
        assert_eq!(rejected.len(), 1);
        assert_eq!(
            (rejected[0].line, rejected[0].ffi_code().as_str()),
            (3, "invalid_address")
        );
        assert_eq!(back.ffi_failed_count(), 1);
        assert_eq!(back.ffi_csv(), imported.to_csv());
    }

    #[test]
    fn a_secret_crosses_as_an_object_that_prints_redacted() {
        let secret = Secret::new("org_1.s3cr3t");
        let mut buf = Vec::new();
        <Secret as Lower<UniFfiTag>>::write(secret.clone(), &mut buf);
        let object = <Arc<SecretText> as Lift<UniFfiTag>>::try_read(&mut &buf[..]).unwrap();
        assert_eq!(object.to_string(), "Secret(***)");
        assert_eq!(format!("{object:?}"), "Secret(***)");
        assert_eq!(object.expose(), "org_1.s3cr3t");
        assert_eq!(across(secret.clone()).unwrap(), secret);
    }

    #[test]
    fn an_address_warning_crosses_as_its_code_and_message() {
        let warning = AddressWarning::Confusable;
        let mut buf = Vec::new();
        <AddressWarning as Lower<UniFfiTag>>::write(warning.clone(), &mut buf);
        let notice = <AddressNotice as Lift<UniFfiTag>>::try_read(&mut &buf[..]).unwrap();
        assert_eq!(notice.code, "confusable");
        assert_eq!(notice.message, warning.to_string());
        assert_eq!(across(warning.clone()).unwrap(), warning);
        let unknown = AddressNotice {
            code: "no_such_warning".into(),
            message: String::new(),
        };
        let mut buf = Vec::new();
        <AddressNotice as Lower<UniFfiTag>>::write(unknown, &mut buf);
        assert!(<AddressWarning as Lift<UniFfiTag>>::try_read(&mut &buf[..]).is_err());
    }

    #[test]
    fn a_foreign_time_out_of_range_is_refused() {
        let far = UNIX_EPOCH + Duration::from_secs(400_000 * 366 * 86_400);
        let mut buf = Vec::new();
        <SystemTime as Lower<UniFfiTag>>::write(far, &mut buf);
        assert!(<DateTime as Lift<UniFfiTag>>::try_read(&mut &buf[..]).is_err());
    }

    #[test]
    fn times_round_trip_with_nanoseconds_both_sides_of_the_epoch() {
        for (secs, nanos) in [
            (1_700_000_000, 123_456_789),
            (0, 0),
            (-1, 999_999_999),
            (-86_400 * 365 * 100, 5),
        ] {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            assert_eq!(
                utc_from_system_time(SystemTime::from(t)),
                Some(t),
                "{secs}.{nanos}"
            );
        }
    }

    #[test]
    fn a_time_before_the_epoch_is_that_far_before() {
        let dt = utc_from_system_time(UNIX_EPOCH - Duration::new(10, 250_000_000)).unwrap();
        assert_eq!(dt.timestamp(), -11);
        assert_eq!(dt.timestamp_subsec_nanos(), 750_000_000);
    }

    #[test]
    fn out_of_range_times_are_none() {
        let far = UNIX_EPOCH + Duration::from_secs(400_000 * 366 * 86_400);
        assert_eq!(utc_from_system_time(far), None);
        let past = UNIX_EPOCH - Duration::from_secs(400_000 * 366 * 86_400);
        assert_eq!(utc_from_system_time(past), None);
    }
}

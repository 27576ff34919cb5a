//! Members.

use crate::error::{Error, Result};
use crate::group::GroupGrant;
use crate::id::{GroupId, MemberId, OrgId};
use crate::lifecycle::{Lifecycle, Transition};
use crate::text::Text;
use crate::wire_names;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A person's attributes: the directory's fields beyond names and role
/// (`department`, `job_title`, ...), by key, kept in key order. At most
/// [`MAX_ATTRIBUTES`] keys of at most [`MAX_ATTRIBUTE_KEY_CHARS`]
/// characters, each value one line of at most
/// [`MAX_ATTRIBUTE_VALUE_CHARS`] characters.
pub type Attributes = std::collections::BTreeMap<String, String>;

/// Attributes one member or invitation may carry.
pub const MAX_ATTRIBUTES: usize = 20;
/// Characters of an attribute's key.
pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
/// Characters of an attribute's value.
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 200;

/// Where a member stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum MemberStatus {
    /// Registered and able to use the product.
    Active,
    /// Deactivated (for example, left the company); can be reactivated.
    Inactive,
    /// Removed from the organization: a tombstone that keeps history
    /// readable. Terminal; the email is free to be invited again.
    Removed,
}

wire_names! {
    MemberStatus {
        Active => "active",
        Inactive => "inactive",
        Removed => "removed",
    }
}

impl MemberStatus {
    /// The lifecycle of a member: every change of status the engine makes,
    /// and by which command (`join` is any way in: accepting, the link,
    /// self-registration, creating the organization).
    pub const LIFECYCLE: Lifecycle<MemberStatus> = {
        use MemberStatus::*;
        const fn t(
            from: MemberStatus,
            to: MemberStatus,
            by: &'static str,
        ) -> Transition<MemberStatus> {
            Transition { from, to, by }
        }
        Lifecycle {
            start: Active,
            created_by: "join",
            transitions: &[
                t(Active, Inactive, "deactivate"),
                t(Inactive, Active, "reactivate"),
                t(Active, Removed, "remove"),
                t(Inactive, Removed, "remove"),
            ],
        }
    };
}

/// Whether a person is a full member or a guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum MemberKind {
    /// A full member.
    #[default]
    Member,
    /// A guest: sees only the groups invited to.
    Guest,
}

wire_names! {
    MemberKind {
        Member => "member",
        Guest => "guest",
    }
}

impl MemberKind {
    /// The role a person of this kind gets when no role is named: the
    /// built-in `guest` role for guests, `member` for members.
    pub fn default_role(self) -> &'static str {
        match self {
            MemberKind::Member => crate::role::builtin::MEMBER,
            MemberKind::Guest => crate::role::builtin::GUEST,
        }
    }
}

/// How the person is reached: an email address, or an identifier (phone,
/// personnel number, ...) for people without email. Its text is a
/// [`Text`]: an invitation's contact is shared by the store's copy, its
/// audit event, its report row and its queued email.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum Contact {
    /// An email address as given (trimmed).
    Email(#[cfg_attr(feature = "uniffi", uniffi(name = "address"))] Text),
    /// An identifier as given (trimmed).
    Identifier(#[cfg_attr(feature = "uniffi", uniffi(name = "identifier"))] Text),
    /// Only the host application's account (its `user_ref`): a person
    /// invited or added by account, with no email or identifier to reach
    /// them by. They see the invitation in the app
    /// ([`Enlist::invitations_for`](crate::Enlist::invitations_for)); no
    /// email is sent.
    Account(#[cfg_attr(feature = "uniffi", uniffi(name = "user_ref"))] Text),
}

impl Contact {
    /// The text of the address or identifier.
    pub fn as_str(&self) -> &str {
        self.text()
    }

    /// The text of the address or identifier, to share (a clone copies a
    /// pointer).
    pub fn text(&self) -> &Text {
        match self {
            Contact::Email(s) | Contact::Identifier(s) | Contact::Account(s) => s,
        }
    }

    /// The email address, if this is one.
    pub fn email(&self) -> Option<&str> {
        match self {
            Contact::Email(s) => Some(s),
            Contact::Identifier(_) | Contact::Account(_) => None,
        }
    }

    /// The uniqueness key of a contact that is only an account: `@` and
    /// the `user_ref`. No email key (never starting with `@`) nor
    /// identifier key (never holding `@`) can be equal to it.
    pub fn account_key(user_ref: &str) -> String {
        format!("@{user_ref}")
    }
}

/// A person in an organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct Member {
    /// The organization.
    pub org_id: OrgId,
    /// Its id.
    pub id: MemberId,
    /// The host application's account id: one person may belong to many
    /// organizations under the same `user_ref`.
    pub user_ref: Option<String>,
    /// Email or identifier; never changes.
    pub contact: Contact,
    /// The normalized contact: the uniqueness key within the organization.
    pub contact_key: Text,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Organization role (by name).
    pub role: Text,
    /// Member or guest.
    pub kind: MemberKind,
    /// License type: what seat the member takes.
    pub license_type: Text,
    /// Active, inactive or removed.
    pub status: MemberStatus,
    /// Groups, with group roles.
    pub groups: Vec<GroupGrant>,
    /// When the member joined.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub joined_at: DateTime<Utc>,
    /// When the member was last active, as recorded by the host.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub last_active_at: Option<DateTime<Utc>>,
    /// The EULA version accepted at registration.
    pub eula_version: Option<String>,
    /// Whether two-factor was enrolled at registration.
    pub two_factor_enrolled: bool,
    /// When the member was removed, for tombstones.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub removed_at: Option<DateTime<Utc>>,
    /// Attributes such as `department` or `job_title` (carried over from
    /// the invitation, changed by [`Enlist::update_member`](crate::Enlist::update_member)
    /// or a bulk update). Rows stored before attributes existed read as
    /// empty.
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    pub attributes: Attributes,
    /// Metadata carried over from the invitation's public metadata (or set
    /// by an administrator, [`MemberUpdate::public_metadata`](crate::MemberUpdate::public_metadata)).
    #[serde(default, skip_serializing_if = "crate::metadata::Metadata::is_empty")]
    pub public_metadata: crate::metadata::Metadata,
    /// Metadata carried over from the invitation's private metadata (or set
    /// by an administrator); returned to those who may view members, never
    /// in what the invitee receives on accepting.
    #[serde(default, skip_serializing_if = "crate::metadata::Metadata::is_empty")]
    pub private_metadata: crate::metadata::Metadata,
}

impl Member {
    /// "First Last", or whichever part exists, or the contact.
    pub fn display_name(&self) -> String {
        match (&self.first_name, &self.last_name) {
            (Some(f), Some(l)) => format!("{f} {l}"),
            (Some(n), None) | (None, Some(n)) => n.clone(),
            (None, None) => self.contact.as_str().to_owned(),
        }
    }

    /// The member's role in a group, if in it.
    pub fn group_role(&self, group: &GroupId) -> Option<crate::role::GroupRole> {
        self.groups
            .iter()
            .find(|g| &g.group_id == group)
            .map(|g| g.role)
    }

    /// Moves the status to `to` by the command `by`, if the
    /// [lifecycle](MemberStatus::LIFECYCLE) allows it: the engine's one way
    /// of changing a member's status.
    pub(crate) fn move_to(&mut self, to: MemberStatus, by: &'static str) -> Result<()> {
        if !MemberStatus::LIFECYCLE.allows(self.status, to, by) {
            return Err(Error::conflict(format!(
                "member {} cannot go from {} to {to} by {by}",
                self.id, self.status
            )));
        }
        self.status = to;
        Ok(())
    }

    /// Whether the member holds a seat: active members do; inactive and
    /// removed ones do not.
    pub fn holds_seat(&self) -> bool {
        self.status == MemberStatus::Active
    }
}

/// How to sort a member list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum MemberSort {
    /// By email (normalized), A to Z.
    #[default]
    EmailAsc,
    /// By email (normalized), Z to A.
    EmailDesc,
}

wire_names! {
    MemberSort {
        EmailAsc => "email_asc",
        EmailDesc => "email_desc",
    }
}

/// A query over an organization's members.
///
/// In Kotlin and Swift `sort` is required (uniffi cannot default an enum
/// field): `MemberSort.EMAIL_ASC` is Rust's default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MemberQuery {
    /// Sort order.
    pub sort: MemberSort,
    /// Only members whose normalized contact contains this text
    /// (case-insensitive).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub search: Option<String>,
    /// Only members with this role.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// Only members with one of these statuses; empty means active and
    /// inactive (removed members are listed only when asked for).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub statuses: Vec<MemberStatus>,
    /// Only members of this group.
    #[cfg_attr(feature = "uniffi", uniffi(default, name = "group_id"))]
    pub group: Option<GroupId>,
    /// Continue after this cursor (from a previous page's `next_cursor`).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    #[cfg_attr(feature = "uniffi", uniffi(default = 50))]
    pub limit: u32,
}

impl Default for MemberQuery {
    fn default() -> Self {
        Self {
            search: None,
            role: None,
            statuses: Vec::new(),
            group: None,
            sort: MemberSort::EmailAsc,
            after: None,
            limit: 50,
        }
    }
}

impl MemberQuery {
    /// Whether a member passes the filters (not the cursor).
    pub fn matches(&self, m: &Member) -> bool {
        let status_ok = if self.statuses.is_empty() {
            m.status != MemberStatus::Removed
        } else {
            self.statuses.contains(&m.status)
        };
        status_ok
            && self.role.as_ref().is_none_or(|r| &m.role == r)
            && self
                .group
                .as_ref()
                .is_none_or(|g| m.groups.iter().any(|x| &x.group_id == g))
            && self
                .search
                .as_ref()
                .is_none_or(|s| m.contact_key.contains(&s.to_lowercase()))
    }
}

/// One page of results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass this as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Seats of one license type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct LicenseUsage {
    /// The license type.
    pub license_type: String,
    /// Active members holding it.
    pub used: u64,
    /// Open (staged or pending) invitations for it.
    pub pending: u64,
    /// The policy's limit, if any.
    pub limit: Option<u32>,
}

impl LicenseUsage {
    /// Seats still free under the limit (`None` when unlimited), counting
    /// pending invitations if `reserve_pending`.
    pub fn available(&self, reserve_pending: bool) -> Option<u64> {
        let taken = self.used + if reserve_pending { self.pending } else { 0 };
        self.limit.map(|l| u64::from(l).saturating_sub(taken))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_changes_go_through_the_lifecycle_table() {
        let mut m = Member {
            org_id: OrgId("org_1".into()),
            id: MemberId("mem_1".into()),
            user_ref: None,
            contact: Contact::Email("a@x.test".into()),
            contact_key: "a@x.test".into(),
            first_name: None,
            last_name: None,
            phone: None,
            role: "member".into(),
            kind: MemberKind::Member,
            license_type: "standard".into(),
            status: MemberStatus::Active,
            groups: Vec::new(),
            joined_at: DateTime::UNIX_EPOCH,
            last_active_at: None,
            eula_version: None,
            two_factor_enrolled: false,
            removed_at: None,
            attributes: Attributes::new(),
            public_metadata: Default::default(),
            private_metadata: Default::default(),
        };
        // Not in the table: refused, and the status is left alone.
        let err = m
            .move_to(MemberStatus::Inactive, "remove")
            .expect_err("wrong command");
        assert_eq!(err.code(), "conflict");
        assert_eq!(m.status, MemberStatus::Active);
        m.move_to(MemberStatus::Inactive, "deactivate")
            .expect("in the table");
        m.move_to(MemberStatus::Removed, "remove")
            .expect("in the table");
        let err = m
            .move_to(MemberStatus::Active, "reactivate")
            .expect_err("removed is terminal");
        assert!(err.to_string().contains("from removed to active"), "{err}");
        assert_eq!(m.status, MemberStatus::Removed);
    }
}

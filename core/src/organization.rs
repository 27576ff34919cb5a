//! Organizations.

use crate::error::{Error, LimitKind, Result};
use crate::id::{MemberId, OrgId};
use crate::member::MemberStatus;
use crate::policy::Policy;
use crate::role::{Permission, PermissionSet, Role};
use crate::wire_names;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An organization: the unit everything else belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct Organization {
    /// Its id.
    pub id: OrgId,
    /// Its display name.
    pub name: String,
    /// Its limits and switches.
    pub policy: Policy,
    /// Custom roles (the built-in ones are not stored here).
    pub custom_roles: Vec<Role>,
    /// When it was created.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub created_at: DateTime<Utc>,
    /// Its unique slug (lowercase ASCII letters, digits and single
    /// hyphens; see [`check_slug`]). Organizations stored before slugs
    /// existed get one when the store migrates.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub slug: String,
    /// When it was deleted with its members and history kept
    /// ([`DeleteMode::Keep`]): read-only from then on and listed nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Organization {
    /// Every role of the organization: built-ins first, then custom roles.
    pub fn roles(&self) -> Vec<Role> {
        let mut roles = Role::built_ins();
        roles.extend(self.custom_roles.iter().cloned());
        roles
    }

    /// Looks a role up by name (built-in or custom).
    pub fn role(&self, name: &str) -> Option<Role> {
        self.role_ref(name).cloned()
    }

    /// [`Organization::role`], borrowed.
    fn role_ref(&self, name: &str) -> Option<&Role> {
        Role::built_in_roles()
            .iter()
            .find(|r| r.name == name)
            .or_else(|| self.custom_roles.iter().find(|r| r.name == name))
    }

    /// The permissions of a role by name; an unknown role has none.
    pub fn permissions_of(&self, role: &str) -> PermissionSet {
        self.role_ref(role)
            .map(|r| r.permissions.clone())
            .unwrap_or_default()
    }

    /// Whether a role by name allows `p`.
    pub fn role_allows(&self, role: &str, p: Permission) -> bool {
        self.role_ref(role)
            .is_some_and(|r| r.permissions.contains(&p))
    }

    /// Every host-defined permission some custom role carries: what an
    /// owner holds (see [`Role::custom_permissions`]).
    pub fn custom_permissions(&self) -> BTreeSet<String> {
        self.custom_roles
            .iter()
            .flat_map(|r| r.custom_permissions.iter().cloned())
            .collect()
    }

    /// The host-defined permissions a role by name holds: its own, or
    /// every one of the organization when the role allows
    /// [`Permission::OwnOrganization`].
    pub fn custom_permissions_of(&self, role: &str) -> BTreeSet<String> {
        match self.role_ref(role) {
            Some(r) if r.allows(Permission::OwnOrganization) => self.custom_permissions(),
            Some(r) => r.custom_permissions.clone(),
            None => BTreeSet::new(),
        }
    }

    /// Whether it was deleted (members and history kept).
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// The most characters in a slug.
pub const MAX_SLUG_CHARS: usize = 48;
/// The fewest characters in a slug.
pub const MIN_SLUG_CHARS: usize = 2;

/// Checks a slug as given by a caller and returns it: 2 to
/// [`MAX_SLUG_CHARS`] characters, lowercase ASCII letters and digits in
/// runs separated by single hyphens (no hyphen first or last). Nothing is
/// normalized: `Acme` is refused rather than silently changed.
///
/// ```
/// use enlist::check_slug;
/// assert!(check_slug("acme-eu-2").is_ok());
/// assert!(check_slug("Acme").is_err());
/// assert!(check_slug("-acme").is_err());
/// assert!(check_slug("ac--me").is_err());
/// assert!(check_slug("a").is_err());
/// ```
pub fn check_slug(slug: &str) -> Result<String> {
    if slug.len() > MAX_SLUG_CHARS {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: MAX_SLUG_CHARS as u64,
            actual: slug.len() as u64,
            detail: Some("slug".into()),
        });
    }
    let ok_chars = slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if slug.len() < MIN_SLUG_CHARS
        || !ok_chars
        || slug.starts_with('-')
        || slug.ends_with('-')
        || slug.contains("--")
    {
        return Err(Error::invalid(
            "slug",
            format!(
                "a slug is {MIN_SLUG_CHARS} to {MAX_SLUG_CHARS} lowercase letters a-z, digits \
                 and single hyphens, not first or last (like \"acme-eu\")"
            ),
        ));
    }
    Ok(slug.to_owned())
}

/// The slug derived from an organization's name: ASCII letters and digits
/// lowercased, every other run of characters one hyphen, at most 40
/// characters (room for a suffix); `org` when nothing is left.
///
/// ```
/// assert_eq!(enlist::slug_from_name("Acme Corp. (EU)"), "acme-corp-eu");
/// assert_eq!(enlist::slug_from_name("日本"), "org");
/// ```
pub fn slug_from_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if out.len() >= 40 {
            break;
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.len() < MIN_SLUG_CHARS {
        "org".to_owned()
    } else {
        out.to_owned()
    }
}

/// What [`Enlist::delete_organization`](crate::Enlist::delete_organization)
/// does with what the organization holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DeleteMode {
    /// Keep members, invitations (revoked) and the audit trail: the
    /// organization is marked deleted, read-only and listed nowhere; its
    /// slug stays reserved.
    Keep,
    /// Remove every row of the organization from every table of the
    /// store; its slug becomes free.
    Purge,
}

wire_names! {
    DeleteMode {
        Keep => "keep",
        Purge => "purge",
    }
}

/// A page request of [`Enlist::list_organizations`](crate::Enlist::list_organizations):
/// organizations not deleted, sorted by slug.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OrganizationQuery {
    /// Only organizations whose slug, or whose name lowercased, starts
    /// with this (at most [`MAX_SLUG_CHARS`] characters; lowercased by
    /// the engine).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub prefix: Option<String>,
    /// The `next_cursor` of the previous page.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub after: Option<String>,
    /// At most this many (0 means the default page size).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub limit: u32,
}

impl OrganizationQuery {
    /// The first page, without a filter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only organizations whose slug or lowercased name starts with
    /// `prefix`.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Continues after a `next_cursor`.
    pub fn after(mut self, cursor: impl Into<String>) -> Self {
        self.after = Some(cursor.into());
        self
    }

    /// At most `limit` organizations.
    pub fn with_limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }
}

/// One organization an account belongs to, as
/// [`Enlist::organizations_of`](crate::Enlist::organizations_of) returns
/// it: a view, with nothing of the organization's policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct AccountMembership {
    /// The organization.
    pub org_id: OrgId,
    /// Its name.
    pub name: String,
    /// Its slug.
    pub slug: String,
    /// The account's member id there.
    pub member_id: MemberId,
    /// The account's role there.
    pub role: String,
    /// Active or inactive (removed memberships are not listed).
    pub status: MemberStatus,
    /// When the account joined.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub joined_at: DateTime<Utc>,
}

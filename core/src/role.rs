//! Roles and permissions.
//!
//! An organization role is a named set of [`Permission`]s. Five roles are
//! built in; organizations may add their own. Group roles are fixed:
//! [`GroupRole::Owner`] manages the group's membership, [`GroupRole::Member`]
//! is given by default.

use crate::wire_names;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Something an actor may be allowed to do in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Permission {
    /// See the member list and groups.
    ViewMembers,
    /// Invite people as members.
    InviteMembers,
    /// Invite people as guests.
    InviteGuests,
    /// Edit, deactivate, reactivate and remove members; revoke and resend
    /// invitations.
    ManageMembers,
    /// Create, edit and delete groups and manage any group's membership.
    ManageGroups,
    /// Define custom roles.
    ManageRoles,
    /// Change the organization's name and policy.
    ManagePolicy,
    /// Activate, deactivate and configure the invitation link.
    ManageInviteLink,
    /// Read the audit trail.
    ViewAudit,
    /// Deliver the outbox and see delivery reports.
    ManageOutbox,
    /// Everything an owner alone may do: grant the Owner role, delete the
    /// organization.
    OwnOrganization,
}

wire_names! {
    Permission {
        ViewMembers => "view_members",
        InviteMembers => "invite_members",
        InviteGuests => "invite_guests",
        ManageMembers => "manage_members",
        ManageGroups => "manage_groups",
        ManageRoles => "manage_roles",
        ManagePolicy => "manage_policy",
        ManageInviteLink => "manage_invite_link",
        ViewAudit => "view_audit",
        ManageOutbox => "manage_outbox",
        OwnOrganization => "own_organization",
    }
}

/// A set of permissions.
pub type PermissionSet = BTreeSet<Permission>;

/// A named organization role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, module = "enlist._enlist")
)]
pub struct Role {
    /// The name members are assigned by; unique in the organization.
    pub name: String,
    /// What it allows.
    pub permissions: PermissionSet,
    /// Whether it is one of the five built-in roles (which cannot be changed).
    pub built_in: bool,
    /// Permissions the host defines for its own features, beyond the
    /// built-in [`Permission`]s (see [`check_custom_permission`]); checked
    /// with [`Enlist::has_permission`](crate::Enlist::has_permission).
    /// Built-in roles carry none: an owner holds every custom permission,
    /// a guest none.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub custom_permissions: BTreeSet<String>,
}

/// The built-in role names.
pub mod builtin {
    /// Full control, including granting Owner.
    pub const OWNER: &str = "owner";
    /// Everything but what only owners may do.
    pub const ADMIN: &str = "admin";
    /// Invites and manages members; no groups, roles or policy.
    pub const USER_ADMIN: &str = "user_admin";
    /// An ordinary member: sees the directory.
    pub const MEMBER: &str = "member";
    /// Limited access: only the groups invited to, no directory.
    pub const GUEST: &str = "guest";
}

/// The built-in roles, made on first use.
static BUILT_INS: std::sync::LazyLock<Vec<Role>> = std::sync::LazyLock::new(Role::make_built_ins);

impl Role {
    /// The five built-in roles.
    pub fn built_ins() -> Vec<Role> {
        BUILT_INS.clone()
    }

    /// The five built-in roles, made once: every permission check looks
    /// a role up among them.
    pub(crate) fn built_in_roles() -> &'static [Role] {
        &BUILT_INS
    }

    fn make_built_ins() -> Vec<Role> {
        use Permission::*;
        let all: PermissionSet = Permission::ALL.into_iter().collect();
        let admin: PermissionSet = all
            .iter()
            .copied()
            .filter(|p| *p != OwnOrganization)
            .collect();
        let user_admin: PermissionSet = [ViewMembers, InviteMembers, InviteGuests, ManageMembers]
            .into_iter()
            .collect();
        let member: PermissionSet = [ViewMembers].into_iter().collect();
        vec![
            Role::built_in(builtin::OWNER, all),
            Role::built_in(builtin::ADMIN, admin),
            Role::built_in(builtin::USER_ADMIN, user_admin),
            Role::built_in(builtin::MEMBER, member),
            Role::built_in(builtin::GUEST, PermissionSet::new()),
        ]
    }

    fn built_in(name: &str, permissions: PermissionSet) -> Role {
        Role {
            name: name.to_owned(),
            permissions,
            built_in: true,
            custom_permissions: BTreeSet::new(),
        }
    }

    /// Whether this role allows `p`.
    pub fn allows(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
}

/// The most custom permissions one role may carry.
pub const MAX_CUSTOM_PERMISSIONS: usize = 64;
/// The most characters in a custom permission's name.
pub const MAX_CUSTOM_PERMISSION_CHARS: usize = 64;

/// Checks the name of a host-defined permission: 1 to
/// [`MAX_CUSTOM_PERMISSION_CHARS`] characters from `a-z 0-9 _ . : -`,
/// and not the wire name of a built-in [`Permission`] (a custom
/// `manage_members` would read as the real one and grant nothing of it).
///
/// ```
/// use enlist::check_custom_permission;
/// assert!(check_custom_permission("billing:read").is_ok());
/// assert!(check_custom_permission("reports.export").is_ok());
/// assert!(check_custom_permission("Billing").is_err());
/// assert!(check_custom_permission("manage_members").is_err());
/// ```
pub fn check_custom_permission(name: &str) -> crate::Result<()> {
    if name.len() > MAX_CUSTOM_PERMISSION_CHARS {
        return Err(crate::Error::LimitExceeded {
            limit: crate::LimitKind::FieldLength,
            max: MAX_CUSTOM_PERMISSION_CHARS as u64,
            actual: name.len() as u64,
            detail: Some("custom_permissions".into()),
        });
    }
    if name.is_empty()
        || !name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b':' | b'-')
        })
    {
        return Err(crate::Error::invalid(
            "custom_permissions",
            "a custom permission is 1 to 64 characters from a-z, 0-9, '_', '.', ':' and '-'",
        ));
    }
    if Permission::ALL.iter().any(|p| p.as_str() == name) {
        return Err(crate::Error::invalid(
            "custom_permissions",
            format!("{name:?} is a built-in permission: put it in the role's permissions"),
        ));
    }
    Ok(())
}

/// A member's role within one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum GroupRole {
    /// Belongs to the group (the default when added).
    #[default]
    Member,
    /// Manages the group's membership and, if the policy allows, invites
    /// into it.
    Owner,
}

wire_names! {
    GroupRole {
        Member => "member",
        Owner => "owner",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_roles_nest() {
        let roles = Role::built_ins();
        for pair in roles.windows(2) {
            assert!(
                pair[1].permissions.is_subset(&pair[0].permissions),
                "{} ⊆ {}",
                pair[1].name,
                pair[0].name
            );
        }
        assert!(roles[0].allows(Permission::OwnOrganization));
        assert!(!roles[1].allows(Permission::OwnOrganization));
        assert!(roles[4].permissions.is_empty());
    }
}

//! Roles and permissions.
//!
//! An organization role is a named set of [`Permission`]s. Five roles are
//! built in; organizations may add their own. Group roles are fixed:
//! [`GroupRole::Owner`] manages the group's membership, [`GroupRole::Member`]
//! is given by default.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Something an actor may be allowed to do in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 11] = [
        Permission::ViewMembers,
        Permission::InviteMembers,
        Permission::InviteGuests,
        Permission::ManageMembers,
        Permission::ManageGroups,
        Permission::ManageRoles,
        Permission::ManagePolicy,
        Permission::ManageInviteLink,
        Permission::ViewAudit,
        Permission::ManageOutbox,
        Permission::OwnOrganization,
    ];

    /// The stable snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Permission::ViewMembers => "view_members",
            Permission::InviteMembers => "invite_members",
            Permission::InviteGuests => "invite_guests",
            Permission::ManageMembers => "manage_members",
            Permission::ManageGroups => "manage_groups",
            Permission::ManageRoles => "manage_roles",
            Permission::ManagePolicy => "manage_policy",
            Permission::ManageInviteLink => "manage_invite_link",
            Permission::ViewAudit => "view_audit",
            Permission::ManageOutbox => "manage_outbox",
            Permission::OwnOrganization => "own_organization",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions.
pub type PermissionSet = BTreeSet<Permission>;

/// A named organization role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Role {
    /// The name members are assigned by; unique in the organization.
    pub name: String,
    /// What it allows.
    pub permissions: PermissionSet,
    /// Whether it is one of the five built-in roles (which cannot be changed).
    pub built_in: bool,
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

impl Role {
    /// The five built-in roles.
    pub fn built_ins() -> Vec<Role> {
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
        }
    }

    /// Whether this role allows `p`.
    pub fn allows(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
}

/// A member's role within one group.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum GroupRole {
    /// Belongs to the group (the default when added).
    #[default]
    Member,
    /// Manages the group's membership and, if the policy allows, invites
    /// into it.
    Owner,
}

impl GroupRole {
    /// The stable snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            GroupRole::Member => "member",
            GroupRole::Owner => "owner",
        }
    }
}

impl fmt::Display for GroupRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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

//! Organizations.

use crate::id::OrgId;
use crate::policy::Policy;
use crate::role::{Permission, PermissionSet, Role};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    pub created_at: DateTime<Utc>,
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
        Role::built_ins()
            .into_iter()
            .find(|r| r.name == name)
            .or_else(|| self.custom_roles.iter().find(|r| r.name == name).cloned())
    }

    /// The permissions of a role by name; an unknown role has none.
    pub fn permissions_of(&self, role: &str) -> PermissionSet {
        self.role(role).map(|r| r.permissions).unwrap_or_default()
    }

    /// Whether a role by name allows `p`.
    pub fn role_allows(&self, role: &str, p: Permission) -> bool {
        self.permissions_of(role).contains(&p)
    }
}

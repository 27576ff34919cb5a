//! Groups.

use crate::id::{GroupId, OrgId};
use crate::role::GroupRole;
use crate::wire_names;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A group of members in an organization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct Group {
    /// The organization.
    pub org_id: OrgId,
    /// Its id.
    pub id: GroupId,
    /// Its name, unique in the organization (case-insensitively).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// New members with no group land here; at most one group per
    /// organization is the default.
    pub is_default: bool,
    /// Members (active or inactive, not removed) in the group. Derived by
    /// the store when the group is read; never stored.
    pub member_count: u64,
    /// When it was created.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub created_at: DateTime<Utc>,
}

/// A membership of a member (or of an invitation's future member) in a
/// group, with its group role.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct GroupGrant {
    /// The group.
    pub group_id: GroupId,
    /// The role in it.
    pub role: GroupRole,
}

impl GroupGrant {
    /// A plain membership.
    pub fn member(group_id: GroupId) -> Self {
        Self {
            group_id,
            role: GroupRole::Member,
        }
    }

    /// An owner's membership.
    pub fn owner(group_id: GroupId) -> Self {
        Self {
            group_id,
            role: GroupRole::Owner,
        }
    }
}

/// How to sort a group list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum GroupSort {
    /// By name, A to Z.
    #[default]
    NameAsc,
    /// By name, Z to A.
    NameDesc,
    /// Fewest members first.
    MemberCountAsc,
    /// Most members first.
    MemberCountDesc,
}

wire_names! {
    GroupSort {
        NameAsc => "name_asc",
        NameDesc => "name_desc",
        MemberCountAsc => "member_count_asc",
        MemberCountDesc => "member_count_desc",
    }
}

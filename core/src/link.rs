//! The shareable invitation link.

use crate::group::GroupGrant;
use crate::id::{MemberId, OrgId};
use crate::member::MemberKind;
use crate::secret::SecretHash;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One per organization at a time. Deactivating it kills the link;
/// activating it again makes a new secret, so the old link stays dead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InviteLink {
    /// The organization.
    pub org_id: OrgId,
    /// The role people joining by the link get.
    pub role: String,
    /// Member or guest.
    pub kind: MemberKind,
    /// The groups they join.
    pub groups: Vec<GroupGrant>,
    /// The license type they hold.
    pub license_type: String,
    /// The SHA-256 of the current link secret. Kept by the stores only:
    /// always `None` in what the engine returns, and then left out of the
    /// serialized form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<SecretHash>,
    /// Whether the link works.
    pub active: bool,
    /// Who activated it last.
    pub created_by: Option<MemberId>,
    /// When it was (re)activated.
    pub created_at: DateTime<Utc>,
    /// How many people joined through this secret.
    pub uses: u64,
}

impl InviteLink {
    /// The link as the engine hands it to callers: without its secret hash.
    pub fn view(mut self) -> Self {
        self.secret_hash = None;
        self
    }
}

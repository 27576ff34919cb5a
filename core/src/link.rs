//! The shareable invitation link.

use crate::group::GroupGrant;
use crate::id::{MemberId, OrgId};
use crate::member::MemberKind;
use crate::secret::SecretHash;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One per organization at a time. Deactivating it kills the link;
/// activating it again makes a new secret, so the old link stays dead.
/// What a store keeps besides (the hash of its secret) is in
/// [`StoredInviteLink`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
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
    /// Whether the link works.
    pub active: bool,
    /// Who activated it last.
    pub created_by: Option<MemberId>,
    /// When it was (re)activated.
    pub created_at: DateTime<Utc>,
    /// How many people joined through this secret.
    pub uses: u64,
}

/// The invitation link as a [`Store`](crate::Store) keeps it: the
/// [`InviteLink`] the engine returns, and the hash of its current secret,
/// which only the stores and the engine see.
///
/// Returned values are built from [`StoredInviteLink::link`], which has no
/// hash field, so no value handed to a caller can carry one. The serialized
/// form is the link's fields with `secret_hash` beside them (left out when
/// `None`): the body the SQLite and Postgres stores have always written.
/// For reading, it dereferences to its [`InviteLink`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredInviteLink {
    /// The link, as the engine returns it.
    #[serde(flatten)]
    pub link: InviteLink,
    /// The SHA-256 of the current link secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<SecretHash>,
}

impl StoredInviteLink {
    /// A link to store, with the hash of its current secret.
    pub fn new(link: InviteLink, secret_hash: Option<SecretHash>) -> Self {
        Self { link, secret_hash }
    }
}

impl std::ops::Deref for StoredInviteLink {
    type Target = InviteLink;
    fn deref(&self) -> &InviteLink {
        &self.link
    }
}

impl std::ops::DerefMut for StoredInviteLink {
    fn deref_mut(&mut self) -> &mut InviteLink {
        &mut self.link
    }
}

impl From<StoredInviteLink> for InviteLink {
    fn from(stored: StoredInviteLink) -> Self {
        stored.link
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// A link body as the SQLite and Postgres stores have written it.
    fn stored_body() -> Value {
        json!({
            "org_id": "org_1", "role": "member", "kind": "member",
            "groups": [], "license_type": "standard",
            "secret_hash": SecretHash::of(b"the link"), "active": true,
            "created_by": null, "created_at": "2026-01-01T00:00:00Z",
            "uses": 3,
        })
    }

    /// An existing body loads with its hash and is written back the same;
    /// the link the engine returns has no hash in any form.
    #[test]
    fn stored_link_keeps_its_body_and_the_returned_link_has_no_hash() {
        let stored: StoredInviteLink = serde_json::from_value(stored_body()).expect("load");
        let hash = stored.secret_hash.expect("hash");
        assert_eq!(hash, SecretHash::of(b"the link"));
        assert_eq!(
            serde_json::to_value(&stored).expect("serialize"),
            stored_body()
        );
        let hash_json = serde_json::to_string(&hash).expect("serialize");
        for returned in [
            InviteLink::from(stored.clone()),
            serde_json::from_value::<InviteLink>(stored_body()).expect("load"),
        ] {
            let json = serde_json::to_value(&returned).expect("serialize");
            assert!(json.get("secret_hash").is_none(), "{json}");
            assert!(!json.to_string().contains(&hash_json), "{json}");
            assert_eq!(returned.uses, 3);
        }
    }
}

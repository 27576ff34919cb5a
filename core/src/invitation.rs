//! Invitations and their lifecycle.

use crate::error::{Error, Result};
use crate::group::GroupGrant;
use crate::id::{BatchId, InvitationId, MemberId, OrgId};
use crate::lifecycle::{Lifecycle, Transition};
use crate::member::{Contact, MemberKind};
use crate::secret::SecretHash;
use crate::text::Text;
use crate::wire_names;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an invitation stands. The changes allowed, and by which command,
/// are [`InvitationStatus::LIFECYCLE`] (drawn in the book's invitations
/// chapter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum InvitationStatus {
    /// Saved but not sent yet; no secret exists.
    Staged,
    /// Sent and waiting for the invitee.
    Pending,
    /// Accepted: the invitee is a member.
    Accepted,
    /// Declined by the invitee.
    Declined,
    /// Revoked by an administrator.
    Revoked,
    /// Past its expiry without an answer.
    Expired,
}

wire_names! {
    InvitationStatus {
        Staged => "staged",
        Pending => "pending",
        Accepted => "accepted",
        Declined => "declined",
        Revoked => "revoked",
        Expired => "expired",
    }
}

impl InvitationStatus {
    /// The lifecycle of an invitation: every change of its stored status the
    /// engine makes, and by what. Every invitation starts staged; `send` is
    /// `invite` (at once) or `send_staged` (later); `join` is the recipient
    /// joining another way (the invitation link, self-registration);
    /// `resend` of a revoked invitation is only for one locked by wrong
    /// access codes. Expiry is also computed on read
    /// ([`Invitation::status_at`]); `expire` is its persisting.
    pub const LIFECYCLE: Lifecycle<InvitationStatus> = {
        use InvitationStatus::*;
        const fn t(
            from: InvitationStatus,
            to: InvitationStatus,
            by: &'static str,
        ) -> Transition<InvitationStatus> {
            Transition { from, to, by }
        }
        Lifecycle {
            start: Staged,
            created_by: "invite",
            transitions: &[
                t(Staged, Pending, "send"),
                t(Pending, Accepted, "accept"),
                t(Pending, Declined, "decline"),
                t(Pending, Expired, "expire"),
                t(Pending, Pending, "resend"),
                t(Expired, Pending, "resend"),
                t(Revoked, Pending, "resend"),
                t(Staged, Revoked, "revoke"),
                t(Pending, Revoked, "revoke"),
                t(Expired, Revoked, "revoke"),
                t(Staged, Accepted, "join"),
                t(Pending, Accepted, "join"),
            ],
        }
    };

    /// Staged and pending invitations are open: they block a second
    /// invitation to the same person and may hold a seat.
    pub fn is_open(&self) -> bool {
        matches!(self, InvitationStatus::Staged | InvitationStatus::Pending)
    }
}

/// An invitation to join an organization, as commands return it. What a
/// store keeps besides (the hash of its secret) is in [`StoredInvitation`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct Invitation {
    /// The organization.
    pub org_id: OrgId,
    /// Its id.
    pub id: InvitationId,
    /// The batch it was issued in.
    pub batch_id: BatchId,
    /// Who is invited: an email address or an identifier.
    pub recipient: Contact,
    /// The normalized recipient: the uniqueness key.
    pub recipient_key: Text,
    /// The name to greet the invitee with, if known.
    pub display_name: Option<String>,
    /// First name, if the inviter gave it (pre-fills registration).
    pub first_name: Option<String>,
    /// Last name, if the inviter gave it.
    pub last_name: Option<String>,
    /// Member or guest.
    pub kind: MemberKind,
    /// The organization role the invitee will get.
    pub role: Text,
    /// The groups the invitee will join, with group roles.
    pub groups: Vec<GroupGrant>,
    /// The license type the invitee will hold.
    pub license_type: Text,
    /// Who invited (a member id; `None` when the system did).
    pub inviter: Option<MemberId>,
    /// The inviter's personal message.
    pub message: Option<String>,
    /// The language of its email (a BCP 47 tag, such as `fr-CA`); `None`:
    /// the organization's default locale. Kept for resends.
    // Left out when unset: bodies stored before locales read and write
    // back the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// When it was created.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub created_at: DateTime<Utc>,
    /// When it stops being valid (set when sent).
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The stored status; see [`Invitation::status_at`] for the status at a
    /// given time, which takes expiry into account.
    pub status: InvitationStatus,
    /// How many times it was sent.
    pub send_count: u32,
    /// When it was last sent.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub last_sent_at: Option<DateTime<Utc>>,
    /// Wrong access codes typed since the last send.
    pub failed_attempts: u32,
    /// Until when access codes are refused after too many wrong ones (a
    /// temporary lock; a resend clears it). `None` when not locked.
    #[serde(default)]
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub locked_until: Option<DateTime<Utc>>,
    /// When it reached its final status.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub closed_at: Option<DateTime<Utc>>,
    /// The member it created, once accepted.
    pub member_id: Option<MemberId>,
    /// `false` for a person saved with "Active" unchecked (seed 004): the
    /// invitation stays staged and cannot be sent until someone activates
    /// it ([`StagedInvitationUpdate::active`](crate::StagedInvitationUpdate::active)).
    /// `true` for every other invitation.
    // Left out when true: bodies stored before this field read and write
    // back the same.
    #[serde(
        default = "crate::invitation::yes",
        skip_serializing_if = "crate::invitation::is_true"
    )]
    pub active: bool,
    /// Attributes (`department`, `job_title`, ...) the member gets on
    /// accepting. Rows stored before attributes existed read as empty.
    #[serde(default, skip_serializing_if = "crate::member::Attributes::is_empty")]
    pub attributes: crate::member::Attributes,
    /// The lifetime it asked for, in seconds (within the policy's
    /// `min_invitation_lifetime_secs` and `max_invitation_lifetime_secs`);
    /// every send and resend sets its expiry this far ahead. `None`: the
    /// policy's `invitation_lifetime_secs` at the time of sending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_secs: Option<u64>,
    /// Where the application sends the invitee after accepting: one of the
    /// host's allowed redirect URLs
    /// ([`EngineConfig::allowed_redirect_urls`](crate::EngineConfig::allowed_redirect_urls)),
    /// checked when the invitation was made. Shown in the preview and the
    /// acceptance; the invitee cannot change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// Metadata shown to the invitee (in the preview) and copied onto the
    /// member on accepting.
    #[serde(default, skip_serializing_if = "crate::metadata::Metadata::is_empty")]
    pub public_metadata: crate::metadata::Metadata,
    /// Metadata for the organization only: copied onto the member on
    /// accepting, never shown on the invitee's side (the preview, the
    /// acceptance and a decline leave it out).
    #[serde(default, skip_serializing_if = "crate::metadata::Metadata::is_empty")]
    pub private_metadata: crate::metadata::Metadata,
    /// The host account this invitation is for (an invitation of an
    /// existing account): only an account with this `user_ref` may accept
    /// or decline it, by token or from its inbox, and it shows in that
    /// account's inbox ([`Enlist::invitations_for`](crate::Enlist::invitations_for)).
    /// `None`: anyone holding the secret (or the invited verified email)
    /// may.
    // Left out when unset: bodies stored before account invitations read
    // and write back the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ref: Option<String>,
}

/// The status at `now` of an invitation stored with `status` that expires
/// at `expires_at` ([`Invitation::status_at`]).
pub(crate) fn status_at(
    status: InvitationStatus,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> InvitationStatus {
    match (status, expires_at) {
        (InvitationStatus::Pending, Some(exp)) if exp <= now => InvitationStatus::Expired,
        (s, _) => s,
    }
}

/// The hash a store indexes for an invitation found the way `lookup`
/// says, whose current secret hash is `hash` ([`StoredInvitation::lookup_hash`]).
pub(crate) fn lookup_hash(lookup: SecretLookup, hash: Option<&SecretHash>) -> Option<&SecretHash> {
    match lookup {
        SecretLookup::ByHash => hash,
        SecretLookup::ById => None,
    }
}

pub(crate) fn yes() -> bool {
    true
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if takes a reference"
)]
pub(crate) fn is_true(v: &bool) -> bool {
    *v
}

impl Invitation {
    /// The status at `now`: a pending invitation past its expiry is expired,
    /// whether or not `expire_due` has persisted it yet.
    pub fn status_at(&self, now: DateTime<Utc>) -> InvitationStatus {
        status_at(self.status, self.expires_at, now)
    }

    /// This invitation as seen at `now` (status computed).
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.status = self.status_at(now);
        self
    }

    /// This invitation as its invitee may see it: without its private
    /// metadata (the accept outcome, a decline).
    pub(crate) fn invitee_view(mut self) -> Self {
        self.private_metadata = crate::metadata::Metadata::new();
        self
    }

    /// Moves the stored status to `to` by the command `by`, if the
    /// [lifecycle](InvitationStatus::LIFECYCLE) allows it: the engine's
    /// one way of changing an invitation's status.
    pub(crate) fn move_to(&mut self, to: InvitationStatus, by: &'static str) -> Result<()> {
        if !InvitationStatus::LIFECYCLE.allows(self.status, to, by) {
            return Err(Error::conflict(format!(
                "invitation {} cannot go from {} to {to} by {by}",
                self.id, self.status
            )));
        }
        self.status = to;
        Ok(())
    }

    /// Whether the invitation is by identifier (with an access code).
    pub fn is_by_identifier(&self) -> bool {
        matches!(self.recipient, Contact::Identifier(_))
    }
}

/// An invitation as a [`Store`](crate::Store) keeps it: the
/// [`Invitation`] the engine returns, and the hash of its current secret,
/// which only the stores and the engine see.
///
/// Returned values are built from [`StoredInvitation::invitation`], which
/// has no hash field, so no value handed to a caller can carry one. The
/// serialized form is the invitation's fields with `secret_hash` beside
/// them (left out when `None`): the body the SQLite and Postgres stores
/// have always written. For reading, it dereferences to its
/// [`Invitation`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StoredInvitation {
    /// The invitation, as the engine returns it.
    #[serde(flatten)]
    pub invitation: Invitation,
    /// The hash of the current secret: SHA-256 of a token, or the salted,
    /// keyed (or slow) hash of an access code. `None` while staged and
    /// once closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_hash: Option<SecretHash>,
    /// The current access code of an identifier invitation, sealed under
    /// the host's sealing key (ADR 0005), so that an administrator can see
    /// it again ([`Enlist::reveal_access_code`](crate::Enlist::reveal_access_code)).
    /// `None` for email invitations, without a key, while staged and once
    /// closed. Never part of a returned [`Invitation`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_code: Option<crate::seal::SealedCode>,
    /// How the engine finds this invitation from its secret: by the hash
    /// (tokens made before tokens named their invitation; a store must
    /// answer [`Transaction::invitation_by_secret`](crate::Transaction::invitation_by_secret)
    /// for it and keep the hash unique) or by the id the secret comes with
    /// (a store need not index the hash). Left out of the serialized form
    /// when [`SecretLookup::ByHash`], so bodies written before it read as
    /// what they were.
    #[serde(default, skip_serializing_if = "SecretLookup::is_by_hash")]
    pub secret_lookup: SecretLookup,
}

/// How the engine finds a stored invitation from a secret someone
/// presents ([ADR 0019](../docs/src/adr/0019-tokens-name-their-invitation.md)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecretLookup {
    /// By the hash of the secret: the token names only the organization
    /// (`org_….<random>`, every token made before tokens named their
    /// invitation). The store answers
    /// [`Transaction::invitation_by_secret`](crate::Transaction::invitation_by_secret)
    /// with it and refuses a second such invitation with the same hash.
    #[default]
    ByHash,
    /// By the invitation's id, which the secret comes with: a token that
    /// names its invitation (`org_….inv_….<random>`), or an access code,
    /// typed with the invitee's identifier. The engine reads the
    /// invitation by id and compares the hash in constant time; the store
    /// keeps no index of the hash and no uniqueness rule on it.
    ById,
}

impl SecretLookup {
    /// Whether this is [`SecretLookup::ByHash`].
    pub fn is_by_hash(&self) -> bool {
        matches!(self, SecretLookup::ByHash)
    }
}

impl StoredInvitation {
    /// An invitation to store, with the hash of its current secret, found
    /// by that hash ([`SecretLookup::ByHash`]; set
    /// [`secret_lookup`](Self::secret_lookup) for one found by id).
    pub fn new(invitation: Invitation, secret_hash: Option<SecretHash>) -> Self {
        Self {
            invitation,
            secret_hash,
            sealed_code: None,
            secret_lookup: SecretLookup::ByHash,
        }
    }

    /// The hash a store indexes, and keeps unique, for
    /// [`Transaction::invitation_by_secret`](crate::Transaction::invitation_by_secret):
    /// the secret hash of an invitation found by it, `None` for one found
    /// by id.
    pub fn lookup_hash(&self) -> Option<&SecretHash> {
        lookup_hash(self.secret_lookup, self.secret_hash.as_ref())
    }

    /// This invitation as seen at `now` (status computed), without its
    /// secret hash: what the engine returns.
    pub fn at(self, now: DateTime<Utc>) -> Invitation {
        self.invitation.at(now)
    }
}

impl StoredInvitation {
    /// [`Invitation::move_to`], dropping the sealed access code when the
    /// invitation closes (a closed invitation's code is never shown again).
    pub(crate) fn move_to(&mut self, to: InvitationStatus, by: &'static str) -> Result<()> {
        self.invitation.move_to(to, by)?;
        if !to.is_open() {
            self.sealed_code = None;
        }
        Ok(())
    }
}

/// The keys beside the invitation's fields in a stored invitation.
#[derive(Default)]
struct StoredExtras {
    secret_hash: Option<SecretHash>,
    sealed_code: Option<crate::seal::SealedCode>,
    secret_lookup: SecretLookup,
}

impl<'de> crate::flat::Extras<'de> for StoredExtras {
    const KEYS: &'static [&'static str] = &["secret_hash", "sealed_code", "secret_lookup"];

    fn take<A: serde::de::MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key {
            "secret_hash" => self.secret_hash = map.next_value()?,
            "secret_lookup" => self.secret_lookup = map.next_value()?,
            _ => self.sealed_code = map.next_value()?,
        }
        Ok(())
    }
}

/// Reads what the derived `Serialize` writes (the invitation's fields with
/// `secret_hash` and `sealed_code` beside them) without
/// `#[serde(flatten)]`'s buffering: see `flat.rs`.
impl<'de> Deserialize<'de> for StoredInvitation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (invitation, extras): (Invitation, StoredExtras) = crate::flat::read(d)?;
        Ok(Self {
            invitation,
            secret_hash: extras.secret_hash,
            sealed_code: extras.sealed_code,
            secret_lookup: extras.secret_lookup,
        })
    }
}

impl std::ops::Deref for StoredInvitation {
    type Target = Invitation;
    fn deref(&self) -> &Invitation {
        &self.invitation
    }
}

impl std::ops::DerefMut for StoredInvitation {
    fn deref_mut(&mut self) -> &mut Invitation {
        &mut self.invitation
    }
}

impl From<StoredInvitation> for Invitation {
    fn from(stored: StoredInvitation) -> Self {
        stored.invitation
    }
}

/// A query over an organization's invitations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InvitationQuery {
    /// Only these statuses (as computed now); empty means all.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub statuses: Vec<InvitationStatus>,
    /// Only recipients whose normalized key contains this text.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub search: Option<String>,
    /// Only invitations of this batch.
    #[cfg_attr(feature = "uniffi", uniffi(default, name = "batch_id"))]
    pub batch: Option<BatchId>,
    /// Continue after this cursor.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    #[cfg_attr(feature = "uniffi", uniffi(default = 50))]
    pub limit: u32,
}

impl Default for InvitationQuery {
    fn default() -> Self {
        Self {
            statuses: Vec::new(),
            search: None,
            batch: None,
            after: None,
            limit: 50,
        }
    }
}

/// What an invitee sees on the landing page before accepting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct InvitationPreview {
    /// The invitation's id.
    pub invitation_id: InvitationId,
    /// The organization's id.
    pub org_id: OrgId,
    /// The organization's name.
    pub org_name: String,
    /// Who invited, by display name.
    pub inviter_name: Option<String>,
    /// The invited address or identifier (fixed: cannot be changed).
    pub recipient: Contact,
    /// Name known for the invitee.
    pub display_name: Option<String>,
    /// First name given by the inviter.
    pub first_name: Option<String>,
    /// Last name given by the inviter.
    pub last_name: Option<String>,
    /// The role offered.
    pub role: String,
    /// Member or guest.
    pub kind: MemberKind,
    /// Names of the groups offered.
    pub group_names: Vec<String>,
    /// The personal message.
    pub message: Option<String>,
    /// When it expires.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Its status now.
    pub status: InvitationStatus,
    /// What registration will ask for.
    pub requirements: RegistrationNeeds,
    /// The language of its email (a BCP 47 tag); `None`: the
    /// organization's default.
    #[serde(default)]
    pub locale: Option<String>,
    /// Where the application sends the invitee after accepting (one of the
    /// host's allowed redirect URLs).
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// The invitation's public metadata (its private metadata is never
    /// shown here).
    #[serde(default)]
    pub public_metadata: crate::metadata::Metadata,
}

/// What registration asks for, from the policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct RegistrationNeeds {
    /// A first name.
    pub first_name: bool,
    /// A last name.
    pub last_name: bool,
    /// A phone number.
    pub phone: bool,
    /// Two-factor enrolment.
    pub two_factor: bool,
    /// This EULA version must be accepted.
    pub eula_version: Option<String>,
}

/// The details a person gives when accepting or registering.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Registration {
    /// The host application's account id for this person (required).
    pub user_ref: String,
    /// First name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub first_name: Option<String>,
    /// Last name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub last_name: Option<String>,
    /// Phone number.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub phone: Option<String>,
    /// The EULA version the person agreed to.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub eula_version: Option<String>,
    /// Whether two-factor is set up on the account.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub two_factor_enrolled: bool,
    /// The account's verified email, if the host has one: it must match the
    /// invited address.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub verified_email: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// A body as the SQLite and Postgres stores have written it since
    /// before `StoredInvitation`: the invitation's fields with the hash
    /// among them.
    fn stored_body() -> Value {
        json!({
            "org_id": "org_1", "id": "inv_1", "batch_id": "bat_1",
            "recipient": {"type": "email", "value": "bob@acme.test"},
            "recipient_key": "bob@acme.test", "display_name": null,
            "first_name": null, "last_name": null, "kind": "member",
            "role": "member", "groups": [], "license_type": "standard",
            "inviter": null, "message": null,
            "created_at": "2026-01-01T00:00:00Z",
            "expires_at": "2026-01-08T00:00:00Z", "status": "pending",
            "secret_hash": SecretHash::of(b"the token"),
            "send_count": 1, "last_sent_at": "2026-01-01T00:00:00Z",
            "failed_attempts": 0, "locked_until": null, "closed_at": null,
            "member_id": null,
        })
    }

    /// Stored data keeps its format: an existing body loads with its hash
    /// and is written back the same.
    #[test]
    fn stored_invitation_reads_and_writes_the_existing_body() {
        let stored: StoredInvitation =
            serde_json::from_value(stored_body()).expect("an existing body loads");
        assert_eq!(stored.secret_hash, Some(SecretHash::of(b"the token")));
        assert_eq!(stored.id.as_str(), "inv_1");
        let written = serde_json::to_value(&stored).expect("serialize");
        assert_eq!(written, stored_body());
        // Staged or closed: no hash, and no key for it.
        let staged = StoredInvitation::new(stored.invitation, None);
        let mut body = stored_body();
        if let Value::Object(m) = &mut body {
            m.remove("secret_hash");
        }
        assert_eq!(serde_json::to_value(&staged).expect("serialize"), body);
    }

    /// An invitation found by id says so in its body; one found by hash
    /// writes no key for it, so every body written before reads as found
    /// by hash, and the hash a store indexes follows.
    #[test]
    fn how_an_invitation_is_found_round_trips() {
        let mut stored: StoredInvitation = serde_json::from_value(stored_body()).expect("load");
        assert_eq!(stored.secret_lookup, SecretLookup::ByHash);
        assert_eq!(stored.lookup_hash(), Some(&SecretHash::of(b"the token")));
        stored.secret_lookup = SecretLookup::ById;
        assert_eq!(stored.lookup_hash(), None);
        let written = serde_json::to_value(&stored).expect("serialize");
        assert_eq!(written["secret_lookup"], json!("by_id"));
        let back: StoredInvitation = serde_json::from_value(written).expect("load");
        assert_eq!(back, stored);
        let text = serde_json::to_string(&back).expect("serialize");
        let again: StoredInvitation = serde_json::from_str(&text).expect("load");
        assert_eq!(again.secret_lookup, SecretLookup::ById);
        assert_eq!(again.secret_hash, Some(SecretHash::of(b"the token")));
    }

    /// What the engine returns is built from the stored record's
    /// invitation, which has nowhere to keep a hash: not in its serialized
    /// form, and not after reading a stored body either.
    #[test]
    fn the_returned_invitation_never_carries_the_stored_hash() {
        let stored: StoredInvitation = serde_json::from_value(stored_body()).expect("load");
        let hash = stored.secret_hash.expect("hash");
        let hash_json = serde_json::to_string(&hash).expect("serialize");
        let hash_hex = hash.to_hex();
        for returned in [
            Invitation::from(stored.clone()),
            stored.clone().at(chrono::DateTime::UNIX_EPOCH),
            serde_json::from_value::<Invitation>(stored_body()).expect("load"),
        ] {
            let json = serde_json::to_value(&returned).expect("serialize");
            assert!(json.get("secret_hash").is_none(), "{json}");
            assert!(!json.to_string().contains(&hash_json), "{json}");
            assert!(!format!("{returned:?}").contains(&hash_hex[..8]));
            assert_eq!(returned.id, stored.id);
        }
    }

    /// The hex text of the stored body's hash.
    fn hash_hex(body: &serde_json::Value) -> String {
        body["secret_hash"].as_str().expect("hex").to_owned()
    }

    /// What `#[serde(flatten)]` read, the reference the direct read
    /// (`flat.rs`) must agree with.
    #[derive(Deserialize)]
    struct Flattened {
        #[serde(flatten)]
        invitation: Invitation,
        #[serde(default)]
        secret_hash: Option<SecretHash>,
        #[serde(default)]
        sealed_code: Option<crate::seal::SealedCode>,
        #[serde(default)]
        secret_lookup: SecretLookup,
    }

    fn by_flatten(json: &str) -> Result<StoredInvitation, String> {
        serde_json::from_str::<Flattened>(json)
            .map(|f| StoredInvitation {
                invitation: f.invitation,
                secret_hash: f.secret_hash,
                sealed_code: f.sealed_code,
                secret_lookup: f.secret_lookup,
            })
            .map_err(|e| e.to_string())
    }

    /// A body with its keys in `order` (a permutation of its keys, by
    /// index), every key whose index is in `escaped` written with a JSON
    /// escape (so the reader gets it as an owned string), and `extra`
    /// unknown keys spliced in.
    fn body_text(body: &Value, order: &[usize], escaped: &[usize], extra: usize) -> String {
        let Value::Object(m) = body else {
            panic!("an object")
        };
        let entries: Vec<(&String, &Value)> = m.iter().collect();
        let mut parts = Vec::new();
        for (n, &i) in order.iter().enumerate() {
            let (k, v) = entries[i % entries.len()];
            let key = if escaped.contains(&i) {
                // `\u0061` is `a`: the key's first lowercase letter as an
                // escape.
                let mut out = String::new();
                let mut done = false;
                for c in k.chars() {
                    if !done && c.is_ascii_lowercase() {
                        out.push_str(&format!("\\u{:04x}", c as u32));
                        done = true;
                    } else {
                        out.push(c);
                    }
                }
                out
            } else {
                k.clone()
            };
            parts.push(format!("\"{key}\":{v}"));
            if n < extra {
                parts.push(format!("\"future_field_{n}\":{{\"x\":[1,2]}}"));
            }
        }
        format!("{{{}}}", parts.join(","))
    }

    fn with_seal(mut body: Value) -> Value {
        if let Value::Object(m) = &mut body {
            m.insert(
                "sealed_code".into(),
                json!({"key_id": "k1", "nonce": "bm9uY2U", "ciphertext": "Y2lwaGVy"}),
            );
        }
        body
    }

    /// The direct read gives what flatten gave: with and without a hash
    /// and a sealed code, the extra keys first, between and last, escaped
    /// keys, unknown keys; and the same errors' absence or presence for
    /// broken bodies.
    #[test]
    fn the_direct_read_agrees_with_flatten() {
        let mut no_hash = stored_body();
        if let Value::Object(m) = &mut no_hash {
            m.remove("secret_hash");
        }
        let mut by_id = stored_body();
        if let Value::Object(m) = &mut by_id {
            m.insert("secret_lookup".into(), json!("by_id"));
        }
        for body in [
            stored_body(),
            no_hash.clone(),
            with_seal(stored_body()),
            with_seal(no_hash),
            by_id,
        ] {
            let n = body.as_object().map_or(0, |m| m.len());
            let forward: Vec<usize> = (0..n).collect();
            let backward: Vec<usize> = (0..n).rev().collect();
            let rotated: Vec<usize> = (0..n).map(|i| (i + n / 2) % n).collect();
            for order in [&forward, &backward, &rotated] {
                for escaped in [vec![], (0..n).collect::<Vec<_>>(), vec![0, 3, n - 1]] {
                    for extra in [0, 2] {
                        let text = body_text(&body, order, &escaped, extra);
                        let direct: StoredInvitation = serde_json::from_str(&text).expect("reads");
                        assert_eq!(Ok(direct.clone()), by_flatten(&text), "{text}");
                        // And it writes back the body it read.
                        assert_eq!(serde_json::to_value(&direct).expect("write"), body);
                    }
                }
            }
        }
        // Broken bodies are errors both ways.
        let missing_id = stored_body().to_string().replace("\"id\"", "\"idx\"");
        let bad_hash = stored_body()
            .to_string()
            .replace("\"secret_hash\":\"", "\"secret_hash\":\"zz");
        let bad_old_hash = stored_body()
            .to_string()
            .replace(&format!("\"{}\"", hash_hex(&stored_body())), "[999,1,2]");
        for text in [
            "[]".to_owned(),
            "{}".to_owned(),
            "null".to_owned(),
            missing_id,
            bad_hash,
            bad_old_hash,
            stored_body()
                .to_string()
                .replace("\"status\":\"pending\"", "\"status\":7"),
        ] {
            assert!(
                serde_json::from_str::<StoredInvitation>(&text).is_err(),
                "{text}"
            );
            assert!(by_flatten(&text).is_err(), "{text}");
        }
        // A body written before hashes were hex (an array of 32 numbers)
        // reads the same both ways.
        let hex = hash_hex(&stored_body());
        let bytes = serde_json::from_value::<SecretHash>(serde_json::json!(hex))
            .expect("hex")
            .0;
        let old = stored_body().to_string().replace(
            &format!("\"{hex}\""),
            &serde_json::to_string(&bytes).expect("array"),
        );
        assert!(old.contains("\"secret_hash\":["), "{old}");
        let direct: StoredInvitation = serde_json::from_str(&old).expect("reads");
        assert_eq!(Ok(direct.clone()), by_flatten(&old));
        assert_eq!(serde_json::to_value(&direct).expect("write"), stored_body());
        // From a `serde_json::Value` too (owned keys).
        let from_value: StoredInvitation =
            serde_json::from_value(with_seal(stored_body())).expect("reads");
        assert_eq!(
            Ok(from_value),
            by_flatten(&with_seal(stored_body()).to_string())
        );
    }
}

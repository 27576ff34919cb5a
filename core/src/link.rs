//! Shareable invitation links: an organization's default link and its
//! named links (ADR 0013).

use crate::group::GroupGrant;
use crate::id::{LinkId, MemberId, OrgId};
use crate::member::MemberKind;
use crate::secret::{Secret, SecretHash, SecretKey, SecretSource};
use crate::wire_names;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An invitation link: the organization's default link (id
/// [`LinkId::DEFAULT`], managed by
/// [`Enlist::activate_invite_link`](crate::Enlist::activate_invite_link))
/// or one of its named links
/// ([`Enlist::create_link`](crate::Enlist::create_link)), each with its own
/// terms, expiry, use cap and allowed domains (ADR 0013). Revoking a link
/// kills it; regenerating it makes a new secret, so the old URL stays dead.
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
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub created_at: DateTime<Utc>,
    /// How many people joined through this link.
    pub uses: u64,
    /// The link's id ([`LinkId::DEFAULT`] for the default link, and for
    /// every link stored before named links existed).
    #[serde(default)]
    pub id: LinkId,
    /// Its name, shown to administrators (`default` for the default link).
    #[serde(default = "default_name")]
    pub name: String,
    /// When it stops working, if ever.
    #[serde(default)]
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// How many people may join through it, if capped.
    #[serde(default)]
    pub max_uses: Option<u64>,
    /// Email domains (IDNA ASCII, lower case; a domain allows its
    /// subdomains) it admits, in addition to the organization's own rule:
    /// when not empty, only a verified email of one of these domains joins.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// Its status when it was read.
    #[serde(default)]
    pub status: LinkStatus,
}

fn default_name() -> String {
    DEFAULT_LINK_NAME.to_owned()
}

/// The name of the default link.
pub const DEFAULT_LINK_NAME: &str = "default";
/// At most this many links (of any status, the default one included) per
/// organization.
pub const MAX_LINKS_PER_ORG: usize = 100;
/// The longest link name, in characters.
pub const MAX_LINK_NAME_CHARS: usize = 100;
/// At most this many allowed domains on one link.
pub const MAX_LINK_DOMAINS: usize = 50;
/// The largest use cap of a link.
pub const MAX_LINK_USES: u64 = 1_000_000;

/// Where a link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum LinkStatus {
    /// It works.
    #[default]
    Active,
    /// Past its expiry.
    Expired,
    /// Its use cap is reached.
    Exhausted,
    /// Revoked (deactivated): dead for good; regenerate or create another.
    Revoked,
}

wire_names! {
    LinkStatus {
        Active => "active",
        Expired => "expired",
        Exhausted => "exhausted",
        Revoked => "revoked",
    }
}

impl InviteLink {
    /// Where the link stands at `now`: revoked first, then expired, then
    /// exhausted.
    pub fn status_at(&self, now: DateTime<Utc>) -> LinkStatus {
        if !self.active {
            LinkStatus::Revoked
        } else if self.expires_at.is_some_and(|e| e <= now) {
            LinkStatus::Expired
        } else if self.max_uses.is_some_and(|m| self.uses >= m) {
            LinkStatus::Exhausted
        } else {
            LinkStatus::Active
        }
    }

    /// Whether an email of `ascii_domain` may join by this link (its own
    /// list; the organization's is checked apart). Empty: every domain.
    pub fn domain_allowed(&self, ascii_domain: &str) -> bool {
        domain_in(&self.allowed_domains, ascii_domain)
    }
}

/// Whether `ascii_domain` is one of `domains` or a subdomain of one.
pub(crate) fn domain_in(domains: &[String], ascii_domain: &str) -> bool {
    domains.is_empty()
        || domains.iter().any(|d| {
            ascii_domain == d
                || (ascii_domain.len() > d.len()
                    && ascii_domain.ends_with(d.as_str())
                    && ascii_domain.as_bytes()[ascii_domain.len() - d.len() - 1] == b'.')
        })
}

/// The allowed domains of a link, bounded and normalized (trimmed, `@`
/// dropped, lower case, IDNA ASCII, sorted, without duplicates).
pub(crate) fn clean_domains(domains: &[String]) -> crate::error::Result<Vec<String>> {
    use crate::error::Error;
    if domains.len() > MAX_LINK_DOMAINS {
        return Err(Error::invalid(
            "allowed_domains",
            format!("at most {MAX_LINK_DOMAINS} domains"),
        ));
    }
    let mut out = Vec::with_capacity(domains.len());
    for d in domains {
        // A domain name is at most 253 characters; read no more.
        if d.len() > 300 {
            return Err(Error::invalid(
                "allowed_domains",
                "a domain is at most 253 characters",
            ));
        }
        let d = d.trim().trim_start_matches('@').to_lowercase();
        let bad = || Error::invalid("allowed_domains", format!("{d:?} is not a domain"));
        if d.is_empty() || d.contains(char::is_whitespace) || d.contains('@') || d.contains('/') {
            return Err(bad());
        }
        let ascii = idna::domain_to_ascii(&d).map_err(|_| bad())?;
        if ascii.is_empty() || ascii.len() > 253 {
            return Err(bad());
        }
        out.push(ascii);
    }
    out.sort();
    out.dedup();
    Ok(out)
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
    /// How many secrets the link has had: the URL of a link made under the
    /// host's link key is derived from its organization, id and generation
    /// (ADR 0013), so regenerating it (a new generation) kills the old URL.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl StoredInviteLink {
    /// A link to store, with the hash of its current secret.
    pub fn new(link: InviteLink, secret_hash: Option<SecretHash>) -> Self {
        Self {
            link,
            secret_hash,
            generation: 0,
        }
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

/// At most this many retired link keys.
pub(crate) const MAX_RETIRED_LINK_KEYS: usize = 16;

/// The host's keys for invitation-link URLs
/// ([`Enlist::with_link_keys`](crate::Enlist::with_link_keys)): the current
/// one makes every new secret, every one can show a URL again.
///
/// With a key, a link's secret is HMAC-SHA256 under the key of the link's
/// organization, id and generation, so the engine can derive it again for
/// an administrator while the store keeps only its SHA-256 (as for every
/// other secret). Without a key the secret is random and shown once.
#[derive(Clone, Default)]
pub(crate) struct LinkKeys {
    current: Option<SecretKey>,
    retired: Vec<SecretKey>,
}

impl std::fmt::Debug for LinkKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkKeys")
            .field("current", &self.current.is_some())
            .field("retired", &self.retired.len())
            .finish()
    }
}

impl LinkKeys {
    pub(crate) fn new(current: SecretKey, retired: Vec<SecretKey>) -> crate::error::Result<Self> {
        if retired.len() > MAX_RETIRED_LINK_KEYS {
            return Err(crate::error::Error::invalid(
                "retired_keys",
                format!("at most {MAX_RETIRED_LINK_KEYS} retired link keys"),
            ));
        }
        if retired.contains(&current) {
            return Err(crate::error::Error::invalid(
                "retired_keys",
                "a retired link key is the current one",
            ));
        }
        Ok(Self {
            current: Some(current),
            retired,
        })
    }

    /// The random part of the link's token under `key`.
    fn derive(key: &SecretKey, org: &OrgId, link: &LinkId, generation: u32) -> String {
        use base64::Engine as _;
        use hmac::{Hmac, Mac};
        // HMAC takes keys of any length: this cannot fail.
        #[allow(clippy::expect_used)]
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.bytes())
            .expect("HMAC-SHA256 takes keys of any length");
        for part in [
            b"enlist invitation link v1".as_slice(),
            org.as_str().as_bytes(),
            link.as_str().as_bytes(),
            &generation.to_be_bytes(),
        ] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// A new secret for generation `generation` of a link: derived under
    /// the current key, or random without one. Returns the token and the
    /// hash to store.
    pub(crate) fn new_secret(
        &self,
        source: &dyn SecretSource,
        org: &OrgId,
        link: &LinkId,
        generation: u32,
    ) -> (Secret, SecretHash) {
        match &self.current {
            Some(key) => {
                let random = Self::derive(key, org, link, generation);
                let hash = SecretHash::of(random.as_bytes());
                (Secret::new(format!("{org}.{random}")), hash)
            }
            None => crate::secret::new_token(source, org),
        }
    }

    /// The token of a stored link again, if one of the keys made it:
    /// `Err(key_configured)` otherwise.
    pub(crate) fn token_of(&self, link: &StoredInviteLink) -> Result<Secret, bool> {
        if self.current.is_none() {
            return Err(false);
        }
        let Some(stored) = link.secret_hash else {
            return Err(true);
        };
        for key in self.current.iter().chain(&self.retired) {
            let random = Self::derive(key, &link.org_id, &link.id, link.generation);
            if SecretHash::of(random.as_bytes()).ct_eq(&stored) {
                return Ok(Secret::new(format!("{}.{random}", link.org_id)));
            }
        }
        Err(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn key(b: u8) -> SecretKey {
        SecretKey::new(vec![b; 32]).expect("a key")
    }

    fn stored(generation: u32, keys: &LinkKeys) -> (StoredInviteLink, Secret) {
        let mut l: StoredInviteLink = serde_json::from_value(stored_body()).expect("load");
        l.link.id = LinkId::from("lnk_1");
        l.generation = generation;
        let (secret, hash) =
            keys.new_secret(&crate::SeededSecrets::new(1), &l.org_id, &l.id, generation);
        l.secret_hash = Some(hash);
        (l, secret)
    }

    /// Under a key the token is derived again from the stored link alone;
    /// another generation, link or key gives another token; a retired key
    /// still shows the links made under it; without a key nothing shows.
    #[test]
    fn link_urls_derive_again_only_under_their_key() {
        let keys = LinkKeys::new(key(1), Vec::new()).expect("keys");
        let (l, secret) = stored(3, &keys);
        assert_eq!(keys.token_of(&l).expect("derived"), secret);
        let parsed = crate::parse_token(secret.expose()).expect("a token").hash;
        assert_eq!(Some(parsed), l.secret_hash);
        let (next, next_secret) = stored(4, &keys);
        assert_ne!(next_secret, secret);
        assert_ne!(next.secret_hash, l.secret_hash);
        let mut other = l.clone();
        other.link.id = LinkId::from("lnk_2");
        assert_eq!(
            keys.token_of(&other),
            Err(true),
            "the hash is another link's"
        );
        let rotated = LinkKeys::new(key(2), vec![key(1)]).expect("keys");
        assert_eq!(rotated.token_of(&l).expect("retired key"), secret);
        assert_eq!(
            LinkKeys::new(key(2), Vec::new())
                .expect("keys")
                .token_of(&l),
            Err(true)
        );
        assert_eq!(LinkKeys::default().token_of(&l), Err(false));
        assert!(LinkKeys::new(key(1), vec![key(1)]).is_err());
        assert!(LinkKeys::new(key(1), (0..17).map(key).collect()).is_err());
        assert!(!format!("{keys:?}").contains("1, 1"), "{keys:?}");
    }

    #[test]
    fn status_is_revoked_then_expired_then_exhausted() {
        let mut l: StoredInviteLink = serde_json::from_value(stored_body()).expect("load");
        let now = l.created_at + chrono::TimeDelta::seconds(10);
        assert_eq!(l.status_at(now), LinkStatus::Active);
        l.link.max_uses = Some(3);
        assert_eq!(l.status_at(now), LinkStatus::Exhausted);
        l.link.max_uses = Some(4);
        assert_eq!(l.status_at(now), LinkStatus::Active);
        l.link.expires_at = Some(now);
        assert_eq!(l.status_at(now), LinkStatus::Expired);
        l.link.active = false;
        assert_eq!(l.status_at(now), LinkStatus::Revoked);
    }

    #[test]
    fn link_domains_are_bounded_normalized_and_match_subdomains() {
        let d = clean_domains(&[
            " @Acme.TEST ".into(),
            "bücher.test".into(),
            "acme.test".into(),
        ])
        .expect("clean");
        assert_eq!(d, ["acme.test", "xn--bcher-kva.test"]);
        assert!(domain_in(&d, "acme.test"));
        assert!(domain_in(&d, "eu.acme.test"));
        assert!(!domain_in(&d, "notacme.test"));
        assert!(domain_in(&[], "any.test"));
        for bad in ["", "a b", "a@b", "x/y", &"a".repeat(301)] {
            assert!(clean_domains(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_LINK_DOMAINS)
            .map(|i| format!("d{i}.test"))
            .collect();
        assert!(clean_domains(&many).is_err());
    }

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

    /// An existing body (written before named links) loads with its hash
    /// as the default link, and is written back with every field of it
    /// kept and the new fields beside; the link the engine returns has no
    /// hash in any form.
    #[test]
    fn stored_link_keeps_its_body_and_the_returned_link_has_no_hash() {
        let stored: StoredInviteLink = serde_json::from_value(stored_body()).expect("load");
        let hash = stored.secret_hash.expect("hash");
        assert_eq!(hash, SecretHash::of(b"the link"));
        assert!(stored.id.is_default());
        assert_eq!(stored.name, DEFAULT_LINK_NAME);
        assert_eq!(stored.generation, 0);
        assert_eq!(stored.status_at(chrono::Utc::now()), LinkStatus::Active);
        let written = serde_json::to_value(&stored).expect("serialize");
        for (k, v) in stored_body().as_object().expect("an object") {
            assert_eq!(written.get(k), Some(v), "{k}");
        }
        let again: StoredInviteLink = serde_json::from_value(written).expect("reload");
        assert_eq!(again, stored);
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

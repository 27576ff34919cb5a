//! Secrets: invitation tokens, link tokens and access codes.
//!
//! A token is 256 bits from the secret source, URL-safe base64 without
//! padding, prefixed by the organization id so that a lookup by token goes to
//! one organization's shard (`org_….<43 characters>`). Only the SHA-256 of the
//! random part is stored ([`SecretHash`]); comparisons are constant-time.
//! Access codes (for invitations by identifier, typed by a person) are 10
//! characters of Crockford's base32 (50 bits) and are protected by the
//! policy's attempt limit.

use crate::id::OrgId;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// Where randomness comes from. The default reads the operating system's
/// CSPRNG; [`SeededSecrets`] makes tests repeatable.
pub trait SecretSource: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsSecrets;

impl SecretSource for OsSecrets {
    fn fill(&self, buf: &mut [u8]) {
        // getrandom only fails when the OS has no entropy source at all; there
        // is no safe fallback for secrets, so this is a hard stop.
        #[allow(clippy::expect_used)]
        getrandom::fill(buf).expect("the operating system's random source failed");
    }
}

/// A deterministic source (ChaCha20 from a seed), for tests only: its secrets
/// are predictable by anyone who knows the seed.
#[derive(Debug)]
pub struct SeededSecrets {
    rng: Mutex<ChaCha20Rng>,
}

impl SeededSecrets {
    /// A source seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(ChaCha20Rng::seed_from_u64(seed)),
        }
    }
}

impl SecretSource for SeededSecrets {
    fn fill(&self, buf: &mut [u8]) {
        self.rng
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .fill_bytes(buf);
    }
}

/// The SHA-256 of a secret: the only form in which secrets are stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    /// Hashes `secret`.
    pub fn of(secret: &[u8]) -> Self {
        Self(Sha256::digest(secret).into())
    }

    /// Compares two hashes in constant time.
    pub fn ct_eq(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// Lowercase hex, for storage in text columns.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({}…)", &self.to_hex()[..8])
    }
}

/// A raw secret handed to the caller once (an invitation token, a link token
/// or an access code). Its `Debug` output is redacted so it never lands in
/// logs by accident; use [`Secret::expose`] to read it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps text received from outside (a link click, a typed code).
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret's text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Length of the random part of a token, in characters (32 bytes, base64url).
pub const TOKEN_RANDOM_CHARS: usize = 43;
/// Length of an access code, in characters.
pub const ACCESS_CODE_CHARS: usize = 10;
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Makes a new token for `org`: the raw secret and the hash to store.
pub fn new_token(source: &dyn SecretSource, org: &OrgId) -> (Secret, SecretHash) {
    let mut bytes = [0u8; 32];
    source.fill(&mut bytes);
    let random = URL_SAFE_NO_PAD.encode(bytes);
    let hash = SecretHash::of(random.as_bytes());
    (Secret(format!("{org}.{random}")), hash)
}

/// Splits a token into its organization and the hash of its random part.
/// Returns `None` for anything that is not shaped like a token.
///
/// `token` may also be a whole accept URL (or any text around the token):
/// the token is found by its shape, so hosts can pass what they received.
pub fn parse_token(token: &str) -> Option<(OrgId, SecretHash)> {
    let token = token.trim();
    if let Some(found) = parse_bare_token(token) {
        return Some(found);
    }
    // Look for `org_….<43>` inside a URL or other text.
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    token.match_indices(OrgId::PREFIX).find_map(|(i, _)| {
        let rest = &token[i..];
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        parse_bare_token(&rest[..end])
    })
}

fn parse_bare_token(token: &str) -> Option<(OrgId, SecretHash)> {
    let (org, random) = token.rsplit_once('.')?;
    if !org.starts_with(OrgId::PREFIX)
        || org.len() > 64
        || random.len() != TOKEN_RANDOM_CHARS
        || !random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    Some((OrgId(org.to_owned()), SecretHash::of(random.as_bytes())))
}

/// Makes a new access code: the raw code (grouped `XXXXX-XXXXX` for
/// reading aloud) and the hash to store.
pub fn new_access_code(source: &dyn SecretSource) -> (Secret, SecretHash) {
    let mut bytes = [0u8; ACCESS_CODE_CHARS];
    source.fill(&mut bytes);
    let code: String = bytes
        .iter()
        .map(|b| CROCKFORD[(b & 31) as usize] as char)
        .collect();
    let hash = SecretHash::of(code.as_bytes());
    let shown = format!("{}-{}", &code[..5], &code[5..]);
    (Secret(shown), hash)
}

/// Hashes a code as typed by a person: case, dashes and spaces do not
/// matter, and the letters Crockford's base32 leaves out are read as the
/// digits they look like (O→0, I/L→1).
pub fn hash_access_code(typed: &str) -> SecretHash {
    let canonical: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    SecretHash::of(canonical.as_bytes())
}

/// 16 random bytes for an id.
pub(crate) fn id_bytes(source: &dyn SecretSource) -> [u8; 16] {
    let mut b = [0u8; 16];
    source.fill(&mut b);
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn token_round_trips_to_org_and_hash() {
        let org = OrgId::from("org_1");
        let (secret, hash) = new_token(&SeededSecrets::new(1), &org);
        let (org2, hash2) = parse_token(secret.expose()).expect("a token we made parses");
        assert_eq!(org2, org);
        assert!(hash.ct_eq(&hash2));
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }

    #[test]
    fn os_tokens_differ() {
        let org = OrgId::from("org_1");
        let (a, _) = new_token(&OsSecrets, &org);
        let (b, _) = new_token(&OsSecrets, &org);
        assert_ne!(a, b);
    }

    #[test]
    fn seeded_sources_repeat() {
        let org = OrgId::from("org_1");
        assert_eq!(
            new_token(&SeededSecrets::new(9), &org).0,
            new_token(&SeededSecrets::new(9), &org).0
        );
    }

    #[test]
    fn access_codes_tolerate_how_people_type() {
        let (code, hash) = new_access_code(&SeededSecrets::new(3));
        let typed = code.expose().to_lowercase().replace('-', " ");
        assert!(hash_access_code(&typed).ct_eq(&hash));
        assert!(!hash_access_code("00000-00000").ct_eq(&hash) || code.expose() == "00000-00000");
    }

    #[test]
    fn tokens_are_found_inside_urls() {
        let org = OrgId::from("org_1");
        let (secret, hash) = new_token(&SeededSecrets::new(4), &org);
        let t = secret.expose();
        for url in [
            format!("https://a.test/accept?token={t}"),
            format!("https://a.test/accept?x=1&token={t}&y=2"),
            format!("https://a.test/i/{t}/go"),
            format!("  {t}\n"),
        ] {
            let (o, h) = parse_token(&url).expect("token inside the url");
            assert_eq!(o, org);
            assert!(h.ct_eq(&hash));
        }
        assert!(parse_token("https://a.test/accept?token=org_1.short").is_none());
    }

    proptest! {
        #[test]
        fn parse_token_never_panics(s in "\\PC*") {
            let _ = parse_token(&s);
        }

        #[test]
        fn malformed_tokens_are_refused(org in "org_[a-f0-9]{4}", tail in "[A-Za-z0-9_-]{0,42}") {
            let token = format!("{org}.{tail}");
            prop_assert!(parse_token(&token).is_none());
        }
    }
}

//! Access codes sealed under a key the host supplies, so that an
//! administrator can see an identifier invitation's code again ("See
//! access code", seed 002; [ADR 0005](../../docs/src/adr/0005-access-codes.md)).
//!
//! The code is encrypted with XChaCha20-Poly1305 (RustCrypto's
//! `chacha20poly1305`) under a 32-byte key with an id, a random 24-byte
//! nonce per seal, and associated data binding the ciphertext to its
//! organization, invitation and send: a sealed code copied to another
//! invitation (or kept from an earlier send) does not open. The sealed code
//! lives only in the stored record ([`StoredInvitation`]); no returned
//! value, event or log holds it, and its `Debug` output is redacted.

use crate::error::{Error, Result};
use crate::invitation::{Invitation, StoredInvitation};
use crate::secret::{Secret, SecretSource};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A key for sealing access codes, with the id that names it in every
/// sealed code, so that keys can rotate: seal under the current key, open
/// with whichever key a code names.
///
/// Exactly [`SealingKey::BYTES`] bytes (use 32 random bytes from the
/// host's secret store, not a password); the id is 1 to
/// [`SealingKey::MAX_ID_CHARS`] ASCII letters, digits, `-`, `_` or `.`.
/// `Debug` shows the id only.
#[derive(Clone)]
pub struct SealingKey {
    id: String,
    key: chacha20poly1305::Key,
}

impl SealingKey {
    /// The length of a key, in bytes.
    pub const BYTES: usize = 32;
    /// The longest key id, in characters.
    pub const MAX_ID_CHARS: usize = 32;

    /// A key named `id` from raw bytes; refused unless exactly
    /// [`SealingKey::BYTES`] long, or when the id is not a short label.
    pub fn new(id: impl Into<String>, bytes: impl AsRef<[u8]>) -> Result<Self> {
        let id = id.into();
        if id.is_empty()
            || id.len() > Self::MAX_ID_CHARS
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::invalid(
                "sealing_key_id",
                format!(
                    "must be 1 to {} ASCII letters, digits, '-', '_' or '.'",
                    Self::MAX_ID_CHARS
                ),
            ));
        }
        let bytes = bytes.as_ref();
        if bytes.len() != Self::BYTES {
            return Err(Error::invalid(
                "sealing_key",
                format!(
                    "must be exactly {} bytes (got {}); use 32 random bytes",
                    Self::BYTES,
                    bytes.len()
                ),
            ));
        }
        Ok(Self {
            id,
            key: *chacha20poly1305::Key::from_slice(bytes),
        })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingKey({:?}, ***)", self.id)
    }
}

/// An access code sealed under a [`SealingKey`], as a store keeps it inside
/// a [`StoredInvitation`]: the key's id, the nonce and the ciphertext
/// (base64url). Its `Debug` output shows the key id only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SealedCode {
    /// The id of the key it was sealed under.
    pub key_id: String,
    /// The 24-byte nonce, base64url.
    pub nonce: String,
    /// The ciphertext with its tag, base64url.
    pub ciphertext: String,
}

impl fmt::Debug for SealedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedCode({:?}, ***)", self.key_id)
    }
}

/// Why a sealed code could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// No key is configured.
    NoKey,
    /// The invitation has no sealed code (issued before a key was
    /// configured, or closed since).
    NotSealed,
    /// The key it names is no longer configured.
    UnknownKey,
    /// The ciphertext does not open under its key for this invitation
    /// (tampered, or copied from another row).
    Unreadable,
}

/// The engine's keys: the current one seals, every one opens.
#[derive(Clone, Default)]
pub(crate) struct CodeSealer {
    current: Option<SealingKey>,
    retired: Vec<SealingKey>,
}

impl fmt::Debug for CodeSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeSealer")
            .field("current", &self.current.as_ref().map(SealingKey::id))
            .field(
                "retired",
                &self.retired.iter().map(SealingKey::id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// At most this many retired keys.
pub(crate) const MAX_RETIRED_KEYS: usize = 16;

impl CodeSealer {
    pub(crate) fn new(current: SealingKey, retired: Vec<SealingKey>) -> Result<Self> {
        if retired.len() > MAX_RETIRED_KEYS {
            return Err(Error::invalid(
                "retired_keys",
                format!("at most {MAX_RETIRED_KEYS} retired sealing keys"),
            ));
        }
        let mut ids = vec![current.id.as_str()];
        for k in &retired {
            if ids.contains(&k.id.as_str()) {
                return Err(Error::invalid(
                    "sealing_key_id",
                    format!("two sealing keys share the id {:?}", k.id),
                ));
            }
            ids.push(&k.id);
        }
        Ok(Self {
            current: Some(current),
            retired,
        })
    }

    pub(crate) fn has_key(&self) -> bool {
        self.current.is_some()
    }

    /// The associated data: what the ciphertext is bound to.
    fn aad(inv: &Invitation) -> Vec<u8> {
        format!(
            "enlist sealed access code v1\0{}\0{}\0{}",
            inv.org_id, inv.id, inv.send_count
        )
        .into_bytes()
    }

    /// Seals `code` for `inv` under the current key; `None` without one.
    pub(crate) fn seal(
        &self,
        secrets: &dyn SecretSource,
        inv: &Invitation,
        code: &Secret,
    ) -> Option<SealedCode> {
        let key = self.current.as_ref()?;
        let mut nonce = [0u8; 24];
        secrets.fill(&mut nonce);
        let cipher = XChaCha20Poly1305::new(&key.key);
        let aad = Self::aad(inv);
        // Encryption of a short message in memory cannot fail (the AEAD
        // errors only on messages past 2^38 bytes).
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: code.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .ok()?;
        Some(SealedCode {
            key_id: key.id.clone(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(ct),
        })
    }

    /// Opens the sealed code of `inv`.
    pub(crate) fn open(&self, inv: &StoredInvitation) -> std::result::Result<Secret, OpenError> {
        if self.current.is_none() {
            return Err(OpenError::NoKey);
        }
        let sealed = inv.sealed_code.as_ref().ok_or(OpenError::NotSealed)?;
        let key = self
            .current
            .iter()
            .chain(&self.retired)
            .find(|k| k.id == sealed.key_id)
            .ok_or(OpenError::UnknownKey)?;
        // Bounded before decoding: a nonce is 32 characters, a sealed code
        // well under 100.
        if sealed.nonce.len() > 64 || sealed.ciphertext.len() > 512 {
            return Err(OpenError::Unreadable);
        }
        let nonce = B64
            .decode(&sealed.nonce)
            .map_err(|_| OpenError::Unreadable)?;
        if nonce.len() != 24 {
            return Err(OpenError::Unreadable);
        }
        let ct = B64
            .decode(&sealed.ciphertext)
            .map_err(|_| OpenError::Unreadable)?;
        let aad = Self::aad(&inv.invitation);
        let plain = XChaCha20Poly1305::new(&key.key)
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ct,
                    aad: &aad,
                },
            )
            .map_err(|_| OpenError::Unreadable)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| OpenError::Unreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SeededSecrets;

    fn inv(id: &str, send_count: u32) -> StoredInvitation {
        let mut i = crate::testing::entities::invitation(&"org-1".into(), id, "a@b.test");
        i.send_count = send_count;
        i
    }

    fn sealer(id: &str, byte: u8) -> CodeSealer {
        CodeSealer::new(SealingKey::new(id, [byte; 32]).unwrap(), Vec::new()).unwrap()
    }

    #[test]
    fn keys_are_exactly_32_bytes_with_a_short_id() {
        assert!(SealingKey::new("k1", [0u8; 32]).is_ok());
        for n in [0, 16, 31, 33, 64] {
            let e = SealingKey::new("k1", vec![1u8; n]).unwrap_err();
            assert_eq!(e.code(), "invalid_input", "{n}");
        }
        for id in ["", "a b", "k\n", &"k".repeat(33), "é"] {
            assert!(SealingKey::new(id, [0u8; 32]).is_err(), "{id:?}");
        }
        let k = SealingKey::new("k1", [7u8; 32]).unwrap();
        assert_eq!(format!("{k:?}"), "SealingKey(\"k1\", ***)");
        assert!(
            CodeSealer::new(k.clone(), vec![k]).is_err(),
            "duplicate ids"
        );
    }

    #[test]
    fn a_sealed_code_opens_only_for_its_invitation_and_send() {
        let s = sealer("k1", 1);
        let secrets = SeededSecrets::new(1);
        let mut a = inv("inv-a", 1);
        let code = Secret::new("ABCD-EFGH-JK");
        a.sealed_code = s.seal(&secrets, &a, &code);
        assert!(
            !format!("{:?}", a.sealed_code).contains(&a.sealed_code.as_ref().unwrap().ciphertext)
        );
        assert_eq!(s.open(&a).unwrap().expose(), "ABCD-EFGH-JK");
        // Copied to another invitation: refused.
        let mut b = inv("inv-b", 1);
        b.sealed_code = a.sealed_code.clone();
        assert_eq!(s.open(&b).unwrap_err(), OpenError::Unreadable);
        // Kept from an earlier send: refused.
        let mut later = a.clone();
        later.send_count = 2;
        assert_eq!(s.open(&later).unwrap_err(), OpenError::Unreadable);
        // Another key of the same id: refused.
        assert_eq!(sealer("k1", 2).open(&a).unwrap_err(), OpenError::Unreadable);
        // A flipped bit: refused.
        let mut t = a.clone();
        if let Some(sc) = t.sealed_code.as_mut() {
            let mut raw = B64.decode(&sc.ciphertext).unwrap();
            raw[0] ^= 1;
            sc.ciphertext = B64.encode(raw);
        }
        assert_eq!(s.open(&t).unwrap_err(), OpenError::Unreadable);
    }

    #[test]
    fn keys_rotate_and_a_missing_key_is_told_apart() {
        let old = sealer("k1", 1);
        let secrets = SeededSecrets::new(2);
        let mut a = inv("inv-a", 1);
        a.sealed_code = old.seal(&secrets, &a, &Secret::new("CODE"));
        let rotated = CodeSealer::new(
            SealingKey::new("k2", [2u8; 32]).unwrap(),
            vec![SealingKey::new("k1", [1u8; 32]).unwrap()],
        )
        .unwrap();
        assert_eq!(rotated.open(&a).unwrap().expose(), "CODE");
        let mut b = inv("inv-b", 1);
        b.sealed_code = rotated.seal(&secrets, &b, &Secret::new("NEW"));
        assert_eq!(b.sealed_code.as_ref().unwrap().key_id, "k2");
        assert_eq!(sealer("k2", 2).open(&a).unwrap_err(), OpenError::UnknownKey);
        assert_eq!(
            CodeSealer::default().open(&a).unwrap_err(),
            OpenError::NoKey
        );
        assert!(
            CodeSealer::default()
                .seal(&secrets, &a, &Secret::new("x"))
                .is_none()
        );
        assert_eq!(
            old.open(&inv("inv-c", 1)).unwrap_err(),
            OpenError::NotSealed
        );
    }
}

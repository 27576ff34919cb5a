//! Typed identifiers.
//!
//! Every entity has an opaque string id with a short prefix (`org_`, `mem_`,
//! ...), generated from the engine's [`SecretSource`](crate::SecretSource) so
//! that tests with a seeded source get the same ids every run.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident => $prefix:literal;)*) => {$(
        $(#[$doc])*
        ///
        /// The text is shared: cloning an id (the stores index every
        /// entity under its id several times) copies a pointer, not the
        /// text.
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub(crate) Arc<str>);

        impl $name {
            /// The prefix every generated id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Builds a new id from 16 random bytes.
            pub fn from_random(bytes: [u8; 16]) -> Self {
                Self(prefixed_hex($prefix, &bytes))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            pub fn into_string(self) -> String {
                String::from(&*self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_str(ArcStrVisitor).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(Arc::from(s))
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(Arc::from(s))
            }
        }

        /// The id's text, shared (no copy).
        impl From<&$name> for crate::text::Text {
            fn from(id: &$name) -> Self {
                crate::text::Text::from(Arc::clone(&id.0))
            }
        }
    )*};
}

ids! {
    /// Identifies an [`Organization`](crate::Organization).
    OrgId => "org_";
    /// Identifies a [`Member`](crate::Member) within its organization.
    MemberId => "mem_";
    /// Identifies a [`Group`](crate::Group) within its organization.
    GroupId => "grp_";
    /// Identifies an [`Invitation`](crate::Invitation) within its organization.
    InvitationId => "inv_";
    /// Identifies an [`OutboxMessage`](crate::OutboxMessage).
    MessageId => "msg_";
    /// Identifies one call of [`Enlist::invite`](crate::Enlist::invite): every
    /// invitation it issued carries it.
    BatchId => "bat_";
    /// Identifies a [`MembershipRequest`](crate::MembershipRequest) within its
    /// organization.
    MembershipRequestId => "req_";
    /// Identifies an [`InviteLink`](crate::InviteLink) within its organization.
    LinkId => "lnk_";
}

impl LinkId {
    /// The id of an organization's default link: the one
    /// [`Enlist::activate_invite_link`](crate::Enlist::activate_invite_link)
    /// and the other single-link commands manage, and the id every link
    /// stored before named links existed was given (ADR 0013).
    pub const DEFAULT: &'static str = "lnk_default";

    /// The id of the default link.
    pub fn default_link() -> Self {
        Self(Arc::from(Self::DEFAULT))
    }

    /// Whether this is the default link's id.
    pub fn is_default(&self) -> bool {
        &*self.0 == Self::DEFAULT
    }
}

impl Default for LinkId {
    fn default() -> Self {
        Self::default_link()
    }
}

/// Reads an id's text into its shared form with one allocation (the text
/// is copied once, whether the format lends it or gives it).
struct ArcStrVisitor;

impl serde::de::Visitor<'_> for ArcStrVisitor {
    type Value = Arc<str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id (a string)")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Arc<str>, E> {
        Ok(Arc::from(v))
    }
}

/// `prefix` followed by `bytes` in lower-case hex, written on the stack
/// and copied once into the shared text (no `String` in between: an
/// invitation issued makes three ids).
fn prefixed_hex(prefix: &str, bytes: &[u8; 16]) -> Arc<str> {
    let mut buf = [0u8; 64];
    let n = prefix.len();
    if n <= buf.len() - 32 {
        buf[..n].copy_from_slice(prefix.as_bytes());
        hex_pairs(bytes, &mut buf[n..n + 32]);
        // A whole `&str` followed by ASCII: always text.
        if let Ok(text) = std::str::from_utf8(&buf[..n + 32]) {
            return Arc::from(text);
        }
    }
    let mut digits = [0u8; 32];
    hex_pairs(bytes, &mut digits);
    let mut s = String::with_capacity(n + 32);
    s.push_str(prefix);
    s.extend(digits.iter().map(|&d| char::from(d)));
    Arc::from(s)
}

/// Writes `bytes` into `out` as lower-case hex digits, two a byte (as far
/// as `out` goes): the one hex writer of ids and secret hashes.
pub(crate) fn hex_pairs(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_hex_body() {
        let id = OrgId::from_random([0xab; 16]);
        assert_eq!(id.as_str(), format!("org_{}", "ab".repeat(16)));
        assert_eq!(id.to_string(), &*id.0);
    }

    #[test]
    fn ids_cross_serde_as_plain_strings() {
        let id = InvitationId::from("inv_1");
        let json = serde_json::to_string(&id).expect("to json");
        assert_eq!(json, r#""inv_1""#);
        assert_eq!(
            serde_json::from_str::<InvitationId>(&json).expect("back"),
            id
        );
        // An escaped string is handed to the visitor as a copy, not a loan.
        let escaped: InvitationId = serde_json::from_str(r#""inv_\u0031""#).expect("escaped");
        assert_eq!(escaped, id);
        let err = serde_json::from_str::<InvitationId>("7").expect_err("not a string");
        assert!(err.to_string().contains("an id"), "{err}");
    }

    #[test]
    fn a_prefix_too_long_for_the_stack_gives_the_same_text() {
        let long = "p".repeat(40);
        let bytes = [0x0f; 16];
        assert_eq!(
            &*prefixed_hex(&long, &bytes),
            format!("{long}{}", "0f".repeat(16))
        );
        assert_eq!(
            &*prefixed_hex("mem_", &bytes),
            format!("mem_{}", "0f".repeat(16))
        );
    }

    #[test]
    fn a_cloned_id_shares_its_text() {
        let id = MemberId::from_random([7; 16]);
        let copy = id.clone();
        assert!(Arc::ptr_eq(&id.0, &copy.0));
        assert_eq!(copy.into_string(), id.as_str());
    }
}

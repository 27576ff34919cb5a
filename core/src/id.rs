//! Typed identifiers.
//!
//! Every entity has an opaque string id with a short prefix (`org_`, `mem_`,
//! ...), generated from the engine's [`SecretSource`](crate::SecretSource) so
//! that tests with a seeded source get the same ids every run.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident => $prefix:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub(crate) String);

        impl $name {
            /// The prefix every generated id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Builds a new id from 16 random bytes.
            pub fn from_random(bytes: [u8; 16]) -> Self {
                Self(format!("{}{}", $prefix, hex(&bytes)))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
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
        Self(Self::DEFAULT.to_owned())
    }

    /// Whether this is the default link's id.
    pub fn is_default(&self) -> bool {
        self.0 == Self::DEFAULT
    }
}

impl Default for LinkId {
    fn default() -> Self {
        Self::default_link()
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_prefix_and_hex_body() {
        let id = OrgId::from_random([0xab; 16]);
        assert_eq!(id.as_str(), format!("org_{}", "ab".repeat(16)));
        assert_eq!(id.to_string(), id.0);
    }
}

//! The answer of [`Transaction::standing`](super::Transaction::standing)
//! from a store's rows, for store authors: an indexed store looks every
//! key up in one query (members holding a key, open invitations for a
//! key) and folds the rows into one [`KeyStanding`] a key with
//! [`Standings`], so every store answers in the same shape and order.
//!
//! ```
//! use enlist::store::Standings;
//! use enlist::{InvitationId, MemberId};
//!
//! let mut s = Standings::default();
//! s.invitation("b@x".into(), InvitationId::from("inv_1".to_owned()));
//! s.member("a@x".into(), MemberId::from("mem_1".to_owned()));
//! s.member("b@x".into(), MemberId::from("mem_2".to_owned()));
//! let keys: Vec<String> = s.into_vec().into_iter().map(|(k, _)| k).collect();
//! assert_eq!(keys, ["a@x", "b@x"]);
//! ```

use super::KeyStanding;
use crate::id::{InvitationId, MemberId};
use std::collections::{BTreeMap, BTreeSet};

/// The distinct keys of a [`Transaction::standing`](super::Transaction::standing)
/// call, in byte order: what a store looks up.
pub fn standing_keys<K: AsRef<str>>(keys: &[K]) -> Vec<&str> {
    let keys: BTreeSet<&str> = keys.iter().map(AsRef::as_ref).collect();
    keys.into_iter().collect()
}

/// The standing of each key a store found holders for, folded from its
/// rows (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Standings(BTreeMap<String, KeyStanding>);

impl Standings {
    /// The non-removed member `id` holds `key`.
    pub fn member(&mut self, key: String, id: MemberId) {
        self.0.entry(key).or_default().member = Some(id);
    }

    /// The invitation `id` for `key` is open.
    pub fn invitation(&mut self, key: String, id: InvitationId) {
        self.0.entry(key).or_default().invitation = Some(id);
    }

    /// The answer: each key with a holder, in byte order.
    pub fn into_vec(self) -> Vec<(String, KeyStanding)> {
        self.0.into_iter().collect()
    }
}

//! Ordered walks over the indexes, pages and cursors.

use super::state::{Headed, InvitationKey, MemberKey};
use crate::error::StoreError;
use crate::member::Page;
use crate::store::{StoreResult, collect_page, cursor, merge_sorted};
use std::collections::BTreeSet;
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::Arc;

/// An iterator over set elements, in either direction.
pub(super) type Walk<'a, T> = Box<dyn Iterator<Item = &'a T> + 'a>;

/// Elements of `set` strictly after `after` (in the walk's direction).
pub(super) fn walk<'a, T: Ord + Clone>(
    set: &'a BTreeSet<T>,
    after: Option<&T>,
    desc: bool,
) -> Walk<'a, T> {
    match (after, desc) {
        (None, false) => Box::new(set.iter()),
        (None, true) => Box::new(set.iter().rev()),
        (Some(c), false) => Box::new(set.range((Excluded(c.clone()), Unbounded))),
        (Some(c), true) => Box::new(set.range((Unbounded, Excluded(c.clone()))).rev()),
    }
}

/// A page of the entities whose keys `walks` (over disjoint sorted sets)
/// yield and that `keep` accepts, each handed out as `out` makes it: the
/// walks merged, each key looked up.
pub(super) fn page_of<'a, K: Ord + 'a, V: 'a, O>(
    walks: Vec<Walk<'a, K>>,
    desc: bool,
    lookup: impl Fn(&K) -> Option<&'a V>,
    (keep, out): (impl Fn(&V) -> bool, impl Fn(&V) -> O),
    limit: usize,
    cursor_of: impl Fn(&K) -> String,
) -> StoreResult<Page<O>> {
    let walks = walks
        .into_iter()
        .map(|w| w.map(|key| Ok::<_, StoreError>((key, ()))))
        .collect();
    let candidates = merge_sorted(walks, desc).map(|r| {
        let (key, ()) = r?;
        let value = lookup(key)
            .ok_or_else(|| StoreError::Corrupt("an index names a missing entity".to_owned()))?;
        Ok((key, keep(value).then(|| out(value))))
    });
    collect_page(candidates, limit, |key| Ok(cursor_of(key)))
}

pub(super) fn empty_page<T>() -> Page<T> {
    Page {
        items: Vec::new(),
        next_cursor: None,
    }
}

pub(super) fn member_cursor(key: &MemberKey) -> String {
    cursor::member(&key.0.text, key.1.as_str())
}

pub(super) fn parse_member_cursor(c: &str) -> StoreResult<MemberKey> {
    cursor::parse_member(c).map(|(contact, id)| (Headed::new(Arc::from(contact)), id))
}

pub(super) fn invitation_cursor(key: &InvitationKey) -> String {
    let at = key.at();
    cursor::invitation(
        at.timestamp(),
        i64::from(at.timestamp_subsec_nanos()),
        key.id.as_str(),
    )
}

pub(super) fn parse_invitation_cursor(c: &str) -> StoreResult<InvitationKey> {
    cursor::parse_invitation(c).map(|(at, id)| InvitationKey::new(at, id))
}

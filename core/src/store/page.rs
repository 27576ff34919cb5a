//! Pages of a list, for store authors: the page size limit every store
//! applies, a lazy k-way merge of sorted walks (one per index range), and
//! the assembly of a page from a walk with its look-ahead for the next
//! cursor. MemoryStore, enlist-sqlite and enlist-postgres all page with
//! these, so a page means the same on each.
//!
//! ```
//! use enlist::StoreResult;
//! use enlist::store::{collect_page, merge_sorted, page_limit};
//!
//! # fn main() -> StoreResult<()> {
//! // Two index ranges (say active and inactive members), each sorted by key.
//! let active = vec![("ann", 1), ("cy", 3), ("ed", 5)];
//! let inactive = vec![("bo", 2), ("di", 4)];
//! let walks = [active, inactive].map(|w| w.into_iter().map(Ok::<_, enlist::StoreError>));
//! let merged = merge_sorted(Vec::from(walks), false);
//! // A page of 3 of the members a filter keeps (here: all but "cy").
//! let page = collect_page(
//!     merged.map(|r| r.map(|(key, n)| (key, (key != "cy").then_some(n)))),
//!     page_limit(3),
//!     |key| Ok(format!("after:{key}")),
//! )?;
//! assert_eq!(page.items, [1, 2, 4]);
//! assert_eq!(page.next_cursor.as_deref(), Some("after:di"));
//! # Ok(())
//! # }
//! ```

use super::StoreResult;
use crate::member::Page;
use std::iter::Peekable;

/// The largest page `list_members` and `list_invitations` return, whatever
/// the query asks for.
pub const MAX_PAGE: u32 = 1000;

/// The number of items a page holds for a requested `limit`: `limit`
/// clamped to `1..=MAX_PAGE` (a query asking for 0 gets one item).
pub fn page_limit(limit: u32) -> usize {
    // At most MAX_PAGE, so it fits any usize.
    usize::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(1)
}

/// Merges walks that are each sorted by key (ascending, or descending when
/// `desc`) into one sorted walk: see [`merge_sorted`].
pub struct MergeSorted<I: Iterator> {
    walks: Vec<Peekable<I>>,
    desc: bool,
}

impl<I: Iterator> std::fmt::Debug for MergeSorted<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MergeSorted")
            .field("walks", &self.walks.len())
            .field("desc", &self.desc)
            .finish()
    }
}

/// Merges `walks`, each an iterator of `Ok((key, row))` sorted by key
/// (ascending, or descending when `desc`), into one walk sorted the same
/// way, lazily: a row is read from a walk only when the merge reaches it,
/// so a page of `n` reads about `n` rows, not every row of every walk.
/// The keys of different walks should be distinct (the walks cover
/// disjoint index ranges, such as one per status); equal keys come out in
/// walk order. An `Err` from a walk comes out as soon as that walk is
/// consulted, and the merge goes on with the rest if asked.
pub fn merge_sorted<K, R, E, I>(walks: Vec<I>, desc: bool) -> MergeSorted<I>
where
    K: Ord,
    I: Iterator<Item = Result<(K, R), E>>,
{
    MergeSorted {
        walks: walks.into_iter().map(Iterator::peekable).collect(),
        desc,
    }
}

impl<K, R, E, I> Iterator for MergeSorted<I>
where
    K: Ord,
    I: Iterator<Item = Result<(K, R), E>>,
{
    type Item = Result<(K, R), E>;

    fn next(&mut self) -> Option<Self::Item> {
        let desc = self.desc;
        let mut best: Option<(usize, &K)> = None;
        let mut failed: Option<usize> = None;
        for (i, w) in self.walks.iter_mut().enumerate() {
            match w.peek() {
                None => {}
                Some(Err(_)) => {
                    failed = Some(i);
                    break;
                }
                Some(Ok((key, _))) => {
                    let better = match best {
                        None => true,
                        Some((_, b)) if desc => key > b,
                        Some((_, b)) => key < b,
                    };
                    if better {
                        best = Some((i, key));
                    }
                }
            }
        }
        let i = failed.or(best.map(|(i, _)| i))?;
        self.walks.get_mut(i)?.next()
    }
}

/// Assembles a page from a walk in page order: each candidate is its sort
/// key and the item, or `None` when a filter the walk could not apply
/// rejects it. Takes the first `limit` items; reads one accepted candidate
/// more to know whether a next page exists, in which case `next_cursor` is
/// `cursor_of` the last key taken. Stops at the first error.
pub fn collect_page<K, T>(
    candidates: impl IntoIterator<Item = StoreResult<(K, Option<T>)>>,
    limit: usize,
    cursor_of: impl Fn(&K) -> StoreResult<String>,
) -> StoreResult<Page<T>> {
    let mut items = Vec::new();
    let mut last: Option<K> = None;
    for candidate in candidates {
        let (key, item) = candidate?;
        let Some(item) = item else { continue };
        if items.len() == limit {
            return Ok(Page {
                items,
                next_cursor: last.as_ref().map(cursor_of).transpose()?,
            });
        }
        items.push(item);
        last = Some(key);
    }
    Ok(Page {
        items,
        next_cursor: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::StoreError;

    fn walk(keys: &[u32]) -> std::vec::IntoIter<Result<(u32, ()), &'static str>> {
        keys.iter()
            .map(|&k| Ok((k, ())))
            .collect::<Vec<_>>()
            .into_iter()
    }

    fn keys(m: impl Iterator<Item = Result<(u32, ()), &'static str>>) -> Vec<u32> {
        m.map(|r| r.map(|(k, ())| k).unwrap_or(u32::MAX)).collect()
    }

    #[test]
    fn limits_are_clamped_to_one_and_max_page() {
        assert_eq!(page_limit(0), 1);
        assert_eq!(page_limit(7), 7);
        assert_eq!(page_limit(MAX_PAGE), 1000);
        assert_eq!(page_limit(u32::MAX), 1000);
    }

    #[test]
    fn merges_sorted_walks_both_ways() {
        let up = merge_sorted(vec![walk(&[1, 4, 9]), walk(&[]), walk(&[2, 3, 10])], false);
        assert_eq!(keys(up), [1, 2, 3, 4, 9, 10]);
        let down = merge_sorted(vec![walk(&[9, 4, 1]), walk(&[10, 3, 2])], true);
        assert_eq!(keys(down), [10, 9, 4, 3, 2, 1]);
        let none = merge_sorted(
            Vec::<std::vec::IntoIter<Result<(u32, ()), ()>>>::new(),
            false,
        );
        assert_eq!(none.count(), 0);
    }

    #[test]
    fn merge_reads_lazily_and_passes_errors_on() {
        let read = std::cell::Cell::new(0);
        let counted = |ks: Vec<u32>| {
            let read = &read;
            ks.into_iter().map(move |k| {
                read.set(read.get() + 1);
                Ok::<_, &str>((k, ()))
            })
        };
        let mut m = merge_sorted(vec![counted(vec![1, 2, 3]), counted(vec![5, 6, 7])], false);
        assert_eq!(m.next().map(|r| r.map(|(k, ())| k)), Some(Ok(1)));
        // One row of each walk was read, no more.
        assert_eq!(read.get(), 2);
        let failing = vec![Ok((1, ())), Err("disk on fire"), Ok((5, ()))].into_iter();
        let m = merge_sorted(vec![failing, walk(&[2, 3])], false);
        assert_eq!(keys(m), [1, u32::MAX, 2, 3, 5]);
    }

    fn page(keys: &[u32], keep_odd: bool, limit: usize) -> StoreResult<Page<u32>> {
        collect_page(
            keys.iter()
                .map(|&k| Ok((k, (!keep_odd || k % 2 == 1).then_some(k * 10)))),
            limit,
            |k| Ok(format!("after-{k}")),
        )
    }

    #[test]
    fn a_page_looks_one_accepted_item_ahead() {
        let p = page(&[1, 2, 3], false, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.items, p.next_cursor), (vec![10, 20, 30], None));
        let p = page(&[1, 2, 3, 4], false, 3).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.next_cursor.as_deref(), Some("after-3"));
        // Rejected candidates neither count nor make a next page.
        let p = page(&[1, 2, 3, 4, 6, 8], true, 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.items, p.next_cursor), (vec![10, 30], None));
        let p = page(&[1, 2, 3, 4, 5], true, 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (p.items, p.next_cursor.as_deref()),
            (vec![10, 30], Some("after-3"))
        );
        let err = collect_page(
            vec![Ok((1, Some(1))), Err(StoreError::Corrupt("x".to_owned()))],
            5,
            |k: &u32| Ok(k.to_string()),
        );
        assert!(matches!(err, Err(StoreError::Corrupt(_))));
    }
}

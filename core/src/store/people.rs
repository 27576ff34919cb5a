//! The people view for store authors: every store sorts and pages
//! [`Person`]s by the same keys and cursors, so that a page means the same
//! on each (the conformance suite compares them).
//!
//! A sort key is a short tuple of [`KeyPart`]s ending with the person's
//! [`Person::pid`]:
//! - [`PeopleSort::Name`]: `(name_key, pid)`;
//! - [`PeopleSort::Email`]: `(contact_key, pid)`;
//! - [`PeopleSort::Label`]: `(label rank, name_key, pid)`;
//! - [`PeopleSort::LastActive`]: `(seconds, nanoseconds, pid)` of
//!   `last_active_at`, never active being `(i64::MIN, 0)`;
//! - [`PeopleSort::Role`]: `(role, name_key, pid)`;
//! - [`PeopleSort::Date`]: `(seconds, nanoseconds, pid)` of `since`.
//!
//! Texts compare by bytes (SQLite's `BINARY`, Postgres's `COLLATE "C"`),
//! and every part of a key goes the same direction. The cursor is
//! `p.<sort>.<a|d>.<parts>`, each part `t<hex>` or `n<integer>`, so a
//! cursor of another sort or direction is refused.
//!
//! ```
//! use enlist::store::people::{KeyPart, cursor, parse_cursor};
//! use enlist::PeopleSort;
//! let key = vec![KeyPart::Text("ada lovelace".into()), KeyPart::Text("m.mem_1".into())];
//! let c = cursor(PeopleSort::Name, false, &key);
//! assert_eq!(parse_cursor(&c, PeopleSort::Name, false)?, key);
//! assert!(parse_cursor(&c, PeopleSort::Name, true).is_err());
//! assert!(parse_cursor(&c, PeopleSort::Email, false).is_err());
//! # Ok::<(), enlist::StoreError>(())
//! ```

use super::StoreResult;
use super::cursor::invalid;
use crate::people::{PeopleSort, Person};
use chrono::{DateTime, Utc};

/// One part of a sort key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyPart {
    /// An integer (a label rank, seconds or nanoseconds).
    Int(i64),
    /// A text, compared by bytes.
    Text(String),
}

/// The `(seconds, nanoseconds)` of a time, as the key parts hold them.
pub fn time_parts(t: DateTime<Utc>) -> (i64, i64) {
    (t.timestamp(), i64::from(t.timestamp_subsec_nanos()))
}

/// `(seconds, nanoseconds)` of `last_active_at`, `(i64::MIN, 0)` when
/// never active.
pub fn last_active_parts(p: &Person) -> (i64, i64) {
    p.last_active_at.map_or((i64::MIN, 0), time_parts)
}

/// The sort key of a person (labelled at `now`) under `sort`.
pub fn sort_key(p: &Person, sort: PeopleSort) -> Vec<KeyPart> {
    use KeyPart::{Int, Text};
    let pid = Text(p.pid());
    match sort {
        PeopleSort::Email => vec![Text(p.contact_key.clone()), pid],
        PeopleSort::Label => vec![Int(p.label.rank()), Text(p.name_key()), pid],
        PeopleSort::LastActive => {
            let (s, ns) = last_active_parts(p);
            vec![Int(s), Int(ns), pid]
        }
        PeopleSort::Role => vec![Text(p.role.clone()), Text(p.name_key()), pid],
        PeopleSort::Date => {
            let (s, ns) = time_parts(p.since);
            vec![Int(s), Int(ns), pid]
        }
        // Name, and any sort added later, sorts by name.
        _ => vec![Text(p.name_key()), pid],
    }
}

/// Whether each part of `sort`'s key is a text (`true`) or an integer.
fn shape(sort: PeopleSort) -> &'static [bool] {
    match sort {
        PeopleSort::Email => &[true, true],
        PeopleSort::Label => &[false, true, true],
        PeopleSort::LastActive | PeopleSort::Date => &[false, false, true],
        PeopleSort::Role => &[true, true, true],
        _ => &[true, true],
    }
}

/// The cursor after the person with this sort key.
pub fn cursor(sort: PeopleSort, descending: bool, key: &[KeyPart]) -> String {
    let mut c = format!("p.{}.{}", sort.as_str(), if descending { 'd' } else { 'a' });
    for part in key {
        c.push('.');
        match part {
            KeyPart::Int(n) => {
                c.push('n');
                c.push_str(&n.to_string());
            }
            KeyPart::Text(t) => {
                c.push('t');
                c.push_str(&super::cursor::to_hex(t));
            }
        }
    }
    c
}

/// The sort key of a [`cursor`] made for this sort and direction;
/// anything else is [`StoreError::InvalidCursor`](crate::StoreError::InvalidCursor) of list `people`.
pub fn parse_cursor(c: &str, sort: PeopleSort, descending: bool) -> StoreResult<Vec<KeyPart>> {
    let parse = || {
        let rest = c.strip_prefix("p.")?;
        let rest = rest.strip_prefix(sort.as_str())?.strip_prefix('.')?;
        let rest = rest.strip_prefix(if descending { "d" } else { "a" })?;
        let parts: Vec<&str> = rest.strip_prefix('.')?.split('.').collect();
        let shape = shape(sort);
        if parts.len() != shape.len() {
            return None;
        }
        parts
            .iter()
            .zip(shape)
            .map(|(p, &text)| {
                if text {
                    Some(KeyPart::Text(super::cursor::from_hex(
                        p.strip_prefix('t')?,
                    )?))
                } else {
                    Some(KeyPart::Int(p.strip_prefix('n')?.parse().ok()?))
                }
            })
            .collect()
    };
    parse().ok_or_else(|| invalid("people"))
}

/// The half-open byte range `[low, high)` of terms that start with
/// `prefix` (`high` is `None` when no text bounds it). Texts compare by
/// bytes, which for UTF-8 is code point order, so the successor of the
/// prefix's last character bounds every text that starts with it.
pub fn prefix_range(prefix: &str) -> (String, Option<String>) {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(n) = next {
            chars.push(n);
            return (prefix.to_owned(), Some(chars.into_iter().collect()));
        }
    }
    (prefix.to_owned(), None)
}

/// A page of the people view from every person of an organization (each
/// labelled by stored status, as [`Person::from_member`] and
/// [`Person::from_invitation`] make them): labels them at `now`, filters,
/// sorts and pages them. This reads everyone, which suits MemoryStore (a
/// reference, and a store for tests); indexed stores answer from their
/// indexes instead, with the same result.
pub fn scan_page(
    people: impl IntoIterator<Item = Person>,
    query: &crate::people::PeopleQuery,
    now: DateTime<Utc>,
) -> StoreResult<crate::member::Page<Person>> {
    let (sort, desc) = (query.sort, query.descending);
    let after = query
        .after
        .as_deref()
        .map(|c| parse_cursor(c, sort, desc))
        .transpose()?;
    let mut rows: Vec<(Vec<KeyPart>, Person)> = people
        .into_iter()
        .map(|p| p.at(now))
        .filter(|p| query.matches(p))
        .map(|p| (sort_key(&p, sort), p))
        .filter(|(k, _)| {
            after
                .as_ref()
                .is_none_or(|a| if desc { k < a } else { k > a })
        })
        .collect();
    rows.sort_by(|a, b| if desc { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
    super::collect_page(
        rows.into_iter().map(|(k, p)| Ok((k, Some(p)))),
        super::page_limit(query.limit),
        |k| Ok(cursor(sort, desc, k)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_other_lists() {
        let key = vec![
            KeyPart::Int(-3),
            KeyPart::Int(7),
            KeyPart::Text("i.inv_.x".into()),
        ];
        let c = cursor(PeopleSort::Date, true, &key);
        assert_eq!(
            parse_cursor(&c, PeopleSort::Date, true).expect("parses"),
            key
        );
        for bad in [
            "",
            "p.",
            "p.date.d",
            "p.date.d.n1.n2",
            "p.date.d.t00.n2.t00",
            "p.date.x.n1.n2.t00",
            "m.00.00",
            &c.replace("p.date", "p.last_active"),
        ] {
            assert!(
                parse_cursor(bad, PeopleSort::Date, true).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn prefix_ranges_bound_exactly_the_texts_with_the_prefix() {
        assert_eq!(prefix_range("ab"), ("ab".into(), Some("ac".into())));
        assert_eq!(prefix_range(""), (String::new(), None));
        let (low, high) = prefix_range("a\u{10ffff}");
        assert_eq!(high.as_deref(), Some("b"));
        let high = high.unwrap_or_default();
        for t in ["a\u{10ffff}", "a\u{10ffff}\u{10ffff}zz"] {
            assert!(t >= low.as_str() && t < high.as_str(), "{t:?}");
        }
        assert!("a\u{10fffe}" < low.as_str());
        // Before a surrogate, the next character is U+E000.
        assert_eq!(prefix_range("\u{d7ff}").1.as_deref(), Some("\u{e000}"));
    }
}

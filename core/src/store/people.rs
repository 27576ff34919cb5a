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
//!   `last_active_at`; a member never active is `(i64::MIN, 0)`, and an
//!   invitation (never active either) is its `since` (when it was made)
//!   with [`INVITATION_LAST_ACTIVE_OFFSET`] taken from the seconds, so
//!   invitations come after members never active and before any activity,
//!   in the order they were made ([`last_active_parts`]);
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
use crate::invitation::Invitation;
use crate::people::{PeopleQuery, PeopleSort, Person, PersonLabel};
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

/// What an invitation's seconds are lowered by in its key by last
/// activity: 2^62, far below any time enlist stores (years 1 to 9999 are
/// some ±2^38 seconds around 1970), and far above `i64::MIN`.
pub const INVITATION_LAST_ACTIVE_OFFSET: i64 = 1 << 62;

/// `(seconds, nanoseconds)` of `last_active_at`; for a person never
/// active, `(i64::MIN, 0)` for a member and, for an invitation, its
/// `since` with [`INVITATION_LAST_ACTIVE_OFFSET`] taken from the seconds.
///
/// So by last activity, ascending, members never active come first, then
/// invitations in the order they were made, then everyone active. (Until
/// SQLite schema 27 and PostgreSQL schema 14, invitations tied with
/// members never active and came in the order of their ids: SQLite kept
/// an index for that order alone, on every invitation written.)
pub fn last_active_parts(p: &Person) -> (i64, i64) {
    match (p.last_active_at, p.source) {
        (Some(t), _) => time_parts(t),
        (None, crate::people::PersonSource::Invitation) => {
            let (s, ns) = time_parts(p.since);
            (s.saturating_sub(INVITATION_LAST_ACTIVE_OFFSET), ns)
        }
        (None, _) => (i64::MIN, 0),
    }
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
    query: &PeopleQuery,
    now: DateTime<Utc>,
) -> StoreResult<crate::member::Page<Person>> {
    let (sort, desc) = (query.sort, query.descending);
    let after = after_key(query)?;
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
    sort_rows(&mut rows, desc);
    page_of(rows, query)
}

/// The sort key a query continues after: its cursor, parsed.
fn after_key(query: &PeopleQuery) -> StoreResult<Option<Vec<KeyPart>>> {
    query
        .after
        .as_deref()
        .map(|c| parse_cursor(c, query.sort, query.descending))
        .transpose()
}

/// Sorts keyed rows by key, descending when `desc`.
fn sort_rows(rows: &mut [(Vec<KeyPart>, Person)], desc: bool) {
    rows.sort_by(|a, b| if desc { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
}

/// The page of `query` from its sorted, keyed rows (with one row of
/// look-ahead for the next cursor).
fn page_of(
    rows: Vec<(Vec<KeyPart>, Person)>,
    query: &PeopleQuery,
) -> StoreResult<crate::member::Page<Person>> {
    let (sort, desc) = (query.sort, query.descending);
    super::collect_page(
        rows.into_iter().map(|(k, p)| Ok((k, Some(p)))),
        super::page_limit(query.limit),
        |k| Ok(cursor(sort, desc, k)),
    )
}

/// The columns of the people table (as the SQL stores' migration 0004
/// names them) that hold `sort`'s key after `org_id`: the columns of that
/// sort's index, the last being `pid`. A walk of [`PeopleSort::Label`]
/// walks one label at a time by name, so it uses the name's columns.
pub fn key_columns(sort: PeopleSort) -> &'static [&'static str] {
    match sort {
        PeopleSort::Email => &["contact_key", "pid"],
        PeopleSort::Role => &["role", "name_key", "pid"],
        PeopleSort::Date => &["since_s", "since_ns", "pid"],
        PeopleSort::LastActive => &["last_s", "last_ns", "pid"],
        // Name, and Label within one label.
        _ => &["name_key", "pid"],
    }
}

/// The key of the people rows derived from an invitation (as
/// [`Person::pid`] of its person), also once it is closed and has none.
pub fn invitation_pid(inv: &Invitation) -> String {
    crate::people::invitation_pid(&inv.id)
}

/// The derived rows of one person that change when it becomes another
/// (or none): what a store deletes and inserts in its search terms and
/// group rows ([`rows_change`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RowsChange {
    /// Search terms ([`Person::search_terms`]) to delete.
    pub terms_removed: Vec<String>,
    /// Search terms to insert.
    pub terms_added: Vec<String>,
    /// Group ids to delete.
    pub groups_removed: Vec<String>,
    /// Group ids to insert.
    pub groups_added: Vec<String>,
}

/// What changes in a person's derived rows from `old` to `new` (`None`:
/// the person leaves the view), or `None` when they are the same and
/// nothing is written. The person row itself is rewritten from
/// [`person_row`] unless `new` is `None` (then it is deleted).
pub fn rows_change(old: Option<&Person>, new: Option<&Person>) -> Option<RowsChange> {
    rows_change_with(old, new, Person::search_terms)
}

/// [`rows_change`] for a store that keeps, as a person's term rows,
/// `terms(person)` rather than every one of [`Person::search_terms`] (the
/// SQLite store keeps none for an invitation it finds by its name key).
pub fn rows_change_with(
    old: Option<&Person>,
    new: Option<&Person>,
    terms: impl Fn(&Person) -> Vec<String>,
) -> Option<RowsChange> {
    use std::collections::BTreeSet;
    if old == new {
        return None;
    }
    let terms = |p: Option<&Person>| -> BTreeSet<String> {
        p.map(|p| terms(p).into_iter().collect())
            .unwrap_or_default()
    };
    let groups = |p: Option<&Person>| -> BTreeSet<String> {
        p.map(|p| p.groups.iter().map(|g| g.group_id.to_string()).collect())
            .unwrap_or_default()
    };
    let diff = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect();
    let (old_terms, new_terms) = (terms(old), terms(new));
    let (old_groups, new_groups) = (groups(old), groups(new));
    Some(RowsChange {
        terms_removed: diff(&old_terms, &new_terms),
        terms_added: diff(&new_terms, &old_terms),
        groups_removed: diff(&old_groups, &new_groups),
        groups_added: diff(&new_groups, &old_groups),
    })
}

/// The computed columns of a person's row in the people table (the
/// others, `contact_key`, `role`, `license_type` and the body, are the
/// person's own fields).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PersonRow {
    /// `status`: the stored label ([`PersonLabel::as_str`]).
    pub status: &'static str,
    /// `(expires_s, expires_ns)`, when the invitation expires.
    pub expires: Option<(i64, i64)>,
    /// `name_key` ([`Person::name_key`]).
    pub name_key: String,
    /// `kind` ([`MemberKind::as_str`](crate::MemberKind::as_str)).
    pub kind: &'static str,
    /// `(since_s, since_ns)`.
    pub since: (i64, i64),
    /// `(last_s, last_ns)` ([`last_active_parts`]).
    pub last_active: (i64, i64),
}

/// The computed columns of `p`'s row.
pub fn person_row(p: &Person) -> PersonRow {
    PersonRow {
        status: p.label.as_str(),
        expires: p.expires_at.map(time_parts),
        name_key: p.name_key(),
        kind: p.kind.as_str(),
        since: time_parts(p.since),
        last_active: last_active_parts(p),
    }
}

/// One test on a people row's stored status; a walk keeps the rows that
/// pass any of its tests ([`Walk::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusTest {
    /// The stored status is this label's ([`PersonLabel::as_str`]).
    Is(PersonLabel),
    /// Stored pending and due at `now` (`expires_at <= now`): Expired.
    PendingDue,
    /// Stored pending and not due at `now`: Pending.
    PendingNotDue,
}

/// The tests on the stored status that keep exactly the people labelled
/// one of `labels` at `now`: Expired is stored expired or stored pending
/// and due, Pending is stored pending and not due (unless both are asked
/// for); every other label is its stored status.
pub fn status_tests(labels: &[PersonLabel]) -> Vec<StatusTest> {
    let pending = labels.contains(&PersonLabel::Pending);
    let expired = labels.contains(&PersonLabel::Expired);
    let mut tests = Vec::new();
    for &l in labels {
        match l {
            PersonLabel::Pending if !expired => tests.push(StatusTest::PendingNotDue),
            PersonLabel::Expired if !pending => {
                tests.push(StatusTest::Is(PersonLabel::Expired));
                tests.push(StatusTest::PendingDue);
            }
            other => tests.push(StatusTest::Is(other)),
        }
    }
    tests
}

/// The filters `column = value` of a query on the people table's
/// columns `role`, `kind` and `license_type` (the group and the search
/// are the store's: a join on its group rows and a range of its terms,
/// from [`prefix_range`]).
pub fn equal_filters(query: &PeopleQuery) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(role) = &query.role {
        out.push(("role", role.clone()));
    }
    if let Some(kind) = query.kind {
        out.push(("kind", kind.as_str().to_owned()));
    }
    if let Some(license) = &query.license_type {
        out.push(("license_type", license.clone()));
    }
    out
}

/// One walk of a people index that a page asks a store for
/// ([`page_by_walks`]): the rows of the organization that pass the
/// query's other filters ([`equal_filters`], group, search) and one of
/// `status`, in the order of `columns` (descending when the query is),
/// after `after`, at most `limit` of them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Walk<'a> {
    /// The index columns walked in order ([`key_columns`]).
    pub columns: &'static [&'static str],
    /// The rows pass one of these (none passes an empty list).
    pub status: Vec<StatusTest>,
    /// The status tests name one stored status in a walk by name (or one
    /// label of a label sort), so an index on `(org_id, status,
    /// name_key, pid)` serves both the filter and the order; otherwise the
    /// store should keep its planner on the sort's index.
    pub by_status: bool,
    /// Only rows whose `columns` come after these values, in the walk's
    /// direction.
    pub after: Option<&'a [KeyPart]>,
    /// At most this many rows.
    pub limit: usize,
}

/// A page of the people view from an indexed store's walks: parses the
/// cursor, plans the walks (one for most sorts; for [`PeopleSort::Label`]
/// one per label in rank order, two for Expired, until the page is full),
/// asks `walk` for each, labels the rows at `now`, keys and orders them and
/// pages them. `walk` returns the persons as stored (labelled by stored
/// status), in the walk's order.
pub fn page_by_walks(
    query: &PeopleQuery,
    now: DateTime<Utc>,
    mut walk: impl FnMut(&Walk<'_>) -> StoreResult<Vec<Person>>,
) -> StoreResult<crate::member::Page<Person>> {
    let (sort, desc) = (query.sort, query.descending);
    let after = after_key(query)?;
    let limit = super::page_limit(query.limit);
    let labels = query.wanted_labels();
    let mut keyed = |w: &Walk<'_>| -> StoreResult<Vec<(Vec<KeyPart>, Person)>> {
        Ok(walk(w)?
            .into_iter()
            .map(|p| {
                let p = p.at(now);
                (sort_key(&p, sort), p)
            })
            .collect())
    };
    let rows = if sort == PeopleSort::Label {
        let mut ranked = labels;
        if desc {
            ranked.reverse();
        }
        let mut out: Vec<(Vec<KeyPart>, Person)> = Vec::new();
        for label in ranked {
            let need = limit + 1 - out.len().min(limit + 1);
            if need == 0 {
                break;
            }
            let rank = label.rank();
            let rest = match after.as_deref() {
                Some([KeyPart::Int(r), rest @ ..]) => {
                    if (desc && rank > *r) || (!desc && rank < *r) {
                        continue;
                    }
                    (rank == *r).then_some(rest)
                }
                _ => None,
            };
            // Expired is two walks (stored expired; pending past `now`).
            let tests = match label {
                PersonLabel::Expired => {
                    vec![vec![StatusTest::Is(label)], vec![StatusTest::PendingDue]]
                }
                l => vec![status_tests(&[l])],
            };
            let mut got = Vec::new();
            for status in tests {
                got.extend(keyed(&Walk {
                    columns: key_columns(PeopleSort::Name),
                    status,
                    by_status: true,
                    after: rest,
                    limit: need,
                })?);
            }
            sort_rows(&mut got, desc);
            got.truncate(need);
            out.extend(got);
        }
        out
    } else {
        // By name with one stored status asked for (Active, Inactive,
        // Pending, Staged or Removed alone), an index on the status
        // serves both the filter and the order: a rare label is found
        // without walking everyone else.
        let one_status = labels.len() == 1 && labels.first() != Some(&PersonLabel::Expired);
        keyed(&Walk {
            columns: key_columns(sort),
            status: status_tests(&labels),
            by_status: sort == PeopleSort::Name && one_status,
            after: after.as_deref(),
            limit: limit + 1,
        })?
    };
    page_of(rows, query)
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

    use crate::group::GroupGrant;
    use crate::id::{GroupId, InvitationId, MemberId, OrgId};
    use crate::member::{Contact, MemberKind};
    use crate::people::PersonSource;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
    }

    /// A person as a store keeps it (labelled by stored status).
    fn person(i: usize, label: PersonLabel, name: Option<&str>, role: &str) -> Person {
        let member = matches!(
            label,
            PersonLabel::Active | PersonLabel::Inactive | PersonLabel::Removed
        );
        let email = format!("p{i}@acme.test");
        Person {
            org_id: OrgId::from("org_1".to_owned()),
            source: if member {
                PersonSource::Member
            } else {
                PersonSource::Invitation
            },
            member_id: member.then(|| MemberId::from(format!("mem_{i}"))),
            invitation_id: (!member).then(|| InvitationId::from(format!("inv_{i}"))),
            label,
            name: name.map(str::to_owned),
            first_name: name.and_then(|n| n.split(' ').next()).map(str::to_owned),
            last_name: None,
            contact: Contact::Email(email.as_str().into()),
            contact_key: email,
            role: role.to_owned(),
            groups: if i % 3 == 0 {
                vec![GroupGrant {
                    group_id: GroupId::from("grp_1".to_owned()),
                    role: crate::role::GroupRole::Member,
                }]
            } else {
                Vec::new()
            },
            license_type: "standard".to_owned(),
            kind: if i % 4 == 0 {
                MemberKind::Guest
            } else {
                MemberKind::Member
            },
            since: at(i64::try_from(i % 5).unwrap_or(0)),
            last_active_at: (member && i % 2 == 0).then(|| at(100 - i64::try_from(i).unwrap_or(0))),
            expires_at: (label == PersonLabel::Pending || label == PersonLabel::Expired)
                .then(|| at(10 * i64::try_from(i).unwrap_or(0))),
        }
    }

    fn people() -> Vec<Person> {
        use PersonLabel::*;
        let rows = [
            (Active, Some("Ann Lee"), "owner"),
            (Active, Some("ann lee"), "member"),
            (Inactive, Some("Bob Ray"), "member"),
            (Removed, None, "member"),
            (Staged, Some("Anna Bell"), "admin"),
            (Pending, Some("Cy Twombly"), "member"),
            (Pending, None, "member"),
            (Pending, Some("Andy Due"), "admin"),
            (Expired, Some("Ed Old"), "member"),
            (Active, Some("Zoe"), "admin"),
            (Staged, None, "member"),
            (Inactive, Some("Ann Other"), "member"),
        ];
        rows.into_iter()
            .enumerate()
            .map(|(i, (l, n, r))| person(i + 1, l, n, r))
            .collect()
    }

    /// What an indexed store's walk answers, without an index: the rows
    /// passing the walk's and the query's filters, in the walk's order.
    fn naive_walk(
        all: &[Person],
        q: &PeopleQuery,
        now: DateTime<Utc>,
        w: &Walk<'_>,
    ) -> Vec<Person> {
        let key_sort = if q.sort != PeopleSort::Label && w.columns == key_columns(q.sort) {
            q.sort
        } else {
            PeopleSort::Name
        };
        let eq = equal_filters(q);
        let range = q.search_folded().map(|s| prefix_range(&s));
        let mut rows: Vec<(Vec<KeyPart>, Person)> = all
            .iter()
            .filter(|p| {
                let due = p.expires_at.is_some_and(|e| e <= now);
                let pending = p.label == PersonLabel::Pending;
                w.status.iter().any(|t| match t {
                    StatusTest::Is(l) => p.label == *l,
                    StatusTest::PendingDue => pending && due,
                    StatusTest::PendingNotDue => pending && !due,
                })
            })
            .filter(|p| {
                eq.iter().all(|(c, v)| match *c {
                    "role" => &p.role == v,
                    "kind" => p.kind.as_str() == v,
                    "license_type" => &p.license_type == v,
                    _ => false,
                })
            })
            .filter(|p| {
                q.group
                    .as_ref()
                    .is_none_or(|g| p.groups.iter().any(|x| &x.group_id == g))
            })
            .filter(|p| {
                range.as_ref().is_none_or(|(low, high)| {
                    p.search_terms()
                        .iter()
                        .any(|t| t.as_str() >= low.as_str() && high.as_ref().is_none_or(|h| t < h))
                })
            })
            .map(|p| (sort_key(p, key_sort), p.clone()))
            .filter(|(k, _)| {
                w.after.is_none_or(|a| {
                    if q.descending {
                        k.as_slice() < a
                    } else {
                        k.as_slice() > a
                    }
                })
            })
            .collect();
        rows.sort_by(|a, b| {
            if q.descending {
                b.0.cmp(&a.0)
            } else {
                a.0.cmp(&b.0)
            }
        });
        rows.truncate(w.limit);
        rows.into_iter().map(|(_, p)| p).collect()
    }

    /// The walks core plans, run by a store that does exactly what each
    /// walk says, page as the reference scan does: every sort, direction,
    /// label set, filter and search, page after page.
    #[test]
    fn pages_by_walks_equal_the_reference_scan() {
        use PersonLabel::*;
        let all = people();
        // Pending p6 is due (expired at 60); p7 and p8 are not.
        let now = at(65);
        let sorts = [
            PeopleSort::Name,
            PeopleSort::Email,
            PeopleSort::Label,
            PeopleSort::LastActive,
            PeopleSort::Role,
            PeopleSort::Date,
        ];
        let label_sets: [&[PersonLabel]; 7] = [
            &[],
            &[Expired],
            &[Pending],
            &[Pending, Expired],
            &[Staged],
            &[Removed, Active],
            &[Active, Inactive, Pending, Expired, Staged, Removed],
        ];
        let mut pages = 0;
        for sort in sorts {
            for descending in [false, true] {
                for labels in label_sets {
                    for (search, role, group) in [
                        (None, None, None),
                        (Some("an"), None, None),
                        (None, Some("member"), None),
                        (None, None, Some(GroupId::from("grp_1".to_owned()))),
                    ] {
                        let mut q = PeopleQuery {
                            sort,
                            descending,
                            labels: labels.to_vec(),
                            search: search.map(str::to_owned),
                            role: role.map(str::to_owned),
                            group,
                            limit: 2,
                            ..PeopleQuery::default()
                        };
                        loop {
                            let want = scan_page(all.clone(), &q, now).expect("scan");
                            let got = page_by_walks(&q, now, |w| Ok(naive_walk(&all, &q, now, w)))
                                .expect("walks");
                            assert_eq!(got.items, want.items, "{q:?}");
                            assert_eq!(got.next_cursor, want.next_cursor, "{q:?}");
                            pages += 1;
                            match want.next_cursor {
                                Some(c) => q.after = Some(c),
                                None => break,
                            }
                        }
                    }
                }
            }
        }
        assert!(pages > 400, "{pages}");
    }

    #[test]
    fn status_tests_keep_exactly_the_labels_asked_for() {
        use PersonLabel::*;
        use StatusTest::*;
        assert_eq!(status_tests(&[Pending]), [PendingNotDue]);
        assert_eq!(status_tests(&[Expired]), [Is(Expired), PendingDue]);
        assert_eq!(
            status_tests(&[Pending, Expired]),
            [Is(Pending), Is(Expired)]
        );
        assert_eq!(status_tests(&[Active, Staged]), [Is(Active), Is(Staged)]);
        assert!(status_tests(&[]).is_empty());
    }

    #[test]
    fn rows_change_writes_only_what_changed() {
        let old = person(3, PersonLabel::Active, Some("Ann Lee"), "member");
        assert_eq!(rows_change(Some(&old), Some(&old)), None);
        assert_eq!(rows_change(None, None), None);
        let mut new = old.clone();
        new.name = Some("Ann Smith".into());
        new.groups.clear();
        let change = rows_change(Some(&old), Some(&new)).expect("changed");
        assert_eq!(change.terms_removed, ["ann lee"]);
        assert_eq!(change.terms_added, ["ann smith"]);
        assert_eq!(change.groups_removed, ["grp_1"]);
        assert!(change.groups_added.is_empty());
        // Leaving the view takes every derived row away.
        let gone = rows_change(Some(&old), None).expect("changed");
        assert_eq!(gone.terms_removed, old.search_terms());
        assert_eq!(gone.groups_removed, ["grp_1"]);
        assert!(gone.terms_added.is_empty() && gone.groups_added.is_empty());
        // An only-label change rewrites the person row, no derived row.
        let mut inactive = old.clone();
        inactive.label = PersonLabel::Inactive;
        assert_eq!(
            rows_change(Some(&old), Some(&inactive)),
            Some(RowsChange::default())
        );
        assert_eq!(person_row(&inactive).status, "inactive");
    }
}

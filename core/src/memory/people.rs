//! The people view of one organization, from ordered indexes kept up to
//! date on every write (as the SQL stores' `people_*` indexes are): a page
//! walks one index from its cursor and stops after the page, so it costs
//! the page, not the organization.
//!
//! The indexes of an organization are built on its first people-view
//! read ([`LazyPeople`]) and kept up to date by every member and
//! invitation write from then on; until then writes skip them, so an
//! organization whose people view is never read pays nothing for them
//! (they are about a fifth of an invitation's write).
//!
//! Each sort's keys ([`sort_key`], `pid` last) are kept in one ordered set
//! per stored label, so a walk merges the sets of the labels it asks for
//! (a rare label is found without walking everyone else); Pending and
//! Expired at `now` are decided on the rows of the stored-pending set.
//! The other filters (role, kind, license type, group) are tested on the
//! rows walked. A search reads the range of the search-term index that
//! the case-folded text is a prefix of and sorts the matches (as SQLite
//! does): its cost grows with the matches, not with the organization.

use super::state::OrgData;
use super::walk::walk as walk_set;
use crate::error::StoreError;
use crate::id::{InvitationId, MemberId};
use crate::people::{PeopleQuery, PeopleSort, Person, PersonLabel};
use crate::store::people::{
    KeyPart, StatusTest, Walk, key_columns, last_active_parts, prefix_range, sort_key, time_parts,
};
use crate::store::{StoreResult, merge_sorted};
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashSet};
use std::ops::Bound::{Excluded, Included, Unbounded};
use std::sync::{Arc, OnceLock};

/// The sorts with an index of their own, in slot order (a walk by label
/// walks the name index one label at a time).
const SORTS: [PeopleSort; 5] = [
    PeopleSort::Name,
    PeopleSort::Email,
    PeopleSort::Role,
    PeopleSort::Date,
    PeopleSort::LastActive,
];

/// Stored labels, one set per label in each sort's index.
const LABELS: usize = 6;

/// One leading part of a key. `Nil` fills the second place of the sorts
/// keyed by one column before the pid (it is equal in every key of such
/// a set, so it changes no order).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Part {
    Nil,
    Int(i64),
    Text(Arc<str>),
}

/// A sort key of the people view: two leading parts and the pid, in the
/// order of [`sort_key`] (texts compare by bytes, as `str` does).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct PeopleKey(Part, Part, Arc<str>);

impl PeopleKey {
    /// The key of a cursor's parts ([`sort_key`]'s shape), or `None` when
    /// they are not of an indexed sort's shape.
    fn from_parts(parts: &[KeyPart]) -> Option<PeopleKey> {
        let part = |k: &KeyPart| match k {
            KeyPart::Int(n) => Part::Int(*n),
            KeyPart::Text(t) => Part::Text(Arc::from(t.as_str())),
        };
        match parts {
            [a, KeyPart::Text(pid)] => Some(PeopleKey(part(a), Part::Nil, Arc::from(pid.as_str()))),
            [a, b, KeyPart::Text(pid)] => {
                Some(PeopleKey(part(a), part(b), Arc::from(pid.as_str())))
            }
            _ => None,
        }
    }
}

/// The index slot of a label (its rank, `0..LABELS`).
fn label_slot(label: PersonLabel) -> usize {
    usize::try_from(label.rank()).unwrap_or(LABELS - 1)
}

/// Everything a person puts in the indexes.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    /// The stored label's slot.
    label: usize,
    /// One key per sort of [`SORTS`].
    keys: [PeopleKey; 5],
    /// The search terms ([`Person::search_terms`]).
    terms: Vec<String>,
    pid: Arc<str>,
}

impl Entry {
    fn of(p: &Person) -> Entry {
        use Part::{Int, Nil, Text};
        let pid: Arc<str> = Arc::from(p.pid());
        let name: Arc<str> = Arc::from(p.name_key());
        let (since_s, since_ns) = time_parts(p.since);
        let (last_s, last_ns) = last_active_parts(p);
        Entry {
            label: label_slot(p.label),
            keys: [
                PeopleKey(Text(name.clone()), Nil, pid.clone()),
                PeopleKey(Text(Arc::from(p.contact_key.as_str())), Nil, pid.clone()),
                PeopleKey(Text(Arc::from(p.role.as_str())), Text(name), pid.clone()),
                PeopleKey(Int(since_s), Int(since_ns), pid.clone()),
                PeopleKey(Int(last_s), Int(last_ns), pid.clone()),
            ],
            terms: p.search_terms(),
            pid,
        }
    }
}

/// The people view's indexes of one organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct PeopleIndex {
    /// Per sort of [`SORTS`], per stored label ([`label_slot`]): the keys.
    sorts: [[BTreeSet<PeopleKey>; LABELS]; 5],
    /// `(term, pid)` for each search term of each person.
    terms: BTreeSet<(Box<str>, Arc<str>)>,
}

impl PeopleIndex {
    /// Replaces the entries of a person `old` (as stored; `None`: not in
    /// the view) by those of `new`. Nothing is written when they are the
    /// same person.
    pub(super) fn change(&mut self, old: Option<&Person>, new: Option<&Person>) {
        if old == new {
            return;
        }
        let (old, new) = (old.map(Entry::of), new.map(Entry::of));
        if old == new {
            return;
        }
        if let Some(e) = old {
            self.apply(e, false);
        }
        if let Some(e) = new {
            self.apply(e, true);
        }
    }

    fn apply(&mut self, e: Entry, add: bool) {
        for (sets, key) in self.sorts.iter_mut().zip(e.keys) {
            if let Some(set) = sets.get_mut(e.label) {
                if add {
                    set.insert(key);
                } else {
                    set.remove(&key);
                }
            }
        }
        for term in e.terms {
            let entry = (term.into_boxed_str(), e.pid.clone());
            if add {
                self.terms.insert(entry);
            } else {
                self.terms.remove(&entry);
            }
        }
    }
}

impl PeopleIndex {
    /// The indexes of everyone in `data`'s people view.
    pub(super) fn build(data: &OrgData) -> PeopleIndex {
        let mut ix = PeopleIndex::default();
        for m in data.members.values() {
            ix.change(None, Some(&Person::from_member(m)));
        }
        for inv in data.invitations.values() {
            if let Some(p) = inv.person() {
                ix.change(None, Some(&p));
            }
        }
        ix
    }
}

/// An organization's [`PeopleIndex`], built when its people view is first
/// read (concurrent readers wait for one build), then kept by every
/// write. Equal to another when either is not built yet: it is derived
/// from the rows, which the organization's equality compares.
#[derive(Clone, Debug, Default)]
pub(super) struct LazyPeople(OnceLock<PeopleIndex>);

impl PartialEq for LazyPeople {
    fn eq(&self, other: &Self) -> bool {
        match (self.0.get(), other.0.get()) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

impl Eq for LazyPeople {}

impl LazyPeople {
    /// Replaces the entries of the person `old()` by those of `new()`, if
    /// the indexes are built (the persons are not even made otherwise).
    pub(super) fn change(
        &mut self,
        old: impl FnOnce() -> Option<Person>,
        new: impl FnOnce() -> Option<Person>,
    ) {
        if let Some(ix) = self.0.get_mut() {
            ix.change(old().as_ref(), new().as_ref());
        }
    }

    /// The indexes of `data` (whose field this is), built now if needed.
    fn of<'a>(&'a self, data: &OrgData) -> &'a PeopleIndex {
        self.0.get_or_init(|| PeopleIndex::build(data))
    }

    /// The indexes, if built.
    #[cfg(test)]
    pub(super) fn built(&self) -> Option<&PeopleIndex> {
        self.0.get()
    }
}

/// The person of a pid (labelled by stored status).
fn person(data: &OrgData, pid: &str) -> StoreResult<Person> {
    let found = if let Some(id) = pid.strip_prefix("m.") {
        data.members
            .get(&MemberId::from(id))
            .map(Person::from_member)
    } else if let Some(id) = pid.strip_prefix("i.") {
        data.invitations
            .get(&InvitationId::from(id))
            .and_then(super::packed::PackedInvitation::person)
    } else {
        None
    };
    found.ok_or_else(|| StoreError::Corrupt("the people index names a missing person".to_owned()))
}

/// Whether a person as stored passes one of a walk's status tests at `now`.
fn passes(tests: &[StatusTest], p: &Person, now: DateTime<Utc>) -> bool {
    let pending = p.label == PersonLabel::Pending;
    let due = p.expires_at.is_some_and(|e| e <= now);
    tests.iter().any(|t| match t {
        StatusTest::Is(l) => p.label == *l,
        StatusTest::PendingDue => pending && due,
        StatusTest::PendingNotDue => pending && !due,
    })
}

/// One walk of a page ([`crate::store::people::page_by_walks`]): the
/// people of the organization passing the query's filters and the walk's
/// status tests, as stored, in the walk's order after its cursor, at most
/// its limit.
pub(super) fn walk(
    data: &OrgData,
    q: &PeopleQuery,
    now: DateTime<Utc>,
    w: &Walk<'_>,
) -> StoreResult<Vec<Person>> {
    let invalid = || crate::store::cursor::invalid("people");
    let people = data.people.of(data);
    let slot = SORTS
        .iter()
        .position(|s| key_columns(*s) == w.columns)
        .ok_or_else(|| StoreError::Corrupt("a people walk of no index".to_owned()))?;
    let desc = q.descending;
    let keep = |p: &Person| passes(&w.status, p, now) && q.matches_filters(p);
    let mut out = Vec::new();
    if w.limit == 0 || w.status.is_empty() {
        return Ok(out);
    }
    if let Some(search) = q.search_folded() {
        // The matches of the search, keyed and sorted.
        let (low, high) = prefix_range(&search);
        let from = Included((low.into_boxed_str(), Arc::from("")));
        let to = match high {
            Some(h) => Excluded((h.into_boxed_str(), Arc::from(""))),
            None => Unbounded,
        };
        let pids: HashSet<&Arc<str>> = people.terms.range((from, to)).map(|t| &t.1).collect();
        let key_sort = SORTS.get(slot).copied().unwrap_or_default();
        let mut rows: Vec<(Vec<KeyPart>, Person)> = Vec::new();
        for pid in pids {
            let p = person(data, pid)?;
            if !keep(&p) {
                continue;
            }
            let key = sort_key(&p, key_sort);
            let after = w.after.is_none_or(|a| {
                if desc {
                    key.as_slice() < a
                } else {
                    key.as_slice() > a
                }
            });
            if after {
                rows.push((key, p));
            }
        }
        rows.sort_by(|a, b| if desc { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
        rows.truncate(w.limit);
        return Ok(rows.into_iter().map(|(_, p)| p).collect());
    }
    let after = w
        .after
        .map(|a| PeopleKey::from_parts(a).ok_or_else(invalid))
        .transpose()?;
    // The stored labels the tests can keep, each a set walked in order.
    let mut labels: Vec<usize> = w
        .status
        .iter()
        .map(|t| match t {
            StatusTest::Is(l) => label_slot(*l),
            StatusTest::PendingDue | StatusTest::PendingNotDue => label_slot(PersonLabel::Pending),
        })
        .collect();
    labels.sort_unstable();
    labels.dedup();
    let sets = people
        .sorts
        .get(slot)
        .ok_or_else(|| StoreError::Corrupt("a people walk of no index".to_owned()))?;
    let walks = labels
        .into_iter()
        .filter_map(|l| sets.get(l))
        .map(|set| walk_set(set, after.as_ref(), desc).map(|k| Ok::<_, StoreError>((k, ()))))
        .collect();
    for row in merge_sorted(walks, desc) {
        let (key, ()) = row?;
        let p = person(data, &key.2)?;
        if keep(&p) {
            out.push(p);
            if out.len() >= w.limit {
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::{Contact, MemberKind};
    use crate::people::PersonSource;

    fn person(i: i64, label: PersonLabel, name: Option<&str>) -> Person {
        let at = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 7).unwrap_or_default();
        Person {
            org_id: crate::id::OrgId::from("org_1"),
            source: PersonSource::Member,
            member_id: Some(MemberId::from(format!("mem_{i}").as_str())),
            invitation_id: None,
            label,
            name: name.map(str::to_owned),
            first_name: name.map(str::to_owned),
            last_name: None,
            contact: Contact::Email(format!("p{i}@acme.test").into()),
            contact_key: format!("p{i}@acme.test"),
            role: "member".into(),
            groups: Vec::new(),
            license_type: "standard".into(),
            kind: MemberKind::Member,
            since: at(i),
            last_active_at: (i % 2 == 0).then(|| at(-i)),
            expires_at: None,
        }
    }

    /// The index keys order as core's sort keys, and a cursor's key is
    /// the key of the person it was made after.
    #[test]
    fn index_keys_are_the_sort_keys() {
        let people = [
            person(1, PersonLabel::Active, Some("Ann")),
            person(2, PersonLabel::Active, Some("ann")),
            person(3, PersonLabel::Inactive, None),
            person(-4, PersonLabel::Active, Some("Émile")),
        ];
        for (slot, sort) in SORTS.iter().enumerate() {
            let mut core: Vec<Vec<KeyPart>> = people.iter().map(|p| sort_key(p, *sort)).collect();
            let mut ours: Vec<PeopleKey> = people
                .iter()
                .map(|p| Entry::of(p).keys[slot].clone())
                .collect();
            for (p, k) in people.iter().zip(&ours) {
                assert_eq!(PeopleKey::from_parts(&sort_key(p, *sort)).as_ref(), Some(k));
            }
            core.sort();
            ours.sort();
            let back: Vec<PeopleKey> = core
                .iter()
                .filter_map(|k| PeopleKey::from_parts(k))
                .collect();
            assert_eq!(back, ours, "{sort:?}");
        }
    }

    #[test]
    fn an_unchanged_person_writes_nothing_and_a_change_leaves_no_trace() {
        let mut ix = PeopleIndex::default();
        let p = person(1, PersonLabel::Active, Some("Ann"));
        ix.change(None, Some(&p));
        let once = ix.clone();
        ix.change(Some(&p), Some(&p));
        assert_eq!(ix, once);
        let mut q = p.clone();
        q.label = PersonLabel::Inactive;
        q.name = Some("Bo".into());
        ix.change(Some(&p), Some(&q));
        ix.change(Some(&q), None);
        assert_eq!(ix, PeopleIndex::default());
    }
}

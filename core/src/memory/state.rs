//! The state of a MemoryStore: entities and their indexes, and the undo
//! log's entries.

use super::log::Log;
use super::packed::{PackedInvitation, PackedMessage, PackedReport, SupersededParts};
use super::people::LazyPeople;
use crate::event::Event;
use crate::group::Group;
use crate::id::{BatchId, GroupId, InvitationId, LinkId, MemberId, MessageId, OrgId};
use crate::invitation::InvitationStatus;
use crate::link::StoredInviteLink;
use crate::member::{Member, MemberStatus};
use crate::organization::Organization;
use crate::outbox::OutboxStatus;
use crate::people::Person;
use crate::secret::SecretHash;
use crate::store::inbox::PersonKey;
use crate::template::{EmailSettings, EmailTemplate};
use crate::text::Text;
use chrono::{DateTime, Utc};
use enlist_huge_pages::HugePages;
use hashbrown::hash_map::Entry;
use std::borrow::Borrow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::hash::Hash;
use std::sync::Arc;

/// A hash map for the point look-ups (by id, by secret hash, by contact or
/// recipient key): one probe, whatever the size of the organization, where
/// a tree of a million string keys compares some twenty keys, each a cache
/// miss. The seed is random per map (foldhash, as for a paste's keys), so
/// a caller choosing keys cannot aim at collisions, which would cost time,
/// never a wrong answer. A table of 2 MiB or more (30,000 to 60,000 entries) is
/// mapped in huge pages ([`HugePages`], ADR 0022): a probe of a table of a
/// million then costs a cache miss, not also a page-table walk.
pub(super) type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState, HugePages>;

/// `(contact_key, member id)`: the sort key of members. The contact key
/// is shared by the member's sets and its table row (a copy is a count,
/// not an allocation), and keeps its head (see [`Headed`]).
pub(super) type MemberKey = (Headed<Arc<str>>, MemberId);
/// `(time, invitation id)`: the sort key of invitations (by creation or by
/// expiry, depending on the set).
pub(super) type InvitationKey = TimeKey<InvitationId>;
/// `(time, message id)`: the sort key of messages (by creation or by next
/// attempt, depending on the set).
pub(super) type MessageKey = TimeKey<MessageId>;

/// How many bytes of a text a sort key keeps beside it ([`Headed`],
/// [`TimeKey`]): an id's prefix (`inv_`), its twelve digits of time and
/// four random ones; most of an email address.
pub(super) const HEAD: usize = 20;

/// The first [`HEAD`] bytes of `text`, padded with zeros, as big-endian
/// integers (bytes 0-7, 8-15, 16-19): compared as integers, in that
/// order, they order as the bytes do, in three comparisons.
fn head_of(text: &str) -> (u64, u64, u32) {
    let mut b = [0u8; 24];
    let n = text.len().min(HEAD);
    b[..n].copy_from_slice(&text.as_bytes()[..n]);
    let be = |at: usize| u64::from_be_bytes(std::array::from_fn(|k| b[at + k]));
    // Bytes 16-19: the top half of the third word (its low half is zero).
    let [c0, c1, c2, c3, ..] = be(16).to_be_bytes();
    (be(0), be(8), u32::from_be_bytes([c0, c1, c2, c3]))
}

/// Text in an ordered set, ordered as the text is, with its first
/// [`HEAD`] bytes kept beside it and compared first.
///
/// A search in a set compares a dozen keys; comparing texts reads each
/// behind its pointer, a cache miss a key once the set is cold (the
/// largest cost of an accept among a million pending invitations, where
/// a batch's keys share their time and differ only in their ids). Most
/// pairs of ids and email addresses differ within their first [`HEAD`]
/// bytes; the text is read only when the heads tie.
///
/// The order is the text's: the head is the text's first bytes padded
/// with zeros, so where two heads differ, the first byte that differs is
/// one of the texts' own, or a zero past the end of the shorter text
/// (which the text's order puts first too); where the heads tie, the
/// texts decide. `Eq` agrees, the head being made from the text.
///
/// The head's three parts are fields of their own, here and in
/// [`TimeKey`], so that the key is as small as its parts allow (a key
/// of three levels of structs is padded at each).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Headed<T> {
    head_0: u64,
    head_1: u64,
    head_2: u32,
    /// The text.
    pub(super) text: T,
}

impl<T: AsRef<str>> Headed<T> {
    /// `text` with its head.
    pub(super) fn new(text: T) -> Self {
        let (head_0, head_1, head_2) = head_of(text.as_ref());
        Self {
            head_0,
            head_1,
            head_2,
            text,
        }
    }
}

/// A key of the time-ordered sets: a time, then an id, ordered as the
/// pair `(at, id)` is (the id by its text), flat in four words before
/// the id (48 bytes).
///
/// A set's search compares a dozen keys at each of its levels, and the
/// keys a batch adds share their time and most of their ids' heads (an
/// engine id starts with its millisecond): comparing `(at, head, id)`
/// field by field took six comparisons a key (the date, the second, the
/// nanosecond, three parts of the head) before the part that differs.
/// Here the time's seconds are one word, its nanoseconds share the next
/// with the head's first four bytes, and the head's other sixteen fill
/// two more: four comparisons, each of a word.
///
/// The order is `(at, id)`'s: the seconds' sign bit flipped orders them
/// as the signed seconds, the nanoseconds (under 2^31, a leap second's
/// too) then order times of one second, and the head, the text's first
/// [`HEAD`] bytes padded with zeros as big-endian words, orders as
/// [`Headed`] shows; where the heads tie, the texts decide.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct TimeKey<I> {
    /// The time's seconds since the epoch, with the sign bit flipped.
    secs: u64,
    /// The time's nanoseconds (top half) and the id's bytes 0-3.
    nanos_head: u64,
    /// The id's bytes 4-11, then 12-19.
    head_1: u64,
    head_2: u64,
    /// The id.
    pub(super) id: I,
}

/// Flips the sign bit of a time's seconds: as unsigned words, they then
/// order as the signed seconds do.
const SIGN: u64 = 1 << 63;

impl<I: AsRef<str>> TimeKey<I> {
    /// The key of `id` at `at`.
    pub(super) fn new(at: DateTime<Utc>, id: I) -> Self {
        let mut b = [0u8; HEAD];
        let text = id.as_ref().as_bytes();
        let n = text.len().min(HEAD);
        b[..n].copy_from_slice(&text[..n]);
        let word = |at: usize| u64::from_be_bytes(std::array::from_fn(|k| b[at + k]));
        let first = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        Self {
            secs: at.timestamp().cast_unsigned() ^ SIGN,
            nanos_head: (u64::from(at.timestamp_subsec_nanos()) << 32) | u64::from(first),
            head_1: word(4),
            head_2: word(12),
            id,
        }
    }
}

impl<I> TimeKey<I> {
    /// The time.
    pub(super) fn at(&self) -> DateTime<Utc> {
        let secs = (self.secs ^ SIGN).cast_signed();
        // The top half: what `new` put there, under 2^31.
        let nanos = u32::try_from(self.nanos_head >> 32).unwrap_or(u32::MAX);
        // Made from a time in `new`, so a time again.
        DateTime::from_timestamp(secs, nanos).unwrap_or_default()
    }
}

/// Everything the store holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct State {
    /// One shard per organization.
    pub(super) orgs: HashMap<OrgId, OrgData>,
    /// Every outbox message, by id (boxed, as the entities of a [`Table`]).
    pub(super) outbox: HashMap<MessageId, Box<PackedMessage>>,
    /// Every organization with queued messages, by the earliest next
    /// attempt among them: the entry to its own due set
    /// ([`OrgData::due_outbox`]). Across organizations, due messages are
    /// merged from those sets ([`State::due_outbox_all`]); a global set of
    /// every message was one more cold search among a million for each
    /// message queued or retired.
    pub(super) due_outbox_orgs: BTreeSet<(DateTime<Utc>, OrgId)>,
    /// Every organization with stored-pending invitations with an expiry,
    /// by the earliest expiry among them ([`InvitationIndexes::due`];
    /// [`State::due_invitations_all`]), for the same reason.
    pub(super) due_invitation_orgs: BTreeSet<(DateTime<Utc>, OrgId)>,
    /// The event feed: at index `position - 1`, the organization and `seq`
    /// of the event at `position` (from 1). Writers run one at a time, so
    /// position order is commit order; a rolled-back event's position was
    /// never seen by anyone.
    pub(super) feed: Log<(OrgId, u64)>,
    /// For each purged organization, the feed's length when it was purged
    /// (the last time): its feed entries before that are the purged
    /// events'. An organization made again under the same id numbers its
    /// events from 1, and without this its new events would also show at
    /// the old entries' positions, before cursors already handed out.
    pub(super) feed_purged: HashMap<OrgId, usize>,
    /// Every organization by slug (the uniqueness rule).
    pub(super) slugs: BTreeMap<String, OrgId>,
    /// Organizations not deleted by slug: the list of all organizations.
    pub(super) listed: BTreeMap<String, OrgId>,
    /// The same by `(lowercased name, slug)`: the name side of the list's
    /// prefix search.
    pub(super) listed_names: BTreeSet<(String, String)>,
    /// Non-removed members with a `user_ref`, by `(user_ref, org)`: the
    /// organizations of an account (the account with its head: a map
    /// of every organization's members, searched at every join). The
    /// account's text is shared with its organization's `by_user_ref`.
    pub(super) accounts: BTreeMap<(Headed<Arc<str>>, OrgId), MemberId>,
    /// Stored-pending invitations of every organization by recipient key,
    /// each list in `(created_at, org, id)` order (the invitee's inbox).
    /// A hash look-up then a short list: the inbox of one person costs the
    /// same among a million pending invitations as among a thousand.
    /// The key's text is the invitation's own `recipient_key`, shared
    /// with the organization's `open_by_recipient` entry ([`key_text`]).
    pub(super) by_recipient: HashMap<Arc<str>, Few<PersonKey>>,
    /// The same, by `user_ref`, for the invitations bound to an account.
    pub(super) by_account: HashMap<Arc<str>, Few<PersonKey>>,
    /// The organization holding each verified domain.
    pub(super) verified_domains: BTreeMap<String, OrgId>,
    /// The undo log's allocation, kept between transactions.
    pub(super) spare_undo: SpareUndo,
}

/// The allocation of the last write transaction's undo log, emptied, for
/// the next one: a batch of 100 invitations logs some 400 writes, and a log
/// grown from empty in every transaction reallocated (and copied) itself
/// six times a batch. Not part of the state: a copy of the state starts
/// without one, and any two states compare equal here.
#[derive(Default)]
pub(super) struct SpareUndo(Vec<Undo>);

/// The most entries a kept log may have room for (about 220 KiB): the log
/// of a larger transaction (an import) is freed, not kept.
const SPARE_UNDO_MAX: usize = 4096;

impl SpareUndo {
    /// An empty undo log: the kept allocation, or a small new one.
    pub(super) fn take(&mut self) -> Vec<Undo> {
        let log = std::mem::take(&mut self.0);
        if log.capacity() == 0 {
            // An accept logs four writes: room for them without growing.
            Vec::with_capacity(8)
        } else {
            log
        }
    }

    /// Keeps `log`'s allocation for the next transaction; `log` is empty.
    pub(super) fn keep(&mut self, log: Vec<Undo>) {
        debug_assert!(log.is_empty(), "only an emptied log is kept");
        if log.is_empty() && (self.0.capacity()..=SPARE_UNDO_MAX).contains(&log.capacity()) {
            self.0 = log;
        }
    }
}

impl Clone for SpareUndo {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for SpareUndo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for SpareUndo {}

impl std::fmt::Debug for SpareUndo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpareUndo")
            .field("capacity", &self.0.capacity())
            .finish()
    }
}

/// A short sorted list that holds its usual one element in place: an
/// invitation's queued emails (one, or a few while a resend waits) and a
/// person's inbox (one invitation, or a few). Each was a `Vec`, a small
/// allocation per invitation issued and a cold read behind a pointer at
/// each accept, in maps of a million. Two lists are equal when their
/// elements are, however they are held.
#[derive(Clone, Debug)]
pub(super) enum Few<T> {
    /// One element, in place.
    One(T),
    /// Any number, none included.
    Many(Vec<T>),
}

impl<T> Few<T> {
    /// The elements, in order.
    pub(super) fn as_slice(&self) -> &[T] {
        match self {
            Few::One(t) => std::slice::from_ref(t),
            Few::Many(v) => v,
        }
    }

    /// Whether the list is empty.
    pub(super) fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }

    /// Inserts `t` at `i` (at most the length), as `Vec::insert`.
    pub(super) fn insert(&mut self, i: usize, t: T) {
        match self {
            Few::Many(v) if v.is_empty() => *self = Few::One(t),
            Few::Many(v) => v.insert(i, t),
            Few::One(_) => {
                let Few::One(first) = std::mem::replace(self, Few::Many(Vec::new())) else {
                    return;
                };
                *self = Few::Many(if i == 0 {
                    vec![t, first]
                } else {
                    vec![first, t]
                });
            }
        }
    }

    /// Removes the element at `i` (within the length), as `Vec::remove`.
    pub(super) fn remove(&mut self, i: usize) {
        match self {
            Few::One(_) => *self = Few::Many(Vec::new()),
            Few::Many(v) => {
                v.remove(i);
            }
        }
    }
}

impl<T> IntoIterator for Few<T> {
    type Item = T;
    type IntoIter = std::iter::Chain<std::option::IntoIter<T>, std::vec::IntoIter<T>>;

    /// The elements, in order, by value: the one in place, or the list's.
    fn into_iter(self) -> Self::IntoIter {
        let (one, many) = match self {
            Few::One(t) => (Some(t), Vec::new()),
            Few::Many(v) => (None, v),
        };
        one.into_iter().chain(many)
    }
}

impl<T: PartialEq> PartialEq for Few<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Eq> Eq for Few<T> {}

/// The text of an invitation's recipient key as an index key: the
/// invitation's own, shared (the organization's open invitation by
/// recipient and the inbox list hold the text the invitation holds; no
/// copy).
fn key_text(inv: &PackedInvitation) -> Arc<str> {
    Arc::from(inv.recipient_key.clone())
}

/// Adds or removes a stored-pending invitation in the inbox lists of its
/// recipient key (a new list keyed by the invitation's own text) and
/// account.
pub(super) fn index_person(
    by_recipient: &mut HashMap<Arc<str>, Few<PersonKey>>,
    by_account: &mut HashMap<Arc<str>, Few<PersonKey>>,
    inv: &PackedInvitation,
    add: bool,
) {
    if inv.status != InvitationStatus::Pending {
        return;
    }
    let apply =
        |map: &mut HashMap<Arc<str>, Few<PersonKey>>, person: &str, text: &dyn Fn() -> Arc<str>| {
            // Compared as borrowed parts: a removal copies nothing.
            let probe = (inv.created_at, inv.org_id.as_str(), inv.id.as_str());
            let cmp = |k: &PersonKey| (k.0, k.1.as_str(), k.2.as_str()).cmp(&probe);
            let key = || (inv.created_at, inv.org_id.clone(), inv.id.clone());
            toggle_listed(map, person, text, cmp, key, add);
        };
    apply(by_recipient, &inv.recipient_key, &|| key_text(inv));
    if let Some(u) = inv.user_ref() {
        apply(by_account, u, &|| Arc::from(u));
    }
}

/// Ids of entities kept in another map, listed (to visit them all) in the
/// order they were first stored.
///
/// A set of ids nothing looks up, only walks: a list appended to, where a
/// hash set hashed each id and grew by rehashing every one (its organization's
/// queued emails, a new one with every invitation issued, issue 15). An id
/// leaves it only when its entity leaves the organization (a rollback, a
/// purge, a message moved), found from the end, where a rollback's and a
/// purge's are. Compared as a set: two lists of the same ids are equal.
#[derive(Clone, Debug)]
pub(super) struct StoredIds<T>(Vec<T>);

impl<T> Default for StoredIds<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: PartialEq> StoredIds<T> {
    pub(super) fn push(&mut self, id: T) {
        self.0.push(id);
    }

    /// Removes `id` (the last of its copies, if any).
    pub(super) fn remove(&mut self, id: &T) {
        if let Some(i) = self.0.iter().rposition(|x| x == id) {
            self.0.remove(i);
        }
    }

    #[cfg(test)]
    pub(super) fn contains(&self, id: &T) -> bool {
        self.0.contains(id)
    }

    /// The ids, the last stored first.
    pub(super) fn newest_first(&self) -> impl Iterator<Item = &T> {
        self.0.iter().rev()
    }
}

impl<T: Ord> PartialEq for StoredIds<T> {
    fn eq(&self, other: &Self) -> bool {
        fn sorted<T: Ord>(v: &[T]) -> Vec<&T> {
            let mut refs: Vec<&T> = v.iter().collect();
            refs.sort_unstable();
            refs
        }
        self.0.len() == other.0.len() && sorted(&self.0) == sorted(&other.0)
    }
}

impl<T: Ord> Eq for StoredIds<T> {}

/// The shard of one organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct OrgData {
    pub(super) organization: Option<Organization>,
    /// Stored with `member_count` 0; the count is derived on read.
    pub(super) groups: BTreeMap<GroupId, Group>,
    /// Members in `(contact_key, id)` order, so that a page reads
    /// neighbouring entries.
    pub(super) members: Table<Headed<Arc<str>>, MemberId, Member>,
    pub(super) member_ix: MemberIndexes,
    /// Invitations in `(created_at, id)` order.
    pub(super) invitations: Table<DateTime<Utc>, InvitationId, PackedInvitation>,
    pub(super) invitation_ix: InvitationIndexes,
    /// The people view's ordered indexes (members and the invitations in
    /// the view).
    pub(super) people: LazyPeople,
    /// Invitation links by id (the default one is [`LinkId::DEFAULT`]).
    pub(super) links: BTreeMap<LinkId, StoredInviteLink>,
    /// `events.get(i).seq == i + 1`.
    pub(super) events: Log<Event>,
    /// The queued messages of an invitation that it does not hold itself,
    /// by id: a stored invitation holds its queued message with the
    /// smallest id ([`PackedInvitation::queued`]), so this lists the others
    /// of one with several (a resend waiting beside the first) and every
    /// queued message of an invitation not stored in the organization.
    /// Usually empty. Where an entry is depends on nothing but the entries
    /// and the invitations stored ([`queue_toggle`]), so that a rolled-back
    /// or rebuilt store equals the one before.
    ///
    /// Every queued message was listed here, a map of a million in an
    /// organization whose emails wait: an insertion among them for every
    /// invitation issued, a removal at every accept (issue 15).
    pub(super) queued_outbox: HashMap<InvitationId, Few<MessageId>>,
    /// Queued messages by `(next_attempt_at, id)`.
    pub(super) due_outbox: DueSet<MessageId>,
    /// Failed messages (the dead letters) by `(created_at, id)`.
    pub(super) failed_outbox: BTreeSet<MessageKey>,
    pub(super) email_settings: Option<EmailSettings>,
    /// Email templates by locale tag.
    pub(super) email_templates: BTreeMap<String, EmailTemplate>,
    /// Batch reports by batch id.
    pub(super) batch_reports: BTreeMap<BatchId, PackedReport>,
    /// Every outbox message of the organization, whatever its status (to
    /// purge them).
    pub(super) outbox_ids: StoredIds<MessageId>,
    /// Domain claims by domain.
    pub(super) domains: BTreeMap<String, crate::domain::StoredDomain>,
    /// Membership requests by id.
    pub(super) requests: BTreeMap<crate::id::MembershipRequestId, crate::domain::MembershipRequest>,
}

/// Entities by id (one hash probe), each with its sort key: the list
/// orders are the indexes' (per status, per batch, per role...), which
/// hold `(sort key, id)` and find the entity here. An entity is never
/// copied to be read: look-ups borrow it, and a write whose sort key is
/// unchanged replaces the value in place.
///
/// The table keeps no ordered set of its own: nothing walks a whole table
/// in order, and one was a search and an insertion among a million for
/// every invitation issued (issue 15).
#[derive(Clone, Debug)]
pub(super) struct Table<S, I, V> {
    /// Each entity with its sort key, boxed: the table's slots stay small
    /// (an id and a pointer), so growing a table of a million entities
    /// moves megabytes, not the entities.
    pub(super) rows: HashMap<I, Box<(S, V)>>,
}

impl<S: PartialEq, I: Hash + Eq, V: PartialEq> PartialEq for Table<S, I, V> {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows
    }
}

impl<S: Eq, I: Hash + Eq, V: Eq> Eq for Table<S, I, V> {}

impl<S, I, V> Default for Table<S, I, V> {
    fn default() -> Self {
        Self {
            rows: HashMap::default(),
        }
    }
}

impl<S: PartialEq, I: Hash + Eq + Clone, V> Table<S, I, V> {
    /// An entity by id.
    pub(super) fn get(&self, id: &I) -> Option<&V> {
        self.rows.get(id).map(|row| &row.1)
    }

    /// An entity by id, with its sort key.
    pub(super) fn get_row(&self, id: &I) -> Option<(&S, &V)> {
        self.rows.get(id).map(|row| (&row.0, &row.1))
    }

    /// An entity by its sort key and id (an index entry).
    pub(super) fn get_sorted(&self, sort: &S, id: &I) -> Option<&V> {
        self.rows
            .get(id)
            .filter(|row| row.0 == *sort)
            .map(|row| &row.1)
    }

    /// Removes an entity by id.
    pub(super) fn remove(&mut self, id: &I) -> Option<V> {
        self.rows.remove(id).map(|row| row.1)
    }

    /// Sets the entity `id` (sorted by `sort`), returning the previous one.
    pub(super) fn replace(&mut self, sort: S, id: &I, value: V) -> Option<V> {
        if let Some(row) = self.rows.get_mut(id) {
            return Some(std::mem::replace(&mut **row, (sort, value)).1);
        }
        self.rows.insert(id.clone(), Box::new((sort, value)));
        None
    }

    /// An entity by id, to change in place (not its sort key).
    pub(super) fn get_mut(&mut self, id: &I) -> Option<&mut V> {
        self.rows.get_mut(id).map(|row| &mut row.1)
    }

    /// [`Self::replace`], with `keep(old, new)` called first when there is
    /// an old entity (one probe).
    pub(super) fn replace_keeping(
        &mut self,
        sort: S,
        id: &I,
        mut value: V,
        keep: impl FnOnce(&mut V, &mut V),
    ) -> Option<V> {
        if let Some(row) = self.rows.get_mut(id) {
            keep(&mut row.1, &mut value);
            return Some(std::mem::replace(&mut **row, (sort, value)).1);
        }
        self.rows.insert(id.clone(), Box::new((sort, value)));
        None
    }

    /// Every entity, in no particular order.
    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.rows.values().map(|row| &row.1)
    }

    /// Every id, in no particular order.
    pub(super) fn ids(&self) -> impl Iterator<Item = &I> {
        self.rows.keys()
    }
}

/// Ordered member keys, one set per [`MemberStatus`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ByStatus([BTreeSet<MemberKey>; 3]);

impl ByStatus {
    pub(super) fn set(&self, status: MemberStatus) -> &BTreeSet<MemberKey> {
        &self.0[member_slot(status)]
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.iter().all(BTreeSet::is_empty)
    }

    /// Members with any of these statuses.
    pub(super) fn len_of(&self, statuses: &[MemberStatus]) -> usize {
        statuses.iter().map(|s| self.set(*s).len()).sum()
    }

    /// Non-removed members.
    pub(super) fn live(&self) -> u64 {
        as_u64(self.len_of(&[MemberStatus::Active, MemberStatus::Inactive]))
    }

    pub(super) fn apply(&mut self, status: MemberStatus, key: &MemberKey, add: bool) {
        toggle(&mut self.0[member_slot(status)], key, add);
    }
}

pub(super) fn member_slot(status: MemberStatus) -> usize {
    match status {
        MemberStatus::Active => 0,
        MemberStatus::Inactive => 1,
        MemberStatus::Removed => 2,
    }
}

pub(super) fn invitation_slot(status: InvitationStatus) -> usize {
    match status {
        InvitationStatus::Staged => 0,
        InvitationStatus::Pending => 1,
        InvitationStatus::Accepted => 2,
        InvitationStatus::Declined => 3,
        InvitationStatus::Revoked => 4,
        InvitationStatus::Expired => 5,
    }
}

/// Everything derived from an organization's members.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct MemberIndexes {
    /// Non-removed members by contact key (the text shared with the
    /// member's sort key).
    pub(super) by_contact: HashMap<Arc<str>, MemberId>,
    /// Non-removed members by host account id (the text shared with
    /// the account's entry in `State::accounts`).
    pub(super) by_user_ref: HashMap<Arc<str>, MemberId>,
    /// Every member.
    pub(super) all: ByStatus,
    /// Members per role.
    pub(super) by_role: BTreeMap<Text, ByStatus>,
    /// Members per group.
    pub(super) by_group: BTreeMap<GroupId, ByStatus>,
    /// Active members per license type (never 0: absent instead).
    pub(super) active_seats: BTreeMap<String, u64>,
}

impl MemberIndexes {
    /// Adds (or removes) every index entry and count of `m`, whose sort
    /// key is `key`; an entry by contact added shares the sort key's
    /// text, one by account `account`'s (when given: the text the
    /// account's other index holds).
    pub(super) fn apply(
        &mut self,
        m: &Member,
        key: &MemberKey,
        account: Option<&Arc<str>>,
        add: bool,
    ) {
        if m.status != MemberStatus::Removed {
            let contact = || Arc::clone(&key.0.text);
            set_unique(
                &mut self.by_contact,
                m.contact_key.as_str(),
                contact,
                &m.id,
                add,
            );
            if let Some(user_ref) = &m.user_ref {
                let text = || account.map_or_else(|| Arc::from(user_ref.as_str()), Arc::clone);
                set_unique(&mut self.by_user_ref, user_ref.as_str(), text, &m.id, add);
            }
        }
        self.all.apply(m.status, key, add);
        apply_keyed(&mut self.by_role, &m.role, m.status, key, add);
        // Each group once (a member may hold a group twice, as member and
        // owner); no set to build for the usual one group or none.
        if let [only] = m.groups.as_slice() {
            apply_keyed(&mut self.by_group, &only.group_id, m.status, key, add);
        } else {
            let groups: BTreeSet<&GroupId> = m.groups.iter().map(|g| &g.group_id).collect();
            for group in groups {
                apply_keyed(&mut self.by_group, group, m.status, key, add);
            }
        }
        if m.holds_seat() {
            bump(&mut self.active_seats, &m.license_type, add);
        }
    }
}

/// Everything derived from an organization's invitations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct InvitationIndexes {
    /// Invitations by current secret hash (unique).
    pub(super) by_secret: HashMap<SecretHash, InvitationId>,
    /// Open (stored staged or pending) invitations by recipient key
    /// (unique; the invitation's own key text, shared with the inbox
    /// list's key, [`key_text`]).
    pub(super) open_by_recipient: HashMap<Arc<str>, InvitationId>,
    /// `(created_at, id)` per stored status.
    pub(super) by_status: [BTreeSet<InvitationKey>; 6],
    /// `(created_at, id)` per batch.
    pub(super) by_batch: HashMap<BatchId, BTreeSet<InvitationKey>>,
    /// Open invitations per license type (never 0: absent instead).
    pub(super) open_seats: BTreeMap<String, u64>,
    /// Stored-pending invitations by `(expires_at, id)`.
    pub(super) due: DueSet<InvitationId>,
}

impl InvitationIndexes {
    /// Adds (or removes) every index entry and count of `inv` in its shard.
    pub(super) fn apply(&mut self, inv: &PackedInvitation, add: bool) {
        self.apply_secret(inv, add);
        self.apply_open(inv, add);
        self.apply_status(inv, add);
        self.apply_batch(inv, add);
        self.apply_due(inv, add);
    }

    /// Replaces the entries and counts of `old` by those of `new` (the
    /// same invitation, stored before and after a write), touching only
    /// the indexes whose entry changed: an accept changes the status, so
    /// the secret and batch entries, one cold hash probe and one ordered
    /// set each among a million, stay as they are. The result is what
    /// `apply(old, false)` then `apply(new, true)` gives (each index is
    /// keyed by its own fields); a new entry by recipient is keyed by the
    /// new invitation's own key text.
    pub(super) fn update(&mut self, old: &PackedInvitation, new: &PackedInvitation) {
        debug_assert_eq!(old.id, new.id, "one invitation before and after");
        if old.lookup_hash() != new.lookup_hash() {
            self.apply_secret(old, false);
            self.apply_secret(new, true);
        }
        if open_key(old) != open_key(new) {
            self.apply_open(old, false);
            self.apply_open(new, true);
        }
        if (old.status, old.created_at) != (new.status, new.created_at) {
            self.apply_status(old, false);
            self.apply_status(new, true);
        }
        if (&old.batch_id, old.created_at) != (&new.batch_id, new.created_at) {
            self.apply_batch(old, false);
            self.apply_batch(new, true);
        }
        if due_at(old) != due_at(new) {
            self.apply_due(old, false);
            self.apply_due(new, true);
        }
    }

    fn apply_secret(&mut self, inv: &PackedInvitation, add: bool) {
        if let Some(hash) = inv.lookup_hash() {
            set_unique(&mut self.by_secret, hash, || *hash, &inv.id, add);
        }
    }

    fn apply_open(&mut self, inv: &PackedInvitation, add: bool) {
        if inv.status.is_open() {
            set_unique(
                &mut self.open_by_recipient,
                inv.recipient_key.as_str(),
                || key_text(inv),
                &inv.id,
                add,
            );
            bump(&mut self.open_seats, &inv.license_type, add);
        }
    }

    fn apply_status(&mut self, inv: &PackedInvitation, add: bool) {
        toggle_owned(
            &mut self.by_status[invitation_slot(inv.status)],
            TimeKey::new(inv.created_at, inv.id.clone()),
            add,
        );
    }

    fn apply_batch(&mut self, inv: &PackedInvitation, add: bool) {
        let key = TimeKey::new(inv.created_at, inv.id.clone());
        if add {
            match self.by_batch.get_mut(&inv.batch_id) {
                Some(set) => {
                    set.insert(key);
                }
                None => {
                    self.by_batch
                        .insert(inv.batch_id.clone(), BTreeSet::from([key]));
                }
            }
        } else if let Some(set) = self.by_batch.get_mut(&inv.batch_id) {
            set.remove(&key);
            if set.is_empty() {
                self.by_batch.remove(&inv.batch_id);
            }
        }
    }

    fn apply_due(&mut self, inv: &PackedInvitation, add: bool) {
        if let Some(at) = due_at(inv) {
            self.due.toggle(TimeKey::new(at, inv.id.clone()), add);
        }
    }
}

/// What an invitation's entries in the open indexes (by recipient, seats)
/// depend on: `None` when it has none.
fn open_key(inv: &PackedInvitation) -> Option<(&str, &str)> {
    inv.status
        .is_open()
        .then(|| (inv.recipient_key.as_str(), inv.license_type.as_str()))
}

/// What an invitation's entries in the inbox lists depend on: `None` when
/// it has none (not stored pending).
fn person_index_key(inv: &PackedInvitation) -> Option<(DateTime<Utc>, &str, Option<&str>)> {
    (inv.status == InvitationStatus::Pending)
        .then(|| (inv.created_at, inv.recipient_key.as_str(), inv.user_ref()))
}

/// [`State::replace_invitation`] within the shard `data` and the indexes
/// by person across organizations; the organization's place among those
/// with due invitations is the caller's.
fn replace_invitation_in(
    data: &mut OrgData,
    by_recipient: &mut HashMap<Arc<str>, Few<PersonKey>>,
    by_account: &mut HashMap<Arc<str>, Few<PersonKey>>,
    id: &InvitationId,
    new: Option<PackedInvitation>,
) -> Option<PackedInvitation> {
    data.people.change(
        || data.invitations.get(id).and_then(PackedInvitation::person),
        || new.as_ref().and_then(PackedInvitation::person),
    );
    let prev = data.invitations.get(id);
    let Some(mut n) = new else {
        if let Some(p) = prev {
            data.invitation_ix.apply(p, false);
            index_person(by_recipient, by_account, p, false);
        }
        let mut gone = data.invitations.remove(id)?;
        // Its queued message is listed apart once it is not stored.
        if let Some(q) = gone.queued.take() {
            list_queued(&mut data.queued_outbox, id, q, true);
        }
        return Some(gone);
    };
    match prev {
        // A write of a stored invitation: only the entries that change
        // (each index is a cold structure among a million invitations).
        Some(p) => {
            data.invitation_ix.update(p, &n);
            if person_index_key(p) != person_index_key(&n) {
                index_person(by_recipient, by_account, p, false);
                index_person(by_recipient, by_account, &n, true);
            }
        }
        None => {
            index_person(by_recipient, by_account, &n, true);
            data.invitation_ix.apply(&n, true);
            // Stored now: it holds the smallest of the queued messages
            // listed for it while it was not (whatever `new` held).
            n.queued = first_listed(&mut data.queued_outbox, id);
        }
    }
    // A write of a stored invitation keeps the queued message it holds.
    data.invitations
        .replace_keeping(n.created_at, id, n, |old, new| {
            new.queued = old.queued.take()
        })
}

/// Offers `key` to `kept`, the `limit` smallest keys seen (a max-heap):
/// whether it was kept. Keys offered in ascending order, so a key not kept
/// means no later one of the same walk would be.
fn keep<K: Ord>(kept: &mut BinaryHeap<K>, key: K, limit: usize) -> bool {
    if kept.len() < limit {
        kept.push(key);
        return true;
    }
    match kept.peek() {
        Some(top) if key < *top => {
            kept.pop();
            kept.push(key);
            true
        }
        _ => false,
    }
}

/// A due set: `(time, id)` keys read earliest first, held newest first.
///
/// Keys are added in time order almost always (an invitation's expiry, a
/// message's next attempt: now plus a fixed time), so each lands after
/// every key already held. A B-tree finds that place by comparing against
/// every key of each node on its way down (some sixty comparisons among a
/// million keys); held newest first, the place is each node's first, one
/// comparison a level. Removals and reads cost what they did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct DueSet<K>(BTreeSet<Reverse<TimeKey<K>>>);

impl<K> Default for DueSet<K> {
    fn default() -> Self {
        Self(BTreeSet::new())
    }
}

impl<K: Ord> DueSet<K> {
    /// Inserts (`add`) or removes `key`.
    pub(super) fn toggle(&mut self, key: TimeKey<K>, add: bool) {
        toggle_owned(&mut self.0, Reverse(key), add);
    }

    /// Removes `key`, and gives it back.
    pub(super) fn remove(&mut self, key: TimeKey<K>) -> TimeKey<K> {
        let key = Reverse(key);
        self.0.remove(&key);
        key.0
    }

    /// The earliest key.
    pub(super) fn first(&self) -> Option<&TimeKey<K>> {
        self.0.last().map(|k| &k.0)
    }

    /// The keys, earliest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = &TimeKey<K>> {
        self.0.iter().rev().map(|k| &k.0)
    }
}

/// The first time of a due set.
pub(super) fn first_time<K: Ord>(set: &DueSet<K>) -> Option<DateTime<Utc>> {
    set.first().map(TimeKey::at)
}

/// The first time of a due set as its key holds it: compared as it is,
/// made a time only when it changed ([`keep_first_due`]). Every write of
/// a due set asks before and after; making a time from its seconds
/// costs a division by the day and a calendar's arithmetic.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct FirstDue {
    secs: u64,
    nanos_head: u64,
}

impl FirstDue {
    /// The first key's time, held as the key holds it.
    pub(super) fn of<K: Ord>(set: &DueSet<K>) -> Option<Self> {
        set.first().map(|k| Self {
            secs: k.secs,
            nanos_head: k.nanos_head,
        })
    }

    /// The time's own parts: the seconds, and the nanoseconds without
    /// the id's head beside them.
    fn at_key(self) -> (u64, u64) {
        (self.secs, self.nanos_head >> 32)
    }

    fn at(self) -> DateTime<Utc> {
        TimeKey {
            secs: self.secs,
            nanos_head: self.nanos_head,
            head_1: 0,
            head_2: 0,
            id: (),
        }
        .at()
    }
}

/// Keeps `org`'s entry among the organizations with due entries
/// (`orgs`, by their earliest time) right after a change of its due set,
/// whose first time was `before` and is `after`. Checking the first entry
/// of a set walks its leftmost path, which every write of the set keeps
/// warm; the organizations' set changes only when that time does.
pub(super) fn keep_first_due(
    orgs: &mut BTreeSet<(DateTime<Utc>, OrgId)>,
    org: &OrgId,
    before: Option<FirstDue>,
    after: Option<FirstDue>,
) {
    // The same time (the id's head beside it may differ: the time alone
    // is the organization's place).
    if before.map(|b| b.at_key()) == after.map(|a| a.at_key()) {
        return;
    }
    if let Some(at) = before {
        orgs.remove(&(at.at(), org.clone()));
    }
    if let Some(at) = after {
        orgs.insert((at.at(), org.clone()));
    }
}

/// When a stored invitation becomes due for expiry, if it is pending.
pub(super) fn due_at(inv: &PackedInvitation) -> Option<DateTime<Utc>> {
    if inv.status == InvitationStatus::Pending {
        inv.expires_at
    } else {
        None
    }
}

/// Inserts or removes `key` in `set`.
pub(super) fn toggle<T: Ord + Clone>(set: &mut BTreeSet<T>, key: &T, add: bool) {
    if add {
        set.insert(key.clone());
    } else {
        set.remove(key);
    }
}

/// [`toggle`] with a key made for the call: moved into the set, not
/// copied (an id's copy is a count on its shared text, taken and dropped).
pub(super) fn toggle_owned<T: Ord>(set: &mut BTreeSet<T>, key: T, add: bool) {
    if add {
        set.insert(key);
    } else {
        set.remove(&key);
    }
}

/// Points `key` at `id` in a uniqueness index (a new entry's key made by
/// `owned`, only when one is needed), or removes it if it points at `id`.
pub(super) fn set_unique<K, Q, V>(
    map: &mut HashMap<K, V>,
    key: &Q,
    owned: impl FnOnce() -> K,
    id: &V,
    add: bool,
) where
    K: Borrow<Q> + Hash + Eq,
    Q: Hash + Eq + ?Sized,
    V: PartialEq + Clone,
{
    if add {
        // One hash and one probe: a new key (the usual add) was a look-up,
        // then an insertion that hashed and probed again.
        match map.entry(owned()) {
            Entry::Occupied(mut e) => {
                if e.get() != id {
                    e.insert(id.clone());
                }
            }
            Entry::Vacant(e) => {
                e.insert(id.clone());
            }
        }
    } else if let Some((k, v)) = map.remove_entry(key) {
        // Taken out and put back only when another id holds the key: one
        // probe for the usual removal.
        if &v != id {
            map.insert(k, v);
        }
    }
}

/// Adds `item()` to the sorted short list of `key` in `map` (made, its
/// key by `owned`, for a first element), or removes the element `search`
/// finds there (the list dropped with its last element). A removal takes
/// the list out and puts it back only when elements stay: one probe for
/// the usual one.
fn toggle_listed<K, Q, T>(
    map: &mut HashMap<K, Few<T>>,
    key: &Q,
    owned: impl FnOnce() -> K,
    mut search: impl FnMut(&T) -> std::cmp::Ordering,
    item: impl FnOnce() -> T,
    add: bool,
) where
    K: Borrow<Q> + Hash + Eq,
    Q: Hash + Eq + ?Sized,
{
    if add {
        // One hash and one probe, as in `set_unique`.
        match map.entry(owned()) {
            Entry::Occupied(mut e) => {
                let list = e.get_mut();
                if let Err(i) = list.as_slice().binary_search_by(&mut search) {
                    list.insert(i, item());
                }
            }
            Entry::Vacant(e) => {
                e.insert(Few::One(item()));
            }
        }
    } else if let Some((k, mut list)) = map.remove_entry(key) {
        if let Ok(i) = list.as_slice().binary_search_by(search) {
            list.remove(i);
        }
        if !list.is_empty() {
            map.insert(k, list);
        }
    }
}

/// A member's account, if it is live (not removed): what the indexes by
/// account hold.
fn live_account(m: &Member) -> Option<&str> {
    m.user_ref
        .as_deref()
        .filter(|_| m.status != MemberStatus::Removed)
}

/// Adds or removes a member key in the per-status sets under `k`, dropping
/// the entry once it is empty (so that an undone write leaves no trace).
pub(super) fn apply_keyed<K: Ord + Clone>(
    map: &mut BTreeMap<K, ByStatus>,
    k: &K,
    status: MemberStatus,
    key: &MemberKey,
    add: bool,
) {
    if add {
        // The key is copied only for a new entry.
        match map.get_mut(k) {
            Some(ix) => ix.apply(status, key, true),
            None => {
                let mut ix = ByStatus::default();
                ix.apply(status, key, true);
                map.insert(k.clone(), ix);
            }
        }
    } else if let Some(ix) = map.get_mut(k) {
        ix.apply(status, key, false);
        if ix.is_empty() {
            map.remove(k);
        }
    }
}

/// Adds or subtracts one in a counter map, dropping zeros.
pub(super) fn bump(map: &mut BTreeMap<String, u64>, key: &str, add: bool) {
    if add {
        match map.get_mut(key) {
            Some(n) => *n = n.saturating_add(1),
            None => {
                map.insert(key.to_owned(), 1);
            }
        }
    } else if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

pub(super) fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Adds (or removes) a message's entries in the due set, queue and
/// failed set of its organization's shard `data`, and the organization's
/// place among those with due messages.
fn index_outbox(
    data: &mut OrgData,
    due_outbox_orgs: &mut BTreeSet<(DateTime<Utc>, OrgId)>,
    msg: &PackedMessage,
    add: bool,
) {
    if msg.status == OutboxStatus::Failed {
        toggle_owned(
            &mut data.failed_outbox,
            TimeKey::new(msg.created_at, msg.id.clone()),
            add,
        );
        return;
    }
    if msg.status != OutboxStatus::Queued {
        return;
    }
    let first = FirstDue::of(&data.due_outbox);
    data.due_outbox
        .toggle(TimeKey::new(msg.next_attempt_at, msg.id.clone()), add);
    keep_first_due(
        due_outbox_orgs,
        &msg.org_id,
        first,
        FirstDue::of(&data.due_outbox),
    );
    queue_toggle(data, &msg.invitation_id, &msg.id, add);
}

impl OrgData {
    /// The ids of `invitation`'s queued messages (from the queue index:
    /// the one it holds, then those listed apart), by id.
    pub(super) fn queued_ids<'a>(
        &'a self,
        invitation: &InvitationId,
    ) -> impl Iterator<Item = &'a MessageId> + 'a {
        let held = self
            .invitations
            .get(invitation)
            .and_then(|i| i.queued.as_ref());
        let listed = if self.queued_outbox.is_empty() {
            None
        } else {
            self.queued_outbox.get(invitation)
        };
        held.into_iter()
            .chain(listed.into_iter().flat_map(Few::as_slice))
    }
}

/// Adds (or removes) queued message `id` of `invitation` in the queue
/// index of its organization: on the invitation if it is stored there and
/// `id` is the smallest of its queued messages, else in
/// [`OrgData::queued_outbox`].
fn queue_toggle(data: &mut OrgData, invitation: &InvitationId, id: &MessageId, add: bool) {
    let OrgData {
        invitations,
        queued_outbox,
        ..
    } = data;
    let Some(held) = invitations.get_mut(invitation).map(|inv| &mut inv.queued) else {
        list_queued(queued_outbox, invitation, id.clone(), add);
        return;
    };
    match held {
        Some(h) if h == id => {
            if !add {
                // The next smallest, if any, takes its place.
                *held = first_listed(queued_outbox, invitation);
            }
        }
        Some(h) if add && id < h => {
            let before = std::mem::replace(h, id.clone());
            list_queued(queued_outbox, invitation, before, true);
        }
        None if add => *held = Some(id.clone()),
        _ => list_queued(queued_outbox, invitation, id.clone(), add),
    }
}

/// Adds (or removes) `id` in the list of `invitation`'s queued messages
/// kept apart from it.
fn list_queued(
    map: &mut HashMap<InvitationId, Few<MessageId>>,
    invitation: &InvitationId,
    id: MessageId,
    add: bool,
) {
    toggle_listed(
        map,
        invitation,
        || invitation.clone(),
        |listed| listed.cmp(&id),
        || id.clone(),
        add,
    );
}

/// Takes the smallest of `invitation`'s queued messages kept apart from it
/// out of their list (the list goes once empty).
fn first_listed(
    map: &mut HashMap<InvitationId, Few<MessageId>>,
    invitation: &InvitationId,
) -> Option<MessageId> {
    if map.is_empty() {
        return None;
    }
    let list = map.get_mut(invitation)?;
    let first = list.as_slice().first()?.clone();
    list.remove(0);
    if list.is_empty() {
        map.remove(invitation);
    }
    Some(first)
}

impl State {
    /// The shard of `org`, created if missing. Writers call
    /// [`MemoryTx::ensure_org`] first so that the creation is undone.
    pub(super) fn org_mut(&mut self, org: &OrgId) -> &mut OrgData {
        // One probe: the id is shared text, so the key given to `entry`
        // costs a count, not a copy.
        self.orgs.entry(org.clone()).or_default()
    }

    /// Sets (or removes) a member, keeping its indexes; returns the previous
    /// value. The previous value is unindexed where it lies, then replaced
    /// in place (or moved, when its sort key changed): never copied.
    pub(super) fn replace_member(
        &mut self,
        org: &OrgId,
        id: &MemberId,
        new: Option<Member>,
    ) -> Option<Member> {
        if new.is_none() && !self.orgs.contains_key(org) {
            return None;
        }
        self.org_mut(org);
        let State { orgs, accounts, .. } = self;
        let data = orgs.get_mut(org)?;
        data.people.change(
            || data.members.get(id).map(Person::from_member),
            || new.as_ref().map(Person::from_member),
        );
        if let Some((sort, p)) = data.members.get_row(id) {
            // The account's text as its indexes hold it, read before they
            // drop it: the key of its entry among the accounts.
            let account = live_account(p).map(|r| {
                data.member_ix
                    .by_user_ref
                    .get_key_value(r)
                    .map_or_else(|| Arc::from(r), |(text, _)| Arc::clone(text))
            });
            data.member_ix
                .apply(p, &(sort.clone(), id.clone()), None, false);
            if let Some(text) = account {
                let key = (Headed::new(text), org.clone());
                // Put back only when another member holds the entry.
                if let Some(other) = accounts.remove(&key) {
                    if &other != id {
                        accounts.insert(key, other);
                    }
                }
            }
        }
        let Some(n) = new else {
            return data.members.remove(id);
        };
        // One text for the account's two indexes, one for the contact's
        // (the sort key's).
        let account = live_account(&n).map(Arc::<str>::from);
        if let Some(text) = &account {
            accounts.insert((Headed::new(Arc::clone(text)), org.clone()), id.clone());
        }
        let sort = Headed::new(Arc::<str>::from(n.contact_key.as_str()));
        data.member_ix
            .apply(&n, &(sort.clone(), id.clone()), account.as_ref(), true);
        data.members.replace(sort, id, n)
    }

    /// Sets (or removes) an organization, keeping the slug indexes;
    /// returns the previous value.
    pub(super) fn replace_organization(
        &mut self,
        org: &OrgId,
        new: Option<Organization>,
    ) -> Option<Organization> {
        if new.is_none() && !self.orgs.contains_key(org) {
            return None;
        }
        let prev = match new.clone() {
            Some(n) => self.org_mut(org).organization.replace(n),
            None => self.org_mut(org).organization.take(),
        };
        if let Some(p) = &prev {
            if self.slugs.get(&p.slug) == Some(org) {
                self.slugs.remove(&p.slug);
            }
            if self.listed.get(&p.slug) == Some(org) {
                self.listed.remove(&p.slug);
                self.listed_names
                    .remove(&(p.name.to_lowercase(), p.slug.clone()));
            }
        }
        if let Some(n) = new.as_ref().filter(|n| !n.slug.is_empty()) {
            self.slugs.insert(n.slug.clone(), org.clone());
            if !n.is_deleted() {
                self.listed.insert(n.slug.clone(), org.clone());
                self.listed_names
                    .insert((n.name.to_lowercase(), n.slug.clone()));
            }
        }
        prev
    }

    /// Sets (or removes) an invitation, keeping its indexes (including the
    /// organization's place among those with due invitations); returns the
    /// previous value. As for members, the previous value is unindexed
    /// where it lies and replaced in place.
    pub(super) fn replace_invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
        new: Option<PackedInvitation>,
    ) -> Option<PackedInvitation> {
        if new.is_none() && !self.orgs.contains_key(org) {
            return None;
        }
        self.org_mut(org);
        let State {
            orgs,
            due_invitation_orgs,
            by_recipient,
            by_account,
            ..
        } = self;
        let data = orgs.get_mut(org)?;
        let first = FirstDue::of(&data.invitation_ix.due);
        let prev = replace_invitation_in(data, by_recipient, by_account, id, new);
        keep_first_due(
            due_invitation_orgs,
            org,
            first,
            FirstDue::of(&data.invitation_ix.due),
        );
        prev
    }

    /// The first `limit` due invitations (stored pending, expiring at or
    /// before `now`) of every organization, in `(expiry, organization,
    /// id)` order: merged from the organizations' due sets, visited by
    /// their earliest expiry. Once `limit` are kept, an organization whose
    /// earliest `(expiry, organization)` comes after the last kept one has
    /// nothing to add, and neither has any after it: at most `limit + 1`
    /// organizations are read, each for at most `limit` entries.
    pub(super) fn due_invitations_all(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Vec<(&OrgId, &InvitationId)> {
        let mut kept: BinaryHeap<(DateTime<Utc>, &OrgId, &InvitationId)> = BinaryHeap::new();
        for (first, org) in &self.due_invitation_orgs {
            if *first > now || limit == 0 {
                break;
            }
            if kept.len() == limit
                && kept
                    .peek()
                    .is_some_and(|(at, o, _)| (*first, org) > (*at, *o))
            {
                break;
            }
            let Some(data) = self.orgs.get(org) else {
                continue;
            };
            for key in data
                .invitation_ix
                .due
                .iter()
                .take_while(|key| key.at() <= now)
            {
                if !keep(&mut kept, (key.at(), org, &key.id), limit) {
                    break;
                }
            }
        }
        kept.into_sorted_vec()
            .into_iter()
            .map(|(_, org, id)| (org, id))
            .collect()
    }

    /// The first `limit` queued messages due at or before `now` of every
    /// organization, in `(next attempt, id)` order, merged as
    /// [`State::due_invitations_all`] merges (an organization whose
    /// earliest time is after the last kept one's has nothing to add).
    /// Ties go by id across organizations, so every organization whose
    /// earliest time equals the last kept one's is read too: many only
    /// where many organizations queued messages at the same nanosecond
    /// (a manual clock), and then one entry or a few each.
    pub(super) fn due_outbox_all(&self, now: DateTime<Utc>, limit: usize) -> Vec<&MessageId> {
        let mut kept: BinaryHeap<(DateTime<Utc>, &MessageId)> = BinaryHeap::new();
        for (first, org) in &self.due_outbox_orgs {
            if *first > now || limit == 0 {
                break;
            }
            if kept.len() == limit && kept.peek().is_some_and(|(at, _)| first > at) {
                break;
            }
            let Some(data) = self.orgs.get(org) else {
                continue;
            };
            for key in data.due_outbox.iter().take_while(|key| key.at() <= now) {
                if !keep(&mut kept, (key.at(), &key.id), limit) {
                    break;
                }
            }
        }
        kept.into_sorted_vec()
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }

    /// Sets (or removes) an outbox message, keeping its indexes; returns the
    /// previous value.
    pub(super) fn replace_outbox(
        &mut self,
        id: &MessageId,
        new: Option<PackedMessage>,
    ) -> Option<PackedMessage> {
        let State {
            outbox,
            orgs,
            due_outbox_orgs,
            ..
        } = self;
        let Some(n) = new else {
            let prev = outbox.remove(id).map(|b| *b);
            if let Some(p) = &prev {
                if let Some(data) = orgs.get_mut(&p.org_id) {
                    index_outbox(data, due_outbox_orgs, p, false);
                    data.outbox_ids.remove(id);
                }
            }
            return prev;
        };
        // One probe of the outbox (a map of every message): the new value
        // takes the slot, the previous one comes back out of it.
        let (stored, prev) = match outbox.entry(id.clone()) {
            Entry::Vacant(slot) => (&**slot.insert(Box::new(n)), None),
            Entry::Occupied(slot) => {
                let stored = slot.into_mut();
                let prev = std::mem::replace(&mut **stored, n);
                (&**stored, Some(prev))
            }
        };
        if let Some(p) = prev.as_ref().filter(|p| p.org_id != stored.org_id) {
            if let Some(data) = orgs.get_mut(&p.org_id) {
                index_outbox(data, due_outbox_orgs, p, false);
                data.outbox_ids.remove(id);
            }
        }
        // One probe of the organizations for the rest.
        let data = orgs.entry(stored.org_id.clone()).or_default();
        match prev.as_ref().filter(|p| p.org_id == stored.org_id) {
            Some(p) => index_outbox(data, due_outbox_orgs, p, false),
            None => data.outbox_ids.push(id.clone()),
        }
        index_outbox(data, due_outbox_orgs, stored, true);
        prev
    }

    /// Applies one undo entry.
    pub(super) fn revert(&mut self, undo: Undo) {
        match undo {
            Undo::OrgCreated(org) => {
                self.orgs.remove(&org);
            }
            Undo::Organization(org, prev) => {
                if self.orgs.contains_key(&org) {
                    self.replace_organization(&org, prev.map(|b| *b));
                }
            }
            Undo::Shard(org, data) => {
                self.orgs.insert(org, *data);
            }
            Undo::FeedPurged(org, prev) => {
                match prev {
                    Some(cut) => self.feed_purged.insert(org, cut),
                    None => self.feed_purged.remove(&org),
                };
            }
            Undo::Group(org, id, prev) => {
                if let Some(data) = self.orgs.get_mut(&org) {
                    match prev {
                        Some(g) => data.groups.insert(id, *g),
                        None => data.groups.remove(&id),
                    };
                }
            }
            Undo::Member(org, id, prev) => {
                self.replace_member(&org, &id, prev.map(|b| *b));
            }
            Undo::Invitation(org, id, prev) => {
                self.replace_invitation(&org, &id, prev.map(|b| *b));
            }
            Undo::Link(org, id, prev) => {
                if let Some(data) = self.orgs.get_mut(&org) {
                    match prev {
                        Some(l) => data.links.insert(id, *l),
                        None => data.links.remove(&id),
                    };
                }
            }
            Undo::EmailSettings(org, prev) => {
                if let Some(data) = self.orgs.get_mut(&org) {
                    data.email_settings = prev.map(|b| *b);
                }
            }
            Undo::EmailTemplate(org, locale, prev) => {
                if let Some(data) = self.orgs.get_mut(&org) {
                    match prev {
                        Some(t) => {
                            data.email_templates.insert(locale, *t);
                        }
                        None => {
                            data.email_templates.remove(&locale);
                        }
                    }
                }
            }
            Undo::BatchReport(org, id, prev) => {
                if let Some(data) = self.orgs.get_mut(&org) {
                    match prev {
                        Some(r) => {
                            data.batch_reports.insert(id, *r);
                        }
                        None => {
                            data.batch_reports.remove(&id);
                        }
                    }
                }
            }
            Undo::Event(org) => {
                if let Some(data) = self.orgs.get_mut(&org) {
                    data.events.pop();
                }
                self.feed.pop();
            }
            Undo::Outbox(id, prev) => {
                self.replace_outbox(&id, prev.map(|b| *b));
            }
            Undo::OutboxSuperseded(id, before) => {
                // Rare (a rollback): a copy, put back through the path that
                // indexes it.
                if let Some(m) = self.outbox.get(&id) {
                    let mut m = PackedMessage::clone(m);
                    m.restore(*before);
                    self.replace_outbox(&id, Some(m));
                }
            }
            Undo::Domain(org, domain, prev) => {
                self.replace_domain(&org, &domain, prev.map(|b| *b));
            }
            Undo::Request(org, id, prev) => {
                self.replace_request(&org, &id, prev.map(|b| *b));
            }
        }
    }
}

/// One entry of the undo log: how to put one key back as it was.
#[derive(Debug)]
pub(super) enum Undo {
    /// The shard was created by this transaction: remove it.
    OrgCreated(OrgId),
    /// The organization was purged: its earlier cut of the feed, if any
    /// ([`State::feed_purged`]).
    FeedPurged(OrgId, Option<usize>),
    Organization(OrgId, Option<Box<Organization>>),
    Group(OrgId, GroupId, Option<Box<Group>>),
    Member(OrgId, MemberId, Option<Box<Member>>),
    Invitation(OrgId, InvitationId, Option<Box<PackedInvitation>>),
    Link(OrgId, LinkId, Option<Box<StoredInviteLink>>),
    /// An event was appended: pop it.
    Event(OrgId),
    Outbox(MessageId, Option<Box<PackedMessage>>),
    /// A queued message was superseded in place
    /// (`supersede_queued_messages`): what it was before.
    OutboxSuperseded(MessageId, Box<SupersededParts>),
    EmailSettings(OrgId, Option<Box<EmailSettings>>),
    EmailTemplate(OrgId, String, Option<Box<EmailTemplate>>),
    BatchReport(OrgId, BatchId, Option<Box<PackedReport>>),
    /// The rest of a purged shard (its entities with indexes outside the
    /// shard are logged one by one before it): put it back.
    Shard(OrgId, Box<OrgData>),
    Domain(OrgId, String, Option<Box<crate::domain::StoredDomain>>),
    Request(
        OrgId,
        crate::id::MembershipRequestId,
        Option<Box<crate::domain::MembershipRequest>>,
    ),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Ids' texts that stress the head: short, empty, with zeros and
    /// bytes past ASCII, sharing long prefixes, of any length around
    /// [`HEAD`].
    fn id_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a\\x00\\x{e9}_]{0,24}",
            "inv_0123456789ab[0-9a-f]{0,12}",
            "inv_0123456789ab012[0-9a-f\\x00]{0,4}",
            any::<String>(),
        ]
    }

    proptest! {
        /// A key orders and compares as the pair `(at, id)` it stands for.
        #[test]
        fn a_time_key_orders_as_its_time_and_id_text(
            a in id_text(),
            b in id_text(),
            (ta, tb) in (time(), time()),
        ) {
            // The key gives its time back as it was.
            prop_assert_eq!(TimeKey::new(ta, InvitationId::from(a.as_str())).at(), ta);
            let (ka, kb) = (
                TimeKey::new(ta, InvitationId::from(a.as_str())),
                TimeKey::new(tb, InvitationId::from(b.as_str())),
            );
            prop_assert_eq!(ka.cmp(&kb), (ta, a.as_str()).cmp(&(tb, b.as_str())));
            prop_assert_eq!(ka == kb, (ta, &a) == (tb, &b));
            // The same text, another copy: equal.
            prop_assert_eq!(TimeKey::new(ta, InvitationId::from(a.as_str())), ka);
            // And a text with its head alone, as a member's contact key.
            let (ha, hb) = (Headed::new(Arc::<str>::from(a.as_str())), Headed::new(Arc::<str>::from(b.as_str())));
            prop_assert_eq!(ha.cmp(&hb), a.cmp(&b));
            prop_assert_eq!(ha == hb, a == b);
        }
    }

    proptest! {
        /// A `Few` holds what a sorted `Vec` holds through any inserts and
        /// removals, and equals another with the same elements however
        /// each holds them.
        #[test]
        fn a_few_is_a_sorted_vec(ops in proptest::collection::vec((any::<bool>(), 0u8..6), 0..40)) {
            let (mut few, mut vec) = (Few::Many(Vec::new()), Vec::new());
            for (add, x) in ops {
                match (add, vec.binary_search(&x)) {
                    (true, Err(i)) => {
                        vec.insert(i, x);
                        few.insert(i, x);
                    }
                    (false, Ok(i)) => {
                        vec.remove(i);
                        few.remove(i);
                    }
                    _ => {}
                }
                prop_assert_eq!(few.as_slice(), vec.as_slice());
                prop_assert_eq!(few.is_empty(), vec.is_empty());
                prop_assert_eq!(&few, &Few::Many(vec.clone()));
                prop_assert_eq!(few.clone().into_iter().collect::<Vec<_>>(), vec.clone());
            }
        }
    }

    #[test]
    fn a_few_holds_one_element_in_place() {
        let mut few = Few::Many(Vec::new());
        few.insert(0, 7);
        assert!(matches!(few, Few::One(7)));
        few.insert(0, 3);
        assert_eq!(few.as_slice(), &[3, 7]);
        assert_eq!(Few::One(7), Few::Many(vec![7]));
        let mut one = Few::One(7);
        one.remove(0);
        assert!(one.is_empty());
        assert_eq!(one, Few::Many(Vec::new()));
    }

    /// Times near one another (a second apart, a nanosecond apart, in a
    /// leap second) and at both ends of the range and of the epoch.
    fn time() -> impl Strategy<Value = DateTime<Utc>> {
        prop_oneof![
            (0i64..3, 0u32..3).prop_map(|(s, n)| {
                DateTime::from_timestamp(1_700_000_000 + s, n).unwrap_or_default()
            }),
            // A leap second: the nanoseconds run past a billion in the
            // last second of a minute.
            (0u32..3).prop_map(|n| {
                DateTime::from_timestamp(1_700_000_039, 1_000_000_000 + n).unwrap_or_default()
            }),
            (-3i64..3).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or_default()),
            Just(DateTime::<Utc>::MIN_UTC),
            Just(DateTime::<Utc>::MAX_UTC),
        ]
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn keys_are_as_small_as_their_parts() {
        // A time and a head in four words, and a shared id (16): one key
        // of 48 bytes in every ordered set of a million.
        assert_eq!(std::mem::size_of::<InvitationKey>(), 48);
        assert_eq!(std::mem::size_of::<Headed<Arc<str>>>(), 40);
    }

    #[test]
    fn a_leap_second_orders_between_its_minute_and_the_next() {
        let at = |s, n| DateTime::from_timestamp(s, n).expect("a time");
        let (before, leap, after) = (
            at(1_700_000_039, 999_999_999),
            at(1_700_000_039, 1_000_000_000),
            at(1_700_000_040, 0),
        );
        let key = |t| TimeKey::new(t, InvitationId::from("inv_a"));
        assert!(key(before) < key(leap) && key(leap) < key(after));
        assert_eq!(key(leap).at(), leap);
        assert_eq!(key(leap).at().timestamp_subsec_nanos(), 1_000_000_000);
    }

    #[test]
    fn ids_that_differ_past_the_head_are_told_apart_by_their_text() {
        let at = t(0);
        let stem = "inv_0123456789ab0123";
        assert_eq!(stem.len(), HEAD);
        let (a, b) = (format!("{stem}a"), format!("{stem}b"));
        let (ka, kb) = (
            TimeKey::new(at, MessageId::from(a.as_str())),
            TimeKey::new(at, MessageId::from(b.as_str())),
        );
        assert!(ka < kb);
        // A text that ends where another has a zero byte comes first, as
        // the text orders: the padding does not tie them for good.
        let (short, zero) = ("inv_1".to_owned(), "inv_1\0".to_owned());
        let (ks, kz) = (
            TimeKey::new(at, MessageId::from(short.as_str())),
            TimeKey::new(at, MessageId::from(zero.as_str())),
        );
        assert!(ks < kz && short < zero);
        assert_ne!(ks, kz);
    }

    #[test]
    fn stored_ids_leave_from_the_end_and_compare_as_sets() {
        let mut a = StoredIds::default();
        for id in ["m1", "m2", "m3"] {
            a.push(id);
        }
        let mut b = StoredIds::default();
        for id in ["m3", "m1", "m2"] {
            b.push(id);
        }
        assert_eq!(a, b, "the same ids in another order");
        b.push("m2");
        assert_ne!(a, b, "one more copy is another list");
        b.remove(&"m2");
        assert_eq!(a, b);
        a.remove(&"m9");
        assert_eq!(
            a.newest_first().copied().collect::<Vec<_>>(),
            ["m3", "m2", "m1"]
        );
        a.remove(&"m2");
        assert!(!a.contains(&"m2") && a.contains(&"m1") && a.contains(&"m3"));
        assert_ne!(a, b);
    }

    #[test]
    fn an_emptied_undo_log_is_kept_for_the_next_transaction_up_to_a_bound() {
        let mut spare = SpareUndo::default();
        // Nothing kept yet: a small new log.
        let mut log = spare.take();
        assert!(log.is_empty() && log.capacity() >= 8);
        for _ in 0..400 {
            log.push(Undo::Event(OrgId::from("org_1")));
        }
        let room = log.capacity();
        log.clear();
        spare.keep(log);
        // The next transaction starts with that room, and empty.
        let log = spare.take();
        assert!(log.is_empty());
        assert_eq!(log.capacity(), room);
        // A read's log (no room) does not replace a kept one.
        spare.keep(log);
        spare.keep(Vec::new());
        assert_eq!(spare.take().capacity(), room);
        // A log larger than the bound is freed, not kept.
        spare.keep(Vec::with_capacity(SPARE_UNDO_MAX + 1));
        assert_eq!(spare.take().capacity(), 8);
        // A copy of the state starts without one, and compares equal.
        let mut state = State::default();
        state.spare_undo.keep(Vec::with_capacity(64));
        let copy = state.clone();
        assert_eq!(copy.spare_undo.0.capacity(), 0);
        assert_eq!(copy, state);
    }
}

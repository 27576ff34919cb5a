//! The in-memory store: a [`Store`] kept in process memory, for tests,
//! examples, demos and single-process deployments that can afford to lose
//! everything on restart.
//!
//! # Transactions: one at a time, with an undo log
//!
//! [`MemoryStore::begin`](Store::begin) takes the store's one mutex and the
//! returned transaction holds the guard until it is committed or dropped, so
//! transactions run strictly one after another (serializable by
//! construction; [`StoreError::Conflict`] never happens). That is the right
//! trade-off here: every operation is a few in-memory map look-ups
//! (microseconds), so the lock is held only as long as the engine's command
//! takes, and nothing ever waits on I/O while holding it.
//!
//! Writes are applied to the live state at once, so reads in the same
//! transaction see them. Each write also records an entry in an **undo
//! log**: the previous value of the key it touched (or "absent"), at the
//! level of whole entities (a member, an invitation, a message...).
//! [`Transaction::commit`] throws the log away. Dropping a transaction
//! without committing (an error, an early return, or a panic unwinding
//! through the engine) replays the log backwards, writing each previous
//! value back through the same code path that maintains the indexes. As
//! every index entry and every counter is a pure function of the entities,
//! restoring the entities that way restores the indexes and counters exactly
//! too. Nothing is ever cloned per transaction except the entities written;
//! a write costs `O(log n)`.
//!
//! The mutex is taken with `unwrap_or_else(|e| e.into_inner())`: a panic
//! inside a transaction unwinds through the transaction's `Drop`, which rolls
//! back before the guard is released (and the mutex poisoned), so the data
//! behind a poisoned mutex is consistent. A thread that calls `begin` while
//! it already holds a transaction of the same store gets
//! [`StoreError::Unavailable`] instead of deadlocking.
//!
//! # Indexes
//!
//! Everything of an organization lives in one shard keyed by its id (like a
//! database sharded by organization). In a shard:
//!
//! - entities: the organization itself, its invitation link, groups by id,
//!   events in a `Vec` (`seq` = position + 1); members and invitations are
//!   stored in list order, `(contact_key, id)` and `(created_at, id)`, with a
//!   locator from id to that key, so that a page fetches neighbouring entries
//!   (cache-friendly) instead of a million-entry tree's random ones;
//! - members: non-removed ones by contact key and by `user_ref` (the
//!   uniqueness rules), and ordered sets of `(contact_key, id)` split by
//!   status, for all members, per role, and per group. [`list_members`]
//!   picks the smallest applicable set (all / role / group), walks it from
//!   the cursor (merging the status sets asked for), and stops one match
//!   after the page. A page costs `O(log n)` plus the entries examined,
//!   which is the page size when the chosen index serves every filter but
//!   `search` (the status, and the role or the group). Group member counts
//!   and active members per role are the lengths of those sets; active
//!   seats per license type are a counter;
//! - invitations: by secret hash and open ones by recipient key (both
//!   unique), ordered sets of `(created_at, id)` per stored status and per
//!   batch for [`list_invitations`] (newest first), open seats per license
//!   type, and a due set `(expires_at, id)` of stored-pending invitations.
//!   Listed invitations are returned as stored; the status filter uses
//!   [`Invitation::status_at`] `now`;
//! - outbox: the queued messages per invitation and a due set
//!   `(next_attempt_at, id)` of queued messages.
//!
//! Across organizations, the store keeps the outbox messages by id and the
//! global due sets of invitations and messages, for the background jobs.
//!
//! Page cursors are opaque: hex-encoded sort keys. A cursor the store did
//! not make is refused with [`StoreError::InvalidCursor`] (which the
//! engine reports as invalid input on field `cursor`).
//!
//! [`list_members`]: Transaction::list_members
//! [`list_invitations`]: Transaction::list_invitations

use crate::error::{StoreError, UniqueRule};
use crate::event::Event;
use crate::group::Group;
use crate::id::{BatchId, GroupId, InvitationId, MemberId, MessageId, OrgId};
use crate::invitation::{Invitation, InvitationQuery, InvitationStatus};
use crate::link::InviteLink;
use crate::member::{Member, MemberQuery, MemberSort, MemberStatus, Page};
use crate::organization::Organization;
use crate::outbox::{OutboxMessage, OutboxStatus};
use crate::secret::SecretHash;
use crate::store::cursor;
use crate::store::{SeatCount, Store, StoreResult, Transaction};
use chrono::{DateTime, Utc};
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::iter::Peekable;
use std::ops::Bound::{Excluded, Unbounded};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

/// The largest page `list_members` and `list_invitations` return.
const MAX_PAGE: u32 = 1000;

/// A [`Store`] in process memory. Cheap to create; share it as
/// `Arc<MemoryStore>` (or `Arc<dyn Store>`) between threads.
///
/// See the [module documentation](self) for the design.
#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    /// The thread holding the open transaction, to refuse a nested `begin`
    /// (which would otherwise deadlock).
    owner: Mutex<Option<ThreadId>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never lock here: the caller may hold a transaction.
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl Store for MemoryStore {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        let me = std::thread::current().id();
        if *self.owner.lock().unwrap_or_else(PoisonError::into_inner) == Some(me) {
            return Err(StoreError::Unavailable(
                "this thread already has an open transaction on this MemoryStore; \
                 commit or drop it before beginning another (a nested begin would deadlock)"
                    .to_owned(),
            ));
        }
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *self.owner.lock().unwrap_or_else(PoisonError::into_inner) = Some(me);
        Ok(Box::new(MemoryTx {
            state,
            undo: Vec::new(),
            owner: &self.owner,
        }))
    }
}

// ---------------------------------------------------------------------------
// State and indexes.

/// `(contact_key, member id)`: the sort key of members.
type MemberKey = (String, MemberId);
/// `(time, invitation id)`: the sort key of invitations (by creation or by
/// expiry, depending on the set).
type InvitationKey = (DateTime<Utc>, InvitationId);
/// `(time, message id)`: the sort key of messages (by creation or by next
/// attempt, depending on the set).
type MessageKey = (DateTime<Utc>, MessageId);

/// Everything the store holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct State {
    /// One shard per organization.
    orgs: BTreeMap<OrgId, OrgData>,
    /// Every outbox message, by id.
    outbox: BTreeMap<MessageId, OutboxMessage>,
    /// Queued messages of every organization by `(next_attempt_at, id)`.
    due_outbox: BTreeSet<MessageKey>,
    /// Stored-pending invitations with an expiry, of every organization.
    due_invitations: BTreeSet<(DateTime<Utc>, OrgId, InvitationId)>,
}

/// The shard of one organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct OrgData {
    organization: Option<Organization>,
    /// Stored with `member_count` 0; the count is derived on read.
    groups: BTreeMap<GroupId, Group>,
    /// Members in `(contact_key, id)` order, so that a page reads
    /// neighbouring entries.
    members: Table<String, MemberId, Member>,
    member_ix: MemberIndexes,
    /// Invitations in `(created_at, id)` order.
    invitations: Table<DateTime<Utc>, InvitationId, Invitation>,
    invitation_ix: InvitationIndexes,
    link: Option<InviteLink>,
    /// `events[i].seq == i + 1`.
    events: Vec<Event>,
    /// Queued messages per invitation, by `(created_at, id)`.
    queued_outbox: BTreeMap<InvitationId, BTreeSet<MessageKey>>,
    /// Queued messages by `(next_attempt_at, id)`.
    due_outbox: BTreeSet<MessageKey>,
}

/// Entities stored in their list order `(sort key, id)`, with a locator
/// from id to sort key. Pages walk an index in list order and fetch each
/// entity by its sort key: those look-ups follow neighbouring paths of the
/// tree, which stay in cache, whereas look-ups by random ids would miss the
/// cache at almost every level of a tree of a million entries.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Table<S, I, V> {
    rows: BTreeMap<(S, I), V>,
    sort_key: BTreeMap<I, S>,
}

impl<S, I, V> Default for Table<S, I, V> {
    fn default() -> Self {
        Self {
            rows: BTreeMap::new(),
            sort_key: BTreeMap::new(),
        }
    }
}

impl<S: Ord + Clone, I: Ord + Clone, V> Table<S, I, V> {
    /// An entity by id.
    fn get(&self, id: &I) -> Option<&V> {
        let sort = self.sort_key.get(id)?;
        self.rows.get(&(sort.clone(), id.clone()))
    }

    /// An entity by `(sort key, id)`.
    fn get_sorted(&self, key: &(S, I)) -> Option<&V> {
        self.rows.get(key)
    }

    /// Removes an entity by id.
    fn remove(&mut self, id: &I) -> Option<V> {
        let sort = self.sort_key.remove(id)?;
        self.rows.remove(&(sort, id.clone()))
    }

    /// Inserts an entity whose id is not in the table.
    fn insert(&mut self, sort: S, id: I, value: V) {
        self.sort_key.insert(id.clone(), sort.clone());
        self.rows.insert((sort, id), value);
    }

    #[cfg(test)]
    fn values(&self) -> impl Iterator<Item = &V> {
        self.rows.values()
    }
}

/// Ordered member keys, one set per [`MemberStatus`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ByStatus([BTreeSet<MemberKey>; 3]);

impl ByStatus {
    fn set(&self, status: MemberStatus) -> &BTreeSet<MemberKey> {
        &self.0[member_slot(status)]
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(BTreeSet::is_empty)
    }

    /// Members with any of these statuses.
    fn len_of(&self, statuses: &[MemberStatus]) -> usize {
        statuses.iter().map(|s| self.set(*s).len()).sum()
    }

    /// Non-removed members.
    fn live(&self) -> u64 {
        as_u64(self.len_of(&[MemberStatus::Active, MemberStatus::Inactive]))
    }

    fn apply(&mut self, status: MemberStatus, key: &MemberKey, add: bool) {
        toggle(&mut self.0[member_slot(status)], key, add);
    }
}

fn member_slot(status: MemberStatus) -> usize {
    match status {
        MemberStatus::Active => 0,
        MemberStatus::Inactive => 1,
        MemberStatus::Removed => 2,
    }
}

const ALL_INVITATION_STATUSES: [InvitationStatus; 6] = [
    InvitationStatus::Staged,
    InvitationStatus::Pending,
    InvitationStatus::Accepted,
    InvitationStatus::Declined,
    InvitationStatus::Revoked,
    InvitationStatus::Expired,
];

fn invitation_slot(status: InvitationStatus) -> usize {
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
struct MemberIndexes {
    /// Non-removed members by contact key.
    by_contact: BTreeMap<String, MemberId>,
    /// Non-removed members by host account id.
    by_user_ref: BTreeMap<String, MemberId>,
    /// Every member.
    all: ByStatus,
    /// Members per role.
    by_role: BTreeMap<String, ByStatus>,
    /// Members per group.
    by_group: BTreeMap<GroupId, ByStatus>,
    /// Active members per license type (never 0: absent instead).
    active_seats: BTreeMap<String, u64>,
}

impl MemberIndexes {
    /// Adds (or removes) every index entry and count of `m`.
    fn apply(&mut self, m: &Member, add: bool) {
        if m.status != MemberStatus::Removed {
            set_unique(&mut self.by_contact, m.contact_key.as_str(), &m.id, add);
            if let Some(user_ref) = &m.user_ref {
                set_unique(&mut self.by_user_ref, user_ref.as_str(), &m.id, add);
            }
        }
        let key = (m.contact_key.clone(), m.id.clone());
        self.all.apply(m.status, &key, add);
        apply_keyed(&mut self.by_role, &m.role, m.status, &key, add);
        let groups: BTreeSet<&GroupId> = m.groups.iter().map(|g| &g.group_id).collect();
        for group in groups {
            apply_keyed(&mut self.by_group, group, m.status, &key, add);
        }
        if m.holds_seat() {
            bump(&mut self.active_seats, &m.license_type, add);
        }
    }
}

/// Everything derived from an organization's invitations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct InvitationIndexes {
    /// Invitations by current secret hash (unique).
    by_secret: BTreeMap<SecretHash, InvitationId>,
    /// Open (stored staged or pending) invitations by recipient key (unique).
    open_by_recipient: BTreeMap<String, InvitationId>,
    /// `(created_at, id)` per stored status.
    by_status: [BTreeSet<InvitationKey>; 6],
    /// `(created_at, id)` per batch.
    by_batch: BTreeMap<BatchId, BTreeSet<InvitationKey>>,
    /// Open invitations per license type (never 0: absent instead).
    open_seats: BTreeMap<String, u64>,
    /// Stored-pending invitations by `(expires_at, id)`.
    due: BTreeSet<InvitationKey>,
}

impl InvitationIndexes {
    /// Adds (or removes) every index entry and count of `inv` in its shard.
    fn apply(&mut self, inv: &Invitation, add: bool) {
        if let Some(hash) = &inv.secret_hash {
            set_unique(&mut self.by_secret, hash, &inv.id, add);
        }
        if inv.status.is_open() {
            set_unique(
                &mut self.open_by_recipient,
                inv.recipient_key.as_str(),
                &inv.id,
                add,
            );
            bump(&mut self.open_seats, &inv.license_type, add);
        }
        let key = (inv.created_at, inv.id.clone());
        toggle(&mut self.by_status[invitation_slot(inv.status)], &key, add);
        if add {
            self.by_batch
                .entry(inv.batch_id.clone())
                .or_default()
                .insert(key);
        } else if let Some(set) = self.by_batch.get_mut(&inv.batch_id) {
            set.remove(&key);
            if set.is_empty() {
                self.by_batch.remove(&inv.batch_id);
            }
        }
        if let Some(at) = due_at(inv) {
            toggle(&mut self.due, &(at, inv.id.clone()), add);
        }
    }
}

/// When a stored invitation becomes due for expiry, if it is pending.
fn due_at(inv: &Invitation) -> Option<DateTime<Utc>> {
    if inv.status == InvitationStatus::Pending {
        inv.expires_at
    } else {
        None
    }
}

/// Inserts or removes `key` in `set`.
fn toggle<T: Ord + Clone>(set: &mut BTreeSet<T>, key: &T, add: bool) {
    if add {
        set.insert(key.clone());
    } else {
        set.remove(key);
    }
}

/// Points `key` at `id` in a uniqueness index, or removes it if it points at
/// `id`.
fn set_unique<K, Q, V>(map: &mut BTreeMap<K, V>, key: &Q, id: &V, add: bool)
where
    K: Borrow<Q> + Ord,
    Q: Ord + ToOwned<Owned = K> + ?Sized,
    V: PartialEq + Clone,
{
    if add {
        map.insert(key.to_owned(), id.clone());
    } else if map.get(key) == Some(id) {
        map.remove(key);
    }
}

/// Adds or removes a member key in the per-status sets under `k`, dropping
/// the entry once it is empty (so that an undone write leaves no trace).
fn apply_keyed<K: Ord + Clone>(
    map: &mut BTreeMap<K, ByStatus>,
    k: &K,
    status: MemberStatus,
    key: &MemberKey,
    add: bool,
) {
    if add {
        map.entry(k.clone()).or_default().apply(status, key, true);
    } else if let Some(ix) = map.get_mut(k) {
        ix.apply(status, key, false);
        if ix.is_empty() {
            map.remove(k);
        }
    }
}

/// Adds or subtracts one in a counter map, dropping zeros.
fn bump(map: &mut BTreeMap<String, u64>, key: &str, add: bool) {
    if add {
        let n = map.entry(key.to_owned()).or_insert(0);
        *n = n.saturating_add(1);
    } else if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl State {
    /// The shard of `org`, created if missing. Writers call
    /// [`MemoryTx::ensure_org`] first so that the creation is undone.
    fn org_mut(&mut self, org: &OrgId) -> &mut OrgData {
        self.orgs.entry(org.clone()).or_default()
    }

    /// Sets (or removes) a member, keeping its indexes; returns the previous
    /// value.
    fn replace_member(
        &mut self,
        org: &OrgId,
        id: &MemberId,
        new: Option<Member>,
    ) -> Option<Member> {
        if new.is_none() && !self.orgs.contains_key(org) {
            return None;
        }
        let data = self.org_mut(org);
        let prev = data.members.remove(id);
        if let Some(p) = &prev {
            data.member_ix.apply(p, false);
        }
        if let Some(n) = new {
            data.member_ix.apply(&n, true);
            data.members.insert(n.contact_key.clone(), id.clone(), n);
        }
        prev
    }

    /// Sets (or removes) an invitation, keeping its indexes (including the
    /// global due set); returns the previous value.
    fn replace_invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
        new: Option<Invitation>,
    ) -> Option<Invitation> {
        if new.is_none() && !self.orgs.contains_key(org) {
            return None;
        }
        let data = self.orgs.entry(org.clone()).or_default();
        let prev = data.invitations.remove(id);
        if let Some(p) = &prev {
            data.invitation_ix.apply(p, false);
            if let Some(at) = due_at(p) {
                self.due_invitations
                    .remove(&(at, org.clone(), p.id.clone()));
            }
        }
        if let Some(n) = new {
            if let Some(at) = due_at(&n) {
                self.due_invitations.insert((at, org.clone(), n.id.clone()));
            }
            let data = self.org_mut(org);
            data.invitation_ix.apply(&n, true);
            data.invitations.insert(n.created_at, id.clone(), n);
        }
        prev
    }

    /// Sets (or removes) an outbox message, keeping its indexes; returns the
    /// previous value.
    fn replace_outbox(
        &mut self,
        id: &MessageId,
        new: Option<OutboxMessage>,
    ) -> Option<OutboxMessage> {
        let prev = self.outbox.remove(id);
        if let Some(p) = &prev {
            self.index_outbox(p, false);
        }
        if let Some(n) = new {
            self.index_outbox(&n, true);
            self.outbox.insert(id.clone(), n);
        }
        prev
    }

    fn index_outbox(&mut self, msg: &OutboxMessage, add: bool) {
        if msg.status != OutboxStatus::Queued {
            return;
        }
        let due = (msg.next_attempt_at, msg.id.clone());
        toggle(&mut self.due_outbox, &due, add);
        let created = (msg.created_at, msg.id.clone());
        if add {
            let data = self.org_mut(&msg.org_id);
            data.due_outbox.insert(due);
            data.queued_outbox
                .entry(msg.invitation_id.clone())
                .or_default()
                .insert(created);
        } else if let Some(data) = self.orgs.get_mut(&msg.org_id) {
            data.due_outbox.remove(&due);
            if let Some(set) = data.queued_outbox.get_mut(&msg.invitation_id) {
                set.remove(&created);
                if set.is_empty() {
                    data.queued_outbox.remove(&msg.invitation_id);
                }
            }
        }
    }

    /// Applies one undo entry.
    fn revert(&mut self, undo: Undo) {
        match undo {
            Undo::OrgCreated(org) => {
                self.orgs.remove(&org);
            }
            Undo::Organization(org, prev) => {
                if let Some(data) = self.orgs.get_mut(&org) {
                    data.organization = prev.map(|b| *b);
                }
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
            Undo::Link(org, prev) => {
                if let Some(data) = self.orgs.get_mut(&org) {
                    data.link = prev.map(|b| *b);
                }
            }
            Undo::Event(org) => {
                if let Some(data) = self.orgs.get_mut(&org) {
                    data.events.pop();
                }
            }
            Undo::Outbox(id, prev) => {
                self.replace_outbox(&id, prev.map(|b| *b));
            }
        }
    }
}

/// One entry of the undo log: how to put one key back as it was.
#[derive(Debug)]
enum Undo {
    /// The shard was created by this transaction: remove it.
    OrgCreated(OrgId),
    Organization(OrgId, Option<Box<Organization>>),
    Group(OrgId, GroupId, Option<Box<Group>>),
    Member(OrgId, MemberId, Option<Box<Member>>),
    Invitation(OrgId, InvitationId, Option<Box<Invitation>>),
    Link(OrgId, Option<Box<InviteLink>>),
    /// An event was appended: pop it.
    Event(OrgId),
    Outbox(MessageId, Option<Box<OutboxMessage>>),
}

// ---------------------------------------------------------------------------
// Ordered walks and cursors.

/// An iterator over set elements, in either direction.
type Walk<'a, T> = Box<dyn Iterator<Item = &'a T> + 'a>;

/// Elements of `set` strictly after `after` (in the walk's direction).
fn walk<'a, T: Ord + Clone>(set: &'a BTreeSet<T>, after: Option<&T>, desc: bool) -> Walk<'a, T> {
    match (after, desc) {
        (None, false) => Box::new(set.iter()),
        (None, true) => Box::new(set.iter().rev()),
        (Some(c), false) => Box::new(set.range((Excluded(c.clone()), Unbounded))),
        (Some(c), true) => Box::new(set.range((Unbounded, Excluded(c.clone()))).rev()),
    }
}

/// Merges walks over disjoint sorted sets into one sorted walk.
struct Merge<'a, T> {
    walks: Vec<Peekable<Walk<'a, T>>>,
    desc: bool,
}

impl<'a, T: Ord> Merge<'a, T> {
    fn new(walks: Vec<Walk<'a, T>>, desc: bool) -> Self {
        Self {
            walks: walks.into_iter().map(Iterator::peekable).collect(),
            desc,
        }
    }
}

impl<'a, T: Ord> Iterator for Merge<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        let desc = self.desc;
        let mut best: Option<(usize, &'a T)> = None;
        for (i, w) in self.walks.iter_mut().enumerate() {
            if let Some(&x) = w.peek() {
                let better = match best {
                    None => true,
                    Some((_, b)) if desc => x > b,
                    Some((_, b)) => x < b,
                };
                if better {
                    best = Some((i, x));
                }
            }
        }
        let (i, _) = best?;
        self.walks.get_mut(i)?.next()
    }
}

/// Collects up to `limit` keys whose entity passes `keep`, looking one match
/// ahead to know whether a next page exists.
fn collect_page<'a, K: 'a, V: Clone + 'a>(
    keys: impl Iterator<Item = &'a K>,
    lookup: impl Fn(&K) -> Option<&'a V>,
    keep: impl Fn(&V) -> bool,
    limit: usize,
    cursor_of: impl Fn(&K) -> String,
) -> StoreResult<Page<V>> {
    let mut items = Vec::new();
    let mut last: Option<&K> = None;
    for key in keys {
        let value = lookup(key)
            .ok_or_else(|| StoreError::Corrupt("an index names a missing entity".to_owned()))?;
        if !keep(value) {
            continue;
        }
        if items.len() == limit {
            return Ok(Page {
                items,
                next_cursor: last.map(cursor_of),
            });
        }
        items.push(value.clone());
        last = Some(key);
    }
    Ok(Page {
        items,
        next_cursor: None,
    })
}

fn empty_page<T>() -> Page<T> {
    Page {
        items: Vec::new(),
        next_cursor: None,
    }
}

fn page_limit(limit: u32) -> usize {
    usize::try_from(limit.clamp(1, MAX_PAGE)).unwrap_or(1)
}

fn member_cursor(key: &MemberKey) -> String {
    cursor::member(&key.0, key.1.as_str())
}

fn parse_member_cursor(c: &str) -> StoreResult<MemberKey> {
    cursor::parse_member(c)
}

fn invitation_cursor(key: &InvitationKey) -> String {
    cursor::invitation(
        key.0.timestamp(),
        i64::from(key.0.timestamp_subsec_nanos()),
        key.1.as_str(),
    )
}

fn parse_invitation_cursor(c: &str) -> StoreResult<InvitationKey> {
    cursor::parse_invitation(c)
}

// ---------------------------------------------------------------------------
// The transaction.

/// A transaction: the store's lock plus the undo log.
struct MemoryTx<'a> {
    state: MutexGuard<'a, State>,
    undo: Vec<Undo>,
    owner: &'a Mutex<Option<ThreadId>>,
}

impl Drop for MemoryTx<'_> {
    fn drop(&mut self) {
        // Empty after commit; otherwise roll back, newest write first.
        while let Some(undo) = self.undo.pop() {
            self.state.revert(undo);
        }
        *self.owner.lock().unwrap_or_else(PoisonError::into_inner) = None;
        // The guard is released after this, when the fields are dropped.
    }
}

impl MemoryTx<'_> {
    fn data(&self, org: &OrgId) -> Option<&OrgData> {
        self.state.orgs.get(org)
    }

    /// Creates the shard of `org` if missing, logging the creation.
    fn ensure_org(&mut self, org: &OrgId) {
        if !self.state.orgs.contains_key(org) {
            self.state.orgs.insert(org.clone(), OrgData::default());
            self.undo.push(Undo::OrgCreated(org.clone()));
        }
    }

    fn with_count(data: &OrgData, group: &Group) -> Group {
        let mut g = group.clone();
        g.member_count = data.member_ix.by_group.get(&g.id).map_or(0, ByStatus::live);
        g
    }
}

impl Transaction for MemoryTx<'_> {
    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        self.undo.clear();
        Ok(())
    }

    fn organization(&mut self, org: &OrgId) -> StoreResult<Option<Organization>> {
        Ok(self.data(org).and_then(|d| d.organization.clone()))
    }

    fn put_organization(&mut self, org: &Organization) -> StoreResult<()> {
        self.ensure_org(&org.id);
        let data = self.state.org_mut(&org.id);
        let prev = data.organization.replace(org.clone());
        self.undo
            .push(Undo::Organization(org.id.clone(), prev.map(Box::new)));
        Ok(())
    }

    fn group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<Option<Group>> {
        Ok(self
            .data(org)
            .and_then(|d| d.groups.get(id).map(|g| Self::with_count(d, g))))
    }

    fn groups(&mut self, org: &OrgId) -> StoreResult<Vec<Group>> {
        Ok(self
            .data(org)
            .map(|d| d.groups.values().map(|g| Self::with_count(d, g)).collect())
            .unwrap_or_default())
    }

    fn put_group(&mut self, group: &Group) -> StoreResult<()> {
        self.ensure_org(&group.org_id);
        let mut stored = group.clone();
        stored.member_count = 0;
        let data = self.state.org_mut(&group.org_id);
        let prev = data.groups.insert(group.id.clone(), stored);
        self.undo.push(Undo::Group(
            group.org_id.clone(),
            group.id.clone(),
            prev.map(Box::new),
        ));
        Ok(())
    }

    fn delete_group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<()> {
        let Some(data) = self.state.orgs.get_mut(org) else {
            return Ok(());
        };
        if let Some(prev) = data.groups.remove(id) {
            self.undo
                .push(Undo::Group(org.clone(), id.clone(), Some(Box::new(prev))));
        }
        Ok(())
    }

    fn member(&mut self, org: &OrgId, id: &MemberId) -> StoreResult<Option<Member>> {
        Ok(self.data(org).and_then(|d| d.members.get(id).cloned()))
    }

    fn member_by_contact(&mut self, org: &OrgId, key: &str) -> StoreResult<Option<Member>> {
        Ok(self.data(org).and_then(|d| {
            d.member_ix
                .by_contact
                .get(key)
                .and_then(|id| d.members.get(id).cloned())
        }))
    }

    fn member_by_user_ref(&mut self, org: &OrgId, user_ref: &str) -> StoreResult<Option<Member>> {
        Ok(self.data(org).and_then(|d| {
            d.member_ix
                .by_user_ref
                .get(user_ref)
                .and_then(|id| d.members.get(id).cloned())
        }))
    }

    fn put_member(&mut self, member: &Member) -> StoreResult<()> {
        if member.status != MemberStatus::Removed {
            if let Some(data) = self.data(&member.org_id) {
                let ix = &data.member_ix;
                if let Some(other) = ix.by_contact.get(&member.contact_key) {
                    if other != &member.id {
                        return Err(StoreError::Unique(UniqueRule::MemberContactKey));
                    }
                }
                if let Some(user_ref) = &member.user_ref {
                    if let Some(other) = ix.by_user_ref.get(user_ref) {
                        if other != &member.id {
                            return Err(StoreError::Unique(UniqueRule::MemberUserRef));
                        }
                    }
                }
            }
        }
        self.ensure_org(&member.org_id);
        let prev = self
            .state
            .replace_member(&member.org_id, &member.id, Some(member.clone()));
        self.undo.push(Undo::Member(
            member.org_id.clone(),
            member.id.clone(),
            prev.map(Box::new),
        ));
        Ok(())
    }

    fn list_members(&mut self, org: &OrgId, query: &MemberQuery) -> StoreResult<Page<Member>> {
        let after = query
            .after
            .as_deref()
            .map(parse_member_cursor)
            .transpose()?;
        let limit = page_limit(query.limit);
        let Some(data) = self.data(org) else {
            return Ok(empty_page());
        };
        let mut statuses: Vec<MemberStatus> = if query.statuses.is_empty() {
            vec![MemberStatus::Active, MemberStatus::Inactive]
        } else {
            query.statuses.clone()
        };
        statuses.sort();
        statuses.dedup();

        // Walk the smallest index that serves a filter.
        let ix = &data.member_ix;
        let mut source = &ix.all;
        if let Some(role) = &query.role {
            match ix.by_role.get(role) {
                Some(s) if s.len_of(&statuses) < source.len_of(&statuses) => source = s,
                Some(_) => {}
                None => return Ok(empty_page()),
            }
        }
        if let Some(group) = &query.group {
            match ix.by_group.get(group) {
                Some(s) if s.len_of(&statuses) < source.len_of(&statuses) => source = s,
                Some(_) => {}
                None => return Ok(empty_page()),
            }
        }
        let desc = query.sort == MemberSort::EmailDesc;
        let walks = statuses
            .iter()
            .map(|s| walk(source.set(*s), after.as_ref(), desc))
            .collect();
        collect_page(
            Merge::new(walks, desc),
            |key| data.members.get_sorted(key),
            |m| query.matches(m),
            limit,
            member_cursor,
        )
    }

    fn count_active_with_role(&mut self, org: &OrgId, role: &str) -> StoreResult<u64> {
        Ok(self
            .data(org)
            .and_then(|d| d.member_ix.by_role.get(role))
            .map_or(0, |s| as_u64(s.set(MemberStatus::Active).len())))
    }

    fn seat_count(&mut self, org: &OrgId, license_type: &str) -> StoreResult<SeatCount> {
        Ok(self
            .data(org)
            .map(|d| SeatCount {
                members: d
                    .member_ix
                    .active_seats
                    .get(license_type)
                    .copied()
                    .unwrap_or(0),
                open_invitations: d
                    .invitation_ix
                    .open_seats
                    .get(license_type)
                    .copied()
                    .unwrap_or(0),
            })
            .unwrap_or_default())
    }

    fn seat_counts(&mut self, org: &OrgId) -> StoreResult<Vec<(String, SeatCount)>> {
        let Some(data) = self.data(org) else {
            return Ok(Vec::new());
        };
        let members = &data.member_ix.active_seats;
        let open = &data.invitation_ix.open_seats;
        let types: BTreeSet<&String> = members.keys().chain(open.keys()).collect();
        Ok(types
            .into_iter()
            .map(|t| {
                let count = SeatCount {
                    members: members.get(t).copied().unwrap_or(0),
                    open_invitations: open.get(t).copied().unwrap_or(0),
                };
                (t.clone(), count)
            })
            .collect())
    }

    fn invitation(&mut self, org: &OrgId, id: &InvitationId) -> StoreResult<Option<Invitation>> {
        Ok(self.data(org).and_then(|d| d.invitations.get(id).cloned()))
    }

    fn invitation_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<Invitation>> {
        Ok(self.data(org).and_then(|d| {
            d.invitation_ix
                .by_secret
                .get(hash)
                .and_then(|id| d.invitations.get(id).cloned())
        }))
    }

    fn open_invitation_for(&mut self, org: &OrgId, key: &str) -> StoreResult<Option<Invitation>> {
        Ok(self.data(org).and_then(|d| {
            d.invitation_ix
                .open_by_recipient
                .get(key)
                .and_then(|id| d.invitations.get(id).cloned())
        }))
    }

    fn put_invitation(&mut self, inv: &Invitation) -> StoreResult<()> {
        if let Some(data) = self.data(&inv.org_id) {
            let ix = &data.invitation_ix;
            if let Some(hash) = &inv.secret_hash {
                if let Some(other) = ix.by_secret.get(hash) {
                    if other != &inv.id {
                        return Err(StoreError::Unique(UniqueRule::InvitationSecret));
                    }
                }
            }
            if inv.status.is_open() {
                if let Some(other) = ix.open_by_recipient.get(&inv.recipient_key) {
                    if other != &inv.id {
                        return Err(StoreError::Unique(UniqueRule::InvitationOpenRecipient));
                    }
                }
            }
        }
        self.ensure_org(&inv.org_id);
        let prev = self
            .state
            .replace_invitation(&inv.org_id, &inv.id, Some(inv.clone()));
        self.undo.push(Undo::Invitation(
            inv.org_id.clone(),
            inv.id.clone(),
            prev.map(Box::new),
        ));
        Ok(())
    }

    fn list_invitations(
        &mut self,
        org: &OrgId,
        query: &InvitationQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<Invitation>> {
        let after = query
            .after
            .as_deref()
            .map(parse_invitation_cursor)
            .transpose()?;
        let limit = page_limit(query.limit);
        let Some(data) = self.data(org) else {
            return Ok(empty_page());
        };
        let ix = &data.invitation_ix;
        // The stored statuses that can have the statuses asked for at `now`.
        let stored: BTreeSet<usize> = if query.statuses.is_empty() {
            ALL_INVITATION_STATUSES
                .iter()
                .map(|s| invitation_slot(*s))
                .collect()
        } else {
            let mut slots = BTreeSet::new();
            for s in &query.statuses {
                slots.insert(invitation_slot(*s));
                if *s == InvitationStatus::Expired {
                    slots.insert(invitation_slot(InvitationStatus::Pending));
                }
            }
            slots
        };
        let mut sets: Vec<&BTreeSet<InvitationKey>> =
            stored.iter().map(|slot| &ix.by_status[*slot]).collect();
        if let Some(batch) = &query.batch {
            let Some(in_batch) = ix.by_batch.get(batch) else {
                return Ok(empty_page());
            };
            if in_batch.len() < sets.iter().map(|s| s.len()).sum() {
                sets = vec![in_batch];
            }
        }
        let walks = sets
            .into_iter()
            .map(|s| walk(s, after.as_ref(), true))
            .collect();
        let search = query.search.as_ref().map(|s| (s.clone(), s.to_lowercase()));
        collect_page(
            Merge::new(walks, true),
            |key| data.invitations.get_sorted(key),
            |inv| {
                (query.statuses.is_empty() || query.statuses.contains(&inv.status_at(now)))
                    && query.batch.as_ref().is_none_or(|b| &inv.batch_id == b)
                    && search.as_ref().is_none_or(|(raw, lower)| {
                        inv.recipient_key.contains(raw.as_str())
                            || inv.recipient_key.contains(lower.as_str())
                    })
            },
            limit,
            invitation_cursor,
        )
    }

    fn due_invitations(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<Invitation>> {
        let state = &*self.state;
        let missing = || StoreError::Corrupt("the due index names a missing invitation".to_owned());
        match org {
            Some(org) => {
                let Some(data) = state.orgs.get(org) else {
                    return Ok(Vec::new());
                };
                data.invitation_ix
                    .due
                    .iter()
                    .take_while(|(at, _)| *at <= now)
                    .take(limit)
                    .map(|(_, id)| data.invitations.get(id).cloned().ok_or_else(missing))
                    .collect()
            }
            None => state
                .due_invitations
                .iter()
                .take_while(|(at, _, _)| *at <= now)
                .take(limit)
                .map(|(_, org, id)| {
                    state
                        .orgs
                        .get(org)
                        .and_then(|d| d.invitations.get(id))
                        .cloned()
                        .ok_or_else(missing)
                })
                .collect(),
        }
    }

    fn invite_link(&mut self, org: &OrgId) -> StoreResult<Option<InviteLink>> {
        Ok(self.data(org).and_then(|d| d.link.clone()))
    }

    fn put_invite_link(&mut self, link: &InviteLink) -> StoreResult<()> {
        self.ensure_org(&link.org_id);
        let prev = self.state.org_mut(&link.org_id).link.replace(link.clone());
        self.undo
            .push(Undo::Link(link.org_id.clone(), prev.map(Box::new)));
        Ok(())
    }

    fn append_event(&mut self, event: &Event) -> StoreResult<u64> {
        self.ensure_org(&event.org_id);
        let events = &mut self.state.org_mut(&event.org_id).events;
        let seq = as_u64(events.len()).saturating_add(1);
        let mut stored = event.clone();
        stored.seq = seq;
        events.push(stored);
        self.undo.push(Undo::Event(event.org_id.clone()));
        Ok(seq)
    }

    fn events(&mut self, org: &OrgId, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        let Some(data) = self.data(org) else {
            return Ok(Vec::new());
        };
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(data.events.len());
        let end = start.saturating_add(limit).min(data.events.len());
        Ok(data.events.get(start..end).unwrap_or_default().to_vec())
    }

    fn put_outbox_message(&mut self, msg: &OutboxMessage) -> StoreResult<()> {
        self.ensure_org(&msg.org_id);
        let prev = self.state.replace_outbox(&msg.id, Some(msg.clone()));
        self.undo
            .push(Undo::Outbox(msg.id.clone(), prev.map(Box::new)));
        Ok(())
    }

    fn outbox_message(&mut self, id: &MessageId) -> StoreResult<Option<OutboxMessage>> {
        Ok(self.state.outbox.get(id).cloned())
    }

    fn due_outbox(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let state = &*self.state;
        let due = match org {
            Some(org) => match state.orgs.get(org) {
                Some(data) => &data.due_outbox,
                None => return Ok(Vec::new()),
            },
            None => &state.due_outbox,
        };
        due.iter()
            .take_while(|(at, _)| *at <= now)
            .take(limit)
            .map(|(_, id)| {
                state.outbox.get(id).cloned().ok_or_else(|| {
                    StoreError::Corrupt("the due index names a missing message".to_owned())
                })
            })
            .collect()
    }

    fn queued_messages_for(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let state = &*self.state;
        let Some(ids) = state
            .orgs
            .get(org)
            .and_then(|d| d.queued_outbox.get(invitation))
        else {
            return Ok(Vec::new());
        };
        ids.iter()
            .map(|(_, id)| {
                state.outbox.get(id).cloned().ok_or_else(|| {
                    StoreError::Corrupt("the queue index names a missing message".to_owned())
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, EventKind};
    use crate::group::GroupGrant;
    use crate::member::{Contact, MemberKind};
    use crate::outbox::OutgoingEmail;
    use crate::policy::Policy;
    use proptest::prelude::*;
    use std::sync::Arc;

    // ----- builders -------------------------------------------------------

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("a valid time")
    }

    fn org_id(n: u8) -> OrgId {
        OrgId(format!("org_{n}"))
    }

    fn organization(org: &OrgId) -> Organization {
        Organization {
            id: org.clone(),
            name: format!("Org {org}"),
            policy: Policy::default(),
            custom_roles: Vec::new(),
            created_at: t(0),
        }
    }

    fn group(org: &OrgId, id: &str) -> Group {
        Group {
            org_id: org.clone(),
            id: GroupId(id.to_owned()),
            name: id.to_owned(),
            description: String::new(),
            is_default: false,
            member_count: 999, // ignored by the store
            created_at: t(0),
        }
    }

    fn member(org: &OrgId, id: &str, contact_key: &str) -> Member {
        Member {
            org_id: org.clone(),
            id: MemberId(id.to_owned()),
            user_ref: None,
            contact: Contact::Email(contact_key.to_owned()),
            contact_key: contact_key.to_owned(),
            first_name: None,
            last_name: None,
            phone: None,
            role: "member".to_owned(),
            kind: MemberKind::Member,
            license_type: "standard".to_owned(),
            status: MemberStatus::Active,
            groups: Vec::new(),
            joined_at: t(0),
            last_active_at: None,
            eula_version: None,
            two_factor_enrolled: false,
            removed_at: None,
        }
    }

    fn invitation(org: &OrgId, id: &str, recipient_key: &str) -> Invitation {
        Invitation {
            org_id: org.clone(),
            id: InvitationId(id.to_owned()),
            batch_id: BatchId("bat_1".to_owned()),
            recipient: Contact::Email(recipient_key.to_owned()),
            recipient_key: recipient_key.to_owned(),
            display_name: None,
            first_name: None,
            last_name: None,
            kind: MemberKind::Member,
            role: "member".to_owned(),
            groups: Vec::new(),
            license_type: "standard".to_owned(),
            inviter: None,
            message: None,
            created_at: t(0),
            expires_at: None,
            status: InvitationStatus::Staged,
            secret_hash: None,
            send_count: 0,
            last_sent_at: None,
            failed_attempts: 0,
            locked_until: None,
            closed_at: None,
            member_id: None,
        }
    }

    fn hash(n: u8) -> SecretHash {
        SecretHash([n; 32])
    }

    fn event(org: &OrgId, n: u32) -> Event {
        Event {
            org_id: org.clone(),
            seq: 12345, // ignored by the store
            at: t(i64::from(n)),
            actor: Actor::System,
            kind: EventKind::InvitationRevoked {
                invitation: InvitationId(format!("inv_{n}")),
            },
        }
    }

    fn message(org: &OrgId, id: &str, inv: &str, next: i64) -> OutboxMessage {
        OutboxMessage {
            id: MessageId(id.to_owned()),
            org_id: org.clone(),
            invitation_id: InvitationId(inv.to_owned()),
            email: OutgoingEmail {
                message_id: MessageId(id.to_owned()),
                to: "a@x.test".to_owned(),
                to_name: None,
                subject: "Join".to_owned(),
                text_body: "body".to_owned(),
                accept_url: "https://x.test/accept".to_owned(),
                org_name: "Org".to_owned(),
                inviter_name: None,
                personal_message: None,
                expires_at: t(1000),
            },
            status: OutboxStatus::Queued,
            attempts: 0,
            next_attempt_at: t(next),
            last_error: None,
            created_at: t(0),
            sent_at: None,
        }
    }

    fn snapshot(store: &MemoryStore) -> State {
        store
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The incremental indexes equal indexes built from scratch.
    fn assert_consistent(store: &MemoryStore) {
        let state = snapshot(store);
        let mut fresh = State::default();
        for (org, data) in &state.orgs {
            let d = fresh.org_mut(org);
            d.organization = data.organization.clone();
            d.groups = data.groups.clone();
            d.link = data.link.clone();
            d.events = data.events.clone();
            for m in data.members.values() {
                fresh.replace_member(org, &m.id, Some(m.clone()));
            }
            for inv in data.invitations.values() {
                fresh.replace_invitation(org, &inv.id, Some(inv.clone()));
            }
        }
        for (id, msg) in &state.outbox {
            fresh.replace_outbox(id, Some(msg.clone()));
        }
        assert_eq!(fresh, state, "indexes drifted from the entities");
    }

    fn begin(store: &MemoryStore) -> Box<dyn Transaction + '_> {
        store.begin().expect("begin")
    }

    fn all_members(tx: &mut dyn Transaction, org: &OrgId, mut q: MemberQuery) -> Vec<Member> {
        let mut out = Vec::new();
        let mut pages = 0;
        loop {
            let page = tx.list_members(org, &q).expect("list_members");
            assert!(page.items.len() <= page_limit(q.limit));
            out.extend(page.items);
            pages += 1;
            assert!(pages < 10_000, "pagination does not end");
            match page.next_cursor {
                Some(c) => q.after = Some(c),
                None => return out,
            }
        }
    }

    fn all_invitations(
        tx: &mut dyn Transaction,
        org: &OrgId,
        mut q: InvitationQuery,
        now: DateTime<Utc>,
    ) -> Vec<Invitation> {
        let mut out = Vec::new();
        loop {
            let page = tx.list_invitations(org, &q, now).expect("list_invitations");
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => q.after = Some(c),
                None => return out,
            }
        }
    }

    /// A store with one organization, groups, members, invitations, a
    /// link, events and a message, all committed.
    fn populated() -> (MemoryStore, OrgId) {
        let store = MemoryStore::new();
        let org = org_id(1);
        let mut tx = begin(&store);
        tx.put_organization(&organization(&org)).expect("put");
        tx.put_group(&group(&org, "grp_a")).expect("put");
        tx.put_group(&group(&org, "grp_b")).expect("put");
        for i in 0..5 {
            let mut m = member(&org, &format!("mem_{i}"), &format!("p{i}@x.test"));
            m.user_ref = Some(format!("u{i}"));
            m.groups = vec![GroupGrant::member(GroupId("grp_a".into()))];
            m.role = if i == 0 {
                "owner".into()
            } else {
                "member".into()
            };
            tx.put_member(&m).expect("put");
        }
        let mut inv = invitation(&org, "inv_1", "q1@x.test");
        inv.status = InvitationStatus::Pending;
        inv.secret_hash = Some(hash(1));
        inv.expires_at = Some(t(100));
        tx.put_invitation(&inv).expect("put");
        tx.append_event(&event(&org, 1)).expect("append");
        tx.put_outbox_message(&message(&org, "msg_1", "inv_1", 5))
            .expect("put");
        tx.put_invite_link(&InviteLink {
            org_id: org.clone(),
            role: "member".into(),
            kind: MemberKind::Member,
            groups: Vec::new(),
            license_type: "standard".into(),
            secret_hash: Some(hash(200)),
            active: true,
            created_by: None,
            created_at: t(0),
            uses: 0,
        })
        .expect("put");
        tx.commit().expect("commit");
        (store, org)
    }

    // ----- transactions ----------------------------------------------------

    #[test]
    fn rollback_on_drop_restores_data_indexes_and_counters() {
        let (store, org) = populated();
        let other = org_id(2);
        let before = snapshot(&store);
        {
            let mut tx = begin(&store);
            // Changes of every kind, including ones that move index entries.
            let mut m0 = tx
                .member(&org, &MemberId("mem_0".into()))
                .expect("read")
                .expect("exists");
            m0.status = MemberStatus::Removed;
            tx.put_member(&m0).expect("put");
            let mut m1 = member(&org, "mem_1", "p1@x.test");
            m1.role = "owner".into();
            m1.license_type = "pro".into();
            m1.groups = vec![GroupGrant::owner(GroupId("grp_b".into()))];
            tx.put_member(&m1).expect("put");
            let mut fresh = member(&org, "mem_new", "p0@x.test"); // reuses the freed key
            fresh.user_ref = Some("u0".into());
            tx.put_member(&fresh).expect("put");
            let mut inv = tx
                .invitation(&org, &InvitationId("inv_1".into()))
                .expect("read")
                .expect("exists");
            inv.status = InvitationStatus::Accepted;
            inv.secret_hash = None;
            tx.put_invitation(&inv).expect("put");
            let mut inv2 = invitation(&org, "inv_2", "q1@x.test");
            inv2.status = InvitationStatus::Pending;
            inv2.secret_hash = Some(hash(1));
            inv2.expires_at = Some(t(50));
            tx.put_invitation(&inv2).expect("put");
            tx.delete_group(&org, &GroupId("grp_a".into()))
                .expect("delete");
            tx.put_group(&group(&org, "grp_c")).expect("put");
            assert_eq!(tx.append_event(&event(&org, 2)).expect("append"), 2);
            let mut msg = message(&org, "msg_1", "inv_1", 5);
            msg.status = OutboxStatus::Superseded;
            tx.put_outbox_message(&msg).expect("put");
            tx.put_outbox_message(&message(&other, "msg_2", "inv_9", 1))
                .expect("put");
            tx.put_organization(&organization(&other)).expect("put");
            tx.put_member(&member(&other, "mem_0", "p0@x.test"))
                .expect("put");
            tx.append_event(&event(&other, 1)).expect("append");

            // The transaction sees its own writes.
            assert_eq!(tx.count_active_with_role(&org, "owner").expect("count"), 1);
            assert_eq!(
                tx.member_by_contact(&org, "p0@x.test")
                    .expect("read")
                    .map(|m| m.id),
                Some(MemberId("mem_new".into()))
            );
            assert_eq!(
                tx.seat_count(&org, "pro").expect("count"),
                SeatCount {
                    members: 1,
                    open_invitations: 0
                }
            );
            assert_eq!(
                tx.group(&org, &GroupId("grp_b".into()))
                    .expect("read")
                    .map(|g| g.member_count),
                Some(1)
            );
            assert!(
                tx.group(&org, &GroupId("grp_a".into()))
                    .expect("read")
                    .is_none()
            );
            assert_eq!(tx.due_invitations(None, t(1000), 10).expect("due").len(), 1);
            assert_eq!(tx.due_outbox(None, t(1000), 10).expect("due").len(), 1);
            assert_eq!(tx.events(&org, 0, 10).expect("events").len(), 2);
            // Dropped without commit.
        }
        assert_eq!(snapshot(&store), before);
        let mut tx = begin(&store);
        assert!(tx.organization(&other).expect("read").is_none());
        assert!(tx.events(&other, 0, 10).expect("events").is_empty());
        assert_eq!(tx.count_active_with_role(&org, "owner").expect("count"), 1);
        assert_eq!(
            tx.member_by_contact(&org, "p0@x.test")
                .expect("read")
                .map(|m| m.id),
            Some(MemberId("mem_0".into()))
        );
        assert_eq!(
            tx.member_by_user_ref(&org, "u0")
                .expect("read")
                .map(|m| m.id),
            Some(MemberId("mem_0".into()))
        );
        assert_eq!(
            tx.seat_counts(&org).expect("counts"),
            vec![(
                "standard".to_owned(),
                SeatCount {
                    members: 5,
                    open_invitations: 1
                }
            )]
        );
        assert_eq!(
            tx.group(&org, &GroupId("grp_a".into()))
                .expect("read")
                .map(|g| g.member_count),
            Some(5)
        );
        assert_eq!(
            tx.invitation_by_secret(&org, &hash(1))
                .expect("read")
                .map(|i| i.id),
            Some(InvitationId("inv_1".into()))
        );
        assert_eq!(tx.events(&org, 0, 10).expect("events").len(), 1);
        assert_eq!(
            tx.queued_messages_for(&org, &InvitationId("inv_1".into()))
                .expect("queued")
                .len(),
            1
        );
        drop(tx);
        assert_consistent(&store);
    }

    #[test]
    fn commit_keeps_writes() {
        let (store, org) = populated();
        let mut tx = begin(&store);
        let mut m = member(&org, "mem_9", "z@x.test");
        m.groups = vec![GroupGrant::member(GroupId("grp_b".into()))];
        tx.put_member(&m).expect("put");
        assert_eq!(tx.append_event(&event(&org, 2)).expect("append"), 2);
        tx.commit().expect("commit");

        let mut tx = begin(&store);
        assert_eq!(tx.member(&org, &m.id).expect("read"), Some(m.clone()));
        assert_eq!(
            tx.group(&org, &GroupId("grp_b".into()))
                .expect("read")
                .map(|g| g.member_count),
            Some(1)
        );
        let events = tx.events(&org, 0, 10).expect("events");
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
        drop(tx);
        assert_consistent(&store);
    }

    #[test]
    fn unique_violations_change_nothing() {
        let (store, org) = populated();
        let before = snapshot(&store);
        let mut tx = begin(&store);

        let mut dup = member(&org, "mem_x", "p1@x.test");
        assert!(matches!(
            tx.put_member(&dup),
            Err(StoreError::Unique(UniqueRule::MemberContactKey))
        ));
        dup.contact_key = "new@x.test".into();
        dup.user_ref = Some("u2".into());
        assert!(matches!(
            tx.put_member(&dup),
            Err(StoreError::Unique(UniqueRule::MemberUserRef))
        ));
        // Re-putting the owner of the key is fine; a removed member does not
        // hold its key.
        let mut inv = invitation(&org, "inv_x", "q1@x.test");
        assert!(matches!(
            tx.put_invitation(&inv),
            Err(StoreError::Unique(UniqueRule::InvitationOpenRecipient))
        ));
        inv.recipient_key = "q2@x.test".into();
        inv.secret_hash = Some(hash(1));
        assert!(matches!(
            tx.put_invitation(&inv),
            Err(StoreError::Unique(UniqueRule::InvitationSecret))
        ));
        drop(tx);
        assert_eq!(snapshot(&store), before);

        let mut tx = begin(&store);
        let mut removed = member(&org, "mem_x", "p1@x.test");
        removed.status = MemberStatus::Removed;
        removed.user_ref = Some("u1".into());
        tx.put_member(&removed)
            .expect("a removed duplicate is allowed");
        let mut same = tx
            .member(&org, &MemberId("mem_1".into()))
            .expect("read")
            .expect("exists");
        same.first_name = Some("Ann".into());
        tx.put_member(&same).expect("replacing oneself is fine");
        let mut closed = invitation(&org, "inv_y", "q1@x.test");
        closed.status = InvitationStatus::Revoked;
        tx.put_invitation(&closed)
            .expect("a closed invitation does not block");
        // Reviving the removed one now clashes.
        removed.status = MemberStatus::Active;
        assert!(matches!(
            tx.put_member(&removed),
            Err(StoreError::Unique(UniqueRule::MemberContactKey))
        ));
        // Reopening the closed one clashes too.
        closed.status = InvitationStatus::Pending;
        assert!(matches!(
            tx.put_invitation(&closed),
            Err(StoreError::Unique(UniqueRule::InvitationOpenRecipient))
        ));
        tx.commit().expect("commit");
        assert_consistent(&store);
    }

    #[test]
    fn panic_inside_a_transaction_rolls_back() {
        let (store, org) = populated();
        let before = snapshot(&store);
        let result = std::thread::scope(|s| {
            s.spawn(|| {
                let mut tx = begin(&store);
                tx.put_member(&member(&org, "mem_p", "panic@x.test"))
                    .expect("put");
                tx.append_event(&event(&org, 7)).expect("append");
                panic!("the engine failed mid-command");
            })
            .join()
        });
        assert!(result.is_err());
        assert!(store.state.is_poisoned());
        assert_eq!(snapshot(&store), before);
        let mut tx = begin(&store);
        tx.put_member(&member(&org, "mem_q", "after@x.test"))
            .expect("the store still works");
        tx.commit().expect("commit");
    }

    #[test]
    fn nested_begin_on_one_thread_is_refused() {
        let store = MemoryStore::new();
        let tx = begin(&store);
        assert!(matches!(store.begin(), Err(StoreError::Unavailable(_))));
        drop(tx);
        let tx = begin(&store);
        tx.commit().expect("commit");
        begin(&store);
    }

    #[test]
    fn concurrent_read_modify_write_never_loses_an_update() {
        let (store, org) = populated();
        let store = Arc::new(store);
        let threads = 8;
        let rounds = 200;
        let handles: Vec<_> = (0..threads)
            .map(|n| {
                let store = Arc::clone(&store);
                let org = org.clone();
                std::thread::spawn(move || {
                    for i in 0..rounds {
                        let mut tx = store.begin().expect("begin");
                        let mut link = tx.invite_link(&org).expect("read").expect("exists");
                        link.uses += 1;
                        tx.put_invite_link(&link).expect("put");
                        if (n + i) % 5 == 0 {
                            // Some transactions give up: their increment
                            // must vanish.
                            drop(tx);
                            continue;
                        }
                        tx.commit().expect("commit");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().expect("a worker panicked");
        }
        let expected: u64 = (0..threads)
            .map(|n| (0..rounds).filter(|i| (n + i) % 5 != 0).count() as u64)
            .sum();
        let mut tx = begin(&store);
        let link = tx.invite_link(&org).expect("read").expect("exists");
        assert_eq!(link.uses, expected);
    }

    // ----- members ---------------------------------------------------------

    /// 300 members with scrambled keys, statuses, roles and groups.
    fn crowd(store: &MemoryStore, org: &OrgId) -> Vec<Member> {
        let mut tx = begin(store);
        let mut all = Vec::new();
        for i in 0..300u32 {
            let n = i.wrapping_mul(7919) % 1000;
            let mut m = member(org, &format!("mem_{i:03}"), &format!("k{n:03}@x.test"));
            // A few duplicate keys among removed members.
            m.status = match i % 7 {
                0 => MemberStatus::Removed,
                1 | 2 => MemberStatus::Inactive,
                _ => MemberStatus::Active,
            };
            if m.status == MemberStatus::Removed && i % 2 == 0 {
                m.contact_key = "dup@x.test".into();
            }
            m.role = ["member", "admin", "owner"][(i % 3) as usize].into();
            m.license_type = ["standard", "pro"][(i % 2) as usize].into();
            if i % 4 == 0 {
                m.groups.push(GroupGrant::member(GroupId("grp_a".into())));
            }
            if i % 5 == 0 {
                m.groups.push(GroupGrant::owner(GroupId("grp_b".into())));
                m.groups.push(GroupGrant::member(GroupId("grp_b".into()))); // duplicate
            }
            tx.put_member(&m).expect("put");
            all.push(m);
        }
        tx.commit().expect("commit");
        all
    }

    fn expected(all: &[Member], q: &MemberQuery) -> Vec<Member> {
        let mut out: Vec<Member> = all.iter().filter(|m| q.matches(m)).cloned().collect();
        out.sort_by(|a, b| (&a.contact_key, &a.id).cmp(&(&b.contact_key, &b.id)));
        if q.sort == MemberSort::EmailDesc {
            out.reverse();
        }
        out
    }

    #[test]
    fn pagination_walks_every_member_once_in_order() {
        let store = MemoryStore::new();
        let org = org_id(1);
        let all = crowd(&store, &org);
        let mut tx = begin(&store);
        let queries = [
            MemberQuery::default(),
            MemberQuery {
                statuses: vec![MemberStatus::Removed],
                ..MemberQuery::default()
            },
            MemberQuery {
                statuses: vec![
                    MemberStatus::Removed,
                    MemberStatus::Active,
                    MemberStatus::Removed,
                ],
                ..MemberQuery::default()
            },
            MemberQuery {
                role: Some("owner".into()),
                ..MemberQuery::default()
            },
            MemberQuery {
                role: Some("nobody".into()),
                ..MemberQuery::default()
            },
            MemberQuery {
                group: Some(GroupId("grp_a".into())),
                ..MemberQuery::default()
            },
            MemberQuery {
                group: Some(GroupId("grp_b".into())),
                role: Some("admin".into()),
                statuses: vec![MemberStatus::Inactive, MemberStatus::Removed],
                ..MemberQuery::default()
            },
            MemberQuery {
                group: Some(GroupId("grp_none".into())),
                ..MemberQuery::default()
            },
            MemberQuery {
                search: Some("K1".into()),
                ..MemberQuery::default()
            },
        ];
        for base in queries {
            for sort in [MemberSort::EmailAsc, MemberSort::EmailDesc] {
                for limit in [0, 1, 7, 50, 5000] {
                    let q = MemberQuery {
                        sort,
                        limit,
                        ..base.clone()
                    };
                    let got = all_members(&mut *tx, &org, q.clone());
                    assert_eq!(got, expected(&all, &q), "query {q:?}");
                }
            }
        }
    }

    #[test]
    fn last_page_has_no_cursor_and_exact_pages_do_not_dangle() {
        let store = MemoryStore::new();
        let org = org_id(1);
        let all = crowd(&store, &org);
        let live = all
            .iter()
            .filter(|m| m.status != MemberStatus::Removed)
            .count();
        let mut tx = begin(&store);
        let q = MemberQuery {
            limit: u32::try_from(live).expect("small"),
            ..MemberQuery::default()
        };
        let page = tx.list_members(&org, &q).expect("list");
        assert_eq!(page.items.len(), live);
        assert_eq!(page.next_cursor, None);
        let q = MemberQuery {
            limit: 3,
            ..MemberQuery::default()
        };
        let page = tx.list_members(&org, &q).expect("list");
        assert!(page.next_cursor.is_some());
    }

    #[test]
    fn cursor_survives_deletion_of_its_item_and_bad_cursors_are_errors() {
        let store = MemoryStore::new();
        let org = org_id(1);
        let all = crowd(&store, &org);
        let mut tx = begin(&store);
        let q = MemberQuery {
            limit: 10,
            ..MemberQuery::default()
        };
        let first = tx.list_members(&org, &q).expect("list");
        let cursor = first.next_cursor.clone().expect("more pages");
        // Remove the last member of the first page; the walk continues.
        let mut last = first.items.last().cloned().expect("items");
        last.status = MemberStatus::Removed;
        tx.put_member(&last).expect("put");
        let second = tx
            .list_members(
                &org,
                &MemberQuery {
                    after: Some(cursor),
                    ..q.clone()
                },
            )
            .expect("list");
        let want = expected(&all, &MemberQuery::default());
        assert_eq!(second.items, want[10..20].to_vec());

        for bad in ["", "m.", "m.zz.00", "m.6", "i.1.2.00", "m.ff.00"] {
            let q = MemberQuery {
                after: Some(bad.to_owned()),
                ..MemberQuery::default()
            };
            let err = tx.list_members(&org, &q).expect_err(bad);
            assert!(
                matches!(&err, StoreError::InvalidCursor { list } if list == "member"),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains("cursor"));
        }
        let q = InvitationQuery {
            after: Some(member_cursor(&("a".into(), MemberId("b".into())))),
            ..InvitationQuery::default()
        };
        assert!(tx.list_invitations(&org, &q, t(0)).is_err());
    }

    #[test]
    fn counts_stay_exact_through_updates() {
        let store = MemoryStore::new();
        let org = org_id(1);
        let ga = GroupId("grp_a".into());
        let gb = GroupId("grp_b".into());
        let mut tx = begin(&store);
        tx.put_group(&group(&org, "grp_a")).expect("put");
        tx.put_group(&group(&org, "grp_b")).expect("put");
        let mut m = member(&org, "mem_1", "a@x.test");
        m.role = "owner".into();
        m.groups = vec![GroupGrant::member(ga.clone())];
        tx.put_member(&m).expect("put");
        let check = |tx: &mut dyn Transaction, owners, std_, pro, a, b| {
            assert_eq!(tx.count_active_with_role(&org, "owner").expect("c"), owners);
            assert_eq!(tx.seat_count(&org, "standard").expect("c").members, std_);
            assert_eq!(tx.seat_count(&org, "pro").expect("c").members, pro);
            let count = |tx: &mut dyn Transaction, g: &GroupId| {
                tx.group(&org, g).expect("g").expect("exists").member_count
            };
            assert_eq!(count(tx, &ga), a);
            assert_eq!(count(tx, &gb), b);
            let mut groups = tx.groups(&org).expect("groups");
            groups.sort_by(|x, y| x.id.cmp(&y.id));
            assert_eq!(
                groups.iter().map(|g| g.member_count).collect::<Vec<_>>(),
                [a, b]
            );
        };
        check(&mut *tx, 1, 1, 0, 1, 0);
        m.status = MemberStatus::Inactive; // keeps group membership, loses seat and role count
        tx.put_member(&m).expect("put");
        check(&mut *tx, 0, 0, 0, 1, 0);
        m.status = MemberStatus::Active;
        m.license_type = "pro".into();
        m.groups = vec![
            GroupGrant::owner(gb.clone()),
            GroupGrant::member(ga.clone()),
        ];
        tx.put_member(&m).expect("put");
        check(&mut *tx, 1, 0, 1, 1, 1);
        m.role = "admin".into();
        m.groups = vec![GroupGrant::owner(gb.clone())];
        tx.put_member(&m).expect("put");
        check(&mut *tx, 0, 0, 1, 0, 1);
        m.status = MemberStatus::Removed;
        tx.put_member(&m).expect("put");
        check(&mut *tx, 0, 0, 0, 0, 0);
        assert_eq!(tx.seat_counts(&org).expect("counts"), vec![]);
        tx.commit().expect("commit");
        assert_consistent(&store);
    }

    #[test]
    fn seat_counts_cover_members_and_open_invitations_sorted() {
        let store = MemoryStore::new();
        let org = org_id(1);
        let mut tx = begin(&store);
        let mut m = member(&org, "mem_1", "a@x.test");
        m.license_type = "zeta".into();
        tx.put_member(&m).expect("put");
        let mut i1 = invitation(&org, "inv_1", "b@x.test");
        i1.license_type = "alpha".into();
        tx.put_invitation(&i1).expect("put");
        let mut i2 = invitation(&org, "inv_2", "c@x.test");
        i2.license_type = "zeta".into();
        i2.status = InvitationStatus::Pending;
        i2.expires_at = Some(t(10));
        tx.put_invitation(&i2).expect("put");
        let mut i3 = invitation(&org, "inv_3", "d@x.test");
        i3.license_type = "mid".into();
        i3.status = InvitationStatus::Declined;
        tx.put_invitation(&i3).expect("put");
        let counts = tx.seat_counts(&org).expect("counts");
        assert_eq!(
            counts,
            vec![
                (
                    "alpha".to_owned(),
                    SeatCount {
                        members: 0,
                        open_invitations: 1
                    }
                ),
                (
                    "zeta".to_owned(),
                    SeatCount {
                        members: 1,
                        open_invitations: 1
                    }
                ),
            ]
        );
        // Accepting closes the invitation: its seat moves to the member.
        i2.status = InvitationStatus::Accepted;
        tx.put_invitation(&i2).expect("put");
        let mut m2 = member(&org, "mem_2", "c@x.test");
        m2.license_type = "zeta".into();
        tx.put_member(&m2).expect("put");
        assert_eq!(
            tx.seat_count(&org, "zeta").expect("count"),
            SeatCount {
                members: 2,
                open_invitations: 0
            }
        );
    }

    // ----- invitations -----------------------------------------------------

    #[test]
    fn invitations_list_newest_first_with_filters() {
        let store = MemoryStore::new();
        let org = org_id(1);
        let mut all = Vec::new();
        let mut tx = begin(&store);
        for i in 0..120u32 {
            let mut inv = invitation(&org, &format!("inv_{i:03}"), &format!("r{i}@x.test"));
            inv.created_at = t(i64::from(i / 3)); // ties on created_at
            inv.batch_id = BatchId(format!("bat_{}", i % 4));
            inv.status = ALL_INVITATION_STATUSES[(i % 6) as usize];
            if inv.status == InvitationStatus::Pending {
                inv.expires_at = Some(t(i64::from(i)));
            }
            tx.put_invitation(&inv).expect("put");
            all.push(inv);
        }
        let now = t(60);
        let expect = |q: &InvitationQuery| {
            let mut v: Vec<Invitation> = all
                .iter()
                .filter(|i| q.statuses.is_empty() || q.statuses.contains(&i.status_at(now)))
                .filter(|i| q.batch.as_ref().is_none_or(|b| &i.batch_id == b))
                .filter(|i| {
                    q.search
                        .as_ref()
                        .is_none_or(|s| i.recipient_key.contains(&s.to_lowercase()))
                })
                .cloned()
                .collect();
            v.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            v
        };
        let queries = [
            InvitationQuery::default(),
            InvitationQuery {
                statuses: vec![InvitationStatus::Pending],
                ..InvitationQuery::default()
            },
            InvitationQuery {
                statuses: vec![InvitationStatus::Expired],
                ..InvitationQuery::default()
            },
            InvitationQuery {
                statuses: vec![InvitationStatus::Staged, InvitationStatus::Revoked],
                batch: Some(BatchId("bat_2".into())),
                ..InvitationQuery::default()
            },
            InvitationQuery {
                batch: Some(BatchId("bat_1".into())),
                ..InvitationQuery::default()
            },
            InvitationQuery {
                batch: Some(BatchId("bat_none".into())),
                ..InvitationQuery::default()
            },
            InvitationQuery {
                search: Some("R1".into()),
                ..InvitationQuery::default()
            },
        ];
        for base in queries {
            for limit in [1, 4, 50, 2000] {
                let q = InvitationQuery {
                    limit,
                    ..base.clone()
                };
                assert_eq!(
                    all_invitations(&mut *tx, &org, q.clone(), now),
                    expect(&q),
                    "{q:?}"
                );
            }
        }
    }

    #[test]
    fn due_invitations_oldest_first_and_per_org() {
        let store = MemoryStore::new();
        let (o1, o2) = (org_id(1), org_id(2));
        let mut tx = begin(&store);
        let mut put = |org: &OrgId, id: &str, status, exp: Option<i64>| {
            let mut inv = invitation(org, id, id);
            inv.status = status;
            inv.expires_at = exp.map(t);
            tx.put_invitation(&inv).expect("put");
            inv
        };
        let a = put(&o1, "inv_a", InvitationStatus::Pending, Some(30));
        put(&o1, "inv_b", InvitationStatus::Pending, None);
        put(&o1, "inv_c", InvitationStatus::Expired, Some(5));
        put(&o1, "inv_d", InvitationStatus::Staged, Some(5));
        let e = put(&o2, "inv_e", InvitationStatus::Pending, Some(10));
        let mut f = put(&o1, "inv_f", InvitationStatus::Pending, Some(20));
        let ids = |v: Vec<Invitation>| v.into_iter().map(|i| i.id.0).collect::<Vec<_>>();
        assert_eq!(
            ids(tx.due_invitations(None, t(100), 10).expect("due")),
            ["inv_e", "inv_f", "inv_a"]
        );
        assert_eq!(
            ids(tx.due_invitations(None, t(20), 10).expect("due")),
            ["inv_e", "inv_f"]
        );
        assert_eq!(
            ids(tx.due_invitations(None, t(100), 1).expect("due")),
            ["inv_e"]
        );
        assert_eq!(
            ids(tx.due_invitations(Some(&o1), t(100), 10).expect("due")),
            ["inv_f", "inv_a"]
        );
        assert!(
            tx.due_invitations(Some(&org_id(9)), t(100), 10)
                .expect("due")
                .is_empty()
        );
        // Expiring one removes it from the due sets; resending moves it.
        f.status = InvitationStatus::Expired;
        tx.put_invitation(&f).expect("put");
        let mut a2 = a.clone();
        a2.expires_at = Some(t(1));
        tx.put_invitation(&a2).expect("put");
        assert_eq!(
            ids(tx.due_invitations(None, t(100), 10).expect("due")),
            ["inv_a", "inv_e"]
        );
        assert_eq!(
            ids(tx.due_invitations(Some(&o2), t(100), 10).expect("due")),
            [e.id.0]
        );
        tx.commit().expect("commit");
        assert_consistent(&store);
    }

    // ----- events, outbox, misc ------------------------------------------

    #[test]
    fn events_are_numbered_per_org_and_paged() {
        let store = MemoryStore::new();
        let (o1, o2) = (org_id(1), org_id(2));
        let mut tx = begin(&store);
        for n in 0..10 {
            assert_eq!(
                tx.append_event(&event(&o1, n)).expect("append"),
                u64::from(n) + 1
            );
        }
        assert_eq!(tx.append_event(&event(&o2, 0)).expect("append"), 1);
        let seqs = |v: Vec<Event>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(tx.events(&o1, 0, 3).expect("events")), [1, 2, 3]);
        assert_eq!(seqs(tx.events(&o1, 8, 100).expect("events")), [9, 10]);
        assert!(tx.events(&o1, 10, 5).expect("events").is_empty());
        assert!(
            tx.events(&o1, u64::MAX, usize::MAX)
                .expect("events")
                .is_empty()
        );
        assert_eq!(
            seqs(tx.events(&o1, 3, usize::MAX).expect("events")).len(),
            7
        );
        tx.commit().expect("commit");
        let mut tx = begin(&store);
        tx.append_event(&event(&o1, 99)).expect("append");
        drop(tx);
        let mut tx = begin(&store);
        assert_eq!(tx.append_event(&event(&o1, 99)).expect("append"), 11);
    }

    #[test]
    fn outbox_due_and_queued_per_invitation() {
        let store = MemoryStore::new();
        let (o1, o2) = (org_id(1), org_id(2));
        let mut tx = begin(&store);
        tx.put_outbox_message(&message(&o1, "msg_1", "inv_1", 30))
            .expect("put");
        tx.put_outbox_message(&message(&o1, "msg_2", "inv_1", 10))
            .expect("put");
        tx.put_outbox_message(&message(&o2, "msg_3", "inv_1", 20))
            .expect("put");
        let mut sent = message(&o1, "msg_4", "inv_1", 0);
        sent.status = OutboxStatus::Sent;
        tx.put_outbox_message(&sent).expect("put");
        let ids = |v: Vec<OutboxMessage>| v.into_iter().map(|m| m.id.0).collect::<Vec<_>>();
        assert_eq!(
            ids(tx.due_outbox(None, t(100), 10).expect("due")),
            ["msg_2", "msg_3", "msg_1"]
        );
        assert_eq!(
            ids(tx.due_outbox(None, t(20), 10).expect("due")),
            ["msg_2", "msg_3"]
        );
        assert_eq!(
            ids(tx.due_outbox(Some(&o1), t(100), 10).expect("due")),
            ["msg_2", "msg_1"]
        );
        assert_eq!(
            ids(tx.due_outbox(Some(&o1), t(100), 1).expect("due")),
            ["msg_2"]
        );
        let mut queued = ids(tx
            .queued_messages_for(&o1, &InvitationId("inv_1".into()))
            .expect("queued"));
        queued.sort();
        assert_eq!(queued, ["msg_1", "msg_2"]);
        // Claiming pushes the attempt time; superseding takes it out.
        let mut m1 = tx
            .outbox_message(&MessageId("msg_1".into()))
            .expect("read")
            .expect("exists");
        m1.next_attempt_at = t(500);
        tx.put_outbox_message(&m1).expect("put");
        let mut m2 = message(&o1, "msg_2", "inv_1", 10);
        m2.status = OutboxStatus::Superseded;
        tx.put_outbox_message(&m2).expect("put");
        assert_eq!(
            ids(tx.due_outbox(Some(&o1), t(100), 10).expect("due")),
            Vec::<String>::new()
        );
        assert_eq!(
            ids(tx
                .queued_messages_for(&o1, &InvitationId("inv_1".into()))
                .expect("q")),
            ["msg_1"]
        );
        assert_eq!(
            ids(tx
                .queued_messages_for(&o2, &InvitationId("inv_1".into()))
                .expect("q")),
            ["msg_3"]
        );
        tx.commit().expect("commit");
        assert_consistent(&store);
    }

    #[test]
    fn unknown_org_reads_are_empty() {
        let (store, _) = populated();
        let org = org_id(42);
        let mut tx = begin(&store);
        assert!(tx.organization(&org).expect("ok").is_none());
        assert!(
            tx.group(&org, &GroupId("grp_a".into()))
                .expect("ok")
                .is_none()
        );
        assert!(tx.groups(&org).expect("ok").is_empty());
        assert!(
            tx.member(&org, &MemberId("mem_0".into()))
                .expect("ok")
                .is_none()
        );
        assert!(
            tx.member_by_contact(&org, "p0@x.test")
                .expect("ok")
                .is_none()
        );
        assert!(tx.member_by_user_ref(&org, "u0").expect("ok").is_none());
        assert!(
            tx.list_members(&org, &MemberQuery::default())
                .expect("ok")
                .items
                .is_empty()
        );
        assert_eq!(tx.count_active_with_role(&org, "owner").expect("ok"), 0);
        assert_eq!(
            tx.seat_count(&org, "standard").expect("ok"),
            SeatCount::default()
        );
        assert!(tx.seat_counts(&org).expect("ok").is_empty());
        assert!(
            tx.invitation(&org, &InvitationId("inv_1".into()))
                .expect("ok")
                .is_none()
        );
        assert!(
            tx.invitation_by_secret(&org, &hash(1))
                .expect("ok")
                .is_none()
        );
        assert!(
            tx.open_invitation_for(&org, "q1@x.test")
                .expect("ok")
                .is_none()
        );
        let q = InvitationQuery::default();
        assert!(
            tx.list_invitations(&org, &q, t(0))
                .expect("ok")
                .items
                .is_empty()
        );
        assert!(
            tx.due_invitations(Some(&org), t(1000), 10)
                .expect("ok")
                .is_empty()
        );
        assert!(tx.invite_link(&org).expect("ok").is_none());
        assert!(tx.events(&org, 0, 10).expect("ok").is_empty());
        assert!(
            tx.due_outbox(Some(&org), t(1000), 10)
                .expect("ok")
                .is_empty()
        );
        let inv = InvitationId("inv_1".into());
        assert!(tx.queued_messages_for(&org, &inv).expect("ok").is_empty());
        tx.delete_group(&org, &GroupId("grp_a".into())).expect("ok");
        drop(tx);
        assert!(!snapshot(&store).orgs.contains_key(&org));
    }

    #[test]
    fn store_is_shareable() {
        fn assert_send_sync<T: Send + Sync + Default>() {}
        assert_send_sync::<MemoryStore>();
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        store.begin().expect("begin").commit().expect("commit");
        assert_eq!(format!("{:?}", MemoryStore::new()), "MemoryStore { .. }");
    }

    /// The benchmarks' shape: one organization with 1,000,000 members and
    /// 1,000,000 pending invitations. Run with
    /// `cargo test --release -p enlist --lib memory -- --ignored --nocapture`.
    #[test]
    #[ignore = "slow: builds a million-member organization"]
    fn scale_million_members_and_invitations() {
        use std::time::Instant;
        let store = MemoryStore::new();
        let org = org_id(1);
        let n = 1_000_000u32;
        let started = Instant::now();
        let mut tx = begin(&store);
        tx.put_group(&group(&org, "grp_small")).expect("put");
        for i in 0..n {
            let mut m = member(
                &org,
                &format!("mem_{i:07}"),
                &format!("{:07}@x.test", (u64::from(i) * 7_919) % u64::from(n)),
            );
            if i % 100_000 == 0 {
                m.groups
                    .push(GroupGrant::member(GroupId("grp_small".into())));
            }
            tx.put_member(&m).expect("put");
            let mut inv = invitation(&org, &format!("inv_{i:07}"), &format!("i{i}@x.test"));
            inv.status = InvitationStatus::Pending;
            inv.secret_hash = Some(SecretHash::of(&i.to_le_bytes()));
            inv.expires_at = Some(t(1_000_000 + i64::from(i)));
            inv.created_at = t(i64::from(i.wrapping_mul(7_919) % 100_000));
            tx.put_invitation(&inv).expect("put");
        }
        tx.commit().expect("commit");
        eprintln!("built in {:?}", started.elapsed());

        let timed = |what: &str, f: &mut dyn FnMut()| {
            // Warm up: right after the build, the allocator is still busy
            // consolidating the memory freed by it.
            for _ in 0..10 {
                f();
            }
            let started = Instant::now();
            for _ in 0..100 {
                f();
            }
            let each = started.elapsed() / 100;
            eprintln!("{what}: {each:?}");
            assert!(each.as_millis() < 20, "{what} took {each:?}");
        };
        let mut cursor = None;
        timed("list_members page of 50", &mut || {
            let mut tx = begin(&store);
            let q = MemberQuery {
                after: cursor.clone(),
                ..MemberQuery::default()
            };
            let page = tx.list_members(&org, &q).expect("list");
            assert_eq!(page.items.len(), 50);
            cursor = page.next_cursor;
        });
        timed("list_members of a 10-member group", &mut || {
            let mut tx = begin(&store);
            let q = MemberQuery {
                group: Some(GroupId("grp_small".into())),
                ..MemberQuery::default()
            };
            assert_eq!(tx.list_members(&org, &q).expect("list").items.len(), 10);
        });
        let mut i = 0u32;
        timed(
            "accept (look up, close invitation, add member, counts)",
            &mut || {
                let mut tx = begin(&store);
                let hash = SecretHash::of(&i.to_le_bytes());
                let mut inv = tx
                    .invitation_by_secret(&org, &hash)
                    .expect("read")
                    .expect("exists");
                assert!(
                    tx.member_by_contact(&org, &inv.recipient_key)
                        .expect("read")
                        .is_none()
                );
                inv.status = InvitationStatus::Accepted;
                tx.put_invitation(&inv).expect("put");
                tx.put_member(&member(&org, &format!("mem_new_{i}"), &inv.recipient_key))
                    .expect("put");
                tx.seat_count(&org, "standard").expect("count");
                tx.count_active_with_role(&org, "owner").expect("count");
                tx.append_event(&event(&org, i)).expect("append");
                if i % 2 == 0 {
                    tx.commit().expect("commit");
                }
                i += 1;
            },
        );
        timed("list_invitations page of 50", &mut || {
            let mut tx = begin(&store);
            let q = InvitationQuery {
                statuses: vec![InvitationStatus::Pending],
                ..InvitationQuery::default()
            };
            assert_eq!(
                tx.list_invitations(&org, &q, t(0))
                    .expect("list")
                    .items
                    .len(),
                50
            );
        });
    }

    // ----- model-based property test --------------------------------------

    #[derive(Clone, Debug)]
    enum Op {
        Member {
            org: u8,
            id: u8,
            contact: u8,
            user_ref: Option<u8>,
            role: u8,
            status: u8,
            license: u8,
            groups: Vec<u8>,
        },
        Invitation {
            org: u8,
            id: u8,
            recipient: u8,
            status: u8,
            secret: Option<u8>,
            license: u8,
            expires: Option<i64>,
            batch: u8,
            created: i64,
        },
    }

    /// What an [`Op`] writes.
    enum Built {
        Member(Box<Member>),
        Invitation(Box<Invitation>),
    }

    const ROLES: [&str; 3] = ["owner", "admin", "member"];
    const LICENSES: [&str; 2] = ["standard", "pro"];
    const MEMBER_STATUSES: [MemberStatus; 3] = [
        MemberStatus::Active,
        MemberStatus::Inactive,
        MemberStatus::Removed,
    ];

    fn op_strategy() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                0..2u8,
                0..6u8,
                0..4u8,
                proptest::option::of(0..3u8),
                0..3u8,
                0..3u8,
                0..2u8,
                proptest::collection::vec(0..3u8, 0..3),
            )
                .prop_map(
                    |(org, id, contact, user_ref, role, status, license, groups)| Op::Member {
                        org,
                        id,
                        contact,
                        user_ref,
                        role,
                        status,
                        license,
                        groups,
                    }
                ),
            (
                0..2u8,
                0..6u8,
                0..4u8,
                0..6u8,
                proptest::option::of(0..4u8),
                0..2u8,
                proptest::option::of(0..20i64),
                0..2u8,
                0..5i64,
            )
                .prop_map(
                    |(org, id, recipient, status, secret, license, expires, batch, created)| {
                        Op::Invitation {
                            org,
                            id,
                            recipient,
                            status,
                            secret,
                            license,
                            expires,
                            batch,
                            created,
                        }
                    }
                ),
        ]
    }

    fn build(op: &Op) -> Built {
        match op {
            Op::Member {
                org,
                id,
                contact,
                user_ref,
                role,
                status,
                license,
                groups,
            } => {
                let mut m = member(&org_id(*org), &format!("mem_{id}"), &format!("c{contact}"));
                m.user_ref = user_ref.map(|u| format!("u{u}"));
                m.role = ROLES[usize::from(*role)].into();
                m.status = MEMBER_STATUSES[usize::from(*status)];
                m.license_type = LICENSES[usize::from(*license)].into();
                m.groups = groups
                    .iter()
                    .map(|g| GroupGrant::member(GroupId(format!("grp_{g}"))))
                    .collect();
                Built::Member(Box::new(m))
            }
            Op::Invitation {
                org,
                id,
                recipient,
                status,
                secret,
                license,
                expires,
                batch,
                created,
            } => {
                let mut i = invitation(
                    &org_id(*org),
                    &format!("inv_{id}"),
                    &format!("c{recipient}"),
                );
                i.status = ALL_INVITATION_STATUSES[usize::from(*status)];
                i.secret_hash = secret.map(hash);
                i.license_type = LICENSES[usize::from(*license)].into();
                i.expires_at = expires.map(t);
                i.batch_id = BatchId(format!("bat_{batch}"));
                i.created_at = t(*created);
                Built::Invitation(Box::new(i))
            }
        }
    }

    /// The committed (or in-transaction) truth, kept naively.
    #[derive(Clone, Debug, Default)]
    struct Model {
        members: BTreeMap<(OrgId, MemberId), Member>,
        invitations: BTreeMap<(OrgId, InvitationId), Invitation>,
    }

    impl Model {
        /// Applies an op if the uniqueness rules allow it; returns whether
        /// they did.
        fn apply(&mut self, op: &Op) -> bool {
            match build(op) {
                Built::Member(m) => {
                    let clash = m.status != MemberStatus::Removed
                        && self.members.values().any(|o| {
                            o.org_id == m.org_id
                                && o.id != m.id
                                && o.status != MemberStatus::Removed
                                && (o.contact_key == m.contact_key
                                    || (m.user_ref.is_some() && o.user_ref == m.user_ref))
                        });
                    if !clash {
                        self.members.insert((m.org_id.clone(), m.id.clone()), *m);
                    }
                    !clash
                }
                Built::Invitation(i) => {
                    let clash = self.invitations.values().any(|o| {
                        o.org_id == i.org_id
                            && o.id != i.id
                            && ((i.secret_hash.is_some() && o.secret_hash == i.secret_hash)
                                || (i.status.is_open()
                                    && o.status.is_open()
                                    && o.recipient_key == i.recipient_key))
                    });
                    if !clash {
                        self.invitations
                            .insert((i.org_id.clone(), i.id.clone()), *i);
                    }
                    !clash
                }
            }
        }

        fn members_of(&self, org: &OrgId) -> Vec<Member> {
            self.members
                .values()
                .filter(|m| &m.org_id == org)
                .cloned()
                .collect()
        }

        fn invitations_of(&self, org: &OrgId) -> Vec<Invitation> {
            self.invitations
                .values()
                .filter(|i| &i.org_id == org)
                .cloned()
                .collect()
        }

        /// Every read of the store agrees with the model.
        fn check(&self, tx: &mut dyn Transaction) {
            let now = t(10);
            for o in 0..2 {
                let org = org_id(o);
                let members = self.members_of(&org);
                let invitations = self.invitations_of(&org);
                let live = |m: &&Member| m.status != MemberStatus::Removed;
                for id in 0..6 {
                    let id = MemberId(format!("mem_{id}"));
                    let want = self.members.get(&(org.clone(), id.clone())).cloned();
                    assert_eq!(tx.member(&org, &id).expect("read"), want);
                    let id = InvitationId(format!("inv_{id}", id = &id.0[4..]));
                    let want = self.invitations.get(&(org.clone(), id.clone())).cloned();
                    assert_eq!(tx.invitation(&org, &id).expect("read"), want);
                }
                for c in 0..4 {
                    let key = format!("c{c}");
                    let want = members.iter().filter(live).find(|m| m.contact_key == key);
                    assert_eq!(
                        tx.member_by_contact(&org, &key).expect("read").as_ref(),
                        want
                    );
                    let want = invitations
                        .iter()
                        .find(|i| i.status.is_open() && i.recipient_key == key);
                    assert_eq!(
                        tx.open_invitation_for(&org, &key).expect("read").as_ref(),
                        want
                    );
                }
                for u in 0..3 {
                    let user_ref = format!("u{u}");
                    let want = members
                        .iter()
                        .filter(live)
                        .find(|m| m.user_ref.as_deref() == Some(user_ref.as_str()));
                    assert_eq!(
                        tx.member_by_user_ref(&org, &user_ref)
                            .expect("read")
                            .as_ref(),
                        want
                    );
                }
                for s in 0..4 {
                    let want = invitations.iter().find(|i| i.secret_hash == Some(hash(s)));
                    assert_eq!(
                        tx.invitation_by_secret(&org, &hash(s))
                            .expect("read")
                            .as_ref(),
                        want
                    );
                }
                for role in ROLES {
                    let want = members
                        .iter()
                        .filter(|m| m.role == role && m.status == MemberStatus::Active)
                        .count() as u64;
                    assert_eq!(tx.count_active_with_role(&org, role).expect("count"), want);
                }
                let mut want_seats = Vec::new();
                for license in ["pro", "standard"] {
                    let count = SeatCount {
                        members: members
                            .iter()
                            .filter(|m| m.license_type == license && m.holds_seat())
                            .count() as u64,
                        open_invitations: invitations
                            .iter()
                            .filter(|i| i.license_type == license && i.status.is_open())
                            .count() as u64,
                    };
                    assert_eq!(tx.seat_count(&org, license).expect("count"), count);
                    if count != SeatCount::default() {
                        want_seats.push((license.to_owned(), count));
                    }
                }
                assert_eq!(tx.seat_counts(&org).expect("counts"), want_seats);
                for g in 0..3 {
                    let gid = GroupId(format!("grp_{g}"));
                    let want = members
                        .iter()
                        .filter(live)
                        .filter(|m| m.groups.iter().any(|x| x.group_id == gid))
                        .count() as u64;
                    let got = tx.group(&org, &gid).expect("read").expect("exists");
                    assert_eq!(got.member_count, want);
                    let q = MemberQuery {
                        group: Some(gid),
                        statuses: vec![MemberStatus::Removed, MemberStatus::Active],
                        sort: MemberSort::EmailDesc,
                        limit: 2,
                        ..MemberQuery::default()
                    };
                    assert_eq!(all_members(tx, &org, q.clone()), expected(&members, &q));
                }
                let q = MemberQuery {
                    limit: 2,
                    ..MemberQuery::default()
                };
                assert_eq!(all_members(tx, &org, q.clone()), expected(&members, &q));
                let q = InvitationQuery {
                    limit: 2,
                    ..InvitationQuery::default()
                };
                let mut want = invitations.clone();
                want.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
                assert_eq!(all_invitations(tx, &org, q, now), want);
                let mut due: Vec<Invitation> = invitations
                    .iter()
                    .filter(|i| i.status == InvitationStatus::Pending)
                    .filter(|i| i.expires_at.is_some_and(|e| e <= now))
                    .cloned()
                    .collect();
                due.sort_by(|a, b| (a.expires_at, &a.id).cmp(&(b.expires_at, &b.id)));
                assert_eq!(tx.due_invitations(Some(&org), now, 100).expect("due"), due);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn matches_a_naive_model(
            txs in proptest::collection::vec(
                (proptest::collection::vec(op_strategy(), 1..8), any::<bool>()),
                1..10,
            )
        ) {
            let store = MemoryStore::new();
            let mut tx = begin(&store);
            for o in 0..2 {
                for g in 0..3 {
                    tx.put_group(&group(&org_id(o), &format!("grp_{g}"))).expect("put");
                }
            }
            tx.commit().expect("commit");
            let mut committed = Model::default();
            for (ops, commit) in txs {
                let before = snapshot(&store);
                let mut working = committed.clone();
                let mut tx = begin(&store);
                for op in &ops {
                    let allowed = working.apply(op);
                    let result = match build(op) {
                        Built::Member(m) => tx.put_member(&m),
                        Built::Invitation(i) => tx.put_invitation(&i),
                    };
                    match result {
                        Ok(()) => prop_assert!(allowed, "store accepted a clash: {op:?}"),
                        Err(StoreError::Unique(_)) => {
                            prop_assert!(!allowed, "store refused {op:?}")
                        }
                        Err(e) => prop_assert!(false, "unexpected error {e:?}"),
                    }
                    working.check(&mut *tx);
                }
                if commit {
                    tx.commit().expect("commit");
                    committed = working;
                } else {
                    drop(tx);
                    prop_assert_eq!(snapshot(&store), before);
                }
                committed.check(&mut *begin(&store));
                assert_consistent(&store);
            }
        }
    }
}

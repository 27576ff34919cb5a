//! The state of a MemoryStore: entities and their indexes, and the undo
//! log's entries.

use crate::event::Event;
use crate::group::Group;
use crate::id::{BatchId, GroupId, InvitationId, LinkId, MemberId, MessageId, OrgId};
use crate::invitation::{InvitationStatus, StoredInvitation};
use crate::link::StoredInviteLink;
use crate::member::{Member, MemberStatus};
use crate::organization::Organization;
use crate::outbox::{OutboxMessage, OutboxStatus};
use crate::report::BatchReport;
use crate::secret::SecretHash;
use crate::template::{EmailSettings, EmailTemplate};
use chrono::{DateTime, Utc};
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

/// `(contact_key, member id)`: the sort key of members.
pub(super) type MemberKey = (String, MemberId);
/// `(time, invitation id)`: the sort key of invitations (by creation or by
/// expiry, depending on the set).
pub(super) type InvitationKey = (DateTime<Utc>, InvitationId);
/// `(time, message id)`: the sort key of messages (by creation or by next
/// attempt, depending on the set).
pub(super) type MessageKey = (DateTime<Utc>, MessageId);

/// Everything the store holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct State {
    /// One shard per organization.
    pub(super) orgs: BTreeMap<OrgId, OrgData>,
    /// Every outbox message, by id.
    pub(super) outbox: BTreeMap<MessageId, OutboxMessage>,
    /// Queued messages of every organization by `(next_attempt_at, id)`.
    pub(super) due_outbox: BTreeSet<MessageKey>,
    /// Stored-pending invitations with an expiry, of every organization.
    pub(super) due_invitations: BTreeSet<(DateTime<Utc>, OrgId, InvitationId)>,
    /// The event feed: position (from 1) to the organization and `seq` of
    /// its event. Writers run one at a time, so position order is commit
    /// order; a rolled-back event's position was never seen by anyone.
    pub(super) feed: BTreeMap<u64, (OrgId, u64)>,
    /// Every organization by slug (the uniqueness rule).
    pub(super) slugs: BTreeMap<String, OrgId>,
    /// Organizations not deleted by slug: the list of all organizations.
    pub(super) listed: BTreeMap<String, OrgId>,
    /// The same by `(lowercased name, slug)`: the name side of the list's
    /// prefix search.
    pub(super) listed_names: BTreeSet<(String, String)>,
    /// Non-removed members with a `user_ref`, by `(user_ref, org)`: the
    /// organizations of an account.
    pub(super) accounts: BTreeMap<(String, OrgId), MemberId>,
    /// Stored-pending invitations of every organization by person: under
    /// `k:<recipient key>`, and under `u:<user_ref>` when bound to an
    /// account; then `(created_at, org, id)` (the invitee's inbox).
    pub(super) by_person: BTreeSet<PersonEntry>,
    /// The organization holding each verified domain.
    pub(super) verified_domains: BTreeMap<String, OrgId>,
}

/// `(person key, created_at, org, id)`: an entry of [`State::by_person`].
pub(super) type PersonEntry = (String, DateTime<Utc>, OrgId, InvitationId);

/// The [`State::by_person`] entries of a stored invitation.
pub(super) fn person_entries(inv: &StoredInvitation) -> Vec<PersonEntry> {
    if inv.status != InvitationStatus::Pending {
        return Vec::new();
    }
    let entry = |k: String| (k, inv.created_at, inv.org_id.clone(), inv.id.clone());
    let mut out = vec![entry(format!("k:{}", inv.recipient_key))];
    if let Some(u) = &inv.user_ref {
        out.push(entry(format!("u:{u}")));
    }
    out
}

/// The shard of one organization.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct OrgData {
    pub(super) organization: Option<Organization>,
    /// Stored with `member_count` 0; the count is derived on read.
    pub(super) groups: BTreeMap<GroupId, Group>,
    /// Members in `(contact_key, id)` order, so that a page reads
    /// neighbouring entries.
    pub(super) members: Table<String, MemberId, Member>,
    pub(super) member_ix: MemberIndexes,
    /// Invitations in `(created_at, id)` order.
    pub(super) invitations: Table<DateTime<Utc>, InvitationId, StoredInvitation>,
    pub(super) invitation_ix: InvitationIndexes,
    /// Invitation links by id (the default one is [`LinkId::DEFAULT`]).
    pub(super) links: BTreeMap<LinkId, StoredInviteLink>,
    /// `events[i].seq == i + 1`.
    pub(super) events: Vec<Event>,
    /// Queued messages per invitation, by `(created_at, id)`.
    pub(super) queued_outbox: BTreeMap<InvitationId, BTreeSet<MessageKey>>,
    /// Queued messages by `(next_attempt_at, id)`.
    pub(super) due_outbox: BTreeSet<MessageKey>,
    /// Failed messages (the dead letters) by `(created_at, id)`.
    pub(super) failed_outbox: BTreeSet<MessageKey>,
    pub(super) email_settings: Option<EmailSettings>,
    /// Email templates by locale tag.
    pub(super) email_templates: BTreeMap<String, EmailTemplate>,
    /// Batch reports by batch id.
    pub(super) batch_reports: BTreeMap<BatchId, BatchReport>,
    /// Every outbox message of the organization, whatever its status (to
    /// purge them).
    pub(super) outbox_ids: BTreeSet<MessageId>,
    /// Domain claims by domain.
    pub(super) domains: BTreeMap<String, crate::domain::StoredDomain>,
    /// Membership requests by id.
    pub(super) requests: BTreeMap<crate::id::MembershipRequestId, crate::domain::MembershipRequest>,
}

/// Entities stored in their list order `(sort key, id)`, with a locator
/// from id to sort key. Pages walk an index in list order and fetch each
/// entity by its sort key: those look-ups follow neighbouring paths of the
/// tree, which stay in cache, whereas look-ups by random ids would miss the
/// cache at almost every level of a tree of a million entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Table<S, I, V> {
    pub(super) rows: BTreeMap<(S, I), V>,
    pub(super) sort_key: BTreeMap<I, S>,
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
    pub(super) fn get(&self, id: &I) -> Option<&V> {
        let sort = self.sort_key.get(id)?;
        self.rows.get(&(sort.clone(), id.clone()))
    }

    /// An entity by `(sort key, id)`.
    pub(super) fn get_sorted(&self, key: &(S, I)) -> Option<&V> {
        self.rows.get(key)
    }

    /// Removes an entity by id.
    pub(super) fn remove(&mut self, id: &I) -> Option<V> {
        let sort = self.sort_key.remove(id)?;
        self.rows.remove(&(sort, id.clone()))
    }

    /// Inserts an entity whose id is not in the table.
    pub(super) fn insert(&mut self, sort: S, id: I, value: V) {
        self.sort_key.insert(id.clone(), sort.clone());
        self.rows.insert((sort, id), value);
    }

    /// Every entity, in list order.
    pub(super) fn values(&self) -> impl Iterator<Item = &V> {
        self.rows.values()
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
    /// Non-removed members by contact key.
    pub(super) by_contact: BTreeMap<String, MemberId>,
    /// Non-removed members by host account id.
    pub(super) by_user_ref: BTreeMap<String, MemberId>,
    /// Every member.
    pub(super) all: ByStatus,
    /// Members per role.
    pub(super) by_role: BTreeMap<String, ByStatus>,
    /// Members per group.
    pub(super) by_group: BTreeMap<GroupId, ByStatus>,
    /// Active members per license type (never 0: absent instead).
    pub(super) active_seats: BTreeMap<String, u64>,
}

impl MemberIndexes {
    /// Adds (or removes) every index entry and count of `m`.
    pub(super) fn apply(&mut self, m: &Member, add: bool) {
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
pub(super) struct InvitationIndexes {
    /// Invitations by current secret hash (unique).
    pub(super) by_secret: BTreeMap<SecretHash, InvitationId>,
    /// Open (stored staged or pending) invitations by recipient key (unique).
    pub(super) open_by_recipient: BTreeMap<String, InvitationId>,
    /// `(created_at, id)` per stored status.
    pub(super) by_status: [BTreeSet<InvitationKey>; 6],
    /// `(created_at, id)` per batch.
    pub(super) by_batch: BTreeMap<BatchId, BTreeSet<InvitationKey>>,
    /// Open invitations per license type (never 0: absent instead).
    pub(super) open_seats: BTreeMap<String, u64>,
    /// Stored-pending invitations by `(expires_at, id)`.
    pub(super) due: BTreeSet<InvitationKey>,
}

impl InvitationIndexes {
    /// Adds (or removes) every index entry and count of `inv` in its shard.
    pub(super) fn apply(&mut self, inv: &StoredInvitation, add: bool) {
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
pub(super) fn due_at(inv: &StoredInvitation) -> Option<DateTime<Utc>> {
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

/// Points `key` at `id` in a uniqueness index, or removes it if it points at
/// `id`.
pub(super) fn set_unique<K, Q, V>(map: &mut BTreeMap<K, V>, key: &Q, id: &V, add: bool)
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
pub(super) fn apply_keyed<K: Ord + Clone>(
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
pub(super) fn bump(map: &mut BTreeMap<String, u64>, key: &str, add: bool) {
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

pub(super) fn as_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl State {
    /// The shard of `org`, created if missing. Writers call
    /// [`MemoryTx::ensure_org`] first so that the creation is undone.
    pub(super) fn org_mut(&mut self, org: &OrgId) -> &mut OrgData {
        self.orgs.entry(org.clone()).or_default()
    }

    /// Sets (or removes) a member, keeping its indexes; returns the previous
    /// value.
    pub(super) fn replace_member(
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
        let account = |m: &Member| match (&m.user_ref, m.status) {
            (Some(r), s) if s != MemberStatus::Removed => Some((r.clone(), org.clone())),
            _ => None,
        };
        if let Some(key) = prev.as_ref().and_then(account) {
            if self.accounts.get(&key) == Some(id) {
                self.accounts.remove(&key);
            }
        }
        if let Some(n) = new {
            if let Some(key) = account(&n) {
                self.accounts.insert(key, id.clone());
            }
            let data = self.org_mut(org);
            data.member_ix.apply(&n, true);
            data.members.insert(n.contact_key.clone(), id.clone(), n);
        }
        prev
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
    /// global due set); returns the previous value.
    pub(super) fn replace_invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
        new: Option<StoredInvitation>,
    ) -> Option<StoredInvitation> {
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
            for e in person_entries(p) {
                self.by_person.remove(&e);
            }
        }
        if let Some(n) = new {
            self.by_person.extend(person_entries(&n));
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
    pub(super) fn replace_outbox(
        &mut self,
        id: &MessageId,
        new: Option<OutboxMessage>,
    ) -> Option<OutboxMessage> {
        let prev = self.outbox.remove(id);
        if let Some(p) = &prev {
            self.index_outbox(p, false);
            if let Some(data) = self.orgs.get_mut(&p.org_id) {
                data.outbox_ids.remove(id);
            }
        }
        if let Some(n) = new {
            self.index_outbox(&n, true);
            self.org_mut(&n.org_id).outbox_ids.insert(id.clone());
            self.outbox.insert(id.clone(), n);
        }
        prev
    }

    pub(super) fn index_outbox(&mut self, msg: &OutboxMessage, add: bool) {
        if msg.status == OutboxStatus::Failed {
            let created = (msg.created_at, msg.id.clone());
            if add {
                self.org_mut(&msg.org_id).failed_outbox.insert(created);
            } else if let Some(data) = self.orgs.get_mut(&msg.org_id) {
                data.failed_outbox.remove(&created);
            }
            return;
        }
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
                self.feed.pop_last();
            }
            Undo::Outbox(id, prev) => {
                self.replace_outbox(&id, prev.map(|b| *b));
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
    Organization(OrgId, Option<Box<Organization>>),
    Group(OrgId, GroupId, Option<Box<Group>>),
    Member(OrgId, MemberId, Option<Box<Member>>),
    Invitation(OrgId, InvitationId, Option<Box<StoredInvitation>>),
    Link(OrgId, LinkId, Option<Box<StoredInviteLink>>),
    /// An event was appended: pop it.
    Event(OrgId),
    Outbox(MessageId, Option<Box<OutboxMessage>>),
    EmailSettings(OrgId, Option<Box<EmailSettings>>),
    EmailTemplate(OrgId, String, Option<Box<EmailTemplate>>),
    BatchReport(OrgId, BatchId, Option<Box<BatchReport>>),
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

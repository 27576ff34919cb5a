//! The transaction: reads and writes on the state, with the undo log.

use super::packed::{PackedInvitation, PackedMessage, PackedReport};
use super::state::{
    ByStatus, DueSet, Few, FirstDue, Headed, InvitationKey, OrgData, State, TimeKey, Undo, as_u64,
    first_time, invitation_slot, keep_first_due,
};
use super::walk::{empty_page, page_of, parse_invitation_cursor, parse_member_cursor, walk};
use super::walk::{invitation_cursor, member_cursor};
use crate::domain::{DomainStatus, MembershipRequest, MembershipRequestQuery, StoredDomain};
use crate::error::{StoreError, UniqueRule};
use crate::event::Event;
use crate::group::Group;
use crate::id::{
    BatchId, GroupId, InvitationId, LinkId, MemberId, MembershipRequestId, MessageId, OrgId,
};
use crate::invitation::{InvitationQuery, InvitationStatus, StoredInvitation};
use crate::link::StoredInviteLink;
use crate::member::{Member, MemberQuery, MemberSort, MemberStatus, Page};
use crate::organization::{Organization, OrganizationQuery};
use crate::outbox::OutboxMessage;
use crate::report::BatchReport;
use crate::secret::SecretHash;
use crate::store::{KeyStanding, SeatCount, StoreResult, Transaction, WriterGuard, page_limit};
use crate::store::{collect_page, cursor};
use crate::template::{EmailSettings, EmailTemplate};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A transaction: the store's lock plus the undo log.
pub(super) struct MemoryTx<'a> {
    pub(super) state: WriterGuard<'a, State>,
    pub(super) undo: Vec<Undo>,
}

impl Drop for MemoryTx<'_> {
    fn drop(&mut self) {
        // Empty after commit; otherwise roll back, newest write first.
        while let Some(undo) = self.undo.pop() {
            self.state.revert(undo);
        }
        let log = std::mem::take(&mut self.undo);
        self.state.spare_undo.keep(log);
        // The guard is released after this, when the fields are dropped.
    }
}

impl MemoryTx<'_> {
    fn data(&self, org: &OrgId) -> Option<&OrgData> {
        self.state.orgs.get(org)
    }

    /// Creates the shard of `org` if missing, logging the creation.
    /// The shard of `org`, made (and its making noted for a rollback)
    /// when it has none: one probe, the id shared, not copied.
    fn ensure_org(&mut self, org: &OrgId) -> &mut OrgData {
        match self.state.orgs.entry(org.clone()) {
            hashbrown::hash_map::Entry::Occupied(e) => e.into_mut(),
            hashbrown::hash_map::Entry::Vacant(v) => {
                self.undo.push(Undo::OrgCreated(org.clone()));
                v.insert(OrgData::default())
            }
        }
    }

    fn with_count(data: &OrgData, group: &Group) -> Group {
        let mut g = group.clone();
        g.member_count = data.member_ix.by_group.get(&g.id).map_or(0, ByStatus::live);
        g
    }
}

impl MemoryTx<'_> {
    /// One walk of the inbox: the invitations in `list` (an inbox list of
    /// [`State`](super::state::State)), newest first, after the cursor,
    /// kept by `lookup`, at most `take` of them.
    fn person_walk(
        &self,
        list: Option<&[crate::store::inbox::PersonKey]>,
        lookup: &crate::store::PersonLookup,
        after: Option<&crate::store::inbox::PersonKey>,
        now: DateTime<Utc>,
        take: usize,
    ) -> StoreResult<Vec<StoredInvitation>> {
        let state = &*self.state;
        let mut out = Vec::new();
        let Some(list) = list else {
            return Ok(out);
        };
        // Newest first: walk down from the cursor (exclusive), or from the
        // end of the list.
        let end = after.map_or(list.len(), |a| list.partition_point(|k| k < a));
        for (_, org, id) in list.get(..end).unwrap_or_default().iter().rev() {
            let inv = state
                .orgs
                .get(org)
                .and_then(|d| d.invitations.get(id))
                .map(PackedInvitation::unpack)
                .ok_or_else(|| {
                    StoreError::Corrupt("the person index names a missing invitation".to_owned())
                })?;
            if lookup.matches(&inv, now) {
                out.push(inv);
                if out.len() >= take {
                    break;
                }
            }
        }
        Ok(out)
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
        if let Some(other) = self.state.slugs.get(&org.slug) {
            if other != &org.id && !org.slug.is_empty() {
                return Err(StoreError::Unique(UniqueRule::OrganizationSlug));
            }
        }
        self.ensure_org(&org.id);
        let prev = self.state.replace_organization(&org.id, Some(org.clone()));
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
        let mut stored = group.clone();
        stored.member_count = 0;
        let prev = self
            .ensure_org(&group.org_id)
            .groups
            .insert(group.id.clone(), stored);
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
                if let Some(other) = ix.by_contact.get(member.contact_key.as_str()) {
                    if other != &member.id {
                        return Err(StoreError::Unique(UniqueRule::MemberContactKey));
                    }
                }
                if let Some(user_ref) = &member.user_ref {
                    if let Some(other) = ix.by_user_ref.get(user_ref.as_str()) {
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
            match ix.by_role.get(role.as_str()) {
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
        page_of(
            walks,
            desc,
            |key| data.members.get_sorted(&key.0, &key.1),
            (|m| query.matches(m), Member::clone),
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

    fn invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
    ) -> StoreResult<Option<StoredInvitation>> {
        Ok(self
            .data(org)
            .and_then(|d| d.invitations.get(id).map(PackedInvitation::unpack)))
    }

    fn invitation_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<StoredInvitation>> {
        Ok(self.data(org).and_then(|d| {
            d.invitation_ix
                .by_secret
                .get(hash)
                .and_then(|id| d.invitations.get(id).map(PackedInvitation::unpack))
        }))
    }

    fn prefetch_recipients(&mut self, org: &OrgId, keys: &[crate::Text]) -> StoreResult<()> {
        let Some(d) = self.data(org) else {
            return Ok(());
        };
        for key in keys {
            std::hint::black_box((
                d.invitation_ix.open_by_recipient.get(key.as_str()),
                d.member_ix.by_contact.get(key.as_str()),
                self.state.by_recipient.get(key.as_str()),
            ));
        }
        Ok(())
    }

    fn open_invitation_for(
        &mut self,
        org: &OrgId,
        key: &str,
    ) -> StoreResult<Option<StoredInvitation>> {
        Ok(self.data(org).and_then(|d| {
            d.invitation_ix
                .open_by_recipient
                .get(key)
                .and_then(|id| d.invitations.get(id).map(PackedInvitation::unpack))
        }))
    }

    fn put_invitation(&mut self, inv: &StoredInvitation) -> StoreResult<()> {
        if let Some(data) = self.data(&inv.org_id) {
            let ix = &data.invitation_ix;
            if let Some(hash) = inv.lookup_hash() {
                if let Some(other) = ix.by_secret.get(hash) {
                    if other != &inv.id {
                        return Err(StoreError::Unique(UniqueRule::InvitationSecret));
                    }
                }
            }
            if inv.status.is_open() {
                if let Some(other) = ix.open_by_recipient.get(inv.recipient_key.as_str()) {
                    if other != &inv.id {
                        return Err(StoreError::Unique(UniqueRule::InvitationOpenRecipient));
                    }
                }
            }
        }
        self.ensure_org(&inv.org_id);
        let prev =
            self.state
                .replace_invitation(&inv.org_id, &inv.id, Some(PackedInvitation::of(inv)));
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
    ) -> StoreResult<Page<StoredInvitation>> {
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
            InvitationStatus::ALL
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
        page_of(
            walks,
            true,
            |key| data.invitations.get_sorted(&key.at(), &key.id),
            (
                |inv: &PackedInvitation| {
                    (query.statuses.is_empty() || query.statuses.contains(&inv.status_at(now)))
                        && query.batch.as_ref().is_none_or(|b| &inv.batch_id == b)
                        && search.as_ref().is_none_or(|(raw, lower)| {
                            inv.recipient_key.contains(raw.as_str())
                                || inv.recipient_key.contains(lower.as_str())
                        })
                },
                PackedInvitation::unpack,
            ),
            limit,
            invitation_cursor,
        )
    }

    fn due_invitations(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<StoredInvitation>> {
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
                    .take_while(|key| key.at() <= now)
                    .take(limit)
                    .map(|key| {
                        data.invitations
                            .get(&key.id)
                            .map(PackedInvitation::unpack)
                            .ok_or_else(missing)
                    })
                    .collect()
            }
            None => state
                .due_invitations_all(now, limit)
                .into_iter()
                .map(|(org, id)| {
                    state
                        .orgs
                        .get(org)
                        .and_then(|d| d.invitations.get(id))
                        .map(PackedInvitation::unpack)
                        .ok_or_else(missing)
                })
                .collect(),
        }
    }

    fn append_event(&mut self, mut event: Event) -> StoreResult<u64> {
        let org = event.org_id.clone();
        let events = &mut self.ensure_org(&org).events;
        let seq = as_u64(events.len()).saturating_add(1);
        event.seq = seq;
        events.push(event);
        self.state.feed.push((org.clone(), seq));
        self.undo.push(Undo::Event(org));
        Ok(seq)
    }

    fn events(&mut self, org: &OrgId, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        let Some(data) = self.data(org) else {
            return Ok(Vec::new());
        };
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(data.events.len());
        Ok(data.events.iter_from(start).take(limit).cloned().collect())
    }

    fn event_feed(
        &mut self,
        after: Option<&str>,
        kinds: &[String],
        limit: usize,
    ) -> StoreResult<Vec<crate::FeedEvent>> {
        let start = match after {
            None => 0,
            Some(a) => a.parse::<u64>().map_err(|_| StoreError::InvalidCursor {
                list: "event feed".into(),
            })?,
        };
        let mut out = Vec::new();
        let from = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(self.state.feed.len());
        for (i, (org, seq)) in (from..).zip(self.state.feed.iter_from(from)) {
            if out.len() >= limit {
                break;
            }
            let position = as_u64(i).saturating_add(1);
            let event = usize::try_from(*seq)
                .ok()
                .and_then(|s| s.checked_sub(1))
                .and_then(|i| self.data(org)?.events.get(i));
            // An event deleted with its organization is gone from the feed,
            // also once the organization is made again (its new events are
            // numbered from 1 again).
            let purged = !self.state.feed_purged.is_empty()
                && self.state.feed_purged.get(org).is_some_and(|&cut| i < cut);
            let Some(event) = event.filter(|_| !purged) else {
                continue;
            };
            if kinds.is_empty() || kinds.contains(&crate::event_kind_name(&event.kind)) {
                out.push(crate::FeedEvent::new(position.to_string(), event.clone()));
            }
        }
        Ok(out)
    }

    fn put_outbox_message(&mut self, msg: OutboxMessage) -> StoreResult<()> {
        self.ensure_org(&msg.org_id);
        let id = msg.id.clone();
        let prev = self.state.replace_outbox(&id, Some(PackedMessage::of(msg)));
        self.undo.push(Undo::Outbox(id, prev.map(Box::new)));
        Ok(())
    }

    fn outbox_message(&mut self, id: &MessageId) -> StoreResult<Option<OutboxMessage>> {
        Ok(self.state.outbox.get(id).map(|m| m.unpack()))
    }

    fn due_outbox(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let state = &*self.state;
        let ids: Vec<&MessageId> = match org {
            Some(org) => match state.orgs.get(org) {
                Some(data) => data
                    .due_outbox
                    .iter()
                    .take_while(|key| key.at() <= now)
                    .take(limit)
                    .map(|key| &key.id)
                    .collect(),
                None => return Ok(Vec::new()),
            },
            None => state.due_outbox_all(now, limit),
        };
        ids.into_iter()
            .map(|id| {
                state.outbox.get(id).map(|m| m.unpack()).ok_or_else(|| {
                    StoreError::Corrupt("the due index names a missing message".to_owned())
                })
            })
            .collect()
    }

    fn next_outbox_due(&mut self, org: Option<&OrgId>) -> StoreResult<Option<DateTime<Utc>>> {
        let state = &*self.state;
        Ok(match org {
            Some(org) => state
                .orgs
                .get(org)
                .and_then(|data| first_time(&data.due_outbox)),
            None => state.due_outbox_orgs.first().map(|(at, _)| *at),
        })
    }

    fn failed_outbox(
        &mut self,
        org: &OrgId,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<OutboxMessage>> {
        let after = after
            .map(crate::store::cursor::parse_message)
            .transpose()?
            .map(|(at, id)| TimeKey::new(at, id));
        let state = &*self.state;
        let Some(data) = state.orgs.get(org) else {
            return Ok(empty_page());
        };
        page_of(
            vec![walk(&data.failed_outbox, after.as_ref(), true)],
            true,
            |key| state.outbox.get(&key.id).map(|m| &**m),
            (|_| true, PackedMessage::unpack),
            page_limit(limit),
            |key| {
                let at = key.at();
                crate::store::cursor::message(
                    at.timestamp(),
                    i64::from(at.timestamp_subsec_nanos()),
                    key.id.as_str(),
                )
            },
        )
    }

    fn queued_messages_for(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let state = &*self.state;
        let Some(data) = state.orgs.get(org) else {
            return Ok(Vec::new());
        };
        let mut messages = data
            .queued_ids(invitation)
            .map(|id| {
                state.outbox.get(id).map(|m| m.unpack()).ok_or_else(|| {
                    StoreError::Corrupt("the queue index names a missing message".to_owned())
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        // In the order they were queued (the index keeps them by id).
        messages.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(messages)
    }

    fn supersede_queued_messages(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<()> {
        // Changed where they lie: no copy of a message is read or written
        // back, its map entry, box and place in `outbox_ids` stay, and the
        // undo log keeps only what changes (status, link, bodies). Taken
        // out of the queue index here; an undone superseding puts each
        // back through `replace_outbox`, which indexes it again.
        let State {
            orgs,
            outbox,
            due_outbox_orgs,
            ..
        } = &mut *self.state;
        let Some(OrgData {
            invitations,
            queued_outbox,
            due_outbox,
            ..
        }) = orgs.get_mut(org)
        else {
            return Ok(());
        };
        let held = invitations.get_mut(invitation).map(|i| &mut i.queued);
        let listed = if queued_outbox.is_empty() {
            None
        } else {
            queued_outbox.remove(invitation)
        };
        if matches!((&held, &listed), (None | Some(None), None)) {
            // The common accept, its email sent: nothing else is read.
            return Ok(());
        }
        let first = FirstDue::of(due_outbox);
        match (held, listed) {
            (None | Some(None), None) => return Ok(()),
            // The usual one, held by the invitation: found by the look-up
            // that changes it.
            (Some(held), None) => {
                let Some(m) = held.as_ref().and_then(|id| outbox.get_mut(id)) else {
                    return Err(missing_message());
                };
                if let Some(id) = held.take() {
                    supersede(due_outbox, &mut self.undo, m, id);
                }
            }
            // Every message named is there before anything changes.
            (held, Some(listed)) => {
                let named = held.as_deref().and_then(Option::as_ref);
                if named
                    .into_iter()
                    .chain(listed.as_slice())
                    .any(|id| !outbox.contains_key(id))
                {
                    queued_outbox.insert(invitation.clone(), listed);
                    return Err(missing_message());
                }
                for id in held.and_then(Option::take).into_iter().chain(listed) {
                    if let Some(m) = outbox.get_mut(&id) {
                        supersede(due_outbox, &mut self.undo, m, id);
                    }
                }
            }
        }
        keep_first_due(due_outbox_orgs, org, first, FirstDue::of(due_outbox));
        Ok(())
    }

    fn email_settings(&mut self, org: &OrgId) -> StoreResult<Option<EmailSettings>> {
        Ok(self.data(org).and_then(|d| d.email_settings.clone()))
    }

    fn put_email_settings(&mut self, settings: &EmailSettings) -> StoreResult<()> {
        let prev = self
            .ensure_org(&settings.org_id)
            .email_settings
            .replace(settings.clone());
        self.undo.push(Undo::EmailSettings(
            settings.org_id.clone(),
            prev.map(Box::new),
        ));
        Ok(())
    }

    fn email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<Option<EmailTemplate>> {
        Ok(self
            .data(org)
            .and_then(|d| d.email_templates.get(locale).cloned()))
    }

    fn email_templates(&mut self, org: &OrgId) -> StoreResult<Vec<EmailTemplate>> {
        Ok(self
            .data(org)
            .map(|d| d.email_templates.values().cloned().collect())
            .unwrap_or_default())
    }

    fn put_email_template(&mut self, template: &EmailTemplate) -> StoreResult<()> {
        let prev = self
            .ensure_org(&template.org_id)
            .email_templates
            .insert(template.locale.clone(), template.clone());
        self.undo.push(Undo::EmailTemplate(
            template.org_id.clone(),
            template.locale.clone(),
            prev.map(Box::new),
        ));
        Ok(())
    }

    fn delete_email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<bool> {
        let Some(data) = self.state.orgs.get_mut(org) else {
            return Ok(false);
        };
        let prev = data.email_templates.remove(locale);
        let existed = prev.is_some();
        if existed {
            self.undo.push(Undo::EmailTemplate(
                org.clone(),
                locale.to_owned(),
                prev.map(Box::new),
            ));
        }
        Ok(existed)
    }

    fn put_batch_report(&mut self, report: BatchReport) -> StoreResult<()> {
        let (org, batch) = (report.org_id.clone(), report.batch_id.clone());
        let prev = self
            .ensure_org(&org)
            .batch_reports
            .insert(batch.clone(), PackedReport::of(report));
        self.undo
            .push(Undo::BatchReport(org, batch, prev.map(Box::new)));
        Ok(())
    }

    fn batch_report(&mut self, org: &OrgId, batch: &BatchId) -> StoreResult<Option<BatchReport>> {
        Ok(self
            .data(org)
            .and_then(|d| d.batch_reports.get(batch).map(PackedReport::unpack)))
    }

    fn delete_batch_reports_before(
        &mut self,
        org: &OrgId,
        before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<u64> {
        let Some(data) = self.state.orgs.get_mut(org) else {
            return Ok(0);
        };
        let mut old: Vec<(DateTime<Utc>, BatchId)> = data
            .batch_reports
            .iter()
            .filter(|(_, r)| r.created_at() < before)
            .map(|(id, r)| (r.created_at(), id.clone()))
            .collect();
        old.sort();
        old.truncate(limit);
        for (_, id) in &old {
            let prev = data.batch_reports.remove(id);
            self.undo.push(Undo::BatchReport(
                org.clone(),
                id.clone(),
                prev.map(Box::new),
            ));
        }
        Ok(old.len() as u64)
    }

    fn standing(
        &mut self,
        org: &OrgId,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, KeyStanding)>> {
        let Some(data) = self.data(org) else {
            return Ok(Vec::new());
        };
        let keys: BTreeSet<&String> = keys.iter().collect();
        let mut out = Vec::new();
        for key in keys {
            let member = data.member_ix.by_contact.get(key.as_str()).cloned();
            let invitation = data
                .invitation_ix
                .open_by_recipient
                .get(key.as_str())
                .and_then(|id| data.invitations.get(id))
                .filter(|i| i.status_at(now).is_open())
                .map(|i| i.id.clone());
            if member.is_some() || invitation.is_some() {
                out.push((key.clone(), KeyStanding { member, invitation }));
            }
        }
        Ok(out)
    }

    fn people(
        &mut self,
        org: &OrgId,
        query: &crate::people::PeopleQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<crate::people::Person>> {
        let Some(data) = self.data(org) else {
            return Ok(empty_page());
        };
        crate::store::people::page_by_walks(query, now, |w| {
            super::people::walk(data, query, now, w)
        })
    }

    fn open_invitations_by_inviter(
        &mut self,
        org: &OrgId,
        inviter: &MemberId,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        // The reference store walks its index of open invitations (one per
        // recipient); SQLite and Postgres read an index by inviter.
        let Some(data) = self.data(org) else {
            return Ok(0);
        };
        let n = data
            .invitation_ix
            .open_by_recipient
            .values()
            .filter_map(|id| data.invitations.get(id))
            .filter(|inv| inv.inviter.as_ref() == Some(inviter))
            .filter(|inv| inv.status_at(now).is_open())
            .count();
        Ok(n as u64)
    }

    fn organization_by_slug(&mut self, slug: &str) -> StoreResult<Option<Organization>> {
        Ok(self
            .state
            .slugs
            .get(slug)
            .and_then(|id| self.data(id))
            .and_then(|d| d.organization.clone()))
    }

    fn list_organizations(&mut self, query: &OrganizationQuery) -> StoreResult<Page<Organization>> {
        use std::ops::Bound;
        let start = match &query.after {
            Some(c) => Bound::Excluded(cursor::parse_organization(c)?),
            None => Bound::Unbounded,
        };
        let prefix = query.prefix.as_deref().unwrap_or("");
        let state = &self.state;
        let org_of = |slug: &String| {
            let org = state
                .listed
                .get(slug)
                .and_then(|id| state.orgs.get(id))
                .and_then(|d| d.organization.as_ref())
                .filter(|o| {
                    o.slug.starts_with(prefix) || o.name.to_lowercase().starts_with(prefix)
                });
            Ok((slug.clone(), org))
        };
        // Organizations are cloned once taken for the page (not the one
        // read ahead for the cursor).
        let page = if prefix.is_empty() {
            let walk = state
                .listed
                .range::<String, _>((start, Bound::Unbounded))
                .map(|(slug, _)| org_of(slug));
            collect_page(walk, page_limit(query.limit), |slug| {
                Ok(cursor::organization(slug))
            })?
        } else {
            // The matches only, by slug from the prefix and by name from
            // the prefix, not every organization of the store.
            let by_slug = state
                .listed
                .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
                .map(|(slug, _)| slug)
                .take_while(|slug| slug.starts_with(prefix));
            let by_name = state
                .listed_names
                .range((
                    Bound::Included((prefix.to_owned(), String::new())),
                    Bound::Unbounded,
                ))
                .take_while(|(name, _)| name.starts_with(prefix))
                .map(|(_, slug)| slug);
            let matches: BTreeSet<&String> = by_slug.chain(by_name).collect();
            let walk = matches
                .into_iter()
                .filter(|slug| match &start {
                    Bound::Excluded(after) => *slug > after,
                    _ => true,
                })
                .map(org_of);
            collect_page(walk, page_limit(query.limit), |slug| {
                Ok(cursor::organization(slug))
            })?
        };
        Ok(Page {
            items: page.items.into_iter().cloned().collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn memberships_of(
        &mut self,
        user_ref: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<(Organization, Member)>> {
        use std::ops::Bound;
        let start = match after {
            Some(c) => {
                Bound::Excluded((Headed::new(Arc::from(user_ref)), cursor::parse_account(c)?))
            }
            None => Bound::Included((Headed::new(Arc::from(user_ref)), OrgId::from(""))),
        };
        let state = &self.state;
        let walk = state
            .accounts
            .range((start, Bound::Unbounded))
            .take_while(|((r, _), _)| &*r.text == user_ref)
            .map(|((_, org), id)| {
                let data = state.orgs.get(org);
                let found = data
                    .and_then(|d| d.organization.as_ref())
                    .filter(|o| !o.is_deleted())
                    .zip(data.and_then(|d| d.members.get(id)))
                    .map(|(o, m)| (o.clone(), m.clone()));
                Ok((org.clone(), found))
            });
        collect_page(walk, page_limit(limit), |org| {
            Ok(cursor::account(org.as_str()))
        })
    }

    fn purge_organization(&mut self, org: &OrgId) -> StoreResult<()> {
        let Some(data) = self.data(org) else {
            return Ok(());
        };
        // Newest first: each is then the last of the list when it leaves it.
        let messages: Vec<MessageId> = data.outbox_ids.newest_first().cloned().collect();
        let members: Vec<MemberId> = data.members.ids().cloned().collect();
        let invitations: Vec<InvitationId> = data.invitations.ids().cloned().collect();
        let domains: Vec<String> = data.domains.keys().cloned().collect();
        for domain in domains {
            // Through the index of verified domains, which is not in the
            // shard: a purged organization holds no domain.
            let prev = self.state.replace_domain(org, &domain, None);
            self.undo
                .push(Undo::Domain(org.clone(), domain, prev.map(Box::new)));
        }
        for id in messages {
            let prev = self.state.replace_outbox(&id, None);
            self.undo.push(Undo::Outbox(id, prev.map(Box::new)));
        }
        for id in members {
            let prev = self.state.replace_member(org, &id, None);
            self.undo
                .push(Undo::Member(org.clone(), id, prev.map(Box::new)));
        }
        for id in invitations {
            let prev = self.state.replace_invitation(org, &id, None);
            self.undo
                .push(Undo::Invitation(org.clone(), id, prev.map(Box::new)));
        }
        let prev = self.state.replace_organization(org, None);
        self.undo
            .push(Undo::Organization(org.clone(), prev.map(Box::new)));
        if let Some(rest) = self.state.orgs.remove(org) {
            self.undo.push(Undo::Shard(org.clone(), Box::new(rest)));
        }
        let cut = self.state.feed.len();
        let prev = self.state.feed_purged.insert(org.clone(), cut);
        self.undo.push(Undo::FeedPurged(org.clone(), prev));
        Ok(())
    }

    fn person_invitations(
        &mut self,
        lookup: &crate::store::PersonLookup,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<StoredInvitation>> {
        let after = lookup.after_key()?;
        let take = page_limit(lookup.limit) + 1;
        let mut walks = Vec::new();
        if let Some(u) = &lookup.user_ref {
            let list = self.state.by_account.get(u.as_str()).map(Few::as_slice);
            walks.push(self.person_walk(list, lookup, after.as_ref(), now, take)?);
        }
        if let Some(k) = &lookup.email_key {
            let list = self.state.by_recipient.get(k.as_str()).map(Few::as_slice);
            walks.push(self.person_walk(list, lookup, after.as_ref(), now, take)?);
        }
        crate::store::inbox::person_page(walks, lookup.limit)
    }

    fn org_domain(&mut self, org: &OrgId, domain: &str) -> StoreResult<Option<StoredDomain>> {
        Ok(self.data(org).and_then(|d| d.domains.get(domain).cloned()))
    }

    fn org_domains(&mut self, org: &OrgId) -> StoreResult<Vec<StoredDomain>> {
        Ok(self
            .data(org)
            .map(|d| d.domains.values().cloned().collect())
            .unwrap_or_default())
    }

    fn put_org_domain(&mut self, domain: &StoredDomain) -> StoreResult<()> {
        if domain.status == DomainStatus::Verified
            && self
                .state
                .domain_held_by_other(&domain.org_id, &domain.domain.domain)
        {
            return Err(super::domains::domain_taken());
        }
        self.ensure_org(&domain.org_id);
        let prev =
            self.state
                .replace_domain(&domain.org_id, &domain.domain.domain, Some(domain.clone()));
        self.undo.push(Undo::Domain(
            domain.org_id.clone(),
            domain.domain.domain.clone(),
            prev.map(Box::new),
        ));
        Ok(())
    }

    fn delete_org_domain(&mut self, org: &OrgId, domain: &str) -> StoreResult<bool> {
        if self
            .data(org)
            .is_none_or(|d| !d.domains.contains_key(domain))
        {
            return Ok(false);
        }
        let prev = self.state.replace_domain(org, domain, None);
        self.undo.push(Undo::Domain(
            org.clone(),
            domain.to_owned(),
            prev.map(Box::new),
        ));
        Ok(true)
    }

    fn verified_domain(&mut self, domain: &str) -> StoreResult<Option<StoredDomain>> {
        Ok(self.state.verified_domain(domain))
    }

    fn membership_request(
        &mut self,
        org: &OrgId,
        id: &MembershipRequestId,
    ) -> StoreResult<Option<MembershipRequest>> {
        Ok(self.data(org).and_then(|d| d.requests.get(id).cloned()))
    }

    fn membership_request_of(
        &mut self,
        org: &OrgId,
        user_ref: &str,
    ) -> StoreResult<Option<MembershipRequest>> {
        Ok(self.state.request_of(org, user_ref))
    }

    fn put_membership_request(&mut self, request: &MembershipRequest) -> StoreResult<()> {
        if self.state.request_account_taken(request) {
            return Err(super::domains::request_taken());
        }
        self.ensure_org(&request.org_id);
        let prev = self
            .state
            .replace_request(&request.org_id, &request.id, Some(request.clone()));
        self.undo.push(Undo::Request(
            request.org_id.clone(),
            request.id.clone(),
            prev.map(Box::new),
        ));
        Ok(())
    }

    fn membership_requests(
        &mut self,
        org: &OrgId,
        query: &MembershipRequestQuery,
    ) -> StoreResult<Page<MembershipRequest>> {
        self.state.requests_page(org, query)
    }

    fn link(&mut self, org: &OrgId, id: &LinkId) -> StoreResult<Option<StoredInviteLink>> {
        Ok(self.data(org).and_then(|d| d.links.get(id).cloned()))
    }

    fn link_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<StoredInviteLink>> {
        // An organization has at most MAX_LINKS_PER_ORG links: a scan.
        Ok(self.data(org).and_then(|d| {
            d.links
                .values()
                .find(|l| l.secret_hash.is_some_and(|h| h.ct_eq(hash)))
                .cloned()
        }))
    }

    fn links(&mut self, org: &OrgId, limit: usize) -> StoreResult<Vec<StoredInviteLink>> {
        let mut all: Vec<StoredInviteLink> = self
            .data(org)
            .map(|d| d.links.values().cloned().collect())
            .unwrap_or_default();
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        all.truncate(limit);
        Ok(all)
    }

    fn put_link(&mut self, link: &StoredInviteLink) -> StoreResult<()> {
        let prev = self
            .ensure_org(&link.org_id)
            .links
            .insert(link.id.clone(), link.clone());
        self.undo.push(Undo::Link(
            link.org_id.clone(),
            link.id.clone(),
            prev.map(Box::new),
        ));
        Ok(())
    }
}

/// Retires one queued message where it lies (its queue entry is gone
/// already): out of its organization's due set `due` (the organization's
/// place among those with due messages is the caller's), superseded, its
/// link redacted, and what changed kept in `undo`. No copy of the message
/// is read or written back.
fn supersede(
    due: &mut DueSet<MessageId>,
    undo: &mut Vec<Undo>,
    m: &mut PackedMessage,
    id: MessageId,
) {
    let key = due.remove(TimeKey::new(m.next_attempt_at, id));
    let before = Box::new(m.superseded_parts());
    m.supersede();
    undo.push(Undo::OutboxSuperseded(key.id, before));
}

fn missing_message() -> StoreError {
    StoreError::Corrupt("the queue index names a missing message".to_owned())
}

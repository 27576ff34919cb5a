//! A store written the way a third party would write one, outside the
//! crate and against the public API only: `CountingStore` wraps another
//! store and counts the transactions begun and committed through it (the
//! kind of instrumentation a host adds for its metrics). It passes the
//! conformance suite like any other store. The book's "Write your own
//! store" chapter shows this file.

// ANCHOR: store
use chrono::{DateTime, Utc};
use enlist::{
    Event, Group, GroupId, InvitationId, InvitationQuery, Member, MemberId, MemberQuery, MessageId,
    OrgId, Organization, OutboxMessage, Page, SeatCount, SecretHash, Store, StoreResult,
    StoredInvitation, StoredInviteLink, Transaction,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts of what went through a [`CountingStore`].
#[derive(Debug, Default)]
pub struct Counts {
    /// Transactions begun.
    pub begun: AtomicU64,
    /// Transactions committed (the others were dropped: rolled back).
    pub committed: AtomicU64,
}

/// A store that counts the transactions of the store it wraps.
pub struct CountingStore<S> {
    inner: S,
    counts: Arc<Counts>,
}

impl<S: Store> CountingStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            counts: Arc::default(),
        }
    }

    /// The counts so far (shared: they keep counting).
    pub fn counts(&self) -> Arc<Counts> {
        self.counts.clone()
    }
}

impl<S: Store> Store for CountingStore<S> {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        let inner = self.inner.begin()?;
        self.counts.begun.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(CountingTx {
            inner,
            counts: &self.counts,
        }))
    }
}

/// A transaction of the wrapped store. Dropping it drops the inner one,
/// which rolls back.
struct CountingTx<'a> {
    inner: Box<dyn Transaction + 'a>,
    counts: &'a Counts,
}

impl Transaction for CountingTx<'_> {
    fn commit(self: Box<Self>) -> StoreResult<()> {
        let counts = self.counts;
        self.inner.commit()?;
        counts.committed.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    // Everything else is the wrapped store's.
    fn organization(&mut self, org: &OrgId) -> StoreResult<Option<Organization>> {
        self.inner.organization(org)
    }
    fn put_organization(&mut self, org: &Organization) -> StoreResult<()> {
        self.inner.put_organization(org)
    }
    fn group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<Option<Group>> {
        self.inner.group(org, id)
    }
    fn groups(&mut self, org: &OrgId) -> StoreResult<Vec<Group>> {
        self.inner.groups(org)
    }
    fn put_group(&mut self, group: &Group) -> StoreResult<()> {
        self.inner.put_group(group)
    }
    fn delete_group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<()> {
        self.inner.delete_group(org, id)
    }
    fn member(&mut self, org: &OrgId, id: &MemberId) -> StoreResult<Option<Member>> {
        self.inner.member(org, id)
    }
    fn member_by_contact(&mut self, org: &OrgId, key: &str) -> StoreResult<Option<Member>> {
        self.inner.member_by_contact(org, key)
    }
    fn member_by_user_ref(&mut self, org: &OrgId, user_ref: &str) -> StoreResult<Option<Member>> {
        self.inner.member_by_user_ref(org, user_ref)
    }
    fn put_member(&mut self, member: &Member) -> StoreResult<()> {
        self.inner.put_member(member)
    }
    fn list_members(&mut self, org: &OrgId, query: &MemberQuery) -> StoreResult<Page<Member>> {
        self.inner.list_members(org, query)
    }
    fn count_active_with_role(&mut self, org: &OrgId, role: &str) -> StoreResult<u64> {
        self.inner.count_active_with_role(org, role)
    }
    fn seat_count(&mut self, org: &OrgId, license_type: &str) -> StoreResult<SeatCount> {
        self.inner.seat_count(org, license_type)
    }
    fn seat_counts(&mut self, org: &OrgId) -> StoreResult<Vec<(String, SeatCount)>> {
        self.inner.seat_counts(org)
    }
    fn invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
    ) -> StoreResult<Option<StoredInvitation>> {
        self.inner.invitation(org, id)
    }
    fn invitation_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<StoredInvitation>> {
        self.inner.invitation_by_secret(org, hash)
    }
    fn open_invitation_for(
        &mut self,
        org: &OrgId,
        key: &str,
    ) -> StoreResult<Option<StoredInvitation>> {
        self.inner.open_invitation_for(org, key)
    }
    fn put_invitation(&mut self, inv: &StoredInvitation) -> StoreResult<()> {
        self.inner.put_invitation(inv)
    }
    fn list_invitations(
        &mut self,
        org: &OrgId,
        query: &InvitationQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<StoredInvitation>> {
        self.inner.list_invitations(org, query, now)
    }
    fn due_invitations(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<StoredInvitation>> {
        self.inner.due_invitations(org, now, limit)
    }
    fn invite_link(&mut self, org: &OrgId) -> StoreResult<Option<StoredInviteLink>> {
        self.inner.invite_link(org)
    }
    fn put_invite_link(&mut self, link: &StoredInviteLink) -> StoreResult<()> {
        self.inner.put_invite_link(link)
    }
    fn append_event(&mut self, event: &Event) -> StoreResult<u64> {
        self.inner.append_event(event)
    }
    fn events(&mut self, org: &OrgId, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        self.inner.events(org, after, limit)
    }
    fn put_outbox_message(&mut self, msg: &OutboxMessage) -> StoreResult<()> {
        self.inner.put_outbox_message(msg)
    }
    fn outbox_message(&mut self, id: &MessageId) -> StoreResult<Option<OutboxMessage>> {
        self.inner.outbox_message(id)
    }
    fn due_outbox(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.inner.due_outbox(org, now, limit)
    }
    fn next_outbox_due(
        &mut self,
        org: Option<&OrgId>,
    ) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
        self.inner.next_outbox_due(org)
    }
    fn failed_outbox(
        &mut self,
        org: &OrgId,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<enlist::Page<OutboxMessage>> {
        self.inner.failed_outbox(org, after, limit)
    }
    fn queued_messages_for(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.inner.queued_messages_for(org, invitation)
    }
    fn email_settings(&mut self, org: &OrgId) -> StoreResult<Option<enlist::EmailSettings>> {
        self.inner.email_settings(org)
    }
    fn put_email_settings(&mut self, settings: &enlist::EmailSettings) -> StoreResult<()> {
        self.inner.put_email_settings(settings)
    }
    fn email_template(
        &mut self,
        org: &OrgId,
        locale: &str,
    ) -> StoreResult<Option<enlist::EmailTemplate>> {
        self.inner.email_template(org, locale)
    }
    fn email_templates(&mut self, org: &OrgId) -> StoreResult<Vec<enlist::EmailTemplate>> {
        self.inner.email_templates(org)
    }
    fn put_email_template(&mut self, template: &enlist::EmailTemplate) -> StoreResult<()> {
        self.inner.put_email_template(template)
    }
    fn delete_email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<bool> {
        self.inner.delete_email_template(org, locale)
    }
    fn put_batch_report(&mut self, report: &enlist::BatchReport) -> StoreResult<()> {
        self.inner.put_batch_report(report)
    }
    fn batch_report(
        &mut self,
        org: &OrgId,
        batch: &enlist::BatchId,
    ) -> StoreResult<Option<enlist::BatchReport>> {
        self.inner.batch_report(org, batch)
    }
    fn delete_batch_reports_before(
        &mut self,
        org: &OrgId,
        before: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> StoreResult<u64> {
        self.inner.delete_batch_reports_before(org, before, limit)
    }
    fn standing(
        &mut self,
        org: &OrgId,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, enlist::KeyStanding)>> {
        self.inner.standing(org, keys, now)
    }
    fn people(
        &mut self,
        org: &OrgId,
        query: &enlist::PeopleQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<enlist::Person>> {
        self.inner.people(org, query, now)
    }
}
// ANCHOR_END: store

// ANCHOR: suite
// The whole conformance suite, on a fresh CountingStore per test.
enlist::store_conformance!(counting_store, || {
    Arc::new(CountingStore::new(enlist::MemoryStore::new())) as Arc<dyn Store>
});
// ANCHOR_END: suite

/// The instrumentation itself: a command is one committed transaction; a
/// transaction dropped without commit is counted as begun only.
#[test]
fn counts_transactions_and_commits() {
    let store = Arc::new(CountingStore::new(enlist::MemoryStore::new()));
    let counts = store.counts();
    let engine = enlist::Enlist::new(store.clone());
    engine
        .create_organization(enlist::NewOrganization::new(
            "Acme",
            "acct-owner",
            "owner@acme.test",
        ))
        .expect("create the organization");
    assert_eq!(counts.begun.load(Ordering::Relaxed), 1);
    assert_eq!(counts.committed.load(Ordering::Relaxed), 1);
    drop(store.begin().expect("begin"));
    assert_eq!(counts.begun.load(Ordering::Relaxed), 2);
    assert_eq!(counts.committed.load(Ordering::Relaxed), 1);
}

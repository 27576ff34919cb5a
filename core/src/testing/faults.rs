//! Faults inside a command: a store write (or the commit) that fails in
//! the middle of an engine command leaves nothing of the command behind.
//!
//! [`FaultyStore`] wraps the store under test and makes the n-th write of
//! a transaction fail; every engine command is then run with the fault at
//! each of its writes in turn, and the store's whole state is compared
//! with the state before.

use super::harness::{Env, MakeStore, SEED, as_member, code, registration, token_of};
use super::snapshot::snapshot;
use crate::{
    ActivatedLink, Event, GroupGrant, GroupId, InvitationId, InvitationQuery, InviteRequest,
    LinkSpec, Member, MemberId, MemberQuery, MessageId, NewGroup, OrgId, Organization,
    OutboxMessage, Page, Policy, RecipientInput, Recipients, SeatCount, SecretHash, Store,
    StoreError, StoreResult, StoredInvitation, StoredInviteLink, Transaction,
};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A store whose transactions fail their `fail_at`-th write (the commit
/// counts as a write); 0 means never.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    fail_at: AtomicUsize,
}

impl FaultyStore {
    /// Wraps `inner`, with no fault armed.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            fail_at: AtomicUsize::new(0),
        }
    }

    /// Makes the `n`-th write of every following transaction fail (0: none).
    pub fn arm(&self, n: usize) {
        self.fail_at.store(n, Ordering::SeqCst);
    }
}

impl Store for FaultyStore {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        Ok(Box::new(FaultyTx {
            inner: self.inner.begin()?,
            fail_at: self.fail_at.load(Ordering::SeqCst),
            writes: 0,
        }))
    }
}

struct FaultyTx<'a> {
    inner: Box<dyn Transaction + 'a>,
    fail_at: usize,
    writes: usize,
}

impl FaultyTx<'_> {
    fn write(&mut self) -> StoreResult<()> {
        self.writes += 1;
        if self.writes == self.fail_at {
            Err(StoreError::Unavailable(format!(
                "fault injected at write {}",
                self.writes
            )))
        } else {
            Ok(())
        }
    }
}

impl Transaction for FaultyTx<'_> {
    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        // On a failed commit the inner transaction is dropped: rolled back.
        self.write()?;
        self.inner.commit()
    }
    fn organization(&mut self, org: &OrgId) -> StoreResult<Option<Organization>> {
        self.inner.organization(org)
    }
    fn put_organization(&mut self, org: &Organization) -> StoreResult<()> {
        self.write()?;
        self.inner.put_organization(org)
    }
    fn group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<Option<crate::Group>> {
        self.inner.group(org, id)
    }
    fn groups(&mut self, org: &OrgId) -> StoreResult<Vec<crate::Group>> {
        self.inner.groups(org)
    }
    fn put_group(&mut self, group: &crate::Group) -> StoreResult<()> {
        self.write()?;
        self.inner.put_group(group)
    }
    fn delete_group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<()> {
        self.write()?;
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
        self.write()?;
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
        self.write()?;
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
        self.write()?;
        self.inner.put_invite_link(link)
    }
    fn append_event(&mut self, event: &Event) -> StoreResult<u64> {
        self.write()?;
        self.inner.append_event(event)
    }
    fn events(&mut self, org: &OrgId, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        self.inner.events(org, after, limit)
    }
    fn put_outbox_message(&mut self, msg: &OutboxMessage) -> StoreResult<()> {
        self.write()?;
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
    ) -> StoreResult<crate::member::Page<OutboxMessage>> {
        self.inner.failed_outbox(org, after, limit)
    }
    fn queued_messages_for(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.inner.queued_messages_for(org, invitation)
    }
    fn email_settings(&mut self, org: &OrgId) -> StoreResult<Option<crate::EmailSettings>> {
        self.inner.email_settings(org)
    }
    fn put_email_settings(&mut self, settings: &crate::EmailSettings) -> StoreResult<()> {
        self.write()?;
        self.inner.put_email_settings(settings)
    }
    fn email_template(
        &mut self,
        org: &OrgId,
        locale: &str,
    ) -> StoreResult<Option<crate::EmailTemplate>> {
        self.inner.email_template(org, locale)
    }
    fn email_templates(&mut self, org: &OrgId) -> StoreResult<Vec<crate::EmailTemplate>> {
        self.inner.email_templates(org)
    }
    fn put_email_template(&mut self, template: &crate::EmailTemplate) -> StoreResult<()> {
        self.write()?;
        self.inner.put_email_template(template)
    }
    fn delete_email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<bool> {
        self.write()?;
        self.inner.delete_email_template(org, locale)
    }
    fn put_batch_report(&mut self, report: &crate::BatchReport) -> StoreResult<()> {
        self.write()?;
        self.inner.put_batch_report(report)
    }
    fn batch_report(
        &mut self,
        org: &OrgId,
        batch: &crate::BatchId,
    ) -> StoreResult<Option<crate::BatchReport>> {
        self.inner.batch_report(org, batch)
    }
    fn delete_batch_reports_before(
        &mut self,
        org: &OrgId,
        before: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> StoreResult<u64> {
        self.write()?;
        self.inner.delete_batch_reports_before(org, before, limit)
    }
    fn standing(
        &mut self,
        org: &OrgId,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, crate::KeyStanding)>> {
        self.inner.standing(org, keys, now)
    }
    fn people(
        &mut self,
        org: &OrgId,
        query: &crate::PeopleQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<crate::Person>> {
        self.inner.people(org, query, now)
    }
}

/// Runs `command` with a fault at some of its writes: the first ones, one
/// in the middle, the last write and the commit (`writes` is how many
/// writes, commit included, the command makes). Each such run must fail
/// with a storage error and leave the store exactly as it was. Then, with
/// the fault one write past the commit, the command must succeed (so
/// `writes` is exact and the faults above hit every kind of write point)
/// and change the store. Returns that result.
fn at_every_write<T>(
    faulty: &FaultyStore,
    store: &dyn Store,
    orgs: &[OrgId],
    msgs: &[MessageId],
    what: &str,
    writes: usize,
    mut command: impl FnMut() -> crate::Result<T>,
) -> T {
    let before = snapshot(store, orgs, msgs);
    let mut points: Vec<usize> = (1..=writes.min(4)).collect();
    points.extend([writes / 2, writes.saturating_sub(1), writes]);
    points.retain(|n| *n >= 1);
    points.sort_unstable();
    points.dedup();
    for n in points {
        faulty.arm(n);
        let r = command();
        faulty.arm(0);
        match r {
            Err(e) => {
                assert_eq!(e.code(), "storage", "{what}, fault at write {n}: {e}");
                assert_eq!(
                    snapshot(store, orgs, msgs),
                    before,
                    "{what}: a fault at write {n} of {writes} left changes behind"
                );
            }
            Ok(_) => panic!(
                "{what} succeeded with a fault armed at write {n}: it wrote less than the {writes} writes expected"
            ),
        }
    }
    faulty.arm(writes + 1);
    let r = command();
    faulty.arm(0);
    let v = r.unwrap_or_else(|e| {
        panic!("{what} failed with the fault past its {writes} writes: {e} (more writes than expected?)")
    });
    assert_ne!(
        snapshot(store, orgs, msgs),
        before,
        "{what} succeeded without changing anything"
    );
    v
}

/// A fault at any write of a command, or at its commit, leaves nothing of
/// the command: invite (a batch of 11), accept, resend, revoke, join by
/// link, delete a group, remove a member, expire, deliver.
pub fn a_failed_command_changes_nothing(make: MakeStore<'_>) {
    let inner = make();
    let faulty = Arc::new(FaultyStore::new(inner.clone()));
    let mut env = Env::new(faulty.clone(), SEED);
    let (org, owner) = env.org_with_policy({
        let mut p = Policy::default();
        p.invite_link_enabled = true;
        p
    });
    let id = org.id.clone();
    let me = as_member(&owner);
    let g = env
        .engine
        .create_group(
            &id,
            &me,
            NewGroup {
                name: "G".into(),
                ..NewGroup::default()
            },
        )
        .expect("group");
    let ActivatedLink { url, .. } = env
        .engine
        .activate_invite_link(
            &id,
            &me,
            LinkSpec {
                groups: vec![GroupGrant::member(g.id.clone())],
                ..LinkSpec::default()
            },
        )
        .expect("link");
    let orgs = [id.clone()];
    let mut msgs: Vec<MessageId> = Vec::new();

    // Invite: 11 recipients, each an invitation, a message and an event.
    let mut rows: Vec<RecipientInput> = (0..10)
        .map(|i| RecipientInput {
            email: Some(format!("p{i}@acme.test")),
            groups: Some(vec![GroupGrant::member(g.id.clone())]),
            ..RecipientInput::default()
        })
        .collect();
    rows.push(RecipientInput::identifier("EMP-1"));
    let report = at_every_write(&faulty, &*inner, &orgs, &msgs, "invite", 34, || {
        env.engine.invite(
            &id,
            &me,
            InviteRequest::new(Recipients::List(rows.clone())).message("hi"),
        )
    });
    assert_eq!(report.issued.len(), 11);
    msgs.extend(report.issued.iter().filter_map(|i| i.message_id.clone()));
    let tok = |i: usize| token_of(&report.issued[i]);

    let acc = at_every_write(&faulty, &*inner, &orgs, &msgs, "accept", 5, || {
        env.engine.accept(&tok(0), registration("acct-0"))
    });
    let acc2 = env
        .engine
        .accept(&tok(1), registration("acct-1"))
        .expect("accept p1");
    env.advance(Duration::minutes(11));
    let resent = at_every_write(&faulty, &*inner, &orgs, &msgs, "resend", 5, || {
        env.engine.resend(&id, &me, &report.issued[2].invitation.id)
    });
    msgs.extend(resent.message_id.clone());
    at_every_write(&faulty, &*inner, &orgs, &msgs, "revoke", 4, || {
        env.engine.revoke(&id, &me, &report.issued[3].invitation.id)
    });
    at_every_write(&faulty, &*inner, &orgs, &msgs, "decline", 4, || {
        env.engine.decline(&tok(4))
    });
    let joined = at_every_write(&faulty, &*inner, &orgs, &msgs, "join_by_link", 7, || {
        env.engine.join_by_link(
            url.expose(),
            "p5@acme.test",
            crate::Registration {
                // The host vouches for the address: it has an open
                // invitation, which an unverified claim may not close.
                verified_email: Some("p5@acme.test".into()),
                ..registration("acct-5")
            },
        )
    });
    assert_eq!(joined.contact_key, "p5@acme.test");
    let detached = at_every_write(&faulty, &*inner, &orgs, &msgs, "delete_group", 7, || {
        env.engine.delete_group(&id, &me, &g.id)
    });
    assert_eq!(detached, 3);
    at_every_write(&faulty, &*inner, &orgs, &msgs, "remove_member", 3, || {
        env.engine.remove_member(&id, &me, &acc2.member.id)
    });
    at_every_write(&faulty, &*inner, &orgs, &msgs, "update_member", 3, || {
        env.engine.update_member(
            &id,
            &me,
            &acc.member.id,
            crate::MemberUpdate {
                role: Some("admin".into()),
                license_type: Some("pro".into()),
                ..crate::MemberUpdate::default()
            },
        )
    });
    at_every_write(
        &faulty,
        &*inner,
        &orgs,
        &msgs,
        "set_email_template",
        3,
        || {
            env.engine.set_email_template(
                &id,
                &me,
                crate::NewEmailTemplate::new("fr", "Invitation", "Lien : {{ accept_url }}"),
            )
        },
    );
    at_every_write(
        &faulty,
        &*inner,
        &orgs,
        &msgs,
        "set_email_settings",
        3,
        || {
            env.engine
                .set_email_settings(&id, &me, "fr-CA", Some("Bienvenue"))
        },
    );
    at_every_write(
        &faulty,
        &*inner,
        &orgs,
        &msgs,
        "delete_email_template",
        3,
        || env.engine.delete_email_template(&id, &me, "fr"),
    );
    let claimed = at_every_write(&faulty, &*inner, &orgs, &msgs, "claim_due", 4, || {
        env.engine.claim_due(Some(&id), 3)
    });
    assert_eq!(claimed.len(), 3);
    at_every_write(&faulty, &*inner, &orgs, &msgs, "mark_sent", 3, || {
        env.engine.mark_sent(&claimed[0].id)
    });
    at_every_write(&faulty, &*inner, &orgs, &msgs, "mark_failed", 3, || {
        env.engine.mark_failed(&claimed[1].id, "421", false)
    });
    env.advance(Duration::days(8));
    let n = at_every_write(&faulty, &*inner, &orgs, &msgs, "expire_due", 17, || {
        env.engine.expire_due(env.now())
    });
    assert_eq!(n, 6, "p6..p9, EMP-1 and the resent p2");
    // Everything still adds up.
    let trail = super::engine_ops::check_trail(&mut env, &id);
    assert!(!trail.is_empty());
    assert_eq!(
        code(&env.engine.accept(&tok(9), registration("acct-9"))),
        "invitation_expired"
    );
}

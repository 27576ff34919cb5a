//! The suite can fail: MemoryStore with one rule broken at a time (a
//! "mutant") must fail the conformance tests that guard that rule.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use enlist::testing::harness::{MakeStore, same_as_memory};
use enlist::testing::{engine_ops, faults, races, transactions};
use enlist::{
    Event, GroupId, InvitationId, InvitationQuery, Member, MemberId, MemberQuery, MemberSort,
    MemoryStore, MessageId, OrgId, Organization, OutboxMessage, Page, SeatCount, SecretHash, Store,
    StoreResult, StoredInvitation, StoredInviteLink, Transaction,
};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// The rule a mutant breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flaw {
    /// Dropping a transaction commits it.
    DropCommits,
    /// Times are kept to the microsecond only.
    Microseconds,
    /// Due lists break ties by id descending.
    TiesReversed,
    /// `EmailDesc` lists ascending.
    IgnoresDescending,
    /// Open invitations are under-counted by one in seat counts.
    UndercountsSeats,
    /// The first event of an organization is lost on read.
    LosesFirstEvent,
}

/// MemoryStore with a flaw.
pub struct Mutant {
    inner: MemoryStore,
    flaw: Flaw,
}

impl Store for Mutant {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        Ok(Box::new(MutantTx {
            inner: Some(self.inner.begin()?),
            flaw: self.flaw,
        }))
    }
}

struct MutantTx<'a> {
    inner: Option<Box<dyn Transaction + 'a>>,
    flaw: Flaw,
}

impl Drop for MutantTx<'_> {
    fn drop(&mut self) {
        if self.flaw == Flaw::DropCommits {
            if let Some(tx) = self.inner.take() {
                let _ = tx.commit();
            }
        }
    }
}

fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

impl MutantTx<'_> {
    fn tx(&mut self) -> &mut (dyn Transaction + '_) {
        match self.inner.as_mut() {
            Some(tx) => tx.as_mut(),
            None => unreachable!("used after commit"),
        }
    }

    fn time(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if self.flaw == Flaw::Microseconds {
            micros(t)
        } else {
            t
        }
    }
}

impl Transaction for MutantTx<'_> {
    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        match self.inner.take() {
            Some(tx) => tx.commit(),
            None => Ok(()),
        }
    }
    fn organization(&mut self, org: &OrgId) -> StoreResult<Option<Organization>> {
        self.tx().organization(org)
    }
    fn put_organization(&mut self, org: &Organization) -> StoreResult<()> {
        let mut o = org.clone();
        o.created_at = self.time(o.created_at);
        self.tx().put_organization(&o)
    }
    fn group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<Option<enlist::Group>> {
        self.tx().group(org, id)
    }
    fn groups(&mut self, org: &OrgId) -> StoreResult<Vec<enlist::Group>> {
        self.tx().groups(org)
    }
    fn put_group(&mut self, group: &enlist::Group) -> StoreResult<()> {
        self.tx().put_group(group)
    }
    fn delete_group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<()> {
        self.tx().delete_group(org, id)
    }
    fn member(&mut self, org: &OrgId, id: &MemberId) -> StoreResult<Option<Member>> {
        self.tx().member(org, id)
    }
    fn member_by_contact(&mut self, org: &OrgId, key: &str) -> StoreResult<Option<Member>> {
        self.tx().member_by_contact(org, key)
    }
    fn member_by_user_ref(&mut self, org: &OrgId, user_ref: &str) -> StoreResult<Option<Member>> {
        self.tx().member_by_user_ref(org, user_ref)
    }
    fn put_member(&mut self, member: &Member) -> StoreResult<()> {
        let mut m = member.clone();
        m.joined_at = self.time(m.joined_at);
        m.removed_at = m.removed_at.map(|t| self.time(t));
        m.last_active_at = m.last_active_at.map(|t| self.time(t));
        self.tx().put_member(&m)
    }
    fn list_members(&mut self, org: &OrgId, query: &MemberQuery) -> StoreResult<Page<Member>> {
        let mut q = query.clone();
        if self.flaw == Flaw::IgnoresDescending {
            q.sort = MemberSort::EmailAsc;
        }
        self.tx().list_members(org, &q)
    }
    fn count_active_with_role(&mut self, org: &OrgId, role: &str) -> StoreResult<u64> {
        self.tx().count_active_with_role(org, role)
    }
    fn seat_count(&mut self, org: &OrgId, license_type: &str) -> StoreResult<SeatCount> {
        let mut c = self.tx().seat_count(org, license_type)?;
        if self.flaw == Flaw::UndercountsSeats {
            c.members = c.members.saturating_sub(1);
        }
        Ok(c)
    }
    fn seat_counts(&mut self, org: &OrgId) -> StoreResult<Vec<(String, SeatCount)>> {
        self.tx().seat_counts(org)
    }
    fn invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
    ) -> StoreResult<Option<StoredInvitation>> {
        self.tx().invitation(org, id)
    }
    fn invitation_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<StoredInvitation>> {
        self.tx().invitation_by_secret(org, hash)
    }
    fn open_invitation_for(
        &mut self,
        org: &OrgId,
        key: &str,
    ) -> StoreResult<Option<StoredInvitation>> {
        self.tx().open_invitation_for(org, key)
    }
    fn put_invitation(&mut self, inv: &StoredInvitation) -> StoreResult<()> {
        let mut i = inv.clone();
        i.created_at = self.time(i.created_at);
        i.expires_at = i.expires_at.map(|t| self.time(t));
        i.last_sent_at = i.last_sent_at.map(|t| self.time(t));
        i.closed_at = i.closed_at.map(|t| self.time(t));
        self.tx().put_invitation(&i)
    }
    fn list_invitations(
        &mut self,
        org: &OrgId,
        query: &InvitationQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<StoredInvitation>> {
        self.tx().list_invitations(org, query, now)
    }
    fn due_invitations(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<StoredInvitation>> {
        let mut due = self.tx().due_invitations(org, now, limit)?;
        if self.flaw == Flaw::TiesReversed {
            due.reverse();
            due.sort_by_key(|i| i.expires_at);
        }
        Ok(due)
    }
    fn invite_link(&mut self, org: &OrgId) -> StoreResult<Option<StoredInviteLink>> {
        self.tx().invite_link(org)
    }
    fn put_invite_link(&mut self, link: &StoredInviteLink) -> StoreResult<()> {
        self.tx().put_invite_link(link)
    }
    fn append_event(&mut self, event: &Event) -> StoreResult<u64> {
        let mut e = event.clone();
        e.at = self.time(e.at);
        self.tx().append_event(&e)
    }
    fn events(&mut self, org: &OrgId, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        let mut evs = self.tx().events(org, after, limit)?;
        if self.flaw == Flaw::LosesFirstEvent && after == 0 && !evs.is_empty() {
            evs.remove(0);
        }
        Ok(evs)
    }
    fn put_outbox_message(&mut self, msg: &OutboxMessage) -> StoreResult<()> {
        let mut m = msg.clone();
        m.next_attempt_at = self.time(m.next_attempt_at);
        m.created_at = self.time(m.created_at);
        self.tx().put_outbox_message(&m)
    }
    fn outbox_message(&mut self, id: &MessageId) -> StoreResult<Option<OutboxMessage>> {
        self.tx().outbox_message(id)
    }
    fn due_outbox(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let mut due = self.tx().due_outbox(org, now, limit)?;
        if self.flaw == Flaw::TiesReversed {
            due.reverse();
            due.sort_by_key(|m| m.next_attempt_at);
        }
        Ok(due)
    }
    fn next_outbox_due(
        &mut self,
        org: Option<&OrgId>,
    ) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
        self.tx().next_outbox_due(org)
    }
    fn failed_outbox(
        &mut self,
        org: &OrgId,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<enlist::Page<OutboxMessage>> {
        self.tx().failed_outbox(org, after, limit)
    }
    fn queued_messages_for(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.tx().queued_messages_for(org, invitation)
    }
    fn email_settings(&mut self, org: &OrgId) -> StoreResult<Option<enlist::EmailSettings>> {
        self.tx().email_settings(org)
    }
    fn put_email_settings(&mut self, settings: &enlist::EmailSettings) -> StoreResult<()> {
        self.tx().put_email_settings(settings)
    }
    fn email_template(
        &mut self,
        org: &OrgId,
        locale: &str,
    ) -> StoreResult<Option<enlist::EmailTemplate>> {
        self.tx().email_template(org, locale)
    }
    fn email_templates(&mut self, org: &OrgId) -> StoreResult<Vec<enlist::EmailTemplate>> {
        self.tx().email_templates(org)
    }
    fn put_email_template(&mut self, template: &enlist::EmailTemplate) -> StoreResult<()> {
        self.tx().put_email_template(template)
    }
    fn delete_email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<bool> {
        self.tx().delete_email_template(org, locale)
    }
    fn put_batch_report(&mut self, report: &enlist::BatchReport) -> StoreResult<()> {
        self.tx().put_batch_report(report)
    }
    fn batch_report(
        &mut self,
        org: &OrgId,
        batch: &enlist::BatchId,
    ) -> StoreResult<Option<enlist::BatchReport>> {
        self.tx().batch_report(org, batch)
    }
    fn delete_batch_reports_before(
        &mut self,
        org: &OrgId,
        before: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> StoreResult<u64> {
        self.tx().delete_batch_reports_before(org, before, limit)
    }
    fn people(
        &mut self,
        org: &OrgId,
        query: &enlist::PeopleQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<enlist::Person>> {
        self.tx().people(org, query, now)
    }
}

/// A conformance test, as the macro runs it.
type Check = fn(MakeStore<'_>);

/// Runs `check` against the mutant with `flaw` and asserts that it fails.
fn must_fail(flaw: Flaw, name: &str, check: impl FnOnce(MakeStore<'_>)) {
    let make = move || -> Arc<dyn Store> {
        Arc::new(Mutant {
            inner: MemoryStore::new(),
            flaw,
        })
    };
    let r = catch_unwind(AssertUnwindSafe(|| check(&make)));
    assert!(r.is_err(), "{name} passed on a store that {flaw:?}");
}

fn must_fail_all(flaw: Flaw, checks: &[(&str, Check)]) {
    for (name, check) in checks {
        must_fail(flaw, name, check);
    }
}

/// The suite can fail: it catches each flaw, by the tests named for it.
#[test]
fn the_suite_catches_broken_stores() {
    must_fail_all(
        Flaw::DropCommits,
        &[
            (
                "rollback_on_drop_changes_nothing",
                transactions::rollback_on_drop_changes_nothing,
            ),
            (
                "reads_see_the_transactions_own_writes",
                transactions::reads_see_the_transactions_own_writes,
            ),
            (
                "a_failed_command_changes_nothing",
                faults::a_failed_command_changes_nothing,
            ),
            (
                "panic_inside_a_transaction_rolls_back",
                transactions::panic_inside_a_transaction_rolls_back,
            ),
            (
                "concurrent_read_modify_write_never_loses_an_update",
                transactions::concurrent_read_modify_write_never_loses_an_update,
            ),
        ],
    );
    must_fail_all(
        Flaw::Microseconds,
        &[(
            "timestamps_round_trip_to_the_nanosecond",
            transactions::timestamps_round_trip_to_the_nanosecond,
        )],
    );
    must_fail_all(
        Flaw::TiesReversed,
        &[(
            "due_lists_oldest_first_ties_by_id",
            transactions::due_lists_oldest_first_ties_by_id,
        )],
    );
    must_fail(Flaw::TiesReversed, "outbox (compared with memory)", |m| {
        same_as_memory(m, engine_ops::outbox)
    });
    must_fail_all(
        Flaw::IgnoresDescending,
        &[
            (
                "member_pages_in_byte_order",
                transactions::member_pages_in_byte_order,
            ),
            (
                "member_cursors_survive_changes_and_bad_ones_are_errors",
                transactions::member_cursors_survive_changes_and_bad_ones_are_errors,
            ),
        ],
    );
    must_fail(Flaw::IgnoresDescending, "members", |m| {
        same_as_memory(m, engine_ops::members)
    });
    must_fail_all(
        Flaw::UndercountsSeats,
        &[
            (
                "seat_limit_holds_under_concurrent_accepts",
                races::seat_limit_holds_under_concurrent_accepts,
            ),
            (
                "derived_counts_stay_exact",
                transactions::derived_counts_stay_exact,
            ),
        ],
    );
    must_fail(Flaw::UndercountsSeats, "members", |m| {
        same_as_memory(m, engine_ops::members)
    });
    must_fail_all(
        Flaw::LosesFirstEvent,
        &[(
            "events_numbered_per_organization",
            transactions::events_numbered_per_organization,
        )],
    );
    must_fail(Flaw::LosesFirstEvent, "groups", |m| {
        same_as_memory(m, engine_ops::groups)
    });
}

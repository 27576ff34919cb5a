//! The suite can fail: MemoryStore with one rule broken at a time (a
//! "mutant") must fail the conformance tests that guard that rule.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use enlist::testing::harness::{MakeStore, same_as_memory};
use enlist::testing::{engine_ops, faults, races, transactions};
use enlist::{
    Event, ForwardingTx, Member, MemberQuery, MemberSort, MemoryStore, OrgId, Organization,
    OutboxMessage, Page, SeatCount, SecretLookup, Store, StoreResult, StoredInvitation,
    Transaction, TxHooks,
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
    /// Every invitation is stored as found by its hash (a store that keeps
    /// no `secret_lookup`): hashes of invitations found by id are indexed.
    IndexesEveryHash,
}

/// MemoryStore with a flaw.
pub struct Mutant {
    inner: MemoryStore,
    flaw: Flaw,
}

impl Store for Mutant {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        Ok(Box::new(ForwardingTx::new(
            self.inner.begin()?,
            Flawed(self.flaw),
        )))
    }
}

/// The flaw, applied to the calls that go through a transaction; every
/// other call is MemoryStore's.
struct Flawed(Flaw);

fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

impl Flawed {
    fn time(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if self.0 == Flaw::Microseconds {
            micros(t)
        } else {
            t
        }
    }
}

impl TxHooks for Flawed {
    fn dropped(&mut self, inner: Box<dyn Transaction + '_>) {
        if self.0 == Flaw::DropCommits {
            let _ = inner.commit();
        }
    }
    fn put_organization(
        &mut self,
        inner: &mut dyn Transaction,
        org: &Organization,
    ) -> StoreResult<()> {
        let mut o = org.clone();
        o.created_at = self.time(o.created_at);
        inner.put_organization(&o)
    }
    fn put_member(&mut self, inner: &mut dyn Transaction, member: &Member) -> StoreResult<()> {
        let mut m = member.clone();
        m.joined_at = self.time(m.joined_at);
        m.removed_at = m.removed_at.map(|t| self.time(t));
        m.last_active_at = m.last_active_at.map(|t| self.time(t));
        inner.put_member(&m)
    }
    fn list_members(
        &mut self,
        inner: &mut dyn Transaction,
        org: &OrgId,
        query: &MemberQuery,
    ) -> StoreResult<Page<Member>> {
        let mut q = query.clone();
        if self.0 == Flaw::IgnoresDescending {
            q.sort = MemberSort::EmailAsc;
        }
        inner.list_members(org, &q)
    }
    fn seat_count(
        &mut self,
        inner: &mut dyn Transaction,
        org: &OrgId,
        license_type: &str,
    ) -> StoreResult<SeatCount> {
        let mut c = inner.seat_count(org, license_type)?;
        if self.0 == Flaw::UndercountsSeats {
            c.members = c.members.saturating_sub(1);
        }
        Ok(c)
    }
    fn put_invitation(
        &mut self,
        inner: &mut dyn Transaction,
        inv: &StoredInvitation,
    ) -> StoreResult<()> {
        let mut i = inv.clone();
        i.created_at = self.time(i.created_at);
        i.expires_at = i.expires_at.map(|t| self.time(t));
        i.last_sent_at = i.last_sent_at.map(|t| self.time(t));
        i.closed_at = i.closed_at.map(|t| self.time(t));
        if self.0 == Flaw::IndexesEveryHash {
            i.secret_lookup = SecretLookup::ByHash;
        }
        inner.put_invitation(&i)
    }
    fn due_invitations(
        &mut self,
        inner: &mut dyn Transaction,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<StoredInvitation>> {
        let mut due = inner.due_invitations(org, now, limit)?;
        if self.0 == Flaw::TiesReversed {
            due.reverse();
            due.sort_by_key(|i| i.expires_at);
        }
        Ok(due)
    }
    fn append_event(&mut self, inner: &mut dyn Transaction, mut e: Event) -> StoreResult<u64> {
        e.at = self.time(e.at);
        inner.append_event(e)
    }
    fn events(
        &mut self,
        inner: &mut dyn Transaction,
        org: &OrgId,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<Event>> {
        let mut evs = inner.events(org, after, limit)?;
        if self.0 == Flaw::LosesFirstEvent && after == 0 && !evs.is_empty() {
            evs.remove(0);
        }
        Ok(evs)
    }
    fn put_outbox_message(
        &mut self,
        inner: &mut dyn Transaction,
        mut m: OutboxMessage,
    ) -> StoreResult<()> {
        m.next_attempt_at = self.time(m.next_attempt_at);
        m.created_at = self.time(m.created_at);
        inner.put_outbox_message(m)
    }
    fn due_outbox(
        &mut self,
        inner: &mut dyn Transaction,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let mut due = inner.due_outbox(org, now, limit)?;
        if self.0 == Flaw::TiesReversed {
            due.reverse();
            due.sort_by_key(|m| m.next_attempt_at);
        }
        Ok(due)
    }
    fn claim_outbox(
        &mut self,
        inner: &mut dyn Transaction,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>> {
        // Through the flawed read, as the trait's default claims.
        let due = self.due_outbox(inner, org, now, limit)?;
        let mut out = Vec::with_capacity(due.len());
        for mut m in due {
            m.next_attempt_at = until;
            inner.put_outbox_message(m.clone())?;
            out.push(m);
        }
        Ok(out)
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
    must_fail_all(
        Flaw::IndexesEveryHash,
        &[(
            "invitations_found_by_id_are_not_indexed_by_hash",
            transactions::invitations_found_by_id_are_not_indexed_by_hash,
        )],
    );
    must_fail(Flaw::IndexesEveryHash, "invitation_lifecycle", |m| {
        same_as_memory(m, engine_ops::invitation_lifecycle)
    });
}

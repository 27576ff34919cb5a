//! Races between threads, each with its own engine handle on one shared
//! store: one secret accepted once, overlapping batches never inviting one
//! person twice, seat limits under concurrent accepts and joins, and the
//! outbox delivering each message once with several workers.

use super::harness::{Env, MakeStore, SEED, as_member, registration, token_of};
use crate::{
    ActivatedLink, Actor, Enlist, Error, EventKind, Invitation, InvitationStatus, InviteRequest,
    LinkSpec, ManualClock, MemberQuery, MemberStatus, OutboxStatus, Policy, RecipientInput,
    Recipients, RecordingMailer, RejectReason, SeededSecrets, Store,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};

/// How many threads race.
pub const THREADS: usize = 8;

/// Runs `f` on `n` threads at once, each with its own engine over `store`
/// (same clock, its own secret source), and returns their results in
/// thread order.
pub fn race<T: Send>(
    store: &Arc<dyn Store>,
    clock: &Arc<ManualClock>,
    n: usize,
    f: impl Fn(usize, &Enlist) -> T + Sync,
) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let engine = Enlist::new(store.clone())
                    .with_clock(clock.clone())
                    .with_secrets(Arc::new(SeededSecrets::new(1000 + i as u64)));
                let (barrier, f) = (&barrier, &f);
                s.spawn(move || {
                    barrier.wait();
                    f(i, &engine)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a racing thread panicked"))
            .collect()
    })
}

/// Whether `e` is the store giving up on a write conflict after the
/// engine's retries: a clear "retry the command" error.
pub fn is_conflict(e: &Error) -> bool {
    matches!(e, Error::RetriesExhausted { .. })
}

/// Checks that a loser failed with one of `codes` (or a write conflict).
fn clear_error(e: &Error, codes: &[&str], what: &str) {
    if is_conflict(e) {
        println!("{what}: the store gave up on a write conflict (engine retries exhausted)");
    }
    assert!(
        codes.contains(&e.code()) || is_conflict(e),
        "{what}: expected one of {codes:?} (or a write conflict), got {e:?}"
    );
}

/// N threads accept the same secret: exactly one gets the membership.
pub fn one_secret_is_accepted_once(make: MakeStore<'_>) {
    let store = make();
    let mut env = Env::new(store.clone(), SEED);
    let (org, owner) = env.org();
    let report = env
        .engine
        .invite(
            &org.id,
            &as_member(&owner),
            InviteRequest::new(Recipients::Paste("race@acme.test".into())),
        )
        .expect("invite");
    let token = token_of(&report.issued[0]);
    let results = race(&store, &env.clock, THREADS, |i, engine| {
        engine.accept(&token, registration(&format!("acct-{i}")))
    });
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "exactly one accept wins: {results:?}");
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        // "accepted already", or (a store whose transaction saw the
        // winner's member but not yet its invitation) "already a member".
        clear_error(
            e,
            &["invitation_not_open", "already_member"],
            "a losing accept",
        );
    }
    let mut losers: BTreeMap<&str, usize> = BTreeMap::new();
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        *losers.entry(e.code()).or_default() += 1;
    }
    println!("losing accepts: {losers:?}");
    let winner = winners[0];
    let members = env.members_with(&org.id, &[]);
    let with_key: Vec<_> = members
        .iter()
        .filter(|m| m.contact_key == "race@acme.test")
        .collect();
    assert_eq!(with_key.len(), 1, "one member for the address");
    assert_eq!(with_key[0], &winner.member);
    let inv = env
        .engine
        .invitation(&org.id, &Actor::System, &report.issued[0].invitation.id)
        .expect("invitation");
    assert_eq!(inv.status, InvitationStatus::Accepted);
    assert_eq!(inv.member_id.as_ref(), Some(&winner.member.id));
    let accepted = env
        .events(&org.id)
        .iter()
        .filter(|e| matches!(e.kind, EventKind::InvitationAccepted { .. }))
        .count();
    assert_eq!(accepted, 1, "one acceptance in the audit trail");
}

/// N concurrent batches over overlapping addresses: never two open
/// invitations for one address, and the batches' issued sets are disjoint.
pub fn overlapping_batches_never_invite_twice(make: MakeStore<'_>) {
    let store = make();
    let mut env = Env::new(store.clone(), SEED);
    let (org, owner) = env.org();
    let pool: Vec<String> = (0..24).map(|i| format!("p{i:02}@acme.test")).collect();
    let batch_of = |i: usize| -> Vec<String> {
        (0..9)
            .map(|j| pool[(3 * i + j) % pool.len()].clone())
            .collect()
    };
    let me = as_member(&owner);
    let results = race(&store, &env.clock, THREADS, |i, engine| {
        let rows = batch_of(i).into_iter().map(RecipientInput::email).collect();
        engine.invite(&org.id, &me, InviteRequest::new(Recipients::List(rows)))
    });
    let mut issued_by: BTreeMap<String, usize> = BTreeMap::new();
    let mut covered = BTreeSet::new();
    for (i, r) in results.iter().enumerate() {
        let report = match r {
            Ok(report) => report,
            Err(e) => {
                clear_error(e, &[], "a batch");
                continue;
            }
        };
        assert_eq!(report.total(), 9, "batch {i} reports every recipient");
        for inv in &report.issued {
            let key = inv.invitation.recipient_key.to_string();
            if let Some(other) = issued_by.insert(key.clone(), i) {
                panic!("{key} was issued by batch {other} and batch {i}");
            }
        }
        for rej in &report.rejected {
            assert!(
                matches!(rej.reason, RejectReason::AlreadyInvited { .. }),
                "batch {i}: unexpected rejection {rej:?}"
            );
        }
        covered.extend(batch_of(i));
    }
    assert!(!covered.is_empty(), "every batch failed");
    let open = env.invitations_with(&org.id, &[InvitationStatus::Pending]);
    let mut per_key: BTreeMap<&str, Vec<&Invitation>> = BTreeMap::new();
    for inv in &open {
        per_key
            .entry(inv.recipient_key.as_str())
            .or_default()
            .push(inv);
    }
    for (key, invs) in &per_key {
        assert_eq!(invs.len(), 1, "{key} has {} open invitations", invs.len());
    }
    let open_keys: BTreeSet<String> = per_key.keys().map(|k| (*k).to_owned()).collect();
    let issued_keys: BTreeSet<String> = issued_by.keys().cloned().collect();
    assert_eq!(open_keys, issued_keys, "what was issued is what is open");
    assert_eq!(
        open_keys, covered,
        "every address of a successful batch is invited"
    );
    let all = env.invitations_with(&org.id, &[]);
    assert_eq!(
        all.len(),
        open.len(),
        "no invitation beyond the issued ones"
    );
    let events = env.events(&org.id);
    let issued_events = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::InvitationIssued { .. }))
        .count();
    assert_eq!(issued_events, issued_keys.len(), "one event per invitation");
    let queued = env.engine.claim_due(Some(&org.id), 1000).expect("claim");
    assert_eq!(queued.len(), issued_keys.len(), "one email per invitation");
}

/// More concurrent accepts than seats: the seat limit holds.
pub fn seat_limit_holds_under_concurrent_accepts(make: MakeStore<'_>) {
    let store = make();
    let mut env = Env::new(store.clone(), SEED);
    let mut policy = Policy::default();
    policy.reserve_seats_for_pending = false;
    policy.seat_limits.insert("pro".into(), 3);
    let (org, owner) = env.org_with_policy(policy);
    let rows = (0..THREADS)
        .map(|i| RecipientInput::email(format!("s{i}@acme.test")))
        .collect();
    let report = env
        .engine
        .invite(
            &org.id,
            &as_member(&owner),
            InviteRequest::new(Recipients::List(rows)).license_type("pro"),
        )
        .expect("invite");
    assert_eq!(report.issued.len(), THREADS);
    let results = race(&store, &env.clock, THREADS, |i, engine| {
        engine.accept(
            &token_of(&report.issued[i]),
            registration(&format!("acct-{i}")),
        )
    });
    let oks = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| r.as_ref().is_err_and(is_conflict))
        .count();
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        clear_error(e, &["limit_exceeded"], "an accept past the limit");
    }
    let pro: Vec<_> = env
        .members(&org.id, MemberQuery::default())
        .into_iter()
        .filter(|m| m.license_type == "pro" && m.status == MemberStatus::Active)
        .collect();
    assert!(pro.len() <= 3, "{} active pro members, limit 3", pro.len());
    assert_eq!(pro.len(), oks);
    if conflicts == 0 {
        assert_eq!(oks, 3, "with more accepts than seats, every seat is taken");
    }
    let usage = env
        .engine
        .license_usage(&org.id, &Actor::System)
        .expect("usage");
    let u = usage.iter().find(|u| u.license_type == "pro").expect("pro");
    assert_eq!(u.used, oks as u64);
}

/// More concurrent joins by the link than seats (seats reserved for
/// pending invitations): the seat limit holds.
pub fn seat_limit_holds_under_concurrent_joins(make: MakeStore<'_>) {
    let store = make();
    let mut env = Env::new(store.clone(), SEED);
    let mut policy = Policy::default();
    policy.invite_link_enabled = true;
    policy.seat_limits.insert("pro".into(), 4);
    let (org, owner) = env.org_with_policy(policy);
    let me = as_member(&owner);
    // One pro seat is held by a pending invitation.
    env.engine
        .invite(
            &org.id,
            &me,
            InviteRequest::new(Recipients::Paste("held@acme.test".into())).license_type("pro"),
        )
        .expect("invite");
    let ActivatedLink { url, .. } = env
        .engine
        .activate_invite_link(
            &org.id,
            &me,
            LinkSpec {
                license_type: Some("pro".into()),
                ..LinkSpec::default()
            },
        )
        .expect("link");
    let results = race(&store, &env.clock, THREADS, |i, engine| {
        engine.join_by_link(
            url.expose(),
            &format!("j{i}@acme.test"),
            registration(&format!("acct-{i}")),
        )
    });
    let oks = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| r.as_ref().is_err_and(is_conflict))
        .count();
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        clear_error(e, &["limit_exceeded"], "a join past the limit");
    }
    let usage = env
        .engine
        .license_usage(&org.id, &Actor::System)
        .expect("usage");
    let u = usage.iter().find(|u| u.license_type == "pro").expect("pro");
    assert_eq!((u.used, u.pending), (oks as u64, 1));
    assert!(u.used + u.pending <= 4, "{u:?}");
    if conflicts == 0 {
        assert_eq!(oks, 3);
    }
    let link = env
        .engine
        .invite_link(&org.id, &me)
        .expect("link")
        .expect("some");
    assert_eq!(link.uses, oks as u64, "uses counts every join, once");
}

/// Several workers deliver the outbox at once: each message is sent once.
pub fn concurrent_delivery_sends_each_message_once(make: MakeStore<'_>) {
    let store = make();
    let mut env = Env::new(store.clone(), SEED);
    let (org, owner) = env.org();
    let rows = (0..12)
        .map(|i| RecipientInput::email(format!("d{i}@acme.test")))
        .collect();
    let report = env
        .engine
        .invite(
            &org.id,
            &as_member(&owner),
            InviteRequest::new(Recipients::List(rows)),
        )
        .expect("invite");
    let mailer = RecordingMailer::new();
    let results = race(&store, &env.clock, 4, |_, engine| {
        let mut out = Vec::new();
        for _ in 0..4 {
            out.push(engine.deliver_pending(&mailer, 3));
        }
        out
    });
    let mut errors = 0;
    for r in results.iter().flatten() {
        match r {
            Ok(_) => {}
            Err(e) => {
                println!("a delivery run failed: {e:?}");
                clear_error(e, &[], "a delivery run");
                errors += 1;
            }
        }
    }
    // Whatever a failed run left unclaimed is delivered now.
    env.engine.deliver_pending(&mailer, 100).expect("drain");
    let sent = mailer.sent();
    let mut ids: Vec<_> = sent.iter().map(|e| e.message_id.clone()).collect();
    ids.sort();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "a message was sent twice");
    let all: BTreeSet<_> = report
        .issued
        .iter()
        .filter_map(|i| i.message_id.clone())
        .collect();
    if errors == 0 {
        assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), all);
        for id in &all {
            let m = env.engine.outbox_message(id).expect("message");
            assert_eq!(m.status, OutboxStatus::Sent);
            assert_eq!(m.attempts, 1);
        }
    }
    let sent_events: BTreeSet<_> = env
        .events(&org.id)
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::EmailSent { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    let recorded: BTreeSet<_> = all
        .iter()
        .filter(|id| env.engine.outbox_message(id).expect("message").status == OutboxStatus::Sent)
        .cloned()
        .collect();
    assert_eq!(
        sent_events, recorded,
        "one EmailSent per message recorded as sent"
    );
    assert!(
        recorded.len() <= sent.len(),
        "recorded as sent without being sent"
    );
}

//! The outbox worker (issue 12): one pass that sends what is due, persists
//! expiries and says when to come back; the loop on a thread with a stop
//! signal; the dead letters an administrator reads and retries.

use super::scenarios::common::{Org, as_member, engine, org_with_owner, token_of};
use chrono::Duration;
use enlist::{
    Actor, CreatedOrganization, Error, EventKind, InviteRequest, IssuedInvitation, MailError,
    NewOrganization, OutboxStatus, Permission, RecipientInput, Recipients, RecordingMailer,
    StopSignal, WorkerOptions,
};
use std::time::Instant;

fn invite(org: &Org, email: &str) -> IssuedInvitation {
    let report = org
        .engine
        .invite(
            org.id(),
            &org.owner_actor(),
            InviteRequest::new(Recipients::List(vec![RecipientInput::email(email)])),
        )
        .expect("invite");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    report.issued.into_iter().next().expect("one issued")
}

/// Waits (really) until `done`, for at most `secs`: generous bounds, no
/// timing assertion beyond them.
fn eventually(secs: u64, what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(secs),
            "{what}: not within {secs} s"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn one_pass_sends_what_is_due_and_says_when_the_next_message_is() {
    let org = org_with_owner();
    let e = &org.engine;
    let mailer = RecordingMailer::new();
    let idle = e.work_outbox(&mailer, 10).expect("empty pass");
    assert!(idle.sent.is_empty() && idle.next_due.is_none(), "{idle:?}");

    let bob = invite(&org, "bob@acme.test");
    let carol = invite(&org, "carol@acme.test");
    // Carol's message is the first one sent (ties by id), or Bob's: fail
    // whichever comes first, and find out which by the report.
    mailer.fail_next([MailError::Temporary("421 busy".into())]);
    let pass = e.work_outbox(&mailer, 10).expect("pass");
    assert_eq!(pass.sent.len() + pass.retrying.len(), 2, "{pass:?}");
    assert_eq!(pass.retrying.len(), 1);
    let retrying = pass.retrying[0].clone();
    assert!([bob.message_id.clone(), carol.message_id.clone()].contains(&Some(retrying.clone())));
    // Next due: the retry, after its jittered backoff (a minute, less up
    // to a quarter).
    let next = pass.next_due.expect("a retry is queued");
    assert_eq!(
        next,
        e.outbox_message(&retrying).expect("msg").next_attempt_at
    );
    let wait = next - org.engine.now();
    assert!(
        wait > Duration::seconds(45) && wait <= Duration::seconds(60),
        "{wait}"
    );

    // Nothing is due before then; at that time the retry goes.
    let early = e.work_outbox(&mailer, 10).expect("early");
    assert!(early.sent.is_empty() && early.next_due == Some(next));
    org.clock.advance(wait);
    let pass = e.work_outbox(&mailer, 10).expect("due");
    assert_eq!(pass.sent, vec![retrying]);
    assert_eq!(pass.next_due, None, "nothing left queued");
    assert_eq!(mailer.sent().len(), 2);
}

#[test]
fn a_pass_over_its_limit_says_more_is_due_now() {
    let org = org_with_owner();
    for n in 0..3 {
        invite(&org, &format!("p{n}@acme.test"));
    }
    let mailer = RecordingMailer::new();
    let pass = org.engine.work_outbox(&mailer, 2).expect("pass");
    assert_eq!(pass.sent.len(), 2);
    assert!(
        pass.next_due.expect("one left") <= org.engine.now(),
        "due already: call again at once"
    );
    let pass = org.engine.work_outbox(&mailer, 2).expect("pass");
    assert_eq!((pass.sent.len(), pass.next_due), (1, None));
}

#[test]
fn a_pass_persists_expiries_and_drops_their_unsent_emails() {
    let org = org_with_owner();
    let bob = invite(&org, "bob@acme.test");
    org.advance(Duration::days(60));
    let mailer = RecordingMailer::new();
    let pass = org.engine.work_outbox(&mailer, 10).expect("pass");
    assert_eq!(pass.expired_invitations, 1);
    assert!(
        pass.sent.is_empty() && mailer.sent().is_empty(),
        "an expired invitation is not mailed"
    );
    let msg = org
        .engine
        .outbox_message(bob.message_id.as_ref().expect("queued"))
        .expect("msg");
    assert_eq!(msg.status, OutboxStatus::Superseded);
    assert_eq!(pass.next_due, None);
}

/// Bob's message failed for good, its error quoting the link (as providers
/// do).
fn dead_bob(org: &Org) -> (IssuedInvitation, String) {
    let bob = invite(org, "bob@acme.test");
    let token = token_of(&bob);
    let mailer = RecordingMailer::new();
    mailer.fail_next([MailError::Permanent(format!(
        "550 mailbox unavailable; message was: Join at https://app.test/accept?token={token}"
    ))]);
    let pass = org.engine.work_outbox(&mailer, 10).expect("pass");
    assert_eq!(pass.failed, vec![bob.message_id.clone().expect("queued")]);
    (bob, token)
}

#[test]
fn dead_letters_show_why_without_the_link_to_outbox_admins_only() {
    let org = org_with_owner();
    let e = &org.engine;
    let (bob, token) = dead_bob(&org);
    let page = e
        .dead_letters(org.id(), &org.owner_actor(), None, 50)
        .expect("owner reads");
    assert_eq!(page.items.len(), 1);
    let dead = &page.items[0];
    assert_eq!(Some(&dead.id), bob.message_id.as_ref());
    assert_eq!(dead.invitation_id, bob.invitation.id);
    assert_eq!(dead.to, "bob@acme.test");
    assert_eq!(dead.attempts, 1);
    let reason = dead.reason.as_deref().expect("a reason");
    assert!(reason.contains("550 mailbox unavailable"), "{reason}");
    // Never the token: not in the reason, not anywhere in the view.
    let json = serde_json::to_string(&page.items).expect("json");
    let debug = format!("{page:?}");
    for shown in [&json, &debug] {
        assert!(!shown.contains(&token), "{shown}");
        assert!(!shown.contains("accept?token=") || shown.contains("[redacted]"));
    }
    assert!(!json.contains("text_body") && !json.contains("accept_url"));

    // Only with ManageOutbox, and only in one's own organization.
    let user_admin = org.join("ua@acme.test", "user_admin", "acct-ua");
    let admin = org.join("ad@acme.test", "admin", "acct-ad");
    let member = org.join("mia@acme.test", "member", "acct-mia");
    for who in [&user_admin, &member] {
        let err = e
            .dead_letters(org.id(), &as_member(who), None, 50)
            .expect_err("no ManageOutbox");
        assert!(
            matches!(
                err,
                Error::PermissionDenied {
                    permission: Permission::ManageOutbox,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert!(
        e.dead_letters(org.id(), &Actor::Anonymous, None, 50)
            .is_err()
    );
    assert_eq!(
        e.dead_letters(org.id(), &as_member(&admin), None, 50)
            .expect("admin")
            .items
            .len(),
        1
    );
    let CreatedOrganization {
        organization: other,
        owner: evil,
        ..
    } = e
        .create_organization(NewOrganization::new("Evil", "acct-evil", "evil@evil.test"))
        .expect("other org");
    let evil = Actor::Member(evil.id);
    assert!(
        e.dead_letters(org.id(), &evil, None, 50).is_err(),
        "a stranger"
    );
    assert!(
        e.dead_letters(&other.id, &evil, None, 50)
            .expect("their own")
            .items
            .is_empty(),
        "another organization's dead letters are not theirs"
    );
    // Bounded before any work.
    assert_eq!(
        e.dead_letters(org.id(), &org.owner_actor(), None, 0)
            .expect_err("limit 0")
            .code(),
        "limit_exceeded"
    );
    assert_eq!(
        e.dead_letters(org.id(), &org.owner_actor(), Some(&"o".repeat(100_000)), 10)
            .expect_err("huge cursor")
            .code(),
        "limit_exceeded"
    );
}

#[test]
fn dead_letters_page_newest_first() {
    let org = org_with_owner();
    let mailer = RecordingMailer::new();
    let mut ids = Vec::new();
    for n in 0..3 {
        let issued = invite(&org, &format!("p{n}@acme.test"));
        ids.push(issued.message_id.expect("queued"));
        mailer.fail_next([MailError::Permanent("550 no".into())]);
        org.engine.work_outbox(&mailer, 10).expect("pass");
        org.advance(Duration::seconds(1));
    }
    let e = &org.engine;
    let first = e
        .dead_letters(org.id(), &org.owner_actor(), None, 2)
        .expect("page 1");
    let cursor = first.next_cursor.clone().expect("more");
    let second = e
        .dead_letters(org.id(), &org.owner_actor(), Some(&cursor), 2)
        .expect("page 2");
    let got: Vec<_> = first
        .items
        .iter()
        .chain(&second.items)
        .map(|d| d.id.clone())
        .collect();
    ids.reverse();
    assert_eq!(got, ids);
}

#[test]
fn retrying_a_dead_letter_resends_with_a_fresh_link() {
    let org = org_with_owner();
    let e = &org.engine;
    let (bob, old_token) = dead_bob(&org);
    let dead_id = bob.message_id.clone().expect("queued");
    let owner = org.owner_actor();

    // The resend rules hold: not within the cooldown after the last send.
    assert_eq!(
        e.retry_dead_letter(org.id(), &owner, &dead_id)
            .expect_err("too soon")
            .code(),
        "resend_too_soon"
    );
    org.advance(Duration::minutes(11));

    // Strangers and people without ManageOutbox cannot retry.
    let user_admin = org.join("ua@acme.test", "user_admin", "acct-ua");
    let err = e
        .retry_dead_letter(org.id(), &as_member(&user_admin), &dead_id)
        .expect_err("no ManageOutbox");
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
    let CreatedOrganization {
        organization: other,
        owner: evil,
        ..
    } = e
        .create_organization(NewOrganization::new("Evil", "acct-evil", "evil@evil.test"))
        .expect("other org");
    let evil = Actor::Member(evil.id);
    assert!(e.retry_dead_letter(org.id(), &evil, &dead_id).is_err());
    assert_eq!(
        e.retry_dead_letter(&other.id, &evil, &dead_id)
            .expect_err("not theirs")
            .code(),
        "not_found"
    );

    let marks = org.events().len();
    let new_id = e
        .retry_dead_letter(org.id(), &owner, &dead_id)
        .expect("retry");
    assert_ne!(new_id, dead_id);
    // Audited as a resend by the owner.
    let events = org.events();
    assert!(
        events[marks..]
            .iter()
            .any(|ev| matches!(ev.kind, EventKind::InvitationResent { .. }) && ev.actor == owner),
        "{:?}",
        &events[marks..]
    );
    // The dead letter is superseded and leaves the list.
    assert_eq!(
        e.outbox_message(&dead_id).expect("old").status,
        OutboxStatus::Superseded
    );
    assert!(
        e.dead_letters(org.id(), &owner, None, 50)
            .expect("list")
            .items
            .is_empty()
    );
    assert_eq!(
        e.retry_dead_letter(org.id(), &owner, &dead_id)
            .expect_err("retried already")
            .code(),
        "conflict"
    );
    assert_eq!(
        e.retry_dead_letter(org.id(), &owner, &new_id)
            .expect_err("a queued message is not a dead letter")
            .code(),
        "conflict"
    );
    // The worker sends the new message with a fresh link; the old one is
    // dead.
    let mailer = RecordingMailer::new();
    let pass = e.work_outbox(&mailer, 10).expect("pass");
    assert_eq!(pass.sent, vec![new_id]);
    let link = mailer.sent()[0].accept_url.clone();
    assert!(!link.contains(&old_token));
    assert!(
        e.accept(
            &old_token,
            super::scenarios::common::registration("acct-bob")
        )
        .is_err()
    );
    let new_token = super::scenarios::common::token_from_url(&link);
    super::scenarios::common::accept(e, &new_token, "acct-bob");
}

#[test]
fn the_loop_sends_what_is_due_wakes_on_demand_and_stops_promptly() {
    let (engine, _clock) = engine();
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(NewOrganization::new(
            "Acme",
            "acct-owner",
            "owner@acme.test",
        ))
        .expect("org");
    let owner = as_member(&owner);
    let invite_one = |email: &str| {
        engine
            .invite(
                &org.id,
                &owner,
                InviteRequest::new(Recipients::List(vec![RecipientInput::email(email)])),
            )
            .expect("invite");
    };
    invite_one("bob@acme.test");
    let mailer = RecordingMailer::new();
    let stop = StopSignal::new();
    // An hour's idle: only the signal can end the sleeps in time.
    let options = WorkerOptions::new(10, std::time::Duration::from_secs(3600));
    std::thread::scope(|s| {
        let worker = s.spawn(|| engine.run_outbox(&mailer, &stop, &options));
        eventually(30, "the due message is sent", || mailer.sent().len() == 1);
        // A new invitation: sent as soon as the loop is woken.
        invite_one("carol@acme.test");
        stop.wake();
        eventually(30, "the new message is sent after a wake", || {
            mailer.sent().len() == 2
        });
        let stopped = Instant::now();
        stop.stop();
        let totals = worker.join().expect("no panic").expect("no error");
        assert!(
            stopped.elapsed() < std::time::Duration::from_secs(30),
            "stopped without waiting out its hour"
        );
        assert_eq!(totals.sent.len(), 2);
    });
    // A stopped signal stops a loop before its first pass.
    invite_one("dan@acme.test");
    let totals = engine
        .run_outbox(&mailer, &stop, &options)
        .expect("stopped at once");
    assert!(totals.sent.is_empty());
    assert_eq!(mailer.sent().len(), 2);
}

/// A MemoryStore whose next `begin`s fail with the errors given.
struct FlakyStore {
    inner: enlist::MemoryStore,
    fail: std::sync::Mutex<Vec<enlist::StoreError>>,
}

impl enlist::Store for FlakyStore {
    fn begin(&self) -> enlist::StoreResult<Box<dyn enlist::Transaction + '_>> {
        let next = {
            let mut f = self.fail.lock().expect("lock");
            (!f.is_empty()).then(|| f.remove(0))
        };
        match next {
            Some(e) => Err(e),
            None => self.inner.begin(),
        }
    }
}

#[test]
fn the_loop_outlasts_a_store_outage_and_ends_on_any_other_error() {
    let store = std::sync::Arc::new(FlakyStore {
        inner: enlist::MemoryStore::new(),
        fail: std::sync::Mutex::new(Vec::new()),
    });
    let engine = enlist::Enlist::new(store.clone());
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(NewOrganization::new(
            "Acme",
            "acct-owner",
            "owner@acme.test",
        ))
        .expect("org");
    engine
        .invite(
            &org.id,
            &as_member(&owner),
            InviteRequest::new(Recipients::List(vec![RecipientInput::email(
                "bob@acme.test",
            )])),
        )
        .expect("invite");
    let mailer = RecordingMailer::new();
    let stop = StopSignal::new();
    let options = WorkerOptions::new(10, std::time::Duration::from_millis(5));
    // Unavailable three times: waited out, then the message goes.
    *store.fail.lock().expect("lock") = vec![enlist::StoreError::Unavailable("down".into()); 3];
    std::thread::scope(|s| {
        let worker = s.spawn(|| engine.run_outbox(&mailer, &stop, &options));
        eventually(30, "sent after the outage", || mailer.sent().len() == 1);
        stop.stop();
        let totals = worker
            .join()
            .expect("no panic")
            .expect("the outage is no error");
        assert_eq!(totals.sent.len(), 1);
    });
    assert!(
        store.fail.lock().expect("lock").is_empty(),
        "every failure was met"
    );
    // Any other store error ends the loop and is returned.
    *store.fail.lock().expect("lock") = vec![enlist::StoreError::Corrupt("bad page".into())];
    let err = engine
        .run_outbox(&mailer, &StopSignal::new(), &options)
        .expect_err("a corrupt store ends the loop");
    assert!(
        matches!(err, Error::Store(enlist::StoreError::Corrupt(_))),
        "{err:?}"
    );
}

//! The whole engine on SQLite: the same flows, with the same clock and the
//! same seeded secrets, give exactly what they give on MemoryStore (the
//! reference); and several threads and several stores on one file work
//! together.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use chrono::Duration;
use enlist::{
    ActivatedLink, Actor, CreatedOrganization, Enlist, GroupGrant, GroupQuery, GroupUpdate,
    InvitationQuery, InvitationStatus, InviteRequest, LinkSpec, ManualClock, MemberQuery,
    MemberStatus, MemberUpdate, MemoryStore, NewGroup, NewOrganization, Policy, RecipientInput,
    Recipients, RecordingMailer, Registration, SeededSecrets, Store,
};
use enlist_sqlite::SqliteStore;
use std::fmt::Debug;
use std::sync::Arc;

fn engine(store: Arc<dyn Store>) -> (Enlist, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at_epoch_seconds(1_750_000_000));
    let engine = Enlist::new(store)
        .with_clock(clock.clone())
        .with_secrets(Arc::new(SeededSecrets::new(7)));
    (engine, clock)
}

fn reg(user_ref: &str) -> Registration {
    Registration {
        user_ref: user_ref.into(),
        first_name: Some("First".into()),
        last_name: Some("Last".into()),
        ..Registration::default()
    }
}

/// Runs the flows, writing down every result (or error code).
fn transcript(engine: &Enlist, clock: &ManualClock) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |what: &str, v: &dyn Debug| out.push(format!("{what}: {v:?}"));
    fn code<T>(r: &enlist::Result<T>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(e) => e.code().into(),
        }
    }

    let mut policy = Policy::default();
    policy.seat_limits.insert("standard".into(), 8);
    policy.reserve_seats_for_pending = true;
    policy.invite_link_enabled = true;
    policy.resend_cooldown_secs = 60;
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(
            NewOrganization::new("Acme \"Ünïcode\"; Inc.", "acct-ada", "ada@acme.example")
                .with_owner_name("Ada", "Lovelace")
                .with_policy(policy),
        )
        .expect("org");
    note("org", &org);
    let admin = Actor::Member(owner.id.clone());
    let everyone = engine
        .create_group(
            &org.id,
            &admin,
            NewGroup {
                name: "Everyone".into(),
                description: "default".into(),
                is_default: true,
            },
        )
        .expect("group");
    let eng = engine
        .create_group(
            &org.id,
            &admin,
            NewGroup {
                name: "Engineering".into(),
                description: String::new(),
                is_default: false,
            },
        )
        .expect("group");
    note("groups", &(&everyone, &eng));

    // A paste with duplicates, a typo and the owner herself.
    let report = engine
        .invite(
            &org.id,
            &admin,
            InviteRequest::new(Recipients::Paste(
                "bob@acme.example, Carol <carol@acme.example>; \"Doe, Dana\" <dana@acme.example>\n\
                 erin@acme, BOB@acme.example, ada@acme.example"
                    .into(),
            ))
            .groups(vec![GroupGrant::member(eng.id.clone())])
            .message("Welcome; it's 'quoted'"),
        )
        .expect("invite");
    note("report", &report);
    // By identifier, with an access code; and staged ones.
    let by_id = engine
        .invite(
            &org.id,
            &admin,
            InviteRequest::new(Recipients::List(vec![RecipientInput::identifier(
                "EMP-0042",
            )])),
        )
        .expect("invite");
    note("by_id", &by_id);
    let staged = engine
        .invite(
            &org.id,
            &admin,
            InviteRequest::new(Recipients::List(vec![
                RecipientInput::email("frank@acme.example"),
                RecipientInput::email("grace@acme.example"),
            ]))
            .staged(),
        )
        .expect("invite");
    note("staged", &staged);
    let staged_ids: Vec<_> = staged
        .issued
        .iter()
        .map(|i| i.invitation.id.clone())
        .collect();
    note(
        "send_staged",
        &engine.send_staged(&org.id, &admin, &staged_ids[..1]),
    );
    // Seats: 1 owner + 6 open invitations of 8; two more cannot fit.
    note(
        "over_seats",
        &engine.invite(
            &org.id,
            &admin,
            InviteRequest::new(Recipients::Paste(
                "h1@acme.example, h2@acme.example, h3@acme.example".into(),
            )),
        ),
    );
    note("usage", &engine.license_usage(&org.id, &admin));

    let mailer = RecordingMailer::new();
    note("deliver", &engine.deliver_pending(&mailer, 100));
    let sent = mailer.sent();
    note("sent", &sent);
    let token_of = |to: &str| {
        let e = sent.iter().find(|e| e.to == to).expect("emailed");
        e.accept_url
            .split_once("token=")
            .map(|(_, t)| t.to_owned())
            .expect("token")
    };
    let carol = token_of("carol@acme.example");
    note("preview", &engine.preview(&carol));
    note("accept", &engine.accept(&carol, reg("acct-carol")));
    note("accept_again", &code(&engine.accept(&carol, reg("acct-x"))));
    let dana = token_of("dana@acme.example");
    note("decline", &engine.decline(&dana));
    let code_secret = by_id.issued[0].secret.clone().expect("code");
    note(
        "wrong_code",
        &code(&engine.accept_with_code(&org.id, "emp0042", "00000-00000", reg("acct-e"))),
    );
    note(
        "with_code",
        &engine.accept_with_code(&org.id, "EMP 0042", code_secret.expose(), reg("acct-e")),
    );

    // Resend (too soon, then after the cooldown), revoke.
    let bob_inv = report.issued[0].invitation.id.clone();
    note(
        "resend_soon",
        &code(&engine.resend(&org.id, &admin, &bob_inv)),
    );
    clock.advance(Duration::minutes(5));
    let resent = engine.resend(&org.id, &admin, &bob_inv).expect("resend");
    note("resent", &resent);
    note(
        "old_token",
        &code(&engine.accept(&token_of("bob@acme.example"), reg("acct-bob"))),
    );
    note("revoke", &engine.revoke(&org.id, &admin, &staged_ids[1]));

    // The link.
    let ActivatedLink {
        link, url: secret, ..
    } = engine
        .activate_invite_link(&org.id, &admin, LinkSpec::default())
        .expect("link");
    note("link", &link);
    note("link_preview", &engine.preview_link(secret.expose()));
    note(
        "join",
        &engine.join_by_link(secret.expose(), "zoe@acme.example", reg("acct-zoe")),
    );

    // Members: update, deactivate, reactivate, remove; groups.
    let members = engine
        .list_members(&org.id, &admin, &MemberQuery::default())
        .expect("list");
    note("members", &members);
    let carol_id = members
        .items
        .iter()
        .find(|m| m.contact.as_str() == "carol@acme.example")
        .map(|m| m.id.clone())
        .expect("carol");
    let update = MemberUpdate {
        role: Some("admin".into()),
        groups: Some(vec![GroupGrant::owner(eng.id.clone())]),
        ..MemberUpdate::default()
    };
    note(
        "update",
        &engine.update_member(&org.id, &admin, &carol_id, update),
    );
    note(
        "deactivate",
        &engine.deactivate_member(&org.id, &admin, &carol_id),
    );
    note("usage2", &engine.license_usage(&org.id, &admin));
    note(
        "reactivate",
        &engine.reactivate_member(&org.id, &admin, &carol_id),
    );
    note(
        "last_owner",
        &code(&engine.remove_member(&org.id, &admin, &owner.id)),
    );
    let gu = GroupUpdate {
        name: Some("Eng".into()),
        ..GroupUpdate::default()
    };
    note(
        "group_update",
        &engine.update_group(&org.id, &admin, &eng.id, gu),
    );
    note(
        "groups",
        &engine.list_groups(&org.id, &admin, &GroupQuery::default()),
    );
    note("remove", &engine.remove_member(&org.id, &admin, &carol_id));
    note(
        "delete_group",
        &engine.delete_group(&org.id, &admin, &eng.id),
    );
    for status in [None, Some(MemberStatus::Removed)] {
        let mut q = MemberQuery {
            limit: 2,
            statuses: status.into_iter().collect(),
            ..MemberQuery::default()
        };
        loop {
            let page = engine.list_members(&org.id, &admin, &q).expect("list");
            note("members_page", &page);
            match page.next_cursor {
                Some(c) => q.after = Some(c),
                None => break,
            }
        }
    }

    // Expiry: everything still pending expires.
    clock.advance(Duration::days(30));
    let q = InvitationQuery {
        statuses: vec![InvitationStatus::Expired],
        ..InvitationQuery::default()
    };
    note(
        "expired_view",
        &engine.list_invitations(&org.id, &admin, &q),
    );
    note("expire_due", &engine.expire_due(clock_now(engine)));
    let mut q = InvitationQuery {
        limit: 3,
        ..InvitationQuery::default()
    };
    loop {
        let page = engine.list_invitations(&org.id, &admin, &q).expect("list");
        note("invitations_page", &page);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }
    note(
        "bad_cursor",
        &code(&engine.list_members(
            &org.id,
            &admin,
            &MemberQuery {
                after: Some("m.zz".into()),
                ..MemberQuery::default()
            },
        )),
    );
    note("usage3", &engine.license_usage(&org.id, &admin));
    note("events", &engine.events(&org.id, &admin, 0, 1000));
    out
}

fn clock_now(engine: &Enlist) -> chrono::DateTime<chrono::Utc> {
    engine.now()
}

#[test]
fn the_engine_on_sqlite_gives_what_it_gives_on_memory() {
    let (memory, mclock) = engine(Arc::new(MemoryStore::new()));
    let want = transcript(&memory, &mclock);

    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("engine.sqlite3");
    let (sqlite, sclock) = engine(Arc::new(SqliteStore::open(&path).expect("open")));
    let got = transcript(&sqlite, &sclock);
    assert!(want.len() > 40, "the flows ran");
    assert!(want.iter().any(|l| l.starts_with("accept: Ok(")));
    assert!(
        want.iter()
            .any(|l| l == "accept_again: \"invitation_not_open\"")
    );
    assert!(want.iter().any(|l| l == "bad_cursor: \"invalid_input\""));
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "line {i} differs");
    }
    assert_eq!(got.len(), want.len());

    // The in-memory SQLite store too.
    let (mem_sqlite, clock) = engine(Arc::new(SqliteStore::open_in_memory().expect("open")));
    assert_eq!(transcript(&mem_sqlite, &clock), want);
}

#[test]
fn state_survives_reopening_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("reopen.sqlite3");
    let (org, owner, token) = {
        let (e, _) = engine(Arc::new(SqliteStore::open(&path).expect("open")));
        let CreatedOrganization {
            organization: org,
            owner,
            ..
        } = e
            .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.example"))
            .expect("org");
        let r = e
            .invite(
                &org.id,
                &Actor::Member(owner.id.clone()),
                InviteRequest::new(Recipients::Paste("bob@acme.example".into())),
            )
            .expect("invite");
        (org, owner, r.issued[0].secret.clone().expect("token"))
    };
    let (e, _) = engine(Arc::new(SqliteStore::open(&path).expect("reopen")));
    assert_eq!(e.organization(&org.id).expect("org"), org);
    let accepted = e.accept(token.expose(), reg("acct-bob")).expect("accept");
    let members = e
        .list_members(&org.id, &Actor::Member(owner.id), &MemberQuery::default())
        .expect("list");
    assert_eq!(members.items.len(), 2);
    assert!(members.items.contains(&accepted.member));
}

/// Threads share one store; other threads use a second store on the same
/// file, as another process would. Every command succeeds (conflicts are
/// retried by the engine) and nothing is lost.
#[test]
fn threads_and_second_stores_on_one_file_work_together() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("shared.sqlite3");
    let first: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("open"));
    let second: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("open"));
    let mut policy = Policy::default();
    policy.seat_limits.insert("standard".into(), 1000);
    let admin_engine = Enlist::new(first.clone());
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = admin_engine
        .create_organization(
            NewOrganization::new("Acme", "acct-0", "owner@acme.example").with_policy(policy),
        )
        .expect("org");
    let admin = Actor::Member(owner.id.clone());
    let workers = 4;
    let per = 15;
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let store = if w % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let (org, admin) = (org.id.clone(), admin.clone());
            std::thread::spawn(move || {
                let e = Enlist::new(store);
                for i in 0..per {
                    let email = format!("w{w}-{i}@acme.example");
                    let r = e
                        .invite(
                            &org,
                            &admin,
                            InviteRequest::new(Recipients::List(vec![RecipientInput::email(
                                email,
                            )])),
                        )
                        .expect("invite");
                    let token = r.issued[0].secret.clone().expect("token");
                    if i % 3 != 0 {
                        e.accept(token.expose(), reg(&format!("acct-{w}-{i}")))
                            .expect("accept");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("worker");
    }
    let accepted = workers * (0..per).filter(|i| i % 3 != 0).count();
    let usage = admin_engine.license_usage(&org.id, &admin).expect("usage");
    assert_eq!(usage.len(), 1);
    assert_eq!(usage[0].used, accepted as u64 + 1);
    assert_eq!(
        usage[0].pending,
        (workers * per - accepted) as u64,
        "{usage:?}"
    );
    let events = admin_engine
        .events(&org.id, &admin, 0, 1000)
        .expect("events");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
}

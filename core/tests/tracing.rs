//! The `tracing` feature: a span per command and per store transaction,
//! with the attempt and conflict counts, and no secret or address in any
//! field. Run with `cargo test -p enlist --features tracing`.
#![cfg(feature = "tracing")]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use enlist::{
    Actor, CreatedOrganization, EngineConfig, Enlist, InviteRequest, MemoryStore, NewOrganization,
    RecipientInput, Recipients, Registration, Store, StoreError, StoreResult, Transaction,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One recorded span (or event, with the name `event`).
#[derive(Clone, Debug)]
struct Rec {
    id: u64,
    name: &'static str,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

/// A subscriber that keeps every span and event with every field value.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Rec>>>);

impl Capture {
    fn recs(&self) -> MutexGuard<'_, Vec<Rec>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self) -> Vec<Rec> {
        std::mem::take(&mut *self.recs())
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut recs = self.recs();
        let id = recs.len() as u64 + 1_000_000;
        let mut rec = Rec {
            id,
            name: attrs.metadata().name(),
            parent: attrs.parent().map(Id::into_u64),
            fields: BTreeMap::new(),
        };
        attrs.record(&mut Fields(&mut rec.fields));
        recs.push(rec);
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut recs = self.recs();
        if let Some(rec) = recs.iter_mut().find(|r| r.id == span.into_u64()) {
            values.record(&mut Fields(&mut rec.fields));
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut rec = Rec {
            id: 0,
            name: "event",
            parent: None,
            fields: BTreeMap::new(),
        };
        event.record(&mut Fields(&mut rec.fields));
        self.recs().push(rec);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

/// A MemoryStore whose next `fail` transactions fail to begin with a
/// conflict.
struct Flaky {
    inner: MemoryStore,
    fail: AtomicUsize,
}

impl Store for Flaky {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        if self
            .fail
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::Conflict);
        }
        self.inner.begin()
    }
}

fn commands(recs: &[Rec]) -> Vec<&Rec> {
    recs.iter().filter(|r| r.name == "enlist.command").collect()
}

fn transactions_of<'a>(recs: &'a [Rec], command: &Rec) -> Vec<&'a Rec> {
    recs.iter()
        .filter(|r| r.name == "enlist.transaction" && r.parent == Some(command.id))
        .collect()
}

fn field<'a>(r: &'a Rec, name: &str) -> &'a str {
    r.fields.get(name).map(String::as_str).unwrap_or("<none>")
}

#[test]
fn commands_and_transactions_have_spans_with_attempts_and_conflicts() {
    let capture = Capture::default();
    let store = Arc::new(Flaky {
        inner: MemoryStore::new(),
        fail: AtomicUsize::new(0),
    });
    let engine = Enlist::new(store.clone());
    tracing::subscriber::with_default(capture.clone(), || {
        let CreatedOrganization {
            organization: org,
            owner,
            ..
        } = engine
            .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
            .expect("org");
        let recs = capture.take();
        let cmds = commands(&recs);
        assert_eq!(cmds.len(), 1, "{recs:#?}");
        assert_eq!(field(cmds[0], "command"), "create_organization");
        assert_eq!(field(cmds[0], "attempts"), "1");
        assert_eq!(field(cmds[0], "conflicts"), "0");
        assert_eq!(field(cmds[0], "outcome"), "ok");
        let txs = transactions_of(&recs, cmds[0]);
        assert_eq!(txs.len(), 1);
        assert_eq!(field(txs[0], "attempt"), "1");
        assert_eq!(field(txs[0], "outcome"), "commit");

        // Two conflicts, then a commit: three transactions in one command.
        store.fail.store(2, Ordering::SeqCst);
        engine
            .list_members(
                &org.id,
                &Actor::Member(owner.id.clone()),
                &Default::default(),
            )
            .expect("members");
        let recs = capture.take();
        let cmds = commands(&recs);
        assert_eq!(cmds.len(), 1, "{recs:#?}");
        let c = cmds[0];
        assert_eq!(field(c, "command"), "list_members");
        assert_eq!(field(c, "org"), org.id.as_str());
        assert_eq!(field(c, "attempts"), "3");
        assert_eq!(field(c, "conflicts"), "2");
        assert_eq!(field(c, "outcome"), "ok");
        let txs = transactions_of(&recs, c);
        let seen: Vec<(&str, &str)> = txs
            .iter()
            .map(|t| (field(t, "attempt"), field(t, "outcome")))
            .collect();
        assert_eq!(
            seen,
            [("1", "conflict"), ("2", "conflict"), ("3", "commit")]
        );

        // Conflicts past the retries: the command fails, every attempt shown.
        store.fail.store(1000, Ordering::SeqCst);
        let retries = EngineConfig::default().conflict_retries;
        assert!(engine.organization(&org.id).is_err());
        store.fail.store(0, Ordering::SeqCst);
        let recs = capture.take();
        let c = commands(&recs)[0];
        assert_eq!(field(c, "attempts"), (retries + 1).to_string());
        assert_eq!(field(c, "conflicts"), (retries + 1).to_string());
        assert_eq!(field(c, "outcome"), "error");
        assert_eq!(transactions_of(&recs, c).len(), retries as usize + 1);

        // A refused command: its transaction rolls back, its code is named.
        let err = engine
            .invite(
                &org.id,
                &Actor::Anonymous,
                InviteRequest::new(Recipients::Paste("eve@acme.test".into())),
            )
            .expect_err("anonymous");
        let recs = capture.take();
        let c = commands(&recs)[0];
        assert_eq!(field(c, "command"), "invite.authorize");
        assert_eq!(field(c, "outcome"), "error");
        assert_eq!(field(c, "error"), err.code());
        assert_eq!(field(transactions_of(&recs, c)[0], "outcome"), "rollback");
    });
}

#[test]
fn no_secret_or_address_reaches_a_span() {
    let capture = Capture::default();
    let engine = Enlist::in_memory();
    let mut secrets: Vec<String> = vec![
        "ada@acme.test".into(),
        "bob@acme.test".into(),
        "Bobby Tables".into(),
        "EMP-0042".into(),
        "emp0042".into(),
        "Welcome aboard".into(),
        "mallory".into(),
    ];
    tracing::subscriber::with_default(capture.clone(), || {
        let CreatedOrganization {
            organization: org,
            owner,
            ..
        } = engine
            .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
            .expect("org");
        let admin = Actor::Member(owner.id);
        let mut req = InviteRequest::new(Recipients::List(vec![
            RecipientInput::email("Bobby Tables <bob@acme.test>"),
            RecipientInput::identifier("EMP-0042"),
        ]));
        req.message = Some("Welcome aboard".into());
        let report = engine.invite(&org.id, &admin, req).expect("invite");
        assert_eq!(report.issued.len(), 2, "{:?}", report.rejected);
        let token = report.issued[0].secret.clone().expect("a token");
        let code = report.issued[1].secret.clone().expect("a code");
        secrets.push(token.expose().to_owned());
        // The token is `<org id>.<random>`: the org id is in spans on
        // purpose, the random part never.
        let random = token.expose().split_once('.').map(|(_, r)| r);
        secrets.push(random.expect("org.random").to_owned());
        secrets.push(code.expose().to_owned());
        secrets.push(code.expose().replace('-', ""));
        engine.preview(token.expose()).expect("preview");
        // Organization ids a caller makes up never reach a span.
        let made_up = enlist::OrgId::from("mallory@evil.test");
        assert!(engine.organization(&made_up).is_err());
        assert!(engine.preview("mallory@evil.test.abcdef").is_err());
        engine
            .accept(
                token.expose(),
                Registration {
                    user_ref: "acct-bob".into(),
                    first_name: Some("Bobby".into()),
                    last_name: Some("Tables".into()),
                    ..Registration::default()
                },
            )
            .expect("accept");
        // A wrong code first, then the right one.
        assert!(
            engine
                .accept_with_code(
                    &org.id,
                    "EMP-0042",
                    "WRONG-CODE",
                    Registration {
                        user_ref: "acct-emp".into(),
                        ..Registration::default()
                    },
                )
                .is_err()
        );
        engine
            .accept_with_code(
                &org.id,
                "EMP-0042",
                code.expose(),
                Registration {
                    user_ref: "acct-emp".into(),
                    first_name: Some("Emp".into()),
                    last_name: Some("Loyee".into()),
                    ..Registration::default()
                },
            )
            .expect("accept with code");
        engine
            .deliver_pending(&enlist::RecordingMailer::default(), 10)
            .expect("deliver");
    });
    let recs = capture.take();
    let names: Vec<&str> = commands(&recs)
        .iter()
        .map(|c| field(c, "command"))
        .collect();
    for expected in [
        "create_organization",
        "invite",
        "preview",
        "accept",
        "accept_with_code.lookup",
        "accept_with_code",
        "deliver_pending.due",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    // A command by token names its organization once the token has found it.
    let preview = commands(&recs)
        .into_iter()
        .find(|c| field(c, "command") == "preview" && field(c, "outcome") == "ok");
    assert!(
        preview.is_some_and(|c| field(c, "org").starts_with("org_")),
        "{recs:#?}"
    );
    let allowed: [&str; 9] = [
        "command",
        "org",
        "attempts",
        "conflicts",
        "outcome",
        "error",
        "attempt",
        "message",
        "log.target",
    ];
    for r in &recs {
        for (k, v) in &r.fields {
            assert!(allowed.contains(&k.as_str()), "field {k} of {r:?}");
            for s in &secrets {
                assert!(
                    !v.to_lowercase().contains(&s.to_lowercase()),
                    "{s:?} in field {k} = {v:?} of {}",
                    r.name
                );
            }
        }
    }
}

/// An after-hook that fails cannot fail its command: the failure is a
/// warning on target `enlist::hooks`, naming the command and the error.
#[test]
fn a_failed_after_hook_is_logged_not_raised() {
    struct Failing;
    impl enlist::Hooks for Failing {
        fn after(&self, _: &enlist::HookChange) -> Result<(), enlist::HookError> {
            Err(enlist::HookError::new("webhook endpoint down"))
        }
    }
    let capture = Capture::default();
    let engine = Enlist::in_memory().with_hooks(Arc::new(Failing));
    tracing::subscriber::with_default(capture.clone(), || {
        engine
            .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
            .expect("committed whatever the after-hook says");
    });
    let recs = capture.take();
    let warnings: Vec<&Rec> = recs
        .iter()
        .filter(|r| r.name == "event" && r.fields.contains_key("error"))
        .collect();
    assert!(!warnings.is_empty(), "{recs:#?}");
    assert!(
        warnings
            .iter()
            .all(|w| field(w, "error") == "webhook endpoint down"
                && field(w, "command") == "create_organization")
    );
}

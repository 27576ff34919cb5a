//! The `tokio` feature: `AsyncEnlist` runs each command on the blocking
//! pool, so the runtime keeps serving while a store transaction works.
//! Run with `cargo test -p enlist --features tokio --test async_engine`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use enlist::{
    Actor, AsyncEnlist, CreatedOrganization, Enlist, Error, InviteRequest, MAX_CONCURRENT_COMMANDS,
    NewOrganization, OrgId, Recipients, Registration,
};

/// An organization and its owner, created through the facade.
async fn org(engine: &AsyncEnlist) -> (OrgId, Actor) {
    let CreatedOrganization {
        organization,
        owner,
        ..
    } = engine
        .run(|e| e.create_organization(NewOrganization::new("Acme", "acct-ada", "ada@acme.test")))
        .await
        .expect("create the organization");
    (organization.id, Actor::Member(owner.id))
}

fn paste(text: &str) -> InviteRequest {
    InviteRequest::new(Recipients::Paste(text.into()))
}

#[tokio::test]
async fn a_command_returns_what_the_sync_command_returns_and_its_errors() {
    let engine = AsyncEnlist::new(Enlist::in_memory());
    let (org, owner) = org(&engine).await;
    let (o, a) = (org.clone(), owner.clone());
    let report = engine
        .run(move |e| e.invite(&o, &a, paste("bob@acme.test")))
        .await
        .expect("invite");
    assert_eq!(report.issued.len(), 1);
    let token = report.issued[0]
        .secret
        .clone()
        .expect("a sent invitation has its secret");

    let preview = engine
        .run({
            let t = token.expose().to_owned();
            move |e| e.preview(&t)
        })
        .await
        .expect("preview");
    assert_eq!(preview.org_name, "Acme");
    let accepted = engine
        .run(move |e| {
            e.accept(
                token.expose(),
                Registration {
                    user_ref: "acct-bob".into(),
                    first_name: Some("Bob".into()),
                    last_name: Some("Smith".into()),
                    ..Registration::default()
                },
            )
        })
        .await
        .expect("accept");
    assert_eq!(accepted.member.contact.as_str(), "bob@acme.test");

    // A stranger is refused exactly as by the sync call.
    let o = org.clone();
    let err = engine
        .run(move |e| e.invite(&o, &Actor::Member("nobody".into()), paste("eve@acme.test")))
        .await
        .expect_err("a stranger may not invite");
    let sync_err = engine
        .engine()
        .invite(
            &org,
            &Actor::Member("nobody".into()),
            paste("eve@acme.test"),
        )
        .expect_err("a stranger may not invite");
    assert_eq!(err.code(), sync_err.code());
    assert_eq!(err.to_string(), sync_err.to_string());
}

/// On a runtime with ONE thread, a command that waits for another task
/// finishes only if it does not occupy that thread: called in place, it
/// would wait for a task that can never run (the receive gives up after
/// 10 s and the test fails).
#[tokio::test(flavor = "current_thread")]
async fn a_command_does_not_block_the_runtime() {
    let engine = AsyncEnlist::new(Enlist::in_memory());
    let (org, owner) = org(&engine).await;
    let (tx, rx) = mpsc::channel::<()>();
    let waiting = engine.run(move |e| {
        rx.recv_timeout(Duration::from_secs(10))
            .map_err(|_| Error::InvalidInput {
                field: "test".into(),
                reason: "the other task never ran".into(),
            })?;
        e.invite(&org, &owner, paste("bob@acme.test"))
    });
    let other = async move {
        tokio::task::yield_now().await;
        tx.send(()).expect("the command is waiting");
    };
    let (report, ()) = tokio::join!(waiting, other);
    assert_eq!(report.expect("the command ran").issued.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commands_all_land() {
    let engine = AsyncEnlist::new(Enlist::in_memory());
    let (org, owner) = org(&engine).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..16 {
        let (engine, org, owner) = (engine.clone(), org.clone(), owner.clone());
        tasks.spawn(async move {
            engine
                .run(move |e| e.invite(&org, &owner, paste(&format!("p{n}@acme.test"))))
                .await
        });
    }
    let mut issued = 0;
    while let Some(done) = tasks.join_next().await {
        issued += done.expect("task").expect("invite").issued.len();
    }
    assert_eq!(issued, 16);
    let (o, a) = (org.clone(), owner.clone());
    let page = engine
        .run(move |e| e.list_invitations(&o, &a, &enlist::InvitationQuery::default()))
        .await
        .expect("list");
    assert_eq!(page.items.len(), 16);
}

/// With a bound of 2, never more than 2 commands run at once, even when 12
/// are awaited together; the others wait their turn and all complete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bound_holds_commands_in_flight() {
    let engine = AsyncEnlist::new(Enlist::in_memory())
        .with_max_concurrent(2)
        .expect("a valid bound");
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (engine, running, most) = (engine.clone(), running.clone(), most.clone());
        tasks.spawn(async move {
            engine
                .run(move |e| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(e.now())
                })
                .await
        });
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        result.expect("task").expect("command");
        done += 1;
    }
    assert_eq!(done, 12);
    assert_eq!(
        most.load(Ordering::SeqCst),
        2,
        "the bound was not reached or not kept"
    );
}

#[test]
fn a_bound_out_of_range_is_refused() {
    for max in [0, MAX_CONCURRENT_COMMANDS + 1] {
        let err = AsyncEnlist::new(Enlist::in_memory())
            .with_max_concurrent(max)
            .expect_err("out of range");
        assert_eq!(err.code(), "invalid_input");
    }
    assert!(
        AsyncEnlist::new(Enlist::in_memory())
            .with_max_concurrent(MAX_CONCURRENT_COMMANDS)
            .is_ok()
    );
}

#[tokio::test]
async fn a_panic_in_a_command_reaches_the_caller() {
    let engine = AsyncEnlist::new(Enlist::in_memory());
    let task = tokio::spawn(async move {
        engine
            .run(|_| -> enlist::Result<()> { panic!("boom in the command") })
            .await
    });
    let err = task.await.expect_err("the panic is resumed in the caller");
    let panic = err.into_panic();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"boom in the command"));
}

//! `AsyncEnlist` (core's `tokio` feature) over the PostgreSQL store: the
//! `postgres` client runs a runtime of its own, which may be driven from
//! tokio's blocking pool (where `AsyncEnlist::run` puts each command) but
//! not from an async task.

use crate::common::*;
use enlist::{Actor, AsyncEnlist, Enlist, InviteRequest, NewOrganization, Recipients};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime")
}

#[test]
fn async_commands_run_on_postgres_from_a_tokio_runtime() {
    let Some(f) = Fresh::new() else { return };
    let engine = AsyncEnlist::new(Enlist::new(f.dyn_store()))
        .with_max_concurrent(4)
        .expect("bound");
    runtime().block_on(async move {
        let created = engine
            .run(|e| {
                e.create_organization(NewOrganization::new("Acme", "acct-ada", "ada@acme.test"))
            })
            .await
            .expect("create");
        let (org, owner) = (created.organization.id, Actor::Member(created.owner.id));
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..8 {
            let (engine, org, owner) = (engine.clone(), org.clone(), owner.clone());
            tasks.spawn(async move {
                engine
                    .run(move |e| {
                        e.invite(
                            &org,
                            &owner,
                            InviteRequest::new(Recipients::Paste(format!("p{n}@acme.test"))),
                        )
                    })
                    .await
            });
        }
        while let Some(done) = tasks.join_next().await {
            assert_eq!(done.expect("task").expect("invite").issued.len(), 1);
        }
        let page = engine
            .run(move |e| e.list_invitations(&org, &owner, &enlist::InvitationQuery::default()))
            .await
            .expect("list");
        assert_eq!(page.items.len(), 8);
    });
}

/// What the facade is for: the same command called in place, on a
/// runtime worker, is refused by the `postgres` client (it panics).
#[test]
fn the_blocking_client_refuses_an_async_task() {
    let Some(f) = Fresh::new() else { return };
    let engine = Enlist::new(f.dyn_store());
    let outcome = runtime().block_on(async move {
        tokio::spawn(async move {
            engine.create_organization(NewOrganization::new("Acme", "acct-ada", "ada@acme.test"))
        })
        .await
    });
    assert!(
        outcome.as_ref().is_err_and(|e| e.is_panic()),
        "expected the postgres client to refuse a runtime worker: {outcome:?}"
    );
}

/// A panic on a thread of tokio's blocking pool (inside the runtime's
/// context, where blocking is allowed) after a transaction's statements
/// reached the server: dropping the transaction still rolls it back, and
/// the pool's one connection goes back clean (a connection returned in
/// its transaction would let the next command see, and commit, the
/// panicked one's writes).
#[test]
fn a_panic_on_a_blocking_thread_rolls_the_transaction_back() {
    let Some(f) = Fresh::new_with(|o| o.max_connections = 1) else {
        return;
    };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    tx.put_organization(&organization(&org)).expect("org");
    tx.commit().expect("commit");
    let store = f.dyn_store();
    let in_task = org.clone();
    let outcome = runtime().block_on(async move {
        tokio::task::spawn_blocking(move || {
            let mut tx = store.begin().expect("begin");
            // Keys not read free: the general write, sent at once.
            tx.put_member(&member(&in_task, "mem_1", "a@x.test"))
                .expect("member");
            panic!("a bug in the middle of a command");
        })
        .await
    });
    assert!(outcome.is_err_and(|e| e.is_panic()));
    let mut tx = begin(&*f.store);
    assert_eq!(tx.member_by_contact(&org, "a@x.test").expect("read"), None);
    tx.commit().expect("commit");
    assert_eq!(count(&mut f.sql(), "SELECT count(*) FROM members"), 0);
}

//! Engine benchmarks on `MemoryStore`:
//! - invitations issued per second: one 100-recipient batch, and 100,000
//!   recipients in 1,000 batches;
//! - accept latency with 1,000,000 pending invitations in the organization,
//!   and a 100-recipient batch into that organization (compare with the
//!   batch into an empty one: no cost may grow with the organization);
//! - list-members page latency in an organization of 1,000,000 members.
//!
//! Large fixtures are written through the public `Store`/`Transaction` API
//! (what a migration would do), so the setup does not dominate the run.
//! Run: `cargo bench -p enlist --bench engine`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function

use chrono::{Duration, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use enlist::{
    Actor, CreatedOrganization, Enlist, InviteRequest, Member, MemberQuery, MemberStatus,
    MemoryStore, NewOrganization, OrgId, Policy, RecipientInput, Recipients, Registration,
    SecretHash, SeededSecrets, StoredInvitation,
};
use std::sync::Arc;

fn engine() -> (Enlist, OrgId, Actor) {
    let engine =
        Enlist::new(Arc::new(MemoryStore::new())).with_secrets(Arc::new(SeededSecrets::new(1)));
    let mut policy = Policy::default();
    policy.max_batch = 1000;
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(
            NewOrganization::new("Bench", "owner", "owner@bench.example").with_policy(policy),
        )
        .expect("org");
    (engine, org.id, Actor::Member(owner.id))
}

fn batch(start: usize, n: usize) -> InviteRequest {
    InviteRequest::new(Recipients::List(
        (start..start + n)
            .map(|i| RecipientInput::email(format!("user{i}@example.com")))
            .collect(),
    ))
}

fn paste_batch(start: usize, n: usize) -> InviteRequest {
    let text: Vec<String> = (start..start + n)
        .map(|i| match i % 3 {
            0 => format!("user{i}@example.com"),
            1 => format!("User {i} <user{i}@example.com>"),
            _ => format!("\"Last{i}, First\" <user{i}@example.com>"),
        })
        .collect();
    InviteRequest::new(Recipients::Paste(text.join("\n")))
}

fn bench_invite(c: &mut Criterion) {
    let mut g = c.benchmark_group("invite");
    g.sample_size(20);
    g.throughput(Throughput::Elements(100));
    g.bench_function("batch_100_list", |b| {
        b.iter_batched(
            engine,
            |(e, org, actor)| e.invite(&org, &actor, batch(0, 100)).expect("invite"),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("batch_100_paste", |b| {
        b.iter_batched(
            engine,
            |(e, org, actor)| e.invite(&org, &actor, paste_batch(0, 100)).expect("invite"),
            BatchSize::LargeInput,
        )
    });
    g.sample_size(10);
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("100k_in_1000_batches", |b| {
        b.iter_batched(
            engine,
            |(e, org, actor)| {
                for k in 0..1000 {
                    let r = e.invite(&org, &actor, batch(k * 100, 100)).expect("invite");
                    assert_eq!(r.issued.len(), 100);
                }
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn member(org: &OrgId, i: usize) -> Member {
    let email = format!("member{i:07}@example.com");
    let mut m = serde_roundtrip_member(org, &email, i);
    m.status = MemberStatus::Active;
    m
}

/// Builds a member through its public fields (the struct is non_exhaustive
/// outside the crate, so it is made by deserializing).
fn serde_roundtrip_member(org: &OrgId, email: &str, i: usize) -> Member {
    let v = serde_json::json!({
        "org_id": org, "id": format!("mem_bench{i:09}"), "user_ref": format!("acct{i}"),
        "contact": {"type": "email", "value": email}, "contact_key": email,
        "first_name": "Bench", "last_name": format!("User{i}"), "phone": null,
        "role": "member", "kind": "member", "license_type": "standard", "status": "active",
        "groups": [], "joined_at": Utc::now(), "last_active_at": null, "eula_version": null,
        "two_factor_enrolled": false, "removed_at": null
    });
    serde_json::from_value(v).expect("member json")
}

fn pending(org: &OrgId, i: usize, hash: SecretHash) -> StoredInvitation {
    let email = format!("pending{i:07}@example.com");
    let now = Utc::now();
    let v = serde_json::json!({
        "org_id": org, "id": format!("inv_bench{i:09}"), "batch_id": "bat_bench",
        "recipient": {"type": "email", "value": email}, "recipient_key": email,
        "display_name": null, "first_name": null, "last_name": null, "kind": "member",
        "role": "member", "groups": [], "license_type": "standard", "inviter": null,
        "message": null, "created_at": now, "expires_at": now + Duration::days(7),
        "status": "pending", "secret_hash": hash, "send_count": 1, "last_sent_at": now,
        "failed_attempts": 0, "closed_at": null, "member_id": null
    });
    serde_json::from_value(v).expect("invitation json")
}

const BIG: usize = 1_000_000;

fn bench_accept(c: &mut Criterion) {
    let (e, org, actor) = engine();
    // 1,000,000 pending invitations with known hashes, written in chunks.
    let store = e.store().clone();
    for chunk in (0..BIG).collect::<Vec<_>>().chunks(10_000) {
        let mut tx = store.begin().expect("begin");
        for &i in chunk {
            tx.put_invitation(&pending(
                &org,
                i,
                SecretHash::of(format!("filler{i}").as_bytes()),
            ))
            .expect("put");
        }
        tx.commit().expect("commit");
    }
    let mut n = 0usize;
    let mut g = c.benchmark_group("accept");
    g.sample_size(50);
    g.bench_function("with_1M_pending", |b| {
        b.iter_batched(
            || {
                n += 1;
                let r = e.invite(&org, &actor, batch(BIG + n, 1)).expect("invite");
                r.issued[0].secret.clone().expect("secret")
            },
            |token| {
                e.accept(
                    token.expose(),
                    Registration {
                        user_ref: token.expose().to_owned(),
                        first_name: Some("A".into()),
                        last_name: Some("B".into()),
                        ..Registration::default()
                    },
                )
                .expect("accept")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
    // The same 100-recipient batch as `invite/batch_100_list`, into this
    // organization of 1,000,000 pending invitations: its cost must not grow
    // with the organization.
    let mut g = c.benchmark_group("invite");
    g.sample_size(20);
    g.throughput(Throughput::Elements(100));
    let mut next = 2 * BIG;
    g.bench_function("batch_100_into_1M_pending", |b| {
        b.iter(|| {
            next += 100;
            let r = e.invite(&org, &actor, batch(next, 100)).expect("invite");
            assert_eq!(r.issued.len(), 100);
            r
        })
    });
    g.finish();
}

fn bench_list_members(c: &mut Criterion) {
    let (e, org, actor) = engine();
    let store = e.store().clone();
    for chunk in (0..BIG).collect::<Vec<_>>().chunks(10_000) {
        let mut tx = store.begin().expect("begin");
        for &i in chunk {
            tx.put_member(&member(&org, i)).expect("put");
        }
        tx.commit().expect("commit");
    }
    let mut g = c.benchmark_group("list_members");
    g.sample_size(50);
    g.bench_function("first_page_of_1M", |b| {
        b.iter(|| {
            e.list_members(
                &org,
                &actor,
                &MemberQuery {
                    limit: 50,
                    ..MemberQuery::default()
                },
            )
            .expect("list")
        })
    });
    let mid = e
        .list_members(
            &org,
            &actor,
            &MemberQuery {
                limit: 1000,
                ..MemberQuery::default()
            },
        )
        .expect("list")
        .next_cursor;
    g.bench_function("page_after_cursor_of_1M", |b| {
        b.iter(|| {
            e.list_members(
                &org,
                &actor,
                &MemberQuery {
                    limit: 50,
                    after: mid.clone(),
                    ..MemberQuery::default()
                },
            )
            .expect("list")
        })
    });
    g.bench_function("filter_role_owner_of_1M", |b| {
        b.iter(|| {
            e.list_members(
                &org,
                &actor,
                &MemberQuery {
                    limit: 50,
                    role: Some("owner".into()),
                    ..MemberQuery::default()
                },
            )
            .expect("list")
        })
    });
    g.finish();
}

criterion_group!(benches, bench_invite, bench_accept, bench_list_members);
criterion_main!(benches);

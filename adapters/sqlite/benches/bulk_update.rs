//! The bulk update through the import template, on a SQLite file (issue
//! 13): a 500-row CSV updating 500 members (department, job title, and
//! every other row's role), as
//!
//! - `bulk_update/dry_run_500`: the diff per row, nothing written (one
//!   transaction, rolled back);
//! - `bulk_update/apply_500`: applied, one transaction per 100 rows (the
//!   default `max_batch`), one event per member changed. Each iteration
//!   applies the other of two files, so that every row changes every time.
//!
//! Run: `cargo bench -p enlist-sqlite --bench bulk_update`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use enlist::{
    Actor, BulkRowStatus, CreatedOrganization, Enlist, ImportFormat, InviteRequest,
    NewOrganization, OrgId, RecipientInput, Recipients, Registration, SeededSecrets,
};
use enlist_sqlite::SqliteStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const MEMBERS: usize = 500;

/// An organization with [`MEMBERS`] members, on a file.
fn world(dir: &std::path::Path) -> (Enlist, OrgId, Actor) {
    let store = SqliteStore::open(dir.join("bench.sqlite3")).expect("open");
    let engine = Enlist::new(Arc::new(store)).with_secrets(Arc::new(SeededSecrets::new(1)));
    let CreatedOrganization {
        organization,
        owner,
        ..
    } = engine
        .create_organization(NewOrganization::new(
            "Bench",
            "owner",
            "owner@bench.example",
        ))
        .expect("org");
    let owner = Actor::Member(owner.id);
    for start in (0..MEMBERS).step_by(100) {
        let rows = (start..start + 100)
            .map(|i| RecipientInput::email(format!("user{i}@bench.example")))
            .collect();
        let r = engine
            .invite(
                &organization.id,
                &owner,
                InviteRequest::new(Recipients::List(rows)),
            )
            .expect("invite");
        for issued in r.issued {
            let token = issued.secret.expect("secret");
            engine
                .accept(
                    token.expose(),
                    Registration {
                        user_ref: format!("acct-{}", issued.invitation.recipient.as_str()),
                        first_name: Some("User".into()),
                        last_name: Some("Bench".into()),
                        ..Registration::default()
                    },
                )
                .expect("accept");
        }
    }
    (engine, organization.id, owner)
}

/// A 500-row file: `variant` picks the values, so two variants differ in
/// every row.
fn file(variant: usize) -> String {
    let mut out = String::from("Email,Role,Department,Job title\n");
    for i in 0..MEMBERS {
        let role = if i % 2 == 0 {
            ["member", "user_admin"][variant % 2]
        } else {
            ""
        };
        out.push_str(&format!(
            "user{i}@bench.example,{role},Dept {} {variant},Title {}\n",
            i % 7,
            i % 5 + variant * 10
        ));
    }
    out
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (engine, org, owner) = world(dir.path());
    let files = [file(0), file(1)];
    let mut g = c.benchmark_group("bulk_update");
    g.sample_size(10);
    g.throughput(Throughput::Elements(MEMBERS as u64));
    g.bench_function("dry_run_500", |b| {
        b.iter(|| {
            let r = engine
                .dry_run_bulk_update(&org, &owner, files[0].as_bytes(), ImportFormat::Csv)
                .expect("dry run");
            assert_eq!(r.rows.len(), MEMBERS);
            assert_eq!(r.count(BulkRowStatus::Failed), 0);
        });
    });
    let turn = AtomicUsize::new(0);
    g.bench_function("apply_500", |b| {
        b.iter(|| {
            let t = turn.fetch_add(1, Ordering::Relaxed);
            let r = engine
                .bulk_update_members(&org, &owner, files[t % 2].as_bytes(), ImportFormat::Csv)
                .expect("apply");
            assert_eq!(r.count(BulkRowStatus::Changed), MEMBERS);
            assert_eq!(r.batches, 5);
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

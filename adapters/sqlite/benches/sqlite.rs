//! SQLite store benchmarks, on files in a temporary folder:
//!
//! - `invite/100k_in_1000_batches`: the engine issues invitations to
//!   100,000 recipients, in 1,000 `invite` calls of 100 (each one
//!   transaction: the invitations, their queued emails, their events);
//! - `invite/ceiling_raw_inserts_100k`: the ceiling: the same 100,000
//!   invitation rows (same columns, same indexes, same pragmas)
//!   inserted with plain rusqlite `INSERT`s, 100 per transaction, rows
//!   prepared before the clock starts;
//! - `invite/ceiling_raw_inserts_100k_all_rows`: the same, with the outbox
//!   and event rows the engine also writes for each recipient (each
//!   invitation, then its message linked to it, then its event);
//! - `accept/with_1M_pending`: accepting one invitation in an organization
//!   with 1,000,000 pending invitations (one engine command: look-ups by
//!   secret, contact and user_ref, seat count, the new member, the closed
//!   invitation, the superseded email, the event), and the same
//!   organization's first page of pending invitations and license usage.
//!
//! The median and best rates of every run, and the ratios of the engine
//! to the ceilings (median to median, best to best), are printed at the end.
//! Run: `cargo bench -p enlist-sqlite --bench sqlite`.

#![allow(missing_docs)] // criterion_group! generates an undocumented function
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration as Days, Utc};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use enlist::{
    Actor, CreatedOrganization, Enlist, Event, InvitationQuery, InvitationStatus, InviteRequest,
    MemoryStore, NewOrganization, OrgId, OutboxMessage, Policy, RecipientInput, Recipients,
    Registration, SecretHash, SeededSecrets, Store, StoredInvitation,
};
use enlist_sqlite::SqliteStore;
use rusqlite::{Connection, params};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RECIPIENTS: usize = 100_000;
const BATCH: usize = 100;
const PENDING: usize = 1_000_000;

/// Every rate measured (per second), by name, for the summary.
static RATES: Mutex<Vec<(&'static str, Vec<f64>)>> = Mutex::new(Vec::new());

fn record(name: &'static str, per_sec: f64) {
    let mut r = RATES.lock().unwrap();
    match r.iter_mut().find(|(n, _)| *n == name) {
        Some((_, all)) => all.push(per_sec),
        None => r.push((name, vec![per_sec])),
    }
}

/// `(median, best)` of a list of rates.
fn median_best(rates: &[f64]) -> (f64, f64) {
    let mut v = rates.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let median = if v.len() % 2 == 0 {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    };
    (median, v[v.len() - 1])
}

fn policy() -> Policy {
    let mut p = Policy::default();
    // A seat limit, so that every invitation and acceptance reads the seat
    // counters.
    p.seat_limits.insert("standard".into(), 10_000_000);
    p
}

fn engine_on(store: Arc<dyn Store>) -> (Enlist, OrgId, Actor) {
    let engine = Enlist::new(store).with_secrets(Arc::new(SeededSecrets::new(1)));
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(
            NewOrganization::new("Bench", "owner", "owner@bench.example").with_policy(policy()),
        )
        .expect("org");
    (engine, org.id, Actor::Member(owner.id))
}

fn batch(start: usize) -> InviteRequest {
    InviteRequest::new(Recipients::List(
        (start..start + BATCH)
            .map(|i| RecipientInput::email(format!("user{i}@example.com")))
            .collect(),
    ))
}

/// What the engine writes for 100,000 recipients, made once on
/// MemoryStore: the ceiling inserts exactly these rows.
struct Rows {
    invitations: Vec<StoredInvitation>,
    messages: Vec<OutboxMessage>,
    events: Vec<Event>,
}

fn engine_rows() -> Rows {
    let (e, org, actor) = engine_on(Arc::new(MemoryStore::new()));
    let mut invitations = Vec::with_capacity(RECIPIENTS);
    for k in 0..RECIPIENTS / BATCH {
        let r = e.invite(&org, &actor, batch(k * BATCH)).expect("invite");
        invitations.extend(
            r.issued
                .into_iter()
                .map(|i| StoredInvitation::new(i.invitation, None)),
        );
    }
    let store = e.store().clone();
    let mut tx = store.begin().expect("begin");
    let messages = tx
        .due_outbox(Some(&org), Utc::now() + Days::days(1), usize::MAX)
        .expect("outbox");
    let events = tx.events(&org, 0, usize::MAX).expect("events");
    drop(tx);
    // In the order of their invitations (the ceiling links each message to
    // the invitation inserted just before it).
    let order: std::collections::HashMap<_, _> = invitations
        .iter()
        .enumerate()
        .map(|(i, inv)| (inv.id.clone(), i))
        .collect();
    let mut messages = messages;
    messages.sort_by_key(|m| order[&m.invitation_id]);
    assert_eq!(invitations.len(), RECIPIENTS);
    assert_eq!(messages.len(), RECIPIENTS);
    Rows {
        invitations,
        messages,
        events,
    }
}

/// A fresh store file (schema applied) in `dir`.
fn fresh_file(dir: &Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    drop(SqliteStore::open(&path).expect("open"));
    path
}

/// A plain connection with the store's pragmas and settings (see
/// `configure` in lib.rs).
fn raw_connection(path: &Path) -> Connection {
    let c = Connection::open(path).expect("open");
    c.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .expect("qpsg");
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;
         PRAGMA wal_autocheckpoint = 10000;",
    )
    .expect("pragmas");
    c
}

type InvitationColumns = (
    String,
    String,
    String,
    String,
    &'static str,
    String,
    &'static str,
    String,
    Option<Vec<u8>>,
    (i64, i64),
    Option<(i64, i64)>,
    String,
);

fn split(t: chrono::DateTime<Utc>) -> (i64, i64) {
    (t.timestamp(), i64::from(t.timestamp_subsec_nanos()))
}

fn invitation_columns(i: &StoredInvitation) -> InvitationColumns {
    (
        i.org_id.to_string(),
        i.id.to_string(),
        i.batch_id.to_string(),
        i.recipient_key.to_string(),
        i.status.as_str(),
        i.role.to_string(),
        "member",
        i.license_type.to_string(),
        i.secret_hash.map(|h| h.0.to_vec()),
        split(i.created_at),
        i.expires_at.map(split),
        serde_json::to_string(i).expect("json"),
    )
}

/// Inserts the rows, `BATCH` recipients per transaction; returns the time.
fn raw_inserts(conn: &Connection, inv: &[InvitationColumns], extra: Option<&Rows>) -> Duration {
    let extra_cols = extra.map(|rows| {
        let msgs: Vec<_> = rows
            .messages
            .iter()
            .map(|m| {
                (
                    m.id.to_string(),
                    m.org_id.to_string(),
                    m.invitation_id.to_string(),
                    split(m.next_attempt_at),
                    split(m.created_at),
                    serde_json::to_string(m).expect("json"),
                )
            })
            .collect();
        let events: Vec<_> = rows
            .events
            .iter()
            .filter(|e| matches!(e.kind, enlist::EventKind::InvitationIssued { .. }))
            .map(|e| {
                (
                    e.org_id.to_string(),
                    serde_json::to_string(e).expect("json"),
                )
            })
            .collect();
        (msgs, events)
    });
    let started = Instant::now();
    for (k, chunk) in inv.chunks(BATCH).enumerate() {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        let mut stmt = conn
            .prepare_cached(
                "INSERT INTO invitations (org_id, invitation_id, batch_id, recipient_key, status,
                    role, kind, license_type, secret_hash, created_s, created_ns, expires_s,
                    expires_ns, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            )
            .expect("prepare");
        // As the engine's store writes them: each invitation, then its
        // email (linked to the invitation's rid), then its event.
        let mut m = conn
            .prepare_cached(
                "INSERT INTO outbox (message_id, org_id, invitation_id, inv_rid, status, next_s,
                    next_ns, created_s, created_ns, body)
                 VALUES (?1, ?2, ?3, last_insert_rowid(), 'queued', ?4, ?5, ?6, ?7, ?8)",
            )
            .expect("prepare");
        let mut ev = conn
            .prepare_cached("INSERT INTO events (org_id, seq, body) VALUES (?1, ?2, ?3)")
            .expect("prepare");
        for (j, c) in chunk.iter().enumerate() {
            stmt.execute(params![
                c.0,
                c.1,
                c.2,
                c.3,
                c.4,
                c.5,
                c.6,
                c.7,
                c.8,
                c.9.0,
                c.9.1,
                c.10.map(|e| e.0),
                c.10.map(|e| e.1),
                c.11
            ])
            .expect("insert");
            if let Some((msgs, events)) = &extra_cols {
                let i = k * BATCH + j;
                let c = &msgs[i];
                m.execute(params![c.0, c.1, c.2, c.3.0, c.3.1, c.4.0, c.4.1, c.5])
                    .expect("insert");
                let seq = i64::try_from(i + 1).expect("small");
                ev.execute(params![events[i].0, seq, events[i].1])
                    .expect("insert");
            }
        }
        conn.execute_batch("COMMIT").expect("commit");
    }
    started.elapsed()
}

fn bench_invite(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let rows = engine_rows();
    let columns: Vec<InvitationColumns> = rows.invitations.iter().map(invitation_columns).collect();
    let mut g = c.benchmark_group("invite");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(RECIPIENTS as u64));
    let mut run = 0;
    g.bench_function("100k_in_1000_batches", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                run += 1;
                let path = fresh_file(dir.path(), &format!("invite-{run}.sqlite3"));
                let (e, org, actor) = engine_on(Arc::new(SqliteStore::open(&path).expect("open")));
                let started = Instant::now();
                for k in 0..RECIPIENTS / BATCH {
                    let r = e.invite(&org, &actor, batch(k * BATCH)).expect("invite");
                    assert_eq!(r.issued.len(), BATCH);
                }
                let took = started.elapsed();
                record(
                    "engine invitations/s",
                    RECIPIENTS as f64 / took.as_secs_f64(),
                );
                total += took;
                drop(e);
                remove_store(&path);
            }
            total
        })
    });
    g.bench_function("ceiling_raw_inserts_100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                run += 1;
                let path = fresh_file(dir.path(), &format!("raw-{run}.sqlite3"));
                let conn = raw_connection(&path);
                let took = raw_inserts(&conn, &columns, None);
                record("ceiling rows/s", RECIPIENTS as f64 / took.as_secs_f64());
                total += took;
                drop(conn);
                remove_store(&path);
            }
            total
        })
    });
    g.bench_function("ceiling_raw_inserts_100k_all_rows", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                run += 1;
                let path = fresh_file(dir.path(), &format!("raw-all-{run}.sqlite3"));
                let conn = raw_connection(&path);
                let took = raw_inserts(&conn, &columns, Some(&rows));
                let linked: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM outbox o JOIN invitations i ON i.rid = o.inv_rid
                         WHERE i.invitation_id = o.invitation_id",
                        [],
                        |r| r.get(0),
                    )
                    .expect("count");
                assert_eq!(
                    linked, RECIPIENTS as i64,
                    "each message follows its invitation"
                );
                record(
                    "ceiling with outbox+event rows, recipients/s",
                    RECIPIENTS as f64 / took.as_secs_f64(),
                );
                total += took;
                drop(conn);
                remove_store(&path);
            }
            total
        })
    });
    g.finish();
}

fn remove_store(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// A pending invitation with a known secret hash (the struct is
/// non_exhaustive outside the crate, so it is made by deserializing).
fn pending(org: &OrgId, i: usize) -> StoredInvitation {
    let email = format!("pending{i:07}@example.com");
    let now = Utc::now();
    serde_json::from_value(serde_json::json!({
        "org_id": org, "id": format!("inv_bench{i:09}"), "batch_id": format!("bat_{}", i / 100),
        "recipient": {"type": "email", "value": email}, "recipient_key": email,
        "display_name": null, "first_name": null, "last_name": null, "kind": "member",
        "role": "member", "groups": [], "license_type": "standard", "inviter": null,
        "message": null, "created_at": now, "expires_at": now + Days::days(7),
        "status": "pending", "secret_hash": SecretHash::of(format!("filler{i}").as_bytes()),
        "send_count": 1, "last_sent_at": now, "failed_attempts": 0, "closed_at": null,
        "member_id": null
    }))
    .expect("invitation json")
}

fn bench_accept(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("accept.sqlite3");
    let store = Arc::new(SqliteStore::open(&path).expect("open"));
    let (e, org, actor) = engine_on(store.clone());
    let started = Instant::now();
    for chunk in (0..PENDING).collect::<Vec<_>>().chunks(50_000) {
        let mut tx = store.begin().expect("begin");
        for &i in chunk {
            tx.put_invitation(&pending(&org, i)).expect("put");
        }
        tx.commit().expect("commit");
    }
    eprintln!(
        "fixture: {PENDING} pending invitations written in {:.1?} ({} on disk)",
        started.elapsed(),
        file_size(&path)
    );
    let mut n = 0usize;
    let mut g = c.benchmark_group("accept");
    g.sample_size(50);
    g.bench_function("with_1M_pending", |b| {
        b.iter_batched(
            || {
                n += 1;
                let req = InviteRequest::new(Recipients::List(vec![RecipientInput::email(
                    format!("new{n}@example.com"),
                )]));
                let r = e.invite(&org, &actor, req).expect("invite");
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
            BatchSize::PerIteration,
        )
    });
    g.bench_function("first_page_of_pending_with_1M", |b| {
        let q = InvitationQuery {
            statuses: vec![InvitationStatus::Pending],
            ..InvitationQuery::default()
        };
        b.iter(|| {
            let page = e.list_invitations(&org, &actor, &q).expect("list");
            assert_eq!(page.items.len(), 50);
        })
    });
    g.bench_function("license_usage_with_1M_pending", |b| {
        b.iter(|| {
            let usage = e.license_usage(&org, &actor).expect("usage");
            assert!(usage[0].pending >= PENDING as u64);
        })
    });
    g.finish();
}

fn file_size(path: &Path) -> String {
    let bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum();
    format!("{:.0} MB", bytes as f64 / 1e6)
}

fn summary(_: &mut Criterion) {
    let rates = RATES.lock().unwrap();
    let get = |name: &str| {
        rates
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, r)| median_best(r))
    };
    println!("\n== SQLite store: runs of 100,000 (median, best, runs) ==");
    for (name, all) in rates.iter() {
        let (median, best) = median_best(all);
        println!("  {name:<46} {median:>8.0} {best:>8.0} {:>4}", all.len());
    }
    let engine = get("engine invitations/s");
    for (label, ceiling) in [
        ("invitation rows", get("ceiling rows/s")),
        (
            "all rows of a recipient",
            get("ceiling with outbox+event rows, recipients/s"),
        ),
    ] {
        if let (Some(e), Some(c)) = (engine, ceiling) {
            println!(
                "  engine / ceiling ({label}): median {:.2}, best {:.2}",
                e.0 / c.0,
                e.1 / c.1
            );
        }
    }
}

criterion_group!(benches, bench_invite, bench_accept, summary);
criterion_main!(benches);

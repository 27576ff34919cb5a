//! The PostgreSQL store's throughput and latency, against a real server:
//!
//! 0. **The engine alone** on MemoryStore, for scale: what the store adds
//!    is the rest.
//! 1. **Issue**: 100,000 invitations in 1,000 batches of 100 through the
//!    engine (`Enlist::invite`) into one organization → invitations per
//!    second. A warm-up of 1,000 invitations in another organization and an
//!    `ANALYZE` come first (what autovacuum does in a table's first minute).
//! 2. **Ceiling**: the very rows those batches wrote (each invitation, its
//!    outbox message and its event), inserted again into a fresh schema with
//!    the same indexes, through the same driver, one prepared single-row
//!    `INSERT` per row, in transactions of 100 invitations (300 rows) →
//!    invitations (and rows) per second. Issue and ceiling alternate in ten
//!    rounds so that both see the same machine; the ratio issue/ceiling is
//!    what the engine and the store cost on top of writing the rows.
//! 3. **With 1,000,000 pending invitations** in one organization (a fixture
//!    made from an invitation the engine issued, inserted with multi-row
//!    `INSERT ... SELECT FROM unnest` in transactions of 50,000 rows through
//!    the raw driver, then `ANALYZE`): accept latency through the engine,
//!    and other reads and writes that must not grow with the organization.
//!
//! Run it against the test server:
//!
//! ```text
//! export ENLIST_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"
//! cargo bench -p enlist-postgres
//! scripts/postgres.sh stop
//! ```
//!
//! `ENLIST_BENCH_INVITES` (default 100000) and `ENLIST_BENCH_PENDING`
//! (default 1000000) make a quicker run; `ENLIST_BENCH_QUICK=1` makes a run
//! of under a minute (small sizes). Without the URL it prints SKIPPED.
//!
//! Issue 15 adds, in the same run:
//!
//! 4. **COPY ceiling**: the same rows again, as three `COPY ... FROM STDIN`
//!    (CSV) per transaction of 100 invitations into a third fresh schema:
//!    the aim is issue ≥ 0.5 of it (`postgres.issue`).
//! 5. **Threads**: 1, 2, 4 and 8 threads, each issuing batches of 100
//!    into an organization of its own through one shared store → the
//!    curve, and 2 threads over 1 (aim ≥ 1.6 on a 2-core machine).
//! 6. **Outbox workers**: 8 workers, each with its own store, sending the
//!    queued emails of the issue run (`deliver_pending` and `claim_due` +
//!    `mark_sent`), with the write conflicts they met (aim 0) and their rate; a message sent twice fails the bench.
//!
//! With `--report` each figure is also printed as a `BENCH-RESULT` line
//! (`benches/report.rs`) for `scripts/bench.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../benches/report.rs"]
mod report;
#[path = "common/setup.rs"]
mod setup;

use report::{Aim, Figure};
use setup::{batch, env_usize, new_org};

use enlist::{
    Actor, Enlist, Invitation, InvitationQuery, InvitationStatus, MemberQuery, OrgId, Registration,
    SecretHash, Store,
};
use enlist_postgres::PostgresStore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn schema_name(what: &str) -> String {
    format!("enlist_bench_{what}_{}", std::process::id())
}

fn raw(url: &str, schema: &str) -> postgres::Client {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    c.batch_execute(&format!("SET search_path TO \"{schema}\""))
        .expect("search_path");
    c
}

fn drop_schema(url: &str, schema: &str) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .expect("drop schema");
}

fn store(url: &str, schema: &str) -> Arc<PostgresStore> {
    drop_schema(url, schema);
    Arc::new(PostgresStore::connect_in_schema(url, schema).expect("store"))
}

/// Latency summary of `samples`.
fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    format!(
        "mean {:.2} ms, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms (n = {})",
        ms(mean),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(at(0.99)),
        samples.len()
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times `f` `n` times.
fn time_n(n: usize, mut f: impl FnMut(usize)) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let start = Instant::now();
            f(i);
            start.elapsed()
        })
        .collect()
}

type Param = Box<dyn postgres::types::ToSql + Sync>;

fn refs(v: &[Param]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    v.iter().map(|p| p.as_ref()).collect()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo bench -- --list` (and test harnesses) ask what is here.
        println!("throughput: bench");
        return;
    }
    let Some(url) = std::env::var("ENLIST_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!("SKIPPED: ENLIST_TEST_POSTGRES_URL not set");
        return;
    };
    let quick = std::env::var("ENLIST_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let report = std::env::args().any(|a| a == "--report");
    let (def_invites, def_pending, def_thread_batches) = if quick {
        (2_000, 20_000, 6)
    } else {
        (100_000, 1_000_000, 20)
    };
    let invites = env_usize("ENLIST_BENCH_INVITES", def_invites).max(100) / 100 * 100;
    let pending = env_usize("ENLIST_BENCH_PENDING", def_pending);
    bench_memory(invites);
    let issue = bench_issue_and_ceiling(&url, invites);
    println!(
        "issue / COPY: {:.3} (aim: at least 0.50); issue / single-row INSERTs: {:.2}; \
         {:.1} round trips per invitation",
        issue.rate / issue.copy,
        issue.rate / issue.inserts,
        issue.round_trips
    );
    let (conflicts, outbox_rate) = bench_outbox_workers(&url, &schema_name("issue"));
    let curve = bench_threads(
        &url,
        env_usize("ENLIST_BENCH_THREAD_BATCHES", def_thread_batches),
    );
    let (accept_p50, accept_trips) = bench_big_org(&url, pending);
    for s in ["issue", "ceiling", "copy", "big", "threads"] {
        drop_schema(&url, &schema_name(s));
    }
    if report {
        Figure::new(
            "postgres.issue",
            "invitations issued per second (batches of 100 through Enlist::invite: invitation, queued email and event each)",
            issue.rate,
            "inv/s",
        )
        .against("COPY of the same rows (3 COPY per 100 invitations)", issue.copy)
        .aim(Aim::AtLeast(0.5))
        .print();
        Figure::new(
            "postgres.issue_vs_inserts",
            "invitations issued per second, against single-row INSERTs of the same rows",
            issue.rate,
            "inv/s",
        )
        .against("single-row INSERTs of the same rows", issue.inserts)
        .print();
        Figure::new(
            "postgres.issue_round_trips",
            "round trips (waits for the server) per invitation issued",
            issue.round_trips,
            "round trips",
        )
        .print();
        Figure::new(
            "postgres.accept_p50",
            &format!(
                "accept latency, median, with {pending} pending invitations in the organization"
            ),
            accept_p50,
            "ms",
        )
        .aim(Aim::AtMost(1.0))
        .print();
        Figure::new(
            "postgres.accept_round_trips",
            "round trips (waits for the server) per accept",
            accept_trips,
            "round trips",
        )
        .print();
        let one = curve.first().map_or(f64::NAN, |c| c.1);
        for (threads, rate) in &curve {
            let f = Figure::new(
                &format!("postgres.threads_{threads}"),
                &format!("invitations per second, {threads} threads each issuing into its own organization"),
                *rate,
                "inv/s",
            )
            .against("1 thread", one);
            if *threads == 2 {
                Figure::new(
                    "postgres.threads_2_over_1",
                    "2 threads issuing into separate organizations, over 1 thread",
                    *rate,
                    "inv/s",
                )
                .against("1 thread", one)
                .aim(Aim::AtLeast(1.6))
                .print();
            } else {
                f.print();
            }
        }
        Figure::new(
            "postgres.outbox_8_workers_conflicts",
            "write conflicts met by 8 outbox workers sending the same outbox",
            conflicts as f64,
            "conflicts",
        )
        .aim(Aim::AtMost(0.0))
        .print();
        Figure::new(
            "postgres.outbox_8_workers_rate",
            "emails sent per second by 8 outbox workers (half delivering, half claiming)",
            outbox_rate,
            "emails/s",
        )
        .aim(Aim::None)
        .print();
    }
}

/// What the issue run measured.
struct IssueRun {
    /// Invitations per second through the engine.
    rate: f64,
    /// The same rows by single-row INSERTs, invitations per second.
    inserts: f64,
    /// The same rows by COPY, invitations per second.
    copy: f64,
    /// Statements the store sent per invitation.
    round_trips: f64,
}

/// 0. The engine alone, on MemoryStore: what the store adds is the rest.
fn bench_memory(invites: usize) {
    let e = Enlist::in_memory();
    let (org, actor) = new_org(&e);
    let start = Instant::now();
    for b in 0..invites / 100 {
        let r = e.invite(&org, &actor, batch(b * 100, 100)).expect("invite");
        assert_eq!(r.issued.len(), 100);
    }
    let elapsed = start.elapsed();
    println!(
        "engine alone (MemoryStore): {invites} invitations in {:.1} s, {:.0} invitations/s",
        elapsed.as_secs_f64(),
        invites as f64 / elapsed.as_secs_f64()
    );
}

/// 1 and 2. Invitations issued per second through the engine, and the
/// ceiling: the same rows inserted raw. The two alternate in rounds of a
/// tenth of the batches each, so that both see the same machine (the load
/// of a shared machine drifts over minutes).
fn bench_issue_and_ceiling(url: &str, invites: usize) -> IssueRun {
    let schema = schema_name("issue");
    let s = store(url, &schema);
    let e = Enlist::new(s.clone());
    // Warm-up in another organization, then ANALYZE: the planner's view of
    // a table that has served traffic for a minute (autovacuum analyzes a
    // new table within its first minute of writes). Plans made on a table
    // never analyzed can pick a wrong index; see docs/src/deploy-postgres.md.
    let (warm, warm_actor) = new_org(&e);
    for b in 0..10 {
        e.invite(&warm, &warm_actor, batch(90_000_000 + b * 100, 100))
            .expect("warm-up");
    }
    raw(url, &schema).batch_execute("ANALYZE").expect("analyze");
    let (org, actor) = new_org(&e);

    let to = schema_name("ceiling");
    drop(store(url, &to)); // the same migrations: the same tables and indexes
    let mut src = raw(url, &schema);
    let mut dst = raw(url, &to);
    let ins_inv = dst
        .prepare(
            "INSERT INTO invitations (org_id, invitation_id, batch_id, recipient_key, status,
                 role, kind, license_type, secret_hash, created_s, created_ns, expires_s,
                 expires_ns, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::text::json)",
        )
        .expect("prepare");
    let ins_msg = dst
        .prepare(
            "INSERT INTO outbox (org_id, message_id, invitation_id, status, next_s, next_ns,
                 created_s, created_ns, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::json)",
        )
        .expect("prepare");
    let ins_ev = dst
        .prepare("INSERT INTO events (org_id, seq, body) VALUES ($1, $2, $3::text::json)")
        .expect("prepare");
    let copy_to = schema_name("copy");
    drop(store(url, &copy_to));
    let mut copy_dst = raw(url, &copy_to);
    let mut copy_time = Duration::ZERO;
    let mut trips = 0u64;

    let batches = invites / 100;
    let rounds = 10.min(batches);
    let mut issue_time = Duration::ZERO;
    let mut ceiling_time = Duration::ZERO;
    let mut per_batch = Vec::with_capacity(batches);
    let mut next = 0;
    let mut seq_before: i64 = src
        .query_one(
            "SELECT event_seq FROM org_heads WHERE org_id = $1",
            &[&org.as_str()],
        )
        .expect("seq")
        .get(0);
    for round in 0..rounds {
        let n = batches / rounds + usize::from(round < batches % rounds);
        // The engine.
        let mut batch_ids = Vec::with_capacity(n);
        let start = Instant::now();
        let trips_before = s.round_trips();
        for _ in 0..n {
            let t = Instant::now();
            let r = e
                .invite(&org, &actor, batch(next * 100, 100))
                .expect("invite");
            per_batch.push(t.elapsed());
            assert_eq!(r.issued.len(), 100);
            batch_ids.push(r.batch_id.into_string());
            next += 1;
        }
        issue_time += start.elapsed();
        trips += s.round_trips() - trips_before;
        // The rows it wrote, one invitation with its message and event at
        // a time, decoded before the clock starts.
        let rows = src
            .query(
                "SELECT i.org_id, i.invitation_id, i.batch_id, i.recipient_key, i.status, i.role,
                        i.kind, i.license_type, i.secret_hash, i.created_s, i.created_ns,
                        i.expires_s, i.expires_ns, i.body::text,
                        o.org_id, o.message_id, o.invitation_id, o.status, o.next_s, o.next_ns,
                        o.created_s, o.created_ns, o.body::text
                 FROM invitations i
                 JOIN outbox o ON o.org_id = i.org_id AND o.invitation_id = i.invitation_id
                                  AND o.status = 'queued'
                 WHERE i.org_id = $1 AND i.batch_id = ANY($2)",
                &[&org.as_str(), &batch_ids],
            )
            .expect("rows written");
        let seq_after: i64 = src
            .query_one(
                "SELECT event_seq FROM org_heads WHERE org_id = $1",
                &[&org.as_str()],
            )
            .expect("seq")
            .get(0);
        let events: HashMap<String, postgres::Row> = src
            .query(
                "SELECT org_id, seq, body::text, body->'kind'->>'invitation' FROM events
                 WHERE org_id = $1 AND seq > $2 AND seq <= $3
                   AND body->'kind'->>'type' = 'invitation_issued'",
                &[&org.as_str(), &seq_before, &seq_after],
            )
            .expect("events written")
            .into_iter()
            .map(|r| (r.get::<_, String>(3), r))
            .collect();
        seq_before = seq_after;
        assert_eq!(rows.len(), n * 100);
        assert_eq!(events.len(), n * 100);
        let decode = |r: &postgres::Row, from: usize, types: &str| -> Vec<Param> {
            types
                .chars()
                .enumerate()
                .map(|(k, t)| match t {
                    's' => Box::new(r.get::<_, String>(from + k)) as Param,
                    'b' => Box::new(r.get::<_, Option<Vec<u8>>>(from + k)) as Param,
                    'l' => Box::new(r.get::<_, Option<i64>>(from + k)) as Param,
                    _ => Box::new(r.get::<_, Option<i32>>(from + k)) as Param,
                })
                .collect()
        };
        let mut decoded: Vec<(i64, [Vec<Param>; 3], [String; 3])> = rows
            .iter()
            .map(|r| {
                let ev = &events[&r.get::<_, String>(1)];
                let mut text: [String; 3] = Default::default();
                csv_line(&mut text[0], r, 0, "ssssssssblilis");
                csv_line(&mut text[1], r, 14, "sssslilis");
                csv_line(&mut text[2], ev, 0, "sls");
                (
                    ev.get::<_, i64>(1),
                    [
                        decode(r, 0, "ssssssssblilis"),
                        decode(r, 14, "sssslilis"),
                        decode(ev, 0, "sls"),
                    ],
                    text,
                )
            })
            .collect();
        // In the order the engine wrote them.
        decoded.sort_by_key(|(seq, _, _)| *seq);
        let start = Instant::now();
        for chunk in decoded.chunks(100) {
            let mut tx = dst.transaction().expect("begin");
            for (_, [inv, msg, ev], _) in chunk {
                tx.execute(&ins_inv, &refs(inv)).expect("insert invitation");
                tx.execute(&ins_msg, &refs(msg)).expect("insert message");
                tx.execute(&ins_ev, &refs(ev)).expect("insert event");
            }
            tx.commit().expect("commit");
        }
        ceiling_time += start.elapsed();
        // The same rows by COPY, as CSV made before the clock starts.
        let csv: Vec<[String; 3]> = decoded
            .chunks(100)
            .map(|chunk| {
                let mut out: [String; 3] = Default::default();
                for (_, _, text) in chunk {
                    for (k, t) in text.iter().enumerate() {
                        out[k].push_str(t);
                    }
                }
                out
            })
            .collect();
        let start = Instant::now();
        for [inv, msg, ev] in &csv {
            let mut tx = copy_dst.transaction().expect("begin");
            for (sql, data) in [
                (
                    "COPY invitations (org_id, invitation_id, batch_id, recipient_key, status, \
                     role, kind, license_type, secret_hash, created_s, created_ns, expires_s, \
                     expires_ns, body) FROM STDIN (FORMAT csv)",
                    inv,
                ),
                (
                    "COPY outbox (org_id, message_id, invitation_id, status, next_s, next_ns, \
                     created_s, created_ns, body) FROM STDIN (FORMAT csv)",
                    msg,
                ),
                (
                    "COPY events (org_id, seq, body) FROM STDIN (FORMAT csv)",
                    ev,
                ),
            ] {
                let mut w = tx.copy_in(sql).expect("copy");
                w.write_all(data.as_bytes()).expect("copy data");
                w.finish().expect("copy finish");
            }
            tx.commit().expect("commit");
        }
        copy_time += start.elapsed();
    }
    let issue_rate = invites as f64 / issue_time.as_secs_f64();
    let ceiling_rate = invites as f64 / ceiling_time.as_secs_f64();
    println!(
        "issue: {invites} invitations in {batches} batches of 100 through the engine: \
         {:.1} s, {issue_rate:.0} invitations/s; per batch: {}",
        issue_time.as_secs_f64(),
        summary(per_batch)
    );
    println!(
        "ceiling: the same {invites} invitations + {invites} messages + {invites} events \
         inserted raw (single-row INSERTs, transactions of 100 invitations = 300 rows): \
         {:.1} s, {ceiling_rate:.0} invitations/s ({:.0} rows/s)",
        ceiling_time.as_secs_f64(),
        3.0 * invites as f64 / ceiling_time.as_secs_f64()
    );
    let copy_rate = invites as f64 / copy_time.as_secs_f64();
    println!(
        "COPY ceiling: the same rows by COPY (3 per transaction of 100 invitations): \
         {:.1} s, {copy_rate:.0} invitations/s ({:.0} rows/s)",
        copy_time.as_secs_f64(),
        3.0 * invites as f64 / copy_time.as_secs_f64()
    );
    IssueRun {
        rate: issue_rate,
        inserts: ceiling_rate,
        copy: copy_rate,
        round_trips: trips as f64 / invites as f64,
    }
}

/// One CSV field of column `i` of `r`, of type `t` (as `decode` says):
/// NULL as nothing, text quoted.
fn csv_field(out: &mut String, r: &postgres::Row, i: usize, t: char) {
    let v: Option<String> = match t {
        's' => Some(r.get::<_, String>(i)),
        'b' => r.get::<_, Option<Vec<u8>>>(i).map(|b| {
            format!(
                "\\x{}",
                b.iter().map(|x| format!("{x:02x}")).collect::<String>()
            )
        }),
        'l' => r.get::<_, Option<i64>>(i).map(|x| x.to_string()),
        _ => r.get::<_, Option<i32>>(i).map(|x| x.to_string()),
    };
    if let Some(v) = v {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    }
}

/// One CSV line of columns `from..` of `r`, typed by `types`.
fn csv_line(out: &mut String, r: &postgres::Row, from: usize, types: &str) {
    for (k, t) in types.chars().enumerate() {
        if k > 0 {
            out.push(',');
        }
        csv_field(out, r, from + k, t);
    }
    out.push('\n');
}

/// Step 5: threads issuing into organizations of their own, through one store.
fn bench_threads(url: &str, batches: usize) -> Vec<(usize, f64)> {
    let schema = schema_name("threads");
    let s = store(url, &schema);
    let e = Arc::new(Enlist::new(s.clone()));
    let mut curve = Vec::new();
    // A warm-up: the first batches of a connection prepare its statements.
    let (warm, warm_actor) = new_org(&e);
    for b in 0..3 {
        e.invite(&warm, &warm_actor, batch(80_000_000 + b * 100, 100))
            .expect("warm-up");
    }
    let mut next = 0usize;
    for threads in [1usize, 2, 4, 8] {
        let orgs: Vec<(OrgId, Actor)> = (0..threads).map(|_| new_org(&e)).collect();
        let barrier = std::sync::Barrier::new(threads + 1);
        let base = next;
        next += threads * batches;
        let elapsed = std::thread::scope(|sc| {
            for (k, (org, actor)) in orgs.iter().enumerate() {
                let (e, barrier) = (&e, &barrier);
                sc.spawn(move || {
                    barrier.wait();
                    for b in 0..batches {
                        let from = (base + k * batches + b) * 100 + 50_000_000;
                        e.invite(org, actor, batch(from, 100)).expect("invite");
                    }
                });
            }
            barrier.wait();
            let start = Instant::now();
            // The scope joins the threads before it returns.
            start
        })
        .elapsed();
        let rate = (threads * batches * 100) as f64 / elapsed.as_secs_f64();
        println!(
            "threads: {threads} issuing into their own organizations: {rate:.0} invitations/s"
        );
        curve.push((threads, rate));
    }
    curve
}

/// Step 6: eight outbox workers sending the queued emails of `schema`, each
/// with its own store, for at most two minutes; checks that no message
/// was sent twice, and returns the write conflicts they met and the
/// messages sent per second.
fn bench_outbox_workers(url: &str, schema: &str) -> (u64, f64) {
    use std::sync::atomic::Ordering;
    let workers = 8;
    let stores: Vec<Arc<PostgresStore>> = (0..workers)
        .map(|_| Arc::new(PostgresStore::connect_in_schema(url, schema).expect("store")))
        .collect();
    let queued: i64 = raw(url, schema)
        .query_one("SELECT count(*) FROM outbox WHERE status = 'queued'", &[])
        .expect("count")
        .get(0);
    let sent_so_far = std::sync::atomic::AtomicUsize::new(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    let barrier = std::sync::Barrier::new(workers);
    let start = Instant::now();
    let ids: Vec<Vec<String>> = std::thread::scope(|sc| {
        let handles: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(i, st)| {
                let (sent_so_far, barrier) = (&sent_so_far, &barrier);
                sc.spawn(move || {
                    let e = Enlist::new(st.clone());
                    let mailer = enlist::RecordingMailer::new();
                    let mut sent: Vec<String> = Vec::new();
                    barrier.wait();
                    while sent_so_far.load(Ordering::SeqCst) < queued as usize
                        && Instant::now() < deadline
                    {
                        let before = sent.len();
                        if i % 2 == 0 {
                            let report = e.deliver_pending(&mailer, 50).expect("deliver");
                            sent.extend(report.sent.iter().map(|m| m.to_string()));
                        } else {
                            let claimed = e.claim_due(None, 50).expect("claim");
                            for m in &claimed {
                                assert!(e.mark_sent(&m.id).expect("mark sent"));
                                sent.push(m.id.to_string());
                            }
                        }
                        sent_so_far.fetch_add(sent.len() - before, Ordering::SeqCst);
                    }
                    sent
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });
    let elapsed = start.elapsed();
    let sent: usize = ids.iter().map(Vec::len).sum();
    let distinct: std::collections::HashSet<&String> = ids.iter().flatten().collect();
    let conflicts: u64 = stores.iter().map(|s| s.conflicts_seen()).sum();
    println!(
        "outbox: {workers} workers sent {sent} of {queued} queued emails in {:.1} s \
         ({:.0}/s), {conflicts} write conflicts",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    // Never twice; all of them unless the two minutes ran out first.
    assert_eq!(distinct.len(), sent, "a queued email was sent twice");
    assert!(sent as i64 <= queued, "more sent than queued");
    if (sent as i64) < queued {
        println!("outbox: the two minutes ran out before every email was sent");
    }
    (conflicts, sent as f64 / elapsed.as_secs_f64())
}

/// 3. An organization with `pending` pending invitations.
fn bench_big_org(url: &str, pending: usize) -> (f64, f64) {
    let schema = schema_name("big");
    let s = store(url, &schema);
    let e = Enlist::new(s.clone());
    let (org, actor) = new_org(&e);
    // A template invitation made by the engine itself.
    let template: Invitation = e
        .invite(&org, &actor, batch(0, 1))
        .expect("template")
        .issued[0]
        .invitation
        .clone();
    let start = Instant::now();
    load_pending(url, &schema, &template, pending);
    println!(
        "fixture: {pending} pending invitations loaded in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let mut c = raw(url, &schema);
    c.batch_execute("ANALYZE").expect("analyze");
    let total: i64 = c
        .query_one(
            "SELECT count(*) FROM invitations WHERE status = 'pending'",
            &[],
        )
        .expect("count")
        .get(0);
    println!("organization: {total} pending invitations");

    // Invitations to accept, issued through the engine into the big org.
    let accepts = 300;
    let mut tokens = Vec::new();
    let batch_times = time_n(accepts / 100, |b| {
        let r = e
            .invite(&org, &actor, batch(10_000_000 + b * 100, 100))
            .expect("invite");
        tokens.extend(r.issued.into_iter().map(|i| i.secret.expect("secret")));
    });
    println!("invite a batch of 100 into it: {}", summary(batch_times));
    let trips_before = s.round_trips();
    let accept_times = time_n(tokens.len(), |i| {
        e.accept(
            tokens[i].expose(),
            Registration {
                user_ref: format!("acct-{i}"),
                first_name: Some("A".into()),
                last_name: Some("B".into()),
                ..Registration::default()
            },
        )
        .expect("accept");
    });
    let accept_trips = (s.round_trips() - trips_before) as f64 / tokens.len() as f64;
    let accept_p50 = {
        let mut v: Vec<f64> = accept_times.iter().map(|d| ms(*d)).collect();
        report::median(&mut v)
    };
    println!(
        "accept: {} ({accept_trips:.1} round trips each)",
        summary(accept_times)
    );
    let preview_times = time_n(100, |i| {
        e.preview(tokens[i].expose()).expect("preview");
    });
    println!("preview (landing page): {}", summary(preview_times));
    let q = InvitationQuery {
        statuses: vec![InvitationStatus::Pending],
        ..InvitationQuery::default()
    };
    let list_times = time_n(50, |_| {
        let page = e.list_invitations(&org, &actor, &q).expect("list");
        assert_eq!(page.items.len(), 50);
    });
    println!(
        "list pending invitations, first page of 50: {}",
        summary(list_times)
    );
    let usage_times = time_n(50, |_| {
        e.license_usage(&org, &actor).expect("usage");
    });
    println!("seat usage (license_usage): {}", summary(usage_times));
    let member_times = time_n(50, |_| {
        e.list_members(&org, &actor, &MemberQuery::default())
            .expect("members");
    });
    println!("list members, first page: {}", summary(member_times));
    let store: &dyn Store = &*s;
    let seat_times = time_n(50, |_| {
        let mut tx = store.begin().expect("begin");
        let c = tx.seat_count(&org, "standard").expect("seats");
        assert!(c.open_invitations >= pending as u64);
    });
    println!("seat_count in a transaction: {}", summary(seat_times));
    (accept_p50, accept_trips)
}

/// Inserts `n` pending invitations like `template` (distinct ids, keys and
/// secrets), with the counters they imply, in transactions of 50,000 rows.
fn load_pending(url: &str, schema: &str, template: &Invitation, n: usize) {
    let mut c = raw(url, schema);
    let chunk = 10_000;
    let per_tx = 5;
    let mut done = 0;
    while done < n {
        let mut tx = c.transaction().expect("begin");
        for _ in 0..per_tx {
            if done >= n {
                break;
            }
            let m = chunk.min(n - done);
            let mut ids = Vec::with_capacity(m);
            let mut keys = Vec::with_capacity(m);
            let mut hashes = Vec::with_capacity(m);
            let mut created_s = Vec::with_capacity(m);
            let mut created_ns = Vec::with_capacity(m);
            let mut expires_s = Vec::with_capacity(m);
            let mut expires_ns = Vec::with_capacity(m);
            let mut bodies = Vec::with_capacity(m);
            for i in done..done + m {
                let mut inv = enlist::StoredInvitation::new(template.clone(), None);
                inv.id = enlist::InvitationId::from(format!("inv_fixture{i:08}"));
                inv.recipient = enlist::Contact::Email(format!("pending{i}@bench.test").into());
                inv.recipient_key = format!("pending{i}@bench.test").into();
                let digest: [u8; 32] = Sha256::digest(format!("fixture secret {i}")).into();
                inv.secret_hash = Some(SecretHash(digest));
                inv.created_at = template.created_at - chrono::Duration::seconds(i as i64);
                ids.push(inv.id.to_string());
                keys.push(inv.recipient_key.to_string());
                hashes.push(digest.to_vec());
                created_s.push(inv.created_at.timestamp());
                created_ns.push(inv.created_at.timestamp_subsec_nanos() as i32);
                let exp = inv.expires_at.expect("sent");
                expires_s.push(exp.timestamp());
                expires_ns.push(exp.timestamp_subsec_nanos() as i32);
                bodies.push(serde_json::to_string(&inv).expect("json"));
            }
            tx.execute(
                "INSERT INTO invitations (org_id, invitation_id, batch_id, recipient_key, status,
                     role, kind, license_type, secret_hash, created_s, created_ns, expires_s,
                     expires_ns, body)
                 SELECT $1, i, $2, k, 'pending', 'member', 'member', 'standard', h, cs, cn, es,
                        en, b::json
                 FROM unnest($3::text[], $4::text[], $5::bytea[], $6::bigint[], $7::int4[],
                             $8::bigint[], $9::int4[], $10::text[]) AS x (i, k, h, cs, cn, es, en, b)",
                &[
                    &template.org_id.as_str(),
                    &template.batch_id.as_str(),
                    &ids,
                    &keys,
                    &hashes,
                    &created_s,
                    &created_ns,
                    &expires_s,
                    &expires_ns,
                    &bodies,
                ],
            )
            .expect("fixture insert");
            tx.execute(
                "UPDATE counts SET n = n + $2 WHERE org_id = $1 AND what = 'invitation_license'
                   AND key = 'standard' AND status = 'pending'",
                &[&template.org_id.as_str(), &(m as i64)],
            )
            .expect("counts");
            done += m;
        }
        tx.commit().expect("commit");
    }
}

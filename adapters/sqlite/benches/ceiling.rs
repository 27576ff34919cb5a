//! enlist on a SQLite file against the one-table ceiling, in one process:
//!
//! - **issue**: invitations by email in batches of 100 through
//!   `Enlist::invite` into one organization (each writes the invitation,
//!   its queued email, its audit event and its people-view rows), against
//!   **the raw ceiling**: rusqlite `INSERT`s of an invitation-shaped row
//!   into one table with a unique (org, email) index and a secret-hash
//!   index, WAL + `synchronous=NORMAL`, 100 rows per transaction, rows made
//!   before the clock starts (as `../shared/bench/sqlite_ceiling_rust`).
//!   Engine and ceiling alternate, three rounds each, medians compared;
//!   each round's ceiling is the median of five runs of it (one run is
//!   about 0.15 s, and back-to-back runs spread by a fifth).
//! - **accept**: the median latency of accepting one invitation, against
//!   one raw 100-row transaction of the ceiling (its time per 100 rows);
//!   in an organization with few pending, and with `PENDING` pending. The
//!   invitations accepted still have their email queued (the accept
//!   supersedes it); `sqlite.accept_after_delivery` accepts invitations
//!   whose emails were sent, the path of an invitee who clicks the link
//!   in one. Each set of accepts is timed once the WAL the phase before
//!   it left is checkpointed (`settle_wal`); the accepts' own checkpoints
//!   are timed.
//!
//! Every figure is printed as a `BENCH-RESULT` line (benches/report.rs);
//! scripts/bench.sh collects them. `ENLIST_BENCH_QUICK=1` shrinks the sizes.
//! Run: `cargo bench -p enlist-sqlite --bench ceiling`.
//!
//! For callgrind, `--profile N` only issues N invitations (batches of 100)
//! into a fresh file and accepts one per batch, with no ceiling and no
//! timing: `valgrind --tool=callgrind --toggle-collect='*ceiling::issue*'
//! target/release/deps/ceiling-* --profile 4000` (`*ceiling::accepts*` for
//! the accepts), then `callgrind_annotate --inclusive=yes`. With
//! `--delivered` as well, it then issues N more, delivers every email and
//! accepts one per batch of those (`*ceiling::accepts_delivered*`).
//!
//! `--pages N` prints which pages (of which table or index) a batch of 100
//! and an accept put into the WAL, after N invitations issued: what each
//! commit checksums and copies.
#![allow(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../benches/deliver.rs"]
mod deliver;
#[path = "../../../benches/report.rs"]
mod report;
#[path = "../../../benches/sqlite_ceiling.rs"]
mod sqlite_ceiling;

use deliver::deliver_all;
use enlist::{
    Actor, Enlist, InviteRequest, NewOrganization, OrgId, Policy, Recipients, Registration,
};
use enlist_sqlite::SqliteStore;
use report::{Aim, Figure, median, percentile};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn quick() -> bool {
    std::env::var_os("ENLIST_BENCH_QUICK").is_some()
}

fn remove(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

fn engine(path: &Path) -> (Enlist, OrgId, Actor) {
    let e = Enlist::new(Arc::new(SqliteStore::open(path).unwrap()));
    let mut policy = Policy::default();
    policy.max_batch = 10_000;
    let c = e
        .create_organization(
            NewOrganization::new("Bench", "owner", "owner@bench.example").with_policy(policy),
        )
        .unwrap();
    (e, c.organization.id, Actor::Member(c.owner.id))
}

fn paste(from: usize, n: usize) -> InviteRequest {
    let lines: Vec<String> = (from..from + n)
        .map(|i| format!("user{i}@bench.example"))
        .collect();
    InviteRequest::new(Recipients::Paste(lines.join("\n")))
}

/// Issues `n` invitations in batches of `batch` into `org`, starting at
/// recipient `from`: (invitations per second, one token per batch).
fn issue(
    e: &Enlist,
    org: &OrgId,
    actor: &Actor,
    from: usize,
    n: usize,
    batch: usize,
) -> (f64, Vec<String>) {
    let mut tokens = Vec::new();
    let t = Instant::now();
    for b in 0..n / batch {
        let r = e
            .invite(org, actor, paste(from + b * batch, batch))
            .unwrap();
        assert_eq!(r.issued.len(), batch, "{:?}", r.rejected.first());
        tokens.push(r.issued[0].secret.as_ref().unwrap().expose().to_owned());
    }
    (n as f64 / t.elapsed().as_secs_f64(), tokens)
}

/// The latencies of accepting each token, one after the other, in µs:
/// `[median, mean, p99]`. The mean counts what the median leaves out: a
/// checkpoint run inside one accept's commit (see `src/checkpoint.rs`)
/// is one slow sample among 200.
fn accepts(e: &Enlist, tokens: &[String], tag: &str) -> [f64; 3] {
    let mut lat: Vec<f64> = tokens
        .iter()
        .enumerate()
        .map(|(i, tok)| {
            let reg = Registration {
                user_ref: format!("acct-{tag}-{i}"),
                first_name: Some("Ada".into()),
                last_name: Some("Byron".into()),
                ..Registration::default()
            };
            let t = Instant::now();
            e.accept(tok, reg).unwrap();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    let mean = lat.iter().sum::<f64>() / lat.len() as f64;
    [median(&mut lat), mean, percentile(&mut lat, 0.99)]
}

/// Lets the WAL that issuing (or delivering) left behind be checkpointed
/// before accepts are timed: a `RESTART` checkpoint through a connection
/// of its own, which waits for the store's checkpoint thread if that is
/// at work, and leaves the WAL file its size (the next commits overwrite
/// it from its start; a `TRUNCATE` made every accept grow the file again
/// and the median 20 % slower). Issuing 20,000 invitations writes some
/// 38,000 pages, and without this the first accepts timed ran beside the
/// checkpoint of those pages: the median hardly moved, but the mean
/// doubled. The accepts' own checkpoints (their commits add to the WAL)
/// stay in what is timed: `sqlite.accept_mean` and the 99th percentile
/// count them.
fn settle_wal(path: &Path) {
    let side = rusqlite::Connection::open(path).unwrap();
    side.busy_timeout(std::time::Duration::from_secs(60))
        .unwrap();
    side.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))
        .unwrap();
}

/// Tokens whose emails were delivered: `n` more invitations issued from
/// recipient `from`, then every due email delivered.
fn delivered_tokens(e: &Enlist, org: &OrgId, actor: &Actor, from: usize, n: usize) -> Vec<String> {
    let (_, tokens) = issue(e, org, actor, from, n, 100);
    deliver_all(e);
    tokens
}

/// [`accepts`] under a name of its own, for callgrind's
/// `--toggle-collect='*ceiling::accepts_delivered*'`.
#[inline(never)]
fn accepts_delivered(e: &Enlist, tokens: &[String], tag: &str) -> [f64; 3] {
    accepts(e, tokens, tag)
}

/// The pages one write puts into the WAL, by the table or index they
/// belong to: the WAL is emptied, `write` runs (one command: one commit),
/// and each frame's page number is looked up in `dbstat`. Distinct pages
/// per b-tree, summed over the calls.
fn pages_written(path: &Path, write: impl FnOnce(), by_tree: &mut BTreeMap<String, usize>) {
    let side = rusqlite::Connection::open(path).unwrap();
    side.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    write();
    let wal = std::fs::read(format!("{}-wal", path.display())).unwrap();
    let page_size = u32::from_be_bytes(wal[8..12].try_into().unwrap()) as usize;
    let mut pages = BTreeSet::new();
    let mut at = 32;
    while at + 24 + page_size <= wal.len() {
        pages.insert(i64::from(u32::from_be_bytes(
            wal[at..at + 4].try_into().unwrap(),
        )));
        at += 24 + page_size;
    }
    let mut stmt = side
        .prepare("SELECT name FROM dbstat WHERE pageno = ?1")
        .unwrap();
    for page in pages {
        let name: String = stmt
            .query_row([page], |r| r.get(0))
            .unwrap_or_else(|_| "(free or new)".to_owned());
        *by_tree.entry(name).or_default() += 1;
    }
}

/// `--pages N`: which pages a batch of 100 invitations and an accept write
/// (each b-tree's distinct pages, the mean of ten of each), after `N`
/// invitations issued into one organization.
fn pages(n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pages.sqlite3");
    let (e, org, actor) = engine(&path);
    let (_, tokens) = issue(&e, &org, &actor, 0, n, 100);
    let rounds = 10;
    let mut batch = BTreeMap::new();
    for r in 0..rounds {
        pages_written(
            &path,
            || {
                issue(&e, &org, &actor, n + r * 100, 100, 100);
            },
            &mut batch,
        );
    }
    let mut accept = BTreeMap::new();
    for (i, tok) in tokens.iter().take(rounds).enumerate() {
        pages_written(
            &path,
            || {
                let reg = Registration {
                    user_ref: format!("acct-pages-{i}"),
                    first_name: Some("Ada".into()),
                    last_name: Some("Byron".into()),
                    ..Registration::default()
                };
                e.accept(tok, reg).unwrap();
            },
            &mut accept,
        );
    }
    for (what, by_tree) in [("a batch of 100 issued", batch), ("an accept", accept)] {
        let total: usize = by_tree.values().sum();
        println!(
            "{what}: {:.1} pages written (mean of {rounds})",
            total as f64 / rounds as f64
        );
        let mut rows: Vec<_> = by_tree.into_iter().collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (tree, count) in rows {
            println!("  {:>6.1}  {tree}", count as f64 / rounds as f64);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--pages") {
        pages(
            args.get(at + 1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(4_000),
        );
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--profile") {
        let n: usize = args
            .get(at + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(4_000);
        let dir = tempfile::tempdir().unwrap();
        let (e, org, actor) = engine(&dir.path().join("profile.sqlite3"));
        let (rate, tokens) = issue(&e, &org, &actor, 0, n, 100);
        let [median, mean, p99] = accepts(&e, &tokens, "profile");
        eprintln!(
            "issued {n} at {rate:.0} inv/s; accept median {median:.1} µs, mean {mean:.1}, p99 {p99:.1}"
        );
        if args.iter().any(|a| a == "--delivered") {
            // And as many accepts of invitations whose emails were sent
            // (`*ceiling::accepts_delivered*`).
            let tokens = delivered_tokens(&e, &org, &actor, n, n);
            let [median, ..] = accepts_delivered(&e, &tokens, "profile-delivered");
            eprintln!("after delivery: accept median {median:.1} µs");
        }
        return;
    }
    let n = if quick() { 5_000 } else { 20_000 };
    let pending = if quick() { 20_000 } else { 1_000_000 };
    let dir = tempfile::tempdir().unwrap();
    let (mut rates, mut ceilings) = (Vec::new(), Vec::new());
    let (mut accept_us, mut accept_mean, mut accept_p99) = (Vec::new(), Vec::new(), Vec::new());
    let mut delivered_us = Vec::new();
    for round in 0..3 {
        let path = dir.path().join(format!("enlist-{round}.sqlite3"));
        let (e, org, actor) = engine(&path);
        let (rate, tokens) = issue(&e, &org, &actor, 0, n, 100);
        rates.push(rate);
        settle_wal(&path);
        let [median, mean, p99] = accepts(&e, &tokens, &round.to_string());
        accept_us.push(median);
        accept_mean.push(mean);
        accept_p99.push(p99);
        // The common path: the invitee clicks the link of an email sent.
        let tokens = delivered_tokens(&e, &org, &actor, n, n);
        settle_wal(&path);
        let [median, ..] = accepts_delivered(&e, &tokens, &format!("{round}-delivered"));
        delivered_us.push(median);
        drop(e);
        remove(&path);
        ceilings.push(sqlite_ceiling::ceiling_median(
            dir.path(),
            n,
            sqlite_ceiling::CEILING_RUNS,
        ));
    }
    let (rate, ceil) = (median(&mut rates), median(&mut ceilings));
    eprintln!(
        "rounds: ceiling {ceilings:.0?} rows/s, issue {rates:.0?} inv/s, accept {accept_us:.1?} µs"
    );
    let tx100_us = 100.0 / ceil * 1e6;
    Figure::new(
        "sqlite.accept_after_delivery",
        "accepting one invitation whose email was sent (median; the WAL the delivery left checkpointed first): the common path, no queued email to supersede",
        median(&mut delivered_us),
        "µs",
    )
    .against("one raw 100-row transaction, µs", tx100_us)
    .aim(Aim::None)
    .print();
    Figure::new("sqlite.issue", "invitations by email issued per second, batches of 100 (invitation, email, event, search term)", rate, "inv/s")
        .against("raw one-table inserts, rows/s", ceil)
        .aim(Aim::AtLeast(0.25))
        .print();
    Figure::new(
        "sqlite.accept",
        "accepting one invitation (median; the WAL issuing left checkpointed first)",
        median(&mut accept_us),
        "µs",
    )
    .against("one raw 100-row transaction, µs", tx100_us)
    .aim(Aim::AtMost(0.15))
    .print();
    Figure::new(
        "sqlite.accept_mean",
        "accepting one invitation (mean of 200 one after the other: counts the commits that checkpoint)",
        median(&mut accept_mean),
        "µs",
    )
    .against("one raw 100-row transaction, µs", tx100_us)
    .aim(Aim::None)
    .print();
    Figure::new(
        "sqlite.accept_p99",
        "accepting one invitation (99th percentile of 200)",
        median(&mut accept_p99),
        "µs",
    )
    .against("one raw 100-row transaction, µs", tx100_us)
    .aim(Aim::None)
    .print();

    // The same organization grown to `pending` open invitations (batches
    // of 10,000 to build it), then accepts and one more batch of 100.
    let path = dir.path().join("pending.sqlite3");
    let (e, org, actor) = engine(&path);
    issue(&e, &org, &actor, 0, pending, 10_000);
    let (rate, tokens) = issue(&e, &org, &actor, pending, 20 * 100, 100);
    settle_wal(&path);
    let [accept, ..] = accepts(&e, &tokens, "pending");
    let ceil = sqlite_ceiling::ceiling_median(dir.path(), n, sqlite_ceiling::CEILING_RUNS);
    let tx100_us = 100.0 / ceil * 1e6;
    Figure::new(
        &format!("sqlite.issue_with_{}_pending", pending),
        "issuing batches of 100 into an organization with that many pending",
        rate,
        "inv/s",
    )
    .against("raw one-table inserts, rows/s", ceil)
    .aim(Aim::None)
    .print();
    Figure::new(
        &format!("sqlite.accept_with_{}_pending", pending),
        "accepting one invitation (median; the WAL issuing left checkpointed first) among that many pending",
        accept,
        "µs",
    )
    .against("one raw 100-row transaction, µs", tx100_us)
    .aim(Aim::AtMost(0.15))
    .print();
}

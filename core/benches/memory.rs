//! MemoryStore against the raw SQLite ceiling, in one process:
//!
//! (a) the raw SQLite ceiling, as `../shared/bench/sqlite_ceiling_rust`
//!     measures it: one invitation-shaped table with its two indexes (unique
//!     `(org, email)`, secret hash), WAL + `synchronous=NORMAL`, 100 rows per
//!     transaction, rows generated before the clock starts, on a temporary
//!     file;
//! (b) MemoryStore issuing batches of 100 through `Enlist::invite` into an
//!     organization that already holds N pending invitations (N = 1,000,000;
//!     20,000 under `ENLIST_BENCH_QUICK=1`), and the same batches into an
//!     empty organization (shown: no cost may grow with the organization);
//! (c) accept latency in that organization: the median of at least 200;
//!     and of as many invitations whose emails were delivered first (the
//!     path of an invitee who clicks the link in one: no queued email to
//!     supersede).
//!
//! (d) beside them, how fast the machine gives the process fresh memory
//!     (a new 256 MiB buffer written one byte a page, MB/s) and the page
//!     faults per invitation of (b)'s window: MemoryStore grows into fresh
//!     memory as it issues, and on some machines that rate is a fraction
//!     of the usual and swings within minutes, so a run's figures are read
//!     with it (no aim).
//!
//! In three rounds, each (a), (b) and its share of (c) in turn, so that the
//! machine's drift during the run falls on the ceiling and on enlist alike:
//! the rates are the rounds' medians, the latencies pooled. Each round's
//! ceiling is the median of five runs of it (one run is about 0.15 s, and
//! back-to-back runs spread by a fifth). The big
//! organization is made once and keeps what each round issues.
//!
//! The N pending invitations are written straight through the `Transaction`
//! trait in transactions of 10,000 (what a migration would do), so the
//! fixture costs seconds, not the engine's minutes.
//!
//! Run: `cargo bench -p enlist --bench memory -- --report`
//! (`ENLIST_BENCH_QUICK=1` for the small sizes). For a profile of the issue
//! stage alone:
//! `ENLIST_BENCH_QUICK=1 valgrind --tool=callgrind --toggle-collect='*issue_batches*' target/release/deps/memory-* --profile`
//! (`*accept_all*` for the accepts, the first of each batch issued;
//! `ENLIST_BENCH_PENDING=200000` for another size of the organization,
//! `ENLIST_BENCH_BATCHES=1000` for more batches issued by the engine, whose
//! invitations share their times as a real batch's do, and accepted cold).
//! For wall-time samples of the accepts alone, give the `--profile` mode
//! perf's control file: `ENLIST_PERF_CTL=ctl perf record --control
//! fifo:ctl -D -1 ...` (see `docs/src/performance.md`).

#[path = "../../benches/deliver.rs"]
mod deliver;
#[path = "../../benches/report.rs"]
mod report;
#[path = "../../benches/sqlite_ceiling.rs"]
mod sqlite_ceiling;

use chrono::{Duration, Utc};
use deliver::deliver_all;
use enlist::{
    Actor, CreatedOrganization, Enlist, InviteRequest, MemoryStore, NewOrganization, OrgId,
    Recipients, Registration, SecretHash, StoredInvitation,
};
use report::{Aim, Figure, median};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

/// A fresh engine on MemoryStore with one organization and its owner.
fn engine() -> (Enlist, OrgId, Actor) {
    let engine = Enlist::new(Arc::new(MemoryStore::new()));
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(NewOrganization::new(
            "Bench",
            "owner",
            "owner@bench.example",
        ))
        .expect("org");
    (engine, org.id, Actor::Member(owner.id))
}

/// One pending email invitation, built once by deserializing (the struct is
/// `non_exhaustive` outside the crate) and then copied with new keys.
fn pending_template(org: &OrgId) -> StoredInvitation {
    let now = Utc::now();
    let v = serde_json::json!({
        "org_id": org, "id": "inv_fixture", "batch_id": "bat_fixture",
        "recipient": {"type": "email", "value": "x@fixture.example"},
        "recipient_key": "x@fixture.example",
        "display_name": null, "first_name": null, "last_name": null, "kind": "member",
        "role": "member", "groups": [], "license_type": "standard", "inviter": null,
        "message": null, "created_at": now, "expires_at": now + Duration::days(7),
        "status": "pending", "secret_hash": SecretHash::of(b"fixture"), "send_count": 1,
        "last_sent_at": now, "failed_attempts": 0, "closed_at": null, "member_id": null
    });
    serde_json::from_value(v).expect("invitation json")
}

/// Writes `n` pending invitations into `org` through the `Transaction`
/// trait, 10,000 per transaction.
fn fill(engine: &Enlist, org: &OrgId, n: usize) {
    let template = pending_template(org);
    let store = engine.store().clone();
    let base = template.invitation.created_at;
    let mut i = 0;
    while i < n {
        let mut tx = store.begin().expect("begin");
        for _ in 0..10_000.min(n - i) {
            let mut inv = template.clone();
            let email = format!("pending{i:07}@fixture.example");
            inv.invitation.id = enlist::InvitationId::from(format!("inv_fixture{i:09}"));
            inv.invitation.recipient = enlist::Contact::Email(email.as_str().into());
            inv.invitation.recipient_key = email.into();
            inv.invitation.created_at = base + Duration::microseconds(i as i64);
            inv.secret_hash = Some(SecretHash::of(format!("fixture{i}").as_bytes()));
            tx.put_invitation(&inv).expect("put");
            i += 1;
        }
        tx.commit().expect("commit");
    }
}

/// A pasted batch of 100 recipients, numbered from `start`.
fn batch(start: usize) -> InviteRequest {
    let paste: Vec<String> = (start..start + 100)
        .map(|i| format!("user{i}@bench.example"))
        .collect();
    InviteRequest::new(Recipients::Paste(paste.join("\n")))
}

/// Issues `batches` batches of 100 (requests built before the clock
/// starts): invitations per second, and the first token of each batch.
#[inline(never)]
fn issue_batches(
    engine: &Enlist,
    org: &OrgId,
    actor: &Actor,
    from: usize,
    batches: usize,
) -> (f64, Vec<String>) {
    let requests: Vec<InviteRequest> = (0..batches).map(|b| batch(from + b * 100)).collect();
    let mut tokens = Vec::with_capacity(batches);
    let t = Instant::now();
    for req in requests {
        let r = engine.invite(org, actor, req).expect("invite");
        assert_eq!(r.issued.len(), 100, "{:?}", r.rejected.first());
        tokens.push(
            r.issued[0]
                .secret
                .as_ref()
                .expect("a token")
                .expose()
                .to_owned(),
        );
    }
    let rate = (batches * 100) as f64 / t.elapsed().as_secs_f64();
    (rate, tokens)
}

/// The first tokens of `n` more batches, numbered from `*from` (moved past
/// them), issued 50 batches at a time.
fn tokens_of_new_batches(
    engine: &Enlist,
    org: &OrgId,
    actor: &Actor,
    from: &mut usize,
    n: usize,
) -> Vec<String> {
    let mut tokens = Vec::with_capacity(n);
    while tokens.len() < n {
        let take = 50.min(n - tokens.len());
        let (_, t) = issue_batches(engine, org, actor, *from, take);
        *from += take * 100;
        tokens.extend(t);
    }
    tokens
}

/// How fast this machine gives the process fresh memory, in MB/s: a new
/// zeroed buffer of `mb` MiB (pages the kernel has not given it yet)
/// written one byte a page. MemoryStore grows by what it issues, so its
/// rate follows this one; on some virtual machines it is a fraction of
/// what it is elsewhere, and it swings within minutes (issue 15's
/// sessions of 2026-12-07), so each round measures it beside the
/// ceiling.
fn fresh_memory_rate(mb: usize) -> f64 {
    let t = Instant::now();
    let mut buf = vec![0u8; mb << 20];
    for i in (0..buf.len()).step_by(4096) {
        buf[i] = 1;
    }
    black_box(&buf);
    let secs = t.elapsed().as_secs_f64();
    drop(buf);
    mb as f64 / secs
}

/// The process's minor page faults so far (Linux's `/proc/self/stat`,
/// field 10), if readable.
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command's name, in parentheses, may hold spaces: count the
    // fields after it (the state is field 3, minflt field 10).
    let after = stat.rsplit_once(')')?.1;
    after.split_whitespace().nth(7)?.parse().ok()
}

/// Accepts each token, timing each: latencies in µs.
#[inline(never)]
fn accept_all(engine: &Enlist, tokens: &[String], tag: &str) -> Vec<f64> {
    let mut lat = Vec::with_capacity(tokens.len());
    for (i, tok) in tokens.iter().enumerate() {
        let reg = Registration {
            user_ref: format!("acct-{tag}{i}"),
            first_name: Some("Ada".into()),
            last_name: Some("Byron".into()),
            ..Registration::default()
        };
        let t = Instant::now();
        black_box(engine.accept(tok, reg).expect("accept"));
        lat.push(t.elapsed().as_secs_f64() * 1e6);
    }
    lat
}

/// `perf record --control fifo:CTL -D -1`'s control file, named by
/// `ENLIST_PERF_CTL`: the `--profile` mode samples its accepts alone
/// (perf's sampling has no toggle like callgrind's `--toggle-collect`).
fn perf_control() -> Option<std::fs::File> {
    let path = std::env::var_os("ENLIST_PERF_CTL")?;
    std::fs::OpenOptions::new().write(true).open(path).ok()
}

fn perf_switch(ctl: &Option<std::fs::File>, what: &str) {
    use std::io::Write;
    if let Some(mut f) = ctl.as_ref() {
        let _ = writeln!(f, "{what}");
        let _ = f.flush();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `--report` is what scripts/bench.sh
    // passes: both mean the full run.
    let profile = args.iter().any(|a| a == "--profile");
    let quick = std::env::var_os("ENLIST_BENCH_QUICK").is_some();
    // The sizes from the environment, for profiles between the quick run
    // and the full one.
    let size = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    };
    let pending = size(
        "ENLIST_BENCH_PENDING",
        if quick { 20_000 } else { 1_000_000 },
    );
    let batches = size("ENLIST_BENCH_BATCHES", if quick { 50 } else { 300 });
    let accepts: usize = if quick { 200 } else { 400 };

    if profile {
        // For callgrind (no SQLite, no empty organization): the fixture,
        // then the issue stage and the accepts.
        let (e, org, actor) = engine();
        let t = Instant::now();
        fill(&e, &org, pending);
        eprintln!("fixture: {:.1} s", t.elapsed().as_secs_f64());
        let (rate, tokens) = issue_batches(&e, &org, &actor, 0, batches);
        let perf = perf_control();
        perf_switch(&perf, "enable");
        let mut lat = accept_all(&e, &tokens, "");
        perf_switch(&perf, "disable");
        eprintln!(
            "{pending} pending: issue {rate:.0} invitations/s, accept {:.1} µs",
            median(&mut lat)
        );
        return;
    }

    // Rounds alternated, each its ceiling, its empty organization, its
    // issue window into the big organization and its accepts: a drift of
    // the machine's speed during the run (the ceiling, bound by the disk,
    // swung by a quarter between runs of one afternoon) falls on both
    // sides of each ratio. Medians of the rounds; the accepts' latencies
    // pooled.
    let rounds = 3;
    let dir = std::env::temp_dir().join(format!("enlist-memory-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rows = if quick { 5_000 } else { 20_000 };

    // The organization of `pending` pending invitations, made once.
    let (e, org, actor) = engine();
    let t = Instant::now();
    fill(&e, &org, pending);
    eprintln!(
        "fixture: {pending} pending invitations in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let (mut ceilings, mut rates, mut empty_rates) = (Vec::new(), Vec::new(), Vec::new());
    let (mut fresh, mut faults) = (Vec::new(), Vec::new());
    let (mut lat, mut lat_delivered) = (Vec::new(), Vec::new());
    let per_round = accepts.div_ceil(rounds);
    let mut empties = Vec::with_capacity(rounds);
    let mut from = 0;
    for round in 0..rounds {
        ceilings.push(sqlite_ceiling::ceiling_median(
            &dir,
            rows,
            sqlite_ceiling::CEILING_RUNS,
        ));

        // Into an empty organization, kept until the end: freed here, its
        // memory would be what the big organization's window below reuses,
        // and how much of it the allocator keeps or gives back (its
        // thresholds move with the sizes it has seen) swung that window by
        // a sixth between builds that issue the same way. Kept, each
        // window grows the process by what it issues, as a store does.
        let (e0, org0, actor0) = engine();
        empty_rates.push(issue_batches(&e0, &org0, &actor0, 0, batches).0);
        empties.push(e0);

        fresh.push(fresh_memory_rate(256));

        // Into the big organization, its page faults counted.
        let before = minor_faults();
        rates.push(issue_batches(&e, &org, &actor, from, batches).0);
        if let (Some(a), Some(b)) = (before, minor_faults()) {
            faults.push((b - a) as f64 / (batches * 100) as f64);
        }
        from += batches * 100;
        // Accept: tokens from further batches (one per batch), then timed.
        let tokens = tokens_of_new_batches(&e, &org, &actor, &mut from, per_round);
        lat.extend(accept_all(&e, &tokens, &format!("{round}-")));
        // The common path: tokens whose emails were sent (every due email
        // delivered first), so an accept has no queued email to supersede.
        let delivered = tokens_of_new_batches(&e, &org, &actor, &mut from, per_round);
        deliver_all(&e);
        lat_delivered.extend(accept_all(&e, &delivered, &format!("{round}-delivered-")));
    }
    drop(empties);
    let _ = std::fs::remove_dir_all(&dir);
    let ceil = median(&mut ceilings);
    let (rate, empty_rate) = (median(&mut rates), median(&mut empty_rates));
    let accept_us = median(&mut lat);
    let delivered_us = median(&mut lat_delivered);
    eprintln!(
        "rounds: ceiling {ceilings:.0?}, issue {rates:.0?}, into an empty organization {empty_rates:.0?}, fresh memory {fresh:.0?} MB/s, faults per invitation {faults:.2?}"
    );

    let n = format!("{pending}");
    Figure::new(
        "memory.issue",
        &format!(
            "MemoryStore: invitations/s, batches of 100 into an organization of {n} pending (median of {rounds} rounds, each beside its ceiling)"
        ),
        rate,
        "inv/s",
    )
    .against("sqlite raw one-table ceiling (rows/s)", ceil)
    .aim(Aim::AtLeast(2.0))
    .print();
    Figure::new(
        "memory.accept_us",
        &format!(
            "MemoryStore: accept latency, median of {}, {n} pending",
            lat.len()
        ),
        accept_us,
        "µs",
    )
    .aim(Aim::AtMost(10.0))
    .print();
    Figure::new(
        "memory.accept_after_delivery_us",
        &format!(
            "MemoryStore: accept latency of invitations whose email was sent, median of {}, {n} pending",
            lat_delivered.len()
        ),
        delivered_us,
        "µs",
    )
    .aim(Aim::None)
    .print();
    Figure::new(
        "memory.fresh_memory_mb_s",
        "fresh memory the machine gives the process, MB/s (a new 256 MiB buffer written one byte a page; median of the rounds): what MemoryStore's issuing grows into",
        median(&mut fresh),
        "MB/s",
    )
    .aim(Aim::None)
    .print();
    if !faults.is_empty() {
        Figure::new(
            "memory.issue_faults_per_invitation",
            &format!(
                "MemoryStore: minor page faults per invitation issued into the organization of {n} pending (median of the rounds)"
            ),
            median(&mut faults),
            "faults",
        )
        .aim(Aim::None)
        .print();
    }
    Figure::new(
        "memory.issue_empty_org",
        "MemoryStore: invitations/s, batches of 100 into an empty organization",
        empty_rate,
        "inv/s",
    )
    .against("sqlite raw one-table ceiling (rows/s)", ceil)
    .print();
}

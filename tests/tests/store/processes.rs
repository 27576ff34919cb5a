//! Races between processes, and a process killed (SIGKILL) in the middle
//! of a batch, for stores shared by several processes (SQLite files,
//! Postgres). The processes are `enlist-store-worker` (tests/src/bin).
//!
//! [`store_processes!`] generates the tests for one store, given a
//! `fn() -> Option<Target>` (`None`: skipped, with the reason printed).

use enlist::{
    Actor, CreatedOrganization, Enlist, EventKind, Invitation, InvitationQuery, InvitationStatus,
    InviteRequest, MemberQuery, MemberStatus, NewOrganization, OrgId, OutboxStatus, Policy,
    Recipients, Store,
};
use enlist_tests::StoreLocation;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use enlist::testing::snapshot::{all_invitations, far_future};

/// How many worker processes race.
pub const PROCESSES: usize = 8;

/// How long a worker may take to say anything (opening the store, a debug
/// build on a busy machine).
const PATIENCE: Duration = Duration::from_secs(60);

/// A store the workers can open, and whatever keeps it alive (a temporary
/// directory).
pub struct Target {
    /// Where it is.
    pub location: StoreLocation,
    /// Held, never read: dropping it removes the store (a temporary
    /// directory).
    #[allow(dead_code)]
    pub keep: Option<Box<dyn std::any::Any>>,
}

impl Target {
    /// Opens the store in this process.
    pub fn open(&self) -> Arc<dyn Store> {
        self.location.open().expect("open the store")
    }
}

/// A running worker process.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    args: Vec<String>,
}

impl Worker {
    /// Starts `enlist-store-worker <store> <args...>`.
    pub fn spawn(target: &Target, args: &[String]) -> Worker {
        let mut all = target.location.to_args();
        all.extend(args.iter().cloned());
        let mut child = Command::new(env!("CARGO_BIN_EXE_enlist-store-worker"))
            .args(&all)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start enlist-store-worker");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => {
                        if tx.send(l).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        let stdin = child.stdin.take();
        Worker {
            child,
            stdin,
            lines,
            args: all,
        }
    }

    /// The next line, waiting at most [`PATIENCE`]; `None` at the end of
    /// the output.
    pub fn line(&self) -> Option<String> {
        match self.lines.recv_timeout(PATIENCE) {
            Ok(l) => Some(l),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!("worker {:?} said nothing for {PATIENCE:?}", self.args)
            }
        }
    }

    /// Waits for "ready".
    pub fn wait_ready(&self) {
        let l = self.line();
        assert_eq!(
            l.as_deref(),
            Some("ready"),
            "worker {:?} did not get ready",
            self.args
        );
    }

    /// Tells the worker to go.
    pub fn go(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "go").expect("write to the worker");
        stdin.flush().expect("flush");
    }

    /// The rest of the output; the worker must exit successfully.
    pub fn finish(mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(l) = self.line() {
            out.push(l);
        }
        let status = self.child.wait().expect("wait for the worker");
        assert!(status.success(), "worker {:?} failed: {status}", self.args);
        out
    }
}

impl Drop for Worker {
    /// A test that fails half-way must not leave a worker running (the
    /// batch worker never stops by itself).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts one worker per argument list, waits until all are ready, lets
/// them go at once, and returns their outputs.
pub fn race_processes(target: &Target, args: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let mut workers: Vec<Worker> = args.iter().map(|a| Worker::spawn(target, a)).collect();
    for w in &workers {
        w.wait_ready();
    }
    for w in &mut workers {
        w.go();
    }
    workers.into_iter().map(Worker::finish).collect()
}

fn create_org(engine: &Enlist, policy: Policy) -> (OrgId, enlist::Member) {
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(
            NewOrganization::new("Acme", "acct-owner", "owner@acme.test")
                .with_owner_name("Olive", "Owner")
                .with_policy(policy),
        )
        .expect("create the organization");
    (org.id, owner)
}

fn registration_ok(line: &str, allowed: &[&str], what: &str) {
    let code = line.strip_prefix("err ").and_then(|r| r.split(' ').next());
    match code {
        Some(c) if allowed.contains(&c) || c == "retries_exhausted" => {}
        _ => {
            panic!("{what}: expected ok or one of {allowed:?} (or retries_exhausted), got {line:?}")
        }
    }
}

fn token(issued: &enlist::IssuedInvitation) -> String {
    issued
        .secret
        .as_ref()
        .expect("a secret")
        .expose()
        .to_owned()
}

/// N processes accept the same secret: exactly one wins.
pub fn processes_accept_one_secret_once(target: &Target) {
    let engine = Enlist::new(target.open());
    let (org, owner) = create_org(&engine, Policy::default());
    let report = engine
        .invite(
            &org,
            &Actor::Member(owner.id.clone()),
            InviteRequest::new(Recipients::Paste("race@acme.test".into())),
        )
        .expect("invite");
    let tok = token(&report.issued[0]);
    let outs = race_processes(
        target,
        (0..PROCESSES)
            .map(|i| vec!["accept".into(), tok.clone(), format!("acct-{i}")])
            .collect(),
    );
    let results: Vec<&String> = outs.iter().map(|o| o.last().expect("a result")).collect();
    let winners: Vec<&str> = results
        .iter()
        .filter_map(|l| l.strip_prefix("ok "))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one process wins: {results:?}");
    for l in results.iter().filter(|l| !l.starts_with("ok ")) {
        registration_ok(
            l,
            &["invitation_not_open", "already_member"],
            "a losing process",
        );
    }
    let members = engine
        .list_members(&org, &Actor::System, &MemberQuery::default())
        .expect("members");
    let raced: Vec<_> = members
        .items
        .iter()
        .filter(|m| m.contact_key == "race@acme.test")
        .collect();
    assert_eq!(raced.len(), 1);
    assert_eq!(raced[0].id.as_str(), winners[0]);
    let inv = engine
        .invitation(&org, &Actor::System, &report.issued[0].invitation.id)
        .expect("invitation");
    assert_eq!(inv.status, InvitationStatus::Accepted);
    assert_eq!(inv.member_id.as_ref().map(|m| m.as_str()), Some(winners[0]));
}

/// N processes invite overlapping batches: never two open invitations for
/// one address.
pub fn processes_never_invite_twice(target: &Target) {
    let engine = Enlist::new(target.open());
    let (org, owner) = create_org(&engine, Policy::default());
    let pool: Vec<String> = (0..24).map(|i| format!("p{i:02}@acme.test")).collect();
    let batch_of = |i: usize| -> Vec<String> {
        (0..9)
            .map(|j| pool[(3 * i + j) % pool.len()].clone())
            .collect()
    };
    let outs = race_processes(
        target,
        (0..PROCESSES)
            .map(|i| {
                vec![
                    "invite".into(),
                    org.to_string(),
                    owner.id.to_string(),
                    "-".into(),
                    batch_of(i).join(","),
                ]
            })
            .collect(),
    );
    let mut issued_by: BTreeMap<String, usize> = BTreeMap::new();
    let mut covered = BTreeSet::new();
    for (i, out) in outs.iter().enumerate() {
        let last = out.last().expect("a result");
        if !last.starts_with("ok ") {
            registration_ok(last, &[], "a batch");
            continue;
        }
        assert_eq!(
            out.len(),
            10,
            "batch {i} reports each of its 9 recipients: {out:?}"
        );
        for l in &out[..out.len() - 1] {
            if let Some(key) = l.strip_prefix("issued ") {
                if let Some(other) = issued_by.insert(key.to_owned(), i) {
                    panic!("{key} issued by processes {other} and {i}");
                }
            } else {
                assert!(
                    l.starts_with("rejected already_invited "),
                    "batch {i}: unexpected {l:?}"
                );
            }
        }
        covered.extend(batch_of(i));
    }
    assert!(!covered.is_empty(), "every batch failed");
    let store = target.open();
    let mut tx = store.begin().expect("begin");
    let all = all_invitations(
        tx.as_mut(),
        &org,
        InvitationQuery {
            limit: 1000,
            ..InvitationQuery::default()
        },
        far_future(),
    );
    drop(tx);
    let mut per_key: BTreeMap<&str, usize> = BTreeMap::new();
    for inv in &all {
        assert!(inv.status.is_open(), "{inv:?}");
        *per_key.entry(inv.recipient_key.as_str()).or_default() += 1;
    }
    for (key, n) in &per_key {
        assert_eq!(*n, 1, "{key} has {n} open invitations");
    }
    let keys: BTreeSet<String> = per_key.keys().map(|k| (*k).to_owned()).collect();
    assert_eq!(keys, issued_by.keys().cloned().collect::<BTreeSet<_>>());
    assert_eq!(keys, covered);
}

/// More processes accept than there are seats: the limit holds.
pub fn processes_respect_the_seat_limit(target: &Target) {
    let engine = Enlist::new(target.open());
    let mut policy = Policy::default();
    policy.reserve_seats_for_pending = false;
    policy.seat_limits.insert("pro".into(), 3);
    let (org, owner) = create_org(&engine, policy);
    let paste = (0..PROCESSES)
        .map(|i| format!("s{i}@acme.test"))
        .collect::<Vec<_>>()
        .join(" ");
    let report = engine
        .invite(
            &org,
            &Actor::Member(owner.id.clone()),
            InviteRequest::new(Recipients::Paste(paste)).license_type("pro"),
        )
        .expect("invite");
    let outs = race_processes(
        target,
        report
            .issued
            .iter()
            .enumerate()
            .map(|(i, iss)| vec!["accept".into(), token(iss), format!("acct-{i}")])
            .collect(),
    );
    let results: Vec<&String> = outs.iter().map(|o| o.last().expect("a result")).collect();
    let oks = results.iter().filter(|l| l.starts_with("ok ")).count();
    let conflicts = results
        .iter()
        .filter(|l| l.starts_with("err retries_exhausted"))
        .count();
    for l in results.iter().filter(|l| !l.starts_with("ok ")) {
        registration_ok(l, &["limit_exceeded"], "an accept past the limit");
    }
    let pro = engine
        .list_members(&org, &Actor::System, &MemberQuery::default())
        .expect("members")
        .items
        .into_iter()
        .filter(|m| m.license_type == "pro" && m.status == MemberStatus::Active)
        .count();
    assert!(pro <= 3, "{pro} active pro members, limit 3");
    assert_eq!(pro, oks);
    if conflicts == 0 {
        assert_eq!(
            oks, 3,
            "more accepts than seats take every seat: {results:?}"
        );
    }
}

/// A tiny generator for the kill delays (seeded from the clock; the seed
/// is printed so a failing run can be read again).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

/// A worker running 100-recipient batches is killed with SIGKILL at a
/// random moment, several times; after reopening, every batch is all there
/// (100 invitations, 100 queued emails, 100 events) or not at all.
pub fn sigkill_mid_batch_leaves_all_or_nothing(target: &Target) {
    const SIZE: usize = 100;
    const ROUNDS: usize = 4;
    let org = {
        let store = target.open();
        let engine = Enlist::new(store);
        create_org(&engine, Policy::default()).0
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    println!("sigkill test: delay seed {seed}");
    let mut rng = Lcg(seed);
    // (round, batch index) -> batch id, for the batches the worker saw done.
    let mut done: BTreeMap<(usize, u64), String> = BTreeMap::new();
    let mut begun: BTreeSet<(usize, u64)> = BTreeSet::new();
    let mut killed_mid_batch = 0;
    for round in 0..ROUNDS {
        let mut w = Worker::spawn(
            target,
            &[
                "batches".into(),
                org.to_string(),
                format!("k{round}"),
                SIZE.to_string(),
            ],
        );
        let first = w.line();
        assert_eq!(
            first.as_deref(),
            Some("begin 0"),
            "round {round}: the worker did not start"
        );
        begun.insert((round, 0));
        let delay = Duration::from_millis(50 + rng.next(600));
        let until = Instant::now() + delay;
        let mut lines = Vec::new();
        while Instant::now() < until {
            match w
                .lines
                .recv_timeout(until.saturating_duration_since(Instant::now()))
            {
                Ok(l) => lines.push(l),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => panic!("round {round}: the worker died"),
            }
        }
        w.child.kill().expect("SIGKILL the worker");
        let status = w.child.wait().expect("wait");
        assert!(!status.success(), "killed, not finished");
        drop(w.stdin.take());
        while let Ok(l) = w.lines.recv_timeout(Duration::from_secs(5)) {
            lines.push(l);
        }
        let mut last_begun = 0;
        let mut last_done = None;
        for l in &lines {
            let parts: Vec<&str> = l.split(' ').collect();
            match parts.as_slice() {
                ["begin", i] => {
                    let i: u64 = i.parse().expect("batch index");
                    begun.insert((round, i));
                    last_begun = i;
                }
                ["done", i, batch] => {
                    let i: u64 = i.parse().expect("batch index");
                    done.insert((round, i), (*batch).to_owned());
                    last_done = Some(i);
                }
                _ => panic!("round {round}: the worker failed: {l:?}"),
            }
        }
        if last_done != Some(last_begun) {
            killed_mid_batch += 1;
        }
        println!(
            "sigkill round {round}: killed after {delay:?}, {} batches done, batch {last_begun} begun",
            last_done.map_or(0, |d| d + 1)
        );
    }
    assert!(
        killed_mid_batch > 0,
        "no kill landed inside a batch: the test proved nothing"
    );

    // Reopen and check every batch.
    let store = target.open();
    let mut tx = store.begin().expect("begin");
    let all = all_invitations(
        tx.as_mut(),
        &org,
        InvitationQuery {
            limit: 1000,
            ..InvitationQuery::default()
        },
        far_future(),
    );
    let mut by_batch: BTreeMap<(usize, u64), Vec<&Invitation>> = BTreeMap::new();
    for inv in &all {
        let key = inv.recipient_key.as_str();
        let (round, rest) = key
            .strip_prefix('k')
            .and_then(|k| k.split_once('x'))
            .expect("a worker's address");
        let (i, _) = rest.split_once('y').expect("a worker's address");
        let id = (
            round.parse::<usize>().expect("round"),
            i.parse::<u64>().expect("batch"),
        );
        by_batch.entry(id).or_default().push(inv);
    }
    for (id, invs) in &by_batch {
        assert!(begun.contains(id), "batch {id:?} was never begun");
        assert_eq!(invs.len(), SIZE, "batch {id:?} is partly stored");
        let batch_ids: BTreeSet<&str> = invs.iter().map(|i| i.batch_id.as_str()).collect();
        assert_eq!(batch_ids.len(), 1, "batch {id:?} has several batch ids");
        if let Some(b) = done.get(id) {
            assert!(
                batch_ids.contains(b.as_str()),
                "batch {id:?}: {b} vs {batch_ids:?}"
            );
        }
        for inv in invs {
            assert_eq!(inv.status, InvitationStatus::Pending);
            let queued = tx
                .queued_messages_for(&org, &inv.id)
                .expect("queued messages");
            assert_eq!(queued.len(), 1, "{}: one queued email", inv.recipient_key);
            assert_eq!(queued[0].email.to, inv.recipient.as_str());
            assert_eq!(queued[0].status, OutboxStatus::Queued);
        }
    }
    for id in done.keys() {
        assert!(
            by_batch.contains_key(id),
            "batch {id:?} was reported done but is missing"
        );
    }
    let due = tx
        .due_outbox(Some(&org), far_future(), 100_000)
        .expect("due outbox");
    assert_eq!(
        due.len(),
        all.len(),
        "one queued email per invitation, no more"
    );
    let events = tx.events(&org, 0, 1_000_000).expect("events");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    let issued: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::InvitationIssued { invitation, .. } => Some(invitation.as_str()),
            _ => None,
        })
        .collect();
    let ids: BTreeSet<&str> = all.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        issued, ids,
        "one InvitationIssued event per stored invitation"
    );
    assert_eq!(events.len(), 2 + all.len(), "no other events");
    drop(tx);
    println!(
        "sigkill: {} batches stored whole, {} begun, {} kills inside a batch",
        by_batch.len(),
        begun.len(),
        killed_mid_batch
    );

    // The store still works.
    let engine = Enlist::new(store);
    let r = engine
        .invite(
            &org,
            &Actor::System,
            InviteRequest::new(Recipients::Paste("after@kill.test".into())),
        )
        .expect("invite after the kills");
    engine
        .accept(
            &token(&r.issued[0]),
            enlist::Registration {
                user_ref: "acct-after".into(),
                first_name: Some("A".into()),
                last_name: Some("B".into()),
                ..enlist::Registration::default()
            },
        )
        .expect("accept after the kills");
}

/// Generates the multi-process tests for one store:
/// `store_processes!(name, make_target)` with `make_target: fn() ->
/// Option<Target>`.
#[macro_export]
macro_rules! store_processes {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn target() -> Option<$crate::store::processes::Target> {
                let make: fn() -> Option<$crate::store::processes::Target> = $make;
                make()
            }
            $crate::store_processes!(@tests
                processes_accept_one_secret_once,
                processes_never_invite_twice,
                processes_respect_the_seat_limit,
                sigkill_mid_batch_leaves_all_or_nothing,
            );
        }
    };
    (@tests $($test:ident,)*) => {
        $(
            #[test]
            fn $test() {
                if let Some(t) = target() {
                    $crate::store::processes::$test(&t);
                }
            }
        )*
    };
}

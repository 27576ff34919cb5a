//! The floor a storage layout puts under SQLite issuing, measured raw (no
//! engine), against the one-table ceiling of issue 15 in the same run.
//!
//! enlist issues at about 0.07 of the ceiling (`benches/ceiling.rs`). This
//! bench asks how much of that gap is the layout and how much the engine:
//! it writes, with prepared rusqlite statements and 100 invitations per
//! transaction, exactly the rows one invitation by email costs, and no
//! more:
//!
//! - **today**: the rows enlist writes today, into today's schema (the
//!   file is opened through `SqliteStore`, so every migration and index is
//!   the store's own): the invitation (with the people view's name key,
//!   schema 15, and no secret column: since ADR 0019 its token names it
//!   and the hash is in the body only), its queued email, its audit
//!   event, its search term; the first three with their organization's
//!   number in the column their per-organization indexes begin with
//!   (schema versions 19 and 20). No
//!   people row and no counts trigger: since schema versions 15 and 14 the
//!   store writes neither (its counter, once per batch, is left out).
//!   Bodies are as long as the engine's own rows: a batch of 100 is issued
//!   through the engine first and the average `length(body)` of each table
//!   is read back.
//! - **today without the search term**: what the term costs.
//! - **narrow**: the layout ADR 0017 proposes: integer organization keys,
//!   16-byte binary public ids, an integer status, no people rows (the
//!   view read from `invitations` and `members`), counts written by the
//!   store once per batch instead of by triggers, the outbox keyed by its
//!   invitation's rowid; bodies as long as today's (the queued email a
//!   draft, rendered at delivery: ADR 0018).
//! - **narrow, email rendered at issue**: the same with a queued email as
//!   long as the engine's rendered ones were before ADR 0018 (1,804
//!   bytes), to show what rendering at delivery saves in this layout.
//!
//! Each is a ratio of rows per second to the ceiling's, medians of three
//! rounds alternated (each round's ceiling the median of five runs). `ENLIST_BENCH_QUICK=1` shrinks the sizes.
//! Run: `cargo bench -p enlist-sqlite --bench layout`.
//!
//! `ENLIST_LAYOUT_DROP=<index>,<index>` drops those indexes of today's
//! schema before today's rows are written: what an index costs issuing,
//! measured before a layout change is built (ADR 0017). The figures of
//! such a run are not today's layout's; `scripts/bench.sh` never sets it.
#![allow(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../benches/report.rs"]
mod report;
#[path = "../../../benches/sqlite_ceiling.rs"]
mod sqlite_ceiling;

use enlist::{Enlist, InviteRequest, NewOrganization, Recipients};
use enlist_sqlite::SqliteStore;
use report::{Aim, Figure, median};
use rusqlite::{Connection, params};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// A xorshift generator: the rows' random parts (ids, hashes).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn hex(&mut self, n: usize) -> String {
        self.bytes(n).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `n` bytes of text starting with `head`, as varied as an email body.
fn text(rng: &mut Rng, n: usize, head: &str) -> String {
    let mut s = String::with_capacity(n + 32);
    s.push_str(head);
    while s.len() < n {
        s.push_str("invited you to join the organization ");
        if rng.next() % 5 == 0 {
            s.push_str(&rng.hex(6));
        }
    }
    s.truncate(n);
    s
}

fn remove(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Opens `path` as the store and the ceiling do: WAL, `synchronous=NORMAL`,
/// the store's checkpoint interval.
fn connect(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;",
    )
    .unwrap();
    c
}

/// The average body length of enlist's own rows, per table: invitations,
/// outbox, events (a batch of 100 issued through the engine), and of a
/// queued email's link, a column of its own since schema version 25.
#[derive(Clone, Copy, Debug)]
struct Lengths {
    invitation: usize,
    outbox: usize,
    event: usize,
    link: usize,
}

/// Today's schema in a fresh file at `path`, with one organization and a
/// batch of 100 issued through the engine: (its org id, its owner's id,
/// the lengths of its rows).
fn today_file(path: &Path) -> (String, String, Lengths) {
    remove(path);
    let e = Enlist::new(Arc::new(SqliteStore::open(path).unwrap()));
    let c = e
        .create_organization(NewOrganization::new(
            "Bench",
            "owner",
            "owner@bench.example",
        ))
        .unwrap();
    let paste: Vec<String> = (0..100)
        .map(|i| format!("first{i}@bench.example"))
        .collect();
    let actor = enlist::Actor::Member(c.owner.id.clone());
    e.invite(
        &c.organization.id,
        &actor,
        InviteRequest::new(Recipients::Paste(paste.join("\n"))),
    )
    .unwrap();
    drop(e);
    let conn = connect(path);
    let avg = |table: &str| -> usize {
        conn.query_row(
            &format!("SELECT CAST(avg(length(body)) AS INTEGER) FROM {table}"),
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as usize
    };
    let lengths = Lengths {
        invitation: avg("invitations"),
        outbox: avg("outbox"),
        event: avg("events WHERE kind = 'invitation_issued'"),
        link: conn
            .query_row(
                "SELECT CAST(avg(length(link)) AS INTEGER) FROM outbox",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap() as usize,
    };
    (
        c.organization.id.as_str().to_owned(),
        c.owner.id.as_str().to_owned(),
        lengths,
    )
}

/// Today's rows for `n` invitations, raw: rows per second.
fn today(dir: &Path, n: usize, terms: bool) -> (f64, Lengths) {
    let path = dir.join("today.sqlite3");
    let (org, owner, len) = today_file(&path);
    let mut conn = connect(&path);
    if let Ok(drop) = std::env::var("ENLIST_LAYOUT_DROP") {
        for ix in drop.split(',').filter(|s| !s.is_empty()) {
            conn.execute_batch(&format!("DROP INDEX {ix}")).unwrap();
        }
    }
    let mut rng = Rng(0x1234_5678_9abc_def1);
    struct Row {
        id: String,
        msg: String,
        key: String,
        invitation: String,
        outbox: String,
        link: String,
        event: String,
    }
    // Ids as enlist makes them: the time in milliseconds, then random bits.
    let rows: Vec<Row> = (0..n)
        .map(|i| {
            let ms = 0x01a2_428b_08e3_u64 + i as u64 / 100;
            let key = format!("user{i}@bench.example");
            let id = format!("inv_{ms:012x}{}", rng.hex(10));
            Row {
                msg: format!("msg_{ms:012x}{}", rng.hex(10)),
                invitation: text(&mut rng, len.invitation, &id),
                outbox: text(&mut rng, len.outbox, &key),
                link: text(&mut rng, len.link, &id),
                event: text(&mut rng, len.event, &id),
                id,
                key,
            }
        })
        .collect();
    let mut seq: i64 = conn
        .query_row("SELECT max(seq) FROM events", [], |r| r.get(0))
        .unwrap();
    // The organization's number (migrations 0019 and 0020), given when the
    // engine issued its first batch.
    let org_key: i64 = conn
        .query_row("SELECT org FROM org_keys WHERE org_id = ?1", [&org], |r| {
            r.get(0)
        })
        .unwrap();
    let t = Instant::now();
    for (b, chunk) in rows.chunks(100).enumerate() {
        let tx = conn.transaction().unwrap();
        {
            let batch = format!("bat_{b:032x}");
            let mut inv = tx
                .prepare_cached(
                    "INSERT INTO invitations (org_id, invitation_id, batch_id, recipient_key,
                        status, role, kind, license_type, secret_hash, created_s, created_ns,
                        expires_s, expires_ns, body, user_ref, inviter, name_key, org)
                     VALUES (?1, ?2, ?3, ?4, 'pending', 'member', 'member', 'standard', ?5,
                        ?6, 0, ?7, 0, ?8, NULL, ?9, ?4, ?10)",
                )
                .unwrap();
            let mut out = tx
                .prepare_cached(
                    "INSERT INTO outbox (message_id, org_id, invitation_id, inv_rid, status,
                        next_s, next_ns, created_s, created_ns, body, org, link)
                     VALUES (?1, ?2, ?3, ?4, 'queued', ?5, 0, ?5, 0, ?6, ?7, ?8)",
                )
                .unwrap();
            let mut ev = tx
                .prepare_cached(
                    "INSERT INTO events (org_id, seq, body, kind, org)
                     VALUES (?1, ?2, ?3, 'invitation_issued', ?4)",
                )
                .unwrap();
            let mut term = tx
                .prepare_cached("INSERT INTO people_terms (org_id, term, pid) VALUES (?1, ?2, ?3)")
                .unwrap();
            for (i, r) in chunk.iter().enumerate() {
                let now = 1_796_412_737i64 + (b * 100 + i) as i64;
                let expires = now + 14 * 86_400;
                // No secret column: the hash is in the body (ADR 0019).
                inv.execute(params![
                    org,
                    r.id,
                    batch,
                    r.key,
                    None::<Vec<u8>>,
                    now,
                    expires,
                    r.invitation,
                    owner,
                    org_key
                ])
                .unwrap();
                let rid = tx.last_insert_rowid();
                out.execute(params![
                    r.msg, org, r.id, rid, now, r.outbox, org_key, r.link
                ])
                .unwrap();
                seq += 1;
                ev.execute(params![org, seq, r.event, org_key]).unwrap();
                if terms {
                    term.execute(params![org, r.key, format!("i.{}", r.id)])
                        .unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    drop(conn);
    remove(&path);
    (rate, len)
}

/// ADR 0017's narrow layout. Every index today's layout has for issuing
/// is kept in kind (ids, secrets of older invitations, one open
/// invitation per recipient, lists by status and batch, due expiries, open
/// per inviter, pending per person); the people view's name order is an
/// index on invitations.
const NARROW: &str = "
CREATE TABLE invitations (
    rid INTEGER PRIMARY KEY, org INTEGER NOT NULL, public_id BLOB NOT NULL,
    batch INTEGER NOT NULL, recipient_key TEXT NOT NULL, name_key TEXT NOT NULL,
    status INTEGER NOT NULL, role INTEGER NOT NULL, secret_hash BLOB,
    created INTEGER NOT NULL, expires INTEGER, inviter INTEGER NOT NULL, body BLOB NOT NULL);
CREATE UNIQUE INDEX invitations_id ON invitations (public_id);
CREATE UNIQUE INDEX invitations_secret ON invitations (secret_hash) WHERE secret_hash IS NOT NULL;
CREATE UNIQUE INDEX invitations_open ON invitations (org, recipient_key) WHERE status < 2;
CREATE INDEX invitations_list ON invitations (org, status, created);
CREATE INDEX invitations_batch ON invitations (org, batch);
CREATE INDEX invitations_due ON invitations (expires) WHERE status = 1;
CREATE INDEX invitations_inviter ON invitations (org, inviter) WHERE status < 2;
CREATE INDEX invitations_name ON invitations (org, name_key) WHERE status < 2;
CREATE INDEX invitations_person ON invitations (recipient_key) WHERE status = 1;
CREATE TABLE outbox (rid INTEGER PRIMARY KEY, invitation INTEGER NOT NULL,
    status INTEGER NOT NULL, next_attempt INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX outbox_due ON outbox (next_attempt) WHERE status = 0;
CREATE INDEX outbox_queued ON outbox (invitation) WHERE status = 0;
CREATE TABLE events (rid INTEGER PRIMARY KEY, org INTEGER NOT NULL, seq INTEGER NOT NULL,
    kind INTEGER NOT NULL, body BLOB NOT NULL);
CREATE UNIQUE INDEX events_seq ON events (org, seq);
CREATE TABLE counts (org INTEGER NOT NULL, what INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (org, what)) WITHOUT ROWID;
INSERT INTO counts VALUES (1, 1, 0);
";

/// The narrow layout's rows for `n` invitations, raw: rows per second.
fn narrow(dir: &Path, n: usize, len: Lengths, outbox_len: usize) -> f64 {
    let path = dir.join("narrow.sqlite3");
    remove(&path);
    let mut conn = connect(&path);
    conn.execute_batch(NARROW).unwrap();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    type Row = (Vec<u8>, String, Vec<u8>, Vec<u8>, Vec<u8>);
    let rows: Vec<Row> = (0..n)
        .map(|i| {
            let mut id = (0x01a2_428b_08e3_u64 + i as u64 / 100)
                .to_be_bytes()
                .to_vec();
            id.extend(rng.bytes(8));
            let key = format!("user{i}@bench.example");
            (
                id,
                key.clone(),
                text(&mut rng, len.invitation, &key).into_bytes(),
                text(&mut rng, outbox_len, &key).into_bytes(),
                text(&mut rng, len.event, &key).into_bytes(),
            )
        })
        .collect();
    let mut seq = 0i64;
    let t = Instant::now();
    for (b, chunk) in rows.chunks(100).enumerate() {
        let tx = conn.transaction().unwrap();
        {
            let mut inv = tx
                .prepare_cached(
                    "INSERT INTO invitations (org, public_id, batch, recipient_key, name_key,
                        status, role, secret_hash, created, expires, inviter, body)
                     VALUES (1, ?1, ?2, ?3, ?3, 1, 1, ?4, ?5, ?6, 1, ?7)",
                )
                .unwrap();
            let mut out = tx
                .prepare_cached(
                    "INSERT INTO outbox (invitation, status, next_attempt, body)
                     VALUES (?1, 0, ?2, ?3)",
                )
                .unwrap();
            let mut ev = tx
                .prepare_cached("INSERT INTO events (org, seq, kind, body) VALUES (1, ?1, 1, ?2)")
                .unwrap();
            for (i, (id, key, invitation, outbox, event)) in chunk.iter().enumerate() {
                let now = 1_796_412_737_000_000_000i64 + (b * 100 + i) as i64;
                // Found by id, as today's (ADR 0019): no secret entry.
                inv.execute(params![
                    id,
                    b as i64,
                    key,
                    None::<Vec<u8>>,
                    now,
                    now + 1_209_600_000_000_000,
                    invitation
                ])
                .unwrap();
                let rid = tx.last_insert_rowid();
                out.execute(params![rid, now, outbox]).unwrap();
                seq += 1;
                ev.execute(params![seq, event]).unwrap();
            }
            tx.execute(
                "UPDATE counts SET n = n + ?1 WHERE org = 1 AND what = 1",
                [chunk.len() as i64],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    drop(conn);
    remove(&path);
    rate
}

/// The length of a queued email's JSON when the engine rendered it at
/// issue (before ADR 0018), measured as above.
const RENDERED_LEN: usize = 1_804;

fn main() {
    let n = if std::env::var_os("ENLIST_BENCH_QUICK").is_some() {
        5_000
    } else {
        20_000
    };
    let dir = tempfile::tempdir().unwrap();
    let mut runs: [Vec<f64>; 5] = Default::default();
    let mut lengths = None;
    for _ in 0..3 {
        runs[0].push(sqlite_ceiling::ceiling_median(
            dir.path(),
            n,
            sqlite_ceiling::CEILING_RUNS,
        ));
        let (rate, len) = today(dir.path(), n, true);
        runs[1].push(rate);
        runs[2].push(today(dir.path(), n, false).0);
        // The narrow layout's body holds the link.
        runs[3].push(narrow(dir.path(), n, len, len.outbox + len.link));
        runs[4].push(narrow(dir.path(), n, len, RENDERED_LEN));
        lengths = Some(len);
    }
    let ceiling = median(&mut runs[0]);
    if let Some(len) = lengths {
        println!("body lengths of the engine's own rows: {len:?}");
    }
    let figures = [
        (
            "sqlite.layout_today_raw",
            "today's rows of an invitation (schema 27: the invitation with its people-view keys, no index across organizations nor by id for the people view, queued email as a draft with its link in a column, event, search term; the first three by their organization's number) written raw into today's schema, rows/s",
        ),
        (
            "sqlite.layout_today_no_terms_raw",
            "the same without the search term",
        ),
        (
            "sqlite.layout_narrow_raw",
            "ADR 0017's narrow layout (integer keys, no people rows, counts once per batch), today's bodies (the email a draft)",
        ),
        (
            "sqlite.layout_narrow_rendered_raw",
            "the narrow layout with the email rendered at issue (1,804-byte queued messages, as before ADR 0018)",
        ),
    ];
    for (i, (name, what)) in figures.iter().enumerate() {
        Figure::new(name, what, median(&mut runs[i + 1]), "inv/s")
            .against("raw one-table inserts, rows/s", ceiling)
            .aim(Aim::None)
            .print();
    }
}

//! The raw SQLite ceiling of issue 15, shared by the benches that hold a
//! figure against it (included by path, as benches/report.rs):
//! `../shared/bench/sqlite_ceiling_rust/main.rs`'s `ceiling()`. One
//! invitation-shaped table with a unique (org, email) index and a
//! secret-hash index, WAL + `synchronous=NORMAL`, 100 rows per
//! transaction, rows made before the clock starts; rows per second.
#![allow(dead_code)]

use std::path::Path;
use std::time::Instant;

/// Rows per second of the ceiling, on a fresh file `ceiling.sqlite3` in
/// `dir` (removed before and after).
pub fn ceiling(dir: &Path, n: usize) -> f64 {
    let path = dir.join("ceiling.sqlite3");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("ceiling.sqlite3{suffix}")));
    }
    let mut conn = rusqlite::Connection::open(&path).expect("open the ceiling file");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;
        CREATE TABLE invitation (id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, email TEXT NOT NULL,
          email_norm TEXT NOT NULL, secret_hash BLOB NOT NULL, role TEXT NOT NULL, status TEXT NOT NULL,
          created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, inviter INTEGER NOT NULL);
        CREATE UNIQUE INDEX invitation_org_email ON invitation (org_id, email_norm);
        CREATE INDEX invitation_secret ON invitation (secret_hash);",
    )
    .expect("ceiling schema");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let rows: Vec<(String, String, Vec<u8>)> = (0..n)
        .map(|i| {
            let e = format!("User{i}@Example.com");
            let h: Vec<u8> = (0..32)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            (e.clone(), e.to_lowercase(), h)
        })
        .collect();
    let t = Instant::now();
    for chunk in rows.chunks(100) {
        let tx = conn.transaction().expect("ceiling tx");
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO invitation (org_id, email, email_norm, secret_hash, role, status, created_at, expires_at, inviter) VALUES (1,?1,?2,?3,'member','pending',1,2,1)",
                )
                .expect("prepare");
            for (e, en, h) in chunk {
                st.execute(rusqlite::params![e, en, h]).expect("insert");
            }
        }
        tx.commit().expect("ceiling commit");
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("ceiling.sqlite3{suffix}")));
    }
    rate
}

/// The median of `times` runs of [`ceiling`]. One run of 20,000 rows
/// takes about 0.15 s, and on a shared machine back-to-back runs spread
/// from 96,000 to 147,000 rows/s (15 runs, 2026-12-06): a single run as
/// the denominator of a ratio moved the ratio by a fifth. The median of
/// several holds it still at a cost of well under a second each time.
pub fn ceiling_median(dir: &Path, n: usize, times: usize) -> f64 {
    let mut runs: Vec<f64> = (0..times.max(1)).map(|_| ceiling(dir, n)).collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

/// How many runs of the ceiling each measurement takes the median of.
pub const CEILING_RUNS: usize = 5;

//! Checking the `counts` table against the rows it counts (ADR 0017,
//! counts by the store), and the `due_heads` table against the rows whose
//! earliest due times it keeps (schema version 26):
//! [`SqliteStore::verify_counts`] and [`SqliteStore::repair_counts`].
//!
//! Since schema version 14 the counters are written by the store's own
//! transactions (`SqliteTx`), not by triggers: a row written to
//! `members`, `member_groups` or `invitations` by anything else (the
//! `sqlite3` shell, a script) leaves them wrong until repaired.
//!
//! [`SqliteStore::verify_counts`]: crate::SqliteStore::verify_counts
//! [`SqliteStore::repair_counts`]: crate::SqliteStore::repair_counts

use crate::store_err;
use enlist::{OrgId, StoreResult};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A counter of the store that differs from a recount of the rows it
/// counts ([`SqliteStore::verify_counts`](crate::SqliteStore::verify_counts)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CountMismatch {
    /// The organization.
    pub org_id: OrgId,
    /// Which counter: `member_role` (members per role and status),
    /// `member_license` (per license type and status), `member_group`
    /// (group memberships per group and status) or
    /// `invitation_license` (open invitations per license type and stored
    /// status, staged or pending). Since schema version 23 there is no
    /// `member` total (the sum of `member_role`) and no counter of closed
    /// invitations. Since schema version 26 also `due_head`: an
    /// organization's earliest due time as the store keeps it (`key`
    /// `invitations`, status `pending`: the earliest expiry of its pending
    /// invitations; `key` `outbox`, status `queued`: the earliest next
    /// attempt of its queued messages), `stored` and `actual` in
    /// nanoseconds since 1970 (0: none).
    pub what: String,
    /// The role, license type or group id.
    pub key: String,
    /// The status counted (a member's, or an invitation's as stored).
    pub status: String,
    /// The counter as stored (0 when there is no row).
    pub stored: i64,
    /// The rows there are.
    pub actual: i64,
}

/// Every counter, recounted from the rows.
const RECOUNT: &str = "
    SELECT org_id, 'member_role', role, status, COUNT(*) FROM members
        GROUP BY org_id, role, status
    UNION ALL
    SELECT org_id, 'member_license', license_type, status, COUNT(*) FROM members
        GROUP BY org_id, license_type, status
    UNION ALL
    SELECT org_id, 'member_group', group_id, status, COUNT(*) FROM member_groups
        GROUP BY org_id, group_id, status
    UNION ALL
    SELECT org_id, 'invitation_license', license_type, status, COUNT(*) FROM invitations
        WHERE status = 'staged' OR status = 'pending'
        GROUP BY org_id, license_type, status";

/// Due heads (rows of `kind, org_id, at_s, at_ns` from `$from`) as
/// counters: `what` `due_head`, the time in nanoseconds since 1970.
macro_rules! heads_as_counters {
    ($from:expr) => {
        concat!(
            "SELECT org_id, 'due_head', CASE kind WHEN 0 THEN 'invitations' ELSE 'outbox' END,
                CASE kind WHEN 0 THEN 'pending' ELSE 'queued' END, at_s * 1000000000 + at_ns
             FROM ",
            $from
        )
    };
}

/// Every organization's due heads as stored (migration 0026).
const STORED_HEADS: &str = heads_as_counters!("due_heads");

/// Every organization's due heads recomputed from the rows, as
/// `(kind, org, org_id, at_s, at_ns)`: an `ORDER BY ... LIMIT 1` of each
/// organization's own index, as the store reads a head.
macro_rules! heads_from_rows {
    () => {
        "SELECT 0 AS kind, org, org_id, s AS at_s, ns AS at_ns FROM (
            SELECT k.org, k.org_id,
                (SELECT expires_s FROM invitations i
                    WHERE i.org = k.org AND i.status = 'pending' AND i.expires_s IS NOT NULL
                    ORDER BY expires_s, expires_ns, invitation_id LIMIT 1) AS s,
                (SELECT expires_ns FROM invitations i
                    WHERE i.org = k.org AND i.status = 'pending' AND i.expires_s IS NOT NULL
                    ORDER BY expires_s, expires_ns, invitation_id LIMIT 1) AS ns
            FROM org_keys k) WHERE s IS NOT NULL
        UNION ALL
        SELECT 1, org, org_id, s, ns FROM (
            SELECT k.org, k.org_id,
                (SELECT next_s FROM outbox m WHERE m.org = k.org AND m.status = 'queued'
                    ORDER BY next_s, next_ns, message_id LIMIT 1) AS s,
                (SELECT next_ns FROM outbox m WHERE m.org = k.org AND m.status = 'queued'
                    ORDER BY next_s, next_ns, message_id LIMIT 1) AS ns
            FROM org_keys k) WHERE s IS NOT NULL"
    };
}

/// The same, as counters.
const HEADS: &str = heads_as_counters!(concat!("(", heads_from_rows!(), ")"));

/// Writes the due heads of every organization from its rows (migration
/// 0026, on a table it has just made).
pub(crate) fn fill_due_heads(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(concat!(
        "INSERT INTO due_heads (kind, org, org_id, at_s, at_ns) ",
        heads_from_rows!()
    ))
    .map_err(store_err)
}

/// `(org_id, what, key, status)`.
type Key = (String, String, String, String);

fn read(
    conn: &Connection,
    sql: &str,
    into: &mut BTreeMap<Key, (i64, i64)>,
    stored: bool,
) -> StoreResult<()> {
    let mut stmt = conn.prepare(sql).map_err(store_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?),
                r.get::<_, i64>(4)?,
            ))
        })
        .map_err(store_err)?;
    for row in rows {
        let (key, n) = row.map_err(store_err)?;
        let entry = into.entry(key).or_default();
        if stored {
            entry.0 = n;
        } else {
            entry.1 = n;
        }
    }
    Ok(())
}

/// The counters that differ from a recount, in key order (an absent
/// counter is 0, so a counter row left at 0 is right).
pub(crate) fn mismatches(conn: &Connection) -> StoreResult<Vec<CountMismatch>> {
    let mut all = BTreeMap::new();
    read(
        conn,
        "SELECT org_id, what, key, status, n FROM counts",
        &mut all,
        true,
    )?;
    read(conn, RECOUNT, &mut all, false)?;
    read(conn, STORED_HEADS, &mut all, true)?;
    read(conn, HEADS, &mut all, false)?;
    Ok(all
        .into_iter()
        .filter(|(_, (stored, actual))| stored != actual)
        .map(
            |((org, what, key, status), (stored, actual))| CountMismatch {
                org_id: OrgId::from(org),
                what,
                key,
                status,
                stored,
                actual,
            },
        )
        .collect())
}

/// Sets every counter that differs from a recount to the recount, and
/// every due head that differs to its organization's earliest time.
pub(crate) fn repair(conn: &Connection) -> StoreResult<Vec<CountMismatch>> {
    let wrong = mismatches(conn)?;
    let (heads, wrong_counts): (Vec<&CountMismatch>, Vec<&CountMismatch>) =
        wrong.iter().partition(|m| m.what == "due_head");
    for m in heads {
        let kind = if m.key == "invitations" { 0 } else { 1 };
        if m.actual == 0 {
            conn.prepare_cached(
                "DELETE FROM due_heads WHERE kind = ?1
                 AND org = (SELECT org FROM org_keys WHERE org_id = ?2)",
            )
            .and_then(|mut s| s.execute(params![kind, m.org_id.as_str()]))
            .map_err(store_err)?;
        } else {
            conn.prepare_cached(
                "INSERT INTO due_heads (kind, org, org_id, at_s, at_ns)
                 SELECT ?1, org, org_id, ?3, ?4 FROM org_keys WHERE org_id = ?2
                 ON CONFLICT (kind, org) DO UPDATE SET at_s = excluded.at_s,
                    at_ns = excluded.at_ns",
            )
            .and_then(|mut s| {
                s.execute(params![
                    kind,
                    m.org_id.as_str(),
                    m.actual.div_euclid(1_000_000_000),
                    m.actual.rem_euclid(1_000_000_000)
                ])
            })
            .map_err(store_err)?;
        }
    }
    let mut stmt = conn
        .prepare(
            "INSERT INTO counts (org_id, what, key, status, n) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = excluded.n",
        )
        .map_err(store_err)?;
    for m in wrong_counts {
        stmt.execute(params![
            m.org_id.as_str(),
            m.what,
            m.key,
            m.status,
            m.actual
        ])
        .map_err(store_err)?;
    }
    Ok(wrong)
}

//! Checking the `counts` table against the rows it counts (ADR 0017,
//! counts by the store): [`SqliteStore::verify_counts`] and
//! [`SqliteStore::repair_counts`].
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
    /// invitations.
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

/// Sets every counter that differs from a recount to the recount.
pub(crate) fn repair(conn: &Connection) -> StoreResult<Vec<CountMismatch>> {
    let wrong = mismatches(conn)?;
    let mut stmt = conn
        .prepare(
            "INSERT INTO counts (org_id, what, key, status, n) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = excluded.n",
        )
        .map_err(store_err)?;
    for m in &wrong {
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

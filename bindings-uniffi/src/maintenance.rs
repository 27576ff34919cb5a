//! Store maintenance that is not an engine command: the SQLite store's
//! counters checked and repaired (ADR 0017).

use crate::error::EnlistError;

/// A counter of a SQLite file that differs from a recount of the rows it
/// counts ([`sqlite_verify_counts`]).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SqliteCountMismatch {
    /// The organization.
    pub org_id: enlist::OrgId,
    /// Which counter: `member_role`, `member_license`, `member_group`,
    /// `invitation_license` (open invitations only), or `due_head` (an
    /// organization's earliest due time, `key` `invitations` or `outbox`,
    /// `stored` and `actual` in nanoseconds since 1970, 0 for none).
    pub what: String,
    /// The role, license type or group id.
    pub key: String,
    /// The status counted.
    pub status: String,
    /// The counter as stored.
    pub stored: i64,
    /// The rows there are.
    pub actual: i64,
}

impl From<enlist_sqlite::CountMismatch> for SqliteCountMismatch {
    fn from(m: enlist_sqlite::CountMismatch) -> Self {
        Self {
            org_id: m.org_id,
            what: m.what,
            key: m.key,
            status: m.status,
            stored: m.stored,
            actual: m.actual,
        }
    }
}

/// Recounts the members, group memberships and invitations of the SQLite
/// file at `path` (opened, and migrated, as `Enlist.openSqlite` does) and
/// returns the counters that differ: none when right. The store keeps
/// these counters in its own transactions; rows written without enlist
/// leave them wrong. Reads the whole file: a maintenance check, not one to
/// run per request.
#[uniffi::export]
pub fn sqlite_verify_counts(path: String) -> Result<Vec<SqliteCountMismatch>, EnlistError> {
    let store = enlist_sqlite::SqliteStore::open(&path)?;
    Ok(store.verify_counts()?.into_iter().map(Into::into).collect())
}

/// Sets every counter [`sqlite_verify_counts`] finds wrong to the recount,
/// in one write transaction, and returns what it changed.
#[uniffi::export]
pub fn sqlite_repair_counts(path: String) -> Result<Vec<SqliteCountMismatch>, EnlistError> {
    let store = enlist_sqlite::SqliteStore::open(&path)?;
    Ok(store.repair_counts()?.into_iter().map(Into::into).collect())
}

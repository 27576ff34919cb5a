//! Store maintenance that is not an engine command: the SQLite store's
//! counters checked and repaired (ADR 0017).

use crate::errors::OrRaise;
use crate::types::{record, wrap};
use pyo3::prelude::*;

record! {
    /// A counter of a SQLite file that differs from a recount of the rows
    /// it counts (`sqlite_verify_counts`).
    "SqliteCountMismatch" PySqliteCountMismatch(enlist_sqlite::CountMismatch) repr("org_id", "what", "key", "status", "stored", "actual") {
        /// The organization.
        org_id(v, py) -> &str { v.org_id.as_str() }
        /// Which counter: `member_role`, `member_license`, `member_group`,
        /// `invitation_license`, or `due_head` (an organization's earliest
        /// due time, `key` `invitations` or `outbox`, `stored` and
        /// `actual` in nanoseconds since 1970, 0 for none).
        what(v, py) -> &str { &v.what }
        /// The role, license type or group id (`invitations` or `outbox`
        /// for `due_head`).
        key(v, py) -> &str { &v.key }
        /// The status counted.
        status(v, py) -> &str { &v.status }
        /// The counter as stored.
        stored(v, py) -> i64 { v.stored }
        /// The rows there are.
        actual(v, py) -> i64 { v.actual }
    }
}

/// Opens the file at `path` (migrating it, as `Enlist.sqlite` does) and
/// runs `f` on it without the GIL.
fn with_sqlite<T: Send>(
    py: Python<'_>,
    path: std::path::PathBuf,
    f: impl FnOnce(&enlist_sqlite::SqliteStore) -> enlist::StoreResult<T> + Send,
) -> PyResult<T> {
    py.detach(|| enlist_sqlite::SqliteStore::open(&path).and_then(|s| f(&s)))
        .map_err(enlist::Error::from)
        .or_raise(py)
}

/// Recounts the members, group memberships and invitations of the SQLite
/// file at `path` and returns the counters that differ (none when right).
/// The store keeps these counters in its own transactions: rows written
/// without enlist (the `sqlite3` shell) leave them wrong. Reads the whole
/// file: a maintenance check, not one to run per request.
#[pyfunction]
pub(crate) fn sqlite_verify_counts(
    py: Python<'_>,
    path: std::path::PathBuf,
) -> PyResult<Vec<PySqliteCountMismatch>> {
    let found = with_sqlite(py, path, enlist_sqlite::SqliteStore::verify_counts)?;
    Ok(wrap(&found))
}

/// Sets every counter `sqlite_verify_counts` finds wrong to the recount,
/// in one write transaction, and returns what it changed.
#[pyfunction]
pub(crate) fn sqlite_repair_counts(
    py: Python<'_>,
    path: std::path::PathBuf,
) -> PyResult<Vec<PySqliteCountMismatch>> {
    let repaired = with_sqlite(py, path, enlist_sqlite::SqliteStore::repair_counts)?;
    Ok(wrap(&repaired))
}

/// Adds the classes and functions of this module.
pub(crate) fn add(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySqliteCountMismatch>()?;
    m.add_function(wrap_pyfunction!(sqlite_verify_counts, m)?)?;
    m.add_function(wrap_pyfunction!(sqlite_repair_counts, m)?)?;
    Ok(())
}

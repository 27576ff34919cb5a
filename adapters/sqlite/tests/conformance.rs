//! The store conformance suite of core (`enlist::testing`) on SQLite: every
//! engine operation compared with MemoryStore, the `Transaction` contract,
//! faults and races between threads, on a fresh file per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use enlist::{Store, StoreResult, Transaction};
use enlist_sqlite::SqliteStore;
use std::sync::Arc;

/// A SQLite store for one scenario (in a file of its own temporary
/// directory, deleted with it, or in memory). When the scenario is done
/// with it, the counters the store kept must equal a recount of the rows
/// (`verify_counts`, ADR 0017): a wrong change to a counter fails the
/// scenario that made it.
struct Checked {
    store: SqliteStore,
    _dir: Option<tempfile::TempDir>,
}

impl Store for Checked {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        self.store.begin()
    }

    fn begin_read(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        self.store.begin_read()
    }
}

impl Drop for Checked {
    fn drop(&mut self) {
        // A scenario that failed already says why.
        if std::thread::panicking() {
            return;
        }
        let wrong = self.store.verify_counts().expect("verify_counts");
        assert!(
            wrong.is_empty(),
            "the store's counters differ from a recount of its rows: {wrong:#?}"
        );
    }
}

/// A fresh SQLite store in a temporary file.
fn sqlite_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("enlist.db")).expect("open SQLite");
    Arc::new(Checked {
        store,
        _dir: Some(dir),
    })
}

enlist::store_conformance!(sqlite, sqlite_store);

/// The same on a store in memory (`open_in_memory`), which has no WAL and
/// no file.
fn sqlite_in_memory() -> Arc<dyn Store> {
    Arc::new(Checked {
        store: SqliteStore::open_in_memory().expect("open SQLite in memory"),
        _dir: None,
    })
}

enlist::store_conformance!(sqlite_in_memory_db, sqlite_in_memory);

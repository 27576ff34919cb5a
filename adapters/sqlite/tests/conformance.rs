//! The store conformance suite of core (`enlist::testing`) on SQLite: every
//! engine operation compared with MemoryStore, the `Transaction` contract,
//! faults and races between threads, on a fresh file per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use enlist::{Store, StoreResult, Transaction};
use enlist_sqlite::SqliteStore;
use std::sync::Arc;

/// A SQLite store in a file of its own temporary directory, deleted with it.
struct TempSqlite {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl Store for TempSqlite {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        self.store.begin()
    }

    fn begin_read(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        self.store.begin_read()
    }
}

/// A fresh SQLite store in a temporary file.
fn sqlite_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("enlist.db")).expect("open SQLite");
    Arc::new(TempSqlite { store, _dir: dir })
}

enlist::store_conformance!(sqlite, sqlite_store);

/// The same on a store in memory (`open_in_memory`), which has no WAL and
/// no file.
fn sqlite_in_memory() -> Arc<dyn Store> {
    Arc::new(SqliteStore::open_in_memory().expect("open SQLite in memory"))
}

enlist::store_conformance!(sqlite_in_memory_db, sqlite_in_memory);

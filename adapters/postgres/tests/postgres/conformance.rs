//! The store conformance suite of core (`enlist::testing`) on PostgreSQL:
//! every engine operation compared with MemoryStore, the `Transaction`
//! contract, faults and races between threads, each test in a schema of its
//! own (dropped at the end). Skipped, with the reason printed, when
//! `ENLIST_TEST_POSTGRES_URL` is not set.

use crate::common::{Fresh, url};
use enlist::{Store, StoreResult, Transaction};
use std::sync::Arc;

/// A store in a fresh schema, which is dropped with the store.
struct InSchema(Fresh);

impl Store for InSchema {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        self.0.store.begin()
    }
}

fn postgres_ready() -> bool {
    url().is_some()
}

fn postgres_store() -> Arc<dyn Store> {
    Arc::new(InSchema(Fresh::new().expect("checked by postgres_ready")))
}

enlist::store_conformance!(postgres, postgres_store, requires = postgres_ready);

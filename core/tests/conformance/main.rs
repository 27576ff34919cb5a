//! The store conformance suite (`enlist::testing`) on MemoryStore, the
//! reference every other store is compared with; on a store written the way
//! a third party would write one ([`own_store`], the example of the book's
//! "Write your own store" chapter); and on broken stores, which it must
//! fail ([`mutants`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod mutants;
mod own_store;

use enlist::{MemoryStore, Store};
use std::sync::Arc;

enlist::store_conformance!(memory, || Arc::new(MemoryStore::new()) as Arc<dyn Store>);

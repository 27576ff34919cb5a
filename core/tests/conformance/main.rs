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

/// The book's "Write your own store" chapter shows `own_store.rs` by
/// including its marked parts: the marks and the includes must agree, and
/// the number of tests the chapter shows is the suite's.
#[test]
fn the_book_shows_the_example_store_as_it_is() {
    let page = include_str!("../../../docs/src/write-your-own-store.md");
    let file = include_str!("own_store.rs");
    for part in ["store", "suite"] {
        let include = format!("{{{{#include ../../core/tests/conformance/own_store.rs:{part}}}}}");
        assert!(page.contains(&include), "the chapter includes {part}");
        assert!(
            file.contains(&format!("// ANCHOR: {part}\n"))
                && file.contains(&format!("// ANCHOR_END: {part}\n")),
            "own_store.rs marks {part}"
        );
    }
    let macro_src = include_str!("../../src/testing/mod.rs");
    let tests =
        macro_src.matches(" => same_as_memory ").count() + macro_src.matches(" => direct ").count();
    assert!(
        page.contains(&format!("running {tests} tests"))
            && page.contains(&format!("runs {tests} tests named"))
            && page.contains(&format!("test result: ok. {tests} passed")),
        "the chapter says the suite has {tests} tests"
    );
}

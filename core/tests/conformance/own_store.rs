//! A store written the way a third party would write one, outside the
//! crate and against the public API only: `CountingStore` wraps another
//! store and counts the transactions begun and committed through it (the
//! kind of instrumentation a host adds for its metrics). It passes the
//! conformance suite like any other store. The book's "Write your own
//! store" chapter shows this file.

// ANCHOR: store
use enlist::{ForwardingTx, Store, StoreResult, Transaction, TxHooks};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts of what went through a [`CountingStore`].
#[derive(Debug, Default)]
pub struct Counts {
    /// Transactions begun.
    pub begun: AtomicU64,
    /// Transactions committed (the others were dropped: rolled back).
    pub committed: AtomicU64,
}

/// A store that counts the transactions of the store it wraps.
pub struct CountingStore<S> {
    inner: S,
    counts: Arc<Counts>,
}

impl<S: Store> CountingStore<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            counts: Arc::default(),
        }
    }

    /// The counts so far (shared: they keep counting).
    pub fn counts(&self) -> Arc<Counts> {
        self.counts.clone()
    }
}

impl<S: Store> Store for CountingStore<S> {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        let inner = self.inner.begin()?;
        self.counts.begun.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(ForwardingTx::new(
            inner,
            CountCommit(&self.counts),
        )))
    }
}

/// What a transaction of the wrapped store does besides forwarding: counts
/// its commit. Every other call, and the rollback of a transaction dropped
/// without commit, is the wrapped store's (the defaults of `TxHooks`).
struct CountCommit<'a>(&'a Counts);

impl TxHooks for CountCommit<'_> {
    fn commit(&mut self, inner: Box<dyn Transaction + '_>) -> StoreResult<()> {
        inner.commit()?;
        self.0.committed.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
// ANCHOR_END: store

// ANCHOR: suite
// The whole conformance suite, on a fresh CountingStore per test.
enlist::store_conformance!(counting_store, || {
    Arc::new(CountingStore::new(enlist::MemoryStore::new())) as Arc<dyn Store>
});
// ANCHOR_END: suite

/// The instrumentation itself: a command is one committed transaction; a
/// transaction dropped without commit is counted as begun only.
#[test]
fn counts_transactions_and_commits() {
    let store = Arc::new(CountingStore::new(enlist::MemoryStore::new()));
    let counts = store.counts();
    let engine = enlist::Enlist::new(store.clone());
    engine
        .create_organization(enlist::NewOrganization::new(
            "Acme",
            "acct-owner",
            "owner@acme.test",
        ))
        .expect("create the organization");
    assert_eq!(counts.begun.load(Ordering::Relaxed), 1);
    assert_eq!(counts.committed.load(Ordering::Relaxed), 1);
    drop(store.begin().expect("begin"));
    assert_eq!(counts.begun.load(Ordering::Relaxed), 2);
    assert_eq!(counts.committed.load(Ordering::Relaxed), 1);
}

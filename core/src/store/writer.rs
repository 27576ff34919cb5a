//! The one-writer lock, for store authors: see [`WriterLock`].

use super::StoreResult;
use crate::error::StoreError;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

/// The one-writer lock, for store authors: a store whose transactions run
/// one at a time holds its state (a map, a connection) in a `WriterLock`,
/// and each transaction holds the [`WriterGuard`] until it ends.
///
/// What it adds to a plain mutex: a thread that begins a second transaction
/// while its first is still open gets [`StoreError::Unavailable`] at once,
/// instead of waiting forever on a lock it holds itself; and a lock poisoned
/// by a panic is taken anyway, because a transaction rolls back in its
/// `Drop` while unwinding, before its guard is released, so what the lock
/// protects is consistent. (A store whose rollback can fail must leave its
/// state so that the next transaction can clean up, as enlist-sqlite's
/// does by rolling back an open SQL transaction first.)
#[derive(Default)]
pub struct WriterLock<T> {
    value: Mutex<T>,
    /// The thread holding the guard, to refuse a nested `lock`.
    owner: Mutex<Option<ThreadId>>,
}

impl<T> WriterLock<T> {
    /// A lock around `value`.
    pub fn new(value: T) -> Self {
        Self {
            value: Mutex::new(value),
            owner: Mutex::new(None),
        }
    }

    /// Waits for the value, for a transaction. Refuses with
    /// [`StoreError::Unavailable`] (naming `store`, such as
    /// `"SqliteStore"`) when this thread already holds it: a nested
    /// `begin` would deadlock.
    pub fn lock(&self, store: &str) -> StoreResult<WriterGuard<'_, T>> {
        let me = std::thread::current().id();
        if *self.owner.lock().unwrap_or_else(PoisonError::into_inner) == Some(me) {
            return Err(StoreError::Unavailable(format!(
                "this thread already has an open transaction on this {store}; \
                 commit or drop it before beginning another (a nested begin would deadlock)"
            )));
        }
        let value = self.value.lock().unwrap_or_else(PoisonError::into_inner);
        *self.owner.lock().unwrap_or_else(PoisonError::into_inner) = Some(me);
        Ok(WriterGuard {
            value,
            owner: &self.owner,
        })
    }

    /// Whether a thread panicked while holding the guard (the lock is
    /// taken anyway, see [`WriterLock`]).
    pub fn is_poisoned(&self) -> bool {
        self.value.is_poisoned()
    }
}

impl<T> fmt::Debug for WriterLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never lock here: the caller may hold the guard.
        f.debug_struct("WriterLock").finish_non_exhaustive()
    }
}

/// The value of a [`WriterLock`], held by one transaction. Dropping it
/// forgets the owning thread, then releases the value.
pub struct WriterGuard<'a, T> {
    value: MutexGuard<'a, T>,
    owner: &'a Mutex<Option<ThreadId>>,
}

impl<T> Drop for WriterGuard<'_, T> {
    fn drop(&mut self) {
        // Before the value is released (when the fields are dropped), so
        // that the next holder's thread is never overwritten.
        *self.owner.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

impl<T> Deref for WriterGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for WriterGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T> fmt::Debug for WriterGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterGuard").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_nested_lock_on_one_thread_is_refused_not_a_deadlock() {
        let lock = WriterLock::new(0u32);
        let mut guard = lock.lock("TestStore").unwrap_or_else(|e| panic!("{e}"));
        *guard += 1;
        match lock.lock("TestStore") {
            Err(StoreError::Unavailable(m)) => assert!(m.contains("TestStore"), "{m}"),
            other => panic!("a nested lock was not refused: {other:?}"),
        }
        drop(guard);
        let again = lock.lock("TestStore").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(*again, 1);
    }

    #[test]
    fn other_threads_wait_their_turn() {
        let lock = Arc::new(WriterLock::new(Vec::new()));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for j in 0..50 {
                        let mut g = lock.lock("TestStore").unwrap_or_else(|e| panic!("{e}"));
                        g.push(i * 100 + j);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap_or_else(|_| panic!("a thread panicked"));
        }
        assert_eq!(lock.lock("TestStore").map(|g| g.len()).ok(), Some(200));
    }

    #[test]
    fn a_panic_while_holding_it_leaves_it_usable() {
        let lock = Arc::new(WriterLock::new(5u32));
        let l = lock.clone();
        let r = std::thread::spawn(move || {
            let _g = l.lock("TestStore").unwrap_or_else(|e| panic!("{e}"));
            panic!("inside a transaction");
        })
        .join();
        assert!(r.is_err());
        assert!(lock.is_poisoned());
        assert_eq!(lock.lock("TestStore").map(|g| *g).ok(), Some(5));
    }
}

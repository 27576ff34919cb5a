//! [`AsyncEnlist`]: the engine for hosts on tokio (feature `tokio`).
//!
//! Every command of [`Enlist`] is synchronous: it opens one store
//! transaction, reads and writes through the store's blocking driver
//! (rusqlite, the `postgres` client) and commits. Called straight from an
//! `async fn`, it would hold a runtime worker for the whole transaction,
//! and every other task on that worker would wait. [`AsyncEnlist::run`]
//! moves the command to tokio's blocking pool
//! ([`tokio::task::spawn_blocking`]) and awaits it, so the runtime keeps
//! serving while the store works.
//!
//! Why the blocking pool rather than an async store: a command's
//! transaction is many small reads and writes, decided one after the
//! other by the engine's rules; an async store trait would make every one
//! of them a future and the engine a second, async copy of itself (about a
//! hundred commands to keep in step), for drivers that block anyway
//! (SQLite has no async I/O; the `postgres` client runs its own runtime
//! inside, and refuses to be driven from an async task, while a blocking
//! pool thread is allowed to). One closure-taking method covers every
//! command, present and future: nothing to forget when a command is added.

use super::Enlist;
use crate::error::{Error, Result, StoreError};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The engine for async code on tokio: each command runs on tokio's
/// blocking pool and is awaited, so an `async fn` never blocks the
/// runtime while a store transaction works.
///
/// Any command of [`Enlist`] is one closure away, with the same
/// arguments, result and errors:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> enlist::Result<()> {
/// use enlist::{Actor, AsyncEnlist, Enlist, InviteRequest, NewOrganization, Recipients};
/// let engine = AsyncEnlist::new(Enlist::in_memory());
/// let created = engine
///     .run(|e| e.create_organization(NewOrganization::new("Acme", "acct-ada", "ada@acme.test")))
///     .await?;
/// let (org, owner) = (created.organization.id, Actor::Member(created.owner.id));
/// let report = engine
///     .run(move |e| e.invite(&org, &owner, InviteRequest::new(Recipients::Paste("bob@acme.test".into()))))
///     .await?;
/// assert_eq!(report.issued.len(), 1);
/// # Ok(())
/// # }
/// ```
///
/// Cheap to clone (the engine and the bound are shared); clone it into
/// each request handler. A command whose future is dropped after it
/// started still runs to its end on the blocking pool: it commits or
/// rolls back as a whole, as every command does, and its result is
/// dropped. Dropped while waiting for a slot
/// ([`with_max_concurrent`](Self::with_max_concurrent)), it never starts.
#[derive(Clone, Debug)]
pub struct AsyncEnlist {
    engine: Enlist,
    slots: Option<Arc<Semaphore>>,
}

impl From<Enlist> for AsyncEnlist {
    fn from(engine: Enlist) -> Self {
        Self::new(engine)
    }
}

/// At most this many commands in flight for
/// [`AsyncEnlist::with_max_concurrent`] (tokio's blocking pool has 512
/// threads by default).
pub const MAX_CONCURRENT_COMMANDS: usize = 512;

impl AsyncEnlist {
    /// The async facade of `engine` (built and configured as usual: store,
    /// clock, keys, settings), with no bound of its own on the commands in
    /// flight beyond the blocking pool's threads.
    pub fn new(engine: Enlist) -> Self {
        Self {
            engine,
            slots: None,
        }
    }

    /// At most `max` commands of this facade (and its clones) run at once;
    /// further callers wait, without holding a thread, for one to finish.
    /// A bound in line with the store's connections keeps a burst of
    /// requests from parking hundreds of threads on the store's lock.
    /// Refused: 0, or more than [`MAX_CONCURRENT_COMMANDS`].
    pub fn with_max_concurrent(mut self, max: usize) -> Result<Self> {
        if max == 0 || max > MAX_CONCURRENT_COMMANDS {
            return Err(Error::invalid(
                "max_concurrent",
                format!("must be between 1 and {MAX_CONCURRENT_COMMANDS}"),
            ));
        }
        self.slots = Some(Arc::new(Semaphore::new(max)));
        Ok(self)
    }

    /// The synchronous engine behind the facade, for what needs no store
    /// (its clock, its settings) or for code already off the runtime.
    pub fn engine(&self) -> &Enlist {
        &self.engine
    }

    /// Runs `command` with the engine on tokio's blocking pool and returns
    /// what it returns: any [`Enlist`] command, or several in a row (each
    /// still its own transaction).
    ///
    /// Must be awaited inside a tokio runtime (it panics otherwise, as
    /// [`tokio::task::spawn_blocking`] does). A panic in `command` is
    /// resumed in the caller, as if the command had been called directly.
    /// When the runtime shuts down before the command could start, the
    /// result is [`Error::Store`] with [`StoreError::Unavailable`] and
    /// nothing ran.
    pub async fn run<T, F>(&self, command: F) -> Result<T>
    where
        F: FnOnce(&Enlist) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let permit = match &self.slots {
            Some(slots) => match Arc::clone(slots).acquire_owned().await {
                Ok(permit) => Some(permit),
                Err(_) => return Err(not_started()),
            },
            None => None,
        };
        let engine = self.engine.clone();
        let task = tokio::task::spawn_blocking(move || {
            let result = command(&engine);
            drop(permit);
            result
        });
        match task.await {
            Ok(result) => result,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(not_started()),
            },
        }
    }
}

/// The runtime is shutting down: the command was not run.
fn not_started() -> Error {
    Error::Store(StoreError::Unavailable(
        "the async runtime is shutting down; the command did not run".into(),
    ))
}

//! Checkpoints off the writer's path.
//!
//! In WAL mode a commit appends the pages it changed to the `-wal` file,
//! and a *checkpoint* copies them back into the database file and syncs
//! both files. SQLite's default (`wal_autocheckpoint`) runs the checkpoint
//! inside the commit that takes the WAL past its threshold: one command in
//! every few dozen pays for copying everyone's pages and for two `fsync`s,
//! which on a disk is tens of milliseconds in the middle of someone's
//! request (and a quarter of the time of issuing invitations in batches:
//! `docs/src/performance.md`).
//!
//! A file store instead gives checkpoints to a thread of its own, with its
//! own connection: the write connection's WAL hook (called after each
//! commit with the number of frames in the WAL) wakes it once the WAL holds
//! [`WAKE_PAGES`], and it runs a `PASSIVE` checkpoint, which copies what no
//! reader still needs without waiting for or blocking anyone. The writer
//! goes on committing meanwhile.
//!
//! Two limits keep SQLite's own guarantee, a WAL of bounded size:
//!
//! - The WAL restarts from its beginning only when a write transaction
//!   starts with every frame copied. A checkpoint running beside a writer
//!   that never pauses is always a little behind, so once the WAL holds
//!   [`WRITER_PAGES`] the writer runs the `PASSIVE` checkpoint itself after
//!   its commit, as SQLite's default would (copying only what the thread
//!   has not copied yet); the next transaction then restarts the WAL.
//! - If the thread cannot be started, or its connection cannot be opened,
//!   the writer checkpoints from [`WAKE_PAGES`] on, which is SQLite's
//!   default behaviour.
//!
//! The thread is started at the first wake (most stores opened by tests
//! never reach it) and stopped and joined when the store is dropped.

use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Frames in the WAL from which a commit wakes the checkpoint thread, and
/// again at every as many more (about 8 MB of WAL; SQLite's own default is
/// 1,000). Each checkpoint syncs both files, and on a disk those syncs slow
/// the writer's own writes while they run: fewer, larger checkpoints
/// measured better than SQLite's default here.
pub(crate) const WAKE_PAGES: u32 = 2_000;

/// Frames in the WAL from which the writer checkpoints after its commit
/// itself, whatever the thread is doing (about 40 MB of WAL).
pub(crate) const WRITER_PAGES: u32 = 10_000;

/// The checkpoint thread of one file store: started when first needed,
/// stopped and joined when dropped.
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
}

/// What the write connection's hook and the thread share.
struct Shared {
    path: PathBuf,
    wake_pages: u32,
    writer_pages: u32,
    state: Mutex<State>,
    /// Signalled when a checkpoint is wanted or the thread must stop.
    wake: Condvar,
    /// Checkpoints the thread ran (for tests and the store's figures).
    by_thread: AtomicU64,
    /// Checkpoints the writer ran after its own commit.
    by_writer: AtomicU64,
    /// Wakes asked of the thread.
    wakes: AtomicU64,
}

#[derive(Default)]
struct State {
    /// A checkpoint is wanted (set by a commit, cleared by the thread).
    wanted: bool,
    /// The store is being dropped.
    stop: bool,
    /// The WAL's frames at the last wake: the next is at `WAKE_PAGES`
    /// more (or after the WAL restarted), not at every commit.
    asked_at: u32,
    /// The thread could not start or open its connection: the writer
    /// checkpoints itself.
    failed: bool,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// The checkpoint thread of the file at `path` (not started yet): woken
    /// from `wake_pages` frames in the WAL, with the writer checkpointing
    /// itself from `writer_pages` ([`WAKE_PAGES`], [`WRITER_PAGES`]).
    pub(crate) fn with_limits(path: PathBuf, wake_pages: u32, writer_pages: u32) -> Self {
        Checkpointer {
            shared: Arc::new(Shared {
                path,
                wake_pages,
                writer_pages,
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
                by_thread: AtomicU64::new(0),
                by_writer: AtomicU64::new(0),
                wakes: AtomicU64::new(0),
            }),
        }
    }

    /// Puts the hook on `conn` (the store's write connection). It replaces
    /// SQLite's autocheckpoint, which is the same hook.
    pub(crate) fn hook(&self, conn: &mut Connection) -> rusqlite::Result<()> {
        let shared = Arc::clone(&self.shared);
        conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages: i32| {
            let pages = u32::try_from(pages).unwrap_or(0);
            if pages >= shared.writer_pages
                || (pages >= shared.wake_pages && !shared.request(pages))
            {
                shared.by_writer.fetch_add(1, Ordering::Relaxed);
                // As SQLite's own hook: a checkpoint that cannot run now
                // (SQLITE_BUSY: the thread is in the middle of one) is
                // tried again after the next commit; the commit stands.
                let _ = wal.checkpoint();
            }
            Ok(())
        }))
    }

    /// `(by the thread, by the writer)`: the checkpoints run so far.
    #[cfg(test)]
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.shared.by_thread.load(Ordering::Relaxed),
            self.shared.by_writer.load(Ordering::Relaxed),
        )
    }

    /// The wakes asked of the thread so far.
    #[cfg(test)]
    pub(crate) fn wakes(&self) -> u64 {
        self.shared.wakes.load(Ordering::Relaxed)
    }
}

impl Shared {
    /// Asks the thread for a checkpoint, starting it if needed. `false`
    /// when there is no thread to ask.
    fn request(self: &Arc<Self>, pages: u32) -> bool {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.failed || state.stop {
            return false;
        }
        if pages >= state.asked_at && pages < state.asked_at.saturating_add(self.wake_pages) {
            // Asked already for this stretch of the WAL.
            return true;
        }
        state.asked_at = pages;
        if state.thread.is_none() {
            let shared = Arc::clone(self);
            match std::thread::Builder::new()
                .name("enlist-sqlite-checkpoint".into())
                .spawn(move || shared.run())
            {
                Ok(handle) => state.thread = Some(handle),
                Err(_) => {
                    state.failed = true;
                    return false;
                }
            }
        }
        state.wanted = true;
        drop(state);
        self.wakes.fetch_add(1, Ordering::Relaxed);
        self.wake.notify_one();
        true
    }

    /// The thread: a connection of its own, then one `PASSIVE` checkpoint
    /// per wake until the store stops it.
    fn run(&self) {
        let conn = match self.open() {
            Ok(conn) => conn,
            Err(_) => {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                state.failed = true;
                return;
            }
        };
        loop {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            while !state.wanted && !state.stop {
                state = self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.stop {
                return;
            }
            state.wanted = false;
            drop(state);
            // SQLITE_BUSY (another process's checkpoint) or an I/O error:
            // the next wake tries again, and the writer's limit stands.
            let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            self.by_thread.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        // The thread never writes rows; a checkpoint it cannot take now is
        // left to the next wake rather than waited for.
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;")?;
        Ok(conn)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let mut state = self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.stop = true;
        let thread = state.thread.take();
        drop(state);
        self.shared.wake.notify_all();
        if let Some(thread) = thread {
            // The thread only checkpoints; a panic there has nothing to
            // report to whoever drops the store.
            let _ = thread.join();
        }
    }
}

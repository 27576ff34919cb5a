#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod checkpoint;
mod checks;
mod codec;
mod counts;
mod orgs;
mod people;
mod tx;
mod vfs;

pub use counts::CountMismatch;

use enlist::store::{WriterGuard, WriterLock};
use enlist::{Store, StoreError, StoreResult, Transaction, UniqueRule};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior, ffi};
use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// The migrations, in order: `(version, name, SQL)`. Version `n` is the
/// file `migrations/000n_*.sql`; a store at version `v` applies every
/// migration above `v`, in one transaction.
const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "0001_initial",
        include_str!("../migrations/0001_initial.sql"),
    ),
    (
        2,
        "0002_email_templates",
        include_str!("../migrations/0002_email_templates.sql"),
    ),
    (
        3,
        "0003_dead_letters",
        include_str!("../migrations/0003_dead_letters.sql"),
    ),
    (
        4,
        "0004_people",
        include_str!("../migrations/0004_people.sql"),
    ),
    (
        5,
        "0005_batch_reports",
        include_str!("../migrations/0005_batch_reports.sql"),
    ),
    (
        6,
        "0006_settings",
        include_str!("../migrations/0006_settings.sql"),
    ),
    (
        7,
        "0007_hooks",
        include_str!("../migrations/0007_hooks.sql"),
    ),
    (8, "0008_orgs", include_str!("../migrations/0008_orgs.sql")),
    (
        9,
        "0009_invitee",
        include_str!("../migrations/0009_invitee.sql"),
    ),
    (
        10,
        "0010_domains",
        include_str!("../migrations/0010_domains.sql"),
    ),
    (
        11,
        "0011_links",
        include_str!("../migrations/0011_links.sql"),
    ),
    (
        12,
        "0012_scale",
        include_str!("../migrations/0012_scale.sql"),
    ),
    (
        13,
        "0013_writes",
        include_str!("../migrations/0013_writes.sql"),
    ),
    (
        14,
        "0014_counts_by_store",
        include_str!("../migrations/0014_counts_by_store.sql"),
    ),
    (
        15,
        "0015_people_walks",
        include_str!("../migrations/0015_people_walks.sql"),
    ),
    (
        16,
        "0016_invitation_terms",
        include_str!("../migrations/0016_invitation_terms.sql"),
    ),
    (
        17,
        "0017_people_members",
        include_str!("../migrations/0017_people_members.sql"),
    ),
    (
        18,
        "0018_member_accounts",
        include_str!("../migrations/0018_member_accounts.sql"),
    ),
    (
        19,
        "0019_invitation_org_keys",
        include_str!("../migrations/0019_invitation_org_keys.sql"),
    ),
    (
        20,
        "0020_event_outbox_org_keys",
        include_str!("../migrations/0020_event_outbox_org_keys.sql"),
    ),
    (
        21,
        "0021_member_org_keys",
        include_str!("../migrations/0021_member_org_keys.sql"),
    ),
    (
        22,
        "0022_event_feed_floor",
        include_str!("../migrations/0022_event_feed_floor.sql"),
    ),
    (
        23,
        "0023_fewer_counters",
        include_str!("../migrations/0023_fewer_counters.sql"),
    ),
    (
        24,
        "0024_member_key_terms",
        include_str!("../migrations/0024_member_key_terms.sql"),
    ),
    (
        25,
        "0025_outbox_link",
        include_str!("../migrations/0025_outbox_link.sql"),
    ),
    (
        26,
        "0026_due_heads",
        include_str!("../migrations/0026_due_heads.sql"),
    ),
    (
        27,
        "0027_people_by_creation",
        include_str!("../migrations/0027_people_by_creation.sql"),
    ),
];

/// Marks the file as an enlist store (`PRAGMA application_id`, "enls").
const APPLICATION_ID: i32 = 0x656e_6c73;

/// How long a transaction waits for another process's write lock before
/// the store reports [`StoreError::Conflict`] (the engine then retries).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The page cache of the connection, in KiB (`PRAGMA cache_size`; a
/// ceiling, grown only as pages are read).
const CACHE_KIB: i64 = 64 * 1024;

/// Pages the WAL may hold before a commit copies them into the database
/// (`PRAGMA wal_autocheckpoint`; SQLite's default is 1000). Invitations,
/// their emails and their index entries dirty many pages per command; a
/// larger WAL lets a checkpoint write a page once for many commits (35 %
/// more invitations per second in the benchmark). The WAL file grows to
/// about 40 MB between checkpoints.
const WAL_CHECKPOINT_PAGES: u32 = 10_000;

/// Prepared statements kept by the connection: the store uses about 90
/// distinct statements (the list walks are built per status, cursor and
/// direction), so none is prepared twice.
const STATEMENT_CACHE: usize = 128;

/// Read-only connections a file store keeps for [`Store::begin_read`]
/// (opened as needed, up to this many; a read beyond waits for one to be
/// free). Each one reads its own snapshot of the WAL while the write
/// connection commits, so reads scale with the cores instead of queueing
/// behind a batch being issued.
const READERS: usize = 4;

/// A [`Store`] in a SQLite database: a file, or memory.
///
/// Open it once per process and share it (`Arc<SqliteStore>` or
/// `Arc<dyn Store>`) between threads. Several processes may open the same
/// file. See the crate documentation for the layout and the guarantees.
pub struct SqliteStore {
    /// The checkpoint thread of a file in WAL mode (`checkpoint`), held
    /// for its `Drop`, which stops and joins it. First, so dropped first:
    /// the write connection, closed last, then checkpoints what is left and
    /// removes the WAL.
    _checkpoints: Option<checkpoint::Checkpointer>,
    /// The one connection. A transaction holds it from `begin` to commit or
    /// drop: every transaction writes (`BEGIN IMMEDIATE`), so SQLite would
    /// run them one at a time anyway, and waiting here wakes the next one at
    /// once instead of letting SQLite's busy handler poll. Core's
    /// `WriterLock` refuses a nested `begin` on one thread (which would
    /// otherwise deadlock).
    conn: WriterLock<Connection>,
    /// The read-only connections of `begin_read`, for a file in WAL mode
    /// (`None` in memory, where there is one connection, and for a file
    /// left in rollback-journal mode, where a reader would block commits).
    readers: Option<Readers>,
    /// The file, or `None` in memory.
    path: Option<PathBuf>,
    /// Organizations as last decoded, with the text they were decoded
    /// from (`tx::OrgCache`).
    orgs: tx::OrgCache,
}

/// A small pool of read-only connections on the store's file
/// (`PRAGMA query_only`, the store's other pragmas), each one used by one
/// read transaction at a time.
struct Readers {
    path: PathBuf,
    state: Mutex<ReaderState>,
    /// Signalled when a connection is given back.
    freed: Condvar,
}

#[derive(Default)]
struct ReaderState {
    idle: Vec<Connection>,
    /// Connections open, idle or in use.
    open: usize,
}

impl Readers {
    fn new(path: PathBuf) -> Self {
        Readers {
            path,
            state: Mutex::new(ReaderState::default()),
            freed: Condvar::new(),
        }
    }

    /// An idle connection, a new one while fewer than [`READERS`] are
    /// open, or the next one given back.
    fn take(&self) -> StoreResult<ReaderGuard<'_>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(ReaderGuard {
                    conn: Some(conn),
                    pool: self,
                });
            }
            if state.open < READERS {
                state.open += 1;
                drop(state);
                return match self.open_one() {
                    Ok(conn) => Ok(ReaderGuard {
                        conn: Some(conn),
                        pool: self,
                    }),
                    Err(e) => {
                        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                        state.open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn open_one(&self) -> StoreResult<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(|e| {
            StoreError::Unavailable(format!("cannot open {}: {e}", self.path.display()))
        })?;
        configure(&conn, false)?;
        // Refuses every write: a read transaction never changes the file.
        conn.execute_batch("PRAGMA query_only = ON")
            .map_err(store_err)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.idle.push(conn);
        drop(state);
        self.freed.notify_one();
    }
}

/// A reader connection, held by one read transaction; given back to the
/// pool when dropped (after the transaction's rollback).
pub(crate) struct ReaderGuard<'a> {
    conn: Option<Connection>,
    pool: &'a Readers,
}

impl Drop for ReaderGuard<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.give_back(conn);
        }
    }
}

/// The connection a transaction runs on: the write connection (every
/// write transaction, and the reads of a store in memory), or one of the
/// pool's readers.
pub(crate) enum Conn<'a> {
    /// The store's one write connection, held.
    Writer(WriterGuard<'a, Connection>),
    /// A read-only connection of the pool.
    Reader(ReaderGuard<'a>),
}

impl Deref for Conn<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Conn::Writer(c) => c,
            // Some until the guard is dropped.
            Conn::Reader(r) => match &r.conn {
                Some(c) => c,
                None => unreachable!("a reader guard holds its connection until dropped"),
            },
        }
    }
}

impl SqliteStore {
    /// The schema version this library writes. A file with a lower version
    /// is migrated on open; a file with a higher one is refused with
    /// [`StoreError::SchemaTooNew`].
    pub const SCHEMA_VERSION: u32 = 27;

    /// Opens (creating it if missing) the database file at `path` and
    /// brings its schema up to [`SqliteStore::SCHEMA_VERSION`].
    ///
    /// The file is put in WAL mode with `synchronous=NORMAL`: a commit
    /// survives a crash of the process, but not necessarily a power loss
    /// or an operating-system crash (the last transactions may be lost; the
    /// file stays consistent).
    pub fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        let path = path.as_ref();
        Self::init(writer_connection(path)?, Some(path.to_path_buf()))
    }

    /// A fresh store in memory, gone when dropped: for tests and demos.
    pub fn open_in_memory() -> StoreResult<SqliteStore> {
        let conn = Connection::open_in_memory()
            .map_err(|e| StoreError::Unavailable(format!("cannot open a memory database: {e}")))?;
        Self::init(conn, None)
    }

    /// The database file, or `None` for a store in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Recounts the rows behind every counter of the store (members per
    /// status, role and license type, group memberships, invitations per
    /// license type and status) and returns the counters that differ from
    /// the recount; none when the counts are right. Each organization's
    /// due heads (its earliest expiry of a pending invitation and next
    /// attempt of a queued message, schema version 26, which the reads
    /// across organizations start from) are checked the same way
    /// (`what = "due_head"`).
    ///
    /// The store keeps these counters itself, in the transactions that
    /// write the rows (ADR 0017): rows written by anything else, such as
    /// the `sqlite3` shell, leave them wrong, and seat limits, owner
    /// counts, group sizes and member lists then read wrong numbers. This
    /// reads every member, membership and invitation of the file (one
    /// read transaction, holding the store's connection): a maintenance
    /// check, not something to run per command. See
    /// [`SqliteStore::repair_counts`].
    pub fn verify_counts(&self) -> StoreResult<Vec<CountMismatch>> {
        let conn = self.conn.lock("SqliteStore")?;
        let tx = rusqlite::Transaction::new_unchecked(&conn, TransactionBehavior::Deferred)
            .map_err(store_err)?;
        // Dropped, so rolled back: it only read.
        counts::mismatches(&tx)
    }

    /// Sets every counter that [`SqliteStore::verify_counts`] finds wrong
    /// to the recount, in one write transaction, and returns what it
    /// changed (empty when the counts were right), and every due head it
    /// finds wrong to its organization's earliest time (or deletes it). For
    /// a host that wrote `members`, `member_groups`, `invitations` or
    /// `outbox` rows without the store.
    pub fn repair_counts(&self) -> StoreResult<Vec<CountMismatch>> {
        let conn = self.conn.lock("SqliteStore")?;
        let tx = rusqlite::Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)
            .map_err(store_err)?;
        let repaired = counts::repair(&tx)?;
        tx.commit().map_err(store_err)?;
        Ok(repaired)
    }

    fn init(conn: Connection, path: Option<PathBuf>) -> StoreResult<SqliteStore> {
        Self::init_with(conn, path, checkpoint::WAKE_PAGES, checkpoint::WRITER_PAGES)
    }

    /// The checkpoints run so far: `(by the thread, by the writer)`.
    #[cfg(test)]
    fn checkpoint_counts(&self) -> (u64, u64) {
        self._checkpoints.as_ref().map_or((0, 0), |c| c.counts())
    }

    /// The wakes asked of the checkpoint thread so far.
    #[cfg(test)]
    fn checkpoint_wakes(&self) -> u64 {
        self._checkpoints.as_ref().map_or(0, |c| c.wakes())
    }

    /// [`SqliteStore::init`] with the checkpoint limits given (tests).
    fn init_with(
        mut conn: Connection,
        path: Option<PathBuf>,
        wake_pages: u32,
        writer_pages: u32,
    ) -> StoreResult<SqliteStore> {
        configure(&conn, path.is_some())?;
        migrate(&mut conn)?;
        let wal = path.is_some()
            && conn
                .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
                .map_err(store_err)?
                .eq_ignore_ascii_case("wal");
        // After the pragmas: `wal_autocheckpoint` would replace the hook.
        let checkpoints = match &path {
            Some(p) if wal => {
                let checkpoints =
                    checkpoint::Checkpointer::with_limits(p.clone(), wake_pages, writer_pages);
                checkpoints.hook(&mut conn).map_err(store_err)?;
                Some(checkpoints)
            }
            _ => None,
        };
        Ok(SqliteStore {
            conn: WriterLock::new(conn),
            readers: match &path {
                Some(p) if wal => Some(Readers::new(p.clone())),
                _ => None,
            },
            path,
            orgs: tx::OrgCache::default(),
            _checkpoints: checkpoints,
        })
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never lock the connection here: the caller may hold a transaction.
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store for SqliteStore {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        // A panic inside a transaction unwinds through its Drop, which rolls
        // back before the guard is released: the connection behind a
        // poisoned lock is clean (and a failed rollback is redone by the
        // next `begin`).
        let conn = self.conn.lock("SqliteStore")?;
        tx::SqliteTx::begin(Conn::Writer(conn), &self.orgs)
            .map(|t| Box::new(t) as Box<dyn Transaction>)
    }

    fn begin_read(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        // A file in WAL mode: a reader connection of the pool, so the read
        // neither waits for this store's writer nor makes it wait (a
        // deferred transaction reads one snapshot, from its first read to
        // its end). In memory, the one connection is held (transactions on
        // it run one at a time), but not SQLite's write lock.
        let conn = match &self.readers {
            Some(readers) => Conn::Reader(readers.take()?),
            None => Conn::Writer(self.conn.lock("SqliteStore")?),
        };
        tx::SqliteTx::begin_read(conn, &self.orgs).map(|t| Box::new(t) as Box<dyn Transaction>)
    }
}

/// Opens the write connection of the file at `path`: through the VFS that
/// writes a commit's WAL frames in one call (`vfs`, ADR 0021). The
/// readers and the checkpoint thread never write the WAL and open through
/// the default VFS.
fn writer_connection(path: &Path) -> StoreResult<Connection> {
    match vfs::register() {
        Some(name) => Connection::open_with_flags_and_vfs(path, OpenFlags::default(), name),
        None => Connection::open(path),
    }
    .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))
}

/// Sets the connection's pragmas.
fn configure(conn: &Connection, file: bool) -> StoreResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT).map_err(store_err)?;
    if file {
        // Returns the mode in force; a file system without shared memory
        // keeps the rollback journal, which is slower but as safe.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(store_err)?;
    }
    // secure_delete: SQLite overwrites deleted content with zeros instead
    // of leaving it in free space, so a redacted accept link (the outbox
    // keeps the link until delivery) does not survive in the database file.
    // It does not reach the WAL's old frames: a page image written before
    // the redaction stays in the `-wal` file until the WAL restarts after a
    // checkpoint and later frames overwrite it (or a
    // `PRAGMA wal_checkpoint(TRUNCATE)` empties it).
    conn.execute_batch(&format!(
        "PRAGMA secure_delete = ON;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{CACHE_KIB};
         PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES};"
    ))
    .map_err(store_err)?;
    // The query planner stability guarantee: a plan never depends on the
    // values bound to a statement. Without it SQLite marks the statements
    // whose plan could (an ORDER BY served by an index, among others) to be
    // compiled again whenever a parameter is bound, and rusqlite's statement
    // cache clears the bindings of every statement it takes back: the last
    // event's seq was compiled again for every event (11 % more invitations
    // per second without that). The plans do not need bound values: every
    // partial index is chosen by literals written in the SQL, and no
    // statistics are gathered.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(store_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Reads the file's marks: `(application_id, user_version)`.
fn marks(conn: &Connection) -> StoreResult<(i32, u32)> {
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(store_err)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(store_err)?;
    if app != 0 && app != APPLICATION_ID {
        return Err(StoreError::Unavailable(format!(
            "the file belongs to another application (application_id {app:#x}), not to enlist"
        )));
    }
    let version = u32::try_from(version).unwrap_or(u32::MAX);
    if version > SqliteStore::SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: version,
            supported: SqliteStore::SCHEMA_VERSION,
        });
    }
    Ok((app, version))
}

/// Applies the migrations the file lacks, in one transaction. A file
/// already up to date is only read (no write lock is taken).
fn migrate(conn: &mut Connection) -> StoreResult<()> {
    if marks(conn)? == (APPLICATION_ID, SqliteStore::SCHEMA_VERSION) {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(store_err)?;
    // Read again under the write lock: another process may have migrated.
    let (_, found) = marks(&tx)?;
    for (version, name, sql) in MIGRATIONS {
        if *version > found {
            tx.execute_batch(sql)
                .map_err(|e| StoreError::Unavailable(format!("migration {name} failed: {e}")))?;
            if *version == 4 {
                // The people rows of what is already stored (names are
                // case-folded in Rust, which SQL cannot do the same way).
                people::backfill(&tx)?;
            }
            if *version == 8 {
                // A slug for every organization already stored.
                orgs::backfill(&tx)?;
            }
            if *version == 13 {
                // The status checks without temporary b-trees.
                checks::rewrite(&tx, false)?;
            }
            if *version == 15 {
                // The name keys of the invitations of the people view.
                people::fill_invitation_name_keys(&tx)?;
            }
            if *version == 16 {
                // The search terms invitations no longer keep.
                people::drop_invitation_name_terms(&tx)?;
            }
            if *version == 17 {
                // The view's keys of the members already stored.
                people::fill_member_columns(&tx)?;
            }
            if *version == 24 {
                // The search terms members no longer keep.
                people::drop_member_key_terms(&tx)?;
            }
            if *version == 26 {
                // Each organization's earliest due times.
                counts::fill_due_heads(&tx)?;
            }
            // Each organization's number required where it was added.
            let numbered: &[&str] = match *version {
                19 => &["invitations"],
                20 => &["events", "outbox"],
                21 => &["members"],
                _ => &[],
            };
            if !numbered.is_empty() {
                checks::require_org_numbers(&tx, numbered)?;
            }
        }
    }
    tx.pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION)
        .map_err(store_err)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(store_err)?;
    tx.commit().map_err(store_err)
}

/// Maps a driver error to the store's errors: a busy or locked database is
/// a [`StoreError::Conflict`] (the engine retries the command), a broken
/// uniqueness rule a [`StoreError::Unique`].
pub(crate) fn store_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => return StoreError::Conflict,
            ErrorCode::ConstraintViolation
                if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                let raw = msg.clone().unwrap_or_else(|| f.to_string());
                return StoreError::Unique(unique_rule(&raw));
            }
            ErrorCode::NotADatabase | ErrorCode::CannotOpen | ErrorCode::ReadOnly => {
                return StoreError::Unavailable(e.to_string());
            }
            _ => {}
        }
    }
    StoreError::other(e)
}

/// Says which rule a UNIQUE failure broke, from the columns SQLite names.
fn unique_rule(raw: &str) -> UniqueRule {
    if raw.contains("members.org, members.contact_key") {
        UniqueRule::MemberContactKey
    } else if raw.contains("members.user_ref, members.org_id") {
        UniqueRule::MemberUserRef
    } else if raw.contains("invitations.org, invitations.secret_hash") {
        UniqueRule::InvitationSecret
    } else if raw.contains("invitations.org, invitations.recipient_key") {
        UniqueRule::InvitationOpenRecipient
    } else if raw.contains("organizations.slug") {
        UniqueRule::OrganizationSlug
    } else if raw.contains("failed: org_domains.domain") {
        UniqueRule::DomainVerified
    } else if raw.contains("membership_requests.org_id, membership_requests.user_ref") {
        UniqueRule::MembershipRequestAccount
    } else {
        UniqueRule::Other
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod secure_delete_tests {
    use super::*;
    use enlist::{
        Actor, Enlist, InviteRequest, NewOrganization, Recipients, RecordingMailer, SeededSecrets,
    };
    use std::sync::Arc;

    /// After delivery the outbox row is rewritten without the accept link;
    /// once the WAL is checkpointed, neither the database file nor the WAL
    /// holds the delivered token any more, even while other messages stay
    /// queued in the same pages (without `secure_delete`, the old row stays
    /// in the page's free space).
    #[test]
    fn a_redacted_accept_link_leaves_no_trace_in_the_file_after_a_checkpoint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("enlist.sqlite3");
        let store = Arc::new(SqliteStore::open(&path).expect("open"));
        let engine = Enlist::new(store.clone()).with_secrets(Arc::new(SeededSecrets::new(3)));
        let enlist::CreatedOrganization {
            organization: org,
            owner,
            ..
        } = engine
            .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
            .expect("org");
        let report = engine
            .invite(
                &org.id,
                &Actor::Member(owner.id),
                InviteRequest::new(Recipients::Paste(
                    "bob@acme.test, carol@acme.test, dan@acme.test, eve@acme.test".into(),
                )),
            )
            .expect("invite");
        assert_eq!(report.issued.len(), 4);
        let random_of = |t: &str| t.rsplit_once('.').expect("token shape").1.to_owned();
        let on_disk = |path: &Path, random: &str| {
            let bytes = std::fs::read(path).unwrap_or_default();
            bytes.windows(random.len()).any(|w| w == random.as_bytes())
        };
        // Move every page from the WAL into the file, and empty the WAL.
        let checkpoint = || {
            let c = Connection::open(&path).expect("second connection");
            c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .expect("checkpoint");
        };
        checkpoint();
        for i in &report.issued {
            let t = i.secret.as_ref().expect("secret").expose();
            assert!(
                on_disk(&path, &random_of(t)),
                "the queued link is in the file"
            );
        }
        // Deliver one message; its neighbours stay queued in the same pages.
        let mailer = RecordingMailer::new();
        let sent = engine.deliver_pending(&mailer, 1).expect("deliver").sent;
        assert_eq!(sent.len(), 1);
        let random = random_of(&mailer.sent()[0].accept_url);
        checkpoint();
        let wal = path.with_extension("sqlite3-wal");
        assert!(
            !on_disk(&path, &random),
            "the redacted link survives in the database file"
        );
        assert!(
            !on_disk(&wal, &random),
            "the redacted link survives in the WAL"
        );
    }
}

#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod client;
mod codec;
mod error;
mod orgs;
mod people;
mod pool;
mod tls;
mod tx;

pub use codec::NulInKey;
pub use tls::{CaCertificates, MAX_CA_BUNDLE_BYTES, SslMode};

use enlist::{OrgId, Store, StoreError, StoreResult, Transaction};
use pool::Pool;
use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::{NoTls, Socket};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio_postgres::Config;

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
        "0013_org_estimates",
        include_str!("../migrations/0013_org_estimates.sql"),
    ),
    (
        14,
        "0014_people_last_by_creation",
        include_str!("../migrations/0014_people_last_by_creation.sql"),
    ),
];

/// How long an organization stays "contended" after a write conflict in it:
/// meanwhile this store locks it at the first read instead of the first
/// write (see the crate documentation).
const CONTENDED_FOR: Duration = Duration::from_secs(10);
/// Organizations remembered as contended, at most.
const CONTENDED_MAX: usize = 4096;

/// Settings of a [`PostgresStore`].
///
/// TLS is chosen by the connection string's `sslmode` (libpq's meanings:
/// see [`SslMode`]); the certificate authorities come from its
/// `sslrootcert` or from [`PostgresOptions::ca`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The schema to keep the tables in (created when missing, and set as
    /// the `search_path` of every connection); `None` uses the connection's
    /// default (`public`, usually).
    pub schema: Option<String>,
    /// Connections the pool opens at most (default 16). Each open
    /// transaction holds one.
    pub max_connections: usize,
    /// How long `begin` waits for a free connection before it reports
    /// [`StoreError::Unavailable`] (default 30 s).
    pub acquire_timeout: Duration,
    /// How long a statement waits for a row lock held by another
    /// transaction before it fails with [`StoreError::Unavailable`]
    /// (default 30 s): a safety net against a transaction left open.
    pub lock_timeout: Duration,
    /// The certificate authorities the server's certificate is checked
    /// against (default none). Given without an `sslmode` in the
    /// connection string, it means `sslmode=verify-full`.
    pub ca: Option<CaCertificates>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            schema: None,
            max_connections: 16,
            acquire_timeout: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(30),
            ca: None,
        }
    }
}

impl PostgresOptions {
    /// The default options with the tables in `schema`.
    pub fn in_schema(schema: impl Into<String>) -> Self {
        Self {
            schema: Some(schema.into()),
            ..Self::default()
        }
    }

    /// These options with `ca` as the certificate authorities.
    pub fn with_ca(mut self, ca: CaCertificates) -> Self {
        self.ca = Some(ca);
        self
    }
}

/// A [`Store`] in a PostgreSQL database, shared by any number of
/// application servers.
///
/// Create it once per process and share it (`Arc<PostgresStore>` or
/// `Arc<dyn Store>`) between threads; it holds a pool of connections. See
/// the crate documentation for the schema and the concurrency guarantees.
pub struct PostgresStore {
    pub(crate) pool: Pool,
    /// Organizations where a write conflict happened lately, with when.
    contended: Mutex<HashMap<OrgId, Instant>>,
    schema: Option<String>,
    /// Write conflicts met by this store's transactions (each makes the
    /// engine run a command again).
    conflicts: AtomicU64,
    /// Waits for the server (round trips) of this store's connections,
    /// shared with each of them.
    round_trips: Arc<AtomicU64>,
}

impl PostgresStore {
    /// The schema version this library writes. A database with a lower
    /// version is migrated on connect; one with a higher version is refused
    /// with [`StoreError::SchemaTooNew`].
    pub const SCHEMA_VERSION: u32 = 14;

    /// Connects to `url` (libpq `key=value` form or a `postgres://` URL),
    /// with TLS as its `sslmode` says (`prefer` when it says nothing: see
    /// [`SslMode`]), and brings the schema up to
    /// [`PostgresStore::SCHEMA_VERSION`]. The tables go in the connection's
    /// default schema; see [`PostgresStore::connect_in_schema`].
    pub fn connect(url: &str) -> StoreResult<PostgresStore> {
        Self::connect_with_options(url, PostgresOptions::default())
    }

    /// Like [`PostgresStore::connect`], with the tables in `schema`, which
    /// is created when missing and set as the `search_path` of every
    /// connection: one database can hold many independent stores (test
    /// isolation, one schema per tenant or environment).
    pub fn connect_in_schema(url: &str, schema: &str) -> StoreResult<PostgresStore> {
        Self::connect_with_options(url, PostgresOptions::in_schema(schema))
    }

    /// Connects with `options`; TLS as the connection string's `sslmode`
    /// and `sslrootcert` and [`PostgresOptions::ca`] say, with rustls (see
    /// [`SslMode`]). A connection string asking for a mode this store
    /// cannot honour, or naming a CA that cannot be read, is refused before
    /// any connection.
    pub fn connect_with_options(url: &str, options: PostgresOptions) -> StoreResult<PostgresStore> {
        let plan = tls::plan(url, options.ca.as_ref())?;
        let mode = plan.driver_mode();
        match plan.client {
            None => Self::connect_configured(&plan.driver_url, options, NoTls, mode),
            Some(client) => Self::connect_configured(
                &plan.driver_url,
                options,
                tokio_postgres_rustls::MakeRustlsConnect::new(client),
                mode,
            ),
        }
    }

    /// Connects with a TLS connector of your own (for example
    /// `postgres-native-tls`'s `MakeTlsConnector` or `postgres-openssl`'s),
    /// with `options`. The connection string's `sslmode` is the driver's
    /// (`disable`, `prefer` or `require` only), the certificate checks are
    /// the connector's, and [`PostgresOptions::ca`] must be `None`.
    pub fn connect_with_tls<T>(
        url: &str,
        options: PostgresOptions,
        tls: T,
    ) -> StoreResult<PostgresStore>
    where
        T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
        T::Stream: Send,
        T::TlsConnect: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        if options.ca.is_some() {
            return Err(StoreError::Unavailable(
                "PostgresOptions::ca is for the built-in TLS; a connector of your own checks \
                 certificates itself"
                    .into(),
            ));
        }
        let config: Config = url.parse().map_err(|e| {
            StoreError::Unavailable(format!("not a PostgreSQL connection string: {e}"))
        })?;
        let mode = config.get_ssl_mode();
        Self::connect_configured(url, options, tls, mode)
    }

    fn connect_configured<T>(
        url: &str,
        options: PostgresOptions,
        tls: T,
        ssl_mode: postgres::config::SslMode,
    ) -> StoreResult<PostgresStore>
    where
        T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
        T::Stream: Send,
        T::TlsConnect: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let mut config: Config = url.parse().map_err(|e| {
            StoreError::Unavailable(format!("not a PostgreSQL connection string: {e}"))
        })?;
        config.ssl_mode(ssl_mode);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("enlist");
        }
        if let Some(schema) = &options.schema {
            check_schema_name(schema)?;
        }
        // Generic plans for the prepared statements (planned once per
        // connection, not at every execution). Measured with
        // `examples/statement_costs.rs` (pg_stat_statements): the people
        // flush was custom-planned at every execution in the default mode
        // (0.25-0.47 ms of planning, an accept's whole server time being
        // 0.9 ms), and a custom plan reads the organization id as a
        // literal: for an organization that grew since the last ANALYZE
        // it expects one row, and any index starting with `org_id` looks
        // as good as the right one (an accept's people row found by
        // walking `people_last` over the whole organization: 3.5 ms
        // instead of 0.12). A generic plan estimates an organization by
        // the table's average, which keeps the unique and partial indexes
        // (their status conditions are literals in the SQL, so a generic
        // plan can use them). Every list and count of the scale bench
        // stays flat with it (docs/src/performance.md).
        //
        // No sequential scan where an index serves (`enable_seqscan =
        // off` only makes them the last resort): a generic plan is made
        // at a statement's first execution on the connection, with the
        // table's size then, and kept. Made while a table was a page or
        // two, it read the table whole and went on doing so once it held
        // the organization's hundreds of rows (an accept's person, terms
        // and queued messages: each probe a walk of the organization).
        // Every statement of the store reads by an index by design.
        let mut setup = format!(
            "SET lock_timeout = {}; SET plan_cache_mode = force_generic_plan; \
             SET enable_seqscan = off",
            options.lock_timeout.as_millis().max(1)
        );
        if let Some(schema) = &options.schema {
            setup.push_str(&format!("; SET search_path TO {}", quote_ident(schema)));
        }
        let round_trips = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&round_trips);
        let connect =
            Box::new(move || client::PgClient::connect(&config, tls.clone(), Arc::clone(&counter)));
        let pool = Pool::new(
            connect,
            setup,
            options.max_connections,
            options.acquire_timeout,
        );
        let store = PostgresStore {
            pool,
            contended: Mutex::new(HashMap::new()),
            schema: options.schema,
            conflicts: AtomicU64::new(0),
            round_trips,
        };
        store.migrate()?;
        Ok(store)
    }

    /// Whether a connection of the pool is encrypted, as the server sees it
    /// (`pg_stat_ssl`): a check for deployment health pages and tests.
    pub fn uses_tls(&self) -> StoreResult<bool> {
        let mut lease = self.pool.get()?;
        let row = lease
            .conn()?
            .client
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .map_err(error::db_err)?;
        row.try_get(0).map_err(error::db_err)
    }

    /// The schema the tables are in, if one was named.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    /// Brings the schema up to date, in one transaction, holding an
    /// advisory lock so that servers starting together do not race.
    fn migrate(&self) -> StoreResult<()> {
        let mut lease = self.pool.get()?;
        let result = migrate(&mut lease.conn()?.client, self.schema.as_deref());
        if result.is_err() {
            // Whatever state the failure left, do not reuse it.
            if lease.conn()?.client.batch_execute("ROLLBACK").is_err() {
                lease.mark_broken();
            }
        }
        result
    }

    /// Whether a write conflict happened in `org` lately.
    pub(crate) fn is_contended(&self, org: &OrgId) -> bool {
        let map = self
            .contended
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(org).is_some_and(|at| at.elapsed() < CONTENDED_FOR)
    }

    /// How many write conflicts ([`StoreError::Conflict`]: a stale read
    /// found at the first write, a deadlock, a serialization failure) this
    /// store's transactions met since it was made: how the tests and the
    /// benchmark show that concurrent outbox workers never retry each
    /// other.
    #[doc(hidden)]
    pub fn conflicts_seen(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// How many times this store's connections waited for the server
    /// since it was made (round trips: statements, statements sent
    /// together counting once, preparing a statement on a connection's
    /// first use of it, connection checks): how the tests and the
    /// benchmark show what one invitation costs.
    #[doc(hidden)]
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Counts one write conflict.
    pub(crate) fn count_conflict(&self) {
        self.conflicts.fetch_add(1, Ordering::Relaxed);
    }

    /// Remembers a write conflict in `org`.
    pub(crate) fn mark_contended(&self, org: &OrgId) {
        let mut map = self
            .contended
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if map.len() >= CONTENDED_MAX {
            map.retain(|_, at| at.elapsed() < CONTENDED_FOR);
            if map.len() >= CONTENDED_MAX {
                map.clear();
            }
        }
        map.insert(org.clone(), Instant::now());
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No connection string here: it may hold a password.
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// The plan PostgreSQL chooses (`EXPLAIN`, one line a row) for the
    /// people view's first walk of `query` in `org` at `now`: how the
    /// tests prove that a search reads the index of search terms, not the
    /// organization. Runs in a transaction of its own, rolled back.
    #[doc(hidden)]
    pub fn explain_people(
        &self,
        org: &OrgId,
        query: &enlist::PeopleQuery,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<Vec<String>> {
        tx::PgTx::begin(self)?.explain_people(org, query, now)
    }

    /// The plan PostgreSQL chooses, as a generic plan (the store's
    /// `plan_cache_mode`), for the admin list's first page of the
    /// organizations whose slug or name starts with `prefix`: how the
    /// tests prove that it reads the two index ranges, not every
    /// organization. Runs in a transaction of its own, rolled back.
    #[doc(hidden)]
    pub fn explain_organizations(&self, prefix: &str) -> StoreResult<Vec<String>> {
        tx::PgTx::begin(self)?.explain_organizations(prefix)
    }

    /// The plans PostgreSQL chooses, as generic plans (the store's
    /// `plan_cache_mode`), for the look-ups by contact key: recipients'
    /// members and open invitations (`prefetch_recipients`,
    /// `member_by_contact`), then `standing`. How the tests prove that they
    /// probe the indexes key by key, even on tables analyzed while small.
    /// Runs in a transaction of its own, rolled back.
    #[doc(hidden)]
    pub fn explain_lookups(
        &self,
        org: &OrgId,
        keys: &[enlist::Text],
    ) -> StoreResult<[Vec<String>; 2]> {
        tx::PgTx::begin(self)?.explain_lookups(org, keys)
    }

    /// The generic plan of the statement that picks and locks the
    /// organizations of a claim across organizations (`claim_outbox`
    /// without an organization) at `now`: how the tests prove that it
    /// walks the organizations by the due index, one probe each, not the
    /// due messages. Runs in a transaction of its own, rolled back.
    #[doc(hidden)]
    pub fn explain_claim(&self, now: chrono::DateTime<chrono::Utc>) -> StoreResult<Vec<String>> {
        tx::PgTx::begin(self)?.explain_claim(now)
    }

    /// The generic plan of the write of invitation `invitation` of person
    /// `pid` in `org` (the closed invitation of an accept, a batch's
    /// invitations), with that person's row read back: how the tests
    /// prove that it probes `people`' primary key, not the organization's
    /// people. Runs in a transaction of its own, rolled back.
    #[doc(hidden)]
    pub fn explain_invitation_write(
        &self,
        org: &OrgId,
        invitation: &str,
        pid: &str,
    ) -> StoreResult<Vec<String>> {
        tx::PgTx::begin(self)?.explain_invitation_write(org, invitation, pid)
    }

    /// The generic plans of what an accept reads by key: the invitation of
    /// secret `hash` with its recipient's live member and its queued
    /// messages (`invitation_by_secret` in a writing transaction), the same
    /// by invitation id `id` (`invitation_by_token` for a token that names
    /// its invitation), then the member write's look-up of member `(id,
    /// contact key, user_ref)`.
    /// How the tests prove that both probe by key (`outbox_queued`, the
    /// member indexes) rather than walk the organization, even on tables
    /// analyzed while they held a row. Runs in a transaction of its own,
    /// rolled back.
    #[doc(hidden)]
    pub fn explain_accept_reads(
        &self,
        org: &OrgId,
        hash: &enlist::SecretHash,
        id: &enlist::InvitationId,
        member: (&str, &str, &str),
    ) -> StoreResult<[Vec<String>; 3]> {
        tx::PgTx::begin(self)?.explain_accept_reads(org, hash, id, member)
    }

    /// The generic plan of the people rows' write (the commit's flush), for
    /// one term, group and pid removed in `org`: how the tests prove that
    /// its deletes probe the primary keys row by row instead of walking
    /// the organization. Runs in a transaction of its own, rolled back.
    #[doc(hidden)]
    pub fn explain_people_writes(&self, org: &OrgId) -> StoreResult<Vec<String>> {
        tx::PgTx::begin(self)?.explain_people_writes(org)
    }
}

impl Store for PostgresStore {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        let tx = tx::PgTx::begin(self)?;
        Ok(Box::new(tx))
    }

    fn begin_read(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        let tx = tx::PgTx::begin_read(self)?;
        Ok(Box::new(tx))
    }
}

/// A schema name PostgreSQL takes as an identifier: 1 to 63 bytes, no NUL.
fn check_schema_name(schema: &str) -> StoreResult<()> {
    if schema.is_empty() || schema.len() > 63 || schema.contains('\0') {
        return Err(StoreError::Unavailable(format!(
            "the schema name {schema:?} is not usable: it must be 1 to 63 bytes without NUL"
        )));
    }
    Ok(())
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A stable 64-bit key for the migration advisory lock of one schema
/// (FNV-1a), so that only migrations of the same schema wait for each other.
fn advisory_key(schema: Option<&str>) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "enlist-postgres:migrate:"
        .bytes()
        .chain(schema.unwrap_or("").bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Creates the schema when missing and applies the migrations it lacks.
fn migrate(client: &mut client::PgClient, schema: Option<&str>) -> StoreResult<()> {
    use error::db_err;
    client
        .batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        .map_err(db_err)?;
    // Held until commit: a second server starting now waits here (however
    // long another server's migration takes, up to ten minutes), then finds
    // the migrations done.
    client
        .batch_execute("SET LOCAL lock_timeout = '10min'")
        .map_err(db_err)?;
    client
        .execute("SELECT pg_advisory_xact_lock($1)", &[&advisory_key(schema)])
        .map_err(db_err)?;
    if let Some(schema) = schema {
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote_ident(schema)
            ))
            .map_err(db_err)?;
    }
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS enlist_schema_migrations (
                 version     integer PRIMARY KEY,
                 name        text NOT NULL,
                 applied_at  timestamptz NOT NULL DEFAULT now()
             )",
        )
        .map_err(db_err)?;
    let found: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM enlist_schema_migrations",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(db_err)?;
    let found = u32::try_from(found).unwrap_or(0);
    if found > PostgresStore::SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: PostgresStore::SCHEMA_VERSION,
        });
    }
    for (version, name, sql) in MIGRATIONS {
        if *version > found {
            client
                .batch_execute(sql)
                .map_err(|e| StoreError::Unavailable(format!("migration {name} failed: {e}")))?;
            if *version == 4 {
                // The people rows of what is already stored (names are
                // case-folded in Rust, which SQL cannot do the same way).
                let mut run = |sql: &str, p: &[&(dyn postgres::types::ToSql + Sync)]| {
                    client.query(sql, p).map_err(db_err)
                };
                people::backfill(&mut run)?;
            }
            if *version == 8 {
                // A slug for every organization already stored.
                orgs::backfill(client)?;
            }
            let v = i32::try_from(*version).unwrap_or(i32::MAX);
            client
                .execute(
                    "INSERT INTO enlist_schema_migrations (version, name) VALUES ($1, $2)",
                    &[&v, name],
                )
                .map_err(db_err)?;
        }
    }
    client.batch_execute("COMMIT").map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("t1; DROP"), "\"t1; DROP\"");
    }

    #[test]
    fn schema_names_are_checked() {
        assert!(check_schema_name("").is_err());
        assert!(check_schema_name(&"x".repeat(64)).is_err());
        assert!(check_schema_name("a\0b").is_err());
        assert!(check_schema_name("enlist_test-1 \"x\"").is_ok());
    }

    #[test]
    fn the_last_migration_is_the_schema_version() {
        let versions: Vec<u32> = MIGRATIONS.iter().map(|m| m.0).collect();
        let expected: Vec<u32> = (1..=PostgresStore::SCHEMA_VERSION).collect();
        assert_eq!(versions, expected);
        for (v, name, _) in MIGRATIONS {
            assert!(name.starts_with(&format!("{v:04}_")), "{name}");
        }
    }

    #[test]
    fn advisory_keys_differ_per_schema() {
        assert_eq!(advisory_key(Some("a")), advisory_key(Some("a")));
        assert_ne!(advisory_key(Some("a")), advisory_key(Some("b")));
        assert_ne!(advisory_key(None), advisory_key(Some("a")));
    }
}

//! A small pool of connections ([`PgClient`]).
//!
//! Each pooled connection carries its own cache of prepared statements and
//! was set up once when opened (`search_path`, `lock_timeout`,
//! `plan_cache_mode = force_generic_plan`; why: `connect_configured` in
//! lib.rs). A transaction leases one connection from `begin` to commit or
//! drop; a connection whose transaction could not be closed cleanly, or
//! whose socket closed, is discarded instead of going back to the pool. A
//! connection idle for a while is checked (an empty query) before it is
//! lent again, so a server restart costs a reconnect, not a failed command.

use crate::client::PgClient;
use crate::error::db_err;
use enlist::StoreError;
use postgres::Statement;
use std::collections::HashMap;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Opens a new connection.
pub(crate) type Connector = Box<dyn Fn() -> Result<PgClient, StoreError> + Send + Sync>;

/// A connection lent out longer than this is checked before its next loan.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(30);
/// The longest the idle check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// Prepared statements kept per connection before the cache starts over
/// (list queries are built from their filters, so there are a few hundred
/// shapes at most).
const STATEMENT_CACHE: usize = 512;

/// One connection and what belongs to it.
pub(crate) struct Conn {
    pub(crate) client: PgClient,
    statements: HashMap<String, Statement>,
    returned_at: Instant,
}

impl Conn {
    /// The prepared statement for `sql`, prepared on first use.
    pub(crate) fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(db_err)?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }
}

struct State {
    idle: Vec<Conn>,
    /// Connections open, lent or idle.
    open: usize,
}

/// The pool.
pub(crate) struct Pool {
    connect: Connector,
    /// SQL run once on every new connection.
    setup: String,
    max: usize,
    acquire_timeout: Duration,
    state: Mutex<State>,
    returned: Condvar,
}

impl Pool {
    pub(crate) fn new(
        connect: Connector,
        setup: String,
        max: usize,
        acquire_timeout: Duration,
    ) -> Self {
        Self {
            connect,
            setup,
            max: max.max(1),
            acquire_timeout,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    /// Lends a connection: an idle one, a new one while fewer than the
    /// maximum are open, or the next one returned (waiting at most the
    /// acquire timeout).
    pub(crate) fn get(&self) -> Result<Lease<'_>, StoreError> {
        let deadline = Instant::now() + self.acquire_timeout;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(mut conn) = state.idle.pop() {
                drop(state);
                if conn.returned_at.elapsed() < CHECK_AFTER_IDLE
                    || conn.client.is_valid(CHECK_TIMEOUT)
                {
                    return Ok(self.lease(conn));
                }
                // Dead (a server restart, an idle timeout): open another.
                drop(conn);
                return self.open_new();
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return self.open_new();
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Unavailable(format!(
                    "all {} connections of the pool stayed busy for {:?}; \
                     raise PostgresOptions::max_connections or shorten transactions",
                    self.max, self.acquire_timeout
                )));
            }
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Opens a connection for a slot already counted in `open`.
    fn open_new(&self) -> Result<Lease<'_>, StoreError> {
        let opened = (self.connect)();
        let conn = opened.and_then(|mut client| {
            client.batch_execute(&self.setup).map_err(db_err)?;
            Ok(Conn {
                client,
                statements: HashMap::new(),
                returned_at: Instant::now(),
            })
        });
        match conn {
            Ok(conn) => Ok(self.lease(conn)),
            Err(e) => {
                self.release_slot();
                Err(e)
            }
        }
    }

    fn lease(&self, conn: Conn) -> Lease<'_> {
        Lease {
            pool: self,
            conn: Some(conn),
            broken: false,
        }
    }

    fn release_slot(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.returned.notify_one();
    }

    fn give_back(&self, mut conn: Conn) {
        conn.returned_at = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.idle.push(conn);
        drop(state);
        self.returned.notify_one();
    }
}

/// A connection on loan; it goes back to the pool when dropped, unless it
/// was marked broken.
pub(crate) struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    broken: bool,
}

impl Lease<'_> {
    /// The connection.
    pub(crate) fn conn(&mut self) -> Result<&mut Conn, StoreError> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("the connection was already returned".into()))
    }

    /// Closes the connection now and frees its place in the pool: a lease
    /// of another connection can then be taken in its place.
    pub(crate) fn discard(&mut self) {
        if self.conn.take().is_some() {
            self.pool.release_slot();
        }
    }

    /// Keeps the connection out of the pool: its state is unknown.
    pub(crate) fn mark_broken(&mut self) {
        self.broken = true;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.broken || conn.client.is_closed() {
                drop(conn);
                self.pool.release_slot();
            } else {
                self.pool.give_back(conn);
            }
        }
    }
}

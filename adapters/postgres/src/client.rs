//! One connection to the server, driven on a runtime of its own, that can
//! send two statements in one round trip.
//!
//! The `postgres` crate's blocking client waits for each statement's answer
//! before it sends the next. Each such wait is a round trip, and on a
//! virtual machine whose CPUs sleep when idle a round trip costs far more
//! than the statement (issue 15: 0.078 ms for a one-row `SELECT` by
//! `pgbench` on a quiet machine, 0.015 ms with a core kept busy): both
//! ends are woken from the hypervisor's idle state each time. The
//! protocol lets a client send statements without waiting (each with its
//! own `Sync`, answered in order), which `tokio_postgres` does for futures
//! polled together; this client is that driver on a current-thread
//! runtime, as `postgres::Client` is, plus [`PgClient::pipeline_all`], which
//! sends several statements before reading any answer. The store uses it
//! for what never depends on an answer it has not read: `BEGIN` with a
//! transaction's first statement, the organization lock and a new member
//! with the statement after them, `COMMIT` with its last write, an
//! accept's reads together.
//!
//! Every wait for the server is counted (`PostgresStore::round_trips`).

use enlist::{StoreError, StoreResult};
use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::types::ToSql;
use postgres::{Error, Row, Socket, Statement};
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;
use tokio::runtime::Runtime;
use tokio_postgres::{Config, ToStatement};

/// The connection's own future: it reads the server's messages and routes
/// them to the client's waiting statements.
type Driver = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// (Fields drop in order: the client and the connection's socket before
/// the runtime whose reactor the socket is registered with.)
pub(crate) struct PgClient {
    client: tokio_postgres::Client,
    io: Io,
}

/// What carries a connection's messages: its driver on its runtime.
struct Io {
    /// `None` once it finished (the server closed the connection, or
    /// reading from it failed): every later statement fails as closed.
    driver: Option<Driver>,
    runtime: Runtime,
    round_trips: Arc<AtomicU64>,
}

impl PgClient {
    /// Opens a connection; `round_trips` counts every wait for its answers.
    pub(crate) fn connect<T>(
        config: &Config,
        tls: T,
        round_trips: Arc<AtomicU64>,
    ) -> StoreResult<Self>
    where
        T: MakeTlsConnect<Socket> + 'static + Send,
        T::TlsConnect: Send,
        T::Stream: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot start a runtime: {e}")))?;
        let (client, connection) = runtime.block_on(config.connect(tls)).map_err(|e| {
            StoreError::Unavailable(format!("cannot connect to PostgreSQL: {}", with_causes(&e)))
        })?;
        // `Connection`'s own future logs the server's notices (at `info`,
        // as the blocking client does) and ends when the connection does.
        Ok(Self {
            client,
            io: Io {
                driver: Some(Box::pin(connection)),
                runtime,
                round_trips,
            },
        })
    }

    /// The rows of `query`.
    pub(crate) fn query<Q>(
        &mut self,
        query: &Q,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error>
    where
        Q: ?Sized + ToStatement,
    {
        self.io
            .wait(self.client.query(query, params))
            .and_then(|r| r)
    }

    /// The one row of `query`.
    pub(crate) fn query_one<Q>(
        &mut self,
        query: &Q,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, Error>
    where
        Q: ?Sized + ToStatement,
    {
        self.io
            .wait(self.client.query_one(query, params))
            .and_then(|r| r)
    }

    /// The number of rows `query` changed.
    pub(crate) fn execute<Q>(
        &mut self,
        query: &Q,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error>
    where
        Q: ?Sized + ToStatement,
    {
        self.io
            .wait(self.client.execute(query, params))
            .and_then(|r| r)
    }

    /// Runs `sql` (statements without parameters) by the simple protocol.
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        self.io.wait(self.client.batch_execute(sql)).and_then(|r| r)
    }

    /// The answer of `sql` by the simple protocol, rows as text.
    pub(crate) fn simple_query(
        &mut self,
        sql: &str,
    ) -> Result<Vec<tokio_postgres::SimpleQueryMessage>, Error> {
        self.io.wait(self.client.simple_query(sql)).and_then(|r| r)
    }

    /// Prepares `sql`.
    pub(crate) fn prepare(&mut self, sql: &str) -> Result<Statement, Error> {
        self.io.wait(self.client.prepare(sql)).and_then(|r| r)
    }

    /// Sends every statement of `all` without waiting in between, then
    /// reads their answers: one round trip. The server runs them in order,
    /// each ending with its own `Sync`, so an error of one does not stop
    /// the next: every outcome is returned, and the caller decides what
    /// the later ones are worth. (A `COMMIT` sent after a statement that
    /// failed rolls the aborted transaction back: the server answers
    /// `ROLLBACK`, not an error.)
    pub(crate) fn pipeline_all(
        &mut self,
        all: Vec<Then<'_>>,
    ) -> Result<Vec<Result<Answer, Error>>, Error> {
        let c = &self.client;
        let futures = all.into_iter().map(|t| t.run(c)).collect();
        self.io.wait(in_order(futures))
    }

    /// Whether the server answers an empty query within `timeout`.
    pub(crate) fn is_valid(&mut self, timeout: Duration) -> bool {
        let c = &self.client;
        // Made inside the runtime (when first polled): a timer needs its
        // runtime's context.
        let fut = async move { tokio::time::timeout(timeout, c.simple_query("")).await };
        matches!(self.io.wait(fut), Ok(Ok(Ok(_))))
    }

    /// Whether the connection is closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

impl Io {
    /// Runs `fut` (statements of the connection's client) to its end
    /// while the driver carries their messages: one wait for the server,
    /// counted.
    fn wait<T>(&mut self, fut: impl Future<Output = T>) -> Result<T, Error> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let driver = &mut self.driver;
        let mut fut = pin!(fut);
        self.runtime.block_on(poll_fn(|cx| {
            if let Some(d) = driver.as_mut() {
                match d.as_mut().poll(cx) {
                    Poll::Ready(Err(e)) => {
                        *driver = None;
                        return Poll::Ready(Err(e));
                    }
                    // Closed: the statement's own future fails as closed.
                    Poll::Ready(Ok(())) => *driver = None,
                    Poll::Pending => {}
                }
            }
            fut.as_mut().poll(cx).map(Ok)
        }))
    }
}

/// A statement of a pipeline: a prepared statement with its parameters,
/// answered with its rows or with the number of rows it changed, or
/// parameterless SQL by the simple protocol (`BEGIN`, `COMMIT`).
pub(crate) enum Then<'a> {
    /// Parameterless SQL, nothing back.
    Simple(&'a str),
    /// Rows back.
    Query(&'a Statement, &'a [&'a (dyn ToSql + Sync)]),
    /// A count back.
    Execute(&'a Statement, &'a [&'a (dyn ToSql + Sync)]),
}

/// The answer of a [`Then`].
pub(crate) enum Answer {
    /// The rows of a [`Then::Query`].
    Rows(Vec<Row>),
    /// The count of a [`Then::Execute`].
    Changed(u64),
    /// A [`Then::Simple`] ran.
    Done,
}

impl Answer {
    /// The rows (none but a query's).
    pub(crate) fn rows(self) -> Vec<Row> {
        match self {
            Answer::Rows(rows) => rows,
            Answer::Changed(_) | Answer::Done => Vec::new(),
        }
    }

    /// The rows changed (an execute's), or returned (a query's).
    pub(crate) fn changed(self) -> u64 {
        match self {
            Answer::Changed(n) => n,
            Answer::Rows(rows) => rows.len() as u64,
            Answer::Done => 0,
        }
    }
}

impl<'a> Then<'a> {
    /// A query (`rows`) or an execute of `st`.
    pub(crate) fn new(rows: bool, st: &'a Statement, params: &'a [&'a (dyn ToSql + Sync)]) -> Self {
        if rows {
            Then::Query(st, params)
        } else {
            Then::Execute(st, params)
        }
    }

    fn run(self, c: &'a tokio_postgres::Client) -> Pending<'a, Result<Answer, Error>> {
        match self {
            Then::Simple(sql) => {
                Box::pin(async move { c.batch_execute(sql).await.map(|()| Answer::Done) })
            }
            Then::Query(st, params) => {
                Box::pin(async move { c.query(st, params).await.map(Answer::Rows) })
            }
            Then::Execute(st, params) => {
                Box::pin(async move { c.execute(st, params).await.map(Answer::Changed) })
            }
        }
    }
}

/// A statement sent or to be sent, its answer to come.
type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Every future of `all`, each polled in order each time (their requests
/// go out in that order on their first poll, before any answer is read).
async fn in_order<'a, T>(all: Vec<Pending<'a, T>>) -> Vec<T> {
    let mut all: Vec<(Pending<'a, T>, Option<T>)> = all.into_iter().map(|f| (f, None)).collect();
    poll_fn(|cx| {
        for (f, out) in all.iter_mut() {
            if out.is_none() {
                if let Poll::Ready(v) = f.as_mut().poll(cx) {
                    *out = Some(v);
                }
            }
        }
        if all.iter().all(|(_, out)| out.is_some()) {
            Poll::Ready(all.iter_mut().filter_map(|(_, out)| out.take()).collect())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// `e` and its causes: the driver's own text says only "error performing
/// TLS handshake" or "db error", the cause says which (an unknown issuer,
/// a refused `pg_hba.conf` entry). Neither quotes the password.
pub(crate) fn with_causes(e: &Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    // A few levels at most: the chains are short.
    for _ in 0..4 {
        let Some(c) = cause else { break };
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres::NoTls;

    /// The pool's check of a connection idle for a while (30 s), run here
    /// directly: its timer is made on the connection's own runtime (made
    /// outside it, it panicked with "no reactor running").
    #[test]
    fn the_idle_check_answers_on_the_connections_own_runtime() {
        let Some(url) = std::env::var("ENLIST_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
        else {
            return;
        };
        let Ok(config) = url.parse::<Config>() else {
            panic!("ENLIST_TEST_POSTGRES_URL is not a connection string");
        };
        let trips = Arc::new(AtomicU64::new(0));
        let connected = PgClient::connect(&config, NoTls, Arc::clone(&trips));
        let Ok(mut client) = connected else {
            panic!("cannot connect to the test server");
        };
        assert!(client.is_valid(Duration::from_secs(5)));
        assert!(!client.is_closed());
        assert_eq!(trips.load(Ordering::Relaxed), 1, "one wait for the check");
    }
}

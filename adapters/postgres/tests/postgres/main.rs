//! Tests of the PostgreSQL store against a real server: set
//! `ENLIST_TEST_POSTGRES_URL` (`scripts/postgres.sh start` prints one);
//! without it every test prints "SKIPPED" and passes. Each test works in a
//! schema of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod async_engine;
mod common;
mod concurrency;
mod conformance;
mod engine;
mod migrations;
mod orgs;
mod people;
mod store;
mod tls;

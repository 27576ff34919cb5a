//! The store tests that need more than one process: races between
//! processes and a SIGKILL in the middle of a batch, for the stores that
//! live outside the process ([`processes`]), driving the worker program of
//! this crate (`enlist-store-worker`).
//!
//! The conformance suite itself ships with core (`enlist::testing`, feature
//! `testing`) and each store crate runs it from its own tests: MemoryStore
//! in `core/tests/conformance`, SQLite in `adapters/sqlite/tests`, Postgres
//! in `adapters/postgres/tests/postgres`.

pub mod processes;

use enlist::{OsSecrets, SecretSource};
use enlist_tests::StoreLocation;

/// The environment variable naming the Postgres server of the tests.
pub const POSTGRES_URL_VAR: &str = "ENLIST_TEST_POSTGRES_URL";

fn postgres_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|u| !u.trim().is_empty())
}

fn postgres_ready() -> bool {
    let ready = postgres_url().is_some();
    if !ready {
        println!("SKIPPED: {POSTGRES_URL_VAR} not set");
    }
    ready
}

/// A schema name no other test uses.
fn fresh_schema() -> String {
    let mut bytes = [0u8; 8];
    OsSecrets.fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("conf_{hex}")
}

fn sqlite_target() -> Option<processes::Target> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("enlist.db");
    Some(processes::Target {
        location: StoreLocation {
            kind: "sqlite".into(),
            location: path.to_string_lossy().into_owned(),
            schema: None,
        },
        keep: Some(Box::new(dir)),
    })
}

fn postgres_target() -> Option<processes::Target> {
    if !postgres_ready() {
        return None;
    }
    Some(processes::Target {
        location: StoreLocation {
            kind: "postgres".into(),
            location: postgres_url()?,
            schema: Some(fresh_schema()),
        },
        keep: None,
    })
}

crate::store_processes!(sqlite_processes, sqlite_target);
crate::store_processes!(postgres_processes, postgres_target);

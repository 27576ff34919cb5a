//! Cross-crate tests of enlist: the store conformance suite and the seed
//! scenarios live in `tests/`; this library holds what they share with the
//! `enlist-store-worker` binary, which the multi-process races and the
//! SIGKILL test run as separate processes.

use enlist::{Error, Store};
use std::sync::Arc;

/// Where a store lives, as the worker binary is told on its command line:
/// `sqlite <path>` or `postgres <url> [schema]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreLocation {
    /// `sqlite` or `postgres`.
    pub kind: String,
    /// The SQLite file, or the Postgres connection URL.
    pub location: String,
    /// The Postgres schema (test isolation), if any.
    pub schema: Option<String>,
}

impl StoreLocation {
    /// The arguments that name this store on the worker's command line:
    /// `<kind> <location> <schema or ->`.
    pub fn to_args(&self) -> Vec<String> {
        vec![
            self.kind.clone(),
            self.location.clone(),
            self.schema.clone().unwrap_or_else(|| "-".to_owned()),
        ]
    }

    /// Reads [`StoreLocation::to_args`] back.
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        match args {
            [kind, location, schema, ..] => Ok(Self {
                kind: kind.clone(),
                location: location.clone(),
                schema: (schema != "-").then(|| schema.clone()),
            }),
            _ => Err("expected <sqlite|postgres> <path-or-url> <schema or ->".to_owned()),
        }
    }

    /// Opens the store.
    pub fn open(&self) -> Result<Arc<dyn Store>, String> {
        open_store(&self.kind, &self.location, self.schema.as_deref())
    }
}

/// Opens a store by kind: `sqlite` (a file path) or `postgres` (a URL,
/// optionally in a schema). Postgres URLs are never included in errors
/// (they may hold a password).
pub fn open_store(
    kind: &str,
    location: &str,
    schema: Option<&str>,
) -> Result<Arc<dyn Store>, String> {
    match (kind, schema) {
        ("sqlite", None) => enlist_sqlite::SqliteStore::open(location)
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| format!("open SQLite {location}: {e}")),
        ("postgres", None) => enlist_postgres::PostgresStore::connect(location)
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| format!("connect to Postgres: {e}")),
        ("postgres", Some(schema)) => {
            enlist_postgres::PostgresStore::connect_in_schema(location, schema)
                .map(|s| Arc::new(s) as Arc<dyn Store>)
                .map_err(|e| format!("connect to Postgres (schema {schema}): {e}"))
        }
        _ => Err(format!(
            "unknown store {kind:?} (schema {schema:?}): expected sqlite <path> or postgres <url> [schema]"
        )),
    }
}

/// How a worker reports an error: the engine's code (a write conflict the
/// engine gave up retrying has its own, `retries_exhausted`).
pub fn error_code(e: &Error) -> &'static str {
    e.code()
}

/// A line without line breaks (for the worker's line protocol).
pub fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use enlist::StoreError;

    #[test]
    fn store_locations_round_trip_through_arguments() {
        for schema in [None, Some("conf_1".to_owned())] {
            let loc = StoreLocation {
                kind: "postgres".into(),
                location: "postgres://u@h:1/db".into(),
                schema,
            };
            assert_eq!(StoreLocation::from_args(&loc.to_args()), Ok(loc));
        }
        assert!(StoreLocation::from_args(&["sqlite".into()]).is_err());
        let unknown = open_store("oracle", "x", None).map(|_| ());
        assert!(unknown.unwrap_err().contains("unknown store"));
    }

    #[test]
    fn conflicts_have_their_own_code() {
        assert_eq!(
            error_code(&Error::RetriesExhausted { attempts: 6 }),
            "retries_exhausted"
        );
        assert_eq!(
            error_code(&Error::Store(StoreError::Unavailable("x".into()))),
            "storage"
        );
        assert_eq!(one_line("a\r\nb\nc"), "a  b c");
    }
}

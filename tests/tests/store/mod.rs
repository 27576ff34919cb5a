//! The store conformance suite: one set of tests that every [`Store`]
//! passes, so that the engine behaves the same on each.
//!
//! [`store_conformance!`] generates a module of `#[test]`s for a store,
//! given a function that makes a fresh, empty one:
//!
//! ```ignore
//! store_conformance!(memory, || Arc::new(MemoryStore::new()) as Arc<dyn Store>);
//! ```
//!
//! A third argument, `requires = f`, names a `fn() -> bool` checked first:
//! when it returns `false` each test prints why it is skipped and passes
//! (used for Postgres when no server is configured).
//!
//! What it checks (see `docs/src/stores.md`):
//! - every engine operation through the store, each scenario compared step
//!   by step with what MemoryStore (the reference) answers ([`engine_ops`],
//!   [`hostile`]);
//! - the `Transaction` contract directly ([`transactions`]);
//! - faults: a write or commit failing in the middle of any command leaves
//!   nothing behind ([`faults`]);
//! - races between threads ([`races`]); races between processes and a
//!   SIGKILL in the middle of a batch for the stores that live outside the
//!   process ([`processes`]).

pub mod engine_ops;
pub mod entities;
pub mod faults;
pub mod harness;
pub mod hostile;
pub mod mutants;
pub mod processes;
pub mod races;
pub mod snapshot;
pub mod transactions;

use enlist::{MemoryStore, OsSecrets, SecretSource, Store, StoreResult, Transaction};
use enlist_postgres::PostgresStore;
use enlist_sqlite::SqliteStore;
use enlist_tests::StoreLocation;
use std::sync::Arc;

/// Generates the conformance tests for one store: `store_conformance!(name,
/// make_store)` or `store_conformance!(name, make_store, requires = check)`.
#[macro_export]
macro_rules! store_conformance {
    ($name:ident, $make:expr) => {
        $crate::store_conformance!($name, $make, requires = || true);
    };
    ($name:ident, $make:expr, requires = $ready:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn ready() -> bool {
                let ready: fn() -> bool = $ready;
                ready()
            }

            fn make() -> std::sync::Arc<dyn enlist::Store> {
                let make: fn() -> std::sync::Arc<dyn enlist::Store> = $make;
                make()
            }

            $crate::store_conformance!(@tests
                // Every engine operation, compared with MemoryStore.
                orgs_policy_and_roles => same_as_memory engine_ops::orgs_policy_and_roles,
                groups => same_as_memory engine_ops::groups,
                issuing_invitations => same_as_memory engine_ops::issuing_invitations,
                invitation_lifecycle => same_as_memory engine_ops::invitation_lifecycle,
                link_and_self_registration => same_as_memory engine_ops::link_and_self_registration,
                members => same_as_memory engine_ops::members,
                outbox => same_as_memory engine_ops::outbox,
                organizations_are_isolated => same_as_memory engine_ops::organizations_are_isolated,
                hostile_input_through_the_engine => same_as_memory hostile::hostile_input_through_the_engine,
                // The Transaction contract.
                rollback_on_drop_changes_nothing => direct transactions::rollback_on_drop_changes_nothing,
                commit_keeps_exactly_what_the_transaction_saw => direct transactions::commit_keeps_exactly_what_the_transaction_saw,
                reads_see_the_transactions_own_writes => direct transactions::reads_see_the_transactions_own_writes,
                uniqueness_rules => direct transactions::uniqueness_rules,
                uniqueness_is_per_organization => direct transactions::uniqueness_is_per_organization,
                member_pages_in_byte_order => direct transactions::member_pages_in_byte_order,
                member_cursors_survive_changes_and_bad_ones_are_errors => direct transactions::member_cursors_survive_changes_and_bad_ones_are_errors,
                invitation_pages_newest_first_with_filters => direct transactions::invitation_pages_newest_first_with_filters,
                due_lists_oldest_first_ties_by_id => direct transactions::due_lists_oldest_first_ties_by_id,
                events_numbered_per_organization => direct transactions::events_numbered_per_organization,
                derived_counts_stay_exact => direct transactions::derived_counts_stay_exact,
                unknown_organization_reads_are_empty => direct transactions::unknown_organization_reads_are_empty,
                hostile_strings_round_trip => direct transactions::hostile_strings_round_trip,
                timestamps_round_trip_to_the_nanosecond => direct transactions::timestamps_round_trip_to_the_nanosecond,
                // Faults.
                a_failed_command_changes_nothing => direct faults::a_failed_command_changes_nothing,
                // Races between threads.
                one_secret_is_accepted_once => direct races::one_secret_is_accepted_once,
                overlapping_batches_never_invite_twice => direct races::overlapping_batches_never_invite_twice,
                seat_limit_holds_under_concurrent_accepts => direct races::seat_limit_holds_under_concurrent_accepts,
                seat_limit_holds_under_concurrent_joins => direct races::seat_limit_holds_under_concurrent_joins,
                concurrent_delivery_sends_each_message_once => direct races::concurrent_delivery_sends_each_message_once,
            );
        }
    };
    (@tests $($test:ident => $how:ident $($path:ident)::+,)*) => {
        $(
            #[test]
            fn $test() {
                if !ready() {
                    return;
                }
                $crate::store_conformance!(@run $how $crate::store::$($path)::+);
            }
        )*
    };
    (@run same_as_memory $f:path) => {
        $crate::store::harness::same_as_memory(&make, $f)
    };
    (@run direct $f:path) => {
        $f(&make)
    };
}

// ---------------------------------------------------------------------------
// The stores.

store_conformance!(memory, || Arc::new(MemoryStore::new()) as Arc<dyn Store>);

/// The suite can fail: MemoryStore with one rule broken fails the tests
/// that guard the rule.
#[test]
fn the_suite_catches_broken_stores() {
    mutants::the_suite_catches_broken_stores();
}

/// A SQLite store in a file of its own temporary directory, deleted with it.
struct TempSqlite {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl Store for TempSqlite {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        self.store.begin()
    }
}

/// A fresh SQLite store in a temporary file.
fn sqlite_store() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("enlist.db")).expect("open SQLite");
    Arc::new(TempSqlite { store, _dir: dir })
}

store_conformance!(sqlite, sqlite_store);

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

/// A fresh Postgres store: a new schema of the test server.
fn postgres_store() -> Arc<dyn Store> {
    let url = postgres_url().expect("checked by postgres_ready");
    Arc::new(
        PostgresStore::connect_in_schema(&url, &fresh_schema())
            .expect("connect to the Postgres test server"),
    )
}

store_conformance!(postgres, postgres_store, requires = postgres_ready);

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

//! Scale on Postgres: the sweep of `benches/scale_sweep.rs` (every list,
//! count and look-up timed in a store of 1k members and invitations in one
//! organization against 1M in 1 of 100,000; `ENLIST_BENCH_QUICK=1`: 50k in
//! 1 of 2,000), each in a schema of its own, dropped at the end. Figures
//! `scale.postgres.{op}`, aim at most 2x. Needs `ENLIST_TEST_POSTGRES_URL`
//! (skipped without it):
//!
//!     export ENLIST_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"
//!     cargo bench -p enlist-postgres --bench scale -- --report
//!
//! `scripts/bench.sh scale` runs it with the client and the server on one
//! CPU (`scripts/postgres.sh pin 0`, `taskset -c 0`): across two CPUs of a
//! virtual machine, each round trip waits for the host to wake the other
//! CPU, which slowed one side of the comparison by 100 to 300 µs for
//! stretches of operations (x0.3 to x3.3 where the pinned run gives x1).
//! The bench prints the CPUs it may run on.

#![allow(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../benches/report.rs"]
mod report;
#[path = "../../../benches/scale_sweep.rs"]
mod scale_sweep;

use enlist_postgres::PostgresStore;
use scale_sweep::{Sizes, accepts_needed, build, sweep};
use std::sync::Arc;

fn schema_name(what: &str) -> String {
    format!("enlist_scale_{what}_{}", std::process::id())
}

fn drop_schema(url: &str, schema: &str) {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .expect("drop schema");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("scale: bench");
        return;
    }
    let Some(url) = std::env::var("ENLIST_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        println!("SKIPPED: ENLIST_TEST_POSTGRES_URL not set");
        return;
    };
    let sizes = Sizes::from_env();
    eprintln!("scale sweep: {sizes:?}");
    // (Linux: the CPUs this process may run on, for the log.)
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(cpus) = status.lines().find(|l| l.starts_with("Cpus_allowed_list")) {
            eprintln!("{cpus}");
        }
    }
    let (small_schema, large_schema) = (schema_name("small"), schema_name("large"));
    let open = |schema: &str| {
        drop_schema(&url, schema);
        Arc::new(PostgresStore::connect_in_schema(&url, schema).expect("store"))
    };
    let mut small = build(
        open(&small_schema),
        "postgres small",
        sizes.small,
        1,
        accepts_needed(sizes),
    );
    let mut large = build(
        open(&large_schema),
        "postgres large",
        sizes.large,
        sizes.orgs,
        accepts_needed(sizes),
    );
    // Vacuumed and analyzed, as a deployment after a bulk load would be
    // (with `ANALYZE` alone, autovacuum and the first reads, setting each
    // new row's hint bits, would run during the sweep).
    for schema in [&small_schema, &large_schema] {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        c.batch_execute(&format!("SET search_path TO \"{schema}\""))
            .expect("search path");
        // (Not in a transaction block: a statement of its own.)
        c.batch_execute("VACUUM (ANALYZE)").expect("vacuum");
    }
    sweep("postgres", sizes, &mut small, &mut large);
    drop(small);
    drop(large);
    drop_schema(&url, &small_schema);
    drop_schema(&url, &large_schema);
}

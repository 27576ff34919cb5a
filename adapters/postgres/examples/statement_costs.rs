//! Where the server's time goes: the statements of batches of 100 issued
//! through the engine, and of accepts, as `pg_stat_statements` counts them
//! (calls, planning and execution time per call, buffers, WAL).
//!
//! Needs a server with `pg_stat_statements` loaded and the extension
//! created in the database; `scripts/postgres.sh start` does not do that
//! by itself. On its throwaway server (the folder is in
//! `$TMPDIR/enlist-postgres-PORT.dir`):
//!
//! ```text
//! cat >> "$(cat /tmp/enlist-postgres-54329.dir)/data/postgresql.conf" <<EOF
//! shared_preload_libraries = 'pg_stat_statements'
//! pg_stat_statements.track_planning = on
//! EOF
//! pg_ctl -D "$(cat /tmp/enlist-postgres-54329.dir)/data" restart   # as the cluster's owner
//! psql "$ENLIST_TEST_POSTGRES_URL" -c 'CREATE EXTENSION pg_stat_statements'
//! cargo run --release -p enlist-postgres --example statement_costs
//! ```
//!
//! `ENLIST_PROFILE_BATCHES` (default 20) and `ENLIST_PROFILE_ACCEPTS`
//! (default 200) set the sizes; `ENLIST_PROFILE_KEEP=1` keeps the schema
//! for `EXPLAIN`. The tables are analyzed after the warm-up and again
//! before the accepts (what autovacuum would have done by then). The
//! server's figures do not depend on the client's build; the accepts'
//! wall time printed at the end does (use `--release`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../benches/common/setup.rs"]
mod setup;

use enlist::{Enlist, Registration};
use enlist_postgres::PostgresStore;
use setup::{batch, env_usize, new_org};

/// Prints what the server spent on the statements since the last reset,
/// per `per` units of work (a batch, an accept), biggest first.
fn print_costs(c: &mut postgres::Client, what: &str, per: usize) {
    let rows = c
        .query(
            "SELECT calls, plans, total_plan_time, total_exec_time, rows,
                    shared_blks_hit + shared_blks_read, shared_blks_dirtied, wal_records,
                    regexp_replace(query, '\\s+', ' ', 'g')
             FROM pg_stat_statements
             WHERE query NOT ILIKE '%pg_stat_statements%'
               AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
             ORDER BY total_plan_time + total_exec_time DESC",
            &[],
        )
        .expect("pg_stat_statements");
    let per = per as f64;
    let mut total = 0.0;
    println!("\n== {what}: server time per unit (ms), {per} units");
    println!(
        "{:>7} {:>6} {:>8} {:>8} {:>8} {:>7} {:>6} {:>6}  statement",
        "calls/u", "plans%", "plan", "exec", "sum", "bufs", "dirt", "wal"
    );
    for r in &rows {
        let calls: i64 = r.get(0);
        let plans: i64 = r.get(1);
        let plan: f64 = r.get(2);
        let exec: f64 = r.get(3);
        let bufs: i64 = r.get(5);
        let dirtied: i64 = r.get(6);
        let wal: i64 = r.get(7);
        let q: String = r.get(8);
        total += plan + exec;
        let short: String = q.chars().take(110).collect();
        println!(
            "{:>7.2} {:>6.0} {:>8.4} {:>8.4} {:>8.4} {:>7.1} {:>6.1} {:>6.1}  {short}",
            calls as f64 / per,
            100.0 * plans as f64 / calls.max(1) as f64,
            plan / per,
            exec / per,
            (plan + exec) / per,
            bufs as f64 / per,
            dirtied as f64 / per,
            wal as f64 / per,
        );
    }
    println!("total server time per unit: {:.3} ms", total / per);
}

fn main() {
    let Ok(url) = std::env::var("ENLIST_TEST_POSTGRES_URL") else {
        println!("SKIPPED: ENLIST_TEST_POSTGRES_URL not set");
        return;
    };
    let batches = env_usize("ENLIST_PROFILE_BATCHES", 20);
    let accepts = env_usize("ENLIST_PROFILE_ACCEPTS", 200);
    let schema = format!("enlist_profile_{}", std::process::id());
    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .expect("drop");
    let store = PostgresStore::connect_in_schema(&url, &schema).expect("store");
    let e = Enlist::new(std::sync::Arc::new(store));

    // Warm-up in another organization, then ANALYZE (as the bench does).
    let (warm, warm_actor) = new_org(&e);
    for b in 0..10 {
        e.invite(&warm, &warm_actor, batch(90_000_000 + b * 100, 100))
            .expect("warm-up");
    }
    c.batch_execute(&format!(
        "SET search_path TO \"{schema}\"; ANALYZE; RESET search_path"
    ))
    .expect("analyze");

    let (org, actor) = new_org(&e);
    // A few batches first: every statement prepared, past the first five
    // executions (after which the server may switch to a generic plan).
    let mut tokens = Vec::new();
    for b in 0..6 {
        let r = e.invite(&org, &actor, batch(b * 100, 100)).expect("invite");
        tokens.extend(r.issued.into_iter().map(|i| i.secret.expect("secret")));
    }
    c.batch_execute("SELECT pg_stat_statements_reset()")
        .expect("reset");
    for b in 6..6 + batches {
        let r = e.invite(&org, &actor, batch(b * 100, 100)).expect("invite");
        tokens.extend(r.issued.into_iter().map(|i| i.secret.expect("secret")));
    }
    print_costs(&mut c, "a batch of 100 (Enlist::invite)", batches);

    let accept = |i: usize| {
        e.accept(
            tokens[i].expose(),
            Registration {
                user_ref: format!("acct-{i}"),
                first_name: Some("A".into()),
                last_name: Some("B".into()),
                ..Registration::default()
            },
        )
        .expect("accept");
    };
    // The tables as autovacuum would have analyzed them by now (the bench
    // analyzes its big organization before the accepts too).
    c.batch_execute(&format!(
        "SET search_path TO \"{schema}\"; ANALYZE; RESET search_path"
    ))
    .expect("analyze");
    for i in 0..10 {
        accept(i);
    }
    c.batch_execute("SELECT pg_stat_statements_reset()")
        .expect("reset");
    let accepts = accepts.min(tokens.len() - 10);
    let mut wall: Vec<f64> = (10..10 + accepts)
        .map(|i| {
            let t = std::time::Instant::now();
            accept(i);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    wall.sort_by(f64::total_cmp);
    println!(
        "\naccept wall time (client): p50 {:.3} ms, p90 {:.3} ms",
        wall[wall.len() / 2],
        wall[wall.len() * 9 / 10]
    );
    print_costs(&mut c, "an accept (Enlist::accept)", accepts);
    if std::env::var_os("ENLIST_PROFILE_KEEP").is_some() {
        println!("kept schema {schema}");
        return;
    }
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .expect("drop");
}

//! Migrations on connect: applied once even when many servers start
//! together, refused on a newer schema, and bad settings refused clearly.

use crate::common::*;
use enlist::StoreError;
use enlist_postgres::{PostgresOptions, PostgresStore};
use std::sync::Barrier;

#[test]
fn servers_starting_together_migrate_once() {
    let Some(url) = url() else { return };
    let schema = schema_name();
    let n = 8;
    let barrier = Barrier::new(n);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    PostgresStore::connect_in_schema(&url, &schema).map(|_| ())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut c = raw(&url, &schema);
    let versions: Vec<i32> = c
        .query(
            "SELECT version FROM enlist_schema_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    c.batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .unwrap();
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let expected: Vec<i32> = (1..=PostgresStore::SCHEMA_VERSION as i32).collect();
    assert_eq!(versions, expected);
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let Some(f) = Fresh::new() else { return };
    let mut c = f.sql();
    let newer = PostgresStore::SCHEMA_VERSION as i32 + 1;
    c.execute(
        "INSERT INTO enlist_schema_migrations (version, name) VALUES ($1, 'from the future')",
        &[&newer],
    )
    .unwrap();
    let tables_before = count(
        &mut c,
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
    );
    let e = PostgresStore::connect_in_schema(&f.url, &f.schema).unwrap_err();
    match e {
        StoreError::SchemaTooNew { found, supported } => {
            assert_eq!(found, newer as u32);
            assert_eq!(supported, PostgresStore::SCHEMA_VERSION);
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
        ),
        tables_before
    );
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM enlist_schema_migrations"),
        i64::from(newer)
    );
}

#[test]
fn the_schema_is_created_with_every_table_keyed_by_organization() {
    let Some(f) = Fresh::new() else { return };
    let mut c = f.sql();
    // Every primary key and unique index starts with org_id (Citus needs
    // the distribution column in each); the non-unique exceptions are the
    // cross-organization lookups (the due lists, the outbox by id, and the
    // event feed of every organization).
    let rows = c
        .query(
            "SELECT i.relname::text, ix.indisunique,
                    (SELECT a.attname::text FROM pg_attribute a
                     WHERE a.attrelid = ix.indrelid AND a.attnum = ix.indkey[0])
             FROM pg_index ix
             JOIN pg_class i ON i.oid = ix.indexrelid
             JOIN pg_class t ON t.oid = ix.indrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = current_schema() AND t.relname <> 'enlist_schema_migrations'",
            &[],
        )
        .unwrap();
    assert!(rows.len() >= 20, "{} indexes", rows.len());
    let mut exceptions = Vec::new();
    for r in &rows {
        let (name, unique, first): (String, bool, String) = (r.get(0), r.get(1), r.get(2));
        if first != "org_id" {
            assert!(!unique, "unique index {name} does not start with org_id");
            exceptions.push(name);
        }
    }
    exceptions.sort();
    assert_eq!(
        exceptions,
        [
            "events_feed",
            "invitations_due_all",
            "outbox_due_all",
            "outbox_id"
        ]
    );
}

#[test]
fn bad_settings_are_clear_errors() {
    let Some(url) = url() else { return };
    for bad in ["", &"x".repeat(64), "a\0b"] {
        let e = PostgresStore::connect_in_schema(&url, bad).unwrap_err();
        assert!(e.to_string().contains("schema name"), "{bad:?}: {e}");
    }
    let e = PostgresStore::connect("definitely not a connection string ===").unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)), "{e:?}");
    // Nothing listens on port 1.
    let e = PostgresStore::connect("postgres://enlist@127.0.0.1:1/enlist?connect_timeout=2")
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Unavailable(m) if m.contains("cannot connect")),
        "{e:?}"
    );
    // A pool of one: a second transaction waits, then reports the pool busy.
    let schema = schema_name();
    let mut options = PostgresOptions::in_schema(&schema);
    options.max_connections = 1;
    options.acquire_timeout = std::time::Duration::from_millis(200);
    let store = PostgresStore::connect_with_options(&url, options).unwrap();
    {
        let _first = enlist::Store::begin(&store).unwrap();
        let e = enlist::Store::begin(&store).err().expect("pool exhausted");
        assert!(
            matches!(&e, StoreError::Unavailable(m) if m.contains("busy")),
            "{e:?}"
        );
    }
    // Returned: usable again.
    enlist::Store::begin(&store).unwrap().commit().unwrap();
    drop(store);
    raw(&url, &schema)
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .unwrap();
}

/// Migration 0006 puts the events a version 5 database holds in the feed,
/// with their kinds, before every event written after it.
#[test]
fn migration_0006_feeds_existing_events_first() {
    use enlist::testing::entities::{begin, event};
    let Some(f) = crate::common::Fresh::new() else {
        return;
    };
    let org = enlist::OrgId::from("org_feed");
    let mut tx = begin(&*f.store);
    tx.append_event(&event(&org, 1)).unwrap();
    tx.append_event(&event(&org, 2)).unwrap();
    tx.commit().unwrap();
    let mut sql = f.sql();
    sql.batch_execute(
        "DROP INDEX events_feed;
         ALTER TABLE events DROP COLUMN feed_tx, DROP COLUMN feed_pos, DROP COLUMN kind;
         DELETE FROM enlist_schema_migrations WHERE version >= 6;",
    )
    .unwrap();
    let upgraded = f.another();
    let mut tx = begin(&*upgraded);
    tx.append_event(&event(&org, 3)).unwrap();
    tx.commit().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let feed = loop {
        let mut tx = begin(&*upgraded);
        let feed = tx
            .event_feed(None, &["invitation_revoked".into()], 10)
            .unwrap();
        if feed.len() >= 3 || std::time::Instant::now() > deadline {
            break feed;
        }
        drop(tx);
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let seqs: Vec<u64> = feed.iter().map(|e| e.event.seq).collect();
    assert_eq!(seqs, [1, 2, 3], "the old events first, with their kinds");
    assert!(feed[0].cursor.starts_with("0."), "{}", feed[0].cursor);
}

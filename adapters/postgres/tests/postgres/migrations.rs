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
            // The exceptions: slugs are unique across organizations
            // (`organizations` is a reference table under Citus), and a
            // domain is verified by one organization at a time.
            assert!(
                !unique || name == "organizations_slug" || name == "org_domains_verified",
                "unique index {name} does not start with org_id"
            );
            exceptions.push(name);
        }
    }
    exceptions.sort();
    // The invitee's inbox (0006) is a person's invitations across
    // organizations: by recipient key and by bound account.
    assert_eq!(
        exceptions,
        [
            "events_feed",
            "invitations_due_all",
            "invitations_person_account",
            "invitations_person_key",
            "members_by_account",
            "org_domains_verified",
            "organizations_listed",
            "organizations_listed_name",
            "organizations_slug",
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

/// Migration 0006 fills the inviter column of open invitations stored
/// before it from their bodies' text (a nested `"inviter"` key in metadata
/// and a `\u0000` in a message notwithstanding), so the per-inviter count
/// is right at once after an upgrade.
#[test]
fn migration_0006_fills_the_inviter_of_existing_open_invitations() {
    use crate::common::{Fresh, begin, org_id, organization, t};
    use enlist::testing::entities::pending;
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let ann = enlist::MemberId::from("mem_ann");
    let mut tx = begin(&*f.store);
    tx.put_organization(&organization(&org)).expect("org");
    for i in 0..3u8 {
        let mut inv = pending(
            &org,
            &format!("inv_{i}"),
            &format!("k{i}@x.test"),
            i + 1,
            100,
        );
        inv.inviter = Some(ann.clone());
        inv.message = Some("hostile \u{0}\"inviter\":\"mem_bob\"".into());
        tx.put_invitation(&inv).expect("invitation");
    }
    // The system's invitation, with metadata naming an inviter.
    let mut sys = pending(&org, "inv_s", "s@x.test", 9, 100);
    sys.public_metadata =
        enlist::Metadata::from_json(r#"{"inviter": "mem_ann"}"#).expect("metadata");
    tx.put_invitation(&sys).expect("system invitation");
    tx.commit().expect("commit");
    // Back to version 5: the column gone, the migration forgotten.
    f.downgrade(5);
    let upgraded = f.another();
    let mut tx = begin(&*upgraded);
    assert_eq!(
        tx.open_invitations_by_inviter(&org, &ann, t(0))
            .expect("count"),
        3
    );
    assert_eq!(
        tx.open_invitations_by_inviter(&org, &enlist::MemberId::from("mem_bob"), t(0))
            .expect("count"),
        0
    );
}

/// Migration 0011: the single link of a version-10 schema becomes the
/// default link, found by its secret (the JSON array of its hash turned
/// into hex), and named links go beside it.
#[test]
fn migration_0011_makes_the_single_link_the_default_link() {
    use enlist::testing::entities::{hash, named_link};
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    tx.put_organization(&organization(&org)).expect("org");
    tx.commit().expect("commit");
    let old = serde_json::json!({
        "org_id": org, "role": "member", "kind": "member", "groups": [],
        // Version 10 wrote a hash as an array of 32 numbers.
        "license_type": "standard", "secret_hash": hash(77).0, "active": true,
        "created_by": null, "created_at": "2026-01-01T00:00:00.123Z", "uses": 4,
    })
    .to_string();
    f.downgrade(10);
    let mut sql = f.sql();
    sql.execute(
        "INSERT INTO invite_links (org_id, body) VALUES ($1, $2::text::json)",
        &[&org.as_str(), &old],
    )
    .expect("a version-5 link");
    let upgraded = f.another();
    let mut tx = begin(&*upgraded);
    let found = tx
        .link_by_secret(&org, &hash(77))
        .expect("read")
        .expect("found by its secret");
    assert!(found.id.is_default());
    assert_eq!((found.uses, found.secret_hash), (4, Some(hash(77))));
    assert_eq!(tx.invite_link(&org).expect("read"), Some(found.clone()));
    assert_eq!(tx.link_by_secret(&org, &hash(78)).expect("read"), None);
    let named = named_link(&org, "lnk_a", 79, 0);
    tx.put_link(&named).expect("a named link beside it");
    assert_eq!(tx.links(&org, 10).expect("list"), vec![named, found]);
    tx.commit().expect("commit");
    let tables = count(
        &mut sql,
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'invite_links'",
    );
    assert_eq!(tables, 0, "0006 moved the link");
}

/// Migration 0007 puts the events a version 6 database holds in the feed,
/// with their kinds, before every event written after it.
#[test]
fn migration_0007_feeds_existing_events_first() {
    use enlist::testing::entities::{begin, event};
    let Some(f) = crate::common::Fresh::new() else {
        return;
    };
    let org = enlist::OrgId::from("org_feed");
    let mut tx = begin(&*f.store);
    tx.append_event(event(&org, 1)).unwrap();
    tx.append_event(event(&org, 2)).unwrap();
    tx.commit().unwrap();
    f.downgrade(6);
    let upgraded = f.another();
    let mut tx = begin(&*upgraded);
    tx.append_event(event(&org, 3)).unwrap();
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

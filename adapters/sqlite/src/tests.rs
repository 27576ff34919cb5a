//! The store's own tests: what only SQLite can show (persistence,
//! migrations, the raw rows after a rollback, other connections and
//! processes, query plans and costs), and a differential property test
//! against MemoryStore. The `Store` contract every store shares is core's
//! conformance suite, run in `tests/conformance.rs`.

use super::*;
use crate::codec::split as tx_split;
use chrono::{DateTime, Utc};
use enlist::{
    BatchId, Event, Group, GroupGrant, GroupId, InvitationId, InvitationQuery, InvitationStatus,
    Member, MemberId, MemberQuery, MemberStatus, MemoryStore, MessageId, OrgId, Organization,
    OutboxMessage, OutboxStatus, SeatCount, SecretHash, StoredInvitation, StoredInviteLink,
};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

// ----- builders (the domain structs are non_exhaustive: made from JSON) ----

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("a valid time")
}

fn org_id(n: u8) -> OrgId {
    OrgId::from(format!("org_{n}"))
}

fn organization(org: &OrgId) -> Organization {
    serde_json::from_value(json!({
        "id": org, "name": format!("Org {org}"), "policy": {}, "custom_roles": [],
        "created_at": t(0),
    }))
    .expect("organization json")
}

fn group(org: &OrgId, id: &str) -> Group {
    serde_json::from_value(json!({
        "org_id": org, "id": id, "name": id, "description": "", "is_default": false,
        "member_count": 999, "created_at": t(0),
    }))
    .expect("group json")
}

fn member(org: &OrgId, id: &str, contact_key: &str) -> Member {
    serde_json::from_value(json!({
        "org_id": org, "id": id, "user_ref": null,
        "contact": {"type": "email", "value": contact_key}, "contact_key": contact_key,
        "first_name": null, "last_name": null, "phone": null, "role": "member",
        "kind": "member", "license_type": "standard", "status": "active", "groups": [],
        "joined_at": t(0), "last_active_at": null, "eula_version": null,
        "two_factor_enrolled": false, "removed_at": null,
    }))
    .expect("member json")
}

fn invitation(org: &OrgId, id: &str, recipient_key: &str) -> StoredInvitation {
    serde_json::from_value(json!({
        "org_id": org, "id": id, "batch_id": "bat_1",
        "recipient": {"type": "email", "value": recipient_key}, "recipient_key": recipient_key,
        "display_name": null, "first_name": null, "last_name": null, "kind": "member",
        "role": "member", "groups": [], "license_type": "standard", "inviter": null,
        "message": null, "created_at": t(0), "expires_at": null, "status": "staged",
        "secret_hash": null, "send_count": 0, "last_sent_at": null, "failed_attempts": 0,
        "closed_at": null, "member_id": null,
    }))
    .expect("invitation json")
}

fn hash(n: u8) -> SecretHash {
    SecretHash([n; 32])
}

fn event(org: &OrgId, n: u32) -> Event {
    serde_json::from_value(json!({
        "org_id": org, "seq": 12345, "at": t(i64::from(n)), "actor": {"type": "system"},
        "kind": {"type": "invitation_revoked", "invitation": format!("inv_{n}")},
    }))
    .expect("event json")
}

fn message(org: &OrgId, id: &str, inv: &str, next: i64) -> OutboxMessage {
    serde_json::from_value(json!({
        "id": id, "org_id": org, "invitation_id": inv,
        "email": {
            "message_id": id, "to": "a@x.test", "to_name": null, "subject": "Join",
            "text_body": "body", "accept_url": "https://x.test/accept", "org_name": "Org",
            "inviter_name": null, "personal_message": null, "expires_at": t(1000),
        },
        "status": "queued", "attempts": 0, "next_attempt_at": t(next), "last_error": null,
        "created_at": t(0), "sent_at": null,
    }))
    .expect("message json")
}

fn link(org: &OrgId) -> StoredInviteLink {
    serde_json::from_value(json!({
        "org_id": org, "role": "member", "kind": "member", "groups": [],
        "license_type": "standard", "secret_hash": hash(200), "active": true,
        "created_by": null, "created_at": t(0), "uses": 0,
    }))
    .expect("link json")
}

// ----- helpers -------------------------------------------------------------

fn begin(store: &SqliteStore) -> Box<dyn Transaction + '_> {
    store.begin().expect("begin")
}

/// A store on a file in a fresh temporary folder (kept alive by the guard).
fn file_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("enlist.sqlite3")).expect("open");
    (store, dir)
}

/// Every row of every table of the file, as text, sorted: what "nothing
/// changed" compares. Read through a connection of its own.
fn dump(path: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = Connection::open(path).expect("open for dump");
    let tables = first_column(
        &conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    )
    .expect("names");
    let mut out = BTreeMap::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\""))
            .expect("prepare");
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| r.get::<_, Value>(i).map(|v| format!("{v:?}")))
                    .collect::<Result<Vec<_>, _>>()
                    .map(|v| v.join("|"))
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows.sort();
        out.insert(table, rows);
    }
    out
}

fn all_members(tx: &mut dyn Transaction, org: &OrgId, mut q: MemberQuery) -> Vec<Member> {
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let page = tx.list_members(org, &q).expect("list_members");
        assert!(page.items.len() <= q.limit.clamp(1, 1000) as usize);
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("pagination does not end");
}

/// One organization with groups, members, an invitation, a link, an event
/// and a message, all committed.
fn populate(store: &SqliteStore) -> OrgId {
    let org = org_id(1);
    let mut tx = begin(store);
    tx.put_organization(&organization(&org)).expect("put");
    tx.put_group(&group(&org, "grp_a")).expect("put");
    tx.put_group(&group(&org, "grp_b")).expect("put");
    for i in 0..5 {
        let mut m = member(&org, &format!("mem_{i}"), &format!("p{i}@x.test"));
        m.user_ref = Some(format!("u{i}"));
        m.groups = vec![GroupGrant::member(GroupId::from("grp_a"))];
        m.role = if i == 0 { "owner" } else { "member" }.into();
        tx.put_member(&m).expect("put");
    }
    let mut inv = invitation(&org, "inv_1", "q1@x.test");
    inv.status = InvitationStatus::Pending;
    inv.secret_hash = Some(hash(1));
    inv.expires_at = Some(t(100));
    tx.put_invitation(&inv).expect("put");
    tx.append_event(event(&org, 1)).expect("append");
    tx.put_outbox_message(message(&org, "msg_1", "inv_1", 5))
        .expect("put");
    tx.put_invite_link(&link(&org)).expect("put");
    tx.commit().expect("commit");
    org
}

// ----- opening, migrations, persistence ------------------------------------

/// What each migration added, undone: `UNDO[v]` takes a file from version
/// `v` back to `v - 1`. The upgrade tests build older files with
/// [`downgrade`], so a new migration adds its undo here, once.
const UNDO: &[(u32, &str)] = &[
    (2, "DROP TABLE email_templates; DROP TABLE email_settings;"),
    (3, "DROP INDEX outbox_failed;"),
    (
        4,
        "DROP TABLE people; DROP TABLE people_terms; DROP TABLE people_groups;",
    ),
    (5, "DROP TABLE batch_reports;"),
    (6, "DROP INDEX invitations_open_by_inviter;"),
    (
        7,
        "DROP TABLE event_feed_head; ALTER TABLE events DROP COLUMN kind;",
    ),
    (
        8,
        "DROP INDEX organizations_listed; DROP INDEX organizations_slug;
         DROP INDEX members_by_account;
         ALTER TABLE organizations DROP COLUMN slug;
         ALTER TABLE organizations DROP COLUMN name_key;
         ALTER TABLE organizations DROP COLUMN deleted;",
    ),
    (
        9,
        "DROP INDEX invitations_person_key; DROP INDEX invitations_person_account;
         ALTER TABLE invitations DROP COLUMN user_ref;",
    ),
    (
        10,
        "DROP TABLE org_domains; DROP TABLE membership_requests;",
    ),
    (11, V5_LINKS),
    (12, "DROP INDEX organizations_listed_name;"),
    // 0013 also rewrites CREATE statements (`checks::rewrite`), see
    // `downgrade`.
    (
        13,
        "DROP INDEX invitations_open_by_inviter;
         ALTER TABLE invitations DROP COLUMN inviter;
         CREATE INDEX invitations_open_by_inviter ON invitations
             (org_id, json_extract(body, '$.inviter'), expires_s, expires_ns)
             WHERE status IN ('staged', 'pending');",
    ),
    // 0014 dropped the count triggers of 0001: `downgrade` creates them
    // again from that file.
    (14, ""),
    // 0015 also puts back the invitations' people rows, see `downgrade`.
    (
        15,
        "DROP INDEX invitations_people_name; DROP INDEX invitations_people_role;
         DROP INDEX invitations_people_id; DROP INDEX invitations_expired_recipient;
         ALTER TABLE invitations DROP COLUMN name_key;",
    ),
    // 0016 deleted the search term of each invitation found by its name
    // key: it is the name key, put back (a person with terms has that row
    // already).
    (
        16,
        "INSERT OR IGNORE INTO people_terms (org_id, term, pid)
         SELECT org_id, name_key, 'i.' || invitation_id FROM invitations
         WHERE name_key = recipient_key
           AND (status = 'staged' OR status = 'pending' OR status = 'expired');",
    ),
    // 0017 also makes `people` again, with the members' rows, see
    // `downgrade`.
    (
        17,
        "DROP INDEX members_people_name; DROP INDEX members_people_role;
         DROP INDEX members_people_since; DROP INDEX members_people_last;
         ALTER TABLE members DROP COLUMN name_key;
         ALTER TABLE members DROP COLUMN joined_s; ALTER TABLE members DROP COLUMN joined_ns;
         ALTER TABLE members DROP COLUMN last_s; ALTER TABLE members DROP COLUMN last_ns;",
    ),
    (
        18,
        "DROP INDEX members_live_user_ref;
         CREATE UNIQUE INDEX members_live_user_ref ON members (org_id, user_ref)
             WHERE status <> 'removed' AND user_ref IS NOT NULL;
         CREATE INDEX members_by_account ON members (user_ref, org_id)
             WHERE status <> 'removed' AND user_ref IS NOT NULL;",
    ),
    // 0019 to 0021 also rebuild their indexes on `org_id` again, see
    // `downgrade`.
    (
        19,
        "ALTER TABLE invitations DROP COLUMN org; DROP TABLE org_keys;",
    ),
    (
        20,
        "ALTER TABLE events DROP COLUMN org; ALTER TABLE outbox DROP COLUMN org;",
    ),
    (21, "ALTER TABLE members DROP COLUMN org;"),
    // Version 21's head holds every position given.
    (
        22,
        "DROP TRIGGER events_feed_floor;
         UPDATE event_feed_head SET last = MAX(last, (SELECT COALESCE(MAX(rid), 0) FROM events))
         WHERE id = 1;",
    ),
    // Version 22 kept the totals per status and the closed invitations'
    // counters.
    (
        23,
        "INSERT INTO counts (org_id, what, key, status, n)
         SELECT org_id, 'member', '', status, COUNT(*) FROM members GROUP BY org_id, status;
         INSERT INTO counts (org_id, what, key, status, n)
         SELECT org_id, 'invitation_license', license_type, status, COUNT(*) FROM invitations
         WHERE status <> 'staged' AND status <> 'pending'
         GROUP BY org_id, license_type, status;",
    ),
    // 0024 dropped member terms: `downgrade` writes them again.
    (24, ""),
    // Version 24 kept a queued draft's link, and every message's status,
    // in its body.
    (
        25,
        "UPDATE outbox SET body = json_set(body, '$.status', status)
         WHERE json_extract(body, '$.status') <> status;
         UPDATE outbox SET body = json_set(body, '$.email.accept_url', link)
         WHERE link IS NOT NULL;
         ALTER TABLE outbox DROP COLUMN link;",
    ),
    // Version 25 kept the due rows of every organization in two indexes.
    (
        26,
        "DROP TABLE due_heads;
         CREATE INDEX invitations_due_all ON invitations (expires_s, expires_ns, org_id, invitation_id)
             WHERE status = 'pending' AND expires_s IS NOT NULL;
         CREATE INDEX outbox_due_all ON outbox (next_s, next_ns, message_id)
             WHERE status = 'queued';",
    ),
    // Version 26 walked invitations by last activity in id order.
    (
        27,
        "CREATE INDEX invitations_people_id ON invitations
             (org, status, invitation_id)
             WHERE status = 'staged' OR status = 'pending' OR status = 'expired';",
    ),
];

/// Whether a dumped row of `counts` is one that migration 0023 deletes: a
/// members' total per status, or a counter of closed invitations.
fn kept_no_longer(row: &str) -> bool {
    let parts: Vec<&str> = row.split('|').collect();
    match parts.get(1..4) {
        Some(["Text(\"member\")", ..]) => true,
        Some(["Text(\"invitation_license\")", _, status]) => {
            !matches!(*status, "Text(\"staged\")" | "Text(\"pending\")")
        }
        _ => false,
    }
}

/// `people` as versions 13 to 16 had it: 0004's table and indexes, with
/// the status CHECK as 0013 rewrote it.
fn people_table_v16() -> String {
    let v4 = MIGRATIONS[3].2;
    let from = v4.find("CREATE TABLE people (").expect("0004 makes people");
    let to = v4.find("-- The search terms").expect("then its terms");
    let check = crate::checks::CHECKS
        .iter()
        .find(|c| c.table == "people")
        .expect("people's check");
    v4[from..to].replace(check.old, &check.new_text())
}

/// The count triggers of schema versions 1 to 13, as 0001_initial.sql
/// created them (its last statements).
fn count_triggers() -> &'static str {
    let initial = MIGRATIONS[0].2;
    let at = initial
        .find("CREATE TRIGGER members_count_insert")
        .expect("0001 creates the count triggers");
    &initial[at..]
}

/// Takes a current file back to schema version `to`, as an older enlist
/// left it.
pub(crate) fn downgrade(conn: &Connection, to: u32) -> rusqlite::Result<()> {
    for (version, sql) in UNDO.iter().rev() {
        if *version > to {
            if (19..=21).contains(version) {
                conn.execute_batch(&indexes_on_org_id(MIGRATIONS[*version as usize - 1].2))?;
            }
            conn.execute_batch(sql)?;
            if *version == 13 {
                crate::checks::rewrite(conn, true).expect("undo 0013");
            }
            if *version == 14 {
                conn.execute_batch(count_triggers())?;
            }
            if *version == 15 {
                invitation_people_rows(conn)?;
            }
            if *version == 17 {
                conn.execute_batch(&people_table_v16())?;
                member_people_rows(conn)?;
            }
            if *version == 24 {
                member_terms_v23(conn)?;
            }
        }
    }
    conn.pragma_update(None, "user_version", to)
}

/// The index statements of migrations 0019 to 0021 as they were before
/// them: each `DROP INDEX` and `CREATE [UNIQUE] INDEX` of the migration,
/// its indexes on `org_id` where the migration put `org`.
fn indexes_on_org_id(migration: &str) -> String {
    migration
        .split(';')
        .map(|statement| {
            statement
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| {
            let s = s.trim_start();
            s.starts_with("DROP INDEX")
                || s.starts_with("CREATE INDEX")
                || s.starts_with("CREATE UNIQUE INDEX")
        })
        .map(|s| format!("{};\n", s.replace("(org, ", "(org_id, ")))
        .collect()
}

/// Writes every search term of every member, as versions 4 to 23 kept
/// them (0024 drops those its keys answer).
fn member_terms_v23(conn: &Connection) -> rusqlite::Result<()> {
    for b in first_column(conn, "SELECT body FROM members")? {
        let m: Member = serde_json::from_str(&b).expect("a member");
        let p = enlist::Person::from_member(&m);
        for t in p.search_terms() {
            conn.execute(
                "INSERT OR IGNORE INTO people_terms (org_id, term, pid) VALUES (?1, ?2, ?3)",
                params![m.org_id.as_str(), t, p.pid()],
            )?;
        }
    }
    Ok(())
}

/// Writes the `people` row of every member, as versions 4 to 16 kept them
/// (their terms and groups are still there).
fn member_people_rows(conn: &Connection) -> rusqlite::Result<()> {
    for b in first_column(conn, "SELECT body FROM members")? {
        let m: Member = serde_json::from_str(&b).expect("a member");
        people_row(conn, &enlist::Person::from_member(&m))?;
    }
    Ok(())
}

/// Writes the `people` row of every invitation of the view, as versions
/// 4 to 14 kept them (their terms and groups are still there).
fn invitation_people_rows(conn: &Connection) -> rusqlite::Result<()> {
    for b in first_column(
        conn,
        "SELECT body FROM invitations WHERE status IN ('staged', 'pending', 'expired')",
    )? {
        let inv: StoredInvitation = serde_json::from_str(&b).expect("an invitation");
        people_row(
            conn,
            &enlist::Person::from_invitation(&inv).expect("in the view"),
        )?;
    }
    Ok(())
}

/// Writes the `people` row of `p`, as versions 4 to 16 kept them.
fn people_row(conn: &Connection, p: &enlist::Person) -> rusqlite::Result<()> {
    {
        let row = enlist::store::people::person_row(p);
        conn.execute(
            "INSERT INTO people (org_id, pid, status, expires_s, expires_ns, name_key,
                 contact_key, role, kind, license_type, since_s, since_ns, last_s, last_ns, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                p.org_id.as_str(),
                p.pid(),
                row.status,
                row.expires.map(|e| e.0),
                row.expires.map(|e| e.1),
                row.name_key,
                p.contact_key,
                p.role,
                row.kind,
                p.license_type,
                row.since.0,
                row.since.1,
                row.last_active.0,
                row.last_active.1,
                serde_json::to_string(&p).expect("json"),
            ],
        )?;
    }
    Ok(())
}

#[test]
fn every_migration_has_its_undo() {
    let undone: Vec<u32> = UNDO.iter().map(|u| u.0).collect();
    let expected: Vec<u32> = (2..=SqliteStore::SCHEMA_VERSION).collect();
    assert_eq!(undone, expected);
}

#[test]
fn migrations_are_numbered_and_end_at_the_schema_version() {
    for (i, (version, name, sql)) in MIGRATIONS.iter().enumerate() {
        assert_eq!(*version as usize, i + 1);
        assert!(name.starts_with(&format!("{version:04}_")), "{name}");
        assert!(!sql.trim().is_empty());
    }
    assert_eq!(
        MIGRATIONS.last().map(|m| m.0),
        Some(SqliteStore::SCHEMA_VERSION)
    );
}

#[test]
fn a_new_file_gets_the_schema_wal_and_its_marks() {
    let (store, dir) = file_store();
    let path = store.path().expect("a file").to_path_buf();
    assert_eq!(path, dir.path().join("enlist.sqlite3"));
    drop(store);
    let conn = Connection::open(&path).expect("open");
    let pragma = |name: &str| -> Value {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .expect("pragma")
    };
    assert_eq!(
        pragma("user_version"),
        Value::Integer(i64::from(SqliteStore::SCHEMA_VERSION))
    );
    assert_eq!(
        pragma("application_id"),
        Value::Integer(i64::from(APPLICATION_ID))
    );
    assert_eq!(pragma("journal_mode"), Value::Text("wal".into()));
    let tables = dump(&path);
    for t in [
        "organizations",
        "groups",
        "members",
        "member_groups",
        "invitations",
        "links",
        "events",
        "outbox",
        "counts",
    ] {
        assert!(tables.contains_key(t), "missing table {t}");
    }
}

#[test]
fn reopening_a_file_finds_everything_and_changes_nothing() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    let org = populate(&store);
    let before = {
        let mut tx = begin(&store);
        (
            tx.organization(&org).expect("read"),
            tx.groups(&org).expect("read"),
            all_members(&mut *tx, &org, MemberQuery::default()),
            tx.invitation_by_secret(&org, &hash(1)).expect("read"),
            tx.events(&org, 0, 10).expect("read"),
            tx.outbox_message(&MessageId::from("msg_1")).expect("read"),
            tx.invite_link(&org).expect("read"),
            tx.seat_counts(&org).expect("read"),
        )
    };
    assert!(before.0.is_some() && before.3.is_some() && before.5.is_some());
    drop(store);
    let rows = dump(&path);
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(dump(&path), rows, "opening an up-to-date file wrote to it");
    let mut tx = begin(&store);
    let after = (
        tx.organization(&org).expect("read"),
        tx.groups(&org).expect("read"),
        all_members(&mut *tx, &org, MemberQuery::default()),
        tx.invitation_by_secret(&org, &hash(1)).expect("read"),
        tx.events(&org, 0, 10).expect("read"),
        tx.outbox_message(&MessageId::from("msg_1")).expect("read"),
        tx.invite_link(&org).expect("read"),
        tx.seat_counts(&org).expect("read"),
    );
    assert_eq!(after, before);
    assert_eq!(after.1[0].member_count, 5);
    // The sequence continues where it was.
    assert_eq!(tx.append_event(event(&org, 2)).expect("append"), 2);
}

#[test]
fn a_file_from_a_newer_version_is_refused_untouched() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    populate(&store);
    drop(store);
    let newer = SqliteStore::SCHEMA_VERSION + 1;
    Connection::open(&path)
        .and_then(|c| c.pragma_update(None, "user_version", newer))
        .expect("bump version");
    let rows = dump(&path);
    let err = SqliteStore::open(&path).expect_err("a newer schema");
    match &err {
        StoreError::SchemaTooNew { found, supported } => {
            assert_eq!(*found, newer);
            assert_eq!(*supported, SqliteStore::SCHEMA_VERSION);
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert!(err.to_string().contains("newer"), "{err}");
    assert_eq!(dump(&path), rows);
}

#[test]
fn files_that_are_not_enlist_stores_are_refused_untouched() {
    let dir = tempfile::tempdir().expect("dir");
    // Another application's database.
    let other = dir.path().join("other.sqlite3");
    {
        let c = Connection::open(&other).expect("open");
        c.execute_batch("PRAGMA application_id = 42; CREATE TABLE notes (x TEXT);")
            .expect("setup");
    }
    let rows = dump(&other);
    let err = SqliteStore::open(&other).expect_err("another application's file");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(err.to_string().contains("another application"), "{err}");
    assert_eq!(dump(&other), rows);
    // Not a database at all.
    let junk = dir.path().join("junk.sqlite3");
    let bytes = b"this is not a SQLite database, just some text".repeat(200);
    std::fs::write(&junk, &bytes).expect("write");
    let err = SqliteStore::open(&junk).expect_err("junk");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert_eq!(std::fs::read(&junk).expect("read"), bytes);
    // A folder that does not exist.
    let err = SqliteStore::open(dir.path().join("no/such/dir/x.sqlite3")).expect_err("no dir");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[test]
fn a_file_at_version_zero_with_other_tables_is_migrated() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("shared.sqlite3");
    Connection::open(&path)
        .and_then(|c| c.execute_batch("CREATE TABLE app_settings (k TEXT, v TEXT)"))
        .expect("setup");
    let store = SqliteStore::open(&path).expect("open");
    let org = populate(&store);
    assert!(begin(&store).organization(&org).expect("read").is_some());
    assert!(dump(&path).contains_key("app_settings"));
}

#[test]
fn a_version_1_file_gains_the_later_tables_and_indexes_and_keeps_its_rows() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    let org = populate(&store);
    drop(store);
    // The file as version 1 left it: no email tables (0002), no index of
    // the dead letters (0003), no people tables (0004), user_version 1.
    Connection::open(&path)
        .and_then(|c| downgrade(&c, 1))
        .expect("downgrade to version 1");
    let before = dump(&path);
    assert!(!before.contains_key("email_templates"));
    let store = SqliteStore::open(&path).expect("open migrates");
    let after = dump(&path);
    for (table, rows) in &before {
        if table == "invite_links" {
            // Migration 0011 moves the single link into `links` (its own
            // test).
            continue;
        }
        if table == "sqlite_sequence" {
            // SQLite's own table: left behind (empty) by taking 0019's
            // AUTOINCREMENT table away, and holding its sequence again
            // after the migration.
            continue;
        }
        if table == "organizations" {
            // Migration 0006 gives each organization a slug (its own test).
            assert_eq!(after.get(table).map(Vec::len), Some(rows.len()));
            continue;
        }
        // 0023 drops the members' totals per status (the sum of their
        // roles') and the closed invitations' counters.
        let rows: Vec<String> = if table == "counts" {
            rows.iter()
                .filter(|r| !kept_no_longer(r))
                .cloned()
                .collect()
        } else {
            rows.clone()
        };
        // 0006 adds `invitations.user_ref`, NULL for every existing row,
        // 0013 `invitations.inviter`, from the body (none here), 0015
        // `invitations.name_key` (the one invitation has no name: its
        // recipient key), and 0019 `invitations.org`, the number of its
        // organization (the first numbered).
        let rows: Vec<String> = if table == "invitations" {
            rows.iter()
                .map(|r| format!("{r}|Null|Null|Text(\"q1@x.test\")|Integer(1)"))
                .collect()
        } else {
            rows.clone()
        };
        // 0006 adds a column to the events: the rows are kept, each with
        // its kind at the end, then (0020) its organization's number, as
        // each queued message has (the first numbered).
        let kept: Option<Vec<String>> = after.get(table).map(|rows| {
            rows.iter()
                .map(|r| match table.as_str() {
                    "events" => {
                        let Some(kept) = r.strip_suffix("|Integer(1)") else {
                            return format!("{r} (not numbered)");
                        };
                        kept.rsplit_once('|')
                            .map_or(r.clone(), |(k, _)| k.to_owned())
                    }
                    // And 0025 its `link` column, NULL for a row written
                    // before (its link stays in its body).
                    "outbox" => r
                        .strip_suffix("|Integer(1)|Null")
                        .map_or_else(|| format!("{r} (not numbered)"), str::to_owned),
                    // 0017 adds the members' five people-view columns at
                    // the end (its own test checks them).
                    "members" => r.split('|').take(10).collect::<Vec<_>>().join("|"),
                    _ => r.clone(),
                })
                .collect()
        });
        assert_eq!(kept.as_ref(), Some(&rows), "{table} kept");
    }
    assert!(!after.contains_key("invite_links"), "0006 moved the link");
    let mut tx = begin(&store);
    assert!(tx.organization(&org).expect("read").is_some());
    assert_eq!(tx.email_templates(&org).expect("the new table"), vec![]);
    tx.put_email_settings(&enlist::EmailSettings::defaults(org.clone()))
        .expect("write to the new table");
    tx.commit().expect("commit");
    drop(store);
    let c = Connection::open(&path).expect("open");
    let v: u32 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, SqliteStore::SCHEMA_VERSION);
    assert!(
        in_schema(&c, "index", "outbox_failed"),
        "migration 0003 made the dead letters' index"
    );
    assert!(
        in_schema(&c, "table", "batch_reports"),
        "migration 0005 made the batch reports' table"
    );
}

/// Whether the file's schema has the table or index `name`.
/// SQLite's plan for `sql` with `params`: the detail of each step, joined
/// by " / ".
fn query_plan(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> String {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .expect("explain");
    let rows: Vec<String> = stmt
        .query_map(params, |r| r.get::<_, String>(3))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    rows.join(" / ")
}

/// The first column of every row `sql` returns, as text.
fn first_column(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare(sql)?.query_map([], |r| r.get(0))?.collect()
}

fn in_schema(conn: &Connection, kind: &str, name: &str) -> bool {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = ?1 AND name = ?2",
        [kind, name],
        |r| r.get::<_, i64>(0),
    )
    .expect("schema")
        == 1
}

/// A version-5 file's link table, with the link of `org_1` the way
/// version 5 wrote it (no id, no named-link fields): what migration 0006
/// moves into `links`.
const V5_LINKS: &str = "DROP TABLE links;
     CREATE TABLE invite_links (org_id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);";

/// Migration 0011: the single link of a version-10 file becomes the
/// default link, found by its secret, and new links go beside it.
#[test]
fn migration_0011_makes_the_single_link_the_default_link() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    let org = populate(&store);
    drop(store);
    let old = serde_json::json!({
        "org_id": org, "role": "member", "kind": "member", "groups": [],
        // Version 10 wrote a hash as an array of 32 numbers.
        "license_type": "standard", "secret_hash": hash(77).0, "active": true,
        "created_by": null, "created_at": "2026-01-01T00:00:00.123Z", "uses": 4,
    })
    .to_string();
    Connection::open(&path)
        .and_then(|c| {
            downgrade(&c, 10)?;
            c.execute(
                "INSERT INTO invite_links (org_id, body) VALUES (?1, ?2)",
                rusqlite::params![org.as_str(), old],
            )
        })
        .expect("downgrade to version 10");
    let store = SqliteStore::open(&path).expect("open migrates");
    let mut tx = begin(&store);
    let by_secret = tx
        .link_by_secret(&org, &hash(77))
        .expect("read")
        .expect("found by its secret");
    assert!(by_secret.id.is_default());
    assert_eq!(by_secret.uses, 4);
    assert_eq!(by_secret.secret_hash, Some(hash(77)));
    assert_eq!(tx.invite_link(&org).expect("read"), Some(by_secret.clone()));
    assert_eq!(tx.link_by_secret(&org, &hash(78)).expect("read"), None);
    let named = enlist::testing::entities::named_link(&org, "lnk_a", 79, 0);
    tx.put_link(&named).expect("a named link beside it");
    assert_eq!(
        tx.links(&org, 10).expect("list"),
        vec![named.clone(), by_secret],
        "oldest first: t(0) is 1970"
    );
    tx.commit().expect("commit");
}

// ----- transactions --------------------------------------------------------

#[test]
fn rollback_on_drop_restores_rows_indexes_and_counters() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    let org = populate(&store);
    let other = org_id(2);
    let before = dump(&path);
    {
        let mut tx = begin(&store);
        let mut m0 = tx
            .member(&org, &MemberId::from("mem_0"))
            .expect("read")
            .expect("exists");
        m0.status = MemberStatus::Removed;
        tx.put_member(&m0).expect("put");
        let mut m1 = member(&org, "mem_1", "p1@x.test");
        m1.role = "owner".into();
        m1.license_type = "pro".into();
        m1.groups = vec![GroupGrant::owner(GroupId::from("grp_b"))];
        tx.put_member(&m1).expect("put");
        let mut fresh = member(&org, "mem_new", "p0@x.test"); // reuses the freed key
        fresh.user_ref = Some("u0".into());
        tx.put_member(&fresh).expect("put");
        let mut inv = tx
            .invitation(&org, &InvitationId::from("inv_1"))
            .expect("read")
            .expect("exists");
        inv.status = InvitationStatus::Accepted;
        inv.secret_hash = None;
        tx.put_invitation(&inv).expect("put");
        let mut inv2 = invitation(&org, "inv_2", "q1@x.test");
        inv2.status = InvitationStatus::Pending;
        inv2.secret_hash = Some(hash(1));
        inv2.expires_at = Some(t(50));
        tx.put_invitation(&inv2).expect("put");
        tx.delete_group(&org, &GroupId::from("grp_a"))
            .expect("delete");
        tx.put_group(&group(&org, "grp_c")).expect("put");
        assert_eq!(tx.append_event(event(&org, 2)).expect("append"), 2);
        let mut msg = message(&org, "msg_1", "inv_1", 5);
        msg.status = OutboxStatus::Superseded;
        tx.put_outbox_message(msg.clone()).expect("put");
        tx.put_outbox_message(message(&other, "msg_2", "inv_9", 1))
            .expect("put");
        tx.put_organization(&organization(&other)).expect("put");
        tx.put_member(&member(&other, "mem_0", "p0@x.test"))
            .expect("put");
        tx.append_event(event(&other, 1)).expect("append");

        // The transaction sees its own writes.
        assert_eq!(tx.count_active_with_role(&org, "owner").expect("count"), 1);
        assert_eq!(
            tx.member_by_contact(&org, "p0@x.test")
                .expect("read")
                .map(|m| m.id),
            Some(MemberId::from("mem_new"))
        );
        assert_eq!(
            tx.seat_count(&org, "pro").expect("count"),
            SeatCount {
                members: 1,
                open_invitations: 0
            }
        );
        assert_eq!(
            tx.group(&org, &GroupId::from("grp_b"))
                .expect("read")
                .map(|g| g.member_count),
            Some(1)
        );
        assert!(
            tx.group(&org, &GroupId::from("grp_a"))
                .expect("read")
                .is_none()
        );
        assert_eq!(tx.due_invitations(None, t(1000), 10).expect("due").len(), 1);
        assert_eq!(tx.due_outbox(None, t(1000), 10).expect("due").len(), 1);
        assert_eq!(tx.events(&org, 0, 10).expect("events").len(), 2);
        // Dropped without commit.
    }
    assert_eq!(dump(&path), before);
    let mut tx = begin(&store);
    assert!(tx.organization(&other).expect("read").is_none());
    assert_eq!(tx.count_active_with_role(&org, "owner").expect("count"), 1);
    assert_eq!(
        tx.member_by_user_ref(&org, "u0")
            .expect("read")
            .map(|m| m.id),
        Some(MemberId::from("mem_0"))
    );
    assert_eq!(
        tx.seat_counts(&org).expect("counts"),
        vec![(
            "standard".to_owned(),
            SeatCount {
                members: 5,
                open_invitations: 1
            }
        )]
    );
    assert_eq!(
        tx.group(&org, &GroupId::from("grp_a"))
            .expect("read")
            .map(|g| g.member_count),
        Some(5)
    );
    assert_eq!(tx.events(&org, 0, 10).expect("events").len(), 1);
}

#[test]
fn unique_violations_are_refused_and_change_nothing() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    let org = populate(&store);
    let before = dump(&path);
    let mut tx = begin(&store);
    let mut dup = member(&org, "mem_x", "p1@x.test");
    let err = tx.put_member(&dup).expect_err("same contact key");
    assert!(
        matches!(&err, StoreError::Unique(UniqueRule::MemberContactKey)),
        "{err:?}"
    );
    dup.contact_key = "new@x.test".into();
    dup.user_ref = Some("u2".into());
    let err = tx.put_member(&dup).expect_err("same user_ref");
    assert!(
        matches!(&err, StoreError::Unique(UniqueRule::MemberUserRef)),
        "{err:?}"
    );
    let mut inv = invitation(&org, "inv_x", "q1@x.test");
    let err = tx.put_invitation(&inv).expect_err("second open invitation");
    assert!(
        matches!(
            &err,
            StoreError::Unique(UniqueRule::InvitationOpenRecipient)
        ),
        "{err:?}"
    );
    inv.recipient_key = "q2@x.test".into();
    inv.secret_hash = Some(hash(1));
    let err = tx.put_invitation(&inv).expect_err("same secret");
    assert!(
        matches!(&err, StoreError::Unique(UniqueRule::InvitationSecret)),
        "{err:?}"
    );
    // The refused writes left nothing, even inside the transaction.
    assert!(
        tx.member(&org, &MemberId::from("mem_x"))
            .expect("read")
            .is_none()
    );
    assert_eq!(tx.seat_count(&org, "standard").expect("count").members, 5);
    tx.commit().expect("commit");
    assert_eq!(dump(&path), before);

    let mut tx = begin(&store);
    let mut removed = member(&org, "mem_x", "p1@x.test");
    removed.status = MemberStatus::Removed;
    removed.user_ref = Some("u1".into());
    tx.put_member(&removed)
        .expect("a removed duplicate is allowed");
    let mut same = tx
        .member(&org, &MemberId::from("mem_1"))
        .expect("read")
        .expect("exists");
    same.first_name = Some("Ann".into());
    tx.put_member(&same).expect("replacing oneself is fine");
    let mut closed = invitation(&org, "inv_y", "q1@x.test");
    closed.status = InvitationStatus::Revoked;
    tx.put_invitation(&closed)
        .expect("a closed invitation does not block");
    removed.status = MemberStatus::Active;
    assert!(matches!(
        tx.put_member(&removed),
        Err(StoreError::Unique(_))
    ));
    closed.status = InvitationStatus::Pending;
    assert!(matches!(
        tx.put_invitation(&closed),
        Err(StoreError::Unique(_))
    ));
    // Secrets are unique per organization only.
    let mut elsewhere = invitation(&org_id(2), "inv_z", "q1@x.test");
    elsewhere.secret_hash = Some(hash(1));
    tx.put_invitation(&elsewhere)
        .expect("another organization may have the same hash");
    tx.commit().expect("commit");
}

#[test]
fn raw_sql_cannot_break_the_invariants_either() {
    // The rules are indexes of the schema, not checks of the Rust code.
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    populate(&store);
    drop(store);
    let conn = Connection::open(&path).expect("open");
    let err = conn
        .execute(
            "INSERT INTO members (org_id, member_id, contact_key, status, role, license_type,
                                  kind, body, org)
             VALUES ('org_1', 'mem_raw', 'p1@x.test', 'active', 'member', 'standard',
                     'member', '{}', (SELECT org FROM org_keys WHERE org_id = 'org_1'))",
            [],
        )
        .expect_err("a second live member with the same key");
    assert!(matches!(
        store_err(err),
        StoreError::Unique(UniqueRule::MemberContactKey)
    ));
    let err = conn
        .execute(
            "INSERT INTO invitations (org_id, invitation_id, batch_id, recipient_key, status,
                                      role, kind, license_type, created_s, created_ns, body,
                                      org)
             VALUES ('org_1', 'inv_raw', 'bat_1', 'q1@x.test', 'pending', 'member', 'member',
                     'standard', 0, 0, '{}',
                     (SELECT org FROM org_keys WHERE org_id = 'org_1'))",
            [],
        )
        .expect_err("a second open invitation for the same recipient");
    assert!(matches!(
        store_err(err),
        StoreError::Unique(UniqueRule::InvitationOpenRecipient)
    ));
    // The rules are on the organization's number (migrations 0019 to
    // 0021): a row without one is refused, where it would slip past them
    // (two NULLs are different values to a unique index).
    for raw in [
        "INSERT INTO members (org_id, member_id, contact_key, status, role, license_type,
                              kind, body)
         VALUES ('org_1', 'mem_raw', 'p1@x.test', 'active', 'member', 'standard',
                 'member', '{}')",
        "INSERT INTO invitations (org_id, invitation_id, batch_id, recipient_key, status, role,
                                  kind, license_type, created_s, created_ns, body)
         VALUES ('org_1', 'inv_raw', 'bat_1', 'q1@x.test', 'pending', 'member', 'member',
                 'standard', 0, 0, '{}')",
        "INSERT INTO events (rid, org_id, seq, body, kind) VALUES (999, 'org_1', 999, '{}', 'x')",
        "INSERT INTO outbox (message_id, org_id, invitation_id, status, next_s, next_ns,
                             created_s, created_ns, body)
         VALUES ('msg_raw', 'org_1', 'inv_1', 'sent', 0, 0, 0, 0, '{}')",
    ] {
        let err = conn.execute(raw, []).expect_err("no organization number");
        assert!(err.to_string().contains("NOT NULL"), "{err}");
    }
    let err = conn
        .execute(
            "UPDATE invitations SET status = 'bogus' WHERE invitation_id = 'inv_1'",
            [],
        )
        .expect_err("an unknown status");
    assert!(err.to_string().contains("CHECK"), "{err}");
}

/// A one-row write to each table with a status CHECK (by rowid, or by
/// key for the table without one).
const CHECKED_WRITES: &[(&str, &str)] = &[
    ("members", "UPDATE members SET status = ?1 WHERE rowid = 1"),
    (
        "invitations",
        "UPDATE invitations SET status = ?1 WHERE rowid = 1",
    ),
    ("outbox", "UPDATE outbox SET status = ?1 WHERE rowid = 1"),
    (
        "membership_requests",
        "UPDATE membership_requests SET status = ?1 WHERE org_id = 'org_1' AND request_id = 'req_1'",
    ),
];

/// Whether SQLite's program for `sql` builds a temporary b-tree.
fn builds_a_temporary_table(conn: &Connection, sql: &str) -> bool {
    let mut stmt = conn.prepare(&format!("EXPLAIN {sql}")).expect("explain");
    let ops: Vec<String> = stmt
        .query_map(["active"], |r| r.get(1))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("ops");
    ops.iter().any(|op| op == "OpenEphemeral")
}

/// Migration 0013: the status checks are plain comparisons (no temporary
/// b-tree per write), on the store's own connection and any other, and
/// they still allow exactly the values they allowed; a version-12 file
/// gets the same by migrating, and no row changes.
#[test]
fn status_checks_need_no_temporary_table_and_still_refuse_unknown_statuses() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    populate(&store);
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        for (table, sql) in CHECKED_WRITES {
            assert!(!builds_a_temporary_table(&conn, sql), "{table}");
        }
    }
    drop(store);
    let check = |conn: &Connection| {
        let mut refused = Vec::new();
        for (table, sql) in CHECKED_WRITES {
            assert!(!builds_a_temporary_table(conn, sql), "{table}");
            let rule = crate::checks::CHECKS
                .iter()
                .find(|c| c.table == *table)
                .expect("a check");
            let schema: String = conn
                .query_row(
                    "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .expect("schema");
            assert!(schema.contains(&rule.new_text()), "{schema}");
            assert!(!schema.contains(rule.old), "{schema}");
            let tx = conn.unchecked_transaction().expect("begin");
            let mut changed = 0;
            for value in rule.values {
                changed += tx.execute(sql, [value]).expect("an allowed status");
            }
            if changed > 0 {
                for bad in ["bogus", "", "Active", "pending "] {
                    let err = tx.execute(sql, [bad]).expect_err("an unknown status");
                    assert!(err.to_string().contains("CHECK"), "{table}: {err}");
                }
                refused.push(*table);
            }
            drop(tx);
        }
        // The fixture has a row of each of these (`people`, whose check
        // 0013 also rewrote, is gone since 0017).
        assert_eq!(refused, ["members", "invitations", "outbox"]);
    };
    check(&Connection::open(&path).expect("open"));
    // A file as version 12 left it builds the temporary b-trees, and loses
    // them by migrating.
    let conn = Connection::open(&path).expect("open");
    downgrade(&conn, 12).expect("downgrade");
    assert!(builds_a_temporary_table(&conn, CHECKED_WRITES[1].1));
    drop(conn);
    let mut rows = dump(&path);
    let store = SqliteStore::open(&path).expect("open migrates");
    drop(store);
    // The only change to a row: the inviter column (none in the fixture);
    // then 0015's name key, and the invitation's people row gone; then
    // 0016: its search term gone (it has no name, a search finds it by
    // its name key).
    for row in rows.get_mut("invitations").expect("invitations") {
        row.push_str("|Null|Text(\"q1@x.test\")");
    }
    rows.get_mut("people_terms")
        .expect("people_terms")
        .retain(|r| !r.contains("Text(\"i.inv_1\")"));
    // Then 0017: `people` gone, each member with its view's keys (no
    // names here: the contact key; joined; never active).
    rows.remove("people");
    for row in rows.get_mut("members").expect("members") {
        let key = row.split('|').nth(3).expect("contact_key").to_owned();
        row.push_str(&format!(
            "|{key}|Integer(1700000000)|Integer(0)|Integer({})|Integer(0)",
            i64::MIN
        ));
    }
    // Then 0019: the organization of the invitation numbered, and the
    // number in its row; 0020: the same number in its event's and its
    // message's; and 0021 in its members'.
    for table in ["invitations", "events", "outbox", "members"] {
        for row in rows.get_mut(table).expect("rows") {
            row.push_str("|Integer(1)");
        }
    }
    rows.insert("org_keys".into(), vec!["Integer(1)|Text(\"org_1\")".into()]);
    rows.insert(
        "sqlite_sequence".into(),
        vec!["Text(\"org_keys\")|Integer(1)".into()],
    );
    // And 0023 drops the counters nothing reads; 0024 the members' terms
    // their keys answer (here all: each is its contact key).
    rows.get_mut("counts")
        .expect("counts")
        .retain(|r| !kept_no_longer(r));
    rows.get_mut("people_terms")
        .expect("people_terms")
        .retain(|r| !r.contains("Text(\"m."));
    // And 0025 gives the message a `link` column, NULL: written before, it
    // keeps its link in its body.
    for row in rows.get_mut("outbox").expect("outbox") {
        row.push_str("|Null");
    }
    // And 0026 keeps each organization's earliest due times in a table.
    let mut after = dump(&path);
    after.remove("due_heads");
    assert_eq!(after, rows, "0013 changed a row");
    let conn = Connection::open(&path).expect("open");
    check(&conn);
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(ok, "ok");
}

/// Migration 0013 fills the inviter column from the bodies, and the count
/// of an inviter's open invitations reads it through its index.
#[test]
fn migration_0013_moves_the_inviter_into_a_column() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    let org = populate(&store);
    drop(store);
    let conn = Connection::open(&path).expect("open");
    downgrade(&conn, 12).expect("downgrade");
    conn.execute(
        "UPDATE invitations SET body = json_set(body, '$.inviter', 'mem_1')
         WHERE invitation_id = 'inv_1'",
        [],
    )
    .expect("an inviter");
    drop(conn);
    let store = SqliteStore::open(&path).expect("open migrates");
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        let inviter: Option<String> = conn
            .query_row(
                "SELECT inviter FROM invitations WHERE invitation_id = 'inv_1'",
                [],
                |r| r.get(0),
            )
            .expect("column");
        assert_eq!(inviter.as_deref(), Some("mem_1"));
    }
    let mut tx = begin(&store);
    let before_expiry = DateTime::<Utc>::from_timestamp(1_700_000_050, 0).expect("time");
    let after_expiry = DateTime::<Utc>::from_timestamp(1_700_000_200, 0).expect("time");
    let mem1 = MemberId::from("mem_1");
    assert_eq!(
        tx.open_invitations_by_inviter(&org, &mem1, before_expiry)
            .expect("count"),
        1
    );
    assert_eq!(
        tx.open_invitations_by_inviter(&org, &mem1, after_expiry)
            .expect("count"),
        0,
        "expired"
    );
    assert_eq!(
        tx.open_invitations_by_inviter(&org, &MemberId::from("mem_2"), before_expiry)
            .expect("count"),
        0
    );
    // A write keeps the column: no inviter now.
    let mut inv = tx
        .invitation_by_secret(&org, &hash(1))
        .expect("read")
        .expect("found");
    assert_eq!(inv.inviter, Some(mem1.clone()));
    inv.invitation.inviter = None;
    tx.put_invitation(&inv).expect("put");
    assert_eq!(
        tx.open_invitations_by_inviter(&org, &mem1, before_expiry)
            .expect("count"),
        0
    );
}

/// The triggers of names, in the file.
fn triggers(conn: &Connection) -> Vec<String> {
    conn.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()
        })
        .expect("triggers")
}

/// A file written before migration 0014 (counters kept by triggers, here
/// by writes made through them with SQL) keeps exact counts after it, and
/// the store's own writes keep them exact from there.
#[test]
fn migration_0014_keeps_the_counts_the_triggers_kept() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    let org = populate(&store);
    drop(store);
    let conn = Connection::open(&path).expect("open");
    downgrade(&conn, 13).expect("downgrade");
    assert_eq!(triggers(&conn).len(), 8, "version 13 counts by trigger");
    // Writes an older enlist made: the triggers count them.
    conn.execute_batch(
        "UPDATE members SET status = 'inactive' WHERE member_id = 'mem_1';
         DELETE FROM member_groups WHERE member_id = 'mem_1';
         INSERT INTO member_groups (org_id, group_id, status, contact_key, member_id)
             VALUES ('org_1', 'grp_a', 'inactive', 'p1@x.test', 'mem_1');
         UPDATE members SET role = 'admin', license_type = 'pro' WHERE member_id = 'mem_2';
         DELETE FROM member_groups WHERE member_id = 'mem_3';
         INSERT INTO invitations (org_id, invitation_id, batch_id, recipient_key, status, role,
             kind, license_type, created_s, created_ns, body)
         SELECT org_id, 'inv_2', batch_id, 'q2@x.test', 'staged', role, kind, 'pro',
             created_s, created_ns,
             json_set(body, '$.id', 'inv_2', '$.recipient_key', 'q2@x.test',
                 '$.recipient.value', 'q2@x.test', '$.status', 'staged',
                 '$.license_type', 'pro', '$.secret_hash', NULL, '$.expires_at', NULL)
         FROM invitations WHERE invitation_id = 'inv_1';",
    )
    .expect("writes through the triggers");
    drop(conn);
    let store = SqliteStore::open(&path).expect("open migrates");
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        // The one trigger left is 0022's, which moves the event feed's
        // floor when events are deleted.
        assert_eq!(
            triggers(&conn),
            vec!["events_feed_floor".to_owned()],
            "0014 drops the count triggers"
        );
    }
    assert_eq!(store.verify_counts().expect("verify"), Vec::new());
    let mut tx = begin(&store);
    assert_eq!(
        tx.seat_counts(&org).expect("seats"),
        vec![
            (
                "pro".to_owned(),
                SeatCount {
                    members: 1,
                    open_invitations: 1
                }
            ),
            (
                "standard".to_owned(),
                SeatCount {
                    members: 3,
                    open_invitations: 1
                }
            ),
        ]
    );
    let groups = tx.groups(&org).expect("groups");
    assert_eq!(groups[0].member_count, 4, "grp_a: mem_0..4 but mem_3");
    assert_eq!(tx.count_active_with_role(&org, "admin").expect("count"), 1);
    // The store's writes go on from the migrated counters.
    let mut m = tx
        .member(&org, &MemberId::from("mem_4"))
        .expect("read")
        .expect("found");
    m.status = MemberStatus::Removed;
    tx.put_member(&m).expect("put");
    let mut inv = tx
        .invitation(&org, &InvitationId::from("inv_2"))
        .expect("read")
        .expect("found");
    inv.status = InvitationStatus::Revoked;
    tx.put_invitation(&inv).expect("put");
    tx.commit().expect("commit");
    assert_eq!(store.verify_counts().expect("verify"), Vec::new());
    let mut tx = begin(&store);
    assert_eq!(tx.groups(&org).expect("groups")[0].member_count, 3);
    assert_eq!(
        tx.seat_count(&org, "pro").expect("seats"),
        SeatCount {
            members: 1,
            open_invitations: 0
        }
    );
}

/// Rows written without the store leave the counters wrong:
/// `verify_counts` names each wrong counter with both numbers, and
/// `repair_counts` sets them to the recount.
#[test]
fn verify_counts_finds_rows_written_without_the_store_and_repair_fixes_them() {
    let (store, _dir) = file_store();
    let org = populate(&store);
    assert_eq!(store.verify_counts().expect("verify"), Vec::new());
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        conn.execute_batch(
            "INSERT INTO members (org_id, member_id, contact_key, status, role, license_type,
                 kind, body, org)
             SELECT org_id, 'mem_9', 'p9@x.test', 'active', 'member', 'pro', kind, body, org
             FROM members WHERE member_id = 'mem_1';
             DELETE FROM member_groups WHERE member_id = 'mem_2';",
        )
        .expect("writes without the store");
    }
    let mismatch = |what: &str, key: &str, stored: i64, actual: i64| CountMismatch {
        org_id: org.clone(),
        what: what.into(),
        key: key.into(),
        status: "active".into(),
        stored,
        actual,
    };
    let expected = vec![
        mismatch("member_group", "grp_a", 5, 4),
        mismatch("member_license", "pro", 0, 1),
        mismatch("member_role", "member", 4, 5),
    ];
    assert_eq!(store.verify_counts().expect("verify"), expected);
    // A data type a host can log or return as JSON.
    let json = serde_json::to_value(&expected[0]).expect("json");
    assert_eq!(json["what"], "member_group");
    assert_eq!(json["stored"], 5);
    assert_eq!(store.repair_counts().expect("repair"), expected);
    assert_eq!(store.verify_counts().expect("verify"), Vec::new());
    assert_eq!(store.repair_counts().expect("repair"), Vec::new());
    let mut tx = begin(&store);
    assert_eq!(tx.groups(&org).expect("groups")[0].member_count, 4);
}

/// Counters changed in a transaction are read back in it before they are
/// written (at commit), and dropping the transaction drops them.
#[test]
fn pending_counters_are_read_in_the_transaction_and_dropped_with_it() {
    let (store, _dir) = file_store();
    let org = populate(&store);
    let seats = |tx: &mut dyn Transaction| tx.seat_count(&org, "standard").expect("seats");
    {
        let mut tx = begin(&store);
        assert_eq!(seats(&mut *tx).members, 5);
        let mut m = member(&org, "mem_7", "p7@x.test");
        m.groups = vec![GroupGrant::member(GroupId::from("grp_b"))];
        tx.put_member(&m).expect("put");
        let mut inv = invitation(&org, "inv_7", "q7@x.test");
        inv.status = InvitationStatus::Pending;
        tx.put_invitation(&inv).expect("put");
        assert_eq!(
            seats(&mut *tx),
            SeatCount {
                members: 6,
                open_invitations: 2
            }
        );
        let grp_b = tx
            .group(&org, &GroupId::from("grp_b"))
            .expect("read")
            .expect("found");
        assert_eq!(grp_b.member_count, 1);
        assert_eq!(tx.count_active_with_role(&org, "member").expect("count"), 5);
        // Dropped: rolled back.
    }
    assert_eq!(store.verify_counts().expect("verify"), Vec::new());
    let mut tx = begin(&store);
    assert_eq!(
        seats(&mut *tx),
        SeatCount {
            members: 5,
            open_invitations: 1
        }
    );
}

/// A write refused for a uniqueness rule, in the middle of a transaction,
/// leaves nothing behind (no row, no index entry, no count, no people-view
/// row), new or an update of a stored row, member or invitation, and the
/// transaction goes on: two files, the same writes, one with refused ones
/// between them, end with equal rows and consistent indexes.
#[test]
fn a_refused_write_leaves_the_transaction_as_it_was() {
    let run = |refuse: bool| {
        let (store, dir) = file_store();
        let org = populate(&store);
        let mut tx = begin(&store);
        let refused = |r: StoreResult<()>, rule: UniqueRule| match r {
            Err(StoreError::Unique(got)) => assert_eq!(got, rule),
            other => panic!("expected {rule:?}, got {other:?}"),
        };
        let mut a = enlist::testing::entities::pending(&org, "inv_a", "r1@x.test", 10, 500);
        a.role = "admin".into();
        tx.put_invitation(&a).expect("a");
        if refuse {
            // New: the recipient of a, then the secret of inv_1.
            refused(
                tx.put_invitation(&enlist::testing::entities::pending(
                    &org,
                    "inv_b",
                    "r1@x.test",
                    11,
                    500,
                )),
                UniqueRule::InvitationOpenRecipient,
            );
            refused(
                tx.put_invitation(&enlist::testing::entities::pending(
                    &org,
                    "inv_b",
                    "r2@x.test",
                    1,
                    500,
                )),
                UniqueRule::InvitationSecret,
            );
            // An update of a (its status, license and recipient change too)
            // onto inv_1's recipient, then onto its secret.
            let mut moved = a.clone();
            moved.status = InvitationStatus::Staged;
            moved.license_type = "guest".into();
            moved.recipient_key = "q1@x.test".into();
            moved.secret_hash = Some(hash(12));
            refused(
                tx.put_invitation(&moved),
                UniqueRule::InvitationOpenRecipient,
            );
            moved.recipient_key = "r9@x.test".into();
            moved.secret_hash = Some(hash(1));
            refused(tx.put_invitation(&moved), UniqueRule::InvitationSecret);
            // A new member on p1's contact key, and mem_2 moved onto it.
            let mut n = enlist::testing::entities::member(&org, "mem_n", "p1@x.test");
            n.groups = vec![GroupGrant::member(GroupId::from("grp_b"))];
            refused(tx.put_member(&n), UniqueRule::MemberContactKey);
            let mut m2 = tx
                .member(&org, &MemberId::from("mem_2"))
                .expect("read")
                .expect("mem_2");
            m2.contact_key = "p1@x.test".into();
            m2.role = "admin".into();
            m2.status = MemberStatus::Inactive;
            m2.groups = vec![GroupGrant::member(GroupId::from("grp_b"))];
            refused(tx.put_member(&m2), UniqueRule::MemberContactKey);
            m2.contact_key = "p2@x.test".into();
            m2.user_ref = Some("u3".into());
            refused(tx.put_member(&m2), UniqueRule::MemberUserRef);
        }
        let mut c = enlist::testing::entities::member(&org, "mem_c", "c@x.test");
        c.groups = vec![GroupGrant::member(GroupId::from("grp_b"))];
        tx.put_member(&c).expect("c");
        a.status = InvitationStatus::Revoked;
        a.secret_hash = None;
        tx.put_invitation(&a).expect("a revoked");
        tx.commit().expect("commit");
        let path = store.path().expect("file").to_path_buf();
        drop(store);
        // Index entries are not in the dump: every index must match its
        // table's rows.
        let ok: String = Connection::open(&path)
            .and_then(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
            .expect("integrity");
        assert_eq!(ok, "ok");
        (dump(&path), dir)
    };
    let (clean, _d1) = run(false);
    let (with_refusals, _d2) = run(true);
    assert_eq!(with_refusals, clean);
}

#[test]
fn nested_begin_on_one_thread_is_refused() {
    let store = SqliteStore::open_in_memory().expect("open");
    let tx = begin(&store);
    assert!(matches!(store.begin(), Err(StoreError::Unavailable(_))));
    drop(tx);
    let tx = begin(&store);
    tx.commit().expect("commit");
    begin(&store);
}

/// Threads on one store, and two stores on one file (as two processes
/// would be): no read-modify-write loses an update.
#[test]
fn concurrent_read_modify_write_never_loses_an_update() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    let org = populate(&store);
    let second = Arc::new(SqliteStore::open(&path).expect("a second store on the file"));
    let first = Arc::new(store);
    let threads = 6;
    let rounds = 60;
    let handles: Vec<_> = (0..threads)
        .map(|n| {
            let store = if n % 2 == 0 {
                Arc::clone(&first)
            } else {
                Arc::clone(&second)
            };
            let org = org.clone();
            std::thread::spawn(move || {
                let mut done = 0u64;
                for i in 0..rounds {
                    // Conflict (the other store held the lock too long) is
                    // what the engine retries on; do the same.
                    let mut tx = loop {
                        match store.begin() {
                            Ok(tx) => break tx,
                            Err(StoreError::Conflict) => continue,
                            Err(e) => panic!("begin: {e}"),
                        }
                    };
                    let mut l = tx.invite_link(&org).expect("read").expect("exists");
                    l.uses += 1;
                    tx.put_invite_link(&l).expect("put");
                    if (n + i) % 5 == 0 {
                        drop(tx);
                        continue;
                    }
                    tx.commit().expect("commit");
                    done += 1;
                }
                done
            })
        })
        .collect();
    let committed: u64 = handles
        .into_iter()
        .map(|h| h.join().expect("a worker panicked"))
        .sum();
    let expected: u64 = (0..threads)
        .map(|n| (0..rounds).filter(|i| (n + i) % 5 != 0).count() as u64)
        .sum();
    assert_eq!(committed, expected);
    let mut tx = begin(&first);
    assert_eq!(
        tx.invite_link(&org).expect("read").expect("exists").uses,
        expected
    );
}

#[test]
fn a_writer_in_another_connection_makes_begin_wait_then_conflict() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    populate(&store);
    let other = Connection::open(&path).expect("open");
    other.busy_timeout(Duration::ZERO).expect("timeout");
    other.execute_batch("BEGIN IMMEDIATE").expect("lock");
    // Our begin waits BUSY_TIMEOUT for the lock; release it before then.
    let started = std::time::Instant::now();
    let released = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        other.execute_batch("COMMIT").expect("unlock");
        other
    });
    let tx = begin(&store);
    assert!(started.elapsed() >= Duration::from_millis(150));
    tx.commit().expect("commit");
    let other = released.join().expect("thread");
    // Held past the timeout: Conflict, which the engine retries.
    other.execute_batch("BEGIN IMMEDIATE").expect("lock");
    let store_quick = SqliteStore::open(&path).expect("open");
    store_quick
        .conn
        .lock("SqliteStore")
        .expect("lock")
        .busy_timeout(Duration::from_millis(50))
        .expect("timeout");
    assert!(matches!(store_quick.begin(), Err(StoreError::Conflict)));
    other.execute_batch("ROLLBACK").expect("unlock");
    assert!(store_quick.begin().is_ok());
}

// ----- members -------------------------------------------------------------

/// 300 members with scrambled keys, statuses, roles and groups.
fn crowd(store: &SqliteStore, org: &OrgId) -> Vec<Member> {
    let mut tx = begin(store);
    let mut all = Vec::new();
    for i in 0..300u32 {
        let n = i.wrapping_mul(7919) % 1000;
        let mut m = member(org, &format!("mem_{i:03}"), &format!("k{n:03}@x.test"));
        m.status = match i % 7 {
            0 => MemberStatus::Removed,
            1 | 2 => MemberStatus::Inactive,
            _ => MemberStatus::Active,
        };
        if m.status == MemberStatus::Removed && i % 2 == 0 {
            m.contact_key = "dup@x.test".into();
        }
        m.role = ["member", "admin", "owner"][(i % 3) as usize].into();
        m.license_type = ["standard", "pro"][(i % 2) as usize].into();
        if i % 4 == 0 {
            m.groups.push(GroupGrant::member(GroupId::from("grp_a")));
        }
        if i % 5 == 0 {
            m.groups.push(GroupGrant::owner(GroupId::from("grp_b")));
            m.groups.push(GroupGrant::member(GroupId::from("grp_b")));
        }
        tx.put_member(&m).expect("put");
        all.push(m);
    }
    tx.commit().expect("commit");
    all
}

#[test]
fn cursors_are_the_memory_stores_and_bad_ones_are_errors() {
    let store = SqliteStore::open_in_memory().expect("open");
    let memory = MemoryStore::new();
    let org = org_id(1);
    let all = crowd(&store, &org);
    {
        let mut tx = memory.begin().expect("begin");
        for m in &all {
            tx.put_member(m).expect("put");
        }
        tx.commit().expect("commit");
    }
    let mut tx = begin(&store);
    let mut mtx = memory.begin().expect("begin");
    let q = MemberQuery {
        limit: 13,
        ..MemberQuery::default()
    };
    let a = tx.list_members(&org, &q).expect("list");
    let b = mtx.list_members(&org, &q).expect("list");
    assert_eq!(a, b, "same page, same cursor");
    // A cursor from one store works in the other.
    let q2 = MemberQuery {
        after: b.next_cursor,
        ..q
    };
    assert_eq!(
        tx.list_members(&org, &q2).expect("list"),
        mtx.list_members(&org, &q2).expect("list")
    );
    for bad in ["", "m.", "m.zz.00", "m.6", "i.1.2.00", "m.ff.00"] {
        let q = MemberQuery {
            after: Some(bad.to_owned()),
            ..MemberQuery::default()
        };
        let err = tx.list_members(&org, &q).expect_err(bad);
        assert!(
            matches!(&err, StoreError::InvalidCursor { list } if list == "member"),
            "{bad}: {err:?}"
        );
    }
    for bad in [
        "m.61.62",
        "i.x.1.00",
        "i.1.2.zz",
        "i.99999999999999999.0.00",
    ] {
        let q = InvitationQuery {
            after: Some(bad.to_owned()),
            ..InvitationQuery::default()
        };
        let err = tx.list_invitations(&org, &q, t(0)).expect_err(bad);
        assert!(
            matches!(&err, StoreError::InvalidCursor { list } if list == "invitation"),
            "{bad}: {err:?}"
        );
    }
}

// ----- invitations ---------------------------------------------------------

// ----- events, outbox, misc -------------------------------------------------

#[test]
fn event_seqs_continue_per_org_across_interleaved_appends() {
    let store = SqliteStore::open_in_memory().expect("open");
    let (o1, o2) = (org_id(1), org_id(2));
    let mut tx = begin(&store);
    let seqs: Vec<u64> = [&o1, &o2, &o1, &o2, &o1]
        .iter()
        .map(|o| tx.append_event(event(o, 0)).expect("append"))
        .collect();
    assert_eq!(seqs, [1, 1, 2, 2, 3]);
    tx.commit().expect("commit");
    let mut tx = begin(&store);
    assert_eq!(tx.append_event(event(&o2, 0)).expect("append"), 3);
    assert_eq!(tx.append_event(event(&o1, 0)).expect("append"), 4);
    drop(tx);
    let mut tx = begin(&store);
    assert_eq!(tx.append_event(event(&o1, 0)).expect("append"), 4);
    let stored: Vec<u64> = tx
        .events(&o1, 0, 100)
        .expect("events")
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(stored, [1, 2, 3, 4]);
}

/// The feed read inside a transaction holds the events it appended, in
/// order, and what follows its last cursor is what comes after (a store
/// that held its events until commit would have to write them first).
#[test]
fn the_feed_of_a_transaction_holds_its_own_events() {
    let store = SqliteStore::open_in_memory().expect("open");
    let (o1, o2) = (org_id(1), org_id(2));
    let mut tx = begin(&store);
    tx.append_event(event(&o1, 1)).expect("append");
    tx.commit().expect("commit");
    let mut tx = begin(&store);
    for (o, n) in [(&o2, 2), (&o1, 3), (&o2, 4)] {
        tx.append_event(event(o, n)).expect("append");
    }
    let feed = tx.event_feed(None, &[], 10).expect("feed");
    let got: Vec<(OrgId, u64)> = feed
        .iter()
        .map(|f| (f.event.org_id.clone(), f.event.seq))
        .collect();
    assert_eq!(
        got,
        [
            (o1.clone(), 1),
            (o2.clone(), 1),
            (o1.clone(), 2),
            (o2.clone(), 2)
        ]
    );
    let after = feed[1].cursor.clone();
    tx.append_event(event(&o1, 5)).expect("append");
    let rest: Vec<u64> = tx
        .event_feed(Some(&after), &[], 10)
        .expect("feed")
        .iter()
        .map(|f| f.event.seq)
        .collect();
    assert_eq!(rest, [2, 2, 3]);
}

/// Events keep their feed positions after the newest events were deleted
/// (the feed's floor above every rid), in a later transaction and in the
/// same one: a position is never the rid SQLite would choose then.
#[test]
fn events_keep_their_feed_positions_after_the_newest_are_deleted() {
    let store = SqliteStore::open_in_memory().expect("open");
    let (o1, o2, o3) = (org_id(1), org_id(2), org_id(3));
    let positions = |store: &SqliteStore| -> Vec<(String, OrgId)> {
        let mut tx = begin(store);
        tx.event_feed(None, &[], 100)
            .expect("feed")
            .into_iter()
            .map(|f| (f.cursor, f.event.org_id))
            .collect()
    };
    let mut tx = begin(&store);
    tx.append_event(event(&o1, 1)).expect("append");
    tx.append_event(event(&o2, 2)).expect("append");
    tx.commit().expect("commit");
    // The newest (2) deleted: the next position is 3, not the rid after 1.
    let mut tx = begin(&store);
    tx.purge_organization(&o2).expect("purge");
    tx.commit().expect("commit");
    let mut tx = begin(&store);
    tx.append_event(event(&o1, 3)).expect("append");
    tx.commit().expect("commit");
    assert_eq!(
        positions(&store),
        [("1".into(), o1.clone()), ("3".into(), o1.clone())]
    );
    // In one transaction: appended, then deleted with their organization,
    // then more appended after them.
    let mut tx = begin(&store);
    tx.append_event(event(&o3, 4)).expect("append");
    tx.append_event(event(&o3, 5)).expect("append");
    tx.purge_organization(&o3).expect("purge");
    tx.append_event(event(&o1, 6)).expect("append");
    tx.commit().expect("commit");
    assert_eq!(
        positions(&store),
        [
            ("1".into(), o1.clone()),
            ("3".into(), o1.clone()),
            ("6".into(), o1.clone())
        ]
    );
}

/// A queued message is linked to its invitation's rid when the invitation
/// is stored (before the message, or later in the same transaction), and
/// found by `queued_messages_for` either way.
#[test]
fn queued_messages_are_found_linked_or_not() {
    let store = SqliteStore::open_in_memory().expect("open");
    let (o1, o2) = (org_id(1), org_id(2));
    let msg = |org: &OrgId, id: &str, inv: &str, created: i64| {
        let mut m = message(org, id, inv, 0);
        m.created_at = t(created);
        m
    };
    let iid = |s: &str| InvitationId::from(s.to_owned());
    let ids = |v: Vec<OutboxMessage>| {
        v.into_iter()
            .map(|m| m.id.into_string())
            .collect::<Vec<_>>()
    };
    let mut tx = begin(&store);
    // As the engine does: the email first, then its new invitation.
    tx.put_outbox_message(msg(&o1, "msg_a", "inv_a", 1))
        .expect("put");
    tx.put_invitation(&invitation(&o1, "inv_a", "a@x.test"))
        .expect("put");
    // A message whose invitation is not stored, and one not queued.
    tx.put_outbox_message(msg(&o1, "msg_b", "inv_b", 5))
        .expect("put");
    let mut sent = msg(&o1, "msg_c", "inv_a", 0);
    sent.status = OutboxStatus::Sent;
    tx.put_outbox_message(sent.clone()).expect("put");
    // Read before commit: written first, so visible.
    assert_eq!(
        tx.outbox_message(&MessageId::from("msg_b"))
            .expect("read")
            .map(|m| m.id.into_string()),
        Some("msg_b".to_owned())
    );
    tx.commit().expect("commit");
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        let link = |m: &str| -> (Option<i64>, Option<i64>) {
            conn.query_row(
                "SELECT o.inv_rid, i.rid FROM outbox o LEFT JOIN invitations i
                 ON i.org_id = o.org_id AND i.invitation_id = o.invitation_id
                 WHERE o.message_id = ?1",
                [m],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("row")
        };
        let (linked, rid) = link("msg_a");
        assert!(linked.is_some(), "the new invitation's email is linked");
        assert_eq!(linked, rid);
        assert_eq!(link("msg_b"), (None, None));
        assert_eq!(link("msg_c").0, None, "only queued messages are linked");
    }
    // An update of a stored invitation links its new message too (to its
    // own rid, whatever row was inserted last).
    let mut tx = begin(&store);
    tx.put_outbox_message(msg(&o1, "msg_h", "inv_a", 2))
        .expect("put");
    for n in 0..5 {
        // The last row inserted is an event with rowid 5; inv_a's is 1.
        tx.append_event(event(&o1, n)).expect("append");
    }
    let mut resent = invitation(&o1, "inv_a", "a@x.test");
    resent.send_count = 2;
    tx.put_invitation(&resent).expect("put");
    tx.commit().expect("commit");
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        let (linked, rid): (Option<i64>, i64) = conn
            .query_row(
                "SELECT o.inv_rid, i.rid FROM outbox o JOIN invitations i
                 ON i.org_id = o.org_id AND i.invitation_id = o.invitation_id
                 WHERE o.message_id = 'msg_h'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("row");
        assert_eq!(linked, Some(rid));
    }
    let mut tx = begin(&store);
    assert_eq!(
        ids(tx.queued_messages_for(&o1, &iid("inv_a")).expect("q")),
        ["msg_a", "msg_h"]
    );
    let mut superseded = msg(&o1, "msg_h", "inv_a", 2);
    superseded.status = OutboxStatus::Superseded;
    tx.put_outbox_message(superseded.clone()).expect("put");
    assert_eq!(
        ids(tx.queued_messages_for(&o1, &iid("inv_a")).expect("q")),
        ["msg_a"]
    );
    assert_eq!(
        ids(tx.queued_messages_for(&o1, &iid("inv_b")).expect("q")),
        ["msg_b"]
    );
    // The invitation arrives later: its old message stays unlinked, a new
    // one is linked, and the two come out in order (created, then id).
    tx.put_invitation(&invitation(&o1, "inv_b", "b@x.test"))
        .expect("put");
    tx.put_outbox_message(msg(&o1, "msg_d", "inv_b", 3))
        .expect("put");
    tx.put_outbox_message(msg(&o1, "msg_0", "inv_b", 5))
        .expect("put");
    assert_eq!(
        ids(tx.queued_messages_for(&o1, &iid("inv_b")).expect("q")),
        ["msg_d", "msg_0", "msg_b"]
    );
    // Another organization's invitation with the same id is another one.
    tx.put_invitation(&invitation(&o2, "inv_a", "a@x.test"))
        .expect("put");
    tx.put_outbox_message(msg(&o2, "msg_e", "inv_a", 1))
        .expect("put");
    assert_eq!(
        ids(tx.queued_messages_for(&o1, &iid("inv_a")).expect("q")),
        ["msg_a"]
    );
    assert_eq!(
        ids(tx.queued_messages_for(&o2, &iid("inv_a")).expect("q")),
        ["msg_e"]
    );
    // A message moved to another invitation leaves the first one.
    tx.put_outbox_message(msg(&o1, "msg_a", "inv_b", 4))
        .expect("put");
    assert!(
        tx.queued_messages_for(&o1, &iid("inv_a"))
            .expect("q")
            .is_empty()
    );
    assert_eq!(
        ids(tx.queued_messages_for(&o1, &iid("inv_b")).expect("q")),
        ["msg_d", "msg_a", "msg_0", "msg_b"]
    );
    tx.commit().expect("commit");
    // A message put again keeps its last version: the conformance suite's
    // `a_message_put_again_keeps_its_last_version`.
}

/// With the query planner stability guarantee, a statement from the cache
/// is never compiled again because new values are bound to it (without it,
/// every one whose ORDER BY an index serves was, at every use).
#[test]
fn cached_statements_are_not_compiled_again_when_rebound() {
    use rusqlite::StatementStatus;
    let store = SqliteStore::open_in_memory().expect("open");
    let conn = store.conn.lock("SqliteStore").expect("lock");
    for sql in lookups_and_walks() {
        for round in 0..3i64 {
            let mut stmt = conn.prepare_cached(&sql).expect("prepare");
            let n = stmt.parameter_count();
            let mut rows = stmt
                .query(params_from_iter(
                    (0..n).map(|i| Value::Integer(round + i as i64)),
                ))
                .expect("query");
            while rows.next().expect("step").is_some() {}
            drop(rows);
            assert_eq!(
                stmt.get_status(StatementStatus::RePrepare),
                0,
                "{sql} (round {round})"
            );
        }
    }
}

/// Every look-up, and the list walks of one status (with and without a
/// cursor, both ways).
fn lookups_and_walks() -> Vec<String> {
    let mut all = Vec::new();
    for kind in 0..3u8 {
        for cursor in [false, true] {
            for desc in [false, true] {
                all.push(tx::member_walk_sql(kind, "active", cursor, desc));
            }
        }
    }
    for status in [Some("pending"), None] {
        for cursor in [false, true] {
            all.push(tx::invitation_walk_sql(status, cursor));
        }
    }
    all.extend(tx::sql::ALL.iter().map(|s| (*s).to_owned()));
    all
}

/// The queries the engine makes go through indexes: no full scans and no
/// sorting, whatever the size of the organization.
#[test]
fn lookups_and_pages_use_indexes() {
    let store = SqliteStore::open_in_memory().expect("open");
    let conn = store.conn.lock("SqliteStore").expect("lock");
    let plan = |sql: &str| -> String {
        let n = conn.prepare(sql).expect("prepare").parameter_count();
        query_plan(
            &conn,
            sql,
            params_from_iter(std::iter::repeat_n(Value::Null, n)),
        )
    };
    for sql in lookups_and_walks() {
        let p = plan(&sql);
        assert!(
            !p.contains("TEMP B-TREE") && !p.contains("SCAN"),
            "{sql}\n  => {p}"
        );
        assert!(
            p.contains("INDEX") || p.contains("PRIMARY KEY"),
            "{sql}\n  => {p}"
        );
    }
}

/// The standing of many keys (the directory assistant's one query) probes
/// the two partial unique indexes once per key: no scan of the members or
/// the invitations, whatever the size of the organization.
#[test]
fn standing_of_many_keys_probes_the_unique_indexes() {
    let store = SqliteStore::open_in_memory().expect("open");
    let conn = store.conn.lock("SqliteStore").expect("lock");
    let p = query_plan(
        &conn,
        crate::tx::sql::STANDING,
        params![Value::Null, "[]", 0, 0],
    );
    assert!(p.contains("members_live_contact"), "{p}");
    assert!(p.contains("invitations_open_recipient"), "{p}");
    assert!(
        !p.contains("SCAN members") && !p.contains("SCAN invitations"),
        "{p}"
    );
}

/// The admin list's prefix search (migration 0012) searches the slug
/// index and the name index from the prefix: the matches only, whatever
/// the number of organizations (it read them all before).
#[test]
fn the_organization_prefix_search_reads_the_matches_only() {
    let store = SqliteStore::open_in_memory().expect("open");
    let conn = store.conn.lock("SqliteStore").expect("lock");
    let p = query_plan(
        &conn,
        crate::orgs::LIST_BY_PREFIX,
        params![Value::Null, "acme", 10],
    );
    assert!(
        p.contains("SEARCH organizations USING INDEX organizations_listed_name"),
        "{p}"
    );
    assert!(
        p.contains("SEARCH organizations USING INDEX organizations_listed"),
        "{p}"
    );
    assert!(!p.contains("SCAN organizations"), "{p}");
}

/// Writes `n` of everything into `org`: members (in a group), pending
/// invitations (all due at `t(1_000_000)`), events, queued messages, and
/// queued messages of invitations that are not stored.
fn fill(store: &SqliteStore, org: &OrgId, n: u32) {
    let mut tx = begin(store);
    tx.put_organization(&organization(org)).expect("put");
    tx.put_group(&group(org, "grp_a")).expect("put");
    tx.put_invite_link(&link(org)).expect("put");
    for i in 0..n {
        let mut m = member(org, &format!("mem_{i}"), &format!("k{i}@x.test"));
        m.user_ref = Some(format!("u{i}"));
        m.groups = vec![GroupGrant::member(GroupId::from("grp_a"))];
        tx.put_member(&m).expect("put");
        let mut inv = invitation(org, &format!("inv_{i}"), &format!("r{i}@x.test"));
        inv.status = InvitationStatus::Pending;
        inv.secret_hash = Some(SecretHash::of(format!("{org}/{i}").as_bytes()));
        inv.expires_at = Some(t(i64::from(i)));
        inv.batch_id = BatchId::from(format!("bat_{}", i / 100));
        tx.put_invitation(&inv).expect("put");
        tx.append_event(event(org, i)).expect("append");
        let msg = message(
            org,
            &format!("msg_{org}_{i}"),
            &format!("inv_{i}"),
            i64::from(i),
        );
        tx.put_outbox_message(msg.clone()).expect("put");
        let lost = message(
            org,
            &format!("msg_{org}_{i}_lost"),
            &format!("inv_gone_{i}"),
            i64::from(i),
        );
        tx.put_outbox_message(lost.clone()).expect("put");
    }
    tx.commit().expect("commit");
}

/// What each look-up costs, counted in SQLite virtual-machine steps (not
/// time): the same in an organization of 1,500 as in one of 30. A query
/// that scanned or sorted the organization would take 50 times more.
#[test]
fn lookups_cost_the_same_in_small_and_large_organizations() {
    use rusqlite::StatementStatus;
    let store = SqliteStore::open_in_memory().expect("open");
    let (small, large) = (org_id(1), org_id(2));
    fill(&store, &small, 30);
    fill(&store, &large, 1500);
    let conn = store.conn.lock("SqliteStore").expect("lock");
    let now = tx_split(t(1_000_000));
    let text = |s: &str| Value::Text(s.to_owned());
    // Invitations are found by their organization's number (0019).
    let keys: BTreeMap<String, i64> = [&small, &large]
        .iter()
        .map(|o| {
            let key = conn
                .query_row(tx::sql::ORG_KEY, [o.as_str()], |r| r.get(0))
                .expect("numbered");
            (o.as_str().to_owned(), key)
        })
        .collect();
    // Leaked (a test's few bytes) so that `num` copies into each closure.
    let keys: &'static BTreeMap<String, i64> = Box::leak(Box::new(keys));
    let num = move |o: &OrgId| Value::Integer(keys[o.as_str()]);
    type Params = Box<dyn Fn(&OrgId) -> Vec<Value>>;
    let queries: Vec<(String, Params)> = vec![
        (
            tx::sql::ORGANIZATION.into(),
            Box::new(move |o| vec![text(o.as_str())]),
        ),
        (
            tx::sql::GROUP.into(),
            Box::new(move |o| vec![text(o.as_str()), text("grp_a")]),
        ),
        (
            tx::sql::MEMBER.into(),
            Box::new(move |o| vec![text(o.as_str()), text("mem_5")]),
        ),
        (
            tx::sql::MEMBER_BY_CONTACT.into(),
            Box::new(move |o| vec![num(o), text("k5@x.test")]),
        ),
        (
            tx::sql::MEMBER_BY_USER_REF.into(),
            Box::new(move |o| vec![text(o.as_str()), text("u5")]),
        ),
        (
            tx::sql::INVITATION.into(),
            Box::new(move |o| vec![num(o), text("inv_5")]),
        ),
        (
            tx::sql::INVITATION_BY_SECRET.into(),
            Box::new(move |o| {
                let h = SecretHash::of(format!("{o}/5").as_bytes());
                vec![num(o), Value::Blob(h.0.to_vec())]
            }),
        ),
        (
            tx::sql::OPEN_INVITATION_FOR.into(),
            Box::new(move |o| vec![num(o), text("r5@x.test")]),
        ),
        (
            tx::sql::DUE_INVITATIONS_IN_ORG.into(),
            Box::new(move |o| {
                vec![
                    num(o),
                    Value::Integer(now.0),
                    Value::Integer(now.1),
                    Value::Integer(10),
                ]
            }),
        ),
        (
            tx::sql::LINK.into(),
            Box::new(move |o| vec![text(o.as_str()), text("lnk_default")]),
        ),
        (
            tx::sql::LINK_BY_SECRET.into(),
            Box::new(move |o| vec![text(o.as_str()), text(&hash(200).to_hex())]),
        ),
        (
            tx::sql::LINKS.into(),
            Box::new(move |o| vec![text(o.as_str()), Value::Integer(10)]),
        ),
        (tx::sql::LAST_SEQ.into(), Box::new(move |o| vec![num(o)])),
        (
            tx::sql::EVENTS.into(),
            Box::new(move |o| vec![num(o), Value::Integer(5), Value::Integer(10)]),
        ),
        (
            tx::sql::OUTBOX_MESSAGE.into(),
            Box::new(move |o| vec![text(&format!("msg_{o}_5"))]),
        ),
        (
            tx::sql::DUE_OUTBOX_IN_ORG.into(),
            Box::new(move |o| {
                vec![
                    num(o),
                    Value::Integer(now.0),
                    Value::Integer(now.1),
                    Value::Integer(10),
                ]
            }),
        ),
        (
            tx::sql::QUEUED_FOR.into(),
            Box::new(move |o| vec![num(o), text("inv_5")]),
        ),
        (
            tx::sql::QUEUED_FOR.into(),
            Box::new(move |o| vec![num(o), text("inv_gone_5")]),
        ),
        (
            tx::sql::INVITATION_RID.into(),
            Box::new(move |o| vec![num(o), text("inv_5")]),
        ),
        (
            tx::sql::SEATS.into(),
            Box::new(move |o| vec![text(o.as_str()), text("standard")]),
        ),
        (
            tx::sql::COUNTER.into(),
            Box::new(move |o| {
                vec![
                    text(o.as_str()),
                    text("member_role"),
                    text("member"),
                    text("active"),
                ]
            }),
        ),
        (
            tx::member_walk_sql(0, "active", true, false),
            Box::new(move |o| vec![num(o), Value::Null, text("k1@x.test"), text("mem_1")]),
        ),
        (
            tx::member_walk_sql(2, "active", true, true),
            Box::new(move |o| {
                vec![
                    text(o.as_str()),
                    text("grp_a"),
                    text("k5@x.test"),
                    text("mem_5"),
                ]
            }),
        ),
        (
            tx::invitation_walk_sql(Some("pending"), true),
            Box::new(move |o| {
                let c = tx_split(t(5));
                vec![
                    num(o),
                    Value::Null,
                    Value::Integer(c.0),
                    Value::Integer(c.1),
                    text("inv_5"),
                ]
            }),
        ),
        (
            tx::invitation_walk_sql(None, false),
            Box::new(move |o| vec![num(o), text("bat_0")]),
        ),
    ];
    let steps = |sql: &str, params: Vec<Value>| -> (i32, usize) {
        let mut stmt = conn.prepare(sql).expect("prepare");
        let mut rows = stmt.query(params_from_iter(params)).expect("query");
        let mut n = 0;
        // A page reads at most limit + 1 rows of a walk.
        while n < 11 && rows.next().expect("step").is_some() {
            n += 1;
        }
        drop(rows);
        (stmt.get_status(StatementStatus::VmStep), n)
    };
    for (sql, params) in &queries {
        let (a, rows_a) = steps(sql, params(&small));
        let (b, rows_b) = steps(sql, params(&large));
        assert!(rows_a > 0, "the query must find something: {sql}");
        assert_eq!(rows_a, rows_b, "{sql}");
        assert!(
            b <= 2 * a + 20,
            "{sql}\n  costs {a} steps with 30 rows and {b} with 1500"
        );
    }
}

#[test]
fn store_is_shareable_and_debug_does_not_lock() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SqliteStore>();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().expect("open"));
    let tx = store.begin().expect("begin");
    let memory = SqliteStore::open_in_memory().expect("open");
    assert_eq!(format!("{memory:?}"), "SqliteStore { path: None, .. }");
    tx.commit().expect("commit");
}

// ----- read transactions (dry runs) ------------------------------------------

#[test]
fn a_read_transaction_leaves_the_write_lock_to_other_connections() {
    let (store, _dir) = file_store();
    let path = store.path().expect("file").to_path_buf();
    let org = populate(&store);
    let mut read = store.begin_read().expect("begin_read");
    assert!(read.organization(&org).expect("read").is_some());
    // Another process writes while the read is open: a write transaction
    // (`BEGIN IMMEDIATE`) would make it wait, then fail.
    let other = Connection::open(&path).expect("open");
    other.busy_timeout(Duration::ZERO).expect("timeout");
    other
        .execute_batch("BEGIN IMMEDIATE; CREATE TABLE dry_run_probe (x); COMMIT;")
        .expect("another connection writes while a read transaction is open");
    // The read still sees its own snapshot, and dropping it writes nothing.
    assert!(read.organization(&org).expect("read").is_some());
    drop(read);
    let mut write = store.begin().expect("begin");
    assert!(write.organization(&org).expect("read").is_some());
}

/// A read transaction of a file store runs on a reader connection of its
/// own: it completes while another thread holds a write transaction open
/// (with the one connection, it would wait for the writer's commit), and
/// it does not see the uncommitted write.
#[test]
fn a_read_completes_while_another_thread_holds_a_write_transaction() {
    let (store, _dir) = file_store();
    let org = populate(&store);
    let store = Arc::new(store);
    let (opened_tx, opened) = std::sync::mpsc::channel();
    let (release_tx, release) = std::sync::mpsc::channel::<()>();
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            let mut tx = begin(&store);
            tx.put_member(&member(&org_id(1), "mem_new", "new@x.test"))
                .expect("put");
            opened_tx.send(()).expect("signal");
            release.recv().ok();
            tx.commit().expect("commit");
        })
    };
    opened.recv().expect("the writer is open");
    let (read_tx, read) = std::sync::mpsc::channel();
    let reader = {
        let store = Arc::clone(&store);
        let org = org.clone();
        std::thread::spawn(move || {
            let mut tx = store.begin_read().expect("begin_read");
            let seen = tx
                .member_by_contact(&org, "new@x.test")
                .expect("read")
                .is_some();
            let owner = tx.member(&org, &MemberId::from("mem_0")).expect("read");
            read_tx.send((seen, owner.is_some())).ok();
        })
    };
    let got = read.recv_timeout(Duration::from_secs(20));
    release_tx.send(()).ok();
    writer.join().expect("writer");
    reader.join().expect("reader");
    assert_eq!(
        got.ok(),
        Some((false, true)),
        "the read waited for the writer, or saw its uncommitted member"
    );
    // Committed, the member is seen by the next read.
    let mut tx = store.begin_read().expect("begin_read");
    assert!(
        tx.member_by_contact(&org, "new@x.test")
            .expect("read")
            .is_some()
    );
}

/// A read transaction reads one snapshot, from its first read to its end:
/// a commit made meanwhile (here by the same thread, which a reader
/// connection allows) is not seen by it, and is seen by the next one.
/// Its connection refuses writes.
#[test]
fn a_read_transaction_reads_one_snapshot_and_writes_nothing() {
    let (store, _dir) = file_store();
    let org = populate(&store);
    let mut read = store.begin_read().expect("begin_read");
    let before = read.seat_counts(&org).expect("seats");
    let members = |tx: &mut dyn Transaction| {
        tx.list_members(&org, &MemberQuery::default())
            .expect("list")
            .items
            .len()
    };
    let n = members(read.as_mut());
    let mut write = begin(&store);
    let mut m = member(&org, "mem_late", "late@x.test");
    m.license_type = "standard".into();
    write.put_member(&m).expect("put");
    write.commit().expect("commit");
    assert_eq!(
        members(read.as_mut()),
        n,
        "a commit leaked into the snapshot"
    );
    assert_eq!(read.seat_counts(&org).expect("seats"), before);
    assert!(
        read.put_member(&member(&org, "mem_ro", "ro@x.test"))
            .is_err(),
        "a reader connection wrote"
    );
    drop(read);
    let mut again = store.begin_read().expect("begin_read");
    assert_eq!(members(again.as_mut()), n + 1);
    drop(again);
    let mut write = begin(&store);
    assert!(
        write
            .member_by_contact(&org, "ro@x.test")
            .expect("read")
            .is_none()
    );
}

/// More read transactions than the pool has connections: the later ones
/// wait for a connection to be given back, and all of them complete.
#[test]
fn more_readers_than_connections_take_turns() {
    let (store, _dir) = file_store();
    let org = populate(&store);
    let store = Arc::new(store);
    let threads: Vec<_> = (0..READERS * 3)
        .map(|_| {
            let store = Arc::clone(&store);
            let org = org.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    let mut tx = store.begin_read().expect("begin_read");
                    assert!(tx.organization(&org).expect("read").is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a reader");
    }
    let readers = store.readers.as_ref().expect("a file store has readers");
    let state = readers.state.lock().expect("state");
    assert!(state.open <= READERS && state.idle.len() == state.open);
}

// ----- the people view (migration 0004) -----------------------------------

/// The people view's statements go through indexes: every sort walks its
/// index of `people` in order (no sort of the organization, no scan), and
/// a search starts from a range of `people_terms` (the matches only).
#[test]
fn people_view_uses_indexes_and_search_reads_only_matches() {
    use enlist::{MemberKind, PeopleQuery, PeopleSort, PersonLabel};
    let store = SqliteStore::open_in_memory().expect("open");
    let org = org_id(1);
    fill(&store, &org, 30);
    let now = t(15);
    let mut cases = Vec::new();
    for sort in PeopleSort::ALL {
        for descending in [false, true] {
            let base = PeopleQuery {
                sort,
                descending,
                limit: 5,
                ..PeopleQuery::default()
            };
            cases.push((base.clone(), false));
            cases.push((
                PeopleQuery {
                    labels: vec![PersonLabel::Pending, PersonLabel::Active],
                    role: Some("member".into()),
                    kind: Some(MemberKind::Member),
                    license_type: Some("standard".into()),
                    group: Some(GroupId::from("grp_a")),
                    ..base.clone()
                },
                false,
            ));
            cases.push((
                PeopleQuery {
                    labels: vec![PersonLabel::Staged],
                    ..base.clone()
                },
                false,
            ));
            cases.push((
                PeopleQuery {
                    search: Some("K1".into()),
                    ..base.clone()
                },
                true,
            ));
        }
    }
    let mut tx = begin(&store);
    for (q, search) in cases {
        people::LOG.with(|l| l.borrow_mut().clear());
        // Two pages, so that the cursor's condition is explained too.
        let first = tx.people(&org, &q, now).expect("people");
        let next = PeopleQuery {
            after: first.next_cursor.clone(),
            ..q.clone()
        };
        tx.people(&org, &next, now).expect("people");
        let ran = people::LOG.with(|l| l.borrow().clone());
        assert!(!ran.is_empty());
        drop(tx);
        let conn = store.conn.lock("SqliteStore").expect("lock");
        for (sql, args) in ran {
            let mut stmt = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("explain");
            for (name, value) in &args {
                if let Some(i) = stmt.parameter_index(name).expect("name") {
                    stmt.raw_bind_parameter(i, value).expect("bind");
                }
            }
            let mut rows = stmt.raw_query();
            let mut steps = Vec::new();
            while let Some(row) = rows.next().expect("row") {
                steps.push(row.get::<_, String>(3).expect("detail"));
            }
            let plan = steps.join(" / ");
            // The only scan allowed is of `t`, the matches of a search.
            assert!(
                steps.iter().all(|s| !s.contains("SCAN") || s == "SCAN t"),
                "{q:?}\n{sql}\n  => {plan}"
            );
            if search {
                assert!(
                    plan.contains(
                        "SEARCH people_terms USING PRIMARY KEY (org_id=? AND term>? AND term<?)"
                    ),
                    "a search starts from the terms: {sql}\n  => {plan}"
                );
                if sql.contains("members m") {
                    // And from the members' own keys (migration 0024).
                    for range in [
                        "members_people_name (org=? AND status=? AND name_key>? AND name_key<?)",
                        "members_list (org=? AND status=? AND contact_key>? AND contact_key<?)",
                    ] {
                        assert!(plan.contains(range), "{range}: {sql}\n  => {plan}");
                    }
                }
            } else if q.sort == PeopleSort::Name && q.labels == [PersonLabel::Staged] {
                // No walk of the members; the staged invitations' range.
                assert!(
                    plan.contains("USING INDEX invitations_people_name (org=? AND status=?"),
                    "one label by name: its own index range:\n{sql}\n  => {plan}"
                );
            } else if q.group.is_none() {
                let index = if sql.contains("FROM members m") {
                    "USING INDEX members_"
                } else {
                    "USING INDEX invitations_"
                };
                assert!(
                    !plan.contains("TEMP B-TREE") && plan.contains(index),
                    "a walk in index order: {q:?}\n{sql}\n  => {plan}"
                );
            }
        }
        drop(conn);
        tx = begin(&store);
    }
}

/// Migration 0004 writes the people rows of what a version 3 file already
/// holds: the view of an upgraded file is the view of a new one.
#[test]
fn migration_0004_builds_people_of_existing_rows() {
    use enlist::{PeopleQuery, PersonLabel};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v3.sqlite3");
    let org = org_id(1);
    {
        let store = SqliteStore::open(&path).expect("open");
        fill(&store, &org, 20);
        // Back to version 3: the people tables gone, the mark lowered.
        let conn = store.conn.lock("SqliteStore").expect("lock");
        downgrade(&conn, 3).expect("downgrade");
    }
    let store = SqliteStore::open(&path).expect("migrate");
    let reference = SqliteStore::open_in_memory().expect("open");
    fill(&reference, &org, 20);
    let q = PeopleQuery {
        labels: PersonLabel::ALL.to_vec(),
        limit: 1000,
        ..PeopleQuery::default()
    };
    let view = |s: &SqliteStore| {
        let mut tx = begin(s);
        tx.people(&org, &q, t(10)).expect("people").items
    };
    let upgraded = view(&store);
    assert_eq!(upgraded.len(), 40, "20 members and 20 pending invitations");
    assert_eq!(upgraded, view(&reference));
    let mut tx = begin(&store);
    let found = tx
        .people(
            &org,
            &PeopleQuery {
                search: Some("k1".into()),
                ..PeopleQuery::default()
            },
            t(10),
        )
        .expect("search");
    assert_eq!(found.items.len(), 11, "k1, k10..k19");
}

/// Migration 0015 takes the invitations out of `people`: a file as
/// versions 4 to 14 wrote it (a `people` row per invitation of the view)
/// answers every page of the view exactly as before, by every sort, both
/// directions, page after page, with filters and searches; the
/// invitations' rows are gone and their name keys are filled.
#[test]
fn migration_0015_walks_invitations_and_answers_as_before() {
    use enlist::{PeopleQuery, PeopleSort, PersonLabel};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v13.sqlite3");
    let org = org_id(1);
    let now = t(12);
    let store = SqliteStore::open(&path).expect("open");
    fill(&store, &org, 12);
    {
        // Names that tie with the members' emails and with each other,
        // case and accents, every status of an invitation, groups.
        let mut tx = begin(&store);
        tx.put_group(&group(&org, "grp_b")).expect("put");
        let statuses = [
            InvitationStatus::Staged,
            InvitationStatus::Pending,
            InvitationStatus::Expired,
            InvitationStatus::Accepted,
            InvitationStatus::Revoked,
        ];
        for i in 0..15u8 {
            let mut inv = invitation(&org, &format!("inv_n{i:02}"), &format!("n{i}@x.test"));
            inv.status = statuses[usize::from(i) % statuses.len()];
            match i % 3 {
                0 => inv.first_name = Some(if i % 2 == 0 { "Émile" } else { "émile" }.into()),
                1 => inv.display_name = Some(format!("k{}@x.test", i % 4)),
                _ => {}
            }
            if i % 4 == 0 {
                inv.last_name = Some("Zola".into());
            }
            inv.role = if i % 2 == 0 { "admin" } else { "member" }.into();
            inv.groups = vec![GroupGrant::member(GroupId::from("grp_b"))];
            inv.created_at = t(i64::from(i % 4));
            inv.expires_at = (inv.status == InvitationStatus::Pending).then(|| t(i64::from(i)));
            tx.put_invitation(&inv).expect("put");
        }
        tx.commit().expect("commit");
    }
    let mut queries = Vec::new();
    for sort in PeopleSort::ALL {
        for descending in [false, true] {
            let base = PeopleQuery {
                sort,
                descending,
                limit: 4,
                labels: PersonLabel::ALL.to_vec(),
                ..PeopleQuery::default()
            };
            queries.push(base.clone());
            queries.push(PeopleQuery {
                labels: vec![PersonLabel::Expired, PersonLabel::Staged],
                ..base.clone()
            });
            queries.push(PeopleQuery {
                group: Some(GroupId::from("grp_b")),
                role: Some("admin".into()),
                ..base.clone()
            });
            queries.push(PeopleQuery {
                search: Some("émi".into()),
                ..base.clone()
            });
            queries.push(PeopleQuery {
                search: Some("K1".into()),
                ..base.clone()
            });
            queries.push(PeopleQuery {
                search: Some("n1".into()),
                ..base.clone()
            });
        }
    }
    // Every page of every query.
    let pages = |s: &SqliteStore| {
        let mut tx = begin(s);
        let mut out = Vec::new();
        for q in &queries {
            let mut q = q.clone();
            loop {
                let page = tx.people(&org, &q, now).expect("people");
                out.push((page.items.clone(), page.next_cursor.clone()));
                match page.next_cursor {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
        }
        out
    };
    let now_pages = pages(&store);
    assert!(now_pages.len() > 200, "{}", now_pages.len());
    {
        // Back to version 13: the invitations' people rows written again.
        let conn = store.conn.lock("SqliteStore").expect("lock");
        downgrade(&conn, 13).expect("downgrade");
    }
    drop(store);
    let old_rows = |conn: &Connection| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM people WHERE substr(pid, 1, 2) = 'i.'",
            [],
            |r| r.get(0),
        )
        .expect("count")
    };
    let conn = Connection::open(&path).expect("open");
    assert_eq!(old_rows(&conn), 12 + 9, "the invitations of the view");
    drop(conn);
    let store = SqliteStore::open(&path).expect("migrate");
    assert_eq!(pages(&store), now_pages);
    let conn = store.conn.lock("SqliteStore").expect("lock");
    assert!(!in_schema(&conn, "table", "people"), "0017 dropped it");
    let keys: Vec<(String, Option<String>)> = conn
        .prepare("SELECT invitation_id, name_key FROM invitations WHERE invitation_id LIKE 'inv_n%' ORDER BY 1")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("keys");
    assert_eq!(
        keys[0],
        ("inv_n00".to_owned(), Some("émile zola".to_owned()))
    );
    assert_eq!(
        keys[1],
        ("inv_n01".to_owned(), Some("k1@x.test".to_owned()))
    );
    assert_eq!(
        keys[2],
        ("inv_n02".to_owned(), Some("n2@x.test".to_owned()))
    );
    assert_eq!(keys[3], ("inv_n03".to_owned(), None), "accepted");
}

/// `store` filled with two of everything in `org` ([`fill`]), and a
/// transaction that has read `inv_1` (the hint `put_invitation` takes).
fn filled_and_read<'s>(
    store: &'s SqliteStore,
    org: &OrgId,
) -> (Box<dyn Transaction + 's>, StoredInvitation) {
    fill(store, org, 2);
    let mut tx = begin(store);
    let inv = tx
        .invitation(org, &InvitationId::from("inv_1"))
        .expect("read")
        .expect("stored");
    (tx, inv)
}

/// An invitation the transaction read is updated without first trying an
/// INSERT; that is a hint, and one whose row went in the meantime (its
/// organization purged and made again) is inserted, with its counter and
/// its search terms, exactly as a new one.
#[test]
fn an_invitation_read_then_gone_is_inserted_again() {
    let (store, _dir) = file_store();
    let org = org_id(1);
    let (mut tx, mut inv) = filled_and_read(&store, &org);
    // Updated in place: the counters move from pending to revoked.
    inv.status = InvitationStatus::Revoked;
    tx.put_invitation(&inv).expect("update");
    assert_eq!(
        tx.invitation(&org, &inv.id)
            .expect("read")
            .map(|i| i.status),
        Some(InvitationStatus::Revoked)
    );
    // Gone, then written again from what was read.
    tx.purge_organization(&org).expect("purge");
    tx.put_organization(&organization(&org)).expect("put");
    inv.status = InvitationStatus::Pending;
    inv.first_name = Some("Zed".into());
    tx.put_invitation(&inv).expect("inserted again");
    tx.commit().expect("commit");
    let mut tx = begin(&store);
    assert_eq!(
        tx.invitation(&org, &inv.id)
            .expect("read")
            .map(|i| i.status),
        Some(InvitationStatus::Pending)
    );
    drop(tx);
    assert_eq!(
        store.verify_counts().expect("counts"),
        Vec::new(),
        "counts right"
    );
    let conn = store.conn.lock("SqliteStore").expect("lock");
    let terms: Vec<String> = conn
        .prepare("SELECT term FROM people_terms WHERE pid = 'i.inv_1' ORDER BY 1")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("terms");
    assert_eq!(terms, ["r1@x.test", "zed"]);
}

/// An invitation read once and then written twice: the first write takes
/// what the old row holds from the value read (no second read of the
/// row), the second finds it changed by the first and reads the row. Were
/// the value read kept for the second write, its counters would move from
/// the license type and status of before the first, and the name the first
/// gave would keep its search term.
#[test]
fn an_invitation_read_once_and_written_twice_moves_its_counters_once() {
    let (store, _dir) = file_store();
    let org = org_id(1);
    let (mut tx, mut inv) = filled_and_read(&store, &org);
    inv.license_type = "contractor".into();
    inv.first_name = Some("Zed".into());
    tx.put_invitation(&inv).expect("first write");
    inv.status = InvitationStatus::Revoked;
    tx.put_invitation(&inv).expect("second write");
    tx.commit().expect("commit");
    assert_eq!(
        store.verify_counts().expect("counts"),
        Vec::new(),
        "counts right"
    );
    let conn = store.conn.lock("SqliteStore").expect("lock");
    let count = |license: &str, status: &str| -> i64 {
        conn.query_row(
            "SELECT coalesce(sum(n), 0) FROM counts WHERE org_id = ?1 AND what = 'invitation_license' AND key = ?2 AND status = ?3",
            [org.as_str(), license, status],
            |r| r.get(0),
        )
        .expect("count")
    };
    // Closed invitations are not counted (migration 0023): the pending
    // one counted out, nothing counted in.
    assert_eq!(count("contractor", "revoked"), 0);
    assert_eq!(count("contractor", "pending"), 0);
    assert_eq!(count("standard", "pending"), 1, "the other one");
    let terms: i64 = conn
        .query_row(
            "SELECT count(*) FROM people_terms WHERE pid = 'i.inv_1'",
            [],
            |r| r.get(0),
        )
        .expect("terms");
    assert_eq!(terms, 0, "a closed invitation keeps no search term");
}

/// A stored invitation read and written again holds, column by column,
/// what the same invitation written into an empty file holds, whichever of
/// its columns changed: the statement that sets only the status, body and
/// name key (`UPDATE_INVITATION_STATUS`) is used only when nothing else
/// changed. Each change below alone would be lost were it used for it.
#[test]
fn an_invitation_rewritten_after_a_read_holds_every_column_it_would_be_inserted_with() {
    type Change = fn(&mut StoredInvitation);
    let changes: [(&str, Change); 12] = [
        ("status", |i| i.status = InvitationStatus::Accepted),
        ("batch", |i| i.batch_id = BatchId::from("bat_other")),
        ("recipient", |i| i.recipient_key = "other@x.test".into()),
        ("role", |i| i.role = "admin".into()),
        ("kind", |i| i.kind = enlist::MemberKind::Guest),
        ("license", |i| i.license_type = "contractor".into()),
        ("secret", |i| i.secret_hash = Some(hash(9))),
        ("created", |i| i.created_at = t(77)),
        ("expires", |i| i.expires_at = Some(t(88))),
        ("account", |i| i.user_ref = Some("acct-9".into())),
        ("inviter", |i| i.inviter = Some(MemberId::from("mem_9"))),
        ("name", |i| i.first_name = Some("Zed".into())),
    ];
    let row = |store: &SqliteStore| -> Vec<Value> {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        conn.query_row(
            "SELECT org_id, invitation_id, batch_id, recipient_key, status, role, kind, license_type, secret_hash, created_s, created_ns, expires_s, expires_ns, body, user_ref, inviter, name_key FROM invitations WHERE invitation_id = 'inv_1'",
            [],
            |r| (0..17).map(|i| r.get::<_, Value>(i)).collect(),
        )
        .expect("row")
    };
    let org = org_id(1);
    for (what, change) in changes {
        let (store, _dir) = file_store();
        let (mut tx, mut inv) = filled_and_read(&store, &org);
        change(&mut inv);
        tx.put_invitation(&inv).expect("rewrite");
        tx.commit().expect("commit");
        assert_eq!(
            store.verify_counts().expect("counts"),
            Vec::new(),
            "counts right"
        );
        let (fresh, _dir2) = file_store();
        let mut tx = begin(&fresh);
        tx.put_organization(&organization(&org)).expect("put");
        tx.put_invitation(&inv).expect("insert");
        tx.commit().expect("commit");
        assert_eq!(row(&store), row(&fresh), "after a change of {what}");
    }
}

/// A member's people-view rows (its view columns, search terms and
/// groups) are diffed against the member as stored before each write, not
/// read back:
/// after each change below, made one after another to one member, they are
/// what writing the member as it now is into an empty file gives.
#[test]
fn a_rewritten_member_has_the_person_rows_a_fresh_write_gives() {
    type Change = fn(&mut Member);
    let changes: [(&str, Change); 8] = [
        ("named", |m| m.first_name = Some("Ada".into())),
        ("renamed", |m| {
            m.first_name = Some("Grace".into());
            m.last_name = Some("Hopper".into());
        }),
        ("role", |m| m.role = "admin".into()),
        ("grouped", |m| {
            m.groups = vec![
                GroupGrant::member(GroupId::from("grp_a")),
                GroupGrant::member(GroupId::from("grp_b")),
            ]
        }),
        ("ungrouped", |m| m.groups.clear()),
        ("active", |m| m.last_active_at = Some(t(50))),
        ("contact", |m| m.contact_key = "new@x.test".into()),
        ("removed", |m| {
            m.status = MemberStatus::Removed;
            m.removed_at = Some(t(60));
        }),
    ];
    let rows = |store: &SqliteStore| -> Vec<Vec<Value>> {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        let mut out = Vec::new();
        for sql in [
            "SELECT org_id, status, name_key, contact_key, role, kind, license_type, joined_s, joined_ns, last_s, last_ns, body FROM members WHERE member_id = 'mem_1'",
            "SELECT org_id, term, pid FROM people_terms WHERE pid = 'm.mem_1' ORDER BY term",
            "SELECT org_id, group_id, pid FROM people_groups WHERE pid = 'm.mem_1' ORDER BY group_id",
        ] {
            let mut stmt = conn.prepare(sql).expect("prepare");
            let n = stmt.column_count();
            let found = stmt
                .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
                .expect("query")
                .collect::<Result<Vec<Vec<Value>>, _>>()
                .expect("rows");
            out.extend(found);
            out.push(vec![Value::Null]);
        }
        out
    };
    let org = org_id(1);
    let (store, _dir) = file_store();
    let mut tx = begin(&store);
    tx.put_organization(&organization(&org)).expect("put");
    let mut m = member(&org, "mem_1", "m1@x.test");
    tx.put_member(&m).expect("put");
    tx.commit().expect("commit");
    for (what, change) in changes {
        change(&mut m);
        let mut tx = begin(&store);
        tx.put_member(&m).expect("rewrite");
        tx.commit().expect("commit");
        let (fresh, _dir2) = file_store();
        let mut tx = begin(&fresh);
        tx.put_organization(&organization(&org)).expect("put");
        tx.put_member(&m).expect("write");
        tx.commit().expect("commit");
        assert_eq!(rows(&store), rows(&fresh), "after {what}");
        assert_eq!(
            store.verify_counts().expect("counts"),
            Vec::new(),
            "counts right"
        );
    }
}

/// Migration 0016: an invitation whose only search term is its name key,
/// that key its contact (no name), keeps no `people_terms` row, and a
/// search still finds it, by staged, pending and expired, and no longer
/// once it is closed; one with a name, or whose contact key folds to
/// something else, keeps its rows as before.
#[test]
fn invitations_without_a_name_keep_no_search_term_and_are_found() {
    use enlist::{PeopleQuery, PersonLabel};
    let (store, _dir) = file_store();
    let org = org_id(1);
    let now = t(5);
    fill(&store, &org, 2);
    let mut unnamed = invitation(&org, "inv_u1", "ann@x.test");
    unnamed.status = InvitationStatus::Pending;
    unnamed.expires_at = Some(t(100));
    let mut staged = invitation(&org, "inv_u2", "anna@x.test");
    staged.status = InvitationStatus::Staged;
    let mut expired = invitation(&org, "inv_u3", "annie@x.test");
    expired.status = InvitationStatus::Expired;
    let mut named = invitation(&org, "inv_n1", "bob@x.test");
    named.first_name = Some("Annabel".into());
    named.status = InvitationStatus::Pending;
    named.expires_at = Some(t(100));
    // A contact key the store keeps as given (not folded): its term is the
    // folded key, a row as before.
    let mut mixed = invitation(&org, "inv_m1", "ANNx-7");
    mixed.status = InvitationStatus::Pending;
    mixed.expires_at = Some(t(100));
    {
        let mut tx = begin(&store);
        for inv in [&unnamed, &staged, &expired, &named, &mixed] {
            tx.put_invitation(inv).expect("put");
        }
        tx.commit().expect("commit");
    }
    let terms = |store: &SqliteStore| -> Vec<(String, String)> {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        conn.prepare(
            "SELECT pid, term FROM people_terms WHERE substr(pid, 1, 2) = 'i.' ORDER BY 1, 2",
        )
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("terms")
    };
    assert_eq!(
        terms(&store),
        [
            ("i.inv_m1".to_owned(), "annx-7".to_owned()),
            ("i.inv_n1".to_owned(), "annabel".to_owned()),
            ("i.inv_n1".to_owned(), "bob@x.test".to_owned()),
        ]
    );
    let found = |store: &SqliteStore, search: &str| -> Vec<String> {
        let mut tx = begin(store);
        let q = PeopleQuery {
            search: Some(search.into()),
            labels: PersonLabel::ALL.to_vec(),
            limit: 50,
            ..PeopleQuery::default()
        };
        let page = tx.people(&org, &q, now).expect("people");
        let mut ids: Vec<String> = page
            .items
            .iter()
            .filter_map(|p| p.invitation_id.as_ref().map(ToString::to_string))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(
        found(&store, "ANN"),
        ["inv_m1", "inv_n1", "inv_u1", "inv_u2", "inv_u3"]
    );
    assert_eq!(found(&store, "anna"), ["inv_n1", "inv_u2"]);
    assert_eq!(found(&store, "bob@"), ["inv_n1"]);
    assert_eq!(found(&store, "annie@x.test"), ["inv_u3"]);
    assert!(found(&store, "annz").is_empty());
    // A range with no upper bound (nothing follows the last character).
    assert!(found(&store, "\u{10FFFF}").is_empty());
    // Closed: out of the view, no rows, not found.
    {
        let mut tx = begin(&store);
        for inv in [&mut unnamed, &mut named] {
            inv.status = InvitationStatus::Revoked;
            inv.expires_at = None;
            tx.put_invitation(inv).expect("put");
        }
        tx.commit().expect("commit");
    }
    assert_eq!(
        terms(&store),
        [("i.inv_m1".to_owned(), "annx-7".to_owned())]
    );
    assert_eq!(found(&store, "ann"), ["inv_m1", "inv_u2", "inv_u3"]);
    // A file of version 15 kept the rows; migrating drops the unneeded
    // ones and finds the same people.
    let before = found(&store, "a");
    let path = store.path().expect("a file").to_path_buf();
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        downgrade(&conn, 15).expect("downgrade");
        let rows: i64 = conn
            .query_row(
                "SELECT count(*) FROM people_terms WHERE pid IN ('i.inv_u2', 'i.inv_u3')",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(rows, 2, "version 15 keeps a term for each open one");
    }
    drop(store);
    let store = SqliteStore::open(&path).expect("migrate");
    assert_eq!(found(&store, "a"), before);
    assert_eq!(
        terms(&store),
        [("i.inv_m1".to_owned(), "annx-7".to_owned())]
    );
}

/// Migration 0007 starts the event feed after the events a file already
/// holds, with their kinds, and a deleted newest event's position is
/// never given again.
#[test]
fn migration_0007_feeds_existing_events_and_never_reuses_a_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v5.sqlite3");
    let org = org_id(1);
    {
        let store = SqliteStore::open(&path).expect("open");
        let mut tx = begin(&store);
        tx.append_event(enlist::testing::entities::event(&org, 1))
            .expect("append");
        tx.append_event(enlist::testing::entities::event(&org, 2))
            .expect("append");
        tx.commit().expect("commit");
        let conn = store.conn.lock("SqliteStore").expect("lock");
        downgrade(&conn, 6).expect("downgrade");
    }
    let store = SqliteStore::open(&path).expect("migrate");
    let mut tx = begin(&store);
    let kinds = ["invitation_revoked".to_owned()];
    let old = tx.event_feed(None, &kinds, 10).expect("feed");
    assert_eq!(old.len(), 2, "the kinds were filled in");
    assert_eq!(old[1].cursor, "2");
    tx.append_event(enlist::testing::entities::event(&org, 3))
        .expect("append");
    tx.commit().expect("commit");
    // The newest event deleted (an organization purged): its position is
    // not given again.
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        conn.execute_batch("DELETE FROM events WHERE rid = 3")
            .expect("delete");
    }
    let mut tx = begin(&store);
    tx.append_event(enlist::testing::entities::event(&org_id(2), 4))
        .expect("append");
    tx.commit().expect("commit");
    let mut tx = begin(&store);
    let after = tx.event_feed(Some("2"), &[], 10).expect("feed");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].cursor, "4");
}

/// Since migration 0023 the store keeps no counter nothing reads: no
/// members' total per status (the sum of the roles' counters is the
/// total, and the member lists still find their size from it) and no
/// counter of closed invitations (seats count staged and pending ones).
#[test]
fn no_counter_is_kept_for_member_totals_or_closed_invitations() {
    let store = SqliteStore::open_in_memory().expect("open");
    let org = populate(&store);
    let mut tx = begin(&store);
    let mut inv = tx
        .invitation(&org, &InvitationId::from("inv_1"))
        .expect("read")
        .expect("stored");
    inv.status = InvitationStatus::Accepted;
    tx.put_invitation(&inv).expect("accept");
    let mut m = member(&org, "mem_9", "p9@x.test");
    m.status = MemberStatus::Inactive;
    m.role = "admin".into();
    tx.put_member(&m).expect("put");
    tx.commit().expect("commit");
    assert_eq!(store.verify_counts().expect("verify"), Vec::new());
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        let kept: Vec<(String, String)> = conn
            .prepare("SELECT what, status FROM counts WHERE what = 'member' OR (what = 'invitation_license' AND status <> 'staged' AND status <> 'pending')")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .expect("counts");
        assert_eq!(kept, Vec::new());
    }
    // The totals the member lists start from: five active, one inactive,
    // with a change not written yet added.
    let conn = store.conn.lock("SqliteStore").expect("lock");
    let mut tx_ref =
        crate::tx::SqliteTx::begin(crate::Conn::Writer(conn), &store.orgs).expect("begin");
    assert_eq!(tx_ref.member_total(&org, &["active"]).expect("total"), 5);
    assert_eq!(
        tx_ref
            .member_total(&org, &["active", "inactive"])
            .expect("total"),
        6
    );
    let mut m = member(&org, "mem_10", "p10@x.test");
    m.status = MemberStatus::Inactive;
    tx_ref.put_member(&m).expect("put");
    assert_eq!(tx_ref.member_total(&org, &["inactive"]).expect("total"), 2);
    assert_eq!(tx_ref.member_total(&org, &["removed"]).expect("total"), 0);
}

/// Since migration 0022 a commit that appends events leaves the feed's
/// head alone (one page less to write): positions follow the newest
/// event, and the head is a floor that only deletes raise, so a deleted
/// position, newest or not, whether an organization was purged or a row
/// deleted by hand, is never given again; a rolled-back append gives its
/// positions again.
#[test]
fn appending_events_leaves_the_feed_head_alone_and_deleted_positions_stay_used() {
    let store = SqliteStore::open_in_memory().expect("open");
    let (a, b) = (org_id(1), org_id(2));
    let head = |store: &SqliteStore| -> i64 {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        conn.query_row("SELECT last FROM event_feed_head WHERE id = 1", [], |r| {
            r.get(0)
        })
        .expect("head")
    };
    let positions = |store: &SqliteStore| -> Vec<String> {
        let mut tx = begin(store);
        let feed = tx.event_feed(None, &[], 100).expect("feed");
        feed.into_iter().map(|e| e.cursor).collect()
    };
    let before = head(&store);
    append_events(&store, &a, 3);
    append_events(&store, &b, 2);
    assert_eq!(head(&store), before, "no commit wrote the head");
    assert_eq!(positions(&store), ["1", "2", "3", "4", "5"]);
    // Rolled back: nothing was given.
    events_in_one_transaction(&store, &a, 4, false);
    assert_eq!(positions(&store), ["1", "2", "3", "4", "5"]);
    // An older event deleted: the floor does not move past the newest.
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        conn.execute_batch("DELETE FROM events WHERE rid = 2")
            .expect("delete");
    }
    append_events(&store, &a, 1);
    assert_eq!(positions(&store), ["1", "3", "4", "5", "6"]);
    // The newest ones deleted (organization b purged, then by hand):
    // their positions are not given again.
    let mut tx = begin(&store);
    tx.purge_organization(&b).expect("purge");
    tx.commit().expect("commit");
    assert_eq!(head(&store), 5, "the purge raised the floor to b's newest");
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        conn.execute_batch("DELETE FROM events WHERE rid = 6")
            .expect("delete");
    }
    assert_eq!(head(&store), 6);
    append_events(&store, &b, 2);
    assert_eq!(positions(&store), ["1", "3", "7", "8"]);
    assert_eq!(head(&store), 6, "appending leaves the floor where it is");
}

/// The inbox's two walks (`Transaction::person_invitations`) search their
/// partial indexes of migration 0006, newest first, without a scan or a
/// sort, whether or not a cursor and an organization are given.
#[test]
fn the_inbox_walks_its_indexes_without_a_scan() {
    let store = SqliteStore::open_in_memory().expect("open");
    let conn = store.conn.lock("SqliteStore").expect("lock");
    for (sql, index) in [
        (tx::sql::PERSON_BY_ACCOUNT, "invitations_person_account"),
        (tx::sql::PERSON_BY_KEY, "invitations_person_key"),
    ] {
        for (org, cursor) in [(false, false), (true, true)] {
            let text = |s: &str| Value::Text(s.to_owned());
            let params = vec![
                text("bob@x.test"),
                Value::Integer(1),
                Value::Integer(0),
                if org { text("org_1") } else { Value::Null },
                if cursor {
                    Value::Integer(5)
                } else {
                    Value::Null
                },
                Value::Integer(0),
                text("org_1"),
                text("inv_1"),
                Value::Integer(11),
            ];
            let plan = query_plan(&conn, sql, params_from_iter(params));
            assert!(
                plan.contains(&format!("USING INDEX {index}")) && !plan.contains("SCAN"),
                "{sql}\n  => {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "no sort: {sql}\n  => {plan}");
        }
    }
}

/// An accept's `supersede_queued_messages` (one narrow `UPDATE` per
/// message, by rid) leaves each message as the trait's default leaves it
/// (the message read, superseded, redacted and written back through
/// `put_outbox_message`): each reads back the same and every column but
/// the body is the same, for a message linked to its invitation's rid,
/// one written before the invitation was stored, one with rendered bodies
/// holding the link, a draft whose link is its column (schema version
/// 25), one stored as version 24 stored drafts (the link in its body) and
/// one without a link; neither another invitation's message nor a sent
/// one is touched. The bodies are the same too, but for the draft whose
/// link is its column: it keeps the body it was queued with, which holds
/// the link redacted (its status is the column's).
#[test]
fn superseding_by_rid_stores_what_the_trait_default_stores() {
    let o = org_id(1);
    let link = "https://x.test/accept";
    let fill = |store: &SqliteStore| {
        let mut tx = begin(store);
        // Before the invitation: not linked to its rid.
        tx.put_outbox_message(message(&o, "msg_early", "inv_a", 3))
            .expect("put");
        tx.commit().expect("commit");
        let mut tx = begin(store);
        tx.put_outbox_message(message(&o, "msg_a", "inv_a", 1))
            .expect("put");
        tx.put_invitation(&invitation(&o, "inv_a", "a@x.test"))
            .expect("put");
        let mut html = message(&o, "msg_html", "inv_a", 2);
        html.email.text_body = "Join: https://x.test/accept".into();
        html.email.html_body = Some("<a href=\"https://x.test/accept\">join</a>".into());
        tx.put_outbox_message(html.clone()).expect("put");
        // Drafts (no rendered bodies): one with its link, which SQLite
        // holds in the `link` column, one stored as version 24 stored it
        // (below), and one without (left as it is).
        let mut draft = message(&o, "msg_draft", "inv_a", 4);
        draft.email.text_body = String::new();
        draft.email.personal_message = Some("Quote \" and \\ and \u{e9}\n".into());
        tx.put_outbox_message(draft.clone()).expect("put");
        let mut old = draft.clone();
        old.id = MessageId::from("msg_v24");
        tx.put_outbox_message(old.clone()).expect("put");
        let mut no_link = message(&o, "msg_no_link", "inv_a", 5);
        no_link.email.text_body = String::new();
        no_link.email.accept_url = String::new();
        tx.put_outbox_message(no_link.clone()).expect("put");
        tx.put_outbox_message(message(&o, "msg_other", "inv_b", 1))
            .expect("put");
        tx.put_invitation(&invitation(&o, "inv_b", "b@x.test"))
            .expect("put");
        let mut sent = message(&o, "msg_sent", "inv_a", 0);
        sent.status = OutboxStatus::Sent;
        tx.put_outbox_message(sent.clone()).expect("put");
        tx.commit().expect("commit");
        // What version 24 wrote for a draft: the whole message in its
        // body, link included.
        let conn = store.conn.lock("SqliteStore").expect("lock");
        conn.execute(
            "UPDATE outbox SET body = ?1, link = NULL WHERE message_id = 'msg_v24'",
            [crate::codec::to_json(&old).expect("json")],
        )
        .expect("as version 24");
    };
    let rows = |store: &SqliteStore, columns: &str| -> Vec<Vec<Value>> {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        let mut stmt = conn
            .prepare(&format!("SELECT {columns} FROM outbox ORDER BY rid"))
            .expect("prepare");
        let n = stmt.column_count();
        stmt.query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    let columns = "rid, message_id, org_id, invitation_id, inv_rid, status, next_s, next_ns, \
                   created_s, created_ns, org, link";
    let (by_rid, by_default) = (
        SqliteStore::open_in_memory().expect("open"),
        SqliteStore::open_in_memory().expect("open"),
    );
    fill(&by_rid);
    fill(&by_default);
    // Queued, the draft's link is its column only; the version 24 one's
    // is in its body.
    let queued = rows(&by_rid, "message_id, body, link");
    let of = |id: &str| {
        queued
            .iter()
            .find(|r| r[0] == Value::Text(id.into()))
            .expect("a row")
            .clone()
    };
    let draft = of("msg_draft");
    assert!(!format!("{:?}", draft[1]).contains(link), "{draft:?}");
    assert_eq!(draft[2], Value::Text(link.into()));
    let old = of("msg_v24");
    assert!(format!("{:?}", old[1]).contains(link));
    assert_eq!(old[2], Value::Null);
    let inv = InvitationId::from("inv_a");
    let ids = rows(&by_rid, "message_id");
    let read_all = |store: &SqliteStore| -> Vec<Option<OutboxMessage>> {
        let mut tx = begin(store);
        ids.iter()
            .map(|r| {
                let Value::Text(id) = &r[0] else {
                    panic!("an id")
                };
                tx.outbox_message(&MessageId::from(id.as_str()))
                    .expect("read")
            })
            .collect()
    };
    let queued_before = read_all(&by_rid);
    assert_eq!(queued_before, read_all(&by_default));
    let draft_read = queued_before
        .iter()
        .flatten()
        .find(|m| m.id.as_str() == "msg_draft")
        .expect("the draft");
    assert_eq!(draft_read.email.accept_url, link, "read back with its link");
    let mut tx = begin(&by_rid);
    tx.supersede_queued_messages(&o, &inv).expect("supersede");
    tx.commit().expect("commit");
    let mut tx = begin(&by_default);
    let queued = tx.queued_messages_for(&o, &inv).expect("queued");
    assert_eq!(queued.len(), 6, "six queued messages of inv_a");
    for mut m in queued {
        m.status = OutboxStatus::Superseded;
        m.redact();
        tx.put_outbox_message(m.clone()).expect("put");
    }
    tx.commit().expect("commit");
    assert_eq!(read_all(&by_rid), read_all(&by_default));
    assert_eq!(rows(&by_rid, columns), rows(&by_default, columns));
    let (bodies, default_bodies) = (
        rows(&by_rid, "message_id, body"),
        rows(&by_default, "message_id, body"),
    );
    for (row, default) in bodies.iter().zip(&default_bodies) {
        if row[0] == Value::Text("msg_draft".into()) {
            assert_eq!(row[1], draft[1], "the body it was queued with");
        } else {
            assert_eq!(row, default);
        }
    }
    // And it did something: six rows superseded, none with its link, the
    // others as they were.
    let all = rows(&by_rid, "*");
    let superseded: Vec<&Vec<Value>> = all
        .iter()
        .filter(|r| r.contains(&Value::Text("superseded".into())))
        .collect();
    assert_eq!(superseded.len(), 6);
    for row in superseded {
        let text = format!("{row:?}");
        assert!(!text.contains(link), "{text}");
    }
    let mut tx = begin(&by_rid);
    assert!(tx.queued_messages_for(&o, &inv).expect("queued").is_empty());
    assert_eq!(
        tx.queued_messages_for(&o, &InvitationId::from("inv_b"))
            .expect("queued")
            .len(),
        1
    );
}

/// A file of version 24, whose queued draft holds its link in its body,
/// is migrated without a row rewritten: the draft reads back as it was
/// queued, and superseding it leaves no link in the row. A draft queued
/// after the migration keeps its link out of its body.
#[test]
fn migration_0025_keeps_older_drafts_and_holds_new_links_out_of_bodies() {
    let (store, dir) = file_store();
    let path = dir.path().join("enlist.sqlite3");
    let o = org_id(1);
    let link = "https://x.test/accept";
    let draft = |id: &str, inv: &str| {
        let mut m = message(&o, id, inv, 1);
        m.email.text_body = String::new();
        m
    };
    let mut tx = begin(&store);
    tx.put_invitation(&invitation(&o, "inv_a", "a@x.test"))
        .expect("put");
    tx.put_outbox_message(draft("msg_a", "inv_a")).expect("put");
    tx.commit().expect("commit");
    drop(store);
    let conn = Connection::open(&path).expect("open");
    downgrade(&conn, 24).expect("downgrade");
    let body: String = conn
        .query_row("SELECT body FROM outbox", [], |r| r.get(0))
        .expect("row");
    assert!(body.contains(link), "version 24 kept the link in the body");
    let before = dump(&path);
    drop(conn);
    let store = SqliteStore::open(&path).expect("open migrates");
    let mut after = dump(&path);
    // 0026's table of each organization's earliest due times is new.
    after.remove("due_heads");
    for row in after.get_mut("outbox").expect("outbox") {
        *row = row
            .strip_suffix("|Null")
            .expect("no link column")
            .to_owned();
    }
    assert_eq!(after, before, "no row rewritten");
    let mut tx = begin(&store);
    assert_eq!(
        tx.outbox_message(&MessageId::from("msg_a")).expect("read"),
        Some(draft("msg_a", "inv_a"))
    );
    tx.put_invitation(&invitation(&o, "inv_b", "b@x.test"))
        .expect("put");
    tx.put_outbox_message(draft("msg_b", "inv_b")).expect("put");
    tx.commit().expect("commit");
    let row = |id: &str| -> (String, Option<String>, String) {
        Connection::open(&path)
            .and_then(|c| {
                c.query_row(
                    "SELECT body, link, status FROM outbox WHERE message_id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
            })
            .expect("row")
    };
    let (body, held, _) = row("msg_b");
    assert!(!body.contains(link), "{body}");
    assert_eq!(held.as_deref(), Some(link));
    let mut tx = begin(&store);
    assert_eq!(
        tx.outbox_message(&MessageId::from("msg_b")).expect("read"),
        Some(draft("msg_b", "inv_b"))
    );
    for inv in ["inv_a", "inv_b"] {
        tx.supersede_queued_messages(&o, &InvitationId::from(inv))
            .expect("supersede");
    }
    tx.commit().expect("commit");
    for id in ["msg_a", "msg_b"] {
        let (body, held, status) = row(id);
        assert_eq!(status, "superseded");
        assert!(!body.contains(link), "{id}: {body}");
        assert_eq!(held, None, "{id}");
        let mut tx = begin(&store);
        let m = tx
            .outbox_message(&MessageId::from(id))
            .expect("read")
            .expect("there");
        assert_eq!(m.status, OutboxStatus::Superseded);
        assert_eq!(m.email.accept_url, enlist::REDACTED);
    }
}

/// The store keeps each organization it decoded with the text it came
/// from, and hands out that copy only while the row still holds that
/// text: a write by another store on the same file (another process), a
/// write of this store and a rolled-back write are all seen as the row
/// is, and the cache stays bounded.
#[test]
fn decoded_organizations_follow_the_row_whoever_wrote_it() {
    let (store, dir) = file_store();
    let other = SqliteStore::open(dir.path().join("enlist.sqlite3")).expect("open again");
    let o = org_id(1);
    let name = |store: &SqliteStore| -> String {
        let mut tx = store.begin_read().expect("begin");
        tx.organization(&o).expect("read").expect("there").name
    };
    let rename = |store: &SqliteStore, to: &str| {
        let mut tx = begin(store);
        let mut org = tx.organization(&o).expect("read").expect("there");
        org.name = to.to_owned();
        tx.put_organization(&org).expect("put");
        tx.commit().expect("commit");
    };
    let mut tx = begin(&store);
    tx.put_organization(&organization(&o)).expect("put");
    tx.commit().expect("commit");
    assert_eq!(name(&store), "Org org_1");
    assert_eq!(name(&store), "Org org_1", "from the cache");
    // Another process renames it: the next read sees it.
    rename(&other, "Renamed elsewhere");
    assert_eq!(name(&store), "Renamed elsewhere");
    // A write of this store, then one rolled back.
    rename(&store, "Renamed here");
    assert_eq!(name(&store), "Renamed here");
    assert_eq!(name(&other), "Renamed here");
    {
        let mut tx = begin(&store);
        let mut org = tx.organization(&o).expect("read").expect("there");
        org.name = "Never committed".into();
        tx.put_organization(&org).expect("put");
        assert_eq!(
            tx.organization(&o).expect("read").expect("there").name,
            "Never committed"
        );
    }
    assert_eq!(name(&store), "Renamed here");
    // Bounded: many organizations read, at most `OrgCache::MAX` kept.
    let many: Vec<OrgId> = (0..300)
        .map(|n| OrgId::from(format!("org_many_{n}")))
        .collect();
    let mut tx = begin(&store);
    for id in &many {
        tx.put_organization(&organization(id)).expect("put");
    }
    for id in &many {
        assert_eq!(tx.organization(id).expect("read").expect("there").id, *id);
    }
    tx.commit().expect("commit");
    let kept = store.orgs.0.lock().expect("lock").len();
    assert!(kept <= 256, "{kept} kept");
}

/// Since migration 0018 one index on `(user_ref, org_id)` serves both a
/// member's account (the lookup by organization and account, and the rule
/// of one live member per account in an organization) and an account's
/// organizations, in org_id order without a sort; `members_by_account` is
/// gone, and a file migrated from version 17 has the same index.
#[test]
fn one_index_serves_a_members_account_both_ways() {
    let plan = |conn: &Connection, sql: &str, params: Vec<Value>| -> String {
        query_plan(conn, sql, params_from_iter(params))
    };
    let check = |conn: &Connection| {
        assert!(!in_schema(conn, "index", "members_by_account"));
        let columns = first_column(
            conn,
            "SELECT name FROM pragma_index_info('members_live_user_ref') ORDER BY seqno",
        )
        .expect("columns");
        assert_eq!(columns, ["user_ref", "org_id"]);
        let text = |s: &str| Value::Text(s.to_owned());
        let by_ref = plan(
            conn,
            tx::sql::MEMBER_BY_USER_REF,
            vec![text("org_1"), text("acct-1")],
        );
        assert!(
            by_ref.contains("USING INDEX members_live_user_ref") && !by_ref.contains("SCAN"),
            "{by_ref}"
        );
        let of_account = plan(
            conn,
            "SELECT m.org_id, o.body, m.body FROM members AS m
             JOIN organizations AS o ON o.org_id = m.org_id
             WHERE m.user_ref = ?1 AND m.status <> 'removed' AND m.user_ref IS NOT NULL
               AND (?2 IS NULL OR m.org_id > ?2) AND o.deleted = 0
             ORDER BY m.org_id LIMIT ?3",
            vec![text("acct-1"), Value::Null, Value::Integer(10)],
        );
        assert!(
            of_account.contains("USING INDEX members_live_user_ref")
                && !of_account.contains("TEMP B-TREE"),
            "{of_account}"
        );
    };
    let store = SqliteStore::open_in_memory().expect("open");
    check(&store.conn.lock("SqliteStore").expect("lock"));
    // A version-17 file, migrated.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v17.sqlite3");
    drop(SqliteStore::open(&path).expect("create"));
    downgrade(&Connection::open(&path).expect("open"), 17).expect("downgrade");
    {
        let conn = Connection::open(&path).expect("open");
        assert!(in_schema(&conn, "index", "members_by_account"));
    }
    let store = SqliteStore::open(&path).expect("migrate");
    check(&store.conn.lock("SqliteStore").expect("lock"));
}

/// Migrations 0019 to 0021: every organization with invitations gets a
/// number, in org id order, then those with only events or messages, then
/// those with only members; every invitation, event, message and member
/// row holds its organization's; the per-organization indexes of the four
/// tables begin with it (but `members_id`, which `member_groups`' foreign
/// key refers to) and those across organizations keep `org_id`; the rows
/// are found, listed and kept unique as before. A number is given once: a
/// new organization gets the next, and a purged one's is not given again.
#[test]
fn migrations_0019_to_0021_number_the_organizations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v18.sqlite3");
    let (a, b, c, d, e) = (org_id(1), org_id(2), org_id(3), org_id(4), org_id(5));
    {
        let store = SqliteStore::open(&path).expect("create");
        // Written in the other order: numbers follow the ids, not the rows.
        fill(&store, &b, 3);
        fill(&store, &a, 5);
        // An organization with an event and nothing else, and one with a
        // member and nothing else.
        let mut tx = begin(&store);
        tx.append_event(event(&d, 0)).expect("append");
        tx.put_member(&member(&e, "mem_e", "e@x.test"))
            .expect("put");
        tx.commit().expect("commit");
    }
    downgrade(&Connection::open(&path).expect("open"), 18).expect("downgrade");
    let first_columns = |conn: &Connection, index: &str| -> Vec<String> {
        first_column(
            conn,
            &format!("SELECT name FROM pragma_index_info('{index}') ORDER BY seqno"),
        )
        .expect("columns")
    };
    {
        let conn = Connection::open(&path).expect("open");
        assert!(!in_schema(&conn, "table", "org_keys"));
        assert_eq!(first_columns(&conn, "invitations_list")[0], "org_id");
        assert_eq!(first_columns(&conn, "events_seq")[0], "org_id");
        assert_eq!(first_columns(&conn, "outbox_due")[0], "org_id");
        assert_eq!(first_columns(&conn, "members_list")[0], "org_id");
        let on_numbers = first_column(
            &conn,
            "SELECT m.name FROM sqlite_schema m, pragma_index_info(m.name) c
             WHERE m.type = 'index' AND c.name = 'org'",
        )
        .expect("indexes");
        assert!(on_numbers.is_empty(), "{on_numbers:?}");
    }
    let numbers = |conn: &Connection| -> Vec<String> {
        first_column(
            conn,
            "SELECT org_id || '=' || org FROM org_keys ORDER BY org",
        )
        .expect("numbers")
    };
    let store = SqliteStore::open(&path).expect("migrate");
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        assert_eq!(numbers(&conn), ["org_1=1", "org_2=2", "org_4=3", "org_5=4"]);
        for table in ["invitations", "events", "outbox", "members"] {
            let wrong: i64 = conn
                .query_row(
                    &format!(
                        "SELECT COUNT(*) FROM {table} t WHERE t.org IS NOT
                         (SELECT k.org FROM org_keys k WHERE k.org_id = t.org_id)"
                    ),
                    [],
                    |r| r.get(0),
                )
                .expect("count");
            assert_eq!(
                wrong, 0,
                "every row of {table} holds its organization's number"
            );
        }
        for index in [
            "invitations_id",
            "invitations_secret",
            "invitations_open_recipient",
            "invitations_list",
            "invitations_batch",
            "invitations_due",
            "invitations_open_by_inviter",
            "invitations_people_name",
            "invitations_people_role",
            "invitations_expired_recipient",
            "events_seq",
            "outbox_due",
            "outbox_queued_unlinked",
            "outbox_failed",
            "members_live_contact",
            "members_list",
            "members_by_role",
            "members_people_name",
            "members_people_role",
            "members_people_since",
            "members_people_last",
        ] {
            assert_eq!(first_columns(&conn, index)[0], "org", "{index}");
        }
        assert_eq!(first_columns(&conn, "members_id"), ["org_id", "member_id"]);
        for index in ["invitations_person_key", "invitations_person_account"] {
            let columns = first_columns(&conn, index);
            assert!(
                columns.iter().any(|c| c == "org_id"),
                "{index}: {columns:?}"
            );
        }
    }
    let mut tx = begin(&store);
    for (org, n) in [(&a, 5_u32), (&b, 3)] {
        for i in 0..n {
            let id = InvitationId::from(format!("inv_{i}"));
            let found = tx.invitation(org, &id).expect("read").expect("kept");
            assert_eq!((&found.org_id, &found.id), (org, &id));
            let hash = SecretHash::of(format!("{org}/{i}").as_bytes());
            let by_secret = tx.invitation_by_secret(org, &hash).expect("read");
            assert_eq!(by_secret.map(|f| f.id.clone()), Some(id.clone()));
            let open = tx
                .open_invitation_for(org, &format!("r{i}@x.test"))
                .expect("read");
            assert_eq!(open.map(|f| f.id.clone()), Some(id));
        }
        let page = tx
            .list_invitations(org, &InvitationQuery::default(), t(-10))
            .expect("list");
        assert_eq!(page.items.len(), n as usize, "{org}");
        let events = tx.events(org, 0, 100).expect("events");
        assert_eq!(events.len(), n as usize, "{org}");
        for i in 0..n {
            let m = tx
                .member_by_contact(org, &format!("k{i}@x.test"))
                .expect("read")
                .expect("kept");
            assert_eq!(m.id, MemberId::from(format!("mem_{i}")));
        }
        let members = tx.list_members(org, &MemberQuery::default()).expect("list");
        assert_eq!(members.items.len(), n as usize, "{org}");
        // Each invitation's message and the one of an invitation not
        // stored, all due.
        let due = tx.due_outbox(Some(org), t(1_000_000), 100).expect("due");
        assert_eq!(due.len(), 2 * n as usize, "{org}");
        assert!(due.iter().all(|m| &m.org_id == org));
    }
    assert_eq!(tx.events(&d, 0, 10).expect("events").len(), 1);
    let only = tx.member_by_contact(&e, "e@x.test").expect("read");
    assert_eq!(only.map(|m| m.id), Some(MemberId::from("mem_e")));
    let twin = member(&a, "mem_twin", "k1@x.test");
    assert!(matches!(
        tx.put_member(&twin),
        Err(enlist::StoreError::Unique(
            enlist::UniqueRule::MemberContactKey
        ))
    ));
    drop(tx);
    let mut tx = begin(&store);
    assert!(
        tx.invitation(&b, &InvitationId::from("inv_4"))
            .expect("read")
            .is_none(),
        "an id of one organization is not found in another"
    );
    let mut second = invitation(&a, "inv_again", "r1@x.test");
    second.status = InvitationStatus::Pending;
    assert!(matches!(
        tx.put_invitation(&second),
        Err(enlist::StoreError::Unique(
            enlist::UniqueRule::InvitationOpenRecipient
        ))
    ));
    drop(tx);
    // A new organization gets the next number; a purged one's number goes
    // with it and is not given again.
    let mut tx = begin(&store);
    tx.put_invitation(&invitation(&c, "inv_c", "c@x.test"))
        .expect("put");
    tx.purge_organization(&b).expect("purge");
    tx.put_invitation(&invitation(&b, "inv_b", "b@x.test"))
        .expect("put");
    tx.commit().expect("commit");
    let conn = store.conn.lock("SqliteStore").expect("lock");
    assert_eq!(
        numbers(&conn),
        ["org_1=1", "org_4=3", "org_5=4", "org_3=5", "org_2=6"]
    );
    for table in ["invitations", "events", "outbox", "members"] {
        let left: i64 = conn
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE org = 2"),
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(left, 0, "the purge took the {table} of the old number");
    }
}

// ----- checkpoints (src/checkpoint.rs) ---------------------------------------

/// A file store whose checkpoint thread wakes from `wake` frames in the WAL
/// and whose writer checkpoints itself from `writer` frames.
fn store_with_checkpoints(wake: u32, writer: u32) -> (SqliteStore, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("enlist.sqlite3");
    // Made and closed first, so the schema is in the file and the WAL
    // starts empty.
    drop(SqliteStore::open(&path).expect("create"));
    let conn = writer_connection(&path).expect("open");
    let store = SqliteStore::init_with(conn, Some(path.clone()), wake, writer).expect("init");
    (store, path, dir)
}

/// Appends `n` events in one transaction: about a page of WAL per 15.
fn append_events(store: &SqliteStore, org: &OrgId, n: u32) {
    events_in_one_transaction(store, org, n, true);
}

/// Appends `n` events in one transaction, then commits it or (dropped)
/// rolls it back.
fn events_in_one_transaction(store: &SqliteStore, org: &OrgId, n: u32, commit: bool) {
    let mut tx = begin(store);
    for i in 0..n {
        tx.append_event(event(org, i)).expect("append");
    }
    if commit {
        tx.commit().expect("commit");
    }
}

/// Another store on the file at `path`, with its own write connection (as
/// another process would have), checkpoints off.
fn second_writer(path: &Path) -> SqliteStore {
    SqliteStore::init_with(
        writer_connection(path).expect("open"),
        Some(path.to_path_buf()),
        u32::MAX,
        u32::MAX,
    )
    .expect("second store")
}

/// The events in the database file itself, read from a copy of it alone:
/// what a checkpoint has copied out of the WAL, and nothing else.
fn events_in_the_file(path: &Path, dir: &Path) -> i64 {
    let copy = dir.join("copy-of-the-file-alone.sqlite3");
    std::fs::copy(path, &copy).expect("copy");
    let conn = Connection::open(&copy).expect("open the copy");
    conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .expect("count")
}

/// Waits (for as long as a loaded machine may need: this is not a timing
/// check) until the checkpoint thread has run `n` checkpoints.
fn wait_for_thread_checkpoints(store: &SqliteStore, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while store.checkpoint_counts().0 < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the checkpoint thread never ran"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn checkpoints_run_on_a_thread_of_their_own_not_in_the_commit() {
    let (store, path, dir) = store_with_checkpoints(50, u32::MAX);
    let org = org_id(1);
    // Below the wake limit: no checkpoint at all, the file has no events.
    append_events(&store, &org, 100);
    assert_eq!(store.checkpoint_counts(), (0, 0));
    assert_eq!(events_in_the_file(&path, dir.path()), 0);
    // Past it: the commit wakes the thread, which copies the pages.
    append_events(&store, &org, 2_000);
    wait_for_thread_checkpoints(&store, 1);
    assert_eq!(
        store.checkpoint_counts().1,
        0,
        "the writer never checkpointed"
    );
    assert_eq!(events_in_the_file(&path, dir.path()), 2_100);
}

#[test]
fn past_its_limit_the_writer_checkpoints_itself() {
    // A thread that is never woken (as when it cannot start): the WAL is
    // still bounded, by the writer's own checkpoint after its commit.
    let (store, path, dir) = store_with_checkpoints(u32::MAX, 50);
    let org = org_id(1);
    append_events(&store, &org, 100);
    assert_eq!(store.checkpoint_counts(), (0, 0));
    append_events(&store, &org, 2_000);
    assert_eq!(store.checkpoint_counts(), (0, 1));
    assert_eq!(events_in_the_file(&path, dir.path()), 2_100);
    // The WAL restarts from its beginning at the next write: it holds one
    // small transaction's pages, not everything since the file was opened.
    append_events(&store, &org, 1);
    let wal = std::fs::metadata(path.with_extension("sqlite3-wal"))
        .expect("wal")
        .len();
    append_events(&store, &org, 1);
    assert_eq!(
        std::fs::metadata(path.with_extension("sqlite3-wal"))
            .expect("wal")
            .len(),
        wal,
        "the second small write reused the WAL's space"
    );
}

#[test]
fn a_commit_wakes_the_thread_once_per_stretch_of_the_wal() {
    let (store, _path, _dir) = store_with_checkpoints(100, u32::MAX);
    let org = org_id(1);
    append_events(&store, &org, 1);
    // A reader on the first snapshot: no checkpoint can copy past it, so
    // the WAL cannot restart and stays past the wake limit from here on.
    let mut reader = store.begin_read().expect("read");
    assert_eq!(reader.events(&org, 0, 10).expect("events").len(), 1);
    append_events(&store, &org, 2_000);
    assert_eq!(store.checkpoint_wakes(), 1);
    // Small commits adding fewer than 100 frames in all (a few each): no
    // new wake.
    for _ in 0..10 {
        append_events(&store, &org, 1);
    }
    assert_eq!(store.checkpoint_wakes(), 1);
    // Another 100 frames past the last wake: one more.
    append_events(&store, &org, 2_000);
    assert_eq!(store.checkpoint_wakes(), 2);
    drop(reader);
}

#[test]
fn the_thread_stops_with_the_store_and_the_wal_goes_with_the_last_connection() {
    let (store, path, _dir) = store_with_checkpoints(50, u32::MAX);
    append_events(&store, &org_id(1), 2_000);
    wait_for_thread_checkpoints(&store, 1);
    let wal = path.with_extension("sqlite3-wal");
    assert!(wal.exists());
    // Dropping the store joins the thread (its connection closed), so the
    // write connection is the file's last and removes the WAL on closing.
    drop(store);
    assert!(!wal.exists(), "a connection was left open");
    let store = SqliteStore::open(&path).expect("reopen");
    let mut tx = store.begin_read().expect("read");
    assert_eq!(
        tx.events(&org_id(1), 0, 5_000).expect("events").len(),
        2_000
    );
}

#[test]
fn readers_see_whole_commits_while_checkpoints_run_beside_the_writer() {
    // Low limits, so that the thread and the writer both checkpoint many
    // times while a reader reads: every snapshot holds whole transactions,
    // and nothing committed is lost, then or after reopening.
    let (store, path, _dir) = store_with_checkpoints(20, 400);
    let store = Arc::new(store);
    let org = org_id(1);
    let (commits, per_commit) = (300_u32, 50_u32);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, org, stop) = (Arc::clone(&store), org.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let (mut seen, mut snapshots) = (0_u64, 0_u32);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || snapshots == 0 {
                let mut tx = store.begin_read().expect("read");
                loop {
                    let page = tx.events(&org, seen, 1_000).expect("events");
                    if page.is_empty() {
                        break;
                    }
                    for e in &page {
                        assert_eq!(e.seq, seen + 1, "events in order, none missing");
                        seen = e.seq;
                    }
                }
                assert_eq!(
                    seen % u64::from(per_commit),
                    0,
                    "a snapshot holds whole commits"
                );
                snapshots += 1;
            }
            seen
        })
    };
    for _ in 0..commits {
        append_events(&store, &org, per_commit);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen_by_reader = reader.join().expect("reader");
    assert!(seen_by_reader <= u64::from(commits * per_commit));
    let (by_thread, by_writer) = store.checkpoint_counts();
    assert!(by_thread >= 1 && by_writer >= 1, "{by_thread} {by_writer}");
    let total = u64::from(commits * per_commit);
    let count = |store: &SqliteStore| {
        let mut tx = store.begin_read().expect("read");
        tx.events(&org, total - 1, 10).expect("events").len()
    };
    assert_eq!(count(&store), 1);
    drop(Arc::into_inner(store).expect("the reader is done"));
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(count(&store), 1);
    let conn = Connection::open(&path).expect("open");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(ok, "ok");
}

// ----- the WAL's writes (src/vfs.rs) -----------------------------------------

/// The file and its WAL copied (not the `-shm`) into `to`, and the events
/// of `org` that a fresh connection finds there after WAL recovery: what a
/// crash at this moment would leave.
fn events_recovered(path: &Path, to: &Path, org: &OrgId) -> i64 {
    use rusqlite::OptionalExtension;
    let copy = to.join("recovered.sqlite3");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
    }
    std::fs::copy(path, &copy).expect("copy the file");
    std::fs::copy(
        path.with_extension("sqlite3-wal"),
        copy.with_extension("sqlite3-wal"),
    )
    .expect("copy the WAL");
    let conn = Connection::open(&copy).expect("open the copy");
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(ok, "ok");
    let key: Option<i64> = conn
        .query_row(
            "SELECT org FROM org_keys WHERE org_id = ?1",
            [org.as_str()],
            |r| r.get(0),
        )
        .optional()
        .expect("org key");
    conn.query_row("SELECT count(*) FROM events WHERE org = ?1", [key], |r| {
        r.get(0)
    })
    .expect("count")
}

/// A page cache of 10 pages on the store's write connection: a large
/// transaction spills its pages into the WAL before its commit.
fn small_cache(store: &SqliteStore) {
    store
        .conn
        .lock("test")
        .expect("connection")
        .execute_batch("PRAGMA cache_size = 10")
        .expect("small cache");
}

#[test]
fn a_commit_goes_to_the_wal_in_a_few_writes_not_two_a_frame() {
    let (store, path, _dir) = store_with_checkpoints(u32::MAX, u32::MAX);
    let org = org_id(1);
    append_events(&store, &org, 1);
    let wal = path.with_extension("sqlite3-wal");
    let size = || std::fs::metadata(&wal).expect("wal").len();
    let (before, writes_before) = (size(), vfs::WAL_WRITES.with(|n| n.get()));
    append_events(&store, &org, 2_000);
    let frames = (size() - before) / (24 + 4096);
    let writes = vfs::WAL_WRITES.with(|n| n.get()) - writes_before;
    assert!(frames >= 90, "{frames} frames");
    // Two writes a frame without the VFS; up to 31 frames a write with it.
    assert!(writes * 8 <= frames, "{writes} writes for {frames} frames");
}

#[test]
fn every_commit_is_in_the_wal_file_when_its_commit_returns() {
    // No checkpoint at all: the database file stays as made, and what a
    // crash would leave is the WAL. After each commit, small or larger
    // than the buffer, a copy of the two files recovers every event.
    let (store, path, dir) = store_with_checkpoints(u32::MAX, u32::MAX);
    let org = org_id(1);
    let mut total = 0;
    for n in [1_u32, 3, 100, 2_000, 1, 700, 1] {
        append_events(&store, &org, n);
        total += i64::from(n);
        assert_eq!(
            events_recovered(&path, dir.path(), &org),
            total,
            "after {n}"
        );
    }
}

#[test]
fn pages_spilled_before_a_commit_and_rolled_back_leave_the_wal_right() {
    // A page cache of 10 pages: a large transaction spills its pages into
    // the WAL before its commit (frames that are no commit's), and one
    // rolled back leaves them there, to be written over by the next.
    let (store, path, dir) = store_with_checkpoints(u32::MAX, u32::MAX);
    small_cache(&store);
    let org = org_id(1);
    append_events(&store, &org, 10);
    events_in_one_transaction(&store, &org, 3_000, false);
    assert_eq!(events_recovered(&path, dir.path(), &org), 10);
    append_events(&store, &org, 3_000);
    append_events(&store, &org, 5);
    assert_eq!(events_recovered(&path, dir.path(), &org), 3_015);
    let mut tx = store.begin_read().expect("read");
    assert_eq!(tx.events(&org, 3_014, 10).expect("events").len(), 1);
}

mod wal_writes_property {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
        /// For any sequence of transactions (1 to 2,000 events each, each
        /// committed or rolled back) through a 10-page cache, so that large
        /// ones spill frames into the WAL before their end: after each one,
        /// a copy of the file and its WAL (what a crash would leave)
        /// recovers exactly the events committed so far.
        #[test]
        fn a_crash_after_any_transaction_keeps_exactly_the_commits(
            steps in proptest::collection::vec((1_u32..2_000, any::<bool>()), 1..6)
        ) {
            let (store, path, dir) = store_with_checkpoints(u32::MAX, u32::MAX);
            small_cache(&store);
            let org = org_id(1);
            let mut committed = 0_i64;
            for (n, commit) in steps {
                events_in_one_transaction(&store, &org, n, commit);
                if commit {
                    committed += i64::from(n);
                }
                prop_assert_eq!(events_recovered(&path, dir.path(), &org), committed);
            }
        }

        /// The same with two writers on one file (two stores, as two
        /// processes would be), both with small caches, taking turns in
        /// any order: what either spilled and rolled back never overwrites
        /// what the other committed.
        #[test]
        fn two_writers_taking_turns_keep_exactly_their_commits(
            steps in proptest::collection::vec((any::<bool>(), 1_u32..1_500, any::<bool>()), 1..8)
        ) {
            let (a, path, dir) = store_with_checkpoints(u32::MAX, u32::MAX);
            let b = second_writer(&path);
            small_cache(&a);
            small_cache(&b);
            let orgs = [org_id(1), org_id(2)];
            let mut committed = [0_i64, 0];
            for (second, n, commit) in steps {
                let (store, w) = if second { (&b, 1) } else { (&a, 0) };
                events_in_one_transaction(store, &orgs[w], n, commit);
                if commit {
                    committed[w] += i64::from(n);
                }
                for w in 0..2 {
                    prop_assert_eq!(
                        events_recovered(&path, dir.path(), &orgs[w]),
                        committed[w]
                    );
                }
            }
        }
    }
}

#[test]
fn frames_spilled_and_rolled_back_never_overwrite_another_writers_commit() {
    // Two stores on one file, each with its own write connection (as two
    // processes would have). A spills a large transaction's pages into the
    // WAL and rolls it back; B then commits frames where A's spilled ones
    // were; A commits after. Every commit of both must survive a crash.
    let (a, path, dir) = store_with_checkpoints(u32::MAX, u32::MAX);
    let b = second_writer(&path);
    small_cache(&a);
    let (org_a, org_b) = (org_id(1), org_id(2));
    // The WAL is empty: the rollback below reloads its pages from the
    // database file, not from the WAL.
    events_in_one_transaction(&a, &org_a, 2_000, false);
    append_events(&b, &org_b, 3_000);
    append_events(&a, &org_a, 7);
    assert_eq!(events_recovered(&path, dir.path(), &org_b), 3_000);
    assert_eq!(events_recovered(&path, dir.path(), &org_a), 7);
}

#[test]
fn a_failed_write_of_the_wal_fails_the_commit_and_changes_nothing() {
    // The buffer is written out at the commit frame's header, where a
    // failure is the commit's own (a disk full, here made on purpose), not
    // at the barrier that publishes the commit, where none can be told.
    let (store, path, dir) = store_with_checkpoints(u32::MAX, u32::MAX);
    let org = org_id(1);
    append_events(&store, &org, 10);
    vfs::FAIL_WAL_FLUSHES.with(|n| n.set(1));
    let mut tx = begin(&store);
    for i in 0..100 {
        tx.append_event(event(&org, i)).expect("append");
    }
    let failed = tx.commit();
    vfs::FAIL_WAL_FLUSHES.with(|n| n.set(0));
    assert!(failed.is_err(), "the commit reported its failed write");
    assert_eq!(events_recovered(&path, dir.path(), &org), 10);
    {
        let mut tx = store.begin_read().expect("read");
        assert!(tx.events(&org, 10, 10).expect("events").is_empty());
    }
    append_events(&store, &org, 5);
    assert_eq!(events_recovered(&path, dir.path(), &org), 15);
}

/// Since migration 0024 a member keeps only the search terms its own keys
/// do not answer ("byron" of "Ada Byron" <ada@x.test>), a search still
/// finds it by any term, and a key that is not one of its terms (a name
/// with white space at an end, a contact key not folded) is not read, so
/// it finds no one the terms would not. A file of version 23 loses the
/// rows on migrating, and finds the same people.
#[test]
fn members_keep_only_the_terms_their_keys_do_not_answer() {
    use enlist::{PeopleQuery, PersonLabel};
    let (store, _dir) = file_store();
    let org = org_id(1);
    let mut ada = member(&org, "mem_ada", "ada@x.test");
    ada.first_name = Some("Ada".into());
    ada.last_name = Some("Byron".into());
    // Its name key is " zoe" (white space first): not read, terms kept.
    let mut zoe = member(&org, "mem_zoe", "zed@x.test");
    zoe.first_name = Some(" Zoe".into());
    zoe.status = MemberStatus::Inactive;
    // A contact key the store keeps as given (not folded): read, and
    // finding only who its fold (a term) finds.
    let mut mixed = member(&org, "mem_mix", "MIXx-7");
    mixed.contact = enlist::Contact::Identifier("MIXx-7".into());
    mixed.status = MemberStatus::Removed;
    {
        let mut tx = begin(&store);
        tx.put_organization(&organization(&org)).expect("org");
        for m in [&ada, &zoe, &mixed] {
            tx.put_member(m).expect("put");
        }
        tx.commit().expect("commit");
    }
    let terms = |store: &SqliteStore| -> Vec<(String, String)> {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        conn.prepare("SELECT pid, term FROM people_terms ORDER BY 1, 2")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .expect("terms")
    };
    // Ada: "ada", "ada byron" begin its name key, "ada@x.test" is its
    // contact key. Zoe: " zoe" is not read, so its name's term "zoe"
    // stays; its contact key answers "zed@x.test". The identifier:
    // "mixx-7" is its name key (it has no name), which is read.
    let kept = vec![
        ("m.mem_ada".to_owned(), "byron".to_owned()),
        ("m.mem_zoe".to_owned(), "zoe".to_owned()),
    ];
    assert_eq!(terms(&store), kept);
    let found = |store: &SqliteStore, search: &str| -> Vec<String> {
        let mut tx = begin(store);
        let q = PeopleQuery {
            search: Some(search.into()),
            labels: PersonLabel::ALL.to_vec(),
            limit: 50,
            ..PeopleQuery::default()
        };
        let page = tx.people(&org, &q, t(5)).expect("people");
        let mut ids: Vec<String> = page
            .items
            .iter()
            .filter_map(|p| p.member_id.as_ref().map(ToString::to_string))
            .collect();
        ids.sort();
        ids
    };
    let expect = |store: &SqliteStore| {
        assert_eq!(
            found(store, "ADA"),
            ["mem_ada"],
            "first name, a row no more"
        );
        assert_eq!(found(store, "ada by"), ["mem_ada"], "full name");
        assert_eq!(found(store, "ada@x"), ["mem_ada"], "contact key");
        assert_eq!(found(store, "byr"), ["mem_ada"], "last name, a row");
        assert_eq!(found(store, "zo"), ["mem_zoe"], "a trimmed name's term");
        assert_eq!(found(store, "z"), ["mem_zoe"]);
        // " zoe" is its name key, not a term: a search that only the key
        // begins ("\0" is dropped by the folding, the space kept) finds
        // no one.
        assert!(found(store, "\0 zo").is_empty(), "the key is not read");
        assert_eq!(found(store, "mixx"), ["mem_mix"], "by its name key");
        assert_eq!(found(store, "MIXx-7"), ["mem_mix"]);
        assert!(found(store, "MIXx-7x").is_empty());
        assert!(found(store, "\u{10FFFF}").is_empty());
    };
    expect(&store);
    // A file of version 23 has every term; migrating drops what the keys
    // answer, and the same people are found.
    let path = store.path().expect("file").to_path_buf();
    drop(store);
    Connection::open(&path)
        .and_then(|c| downgrade(&c, 23))
        .expect("downgrade to version 23");
    {
        let conn = Connection::open(&path).expect("open");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM people_terms", [], |r| r.get(0))
            .expect("count");
        assert_eq!(n, 7, "version 23 keeps every term");
    }
    let store = SqliteStore::open(&path).expect("migrate");
    assert_eq!(terms(&store), kept);
    expect(&store);
}

mod member_search_property {
    use super::*;
    use enlist::{PeopleQuery, PersonLabel};
    use proptest::prelude::*;

    /// Names and searches from a small alphabet with what makes the keys
    /// differ from the terms: white space at either end, NUL (which the
    /// folding drops), upper case, a non-ASCII letter and a space inside.
    fn text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just('a'),
                Just('b'),
                Just('A'),
                Just(' '),
                Just('\0'),
                Just('\u{a0}'),
                Just('É'),
                Just('é'),
                Just('@'),
            ],
            0..5,
        )
        .prop_map(|c| c.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// For any members (any first and last names, contact keys folded
        /// or not, any status) and any search, the store finds exactly the
        /// members one of whose search terms the folded search begins:
        /// what `PeopleQuery::matches` (and so MemoryStore) finds.
        #[test]
        fn a_search_finds_exactly_the_members_a_term_matches(
            people in proptest::collection::vec(
                (proptest::option::of(text()), proptest::option::of(text()), text(), 0..3u8),
                1..6,
            ),
            searches in proptest::collection::vec(text(), 1..6),
        ) {
            let store = SqliteStore::open_in_memory().expect("open");
            let org = org_id(1);
            let mut members = Vec::new();
            {
                let mut tx = begin(&store);
                tx.put_organization(&organization(&org)).expect("org");
                for (i, (first, last, key, status)) in people.into_iter().enumerate() {
                    let key = format!("{key}{i}");
                    let mut m = member(&org, &format!("mem_{i}"), &key);
                    m.contact = enlist::Contact::Identifier(key.as_str().into());
                    m.first_name = first;
                    m.last_name = last;
                    m.status = [MemberStatus::Active, MemberStatus::Inactive, MemberStatus::Removed]
                        [usize::from(status)];
                    tx.put_member(&m).expect("put");
                    members.push(m);
                }
                tx.commit().expect("commit");
            }
            let mut tx = begin(&store);
            for search in searches {
                let q = PeopleQuery {
                    search: Some(search.clone()),
                    labels: PersonLabel::ALL.to_vec(),
                    limit: 50,
                    ..PeopleQuery::default()
                };
                let mut got: Vec<String> = tx
                    .people(&org, &q, t(5))
                    .expect("people")
                    .items
                    .iter()
                    .filter_map(|p| p.member_id.as_ref().map(ToString::to_string))
                    .collect();
                got.sort();
                let mut want: Vec<String> = members
                    .iter()
                    .filter(|m| q.matches(&enlist::Person::from_member(m)))
                    .map(|m| m.id.to_string())
                    .collect();
                want.sort();
                prop_assert_eq!(got, want, "search {:?}", search);
            }
        }
    }
}

/// [`crate::people::WHITE_SPACE`] is every character `str::trim` removes.
#[test]
fn the_white_space_sqlite_trims_is_what_rust_trims() {
    let all: String = (0..=u32::from(char::MAX))
        .filter_map(char::from_u32)
        .filter(|c| c.is_whitespace())
        .collect();
    assert_eq!(crate::people::WHITE_SPACE, all);
}

// ----- due heads (migration 0026) -------------------------------------------

/// What the two indexes across organizations answered before migration
/// 0026: the due rows of every organization in one ordered range, here a
/// scan of the whole table in the same order (the oracle of the merge).
const DUE_INVITATIONS_V25: &str = "SELECT body FROM invitations WHERE status = 'pending' AND expires_s IS NOT NULL AND expires_s <= ?1 AND NOT (expires_s = ?1 AND expires_ns > ?2) ORDER BY expires_s, expires_ns, org_id, invitation_id LIMIT ?3";
const DUE_OUTBOX_V25: &str = "SELECT status, link, body FROM outbox WHERE status = 'queued' AND next_s <= ?1 AND NOT (next_s = ?1 AND next_ns > ?2) ORDER BY next_s, next_ns, message_id LIMIT ?3";
const NEXT_OUTBOX_DUE_V25: &str = "SELECT next_s, next_ns FROM outbox WHERE status = 'queued' ORDER BY next_s, next_ns, message_id LIMIT 1";

/// The due lists across organizations as the store answers them and as
/// the table scans above do, at `now` and `limit`; and the earliest next
/// attempt both ways.
#[allow(clippy::type_complexity)]
fn due_both_ways(
    store: &SqliteStore,
    now: DateTime<Utc>,
    limit: usize,
) -> (
    (Vec<String>, Vec<String>, Option<DateTime<Utc>>),
    (Vec<String>, Vec<String>, Option<DateTime<Utc>>),
) {
    let mut tx = begin(store);
    let got = (
        tx.due_invitations(None, now, limit)
            .expect("due invitations")
            .into_iter()
            .map(|i| i.id.to_string())
            .collect(),
        tx.due_outbox(None, now, limit)
            .expect("due outbox")
            .into_iter()
            .map(|m| m.id.to_string())
            .collect(),
        tx.next_outbox_due(None).expect("next due"),
    );
    drop(tx);
    let conn = store.conn.lock("SqliteStore").expect("lock");
    let (s, ns) = tx_split(now);
    let n = i64::try_from(limit).expect("small");
    let ids = |sql: &str, col: usize| -> Vec<String> {
        let mut st = conn.prepare(sql).expect("prepare");
        st.query_map(params![s, ns, n], |r| r.get::<_, String>(col))
            .expect("query")
            .map(|b| {
                let b = b.expect("row");
                let v: serde_json::Value = serde_json::from_str(&b).expect("json");
                v["id"].as_str().expect("an id").to_owned()
            })
            .collect()
    };
    let next: Option<(i64, i64)> = conn
        .query_row(NEXT_OUTBOX_DUE_V25, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .expect("next");
    let expected = (
        ids(DUE_INVITATIONS_V25, 0),
        ids(DUE_OUTBOX_V25, 2),
        next.map(|(s, ns)| crate::codec::time_of(s, ns).expect("a time")),
    );
    (got, expected)
}

mod due_heads {
    use super::*;
    use proptest::prelude::*;

    /// One step: `(organization, what, a small number)`.
    fn step() -> impl Strategy<Value = (u8, u8, u8)> {
        (1_u8..=4, 0_u8..6, 0_u8..6)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        /// Whatever invitations and messages of several organizations are
        /// written, expired, sent or superseded (times chosen from a few,
        /// so that rows of different organizations tie), the lists across
        /// organizations merged from the heads are the ones one ordered
        /// range gave before migration 0026, at every limit and time, and
        /// the heads kept are the ones `verify_counts` recomputes.
        #[test]
        fn merged_due_lists_are_the_ones_the_indexes_across_organizations_gave(
            steps in proptest::collection::vec(step(), 1..40),
        ) {
            let store = SqliteStore::open_in_memory().expect("open");
            for (i, (o, what, n)) in steps.into_iter().enumerate() {
                let org = org_id(o);
                let inv_id = format!("inv_{}", n);
                let mut tx = begin(&store);
                match what {
                    // A pending invitation expiring at one of six times
                    // (0), or a batch of ten at two of them (1: more rows
                    // in one organization than the merge reads at first).
                    0 | 1 => {
                        let count = if what == 0 { 1 } else { 10 };
                        for k in 0..count {
                            let id = format!("inv_{i:03}{}", if k == 0 { String::new() } else { format!("_{k}") });
                            let mut inv = invitation(&org, &id, &format!("p{i}_{k}@x.test"));
                            inv.invitation.status = InvitationStatus::Pending;
                            inv.invitation.expires_at = Some(t(i64::from((n + k % 2) % 6) * 10));
                            tx.put_invitation(&inv).expect("put");
                        }
                    }
                    // One of them revoked (if it is there).
                    2 => {
                        let id = InvitationId::from(format!("inv_{:03}", usize::from(n) * 3));
                        if let Some(mut inv) = tx.invitation(&org, &id).expect("read") {
                            inv.invitation.status = InvitationStatus::Revoked;
                            tx.put_invitation(&inv).expect("put");
                        }
                    }
                    // A queued message due at one of six times, or ten
                    // of them at two times when `n` is even.
                    3 => {
                        let count = if n % 2 == 0 { 10 } else { 1 };
                        for k in 0..count {
                            let id = format!("msg_{i:03}{}", if k == 0 { String::new() } else { format!("_{k}") });
                            tx.put_outbox_message(message(&org, &id, &inv_id, i64::from((n + k % 2) % 6) * 10))
                                .expect("put");
                        }
                    }
                    // One sent.
                    4 => {
                        let id = MessageId::from(format!("msg_{:03}", usize::from(n) * 3));
                        if let Some(mut m) = tx.outbox_message(&id).expect("read") {
                            m.status = OutboxStatus::Sent;
                            tx.put_outbox_message(m).expect("put");
                        }
                    }
                    // The queued messages of an invitation superseded.
                    _ => tx
                        .supersede_queued_messages(&org, &InvitationId::from(inv_id))
                        .expect("supersede"),
                }
                tx.commit().expect("commit");
                for (now, limit) in [(t(25), 1), (t(25), 3), (t(100), 2), (t(100), 20), (t(100), 1000), (t(-1), 5)] {
                    let (got, expected) = due_both_ways(&store, now, limit);
                    prop_assert_eq!(got, expected);
                }
                prop_assert_eq!(store.verify_counts().expect("verify"), vec![]);
            }
        }
    }
}

#[test]
fn a_head_is_read_again_before_a_read_across_organizations_in_the_same_transaction() {
    let store = SqliteStore::open_in_memory().expect("open");
    let mut tx = begin(&store);
    tx.put_outbox_message(message(&org_id(1), "msg_1", "inv_1", 5))
        .expect("put");
    assert_eq!(tx.next_outbox_due(None).expect("next"), Some(t(5)));
    let due: Vec<String> = tx
        .due_outbox(None, t(5), 10)
        .expect("due")
        .into_iter()
        .map(|m| m.id.to_string())
        .collect();
    assert_eq!(due, ["msg_1"]);
    let mut inv = invitation(&org_id(2), "inv_2", "b@x.test");
    inv.invitation.status = InvitationStatus::Pending;
    inv.invitation.expires_at = Some(t(3));
    tx.put_invitation(&inv).expect("put");
    assert_eq!(tx.due_invitations(None, t(3), 10).expect("due").len(), 1);
    drop(tx);
    // Rolled back: no head is left behind.
    let conn = store.conn.lock("SqliteStore").expect("lock");
    let heads: i64 = conn
        .query_row("SELECT COUNT(*) FROM due_heads", [], |r| r.get(0))
        .expect("count");
    assert_eq!(heads, 0);
}

#[test]
fn verify_counts_finds_a_head_written_around_the_store_and_repair_sets_it() {
    let store = SqliteStore::open_in_memory().expect("open");
    let mut tx = begin(&store);
    tx.put_outbox_message(message(&org_id(1), "msg_1", "inv_1", 5))
        .expect("put");
    tx.put_outbox_message(message(&org_id(1), "msg_2", "inv_2", 9))
        .expect("put");
    tx.commit().expect("commit");
    assert_eq!(store.verify_counts().expect("verify"), vec![]);
    {
        let conn = store.conn.lock("SqliteStore").expect("lock");
        // A script sends the first message without the store.
        conn.execute(
            "UPDATE outbox SET status = 'sent' WHERE message_id = 'msg_1'",
            [],
        )
        .expect("update");
    }
    let wrong = store.verify_counts().expect("verify");
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert_eq!(
        (wrong[0].what.as_str(), wrong[0].key.as_str()),
        ("due_head", "outbox")
    );
    let (s5, s9) = (t(5).timestamp(), t(9).timestamp());
    assert_eq!(
        (wrong[0].stored, wrong[0].actual),
        (s5 * 1_000_000_000, s9 * 1_000_000_000)
    );
    assert_eq!(store.repair_counts().expect("repair"), wrong);
    assert_eq!(store.verify_counts().expect("verify"), vec![]);
    let mut tx = begin(&store);
    assert_eq!(tx.next_outbox_due(None).expect("next"), Some(t(9)));
}

/// Migration 0027 drops the index by id of the people view's
/// invitations: by last activity they come in the order they were made,
/// read from `invitations_list`, after the upgrade as before it (ids here
/// do not follow the times).
#[test]
fn migration_0027_walks_invitations_by_last_activity_in_creation_order() {
    use enlist::testing::people::{BY_CREATION, by_last_activity, invitations_out_of_id_order};
    let (store, dir) = file_store();
    let path = dir.path().join("enlist.sqlite3");
    let org = org_id(1);
    let mut tx = begin(&store);
    tx.put_organization(&organization(&org)).expect("org");
    invitations_out_of_id_order(tx.as_mut(), &org);
    tx.commit().expect("commit");
    assert_eq!(
        by_last_activity(begin(&store).as_mut(), &org, false),
        BY_CREATION
    );
    drop(store);
    let conn = Connection::open(&path).expect("open");
    downgrade(&conn, 26).expect("downgrade");
    assert_eq!(
        objects_named(&conn, &["invitations_people_id"]),
        1,
        "version 26 has the index"
    );
    drop(conn);
    let store = SqliteStore::open(&path).expect("open migrates");
    assert_eq!(
        by_last_activity(begin(&store).as_mut(), &org, false),
        BY_CREATION
    );
    let mut back = BY_CREATION;
    back.reverse();
    assert_eq!(by_last_activity(begin(&store).as_mut(), &org, true), back);
    let conn = store.conn.lock("SqliteStore").expect("lock");
    assert_eq!(objects_named(&conn, &["invitations_people_id"]), 0);
}

/// How many tables, indexes or triggers of the file bear these names.
fn objects_named(conn: &Connection, names: &[&str]) -> i64 {
    names
        .iter()
        .map(|name| {
            conn.query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .expect("count")
        })
        .sum()
}

#[test]
fn migration_0026_keeps_every_due_list_and_drops_the_indexes_across_organizations() {
    let (store, dir) = file_store();
    let path = dir.path().join("enlist.sqlite3");
    let mut tx = begin(&store);
    for o in 1..=3_u8 {
        for n in 0..4_i64 {
            let mut inv = invitation(
                &org_id(o),
                &format!("inv_{o}{n}"),
                &format!("{o}{n}@x.test"),
            );
            inv.invitation.status = InvitationStatus::Pending;
            inv.invitation.expires_at = Some(t(10 * (n % 2) + i64::from(o)));
            tx.put_invitation(&inv).expect("put");
            tx.put_outbox_message(message(
                &org_id(o),
                &format!("msg_{o}{n}"),
                &format!("inv_{o}{n}"),
                10 * (n % 2),
            ))
            .expect("put");
        }
    }
    tx.commit().expect("commit");
    let before: Vec<_> = [(t(0), 3), (t(12), 5), (t(50), 100)]
        .into_iter()
        .map(|(now, limit)| due_both_ways(&store, now, limit).0)
        .collect();
    drop(store);
    let conn = Connection::open(&path).expect("open");
    downgrade(&conn, 25).expect("downgrade");
    drop(conn);
    let store = SqliteStore::open(&path).expect("open migrates");
    let after: Vec<_> = [(t(0), 3), (t(12), 5), (t(50), 100)]
        .into_iter()
        .map(|(now, limit)| {
            let (got, expected) = due_both_ways(&store, now, limit);
            assert_eq!(got, expected);
            got
        })
        .collect();
    assert_eq!(after, before);
    assert_eq!(store.verify_counts().expect("verify"), vec![]);
    let conn = store.conn.lock("SqliteStore").expect("lock");
    let heads: i64 = conn
        .query_row("SELECT COUNT(*) FROM due_heads", [], |r| r.get(0))
        .expect("count");
    assert_eq!(heads, 6, "two heads for each of three organizations");
    assert_eq!(
        objects_named(&conn, &["invitations_due_all", "outbox_due_all"]),
        0
    );
}

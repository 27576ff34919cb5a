//! What every test needs: the server's URL, a fresh schema per test, raw SQL
//! access, and builders of entities.

use chrono::{DateTime, Duration, Utc};
use enlist::{
    Contact, Enlist, Event, EventKind, GroupGrant, GroupId, InvitationId, InvitationStatus,
    ManualClock, Member, MemberKind, MemberStatus, MessageId, NewOrganization, OrgId, Organization,
    OutboxMessage, OutboxStatus, OutgoingEmail, Policy, Registration, SecretHash, SeededSecrets,
    Store, StoredInvitation, Transaction,
};
use enlist_postgres::{PostgresOptions, PostgresStore};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// The test server's URL, or `None` (after saying so) when it is not set.
pub fn url() -> Option<String> {
    match std::env::var("ENLIST_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            println!("SKIPPED: ENLIST_TEST_POSTGRES_URL not set");
            None
        }
    }
}

/// A schema name no other test uses.
pub fn schema_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "enlist_test_{}_{}_{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store in a schema of its own, dropped (with everything in it) at the
/// end of the test.
pub struct Fresh {
    pub store: Arc<PostgresStore>,
    pub url: String,
    pub schema: String,
}

impl Fresh {
    /// `None` when no server is configured.
    pub fn new() -> Option<Fresh> {
        let url = url()?;
        let schema = schema_name();
        let store = PostgresStore::connect_in_schema(&url, &schema).expect("connect");
        Some(Fresh {
            store: Arc::new(store),
            url,
            schema,
        })
    }

    /// Like [`Fresh::new`], with the options `set` changes.
    pub fn new_with(set: impl FnOnce(&mut PostgresOptions)) -> Option<Fresh> {
        let url = url()?;
        let schema = schema_name();
        let mut options = PostgresOptions::in_schema(&schema);
        set(&mut options);
        let store = PostgresStore::connect_with_options(&url, options).expect("connect");
        Some(Fresh {
            store: Arc::new(store),
            url,
            schema,
        })
    }

    /// Another store (its own pool) on the same schema: another server.
    pub fn another(&self) -> Arc<PostgresStore> {
        Arc::new(PostgresStore::connect_in_schema(&self.url, &self.schema).expect("connect"))
    }

    /// A raw connection with the schema on its search path.
    pub fn sql(&self) -> postgres::Client {
        raw(&self.url, &self.schema)
    }

    pub fn dyn_store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Takes the schema back to version `to`, as an older enlist left it:
    /// what each later migration added undone, newest first, and the
    /// migrations forgotten.
    pub fn downgrade(&self, to: u32) {
        let mut sql = self.sql();
        for (version, undo) in UNDO.iter().rev() {
            if *version > to {
                sql.batch_execute(undo).expect("undo a migration");
            }
        }
        sql.execute(
            "DELETE FROM enlist_schema_migrations WHERE version > $1",
            &[&i32::try_from(to).expect("version")],
        )
        .expect("forget the migrations");
    }
}

/// What each migration added, undone: `UNDO[v]` takes a schema from version
/// `v` back to `v - 1`. A new migration adds its undo here, once.
pub const UNDO: &[(u32, &str)] = &[
    (
        4,
        "DROP TABLE people; DROP TABLE people_terms; DROP TABLE people_groups;",
    ),
    (5, "DROP TABLE batch_reports;"),
    (
        6,
        "DROP INDEX invitations_open_by_inviter; ALTER TABLE invitations DROP COLUMN inviter_id;",
    ),
    (
        7,
        "DROP INDEX events_feed;
         ALTER TABLE events DROP COLUMN feed_tx, DROP COLUMN feed_pos, DROP COLUMN kind;",
    ),
    (
        8,
        "DROP INDEX organizations_listed; DROP INDEX organizations_slug;
         DROP INDEX members_by_account;
         ALTER TABLE organizations DROP COLUMN slug, DROP COLUMN name_key, DROP COLUMN deleted;",
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
    (
        11,
        "DROP TABLE links;
         CREATE TABLE invite_links (org_id text COLLATE \"C\" NOT NULL PRIMARY KEY, body json NOT NULL);",
    ),
    (
        12,
        "DROP INDEX organizations_listed_name;
         ALTER TABLE organizations ALTER COLUMN name_key TYPE text COLLATE \"default\";",
    ),
    (
        13,
        "ALTER TABLE invitations ALTER COLUMN org_id RESET (n_distinct);
         ALTER TABLE members ALTER COLUMN org_id RESET (n_distinct);
         ALTER TABLE outbox ALTER COLUMN org_id RESET (n_distinct);
         ALTER TABLE outbox ALTER COLUMN status RESET (n_distinct);",
    ),
    // Version 13 keyed every invitation by last activity as never active.
    (
        14,
        "UPDATE people SET last_s = -9223372036854775808, last_ns = 0
         WHERE status IN ('staged', 'pending', 'expired');",
    ),
];

impl Drop for Fresh {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.url, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.schema
            ));
        }
    }
}

/// A raw connection with `schema` on its search path.
pub fn raw(url: &str, schema: &str) -> postgres::Client {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("raw connect");
    c.batch_execute(&format!("SET search_path TO \"{schema}\""))
        .expect("search_path");
    c
}

/// A count from raw SQL.
pub fn count(c: &mut postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).expect(sql).get(0)
}

pub fn begin(store: &dyn Store) -> Box<dyn Transaction + '_> {
    store.begin().expect("begin")
}

// ----- builders ---------------------------------------------------------------

pub fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("a valid time")
}

pub fn org_id(n: u32) -> OrgId {
    OrgId::from(format!("org_{n}"))
}

pub fn organization(id: &OrgId) -> Organization {
    // Organization is non_exhaustive: build it through serde.
    serde_json::from_value(serde_json::json!({
        "id": id.as_str(),
        "name": format!("Org {id}"),
        "policy": Policy::default(),
        "custom_roles": [],
        "created_at": t(0),
    }))
    .expect("organization")
}

pub fn member(org: &OrgId, id: &str, key: &str) -> Member {
    serde_json::from_value(serde_json::json!({
        "org_id": org.as_str(),
        "id": id,
        "user_ref": format!("acct-{id}"),
        "contact": Contact::Email(key.into()),
        "contact_key": key,
        "first_name": null,
        "last_name": null,
        "phone": null,
        "role": "member",
        "kind": MemberKind::Member,
        "license_type": "standard",
        "status": MemberStatus::Active,
        "groups": Vec::<GroupGrant>::new(),
        "joined_at": t(1),
        "last_active_at": null,
        "eula_version": null,
        "two_factor_enrolled": false,
        "removed_at": null,
    }))
    .expect("member")
}

pub fn invitation(org: &OrgId, id: &str, key: &str, created: i64) -> StoredInvitation {
    serde_json::from_value(serde_json::json!({
        "org_id": org.as_str(),
        "id": id,
        "batch_id": "bat_1",
        "recipient": Contact::Email(key.into()),
        "recipient_key": key,
        "display_name": null,
        "first_name": null,
        "last_name": null,
        "kind": MemberKind::Member,
        "role": "member",
        "groups": Vec::<GroupGrant>::new(),
        "license_type": "standard",
        "inviter": null,
        "message": null,
        "created_at": t(created),
        "expires_at": t(created + 1000),
        "status": InvitationStatus::Pending,
        "secret_hash": SecretHash::of(format!("{org}/{id}").as_bytes()),
        "send_count": 1,
        "last_sent_at": t(created),
        "failed_attempts": 0,
        "closed_at": null,
        "member_id": null,
    }))
    .expect("invitation")
}

pub fn message(org: &OrgId, id: &str, inv: &str, next: i64) -> OutboxMessage {
    let email: OutgoingEmail = serde_json::from_value(serde_json::json!({
        "message_id": id,
        "to": "x@y.test",
        "to_name": null,
        "subject": "You are invited",
        "text_body": "Join: https://a.test/?token=secret",
        "accept_url": "https://a.test/?token=secret",
        "org_name": "Org",
        "inviter_name": null,
        "personal_message": null,
        "expires_at": t(5000),
    }))
    .expect("email");
    serde_json::from_value(serde_json::json!({
        "id": id,
        "org_id": org.as_str(),
        "invitation_id": inv,
        "email": email,
        "status": OutboxStatus::Queued,
        "attempts": 0,
        "next_attempt_at": t(next),
        "last_error": null,
        "created_at": t(0),
        "sent_at": null,
    }))
    .expect("message")
}

pub fn event(org: &OrgId, n: u32) -> Event {
    Event {
        org_id: org.clone(),
        seq: 0,
        at: t(i64::from(n)),
        actor: enlist::Actor::System,
        kind: EventKind::InvitationRevoked {
            invitation: InvitationId::from(format!("inv_{n}")),
        },
    }
}

pub fn gid(s: &str) -> GroupId {
    GroupId::from(s.to_owned())
}

pub fn msg_id(s: &str) -> MessageId {
    MessageId::from(s.to_owned())
}

// ----- the engine ---------------------------------------------------------------

/// An engine over `store` with a manual clock and seeded secrets.
pub fn engine(store: Arc<dyn Store>, seed: u64) -> (Enlist, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(t(0)));
    let e = Enlist::new(store)
        .with_clock(clock.clone())
        .with_secrets(Arc::new(SeededSecrets::new(seed)));
    (e, clock)
}

pub fn new_org(e: &Enlist, policy: Policy) -> (Organization, Member) {
    let created = e
        .create_organization(
            NewOrganization::new("Acme", "owner-1", "ada@acme.test")
                .with_policy(policy)
                .with_owner_name("Ada", "Lovelace"),
        )
        .expect("create organization");
    (created.organization, created.owner)
}

pub fn registration(user_ref: &str) -> Registration {
    Registration {
        user_ref: user_ref.to_owned(),
        first_name: Some("Bo".into()),
        last_name: Some("Bee".into()),
        ..Registration::default()
    }
}

pub fn after(d: i64) -> Duration {
    Duration::seconds(d)
}

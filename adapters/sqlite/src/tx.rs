//! The transaction: every read and write of the Store trait as SQL.

use crate::Conn;
use crate::codec::{
    Split, count, from_json, invitation_cursor, member_cursor, parse_invitation_cursor,
    parse_member_cursor, split, sql_int, status_at, time_of, to_json,
};
use crate::store_err;
use chrono::{DateTime, Utc};
use enlist::store::people::person_row;
use enlist::store::{collect_page, merge_sorted, page_limit};
use enlist::{EmailSettings, EmailTemplate, LinkId};
use enlist::{
    Event, Group, GroupId, InvitationId, InvitationQuery, InvitationStatus, KeyStanding, Member,
    MemberId, MemberQuery, MemberSort, MemberStatus, MessageId, OrgId, Organization, OutboxMessage,
    OutboxStatus, Page, SeatCount, SecretHash, StoreError, StoreResult, StoredInvitation,
    StoredInviteLink, Transaction, UniqueRule,
};
use enlist::{MembershipRequest, MembershipRequestQuery, StoredDomain};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, Row, ToSql, params, params_from_iter};
use serde::de::DeserializeOwned;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// The look-ups, by name (the tests check their plans and costs).
pub(crate) mod sql {
    /// An organization's number (migrations 0019 to 0021).
    pub(crate) const ORG_KEY: &str = "SELECT org FROM org_keys WHERE org_id = ?1";
    pub(crate) const ORGANIZATION: &str = "SELECT body FROM organizations WHERE org_id = ?1";
    pub(crate) const GROUP: &str = "SELECT body FROM groups WHERE org_id = ?1 AND group_id = ?2";
    pub(crate) const MEMBER: &str = "SELECT body FROM members WHERE org_id = ?1 AND member_id = ?2";
    pub(crate) const MEMBER_BY_CONTACT: &str =
        "SELECT body FROM members WHERE org = ?1 AND contact_key = ?2 AND status <> 'removed'";
    pub(crate) const MEMBER_BY_USER_REF: &str = "SELECT body FROM members WHERE org_id = ?1 AND user_ref = ?2 AND status <> 'removed' AND user_ref IS NOT NULL";
    pub(crate) const INVITATION: &str =
        "SELECT body FROM invitations WHERE org = ?1 AND invitation_id = ?2";
    pub(crate) const INVITATION_BY_SECRET: &str = "SELECT body FROM invitations WHERE org = ?1 AND secret_hash = ?2 AND secret_hash IS NOT NULL";
    pub(crate) const OPEN_INVITATION_FOR: &str = "SELECT body FROM invitations WHERE org = ?1 AND recipient_key = ?2 AND status IN ('staged', 'pending')";
    pub(crate) const DUE_INVITATIONS_IN_ORG: &str = "SELECT body FROM invitations WHERE org = ?1 AND status = 'pending' AND expires_s IS NOT NULL AND expires_s <= ?2 AND NOT (expires_s = ?2 AND expires_ns > ?3) ORDER BY expires_s, expires_ns, invitation_id LIMIT ?4";
    /// The earliest expiry of an organization's pending invitations
    /// (through `invitations_due`): its due head (migration 0026).
    pub(crate) const NEXT_INVITATION_DUE_IN_ORG: &str = "SELECT expires_s, expires_ns FROM invitations WHERE org = ?1 AND status = 'pending' AND expires_s IS NOT NULL ORDER BY expires_s, expires_ns, invitation_id LIMIT 1";
    /// The organizations whose head of kind `?1` is due at `(?5, ?6)`,
    /// in `(time, org_id)` order, after `(?2, ?3, ?4)`: a range of
    /// `due_heads_at` (migration 0026).
    pub(crate) const DUE_HEADS: &str = "SELECT org, org_id, at_s, at_ns FROM due_heads WHERE kind = ?1 AND (at_s, at_ns, org_id) > (?2, ?3, ?4) AND (at_s, at_ns) <= (?5, ?6) ORDER BY at_s, at_ns, org_id LIMIT ?7";
    /// The head of kind `?1` of organization `?2`, as stored.
    pub(crate) const DUE_HEAD: &str =
        "SELECT at_s, at_ns FROM due_heads WHERE kind = ?1 AND org = ?2";
    /// The earliest head of kind `?1` across organizations.
    pub(crate) const NEXT_DUE_HEAD: &str =
        "SELECT at_s, at_ns FROM due_heads WHERE kind = ?1 ORDER BY at_s, at_ns LIMIT 1";
    /// Writes an organization's head, only if it moved.
    pub(crate) const PUT_DUE_HEAD: &str = "INSERT INTO due_heads (kind, org, org_id, at_s, at_ns) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (kind, org) DO UPDATE SET at_s = excluded.at_s, at_ns = excluded.at_ns WHERE at_s != excluded.at_s OR at_ns != excluded.at_ns";
    /// Drops an organization's head: nothing of that kind is due.
    pub(crate) const DELETE_DUE_HEAD: &str = "DELETE FROM due_heads WHERE kind = ?1 AND org = ?2";
    pub(crate) const LINK: &str = "SELECT body FROM links WHERE org_id = ?1 AND link_id = ?2";
    pub(crate) const LINK_BY_SECRET: &str =
        "SELECT body FROM links WHERE org_id = ?1 AND secret_hash = ?2 AND secret_hash IS NOT NULL";
    pub(crate) const LINKS: &str =
        "SELECT body FROM links WHERE org_id = ?1 ORDER BY created_s, created_ns, link_id LIMIT ?2";
    pub(crate) const LAST_SEQ: &str =
        "SELECT seq FROM events WHERE org = ?1 ORDER BY seq DESC LIMIT 1";
    pub(crate) const EVENTS: &str =
        "SELECT body FROM events WHERE org = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
    /// Outbox rows are read as `status, link, body`
    /// ([`crate::codec::outbox_message`]).
    pub(crate) const OUTBOX_MESSAGE: &str =
        "SELECT status, link, body FROM outbox WHERE message_id = ?1";
    pub(crate) const DUE_OUTBOX_IN_ORG: &str = "SELECT status, link, body FROM outbox WHERE org = ?1 AND status = 'queued' AND next_s <= ?2 AND NOT (next_s = ?2 AND next_ns > ?3) ORDER BY next_s, next_ns, message_id LIMIT ?4";
    /// The earliest next attempt of an organization's queued messages
    /// (through `outbox_due`): its due head (migration 0026).
    pub(crate) const NEXT_OUTBOX_DUE_IN_ORG: &str = "SELECT next_s, next_ns FROM outbox WHERE org = ?1 AND status = 'queued' ORDER BY next_s, next_ns, message_id LIMIT 1";
    /// The dead letters of an organization, newest first: a walk of the
    /// partial index `outbox_failed` (migration 0003).
    pub(crate) const FAILED_OUTBOX: &str = "SELECT created_s, created_ns, message_id, status, link, body FROM outbox WHERE org = ?1 AND status = 'failed' AND (?2 IS NULL OR created_s < ?2 OR (created_s = ?2 AND (created_ns < ?3 OR (created_ns = ?3 AND message_id < ?4)))) ORDER BY created_s DESC, created_ns DESC, message_id DESC LIMIT ?5";
    /// The members of one status: the sum of the roles' counters.
    pub(crate) const MEMBER_TOTAL: &str = "SELECT COALESCE(SUM(n), 0) FROM counts WHERE org_id = ?1 AND what = 'member_role' AND status = ?2";
    pub(crate) const COUNTER: &str =
        "SELECT n FROM counts WHERE org_id = ?1 AND what = ?2 AND key = ?3 AND status = ?4";
    /// The counters a seat count adds up, in one statement: `0` for active
    /// members, `1` for open invitations. (`IN` lists would make SQLite
    /// build a temporary index of each list at every run: 10 times slower.)
    pub(crate) const SEATS: &str = "SELECT 0, n FROM counts WHERE org_id = ?1 AND what = 'member_license' AND key = ?2 AND status = 'active' UNION ALL SELECT 1, n FROM counts WHERE org_id = ?1 AND what = 'invitation_license' AND key = ?2 AND status = 'staged' UNION ALL SELECT 1, n FROM counts WHERE org_id = ?1 AND what = 'invitation_license' AND key = ?2 AND status = 'pending'";
    pub(crate) const INVITATION_RID: &str =
        "SELECT rid FROM invitations WHERE org = ?1 AND invitation_id = ?2";
    /// What the counters of a stored invitation depend on.
    pub(crate) const INVITATION_COUNTED: &str =
        "SELECT status, license_type, body FROM invitations WHERE org = ?1 AND invitation_id = ?2";
    /// A new invitation: a plain INSERT (`put_invitation`).
    pub(crate) const INSERT_INVITATION: &str = "INSERT INTO invitations (org_id, invitation_id, batch_id, recipient_key, status, role, kind, license_type, secret_hash, created_s, created_ns, expires_s, expires_ns, body, user_ref, inviter, name_key, org) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)";
    /// A stored invitation, rewritten (the same parameters).
    pub(crate) const UPDATE_INVITATION: &str = "UPDATE invitations SET batch_id = ?3, recipient_key = ?4, status = ?5, role = ?6, kind = ?7, license_type = ?8, secret_hash = ?9, created_s = ?10, created_ns = ?11, expires_s = ?12, expires_ns = ?13, body = ?14, user_ref = ?15, inviter = ?16, name_key = ?17 WHERE org = ?18 AND invitation_id = ?2";
    /// A stored invitation rewritten where only its status, body and name
    /// key may have changed (the same parameters as `UPDATE_INVITATION`,
    /// most unused): SQLite leaves every index whose columns it does not
    /// set as it is (`invitations_secret`, `invitations_batch`), where the
    /// full statement rewrites their entries even when the values are the
    /// same. Used when the old row is known (`read_invitations`) and
    /// [`super::only_status_changed`] says so.
    pub(crate) const UPDATE_INVITATION_STATUS: &str = "UPDATE invitations SET status = ?5, body = ?14, name_key = ?17 WHERE org = ?18 AND invitation_id = ?2";
    /// The queued messages of an invitation, unsorted (the store sorts
    /// them): those linked to its rid, and those written while it was not
    /// stored, in one statement.
    pub(crate) const QUEUED_FOR: &str = "SELECT created_s, created_ns, message_id, body, rid, link, next_s, next_ns FROM outbox WHERE inv_rid = (SELECT rid FROM invitations WHERE org = ?1 AND invitation_id = ?2) AND inv_rid IS NOT NULL AND status = 'queued' AND org = ?1 AND invitation_id = ?2 UNION ALL SELECT created_s, created_ns, message_id, body, rid, link, next_s, next_ns FROM outbox WHERE org = ?1 AND invitation_id = ?2 AND status = 'queued' AND inv_rid IS NULL";
    /// A queued message superseded, by rid: its status and body (the
    /// link redacted), and no invitation rid (kept for queued ones only).
    pub(crate) const SUPERSEDE_OUTBOX: &str =
        "UPDATE outbox SET status = ?2, inv_rid = NULL, body = ?3, link = NULL WHERE rid = ?1";
    /// A queued draft whose link is its `link` column (schema version 25)
    /// superseded, by rid: its body already holds the link redacted, so
    /// only the columns change.
    pub(crate) const SUPERSEDE_HELD_LINK: &str =
        "UPDATE outbox SET status = ?2, inv_rid = NULL, link = NULL WHERE rid = ?1";

    /// Where many recipient keys stand (`Transaction::standing`): the
    /// live members and the open invitations of the keys in the JSON
    /// array `?2`, through `members_live_contact` and
    /// `invitations_open_recipient`, one index probe per key: the keys are
    /// the outer loop (`CROSS JOIN` keeps SQLite from choosing another
    /// order, which it did, walking the whole organization through
    /// `members_by_role`; the plan is tested). (A JSON array
    /// is one parameter whatever the number of keys, so the statement is
    /// prepared once; the store still sends at most `STANDING_CHUNK` keys
    /// at a time.)
    pub(crate) const STANDING: &str = "SELECT 0, m.contact_key, m.member_id FROM json_each(?2) AS k CROSS JOIN members AS m WHERE m.org = ?1 AND m.contact_key = k.value AND m.status <> 'removed' UNION ALL SELECT 1, i.recipient_key, i.invitation_id FROM json_each(?2) AS k CROSS JOIN invitations AS i WHERE i.org = ?1 AND i.recipient_key = k.value AND i.status IN ('staged', 'pending') AND (i.status = 'staged' OR i.expires_s IS NULL OR i.expires_s > ?3 OR (i.expires_s = ?3 AND i.expires_ns > ?4))";

    /// One person's pending invitations bound to account `?1`, not
    /// expired at `(?2, ?3)`, in organization `?4` if not NULL, newest
    /// first after the cursor `(?5, ?6, ?7, ?8)` if `?5` is not NULL: a
    /// walk of `invitations_person_account` (migration 0006).
    pub(crate) const PERSON_BY_ACCOUNT: &str = "SELECT body FROM invitations WHERE user_ref = ?1 AND status = 'pending' AND (expires_s IS NULL OR expires_s > ?2 OR (expires_s = ?2 AND expires_ns > ?3)) AND (?4 IS NULL OR org_id = ?4) AND (?5 IS NULL OR created_s < ?5 OR (created_s = ?5 AND (created_ns < ?6 OR (created_ns = ?6 AND (org_id < ?7 OR (org_id = ?7 AND invitation_id < ?8)))))) ORDER BY created_s DESC, created_ns DESC, org_id DESC, invitation_id DESC LIMIT ?9";
    /// The same for invitations to recipient key `?1` bound to no
    /// account: a walk of `invitations_person_key`.
    pub(crate) const PERSON_BY_KEY: &str = "SELECT body FROM invitations WHERE recipient_key = ?1 AND status = 'pending' AND user_ref IS NULL AND (expires_s IS NULL OR expires_s > ?2 OR (expires_s = ?2 AND expires_ns > ?3)) AND (?4 IS NULL OR org_id = ?4) AND (?5 IS NULL OR created_s < ?5 OR (created_s = ?5 AND (created_ns < ?6 OR (created_ns = ?6 AND (org_id < ?7 OR (org_id = ?7 AND invitation_id < ?8)))))) ORDER BY created_s DESC, created_ns DESC, org_id DESC, invitation_id DESC LIMIT ?9";

    /// Every look-up above, for the tests.
    #[cfg(test)]
    pub(crate) const ALL: &[&str] = &[
        FAILED_OUTBOX,
        ORGANIZATION,
        GROUP,
        MEMBER,
        MEMBER_BY_CONTACT,
        MEMBER_BY_USER_REF,
        INVITATION,
        INVITATION_BY_SECRET,
        OPEN_INVITATION_FOR,
        DUE_INVITATIONS_IN_ORG,
        NEXT_INVITATION_DUE_IN_ORG,
        DUE_HEADS,
        NEXT_DUE_HEAD,
        DUE_HEAD,
        DELETE_DUE_HEAD,
        LINK,
        LINK_BY_SECRET,
        LINKS,
        LAST_SEQ,
        EVENTS,
        OUTBOX_MESSAGE,
        DUE_OUTBOX_IN_ORG,
        NEXT_OUTBOX_DUE_IN_ORG,
        QUEUED_FOR,
        COUNTER,
        SEATS,
        INVITATION_RID,
        INVITATION_COUNTED,
        UPDATE_INVITATION,
        UPDATE_INVITATION_STATUS,
        SUPERSEDE_OUTBOX,
        SUPERSEDE_HELD_LINK,
    ];
}

/// Member statuses that are live (hold the contact key).
const LIVE: &[&str] = &["active", "inactive"];
/// Active members hold a seat and count as owners.
const ACTIVE: &[&str] = &["active"];

/// A transaction: the store's connection, inside `BEGIN IMMEDIATE` (or a
/// reader connection inside `BEGIN DEFERRED`).
pub(crate) struct SqliteTx<'a> {
    conn: Conn<'a>,
    /// The store's decoded organizations.
    orgs: &'a OrgCache,
    /// Whether a transaction is open on the connection (rolled back on drop).
    open: bool,
    /// Whether it may write (`BEGIN IMMEDIATE`): a read transaction keeps
    /// no `read_invitations`, which only writes use.
    writes: bool,
    /// The last event seq of each organization this transaction read or
    /// wrote. The transaction holds the write lock and events are written
    /// only by `append_event`, so it stays right until the end.
    last_seq: HashMap<OrgId, u64>,
    /// The last position of the event feed: the larger of the newest
    /// event's and the floor `event_feed_head.last` (which only deletes
    /// raise, migration 0022), read once by the first event this
    /// transaction appends and moved by each.
    feed_last: Option<u64>,
    /// Queued messages not written yet, in the order they were put (one per
    /// message id). The engine queues an invitation's email before it stores
    /// the invitation; the message is written when its invitation is (so
    /// that `outbox_queued` gets the invitation's rid), or before any outbox
    /// read and at commit. Nothing else reads the outbox table, and a
    /// dropped transaction drops them with everything else.
    deferred: Vec<OutboxRow>,
    /// Changes to the `counts` table not written yet, one per counter
    /// (ADR 0017, counts by the store): every write of `members`,
    /// `member_groups` and `invitations` adds its own here, as the triggers
    /// of schema versions 1 to 13 did per row. Each changed counter is
    /// written once, at commit (or when `seat_counts` reads the whole
    /// table); the other reads of `counts` add the pending change to what
    /// they read. A dropped transaction drops them with everything else.
    /// (A few dozen counters at most: kept in a list.)
    counts: Vec<(CounterKey, i64)>,
    /// The invitations this transaction read one by one (by id or by
    /// secret), as read: `put_invitation` updates these straight away
    /// instead of first trying the INSERT their `invitations_id` refuses
    /// (a statement SQLite writes and then undoes; an accept, a resend or a
    /// revoke all read the invitation first), and takes what it must know
    /// of the old row (status and license type for the counters, the
    /// person for the people view's derived rows) from the value read
    /// rather than reading and parsing the row again. The row cannot have
    /// changed since: this transaction holds the write lock, and its own
    /// writes of an invitation take the entry out (`put_invitation`) or
    /// all of them (`purge_organization`). A hint only: one gone since
    /// finds no row to update and is inserted.
    read_invitations: HashMap<(OrgId, InvitationId), StoredInvitation>,
    /// The number of each organization this transaction looked up in
    /// `org_keys` (migrations 0019 to 0021): the per-organization indexes
    /// of `invitations`, `outbox`, `events` and `members` begin with it. A
    /// number once given is never changed or reused, so what was read
    /// stays right; one this transaction gives is dropped with it if it
    /// rolls back, and `purge_organization` forgets the one it deletes.
    org_keys: RefCell<HashMap<String, i64>>,
    /// The organizations whose due head (`due_heads`, migration 0026) this
    /// transaction may have moved, with the due times its rows entered
    /// and left at ([`DueMark`]). Every write of an invitation or a
    /// queued message notes its organization here; each head noted is
    /// settled once, at commit or before a read across organizations
    /// ([`SqliteTx::flush_due_heads`]). A dropped transaction drops them
    /// with everything else. (One or two at most in a command: kept in a
    /// list.)
    due_marks: Vec<DueMark>,
}

/// What one transaction did to the due rows of one kind of one
/// organization: enough to tell, against the head stored before, whether
/// the head moved without reading the organization's index again.
struct DueMark {
    /// [`DUE_INVITATIONS`] or [`DUE_MESSAGES`].
    kind: i64,
    /// The organization's number, and its id.
    org: i64,
    org_id: String,
    /// The earliest time a row became due at (a pending invitation with
    /// that expiry, a message queued for that time).
    entered: Option<Split>,
    /// The earliest time a row stopped being due at (accepted, revoked,
    /// sent, superseded, or its time moved).
    left: Option<Split>,
    /// Whether a row may have stopped being due at a time not known here
    /// (a write over a row this transaction did not read): the head is
    /// then read again from the organization's own index.
    left_unknown: bool,
}

/// `due_heads.kind` of an organization's earliest expiry of a pending
/// invitation.
pub(crate) const DUE_INVITATIONS: i64 = 0;
/// `due_heads.kind` of an organization's earliest next attempt of a
/// queued message.
pub(crate) const DUE_MESSAGES: i64 = 1;

/// A counter of the `counts` table: `(org_id, what, key, status)`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CounterKey {
    org: String,
    what: &'static str,
    key: String,
    status: &'static str,
}

impl CounterKey {
    fn is(&self, org: &str, what: &str, key: &str, status: &str) -> bool {
        self.what == what && self.status == status && self.key == key && self.org == org
    }
}

/// Adds `by` to a counter, written by [`SqliteTx::flush_counts`] (a counter
/// not stored yet starts at 0).
const ADD_TO_COUNTER: &str = "INSERT INTO counts (org_id, what, key, status, n)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = n + excluded.n";

/// The organizations a store decoded last, each with the exact text it
/// was decoded from. Every command reads its organization (a JSON body of
/// some 1,000 bytes, 17,000 instructions to decode: a fifth of a link's
/// preview). The row is still read in every transaction, so another
/// process's write is seen as before; only when the text read is the text
/// decoded last is the decoding skipped, and the same text decodes to the
/// same organization, so the copy handed out is what decoding would give.
/// At most [`OrgCache::MAX`] organizations (then it starts over).
#[derive(Default)]
pub(crate) struct OrgCache(
    pub(crate) std::sync::Mutex<HashMap<OrgId, std::sync::Arc<(String, Organization)>>>,
);

impl OrgCache {
    /// How many organizations it keeps at most.
    const MAX: usize = 256;

    /// The organization whose row holds `body`.
    fn decode(&self, org: &OrgId, body: String) -> StoreResult<Organization> {
        let cached = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(org)
            .cloned();
        if let Some(entry) = cached.filter(|e| e.0 == body) {
            return Ok(entry.1.clone());
        }
        let decoded: Organization = from_json(&body, "organization")?;
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX && !map.contains_key(org) {
            map.clear();
        }
        map.insert(org.clone(), std::sync::Arc::new((body, decoded.clone())));
        Ok(decoded)
    }
}

/// A queued message as `queued_rows` reads it.
struct QueuedRow {
    /// `(created_s, created_ns, message_id)`: the order of the queue.
    order: (i64, i64, String),
    body: String,
    rid: i64,
    /// Its `link` column: the link of a queued draft written since schema
    /// version 25.
    link: Option<String>,
    /// Its next attempt: when it is due.
    next: Split,
}

/// An outbox row's `status, link, body`, from column `at` on (what
/// [`crate::codec::outbox_message`] reads).
fn outbox_columns(
    r: &rusqlite::Row<'_>,
    at: usize,
) -> rusqlite::Result<(String, Option<String>, String)> {
    Ok((r.get(at)?, r.get(at + 1)?, r.get(at + 2)?))
}

/// The columns of an outbox message.
struct OutboxRow {
    message_id: String,
    org_id: String,
    invitation_id: String,
    status: &'static str,
    next: Split,
    created: Split,
    body: String,
    /// The link of a queued draft, held out of its body
    /// ([`crate::codec::hold_link`]).
    link: Option<String>,
}

impl OutboxRow {
    fn of(mut msg: OutboxMessage) -> StoreResult<Self> {
        let link = crate::codec::hold_link(&mut msg);
        Ok(Self {
            message_id: msg.id.as_str().to_owned(),
            org_id: msg.org_id.as_str().to_owned(),
            invitation_id: msg.invitation_id.as_str().to_owned(),
            status: msg.status.as_str(),
            next: split(msg.next_attempt_at),
            created: split(msg.created_at),
            body: to_json(&msg)?,
            link,
        })
    }

    fn of_invitation(&self, org: &str, invitation: &str) -> bool {
        self.org_id == org && self.invitation_id == invitation
    }
}

impl<'a> SqliteTx<'a> {
    /// Begins a write transaction on `conn`.
    pub(crate) fn begin(conn: Conn<'a>, orgs: &'a OrgCache) -> StoreResult<Self> {
        Self::begin_with(conn, orgs, true)
    }

    /// Begins a read transaction on `conn` (`BEGIN DEFERRED`): it takes
    /// SQLite's shared lock at its first read and never the write lock, so
    /// in WAL mode other processes keep writing while it reads (a dry run).
    /// The engine never commits it.
    pub(crate) fn begin_read(conn: Conn<'a>, orgs: &'a OrgCache) -> StoreResult<Self> {
        Self::begin_with(conn, orgs, false)
    }

    fn begin_with(conn: Conn<'a>, orgs: &'a OrgCache, writes: bool) -> StoreResult<Self> {
        let mut tx = SqliteTx {
            conn,
            orgs,
            open: false,
            writes,
            last_seq: HashMap::new(),
            feed_last: None,
            deferred: Vec::new(),
            counts: Vec::new(),
            read_invitations: HashMap::new(),
            org_keys: RefCell::new(HashMap::new()),
            due_marks: Vec::new(),
        };
        // A transaction left open by a failed rollback is ended first.
        if !tx.conn.is_autocommit() {
            tx.conn.execute_batch("ROLLBACK").map_err(store_err)?;
        }
        let begin = if writes {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN DEFERRED"
        };
        control(&tx.conn, begin)?;
        tx.open = true;
        Ok(tx)
    }

    /// The body of the one row `sql` returns, decoded.
    fn one<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        what: &str,
    ) -> StoreResult<Option<T>> {
        self.body(sql, params)?
            .map(|b| from_json(&b, what))
            .transpose()
    }

    /// The body (first column) of the one row `sql` returns, as text.
    fn body(&self, sql: &str, params: impl rusqlite::Params) -> StoreResult<Option<String>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(store_err)?;
        stmt.query_row(params, |r| r.get(0))
            .optional()
            .map_err(store_err)
    }

    /// The outbox messages `sql` returns, read from its `status, link,
    /// body` columns ([`crate::codec::outbox_message`]).
    fn outbox_rows(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(store_err)?;
        let rows = stmt
            .query_map(params, |r| outbox_columns(r, 0))
            .map_err(store_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_err)?;
        rows.into_iter()
            .map(|(status, link, body)| crate::codec::outbox_message(&status, link, &body))
            .collect()
    }

    /// The bodies of the rows `sql` returns, decoded.
    fn many<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        what: &str,
    ) -> StoreResult<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(store_err)?;
        let bodies = stmt
            .query_map(params, |r| r.get::<_, String>(0))
            .map_err(store_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_err)?;
        bodies.iter().map(|b| from_json(b, what)).collect()
    }

    /// Runs a statement that returns nothing.
    fn exec(&self, sql: &str, params: impl rusqlite::Params) -> StoreResult<usize> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(store_err)
    }

    /// A counter (0 when absent), summed over `statuses`, with this
    /// transaction's changes not written yet.
    fn counter(&self, org: &OrgId, what: &str, key: &str, statuses: &[&str]) -> StoreResult<u64> {
        let mut stmt = self.conn.prepare_cached(sql::COUNTER).map_err(store_err)?;
        let mut total = 0u64;
        for status in statuses {
            let n: Option<i64> = stmt
                .query_row(params![org.as_str(), what, key, status], |r| r.get(0))
                .optional()
                .map_err(store_err)?;
            let n = n
                .unwrap_or(0)
                .saturating_add(self.pending(org.as_str(), what, key, status));
            total = total.saturating_add(count(n));
        }
        Ok(total)
    }

    /// Members with any of `statuses`: the sum of the per-role counters
    /// (an organization has a few roles; migration 0023 dropped the
    /// totals, one counter less written per member changed), with this
    /// transaction's changes not written yet.
    pub(crate) fn member_total(&self, org: &OrgId, statuses: &[&str]) -> StoreResult<u64> {
        let mut stmt = self
            .conn
            .prepare_cached(sql::MEMBER_TOTAL)
            .map_err(store_err)?;
        let mut total = 0u64;
        for status in statuses {
            let stored: i64 = stmt
                .query_row(params![org.as_str(), status], |r| r.get(0))
                .map_err(store_err)?;
            let pending: i64 = self
                .counts
                .iter()
                .filter(|(k, _)| {
                    k.what == "member_role" && k.status == *status && k.org == org.as_str()
                })
                .map(|(_, n)| *n)
                .sum();
            total = total.saturating_add(count(stored.saturating_add(pending)));
        }
        Ok(total)
    }

    /// The change to a counter this transaction has not written yet.
    fn pending(&self, org: &str, what: &str, key: &str, status: &str) -> i64 {
        self.counts
            .iter()
            .find(|(k, _)| k.is(org, what, key, status))
            .map_or(0, |(_, n)| *n)
    }

    /// Adds `by` to a counter (written at commit).
    fn add_count(
        &mut self,
        org: &str,
        what: &'static str,
        key: &str,
        status: &'static str,
        by: i64,
    ) {
        match self
            .counts
            .iter_mut()
            .find(|(k, _)| k.is(org, what, key, status))
        {
            Some((_, n)) => *n += by,
            None => self.counts.push((
                CounterKey {
                    org: org.to_owned(),
                    what,
                    key: key.to_owned(),
                    status,
                },
                by,
            )),
        }
    }

    /// Counts an invitation row in (`by` = 1) or out (-1), per license
    /// type and stored status, while it is open (staged or pending): seats
    /// are what reads them, and no counter of closed invitations is kept
    /// (migration 0023; an accept writes one counter less).
    fn count_invitation(&mut self, org: &str, license: &str, status: &'static str, by: i64) {
        if status == "staged" || status == "pending" {
            self.add_count(org, "invitation_license", license, status, by);
        }
    }

    /// Counts a member row in (`by` = 1) or out (-1): per role and
    /// status, per license type and status.
    fn count_member(&mut self, m: &Member, by: i64) {
        let (org, status) = (m.org_id.as_str(), m.status.as_str());
        // No total per status: it is the sum of the roles' (migration 0023).
        self.add_count(org, "member_role", &m.role, status, by);
        self.add_count(org, "member_license", &m.license_type, status, by);
    }

    /// Writes the changed counters, each once, in key order. On an error
    /// the counters not written stay pending.
    fn flush_counts(&mut self) -> StoreResult<()> {
        if self.counts.is_empty() {
            return Ok(());
        }
        let mut todo = std::mem::take(&mut self.counts);
        todo.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut stmt = match self.conn.prepare_cached(ADD_TO_COUNTER) {
            Ok(stmt) => stmt,
            Err(e) => {
                self.counts = todo;
                return Err(store_err(e));
            }
        };
        for (i, (k, by)) in todo.iter().enumerate() {
            if *by == 0 {
                continue;
            }
            if let Err(e) = stmt.execute(params![k.org, k.what, k.key, k.status, by]) {
                self.counts = todo.split_off(i);
                return Err(store_err(e));
            }
        }
        Ok(())
    }

    /// Rewrites the group memberships of a member whose groups, status or
    /// contact key changed (`prev` is the stored member before the write).
    fn sync_member_groups(&mut self, prev: Option<&Member>, new: &Member) -> StoreResult<()> {
        fn ids(m: &Member) -> BTreeSet<&GroupId> {
            m.groups.iter().map(|g| &g.group_id).collect()
        }
        let new_groups = ids(new);
        if let Some(p) = prev {
            if p.status == new.status && p.contact_key == new.contact_key && ids(p) == new_groups {
                return Ok(());
            }
            for g in ids(p) {
                let deleted = self.exec(
                    "DELETE FROM member_groups WHERE org_id = ?1 AND group_id = ?2
                     AND status = ?3 AND contact_key = ?4 AND member_id = ?5",
                    params![
                        p.org_id.as_str(),
                        g.as_str(),
                        p.status.as_str(),
                        p.contact_key.as_str(),
                        p.id.as_str()
                    ],
                )?;
                let by = -i64::try_from(deleted).unwrap_or(i64::MAX);
                self.add_count(
                    p.org_id.as_str(),
                    "member_group",
                    g.as_str(),
                    p.status.as_str(),
                    by,
                );
            }
        }
        for g in new_groups {
            self.exec(
                "INSERT INTO member_groups (org_id, group_id, status, contact_key, member_id)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    new.org_id.as_str(),
                    g.as_str(),
                    new.status.as_str(),
                    new.contact_key.as_str(),
                    new.id.as_str()
                ],
            )?;
            self.add_count(
                new.org_id.as_str(),
                "member_group",
                g.as_str(),
                new.status.as_str(),
                1,
            );
        }
        Ok(())
    }

    fn with_count(&self, mut group: Group) -> StoreResult<Group> {
        group.member_count =
            self.counter(&group.org_id, "member_group", group.id.as_str(), LIVE)?;
        Ok(group)
    }

    /// The queued messages of an invitation, unsorted (`flush_outbox`
    /// first, so that those of this transaction are among them).
    fn queued_rows(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<Vec<QueuedRow>> {
        self.flush_outbox(None)?;
        let mut rows = Vec::new();
        let key = self.org_key(org.as_str())?;
        let mut stmt = self
            .conn
            .prepare_cached(sql::QUEUED_FOR)
            .map_err(store_err)?;
        let found = stmt
            .query_map(params![key, invitation.as_str()], |r| {
                Ok(QueuedRow {
                    order: (r.get(0)?, r.get(1)?, r.get(2)?),
                    body: r.get(3)?,
                    rid: r.get(4)?,
                    link: r.get(5)?,
                    next: (r.get(6)?, r.get(7)?),
                })
            })
            .map_err(store_err)?;
        for row in found {
            rows.push(row.map_err(store_err)?);
        }
        Ok(rows)
    }

    /// Writes an outbox message; `inv_rid` only for a queued one.
    fn write_outbox(&self, row: &OutboxRow, inv_rid: Option<i64>) -> StoreResult<()> {
        let org = self.org_key_made(&row.org_id)?;
        self.exec(
            "INSERT INTO outbox (message_id, org_id, invitation_id, inv_rid, status, next_s,
                                 next_ns, created_s, created_ns, body, org, link)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (message_id) DO UPDATE SET
                org_id = excluded.org_id, org = excluded.org,
                invitation_id = excluded.invitation_id,
                inv_rid = excluded.inv_rid, status = excluded.status,
                next_s = excluded.next_s, next_ns = excluded.next_ns,
                created_s = excluded.created_s, created_ns = excluded.created_ns,
                body = excluded.body, link = excluded.link",
            params![
                row.message_id,
                row.org_id,
                row.invitation_id,
                inv_rid,
                row.status,
                row.next.0,
                row.next.1,
                row.created.0,
                row.created.1,
                row.body,
                org,
                row.link,
            ],
        )?;
        Ok(())
    }

    /// Writes the deferred messages (of one invitation, whose rid may be
    /// known, or all), each linked to its invitation's rid if the invitation
    /// is stored. On an error the messages not written stay deferred.
    fn flush_outbox(&mut self, only: Option<(&str, &str, Option<i64>)>) -> StoreResult<()> {
        if self.deferred.is_empty() {
            return Ok(());
        }
        let (todo, keep): (Vec<OutboxRow>, Vec<OutboxRow>) = std::mem::take(&mut self.deferred)
            .into_iter()
            .partition(|r| only.is_none_or(|(org, inv, _)| r.of_invitation(org, inv)));
        self.deferred = keep;
        let known = only.and_then(|(_, _, rid)| rid);
        let mut todo = todo.into_iter();
        while let Some(row) = todo.next() {
            if let Err(e) = self.link_and_write(&row, known) {
                self.deferred.push(row);
                self.deferred.extend(todo);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Writes a queued message with its invitation's rid (`known`, or
    /// looked up; none if the invitation is not stored).
    fn link_and_write(&self, row: &OutboxRow, known: Option<i64>) -> StoreResult<()> {
        let rid = match known {
            Some(rid) => Some(rid),
            None => {
                let key = self.org_key(&row.org_id)?;
                self.conn
                    .prepare_cached(sql::INVITATION_RID)
                    .and_then(|mut s| {
                        s.query_row(params![key, &row.invitation_id], |r| r.get(0))
                            .optional()
                    })
                    .map_err(store_err)?
            }
        };
        self.write_outbox(row, rid)
    }

    /// The number of `org` in `org_keys`, or `None` when no invitation,
    /// message, event or member of it was ever written (a look-up bound to
    /// `NULL` finds no row).
    pub(crate) fn org_key(&self, org: &str) -> StoreResult<Option<i64>> {
        {
            let keys = self.org_keys.borrow();
            // Nearly every transaction is of one organization, asked for
            // its number several times an invitation: compared, not hashed.
            let known = match keys.iter().next() {
                Some((o, key)) if keys.len() == 1 && o == org => Some(*key),
                _ => keys.get(org).copied(),
            };
            if known.is_some() {
                return Ok(known);
            }
        }
        let key: Option<i64> = self
            .conn
            .prepare_cached(sql::ORG_KEY)
            .and_then(|mut s| s.query_row([org], |r| r.get(0)).optional())
            .map_err(store_err)?;
        if let Some(key) = key {
            self.org_keys.borrow_mut().insert(org.to_owned(), key);
        }
        Ok(key)
    }

    /// The number of `org` in `org_keys`, given now if it has none (a
    /// write of one of its invitations, messages, events or members).
    fn org_key_made(&self, org: &str) -> StoreResult<i64> {
        if let Some(key) = self.org_key(org)? {
            return Ok(key);
        }
        self.conn
            .prepare_cached("INSERT INTO org_keys (org_id) VALUES (?1)")
            .and_then(|mut s| s.execute([org]))
            .map_err(store_err)?;
        let key = self.conn.last_insert_rowid();
        self.org_keys.borrow_mut().insert(org.to_owned(), key);
        Ok(key)
    }

    /// Notes a write of a due row of `kind` of organization `org` (its
    /// number; `org_id` its id): it became due at `entered`, and stopped
    /// being due at `left` (`Some(None)`: at a time not known here).
    fn mark_due(
        &mut self,
        (kind, org, org_id): (i64, i64, &str),
        entered: Option<Split>,
        left: Option<Option<Split>>,
    ) {
        let at = match self
            .due_marks
            .iter()
            .position(|m| m.kind == kind && m.org == org)
        {
            Some(at) => at,
            None => {
                self.due_marks.push(DueMark {
                    kind,
                    org,
                    org_id: org_id.to_owned(),
                    entered: None,
                    left: None,
                    left_unknown: false,
                });
                self.due_marks.len() - 1
            }
        };
        let m = &mut self.due_marks[at];
        if let Some(t) = entered {
            m.entered = Some(m.entered.map_or(t, |e| e.min(t)));
        }
        match left {
            Some(Some(t)) => m.left = Some(m.left.map_or(t, |l| l.min(t))),
            Some(None) => m.left_unknown = true,
            None => {}
        }
    }

    /// The `(seconds, nanoseconds)` of the first row of `sql`, if any.
    fn time_row(&self, sql: &str, params: impl rusqlite::Params) -> StoreResult<Option<Split>> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut st| {
                st.query_row(params, |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(store_err)
    }

    /// Settles the due heads this transaction may have moved. A head
    /// stays where it was unless a row became due before it, or a row at
    /// it (or before what it became) stopped being due: then, or when a
    /// row stopped being due at a time not known, the head is read again
    /// from the organization's own index (one probe). A head is written
    /// only if it moved, and deleted when nothing of its kind is left.
    fn flush_due_heads(&mut self) -> StoreResult<()> {
        if self.due_marks.is_empty() {
            return Ok(());
        }
        // The queued messages not written yet first: a head read before
        // them would miss them.
        self.flush_outbox(None)?;
        for m in std::mem::take(&mut self.due_marks) {
            let stored: Option<Split> = if m.left_unknown {
                None
            } else {
                self.time_row(sql::DUE_HEAD, params![m.kind, m.org])?
            };
            // The head with the rows that became due, before any left.
            let ahead = match (stored, m.entered) {
                (Some(h), Some(e)) => Some(h.min(e)),
                (h, e) => h.or(e),
            };
            let read_again = m.left_unknown
                || match (m.left, ahead) {
                    (Some(l), Some(h)) => l <= h,
                    (Some(_), None) => true,
                    (None, _) => false,
                };
            let head = if read_again {
                let next = if m.kind == DUE_INVITATIONS {
                    sql::NEXT_INVITATION_DUE_IN_ORG
                } else {
                    sql::NEXT_OUTBOX_DUE_IN_ORG
                };
                self.time_row(next, [m.org])?
            } else {
                ahead
            };
            if !read_again && head == stored {
                continue;
            }
            match head {
                Some((at_s, at_ns)) => self.exec(
                    sql::PUT_DUE_HEAD,
                    params![m.kind, m.org, m.org_id, at_s, at_ns],
                )?,
                None => self.exec(sql::DELETE_DUE_HEAD, params![m.kind, m.org])?,
            };
        }
        Ok(())
    }

    /// The due rows across organizations, in their order, at most
    /// `limit`: what the index across organizations gave in one range
    /// before migration 0026, merged from the organizations' own ranges.
    /// The organizations whose head of `kind` is due at `now` are taken
    /// in head order, each only once its head may hold the next row (not
    /// `past(row, head time, head org_id)`: all its rows after that
    /// row); each is read by `in_org` (its number and how many of its
    /// first rows) a few rows at first and twice as many at each refill,
    /// so that a backlog in many organizations costs about the rows
    /// returned, not the limit for every organization.
    fn due_across<T>(
        &mut self,
        kind: i64,
        now: DateTime<Utc>,
        limit: usize,
        in_org: impl Fn(&Self, i64, i64) -> StoreResult<Vec<T>>,
        cmp: impl Fn(&T, &T) -> std::cmp::Ordering,
        past: impl Fn(&T, DateTime<Utc>, &str) -> bool,
    ) -> StoreResult<Vec<T>> {
        /// One organization being merged: its rows not taken yet, how many
        /// of its first rows were read, and whether those were all.
        struct Open<T> {
            org: i64,
            rows: std::collections::VecDeque<T>,
            read: usize,
            all: bool,
        }
        self.flush_due_heads()?;
        let mut found: Vec<T> = Vec::new();
        if limit == 0 {
            return Ok(found);
        }
        let (s, ns) = split(now);
        // Heads are read a page at a time.
        let page = limit.saturating_add(1).min(1001);
        let first = limit.min(8);
        let mut heads: std::collections::VecDeque<(i64, String, i64, i64)> = Default::default();
        let mut more_heads = true;
        let mut after: (i64, i64, String) = (i64::MIN, i64::MIN, String::new());
        let mut open: Vec<Open<T>> = Vec::new();
        // Reads `org`'s first `n` rows, of which the first `skip` were
        // taken already.
        let read = |tx: &Self, org: i64, n: usize, skip: usize| -> StoreResult<(Vec<T>, bool)> {
            let rows = in_org(tx, org, sql_int(n as u64))?;
            let all = rows.len() < n;
            Ok((rows.into_iter().skip(skip).collect(), all))
        };
        while found.len() < limit {
            // The open organization with the first row.
            let mut best = open
                .iter()
                .enumerate()
                .filter_map(|(i, o)| o.rows.front().map(|r| (i, r)))
                .min_by(|a, b| cmp(a.1, b.1))
                .map(|(i, _)| i);
            // Organizations join while their head may come first.
            loop {
                if heads.is_empty() && more_heads {
                    let mut st = self
                        .conn
                        .prepare_cached(sql::DUE_HEADS)
                        .map_err(store_err)?;
                    let got: Vec<(i64, String, i64, i64)> = st
                        .query_map(
                            params![kind, after.0, after.1, after.2, s, ns, sql_int(page as u64)],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                        )
                        .map_err(store_err)?
                        .collect::<Result<_, _>>()
                        .map_err(store_err)?;
                    more_heads = got.len() == page;
                    heads.extend(got);
                }
                let Some((org, org_id, at_s, at_ns)) = heads.front() else {
                    break;
                };
                let at = time_of(*at_s, *at_ns)?;
                if let Some(b) = best.and_then(|b| open[b].rows.front()) {
                    if past(b, at, org_id) {
                        break;
                    }
                }
                let org = *org;
                let (rows, all) = read(self, org, first, 0)?;
                if let Some((_, org_id, at_s, at_ns)) = heads.pop_front() {
                    after = (at_s, at_ns, org_id);
                }
                if rows.is_empty() {
                    continue;
                }
                // The first row so far, or this organization's first.
                let before_best = match (best.and_then(|b| open[b].rows.front()), rows.first()) {
                    (Some(b), Some(r)) => cmp(r, b).is_lt(),
                    _ => true,
                };
                if before_best {
                    best = Some(open.len());
                }
                open.push(Open {
                    org,
                    rows: rows.into(),
                    read: first,
                    all,
                });
            }
            let Some(b) = best else {
                break;
            };
            let o = &mut open[b];
            if let Some(row) = o.rows.pop_front() {
                found.push(row);
            }
            if o.rows.is_empty() && !o.all && found.len() < limit {
                // Every row it gave was taken, so fewer than `limit`: read
                // up to twice as many (at most `limit`, all it can give).
                let (org, skip) = (o.org, o.read);
                let n = skip.saturating_mul(2).min(limit);
                let (rows, all) = read(self, org, n, skip)?;
                let o = &mut open[b];
                o.rows = rows.into();
                o.read = n;
                o.all = all || o.rows.is_empty();
            }
        }
        Ok(found)
    }

    /// Notes an invitation read one by one ([`SqliteTx::read_invitations`]).
    fn note_read(&mut self, inv: Option<StoredInvitation>) -> Option<StoredInvitation> {
        if let Some(i) = inv.as_ref().filter(|_| self.writes) {
            self.read_invitations
                .insert((i.org_id.clone(), i.id.clone()), i.clone());
        }
        inv
    }

    /// Rewrites the stored row of `inv` with `values` (those of
    /// `sql::UPDATE_INVITATION`), moving its counter if its status or
    /// license type changed: the person the old row stood for in the
    /// people view, or `None` when no row of that id is stored. `read` is
    /// the invitation as this transaction read it
    /// ([`SqliteTx::read_invitations`]): what the old row holds, so it is
    /// not read again.
    fn update_invitation(
        &mut self,
        inv: &StoredInvitation,
        status: &'static str,
        values: &[&dyn ToSql],
        read: Option<StoredInvitation>,
    ) -> StoreResult<Option<Option<enlist::Person>>> {
        let (org, id) = (inv.org_id.as_str(), inv.id.as_str());
        let key = self.org_key(org)?;
        let mut update = sql::UPDATE_INVITATION;
        let (old_status, old_license, old_person) = match read {
            Some(old) => {
                if only_status_changed(&old, inv) {
                    update = sql::UPDATE_INVITATION_STATUS;
                }
                let person = enlist::Person::from_invitation(&old);
                (
                    old.status,
                    old.invitation.license_type.into_string(),
                    person,
                )
            }
            None => {
                let old: Option<(String, String, String)> = self
                    .conn
                    .prepare_cached(sql::INVITATION_COUNTED)
                    .and_then(|mut s| {
                        s.query_row(params![key, id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                            .optional()
                    })
                    .map_err(store_err)?;
                let Some((old_status, old_license, old_body)) = old else {
                    return Ok(None);
                };
                (
                    old_status.parse::<InvitationStatus>()?,
                    old_license,
                    crate::people::invitation_person(&old_body)?,
                )
            }
        };
        match self.exec(update, values) {
            // Gone since it was read: the caller inserts it.
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(StoreError::Unique(rule)) => return Err(self.invitation_rule(inv, rule)?),
            Err(e) => return Err(e),
        }
        let old_status = old_status.as_str();
        if old_status != status || old_license != inv.license_type {
            self.count_invitation(org, &old_license, old_status, -1);
            self.count_invitation(org, &inv.license_type, status, 1);
        }
        Ok(Some(old_person))
    }

    /// The rule a refused invitation write reports: as for members, the
    /// secret is named first when an invitation breaks both the secret's
    /// rule and the open recipient's, whichever index SQLite checked first.
    fn invitation_rule(&self, inv: &StoredInvitation, rule: UniqueRule) -> StoreResult<StoreError> {
        if rule == UniqueRule::InvitationOpenRecipient {
            if let Some(hash) = inv.lookup_hash() {
                let other: Option<StoredInvitation> = self.one(
                    sql::INVITATION_BY_SECRET,
                    params![self.org_key(inv.org_id.as_str())?, &hash.0[..]],
                    "invitation",
                )?;
                if other.is_some_and(|o| o.id != inv.id) {
                    return Ok(StoreError::Unique(UniqueRule::InvitationSecret));
                }
            }
        }
        Ok(StoreError::Unique(rule))
    }
}

/// Whether the columns of `new` that `sql::UPDATE_INVITATION_STATUS` does
/// not set hold what they hold for `old` (the same invitation as stored):
/// every column of `sql::UPDATE_INVITATION` but the status, the body and
/// the name key.
fn only_status_changed(old: &StoredInvitation, new: &StoredInvitation) -> bool {
    old.batch_id == new.batch_id
        && old.recipient_key == new.recipient_key
        && old.role == new.role
        && old.kind == new.kind
        && old.license_type == new.license_type
        && old.lookup_hash() == new.lookup_hash()
        && old.created_at == new.created_at
        && old.expires_at == new.expires_at
        && old.user_ref == new.user_ref
        && old.inviter == new.inviter
}

/// Runs a transaction's `BEGIN` or `COMMIT` as a cached statement:
/// `execute_batch` prepared it anew each time (about 3,000 instructions
/// a transaction).
fn control(conn: &rusqlite::Connection, sql: &str) -> StoreResult<()> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(store_err)
}

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing to report to: if this fails, the next `begin` rolls
            // back before starting.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        // The connection's guard is released after this.
    }
}

// ---------------------------------------------------------------------------
// Ordered walks: one statement per index range, merged lazily.

/// A row of a walk: its sort key and what is needed to decide and decode.
type Walked<K, R> = (K, R);

/// A page from walks sorted by key (one statement each, merged lazily by
/// core's k-way merge): the first `limit` rows that `keep` accepts, with a
/// cursor when one more exists.
fn page_of<K: Ord, R, T>(
    walks: Vec<impl Iterator<Item = rusqlite::Result<Walked<K, R>>>>,
    desc: bool,
    mut keep: impl FnMut(&K, &R) -> StoreResult<Option<T>>,
    limit: usize,
    cursor_of: impl Fn(&K) -> String,
) -> StoreResult<Page<T>> {
    let candidates = merge_sorted(walks, desc).map(|walked| {
        let (key, row) = walked.map_err(store_err)?;
        let item = keep(&key, &row)?;
        Ok((key, item))
    });
    collect_page(candidates, limit, |key| Ok(cursor_of(key)))
}

/// `(contact_key, member_id)`.
type MemberKey = (String, String);

fn member_row(r: &Row<'_>) -> rusqlite::Result<Walked<MemberKey, String>> {
    Ok(((r.get(0)?, r.get(1)?), r.get(2)?))
}

/// `((created_s, created_ns), invitation_id)`.
type InvitationKey = (Split, String);

/// The columns an invitation list decides on before decoding the body.
struct InvitationRow {
    status: String,
    expires: Option<Split>,
    recipient_key: String,
    batch_id: String,
    body: String,
}

fn invitation_row(r: &Row<'_>) -> rusqlite::Result<Walked<InvitationKey, InvitationRow>> {
    let expires = match (r.get::<_, Option<i64>>(4)?, r.get::<_, Option<i64>>(5)?) {
        (Some(s), Some(ns)) => Some((s, ns)),
        _ => None,
    };
    Ok((
        ((r.get(0)?, r.get(1)?), r.get(2)?),
        InvitationRow {
            status: r.get(3)?,
            expires,
            recipient_key: r.get(6)?,
            batch_id: r.get(7)?,
            body: r.get(8)?,
        },
    ))
}

/// Which index a member list walks.
enum MemberSource<'q> {
    All,
    Role(&'q str),
    Group(&'q GroupId),
}

/// The statement walking one status of `source` from the cursor, and its
/// parameters.
pub(crate) fn member_walk_sql(
    source_kind: u8,
    status: &str,
    has_cursor: bool,
    desc: bool,
) -> String {
    let (cmp, dir) = if desc { ("<", "DESC") } else { (">", "ASC") };
    let (from, filter, ck, id) = match source_kind {
        0 => ("members m", "", "m.contact_key", "m.member_id"),
        1 => (
            "members m",
            "AND m.role = ?2",
            "m.contact_key",
            "m.member_id",
        ),
        _ => (
            "member_groups g JOIN members m ON m.org_id = g.org_id AND m.member_id = g.member_id",
            "AND g.group_id = ?2",
            "g.contact_key",
            "g.member_id",
        ),
    };
    let status_col = if source_kind == 2 {
        "g.status"
    } else {
        "m.status"
    };
    // `member_groups` is keyed by the organization's id, `members`'
    // walks by its number (migration 0021).
    let org_col = if source_kind == 2 {
        "g.org_id"
    } else {
        "m.org"
    };
    let cursor = if has_cursor {
        format!("AND ({ck}, {id}) {cmp} (?3, ?4)")
    } else {
        String::new()
    };
    format!(
        "SELECT m.contact_key, m.member_id, m.body FROM {from}
         WHERE {org_col} = ?1 {filter} AND {status_col} = '{status}' {cursor}
         ORDER BY {ck} {dir}, {id} {dir}"
    )
}

/// The statement walking one stored status (or one batch) of an
/// organization's invitations, newest first, from the cursor.
pub(crate) fn invitation_walk_sql(status: Option<&str>, has_cursor: bool) -> String {
    let filter = match status {
        Some(s) => format!("status = '{s}'"),
        None => "batch_id = ?2".to_owned(),
    };
    let cursor = if has_cursor {
        "AND (created_s, created_ns, invitation_id) < (?3, ?4, ?5)"
    } else {
        ""
    };
    format!(
        "SELECT created_s, created_ns, invitation_id, status, expires_s, expires_ns,
                recipient_key, batch_id, body
         FROM invitations WHERE org = ?1 AND {filter} {cursor}
         ORDER BY created_s DESC, created_ns DESC, invitation_id DESC"
    )
}

// ---------------------------------------------------------------------------

impl Transaction for SqliteTx<'_> {
    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        self.flush_outbox(None)?;
        self.flush_counts()?;
        self.flush_due_heads()?;
        control(&self.conn, "COMMIT")?;
        self.open = false;
        Ok(())
    }

    fn organization(&mut self, org: &OrgId) -> StoreResult<Option<Organization>> {
        self.body(sql::ORGANIZATION, [org.as_str()])?
            .map(|b| self.orgs.decode(org, b))
            .transpose()
    }

    fn put_organization(&mut self, org: &Organization) -> StoreResult<()> {
        crate::orgs::put(&self.conn, org)
    }

    fn group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<Option<Group>> {
        let group: Option<Group> = self.one(sql::GROUP, [org.as_str(), id.as_str()], "group")?;
        group.map(|g| self.with_count(g)).transpose()
    }

    fn groups(&mut self, org: &OrgId) -> StoreResult<Vec<Group>> {
        let groups: Vec<Group> = self.many(
            "SELECT body FROM groups WHERE org_id = ?1 ORDER BY group_id",
            [org.as_str()],
            "group",
        )?;
        groups.into_iter().map(|g| self.with_count(g)).collect()
    }

    fn put_group(&mut self, group: &Group) -> StoreResult<()> {
        let mut stored = group.clone();
        stored.member_count = 0;
        self.exec(
            "INSERT INTO groups (org_id, group_id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (org_id, group_id) DO UPDATE SET body = excluded.body",
            params![group.org_id.as_str(), group.id.as_str(), to_json(&stored)?],
        )?;
        Ok(())
    }

    fn delete_group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<()> {
        self.exec(
            "DELETE FROM groups WHERE org_id = ?1 AND group_id = ?2",
            [org.as_str(), id.as_str()],
        )?;
        Ok(())
    }

    fn member(&mut self, org: &OrgId, id: &MemberId) -> StoreResult<Option<Member>> {
        self.one(sql::MEMBER, [org.as_str(), id.as_str()], "member")
    }

    fn member_by_contact(&mut self, org: &OrgId, key: &str) -> StoreResult<Option<Member>> {
        let org = self.org_key(org.as_str())?;
        self.one(sql::MEMBER_BY_CONTACT, params![org, key], "member")
    }

    fn member_by_user_ref(&mut self, org: &OrgId, user_ref: &str) -> StoreResult<Option<Member>> {
        self.one(sql::MEMBER_BY_USER_REF, [org.as_str(), user_ref], "member")
    }

    fn put_member(&mut self, member: &Member) -> StoreResult<()> {
        let prev: Option<Member> = self.member(&member.org_id, &member.id)?;
        // The transaction holds the write lock: `prev` says whether the row
        // is stored, so a new one is a plain INSERT and a stored one an
        // UPDATE (the counters need the old values anyway).
        let sql = if prev.is_some() {
            "UPDATE members SET contact_key = ?3, user_ref = ?4, status = ?5, role = ?6,
                license_type = ?7, kind = ?8, body = ?9, name_key = ?10, joined_s = ?11,
                joined_ns = ?12, last_s = ?13, last_ns = ?14
             WHERE org_id = ?1 AND member_id = ?2"
        } else {
            "INSERT INTO members (org_id, member_id, contact_key, user_ref, status, role,
                                  license_type, kind, body, name_key, joined_s, joined_ns,
                                  last_s, last_ns, org)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        };
        // The people view's keys of the member (migration 0017).
        let person = enlist::Person::from_member(member);
        let view = person_row(&person);
        // The organization's number (migration 0021): the INSERT's ?15. An
        // UPDATE leaves it (a member never changes organization) and is
        // bound the first fourteen, so SQLite rewrites no index for it.
        let key = self.org_key_made(member.org_id.as_str())?;
        let body = to_json(member)?;
        let values: [&dyn ToSql; 15] = [
            &member.org_id.as_str(),
            &member.id.as_str(),
            &member.contact_key.as_str(),
            &member.user_ref,
            &member.status.as_str(),
            &member.role.as_str(),
            &member.license_type.as_str(),
            &member.kind.as_str(),
            &body,
            &view.name_key,
            &view.since.0,
            &view.since.1,
            &view.last_active.0,
            &view.last_active.1,
            &key,
        ];
        let bound = if prev.is_some() { 14 } else { 15 };
        let written = self.exec(sql, &values[..bound]);
        if let Err(StoreError::Unique(UniqueRule::MemberUserRef)) = written {
            // SQLite checks the newer index first; the contract names the
            // contact key first when a member breaks both rules.
            if let Some(other) = self.member_by_contact(&member.org_id, &member.contact_key)? {
                if other.id != member.id && member.status != MemberStatus::Removed {
                    return Err(StoreError::Unique(UniqueRule::MemberContactKey));
                }
            }
        }
        written?;
        match &prev {
            Some(p)
                if p.status == member.status
                    && p.role == member.role
                    && p.license_type == member.license_type => {}
            Some(p) => {
                self.count_member(p, -1);
                self.count_member(member, 1);
            }
            None => self.count_member(member, 1),
        }
        self.sync_member_groups(prev.as_ref(), member)?;
        crate::people::sync_member(&self.conn, prev.as_ref(), &person)
    }

    fn list_members(&mut self, org: &OrgId, query: &MemberQuery) -> StoreResult<Page<Member>> {
        let after = query
            .after
            .as_deref()
            .map(parse_member_cursor)
            .transpose()?;
        let limit = page_limit(query.limit);
        let mut statuses: Vec<MemberStatus> = if query.statuses.is_empty() {
            vec![MemberStatus::Active, MemberStatus::Inactive]
        } else {
            query.statuses.clone()
        };
        statuses.sort();
        statuses.dedup();
        let list: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();

        // Walk the smallest index that serves a filter, as MemoryStore does.
        let mut source = MemberSource::All;
        let mut size = self.member_total(org, &list)?;
        if let Some(role) = &query.role {
            let n = self.counter(org, "member_role", role, &list)?;
            if n == 0 {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
            if n < size {
                source = MemberSource::Role(role);
                size = n;
            }
        }
        if let Some(group) = &query.group {
            let n = self.counter(org, "member_group", group.as_str(), &list)?;
            if n == 0 {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
            if n < size {
                source = MemberSource::Group(group);
            }
        }
        let desc = query.sort == MemberSort::EmailDesc;
        let (kind, filter) = match source {
            MemberSource::All => (0, None),
            MemberSource::Role(r) => (1, Some(r)),
            MemberSource::Group(g) => (2, Some(g.as_str())),
        };
        let mut stmts = Vec::with_capacity(statuses.len());
        for s in &statuses {
            let sql = member_walk_sql(kind, s.as_str(), after.is_some(), desc);
            stmts.push(self.conn.prepare_cached(&sql).map_err(store_err)?);
        }
        let mut params: Vec<Value> = vec![if kind == 2 {
            Value::Text(org.as_str().to_owned())
        } else {
            self.org_key(org.as_str())?
                .map_or(Value::Null, Value::Integer)
        }];
        params.push(filter.map_or(Value::Null, |f| Value::Text(f.to_owned())));
        if let Some((ck, id)) = &after {
            params.push(Value::Text(ck.clone()));
            params.push(Value::Text(id.as_str().to_owned()));
        }
        let mut walks = Vec::with_capacity(stmts.len());
        for stmt in &mut stmts {
            // Parameters have fixed numbers; a statement takes those up to
            // the highest it names (an unnamed ?2 is bound and unused).
            let n = stmt.parameter_count();
            let rows = stmt
                .query_map(params_from_iter(params.iter().take(n)), member_row)
                .map_err(store_err)?;
            walks.push(rows);
        }
        let search = query.search.as_ref().map(|s| s.to_lowercase());
        page_of(
            walks,
            desc,
            |(ck, _), body| {
                if search.as_ref().is_some_and(|s| !ck.contains(s.as_str())) {
                    return Ok(None);
                }
                let m: Member = from_json(body, "member")?;
                Ok(query.matches(&m).then_some(m))
            },
            limit,
            |(ck, id)| member_cursor(ck, id),
        )
    }

    fn count_active_with_role(&mut self, org: &OrgId, role: &str) -> StoreResult<u64> {
        self.counter(org, "member_role", role, ACTIVE)
    }

    fn seat_count(&mut self, org: &OrgId, license_type: &str) -> StoreResult<SeatCount> {
        // Active members and open (staged or pending) invitations, in one
        // statement: the engine asks for every recipient of a batch.
        let mut stmt = self.conn.prepare_cached(sql::SEATS).map_err(store_err)?;
        let rows = stmt
            .query_map([org.as_str(), license_type], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(store_err)?;
        // With this transaction's changes not written yet.
        let org = org.as_str();
        let mut members = self.pending(org, "member_license", license_type, "active");
        let mut open = self
            .pending(org, "invitation_license", license_type, "staged")
            .saturating_add(self.pending(org, "invitation_license", license_type, "pending"));
        for row in rows {
            let (what, n) = row.map_err(store_err)?;
            if what == 0 {
                members = members.saturating_add(n);
            } else {
                open = open.saturating_add(n);
            }
        }
        Ok(SeatCount {
            members: count(members),
            open_invitations: count(open),
        })
    }

    fn seat_counts(&mut self, org: &OrgId) -> StoreResult<Vec<(String, SeatCount)>> {
        // Every license type's counters: written first (a rare read).
        self.flush_counts()?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT key,
                    SUM(CASE WHEN what = 'member_license' AND status = 'active'
                        THEN n ELSE 0 END),
                    SUM(CASE WHEN what = 'invitation_license' AND status IN ('staged', 'pending')
                        THEN n ELSE 0 END)
                 FROM counts WHERE org_id = ?1 AND what IN ('member_license', 'invitation_license')
                 GROUP BY key ORDER BY key",
            )
            .map_err(store_err)?;
        let rows = stmt
            .query_map([org.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(store_err)?;
        let mut out = Vec::new();
        for row in rows {
            let (key, members, open) = row.map_err(store_err)?;
            let c = SeatCount {
                members: count(members),
                open_invitations: count(open),
            };
            if c != SeatCount::default() {
                out.push((key, c));
            }
        }
        Ok(out)
    }

    fn invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
    ) -> StoreResult<Option<StoredInvitation>> {
        let key = self.org_key(org.as_str())?;
        let inv = self.one(sql::INVITATION, params![key, id.as_str()], "invitation")?;
        Ok(self.note_read(inv))
    }

    fn invitation_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<StoredInvitation>> {
        let key = self.org_key(org.as_str())?;
        let inv = self.one(
            sql::INVITATION_BY_SECRET,
            params![key, &hash.0[..]],
            "invitation",
        )?;
        Ok(self.note_read(inv))
    }

    fn open_invitation_for(
        &mut self,
        org: &OrgId,
        key: &str,
    ) -> StoreResult<Option<StoredInvitation>> {
        let org = self.org_key(org.as_str())?;
        self.one(sql::OPEN_INVITATION_FOR, params![org, key], "invitation")
    }

    fn put_invitation(&mut self, inv: &StoredInvitation) -> StoreResult<()> {
        let created = split(inv.created_at);
        let expires = inv.expires_at.map(split);
        let (org, id) = (inv.org_id.as_str(), inv.id.as_str());
        let status = inv.status.as_str();
        let (batch, kind) = (inv.batch_id.as_str(), inv.kind.as_str());
        // Only the hash of an invitation found by it is a column (indexed,
        // unique); an invitation found by id keeps its hash in the body.
        let secret = inv.lookup_hash().map(|h| &h.0[..]);
        let (expires_s, expires_ns) = (expires.map(|e| e.0), expires.map(|e| e.1));
        let body = to_json(inv)?;
        let user_ref = inv.user_ref.as_deref();
        let inviter = inv.inviter.as_ref().map(MemberId::as_str);
        // The person it is in the people view: its name key column, and
        // its derived rows below.
        let person = enlist::Person::from_invitation(inv);
        let name_key = person.as_ref().map(enlist::Person::name_key);
        let key = self.org_key_made(org)?;
        // When it is due: pending with an expiry (its organization's head
        // may move, migration 0026).
        let due = |i: &StoredInvitation| {
            (i.status == InvitationStatus::Pending)
                .then_some(i.expires_at.map(split))
                .flatten()
        };
        let values: [&dyn ToSql; 18] = [
            &org,
            &id,
            &batch,
            &inv.recipient_key.as_str(),
            &status,
            &inv.role.as_str(),
            &kind,
            &inv.license_type.as_str(),
            &secret,
            &created.0,
            &created.1,
            &expires_s,
            &expires_ns,
            &body,
            &user_ref,
            &inviter,
            &name_key,
            &key,
        ];
        // A new invitation is a plain INSERT (no ON CONFLICT clause, no
        // trigger: SQLite needs no statement journal for it). A stored one
        // makes the INSERT fail on `invitations_id` (or on another unique
        // index it shares with its own old row, whichever SQLite checks
        // first): then its old status and license type are read for the
        // counters, and its body for the people view's derived rows, and
        // the row is updated. One this transaction read is updated without
        // the INSERT. A new one has no derived rows to diff.
        // (A batch being issued reads none: no key is made for the check.)
        let read = if self.read_invitations.is_empty() {
            None
        } else {
            self.read_invitations
                .remove(&(inv.org_id.clone(), inv.id.clone()))
        };
        // When the row it replaces was due: known from a read, none for a
        // new row, not known for a row this transaction did not read.
        let mut was_due = read.as_ref().map(&due);
        let known = match read {
            Some(read) => self.update_invitation(inv, status, &values[..], Some(read))?,
            None => None,
        };
        let (inserted, before) = match known {
            Some(before) => (None, before),
            None => match self.exec(sql::INSERT_INVITATION, &values[..]) {
                Ok(_) => {
                    self.count_invitation(org, &inv.license_type, status, 1);
                    was_due = Some(None);
                    (Some(self.conn.last_insert_rowid()), None)
                }
                Err(StoreError::Unique(rule)) => {
                    was_due = None;
                    match self.update_invitation(inv, status, &values[..], None)? {
                        Some(before) => (None, before),
                        None => return Err(self.invitation_rule(inv, rule)?),
                    }
                }
                Err(e) => return Err(e),
            },
        };
        // `was_due`: `Some(time)` known (`Some(None)`: it was not due),
        // `None` not known.
        let left = match was_due {
            Some(Some(t)) => Some(Some(t)),
            Some(None) => None,
            None => Some(None),
        };
        self.mark_due((DUE_INVITATIONS, key, org), due(inv), left);
        if self.deferred.iter().any(|r| r.of_invitation(org, id)) {
            self.flush_outbox(Some((org, id, inserted)))?;
        }
        // After the rowid above was read: these rows have their own.
        crate::people::sync_invitation(&self.conn, before.as_ref(), person.as_ref(), inv)
    }

    fn list_invitations(
        &mut self,
        org: &OrgId,
        query: &InvitationQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<StoredInvitation>> {
        let after = query
            .after
            .as_deref()
            .map(parse_invitation_cursor)
            .transpose()?;
        let limit = page_limit(query.limit);
        // A batch is small (at most the policy's max_batch, 10,000): walk it
        // whole. Otherwise walk the stored statuses that can have the
        // statuses asked for at `now` (a pending one may have expired).
        let walks_of: Vec<Option<&str>> = if query.batch.is_some() {
            vec![None]
        } else if query.statuses.is_empty() {
            InvitationStatus::ALL
                .iter()
                .map(|s| Some(s.as_str()))
                .collect()
        } else {
            let mut stored = BTreeSet::new();
            for s in &query.statuses {
                stored.insert(s.as_str());
                if *s == InvitationStatus::Expired {
                    stored.insert(InvitationStatus::Pending.as_str());
                }
            }
            stored.into_iter().map(Some).collect()
        };
        let mut stmts = Vec::with_capacity(walks_of.len());
        for status in &walks_of {
            let sql = invitation_walk_sql(*status, after.is_some());
            stmts.push(self.conn.prepare_cached(&sql).map_err(store_err)?);
        }
        let mut params: Vec<Value> = vec![
            self.org_key(org.as_str())?
                .map_or(Value::Null, Value::Integer),
            query
                .batch
                .as_ref()
                .map_or(Value::Null, |b| Value::Text(b.as_str().to_owned())),
        ];
        if let Some((created, id)) = &after {
            params.push(Value::Integer(created.0));
            params.push(Value::Integer(created.1));
            params.push(Value::Text(id.as_str().to_owned()));
        }
        let mut walks = Vec::with_capacity(stmts.len());
        for stmt in &mut stmts {
            // Parameters have fixed numbers; a statement takes those up to
            // the highest it names (an unnamed ?2 is bound and unused).
            let n = stmt.parameter_count();
            let rows = stmt
                .query_map(params_from_iter(params.iter().take(n)), invitation_row)
                .map_err(store_err)?;
            walks.push(rows);
        }
        let now = split(now);
        let search = query.search.as_ref().map(|s| (s.clone(), s.to_lowercase()));
        page_of(
            walks,
            true,
            |_, row| {
                let stored = row.status.parse::<InvitationStatus>()?;
                let status = status_at(stored, row.expires, now);
                let keep = (query.statuses.is_empty() || query.statuses.contains(&status))
                    && query
                        .batch
                        .as_ref()
                        .is_none_or(|b| row.batch_id == b.as_str())
                    && search.as_ref().is_none_or(|(raw, lower)| {
                        row.recipient_key.contains(raw.as_str())
                            || row.recipient_key.contains(lower.as_str())
                    });
                if !keep {
                    return Ok(None);
                }
                from_json(&row.body, "invitation").map(Some)
            },
            limit,
            |(created, id)| invitation_cursor(*created, id),
        )
    }

    fn due_invitations(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<StoredInvitation>> {
        let (s, ns) = split(now);
        let take = sql_int(u64::try_from(limit).unwrap_or(u64::MAX));
        // `expires_s <= s` bounds the index range; the rest trims its end.
        match org {
            Some(org) => self.many(
                sql::DUE_INVITATIONS_IN_ORG,
                params![self.org_key(org.as_str())?, s, ns, take],
                "invitation",
            ),
            None => self.due_across(
                DUE_INVITATIONS,
                now,
                limit,
                |tx, org, take| {
                    tx.many(
                        sql::DUE_INVITATIONS_IN_ORG,
                        params![org, s, ns, take],
                        "invitation",
                    )
                },
                |a: &StoredInvitation, b: &StoredInvitation| {
                    (a.expires_at, a.org_id.as_str(), a.id.as_str()).cmp(&(
                        b.expires_at,
                        b.org_id.as_str(),
                        b.id.as_str(),
                    ))
                },
                // An organization's rows have its id and expire at its
                // head or later.
                |kth, at, org_id| (Some(at), org_id) > (kth.expires_at, kth.org_id.as_str()),
            ),
        }
    }

    fn append_event(&mut self, mut event: Event) -> StoreResult<u64> {
        let org = self.org_key_made(event.org_id.as_str())?;
        let last = match self.last_seq.get(&event.org_id) {
            Some(&last) => last,
            None => self
                .conn
                .prepare_cached(sql::LAST_SEQ)
                .and_then(|mut s| s.query_row([org], |r| r.get::<_, i64>(0)).optional())
                .map_err(store_err)?
                .map_or(0, count),
        };
        let seq = last.saturating_add(1);
        event.seq = seq;
        // The feed position: after the newest event and after the floor
        // (the newest position ever deleted, kept by migration 0022's
        // trigger), so that a deleted position is never given again.
        let feed_last = match self.feed_last {
            Some(n) => n,
            None => self
                .conn
                .prepare_cached(
                    "SELECT MAX(COALESCE((SELECT MAX(rid) FROM events), 0),
                                COALESCE((SELECT last FROM event_feed_head WHERE id = 1), 0))",
                )
                .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
                .map_err(store_err)
                .map(count)?,
        };
        let position = feed_last.saturating_add(1);
        self.exec(
            "INSERT INTO events (rid, org_id, seq, body, kind, org)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                sql_int(position),
                event.org_id.as_str(),
                sql_int(seq),
                to_json(&event)?,
                enlist::event_kind_name(&event.kind),
                org
            ],
        )?;
        self.feed_last = Some(position);
        self.last_seq.insert(event.org_id, seq);
        Ok(seq)
    }

    fn event_feed(
        &mut self,
        after: Option<&str>,
        kinds: &[String],
        limit: usize,
    ) -> StoreResult<Vec<enlist::FeedEvent>> {
        let after = match after {
            None => 0,
            Some(a) => a
                .parse::<u64>()
                .ok()
                .and_then(|n| i64::try_from(n).ok())
                .ok_or_else(|| StoreError::InvalidCursor {
                    list: "event feed".into(),
                })?,
        };
        // The kinds as one JSON array parameter (`json_each`), NULL for all.
        let kinds = if kinds.is_empty() {
            None
        } else {
            Some(serde_json::to_string(kinds).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT rid, body FROM events
                 WHERE rid > ?1 AND (?2 IS NULL OR kind IN (SELECT value FROM json_each(?2)))
                 ORDER BY rid LIMIT ?3",
            )
            .map_err(store_err)?;
        let rows = stmt
            .query_map(
                params![
                    after,
                    kinds,
                    sql_int(u64::try_from(limit).unwrap_or(u64::MAX))
                ],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .map_err(store_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_err)?;
        rows.into_iter()
            .map(|(rid, body)| {
                Ok(enlist::FeedEvent::new(
                    rid.to_string(),
                    from_json(&body, "event")?,
                ))
            })
            .collect()
    }

    fn events(&mut self, org: &OrgId, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        self.many(
            sql::EVENTS,
            params![
                self.org_key(org.as_str())?,
                sql_int(after),
                sql_int(u64::try_from(limit).unwrap_or(u64::MAX))
            ],
            "event",
        )
    }

    fn put_outbox_message(&mut self, msg: OutboxMessage) -> StoreResult<()> {
        let queued = msg.status == OutboxStatus::Queued;
        let row = OutboxRow::of(msg)?;
        // Its organization's earliest next attempt may move: it is queued,
        // or the row it replaces (not read here) may have been.
        let org = self.org_key_made(&row.org_id)?;
        let entered = queued.then_some(row.next);
        self.mark_due((DUE_MESSAGES, org, &row.org_id), entered, Some(None));
        // This put replaces a deferred one of the same message.
        self.deferred.retain(|r| r.message_id != row.message_id);
        if queued {
            self.deferred.push(row);
            return Ok(());
        }
        self.write_outbox(&row, None)
    }

    fn outbox_message(&mut self, id: &MessageId) -> StoreResult<Option<OutboxMessage>> {
        self.flush_outbox(None)?;
        Ok(self
            .outbox_rows(sql::OUTBOX_MESSAGE, [id.as_str()])?
            .into_iter()
            .next())
    }

    fn due_outbox(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.flush_outbox(None)?;
        let (s, ns) = split(now);
        let take = sql_int(u64::try_from(limit).unwrap_or(u64::MAX));
        match org {
            Some(org) => self.outbox_rows(
                sql::DUE_OUTBOX_IN_ORG,
                params![self.org_key(org.as_str())?, s, ns, take],
            ),
            None => self.due_across(
                DUE_MESSAGES,
                now,
                limit,
                |tx, org, take| tx.outbox_rows(sql::DUE_OUTBOX_IN_ORG, params![org, s, ns, take]),
                |a: &OutboxMessage, b: &OutboxMessage| {
                    (a.next_attempt_at, a.id.as_str()).cmp(&(b.next_attempt_at, b.id.as_str()))
                },
                // An organization's rows are due at its head or later; at
                // the same time its ids may still come first.
                |kth, at, _| at > kth.next_attempt_at,
            ),
        }
    }

    fn next_outbox_due(&mut self, org: Option<&OrgId>) -> StoreResult<Option<DateTime<Utc>>> {
        self.flush_outbox(None)?;
        let row = match org {
            Some(org) => {
                let key = self.org_key(org.as_str())?;
                self.time_row(sql::NEXT_OUTBOX_DUE_IN_ORG, [key])?
            }
            None => {
                self.flush_due_heads()?;
                self.time_row(sql::NEXT_DUE_HEAD, [DUE_MESSAGES])?
            }
        };
        row.map(|(s, ns)| time_of(s, ns)).transpose()
    }

    fn failed_outbox(
        &mut self,
        org: &OrgId,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<OutboxMessage>> {
        self.flush_outbox(None)?;
        let after = after
            .map(enlist::store::cursor::parse_message)
            .transpose()?;
        let limit = page_limit(limit);
        let (a_s, a_ns, a_id) = match &after {
            Some((at, id)) => {
                let (s, ns) = split(*at);
                (
                    Value::Integer(s),
                    Value::Integer(ns),
                    Value::Text(id.as_str().to_owned()),
                )
            }
            None => (Value::Null, Value::Null, Value::Null),
        };
        let key = self.org_key(org.as_str())?;
        let mut stmt = self
            .conn
            .prepare_cached(sql::FAILED_OUTBOX)
            .map_err(store_err)?;
        let fetch = sql_int(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1));
        let rows = stmt
            .query_map(params![key, a_s, a_ns, a_id, fetch], |r| {
                Ok((
                    (
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ),
                    outbox_columns(r, 3)?,
                ))
            })
            .map_err(store_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_err)?;
        collect_page(
            rows.into_iter().map(|(key, (status, link, body))| {
                let msg = crate::codec::outbox_message(&status, link, &body)?;
                Ok((key, Some(msg)))
            }),
            limit,
            |(s, ns, id)| Ok(enlist::store::cursor::message(*s, *ns, id)),
        )
    }

    fn queued_messages_for(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let mut rows = self.queued_rows(org, invitation)?;
        // A few messages at most, sorted here as MemoryStore sorts them.
        rows.sort_by(|a, b| a.order.cmp(&b.order));
        rows.into_iter()
            .map(|row| {
                crate::codec::outbox_message(OutboxStatus::Queued.as_str(), row.link, &row.body)
            })
            .collect()
    }

    fn supersede_queued_messages(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<()> {
        // What the trait's default does (each message read, superseded,
        // redacted, written back), without its general write: the row is
        // known by its rid, and only what superseding changes is set, so
        // SQLite leaves the indexes of the other columns alone (the unique
        // `message_id` one among them), where the upsert of
        // `put_outbox_message` probed and rewrote every one.
        let rows = self.queued_rows(org, invitation)?;
        if let (Some(key), Some(first)) = (
            self.org_key(org.as_str())?,
            rows.iter().map(|r| r.next).min(),
        ) {
            // They stop being due: their organization's earliest queued
            // message may be one of them.
            self.mark_due((DUE_MESSAGES, key, org.as_str()), None, Some(Some(first)));
        }
        for row in rows {
            // A draft whose link is its column (schema version 25) keeps
            // its body, which holds the link redacted: only the columns
            // change.
            if row.link.is_some() {
                self.exec(
                    sql::SUPERSEDE_HELD_LINK,
                    params![row.rid, OutboxStatus::Superseded.as_str()],
                )?;
                continue;
            }
            // A draft written before has its text rewritten where it lies
            // (its status and link); any other message is decoded,
            // superseded, redacted and encoded again.
            let body = match crate::codec::superseded_draft(&row.body) {
                Some(body) => body,
                None => {
                    let mut m: OutboxMessage = from_json(&row.body, "outbox message")?;
                    m.status = OutboxStatus::Superseded;
                    m.redact();
                    to_json(&m)?
                }
            };
            // `inv_rid` NULL, as `put_outbox_message` stores a message that
            // is no longer queued.
            self.exec(
                sql::SUPERSEDE_OUTBOX,
                params![row.rid, OutboxStatus::Superseded.as_str(), body],
            )?;
        }
        Ok(())
    }

    fn email_settings(&mut self, org: &OrgId) -> StoreResult<Option<EmailSettings>> {
        self.one(
            "SELECT body FROM email_settings WHERE org_id = ?1",
            [org.as_str()],
            "email settings",
        )
    }

    fn put_email_settings(&mut self, settings: &EmailSettings) -> StoreResult<()> {
        self.exec(
            "INSERT INTO email_settings (org_id, body) VALUES (?1, ?2)
             ON CONFLICT (org_id) DO UPDATE SET body = excluded.body",
            params![settings.org_id.as_str(), to_json(settings)?],
        )?;
        Ok(())
    }

    fn email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<Option<EmailTemplate>> {
        self.one(
            "SELECT body FROM email_templates WHERE org_id = ?1 AND locale = ?2",
            [org.as_str(), locale],
            "email template",
        )
    }

    fn email_templates(&mut self, org: &OrgId) -> StoreResult<Vec<EmailTemplate>> {
        self.many(
            "SELECT body FROM email_templates WHERE org_id = ?1 ORDER BY locale",
            [org.as_str()],
            "email template",
        )
    }

    fn put_email_template(&mut self, template: &EmailTemplate) -> StoreResult<()> {
        self.exec(
            "INSERT INTO email_templates (org_id, locale, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (org_id, locale) DO UPDATE SET body = excluded.body",
            params![
                template.org_id.as_str(),
                template.locale,
                to_json(template)?
            ],
        )?;
        Ok(())
    }

    fn delete_email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<bool> {
        let n = self.exec(
            "DELETE FROM email_templates WHERE org_id = ?1 AND locale = ?2",
            [org.as_str(), locale],
        )?;
        Ok(n > 0)
    }

    fn put_batch_report(&mut self, report: enlist::BatchReport) -> StoreResult<()> {
        let report = &report;
        let (secs, nanos) = split(report.created_at);
        self.exec(
            "INSERT INTO batch_reports (org_id, batch_id, created_s, created_ns, body)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (org_id, batch_id) DO UPDATE SET
                created_s = excluded.created_s, created_ns = excluded.created_ns,
                body = excluded.body",
            params![
                report.org_id.as_str(),
                report.batch_id.as_str(),
                secs,
                nanos,
                to_json(report)?
            ],
        )?;
        Ok(())
    }

    fn batch_report(
        &mut self,
        org: &OrgId,
        batch: &enlist::BatchId,
    ) -> StoreResult<Option<enlist::BatchReport>> {
        self.one(
            "SELECT body FROM batch_reports WHERE org_id = ?1 AND batch_id = ?2",
            [org.as_str(), batch.as_str()],
            "batch report",
        )
    }

    fn delete_batch_reports_before(
        &mut self,
        org: &OrgId,
        before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<u64> {
        let (secs, nanos) = split(before);
        let n = self.exec(
            "DELETE FROM batch_reports WHERE org_id = ?1 AND batch_id IN (
                SELECT batch_id FROM batch_reports
                WHERE org_id = ?1 AND (created_s, created_ns) < (?2, ?3)
                ORDER BY created_s, created_ns, batch_id LIMIT ?4)",
            params![org.as_str(), secs, nanos, sql_int(limit as u64)],
        )?;
        Ok(n as u64)
    }

    fn standing(
        &mut self,
        org: &OrgId,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, KeyStanding)>> {
        let keys = enlist::store::standing_keys(keys);
        let now = split(now);
        let mut found = enlist::store::Standings::default();
        let key = self.org_key(org.as_str())?;
        let mut stmt = self.conn.prepare_cached(sql::STANDING).map_err(store_err)?;
        for chunk in keys.chunks(STANDING_CHUNK) {
            let list = serde_json::to_string(chunk).map_err(StoreError::other)?;
            let rows = stmt
                .query_map(params![key, list, now.0, now.1], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(store_err)?;
            for row in rows {
                let (what, key, id) = row.map_err(store_err)?;
                if what == 0 {
                    found.member(key, MemberId::from(id));
                } else {
                    found.invitation(key, InvitationId::from(id));
                }
            }
        }
        Ok(found.into_vec())
    }

    fn person_invitations(
        &mut self,
        lookup: &enlist::PersonLookup,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<StoredInvitation>> {
        let after = lookup.after_key()?;
        let take = sql_int(u64::try_from(page_limit(lookup.limit) + 1).unwrap_or(u64::MAX));
        let now = split(now);
        let (cs, cns, corg, cid) = match &after {
            Some((at, org, id)) => {
                let (s, ns) = split(*at);
                (Some(s), Some(ns), Some(org.as_str()), Some(id.as_str()))
            }
            None => (None, None, None, None),
        };
        let org = lookup.org.as_ref().map(OrgId::as_str);
        let mut walks = Vec::new();
        for (sql, key) in [
            (sql::PERSON_BY_ACCOUNT, lookup.user_ref.as_deref()),
            (sql::PERSON_BY_KEY, lookup.email_key.as_deref()),
        ] {
            if let Some(key) = key {
                walks.push(self.many(
                    sql,
                    params![key, now.0, now.1, org, cs, cns, corg, cid, take],
                    "invitation",
                )?);
            }
        }
        enlist::store::inbox::person_page(walks, lookup.limit)
    }

    fn people(
        &mut self,
        org: &OrgId,
        query: &enlist::PeopleQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<enlist::Person>> {
        crate::people::page(&self.conn, org, query, now)
    }

    fn open_invitations_by_inviter(
        &mut self,
        org: &OrgId,
        inviter: &MemberId,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let (s, ns) = split(now);
        // `INDEXED BY`: the count reads this inviter's open rows through
        // the index of migration 0013, or the statement fails.
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT COUNT(*) FROM invitations INDEXED BY invitations_open_by_inviter
                 WHERE org = ?1 AND inviter = ?2
                   AND status IN ('staged', 'pending')
                   AND (status = 'staged' OR expires_s IS NULL OR expires_s > ?3
                        OR (expires_s = ?3 AND expires_ns > ?4))",
            )
            .map_err(store_err)?
            .query_row(
                params![self.org_key(org.as_str())?, inviter.as_str(), s, ns],
                |r| r.get(0),
            )
            .map_err(store_err)?;
        Ok(count(n))
    }

    fn organization_by_slug(&mut self, slug: &str) -> StoreResult<Option<Organization>> {
        crate::orgs::by_slug(&self.conn, slug)
    }

    fn list_organizations(
        &mut self,
        query: &enlist::OrganizationQuery,
    ) -> StoreResult<Page<Organization>> {
        crate::orgs::list(&self.conn, query)
    }

    fn memberships_of(
        &mut self,
        user_ref: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<(Organization, Member)>> {
        crate::orgs::memberships_of(&self.conn, user_ref, after, limit)
    }

    fn purge_organization(&mut self, org: &OrgId) -> StoreResult<()> {
        // Messages queued in this transaction and not written yet go too.
        self.deferred.retain(|m| m.org_id != org.as_str());
        // Its counters go with the `counts` rows.
        self.counts.retain(|(k, _)| k.org != org.as_str());
        self.last_seq.remove(org);
        // Its due heads go with its rows (`due_heads` is among its tables).
        self.due_marks.retain(|m| m.org_id != org.as_str());
        // Its rows go: no invitation read before is stored as it was read.
        self.read_invitations.retain(|(o, _), _| o != org);
        // And its number (its `org_keys` row goes; a later invitation of
        // the same id gets a new one).
        self.org_keys.borrow_mut().remove(org.as_str());
        crate::orgs::purge(&self.conn, org)
    }

    fn org_domain(&mut self, org: &OrgId, domain: &str) -> StoreResult<Option<StoredDomain>> {
        self.one(
            "SELECT body FROM org_domains WHERE org_id = ?1 AND domain = ?2",
            [org.as_str(), domain],
            "domain",
        )
    }

    fn org_domains(&mut self, org: &OrgId) -> StoreResult<Vec<StoredDomain>> {
        self.many(
            "SELECT body FROM org_domains WHERE org_id = ?1 ORDER BY domain",
            [org.as_str()],
            "domain",
        )
    }

    fn put_org_domain(&mut self, d: &StoredDomain) -> StoreResult<()> {
        let verified = d.status == enlist::DomainStatus::Verified;
        self.exec(
            "INSERT INTO org_domains (org_id, domain, verified, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (org_id, domain) DO UPDATE SET
                verified = excluded.verified, body = excluded.body",
            params![
                d.org_id.as_str(),
                d.domain.domain.as_str(),
                verified,
                to_json(d)?
            ],
        )?;
        Ok(())
    }

    fn delete_org_domain(&mut self, org: &OrgId, domain: &str) -> StoreResult<bool> {
        let n = self.exec(
            "DELETE FROM org_domains WHERE org_id = ?1 AND domain = ?2",
            [org.as_str(), domain],
        )?;
        Ok(n > 0)
    }

    fn verified_domain(&mut self, domain: &str) -> StoreResult<Option<StoredDomain>> {
        self.one(
            "SELECT body FROM org_domains WHERE domain = ?1 AND verified = 1",
            [domain],
            "domain",
        )
    }

    fn membership_request(
        &mut self,
        org: &OrgId,
        id: &enlist::MembershipRequestId,
    ) -> StoreResult<Option<MembershipRequest>> {
        self.one(
            "SELECT body FROM membership_requests WHERE org_id = ?1 AND request_id = ?2",
            [org.as_str(), id.as_str()],
            "membership request",
        )
    }

    fn membership_request_of(
        &mut self,
        org: &OrgId,
        user_ref: &str,
    ) -> StoreResult<Option<MembershipRequest>> {
        self.one(
            "SELECT body FROM membership_requests WHERE org_id = ?1 AND user_ref = ?2",
            [org.as_str(), user_ref],
            "membership request",
        )
    }

    fn put_membership_request(&mut self, r: &MembershipRequest) -> StoreResult<()> {
        let (secs, nanos) = split(r.created_at);
        self.exec(
            "INSERT INTO membership_requests
                (org_id, request_id, user_ref, status, created_s, created_ns, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (org_id, request_id) DO UPDATE SET
                user_ref = excluded.user_ref, status = excluded.status,
                created_s = excluded.created_s, created_ns = excluded.created_ns,
                body = excluded.body",
            params![
                r.org_id.as_str(),
                r.id.as_str(),
                r.user_ref.as_str(),
                r.status.as_str(),
                secs,
                nanos,
                to_json(r)?
            ],
        )?;
        Ok(())
    }

    fn membership_requests(
        &mut self,
        org: &OrgId,
        query: &MembershipRequestQuery,
    ) -> StoreResult<Page<MembershipRequest>> {
        let after = query
            .after
            .as_deref()
            .map(enlist::store::cursor::parse_request)
            .transpose()?;
        let (secs, nanos, id) = match &after {
            Some((t, id)) => {
                let (s, n) = split(*t);
                (s, n, id.as_str().to_owned())
            }
            None => (i64::MIN, 0, String::new()),
        };
        let limit = page_limit(query.limit);
        let rows: Vec<MembershipRequest> = self.many(
            "SELECT body FROM membership_requests
             WHERE org_id = ?1 AND (?2 IS NULL OR status = ?2)
               AND (created_s, created_ns, request_id) > (?3, ?4, ?5)
             ORDER BY created_s, created_ns, request_id LIMIT ?6",
            params![
                org.as_str(),
                query.status.map(|s| s.as_str()),
                secs,
                nanos,
                id,
                sql_int(limit as u64 + 1)
            ],
            "membership request",
        )?;
        Ok(request_page(rows, limit))
    }

    fn link(&mut self, org: &OrgId, id: &LinkId) -> StoreResult<Option<StoredInviteLink>> {
        self.one(sql::LINK, params![org.as_str(), id.as_str()], "invite link")
    }

    fn link_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<StoredInviteLink>> {
        self.one(
            sql::LINK_BY_SECRET,
            params![org.as_str(), hash.to_hex()],
            "invite link",
        )
    }

    fn links(&mut self, org: &OrgId, limit: usize) -> StoreResult<Vec<StoredInviteLink>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.many(sql::LINKS, params![org.as_str(), limit], "invite link")
    }

    fn put_link(&mut self, link: &StoredInviteLink) -> StoreResult<()> {
        let (secs, nanos) = split(link.created_at);
        self.exec(
            "INSERT INTO links (org_id, link_id, secret_hash, created_s, created_ns, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (org_id, link_id) DO UPDATE SET
                secret_hash = excluded.secret_hash, created_s = excluded.created_s,
                created_ns = excluded.created_ns, body = excluded.body",
            params![
                link.org_id.as_str(),
                link.id.as_str(),
                link.secret_hash.map(|h| h.to_hex()),
                secs,
                nanos,
                to_json(link)?
            ],
        )?;
        Ok(())
    }
}

/// Keys per statement of `Transaction::standing`.
const STANDING_CHUNK: usize = 500;

/// A page of at most `limit` requests from `rows` (which may hold one
/// more: the look-ahead that says a next page exists).
fn request_page(mut rows: Vec<MembershipRequest>, limit: usize) -> Page<MembershipRequest> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = match rows.last() {
        Some(r) if more => {
            let (s, n) = split(r.created_at);
            Some(enlist::store::cursor::request(s, n, r.id.as_str()))
        }
        _ => None,
    };
    Page {
        items: rows,
        next_cursor,
    }
}

//! The transaction: reads and writes of one engine command on one pooled
//! connection, under the concurrency protocol of ADR 0007.
//!
//! # The protocol, per organization
//!
//! Every table row belongs to one organization, and every transaction that
//! writes an organization first takes the row lock of its `org_heads` row
//! and raises its `version`, holding the lock until commit. So writers of
//! one organization run one after another, whichever server they run on.
//!
//! Reads take no lock. The first time a transaction touches an
//! organization it notes the organization's `version` (in the same
//! statement as the data, or just before it); at its first write it takes
//! the lock with `UPDATE org_heads ... WHERE version = <noted>`. If another
//! transaction wrote the organization in between, no row matches: the
//! transaction's reads may be stale, and it fails with
//! [`StoreError::Conflict`], which makes the engine run the whole command
//! again. Under READ COMMITTED every statement after the lock sees every
//! commit before it, and nothing else can commit in the organization.
//!
//! After a conflict the store remembers the organization as contended for
//! a few seconds and locks it at the first read instead (`SELECT ... FOR
//! NO KEY UPDATE`), so that retries queue instead of failing again.
//!
//! # Buffered writes
//!
//! Events and outbox messages are write-only for the command that makes
//! them (nothing the engine reads back in the same command depends on
//! them, except the outbox and event reads, which flush first), and so are
//! the changes of the open-invitation counters (the seat reads add the
//! unwritten changes to what the table says). They are kept here and
//! written at commit, one multi-row statement per organization, with the
//! organization's last event seq. Event seqs are assigned under the lock,
//! so they are final.
//!
//! # Round trips
//!
//! A batch costs a few statements, not a few per recipient:
//! `prefetch_recipients` reads every recipient's member and open
//! invitation in one statement (served to `member_by_contact` and
//! `open_invitation_for` until this transaction writes that key), and
//! `put_invitation` only buffers the row: the buffered invitations are
//! checked against the uniqueness rules and written in one statement,
//! before the transaction's next statement of any kind (so every read sees
//! them) or at commit. A refusal found then fails that call, and every
//! call after it (the trait allows this deferral; the engine abandons the
//! command at any store error).
//!
//! An accept reads its invitation by its token (by id, or by an older
//! token's secret) and then the recipient's member and the invitation's
//! queued messages: `invitation_by_token` and `invitation_by_secret` (in a
//! writing transaction) read the two along, served once and dropped by
//! this transaction's member and outbox writes.
//!
//! An accept then commits in one round trip ([`PgTx::commit_at_once`]):
//! the lock, the member, the invitation, the flush and `COMMIT` sent
//! together, what the flush needs from their answers known from the reads
//! (ADR 0007).

use crate::PostgresStore;
use crate::client::{Answer, Then};
use crate::codec::{
    Split, from_body, invitation_cursor, key_text, member_cursor, parse_invitation_cursor,
    parse_member_cursor, split, to_body,
};
use crate::error::db_err;
use crate::pool::Lease;
use chrono::{DateTime, Utc};
use enlist::{EmailSettings, EmailTemplate, LinkId};
use enlist::{
    Event, Group, GroupId, InvitationId, InvitationQuery, InvitationStatus, Member, MemberId,
    MemberQuery, MemberSort, MemberStatus, MessageId, OrgId, Organization, OutboxMessage, Page,
    SeatCount, SecretHash, StoreError, StoreResult, StoredInvitation, StoredInviteLink, TokenKey,
    Transaction, UniqueRule, store,
};
use enlist::{MembershipRequest, MembershipRequestQuery, StoredDomain};
use postgres::Row;
use postgres::error::SqlState;
use postgres::types::ToSql;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A bound parameter.
type Param = Box<dyn ToSql + Sync + Send>;

/// What a transaction knows of one organization's `org_heads` row.
#[derive(Clone, Copy, Debug)]
struct Head {
    /// The version seen at the first touch (`None`: no row then).
    version: Option<i64>,
    /// The row is locked by this transaction.
    locked: bool,
    /// The version was raised: this transaction writes the organization.
    writing: bool,
    /// The seq of the organization's last event, this transaction's
    /// included (valid once `writing`, or when read along with `version`).
    event_seq: i64,
    /// The organization's last event seq as read with `version` (its
    /// organization read, [`ORG_FIRST_SQL`]): events get their numbers
    /// from it before the lock's answer, which must then repeat it (the
    /// seq only moves under a raised version).
    read_seq: Option<i64>,
}

/// What a key of [`PgTx::free`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Free {
    Contact,
    Account,
}

/// An outbox message waiting for the flush.
struct OutboxRow {
    id: String,
    invitation_id: String,
    status: &'static str,
    next: Split,
    created: Split,
    body: String,
}

/// An invitation waiting for its statement (see [`PgTx::flush_invitations`]).
struct InvitationRow {
    id: String,
    batch: String,
    key: String,
    status: &'static str,
    role: String,
    kind: &'static str,
    license: String,
    hash: Option<Vec<u8>>,
    created: Split,
    expires: Option<Split>,
    body: String,
    open: bool,
    inviter: Option<String>,
    user_ref: Option<String>,
    /// Its row of the people view, and what that row must hold.
    pid: String,
    person: Option<enlist::Person>,
}

/// The invitations of one organization that `put_invitation` buffered.
/// Their ids, recipient keys and secrets are distinct (a put that repeats
/// one writes the buffer first), so one statement can check each against
/// the table as if they were written one after the other.
struct InvitationBuffer {
    org: OrgId,
    rows: Vec<InvitationRow>,
    ids: HashSet<String>,
    keys: HashSet<String>,
    secrets: HashSet<Vec<u8>>,
}

/// What an invitation read by its secret held (see [`PgTx::priors`]).
struct Prior {
    org: OrgId,
    status: &'static str,
    license: String,
    /// Its people row's body, unparsed (parsed only if used).
    person: Option<String>,
}

/// Invitations written in one statement at most: bounds the statement's
/// parameters (the engine's batches are smaller).
const MAX_BUFFERED_INVITATIONS: usize = 1000;

/// What `prefetch_recipients` read for one key, until it is served or
/// this transaction writes something that may change it.
#[derive(Default)]
struct Prefetched {
    /// The live member holding the key, `(id, body)` (inner `None`:
    /// nobody); outer `None`: not known.
    member: Option<Option<IdBody>>,
    /// The open invitation for the key, likewise.
    open: Option<Option<IdBody>>,
}

/// One part of a cached entry: its member or its open invitation.
type Part = fn(&mut Prefetched) -> &mut Option<Option<IdBody>>;

/// The recipients' members and open invitations read ahead, by
/// `(organization, key)`, with the keys each cached member id and
/// invitation id was read under: a write drops the entries it may change
/// by key and by id, without walking the cache (a batch of 1,000
/// invitations would otherwise compare 10^6 entries).
#[derive(Default)]
struct RecipientCache {
    entries: HashMap<(OrgId, String), Prefetched>,
    /// `(organization, member id)` to the keys it is cached under (one,
    /// unless reads before the lock saw it move).
    members: HashMap<(OrgId, String), Vec<String>>,
    /// `(organization, invitation id)` to the keys it is cached under.
    invitations: HashMap<(OrgId, String), Vec<String>>,
}

impl RecipientCache {
    /// Notes that `held` (an id, if any) is cached under `key`.
    fn note(
        by_id: &mut HashMap<(OrgId, String), Vec<String>>,
        org: &OrgId,
        key: &str,
        held: Option<&Option<IdBody>>,
    ) {
        if let Some(Some((id, _))) = held {
            let keys = by_id.entry((org.clone(), id.clone())).or_default();
            if !keys.iter().any(|k| k == key) {
                keys.push(key.to_owned());
            }
        }
    }

    /// Caches what was read for `key` (both parts), replacing what was.
    fn insert(&mut self, org: &OrgId, key: String, entry: Prefetched) {
        Self::note(&mut self.members, org, &key, entry.member.as_ref());
        Self::note(&mut self.invitations, org, &key, entry.open.as_ref());
        self.entries.insert((org.clone(), key), entry);
    }

    /// Caches the live member of `key`.
    fn set_member(&mut self, org: &OrgId, key: &str, member: Option<IdBody>) {
        Self::set(
            &mut self.entries,
            &mut self.members,
            |p| &mut p.member,
            (org, key),
            member,
        );
    }

    /// Caches the open invitation of `key`.
    fn set_open(&mut self, org: &OrgId, key: &str, open: Option<IdBody>) {
        Self::set(
            &mut self.entries,
            &mut self.invitations,
            |p| &mut p.open,
            (org, key),
            open,
        );
    }

    /// Caches one part of the entry of `key` (`part`: the member or the
    /// open invitation), noting its id in `by_id`.
    fn set(
        entries: &mut HashMap<(OrgId, String), Prefetched>,
        by_id: &mut HashMap<(OrgId, String), Vec<String>>,
        part: Part,
        (org, key): (&OrgId, &str),
        held: Option<IdBody>,
    ) {
        Self::note(by_id, org, key, Some(&held));
        *part(entries.entry((org.clone(), key.to_owned())).or_default()) = Some(held);
    }

    /// Serves the cached member of `key` (once).
    fn take_member(&mut self, org: &OrgId, key: &str) -> Option<Option<IdBody>> {
        self.take(org, key, |p| &mut p.member)
    }

    /// Serves the cached open invitation of `key` (once).
    fn take_open(&mut self, org: &OrgId, key: &str) -> Option<Option<IdBody>> {
        self.take(org, key, |p| &mut p.open)
    }

    /// Serves one part of the entry of `key` (once).
    fn take(&mut self, org: &OrgId, key: &str, part: Part) -> Option<Option<IdBody>> {
        self.entries
            .get_mut(&(org.clone(), key.to_owned()))
            .and_then(|p| part(p).take())
    }

    /// Drops the cached member of `key` and wherever member `id` is cached.
    fn forget_member(&mut self, org: &OrgId, key: &str, id: &str) {
        Self::forget(
            &mut self.entries,
            &mut self.members,
            |p| &mut p.member,
            (org, key, id),
        );
    }

    /// Drops the cached open invitation of `key` and wherever invitation
    /// `id` is cached.
    fn forget_open(&mut self, org: &OrgId, key: &str, id: &str) {
        Self::forget(
            &mut self.entries,
            &mut self.invitations,
            |p| &mut p.open,
            (org, key, id),
        );
    }

    /// Drops one part of the entries (`part`: the member or the open
    /// invitation) of `key`, and of every key `id` (of `by_id`) is cached
    /// under while it still holds `id`.
    fn forget(
        entries: &mut HashMap<(OrgId, String), Prefetched>,
        by_id: &mut HashMap<(OrgId, String), Vec<String>>,
        part: Part,
        (org, key, id): (&OrgId, &str, &str),
    ) {
        if let Some(p) = entries.get_mut(&(org.clone(), key.to_owned())) {
            *part(p) = None;
        }
        for k in by_id
            .remove(&(org.clone(), id.to_owned()))
            .unwrap_or_default()
        {
            if let Some(p) = entries.get_mut(&(org.clone(), k)) {
                let held = part(p);
                if matches!(held, Some(Some((h, _))) if h == id) {
                    *held = None;
                }
            }
        }
    }

    /// Drops everything cached of `org`.
    fn purge(&mut self, org: &OrgId) {
        self.entries.retain(|(o, _), _| o != org);
        self.members.retain(|(o, _), _| o != org);
        self.invitations.retain(|(o, _), _| o != org);
    }
}

/// What one organization's flush writes.
#[derive(Default)]
struct Pending {
    /// `(seq, body)`.
    events: Vec<(i64, String)>,
    /// By message id, so that a message written twice is written once.
    outbox: BTreeMap<String, OutboxRow>,
    /// Changes of the `invitation_license` counters: `(license, status)`
    /// to the change. Seat reads add them to what the table says.
    open_counts: BTreeMap<(String, &'static str), i64>,
    /// The people view's rows (migration 0004) by pid: what the table
    /// holds (read before the first change) and what it must hold. The
    /// people reads flush first.
    people: BTreeMap<String, (Option<enlist::Person>, Option<enlist::Person>)>,
}

impl Pending {
    /// The change of the open-invitation count of `license`.
    fn open_delta(&self, license: &str) -> i64 {
        ["staged", "pending"]
            .iter()
            .map(|s| {
                self.open_counts
                    .get(&(license.to_owned(), *s))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    }
}

pub(crate) struct PgTx<'a> {
    store: &'a PostgresStore,
    lease: Lease<'a>,
    heads: HashMap<OrgId, Head>,
    pending: BTreeMap<OrgId, Pending>,
    /// The member and open invitation of recipient keys, read ahead (by
    /// `prefetch_recipients`, or the open invitation together with
    /// `member_by_contact`): the engine asks for both, one after the
    /// other, for every recipient of a batch. An entry goes when it is
    /// served or when this transaction writes a member or an invitation
    /// that may change it.
    recipients: RecipientCache,
    /// The queued outbox messages (bodies, in `queued_messages_for`'s
    /// order) of an invitation found by its secret, by `(organization,
    /// invitation id)`: an accept supersedes them next. Read only when no
    /// message of this transaction waits for the flush; served once;
    /// dropped at every outbox write of this transaction.
    queued: HashMap<(OrgId, String), Vec<String>>,
    /// Contact keys (`Free::Contact`) and accounts (`Free::Account`) this
    /// transaction read no live member of (`member_by_contact`,
    /// `member_by_user_ref`), and has written no member of since: a new
    /// member that holds only such keys is written without looking them
    /// up again (see `put_member`). Sound as the recipients' cache is:
    /// another commit in the organization between the read and this
    /// transaction's lock fails the lock's version check.
    free: HashSet<(OrgId, Free, String)>,
    /// Invitations written at the next statement (or commit).
    invitations: Option<InvitationBuffer>,
    /// Why writing the buffered invitations failed: every later call fails
    /// with it, so that nothing of this transaction is committed without
    /// them.
    failed: Option<StoreError>,
    /// The `BEGIN` not sent yet: it goes with the first statement.
    begin: Option<&'static str>,
    /// `BEGIN` was sent: dropping the transaction rolls it back.
    on_server: bool,
    /// A new member whose write waits for the next statement
    /// ([`Self::run_all`]).
    new_member: Option<NewMemberWrite>,
    /// The organization, invitation id or secret and account of an
    /// accept about to be read (`prefetch_acceptance`): read together with
    /// the organization's first read, or else with the invitation.
    acceptance: Option<(OrgId, Named, String)>,
    /// Read ahead for an accept: the invitation by its token (its
    /// statement's rows, and whether they hold its queued messages), the
    /// live member of the account, the organization's groups. Each is
    /// served once, and dropped at this transaction's first write
    /// ([`Self::write_lock`]); another commit in between is caught by the
    /// lock's version check, as for the recipients' cache.
    by_secret: Option<(OrgId, Named, bool, Vec<Row>)>,
    by_account: Option<(OrgId, String, Option<Member>)>,
    org_groups: Option<(OrgId, Vec<Group>)>,
    /// The organization lock (its id and the version this transaction
    /// read) that [`Self::write_lock`] left to go with the next statement.
    lock: Option<(OrgId, i64)>,
    /// Invitations read by their secret, by id: what their row and people
    /// row held, for [`Self::commit_at_once`] (valid while this
    /// transaction has written nothing, which it checks).
    priors: HashMap<String, Prior>,
    /// `COMMIT` or `ROLLBACK` was sent.
    closed: bool,
    /// A read-only snapshot (a dry run): it never locks an organization,
    /// contended or not.
    read_only: bool,
}

impl<'a> PgTx<'a> {
    pub(crate) fn begin(store: &'a PostgresStore) -> StoreResult<Self> {
        Self::begin_with(store, "BEGIN ISOLATION LEVEL READ COMMITTED", false)
    }

    /// A read-only transaction on one snapshot (`REPEATABLE READ, READ
    /// ONLY`): every read of a dry run sees the same state, and it takes no
    /// row lock (not even on a contended organization).
    pub(crate) fn begin_read(store: &'a PostgresStore) -> StoreResult<Self> {
        Self::begin_with(
            store,
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
            true,
        )
    }

    /// The transaction's `BEGIN` is sent with its first statement, in the
    /// same round trip (see [`Self::run_all`]); a transaction that
    /// runs no statement sends nothing.
    fn begin_with(
        store: &'a PostgresStore,
        sql: &'static str,
        read_only: bool,
    ) -> StoreResult<Self> {
        let lease = store.pool.get()?;
        Ok(PgTx {
            store,
            lease,
            begin: Some(sql),
            on_server: false,
            new_member: None,
            acceptance: None,
            by_secret: None,
            by_account: None,
            org_groups: None,
            lock: None,
            priors: HashMap::new(),
            heads: HashMap::new(),
            pending: BTreeMap::new(),
            recipients: RecipientCache::default(),
            queued: HashMap::new(),
            free: HashSet::new(),
            invitations: None,
            failed: None,
            closed: false,
            read_only,
        })
    }

    // ----- statements -------------------------------------------------------

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
        self.run(sql, params, true).map(Answer::rows)
    }

    fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
        self.run(sql, params, false).map(Answer::changed)
    }

    /// Runs `sql`, answering its rows (`rows`) or the number of rows it
    /// changed (see [`Self::run_all`]).
    fn run(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        rows: bool,
    ) -> StoreResult<Answer> {
        let mut answers = self.run_all(&[(sql, params, rows)], false)?;
        answers
            .pop()
            .ok_or_else(|| StoreError::Corrupt("a statement without an answer".into()))
    }

    /// Runs every statement of `all` (each read for its rows or not), in
    /// one round trip: each one's rows. Any failure fails the whole (the
    /// transaction is aborted by it anyway).
    fn query_all(&mut self, all: &[(&str, &[&(dyn ToSql + Sync)])]) -> StoreResult<Vec<Vec<Row>>> {
        let all: Vec<Stmt<'_>> = all.iter().map(|(sql, p)| (*sql, *p, true)).collect();
        Ok(self
            .run_all(&all, false)?
            .into_iter()
            .map(Answer::rows)
            .collect())
    }

    /// Runs the statements of `all` (SQL, parameters, whether its rows are
    /// wanted) in one round trip, each sent without waiting for the
    /// answer to the one before (each wait wakes both ends, which on an
    /// idle virtual machine is most of a short statement's time; see
    /// `client.rs`). What must run before them goes first in the same
    /// round trip: the transaction's `BEGIN` if no statement was sent yet,
    /// and the organization lock [`Self::write_lock`] left waiting, whose
    /// answer is checked before theirs (a stale read fails as a `Conflict`
    /// whatever they did; their work is rolled back with the transaction).
    /// The buffered invitations are written before (`before_statement`).
    ///
    /// `BEGIN` on an idle connection of the pool (never in a transaction:
    /// one whose transaction could not be closed is not returned) is not
    /// refused; if it is all the same, the connection is not reused and
    /// the transaction fails. A connection the server closed while it was
    /// idle (a restart, an idle timeout, an administrator) is replaced
    /// once, at the transaction's first statement: whatever reached it was
    /// rolled back with it.
    ///
    /// A new member waiting to be written ([`Transaction::put_member`])
    /// goes first too, after the lock, when `carry` says `all` may go with
    /// it (the buffered invitations' write, which neither reads nor writes
    /// members); before anything else it is sent on its own.
    fn run_all(&mut self, all: &[Stmt<'_>], carry: bool) -> StoreResult<Vec<Answer>> {
        self.before_statement()?;
        if !carry {
            self.send_new_member()?;
        }
        let member = if carry { self.new_member.take() } else { None };
        let begin = self.begin.take();
        // (A lock waits only once a statement was sent.)
        let lock = if begin.is_none() {
            self.lock.take()
        } else {
            None
        };
        let out = match &member {
            None => self.send_all(begin, lock.as_ref(), all),
            Some(nm) => with_new_member(nm, NEW_MEMBER_SQL, |first| {
                let mut full = Vec::with_capacity(all.len() + 1);
                full.push(first);
                full.extend_from_slice(all);
                self.send_all(begin, lock.as_ref(), &full)
            })
            .and_then(|out| out),
        };
        if begin.is_some() {
            // Sent (whatever came back): from now on a drop rolls back.
            self.on_server = true;
        }
        let mut answers = self.counted(out)?;
        if let Some(nm) = member {
            if answers.is_empty() {
                return Err(StoreError::Corrupt(
                    "a member write without an answer".into(),
                ));
            }
            let written = answers.remove(0).rows();
            self.finish_new_member(nm, &written)?;
        }
        Ok(answers)
    }

    /// Writes the new member waiting for a statement, if any, now.
    fn send_new_member(&mut self) -> StoreResult<()> {
        if self.new_member.is_some() {
            self.run_all(&[], true)?;
        }
        Ok(())
    }

    /// The answer of a waiting new member's write: its people row goes to
    /// the flush; or, a member of its id being stored, the general write.
    fn finish_new_member(&mut self, nm: NewMemberWrite, rows: &[Row]) -> StoreResult<()> {
        let Some(row) = rows.first() else {
            return Err(StoreError::Corrupt("a member write returned no row".into()));
        };
        let written: bool = get(row, 0)?;
        if !written {
            return self.write_member_checked(&nm.member, nm.pid, nm.person);
        }
        let stored: Option<&str> = get(row, 1)?;
        let stored = stored.map(|t| from_body("person", t)).transpose()?;
        self.buffer_person(&nm.member.org_id, nm.pid, nm.person, Some(stored))
    }

    fn send_all(
        &mut self,
        begin: Option<&'static str>,
        lock: Option<&(OrgId, i64)>,
        all: &[Stmt<'_>],
    ) -> StoreResult<Vec<Answer>> {
        let mut retried = false;
        loop {
            let conn = self.lease.conn()?;
            let sent = send(conn, begin, lock, all, false);
            if begin.is_some() && !retried && conn.client.is_closed() {
                retried = true;
                self.lease.discard();
                self.lease = self.store.pool.get()?;
                continue;
            }
            let mut answers = match sent {
                Ok(answers) => answers.into_iter(),
                Err(e) => {
                    self.lease.mark_broken();
                    return Err(e);
                }
            };
            if begin.is_some() {
                if let Some(Err(e)) = answers.next() {
                    self.lease.mark_broken();
                    return Err(db_err(e));
                }
            }
            if let Some((org, version)) = lock {
                let row = match answers.next() {
                    Some(a) => a.map_err(db_err)?.rows().pop(),
                    None => None,
                };
                self.locked(org, Some(*version), row)?;
            }
            return answers.map(|a| a.map_err(db_err)).collect();
        }
    }

    /// The statements of an accept's reads ahead (`prefetch_acceptance`)
    /// after `first` (the organization's first read, or none): `first`'s
    /// rows; the invitation's, the account's member and the groups kept
    /// for their methods.
    fn read_acceptance(
        &mut self,
        first: Option<(&str, &[&(dyn ToSql + Sync)])>,
        (org, named, account): (OrgId, Named, String),
    ) -> StoreResult<Vec<Row>> {
        let o = org.as_str();
        let with_queued = !self.pending.values().any(|p| !p.outbox.is_empty());
        let (sql, key) = named.statement();
        let by_token: [&(dyn ToSql + Sync); 3] = [&o, key, &with_queued];
        let by_account: [&(dyn ToSql + Sync); 2] = [&o, &account];
        let by_org: [&(dyn ToSql + Sync); 1] = [&o];
        let mut all: Vec<(&str, &[&(dyn ToSql + Sync)])> = first.into_iter().collect();
        all.extend([
            (sql, &by_token[..]),
            (BY_ACCOUNT_SQL.as_str(), &by_account[..]),
            (GROUPS_SQL, &by_org[..]),
        ]);
        let mut answers = self.query_all(&all)?;
        let mut next = || {
            answers
                .pop()
                .ok_or_else(|| StoreError::Corrupt("a statement without an answer".into()))
        };
        let (groups, members, invitation) = (next()?, next()?, next()?);
        let first_rows = if first.is_some() { next()? } else { Vec::new() };
        self.by_secret = Some((org.clone(), named, with_queued, invitation));
        // (Two live members of one account, which the unique index forbids:
        // left for `member_by_user_ref` to read and report.)
        if members.len() <= 1 {
            let member = members.first().map(|r| body(r, 0, "member")).transpose()?;
            self.by_account = Some((org.clone(), account, member));
        }
        let groups = groups.iter().map(group_row).collect::<StoreResult<_>>()?;
        self.org_groups = Some((org, groups));
        Ok(first_rows)
    }

    /// Sends the transaction's `BEGIN` now if no statement did yet (for
    /// what runs outside [`Self::run`]).
    fn send_begin(&mut self) -> StoreResult<()> {
        if let Some(begin) = self.begin.take() {
            let conn = self.lease.conn()?;
            let begun = conn.client.batch_execute(begin);
            self.on_server = true;
            if let Err(e) = begun {
                self.lease.mark_broken();
                return Err(db_err(e));
            }
        }
        Ok(())
    }

    /// Before any statement: the buffered invitations are written first
    /// (every statement sees them), and a transaction whose buffered
    /// writes failed runs nothing more.
    fn before_statement(&mut self) -> StoreResult<()> {
        self.alive()?;
        if self.invitations.is_some() {
            self.flush_invitations()?;
        }
        Ok(())
    }

    /// Fails if writing the buffered invitations failed: every call after
    /// that fails, those that run no statement too.
    fn alive(&self) -> StoreResult<()> {
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Counts a conflict (deadlock, serialization failure) on its way out.
    fn counted<T>(&self, out: StoreResult<T>) -> StoreResult<T> {
        if matches!(out, Err(StoreError::Conflict)) {
            self.store.count_conflict();
        }
        out
    }

    fn query_opt(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Option<Row>> {
        let mut rows = self.query(sql, params)?;
        if rows.len() > 1 {
            return Err(StoreError::Corrupt(format!(
                "{} rows where at most one was expected",
                rows.len()
            )));
        }
        Ok(rows.pop())
    }

    fn query_boxed(&mut self, sql: &str, params: &[Param]) -> StoreResult<Vec<Row>> {
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        self.query(sql, &refs)
    }

    // ----- the organization protocol ------------------------------------------

    /// Refuses a write with `rule` when `sql` finds a row: a uniqueness
    /// rule checked before the write, so that a refusal leaves the
    /// transaction usable (as the Store contract wants: a failed
    /// statement aborts a PostgreSQL transaction). A row written by a
    /// transaction that commits meanwhile still breaks the unique index,
    /// which reports the same rule.
    fn refuse_if_found(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        rule: UniqueRule,
    ) -> StoreResult<()> {
        match self.query_opt(sql, params)? {
            Some(_) => Err(StoreError::Unique(rule)),
            None => Ok(()),
        }
    }

    /// Notes the organization's version before this transaction first reads
    /// it (or locks it, if it is contended).
    fn touch(&mut self, org: &OrgId) -> StoreResult<()> {
        if self.heads.contains_key(org) {
            return Ok(());
        }
        let head = if self.store.is_contended(org) && !self.read_only {
            let row = self.query_opt(
                "SELECT version, event_seq FROM org_heads WHERE org_id = $1 FOR NO KEY UPDATE",
                &[&org.as_str()],
            )?;
            match row {
                Some(r) => Head {
                    version: Some(get(&r, 0)?),
                    locked: true,
                    writing: false,
                    event_seq: get(&r, 1)?,
                    read_seq: None,
                },
                None => Head::absent(),
            }
        } else {
            let row = self.query_opt(
                "SELECT version, event_seq FROM org_heads WHERE org_id = $1",
                &[&org.as_str()],
            )?;
            match row {
                Some(r) => Head::seen(get(&r, 0)?, Some(get(&r, 1)?)),
                None => Head::absent(),
            }
        };
        self.heads.insert(org.clone(), head);
        Ok(())
    }

    /// Notes a version read in the same statement as the data (global
    /// scans), unless the organization was touched before.
    fn note_version(&mut self, org: &OrgId, version: Option<i64>, read_seq: Option<i64>) {
        self.heads.entry(org.clone()).or_insert(match version {
            Some(v) => Head::seen(v, read_seq),
            None => Head::absent(),
        });
    }

    /// Takes the organization's lock for writing and raises its version;
    /// fails with [`StoreError::Conflict`] if the organization changed
    /// since this transaction first read it. In the common case (a version
    /// read, no lock held yet) the `UPDATE` waits to go to the server with
    /// the next statement, in the same round trip ([`Self::run_all`]):
    /// the server runs it first, and its answer is checked before that
    /// statement's, so a stale read is still a `Conflict` before anything
    /// of the transaction is committed.
    fn write_lock(&mut self, org: &OrgId) -> StoreResult<()> {
        // Reads served from what an accept read ahead are before any write.
        self.by_secret = None;
        self.by_account = None;
        self.org_groups = None;
        if self.lock.as_ref().is_some_and(|(o, _)| o == org) {
            return Ok(());
        }
        self.resolve_lock()?;
        let head = self.heads.get(org).copied();
        if head.is_some_and(|h| h.writing) {
            return Ok(());
        }
        let o = org.as_str();
        let row = match head {
            Some(h) if h.locked => self.query_opt(
                "UPDATE org_heads SET version = version + 1 WHERE org_id = $1 RETURNING event_seq",
                &[&o],
            )?,
            Some(Head {
                version: Some(v), ..
            }) => {
                if self.begin.is_none() {
                    self.lock = Some((org.clone(), v));
                    return Ok(());
                }
                self.query_opt(VERSION_LOCK_SQL, &[&o, &v])?
            }
            Some(_) => self.query_opt(
                "INSERT INTO org_heads (org_id, version, event_seq) VALUES ($1, 1, 0) \
                 ON CONFLICT (org_id) DO NOTHING RETURNING event_seq",
                &[&o],
            )?,
            None => self.query_opt(
                "INSERT INTO org_heads (org_id, version, event_seq) VALUES ($1, 1, 0) \
                 ON CONFLICT (org_id) DO UPDATE SET version = org_heads.version + 1 \
                 RETURNING event_seq",
                &[&o],
            )?,
        };
        let out = self.locked(org, head.and_then(|h| h.version), row);
        self.counted(out)
    }

    /// Notes the lock's answer: the organization's event counter (`row`),
    /// or no row, a [`StoreError::Conflict`] (not counted here).
    fn locked(&mut self, org: &OrgId, version: Option<i64>, row: Option<Row>) -> StoreResult<()> {
        let Some(row) = row else {
            // Another transaction wrote the organization after this one
            // read it: the reads may be stale.
            self.store.mark_contended(org);
            return Err(StoreError::Conflict);
        };
        let answer: i64 = get(&row, 0)?;
        let before = self.heads.get(org).copied();
        // Events numbered from the seq read with the version keep their
        // numbers: the lock found the version unchanged, so the seq is too.
        let event_seq = match before {
            Some(h) if !h.writing && h.read_seq.is_some() => {
                if h.read_seq != Some(answer) {
                    self.store.mark_contended(org);
                    return Err(StoreError::Conflict);
                }
                h.event_seq
            }
            _ => answer,
        };
        self.heads.insert(
            org.clone(),
            Head {
                version,
                locked: true,
                writing: true,
                event_seq,
                read_seq: before.and_then(|h| h.read_seq),
            },
        );
        Ok(())
    }

    /// Sends the lock waiting for a statement now, alone (before what
    /// needs its answer: an event's number when the organization's seq
    /// was not read with its version, a commit that cannot go at once).
    fn resolve_lock(&mut self) -> StoreResult<()> {
        if self.lock.is_some() && self.invitations.is_some() {
            // The buffered invitations' statement takes the lock with it,
            // before them (taken here, the lock would go after them: a
            // refusal from a stale read instead of the `Conflict`).
            self.flush_invitations()?;
        }
        if self.lock.is_some() && self.new_member.is_some() {
            // So does a waiting new member's.
            self.send_new_member()?;
        }
        let Some((org, v)) = self.lock.take() else {
            return Ok(());
        };
        let o = org.as_str();
        let row = self.query_opt(VERSION_LOCK_SQL, &[&o, &v])?;
        let out = self.locked(&org, Some(v), row);
        self.counted(out)
    }

    /// Writes the buffered events and messages of every organization.
    fn flush(&mut self) -> StoreResult<()> {
        // The invitations' statement adds to `pending` (counters, people
        // rows): it runs before `pending` is taken.
        self.before_statement()?;
        // (Its people row goes to `pending`.)
        self.send_new_member()?;
        let pending = std::mem::take(&mut self.pending);
        for (org, p) in pending {
            self.flush_org(&org, p, false)?;
        }
        Ok(())
    }

    /// Writes what is buffered and commits, the last write and `COMMIT` in
    /// one round trip: true if it committed so, false if no write was left
    /// to send `COMMIT` with (the caller commits).
    fn flush_and_commit(&mut self) -> StoreResult<bool> {
        self.before_statement()?;
        // (Its people row goes to `pending`.)
        self.send_new_member()?;
        let pending = std::mem::take(&mut self.pending);
        let last = pending.len();
        let mut committed = false;
        for (i, (org, p)) in pending.into_iter().enumerate() {
            committed = self.flush_org(&org, p, i + 1 == last)?;
        }
        Ok(committed)
    }

    /// Writes one organization's buffered people rows, events, messages
    /// and counters in one statement (see [`flush_sql`]), and with `commit`
    /// sends `COMMIT` right after it: true if it did.
    fn flush_org(&mut self, org: &OrgId, p: Pending, commit: bool) -> StoreResult<bool> {
        with_flush(org, p, |st| match st {
            None => Ok(false),
            Some((sql, params, _)) if commit => self.execute_and_commit(sql, params).map(|()| true),
            Some((sql, params, _)) => self.execute(sql, params).map(|_| false),
        })?
    }

    /// Runs `sql` and sends `COMMIT` right after it, without waiting for
    /// its answer: one round trip. If `sql` fails, its transaction is
    /// aborted and the server answers the `COMMIT` by rolling back, so
    /// nothing is committed and the connection is left clean; `sql`'s
    /// error is returned. Only for a statement whose success is all its
    /// caller checks (no rows that could refuse the commit).
    fn execute_and_commit(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<()> {
        self.alive()?;
        self.send_begin()?;
        // Checked before anything is committed.
        self.resolve_lock()?;
        self.send_new_member()?;
        let sent = send(
            self.lease.conn()?,
            None,
            None,
            &[(sql, params, false)],
            true,
        );
        self.read_committed(sent, None)
    }

    /// Reads the answers of statements sent with `COMMIT` after them
    /// ([`send`] with `commit`): `Ok` if it committed. If a statement
    /// failed, its transaction was aborted and the `COMMIT` rolled it
    /// back: the first failure is returned, as a [`StoreError::Conflict`]
    /// with `contended` marked if it is a division by zero (the
    /// `_OR_FAIL` forms' refusal) and `contended` is given. A `COMMIT`
    /// without an answer, or a failed one, leaves the outcome unknown:
    /// the connection is never reused.
    fn read_committed(
        &mut self,
        sent: StoreResult<Vec<Result<Answer, postgres::Error>>>,
        contended: Option<&OrgId>,
    ) -> StoreResult<()> {
        self.closed = true;
        let mut answers = match sent {
            Ok(answers) => answers,
            Err(e) => {
                self.lease.mark_broken();
                return Err(e);
            }
        };
        let out = match answers.pop() {
            Some(Ok(_)) => match (answers.into_iter().find_map(Result::err), contended) {
                (None, _) => Ok(()),
                // Rolled back by the `COMMIT` (an aborted transaction's).
                (Some(e), Some(org)) if e.code() == Some(&SqlState::DIVISION_BY_ZERO) => {
                    self.store.mark_contended(org);
                    Err(StoreError::Conflict)
                }
                (Some(e), _) => Err(db_err(e)),
            },
            None => {
                self.lease.mark_broken();
                Err(StoreError::Corrupt("a statement without an answer".into()))
            }
            Some(Err(e)) => {
                // The outcome is unknown if the connection dropped: never
                // reuse it.
                self.lease.mark_broken();
                Err(db_err(e))
            }
        };
        self.counted(out)
    }

    /// Writes the buffered invitations in one statement: for each, the
    /// uniqueness checks of `put_invitation` against the table (rows of
    /// the buffer excepted: their ids, keys and secrets are distinct), and
    /// the write, skipped for all if any check fails. It returns what
    /// failed, or each row's previous status and license (for the
    /// counters, written at commit) and its stored people row. A refusal
    /// (the first row's, the secret before the recipient, as MemoryStore
    /// reports them) fails this transaction for good.
    fn flush_invitations(&mut self) -> StoreResult<()> {
        let Some(buffer) = self.invitations.take() else {
            return Ok(());
        };
        let out = self.write_invitations(buffer);
        if let Err(e) = &out {
            self.failed = Some(e.clone());
        }
        out
    }

    /// The statement of [`Self::write_invitations`]: its rows say what
    /// was refused, or what each invitation replaced.
    fn check_and_write_invitations(&mut self, buffer: &InvitationBuffer) -> StoreResult<Vec<Row>> {
        // The new member waiting for a statement goes with it (an
        // accept's member and invitation in one round trip).
        let mut answers = with_invitations(buffer, WRITE_INVITATIONS_SQL, |st| {
            self.run_all(&[st], true)
        })?;
        answers
            .pop()
            .map(Answer::rows)
            .ok_or_else(|| StoreError::Corrupt("a statement without an answer".into()))
    }

    /// Writes the buffered invitations (see [`Self::flush_invitations`]).
    fn write_invitations(&mut self, buffer: InvitationBuffer) -> StoreResult<()> {
        let found = self.check_and_write_invitations(&buffer)?;
        // Per row (by position): the first refusal, the previous status
        // and license, the stored people row.
        let mut refused: Option<(i64, UniqueRule)> = None;
        let mut old: HashMap<i64, String> = HashMap::new();
        let mut stored: HashMap<i64, enlist::Person> = HashMap::new();
        for r in &found {
            let n: i64 = get(r, 0)?;
            let what: &str = get(r, 1)?;
            let rule = match what {
                "secret" => UniqueRule::InvitationSecret,
                "recipient" => UniqueRule::InvitationOpenRecipient,
                "old" => {
                    old.insert(n, get(r, 2)?);
                    continue;
                }
                _ => {
                    let b: &str = get(r, 2)?;
                    stored.insert(n, from_body("person", b)?);
                    continue;
                }
            };
            let first = refused.is_none_or(|(m, held)| {
                n < m || (n == m && rule == UniqueRule::InvitationSecret && held != rule)
            });
            if first {
                refused = Some((n, rule));
            }
        }
        if let Some((_, rule)) = refused {
            return Err(StoreError::Unique(rule));
        }
        // The rows are consumed: their people rows move to the flush.
        let InvitationBuffer { org, rows, .. } = buffer;
        for (i, row) in rows.into_iter().enumerate() {
            let n = i64::try_from(i + 1).unwrap_or(i64::MAX);
            let replaced = match old.get(&n) {
                Some(old) => {
                    // `status license`: the status has no space.
                    let (status, license) = old.split_once(' ').unwrap_or((old.as_str(), ""));
                    let status = InvitationStatus::ALL
                        .iter()
                        .map(|s| s.as_str())
                        .find(|s| *s == status)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown status {status:?}")))?;
                    Some((status, license))
                }
                None => None,
            };
            // The people row: what the table held came with the statement.
            let new = (row.license, row.status);
            let person = (row.pid, row.person);
            self.invitation_written(&org, new, person, replaced, stored.remove(&n))?;
        }
        Ok(())
    }

    /// Buffers what writing an invitation of license and status `new`
    /// changes besides its row: the counters (`replaced`: the status and
    /// license of the row it replaced) and its people row (`pid`, what it
    /// must hold; `stored`: what the table held).
    fn invitation_written(
        &mut self,
        org: &OrgId,
        new: (String, &'static str),
        (pid, person): (String, Option<enlist::Person>),
        replaced: Option<(&'static str, &str)>,
        stored: Option<enlist::Person>,
    ) -> StoreResult<()> {
        let counts = &mut self.pending.entry(org.clone()).or_default().open_counts;
        if let Some((status, license)) = replaced {
            *counts.entry((license.to_owned(), status)).or_insert(0) -= 1;
        }
        *counts.entry(new).or_insert(0) += 1;
        self.buffer_person(org, pid, person, Some(stored))
    }

    /// Commits in one round trip what an accept (or any transaction that
    /// read before writing, and wrote only what it read) left waiting: the
    /// organization lock, a new member, invitations read by their secret,
    /// and the flush, each sent without waiting for the one before it, and
    /// `COMMIT`. What the flush needs from their answers is known without
    /// them: the invitations' rows and people rows as read
    /// ([`Self::priors`]), the new member's absence, the event numbers
    /// ([`Head::read_seq`]). Each is sure while nothing committed in the
    /// organization since the reads, which the lock checks; and the lock,
    /// the member's and the invitations' statements fail (their
    /// `_OR_FAIL` forms) where they would answer otherwise, so that the
    /// `COMMIT` rolls back. Such a failure is a [`StoreError::Conflict`]
    /// with the organization marked contended: the engine runs the command
    /// again, and the retry, locking at its first read, takes the ordinary
    /// path and gets the ordinary answer. False (nothing done) when the
    /// transaction is not of that shape.
    fn commit_at_once(&mut self) -> StoreResult<bool> {
        self.alive()?;
        let Some((org, version)) = self.lock.clone() else {
            return Ok(false);
        };
        let known = self.begin.is_none()
            && self.heads.values().all(|h| !h.writing)
            && self.pending.keys().all(|o| *o == org)
            && self.heads.get(&org).is_some_and(|h| h.read_seq.is_some())
            && self
                .new_member
                .as_ref()
                .is_none_or(|nm| nm.member.org_id == org)
            && self.invitations.as_ref().is_none_or(|b| {
                b.org == org
                    && b.rows
                        .iter()
                        .all(|r| self.priors.get(&r.id).is_some_and(|p| p.org == org))
            });
        if !known {
            return Ok(false);
        }
        self.lock = None;
        let mut member = self.new_member.take();
        let mut buffer = self.invitations.take();
        // What their answers would have said.
        if let Some(b) = &mut buffer {
            for row in &mut b.rows {
                let Some(prior) = self.priors.remove(&row.id) else {
                    return Err(StoreError::Corrupt("an invitation's read was lost".into()));
                };
                let stored = prior
                    .person
                    .map(|t| from_body::<enlist::Person>("person", &t))
                    .transpose()?;
                let replaced = Some((prior.status, prior.license.as_str()));
                // (The invitations' statement does not read the person.)
                let (pid, person) = (row.pid.clone(), row.person.take());
                let new = (row.license.clone(), row.status);
                self.invitation_written(&org, new, (pid, person), replaced, stored)?;
            }
        }
        if let Some(nm) = &mut member {
            // (Nor does the member's.)
            self.buffer_person(&org, nm.pid.clone(), nm.person.take(), Some(None))?;
        }
        let pending = self.pending.remove(&org).unwrap_or_default();
        let o = org.as_str();
        let lock_params: [&(dyn ToSql + Sync); 2] = [&o, &version];
        let lock: Stmt<'_> = (VERSION_LOCK_OR_FAIL_SQL, &lock_params, false);
        let lease = &mut self.lease;
        let sent = with_flush(&org, pending, |flush| {
            // In this order: the member, the invitations, the flush.
            let mut go = |mem: Option<Stmt<'_>>, inv: Option<Stmt<'_>>| {
                let all: Vec<Stmt<'_>> = [Some(lock), mem, inv, flush]
                    .into_iter()
                    .flatten()
                    .collect();
                send(lease.conn()?, None, None, &all, true)
            };
            const INV: &str = WRITE_INVITATIONS_OR_FAIL_SQL;
            const MEM: &str = NEW_MEMBER_OR_FAIL_SQL;
            match (&buffer, &member) {
                (Some(b), Some(nm)) => with_invitations(b, INV, |inv| {
                    with_new_member(nm, MEM, |m| go(Some(m), Some(inv)))
                })
                .and_then(|s| s),
                (Some(b), None) => with_invitations(b, INV, |inv| go(None, Some(inv))),
                (None, Some(nm)) => with_new_member(nm, MEM, |m| go(Some(m), None)).and_then(|s| s),
                (None, None) => go(None, None),
            }
        });
        self.read_committed(sent.and_then(|s| s), Some(&org))
            .map(|()| true)
    }

    /// Writes what is buffered if an outbox message is among it, so that
    /// the outbox reads see this transaction's messages; the rest (events,
    /// counters, people rows) waits for the commit or a read of its own.
    /// An accept's `queued_messages_for` so costs one statement, not three.
    fn flush_for_outbox(&mut self) -> StoreResult<()> {
        if self.pending.values().any(|p| !p.outbox.is_empty()) {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Buffers the people row of `pid` in `org` as `new` (none: no row),
    /// written at the flush. `stored` is the row the table holds, when the
    /// caller read it already; else it is read here, unless an earlier
    /// change of this transaction did.
    fn buffer_person(
        &mut self,
        org: &OrgId,
        pid: String,
        new: Option<enlist::Person>,
        stored: Option<Option<enlist::Person>>,
    ) -> StoreResult<()> {
        if let Some(entry) = self
            .pending
            .get_mut(org)
            .and_then(|p| p.people.get_mut(&pid))
        {
            entry.1 = new;
            return Ok(());
        }
        let old = match stored {
            Some(old) => old,
            None => {
                let mut run = |sql: &str, params: &[&(dyn ToSql + Sync)]| self.query(sql, params);
                crate::people::stored(&mut run, org.as_str(), &pid)?
            }
        };
        self.pending
            .entry(org.clone())
            .or_default()
            .people
            .insert(pid, (old, new));
        Ok(())
    }

    /// Writes `m` after reading what it replaces and whom it would clash
    /// with (`put_member`'s general write).
    fn write_member_checked(
        &mut self,
        m: &Member,
        pid: String,
        person: Option<enlist::Person>,
    ) -> StoreResult<()> {
        let o = m.org_id.as_str();
        let id = m.id.as_str();
        let contact_key = m.contact_key.as_str();
        let user_ref = m.user_ref.as_deref();
        let live = m.status != MemberStatus::Removed;
        // The previous version of this member, any other live member
        // holding the same contact key or user_ref, and the member's row of
        // the people view (the one with no member id).
        let rows = self.query(
            MEMBER_BEFORE_WRITE_SQL,
            &[&o, &id, &live, &contact_key, &user_ref, &pid],
        )?;
        let mut old: Option<Member> = None;
        let mut by_contact: Option<String> = None;
        let mut by_user_ref: Option<String> = None;
        let mut stored_person = None;
        for r in &rows {
            let Some(rid) = get::<Option<&str>>(r, 0)? else {
                let b: &str = get(r, 3)?;
                stored_person = Some(from_body("person", b)?);
                continue;
            };
            if rid == id {
                old = Some(body(r, 3, "member")?);
                continue;
            }
            let ck: &str = get(r, 1)?;
            let ur: Option<&str> = get(r, 2)?;
            if ck == contact_key {
                by_contact.get_or_insert_with(|| rid.to_owned());
            }
            if user_ref.is_some() && ur == user_ref {
                by_user_ref.get_or_insert_with(|| rid.to_owned());
            }
        }
        if by_contact.is_some() {
            return Err(StoreError::Unique(UniqueRule::MemberContactKey));
        }
        if by_user_ref.is_some() {
            return Err(StoreError::Unique(UniqueRule::MemberUserRef));
        }

        // Counters and group memberships: what changes between the old
        // version and the new one.
        let deltas = counter_deltas(old.as_ref(), m);
        let before = old.as_ref().map(memberships).unwrap_or_default();
        let after = memberships(m);
        let removed: Vec<_> = before.difference(&after).collect();
        let added: Vec<_> = after.difference(&before).collect();

        let b = to_body(m)?;
        let kind = m.kind.as_str();
        let (rg, rs, rk) = membership_columns(removed);
        let (ag, as_, ak) = membership_columns(added);
        let (cw, ck, cs, cd) = counter_columns(&deltas);
        self.execute(
            "WITH up AS (
                 INSERT INTO members (org_id, member_id, contact_key, user_ref, status, role,
                                      license_type, kind, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::json)
                 ON CONFLICT (org_id, member_id) DO UPDATE SET
                     contact_key = EXCLUDED.contact_key, user_ref = EXCLUDED.user_ref,
                     status = EXCLUDED.status, role = EXCLUDED.role,
                     license_type = EXCLUDED.license_type, kind = EXCLUDED.kind,
                     body = EXCLUDED.body
             ), del AS (
                 DELETE FROM member_groups mg
                 USING unnest($10::text[], $11::text[], $12::text[]) AS x (g, s, k)
                 WHERE mg.org_id = $1 AND mg.member_id = $2
                   AND mg.group_id = x.g AND mg.status = x.s AND mg.contact_key = x.k
             ), ins AS (
                 INSERT INTO member_groups (org_id, group_id, status, contact_key, member_id)
                 SELECT $1, g, s, k, $2
                 FROM unnest($13::text[], $14::text[], $15::text[]) AS x (g, s, k)
             )
             INSERT INTO counts (org_id, what, key, status, n)
             SELECT $1, w, k, s, d
             FROM unnest($16::text[], $17::text[], $18::text[], $19::bigint[]) AS x (w, k, s, d)
             ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = counts.n + EXCLUDED.n",
            &[
                &o,
                &id,
                &contact_key,
                &user_ref,
                &m.status.as_str(),
                &m.role.as_str(),
                &m.license_type.as_str(),
                &kind,
                &b,
                &rg,
                &rs,
                &rk,
                &ag,
                &as_,
                &ak,
                &cw,
                &ck,
                &cs,
                &cd,
            ],
        )?;
        self.buffer_person(&m.org_id, pid, person, Some(stored_person))
    }

    /// Rolls back and marks the connection broken if that fails.
    fn rollback(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        if !self.on_server {
            // `BEGIN` never reached the server: not sent yet, or the
            // client refused to block a runtime's thread (it panics there
            // before sending anything; a `ROLLBACK` would only panic
            // again, inside this drop). The connection is as it was lent.
            return;
        }
        let ok = self
            .lease
            .conn()
            .map(|c| c.client.batch_execute("ROLLBACK").is_ok())
            .unwrap_or(false);
        if !ok {
            self.lease.mark_broken();
        }
    }

    // ----- members --------------------------------------------------------

    fn member_where(&mut self, org: &OrgId, cond: &str, key: &str) -> StoreResult<Option<Member>> {
        if key.contains('\0') {
            // Nothing is stored under a key PostgreSQL cannot hold.
            return Ok(None);
        }
        self.touch(org)?;
        let sql = format!("SELECT body::text FROM members WHERE org_id = $1 AND {cond}");
        let row = self.query_opt(&sql, &[&org.as_str(), &key])?;
        row.map(|r| body(&r, 0, "member")).transpose()
    }

    /// The invitation a token names (by id, or by the hash of an older
    /// token's secret). In a writing transaction, what an accept reads next
    /// comes along (below); a read-only one (a preview) reads the
    /// invitation only.
    fn invitation_named(
        &mut self,
        org: &OrgId,
        named: Named,
    ) -> StoreResult<Option<StoredInvitation>> {
        if self.read_only {
            let cond = match &named {
                Named::Id(_) => "invitation_id = $2",
                Named::Hash(_) => "secret_hash = $2 AND secret_hash IS NOT NULL",
            };
            return self.invitation_where(org, cond, named.statement().1);
        }
        self.touch(org)?;
        // What an accept asks for next comes along (two round trips
        // fewer): the live member of the recipient's key and the
        // invitation's queued messages, the latter unless this transaction
        // has messages waiting for the flush (the outbox reads write those
        // first). Each is an index probe. Serving them later is sound as
        // for `prefetch_recipients`: another commit in between is caught
        // by the version check, and this transaction's own member and
        // outbox writes drop them.
        let outbox_waits = self.pending.values().any(|p| !p.outbox.is_empty());
        let read = self.by_secret.take_if(|(o, n, with_queued, _)| {
            o == org && *n == named && *with_queued != outbox_waits
        });
        let acceptance = self
            .acceptance
            .take()
            .filter(|(o, n, _)| o == org && *n == named);
        let rows = match (read, acceptance) {
            (Some((_, _, _, rows)), _) => rows,
            // An accept's account and the organization's groups, read in
            // the same round trip (two fewer): asked for next.
            (None, Some(acceptance)) => {
                self.read_acceptance(None, acceptance)?;
                match self.by_secret.take() {
                    Some((_, _, _, rows)) => rows,
                    None => Vec::new(),
                }
            }
            (None, None) => {
                let o = org.as_str();
                let (sql, key) = named.statement();
                self.query(sql, &[&o, key, &!outbox_waits])?
            }
        };
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let inv: StoredInvitation = body(first, 0, "invitation")?;
        if rows.len() == 1 {
            // (More rows: two live members for one key, which the unique
            // index forbids; `member_by_contact` reads and reports it.)
            let key: String = get(first, 1)?;
            let id: String = get(first, 2)?;
            let member: Option<String> = get(first, 3)?;
            let member_body: Option<String> = get(first, 4)?;
            let queued: Option<Vec<String>> = get(first, 5)?;
            let person: Option<String> = get(first, 6)?;
            self.recipients
                .set_member(org, &key, member.zip(member_body));
            self.priors.insert(
                id.clone(),
                Prior {
                    org: org.clone(),
                    status: inv.status.as_str(),
                    license: inv.license_type.to_string(),
                    person,
                },
            );
            if let Some(queued) = queued {
                self.queued.insert((org.clone(), id), queued);
            }
        }
        Ok(Some(inv))
    }

    fn invitation_where(
        &mut self,
        org: &OrgId,
        cond: &str,
        key: &(dyn ToSql + Sync),
    ) -> StoreResult<Option<StoredInvitation>> {
        self.touch(org)?;
        let sql = format!("SELECT body::text FROM invitations WHERE org_id = $1 AND {cond}");
        let row = self.query_opt(&sql, &[&org.as_str(), key])?;
        row.map(|r| body(&r, 0, "invitation")).transpose()
    }

    fn counts_of(
        &mut self,
        org: &OrgId,
        statuses: &[MemberStatus],
        role: Option<&str>,
        group: Option<&str>,
    ) -> StoreResult<(i64, i64, i64)> {
        let st: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        let row = self.query_opt(
            "SELECT coalesce(sum(n) FILTER (WHERE what = 'member'), 0)::bigint,
                    coalesce(sum(n) FILTER (WHERE what = 'member_role'), 0)::bigint,
                    coalesce(sum(n) FILTER (WHERE what = 'member_group'), 0)::bigint
             FROM counts
             WHERE org_id = $1 AND status = ANY($2)
               AND ((what = 'member' AND key = '')
                    OR (what = 'member_role' AND key = $3)
                    OR (what = 'member_group' AND key = $4))",
            &[&org.as_str(), &st, &role, &group],
        )?;
        match row {
            Some(r) => Ok((get(&r, 0)?, get(&r, 1)?, get(&r, 2)?)),
            None => Ok((0, 0, 0)),
        }
    }
}

impl Head {
    fn seen(version: i64, read_seq: Option<i64>) -> Self {
        Head {
            version: Some(version),
            locked: false,
            writing: false,
            event_seq: read_seq.unwrap_or(0),
            read_seq,
        }
    }

    fn absent() -> Self {
        Head {
            version: None,
            locked: false,
            writing: false,
            event_seq: 0,
            read_seq: None,
        }
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        self.rollback();
    }
}

/// Who holds each key of `$2` at `($3, $4)`: `0, key, member_id` for a
/// live member, `1, key, invitation_id` for an open invitation. `LATERAL`
/// with `OFFSET 0` (which keeps the planner from flattening it back into a
/// join): one index probe per key and table whatever the statistics (as
/// `= ANY($2)`, the generic plan scanned a members table analyzed while
/// small).
/// The organization `$1`'s version and body, read at its first touch.
const ORG_FIRST_SQL: &str = "SELECT h.version, o.body::text, h.event_seq
     FROM (SELECT $1::text AS org_id) k
     LEFT JOIN org_heads h ON h.org_id = k.org_id
     LEFT JOIN organizations o ON o.org_id = k.org_id";

/// The live member of account `$2` (after `WHERE org_id = $1 AND`).
const BY_ACCOUNT_COND: &str = "user_ref = $2 AND status <> 'removed' AND user_ref IS NOT NULL";

/// The live member of account `$2` in `$1`, as `member_by_user_ref` reads it.
static BY_ACCOUNT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT body::text FROM members WHERE org_id = $1 AND {BY_ACCOUNT_COND}")
});

/// The groups of `$1` with their member counts, by id.
const GROUPS_SQL: &str = "SELECT g.body::text, coalesce(c.n, 0)::bigint
     FROM groups g
     LEFT JOIN (SELECT key, sum(n) AS n FROM counts
                WHERE org_id = $1 AND what = 'member_group'
                  AND status IN ('active', 'inactive')
                GROUP BY key) c ON c.key = g.group_id
     WHERE g.org_id = $1
     ORDER BY g.group_id";

/// The organization lock of a transaction that read version `$2`: no row
/// if another transaction wrote the organization since.
const VERSION_LOCK_SQL: &str = "UPDATE org_heads SET version = version + 1 \
     WHERE org_id = $1 AND version = $2 RETURNING event_seq";

/// [`VERSION_LOCK_SQL`] that fails (division by zero) where that one
/// answers no row: for [`PgTx::commit_at_once`], which sends the writes
/// after it without waiting for its answer.
const VERSION_LOCK_OR_FAIL_SQL: &str = "WITH up AS (
         UPDATE org_heads SET version = version + 1
         WHERE org_id = $1 AND version = $2 RETURNING 1)
     SELECT 1 / count(*)::int FROM up";

/// A new member (live, its contact key and account read free) whose
/// write waits for the transaction's next statement (`put_member`).
struct NewMemberWrite {
    member: Member,
    pid: String,
    person: Option<enlist::Person>,
}

/// Calls `f` with the statement that writes `nm` as a new member, with its
/// counters and group memberships, without the look-up of
/// [`MEMBER_BEFORE_WRITE_SQL`] (the caller knows that no live member holds
/// its contact key or account, [`PgTx::free`]; the insert checks that no
/// member has its id, and answers whether it wrote the row and the stored
/// people row of the member's `pid`).
fn with_new_member<T>(
    nm: &NewMemberWrite,
    sql: &'static str,
    f: impl FnOnce(Stmt<'_>) -> T,
) -> StoreResult<T> {
    let m = &nm.member;
    // As in `put_member`, with no old version.
    let counters = counter_deltas(None, m);
    let added = memberships(m);
    let (cw, ck, cs, cd) = counter_columns(&counters);
    let (ag, as_, ak) = membership_columns(&added);
    let b = to_body(m)?;
    let (o, id, status, kind) = (
        m.org_id.as_str(),
        m.id.as_str(),
        m.status.as_str(),
        m.kind.as_str(),
    );
    let params: [&(dyn ToSql + Sync); 17] = [
        &o,
        &id,
        &m.contact_key.as_str(),
        &m.user_ref,
        &status,
        &m.role.as_str(),
        &m.license_type.as_str(),
        &kind,
        &b,
        &ag,
        &as_,
        &ak,
        &cw,
        &ck,
        &cs,
        &cd,
        &nm.pid,
    ];
    Ok(f((sql, &params, true)))
}

/// Calls `f` with the statement `sql` (the buffered invitations' write,
/// [`WRITE_INVITATIONS_SQL`] or [`WRITE_INVITATIONS_OR_FAIL_SQL`]) and
/// the buffer's rows as its parameters.
fn with_invitations<T>(
    buffer: &InvitationBuffer,
    sql: &'static str,
    f: impl FnOnce(Stmt<'_>) -> T,
) -> T {
    let rows = &buffer.rows;
    let col = |f: fn(&InvitationRow) -> &str| -> Vec<&str> { rows.iter().map(f).collect() };
    let ids = col(|r| &r.id);
    let batches = col(|r| &r.batch);
    let keys = col(|r| &r.key);
    let statuses = col(|r| r.status);
    let roles = col(|r| &r.role);
    let kinds = col(|r| r.kind);
    let licenses = col(|r| &r.license);
    let bodies = col(|r| &r.body);
    let pids = col(|r| &r.pid);
    let hashes: Vec<Option<&[u8]>> = rows.iter().map(|r| r.hash.as_deref()).collect();
    let created_s: Vec<i64> = rows.iter().map(|r| r.created.0).collect();
    let created_ns: Vec<i32> = rows.iter().map(|r| r.created.1).collect();
    let expires_s: Vec<Option<i64>> = rows.iter().map(|r| r.expires.map(|e| e.0)).collect();
    let expires_ns: Vec<Option<i32>> = rows.iter().map(|r| r.expires.map(|e| e.1)).collect();
    let open: Vec<bool> = rows.iter().map(|r| r.open).collect();
    let inviters: Vec<Option<&str>> = rows.iter().map(|r| r.inviter.as_deref()).collect();
    let user_refs: Vec<Option<&str>> = rows.iter().map(|r| r.user_ref.as_deref()).collect();
    let params: &[&(dyn ToSql + Sync)] = &[
        &buffer.org.as_str(),
        &ids,
        &batches,
        &keys,
        &statuses,
        &roles,
        &kinds,
        &licenses,
        &hashes,
        &created_s,
        &created_ns,
        &expires_s,
        &expires_ns,
        &bodies,
        &open,
        &inviters,
        &user_refs,
        &pids,
    ];
    f((sql, params, true))
}

/// Calls `f` with the statement of one organization's flush (see
/// [`PgTx::flush_org`]) and its parameters, or with none when `p` holds
/// nothing to write.
fn with_flush<T>(org: &OrgId, p: Pending, f: impl FnOnce(Option<Stmt<'_>>) -> T) -> StoreResult<T> {
    let people = crate::people::writes(&p.people)?;
    let rest = !(p.events.is_empty() && p.outbox.is_empty() && p.open_counts.is_empty());
    let Some(parts) = FlushParts::of(people.is_some(), rest) else {
        return Ok(f(None));
    };
    let counts: Vec<_> = p.open_counts.iter().filter(|(_, d)| **d != 0).collect();
    let count_keys: Vec<&str> = counts.iter().map(|((k, _), _)| k.as_str()).collect();
    let count_statuses: Vec<&str> = counts.iter().map(|((_, s), _)| *s).collect();
    let count_deltas: Vec<i64> = counts.iter().map(|(_, d)| **d).collect();
    let last_seq = p.events.last().map(|e| e.0);
    let (seqs, event_bodies): (Vec<i64>, Vec<String>) = p.events.into_iter().unzip();
    let rows: Vec<OutboxRow> = p.outbox.into_values().collect();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let invs: Vec<&str> = rows.iter().map(|r| r.invitation_id.as_str()).collect();
    let statuses: Vec<&str> = rows.iter().map(|r| r.status).collect();
    let next_s: Vec<i64> = rows.iter().map(|r| r.next.0).collect();
    let next_ns: Vec<i32> = rows.iter().map(|r| r.next.1).collect();
    let created_s: Vec<i64> = rows.iter().map(|r| r.created.0).collect();
    let created_ns: Vec<i32> = rows.iter().map(|r| r.created.1).collect();
    let bodies: Vec<&str> = rows.iter().map(|r| r.body.as_str()).collect();
    let org_p = org.as_str();
    let rest_params: [&(dyn ToSql + Sync); REST_PARAMS] = [
        &seqs,
        &event_bodies,
        &ids,
        &invs,
        &statuses,
        &next_s,
        &next_ns,
        &created_s,
        &created_ns,
        &bodies,
        &last_seq.unwrap_or(0),
        &last_seq.is_some(),
        &count_keys,
        &count_statuses,
        &count_deltas,
    ];
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&org_p];
    if let Some(w) = &people {
        params.extend(w.params());
    }
    if rest {
        params.extend(rest_params);
    }
    Ok(f(Some((flush_sql(parts), &params, false))))
}

/// A statement for [`PgTx::run_all`]: SQL, parameters, whether its rows
/// are wanted (a count otherwise).
type Stmt<'a> = (&'a str, &'a [&'a (dyn ToSql + Sync)], bool);

/// Sends `begin`, the lock, `all` and with `commit` a `COMMIT` on `conn`
/// in one round trip (see [`PgTx::run_all`]): each one's outcome, in that
/// order.
fn send(
    conn: &mut crate::pool::Conn,
    begin: Option<&'static str>,
    lock: Option<&(OrgId, i64)>,
    all: &[Stmt<'_>],
    commit: bool,
) -> StoreResult<Vec<Result<Answer, postgres::Error>>> {
    let lock_org = lock.map(|(o, _)| o.as_str());
    let lock_params: Option<[&(dyn ToSql + Sync); 2]> = match (&lock_org, lock) {
        (Some(o), Some((_, v))) => Some([o, v]),
        _ => None,
    };
    let lock_st = match lock {
        Some(_) => Some(conn.statement(VERSION_LOCK_SQL)?),
        None => None,
    };
    let statements = all
        .iter()
        .map(|(sql, _, _)| conn.statement(sql))
        .collect::<StoreResult<Vec<_>>>()?;
    let mut thens = Vec::with_capacity(all.len() + 2);
    if let Some(b) = begin {
        thens.push(Then::Simple(b));
    }
    if let (Some(st), Some(p)) = (&lock_st, &lock_params) {
        thens.push(Then::Query(st, p));
    }
    for (st, (_, params, rows)) in statements.iter().zip(all) {
        thens.push(Then::new(*rows, st, params));
    }
    if commit {
        thens.push(Then::Simple("COMMIT"));
    }
    conn.client.pipeline_all(thens).map_err(db_err)
}

const STANDING_SQL: &str = "SELECT 0, x.k, m.member_id FROM unnest($2::text[]) AS x (k)
     CROSS JOIN LATERAL (SELECT member_id FROM members
         WHERE org_id = $1 AND contact_key = x.k AND status <> 'removed' OFFSET 0) AS m
     UNION ALL
     SELECT 1, x.k, i.invitation_id FROM unnest($2::text[]) AS x (k)
     CROSS JOIN LATERAL (SELECT invitation_id FROM invitations
         WHERE org_id = $1 AND recipient_key = x.k AND status IN ('staged', 'pending')
           AND (status = 'staged' OR expires_s IS NULL OR expires_s > $3
                OR (expires_s = $3 AND expires_ns > $4))
         OFFSET 0) AS i";

/// The commit's writes of one organization besides its invitations, as
/// `WITH` items: events, outbox messages and the open-invitation counters,
/// reading `$1` (the organization) and `$2` to `$16`.
const REST_CTES: &str = "ev AS (
         INSERT INTO events (org_id, seq, body, kind)
         SELECT $1, s, b::json, b::json->'kind'->>'type'
         FROM unnest($2::bigint[], $3::text[]) WITH ORDINALITY AS x (s, b, n)
         ORDER BY n
     ), ob AS (
         INSERT INTO outbox (org_id, message_id, invitation_id, status,
                             next_s, next_ns, created_s, created_ns, body)
         SELECT $1, m, i, st, ns, nn, cs, cn, b::json
         FROM unnest($4::text[], $5::text[], $6::text[], $7::bigint[], $8::int4[],
                     $9::bigint[], $10::int4[], $11::text[])
              AS x (m, i, st, ns, nn, cs, cn, b)
         ON CONFLICT (org_id, message_id) DO UPDATE SET
             invitation_id = EXCLUDED.invitation_id, status = EXCLUDED.status,
             next_s = EXCLUDED.next_s, next_ns = EXCLUDED.next_ns,
             created_s = EXCLUDED.created_s, created_ns = EXCLUDED.created_ns,
             body = EXCLUDED.body
     ), cn AS (
         INSERT INTO counts (org_id, what, key, status, n)
         SELECT $1, 'invitation_license', k, s, d
         FROM unnest($14::text[], $15::text[], $16::bigint[]) AS x (k, s, d)
         ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = counts.n + EXCLUDED.n
     )";

/// The statement after [`REST_CTES`]: the organization's last event seq.
const REST_FINAL: &str = "UPDATE org_heads SET event_seq = $12 WHERE org_id = $1 AND $13";

/// How many parameters [`REST_CTES`] and [`REST_FINAL`] read besides `$1`.
const REST_PARAMS: usize = 15;

/// What an organization's flush writes: there is no statement for nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FlushParts {
    /// People rows only.
    People,
    /// Events, outbox messages and counters only.
    Rest,
    /// Both.
    Both,
}

impl FlushParts {
    /// The parts to write, `None` when there is nothing to write.
    fn of(people: bool, rest: bool) -> Option<Self> {
        match (people, rest) {
            (true, true) => Some(FlushParts::Both),
            (true, false) => Some(FlushParts::People),
            (false, true) => Some(FlushParts::Rest),
            (false, false) => None,
        }
    }
}

/// The one statement of an organization's flush at commit: its people rows
/// ([`crate::people::PEOPLE_CTES`], parameters `$2` to `$24`) and the rest
/// ([`REST_CTES`], numbered after them), either or both.
fn flush_sql(parts: FlushParts) -> &'static str {
    static SQL: std::sync::OnceLock<[String; 3]> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        let shift = crate::people::PEOPLE_PARAMS;
        [
            format!("WITH {} SELECT 1", crate::people::PEOPLE_CTES),
            format!("WITH {REST_CTES} {REST_FINAL}"),
            format!(
                "WITH {}, {} {}",
                crate::people::PEOPLE_CTES,
                renumber(REST_CTES, shift),
                renumber(REST_FINAL, shift)
            ),
        ]
    });
    match parts {
        FlushParts::People => &all[0],
        FlushParts::Rest => &all[1],
        FlushParts::Both => &all[2],
    }
}

/// `sql` with every parameter `$n` from `$2` on raised by `by` (`$1`, the
/// organization, stays): to put two statements' parts in one.
fn renumber(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '$' {
            continue;
        }
        let mut n = 0usize;
        let mut digits = 0;
        while let Some(&(_, d)) = chars.peek() {
            let Some(v) = d.to_digit(10) else { break };
            n = n * 10 + v as usize;
            digits += 1;
            chars.next();
        }
        if digits > 0 {
            let n = if n >= 2 { n + by } else { n };
            out.push_str(&n.to_string());
        }
    }
    out
}

/// The live member and the open invitation of each key of `$2` (one probe
/// of `members_live_contact` and one of `invitations_open_recipient`
/// each): `key, member_id, body, invitation_id, body`, nulls for none.
/// `LATERAL`, so that the generic plan probes the indexes key by key
/// whatever the statistics say: as plain joins, a members table that was
/// small when analyzed was hashed whole by a sequential scan.
const RECIPIENTS_SQL: &str = "SELECT x.k, m.member_id, m.body::text, i.invitation_id, i.body::text
     FROM unnest($2::text[]) AS x (k)
     LEFT JOIN LATERAL (SELECT member_id, body FROM members
         WHERE org_id = $1 AND contact_key = x.k AND status <> 'removed' LIMIT 2) AS m ON true
     LEFT JOIN LATERAL (SELECT invitation_id, body FROM invitations
         WHERE org_id = $1 AND recipient_key = x.k AND status IN ('staged', 'pending')
         LIMIT 2) AS i ON true";

/// The `WITH` items of the buffered invitations' write (see
/// [`WRITE_INVITATIONS_SQL`]), for its two final statements.
macro_rules! write_invitations_ctes {
    () => {
        "WITH x AS (
                 SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                      $7::text[], $8::text[], $9::bytea[], $10::int8[],
                                      $11::int4[], $12::int8[], $13::int4[], $14::text[],
                                      $15::bool[], $16::text[], $17::text[], $18::text[])
                     WITH ORDINALITY AS x (id, batch, rkey, status, role, kind, license, hash,
                                           cs, cn, es, en, body, open, inviter, user_ref, pid, n)
             ), old AS (
                 SELECT x.n, i.status, i.license_type FROM x
                 CROSS JOIN LATERAL (SELECT status, license_type FROM invitations
                     WHERE org_id = $1 AND invitation_id = x.id OFFSET 0) AS i
             ), clash AS (
                 SELECT x.n, 'secret'::text AS what FROM x
                 WHERE x.hash IS NOT NULL AND EXISTS (
                     SELECT 1 FROM invitations AS i
                     WHERE i.org_id = $1 AND i.secret_hash = x.hash
                       AND i.invitation_id <> ALL($2::text[]) OFFSET 0)
                 UNION ALL
                 SELECT x.n, 'recipient' FROM x
                 WHERE x.open AND EXISTS (
                     SELECT 1 FROM invitations AS i
                     WHERE i.org_id = $1 AND i.recipient_key = x.rkey
                       AND i.status IN ('staged', 'pending')
                       AND i.invitation_id <> ALL($2::text[]) OFFSET 0)
             ), up AS (
                 INSERT INTO invitations (org_id, invitation_id, batch_id, recipient_key, status,
                                          role, kind, license_type, secret_hash, created_s,
                                          created_ns, expires_s, expires_ns, body, inviter_id,
                                          user_ref)
                 SELECT $1, id, batch, rkey, status, role, kind, license, hash, cs, cn, es, en,
                        body::json, inviter, user_ref
                 FROM x WHERE NOT EXISTS (SELECT 1 FROM clash)
                 ORDER BY n
                 ON CONFLICT (org_id, invitation_id) DO UPDATE SET
                     batch_id = EXCLUDED.batch_id, recipient_key = EXCLUDED.recipient_key,
                     status = EXCLUDED.status, role = EXCLUDED.role, kind = EXCLUDED.kind,
                     license_type = EXCLUDED.license_type, secret_hash = EXCLUDED.secret_hash,
                     created_s = EXCLUDED.created_s, created_ns = EXCLUDED.created_ns,
                     expires_s = EXCLUDED.expires_s, expires_ns = EXCLUDED.expires_ns,
                     body = EXCLUDED.body, inviter_id = EXCLUDED.inviter_id,
                     user_ref = EXCLUDED.user_ref
                 RETURNING 1
             )"
    };
}

/// The statement of `check_and_write_invitations`: `$1` the organization,
/// `$2` to `$18` the buffered rows' columns. Each look-up is one probe by
/// key per row (`invitations`' primary key, secret and open-recipient
/// indexes, `people`' primary key), kept so by `LATERAL ... OFFSET 0` and
/// `EXISTS (... OFFSET 0)`: as joins on `org_id = $1`, a plan made while
/// a table was small hashed the organization's rows (the person's read
/// hashed the organization's 300 people rows at each accept of the
/// bench).
const WRITE_INVITATIONS_SQL: &str = concat!(
    write_invitations_ctes!(),
    "
             SELECT n, what, NULL::text FROM clash
             UNION ALL
             SELECT n, 'old', status || ' ' || license_type FROM old
             UNION ALL
             SELECT x.n, 'person', p.body::text FROM x
             CROSS JOIN LATERAL (SELECT body FROM people
                 WHERE org_id = $1 AND pid = x.pid OFFSET 0) AS p"
);

/// [`WRITE_INVITATIONS_SQL`] that fails (division by zero) where that one
/// answers a refusal, and answers nothing else: for
/// [`PgTx::commit_at_once`], which sends what follows it without waiting.
const WRITE_INVITATIONS_OR_FAIL_SQL: &str = concat!(
    write_invitations_ctes!(),
    "
             SELECT 1 / (NOT EXISTS (SELECT 1 FROM clash))::int"
);

/// The invitation a token names (`$2`: the hash of its secret, or its
/// id, and the `WHERE` that goes with it), its recipient key and id, the
/// live member of that key (id and body, or nulls), when `$3` the bodies of
/// its queued outbox messages in `queued_messages_for`'s order, and the
/// invitation's row of the people view (its pid is `i.` and its id, as
/// `enlist::store::people::invitation_pid` makes it) for a write of it
/// that does not wait for its statement's answer ([`PgTx::commit_at_once`]).
/// An index probe each: `invitations`' secret (or its primary key),
/// `members_live_contact`, `outbox_queued`, `people`' primary key.
macro_rules! by_token_sql {
    ($where:literal) => {
        concat!(
            "SELECT i.body::text, i.recipient_key, i.invitation_id,
            m.member_id, m.body::text,
            CASE WHEN $3 THEN
                (SELECT coalesce(array_agg(o.body::text
                                 ORDER BY o.created_s, o.created_ns, o.message_id), '{}')
                 FROM outbox AS o
                 WHERE o.org_id = $1 AND o.invitation_id = i.invitation_id
                   AND o.status = 'queued')
            END,
            (SELECT p.body::text FROM people AS p
             WHERE p.org_id = $1 AND p.pid = 'i.' || i.invitation_id)
     FROM invitations AS i
     LEFT JOIN LATERAL (SELECT member_id, body FROM members
         WHERE org_id = $1 AND contact_key = i.recipient_key AND status <> 'removed'
         LIMIT 2) AS m ON true
",
            $where
        )
    };
}

/// [`by_token_sql`] for an older token: by the hash of its secret.
const BY_SECRET_SQL: &str =
    by_token_sql!("     WHERE i.org_id = $1 AND i.secret_hash = $2 AND i.secret_hash IS NOT NULL");

/// [`by_token_sql`] for a token that names its invitation: by its id.
const BY_ID_SQL: &str = by_token_sql!("     WHERE i.org_id = $1 AND i.invitation_id = $2");

/// What a token gave to find its invitation by, kept by the transaction
/// for the reads ahead of an accept ([`TokenKey`], owned).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Named {
    /// An invitation's id.
    Id(String),
    /// The hash of an older token's secret, as the `bytea` it is stored as.
    Hash(Vec<u8>),
}

impl Named {
    fn of(token: TokenKey<'_>) -> Self {
        match token {
            TokenKey::Id(id) => Named::Id(id.as_str().to_owned()),
            TokenKey::Secret(hash) => Named::Hash(hash.0.to_vec()),
        }
    }

    /// Whether PostgreSQL can hold the key (no id with a NUL byte is
    /// stored, so none is looked up).
    fn storable(&self) -> bool {
        match self {
            Named::Id(id) => !id.contains('\0'),
            Named::Hash(_) => true,
        }
    }

    /// The statement that reads by this key, and the key as its `$2`.
    fn statement(&self) -> (&'static str, &(dyn ToSql + Sync)) {
        match self {
            Named::Id(id) => (BY_ID_SQL, id),
            Named::Hash(hash) => (BY_SECRET_SQL, hash),
        }
    }
}

/// What a member write reads first: the member's stored version (id
/// `$2`), when `$3` (the member is live) any other live member of contact
/// key `$4` or account `$5`, and the people row `$6` of the member. A
/// bitmap of three probes (`members_pkey`, `members_live_contact`,
/// `members_by_account`) as long as `org_id` is not taken for a key
/// (migration 0013).
const MEMBER_BEFORE_WRITE_SQL: &str =
    "SELECT member_id, contact_key, user_ref, body::text FROM members
     WHERE org_id = $1
       AND (member_id = $2
            OR ($3 AND status <> 'removed' AND (contact_key = $4 OR user_ref = $5)))
     UNION ALL
     SELECT NULL, NULL, NULL, body FROM people WHERE org_id = $1 AND pid = $6";

/// The `WITH` items of a new member's write (see [`NEW_MEMBER_SQL`]), for
/// its two final statements.
macro_rules! new_member_ctes {
    () => {
        "WITH up AS (
         INSERT INTO members (org_id, member_id, contact_key, user_ref, status, role,
                              license_type, kind, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::json)
         ON CONFLICT (org_id, member_id) DO NOTHING
         RETURNING 1
     ), ins AS (
         INSERT INTO member_groups (org_id, group_id, status, contact_key, member_id)
         SELECT $1, g, s, k, $2
         FROM unnest($10::text[], $11::text[], $12::text[]) AS x (g, s, k)
         WHERE EXISTS (SELECT 1 FROM up)
     ), cn AS (
         INSERT INTO counts (org_id, what, key, status, n)
         SELECT $1, w, k, s, d
         FROM unnest($13::text[], $14::text[], $15::text[], $16::bigint[]) AS x (w, k, s, d)
         WHERE EXISTS (SELECT 1 FROM up)
         ON CONFLICT (org_id, what, key, status) DO UPDATE SET n = counts.n + EXCLUDED.n
     )"
    };
}

/// A new member's write (see `put_member`): the row, when no member has
/// its id, and then only its group memberships and counters (`$13`-`$16`);
/// then whether it was written and the stored people row `$17` (by
/// `people`' primary key). No look-up of the organization's members: an
/// accept's member costs one statement.
const NEW_MEMBER_SQL: &str = concat!(
    new_member_ctes!(),
    "
     SELECT EXISTS (SELECT 1 FROM up),
            (SELECT body::text FROM people WHERE org_id = $1 AND pid = $17)"
);

/// [`NEW_MEMBER_SQL`] that fails (division by zero) unless it wrote the
/// member and no people row of `$17` was stored, and answers nothing
/// else: for [`PgTx::commit_at_once`], which counts on both.
const NEW_MEMBER_OR_FAIL_SQL: &str = concat!(
    new_member_ctes!(),
    "
     SELECT 1 / (EXISTS (SELECT 1 FROM up)
                 AND NOT EXISTS (SELECT 1 FROM people WHERE org_id = $1 AND pid = $17))::int"
);

/// A member or an invitation as `(id, body)`.
type IdBody = (String, String);

/// One row of [`RECIPIENTS_SQL`].
fn recipient_row(r: &Row) -> StoreResult<(String, Option<IdBody>, Option<IdBody>)> {
    let pair = |i: usize| -> StoreResult<Option<IdBody>> {
        let id: Option<String> = get(r, i)?;
        let body: Option<String> = get(r, i + 1)?;
        Ok(id.zip(body))
    };
    Ok((get(r, 0)?, pair(1)?, pair(3)?))
}

fn get<'r, T: postgres::types::FromSql<'r>>(row: &'r Row, i: usize) -> StoreResult<T> {
    row.try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

fn body<T: serde::de::DeserializeOwned>(row: &Row, i: usize, what: &str) -> StoreResult<T> {
    let text: &str = get(row, i)?;
    from_body(what, text)
}

/// The page size of a query (core's rule, at most `MAX_PAGE`), as SQL
/// binds it.
fn page_limit(limit: u32) -> i64 {
    i64::try_from(store::page_limit(limit)).unwrap_or(i64::MAX)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Numbered parameters of a query built from its filters.
#[derive(Default)]
struct Params(Vec<Param>);

impl Params {
    /// Binds `v`; returns its placeholder.
    fn bind(&mut self, v: impl ToSql + Sync + Send + 'static) -> String {
        self.0.push(Box::new(v));
        format!("${}", self.0.len())
    }
}

/// The counters a member contributes to: `(what, key, status)`.
fn member_counters(m: &Member) -> Vec<CounterKey> {
    let s = m.status.as_str();
    let mut out = vec![
        ("member", String::new(), s),
        ("member_role", m.role.to_string(), s),
        ("member_license", m.license_type.to_string(), s),
    ];
    let groups: BTreeSet<&str> = m.groups.iter().map(|g| g.group_id.as_str()).collect();
    for g in groups {
        out.push(("member_group", g.to_owned(), s));
    }
    out
}

/// The group memberships of a member: `(group_id, status, contact_key)`.
fn memberships(m: &Member) -> BTreeSet<(String, &'static str, String)> {
    m.groups
        .iter()
        .map(|g| {
            (
                g.group_id.as_str().to_owned(),
                m.status.as_str(),
                m.contact_key.to_string(),
            )
        })
        .collect()
}

/// A counter's key: what, key, status.
type CounterKey = (&'static str, String, &'static str);

/// How `new` changes the counters `old` (if stored) was counted in: each
/// counter once, summed so that no row is counted twice in one upsert,
/// unchanged ones left out.
fn counter_deltas(old: Option<&Member>, new: &Member) -> BTreeMap<CounterKey, i64> {
    let mut deltas: BTreeMap<CounterKey, i64> = BTreeMap::new();
    for k in old.map(member_counters).unwrap_or_default() {
        *deltas.entry(k).or_insert(0) -= 1;
    }
    for k in member_counters(new) {
        *deltas.entry(k).or_insert(0) += 1;
    }
    deltas.retain(|_, d| *d != 0);
    deltas
}

/// The counter deltas as the statements' four arrays (what, key, status,
/// delta).
fn counter_columns(
    deltas: &BTreeMap<CounterKey, i64>,
) -> (Vec<&str>, Vec<&str>, Vec<&str>, Vec<i64>) {
    (
        deltas.keys().map(|k| k.0).collect(),
        deltas.keys().map(|k| k.1.as_str()).collect(),
        deltas.keys().map(|k| k.2).collect(),
        deltas.values().copied().collect(),
    )
}

/// Group memberships ([`memberships`]) as the statements' three arrays
/// (group, status, contact key).
fn membership_columns<'a>(
    rows: impl IntoIterator<Item = &'a (String, &'static str, String)> + Clone,
) -> (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>) {
    (
        rows.clone().into_iter().map(|t| t.0.as_str()).collect(),
        rows.clone().into_iter().map(|t| t.1).collect(),
        rows.into_iter().map(|t| t.2.as_str()).collect(),
    )
}

/// The stored statuses whose invitations can have one of `asked` at some
/// time, with the extra condition a stored-pending one needs.
fn invitation_sources(asked: &[InvitationStatus]) -> Vec<(&'static str, PendingFilter)> {
    const ALL: [InvitationStatus; 6] = InvitationStatus::ALL;
    if asked.is_empty() {
        return ALL
            .iter()
            .map(|s| (s.as_str(), PendingFilter::Any))
            .collect();
    }
    let wants = |s: InvitationStatus| asked.contains(&s);
    ALL.iter()
        .filter_map(|s| match s {
            InvitationStatus::Pending => match (
                wants(InvitationStatus::Pending),
                wants(InvitationStatus::Expired),
            ) {
                (true, true) => Some(PendingFilter::Any),
                (true, false) => Some(PendingFilter::NotExpired),
                (false, true) => Some(PendingFilter::Expired),
                (false, false) => None,
            }
            .map(|f| ("pending", f)),
            s if wants(*s) => Some((s.as_str(), PendingFilter::Any)),
            _ => None,
        })
        .collect()
}

/// Which stored-pending invitations a status filter keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PendingFilter {
    Any,
    /// Still pending at `now`.
    NotExpired,
    /// Past their expiry at `now`.
    Expired,
}

impl Transaction for PgTx<'_> {
    fn commit(mut self: Box<Self>) -> StoreResult<()> {
        if self.commit_at_once()? || self.flush_and_commit()? {
            return Ok(());
        }
        self.resolve_lock()?;
        self.send_new_member()?;
        if self.begin.take().is_some() {
            // No statement was sent: there is nothing to commit.
            self.closed = true;
            return Ok(());
        }
        self.closed = true;
        let conn = self.lease.conn()?;
        if let Err(e) = conn.client.batch_execute("COMMIT") {
            // The outcome is unknown if the connection dropped: never reuse it.
            self.lease.mark_broken();
            return self.counted(Err(db_err(e)));
        }
        Ok(())
    }

    // ----- organizations ----------------------------------------------------

    fn organization(&mut self, org: &OrgId) -> StoreResult<Option<Organization>> {
        let o = org.as_str();
        if self.heads.contains_key(org) || self.store.is_contended(org) {
            self.touch(org)?;
            let row = self.query_opt(
                "SELECT body::text FROM organizations WHERE org_id = $1",
                &[&o],
            )?;
            return row.map(|r| body(&r, 0, "organization")).transpose();
        }
        // The first touch: the version and the organization in one
        // statement (with an accept's reads ahead, in one round trip).
        let params: [&(dyn ToSql + Sync); 1] = [&o];
        let acceptance = self.acceptance.take_if(|(a, _, _)| a == org);
        let mut rows = match acceptance {
            Some(acceptance) => self.read_acceptance(Some((ORG_FIRST_SQL, &params)), acceptance)?,
            None => self.query(ORG_FIRST_SQL, &params)?,
        };
        if rows.len() > 1 {
            return Err(StoreError::Corrupt(format!(
                "{} rows where at most one was expected",
                rows.len()
            )));
        }
        let row = rows.pop();
        let Some(row) = row else {
            return Err(StoreError::Corrupt(
                "the organization read returned no row".into(),
            ));
        };
        let version: Option<i64> = get(&row, 0)?;
        self.note_version(org, version, get(&row, 2)?);
        let text: Option<&str> = get(&row, 1)?;
        text.map(|t| from_body("organization", t)).transpose()
    }

    fn put_organization(&mut self, org: &Organization) -> StoreResult<()> {
        let o = key_text("org_id", org.id.as_str())?;
        self.write_lock(&org.id)?;
        let b = to_body(org)?;
        let slug = key_text("slug", &org.slug)?;
        let slug = (!slug.is_empty()).then_some(slug);
        if let Some(slug) = slug {
            self.refuse_if_found(
                "SELECT 1 FROM organizations WHERE slug = $1 AND org_id <> $2",
                &[&slug, &o],
                UniqueRule::OrganizationSlug,
            )?;
        }
        let name_key = org.name.to_lowercase();
        self.execute(
            crate::orgs::PUT,
            &[&o, &b, &slug, &name_key, &org.is_deleted()],
        )?;
        Ok(())
    }

    // ----- groups -------------------------------------------------------------

    fn group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<Option<Group>> {
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT g.body::text,
                    coalesce((SELECT sum(c.n) FROM counts c
                              WHERE c.org_id = g.org_id AND c.what = 'member_group'
                                AND c.key = g.group_id
                                AND c.status IN ('active', 'inactive')), 0)::bigint
             FROM groups g WHERE g.org_id = $1 AND g.group_id = $2",
            &[&org.as_str(), &id.as_str()],
        )?;
        row.map(|r| group_row(&r)).transpose()
    }

    fn groups(&mut self, org: &OrgId) -> StoreResult<Vec<Group>> {
        if let Some((_, groups)) = self.org_groups.take_if(|(o, _)| o == org) {
            return Ok(groups);
        }
        self.touch(org)?;
        let rows = self.query(GROUPS_SQL, &[&org.as_str()])?;
        rows.iter().map(group_row).collect()
    }

    fn prefetch_acceptance(
        &mut self,
        org: &OrgId,
        token: TokenKey<'_>,
        user_ref: &str,
    ) -> StoreResult<()> {
        // Nothing is stored under a key PostgreSQL cannot hold.
        let named = Named::of(token);
        if !self.read_only && !user_ref.contains('\0') && named.storable() {
            self.acceptance = Some((org.clone(), named, user_ref.to_owned()));
        }
        Ok(())
    }

    fn put_group(&mut self, group: &Group) -> StoreResult<()> {
        let o = key_text("org_id", group.org_id.as_str())?;
        let id = key_text("group id", group.id.as_str())?;
        self.write_lock(&group.org_id)?;
        let mut stored = group.clone();
        stored.member_count = 0;
        let b = to_body(&stored)?;
        self.execute(
            "INSERT INTO groups (org_id, group_id, body) VALUES ($1, $2, $3::text::json)
             ON CONFLICT (org_id, group_id) DO UPDATE SET body = EXCLUDED.body",
            &[&o, &id, &b],
        )?;
        Ok(())
    }

    fn delete_group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<()> {
        self.write_lock(org)?;
        self.execute(
            "DELETE FROM groups WHERE org_id = $1 AND group_id = $2",
            &[&org.as_str(), &id.as_str()],
        )?;
        Ok(())
    }

    // ----- members ------------------------------------------------------------

    fn member(&mut self, org: &OrgId, id: &MemberId) -> StoreResult<Option<Member>> {
        self.member_where(org, "member_id = $2", id.as_str())
    }

    fn member_by_contact(&mut self, org: &OrgId, key: &str) -> StoreResult<Option<Member>> {
        self.alive()?;
        if key.contains('\0') {
            return Ok(None);
        }
        let cached = self.recipients.take_member(org, key);
        if let Some(member) = cached {
            if member.is_none() {
                self.free
                    .insert((org.clone(), Free::Contact, key.to_owned()));
            }
            return member.map(|(_, b)| from_body("member", &b)).transpose();
        }
        self.touch(org)?;
        // The open invitation for the same key comes along (one round trip
        // instead of two per recipient). Serving it later in the transaction
        // is sound: a commit by anyone else in between is caught by the
        // version check of ADR 0007, and this transaction's own writes of
        // that key drop it.
        let row = self.query_opt(RECIPIENTS_SQL, &[&org.as_str(), &[key].as_slice()])?;
        let Some(row) = row else {
            return Err(StoreError::Corrupt("a lookup returned no row".into()));
        };
        let (_, member, open) = recipient_row(&row)?;
        self.recipients.set_open(org, key, open);
        if member.is_none() {
            self.free
                .insert((org.clone(), Free::Contact, key.to_owned()));
        }
        member.map(|(_, b)| from_body("member", &b)).transpose()
    }

    fn member_by_user_ref(&mut self, org: &OrgId, user_ref: &str) -> StoreResult<Option<Member>> {
        let read = self
            .by_account
            .take_if(|(o, u, _)| o == org && u == user_ref);
        let member = match read {
            Some((_, _, member)) => member,
            None => self.member_where(org, BY_ACCOUNT_COND, user_ref)?,
        };
        if member.is_none() && !user_ref.contains('\0') {
            self.free
                .insert((org.clone(), Free::Account, user_ref.to_owned()));
        }
        Ok(member)
    }

    fn put_member(&mut self, m: &Member) -> StoreResult<()> {
        key_text("org_id", m.org_id.as_str())?;
        let id = key_text("member id", m.id.as_str())?;
        let contact_key = key_text("contact_key", &m.contact_key)?;
        let user_ref = m
            .user_ref
            .as_deref()
            .map(|u| key_text("user_ref", u))
            .transpose()?;
        key_text("role", &m.role)?;
        key_text("license_type", &m.license_type)?;
        for g in &m.groups {
            key_text("group id", g.group_id.as_str())?;
        }
        self.write_lock(&m.org_id)?;
        self.recipients.forget_member(&m.org_id, &m.contact_key, id);
        let live = m.status != MemberStatus::Removed;
        // Its keys are no longer known free, whatever comes next.
        let org_key = m.org_id.clone();
        let contact_free =
            self.free
                .remove(&(org_key.clone(), Free::Contact, contact_key.to_owned()));
        let account_free = match user_ref {
            Some(u) => self
                .free
                .remove(&(org_key.clone(), Free::Account, u.to_owned())),
            None => true,
        };
        let (pid, person) = crate::people::of_member(m);
        if live && contact_free && account_free {
            // Written in one statement, sent with the next one (after
            // the lock, before the buffered invitations: one round trip
            // for the three at an accept); an earlier one first.
            self.send_new_member()?;
            self.new_member = Some(NewMemberWrite {
                member: m.clone(),
                pid,
                person,
            });
            return Ok(());
        }
        self.write_member_checked(m, pid, person)
    }

    fn list_members(&mut self, org: &OrgId, q: &MemberQuery) -> StoreResult<Page<Member>> {
        let after = q.after.as_deref().map(parse_member_cursor).transpose()?;
        let limit = page_limit(q.limit);
        self.touch(org)?;
        let mut statuses: Vec<MemberStatus> = if q.statuses.is_empty() {
            vec![MemberStatus::Active, MemberStatus::Inactive]
        } else {
            q.statuses.clone()
        };
        statuses.sort();
        statuses.dedup();

        // Walk the smallest index that serves a filter (as MemoryStore does):
        // all members, the role's, or the group's.
        let (all, in_role, in_group) = self.counts_of(
            org,
            &statuses,
            q.role.as_deref(),
            q.group.as_ref().map(GroupId::as_str),
        )?;
        if (q.role.is_some() && in_role == 0) || (q.group.is_some() && in_group == 0) {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let mut source = ("all", all);
        if q.role.is_some() && in_role < source.1 {
            source = ("role", in_role);
        }
        if q.group.is_some() && in_group < source.1 {
            source = ("group", in_group);
        }
        let by_group = source.0 == "group";

        let mut p = Params::default();
        let org_p = p.bind(org.as_str().to_owned());
        let dir = if q.sort == MemberSort::EmailDesc {
            "DESC"
        } else {
            "ASC"
        };
        let cmp = if q.sort == MemberSort::EmailDesc {
            "<"
        } else {
            ">"
        };
        // `x` is the table whose (contact_key, member_id) is walked.
        let x = if by_group { "g" } else { "m" };
        let mut filters = String::new();
        if let Some((ck, id)) = after {
            let (a, b) = (p.bind(ck), p.bind(id.into_string()));
            filters.push_str(&format!(
                " AND ({x}.contact_key, {x}.member_id) {cmp} ({a}, {b})"
            ));
        }
        if let Some(role) = &q.role {
            let r = p.bind(role.clone());
            filters.push_str(&format!(" AND m.role = {r}"));
        }
        let group_p = q.group.as_ref().map(|g| p.bind(g.as_str().to_owned()));
        if let (Some(g), false) = (&group_p, by_group) {
            filters.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM member_groups g
                              WHERE g.org_id = m.org_id AND g.group_id = {g}
                                AND g.status = m.status AND g.contact_key = m.contact_key
                                AND g.member_id = m.member_id)"
            ));
        }
        if let Some(s) = &q.search {
            let s = p.bind(s.to_lowercase());
            filters.push_str(&format!(" AND strpos({x}.contact_key, {s}) > 0"));
        }
        let lim = p.bind(limit + 1);
        let subqueries: Vec<String> = statuses
            .iter()
            .map(|s| {
                let s = s.as_str();
                let from = match &group_p {
                    Some(g) if by_group => format!(
                        "member_groups g JOIN members m
                             ON m.org_id = g.org_id AND m.member_id = g.member_id
                         WHERE g.org_id = {org_p} AND g.group_id = {g} AND g.status = '{s}'"
                    ),
                    _ => format!("members m WHERE m.org_id = {org_p} AND m.status = '{s}'"),
                };
                format!(
                    "(SELECT m.body, {x}.contact_key, {x}.member_id FROM {from}{filters}
                      ORDER BY {x}.contact_key {dir}, {x}.member_id {dir} LIMIT {lim})"
                )
            })
            .collect();
        let sql = format!(
            "SELECT body::text, contact_key, member_id FROM ({}) t
             ORDER BY contact_key {dir}, member_id {dir} LIMIT {lim}",
            subqueries.join(" UNION ALL ")
        );
        let rows = self.query_boxed(&sql, &p.0)?;
        page_of(rows, limit, "member", |r| {
            let ck: &str = get(r, 1)?;
            let id: &str = get(r, 2)?;
            Ok(member_cursor(ck, id))
        })
    }

    fn count_active_with_role(&mut self, org: &OrgId, role: &str) -> StoreResult<u64> {
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT coalesce(sum(n), 0)::bigint FROM counts
             WHERE org_id = $1 AND what = 'member_role' AND key = $2 AND status = 'active'",
            &[&org.as_str(), &role],
        )?;
        Ok(match row {
            Some(r) => to_u64(get(&r, 0)?),
            None => 0,
        })
    }

    fn seat_count(&mut self, org: &OrgId, license_type: &str) -> StoreResult<SeatCount> {
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT coalesce(sum(n) FILTER (WHERE what = 'member_license'
                                              AND status = 'active'), 0)::bigint,
                    coalesce(sum(n) FILTER (WHERE what = 'invitation_license'
                                              AND status IN ('staged', 'pending')), 0)::bigint
             FROM counts
             WHERE org_id = $1 AND what IN ('member_license', 'invitation_license')
               AND key = $2",
            &[&org.as_str(), &license_type],
        )?;
        let open_delta = self
            .pending
            .get(org)
            .map_or(0, |p| p.open_delta(license_type));
        Ok(match row {
            Some(r) => SeatCount {
                members: to_u64(get(&r, 0)?),
                open_invitations: to_u64(get::<i64>(&r, 1)? + open_delta),
            },
            None => SeatCount {
                members: 0,
                open_invitations: to_u64(open_delta),
            },
        })
    }

    fn seat_counts(&mut self, org: &OrgId) -> StoreResult<Vec<(String, SeatCount)>> {
        self.touch(org)?;
        let rows = self.query(
            "SELECT key,
                    coalesce(sum(n) FILTER (WHERE what = 'member_license'
                                              AND status = 'active'), 0)::bigint,
                    coalesce(sum(n) FILTER (WHERE what = 'invitation_license'
                                              AND status IN ('staged', 'pending')), 0)::bigint
             FROM counts
             WHERE org_id = $1 AND what IN ('member_license', 'invitation_license')
             GROUP BY key",
            &[&org.as_str()],
        )?;
        // What the table says, plus this transaction's unwritten changes.
        let mut seats: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for r in &rows {
            seats.insert(get(r, 0)?, (get(r, 1)?, get(r, 2)?));
        }
        if let Some(p) = self.pending.get(org) {
            for (license, _) in p.open_counts.keys() {
                seats.entry(license.clone()).or_insert((0, 0));
            }
            for (license, (_, open)) in seats.iter_mut() {
                *open += p.open_delta(license);
            }
        }
        Ok(seats
            .into_iter()
            .filter(|(_, (members, open))| *members > 0 || *open > 0)
            .map(|(license, (members, open))| {
                (
                    license,
                    SeatCount {
                        members: to_u64(members),
                        open_invitations: to_u64(open),
                    },
                )
            })
            .collect())
    }

    // ----- invitations ----------------------------------------------------------

    fn invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
    ) -> StoreResult<Option<StoredInvitation>> {
        self.invitation_where(org, "invitation_id = $2", &id.as_str())
    }

    fn invitation_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<StoredInvitation>> {
        self.invitation_named(org, Named::of(TokenKey::Secret(hash)))
    }

    fn invitation_by_token(
        &mut self,
        org: &OrgId,
        token: TokenKey<'_>,
    ) -> StoreResult<Option<StoredInvitation>> {
        let named = Named::of(token);
        if !named.storable() {
            return Ok(None);
        }
        self.invitation_named(org, named)
    }

    fn open_invitation_for(
        &mut self,
        org: &OrgId,
        key: &str,
    ) -> StoreResult<Option<StoredInvitation>> {
        self.alive()?;
        if key.contains('\0') {
            return Ok(None);
        }
        let cached = self.recipients.take_open(org, key);
        if let Some(open) = cached {
            return open.map(|(_, b)| from_body("invitation", &b)).transpose();
        }
        self.invitation_where(
            org,
            "recipient_key = $2 AND status IN ('staged', 'pending')",
            &key,
        )
    }

    fn put_invitation(&mut self, inv: &StoredInvitation) -> StoreResult<()> {
        self.alive()?;
        key_text("org_id", inv.org_id.as_str())?;
        let id = key_text("invitation id", inv.id.as_str())?.to_owned();
        let batch = key_text("batch id", inv.batch_id.as_str())?.to_owned();
        let key = key_text("recipient_key", &inv.recipient_key)?.to_owned();
        let role = key_text("role", &inv.role)?.to_owned();
        let license = key_text("license_type", &inv.license_type)?.to_owned();
        let inviter = inv
            .inviter
            .as_ref()
            .map(|m| key_text("inviter", m.as_str()).map(str::to_owned))
            .transpose()?;
        // Only the hash of an invitation found by it is a column (indexed,
        // unique); one found by id keeps its hash in the body.
        let hash: Option<Vec<u8>> = inv.lookup_hash().map(|h| h.0.to_vec());
        let body = to_body(inv)?;
        // A row that repeats a buffered id, key or secret, or another
        // organization's, writes the buffer first: the statement checks
        // each row against the table, not against the rows beside it.
        let repeats = self.invitations.as_ref().is_some_and(|b| {
            b.org != inv.org_id
                || b.rows.len() >= MAX_BUFFERED_INVITATIONS
                || b.ids.contains(&id)
                || b.keys.contains(&key)
                || hash.as_ref().is_some_and(|h| b.secrets.contains(h))
        });
        if repeats {
            self.flush_invitations()?;
        }
        self.write_lock(&inv.org_id)?;
        self.recipients.forget_open(&inv.org_id, &key, &id);
        let (pid, person) = crate::people::of_invitation(inv);
        let buffer = self.invitations.get_or_insert_with(|| InvitationBuffer {
            org: inv.org_id.clone(),
            rows: Vec::new(),
            ids: HashSet::new(),
            keys: HashSet::new(),
            secrets: HashSet::new(),
        });
        buffer.ids.insert(id.clone());
        buffer.keys.insert(key.clone());
        if let Some(h) = &hash {
            buffer.secrets.insert(h.clone());
        }
        buffer.rows.push(InvitationRow {
            id,
            batch,
            key,
            status: inv.status.as_str(),
            role,
            kind: inv.kind.as_str(),
            license,
            hash,
            created: split(inv.created_at),
            expires: inv.expires_at.map(split),
            body,
            open: inv.status.is_open(),
            inviter,
            user_ref: inv.user_ref.clone(),
            pid,
            person,
        });
        Ok(())
    }

    fn list_invitations(
        &mut self,
        org: &OrgId,
        q: &InvitationQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<StoredInvitation>> {
        let after = q
            .after
            .as_deref()
            .map(parse_invitation_cursor)
            .transpose()?;
        let limit = page_limit(q.limit);
        self.touch(org)?;
        let sources = invitation_sources(&q.statuses);
        let mut p = Params::default();
        let org_p = p.bind(org.as_str().to_owned());
        // `now` is bound only when a filter compares with it (an unused
        // parameter has no type PostgreSQL could infer).
        let expired = if sources.iter().any(|(_, f)| *f != PendingFilter::Any) {
            let now = split(now);
            let (now_s, now_ns) = (p.bind(now.0), p.bind(now.1));
            format!("(expires_s IS NOT NULL AND (expires_s, expires_ns) <= ({now_s}, {now_ns}))")
        } else {
            String::new()
        };
        let status_cond = |status: &str, f: PendingFilter| -> String {
            match f {
                PendingFilter::Any => format!("status = '{status}'"),
                PendingFilter::NotExpired => format!("status = '{status}' AND NOT {expired}"),
                PendingFilter::Expired => format!("status = '{status}' AND {expired}"),
            }
        };
        let mut filters = String::new();
        if let Some(((s, ns), id)) = after {
            let (a, b, c) = (p.bind(s), p.bind(ns), p.bind(id.into_string()));
            filters.push_str(&format!(
                " AND (created_s, created_ns, invitation_id) < ({a}, {b}, {c})"
            ));
        }
        if let Some(s) = &q.search {
            let (raw, lower) = (p.bind(s.clone()), p.bind(s.to_lowercase()));
            filters.push_str(&format!(
                " AND (strpos(recipient_key, {raw}) > 0 OR strpos(recipient_key, {lower}) > 0)"
            ));
        }
        let lim = p.bind(limit + 1);
        let order = "ORDER BY created_s DESC, created_ns DESC, invitation_id DESC";
        let sql = match &q.batch {
            Some(batch) => {
                let b = p.bind(batch.as_str().to_owned());
                let statuses = if q.statuses.is_empty() {
                    String::new()
                } else {
                    let any: Vec<String> = sources
                        .iter()
                        .map(|(s, f)| format!("({})", status_cond(s, *f)))
                        .collect();
                    format!(" AND ({})", any.join(" OR "))
                };
                format!(
                    "SELECT body::text, created_s, created_ns, invitation_id FROM invitations
                     WHERE org_id = {org_p} AND batch_id = {b}{statuses}{filters}
                     {order} LIMIT {lim}"
                )
            }
            None => {
                let subqueries: Vec<String> = sources
                    .iter()
                    .map(|(s, f)| {
                        format!(
                            "(SELECT body, created_s, created_ns, invitation_id FROM invitations
                              WHERE org_id = {org_p} AND {}{filters} {order} LIMIT {lim})",
                            status_cond(s, *f)
                        )
                    })
                    .collect();
                format!(
                    "SELECT body::text, created_s, created_ns, invitation_id FROM ({}) t
                     {order} LIMIT {lim}",
                    subqueries.join(" UNION ALL ")
                )
            }
        };
        let rows = self.query_boxed(&sql, &p.0)?;
        page_of(rows, limit, "invitation", |r| {
            let s: i64 = get(r, 1)?;
            let ns: i32 = get(r, 2)?;
            let id: &str = get(r, 3)?;
            Ok(invitation_cursor((s, ns), id))
        })
    }

    fn due_invitations(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<StoredInvitation>> {
        let (s, ns) = split(now);
        let limit = to_i64(limit as u64);
        match org {
            Some(org) => {
                self.touch(org)?;
                let rows = self.query(
                    "SELECT body::text FROM invitations
                     WHERE org_id = $1 AND status = 'pending' AND expires_s IS NOT NULL
                       AND (expires_s, expires_ns) <= ($2, $3)
                     ORDER BY expires_s, expires_ns, invitation_id LIMIT $4",
                    &[&org.as_str(), &s, &ns, &limit],
                )?;
                rows.iter().map(|r| body(r, 0, "invitation")).collect()
            }
            None => {
                // Every organization's: each row with its organization's
                // version, read in the same statement.
                let rows = self.query(
                    "SELECT i.body::text, i.org_id, h.version
                     FROM invitations i LEFT JOIN org_heads h ON h.org_id = i.org_id
                     WHERE i.status = 'pending' AND i.expires_s IS NOT NULL
                       AND (i.expires_s, i.expires_ns) <= ($1, $2)
                     ORDER BY i.expires_s, i.expires_ns, i.org_id, i.invitation_id LIMIT $3",
                    &[&s, &ns, &limit],
                )?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let org = OrgId::from(get::<String>(r, 1)?);
                    self.note_version(&org, get(r, 2)?, None);
                    out.push(body(r, 0, "invitation")?);
                }
                Ok(out)
            }
        }
    }

    // ----- events ---------------------------------------------------------------

    fn append_event(&mut self, event: Event) -> StoreResult<u64> {
        let event = &event;
        self.alive()?;
        key_text("org_id", event.org_id.as_str())?;
        self.write_lock(&event.org_id)?;
        // The event's number follows the seq read with the organization's
        // version while the lock waits for a statement (the lock's answer
        // must repeat it, [`Self::locked`]); else it is the lock's answer.
        let numbered = self.lock.as_ref().is_some_and(|(o, _)| *o == event.org_id)
            && self
                .heads
                .get(&event.org_id)
                .is_some_and(|h| !h.writing && h.read_seq.is_some());
        if !numbered {
            self.resolve_lock()?;
        }
        let head = self
            .heads
            .get_mut(&event.org_id)
            .ok_or_else(|| StoreError::Corrupt("the organization lock was lost".into()))?;
        head.event_seq += 1;
        let seq = head.event_seq;
        let mut stored = event.clone();
        stored.seq = to_u64(seq);
        let b = to_body(&stored)?;
        self.pending
            .entry(event.org_id.clone())
            .or_default()
            .events
            .push((seq, b));
        Ok(stored.seq)
    }

    fn events(&mut self, org: &OrgId, after: u64, limit: usize) -> StoreResult<Vec<Event>> {
        self.touch(org)?;
        self.flush()?;
        let rows = self.query(
            "SELECT body::text FROM events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&org.as_str(), &to_i64(after), &to_i64(limit as u64)],
        )?;
        rows.iter().map(|r| body(r, 0, "event")).collect()
    }

    fn event_feed(
        &mut self,
        after: Option<&str>,
        kinds: &[String],
        limit: usize,
    ) -> StoreResult<Vec<enlist::FeedEvent>> {
        let bad = || StoreError::InvalidCursor {
            list: "event feed".into(),
        };
        // `<transaction id>.<position>`: both decimal, as the feed hands
        // them out.
        let (tx_id, pos) = match after {
            None => ("0".to_owned(), 0i64),
            Some(a) => {
                let (t, p) = a.split_once('.').ok_or_else(bad)?;
                let t: u64 = t.parse().map_err(|_| bad())?;
                let p: i64 = p.parse().map_err(|_| bad())?;
                if p < 0 {
                    return Err(bad());
                }
                (t.to_string(), p)
            }
        };
        let kinds: Option<Vec<&str>> =
            (!kinds.is_empty()).then(|| kinds.iter().map(String::as_str).collect());
        self.flush()?;
        // Only transactions older than the snapshot's xmin: they have all
        // ended, so nothing can appear before this page later (see
        // migration 0006). `ORDER BY` names the table's columns (`e.`): a
        // bare `feed_tx` is the select list's `feed_tx::text`, which sorted
        // every event of the store as text for each page (and put "10"
        // before "9"); by the columns, a page is a walk of `events_feed`
        // from the cursor.
        let rows = self.query(
            "SELECT e.feed_tx::text, e.feed_pos, e.body::text FROM events AS e
             WHERE (e.feed_tx, e.feed_pos) > ($1::text::xid8, $2)
               AND e.feed_tx < pg_snapshot_xmin(pg_current_snapshot())
               AND ($3::text[] IS NULL OR e.kind = ANY($3::text[]))
             ORDER BY e.feed_tx, e.feed_pos
             LIMIT $4",
            &[&tx_id, &pos, &kinds, &to_i64(limit as u64)],
        )?;
        rows.iter()
            .map(|r| {
                let t: &str = get(r, 0)?;
                let p: i64 = get(r, 1)?;
                Ok(enlist::FeedEvent::new(
                    format!("{t}.{p}"),
                    body(r, 2, "event")?,
                ))
            })
            .collect()
    }

    // ----- the outbox -----------------------------------------------------------

    fn put_outbox_message(&mut self, msg: OutboxMessage) -> StoreResult<()> {
        let msg = &msg;
        self.alive()?;
        key_text("org_id", msg.org_id.as_str())?;
        let id = key_text("message id", msg.id.as_str())?.to_owned();
        let invitation_id = key_text("invitation id", msg.invitation_id.as_str())?.to_owned();
        self.write_lock(&msg.org_id)?;
        self.queued.clear();
        let row = OutboxRow {
            id: id.clone(),
            invitation_id,
            status: msg.status.as_str(),
            next: split(msg.next_attempt_at),
            created: split(msg.created_at),
            body: to_body(msg)?,
        };
        self.pending
            .entry(msg.org_id.clone())
            .or_default()
            .outbox
            .insert(id, row);
        Ok(())
    }

    fn outbox_message(&mut self, id: &MessageId) -> StoreResult<Option<OutboxMessage>> {
        self.flush_for_outbox()?;
        if !self.read_only {
            // A writing transaction reads a message to change it (a claim,
            // a delivery's outcome): it locks the organization now, so that
            // workers on the same organization queue here instead of
            // failing at the write with a conflict (the organization's
            // lock is what the write would take anyway, ADR 0007).
            self.lock_org_of_message(id)?;
        }
        let rows = self.query(
            "SELECT o.body::text, o.org_id, h.version
             FROM outbox o LEFT JOIN org_heads h ON h.org_id = o.org_id
             WHERE o.message_id = $1
             LIMIT 2",
            &[&id.as_str()],
        )?;
        if rows.len() > 1 {
            return Err(StoreError::Corrupt(format!(
                "the message id {id} is stored in two organizations"
            )));
        }
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let org = OrgId::from(get::<String>(r, 1)?);
        self.note_version(&org, get(r, 2)?, None);
        Ok(Some(body(r, 0, "outbox message")?))
    }

    fn due_outbox(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.flush_for_outbox()?;
        let (s, ns) = split(now);
        let limit = to_i64(limit as u64);
        match org {
            Some(org) => {
                self.touch(org)?;
                let rows = self.query(
                    "SELECT body::text FROM outbox
                     WHERE org_id = $1 AND status = 'queued' AND (next_s, next_ns) <= ($2, $3)
                     ORDER BY next_s, next_ns, message_id LIMIT $4",
                    &[&org.as_str(), &s, &ns, &limit],
                )?;
                rows.iter().map(|r| body(r, 0, "outbox message")).collect()
            }
            None => {
                let rows = self.query(
                    "SELECT o.body::text, o.org_id, h.version
                     FROM outbox o LEFT JOIN org_heads h ON h.org_id = o.org_id
                     WHERE o.status = 'queued' AND (o.next_s, o.next_ns) <= ($1, $2)
                     ORDER BY o.next_s, o.next_ns, o.message_id LIMIT $3",
                    &[&s, &ns, &limit],
                )?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let org = OrgId::from(get::<String>(r, 1)?);
                    self.note_version(&org, get(r, 2)?, None);
                    out.push(body(r, 0, "outbox message")?);
                }
                Ok(out)
            }
        }
    }

    fn next_outbox_due(&mut self, org: Option<&OrgId>) -> StoreResult<Option<DateTime<Utc>>> {
        self.flush_for_outbox()?;
        // Through `outbox_due` / `outbox_due_all`: the first entry.
        let rows = match org {
            Some(org) => {
                self.touch(org)?;
                self.query(
                    "SELECT next_s, next_ns FROM outbox
                     WHERE org_id = $1 AND status = 'queued'
                     ORDER BY next_s, next_ns, message_id LIMIT 1",
                    &[&org.as_str()],
                )?
            }
            None => self.query(
                "SELECT next_s, next_ns FROM outbox WHERE status = 'queued'
                 ORDER BY next_s, next_ns, message_id LIMIT 1",
                &[],
            )?,
        };
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let (s, ns): (i64, i32) = (get(r, 0)?, get(r, 1)?);
        u32::try_from(ns)
            .ok()
            .and_then(|ns| DateTime::from_timestamp(s, ns))
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt("an outbox time out of range".to_owned()))
    }

    fn failed_outbox(
        &mut self,
        org: &OrgId,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<OutboxMessage>> {
        let after = after.map(store::cursor::parse_message).transpose()?;
        let limit = page_limit(limit);
        self.touch(org)?;
        self.flush_for_outbox()?;
        // No index covers failed messages (migration 0001 indexes queued
        // ones): this walks the organization's messages by the primary
        // key. An admin's page, not a hot path; an index `outbox_failed ON
        // outbox (org_id, created_s, created_ns, message_id) WHERE status =
        // 'failed'` would make it a walk.
        let fetch = limit.saturating_add(1);
        let rows = match after {
            Some((at, id)) => {
                let (s, ns) = split(at);
                self.query(
                    "SELECT body::text, created_s, created_ns, message_id FROM outbox
                     WHERE org_id = $1 AND status = 'failed'
                       AND (created_s, created_ns, message_id) < ($2, $3, $4)
                     ORDER BY created_s DESC, created_ns DESC, message_id DESC LIMIT $5",
                    &[&org.as_str(), &s, &ns, &id.as_str(), &fetch],
                )?
            }
            None => self.query(
                "SELECT body::text, created_s, created_ns, message_id FROM outbox
                 WHERE org_id = $1 AND status = 'failed'
                 ORDER BY created_s DESC, created_ns DESC, message_id DESC LIMIT $2",
                &[&org.as_str(), &fetch],
            )?,
        };
        page_of(rows, limit, "outbox message", |r| {
            let s: i64 = get(r, 1)?;
            let ns: i32 = get(r, 2)?;
            let id: &str = get(r, 3)?;
            Ok(store::cursor::message(s, i64::from(ns), id))
        })
    }

    fn queued_messages_for(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.alive()?;
        let prefetched = self
            .queued
            .remove(&(org.clone(), invitation.as_str().to_owned()));
        if let Some(bodies) = prefetched {
            return bodies
                .iter()
                .map(|b| from_body("outbox message", b))
                .collect();
        }
        self.touch(org)?;
        self.flush_for_outbox()?;
        let rows = self.query(
            "SELECT body::text FROM outbox
             WHERE org_id = $1 AND invitation_id = $2 AND status = 'queued'
             ORDER BY created_s, created_ns, message_id",
            &[&org.as_str(), &invitation.as_str()],
        )?;
        rows.iter().map(|r| body(r, 0, "outbox message")).collect()
    }

    // ----- email templates ------------------------------------------------------

    fn email_settings(&mut self, org: &OrgId) -> StoreResult<Option<EmailSettings>> {
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT body::text FROM email_settings WHERE org_id = $1",
            &[&org.as_str()],
        )?;
        row.map(|r| body(&r, 0, "email settings")).transpose()
    }

    fn put_email_settings(&mut self, settings: &EmailSettings) -> StoreResult<()> {
        let o = key_text("org_id", settings.org_id.as_str())?;
        self.write_lock(&settings.org_id)?;
        let b = to_body(settings)?;
        self.execute(
            "INSERT INTO email_settings (org_id, body) VALUES ($1, $2::text::json)
             ON CONFLICT (org_id) DO UPDATE SET body = EXCLUDED.body",
            &[&o, &b],
        )?;
        Ok(())
    }

    fn email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<Option<EmailTemplate>> {
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT body::text FROM email_templates WHERE org_id = $1 AND locale = $2",
            &[&org.as_str(), &locale],
        )?;
        row.map(|r| body(&r, 0, "email template")).transpose()
    }

    fn email_templates(&mut self, org: &OrgId) -> StoreResult<Vec<EmailTemplate>> {
        self.touch(org)?;
        let rows = self.query(
            "SELECT body::text FROM email_templates WHERE org_id = $1 ORDER BY locale",
            &[&org.as_str()],
        )?;
        rows.iter().map(|r| body(r, 0, "email template")).collect()
    }

    fn put_email_template(&mut self, template: &EmailTemplate) -> StoreResult<()> {
        let o = key_text("org_id", template.org_id.as_str())?;
        let l = key_text("locale", &template.locale)?;
        self.write_lock(&template.org_id)?;
        let b = to_body(template)?;
        self.execute(
            "INSERT INTO email_templates (org_id, locale, body) VALUES ($1, $2, $3::text::json)
             ON CONFLICT (org_id, locale) DO UPDATE SET body = EXCLUDED.body",
            &[&o, &l, &b],
        )?;
        Ok(())
    }

    fn delete_email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<bool> {
        self.write_lock(org)?;
        let n = self.execute(
            "DELETE FROM email_templates WHERE org_id = $1 AND locale = $2",
            &[&org.as_str(), &locale],
        )?;
        Ok(n > 0)
    }

    // ----- batch reports ----------------------------------------------------------

    fn put_batch_report(&mut self, report: enlist::BatchReport) -> StoreResult<()> {
        let report = &report;
        let o = key_text("org_id", report.org_id.as_str())?;
        let id = key_text("batch_id", report.batch_id.as_str())?;
        self.write_lock(&report.org_id)?;
        let (secs, nanos) = split(report.created_at);
        let b = to_body(report)?;
        self.execute(
            "INSERT INTO batch_reports (org_id, batch_id, created_s, created_ns, body)
             VALUES ($1, $2, $3, $4, $5::text::json)
             ON CONFLICT (org_id, batch_id) DO UPDATE SET
                created_s = EXCLUDED.created_s, created_ns = EXCLUDED.created_ns,
                body = EXCLUDED.body",
            &[&o, &id, &secs, &nanos, &b],
        )?;
        Ok(())
    }

    fn batch_report(
        &mut self,
        org: &OrgId,
        batch: &enlist::BatchId,
    ) -> StoreResult<Option<enlist::BatchReport>> {
        if batch.as_str().contains('\0') {
            // Nothing is stored under a key PostgreSQL cannot hold.
            return Ok(None);
        }
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT body::text FROM batch_reports WHERE org_id = $1 AND batch_id = $2",
            &[&org.as_str(), &batch.as_str()],
        )?;
        row.map(|r| body(&r, 0, "batch report")).transpose()
    }

    fn delete_batch_reports_before(
        &mut self,
        org: &OrgId,
        before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<u64> {
        self.write_lock(org)?;
        let (secs, nanos) = split(before);
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        let n = self.execute(
            "DELETE FROM batch_reports WHERE org_id = $1 AND batch_id IN (
                SELECT batch_id FROM batch_reports
                WHERE org_id = $1 AND (created_s, created_ns) < ($2, $3)
                ORDER BY created_s, created_ns, batch_id LIMIT $4)",
            &[&org.as_str(), &secs, &nanos, &lim],
        )?;
        Ok(n)
    }

    fn standing(
        &mut self,
        org: &OrgId,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, enlist::KeyStanding)>> {
        // A key with a NUL cannot be stored: nobody holds it.
        let mut keys = enlist::store::standing_keys(keys);
        keys.retain(|k| !k.contains('\0'));
        self.touch(org)?;
        let (now_s, now_ns) = split(now);
        let mut found = enlist::store::Standings::default();
        // The whole list is one array parameter; chunks bound a statement's
        // size. Each key is one probe of `members_live_contact` or
        // `invitations_open_recipient`.
        for chunk in keys.chunks(STANDING_CHUNK) {
            let rows = self.query(STANDING_SQL, &[&org.as_str(), &chunk, &now_s, &now_ns])?;
            for r in &rows {
                let what: i32 = get(r, 0)?;
                let key: String = get(r, 1)?;
                let id: String = get(r, 2)?;
                if what == 0 {
                    found.member(key, MemberId::from(id));
                } else {
                    found.invitation(key, InvitationId::from(id));
                }
            }
        }
        Ok(found.into_vec())
    }

    fn prefetch_recipients(&mut self, org: &OrgId, keys: &[enlist::Text]) -> StoreResult<()> {
        // A key with a NUL cannot be stored: `member_by_contact` answers it
        // without a read.
        let mut keys = enlist::store::standing_keys(keys);
        keys.retain(|k| !k.contains('\0'));
        if keys.is_empty() {
            return Ok(());
        }
        self.touch(org)?;
        // One probe of `members_live_contact` and one of
        // `invitations_open_recipient` per key, the list one array.
        let mut read = Vec::with_capacity(keys.len());
        let mut seen = HashSet::with_capacity(keys.len());
        for chunk in keys.chunks(STANDING_CHUNK) {
            let rows = self.query(RECIPIENTS_SQL, &[&org.as_str(), &chunk])?;
            for r in &rows {
                let (key, member, open) = recipient_row(r)?;
                let entry = Prefetched {
                    member: Some(member),
                    open: Some(open),
                };
                if !seen.insert(key.clone()) {
                    // The unique indexes allow one of each per key.
                    return Err(StoreError::Corrupt(
                        "two live members or open invitations for one key".into(),
                    ));
                }
                read.push((key, entry));
            }
        }
        for (key, entry) in read {
            self.recipients.insert(org, key, entry);
        }
        Ok(())
    }

    fn person_invitations(
        &mut self,
        lookup: &enlist::PersonLookup,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<StoredInvitation>> {
        let after = lookup.after_key()?;
        let take = to_i64((enlist::store::page_limit(lookup.limit) + 1) as u64);
        let (s, ns) = split(now);
        let (cs, cns, corg, cid) = match &after {
            Some((at, org, id)) => {
                let (s, ns) = split(*at);
                (Some(s), Some(ns), Some(org.as_str()), Some(id.as_str()))
            }
            None => (None, None, None, None),
        };
        let org = lookup.org.as_ref().map(OrgId::as_str);
        let mut walks = Vec::new();
        // Across organizations: each row with its organization's version,
        // read in the same statement (as `due_invitations`).
        for (column, bound, key) in [
            ("user_ref", "", lookup.user_ref.as_deref()),
            (
                "recipient_key",
                " AND i.user_ref IS NULL",
                lookup.email_key.as_deref(),
            ),
        ] {
            let Some(key) = key else { continue };
            let sql = format!(
                "SELECT i.body::text, i.org_id, h.version
                 FROM invitations i LEFT JOIN org_heads h ON h.org_id = i.org_id
                 WHERE i.{column} = $1 AND i.status = 'pending'{bound}
                   AND (i.expires_s IS NULL OR (i.expires_s, i.expires_ns) > ($2, $3))
                   AND ($4::text IS NULL OR i.org_id = $4::text)
                   AND ($5::bigint IS NULL
                        OR (i.created_s, i.created_ns, i.org_id, i.invitation_id)
                           < ($5::bigint, $6::integer, $7::text, $8::text))
                 ORDER BY i.created_s DESC, i.created_ns DESC, i.org_id DESC, i.invitation_id DESC
                 LIMIT $9"
            );
            let rows = self.query(&sql, &[&key, &s, &ns, &org, &cs, &cns, &corg, &cid, &take])?;
            let mut walk = Vec::with_capacity(rows.len());
            for r in &rows {
                let o = OrgId::from(get::<String>(r, 1)?);
                self.note_version(&o, get(r, 2)?, None);
                walk.push(body(r, 0, "invitation")?);
            }
            walks.push(walk);
        }
        enlist::store::inbox::person_page(walks, lookup.limit)
    }

    fn people(
        &mut self,
        org: &OrgId,
        query: &enlist::PeopleQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<enlist::Person>> {
        self.touch(org)?;
        // This transaction's own changes of the view first.
        self.flush()?;
        let mut run = |sql: &str, p: &[&(dyn ToSql + Sync)]| self.query(sql, p);
        crate::people::page(&mut run, org, query, now)
    }

    fn open_invitations_by_inviter(
        &mut self,
        org: &OrgId,
        inviter: &MemberId,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.touch(org)?;
        let (s, ns) = split(now);
        // Served by `invitations_open_by_inviter` (migration 0006): the
        // inviter column and the same partial-index predicate.
        let row = self.query_opt(
            "SELECT count(*)::bigint FROM invitations
             WHERE org_id = $1 AND inviter_id = $2
               AND status IN ('staged', 'pending')
               AND (status = 'staged' OR expires_s IS NULL OR expires_s > $3
                    OR (expires_s = $3 AND expires_ns > $4))",
            &[&org.as_str(), &inviter.as_str(), &s, &ns],
        )?;
        Ok(match row {
            Some(r) => to_u64(get(&r, 0)?),
            None => 0,
        })
    }

    // ----- organizations across the store (issue 14, orgs) -------------------

    fn organization_by_slug(&mut self, slug: &str) -> StoreResult<Option<Organization>> {
        let slug = key_text("slug", slug)?;
        if slug.is_empty() {
            return Ok(None);
        }
        let row = self.query_opt(crate::orgs::BY_SLUG, &[&slug])?;
        row.map(|r| body(&r, 0, "organization")).transpose()
    }

    fn list_organizations(
        &mut self,
        query: &enlist::OrganizationQuery,
    ) -> StoreResult<Page<Organization>> {
        let after = query
            .after
            .as_deref()
            .map(store::cursor::parse_organization)
            .transpose()?;
        let after = after
            .as_deref()
            .map(|a| key_text("cursor", a))
            .transpose()?;
        let prefix = query
            .prefix
            .as_deref()
            .map(|p| key_text("prefix", p))
            .transpose()?;
        let limit = store::page_limit(query.limit);
        let n = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        // With a prefix, the ranges of the slug and name indexes it
        // bounds (migration 0012); a prefix no text bounds above (only
        // U+10FFFF characters) filters the walk by slug instead.
        let range = prefix.map(store::people::prefix_range);
        let rows = match &range {
            Some((low, Some(high))) => {
                self.query(crate::orgs::LIST_BY_PREFIX, &[&after, low, high, &n])?
            }
            _ => self.query(crate::orgs::LIST, &[&after, &prefix, &n])?,
        };
        store::collect_page(
            rows.iter().map(|r| {
                let slug: String = get(r, 0)?;
                Ok((slug, Some(body(r, 1, "organization")?)))
            }),
            limit,
            |slug| Ok(store::cursor::organization(slug)),
        )
    }

    fn memberships_of(
        &mut self,
        user_ref: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<(Organization, Member)>> {
        let user_ref = key_text("user_ref", user_ref)?;
        let after = after.map(store::cursor::parse_account).transpose()?;
        let after = after
            .as_ref()
            .map(|a| key_text("cursor", a.as_str()))
            .transpose()?;
        let limit = store::page_limit(limit);
        let n = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let rows = self.query(crate::orgs::MEMBERSHIPS, &[&user_ref, &after, &n])?;
        store::collect_page(
            rows.iter().map(|r| {
                let org: String = get(r, 0)?;
                let o: Organization = body(r, 1, "organization")?;
                let m: Member = body(r, 2, "member")?;
                Ok((org, Some((o, m))))
            }),
            limit,
            |org| Ok(store::cursor::account(org)),
        )
    }

    fn purge_organization(&mut self, org: &OrgId) -> StoreResult<()> {
        let o = key_text("org_id", org.as_str())?;
        self.write_lock(org)?;
        // What this transaction buffered for it goes too.
        self.pending.remove(org);
        self.recipients.purge(org);
        self.queued.retain(|(o, _), _| o != org);
        if self.invitations.as_ref().is_some_and(|b| &b.org == org) {
            // Deleted with the rest: never written.
            self.invitations = None;
        }
        for table in crate::orgs::ORG_TABLES {
            self.execute(&format!("DELETE FROM {table} WHERE org_id = $1"), &[&o])?;
        }
        // Its `org_heads` row went with the rest (this transaction holds
        // its lock until commit): a write to the organization later in
        // this transaction makes the row again, and its events are
        // numbered from 1, as in a store that never held it. The head
        // this transaction kept would have gone on from the purged
        // events' numbers and written them to no row.
        self.heads.insert(org.clone(), Head::absent());
        Ok(())
    }

    fn org_domain(&mut self, org: &OrgId, domain: &str) -> StoreResult<Option<StoredDomain>> {
        if domain.contains('\0') {
            return Ok(None);
        }
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT body::text FROM org_domains WHERE org_id = $1 AND domain = $2",
            &[&org.as_str(), &domain],
        )?;
        row.map(|r| body(&r, 0, "domain")).transpose()
    }

    fn org_domains(&mut self, org: &OrgId) -> StoreResult<Vec<StoredDomain>> {
        self.touch(org)?;
        let rows = self.query(
            "SELECT body::text FROM org_domains WHERE org_id = $1 ORDER BY domain",
            &[&org.as_str()],
        )?;
        rows.iter().map(|r| body(r, 0, "domain")).collect()
    }

    fn put_org_domain(&mut self, d: &StoredDomain) -> StoreResult<()> {
        let o = key_text("org_id", d.org_id.as_str())?;
        let name = key_text("domain", &d.domain.domain)?;
        self.write_lock(&d.org_id)?;
        let verified = d.status == enlist::DomainStatus::Verified;
        if verified {
            self.refuse_if_found(
                "SELECT 1 FROM org_domains WHERE domain = $1 AND verified AND org_id <> $2",
                &[&name, &o],
                UniqueRule::DomainVerified,
            )?;
        }
        let b = to_body(d)?;
        self.execute(
            "INSERT INTO org_domains (org_id, domain, verified, body)
             VALUES ($1, $2, $3, $4::text::json)
             ON CONFLICT (org_id, domain) DO UPDATE SET
                verified = EXCLUDED.verified, body = EXCLUDED.body",
            &[&o, &name, &verified, &b],
        )?;
        Ok(())
    }

    fn delete_org_domain(&mut self, org: &OrgId, domain: &str) -> StoreResult<bool> {
        if domain.contains('\0') {
            return Ok(false);
        }
        self.write_lock(org)?;
        let n = self.execute(
            "DELETE FROM org_domains WHERE org_id = $1 AND domain = $2",
            &[&org.as_str(), &domain],
        )?;
        Ok(n > 0)
    }

    fn verified_domain(&mut self, domain: &str) -> StoreResult<Option<StoredDomain>> {
        if domain.contains('\0') {
            return Ok(None);
        }
        // Across organizations (no organization to touch): the unique
        // index makes it one row at most.
        let row = self.query_opt(
            "SELECT body::text FROM org_domains WHERE domain = $1 AND verified",
            &[&domain],
        )?;
        row.map(|r| body(&r, 0, "domain")).transpose()
    }

    fn membership_request(
        &mut self,
        org: &OrgId,
        id: &enlist::MembershipRequestId,
    ) -> StoreResult<Option<MembershipRequest>> {
        if id.as_str().contains('\0') {
            return Ok(None);
        }
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT body::text FROM membership_requests WHERE org_id = $1 AND request_id = $2",
            &[&org.as_str(), &id.as_str()],
        )?;
        row.map(|r| body(&r, 0, "membership request")).transpose()
    }

    fn membership_request_of(
        &mut self,
        org: &OrgId,
        user_ref: &str,
    ) -> StoreResult<Option<MembershipRequest>> {
        if user_ref.contains('\0') {
            return Ok(None);
        }
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT body::text FROM membership_requests WHERE org_id = $1 AND user_ref = $2",
            &[&org.as_str(), &user_ref],
        )?;
        row.map(|r| body(&r, 0, "membership request")).transpose()
    }

    fn put_membership_request(&mut self, r: &MembershipRequest) -> StoreResult<()> {
        let o = key_text("org_id", r.org_id.as_str())?;
        let id = key_text("request_id", r.id.as_str())?;
        let user_ref = key_text("user_ref", &r.user_ref)?;
        self.write_lock(&r.org_id)?;
        self.refuse_if_found(
            "SELECT 1 FROM membership_requests
             WHERE org_id = $1 AND user_ref = $2 AND request_id <> $3",
            &[&o, &user_ref, &id],
            UniqueRule::MembershipRequestAccount,
        )?;
        let (secs, nanos) = split(r.created_at);
        let status = r.status.as_str();
        let b = to_body(r)?;
        self.execute(
            "INSERT INTO membership_requests
                (org_id, request_id, user_ref, status, created_s, created_ns, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::json)
             ON CONFLICT (org_id, request_id) DO UPDATE SET
                user_ref = EXCLUDED.user_ref, status = EXCLUDED.status,
                created_s = EXCLUDED.created_s, created_ns = EXCLUDED.created_ns,
                body = EXCLUDED.body",
            &[&o, &id, &user_ref, &status, &secs, &nanos, &b],
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
            .map(store::cursor::parse_request)
            .transpose()?;
        let (secs, nanos, id) = match &after {
            Some((t, id)) => {
                let (s, n) = split(*t);
                (s, n, id.as_str().replace('\0', ""))
            }
            None => (i64::MIN, 0, String::new()),
        };
        self.touch(org)?;
        let limit = store::page_limit(query.limit);
        let status = query.status.map(|s| s.as_str());
        let rows = self.query(
            "SELECT body::text FROM membership_requests
             WHERE org_id = $1 AND ($2::text IS NULL OR status = $2)
               AND (created_s, created_ns, request_id) > ($3, $4, $5)
             ORDER BY created_s, created_ns, request_id LIMIT $6",
            &[
                &org.as_str(),
                &status,
                &secs,
                &nanos,
                &id,
                &to_i64(limit as u64 + 1),
            ],
        )?;
        let mut items: Vec<MembershipRequest> = rows
            .iter()
            .map(|r| body(r, 0, "membership request"))
            .collect::<StoreResult<_>>()?;
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = match items.last() {
            Some(r) if more => {
                let (s, n) = split(r.created_at);
                Some(store::cursor::request(s, i64::from(n), r.id.as_str()))
            }
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    // ----- invitation links (ADR 0013) -----------------------------------------

    fn link(&mut self, org: &OrgId, id: &LinkId) -> StoreResult<Option<StoredInviteLink>> {
        if id.as_str().contains('\0') {
            // Nothing is stored under a key PostgreSQL cannot hold.
            return Ok(None);
        }
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT body::text FROM links WHERE org_id = $1 AND link_id = $2",
            &[&org.as_str(), &id.as_str()],
        )?;
        row.map(|r| body(&r, 0, "invitation link")).transpose()
    }

    fn link_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<StoredInviteLink>> {
        self.touch(org)?;
        let row = self.query_opt(
            "SELECT body::text FROM links
             WHERE org_id = $1 AND secret_hash = $2 AND secret_hash IS NOT NULL",
            &[&org.as_str(), &hash.to_hex()],
        )?;
        row.map(|r| body(&r, 0, "invitation link")).transpose()
    }

    fn links(&mut self, org: &OrgId, limit: usize) -> StoreResult<Vec<StoredInviteLink>> {
        self.touch(org)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(
            "SELECT body::text FROM links WHERE org_id = $1
             ORDER BY created_s, created_ns, link_id LIMIT $2",
            &[&org.as_str(), &limit],
        )?;
        rows.iter().map(|r| body(r, 0, "invitation link")).collect()
    }

    fn put_link(&mut self, link: &StoredInviteLink) -> StoreResult<()> {
        let o = key_text("org_id", link.org_id.as_str())?;
        let id = key_text("link_id", link.id.as_str())?;
        self.write_lock(&link.org_id)?;
        let (secs, nanos) = split(link.created_at);
        let hash = link.secret_hash.map(|h| h.to_hex());
        let b = to_body(link)?;
        self.execute(
            "INSERT INTO links (org_id, link_id, secret_hash, created_s, created_ns, body)
             VALUES ($1, $2, $3, $4, $5, $6::text::json)
             ON CONFLICT (org_id, link_id) DO UPDATE SET
                secret_hash = EXCLUDED.secret_hash, created_s = EXCLUDED.created_s,
                created_ns = EXCLUDED.created_ns, body = EXCLUDED.body",
            &[&o, &id, &hash, &secs, &nanos, &b],
        )?;
        Ok(())
    }

    fn claim_outbox(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>> {
        if self.read_only || !self.heads.is_empty() {
            // Organizations read before: their versions were noted, and
            // claiming goes through the version check like any write.
            return enlist::store::claim_outbox_by_reading(self, org, now, until, limit);
        }
        self.flush_for_outbox()?;
        let (s, ns) = split(now);
        let lim = to_i64(limit as u64);
        // The organizations with due messages that no other transaction is
        // writing, locked: SKIP LOCKED leaves out the ones being written
        // (another worker claiming or recording, an invite) instead of
        // waiting for them. Rows of `outbox` are not locked one by one:
        // every write of an organization holds its `org_heads` row
        // (ADR 0007), so holding it is holding its messages.
        let locked = match org {
            Some(org) => self.query(
                "SELECT org_id, version, event_seq FROM org_heads WHERE org_id = $1
                 FOR NO KEY UPDATE SKIP LOCKED",
                &[&org.as_str()],
            )?,
            None => self.query(CLAIM_ORGS_SQL, &[&s, &ns, &lim])?,
        };
        let mut orgs = Vec::with_capacity(locked.len());
        for r in &locked {
            let o: String = get(r, 0)?;
            self.heads.insert(
                OrgId::from(o.clone()),
                Head {
                    version: Some(get(r, 1)?),
                    locked: true,
                    writing: false,
                    event_seq: get(r, 2)?,
                    read_seq: None,
                },
            );
            orgs.push(o);
        }
        if orgs.is_empty() {
            return Ok(Vec::new());
        }
        // Read after the locks: every commit of these organizations before
        // them is seen, and none can come until this one ends.
        let rows = self.query(
            "SELECT body::text FROM outbox
             WHERE org_id = ANY($1) AND status = 'queued' AND (next_s, next_ns) <= ($2, $3)
             ORDER BY next_s, next_ns, message_id LIMIT $4",
            &[&orgs, &s, &ns, &lim],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut m: OutboxMessage = body(r, 0, "outbox message")?;
            m.next_attempt_at = until;
            self.put_outbox_message(m.clone())?;
            out.push(m);
        }
        Ok(out)
    }
}

/// The organizations with messages due at `($1, $2)` (seconds,
/// nanoseconds), at most `$3`, by id, locked `FOR NO KEY UPDATE SKIP
/// LOCKED` (see `claim_outbox`). `queued` walks the organizations that
/// have queued messages by the `outbox_due` index, one probe each (a
/// "loose index scan"): the first queued row of the organization after
/// the last one found, which is also its earliest due, so an organization
/// is due when that row is. The walk grows with the organizations that
/// have queued messages, not with their messages: as a semi-join of
/// `org_heads` with the due rows, the plan read every due row of every
/// organization at each claim (a sequential scan of `outbox` in the
/// bench, 2.5 ms a claim, most of which found their one organization
/// locked by another worker). The heads are then read by key (`= ANY`,
/// in id order).
const CLAIM_ORGS_SQL: &str = "WITH RECURSIVE queued (org_id, next_s, next_ns) AS (
         (SELECT org_id, next_s, next_ns FROM outbox WHERE status = 'queued'
          ORDER BY org_id, next_s, next_ns, message_id LIMIT 1)
         UNION ALL
         SELECT n.org_id, n.next_s, n.next_ns FROM queued AS q CROSS JOIN LATERAL (
             SELECT o.org_id, o.next_s, o.next_ns FROM outbox AS o
             WHERE o.status = 'queued' AND o.org_id > q.org_id
             ORDER BY o.org_id, o.next_s, o.next_ns, o.message_id LIMIT 1) AS n
     )
     SELECT h.org_id, h.version, h.event_seq FROM org_heads AS h
     WHERE h.org_id = ANY (ARRAY(SELECT q.org_id FROM queued AS q
                                 WHERE (q.next_s, q.next_ns) <= ($1, $2)))
     ORDER BY h.org_id
     LIMIT $3
     FOR NO KEY UPDATE SKIP LOCKED";

impl PgTx<'_> {
    /// Takes the lock of the organization of message `id` (waiting for
    /// its writer, if any), in a writing transaction. The message is read
    /// after, in a statement of its own: one that waited for the lock would
    /// otherwise see the message as it was before the writer it waited
    /// for (READ COMMITTED re-reads only the locked row).
    fn lock_org_of_message(&mut self, id: &MessageId) -> StoreResult<()> {
        let rows = self.query(
            "SELECT h.org_id, h.version, h.event_seq FROM org_heads h
             WHERE h.org_id IN (SELECT o.org_id FROM outbox o WHERE o.message_id = $1)
             ORDER BY h.org_id
             FOR NO KEY UPDATE",
            &[&id.as_str()],
        )?;
        for r in &rows {
            let org = OrgId::from(get::<String>(r, 0)?);
            let head = Head {
                version: Some(get(r, 1)?),
                locked: true,
                writing: false,
                event_seq: get(r, 2)?,
                read_seq: None,
            };
            self.heads.entry(org).or_insert(head);
        }
        Ok(())
    }
}

/// Keys per statement of `Transaction::standing`.
const STANDING_CHUNK: usize = 1000;

fn group_row(r: &Row) -> StoreResult<Group> {
    let mut g: Group = body(r, 0, "group")?;
    g.member_count = to_u64(get(r, 1)?);
    Ok(g)
}

/// Up to `limit` items from `limit + 1` rows, with the cursor of the last
/// item when there is one more.
fn page_of<T: serde::de::DeserializeOwned>(
    rows: Vec<Row>,
    limit: i64,
    what: &str,
    cursor: impl Fn(&Row) -> StoreResult<String>,
) -> StoreResult<Page<T>> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    // The rows are the page and one more if any: core assembles the page,
    // and only the rows on it are decoded.
    let page = store::collect_page(rows.iter().map(|r| Ok((r, Some(r)))), limit, |r| cursor(r))?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|r| body(r, 0, what))
            .collect::<StoreResult<_>>()?,
        next_cursor: page.next_cursor,
    })
}

impl PgTx<'_> {
    /// The plan of the people view's walk for `query` (see
    /// [`PostgresStore::explain_people`]).
    pub(crate) fn explain_people(
        &mut self,
        org: &OrgId,
        query: &enlist::PeopleQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let mut run = |sql: &str, p: &[&(dyn ToSql + Sync)]| self.query(sql, p);
        crate::people::explain(&mut run, org, query, now)
    }

    /// The generic plans of the look-ups by key (see
    /// [`PostgresStore::explain_lookups`]): [`RECIPIENTS_SQL`], then
    /// [`STANDING_SQL`] at time zero.
    pub(crate) fn explain_lookups(
        &mut self,
        org: &OrgId,
        keys: &[enlist::Text],
    ) -> StoreResult<[Vec<String>; 2]> {
        // `EXPLAIN EXECUTE` takes no parameters: the values go as literals.
        let literal = |v: &str| format!("'{}'", v.replace('\'', "''"));
        let org = literal(org.as_str());
        let keys: Vec<String> = keys.iter().map(|k| literal(k)).collect();
        let keys = format!("ARRAY[{}]::text[]", keys.join(", "));
        Ok([
            self.explain_generic("text, text[]", RECIPIENTS_SQL, &format!("{org}, {keys}"))?,
            self.explain_generic(
                "text, text[], bigint, int4",
                STANDING_SQL,
                &format!("{org}, {keys}, 0, 0"),
            )?,
        ])
    }

    /// The generic plan of the organizations a claim across organizations
    /// locks (see [`PostgresStore::explain_claim`]).
    pub(crate) fn explain_claim(&mut self, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
        let (s, ns) = split(now);
        self.explain_generic(
            "bigint, int4, bigint",
            CLAIM_ORGS_SQL,
            &format!("{s}, {ns}, 50"),
        )
    }

    /// See [`PostgresStore::explain_invitation_write`].
    pub(crate) fn explain_invitation_write(
        &mut self,
        org: &OrgId,
        invitation: &str,
        pid: &str,
    ) -> StoreResult<Vec<String>> {
        let literal = |v: &str| format!("'{}'", v.replace('\'', "''"));
        let one = |v: &str| format!("ARRAY[{}]::text[]", literal(v));
        let org = literal(org.as_str());
        // One row: an invitation (closed, no secret) of person `pid`.
        let mut types = vec!["text".to_owned()];
        let mut args = vec![org];
        for (ty, arg) in [
            ("text[]", one(invitation)),
            ("text[]", one("bat")),
            ("text[]", one("key")),
            ("text[]", one("accepted")),
            ("text[]", one("member")),
            ("text[]", one("member")),
            ("text[]", one("standard")),
            ("bytea[]", "ARRAY[NULL]::bytea[]".to_owned()),
            ("int8[]", "ARRAY[0]::int8[]".to_owned()),
            ("int4[]", "ARRAY[0]::int4[]".to_owned()),
            ("int8[]", "ARRAY[NULL]::int8[]".to_owned()),
            ("int4[]", "ARRAY[NULL]::int4[]".to_owned()),
            ("text[]", one("{}")),
            ("bool[]", "ARRAY[false]".to_owned()),
            ("text[]", "ARRAY[NULL]::text[]".to_owned()),
            ("text[]", "ARRAY[NULL]::text[]".to_owned()),
            ("text[]", one(pid)),
        ] {
            types.push(ty.to_owned());
            args.push(arg);
        }
        self.explain_generic(&types.join(", "), WRITE_INVITATIONS_SQL, &args.join(", "))
    }

    /// See [`PostgresStore::explain_accept_reads`].
    pub(crate) fn explain_accept_reads(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
        invitation: &InvitationId,
        member: (&str, &str, &str),
    ) -> StoreResult<[Vec<String>; 3]> {
        let literal = |v: &str| format!("'{}'", v.replace('\'', "''"));
        let org = literal(org.as_str());
        let hash = format!("'\\x{}'::bytea", hash.to_hex());
        let (id, key, user_ref) = member;
        Ok([
            self.explain_generic(
                "text, bytea, bool",
                BY_SECRET_SQL,
                &format!("{org}, {hash}, true"),
            )?,
            self.explain_generic(
                "text, text, bool",
                BY_ID_SQL,
                &format!("{org}, {}, true", literal(invitation.as_str())),
            )?,
            self.explain_generic(
                "text, text, bool, text, text, text",
                MEMBER_BEFORE_WRITE_SQL,
                &format!(
                    "{org}, {}, true, {}, {}, {}",
                    literal(id),
                    literal(key),
                    literal(user_ref),
                    literal(&format!("m.{id}"))
                ),
            )?,
        ])
    }

    /// See [`PostgresStore::explain_people_writes`].
    pub(crate) fn explain_people_writes(&mut self, org: &OrgId) -> StoreResult<Vec<String>> {
        let org = format!("'{}'", org.as_str().replace('\'', "''"));
        let one = "ARRAY['x']::text[]";
        let none_text = "'{}'::text[]";
        let none_int = "'{}'::bigint[]";
        // $2-$10: terms, groups (removed, added) and pids removed; $11-$24
        // the rows written: none.
        let mut types = vec!["text"];
        let mut args = vec![org];
        for i in 2..=24 {
            let int = matches!(i, 13 | 14 | 20..=23);
            types.push(if int { "bigint[]" } else { "text[]" });
            args.push(match i {
                2 | 3 | 6 | 7 | 10 => one.to_owned(),
                _ if int => none_int.to_owned(),
                _ => none_text.to_owned(),
            });
        }
        let sql = format!("WITH {} SELECT 1", crate::people::PEOPLE_CTES);
        self.explain_generic(&types.join(", "), &sql, &args.join(", "))
    }

    /// `sql`'s generic plan (the store's `plan_cache_mode`) for `args`
    /// (literals): a named statement explained as it would run.
    /// `EXPLAIN` of the bare statement would plan it for these very
    /// values. Simple protocol: the statement's own `$n` are not
    /// parameters of this one.
    fn explain_generic(&mut self, types: &str, sql: &str, args: &str) -> StoreResult<Vec<String>> {
        self.before_statement()?;
        self.send_begin()?;
        self.resolve_lock()?;
        self.send_new_member()?;
        let messages = self
            .lease
            .conn()?
            .client
            .simple_query(&format!(
                "PREPARE enlist_explain ({types}) AS {sql};
                 EXPLAIN EXECUTE enlist_explain ({args});
                 DEALLOCATE enlist_explain"
            ))
            .map_err(db_err)?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })
            .collect())
    }

    /// The generic plan (the store's `plan_cache_mode`) of the admin
    /// list's first page of organizations whose slug or name starts with
    /// `prefix` (one line a row).
    pub(crate) fn explain_organizations(&mut self, prefix: &str) -> StoreResult<Vec<String>> {
        let (low, high) = store::people::prefix_range(prefix);
        // `EXPLAIN EXECUTE` takes no parameters: the values go as literals.
        let literal = |v: &str| format!("'{}'", v.replace('\'', "''"));
        let high = high.as_deref().map_or_else(|| "NULL".to_owned(), literal);
        self.explain_generic(
            "text, text, text, bigint",
            crate::orgs::LIST_BY_PREFIX,
            &format!("NULL, {}, {high}, 51", literal(&low)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renumbering_raises_every_parameter_but_the_organization() {
        assert_eq!(
            renumber("$1 $2 $13,$9::text[] $", 23),
            "$1 $25 $36,$32::text[] $"
        );
        assert_eq!(renumber("price $ 1 and $$", 5), "price $ 1 and $$");
        // The combined statement reads exactly $1 to $39: the rest's
        // parameters come right after the people's.
        let read: BTreeSet<usize> = flush_sql(FlushParts::Both)
            .split('$')
            .skip(1)
            .filter_map(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .collect();
        let all: BTreeSet<usize> = (1..=1 + crate::people::PEOPLE_PARAMS + REST_PARAMS).collect();
        assert_eq!(read, all);
        assert!(flush_sql(FlushParts::Rest).starts_with("WITH ev AS"));
        assert!(flush_sql(FlushParts::People).ends_with("SELECT 1"));
    }

    #[test]
    fn a_flush_with_nothing_to_write_has_no_statement() {
        assert_eq!(FlushParts::of(false, false), None);
        assert_eq!(FlushParts::of(true, false), Some(FlushParts::People));
        assert_eq!(FlushParts::of(false, true), Some(FlushParts::Rest));
        assert_eq!(FlushParts::of(true, true), Some(FlushParts::Both));
    }
}

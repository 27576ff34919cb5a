//! The people view (migrations 0004, 0015 and 0017): the rows the store
//! derives from members and invitations, and the paged query over them.
//!
//! Neither has a row of its own in the view any more: since migration
//! 0015 the view reads staged, pending and expired invitations from
//! `invitations`, and since 0017 members from `members` (the `people`
//! table of versions 4 to 16 is gone). Both keep their groups in
//! `people_groups` and their search terms in `people_terms`, except an
//! invitation whose only term is its name key and that key its contact
//! (one by email with no name: most of them; migration 0016), which a
//! search finds by its `name_key` in `invitations_people_name`, and a
//! member's terms that are prefixes of its name key or its contact key
//! (migration 0024), which a search finds by those keys in
//! `members_people_name` and `members_list`.
//!
//! Every sort walks one index of `members` and one of `invitations` per
//! stored status (for invitations by email, one for staged and pending,
//! `invitations_open_recipient`), each in the sort's key order and stopped
//! after a page (plus one row to know whether there is a next page). The
//! walks are merged by the key, stepping each statement only as far as the
//! page needs; only the rows of the page have their JSON read. Ties are
//! broken by the pid (`'m.' || member_id`, `'i.' || invitation_id`), which
//! each index holds as the row's id. Filters are tested on the rows
//! walked. Sorting by label walks one label at a time by name (Expired is
//! two walks: stored expired, and stored pending past `now`). A search
//! instead starts from the range of `people_terms` that the case-folded
//! text is a prefix of (with the same range of `name_key` per stored
//! status asked for, and for members of `contact_key`), `CROSS JOIN`
//! keeping that order of the join, so it reads the matches and sorts
//! them: its cost grows with the number of matches, not with the size of
//! the organization.

use crate::codec::{from_json, to_json};
use crate::store_err;
use chrono::{DateTime, Utc};
use enlist::store::people::{
    INVITATION_LAST_ACTIVE_OFFSET, KeyPart, RowsChange, StatusTest, Walk, equal_filters,
    invitation_pid, key_columns, page_by_walks, person_row, prefix_range, rows_change,
    rows_change_with, sort_key, time_parts,
};
use enlist::{
    Invitation, Member, OrgId, Page, PeopleQuery, PeopleSort, Person, PersonLabel, StoreError,
    StoreResult, StoredInvitation,
};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};

/// A statement and its named arguments.
#[cfg(test)]
type Statement = (String, Vec<(String, Value)>);

#[cfg(test)]
thread_local! {
    /// The statements the walks of this thread ran, with their arguments
    /// (the tests explain their plans).
    pub(crate) static LOG: std::cell::RefCell<Vec<Statement>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The search terms and group rows of a member whose person is now `new`,
/// `prev` the member as stored before this write (`None`: a new one, which
/// has no rows yet). A member has no `people` row (migration 0017): the
/// view walks `members` itself. Its rows are what [`Person::from_member`]
/// made of it when it was written, so they are diffed against `prev`'s
/// person, not read.
pub(crate) fn sync_member(
    conn: &Connection,
    prev: Option<&Member>,
    new: &Person,
) -> StoreResult<()> {
    let old = prev.map(Person::from_member);
    match rows_change_with(old.as_ref(), Some(new), member_terms) {
        Some(change) => write_derived(conn, new.org_id.as_str(), &new.pid(), &change),
        None => Ok(()),
    }
}

/// The rows of `people_terms` a member's person has (migration 0024): its
/// search terms less those a search finds through the member's own
/// columns ([`member_keys`]): a term that is a prefix of one of them.
/// Any search that is a prefix of such a term is a prefix of the key, and
/// the search reads the keys' prefix ranges in `members_people_name` and
/// `members_list` beside `people_terms` ([`member_search`]). A member
/// named "Ada Byron" keeps "byron" only: "ada" and "ada byron" are
/// prefixes of its name key, its address is its contact key.
pub(crate) fn member_terms(p: &Person) -> Vec<String> {
    let keys = member_keys(p);
    let mut terms = p.search_terms();
    terms.retain(|t| !keys.iter().any(|k| k.starts_with(t.as_str())));
    terms
}

/// The keys of a member's person that a search reads by prefix, each one
/// that finds no one the terms would not. Its `contact_key`: a search
/// text (case-folded, without NUL) that begins the key begins the key's
/// fold too, which is a term. Its `name_key` when it has no white space at
/// either end: the key is then the folded name (or, with no name, the
/// folded contact key), which is a term (the name's term is the trimmed,
/// folded name); the search tests the same of the column
/// ([`WHITE_SPACE`]).
fn member_keys(p: &Person) -> Vec<String> {
    let mut keys = vec![p.contact_key.clone()];
    let name_key = p.name_key();
    if name_key.trim() == name_key {
        keys.push(name_key);
    }
    keys
}

/// Every character with Unicode's `White_Space` property (what
/// [`str::trim`] removes), for SQLite's `trim(X, Y)`: a member's name key
/// is read by a search's prefix range only when this trims nothing from it
/// (see [`member_keys`]).
pub(crate) const WHITE_SPACE: &str = "\u{9}\u{a}\u{b}\u{c}\u{d}\u{20}\u{85}\u{a0}\u{1680}\u{2000}\u{2001}\u{2002}\u{2003}\u{2004}\u{2005}\u{2006}\u{2007}\u{2008}\u{2009}\u{200a}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}";

/// Migration 0024: deletes the `people_terms` rows of each member that a
/// search now finds by its own columns ([`member_terms`]).
pub(crate) fn drop_member_key_terms(conn: &Connection) -> StoreResult<()> {
    let mut delete = conn
        .prepare("DELETE FROM people_terms WHERE org_id = ?1 AND term = ?2 AND pid = ?3")
        .map_err(store_err)?;
    each_row(conn, "members", "1", "member", |_, m: Member| {
        let p = Person::from_member(&m);
        let kept = member_terms(&p);
        for t in p.search_terms() {
            if !kept.contains(&t) {
                delete
                    .execute(params![m.org_id.as_str(), t, p.pid()])
                    .map_err(store_err)?;
            }
        }
        Ok(())
    })
}

/// The person a stored invitation's JSON `body` stands for in the view
/// (read by `put_invitation` before it rewrites the row): `None` once it
/// is closed. [`sync_invitation`] diffs the derived rows against it.
pub(crate) fn invitation_person(body: &str) -> StoreResult<Option<Person>> {
    let old: StoredInvitation = from_json(body, "invitation")?;
    Ok(Person::from_invitation(&old))
}

/// The `name_key` column of an invitation: its person's name key while it
/// is in the view, NULL once it is closed.
pub(crate) fn invitation_name_key(inv: &Invitation) -> Option<String> {
    Person::from_invitation(inv).map(|p| p.name_key())
}

/// The search terms and group rows of an invitation's person, from what
/// they were (`old`) to what they are for `inv`'s person `new`
/// ([`Person::from_invitation`]: none once it is closed). An invitation
/// has no `people` row (migration 0015): the view walks `invitations`
/// itself.
pub(crate) fn sync_invitation(
    conn: &Connection,
    old: Option<&Person>,
    new: Option<&Person>,
    inv: &Invitation,
) -> StoreResult<()> {
    match rows_change_with(old, new, invitation_terms) {
        Some(change) => write_derived(conn, inv.org_id.as_str(), &invitation_pid(inv), &change),
        None => Ok(()),
    }
}

/// The rows of `people_terms` an invitation's person has (migration 0016):
/// none when its only term is its name key and that is its contact key
/// (an invitation with no name, or one whose name is its contact), since a
/// search finds those through `invitations_people_name`
/// ([`invitation_search`]); its search terms otherwise. Most invitations by
/// email have no name, so most write no term.
fn invitation_terms(p: &Person) -> Vec<String> {
    let terms = p.search_terms();
    if found_by_name_key(p, &terms) {
        return Vec::new();
    }
    terms
}

/// Whether a search finds `p`, an invitation's person with these search
/// terms, by its `name_key` column alone (see [`invitation_terms`]).
fn found_by_name_key(p: &Person, terms: &[String]) -> bool {
    let key = p.name_key();
    terms.len() == 1 && terms[0] == key && key == p.contact_key
}

/// Deletes and inserts the search terms and group rows of `pid` that
/// `change` names.
fn write_derived(conn: &Connection, org: &str, pid: &str, change: &RowsChange) -> StoreResult<()> {
    let exec = |sql: &str, p: &[&dyn rusqlite::ToSql]| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute(p))
            .map_err(store_err)
    };
    for t in &change.terms_removed {
        exec(
            "DELETE FROM people_terms WHERE org_id = ?1 AND term = ?2 AND pid = ?3",
            &[&org, t, &pid],
        )?;
    }
    for t in &change.terms_added {
        exec(
            "INSERT INTO people_terms (org_id, term, pid) VALUES (?1, ?2, ?3)",
            &[&org, t, &pid],
        )?;
    }
    for g in &change.groups_removed {
        exec(
            "DELETE FROM people_groups WHERE org_id = ?1 AND group_id = ?2 AND pid = ?3",
            &[&org, g, &pid],
        )?;
    }
    for g in &change.groups_added {
        exec(
            "INSERT INTO people_groups (org_id, group_id, pid) VALUES (?1, ?2, ?3)",
            &[&org, g, &pid],
        )?;
    }
    Ok(())
}

/// Makes the rows of member `pid` say `new` (or nothing), reading what
/// they say now: migration 0004's backfill, in the layout of versions 4 to
/// 16 (migration 0017 drops `people`).
fn sync(conn: &Connection, org: &str, pid: &str, new: Option<&Person>) -> StoreResult<()> {
    let old: Option<Person> = conn
        .prepare_cached("SELECT body FROM people WHERE org_id = ?1 AND pid = ?2")
        .and_then(|mut s| {
            s.query_row(params![org, pid], |r| r.get::<_, String>(0))
                .optional()
        })
        .map_err(store_err)?
        .map(|b| from_json(&b, "person"))
        .transpose()?;
    write_person(conn, org, pid, old.as_ref(), new)
}

/// Makes the rows of member `pid` say `new` (or nothing) where they say
/// `old`, writing only what changed ([`rows_change`]).
fn write_person(
    conn: &Connection,
    org: &str,
    pid: &str,
    old: Option<&Person>,
    new: Option<&Person>,
) -> StoreResult<()> {
    let Some(change) = rows_change(old, new) else {
        return Ok(());
    };
    write_derived(conn, org, pid, &change)?;
    let exec = |sql: &str, p: &[&dyn rusqlite::ToSql]| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute(p))
            .map_err(store_err)
    };
    let Some(p) = new else {
        exec(
            "DELETE FROM people WHERE org_id = ?1 AND pid = ?2",
            &[&org, &pid],
        )?;
        return Ok(());
    };
    let row = person_row(p);
    exec(
        "INSERT INTO people (org_id, pid, status, expires_s, expires_ns, name_key,
             contact_key, role, kind, license_type, since_s, since_ns, last_s, last_ns, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
         ON CONFLICT (org_id, pid) DO UPDATE SET
             status = excluded.status, expires_s = excluded.expires_s,
             expires_ns = excluded.expires_ns, name_key = excluded.name_key,
             contact_key = excluded.contact_key, role = excluded.role, kind = excluded.kind,
             license_type = excluded.license_type, since_s = excluded.since_s,
             since_ns = excluded.since_ns, last_s = excluded.last_s, last_ns = excluded.last_ns,
             body = excluded.body",
        &[
            &org,
            &pid,
            &row.status,
            &row.expires.map(|e| e.0),
            &row.expires.map(|e| e.1),
            &row.name_key,
            &p.contact_key,
            &p.role,
            &row.kind,
            &p.license_type,
            &row.since.0,
            &row.since.1,
            &row.last_active.0,
            &row.last_active.1,
            &to_json(p)?,
        ],
    )?;
    Ok(())
}

/// The bodies a statement without parameters selects.
fn bodies(conn: &Connection, sql: &str) -> StoreResult<Vec<(i64, String)>> {
    let mut stmt = conn.prepare(sql).map_err(store_err)?;
    stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .map_err(store_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(store_err)
}

/// Writes the person rows of every member, and the search terms and
/// groups of every invitation of the view, already stored: migration
/// 0004's second half, in its transaction.
pub(crate) fn backfill(conn: &Connection) -> StoreResult<()> {
    for (_, b) in bodies(conn, "SELECT rowid, body FROM members")? {
        let m: Member = from_json(&b, "member")?;
        let p = Person::from_member(&m);
        sync(conn, m.org_id.as_str(), &p.pid(), Some(&p))?;
    }
    for (_, b) in bodies(
        conn,
        "SELECT rowid, body FROM invitations WHERE status IN ('staged', 'pending', 'expired')",
    )? {
        let inv: StoredInvitation = from_json(&b, "invitation")?;
        sync_invitation(conn, None, Person::from_invitation(&inv).as_ref(), &inv)?;
    }
    Ok(())
}

/// Migration 0016: deletes the `people_terms` row of each invitation of
/// the view that a search now finds by its name key
/// ([`invitation_terms`]).
pub(crate) fn drop_invitation_name_terms(conn: &Connection) -> StoreResult<()> {
    let mut delete = conn
        .prepare("DELETE FROM people_terms WHERE org_id = ?1 AND term = ?2 AND pid = ?3")
        .map_err(store_err)?;
    each_invitation(
        conn,
        "name_key = recipient_key
         AND (status = 'staged' OR status = 'pending' OR status = 'expired')",
        |_, inv| {
            let Some(p) = Person::from_invitation(&inv) else {
                return Ok(());
            };
            if found_by_name_key(&p, &p.search_terms()) {
                delete
                    .execute(params![
                        inv.org_id.as_str(),
                        p.name_key(),
                        invitation_pid(&inv)
                    ])
                    .map_err(store_err)?;
            }
            Ok(())
        },
    )
}

/// Writes `name_key` of every invitation of the view already stored:
/// migration 0015's second half, in its transaction (its SQL has deleted
/// their `people` rows; their terms and groups stay).
pub(crate) fn fill_invitation_name_keys(conn: &Connection) -> StoreResult<()> {
    let mut update = conn
        .prepare("UPDATE invitations SET name_key = ?1 WHERE rid = ?2")
        .map_err(store_err)?;
    each_invitation(
        conn,
        "status IN ('staged', 'pending', 'expired')",
        |rid, inv| {
            update
                .execute(params![invitation_name_key(&inv), rid])
                .map_err(store_err)?;
            Ok(())
        },
    )
}

/// Calls `each` with the rid and the invitation of every stored invitation
/// `condition` (SQL on the columns of `invitations`) holds for, in rid
/// order: the migrations' passes ([`each_row`]).
fn each_invitation(
    conn: &Connection,
    condition: &str,
    each: impl FnMut(i64, StoredInvitation) -> StoreResult<()>,
) -> StoreResult<()> {
    each_row(conn, "invitations", condition, "invitation", each)
}

/// Writes the people view's keys of every member already stored
/// (`name_key`, `joined_s`/`joined_ns`, `last_s`/`last_ns`): migration
/// 0017's second half, in its transaction (its SQL has dropped `people`;
/// the members' terms and groups stay).
pub(crate) fn fill_member_columns(conn: &Connection) -> StoreResult<()> {
    let mut update = conn
        .prepare(
            "UPDATE members SET name_key = ?1, joined_s = ?2, joined_ns = ?3, last_s = ?4,
                 last_ns = ?5 WHERE rid = ?6",
        )
        .map_err(store_err)?;
    each_row(conn, "members", "1", "member", |rid, m: Member| {
        let view = person_row(&Person::from_member(&m));
        update
            .execute(params![
                view.name_key,
                view.since.0,
                view.since.1,
                view.last_active.0,
                view.last_active.1,
                rid
            ])
            .map_err(store_err)?;
        Ok(())
    })
}

/// Calls `each` with the rid and the decoded body of every row of `table`
/// that `condition` (SQL on its columns) holds for, in rid order: the
/// migrations' passes. Reads the bodies 10,000 at a time, so a large file
/// is not held in memory.
fn each_row<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    table: &str,
    condition: &str,
    what: &str,
    mut each: impl FnMut(i64, T) -> StoreResult<()>,
) -> StoreResult<()> {
    let mut read = conn
        .prepare(&format!(
            "SELECT rid, body FROM {table}
             WHERE rid > ?1 AND ({condition})
             ORDER BY rid LIMIT 10000"
        ))
        .map_err(store_err)?;
    let mut after = i64::MIN;
    loop {
        let rows = read
            .query_map([after], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(store_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_err)?;
        let Some(&(last, _)) = rows.last() else {
            return Ok(());
        };
        for (rid, b) in rows {
            each(rid, from_json(&b, what)?)?;
        }
        after = last;
    }
}

/// A stored-pending invitation is due (Expired) at `now`.
const DUE: &str = "(expires_s IS NOT NULL AND (expires_s < :now_s OR (expires_s = :now_s AND expires_ns <= :now_ns)))";

/// A walk's status tests as SQL text on the status column `col` (with
/// `:now_s`/`:now_ns` bound to `now`). A walk whose index does not lead
/// with the status writes it `+<alias>.status`, so that SQLite walks the
/// sort's index rather than gathering a status's rows and sorting them.
fn status_condition(tests: &[StatusTest], col: &str) -> String {
    let parts: Vec<String> = tests
        .iter()
        .map(|t| match t {
            StatusTest::PendingDue => format!("({col} = 'pending' AND {DUE})"),
            StatusTest::PendingNotDue => format!("({col} = 'pending' AND NOT {DUE})"),
            StatusTest::Is(l) => format!("{col} = '{}'", l.as_str()),
            _ => "0".to_owned(),
        })
        .collect();
    if parts.is_empty() {
        "0".to_owned()
    } else {
        format!("({})", parts.join(" OR "))
    }
}

/// Binds a key part.
fn value(part: &KeyPart) -> Value {
    match part {
        KeyPart::Int(n) => Value::Integer(*n),
        KeyPart::Text(t) => Value::Text(t.clone()),
        _ => Value::Null,
    }
}

/// The filters every walk shares (the query's equal filters and group) on
/// the table aliased `alias`, whose rows' pid is the SQL `pid`.
fn shared_filters(
    q: &PeopleQuery,
    alias: &str,
    pid: &str,
    filters: &mut Vec<String>,
    args: &mut Vec<(String, Value)>,
) {
    for (column, value) in equal_filters(q) {
        filters.push(format!("{alias}.{column} = :{column}"));
        args.push((format!(":{column}"), Value::Text(value)));
    }
    if let Some(group) = &q.group {
        filters.push(format!(
            "EXISTS (SELECT 1 FROM people_groups g WHERE g.org_id = :org \
             AND g.group_id = :group AND g.pid = {pid})"
        ));
        args.push((":group".into(), Value::Text(group.to_string())));
    }
}

/// `pid FROM people_terms WHERE ...`: the rows of `people_terms` a search
/// reads ([`member_search`], [`invitation_search`]), its bounds in `args`
/// (`:low`, and `:high` when the range has an upper bound: the `bool`).
fn terms_range(
    q: &PeopleQuery,
    and: &str,
    args: &mut Vec<(String, Value)>,
) -> Option<(String, bool)> {
    let s = q.search_folded()?;
    let (low, high) = prefix_range(&s);
    args.push((":low".into(), Value::Text(low)));
    let upper = match high {
        Some(h) => {
            args.push((":high".into(), Value::Text(h)));
            " AND term < :high"
        }
        None => "",
    };
    Some((
        format!("pid FROM people_terms WHERE org_id = :org AND term >= :low{upper}{and}"),
        !upper.is_empty(),
    ))
}

/// The pids of invitations a search matches (`None` without a search),
/// its bounds added to `args`: those whose search terms are rows of
/// `people_terms` ([`terms_range`]), and those without rows there
/// ([`invitation_terms`]: their only term is their name key, which is
/// their contact key), read from `invitations_people_name` by the same
/// prefix range, one stored status of `tests` at a time. `UNION` drops the
/// pids found twice (a person with several matching terms, or with terms
/// and a name key that is its contact).
fn invitation_search(
    q: &PeopleQuery,
    tests: &[StatusTest],
    args: &mut Vec<(String, Value)>,
) -> Option<String> {
    let (terms, bounded) = terms_range(q, " AND substr(pid, 1, 2) = 'i.'", args)?;
    let by_key = each_status(tests, invitation_status, |status| {
        key_range(
            (
                "'i.' || invitation_id",
                "invitations",
                "invitations_people_name",
            ),
            status,
            "name_key",
            bounded,
            " AND name_key = recipient_key",
        )
    });
    Some(format!("(SELECT {terms}{by_key}) AS t"))
}

/// ` UNION` the pids (`pid`, of `table` through `index`) of the
/// organization's rows of stored `status` whose `col` lies in the search's
/// prefix range (`:low`, and `:high` when `bounded`), where `extra` (SQL,
/// empty or beginning with ` AND`) holds too.
fn key_range(
    (pid, table, index): (&str, &str, &str),
    status: &str,
    col: &str,
    bounded: bool,
    extra: &str,
) -> String {
    let upper = if bounded {
        format!(" AND {col} < :high")
    } else {
        String::new()
    };
    format!(
        " UNION SELECT {pid} FROM {table} INDEXED BY {index} \
         WHERE org = (SELECT k.org FROM org_keys k WHERE k.org_id = :org) \
         AND status = '{status}' AND {col} >= :low{upper}{extra}"
    )
}

/// `part` of each stored status (`status` of a test) that `tests` keep,
/// once each, in byte order, joined: a search's key ranges, one a status.
fn each_status(
    tests: &[StatusTest],
    status: fn(&StatusTest) -> Option<&'static str>,
    part: impl Fn(&str) -> String,
) -> String {
    let mut statuses: Vec<&str> = tests.iter().filter_map(status).collect();
    statuses.sort_unstable();
    statuses.dedup();
    statuses.into_iter().map(part).collect()
}

/// The pids of members a search matches (`None` without a search), its
/// bounds added to `args`: those with a matching row of `people_terms`,
/// and those whose own keys the search begins ([`member_terms`]: their
/// terms that are prefixes of a key have no row): by the same prefix range
/// of `name_key` in `members_people_name` (a key with no white space at
/// either end: [`member_keys`]) and of `contact_key` in `members_list`,
/// one stored status of `tests` at a time. `UNION` drops the pids found
/// twice.
fn member_search(
    q: &PeopleQuery,
    tests: &[StatusTest],
    args: &mut Vec<(String, Value)>,
) -> Option<String> {
    let (terms, bounded) = terms_range(q, " AND substr(pid, 1, 2) = 'm.'", args)?;
    let member = "'m.' || member_id";
    let by_key = each_status(tests, member_status, |status| {
        key_range(
            (member, "members", "members_people_name"),
            status,
            "name_key",
            bounded,
            " AND trim(name_key, :ws) = name_key",
        ) + &key_range(
            (member, "members", "members_list"),
            status,
            "contact_key",
            bounded,
            "",
        )
    });
    if !by_key.is_empty() {
        args.push((":ws".into(), Value::Text(WHITE_SPACE.to_owned())));
    }
    Some(format!("(SELECT {terms}{by_key}) AS t"))
}

/// The stored member status whose rows a status test keeps.
fn member_status(t: &StatusTest) -> Option<&'static str> {
    match t {
        StatusTest::Is(PersonLabel::Active) => Some("active"),
        StatusTest::Is(PersonLabel::Inactive) => Some("inactive"),
        StatusTest::Is(PersonLabel::Removed) => Some("removed"),
        _ => None,
    }
}

/// One statement of a walk: its SQL, its named arguments, whether its
/// rows are members or invitations (their JSON bodies), and how its first
/// columns make the sort key (the last column is the body).
struct Spec {
    sql: String,
    args: Vec<(String, Value)>,
    member: bool,
    /// What the first key column is above the key's first part
    /// ([`TableKey::offset`]).
    offset: i64,
}

impl Spec {
    /// The sort key from a row's key columns: they end with the row's id,
    /// whose pid is `m.<id>` for a member and `i.<id>` for an invitation,
    /// the first part lowered by the key's offset.
    fn key(&self, mut parts: Vec<KeyPart>) -> Vec<KeyPart> {
        if let Some(KeyPart::Text(id)) = parts.pop() {
            let prefix = if self.member { "m." } else { "i." };
            parts.push(KeyPart::Text(format!("{prefix}{id}")));
        }
        if let Some(KeyPart::Int(first)) = parts.first_mut() {
            *first = first.saturating_sub(self.offset);
        }
        parts
    }
}

/// The key and body of the current row of a walk's statement.
fn head(row: &rusqlite::Row<'_>, spec: &Spec) -> StoreResult<(Vec<KeyPart>, String)> {
    let last = row.as_ref().column_count().saturating_sub(1);
    let mut parts = Vec::with_capacity(last);
    for i in 0..last {
        parts.push(match row.get_ref(i).map_err(store_err)? {
            ValueRef::Integer(n) => KeyPart::Int(n),
            ValueRef::Text(t) => KeyPart::Text(String::from_utf8_lossy(t).into_owned()),
            _ => return Err(StoreError::Corrupt("a people key column is not set".into())),
        });
    }
    Ok((
        spec.key(parts),
        row.get::<_, String>(last).map_err(store_err)?,
    ))
}

/// The common arguments of a walk.
fn base_args(org: &OrgId, now: DateTime<Utc>, limit: usize) -> Vec<(String, Value)> {
    let (now_s, now_ns) = time_parts(now);
    vec![
        (":org".into(), Value::Text(org.to_string())),
        (":now_s".into(), Value::Integer(now_s)),
        (":now_ns".into(), Value::Integer(now_ns)),
        (
            ":limit".into(),
            Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
        ),
    ]
}

/// A status test a member can pass (Active, Inactive, Removed).
fn of_members(t: &StatusTest) -> bool {
    matches!(
        t,
        StatusTest::Is(PersonLabel::Active | PersonLabel::Inactive | PersonLabel::Removed)
    )
}

/// The stored invitation status whose rows a status test can keep.
fn invitation_status(t: &StatusTest) -> Option<&'static str> {
    match t {
        StatusTest::Is(PersonLabel::Staged) => Some("staged"),
        StatusTest::Is(PersonLabel::Pending)
        | StatusTest::PendingDue
        | StatusTest::PendingNotDue => Some("pending"),
        StatusTest::Is(PersonLabel::Expired) => Some("expired"),
        _ => None,
    }
}

/// The stored member statuses, each walked alone.
const MEMBER_STATUSES: [PersonLabel; 3] = [
    PersonLabel::Active,
    PersonLabel::Inactive,
    PersonLabel::Removed,
];

/// The key of `sort` in `members` (migration 0017), and the index whose
/// per-status ranges read its order: `(org_id, status, <lead>,
/// member_id)`.
fn member_plan(sort: PeopleSort) -> (TableKey, &'static str) {
    let lead = |lead: &'static [&'static str]| TableKey { lead, offset: 0 };
    match sort {
        PeopleSort::Email => (lead(&["contact_key"]), "members_list"),
        PeopleSort::Role => (lead(&["role", "name_key"]), "members_people_role"),
        PeopleSort::Date => (lead(&["joined_s", "joined_ns"]), "members_people_since"),
        PeopleSort::LastActive => (lead(&["last_s", "last_ns"]), "members_people_last"),
        // Name, and Label within one label.
        _ => (lead(&["name_key"]), "members_people_name"),
    }
}

/// The walks of `members` for one walk of the view (migration 0017): the
/// members of the walk's tests, in the walk's order (`key_sort`'s key),
/// one statement per stored status (a search: one for all), each at most
/// `w.limit` rows.
fn member_walks(
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
    w: &Walk<'_>,
    key_sort: PeopleSort,
) -> Vec<Spec> {
    let tests: Vec<StatusTest> = w.status.iter().copied().filter(of_members).collect();
    if tests.is_empty() {
        return Vec::new();
    }
    let desc = q.descending;
    let (key, index) = member_plan(key_sort);
    let walks: Vec<(Option<&'static str>, Vec<StatusTest>)> = if q.search_folded().is_some() {
        // A search reads its matches (through `members_id`) and sorts
        // them: one statement for every status.
        vec![(None, tests)]
    } else {
        MEMBER_STATUSES
            .iter()
            .map(|l| StatusTest::Is(*l))
            .filter(|t| tests.contains(t))
            .map(|t| (Some(index), vec![t]))
            .collect()
    };
    let mut out = Vec::new();
    for (index, tests) in walks {
        // One stored status: the index's second column.
        let status = status_condition(
            &tests,
            if index.is_some() {
                "m.status"
            } else {
                "+m.status"
            },
        );
        let (filters, mut args) = walk_filters(org, q, now, w, &key, ROW_MEMBER, status);
        let from = match member_search(q, &tests, &mut args) {
            Some(t) => format!(
                "{t} CROSS JOIN members m ON m.org_id = :org AND m.member_id = substr(t.pid, 3)"
            ),
            None => format!("members m INDEXED BY {}", index.unwrap_or("members_id")),
        };
        out.push(table_spec(&key, ROW_MEMBER, &from, &filters, desc, args));
    }
    out
}

/// A statement's named arguments.
type Args = Vec<(String, Value)>;

/// How the rows of one table of the view are named in a walk's SQL: the
/// table's alias, its id column and the prefix of its pids.
struct RowKind {
    alias: &'static str,
    id: &'static str,
    prefix: &'static str,
    member: bool,
}

impl RowKind {
    /// The condition that a row is of the organization `:org`: invitations
    /// and members are indexed by its number (migrations 0019 and 0021).
    fn of_org(&self) -> &'static str {
        if self.member {
            "m.org = (SELECT k.org FROM org_keys k WHERE k.org_id = :org)"
        } else {
            INVITATION_OF_ORG
        }
    }
}

/// An invitation of the organization `:org`, by the organization's number
/// (one look-up of `org_keys` per statement; none, and no row, before the
/// organization's first numbered row).
const INVITATION_OF_ORG: &str = "i.org = (SELECT k.org FROM org_keys k WHERE k.org_id = :org)";

/// The filters and arguments of one walk of a table (`kind`): its status
/// condition, the query's shared filters and the cursor's bound.
fn walk_filters(
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
    w: &Walk<'_>,
    key: &TableKey,
    kind: &RowKind,
    status: String,
) -> (Vec<String>, Args) {
    let mut args = base_args(org, now, w.limit);
    let mut filters = vec![status];
    let pid = format!("'{}' || {}.{}", kind.prefix, kind.alias, kind.id);
    shared_filters(q, kind.alias, &pid, &mut filters, &mut args);
    if let Some(after) = w.after {
        filters.push(rows_after(key, after, q.descending, kind, &mut args));
    }
    (filters, args)
}

/// A member in the walks: `'m.' || m.member_id`.
const ROW_MEMBER: &RowKind = &RowKind {
    alias: "m",
    id: "member_id",
    prefix: "m.",
    member: true,
};

/// An invitation in the walks: `'i.' || i.invitation_id`.
const ROW_INVITATION: &RowKind = &RowKind {
    alias: "i",
    id: "invitation_id",
    prefix: "i.",
    member: false,
};

/// The statement of one walk of a table: its key columns and id, then its
/// body, `from` where `filters` hold, in the key's order, at most `:limit`.
fn table_spec(
    key: &TableKey,
    kind: &RowKind,
    from: &str,
    filters: &[String],
    desc: bool,
    args: Vec<(String, Value)>,
) -> Spec {
    let a = kind.alias;
    let cols: Vec<&str> = key.lead.iter().copied().chain([kind.id]).collect();
    let order = cols
        .iter()
        .map(|c| format!("{a}.{c}{}", if desc { " DESC" } else { "" }))
        .collect::<Vec<_>>()
        .join(", ");
    let select: Vec<String> = cols.iter().map(|c| format!("{a}.{c}")).collect();
    let sql = format!(
        "SELECT {}, {a}.body FROM {from} WHERE {} AND {} ORDER BY {order} LIMIT :limit",
        select.join(", "),
        kind.of_org(),
        filters.join(" AND ")
    );
    Spec {
        sql,
        args,
        member: kind.member,
        offset: key.offset,
    }
}

/// How a sort's key is read from a table of the view: the columns before
/// the row's id, the first of them `offset` above the key's part (an
/// invitation by last activity: its creation time, lowered below every
/// activity by [`INVITATION_LAST_ACTIVE_OFFSET`]).
struct TableKey {
    /// The key's columns before the id.
    lead: &'static [&'static str],
    /// The first column's value less the key's first part (0 but for
    /// invitations by last activity).
    offset: i64,
}

/// One walk of `invitations`: an index, the condition that lets SQLite use
/// it (one stored status, or the index's own `WHERE`), and the stored
/// statuses it reads.
struct InvitationWalk {
    index: &'static str,
    condition: String,
    statuses: &'static [&'static str],
}

/// The stored statuses of the invitations of the view, each walked alone.
const VIEW_STATUSES: [&[&str]; 3] = [&["staged"], &["pending"], &["expired"]];

/// The key of `sort` in `invitations`, and the walks that read its order.
fn invitation_plan(sort: PeopleSort) -> (TableKey, Vec<InvitationWalk>) {
    let per_status = |index: &'static str| {
        VIEW_STATUSES
            .iter()
            .map(|&statuses| InvitationWalk {
                index,
                condition: format!("i.status = '{}'", statuses[0]),
                statuses,
            })
            .collect::<Vec<_>>()
    };
    let lead = |lead: &'static [&'static str]| TableKey { lead, offset: 0 };
    match sort {
        PeopleSort::Email => (
            lead(&["recipient_key"]),
            vec![
                InvitationWalk {
                    index: "invitations_open_recipient",
                    condition: "i.status IN ('staged', 'pending')".into(),
                    statuses: &["staged", "pending"],
                },
                InvitationWalk {
                    index: "invitations_expired_recipient",
                    condition: "i.status = 'expired'".into(),
                    statuses: &["expired"],
                },
            ],
        ),
        PeopleSort::Role => (
            lead(&["role", "name_key"]),
            per_status("invitations_people_role"),
        ),
        PeopleSort::Date => (
            lead(&["created_s", "created_ns"]),
            per_status("invitations_list"),
        ),
        // Never active: by when they were made, below every activity.
        PeopleSort::LastActive => (
            TableKey {
                lead: &["created_s", "created_ns"],
                offset: INVITATION_LAST_ACTIVE_OFFSET,
            },
            per_status("invitations_list"),
        ),
        // Name, and Label within one label.
        _ => (lead(&["name_key"]), per_status("invitations_people_name")),
    }
}

/// Which rows of a walk of one table (`kind`) come after the cursor's key
/// `after` (leading parts, then a pid), as an SQL condition. The table's pids are its prefix and its id (`'i.' ||
/// invitation_id`, `'m.' || member_id`), so a pid of another kind is
/// below or above all of them, and the id (which the index holds)
/// compares as the pid does.
fn rows_after(
    key: &TableKey,
    after: &[KeyPart],
    desc: bool,
    kind: &RowKind,
    args: &mut Vec<(String, Value)>,
) -> String {
    let (lead, pid) = after.split_at(after.len().saturating_sub(1));
    let pid = match pid {
        [KeyPart::Text(p)] => p.as_str(),
        _ => "",
    };
    // Where the table's pids stand against the cursor's pid.
    let id = pid.strip_prefix(kind.prefix);
    let all_above = id.is_none() && pid < kind.prefix;
    let (a, id_col) = (kind.alias, kind.id);
    let (gt, ge) = if desc { ("<", "<=") } else { (">", ">=") };
    let marks: Vec<String> = (0..lead.len()).map(|i| format!(":after{i}")).collect();
    for (i, (m, part)) in marks.iter().zip(lead).enumerate() {
        // The column is `offset` above the key's part: the cursor's part
        // raised by as much (past every stored time when it saturates).
        let v = match part {
            KeyPart::Int(n) if i == 0 => Value::Integer(n.saturating_add(key.offset)),
            _ => value(part),
        };
        args.push((m.clone(), v));
    }
    let cols: Vec<String> = key.lead.iter().map(|c| format!("{a}.{c}")).collect();
    match id {
        Some(id) => {
            args.push((":after_id".into(), Value::Text(id.to_owned())));
            format!(
                "({}, {a}.{id_col}) {gt} ({}, :after_id)",
                cols.join(", "),
                marks.join(", ")
            )
        }
        // Equal leading parts: every invitation is past the cursor's pid
        // (ascending) or none is; descending the other way round.
        None => {
            let op = if all_above != desc { ge } else { gt };
            format!("({}) {op} ({})", cols.join(", "), marks.join(", "))
        }
    }
}

/// The walks of `invitations` for one walk of the view: the invitations
/// of the walk's tests, in the walk's order (`key_sort`'s key), each walk
/// at most `w.limit` rows.
fn invitation_walks(
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
    w: &Walk<'_>,
    key_sort: PeopleSort,
) -> Vec<Spec> {
    let tests: Vec<StatusTest> = w
        .status
        .iter()
        .copied()
        .filter(|t| invitation_status(t).is_some())
        .collect();
    if tests.is_empty() {
        return Vec::new();
    }
    let desc = q.descending;
    let (key, walks) = invitation_plan(key_sort);
    let search = q.search_folded().is_some();
    let walks: Vec<(Option<&'static str>, String, Vec<StatusTest>)> = if search {
        // A search reads its matches (through `invitations_id`) and sorts
        // them: one statement for every status.
        vec![(None, "1".to_owned(), tests)]
    } else {
        walks
            .into_iter()
            .filter_map(|iw| {
                let mine: Vec<StatusTest> = tests
                    .iter()
                    .copied()
                    .filter(|t| invitation_status(t).is_some_and(|s| iw.statuses.contains(&s)))
                    .collect();
                (!mine.is_empty()).then_some((Some(iw.index), iw.condition, mine))
            })
            .collect()
    };
    let mut out = Vec::new();
    for (index, condition, tests) in walks {
        let status = format!("{condition} AND {}", status_condition(&tests, "+i.status"));
        let (filters, mut args) = walk_filters(org, q, now, w, &key, ROW_INVITATION, status);
        let from = match invitation_search(q, &tests, &mut args) {
            Some(t) => format!(
                "{t} CROSS JOIN invitations i ON {INVITATION_OF_ORG} \
                 AND i.invitation_id = substr(t.pid, 3)"
            ),
            None => format!(
                "invitations i INDEXED BY {}",
                index.unwrap_or("invitations_id")
            ),
        };
        out.push(table_spec(
            &key,
            ROW_INVITATION,
            &from,
            &filters,
            desc,
            args,
        ));
    }
    out
}

/// One walk of the view: the people of `org` passing the query's filters
/// and the walk's, as stored, in the walk's order: the walk of `people`
/// (members) and those of `invitations`, merged by the sort's key.
fn walk(
    conn: &Connection,
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
    w: &Walk<'_>,
) -> StoreResult<Vec<Person>> {
    // The sort whose key the walk's columns hold (a label sort walks one
    // label at a time by name).
    let key_sort = if q.sort != PeopleSort::Label && w.columns == key_columns(q.sort) {
        q.sort
    } else {
        PeopleSort::Name
    };
    let mut specs = member_walks(org, q, now, w, key_sort);
    specs.extend(invitation_walks(org, q, now, w, key_sort));
    // Every statement stepped only as far as the page needs: the merge
    // takes the smallest (largest, descending) head each time.
    let mut stmts = Vec::with_capacity(specs.len());
    for spec in &specs {
        #[cfg(test)]
        LOG.with(|log| log.borrow_mut().push((spec.sql.clone(), spec.args.clone())));
        let mut stmt = conn.prepare_cached(&spec.sql).map_err(store_err)?;
        for (name, value) in &spec.args {
            if let Some(i) = stmt.parameter_index(name).map_err(store_err)? {
                stmt.raw_bind_parameter(i, value).map_err(store_err)?;
            }
        }
        stmts.push(stmt);
    }
    let mut cursors: Vec<rusqlite::Rows<'_>> = stmts.iter_mut().map(|s| s.raw_query()).collect();
    let mut heads = Vec::with_capacity(cursors.len());
    for (rows, spec) in cursors.iter_mut().zip(&specs) {
        heads.push(match rows.next().map_err(store_err)? {
            Some(row) => Some(head(row, spec)?),
            None => None,
        });
    }
    let mut out = Vec::new();
    while out.len() < w.limit {
        let mut best: Option<usize> = None;
        for (i, h) in heads.iter().enumerate() {
            let Some((k, _)) = h else { continue };
            let better = match best.and_then(|b| heads[b].as_ref()) {
                None => true,
                Some((bk, _)) => {
                    if q.descending {
                        k > bk
                    } else {
                        k < bk
                    }
                }
            };
            if better {
                best = Some(i);
            }
        }
        let Some(i) = best else { break };
        let next = match cursors[i].next().map_err(store_err)? {
            Some(row) => Some(head(row, &specs[i])?),
            None => None,
        };
        let Some((key, body)) = std::mem::replace(&mut heads[i], next) else {
            break;
        };
        let p = if specs[i].member {
            Person::from_member(&from_json::<Member>(&body, "member")?)
        } else {
            let inv: StoredInvitation = from_json(&body, "invitation")?;
            Person::from_invitation(&inv).ok_or_else(|| {
                StoreError::Corrupt("a closed invitation in the people view".into())
            })?
        };
        debug_assert_eq!(sort_key(&p, key_sort), key, "the key read is the person's");
        out.push(p);
    }
    Ok(out)
}

/// A page of the people view (see the module documentation): core plans
/// the walks ([`page_by_walks`]), this store runs them.
pub(crate) fn page(
    conn: &Connection,
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
) -> StoreResult<Page<Person>> {
    page_by_walks(q, now, |w| walk(conn, org, q, now, w))
}

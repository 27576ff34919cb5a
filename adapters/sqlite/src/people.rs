//! The people view (migration 0004): the rows the store derives from
//! members and invitations, and the paged query over them.
//!
//! Every sort walks one index of `people` in order and stops after a page
//! (plus one row to know whether there is a next page): filters are tested
//! on the rows walked, with `+status` so that SQLite walks the sort's index
//! rather than gathering a status's rows and sorting them (except by name
//! with one stored status asked for, where `people_label` serves both). Sorting by
//! label walks `people_label` one label at a time (Expired is two walks:
//! stored expired, and stored pending past `now`). A search instead starts
//! from the range of `people_terms` that the case-folded text is a prefix
//! of (`CROSS JOIN` keeps that order of the join), so it reads the matches
//! and sorts them: its cost grows with the number of matches, not with
//! the size of the organization.

use crate::codec::{from_json, to_json};
use crate::store_err;
use chrono::{DateTime, Utc};
use enlist::store::people::{
    KeyPart, StatusTest, Walk, equal_filters, invitation_pid, page_by_walks, person_row,
    prefix_range, rows_change, time_parts,
};
use enlist::{Invitation, Member, OrgId, Page, PeopleQuery, Person, StoreResult};
use rusqlite::types::Value;
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

/// The person row of a member.
pub(crate) fn sync_member(conn: &Connection, m: &Member) -> StoreResult<()> {
    let p = Person::from_member(m);
    sync(conn, m.org_id.as_str(), &p.pid(), Some(&p), false)
}

/// The person row of an invitation (none once it is closed).
/// `fresh`: the invitation row was inserted just now, so it has no person
/// rows yet and there is nothing to read first.
pub(crate) fn sync_invitation(conn: &Connection, inv: &Invitation, fresh: bool) -> StoreResult<()> {
    sync(
        conn,
        inv.org_id.as_str(),
        &invitation_pid(inv),
        Person::from_invitation(inv).as_ref(),
        fresh,
    )
}

/// Makes the rows of `pid` say `new` (or nothing), writing only what
/// changed ([`rows_change`]). `fresh`: `pid` has no rows yet (its
/// invitation was inserted in this statement), so they are not read.
fn sync(
    conn: &Connection,
    org: &str,
    pid: &str,
    new: Option<&Person>,
    fresh: bool,
) -> StoreResult<()> {
    if fresh && new.is_none() {
        return Ok(());
    }
    let old: Option<Person> = if fresh {
        None
    } else {
        conn.prepare_cached("SELECT body FROM people WHERE org_id = ?1 AND pid = ?2")
            .and_then(|mut s| {
                s.query_row(params![org, pid], |r| r.get::<_, String>(0))
                    .optional()
            })
            .map_err(store_err)?
            .map(|b| from_json(&b, "person"))
            .transpose()?
    };
    let Some(change) = rows_change(old.as_ref(), new) else {
        return Ok(());
    };
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

/// Writes the person rows of every member and invitation already stored:
/// migration 0004's second half, in its transaction.
pub(crate) fn backfill(conn: &Connection) -> StoreResult<()> {
    let bodies = |sql: &str| -> StoreResult<Vec<String>> {
        let mut stmt = conn.prepare(sql).map_err(store_err)?;
        stmt.query_map([], |r| r.get::<_, String>(0))
            .map_err(store_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(store_err)
    };
    for b in bodies("SELECT body FROM members")? {
        sync_member(conn, &from_json(&b, "member")?)?;
    }
    for b in
        bodies("SELECT body FROM invitations WHERE status IN ('staged', 'pending', 'expired')")?
    {
        let inv: enlist::StoredInvitation = from_json(&b, "invitation")?;
        sync_invitation(conn, &inv, false)?;
    }
    Ok(())
}

/// A stored-pending invitation is due (Expired) at `now`.
const DUE: &str = "(expires_s IS NOT NULL AND (expires_s < :now_s OR (expires_s = :now_s AND expires_ns <= :now_ns)))";

/// A walk's status tests as SQL text (with `:now_s`/`:now_ns` bound to
/// `now`); `status` is written `+status` unless the walk is by status, so
/// that SQLite walks the sort's index rather than gathering a status's
/// rows and sorting them.
fn status_condition(tests: &[StatusTest], by_status: bool) -> String {
    let col = if by_status { "status" } else { "+status" };
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

/// One walk: the people of `org` passing the query's filters and the
/// walk's, as stored.
fn walk(
    conn: &Connection,
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
    w: &Walk<'_>,
) -> StoreResult<Vec<Person>> {
    let (now_s, now_ns) = time_parts(now);
    let mut args: Vec<(String, Value)> = vec![
        (":org".into(), Value::Text(org.to_string())),
        (":now_s".into(), Value::Integer(now_s)),
        (":now_ns".into(), Value::Integer(now_ns)),
    ];
    let mut filters = vec![status_condition(&w.status, w.by_status)];
    for (column, value) in equal_filters(q) {
        filters.push(format!("p.{column} = :{column}"));
        args.push((format!(":{column}"), Value::Text(value)));
    }
    if let Some(group) = &q.group {
        filters.push(
            "EXISTS (SELECT 1 FROM people_groups g WHERE g.org_id = :org \
             AND g.group_id = :group AND g.pid = p.pid)"
                .into(),
        );
        args.push((":group".into(), Value::Text(group.to_string())));
    }
    let desc = q.descending;
    let cols = w.columns;
    if let Some(after) = w.after {
        let marks: Vec<String> = (0..after.len()).map(|i| format!(":after{i}")).collect();
        filters.push(format!(
            "({}) {} ({})",
            cols.iter()
                .map(|c| format!("p.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            if desc { "<" } else { ">" },
            marks.join(", ")
        ));
        for (m, part) in marks.into_iter().zip(after) {
            let v = match part {
                KeyPart::Int(n) => Value::Integer(*n),
                KeyPart::Text(t) => Value::Text(t.clone()),
                _ => Value::Null,
            };
            args.push((m, v));
        }
    }
    let from = match q.search_folded() {
        Some(s) => {
            let (low, high) = prefix_range(&s);
            args.push((":low".into(), Value::Text(low)));
            let upper = match high {
                Some(h) => {
                    args.push((":high".into(), Value::Text(h)));
                    " AND term < :high"
                }
                None => "",
            };
            format!(
                "(SELECT DISTINCT pid FROM people_terms WHERE org_id = :org AND term >= :low{upper}) AS t \
                 CROSS JOIN people p ON p.org_id = :org AND p.pid = t.pid"
            )
        }
        None => "people p".to_owned(),
    };
    let order = cols
        .iter()
        .map(|c| format!("p.{c}{}", if desc { " DESC" } else { "" }))
        .collect::<Vec<_>>()
        .join(", ");
    args.push((
        ":limit".into(),
        Value::Integer(i64::try_from(w.limit).unwrap_or(i64::MAX)),
    ));
    let sql = format!(
        "SELECT p.body FROM {from} WHERE p.org_id = :org AND {} ORDER BY {order} LIMIT :limit",
        filters.join(" AND ")
    );
    #[cfg(test)]
    LOG.with(|log| log.borrow_mut().push((sql.clone(), args.clone())));
    let mut stmt = conn.prepare_cached(&sql).map_err(store_err)?;
    // Bind only the names the statement uses.
    for (name, value) in &args {
        if let Some(i) = stmt.parameter_index(name).map_err(store_err)? {
            stmt.raw_bind_parameter(i, value).map_err(store_err)?;
        }
    }
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(store_err)? {
        let body: String = row.get(0).map_err(store_err)?;
        out.push(from_json::<Person>(&body, "person")?);
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

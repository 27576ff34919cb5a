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

use crate::codec::{from_json, split, to_json};
use crate::store_err;
use chrono::{DateTime, Utc};
use enlist::store::people::{
    KeyPart, cursor, last_active_parts, parse_cursor, prefix_range, sort_key, time_parts,
};
use enlist::store::{collect_page, page_limit};
use enlist::{
    Invitation, Member, OrgId, Page, PeopleQuery, PeopleSort, Person, PersonLabel, StoreResult,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeSet;

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
    sync(conn, m.org_id.as_str(), &p.pid(), Some(&p))
}

/// The person row of an invitation (none once it is closed).
pub(crate) fn sync_invitation(conn: &Connection, inv: &Invitation) -> StoreResult<()> {
    let pid = format!("i.{}", inv.id);
    sync(
        conn,
        inv.org_id.as_str(),
        &pid,
        Person::from_invitation(inv).as_ref(),
    )
}

/// Makes the rows of `pid` say `new` (or nothing), writing only what
/// changed.
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
    if old.as_ref() == new {
        return Ok(());
    }
    let exec = |sql: &str, p: &[&dyn rusqlite::ToSql]| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute(p))
            .map_err(store_err)
    };
    let terms = |p: Option<&Person>| -> BTreeSet<String> {
        p.map(|p| p.search_terms().into_iter().collect())
            .unwrap_or_default()
    };
    let groups = |p: Option<&Person>| -> BTreeSet<String> {
        p.map(|p| p.groups.iter().map(|g| g.group_id.to_string()).collect())
            .unwrap_or_default()
    };
    let (old_terms, new_terms) = (terms(old.as_ref()), terms(new));
    for t in old_terms.difference(&new_terms) {
        exec(
            "DELETE FROM people_terms WHERE org_id = ?1 AND term = ?2 AND pid = ?3",
            &[&org, t, &pid],
        )?;
    }
    for t in new_terms.difference(&old_terms) {
        exec(
            "INSERT INTO people_terms (org_id, term, pid) VALUES (?1, ?2, ?3)",
            &[&org, t, &pid],
        )?;
    }
    let (old_groups, new_groups) = (groups(old.as_ref()), groups(new));
    for g in old_groups.difference(&new_groups) {
        exec(
            "DELETE FROM people_groups WHERE org_id = ?1 AND group_id = ?2 AND pid = ?3",
            &[&org, g, &pid],
        )?;
    }
    for g in new_groups.difference(&old_groups) {
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
    let expires = p.expires_at.map(split);
    let since = time_parts(p.since);
    let last = last_active_parts(p);
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
            &p.label.as_str(),
            &expires.map(|e| e.0),
            &expires.map(|e| e.1),
            &p.name_key(),
            &p.contact_key,
            &p.role,
            &p.kind.as_str(),
            &p.license_type,
            &since.0,
            &since.1,
            &last.0,
            &last.1,
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
        sync_invitation(conn, &inv)?;
    }
    Ok(())
}

/// The columns of a sort's index after `org_id` (the last is `pid`).
fn columns(sort: PeopleSort) -> &'static [&'static str] {
    match sort {
        PeopleSort::Email => &["contact_key", "pid"],
        PeopleSort::Role => &["role", "name_key", "pid"],
        PeopleSort::Date => &["since_s", "since_ns", "pid"],
        PeopleSort::LastActive => &["last_s", "last_ns", "pid"],
        // Name, and Label within one label.
        _ => &["name_key", "pid"],
    }
}

/// A stored-pending invitation is due (Expired) at `now`.
const DUE: &str = "(expires_s IS NOT NULL AND (expires_s < :now_s OR (expires_s = :now_s AND expires_ns <= :now_ns)))";

/// A condition on the stored label (with `?now_s`/`?now_ns` bound to
/// `now`), as SQL text; `status` is written `+status` unless `indexed`.
fn label_condition(labels: &[PersonLabel], indexed: bool) -> String {
    let col = if indexed { "status" } else { "+status" };
    let due = DUE;
    let mut parts = Vec::new();
    let pending = labels.contains(&PersonLabel::Pending);
    let expired = labels.contains(&PersonLabel::Expired);
    for l in labels {
        match l {
            PersonLabel::Pending if expired => parts.push(format!("{col} = 'pending'")),
            PersonLabel::Pending => parts.push(format!("({col} = 'pending' AND NOT {due})")),
            PersonLabel::Expired if pending => parts.push(format!("{col} = 'expired'")),
            PersonLabel::Expired => {
                parts.push(format!("{col} = 'expired'"));
                parts.push(format!("({col} = 'pending' AND {due})"));
            }
            other => parts.push(format!("{col} = '{}'", other.as_str())),
        }
    }
    if parts.is_empty() {
        "0".to_owned()
    } else {
        format!("({})", parts.join(" OR "))
    }
}

/// One walk: the people of `org` passing the query's filters and `cond`,
/// in the order of `cols`, after `after` (the values of `cols`), at most
/// `limit` of them, each with its sort key under `key_sort`.
#[allow(clippy::too_many_arguments)]
fn walk(
    conn: &Connection,
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
    cols: &[&str],
    cond: &str,
    after: Option<&[KeyPart]>,
    limit: usize,
    key_sort: PeopleSort,
) -> StoreResult<Vec<(Vec<KeyPart>, Person)>> {
    let (now_s, now_ns) = time_parts(now);
    let mut args: Vec<(String, Value)> = vec![
        (":org".into(), Value::Text(org.to_string())),
        (":now_s".into(), Value::Integer(now_s)),
        (":now_ns".into(), Value::Integer(now_ns)),
    ];
    let mut filters = vec![cond.to_owned()];
    if let Some(role) = &q.role {
        filters.push("p.role = :role".into());
        args.push((":role".into(), Value::Text(role.clone())));
    }
    if let Some(kind) = q.kind {
        filters.push("p.kind = :kind".into());
        args.push((":kind".into(), Value::Text(kind.as_str().to_owned())));
    }
    if let Some(license) = &q.license_type {
        filters.push("p.license_type = :license".into());
        args.push((":license".into(), Value::Text(license.clone())));
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
    if let Some(after) = after {
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
        Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)),
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
        let p = from_json::<Person>(&body, "person")?.at(now);
        out.push((sort_key(&p, key_sort), p));
    }
    Ok(out)
}

/// A page of the people view (see the module documentation).
pub(crate) fn page(
    conn: &Connection,
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
) -> StoreResult<Page<Person>> {
    let (sort, desc) = (q.sort, q.descending);
    let after = q
        .after
        .as_deref()
        .map(|c| parse_cursor(c, sort, desc))
        .transpose()?;
    let limit = page_limit(q.limit);
    let labels = q.wanted_labels();
    let rows = if sort == PeopleSort::Label {
        let mut ranked = labels;
        if desc {
            ranked.reverse();
        }
        let mut out: Vec<(Vec<KeyPart>, Person)> = Vec::new();
        for label in ranked {
            let need = limit + 1 - out.len().min(limit + 1);
            if need == 0 {
                break;
            }
            let rank = label.rank();
            let rest = match after.as_deref() {
                Some([KeyPart::Int(r), rest @ ..]) => {
                    if (desc && rank > *r) || (!desc && rank < *r) {
                        continue;
                    }
                    (rank == *r).then_some(rest)
                }
                _ => None,
            };
            // Expired is two walks (stored expired; pending past `now`).
            let conds: Vec<String> = match label {
                PersonLabel::Expired => vec![
                    "status = 'expired'".to_owned(),
                    format!("(status = 'pending' AND {DUE})"),
                ],
                l => vec![label_condition(&[l], true)],
            };
            let mut got = Vec::new();
            for cond in conds {
                got.extend(walk(
                    conn,
                    org,
                    q,
                    now,
                    columns(PeopleSort::Name),
                    &cond,
                    rest,
                    need,
                    sort,
                )?);
            }
            got.sort_by(|a, b| if desc { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
            got.truncate(need);
            out.extend(got);
        }
        out
    } else {
        // By name with one stored status asked for (Active, Inactive,
        // Pending, Staged or Removed alone), `people_label` serves both
        // the filter and the order: a rare label is found without walking
        // everyone else.
        let one_status = labels.len() == 1 && labels.first() != Some(&PersonLabel::Expired);
        walk(
            conn,
            org,
            q,
            now,
            columns(sort),
            &label_condition(&labels, sort == PeopleSort::Name && one_status),
            after.as_deref(),
            limit + 1,
            sort,
        )?
    };
    collect_page(
        rows.into_iter().map(|(k, p)| Ok((k, Some(p)))),
        limit,
        |k| Ok(cursor(sort, desc, k)),
    )
}

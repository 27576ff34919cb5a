//! The people view (migration 0004), as in the SQLite store: the rows the
//! store derives from members and invitations at every write, and the
//! paged query over them. Each sort walks its index of `people` in order;
//! a search starts from the range of `people_terms` its case-folded text is
//! a prefix of, so it reads the matches only.

use crate::codec::{from_body, to_body};
use chrono::{DateTime, Utc};
use enlist::store::people::{
    KeyPart, cursor, last_active_parts, parse_cursor, prefix_range, sort_key, time_parts,
};
use enlist::store::{collect_page, page_limit};
use enlist::{
    Invitation, Member, OrgId, Page, PeopleQuery, PeopleSort, Person, PersonLabel, StoreError,
    StoreResult,
};
use postgres::Row;
use postgres::types::ToSql;
use std::collections::BTreeSet;

/// Runs one statement with its arguments.
pub(crate) type Run<'a> = dyn FnMut(&str, &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> + 'a;

type Param = Box<dyn ToSql + Sync + Send>;

fn text(row: &Row, i: usize) -> StoreResult<String> {
    row.try_get::<_, String>(i)
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

/// The person row of a member.
pub(crate) fn sync_member(run: &mut Run<'_>, m: &Member) -> StoreResult<()> {
    let p = Person::from_member(m);
    sync(run, m.org_id.as_str(), &p.pid(), Some(&p))
}

/// The person row of an invitation (none once it is closed).
pub(crate) fn sync_invitation(run: &mut Run<'_>, inv: &Invitation) -> StoreResult<()> {
    let pid = format!("i.{}", inv.id);
    sync(
        run,
        inv.org_id.as_str(),
        &pid,
        Person::from_invitation(inv).as_ref(),
    )
}

fn sync(run: &mut Run<'_>, org: &str, pid: &str, new: Option<&Person>) -> StoreResult<()> {
    let old: Option<Person> = match run(
        "SELECT body FROM people WHERE org_id = $1 AND pid = $2",
        &[&org, &pid],
    )?
    .first()
    {
        Some(r) => Some(from_body("person", &text(r, 0)?)?),
        None => None,
    };
    if old.as_ref() == new {
        return Ok(());
    }
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
        run(
            "DELETE FROM people_terms WHERE org_id = $1 AND term = $2 AND pid = $3",
            &[&org, t, &pid],
        )?;
    }
    for t in new_terms.difference(&old_terms) {
        run(
            "INSERT INTO people_terms (org_id, term, pid) VALUES ($1, $2, $3)",
            &[&org, t, &pid],
        )?;
    }
    let (old_groups, new_groups) = (groups(old.as_ref()), groups(new));
    for g in old_groups.difference(&new_groups) {
        run(
            "DELETE FROM people_groups WHERE org_id = $1 AND group_id = $2 AND pid = $3",
            &[&org, g, &pid],
        )?;
    }
    for g in new_groups.difference(&old_groups) {
        run(
            "INSERT INTO people_groups (org_id, group_id, pid) VALUES ($1, $2, $3)",
            &[&org, g, &pid],
        )?;
    }
    let Some(p) = new else {
        run(
            "DELETE FROM people WHERE org_id = $1 AND pid = $2",
            &[&org, &pid],
        )?;
        return Ok(());
    };
    let expires = p.expires_at.map(time_parts);
    let since = time_parts(p.since);
    let last = last_active_parts(p);
    run(
        "INSERT INTO people (org_id, pid, status, expires_s, expires_ns, name_key,
             contact_key, role, kind, license_type, since_s, since_ns, last_s, last_ns, body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (org_id, pid) DO UPDATE SET
             status = EXCLUDED.status, expires_s = EXCLUDED.expires_s,
             expires_ns = EXCLUDED.expires_ns, name_key = EXCLUDED.name_key,
             contact_key = EXCLUDED.contact_key, role = EXCLUDED.role, kind = EXCLUDED.kind,
             license_type = EXCLUDED.license_type, since_s = EXCLUDED.since_s,
             since_ns = EXCLUDED.since_ns, last_s = EXCLUDED.last_s, last_ns = EXCLUDED.last_ns,
             body = EXCLUDED.body",
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
            &to_body(p)?,
        ],
    )?;
    Ok(())
}

/// Writes the person rows of every member and invitation already stored:
/// migration 0004's second half, in its transaction.
pub(crate) fn backfill(run: &mut Run<'_>) -> StoreResult<()> {
    for r in run("SELECT body::text FROM members", &[])? {
        sync_member(run, &from_body("member", &text(&r, 0)?)?)?;
    }
    let open =
        "SELECT body::text FROM invitations WHERE status IN ('staged', 'pending', 'expired')";
    for r in run(open, &[])? {
        let inv: enlist::StoredInvitation = from_body("invitation", &text(&r, 0)?)?;
        sync_invitation(run, &inv)?;
    }
    Ok(())
}

fn columns(sort: PeopleSort) -> &'static [&'static str] {
    match sort {
        PeopleSort::Email => &["contact_key", "pid"],
        PeopleSort::Role => &["role", "name_key", "pid"],
        PeopleSort::Date => &["since_s", "since_ns", "pid"],
        PeopleSort::LastActive => &["last_s", "last_ns", "pid"],
        _ => &["name_key", "pid"],
    }
}

/// A stored-pending invitation is due (Expired) at `now`.
/// (`NOW_S` and `NOW_NS` become parameters when the statement uses them:
/// PostgreSQL refuses a parameter that no expression types.)
const DUE: &str = "(p.expires_s IS NOT NULL AND (p.expires_s < NOW_S OR (p.expires_s = NOW_S AND p.expires_ns <= NOW_NS)))";

fn label_condition(labels: &[PersonLabel]) -> String {
    let pending = labels.contains(&PersonLabel::Pending);
    let expired = labels.contains(&PersonLabel::Expired);
    let mut plain = Vec::new();
    let mut parts = Vec::new();
    for l in labels {
        match l {
            PersonLabel::Pending if expired => plain.push("'pending'".to_owned()),
            PersonLabel::Pending => parts.push(format!("(p.status = 'pending' AND NOT {DUE})")),
            PersonLabel::Expired if pending => plain.push("'expired'".to_owned()),
            PersonLabel::Expired => {
                plain.push("'expired'".to_owned());
                parts.push(format!("(p.status = 'pending' AND {DUE})"));
            }
            other => plain.push(format!("'{}'", other.as_str())),
        }
    }
    if !plain.is_empty() {
        parts.push(format!("p.status IN ({})", plain.join(", ")));
    }
    if parts.is_empty() {
        "false".to_owned()
    } else {
        format!("({})", parts.join(" OR "))
    }
}

/// The statement of one walk and its arguments.
fn statement(
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
    cols: &[&str],
    cond: &str,
    after: Option<&[KeyPart]>,
    limit: usize,
) -> (String, Vec<Param>) {
    let (now_s, now_ns) = time_parts(now);
    let mut args: Vec<Param> = vec![Box::new(org.to_string())];
    let next = |args: &mut Vec<Param>, v: Param| {
        args.push(v);
        format!("${}", args.len())
    };
    let mut cond = cond.to_owned();
    if cond.contains("NOW_S") {
        let s = next(&mut args, Box::new(now_s));
        let ns = next(&mut args, Box::new(now_ns));
        cond = cond.replace("NOW_NS", &ns).replace("NOW_S", &s);
    }
    let mut filters = vec![cond];
    if let Some(role) = &q.role {
        let m = next(&mut args, Box::new(role.clone()));
        filters.push(format!("p.role = {m}"));
    }
    if let Some(kind) = q.kind {
        let m = next(&mut args, Box::new(kind.as_str().to_owned()));
        filters.push(format!("p.kind = {m}"));
    }
    if let Some(license) = &q.license_type {
        let m = next(&mut args, Box::new(license.clone()));
        filters.push(format!("p.license_type = {m}"));
    }
    if let Some(group) = &q.group {
        let m = next(&mut args, Box::new(group.to_string()));
        filters.push(format!(
            "EXISTS (SELECT 1 FROM people_groups g WHERE g.org_id = $1 AND g.group_id = {m} AND g.pid = p.pid)"
        ));
    }
    let desc = q.descending;
    if let Some(after) = after {
        let marks: Vec<String> = after
            .iter()
            .map(|part| match part {
                KeyPart::Int(n) => next(&mut args, Box::new(*n)),
                KeyPart::Text(t) => next(&mut args, Box::new(t.clone())),
                _ => next(&mut args, Box::new(Option::<String>::None)),
            })
            .collect();
        filters.push(format!(
            "({}) {} ({})",
            cols.iter()
                .map(|c| format!("p.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            if desc { "<" } else { ">" },
            marks.join(", ")
        ));
    }
    let from = match q.search_folded() {
        Some(s) => {
            let (low, high) = prefix_range(&s);
            let lo = next(&mut args, Box::new(low));
            let upper = match high {
                Some(h) => format!(" AND term < {}", next(&mut args, Box::new(h))),
                None => String::new(),
            };
            format!(
                "(SELECT DISTINCT pid FROM people_terms WHERE org_id = $1 AND term >= {lo}{upper}) AS t \
                 JOIN people p ON p.org_id = $1 AND p.pid = t.pid"
            )
        }
        None => "people p".to_owned(),
    };
    let order = cols
        .iter()
        .map(|c| format!("p.{c}{}", if desc { " DESC" } else { "" }))
        .collect::<Vec<_>>()
        .join(", ");
    let lim = next(
        &mut args,
        Box::new(i64::try_from(limit).unwrap_or(i64::MAX)),
    );
    let sql = format!(
        "SELECT p.body FROM {from} WHERE p.org_id = $1 AND {} ORDER BY {order} LIMIT {lim}",
        filters.join(" AND ")
    );
    (sql, args)
}

/// The walks a page runs, in order: `(sql, args, label)`; for a label sort,
/// one or two per label (the page stops asking once it is full).
fn walks(
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
    after: Option<&[KeyPart]>,
    need: usize,
) -> Vec<(String, Vec<Param>)> {
    let labels = q.wanted_labels();
    if q.sort != PeopleSort::Label {
        return vec![statement(
            org,
            q,
            now,
            columns(q.sort),
            &label_condition(&labels),
            after,
            need,
        )];
    }
    Vec::new()
}

fn run_walk(
    run: &mut Run<'_>,
    stmt: &(String, Vec<Param>),
    now: DateTime<Utc>,
    sort: PeopleSort,
) -> StoreResult<Vec<(Vec<KeyPart>, Person)>> {
    let refs: Vec<&(dyn ToSql + Sync)> = stmt
        .1
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let mut out = Vec::new();
    for r in run(&stmt.0, &refs)? {
        let p = from_body::<Person>("person", &text(&r, 0)?)?.at(now);
        out.push((sort_key(&p, sort), p));
    }
    Ok(out)
}

/// A page of the people view.
pub(crate) fn page(
    run: &mut Run<'_>,
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
    let rows = if sort == PeopleSort::Label {
        let mut ranked = q.wanted_labels();
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
            let conds: Vec<String> = match label {
                PersonLabel::Expired => vec![
                    "p.status = 'expired'".to_owned(),
                    format!("(p.status = 'pending' AND {DUE})"),
                ],
                l => vec![label_condition(&[l])],
            };
            let mut got = Vec::new();
            for cond in conds {
                let stmt = statement(org, q, now, columns(PeopleSort::Name), &cond, rest, need);
                got.extend(run_walk(run, &stmt, now, sort)?);
            }
            got.sort_by(|a, b| if desc { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
            got.truncate(need);
            out.extend(got);
        }
        out
    } else {
        let mut out = Vec::new();
        for stmt in walks(org, q, now, after.as_deref(), limit + 1) {
            out.extend(run_walk(run, &stmt, now, sort)?);
        }
        out
    };
    collect_page(
        rows.into_iter().map(|(k, p)| Ok((k, Some(p)))),
        limit,
        |k| Ok(cursor(sort, desc, k)),
    )
}

/// The plans (`EXPLAIN`) of the first walk a page of `q` runs: for the
/// tests that prove a search reads the terms' index.
pub(crate) fn explain(
    run: &mut Run<'_>,
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
) -> StoreResult<Vec<String>> {
    let mut plan = Vec::new();
    for (sql, args) in walks(org, q, now, None, page_limit(q.limit) + 1) {
        let refs: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        for r in run(&format!("EXPLAIN {sql}"), &refs)? {
            plan.push(text(&r, 0)?);
        }
    }
    Ok(plan)
}

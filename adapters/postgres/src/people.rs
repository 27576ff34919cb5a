//! The people view (migration 0004), as in the SQLite store: the rows the
//! store derives from members and invitations at every write, and the
//! paged query over them. Each sort walks its index of `people` in order;
//! a search starts from the range of `people_terms` its case-folded text is
//! a prefix of, so it reads the matches only.

use crate::codec::{from_body, to_body};
use chrono::{DateTime, Utc};
use enlist::store::people::{
    KeyPart, StatusTest, Walk, equal_filters, invitation_pid, page_by_walks, person_row,
    prefix_range, rows_change, time_parts,
};
use enlist::{Invitation, Member, OrgId, Page, PeopleQuery, Person, StoreError, StoreResult};
use postgres::Row;
use postgres::types::ToSql;

/// Runs one statement with its arguments.
pub(crate) type Run<'a> = dyn FnMut(&str, &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> + 'a;

type Param = Box<dyn ToSql + Sync + Send>;

fn text(row: &Row, i: usize) -> StoreResult<String> {
    row.try_get::<_, String>(i)
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

/// The person of `pid` as the table holds it.
pub(crate) fn stored(run: &mut Run<'_>, org: &str, pid: &str) -> StoreResult<Option<Person>> {
    match run(
        "SELECT body FROM people WHERE org_id = $1 AND pid = $2",
        &[&org, &pid],
    )?
    .first()
    {
        Some(r) => Ok(Some(from_body("person", &text(r, 0)?)?)),
        None => Ok(None),
    }
}

/// The person of a member: its pid and row.
pub(crate) fn of_member(m: &Member) -> (String, Option<Person>) {
    let p = Person::from_member(m);
    (p.pid(), Some(p))
}

/// The person of an invitation: its pid and row (none once it is closed).
pub(crate) fn of_invitation(inv: &Invitation) -> (String, Option<Person>) {
    (invitation_pid(inv), Person::from_invitation(inv))
}

/// What the buffered people rows of one organization change: the
/// parameters of [`PEOPLE_CTES`].
#[derive(Default)]
pub(crate) struct PeopleWrites {
    terms_del: (Vec<String>, Vec<String>),
    terms_add: (Vec<String>, Vec<String>),
    groups_del: (Vec<String>, Vec<String>),
    groups_add: (Vec<String>, Vec<String>),
    gone: Vec<String>,
    up: PeopleColumns,
}

/// The parts of the statement that writes [`PeopleWrites`], as `WITH`
/// items: `$1` is the organization, `$2` to `$24` the arrays of
/// [`PeopleWrites::params`]. Each part reads arrays that may be empty. The
/// parts touch disjoint rows (a term, a group or a pid is removed or
/// added, never both), so running them side by side is sound. The deletes
/// find their rows by one primary-key probe each (`LATERAL`, `OFFSET 0`)
/// and delete them by `ctid`: as joins on `org_id = $1`, the generic plan
/// (which estimates one organization's rows as the average over all) could
/// walk the organization's terms, groups or people rows instead. The
/// organization's lock (ADR 0007) keeps those rows still in between.
pub(crate) const PEOPLE_CTES: &str = "td AS (
             DELETE FROM people_terms WHERE ctid = ANY (ARRAY(
                 SELECT t.ctid FROM unnest($2::text[], $3::text[]) AS x (term, pid)
                 CROSS JOIN LATERAL (SELECT ctid FROM people_terms
                     WHERE org_id = $1 AND term = x.term AND pid = x.pid OFFSET 0) AS t))
         ), ta AS (
             INSERT INTO people_terms (org_id, term, pid)
             SELECT $1, term, pid FROM unnest($4::text[], $5::text[]) AS x (term, pid)
         ), gd AS (
             DELETE FROM people_groups WHERE ctid = ANY (ARRAY(
                 SELECT g.ctid FROM unnest($6::text[], $7::text[]) AS x (group_id, pid)
                 CROSS JOIN LATERAL (SELECT ctid FROM people_groups
                     WHERE org_id = $1 AND group_id = x.group_id AND pid = x.pid OFFSET 0) AS g))
         ), ga AS (
             INSERT INTO people_groups (org_id, group_id, pid)
             SELECT $1, group_id, pid FROM unnest($8::text[], $9::text[]) AS x (group_id, pid)
         ), pd AS (
             DELETE FROM people WHERE ctid = ANY (ARRAY(
                 SELECT p.ctid FROM unnest($10::text[]) AS x (pid)
                 CROSS JOIN LATERAL (SELECT ctid FROM people
                     WHERE org_id = $1 AND pid = x.pid OFFSET 0) AS p))
         ), pu AS (
             INSERT INTO people (org_id, pid, status, expires_s, expires_ns, name_key,
                 contact_key, role, kind, license_type, since_s, since_ns, last_s, last_ns, body)
             SELECT $1, * FROM unnest($11::text[], $12::text[], $13::bigint[], $14::bigint[],
                 $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::bigint[],
                 $21::bigint[], $22::bigint[], $23::bigint[], $24::text[])
             ON CONFLICT (org_id, pid) DO UPDATE SET
                 status = EXCLUDED.status, expires_s = EXCLUDED.expires_s,
                 expires_ns = EXCLUDED.expires_ns, name_key = EXCLUDED.name_key,
                 contact_key = EXCLUDED.contact_key, role = EXCLUDED.role, kind = EXCLUDED.kind,
                 license_type = EXCLUDED.license_type, since_s = EXCLUDED.since_s,
                 since_ns = EXCLUDED.since_ns, last_s = EXCLUDED.last_s, last_ns = EXCLUDED.last_ns,
                 body = EXCLUDED.body
         )";

/// How many parameters [`PEOPLE_CTES`] reads besides `$1`.
pub(crate) const PEOPLE_PARAMS: usize = 23;

/// What writing `rows` takes (`rows` maps a pid to what the table holds,
/// as read before the first buffered change, and what it must hold), or
/// `None` when nothing changes.
pub(crate) fn writes(
    rows: &std::collections::BTreeMap<String, (Option<Person>, Option<Person>)>,
) -> StoreResult<Option<PeopleWrites>> {
    let mut w = PeopleWrites::default();
    let mut changed = false;
    for (pid, (old, new)) in rows {
        let Some(change) = rows_change(old.as_ref(), new.as_ref()) else {
            continue;
        };
        changed = true;
        let pairs = [
            (change.terms_removed, &mut w.terms_del),
            (change.terms_added, &mut w.terms_add),
            (change.groups_removed, &mut w.groups_del),
            (change.groups_added, &mut w.groups_add),
        ];
        for (items, (col, pids)) in pairs {
            for item in items {
                col.push(item);
                pids.push(pid.clone());
            }
        }
        match new {
            None => w.gone.push(pid.clone()),
            Some(p) => w.up.push(pid, p)?,
        }
    }
    Ok(changed.then_some(w))
}

impl PeopleWrites {
    /// `$2` to `$24` of [`PEOPLE_CTES`], in order.
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); PEOPLE_PARAMS] {
        let u = &self.up;
        [
            &self.terms_del.0,
            &self.terms_del.1,
            &self.terms_add.0,
            &self.terms_add.1,
            &self.groups_del.0,
            &self.groups_del.1,
            &self.groups_add.0,
            &self.groups_add.1,
            &self.gone,
            &u.pid,
            &u.status,
            &u.expires_s,
            &u.expires_ns,
            &u.name_key,
            &u.contact_key,
            &u.role,
            &u.kind,
            &u.license_type,
            &u.since_s,
            &u.since_ns,
            &u.last_s,
            &u.last_ns,
            &u.body,
        ]
    }
}

/// Writes the buffered people rows of one organization (see [`writes`])
/// in one statement, instead of one per row and kind of change. The
/// transaction's commit writes them in its own statement instead, with
/// the events and the outbox.
pub(crate) fn flush(
    run: &mut Run<'_>,
    org: &str,
    rows: &std::collections::BTreeMap<String, (Option<Person>, Option<Person>)>,
) -> StoreResult<()> {
    let Some(w) = writes(rows)? else {
        return Ok(());
    };
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&org];
    params.extend(w.params());
    run(&format!("WITH {PEOPLE_CTES} SELECT 1"), &params)?;
    Ok(())
}

/// The columns of `people` rows to write, one array each.
#[derive(Default)]
struct PeopleColumns {
    pid: Vec<String>,
    status: Vec<&'static str>,
    expires_s: Vec<Option<i64>>,
    expires_ns: Vec<Option<i64>>,
    name_key: Vec<String>,
    contact_key: Vec<String>,
    role: Vec<String>,
    kind: Vec<&'static str>,
    license_type: Vec<String>,
    since_s: Vec<i64>,
    since_ns: Vec<i64>,
    last_s: Vec<i64>,
    last_ns: Vec<i64>,
    body: Vec<String>,
}

impl PeopleColumns {
    fn push(&mut self, pid: &str, p: &Person) -> StoreResult<()> {
        let row = person_row(p);
        self.pid.push(pid.to_owned());
        self.status.push(row.status);
        self.expires_s.push(row.expires.map(|e| e.0));
        self.expires_ns.push(row.expires.map(|e| e.1));
        self.name_key.push(row.name_key);
        self.contact_key.push(p.contact_key.clone());
        self.role.push(p.role.clone());
        self.kind.push(row.kind);
        self.license_type.push(p.license_type.clone());
        self.since_s.push(row.since.0);
        self.since_ns.push(row.since.1);
        self.last_s.push(row.last_active.0);
        self.last_ns.push(row.last_active.1);
        self.body.push(to_body(p)?);
        Ok(())
    }
}

/// Writes the person rows of every member and invitation already stored:
/// migration 0004's second half, in its transaction, through [`flush`]
/// (one statement per organization) as every later write is.
pub(crate) fn backfill(run: &mut Run<'_>) -> StoreResult<()> {
    type Rows = std::collections::BTreeMap<String, (Option<Person>, Option<Person>)>;
    let mut by_org: std::collections::BTreeMap<String, Rows> = Default::default();
    let mut people: Vec<(String, String, Option<Person>)> = Vec::new();
    for r in run("SELECT body::text FROM members", &[])? {
        let m: Member = from_body("member", &text(&r, 0)?)?;
        let (pid, person) = of_member(&m);
        people.push((m.org_id.as_str().to_owned(), pid, person));
    }
    let open =
        "SELECT body::text FROM invitations WHERE status IN ('staged', 'pending', 'expired')";
    for r in run(open, &[])? {
        let inv: enlist::StoredInvitation = from_body("invitation", &text(&r, 0)?)?;
        let (pid, person) = of_invitation(&inv);
        people.push((inv.org_id.as_str().to_owned(), pid, person));
    }
    for (org, pid, person) in people {
        let old = stored(run, &org, &pid)?;
        by_org.entry(org).or_default().insert(pid, (old, person));
    }
    for (org, rows) in &by_org {
        flush(run, org, rows)?;
    }
    Ok(())
}

/// A stored-pending invitation is due (Expired) at `now`.
/// (`NOW_S` and `NOW_NS` become parameters when the statement uses them:
/// PostgreSQL refuses a parameter that no expression types.)
const DUE: &str = "(p.expires_s IS NOT NULL AND (p.expires_s < NOW_S OR (p.expires_s = NOW_S AND p.expires_ns <= NOW_NS)))";

/// A walk's status tests as SQL text (stored statuses in one `IN`).
fn status_condition(tests: &[StatusTest]) -> String {
    let mut plain = Vec::new();
    let mut parts = Vec::new();
    for t in tests {
        match t {
            StatusTest::PendingDue => parts.push(format!("(p.status = 'pending' AND {DUE})")),
            StatusTest::PendingNotDue => {
                parts.push(format!("(p.status = 'pending' AND NOT {DUE})"));
            }
            StatusTest::Is(l) => plain.push(format!("'{}'", l.as_str())),
            _ => parts.push("false".to_owned()),
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
    w: &Walk<'_>,
) -> (String, Vec<Param>) {
    let (now_s, now_ns) = time_parts(now);
    let mut args: Vec<Param> = vec![Box::new(org.to_string())];
    let next = |args: &mut Vec<Param>, v: Param| {
        args.push(v);
        format!("${}", args.len())
    };
    let mut cond = status_condition(&w.status);
    if cond.contains("NOW_S") {
        let s = next(&mut args, Box::new(now_s));
        let ns = next(&mut args, Box::new(now_ns));
        cond = cond.replace("NOW_NS", &ns).replace("NOW_S", &s);
    }
    let mut filters = vec![cond];
    for (column, value) in equal_filters(q) {
        let m = next(&mut args, Box::new(value));
        filters.push(format!("p.{column} = {m}"));
    }
    if let Some(group) = &q.group {
        let m = next(&mut args, Box::new(group.to_string()));
        filters.push(format!(
            "EXISTS (SELECT 1 FROM people_groups g WHERE g.org_id = $1 AND g.group_id = {m} AND g.pid = p.pid)"
        ));
    }
    let desc = q.descending;
    let cols = w.columns;
    if let Some(after) = w.after {
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
        Box::new(i64::try_from(w.limit).unwrap_or(i64::MAX)),
    );
    let sql = format!(
        "SELECT p.body FROM {from} WHERE p.org_id = $1 AND {} ORDER BY {order} LIMIT {lim}",
        filters.join(" AND ")
    );
    (sql, args)
}

/// The arguments of a statement as the driver takes them.
fn refs(args: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// A page of the people view: core plans the walks
/// ([`page_by_walks`]), this store runs them.
pub(crate) fn page(
    run: &mut Run<'_>,
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
) -> StoreResult<Page<Person>> {
    page_by_walks(q, now, |w| {
        let (sql, args) = statement(org, q, now, w);
        run(&sql, &refs(&args))?
            .iter()
            .map(|r| from_body::<Person>("person", &text(r, 0)?))
            .collect()
    })
}

/// The plan (`EXPLAIN`) of the first walk a page of `q` runs: for the
/// tests that prove a search reads the terms' index.
pub(crate) fn explain(
    run: &mut Run<'_>,
    org: &OrgId,
    q: &PeopleQuery,
    now: DateTime<Utc>,
) -> StoreResult<Vec<String>> {
    let mut plan: Option<Vec<String>> = None;
    page_by_walks(q, now, |w| {
        if plan.is_none() {
            let (sql, args) = statement(org, q, now, w);
            let rows = run(&format!("EXPLAIN {sql}"), &refs(&args))?;
            plan = Some(
                rows.iter()
                    .map(|r| text(r, 0))
                    .collect::<StoreResult<_>>()?,
            );
        }
        Ok(Vec::new())
    })?;
    Ok(plan.unwrap_or_default())
}

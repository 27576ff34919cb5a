//! Organizations across the store (issue 14, orgs): slugs, the list of all
//! organizations, the organizations of an account, and purging one
//! organization.

use crate::codec::{from_json, to_json};
use crate::store_err;
use enlist::store::{collect_page, cursor, page_limit};
use enlist::{Member, OrgId, Organization, OrganizationQuery, Page, StoreResult, slug_from_name};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeSet;

/// How a table's rows name their organization: by its number (`org`,
/// migrations 0019 to 0021, the column its indexes begin with) or by its
/// id (`org_id`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OrgColumn {
    Number,
    Id,
}

/// Every table that holds rows of an organization, children first (the
/// outbox refers to invitations, `member_groups` to members; `org_keys`
/// numbers the organization's invitations, messages, events and members,
/// so it goes after them), with the column a purge finds them by.
pub(crate) const ORG_TABLES: &[(&str, OrgColumn)] = &[
    ("outbox", OrgColumn::Number),
    ("due_heads", OrgColumn::Number),
    ("member_groups", OrgColumn::Id),
    ("people_groups", OrgColumn::Id),
    ("people_terms", OrgColumn::Id),
    ("members", OrgColumn::Number),
    ("invitations", OrgColumn::Number),
    ("counts", OrgColumn::Id),
    ("links", OrgColumn::Id),
    ("groups", OrgColumn::Id),
    ("events", OrgColumn::Number),
    ("email_settings", OrgColumn::Id),
    ("email_templates", OrgColumn::Id),
    ("batch_reports", OrgColumn::Id),
    ("org_domains", OrgColumn::Id),
    ("membership_requests", OrgColumn::Id),
    ("organizations", OrgColumn::Id),
    ("org_keys", OrgColumn::Id),
];

/// Writes an organization's row: its body and the columns read from it.
pub(crate) fn put(conn: &Connection, org: &Organization) -> StoreResult<()> {
    let slug = (!org.slug.is_empty()).then_some(org.slug.as_str());
    let body = to_json(org)?;
    conn.prepare_cached(
        "INSERT INTO organizations (org_id, body, slug, name_key, deleted)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (org_id) DO UPDATE SET body = excluded.body, slug = excluded.slug,
             name_key = excluded.name_key, deleted = excluded.deleted",
    )
    .and_then(|mut s| {
        s.execute(params![
            org.id.as_str(),
            body,
            slug,
            org.name.to_lowercase(),
            i64::from(org.is_deleted()),
        ])
    })
    .map_err(store_err)?;
    Ok(())
}

/// The organization with a slug.
pub(crate) fn by_slug(conn: &Connection, slug: &str) -> StoreResult<Option<Organization>> {
    if slug.is_empty() {
        return Ok(None);
    }
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM organizations WHERE slug = ?1")
        .and_then(|mut s| s.query_row([slug], |r| r.get(0)).optional())
        .map_err(store_err)?;
    body.map(|b| from_json(&b, "organization")).transpose()
}

/// The admin list with a prefix (`?2`) after the slug `?1`: the
/// organizations whose slug or lowercased name starts with it (the plan is
/// tested: two searches of indexes, no scan).
pub(crate) const LIST_BY_PREFIX: &str = "SELECT slug, body FROM organizations
         WHERE deleted = 0 AND slug IS NOT NULL AND (?1 IS NULL OR slug > ?1)
           AND slug >= ?2 AND slug < ?2 || x'f5'
           AND substr(slug, 1, length(?2)) = ?2
         UNION
         SELECT slug, body FROM organizations
         WHERE deleted = 0 AND slug IS NOT NULL AND (?1 IS NULL OR slug > ?1)
           AND name_key >= ?2 AND name_key < ?2 || x'f5'
           AND substr(name_key, 1, length(?2)) = ?2
         ORDER BY slug LIMIT ?3";

/// A page of the organizations not deleted, by slug.
pub(crate) fn list(
    conn: &Connection,
    query: &OrganizationQuery,
) -> StoreResult<Page<Organization>> {
    let after = query
        .after
        .as_deref()
        .map(cursor::parse_organization)
        .transpose()?;
    let limit = page_limit(query.limit);
    // With a prefix, two walks from it, one by slug, one by name (each
    // bounded above by the prefix followed by the byte 0xF5, which no UTF-8
    // text holds, so every text starting with the prefix is below it and
    // every other one outside the range): the matches only, then sorted by
    // slug, not every organization of the store.
    let sql = if query.prefix.is_some() {
        LIST_BY_PREFIX
    } else {
        "SELECT slug, body FROM organizations
         WHERE deleted = 0 AND slug IS NOT NULL AND (?1 IS NULL OR slug > ?1)
           AND (?2 IS NULL OR substr(slug, 1, length(?2)) = ?2
                OR substr(name_key, 1, length(?2)) = ?2)
         ORDER BY slug LIMIT ?3"
    };
    let mut stmt = conn.prepare_cached(sql).map_err(store_err)?;
    let rows = stmt
        .query_map(
            params![
                after,
                query.prefix,
                i64::try_from(limit + 1).unwrap_or(i64::MAX)
            ],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
        )
        .map_err(store_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(store_err)?;
    collect_page(
        rows.into_iter().map(|(slug, body)| {
            let o: Organization = from_json(&body, "organization")?;
            Ok((slug, Some(o)))
        }),
        limit,
        |slug| Ok(cursor::organization(slug)),
    )
}

/// A page of an account's live memberships in organizations not deleted.
pub(crate) fn memberships_of(
    conn: &Connection,
    user_ref: &str,
    after: Option<&str>,
    limit: u32,
) -> StoreResult<Page<(Organization, Member)>> {
    let after = after.map(cursor::parse_account).transpose()?;
    let limit = page_limit(limit);
    let mut stmt = conn
        .prepare_cached(
            "SELECT m.org_id, o.body, m.body FROM members AS m
             JOIN organizations AS o ON o.org_id = m.org_id
             WHERE m.user_ref = ?1 AND m.status <> 'removed' AND m.user_ref IS NOT NULL
               AND (?2 IS NULL OR m.org_id > ?2) AND o.deleted = 0
             ORDER BY m.org_id LIMIT ?3",
        )
        .map_err(store_err)?;
    let rows = stmt
        .query_map(
            params![
                user_ref,
                after.as_ref().map(OrgId::as_str),
                i64::try_from(limit + 1).unwrap_or(i64::MAX)
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .map_err(store_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(store_err)?;
    collect_page(
        rows.into_iter().map(|(org, o, m)| {
            let o: Organization = from_json(&o, "organization")?;
            let m: Member = from_json(&m, "member")?;
            Ok((org, Some((o, m))))
        }),
        limit,
        |org| Ok(cursor::account(org)),
    )
}

/// Deletes every row of an organization, in every table.
pub(crate) fn purge(conn: &Connection, org: &OrgId) -> StoreResult<()> {
    for (table, column) in ORG_TABLES {
        let rows = match column {
            OrgColumn::Number => "org = (SELECT org FROM org_keys WHERE org_id = ?1)",
            OrgColumn::Id => "org_id = ?1",
        };
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE {rows}"))
            .and_then(|mut s| s.execute([org.as_str()]))
            .map_err(store_err)?;
    }
    Ok(())
}

/// Migration 6: gives every stored organization a slug derived from its
/// name (a `-2`, `-3`, ... suffix when taken, in org id order) and fills
/// the new columns.
pub(crate) fn backfill(conn: &Connection) -> StoreResult<()> {
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT org_id, body FROM organizations ORDER BY org_id")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(store_err)?;
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut orgs = Vec::with_capacity(rows.len());
    for (_, body) in rows {
        let o: Organization = from_json(&body, "organization")?;
        if !o.slug.is_empty() {
            taken.insert(o.slug.clone());
        }
        orgs.push(o);
    }
    for mut o in orgs {
        if o.slug.is_empty() {
            o.slug = free_slug(&slug_from_name(&o.name), &taken);
            taken.insert(o.slug.clone());
        }
        put(conn, &o)?;
    }
    Ok(())
}

/// `base`, or `base-2`, `base-3`, ... whichever is free first.
pub(crate) fn free_slug(base: &str, taken: &BTreeSet<String>) -> String {
    if !taken.contains(base) {
        return base.to_owned();
    }
    (2u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|s| !taken.contains(s))
        .unwrap_or_else(|| base.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::SqliteStore;
    use enlist::{
        Actor, DeleteMode, Enlist, InviteRequest, NewGroup, NewOrganization, Recipients, Store,
    };
    use std::sync::Arc;

    /// Every table with an `org_id` column.
    fn tables_with_org_id(conn: &Connection) -> BTreeSet<String> {
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        tables
            .into_iter()
            .filter(|t| {
                conn.prepare(&format!("SELECT org_id FROM {t} LIMIT 0"))
                    .is_ok()
            })
            .collect()
    }

    fn rows_of(conn: &Connection, org: &OrgId) -> Vec<(String, i64)> {
        tables_with_org_id(conn)
            .into_iter()
            .map(|t| {
                let n: i64 = conn
                    .query_row(
                        &format!("SELECT count(*) FROM {t} WHERE org_id = ?1"),
                        [org.as_str()],
                        |r| r.get(0),
                    )
                    .unwrap();
                (t, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// The purge knows every table: a table added later with an `org_id`
    /// column fails this test until it is listed in `ORG_TABLES`.
    #[test]
    fn the_purge_lists_every_table_with_org_id() {
        let store = SqliteStore::open_in_memory().unwrap();
        let conn = store.conn.lock("SqliteStore").unwrap();
        let listed: BTreeSet<String> = ORG_TABLES.iter().map(|t| t.0.to_owned()).collect();
        assert_eq!(tables_with_org_id(&conn), listed);
        // A table whose rows hold the organization's number is purged by
        // it (its indexes begin with it), `org_keys` by the id it numbers.
        for (table, column) in ORG_TABLES {
            let numbered = conn
                .prepare(&format!("SELECT org FROM {table} LIMIT 0"))
                .is_ok()
                && *table != "org_keys";
            assert_eq!(*column == OrgColumn::Number, numbered, "{table}");
        }
    }

    /// After a purge no row of any table names the organization; the
    /// other organization keeps every row.
    #[test]
    fn a_purge_leaves_no_row_in_any_table() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let engine = Enlist::new(store.clone() as Arc<dyn Store>);
        let acme = engine
            .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
            .unwrap();
        let other = engine
            .create_organization(NewOrganization::new("Other", "acct-1", "ada@other.test"))
            .unwrap();
        let me = Actor::Member(acme.owner.id.clone());
        engine
            .create_group(
                &acme.organization.id,
                &me,
                NewGroup {
                    name: "Team".into(),
                    ..NewGroup::default()
                },
            )
            .unwrap();
        engine
            .invite(
                &acme.organization.id,
                &me,
                InviteRequest::new(Recipients::Paste("bob@acme.test, cy@acme.test".into())),
            )
            .unwrap();
        let before_other = {
            let conn = store.conn.lock("SqliteStore").unwrap();
            assert!(rows_of(&conn, &acme.organization.id).len() > 5);
            rows_of(&conn, &other.organization.id)
        };
        engine
            .delete_organization(&acme.organization.id, &me, "acme", DeleteMode::Purge)
            .unwrap();
        let conn = store.conn.lock("SqliteStore").unwrap();
        assert_eq!(rows_of(&conn, &acme.organization.id), []);
        assert_eq!(rows_of(&conn, &other.organization.id), before_other);
    }

    /// Migration 8 gives every organization stored before it a slug from
    /// its name, distinct, and the columns the lists read.
    #[test]
    fn migration_0008_gives_existing_organizations_slugs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v5.sqlite3");
        {
            let store = SqliteStore::open(&path).unwrap();
            let conn = store.conn.lock("SqliteStore").unwrap();
            crate::tests::downgrade(&conn, 7).unwrap();
            for (id, name) in [("org_1", "Acme"), ("org_2", "ACME!"), ("org_3", "Zeta Ltd")] {
                let body = serde_json::json!({
                    "id": id, "name": name, "policy": {}, "custom_roles": [],
                    "created_at": "2023-11-14T22:13:20Z",
                });
                conn.execute(
                    "INSERT INTO organizations (org_id, body) VALUES (?1, ?2)",
                    params![id, body.to_string()],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        let mut tx = store.begin().unwrap();
        let slugs: Vec<String> = tx
            .list_organizations(&OrganizationQuery::new().with_limit(10))
            .unwrap()
            .items
            .into_iter()
            .map(|o| o.slug)
            .collect();
        assert_eq!(slugs, ["acme", "acme-2", "zeta-ltd"]);
        assert_eq!(
            tx.organization_by_slug("acme-2").unwrap().map(|o| o.name),
            Some("ACME!".to_owned())
        );
    }
}

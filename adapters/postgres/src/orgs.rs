//! Organizations across the store (issue 14, orgs): the statements of the
//! four Transaction methods, and migration 6's slugs for the organizations
//! already stored.

use crate::codec::from_body;
use crate::error::db_err;
use enlist::{Organization, StoreResult, slug_from_name};
use postgres::types::ToSql;
use std::collections::BTreeSet;

/// Every table that holds rows of an organization, children first.
pub(crate) const ORG_TABLES: &[&str] = &[
    "outbox",
    "member_groups",
    "people_groups",
    "people_terms",
    "people",
    "members",
    "invitations",
    "counts",
    "links",
    "groups",
    "events",
    "email_settings",
    "email_templates",
    "batch_reports",
    "org_domains",
    "membership_requests",
    "organizations",
    "org_heads",
];

/// Writes an organization's row with the columns read from it.
pub(crate) const PUT: &str = "INSERT INTO organizations (org_id, body, slug, name_key, deleted)
     VALUES ($1, $2::text::json, $3, $4, $5)
     ON CONFLICT (org_id) DO UPDATE SET body = EXCLUDED.body, slug = EXCLUDED.slug,
         name_key = EXCLUDED.name_key, deleted = EXCLUDED.deleted";

/// An organization by slug.
pub(crate) const BY_SLUG: &str = "SELECT body::text FROM organizations WHERE slug = $1";

/// A page of the organizations not deleted, by slug (`$3`: the page size
/// plus one).
pub(crate) const LIST: &str = "SELECT slug, body::text FROM organizations
     WHERE NOT deleted AND slug IS NOT NULL AND ($1::text IS NULL OR slug > $1::text)
       AND ($2::text IS NULL OR starts_with(slug, $2::text) OR starts_with(name_key, $2::text))
     ORDER BY slug LIMIT $3";

/// A page of the organizations not deleted whose slug or lowercased name
/// is in `[$2, $3)` (the range of the texts a prefix starts, from
/// `prefix_range`), by slug: the two index ranges (`organizations_listed`
/// and `organizations_listed_name`, migration 0012) OR-ed in a bitmap,
/// the matches only, then sorted; not a walk of every organization by
/// slug. The matches are a subquery the planner keeps apart (`OFFSET 0`):
/// as one query, the store's generic plan (`plan_cache_mode`, which
/// knows no prefix) walked `organizations_listed` in slug order for the
/// page's `ORDER BY ... LIMIT` and tested every organization (27 ms for
/// 100,000, the scale sweep's x150).
pub(crate) const LIST_BY_PREFIX: &str = "SELECT slug, body FROM (
         SELECT slug, body::text AS body FROM organizations
         WHERE NOT deleted AND slug IS NOT NULL
           AND ((slug >= $2::text AND slug < $3::text)
                OR (name_key >= $2::text AND name_key < $3::text))
         OFFSET 0) AS o
     WHERE $1::text IS NULL OR slug > $1::text
     ORDER BY slug LIMIT $4";

/// A page of an account's live memberships in organizations not deleted.
pub(crate) const MEMBERSHIPS: &str = "SELECT m.org_id, o.body::text, m.body::text
     FROM members AS m JOIN organizations AS o ON o.org_id = m.org_id
     WHERE m.user_ref = $1 AND m.status <> 'removed' AND m.user_ref IS NOT NULL
       AND ($2::text IS NULL OR m.org_id > $2::text) AND NOT o.deleted
     ORDER BY m.org_id LIMIT $3";

/// Migration 6: a slug for every organization stored before it (from its
/// name, `-2`, `-3`, ... when taken, in org id order).
pub(crate) fn backfill(client: &mut crate::client::PgClient) -> StoreResult<()> {
    let rows = client
        .query("SELECT body::text FROM organizations ORDER BY org_id", &[])
        .map_err(db_err)?;
    let mut orgs = Vec::with_capacity(rows.len());
    let mut taken = BTreeSet::new();
    for r in rows {
        let text: String = r.try_get(0).map_err(db_err)?;
        let o: Organization = from_body("organization", &text)?;
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
        let body = crate::codec::to_body(&o)?;
        let name_key = o.name.to_lowercase();
        let params: [&(dyn ToSql + Sync); 5] =
            [&o.id.as_str(), &body, &o.slug, &name_key, &o.is_deleted()];
        client.execute(PUT, &params).map_err(db_err)?;
    }
    Ok(())
}

/// `base`, or `base-2`, `base-3`, ... whichever is free first.
fn free_slug(base: &str, taken: &BTreeSet<String>) -> String {
    if !taken.contains(base) {
        return base.to_owned();
    }
    (2u64..)
        .map(|n| format!("{base}-{n}"))
        .find(|s| !taken.contains(s))
        .unwrap_or_else(|| base.to_owned())
}

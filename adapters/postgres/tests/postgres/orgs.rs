//! Organizations across the store on PostgreSQL (issue 14, orgs): a purge
//! leaves no row in any table, and migration 6 gives the organizations
//! already stored their slugs.

use crate::common::Fresh;
use enlist::{
    Actor, DeleteMode, Enlist, InviteRequest, NewGroup, NewOrganization, OrgId, OrganizationQuery,
    Recipients, Store,
};
use std::collections::BTreeSet;

/// Every table of the schema with an `org_id` column.
fn tables_with_org_id(c: &mut postgres::Client) -> BTreeSet<String> {
    c.query(
        "SELECT table_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND column_name = 'org_id'",
        &[],
    )
    .unwrap()
    .into_iter()
    .map(|r| r.get(0))
    .collect()
}

fn rows_of(c: &mut postgres::Client, org: &OrgId) -> Vec<(String, i64)> {
    tables_with_org_id(c)
        .into_iter()
        .map(|t| {
            let n: i64 = c
                .query_one(
                    &format!("SELECT count(*) FROM {t} WHERE org_id = $1"),
                    &[&org.as_str()],
                )
                .unwrap()
                .get(0);
            (t, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn a_purge_leaves_no_row_in_any_table() {
    let Some(f) = Fresh::new() else { return };
    let engine = Enlist::new(f.store.clone() as std::sync::Arc<dyn Store>);
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
    let mut c = f.sql();
    assert!(rows_of(&mut c, &acme.organization.id).len() > 5);
    let before_other = rows_of(&mut c, &other.organization.id);
    engine
        .delete_organization(&acme.organization.id, &me, "acme", DeleteMode::Purge)
        .unwrap();
    assert_eq!(rows_of(&mut c, &acme.organization.id), []);
    assert_eq!(rows_of(&mut c, &other.organization.id), before_other);
}

#[test]
fn migration_0008_gives_existing_organizations_slugs() {
    let Some(f) = Fresh::new() else { return };
    f.downgrade(7);
    let mut c = f.sql();
    for (id, name) in [("org_1", "Acme"), ("org_2", "ACME!"), ("org_3", "Zeta Ltd")] {
        let body = serde_json::json!({
            "id": id, "name": name, "policy": {}, "custom_roles": [],
            "created_at": "2023-11-14T22:13:20Z",
        });
        c.execute(
            "INSERT INTO organizations (org_id, body) VALUES ($1, $2::text::json)",
            &[&id, &body.to_string()],
        )
        .unwrap();
    }
    let upgraded = f.another();
    let mut tx = upgraded.begin().unwrap();
    let slugs: Vec<String> = tx
        .list_organizations(&OrganizationQuery::new().with_limit(10))
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.slug)
        .collect();
    assert_eq!(slugs, ["acme", "acme-2", "zeta-ltd"]);
}

/// The admin list's prefix search (migration 0012) reads the range of
/// slugs and the range of names the prefix starts, not every organization
/// (it walked them all by slug before, and again under the store's generic
/// plans until the matches were a subquery of their own), and finds both
/// kinds of match.
#[test]
fn the_organization_prefix_search_reads_two_index_ranges() {
    let Some(f) = Fresh::new() else { return };
    let mut c = f.sql();
    // Enough organizations that a walk of all of them would cost.
    c.batch_execute(
        "INSERT INTO organizations (org_id, body, slug, name_key, deleted)
         SELECT 'org_' || k, json_build_object('id', 'org_' || k, 'name', 'Org ' || k,
                    'slug', 'org-' || k, 'policy', '{}'::json, 'custom_roles', '[]'::json,
                    'created_at', '2023-11-14T22:13:20Z'),
                'org-' || k, 'org ' || k, false
         FROM generate_series(1, 5000) AS k;
         ANALYZE organizations;",
    )
    .unwrap();
    let plan = f.store.explain_organizations("acme").unwrap().join("\n");
    assert!(plan.contains("organizations_listed_name"), "{plan}");
    assert!(plan.contains("organizations_listed "), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    let engine = Enlist::new(f.store.clone() as std::sync::Arc<dyn Store>);
    engine
        .create_organization(NewOrganization::new("Zeta Acme", "acct-1", "a@z.test"))
        .unwrap();
    engine
        .create_organization(NewOrganization::new("Acme", "acct-1", "a@acme.test"))
        .unwrap();
    let mut q = OrganizationQuery::new().with_limit(10);
    q.prefix = Some("acme".into());
    let page = engine.list_organizations(&q).unwrap();
    let names: Vec<String> = page.items.into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["Acme"]);
    q.prefix = Some("zeta a".into());
    let page = engine.list_organizations(&q).unwrap();
    let names: Vec<String> = page.items.into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["Zeta Acme"]);
}

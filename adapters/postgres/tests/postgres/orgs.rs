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

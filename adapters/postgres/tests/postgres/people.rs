//! The people view on PostgreSQL: a search reads the index of search terms
//! (a range of `people_terms`), and a first page walks a sort index, in an
//! organization large enough that the planner would rather scan if it
//! could.

use crate::common::{Fresh, begin, count, member, org_id, organization, t};
use enlist::{PeopleQuery, PeopleSort};

#[test]
fn people_search_and_first_page_use_indexes() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    tx.put_organization(&organization(&org)).expect("org");
    for i in 0..3000 {
        let mut m = member(&org, &format!("mem_{i}"), &format!("k{i}@x.test"));
        m.first_name = Some(format!("First{}", i % 97));
        m.last_name = Some(format!("Last{i}"));
        tx.put_member(&m).expect("member");
    }
    tx.commit().expect("commit");
    let mut sql = f.sql();
    sql.batch_execute("ANALYZE people; ANALYZE people_terms;")
        .expect("analyze");

    let search = PeopleQuery {
        search: Some("Last123".into()),
        ..PeopleQuery::default()
    };
    let plan = f
        .store
        .explain_people(&org, &search, t(0))
        .expect("explain");
    let text = plan.join("\n");
    assert!(
        text.contains("people_terms_pkey") && !text.contains("Seq Scan"),
        "a search starts from the terms' index:\n{text}"
    );
    let mut tx = begin(&*f.store);
    let found = tx.people(&org, &search, t(0)).expect("search");
    // Last123, Last1230..Last1239.
    assert_eq!(found.items.len(), 11);

    for sort in [PeopleSort::Name, PeopleSort::Email, PeopleSort::Date] {
        let q = PeopleQuery {
            sort,
            ..PeopleQuery::default()
        };
        let plan = f.store.explain_people(&org, &q, t(0)).expect("explain");
        let text = plan.join("\n");
        assert!(
            !text.contains("Seq Scan") && !text.contains("Sort"),
            "a first page walks an index in order:\n{text}"
        );
    }
}

/// Migration 0004 writes the people rows of what a version 3 schema
/// already holds: after the upgrade, the view and its search see them.
#[test]
fn migration_0004_builds_people_of_existing_rows() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    tx.put_organization(&organization(&org)).expect("org");
    for i in 0..20 {
        let mut m = member(&org, &format!("mem_{i}"), &format!("k{i}@x.test"));
        m.first_name = Some(format!("Name{i}"));
        tx.put_member(&m).expect("member");
    }
    tx.commit().expect("commit");
    let all = PeopleQuery {
        limit: 1000,
        ..PeopleQuery::default()
    };
    let before = begin(&*f.store).people(&org, &all, t(0)).expect("people");
    assert_eq!(before.items.len(), 20);
    // Back to version 3: the people tables gone, the migration forgotten.
    f.downgrade(3);
    let upgraded = f.another();
    let after = begin(&*upgraded).people(&org, &all, t(0)).expect("people");
    assert_eq!(after, before);
    let q = PeopleQuery {
        search: Some("name1".into()),
        ..PeopleQuery::default()
    };
    // Name1, Name10..Name19.
    let found = begin(&*upgraded).people(&org, &q, t(0)).expect("search");
    assert_eq!(found.items.len(), 11);
}

/// Migration 0014 gives the invitations already stored their key by last
/// activity (their creation time, below every activity): by last activity
/// they come in the order they were made, not by id, page by page, both
/// ways.
#[test]
fn migration_0014_orders_stored_invitations_by_creation_by_last_activity() {
    use enlist::testing::people::{BY_CREATION, by_last_activity, invitations_out_of_id_order};
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    tx.put_organization(&organization(&org)).expect("org");
    invitations_out_of_id_order(tx.as_mut(), &org);
    tx.commit().expect("commit");
    // Back to version 13: every invitation keyed as never active.
    f.downgrade(13);
    let mut sql = f.sql();
    let never = "SELECT count(*) FROM people WHERE last_s = -9223372036854775808";
    assert_eq!(count(&mut sql, never), 4);
    let upgraded = f.another();
    assert_eq!(
        by_last_activity(begin(&*upgraded).as_mut(), &org, false),
        BY_CREATION
    );
    let mut back = BY_CREATION;
    back.reverse();
    assert_eq!(
        by_last_activity(begin(&*upgraded).as_mut(), &org, true),
        back
    );
    let moved = "SELECT count(*) FROM people WHERE last_s = since_s - 4611686018427387904 AND last_ns = since_ns";
    assert_eq!(count(&mut sql, moved), 4);
}

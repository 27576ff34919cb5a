//! Dry runs, member attributes and the bulk update, through the engine and
//! through the `Transaction` API: every store keeps attributes, answers a
//! dry run as MemoryStore does, and is left as it was by one.

use super::entities::{begin, invitation, member, organization};
use super::harness::{Env, MakeStore};
use super::snapshot::snapshot;
use crate::{
    Actor, Attributes, ImportFormat, InviteRequest, MemberQuery, OrgId, RecipientInput, Recipients,
    Registration,
};

fn attrs(pairs: &[(&str, &str)]) -> Attributes {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Attributes written on a member and an invitation read back the same by
/// every lookup; a row stored before attributes existed reads as empty.
pub fn attributes_round_trip(make: MakeStore<'_>) {
    let store = make();
    let org = OrgId::from("org_attr");
    let a = attrs(&[
        ("department", "Sales & Ops"),
        ("job_title", "Rep 😀 \"north\""),
    ]);
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("org");
    let old = member(&org, "mem_old", "old@x.test");
    assert!(
        old.attributes.is_empty(),
        "a row without attributes reads empty"
    );
    tx.put_member(&old).expect("old");
    let mut m = member(&org, "mem_new", "new@x.test");
    m.attributes = a.clone();
    tx.put_member(&m).expect("member");
    let mut inv = invitation(&org, "inv_1", "invitee@x.test");
    inv.invitation.attributes = a.clone();
    tx.put_invitation(&inv).expect("invitation");
    tx.commit().expect("commit");

    let mut tx = begin(&*store);
    let got = tx.member(&org, &m.id).expect("read").expect("member");
    assert_eq!(got.attributes, a);
    let got = tx
        .member_by_contact(&org, "new@x.test")
        .expect("read")
        .expect("member");
    assert_eq!(got.attributes, a);
    let page = tx
        .list_members(
            &org,
            &MemberQuery {
                limit: 10,
                ..MemberQuery::default()
            },
        )
        .expect("list");
    let listed: Vec<_> = page.items.iter().map(|m| m.attributes.clone()).collect();
    assert!(
        listed.contains(&a) && listed.contains(&Attributes::new()),
        "{listed:?}"
    );
    let got = tx.invitation(&org, &inv.id).expect("read").expect("inv");
    assert_eq!(got.attributes, a);
    let got = tx
        .open_invitation_for(&org, "invitee@x.test")
        .expect("read")
        .expect("inv");
    assert_eq!(got.attributes, a);
}

/// A dry run of an invitation and of a bulk update leaves every store as
/// it was, and answers as MemoryStore does; the attributes invited with
/// reach the member, and the bulk update changes what its file says.
pub fn dry_runs_and_bulk_update(env: &mut Env) {
    let (org, owner) = env.org();
    let id = org.id.clone();
    let me = Actor::Member(owner.id.clone());
    let req = InviteRequest::new(Recipients::List(vec![
        RecipientInput {
            email: Some("bea@acme.test".into()),
            attributes: attrs(&[("department", "Sales")]),
            ..RecipientInput::default()
        },
        RecipientInput::email("cy@acme.test"),
        RecipientInput::email("owner@acme.test"),
    ]))
    .attributes(attrs(&[("job_title", "Rep")]));
    let store = env.engine.store().clone();
    let before = snapshot(&*store, std::slice::from_ref(&id), &[]);
    let dry = env.engine.dry_run_invite(&id, &me, &req);
    env.rec_result("dry_run_invite", &dry);
    assert_eq!(
        before,
        snapshot(&*store, std::slice::from_ref(&id), &[]),
        "a dry run changed the store"
    );
    let real = env.engine.invite(&id, &me, req);
    env.rec_result("invite", &real.clone().map(|r| r.issued.len()));
    let real = real.expect("invite");
    for issued in &real.issued {
        let token = issued.secret.clone().expect("secret");
        let accepted = env.engine.accept(
            token.expose(),
            Registration {
                user_ref: format!("acct-{}", issued.index),
                first_name: Some("First".into()),
                last_name: Some("Last".into()),
                ..Registration::default()
            },
        );
        env.rec_result(
            "accept",
            &accepted.map(|a| (a.member.contact.as_str().to_owned(), a.member.attributes)),
        );
    }
    let csv = "Email,First name,Department,Active,Role\n\
               bea@acme.test,Beatrice,Support,,\n\
               cy@acme.test,,,no,admin\n\
               nobody@acme.test,,Sales,,\n\
               owner@acme.test,,,no,\n";
    let before = snapshot(&*store, std::slice::from_ref(&id), &[]);
    let dry = env
        .engine
        .dry_run_bulk_update(&id, &me, csv.as_bytes(), ImportFormat::Csv);
    env.rec_result("dry_run_bulk_update", &dry);
    assert_eq!(
        before,
        snapshot(&*store, std::slice::from_ref(&id), &[]),
        "a bulk update's dry run changed the store"
    );
    let applied = env
        .engine
        .bulk_update_members(&id, &me, csv.as_bytes(), ImportFormat::Csv);
    env.rec_result("bulk_update_members", &applied);
    let (dry, applied) = (dry.expect("dry run"), applied.expect("apply"));
    assert_eq!(
        dry.rows, applied.rows,
        "the dry run's diff is what applying did"
    );
    let page = env.engine.list_members(
        &id,
        &me,
        &MemberQuery {
            limit: 10,
            ..MemberQuery::default()
        },
    );
    env.rec_page("members", &page.expect("members"));
    super::engine_ops::check_trail(env, &id);
}

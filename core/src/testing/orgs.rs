//! Organizations across the store (issue 14, orgs): slugs unique across
//! the store, the organizations of an account through its index, the list
//! of all organizations, deleting an organization (kept or purged), and
//! leaving one.

use super::entities::{event, group, hash, link, member, message, organization, pending, t};
use super::harness::{Env, MakeStore, SEED, as_member, code, registration, token_of};
use super::races::{THREADS, is_conflict, race};
use super::snapshot::read_all;
use crate::{
    Actor, DeleteMode, GroupGrant, InvitationStatus, InviteRequest, LinkSpec, MemberStatus,
    NewEmailTemplate, NewGroup, NewOrganization, OrgId, OrganizationQuery, OutboxStatus,
    PeopleQuery, PersonLookup, Recipients, StoreError, TokenKey, Transaction, UniqueRule,
};
use std::collections::BTreeSet;

fn slugged(id: &str, slug: &str) -> crate::Organization {
    let mut o = organization(&OrgId::from(id));
    o.slug = slug.to_owned();
    o
}

/// `put_organization` refuses a second organization with a slug; the
/// same organization rewritten keeps it; an empty slug is not indexed; a
/// rolled-back write frees the slug it took.
pub fn slugs_are_unique_across_the_store(make: MakeStore<'_>) {
    let store = make();
    let mut tx = store.begin().expect("begin");
    tx.put_organization(&slugged("org_a", "acme")).expect("a");
    tx.put_organization(&slugged("org_a", "acme"))
        .expect("a again");
    let err = tx
        .put_organization(&slugged("org_b", "acme"))
        .expect_err("a second acme");
    assert!(
        matches!(err, StoreError::Unique(UniqueRule::OrganizationSlug)),
        "{err:?}"
    );
    tx.put_organization(&slugged("org_b", "")).expect("no slug");
    tx.put_organization(&slugged("org_c", ""))
        .expect("no slug either");
    assert_eq!(tx.organization_by_slug("").expect("by empty"), None);
    tx.commit().expect("commit");

    let mut tx = store.begin().expect("begin");
    assert_eq!(
        tx.organization_by_slug("acme")
            .expect("by slug")
            .map(|o| o.id),
        Some(OrgId::from("org_a"))
    );
    // Renaming the slug frees the old one.
    tx.put_organization(&slugged("org_a", "acme-eu"))
        .expect("re-slug");
    tx.put_organization(&slugged("org_b", "acme"))
        .expect("acme is free");
    drop(tx); // rolled back
    let mut tx = store.begin().expect("begin");
    assert_eq!(
        tx.organization_by_slug("acme")
            .expect("by slug")
            .map(|o| o.id),
        Some(OrgId::from("org_a")),
        "a rolled-back write leaves the slugs as they were"
    );
    assert_eq!(tx.organization_by_slug("acme-eu").expect("by slug"), None);
    let err = tx
        .put_organization(&slugged("org_b", "acme"))
        .expect_err("still taken after the rollback");
    assert!(matches!(
        err,
        StoreError::Unique(UniqueRule::OrganizationSlug)
    ));
}

/// The organizations of an account, by its index: live members only, not
/// deleted organizations, sorted by organization id, paged with cursors
/// that survive writes; a foreign cursor is refused.
pub fn memberships_of_an_account(make: MakeStore<'_>) {
    let store = make();
    let mut tx = store.begin().expect("begin");
    for (i, id) in ["org_3", "org_1", "org_2", "org_4"].iter().enumerate() {
        tx.put_organization(&slugged(id, &format!("s{i}")))
            .expect("org");
        let mut m = member(&OrgId::from(*id), &format!("mem_{id}"), "ada@x.test");
        m.user_ref = Some("acct-ada".into());
        tx.put_member(&m).expect("member");
        let mut other = member(&OrgId::from(*id), &format!("bob_{id}"), "bob@x.test");
        other.user_ref = Some("acct-bob".into());
        tx.put_member(&other).expect("bob");
    }
    // Removed in org_4: not listed.
    let mut gone = member(&OrgId::from("org_4"), "mem_org_4", "ada@x.test");
    gone.user_ref = Some("acct-ada".into());
    gone.status = MemberStatus::Removed;
    tx.put_member(&gone).expect("removed");
    // org_2 deleted: not listed.
    let mut deleted = slugged("org_2", "s2");
    deleted.deleted_at = Some(t(5));
    tx.put_organization(&deleted).expect("deleted");
    tx.commit().expect("commit");

    let mut tx = store.begin().expect("begin");
    let first = tx.memberships_of("acct-ada", None, 1).expect("page 1");
    assert_eq!(first.items.len(), 1);
    assert_eq!(first.items[0].0.id, OrgId::from("org_1"));
    assert_eq!(first.items[0].1.id.as_str(), "mem_org_1");
    let cursor = first.next_cursor.expect("more");
    let second = tx
        .memberships_of("acct-ada", Some(&cursor), 10)
        .expect("page 2");
    let ids: Vec<&str> = second.items.iter().map(|(o, _)| o.id.as_str()).collect();
    assert_eq!(
        ids,
        ["org_3"],
        "deleted org_2 and removed org_4 are left out"
    );
    assert_eq!(second.next_cursor, None);
    assert!(
        second
            .items
            .iter()
            .all(|(_, m)| m.user_ref.as_deref() == Some("acct-ada"))
    );
    assert!(
        tx.memberships_of("acct-nobody", None, 10)
            .expect("nobody")
            .items
            .is_empty()
    );
    // A prefix of another account is another account.
    assert!(
        tx.memberships_of("acct-ad", None, 10)
            .expect("prefix")
            .items
            .is_empty()
    );
    let err = tx
        .memberships_of("acct-ada", Some("m.00.00"), 10)
        .expect_err("a member cursor");
    assert!(matches!(err, StoreError::InvalidCursor { .. }), "{err:?}");
    // The user_ref moves with the member.
    let mut moved = member(&OrgId::from("org_1"), "mem_org_1", "ada@x.test");
    moved.user_ref = Some("acct-ada2".into());
    tx.put_member(&moved).expect("moved");
    let ids: Vec<String> = tx
        .memberships_of("acct-ada", None, 10)
        .expect("after the move")
        .items
        .into_iter()
        .map(|(o, _)| o.id.as_str().to_owned())
        .collect();
    assert_eq!(ids, ["org_3"]);
    assert_eq!(
        tx.memberships_of("acct-ada2", None, 10)
            .expect("the new ref")
            .items
            .len(),
        1
    );
}

/// The list of all organizations: not deleted, with a slug, by slug, with
/// a prefix of the slug or of the lowercased name.
pub fn all_organizations_by_slug(make: MakeStore<'_>) {
    let store = make();
    let mut tx = store.begin().expect("begin");
    for (id, slug, name) in [
        ("o1", "zeta", "Zeta Ltd"),
        ("o2", "acme-eu", "Acme Europe"),
        ("o3", "acme", "ACME"),
        ("o4", "beta", "Älpha Beta"),
        ("o5", "gone", "Acme Gone"),
        ("o6", "", "Acme Unslugged"),
    ] {
        let mut o = slugged(id, slug);
        o.name = name.into();
        if id == "o5" {
            o.deleted_at = Some(t(1));
        }
        tx.put_organization(&o).expect("org");
    }
    let slugs = |tx: &mut dyn crate::Transaction, q: OrganizationQuery| -> (Vec<String>, bool) {
        let page = tx.list_organizations(&q).expect("list");
        (
            page.items.into_iter().map(|o| o.slug).collect(),
            page.next_cursor.is_some(),
        )
    };
    assert_eq!(
        slugs(tx.as_mut(), OrganizationQuery::new().with_limit(10)),
        (
            vec![
                "acme".into(),
                "acme-eu".into(),
                "beta".into(),
                "zeta".into()
            ],
            false
        )
    );
    assert_eq!(
        slugs(
            tx.as_mut(),
            OrganizationQuery::new().with_prefix("acme").with_limit(10)
        )
        .0,
        ["acme", "acme-eu"]
    );
    // By the lowercased name (Unicode lowercase).
    assert_eq!(
        slugs(
            tx.as_mut(),
            OrganizationQuery::new().with_prefix("älpha").with_limit(10)
        )
        .0,
        ["beta"]
    );
    // A prefix search pages on by slug; a renamed organization is found by
    // its new name only.
    let first = tx
        .list_organizations(&OrganizationQuery::new().with_prefix("acme").with_limit(1))
        .expect("prefix page 1");
    assert_eq!(first.items.len(), 1);
    assert_eq!(first.items[0].slug, "acme");
    assert_eq!(
        slugs(
            tx.as_mut(),
            OrganizationQuery::new()
                .with_prefix("acme")
                .after(first.next_cursor.expect("a second match"))
                .with_limit(1)
        ),
        (vec!["acme-eu".into()], false)
    );
    let mut renamed = slugged("o4", "beta");
    renamed.name = "Omega".into();
    tx.put_organization(&renamed).expect("rename");
    assert!(
        slugs(
            tx.as_mut(),
            OrganizationQuery::new().with_prefix("älpha").with_limit(10)
        )
        .0
        .is_empty()
    );
    assert_eq!(
        slugs(
            tx.as_mut(),
            OrganizationQuery::new().with_prefix("omeg").with_limit(10)
        )
        .0,
        ["beta"]
    );
    let page = tx
        .list_organizations(&OrganizationQuery::new().with_limit(2))
        .expect("page 1");
    assert_eq!(page.items.len(), 2);
    let next = page.next_cursor.expect("more");
    // A write between pages does not disturb the cursor.
    tx.put_organization(&slugged("o7", "alpha")).expect("alpha");
    assert_eq!(
        slugs(
            tx.as_mut(),
            OrganizationQuery::new().after(next).with_limit(10)
        )
        .0,
        ["alpha", "beta", "zeta"],
        "the next page starts after the cursor's slug, whatever was written"
    );
    let err = tx
        .list_organizations(&OrganizationQuery::new().after("a.00"))
        .expect_err("another list's cursor");
    assert!(matches!(err, StoreError::InvalidCursor { .. }), "{err:?}");
}

/// Through the engine: slugs derived and chosen, the organizations of an
/// account, the admin list, leaving, and deleting with members and
/// history kept.
pub fn organizations_through_the_engine(env: &mut Env) {
    let (acme, owner) = env.org();
    env.rec("acme slug", &acme.slug);
    let again =
        env.engine
            .create_organization(NewOrganization::new("Acme", "acct-2", "two@acme.test"));
    env.rec_result("second Acme", &again.clone().map(|c| c.organization.slug));
    let chosen = env.engine.create_organization(
        NewOrganization::new("Beta", "acct-owner", "owner@beta.test").with_slug("acme"),
    );
    env.rec_result("a taken slug", &chosen.clone().map(|_| ()));
    assert_eq!(code(&chosen), "conflict");
    assert_eq!(
        again.as_ref().map(|c| c.organization.slug.as_str()).ok(),
        Some("acme-2")
    );
    let beta = env
        .engine
        .create_organization(
            NewOrganization::new("Beta", "acct-owner", "owner@beta.test").with_slug("beta-hq"),
        )
        .expect("beta");
    env.rec("beta slug", &beta.organization.slug);
    let bob = env.join(&acme.id, "bob@acme.test", "member", "acct-bob");
    env.join(&beta.organization.id, "bob@beta.test", "admin", "acct-bob");
    let mine = env.engine.organizations_of("acct-bob", None, 10);
    env.rec_result("bob's organizations", &mine);
    assert_eq!(mine.as_ref().map(|p| p.items.len()).ok(), Some(2));
    let owners = env.engine.organizations_of("acct-owner", None, 1);
    env.rec_result("owner's first", &owners.clone().map(|p| p.items.len()));
    let all = env
        .engine
        .list_organizations(&OrganizationQuery::new().with_prefix("ACME"));
    env.rec_result(
        "all acme",
        &all.map(|p| p.items.into_iter().map(|o| o.slug).collect::<Vec<_>>()),
    );
    // Slugs: who may change them, and to what.
    let r = env
        .engine
        .set_organization_slug(&acme.id, &as_member(&bob), "bobs");
    assert_eq!(code(&r), "permission_denied");
    env.rec_result("a member re-slugs", &r.map(|o| o.slug));
    let r = env
        .engine
        .set_organization_slug(&acme.id, &as_member(&owner), "beta-hq");
    env.rec_result("a taken slug", &r.map(|o| o.slug));
    let r = env
        .engine
        .set_organization_slug(&acme.id, &as_member(&owner), "acme-corp");
    env.rec_result("re-slug", &r.map(|o| o.slug));
    let r = env.engine.organization_by_slug("acme-corp");
    env.rec_result("by slug", &r.map(|o| o.id == acme.id));
    // Leave: bob leaves Acme; the owner alone cannot.
    let r = env.engine.leave_organization(&acme.id, &as_member(&bob));
    assert_eq!(
        r.as_ref().map(|m| m.status).ok(),
        Some(MemberStatus::Removed)
    );
    env.rec_result("bob leaves", &r.map(|m| (m.status, m.groups.len())));
    let r = env.engine.leave_organization(&acme.id, &as_member(&owner));
    assert_eq!(code(&r), "conflict");
    env.rec_result("the last owner leaves", &r.map(|m| m.status));
    let r = env.engine.organizations_of("acct-bob", None, 10);
    env.rec_result("bob's organizations after leaving", &r);
    // Delete, keeping members and history.
    let pending = env
        .engine
        .invite(
            &acme.id,
            &as_member(&owner),
            InviteRequest::new(Recipients::Paste("carol@acme.test".into())),
        )
        .expect("invite carol");
    let token = token_of(&pending.issued[0]);
    let r = env
        .engine
        .delete_organization(&acme.id, &as_member(&owner), "acme", DeleteMode::Keep);
    assert_eq!(code(&r), "confirmation_mismatch");
    env.rec_result("a wrong confirmation", &r);
    let r =
        env.engine
            .delete_organization(&acme.id, &as_member(&owner), "acme-corp", DeleteMode::Keep);
    assert!(r.is_ok(), "{r:?}");
    env.rec_result("delete, keep", &r);
    let r = env.engine.accept(&token, registration("acct-carol"));
    assert_eq!(code(&r), "invalid_secret");
    env.rec_result("the token after deletion", &r.map(|a| a.member.id));
    let r = env.engine.preview(&token);
    env.rec_result("the preview after deletion", &r.map(|_| ()));
    let r = env
        .engine
        .list_members(&acme.id, &as_member(&owner), &crate::MemberQuery::default());
    assert_eq!(code(&r), "not_found");
    env.rec_result("a command on the deleted org", &r.map(|p| p.items.len()));
    let r = env.engine.organization(&acme.id);
    assert_eq!(r.as_ref().map(|o| o.deleted_at.is_some()).ok(), Some(true));
    env.rec_result("read by id", &r.map(|o| o.deleted_at.is_some()));
    let r = env.engine.organization_by_slug("acme-corp");
    assert_eq!(code(&r), "not_found");
    env.rec_result("by slug after deletion", &r.map(|o| o.id));
    let r = env.engine.organizations_of("acct-owner", None, 10);
    assert_eq!(
        r.as_ref().map(|p| p.items.len()).ok(),
        Some(1),
        "the deleted org is listed nowhere"
    );
    env.rec_result("owner's organizations after deletion", &r);
    let r = env.engine.list_organizations(&OrganizationQuery::new());
    assert!(
        r.as_ref()
            .is_ok_and(|p| p.items.iter().all(|o| o.id != acme.id)),
        "listed nowhere"
    );
    env.rec_result(
        "all after deletion",
        &r.map(|p| p.items.into_iter().map(|o| o.slug).collect::<Vec<_>>()),
    );
    let r = env.engine.create_organization(
        NewOrganization::new("Again", "acct-9", "nine@acme.test").with_slug("acme-corp"),
    );
    assert_eq!(code(&r), "conflict");
    env.rec_result("a kept org's slug stays reserved", &r.map(|_| ()));
    let r = env.engine.events(&acme.id, &Actor::System, 0, 100);
    env.rec_result(
        "the trail is kept",
        &r.map(|ev| ev.last().map(|e| format!("{:?}", e.kind))),
    );
    // The invitation is revoked in the store, its email superseded.
    let mut tx = env.engine.store().begin().expect("begin");
    let inv = tx
        .invitation(&acme.id, &pending.issued[0].invitation.id)
        .expect("read")
        .expect("kept");
    assert_eq!(
        inv.status,
        InvitationStatus::Revoked,
        "{:#?}",
        env.transcript()
    );
    if let Some(msg) = &pending.issued[0].message_id {
        let m = tx.outbox_message(msg).expect("read").expect("kept");
        assert_eq!(
            m.status,
            OutboxStatus::Superseded,
            "the queued email is never sent"
        );
    }
}

/// Purging an organization leaves nothing of it in any table the store
/// reads (what every read of the Transaction API finds equals what it
/// finds for an organization that never existed), frees its slug, and
/// leaves the other organizations untouched.
pub fn purge_leaves_nothing(make: MakeStore<'_>) {
    let store = make();
    let mut env = Env::new(store.clone(), SEED);
    let mut policy = crate::Policy::default();
    policy.invite_link_enabled = true;
    let (acme, owner) = env.org_with_policy(policy);
    let (other, _) = env.org();
    let me = as_member(&owner);
    let team = env
        .engine
        .create_group(
            &acme.id,
            &me,
            NewGroup {
                name: "Team".into(),
                ..NewGroup::default()
            },
        )
        .expect("group");
    env.join(&acme.id, "bob@acme.test", "member", "acct-bob");
    let report = env
        .engine
        .invite(
            &acme.id,
            &me,
            InviteRequest::new(Recipients::Paste("carol@acme.test, dan@acme.test".into())),
        )
        .expect("invite");
    env.engine
        .invite(
            &acme.id,
            &me,
            InviteRequest::new(Recipients::Paste("erin@acme.test".into())).staged(),
        )
        .expect("stage");
    let msgs: Vec<_> = report
        .issued
        .iter()
        .filter_map(|i| i.message_id.clone())
        .collect();
    if let Some(m) = msgs.first() {
        env.engine
            .mark_failed(m, "mailbox full", true)
            .expect("a dead letter");
    }
    env.engine
        .activate_invite_link(
            &acme.id,
            &me,
            LinkSpec {
                groups: vec![GroupGrant::member(team.id.clone())],
                ..LinkSpec::default()
            },
        )
        .expect("link");
    env.engine
        .set_email_settings(&acme.id, &me, "fr", Some("Bienvenue"))
        .expect("settings");
    env.engine
        .set_email_template(
            &acme.id,
            &me,
            NewEmailTemplate::new("fr", "Invitation", "Bonjour {{accept_url}}"),
        )
        .expect("template");
    let before_other = {
        let mut tx = store.begin().expect("begin");
        read_all(tx.as_mut(), std::slice::from_ref(&other.id), &[])
    };
    // A purge rolled back leaves everything as it was.
    let before_acme = {
        let mut tx = store.begin().expect("begin");
        read_all(tx.as_mut(), std::slice::from_ref(&acme.id), &msgs)
    };
    {
        let mut tx = store.begin().expect("begin");
        tx.purge_organization(&acme.id).expect("purge");
        assert_eq!(tx.organization(&acme.id).expect("read"), None);
        drop(tx);
    }
    let after_rollback = {
        let mut tx = store.begin().expect("begin");
        let snap = read_all(tx.as_mut(), std::slice::from_ref(&acme.id), &msgs);
        assert_eq!(
            tx.organization_by_slug("acme").expect("slug").map(|o| o.id),
            Some(acme.id.clone()),
            "the slug is back too"
        );
        assert_eq!(
            tx.memberships_of("acct-bob", None, 10)
                .expect("bob")
                .items
                .len(),
            1,
            "the account index is back too"
        );
        snap
    };
    assert_eq!(
        after_rollback, before_acme,
        "a rolled-back purge changes nothing"
    );
    let r = env
        .engine
        .delete_organization(&acme.id, &me, "acme", DeleteMode::Purge);
    assert!(r.is_ok(), "{r:?}");
    let never = OrgId::from("org_never_existed");
    let mut tx = store.begin().expect("begin");
    let purged = read_all(tx.as_mut(), std::slice::from_ref(&acme.id), &msgs);
    let empty = read_all(tx.as_mut(), std::slice::from_ref(&never), &[]);
    assert_eq!(
        purged.orgs, empty.orgs,
        "nothing of the purged organization is read back"
    );
    assert!(
        purged.messages.iter().all(Option::is_none),
        "its messages are gone"
    );
    assert!(
        tx.failed_outbox(&acme.id, None, 100)
            .expect("dead letters")
            .items
            .is_empty()
    );
    assert!(
        tx.people(&acme.id, &PeopleQuery::default(), t(0))
            .expect("people")
            .items
            .is_empty()
    );
    assert!(
        tx.memberships_of("acct-bob", None, 10)
            .expect("bob")
            .items
            .is_empty()
    );
    assert_eq!(tx.organization_by_slug("acme").expect("slug"), None);
    assert_eq!(
        tx.batch_report(&acme.id, &report.batch_id).expect("report"),
        None
    );
    let after_other = read_all(tx.as_mut(), std::slice::from_ref(&other.id), &[]);
    assert_eq!(
        after_other.orgs, before_other.orgs,
        "the other organization is untouched"
    );
    drop(tx);
    // The slug is free again.
    let again = env
        .engine
        .create_organization(NewOrganization::new("X", "acct-x", "x@x.test").with_slug("acme"))
        .expect("acme is free");
    assert_eq!(again.organization.slug, "acme");
    // Commands on the purged organization find nothing.
    assert_eq!(code(&env.engine.organization(&acme.id)), "not_found");
}

/// Threads create organizations at once: one chosen slug is won by one
/// of them (the others are told it is taken, or that the store gave up on
/// a write conflict); derived slugs never collide: every creation gets a
/// distinct one.
pub fn slugs_hold_under_concurrent_creates(make: MakeStore<'_>) {
    let store = make();
    let env = Env::new(store.clone(), SEED);
    let results = race(&store, &env.clock, THREADS, |i, engine| {
        engine.create_organization(
            NewOrganization::new("Race", format!("acct-{i}"), format!("o{i}@race.test"))
                .with_slug("race"),
        )
    });
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "exactly one creation gets the slug: {results:?}");
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            e.code() == "conflict" || is_conflict(e),
            "the losers are told: {e:?}"
        );
    }
    let results = race(&store, &env.clock, THREADS, |i, engine| {
        engine.create_organization(NewOrganization::new(
            "Derby",
            format!("acct-{i}"),
            format!("o{i}@derby.test"),
        ))
    });
    let slugs: Vec<String> = results
        .into_iter()
        .filter_map(|r| match r {
            Ok(c) => Some(c.organization.slug),
            Err(e) if is_conflict(&e) => None,
            Err(e) => panic!("a derived slug never fails but on exhausted retries: {e:?}"),
        })
        .collect();
    let distinct: BTreeSet<&String> = slugs.iter().collect();
    assert_eq!(
        distinct.len(),
        slugs.len(),
        "derived slugs are distinct: {slugs:?}"
    );
    assert!(!slugs.is_empty());
}

/// What [`an_organization_stored_again_after_a_purge_starts_afresh`]
/// reads of its organization.
#[derive(Debug)]
struct Seen {
    state: crate::testing::snapshot::Snapshot,
    people: Vec<crate::Person>,
    inbox: Vec<Vec<crate::StoredInvitation>>,
    accounts: Vec<Vec<(crate::Organization, crate::Member)>>,
    by_secret: Vec<Option<String>>,
    feed: Vec<(String, u64)>,
}

impl Seen {
    /// Each part equal to `want`'s, named in the failure (the feed only if
    /// `feed`).
    fn assert_same(&self, want: &Seen, when: &str, feed: bool) {
        assert_eq!(self.state, want.state, "{when}: the organization's state");
        assert_eq!(self.people, want.people, "{when}: the people view");
        assert_eq!(self.inbox, want.inbox, "{when}: the inbox");
        assert_eq!(self.accounts, want.accounts, "{when}: the memberships");
        assert_eq!(self.by_secret, want.by_secret, "{when}: by secret");
        if feed {
            assert_eq!(self.feed, want.feed, "{when}: the event feed");
        }
    }
}

/// An organization stored again under the id of a purged one starts
/// afresh: what the store reads of it (members, invitations, counts, the
/// link, its events numbered from 1, due lists, the people view, the
/// inbox, the accounts' memberships, the event feed) is what a store that
/// never held the purged one reads after the same writes. A store whose
/// derived state (counters, indexes across organizations, event numbers,
/// feed entries) outlived the purge answers otherwise.
pub fn an_organization_stored_again_after_a_purge_starts_afresh(make: MakeStore<'_>) {
    let org = OrgId::from("org_again");
    let write_first = |tx: &mut dyn Transaction| {
        tx.put_organization(&organization(&org)).expect("org");
        tx.put_group(&group(&org, "grp_old")).expect("group");
        let mut m = member(&org, "mem_old", "old@again.test");
        m.user_ref = Some("acct-old".into());
        tx.put_member(&m).expect("member");
        let mut kept = member(&org, "mem_kept", "kept@again.test");
        kept.user_ref = Some("acct-kept".into());
        tx.put_member(&kept).expect("member");
        tx.put_invitation(&pending(&org, "inv_old", "inv@again.test", 31, 50))
            .expect("invitation");
        tx.put_invitation(&pending(&org, "inv_kept", "kept-inv@again.test", 32, 60))
            .expect("invitation");
        tx.put_outbox_message(message(&org, "msg_old", "inv_old", 5))
            .expect("message");
        tx.put_invite_link(&link(&org, 33)).expect("link");
        for n in 0..3 {
            tx.append_event(event(&org, n)).expect("event");
        }
    };
    // The same organization, written again: some ids as before, some new.
    let write_again = |tx: &mut dyn Transaction| {
        tx.put_organization(&organization(&org)).expect("org");
        let mut kept = member(&org, "mem_kept", "kept@again.test");
        kept.user_ref = Some("acct-kept".into());
        tx.put_member(&kept).expect("member");
        tx.put_member(&member(&org, "mem_new", "new@again.test"))
            .expect("member");
        tx.put_invitation(&pending(&org, "inv_kept", "kept-inv@again.test", 32, 60))
            .expect("invitation");
        tx.put_outbox_message(message(&org, "msg_new", "inv_kept", 7))
            .expect("message");
        tx.append_event(event(&org, 9)).expect("event");
    };
    let msgs = [
        crate::MessageId::from("msg_old"),
        crate::MessageId::from("msg_new"),
    ];
    let read_in = |tx: &mut dyn Transaction| {
        let snap = read_all(tx, std::slice::from_ref(&org), &msgs);
        let people = tx
            .people(&org, &PeopleQuery::default(), t(0))
            .expect("people")
            .items;
        let inbox: Vec<_> = ["inv@again.test", "kept-inv@again.test"]
            .iter()
            .map(|k| {
                tx.person_invitations(&PersonLookup::new(Some((*k).to_owned()), None, 10), t(0))
                    .expect("inbox")
                    .items
            })
            .collect();
        let accounts: Vec<_> = ["acct-old", "acct-kept"]
            .iter()
            .map(|a| tx.memberships_of(a, None, 10).expect("memberships").items)
            .collect();
        let mut by_secret = Vec::new();
        for n in [31u8, 32] {
            by_secret.push(
                tx.invitation_by_token(&org, TokenKey::Secret(&hash(n)))
                    .expect("by secret")
                    .map(|i| i.id.to_string()),
            );
        }
        by_secret.push(
            tx.link_by_secret(&org, &hash(33))
                .expect("link by secret")
                .map(|l| l.org_id.to_string()),
        );
        let feed: Vec<(String, u64)> = tx
            .event_feed(None, &[], 100)
            .expect("feed")
            .into_iter()
            .filter(|f| f.event.org_id == org)
            .map(|f| (f.event.org_id.to_string(), f.event.seq))
            .collect();
        Seen {
            state: snap,
            people,
            inbox,
            accounts,
            by_secret,
            feed,
        }
    };
    let read = |store: &dyn crate::Store| {
        let mut tx = store.begin().expect("begin");
        read_in(tx.as_mut())
    };

    let store = make();
    let mut tx = store.begin().expect("begin");
    write_first(tx.as_mut());
    tx.commit().expect("commit");
    let mut tx = store.begin().expect("begin");
    tx.purge_organization(&org).expect("purge");
    tx.commit().expect("commit");
    let mut tx = store.begin().expect("begin");
    write_again(tx.as_mut());
    tx.commit().expect("commit");

    let fresh = make();
    let mut tx = fresh.begin().expect("begin");
    write_again(tx.as_mut());
    tx.commit().expect("commit");

    let never = read(&*fresh);
    read(&*store).assert_same(&never, "written again", true);
    assert_eq!(never.feed, [("org_again".to_owned(), 1)]);
    // The same, purged and stored again in one transaction.
    let store = make();
    let nothing = read(&*make());
    let mut tx = store.begin().expect("begin");
    write_first(tx.as_mut());
    tx.purge_organization(&org).expect("purge");
    // Read inside the transaction, after the purge: nothing of it (the
    // feed aside: whether it shows a transaction's own events is the
    // store's).
    read_in(tx.as_mut()).assert_same(&nothing, "after the purge, inside", false);
    assert!(
        tx.member_by_contact(&org, "old@again.test")
            .expect("by contact")
            .is_none()
    );
    assert!(
        tx.queued_messages_for(&org, &crate::InvitationId::from("inv_old"))
            .expect("queued")
            .is_empty()
    );
    write_again(tx.as_mut());
    tx.commit().expect("commit");
    read(&*store).assert_same(&never, "in one transaction", true);
    // And it goes on from there in the next transaction, as a new one does.
    for s in [&store, &fresh] {
        let mut tx = s.begin().expect("begin");
        assert_eq!(tx.append_event(event(&org, 10)).expect("event"), 2);
        tx.commit().expect("commit");
        let mut tx = s.begin().expect("begin");
        let seqs: Vec<u64> = tx
            .events(&org, 0, 10)
            .expect("events")
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, [1, 2]);
    }
}

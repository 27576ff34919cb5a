//! The invitee's inbox (issue 14): [`Transaction::person_invitations`]
//! checked directly (which invitations are a person's, their order, pages
//! and cursors, the organization filter, the transaction's own writes),
//! and the engine's inbox, accept and decline by identity, account
//! invitations and direct membership compared with MemoryStore.
//!
//! [`Transaction::person_invitations`]: crate::Transaction::person_invitations

use super::entities::{begin, organization, pending, t};
use super::harness::{Env, MakeStore, as_member, registration, token_of};
use crate::{
    Actor, Identity, InvitationStatus, InviteRequest, NewMember, OrgId, PersonLookup,
    RecipientInput, Recipients, Registration, StoreError, StoredInvitation,
};

fn ids(page: &crate::Page<StoredInvitation>) -> Vec<String> {
    page.items
        .iter()
        .map(|i| format!("{}/{}", i.org_id, i.id))
        .collect()
}

fn lookup(email: Option<&str>, user_ref: Option<&str>, limit: u32) -> PersonLookup {
    PersonLookup::new(email.map(str::to_owned), user_ref.map(str::to_owned), limit)
}

/// A person's invitations across organizations: pending and not expired
/// (to the nanosecond), found by recipient key when bound to no account
/// and by account whatever the address; newest first, ties by
/// organization then id (descending); paged with a cursor; limited to
/// one organization when asked; the transaction's own writes seen.
pub fn person_invitations_across_organizations(make: MakeStore<'_>) {
    let store = make();
    let (a, b, c) = (
        OrgId::from("org_a".to_owned()),
        OrgId::from("org_b".to_owned()),
        OrgId::from("org_c".to_owned()),
    );
    let mut tx = begin(store.as_ref());
    for o in [&a, &b, &c] {
        tx.put_organization(&organization(o)).unwrap();
    }
    let at = |inv: StoredInvitation, created: i64| {
        let mut inv = inv;
        inv.created_at = t(created);
        inv
    };
    // Bob's, by email, in three organizations (two created at once).
    tx.put_invitation(&at(pending(&a, "i_a1", "bob@x.test", 1, 1000), 10))
        .unwrap();
    tx.put_invitation(&at(pending(&b, "i_b1", "bob@x.test", 2, 1000), 20))
        .unwrap();
    tx.put_invitation(&at(pending(&c, "i_c1", "bob@x.test", 3, 1000), 20))
        .unwrap();
    // Not Bob's open ones: staged, expired at 500, revoked, someone else's.
    let mut staged = at(pending(&a, "i_staged", "bob2@x.test", 4, 1000), 30);
    staged.status = InvitationStatus::Staged;
    staged.secret_hash = None;
    tx.put_invitation(&staged).unwrap();
    tx.put_invitation(&at(pending(&a, "i_old", "bob3@x.test", 5, 500), 5))
        .unwrap();
    let mut revoked = at(pending(&b, "i_rev", "bob4@x.test", 6, 1000), 6);
    revoked.status = InvitationStatus::Revoked;
    tx.put_invitation(&revoked).unwrap();
    tx.put_invitation(&at(pending(&a, "i_eve", "eve@x.test", 7, 1000), 7))
        .unwrap();
    // Bound to Bob's account: one to another address, one to no address.
    let mut acct = at(pending(&a, "i_acct", "work-bob@y.test", 8, 1000), 40);
    acct.user_ref = Some("acct-bob".to_owned());
    tx.put_invitation(&acct).unwrap();
    let mut only = at(pending(&b, "i_only", "@acct-bob", 9, 1000), 15);
    only.user_ref = Some("acct-bob".to_owned());
    tx.put_invitation(&only).unwrap();
    // Addressed to Bob's email but bound to another account: not his.
    let mut other = at(pending(&c, "i_other", "bob@x.test", 10, 1000), 50);
    other.user_ref = Some("acct-mallory".to_owned());
    // (Another organization's open invitation to the same key would clash
    // in c; it is the only open one for the key there besides i_c1, so
    // put it in a fourth organization.)
    let d = OrgId::from("org_d".to_owned());
    tx.put_organization(&organization(&d)).unwrap();
    other.org_id = d.clone();
    tx.put_invitation(&other).unwrap();
    tx.commit().unwrap();

    let mut tx = begin(store.as_ref());
    let now = t(100);
    // By email only: the unbound ones to the address, newest first, the
    // tie at 20 by organization descending.
    let page = tx
        .person_invitations(&lookup(Some("bob@x.test"), None, 50), now)
        .unwrap();
    assert_eq!(ids(&page), ["org_c/i_c1", "org_b/i_b1", "org_a/i_a1"]);
    assert_eq!(page.next_cursor, None);
    // By account only: the bound ones.
    let page = tx
        .person_invitations(&lookup(None, Some("acct-bob"), 50), now)
        .unwrap();
    assert_eq!(ids(&page), ["org_a/i_acct", "org_b/i_only"]);
    // Both: the union, once each.
    let both = lookup(Some("bob@x.test"), Some("acct-bob"), 50);
    let page = tx.person_invitations(&both, now).unwrap();
    let all = [
        "org_a/i_acct",
        "org_c/i_c1",
        "org_b/i_b1",
        "org_b/i_only",
        "org_a/i_a1",
    ];
    assert_eq!(ids(&page), all);
    // Mallory's account sees hers, not Bob's.
    let page = tx
        .person_invitations(&lookup(Some("bob@x.test"), Some("acct-mallory"), 50), now)
        .unwrap();
    assert_eq!(
        ids(&page),
        ["org_d/i_other", "org_c/i_c1", "org_b/i_b1", "org_a/i_a1"]
    );
    // Pages of two, with cursors, give the same list.
    let mut seen = Vec::new();
    let mut q = both.clone();
    q.limit = 2;
    loop {
        let page = tx.person_invitations(&q, now).unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(ids(&page));
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, all);
    // One organization only.
    let mut in_b = both.clone();
    in_b.org = Some(b.clone());
    let page = tx.person_invitations(&in_b, now).unwrap();
    assert_eq!(ids(&page), ["org_b/i_b1", "org_b/i_only"]);
    // Expiry to the nanosecond: at 1000 exactly, nothing is open.
    let page = tx.person_invitations(&both, t(1000)).unwrap();
    assert!(page.items.is_empty(), "{:?}", ids(&page));
    let just_before = t(1000) - chrono::Duration::nanoseconds(1);
    assert_eq!(
        tx.person_invitations(&both, just_before)
            .unwrap()
            .items
            .len(),
        5
    );
    // The expired one is found before its expiry.
    let page = tx
        .person_invitations(&lookup(Some("bob3@x.test"), None, 50), t(499))
        .unwrap();
    assert_eq!(ids(&page), ["org_a/i_old"]);
    // Nobody's.
    let page = tx
        .person_invitations(&lookup(Some("nobody@x.test"), Some("acct-none"), 50), now)
        .unwrap();
    assert!(page.items.is_empty());
    // A bad cursor is an error of the list.
    let mut bad = both.clone();
    bad.after = Some("i.1.2.00".to_owned());
    assert!(matches!(
        tx.person_invitations(&bad, now),
        Err(StoreError::InvalidCursor { .. })
    ));
    // The transaction's own writes: accepted leaves, a new one comes.
    let mut accepted = tx.invitation(&b, &"i_b1".into()).unwrap().unwrap();
    accepted.status = InvitationStatus::Accepted;
    accepted.secret_hash = None;
    tx.put_invitation(&accepted).unwrap();
    let mut rebound = tx.invitation(&a, &"i_a1".into()).unwrap().unwrap();
    rebound.user_ref = Some("acct-zed".to_owned());
    tx.put_invitation(&rebound).unwrap();
    tx.put_invitation(&at(pending(&b, "i_new", "bob@x.test", 11, 1000), 60))
        .unwrap();
    let page = tx.person_invitations(&both, now).unwrap();
    assert_eq!(
        ids(&page),
        ["org_b/i_new", "org_a/i_acct", "org_c/i_c1", "org_b/i_only"]
    );
    drop(tx);
    // Rolled back: as committed.
    let mut tx = begin(store.as_ref());
    assert_eq!(ids(&tx.person_invitations(&both, now).unwrap()), all);
}

fn identity(email: Option<&str>, user_ref: Option<&str>) -> Identity {
    Identity::new(email.map(str::to_owned), user_ref.map(str::to_owned))
}

fn signed_in(user_ref: &str, email: Option<&str>) -> Registration {
    Registration {
        verified_email: email.map(str::to_owned),
        ..registration(user_ref)
    }
}

/// The engine's inbox through the store, answer for answer as on
/// MemoryStore: invitations across organizations, accept and decline by
/// identity, account invitations (with and without email), and a member
/// added directly.
pub fn inbox_through_the_engine(env: &mut Env) {
    let (acme, ada) = env.org();
    let (globex, gil) = env.org();
    let admin_a = as_member(&ada);
    let admin_g = as_member(&gil);
    let r = env.engine.invite(
        &acme.id,
        &admin_a,
        InviteRequest::new(Recipients::Paste("bob@x.test, carol@x.test".into())),
    );
    env.rec_result("invite acme", &r);
    env.advance(chrono::Duration::seconds(5));
    let r = env.engine.invite(
        &globex.id,
        &admin_g,
        InviteRequest::new(Recipients::List(vec![
            RecipientInput::email("bob@x.test"),
            RecipientInput::account("acct-dan"),
            RecipientInput::email("erin@x.test").for_account("acct-erin"),
        ])),
    );
    env.rec_result("invite globex", &r);
    let erin_token = r
        .as_ref()
        .ok()
        .and_then(|r| r.issued.get(2))
        .map(token_of)
        .unwrap_or_default();

    let bob = identity(Some("Bob@X.test"), Some("acct-bob"));
    let inbox = env.engine.invitations_for(&bob, None, 50);
    env.rec_result("bob's inbox", &inbox);
    let inbox = inbox.expect("bob's inbox");
    let page1 = env.engine.invitations_for(&bob, None, 1);
    env.rec_result("bob's inbox, page 1", &page1);
    let after = page1.ok().and_then(|p| p.next_cursor);
    let r = env.engine.invitations_for(&bob, after.as_deref(), 1);
    env.rec_result("bob's inbox, page 2", &r);
    let r = env
        .engine
        .invitations_for(&identity(None, Some("acct-dan")), None, 50);
    env.rec_result("dan's inbox", &r);
    let r = env
        .engine
        .invitations_for(&identity(Some("erin@x.test"), None), None, 50);
    env.rec_result("erin's inbox by email alone (bound: empty)", &r);

    // Bob accepts Acme's from the inbox and declines Globex's.
    let (acme_item, globex_item) = (&inbox.items[1], &inbox.items[0]);
    let r = env.engine.accept_from_inbox(
        &acme_item.org_id,
        &acme_item.invitation_id,
        signed_in("acct-bob", Some("bob@x.test")),
    );
    env.rec_result("bob accepts acme", &r);
    let r = env.engine.accept_from_inbox(
        &globex_item.org_id,
        &globex_item.invitation_id,
        signed_in("acct-mallory", Some("mallory@x.test")),
    );
    env.rec_result("mallory takes bob's: not found", &r);
    let r = env
        .engine
        .decline_from_inbox(&globex_item.org_id, &globex_item.invitation_id, &bob);
    env.rec_result("bob declines globex", &r);
    let r = env.engine.invitations_for(&bob, None, 50);
    env.rec_result("bob's inbox after", &r);

    // Erin's account invitation: her token works for her account only.
    let r = env
        .engine
        .accept(&erin_token, signed_in("acct-not-erin", Some("erin@x.test")));
    env.rec_result("erin's token, another account", &r);
    let r = env
        .engine
        .accept(&erin_token, signed_in("acct-erin", Some("erin@x.test")));
    env.rec_result("erin's token, her account", &r);

    // Direct membership.
    let r = env.engine.add_member(
        &globex.id,
        &admin_g,
        NewMember::new("acct-fay")
            .email("fay@x.test")
            .names("Fay", "F"),
    );
    env.rec_result("add fay", &r);
    let r = env.engine.add_member(
        &globex.id,
        &admin_g,
        NewMember::new("acct-fay").names("Fay", "F"),
    );
    env.rec_result("add fay again", &r);
    let r = env.engine.add_member(
        &globex.id,
        &admin_g,
        NewMember::new("acct-dan").names("Dan", "D"),
    );
    env.rec_result("add dan while invited", &r);
    let r = env.engine.add_member(
        &acme.id,
        &Actor::Member(
            r.as_ref()
                .map(|m| m.id.clone())
                .unwrap_or_else(|_| ada.id.clone()),
        ),
        NewMember::new("acct-gus").names("Gus", "G"),
    );
    env.rec_result("add gus", &r);
    let events = env.events(&globex.id);
    env.rec("globex events", &events);
}

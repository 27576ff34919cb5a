//! Issue 14, the invitee's side: what users of better-auth, Clerk and
//! Keycloak look for. "After sign-in, show the person their invitations"
//! (better-auth `listUserInvitations`), "accept from there"
//! (`acceptInvitation(invitationId)`), "invite an existing user" (Keycloak
//! `inviteExistingUser`) and "add a member directly" (better-auth
//! `addMember`), on one engine with two organizations, and on SQLite.

use super::common::*;
use chrono::Duration;
use enlist::*;
use std::sync::Arc;

fn identity(email: Option<&str>, user_ref: Option<&str>) -> Identity {
    Identity::new(email.map(str::to_owned), user_ref.map(str::to_owned))
}

fn signed_in(user_ref: &str, email: &str) -> Registration {
    Registration {
        verified_email: Some(email.to_owned()),
        ..registration(user_ref)
    }
}

/// Two organizations invite the same person; after signing in she sees
/// "you have 2 invitations", accepts one and declines the other without
/// ever opening an email, and the rest of the world sees nothing of it.
fn you_have_two_invitations(engine: &Enlist, clock: &ManualClock) {
    let acme = engine
        .create_organization(NewOrganization::new("Acme", "acct-ada", "ada@acme.test"))
        .expect("acme");
    let globex = engine
        .create_organization(NewOrganization::new(
            "Globex",
            "acct-gil",
            "gil@globex.test",
        ))
        .expect("globex");
    let (acme_owner, globex_owner) = (as_member(&acme.owner), as_member(&globex.owner));
    engine
        .invite(
            &acme.organization.id,
            &acme_owner,
            InviteRequest::new(Recipients::Paste("Kim <kim@example.test>".into()))
                .message("Welcome to Acme"),
        )
        .expect("acme invites");
    clock.advance(Duration::minutes(1));
    engine
        .invite(
            &globex.organization.id,
            &globex_owner,
            InviteRequest::new(Recipients::Paste("KIM@example.test".into())),
        )
        .expect("globex invites");

    let kim = identity(Some("kim@example.test"), Some("acct-kim"));
    let inbox = engine.invitations_for(&kim, None, 20).expect("inbox");
    let names: Vec<&str> = inbox.items.iter().map(|i| i.org_name.as_str()).collect();
    assert_eq!(
        names,
        ["Globex", "Acme"],
        "you have 2 invitations, newest first"
    );
    assert_eq!(inbox.items[1].message.as_deref(), Some("Welcome to Acme"));
    // Nobody else sees them.
    let eve = identity(Some("eve@example.test"), Some("acct-eve"));
    assert!(
        engine
            .invitations_for(&eve, None, 20)
            .expect("inbox")
            .items
            .is_empty()
    );

    let (globex_item, acme_item) = (&inbox.items[0], &inbox.items[1]);
    // Eve knows the ids (a leaked screenshot): still nothing.
    let err = engine
        .accept_from_inbox(
            &acme_item.org_id,
            &acme_item.invitation_id,
            signed_in("acct-eve", "eve@example.test"),
        )
        .expect_err("not Eve's");
    assert_eq!(err.code(), "not_found");
    let joined = engine
        .accept_from_inbox(
            &acme_item.org_id,
            &acme_item.invitation_id,
            signed_in("acct-kim", "kim@example.test"),
        )
        .expect("Kim joins Acme");
    assert_eq!(joined.member.status, MemberStatus::Active);
    engine
        .decline_from_inbox(&globex_item.org_id, &globex_item.invitation_id, &kim)
        .expect("Kim declines Globex");
    assert!(
        engine
            .invitations_for(&kim, None, 20)
            .expect("inbox")
            .items
            .is_empty()
    );
    let trail = engine
        .events(&globex.organization.id, &Actor::System, 0, 100)
        .expect("events");
    assert!(matches!(
        &trail.last().expect("an event").actor,
        Actor::Account(a) if a == "acct-kim"
    ));
}

#[test]
fn after_sign_in_you_have_two_invitations() {
    let (engine, clock) = engine();
    you_have_two_invitations(&engine, &clock);
}

#[test]
fn after_sign_in_you_have_two_invitations_on_sqlite() {
    let clock = Arc::new(ManualClock::at_epoch_seconds(START_EPOCH_SECS));
    let store = enlist_sqlite::SqliteStore::open_in_memory().expect("sqlite");
    let engine = Enlist::new(Arc::new(store)).with_clock(clock.clone());
    you_have_two_invitations(&engine, &clock);
}

/// Keycloak's "invite existing user": the person already has an account
/// and no email on file here; they see the invitation in the app, and
/// only their account can take it.
#[test]
fn invite_an_existing_account_in_app_only() {
    let o = org_with_owner();
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::List(vec![RecipientInput::account("acct-lee")]))
                .role("admin"),
        )
        .expect("invite");
    let issued = &report.issued[0];
    assert!(issued.message_id.is_none(), "no email is sent");
    // A forwarded token is useless to another account.
    let err = o
        .engine
        .accept(&token_of(issued), registration("acct-someone-else"))
        .expect_err("another account");
    assert_eq!(err.code(), "invalid_secret");
    let lee = identity(None, Some("acct-lee"));
    let inbox = o.engine.invitations_for(&lee, None, 10).expect("inbox");
    assert_eq!(inbox.items[0].role, "admin");
    let m = o
        .engine
        .accept_from_inbox(
            o.id(),
            &inbox.items[0].invitation_id,
            registration("acct-lee"),
        )
        .expect("Lee accepts")
        .member;
    assert_eq!(m.role, "admin");
    assert_eq!(m.contact, Contact::Account("acct-lee".into()));
}

/// better-auth's `addMember`: an admin adds an existing account without an
/// invitation; a user admin cannot add an owner; it is in the trail.
#[test]
fn an_admin_adds_a_member_directly() {
    let o = org_with_owner();
    let uma = o.join("uma@acme.test", "user_admin", "acct-uma");
    let err = o
        .engine
        .add_member(
            o.id(),
            &as_member(&uma),
            NewMember::new("acct-max").names("Max", "M").role("owner"),
        )
        .expect_err("a user admin cannot add an owner");
    assert_eq!(err.code(), "permission_denied");
    let max = o
        .engine
        .add_member(
            o.id(),
            &as_member(&uma),
            NewMember::new("acct-max")
                .email("max@acme.test")
                .names("Max", "M"),
        )
        .expect("added");
    assert_eq!(max.status, MemberStatus::Active);
    assert!(o.events().iter().any(|e| matches!(
        &e.kind,
        EventKind::MemberAdded { member, .. } if member == &max.id
    ) && e.actor == as_member(&uma)));
}

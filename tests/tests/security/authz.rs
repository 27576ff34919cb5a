//! Security tests: authz. Privilege escalation (resend, send-staged, revoke
//! and member edits acting beyond the actor's reach; guests given
//! permissions by a role redefinition), the accept link pointed at another
//! server, the engine's own configuration, and joins that trust a typed
//! contact.

use super::super::scenarios::common::{
    self, OWNER_EMAIL, Org, accept, as_member, org_with_owner, org_with_policy, registration,
    token_from_url, token_of,
};
use chrono::Duration;
use enlist::{
    ActivatedLink, Actor, CreatedOrganization, EngineConfig, Enlist, Error, GroupGrant,
    InvitationStatus, InviteRequest, IssuedInvitation, LinkSpec, Member, MemberKind, MemberUpdate,
    MessageId, NewGroup, NewOrganization, OutboxMessage, Permission, PermissionSet, Policy,
    RecipientInput, Recipients, Registration, RetryPolicy, SendOutcome, Store,
};
use std::sync::Arc;

/// Invites `email` with `role` as `actor`, sent now.
fn invite_as(o: &Org, actor: &Actor, email: &str, role: &str) -> IssuedInvitation {
    let report = o
        .engine
        .invite(
            o.id(),
            actor,
            InviteRequest::new(Recipients::List(vec![RecipientInput::email(email)])).role(role),
        )
        .expect("invite");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    report.issued.into_iter().next().expect("one issued")
}

/// The queued email of a message, read from the store as the outbox
/// worker would.
fn queued_email(store: &Arc<dyn Store>, id: &MessageId) -> OutboxMessage {
    let mut tx = store.begin().expect("begin");
    tx.outbox_message(id)
        .expect("read the outbox")
        .expect("the message is queued")
}

fn policy(f: impl FnOnce(&mut Policy)) -> Policy {
    let mut p = Policy::default();
    f(&mut p);
    p
}

fn demote(o: &Org, m: &Member, role: &str) {
    o.engine
        .update_member(
            o.id(),
            &o.owner_actor(),
            &m.id,
            MemberUpdate {
                role: Some(role.to_owned()),
                ..MemberUpdate::default()
            },
        )
        .expect("demote");
}

fn assert_denied(r: Result<impl std::fmt::Debug, Error>) {
    match r {
        Err(Error::PermissionDenied { .. }) => {}
        other => panic!("expected permission_denied, got {other:?}"),
    }
}

// ---------------------------------------------------------------------
// 1. Acting on an existing invitation needs the reach to issue it today.
// ---------------------------------------------------------------------

#[test]
fn a_user_admin_cannot_resend_an_owner_invitation_and_take_the_secret() {
    let o = org_with_owner();
    let ua = o.join("ua@acme.test", "user_admin", "acct-ua");
    let inv = invite_as(&o, &o.owner_actor(), "coowner@acme.test", "owner");
    o.advance(Duration::hours(1));

    let r = o.engine.resend(o.id(), &as_member(&ua), &inv.invitation.id);
    assert_denied(r);
    // Nothing changed: the owner's token still works and the invitation was
    // sent once.
    let now = o
        .engine
        .invitation(o.id(), &Actor::System, &inv.invitation.id)
        .expect("read");
    assert_eq!(now.send_count, 1);
    assert_eq!(now.status, InvitationStatus::Pending);
    let accepted = accept(&o.engine, &token_of(&inv), "acct-coowner");
    assert_eq!(accepted.member.role, "owner");
}

#[test]
fn a_demoted_admin_cannot_resend_their_own_admin_invitation() {
    let o = org_with_owner();
    let admin = o.join("admin@acme.test", "admin", "acct-admin");
    let inv = invite_as(&o, &as_member(&admin), "admin.alt@acme.test", "admin");
    demote(&o, &admin, "member");
    o.advance(Duration::hours(1));

    let r = o
        .engine
        .resend(o.id(), &as_member(&admin), &inv.invitation.id);
    assert_denied(r);
    let now = o
        .engine
        .invitation(o.id(), &Actor::System, &inv.invitation.id)
        .expect("read");
    assert_eq!(now.send_count, 1, "no new secret was armed");
}

#[test]
fn a_demoted_admin_cannot_send_their_staged_admin_invitation() {
    let o = org_with_owner();
    let admin = o.join("admin@acme.test", "admin", "acct-admin");
    let report = o
        .engine
        .invite(
            o.id(),
            &as_member(&admin),
            InviteRequest::new(Recipients::Paste("admin.alt@acme.test".into()))
                .role("admin")
                .staged(),
        )
        .expect("stage");
    let id = report.issued[0].invitation.id.clone();
    demote(&o, &admin, "member");

    // A plain member may not invite at all here: refused before any id is
    // read, the same answer for a real id and a made-up one.
    let real = o
        .engine
        .send_staged(o.id(), &as_member(&admin), std::slice::from_ref(&id));
    let made_up = o.engine.send_staged(
        o.id(),
        &as_member(&admin),
        &[enlist::InvitationId::from("inv_made_up")],
    );
    for r in [&real, &made_up] {
        match r {
            Err(Error::PermissionDenied { permission, .. }) => {
                assert_eq!(*permission, Permission::InviteMembers)
            }
            other => panic!("expected a refusal up front, got {other:?}"),
        }
    }
    assert_eq!(
        real.as_ref().unwrap_err().to_string(),
        made_up.as_ref().unwrap_err().to_string()
    );
    let now = o
        .engine
        .invitation(o.id(), &Actor::System, &id)
        .expect("read");
    assert_eq!(now.status, InvitationStatus::Staged);
}

#[test]
fn a_user_admin_cannot_send_a_staged_owner_invitation() {
    let o = org_with_owner();
    let ua = o.join("ua@acme.test", "user_admin", "acct-ua");
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("coowner@acme.test".into()))
                .role("owner")
                .staged(),
        )
        .expect("stage");
    let id = report.issued[0].invitation.id.clone();
    let sent = o
        .engine
        .send_staged(o.id(), &as_member(&ua), std::slice::from_ref(&id))
        .expect("a report");
    assert!(
        matches!(&sent.results[..], [SendOutcome::Failed { code, .. }] if code == "permission_denied"),
        "{sent:?}"
    );
}

#[test]
fn a_user_admin_cannot_revoke_an_owner_invitation() {
    let o = org_with_owner();
    let ua = o.join("ua@acme.test", "user_admin", "acct-ua");
    let inv = invite_as(&o, &o.owner_actor(), "coowner@acme.test", "owner");
    assert_denied(o.engine.revoke(o.id(), &as_member(&ua), &inv.invitation.id));
    // The user admin may still revoke what they could issue.
    let own = invite_as(&o, &o.owner_actor(), "plain@acme.test", "member");
    o.engine
        .revoke(o.id(), &as_member(&ua), &own.invitation.id)
        .expect("revoke a member invitation");
}

#[test]
fn a_user_admin_cannot_resend_an_invitation_into_a_group_they_cannot_grant() {
    let o = org_with_owner();
    let ua = o.join("ua@acme.test", "user_admin", "acct-ua");
    let g = o
        .engine
        .create_group(
            o.id(),
            &o.owner_actor(),
            NewGroup {
                name: "Board".into(),
                ..NewGroup::default()
            },
        )
        .expect("group");
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("lead@acme.test".into())).groups(vec![
                GroupGrant {
                    group_id: g.id.clone(),
                    role: enlist::GroupRole::Owner,
                },
            ]),
        )
        .expect("invite");
    o.advance(Duration::hours(1));
    assert_denied(
        o.engine
            .resend(o.id(), &as_member(&ua), &report.issued[0].invitation.id),
    );
}

#[test]
fn a_member_inviter_loses_resend_when_the_policy_stops_members_inviting() {
    let o = org_with_policy(policy(|p| {
        p.members_can_invite = true;
    }));
    let m = o.join("m@acme.test", "member", "acct-m");
    let inv = invite_as(&o, &as_member(&m), "friend@acme.test", "member");
    let mut p = o.engine.organization(o.id()).expect("org").policy;
    p.members_can_invite = false;
    o.engine
        .update_policy(o.id(), &o.owner_actor(), p)
        .expect("policy");
    o.advance(Duration::hours(1));
    assert_denied(o.engine.resend(o.id(), &as_member(&m), &inv.invitation.id));
}

#[test]
fn a_user_admin_cannot_edit_an_owner() {
    let o = org_with_owner();
    let ua = o.join("ua@acme.test", "user_admin", "acct-ua");
    let r = o.engine.update_member(
        o.id(),
        &as_member(&ua),
        &o.owner.id,
        MemberUpdate {
            first_name: Some("Mallory".into()),
            license_type: Some("free".into()),
            ..MemberUpdate::default()
        },
    );
    assert_denied(r);
    let owner = o
        .engine
        .member(o.id(), &Actor::System, &o.owner.id)
        .expect("read");
    assert_eq!(owner.first_name.as_deref(), Some("Olive"));
    // Members still edit their own details.
    o.engine
        .update_member(
            o.id(),
            &as_member(&ua),
            &ua.id,
            MemberUpdate {
                first_name: Some("Uma".into()),
                ..MemberUpdate::default()
            },
        )
        .expect("own details");
}

// ---------------------------------------------------------------------
// 2. The accept link's base belongs to the host.
// ---------------------------------------------------------------------

const EVIL: &str = "https://collector.evil.example/steal";

#[test]
fn a_policy_admin_cannot_point_accept_links_at_their_own_server() {
    let o = org_with_owner();
    let admin = o.join("admin@acme.test", "admin", "acct-admin");
    let before = o.engine.organization(o.id()).expect("org");
    let mut p = before.policy.clone();
    p.accept_url_base = Some(EVIL.into());
    let err = o
        .engine
        .update_policy(o.id(), &as_member(&admin), p)
        .expect_err("an unlisted base is refused");
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "accept_url_base"),
        "{err:?}"
    );
    assert_eq!(o.engine.organization(o.id()).expect("org"), before);

    // Nor at creation.
    let err = o
        .engine
        .create_organization(
            NewOrganization::new("Evil", "acct-e", "e@evil.example").with_policy(policy(|p| {
                p.accept_url_base = Some(EVIL.into());
            })),
        )
        .expect_err("refused at creation");
    assert_eq!(err.code(), "invalid_input");

    // The owner's next invitation still points at the host's base.
    let inv = invite_as(&o, &o.owner_actor(), "x@acme.test", "owner");
    let msg = queued_email(
        o.engine.store(),
        inv.message_id.as_ref().expect("a message"),
    );
    assert!(
        msg.email
            .accept_url
            .starts_with(&EngineConfig::default().default_accept_url_base),
        "{}",
        msg.email.accept_url
    );
}

#[test]
fn an_organization_may_choose_among_the_bases_the_host_allows() {
    let mut config = EngineConfig::default();
    config.allowed_accept_url_bases = vec!["https://eu.acme.example/accept".into()];
    let o = org_with_owner();
    let engine = o
        .engine
        .clone()
        .try_with_config(config.clone())
        .expect("valid config");
    let mut p = engine.organization(o.id()).expect("org").policy;
    p.accept_url_base = Some("https://eu.acme.example/accept".into());
    engine
        .update_policy(o.id(), &o.owner_actor(), p)
        .expect("an allowed base");
    let report = engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("x@acme.test".into())),
        )
        .expect("invite");
    let id = report.issued[0].message_id.clone().expect("message");
    let url = queued_email(engine.store(), &id).email.accept_url;
    assert!(
        url.starts_with("https://eu.acme.example/accept?token="),
        "{url}"
    );

    // The host withdraws that base: links fall back to the default, both
    // in emails and for the invitation link.
    let strict = o.engine.clone(); // default config: only the default base
    let report = strict
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("y@acme.test".into())),
        )
        .expect("invite");
    let id = report.issued[0].message_id.clone().expect("message");
    let url = queued_email(strict.store(), &id).email.accept_url;
    assert!(
        url.starts_with(&config.default_accept_url_base),
        "a withdrawn base falls back: {url}"
    );
    let mut p = strict.organization(o.id()).expect("org").policy;
    p.invite_link_enabled = true;
    // Saving a policy that still names the withdrawn base is refused ...
    assert_eq!(
        strict
            .update_policy(o.id(), &o.owner_actor(), p.clone())
            .expect_err("withdrawn base")
            .code(),
        "invalid_input"
    );
    // ... and accepted once it names an allowed one.
    p.accept_url_base = None;
    strict
        .update_policy(o.id(), &o.owner_actor(), p)
        .expect("policy");
    let ActivatedLink { url: link, .. } = strict
        .activate_invite_link(o.id(), &o.owner_actor(), LinkSpec::default())
        .expect("link");
    assert!(link.expose().starts_with(&config.default_accept_url_base));
}

#[test]
fn the_invite_link_never_uses_a_base_the_host_does_not_allow() {
    let o = org_with_policy(policy(|p| {
        p.invite_link_enabled = true;
    }));
    // A policy written before this check (or by hand) with a foreign base.
    {
        let mut tx = o.engine.store().begin().expect("begin");
        let mut org = tx.organization(o.id()).expect("read").expect("org");
        org.policy.accept_url_base = Some(EVIL.into());
        tx.put_organization(&org).expect("write");
        tx.commit().expect("commit");
    }
    let ActivatedLink { url: link, .. } = o
        .engine
        .activate_invite_link(o.id(), &o.owner_actor(), LinkSpec::default())
        .expect("link");
    assert!(!link.expose().contains("evil"), "{}", link.expose());
    let inv = invite_as(&o, &o.owner_actor(), "x@acme.test", "member");
    let msg = queued_email(o.engine.store(), inv.message_id.as_ref().expect("msg"));
    assert!(!msg.email.accept_url.contains("evil"));
    assert!(!msg.email.text_body.contains("evil"));
}

// ---------------------------------------------------------------------
// 3. The engine's own configuration.
// ---------------------------------------------------------------------

#[test]
fn the_engine_configuration_refuses_header_injection_and_plain_http() {
    let bad_name = {
        let mut c = EngineConfig::default();
        c.product_name = "Acme\r\nBcc: spy@evil.example".into();
        c
    };
    let bad_base = {
        let mut c = EngineConfig::default();
        c.default_accept_url_base = "https://app.acme.example/a\r\nX: y".into();
        c
    };
    let plain_http = {
        let mut c = EngineConfig::default();
        c.allowed_accept_url_bases = vec!["http://app.acme.example/accept".into()];
        c
    };
    let user_info = {
        let mut c = EngineConfig::default();
        c.default_accept_url_base = "https://app.acme.example@evil.example/accept".into();
        c
    };
    for c in [bad_name, bad_base, plain_http, user_info] {
        let err = Enlist::in_memory()
            .try_with_config(c.clone())
            .expect_err("refused");
        assert_eq!(err.code(), "invalid_input", "{c:?}: {err}");
        // `with_config` never panics and keeps the settings it had.
        let engine = Enlist::in_memory().with_config(c);
        assert_eq!(engine.config(), &EngineConfig::default());
    }
    // Loopback over plain http is fine for development.
    let mut dev = EngineConfig::default();
    dev.default_accept_url_base = "http://localhost:8080/accept".into();
    Enlist::in_memory()
        .try_with_config(dev)
        .expect("localhost over http");

    // And the subject of a real invitation stays one line.
    let (engine, _) = common::engine();
    let engine = engine.with_config({
        let mut c = EngineConfig::default();
        c.product_name = "Acme\r\nBcc: spy@evil.example".into();
        c
    });
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(NewOrganization::new("Acme", "acct-o", OWNER_EMAIL))
        .expect("org");
    let report = engine
        .invite(
            &org.id,
            &Actor::Member(owner.id),
            InviteRequest::new(Recipients::Paste("x@acme.test".into())),
        )
        .expect("invite");
    let msg = queued_email(
        engine.store(),
        report.issued[0].message_id.as_ref().expect("msg"),
    );
    assert!(!msg.email.subject.contains(['\r', '\n']));
}

// ---------------------------------------------------------------------
// 4. Guests never hold permissions.
// ---------------------------------------------------------------------

fn org_with_guest_viewer() -> (Org, Member) {
    let o = org_with_owner();
    o.engine
        .define_role(o.id(), &o.owner_actor(), "viewer", PermissionSet::new())
        .expect("role");
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("guest@partner.test".into()))
                .kind(MemberKind::Guest)
                .role("viewer"),
        )
        .expect("invite guest");
    let guest = accept(&o.engine, &token_of(&report.issued[0]), "acct-guest").member;
    (o, guest)
}

#[test]
fn redefining_a_role_held_by_guests_with_permissions_is_refused() {
    let (o, guest) = org_with_guest_viewer();
    let perms: PermissionSet = [Permission::ViewMembers, Permission::InviteMembers]
        .into_iter()
        .collect();
    let err = o
        .engine
        .define_role(o.id(), &o.owner_actor(), "viewer", perms)
        .expect_err("guests hold it");
    assert_eq!(err.code(), "conflict", "{err}");
    let roles = o.engine.roles(o.id()).expect("roles");
    let viewer = roles.iter().find(|r| r.name == "viewer").expect("viewer");
    assert!(viewer.permissions.is_empty());
    assert_denied(o.engine.list_members(
        o.id(),
        &as_member(&guest),
        &enlist::MemberQuery::default(),
    ));
}

#[test]
fn a_role_held_by_an_open_guest_invitation_or_the_guest_link_cannot_gain_permissions() {
    let o = org_with_policy(policy(|p| {
        p.invite_link_enabled = true;
    }));
    for role in ["by-invite", "by-link"] {
        o.engine
            .define_role(o.id(), &o.owner_actor(), role, PermissionSet::new())
            .expect("role");
    }
    o.engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("guest@partner.test".into()))
                .kind(MemberKind::Guest)
                .role("by-invite"),
        )
        .expect("invite");
    o.engine
        .activate_invite_link(
            o.id(),
            &o.owner_actor(),
            LinkSpec {
                role: Some("by-link".into()),
                kind: MemberKind::Guest,
                ..LinkSpec::default()
            },
        )
        .expect("link");
    let perms: PermissionSet = [Permission::ViewMembers].into_iter().collect();
    for role in ["by-invite", "by-link"] {
        let err = o
            .engine
            .define_role(o.id(), &o.owner_actor(), role, perms.clone())
            .expect_err(role);
        assert_eq!(err.code(), "conflict", "{role}: {err}");
    }
}

#[test]
fn a_guest_has_no_permission_even_if_the_stored_role_grants_some() {
    let (o, guest) = org_with_guest_viewer();
    // A role changed behind the engine's back (an older version, a manual
    // edit): the guest still gets nothing.
    {
        let mut tx = o.engine.store().begin().expect("begin");
        let mut org = tx.organization(o.id()).expect("read").expect("org");
        for r in &mut org.custom_roles {
            if r.name == "viewer" {
                r.permissions = Permission::ALL.into_iter().collect();
            }
        }
        tx.put_organization(&org).expect("write");
        tx.commit().expect("commit");
    }
    assert_denied(o.engine.list_members(
        o.id(),
        &as_member(&guest),
        &enlist::MemberQuery::default(),
    ));
    assert_denied(o.engine.update_policy(
        o.id(),
        &as_member(&guest),
        policy(|p| {
            p.guests_enabled = false;
        }),
    ));
}

// ---------------------------------------------------------------------
// 5. Joins do not trust a typed contact.
// ---------------------------------------------------------------------

fn restricted() -> Org {
    org_with_policy(policy(|p| {
        p.allowed_domains = vec!["acme.test".into()];
        p.self_registration = true;
        p.invite_link_enabled = true;
    }))
}

fn verified(user_ref: &str, email: &str) -> Registration {
    Registration {
        verified_email: Some(email.to_owned()),
        ..registration(user_ref)
    }
}

#[test]
fn restricted_domains_refuse_identifier_contacts_on_self_registration_and_links() {
    let o = restricted();
    let err = o
        .engine
        .self_register(o.id(), "EMP-0042", registration("acct-x"))
        .expect_err("an identifier skips the domain rule");
    assert_eq!(err.code(), "invalid_input", "{err}");
    let ActivatedLink { url: link, .. } = o
        .engine
        .activate_invite_link(o.id(), &o.owner_actor(), LinkSpec::default())
        .expect("link");
    let err = o
        .engine
        .join_by_link(
            &token_from_url(link.expose()),
            "EMP-0042",
            registration("acct-x"),
        )
        .expect_err("an identifier skips the domain rule");
    assert_eq!(err.code(), "invalid_input", "{err}");
    assert_eq!(members_count(&o), 1);
}

#[test]
fn restricted_domains_need_a_verified_matching_email() {
    let o = restricted();
    // Typed, not verified.
    let err = o
        .engine
        .self_register(o.id(), "eve@acme.test", registration("acct-eve"))
        .expect_err("unverified");
    assert_eq!(err.code(), "registration_incomplete", "{err}");
    // Verified, but another address.
    let err = o
        .engine
        .self_register(
            o.id(),
            "eve@acme.test",
            verified("acct-eve", "eve@gmail.example"),
        )
        .expect_err("mismatch");
    assert_eq!(err.code(), "email_mismatch", "{err}");
    assert_eq!(members_count(&o), 1);
    // Verified and matching.
    let m = o
        .engine
        .self_register(
            o.id(),
            "eve@acme.test",
            verified("acct-eve", "Eve@ACME.test"),
        )
        .expect("verified");
    assert_eq!(m.contact.as_str(), "eve@acme.test");
}

fn members_count(o: &Org) -> usize {
    o.engine
        .list_members(
            o.id(),
            &Actor::System,
            &enlist::MemberQuery {
                limit: 1000,
                ..enlist::MemberQuery::default()
            },
        )
        .expect("list")
        .items
        .len()
}

#[test]
fn an_unverified_joiner_cannot_close_someone_elses_invitation() {
    let o = org_with_policy(policy(|p| {
        p.self_registration = true;
        p.invite_link_enabled = true;
    }));
    let inv = invite_as(&o, &o.owner_actor(), "bob@acme.test", "admin");
    let ActivatedLink { url: link, .. } = o
        .engine
        .activate_invite_link(o.id(), &o.owner_actor(), LinkSpec::default())
        .expect("link");
    let err = o
        .engine
        .join_by_link(
            &token_from_url(link.expose()),
            "bob@acme.test",
            registration("acct-mallory"),
        )
        .expect_err("typed someone else's invited address");
    assert_eq!(err.code(), "conflict", "{err}");
    let err = o
        .engine
        .self_register(o.id(), "bob@acme.test", registration("acct-mallory"))
        .expect_err("typed someone else's invited address");
    assert_eq!(err.code(), "conflict", "{err}");
    let now = o
        .engine
        .invitation(o.id(), &Actor::System, &inv.invitation.id)
        .expect("read");
    assert_eq!(now.status, InvitationStatus::Pending);
    // Bob still accepts his own invitation.
    let bob = accept(&o.engine, &token_of(&inv), "acct-bob");
    assert_eq!(bob.member.role, "admin");
}

#[test]
fn an_identifier_invitation_is_not_closed_by_someone_typing_the_identifier() {
    let o = org_with_policy(policy(|p| {
        p.self_registration = true;
    }));
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::List(vec![RecipientInput::identifier(
                "EMP-0042",
            )])),
        )
        .expect("invite");
    let err = o
        .engine
        .self_register(o.id(), "emp 0042", registration("acct-mallory"))
        .expect_err("an identifier is never verified");
    assert_eq!(err.code(), "conflict", "{err}");
    let now = o
        .engine
        .invitation(o.id(), &Actor::System, &report.issued[0].invitation.id)
        .expect("read");
    assert_eq!(now.status, InvitationStatus::Pending);
}

#[test]
fn a_verified_joiner_closes_their_own_invitation() {
    let o = org_with_policy(policy(|p| {
        p.invite_link_enabled = true;
    }));
    let inv = invite_as(&o, &o.owner_actor(), "bob@acme.test", "member");
    let ActivatedLink { url: link, .. } = o
        .engine
        .activate_invite_link(o.id(), &o.owner_actor(), LinkSpec::default())
        .expect("link");
    o.engine
        .join_by_link(
            &token_from_url(link.expose()),
            "bob@acme.test",
            verified("acct-bob", "bob@acme.test"),
        )
        .expect("verified join");
    let now = o
        .engine
        .invitation(o.id(), &Actor::System, &inv.invitation.id)
        .expect("read");
    assert_eq!(now.status, InvitationStatus::Accepted);
}

#[test]
fn accepting_an_invitation_to_a_domain_no_longer_allowed_is_refused() {
    let o = org_with_owner();
    let inv = invite_as(&o, &o.owner_actor(), "x@other.test", "member");
    let mut p = o.engine.organization(o.id()).expect("org").policy;
    p.allowed_domains = vec!["acme.test".into()];
    o.engine
        .update_policy(o.id(), &o.owner_actor(), p)
        .expect("policy");
    let err = o
        .engine
        .accept(&token_of(&inv), registration("acct-x"))
        .expect_err("domain no longer allowed");
    assert_eq!(err.code(), "domain_not_allowed", "{err}");
    assert_eq!(members_count(&o), 1);
}

#[test]
fn guests_cannot_join_once_the_policy_disables_guests() {
    let o = org_with_policy(policy(|p| {
        p.invite_link_enabled = true;
    }));
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("guest@partner.test".into()))
                .kind(MemberKind::Guest),
        )
        .expect("invite guest");
    let ActivatedLink { url: link, .. } = o
        .engine
        .activate_invite_link(
            o.id(),
            &o.owner_actor(),
            LinkSpec {
                kind: MemberKind::Guest,
                ..LinkSpec::default()
            },
        )
        .expect("guest link");
    let mut p = o.engine.organization(o.id()).expect("org").policy;
    p.guests_enabled = false;
    o.engine
        .update_policy(o.id(), &o.owner_actor(), p)
        .expect("policy");
    let err = o
        .engine
        .accept(&token_of(&report.issued[0]), registration("acct-g"))
        .expect_err("guests are disabled");
    assert_eq!(err.code(), "disabled", "{err}");
    let err = o
        .engine
        .join_by_link(
            &token_from_url(link.expose()),
            "g2@partner.test",
            registration("acct-g2"),
        )
        .expect_err("guests are disabled");
    assert_eq!(err.code(), "disabled", "{err}");
    assert_eq!(members_count(&o), 1);
}

#[test]
fn the_invite_link_needs_the_invite_permission_of_its_kind() {
    let o = org_with_policy(policy(|p| {
        p.invite_link_enabled = true;
    }));
    let perms: PermissionSet = [Permission::ManageInviteLink, Permission::ViewMembers]
        .into_iter()
        .collect();
    o.engine
        .define_role(o.id(), &o.owner_actor(), "linker", perms)
        .expect("role");
    let linker = o.join("linker@acme.test", "linker", "acct-linker");
    for kind in [MemberKind::Member, MemberKind::Guest] {
        assert_denied(o.engine.activate_invite_link(
            o.id(),
            &as_member(&linker),
            LinkSpec {
                kind,
                ..LinkSpec::default()
            },
        ));
    }
    assert_eq!(
        o.engine
            .invite_link(o.id(), &o.owner_actor())
            .expect("read"),
        None
    );
}

#[test]
fn the_engine_configuration_bounds_its_retry_policy() {
    // A claim or delay of u64::MAX seconds used to be accepted by
    // `try_with_config` and only failed (or, before checked arithmetic,
    // panicked) when the outbox computed a time from it.
    for retry in [
        RetryPolicy {
            claim_secs: u64::MAX,
            ..RetryPolicy::default()
        },
        RetryPolicy {
            max_delay_secs: u64::MAX,
            ..RetryPolicy::default()
        },
        RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        },
    ] {
        let mut c = EngineConfig::default();
        c.retry = retry.clone();
        let err = Enlist::in_memory()
            .try_with_config(c)
            .expect_err("an unbounded retry policy is refused");
        assert_eq!(err.code(), "invalid_input", "{retry:?}: {err}");
    }
}

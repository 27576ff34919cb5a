//! Issue 13, caps: the seeds' stories of who sees which button
//! (capabilities), the organization's default role, editing a saved user
//! before the invitation goes out and the "Active User" checkbox (seed 004),
//! and "See access code" on the "Invitations without email" tab (seed 002).

use super::common::*;
use chrono::Duration;
use enlist::*;
use std::sync::Arc;

fn group(o: &Org, name: &str) -> Group {
    o.engine
        .create_group(
            o.id(),
            &o.owner_actor(),
            NewGroup {
                name: name.into(),
                ..NewGroup::default()
            },
        )
        .expect("group")
}

/// Seed 002: "NB: if you don't see the +Invite button, only the platform
/// administrators can invite new users." Seed 001: "Invite new members.
/// Who can do this: Org Admin."
#[test]
fn seed_002_the_invite_button_shows_only_to_who_may_invite() {
    let o = org_with_owner();
    let admin = o.join("ada@acme.test", "admin", "acct-ada");
    let pat = o.join("pat@acme.test", "member", "acct-pat");
    let caps = |m: &Member| o.engine.capabilities(o.id(), &as_member(m)).expect("caps");

    let admin_caps = caps(&admin);
    assert!(admin_caps.can_invite, "an Org Admin sees +Invite");
    assert!(admin_caps.members.roles.contains(&"admin".to_owned()));
    assert!(
        !admin_caps.members.roles.contains(&"owner".to_owned()),
        "an admin cannot make owners"
    );
    let pat_caps = caps(&pat);
    assert!(!pat_caps.can_invite, "a member does not see +Invite");
    let err = o
        .engine
        .invite(
            o.id(),
            &as_member(&pat),
            InviteRequest::new(Recipients::Paste("new@acme.test".into())),
        )
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied");

    // "If you're a member and this has been authorized by an administrator,
    // you can invite new users ... from the user directory."
    let mut policy = o.engine.organization(o.id()).expect("org").policy;
    policy.members_can_invite = true;
    o.engine
        .update_policy(o.id(), &o.owner_actor(), policy)
        .expect("policy");
    let pat_caps = caps(&pat);
    assert!(pat_caps.can_invite && pat_caps.members.without_groups);
    assert_eq!(
        pat_caps.members.roles,
        vec!["member".to_owned(), "guest".to_owned()]
    );
    assert!(
        !pat_caps.guests.allowed,
        "members invite members, not guests"
    );
    for role in &pat_caps.members.roles {
        let rep = o
            .engine
            .invite(
                o.id(),
                &as_member(&pat),
                InviteRequest::new(Recipients::Paste(format!("{role}-friend@acme.test")))
                    .role(role.clone()),
            )
            .expect("a listed role is allowed");
        assert_eq!(rep.issued.len(), 1);
    }
}

/// Seed 002: "If you're a group administrator and this has been authorized
/// by an administrator, you can invite new users from the group settings."
#[test]
fn seed_002_a_group_administrator_may_invite_into_the_groups_they_own() {
    let mut policy = Policy::default();
    policy.group_owners_can_invite = true;
    let o = org_with_policy(policy);
    let design = group(&o, "Design");
    let ops = group(&o, "Ops");
    let gina = o.join_with(
        RecipientInput {
            email: Some("gina@acme.test".into()),
            groups: Some(vec![GroupGrant {
                group_id: design.id.clone(),
                role: GroupRole::Owner,
            }]),
            ..RecipientInput::default()
        },
        "member",
        "acct-gina",
    );
    let caps = o
        .engine
        .capabilities(o.id(), &as_member(&gina))
        .expect("caps");
    assert!(caps.can_invite && !caps.members.without_groups);
    assert!(caps.members.any_group_roles.is_empty());
    assert_eq!(caps.members.groups.len(), 1);
    assert_eq!(caps.members.groups[0].group_id, design.id);
    let into = |g: &Group| {
        o.engine.invite(
            o.id(),
            &as_member(&gina),
            InviteRequest::new(Recipients::Paste(format!("x-{}@acme.test", g.name)))
                .groups(vec![GroupGrant::member(g.id.clone())]),
        )
    };
    assert_eq!(into(&design).expect("own group").issued.len(), 1);
    assert_eq!(into(&ops).unwrap_err().code(), "permission_denied");
}

/// Seed 000: roles default "from the record or the organization's default
/// role".
#[test]
fn seed_000_people_without_a_role_get_the_organizations_default_role() {
    let o = org_with_owner();
    o.engine
        .define_role(
            o.id(),
            &o.owner_actor(),
            "employee",
            [Permission::ViewMembers].into_iter().collect(),
        )
        .expect("role");
    let mut policy = o.engine.organization(o.id()).expect("org").policy;
    policy.default_role = Some("employee".into());
    o.engine
        .update_policy(o.id(), &o.owner_actor(), policy)
        .expect("policy");
    let rep = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::List(vec![
                RecipientInput::email("no-role@acme.test"),
                RecipientInput {
                    email: Some("with-role@acme.test".into()),
                    role: Some("admin".into()),
                    ..RecipientInput::default()
                },
            ]))
            .staged(),
        )
        .expect("invite");
    let roles: Vec<&str> = rep
        .issued
        .iter()
        .map(|i| i.invitation.role.as_str())
        .collect();
    assert_eq!(roles, ["employee", "admin"]);
    // An import file without a role column, too.
    let csv = "Email\nfrom-file@acme.test\n";
    let report = o
        .engine
        .import_invitations(
            o.id(),
            &o.owner_actor(),
            csv.as_bytes(),
            ImportFormat::Csv,
            ImportDefaults::default().staged(),
        )
        .expect("import");
    assert_eq!(report.batches[0].issued[0].invitation.role, "employee");
}

/// Seed 004: "Active User: Select if this user account should be available
/// for use." ... "Click Save User to create the user. You will be able to
/// send the invitation later." ... "You are able to update all user
/// details except for their email address."
#[test]
fn seed_004_a_user_saved_inactive_is_edited_activated_then_sent() {
    let o = org_with_owner();
    let sales = group(&o, "Sales");
    let uma = o.join("uma@acme.test", "user_admin", "acct-uma");
    let mark = o.events().len();
    // Add Employee: Active User unchecked, Save User.
    let kim = o
        .engine
        .invite(
            o.id(),
            &as_member(&uma),
            InviteRequest::new(Recipients::List(vec![RecipientInput {
                email: Some("kim@acme.test".into()),
                first_name: Some("Kim".into()),
                last_name: Some("Lee".into()),
                ..RecipientInput::default()
            }]))
            .inactive(),
        )
        .expect("save user")
        .issued
        .remove(0)
        .invitation;
    assert!(!kim.active && kim.status == InvitationStatus::Staged);
    // Send invites on the selected row: not while inactive.
    let rep = o
        .engine
        .send_staged(o.id(), &as_member(&uma), std::slice::from_ref(&kim.id))
        .expect("send");
    assert!(matches!(&rep.results[0], SendOutcome::Failed { code, .. } if code == "conflict"));
    // Edit Employee: role, groups, surname, Active User checked.
    let edited = o
        .engine
        .update_staged_invitation(
            o.id(),
            &as_member(&uma),
            &kim.id,
            StagedInvitationUpdate {
                role: Some("user_admin".into()),
                groups: Some(vec![GroupGrant::member(sales.id.clone())]),
                last_name: Some("Lee-Park".into()),
                active: Some(true),
                ..StagedInvitationUpdate::default()
            },
        )
        .expect("edit");
    assert_eq!(edited.recipient, kim.recipient, "the email never changes");
    assert!(edited.active && edited.role == "user_admin");
    // A User Admin may not make an Account Admin.
    let err = o
        .engine
        .update_staged_invitation(
            o.id(),
            &as_member(&uma),
            &kim.id,
            StagedInvitationUpdate::new().role("owner"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied");
    let rep = o
        .engine
        .send_staged(o.id(), &as_member(&uma), std::slice::from_ref(&kim.id))
        .expect("send");
    assert!(matches!(&rep.results[0], SendOutcome::Sent { .. }));
    let kinds = o.events_after(mark);
    assert!(
        matches!(
            &kinds[..],
            [
                EventKind::InvitationStaged { active: false, .. },
                EventKind::InvitationUpdated { .. },
                EventKind::InvitationActiveChanged { active: true, .. },
                EventKind::InvitationSent { .. },
            ]
        ),
        "{kinds:?}"
    );
    // Once sent, the saved details are what was sent: no more edits.
    let err = o
        .engine
        .update_staged_invitation(
            o.id(),
            &o.owner_actor(),
            &kim.id,
            StagedInvitationUpdate::new().names("K", "L"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
}

/// Seed 002: "You'll generate a code that is available from the
/// Invitations without email tab of the Invite new users section. Click
/// See access code to display it."
#[test]
fn seed_002_see_access_code_on_the_invitations_without_email_tab() {
    let clock = Arc::new(ManualClock::at_epoch_seconds(START_EPOCH_SECS));
    let engine = Enlist::new(Arc::new(MemoryStore::new()))
        .with_clock(clock.clone())
        .with_secrets(Arc::new(SeededSecrets::new(9)))
        .with_sealing_keys(
            SealingKey::new("2026-12", [42u8; 32]).expect("key"),
            Vec::new(),
        )
        .expect("keys");
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(NewOrganization::new("Acme", OWNER_REF, OWNER_EMAIL))
        .expect("org");
    let o = Org {
        engine,
        clock,
        org,
        owner,
    };
    let admin = o.join("ada@acme.test", "admin", "acct-ada");
    let pat = o.join("pat@acme.test", "member", "acct-pat");
    let issued = o
        .engine
        .invite(
            o.id(),
            &as_member(&admin),
            InviteRequest::new(Recipients::List(vec![RecipientInput::identifier(
                "+33 6 12 34 56 78",
            )])),
        )
        .expect("invite")
        .issued
        .remove(0);
    let code = issued.secret.expect("the code, shown when issued");
    assert!(
        o.engine
            .capabilities(o.id(), &as_member(&admin))
            .expect("caps")
            .reveal_access_codes
    );
    // The admin comes back to the tab later and clicks "See access code".
    o.advance(Duration::hours(3));
    let shown = o
        .engine
        .reveal_access_code(o.id(), &as_member(&admin), &issued.invitation.id)
        .expect("see access code");
    assert_eq!(shown.expose(), code.expose());
    // The person registers with it.
    let joined = o
        .engine
        .accept_with_code(
            o.id(),
            "+33 6 12 34 56 78",
            shown.expose(),
            registration("acct-phone"),
        )
        .expect("register with the code");
    assert_eq!(joined.member.role, "member");
    // Accepted: nothing to show any more; a member never sees codes.
    let err = o
        .engine
        .reveal_access_code(o.id(), &as_member(&admin), &issued.invitation.id)
        .unwrap_err();
    assert_eq!(err.code(), "invitation_not_open");
    let err = o
        .engine
        .reveal_access_code(o.id(), &as_member(&pat), &issued.invitation.id)
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied");
    // The audit trail says who looked, never the code.
    let trail = serde_json::to_string(&o.events()).expect("json");
    assert!(trail.contains("access_code_revealed"));
    assert!(!trail.contains(code.expose()));
}

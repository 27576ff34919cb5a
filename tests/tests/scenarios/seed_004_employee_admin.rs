//! Seed 004 — WeTrack, "Employees": add a user with "Save User" (saved, the
//! invitation sent later) or "Save & Send Invite"; select users and "Send
//! invites"; resend; edit every detail but the email; unique emails; the
//! roles Account Admin, User Admin, Admin and General Role; user groups
//! (several per user); inactivate by unchecking "Active User"; delete
//! several users at once.
//!
//! Mapping: a saved user who has not accepted yet is a staged invitation
//! ([`InviteRequest::staged`], sent with [`Enlist::send_staged`]); once
//! accepted, a [`Member`]. Account Admin, User Admin, Admin and General Role
//! are the built-in roles `owner`, `user_admin`, `admin` and `member`;
//! module permissions are custom roles ([`Enlist::define_role`]); user
//! groups are groups. Deleting an accepted user is [`Enlist::remove_member`],
//! deleting a saved-only user is [`Enlist::revoke`].

use super::common::*;
use chrono::Duration;
use enlist::*;

/// WeTrack: two user groups, and one user for each built-in role (the
/// organization's owner is the Account Admin).
struct WeTrack {
    o: Org,
    user_admin: Member,
    admin: Member,
    general: Member,
    sales: Group,
    support: Group,
}

fn wetrack() -> WeTrack {
    wetrack_with(Policy::default())
}

fn wetrack_with(policy: Policy) -> WeTrack {
    let o = org_with_policy(policy);
    let user_admin = o.join("uma@wetrack.test", "user_admin", "acct-uma");
    let admin = o.join("ada@wetrack.test", "admin", "acct-ada");
    let general = o.join("gus@wetrack.test", "member", "acct-gus");
    let group = |name: &str| {
        o.engine
            .create_group(
                o.id(),
                &o.owner_actor(),
                NewGroup {
                    name: name.into(),
                    description: format!("{name} team"),
                    is_default: false,
                },
            )
            .unwrap()
    };
    let sales = group("Sales");
    let support = group("Support");
    WeTrack {
        o,
        user_admin,
        admin,
        general,
        sales,
        support,
    }
}

/// The Add Employee drawer: names, email, role and user groups.
fn employee(first: &str, last: &str, email: &str, role: &str, groups: &[&Group]) -> RecipientInput {
    RecipientInput {
        email: Some(email.into()),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        role: Some(role.into()),
        groups: Some(
            groups
                .iter()
                .map(|g| GroupGrant::member(g.id.clone()))
                .collect(),
        ),
        ..RecipientInput::default()
    }
}

impl WeTrack {
    fn ua(&self) -> Actor {
        as_member(&self.user_admin)
    }

    /// "Save User" (`send == false`) or "Save & Send Invite".
    fn add(&self, actor: &Actor, row: RecipientInput, send: bool) -> Result<IssuedInvitation> {
        let mut req = InviteRequest::new(Recipients::List(vec![row]));
        if !send {
            req = req.staged();
        }
        let mut report = self.o.engine.invite(self.o.id(), actor, req)?;
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        Ok(report.issued.remove(0))
    }

    fn member(&self, id: &MemberId) -> Member {
        self.o
            .engine
            .member(self.o.id(), &Actor::System, id)
            .unwrap()
    }

    fn group_count(&self, g: &Group) -> u64 {
        self.o
            .engine
            .group(self.o.id(), &Actor::System, &g.id)
            .unwrap()
            .member_count
    }
}

fn denied(e: &Error, p: Permission) -> bool {
    matches!(e, Error::PermissionDenied { permission, .. } if *permission == p)
}

/// "Click Save User to create the user. You will be able to send the
/// invitation later."
#[test]
fn save_user_keeps_the_user_without_sending_anything() {
    let w = wetrack();
    let mark = w.o.events().len();
    let saved = w
        .add(
            &w.ua(),
            employee("Nora", "North", "nora@wetrack.test", "member", &[&w.sales]),
            false,
        )
        .unwrap();
    let inv = &saved.invitation;
    assert_eq!(inv.status, InvitationStatus::Staged);
    assert_eq!(
        (inv.first_name.as_deref(), inv.last_name.as_deref()),
        (Some("Nora"), Some("North"))
    );
    assert_eq!(inv.groups, [GroupGrant::member(w.sales.id.clone())]);
    assert!(saved.secret.is_none() && saved.message_id.is_none());
    assert!(inv.expires_at.is_none());
    assert_eq!(inv.send_count, 0);
    assert!(matches!(
        w.o.events_after(mark).as_slice(),
        [EventKind::InvitationStaged { .. }]
    ));

    // Nothing leaves, and nothing expires while it waits.
    let mailer = RecordingMailer::new();
    assert!(
        w.o.engine
            .deliver_pending(&mailer, 10)
            .unwrap()
            .sent
            .is_empty()
    );
    w.o.advance(Duration::days(30));
    assert_eq!(w.o.engine.expire_due(w.o.engine.now()).unwrap(), 0);
    let listed = w.o.invitations(&[InvitationStatus::Staged]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, inv.id);

    // Its seat is held and its address is taken.
    let usage = w.o.engine.license_usage(w.o.id(), &w.ua()).unwrap();
    let standard = usage
        .iter()
        .find(|u| u.license_type == DEFAULT_LICENSE)
        .unwrap();
    assert_eq!(standard.pending, 1);
    let again =
        w.o.engine
            .invite(
                w.o.id(),
                &w.ua(),
                InviteRequest::new(Recipients::List(vec![RecipientInput::email(
                    "NORA@wetrack.test",
                )])),
            )
            .unwrap();
    assert_eq!(
        again.rejected[0].reason,
        RejectReason::AlreadyInvited {
            invitation: inv.id.clone()
        }
    );
    // Resend is for sent invitations; a saved one is sent with Send invites.
    let err = w.o.engine.resend(w.o.id(), &w.ua(), &inv.id).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvitationNotOpen {
                status: InvitationStatus::Staged,
                ..
            }
        ),
        "{err:?}"
    );
}

/// "Click Save & Send Invite to create the user and send them an email
/// invitation now." — "This email has a link to the WeTrack site where they
/// can set a password and log in."
#[test]
fn save_and_send_invite_emails_a_link_that_logs_the_user_in() {
    let w = wetrack();
    let sent = w
        .add(
            &w.ua(),
            employee("Otto", "Oak", "otto@wetrack.test", "member", &[&w.support]),
            true,
        )
        .unwrap();
    assert_eq!(sent.invitation.status, InvitationStatus::Pending);
    assert!(sent.message_id.is_some());

    let mailer = RecordingMailer::new();
    assert_eq!(
        w.o.engine.deliver_pending(&mailer, 10).unwrap().sent.len(),
        1
    );
    let mail = &mailer.sent()[0];
    assert_eq!(mail.to, "otto@wetrack.test");
    assert_eq!(mail.to_name.as_deref(), Some("Otto Oak"));
    assert_eq!(mail.inviter_name.as_deref(), Some("Test Person acct-uma"));
    assert!(mail.text_body.starts_with("Hello Otto,"));

    // The names typed by the admin are kept when the user gives none.
    let joined =
        w.o.engine
            .accept(
                &token_from_url(&mail.accept_url),
                Registration {
                    user_ref: "acct-otto".into(),
                    ..Registration::default()
                },
            )
            .unwrap();
    assert_eq!(joined.member.display_name(), "Otto Oak");
    assert_eq!(
        joined.member.group_role(&w.support.id),
        Some(GroupRole::Member)
    );
    assert_eq!(w.group_count(&w.support), 1);
}

/// "On the Employees, check the box on the far right of the user's row. You
/// can select multiple users. In the header, click Send invites. An email
/// will be sent to the selected users."
#[test]
fn send_invites_to_several_selected_users() {
    let w = wetrack();
    let saved: Vec<IssuedInvitation> = ["pia", "quin", "ray"]
        .iter()
        .map(|n| {
            w.add(
                &w.ua(),
                employee(n, "Saved", &format!("{n}@wetrack.test"), "member", &[]),
                false,
            )
            .unwrap()
        })
        .collect();
    let already = w
        .add(
            &w.ua(),
            employee("Sam", "Sent", "sam@wetrack.test", "member", &[]),
            true,
        )
        .unwrap();

    // A General user selecting rows sends nothing: refused before any
    // row is read.
    let mark = w.o.events().len();
    let err =
        w.o.engine
            .send_staged(
                w.o.id(),
                &as_member(&w.general),
                &[saved[0].invitation.id.clone()],
            )
            .unwrap_err();
    assert_eq!(err.code(), "permission_denied");
    assert_eq!(w.o.events().len(), mark);

    // Pia and Quin are selected, with Sam (already sent) and a stale row.
    let selection = vec![
        saved[0].invitation.id.clone(),
        saved[1].invitation.id.clone(),
        already.invitation.id.clone(),
        InvitationId::from("inv_gone"),
    ];
    let report =
        w.o.engine
            .send_staged(w.o.id(), &w.ua(), &selection)
            .unwrap();
    let outcome: Vec<String> = report
        .results
        .iter()
        .map(|r| match r {
            SendOutcome::Sent { issued: i } => format!("sent {}", i.invitation.recipient.as_str()),
            SendOutcome::Failed { code, .. } => format!("failed {code}"),
        })
        .collect();
    assert_eq!(
        outcome,
        [
            "sent pia@wetrack.test",
            "sent quin@wetrack.test",
            "failed invitation_not_open",
            "failed not_found"
        ]
    );
    let events = w.o.events_after(mark);
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| matches!(e, EventKind::InvitationSent { .. }))
    );
    let ray =
        w.o.engine
            .invitation(w.o.id(), &w.ua(), &saved[2].invitation.id)
            .unwrap();
    assert_eq!(ray.status, InvitationStatus::Staged, "Ray was not selected");

    let mailer = RecordingMailer::new();
    w.o.engine.deliver_pending(&mailer, 10).unwrap();
    let mut to: Vec<String> = mailer
        .sent()
        .into_iter()
        .map(|m| m.to.into_string())
        .collect();
    to.sort();
    assert_eq!(
        to,
        ["pia@wetrack.test", "quin@wetrack.test", "sam@wetrack.test"]
    );
    for m in mailer.sent() {
        let user = m.to.replace("@wetrack.test", "");
        let joined = accept(
            &w.o.engine,
            &token_from_url(&m.accept_url),
            &format!("acct-{user}"),
        );
        assert_eq!(joined.member.contact.as_str(), m.to);
    }
}

/// "Invitations can be re-sent if the recipient has mistakenly deleted it."
#[test]
fn invitations_can_be_resent_within_the_policy() {
    let w = wetrack();
    let sent = w
        .add(
            &w.ua(),
            employee("Tia", "Tree", "tia@wetrack.test", "member", &[]),
            true,
        )
        .unwrap();
    let id = sent.invitation.id.clone();
    let t0 = w.o.engine.now();
    let err = w.o.engine.resend(w.o.id(), &w.ua(), &id).unwrap_err();
    match err {
        Error::ResendTooSoon { retry_after, .. } => {
            assert_eq!(retry_after, t0 + Duration::seconds(600));
        }
        other => panic!("expected a cooldown, got {other:?}"),
    }

    let mut last = sent;
    for n in 2..=5 {
        w.o.advance(Duration::minutes(10));
        let again = w.o.engine.resend(w.o.id(), &w.ua(), &id).unwrap();
        assert_eq!(again.invitation.send_count, n);
        assert_ne!(token_of(&again), token_of(&last));
        last = again;
    }
    // The cap: five sends in all.
    w.o.advance(Duration::minutes(10));
    let mark = w.o.events().len();
    let err = w.o.engine.resend(w.o.id(), &w.ua(), &id).unwrap_err();
    match err {
        Error::LimitExceeded {
            limit, max, actual, ..
        } => assert_eq!((limit, max, actual), (LimitKind::ResendCap, 5, 6)),
        other => panic!("expected the resend cap, got {other:?}"),
    }
    assert_eq!(w.o.events().len(), mark);

    // Only the last email goes out; only the last link works.
    let mailer = RecordingMailer::new();
    assert_eq!(
        w.o.engine.deliver_pending(&mailer, 10).unwrap().sent.len(),
        1
    );
    assert_eq!(
        token_from_url(&mailer.sent()[0].accept_url),
        token_of(&last)
    );
    accept(&w.o.engine, &token_of(&last), "acct-tia");
}

/// "You are able to update all user details except for their email
/// address."
#[test]
fn edit_every_detail_except_the_email() {
    let w = wetrack();
    let field = w.o.join("vic@wetrack.test", "member", "acct-vic");
    let mark = w.o.events().len();
    let edited =
        w.o.engine
            .update_member(
                w.o.id(),
                &w.ua(),
                &field.id,
                MemberUpdate {
                    first_name: Some("Victoria".into()),
                    last_name: Some("Vale".into()),
                    phone: Some("+1 555 0100".into()),
                    role: Some("user_admin".into()),
                    groups: Some(vec![
                        GroupGrant::member(w.sales.id.clone()),
                        GroupGrant::member(w.support.id.clone()),
                    ]),
                    license_type: Some("field".into()),
                    attributes: None,
                    ..MemberUpdate::default()
                },
            )
            .unwrap();
    assert_eq!(edited.display_name(), "Victoria Vale");
    assert_eq!(edited.phone.as_deref(), Some("+1 555 0100"));
    assert_eq!(edited.role, "user_admin");
    assert_eq!(edited.license_type, "field");
    assert_eq!(edited.contact.as_str(), "vic@wetrack.test");
    assert_eq!(
        w.o.events_after(mark),
        [EventKind::MemberUpdated {
            member: field.id.clone(),
            fields: [
                "first_name",
                "last_name",
                "phone",
                "role",
                "groups",
                "license_type"
            ]
            .map(String::from)
            .to_vec(),
        }]
    );

    // Saving the same details again changes nothing and records nothing.
    let mark = w.o.events().len();
    w.o.engine
        .update_member(
            w.o.id(),
            &w.ua(),
            &field.id,
            MemberUpdate {
                first_name: Some("Victoria".into()),
                ..MemberUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(w.o.events().len(), mark);

    // A bad value is refused and nothing is saved.
    let err =
        w.o.engine
            .update_member(
                w.o.id(),
                &w.ua(),
                &field.id,
                MemberUpdate {
                    first_name: Some("Vic\r\nBcc: all@x.test".into()),
                    role: Some("member".into()),
                    ..MemberUpdate::default()
                },
            )
            .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(w.member(&field.id), edited);
    assert_eq!(w.o.events().len(), mark);

    // A General user edits their own name, not their role nor anyone else.
    let g = as_member(&w.general);
    w.o.engine
        .update_member(
            w.o.id(),
            &g,
            &w.general.id,
            MemberUpdate {
                first_name: Some("Gustav".into()),
                ..MemberUpdate::default()
            },
        )
        .unwrap();
    let err =
        w.o.engine
            .update_member(
                w.o.id(),
                &g,
                &w.general.id,
                MemberUpdate {
                    role: Some("admin".into()),
                    ..MemberUpdate::default()
                },
            )
            .unwrap_err();
    assert!(denied(&err, Permission::ManageMembers), "{err:?}");
    let err =
        w.o.engine
            .update_member(
                w.o.id(),
                &g,
                &field.id,
                MemberUpdate {
                    first_name: Some("Hacked".into()),
                    ..MemberUpdate::default()
                },
            )
            .unwrap_err();
    assert!(denied(&err, Permission::ManageMembers), "{err:?}");
}

/// "Every user in your system must have a unique email address."
#[test]
fn every_user_has_a_unique_email() {
    let w = wetrack();
    let wes = w.o.join("wes@wetrack.test", "member", "acct-wes");
    w.o.engine
        .deactivate_member(w.o.id(), &w.ua(), &wes.id)
        .unwrap();
    w.add(
        &w.ua(),
        employee("Xan", "Saved", "xan@wetrack.test", "member", &[]),
        false,
    )
    .unwrap();
    let report =
        w.o.engine
            .invite(
                w.o.id(),
                &w.ua(),
                InviteRequest::new(Recipients::List(vec![
                    RecipientInput::email("GUS@WeTrack.test"),
                    RecipientInput::email("wes@wetrack.test"),
                    RecipientInput::email("xan@wetrack.test"),
                    RecipientInput::email("yul@wetrack.test"),
                    RecipientInput::email("Yul@wetrack.test"),
                ])),
            )
            .unwrap();
    let codes: Vec<(usize, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.code()))
        .collect();
    assert_eq!(
        codes,
        [
            (0, "already_member"),
            (1, "already_member"),
            (2, "already_invited"),
            (4, "duplicate_in_batch")
        ]
    );
    assert_eq!(report.issued.len(), 1);

    // Once a user is deleted, the address is free again.
    w.o.engine
        .remove_member(w.o.id(), &w.ua(), &wes.id)
        .unwrap();
    let again = w
        .add(&w.ua(), RecipientInput::email("wes@wetrack.test"), true)
        .unwrap();
    assert_eq!(again.invitation.status, InvitationStatus::Pending);
}

/// "Select the user's role: Account Admin, User Admin, Admin, or General
/// Role." — and "Add the user's Module Permissions."
#[test]
fn the_four_roles_decide_who_may_do_what() {
    let w = wetrack();
    let owner = w.o.owner_actor();
    let ua = w.ua();
    let admin = as_member(&w.admin);
    let general = as_member(&w.general);
    let invite = |actor: &Actor, email: &str, role: &str| {
        w.o.engine.invite(
            w.o.id(),
            actor,
            InviteRequest::new(Recipients::List(vec![RecipientInput::email(email)])).role(role),
        )
    };
    let new_group = |actor: &Actor, name: &str| {
        w.o.engine.create_group(
            w.o.id(),
            actor,
            NewGroup {
                name: name.into(),
                ..NewGroup::default()
            },
        )
    };

    // General Role: no user administration.
    let err = invite(&general, "g1@wetrack.test", "member").unwrap_err();
    assert!(denied(&err, Permission::InviteMembers), "{err:?}");
    let err =
        w.o.engine
            .deactivate_member(w.o.id(), &general, &w.user_admin.id)
            .unwrap_err();
    assert!(denied(&err, Permission::ManageMembers), "{err:?}");

    // User Admin: users yes, but not above their own reach, and no groups.
    assert_eq!(
        invite(&ua, "u1@wetrack.test", "member")
            .unwrap()
            .issued
            .len(),
        1
    );
    assert_eq!(
        invite(&ua, "u2@wetrack.test", "user_admin")
            .unwrap()
            .issued
            .len(),
        1
    );
    let err = invite(&ua, "u3@wetrack.test", "admin").unwrap_err();
    assert!(denied(&err, Permission::ManageGroups), "{err:?}");
    let err = new_group(&ua, "UA group").unwrap_err();
    assert!(denied(&err, Permission::ManageGroups), "{err:?}");
    w.o.engine
        .update_member(
            w.o.id(),
            &ua,
            &w.general.id,
            MemberUpdate {
                groups: Some(vec![GroupGrant::member(w.sales.id.clone())]),
                ..MemberUpdate::default()
            },
        )
        .unwrap();
    let err =
        w.o.engine
            .deactivate_member(w.o.id(), &ua, &w.admin.id)
            .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
    // Nor bring back an Admin an Account Admin switched off.
    w.o.engine
        .deactivate_member(w.o.id(), &owner, &w.admin.id)
        .unwrap();
    let err =
        w.o.engine
            .reactivate_member(w.o.id(), &ua, &w.admin.id)
            .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
    assert_eq!(w.member(&w.admin.id).status, MemberStatus::Inactive);
    w.o.engine
        .reactivate_member(w.o.id(), &owner, &w.admin.id)
        .unwrap();

    // Admin: groups and admins, but not Account Admins.
    new_group(&admin, "Admins' group").unwrap();
    assert_eq!(
        invite(&admin, "a1@wetrack.test", "admin")
            .unwrap()
            .issued
            .len(),
        1
    );
    let err = invite(&admin, "a2@wetrack.test", "owner").unwrap_err();
    assert!(denied(&err, Permission::OwnOrganization), "{err:?}");

    // Account Admin: everything, including other Account Admins.
    let report = invite(&owner, "o1@wetrack.test", "owner").unwrap();
    let second_owner = accept(&w.o.engine, &token_of(&report.issued[0]), "acct-o1").member;
    assert_eq!(second_owner.role, "owner");

    // Module permissions: a custom role.
    let mut perms = PermissionSet::new();
    perms.insert(Permission::ViewMembers);
    perms.insert(Permission::ViewAudit);
    let err =
        w.o.engine
            .define_role(w.o.id(), &ua, "auditor", perms.clone())
            .unwrap_err();
    assert!(denied(&err, Permission::ManageRoles), "{err:?}");
    let mut too_much = perms.clone();
    too_much.insert(Permission::OwnOrganization);
    let err =
        w.o.engine
            .define_role(w.o.id(), &admin, "boss", too_much)
            .unwrap_err();
    assert!(denied(&err, Permission::OwnOrganization), "{err:?}");
    w.o.engine
        .define_role(w.o.id(), &admin, "auditor", perms)
        .unwrap();
    let report = invite(&admin, "aud@wetrack.test", "auditor").unwrap();
    let auditor = accept(&w.o.engine, &token_of(&report.issued[0]), "acct-aud").member;
    assert!(
        w.o.engine
            .events(w.o.id(), &as_member(&auditor), 0, 10)
            .is_ok()
    );
    let err = w.o.engine.events(w.o.id(), &general, 0, 10).unwrap_err();
    assert!(denied(&err, Permission::ViewAudit), "{err:?}");
    let err = invite(&as_member(&auditor), "x@wetrack.test", "member").unwrap_err();
    assert!(denied(&err, Permission::InviteMembers), "{err:?}");
}

/// "Add the user to any applicable User Groups ... Select all groups the
/// user should belong to." — "Users can belong to more than one group."
#[test]
fn a_user_belongs_to_several_user_groups() {
    let w = wetrack();
    let field_team =
        w.o.engine
            .create_group(
                w.o.id(),
                &w.o.owner_actor(),
                NewGroup {
                    name: "Field".into(),
                    ..NewGroup::default()
                },
            )
            .unwrap();
    let sent = w
        .add(
            &w.ua(),
            employee(
                "Zed",
                "Zane",
                "zed@wetrack.test",
                "member",
                &[&w.sales, &w.support],
            ),
            true,
        )
        .unwrap();
    let zed = accept(&w.o.engine, &token_of(&sent), "acct-zed").member;
    assert_eq!(zed.group_role(&w.sales.id), Some(GroupRole::Member));
    assert_eq!(zed.group_role(&w.support.id), Some(GroupRole::Member));
    let in_group = |g: &Group| -> Vec<String> {
        w.o.engine
            .list_members(
                w.o.id(),
                &w.ua(),
                &MemberQuery {
                    group: Some(g.id.clone()),
                    ..MemberQuery::default()
                },
            )
            .unwrap()
            .items
            .into_iter()
            .map(|m| m.contact_key.into_string())
            .collect()
    };
    assert_eq!(in_group(&w.sales), ["zed@wetrack.test"]);
    assert_eq!(in_group(&w.support), ["zed@wetrack.test"]);

    // Manage groups: now Support and Field.
    w.o.engine
        .update_member(
            w.o.id(),
            &w.ua(),
            &zed.id,
            MemberUpdate {
                groups: Some(vec![
                    GroupGrant::member(w.support.id.clone()),
                    GroupGrant::member(field_team.id.clone()),
                ]),
                ..MemberUpdate::default()
            },
        )
        .unwrap();
    assert!(in_group(&w.sales).is_empty());
    assert_eq!(in_group(&field_team), ["zed@wetrack.test"]);
    assert_eq!(
        (
            w.group_count(&w.sales),
            w.group_count(&w.support),
            w.group_count(&field_team)
        ),
        (0, 1, 1)
    );
    // A group of another organization is refused, and nothing changes.
    let CreatedOrganization {
        organization: other,
        owner: other_owner,
        ..
    } =
        w.o.engine
            .create_organization(NewOrganization::new("Other", "acct-x", "x@other.test"))
            .unwrap();
    let foreign =
        w.o.engine
            .create_group(
                &other.id,
                &as_member(&other_owner),
                NewGroup {
                    name: "Foreign".into(),
                    ..NewGroup::default()
                },
            )
            .unwrap();
    let err =
        w.o.engine
            .update_member(
                w.o.id(),
                &w.ua(),
                &zed.id,
                MemberUpdate {
                    groups: Some(vec![GroupGrant::member(foreign.id.clone())]),
                    ..MemberUpdate::default()
                },
            )
            .unwrap_err();
    assert!(matches!(err, Error::UnknownGroup { .. }), "{err:?}");
    assert_eq!(w.member(&zed.id).groups.len(), 2);
}

/// "If a user's account is no longer needed, it should be inactivated ...
/// Uncheck Active User. Click Save User."
#[test]
fn inactivate_a_user_by_unchecking_active() {
    let mut policy = Policy::default();
    policy.seat_limits.insert(DEFAULT_LICENSE.into(), 5);
    let w = wetrack_with(policy);
    // Owner, user admin, admin and general: four of five seats.
    let yan = w.o.join("yan@wetrack.test", "member", "acct-yan");
    let usage = |w: &WeTrack| {
        w.o.engine
            .license_usage(w.o.id(), &w.ua())
            .unwrap()
            .into_iter()
            .find(|u| u.license_type == DEFAULT_LICENSE)
            .unwrap()
            .used
    };
    assert_eq!(usage(&w), 5);

    let mark = w.o.events().len();
    let off =
        w.o.engine
            .deactivate_member(w.o.id(), &w.ua(), &yan.id)
            .unwrap();
    assert_eq!(off.status, MemberStatus::Inactive);
    assert_eq!(
        w.o.events_after(mark),
        [EventKind::MemberStatusChanged {
            member: yan.id.clone(),
            from: MemberStatus::Active,
            to: MemberStatus::Inactive,
        }]
    );
    assert_eq!(usage(&w), 4, "an inactive user holds no seat");
    // Still on the Employees list, and findable as inactive.
    let listed =
        w.o.engine
            .list_members(
                w.o.id(),
                &w.ua(),
                &MemberQuery {
                    statuses: vec![MemberStatus::Inactive],
                    ..MemberQuery::default()
                },
            )
            .unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].id, yan.id);
    // An inactive account cannot act.
    let err =
        w.o.engine
            .list_members(w.o.id(), &as_member(&yan), &MemberQuery::default())
            .unwrap_err();
    assert!(matches!(err, Error::NotAMember { .. }), "{err:?}");
    // Unchecking twice is a no-op.
    let mark = w.o.events().len();
    w.o.engine
        .deactivate_member(w.o.id(), &w.ua(), &yan.id)
        .unwrap();
    assert_eq!(w.o.events().len(), mark);

    // The freed seat goes to someone else; Yan cannot come back until one
    // is free again.
    let report =
        w.o.engine
            .invite(
                w.o.id(),
                &w.ua(),
                InviteRequest::new(Recipients::List(vec![RecipientInput::email(
                    "new@wetrack.test",
                )])),
            )
            .unwrap();
    accept(&w.o.engine, &token_of(&report.issued[0]), "acct-new");
    let err =
        w.o.engine
            .reactivate_member(w.o.id(), &w.ua(), &yan.id)
            .unwrap_err();
    match err {
        Error::LimitExceeded {
            limit, max, actual, ..
        } => assert_eq!((limit, max, actual), (LimitKind::Seats, 5, 6)),
        other => panic!("expected the seat limit, got {other:?}"),
    }
    assert_eq!(w.member(&yan.id).status, MemberStatus::Inactive);
    w.o.engine
        .deactivate_member(w.o.id(), &w.ua(), &w.general.id)
        .unwrap();
    let back =
        w.o.engine
            .reactivate_member(w.o.id(), &w.ua(), &yan.id)
            .unwrap();
    assert_eq!(back.status, MemberStatus::Active);
    assert_eq!(usage(&w), 5);

    // The last Account Admin stays active.
    let err =
        w.o.engine
            .deactivate_member(w.o.id(), &w.o.owner_actor(), &w.o.owner.id)
            .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
}

/// "Users can be deleted. Deleting a user will remove them from all items
/// assigned to them. ... check the box on the far right of the user's row.
/// You can select multiple users. In the header, click Delete."
#[test]
fn delete_several_users_at_once() {
    let w = wetrack();
    let mk = |name: &str, groups: &[&Group]| {
        let sent = w
            .add(
                &w.ua(),
                employee(
                    name,
                    "Gone",
                    &format!("{name}@wetrack.test"),
                    "member",
                    groups,
                ),
                true,
            )
            .unwrap();
        accept(&w.o.engine, &token_of(&sent), &format!("acct-{name}")).member
    };
    let ann = mk("ann", &[&w.sales, &w.support]);
    let ben = mk("ben", &[&w.sales]);
    let kept = mk("kim", &[&w.sales]);
    let saved_only = w
        .add(
            &w.ua(),
            employee("Cal", "Saved", "cal@wetrack.test", "member", &[&w.sales]),
            false,
        )
        .unwrap();
    assert_eq!(w.group_count(&w.sales), 3);

    // A General user deletes nobody.
    let err =
        w.o.engine
            .remove_member(w.o.id(), &as_member(&w.general), &ann.id)
            .unwrap_err();
    assert!(denied(&err, Permission::ManageMembers), "{err:?}");

    // Ann, Ben and the saved-only Cal are selected and deleted.
    let mark = w.o.events().len();
    for m in [&ann, &ben] {
        let gone = w.o.engine.remove_member(w.o.id(), &w.ua(), &m.id).unwrap();
        assert_eq!(gone.status, MemberStatus::Removed);
        assert!(gone.groups.is_empty(), "removed from everything assigned");
    }
    let cal =
        w.o.engine
            .revoke(w.o.id(), &w.ua(), &saved_only.invitation.id)
            .unwrap();
    assert_eq!(cal.status, InvitationStatus::Revoked);
    let events = w.o.events_after(mark);
    assert_eq!(events.len(), 3);
    assert!(matches!(
        events.as_slice(),
        [
            EventKind::MemberRemoved { .. },
            EventKind::MemberRemoved { .. },
            EventKind::InvitationRevoked { .. }
        ]
    ));

    assert_eq!(w.group_count(&w.sales), 1);
    assert_eq!(w.group_count(&w.support), 0);
    let remaining: Vec<String> =
        w.o.engine
            .list_members(w.o.id(), &w.ua(), &MemberQuery::default())
            .unwrap()
            .items
            .into_iter()
            .map(|m| m.contact_key.into_string())
            .collect();
    assert!(remaining.contains(&"kim@wetrack.test".to_owned()));
    assert!(
        !remaining
            .iter()
            .any(|e| e.starts_with("ann@") || e.starts_with("ben@"))
    );
    assert_eq!(w.member(&kept.id).status, MemberStatus::Active);
    // Deleted users cannot log in with their old access.
    let err =
        w.o.engine
            .list_members(w.o.id(), &as_member(&ann), &MemberQuery::default())
            .unwrap_err();
    assert!(matches!(err, Error::NotAMember { .. }), "{err:?}");
    // Their seats are free.
    let usage = w.o.engine.license_usage(w.o.id(), &w.ua()).unwrap();
    let standard = usage
        .iter()
        .find(|u| u.license_type == DEFAULT_LICENSE)
        .unwrap();
    assert_eq!((standard.used, standard.pending), (5, 0));
}

//! Seed 002: a collaboration platform (Talkspirit). Administrators invite by
//! email, by identifier with an access code, or with an invitation link;
//! group administrators and members invite when an administrator allows it;
//! guests see only the groups they were invited to; bulk files hold at most
//! 500 rows; professional email domains; a personal message; and
//! self-registration when authorized.

use super::common::{Org, as_member, org_with_policy, registration, token_from_url, token_of};
use chrono::Duration;
use enlist::Clock as _;
use enlist::{
    ActivatedLink, Actor, Contact, Error, EventKind, Feature, Group, GroupGrant, GroupQuery,
    ImportDefaults, ImportFormat, Invitation, InvitationStatus, InviteRequest, JoinedVia,
    LimitKind, LinkSpec, Member, MemberKind, MemberQuery, MemberStatus, NewGroup, Permission,
    Policy, RecipientInput, Recipients, RecordingMailer, Registration, RejectReason,
};

/// A platform with the groups "Marketing" and "Sales" and a default group
/// "Everyone", created by the owner.
struct Platform {
    o: Org,
    marketing: Group,
    sales: Group,
    everyone: Group,
}

fn platform(policy: Policy) -> Platform {
    let o = org_with_policy(policy);
    let mk = |name: &str, is_default: bool| {
        o.engine
            .create_group(
                o.id(),
                &o.owner_actor(),
                NewGroup {
                    name: name.to_owned(),
                    description: String::new(),
                    is_default,
                },
            )
            .expect("create group")
    };
    let marketing = mk("Marketing", false);
    let sales = mk("Sales", false);
    let everyone = mk("Everyone", true);
    Platform {
        o,
        marketing,
        sales,
        everyone,
    }
}

/// Everything a failed command must leave as it was: the invitations (with
/// their statuses), the members, and the length of the audit trail.
#[derive(Debug, PartialEq)]
struct Snapshot {
    invitations: Vec<Invitation>,
    members: Vec<Member>,
    events: usize,
}

fn snapshot(o: &Org) -> Snapshot {
    let members = o
        .engine
        .list_members(
            o.id(),
            &Actor::System,
            &MemberQuery {
                statuses: vec![
                    MemberStatus::Active,
                    MemberStatus::Inactive,
                    MemberStatus::Removed,
                ],
                limit: 1000,
                ..MemberQuery::default()
            },
        )
        .expect("list members")
        .items;
    Snapshot {
        invitations: o.invitations(&[]),
        members,
        events: o.events().len(),
    }
}

fn set_policy(o: &Org, change: impl FnOnce(&mut Policy)) {
    let mut p = o.engine.organization(o.id()).expect("read org").policy;
    change(&mut p);
    o.engine
        .update_policy(o.id(), &o.owner_actor(), p)
        .expect("update policy");
}

fn person(email: &str, first: &str, last: &str) -> RecipientInput {
    RecipientInput {
        email: Some(email.to_owned()),
        first_name: Some(first.to_owned()),
        last_name: Some(last.to_owned()),
        ..RecipientInput::default()
    }
}

fn by_identifier(identifier: &str, first: &str, last: &str) -> RecipientInput {
    RecipientInput {
        identifier: Some(identifier.to_owned()),
        first_name: Some(first.to_owned()),
        last_name: Some(last.to_owned()),
        ..RecipientInput::default()
    }
}

fn group_ids(m: &Member) -> Vec<enlist::GroupId> {
    let mut ids: Vec<_> = m.groups.iter().map(|g| g.group_id.clone()).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<enlist::GroupId>) -> Vec<enlist::GroupId> {
    ids.sort();
    ids
}

/// "Fill in the contact information and define the groups you want him/her
/// to belong to. Once you've completed the various fields, click on Add.
/// The user will receive a link to create his account."
#[test]
fn admin_invites_by_email_into_groups_and_the_emailed_link_creates_the_account() {
    let p = platform(Policy::default());
    let o = &p.o;
    let admin = o.join("ada@acme.test", "admin", "acct-ada");
    let admin_actor = as_member(&admin);
    let count = |g: &Group| {
        o.engine
            .group(o.id(), &admin_actor, &g.id)
            .unwrap()
            .member_count
    };
    let counts_before = [count(&p.marketing), count(&p.sales), count(&p.everyone)];
    let mark = o.events().len();

    let report = o
        .engine
        .invite(
            o.id(),
            &admin_actor,
            InviteRequest::new(Recipients::List(vec![person(
                "bob@acme.test",
                "Bob",
                "Martin",
            )]))
            .groups(vec![
                GroupGrant::member(p.marketing.id.clone()),
                GroupGrant::member(p.sales.id.clone()),
            ]),
        )
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.issued.len(), 1);
    let issued = &report.issued[0];
    let inv = &issued.invitation;
    assert_eq!(inv.status, InvitationStatus::Pending);
    assert_eq!(inv.recipient, Contact::Email("bob@acme.test".into()));
    assert_eq!(inv.role, "member");
    assert_eq!(inv.kind, MemberKind::Member);
    assert_eq!(inv.inviter.as_ref(), Some(&admin.id));
    assert_eq!(inv.expires_at, Some(o.engine.now() + Duration::days(7)));

    // The audit trail has exactly the issue.
    let new = o.events_after(mark);
    assert_eq!(new.len(), 1, "{new:?}");
    match &new[0] {
        EventKind::InvitationIssued {
            invitation,
            recipient,
            groups,
            kind,
            ..
        } => {
            assert_eq!(invitation, &inv.id);
            assert_eq!(recipient, "bob@acme.test");
            assert_eq!(*kind, MemberKind::Member);
            assert_eq!(groups.len(), 2);
        }
        other => panic!("unexpected event {other:?}"),
    }

    // The email goes out once, addressed to Bob, from Ada.
    let mailer = RecordingMailer::new();
    let delivery = o.engine.deliver_pending(&mailer, 100).unwrap();
    assert_eq!(delivery.sent, vec![issued.message_id.clone().unwrap()]);
    assert!(delivery.retrying.is_empty() && delivery.failed.is_empty());
    assert!(
        o.engine
            .deliver_pending(&mailer, 100)
            .unwrap()
            .sent
            .is_empty()
    );
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    let email = &sent[0];
    assert_eq!(email.to, "bob@acme.test");
    assert_eq!(email.to_name.as_deref(), Some("Bob Martin"));
    assert_eq!(email.inviter_name, Some(admin.display_name().into()));
    assert_eq!(email.org_name, "Acme");
    assert!(email.text_body.contains(&email.accept_url));
    assert!(
        email.text_body.starts_with("Hello Bob,"),
        "{}",
        email.text_body
    );
    assert!(matches!(
        o.events().last().map(|e| &e.kind),
        Some(EventKind::EmailSent { invitation, to, .. }) if invitation == &inv.id && to == "bob@acme.test"
    ));

    // The link in the email creates the account; the names given by the
    // administrator pre-fill registration.
    let token = token_from_url(&email.accept_url);
    assert_eq!(token, token_of(issued));
    let acc = o
        .engine
        .accept(
            &token,
            Registration {
                user_ref: "acct-bob".into(),
                ..Registration::default()
            },
        )
        .unwrap();
    assert_eq!(acc.member.status, MemberStatus::Active);
    assert_eq!(acc.member.first_name.as_deref(), Some("Bob"));
    assert_eq!(acc.member.last_name.as_deref(), Some("Martin"));
    assert_eq!(
        group_ids(&acc.member),
        sorted(vec![p.marketing.id.clone(), p.sales.id.clone()]),
        "invited groups only, not the default group"
    );
    assert_eq!(acc.invitation.status, InvitationStatus::Accepted);
    assert_eq!(
        [count(&p.marketing), count(&p.sales), count(&p.everyone)],
        [counts_before[0] + 1, counts_before[1] + 1, counts_before[2]]
    );
    assert!(matches!(
        o.events().last().map(|e| (&e.actor, &e.kind)),
        Some((Actor::Account(a), EventKind::InvitationAccepted { member, .. }))
            if a == "acct-bob" && member == &acc.member.id
    ));

    // The link works once.
    let before = snapshot(o);
    assert!(matches!(
        o.engine.accept(&token, registration("acct-bob-2")),
        Err(Error::InvitationNotOpen { .. })
    ));
    assert_eq!(snapshot(o), before);
}

/// "It is important to personalize the invitation message that is sent
/// because it explains the main objectives of the platform."
#[test]
fn the_personal_message_is_in_the_email_and_on_the_landing_page() {
    let p = platform(Policy::default());
    let o = &p.o;
    let message = "Welcome!\nWe use Talkspirit to share news and plan projects.";
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("Chloe <chloe@acme.test>".into()))
                .message(message),
        )
        .unwrap();
    assert_eq!(report.issued.len(), 1);
    assert_eq!(
        report.issued[0].invitation.message.as_deref(),
        Some(message)
    );

    let mailer = RecordingMailer::new();
    o.engine.deliver_pending(&mailer, 10).unwrap();
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].personal_message.as_deref(), Some(message));
    assert!(sent[0].text_body.contains(message), "{}", sent[0].text_body);
    assert_eq!(sent[0].to_name.as_deref(), Some("Chloe"));

    let preview = o
        .engine
        .preview(&token_from_url(&sent[0].accept_url))
        .unwrap();
    assert_eq!(preview.message.as_deref(), Some(message));
    assert_eq!(preview.inviter_name.as_deref(), Some("Olive Owner"));
    assert_eq!(preview.org_name, "Acme");

    // A message that could inject mail headers, or one too long, is refused
    // and changes nothing.
    let before = snapshot(o);
    let bell = o.engine.invite(
        o.id(),
        &o.owner_actor(),
        InviteRequest::new(Recipients::Paste("dora@acme.test".into())).message("hi\u{7}"),
    );
    assert!(
        matches!(&bell, Err(Error::InvalidInput { field, .. }) if field == "message"),
        "{bell:?}"
    );
    let long = o.engine.invite(
        o.id(),
        &o.owner_actor(),
        InviteRequest::new(Recipients::Paste("dora@acme.test".into())).message("x".repeat(2001)),
    );
    assert!(
        matches!(
            &long,
            Err(Error::LimitExceeded {
                limit: LimitKind::FieldLength,
                actual: 2001,
                ..
            })
        ),
        "{long:?}"
    );
    assert_eq!(snapshot(o), before);
}

/// "If you want to invite a user with a limited access to the platform,
/// select the option New guest user(s). This way, this user will only have
/// access to the groups he's been invited to."
#[test]
fn guests_see_only_the_groups_they_were_invited_to() {
    let p = platform(Policy::default());
    let o = &p.o;
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::List(vec![person(
                "gary@partner.test",
                "Gary",
                "Guest",
            )]))
            .kind(MemberKind::Guest)
            .groups(vec![GroupGrant::member(p.marketing.id.clone())]),
        )
        .unwrap();
    assert_eq!(report.issued.len(), 1);
    assert_eq!(report.issued[0].invitation.role, "guest");
    let guest = o
        .engine
        .accept(&token_of(&report.issued[0]), registration("acct-gary"))
        .unwrap()
        .member;
    assert_eq!(guest.kind, MemberKind::Guest);
    assert_eq!(guest.role, "guest");
    assert_eq!(group_ids(&guest), vec![p.marketing.id.clone()]);

    let g = as_member(&guest);
    let visible: Vec<_> = o
        .engine
        .list_groups(o.id(), &g, &GroupQuery::default())
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(visible, vec!["Marketing".to_owned()]);
    assert!(o.engine.group(o.id(), &g, &p.marketing.id).is_ok());
    for other in [&p.sales, &p.everyone] {
        assert!(matches!(
            o.engine.group(o.id(), &g, &other.id),
            Err(Error::PermissionDenied {
                permission: Permission::ViewMembers,
                ..
            })
        ));
    }
    assert!(matches!(
        o.engine.list_members(o.id(), &g, &MemberQuery::default()),
        Err(Error::PermissionDenied {
            permission: Permission::ViewMembers,
            ..
        })
    ));

    // A guest invited to no group is in no group (not the default one).
    let lone = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("lone@partner.test".into()))
                .kind(MemberKind::Guest),
        )
        .unwrap();
    let lone = o
        .engine
        .accept(&token_of(&lone.issued[0]), registration("acct-lone"))
        .unwrap()
        .member;
    assert!(lone.groups.is_empty(), "{:?}", lone.groups);
    assert!(
        o.engine
            .list_groups(o.id(), &as_member(&lone), &GroupQuery::default())
            .unwrap()
            .is_empty()
    );

    // Guests never invite.
    let before = snapshot(o);
    let r = o.engine.invite(
        o.id(),
        &g,
        InviteRequest::new(Recipients::Paste("friend@partner.test".into()))
            .kind(MemberKind::Guest)
            .groups(vec![GroupGrant::member(p.marketing.id.clone())]),
    );
    assert!(matches!(r, Err(Error::PermissionDenied { .. })), "{r:?}");
    assert_eq!(snapshot(o), before);

    // With guests switched off, guest invitations are reported, not issued.
    set_policy(o, |p| p.guests_enabled = false);
    let before = snapshot(o);
    let r = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("late@partner.test".into()))
                .kind(MemberKind::Guest),
        )
        .unwrap();
    assert!(r.issued.is_empty());
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].reason, RejectReason::GuestsDisabled);
    assert_eq!(snapshot(o), before);
}

/// "To invite a new user without an email address, select New user members,
/// fill in the his/her contact information and define the groups [...]
/// You'll generate a code [...] Click See access code to display it. You'll
/// just have to communicate it so the user will be able to fill it in when
/// registering to the platform." — "The identifier of a user without email
/// can be his phone number, his internal personnel number or his birthday."
#[test]
fn identifier_invitations_give_an_access_code_typed_at_registration() {
    let p = platform(Policy::default());
    let o = &p.o;
    let admin = o.join("ada@acme.test", "admin", "acct-ada");
    let mark = o.events().len();
    let mut guest_row = by_identifier("VISITOR-7", "Vera", "Visitor");
    guest_row.kind = Some(MemberKind::Guest);
    guest_row.groups = Some(vec![GroupGrant::member(p.sales.id.clone())]);
    let report = o
        .engine
        .invite(
            o.id(),
            &as_member(&admin),
            InviteRequest::new(Recipients::List(vec![
                by_identifier("+33 6 12 34 56 78", "Paul", "Phone"),
                by_identifier("EMP-00042", "Nora", "Number"),
                by_identifier("1990-04-12", "Bea", "Birthday"),
                guest_row,
            ]))
            .groups(vec![GroupGrant::member(p.marketing.id.clone())]),
        )
        .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(report.issued.len(), 4);
    let codes: Vec<String> = report.issued.iter().map(token_of).collect();
    for (i, code) in report.issued.iter().zip(&codes) {
        assert!(i.invitation.is_by_identifier());
        assert_eq!(i.invitation.status, InvitationStatus::Pending);
        assert!(
            i.message_id.is_none(),
            "no email for people without an address"
        );
        // "See access code": ten characters, shown grouped by five.
        assert_eq!(code.len(), 11, "{code}");
        assert_eq!(code.as_bytes()[5], b'-');
        assert!(
            code.chars()
                .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase())
        );
    }
    let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 4, "every invitation has its own code");
    assert_eq!(
        o.events_after(mark)
            .iter()
            .filter(|k| matches!(k, EventKind::InvitationIssued { .. }))
            .count(),
        4
    );

    // No email is queued for them.
    let mailer = RecordingMailer::new();
    assert!(
        o.engine
            .deliver_pending(&mailer, 100)
            .unwrap()
            .sent
            .is_empty()
    );
    assert!(mailer.sent().is_empty());

    // Each person registers with their identifier (typed their own way) and
    // the code they were told (in lowercase, with a space).
    let typed = |code: &str| code.to_lowercase().replace('-', " ");
    let cases = [
        ("+33612345678", 0, "acct-paul", "+33 6 12 34 56 78", "Paul"),
        ("emp00042", 1, "acct-nora", "EMP-00042", "Nora"),
        ("1990.04.12", 2, "acct-bea", "1990-04-12", "Bea"),
    ];
    for (as_typed, i, user_ref, stored, first) in cases {
        let acc = o
            .engine
            .accept_with_code(
                o.id(),
                as_typed,
                &typed(&codes[i]),
                Registration {
                    user_ref: user_ref.into(),
                    ..Registration::default()
                },
            )
            .unwrap();
        assert_eq!(acc.member.contact, Contact::Identifier(stored.into()));
        assert_eq!(acc.member.first_name.as_deref(), Some(first));
        assert_eq!(acc.member.kind, MemberKind::Member);
        assert_eq!(group_ids(&acc.member), vec![p.marketing.id.clone()]);
        assert_eq!(acc.invitation.id, report.issued[i].invitation.id);
        assert_eq!(acc.invitation.status, InvitationStatus::Accepted);
    }
    // The guest by identifier: only the groups invited to.
    let vera = o
        .engine
        .accept_with_code(
            o.id(),
            "visitor-7",
            &codes[3],
            Registration {
                user_ref: "acct-vera".into(),
                ..Registration::default()
            },
        )
        .unwrap()
        .member;
    assert_eq!(vera.kind, MemberKind::Guest);
    assert_eq!(group_ids(&vera), vec![p.sales.id.clone()]);

    assert_eq!(
        o.events_after(mark)
            .iter()
            .filter(|k| matches!(k, EventKind::InvitationAccepted { .. }))
            .count(),
        4
    );
    // A code works once.
    assert!(matches!(
        o.engine
            .accept_with_code(o.id(), "EMP-00042", &codes[1], registration("acct-x")),
        Err(Error::InvalidSecret)
    ));
}

/// Access codes are typed by people, so guessing is limited: wrong codes up
/// to the policy's limit lock the invitation, and the administrator resends
/// it to give a new code.
#[test]
fn wrong_access_codes_lock_the_invitation_and_a_resend_gives_a_new_code() {
    let mut policy = Policy::default();
    policy.access_code_attempts = 3;
    let p = platform(policy);
    let o = &p.o;
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::List(vec![by_identifier(
                "EMP-777", "Sam", "Seven",
            )])),
        )
        .unwrap();
    let inv_id = report.issued[0].invitation.id.clone();
    let code = token_of(&report.issued[0]);
    let wrong = if code == "AAAAA-AAAAA" {
        "BBBBB-BBBBB"
    } else {
        "AAAAA-AAAAA"
    };

    // An identifier nobody was invited with counts nothing.
    let before = snapshot(o);
    assert!(matches!(
        o.engine
            .accept_with_code(o.id(), "EMP-778", &code, registration("acct-sam")),
        Err(Error::InvalidSecret)
    ));
    assert_eq!(snapshot(o), before);

    for attempt in 1..=2u32 {
        let mark = o.events().len();
        let r = o
            .engine
            .accept_with_code(o.id(), "EMP-777", wrong, registration("acct-sam"));
        assert!(matches!(r, Err(Error::InvalidSecret)), "{r:?}");
        let inv = o
            .engine
            .invitation(o.id(), &Actor::System, &inv_id)
            .unwrap();
        assert_eq!(inv.failed_attempts, attempt);
        assert_eq!(inv.status, InvitationStatus::Pending);
        assert_eq!(
            o.events_after(mark),
            vec![EventKind::AccessCodeRejected {
                invitation: inv_id.clone(),
                attempts: attempt,
                locked: false,
            }]
        );
    }
    let mark = o.events().len();
    let r = o
        .engine
        .accept_with_code(o.id(), "EMP-777", wrong, registration("acct-sam"));
    // The same answer as any wrong code (a stranger learns nothing).
    assert!(matches!(r, Err(Error::InvalidSecret)), "{r:?}");
    assert_eq!(
        o.events_after(mark),
        vec![EventKind::AccessCodeRejected {
            invitation: inv_id.clone(),
            attempts: 3,
            locked: true,
        }]
    );
    // Locked for a while, not revoked (issue 10: anyone could otherwise
    // revoke a stranger's invitation with a few guesses).
    let locked = o
        .engine
        .invitation(o.id(), &Actor::System, &inv_id)
        .unwrap();
    assert_eq!(locked.status, InvitationStatus::Pending);
    assert!(locked.locked_until.is_some_and(|t| t > o.clock.now()));
    // Locked: even the right code no longer works, and no member appears.
    let before = snapshot(o);
    assert!(
        o.engine
            .accept_with_code(o.id(), "EMP-777", &code, registration("acct-sam"))
            .is_err()
    );
    assert_eq!(snapshot(o), before);

    // The administrator resends: a new code, a fresh count.
    o.advance(Duration::minutes(11));
    let mark = o.events().len();
    let resent = o.engine.resend(o.id(), &o.owner_actor(), &inv_id).unwrap();
    let new_code = token_of(&resent);
    assert_ne!(new_code, code);
    assert_eq!(resent.invitation.status, InvitationStatus::Pending);
    assert_eq!(resent.invitation.failed_attempts, 0);
    assert_eq!(resent.invitation.send_count, 2);
    assert!(resent.message_id.is_none());
    assert!(matches!(
        o.events_after(mark).as_slice(),
        [EventKind::InvitationResent { invitation, send_count: 2, .. }] if invitation == &inv_id
    ));
    // The old code is dead (and counts as a wrong one); the new one works.
    assert!(matches!(
        o.engine
            .accept_with_code(o.id(), "EMP-777", &code, registration("acct-sam")),
        Err(Error::InvalidSecret)
    ));
    let acc = o
        .engine
        .accept_with_code(o.id(), "emp 777", &new_code, registration("acct-sam"))
        .unwrap();
    assert_eq!(acc.member.contact, Contact::Identifier("EMP-777".into()));
    assert_eq!(acc.invitation.id, inv_id);

    // An invitation an administrator revoked is not "locked": it stays
    // revoked (invite the person again instead).
    let other = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::List(vec![by_identifier(
                "EMP-888", "Tom", "Eight",
            )])),
        )
        .unwrap();
    let other_id = other.issued[0].invitation.id.clone();
    o.engine
        .revoke(o.id(), &o.owner_actor(), &other_id)
        .unwrap();
    o.advance(Duration::minutes(11));
    let before = snapshot(o);
    assert!(matches!(
        o.engine.resend(o.id(), &o.owner_actor(), &other_id),
        Err(Error::InvitationNotOpen {
            status: InvitationStatus::Revoked,
            ..
        })
    ));
    assert_eq!(snapshot(o), before);
}

/// "From the Administration, select the Authorisations section and activate
/// the invitation link. A link will appear. Simply copy this link and
/// communicate it to the users concerned. Be careful, if you deactivate the
/// link, it will no longer be valid [...] If you reactivate the option, a
/// new link will be created."
#[test]
fn the_invitation_link_can_be_activated_copied_deactivated_and_renewed() {
    let p = platform(Policy::default());
    let o = &p.o;
    let member = o.join("mel@acme.test", "member", "acct-mel");
    let spec = || LinkSpec {
        groups: vec![GroupGrant::member(p.marketing.id.clone())],
        ..LinkSpec::default()
    };

    // Switched off by the policy until an administrator authorizes it.
    let before = snapshot(o);
    assert!(matches!(
        o.engine
            .activate_invite_link(o.id(), &o.owner_actor(), spec()),
        Err(Error::Disabled {
            feature: Feature::InviteLink
        })
    ));
    assert_eq!(snapshot(o), before);
    set_policy(o, |p| p.invite_link_enabled = true);
    // Only administrators manage it.
    let before = snapshot(o);
    assert!(matches!(
        o.engine
            .activate_invite_link(o.id(), &as_member(&member), spec()),
        Err(Error::PermissionDenied {
            permission: Permission::ManageInviteLink,
            ..
        })
    ));
    assert_eq!(snapshot(o), before);

    let mark = o.events().len();
    let ActivatedLink { link, url, .. } = o
        .engine
        .activate_invite_link(o.id(), &o.owner_actor(), spec())
        .unwrap();
    let url = url.expose().to_owned();
    assert!(url.starts_with("https://"), "{url}");
    assert!(link.active);
    assert_eq!(link.role, "member");
    assert!(matches!(
        o.events_after(mark).as_slice(),
        [EventKind::InviteLinkActivated { role, groups, .. }] if role == "member" && groups.len() == 1
    ));
    let preview = o.engine.preview_link(&url).unwrap();
    assert_eq!(preview.org_name, "Acme");
    assert_eq!(preview.group_names, vec!["Marketing".to_owned()]);

    // Someone who got the link joins with it.
    let mark = o.events().len();
    let carol = o
        .engine
        .join_by_link(&url, "carol@acme.test", registration("acct-carol"))
        .unwrap();
    assert_eq!(carol.status, MemberStatus::Active);
    assert_eq!(carol.role, "member");
    assert_eq!(group_ids(&carol), vec![p.marketing.id.clone()]);
    assert!(matches!(
        o.events_after(mark).as_slice(),
        [EventKind::MemberJoined { member, via: JoinedVia::InviteLink, .. }] if member == &carol.id
    ));
    assert_eq!(
        o.engine
            .invite_link(o.id(), &o.owner_actor())
            .unwrap()
            .unwrap()
            .uses,
        1
    );

    // Recommended when email invitations do not arrive: joining by the link
    // closes the person's open invitation, and its email is not sent.
    let erin = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("erin@acme.test".into())),
        )
        .unwrap();
    let erin_inv = erin.issued[0].invitation.id.clone();
    let erin_member = o
        .engine
        .join_by_link(
            &url,
            "erin@acme.test",
            Registration {
                // Erin's account has this address verified: a typed address
                // alone may not close someone's invitation.
                verified_email: Some("erin@acme.test".into()),
                ..registration("acct-erin")
            },
        )
        .unwrap();
    let closed = o
        .engine
        .invitation(o.id(), &Actor::System, &erin_inv)
        .unwrap();
    assert_eq!(closed.status, InvitationStatus::Accepted);
    assert_eq!(closed.member_id, Some(erin_member.id.clone()));
    let mailer = RecordingMailer::new();
    assert!(
        o.engine
            .deliver_pending(&mailer, 100)
            .unwrap()
            .sent
            .is_empty()
    );
    assert!(mailer.sent().is_empty());

    // Deactivated: the link is no longer valid.
    let mark = o.events().len();
    o.engine
        .deactivate_invite_link(o.id(), &o.owner_actor())
        .unwrap();
    assert_eq!(o.events_after(mark), vec![EventKind::InviteLinkDeactivated]);
    let before = snapshot(o);
    assert!(matches!(
        o.engine
            .join_by_link(&url, "dan@acme.test", registration("acct-dan")),
        Err(Error::InvalidSecret)
    ));
    assert!(matches!(
        o.engine.preview_link(&url),
        Err(Error::InvalidSecret)
    ));
    assert_eq!(snapshot(o), before);

    // Reactivated: a new link; the old one stays dead.
    let ActivatedLink { url: url2, .. } = o
        .engine
        .activate_invite_link(o.id(), &o.owner_actor(), spec())
        .unwrap();
    let url2 = url2.expose().to_owned();
    assert_ne!(url2, url);
    let before = snapshot(o);
    assert!(matches!(
        o.engine
            .join_by_link(&url, "dan@acme.test", registration("acct-dan")),
        Err(Error::InvalidSecret)
    ));
    assert_eq!(snapshot(o), before);
    let dan = o
        .engine
        .join_by_link(&url2, "dan@acme.test", registration("acct-dan"))
        .unwrap();
    assert_eq!(group_ids(&dan), vec![p.marketing.id.clone()]);
    let activations = o
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::InviteLinkActivated { .. }))
        .count();
    assert_eq!(activations, 2);
}

/// "If authorized by an administrator, the group administrator can invite
/// new members or new guests to join the platform from the group. [...] You
/// will then need to fill in an email address, a first and last name and
/// select the groups you want him/her to join."
#[test]
fn group_administrators_invite_into_their_groups_only_when_authorized() {
    let p = platform(Policy::default());
    let o = &p.o;
    let gina = o.join_with(
        RecipientInput {
            email: Some("gina@acme.test".into()),
            groups: Some(vec![GroupGrant::owner(p.marketing.id.clone())]),
            ..RecipientInput::default()
        },
        "member",
        "acct-gina",
    );
    let plain = o.join_with(
        RecipientInput {
            email: Some("pete@acme.test".into()),
            groups: Some(vec![GroupGrant::member(p.marketing.id.clone())]),
            ..RecipientInput::default()
        },
        "member",
        "acct-pete",
    );
    let gina_actor = as_member(&gina);
    let into = |g: &Group, kind: MemberKind, email: &str| {
        InviteRequest::new(Recipients::List(vec![person(email, "New", "Person")]))
            .kind(kind)
            .groups(vec![GroupGrant::member(g.id.clone())])
    };

    // Not authorized yet.
    let before = snapshot(o);
    let r = o.engine.invite(
        o.id(),
        &gina_actor,
        into(&p.marketing, MemberKind::Member, "new1@acme.test"),
    );
    assert!(
        matches!(
            &r,
            Err(Error::PermissionDenied {
                permission: Permission::InviteMembers,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(snapshot(o), before);

    // An administrator authorizes group administrators.
    let mark = o.events().len();
    set_policy(o, |p| p.group_owners_can_invite = true);
    assert_eq!(
        o.events_after(mark),
        vec![EventKind::PolicyChanged {
            fields: vec!["group_owners_can_invite".into()]
        }]
    );

    let members = o
        .engine
        .invite(
            o.id(),
            &gina_actor,
            into(&p.marketing, MemberKind::Member, "new1@acme.test"),
        )
        .unwrap();
    assert_eq!(members.issued.len(), 1);
    let inv = &members.issued[0].invitation;
    assert_eq!(inv.inviter.as_ref(), Some(&gina.id));
    assert_eq!(inv.first_name.as_deref(), Some("New"));
    assert_eq!(inv.groups, vec![GroupGrant::member(p.marketing.id.clone())]);
    let guests = o
        .engine
        .invite(
            o.id(),
            &gina_actor,
            into(&p.marketing, MemberKind::Guest, "guest1@partner.test"),
        )
        .unwrap();
    assert_eq!(guests.issued.len(), 1);
    assert_eq!(guests.issued[0].invitation.kind, MemberKind::Guest);
    let joined = o
        .engine
        .accept(&token_of(&members.issued[0]), registration("acct-new1"))
        .unwrap()
        .member;
    assert_eq!(group_ids(&joined), vec![p.marketing.id.clone()]);

    // Not into a group they do not administer, not with a role above their
    // own, not into no group at all; and a plain group member still cannot.
    let before = snapshot(o);
    let denied = [
        (
            gina_actor.clone(),
            into(&p.sales, MemberKind::Member, "new2@acme.test"),
        ),
        (
            gina_actor.clone(),
            into(&p.marketing, MemberKind::Member, "new3@acme.test").role("admin"),
        ),
        (
            gina_actor.clone(),
            InviteRequest::new(Recipients::Paste("new4@acme.test".into())),
        ),
        (
            as_member(&plain),
            into(&p.marketing, MemberKind::Member, "new5@acme.test"),
        ),
    ];
    for (actor, req) in denied {
        let r = o.engine.invite(o.id(), &actor, req);
        assert!(matches!(r, Err(Error::PermissionDenied { .. })), "{r:?}");
    }
    assert_eq!(snapshot(o), before);
}

/// "Platform members can invite new users to join the platform from the
/// User directory, if authorized by the administrators. [...] NB: if you
/// don't see the +Invite button, only the platform administrators can
/// invite new users."
#[test]
fn members_invite_from_the_directory_only_when_authorized() {
    let p = platform(Policy::default());
    let o = &p.o;
    let hank = o.join_with(
        RecipientInput {
            email: Some("hank@acme.test".into()),
            groups: Some(vec![GroupGrant::member(p.sales.id.clone())]),
            ..RecipientInput::default()
        },
        "member",
        "acct-hank",
    );
    let hank_actor = as_member(&hank);
    let to_sales = |email: &str| {
        InviteRequest::new(Recipients::List(vec![person(email, "Iris", "Invitee")]))
            .groups(vec![GroupGrant::member(p.sales.id.clone())])
    };

    // No authorization: only administrators invite.
    let before = snapshot(o);
    let r = o
        .engine
        .invite(o.id(), &hank_actor, to_sales("iris@acme.test"));
    match &r {
        Err(Error::PermissionDenied {
            permission,
            context,
            ..
        }) => {
            assert_eq!(*permission, Permission::InviteMembers);
            assert!(
                context
                    .as_deref()
                    .is_some_and(|c| c.contains("only administrators")),
                "{context:?}"
            );
        }
        other => panic!("expected a permission error, got {other:?}"),
    }
    assert_eq!(snapshot(o), before);

    set_policy(o, |p| p.members_can_invite = true);
    let mark = o.events().len();
    let ok = o
        .engine
        .invite(
            o.id(),
            &hank_actor,
            to_sales("iris@acme.test").role("member"),
        )
        .unwrap();
    assert_eq!(ok.issued.len(), 1);
    assert_eq!(ok.issued[0].invitation.inviter.as_ref(), Some(&hank.id));
    assert!(matches!(
        o.events().get(mark).map(|e| &e.actor),
        Some(Actor::Member(id)) if id == &hank.id
    ));
    let mailer = RecordingMailer::new();
    o.engine.deliver_pending(&mailer, 10).unwrap();
    assert_eq!(mailer.sent().len(), 1);
    assert_eq!(
        mailer.sent()[0].inviter_name,
        Some(hank.display_name().into())
    );

    // Members choose the role, within their own reach; members only, into
    // their own groups.
    let before = snapshot(o);
    for req in [
        to_sales("j1@acme.test").role("user_admin"),
        to_sales("j2@acme.test").kind(MemberKind::Guest),
        InviteRequest::new(Recipients::Paste("j3@acme.test".into()))
            .groups(vec![GroupGrant::member(p.marketing.id.clone())]),
    ] {
        let r = o.engine.invite(o.id(), &hank_actor, req);
        assert!(matches!(r, Err(Error::PermissionDenied { .. })), "{r:?}");
    }
    assert_eq!(snapshot(o), before);

    // A deactivated member invites no one.
    o.engine
        .deactivate_member(o.id(), &o.owner_actor(), &hank.id)
        .unwrap();
    let before = snapshot(o);
    let r = o
        .engine
        .invite(o.id(), &hank_actor, to_sales("k@acme.test"));
    assert!(matches!(r, Err(Error::NotAMember { .. })), "{r:?}");
    assert_eq!(snapshot(o), before);
}

/// "Bulk invitations are limited to 500 invitations per Excel file. If your
/// number of invitations to send is over 500, we recommend sending them in
/// multiple waves." (By email and by identifier alike, from the file
/// template.)
#[test]
fn bulk_files_hold_at_most_500_rows_and_larger_lists_go_in_waves() {
    let p = platform(Policy::default());
    let o = &p.o;
    let policy = o.engine.organization(o.id()).unwrap().policy;
    assert_eq!(policy.max_import_rows, 500);
    let row = |i: usize| {
        if i.is_multiple_of(2) {
            format!("user{i:03}@acme.test,,Bulk,User{i},Sales")
        } else {
            format!(",EMP-{i:05},Bulk,User{i},Sales")
        }
    };
    let file = |lines: std::ops::Range<usize>| {
        let mut csv = String::from("Email,Identifier,First name,Last name,Groups\n");
        for i in lines {
            csv.push_str(&row(i));
            csv.push('\n');
        }
        csv.into_bytes()
    };
    let import = |actor: &Actor, bytes: &[u8]| {
        o.engine.import_invitations(
            o.id(),
            actor,
            bytes,
            ImportFormat::Csv,
            ImportDefaults::default(),
        )
    };

    // 501 rows: refused as a whole, nothing stored.
    let before = snapshot(o);
    let r = import(&o.owner_actor(), &file(0..501));
    assert!(
        matches!(
            &r,
            Err(Error::LimitExceeded {
                limit: LimitKind::ImportRows,
                max: 500,
                actual: 501,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(snapshot(o), before, "a refused file stores nothing");

    // Bulk invitation is done from the Administration.
    let mel = o.join("mel@acme.test", "member", "acct-mel");
    let before = snapshot(o);
    let r = import(&as_member(&mel), &file(0..2));
    assert!(matches!(r, Err(Error::PermissionDenied { .. })), "{r:?}");
    assert_eq!(snapshot(o), before);

    // First wave: 500 rows, every one invited into the group of its row.
    let first = import(&o.owner_actor(), &file(0..500)).unwrap();
    assert_eq!(first.issued_count(), 500);
    assert_eq!(
        first.failed_count(),
        0,
        "{:?}",
        first.rejected().collect::<Vec<_>>()
    );
    assert!(
        first
            .batches
            .iter()
            .all(|b| b.issued.len() <= policy.max_batch as usize)
    );
    let mut lines: Vec<usize> = first.issued().map(|i| i.line).collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        (2..502).collect::<Vec<_>>(),
        "one invitation per line"
    );
    for i in first.issued() {
        let inv = &i.issued.invitation;
        assert_eq!(inv.groups, vec![GroupGrant::member(p.sales.id.clone())]);
        assert_eq!(inv.is_by_identifier(), i.issued.message_id.is_none());
        assert!(i.issued.secret.is_some());
    }
    // Second wave: the rest.
    let second = import(&o.owner_actor(), &file(500..501)).unwrap();
    assert_eq!(second.issued_count(), 1);
    assert_eq!(o.invitations(&[InvitationStatus::Pending]).len(), 501);
    let issued_events = o
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::InvitationIssued { .. }))
        .count();
    // Mel's own invitation, then the 501 rows.
    assert_eq!(issued_events, 1 + 501);

    // Only the rows with an address get an email: 251 of them.
    let mailer = RecordingMailer::new();
    let delivery = o.engine.deliver_pending(&mailer, 1000).unwrap();
    assert_eq!(delivery.sent.len(), 251);
    assert_eq!(mailer.sent().len(), 251);

    // Sending the same file again invites no one twice.
    let again = import(&o.owner_actor(), &file(0..3)).unwrap();
    assert_eq!(again.issued_count(), 0);
    assert_eq!(again.failed_count(), 3);
}

/// "If the administration has imposed a professional email domain to invite
/// a member, then you'll only be able to invite users with one of the
/// defined email domains."
#[test]
fn only_professional_email_domains_can_be_invited() {
    let mut policy = Policy::default();
    policy.allowed_domains = vec!["acme.test".into()];
    policy.group_owners_can_invite = true;
    policy.invite_link_enabled = true;
    policy.self_registration = true;
    let p = platform(policy);
    let o = &p.o;

    let mark = o.events().len();
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste(
                "ann@acme.test, bea@gmail.com\ncid@paris.acme.test, dee@acme.test.evil.net".into(),
            )),
        )
        .unwrap();
    let issued: Vec<_> = report
        .issued
        .iter()
        .map(|i| i.invitation.recipient.as_str().to_owned())
        .collect();
    assert_eq!(issued, vec!["ann@acme.test", "cid@paris.acme.test"]);
    let rejected: Vec<_> = report
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.clone()))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (
                1,
                RejectReason::DomainNotAllowed {
                    domain: "gmail.com".into()
                }
            ),
            (
                3,
                RejectReason::DomainNotAllowed {
                    domain: "acme.test.evil.net".into()
                }
            ),
        ]
    );
    assert_eq!(
        o.events_after(mark).len(),
        2,
        "only the issued ones are in the trail"
    );

    // Group administrators are held to the same rule.
    let gina = o.join_with(
        RecipientInput {
            email: Some("gina@acme.test".into()),
            groups: Some(vec![GroupGrant::owner(p.marketing.id.clone())]),
            ..RecipientInput::default()
        },
        "member",
        "acct-gina",
    );
    let before = snapshot(o);
    let r = o
        .engine
        .invite(
            o.id(),
            &as_member(&gina),
            InviteRequest::new(Recipients::Paste("friend@yahoo.test".into()))
                .groups(vec![GroupGrant::member(p.marketing.id.clone())]),
        )
        .unwrap();
    assert!(r.issued.is_empty());
    assert!(matches!(
        r.rejected[0].reason,
        RejectReason::DomainNotAllowed { .. }
    ));
    assert_eq!(snapshot(o), before);

    // People without email are not concerned.
    let by_id = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::List(vec![by_identifier("EMP-1", "Ida", "Id")])),
        )
        .unwrap();
    assert_eq!(by_id.issued.len(), 1);

    // Nor can anyone join by link or register with another domain.
    let ActivatedLink { url, .. } = o
        .engine
        .activate_invite_link(o.id(), &o.owner_actor(), LinkSpec::default())
        .unwrap();
    let before = snapshot(o);
    assert!(matches!(
        o.engine
            .join_by_link(url.expose(), "eve@gmail.com", registration("acct-eve")),
        Err(Error::DomainNotAllowed { .. })
    ));
    assert!(matches!(
        o.engine
            .self_register(o.id(), "eve@gmail.com", registration("acct-eve")),
        Err(Error::DomainNotAllowed { .. })
    ));
    assert_eq!(snapshot(o), before);
    assert!(
        o.engine
            .join_by_link(
                url.expose(),
                "eve@acme.test",
                Registration {
                    // Restricted domains admit verified addresses only.
                    verified_email: Some("eve@acme.test".into()),
                    ..registration("acct-eve")
                }
            )
            .is_ok()
    );
}

/// "NB: you can also allow users to register for themselves on the
/// platform. You will have to authorize it from the administration."
#[test]
fn self_registration_works_only_once_authorized() {
    let p = platform(Policy::default());
    let o = &p.o;
    let before = snapshot(o);
    assert!(matches!(
        o.engine
            .self_register(o.id(), "ivy@acme.test", registration("acct-ivy")),
        Err(Error::Disabled {
            feature: Feature::SelfRegistration
        })
    ));
    assert_eq!(snapshot(o), before);

    // Only an administrator may authorize it.
    let mel = o.join("mel@acme.test", "member", "acct-mel");
    let mut policy = o.engine.organization(o.id()).unwrap().policy;
    policy.self_registration = true;
    let before = snapshot(o);
    assert!(matches!(
        o.engine
            .update_policy(o.id(), &as_member(&mel), policy.clone()),
        Err(Error::PermissionDenied {
            permission: Permission::ManagePolicy,
            ..
        })
    ));
    assert_eq!(snapshot(o), before);
    o.engine
        .update_policy(o.id(), &o.owner_actor(), policy)
        .unwrap();

    let mark = o.events().len();
    let ivy = o
        .engine
        .self_register(o.id(), "ivy@acme.test", registration("acct-ivy"))
        .unwrap();
    assert_eq!(ivy.role, "member");
    assert_eq!(ivy.kind, MemberKind::Member);
    assert_eq!(ivy.status, MemberStatus::Active);
    assert_eq!(group_ids(&ivy), vec![p.everyone.id.clone()]);
    assert!(matches!(
        o.events_after(mark).as_slice(),
        [EventKind::MemberJoined { member, via: JoinedVia::SelfRegistration, .. }] if member == &ivy.id
    ));
    let before = snapshot(o);
    assert!(matches!(
        o.engine
            .self_register(o.id(), "IVY@acme.test", registration("acct-ivy-2")),
        Err(Error::AlreadyMember { member, .. }) if member == ivy.id
    ));
    assert_eq!(snapshot(o), before);
}

/// A request that is wrong as a whole (an unknown group or role, a role
/// above the inviter's) is an error and stores nothing.
#[test]
fn a_wrong_request_changes_nothing() {
    let p = platform(Policy::default());
    let o = &p.o;
    let admin = o.join("ada@acme.test", "admin", "acct-ada");
    let before = snapshot(o);
    let unknown_group = o.engine.invite(
        o.id(),
        &o.owner_actor(),
        InviteRequest::new(Recipients::Paste("x@acme.test".into()))
            .groups(vec![GroupGrant::member("grp_nope".into())]),
    );
    assert!(
        matches!(&unknown_group, Err(Error::UnknownGroup { group }) if group.as_str() == "grp_nope"),
        "{unknown_group:?}"
    );
    let unknown_role = o.engine.invite(
        o.id(),
        &o.owner_actor(),
        InviteRequest::new(Recipients::Paste("x@acme.test".into())).role("wizard"),
    );
    assert!(
        matches!(&unknown_role, Err(Error::InvalidInput { field, .. }) if field == "role"),
        "{unknown_role:?}"
    );
    let above = o.engine.invite(
        o.id(),
        &as_member(&admin),
        InviteRequest::new(Recipients::Paste("x@acme.test".into())).role("owner"),
    );
    assert!(
        matches!(
            &above,
            Err(Error::PermissionDenied {
                permission: Permission::OwnOrganization,
                ..
            })
        ),
        "{above:?}"
    );
    assert_eq!(snapshot(o), before);
    let mailer = RecordingMailer::new();
    assert!(
        o.engine
            .deliver_pending(&mailer, 10)
            .unwrap()
            .sent
            .is_empty()
    );
}

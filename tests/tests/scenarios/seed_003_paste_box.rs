//! Seed 003: onboarding many users from a paste box. Addresses one per line
//! or comma separated, a count of those recognised, one service area (group)
//! and role per batch ("Send more invites" for the next), a confirmation of
//! what was sent and what was not, self-registration from the emailed link
//! (names, mobile, fixed email, 2FA, EULA), and the user statuses Active,
//! Inactive, Pending and Expired (7 days) with resending.

use super::common::{
    Org, as_member, org_with_owner, org_with_policy, registration, token_from_url, token_of,
};
use chrono::Duration;
use enlist::{
    Actor, Contact, Error, EventKind, Group, GroupGrant, Invitation, InvitationQuery,
    InvitationStatus, InviteRequest, MailError, Member, MemberQuery, MemberStatus, NewGroup,
    OutboxStatus, Permission, PermissionSet, Policy, Recipients, RecordingMailer, Registration,
    RejectReason, parse_recipients,
};

/// Everything a failed command must leave as it was.
#[derive(Debug, PartialEq)]
struct Snapshot {
    invitations: Vec<Invitation>,
    members: Vec<Member>,
    events: usize,
}

fn snapshot(o: &Org) -> Snapshot {
    Snapshot {
        invitations: o.invitations(&[]),
        members: members(o, &[]),
        events: o.events().len(),
    }
}

/// Members with these statuses (all, removed included, when empty).
fn members(o: &Org, statuses: &[MemberStatus]) -> Vec<Member> {
    let statuses = if statuses.is_empty() {
        vec![
            MemberStatus::Active,
            MemberStatus::Inactive,
            MemberStatus::Removed,
        ]
    } else {
        statuses.to_vec()
    };
    o.engine
        .list_members(
            o.id(),
            &Actor::System,
            &MemberQuery {
                statuses,
                limit: 1000,
                ..MemberQuery::default()
            },
        )
        .expect("list members")
        .items
}

fn service_area(o: &Org, name: &str) -> Group {
    o.engine
        .create_group(
            o.id(),
            &o.owner_actor(),
            NewGroup {
                name: name.to_owned(),
                ..NewGroup::default()
            },
        )
        .expect("create group")
}

fn paste(text: &str, area: &Group, role: &str) -> InviteRequest {
    InviteRequest::new(Recipients::Paste(text.to_owned()))
        .groups(vec![GroupGrant::member(area.id.clone())])
        .role(role)
}

fn recipients(invs: &[Invitation]) -> Vec<String> {
    let mut r: Vec<String> = invs
        .iter()
        .map(|i| i.recipient.as_str().to_owned())
        .collect();
    r.sort();
    r
}

/// "You can put each email on its own line or separate them with commas.
/// When you enter the emails, the system will count how many it recognises.
/// [...] if you expect to enter 10 but the count shows 9, you know there
/// might be a typo."
#[test]
fn the_box_counts_the_addresses_it_recognises_so_a_typo_shows() {
    let text = "ann@acme.test\nbob@acme.test, cat@acme.test\ndan@acme.test,eve@acme.test\n\
                fay@acme.test\ngus@acme.test, hal@acme.test\nivy@acme.test\njoe.acme.test\n";
    let parsed = parse_recipients(text);
    assert_eq!(parsed.recognized(), 9, "10 typed, one has a typo");
    let invalid: Vec<&str> = parsed.invalid().map(|(e, _)| e.text.as_ref()).collect();
    assert_eq!(invalid, vec!["joe.acme.test"]);
    let (entry, _) = parsed.invalid().next().unwrap();
    assert_eq!(&text[entry.span.start..entry.span.end], "joe.acme.test");
    let first: Vec<&str> = parsed.mailboxes().map(|m| m.address.as_ref()).collect();
    assert_eq!(first.first(), Some(&"ann@acme.test"));
    assert_eq!(first.last(), Some(&"ivy@acme.test"));

    // The same person typed twice counts once.
    let twice = parse_recipients("ann@acme.test, Ann@ACME.test\nbob@acme.test");
    assert_eq!(twice.recognized(), 2);

    // Fixing the typo brings the count to 10.
    assert_eq!(
        parse_recipients(&text.replace("joe.acme.test", "joe@acme.test")).recognized(),
        10
    );

    // The count is what the batch then issues; the typo is reported.
    let o = org_with_owner();
    let area = service_area(&o, "North");
    let report = o
        .engine
        .invite(o.id(), &o.owner_actor(), paste(text, &area, "member"))
        .unwrap();
    assert_eq!(report.issued.len(), parsed.recognized());
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].input, "joe.acme.test");
    assert_eq!(report.rejected[0].index, 9);
    assert!(matches!(
        report.rejected[0].reason,
        RejectReason::InvalidAddress { .. }
    ));
}

/// "Choose the service area and role that they would all have access to."
/// — "This is available to elevated users from the Admin tools menu."
#[test]
fn everyone_in_the_paste_gets_the_chosen_service_area_and_role() {
    let o = org_with_owner();
    let north = service_area(&o, "North");
    o.engine
        .create_group(
            o.id(),
            &o.owner_actor(),
            NewGroup {
                name: "All staff".into(),
                is_default: true,
                ..NewGroup::default()
            },
        )
        .unwrap();
    let role: PermissionSet = [Permission::ViewMembers, Permission::InviteMembers]
        .into_iter()
        .collect();
    o.engine
        .define_role(o.id(), &o.owner_actor(), "coordinator", role)
        .unwrap();

    let mark = o.events().len();
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste(
                "ann@acme.test, bob@acme.test\ncat@acme.test",
                &north,
                "coordinator",
            ),
        )
        .unwrap();
    assert_eq!(report.issued.len(), 3);
    for i in &report.issued {
        assert_eq!(i.invitation.role, "coordinator");
        assert_eq!(
            i.invitation.groups,
            vec![GroupGrant::member(north.id.clone())]
        );
        assert_eq!(i.invitation.batch_id, report.batch_id);
    }
    let issued_events: Vec<_> = o
        .events_after(mark)
        .into_iter()
        .filter_map(|k| match k {
            EventKind::InvitationIssued {
                role,
                groups,
                batch,
                ..
            } => Some((role, groups, batch)),
            _ => None,
        })
        .collect();
    assert_eq!(issued_events.len(), 3);
    assert!(issued_events.iter().all(|(r, g, b)| r == "coordinator"
        && g == &vec![GroupGrant::member(north.id.clone())]
        && b == &report.batch_id));

    let ann = o
        .engine
        .accept(&token_of(&report.issued[0]), registration("acct-ann"))
        .unwrap()
        .member;
    assert_eq!(ann.role, "coordinator");
    assert_eq!(
        ann.groups,
        vec![GroupGrant::member(north.id.clone())],
        "the chosen service area only"
    );

    // A user without elevated rights cannot send invitations.
    let plain = o.join("pat@acme.test", "member", "acct-pat");
    let before = snapshot(&o);
    let r = o.engine.invite(
        o.id(),
        &as_member(&plain),
        InviteRequest::new(Recipients::Paste("zed@acme.test".into())),
    );
    assert!(
        matches!(
            r,
            Err(Error::PermissionDenied {
                permission: Permission::InviteMembers,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(snapshot(&o), before);
}

/// "If you need to add a certain number of users to one service area and a
/// different number to another, first invite all the users for one service
/// area. Then use the Send more invites button to invite the others. You
/// should do the same if the users need different access roles."
#[test]
fn send_more_invites_is_another_batch_for_another_area_or_role() {
    let o = org_with_owner();
    let north = service_area(&o, "North");
    let south = service_area(&o, "South");
    let first = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste("ann@acme.test\nbob@acme.test", &north, "member"),
        )
        .unwrap();
    let more = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste(
                "cat@acme.test, dan@acme.test, bob@acme.test",
                &south,
                "user_admin",
            ),
        )
        .unwrap();
    assert_ne!(first.batch_id, more.batch_id);
    assert_eq!(more.issued.len(), 2);
    assert!(more.issued.iter().all(|i| i.invitation.role == "user_admin"
        && i.invitation.groups == vec![GroupGrant::member(south.id.clone())]));
    // Bob already has an open invitation from the first batch.
    assert_eq!(more.rejected.len(), 1);
    assert_eq!(more.rejected[0].input, "bob@acme.test");
    assert_eq!(
        more.rejected[0].reason,
        RejectReason::AlreadyInvited {
            invitation: first.issued[1].invitation.id.clone()
        }
    );

    // Each batch can be read back on its own.
    let of_batch = |b: &enlist::BatchId| {
        o.engine
            .list_invitations(
                o.id(),
                &o.owner_actor(),
                &InvitationQuery {
                    batch: Some(b.clone()),
                    ..InvitationQuery::default()
                },
            )
            .unwrap()
            .items
    };
    assert_eq!(
        recipients(&of_batch(&first.batch_id)),
        vec!["ann@acme.test", "bob@acme.test"]
    );
    assert_eq!(
        recipients(&of_batch(&more.batch_id)),
        vec!["cat@acme.test", "dan@acme.test"]
    );

    // Everyone is emailed once, in whichever batch.
    let mailer = RecordingMailer::new();
    assert_eq!(
        o.engine.deliver_pending(&mailer, 100).unwrap().sent.len(),
        4
    );
    let mut to: Vec<String> = mailer
        .sent()
        .into_iter()
        .map(|e| e.to.into_string())
        .collect();
    to.sort();
    assert_eq!(
        to,
        vec![
            "ann@acme.test",
            "bob@acme.test",
            "cat@acme.test",
            "dan@acme.test"
        ]
    );
}

/// "Click the 'Invite' button to send invitation links by email to the
/// users you selected. A confirmation screen will then show how many emails
/// were successfully sent. If any email addresses weren't sent an
/// invitation, they will be listed on this screen. This could be because
/// the email was invalid or the user is already part of that organisation
/// (regardless of service area)."
#[test]
fn the_confirmation_counts_what_was_sent_and_lists_who_was_not_invited() {
    let o = org_with_owner();
    let north = service_area(&o, "North");
    let south = service_area(&o, "South");
    // Mia is already a member, in another service area.
    let mia = o.join_with(
        enlist::RecipientInput {
            email: Some("mia@acme.test".into()),
            groups: Some(vec![GroupGrant::member(south.id.clone())]),
            ..enlist::RecipientInput::default()
        },
        "member",
        "acct-mia",
    );

    let mark = o.events().len();
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste(
                "new1@acme.test\nMia@ACME.test\nnot-an-email\nnew2@acme.test, owner@acme.test",
                &north,
                "member",
            ),
        )
        .unwrap();
    assert_eq!(report.total(), 5);
    assert_eq!(
        recipients(
            &report
                .issued
                .iter()
                .map(|i| i.invitation.clone())
                .collect::<Vec<_>>()
        ),
        vec!["new1@acme.test", "new2@acme.test"]
    );
    let not_invited: Vec<(String, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.input.clone(), r.reason.code()))
        .collect();
    assert_eq!(
        not_invited,
        vec![
            ("Mia@ACME.test".to_owned(), "already_member"),
            ("not-an-email".to_owned(), "invalid_address"),
            ("owner@acme.test".to_owned(), "already_member"),
        ]
    );
    assert_eq!(
        report.rejected[0].reason,
        RejectReason::AlreadyMember {
            member: mia.id.clone()
        }
    );
    // The downloadable report has one row per recipient, without secrets.
    let csv = report.to_csv();
    assert_eq!(csv.lines().count(), 6, "{csv}");
    assert_eq!(csv.lines().filter(|l| l.contains(",rejected,")).count(), 3);
    for i in &report.issued {
        assert!(!csv.contains(&token_of(i)));
    }
    // Only the two issued are in the trail.
    assert_eq!(
        o.events_after(mark)
            .iter()
            .filter(|k| matches!(k, EventKind::InvitationIssued { .. }))
            .count(),
        2
    );
    assert_eq!(o.events_after(mark).len(), 2);

    // "How many emails were successfully sent": one fails for now and is
    // retried later; the report says so.
    let mailer = RecordingMailer::new();
    mailer.fail_next([MailError::Temporary("421 try later".into())]);
    let first = o.engine.deliver_pending(&mailer, 100).unwrap();
    assert_eq!(first.sent.len(), 1);
    assert_eq!(first.retrying.len(), 1);
    assert!(first.failed.is_empty());
    assert_eq!(mailer.sent().len(), 1);
    let retried = first.retrying[0].clone();
    assert_eq!(
        o.engine.outbox_message(&retried).unwrap().status,
        OutboxStatus::Queued
    );
    // Not before the backoff.
    assert!(
        o.engine
            .deliver_pending(&mailer, 100)
            .unwrap()
            .sent
            .is_empty()
    );
    o.advance(Duration::minutes(2));
    let second = o.engine.deliver_pending(&mailer, 100).unwrap();
    assert_eq!(second.sent, vec![retried.clone()]);
    let mut to: Vec<String> = mailer
        .sent()
        .into_iter()
        .map(|e| e.to.into_string())
        .collect();
    to.sort();
    assert_eq!(to, vec!["new1@acme.test", "new2@acme.test"]);
    let mail_events: Vec<_> = o
        .events_after(mark)
        .into_iter()
        .filter(|k| {
            matches!(
                k,
                EventKind::EmailSent { .. } | EventKind::EmailFailed { .. }
            )
        })
        .collect();
    assert_eq!(mail_events.len(), 3, "{mail_events:?}");

    // A paste where nothing is valid sends nothing and changes nothing.
    let before = snapshot(&o);
    let none = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste("nobody, new1@acme.test", &north, "member"),
        )
        .unwrap();
    assert!(none.issued.is_empty());
    assert_eq!(none.rejected.len(), 2);
    assert_eq!(snapshot(&o), before);
}

/// "The invited user will get an email with a link to register for the
/// application. They will need to enter the following information: First
/// name, Last name, Mobile number, Email address (this is already filled in
/// and can't be changed), Password. If two-factor authentication (2FA) is
/// turned on for the organization, the user will be asked to set it up
/// [...] After creating their account, the user will need to agree to the
/// terms and conditions (EULA) before they can access the system."
#[test]
fn self_registration_from_the_emailed_link_asks_what_the_policy_requires() {
    let mut policy = Policy::default();
    policy.registration.phone = true;
    policy.require_two_factor = true;
    policy.eula_version = Some("eula-2024-05".into());
    let o = org_with_policy(policy);
    let north = service_area(&o, "North");
    o.engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste("nina@acme.test", &north, "member"),
        )
        .unwrap();
    let mailer = RecordingMailer::new();
    o.engine.deliver_pending(&mailer, 10).unwrap();
    let email = mailer.sent().pop().expect("the invitation email");
    let token = token_from_url(&email.accept_url);

    // The landing page: the address is fixed, the form asks for the rest.
    let preview = o.engine.preview(&token).unwrap();
    assert_eq!(preview.recipient, Contact::Email("nina@acme.test".into()));
    assert_eq!(preview.status, InvitationStatus::Pending);
    assert_eq!(preview.group_names, vec!["North".to_owned()]);
    let needs = &preview.requirements;
    assert!(needs.first_name && needs.last_name && needs.phone && needs.two_factor);
    assert_eq!(needs.eula_version.as_deref(), Some("eula-2024-05"));

    let complete = Registration {
        user_ref: "acct-nina".into(),
        first_name: Some("Nina".into()),
        last_name: Some("Ng".into()),
        phone: Some("+44 7700 900123".into()),
        eula_version: Some("eula-2024-05".into()),
        two_factor_enrolled: true,
        verified_email: Some("NINA@acme.test".into()),
    };
    let before = snapshot(&o);
    let incomplete: Vec<(Registration, Vec<&str>)> = vec![
        (
            Registration {
                phone: None,
                ..complete.clone()
            },
            vec!["phone"],
        ),
        (
            Registration {
                eula_version: None,
                ..complete.clone()
            },
            vec!["eula_version"],
        ),
        (
            Registration {
                eula_version: Some("eula-2023-01".into()),
                ..complete.clone()
            },
            vec!["eula_version"],
        ),
        (
            Registration {
                two_factor_enrolled: false,
                ..complete.clone()
            },
            vec!["two_factor"],
        ),
        (
            Registration {
                user_ref: "acct-nina".into(),
                ..Registration::default()
            },
            vec![
                "first_name",
                "last_name",
                "phone",
                "eula_version",
                "two_factor",
            ],
        ),
    ];
    for (reg, expected) in incomplete {
        match o.engine.accept(&token, reg) {
            Err(Error::RegistrationIncomplete { missing }) => {
                let missing: Vec<&str> = missing.iter().map(|m| m.as_str()).collect();
                assert_eq!(missing, expected)
            }
            other => panic!("expected an incomplete registration, got {other:?}"),
        }
    }
    // The email cannot be changed: an account with another address is refused.
    let other = o.engine.accept(
        &token,
        Registration {
            verified_email: Some("nina.ng@gmail.com".into()),
            ..complete.clone()
        },
    );
    assert!(
        matches!(&other, Err(Error::EmailMismatch { invited, presented })
            if invited == "nina@acme.test" && presented == "nina.ng@gmail.com"),
        "{other:?}"
    );
    assert_eq!(snapshot(&o), before, "refused registrations change nothing");

    let mark = o.events().len();
    let acc = o.engine.accept(&token, complete).unwrap();
    let nina = acc.member;
    assert_eq!(nina.contact, Contact::Email("nina@acme.test".into()));
    assert_eq!(nina.first_name.as_deref(), Some("Nina"));
    assert_eq!(nina.last_name.as_deref(), Some("Ng"));
    assert_eq!(nina.phone.as_deref(), Some("+44 7700 900123"));
    assert_eq!(nina.eula_version.as_deref(), Some("eula-2024-05"));
    assert!(nina.two_factor_enrolled);
    assert_eq!(nina.status, MemberStatus::Active);
    assert_eq!(nina.user_ref.as_deref(), Some("acct-nina"));
    let trail = o.events();
    assert_eq!(trail.len(), mark + 1);
    assert!(matches!(
        (&trail[mark].actor, &trail[mark].kind),
        (Actor::Account(a), EventKind::InvitationAccepted { member, .. })
            if a == "acct-nina" && member == &nina.id
    ));
}

/// "Active: The user has finished registration [...] Inactive: The user has
/// been deactivated [...] You can set a user to inactive by clicking the
/// 'pause' icon. Pending: The user has been invited but hasn't finished
/// registering yet. Expired: The user was invited but didn't complete
/// registration before the invitation link expired. The link is only valid
/// for 7 days."
#[test]
fn users_are_active_inactive_pending_or_expired_after_seven_days() {
    let o = org_with_owner();
    let north = service_area(&o, "North");
    let t0 = o.engine.now();
    let first = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste(
                "ann@acme.test, bob@acme.test, cat@acme.test",
                &north,
                "member",
            ),
        )
        .unwrap();
    let (ann_i, bob_i, cat_i) = (&first.issued[0], &first.issued[1], &first.issued[2]);
    for i in &first.issued {
        assert_eq!(i.invitation.expires_at, Some(t0 + Duration::days(7)));
    }
    let ann = o
        .engine
        .accept(&token_of(ann_i), registration("acct-ann"))
        .unwrap()
        .member;
    o.advance(Duration::days(3));
    let later = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste("dan@acme.test", &north, "member"),
        )
        .unwrap();
    let dan_i = &later.issued[0];

    let status_of = |id: &enlist::InvitationId| {
        o.engine
            .invitation(o.id(), &o.owner_actor(), id)
            .unwrap()
            .status
    };
    // One second before the seventh day ends: still pending.
    o.clock.set(t0 + Duration::days(7) - Duration::seconds(1));
    assert_eq!(status_of(&bob_i.invitation.id), InvitationStatus::Pending);
    assert_eq!(o.invitations(&[InvitationStatus::Expired]).len(), 0);

    // At seven days: expired on read, without any job having run.
    let mark = o.events().len();
    o.clock.set(t0 + Duration::days(7));
    assert_eq!(status_of(&ann_i.invitation.id), InvitationStatus::Accepted);
    assert_eq!(status_of(&bob_i.invitation.id), InvitationStatus::Expired);
    assert_eq!(status_of(&cat_i.invitation.id), InvitationStatus::Expired);
    assert_eq!(status_of(&dan_i.invitation.id), InvitationStatus::Pending);
    assert_eq!(
        recipients(&o.invitations(&[InvitationStatus::Expired])),
        vec!["bob@acme.test", "cat@acme.test"]
    );
    assert_eq!(
        recipients(&o.invitations(&[InvitationStatus::Pending])),
        vec!["dan@acme.test"]
    );
    assert!(o.events_after(mark).is_empty(), "reading changes nothing");

    // The expired link no longer registers anyone; the page says why.
    let before = snapshot(&o);
    let r = o.engine.accept(&token_of(cat_i), registration("acct-cat"));
    assert!(
        matches!(&r, Err(Error::InvitationExpired { invitation, expired_at })
            if invitation == &cat_i.invitation.id && *expired_at == t0 + Duration::days(7)),
        "{r:?}"
    );
    assert_eq!(
        o.engine.preview(&token_of(cat_i)).unwrap().status,
        InvitationStatus::Expired
    );
    assert_eq!(snapshot(&o), before);

    // A periodic job persists the expiry, once, with one event each.
    assert_eq!(o.engine.expire_due(o.engine.now()).unwrap(), 2);
    let expired: Vec<_> = o
        .events()
        .into_iter()
        .skip(mark)
        .map(|e| (e.actor, e.kind))
        .collect();
    assert_eq!(expired.len(), 2);
    for (actor, kind) in &expired {
        assert_eq!(actor, &Actor::System);
        assert!(matches!(kind, EventKind::InvitationExpired { invitation }
            if invitation == &bob_i.invitation.id || invitation == &cat_i.invitation.id));
    }
    assert_eq!(o.engine.expire_due(o.engine.now()).unwrap(), 0);
    assert_eq!(o.events().len(), mark + 2);
    assert_eq!(status_of(&bob_i.invitation.id), InvitationStatus::Expired);

    // The pause icon: Ann becomes inactive, and can no longer act.
    let mel = o.join("mel@acme.test", "member", "acct-mel");
    let before = snapshot(&o);
    assert!(matches!(
        o.engine
            .deactivate_member(o.id(), &as_member(&mel), &ann.id),
        Err(Error::PermissionDenied {
            permission: Permission::ManageMembers,
            ..
        })
    ));
    assert_eq!(snapshot(&o), before);
    let mark = o.events().len();
    let paused = o
        .engine
        .deactivate_member(o.id(), &o.owner_actor(), &ann.id)
        .unwrap();
    assert_eq!(paused.status, MemberStatus::Inactive);
    assert_eq!(
        o.events_after(mark),
        vec![EventKind::MemberStatusChanged {
            member: ann.id.clone(),
            from: MemberStatus::Active,
            to: MemberStatus::Inactive,
        }]
    );
    assert!(
        o.engine
            .list_members(o.id(), &as_member(&ann), &MemberQuery::default())
            .is_err()
    );
    let inactive: Vec<_> = members(&o, &[MemberStatus::Inactive])
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(inactive, vec![ann.id.clone()]);
    assert!(
        members(&o, &[MemberStatus::Active])
            .iter()
            .all(|m| m.id != ann.id)
    );
    // And back.
    let back = o
        .engine
        .reactivate_member(o.id(), &o.owner_actor(), &ann.id)
        .unwrap();
    assert_eq!(back.status, MemberStatus::Active);
}

/// "If a user can't find their invite email or their link has expired, you
/// can resend the invitation by reclicking the paper plane icon on the
/// user's table."
#[test]
fn resending_an_expired_invitation_makes_a_new_link_and_kills_the_old_one() {
    let o = org_with_owner();
    let north = service_area(&o, "North");
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste("olga@acme.test\npia@acme.test", &north, "member"),
        )
        .unwrap();
    // One email goes out (the first due: the two are queued at the same
    // time, so the first by message id, whose digits after the time are
    // random); call its invitee Olga. The other, Pia's, is still queued
    // when the link expires.
    let mailer = RecordingMailer::new();
    let first = o.engine.deliver_pending(&mailer, 1).unwrap();
    let (olga, pia) = if first.sent == vec![report.issued[0].message_id.clone().unwrap()] {
        (&report.issued[0], &report.issued[1])
    } else {
        (&report.issued[1], &report.issued[0])
    };
    assert_eq!(first.sent, vec![olga.message_id.clone().unwrap()]);
    let olga_email = mailer.sent()[0].to.clone();
    assert_eq!(olga_email, olga.invitation.recipient_key);
    let old_url = mailer.sent()[0].accept_url.clone();

    o.advance(Duration::days(8));
    assert_eq!(o.engine.expire_due(o.engine.now()).unwrap(), 2);
    // Pia's unsent email is dropped with its dead link.
    let pia_msg = o
        .engine
        .outbox_message(pia.message_id.as_ref().unwrap())
        .unwrap();
    assert_eq!(pia_msg.status, OutboxStatus::Superseded);
    assert!(!pia_msg.email.accept_url.contains(&token_of(pia)));
    assert!(
        o.engine
            .deliver_pending(&mailer, 100)
            .unwrap()
            .sent
            .is_empty()
    );

    // Only someone who may manage invitations resends.
    let mel = o.join("mel@acme.test", "member", "acct-mel");
    let before = snapshot(&o);
    assert!(matches!(
        o.engine
            .resend(o.id(), &as_member(&mel), &olga.invitation.id),
        Err(Error::PermissionDenied { .. })
    ));
    assert_eq!(snapshot(&o), before);

    let mark = o.events().len();
    let resent = o
        .engine
        .resend(o.id(), &o.owner_actor(), &olga.invitation.id)
        .unwrap();
    assert_eq!(resent.invitation.status, InvitationStatus::Pending);
    assert_eq!(resent.invitation.send_count, 2);
    assert_eq!(
        resent.invitation.expires_at,
        Some(o.engine.now() + Duration::days(7))
    );
    assert_eq!(
        o.events_after(mark),
        vec![EventKind::InvitationResent {
            invitation: olga.invitation.id.clone(),
            send_count: 2,
            expires_at: o.engine.now() + Duration::days(7),
        }]
    );
    let resent_pia = o
        .engine
        .resend(o.id(), &o.owner_actor(), &pia.invitation.id)
        .unwrap();

    // The new emails go out, with new links.
    let second = o.engine.deliver_pending(&mailer, 100).unwrap();
    assert_eq!(second.sent.len(), 2);
    let sent = mailer.sent();
    assert_eq!(sent.len(), 3);
    let new_olga = sent.iter().skip(1).find(|e| e.to == olga_email).unwrap();
    assert_ne!(new_olga.accept_url, old_url);
    assert_eq!(token_from_url(&new_olga.accept_url), token_of(&resent));

    // The old link is dead; the new one registers Olga.
    let before = snapshot(&o);
    assert!(matches!(
        o.engine
            .accept(&token_from_url(&old_url), registration("acct-olga")),
        Err(Error::InvalidSecret)
    ));
    assert!(matches!(
        o.engine.accept(&token_of(pia), registration("acct-pia")),
        Err(Error::InvalidSecret)
    ));
    assert_eq!(snapshot(&o), before);
    let acc = o
        .engine
        .accept(
            &token_from_url(&new_olga.accept_url),
            registration("acct-olga"),
        )
        .unwrap();
    assert_eq!(acc.invitation.id, olga.invitation.id);
    assert_eq!(
        acc.member.groups,
        vec![GroupGrant::member(north.id.clone())]
    );
    assert!(
        o.engine
            .accept(&token_of(&resent_pia), registration("acct-pia"))
            .is_ok()
    );
}

/// Resending a pending invitation ("can't find their invite email") is
/// allowed after the policy's cooldown and up to its cap.
#[test]
fn resending_a_pending_invitation_respects_the_cooldown_and_the_cap() {
    let mut policy = Policy::default();
    policy.resend_cap = 2;
    let o = org_with_policy(policy);
    let north = service_area(&o, "North");
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste("quinn@acme.test", &north, "member"),
        )
        .unwrap();
    let id = report.issued[0].invitation.id.clone();
    let sent_at = o.engine.now();

    let before = snapshot(&o);
    let r = o.engine.resend(o.id(), &o.owner_actor(), &id);
    assert!(
        matches!(&r, Err(Error::ResendTooSoon { retry_after, .. })
            if *retry_after == sent_at + Duration::minutes(10)),
        "{r:?}"
    );
    assert_eq!(snapshot(&o), before);

    o.advance(Duration::minutes(10));
    let resent = o.engine.resend(o.id(), &o.owner_actor(), &id).unwrap();
    assert_ne!(token_of(&resent), token_of(&report.issued[0]));
    let mailer = RecordingMailer::new();
    assert_eq!(
        o.engine.deliver_pending(&mailer, 100).unwrap().sent.len(),
        1,
        "the first, unsent email was replaced by the new one"
    );
    assert_eq!(
        token_from_url(&mailer.sent()[0].accept_url),
        token_of(&resent)
    );

    o.advance(Duration::hours(1));
    let before = snapshot(&o);
    let r = o.engine.resend(o.id(), &o.owner_actor(), &id);
    assert!(
        matches!(
            &r,
            Err(Error::LimitExceeded {
                limit: enlist::LimitKind::ResendCap,
                max: 2,
                actual: 3,
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(snapshot(&o), before);
}

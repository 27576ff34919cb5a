//! Seed 000 — Traqspera, "Invite Users From Spectrum": a guided assistant
//! that invites employees of an HR system (select a company, select the
//! employees who are not users yet, assign roles one by one or in bulk,
//! review "Invitations to send" against "Invitation errors", send, then read
//! the "Invitations Report" and the "Errors Report").
//!
//! Mapping: a company is an organization; an HR employee is a
//! [`RecipientInput`] row of a [`Recipients::List`] (names, email if on file,
//! role, license type); the review step is a staged batch
//! ([`InviteRequest::staged`]) sent with [`Enlist::send_staged`]; the
//! reports are the [`InviteReport`] and its CSV download; "Invited" in the
//! System Access column is a pending invitation.

use super::common::*;
use enlist::*;
use std::collections::BTreeMap;

/// One row of the HR system's employee list.
struct Employee {
    first: &'static str,
    last: &'static str,
    email: Option<&'static str>,
}

const fn emp(first: &'static str, last: &'static str, email: Option<&'static str>) -> Employee {
    Employee { first, last, email }
}

/// The assistant's row for an employee: names and email as pulled from HR.
fn row(e: &Employee) -> RecipientInput {
    RecipientInput {
        email: e.email.map(str::to_owned),
        first_name: Some(e.first.to_owned()),
        last_name: Some(e.last.to_owned()),
        ..RecipientInput::default()
    }
}

fn row_with(e: &Employee, role: Option<&str>, license: Option<&str>) -> RecipientInput {
    RecipientInput {
        role: role.map(str::to_owned),
        license_type: license.map(str::to_owned),
        ..row(e)
    }
}

/// A portal with two license types ("full": 10 seats, "field": 2 seats)
/// and an administrator who runs the assistant.
fn portal() -> (Org, Member) {
    let mut policy = Policy::default();
    policy.seat_limits.insert("full".into(), 10);
    policy.seat_limits.insert("field".into(), 2);
    let o = org_with_policy(policy);
    let admin = o.join("admin@acme.test", "admin", "acct-admin");
    (o, admin)
}

fn reject_codes(report: &InviteReport) -> Vec<(usize, &'static str)> {
    report
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.code()))
        .collect()
}

fn issued_recipients(report: &InviteReport) -> Vec<String> {
    report
        .issued
        .iter()
        .map(|i| i.invitation.recipient.as_str().to_owned())
        .collect()
}

fn usage_by_type(o: &Org, actor: &Actor) -> BTreeMap<String, LicenseUsage> {
    o.engine
        .license_usage(o.id(), actor)
        .unwrap()
        .into_iter()
        .map(|u| (u.license_type.clone(), u))
        .collect()
}

/// "The User Management page opens showing a list of all users currently in
/// the system and a summary of license usage by license type."
#[test]
fn user_management_lists_users_and_license_usage_by_type() {
    let (o, admin) = portal();
    let full = |email| RecipientInput {
        license_type: Some("full".into()),
        ..RecipientInput::email(email)
    };
    o.join_with(full("kim@acme.test"), "member", "acct-kim");
    o.join_with(full("lee@acme.test"), "member", "acct-lee");
    o.join_with(
        RecipientInput {
            license_type: Some("field".into()),
            ..RecipientInput::email("max@acme.test")
        },
        "member",
        "acct-max",
    );
    let pending = o
        .engine
        .invite(
            o.id(),
            &as_member(&admin),
            InviteRequest::new(Recipients::List(vec![RecipientInput::email(
                "ned@acme.test",
            )]))
            .license_type("field"),
        )
        .unwrap();
    assert_eq!(pending.issued.len(), 1);

    let users = o
        .engine
        .list_members(o.id(), &as_member(&admin), &MemberQuery::default())
        .unwrap();
    let emails: Vec<&str> = users.items.iter().map(|m| m.contact.as_str()).collect();
    assert_eq!(
        emails,
        [
            "admin@acme.test",
            "kim@acme.test",
            "lee@acme.test",
            "max@acme.test",
            "owner@acme.test"
        ]
    );

    let usage = usage_by_type(&o, &as_member(&admin));
    assert_eq!(
        (
            usage["full"].used,
            usage["full"].pending,
            usage["full"].limit
        ),
        (2, 0, Some(10))
    );
    assert_eq!(
        (
            usage["field"].used,
            usage["field"].pending,
            usage["field"].limit
        ),
        (1, 1, Some(2))
    );
    assert_eq!(usage["field"].available(true), Some(0));
    // The owner and the admin hold the default license, which has no limit.
    assert_eq!(
        (usage[DEFAULT_LICENSE].used, usage[DEFAULT_LICENSE].limit),
        (2, None)
    );
}

/// "If you have multiple companies in your enterprise, the Select Company
/// dropdown field displays as step 1 ... Select the company with the users
/// you want to invite."
#[test]
fn select_company_invites_into_that_company_only() {
    let (o, admin) = portal();
    let CreatedOrganization {
        organization: paving,
        owner: paving_owner,
        ..
    } = o
        .engine
        .create_organization(NewOrganization::new(
            "Acme Paving",
            OWNER_REF,
            "owner@paving.test",
        ))
        .unwrap();
    let jo = emp("Jo", "Field", Some("jo@acme.test"));

    let report = o
        .engine
        .invite(
            &paving.id,
            &as_member(&paving_owner),
            InviteRequest::new(Recipients::List(vec![row(&jo)])),
        )
        .unwrap();
    assert_eq!(issued_recipients(&report), ["jo@acme.test"]);
    assert_eq!(report.issued[0].invitation.org_id, paving.id);
    assert!(
        o.invitations(&[])
            .iter()
            .all(|i| i.recipient.as_str() != "jo@acme.test"),
        "the other company got nothing"
    );

    // Uniqueness is per company: the same employee may be invited to both.
    let again = o
        .engine
        .invite(
            o.id(),
            &as_member(&admin),
            InviteRequest::new(Recipients::List(vec![row(&jo)])),
        )
        .unwrap();
    assert_eq!(issued_recipients(&again), ["jo@acme.test"]);

    // An administrator of one company is nobody in the other.
    let err = o
        .engine
        .invite(
            &paving.id,
            &as_member(&admin),
            InviteRequest::new(Recipients::List(vec![row(&emp(
                "Al",
                "Other",
                Some("al@acme.test"),
            ))])),
        )
        .unwrap_err();
    assert!(matches!(err, Error::NotAMember { .. }), "{err:?}");
    let paving_invites = o
        .engine
        .list_invitations(&paving.id, &Actor::System, &InvitationQuery::default())
        .unwrap();
    assert_eq!(paving_invites.items.len(), 1);
}

/// "The Spectrum Employee List displays, showing all active employees in
/// Spectrum, who are not set up as users in Traqspera."
#[test]
fn only_employees_who_are_not_users_yet_get_invitations() {
    let (o, admin) = portal();
    let a = as_member(&admin);
    o.join("ann@acme.test", "member", "acct-ann");
    let cid = o.join("cid@acme.test", "member", "acct-cid");
    o.engine.remove_member(o.id(), &a, &cid.id).unwrap();
    o.engine
        .invite(
            o.id(),
            &a,
            InviteRequest::new(Recipients::List(vec![RecipientInput::email(
                "bob@acme.test",
            )])),
        )
        .unwrap();

    // The host builds the list by asking who is a user already.
    let is_user = |email: &str| {
        !o.engine
            .list_members(
                o.id(),
                &a,
                &MemberQuery {
                    search: Some(email.to_owned()),
                    ..MemberQuery::default()
                },
            )
            .unwrap()
            .items
            .is_empty()
    };
    assert!(is_user("ann@acme.test"));
    assert!(!is_user("cid@acme.test"), "a removed user is not a user");
    assert!(!is_user("dee@acme.test"));

    // Even if the host does not filter, nobody is invited twice.
    let staff = [
        emp("Ann", "User", Some("ann@acme.test")),
        emp("Bob", "Invited", Some("bob@acme.test")),
        emp("Cid", "Removed", Some("cid@acme.test")),
        emp("Dee", "New", Some("dee@acme.test")),
    ];
    let report = o
        .engine
        .invite(
            o.id(),
            &a,
            InviteRequest::new(Recipients::List(staff.iter().map(row).collect())),
        )
        .unwrap();
    assert_eq!(
        reject_codes(&report),
        [(0, "already_member"), (1, "already_invited")]
    );
    assert_eq!(
        issued_recipients(&report),
        ["cid@acme.test", "dee@acme.test"]
    );
}

/// "Assign the appropriate role to the selected users, or leave their
/// default role as shown. ... You can reassign user roles individually or in
/// bulk." — and "A user's assigned role determines what that user can see
/// and do in your portal."
#[test]
fn roles_are_assigned_individually_in_bulk_or_left_default() {
    let (o, admin) = portal();
    let a = as_member(&admin);
    let alice = emp("Alice", "Lead", Some("alice@acme.test"));
    let ben = emp("Ben", "Clerk", Some("ben@acme.test"));
    let cara = emp("Cara", "Clerk", Some("cara@acme.test"));
    let dan = emp("Dan", "Crew", Some("dan@acme.test"));
    // Alice gets Admin from her own Role dropdown; Ben and Cara are selected
    // and given User Admin with "Change Role"; Dan keeps the default.
    let rows = vec![
        row_with(&alice, Some("admin"), None),
        row_with(&ben, Some("user_admin"), None),
        row_with(&cara, Some("user_admin"), None),
        row(&dan),
    ];
    let report = o
        .engine
        .invite(o.id(), &a, InviteRequest::new(Recipients::List(rows)))
        .unwrap();
    let roles: Vec<(&str, &str)> = report
        .issued
        .iter()
        .map(|i| (i.invitation.recipient.as_str(), i.invitation.role.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("alice@acme.test", "admin"),
            ("ben@acme.test", "user_admin"),
            ("cara@acme.test", "user_admin"),
            ("dan@acme.test", "member"),
        ]
    );

    // A batch role is the bulk default; a row's own role wins over it.
    let bulk = o
        .engine
        .invite(
            o.id(),
            &a,
            InviteRequest::new(Recipients::List(vec![
                row(&emp("Eve", "Ops", Some("eve@acme.test"))),
                row_with(
                    &emp("Fay", "Ops", Some("fay@acme.test")),
                    Some("member"),
                    None,
                ),
            ]))
            .role("user_admin"),
        )
        .unwrap();
    let bulk_roles: Vec<&str> = bulk
        .issued
        .iter()
        .map(|i| i.invitation.role.as_str())
        .collect();
    assert_eq!(bulk_roles, ["user_admin", "member"]);

    // The role decides what the new user can do.
    let alice_m = accept(&o.engine, &token_of(&report.issued[0]), "acct-alice").member;
    let dan_m = accept(&o.engine, &token_of(&report.issued[3]), "acct-dan").member;
    assert_eq!(alice_m.role, "admin");
    assert_eq!(dan_m.role, "member");
    let group = |name: &str| NewGroup {
        name: name.into(),
        ..NewGroup::default()
    };
    o.engine
        .create_group(o.id(), &as_member(&alice_m), group("Accounting"))
        .unwrap();
    let err = o
        .engine
        .create_group(o.id(), &as_member(&dan_m), group("Crew"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                permission: Permission::ManageGroups,
                ..
            }
        ),
        "{err:?}"
    );

    // Nobody hands out a role above their own: an admin cannot make an
    // owner, and the whole batch is refused with nothing stored.
    let before_events = o.events().len();
    let before_invites = o.invitations(&[]).len();
    let err = o
        .engine
        .invite(
            o.id(),
            &a,
            InviteRequest::new(Recipients::List(vec![
                row(&emp("Gus", "Ok", Some("gus@acme.test"))),
                row_with(
                    &emp("Hal", "Boss", Some("hal@acme.test")),
                    Some("owner"),
                    None,
                ),
            ])),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                permission: Permission::OwnOrganization,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(o.events().len(), before_events);
    assert_eq!(o.invitations(&[]).len(), before_invites);
}

/// "A summary page displays, showing the list of Invitations to send and
/// Invitation errors ... Invitation errors: Lists the users whose invitations
/// cannot be sent because they do not have an email address on file." Then
/// "Select Send in the lower right of the page."
#[test]
fn review_shows_invitations_to_send_and_errors_before_anything_is_sent() {
    let (o, admin) = portal();
    let a = as_member(&admin);
    let staff = [
        emp("Ada", "Ames", Some("ada@acme.test")),
        emp("Eve", "Nomail", None),
        emp("Ike", "Ito", Some("ike@acme.test")),
        emp("Uma", "Uno", Some("uma@acme.test")),
    ];
    let mark = o.events().len();
    let review = o
        .engine
        .invite(
            o.id(),
            &a,
            InviteRequest::new(Recipients::List(staff.iter().map(row).collect())).staged(),
        )
        .unwrap();

    // Invitations to send: names, emails and roles, nothing sent yet.
    let to_send: Vec<(String, Option<String>, String, InvitationStatus)> = review
        .issued
        .iter()
        .map(|i| {
            (
                i.invitation.recipient.as_str().to_owned(),
                i.invitation.first_name.clone(),
                i.invitation.role.to_string(),
                i.invitation.status,
            )
        })
        .collect();
    assert_eq!(
        to_send,
        [
            (
                "ada@acme.test".to_owned(),
                Some("Ada".to_owned()),
                "member".to_owned(),
                InvitationStatus::Staged
            ),
            (
                "ike@acme.test".to_owned(),
                Some("Ike".to_owned()),
                "member".to_owned(),
                InvitationStatus::Staged
            ),
            (
                "uma@acme.test".to_owned(),
                Some("Uma".to_owned()),
                "member".to_owned(),
                InvitationStatus::Staged
            ),
        ]
    );
    assert!(
        review
            .issued
            .iter()
            .all(|i| i.secret.is_none() && i.message_id.is_none())
    );
    // Invitation errors: the employee without an email on file.
    assert_eq!(review.rejected.len(), 1);
    assert_eq!(review.rejected[0].index, 1);
    assert_eq!(review.rejected[0].input, "Eve Nomail");
    assert_eq!(review.rejected[0].reason, RejectReason::MissingContact);

    let staged_events = o.events_after(mark);
    assert_eq!(staged_events.len(), 3);
    assert!(
        staged_events
            .iter()
            .all(|e| matches!(e, EventKind::InvitationStaged { .. }))
    );
    let mailer = RecordingMailer::new();
    assert!(
        o.engine
            .deliver_pending(&mailer, 100)
            .unwrap()
            .sent
            .is_empty()
    );
    assert!(mailer.sent().is_empty(), "nothing leaves before Send");

    // Send.
    let ids: Vec<InvitationId> = review
        .issued
        .iter()
        .map(|i| i.invitation.id.clone())
        .collect();
    let mark = o.events().len();
    let sent = o.engine.send_staged(o.id(), &a, &ids).unwrap();
    assert_eq!(sent.results.len(), 3);
    for (outcome, id) in sent.results.iter().zip(&ids) {
        match outcome {
            SendOutcome::Sent { issued: i } => {
                assert_eq!(&i.invitation.id, id);
                assert_eq!(i.invitation.status, InvitationStatus::Pending);
                assert!(i.secret.is_some() && i.message_id.is_some());
            }
            other => panic!("not sent: {other:?}"),
        }
    }
    let sent_events = o.events_after(mark);
    assert_eq!(sent_events.len(), 3);
    assert!(
        sent_events
            .iter()
            .all(|e| matches!(e, EventKind::InvitationSent { .. }))
    );
    let delivered = o.engine.deliver_pending(&mailer, 100).unwrap();
    assert_eq!(delivered.sent.len(), 3);
    let mut to: Vec<String> = mailer
        .sent()
        .into_iter()
        .map(|m| m.to.into_string())
        .collect();
    to.sort();
    assert_eq!(to, ["ada@acme.test", "ike@acme.test", "uma@acme.test"]);
}

/// "Invitations Report: Lists the users whose invitations were sent
/// successfully. These users will show a status of Invited ... Errors
/// Report: Lists the users whose invitations cannot be sent due to errors
/// with their email address. Users must have a unique email address on
/// file." — "You can select Download Report in either of these sections."
#[test]
fn send_produces_invitations_and_errors_reports_with_download() {
    let (o, admin) = portal();
    let a = as_member(&admin);
    o.join("ivy@acme.test", "member", "acct-ivy");
    // One "field" seat of two is taken.
    o.join_with(
        RecipientInput {
            license_type: Some("field".into()),
            ..RecipientInput::email("fig@acme.test")
        },
        "member",
        "acct-fig",
    );
    let rows = vec![
        row_with(
            &emp("Ada", "Ames", Some("ada@acme.test")),
            None,
            Some("full"),
        ),
        row(&emp("Frank", "Nomail", None)),
        row(&emp("Gina", "Share", Some("shared@acme.test"))),
        row(&emp("Hank", "Share", Some("Shared@Acme.test"))),
        row(&emp("Ivy", "Again", Some("ivy@acme.test"))),
        row(&emp("Ivan", "Typo", Some("ivan@@acme.test"))),
        row_with(
            &emp("Joe", "Field", Some("joe@acme.test")),
            None,
            Some("field"),
        ),
        row_with(
            &emp("Kay", "Field", Some("kay@acme.test")),
            None,
            Some("field"),
        ),
    ];
    let mark = o.events().len();
    let report = o
        .engine
        .invite(o.id(), &a, InviteRequest::new(Recipients::List(rows)))
        .unwrap();

    // Invitations Report.
    assert_eq!(
        issued_recipients(&report),
        ["ada@acme.test", "shared@acme.test", "joe@acme.test"]
    );
    assert!(
        report
            .issued
            .iter()
            .all(|i| i.invitation.status == InvitationStatus::Pending)
    );
    assert_eq!(report.issued[0].invitation.license_type, "full");
    // Errors Report.
    assert_eq!(
        reject_codes(&report),
        [
            (1, "missing_contact"),
            (3, "duplicate_in_batch"),
            (4, "already_member"),
            (5, "invalid_address"),
            (7, "no_seat_left"),
        ]
    );
    assert_eq!(
        report.rejected[1].reason,
        RejectReason::DuplicateInBatch { first_index: 2 }
    );
    assert_eq!(
        report.rejected[4].reason,
        RejectReason::NoSeatLeft {
            license_type: "field".into(),
            limit: 2
        }
    );
    assert_eq!(report.total(), 8);

    // Download: one line per employee after the header, in input order, and
    // no secret in it.
    let csv = report.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "index,recipient,status,invitation_id,reason_code,reason,warnings"
    );
    assert_eq!(lines.len(), 1 + report.total());
    assert!(lines[1].starts_with("0,ada@acme.test,pending,inv_"));
    assert!(lines[2].starts_with("1,Frank Nomail,rejected,,missing_contact,"));
    assert!(lines[8].starts_with("7,kay@acme.test,rejected,,no_seat_left,"));
    for i in &report.issued {
        let token = token_of(i);
        let random = token.rsplit_once('.').unwrap().1;
        assert!(!csv.contains(random), "the report must not leak a token");
    }

    // One audit event per invitation, none for the errors.
    let events = o.events_after(mark);
    assert_eq!(events.len(), report.issued.len());
    assert!(
        events
            .iter()
            .all(|e| matches!(e, EventKind::InvitationIssued { .. }))
    );

    // "Invited" on the User Management page.
    let mut invited: Vec<String> = o
        .invitations(&[InvitationStatus::Pending])
        .into_iter()
        .map(|i| i.recipient.as_str().to_owned())
        .collect();
    invited.sort();
    assert_eq!(
        invited,
        ["ada@acme.test", "joe@acme.test", "shared@acme.test"]
    );
    let usage = usage_by_type(&o, &a);
    assert_eq!((usage["field"].used, usage["field"].pending), (1, 1));
    assert_eq!((usage["full"].used, usage["full"].pending), (0, 1));
}

/// "This sends an email to the selected users with valid email addresses,
/// inviting them to Traqspera." — "The email address you enter must be the
/// one they use for their Trimble ID."
#[test]
fn invitation_emails_arrive_and_their_link_makes_the_user() {
    let (o, admin) = portal();
    let a = as_member(&admin);
    let report = o
        .engine
        .invite(
            o.id(),
            &a,
            InviteRequest::new(Recipients::List(vec![
                row_with(
                    &emp("Jo", "Jones", Some("jo@acme.test")),
                    Some("user_admin"),
                    Some("full"),
                ),
                row(&emp("Lu", "Lane", Some("lu@acme.test"))),
            ])),
        )
        .unwrap();
    assert_eq!(report.issued.len(), 2);

    let mailer = RecordingMailer::new();
    let delivery = o.engine.deliver_pending(&mailer, 100).unwrap();
    assert_eq!(delivery.sent.len(), 2);
    assert!(delivery.failed.is_empty() && delivery.retrying.is_empty());
    let mail = mailer.sent();
    let jo_mail = mail.iter().find(|m| m.to == "jo@acme.test").unwrap();
    assert_eq!(jo_mail.to_name.as_deref(), Some("Jo Jones"));
    assert_eq!(jo_mail.org_name, "Acme");
    assert!(jo_mail.text_body.contains(&jo_mail.accept_url));
    assert_eq!(
        jo_mail.expires_at,
        report.issued[0].invitation.expires_at.unwrap()
    );
    let token = token_from_url(&jo_mail.accept_url);
    assert_eq!(token, token_of(&report.issued[0]));

    // The account must be the one of the invited address.
    let mut wrong = registration("acct-jo");
    wrong.verified_email = Some("jo.private@mail.test".into());
    let err = o.engine.accept(&token, wrong).unwrap_err();
    assert!(matches!(err, Error::EmailMismatch { .. }), "{err:?}");
    assert_eq!(
        o.engine
            .invitation(o.id(), &a, &report.issued[0].invitation.id)
            .unwrap()
            .status,
        InvitationStatus::Pending
    );

    let mut right = registration("acct-jo");
    right.verified_email = Some("Jo@Acme.test".into());
    let joined = o.engine.accept(&token, right).unwrap();
    assert_eq!(joined.member.contact.as_str(), "jo@acme.test");
    assert_eq!(joined.member.role, "user_admin");
    assert_eq!(joined.member.license_type, "full");
    assert_eq!(joined.member.status, MemberStatus::Active);
    assert_eq!(joined.invitation.status, InvitationStatus::Accepted);
    assert_eq!(
        joined.invitation.member_id.as_ref(),
        Some(&joined.member.id)
    );

    // Delivered once, never again; the other invitee is still "Invited".
    assert!(
        o.engine
            .deliver_pending(&mailer, 100)
            .unwrap()
            .sent
            .is_empty()
    );
    assert_eq!(mailer.sent().len(), 2);
    let still_invited: Vec<String> = o
        .invitations(&[InvitationStatus::Pending])
        .into_iter()
        .map(|i| i.recipient.as_str().to_owned())
        .collect();
    assert_eq!(still_invited, ["lu@acme.test"]);
    let usage = usage_by_type(&o, &a);
    assert_eq!((usage["full"].used, usage["full"].pending), (1, 0));
}

/// "You must add email addresses for these users in Spectrum and then invite
/// them again from the User Management page."
#[test]
fn errors_fixed_in_hr_can_be_invited_again() {
    let (o, admin) = portal();
    let a = as_member(&admin);
    let first = o
        .engine
        .invite(
            o.id(),
            &a,
            InviteRequest::new(Recipients::List(vec![
                row(&emp("Frank", "Nomail", None)),
                row(&emp("Gina", "Share", Some("shared@acme.test"))),
                row(&emp("Hank", "Share", Some("shared@acme.test"))),
                // An HR export often has a blank cell rather than no cell.
                row(&emp("Ines", "Blank", Some("  "))),
            ])),
        )
        .unwrap();
    assert_eq!(
        reject_codes(&first),
        [
            (0, "missing_contact"),
            (2, "duplicate_in_batch"),
            (3, "missing_contact")
        ]
    );

    // HR now has Frank's address and Hank's own address.
    let second = o
        .engine
        .invite(
            o.id(),
            &a,
            InviteRequest::new(Recipients::List(vec![
                row(&emp("Frank", "Nomail", Some("frank@acme.test"))),
                row(&emp("Hank", "Share", Some("hank@acme.test"))),
            ])),
        )
        .unwrap();
    assert!(second.rejected.is_empty(), "{:?}", second.rejected);
    assert_eq!(
        issued_recipients(&second),
        ["frank@acme.test", "hank@acme.test"]
    );
    assert_ne!(first.batch_id, second.batch_id);
    assert_eq!(o.invitations(&[InvitationStatus::Pending]).len(), 3);
}

/// The assistant is an administrator's tool: a plain user (or a deactivated
/// administrator) cannot invite, and trying stores nothing.
#[test]
fn only_administrators_can_run_the_assistant() {
    let (o, admin) = portal();
    let user = o.join("pat@acme.test", "member", "acct-pat");
    let rows = || Recipients::List(vec![row(&emp("Quinn", "Q", Some("quinn@acme.test")))]);
    let mark = o.events().len();
    let invites = o.invitations(&[]).len();
    let err = o
        .engine
        .invite(o.id(), &as_member(&user), InviteRequest::new(rows()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                permission: Permission::InviteMembers,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(o.events().len(), mark);
    assert_eq!(o.invitations(&[]).len(), invites);

    o.engine
        .deactivate_member(o.id(), &o.owner_actor(), &admin.id)
        .unwrap();
    let err = o
        .engine
        .invite(o.id(), &as_member(&admin), InviteRequest::new(rows()))
        .unwrap_err();
    assert!(matches!(err, Error::NotAMember { .. }), "{err:?}");
    assert_eq!(o.invitations(&[]).len(), invites);
}

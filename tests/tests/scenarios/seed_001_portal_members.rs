//! Seed 001 — Spectra Assure Portal, "Members": the organization members
//! table (sorted by email, filtered by role, searched by email, last
//! active), editing and removing members, resending invites, inviting many
//! addresses at once from one 250-character field (at most 100 invites,
//! expiring after 1 day in that product), and the groups table (sorted by
//! name or member count, searched by name; create, delete, add members).
//!
//! Mapping: "Org Admin" is the built-in `admin` role; "Group Owner" and
//! "Group Member" are [`GroupRole::Owner`] and [`GroupRole::Member`]; the
//! Email field is [`Recipients::FormField`]; "Invite Pending" rows are
//! pending invitations. The organization's policy sets the invitation
//! lifetime to 1 day, as this product does.

use super::common::*;
use chrono::Duration;
use enlist::*;

const DAY: i64 = 24 * 3600;

/// The portal: invitations live 1 day; an Org Admin and two plain members.
struct Portal {
    o: Org,
    admin: Member,
    bob: Member,
    zoe: Member,
}

fn portal() -> Portal {
    let mut policy = Policy::default();
    policy.invitation_lifetime_secs = DAY as u64;
    let o = org_with_policy(policy);
    let admin = o.join("admin@acme.test", "admin", "acct-admin");
    let zoe = o.join("zoe@acme.test", "member", "acct-zoe");
    let bob = o.join("Bob@Acme.test", "member", "acct-bob");
    Portal { o, admin, bob, zoe }
}

impl Portal {
    fn a(&self) -> Actor {
        as_member(&self.admin)
    }

    fn group(&self, name: &str, is_default: bool) -> Group {
        self.o
            .engine
            .create_group(
                self.o.id(),
                &self.a(),
                NewGroup {
                    name: name.into(),
                    description: format!("The {name} team"),
                    is_default,
                },
            )
            .unwrap()
    }

    fn invite_field(
        &self,
        text: &str,
        req: impl FnOnce(InviteRequest) -> InviteRequest,
    ) -> Result<InviteReport> {
        self.o.engine.invite(
            self.o.id(),
            &self.a(),
            req(InviteRequest::new(Recipients::FormField(text.into()))),
        )
    }

    fn list(&self, q: MemberQuery) -> Vec<String> {
        self.o
            .engine
            .list_members(self.o.id(), &self.a(), &q)
            .unwrap()
            .items
            .into_iter()
            .map(|m| m.contact_key.into_string())
            .collect()
    }
}

fn is_permission_denied(e: &Error, p: Permission) -> bool {
    matches!(e, Error::PermissionDenied { permission, .. } if *permission == p)
}

/// "The members in the table can be ordered only by their email address
/// (Email). You can also filter the table based on the organization roles
/// the members have. ... you can search for them by their email address."
#[test]
fn members_table_is_sorted_by_email_filtered_by_role_and_searched_by_email() {
    let p = portal();
    p.o.join("amy@acme.test", "user_admin", "acct-amy");
    let all = p.list(MemberQuery::default());
    assert_eq!(
        all,
        [
            "admin@acme.test",
            "amy@acme.test",
            "bob@acme.test",
            "owner@acme.test",
            "zoe@acme.test"
        ]
    );
    let mut reversed = all.clone();
    reversed.reverse();
    assert_eq!(
        p.list(MemberQuery {
            sort: MemberSort::EmailDesc,
            ..MemberQuery::default()
        }),
        reversed
    );

    // Pages of two follow the same order.
    let mut paged = Vec::new();
    let mut q = MemberQuery {
        limit: 2,
        ..MemberQuery::default()
    };
    loop {
        let page = p.o.engine.list_members(p.o.id(), &p.a(), &q).unwrap();
        assert!(page.items.len() <= 2);
        paged.extend(page.items.into_iter().map(|m| m.contact_key));
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }
    assert_eq!(paged, all);

    assert_eq!(
        p.list(MemberQuery {
            role: Some("member".into()),
            ..MemberQuery::default()
        }),
        ["bob@acme.test", "zoe@acme.test"]
    );
    assert_eq!(
        p.list(MemberQuery {
            search: Some("BOB@".into()),
            ..MemberQuery::default()
        }),
        ["bob@acme.test"]
    );
    // The address keeps the case it was typed with; sorting and search use
    // the normalized form.
    assert_eq!(p.bob.contact.as_str(), "Bob@acme.test");

    // Guests see no directory.
    let guest = p.o.join_with(
        RecipientInput {
            kind: Some(MemberKind::Guest),
            ..RecipientInput::email("guest@partner.test")
        },
        "guest",
        "acct-guest",
    );
    let err =
        p.o.engine
            .list_members(p.o.id(), &as_member(&guest), &MemberQuery::default())
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ViewMembers),
        "{err:?}"
    );
}

/// "Last Active - indicates when the user was last actively using the
/// Portal" — and "Resend Invite - can be selected only when the Last Active
/// status is Invite Pending."
#[test]
fn last_active_is_shown_and_invitees_are_invite_pending() {
    let p = portal();
    let t1 = p.o.engine.now() + Duration::hours(3);
    let mark = p.o.events().len();
    p.o.engine.record_activity(p.o.id(), &p.bob.id, t1).unwrap();
    p.o.engine
        .record_activity(p.o.id(), &p.bob.id, t1 - Duration::hours(1))
        .unwrap();
    let bob = p.o.engine.member(p.o.id(), &p.a(), &p.bob.id).unwrap();
    assert_eq!(bob.last_active_at, Some(t1), "never moves backwards");
    let zoe = p.o.engine.member(p.o.id(), &p.a(), &p.zoe.id).unwrap();
    assert_eq!(zoe.last_active_at, None);
    assert_eq!(p.o.events().len(), mark, "activity is not an audit event");

    let report = p.invite_field("new@acme.test", |r| r).unwrap();
    let pending: Vec<String> =
        p.o.invitations(&[InvitationStatus::Pending])
            .into_iter()
            .map(|i| i.recipient.as_str().to_owned())
            .collect();
    assert_eq!(pending, ["new@acme.test"]);
    assert!(
        p.list(MemberQuery::default())
            .iter()
            .all(|e| e != "new@acme.test"),
        "an invitee is not a member until they accept"
    );
    assert_eq!(
        report.issued[0].invitation.status,
        InvitationStatus::Pending
    );
}

/// "Edit Member - change user's groups and their organization roles" —
/// "Users can't change their own email address on the Portal. To change the
/// email address for a user account, the organization administrator has to
/// remove the account and create a new one with a different email address."
#[test]
fn edit_member_changes_groups_and_role_but_never_the_email() {
    let p = portal();
    let eng = p.group("Engineering", false);
    let ops = p.group("Operations", false);
    let mark = p.o.events().len();
    let edited =
        p.o.engine
            .update_member(
                p.o.id(),
                &p.a(),
                &p.bob.id,
                MemberUpdate {
                    role: Some("user_admin".into()),
                    groups: Some(vec![
                        GroupGrant::member(eng.id.clone()),
                        GroupGrant::member(ops.id.clone()),
                    ]),
                    ..MemberUpdate::default()
                },
            )
            .unwrap();
    assert_eq!(edited.role, "user_admin");
    assert_eq!(edited.groups.len(), 2);
    assert_eq!(edited.contact, p.bob.contact);
    assert_eq!(
        p.o.events_after(mark),
        [EventKind::MemberUpdated {
            member: p.bob.id.clone(),
            fields: vec!["role".into(), "groups".into()],
        }]
    );
    let g = p.o.engine.group(p.o.id(), &p.a(), &eng.id).unwrap();
    assert_eq!(g.member_count, 1);

    // A plain member may not edit others, nor their own role.
    let zoe = as_member(&p.zoe);
    let err =
        p.o.engine
            .update_member(
                p.o.id(),
                &zoe,
                &p.bob.id,
                MemberUpdate {
                    first_name: Some("Robert".into()),
                    ..MemberUpdate::default()
                },
            )
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ManageMembers),
        "{err:?}"
    );
    let err =
        p.o.engine
            .update_member(
                p.o.id(),
                &zoe,
                &p.zoe.id,
                MemberUpdate {
                    role: Some("admin".into()),
                    ..MemberUpdate::default()
                },
            )
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ManageMembers),
        "{err:?}"
    );
    // An Org Admin cannot hand out the owner role.
    let err =
        p.o.engine
            .update_member(
                p.o.id(),
                &p.a(),
                &p.zoe.id,
                MemberUpdate {
                    role: Some("owner".into()),
                    ..MemberUpdate::default()
                },
            )
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::OwnOrganization),
        "{err:?}"
    );

    // Changing an address: remove the account, invite the new address.
    p.o.engine
        .remove_member(p.o.id(), &p.a(), &p.zoe.id)
        .unwrap();
    let report = p.invite_field("zoe.new@acme.test", |r| r).unwrap();
    assert_eq!(report.issued.len(), 1);
    let zoe2 = accept(&p.o.engine, &token_of(&report.issued[0]), "acct-zoe").member;
    assert_ne!(zoe2.id, p.zoe.id);
    assert_eq!(zoe2.contact.as_str(), "zoe.new@acme.test");
    let tomb = p.o.engine.member(p.o.id(), &p.a(), &p.zoe.id).unwrap();
    assert_eq!(tomb.contact.as_str(), "zoe@acme.test");
}

/// "User accounts can be removed from the organization by selecting
/// Actions \> Remove From Organization. ... no data is lost ... any files uploaded by
/// the removed user account will show 'User Removed' as the uploader."
#[test]
fn remove_from_organization_leaves_a_tombstone_for_history() {
    let p = portal();
    let eng = p.group("Engineering", false);
    p.o.engine
        .add_group_member(p.o.id(), &p.a(), &eng.id, &p.bob.id, None)
        .unwrap();

    // Only an Org Admin may remove.
    let err =
        p.o.engine
            .remove_member(p.o.id(), &as_member(&p.zoe), &p.bob.id)
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ManageMembers),
        "{err:?}"
    );

    p.o.advance(Duration::hours(2));
    let mark = p.o.events().len();
    let removed =
        p.o.engine
            .remove_member(p.o.id(), &p.a(), &p.bob.id)
            .unwrap();
    assert_eq!(removed.status, MemberStatus::Removed);
    assert_eq!(removed.removed_at, Some(p.o.engine.now()));
    assert!(removed.groups.is_empty());
    assert_eq!(
        p.o.events_after(mark),
        [EventKind::MemberRemoved {
            member: p.bob.id.clone(),
            contact: "Bob@acme.test".into(),
        }]
    );

    // The tombstone still answers "who was this?" for old records.
    let tomb = p.o.engine.member(p.o.id(), &p.a(), &p.bob.id).unwrap();
    assert_eq!(tomb.status, MemberStatus::Removed);
    assert_eq!(tomb.user_ref.as_deref(), Some("acct-bob"));
    assert!(p.o.events().iter().any(|e| matches!(
        &e.kind,
        EventKind::InvitationAccepted { member, .. } if member == &p.bob.id
    )));
    // Gone from the table and the group, listed only when asked for.
    assert!(
        !p.list(MemberQuery::default())
            .contains(&"bob@acme.test".to_owned())
    );
    assert_eq!(
        p.list(MemberQuery {
            statuses: vec![MemberStatus::Removed],
            ..MemberQuery::default()
        }),
        ["bob@acme.test"]
    );
    assert_eq!(
        p.o.engine
            .group(p.o.id(), &p.a(), &eng.id)
            .unwrap()
            .member_count,
        0
    );
    // A removed account can do nothing.
    let err =
        p.o.engine
            .list_members(p.o.id(), &as_member(&p.bob), &MemberQuery::default())
            .unwrap_err();
    assert!(matches!(err, Error::NotAMember { .. }), "{err:?}");
    // Removing twice changes nothing more.
    let mark = p.o.events().len();
    p.o.engine
        .remove_member(p.o.id(), &p.a(), &p.bob.id)
        .unwrap();
    assert_eq!(p.o.events().len(), mark);

    // An Org Admin cannot remove the owner; nobody removes the last owner.
    let err =
        p.o.engine
            .remove_member(p.o.id(), &p.a(), &p.o.owner.id)
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::OwnOrganization),
        "{err:?}"
    );
    let err =
        p.o.engine
            .remove_member(p.o.id(), &p.o.owner_actor(), &p.o.owner.id)
            .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
}

/// "Resend Invite - can be selected only when the Last Active status is
/// Invite Pending."
#[test]
fn resend_invite_works_only_while_the_invite_is_pending() {
    let p = portal();
    let report = p.invite_field("pia@acme.test", |r| r).unwrap();
    let inv = report.issued[0].invitation.id.clone();
    let old_token = token_of(&report.issued[0]);

    // Too soon after the first send (the policy's cooldown).
    let err = p.o.engine.resend(p.o.id(), &p.a(), &inv).unwrap_err();
    assert!(matches!(err, Error::ResendTooSoon { .. }), "{err:?}");
    // A plain member cannot resend someone else's invitation.
    p.o.advance(Duration::minutes(11));
    let err =
        p.o.engine
            .resend(p.o.id(), &as_member(&p.zoe), &inv)
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ManageMembers),
        "{err:?}"
    );

    let mark = p.o.events().len();
    let again = p.o.engine.resend(p.o.id(), &p.a(), &inv).unwrap();
    assert_eq!(again.invitation.send_count, 2);
    assert!(matches!(
        p.o.events_after(mark).as_slice(),
        [EventKind::InvitationResent { send_count: 2, .. }]
    ));
    // The first email was never delivered: it is dropped, only the new one goes.
    let mailer = RecordingMailer::new();
    let delivery = p.o.engine.deliver_pending(&mailer, 10).unwrap();
    assert_eq!(delivery.sent.len(), 1);
    let new_token = token_from_url(&mailer.sent()[0].accept_url);
    assert_eq!(new_token, token_of(&again));
    assert!(matches!(
        p.o.engine.accept(&old_token, registration("acct-pia")),
        Err(Error::InvalidSecret)
    ));
    accept(&p.o.engine, &new_token, "acct-pia");

    // Accepted: no longer pending, no resend.
    p.o.advance(Duration::minutes(11));
    let err = p.o.engine.resend(p.o.id(), &p.a(), &inv).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvitationNotOpen {
                status: InvitationStatus::Accepted,
                ..
            }
        ),
        "{err:?}"
    );
    // Revoked: no resend either.
    let other = p.invite_field("rex@acme.test", |r| r).unwrap();
    let rex = other.issued[0].invitation.id.clone();
    p.o.engine.revoke(p.o.id(), &p.a(), &rex).unwrap();
    p.o.advance(Duration::minutes(11));
    let err = p.o.engine.resend(p.o.id(), &p.a(), &rex).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvitationNotOpen {
                status: InvitationStatus::Revoked,
                ..
            }
        ),
        "{err:?}"
    );
}

/// "You can invite multiple members at once ... by entering their email
/// addresses one after the other into the Email field and pressing the
/// Enter key after every address; by pasting a list of comma-separated email
/// addresses" — formats `email@example.com` and `"display name"
/// <email@example.com>`.
#[test]
fn invite_many_typed_with_enter_or_pasted_with_commas_in_both_formats() {
    let p = portal();
    let field = "ann@acme.test\nbea@acme.test\n\"Cole Display\" <cole@acme.test>, dora@acme.test,eli@acme.test";
    let report = p.invite_field(field, |r| r).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let got: Vec<(usize, &str, Option<&str>)> = report
        .issued
        .iter()
        .map(|i| {
            (
                i.index,
                i.invitation.recipient.as_str(),
                i.invitation.display_name.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (0, "ann@acme.test", None),
            (1, "bea@acme.test", None),
            (2, "cole@acme.test", Some("Cole Display")),
            (3, "dora@acme.test", None),
            (4, "eli@acme.test", None),
        ]
    );
    let batch = &report.batch_id;
    assert!(
        report
            .issued
            .iter()
            .all(|i| &i.invitation.batch_id == batch)
    );

    let mailer = RecordingMailer::new();
    assert_eq!(
        p.o.engine.deliver_pending(&mailer, 100).unwrap().sent.len(),
        5
    );
    let cole = mailer
        .sent()
        .into_iter()
        .find(|m| m.to == "cole@acme.test")
        .unwrap();
    assert_eq!(cole.to_name.as_deref(), Some("Cole Display"));
    assert!(cole.text_body.starts_with("Hello Cole Display,"));
    let m = accept(&p.o.engine, &token_from_url(&cole.accept_url), "acct-cole").member;
    assert_eq!(m.contact.as_str(), "cole@acme.test");
}

/// "The email addresses you enter are automatically validated. If an
/// address is incorrectly formatted or if it's already used by an existing
/// Portal account, it will be underlined and show a warning."
#[test]
fn malformed_or_already_used_addresses_are_flagged_and_skipped() {
    let p = portal();
    p.invite_field("pending@acme.test", |r| r).unwrap();
    let field = "ok@acme.test, not-an-address, bob@acme.test, pending@acme.test, x@nodot";

    // What the form underlines while typing: the malformed fragments.
    let parsed = parse_recipients(field);
    assert_eq!(parsed.recognized(), 3);
    let bad: Vec<&str> = parsed.invalid().map(|(e, _)| e.text.as_ref()).collect();
    assert_eq!(bad, ["not-an-address", "x@nodot"]);
    let (entry, _) = parsed.invalid().next().unwrap();
    assert_eq!(
        &field[entry.span.start..entry.span.end].trim(),
        &"not-an-address"
    );

    // What inviting reports: the same, plus the addresses already in use.
    let mark = p.o.events().len();
    let report = p.invite_field(field, |r| r).unwrap();
    let issued: Vec<&str> = report
        .issued
        .iter()
        .map(|i| i.invitation.recipient.as_str())
        .collect();
    assert_eq!(issued, ["ok@acme.test"]);
    let rejected: Vec<(&str, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.input.as_str(), r.reason.code()))
        .collect();
    assert_eq!(
        rejected,
        [
            ("not-an-address", "invalid_address"),
            ("bob@acme.test", "already_member"),
            ("pending@acme.test", "already_invited"),
            ("x@nodot", "invalid_address"),
        ]
    );
    assert_eq!(
        report.rejected[1].reason,
        RejectReason::AlreadyMember {
            member: p.bob.id.clone()
        }
    );
    assert_eq!(p.o.events_after(mark).len(), 1);
}

fn field_of_exactly(chars: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    // Whole addresses while they fit, then spaces (as typed) to the length.
    loop {
        let next = format!("user{i:02}@acme.test, ");
        if s.len() + next.len() > chars {
            break;
        }
        s.push_str(&next);
        i += 1;
    }
    while s.len() < chars {
        s.push(' ');
    }
    s
}

/// "The total character limit in the Email field is 250 characters."
#[test]
fn the_email_field_holds_at_most_250_characters() {
    let p = portal();
    assert_eq!(p.o.org.policy.max_paste_field_chars, 250);
    let at_limit = field_of_exactly(250);
    assert_eq!(at_limit.chars().count(), 250);
    let over = format!("{at_limit} ");
    assert_eq!(over.chars().count(), 251);

    let mark = p.o.events().len();
    let before = p.o.invitations(&[]).len();
    let err = p.invite_field(&over, |r| r).unwrap_err();
    match err {
        Error::LimitExceeded {
            limit, max, actual, ..
        } => assert_eq!((limit, max, actual), (LimitKind::PasteFieldChars, 250, 251)),
        other => panic!("expected the paste-field limit, got {other:?}"),
    }
    assert_eq!(p.o.events().len(), mark, "nothing happened");
    assert_eq!(p.o.invitations(&[]).len(), before);

    let ok = p.invite_field(&at_limit, |r| r).unwrap();
    let expected = parse_recipients(&at_limit).recognized();
    assert!(expected >= 10);
    assert_eq!(ok.issued.len(), expected);

    // The limit is the form's: the library API takes the longer text.
    let longer = format!("{over}, extra@acme.test");
    let report =
        p.o.engine
            .invite(
                p.o.id(),
                &p.a(),
                InviteRequest::new(Recipients::Paste(longer)),
            )
            .unwrap();
    let issued: Vec<&str> = report
        .issued
        .iter()
        .map(|i| i.invitation.recipient.as_str())
        .collect();
    assert_eq!(
        issued,
        ["extra@acme.test"],
        "the others are already invited"
    );
}

/// "Note that all the people you invite are added to the same groups and
/// share both the organization and the default group role."
#[test]
fn everyone_in_one_invite_shares_groups_and_roles() {
    let p = portal();
    let eng = p.group("Engineering", false);
    let ops = p.group("Operations", false);
    let grants = vec![
        GroupGrant::member(eng.id.clone()),
        GroupGrant::member(ops.id.clone()),
    ];
    let report = p
        .invite_field("a1@acme.test, a2@acme.test, a3@acme.test", |r| {
            r.role("user_admin").groups(grants.clone())
        })
        .unwrap();
    assert_eq!(report.issued.len(), 3);
    for i in &report.issued {
        assert_eq!(i.invitation.role, "user_admin");
        assert_eq!(i.invitation.groups, grants);
    }
    let m = accept(&p.o.engine, &token_of(&report.issued[1]), "acct-a2").member;
    assert_eq!(m.role, "user_admin");
    assert_eq!(m.group_role(&eng.id), Some(GroupRole::Member));
    assert_eq!(m.group_role(&ops.id), Some(GroupRole::Member));

    // Nobody puts invitees in a group above their own reach.
    let user_admin = as_member(&m);
    let err =
        p.o.engine
            .invite(
                p.o.id(),
                &user_admin,
                InviteRequest::new(Recipients::FormField("b1@acme.test".into()))
                    .groups(vec![GroupGrant::owner(eng.id.clone())]),
            )
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ManageGroups),
        "{err:?}"
    );
}

/// "If you don't assign these users to any groups, they will belong to the
/// default group if it exists."
#[test]
fn invitees_without_groups_land_in_the_default_group_if_there_is_one() {
    let p = portal();
    let first = p.invite_field("early@acme.test", |r| r).unwrap();
    let everyone = p.group("Everyone", true);
    let eng = p.group("Engineering", false);
    let report = p
        .invite_field("dan@acme.test, eve@acme.test", |r| r)
        .unwrap();
    let with_group = p
        .invite_field("fay@acme.test", |r| {
            r.groups(vec![GroupGrant::member(eng.id.clone())])
        })
        .unwrap();

    let dan = accept(&p.o.engine, &token_of(&report.issued[0]), "acct-dan").member;
    assert_eq!(dan.groups, [GroupGrant::member(everyone.id.clone())]);
    let fay = accept(&p.o.engine, &token_of(&with_group.issued[0]), "acct-fay").member;
    assert_eq!(fay.groups, [GroupGrant::member(eng.id.clone())]);
    // Invited before the default group existed: the default applies at
    // acceptance.
    let early = accept(&p.o.engine, &token_of(&first.issued[0]), "acct-early").member;
    assert_eq!(early.groups, [GroupGrant::member(everyone.id.clone())]);
    assert_eq!(
        p.o.engine
            .group(p.o.id(), &p.a(), &everyone.id)
            .unwrap()
            .member_count,
        2
    );

    // No default group: no group.
    p.o.engine
        .update_group(
            p.o.id(),
            &p.a(),
            &everyone.id,
            GroupUpdate {
                is_default: Some(false),
                ..GroupUpdate::default()
            },
        )
        .unwrap();
    let eve = accept(&p.o.engine, &token_of(&report.issued[1]), "acct-eve").member;
    assert!(eve.groups.is_empty());
}

fn addresses(n: usize, tag: &str) -> String {
    (0..n)
        .map(|i| format!("{tag}{i:03}@acme.test"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "A maximum of 100 user invites can be sent at once."
#[test]
fn at_most_100_invites_are_sent_at_once() {
    let p = portal();
    let mark = p.o.events().len();
    let before = p.o.invitations(&[]).len();
    let err =
        p.o.engine
            .invite(
                p.o.id(),
                &p.a(),
                InviteRequest::new(Recipients::Paste(addresses(101, "big"))),
            )
            .unwrap_err();
    match err {
        Error::LimitExceeded {
            limit, max, actual, ..
        } => assert_eq!((limit, max, actual), (LimitKind::BatchSize, 100, 101)),
        other => panic!("expected the batch limit, got {other:?}"),
    }
    assert_eq!(p.o.events().len(), mark);
    assert_eq!(p.o.invitations(&[]).len(), before);
    let mailer = RecordingMailer::new();
    assert!(
        p.o.engine
            .deliver_pending(&mailer, 1000)
            .unwrap()
            .sent
            .is_empty()
    );

    // 100 distinct addresses go, even with repeats and typos around them.
    let text = format!(
        "{}, big000@acme.test, not-an-address",
        addresses(100, "big")
    );
    let report =
        p.o.engine
            .invite(
                p.o.id(),
                &p.a(),
                InviteRequest::new(Recipients::Paste(text)),
            )
            .unwrap();
    assert_eq!(report.issued.len(), 100);
    let codes: Vec<&str> = report.rejected.iter().map(|r| r.reason.code()).collect();
    assert_eq!(codes, ["duplicate_in_batch", "invalid_address"]);
    assert_eq!(p.o.events_after(mark).len(), 100);
    assert_eq!(
        p.o.engine
            .deliver_pending(&mailer, 1000)
            .unwrap()
            .sent
            .len(),
        100
    );
    assert_eq!(mailer.sent().len(), 100);
}

/// "By default, they expire in 1 day. If this happens, you can resend the
/// invite for each user from the Actions menu."
#[test]
fn invites_expire_after_one_day_and_can_be_resent() {
    let p = portal();
    let t0 = p.o.engine.now();
    let report = p.invite_field("late@acme.test", |r| r).unwrap();
    let issued = &report.issued[0];
    assert_eq!(issued.invitation.expires_at, Some(t0 + Duration::days(1)));
    let old_token = token_of(issued);
    let mailer = RecordingMailer::new();
    p.o.engine.deliver_pending(&mailer, 10).unwrap();
    assert_eq!(mailer.sent()[0].expires_at, t0 + Duration::days(1));

    p.o.advance(Duration::days(1) - Duration::seconds(1));
    assert_eq!(
        p.o.engine.preview(&old_token).unwrap().status,
        InvitationStatus::Pending
    );
    p.o.advance(Duration::seconds(1));
    assert_eq!(
        p.o.engine.preview(&old_token).unwrap().status,
        InvitationStatus::Expired
    );
    assert_eq!(
        p.o.invitations(&[InvitationStatus::Expired])
            .iter()
            .map(|i| i.recipient.as_str())
            .collect::<Vec<_>>(),
        ["late@acme.test"]
    );
    assert!(
        p.o.invitations(&[InvitationStatus::Pending]).is_empty(),
        "an expired invite is no longer Invite Pending"
    );
    let err =
        p.o.engine
            .accept(&old_token, registration("acct-late"))
            .unwrap_err();
    assert!(matches!(err, Error::InvitationExpired { .. }), "{err:?}");

    // The periodic job records the expiry, once.
    let mark = p.o.events().len();
    assert_eq!(p.o.engine.expire_due(p.o.engine.now()).unwrap(), 1);
    assert_eq!(p.o.engine.expire_due(p.o.engine.now()).unwrap(), 0);
    assert_eq!(
        p.o.events_after(mark),
        [EventKind::InvitationExpired {
            invitation: issued.invitation.id.clone()
        }]
    );

    // Resend from the Actions menu: a new day, a new link.
    let again =
        p.o.engine
            .resend(p.o.id(), &p.a(), &issued.invitation.id)
            .unwrap();
    let t1 = p.o.engine.now();
    assert_eq!(again.invitation.status, InvitationStatus::Pending);
    assert_eq!(again.invitation.expires_at, Some(t1 + Duration::days(1)));
    assert!(matches!(
        p.o.engine.accept(&old_token, registration("acct-late")),
        Err(Error::InvalidSecret)
    ));
    p.o.engine.deliver_pending(&mailer, 10).unwrap();
    assert_eq!(mailer.sent().len(), 2);
    let m = accept(
        &p.o.engine,
        &token_from_url(&mailer.sent()[1].accept_url),
        "acct-late",
    )
    .member;
    assert_eq!(m.contact.as_str(), "late@acme.test");
}

/// "The groups in the table can be ordered either by their name (Group
/// Name) or their member count (Member Count). ... you can search for them
/// by their name."
#[test]
fn groups_table_is_sorted_by_name_or_member_count_and_searched_by_name() {
    let p = portal();
    let beta = p.group("Beta", false);
    let alpha = p.group("alpha", true);
    let gamma = p.group("Gamma", false);
    for m in [&p.bob, &p.zoe] {
        p.o.engine
            .add_group_member(p.o.id(), &p.a(), &beta.id, &m.id, None)
            .unwrap();
    }
    p.o.engine
        .add_group_member(p.o.id(), &p.a(), &gamma.id, &p.bob.id, None)
        .unwrap();
    let list = |sort: GroupSort, search: Option<&str>| -> Vec<(String, u64, bool)> {
        p.o.engine
            .list_groups(
                p.o.id(),
                &as_member(&p.zoe),
                &GroupQuery {
                    search: search.map(str::to_owned),
                    sort,
                },
            )
            .unwrap()
            .into_iter()
            .map(|g| (g.name, g.member_count, g.is_default))
            .collect()
    };
    let row = |n: &str, c: u64, d: bool| (n.to_owned(), c, d);
    assert_eq!(
        list(GroupSort::NameAsc, None),
        [
            row("alpha", 0, true),
            row("Beta", 2, false),
            row("Gamma", 1, false)
        ]
    );
    assert_eq!(
        list(GroupSort::NameDesc, None),
        [
            row("Gamma", 1, false),
            row("Beta", 2, false),
            row("alpha", 0, true)
        ]
    );
    assert_eq!(
        list(GroupSort::MemberCountDesc, None),
        [
            row("Beta", 2, false),
            row("Gamma", 1, false),
            row("alpha", 0, true)
        ]
    );
    assert_eq!(
        list(GroupSort::MemberCountAsc, None),
        [
            row("alpha", 0, true),
            row("Gamma", 1, false),
            row("Beta", 2, false)
        ]
    );
    assert_eq!(
        list(GroupSort::NameAsc, Some("GAM")),
        [row("Gamma", 1, false)]
    );
    assert!(list(GroupSort::NameAsc, Some("delta")).is_empty());

    // The count follows membership: deactivated members still count,
    // removed ones do not.
    p.o.engine
        .deactivate_member(p.o.id(), &p.a(), &p.zoe.id)
        .unwrap();
    assert_eq!(
        p.o.engine
            .group(p.o.id(), &p.a(), &beta.id)
            .unwrap()
            .member_count,
        2
    );
    p.o.engine
        .remove_member(p.o.id(), &p.a(), &p.bob.id)
        .unwrap();
    assert_eq!(
        p.o.engine
            .group(p.o.id(), &p.a(), &beta.id)
            .unwrap()
            .member_count,
        1
    );
    assert_eq!(
        p.o.engine
            .group(p.o.id(), &p.a(), &gamma.id)
            .unwrap()
            .member_count,
        0
    );
    assert!(alpha.is_default);
}

/// "New groups can be created by clicking the Create Group button ... type
/// in the name of the new group and its description, select whether this is
/// the default group" — "A new group is created empty (without any users)."
#[test]
fn create_group_with_description_and_default_flag() {
    let p = portal();
    let mark = p.o.events().len();
    let first = p.group("Everyone", true);
    assert_eq!(first.description, "The Everyone team");
    assert!(first.is_default);
    assert_eq!(first.member_count, 0);
    assert_eq!(
        p.o.events_after(mark),
        [EventKind::GroupCreated {
            group: first.id.clone(),
            name: "Everyone".into(),
            is_default: true,
        }]
    );
    let members =
        p.o.engine
            .list_members(
                p.o.id(),
                &p.a(),
                &MemberQuery {
                    group: Some(first.id.clone()),
                    ..MemberQuery::default()
                },
            )
            .unwrap();
    assert!(members.items.is_empty(), "a new group is empty");

    // One default at a time.
    let second = p.group("All Staff", true);
    let groups =
        p.o.engine
            .list_groups(p.o.id(), &p.a(), &GroupQuery::default())
            .unwrap();
    let defaults: Vec<&GroupId> = groups
        .iter()
        .filter(|g| g.is_default)
        .map(|g| &g.id)
        .collect();
    assert_eq!(defaults, [&second.id]);

    // Names are unique, whatever the case; only an Org Admin creates groups.
    let err =
        p.o.engine
            .create_group(
                p.o.id(),
                &p.a(),
                NewGroup {
                    name: "everyone".into(),
                    ..NewGroup::default()
                },
            )
            .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    let mark = p.o.events().len();
    let err =
        p.o.engine
            .create_group(
                p.o.id(),
                &as_member(&p.zoe),
                NewGroup {
                    name: "Zoe's club".into(),
                    ..NewGroup::default()
                },
            )
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ManageGroups),
        "{err:?}"
    );
    assert_eq!(p.o.events().len(), mark);
}

/// "Actions - the menu from which you can edit the group information (Edit
/// Group) or remove the group and all its data (Delete Group)."
#[test]
fn delete_group_keeps_its_members_in_the_organization() {
    let p = portal();
    let eng = p.group("Engineering", false);
    let ops = p.group("Operations", false);
    for m in [&p.bob, &p.zoe] {
        p.o.engine
            .add_group_member(p.o.id(), &p.a(), &eng.id, &m.id, None)
            .unwrap();
    }
    p.o.engine
        .add_group_member(p.o.id(), &p.a(), &ops.id, &p.bob.id, None)
        .unwrap();
    let pending = p
        .invite_field("nia@acme.test", |r| {
            r.groups(vec![GroupGrant::member(eng.id.clone())])
        })
        .unwrap();

    let err =
        p.o.engine
            .delete_group(p.o.id(), &as_member(&p.zoe), &eng.id)
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ManageGroups),
        "{err:?}"
    );

    let mark = p.o.events().len();
    let detached = p.o.engine.delete_group(p.o.id(), &p.a(), &eng.id).unwrap();
    assert_eq!(detached, 2);
    assert_eq!(
        p.o.events_after(mark),
        [EventKind::GroupDeleted {
            group: eng.id.clone(),
            name: "Engineering".into(),
            members_detached: 2,
        }]
    );
    let err = p.o.engine.group(p.o.id(), &p.a(), &eng.id).unwrap_err();
    assert!(matches!(err, Error::UnknownGroup { .. }), "{err:?}");
    let bob = p.o.engine.member(p.o.id(), &p.a(), &p.bob.id).unwrap();
    assert_eq!(bob.status, MemberStatus::Active);
    assert_eq!(bob.groups, [GroupGrant::member(ops.id.clone())]);
    let zoe = p.o.engine.member(p.o.id(), &p.a(), &p.zoe.id).unwrap();
    assert!(zoe.groups.is_empty());
    // An invitation into the deleted group still works, without it.
    let nia = accept(&p.o.engine, &token_of(&pending.issued[0]), "acct-nia").member;
    assert!(nia.groups.is_empty());
}

/// "Add user to a group — Who can do this: Org Admin, Group Owner ... When
/// users are added to a group, the 'Group Member' role is automatically
/// assigned to them. Only existing organization members can be added to a
/// group."
#[test]
fn org_admins_and_group_owners_add_existing_members_as_group_members() {
    let p = portal();
    let eng = p.group("Engineering", false);
    let ops = p.group("Operations", false);
    let gil = p.o.join("gil@acme.test", "member", "acct-gil");
    let ivy = p.o.join("ivy@acme.test", "member", "acct-ivy");

    // An Org Admin adds Gil as Eng's owner, and Bob with the default role.
    p.o.engine
        .add_group_member(p.o.id(), &p.a(), &eng.id, &gil.id, Some(GroupRole::Owner))
        .unwrap();
    let mark = p.o.events().len();
    p.o.engine
        .add_group_member(p.o.id(), &p.a(), &eng.id, &p.bob.id, None)
        .unwrap();
    assert_eq!(
        p.o.events_after(mark),
        [EventKind::GroupMemberAdded {
            group: eng.id.clone(),
            member: p.bob.id.clone(),
            role: GroupRole::Member,
        }]
    );
    let bob = p.o.engine.member(p.o.id(), &p.a(), &p.bob.id).unwrap();
    assert_eq!(bob.group_role(&eng.id), Some(GroupRole::Member));

    // The Group Owner adds to their own group, not to another one.
    let g = as_member(&gil);
    p.o.engine
        .add_group_member(p.o.id(), &g, &eng.id, &p.zoe.id, None)
        .unwrap();
    let zoe = p.o.engine.member(p.o.id(), &p.a(), &p.zoe.id).unwrap();
    assert_eq!(zoe.group_role(&eng.id), Some(GroupRole::Member));
    let mark = p.o.events().len();
    let err =
        p.o.engine
            .add_group_member(p.o.id(), &g, &ops.id, &p.zoe.id, None)
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ManageGroups),
        "{err:?}"
    );
    // A plain member (Bob is only a Group Member of Eng) adds nobody.
    let err =
        p.o.engine
            .add_group_member(p.o.id(), &as_member(&p.bob), &eng.id, &ivy.id, None)
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ManageGroups),
        "{err:?}"
    );
    assert_eq!(p.o.events().len(), mark);
    // The Group Owner manages the Group Members table of their group.
    p.o.engine
        .remove_group_member(p.o.id(), &g, &eng.id, &p.zoe.id)
        .unwrap();
    assert_eq!(
        p.o.engine
            .group(p.o.id(), &p.a(), &eng.id)
            .unwrap()
            .member_count,
        2
    );
    // ... and changes group roles there (Edit Group Role).
    let mark = p.o.events().len();
    p.o.engine
        .set_group_role(p.o.id(), &g, &eng.id, &p.bob.id, GroupRole::Owner)
        .unwrap();
    assert_eq!(
        p.o.events_after(mark),
        [EventKind::GroupRoleChanged {
            group: eng.id.clone(),
            member: p.bob.id.clone(),
            from: GroupRole::Member,
            to: GroupRole::Owner,
        }]
    );
    let err =
        p.o.engine
            .set_group_role(
                p.o.id(),
                &as_member(&p.zoe),
                &eng.id,
                &p.bob.id,
                GroupRole::Member,
            )
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::ManageGroups),
        "{err:?}"
    );

    // Only existing members of this organization.
    p.o.engine.remove_member(p.o.id(), &p.a(), &ivy.id).unwrap();
    let err =
        p.o.engine
            .add_group_member(p.o.id(), &p.a(), &eng.id, &ivy.id, None)
            .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    let err =
        p.o.engine
            .add_group_member(
                p.o.id(),
                &p.a(),
                &eng.id,
                &MemberId::from("mem_nobody"),
                None,
            )
            .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let CreatedOrganization {
        owner: stranger, ..
    } =
        p.o.engine
            .create_organization(NewOrganization::new("Other", "acct-x", "x@other.test"))
            .unwrap();
    let err =
        p.o.engine
            .add_group_member(p.o.id(), &p.a(), &eng.id, &stranger.id, None)
            .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    // An invitee is not a member yet either: invitations carry groups instead.
    assert_eq!(
        p.o.engine
            .group(p.o.id(), &p.a(), &eng.id)
            .unwrap()
            .member_count,
        2
    );
}

/// "Invite new members — Who can do this: Org Admin."
#[test]
fn a_plain_member_cannot_invite() {
    let p = portal();
    let mark = p.o.events().len();
    let before = p.o.invitations(&[]).len();
    let err =
        p.o.engine
            .invite(
                p.o.id(),
                &as_member(&p.zoe),
                InviteRequest::new(Recipients::FormField("friend@acme.test".into())),
            )
            .unwrap_err();
    assert!(
        is_permission_denied(&err, Permission::InviteMembers),
        "{err:?}"
    );
    assert_eq!(p.o.events().len(), mark);
    assert_eq!(p.o.invitations(&[]).len(), before);
}

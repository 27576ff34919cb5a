//! Seed 004 — WeTrack, "Employees", the header buttons over checked rows:
//! "check the box on the far right of the user's row. You can select
//! multiple users. In the header, click Delete. A confirmation pop-up
//! displays. Type the number which displays in the pop-up in the spaces.
//! Click Confirm. The users are deleted." With seed 001's and 003's
//! statuses and resend rules for the invitations among them.
//!
//! Mapping: the pop-up's number is [`Enlist::bulk_confirmation`]; "Confirm"
//! is [`Enlist::bulk_action`] with the typed number. A saved user who has
//! not joined is a staged invitation, which Delete revokes.

use super::common::*;
use chrono::Duration;
use enlist::*;

/// WeTrack with a User Admin, a General user, a Sales group, three
/// employees who joined (Ann and Ben in Sales) and Cal, saved only.
struct Employees {
    o: Org,
    user_admin: Member,
    general: Member,
    sales: Group,
    ann: Member,
    ben: Member,
    kim: Member,
    cal: InvitationId,
}

fn employees() -> Employees {
    let o = org_with_owner();
    let user_admin = o.join("uma@wetrack.test", "user_admin", "acct-uma");
    let general = o.join("gus@wetrack.test", "member", "acct-gus");
    let sales = o
        .engine
        .create_group(
            o.id(),
            &o.owner_actor(),
            NewGroup {
                name: "Sales".into(),
                description: "Sales team".into(),
                is_default: false,
            },
        )
        .unwrap();
    let in_sales = |email: &str, user: &str| {
        o.join_with(
            RecipientInput {
                groups: Some(vec![GroupGrant::member(sales.id.clone())]),
                ..RecipientInput::email(email)
            },
            "member",
            user,
        )
    };
    let ann = in_sales("ann@wetrack.test", "acct-ann");
    let ben = in_sales("ben@wetrack.test", "acct-ben");
    let kim = o.join("kim@wetrack.test", "member", "acct-kim");
    let saved = o
        .engine
        .invite(
            o.id(),
            &as_member(&user_admin),
            InviteRequest::new(Recipients::List(vec![RecipientInput::email(
                "cal@wetrack.test",
            )]))
            .staged(),
        )
        .unwrap();
    let cal = saved.issued[0].invitation.id.clone();
    Employees {
        o,
        user_admin,
        general,
        sales,
        ann,
        ben,
        kim,
        cal,
    }
}

impl Employees {
    fn ua(&self) -> Actor {
        as_member(&self.user_admin)
    }

    fn status(&self, m: &Member) -> MemberStatus {
        self.o
            .engine
            .member(self.o.id(), &Actor::System, &m.id)
            .unwrap()
            .status
    }

    /// The number the pop-up displays.
    fn popup(&self, actor: &Actor, req: &BulkRequest) -> String {
        let shown = self
            .o
            .engine
            .bulk_confirmation(self.o.id(), actor, req)
            .unwrap();
        assert_eq!(shown.action, req.action);
        shown.number.expect("a destructive action shows a number")
    }
}

/// Another six digits than `number`.
fn not(number: &str) -> String {
    let n: u32 = number.parse().unwrap();
    format!("{:06}", (n + 500_000) % 1_000_000)
}

/// "Type the number which displays in the pop-up in the spaces. Click
/// Confirm. The users are deleted." A wrong number deletes nobody; the
/// right one deletes every selected user at once.
#[test]
fn delete_with_the_typed_number() {
    let e = employees();
    let selection = BulkRequest {
        invitations: vec![e.cal.clone()],
        ..BulkRequest::members(BulkAction::Remove, vec![e.ann.id.clone(), e.ben.id.clone()])
    };
    let number = e.popup(&e.ua(), &selection);
    let mark = e.o.events().len();

    // A typo in the number: nobody is deleted, and the pop-up can say why.
    let err =
        e.o.engine
            .bulk_action(e.o.id(), &e.ua(), &selection, Some(&not(&number)))
            .unwrap_err();
    assert_eq!(err.code(), "confirmation_mismatch");
    assert_eq!(err.family(), ErrorFamily::InvalidInput);
    assert!(e.o.events_after(mark).is_empty());
    assert_eq!(e.status(&e.ann), MemberStatus::Active);
    assert_eq!(e.status(&e.ben), MemberStatus::Active);
    assert_eq!(e.o.invitations(&[InvitationStatus::Staged]).len(), 1);

    // The right number, typed in its spaces: all three are deleted.
    let typed = format!("{} {}", &number[..3], &number[3..]);
    let report =
        e.o.engine
            .bulk_action(e.o.id(), &e.ua(), &selection, Some(&typed))
            .unwrap();
    assert!(report.applied);
    let rows: Vec<(Option<&str>, BulkOutcome)> = report
        .rows
        .iter()
        .map(|r| (r.contact.as_deref(), r.outcome))
        .collect();
    assert_eq!(
        rows,
        [
            (Some("ann@wetrack.test"), BulkOutcome::Changed),
            (Some("ben@wetrack.test"), BulkOutcome::Changed),
            (Some("cal@wetrack.test"), BulkOutcome::Changed),
        ]
    );
    assert_eq!(e.status(&e.ann), MemberStatus::Removed);
    assert_eq!(e.status(&e.ben), MemberStatus::Removed);
    assert_eq!(e.status(&e.kim), MemberStatus::Active, "not selected");
    assert!(e.o.invitations(&[InvitationStatus::Staged]).is_empty());
    // "Deleting a user will remove them from all items assigned to them."
    let sales =
        e.o.engine
            .group(e.o.id(), &Actor::System, &e.sales.id)
            .unwrap();
    assert_eq!(sales.member_count, 0);
    // One event per change.
    assert!(matches!(
        e.o.events_after(mark).as_slice(),
        [
            EventKind::MemberRemoved { .. },
            EventKind::MemberRemoved { .. },
            EventKind::InvitationRevoked { .. }
        ]
    ));
}

/// The pop-up's number is for that pop-up: another selection, a number
/// shown to someone else, or one left standing for ten minutes deletes
/// nobody.
#[test]
fn the_number_belongs_to_its_pop_up() {
    let e = employees();
    let both = BulkRequest::members(BulkAction::Remove, vec![e.ann.id.clone(), e.ben.id.clone()]);
    let number = e.popup(&e.ua(), &both);
    // Kim ticked as well after the pop-up showed.
    let three = BulkRequest::members(
        BulkAction::Remove,
        vec![e.ann.id.clone(), e.ben.id.clone(), e.kim.id.clone()],
    );
    let err =
        e.o.engine
            .bulk_action(e.o.id(), &e.ua(), &three, Some(&number))
            .unwrap_err();
    assert!(matches!(err, Error::ConfirmationMismatch));
    // The owner types the User Admin's number.
    let err =
        e.o.engine
            .bulk_action(e.o.id(), &e.o.owner_actor(), &both, Some(&number))
            .unwrap_err();
    assert!(matches!(err, Error::ConfirmationMismatch));
    // Coffee break.
    e.o.advance(Duration::minutes(10));
    let err =
        e.o.engine
            .bulk_action(e.o.id(), &e.ua(), &both, Some(&number))
            .unwrap_err();
    assert!(matches!(err, Error::ConfirmationMismatch));
    assert_eq!(e.status(&e.ann), MemberStatus::Active);
    // A new pop-up, a new number: the rows listed the other way round are
    // the same selection.
    let number = e.popup(&e.ua(), &both);
    let reversed =
        BulkRequest::members(BulkAction::Remove, vec![e.ben.id.clone(), e.ann.id.clone()]);
    let report =
        e.o.engine
            .bulk_action(e.o.id(), &e.ua(), &reversed, Some(&number))
            .unwrap();
    assert_eq!(report.changed(), 2);
}

/// "Who can do this": a General user has no Delete button: asking for the
/// pop-up is refused before any row is read. A User Admin who selects the
/// Account Admin among others deletes nobody, and the report names the
/// row that stopped it.
#[test]
fn delete_obeys_who_may_delete_whom() {
    let e = employees();
    let sel = BulkRequest::members(BulkAction::Remove, vec![e.ann.id.clone()]);
    let err =
        e.o.engine
            .bulk_confirmation(e.o.id(), &as_member(&e.general), &sel)
            .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");

    let with_owner = BulkRequest::members(
        BulkAction::Remove,
        vec![e.ann.id.clone(), e.o.owner.id.clone(), e.ben.id.clone()],
    );
    let number = e.popup(&e.ua(), &with_owner);
    let mark = e.o.events().len();
    let report =
        e.o.engine
            .bulk_action(e.o.id(), &e.ua(), &with_owner, Some(&number))
            .unwrap();
    assert!(!report.applied);
    let refused: Vec<&BulkRow> = report.refused().collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].member.as_ref(), Some(&e.o.owner.id));
    assert_eq!(refused[0].code.as_deref(), Some("permission_denied"));
    assert_eq!(report.rows[0].outcome, BulkOutcome::NotApplied);
    assert!(e.o.events_after(mark).is_empty());
    assert_eq!(e.status(&e.ann), MemberStatus::Active);
}

/// "Inactivate a User ... Uncheck Active User", for several at once (with
/// the number: they lose access), and back again (no number: nothing is
/// taken away).
#[test]
fn inactivate_and_reactivate_several_users() {
    let e = employees();
    let pair = vec![e.ann.id.clone(), e.ben.id.clone()];
    let off = BulkRequest::members(BulkAction::Deactivate, pair.clone());
    let number = e.popup(&e.ua(), &off);
    let report =
        e.o.engine
            .bulk_action(e.o.id(), &e.ua(), &off, Some(&number))
            .unwrap();
    assert_eq!(report.changed(), 2);
    assert_eq!(e.status(&e.ann), MemberStatus::Inactive);

    let on = BulkRequest::members(BulkAction::Reactivate, pair);
    let shown =
        e.o.engine
            .bulk_confirmation(e.o.id(), &e.ua(), &on)
            .unwrap();
    assert_eq!((shown.number, shown.rows), (None, 2));
    let report =
        e.o.engine
            .bulk_action(e.o.id(), &e.ua(), &on, None)
            .unwrap();
    assert_eq!(report.changed(), 2);
    assert_eq!(e.status(&e.ben), MemberStatus::Active);
}

/// "Select the user's role" for several users: General Role to User Admin
/// by the Account Admin. A User Admin cannot hand out Admin (a role with
/// permissions they lack): nobody's role changes.
#[test]
fn change_the_role_of_several_users() {
    let e = employees();
    let pair = vec![e.ann.id.clone(), e.ben.id.clone()];
    let to_admin = BulkRequest::change_role(pair.clone(), "admin");
    let number = e.popup(&e.ua(), &to_admin);
    let report =
        e.o.engine
            .bulk_action(e.o.id(), &e.ua(), &to_admin, Some(&number))
            .unwrap();
    assert!(!report.applied);
    assert!(
        report
            .rows
            .iter()
            .all(|r| r.code.as_deref() == Some("permission_denied"))
    );

    let to_user_admin = BulkRequest::change_role(pair, "user_admin");
    let number = e.popup(&e.o.owner_actor(), &to_user_admin);
    let report =
        e.o.engine
            .bulk_action(e.o.id(), &e.o.owner_actor(), &to_user_admin, Some(&number))
            .unwrap();
    assert_eq!(report.changed(), 2);
    let ann =
        e.o.engine
            .member(e.o.id(), &Actor::System, &e.ann.id)
            .unwrap();
    assert_eq!(ann.role, "user_admin");
}

/// Seeds 001 and 003: "If a user can't find their invite email or their
/// link has expired, you can resend the invitation", and "Resend Invite
/// can be selected only when the Last Active status is Invite Pending".
/// Several expired invitations are resent at once; a selection holding one
/// that was accepted resends nothing.
#[test]
fn resend_several_expired_invitations() {
    let e = employees();
    let sent =
        e.o.engine
            .invite(
                e.o.id(),
                &e.ua(),
                InviteRequest::new(Recipients::Paste(
                    "dan@wetrack.test, eve@wetrack.test".into(),
                )),
            )
            .unwrap();
    let ids: Vec<InvitationId> = sent
        .issued
        .iter()
        .map(|i| i.invitation.id.clone())
        .collect();
    let old_token = token_of(&sent.issued[0]);
    e.o.advance(Duration::days(8));
    assert_eq!(e.o.invitations(&[InvitationStatus::Expired]).len(), 2);

    let mut with_accepted = ids.clone();
    let joined =
        e.o.invitations(&[InvitationStatus::Accepted])
            .into_iter()
            .find(|i| i.recipient.as_str() == "kim@wetrack.test")
            .unwrap();
    with_accepted.push(joined.id.clone());
    let report =
        e.o.engine
            .bulk_action(
                e.o.id(),
                &e.ua(),
                &BulkRequest::invitations(BulkAction::Resend, with_accepted),
                None,
            )
            .unwrap();
    assert!(!report.applied);
    assert_eq!(report.rows[2].code.as_deref(), Some("invitation_not_open"));
    assert_eq!(e.o.invitations(&[InvitationStatus::Expired]).len(), 2);

    let report =
        e.o.engine
            .bulk_action(
                e.o.id(),
                &e.ua(),
                &BulkRequest::invitations(BulkAction::Resend, ids),
                None,
            )
            .unwrap();
    assert!(report.applied);
    assert_eq!(report.changed(), 2);
    assert_eq!(e.o.invitations(&[InvitationStatus::Pending]).len(), 2);
    // The old link no longer works; the new one went by email.
    assert!(
        e.o.engine
            .accept(&old_token, registration("acct-dan"))
            .is_err()
    );
}

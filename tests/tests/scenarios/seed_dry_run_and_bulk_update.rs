//! Issue 13's dry run (seed 001's live "already used" warning, seed 000's
//! review before "Send") and seed 004's bulk update through the import
//! template: "Users can be imported in bulk and updated in bulk", "You are
//! able to update all user details except for their email address".

use super::common::*;
use enlist::{
    BulkRowStatus, EventKind, ImportDefaults, ImportFormat, InviteRequest, MemberQuery,
    MemberStatus, NewGroup, Recipients,
};

/// Seed 001: "An email address that is already in use" shows while the
/// admin types, before anything is sent.
#[test]
fn seed_001_the_form_warns_of_an_address_already_used_before_sending() {
    let o = org_with_owner();
    o.join("bob@acme.test", "member", "acct-bob");
    let typed = "Bob <bob@acme.test>, carol@acme.test";
    let trail = o.events().len();
    let warning = o
        .engine
        .dry_run_invite(
            o.id(),
            &o.owner_actor(),
            &InviteRequest::new(Recipients::FormField(typed.into())),
        )
        .expect("dry run");
    assert_eq!(warning.rejected.len(), 1);
    assert_eq!(warning.rejected[0].reason.code(), "already_member");
    assert_eq!(warning.would_issue[0].recipient.as_str(), "carol@acme.test");
    assert_eq!(o.events().len(), trail, "typing records nothing");
    // The admin sends: the same answer.
    let sent = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::FormField(typed.into())),
        )
        .expect("invite");
    assert_eq!(sent.rejected[0].reason, warning.rejected[0].reason);
    assert_eq!(
        sent.issued[0].invitation.recipient,
        warning.would_issue[0].recipient
    );
}

/// Seed 000: the review step lists who will be invited and the errors
/// (duplicate, already invited) before the file is sent.
#[test]
fn seed_000_the_review_of_an_import_before_sending_it() {
    let o = org_with_owner();
    o.engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("dee@acme.test".into())),
        )
        .expect("invite dee");
    let file = "Email,First name,Department\n\
                ann@acme.test,Ann,Sales\n\
                dee@acme.test,Dee,Sales\n\
                ann@acme.test,Ann,Sales\n";
    let trail = o.events().len();
    let review = o
        .engine
        .dry_run_import(
            o.id(),
            &o.owner_actor(),
            file.as_bytes(),
            ImportFormat::Csv,
            ImportDefaults::default(),
        )
        .expect("review");
    assert_eq!(review.would_issue_count(), 1);
    let errors: Vec<(usize, &str)> = review
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.code()))
        .collect();
    assert_eq!(errors, [(3, "already_invited"), (4, "duplicate_in_batch")]);
    assert_eq!(o.events().len(), trail, "the review records nothing");
    let sent = o
        .engine
        .import_invitations(
            o.id(),
            &o.owner_actor(),
            file.as_bytes(),
            ImportFormat::Csv,
            ImportDefaults::default(),
        )
        .expect("send");
    assert_eq!(sent.issued_count(), 1);
    let ann = sent.issued().next().expect("ann").issued.invitation.clone();
    assert_eq!(
        ann.attributes.get("department").map(String::as_str),
        Some("Sales")
    );
}

/// Seed 004: the admin downloads the template, changes names, roles,
/// groups, departments and the Active box, checks the dry run, then
/// applies it.
#[test]
fn seed_004_a_bulk_update_is_checked_by_a_dry_run_then_applied() {
    let o = org_with_owner();
    let field = o
        .engine
        .create_group(
            o.id(),
            &o.owner_actor(),
            NewGroup {
                name: "Field team".into(),
                ..NewGroup::default()
            },
        )
        .expect("group");
    let vic = o.join("vic@acme.test", "member", "acct-vic");
    o.join("wes@acme.test", "member", "acct-wes");
    let file = "Email,First name,Last name,Role,Groups,Active,Department,Job title\n\
                vic@acme.test,Victoria,Vale,user_admin,Field team,,Field,Lead\n\
                wes@acme.test,,,,,no,,\n\
                new.person@acme.test,New,Person,,,,,\n";
    let trail = o.events().len();
    let diff = o
        .engine
        .dry_run_bulk_update(o.id(), &o.owner_actor(), file.as_bytes(), ImportFormat::Csv)
        .expect("dry run");
    assert!(!diff.applied);
    assert_eq!(o.events().len(), trail, "the dry run changes nothing");
    let vic_row = &diff.rows[0];
    assert_eq!(vic_row.status, BulkRowStatus::Changed);
    let fields: Vec<&str> = vic_row.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "first_name",
            "last_name",
            "role",
            "groups",
            "attributes.department",
            "attributes.job_title"
        ]
    );
    assert_eq!(diff.rows[1].changes[0].new, "inactive");
    assert_eq!(
        diff.rows[2].code.as_deref(),
        Some("not_found"),
        "update, not invite"
    );

    let applied = o
        .engine
        .bulk_update_members(o.id(), &o.owner_actor(), file.as_bytes(), ImportFormat::Csv)
        .expect("apply");
    assert_eq!(applied.rows, diff.rows);
    let members = o
        .engine
        .list_members(
            o.id(),
            &o.owner_actor(),
            &MemberQuery {
                limit: 10,
                ..MemberQuery::default()
            },
        )
        .expect("members");
    let vic_now = members.items.iter().find(|m| m.id == vic.id).expect("vic");
    assert_eq!(vic_now.display_name(), "Victoria Vale");
    assert_eq!(vic_now.contact.as_str(), "vic@acme.test", "never the email");
    assert_eq!(vic_now.role, "user_admin");
    assert!(vic_now.group_role(&field.id).is_some());
    assert_eq!(
        vic_now.attributes.get("job_title").map(String::as_str),
        Some("Lead")
    );
    let wes = members
        .items
        .iter()
        .find(|m| m.contact.as_str() == "wes@acme.test")
        .expect("wes");
    assert_eq!(wes.status, MemberStatus::Inactive);
    let new = o.events_after(trail);
    assert!(
        matches!(new.as_slice(), [EventKind::MemberUpdated { fields, .. }, EventKind::MemberStatusChanged { to: MemberStatus::Inactive, .. }] if fields.len() == 6),
        "one event per change: {new:?}"
    );
    // A user admin cannot raise anyone to owner in bulk either.
    let raise = "Email,Role\nwes@acme.test,owner\n";
    let r = o
        .engine
        .bulk_update_members(
            o.id(),
            &as_member(vic_now),
            raise.as_bytes(),
            ImportFormat::Csv,
        )
        .expect("apply");
    assert_eq!(r.rows[0].code.as_deref(), Some("permission_denied"));
}

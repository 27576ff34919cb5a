//! Every engine operation, through the store under test.
//!
//! Each scenario drives one area of the engine, asserting the values the
//! engine returns and reads back, and records every answer in the
//! transcript that [`same_as_memory`](super::harness::same_as_memory)
//! compares with MemoryStore's.

use super::harness::{Env, as_member, at, code, registration, token_of};
use crate::{
    ActivatedLink, Actor, Contact, EngineConfig, Event, EventKind, GroupGrant, GroupQuery,
    GroupRole, GroupSort, GroupUpdate, ImportDefaults, ImportFormat, InvitationQuery,
    InvitationStatus, InviteRequest, JoinedVia, LinkSpec, MailError, Member, MemberKind,
    MemberQuery, MemberSort, MemberStatus, MemberUpdate, NewGroup, OrgId, OutboxStatus, Permission,
    PermissionSet, Policy, RecipientInput, Recipients, RecordingMailer, Registration,
};
use chrono::Duration;
use std::collections::BTreeSet;

/// A message as the store keeps it (with its live link until delivery):
/// the engine's reads return it redacted.
fn stored_message(engine: &crate::Enlist, id: &crate::MessageId) -> crate::OutboxMessage {
    let stored = {
        let mut tx = engine.store().begin().expect("begin");
        tx.outbox_message(id).expect("read").expect("stored")
    };
    // As a worker that claims it gets it: rendered if kept as a draft.
    engine.rendered_message(stored).expect("rendered")
}

/// The variant names of events, in order.
pub fn kinds(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let s = format!("{:?}", e.kind);
            s.split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// Checks the audit trail of `org`: numbered 1..=n without gaps, the same
/// whether read in pages of 3 or all at once, and readable from any seq.
/// Records it in the transcript.
pub fn check_trail(env: &mut Env, org: &OrgId) -> Vec<Event> {
    let all = env.events(org);
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    let expected: Vec<u64> = (1..=all.len() as u64).collect();
    assert_eq!(seqs, expected, "event seqs must be 1..=n in order");
    assert_eq!(env.events_paged(org, 3), all, "paging changes the trail");
    if all.len() >= 4 {
        let from = all[1].seq;
        let got = env
            .engine
            .events(org, &Actor::System, from, 2)
            .expect("events from a seq");
        assert_eq!(got, all[2..4].to_vec(), "events after seq {from}");
    }
    let past_end = env
        .engine
        .events(org, &Actor::System, all.len() as u64, 10)
        .expect("events past the end");
    assert!(past_end.is_empty());
    env.rec("trail", &all);
    all
}

fn policy_with(f: impl FnOnce(&mut Policy)) -> Policy {
    let mut p = Policy::default();
    f(&mut p);
    p
}

fn perms(ps: &[Permission]) -> PermissionSet {
    ps.iter().copied().collect()
}

// ---------------------------------------------------------------------------

/// Organizations, policy and custom roles.
pub fn orgs_policy_and_roles(env: &mut Env) {
    let (org, owner) = env.org();
    let id = org.id.clone();
    let me = as_member(&owner);

    let read = env.engine.organization(&id).expect("read the organization");
    assert_eq!(read, org, "the organization reads back as created");
    let owner_read = env.engine.member(&id, &me, &owner.id).expect("read owner");
    assert_eq!(owner_read, owner, "the owner reads back as created");
    assert_eq!(owner_read.status, MemberStatus::Active);
    assert_eq!(owner_read.role, "owner");

    // Rename.
    let renamed = env
        .engine
        .rename_organization(&id, &me, "  Acme \"Widgets\"; Ltd  ")
        .expect("rename");
    assert_eq!(renamed.name, "Acme \"Widgets\"; Ltd");
    let read = env.engine.organization(&id).expect("read");
    assert_eq!(read.name, "Acme \"Widgets\"; Ltd");
    env.rec("renamed", &read);
    let r = env.engine.rename_organization(&id, &me, "   ");
    assert_eq!(code(&r), "invalid_input");
    assert_eq!(env.engine.organization(&id).expect("read"), read);

    // Policy.
    let p = policy_with(|p| {
        p.max_batch = 10;
        p.allowed_domains = vec!["Acme.TEST".into(), "partner.test".into()];
        p.seat_limits.insert("pro".into(), 5);
        p.seat_limits.insert("standard".into(), 50);
        p.eula_version = Some("v2".into());
        p.members_can_invite = true;
    });
    let updated = env
        .engine
        .update_policy(&id, &me, p)
        .expect("update policy");
    assert_eq!(
        updated.policy.allowed_domains,
        vec!["acme.test".to_owned(), "partner.test".to_owned()]
    );
    let read = env.engine.organization(&id).expect("read");
    assert_eq!(read.policy, updated.policy, "the policy reads back exactly");
    env.rec("policy", &read.policy);
    // The owner holds a standard seat: a limit of 0 is refused.
    let mut too_low = read.policy.clone();
    too_low.seat_limits.insert("standard".into(), 0);
    let r = env.engine.update_policy(&id, &me, too_low);
    assert_eq!(code(&r), "conflict");
    assert_eq!(env.engine.organization(&id).expect("read"), read);
    // An invalid policy is refused before anything is read.
    let mut bad = read.policy.clone();
    bad.max_batch = 0;
    assert_eq!(
        code(&env.engine.update_policy(&id, &me, bad)),
        "invalid_input"
    );

    // Custom roles.
    let auditor = env
        .engine
        .define_role(
            &id,
            &me,
            "auditor",
            perms(&[Permission::ViewMembers, Permission::ViewAudit]),
        )
        .expect("define role");
    let roles = env.engine.roles(&id).expect("roles");
    let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["owner", "admin", "user_admin", "member", "guest", "auditor"]
    );
    assert_eq!(roles[5], auditor);
    let redefined = env
        .engine
        .define_role(&id, &me, "auditor", perms(&[Permission::ViewAudit]))
        .expect("redefine");
    assert_eq!(
        env.engine.organization(&id).expect("read").custom_roles,
        vec![redefined.clone()]
    );
    env.rec("roles", &env.engine.roles(&id));
    assert_eq!(
        code(
            &env.engine
                .define_role(&id, &me, "admin", PermissionSet::new())
        ),
        "conflict"
    );
    assert_eq!(
        code(
            &env.engine
                .define_role(&id, &me, "two words", PermissionSet::new())
        ),
        "invalid_input"
    );
    let invited = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("aud@acme.test".into())).role("auditor"),
        )
        .expect("invite an auditor");
    let no_eula = env
        .engine
        .accept(&token_of(&invited.issued[0]), registration("acct-aud"));
    match &no_eula {
        Err(crate::Error::RegistrationIncomplete { missing }) => {
            assert_eq!(missing, &[crate::RegistrationField::EulaVersion]);
        }
        other => panic!("the policy asks for EULA v2: {other:?}"),
    }
    let held = env
        .engine
        .accept(
            &token_of(&invited.issued[0]),
            Registration {
                eula_version: Some("v2".into()),
                ..registration("acct-aud")
            },
        )
        .expect("accept with the EULA")
        .member;
    assert_eq!(held.eula_version.as_deref(), Some("v2"));
    assert_eq!(held.role, "auditor");
    let r = env.engine.delete_role(&id, &me, "auditor");
    assert_eq!(code(&r), "conflict", "a role held by an active member");
    let r = env.engine.update_member(
        &id,
        &me,
        &held.id,
        MemberUpdate {
            role: Some("member".into()),
            ..MemberUpdate::default()
        },
    );
    env.rec_result("update role", &r);
    env.engine
        .delete_role(&id, &me, "auditor")
        .expect("delete the role nobody holds");
    assert!(
        env.engine
            .organization(&id)
            .expect("read")
            .custom_roles
            .is_empty()
    );
    assert_eq!(
        code(&env.engine.delete_role(&id, &me, "auditor")),
        "not_found"
    );

    let trail = check_trail(env, &id);
    assert_eq!(
        kinds(&trail),
        [
            "OrganizationCreated",
            "MemberJoined",
            "OrganizationRenamed",
            "PolicyChanged",
            "RoleDefined",
            "RoleDefined",
            "InvitationIssued",
            "InvitationAccepted",
            "MemberUpdated",
            "RoleDeleted",
        ]
    );
    match &trail[3].kind {
        EventKind::PolicyChanged { fields } => assert_eq!(
            fields,
            &[
                "max_batch",
                "allowed_domains",
                "members_can_invite",
                "eula_version",
                "seat_limits"
            ]
        ),
        other => panic!("expected PolicyChanged, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------

/// Groups: create, update, default, counts, search, sort, membership,
/// delete.
pub fn groups(env: &mut Env) {
    let (org, owner) = env.org_with_policy(policy_with(|p| p.invite_link_enabled = true));
    let id = org.id.clone();
    let me = as_member(&owner);
    let new = |name: &str, description: &str, is_default: bool| NewGroup {
        name: name.into(),
        description: description.into(),
        is_default,
    };
    let sales = env
        .engine
        .create_group(&id, &me, new("Sales", "Sells; \"things\"", true))
        .expect("create Sales");
    let support = env
        .engine
        .create_group(&id, &me, new("support", "", false))
        .expect("create support");
    let ops = env
        .engine
        .create_group(&id, &me, new("Ops ☕", "line 1\nline 2\tend", false))
        .expect("create Ops");
    assert_eq!(
        code(&env.engine.create_group(&id, &me, new("SALES", "", false))),
        "conflict",
        "group names are unique case-insensitively"
    );
    let eng = env
        .engine
        .create_group(&id, &me, new("Eng", "", true))
        .expect("create Eng (the new default)");
    let sales_now = env.engine.group(&id, &me, &sales.id).expect("read Sales");
    assert!(!sales_now.is_default, "a new default replaces the old one");
    assert!(env.engine.group(&id, &me, &eng.id).expect("Eng").is_default);
    assert_eq!(
        env.engine
            .group(&id, &me, &ops.id)
            .expect("Ops")
            .description,
        "line 1\nline 2\tend"
    );

    // Members: a in Sales, b in Sales and an owner of Eng, c in the default
    // group (Eng), d a guest in support only.
    let a = env.join_with(
        &id,
        RecipientInput {
            email: Some("a@acme.test".into()),
            groups: Some(vec![GroupGrant::member(sales.id.clone())]),
            ..RecipientInput::default()
        },
        "member",
        "acct-a",
    );
    let b = env.join_with(
        &id,
        RecipientInput {
            email: Some("b@acme.test".into()),
            groups: Some(vec![
                GroupGrant::member(sales.id.clone()),
                GroupGrant::owner(eng.id.clone()),
            ]),
            ..RecipientInput::default()
        },
        "member",
        "acct-b",
    );
    let c = env.join(&id, "c@acme.test", "member", "acct-c");
    assert_eq!(c.groups, vec![GroupGrant::member(eng.id.clone())]);
    let d = env.join_with(
        &id,
        RecipientInput {
            email: Some("d@partner.test".into()),
            kind: Some(MemberKind::Guest),
            groups: Some(vec![GroupGrant::member(support.id.clone())]),
            ..RecipientInput::default()
        },
        "guest",
        "acct-d",
    );
    assert_eq!(d.kind, MemberKind::Guest);

    let count = |env: &Env, g: &crate::GroupId| {
        env.engine
            .group(&id, &Actor::System, g)
            .expect("read group")
            .member_count
    };
    assert_eq!(count(env, &sales.id), 2);
    assert_eq!(count(env, &eng.id), 2);
    assert_eq!(count(env, &support.id), 1);
    assert_eq!(count(env, &ops.id), 0);

    let list = |env: &Env, search: Option<&str>, sort: GroupSort| -> Vec<(String, u64)> {
        env.engine
            .list_groups(
                &id,
                &Actor::System,
                &GroupQuery {
                    search: search.map(str::to_owned),
                    sort,
                },
            )
            .expect("list groups")
            .into_iter()
            .map(|g| (g.name, g.member_count))
            .collect()
    };
    let by_name = list(env, None, GroupSort::NameAsc);
    assert_eq!(
        by_name,
        [
            ("Eng".to_owned(), 2),
            ("Ops ☕".to_owned(), 0),
            ("Sales".to_owned(), 2),
            ("support".to_owned(), 1)
        ]
    );
    let mut rev = by_name.clone();
    rev.reverse();
    assert_eq!(list(env, None, GroupSort::NameDesc), rev);
    let names = |v: Vec<(String, u64)>| v.into_iter().map(|x| x.0).collect::<Vec<_>>();
    assert_eq!(
        names(list(env, None, GroupSort::MemberCountAsc)),
        ["Ops ☕", "support", "Eng", "Sales"]
    );
    assert_eq!(
        names(list(env, None, GroupSort::MemberCountDesc)),
        ["Eng", "Sales", "support", "Ops ☕"]
    );
    assert_eq!(
        names(list(env, Some(" S "), GroupSort::NameAsc)),
        ["Ops ☕", "Sales", "support"]
    );
    // A guest sees only their own groups.
    let seen = env
        .engine
        .list_groups(&id, &as_member(&d), &GroupQuery::default())
        .expect("guest lists groups");
    assert_eq!(
        seen.iter().map(|g| &g.id).collect::<Vec<_>>(),
        [&support.id]
    );
    env.rec("groups", &list(env, None, GroupSort::NameAsc));

    // Membership.
    env.engine
        .add_group_member(&id, &me, &support.id, &a.id, None)
        .expect("add a to support");
    env.engine
        .add_group_member(&id, &me, &support.id, &a.id, None)
        .expect("adding again with the same role is a no-op");
    assert_eq!(
        code(
            &env.engine
                .add_group_member(&id, &me, &support.id, &a.id, Some(GroupRole::Owner))
        ),
        "conflict"
    );
    assert_eq!(count(env, &support.id), 2);
    env.engine
        .set_group_role(&id, &me, &support.id, &a.id, GroupRole::Owner)
        .expect("make a an owner of support");
    let a_now = env.engine.member(&id, &me, &a.id).expect("read a");
    assert_eq!(a_now.group_role(&support.id), Some(GroupRole::Owner));
    env.engine
        .remove_group_member(&id, &me, &sales.id, &a.id)
        .expect("take a out of Sales");
    assert_eq!(count(env, &sales.id), 1);
    assert_eq!(
        code(&env.engine.remove_group_member(&id, &me, &sales.id, &a.id)),
        "not_found"
    );
    // Group owners manage their group's membership.
    env.engine
        .add_group_member(&id, &as_member(&b), &eng.id, &a.id, None)
        .expect("b owns Eng and adds a");
    assert_eq!(count(env, &eng.id), 3);

    // Inactive members still count; removed ones do not.
    env.engine
        .deactivate_member(&id, &me, &c.id)
        .expect("deactivate c");
    assert_eq!(count(env, &eng.id), 3);
    env.engine.remove_member(&id, &me, &c.id).expect("remove c");
    assert_eq!(count(env, &eng.id), 2);

    // Update.
    let upd = env
        .engine
        .update_group(
            &id,
            &me,
            &ops.id,
            GroupUpdate {
                name: Some("Operations".into()),
                description: Some("24/7".into()),
                is_default: Some(true),
            },
        )
        .expect("update Ops");
    assert_eq!(
        (upd.name.as_str(), upd.description.as_str(), upd.is_default),
        ("Operations", "24/7", true)
    );
    assert!(!env.engine.group(&id, &me, &eng.id).expect("Eng").is_default);
    assert_eq!(
        code(&env.engine.update_group(
            &id,
            &me,
            &ops.id,
            GroupUpdate {
                name: Some("eng".into()),
                ..GroupUpdate::default()
            }
        )),
        "conflict"
    );

    // Delete: members stay, the group leaves their memberships and the link.
    let ActivatedLink { link, .. } = env
        .engine
        .activate_invite_link(
            &id,
            &me,
            LinkSpec {
                groups: vec![
                    GroupGrant::member(sales.id.clone()),
                    GroupGrant::member(eng.id.clone()),
                ],
                ..LinkSpec::default()
            },
        )
        .expect("activate the link");
    assert_eq!(link.groups.len(), 2);
    let detached = env
        .engine
        .delete_group(&id, &me, &sales.id)
        .expect("delete Sales");
    assert_eq!(detached, 1, "b was the only member left in Sales");
    assert_eq!(
        code(&env.engine.group(&id, &me, &sales.id)),
        "unknown_group"
    );
    let b_now = env.engine.member(&id, &me, &b.id).expect("read b");
    assert_eq!(b_now.groups, vec![GroupGrant::owner(eng.id.clone())]);
    assert_eq!(b_now.status, MemberStatus::Active);
    let link_now = env
        .engine
        .invite_link(&id, &me)
        .expect("read link")
        .expect("a link");
    assert_eq!(link_now.groups, vec![GroupGrant::member(eng.id.clone())]);
    assert_eq!(
        names(list(env, None, GroupSort::NameAsc)),
        ["Eng", "Operations", "support"]
    );
    let in_sales = env.members(
        &id,
        MemberQuery {
            group: Some(sales.id.clone()),
            statuses: vec![
                MemberStatus::Active,
                MemberStatus::Inactive,
                MemberStatus::Removed,
            ],
            ..MemberQuery::default()
        },
    );
    assert!(in_sales.is_empty(), "nobody is left in a deleted group");
    env.rec("groups after delete", &list(env, None, GroupSort::NameAsc));
    check_trail(env, &id);
}

// ---------------------------------------------------------------------------

/// Issuing invitations: by email, by identifier, from a paste, staged then
/// sent, and imported from a file.
pub fn issuing_invitations(env: &mut Env) {
    let (org, owner) = env.org();
    let id = org.id.clone();
    let me = as_member(&owner);
    let team = env
        .engine
        .create_group(
            &id,
            &me,
            NewGroup {
                name: "Team".into(),
                ..NewGroup::default()
            },
        )
        .expect("create Team");

    // A paste: two valid, one invalid, one duplicate, one "Last, First".
    let paste = "bob@acme.test, Carol <carol@acme.test>; not-an-email\nBOB@ACME.test\n\"Doe, Dana\" <dana@acme.test>";
    let report = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste(paste.into()))
                .groups(vec![GroupGrant::member(team.id.clone())])
                .message("Welcome; it's \"great\" here"),
        )
        .expect("invite the paste");
    env.rec("paste report", &report);
    let issued: Vec<&str> = report
        .issued
        .iter()
        .map(|i| i.invitation.recipient.as_str())
        .collect();
    assert_eq!(
        issued,
        ["bob@acme.test", "carol@acme.test", "dana@acme.test"]
    );
    let rejected: Vec<(usize, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.index, r.reason.code()))
        .collect();
    assert_eq!(
        rejected,
        [(2, "invalid_address"), (3, "duplicate_in_batch")]
    );
    assert_eq!(
        report.issued[2].invitation.display_name.as_deref(),
        Some("Doe, Dana")
    );
    // What was issued is what is stored, and each email is queued.
    for i in &report.issued {
        let stored = env
            .engine
            .invitation(&id, &me, &i.invitation.id)
            .expect("read the invitation");
        assert_eq!(stored, i.invitation, "stored as issued");
        assert_eq!(stored.status, InvitationStatus::Pending);
        assert_eq!(stored.batch_id, report.batch_id);
        assert_eq!(stored.expires_at, Some(env.now() + Duration::days(7)));
        let msg_id = i.message_id.clone().expect("an email was queued");
        let msg = stored_message(&env.engine, &msg_id);
        assert_eq!(msg.status, OutboxStatus::Queued);
        assert_eq!(msg.invitation_id, i.invitation.id);
        assert_eq!(msg.email.to, i.invitation.recipient.as_str());
        assert!(msg.email.accept_url.contains(&token_of(i)));
        assert_eq!(
            msg.email.personal_message.as_deref(),
            Some("Welcome; it's \"great\" here")
        );
    }
    let pending = env.invitations_with(&id, &[InvitationStatus::Pending]);
    let mut expected: Vec<_> = report.issued.iter().map(|i| i.invitation.clone()).collect();
    expected.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    assert_eq!(pending, expected, "listed newest first, ties by id");
    let by_batch = env.invitations(
        &id,
        InvitationQuery {
            batch: Some(report.batch_id.clone()),
            ..InvitationQuery::default()
        },
    );
    assert_eq!(by_batch, expected);

    // Already a member, already invited.
    let again = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("owner@acme.test Bob@Acme.Test".into())),
        )
        .expect("invite again");
    let codes: Vec<&str> = again.rejected.iter().map(|r| r.reason.code()).collect();
    assert_eq!(codes, ["already_member", "already_invited"]);
    assert!(again.issued.is_empty());
    env.rec("again", &again);

    // A form field over the limit changes nothing.
    let before = (env.invitations_with(&id, &[]), env.events(&id).len());
    let long = format!("{}@acme.test", "x".repeat(260));
    let r = env
        .engine
        .invite(&id, &me, InviteRequest::new(Recipients::FormField(long)));
    assert_eq!(code(&r), "limit_exceeded");
    assert_eq!(
        (env.invitations_with(&id, &[]), env.events(&id).len()),
        before
    );

    // Identifiers.
    let rows = vec![
        RecipientInput {
            identifier: Some("EMP-0042".into()),
            first_name: Some("Zoë".into()),
            last_name: Some("O'Neil".into()),
            ..RecipientInput::default()
        },
        RecipientInput::identifier("+33 (6) 12-34-56.78"),
        RecipientInput {
            first_name: Some("No".into()),
            last_name: Some("Contact".into()),
            ..RecipientInput::default()
        },
        RecipientInput::identifier("emp 0042"),
    ];
    let ids = env
        .engine
        .invite(&id, &me, InviteRequest::new(Recipients::List(rows)))
        .expect("invite identifiers");
    env.rec("identifiers", &ids);
    let keys: Vec<&str> = ids
        .issued
        .iter()
        .map(|i| i.invitation.recipient_key.as_str())
        .collect();
    assert_eq!(keys, ["emp0042", "+33612345678"]);
    assert!(ids.issued.iter().all(|i| i.message_id.is_none()));
    assert!(ids.issued.iter().all(|i| i.secret.is_some()));
    let codes: Vec<&str> = ids.rejected.iter().map(|r| r.reason.code()).collect();
    assert_eq!(codes, ["missing_contact", "duplicate_in_batch"]);
    assert_eq!(
        ids.issued[0].invitation.recipient,
        Contact::Identifier("EMP-0042".into())
    );

    // Staged, then sent.
    let staged = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("sam@acme.test tia@acme.test".into())).staged(),
        )
        .expect("stage");
    assert!(staged.issued.iter().all(|i| i.secret.is_none()
        && i.message_id.is_none()
        && i.invitation.status == InvitationStatus::Staged
        && i.invitation.expires_at.is_none()));
    let usage = env.engine.license_usage(&id, &me).expect("usage");
    assert_eq!(usage.len(), 1);
    assert_eq!(
        (usage[0].used, usage[0].pending),
        (1, 3 + 2 + 2),
        "staged invitations are open"
    );
    let sam = staged.issued[0].invitation.id.clone();
    let bogus = crate::InvitationId::from("inv_nope");
    let bob = report.issued[0].invitation.id.clone();
    env.advance(Duration::seconds(30));
    let sent = env
        .engine
        .send_staged(&id, &me, &[sam.clone(), bogus, bob])
        .expect("send staged");
    env.rec("send_staged", &sent);
    let outcomes: Vec<String> = sent
        .results
        .iter()
        .map(|o| match o {
            crate::SendOutcome::Sent { issued: i } => {
                format!("sent {}", i.invitation.recipient.as_str())
            }
            crate::SendOutcome::Failed { code, .. } => format!("failed {code}"),
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            "sent sam@acme.test",
            "failed not_found",
            "failed invitation_not_open"
        ]
    );
    let sam_now = env.engine.invitation(&id, &me, &sam).expect("read sam");
    assert_eq!(sam_now.status, InvitationStatus::Pending);
    assert_eq!(sam_now.send_count, 1);
    assert_eq!(sam_now.expires_at, Some(env.now() + Duration::days(7)));
    let staged_left = env.invitations_with(&id, &[InvitationStatus::Staged]);
    assert_eq!(
        staged_left
            .iter()
            .map(|i| i.recipient.as_str())
            .collect::<Vec<_>>(),
        ["tia@acme.test"]
    );

    // The batch limit is checked before anything is stored.
    let mut p = env.engine.organization(&id).expect("org").policy;
    p.max_batch = 2;
    env.engine.update_policy(&id, &me, p).expect("max_batch 2");
    let before = (env.invitations_with(&id, &[]), env.events(&id).len());
    let r = env.engine.invite(
        &id,
        &me,
        InviteRequest::new(Recipients::Paste(
            "x1@acme.test x2@acme.test x3@acme.test".into(),
        )),
    );
    assert_eq!(code(&r), "limit_exceeded");
    assert_eq!(
        (env.invitations_with(&id, &[]), env.events(&id).len()),
        before
    );

    // Import: the file is split into batches of max_batch rows.
    let csv = "Email,First name,Last name,Groups\n\
               imp1@acme.test,Ima,One,Team\n\
               imp2@acme.test,Ima,Two,\n\
               imp3@acme.test,Ima,Three,Nowhere\n\
               bob@acme.test,Bob,Again,\n\
               imp4@acme.test,Ima,Four,team\n";
    let imported = env
        .engine
        .import_invitations(
            &id,
            &me,
            csv.as_bytes(),
            ImportFormat::Csv,
            ImportDefaults::default(),
        )
        .expect("import");
    env.rec("import", &imported);
    assert_eq!(imported.batches.len(), 2);
    assert_eq!(imported.issued_count(), 3);
    let issued_lines: Vec<(usize, String)> = imported
        .issued()
        .map(|i| (i.line, i.issued.invitation.recipient_key.to_string()))
        .collect();
    assert_eq!(
        issued_lines,
        [
            (2, "imp1@acme.test".to_owned()),
            (3, "imp2@acme.test".to_owned()),
            (6, "imp4@acme.test".to_owned())
        ]
    );
    let rejected: Vec<(usize, &'static str)> = imported
        .rejected()
        .map(|r| (r.line, r.reason.code()))
        .collect();
    assert_eq!(rejected, [(4, "unknown_group"), (5, "already_invited")]);
    let imp1 = &imported.issued().next().expect("imp1").issued.invitation;
    assert_eq!(imp1.groups, vec![GroupGrant::member(team.id.clone())]);
    assert_eq!(imp1.first_name.as_deref(), Some("Ima"));
    let stored = env.engine.invitation(&id, &me, &imp1.id).expect("imp1");
    assert_eq!(&stored, imp1);

    let trail = check_trail(env, &id);
    let issued_events = trail
        .iter()
        .filter(|e| matches!(e.kind, EventKind::InvitationIssued { .. }))
        .count();
    assert_eq!(issued_events, 3 + 2 + 3, "one event per issued invitation");
    let staged_events = trail
        .iter()
        .filter(|e| matches!(e.kind, EventKind::InvitationStaged { .. }))
        .count();
    assert_eq!(staged_events, 2);
}

// ---------------------------------------------------------------------------

/// The invitee's side and the administrator's follow-ups: preview, accept
/// (by token and by access code), decline, revoke, resend, expire.
pub fn invitation_lifecycle(env: &mut Env) {
    let (org, owner) = env.org();
    let id = org.id.clone();
    let me = as_member(&owner);
    let everyone = env
        .engine
        .create_group(
            &id,
            &me,
            NewGroup {
                name: "Everyone".into(),
                is_default: true,
                ..NewGroup::default()
            },
        )
        .expect("create the default group");
    let report = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::List(vec![
                RecipientInput::email("ann@acme.test"),
                RecipientInput::email("ben@acme.test"),
                RecipientInput::email("cat@acme.test"),
                RecipientInput::email("dan@acme.test"),
                RecipientInput::email("eve@acme.test"),
                RecipientInput::identifier("EMP-7"),
            ]))
            .message("See you 'soon'"),
        )
        .expect("invite");
    let tok = |i: usize| token_of(&report.issued[i]);
    let inv = |i: usize| report.issued[i].invitation.clone();
    let sent_at = env.now();

    // Preview.
    let p = env.engine.preview(&tok(0)).expect("preview");
    env.rec("preview", &p);
    assert_eq!(p.invitation_id, inv(0).id);
    assert_eq!(p.org_name, "Acme");
    assert_eq!(p.inviter_name.as_deref(), Some("Olive Owner"));
    assert_eq!(p.status, InvitationStatus::Pending);
    assert_eq!(p.message.as_deref(), Some("See you 'soon'"));
    assert_eq!(p.expires_at, Some(sent_at + Duration::days(7)));
    let url = format!("https://app.test/accept?token={}&x=1", tok(0));
    assert_eq!(
        env.engine
            .preview(&url)
            .expect("preview a URL")
            .invitation_id,
        inv(0).id
    );
    assert_eq!(code(&env.engine.preview("garbage")), "invalid_secret");
    let forged = format!("{}.{}", id, "A".repeat(43));
    assert_eq!(code(&env.engine.preview(&forged)), "invalid_secret");

    // Accept: incomplete registration and a wrong verified email change
    // nothing.
    let r = env.engine.accept(
        &tok(0),
        Registration {
            user_ref: "acct-ann".into(),
            first_name: Some("Ann".into()),
            ..Registration::default()
        },
    );
    match &r {
        Err(crate::Error::RegistrationIncomplete { missing }) => {
            assert_eq!(missing, &[crate::RegistrationField::LastName]);
        }
        other => panic!("expected registration_incomplete, got {other:?}"),
    }
    let r = env.engine.accept(
        &tok(0),
        Registration {
            verified_email: Some("someone@else.test".into()),
            ..registration("acct-ann")
        },
    );
    assert_eq!(code(&r), "email_mismatch");
    assert_eq!(
        env.engine.invitation(&id, &me, &inv(0).id).expect("ann"),
        inv(0)
    );
    env.advance(Duration::minutes(1));
    let acc = env
        .engine
        .accept(
            &tok(0),
            Registration {
                verified_email: Some("ANN@acme.test".into()),
                ..registration("acct-ann")
            },
        )
        .expect("ann accepts");
    env.rec("accepted", &acc);
    assert_eq!(acc.member.contact_key, "ann@acme.test");
    assert_eq!(
        acc.member.groups,
        vec![GroupGrant::member(everyone.id.clone())]
    );
    assert_eq!(acc.invitation.status, InvitationStatus::Accepted);
    assert_eq!(acc.invitation.member_id.as_ref(), Some(&acc.member.id));
    assert_eq!(
        env.engine.member(&id, &me, &acc.member.id).expect("ann"),
        acc.member
    );
    assert_eq!(
        env.engine.invitation(&id, &me, &inv(0).id).expect("ann's"),
        acc.invitation
    );
    let msg = env
        .engine
        .outbox_message(report.issued[0].message_id.as_ref().expect("msg"))
        .expect("ann's message");
    assert_eq!(msg.status, OutboxStatus::Superseded);
    assert_eq!(msg.email.accept_url, "[redacted]");
    assert!(!msg.email.text_body.contains(&tok(0)));
    let r = env.engine.accept(&tok(0), registration("acct-ann-2"));
    assert_eq!(code(&r), "invitation_not_open");
    assert_eq!(
        env.engine.preview(&tok(0)).expect("preview").status,
        InvitationStatus::Accepted
    );

    // Decline.
    let declined = env.engine.decline(&tok(1)).expect("ben declines");
    assert_eq!(declined.status, InvitationStatus::Declined);
    assert_eq!(code(&env.engine.decline(&tok(1))), "invitation_not_open");
    assert_eq!(
        code(&env.engine.accept(&tok(1), registration("acct-ben"))),
        "invitation_not_open"
    );

    // Revoke.
    let revoked = env.engine.revoke(&id, &me, &inv(2).id).expect("revoke cat");
    assert_eq!(revoked.status, InvitationStatus::Revoked);
    assert_eq!(
        code(&env.engine.accept(&tok(2), registration("acct-cat"))),
        "invitation_revoked"
    );
    assert_eq!(
        code(&env.engine.revoke(&id, &me, &inv(2).id)),
        "invitation_not_open"
    );
    let cat_msg = env
        .engine
        .outbox_message(report.issued[2].message_id.as_ref().expect("msg"))
        .expect("cat's message");
    assert_eq!(cat_msg.status, OutboxStatus::Superseded);

    // Resend: cooldown, then a new secret; the old one is dead.
    let r = env.engine.resend(&id, &me, &inv(3).id);
    assert_eq!(code(&r), "resend_too_soon");
    env.advance(Duration::minutes(10));
    let resent = env.engine.resend(&id, &me, &inv(3).id).expect("resend dan");
    env.rec("resent", &resent);
    assert_eq!(resent.invitation.send_count, 2);
    assert_eq!(
        resent.invitation.expires_at,
        Some(env.now() + Duration::days(7))
    );
    assert_eq!(code(&env.engine.preview(&tok(3))), "invalid_secret");
    let new_tok = token_of(&resent);
    assert_eq!(
        env.engine
            .preview(&new_tok)
            .expect("new token")
            .invitation_id,
        inv(3).id
    );
    let old_msg = env
        .engine
        .outbox_message(report.issued[3].message_id.as_ref().expect("msg"))
        .expect("old message");
    assert_eq!(old_msg.status, OutboxStatus::Superseded);
    let new_msg = stored_message(&env.engine, resent.message_id.as_ref().expect("new msg"));
    assert_eq!(new_msg.status, OutboxStatus::Queued);
    assert!(new_msg.email.accept_url.contains(&new_tok));

    // Access codes: wrong ones count; at the limit the invitation locks.
    let code7 = token_of(&report.issued[5]);
    for attempt in 1..=4u32 {
        let r = env
            .engine
            .accept_with_code(&id, "emp-7", "WRONG-CODE1", registration("acct-7"));
        assert_eq!(code(&r), "invalid_secret");
        let stored = env.engine.invitation(&id, &me, &inv(5).id).expect("emp7");
        assert_eq!(stored.failed_attempts, attempt);
    }
    let r = env
        .engine
        .accept_with_code(&id, "EMP 7", "WRONG-CODE1", registration("acct-7"));
    // Locked for a while (issue 10: the same answer as any wrong code, and
    // never a revocation).
    assert_eq!(code(&r), "invalid_secret");
    let locked = env.engine.invitation(&id, &me, &inv(5).id).expect("emp7");
    assert_eq!(locked.status, InvitationStatus::Pending);
    assert!(locked.locked_until.is_some_and(|t| t > env.now()));
    let r = env
        .engine
        .accept_with_code(&id, "EMP-7", &code7, registration("acct-7"));
    assert_eq!(
        code(&r),
        "invalid_secret",
        "a locked invitation takes no code"
    );
    let relock = env.engine.resend(&id, &me, &inv(5).id).expect("new code");
    let new_code = token_of(&relock);
    assert_ne!(new_code, code7);
    let acc7 = env
        .engine
        .accept_with_code(
            &id,
            "emp.7",
            &new_code.to_lowercase(),
            registration("acct-7"),
        )
        .expect("accept with the new code");
    assert_eq!(acc7.member.contact, Contact::Identifier("EMP-7".into()));
    assert_eq!(acc7.member.contact_key, "emp7");
    env.rec("accepted by code", &acc7);

    // Expiry: reads show it at once; expire_due persists it.
    env.advance(Duration::days(8));
    let expired_now = env.invitations_with(&id, &[InvitationStatus::Expired]);
    let mut names: Vec<&str> = expired_now.iter().map(|i| i.recipient.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["dan@acme.test", "eve@acme.test"]);
    assert!(
        env.invitations_with(&id, &[InvitationStatus::Pending])
            .is_empty()
    );
    assert_eq!(
        code(&env.engine.accept(&tok(4), registration("acct-eve"))),
        "invitation_expired"
    );
    let n = env.engine.expire_due(env.now()).expect("expire_due");
    assert_eq!(n, 2);
    env.rec("expired", &n);
    assert_eq!(env.engine.expire_due(env.now()).expect("again"), 0);
    let trail = env.events(&id);
    let expired_events: BTreeSet<String> = trail
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::InvitationExpired { invitation } => Some(invitation.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        expired_events,
        [inv(3).id.to_string(), inv(4).id.to_string()]
            .into_iter()
            .collect()
    );
    // An expired invitation blocks nobody and can be resent.
    let re = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("eve@acme.test".into())),
        )
        .expect("invite eve again");
    assert_eq!(re.issued.len(), 1);
    let dan = env.engine.resend(&id, &me, &inv(3).id).expect("resend dan");
    assert_eq!(dan.invitation.status, InvitationStatus::Pending);
    assert_eq!(dan.invitation.send_count, 3);
    env.rec("after expiry", &(re, dan));
    check_trail(env, &id);
}

// ---------------------------------------------------------------------------

/// The invitation link and self-registration.
pub fn link_and_self_registration(env: &mut Env) {
    let (org, owner) = env.org_with_policy(policy_with(|p| p.invite_link_enabled = true));
    let id = org.id.clone();
    let me = as_member(&owner);
    let g = env
        .engine
        .create_group(
            &id,
            &me,
            NewGroup {
                name: "Linked".into(),
                ..NewGroup::default()
            },
        )
        .expect("group");
    let ActivatedLink { link, url, .. } = env
        .engine
        .activate_invite_link(
            &id,
            &me,
            LinkSpec {
                groups: vec![GroupGrant::member(g.id.clone())],
                license_type: Some("basic".into()),
                ..LinkSpec::default()
            },
        )
        .expect("activate");
    let url = url.expose().to_owned();
    assert!(link.active);
    assert_eq!(link.uses, 0);
    assert_eq!(
        env.engine.invite_link(&id, &me).expect("read link"),
        Some(link.clone())
    );
    let p = env.engine.preview_link(&url).expect("preview link");
    env.rec("link preview", &p);
    assert_eq!(p.org_name, "Acme");
    assert_eq!(p.group_names, ["Linked"]);
    assert_eq!(p.role, "member");

    let lee = env
        .engine
        .join_by_link(&url, "Lee@Acme.test", registration("acct-lee"))
        .expect("lee joins");
    assert_eq!(lee.contact_key, "lee@acme.test");
    assert_eq!(lee.groups, vec![GroupGrant::member(g.id.clone())]);
    assert_eq!(lee.license_type, "basic");
    assert_eq!(env.engine.member(&id, &me, &lee.id).expect("lee"), lee);
    let link_now = env
        .engine
        .invite_link(&id, &me)
        .expect("link")
        .expect("some");
    assert_eq!(link_now.uses, 1);
    assert_eq!(
        code(
            &env.engine
                .join_by_link(&url, "lee@acme.test", registration("acct-lee2"))
        ),
        "already_member"
    );
    assert_eq!(
        code(
            &env.engine
                .join_by_link(&url, "other@acme.test", registration("acct-lee"))
        ),
        "already_member",
        "one account, one member"
    );

    // An open invitation for the same person is closed as accepted.
    let inv = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("mo@acme.test".into())),
        )
        .expect("invite mo");
    let mo = env
        .engine
        .join_by_link(
            &url,
            "mo@acme.test",
            Registration {
                // Only a verified address closes the invitation waiting for it.
                verified_email: Some("mo@acme.test".into()),
                ..registration("acct-mo")
            },
        )
        .expect("mo joins by link");
    let closed = env
        .engine
        .invitation(&id, &me, &inv.issued[0].invitation.id)
        .expect("mo's invitation");
    assert_eq!(closed.status, InvitationStatus::Accepted);
    assert_eq!(closed.member_id, Some(mo.id.clone()));

    // Deactivate, reactivate: the old link stays dead.
    env.engine
        .deactivate_invite_link(&id, &me)
        .expect("deactivate");
    assert!(
        !env.engine
            .invite_link(&id, &me)
            .expect("link")
            .expect("some")
            .active
    );
    assert_eq!(
        code(
            &env.engine
                .join_by_link(&url, "nat@acme.test", registration("acct-nat"))
        ),
        "invalid_secret"
    );
    assert_eq!(code(&env.engine.preview_link(&url)), "invalid_secret");
    let ActivatedLink {
        link: relinked,
        url: url2,
        ..
    } = env
        .engine
        .activate_invite_link(&id, &me, LinkSpec::default())
        .expect("activate again");
    assert_eq!(relinked.uses, 0);
    assert_ne!(url2.expose(), url.as_str());
    assert_eq!(
        code(
            &env.engine
                .join_by_link(&url, "nat@acme.test", registration("acct-nat"))
        ),
        "invalid_secret"
    );
    let nat = env
        .engine
        .join_by_link(url2.expose(), "nat@acme.test", registration("acct-nat"))
        .expect("nat joins by the new link");
    assert_eq!(nat.license_type, "standard");

    // Self-registration.
    assert_eq!(
        code(
            &env.engine
                .self_register(&id, "sue@acme.test", registration("acct-sue"))
        ),
        "disabled"
    );
    let mut p = env.engine.organization(&id).expect("org").policy;
    p.self_registration = true;
    p.invite_link_enabled = false;
    env.engine.update_policy(&id, &me, p).expect("policy");
    assert_eq!(
        code(
            &env.engine
                .join_by_link(url2.expose(), "x@acme.test", registration("acct-x"))
        ),
        "disabled"
    );
    let sue = env
        .engine
        .self_register(&id, "sue@acme.test", registration("acct-sue"))
        .expect("sue registers");
    assert_eq!(sue.role, "member");
    let badge = env
        .engine
        .self_register(&id, "BADGE-9", registration("acct-badge"))
        .expect("registers by identifier");
    assert_eq!(badge.contact, Contact::Identifier("BADGE-9".into()));
    assert_eq!(badge.contact_key, "badge9");
    env.rec("joined", &(lee, mo, nat, sue, badge));

    let trail = check_trail(env, &id);
    let vias: Vec<&JoinedVia> = trail
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::MemberJoined { via, .. } => Some(via),
            _ => None,
        })
        .collect();
    assert_eq!(
        vias,
        [
            &JoinedVia::Founding,
            &JoinedVia::InviteLink,
            &JoinedVia::InviteLink,
            &JoinedVia::InviteLink,
            &JoinedVia::SelfRegistration,
            &JoinedVia::SelfRegistration
        ]
    );
}

// ---------------------------------------------------------------------------

/// Members: list, search, filter, sort, paginate, update, deactivate,
/// reactivate, remove, activity, license usage.
pub fn members(env: &mut Env) {
    let (org, owner) = env.org_with_policy(policy_with(|p| {
        p.seat_limits.insert("pro".into(), 3);
    }));
    let id = org.id.clone();
    let me = as_member(&owner);
    let g = env
        .engine
        .create_group(
            &id,
            &me,
            NewGroup {
                name: "G".into(),
                ..NewGroup::default()
            },
        )
        .expect("group");
    // 20 people with keys that sort differently bytewise and by locale.
    let people = [
        "zoe@acme.test",
        "Adam@acme.test",
        "a.b@acme.test",
        "a-b@acme.test",
        "a_b@acme.test",
        "ab@acme.test",
        "émile@acme.test",
        "Émilie@acme.test",
        "ömer@acme.test",
        "o'brien@acme.test",
        "x%y@acme.test",
        "bob@partner.test",
        "carl@acme.test",
        "dora@acme.test",
        "ed@acme.test",
        "fay@acme.test",
        "gus@acme.test",
        "hal@acme.test",
        "ivy@acme.test",
        "用户@acme.test",
    ];
    let mut joined = vec![owner.clone()];
    for (i, p) in people.iter().enumerate() {
        let row = RecipientInput {
            email: Some((*p).to_owned()),
            groups: (i % 2 == 0).then(|| vec![GroupGrant::member(g.id.clone())]),
            ..RecipientInput::default()
        };
        let role = if i % 5 == 0 { "user_admin" } else { "member" };
        joined.push(env.join_with(&id, row, role, &format!("acct-{i}")));
        env.advance(Duration::seconds(1));
    }
    let mut expected = joined.clone();
    expected.sort_by(|a, b| (&a.contact_key, &a.id).cmp(&(&b.contact_key, &b.id)));

    let walk = |env: &Env, q: MemberQuery| env.members(&id, q);
    for limit in [1, 7, 1000] {
        let got = walk(
            env,
            MemberQuery {
                limit,
                ..MemberQuery::default()
            },
        );
        assert_eq!(
            got, expected,
            "ascending by contact key (bytes), page {limit}"
        );
        let got = walk(
            env,
            MemberQuery {
                limit,
                sort: MemberSort::EmailDesc,
                ..MemberQuery::default()
            },
        );
        let mut rev = expected.clone();
        rev.reverse();
        assert_eq!(got, rev, "descending, page {limit}");
    }
    // An exact last page has no cursor.
    let page = env
        .engine
        .list_members(
            &id,
            &me,
            &MemberQuery {
                limit: 21,
                ..MemberQuery::default()
            },
        )
        .expect("page");
    assert_eq!(page.items.len(), 21);
    assert!(page.next_cursor.is_none(), "21 members, page of 21");
    assert_eq!(
        code(&env.engine.list_members(
            &id,
            &me,
            &MemberQuery {
                limit: 0,
                ..MemberQuery::default()
            }
        )),
        "limit_exceeded"
    );
    let page = env
        .engine
        .list_members(
            &id,
            &me,
            &MemberQuery {
                limit: 4,
                ..MemberQuery::default()
            },
        )
        .expect("first page");
    env.rec_page("first page", &page);

    let filtered = |q: &MemberQuery| -> Vec<Member> {
        expected.iter().filter(|m| q.matches(m)).cloned().collect()
    };
    let queries = [
        MemberQuery {
            search: Some("ACME".into()),
            limit: 3,
            ..MemberQuery::default()
        },
        MemberQuery {
            search: Some("É".into()),
            limit: 2,
            ..MemberQuery::default()
        },
        MemberQuery {
            search: Some("_".into()),
            ..MemberQuery::default()
        },
        MemberQuery {
            search: Some("%".into()),
            ..MemberQuery::default()
        },
        MemberQuery {
            search: Some("o'b".into()),
            ..MemberQuery::default()
        },
        MemberQuery {
            role: Some("user_admin".into()),
            limit: 2,
            ..MemberQuery::default()
        },
        MemberQuery {
            group: Some(g.id.clone()),
            limit: 3,
            sort: MemberSort::EmailDesc,
            ..MemberQuery::default()
        },
        MemberQuery {
            group: Some(g.id.clone()),
            role: Some("member".into()),
            search: Some("a".into()),
            limit: 2,
            ..MemberQuery::default()
        },
    ];
    for q in &queries {
        let mut want = filtered(q);
        if q.sort == MemberSort::EmailDesc {
            want.reverse();
        }
        assert!(
            !want.is_empty(),
            "a query that matches nobody tests little: {q:?}"
        );
        assert_eq!(walk(env, q.clone()), want, "query {q:?}");
    }
    let underscore = walk(env, queries[2].clone());
    assert_eq!(
        underscore
            .iter()
            .map(|m| m.contact_key.as_str())
            .collect::<Vec<_>>(),
        ["a_b@acme.test"],
        "search is literal: '_' is no wildcard"
    );
    let percent = walk(env, queries[3].clone());
    assert_eq!(
        percent
            .iter()
            .map(|m| m.contact_key.as_str())
            .collect::<Vec<_>>(),
        ["x%y@acme.test"],
        "search is literal: '%' is no wildcard"
    );
    let accented = walk(env, queries[1].clone());
    assert_eq!(
        accented
            .iter()
            .map(|m| m.contact_key.as_str())
            .collect::<Vec<_>>(),
        ["émile@acme.test", "émilie@acme.test"],
        "search lowercases Unicode"
    );

    // Update.
    let target = joined[13].clone(); // carl
    let upd = env
        .engine
        .update_member(
            &id,
            &me,
            &target.id,
            MemberUpdate {
                first_name: Some("  Carl ".into()),
                last_name: Some("".into()),
                phone: Some("+1 555 0100".into()),
                role: Some("admin".into()),
                groups: Some(vec![GroupGrant::owner(g.id.clone())]),
                license_type: Some("pro".into()),
                attributes: None,
                ..MemberUpdate::default()
            },
        )
        .expect("update carl");
    env.rec("updated", &upd);
    assert_eq!(upd.first_name.as_deref(), Some("Carl"));
    assert_eq!(upd.last_name, None);
    assert_eq!(upd.phone.as_deref(), Some("+1 555 0100"));
    assert_eq!(upd.role, "admin");
    assert_eq!(upd.groups, vec![GroupGrant::owner(g.id.clone())]);
    assert_eq!(upd.license_type, "pro");
    assert_eq!(env.engine.member(&id, &me, &target.id).expect("carl"), upd);
    // Seats: three pro seats.
    for i in [14, 15] {
        env.engine
            .update_member(
                &id,
                &me,
                &joined[i].id,
                MemberUpdate {
                    license_type: Some("pro".into()),
                    ..MemberUpdate::default()
                },
            )
            .expect("pro seat");
    }
    let before = env.events(&id).len();
    let r = env.engine.update_member(
        &id,
        &me,
        &joined[16].id,
        MemberUpdate {
            license_type: Some("pro".into()),
            ..MemberUpdate::default()
        },
    );
    assert_eq!(code(&r), "limit_exceeded");
    assert_eq!(
        env.events(&id).len(),
        before,
        "a refused update adds no event"
    );
    assert_eq!(
        env.engine
            .member(&id, &me, &joined[16].id)
            .expect("gus")
            .license_type,
        "standard"
    );
    let usage = env.engine.license_usage(&id, &me).expect("usage");
    env.rec("usage", &usage);
    let pro = usage.iter().find(|u| u.license_type == "pro").expect("pro");
    assert_eq!((pro.used, pro.pending, pro.limit), (3, 0, Some(3)));
    let standard = usage
        .iter()
        .find(|u| u.license_type == "standard")
        .expect("standard");
    assert_eq!((standard.used, standard.limit), (21 - 3, None));

    // Deactivate frees the seat; reactivating needs one.
    let dea = env
        .engine
        .deactivate_member(&id, &me, &joined[14].id)
        .expect("deactivate");
    assert_eq!(dea.status, MemberStatus::Inactive);
    env.engine
        .update_member(
            &id,
            &me,
            &joined[16].id,
            MemberUpdate {
                license_type: Some("pro".into()),
                ..MemberUpdate::default()
            },
        )
        .expect("the freed pro seat");
    assert_eq!(
        code(&env.engine.reactivate_member(&id, &me, &joined[14].id)),
        "limit_exceeded"
    );
    assert_eq!(
        walk(
            env,
            MemberQuery {
                statuses: vec![MemberStatus::Inactive],
                ..MemberQuery::default()
            }
        ),
        vec![dea.clone()]
    );
    env.engine
        .deactivate_member(&id, &me, &joined[16].id)
        .expect("deactivate gus");
    let rea = env
        .engine
        .reactivate_member(&id, &me, &joined[14].id)
        .expect("reactivate");
    assert_eq!(rea.status, MemberStatus::Active);
    // The last owner stays.
    assert_eq!(
        code(&env.engine.deactivate_member(&id, &me, &owner.id)),
        "conflict"
    );
    assert_eq!(
        code(&env.engine.remove_member(&id, &me, &owner.id)),
        "conflict"
    );

    // Remove: a tombstone; the address is free again.
    let zoe = joined[1].clone();
    let removed = env.engine.remove_member(&id, &me, &zoe.id).expect("remove");
    assert_eq!(removed.status, MemberStatus::Removed);
    assert!(removed.groups.is_empty());
    assert_eq!(removed.removed_at, Some(env.now()));
    assert_eq!(
        env.engine.member(&id, &me, &zoe.id).expect("tombstone"),
        removed
    );
    assert!(
        !walk(env, MemberQuery::default())
            .iter()
            .any(|m| m.id == zoe.id)
    );
    assert_eq!(
        walk(
            env,
            MemberQuery {
                statuses: vec![MemberStatus::Removed],
                ..MemberQuery::default()
            }
        ),
        vec![removed.clone()]
    );
    assert_eq!(
        code(&env.engine.reactivate_member(&id, &me, &zoe.id)),
        "conflict"
    );
    let zoe2 = env.join(&id, "ZOE@acme.test", "member", "acct-0");
    assert_ne!(zoe2.id, zoe.id, "a new member, the same account");
    assert_eq!(zoe2.contact_key, zoe.contact_key);

    // Activity: forward only, no event.
    let before = env.events(&id).len();
    env.engine
        .record_activity(&id, &zoe2.id, at(5000))
        .expect("activity");
    env.engine
        .record_activity(&id, &zoe2.id, at(4000))
        .expect("older activity");
    assert_eq!(
        env.engine
            .member(&id, &me, &zoe2.id)
            .expect("zoe")
            .last_active_at,
        Some(at(5000))
    );
    assert_eq!(env.events(&id).len(), before);
    assert_eq!(
        code(
            &env.engine
                .record_activity(&id, &crate::MemberId::from("mem_x"), at(1))
        ),
        "not_found"
    );
    env.rec("members", &walk(env, MemberQuery::default()));
    check_trail(env, &id);
}

// ---------------------------------------------------------------------------

/// The outbox: delivery through a mailer, the host's own queue (claim,
/// mark sent, mark failed), retries with backoff, and never twice.
pub fn outbox(env: &mut Env) {
    let (org, owner) = env.org();
    let id = org.id.clone();
    let me = as_member(&owner);
    let report = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::List(vec![
                RecipientInput::email("m1@acme.test"),
                RecipientInput::email("m2@acme.test"),
                RecipientInput::email("m3@acme.test"),
                RecipientInput::identifier("no-mail-1"),
            ])),
        )
        .expect("invite");
    let msg = |i: usize| report.issued[i].message_id.clone().expect("queued");

    // Claims hide messages for claim_secs.
    let claimed = env.engine.claim_due(Some(&id), 10).expect("claim");
    env.rec("claimed", &claimed);
    let mut claimed_ids: Vec<_> = claimed.iter().map(|m| m.id.clone()).collect();
    claimed_ids.sort();
    let mut want = vec![msg(0), msg(1), msg(2)];
    want.sort();
    assert_eq!(claimed_ids, want);
    for m in &claimed {
        assert_eq!(m.next_attempt_at, env.now() + Duration::seconds(300));
        assert_eq!(
            stored_message(&env.engine, &m.id),
            m.clone(),
            "a claim is stored"
        );
    }
    assert!(
        env.engine
            .claim_due(None, 10)
            .expect("claim again")
            .is_empty()
    );

    // Mark sent: once.
    assert!(env.engine.mark_sent(&msg(0)).expect("mark sent"));
    assert!(!env.engine.mark_sent(&msg(0)).expect("mark sent again"));
    let m0 = env.engine.outbox_message(&msg(0)).expect("m0");
    assert_eq!(m0.status, OutboxStatus::Sent);
    assert_eq!(m0.attempts, 1);
    assert_eq!(m0.sent_at, Some(env.now()));
    assert_eq!(m0.email.accept_url, "[redacted]");
    assert_eq!(
        env.engine
            .mark_failed(&msg(0), "late failure", false)
            .expect("no-op"),
        None
    );

    // Mark failed: retried with backoff, or given up.
    assert_eq!(
        env.engine
            .mark_failed(&msg(1), "421 try\r\nlater", false)
            .expect("fail"),
        Some(OutboxStatus::Queued)
    );
    let m1 = env.engine.outbox_message(&msg(1)).expect("m1");
    assert_eq!(m1.attempts, 1);
    assert_eq!(m1.last_error.as_deref(), Some("421 trylater"));
    // The first backoff (60 s) less its jitter (under a quarter), the
    // same for every store.
    let wait = m1.next_attempt_at - env.now();
    assert!(wait > Duration::seconds(45) && wait <= Duration::seconds(60));
    assert_eq!(
        wait,
        crate::RetryPolicy::default().jittered_delay(&msg(1), 1)
    );
    assert_eq!(
        env.engine
            .mark_failed(&msg(2), "550 no such user", true)
            .expect("fail for good"),
        Some(OutboxStatus::Failed)
    );
    assert_eq!(
        env.engine
            .outbox_message(&msg(2))
            .expect("m2")
            .email
            .accept_url,
        "[redacted]"
    );
    assert_eq!(
        code(&env.engine.mark_sent(&crate::MessageId::from("msg_nope"))),
        "not_found"
    );

    // deliver_pending: nothing due yet; then a temporary failure; then sent.
    let mailer = RecordingMailer::new();
    let r = env.engine.deliver_pending(&mailer, 10).expect("deliver");
    assert!(r.sent.is_empty() && r.retrying.is_empty() && r.failed.is_empty());
    env.advance(Duration::seconds(61));
    mailer.fail_next([MailError::Temporary("timeout".into())]);
    let r = env.engine.deliver_pending(&mailer, 10).expect("deliver");
    assert_eq!(r.retrying, vec![msg(1)]);
    let m1 = env.engine.outbox_message(&msg(1)).expect("m1");
    assert_eq!(m1.attempts, 2);
    assert_eq!(
        m1.next_attempt_at,
        env.now() + crate::RetryPolicy::default().jittered_delay(&msg(1), 2)
    );
    env.advance(Duration::seconds(121));
    let r = env.engine.deliver_pending(&mailer, 10).expect("deliver");
    assert_eq!(r.sent, vec![msg(1)]);
    env.rec("delivered", &r);
    let r = env
        .engine
        .deliver_pending(&mailer, 10)
        .expect("deliver again");
    assert!(r.sent.is_empty(), "never twice");
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "m2@acme.test");
    assert_eq!(sent[0].message_id, msg(1));
    assert!(sent[0].accept_url.contains(&token_of(&report.issued[1])));

    // A worker that dies mid-send: the claim lapses and another takes it.
    let late = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("m4@acme.test m5@acme.test".into())),
        )
        .expect("invite more");
    let c = env.engine.claim_due(None, 1).expect("claim one");
    assert_eq!(c.len(), 1);
    let lost = c[0].id.clone();
    let other = env.engine.claim_due(None, 10).expect("claim the rest");
    assert_eq!(other.len(), 1);
    assert_ne!(other[0].id, lost);
    env.advance(Duration::seconds(299));
    assert!(env.engine.claim_due(None, 10).expect("claimed").is_empty());
    env.advance(Duration::seconds(2));
    let again = env.engine.claim_due(None, 10).expect("claims lapsed");
    let mut again_ids: Vec<_> = again.iter().map(|m| m.id.clone()).collect();
    again_ids.sort();
    let mut both = vec![lost.clone(), other[0].id.clone()];
    both.sort();
    assert_eq!(again_ids, both);
    // A superseded message is never delivered.
    env.engine
        .revoke(&id, &me, &late.issued[1].invitation.id)
        .expect("revoke m5");
    env.advance(Duration::seconds(301));
    let r = env.engine.deliver_pending(&mailer, 10).expect("deliver");
    assert_eq!(r.sent, vec![late.issued[0].message_id.clone().expect("m4")]);
    assert_eq!(mailer.sent().len(), 2);

    // Giving up after max_attempts.
    let mut cfg = EngineConfig::default();
    cfg.retry.max_attempts = 2;
    let strict = env.engine.clone().with_config(cfg);
    let r = strict
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("m6@acme.test".into())),
        )
        .expect("invite m6");
    let m6 = r.issued[0].message_id.clone().expect("m6");
    mailer.fail_next([
        MailError::Temporary("busy".into()),
        MailError::Temporary("busy".into()),
    ]);
    let d = strict.deliver_pending(&mailer, 10).expect("deliver");
    assert_eq!(d.retrying, vec![m6.clone()]);
    env.advance(Duration::seconds(61));
    let d = strict.deliver_pending(&mailer, 10).expect("deliver");
    assert_eq!(d.failed, vec![m6.clone()]);
    let stored = strict.outbox_message(&m6).expect("m6");
    assert_eq!((stored.status, stored.attempts), (OutboxStatus::Failed, 2));
    env.rec("m6", &stored);

    let trail = check_trail(env, &id);
    let mail: Vec<String> = trail
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::EmailSent { to, .. } => Some(format!("sent {to}")),
            EventKind::EmailFailed {
                to,
                attempts,
                gave_up,
                ..
            } => Some(format!("failed {to} {attempts} {gave_up}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        mail,
        [
            "sent m1@acme.test",
            "failed m2@acme.test 1 false",
            "failed m3@acme.test 1 true",
            "failed m2@acme.test 2 false",
            "sent m2@acme.test",
            "sent m4@acme.test",
            "failed m6@acme.test 1 false",
            "failed m6@acme.test 2 true",
        ]
    );
}

// ---------------------------------------------------------------------------

/// Two organizations in one store stay apart: the same person in both,
/// events numbered per organization, tokens of one useless in the other.
pub fn organizations_are_isolated(env: &mut Env) {
    let (a, owner_a) = env.org();
    let r = env.engine.create_organization(
        crate::NewOrganization::new("Beta", "acct-owner", "owner@acme.test")
            .with_owner_name("Olive", "Owner"),
    );
    env.rec_result("second org", &r);
    let crate::CreatedOrganization {
        organization: b,
        owner: owner_b,
        ..
    } = r.expect("same owner, second organization");
    assert_ne!(a.id, b.id);
    assert_eq!(owner_a.contact_key, owner_b.contact_key);
    let ra = env
        .engine
        .invite(
            &a.id,
            &as_member(&owner_a),
            InviteRequest::new(Recipients::Paste("same@acme.test".into())),
        )
        .expect("invite in A");
    let rb = env
        .engine
        .invite(
            &b.id,
            &as_member(&owner_b),
            InviteRequest::new(Recipients::Paste("same@acme.test".into())),
        )
        .expect("invite in B: another organization");
    assert_eq!(ra.issued.len(), 1);
    assert_eq!(rb.issued.len(), 1);
    let ma = env
        .engine
        .accept(&token_of(&ra.issued[0]), registration("acct-same"))
        .expect("accept A");
    let mb = env
        .engine
        .accept(&token_of(&rb.issued[0]), registration("acct-same"))
        .expect("accept B with the same account");
    assert_eq!(ma.member.org_id, a.id);
    assert_eq!(mb.member.org_id, b.id);
    // A token with the other organization's prefix finds nothing.
    let tok = token_of(&ra.issued[0]);
    let swapped = tok.replacen(a.id.as_str(), b.id.as_str(), 1);
    assert_eq!(code(&env.engine.preview(&swapped)), "invalid_secret");
    assert_eq!(
        code(&env.engine.member(&b.id, &Actor::System, &ma.member.id)),
        "not_found"
    );
    let ea = check_trail(env, &a.id);
    let eb = check_trail(env, &b.id);
    assert_eq!(ea.len(), eb.len());
    assert!(ea.iter().all(|e| e.org_id == a.id));
    assert!(eb.iter().all(|e| e.org_id == b.id));
    assert_eq!(env.members_with(&a.id, &[]).len(), 2);
    assert_eq!(env.members_with(&b.id, &[]).len(), 2);
}

/// Email templates through the engine: only an actor with
/// `manage_policy` reads or writes them (refused before the template is
/// even checked); a template is checked when saved; an invitation's email
/// comes from the template of the organization's locale (`fr-CA` falls
/// back to `fr`), with the organization's default message, autoescaped
/// HTML and the link in both parts; a preview shows a placeholder link and
/// writes nothing; a deleted template falls back to the crate's default.
pub fn email_templates(env: &mut Env) {
    use crate::{EmailPreviewRequest, NewEmailTemplate};
    let (org, owner) = env.org();
    let id = org.id.clone();
    let me = as_member(&owner);
    // A plain member, to be refused.
    let r = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("plain@acme.test".into())),
        )
        .expect("invite");
    let plain = env
        .engine
        .accept(&token_of(&r.issued[0]), registration("acct-plain"))
        .expect("accept")
        .member;
    let plain = as_member(&plain);

    let fr = NewEmailTemplate::new(
        "fr",
        "{{ inviter }} vous invite à rejoindre {{ organization }}",
        "Bonjour {{ recipient_name or '' }},\n\n{% if personal_message %}{{ personal_message }}\n\n{% endif %}Acceptez : {{ accept_url }}\nExpire le {{ expires_at }}.\n",
    )
    .html("<p>Bonjour {{ recipient_name }}</p><p>{{ personal_message }}</p><a href=\"{{ accept_url }}\">Accepter</a>");
    // Refused before the template is checked: a denied actor learns
    // nothing about it, and costs no render.
    let bad = NewEmailTemplate::new("fr", "{{", "no link");
    for r in [
        env.engine
            .set_email_template(&id, &plain, bad.clone())
            .map(|_| ()),
        env.engine
            .set_email_template(&id, &plain, fr.clone())
            .map(|_| ()),
        env.engine.email_templates(&id, &plain).map(|_| ()),
        env.engine.email_template(&id, &plain, "fr").map(|_| ()),
        env.engine
            .delete_email_template(&id, &plain, "fr")
            .map(|_| ()),
        env.engine.email_settings(&id, &plain).map(|_| ()),
        env.engine
            .set_email_settings(&id, &plain, "fr", Some("x"))
            .map(|_| ()),
        env.engine
            .preview_email(&id, &plain, EmailPreviewRequest::default())
            .map(|_| ()),
    ] {
        env.rec_result("denied", &r);
        assert!(
            matches!(
                r,
                Err(crate::Error::PermissionDenied {
                    permission: Permission::ManagePolicy,
                    ..
                })
            ),
            "{r:?}"
        );
    }
    // Checked when saved.
    let r = env.engine.set_email_template(&id, &me, bad);
    env.rec_result("bad template", &r);
    assert_eq!(code(&r), "invalid_input");
    let no_link = NewEmailTemplate::new("fr", "Salut", "Bonjour {{ recipient_name }}");
    let r = env.engine.set_email_template(&id, &me, no_link);
    env.rec_result("no link", &r);
    assert!(
        matches!(&r, Err(crate::Error::InvalidInput { field, .. }) if field == "template.text_body"),
        "{r:?}"
    );
    let saved = env.engine.set_email_template(&id, &me, fr.clone());
    env.rec_result("set fr", &saved);
    let saved = saved.expect("a valid template");
    assert_eq!(saved.locale, "fr");
    let r = env.engine.set_email_template(
        &id,
        &me,
        NewEmailTemplate::new(
            "de",
            "Einladung zu {{ organization }}",
            "{{ accept_url }} bis {{ expires_at }}",
        ),
    );
    env.rec_result("set de", &r);
    let r = env
        .engine
        .set_email_settings(&id, &me, "fr-ca", Some("Bienvenue chez Acme !"));
    env.rec_result("settings", &r);
    assert_eq!(r.expect("settings").default_locale, "fr-CA");
    let listed = env.engine.email_templates(&id, &me).expect("list");
    env.rec("templates", &listed);
    assert_eq!(
        listed.iter().map(|t| t.locale.as_str()).collect::<Vec<_>>(),
        ["de", "fr"]
    );
    assert_eq!(
        env.engine.email_template(&id, &me, "FR").expect("get"),
        Some(saved.clone())
    );
    assert_eq!(
        env.engine.email_template(&id, &me, "es").expect("get"),
        None
    );

    // An invitation's email: fr-CA -> fr, the default message, escaped HTML.
    let r = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::List(vec![RecipientInput {
                first_name: Some("<script>x</script>".into()),
                ..RecipientInput::email("dana@acme.test")
            }])),
        )
        .expect("invite");
    let msg = stored_message(
        &env.engine,
        r.issued[0].message_id.as_ref().expect("queued"),
    );
    env.rec("email", &msg.email);
    let e = &msg.email;
    assert_eq!(e.subject, "Olive Owner vous invite à rejoindre Acme");
    assert!(
        e.text_body
            .starts_with("Bonjour <script>x</script>,\n\nBienvenue chez Acme !\n\nAcceptez : "),
        "{}",
        e.text_body
    );
    assert!(
        e.text_body
            .contains(&format!("Acceptez : {}\n", e.accept_url))
    );
    let expiry = r.issued[0].invitation.expires_at.expect("an expiry");
    assert!(e.text_body.contains(&format!(
        "Expire le {}.",
        expiry.format("%d/%m/%Y %H:%M UTC")
    )));
    let html = e.html_body.as_deref().expect("the fr template has HTML");
    assert!(
        html.contains("Bonjour &lt;script&gt;x&lt;") && !html.contains("<script>"),
        "{html}"
    );
    assert!(
        html.contains(&format!("href=\"{}\"", e.accept_url)),
        "{html}"
    );
    assert_eq!(e.personal_message.as_deref(), Some("Bienvenue chez Acme !"));
    let token = token_of(&r.issued[0]);

    // Preview: sample data, a placeholder link, nothing written.
    let events_before = env.events(&id).len();
    let p = env
        .engine
        .preview_email(&id, &me, EmailPreviewRequest::default())
        .expect("preview");
    env.rec("preview", &p);
    assert_eq!(p.template_locale.as_deref(), Some("fr"));
    assert!(p.text_body.contains("PREVIEW-NOT-A-REAL-TOKEN"));
    assert!(p.text_body.contains("Bienvenue chez Acme !"));
    // With an invitation's data: its name, never its live token.
    let p = env
        .engine
        .preview_email(
            &id,
            &me,
            EmailPreviewRequest::default()
                .invitation(r.issued[0].invitation.id.clone())
                .locale("de"),
        )
        .expect("preview");
    env.rec("preview de", &p);
    assert_eq!(p.template_locale.as_deref(), Some("de"));
    assert!(!p.text_body.contains(&token) && !p.subject.contains(&token));
    assert!(
        p.text_body
            .contains(&expiry.format("%d.%m.%Y %H:%M UTC").to_string()),
        "{}",
        p.text_body
    );
    // A proposed template, checked, not saved.
    let p = env.engine.preview_email(
        &id,
        &me,
        EmailPreviewRequest::default().template(NewEmailTemplate::new(
            "es",
            "Hola {{ recipient_name }}",
            "{{ accept_url }}",
        )),
    );
    env.rec_result("preview proposed", &p);
    assert_eq!(p.expect("preview").subject, "Hola Dana Doe");
    let p = env.engine.preview_email(
        &id,
        &me,
        EmailPreviewRequest::default().template(NewEmailTemplate::new("es", "Hola", "sin enlace")),
    );
    env.rec_result("preview bad", &p);
    assert_eq!(code(&p), "invalid_input");
    let p = env.engine.preview_email(
        &id,
        &me,
        EmailPreviewRequest::default().invitation(crate::InvitationId::from("inv_nope")),
    );
    env.rec_result("preview unknown invitation", &p);
    assert_eq!(code(&p), "not_found");
    assert_eq!(
        env.events(&id).len(),
        events_before,
        "a preview writes nothing"
    );
    assert_eq!(env.engine.email_templates(&id, &me).expect("list").len(), 2);

    // An inviter's own message wins over the default one.
    let r = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("fred@acme.test".into()))
                .message("Mon propre mot"),
        )
        .expect("invite");
    let msg = stored_message(
        &env.engine,
        r.issued[0].message_id.as_ref().expect("queued"),
    );
    env.rec("email with a message", &msg.email);
    assert_eq!(
        msg.email.personal_message.as_deref(),
        Some("Mon propre mot")
    );
    assert!(
        msg.email.text_body.contains("Mon propre mot")
            && !msg.email.text_body.contains("Bienvenue")
    );

    // An invitation in another language: its template, kept for resends.
    let r = env.engine.invite(
        &id,
        &me,
        InviteRequest::new(Recipients::Paste("gus@acme.test".into())).locale("not a tag"),
    );
    env.rec_result("invite with a bad locale", &r);
    assert_eq!(code(&r), "invalid_input");
    let r = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("gus@acme.test".into())).locale("DE-at"),
        )
        .expect("invite");
    let gus = r.issued[0].invitation.clone();
    assert_eq!(gus.locale.as_deref(), Some("de-AT"));
    let msg = stored_message(
        &env.engine,
        r.issued[0].message_id.as_ref().expect("queued"),
    );
    env.rec("email in German", &msg.email);
    assert_eq!(msg.email.subject, "Einladung zu Acme");
    env.advance(Duration::hours(1));
    let again = env.engine.resend(&id, &me, &gus.id).expect("resend");
    let msg = stored_message(&env.engine, again.message_id.as_ref().expect("queued"));
    env.rec("resent in German", &msg.email);
    assert_eq!(msg.email.subject, "Einladung zu Acme");

    // Deleted: the crate's default (English) again.
    let r = env.engine.delete_email_template(&id, &me, "fr");
    env.rec_result("delete fr", &r);
    assert_eq!(r.ok(), Some(true));
    let r = env.engine.delete_email_template(&id, &me, "fr");
    env.rec_result("delete fr again", &r);
    assert_eq!(r.ok(), Some(false));
    let r = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("erin@acme.test".into())),
        )
        .expect("invite");
    let msg = stored_message(
        &env.engine,
        r.issued[0].message_id.as_ref().expect("queued"),
    );
    env.rec("email after delete", &msg.email);
    assert_eq!(
        msg.email.subject,
        "Olive Owner invited you to join Acme on enlist"
    );
    assert!(
        msg.email
            .text_body
            .contains("Message from Olive Owner:\n\nBienvenue chez Acme !")
    );
    let kinds: Vec<_> = env
        .events(&id)
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::PolicyChanged { fields } => Some(fields),
            _ => None,
        })
        .collect();
    env.rec("policy events", &kinds);
    assert_eq!(
        kinds,
        [
            vec!["email_template:fr".to_owned()],
            vec!["email_template:de".to_owned()],
            vec!["email_settings".to_owned()],
            vec!["email_template:fr".to_owned()],
        ]
    );
}

/// Bulk actions through the store: a wrong number changes nothing; a
/// refused row (a user admin's selection holding the owner) rolls every
/// other row back; the right number removes members and revokes a staged
/// invitation at once, one event each; a bulk resend gives every
/// invitation a new expiry.
pub fn bulk_actions(env: &mut Env) {
    use crate::{BulkAction, BulkOutcome, BulkRequest, Error};
    let (org, owner) = env.org();
    let id = org.id.clone();
    let me = as_member(&owner);
    let ua = env.join(&id, "uma@acme.test", "user_admin", "acct-uma");
    let ann = env.join(&id, "ann@acme.test", "member", "acct-ann");
    let ben = env.join(&id, "ben@acme.test", "member", "acct-ben");
    let staged = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("cal@acme.test".into())).staged(),
        )
        .expect("staged");
    let cal = staged.issued[0].invitation.id.clone();
    let statuses = |env: &Env| -> Vec<MemberStatus> {
        [&ann, &ben, &owner]
            .iter()
            .map(|m| {
                env.engine
                    .member(&id, &Actor::System, &m.id)
                    .expect("member")
                    .status
            })
            .collect()
    };
    let events = env.events(&id).len();

    // A user admin's selection holding the owner: refused, nothing changes.
    let uma = as_member(&ua);
    let with_owner =
        BulkRequest::members(BulkAction::Remove, vec![ann.id.clone(), owner.id.clone()]);
    let number = env
        .engine
        .bulk_confirmation(&id, &uma, &with_owner)
        .expect("confirmation")
        .number
        .expect("a number");
    let report = env
        .engine
        .bulk_action(&id, &uma, &with_owner, Some(&number))
        .expect("a report");
    env.rec("refused bulk", &report);
    assert!(!report.applied);
    assert_eq!(report.rows[0].outcome, BulkOutcome::NotApplied);
    assert_eq!(report.rows[1].code.as_deref(), Some("permission_denied"));
    assert_eq!(statuses(env), [MemberStatus::Active; 3]);
    assert_eq!(env.events(&id).len(), events);

    // The owner deletes Ann, Ben and the saved-only Cal.
    let delete = BulkRequest {
        invitations: vec![cal.clone()],
        ..BulkRequest::members(BulkAction::Remove, vec![ann.id.clone(), ben.id.clone()])
    };
    let number = env
        .engine
        .bulk_confirmation(&id, &me, &delete)
        .expect("confirmation")
        .number
        .expect("a number");
    let wrong = format!(
        "{:06}",
        (number.parse::<u32>().unwrap_or(0) + 1) % 1_000_000
    );
    let r = env.engine.bulk_action(&id, &me, &delete, Some(&wrong));
    env.rec("wrong number", &code(&r));
    assert!(matches!(r, Err(Error::ConfirmationMismatch)), "{r:?}");
    assert_eq!(statuses(env), [MemberStatus::Active; 3]);
    assert_eq!(env.events(&id).len(), events);
    let report = env
        .engine
        .bulk_action(&id, &me, &delete, Some(&number))
        .expect("a report");
    env.rec("bulk delete", &report);
    assert!(report.applied);
    assert_eq!(report.changed(), 3);
    assert_eq!(
        statuses(env),
        [
            MemberStatus::Removed,
            MemberStatus::Removed,
            MemberStatus::Active
        ]
    );
    let inv = env.engine.invitation(&id, &me, &cal).expect("invitation");
    assert_eq!(inv.status, InvitationStatus::Revoked);
    let trail = env.events(&id);
    assert_eq!(
        kinds(&trail[events..]),
        ["MemberRemoved", "MemberRemoved", "InvitationRevoked"]
    );

    // A bulk resend of two expired invitations: both pending again.
    let sent = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("dan@acme.test, eve@acme.test".into())),
        )
        .expect("invite");
    let ids: Vec<_> = sent
        .issued
        .iter()
        .map(|i| i.invitation.id.clone())
        .collect();
    env.advance(Duration::days(30));
    let report = env
        .engine
        .bulk_action(
            &id,
            &me,
            &BulkRequest::invitations(BulkAction::Resend, ids.clone()),
            None,
        )
        .expect("a report");
    env.rec("bulk resend", &report);
    assert!(report.applied);
    for i in &ids {
        let inv = env.engine.invitation(&id, &me, i).expect("invitation");
        assert_eq!((inv.status, inv.send_count), (InvitationStatus::Pending, 2));
    }
}

/// Batch reports through the engine: an invite with errors, a staged send
/// and an import over two batches each keep their report, read back by
/// batch id (both views, CSV and the rows of the XLSX), refused to a
/// member who may not see members and not found in another organization;
/// pruning.
pub fn batch_reports(env: &mut Env) {
    use crate::{ImportDefaults, ImportFormat, InvitationId, Policy};
    let mut policy = Policy::default();
    policy.max_batch = 2;
    let (org, owner) = env.org_with_policy(policy);
    let id = org.id.clone();
    let me = as_member(&owner);
    let sent = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("a@acme.test, bad, b@acme.test".into())),
        )
        .expect("invite");
    let r = env.engine.batch_report(&id, &me, &sent.batch_id);
    env.rec_result("invite report", &r);
    let report = r.expect("report");
    env.rec("invitations csv", &report.invitations_csv());
    env.rec("errors csv", &report.errors_csv());
    let staged = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::Paste("c@acme.test".into())).staged(),
        )
        .expect("stage");
    let send = env
        .engine
        .send_staged(
            &id,
            &me,
            &[
                staged.issued[0].invitation.id.clone(),
                InvitationId::from("inv_missing"),
            ],
        )
        .expect("send");
    let r = env
        .engine
        .batch_report(&id, &me, send.batch_id.as_ref().expect("id"));
    env.rec_result("send report", &r);
    let imported = env
        .engine
        .import_invitations(
            &id,
            &me,
            b"Email,Kind\nd@acme.test,\ne@acme.test,boss\nf@acme.test,\ng@acme.test,\na@acme.test,\n",
            ImportFormat::Csv,
            ImportDefaults::default(),
        )
        .expect("import");
    let r = env
        .engine
        .batch_report(&id, &me, imported.report_id.as_ref().expect("id"));
    env.rec_result("import report", &r);
    // Refusals: a member who may not see members; another organization.
    env.engine
        .define_role(&id, &me, "contractor", Default::default())
        .expect("role");
    let plain = env.join(&id, "plain@acme.test", "contractor", "acct-plain");
    let r = env
        .engine
        .batch_report(&id, &as_member(&plain), &sent.batch_id);
    env.rec_result("plain member", &r);
    let (other, other_owner) = env.org();
    let r = env
        .engine
        .batch_report(&other.id, &as_member(&other_owner), &sent.batch_id);
    env.rec_result("other org", &r);
    let r = env
        .engine
        .batch_report(&id, &me, &crate::BatchId::from("bat_\0'; --"));
    env.rec_result("hostile id", &r);
    env.advance(Duration::days(2));
    let cutoff = env.now() - Duration::days(1);
    let n = env.engine.prune_batch_reports(&id, &me, cutoff);
    env.rec_result("pruned", &n);
    let r = env.engine.batch_report(&id, &me, &sent.batch_id);
    env.rec_result("after prune", &r);
}

/// Invitation emails are rendered when they are sent or read, not when
/// they are issued (ADR 0018): the store keeps what rendering needs, every
/// way out of the engine renders it, and a template changed in between
/// applies.
pub fn emails_are_rendered_at_delivery(env: &mut Env) {
    use crate::{NewEmailTemplate, REDACTED};
    let (org, owner) = env.org();
    let id = org.id.clone();
    let me = as_member(&owner);
    let r = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::List(vec![
                RecipientInput {
                    first_name: Some("Dana".into()),
                    ..RecipientInput::email("dana@acme.test")
                },
                RecipientInput::email("eve@acme.test"),
            ]))
            .message("See you Monday"),
        )
        .expect("invite");
    let ids: Vec<_> = r
        .issued
        .iter()
        .map(|i| i.message_id.clone().expect("queued"))
        .collect();
    let token = r.issued[0]
        .secret
        .as_ref()
        .expect("token")
        .expose()
        .to_owned();

    // As stored: no Subject, no bodies, the link kept for the worker.
    let store = env.engine.store().clone();
    let raw = |m: &crate::MessageId| {
        let mut tx = store.begin().expect("begin");
        tx.outbox_message(m).expect("read").expect("stored")
    };
    let stored = raw(&ids[0]);
    assert_eq!(stored.email.subject, "");
    assert_eq!(stored.email.text_body, "");
    assert_eq!(stored.email.html_body, None);
    assert!(stored.email.accept_url.contains(&token));
    assert!(stored.draft.is_some(), "kept as a draft");

    // A template set after the invitation: the queued email uses it.
    env.engine
        .set_email_template(
            &id,
            &me,
            NewEmailTemplate::new(
                "en",
                "{{ recipient_name or 'Hello' }}, join {{ organization }}",
                "{{ personal_message }} {{ accept_url }} until {{ expires_at }}",
            ),
        )
        .expect("template");

    // Read by a person: rendered, the link redacted wherever it was.
    let seen = env
        .engine
        .outbox_message_in(&id, &me, &ids[0])
        .expect("read");
    env.rec("read", &seen.email);
    assert_eq!(seen.email.subject, "Dana, join Acme");
    assert!(
        seen.email
            .text_body
            .starts_with("See you Monday [redacted] until ")
    );
    assert!(!seen.email.text_body.contains(&token));
    assert_eq!(seen.email.accept_url, REDACTED);
    let host = env.engine.outbox_message(&ids[0]).expect("read");
    assert_eq!(host.email, seen.email);

    // Claimed by a worker: rendered with the live link; the store still
    // keeps the draft (rendered again at the next attempt).
    let claimed = env.engine.claim_due(Some(&id), 10).expect("claim");
    env.rec("claimed", &claimed);
    assert_eq!(claimed.len(), 2);
    let dana = claimed.iter().find(|m| m.id == ids[0]).expect("dana");
    assert_eq!(dana.email.subject, "Dana, join Acme");
    assert!(dana.email.text_body.contains(&dana.email.accept_url));
    assert!(dana.email.accept_url.contains(&token));
    assert!(dana.draft.is_none(), "handed out rendered");
    let eve = claimed.iter().find(|m| m.id == ids[1]).expect("eve");
    assert_eq!(eve.email.subject, "Hello, join Acme");
    assert!(raw(&ids[0]).draft.is_some());

    // Sent: the stored message loses its link; read later, the bodies
    // show `[redacted]` where it was.
    assert!(env.engine.mark_sent(&ids[0]).expect("sent"));
    let sent = raw(&ids[0]);
    assert_eq!(sent.email.accept_url, REDACTED);
    let seen = env.engine.outbox_message(&ids[0]).expect("read");
    assert!(
        seen.email
            .text_body
            .starts_with("See you Monday [redacted] until ")
    );

    // Given up on: kept rendered as it would have been sent (its link
    // redacted), so a later template does not change the dead letter and
    // listing dead letters renders nothing.
    env.engine
        .mark_failed(&ids[1], "550 no such user", true)
        .expect("failed");
    let failed = raw(&ids[1]);
    assert!(failed.draft.is_none());
    assert_eq!(failed.email.subject, "Hello, join Acme");
    assert!(failed.email.text_body.contains("[redacted]"));
    assert!(!failed.email.text_body.contains(&eve.email.accept_url));
    env.engine
        .delete_email_template(&id, &me, "en")
        .expect("deleted");
    let dead = env.engine.dead_letters(&id, &me, None, 10).expect("dead");
    env.rec("dead", &dead);
    assert_eq!(dead.items.len(), 1);
    assert_eq!(dead.items[0].subject, "Hello, join Acme");
}

//! Bad input through the engine and the store: names with quotes,
//! semicolons, SQL, LIKE wildcards and Unicode of every kind, at the
//! longest the engine allows, are stored and read back exactly; longer or
//! unsafe input is refused and changes nothing.

use super::engine_ops::check_trail;
use super::harness::{Env, as_member, code, token_of};
use crate::{
    Actor, Contact, EventKind, GroupGrant, GroupQuery, InvitationStatus, InviteRequest,
    MemberQuery, NewGroup, NewOrganization, Permission, RecipientInput, Recipients, Registration,
};

/// `s` repeated and cut to exactly `n` characters, with no white space at
/// either end (the engine trims one-line fields).
fn exactly(s: &str, n: usize) -> String {
    let mut v: Vec<char> = s.chars().cycle().take(n).collect();
    for i in [0, n.saturating_sub(1)] {
        if v.get(i).is_some_and(|c| c.is_whitespace()) {
            v[i] = '.';
        }
    }
    v.into_iter().collect()
}

const SQL: &str =
    "O'Reilly; \"Quotes\" -- DROP TABLE organizations; \\ % _ $1 😀 עברית 中文 e\u{301} ";

/// Hostile but valid input, through every command that stores text.
pub fn hostile_input_through_the_engine(env: &mut Env) {
    let name = exactly(SQL, 200);
    let r = env.engine.create_organization(
        NewOrganization::new(
            name.clone(),
            exactly("'; DROP TABLE members; --", 200),
            "o'wner@acme.test",
        )
        .with_owner_name(exactly("Zoë 'Z' \"Q\";", 200), exactly("Ñúñez — 山田", 200)),
    );
    env.rec_result("create", &r);
    let crate::CreatedOrganization {
        organization: org,
        owner,
        ..
    } = r.expect("a hostile but valid organization");
    let id = org.id.clone();
    let me = as_member(&owner);
    assert_eq!(env.engine.organization(&id).expect("org").name, name);
    let read_owner = env.engine.member(&id, &me, &owner.id).expect("owner");
    assert_eq!(read_owner, owner);
    assert_eq!(
        read_owner.user_ref.as_deref(),
        Some(exactly("'; DROP TABLE members; --", 200).as_str())
    );
    assert_eq!(read_owner.contact_key, "o'wner@acme.test");

    // One character too many is refused and changes nothing.
    let before = env.events(&id).len();
    let r = env.engine.rename_organization(&id, &me, &exactly(SQL, 201));
    assert_eq!(code(&r), "limit_exceeded");
    let r = env
        .engine
        .rename_organization(&id, &me, "bidi \u{202E}gnp.exe");
    assert_eq!(code(&r), "invalid_input");
    let r = env
        .engine
        .rename_organization(&id, &me, "header\r\nBcc: x@y.test");
    assert_eq!(code(&r), "invalid_input");
    assert_eq!(env.engine.organization(&id).expect("org").name, name);
    assert_eq!(env.events(&id).len(), before);
    let renamed = exactly("Ünïcödé \"Ltd\"; '--", 200);
    env.engine
        .rename_organization(&id, &me, &renamed)
        .expect("rename");
    let trail = env.events(&id);
    match &trail.last().expect("an event").kind {
        EventKind::OrganizationRenamed { from, to } => {
            assert_eq!((from, to), (&name, &renamed));
        }
        other => panic!("expected OrganizationRenamed, got {other:?}"),
    }

    // Groups: names and descriptions at their limits.
    let description = exactly("line 'one'; \"two\"\n\ttab \\ % _ 😀\n", 2000);
    let g = env
        .engine
        .create_group(
            &id,
            &me,
            NewGroup {
                name: exactly("Ops % _ 'quoted' \"g\"; ☕ ", 200),
                description: description.clone(),
                is_default: true,
            },
        )
        .expect("group");
    let read = env.engine.group(&id, &me, &g.id).expect("group");
    assert_eq!(read, g);
    assert_eq!(read.description, description);
    let r = env.engine.create_group(
        &id,
        &me,
        NewGroup {
            name: "ok".into(),
            description: exactly("x", 2001),
            is_default: false,
        },
    );
    assert_eq!(code(&r), "limit_exceeded");
    let listed = env
        .engine
        .list_groups(&id, &me, &GroupQuery::default())
        .expect("groups");
    assert_eq!(listed, vec![g.clone()], "the refused group was not stored");

    // A custom role with a Unicode name.
    let role = env
        .engine
        .define_role(
            &id,
            &me,
            "rôle_ñ-1",
            [Permission::ViewMembers].into_iter().collect(),
        )
        .expect("role");
    assert_eq!(env.engine.roles(&id).expect("roles").last(), Some(&role));

    // Invitations: hostile names, message, addresses and identifiers.
    let message = exactly("Welcome 'aboard'; \"see\" you -- \\ % _\n\tbye 😀 ", 2000);
    let rows = vec![
        RecipientInput {
            email: Some("o'brien@acme.test".into()),
            first_name: Some(exactly("Seán 'Ó' \"B\";", 200)),
            last_name: Some("O'Brien; DROP TABLE invitations; --".into()),
            role: Some("rôle_ñ-1".into()),
            license_type: Some(exactly("pro'; --", 64)),
            ..RecipientInput::default()
        },
        RecipientInput {
            email: Some("\"Doe, Jane 'JD'\" <x%y_z@acme.test>".into()),
            ..RecipientInput::default()
        },
        RecipientInput::email("用户@例子.广告"),
        RecipientInput::email("Émile@Université.fr"),
        RecipientInput {
            identifier: Some("O'Brien; 42".into()),
            display_name: Some("Badge \"42\"".into()),
            ..RecipientInput::default()
        },
    ];
    let report = env
        .engine
        .invite(
            &id,
            &me,
            InviteRequest::new(Recipients::List(rows)).message(message.clone()),
        )
        .expect("invite");
    env.rec("report", &report);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let keys: Vec<&str> = report
        .issued
        .iter()
        .map(|i| i.invitation.recipient_key.as_str())
        .collect();
    let email_key = |e: &str| crate::parse_address(e).expect("valid").key.into_owned();
    assert_eq!(
        keys,
        [
            "o'brien@acme.test".to_owned(),
            "x%y_z@acme.test".to_owned(),
            email_key("用户@例子.广告"),
            email_key("Émile@Université.fr"),
            "o'brien;42".to_owned(),
        ]
    );
    assert!(keys[2].starts_with("用户@xn--"), "{}", keys[2]);
    assert!(keys[3].starts_with("émile@xn--"), "{}", keys[3]);
    for i in &report.issued {
        let stored = env
            .engine
            .invitation(&id, &me, &i.invitation.id)
            .expect("invitation");
        assert_eq!(stored, i.invitation);
        assert_eq!(stored.message.as_deref(), Some(message.as_str()));
    }
    assert_eq!(
        report.issued[1].invitation.display_name.as_deref(),
        Some("Doe, Jane 'JD'")
    );
    let msg = env
        .engine
        .outbox_message(report.issued[0].message_id.as_ref().expect("queued"))
        .expect("message");
    assert_eq!(
        msg.email.personal_message.as_deref(),
        Some(message.as_str())
    );
    assert!(msg.email.text_body.contains(&message));
    assert_eq!(msg.email.org_name, renamed);
    let found = env.invitations(
        &id,
        crate::InvitationQuery {
            search: Some("%Y_".into()),
            ..crate::InvitationQuery::default()
        },
    );
    assert_eq!(
        found
            .iter()
            .map(|i| i.recipient_key.as_str())
            .collect::<Vec<_>>(),
        ["x%y_z@acme.test"]
    );
    // Too long a message, a control character: refused, nothing stored.
    let before = (env.invitations_with(&id, &[]), env.events(&id).len());
    let r = env.engine.invite(
        &id,
        &me,
        InviteRequest::new(Recipients::Paste("late@acme.test".into())).message(exactly("x", 2001)),
    );
    assert_eq!(code(&r), "limit_exceeded");
    let r = env.engine.invite(
        &id,
        &me,
        InviteRequest::new(Recipients::Paste("late@acme.test".into())).message("a\u{7}b"),
    );
    assert_eq!(code(&r), "invalid_input");
    assert_eq!(
        (env.invitations_with(&id, &[]), env.events(&id).len()),
        before
    );

    // Accept with hostile registration details.
    let reg = Registration {
        user_ref: exactly("acct'; DELETE FROM members WHERE '1'='1", 200),
        first_name: Some(exactly("Ünïcödé 'F' \"N\"; ", 200)),
        last_name: Some("L'Ástname — 名字".into()),
        phone: Some(exactly("+1 (555) 'x'; -- ", 40)),
        ..Registration::default()
    };
    let acc = env
        .engine
        .accept(&token_of(&report.issued[0]), reg.clone())
        .expect("accept");
    let m = env.engine.member(&id, &me, &acc.member.id).expect("member");
    assert_eq!(m, acc.member);
    assert_eq!(m.user_ref.as_deref(), Some(reg.user_ref.as_str()));
    assert_eq!(m.first_name, reg.first_name);
    assert_eq!(m.last_name, reg.last_name);
    assert_eq!(m.phone, reg.phone);
    assert_eq!(m.role, "rôle_ñ-1");
    assert_eq!(m.license_type, exactly("pro'; --", 64));
    assert_eq!(m.groups, vec![GroupGrant::member(g.id.clone())]);
    let dup = env.engine.accept(&token_of(&report.issued[1]), reg.clone());
    assert_eq!(code(&dup), "already_member", "the same account, refused");
    let by_code = env
        .engine
        .accept_with_code(
            &id,
            "o'brien; 42",
            token_of(&report.issued[4]).as_str(),
            super::harness::registration("acct-badge"),
        )
        .expect("accept by code");
    assert_eq!(
        by_code.member.contact,
        Contact::Identifier("O'Brien; 42".into())
    );
    assert_eq!(
        env.engine
            .invitation(&id, &me, &report.issued[4].invitation.id)
            .expect("inv")
            .status,
        InvitationStatus::Accepted
    );
    // Search is literal.
    for (needle, want) in [
        ("O'B", vec!["o'brien;42", "o'brien@acme.test"]),
        ("%", vec![]),
        ("'; ", vec![]),
        (";", vec!["o'brien;42"]),
    ] {
        let found = env.members(
            &id,
            MemberQuery {
                search: Some(needle.into()),
                ..MemberQuery::default()
            },
        );
        let got: Vec<&str> = found.iter().map(|m| m.contact_key.as_str()).collect();
        assert_eq!(got, want, "search {needle:?}");
    }
    let usage = env
        .engine
        .license_usage(&id, &Actor::System)
        .expect("usage");
    assert!(
        usage
            .iter()
            .any(|u| u.license_type == exactly("pro'; --", 64) && u.used == 1)
    );
    let listed = env
        .engine
        .list_groups(&id, &me, &GroupQuery::default())
        .expect("groups");
    assert_eq!(listed[0].member_count, 2, "both joined the default group");
    env.rec("members", &env.members_with(&id, &[]));
    check_trail(env, &id);
}

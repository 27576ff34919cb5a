//! Seeds 001 ("Organization Members" table) and 003 ("Keeping track of user
//! invites"): the user list, members and invitations together, each with a
//! status label, sorted, filtered and searched, through
//! [`Enlist::people`].

use super::common::*;
use chrono::Duration;
use enlist::*;

fn emails(page: &Page<Person>) -> Vec<&str> {
    page.items.iter().map(|p| p.contact_key.as_str()).collect()
}

/// Seed 003: "The user list now shows different status labels to keep
/// track of users: Active, Inactive, Pending, Expired" — "The link is only
/// valid for 7 days."
#[test]
fn the_user_list_shows_active_inactive_pending_and_expired() {
    let mut policy = Policy::default();
    policy.invitation_lifetime_secs = 7 * 24 * 3600;
    let o = org_with_policy(policy);
    let owner = o.owner_actor();
    let bob = o.join("bob@acme.test", "member", "acct-bob");
    // "You can set a user to inactive by clicking the 'pause' icon."
    o.engine
        .deactivate_member(o.id(), &owner, &bob.id)
        .expect("deactivate");
    let invite = |email: &str| {
        o.engine
            .invite(
                o.id(),
                &owner,
                InviteRequest::new(Recipients::List(vec![RecipientInput::email(email)])),
            )
            .expect("invite")
    };
    invite("early@acme.test");
    o.advance(Duration::days(3));
    invite("late@acme.test");
    let label = |p: &Page<Person>, email: &str| {
        p.items
            .iter()
            .find(|x| x.contact_key == email)
            .map(|x| x.label)
    };
    let all = o
        .engine
        .people(o.id(), &owner, &PeopleQuery::default())
        .expect("people");
    assert_eq!(label(&all, "owner@acme.test"), Some(PersonLabel::Active));
    assert_eq!(label(&all, "bob@acme.test"), Some(PersonLabel::Inactive));
    assert_eq!(label(&all, "early@acme.test"), Some(PersonLabel::Pending));
    // Seven days after the first invitation: it expired, the other waits.
    o.advance(Duration::days(4));
    let all = o
        .engine
        .people(o.id(), &owner, &PeopleQuery::default())
        .expect("people");
    assert_eq!(label(&all, "early@acme.test"), Some(PersonLabel::Expired));
    assert_eq!(label(&all, "late@acme.test"), Some(PersonLabel::Pending));
    let expired = o
        .engine
        .people(
            o.id(),
            &owner,
            &PeopleQuery {
                labels: vec![PersonLabel::Expired],
                ..PeopleQuery::default()
            },
        )
        .expect("people");
    assert_eq!(emails(&expired), ["early@acme.test"]);
    // Sorted by label: Active, Inactive, Pending, Expired.
    let by_label = o
        .engine
        .people(
            o.id(),
            &owner,
            &PeopleQuery {
                sort: PeopleSort::Label,
                ..PeopleQuery::default()
            },
        )
        .expect("people");
    let labels: Vec<PersonLabel> = by_label.items.iter().map(|p| p.label).collect();
    assert_eq!(
        labels,
        [
            PersonLabel::Active,
            PersonLabel::Inactive,
            PersonLabel::Pending,
            PersonLabel::Expired
        ]
    );
}

/// Seed 001: "The members in the table can be ordered ... by their email
/// address (Email). You can also filter the table based on the
/// organization roles ... search for them by their email address."
#[test]
fn the_members_table_is_ordered_filtered_and_searched() {
    let o = org_with_owner();
    let owner = o.owner_actor();
    o.join("zoe@acme.test", "admin", "acct-zoe");
    o.join("amy@acme.test", "member", "acct-amy");
    o.join("max@acme.test", "member", "acct-max");
    let q = |q: PeopleQuery| o.engine.people(o.id(), &owner, &q).expect("people");
    let by_email = q(PeopleQuery {
        sort: PeopleSort::Email,
        ..PeopleQuery::default()
    });
    assert_eq!(
        emails(&by_email),
        [
            "amy@acme.test",
            "max@acme.test",
            "owner@acme.test",
            "zoe@acme.test"
        ]
    );
    let desc = q(PeopleQuery {
        sort: PeopleSort::Email,
        descending: true,
        limit: 2,
        ..PeopleQuery::default()
    });
    assert_eq!(emails(&desc), ["zoe@acme.test", "owner@acme.test"]);
    let rest = q(PeopleQuery {
        sort: PeopleSort::Email,
        descending: true,
        limit: 2,
        after: desc.next_cursor.clone(),
        ..PeopleQuery::default()
    });
    assert_eq!(emails(&rest), ["max@acme.test", "amy@acme.test"]);
    let admins = q(PeopleQuery {
        role: Some("admin".into()),
        ..PeopleQuery::default()
    });
    assert_eq!(emails(&admins), ["zoe@acme.test"]);
    let found = q(PeopleQuery {
        search: Some("MA".into()),
        ..PeopleQuery::default()
    });
    assert_eq!(emails(&found), ["max@acme.test"]);
    // "Remove From Organization": gone from the list, unless asked for.
    let amy = o
        .engine
        .list_members(
            o.id(),
            &owner,
            &MemberQuery {
                search: Some("amy".into()),
                ..MemberQuery::default()
            },
        )
        .expect("members")
        .items
        .remove(0);
    o.engine
        .remove_member(o.id(), &owner, &amy.id)
        .expect("remove");
    assert!(
        emails(&q(PeopleQuery::default()))
            .iter()
            .all(|e| *e != "amy@acme.test")
    );
    let removed = q(PeopleQuery {
        labels: vec![PersonLabel::Removed],
        ..PeopleQuery::default()
    });
    assert_eq!(emails(&removed), ["amy@acme.test"]);
    // Who may see the list: not a stranger.
    let err = o
        .engine
        .people(o.id(), &Actor::Anonymous, &PeopleQuery::default())
        .expect_err("anonymous");
    assert_eq!(err.family(), ErrorFamily::PermissionDenied);
}

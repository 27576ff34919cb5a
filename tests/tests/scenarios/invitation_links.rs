//! Several invitation links (issue 14, ADR 0013). Seed 002's one link
//! ("activate the invitation link. A link will appear [...] if you
//! deactivate the link, it will no longer be valid") holds for each link an
//! organization makes, as Slack- and Discord-style products have them:
//! one link per team or campaign, each with its own terms, shown again to
//! administrators, revoked one by one.

use super::common::{Org, as_member, org_with_policy, registration};
use chrono::Duration;
use enlist::{
    Actor, Error, GroupGrant, JoinedVia, LimitKind, LinkSpec, LinkStatus, NewGroup, NewLink,
    Policy, Registration, SecretKey,
};

fn org() -> Org {
    let mut policy = Policy::default();
    policy.invite_link_enabled = true;
    let mut o = org_with_policy(policy);
    o.engine = o
        .engine
        .clone()
        .with_link_keys(SecretKey::new(vec![9u8; 32]).expect("key"), Vec::new())
        .expect("link key");
    o
}

fn verified(user_ref: &str, email: &str) -> Registration {
    Registration {
        verified_email: Some(email.to_owned()),
        ..registration(user_ref)
    }
}

/// An administrator makes one link per audience: the conference link
/// (50 people, this week), the partners' link (their domain only, into
/// the Partners group), while the organization's own link keeps working.
#[test]
fn one_link_per_audience_each_with_its_own_terms() {
    let o = org();
    let admin = o.owner_actor();
    let partners_group = o
        .engine
        .create_group(
            o.id(),
            &admin,
            NewGroup {
                name: "Partners".into(),
                ..NewGroup::default()
            },
        )
        .expect("group");
    let default = o
        .engine
        .activate_invite_link(o.id(), &admin, LinkSpec::default())
        .expect("the organization's link");

    let mut conference = NewLink::new("Conference 2026");
    conference.max_uses = Some(50);
    conference.expires_in_secs = Some(7 * 24 * 3600);
    let conference = o
        .engine
        .create_link(o.id(), &admin, conference)
        .expect("conference link");
    let mut partners = NewLink::new("Partners");
    partners.allowed_domains = vec!["partner.example".into()];
    partners.groups = vec![GroupGrant::member(partners_group.id.clone())];
    let partners = o
        .engine
        .create_link(o.id(), &admin, partners)
        .expect("partners link");

    // Someone from the conference joins; the landing page shows the terms.
    let preview = o
        .engine
        .preview_link(conference.url.expose())
        .expect("preview");
    assert_eq!(preview.role, "member");
    let ada = o
        .engine
        .join_by_link(
            conference.url.expose(),
            "ada@conf.example",
            registration("acct-ada"),
        )
        .expect("join");
    // A partner joins their group; a stranger's domain is refused.
    let bob = o
        .engine
        .join_by_link(
            partners.url.expose(),
            "bob@partner.example",
            verified("acct-bob", "bob@partner.example"),
        )
        .expect("partner joins");
    assert_eq!(bob.groups.len(), 1);
    assert_eq!(bob.groups[0].group_id, partners_group.id);
    assert!(matches!(
        o.engine.join_by_link(
            partners.url.expose(),
            "eve@evil.example",
            verified("acct-eve", "eve@evil.example"),
        ),
        Err(Error::DomainNotAllowed { .. })
    ));
    // The audit trail says which link each came by.
    let vias: Vec<JoinedVia> = o
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            enlist::EventKind::MemberJoined { via, member, .. }
                if member == ada.id || member == bob.id =>
            {
                Some(via)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        vias,
        [
            JoinedVia::NamedLink(conference.link.id.clone()),
            JoinedVia::NamedLink(partners.link.id.clone())
        ]
    );

    // The admin screen: every link with its uses and status.
    let page = o.engine.links(o.id(), &admin, None, 10).expect("list");
    let rows: Vec<(String, u64, LinkStatus)> = page
        .items
        .iter()
        .map(|l| (l.name.clone(), l.uses, l.status))
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.contains(&("default".into(), 0, LinkStatus::Active)));
    assert!(rows.contains(&("Conference 2026".into(), 1, LinkStatus::Active)));
    assert!(rows.contains(&("Partners".into(), 1, LinkStatus::Active)));

    // A week later the conference link has expired; the others work.
    o.advance(Duration::days(8));
    assert!(matches!(
        o.engine.join_by_link(
            conference.url.expose(),
            "late@conf.example",
            registration("acct-late")
        ),
        Err(Error::LinkExpired { .. })
    ));
    assert!(o.engine.preview_link(default.url.expose()).is_ok());
    assert!(o.engine.preview_link(partners.url.expose()).is_ok());
}

/// "Copy this link" again, a month later: the administrator sees the same
/// URL (derived under the host's key, never stored), until the link is
/// regenerated (the old URL dies, the other links do not) or revoked.
#[test]
fn the_url_is_shown_again_regenerated_and_revoked_one_link_at_a_time() {
    let o = org();
    let admin = o.owner_actor();
    let a = o
        .engine
        .create_link(o.id(), &admin, NewLink::new("Team A"))
        .expect("a");
    let b = o
        .engine
        .create_link(o.id(), &admin, NewLink::new("Team B"))
        .expect("b");
    o.advance(Duration::days(30));
    assert_eq!(
        o.engine
            .link_url(o.id(), &admin, &a.link.id)
            .expect("again"),
        a.url
    );
    let a2 = o
        .engine
        .regenerate_link(o.id(), &admin, &a.link.id)
        .expect("regenerate");
    assert!(matches!(
        o.engine.preview_link(a.url.expose()),
        Err(Error::InvalidSecret)
    ));
    assert!(o.engine.preview_link(a2.url.expose()).is_ok());
    assert!(o.engine.preview_link(b.url.expose()).is_ok());
    o.engine
        .revoke_link(o.id(), &admin, &b.link.id)
        .expect("revoke");
    assert!(matches!(
        o.engine
            .join_by_link(b.url.expose(), "x@acme.test", registration("acct-x")),
        Err(Error::InvalidSecret)
    ));
    assert!(o.engine.preview_link(a2.url.expose()).is_ok());
    // A plain member sees none of it.
    let mel = o.join("mel@acme.test", "member", "acct-mel");
    assert!(matches!(
        o.engine.link_url(o.id(), &as_member(&mel), &a.link.id),
        Err(Error::PermissionDenied { .. })
    ));
}

/// A link for the first ten: the eleventh is told the link is used up.
#[test]
fn a_capped_link_admits_exactly_its_cap() {
    let o = org();
    let mut n = NewLink::new("First ten");
    n.max_uses = Some(10);
    let l = o
        .engine
        .create_link(o.id(), &o.owner_actor(), n)
        .expect("link");
    for i in 0..10 {
        o.engine
            .join_by_link(
                l.url.expose(),
                &format!("p{i}@acme.test"),
                registration(&format!("acct-{i}")),
            )
            .expect("within the cap");
    }
    match o
        .engine
        .join_by_link(l.url.expose(), "p10@acme.test", registration("acct-10"))
    {
        Err(Error::LimitExceeded { limit, max, .. }) => {
            assert_eq!((limit, max), (LimitKind::LinkUses, 10));
        }
        other => panic!("{other:?}"),
    }
    let seen = o
        .engine
        .link(o.id(), &Actor::System, &l.link.id)
        .expect("read");
    assert_eq!((seen.uses, seen.status), (10, LinkStatus::Exhausted));
}

/// A custom role that a link or a verified domain still hands out cannot
/// be deleted: nobody joins with a role that no longer exists. Revoked,
/// the link no longer holds the role back.
#[test]
fn a_role_a_link_or_a_domain_hands_out_is_not_deleted() {
    let mut policy = Policy::default();
    policy.invite_link_enabled = true;
    let o = org_with_policy(policy);
    let me = o.owner_actor();
    o.engine
        .define_role(
            o.id(),
            &me,
            "sales",
            [enlist::Permission::ViewMembers].into_iter().collect(),
        )
        .expect("role");
    let link = o
        .engine
        .create_link(
            o.id(),
            &me,
            NewLink {
                name: "Sales".into(),
                role: Some("sales".into()),
                ..NewLink::default()
            },
        )
        .expect("link");
    let err = o
        .engine
        .delete_role(o.id(), &me, "sales")
        .expect_err("in use");
    assert_eq!(err.code(), "conflict");
    assert!(err.to_string().contains("Sales"), "{err}");
    o.engine
        .revoke_link(o.id(), &me, &link.link.id)
        .expect("revoke");

    let claim = o
        .engine
        .claim_domain(o.id(), &me, "acme.test")
        .expect("claim");
    o.engine
        .verify_domain_dns(o.id(), &me, "acme.test", &[claim.dns_record_value])
        .expect("verify");
    o.engine
        .set_domain_enrollment(
            o.id(),
            &me,
            "acme.test",
            enlist::DomainEnrollment::AutoJoin,
            Some("sales"),
        )
        .expect("enrollment");
    let err = o
        .engine
        .delete_role(o.id(), &me, "sales")
        .expect_err("in use");
    assert!(err.to_string().contains("acme.test"), "{err}");
    o.engine
        .set_domain_enrollment(
            o.id(),
            &me,
            "acme.test",
            enlist::DomainEnrollment::Off,
            None,
        )
        .expect("off");
    o.engine
        .delete_role(o.id(), &me, "sales")
        .expect("nothing hands the role out any more");
}

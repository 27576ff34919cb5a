//! Issue 14, verified domains: the stories of Clerk's Verified Domains
//! (automatic invitations and membership requests) and Auth0's Membership
//! on Authentication, told end to end through the engine.

use super::common::*;
use enlist::*;

const DOMAIN: &str = "acme.test";

fn verify(o: &Org) -> OrgDomain {
    let me = o.owner_actor();
    let claim = o.engine.claim_domain(o.id(), &me, DOMAIN).expect("claim");
    // The host resolved `_enlist-verification.acme.test` and passes what
    // it saw.
    let seen = vec![
        "google-site-verification=xyz".to_owned(),
        claim.dns_record_value,
    ];
    o.engine
        .verify_domain_dns(o.id(), &me, DOMAIN, &seen)
        .expect("verify")
}

fn person(user_ref: &str, email: &str) -> Registration {
    Registration {
        verified_email: Some(email.to_owned()),
        ..registration(user_ref)
    }
}

/// Clerk, "automatic invitation": the IT admin verifies the company's
/// domain; a new employee who signs in with a verified company address
/// sees the organization and joins it in one click, with the role the
/// admin chose, within the organization's seats.
#[test]
fn a_new_employee_joins_through_the_verified_domain_within_the_seats() {
    let mut policy = Policy::default();
    policy.seat_limits.insert(DEFAULT_LICENSE.to_owned(), 2);
    let o = org_with_policy(policy);
    let me = o.owner_actor();
    verify(&o);
    o.engine
        .set_domain_enrollment(o.id(), &me, DOMAIN, DomainEnrollment::AutoJoin, None)
        .expect("auto join");

    let offers = o
        .engine
        .domain_offers("pat@ACME.test", Some("acct-pat"))
        .expect("offers");
    assert_eq!(offers.len(), 1, "you can join Acme");
    assert_eq!(offers[0].org_name, "Acme");
    let pat = o
        .engine
        .join_by_domain(o.id(), person("acct-pat", "pat@acme.test"))
        .expect("join");
    assert_eq!(pat.role, "member");
    assert!(o.events().iter().any(|e| matches!(
        &e.kind,
        EventKind::MemberJoined { via: JoinedVia::VerifiedDomain, member, .. } if member == &pat.id
    )));
    // The seats are the organization's: the owner and Pat fill them.
    let err = o
        .engine
        .join_by_domain(o.id(), person("acct-sam", "sam@acme.test"))
        .expect_err("no seat left");
    assert_eq!(err.code(), "limit_exceeded");
}

/// Joining by the domain closes the invitation someone had already sent
/// the same person: one join path for every way in.
#[test]
fn joining_by_the_domain_closes_a_waiting_invitation() {
    let o = org_with_owner();
    let me = o.owner_actor();
    o.engine
        .invite(
            o.id(),
            &me,
            InviteRequest::new(Recipients::Paste("kim@acme.test".into())),
        )
        .expect("invite");
    verify(&o);
    o.engine
        .set_domain_enrollment(o.id(), &me, DOMAIN, DomainEnrollment::AutoJoin, None)
        .expect("auto join");
    o.engine
        .join_by_domain(o.id(), person("acct-kim", "kim@acme.test"))
        .expect("join");
    assert!(
        o.invitations(&[InvitationStatus::Pending]).is_empty(),
        "the invitation is closed"
    );
    assert_eq!(o.invitations(&[InvitationStatus::Accepted]).len(), 1);
}

/// Clerk, "membership requests" / bitwarden's "Confirmed" step: a
/// contractor with a company address asks to join; a user admin sees the
/// request, approves it with a role within their reach, and declines
/// another; each requester sees where their request stands.
#[test]
fn requests_wait_for_an_administrator() {
    let o = org_with_owner();
    let me = o.owner_actor();
    verify(&o);
    o.engine
        .set_domain_enrollment(o.id(), &me, DOMAIN, DomainEnrollment::Request, None)
        .expect("requests");
    let ua = as_member(&o.join("ua@acme.test", "user_admin", "acct-ua"));

    let lee = o
        .engine
        .request_membership(o.id(), person("acct-lee", "lee@acme.test"))
        .expect("request");
    let ray = o
        .engine
        .request_membership(o.id(), person("acct-ray", "ray@acme.test"))
        .expect("request");
    let offers = o
        .engine
        .domain_offers("lee@acme.test", Some("acct-lee"))
        .expect("offers");
    assert_eq!(
        offers[0].request.as_ref().map(|r| r.status),
        Some(MembershipRequestStatus::Pending),
        "Lee sees the request pending"
    );

    let waiting = o
        .engine
        .membership_requests(
            o.id(),
            &ua,
            &MembershipRequestQuery {
                status: Some(MembershipRequestStatus::Pending),
                ..Default::default()
            },
        )
        .expect("the queue");
    assert_eq!(waiting.items.len(), 2);
    let err = o
        .engine
        .approve_membership_request(o.id(), &ua, &lee.id, Some("admin"))
        .expect_err("a user admin cannot make admins");
    assert_eq!(err.code(), "permission_denied");
    let member = o
        .engine
        .approve_membership_request(o.id(), &ua, &lee.id, Some("member"))
        .expect("approve");
    assert_eq!(member.contact.as_str(), "lee@acme.test");
    o.engine
        .decline_membership_request(o.id(), &ua, &ray.id)
        .expect("decline");
    assert_eq!(
        o.engine
            .my_membership_request(o.id(), "acct-ray")
            .expect("status")
            .map(|r| r.status),
        Some(MembershipRequestStatus::Declined)
    );
    let trail = o.events_after(0);
    assert!(trail.iter().any(
        |k| matches!(k, EventKind::MembershipRequestApproved { role, .. } if role == "member")
    ));
    assert!(
        trail
            .iter()
            .any(|k| matches!(k, EventKind::MembershipRequestDeclined { .. }))
    );
}

/// Whoever probes with an address of a domain learns nothing about an
/// organization that verified it but offers nothing: the same answer as
/// for a domain nobody claimed.
#[test]
fn an_organization_that_offers_nothing_is_invisible() {
    let o = org_with_owner();
    verify(&o);
    assert!(
        o.engine
            .domain_offers("pat@acme.test", None)
            .expect("offers")
            .is_empty()
    );
    assert!(
        o.engine
            .domain_offers("pat@nobody.test", None)
            .expect("offers")
            .is_empty()
    );
    let here = o
        .engine
        .request_membership(o.id(), person("acct-pat", "pat@acme.test"))
        .expect_err("offers nothing");
    let nowhere = o
        .engine
        .request_membership(
            &OrgId::from("org_unknown"),
            person("acct-pat", "pat@acme.test"),
        )
        .expect_err("no such organization");
    assert_eq!(here.to_string(), nowhere.to_string());
    assert_eq!(here.code(), "not_found");
}

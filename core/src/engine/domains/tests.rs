use super::super::test_support::{actor_with_role, org, registration};
use super::*;
use crate::clock::ManualClock;
use crate::error::ErrorFamily;
use crate::outbox::RecordingMailer;
use crate::policy::Policy;
use crate::secret::SeededSecrets;
use std::sync::Arc;

fn engine() -> (Enlist, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time"),
    ));
    let e = Enlist::in_memory()
        .with_clock(clock.clone())
        .with_secrets(Arc::new(SeededSecrets::new(7)));
    (e, clock)
}

fn verified(e: &Enlist, o: &OrgId, a: &Actor, domain: &str) -> OrgDomain {
    let d = e.claim_domain(o, a, domain).expect("claim");
    e.verify_domain_dns(o, a, domain, std::slice::from_ref(&d.dns_record_value))
        .expect("verify")
}

fn person(user_ref: &str, email: &str) -> Registration {
    Registration {
        verified_email: Some(email.into()),
        ..registration(user_ref, ("Pat", "Doe"))
    }
}

#[test]
fn claiming_needs_manage_policy_and_a_plain_domain() {
    let (e, _) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    let user_admin = actor_with_role(&e, &o, &owner, "ua@acme.example", "user_admin");
    let err = e
        .claim_domain(&o, &user_admin, "acme.example")
        .expect_err("no manage_policy");
    assert_eq!(err.family(), ErrorFamily::PermissionDenied);
    assert!(e.claim_domain(&o, &owner, "*.acme.example").is_err());
    assert!(e.claim_domain(&o, &owner, "example").is_err());
    let d = e.claim_domain(&o, &owner, "ACME.example.").expect("claim");
    assert_eq!(d.domain, "acme.example");
    assert_eq!(d.status, DomainStatus::Pending);
    assert_eq!(d.dns_record_name, "_enlist-verification.acme.example");
    assert!(d.dns_record_value.starts_with(DNS_VALUE_PREFIX));
    // Claiming again is the same claim, and the count is bounded.
    assert_eq!(
        e.claim_domain(&o, &owner, "acme.example").expect("again"),
        d
    );
    for i in 1..MAX_DOMAINS_PER_ORG {
        e.claim_domain(&o, &owner, &format!("d{i}.example"))
            .expect("claim");
    }
    let err = e
        .claim_domain(&o, &owner, "one-more.example")
        .expect_err("over the limit");
    assert_eq!(err.code(), "limit_exceeded");
}

#[test]
fn dns_verification_needs_the_exact_value_and_bounds_its_input() {
    let (e, _) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    let d = e.claim_domain(&o, &owner, "acme.example").expect("claim");
    let wrong = vec!["v=spf1 -all".to_owned(), format!("{}x", d.dns_record_value)];
    let err = e
        .verify_domain_dns(&o, &owner, "acme.example", &wrong)
        .expect_err("no matching value");
    assert_eq!(err.code(), "conflict");
    let too_many = vec![String::new(); MAX_TXT_VALUES + 1];
    assert_eq!(
        e.verify_domain_dns(&o, &owner, "acme.example", &too_many)
            .expect_err("too many")
            .code(),
        "limit_exceeded"
    );
    let too_long = vec!["a".repeat(MAX_TXT_VALUE_BYTES + 1)];
    assert_eq!(
        e.verify_domain_dns(&o, &owner, "acme.example", &too_long)
            .expect_err("too long")
            .code(),
        "limit_exceeded"
    );
    // Quoted, among others: found.
    let seen = vec!["other".to_owned(), format!("\"{}\"", d.dns_record_value)];
    let v = e
        .verify_domain_dns(&o, &owner, "acme.example", &seen)
        .expect("verified");
    assert_eq!(v.status, DomainStatus::Verified);
    assert_eq!(v.method, Some(DomainVerificationMethod::DnsTxt));
}

#[test]
fn another_organizations_record_does_not_verify_and_a_verified_domain_is_held_by_one() {
    let (e, _) = engine();
    let (a, owner_a) = org(&e, "acct-a", "ada@a.example", Policy::default());
    let (b, owner_b) = org(&e, "acct-b", "bob@b.example", Policy::default());
    let da = e.claim_domain(&a, &owner_a, "shared.example").expect("a");
    let db = e.claim_domain(&b, &owner_b, "shared.example").expect("b");
    assert_ne!(da.dns_record_value, db.dns_record_value);
    // B publishing A's value proves nothing for B.
    assert!(
        e.verify_domain_dns(
            &b,
            &owner_b,
            "shared.example",
            std::slice::from_ref(&da.dns_record_value)
        )
        .is_err()
    );
    e.verify_domain_dns(
        &a,
        &owner_a,
        "shared.example",
        std::slice::from_ref(&da.dns_record_value),
    )
    .expect("a verifies");
    let err = e
        .verify_domain_dns(
            &b,
            &owner_b,
            "shared.example",
            std::slice::from_ref(&db.dns_record_value),
        )
        .expect_err("held by a");
    assert_eq!(err.code(), "conflict");
    // Once A gives it up, B may verify it.
    assert!(
        e.remove_domain(&a, &owner_a, "shared.example")
            .expect("remove")
    );
    e.verify_domain_dns(&b, &owner_b, "shared.example", &[db.dns_record_value])
        .expect("b verifies");
}

#[test]
fn an_email_code_is_mailed_hashed_limited_and_expires() {
    let (e, clock) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    e.claim_domain(&o, &owner, "acme.example").expect("claim");
    // Only an address at the domain.
    assert_eq!(
        e.send_domain_code(&o, &owner, "acme.example", "it@evil.example")
            .expect_err("other domain")
            .code(),
        "invalid_input"
    );
    let d = e
        .send_domain_code(&o, &owner, "acme.example", "it@acme.example")
        .expect("sent");
    assert_eq!(d.code_sent_to.as_deref(), Some("it@acme.example"));
    let mailer = RecordingMailer::new();
    e.deliver_pending(&mailer, 10).expect("deliver");
    let sent = mailer.sent();
    let mail = sent.last().expect("a code email");
    assert_eq!(mail.to, "it@acme.example");
    let code = mail.accept_url.clone();
    assert!(mail.text_body.contains(&code));
    // The code is in no event and not in the stored message any more.
    let trail =
        serde_json::to_string(&e.events(&o, &owner, 0, 1000).expect("events")).expect("json");
    assert!(!trail.contains(&code));
    let stored = e.outbox_message(&mail.message_id).expect("message");
    assert!(!stored.email.text_body.contains(&code));
    // Wrong codes count; the right one after them still works.
    for _ in 0..MAX_DOMAIN_CODE_ATTEMPTS - 1 {
        assert_eq!(
            e.verify_domain_code(&o, &owner, "acme.example", "AAAAA-AAAAA")
                .expect_err("wrong")
                .code(),
            "invalid_secret"
        );
    }
    let v = e
        .verify_domain_code(&o, &owner, "acme.example", &code.to_lowercase())
        .expect("right code");
    assert_eq!(v.method, Some(DomainVerificationMethod::EmailCode));

    // A second claim: the code dies after the attempts, and expires.
    e.claim_domain(&o, &owner, "beta.example").expect("claim");
    e.send_domain_code(&o, &owner, "beta.example", "it@beta.example")
        .expect("sent");
    e.deliver_pending(&mailer, 10).expect("deliver");
    let code = mailer.sent().last().expect("mail").accept_url.clone();
    for _ in 0..MAX_DOMAIN_CODE_ATTEMPTS {
        let _ = e.verify_domain_code(&o, &owner, "beta.example", "AAAAA-AAAAA");
    }
    assert_eq!(
        e.verify_domain_code(&o, &owner, "beta.example", &code)
            .expect_err("locked")
            .code(),
        "limit_exceeded"
    );
    e.send_domain_code(&o, &owner, "beta.example", "it@beta.example")
        .expect("a new code");
    e.deliver_pending(&mailer, 10).expect("deliver");
    let code = mailer.sent().last().expect("mail").accept_url.clone();
    clock.advance(chrono::Duration::seconds(DOMAIN_CODE_TTL_SECS as i64 + 1));
    assert_eq!(
        e.verify_domain_code(&o, &owner, "beta.example", &code)
            .expect_err("expired")
            .code(),
        "invalid_secret"
    );
}

#[test]
fn codes_sent_per_claim_are_capped() {
    let (e, _) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    e.claim_domain(&o, &owner, "acme.example").expect("claim");
    for _ in 0..MAX_DOMAIN_CODES_SENT {
        e.send_domain_code(&o, &owner, "acme.example", "it@acme.example")
            .expect("sent");
    }
    assert_eq!(
        e.send_domain_code(&o, &owner, "acme.example", "it@acme.example")
            .expect_err("cap")
            .code(),
        "limit_exceeded"
    );
}

#[test]
fn offers_say_nothing_about_organizations_that_chose_nothing() {
    let (e, _) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    verified(&e, &o, &owner, "acme.example");
    // Verified, enrollment off: same as unclaimed.
    assert!(
        e.domain_offers("pat@acme.example", Some("acct-pat"))
            .expect("offers")
            .is_empty()
    );
    assert_eq!(
        e.join_by_domain(&o, person("acct-pat", "pat@acme.example"))
            .expect_err("off")
            .code(),
        e.join_by_domain(
            &OrgId::from("org_nope"),
            person("acct-pat", "pat@acme.example")
        )
        .expect_err("no org")
        .code()
    );
    e.set_domain_enrollment(&o, &owner, "acme.example", DomainEnrollment::AutoJoin, None)
        .expect("auto join");
    let offers = e
        .domain_offers("Pat@ACME.example", Some("acct-pat"))
        .expect("offers");
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].enrollment, DomainEnrollment::AutoJoin);
    assert_eq!(offers[0].role, "member");
    // A pending claim offers nothing.
    let (p, owner_p) = org(&e, "acct-2", "zed@other.example", Policy::default());
    e.claim_domain(&p, &owner_p, "pending.example")
        .expect("claim");
    e.set_domain_enrollment(
        &p,
        &owner_p,
        "pending.example",
        DomainEnrollment::AutoJoin,
        None,
    )
    .expect("set");
    assert!(
        e.domain_offers("x@pending.example", None)
            .expect("offers")
            .is_empty()
    );
    assert!(
        e.join_by_domain(&p, person("acct-x", "x@pending.example"))
            .is_err()
    );
}

#[test]
fn auto_join_uses_the_join_path_and_its_rules() {
    let (e, _) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    verified(&e, &o, &owner, "acme.example");
    e.set_domain_enrollment(&o, &owner, "acme.example", DomainEnrollment::AutoJoin, None)
        .expect("auto join");
    // No verified email: refused.
    let err = e
        .join_by_domain(&o, registration("acct-pat", ("Pat", "Doe")))
        .expect_err("no verified email");
    assert_eq!(err.code(), "registration_incomplete");
    // An email of another domain: not offered.
    assert_eq!(
        e.join_by_domain(&o, person("acct-pat", "pat@evil.example"))
            .expect_err("other domain")
            .code(),
        "not_found"
    );
    let m = e
        .join_by_domain(&o, person("acct-pat", "pat@acme.example"))
        .expect("joined");
    assert_eq!(m.role, "member");
    let trail = e.events(&o, &owner, 0, 1000).expect("events");
    assert!(trail.iter().any(|ev| matches!(
        &ev.kind,
        EventKind::MemberJoined {
            via: JoinedVia::VerifiedDomain,
            ..
        }
    )));
    // Once a member, no offer and no second join.
    assert!(
        e.domain_offers("pat@acme.example", Some("acct-pat"))
            .expect("offers")
            .is_empty()
    );
    assert_eq!(
        e.join_by_domain(&o, person("acct-pat", "pat@acme.example"))
            .expect_err("twice")
            .code(),
        "already_member"
    );
}

#[test]
fn the_domain_role_must_be_one_the_actor_could_grant() {
    let (e, _) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    let admin = actor_with_role(&e, &o, &owner, "adm@acme.example", "admin");
    verified(&e, &o, &admin, "acme.example");
    let err = e
        .set_domain_enrollment(
            &o,
            &admin,
            "acme.example",
            DomainEnrollment::AutoJoin,
            Some("owner"),
        )
        .expect_err("admin cannot grant owner");
    assert_eq!(err.family(), ErrorFamily::PermissionDenied);
    let d = e
        .set_domain_enrollment(
            &o,
            &admin,
            "acme.example",
            DomainEnrollment::Request,
            Some("user_admin"),
        )
        .expect("user_admin is within reach");
    assert_eq!(d.role, "user_admin");
}

#[test]
fn requests_collapse_are_approved_with_a_grantable_role_or_declined() {
    let (e, clock) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    verified(&e, &o, &owner, "acme.example");
    e.set_domain_enrollment(&o, &owner, "acme.example", DomainEnrollment::Request, None)
        .expect("request mode");
    // Auto join is not what this domain offers.
    assert_eq!(
        e.join_by_domain(&o, person("acct-pat", "pat@acme.example"))
            .expect_err("request only")
            .code(),
        "not_found"
    );
    let r = e
        .request_membership(&o, person("acct-pat", "pat@acme.example"))
        .expect("requested");
    let again = e
        .request_membership(&o, person("acct-pat", "pat@acme.example"))
        .expect("collapsed");
    assert_eq!(again.id, r.id);
    let r2 = e
        .request_membership(&o, person("acct-sam", "sam@acme.example"))
        .expect("requested");
    let events = e.events(&o, &owner, 0, 1000).expect("events");
    let requested = events
        .iter()
        .filter(|ev| matches!(ev.kind, EventKind::MembershipRequested { .. }))
        .count();
    assert_eq!(requested, 2, "a duplicate request appends nothing");

    // Who may list and decide: manage_members.
    let plain = actor_with_role(&e, &o, &owner, "m@acme.example", "member");
    assert_eq!(
        e.membership_requests(&o, &plain, &MembershipRequestQuery::default())
            .expect_err("a plain member")
            .family(),
        ErrorFamily::PermissionDenied
    );
    let ua = actor_with_role(&e, &o, &owner, "ua@acme.example", "user_admin");
    let page = e
        .membership_requests(
            &o,
            &ua,
            &MembershipRequestQuery {
                limit: 1,
                ..Default::default()
            },
        )
        .expect("page");
    assert_eq!(page.items.len(), 1);
    let next = e
        .membership_requests(
            &o,
            &ua,
            &MembershipRequestQuery {
                after: page.next_cursor.clone(),
                limit: 1,
                ..Default::default()
            },
        )
        .expect("page 2");
    assert_eq!(next.items.len(), 1);
    assert_ne!(next.items[0].id, page.items[0].id);
    assert_eq!(
        e.approve_membership_request(&o, &ua, &r.id, Some("admin"))
            .expect_err("cannot grant admin")
            .family(),
        ErrorFamily::PermissionDenied
    );
    let m = e
        .approve_membership_request(&o, &ua, &r.id, None)
        .expect("approved");
    assert_eq!(m.role, "member");
    assert_eq!(m.contact.as_str(), "pat@acme.example");
    let seen = e
        .my_membership_request(&o, "acct-pat")
        .expect("status")
        .expect("a request");
    assert_eq!(seen.status, MembershipRequestStatus::Approved);
    assert_eq!(seen.member_id, Some(m.id.clone()));
    assert_eq!(
        e.approve_membership_request(&o, &ua, &r.id, None)
            .expect_err("decided")
            .code(),
        "conflict"
    );
    // Declined: seen by the requester, and not asked again too soon.
    let d = e
        .decline_membership_request(&o, &ua, &r2.id)
        .expect("declined");
    assert_eq!(d.status, MembershipRequestStatus::Declined);
    assert_eq!(
        e.domain_offers("sam@acme.example", Some("acct-sam"))
            .expect("offers")[0]
            .request
            .as_ref()
            .map(|r| r.status),
        Some(MembershipRequestStatus::Declined)
    );
    assert_eq!(
        e.request_membership(&o, person("acct-sam", "sam@acme.example"))
            .expect_err("too soon")
            .code(),
        "conflict"
    );
    clock.advance(chrono::Duration::seconds(REQUEST_RETRY_SECS as i64 + 1));
    let again = e
        .request_membership(&o, person("acct-sam", "sam@acme.example"))
        .expect("again");
    assert_eq!(again.id, r2.id);
    assert_eq!(again.status, MembershipRequestStatus::Pending);
}

#[test]
fn a_request_must_meet_the_registration_rules_now_and_at_approval() {
    let (e, _) = engine();
    let mut policy = Policy::default();
    policy.registration.phone = true;
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", policy);
    verified(&e, &o, &owner, "acme.example");
    e.set_domain_enrollment(&o, &owner, "acme.example", DomainEnrollment::Request, None)
        .expect("request mode");
    let err = e
        .request_membership(&o, person("acct-pat", "pat@acme.example"))
        .expect_err("no phone");
    assert_eq!(err.code(), "registration_incomplete");
    let mut reg = person("acct-pat", "pat@acme.example");
    reg.phone = Some("+33 6 12 34 56 78".into());
    e.request_membership(&o, reg).expect("requested");
}

#[test]
fn a_code_email_that_fails_for_good_keeps_no_code_and_cannot_be_retried() {
    let (e, _) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    e.claim_domain(&o, &owner, "acme.example").expect("claim");
    e.send_domain_code(&o, &owner, "acme.example", "it@acme.example")
        .expect("sent");
    let due = e.claim_due(Some(&o), 10).expect("claim");
    let msg = due
        .iter()
        .find(|m| m.email.to == "it@acme.example")
        .expect("the code email");
    let code = msg.email.accept_url.clone();
    e.mark_failed(&msg.id, &format!("bounced: {code}"), true)
        .expect("failed");
    let stored = e.outbox_message(&msg.id).expect("message");
    assert!(!stored.email.text_body.contains(&code));
    assert!(!stored.last_error.unwrap_or_default().contains(&code));
    // Not an invitation: a dead letter that cannot be resent (send a new
    // code instead).
    assert_eq!(
        e.retry_dead_letter(&o, &owner, &msg.id)
            .expect_err("no invitation")
            .code(),
        "not_found"
    );
    // A new code supersedes nothing already failed, and is mailed.
    e.send_domain_code(&o, &owner, "acme.example", "it@acme.example")
        .expect("a new code");
}

#[test]
fn a_new_code_drops_the_unsent_email_of_the_previous_one() {
    let (e, _) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    e.claim_domain(&o, &owner, "acme.example").expect("claim");
    e.send_domain_code(&o, &owner, "acme.example", "it@acme.example")
        .expect("first");
    e.send_domain_code(&o, &owner, "acme.example", "ops@acme.example")
        .expect("second");
    let mailer = RecordingMailer::new();
    e.deliver_pending(&mailer, 10).expect("deliver");
    let to: Vec<String> = mailer
        .sent()
        .into_iter()
        .filter(|m| m.to.ends_with("@acme.example") && m.to != "ada@acme.example")
        .map(|m| m.to.into_string())
        .collect();
    assert_eq!(to, ["ops@acme.example"], "only the current code is mailed");
}

#[test]
fn nobody_joins_with_a_domain_role_deleted_since() {
    let (e, _) = engine();
    let (o, owner) = org(&e, "acct-1", "ada@acme.example", Policy::default());
    e.define_role(
        &o,
        &owner,
        "staff",
        [crate::role::Permission::ViewMembers].into_iter().collect(),
    )
    .expect("role");
    verified(&e, &o, &owner, "acme.example");
    e.set_domain_enrollment(
        &o,
        &owner,
        "acme.example",
        DomainEnrollment::AutoJoin,
        Some("staff"),
    )
    .expect("auto join as staff");
    // While the domain hands the role out, the role is not deleted.
    assert_eq!(
        e.delete_role(&o, &owner, "staff")
            .expect_err("in use")
            .code(),
        "conflict"
    );
    // Closed, the domain no longer holds it back; opened again, it cannot
    // hand out the role deleted since.
    e.set_domain_enrollment(&o, &owner, "acme.example", DomainEnrollment::Off, None)
        .expect("off");
    e.delete_role(&o, &owner, "staff").expect("delete");
    assert!(
        e.set_domain_enrollment(&o, &owner, "acme.example", DomainEnrollment::AutoJoin, None)
            .is_err(),
        "the kept role no longer exists"
    );
    assert_eq!(
        e.join_by_domain(&o, person("acct-pat", "pat@acme.example"))
            .expect_err("nobody joins")
            .code(),
        "not_found"
    );
}

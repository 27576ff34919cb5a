//! Verified domains and membership requests on every store: the claims and
//! requests round-trip, one organization at a time holds a domain verified
//! (also when organizations race to verify it), one request per account,
//! request pages oldest first, and the whole flow through the engine
//! answering as on MemoryStore.

use super::harness::{Env, MakeStore, SEED, as_member, at, registration};
use super::races::{THREADS, race};
use crate::store::cursor;
use crate::{
    Actor, DomainEnrollment, DomainStatus, MembershipRequest, MembershipRequestId,
    MembershipRequestQuery, MembershipRequestStatus, OrgDomain, OrgId, Registration, StoreError,
    StoredDomain, UniqueRule,
};

/// A claim of `domain` by `org`, made at `at(0)`.
pub(super) fn claim(org: &str, domain: &str, status: DomainStatus) -> StoredDomain {
    StoredDomain::new(OrgDomain {
        org_id: OrgId::from(org),
        domain: domain.to_owned(),
        status,
        method: None,
        enrollment: DomainEnrollment::Off,
        role: "member".into(),
        dns_record_name: format!("_enlist-verification.{domain}"),
        dns_record_value: format!("enlist-domain-verification={org}"),
        code_sent_to: None,
        code_expires_at: None,
        created_by: None,
        created_at: at(0),
        verified_at: None,
    })
}

fn request(org: &str, id: &str, user_ref: &str, secs: i64) -> MembershipRequest {
    MembershipRequest {
        org_id: OrgId::from(org),
        id: MembershipRequestId::from(id),
        user_ref: user_ref.to_owned(),
        email: format!("{user_ref}@acme.test"),
        domain: "acme.test".into(),
        first_name: Some("Pat".into()),
        last_name: None,
        phone: None,
        eula_version: None,
        two_factor_enrolled: false,
        status: MembershipRequestStatus::Pending,
        created_at: at(secs),
        decided_at: None,
        decided_by: None,
        member_id: None,
    }
}

/// Claims and requests round-trip; the uniqueness rules hold; pages of
/// requests are oldest first (ties by id), filtered by status, and a
/// made-up cursor is an error.
pub fn domains_and_requests_round_trip(make: MakeStore<'_>) {
    let store = make();
    let mut tx = store.begin().expect("begin");
    let mut a = claim("org_a", "acme.test", DomainStatus::Pending);
    a.code_hash = Some(crate::SecretHash::of(b"code"));
    a.code_attempts = 2;
    tx.put_org_domain(&a).expect("put a");
    tx.put_org_domain(&claim("org_a", "beta.test", DomainStatus::Pending))
        .expect("put");
    // Two organizations may both claim a domain while neither holds it
    // verified.
    tx.put_org_domain(&claim("org_b", "acme.test", DomainStatus::Pending))
        .expect("pending twice");
    tx.commit().expect("commit");

    let mut tx = store.begin().expect("begin");
    assert_eq!(
        tx.org_domain(&OrgId::from("org_a"), "acme.test")
            .expect("read"),
        Some(a.clone())
    );
    let names: Vec<String> = tx
        .org_domains(&OrgId::from("org_a"))
        .expect("list")
        .into_iter()
        .map(|d| d.domain.domain)
        .collect();
    assert_eq!(names, ["acme.test", "beta.test"]);
    assert_eq!(tx.verified_domain("acme.test").expect("read"), None);
    let mut va = a.clone();
    va.status = DomainStatus::Verified;
    tx.put_org_domain(&va).expect("verify a");
    assert_eq!(tx.verified_domain("acme.test").expect("read"), Some(va));
    tx.commit().expect("commit");
    // A refused write changes nothing and leaves the transaction usable
    // (a store whose failed statement aborts its transaction checks
    // first): it reads on, writes on and commits.
    let vb = claim("org_b", "acme.test", DomainStatus::Verified);
    let mut tx = store.begin().expect("begin");
    assert!(
        matches!(
            tx.put_org_domain(&vb),
            Err(StoreError::Unique(UniqueRule::DomainVerified))
        ),
        "a domain is verified by one organization"
    );
    assert_eq!(
        tx.org_domain(&OrgId::from("org_b"), "acme.test")
            .expect("read after the refusal")
            .map(|d| d.domain.status),
        Some(DomainStatus::Pending)
    );
    tx.put_org_domain(&claim("org_b", "gamma.test", DomainStatus::Verified))
        .expect("another domain");
    tx.commit().expect("commit after the refusal");

    let mut tx = store.begin().expect("begin");
    assert!(
        tx.delete_org_domain(&OrgId::from("org_a"), "acme.test")
            .expect("delete")
    );
    assert!(
        !tx.delete_org_domain(&OrgId::from("org_a"), "acme.test")
            .expect("again")
    );
    assert_eq!(tx.verified_domain("acme.test").expect("read"), None);
    tx.put_org_domain(&vb).expect("now b may");
    tx.commit().expect("commit");

    // Requests.
    let mut tx = store.begin().expect("begin");
    let org = OrgId::from("org_a");
    let r1 = request("org_a", "req_2", "ann", 10);
    let r2 = request("org_a", "req_1", "bob", 10);
    let mut r3 = request("org_a", "req_0", "cy", 20);
    r3.status = MembershipRequestStatus::Declined;
    for r in [&r1, &r2, &r3] {
        tx.put_membership_request(r).expect("put");
    }
    tx.put_membership_request(&request("org_b", "req_9", "ann", 0))
        .expect("per organization");
    tx.commit().expect("commit");
    let mut tx = store.begin().expect("begin");
    assert!(matches!(
        tx.put_membership_request(&request("org_a", "req_x", "ann", 30)),
        Err(StoreError::Unique(UniqueRule::MembershipRequestAccount))
    ));
    assert_eq!(
        tx.membership_request_of(&org, "ann")
            .expect("read after the refusal"),
        Some(r1.clone())
    );
    assert_eq!(
        tx.membership_request(&org, &crate::MembershipRequestId::from("req_x"))
            .expect("read"),
        None
    );
    drop(tx);

    let mut tx = store.begin().expect("begin");
    assert_eq!(
        tx.membership_request(&org, &r1.id).expect("read"),
        Some(r1.clone())
    );
    assert_eq!(
        tx.membership_request_of(&org, "bob").expect("read"),
        Some(r2.clone())
    );
    assert_eq!(tx.membership_request_of(&org, "zed").expect("read"), None);
    let q = |after: Option<String>, status| MembershipRequestQuery {
        status,
        after,
        limit: 2,
    };
    let p1 = tx.membership_requests(&org, &q(None, None)).expect("page");
    let ids: Vec<&str> = p1.items.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["req_1", "req_2"], "oldest first, ties by id");
    let p2 = tx
        .membership_requests(&org, &q(p1.next_cursor.clone(), None))
        .expect("page 2");
    assert_eq!(p2.items, [r3.clone()]);
    assert_eq!(p2.next_cursor, None);
    let declined = tx
        .membership_requests(&org, &q(None, Some(MembershipRequestStatus::Declined)))
        .expect("filtered");
    assert_eq!(declined.items, [r3]);
    assert!(matches!(
        tx.membership_requests(&org, &q(Some("r.zz".into()), None)),
        Err(StoreError::InvalidCursor { .. })
    ));
    assert_eq!(
        p1.next_cursor,
        Some(cursor::request(at(10).timestamp(), 0, "req_2"))
    );
    // An update keeps the one row of the account.
    let mut approved = r1.clone();
    approved.status = MembershipRequestStatus::Approved;
    tx.put_membership_request(&approved).expect("update");
    assert_eq!(
        tx.membership_request_of(&org, "ann").expect("read"),
        Some(approved)
    );
}

/// Organizations racing to verify one domain: exactly one holds it.
pub fn one_organization_verifies_a_domain_under_a_race(make: MakeStore<'_>) {
    let store = make();
    let mut env = Env::new(store.clone(), SEED);
    let mut orgs = Vec::new();
    for _ in 0..THREADS {
        let (org, owner) = env.org();
        let actor = as_member(&owner);
        let d = env
            .engine
            .claim_domain(&org.id, &actor, "race.test")
            .expect("claim");
        orgs.push((org.id, actor, d.dns_record_value));
    }
    let results = race(&store, &env.clock, THREADS, |i, engine| {
        let (org, actor, value) = &orgs[i];
        engine.verify_domain_dns(org, actor, "race.test", std::slice::from_ref(value))
    });
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "exactly one organization verifies: {results:?}");
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            e.code() == "conflict" || super::races::is_conflict(e),
            "a loser is told the domain is taken: {e:?}"
        );
    }
    let mut tx = store.begin().expect("begin");
    let holder = tx
        .verified_domain("race.test")
        .expect("read")
        .expect("held");
    let winner = results.iter().position(|r| r.is_ok()).expect("a winner");
    assert_eq!(holder.org_id, orgs[winner].0);
}

/// The whole flow through the engine: claim, verify (DNS and code),
/// enrollment, offers, auto-join, requests approved and declined.
pub fn domains_through_the_engine(env: &mut Env) {
    let (org, owner) = env.org();
    let id = org.id.clone();
    let me = as_member(&owner);
    let d = env
        .engine
        .claim_domain(&id, &me, "acme.test")
        .expect("claim");
    env.rec("claimed", &d);
    let r = env
        .engine
        .verify_domain_dns(&id, &me, "acme.test", &["wrong".into()]);
    env.rec_result("wrong txt", &r);
    let r = env.engine.verify_domain_dns(
        &id,
        &me,
        "acme.test",
        std::slice::from_ref(&d.dns_record_value),
    );
    env.rec_result("verified", &r);
    env.engine
        .claim_domain(&id, &me, "beta.test")
        .expect("claim");
    let r = env
        .engine
        .send_domain_code(&id, &me, "beta.test", "it@beta.test");
    env.rec_result("code sent", &r);
    let r = env
        .engine
        .verify_domain_code(&id, &me, "beta.test", "00000-00000");
    env.rec_result("wrong code", &r);
    let r = env.engine.domains(&id, &me);
    env.rec_result("domains", &r);
    let r =
        env.engine
            .set_domain_enrollment(&id, &me, "acme.test", DomainEnrollment::AutoJoin, None);
    env.rec_result("auto join", &r);
    let with_email = |user_ref: &str, email: &str| Registration {
        verified_email: Some(email.into()),
        ..registration(user_ref)
    };
    let r = env.engine.domain_offers("pat@acme.test", Some("acct-pat"));
    env.rec_result("offers", &r);
    let r = env
        .engine
        .join_by_domain(&id, with_email("acct-pat", "pat@acme.test"));
    env.rec_result("joined", &r);
    let r = env.engine.set_domain_enrollment(
        &id,
        &me,
        "acme.test",
        DomainEnrollment::Request,
        Some("user_admin"),
    );
    env.rec_result("requests", &r);
    let mut ids = Vec::new();
    for who in ["sam", "kim", "lee"] {
        let r = env.engine.request_membership(
            &id,
            with_email(&format!("acct-{who}"), &format!("{who}@acme.test")),
        );
        env.rec_result("requested", &r);
        ids.push(r.expect("requested").id);
    }
    let r = env
        .engine
        .request_membership(&id, with_email("acct-sam", "sam@acme.test"));
    env.rec_result("requested again", &r);
    let page = env.engine.membership_requests(
        &id,
        &me,
        &MembershipRequestQuery {
            limit: 2,
            ..Default::default()
        },
    );
    env.rec_result("page", &page);
    let page = page.expect("page");
    let r = env.engine.membership_requests(
        &id,
        &me,
        &MembershipRequestQuery {
            after: page.next_cursor,
            limit: 2,
            ..Default::default()
        },
    );
    env.rec_result("page 2", &r);
    let r = env
        .engine
        .approve_membership_request(&id, &me, &ids[0], None);
    env.rec_result("approved", &r);
    let r = env.engine.decline_membership_request(&id, &me, &ids[1]);
    env.rec_result("declined", &r);
    let r = env.engine.my_membership_request(&id, "acct-kim");
    env.rec_result("seen by the requester", &r);
    let r = env.engine.remove_domain(&id, &me, "beta.test");
    env.rec_result("removed", &r);
    let r = env.engine.events(&id, &Actor::System, 0, 1000);
    env.rec_result("events", &r);
}

/// A purged organization releases the domains it held verified, and its
/// requests are gone: another organization may verify the domain, and
/// nothing of the purged one is read back.
pub fn a_purged_organization_releases_its_domains(make: MakeStore<'_>) {
    let store = make();
    let mut tx = store.begin().expect("begin");
    let org_a = OrgId::from("org_a");
    tx.put_organization(&super::entities::organization(&org_a))
        .expect("org");
    tx.put_org_domain(&claim("org_a", "acme.test", DomainStatus::Verified))
        .expect("verified");
    tx.put_membership_request(&request("org_a", "req_1", "acct-1", 1))
        .expect("request");
    tx.commit().expect("commit");

    let mut tx = store.begin().expect("begin");
    tx.purge_organization(&org_a).expect("purge");
    tx.commit().expect("commit");

    let mut tx = store.begin().expect("begin");
    assert_eq!(tx.verified_domain("acme.test").expect("read"), None);
    assert_eq!(tx.org_domain(&org_a, "acme.test").expect("read"), None);
    assert_eq!(
        tx.membership_request(&org_a, &MembershipRequestId::from("req_1"))
            .expect("read"),
        None
    );
    tx.put_org_domain(&claim("org_b", "acme.test", DomainStatus::Verified))
        .expect("another organization verifies the released domain");
    tx.commit().expect("commit");
}

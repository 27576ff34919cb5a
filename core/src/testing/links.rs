//! Several invitation links per organization (ADR 0013): the store's link
//! table read and written directly, the engine's named links compared with
//! MemoryStore, and a use cap under concurrent joins.

use super::entities::{hash, link, named_link};
use super::harness::{Env, MakeStore, SEED, as_member, code, registration};
use super::races::{THREADS, is_conflict, race};
use crate::OrgId;
use crate::{
    ActivatedLink, Actor, EventKind, JoinedVia, LinkId, LinkSpec, LinkStatus, NewLink, Policy,
    Registration, SecretKey,
};
use chrono::TimeDelta;

fn org_id(n: u32) -> OrgId {
    OrgId::from(format!("org_{n}"))
}

/// `put_link`, `link`, `link_by_secret`, `links` and the default-link
/// accessors: by id and by hash within one organization, oldest first,
/// bounded by `limit`, rolled back with the transaction.
pub fn links_are_kept_per_organization_and_found_by_hash(make: MakeStore<'_>) {
    let store = make();
    let (org, other) = (org_id(1), org_id(2));
    let mut tx = store.begin().expect("begin");
    let default = link(&org, 1);
    let (a, b) = (
        named_link(&org, "lnk_a", 2, 20),
        named_link(&org, "lnk_b", 3, 10),
    );
    tx.put_invite_link(&default).expect("default link");
    tx.put_link(&a).expect("a");
    tx.put_link(&b).expect("b");
    tx.put_link(&named_link(&other, "lnk_a", 4, 0))
        .expect("the same id in another organization");
    tx.commit().expect("commit");

    let mut tx = store.begin().expect("begin");
    assert_eq!(tx.invite_link(&org).expect("read"), Some(default.clone()));
    assert_eq!(
        tx.link(&org, &LinkId::default_link()).expect("read"),
        Some(default.clone())
    );
    assert_eq!(
        tx.link(&org, &"lnk_a".into()).expect("read"),
        Some(a.clone())
    );
    assert_eq!(tx.link(&org, &"lnk_zz".into()).expect("read"), None);
    assert_eq!(
        tx.link_by_secret(&org, &hash(3)).expect("read"),
        Some(b.clone())
    );
    assert_eq!(
        tx.link_by_secret(&org, &hash(1)).expect("read"),
        Some(default.clone())
    );
    assert_eq!(
        tx.link_by_secret(&org, &hash(4)).expect("read"),
        None,
        "another organization's secret"
    );
    assert_eq!(tx.link_by_secret(&org, &hash(9)).expect("read"), None);
    assert_eq!(
        tx.links(&org, 10).expect("list"),
        vec![default.clone(), b.clone(), a.clone()],
        "oldest first"
    );
    assert_eq!(tx.links(&org, 2).expect("list").len(), 2);
    assert_eq!(tx.links(&org_id(3), 10).expect("list"), vec![]);
    assert_eq!(tx.links(&other, 10).expect("list").len(), 1);

    // A new secret replaces the old one in the hash lookup.
    let mut b2 = b.clone();
    b2.secret_hash = Some(hash(5));
    b2.generation = 1;
    b2.link.uses = 7;
    b2.link.active = false;
    b2.link.max_uses = Some(9);
    b2.link.allowed_domains = vec!["acme.test".into()];
    tx.put_link(&b2).expect("replace");
    assert_eq!(tx.link_by_secret(&org, &hash(3)).expect("read"), None);
    assert_eq!(
        tx.link_by_secret(&org, &hash(5)).expect("read"),
        Some(b2.clone())
    );
    drop(tx);
    // Rolled back: the old secret still finds the old link.
    let mut tx = store.begin().expect("begin");
    assert_eq!(tx.link_by_secret(&org, &hash(3)).expect("read"), Some(b));
    tx.put_link(&b2).expect("replace");
    tx.commit().expect("commit");
    let mut tx = store.begin().expect("begin");
    assert_eq!(
        tx.link(&org, &"lnk_b".into()).expect("read"),
        Some(b2),
        "every field round-trips"
    );
}

fn link_policy() -> Policy {
    let mut p = Policy::default();
    p.invite_link_enabled = true;
    p.guests_enabled = true;
    p
}

fn key() -> SecretKey {
    SecretKey::new(vec![42u8; 32]).expect("a key")
}

fn verified(user_ref: &str, email: &str) -> Registration {
    Registration {
        verified_email: Some(email.to_owned()),
        ..registration(user_ref)
    }
}

/// Named links through the engine, beside the default link: created,
/// listed in pages, joined by until their cap, their domains, their
/// expiry; their URL shown again under the host's key; regenerated and
/// revoked one by one.
pub fn named_links(env: &mut Env) {
    env.engine = env
        .engine
        .clone()
        .with_link_keys(key(), Vec::new())
        .expect("link key");
    let (o, owner) = env.org_with_policy(link_policy());
    let (org, me) = (o.id.clone(), as_member(&owner));
    let default = env
        .engine
        .activate_invite_link(&org, &me, LinkSpec::default())
        .expect("the default link");
    // Listed oldest first (ties by id).
    env.advance(TimeDelta::seconds(1));

    let mut sales = NewLink::new("Sales team");
    sales.max_uses = Some(2);
    let sales = env.engine.create_link(&org, &me, sales).expect("sales");
    env.rec("sales", &sales.link);
    env.advance(TimeDelta::seconds(1));
    let mut partners = NewLink::new("Partners");
    partners.allowed_domains = vec!["Partner.test".into()];
    partners.expires_in_secs = Some(3600);
    partners.kind = crate::MemberKind::Guest;
    let partners = env
        .engine
        .create_link(&org, &me, partners)
        .expect("partners");
    env.rec("partners", &partners.link);
    assert_eq!(partners.link.role, "guest");
    assert_eq!(partners.link.allowed_domains, ["partner.test"]);
    assert_ne!(sales.url, partners.url);
    assert_ne!(sales.url, default.url);

    // Listed in pages, the default link first.
    let p1 = env.engine.links(&org, &me, None, 2).expect("page 1");
    env.rec_page("links page 1", &p1);
    assert_eq!(p1.items.len(), 2);
    assert!(p1.items[0].id.is_default());
    let p2 = env
        .engine
        .links(&org, &me, p1.next_cursor.as_deref(), 2)
        .expect("page 2");
    env.rec_page("links page 2", &p2);
    assert_eq!(p2.items.len(), 1);
    assert_eq!(p2.next_cursor, None);
    let bad = env.engine.links(&org, &me, Some("lnk_nope"), 2);
    assert_eq!(code(&bad), "invalid_input");

    // The cap: two join, the third is refused and the count stays exact.
    for i in 0..3 {
        let r = env.engine.join_by_link(
            sales.url.expose(),
            &format!("s{i}@acme.test"),
            registration(&format!("acct-s{i}")),
        );
        env.rec_result("join sales", &r);
        if i < 2 {
            let m = r.expect("under the cap");
            assert_eq!(m.role, "member");
        } else {
            assert_eq!(code(&r), "limit_exceeded");
        }
    }
    let s = env
        .engine
        .link(&org, &me, &sales.link.id)
        .expect("read sales");
    assert_eq!((s.uses, s.status), (2, LinkStatus::Exhausted));
    let preview = env.engine.preview_link(sales.url.expose());
    assert_eq!(code(&preview), "limit_exceeded");

    // Its own domains: a verified address of one of them joins, nothing
    // else does.
    let url = partners.url.expose();
    for (contact, reg, want) in [
        (
            "+33 6 12 34 56 78",
            registration("acct-p0"),
            "invalid_input",
        ),
        (
            "p1@other.test",
            verified("acct-p1", "p1@other.test"),
            "domain_not_allowed",
        ),
        (
            "p2@partner.test",
            registration("acct-p2"),
            "registration_incomplete",
        ),
        (
            "p3@partner.test",
            verified("acct-p3", "p9@partner.test"),
            "email_mismatch",
        ),
        (
            "p4@eu.partner.test",
            verified("acct-p4", "p4@eu.partner.test"),
            "ok",
        ),
    ] {
        let r = env.engine.join_by_link(url, contact, reg);
        env.rec_result("join partners", &r);
        assert_eq!(code(&r), want, "{contact}");
    }

    // The URL again, under the key; regenerating one link kills its old
    // URL only.
    let again = env
        .engine
        .link_url(&org, &me, &partners.link.id)
        .expect("shown again");
    assert_eq!(again, partners.url);
    let fresh = env
        .engine
        .regenerate_link(&org, &me, &partners.link.id)
        .expect("regenerate");
    assert_ne!(fresh.url, partners.url);
    assert_eq!(fresh.link.uses, 1, "uses stay");
    assert_eq!(
        code(&env.engine.preview_link(partners.url.expose())),
        "invalid_secret"
    );
    let r = env.engine.join_by_link(
        fresh.url.expose(),
        "p5@partner.test",
        verified("acct-p5", "p5@partner.test"),
    );
    env.rec_result("join partners again", &r);
    assert!(r.is_ok());
    assert_eq!(
        env.engine
            .link_url(&org, &me, &partners.link.id)
            .expect("shown again"),
        fresh.url
    );
    assert!(env.engine.preview_link(default.url.expose()).is_ok());

    // Expiry: past it, the link is refused and listed as expired.
    env.advance(TimeDelta::seconds(3601));
    let r = env.engine.join_by_link(
        fresh.url.expose(),
        "p6@partner.test",
        verified("acct-p6", "p6@partner.test"),
    );
    env.rec_result("join partners expired", &r);
    assert_eq!(code(&r), "link_expired");

    // Revoked one by one: the default link keeps working.
    let revoked = env
        .engine
        .revoke_link(&org, &me, &sales.link.id)
        .expect("revoke");
    assert_eq!(revoked.status, LinkStatus::Revoked);
    assert_eq!(
        code(&env.engine.link_url(&org, &me, &sales.link.id)),
        "invalid_secret"
    );
    assert_eq!(
        code(&env.engine.regenerate_link(&org, &me, &sales.link.id)),
        "invalid_secret"
    );
    let m = env
        .engine
        .join_by_link(
            default.url.expose(),
            "d1@acme.test",
            registration("acct-d1"),
        )
        .expect("the default link still works");
    env.rec("joined by the default link", &m);
    let all = env.engine.links(&org, &me, None, 10).expect("list");
    env.rec_page("links at the end", &all);
    let statuses: Vec<LinkStatus> = all.items.iter().map(|l| l.status).collect();
    assert_eq!(
        statuses,
        [LinkStatus::Active, LinkStatus::Revoked, LinkStatus::Expired]
    );
    assert_eq!(
        all.items.iter().map(|l| l.uses).collect::<Vec<_>>(),
        [1, 2, 2]
    );
    let events = env.events_paged(&org, 100);
    assert!(events.iter().any(|e| matches!(
        &e.kind,
        EventKind::MemberJoined { via: JoinedVia::NamedLink(id), .. } if *id == sales.link.id
    )));
    for kind in [
        "link_created",
        "link_url_shown",
        "link_regenerated",
        "link_revoked",
    ] {
        assert!(
            events.iter().any(|e| serde_json::to_value(&e.kind)
                .expect("json")
                .get("type")
                .is_some_and(|t| t == kind)),
            "{kind}"
        );
    }
    // No event holds a secret.
    let trail = format!("{events:?}");
    for url in [&default.url, &sales.url, &partners.url, &fresh.url] {
        let token = url.expose().rsplit('.').next().expect("a token");
        assert!(!trail.contains(token));
    }
    env.rec("events", &events.len());
}

/// Threads join by one link with a use cap at once: never more joins
/// than the cap, and the count of uses is exact.
pub fn link_use_cap_holds_under_concurrent_joins(make: MakeStore<'_>) {
    let store = make();
    let mut env = Env::new(store.clone(), SEED);
    let (org, owner) = env.org_with_policy(link_policy());
    let mut new = NewLink::new("race");
    new.max_uses = Some(3);
    let ActivatedLink { url, link, .. } = env
        .engine
        .create_link(&org.id, &as_member(&owner), new)
        .expect("link");
    let results = race(&store, &env.clock, THREADS, |i, engine| {
        engine.join_by_link(
            url.expose(),
            &format!("r{i}@acme.test"),
            registration(&format!("acct-r{i}")),
        )
    });
    let oks = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| r.as_ref().is_err_and(is_conflict))
        .count();
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            e.code() == "limit_exceeded" || is_conflict(e),
            "a join past the cap: {e:?}"
        );
    }
    assert!(oks <= 3, "{oks} joins past a cap of 3");
    if conflicts == 0 {
        assert_eq!(oks, 3);
    }
    let after = env
        .engine
        .link(&org.id, &Actor::System, &link.id)
        .expect("read");
    assert_eq!(after.uses, oks as u64, "uses counts every join, once");
}

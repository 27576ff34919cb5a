//! Registration input, as strangers send it: arbitrary `Registration`s,
//! typed contacts and tokens through `join_by_link`, `self_register`,
//! `accept` and `accept_with_code`, on an in-memory engine whose
//! organization has a fuzzed policy (allowed domains, self-registration,
//! the link, seats, registration requirements) that may narrow midway.
//!
//! Never a panic, never a storage error, and after every step:
//! - a member who joined by the link or by self-registration while the
//!   policy restricts domains has an email of an allowed domain, and the
//!   registration's verified email matches it;
//! - a member who accepted an email invitation has an allowed domain;
//! - an invitation closes as accepted only by its own secret, or by a join
//!   whose verified email is its recipient; no other invitation changes.

#![no_main]

use std::collections::BTreeMap;
use std::sync::Arc;

use enlist::{
    ActivatedLink, Actor, Contact, CreatedOrganization, Enlist, InvitationId, InvitationQuery,
    InvitationStatus, InviteRequest, LinkSpec, ManualClock, MemberKind, MemberQuery, MemberStatus,
    MemoryStore, NewOrganization, OrgId, Policy, RecipientInput, Recipients, Registration,
    SecretKey, SeededSecrets, parse_address,
};
use libfuzzer_sys::arbitrary::{Result as AResult, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Addresses and identifiers the steps pick from (so that they meet the
/// invitations), besides arbitrary text.
const CONTACTS: &[&str] = &[
    "ada@acme.test",
    "Bob <bob@acme.test>",
    "BOB@ACME.TEST",
    "carol@eu.acme.test",
    "dan@other.test",
    "eve@université.fr",
    "eve@xn--universit-j4a.fr",
    "EMP-0042",
    "emp 0042",
    "+33 6 12 34 56 78",
    "mallory@evil.example",
    "owner@acme.test",
    "",
    "@",
    "a@b",
];

const DOMAINS: &[&str] = &[
    "acme.test",
    "université.fr",
    "other.test",
    "test",
    "evil.example",
];

fn pick_str<'a>(u: &mut Unstructured<'a>) -> AResult<String> {
    if u.ratio(3u8, 4u8)? {
        Ok((*u.choose(CONTACTS)?).to_owned())
    } else {
        let len = u.int_in_range(0..=64usize)?;
        let bytes = u.bytes(len.min(u.len()))?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}

fn opt_str<'a>(u: &mut Unstructured<'a>) -> AResult<Option<String>> {
    Ok(if u.arbitrary()? {
        Some(pick_str(u)?)
    } else {
        None
    })
}

fn registration<'a>(u: &mut Unstructured<'a>) -> AResult<Registration> {
    let mut r = Registration::default();
    r.user_ref = if u.ratio(4u8, 5u8)? {
        format!("acct-{}", u.int_in_range(0..=7u8)?)
    } else {
        pick_str(u)?
    };
    r.first_name = if u.ratio(4u8, 5u8)? {
        Some("Test".into())
    } else {
        opt_str(u)?
    };
    r.last_name = if u.ratio(4u8, 5u8)? {
        Some("Person".into())
    } else {
        opt_str(u)?
    };
    r.phone = opt_str(u)?;
    r.eula_version = if u.arbitrary()? {
        Some("v1".into())
    } else {
        opt_str(u)?
    };
    r.two_factor_enrolled = u.arbitrary()?;
    r.verified_email = opt_str(u)?;
    Ok(r)
}

fn policy<'a>(u: &mut Unstructured<'a>) -> AResult<Policy> {
    let mut p = Policy::default();
    let n = u.int_in_range(0..=2usize)?;
    for _ in 0..n {
        p.allowed_domains.push((*u.choose(DOMAINS)?).to_owned());
    }
    p.self_registration = u.arbitrary()?;
    p.invite_link_enabled = u.arbitrary()?;
    p.guests_enabled = u.arbitrary()?;
    p.reserve_seats_for_pending = u.arbitrary()?;
    p.require_two_factor = u.ratio(1u8, 4u8)?;
    p.registration.first_name = u.arbitrary()?;
    p.registration.last_name = u.arbitrary()?;
    p.registration.phone = u.ratio(1u8, 4u8)?;
    if u.ratio(1u8, 4u8)? {
        p.eula_version = Some("v1".into());
    }
    if u.ratio(1u8, 3u8)? {
        p.seat_limits
            .insert("standard".into(), u.int_in_range(1..=6u32)?);
    }
    p.access_code_attempts = u.int_in_range(1..=3u32)?;
    if u.ratio(1u8, 8u8)? {
        p.accept_url_base = Some(pick_str(u)?);
    }
    Ok(p)
}

/// What the last step did, to judge the invitations it closed.
enum Proof {
    /// Presented the secret of this invitation (if the secret was one).
    Secret(Option<InvitationId>),
    /// Joined with this registration's verified email, if any.
    Verified(Option<String>),
    /// Changed nothing an invitee owns.
    None,
}

struct World {
    engine: Enlist,
    clock: Arc<ManualClock>,
    org: OrgId,
    tokens: Vec<(String, InvitationId)>,
    codes: Vec<(String, String, InvitationId)>,
    link: Option<String>,
}

impl World {
    fn policy(&self) -> Policy {
        self.engine
            .organization(&self.org)
            .expect("the organization")
            .policy
    }

    fn statuses(&self) -> BTreeMap<InvitationId, (InvitationStatus, String)> {
        let mut out = BTreeMap::new();
        let mut q = InvitationQuery {
            limit: 1000,
            ..InvitationQuery::default()
        };
        loop {
            let page = self
                .engine
                .list_invitations(&self.org, &Actor::System, &q)
                .expect("list invitations");
            for i in page.items {
                out.insert(i.id.clone(), (i.status, i.recipient_key.to_string()));
            }
            match page.next_cursor {
                Some(c) => q.after = Some(c),
                None => return out,
            }
        }
    }

    fn member_count(&self) -> usize {
        self.engine
            .list_members(
                &self.org,
                &Actor::System,
                &MemberQuery {
                    limit: 1000,
                    statuses: vec![MemberStatus::Active, MemberStatus::Inactive],
                    ..MemberQuery::default()
                },
            )
            .expect("list members")
            .items
            .len()
    }
}

fn no_storage_error<T>(r: &enlist::Result<T>) {
    if let Err(e) = r {
        assert_ne!(e.code(), "storage", "{e}");
        assert_ne!(e.code(), "mail", "{e}");
    }
}

fn email_domain_allowed(p: &Policy, contact: &Contact) -> bool {
    match contact {
        Contact::Email(a) => parse_address(a)
            .map(|m| p.domain_allowed(&m.ascii_domain))
            .unwrap_or(false),
        // Identifiers, and any contact kind added later, have no domain.
        _ => false,
    }
}

fn setup(u: &mut Unstructured<'_>) -> AResult<Option<World>> {
    let clock = Arc::new(ManualClock::at_epoch_seconds(1_700_000_000));
    let engine = Enlist::new(Arc::new(MemoryStore::new()))
        .with_clock(clock.clone())
        .with_secrets(Arc::new(SeededSecrets::new(u.arbitrary()?)))
        // Access codes hashed with a key (HMAC): the keyless scrypt hash
        // allocates 16 MiB per code, which this target does not exercise
        // and which ASAN's quarantine would count against -rss_limit_mb.
        .with_secret_key(
            SecretKey::new([7u8; 32])
                .map_err(|_| libfuzzer_sys::arbitrary::Error::IncorrectFormat)?,
        );
    let p = policy(u)?;
    let Ok(CreatedOrganization {
        organization: org, ..
    }) = engine.create_organization(
        NewOrganization::new("Acme", "acct-owner", "owner@acme.test").with_policy(p),
    )
    else {
        return Ok(None);
    };
    let mut w = World {
        engine,
        clock,
        org: org.id,
        tokens: Vec::new(),
        codes: Vec::new(),
        link: None,
    };
    // Invitations from the system: some by email, some by identifier.
    let n = u.int_in_range(0..=4usize)?;
    let mut rows = Vec::new();
    for _ in 0..n {
        let c = pick_str(u)?;
        rows.push(if c.contains('@') || u.arbitrary()? {
            RecipientInput::email(c)
        } else {
            RecipientInput::identifier(c)
        });
    }
    if !rows.is_empty() {
        let kind = if u.ratio(1u8, 4u8)? {
            MemberKind::Guest
        } else {
            MemberKind::Member
        };
        let r = w.engine.invite(
            &w.org,
            &Actor::System,
            InviteRequest::new(Recipients::List(rows)).kind(kind),
        );
        no_storage_error(&r);
        if let Ok(report) = r {
            for i in report.issued {
                let Some(secret) = i.secret else { continue };
                match &i.invitation.recipient {
                    Contact::Email(_) => w
                        .tokens
                        .push((secret.expose().to_owned(), i.invitation.id.clone())),
                    Contact::Identifier(id) => w.codes.push((
                        id.to_string(),
                        secret.expose().to_owned(),
                        i.invitation.id.clone(),
                    )),
                    _ => {}
                }
            }
        }
    }
    if u.arbitrary()? {
        let r = w
            .engine
            .activate_invite_link(&w.org, &Actor::System, LinkSpec::default());
        no_storage_error(&r);
        if let Ok(ActivatedLink { url, .. }) = r {
            let url = url.expose();
            let token = url.split_once("token=").map(|(_, t)| t).unwrap_or(url);
            w.link = Some(token.to_owned());
        }
    }
    Ok(Some(w))
}

fn token<'a>(u: &mut Unstructured<'a>, w: &World) -> AResult<(String, Option<InvitationId>)> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 if !w.tokens.is_empty() => {
            let (t, id) = u.choose(&w.tokens)?.clone();
            (t, Some(id))
        }
        1 if w.link.is_some() => (w.link.clone().unwrap_or_default(), None),
        2 if !w.tokens.is_empty() => {
            // A real token, mangled.
            let (t, _) = u.choose(&w.tokens)?.clone();
            let mut t = t.into_bytes();
            if let Some(b) = t.last_mut() {
                *b = b'A' + (*b % 26);
            }
            (String::from_utf8_lossy(&t).into_owned(), None)
        }
        _ => (pick_str(u)?, None),
    })
}

fn step(u: &mut Unstructured<'_>, w: &mut World) -> AResult<()> {
    let before = w.statuses();
    let members_before = w.member_count();
    let policy = w.policy();
    let restricted = !policy.allowed_domains.is_empty();
    let proof = match u.int_in_range(0..=5u8)? {
        0 => {
            let (t, _) = token(u, w)?;
            let contact = pick_str(u)?;
            let reg = registration(u)?;
            let r = w.engine.join_by_link(&t, &contact, reg.clone());
            no_storage_error(&r);
            if let Ok(m) = &r {
                assert_eq!(m.status, MemberStatus::Active);
                if restricted {
                    assert!(
                        email_domain_allowed(&policy, &m.contact),
                        "link join outside allowed domains: {:?}",
                        m.contact
                    );
                    let v = reg.verified_email.as_deref().map(parse_address);
                    assert!(
                        matches!(v, Some(Ok(v)) if *v.key == *m.contact_key),
                        "link join in a restricted organization without a verified email"
                    );
                }
            }
            Proof::Verified(reg.verified_email)
        }
        1 => {
            let contact = pick_str(u)?;
            let reg = registration(u)?;
            let r = w.engine.self_register(&w.org, &contact, reg.clone());
            no_storage_error(&r);
            if let Ok(m) = &r {
                assert!(policy.self_registration, "self-registration while disabled");
                if restricted {
                    assert!(
                        email_domain_allowed(&policy, &m.contact),
                        "self-registration outside allowed domains: {:?}",
                        m.contact
                    );
                    let v = reg.verified_email.as_deref().map(parse_address);
                    assert!(
                        matches!(v, Some(Ok(v)) if *v.key == *m.contact_key),
                        "self-registration in a restricted organization without a verified email"
                    );
                }
            }
            Proof::Verified(reg.verified_email)
        }
        2 => {
            let (t, id) = token(u, w)?;
            let reg = registration(u)?;
            let r = w.engine.accept(&t, reg);
            no_storage_error(&r);
            if let Ok(a) = &r {
                assert_eq!(
                    Some(&a.invitation.id),
                    id.as_ref(),
                    "accepted another invitation"
                );
                if let Contact::Email(_) = &a.member.contact {
                    assert!(
                        email_domain_allowed(&policy, &a.member.contact),
                        "accepted outside allowed domains"
                    );
                }
            }
            Proof::Secret(id)
        }
        3 => {
            let (identifier, code, id) = match u.int_in_range(0..=2u8)? {
                0 if !w.codes.is_empty() => {
                    let (i, c, id) = u.choose(&w.codes)?.clone();
                    (i, c, Some(id))
                }
                1 if !w.codes.is_empty() => {
                    let (i, _, _) = u.choose(&w.codes)?.clone();
                    (i, pick_str(u)?, None)
                }
                _ => (pick_str(u)?, pick_str(u)?, None),
            };
            let reg = registration(u)?;
            let r = w.engine.accept_with_code(&w.org, &identifier, &code, reg);
            no_storage_error(&r);
            if let Ok(a) = &r {
                assert_eq!(
                    Some(&a.invitation.id),
                    id.as_ref(),
                    "accepted another invitation"
                );
            }
            Proof::Secret(id)
        }
        4 => {
            // The policy changes: domains narrow or widen, switches flip.
            let mut p = policy.clone();
            p.allowed_domains = if u.arbitrary()? {
                vec![(*u.choose(DOMAINS)?).to_owned()]
            } else {
                Vec::new()
            };
            p.self_registration = u.arbitrary()?;
            p.invite_link_enabled = u.arbitrary()?;
            let r = w.engine.update_policy(&w.org, &Actor::System, p);
            no_storage_error(&r);
            Proof::None
        }
        _ => {
            w.clock
                .advance(chrono::Duration::hours(u.int_in_range(0..=200i64)?));
            Proof::None
        }
    };
    let after = w.statuses();
    let members_after = w.member_count();
    assert!(members_after >= members_before && members_after <= members_before + 1);
    for (id, (status, key)) in &after {
        let was = before.get(id).map(|(s, _)| *s);
        if *status == InvitationStatus::Accepted && was != Some(InvitationStatus::Accepted) {
            match &proof {
                Proof::Secret(Some(p)) => assert_eq!(p, id, "closed by another secret"),
                Proof::Verified(Some(v)) => {
                    let k = parse_address(v).map(|m| m.key.into_owned());
                    assert_eq!(
                        k.as_deref(),
                        Ok(key.as_str()),
                        "closed by an unverified claim"
                    );
                }
                _ => panic!("invitation {id} closed without proof"),
            }
        }
        if let Some(was) = was {
            // Only acceptance, expiry, or a lock by wrong codes change an
            // invitation here.
            assert!(
                was == *status
                    || matches!(
                        status,
                        InvitationStatus::Accepted
                            | InvitationStatus::Expired
                            | InvitationStatus::Revoked
                    ),
                "invitation {id}: {was:?} -> {status:?}"
            );
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(Some(mut w)) = setup(&mut u) else {
        return;
    };
    for _ in 0..12 {
        if u.is_empty() || step(&mut u, &mut w).is_err() {
            break;
        }
    }
});

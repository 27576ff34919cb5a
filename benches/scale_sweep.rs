//! The scale sweep, shared by the stores' `scale` benches (included by
//! path, like `report.rs`): every list, count and look-up of the engine
//! timed in a small store (one organization of `small` members and
//! `small` pending invitations) and in a large one (`orgs` organizations,
//! the measured one with `large` members and `large` pending invitations,
//! each with its queued email and its event), alternately, so that both
//! see the same noise. Each figure is the median time in the large store,
//! held against the median in the small one: flat is a ratio of 1, the aim
//! at most 2.
//!
//! The fixtures are written through the store's own `Transaction` (so
//! that counters, people rows and indexes are what the engine would
//! leave), many rows per transaction, from templates the engine issued:
//! the organization, its owner, one invitation with its email and event.
#![allow(dead_code)]

use chrono::{Duration as Days, Utc};
use enlist::{
    Actor, Contact, CreatedOrganization, Enlist, Event, EventKind, InvitationId, InvitationQuery,
    InvitationStatus, InviteRequest, Member, MemberId, MemberQuery, MessageId, NewOrganization,
    OrgId, Organization, OrganizationQuery, OutboxMessage, PeopleQuery, Policy, RecipientInput,
    Recipients, Registration, SecretHash, SeededSecrets, Store, StoredInvitation,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::report::{Aim, Figure, median};

/// Rows written per fixture transaction.
const CHUNK: usize = 20_000;
/// The page size of every list.
const PAGE: u32 = 50;

/// The sizes of one sweep.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Members and invitations of the organization in the small store.
    pub small: usize,
    /// Members and invitations of the measured organization in the large
    /// store.
    pub large: usize,
    /// Organizations in the large store (the small one has one).
    pub orgs: usize,
    /// Timed calls of each operation in each store.
    pub reps: usize,
    /// Time after which an operation stops (after at least 5 calls).
    pub budget: Duration,
}

impl Sizes {
    /// 1k vs 1M per organization, 1 vs 100,000 organizations; with
    /// `ENLIST_BENCH_QUICK=1`, 1k vs 50k and 1 vs 2,000.
    /// `ENLIST_SCALE_LARGE` / `ENLIST_SCALE_ORGS` override the large sizes.
    pub fn from_env() -> Self {
        let quick = std::env::var("ENLIST_BENCH_QUICK").is_ok_and(|v| v == "1");
        let env = |name: &str, default: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        Sizes {
            small: 1_000,
            large: env("ENLIST_SCALE_LARGE", if quick { 50_000 } else { 1_000_000 }),
            orgs: env("ENLIST_SCALE_ORGS", if quick { 2_000 } else { 100_000 }),
            reps: env("ENLIST_SCALE_REPS", if quick { 41 } else { 201 }),
            budget: Duration::from_secs(if quick { 5 } else { 30 }),
        }
    }
}

/// A store filled for the sweep, with what the operations look up.
pub struct World {
    pub engine: Enlist,
    pub store: Arc<dyn Store>,
    pub org: OrgId,
    pub actor: Actor,
    /// A live token (never accepted) for `preview`.
    pub preview_token: String,
    /// An invitation in the middle of the fill.
    pub invitation: InvitationId,
    /// A member's contact key in the middle of the fill.
    pub contact: String,
    /// The cursor after the first page of pending invitations.
    pub invitation_cursor: String,
    /// The cursor after the first page of the event feed.
    pub feed_cursor: String,
    /// Tokens to accept, one per timed accept (taken from the end).
    pub accept_tokens: Vec<String>,
    /// New recipients for `invite_one`.
    pub next_recipient: usize,
    /// The members' names, for the log.
    pub label: String,
}

fn policy() -> Policy {
    let mut p = Policy::default();
    // A seat limit, so that invitations, accepts and usage read the seat
    // counters.
    p.seat_limits.insert("standard".into(), 100_000_000);
    p
}

fn email(s: String) -> RecipientInput {
    RecipientInput::email(s)
}

/// Issues invitations to `who` (at most 100 a call); returns their tokens.
fn issue(e: &Enlist, org: &OrgId, actor: &Actor, who: Vec<String>) -> Vec<String> {
    let mut tokens = Vec::new();
    for chunk in who.chunks(100) {
        let r = e
            .invite(
                org,
                actor,
                InviteRequest::new(Recipients::List(chunk.iter().cloned().map(email).collect())),
            )
            .expect("invite");
        assert_eq!(r.issued.len(), chunk.len(), "{:?}", r.rejected);
        tokens.extend(
            r.issued
                .into_iter()
                .map(|i| i.secret.expect("a secret").expose().to_owned()),
        );
    }
    tokens
}

/// Fills `store`: an organization of `per_org` members and pending
/// invitations (each with its queued email and its event) among `orgs`
/// organizations (the others with an owner and an event each).
pub fn build(
    store: Arc<dyn Store>,
    label: &str,
    per_org: usize,
    orgs: usize,
    accepts: usize,
) -> World {
    let started = Instant::now();
    let engine = Enlist::new(store.clone()).with_secrets(Arc::new(SeededSecrets::new(7)));
    let CreatedOrganization {
        organization: o,
        owner,
        ..
    } = engine
        .create_organization(
            NewOrganization::new("Scale", "owner", "owner@scale.test").with_policy(policy()),
        )
        .expect("org");
    let org = o.id.clone();
    let actor = Actor::Member(owner.id.clone());
    let preview_token = issue(&engine, &org, &actor, vec!["template@scale.test".into()])
        .pop()
        .expect("token");
    // The templates, as the engine stored them.
    let (t_org, t_member, t_inv, t_msg, t_event) = {
        let mut tx = store.begin().expect("begin");
        let t_org: Organization = tx.organization(&org).expect("read").expect("org");
        let t_member: Member = tx.member(&org, &owner.id).expect("read").expect("owner");
        let msgs: Vec<OutboxMessage> = tx
            .due_outbox(Some(&org), Utc::now() + Days::days(1), 10)
            .expect("outbox");
        let t_msg = msgs.into_iter().next().expect("a queued email");
        let t_inv: StoredInvitation = tx
            .invitation(&org, &t_msg.invitation_id)
            .expect("read")
            .expect("invitation");
        let t_event: Event = tx
            .events(&org, 0, 100)
            .expect("events")
            .into_iter()
            .find(|e| matches!(e.kind, EventKind::InvitationIssued { .. }))
            .expect("an issued event");
        (t_org, t_member, t_inv, t_msg, t_event)
    };
    let mid = per_org / 2;
    let contact_of = |i: usize| format!("m{i:08}@scale.test");
    let inv_id_of = |i: usize| InvitationId::from(format!("inv_scale{i:08}").as_str());
    let now = Utc::now();
    for start in (0..per_org).step_by(CHUNK) {
        let mut tx = store.begin().expect("begin");
        for i in start..(start + CHUNK).min(per_org) {
            let mut m = t_member.clone();
            m.id = MemberId::from(format!("mem_scale{i:08}").as_str());
            m.contact = Contact::Email(contact_of(i).into());
            m.contact_key = contact_of(i).into();
            m.user_ref = Some(format!("acct-scale{i}"));
            m.first_name = Some(format!("First{:08}", (i * 7919) % per_org.max(1)));
            m.last_name = Some(format!("Last{i:08}"));
            m.role = "member".into();
            m.joined_at = now - Days::milliseconds(i64::try_from(i).expect("small"));
            tx.put_member(&m).expect("member");
            let mut inv = t_inv.clone();
            let key = format!("i{i:08}@scale.test");
            inv.invitation.id = inv_id_of(i);
            inv.invitation.recipient = Contact::Email(key.as_str().into());
            inv.invitation.recipient_key = key.into();
            inv.invitation.created_at = now - Days::milliseconds(i64::try_from(i).expect("small"));
            inv.secret_hash = Some(SecretHash::of(format!("scale{i}").as_bytes()));
            tx.put_invitation(&inv).expect("invitation");
            let mut msg = t_msg.clone();
            msg.id = MessageId::from(format!("msg_scale{i:08}").as_str());
            msg.invitation_id = inv_id_of(i);
            tx.put_outbox_message(msg.clone()).expect("message");
            tx.append_event(t_event.clone()).expect("event");
        }
        tx.commit().expect("commit");
    }
    for start in (1..orgs).step_by(CHUNK) {
        let mut tx = store.begin().expect("begin");
        for k in start..(start + CHUNK).min(orgs) {
            let mut o = t_org.clone();
            o.id = OrgId::from(format!("org_scale{k:08}").as_str());
            // Named and slugged before the measured organization ("scale"),
            // so that a walk by slug meets them all first.
            o.slug = format!("org-{k}");
            o.name = format!("Org {k}");
            tx.put_organization(&o).expect("organization");
            let mut m = t_member.clone();
            m.org_id = o.id.clone();
            m.id = MemberId::from(format!("mem_owner{k:08}").as_str());
            m.user_ref = Some(format!("owner-{k}"));
            tx.put_member(&m).expect("owner");
            let mut ev = t_event.clone();
            ev.org_id = o.id.clone();
            tx.append_event(ev.clone()).expect("event");
        }
        tx.commit().expect("commit");
    }
    let accept_tokens = issue(
        &engine,
        &org,
        &actor,
        (0..accepts)
            .map(|j| format!("accept{j}@scale.test"))
            .collect(),
    );
    let first = engine
        .list_invitations(&org, &actor, &pending(None))
        .expect("list");
    let feed = engine.event_feed(None, &[], PAGE).expect("feed");
    eprintln!(
        "  {label}: {per_org} members and invitations in 1 of {orgs} organizations, built in {:.1?}",
        started.elapsed()
    );
    World {
        engine,
        store,
        org,
        actor,
        preview_token,
        invitation: inv_id_of(mid),
        contact: contact_of(mid),
        invitation_cursor: first.next_cursor.expect("a second page"),
        feed_cursor: feed.next.expect("a feed cursor"),
        accept_tokens,
        next_recipient: 0,
        label: label.to_owned(),
    }
}

fn pending(after: Option<String>) -> InvitationQuery {
    InvitationQuery {
        statuses: vec![InvitationStatus::Pending],
        after,
        limit: PAGE,
        ..InvitationQuery::default()
    }
}

/// One operation of the sweep: its name and one call on a world.
pub type Op = (&'static str, fn(&mut World));

/// Every operation timed, reads first, then those that write.
pub fn operations() -> Vec<Op> {
    vec![
        ("preview", |w| {
            w.engine.preview(&w.preview_token).expect("preview");
        }),
        ("invitation", |w| {
            w.engine
                .invitation(&w.org, &w.actor, &w.invitation)
                .expect("invitation");
        }),
        ("list_invitations_first", |w| {
            let p = w
                .engine
                .list_invitations(&w.org, &w.actor, &pending(None))
                .expect("list");
            assert_eq!(p.items.len(), PAGE as usize);
        }),
        ("list_invitations_next", |w| {
            let p = w
                .engine
                .list_invitations(
                    &w.org,
                    &w.actor,
                    &pending(Some(w.invitation_cursor.clone())),
                )
                .expect("list");
            assert_eq!(p.items.len(), PAGE as usize);
        }),
        ("list_members", |w| {
            let q = MemberQuery {
                limit: PAGE,
                ..MemberQuery::default()
            };
            let p = w.engine.list_members(&w.org, &w.actor, &q).expect("list");
            assert_eq!(p.items.len(), PAGE as usize);
        }),
        ("people", |w| {
            let q = PeopleQuery {
                limit: PAGE,
                ..PeopleQuery::default()
            };
            let p = w.engine.people(&w.org, &w.actor, &q).expect("people");
            assert_eq!(p.items.len(), PAGE as usize);
        }),
        ("license_usage", |w| {
            let u = w.engine.license_usage(&w.org, &w.actor).expect("usage");
            assert!(!u.is_empty());
        }),
        ("member_by_contact", |w| {
            let mut tx = w.store.begin_read().expect("begin");
            let m = tx.member_by_contact(&w.org, &w.contact).expect("read");
            assert!(m.is_some());
        }),
        ("organizations_of", |w| {
            let p = w
                .engine
                .organizations_of("owner", None, PAGE)
                .expect("organizations_of");
            assert_eq!(p.items.len(), 1);
        }),
        ("list_organizations", |w| {
            // A page of one: the small store has one organization, so a
            // longer page would compare pages of different lengths.
            let mut q = OrganizationQuery::default();
            q.limit = 1;
            let p = w.engine.list_organizations(&q).expect("list");
            assert_eq!(p.items.len(), 1);
        }),
        ("list_organizations_prefix", |w| {
            // The one organization whose slug or name starts with "scale".
            let mut q = OrganizationQuery::default();
            q.limit = PAGE;
            q.prefix = Some("scale".into());
            let p = w.engine.list_organizations(&q).expect("list");
            assert_eq!(p.items.len(), 1);
        }),
        ("events", |w| {
            let e = w.engine.events(&w.org, &w.actor, 0, PAGE).expect("events");
            assert_eq!(e.len(), PAGE as usize);
        }),
        ("event_feed_first", |w| {
            let f = w.engine.event_feed(None, &[], PAGE).expect("feed");
            assert_eq!(f.events.len(), PAGE as usize);
        }),
        ("event_feed_next", |w| {
            let f = w
                .engine
                .event_feed(Some(&w.feed_cursor), &[], PAGE)
                .expect("feed");
            assert!(!f.events.is_empty());
        }),
        ("due_outbox_org", |w| {
            let mut tx = w.store.begin_read().expect("begin");
            let d = tx
                .due_outbox(Some(&w.org), Utc::now(), PAGE as usize)
                .expect("due");
            assert_eq!(d.len(), PAGE as usize);
        }),
        ("due_outbox_all", |w| {
            let mut tx = w.store.begin_read().expect("begin");
            let d = tx.due_outbox(None, Utc::now(), PAGE as usize).expect("due");
            assert_eq!(d.len(), PAGE as usize);
        }),
        ("dry_run_invite", |w| {
            let req =
                InviteRequest::new(Recipients::List(vec![email("dry@scale.test".to_owned())]));
            let d = w
                .engine
                .dry_run_invite(&w.org, &w.actor, &req)
                .expect("dry run");
            assert_eq!(d.would_issue.len(), 1);
        }),
        ("invite_one", |w| {
            w.next_recipient += 1;
            let who = format!("one{}@scale.test", w.next_recipient);
            issue(&w.engine, &w.org, &w.actor, vec![who]);
        }),
        ("accept", |w| {
            let token = w.accept_tokens.pop().expect("a token left to accept");
            w.engine
                .accept(
                    &token,
                    Registration {
                        user_ref: format!("acct-accept{}", w.accept_tokens.len()),
                        first_name: Some("A".into()),
                        last_name: Some("B".into()),
                        ..Registration::default()
                    },
                )
                .expect("accept");
        }),
    ]
}

/// Calls each operation in both worlds, alternately, `reps` times after a
/// few untimed calls; prints one figure per operation
/// (`scale.{store}.{op}`) and returns the `(op, small µs, large µs)`.
pub fn sweep(
    store: &str,
    sizes: Sizes,
    small: &mut World,
    large: &mut World,
) -> Vec<(&'static str, f64, f64)> {
    let warm = 3;
    let mut out = Vec::new();
    for (name, op) in operations() {
        let mut s = Vec::with_capacity(sizes.reps);
        let mut l = Vec::with_capacity(sizes.reps);
        let started = Instant::now();
        for r in 0..warm + sizes.reps {
            // An operation that grows with the store stops early (its
            // ratio is plain after a few calls).
            if r >= warm + 5 && started.elapsed() > sizes.budget {
                break;
            }
            let t = Instant::now();
            op(small);
            let ts = t.elapsed();
            let t = Instant::now();
            op(large);
            let tl = t.elapsed();
            if r >= warm {
                s.push(micros(ts));
                l.push(micros(tl));
            }
        }
        let (ms, ml) = (median(&mut s), median(&mut l));
        eprintln!(
            "  {store:<8} {name:<24} {ms:>10.1} µs {ml:>10.1} µs  x{:.2}",
            ml / ms
        );
        Figure::new(
            &format!("scale.{store}.{name}"),
            &format!(
                "{name}, median of {}: {} members and invitations per org in 1 of {} orgs, against {} in 1 of 1",
                s.len(), sizes.large, sizes.orgs, sizes.small
            ),
            ml,
            "µs",
        )
        .against(&format!("scale.{store}.{name} at {}", sizes.small), ms)
        .aim(Aim::AtMost(2.0))
        .print();
        out.push((name, ms, ml));
    }
    out
}

/// Tokens each world needs for the accepts of a sweep.
pub fn accepts_needed(sizes: Sizes) -> usize {
    sizes.reps + 3 + 1
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

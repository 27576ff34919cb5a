//! Tests of MemoryStore's own design: its indexes and counters always agree
//! with its entities, through writes, rollbacks and panics, at scale, and
//! against a naive model. The `Store` contract every store shares is the
//! conformance suite's (`core/tests/conformance`).

use super::state::{ALL_INVITATION_STATUSES, State};
use super::*;
use crate::error::StoreError;
use crate::event::Event;
use crate::event::{Actor, EventKind};
use crate::group::Group;
use crate::group::GroupGrant;
use crate::id::{BatchId, GroupId, InvitationId, MemberId, MessageId, OrgId};
use crate::invitation::{Invitation, InvitationQuery, InvitationStatus, StoredInvitation};
use crate::link::{InviteLink, StoredInviteLink};
use crate::member::{Contact, MemberKind};
use crate::member::{Member, MemberQuery, MemberSort, MemberStatus};
use crate::organization::Organization;
use crate::outbox::OutgoingEmail;
use crate::outbox::{OutboxMessage, OutboxStatus};
use crate::policy::Policy;
use crate::secret::SecretHash;
use crate::store::{SeatCount, page_limit};
use chrono::{DateTime, Utc};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

// ----- builders -------------------------------------------------------

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("a valid time")
}

fn org_id(n: u8) -> OrgId {
    OrgId(format!("org_{n}"))
}

fn organization(org: &OrgId) -> Organization {
    Organization {
        id: org.clone(),
        name: format!("Org {org}"),
        policy: Policy::default(),
        custom_roles: Vec::new(),
        created_at: t(0),
    }
}

fn group(org: &OrgId, id: &str) -> Group {
    Group {
        org_id: org.clone(),
        id: GroupId(id.to_owned()),
        name: id.to_owned(),
        description: String::new(),
        is_default: false,
        member_count: 999, // ignored by the store
        created_at: t(0),
    }
}

fn member(org: &OrgId, id: &str, contact_key: &str) -> Member {
    Member {
        org_id: org.clone(),
        id: MemberId(id.to_owned()),
        user_ref: None,
        contact: Contact::Email(contact_key.to_owned()),
        contact_key: contact_key.to_owned(),
        first_name: None,
        last_name: None,
        phone: None,
        role: "member".to_owned(),
        kind: MemberKind::Member,
        license_type: "standard".to_owned(),
        status: MemberStatus::Active,
        groups: Vec::new(),
        joined_at: t(0),
        last_active_at: None,
        eula_version: None,
        two_factor_enrolled: false,
        removed_at: None,
    }
}

fn invitation(org: &OrgId, id: &str, recipient_key: &str) -> StoredInvitation {
    let invitation = Invitation {
        org_id: org.clone(),
        id: InvitationId(id.to_owned()),
        batch_id: BatchId("bat_1".to_owned()),
        recipient: Contact::Email(recipient_key.to_owned()),
        recipient_key: recipient_key.to_owned(),
        display_name: None,
        first_name: None,
        last_name: None,
        kind: MemberKind::Member,
        role: "member".to_owned(),
        groups: Vec::new(),
        license_type: "standard".to_owned(),
        inviter: None,
        message: None,
        locale: None,
        created_at: t(0),
        expires_at: None,
        status: InvitationStatus::Staged,
        send_count: 0,
        last_sent_at: None,
        failed_attempts: 0,
        locked_until: None,
        closed_at: None,
        member_id: None,
    };
    StoredInvitation::new(invitation, None)
}

fn hash(n: u8) -> SecretHash {
    SecretHash([n; 32])
}

fn event(org: &OrgId, n: u32) -> Event {
    Event {
        org_id: org.clone(),
        seq: 12345, // ignored by the store
        at: t(i64::from(n)),
        actor: Actor::System,
        kind: EventKind::InvitationRevoked {
            invitation: InvitationId(format!("inv_{n}")),
        },
    }
}

fn message(org: &OrgId, id: &str, inv: &str, next: i64) -> OutboxMessage {
    OutboxMessage {
        id: MessageId(id.to_owned()),
        org_id: org.clone(),
        invitation_id: InvitationId(inv.to_owned()),
        email: OutgoingEmail {
            message_id: MessageId(id.to_owned()),
            to: "a@x.test".to_owned(),
            to_name: None,
            subject: "Join".to_owned(),
            text_body: "body".to_owned(),
            html_body: None,
            accept_url: "https://x.test/accept".to_owned(),
            org_name: "Org".to_owned(),
            inviter_name: None,
            personal_message: None,
            expires_at: t(1000),
        },
        status: OutboxStatus::Queued,
        attempts: 0,
        next_attempt_at: t(next),
        last_error: None,
        created_at: t(0),
        sent_at: None,
    }
}

fn snapshot(store: &MemoryStore) -> State {
    let state = store
        .state
        .lock("MemoryStore")
        .expect("no open transaction");
    State::clone(&state)
}

/// The incremental indexes equal indexes built from scratch.
fn assert_consistent(store: &MemoryStore) {
    let state = snapshot(store);
    let mut fresh = State::default();
    for (org, data) in &state.orgs {
        let d = fresh.org_mut(org);
        d.organization = data.organization.clone();
        d.groups = data.groups.clone();
        d.link = data.link.clone();
        d.events = data.events.clone();
        for m in data.members.values() {
            fresh.replace_member(org, &m.id, Some(m.clone()));
        }
        for inv in data.invitations.values() {
            fresh.replace_invitation(org, &inv.id, Some(inv.clone()));
        }
    }
    for (id, msg) in &state.outbox {
        fresh.replace_outbox(id, Some(msg.clone()));
    }
    assert_eq!(fresh, state, "indexes drifted from the entities");
}

fn begin(store: &MemoryStore) -> Box<dyn Transaction + '_> {
    store.begin().expect("begin")
}

fn all_members(tx: &mut dyn Transaction, org: &OrgId, mut q: MemberQuery) -> Vec<Member> {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = tx.list_members(org, &q).expect("list_members");
        assert!(page.items.len() <= page_limit(q.limit));
        out.extend(page.items);
        pages += 1;
        assert!(pages < 10_000, "pagination does not end");
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
}

fn all_invitations(
    tx: &mut dyn Transaction,
    org: &OrgId,
    mut q: InvitationQuery,
    now: DateTime<Utc>,
) -> Vec<StoredInvitation> {
    let mut out = Vec::new();
    loop {
        let page = tx.list_invitations(org, &q, now).expect("list_invitations");
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
}

/// A store with one organization, groups, members, invitations, a
/// link, events and a message, all committed.
fn populated() -> (MemoryStore, OrgId) {
    let store = MemoryStore::new();
    let org = org_id(1);
    let mut tx = begin(&store);
    tx.put_organization(&organization(&org)).expect("put");
    tx.put_group(&group(&org, "grp_a")).expect("put");
    tx.put_group(&group(&org, "grp_b")).expect("put");
    for i in 0..5 {
        let mut m = member(&org, &format!("mem_{i}"), &format!("p{i}@x.test"));
        m.user_ref = Some(format!("u{i}"));
        m.groups = vec![GroupGrant::member(GroupId("grp_a".into()))];
        m.role = if i == 0 {
            "owner".into()
        } else {
            "member".into()
        };
        tx.put_member(&m).expect("put");
    }
    let mut inv = invitation(&org, "inv_1", "q1@x.test");
    inv.status = InvitationStatus::Pending;
    inv.secret_hash = Some(hash(1));
    inv.expires_at = Some(t(100));
    tx.put_invitation(&inv).expect("put");
    tx.append_event(&event(&org, 1)).expect("append");
    tx.put_outbox_message(&message(&org, "msg_1", "inv_1", 5))
        .expect("put");
    let link = InviteLink {
        org_id: org.clone(),
        role: "member".into(),
        kind: MemberKind::Member,
        groups: Vec::new(),
        license_type: "standard".into(),
        active: true,
        created_by: None,
        created_at: t(0),
        uses: 0,
    };
    tx.put_invite_link(&StoredInviteLink::new(link, Some(hash(200))))
        .expect("put");
    tx.commit().expect("commit");
    (store, org)
}

// ----- transactions ----------------------------------------------------

#[test]
fn rollback_on_drop_restores_data_indexes_and_counters() {
    let (store, org) = populated();
    let other = org_id(2);
    let before = snapshot(&store);
    {
        let mut tx = begin(&store);
        // Changes of every kind, including ones that move index entries.
        let mut m0 = tx
            .member(&org, &MemberId("mem_0".into()))
            .expect("read")
            .expect("exists");
        m0.status = MemberStatus::Removed;
        tx.put_member(&m0).expect("put");
        let mut m1 = member(&org, "mem_1", "p1@x.test");
        m1.role = "owner".into();
        m1.license_type = "pro".into();
        m1.groups = vec![GroupGrant::owner(GroupId("grp_b".into()))];
        tx.put_member(&m1).expect("put");
        let mut fresh = member(&org, "mem_new", "p0@x.test"); // reuses the freed key
        fresh.user_ref = Some("u0".into());
        tx.put_member(&fresh).expect("put");
        let mut inv = tx
            .invitation(&org, &InvitationId("inv_1".into()))
            .expect("read")
            .expect("exists");
        inv.status = InvitationStatus::Accepted;
        inv.secret_hash = None;
        tx.put_invitation(&inv).expect("put");
        let mut inv2 = invitation(&org, "inv_2", "q1@x.test");
        inv2.status = InvitationStatus::Pending;
        inv2.secret_hash = Some(hash(1));
        inv2.expires_at = Some(t(50));
        tx.put_invitation(&inv2).expect("put");
        tx.delete_group(&org, &GroupId("grp_a".into()))
            .expect("delete");
        tx.put_group(&group(&org, "grp_c")).expect("put");
        assert_eq!(tx.append_event(&event(&org, 2)).expect("append"), 2);
        let mut msg = message(&org, "msg_1", "inv_1", 5);
        msg.status = OutboxStatus::Superseded;
        tx.put_outbox_message(&msg).expect("put");
        tx.put_outbox_message(&message(&other, "msg_2", "inv_9", 1))
            .expect("put");
        tx.put_organization(&organization(&other)).expect("put");
        tx.put_member(&member(&other, "mem_0", "p0@x.test"))
            .expect("put");
        tx.append_event(&event(&other, 1)).expect("append");

        // The transaction sees its own writes.
        assert_eq!(tx.count_active_with_role(&org, "owner").expect("count"), 1);
        assert_eq!(
            tx.member_by_contact(&org, "p0@x.test")
                .expect("read")
                .map(|m| m.id),
            Some(MemberId("mem_new".into()))
        );
        assert_eq!(
            tx.seat_count(&org, "pro").expect("count"),
            SeatCount {
                members: 1,
                open_invitations: 0
            }
        );
        assert_eq!(
            tx.group(&org, &GroupId("grp_b".into()))
                .expect("read")
                .map(|g| g.member_count),
            Some(1)
        );
        assert!(
            tx.group(&org, &GroupId("grp_a".into()))
                .expect("read")
                .is_none()
        );
        assert_eq!(tx.due_invitations(None, t(1000), 10).expect("due").len(), 1);
        assert_eq!(tx.due_outbox(None, t(1000), 10).expect("due").len(), 1);
        assert_eq!(tx.events(&org, 0, 10).expect("events").len(), 2);
        // Dropped without commit.
    }
    assert_eq!(snapshot(&store), before);
    let mut tx = begin(&store);
    assert!(tx.organization(&other).expect("read").is_none());
    assert!(tx.events(&other, 0, 10).expect("events").is_empty());
    assert_eq!(tx.count_active_with_role(&org, "owner").expect("count"), 1);
    assert_eq!(
        tx.member_by_contact(&org, "p0@x.test")
            .expect("read")
            .map(|m| m.id),
        Some(MemberId("mem_0".into()))
    );
    assert_eq!(
        tx.member_by_user_ref(&org, "u0")
            .expect("read")
            .map(|m| m.id),
        Some(MemberId("mem_0".into()))
    );
    assert_eq!(
        tx.seat_counts(&org).expect("counts"),
        vec![(
            "standard".to_owned(),
            SeatCount {
                members: 5,
                open_invitations: 1
            }
        )]
    );
    assert_eq!(
        tx.group(&org, &GroupId("grp_a".into()))
            .expect("read")
            .map(|g| g.member_count),
        Some(5)
    );
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(1))
            .expect("read")
            .map(|i| i.invitation.id),
        Some(InvitationId("inv_1".into()))
    );
    assert_eq!(tx.events(&org, 0, 10).expect("events").len(), 1);
    assert_eq!(
        tx.queued_messages_for(&org, &InvitationId("inv_1".into()))
            .expect("queued")
            .len(),
        1
    );
    drop(tx);
    assert_consistent(&store);
}

#[test]
fn nested_begin_on_one_thread_is_refused() {
    let store = MemoryStore::new();
    let tx = begin(&store);
    assert!(matches!(store.begin(), Err(StoreError::Unavailable(_))));
    drop(tx);
    let tx = begin(&store);
    tx.commit().expect("commit");
    begin(&store);
}

// ----- members ---------------------------------------------------------

fn expected(all: &[Member], q: &MemberQuery) -> Vec<Member> {
    let mut out: Vec<Member> = all.iter().filter(|m| q.matches(m)).cloned().collect();
    out.sort_by(|a, b| (&a.contact_key, &a.id).cmp(&(&b.contact_key, &b.id)));
    if q.sort == MemberSort::EmailDesc {
        out.reverse();
    }
    out
}

// ----- misc ------------------------------------------------------------

#[test]
fn store_is_shareable() {
    fn assert_send_sync<T: Send + Sync + Default>() {}
    assert_send_sync::<MemoryStore>();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    store.begin().expect("begin").commit().expect("commit");
    assert_eq!(format!("{:?}", MemoryStore::new()), "MemoryStore { .. }");
}

/// The benchmarks' shape: one organization with 1,000,000 members and
/// 1,000,000 pending invitations. Run with
/// `cargo test --release -p enlist --lib memory -- --ignored --nocapture`.
#[test]
#[ignore = "slow: builds a million-member organization"]
fn scale_million_members_and_invitations() {
    use std::time::Instant;
    let store = MemoryStore::new();
    let org = org_id(1);
    let n = 1_000_000u32;
    let started = Instant::now();
    let mut tx = begin(&store);
    tx.put_group(&group(&org, "grp_small")).expect("put");
    for i in 0..n {
        let mut m = member(
            &org,
            &format!("mem_{i:07}"),
            &format!("{:07}@x.test", (u64::from(i) * 7_919) % u64::from(n)),
        );
        if i % 100_000 == 0 {
            m.groups
                .push(GroupGrant::member(GroupId("grp_small".into())));
        }
        tx.put_member(&m).expect("put");
        let mut inv = invitation(&org, &format!("inv_{i:07}"), &format!("i{i}@x.test"));
        inv.status = InvitationStatus::Pending;
        inv.secret_hash = Some(SecretHash::of(&i.to_le_bytes()));
        inv.expires_at = Some(t(1_000_000 + i64::from(i)));
        inv.created_at = t(i64::from(i.wrapping_mul(7_919) % 100_000));
        tx.put_invitation(&inv).expect("put");
    }
    tx.commit().expect("commit");
    eprintln!("built in {:?}", started.elapsed());

    let timed = |what: &str, f: &mut dyn FnMut()| {
        // Warm up: right after the build, the allocator is still busy
        // consolidating the memory freed by it.
        for _ in 0..10 {
            f();
        }
        let started = Instant::now();
        for _ in 0..100 {
            f();
        }
        let each = started.elapsed() / 100;
        eprintln!("{what}: {each:?}");
        assert!(each.as_millis() < 20, "{what} took {each:?}");
    };
    let mut cursor = None;
    timed("list_members page of 50", &mut || {
        let mut tx = begin(&store);
        let q = MemberQuery {
            after: cursor.clone(),
            ..MemberQuery::default()
        };
        let page = tx.list_members(&org, &q).expect("list");
        assert_eq!(page.items.len(), 50);
        cursor = page.next_cursor;
    });
    timed("list_members of a 10-member group", &mut || {
        let mut tx = begin(&store);
        let q = MemberQuery {
            group: Some(GroupId("grp_small".into())),
            ..MemberQuery::default()
        };
        assert_eq!(tx.list_members(&org, &q).expect("list").items.len(), 10);
    });
    let mut i = 0u32;
    timed(
        "accept (look up, close invitation, add member, counts)",
        &mut || {
            let mut tx = begin(&store);
            let hash = SecretHash::of(&i.to_le_bytes());
            let mut inv = tx
                .invitation_by_secret(&org, &hash)
                .expect("read")
                .expect("exists");
            assert!(
                tx.member_by_contact(&org, &inv.recipient_key)
                    .expect("read")
                    .is_none()
            );
            inv.status = InvitationStatus::Accepted;
            tx.put_invitation(&inv).expect("put");
            tx.put_member(&member(&org, &format!("mem_new_{i}"), &inv.recipient_key))
                .expect("put");
            tx.seat_count(&org, "standard").expect("count");
            tx.count_active_with_role(&org, "owner").expect("count");
            tx.append_event(&event(&org, i)).expect("append");
            if i % 2 == 0 {
                tx.commit().expect("commit");
            }
            i += 1;
        },
    );
    timed("list_invitations page of 50", &mut || {
        let mut tx = begin(&store);
        let q = InvitationQuery {
            statuses: vec![InvitationStatus::Pending],
            ..InvitationQuery::default()
        };
        assert_eq!(
            tx.list_invitations(&org, &q, t(0))
                .expect("list")
                .items
                .len(),
            50
        );
    });
}

// ----- model-based property test --------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Member {
        org: u8,
        id: u8,
        contact: u8,
        user_ref: Option<u8>,
        role: u8,
        status: u8,
        license: u8,
        groups: Vec<u8>,
    },
    Invitation {
        org: u8,
        id: u8,
        recipient: u8,
        status: u8,
        secret: Option<u8>,
        license: u8,
        expires: Option<i64>,
        batch: u8,
        created: i64,
    },
}

/// What an [`Op`] writes.
enum Built {
    Member(Box<Member>),
    Invitation(Box<StoredInvitation>),
}

const ROLES: [&str; 3] = ["owner", "admin", "member"];
const LICENSES: [&str; 2] = ["standard", "pro"];
const MEMBER_STATUSES: [MemberStatus; 3] = [
    MemberStatus::Active,
    MemberStatus::Inactive,
    MemberStatus::Removed,
];

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            0..2u8,
            0..6u8,
            0..4u8,
            proptest::option::of(0..3u8),
            0..3u8,
            0..3u8,
            0..2u8,
            proptest::collection::vec(0..3u8, 0..3),
        )
            .prop_map(
                |(org, id, contact, user_ref, role, status, license, groups)| Op::Member {
                    org,
                    id,
                    contact,
                    user_ref,
                    role,
                    status,
                    license,
                    groups,
                }
            ),
        (
            0..2u8,
            0..6u8,
            0..4u8,
            0..6u8,
            proptest::option::of(0..4u8),
            0..2u8,
            proptest::option::of(0..20i64),
            0..2u8,
            0..5i64,
        )
            .prop_map(
                |(org, id, recipient, status, secret, license, expires, batch, created)| {
                    Op::Invitation {
                        org,
                        id,
                        recipient,
                        status,
                        secret,
                        license,
                        expires,
                        batch,
                        created,
                    }
                }
            ),
    ]
}

fn build(op: &Op) -> Built {
    match op {
        Op::Member {
            org,
            id,
            contact,
            user_ref,
            role,
            status,
            license,
            groups,
        } => {
            let mut m = member(&org_id(*org), &format!("mem_{id}"), &format!("c{contact}"));
            m.user_ref = user_ref.map(|u| format!("u{u}"));
            m.role = ROLES[usize::from(*role)].into();
            m.status = MEMBER_STATUSES[usize::from(*status)];
            m.license_type = LICENSES[usize::from(*license)].into();
            m.groups = groups
                .iter()
                .map(|g| GroupGrant::member(GroupId(format!("grp_{g}"))))
                .collect();
            Built::Member(Box::new(m))
        }
        Op::Invitation {
            org,
            id,
            recipient,
            status,
            secret,
            license,
            expires,
            batch,
            created,
        } => {
            let mut i = invitation(
                &org_id(*org),
                &format!("inv_{id}"),
                &format!("c{recipient}"),
            );
            i.status = ALL_INVITATION_STATUSES[usize::from(*status)];
            i.secret_hash = secret.map(hash);
            i.license_type = LICENSES[usize::from(*license)].into();
            i.expires_at = expires.map(t);
            i.batch_id = BatchId(format!("bat_{batch}"));
            i.created_at = t(*created);
            Built::Invitation(Box::new(i))
        }
    }
}

/// The committed (or in-transaction) truth, kept naively.
#[derive(Clone, Debug, Default)]
struct Model {
    members: BTreeMap<(OrgId, MemberId), Member>,
    invitations: BTreeMap<(OrgId, InvitationId), StoredInvitation>,
}

impl Model {
    /// Applies an op if the uniqueness rules allow it; returns whether
    /// they did.
    fn apply(&mut self, op: &Op) -> bool {
        match build(op) {
            Built::Member(m) => {
                let clash = m.status != MemberStatus::Removed
                    && self.members.values().any(|o| {
                        o.org_id == m.org_id
                            && o.id != m.id
                            && o.status != MemberStatus::Removed
                            && (o.contact_key == m.contact_key
                                || (m.user_ref.is_some() && o.user_ref == m.user_ref))
                    });
                if !clash {
                    self.members.insert((m.org_id.clone(), m.id.clone()), *m);
                }
                !clash
            }
            Built::Invitation(i) => {
                let clash = self.invitations.values().any(|o| {
                    o.org_id == i.org_id
                        && o.id != i.id
                        && ((i.secret_hash.is_some() && o.secret_hash == i.secret_hash)
                            || (i.status.is_open()
                                && o.status.is_open()
                                && o.recipient_key == i.recipient_key))
                });
                if !clash {
                    self.invitations
                        .insert((i.org_id.clone(), i.id.clone()), *i);
                }
                !clash
            }
        }
    }

    fn members_of(&self, org: &OrgId) -> Vec<Member> {
        self.members
            .values()
            .filter(|m| &m.org_id == org)
            .cloned()
            .collect()
    }

    fn invitations_of(&self, org: &OrgId) -> Vec<StoredInvitation> {
        self.invitations
            .values()
            .filter(|i| &i.org_id == org)
            .cloned()
            .collect()
    }

    /// Every read of the store agrees with the model.
    fn check(&self, tx: &mut dyn Transaction) {
        let now = t(10);
        for o in 0..2 {
            let org = org_id(o);
            let members = self.members_of(&org);
            let invitations = self.invitations_of(&org);
            let live = |m: &&Member| m.status != MemberStatus::Removed;
            for id in 0..6 {
                let id = MemberId(format!("mem_{id}"));
                let want = self.members.get(&(org.clone(), id.clone())).cloned();
                assert_eq!(tx.member(&org, &id).expect("read"), want);
                let id = InvitationId(format!("inv_{id}", id = &id.0[4..]));
                let want = self.invitations.get(&(org.clone(), id.clone())).cloned();
                assert_eq!(tx.invitation(&org, &id).expect("read"), want);
            }
            for c in 0..4 {
                let key = format!("c{c}");
                let want = members.iter().filter(live).find(|m| m.contact_key == key);
                assert_eq!(
                    tx.member_by_contact(&org, &key).expect("read").as_ref(),
                    want
                );
                let want = invitations
                    .iter()
                    .find(|i| i.status.is_open() && i.recipient_key == key);
                assert_eq!(
                    tx.open_invitation_for(&org, &key).expect("read").as_ref(),
                    want
                );
            }
            for u in 0..3 {
                let user_ref = format!("u{u}");
                let want = members
                    .iter()
                    .filter(live)
                    .find(|m| m.user_ref.as_deref() == Some(user_ref.as_str()));
                assert_eq!(
                    tx.member_by_user_ref(&org, &user_ref)
                        .expect("read")
                        .as_ref(),
                    want
                );
            }
            for s in 0..4 {
                let want = invitations.iter().find(|i| i.secret_hash == Some(hash(s)));
                assert_eq!(
                    tx.invitation_by_secret(&org, &hash(s))
                        .expect("read")
                        .as_ref(),
                    want
                );
            }
            for role in ROLES {
                let want = members
                    .iter()
                    .filter(|m| m.role == role && m.status == MemberStatus::Active)
                    .count() as u64;
                assert_eq!(tx.count_active_with_role(&org, role).expect("count"), want);
            }
            let mut want_seats = Vec::new();
            for license in ["pro", "standard"] {
                let count = SeatCount {
                    members: members
                        .iter()
                        .filter(|m| m.license_type == license && m.holds_seat())
                        .count() as u64,
                    open_invitations: invitations
                        .iter()
                        .filter(|i| i.license_type == license && i.status.is_open())
                        .count() as u64,
                };
                assert_eq!(tx.seat_count(&org, license).expect("count"), count);
                if count != SeatCount::default() {
                    want_seats.push((license.to_owned(), count));
                }
            }
            assert_eq!(tx.seat_counts(&org).expect("counts"), want_seats);
            for g in 0..3 {
                let gid = GroupId(format!("grp_{g}"));
                let want = members
                    .iter()
                    .filter(live)
                    .filter(|m| m.groups.iter().any(|x| x.group_id == gid))
                    .count() as u64;
                let got = tx.group(&org, &gid).expect("read").expect("exists");
                assert_eq!(got.member_count, want);
                let q = MemberQuery {
                    group: Some(gid),
                    statuses: vec![MemberStatus::Removed, MemberStatus::Active],
                    sort: MemberSort::EmailDesc,
                    limit: 2,
                    ..MemberQuery::default()
                };
                assert_eq!(all_members(tx, &org, q.clone()), expected(&members, &q));
            }
            let q = MemberQuery {
                limit: 2,
                ..MemberQuery::default()
            };
            assert_eq!(all_members(tx, &org, q.clone()), expected(&members, &q));
            let q = InvitationQuery {
                limit: 2,
                ..InvitationQuery::default()
            };
            let mut want = invitations.clone();
            want.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            assert_eq!(all_invitations(tx, &org, q, now), want);
            let mut due: Vec<StoredInvitation> = invitations
                .iter()
                .filter(|i| i.status == InvitationStatus::Pending)
                .filter(|i| i.expires_at.is_some_and(|e| e <= now))
                .cloned()
                .collect();
            due.sort_by(|a, b| (a.expires_at, &a.id).cmp(&(b.expires_at, &b.id)));
            assert_eq!(tx.due_invitations(Some(&org), now, 100).expect("due"), due);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn matches_a_naive_model(
        txs in proptest::collection::vec(
            (proptest::collection::vec(op_strategy(), 1..8), any::<bool>()),
            1..10,
        )
    ) {
        let store = MemoryStore::new();
        let mut tx = begin(&store);
        for o in 0..2 {
            for g in 0..3 {
                tx.put_group(&group(&org_id(o), &format!("grp_{g}"))).expect("put");
            }
        }
        tx.commit().expect("commit");
        let mut committed = Model::default();
        for (ops, commit) in txs {
            let before = snapshot(&store);
            let mut working = committed.clone();
            let mut tx = begin(&store);
            for op in &ops {
                let allowed = working.apply(op);
                let result = match build(op) {
                    Built::Member(m) => tx.put_member(&m),
                    Built::Invitation(i) => tx.put_invitation(&i),
                };
                match result {
                    Ok(()) => prop_assert!(allowed, "store accepted a clash: {op:?}"),
                    Err(StoreError::Unique(_)) => {
                        prop_assert!(!allowed, "store refused {op:?}")
                    }
                    Err(e) => prop_assert!(false, "unexpected error {e:?}"),
                }
                working.check(&mut *tx);
            }
            if commit {
                tx.commit().expect("commit");
                committed = working;
            } else {
                drop(tx);
                prop_assert_eq!(snapshot(&store), before);
            }
            committed.check(&mut *begin(&store));
            assert_consistent(&store);
        }
    }
}

//! Tests of MemoryStore's own design: its indexes and counters always agree
//! with its entities, through writes, rollbacks and panics, at scale, and
//! against a naive model. The `Store` contract every store shares is the
//! conformance suite's (`core/tests/conformance`).

use super::packed::PackedMessage;
use super::people::PeopleIndex;
use super::state::{Headed, State};
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
use crate::member::{Member, MemberQuery, MemberStatus};
use crate::organization::Organization;
use crate::outbox::OutgoingEmail;
use crate::outbox::{OutboxMessage, OutboxStatus};
use crate::policy::Policy;
use crate::secret::SecretHash;
use crate::store::SeatCount;
use chrono::{DateTime, Utc};
use std::sync::Arc;

// ----- builders -------------------------------------------------------

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("a valid time")
}

fn org_id(n: u8) -> OrgId {
    OrgId::from(format!("org_{n}"))
}

fn organization(org: &OrgId) -> Organization {
    Organization {
        id: org.clone(),
        name: format!("Org {org}"),
        policy: Policy::default(),
        custom_roles: Vec::new(),
        created_at: t(0),
        slug: String::new(),
        deleted_at: None,
    }
}

fn group(org: &OrgId, id: &str) -> Group {
    Group {
        org_id: org.clone(),
        id: GroupId::from(id.to_owned()),
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
        id: MemberId::from(id.to_owned()),
        user_ref: None,
        contact: Contact::Email(contact_key.into()),
        contact_key: contact_key.into(),
        first_name: None,
        last_name: None,
        phone: None,
        role: "member".into(),
        kind: MemberKind::Member,
        license_type: "standard".into(),
        status: MemberStatus::Active,
        groups: Vec::new(),
        joined_at: t(0),
        last_active_at: None,
        eula_version: None,
        two_factor_enrolled: false,
        removed_at: None,
        attributes: Default::default(),
        public_metadata: Default::default(),
        private_metadata: Default::default(),
    }
}

fn invitation(org: &OrgId, id: &str, recipient_key: &str) -> StoredInvitation {
    let invitation = Invitation {
        org_id: org.clone(),
        id: InvitationId::from(id.to_owned()),
        batch_id: BatchId::from("bat_1".to_owned()),
        recipient: Contact::Email(recipient_key.into()),
        recipient_key: recipient_key.into(),
        display_name: None,
        first_name: None,
        last_name: None,
        kind: MemberKind::Member,
        role: "member".into(),
        groups: Vec::new(),
        license_type: "standard".into(),
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
        active: true,
        attributes: Default::default(),
        lifetime_secs: None,
        redirect_url: None,
        public_metadata: Default::default(),
        private_metadata: Default::default(),
        user_ref: None,
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
            invitation: InvitationId::from(format!("inv_{n}")),
        },
    }
}

fn message(org: &OrgId, id: &str, inv: &str, next: i64) -> OutboxMessage {
    OutboxMessage {
        id: MessageId::from(id.to_owned()),
        org_id: org.clone(),
        invitation_id: InvitationId::from(inv.to_owned()),
        email: OutgoingEmail {
            message_id: MessageId::from(id.to_owned()),
            to: "a@x.test".into(),
            to_name: None,
            subject: "Join".to_owned(),
            text_body: "body".to_owned(),
            html_body: None,
            accept_url: "https://x.test/accept".to_owned(),
            org_name: "Org".into(),
            inviter_name: None,
            reply_to: None,
            personal_message: None,
            expires_at: t(1000),
        },
        status: OutboxStatus::Queued,
        attempts: 0,
        next_attempt_at: t(next),
        last_error: None,
        created_at: t(0),
        sent_at: None,
        draft: None,
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
        // Its slug, listing and name indexes across organizations too.
        fresh.replace_organization(org, data.organization.clone());
        let d = fresh.org_mut(org);
        d.groups = data.groups.clone();
        d.links = data.links.clone();
        d.events = data.events.clone();
        for m in data.members.values() {
            fresh.replace_member(org, &m.id, Some(m.clone()));
        }
        for inv in data.invitations.values() {
            fresh.replace_invitation(org, &inv.id, Some(inv.clone()));
        }
        let d = fresh.org_mut(org);
        d.requests = data.requests.clone();
        // Kept as written: no index of theirs to rebuild.
        d.email_settings = data.email_settings.clone();
        d.email_templates = data.email_templates.clone();
        d.batch_reports = data.batch_reports.clone();
        for (domain, claim) in &data.domains {
            fresh.replace_domain(org, domain, Some(claim.clone()));
        }
    }
    for (id, msg) in &state.outbox {
        fresh.replace_outbox(id, Some(PackedMessage::clone(msg)));
    }
    // The feed's order across organizations is not in the events: it is
    // the one record kept as written, not an index to rebuild.
    fresh.feed = state.feed.clone();
    fresh.feed_purged = state.feed_purged.clone();
    assert_eq!(fresh, state, "indexes drifted from the entities");
    // The people view's indexes, where a read has built them, equal
    // indexes built now (an unbuilt one compares equal to any).
    for (org, data) in &state.orgs {
        if let Some(kept) = data.people.built() {
            assert_eq!(
                kept,
                &PeopleIndex::build(data),
                "people indexes of {org} drifted"
            );
        }
    }
}

fn begin(store: &MemoryStore) -> Box<dyn Transaction + '_> {
    store.begin().expect("begin")
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
    tx.append_event(event(&org, 1)).expect("append");
    tx.put_outbox_message(message(&org, "msg_1", "inv_1", 5))
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
        id: crate::id::LinkId::default_link(),
        name: "default".into(),
        expires_at: None,
        max_uses: None,
        allowed_domains: Vec::new(),
        status: crate::link::LinkStatus::Active,
    };
    tx.put_invite_link(&StoredInviteLink::new(link, Some(hash(200))))
        .expect("put");
    tx.commit().expect("commit");
    (store, org)
}

// ----- transactions ----------------------------------------------------

/// The people view's indexes are built by the first people read, not by
/// writes; from then on every write (and rollback) keeps them, so they
/// always equal indexes built from the rows.
#[test]
fn people_indexes_are_built_by_the_first_read_and_kept_by_every_write_after() {
    let (store, org) = populated();
    let built = |store: &MemoryStore| {
        snapshot(store)
            .orgs
            .get(&org)
            .is_some_and(|d| d.people.built().is_some())
    };
    let read = |store: &MemoryStore| {
        let mut tx = store.begin_read().expect("begin");
        let page = tx
            .people(&org, &crate::people::PeopleQuery::default(), t(50))
            .expect("people");
        page.items.len()
    };
    assert!(!built(&store), "writes alone build nothing");
    assert_eq!(read(&store), 6, "five members and one pending invitation");
    assert!(built(&store));
    // Writes after the read: a member changed, one removed, an invitation
    // added; then a transaction rolled back.
    let mut tx = begin(&store);
    let mut m = member(&org, "mem_1", "p1@x.test");
    m.role = "admin".into();
    m.first_name = Some("Zed".into());
    tx.put_member(&m).expect("put");
    let mut gone = member(&org, "mem_2", "p2@x.test");
    gone.status = MemberStatus::Removed;
    tx.put_member(&gone).expect("put");
    let mut inv = invitation(&org, "inv_2", "q2@x.test");
    inv.status = InvitationStatus::Pending;
    tx.put_invitation(&inv).expect("put");
    tx.commit().expect("commit");
    assert_consistent(&store);
    let mut tx = begin(&store);
    let mut off = member(&org, "mem_3", "p3@x.test");
    off.status = MemberStatus::Inactive;
    tx.put_member(&off).expect("put");
    drop(tx);
    assert_consistent(&store);
    let after = read(&store);
    assert!(after > 0 && built(&store));
}

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
        assert_eq!(tx.append_event(event(&org, 2)).expect("append"), 2);
        let mut msg = message(&org, "msg_1", "inv_1", 5);
        msg.status = OutboxStatus::Superseded;
        tx.put_outbox_message(msg.clone()).expect("put");
        tx.put_outbox_message(message(&other, "msg_2", "inv_9", 1))
            .expect("put");
        tx.put_organization(&organization(&other)).expect("put");
        tx.put_member(&member(&other, "mem_0", "p0@x.test"))
            .expect("put");
        tx.append_event(event(&other, 1)).expect("append");

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

/// A rewrite that changes an entity's sort key (a member's contact key,
/// an invitation's creation time) moves it in the list order; one that
/// does not replaces it in place. Both keep every index exact, are seen by
/// the transaction's own reads, and are undone by a rollback.
#[test]
fn rewrites_that_move_an_entity_keep_the_list_order_and_roll_back() {
    let (store, org) = populated();
    {
        let mut tx = begin(&store);
        let mut inv = invitation(&org, "inv_7", "r7@x.test");
        inv.status = InvitationStatus::Pending;
        inv.secret_hash = Some(hash(7));
        inv.user_ref = Some("u7".into());
        inv.created_at = t(10);
        tx.put_invitation(&inv).expect("put");
        // Not bound to an account: found by its recipient key.
        let mut inv = invitation(&org, "inv_8", "r8@x.test");
        inv.status = InvitationStatus::Pending;
        inv.secret_hash = Some(hash(8));
        inv.created_at = t(10);
        tx.put_invitation(&inv).expect("put");
        tx.commit().expect("commit");
    }
    let before = snapshot(&store);
    let page = |tx: &mut Box<dyn Transaction + '_>| -> Vec<String> {
        let q = MemberQuery {
            limit: 10,
            ..MemberQuery::default()
        };
        let members = tx.list_members(&org, &q).expect("list").items;
        members
            .into_iter()
            .map(|m| m.id.as_str().to_owned())
            .collect()
    };
    let inbox = |tx: &mut Box<dyn Transaction + '_>, key: Option<&str>, user: Option<&str>| {
        let lookup =
            crate::store::PersonLookup::new(key.map(str::to_owned), user.map(str::to_owned), 10);
        let items = tx.person_invitations(&lookup, t(20)).expect("inbox").items;
        items
            .into_iter()
            .map(|i| i.id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    for commit in [false, true] {
        let mut tx = begin(&store);
        assert_eq!(page(&mut tx), ["mem_0", "mem_1", "mem_2", "mem_3", "mem_4"]);
        // Moved to the front of the list order.
        let mut m = tx
            .member(&org, &MemberId("mem_3".into()))
            .expect("read")
            .expect("exists");
        m.contact_key = "a3@x.test".into();
        tx.put_member(&m).expect("put");
        // In place: same sort key.
        let mut m = tx
            .member(&org, &MemberId("mem_1".into()))
            .expect("read")
            .expect("exists");
        m.status = MemberStatus::Inactive;
        tx.put_member(&m).expect("put");
        // Moved in the invitations' order, still pending.
        for id in ["inv_7", "inv_8"] {
            let mut inv = tx
                .invitation(&org, &InvitationId(id.into()))
                .expect("read")
                .expect("exists");
            inv.created_at = t(5);
            tx.put_invitation(&inv).expect("put");
        }
        assert_eq!(page(&mut tx), ["mem_3", "mem_0", "mem_1", "mem_2", "mem_4"]);
        assert!(
            tx.member_by_contact(&org, "p3@x.test")
                .expect("read")
                .is_none()
        );
        assert_eq!(
            tx.member_by_contact(&org, "a3@x.test")
                .expect("read")
                .map(|m| m.status),
            Some(MemberStatus::Active)
        );
        assert_eq!(
            tx.invitation_by_secret(&org, &hash(7))
                .expect("read")
                .map(|i| i.created_at),
            Some(t(5))
        );
        // Bound to an account: only that account sees it.
        assert!(inbox(&mut tx, Some("r7@x.test"), None).is_empty());
        assert_eq!(inbox(&mut tx, Some("r7@x.test"), Some("u7")), ["inv_7"]);
        assert_eq!(inbox(&mut tx, Some("r8@x.test"), None), ["inv_8"]);
        if commit {
            tx.commit().expect("commit");
            assert_consistent(&store);
            assert_ne!(snapshot(&store), before);
        } else {
            drop(tx);
            assert_eq!(snapshot(&store), before, "the rollback left a trace");
        }
    }
    // Closed: out of both inboxes.
    let mut tx = begin(&store);
    let mut inv = tx
        .invitation(&org, &InvitationId("inv_7".into()))
        .expect("read")
        .expect("exists");
    inv.status = InvitationStatus::Revoked;
    inv.secret_hash = None;
    tx.put_invitation(&inv).expect("put");
    assert!(inbox(&mut tx, Some("r7@x.test"), Some("u7")).is_empty());
    assert_eq!(inbox(&mut tx, Some("r8@x.test"), None), ["inv_8"]);
    tx.commit().expect("commit");
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
            tx.append_event(event(&org, i)).expect("append");
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

/// The conformance suite's naive-model property
/// ([`crate::testing::model`]), with MemoryStore's own check after every
/// transaction: its incremental indexes equal indexes rebuilt from
/// scratch, and a dropped transaction leaves its state as it was.
#[test]
fn matches_a_naive_model_and_keeps_its_indexes_exact() {
    crate::testing::model::matches_a_naive_model_then(
        &MemoryStore::new,
        &|s| s as &dyn Store,
        &assert_consistent,
    );
}

/// Superseding in place leaves the state exactly as reading the queued
/// messages and writing back superseded, redacted copies did (the
/// default of the trait), and a rollback puts back every message and
/// index entry it changed.
#[test]
fn superseding_in_place_equals_writing_copies_and_rolls_back() {
    let fill = || {
        let (store, org) = populated();
        let mut tx = begin(&store);
        let mut html = message(&org, "msg_2", "inv_1", 9);
        html.email.text_body = "open https://x.test/accept now".to_owned();
        html.email.html_body = Some("<a href=\"https://x.test/accept\">join</a>".to_owned());
        tx.put_outbox_message(html.clone()).expect("put");
        tx.put_outbox_message(message(&org, "msg_3", "inv_2", 7))
            .expect("put");
        let mut failed = message(&org, "msg_4", "inv_1", 3);
        failed.status = OutboxStatus::Failed;
        tx.put_outbox_message(failed.clone()).expect("put");
        tx.commit().expect("commit");
        (store, org)
    };
    let inv = InvitationId("inv_1".into());
    let (by_copies, org) = fill();
    let mut tx = begin(&by_copies);
    for mut m in tx.queued_messages_for(&org, &inv).expect("queued") {
        m.status = OutboxStatus::Superseded;
        m.redact();
        tx.put_outbox_message(m.clone()).expect("put");
    }
    tx.commit().expect("commit");

    let (in_place, _) = fill();
    let before = snapshot(&in_place);
    {
        let mut tx = begin(&in_place);
        tx.supersede_queued_messages(&org, &inv).expect("supersede");
        assert!(tx.queued_messages_for(&org, &inv).expect("read").is_empty());
        // Dropped: rolled back.
    }
    assert_eq!(snapshot(&in_place), before);
    assert_consistent(&in_place);
    let mut tx = begin(&in_place);
    tx.supersede_queued_messages(&org, &inv).expect("supersede");
    tx.commit().expect("commit");
    assert_eq!(snapshot(&in_place), snapshot(&by_copies));
    assert_consistent(&in_place);
}

/// A queue entry that names a message the outbox lacks (a corrupt state no
/// write makes) fails the supersede with `Corrupt` and changes nothing,
/// whether the invitation has its usual one queued message or several.
#[test]
fn superseding_a_queue_that_names_a_missing_message_changes_nothing() {
    for queued in [1, 2] {
        let (store, org) = populated();
        let inv = InvitationId("inv_1".into());
        if queued == 2 {
            let mut tx = begin(&store);
            tx.put_outbox_message(message(&org, "msg_2", "inv_1", 9))
                .expect("put");
            tx.commit().expect("commit");
        }
        // The message itself goes, its queue entry stays.
        {
            let mut state = store.state.lock("MemoryStore").expect("unlocked");
            state.outbox.remove(&MessageId("msg_1".into()));
        }
        let before = snapshot(&store);
        let mut tx = begin(&store);
        let err = tx
            .supersede_queued_messages(&org, &inv)
            .expect_err("a missing message");
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
        drop(tx);
        assert_eq!(snapshot(&store), before, "{queued} queued");
        let state = snapshot(&store);
        let kept = state.orgs[&org].queued_ids(&inv).count();
        assert_eq!(kept, queued, "the queue entries are kept");
    }
}

/// Where the queue index keeps an invitation's queued messages: the
/// stored invitation holds the one with the smallest id and the others
/// are listed apart, whatever order they came and went in, so the state
/// equals one rebuilt from the entities and a rollback restores it.
#[test]
fn a_stored_invitation_holds_its_smallest_queued_message() {
    let (store, org) = populated();
    let inv = InvitationId("inv_1".into());
    let held = |store: &MemoryStore| {
        snapshot(store).orgs[&org]
            .invitations
            .get(&inv)
            .and_then(|i| i.queued.clone())
    };
    let ids = |store: &MemoryStore| -> Vec<MessageId> {
        snapshot(store).orgs[&org]
            .queued_ids(&inv)
            .cloned()
            .collect()
    };
    let msg = |id: &str| MessageId(id.into());
    assert_eq!(held(&store), Some(msg("msg_1")));
    // Queued out of order: a larger id is listed, a smaller one takes the
    // invitation's place and the one it held is listed.
    let mut tx = begin(&store);
    tx.put_outbox_message(message(&org, "msg_3", "inv_1", 7))
        .expect("put");
    tx.put_outbox_message(message(&org, "msg_0", "inv_1", 8))
        .expect("put");
    tx.commit().expect("commit");
    assert_eq!(held(&store), Some(msg("msg_0")));
    assert_eq!(ids(&store), [msg("msg_0"), msg("msg_1"), msg("msg_3")]);
    assert_consistent(&store);
    // The one held sent: the next smallest takes its place.
    let before = snapshot(&store);
    let mut sent = message(&org, "msg_0", "inv_1", 8);
    sent.status = OutboxStatus::Sent;
    {
        let mut tx = begin(&store);
        tx.put_outbox_message(sent.clone()).expect("put");
        // Dropped: rolled back.
    }
    assert_eq!(snapshot(&store), before);
    let mut tx = begin(&store);
    tx.put_outbox_message(sent).expect("put");
    tx.commit().expect("commit");
    assert_eq!(held(&store), Some(msg("msg_1")));
    assert_eq!(ids(&store), [msg("msg_1"), msg("msg_3")]);
    assert_consistent(&store);
    // Read in the order they were queued, then all superseded at once.
    let mut tx = begin(&store);
    let queued: Vec<MessageId> = tx
        .queued_messages_for(&org, &inv)
        .expect("read")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(queued, [msg("msg_1"), msg("msg_3")]);
    tx.supersede_queued_messages(&org, &inv).expect("supersede");
    tx.commit().expect("commit");
    assert_eq!(held(&store), None);
    assert!(snapshot(&store).orgs[&org].queued_outbox.is_empty());
    assert_consistent(&store);
}

/// Messages queued for an invitation not stored yet are listed apart; the
/// invitation stored later holds the smallest, and a rollback of that
/// write lists it apart again.
#[test]
fn an_invitation_stored_after_its_messages_takes_the_smallest() {
    let (store, org) = populated();
    let inv = InvitationId("inv_9".into());
    let mut tx = begin(&store);
    tx.put_outbox_message(message(&org, "msg_8", "inv_9", 3))
        .expect("put");
    tx.put_outbox_message(message(&org, "msg_7", "inv_9", 4))
        .expect("put");
    tx.commit().expect("commit");
    let listed = |store: &MemoryStore| {
        snapshot(store).orgs[&org]
            .queued_outbox
            .get(&inv)
            .map(|l| l.as_slice().to_vec())
    };
    assert_eq!(
        listed(&store),
        Some(vec![MessageId("msg_7".into()), MessageId("msg_8".into())])
    );
    let before = snapshot(&store);
    let write = |tx: &mut Box<dyn Transaction + '_>| {
        tx.put_invitation(&invitation(&org, "inv_9", "q9@x.test"))
            .expect("put");
    };
    {
        let mut tx = begin(&store);
        write(&mut tx);
        // Dropped: rolled back, the invitation removed.
    }
    assert_eq!(snapshot(&store), before);
    assert_consistent(&store);
    let mut tx = begin(&store);
    write(&mut tx);
    tx.commit().expect("commit");
    let state = snapshot(&store);
    assert_eq!(
        state.orgs[&org]
            .invitations
            .get(&inv)
            .and_then(|i| i.queued.clone()),
        Some(MessageId("msg_7".into()))
    );
    assert_eq!(listed(&store), Some(vec![MessageId("msg_8".into())]));
    assert_consistent(&store);
}

/// A message written again under another organization leaves the first
/// one's due set, queue and message ids for the second's, and a rollback
/// moves it back.
#[test]
fn a_message_rewritten_under_another_organization_moves_its_entries() {
    let (store, org) = populated();
    let other = org_id(2);
    let id = MessageId("msg_1".into());
    let before = snapshot(&store);
    let moved = |tx: &mut Box<dyn Transaction + '_>| {
        tx.put_outbox_message(message(&other, "msg_1", "inv_7", 4))
            .expect("put");
    };
    {
        let mut tx = begin(&store);
        moved(&mut tx);
        // Dropped: rolled back.
    }
    assert_eq!(snapshot(&store), before);
    assert_consistent(&store);
    let mut tx = begin(&store);
    moved(&mut tx);
    tx.commit().expect("commit");
    assert_consistent(&store);
    let state = snapshot(&store);
    assert!(!state.orgs[&org].outbox_ids.contains(&id));
    assert_eq!(
        state.orgs[&org]
            .queued_ids(&InvitationId("inv_7".into()))
            .count(),
        0
    );
    assert!(state.orgs[&org].queued_outbox.is_empty());
    assert!(state.orgs[&other].outbox_ids.contains(&id));
    assert_eq!(
        state.orgs[&other]
            .queued_ids(&InvitationId("inv_7".into()))
            .collect::<Vec<_>>(),
        [&id]
    );
}

/// A rewrite of an invitation touches only the index entries that change
/// (an accept: the status sets, not the secret or the batch); whichever
/// field changes, every index stays what a rebuild gives, and a rollback
/// restores the state.
#[test]
fn invitation_rewrites_keep_every_index_exact_whichever_field_changes() {
    let (store, org) = populated();
    let base = |tx: &mut Box<dyn Transaction + '_>| {
        tx.invitation(&org, &InvitationId("inv_1".into()))
            .expect("read")
            .expect("exists")
    };
    type Change = fn(&mut StoredInvitation);
    let changes: [(&str, Change); 10] = [
        ("accepted", |i| i.status = InvitationStatus::Accepted),
        ("revoked, no secret", |i| {
            i.status = InvitationStatus::Revoked;
            i.secret_hash = None;
        }),
        ("new secret", |i| i.secret_hash = Some(hash(9))),
        ("other batch", |i| i.batch_id = BatchId("bat_9".into())),
        ("created later", |i| i.created_at = t(77)),
        ("expires later", |i| i.expires_at = Some(t(500))),
        ("no expiry", |i| i.expires_at = None),
        ("other recipient", |i| i.recipient_key = "q9@x.test".into()),
        ("other license", |i| i.license_type = "pro".into()),
        ("bound to an account", |i| i.user_ref = Some("u9".into())),
    ];
    for (what, change) in changes {
        let before = snapshot(&store);
        {
            let mut tx = begin(&store);
            let mut inv = base(&mut tx);
            change(&mut inv);
            tx.put_invitation(&inv).expect(what);
        }
        assert_eq!(snapshot(&store), before, "{what}: rolled back");
        let mut tx = begin(&store);
        let mut inv = base(&mut tx);
        let original = inv.clone();
        change(&mut inv);
        tx.put_invitation(&inv).expect(what);
        tx.commit().expect("commit");
        assert_consistent(&store);
        // And back, for the next change.
        let mut tx = begin(&store);
        tx.put_invitation(&original).expect("restore");
        tx.commit().expect("commit");
        assert_consistent(&store);
        assert_eq!(snapshot(&store), before, "{what}: written back");
    }
}

/// Due lists across organizations are merged from each organization's
/// due set (the organizations kept by their earliest time): whatever the
/// times, ties and limit, they equal the sort of every due entry, in
/// `(expiry, organization, id)` order for invitations and `(next attempt,
/// id)` for messages; and the earliest next attempt is the least of all.
#[test]
fn due_lists_across_organizations_equal_the_sort_of_all() {
    let store = MemoryStore::new();
    let orgs: Vec<OrgId> = (1..=12).map(org_id).collect();
    // A small linear congruential sequence: many ties, every order.
    let mut x: u64 = 7;
    let mut next = |m: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % m
    };
    let mut invitations = Vec::new();
    let mut messages = Vec::new();
    let mut tx = begin(&store);
    for (n, org) in orgs.iter().enumerate() {
        tx.put_organization(&organization(org)).expect("org");
        for i in 0..next(9) {
            let id = format!("inv_{}{:02}", next(10), i);
            let mut inv = invitation(org, &id, &format!("{id}.{n}@x.test"));
            inv.status = InvitationStatus::Pending;
            inv.expires_at = Some(t(i64::try_from(next(6)).expect("small") * 10));
            tx.put_invitation(&inv).expect("inv");
            invitations.push((inv.expires_at, org.clone(), inv.id.clone()));
        }
        for i in 0..next(9) {
            let id = format!("msg_{}{:02}{n:02}", next(10), i);
            let at = i64::try_from(next(6)).expect("small") * 10;
            tx.put_outbox_message(message(org, &id, "inv_x", at))
                .expect("msg");
            messages.push((t(at), MessageId::from(id)));
        }
    }
    tx.commit().expect("commit");
    invitations.sort();
    messages.sort();
    let mut tx = begin(&store);
    for now in [-1, 0, 10, 25, 50, 1000] {
        for limit in [0, 1, 2, 3, 7, 20, 1000] {
            let want: Vec<(OrgId, InvitationId)> = invitations
                .iter()
                .filter(|(at, _, _)| at.is_some_and(|at| at <= t(now)))
                .take(limit)
                .map(|(_, o, i)| (o.clone(), i.clone()))
                .collect();
            let got: Vec<(OrgId, InvitationId)> = tx
                .due_invitations(None, t(now), limit)
                .expect("due")
                .into_iter()
                .map(|i| (i.org_id.clone(), i.id.clone()))
                .collect();
            assert_eq!(got, want, "invitations at {now}, limit {limit}");
            let want: Vec<MessageId> = messages
                .iter()
                .filter(|(at, _)| *at <= t(now))
                .take(limit)
                .map(|(_, id)| id.clone())
                .collect();
            let got: Vec<MessageId> = tx
                .due_outbox(None, t(now), limit)
                .expect("due")
                .into_iter()
                .map(|m| m.id)
                .collect();
            assert_eq!(got, want, "messages at {now}, limit {limit}");
        }
    }
    assert_eq!(
        tx.next_outbox_due(None).expect("next"),
        messages.first().map(|(at, _)| *at)
    );
    drop(tx);
    assert_consistent(&store);
}

/// Keys that tie on their time and share their first 20 bytes (the head
/// the sets compare first) are still ordered, paged and found by their
/// whole text: invitations, members and an account's organizations.
#[test]
fn keys_sharing_their_head_page_in_the_order_of_their_text() {
    let store = MemoryStore::new();
    let org = org_id(1);
    let stem = "inv_0123456789ab0123";
    let ids = [
        format!("{stem}b"),
        stem.to_owned(),
        format!("{stem}\0"),
        format!("{stem}a9"),
        format!("{stem}a"),
        "inv_0123456789ab012".to_owned(),
    ];
    let contacts = [
        "shared.prefix.of.twenty+b@x.test",
        "shared.prefix.of.twenty+a@x.test",
        "shared.prefix.of.twe@x.test",
        "shared.prefix.of.twenty@x.test",
    ];
    let mut tx = begin(&store);
    tx.put_organization(&organization(&org)).expect("put");
    for (i, id) in ids.iter().enumerate() {
        let mut inv = invitation(&org, id, &format!("r{i}@x.test"));
        inv.status = InvitationStatus::Pending;
        tx.put_invitation(&inv).expect("put");
    }
    for (i, contact) in contacts.iter().enumerate() {
        let mut m = member(&org, &format!("mem_{i}"), contact);
        m.user_ref = Some(format!("account.with.a.long.name.{i}"));
        tx.put_member(&m).expect("put");
    }
    // Another organization's member whose account shares the head of
    // every account above: not one of theirs.
    let other = org_id(2);
    tx.put_organization(&organization(&other)).expect("put");
    let mut m = member(&other, "mem_x", "x@x.test");
    m.user_ref = Some("account.with.a.long.name.1".to_owned());
    tx.put_member(&m).expect("put");
    tx.commit().expect("commit");

    let mut tx = begin(&store);
    // Invitations: newest first, ties by id, one a page.
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    expected.reverse();
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let q = InvitationQuery {
            statuses: vec![InvitationStatus::Pending],
            after: after.take(),
            limit: 1,
            ..InvitationQuery::default()
        };
        let page = tx.list_invitations(&org, &q, t(0)).expect("list");
        seen.extend(page.items.into_iter().map(|i| i.id.as_str().to_owned()));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, expected);

    // Members: by contact, one a page.
    let mut expected: Vec<&str> = contacts.to_vec();
    expected.sort_unstable();
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let q = MemberQuery {
            after: after.take(),
            limit: 1,
            ..MemberQuery::default()
        };
        let page = tx.list_members(&org, &q).expect("list");
        seen.extend(page.items.into_iter().map(|m| m.contact_key));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, expected);

    // An account's organizations: exactly its own, whatever the others'
    // accounts share with it.
    let orgs: Vec<OrgId> = tx
        .memberships_of("account.with.a.long.name.1", None, 10)
        .expect("memberships")
        .items
        .into_iter()
        .map(|(o, _)| o.id)
        .collect();
    assert_eq!(orgs, vec![org.clone(), other.clone()]);
    let orgs = tx
        .memberships_of("account.with.a.long.name.2", None, 10)
        .expect("memberships")
        .items;
    assert_eq!(orgs.len(), 1);
    assert!(
        tx.memberships_of("account.with.a.long.name.", None, 10)
            .expect("memberships")
            .items
            .is_empty()
    );
}

/// A member's contact and account texts are held once: the index by
/// contact shares the sort key's text, the index by account the account
/// entry's. Rewrites that keep them, change them, remove the member and
/// roll back keep every index exact and the texts shared.
#[test]
fn a_members_contact_and_account_texts_are_shared_by_its_indexes() {
    let (store, org) = populated();
    let id = MemberId("mem_1".into());
    let shared = |store: &MemoryStore, contact: &str, account: &str| {
        let state = snapshot(store);
        let data = &state.orgs[&org];
        let (sort, _) = data.members.get_row(&id).expect("stored");
        let (by_contact, _) = data
            .member_ix
            .by_contact
            .get_key_value(contact)
            .expect("by contact");
        assert!(Arc::ptr_eq(by_contact, &sort.text), "contact text shared");
        let (by_account, _) = data
            .member_ix
            .by_user_ref
            .get_key_value(account)
            .expect("by account");
        let ((entry, _), _) = state
            .accounts
            .range((Headed::new(Arc::<str>::from(account)), org.clone())..)
            .next()
            .expect("account entry");
        assert_eq!(&*entry.text, account);
        assert!(Arc::ptr_eq(by_account, &entry.text), "account text shared");
    };
    shared(&store, "p1@x.test", "u1");

    let rewrite = |store: &MemoryStore, commit: bool, change: &dyn Fn(&mut Member)| {
        let mut tx = begin(store);
        let mut m = tx.member(&org, &id).expect("read").expect("exists");
        change(&mut m);
        tx.put_member(&m).expect("put");
        if commit {
            tx.commit().expect("commit");
        }
    };
    // The same keys, another role.
    rewrite(&store, true, &|m| m.role = "admin".into());
    assert_consistent(&store);
    shared(&store, "p1@x.test", "u1");
    // Another account and contact; rolled back, then kept.
    let before = snapshot(&store);
    let moved = |m: &mut Member| {
        m.user_ref = Some("u1-new".into());
        m.contact_key = "p1-new@x.test".into();
    };
    rewrite(&store, false, &moved);
    assert_eq!(snapshot(&store), before);
    rewrite(&store, true, &moved);
    assert_consistent(&store);
    shared(&store, "p1-new@x.test", "u1-new");
    let state = snapshot(&store);
    assert!(!state.orgs[&org].member_ix.by_user_ref.contains_key("u1"));
    assert!(
        !state
            .accounts
            .contains_key(&(Headed::new(Arc::<str>::from("u1")), org.clone()))
    );
    // Removed: out of both indexes by account.
    rewrite(&store, true, &|m| m.status = MemberStatus::Removed);
    assert_consistent(&store);
    let state = snapshot(&store);
    assert!(
        !state.orgs[&org]
            .member_ix
            .by_user_ref
            .contains_key("u1-new")
    );
    assert!(
        !state
            .accounts
            .contains_key(&(Headed::new(Arc::<str>::from("u1-new")), org.clone()))
    );
}

/// A new pending invitation's recipient key is held once: the
/// organization's open invitation by recipient and the inbox list share
/// its text. A revoke takes both entries out; a rollback leaves the state
/// as it was.
#[test]
fn an_invitations_recipient_text_is_shared_by_its_indexes() {
    let (store, org) = populated();
    let key = "q1@x.test";
    let shared = |state: &State| {
        let (open, _) = state.orgs[&org]
            .invitation_ix
            .open_by_recipient
            .get_key_value(key)
            .expect("open by recipient");
        let (inbox, _) = state.by_recipient.get_key_value(key).expect("inbox");
        // Both are the stored invitation's own text: no copy of it.
        let stored = state.orgs[&org]
            .invitations
            .get(&InvitationId("inv_1".into()))
            .expect("stored");
        Arc::ptr_eq(open, inbox) && std::ptr::eq(open.as_ptr(), stored.recipient_key.as_ptr())
    };
    let state = snapshot(&store);
    assert!(shared(&state), "recipient text shared");

    let revoke = |commit: bool| {
        let mut tx = begin(&store);
        let id = InvitationId("inv_1".into());
        let mut inv = tx.invitation(&org, &id).expect("read").expect("exists");
        inv.status = InvitationStatus::Revoked;
        tx.put_invitation(&inv).expect("put");
        if commit {
            tx.commit().expect("commit");
        }
    };
    revoke(false);
    assert_eq!(snapshot(&store), state);
    assert!(shared(&snapshot(&store)), "shared after the rollback too");
    revoke(true);
    assert_consistent(&store);
    let state = snapshot(&store);
    assert!(
        !state.orgs[&org]
            .invitation_ix
            .open_by_recipient
            .contains_key(key)
    );
    assert!(!state.by_recipient.contains_key(key));
}

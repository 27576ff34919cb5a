//! Random transactions applied to the PostgreSQL store and to MemoryStore
//! (the reference): every write must succeed or be refused on both alike,
//! and every read (pages walked with their cursors, counts, due lists,
//! events) must answer the same.

use crate::common::*;
use enlist::{
    GroupGrant, InvitationQuery, InvitationStatus, Member, MemberKind, MemberQuery, MemberSort,
    MemberStatus, MemoryStore, OrgId, OutboxStatus, SecretHash, Store, StoredInvitation,
    Transaction,
};
use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Writes both stores refused, and list items compared: the test must
/// exercise the rules and the pages, not only agree on empty answers.
static REFUSED: AtomicUsize = AtomicUsize::new(0);
static LISTED: AtomicUsize = AtomicUsize::new(0);

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const KEYS: [&str; 9] = [
    "a@x", "B@x", "b@x", "é@x", "ab@x", "a.b@x", "zz@x", "_@x", "+33612",
];
const ROLES: [&str; 3] = ["member", "admin", "guest"];
const LICENSES: [&str; 2] = ["standard", "pro"];
const GROUPS: [&str; 3] = ["grp_1", "grp_2", "grp_3"];
const MEMBER_STATUSES: [MemberStatus; 3] = [
    MemberStatus::Active,
    MemberStatus::Inactive,
    MemberStatus::Removed,
];
const INVITATION_STATUSES: [InvitationStatus; 6] = [
    InvitationStatus::Staged,
    InvitationStatus::Pending,
    InvitationStatus::Accepted,
    InvitationStatus::Declined,
    InvitationStatus::Revoked,
    InvitationStatus::Expired,
];

fn random_member(r: &mut Rng, org: &OrgId) -> Member {
    let mut m = member(org, &format!("mem_{}", r.below(12)), r.pick(&KEYS));
    m.user_ref = if r.chance(80) {
        Some(format!("acct-{}", r.below(10)))
    } else {
        None
    };
    m.role = r.pick(&ROLES).to_owned();
    m.license_type = r.pick(&LICENSES).to_owned();
    m.status = r.pick(&MEMBER_STATUSES);
    m.kind = if r.chance(20) {
        MemberKind::Guest
    } else {
        MemberKind::Member
    };
    m.groups = (0..r.below(4))
        .map(|_| GroupGrant::member(gid(r.pick(&GROUPS))))
        .collect();
    m
}

fn random_invitation(r: &mut Rng, org: &OrgId) -> StoredInvitation {
    let mut i = invitation(
        org,
        &format!("inv_{}", r.below(16)),
        r.pick(&KEYS),
        r.below(20) as i64 * 10,
    );
    i.status = r.pick(&INVITATION_STATUSES);
    i.license_type = r.pick(&LICENSES).to_owned();
    i.batch_id = enlist::BatchId::from(format!("bat_{}", r.below(3)));
    i.secret_hash = if r.chance(80) {
        Some(SecretHash::of(format!("s{}", r.below(20)).as_bytes()))
    } else {
        None
    };
    i.expires_at = if r.chance(90) {
        Some(t(r.below(40) as i64 * 10))
    } else {
        None
    };
    i
}

/// One random write on both transactions; their answers must agree.
fn random_write(r: &mut Rng, orgs: &[OrgId], a: &mut dyn Transaction, b: &mut dyn Transaction) {
    let org = orgs[r.below(orgs.len() as u64) as usize].clone();
    let same = |what: &str,
                x: Result<(), enlist::StoreError>,
                y: Result<(), enlist::StoreError>| {
        assert_eq!(
            x.is_ok(),
            y.is_ok(),
            "{what}: postgres {x:?} vs memory {y:?}"
        );
        if let (Err(x), Err(y)) = (&x, &y) {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            // Both refuse, naming the same uniqueness rule.
            assert!(
                matches!((x, y), (enlist::StoreError::Unique(a), enlist::StoreError::Unique(b)) if a == b),
                "{what}: {x:?} vs {y:?}"
            );
        }
    };
    match r.below(10) {
        0..=2 => {
            let m = random_member(r, &org);
            same("put_member", a.put_member(&m), b.put_member(&m));
        }
        3..=5 => {
            let i = random_invitation(r, &org);
            same("put_invitation", a.put_invitation(&i), b.put_invitation(&i));
        }
        6 => {
            let mut o = organization(&org);
            o.name = format!("renamed {}", r.below(100));
            same(
                "put_organization",
                a.put_organization(&o),
                b.put_organization(&o),
            );
        }
        7 => {
            let g: enlist::Group = serde_json::from_value(serde_json::json!({
                "org_id": org.as_str(),
                "id": r.pick(&GROUPS),
                "name": format!("G{}", r.below(9)),
                "description": "",
                "is_default": r.chance(30),
                "member_count": 99,
                "created_at": t(0),
            }))
            .unwrap();
            if r.chance(25) {
                same(
                    "delete_group",
                    a.delete_group(&org, &g.id),
                    b.delete_group(&org, &g.id),
                );
            } else {
                same("put_group", a.put_group(&g), b.put_group(&g));
            }
        }
        8 => {
            let e = event(&org, r.below(1000) as u32);
            assert_eq!(a.append_event(&e).unwrap(), b.append_event(&e).unwrap());
        }
        _ => {
            // Message ids are unique across organizations (the engine makes
            // them random; the store relies on it, see the crate docs).
            let mut msg = message(
                &org,
                &format!("msg_{}_{}", org.as_str(), r.below(5)),
                &format!("inv_{}", r.below(4)),
                r.below(30) as i64 * 10,
            );
            msg.status = r.pick(&[
                OutboxStatus::Queued,
                OutboxStatus::Queued,
                OutboxStatus::Sent,
                OutboxStatus::Superseded,
            ]);
            msg.created_at = t(r.below(5) as i64);
            same(
                "put_outbox_message",
                a.put_outbox_message(&msg),
                b.put_outbox_message(&msg),
            );
        }
    }
}

fn eq<T: PartialEq + Debug>(what: &str, x: T, y: T) {
    assert_eq!(x, y, "{what}: postgres (left) vs memory (right)");
}

/// Every read, on both.
fn compare_reads(r: &mut Rng, orgs: &[OrgId], a: &mut dyn Transaction, b: &mut dyn Transaction) {
    for org in orgs {
        eq(
            "organization",
            a.organization(org).unwrap(),
            b.organization(org).unwrap(),
        );
        eq("groups", a.groups(org).unwrap(), b.groups(org).unwrap());
        eq(
            "seat_counts",
            a.seat_counts(org).unwrap(),
            b.seat_counts(org).unwrap(),
        );
        eq(
            "link",
            a.invite_link(org).unwrap(),
            b.invite_link(org).unwrap(),
        );
        for l in LICENSES {
            eq(
                "seat_count",
                a.seat_count(org, l).unwrap(),
                b.seat_count(org, l).unwrap(),
            );
        }
        for role in ROLES {
            eq(
                "count_active_with_role",
                a.count_active_with_role(org, role).unwrap(),
                b.count_active_with_role(org, role).unwrap(),
            );
        }
        for k in KEYS {
            eq(
                "member_by_contact",
                a.member_by_contact(org, k).unwrap(),
                b.member_by_contact(org, k).unwrap(),
            );
            eq(
                "open_invitation_for",
                a.open_invitation_for(org, k).unwrap(),
                b.open_invitation_for(org, k).unwrap(),
            );
        }
        for n in 0..10 {
            let u = format!("acct-{n}");
            eq(
                "member_by_user_ref",
                a.member_by_user_ref(org, &u).unwrap(),
                b.member_by_user_ref(org, &u).unwrap(),
            );
        }
        for n in 0..12 {
            let id = mid(&format!("mem_{n}"));
            eq(
                "member",
                a.member(org, &id).unwrap(),
                b.member(org, &id).unwrap(),
            );
        }
        for n in 0..20 {
            let h = SecretHash::of(format!("s{n}").as_bytes());
            eq(
                "invitation_by_secret",
                a.invitation_by_secret(org, &h).unwrap(),
                b.invitation_by_secret(org, &h).unwrap(),
            );
        }
        for n in 0..4 {
            let inv = format!("inv_{n}").as_str().into();
            eq(
                "queued_messages_for",
                a.queued_messages_for(org, &inv).unwrap(),
                b.queued_messages_for(org, &inv).unwrap(),
            );
        }
        eq(
            "events",
            a.events(org, 0, 10_000).unwrap(),
            b.events(org, 0, 10_000).unwrap(),
        );
        eq(
            "events after",
            a.events(org, 2, 3).unwrap(),
            b.events(org, 2, 3).unwrap(),
        );
        let now = t(r.below(40) as i64 * 10);
        eq(
            "due_invitations",
            a.due_invitations(Some(org), now, 5).unwrap(),
            b.due_invitations(Some(org), now, 5).unwrap(),
        );
        eq(
            "due_outbox",
            a.due_outbox(Some(org), now, 5).unwrap(),
            b.due_outbox(Some(org), now, 5).unwrap(),
        );

        // Member pages under random queries, walked to the end.
        for _ in 0..4 {
            let statuses: Vec<MemberStatus> = MEMBER_STATUSES
                .iter()
                .copied()
                .filter(|_| r.chance(40))
                .collect();
            let mut q = MemberQuery {
                statuses,
                role: r.chance(30).then(|| r.pick(&ROLES).to_owned()),
                group: r.chance(30).then(|| gid(r.pick(&GROUPS))),
                search: r
                    .chance(20)
                    .then(|| r.pick(&["A", "b", "@", ".", "zz"]).to_owned()),
                sort: if r.chance(50) {
                    MemberSort::EmailAsc
                } else {
                    MemberSort::EmailDesc
                },
                after: None,
                limit: 1 + r.below(4) as u32,
            };
            loop {
                let x = a.list_members(org, &q).unwrap();
                let y = b.list_members(org, &q).unwrap();
                LISTED.fetch_add(x.items.len(), Ordering::Relaxed);
                eq(&format!("list_members {q:?}"), &x, &y);
                match x.next_cursor {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
        }
        // StoredInvitation pages likewise.
        for _ in 0..4 {
            let statuses: Vec<InvitationStatus> = INVITATION_STATUSES
                .iter()
                .copied()
                .filter(|_| r.chance(30))
                .collect();
            let mut q = InvitationQuery {
                statuses,
                search: r
                    .chance(20)
                    .then(|| r.pick(&["A", "b", "@", "é"]).to_owned()),
                batch: r
                    .chance(30)
                    .then(|| enlist::BatchId::from(format!("bat_{}", r.below(3)))),
                after: None,
                limit: 1 + r.below(4) as u32,
            };
            loop {
                let x = a.list_invitations(org, &q, now).unwrap();
                let y = b.list_invitations(org, &q, now).unwrap();
                LISTED.fetch_add(x.items.len(), Ordering::Relaxed);
                eq(&format!("list_invitations {q:?}"), &x, &y);
                match x.next_cursor {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
        }
    }
    let now = t(r.below(40) as i64 * 10);
    eq(
        "due_invitations all",
        a.due_invitations(None, now, 7).unwrap(),
        b.due_invitations(None, now, 7).unwrap(),
    );
    eq(
        "due_outbox all",
        a.due_outbox(None, now, 7).unwrap(),
        b.due_outbox(None, now, 7).unwrap(),
    );
    for (org, n) in orgs.iter().flat_map(|o| (0..5).map(move |n| (o, n))) {
        let id = msg_id(&format!("msg_{}_{n}", org.as_str()));
        eq(
            "outbox_message",
            a.outbox_message(&id).unwrap(),
            b.outbox_message(&id).unwrap(),
        );
    }
}

#[test]
fn random_transactions_answer_like_memory_store() {
    let Some(f) = Fresh::new() else { return };
    let memory = MemoryStore::new();
    let orgs = [org_id(1), org_id(2)];
    let mut r = Rng(0x5eed_1234_abcd_0001);
    for round in 0..40 {
        {
            let mut a = f.store.begin().unwrap();
            let mut b = memory.begin().unwrap();
            for _ in 0..(1 + r.below(8)) {
                random_write(&mut r, &orgs, &mut *a, &mut *b);
            }
            // Reads inside the transaction see its own writes, alike.
            if r.chance(30) {
                compare_reads(&mut r, &orgs, &mut *a, &mut *b);
            }
            if r.chance(80) {
                a.commit().unwrap();
                b.commit().unwrap();
            } // else both roll back
        }
        let mut a = f.store.begin().unwrap();
        let mut b = memory.begin().unwrap();
        compare_reads(&mut r, &orgs, &mut *a, &mut *b);
        let _ = round;
    }
    let (refused, listed) = (
        REFUSED.load(Ordering::Relaxed),
        LISTED.load(Ordering::Relaxed),
    );
    println!("{refused} writes refused by both, {listed} list items compared");
    assert!(
        refused >= 10,
        "only {refused} uniqueness refusals exercised"
    );
    assert!(listed >= 1000, "only {listed} list items compared");
}

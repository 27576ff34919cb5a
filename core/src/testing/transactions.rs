//! The `Store` / `Transaction` contract, checked directly: rollback on
//! drop, reads of one's own writes, uniqueness rules, list orders and
//! cursors, due lists, event numbering, derived counts, round trips.

use super::entities::{
    begin, event, group, hash, invitation, link, member, message, organization, pending, t,
};
use super::harness::MakeStore;
use super::snapshot::{all_invitations, all_members, read_all, snapshot};
use crate::{
    Actor, BatchId, Contact, EventKind, GroupGrant, GroupId, GroupRole, InvitationId,
    InvitationQuery, InvitationStatus, MemberId, MemberKind, MemberQuery, MemberSort, MemberStatus,
    MessageId, OrgId, OutboxStatus, Permission, Role, SeatCount, SecretLookup, Store, StoreError,
    StoreResult, TokenKey, Transaction, UniqueRule,
};
use crate::{EmailSettings, EmailTemplate};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;

fn org_id(n: u8) -> OrgId {
    OrgId::from(format!("org_{n}"))
}

fn mid(s: &str) -> MemberId {
    MemberId::from(s.to_owned())
}

fn iid(s: &str) -> InvitationId {
    InvitationId::from(s.to_owned())
}

fn gid(s: &str) -> GroupId {
    GroupId::from(s.to_owned())
}

fn msgid(s: &str) -> MessageId {
    MessageId::from(s.to_owned())
}

fn expect_unique<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    match r {
        Err(StoreError::Unique(_)) => {}
        other => panic!("{what}: expected StoreError::Unique, got {other:?}"),
    }
}

fn expect_rule<T: std::fmt::Debug>(r: Result<T, StoreError>, rule: UniqueRule, what: &str) {
    match r {
        Err(StoreError::Unique(got)) if got == rule => {}
        other => panic!("{what}: expected StoreError::Unique({rule:?}), got {other:?}"),
    }
}

/// One organization with groups, members, invitations, a link, events and
/// messages, committed. Returns the ids of its messages.
fn populated(tx: &mut dyn Transaction, org: &OrgId) -> Vec<MessageId> {
    tx.put_organization(&organization(org)).expect("put org");
    tx.put_group(&group(org, "grp_a")).expect("put group");
    tx.put_group(&group(org, "grp_b")).expect("put group");
    for i in 0..5 {
        let mut m = member(org, &format!("mem_{i}"), &format!("p{i}@x.test"));
        m.user_ref = Some(format!("u{i}"));
        m.groups = vec![GroupGrant::member(gid("grp_a"))];
        if i == 0 {
            m.role = "owner".into();
        }
        if i == 4 {
            m.license_type = "pro".into();
            m.groups.push(GroupGrant::owner(gid("grp_b")));
        }
        if i == 3 {
            m.status = MemberStatus::Inactive;
        }
        tx.put_member(&m).expect("put member");
    }
    tx.put_invitation(&pending(org, "inv_0", "i0@x.test", 1, 100))
        .expect("put invitation");
    tx.put_invitation(&invitation(org, "inv_1", "i1@x.test"))
        .expect("put invitation");
    let mut closed = pending(org, "inv_2", "i2@x.test", 3, 100);
    closed.status = InvitationStatus::Accepted;
    closed.closed_at = Some(t(5));
    closed.member_id = Some(mid("mem_2"));
    tx.put_invitation(&closed).expect("put invitation");
    tx.put_invite_link(&link(org, 9)).expect("put link");
    for n in 0..3 {
        tx.append_event(event(org, n)).expect("append event");
    }
    tx.put_outbox_message(message(org, "msg_0", "inv_0", 5))
        .expect("put message");
    let mut sent = message(org, "msg_1", "inv_0", 1);
    sent.status = OutboxStatus::Sent;
    sent.sent_at = Some(t(2));
    tx.put_outbox_message(sent.clone()).expect("put message");
    tx.put_email_settings(&email_settings(org, "fr", Some("Bienvenue")))
        .expect("put email settings");
    tx.put_email_template(&email_template(org, "fr", 1))
        .expect("put template");
    tx.put_email_template(&email_template(org, "de", 1))
        .expect("put template");
    vec![msgid("msg_0"), msgid("msg_1")]
}

/// Email settings.
fn email_settings(org: &OrgId, locale: &str, message: Option<&str>) -> EmailSettings {
    EmailSettings {
        org_id: org.clone(),
        default_locale: locale.into(),
        default_message: message.map(str::to_owned),
    }
}

/// A template; `n` varies its text and time.
fn email_template(org: &OrgId, locale: &str, n: i64) -> EmailTemplate {
    EmailTemplate {
        org_id: org.clone(),
        locale: locale.into(),
        subject: format!("Subject {n} {{{{ organization }}}}"),
        text_body: format!("Text {n}\n{{{{ accept_url }}}}"),
        html_body: (n % 2 == 1).then(|| format!("<p>Html {n} {{{{ accept_url }}}}</p>")),
        updated_at: t(n),
    }
}

/// Writes of every kind over [`populated`]'s organization (and a second
/// organization), reading some back as it goes.
fn write_everything(tx: &mut dyn Transaction, org: &OrgId, org2: &OrgId) {
    let mut o = organization(org);
    o.name = "Renamed".into();
    o.custom_roles.push(Role {
        name: "auditor".into(),
        permissions: [Permission::ViewAudit].into_iter().collect(),
        built_in: false,
        custom_permissions: Default::default(),
    });
    tx.put_organization(&o).expect("put org");
    assert_eq!(tx.organization(org).expect("org"), Some(o));
    tx.put_organization(&organization(org2)).expect("put org2");
    let mut ga = group(org, "grp_a");
    ga.name = "A renamed".into();
    ga.is_default = true;
    tx.put_group(&ga).expect("put group");
    tx.put_group(&group(org, "grp_c")).expect("put group");
    tx.delete_group(org, &gid("grp_b")).expect("delete group");
    assert_eq!(tx.group(org, &gid("grp_b")).expect("group"), None);
    let mut m9 = member(org, "mem_9", "p9@x.test");
    m9.user_ref = Some("u9".into());
    m9.groups = vec![GroupGrant::member(gid("grp_c"))];
    tx.put_member(&m9).expect("put member");
    assert_eq!(
        tx.group(org, &gid("grp_c"))
            .expect("group")
            .map(|g| g.member_count),
        Some(1)
    );
    let mut m1 = member(org, "mem_1", "p1@x.test");
    m1.user_ref = Some("u1".into());
    m1.status = MemberStatus::Removed;
    m1.removed_at = Some(t(9));
    tx.put_member(&m1).expect("remove member");
    let mut m2 = member(org, "mem_2", "p2@x.test");
    m2.user_ref = Some("u2".into());
    m2.role = "auditor".into();
    m2.license_type = "pro".into();
    m2.groups = vec![GroupGrant::owner(gid("grp_c"))];
    tx.put_member(&m2).expect("update member");
    tx.put_invitation(&pending(org, "inv_9", "i9@x.test", 20, 50))
        .expect("put invitation");
    let mut i0 = pending(org, "inv_0", "i0@x.test", 1, 100);
    i0.status = InvitationStatus::Accepted;
    i0.closed_at = Some(t(9));
    tx.put_invitation(&i0).expect("close invitation");
    let mut i1 = pending(org, "inv_1", "i1@x.test", 21, 60);
    i1.license_type = "pro".into();
    tx.put_invitation(&i1).expect("send invitation");
    let mut l = link(org, 10);
    l.active = false;
    tx.put_invite_link(&l).expect("put link");
    tx.put_invite_link(&link(org2, 11)).expect("put link 2");
    assert_eq!(tx.append_event(event(org, 7)).expect("append"), 4);
    assert_eq!(tx.append_event(event(org2, 7)).expect("append"), 1);
    tx.put_outbox_message(message(org, "msg_9", "inv_9", 7))
        .expect("put message");
    let mut m0 = message(org, "msg_0", "inv_0", 5);
    m0.status = OutboxStatus::Superseded;
    m0.redact();
    tx.put_outbox_message(m0.clone())
        .expect("supersede message");
    tx.put_email_settings(&email_settings(org, "de-AT", None))
        .expect("replace email settings");
    tx.put_email_settings(&email_settings(org2, "es", None))
        .expect("put email settings 2");
    tx.put_email_template(&email_template(org, "fr", 2))
        .expect("replace template");
    assert!(
        tx.delete_email_template(org, "de")
            .expect("delete template")
    );
    tx.put_email_template(&email_template(org, "fr-CA", 3))
        .expect("put template");
    tx.put_email_template(&email_template(org2, "fr", 4))
        .expect("put template 2");
}

/// Dropping a transaction without commit leaves every entity, index,
/// count and due list as it was.
pub fn rollback_on_drop_changes_nothing(make: MakeStore<'_>) {
    let store = make();
    let (org, org2) = (org_id(1), org_id(2));
    let mut tx = begin(&*store);
    let mut msgs = populated(tx.as_mut(), &org);
    tx.commit().expect("commit");
    msgs.push(msgid("msg_9"));
    let orgs = [org.clone(), org2.clone()];
    let before = snapshot(&*store, &orgs, &msgs);
    assert!(before.orgs[0].organization.is_some() && before.orgs[1].organization.is_none());

    let mut tx = begin(&*store);
    write_everything(tx.as_mut(), &org, &org2);
    let inside = read_all(tx.as_mut(), &orgs, &msgs);
    assert_ne!(
        inside, before,
        "the writes are visible inside the transaction"
    );
    drop(tx);
    assert_eq!(snapshot(&*store, &orgs, &msgs), before, "rolled back");

    // The store still works, and the rolled-back event numbers are reused.
    let mut tx = begin(&*store);
    assert_eq!(tx.append_event(event(&org, 8)).expect("append"), 4);
    assert_eq!(tx.append_event(event(&org2, 8)).expect("append"), 1);
    tx.commit().expect("commit");
}

/// A panic unwinding through an open transaction (an engine bug, a
/// panicking callback) rolls it back as a drop does, and the store still
/// works afterwards.
pub fn panic_inside_a_transaction_rolls_back(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let mut tx = begin(&*store);
    let msgs = populated(tx.as_mut(), &org);
    tx.commit().expect("commit");
    let orgs = [org.clone()];
    let before = snapshot(&*store, &orgs, &msgs);
    let result = std::thread::scope(|s| {
        s.spawn(|| {
            let mut tx = begin(&*store);
            tx.put_member(&member(&org, "mem_p", "panic@x.test"))
                .expect("put");
            tx.append_event(event(&org, 7)).expect("append");
            panic!("the engine failed mid-command (this panic is the test's)");
        })
        .join()
    });
    assert!(result.is_err(), "the transaction's thread panicked");
    assert_eq!(snapshot(&*store, &orgs, &msgs), before, "rolled back");
    let mut tx = begin(&*store);
    tx.put_member(&member(&org, "mem_q", "after@x.test"))
        .expect("the store still works");
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    assert!(tx.member(&org, &mid("mem_q")).expect("read").is_some());
    assert!(tx.member(&org, &mid("mem_p")).expect("read").is_none());
}

/// One read-modify-write of the organization's link: `uses + 1`, committed
/// unless `give_up` (then dropped). `Ok(true)` when committed.
fn increment_link_uses(store: &dyn Store, org: &OrgId, give_up: bool) -> StoreResult<bool> {
    let mut tx = store.begin()?;
    let mut l = tx
        .invite_link(org)?
        .ok_or_else(|| StoreError::Corrupt("the link is gone".to_owned()))?;
    l.uses += 1;
    tx.put_invite_link(&l)?;
    if give_up {
        return Ok(false);
    }
    tx.commit()?;
    Ok(true)
}

/// Read-modify-writes from several threads never lose an update: every
/// committed increment of a counter is there at the end, and no dropped
/// one. A store may refuse a transaction with `StoreError::Conflict` (at
/// begin, a read, a write or commit): the round then starts again, as the
/// engine does.
pub fn concurrent_read_modify_write_never_loses_an_update(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("put org");
    tx.put_invite_link(&link(&org, 9)).expect("put link");
    tx.commit().expect("commit");
    let (threads, rounds) = (6u64, 40u64);
    let committed: u64 = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|n| {
                let (store, org) = (&store, &org);
                s.spawn(move || {
                    let mut done = 0u64;
                    for i in 0..rounds {
                        let give_up = (n + i) % 5 == 0;
                        loop {
                            match increment_link_uses(&**store, org, give_up) {
                                Ok(true) => done += 1,
                                Ok(false) => {}
                                Err(StoreError::Conflict) => continue,
                                Err(e) => panic!("round {i} of thread {n}: {e}"),
                            }
                            break;
                        }
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker panicked"))
            .sum()
    });
    let expected: u64 = (0..threads)
        .map(|n| (0..rounds).filter(|i| (n + i) % 5 != 0).count() as u64)
        .sum();
    assert_eq!(committed, expected);
    let mut tx = begin(&*store);
    let l = tx.invite_link(&org).expect("read").expect("the link");
    assert_eq!(
        l.uses,
        link(&org, 9).uses + expected,
        "an update was lost (or a dropped one kept)"
    );
}

/// A page holds at most `MAX_PAGE` items whatever the query asks for, and
/// at least one: the limit of every store (`enlist::store::page_limit`).
pub fn pages_hold_one_to_max_page_items(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let max = crate::store::MAX_PAGE;
    let n = max + 1;
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("put org");
    for i in 0..n {
        tx.put_member(&member(
            &org,
            &format!("mem_{i:05}"),
            &format!("p{i:05}@x.test"),
        ))
        .expect("put member");
        tx.put_invitation(&invitation(
            &org,
            &format!("inv_{i:05}"),
            &format!("i{i:05}@x.test"),
        ))
        .expect("put invitation");
    }
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    for limit in [max, max + 1, u32::MAX] {
        let q = MemberQuery {
            limit,
            ..MemberQuery::default()
        };
        let page = tx.list_members(&org, &q).expect("list members");
        assert_eq!(page.items.len(), max as usize, "members, limit {limit}");
        assert!(page.next_cursor.is_some(), "one member is left");
        let q = InvitationQuery {
            limit,
            ..InvitationQuery::default()
        };
        let page = tx
            .list_invitations(&org, &q, t(0))
            .expect("list invitations");
        assert_eq!(page.items.len(), max as usize, "invitations, limit {limit}");
        assert!(page.next_cursor.is_some(), "one invitation is left");
    }
    let q = MemberQuery {
        limit: 0,
        ..MemberQuery::default()
    };
    let page = tx.list_members(&org, &q).expect("list members");
    assert_eq!(page.items.len(), 1, "members, limit 0");
    assert!(page.next_cursor.is_some());
    let q = InvitationQuery {
        limit: 0,
        ..InvitationQuery::default()
    };
    let page = tx
        .list_invitations(&org, &q, t(0))
        .expect("list invitations");
    assert_eq!(page.items.len(), 1, "invitations, limit 0");
    assert!(page.next_cursor.is_some());
}

/// An invitation is found by the hash of its secret, in its own
/// organization only; another hash finds nothing.
pub fn secret_lookups_are_by_hash_and_per_organization(make: MakeStore<'_>) {
    let store = make();
    let (org, org2) = (org_id(1), org_id(2));
    let inv = pending(&org, "inv_1", "r@x.test", 1, 100);
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("put org");
    tx.put_organization(&organization(&org2)).expect("put org");
    tx.put_invitation(&inv).expect("put invitation");
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(1)).expect("read"),
        Some(inv)
    );
    assert_eq!(tx.invitation_by_secret(&org, &hash(2)).expect("read"), None);
    assert_eq!(
        tx.invitation_by_secret(&org2, &hash(1)).expect("read"),
        None,
        "per organization"
    );
}

/// An invitation found by id (its token names it) keeps its hash in its
/// record but in no index: `invitation_by_secret` does not answer it, two
/// of them may share a hash, and one may share the hash of an invitation
/// found by hash; `invitation_by_token` finds it by id, in its own
/// organization only, with its hash and how it is found as written. An
/// invitation moved from one way to the other (an older invitation sent
/// again) leaves the index, freeing its hash, and rolling back restores
/// it.
pub fn invitations_found_by_id_are_not_indexed_by_hash(make: MakeStore<'_>) {
    let store = make();
    let (org, org2) = (org_id(1), org_id(2));
    let by_id = |id: &str, key: &str, secret: u8| {
        let mut inv = pending(&org, id, key, secret, 100);
        inv.secret_lookup = SecretLookup::ById;
        inv
    };
    let (a, b) = (by_id("inv_a", "a@x.test", 1), by_id("inv_b", "b@x.test", 1));
    let legacy = pending(&org, "inv_c", "c@x.test", 1, 100);
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("put org");
    tx.put_organization(&organization(&org2)).expect("put org");
    tx.put_invitation(&a).expect("a");
    tx.put_invitation(&b)
        .expect("b shares a's hash: neither is indexed");
    tx.put_invitation(&legacy)
        .expect("one found by hash shares it too");
    tx.commit().expect("commit");

    let mut tx = begin(&*store);
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(1)).expect("read"),
        Some(legacy.clone()),
        "only the one found by hash"
    );
    for inv in [&a, &b] {
        let found = tx
            .invitation_by_token(&org, TokenKey::Id(&inv.id))
            .expect("read");
        assert_eq!(found.as_ref(), Some(inv));
        let found = found.expect("found");
        assert_eq!(found.secret_lookup, SecretLookup::ById);
        assert_eq!(found.secret_hash, Some(hash(1)));
        assert_eq!(
            tx.invitation_by_token(&org2, TokenKey::Id(&inv.id))
                .expect("read"),
            None,
            "per organization"
        );
    }
    assert_eq!(
        tx.invitation_by_token(&org, TokenKey::Id(&InvitationId::from("inv_z")))
            .expect("read"),
        None
    );
    assert_eq!(
        tx.invitation_by_token(&org, TokenKey::Secret(&hash(1)))
            .expect("read"),
        Some(legacy.clone())
    );
    drop(tx);

    // The older invitation sent again, now found by id: its hash leaves
    // the index and another invitation found by hash may take it.
    let mut moved = legacy.clone();
    moved.secret_lookup = SecretLookup::ById;
    moved.secret_hash = Some(hash(5));
    let mut tx = begin(&*store);
    tx.put_invitation(&moved).expect("moved");
    assert_eq!(tx.invitation_by_secret(&org, &hash(1)).expect("read"), None);
    drop(tx);
    assert_eq!(
        begin(&*store)
            .invitation_by_secret(&org, &hash(1))
            .expect("read"),
        Some(legacy.clone()),
        "rolled back"
    );
    let mut tx = begin(&*store);
    tx.put_invitation(&moved).expect("moved");
    tx.put_invitation(&pending(&org, "inv_d", "d@x.test", 1, 100))
        .expect("the freed hash taken by one found by hash");
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(1))
            .expect("read")
            .map(|i| i.id.clone()),
        Some(InvitationId::from("inv_d"))
    );
    assert_eq!(tx.invitation_by_secret(&org, &hash(5)).expect("read"), None);
    assert_eq!(
        tx.invitation_by_token(&org, TokenKey::Id(&moved.id))
            .expect("read"),
        Some(moved)
    );
}

/// Committed writes are what the next transaction reads: exactly what the
/// writing transaction saw of them.
pub fn commit_keeps_exactly_what_the_transaction_saw(make: MakeStore<'_>) {
    let store = make();
    let (org, org2) = (org_id(1), org_id(2));
    let mut tx = begin(&*store);
    let mut msgs = populated(tx.as_mut(), &org);
    tx.commit().expect("commit");
    msgs.push(msgid("msg_9"));
    let orgs = [org.clone(), org2.clone()];
    let before = snapshot(&*store, &orgs, &msgs);
    let mut tx = begin(&*store);
    write_everything(tx.as_mut(), &org, &org2);
    let inside = read_all(tx.as_mut(), &orgs, &msgs);
    tx.commit().expect("commit");
    let after = snapshot(&*store, &orgs, &msgs);
    assert_eq!(after, inside);
    assert_ne!(after, before);
    // Spot checks of what the writes mean.
    let o = &after.orgs[0];
    assert_eq!(
        o.organization.as_ref().map(|o| o.name.as_str()),
        Some("Renamed")
    );
    let counts: Vec<(&str, u64)> = o
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.member_count))
        .collect();
    // grp_a: mem_0, mem_3 (inactive), mem_4; mem_1 removed, mem_2 moved.
    assert_eq!(counts, [("grp_a", 3), ("grp_c", 2)]);
    assert_eq!(
        o.seats,
        [
            (
                "pro".to_owned(),
                SeatCount {
                    members: 2,
                    open_invitations: 1
                }
            ),
            (
                "standard".to_owned(),
                SeatCount {
                    members: 2,
                    open_invitations: 1
                }
            ),
        ]
    );
    assert_eq!(o.events.len(), 4);
    assert_eq!(after.orgs[1].events.len(), 1);
    let due: Vec<&str> = o.due_invitations.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(due, ["inv_9", "inv_1"]);
    let due_msgs: Vec<&str> = o.due_outbox.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(due_msgs, ["msg_9"]);
    assert_eq!(
        after.messages[0].as_ref().map(|m| m.status),
        Some(OutboxStatus::Superseded)
    );
}

/// Inside one transaction, every read reflects the transaction's writes at
/// once: lookups, lists, counts, due lists, events.
pub fn reads_see_the_transactions_own_writes(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("org");
    let mut g = group(&org, "grp_a");
    tx.put_group(&g).expect("group");
    assert_eq!(
        tx.group(&org, &g.id).expect("read").map(|g| g.member_count),
        Some(0)
    );

    let mut m = member(&org, "mem_1", "ann@x.test");
    m.user_ref = Some("acct-ann".into());
    m.groups = vec![GroupGrant::member(g.id.clone())];
    m.role = "admin".into();
    tx.put_member(&m).expect("member");
    assert_eq!(tx.member(&org, &m.id).expect("read"), Some(m.clone()));
    assert_eq!(
        tx.member_by_contact(&org, "ann@x.test").expect("read"),
        Some(m.clone())
    );
    assert_eq!(
        tx.member_by_user_ref(&org, "acct-ann").expect("read"),
        Some(m.clone())
    );
    assert_eq!(
        tx.group(&org, &g.id).expect("read").map(|g| g.member_count),
        Some(1)
    );
    assert_eq!(tx.count_active_with_role(&org, "admin").expect("count"), 1);
    assert_eq!(
        tx.seat_count(&org, "standard").expect("seats"),
        SeatCount {
            members: 1,
            open_invitations: 0
        }
    );
    let listed = tx
        .list_members(&org, &MemberQuery::default())
        .expect("list");
    assert_eq!(listed.items, vec![m.clone()]);
    // Changing the member moves every derived value at once.
    m.status = MemberStatus::Inactive;
    tx.put_member(&m).expect("deactivate");
    assert_eq!(tx.count_active_with_role(&org, "admin").expect("count"), 0);
    assert_eq!(tx.seat_count(&org, "standard").expect("seats").members, 0);
    assert_eq!(
        tx.group(&org, &g.id).expect("read").map(|g| g.member_count),
        Some(1)
    );
    m.status = MemberStatus::Removed;
    tx.put_member(&m).expect("remove");
    assert_eq!(
        tx.member_by_contact(&org, "ann@x.test").expect("read"),
        None
    );
    assert_eq!(tx.member_by_user_ref(&org, "acct-ann").expect("read"), None);
    assert_eq!(
        tx.group(&org, &g.id).expect("read").map(|g| g.member_count),
        Some(0)
    );
    assert_eq!(tx.member(&org, &m.id).expect("read"), Some(m.clone()));

    let mut inv = pending(&org, "inv_1", "bob@x.test", 1, 100);
    tx.put_invitation(&inv).expect("invitation");
    assert_eq!(
        tx.invitation(&org, &inv.id).expect("read"),
        Some(inv.clone())
    );
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(1)).expect("read"),
        Some(inv.clone())
    );
    assert_eq!(
        tx.open_invitation_for(&org, "bob@x.test").expect("read"),
        Some(inv.clone())
    );
    assert_eq!(
        tx.seat_count(&org, "standard")
            .expect("seats")
            .open_invitations,
        1
    );
    assert_eq!(
        tx.due_invitations(Some(&org), t(100), 10).expect("due"),
        vec![inv.clone()]
    );
    assert_eq!(
        tx.list_invitations(&org, &InvitationQuery::default(), t(0))
            .expect("list")
            .items,
        vec![inv.clone()]
    );
    // A new secret replaces the old one in the index.
    inv.secret_hash = Some(hash(2));
    inv.expires_at = Some(t(200));
    tx.put_invitation(&inv).expect("resend");
    assert_eq!(tx.invitation_by_secret(&org, &hash(1)).expect("read"), None);
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(2)).expect("read"),
        Some(inv.clone())
    );
    assert!(
        tx.due_invitations(Some(&org), t(100), 10)
            .expect("due")
            .is_empty()
    );

    assert_eq!(tx.append_event(event(&org, 1)).expect("append"), 1);
    assert_eq!(tx.append_event(event(&org, 2)).expect("append"), 2);
    let evs = tx.events(&org, 0, 10).expect("events");
    assert_eq!(evs.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    let mut want = event(&org, 2);
    want.seq = 2;
    assert_eq!(evs[1], want);

    let msg = message(&org, "msg_1", "inv_1", 3);
    tx.put_outbox_message(msg.clone()).expect("message");
    assert_eq!(tx.outbox_message(&msg.id).expect("read"), Some(msg.clone()));
    assert_eq!(
        tx.due_outbox(Some(&org), t(3), 10).expect("due"),
        vec![msg.clone()]
    );
    assert_eq!(
        tx.due_outbox(None, t(3), 10).expect("due"),
        vec![msg.clone()]
    );
    assert_eq!(
        tx.queued_messages_for(&org, &inv.id).expect("queued"),
        vec![msg.clone()]
    );
    let mut sent = msg.clone();
    sent.status = OutboxStatus::Sent;
    tx.put_outbox_message(sent.clone()).expect("sent");
    assert!(tx.due_outbox(None, t(3), 10).expect("due").is_empty());
    assert!(
        tx.queued_messages_for(&org, &inv.id)
            .expect("queued")
            .is_empty()
    );

    g.name = "renamed".into();
    tx.put_group(&g).expect("rename group");
    assert_eq!(
        tx.group(&org, &g.id).expect("read").map(|g| g.name),
        Some("renamed".into())
    );
    tx.delete_group(&org, &g.id).expect("delete");
    assert_eq!(tx.group(&org, &g.id).expect("read"), None);
    assert!(tx.groups(&org).expect("groups").is_empty());
    drop(tx);

    // Nothing of it was committed.
    let mut tx = begin(&*store);
    assert_eq!(tx.organization(&org).expect("read"), None);
    assert_eq!(tx.member(&org, &m.id).expect("read"), None);
    assert_eq!(tx.invitation(&org, &inv.id).expect("read"), None);
    assert!(tx.events(&org, 0, 10).expect("events").is_empty());
    assert_eq!(tx.outbox_message(&msg.id).expect("read"), None);
}

/// What an accept reads after `invitation_by_secret` (the member of the
/// recipient's key, the invitation's queued messages) answers as it would
/// on its own: asked once or twice, after this transaction's member and
/// outbox writes, with an outbox message of this transaction waiting
/// before the read, and in a read-only transaction. (A store may read
/// them ahead with the invitation.)
pub fn reads_after_an_invitation_by_secret_answer_as_without_it(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let inv = pending(&org, "inv_1", "k1@x.test", 1, 100);
    let lone = pending(&org, "inv_2", "k2@x.test", 2, 100);
    let m1 = member(&org, "mem_1", "k1@x.test");
    let msg1 = message(&org, "msg_1", "inv_1", 3);
    let msg2 = message(&org, "msg_2", "inv_1", 4);
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("org");
    tx.put_invitation(&inv).expect("inv_1");
    tx.put_invitation(&lone).expect("inv_2");
    tx.put_member(&m1).expect("m1");
    tx.put_outbox_message(msg1.clone()).expect("msg_1");
    tx.put_outbox_message(msg2.clone()).expect("msg_2");
    tx.commit().expect("commit");
    let queued = vec![msg1.clone(), msg2.clone()];

    // Read as stored, twice each.
    let mut tx = begin(&*store);
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(1)).expect("read"),
        Some(inv.clone())
    );
    for round in 0..2 {
        assert_eq!(
            tx.member_by_contact(&org, "k1@x.test").expect("member"),
            Some(m1.clone()),
            "round {round}"
        );
        assert_eq!(
            tx.queued_messages_for(&org, &inv.id).expect("queued"),
            queued,
            "round {round}"
        );
    }
    // An invitation with no member and no message.
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(2)).expect("read"),
        Some(lone.clone())
    );
    assert_eq!(
        tx.member_by_contact(&org, "k2@x.test").expect("member"),
        None
    );
    assert!(
        tx.queued_messages_for(&org, &lone.id)
            .expect("queued")
            .is_empty()
    );
    drop(tx);

    // This transaction's writes after the read: the member removed and
    // another taking the key, a message superseded, one added, the
    // invitation closed.
    let mut tx = begin(&*store);
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(1)).expect("read"),
        Some(inv.clone())
    );
    let mut gone = m1.clone();
    gone.status = MemberStatus::Removed;
    tx.put_member(&gone).expect("remove m1");
    assert_eq!(
        tx.member_by_contact(&org, "k1@x.test").expect("member"),
        None
    );
    let m2 = member(&org, "mem_2", "k1@x.test");
    tx.put_member(&m2).expect("m2");
    assert_eq!(
        tx.member_by_contact(&org, "k1@x.test").expect("member"),
        Some(m2.clone())
    );
    let mut superseded = msg1.clone();
    superseded.status = OutboxStatus::Superseded;
    tx.put_outbox_message(superseded.clone())
        .expect("supersede msg_1");
    let msg3 = message(&org, "msg_3", "inv_1", 5);
    tx.put_outbox_message(msg3.clone()).expect("msg_3");
    let mut accepted = inv.clone();
    accepted.status = InvitationStatus::Accepted;
    accepted.closed_at = Some(t(2));
    tx.put_invitation(&accepted).expect("accept");
    assert_eq!(
        tx.queued_messages_for(&org, &inv.id).expect("queued"),
        vec![msg2.clone(), msg3.clone()]
    );
    drop(tx);

    // A message of this transaction waiting before the read.
    let mut tx = begin(&*store);
    tx.put_outbox_message(msg3.clone()).expect("msg_3");
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(1)).expect("read"),
        Some(inv.clone())
    );
    assert_eq!(
        tx.queued_messages_for(&org, &inv.id).expect("queued"),
        vec![msg1.clone(), msg2.clone(), msg3.clone()]
    );
    drop(tx);

    // A read-only transaction reads the same.
    let mut tx = store.begin_read().expect("begin read");
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(1)).expect("read"),
        Some(inv.clone())
    );
    assert_eq!(
        tx.member_by_contact(&org, "k1@x.test").expect("member"),
        Some(m1.clone())
    );
    assert_eq!(
        tx.queued_messages_for(&org, &inv.id).expect("queued"),
        queued
    );
}

/// `prefetch_acceptance` is a hint: what `organization`,
/// `invitation_by_secret` (or `invitation_by_token` with an id),
/// `member_by_user_ref` and `groups` answer after it is what they would
/// answer without it, asked once or twice, for the token and account
/// hinted or others, with the hint for another organization, and after
/// this transaction's own writes (a group added, a member of the
/// account); for tokens that name their invitation and for older ones.
pub fn reads_after_an_acceptance_hint_answer_as_without_it(make: MakeStore<'_>) {
    acceptance_hint_case(make, SecretLookup::ByHash);
    acceptance_hint_case(make, SecretLookup::ById);
}

fn acceptance_hint_case(make: MakeStore<'_>, lookup: SecretLookup) {
    let store = make();
    let org = org_id(1);
    let mut inv = pending(&org, "inv_1", "k1@x.test", 1, 100);
    let mut other_inv = pending(&org, "inv_2", "k2@x.test", 2, 100);
    inv.secret_lookup = lookup;
    other_inv.secret_lookup = lookup;
    let (id1, id2) = (inv.id.clone(), other_inv.id.clone());
    let (h1, h2) = (hash(1), hash(2));
    // What an accept hands the store for each invitation, and its read.
    let key = |n: u8| match (lookup, n) {
        (SecretLookup::ById, 1) => TokenKey::Id(&id1),
        (SecretLookup::ById, _) => TokenKey::Id(&id2),
        (_, 1) => TokenKey::Secret(&h1),
        _ => TokenKey::Secret(&h2),
    };
    let read = |tx: &mut dyn Transaction, n: u8| match key(n) {
        TokenKey::Secret(h) => tx.invitation_by_secret(&org, h).expect("read"),
        k => tx.invitation_by_token(&org, k).expect("read"),
    };
    let mut holder = member(&org, "mem_1", "k9@x.test");
    holder.user_ref = Some("acct-1".into());
    let g1 = group(&org, "grp_1");
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("org");
    tx.put_invitation(&inv).expect("inv_1");
    tx.put_invitation(&other_inv).expect("inv_2");
    tx.put_member(&holder).expect("holder");
    tx.put_group(&g1).expect("grp_1");
    tx.commit().expect("commit");

    // Without the hint.
    let mut tx = begin(&*store);
    let stored_org = tx.organization(&org).expect("org");
    assert!(stored_org.is_some());
    assert_eq!(
        tx.member_by_user_ref(&org, "acct-1").expect("account"),
        Some(holder.clone())
    );
    let groups = tx.groups(&org).expect("groups");
    assert_eq!(groups.len(), 1);
    drop(tx);

    // With it, as an accept reads: each twice, then another account.
    let mut tx = begin(&*store);
    tx.prefetch_acceptance(&org, key(1), "acct-1")
        .expect("hint");
    assert_eq!(tx.organization(&org).expect("org"), stored_org);
    for round in 0..2 {
        assert_eq!(read(&mut *tx, 1), Some(inv.clone()), "round {round}");
        assert_eq!(
            tx.member_by_user_ref(&org, "acct-1").expect("account"),
            Some(holder.clone()),
            "round {round}"
        );
        assert_eq!(tx.groups(&org).expect("groups"), groups, "round {round}");
    }
    assert_eq!(tx.member_by_user_ref(&org, "acct-2").expect("other"), None);
    drop(tx);

    // Another secret asked than the one hinted; the organization read
    // before the hint.
    let mut tx = begin(&*store);
    assert_eq!(tx.organization(&org).expect("org"), stored_org);
    tx.prefetch_acceptance(&org, key(1), "acct-1")
        .expect("hint");
    assert_eq!(read(&mut *tx, 2), Some(other_inv));
    assert_eq!(read(&mut *tx, 1), Some(inv.clone()));
    drop(tx);

    // A free account, then this transaction's writes: a group added and a
    // member of the account.
    let mut tx = begin(&*store);
    tx.prefetch_acceptance(&org, key(1), "acct-2")
        .expect("hint");
    assert_eq!(tx.organization(&org).expect("org"), stored_org);
    let g2 = group(&org, "grp_2");
    tx.put_group(&g2).expect("grp_2");
    let mut tried = inv.clone();
    tried.failed_attempts = 2;
    tx.put_invitation(&tried).expect("inv_1 changed");
    assert_eq!(read(&mut *tx, 1), Some(tried));
    let mut newcomer = member(&org, "mem_3", "k3@x.test");
    newcomer.user_ref = Some("acct-2".into());
    tx.put_member(&newcomer).expect("newcomer");
    assert_eq!(
        tx.member_by_user_ref(&org, "acct-2").expect("account"),
        Some(newcomer)
    );
    let ids: Vec<GroupId> = tx
        .groups(&org)
        .expect("groups")
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(ids, vec![g1.id.clone(), g2.id]);
    drop(tx);

    // The hint for another organization: this one reads as without it.
    let mut tx = begin(&*store);
    tx.prefetch_acceptance(&org_id(2), key(1), "acct-1")
        .expect("hint");
    assert_eq!(tx.organization(&org).expect("org"), stored_org);
    assert!(read(&mut *tx, 1).is_some());
    assert_eq!(
        tx.member_by_user_ref(&org, "acct-1").expect("account"),
        Some(holder)
    );
    assert_eq!(tx.groups(&org).expect("groups"), groups);
}

/// `prefetch_recipients` is a hint: what `member_by_contact` and
/// `open_invitation_for` answer after it is what they would answer without
/// it, the transaction's own writes since included (a member removed or
/// added, an invitation closed, moved to another key or opened), asked
/// once or twice, and for keys read ahead or not.
pub fn prefetched_recipients_answer_as_without_it(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let other = org_id(2);
    let mut tx = begin(&*store);
    for o in [&org, &other] {
        tx.put_organization(&organization(o)).expect("org");
    }
    let m1 = member(&org, "mem_1", "k1@x.test");
    tx.put_member(&m1).expect("m1");
    let i2 = pending(&org, "inv_2", "k2@x.test", 2, 100);
    tx.put_invitation(&i2).expect("i2");
    let i3 = pending(&org, "inv_3", "k3@x.test", 3, 100);
    tx.put_invitation(&i3).expect("i3");
    // Keys the transaction below leaves alone.
    let m8 = member(&org, "mem_8", "k8@x.test");
    tx.put_member(&m8).expect("m8");
    let i9 = pending(&org, "inv_9", "k9@x.test", 8, 100);
    tx.put_invitation(&i9).expect("i9");
    // The same keys in another organization.
    tx.put_member(&member(&other, "mem_9", "k4@x.test"))
        .expect("other member");
    tx.put_invitation(&pending(&other, "inv_9", "k5@x.test", 9, 100))
        .expect("other invitation");
    tx.commit().expect("commit");

    let keys: Vec<crate::Text> = (1..=9).map(|i| format!("k{i}@x.test").into()).collect();
    let mut tx = begin(&*store);
    tx.prefetch_recipients(&org, &keys).expect("prefetch");
    // The transaction's writes, after the prefetch.
    let mut gone = m1.clone();
    gone.status = MemberStatus::Removed;
    tx.put_member(&gone).expect("remove m1");
    let mut closed = i2.clone();
    closed.status = InvitationStatus::Revoked;
    closed.closed_at = Some(t(2));
    tx.put_invitation(&closed).expect("revoke i2");
    let mut moved = i3.clone();
    moved.recipient_key = "k5@x.test".into();
    tx.put_invitation(&moved).expect("move i3 to k5");
    let m4 = member(&org, "mem_4", "k4@x.test");
    tx.put_member(&m4).expect("m4");
    let i6 = pending(&org, "inv_6", "k6@x.test", 6, 100);
    tx.put_invitation(&i6).expect("i6");
    let m7 = member(&org, "mem_7", "k7@x.test");
    tx.put_member(&m7).expect("m7, never prefetched");
    for round in 0..2 {
        let what = format!("round {round}");
        assert_eq!(
            tx.member_by_contact(&org, "k1@x.test").expect("read"),
            None,
            "{what}"
        );
        assert_eq!(
            tx.open_invitation_for(&org, "k2@x.test").expect("read"),
            None,
            "{what}"
        );
        assert_eq!(
            tx.open_invitation_for(&org, "k3@x.test").expect("read"),
            None,
            "{what}"
        );
        assert_eq!(
            tx.open_invitation_for(&org, "k5@x.test").expect("read"),
            Some(moved.clone()),
            "{what}"
        );
        assert_eq!(
            tx.member_by_contact(&org, "k4@x.test").expect("read"),
            Some(m4.clone()),
            "{what}"
        );
        assert_eq!(
            tx.open_invitation_for(&org, "k6@x.test").expect("read"),
            Some(i6.clone()),
            "{what}"
        );
        assert_eq!(
            tx.member_by_contact(&org, "k7@x.test").expect("read"),
            Some(m7.clone()),
            "{what}"
        );
        assert_eq!(
            tx.member_by_contact(&org, "k5@x.test").expect("read"),
            None,
            "{what}"
        );
        // Keys left alone answer what is stored.
        assert_eq!(
            tx.member_by_contact(&org, "k8@x.test").expect("read"),
            Some(m8.clone()),
            "{what}"
        );
        assert_eq!(
            tx.open_invitation_for(&org, "k8@x.test").expect("read"),
            None,
            "{what}"
        );
        assert_eq!(
            tx.member_by_contact(&org, "k9@x.test").expect("read"),
            None,
            "{what}"
        );
        assert_eq!(
            tx.open_invitation_for(&org, "k9@x.test").expect("read"),
            Some(i9.clone()),
            "{what}"
        );
        // Read ahead again, after the writes: the same answers.
        tx.prefetch_recipients(&org, &keys).expect("prefetch again");
    }
    // Odd keys: none held, repeated, empty, with a NUL.
    let odd: Vec<crate::Text> = ["", "k1@x.test", "k1@x.test", "nul\0@x.test"]
        .iter()
        .map(|k| crate::Text::from(*k))
        .collect();
    tx.prefetch_recipients(&org, &odd).expect("odd keys");
    tx.prefetch_recipients(&org, &[]).expect("no keys");
    assert_eq!(tx.member_by_contact(&org, "").expect("read"), None);
    assert_eq!(
        tx.member_by_contact(&org, "nul\0@x.test").expect("read"),
        None
    );
    assert_eq!(
        tx.open_invitation_for(&org, "nul\0@x.test").expect("read"),
        None
    );
    tx.commit().expect("commit");
}

/// A store that defers `put_invitation`'s checks (its contract allows it)
/// fails every call after a refusal, and the commit: nothing of the
/// transaction lands, not even the invitations it accepted before. A store
/// that refuses at the call passes by refusing there.
pub fn a_deferred_refusal_fails_the_rest_of_the_transaction(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let orgs = [org.clone()];
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("org");
    tx.put_invitation(&pending(&org, "inv_a", "r1@x.test", 1, 100))
        .expect("inv a");
    tx.commit().expect("commit");
    let before = snapshot(&*store, &orgs, &[]);

    for (clash, rule) in [
        (
            pending(&org, "inv_b", "r1@x.test", 2, 100),
            UniqueRule::InvitationOpenRecipient,
        ),
        (
            pending(&org, "inv_b", "r2@x.test", 1, 100),
            UniqueRule::InvitationSecret,
        ),
    ] {
        let mut tx = begin(&*store);
        let fine = pending(&org, "inv_c", "r3@x.test", 3, 100);
        tx.put_invitation(&fine).expect("a new invitation is fine");
        match tx.put_invitation(&clash) {
            Err(e) => {
                drop(tx);
                expect_rule(Err::<(), _>(e), rule, "refused at the call");
            }
            Ok(()) => {
                // Deferred: the next statement refuses, and so does every
                // one after it, whatever it reads or writes.
                expect_rule(
                    tx.invitation(&org, &fine.id),
                    rule,
                    "the next read after a deferred refusal",
                );
                expect_rule(
                    tx.member_by_user_ref(&org, "u1"),
                    rule,
                    "a later read of something else",
                );
                expect_rule(tx.put_group(&group(&org, "grp_x")), rule, "a later write");
                expect_rule(
                    tx.put_invitation(&pending(&org, "inv_d", "r4@x.test", 4, 100)),
                    rule,
                    "a later invitation",
                );
                // Calls a store may answer without a statement fail too.
                expect_rule(
                    tx.member_by_contact(&org, "r3@x.test"),
                    rule,
                    "a later member look-up",
                );
                expect_rule(
                    tx.open_invitation_for(&org, "r3@x.test"),
                    rule,
                    "a later open invitation look-up",
                );
                expect_rule(tx.append_event(event(&org, 1)), rule, "a later event");
                expect_rule(
                    tx.put_outbox_message(message(&org, "msg_x", "inv_c", 3)),
                    rule,
                    "a later message",
                );
                expect_rule(tx.commit(), rule, "the commit");
            }
        }
        assert_eq!(
            snapshot(&*store, &orgs, &[]),
            before,
            "a transaction with a refused invitation changed something"
        );
    }
}

/// The uniqueness rules of members and invitations: refused with
/// `StoreError::Unique`, changing nothing; freed by removal or closing.
pub fn uniqueness_rules(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let orgs = [org.clone()];
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("org");
    let mut a = member(&org, "mem_a", "k1@x.test");
    a.user_ref = Some("u1".into());
    tx.put_member(&a).expect("a");
    tx.put_invitation(&pending(&org, "inv_a", "r1@x.test", 1, 100))
        .expect("inv a");
    tx.commit().expect("commit");
    let before = snapshot(&*store, &orgs, &[]);

    let attempt = |f: &dyn Fn(&mut dyn Transaction) -> Result<(), StoreError>,
                   rule: UniqueRule,
                   what: &str| {
        let mut tx = begin(&*store);
        // A store may defer an invitation's checks to a later statement or
        // the commit (`put_invitation`'s contract): the refusal is then the
        // commit's.
        let refused = match f(tx.as_mut()) {
            Ok(()) => tx.commit(),
            Err(e) => {
                drop(tx);
                Err(e)
            }
        };
        expect_rule(refused, rule, what);
        assert_eq!(
            snapshot(&*store, &orgs, &[]),
            before,
            "{what} changed something"
        );
    };
    attempt(
        &|tx| tx.put_member(&member(&org, "mem_b", "k1@x.test")),
        UniqueRule::MemberContactKey,
        "a second member with the same contact key",
    );
    attempt(
        &|tx| {
            let mut b = member(&org, "mem_b", "k2@x.test");
            b.user_ref = Some("u1".into());
            tx.put_member(&b)
        },
        UniqueRule::MemberUserRef,
        "a second member with the same user_ref",
    );
    // A member that breaks both rules is refused for its contact key
    // first, whatever order the store checks its indexes in.
    attempt(
        &|tx| {
            let mut b = member(&org, "mem_b", "k1@x.test");
            b.user_ref = Some("u1".into());
            tx.put_member(&b)
        },
        UniqueRule::MemberContactKey,
        "a second member with the same contact key and user_ref",
    );
    attempt(
        &|tx| tx.put_invitation(&invitation(&org, "inv_b", "r1@x.test")),
        UniqueRule::InvitationOpenRecipient,
        "a second open invitation for one recipient",
    );
    attempt(
        &|tx| tx.put_invitation(&pending(&org, "inv_b", "r2@x.test", 1, 100)),
        UniqueRule::InvitationSecret,
        "a second invitation with the same secret",
    );
    // And an invitation that breaks both, for its secret first.
    attempt(
        &|tx| tx.put_invitation(&pending(&org, "inv_b", "r1@x.test", 1, 100)),
        UniqueRule::InvitationSecret,
        "a second open invitation with the same recipient and secret",
    );

    // Replacing an entity by itself is no conflict.
    let mut tx = begin(&*store);
    let mut a2 = a.clone();
    a2.first_name = Some("Ann".into());
    tx.put_member(&a2).expect("replace a by itself");
    let mut ia = pending(&org, "inv_a", "r1@x.test", 1, 100);
    ia.failed_attempts = 1;
    tx.put_invitation(&ia).expect("replace inv a by itself");
    tx.commit().expect("commit");

    // Removal frees the contact key and the user_ref; tombstones may share.
    let mut tx = begin(&*store);
    a2.status = MemberStatus::Removed;
    tx.put_member(&a2).expect("remove a");
    let mut b = member(&org, "mem_b", "k1@x.test");
    b.user_ref = Some("u1".into());
    tx.put_member(&b).expect("b takes a's key and account");
    let mut c = member(&org, "mem_c", "k1@x.test");
    c.status = MemberStatus::Removed;
    c.user_ref = Some("u1".into());
    tx.put_member(&c)
        .expect("another tombstone with the same key");
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    assert_eq!(
        tx.member_by_contact(&org, "k1@x.test").expect("read"),
        Some(b.clone())
    );
    assert_eq!(
        tx.member_by_user_ref(&org, "u1").expect("read"),
        Some(b.clone())
    );
    assert_eq!(tx.member(&org, &a.id).expect("read"), Some(a2.clone()));
    // A removed member cannot come back while the key is taken.
    let mut back = a2.clone();
    back.status = MemberStatus::Active;
    expect_unique(tx.put_member(&back), "un-removing onto a taken key");
    drop(tx);

    // Closing an invitation frees its recipient, not its secret.
    let mut tx = begin(&*store);
    ia.status = InvitationStatus::Declined;
    ia.closed_at = Some(t(3));
    tx.put_invitation(&ia).expect("decline inv a");
    let mut ib = pending(&org, "inv_b", "r1@x.test", 5, 100);
    tx.put_invitation(&ib).expect("a new invitation for r1");
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    assert_eq!(
        tx.open_invitation_for(&org, "r1@x.test").expect("read"),
        Some(ib.clone())
    );
    assert_eq!(
        tx.invitation_by_secret(&org, &hash(1)).expect("read"),
        Some(ia.clone())
    );
    // Refused at the call, or by the commit (a store that defers the check).
    let put = tx.put_invitation(&pending(&org, "inv_c", "r3@x.test", 1, 100));
    expect_unique(
        put.and_then(|()| tx.commit()),
        "the secret of a closed invitation",
    );
    // A resend frees the old secret.
    let mut tx = begin(&*store);
    ib.secret_hash = Some(hash(6));
    tx.put_invitation(&ib).expect("resend inv b");
    tx.put_invitation(&pending(&org, "inv_d", "r4@x.test", 5, 100))
        .expect("the old secret is free");
    tx.commit().expect("commit");
}

/// Contact keys that sort differently bytewise and in a locale's collation,
/// with members sharing a key (tombstones) ordered by id.
fn crowd(tx: &mut dyn Transaction, org: &OrgId) -> Vec<crate::Member> {
    let keys = [
        "b@x", "B@x", "a@x", "a.b@x", "a-b@x", "a_b@x", "ab@x", "a b@x", "é@x", "e@x", "z@x",
        "ω@x", "用@x", "~@x", "0@x", "9@x", "a%b@x", "a'b@x", "aa@x", "Z@x", "dup@x", "dup@x",
        "dup@x",
    ];
    tx.put_organization(&organization(org)).expect("org");
    tx.put_group(&group(org, "grp_a")).expect("group");
    let mut out = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let n = (i * 7) % keys.len();
        let mut m = member(org, &format!("mem_{n:02}"), key);
        if i % 3 == 0 {
            m.groups = vec![GroupGrant::member(gid("grp_a"))];
        }
        if i % 4 == 1 {
            m.role = "admin".into();
        }
        if i % 5 == 2 {
            m.status = MemberStatus::Inactive;
        }
        if *key == "dup@x" && i != 22 {
            m.status = MemberStatus::Removed;
        }
        tx.put_member(&m).expect("put member");
        out.push(m);
    }
    out.sort_by(|a, b| (&a.contact_key, &a.id).cmp(&(&b.contact_key, &b.id)));
    out
}

/// Walks pages; a page announced by a cursor is never empty.
fn walk(tx: &mut dyn Transaction, org: &OrgId, mut q: MemberQuery) -> Vec<crate::Member> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = tx.list_members(org, &q).expect("list_members");
        assert!(
            page.items.len() <= q.limit as usize,
            "page larger than {}",
            q.limit
        );
        if q.after.is_some() {
            assert!(
                !page.items.is_empty(),
                "a cursor announced an empty page: {q:?}"
            );
        }
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("pagination does not end");
}

/// Members are listed by contact key compared as bytes (as Rust compares
/// strings), then by id; filters and both directions page correctly.
pub fn member_pages_in_byte_order(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let mut tx = begin(&*store);
    let all = crowd(tx.as_mut(), &org);
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    let everyone = vec![
        MemberStatus::Active,
        MemberStatus::Inactive,
        MemberStatus::Removed,
    ];
    let got = walk(
        tx.as_mut(),
        &org,
        MemberQuery {
            statuses: everyone.clone(),
            limit: 1000,
            ..MemberQuery::default()
        },
    );
    let keys = |v: &[crate::Member]| -> Vec<String> {
        v.iter()
            .map(|m| format!("{} {}", m.contact_key, m.id))
            .collect()
    };
    assert_eq!(
        keys(&got),
        keys(&all),
        "byte order of contact keys, then id"
    );
    let queries = [
        MemberQuery::default(),
        MemberQuery {
            statuses: everyone.clone(),
            ..MemberQuery::default()
        },
        MemberQuery {
            statuses: vec![MemberStatus::Inactive],
            ..MemberQuery::default()
        },
        MemberQuery {
            statuses: vec![MemberStatus::Removed, MemberStatus::Active],
            ..MemberQuery::default()
        },
        MemberQuery {
            role: Some("admin".into()),
            ..MemberQuery::default()
        },
        MemberQuery {
            group: Some(gid("grp_a")),
            statuses: everyone.clone(),
            ..MemberQuery::default()
        },
        MemberQuery {
            search: Some("A".into()),
            ..MemberQuery::default()
        },
        MemberQuery {
            search: Some("_".into()),
            statuses: everyone.clone(),
            ..MemberQuery::default()
        },
        MemberQuery {
            search: Some("%".into()),
            ..MemberQuery::default()
        },
        MemberQuery {
            search: Some("'".into()),
            ..MemberQuery::default()
        },
        MemberQuery {
            search: Some("dup".into()),
            statuses: everyone.clone(),
            ..MemberQuery::default()
        },
        MemberQuery {
            role: Some("nobody".into()),
            ..MemberQuery::default()
        },
        MemberQuery {
            group: Some(gid("grp_none")),
            ..MemberQuery::default()
        },
    ];
    for base in queries {
        for sort in [MemberSort::EmailAsc, MemberSort::EmailDesc] {
            for limit in [1, 2, 5, 1000] {
                let q = MemberQuery {
                    sort,
                    limit,
                    ..base.clone()
                };
                let mut want: Vec<crate::Member> =
                    all.iter().filter(|m| q.matches(m)).cloned().collect();
                if sort == MemberSort::EmailDesc {
                    want.reverse();
                }
                let got = walk(tx.as_mut(), &org, q.clone());
                assert_eq!(keys(&got), keys(&want), "query {q:?}");
                assert_eq!(got, want, "query {q:?}");
            }
        }
    }
    // An exact last page has no cursor.
    let live = all
        .iter()
        .filter(|m| m.status != MemberStatus::Removed)
        .count();
    let page = tx
        .list_members(
            &org,
            &MemberQuery {
                limit: live as u32,
                ..MemberQuery::default()
            },
        )
        .expect("page");
    assert_eq!(page.items.len(), live);
    assert_eq!(page.next_cursor, None, "the only page, exactly full");
}

/// A cursor keeps its place when the list changes under it; a cursor the
/// store did not make is an error, not a crash or a silent first page.
pub fn member_cursors_survive_changes_and_bad_ones_are_errors(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let mut tx = begin(&*store);
    for k in ["b", "d", "f", "h", "j"] {
        tx.put_member(&member(&org, &format!("mem_{k}"), &format!("{k}@x")))
            .expect("member");
    }
    tx.commit().expect("commit");
    let q = MemberQuery {
        limit: 2,
        ..MemberQuery::default()
    };
    let mut tx = begin(&*store);
    let first = tx.list_members(&org, &q).expect("first page");
    drop(tx);
    let got: Vec<&str> = first.items.iter().map(|m| m.contact_key.as_str()).collect();
    assert_eq!(got, ["b@x", "d@x"]);
    let cursor = first.next_cursor.clone().expect("more pages");
    // Change the list: the cursor's own item goes, others come and go.
    let mut tx = begin(&*store);
    let mut d = member(&org, "mem_d", "d@x");
    d.status = MemberStatus::Removed;
    tx.put_member(&d).expect("remove d");
    tx.put_member(&member(&org, "mem_a", "a@x")).expect("a");
    tx.put_member(&member(&org, "mem_e", "e@x")).expect("e");
    let mut f = member(&org, "mem_f", "f@x");
    f.status = MemberStatus::Inactive;
    tx.put_member(&f).expect("deactivate f");
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    let rest = walk(
        tx.as_mut(),
        &org,
        MemberQuery {
            after: Some(cursor.clone()),
            ..q.clone()
        },
    );
    let got: Vec<&str> = rest.iter().map(|m| m.contact_key.as_str()).collect();
    assert_eq!(got, ["e@x", "f@x", "h@x", "j@x"]);
    let desc = walk(
        tx.as_mut(),
        &org,
        MemberQuery {
            sort: MemberSort::EmailDesc,
            limit: 3,
            ..MemberQuery::default()
        },
    );
    let got: Vec<&str> = desc.iter().map(|m| m.contact_key.as_str()).collect();
    assert_eq!(got, ["j@x", "h@x", "f@x", "e@x", "b@x", "a@x"]);
    drop(tx);
    for bad in ["garbage", "m.zz.zz", "' OR '1'='1", "m.", "i.1.2.3"] {
        let mut tx = begin(&*store);
        let r = tx.list_members(
            &org,
            &MemberQuery {
                after: Some(bad.to_owned()),
                ..MemberQuery::default()
            },
        );
        assert!(r.is_err(), "member cursor {bad:?} was accepted: {r:?}");
        drop(tx);
        let mut tx = begin(&*store);
        let r = tx.list_invitations(
            &org,
            &InvitationQuery {
                after: Some(bad.to_owned()),
                ..InvitationQuery::default()
            },
            t(0),
        );
        assert!(r.is_err(), "invitation cursor {bad:?} was accepted: {r:?}");
    }
}

/// Invitations are listed newest first (ties by id, descending), with the
/// status filter applied to the status at `now`, and batch and recipient
/// filters.
pub fn invitation_pages_newest_first_with_filters(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let now = t(50);
    let mut tx = begin(&*store);
    let mut all = Vec::new();
    let statuses = [
        InvitationStatus::Staged,
        InvitationStatus::Pending,
        InvitationStatus::Pending,
        InvitationStatus::Accepted,
        InvitationStatus::Declined,
        InvitationStatus::Revoked,
        InvitationStatus::Expired,
    ];
    let keys = [
        "ann@x", "a_n@x", "bob@x", "b%b@x", "cy@x", "o'neil@x", "dee@x", "eve@x", "ann@y", "fay@x",
        "gus@x", "hal@x", "用@x",
    ];
    for (i, key) in keys.iter().enumerate() {
        let id = format!("inv_{:02}", (i * 5) % keys.len());
        let status = statuses[i % statuses.len()];
        let mut inv = if status == InvitationStatus::Staged {
            invitation(&org, &id, key)
        } else {
            // Pending ones alternate between past and future expiry.
            pending(
                &org,
                &id,
                key,
                i as u8 + 1,
                if i % 2 == 0 { 40 } else { 90 },
            )
        };
        inv.status = status;
        inv.created_at = t((i / 3) as i64); // ties of three
        if i % 2 == 1 {
            inv.batch_id = BatchId::from("bat_2");
        }
        tx.put_invitation(&inv).expect("put");
        all.push(inv);
    }
    tx.commit().expect("commit");
    all.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    let queries = [
        InvitationQuery::default(),
        InvitationQuery {
            statuses: vec![InvitationStatus::Expired],
            ..InvitationQuery::default()
        },
        InvitationQuery {
            statuses: vec![InvitationStatus::Pending],
            ..InvitationQuery::default()
        },
        InvitationQuery {
            statuses: vec![InvitationStatus::Staged, InvitationStatus::Accepted],
            ..InvitationQuery::default()
        },
        InvitationQuery {
            batch: Some(BatchId::from("bat_2")),
            ..InvitationQuery::default()
        },
        InvitationQuery {
            batch: Some(BatchId::from("bat_none")),
            ..InvitationQuery::default()
        },
        InvitationQuery {
            search: Some("ANN".into()),
            ..InvitationQuery::default()
        },
        InvitationQuery {
            search: Some("_".into()),
            ..InvitationQuery::default()
        },
        InvitationQuery {
            search: Some("%".into()),
            ..InvitationQuery::default()
        },
        InvitationQuery {
            search: Some("'".into()),
            batch: Some(BatchId::from("bat_2")),
            ..InvitationQuery::default()
        },
        InvitationQuery {
            statuses: vec![InvitationStatus::Expired, InvitationStatus::Pending],
            batch: Some(BatchId::from("bat_1")),
            search: Some("@x".into()),
            ..InvitationQuery::default()
        },
    ];
    let mut tx = begin(&*store);
    for base in queries {
        for limit in [1, 3, 1000] {
            let q = InvitationQuery {
                limit,
                ..base.clone()
            };
            let want: Vec<_> = all
                .iter()
                .filter(|i| {
                    (q.statuses.is_empty() || q.statuses.contains(&i.status_at(now)))
                        && q.batch.as_ref().is_none_or(|b| &i.batch_id == b)
                        && q.search.as_ref().is_none_or(|s| {
                            i.recipient_key.contains(s.as_str())
                                || i.recipient_key.contains(&s.to_lowercase())
                        })
                })
                .cloned()
                .collect();
            let got = all_invitations(tx.as_mut(), &org, q.clone(), now);
            let ids = |v: &[crate::StoredInvitation]| -> Vec<String> {
                v.iter().map(|i| i.id.to_string()).collect()
            };
            assert_eq!(ids(&got), ids(&want), "query {q:?}");
            assert_eq!(got, want, "listed as stored: {q:?}");
        }
    }
    // Ties of created_at come by id, descending.
    let page = tx
        .list_invitations(
            &org,
            &InvitationQuery {
                limit: 3,
                ..InvitationQuery::default()
            },
            now,
        )
        .expect("page");
    let got: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
    let want: Vec<&str> = all[..3].iter().map(|i| i.id.as_str()).collect();
    assert_eq!(got, want);
    assert!(page.next_cursor.is_some());
}

/// Due invitations and due messages: only the due ones, oldest first, ties
/// by id, bounded by `limit`, per organization or across all.
pub fn due_lists_oldest_first_ties_by_id(make: MakeStore<'_>) {
    let store = make();
    let (o1, o2) = (org_id(1), org_id(2));
    let mut tx = begin(&*store);
    let invs = [
        (&o1, "inv_c", 30),
        (&o1, "inv_b", 10),
        (&o1, "inv_a", 10),
        (&o2, "inv_z", 20),
        (&o1, "inv_late", 100),
    ];
    for (n, (org, id, exp)) in invs.iter().enumerate() {
        tx.put_invitation(&pending(org, id, &format!("{id}@x"), n as u8 + 1, *exp))
            .expect("put");
    }
    let mut closed = pending(&o1, "inv_done", "done@x", 50, 5);
    closed.status = InvitationStatus::Accepted;
    tx.put_invitation(&closed).expect("put");
    let mut stored_expired = pending(&o1, "inv_exp", "exp@x", 51, 5);
    stored_expired.status = InvitationStatus::Expired;
    tx.put_invitation(&stored_expired).expect("put");
    tx.put_invitation(&invitation(&o1, "inv_staged", "staged@x"))
        .expect("put");
    let msgs = [
        (&o1, "msg_c", 5),
        (&o1, "msg_b", 3),
        (&o1, "msg_a", 3),
        (&o2, "msg_z", 4),
        (&o1, "msg_late", 100),
    ];
    for (org, id, next) in msgs {
        tx.put_outbox_message(message(org, id, "inv_a", next))
            .expect("put");
    }
    let mut sent = message(&o1, "msg_sent", "inv_a", 1);
    sent.status = OutboxStatus::Sent;
    tx.put_outbox_message(sent.clone()).expect("put");
    let mut failed = message(&o1, "msg_failed", "inv_a", 1);
    failed.status = OutboxStatus::Failed;
    tx.put_outbox_message(failed.clone()).expect("put");
    tx.commit().expect("commit");

    let mut tx = begin(&*store);
    let ids = |v: Vec<crate::StoredInvitation>| -> Vec<String> {
        v.into_iter()
            .map(|i| i.invitation.id.into_string())
            .collect()
    };
    assert_eq!(
        ids(tx.due_invitations(None, t(50), 100).expect("due")),
        ["inv_a", "inv_b", "inv_z", "inv_c"]
    );
    assert_eq!(
        ids(tx.due_invitations(None, t(50), 2).expect("due")),
        ["inv_a", "inv_b"]
    );
    assert_eq!(
        ids(tx.due_invitations(Some(&o1), t(50), 100).expect("due")),
        ["inv_a", "inv_b", "inv_c"]
    );
    assert_eq!(
        ids(tx.due_invitations(Some(&o2), t(50), 100).expect("due")),
        ["inv_z"]
    );
    assert_eq!(
        ids(tx.due_invitations(None, t(10), 100).expect("due")),
        ["inv_a", "inv_b"],
        "due at exactly its expiry"
    );
    assert!(tx.due_invitations(None, t(9), 100).expect("due").is_empty());

    let mids = |v: Vec<crate::OutboxMessage>| -> Vec<String> {
        v.into_iter().map(|m| m.id.into_string()).collect()
    };
    assert_eq!(
        mids(tx.due_outbox(None, t(50), 100).expect("due")),
        ["msg_a", "msg_b", "msg_z", "msg_c"]
    );
    assert_eq!(
        mids(tx.due_outbox(None, t(4), 100).expect("due")),
        ["msg_a", "msg_b", "msg_z"]
    );
    assert_eq!(mids(tx.due_outbox(None, t(50), 1).expect("due")), ["msg_a"]);
    assert_eq!(
        mids(tx.due_outbox(Some(&o1), t(50), 100).expect("due")),
        ["msg_a", "msg_b", "msg_c"]
    );
    assert!(tx.due_outbox(None, t(2), 100).expect("due").is_empty());
    let queued: BTreeSet<String> = tx
        .queued_messages_for(&o1, &iid("inv_a"))
        .expect("queued")
        .into_iter()
        .map(|m| m.id.into_string())
        .collect();
    let want: BTreeSet<String> = ["msg_a", "msg_b", "msg_c", "msg_late"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(queued, want, "queued messages of inv_a in org 1");
    assert_eq!(
        mids(tx.queued_messages_for(&o2, &iid("inv_a")).expect("queued")),
        ["msg_z"]
    );
    assert!(
        tx.queued_messages_for(&o1, &iid("inv_b"))
            .expect("queued")
            .is_empty()
    );
}

/// Events are numbered from 1 per organization; the seq given is ignored;
/// pages start after a seq.
pub fn events_numbered_per_organization(make: MakeStore<'_>) {
    let store = make();
    let (o1, o2) = (org_id(1), org_id(2));
    let mut tx = begin(&*store);
    let mut seqs = Vec::new();
    for n in 0..8u32 {
        let org = if n % 3 == 2 { &o2 } else { &o1 };
        seqs.push(tx.append_event(event(org, n)).expect("append"));
    }
    assert_eq!(seqs, [1, 2, 1, 3, 4, 2, 5, 6]);
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    let all = tx.events(&o1, 0, 100).expect("events");
    let want: Vec<crate::Event> = [0u32, 1, 3, 4, 6, 7]
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut e = event(&o1, *n);
            e.seq = i as u64 + 1;
            e
        })
        .collect();
    assert_eq!(all, want);
    assert_eq!(tx.events(&o1, 2, 2).expect("page"), want[2..4].to_vec());
    assert_eq!(tx.events(&o1, 5, 10).expect("page"), want[5..].to_vec());
    assert!(tx.events(&o1, 6, 10).expect("page").is_empty());
    assert!(tx.events(&o1, 1000, 10).expect("page").is_empty());
    assert_eq!(tx.events(&o2, 0, 100).expect("events").len(), 2);
    assert!(tx.events(&org_id(3), 0, 100).expect("events").is_empty());
}

/// Group member counts, active members per role and seats are exact
/// after every kind of change.
pub fn derived_counts_stay_exact(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("org");
    for g in ["grp_1", "grp_2", "grp_empty"] {
        tx.put_group(&group(&org, g)).expect("group");
    }
    let mut ms = Vec::new();
    for i in 0..6 {
        let mut m = member(&org, &format!("mem_{i}"), &format!("m{i}@x"));
        m.groups = vec![GroupGrant::member(gid("grp_1"))];
        if i >= 3 {
            m.groups.push(GroupGrant {
                group_id: gid("grp_2"),
                role: GroupRole::Owner,
            });
            m.license_type = "pro".into();
            m.role = "admin".into();
        }
        tx.put_member(&m).expect("member");
        ms.push(m);
    }
    for (i, st) in [
        InvitationStatus::Staged,
        InvitationStatus::Pending,
        InvitationStatus::Accepted,
        InvitationStatus::Declined,
        InvitationStatus::Revoked,
        InvitationStatus::Expired,
    ]
    .into_iter()
    .enumerate()
    {
        let mut inv = pending(
            &org,
            &format!("inv_{i}"),
            &format!("i{i}@x"),
            i as u8 + 1,
            5,
        );
        inv.status = st;
        inv.license_type = if i % 2 == 0 { "pro" } else { "standard" }.into();
        tx.put_invitation(&inv).expect("invitation");
    }
    tx.commit().expect("commit");

    let check = |want_groups: [u64; 3], admins: u64, pro: SeatCount, standard: SeatCount| {
        let mut tx = begin(&*store);
        let counts: Vec<u64> = ["grp_1", "grp_2", "grp_empty"]
            .iter()
            .map(|g| {
                tx.group(&org, &gid(g))
                    .expect("group")
                    .expect("exists")
                    .member_count
            })
            .collect();
        assert_eq!(counts, want_groups, "group member counts");
        let mut listed: Vec<(String, u64)> = tx
            .groups(&org)
            .expect("groups")
            .into_iter()
            .map(|g| (g.id.into_string(), g.member_count))
            .collect();
        listed.sort();
        assert_eq!(
            listed.iter().map(|x| x.1).collect::<Vec<_>>(),
            want_groups,
            "groups() counts"
        );
        assert_eq!(
            tx.count_active_with_role(&org, "admin").expect("count"),
            admins
        );
        assert_eq!(tx.seat_count(&org, "pro").expect("seats"), pro);
        assert_eq!(tx.seat_count(&org, "standard").expect("seats"), standard);
        assert_eq!(
            tx.seat_count(&org, "none").expect("seats"),
            SeatCount::default()
        );
        let mut all = tx.seat_counts(&org).expect("seat_counts");
        all.sort_by(|a, b| a.0.cmp(&b.0));
        let mut want = Vec::new();
        for (lt, c) in [("pro", pro), ("standard", standard)] {
            if c != SeatCount::default() {
                want.push((lt.to_owned(), c));
            }
        }
        assert_eq!(all, want, "seat_counts lists the types in use");
    };
    let sc = |members, open_invitations| SeatCount {
        members,
        open_invitations,
    };
    // Open: staged (pro) and pending (standard, past expiry but stored
    // pending: still open).
    check([6, 3, 0], 3, sc(3, 1), sc(3, 1));

    let mut tx = begin(&*store);
    ms[3].status = MemberStatus::Inactive;
    tx.put_member(&ms[3]).expect("deactivate");
    ms[4].status = MemberStatus::Removed;
    ms[4].groups.clear();
    tx.put_member(&ms[4]).expect("remove");
    ms[0].groups = vec![GroupGrant::member(gid("grp_2"))];
    ms[0].license_type = "pro".into();
    tx.put_member(&ms[0]).expect("move");
    let mut inv1 = pending(&org, "inv_1", "i1@x", 2, 5);
    inv1.status = InvitationStatus::Expired;
    tx.put_invitation(&inv1).expect("expire");
    tx.commit().expect("commit");
    check([4, 3, 0], 1, sc(2, 1), sc(2, 0));

    let mut tx = begin(&*store);
    for m in &mut ms {
        m.status = MemberStatus::Removed;
        m.groups.clear();
        tx.put_member(m).expect("remove all");
    }
    let mut inv0 = pending(&org, "inv_0", "i0@x", 1, 5);
    inv0.status = InvitationStatus::Revoked;
    inv0.license_type = "pro".into();
    tx.put_invitation(&inv0).expect("revoke");
    tx.commit().expect("commit");
    check([0, 0, 0], 0, sc(0, 0), sc(0, 0));
}

/// Reads about an organization the store has never seen are empty, not
/// errors.
pub fn unknown_organization_reads_are_empty(make: MakeStore<'_>) {
    let store = make();
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org_id(1))).expect("org");
    tx.commit().expect("commit");
    let org = org_id(9);
    let mut tx = begin(&*store);
    assert_eq!(tx.organization(&org).expect("read"), None);
    assert_eq!(tx.group(&org, &gid("grp_a")).expect("read"), None);
    assert!(tx.groups(&org).expect("read").is_empty());
    assert_eq!(tx.member(&org, &mid("mem_a")).expect("read"), None);
    assert_eq!(tx.member_by_contact(&org, "a@x").expect("read"), None);
    assert_eq!(tx.member_by_user_ref(&org, "u").expect("read"), None);
    let page = tx
        .list_members(&org, &MemberQuery::default())
        .expect("read");
    assert!(page.items.is_empty() && page.next_cursor.is_none());
    assert_eq!(tx.count_active_with_role(&org, "owner").expect("read"), 0);
    assert_eq!(
        tx.seat_count(&org, "standard").expect("read"),
        SeatCount::default()
    );
    assert!(tx.seat_counts(&org).expect("read").is_empty());
    assert_eq!(tx.invitation(&org, &iid("inv_a")).expect("read"), None);
    assert_eq!(tx.invitation_by_secret(&org, &hash(1)).expect("read"), None);
    assert_eq!(tx.open_invitation_for(&org, "a@x").expect("read"), None);
    let page = tx
        .list_invitations(&org, &InvitationQuery::default(), t(0))
        .expect("read");
    assert!(page.items.is_empty() && page.next_cursor.is_none());
    assert!(
        tx.due_invitations(Some(&org), t(1_000_000), 10)
            .expect("read")
            .is_empty()
    );
    assert!(
        tx.due_invitations(None, t(1_000_000), 10)
            .expect("read")
            .is_empty()
    );
    assert_eq!(tx.invite_link(&org).expect("read"), None);
    assert!(tx.events(&org, 0, 10).expect("read").is_empty());
    assert_eq!(tx.outbox_message(&msgid("msg_a")).expect("read"), None);
    assert!(
        tx.due_outbox(Some(&org), t(1_000_000), 10)
            .expect("read")
            .is_empty()
    );
    assert!(
        tx.due_outbox(None, t(1_000_000), 10)
            .expect("read")
            .is_empty()
    );
    assert!(
        tx.queued_messages_for(&org, &iid("inv_a"))
            .expect("read")
            .is_empty()
    );
}

/// Text with quotes, semicolons, SQL, backslashes, LIKE wildcards, Unicode
/// of every kind (no NUL) and long strings is stored and read back exactly,
/// and found by exact look-ups.
pub fn hostile_strings_round_trip(make: MakeStore<'_>) {
    let store = make();
    let hostile: Vec<String> = [
        "'",
        "\"",
        ";",
        "'; DROP TABLE members; --",
        "Robert'); DROP TABLE students;--",
        "\\",
        "\\'",
        "%",
        "_",
        "a%b_c",
        "$1 $$ ? :name @p {}",
        "😀 👩‍👩‍👧 emoji",
        "עברית العربية",
        "中文 日本語 한국어",
        "e\u{301} vs é",
        "tab\there",
        "line\nbreak\r\nx",
        "ｆｕｌｌｗｉｄｔｈ",
        "\u{FEFF}bom",
        "\u{1}\u{7f}\u{9b} controls",
        "   spaces   ",
        "",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([
        "x".repeat(10_000),
        "é".repeat(5_000),
        format!("{}'", "ü".repeat(300)),
    ])
    .collect();
    let h = |i: usize| hostile[i % hostile.len()].clone();
    let orgs = [
        OrgId::from("org_x'; DROP TABLE organizations; --"),
        OrgId::from("org_ünï\"cödé"),
    ];
    for (oi, org) in orgs.iter().enumerate() {
        let mut tx = begin(&*store);
        let mut o = organization(org);
        o.name = h(3 + oi);
        o.custom_roles.push(Role {
            name: h(11),
            permissions: [Permission::ViewMembers].into_iter().collect(),
            built_in: false,
            custom_permissions: Default::default(),
        });
        o.policy.eula_version = Some(h(4));
        o.policy.allowed_domains = vec![h(12), h(13)];
        o.policy.accept_url_base = Some(format!("https://x.test/{}", h(7)));
        o.policy.seat_limits.insert(h(1), 3);
        tx.put_organization(&o).expect("org");
        let mut groups = Vec::new();
        for i in 0..hostile.len() {
            let mut g = group(org, &format!("grp_{oi}_{i}"));
            g.name = h(i);
            g.description = h(i + 1);
            tx.put_group(&g).expect("group");
            g.member_count = 1; // each has one (active) member below
            groups.push(g);
        }
        let mut members = Vec::new();
        let mut invitations = Vec::new();
        let mut messages = Vec::new();
        for i in 0..hostile.len() {
            let mut m = member(org, &format!("mem_{oi}_{i}"), &format!("{}#{i}", h(i)));
            m.contact = Contact::Identifier(h(i + 2).into());
            m.user_ref = Some(format!("{}|{i}", h(i + 3)));
            m.first_name = Some(h(i + 4));
            m.last_name = Some(h(i + 5));
            m.phone = Some(h(i + 6));
            m.role = h(i + 7).into();
            m.license_type = h(i + 8).into();
            m.eula_version = Some(h(i + 9));
            m.kind = if i % 2 == 0 {
                MemberKind::Guest
            } else {
                MemberKind::Member
            };
            m.groups = vec![GroupGrant::member(gid(&format!("grp_{oi}_{i}")))];
            tx.put_member(&m).expect("member");
            members.push(m);
            let mut inv = pending(
                org,
                &format!("inv_{oi}_{i}"),
                &format!("{}#{i}", h(i + 1)),
                (oi * 100 + i) as u8,
                100,
            );
            inv.recipient = Contact::Email(h(i + 2).into());
            inv.display_name = Some(h(i + 3));
            inv.first_name = Some(h(i + 4));
            inv.last_name = Some(h(i + 5));
            inv.role = h(i + 6).into();
            inv.license_type = h(i + 7).into();
            inv.message = Some(h(i + 8));
            inv.batch_id = BatchId::from(format!("bat_{}", h(i + 9)));
            inv.inviter = Some(mid(&format!("mem_{oi}_{i}")));
            tx.put_invitation(&inv).expect("invitation");
            invitations.push(inv);
            let mut msg = message(org, &format!("msg_{oi}_{i}"), &format!("inv_{oi}_{i}"), 3);
            msg.email.to = h(i).into();
            msg.email.to_name = Some(h(i + 1));
            msg.email.subject = h(i + 2);
            msg.email.text_body = h(i + 3);
            msg.email.accept_url = h(i + 4);
            msg.email.org_name = h(i + 5).into();
            msg.email.inviter_name = Some(h(i + 6).into());
            msg.email.personal_message = Some(h(i + 7));
            msg.last_error = Some(h(i + 8));
            tx.put_outbox_message(msg.clone()).expect("message");
            messages.push(msg);
            let kinds = [
                EventKind::OrganizationRenamed {
                    from: h(i),
                    to: h(i + 1),
                },
                EventKind::MemberUpdated {
                    member: mid(&format!("mem_{i}")),
                    fields: vec![h(i + 2), h(i + 3)],
                },
                EventKind::EmailFailed {
                    message: msgid(&format!("msg_{i}")),
                    invitation: iid(&format!("inv_{i}")),
                    to: h(i + 4).into(),
                    error: h(i + 5),
                    attempts: 3,
                    gave_up: true,
                },
            ];
            let mut e = event(org, i as u32);
            e.actor = Actor::Account(h(i + 6));
            e.kind = kinds[i % kinds.len()].clone();
            tx.append_event(e.clone()).expect("event");
        }
        let mut l = link(org, 200);
        l.role = h(3);
        l.license_type = h(4);
        tx.put_invite_link(&l).expect("link");
        tx.commit().expect("commit");

        let mut tx = begin(&*store);
        assert_eq!(tx.organization(org).expect("org"), Some(o.clone()));
        let mut got = tx.groups(org).expect("groups");
        got.sort_by(|a, b| a.id.cmp(&b.id));
        let mut want = groups.clone();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(got, want, "groups");
        for m in &members {
            assert_eq!(tx.member(org, &m.id).expect("member").as_ref(), Some(m));
            assert_eq!(
                tx.member_by_contact(org, &m.contact_key)
                    .expect("by contact")
                    .as_ref(),
                Some(m),
                "member by contact key {:?}",
                m.contact_key
            );
            let u = m.user_ref.as_deref().expect("user_ref");
            assert_eq!(
                tx.member_by_user_ref(org, u).expect("by user_ref").as_ref(),
                Some(m)
            );
            let with_role = all_members(
                tx.as_mut(),
                org,
                MemberQuery {
                    role: Some(m.role.to_string()),
                    limit: 1000,
                    ..MemberQuery::default()
                },
            );
            let want: Vec<_> = members
                .iter()
                .filter(|x| x.role == m.role)
                .cloned()
                .collect();
            let mut want = want;
            want.sort_by(|a, b| (&a.contact_key, &a.id).cmp(&(&b.contact_key, &b.id)));
            assert_eq!(with_role, want, "members with role {:?}", m.role);
            let want_active = members.iter().filter(|x| x.role == m.role).count() as u64;
            assert_eq!(
                tx.count_active_with_role(org, &m.role).expect("count"),
                want_active
            );
        }
        let everyone = all_members(
            tx.as_mut(),
            org,
            MemberQuery {
                limit: 7,
                ..MemberQuery::default()
            },
        );
        let mut want = members.clone();
        want.sort_by(|a, b| (&a.contact_key, &a.id).cmp(&(&b.contact_key, &b.id)));
        assert_eq!(everyone, want, "every member, in byte order, in pages of 7");
        for needle in ["'", "%", "_", "\\", "drop table", "ü'", "😀"] {
            let found = all_members(
                tx.as_mut(),
                org,
                MemberQuery {
                    search: Some(needle.to_owned()),
                    limit: 1000,
                    ..MemberQuery::default()
                },
            );
            let want: Vec<_> = want
                .iter()
                .filter(|m| m.contact_key.contains(&needle.to_lowercase()))
                .cloned()
                .collect();
            assert_eq!(found, want, "search {needle:?}");
        }
        for inv in &invitations {
            assert_eq!(
                tx.invitation(org, &inv.id).expect("invitation").as_ref(),
                Some(inv)
            );
            assert_eq!(
                tx.open_invitation_for(org, &inv.recipient_key)
                    .expect("open for")
                    .as_ref(),
                Some(inv)
            );
            let in_batch = all_invitations(
                tx.as_mut(),
                org,
                InvitationQuery {
                    batch: Some(inv.batch_id.clone()),
                    limit: 1000,
                    ..InvitationQuery::default()
                },
                t(0),
            );
            assert!(in_batch.contains(inv), "batch {:?}", inv.batch_id);
            assert!(in_batch.iter().all(|i| i.batch_id == inv.batch_id));
        }
        for lt in hostile.iter() {
            let members_with = members.iter().filter(|m| &m.license_type == lt).count() as u64;
            let open_with = invitations.iter().filter(|i| &i.license_type == lt).count() as u64;
            assert_eq!(
                tx.seat_count(org, lt).expect("seats"),
                SeatCount {
                    members: members_with,
                    open_invitations: open_with
                },
                "seats of license {lt:?}"
            );
        }
        for msg in &messages {
            assert_eq!(
                tx.outbox_message(&msg.id).expect("message").as_ref(),
                Some(msg)
            );
        }
        let events = tx.events(org, 0, 1000).expect("events");
        assert_eq!(events.len(), hostile.len());
        assert!(matches!(&events[0].actor, Actor::Account(a) if *a == h(6)));
        assert!(
            matches!(&events[0].kind, EventKind::OrganizationRenamed { from, to } if *from == h(0) && *to == h(1))
        );
        assert_eq!(tx.invite_link(org).expect("link"), Some(l.clone()));
    }
}

/// Times are kept to the nanosecond, from 1970 to 2200, and compare by
/// their exact value in due lists and list orders.
pub fn timestamps_round_trip_to_the_nanosecond(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let base = t(1000);
    let ns = |n: i64| base + Duration::nanoseconds(n);
    let epoch = DateTime::<Utc>::from_timestamp(0, 0).expect("epoch");
    let far = DateTime::<Utc>::from_timestamp(7_258_118_400, 999_999_999).expect("2200"); // 2200-01-01
    let mut tx = begin(&*store);
    let mut o = organization(&org);
    o.created_at = ns(123_456_789);
    tx.put_organization(&o).expect("org");
    let mut m = member(&org, "mem_1", "a@x");
    m.joined_at = ns(1);
    m.last_active_at = Some(epoch);
    m.removed_at = None;
    tx.put_member(&m).expect("member");
    let mut m2 = member(&org, "mem_2", "b@x");
    m2.joined_at = far;
    m2.status = MemberStatus::Removed;
    m2.removed_at = Some(ns(999_999_999));
    tx.put_member(&m2).expect("member");
    // Created one nanosecond apart, ids in the opposite order: only the
    // exact times give the right order.
    let mut i1 = pending(&org, "inv_b", "i1@x", 1, 0);
    i1.created_at = ns(1);
    i1.expires_at = Some(ns(2_001));
    i1.last_sent_at = Some(ns(7));
    let mut i2 = pending(&org, "inv_a", "i2@x", 2, 0);
    i2.created_at = ns(2);
    i2.expires_at = Some(ns(2_000));
    i2.closed_at = Some(far);
    tx.put_invitation(&i1).expect("inv");
    tx.put_invitation(&i2).expect("inv");
    let mut msg1 = message(&org, "msg_b", "inv_b", 0);
    msg1.next_attempt_at = ns(5);
    msg1.created_at = ns(3);
    msg1.email.expires_at = ns(4);
    let mut msg2 = message(&org, "msg_a", "inv_b", 0);
    msg2.next_attempt_at = ns(6);
    msg2.sent_at = Some(ns(8));
    tx.put_outbox_message(msg1.clone()).expect("msg");
    tx.put_outbox_message(msg2.clone()).expect("msg");
    let mut e = event(&org, 1);
    e.at = ns(42);
    tx.append_event(e.clone()).expect("event");
    tx.commit().expect("commit");

    let mut tx = begin(&*store);
    assert_eq!(tx.organization(&org).expect("org"), Some(o));
    assert_eq!(tx.member(&org, &m.id).expect("m"), Some(m));
    assert_eq!(tx.member(&org, &m2.id).expect("m2"), Some(m2));
    assert_eq!(tx.invitation(&org, &i1.id).expect("i1"), Some(i1.clone()));
    assert_eq!(tx.invitation(&org, &i2.id).expect("i2"), Some(i2.clone()));
    assert_eq!(
        tx.outbox_message(&msg1.id).expect("msg1"),
        Some(msg1.clone())
    );
    assert_eq!(
        tx.outbox_message(&msg2.id).expect("msg2"),
        Some(msg2.clone())
    );
    assert_eq!(tx.events(&org, 0, 10).expect("events")[0].at, ns(42));
    let listed = tx
        .list_invitations(&org, &InvitationQuery::default(), t(0))
        .expect("list");
    let order: Vec<&str> = listed.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(order, ["inv_a", "inv_b"], "newest first, by the exact time");
    let due = tx.due_invitations(None, ns(2_000), 10).expect("due");
    assert_eq!(
        due,
        vec![i2.clone()],
        "due at its exact expiry, not 1ns later's"
    );
    let due = tx.due_invitations(None, ns(1_999), 10).expect("due");
    assert!(due.is_empty(), "nothing due one nanosecond early");
    let due = tx.due_invitations(None, ns(3_000), 10).expect("due");
    let order: Vec<&str> = due.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(order, ["inv_a", "inv_b"], "oldest expiry first");
    assert!(tx.due_outbox(None, ns(4), 10).expect("due").is_empty());
    assert_eq!(
        tx.due_outbox(None, ns(5), 10).expect("due"),
        vec![msg1.clone()]
    );
    let due = tx.due_outbox(None, ns(6), 10).expect("due");
    let order: Vec<&str> = due.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(order, ["msg_b", "msg_a"], "earliest next attempt first");
}

/// One person (the same contact key, account and recipient key) may be in
/// several organizations: uniqueness is per organization.
pub fn uniqueness_is_per_organization(make: MakeStore<'_>) {
    let store = make();
    let (o1, o2) = (org_id(1), org_id(2));
    let mut tx = begin(&*store);
    for org in [&o1, &o2] {
        tx.put_organization(&organization(org)).expect("org");
        let mut m = member(org, &format!("mem_{org}"), "same@x");
        m.user_ref = Some("acct-same".into());
        tx.put_member(&m)
            .expect("the same person in each organization");
        tx.put_invitation(&invitation(org, &format!("inv_{org}"), "invited@x"))
            .expect("the same recipient in each organization");
        tx.put_group(&group(org, "grp_same"))
            .expect("the same group id");
    }
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    for org in [&o1, &o2] {
        let m = tx
            .member_by_contact(org, "same@x")
            .expect("read")
            .expect("found");
        assert_eq!(&m.org_id, org);
        assert_eq!(m.id.as_str(), format!("mem_{org}"));
        let m = tx
            .member_by_user_ref(org, "acct-same")
            .expect("read")
            .expect("found");
        assert_eq!(&m.org_id, org);
        let i = tx
            .open_invitation_for(org, "invited@x")
            .expect("read")
            .expect("found");
        assert_eq!(&i.org_id, org);
        assert_eq!(
            tx.list_members(org, &MemberQuery::default())
                .expect("list")
                .items
                .len(),
            1
        );
        assert_eq!(tx.groups(org).expect("groups").len(), 1);
    }
    // Another organization's member is not this one's.
    assert_eq!(
        tx.member(&o1, &mid(&format!("mem_{o2}"))).expect("read"),
        None
    );
}

/// Email settings and templates: one settings record per organization,
/// one template per `(organization, locale)`, replaced by a put, listed in
/// byte order of the locale tag, deleted (saying whether one was there),
/// rolled back with the transaction, and never seen from another
/// organization. Text round-trips exactly (markup, quotes, non-ASCII,
/// newlines).
pub fn email_templates_are_kept_per_organization_and_locale(make: MakeStore<'_>) {
    let store = make();
    let (a, b) = (org_id(1), org_id(2));
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&a)).expect("org a");
    tx.put_organization(&organization(&b)).expect("org b");
    assert_eq!(tx.email_settings(&a).expect("settings"), None);
    assert_eq!(tx.email_templates(&a).expect("templates"), vec![]);
    assert_eq!(tx.email_template(&a, "fr").expect("template"), None);
    assert!(!tx.delete_email_template(&a, "fr").expect("delete nothing"));
    // Sorted by bytes: "en" < "fr" < "fr-CA" < "zh-Hant" (uppercase sorts
    // before lowercase: "zh-Hant" > "zh-HK" is false in bytes).
    for (i, l) in ["zh-Hant", "fr-CA", "en", "fr", "zh-HK"].iter().enumerate() {
        tx.put_email_template(&email_template(&a, l, i as i64))
            .expect("put");
    }
    let mut hostile = email_template(&b, "fr", 9);
    hostile.subject = "Invitation « {{ organization }} » — 日本 'quote' \"dq\" \\ ;--".into();
    hostile.text_body = "Ligne 1\r\nLigne 2\n\t{{ accept_url }}\u{1F600}".into();
    hostile.html_body = Some("<script>alert('x')</script>{{ accept_url }}&amp;".into());
    tx.put_email_template(&hostile).expect("put hostile");
    tx.put_email_settings(&email_settings(&b, "fr-CA", Some("Ligne\n« 2 »")))
        .expect("settings b");
    tx.commit().expect("commit");

    let mut tx = begin(&*store);
    let locales: Vec<String> = tx
        .email_templates(&a)
        .expect("list")
        .into_iter()
        .map(|t| t.locale)
        .collect();
    assert_eq!(locales, ["en", "fr", "fr-CA", "zh-HK", "zh-Hant"]);
    assert_eq!(
        tx.email_template(&a, "fr-CA").expect("get"),
        Some(email_template(&a, "fr-CA", 1))
    );
    assert_eq!(tx.email_template(&a, "fr-ca").expect("exact tag"), None);
    assert_eq!(
        tx.email_template(&b, "fr").expect("get"),
        Some(hostile.clone())
    );
    assert_eq!(
        tx.email_templates(&b).expect("list b"),
        vec![hostile.clone()]
    );
    assert_eq!(tx.email_settings(&a).expect("settings a"), None);
    assert_eq!(
        tx.email_settings(&b).expect("settings b"),
        Some(email_settings(&b, "fr-CA", Some("Ligne\n« 2 »")))
    );
    // Replace, delete, and roll back.
    tx.put_email_template(&email_template(&a, "fr", 7))
        .expect("replace");
    assert!(tx.delete_email_template(&a, "en").expect("delete"));
    tx.put_email_settings(&email_settings(&a, "de", None))
        .expect("settings");
    assert_eq!(
        tx.email_template(&a, "fr").expect("own write"),
        Some(email_template(&a, "fr", 7))
    );
    assert_eq!(tx.email_template(&a, "en").expect("own delete"), None);
    drop(tx);
    let mut tx = begin(&*store);
    assert_eq!(
        tx.email_template(&a, "fr").expect("rolled back"),
        Some(email_template(&a, "fr", 3))
    );
    assert!(tx.email_template(&a, "en").expect("rolled back").is_some());
    assert_eq!(tx.email_settings(&a).expect("rolled back"), None);
    // Committed this time.
    tx.put_email_template(&email_template(&a, "fr", 7))
        .expect("replace");
    assert!(tx.delete_email_template(&a, "en").expect("delete"));
    assert!(!tx.delete_email_template(&a, "en").expect("delete again"));
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    assert_eq!(tx.email_templates(&a).expect("list").len(), 4);
    assert_eq!(
        tx.email_template(&a, "fr").expect("replaced"),
        Some(email_template(&a, "fr", 7))
    );
    assert_eq!(tx.email_templates(&b).expect("b untouched"), vec![hostile]);
}

/// The worker's reads: the earliest next attempt of a queued message (due
/// or not, per organization or across them; failed, sent and superseded
/// ones do not count, a write of the same transaction does), and the dead
/// letters: one organization's failed messages, newest first (ties by id,
/// descending), paged with cursors that survive a retry in between; a bad
/// cursor is an error.
pub fn outbox_next_due_and_dead_letters(make: MakeStore<'_>) {
    let store = make();
    let (o1, o2) = (org_id(1), org_id(2));
    let mut tx = begin(&*store);
    assert_eq!(tx.next_outbox_due(None).expect("next"), None);
    assert_eq!(tx.next_outbox_due(Some(&o1)).expect("next"), None);
    let with = |org: &OrgId, id: &str, status: OutboxStatus, next: i64, created: i64| {
        let mut m = message(org, id, "inv_1", next);
        m.status = status;
        m.created_at = t(created);
        if status == OutboxStatus::Failed {
            m.attempts = 8;
            m.last_error = Some("550 no such user".to_owned());
            m.redact();
        }
        m
    };
    for m in [
        with(&o1, "msg_q1", OutboxStatus::Queued, 50, 1),
        with(&o1, "msg_q2", OutboxStatus::Queued, 40, 2),
        with(&o2, "msg_q3", OutboxStatus::Queued, 30, 3),
        with(&o1, "msg_sent", OutboxStatus::Sent, 1, 4),
        with(&o1, "msg_sup", OutboxStatus::Superseded, 2, 5),
        with(&o1, "msg_f1", OutboxStatus::Failed, 3, 10),
        with(&o1, "msg_f3", OutboxStatus::Failed, 3, 20),
        with(&o1, "msg_f2", OutboxStatus::Failed, 3, 20),
        with(&o1, "msg_f0", OutboxStatus::Failed, 3, 5),
        with(&o2, "msg_f9", OutboxStatus::Failed, 3, 30),
    ] {
        tx.put_outbox_message(m.clone()).expect("put");
    }
    // Seen inside the writing transaction, and after commit.
    assert_eq!(tx.next_outbox_due(None).expect("next"), Some(t(30)));
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    assert_eq!(tx.next_outbox_due(None).expect("next"), Some(t(30)));
    assert_eq!(tx.next_outbox_due(Some(&o1)).expect("next"), Some(t(40)));
    assert_eq!(tx.next_outbox_due(Some(&o2)).expect("next"), Some(t(30)));
    assert_eq!(
        tx.next_outbox_due(Some(&org_id(9))).expect("next"),
        None,
        "an unknown organization has nothing queued"
    );

    let ids = |p: &crate::Page<crate::OutboxMessage>| -> Vec<String> {
        p.items.iter().map(|m| m.id.as_str().to_owned()).collect()
    };
    let all = tx.failed_outbox(&o1, None, 100).expect("all");
    assert_eq!(ids(&all), ["msg_f3", "msg_f2", "msg_f1", "msg_f0"]);
    assert_eq!(all.next_cursor, None);
    assert_eq!(all.items[0].last_error.as_deref(), Some("550 no such user"));
    assert_eq!(all.items[0].attempts, 8);
    let p1 = tx.failed_outbox(&o1, None, 2).expect("page 1");
    assert_eq!(ids(&p1), ["msg_f3", "msg_f2"]);
    let c1 = p1.next_cursor.clone().expect("more");
    // A message retried (superseded) between pages: the cursor holds.
    let mut f2 = all.items[1].clone();
    f2.status = OutboxStatus::Superseded;
    tx.put_outbox_message(f2.clone()).expect("retry");
    let p2 = tx.failed_outbox(&o1, Some(&c1), 2).expect("page 2");
    assert_eq!(ids(&p2), ["msg_f1", "msg_f0"]);
    if let Some(c2) = &p2.next_cursor {
        // A store may hand out a cursor on a full last page: it leads to
        // an empty one.
        assert!(
            tx.failed_outbox(&o1, Some(c2), 2)
                .expect("end")
                .items
                .is_empty()
        );
    }
    assert_eq!(
        ids(&tx.failed_outbox(&o1, None, 100).expect("all")),
        ["msg_f3", "msg_f1", "msg_f0"]
    );
    assert_eq!(
        ids(&tx.failed_outbox(&o2, None, 100).expect("other org")),
        ["msg_f9"]
    );
    assert!(
        tx.failed_outbox(&org_id(9), None, 100)
            .expect("unknown org")
            .items
            .is_empty()
    );
    assert!(matches!(
        tx.failed_outbox(&o1, Some("i.1.0.00"), 10),
        Err(StoreError::InvalidCursor { .. })
    ));
    assert!(matches!(
        tx.failed_outbox(&o1, Some("o.x"), 10),
        Err(StoreError::InvalidCursor { .. })
    ));
}

/// A batch report with `n` rows, hostile text included, at `secs`.
/// A report of batch `batch` made at `t(secs)` (and some nanoseconds),
/// with `n` issued rows and one rejected.
pub(super) fn batch_report(org: &OrgId, batch: &str, secs: i64, n: u64) -> crate::BatchReport {
    use crate::{ReportKind, ReportRow, RowOutcome};
    let mut r = crate::BatchReport::new(
        BatchId::from(batch.to_owned()),
        org.clone(),
        ReportKind::Import,
        t(secs) + Duration::nanoseconds(123_456_789),
        Actor::Member(mid("mem_1")),
    );
    for i in 0..n {
        r.push(
            ReportRow::new(i + 2, format!("p{i}@acme.test"), RowOutcome::Issued)
                .target(format!("inv_{i}"))
                .names(Some("Zoë « 日本 »".into()), Some("O'Brien; \"x\"".into()))
                .grants(
                    Some("member".into()),
                    vec!["Sales:owner".into(), "R&D".into()],
                ),
        );
    }
    r.push(
        ReportRow::new(n + 2, "=cmd|' /C calc'!A0\r\n", RowOutcome::Rejected)
            .error("invalid_address", "invalid address: \u{1F600} \\ ;--"),
    );
    r
}

/// Batch reports: kept per organization and batch id, replaced whole,
/// read back exactly (times to the nanosecond), pruned oldest first by
/// time, and gone with a rolled-back transaction.
pub fn batch_reports_are_kept_per_organization_and_batch(make: MakeStore<'_>) {
    let store = make();
    let (a, b) = (org_id(1), org_id(2));
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&a)).expect("org a");
    tx.put_organization(&organization(&b)).expect("org b");
    let bat = BatchId::from("bat_1");
    assert_eq!(tx.batch_report(&a, &bat).expect("none yet"), None);
    assert_eq!(
        tx.delete_batch_reports_before(&a, t(1_000_000), 10)
            .expect("delete nothing"),
        0
    );
    let r1 = batch_report(&a, "bat_1", 100, 3);
    tx.put_batch_report(r1.clone()).expect("put");
    assert_eq!(
        tx.batch_report(&a, &bat).expect("own write"),
        Some(r1.clone())
    );
    tx.put_batch_report(batch_report(&a, "bat_2", 50, 1))
        .expect("put");
    tx.put_batch_report(batch_report(&a, "bat_3", 200, 0))
        .expect("put");
    tx.put_batch_report(batch_report(&b, "bat_1", 10, 2))
        .expect("same id, other org");
    tx.commit().expect("commit");

    let mut tx = begin(&*store);
    assert_eq!(tx.batch_report(&a, &bat).expect("get"), Some(r1.clone()));
    assert_eq!(
        tx.batch_report(&b, &bat).expect("get b"),
        Some(batch_report(&b, "bat_1", 10, 2))
    );
    assert_eq!(
        tx.batch_report(&org_id(3), &bat).expect("unknown org"),
        None
    );
    // Replaced whole (an import's later batch adds rows).
    let bigger = batch_report(&a, "bat_1", 100, 5);
    tx.put_batch_report(bigger.clone()).expect("replace");
    assert_eq!(
        tx.batch_report(&a, &bat).expect("get"),
        Some(bigger.clone())
    );
    drop(tx);
    // Rolled back: the old one stays.
    let mut tx = begin(&*store);
    assert_eq!(tx.batch_report(&a, &bat).expect("get"), Some(r1.clone()));
    // Pruning: strictly before, oldest first, at most `limit`, one org.
    assert_eq!(
        tx.delete_batch_reports_before(&a, t(200), 1)
            .expect("prune one"),
        1
    );
    assert_eq!(
        tx.batch_report(&a, &BatchId::from("bat_2")).expect("get"),
        None,
        "the oldest goes first"
    );
    assert!(tx.batch_report(&a, &bat).expect("get").is_some());
    assert_eq!(
        tx.delete_batch_reports_before(&a, t(200), 10)
            .expect("prune"),
        1
    );
    assert!(tx.batch_report(&a, &bat).expect("get").is_none());
    assert!(
        tx.batch_report(&a, &BatchId::from("bat_3"))
            .expect("get")
            .is_some(),
        "at the cut-off time: kept"
    );
    assert!(
        tx.batch_report(&b, &bat).expect("get b").is_some(),
        "another organization's reports are not pruned"
    );
    tx.commit().expect("commit");
}

/// Claiming the outbox (issue 15): due queued messages, earliest first,
/// come back with `next_attempt_at` moved to the claim's end and are hidden
/// from the next claim until then; messages not due, not queued, or of
/// another organization stay; a claim rolled back claims nothing; the
/// transaction's own writes are seen.
pub fn outbox_claims_hide_what_they_take(make: MakeStore<'_>) {
    let store = make();
    let (o1, o2) = (org_id(1), org_id(2));
    let mut tx = begin(&*store);
    let mut sent = message(&o1, "msg_sent", "inv_1", 1);
    sent.status = OutboxStatus::Sent;
    for m in [
        message(&o1, "msg_a", "inv_1", 10),
        message(&o2, "msg_b", "inv_2", 15),
        message(&o1, "msg_c", "inv_3", 20),
        message(&o1, "msg_later", "inv_4", 100),
        sent,
    ] {
        tx.put_outbox_message(m.clone()).expect("put");
    }
    tx.commit().expect("commit");
    let ids = |ms: &[crate::OutboxMessage]| -> Vec<String> {
        ms.iter().map(|m| m.id.as_str().to_owned()).collect()
    };

    // Rolled back: nothing is claimed.
    let mut tx = begin(&*store);
    let claimed = tx.claim_outbox(None, t(50), t(500), 10).expect("claim");
    assert_eq!(ids(&claimed), ["msg_a", "msg_b", "msg_c"]);
    drop(tx);

    let mut tx = begin(&*store);
    let claimed = tx.claim_outbox(None, t(50), t(500), 2).expect("claim");
    assert_eq!(ids(&claimed), ["msg_a", "msg_b"], "earliest first, limited");
    assert!(claimed.iter().all(|m| m.next_attempt_at == t(500)));
    assert!(claimed.iter().all(|m| m.status == OutboxStatus::Queued));
    assert_eq!(
        tx.outbox_message(&claimed[0].id)
            .expect("read")
            .map(|m| m.next_attempt_at),
        Some(t(500)),
        "the claim is seen by its own transaction"
    );
    tx.commit().expect("commit");

    let mut tx = begin(&*store);
    assert_eq!(
        ids(&tx.claim_outbox(None, t(50), t(500), 10).expect("claim")),
        ["msg_c"],
        "what was claimed is hidden until the claim ends"
    );
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    assert!(
        tx.claim_outbox(None, t(60), t(600), 10)
            .expect("claim")
            .is_empty()
    );
    // One organization's, with a message written by the same transaction.
    tx.put_outbox_message(message(&o2, "msg_new", "inv_5", 40))
        .expect("put");
    assert!(
        tx.claim_outbox(Some(&o1), t(150), t(900), 10)
            .expect("claim o1")
            .iter()
            .all(|m| m.org_id == o1)
    );
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    let due = tx.due_outbox(None, t(1000), 10).expect("due");
    let mut all = ids(&due);
    all.sort();
    assert_eq!(all, ["msg_a", "msg_b", "msg_c", "msg_later", "msg_new"]);
    let by_id = |id: &str| {
        due.iter()
            .find(|m| m.id.as_str() == id)
            .map(|m| m.next_attempt_at)
    };
    assert_eq!(by_id("msg_later"), Some(t(900)));
    assert_eq!(by_id("msg_new"), Some(t(40)));
}

/// `supersede_queued_messages` retires exactly the invitation's queued
/// messages, each as `put_outbox_message` of it superseded and redacted
/// would (the due lists, the queue and the dead letters as after such
/// writes), leaves every other message alone, is seen by the
/// transaction's own reads, and is undone by a rollback.
pub fn superseding_queued_messages_retires_them_and_rolls_back(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let other = org_id(2);
    let inv = pending(&org, "inv_1", "k1@x.test", 1, 100);
    let lone = pending(&org, "inv_2", "k2@x.test", 2, 100);
    let msg1 = message(&org, "msg_1", "inv_1", 3);
    let mut msg2 = message(&org, "msg_2", "inv_1", 4);
    msg2.email.html_body = Some(
        "<a href=\"https://x.test/accept?token=abc\">join</a> https://x.test/accept?token=abc"
            .to_owned(),
    );
    let msg3 = message(&org, "msg_3", "inv_2", 5);
    // Another organization's message for an invitation of the same id.
    let msg4 = message(&other, "msg_4", "inv_1", 6);
    let mut sent = message(&org, "msg_5", "inv_1", 7);
    sent.status = OutboxStatus::Sent;
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("org");
    tx.put_organization(&organization(&other))
        .expect("other org");
    tx.put_invitation(&inv).expect("inv_1");
    tx.put_invitation(&lone).expect("inv_2");
    tx.put_invitation(&pending(&other, "inv_1", "k1@x.test", 3, 100))
        .expect("other inv_1");
    for m in [&msg1, &msg2, &msg3, &msg4, &sent] {
        tx.put_outbox_message(m.clone()).expect("message");
    }
    tx.commit().expect("commit");
    let retired = |m: &crate::OutboxMessage| {
        let mut r = m.clone();
        r.status = OutboxStatus::Superseded;
        r.redact();
        r
    };
    let check_before = |tx: &mut Box<dyn Transaction + '_>| {
        assert_eq!(
            tx.queued_messages_for(&org, &inv.id).expect("queued"),
            vec![msg1.clone(), msg2.clone()]
        );
        assert_eq!(
            tx.outbox_message(&msg2.id).expect("read"),
            Some(msg2.clone())
        );
        assert_eq!(
            tx.due_outbox(None, t(100), 10).expect("due"),
            vec![msg1.clone(), msg2.clone(), msg3.clone(), msg4.clone()]
        );
    };

    for commit in [false, true] {
        let mut tx = begin(&*store);
        check_before(&mut tx);
        tx.supersede_queued_messages(&org, &inv.id)
            .expect("supersede");
        // An invitation with no queued message, and one of no store.
        tx.supersede_queued_messages(&org, &iid("inv_9"))
            .expect("none queued");
        tx.supersede_queued_messages(&org_id(9), &inv.id)
            .expect("no such organization");
        assert!(
            tx.queued_messages_for(&org, &inv.id)
                .expect("queued")
                .is_empty()
        );
        for m in [&msg1, &msg2] {
            let read = tx.outbox_message(&m.id).expect("read");
            assert_eq!(read, Some(retired(m)));
            let r = read.unwrap_or_else(|| m.clone());
            assert!(!r.email.text_body.contains("token=abc"), "{r:?}");
            assert!(
                !r.email.html_body.unwrap_or_default().contains("token=abc"),
                "redacted"
            );
        }
        assert_eq!(
            tx.outbox_message(&sent.id).expect("read"),
            Some(sent.clone())
        );
        assert_eq!(
            tx.due_outbox(None, t(100), 10).expect("due"),
            vec![msg3.clone(), msg4.clone()]
        );
        assert_eq!(
            tx.due_outbox(Some(&org), t(100), 10).expect("due"),
            vec![msg3.clone()]
        );
        assert_eq!(
            tx.queued_messages_for(&other, &inv.id).expect("queued"),
            vec![msg4.clone()]
        );
        assert_eq!(
            tx.queued_messages_for(&org, &lone.id).expect("queued"),
            vec![msg3.clone()]
        );
        assert!(
            tx.failed_outbox(&org, None, 10)
                .expect("failed")
                .items
                .is_empty()
        );
        // Superseding again changes nothing.
        tx.supersede_queued_messages(&org, &inv.id)
            .expect("supersede again");
        assert_eq!(
            tx.outbox_message(&msg1.id).expect("read"),
            Some(retired(&msg1))
        );
        if commit {
            tx.commit().expect("commit");
        } else {
            drop(tx);
            // Rolled back: every message and list as before.
            let mut tx = begin(&*store);
            check_before(&mut tx);
            assert_eq!(
                tx.outbox_message(&msg1.id).expect("read"),
                Some(msg1.clone())
            );
        }
    }
    let mut tx = begin(&*store);
    assert_eq!(
        tx.outbox_message(&msg2.id).expect("read"),
        Some(retired(&msg2))
    );
    assert_eq!(
        tx.due_outbox(None, t(100), 10).expect("due"),
        vec![msg3.clone(), msg4.clone()]
    );
}

/// A message put again keeps its last version, whether it was put again
/// before its invitation was written or after (as the engine writes a
/// batch: each email, then its new invitation, then a resend or a sent
/// status for some of them), inside the transaction and after commit: the
/// read by id, the invitation's queued messages and the due list all see
/// the last version only. A rolled-back message leaves nothing.
pub fn a_message_put_again_keeps_its_last_version(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let again = |id: &str, inv: &str, next: i64| {
        let mut m = message(&org, id, inv, next);
        m.attempts = 1;
        m.last_error = Some(format!("retry {id}"));
        m
    };
    let mids = |v: Vec<crate::OutboxMessage>| -> Vec<String> {
        v.into_iter().map(|m| m.id.into_string()).collect()
    };
    let mut tx = begin(&*store);
    tx.put_outbox_message(message(&org, "msg_f", "inv_f", 1))
        .expect("put");
    drop(tx);

    let mut tx = begin(&*store);
    // Put twice before its invitation.
    tx.put_outbox_message(message(&org, "msg_g", "inv_g", 1))
        .expect("put");
    tx.put_outbox_message(again("msg_g", "inv_g", 2))
        .expect("put");
    tx.put_invitation(&pending(&org, "inv_g", "g@x.test", 7, 100))
        .expect("put");
    // Put after its invitation: queued again, sent, or not at all.
    for (n, (m, inv)) in [("msg_h", "inv_h"), ("msg_i", "inv_i"), ("msg_j", "inv_j")]
        .into_iter()
        .enumerate()
    {
        tx.put_outbox_message(message(&org, m, inv, 1))
            .expect("put");
        let secret = u8::try_from(n).expect("small") + 8;
        tx.put_invitation(&pending(&org, inv, &format!("{m}@x.test"), secret, 100))
            .expect("put");
    }
    tx.put_outbox_message(again("msg_h", "inv_h", 3))
        .expect("put");
    let mut sent = again("msg_i", "inv_i", 4);
    sent.status = OutboxStatus::Sent;
    tx.put_outbox_message(sent.clone()).expect("put");

    let check = |tx: &mut dyn Transaction, when: &str| {
        let read =
            |tx: &mut dyn Transaction, id: &str| tx.outbox_message(&msgid(id)).expect("read");
        assert_eq!(read(tx, "msg_f"), None, "{when}: rolled back");
        assert_eq!(
            read(tx, "msg_g"),
            Some(again("msg_g", "inv_g", 2)),
            "{when}"
        );
        assert_eq!(
            read(tx, "msg_h"),
            Some(again("msg_h", "inv_h", 3)),
            "{when}"
        );
        assert_eq!(read(tx, "msg_i"), Some(sent.clone()), "{when}");
        assert_eq!(
            read(tx, "msg_j"),
            Some(message(&org, "msg_j", "inv_j", 1)),
            "{when}"
        );
        assert_eq!(
            tx.queued_messages_for(&org, &iid("inv_g")).expect("queued"),
            [again("msg_g", "inv_g", 2)],
            "{when}"
        );
        assert_eq!(
            tx.queued_messages_for(&org, &iid("inv_h")).expect("queued"),
            [again("msg_h", "inv_h", 3)],
            "{when}"
        );
        assert!(
            tx.queued_messages_for(&org, &iid("inv_i"))
                .expect("queued")
                .is_empty(),
            "{when}: sent is not queued"
        );
        for (at, want) in [
            (1, vec!["msg_j"]),
            (2, vec!["msg_j", "msg_g"]),
            (9, vec!["msg_j", "msg_g", "msg_h"]),
        ] {
            assert_eq!(
                mids(tx.due_outbox(Some(&org), t(at), 100).expect("due")),
                want,
                "{when}: due at {at}"
            );
            assert_eq!(
                mids(tx.due_outbox(None, t(at), 100).expect("due")),
                want,
                "{when}: due at {at}, every organization"
            );
        }
    };
    check(tx.as_mut(), "before commit");
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    check(tx.as_mut(), "after commit");
}

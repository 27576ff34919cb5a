//! What only PostgreSQL can show of the Transaction contract: persistence
//! across connections, the raw rows after a rollback or a refused write,
//! the schema's own unique indexes, hostile text against SQL, NUL bytes, a
//! connection the server closes. The contract every store shares is core's
//! conformance suite (`conformance.rs`).

use crate::common::*;
use enlist::{
    GroupGrant, InvitationId, InvitationStatus, MemberQuery, MemberStatus, OutboxStatus,
    SecretHash, StoreError, TokenKey, UniqueRule,
};
use enlist_postgres::{NulInKey, PostgresStore};

#[test]
fn data_survives_a_reconnect() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let o = organization(&org);
    let mut m = member(&org, "mem_1", "a@x.test");
    m.groups = vec![GroupGrant::owner(gid("grp_1"))];
    let inv = invitation(&org, "inv_1", "b@x.test", 10);
    let msg = message(&org, "msg_1", "inv_1", 20);
    {
        let mut tx = begin(&*f.store);
        tx.put_organization(&o).unwrap();
        tx.put_member(&m).unwrap();
        tx.put_invitation(&inv).unwrap();
        tx.put_outbox_message(msg.clone()).unwrap();
        assert_eq!(tx.append_event(event(&org, 1)).unwrap(), 1);
        assert_eq!(tx.append_event(event(&org, 2)).unwrap(), 2);
        tx.commit().unwrap();
    }
    drop(f.store.clone());
    let again = PostgresStore::connect_in_schema(&f.url, &f.schema).expect("reconnect");
    let mut tx = begin(&again);
    assert_eq!(tx.organization(&org).unwrap(), Some(o));
    assert_eq!(tx.member(&org, &m.id).unwrap(), Some(m.clone()));
    assert_eq!(tx.invitation(&org, &inv.id).unwrap(), Some(inv.clone()));
    assert_eq!(tx.outbox_message(&msg.id).unwrap(), Some(msg));
    let events = tx.events(&org, 0, 10).unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(events[1].kind, event(&org, 2).kind);
    // Numbering goes on after a reconnect.
    assert_eq!(tx.append_event(event(&org, 3)).unwrap(), 3);
    tx.commit().unwrap();
}

/// The commit's last write and `COMMIT` go to the server together: if the
/// write fails, the `COMMIT` rolls back (an aborted transaction's), the
/// commit reports the write's error, nothing of the transaction stays, and
/// the connection goes back to the pool clean (the one connection of this
/// store serves the next transaction).
#[test]
fn a_failed_last_write_commits_nothing_and_leaves_the_connection_clean() {
    let Some(f) = Fresh::new_with(|o| o.max_connections = 1) else {
        return;
    };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    tx.put_organization(&organization(&org)).unwrap();
    tx.commit().unwrap();
    // The event number the next append takes, written around the store.
    f.sql()
        .execute(
            "INSERT INTO events (org_id, seq, body) VALUES ($1, 1, '{}')",
            &[&org.as_str()],
        )
        .unwrap();
    let mut tx = begin(&*f.store);
    tx.put_member(&member(&org, "mem_1", "a@x.test")).unwrap();
    tx.append_event(event(&org, 1)).unwrap();
    let refused = tx.commit();
    // The events' primary key refuses the second event 1.
    assert!(
        matches!(refused, Err(StoreError::Unique(UniqueRule::Other))),
        "{refused:?}"
    );
    let mut sql = f.sql();
    assert_eq!(count(&mut sql, "SELECT count(*) FROM members"), 0);
    assert_eq!(count(&mut sql, "SELECT count(*) FROM events"), 1);
    // The same (only) connection, clean: a transaction on it commits.
    let mut tx = begin(&*f.store);
    tx.put_member(&member(&org, "mem_2", "b@x.test")).unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&mut sql, "SELECT count(*) FROM members"), 1);
}

#[test]
fn dropping_a_transaction_rolls_everything_back() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    {
        let mut tx = begin(&*f.store);
        tx.put_organization(&organization(&org)).unwrap();
        tx.commit().unwrap();
    }
    {
        let mut tx = begin(&*f.store);
        tx.put_member(&member(&org, "mem_1", "a@x.test")).unwrap();
        tx.put_invitation(&invitation(&org, "inv_1", "b@x.test", 1))
            .unwrap();
        tx.put_outbox_message(message(&org, "msg_1", "inv_1", 0))
            .unwrap();
        tx.append_event(event(&org, 1)).unwrap();
        // Its own reads see its writes...
        assert!(tx.member_by_contact(&org, "a@x.test").unwrap().is_some());
        assert_eq!(tx.seat_count(&org, "standard").unwrap().members, 1);
        assert_eq!(
            tx.queued_messages_for(&org, &"inv_1".into()).unwrap().len(),
            1
        );
        // ...and nothing else does once it is dropped.
    }
    let mut tx = begin(&*f.store);
    assert_eq!(tx.member_by_contact(&org, "a@x.test").unwrap(), None);
    assert_eq!(tx.invitation(&org, &"inv_1".into()).unwrap(), None);
    assert_eq!(tx.outbox_message(&msg_id("msg_1")).unwrap(), None);
    assert!(tx.events(&org, 0, 10).unwrap().is_empty());
    assert_eq!(tx.seat_counts(&org).unwrap(), vec![]);
    assert_eq!(
        tx.append_event(event(&org, 9)).unwrap(),
        1,
        "seq not used up"
    );
    tx.commit().unwrap();
    let mut c = f.sql();
    assert_eq!(count(&mut c, "SELECT count(*) FROM members"), 0);
    assert_eq!(count(&mut c, "SELECT count(*) FROM counts WHERE n <> 0"), 0);
}

#[test]
fn uniqueness_rules_refuse_and_change_nothing() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    let a = member(&org, "mem_a", "a@x.test");
    tx.put_member(&a).unwrap();
    // Same contact key, another id.
    let mut b = member(&org, "mem_b", "a@x.test");
    b.user_ref = Some("other".into());
    let e = tx.put_member(&b).unwrap_err();
    assert!(
        matches!(&e, StoreError::Unique(UniqueRule::MemberContactKey)),
        "{e:?}"
    );
    // Same user_ref, another contact.
    let mut c = member(&org, "mem_c", "c@x.test");
    c.user_ref = a.user_ref.clone();
    let e = tx.put_member(&c).unwrap_err();
    assert!(
        matches!(&e, StoreError::Unique(UniqueRule::MemberUserRef)),
        "{e:?}"
    );
    // A removed member frees the key.
    let mut b_removed = b.clone();
    b_removed.status = MemberStatus::Removed;
    tx.put_member(&b_removed).unwrap();
    // The transaction goes on after a member's refusal, and commits what
    // it kept.
    let i1 = invitation(&org, "inv_1", "r@x.test", 1);
    tx.put_invitation(&i1).unwrap();
    tx.commit().unwrap();

    // Invitations: one open per recipient, one per secret. They are
    // checked where they are written, at the transaction's next statement
    // (one for a batch's buffered invitations): the refusal fails it, every
    // call after it and the commit, and nothing of the transaction lands.
    let mut i2 = invitation(&org, "inv_2", "r@x.test", 2);
    let mut i3 = invitation(&org, "inv_3", "s@x.test", 3);
    i3.secret_hash = i1.secret_hash;
    for (clash, rule) in [
        (&i2, UniqueRule::InvitationOpenRecipient),
        (&i3, UniqueRule::InvitationSecret),
    ] {
        let mut tx = begin(&*f.store);
        let fine = invitation(&org, "inv_4", "t@x.test", 4);
        tx.put_invitation(&fine).unwrap();
        tx.put_invitation(clash).unwrap();
        let e = tx.invitation(&org, &fine.id).unwrap_err();
        assert!(matches!(&e, StoreError::Unique(r) if *r == rule), "{e:?}");
        let e = tx.member(&org, &a.id).unwrap_err();
        assert!(matches!(&e, StoreError::Unique(r) if *r == rule), "{e:?}");
        let e = tx.commit().unwrap_err();
        assert!(matches!(&e, StoreError::Unique(r) if *r == rule), "{e:?}");
        let mut c = f.sql();
        assert_eq!(count(&mut c, "SELECT count(*) FROM invitations"), 1);
    }
    let mut tx = begin(&*f.store);
    i2.status = InvitationStatus::Revoked;
    tx.put_invitation(&i2).unwrap();
    tx.commit().unwrap();

    let mut tx = begin(&*f.store);
    assert_eq!(tx.member(&org, &b.id).unwrap(), Some(b_removed));
    assert_eq!(tx.member(&org, &c.id).unwrap(), None);
    assert_eq!(tx.invitation(&org, &i3.id).unwrap(), None);
    assert_eq!(
        tx.open_invitation_for(&org, "r@x.test").unwrap(),
        Some(i1.clone())
    );
    let seats = tx.seat_count(&org, "standard").unwrap();
    assert_eq!((seats.members, seats.open_invitations), (1, 1));
    // The same keys in another organization are fine.
    let other = org_id(2);
    let mut a2 = a.clone();
    a2.org_id = other.clone();
    tx.put_member(&a2).unwrap();
    let mut i1b = i1.clone();
    i1b.org_id = other.clone();
    tx.put_invitation(&i1b).unwrap();
    tx.commit().unwrap();
    let mut c = f.sql();
    assert_eq!(count(&mut c, "SELECT count(*) FROM members"), 3);
}

#[test]
fn the_unique_indexes_hold_even_when_the_checks_are_bypassed() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    tx.put_invitation(&invitation(&org, "inv_1", "r@x.test", 1))
        .unwrap();
    tx.put_member(&member(&org, "mem_1", "m@x.test")).unwrap();
    tx.commit().unwrap();
    // Raw SQL stands for a writer that skipped the store's checks.
    let mut c = f.sql();
    let e = c
        .execute(
            "INSERT INTO invitations (org_id, invitation_id, batch_id, recipient_key, status,
                 role, kind, license_type, created_s, created_ns, body)
             VALUES ('org_1', 'inv_2', 'b', 'r@x.test', 'staged', 'member', 'member',
                 'standard', 0, 0, '{}')",
            &[],
        )
        .unwrap_err();
    assert_eq!(e.code(), Some(&postgres::error::SqlState::UNIQUE_VIOLATION));
    let e = c
        .execute(
            "INSERT INTO members (org_id, member_id, contact_key, status, role, license_type,
                 kind, body)
             VALUES ('org_1', 'mem_2', 'm@x.test', 'inactive', 'member', 'standard', 'member',
                 '{}')",
            &[],
        )
        .unwrap_err();
    assert_eq!(e.code(), Some(&postgres::error::SqlState::UNIQUE_VIOLATION));
}

#[test]
fn hostile_text_round_trips_and_searches_literally() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let hostile = [
        "'",
        "\"",
        "';--",
        "'; DROP TABLE members; --",
        "\\",
        "%",
        "_",
        "a%b_c",
        "$1 $$ ? :name",
        "😀 👩‍👩‍👧",
        "עברית العربية",
        "e\u{301} vs é",
        "tab\there\nline",
        "\u{FEFF}bom",
        "\u{1}\u{7f} controls",
        "",
    ];
    let long = "é".repeat(20_000);
    let mut tx = begin(&*f.store);
    let mut keys = Vec::new();
    for (i, h) in hostile.iter().chain([&long.as_str()]).enumerate() {
        let key = format!("{h}@{i}");
        let mut m = member(&org, &format!("mem_{h}_{i}"), &key);
        m.first_name = Some((*h).to_owned());
        m.role = format!("role {h}").into();
        m.license_type = format!("lic {h}").into();
        m.user_ref = Some(format!("ref {h} {i}"));
        tx.put_member(&m).unwrap();
        let mut inv = invitation(&org, &format!("inv_{h}_{i}"), &key, i as i64);
        inv.message = Some(format!("{h}\0nul in a body is fine"));
        tx.put_invitation(&inv).unwrap();
        keys.push((m, inv));
    }
    tx.commit().unwrap();
    let mut tx = begin(&*f.store);
    for (m, inv) in &keys {
        assert_eq!(tx.member(&org, &m.id).unwrap().as_ref(), Some(m));
        assert_eq!(
            tx.member_by_contact(&org, &m.contact_key).unwrap().as_ref(),
            Some(m)
        );
        assert_eq!(
            tx.member_by_user_ref(&org, m.user_ref.as_deref().unwrap())
                .unwrap()
                .as_ref(),
            Some(m)
        );
        assert_eq!(tx.count_active_with_role(&org, &m.role).unwrap(), 1);
        assert_eq!(
            tx.open_invitation_for(&org, &inv.recipient_key)
                .unwrap()
                .as_ref(),
            Some(inv)
        );
    }
    // `%` and `_` are no wildcards in a search.
    let q = MemberQuery {
        search: Some("a%b_c".into()),
        ..MemberQuery::default()
    };
    let found = tx.list_members(&org, &q).unwrap().items;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].first_name.as_deref(), Some("a%b_c"));
    let q = MemberQuery {
        search: Some("%".into()),
        limit: 1000,
        ..MemberQuery::default()
    };
    assert_eq!(tx.list_members(&org, &q).unwrap().items.len(), 2);
    // Tables are all still there.
    drop(tx);
    let mut c = f.sql();
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM members"),
        keys.len() as i64
    );
}

#[test]
fn nul_in_a_key_is_a_clear_error_and_writes_nothing() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    let e = tx.put_member(&member(&org, "mem_1", "a\0b@x")).unwrap_err();
    let StoreError::Other(inner) = &e else {
        panic!("expected Other, got {e:?}")
    };
    assert!(inner.downcast_ref::<NulInKey>().is_some(), "{e}");
    assert!(e.to_string().contains("contact_key"), "{e}");
    // A lookup by such a key finds nothing (nothing can be stored under it).
    assert_eq!(tx.member_by_contact(&org, "a\0b@x").unwrap(), None);
    tx.put_member(&member(&org, "mem_2", "ok@x")).unwrap();
    tx.commit().unwrap();
    let mut c = f.sql();
    assert_eq!(count(&mut c, "SELECT count(*) FROM members"), 1);
}

#[test]
fn a_connection_closed_by_the_server_is_replaced() {
    let Some(f) = Fresh::new() else { return };
    let name = format!(
        "enlist_kill_{}",
        f.schema.len() + std::process::id() as usize
    );
    let url = if f.url.contains('?') {
        format!("{}&application_name={name}", f.url)
    } else {
        format!("{}?application_name={name}", f.url)
    };
    let store = PostgresStore::connect_in_schema(&url, &f.schema).expect("connect");
    let org = org_id(1);
    let mut tx = begin(&store);
    tx.put_organization(&organization(&org)).unwrap();
    tx.commit().unwrap();
    // The server ends the pooled (idle) connection.
    let mut c = f.sql();
    let killed = count(
        &mut c,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = '{name}'"
        ),
    );
    assert!(killed >= 1, "the pooled connection was found and ended");
    std::thread::sleep(std::time::Duration::from_millis(100));
    // The next transaction gets a fresh connection and works.
    let mut tx = begin(&store);
    assert!(tx.organization(&org).unwrap().is_some());
    tx.append_event(event(&org, 1)).unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&mut c, "SELECT count(*) FROM events"), 1);
}

/// A dry run's read transaction (`begin_read`) takes no row lock, even on
/// an organization the store remembers as contended (where a write
/// transaction locks at its first read): it reads while a writer holds the
/// organization's lock, and sees the state before that writer.
#[test]
fn a_read_transaction_does_not_wait_for_a_writer() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    {
        let mut tx = begin(&*f.store);
        tx.put_organization(&organization(&org)).unwrap();
        tx.commit().unwrap();
    }
    // A write conflict: the store now locks this organization at the
    // first read of a write transaction.
    let mut stale = begin(&*f.store);
    assert!(stale.organization(&org).unwrap().is_some());
    {
        let other = f.another();
        let mut tx = begin(&*other);
        tx.put_organization(&organization(&org)).unwrap();
        tx.commit().unwrap();
    }
    assert!(matches!(
        stale.put_organization(&organization(&org)),
        Err(StoreError::Conflict)
    ));
    drop(stale);
    // A writer holds the organization's lock...
    let writer_store = f.another();
    let mut writer = begin(&*writer_store);
    let mut renamed = organization(&org);
    renamed.name = "Renamed".into();
    writer.put_organization(&renamed).unwrap();
    // ...and a read transaction on the contended store reads at once.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let store = f.store.clone();
    let reader = std::thread::spawn(move || {
        let mut read = enlist::Store::begin_read(&*store).unwrap();
        let name = read.organization(&org_id(1)).unwrap().unwrap().name;
        done_tx.send(name).unwrap();
    });
    let name = done_rx
        .recv_timeout(std::time::Duration::from_secs(5))
        .expect("the read transaction waited for the writer's lock");
    assert_ne!(name, "Renamed", "the read sees the state before the writer");
    reader.join().unwrap();
    writer.commit().unwrap();
}

/// The event feed is in the order of the writing transactions' ids as
/// numbers: a feed across a power of ten (transactions 9, 10 and 100)
/// pages every event once, in that order (ordered by the ids' text, "10"
/// and "100" came before "9", and the page after "100" never showed it).
#[test]
fn the_event_feed_orders_transactions_as_numbers() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    for seq in 1..=3 {
        tx.append_event(event(&org, seq)).unwrap();
    }
    tx.commit().unwrap();
    // Long-ended transactions, as a store that has run for a while holds.
    f.sql()
        .batch_execute(
            "UPDATE events SET feed_tx = (CASE seq WHEN 1 THEN '9' WHEN 2 THEN '10' ELSE '100' END)::xid8",
        )
        .unwrap();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10 {
        let mut tx = begin(&*f.store);
        let page = tx.event_feed(after.as_deref(), &[], 1).unwrap();
        let Some(e) = page.first() else { break };
        seen.push((
            e.cursor.split('.').next().unwrap_or("").to_owned(),
            e.event.seq,
        ));
        after = Some(e.cursor.clone());
    }
    let want: Vec<(String, u64)> = vec![("9".into(), 1), ("10".into(), 2), ("100".into(), 3)];
    assert_eq!(seen, want);
}

/// The look-ups by key (a batch's prefetch, `member_by_contact`, the
/// directory's `standing`) probe the live-contact and open-recipient
/// indexes key by key under the store's generic plans, even when the
/// tables were analyzed small: as plain joins or `= ANY`, the generic plans
/// scanned the whole members table.
#[test]
fn the_look_ups_by_key_probe_the_indexes_even_on_small_tables() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    for i in 0..200 {
        tx.put_member(&member(&org, &format!("mem_{i}"), &format!("m{i}@x.test")))
            .unwrap();
        tx.put_invitation(&invitation(
            &org,
            &format!("inv_{i}"),
            &format!("r{i}@x.test"),
            i,
        ))
        .unwrap();
    }
    tx.commit().unwrap();
    let mut c = f.sql();
    c.batch_execute("ANALYZE members; ANALYZE invitations")
        .unwrap();
    let keys: Vec<enlist::Text> = vec!["m1@x.test".into(), "r2@x.test".into()];
    for plan in f.store.explain_lookups(&org, &keys).unwrap() {
        let plan = plan.join("\n");
        assert!(plan.contains("members_live_contact"), "{plan}");
        assert!(plan.contains("invitations_open_recipient"), "{plan}");
        assert!(!plan.contains("Seq Scan"), "{plan}");
    }
    // And it answers.
    let mut tx = begin(&*f.store);
    tx.prefetch_recipients(&org, &keys).unwrap();
    assert!(tx.member_by_contact(&org, "m1@x.test").unwrap().is_some());
    assert!(tx.open_invitation_for(&org, "r2@x.test").unwrap().is_some());
}

/// A claim across organizations finds the organizations with due messages
/// by walking the `outbox_due` index one organization at a time and
/// reads their heads by key, whatever the statistics: as a semi-join of
/// `org_heads` with the due messages, the generic plan read every queued
/// (or every) message at each claim.
#[test]
fn a_claim_across_organizations_walks_the_organizations_not_the_messages() {
    let Some(f) = Fresh::new() else { return };
    // Analyzed while nearly empty, as a new store is.
    let mut tx = begin(&*f.store);
    tx.put_outbox_message(message(&org_id(0), "msg_first", "inv_first", 10))
        .unwrap();
    tx.commit().unwrap();
    let mut c = f.sql();
    c.batch_execute("ANALYZE outbox; ANALYZE org_heads")
        .unwrap();
    // One big organization and several small ones; half of the messages
    // sent, some due later.
    for n in 1..=20u32 {
        let org = org_id(n);
        let mut tx = begin(&*f.store);
        let many = if n == 1 { 1000 } else { 4 };
        for i in 0..many {
            let mut m = message(
                &org,
                &format!("msg_{n}_{i}"),
                &format!("inv_{i}"),
                10 + i % 7,
            );
            if i % 2 == 1 {
                m.status = OutboxStatus::Sent;
            }
            if n % 5 == 0 {
                m.next_attempt_at = t(1000);
            }
            tx.put_outbox_message(m.clone()).unwrap();
        }
        tx.commit().unwrap();
    }
    let plan = f.store.explain_claim(t(100)).unwrap().join("\n");
    assert!(plan.contains("Recursive Union"), "{plan}");
    assert!(plan.contains("using outbox_due on outbox"), "{plan}");
    assert!(plan.contains("using org_heads_pkey on org_heads"), "{plan}");
    assert!(!plan.contains("outbox_due_all"), "{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    // And it answers as before: the due organizations in id order
    // (org_0, org_1, org_11, org_12, org_13: org_10 is due later), their
    // due messages earliest first, then by id.
    let mut tx = begin(&*f.store);
    let claimed = tx.claim_outbox(None, t(100), t(200), 5).unwrap();
    let ids: Vec<&str> = claimed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["msg_11_0", "msg_12_0", "msg_13_0", "msg_1_0", "msg_1_112"]
    );
    drop(tx);
}

/// The people rows' write deletes terms, groups and rows by one
/// primary-key probe each, whatever the statistics: as joins on the
/// organization, the generic plan walked the organization's terms (each
/// accept deletes some).
#[test]
fn the_people_deletes_probe_the_primary_keys() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    // Large enough that a sequential scan is not the cheapest read of a
    // row (on a few pages it is, and rightly).
    for b in 0..3 {
        let mut tx = begin(&*f.store);
        for i in b * 1000..(b + 1) * 1000 {
            tx.put_invitation(&invitation(
                &org,
                &format!("inv_{i}"),
                &format!("r{i}@x.test"),
                i,
            ))
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let mut c = f.sql();
    c.batch_execute("ANALYZE people; ANALYZE people_terms; ANALYZE people_groups")
        .unwrap();
    let plan = f.store.explain_people_writes(&org).unwrap().join("\n");
    // (`people_groups` is empty here: read whole, rightly.)
    for table in ["people_terms", "people"] {
        assert!(plan.contains(&format!("Tid Scan on {table} ")), "{plan}");
        assert!(
            plan.contains(&format!("Index Scan using {table}_pkey")),
            "{plan}"
        );
        assert!(!plan.contains(&format!("Seq Scan on {table} ")), "{plan}");
    }
    assert!(!plan.contains("Hash"), "{plan}");
    assert!(!plan.contains("Bitmap"), "{plan}");
}

/// An invitation's write (an accept's closed invitation, a batch) reads
/// its person's row back by one probe of `people`' primary key per row,
/// even as planned on a table of a page: the generic plan is made at the
/// statement's first execution on a connection and kept, and as a join
/// on the organization, made while `people` was small, it hashed a
/// sequential scan of the table (the organization's 300 people rows at
/// each accept of the bench).
#[test]
fn an_invitation_write_probes_its_person_by_key_even_on_a_small_table() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let mut tx = begin(&*f.store);
    for i in 0..3 {
        tx.put_invitation(&invitation(
            &org,
            &format!("inv_{i}"),
            &format!("r{i}@x.test"),
            i,
        ))
        .unwrap();
    }
    tx.commit().unwrap();
    let mut c = f.sql();
    // This schema's tables only: a bare ANALYZE would also analyze the
    // tables of the tests running beside this one, halfway through their
    // writes.
    c.batch_execute("ANALYZE invitations; ANALYZE people; ANALYZE people_terms")
        .unwrap();
    let write = f
        .store
        .explain_invitation_write(&org, "inv_1", "p")
        .unwrap()
        .join("\n");
    assert!(write.contains("using people_pkey on people"), "{write}");
    assert!(!write.contains("Seq Scan"), "{write}");
    assert!(!write.contains("Hash"), "{write}");
    assert!(!write.contains("Join Filter"), "{write}");
}

/// What an accept reads by key probes the key's index even when the
/// tables were analyzed while they held a row (as the bench's `outbox` and
/// `members` are, and a new store's tables may be until autovacuum
/// analyzes them again): the invitation by `invitations_secret`, its
/// recipient's member by `members_live_contact`, its queued messages by
/// `outbox_queued`, and the member write's look-up by the member, contact
/// and account indexes. With statistics that make `org_id` look unique,
/// each tied with a walk of the organization (`invitations_batch`,
/// `members_by_role`, `outbox_pkey`) and the generic plans walked it (the
/// organization's 300 messages at each accept of the bench). Migration
/// 0013 keeps the planner from taking `org_id` (or `outbox.status`) for a
/// key.
#[test]
fn an_accept_reads_by_key_even_after_an_analyze_of_one_row() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let write = |from: usize, to: usize| {
        let mut tx = begin(&*f.store);
        for i in from..to {
            tx.put_invitation(&invitation(
                &org,
                &format!("inv_{i}"),
                &format!("r{i}@x.test"),
                i as i64,
            ))
            .unwrap();
            tx.put_outbox_message(message(&org, &format!("msg_{i}"), &format!("inv_{i}"), 10))
                .unwrap();
            let mut m = member(&org, &format!("mem_{i}"), &format!("m{i}@x.test"));
            m.user_ref = Some(format!("acct-{i}"));
            tx.put_member(&m).unwrap();
        }
        tx.commit().unwrap();
    };
    write(0, 1);
    let mut c = f.sql();
    // Analyzed at one row, and left so (autovacuum would analyze the
    // tables again a minute after the writes below).
    c.batch_execute(
        "ALTER TABLE outbox SET (autovacuum_enabled = false);
         ALTER TABLE members SET (autovacuum_enabled = false);
         ANALYZE outbox; ANALYZE members; ANALYZE invitations",
    )
    .unwrap();
    write(1, 300);
    let hash = SecretHash::of(format!("{org}/inv_7").as_bytes());
    let inv_7 = InvitationId::from("inv_7");
    let [by_secret, by_id, member_write] = f
        .store
        .explain_accept_reads(&org, &hash, &inv_7, ("mem_new", "m7@x.test", "acct-9"))
        .unwrap()
        .map(|p| p.join("\n"));
    for (plan, invitations) in [
        (&by_secret, "invitations_secret"),
        (&by_id, "invitations_pkey"),
    ] {
        assert!(plan.contains("using outbox_queued on outbox"), "{plan}");
        assert!(!plan.contains("outbox_pkey"), "{plan}");
        assert!(!plan.contains("outbox_due_all"), "{plan}");
        for index in [invitations, "members_live_contact"] {
            assert!(plan.contains(index), "{plan}");
        }
    }
    for index in ["members_pkey", "members_live_contact", "members_by_account"] {
        assert!(member_write.contains(index), "{member_write}");
    }
    for index in ["members_by_role", "members_list"] {
        assert!(!member_write.contains(index), "{member_write}");
    }
    // And they answer: the invitation's one queued message, and the
    // member write refuses the contact key and the account taken.
    let mut tx = begin(&*f.store);
    let inv = tx.invitation_by_secret(&org, &hash).unwrap().unwrap();
    assert_eq!(inv.id.as_str(), "inv_7");
    assert_eq!(
        tx.invitation_by_token(&org, TokenKey::Id(&inv_7)).unwrap(),
        Some(inv.clone())
    );
    let queued = tx.queued_messages_for(&org, &inv.id).unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].id.as_str(), "msg_7");
    let mut m = member(&org, "mem_new", "m7@x.test");
    m.user_ref = Some("acct-9".into());
    assert!(matches!(
        tx.put_member(&m),
        Err(StoreError::Unique(UniqueRule::MemberContactKey))
    ));
}

/// A waiting new member goes with the buffered invitations' write (one
/// round trip for both, then the flush with `COMMIT`); when its id turns
/// out to be stored, the general write follows that answer and the
/// member is updated, its counters exact.
#[test]
fn a_waiting_new_member_goes_with_the_invitations_write() {
    // One connection: the first round prepares the statements on it.
    let Some(f) = Fresh::new_with(|o| o.max_connections = 1) else {
        return;
    };
    let org = org_id(1);
    let with = |id: &str, key: &str, account: &str| {
        let mut m = member(&org, id, key);
        m.user_ref = Some(account.to_owned());
        m
    };
    let mut tx = begin(&*f.store);
    tx.put_organization(&organization(&org)).unwrap();
    tx.put_member(&with("mem_a", "a@x.test", "acct-a")).unwrap();
    tx.commit().unwrap();

    for (id, key, account, inv) in [
        ("mem_w", "w@x.test", "acct-w", "inv_0"),
        ("mem_b", "b@x.test", "acct-b", "inv_1"),
        // A stored id: found at that answer, written by the general path.
        ("mem_a", "c@x.test", "acct-c", "inv_2"),
    ] {
        let mut tx = begin(&*f.store);
        assert!(tx.member_by_contact(&org, key).unwrap().is_none());
        assert!(tx.member_by_user_ref(&org, account).unwrap().is_none());
        let before = f.store.round_trips();
        tx.put_member(&with(id, key, account)).unwrap();
        tx.put_invitation(&invitation(&org, inv, &format!("{inv}@x.test"), 1))
            .unwrap();
        tx.commit().unwrap();
        let trips = f.store.round_trips() - before;
        if id == "mem_b" {
            // The lock, the member and the invitation; the flush with
            // `COMMIT`.
            assert_eq!(trips, 2, "{id}");
        }
    }
    let mut tx = begin(&*f.store);
    let a = tx
        .member(&org, &enlist::MemberId::from("mem_a"))
        .unwrap()
        .unwrap();
    assert_eq!(a.contact_key, "c@x.test");
    assert!(
        tx.member(&org, &enlist::MemberId::from("mem_b"))
            .unwrap()
            .is_some()
    );
    for inv in ["inv_0", "inv_1", "inv_2"] {
        assert!(tx.invitation(&org, &inv.into()).unwrap().is_some(), "{inv}");
    }
    drop(tx);
    let mut c = f.sql();
    assert_eq!(
        count(
            &mut c,
            "SELECT n FROM counts WHERE what = 'member' AND key = '' AND status = 'active'"
        ),
        3
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM people WHERE status = 'active'"
        ),
        3
    );
}

/// A new member whose contact key and account this transaction read free
/// is written in one statement, without looking them up again, sent with
/// the next statement (an accept's member); a member of a stored id (found
/// when that statement answers), or of a key not read free
/// since the last write of it, takes the general write with its look-up,
/// which refuses a clash and leaves the transaction usable. The counters
/// stay exact either way.
#[test]
fn a_new_member_read_free_is_written_in_one_statement() {
    let Some(f) = Fresh::new() else { return };
    let org = org_id(1);
    let with = |id: &str, key: &str, account: &str| {
        let mut m = member(&org, id, key);
        m.user_ref = Some(account.to_owned());
        m
    };
    let mut tx = begin(&*f.store);
    tx.put_member(&with("mem_a", "a@x.test", "acct-a")).unwrap();
    tx.commit().unwrap();

    let mut tx = begin(&*f.store);
    // Free keys, but a stored id: written by the general path.
    assert!(tx.member_by_contact(&org, "b@x.test").unwrap().is_none());
    assert!(tx.member_by_user_ref(&org, "acct-b").unwrap().is_none());
    tx.put_member(&with("mem_a", "b@x.test", "acct-b")).unwrap();
    // A new member of free keys: one statement, which waits for the
    // transaction's next one (the buffered invitations' write, at an
    // accept); anything else sends it first, and sees it.
    assert!(tx.member_by_contact(&org, "c@x.test").unwrap().is_none());
    assert!(tx.member_by_user_ref(&org, "acct-c").unwrap().is_none());
    let before = f.store.round_trips();
    tx.put_member(&with("mem_c", "c@x.test", "acct-c")).unwrap();
    assert_eq!(f.store.round_trips() - before, 0);
    assert!(tx.member_by_contact(&org, "c@x.test").unwrap().is_some());
    assert_eq!(f.store.round_trips() - before, 2);
    // The key is no longer free: a second new member of it is looked up
    // and refused, and the transaction goes on.
    assert!(matches!(
        tx.put_member(&with("mem_d", "c@x.test", "acct-d")),
        Err(StoreError::Unique(UniqueRule::MemberContactKey))
    ));
    assert!(tx.member_by_contact(&org, "d@x.test").unwrap().is_none());
    assert!(tx.member_by_user_ref(&org, "acct-c").unwrap().is_some());
    assert!(matches!(
        tx.put_member(&with("mem_e", "d@x.test", "acct-c")),
        Err(StoreError::Unique(UniqueRule::MemberUserRef))
    ));
    tx.commit().unwrap();

    let mut tx = begin(&*f.store);
    let a = tx
        .member(&org, &enlist::MemberId::from("mem_a"))
        .unwrap()
        .unwrap();
    assert_eq!(a.contact_key, "b@x.test");
    assert!(
        tx.member(&org, &enlist::MemberId::from("mem_c"))
            .unwrap()
            .is_some()
    );
    assert!(
        tx.member(&org, &enlist::MemberId::from("mem_d"))
            .unwrap()
            .is_none()
    );
    drop(tx);
    let mut c = f.sql();
    let active = count(
        &mut c,
        "SELECT n FROM counts WHERE what = 'member' AND key = '' AND status = 'active'",
    );
    assert_eq!(active, 2);
    // And the new member's people row is written (at the flush).
    assert_eq!(
        count(&mut c, "SELECT count(*) FROM people WHERE pid = 'm.mem_c'"),
        1
    );
}

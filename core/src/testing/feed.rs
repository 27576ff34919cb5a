//! The event feed ([`Transaction::event_feed`]): every organization's
//! events in commit order, after a cursor, filtered by kind; nothing
//! rolled back, nothing skipped when a transaction commits late.

use super::entities::{begin, event};
use super::harness::MakeStore;
use crate::{Event, EventKind, FeedEvent, MemberId, OrgId, StoreError, Transaction};
use std::sync::mpsc;
use std::time::Duration;

fn org_id(n: u8) -> OrgId {
    OrgId::from(format!("org_feed_{n}"))
}

/// An event of another kind than [`event`]'s (`invitation_revoked`).
fn removed(org: &OrgId, n: u32) -> Event {
    let mut e = event(org, n);
    e.kind = EventKind::MemberRemoved {
        member: MemberId::from(format!("mem_{n}")),
        contact: format!("m{n}@feed.test"),
    };
    e
}

fn feed(
    tx: &mut dyn Transaction,
    after: Option<&str>,
    kinds: &[&str],
    limit: usize,
) -> Vec<FeedEvent> {
    let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
    tx.event_feed(after, &kinds, limit).expect("read the feed")
}

/// Reads with `read` until `held_back` says the answer is whole, for up
/// to 20 s, 20 ms apart; the last answer is returned either way. A store
/// may hold back its newest events while older transactions are still
/// open (PostgreSQL does, cluster-wide, and other tests run at the same
/// time): it shows them once those end, so the read is tried again.
pub(crate) fn read_until_settled<T, E>(
    mut read: impl FnMut() -> Result<T, E>,
    held_back: impl Fn(&T) -> bool,
) -> Result<T, E> {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = read()?;
        if !held_back(&got) || std::time::Instant::now() > deadline {
            return Ok(got);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The feed after `after` once it holds at least `n` events (see
/// [`read_until_settled`]).
fn settled(store: &dyn crate::Store, after: Option<&str>, n: usize) -> Vec<FeedEvent> {
    let read = || Ok::<_, std::convert::Infallible>(feed(begin(store).as_mut(), after, &[], 100));
    let Ok(got) = read_until_settled(read, |got: &Vec<FeedEvent>| got.len() < n);
    got
}

/// `(org, seq)` of each event: what identifies it.
fn keys(events: &[FeedEvent]) -> Vec<(String, u64)> {
    events
        .iter()
        .map(|e| (e.event.org_id.as_str().to_owned(), e.event.seq))
        .collect()
}

/// Every organization's events in commit order; pages continue after a
/// cursor; the kinds filter; a rolled-back event never appears; a made-up
/// cursor is refused.
pub fn event_feed_in_commit_order(make: MakeStore<'_>) {
    let store = make();
    let (a, b) = (org_id(1), org_id(2));
    let mut tx = begin(&*store);
    assert!(feed(tx.as_mut(), None, &[], 100).is_empty());
    drop(tx);
    let mut tx = begin(&*store);
    tx.append_event(event(&a, 1)).expect("append");
    tx.append_event(removed(&b, 2)).expect("append");
    tx.commit().expect("commit");
    // Rolled back: never in the feed.
    let mut tx = begin(&*store);
    tx.append_event(event(&a, 99)).expect("append");
    drop(tx);
    let mut tx = begin(&*store);
    tx.append_event(removed(&a, 3)).expect("append");
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    tx.append_event(event(&b, 4)).expect("append");
    tx.commit().expect("commit");

    let all = settled(&*store, None, 4);
    let mut tx = begin(&*store);
    let want = [
        ("org_feed_1".to_owned(), 1),
        ("org_feed_2".to_owned(), 1),
        ("org_feed_1".to_owned(), 2),
        ("org_feed_2".to_owned(), 2),
    ];
    assert_eq!(keys(&all), want);
    assert_eq!(all[0].event.at, event(&a, 1).at);
    assert_eq!(all[1].event.kind, removed(&b, 2).kind);
    // Pages of one, each after the previous cursor.
    let mut after: Option<String> = None;
    let mut paged = Vec::new();
    loop {
        let page = feed(tx.as_mut(), after.as_deref(), &[], 1);
        let Some(last) = page.last() else { break };
        assert!(last.cursor.len() <= 1024, "{}", last.cursor);
        after = Some(last.cursor.clone());
        paged.extend(page);
    }
    assert_eq!(paged, all);
    // After the last cursor: nothing.
    assert!(feed(tx.as_mut(), Some(&all[3].cursor), &[], 10).is_empty());
    // The kinds filter.
    let removals = feed(tx.as_mut(), None, &["member_removed"], 100);
    assert_eq!(
        keys(&removals),
        [("org_feed_2".to_owned(), 1), ("org_feed_1".to_owned(), 2)]
    );
    let after_first = feed(
        tx.as_mut(),
        Some(&removals[0].cursor),
        &["member_removed", "invitation_revoked"],
        100,
    );
    assert_eq!(keys(&after_first), want[2..].to_vec());
    assert!(feed(tx.as_mut(), None, &["organization_renamed"], 100).is_empty());
    // A cursor the store did not make.
    for bad in ["", "x", "-1", "1.2.3.4", "999999999999999999999999999"] {
        match tx.event_feed(Some(bad), &[], 10) {
            Err(StoreError::InvalidCursor { .. }) => {}
            other => panic!("cursor {bad:?}: {other:?}"),
        }
    }
    drop(tx);
    // New events come after every cursor handed out.
    let mut tx = begin(&*store);
    tx.append_event(event(&a, 5)).expect("append");
    tx.commit().expect("commit");
    let more = settled(&*store, Some(&all[3].cursor), 1);
    assert_eq!(keys(&more), [("org_feed_1".to_owned(), 3)]);
}

/// A transaction that began writing first but commits last is not
/// skipped: whatever a reader saw while it was open, reading on from the
/// cursor it got finds the late event (on PostgreSQL, where writers of
/// two organizations run at once, this is the commit-order caveat of
/// sequences).
pub fn event_feed_never_skips_a_late_commit(make: MakeStore<'_>) {
    let store = make();
    let (a, b) = (org_id(1), org_id(2));
    std::thread::scope(|s| {
        let (a_open, a_opened) = mpsc::channel();
        let (a_go, a_wait) = mpsc::channel::<()>();
        let store_a = store.clone();
        let late = s.spawn(move || {
            let mut tx = store_a.begin().expect("begin A");
            tx.append_event(event(&a, 1)).expect("append A");
            // A read makes the write reach the database (and A get its
            // transaction id) before B writes.
            let _ = tx.events(&a, 0, 10).expect("read A");
            a_open.send(()).expect("signal");
            a_wait.recv().ok();
            tx.commit().expect("commit A");
        });
        a_opened.recv().expect("A is open");
        let store_b = store.clone();
        let early = s.spawn(move || {
            let mut tx = store_b.begin().expect("begin B");
            tx.append_event(removed(&b, 2)).expect("append B");
            tx.commit().expect("commit B");
        });
        let store_r = store.clone();
        let (seen_tx, seen) = mpsc::channel();
        let reader = s.spawn(move || {
            // A store whose writers run one at a time makes this wait for A.
            let mut tx = store_r.begin_read().expect("begin R");
            let got = feed(tx.as_mut(), None, &[], 100);
            drop(tx);
            seen_tx.send(got).ok();
        });
        // Give B and the reader time to run while A is open.
        let early_read = seen.recv_timeout(Duration::from_millis(500)).ok();
        a_go.send(()).ok();
        late.join().expect("A");
        early.join().expect("B");
        reader.join().expect("R");
        let first = match early_read {
            Some(got) => got,
            None => seen.recv().expect("the reader's answer"),
        };
        let after = first.last().map(|e| e.cursor.clone());
        let rest = settled(&*store, after.as_deref(), 2 - first.len().min(2));
        let mut all = keys(&first);
        all.extend(keys(&rest));
        all.sort();
        assert_eq!(
            all,
            [("org_feed_1".to_owned(), 1), ("org_feed_2".to_owned(), 1)],
            "read while A was open: {:?}; read on after its cursor: {:?}",
            keys(&first),
            keys(&rest)
        );
    });
}

/// Positions are never reused: once the newest events are deleted (their
/// organization purged), the events written next still come after every
/// cursor handed out, the deleted events' cursors included, whether the
/// deletion committed before or in the same transaction as the writes. A
/// store that numbered the next event from what is left would put it
/// at a deleted event's position, and a reader holding that cursor would
/// never see it.
pub fn event_feed_positions_are_never_reused(make: MakeStore<'_>) {
    let store = make();
    let (a, b, c) = (org_id(1), org_id(2), org_id(3));
    let mut tx = begin(&*store);
    tx.append_event(event(&a, 1)).expect("append");
    tx.append_event(removed(&b, 2)).expect("append");
    tx.commit().expect("commit");
    let first = settled(&*store, None, 2);
    assert_eq!(
        keys(&first),
        [("org_feed_1".to_owned(), 1), ("org_feed_2".to_owned(), 1)]
    );
    // A reader's cursor at the newest event, which is then deleted.
    let at_b = first[1].cursor.clone();
    let mut tx = begin(&*store);
    tx.purge_organization(&b).expect("purge");
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    tx.append_event(event(&a, 3)).expect("append");
    tx.commit().expect("commit");
    let after_b = settled(&*store, Some(&at_b), 1);
    assert_eq!(keys(&after_b), [("org_feed_1".to_owned(), 2)]);
    let all = settled(&*store, None, 2);
    assert_eq!(
        keys(&all),
        [("org_feed_1".to_owned(), 1), ("org_feed_1".to_owned(), 2)]
    );
    // In one transaction: appended, deleted with their organization, then
    // more appended after them; none of it comes before a cursor given out.
    let at_a2 = all[1].cursor.clone();
    let mut tx = begin(&*store);
    tx.append_event(event(&c, 4)).expect("append");
    tx.append_event(removed(&c, 5)).expect("append");
    tx.purge_organization(&c).expect("purge");
    tx.append_event(removed(&a, 6)).expect("append");
    tx.commit().expect("commit");
    let rest = settled(&*store, Some(&at_a2), 1);
    assert_eq!(keys(&rest), [("org_feed_1".to_owned(), 3)]);
    assert_eq!(rest[0].event.kind, removed(&a, 6).kind);
    // And from the cursor of the first event: both later ones, in order.
    let from_first = settled(&*store, Some(&first[0].cursor), 2);
    assert_eq!(
        keys(&from_first),
        [("org_feed_1".to_owned(), 2), ("org_feed_1".to_owned(), 3)]
    );
    // An organization made again under a purged one's id starts its own
    // numbering, and its events appear once, after everything before: the
    // purged events' positions do not come back as the new ones.
    let mut tx = begin(&*store);
    tx.append_event(event(&c, 7)).expect("append");
    tx.commit().expect("commit");
    let everything = settled(&*store, None, 4);
    assert_eq!(
        keys(&everything),
        [
            ("org_feed_1".to_owned(), 1),
            ("org_feed_1".to_owned(), 2),
            ("org_feed_1".to_owned(), 3),
            ("org_feed_3".to_owned(), 1)
        ]
    );
    assert_eq!(everything[3].event.kind, event(&c, 7).kind);
    let after_rest = settled(&*store, Some(&rest[0].cursor), 1);
    assert_eq!(keys(&after_rest), [("org_feed_3".to_owned(), 1)]);
}

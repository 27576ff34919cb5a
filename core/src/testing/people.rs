//! The people view through the [`Transaction`] contract: members and
//! staged, pending and expired invitations in one list, labelled at `now`,
//! sorted, filtered, searched and paged the same on every store.
//!
//! [`Transaction`]: crate::Transaction

use super::entities::{begin, group, invitation, member, organization, pending, t};
use super::harness::MakeStore;
use crate::store::people::scan_page;
use crate::{
    GroupGrant, GroupId, InvitationStatus, MemberKind, MemberStatus, OrgId, PeopleQuery,
    PeopleSort, Person, PersonLabel, StoreError, StoredInvitation, Transaction,
};
use chrono::{DateTime, Duration, Utc};

fn org_id(n: u8) -> OrgId {
    OrgId::from(format!("org_{n}"))
}

/// `(id, email, first name, last name, status, role)` of a member.
type Row<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    MemberStatus,
    &'a str,
);

/// The organization of the tests, written through `tx`; returns every
/// person it holds (labelled by stored status).
fn populate(tx: &mut dyn Transaction, org: &OrgId) -> Vec<Person> {
    tx.put_organization(&organization(org)).expect("org");
    for g in ["grp_a", "grp_b"] {
        tx.put_group(&group(org, g)).expect("group");
    }
    let grant = |g: &str| GroupGrant::member(GroupId::from(g.to_owned()));
    let mut people = Vec::new();
    // Members: names with case, accents and ties; every status; roles,
    // kinds, licenses, groups, activity and join dates that differ.
    let rows: [Row; 10] = [
        (
            "mem_1",
            "ada@acme.test",
            Some("Ada"),
            Some("Lovelace"),
            MemberStatus::Active,
            "admin",
        ),
        (
            "mem_2",
            "grace@acme.test",
            Some("grace"),
            Some("Hopper"),
            MemberStatus::Active,
            "member",
        ),
        (
            "mem_3",
            "emile@acme.test",
            Some("Émile"),
            Some("Zola"),
            MemberStatus::Inactive,
            "member",
        ),
        (
            "mem_4",
            "ada2@acme.test",
            Some("Ada"),
            Some("Lovelace"),
            MemberStatus::Active,
            "member",
        ),
        (
            "mem_5",
            "nobody@acme.test",
            None,
            None,
            MemberStatus::Active,
            "member",
        ),
        (
            "mem_6",
            "gone@acme.test",
            Some("Gone"),
            Some("Girl"),
            MemberStatus::Removed,
            "member",
        ),
        (
            "mem_7",
            "x'; drop table people; --@acme.test",
            Some("%_"),
            None,
            MemberStatus::Active,
            "owner",
        ),
        (
            "mem_8",
            "zed@acme.test",
            None,
            Some("Zed"),
            MemberStatus::Inactive,
            "admin",
        ),
        (
            "mem_9",
            "用@acme.test",
            Some("用户"),
            None,
            MemberStatus::Active,
            "member",
        ),
        (
            "mem_10",
            "linus@acme.test",
            Some("Linus"),
            Some("Lovelace"),
            MemberStatus::Active,
            "member",
        ),
    ];
    for (i, (id, email, first, last, status, role)) in rows.into_iter().enumerate() {
        let n = i64::try_from(i).unwrap_or(0);
        let mut m = member(org, id, email);
        m.first_name = first.map(str::to_owned);
        m.last_name = last.map(str::to_owned);
        m.status = status;
        m.role = role.into();
        m.joined_at = t(10 - n);
        m.last_active_at = (i % 3 != 0).then(|| t(50 + n * 7 % 5));
        if i % 4 == 1 {
            m.kind = MemberKind::Guest;
        }
        if i % 2 == 0 {
            m.license_type = "pro".into();
        }
        m.groups = match i % 3 {
            0 => vec![grant("grp_a")],
            1 => vec![grant("grp_a"), grant("grp_b")],
            _ => Vec::new(),
        };
        if status == MemberStatus::Removed {
            m.removed_at = Some(t(20));
        }
        tx.put_member(&m).expect("member");
        people.push(Person::from_member(&m));
    }
    // Invitations: staged, pending (one expiring exactly at `now`, one
    // after, one before), persisted expired, and closed ones (not people).
    let mut put = |tx: &mut dyn Transaction, inv: StoredInvitation| {
        tx.put_invitation(&inv).expect("invitation");
        people.extend(Person::from_invitation(&inv));
    };
    let mut staged = invitation(org, "inv_1", "sam@acme.test");
    staged.first_name = Some("Sam".into());
    staged.last_name = Some("Staged".into());
    staged.groups = vec![grant("grp_b")];
    staged.created_at = t(3);
    put(tx, staged);
    let mut soon = pending(org, "inv_2", "pat@acme.test", 2, 100);
    soon.display_name = Some("Pat Pending".into());
    soon.created_at = t(4);
    put(tx, soon);
    let mut later = pending(org, "inv_3", "ada3@acme.test", 3, 101);
    later.first_name = Some("Ada".into());
    later.kind = MemberKind::Guest;
    later.created_at = t(5);
    put(tx, later);
    let mut past = pending(org, "inv_4", "old@acme.test", 4, 99);
    past.role = "admin".into();
    past.created_at = t(5);
    put(tx, past);
    let mut persisted = pending(org, "inv_5", "exp@acme.test", 5, 50);
    persisted.status = InvitationStatus::Expired;
    persisted.secret_hash = None;
    put(tx, persisted);
    for (id, key, status) in [
        ("inv_6", "rev@acme.test", InvitationStatus::Revoked),
        ("inv_7", "acc@acme.test", InvitationStatus::Accepted),
        ("inv_8", "dec@acme.test", InvitationStatus::Declined),
    ] {
        let mut closed = invitation(org, id, key);
        closed.status = status;
        put(tx, closed);
    }
    people
}

/// Every page of `q`, walked `limit` at a time.
fn walk(
    tx: &mut dyn Transaction,
    org: &OrgId,
    mut q: PeopleQuery,
    now: DateTime<Utc>,
) -> Vec<Person> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = tx.people(org, &q, now).expect("people");
        assert!(page.items.len() <= q.limit as usize, "page too large");
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("the people pages never end");
}

fn ids(people: &[Person]) -> Vec<String> {
    people.iter().map(Person::pid).collect()
}

/// Writes four pending invitations of `org` whose ids do not follow the
/// times they were made (`inv_1` is the newest, `inv_2` and `inv_4` tie):
/// by last activity, ascending, they come as
/// [`BY_CREATION`]. For the migrations' tests of the stores.
pub fn invitations_out_of_id_order(tx: &mut dyn Transaction, org: &OrgId) {
    for (n, (id, at)) in [("inv_1", 9), ("inv_2", 3), ("inv_3", 6), ("inv_4", 3)]
        .into_iter()
        .enumerate()
    {
        let secret = u8::try_from(n + 1).unwrap_or(u8::MAX);
        let mut inv = pending(org, id, &format!("{id}@x.test"), secret, 100);
        inv.created_at = t(at);
        tx.put_invitation(&inv).expect("invitation");
    }
}

/// The people of [`invitations_out_of_id_order`] by last activity,
/// ascending.
pub const BY_CREATION: [&str; 4] = ["i.inv_2", "i.inv_4", "i.inv_3", "i.inv_1"];

/// The pids of `org`'s people view by last activity (labels but Removed),
/// one person a page, at time 0.
pub fn by_last_activity(tx: &mut dyn Transaction, org: &OrgId, descending: bool) -> Vec<String> {
    let q = PeopleQuery {
        sort: PeopleSort::LastActive,
        descending,
        limit: 1,
        ..PeopleQuery::default()
    };
    ids(&walk(tx, org, q, t(0)))
}

/// Every sort, both ways, under every filter, page by page: the order and
/// filters of [`crate::store::people`], with the labels at `now`.
pub fn people_view_sorts_filters_and_pages(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let mut tx = begin(&*store);
    let everyone = populate(tx.as_mut(), &org);
    // Another organization's people never show.
    populate(tx.as_mut(), &org_id(2));
    tx.commit().expect("commit");
    let now = t(100);
    let mut tx = begin(&*store);

    // By name, as a reader would sort the list: case-folded, ties by id.
    let by_name = walk(tx.as_mut(), &org, PeopleQuery::default(), now);
    assert_eq!(
        ids(&by_name),
        [
            "m.mem_7", "i.inv_3", "m.mem_1", "m.mem_4", "i.inv_5", "m.mem_2", "m.mem_10",
            "m.mem_5", "i.inv_4", "i.inv_2", "i.inv_1", "m.mem_8", "m.mem_3", "m.mem_9",
        ],
        "names folded (the unnamed by email), removed and closed left out"
    );
    let label_of = |pid: &str| {
        by_name
            .iter()
            .find(|p| p.pid() == pid)
            .map(|p| p.label)
            .expect(pid)
    };
    // Pending until the expiry, Expired from the expiry on.
    assert_eq!(label_of("i.inv_2"), PersonLabel::Expired, "expires at now");
    assert_eq!(label_of("i.inv_3"), PersonLabel::Pending);
    assert_eq!(label_of("i.inv_4"), PersonLabel::Expired);
    assert_eq!(label_of("i.inv_5"), PersonLabel::Expired, "persisted");
    assert_eq!(label_of("i.inv_1"), PersonLabel::Staged);
    let a_moment_before = walk(
        tx.as_mut(),
        &org,
        PeopleQuery {
            labels: vec![PersonLabel::Pending],
            ..PeopleQuery::default()
        },
        now - Duration::nanoseconds(1),
    );
    assert_eq!(ids(&a_moment_before), ["i.inv_3", "i.inv_2"]);

    let grp = |g: &str| Some(GroupId::from(g.to_owned()));
    let queries = [
        PeopleQuery::default(),
        PeopleQuery {
            labels: PersonLabel::ALL.to_vec(),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            labels: vec![PersonLabel::Expired, PersonLabel::Removed],
            ..PeopleQuery::default()
        },
        PeopleQuery {
            labels: vec![
                PersonLabel::Pending,
                PersonLabel::Staged,
                PersonLabel::Pending,
            ],
            ..PeopleQuery::default()
        },
        PeopleQuery {
            role: Some("admin".into()),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            group: grp("grp_b"),
            labels: PersonLabel::ALL.to_vec(),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            kind: Some(MemberKind::Guest),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            license_type: Some("pro".into()),
            group: grp("grp_a"),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            search: Some("ADA".into()),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            search: Some(" love".into()),
            labels: vec![PersonLabel::Active],
            ..PeopleQuery::default()
        },
        PeopleQuery {
            search: Some("ém".into()),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            search: Some("%".into()),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            search: Some("x'; drop".into()),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            search: Some("用".into()),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            search: Some("velace".into()),
            ..PeopleQuery::default()
        },
        PeopleQuery {
            search: Some("g".into()),
            labels: PersonLabel::ALL.to_vec(),
            role: Some("member".into()),
            ..PeopleQuery::default()
        },
    ];
    for q in &queries {
        for sort in PeopleSort::ALL {
            for descending in [false, true] {
                let q = PeopleQuery {
                    sort,
                    descending,
                    limit: 1000,
                    ..q.clone()
                };
                let want = scan_page(everyone.clone(), &q, now).expect("oracle");
                assert_eq!(want.next_cursor, None);
                for limit in [1, 2, 3, 1000] {
                    let got = walk(tx.as_mut(), &org, PeopleQuery { limit, ..q.clone() }, now);
                    assert_eq!(ids(&got), ids(&want.items), "{q:?} by {limit}");
                    assert_eq!(got, want.items, "{q:?}: the people themselves");
                }
            }
        }
    }
    // A few of those, spelled out.
    let search = |tx: &mut dyn Transaction, s: &str| {
        let q = PeopleQuery {
            search: Some(s.to_owned()),
            labels: PersonLabel::ALL.to_vec(),
            ..PeopleQuery::default()
        };
        ids(&walk(tx, &org, q, now))
    };
    assert_eq!(
        search(tx.as_mut(), "Ada"),
        ["i.inv_3", "m.mem_1", "m.mem_4"]
    );
    assert_eq!(
        search(tx.as_mut(), "lovelace"),
        ["m.mem_1", "m.mem_4", "m.mem_10"]
    );
    assert_eq!(search(tx.as_mut(), "ada love"), ["m.mem_1", "m.mem_4"]);
    assert_eq!(search(tx.as_mut(), "pat p"), ["i.inv_2"]);
    assert_eq!(search(tx.as_mut(), "gone"), ["m.mem_6"]);
    assert!(search(tx.as_mut(), "acme").is_empty());
    let by_label = walk(
        tx.as_mut(),
        &org,
        PeopleQuery {
            sort: PeopleSort::Label,
            labels: PersonLabel::ALL.to_vec(),
            ..PeopleQuery::default()
        },
        now,
    );
    let labels: Vec<PersonLabel> = by_label.iter().map(|p| p.label).collect();
    let mut sorted = labels.clone();
    sorted.sort_by_key(|l| l.rank());
    assert_eq!(labels, sorted);
    assert_eq!(labels.first(), Some(&PersonLabel::Active));
    assert_eq!(labels.last(), Some(&PersonLabel::Removed));
    // By last activity: members never active (ties by id), then the
    // invitations in the order they were made (not by id: `inv_5` is the
    // oldest), then activity.
    let by_last = |tx: &mut dyn Transaction, descending: bool| {
        let q = PeopleQuery {
            sort: PeopleSort::LastActive,
            descending,
            limit: 2,
            ..PeopleQuery::default()
        };
        ids(&walk(tx, &org, q, now))
    };
    let ascending = [
        "m.mem_1", "m.mem_10", "m.mem_4", "m.mem_7", "i.inv_5", "i.inv_1", "i.inv_2", "i.inv_3",
        "i.inv_4", "m.mem_9", "m.mem_2", "m.mem_5", "m.mem_3", "m.mem_8",
    ];
    assert_eq!(by_last(tx.as_mut(), false), ascending);
    let mut descending = ascending;
    descending.reverse();
    assert_eq!(by_last(tx.as_mut(), true), descending);
    // Cursors at the ends of the integers (a store that moves a cursor's
    // part by the invitations' offset must not overflow): past everyone
    // or before everyone, as the order says.
    use crate::store::people::{KeyPart, cursor};
    // Between members never active and invitations: the ten after them
    // ascending, the four of them descending.
    let everyone = ascending.len();
    for (seconds, ns, desc, want) in [
        (i64::MAX, 0, false, 0),
        (i64::MAX, 0, true, everyone),
        (i64::MIN, i64::MIN, false, everyone),
        (i64::MIN, i64::MIN, true, 0),
        (i64::MIN + 1, 0, false, everyone - 4),
        (i64::MIN + 1, 0, true, 4),
    ] {
        let pid = if ns == i64::MIN { "" } else { "z" };
        let key = [
            KeyPart::Int(seconds),
            KeyPart::Int(ns),
            KeyPart::Text(pid.into()),
        ];
        let q = PeopleQuery {
            sort: PeopleSort::LastActive,
            descending: desc,
            after: Some(cursor(PeopleSort::LastActive, desc, &key)),
            limit: 1000,
            ..PeopleQuery::default()
        };
        let got = tx
            .people(&org, &q, now)
            .expect("people after an extreme cursor");
        assert_eq!(
            got.items.len(),
            want,
            "after {seconds}, {ns}, descending {desc}"
        );
    }
}

/// The view follows every write: a renamed member is found by the new
/// name only, an accepted invitation leaves the list, a rolled-back write
/// leaves nothing, and a cursor of another list (or sort) is an error.
pub fn people_view_follows_writes(make: MakeStore<'_>) {
    let store = make();
    let org = org_id(1);
    let now = t(10);
    let find = |tx: &mut dyn Transaction, s: &str| {
        let q = PeopleQuery {
            search: Some(s.to_owned()),
            ..PeopleQuery::default()
        };
        ids(&walk(tx, &org, q, now))
    };
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("org");
    let mut ada = member(&org, "mem_1", "first@acme.test");
    ada.first_name = Some("Ada".into());
    tx.put_member(&ada).expect("member");
    let mut inv = pending(&org, "inv_1", "bo@acme.test", 1, 100);
    inv.first_name = Some("Bo".into());
    tx.put_invitation(&inv).expect("invitation");
    tx.commit().expect("commit");

    let mut tx = begin(&*store);
    assert_eq!(find(tx.as_mut(), "ada"), ["m.mem_1"]);
    ada.first_name = Some("Grace".into());
    ada.role = "admin".into();
    tx.put_member(&ada).expect("rename");
    assert!(find(tx.as_mut(), "ada").is_empty(), "the old name is gone");
    assert_eq!(find(tx.as_mut(), "grace"), ["m.mem_1"]);
    assert_eq!(find(tx.as_mut(), "bo"), ["i.inv_1"]);
    inv.status = InvitationStatus::Accepted;
    inv.secret_hash = None;
    tx.put_invitation(&inv).expect("accept");
    assert!(find(tx.as_mut(), "bo").is_empty(), "accepted: not a person");
    tx.commit().expect("commit");

    let mut tx = begin(&*store);
    let mut zed = member(&org, "mem_2", "zed@acme.test");
    zed.first_name = Some("Zed".into());
    tx.put_member(&zed).expect("member");
    assert_eq!(find(tx.as_mut(), "zed"), ["m.mem_2"], "its own write");
    drop(tx);
    let mut tx = begin(&*store);
    assert!(find(tx.as_mut(), "zed").is_empty(), "rolled back");
    let admins = walk(
        tx.as_mut(),
        &org,
        PeopleQuery {
            role: Some("admin".into()),
            ..PeopleQuery::default()
        },
        now,
    );
    assert_eq!(ids(&admins), ["m.mem_1"]);
    assert_eq!(
        admins.first().and_then(|p| p.name.clone()).as_deref(),
        Some("Grace")
    );

    // Cursors: another list's, another sort's, another direction's.
    let page = tx
        .people(
            &org,
            &PeopleQuery {
                limit: 1,
                ..PeopleQuery::default()
            },
            now,
        )
        .expect("people");
    let good = page.next_cursor.clone();
    assert!(good.is_none(), "one person, one page");
    let c = crate::store::people::cursor(
        PeopleSort::Name,
        false,
        &crate::store::people::sort_key(&Person::from_member(&ada), PeopleSort::Name),
    );
    for (sort, descending, after) in [
        (PeopleSort::Name, false, "m.00.00".to_owned()),
        (PeopleSort::Email, false, c.clone()),
        (PeopleSort::Name, true, c.clone()),
        (PeopleSort::Name, false, format!("{c}.t00")),
    ] {
        let q = PeopleQuery {
            sort,
            descending,
            after: Some(after),
            ..PeopleQuery::default()
        };
        let err = tx.people(&org, &q, now).expect_err("a bad cursor");
        assert!(
            matches!(&err, StoreError::InvalidCursor { list } if list == "people"),
            "{err}"
        );
    }
    // The cursor of the last person: nothing after it.
    let q = PeopleQuery {
        after: Some(c),
        ..PeopleQuery::default()
    };
    assert!(tx.people(&org, &q, now).expect("people").items.is_empty());
    // An unknown organization has nobody.
    let q = PeopleQuery::default();
    assert!(
        tx.people(&org_id(9), &q, now)
            .expect("people")
            .items
            .is_empty()
    );
}

//! [`Transaction::standing`]: where many recipient keys stand at once (the
//! directory assistant's one query), checked directly and against the key
//! by key answer of [`Transaction::member_by_contact`] and
//! [`Transaction::open_invitation_for`].
//!
//! [`Transaction::standing`]: crate::Transaction::standing
//! [`Transaction::member_by_contact`]: crate::Transaction::member_by_contact
//! [`Transaction::open_invitation_for`]: crate::Transaction::open_invitation_for

use super::entities::{begin, invitation, member, organization, pending, t};
use super::harness::MakeStore;
use crate::{InvitationId, InvitationStatus, KeyStanding, MemberId, MemberStatus, OrgId};

fn standing(member: Option<&str>, invitation: Option<&str>) -> KeyStanding {
    KeyStanding {
        member: member.map(|m| MemberId::from(m.to_owned())),
        invitation: invitation.map(|i| InvitationId::from(i.to_owned())),
    }
}

/// Members count unless removed; invitations while open at the time asked
/// about (staged, or pending before its expiry, to the nanosecond); keys
/// with nothing, repeated keys and other organizations' keys behave;
/// thousands of keys (more than one chunk of any store) come back in one
/// call, sorted; the transaction's own writes are seen.
pub fn standing_of_many_keys(make: MakeStore<'_>) {
    let store = make();
    let org = OrgId::from("org_1".to_owned());
    let other = OrgId::from("org_2".to_owned());
    let mut tx = begin(store.as_ref());
    tx.put_organization(&organization(&org)).unwrap();
    tx.put_organization(&organization(&other)).unwrap();
    tx.put_member(&member(&org, "m_active", "active@x.test"))
        .unwrap();
    let mut inactive = member(&org, "m_inactive", "inactive@x.test");
    inactive.status = MemberStatus::Inactive;
    tx.put_member(&inactive).unwrap();
    let mut removed = member(&org, "m_removed", "removed@x.test");
    removed.status = MemberStatus::Removed;
    tx.put_member(&removed).unwrap();
    tx.put_invitation(&invitation(&org, "i_staged", "staged@x.test"))
        .unwrap();
    tx.put_invitation(&pending(&org, "i_pending", "pending@x.test", 1, 100))
        .unwrap();
    tx.put_invitation(&pending(&org, "i_due", "due@x.test", 2, 50))
        .unwrap();
    let mut revoked = pending(&org, "i_revoked", "revoked@x.test", 3, 100);
    revoked.status = InvitationStatus::Revoked;
    tx.put_invitation(&revoked).unwrap();
    // The removed member was invited again.
    tx.put_invitation(&invitation(&org, "i_again", "removed@x.test"))
        .unwrap();
    tx.put_member(&member(&other, "m_other", "other@x.test"))
        .unwrap();
    tx.commit().unwrap();

    let mut keys: Vec<String> = [
        "pending@x.test",
        "active@x.test",
        "inactive@x.test",
        "removed@x.test",
        "staged@x.test",
        "due@x.test",
        "revoked@x.test",
        "nobody@x.test",
        "other@x.test",
        "active@x.test",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    // More keys than one chunk of any store, nobody's.
    keys.extend((0..2_500).map(|i| format!("p{i}@y.test")));
    let mut tx = begin(store.as_ref());
    let at = |secs: i64| t(secs);
    let got = tx.standing(&org, &keys, at(50)).unwrap();
    let expected = vec![
        ("active@x.test".to_owned(), standing(Some("m_active"), None)),
        (
            "inactive@x.test".to_owned(),
            standing(Some("m_inactive"), None),
        ),
        (
            "pending@x.test".to_owned(),
            standing(None, Some("i_pending")),
        ),
        ("removed@x.test".to_owned(), standing(None, Some("i_again"))),
        ("staged@x.test".to_owned(), standing(None, Some("i_staged"))),
    ];
    assert_eq!(got, expected, "at the due invitation's expiry");
    // A nanosecond before its expiry, the due invitation is still open.
    let before = at(50) - chrono::Duration::nanoseconds(1);
    let got = tx.standing(&org, &keys, before).unwrap();
    assert!(
        got.contains(&("due@x.test".to_owned(), standing(None, Some("i_due")))),
        "{got:?}"
    );
    // The same answer as key by key.
    for key in &keys[..9] {
        let one = KeyStanding {
            member: tx.member_by_contact(&org, key).unwrap().map(|m| m.id),
            invitation: tx
                .open_invitation_for(&org, key)
                .unwrap()
                .filter(|i| i.status_at(at(50)).is_open())
                .map(|i| i.invitation.id),
        };
        let many = got_for(&tx.standing(&org, &keys, at(50)).unwrap(), key);
        assert_eq!(many, one, "{key}");
    }
    // Own writes are seen; other organizations and unknown ones are empty.
    tx.put_member(&member(&org, "m_new", "p7@y.test")).unwrap();
    let got = tx.standing(&org, &keys, at(50)).unwrap();
    assert_eq!(got_for(&got, "p7@y.test"), standing(Some("m_new"), None));
    assert_eq!(
        tx.standing(&other, &keys, at(50)).unwrap(),
        vec![("other@x.test".to_owned(), standing(Some("m_other"), None))]
    );
    let nowhere = OrgId::from("org_9".to_owned());
    assert!(tx.standing(&nowhere, &keys, at(50)).unwrap().is_empty());
    assert!(tx.standing(&org, &[], at(50)).unwrap().is_empty());
    // Hostile keys are nobody's.
    let odd: Vec<String> = ["a\0b", "'; DROP TABLE members; --", "%", "_", ""]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert!(tx.standing(&org, &odd, at(50)).unwrap().is_empty());
}

fn got_for(got: &[(String, KeyStanding)], key: &str) -> KeyStanding {
    got.iter()
        .find(|(k, _)| k == key)
        .map(|(_, s)| s.clone())
        .unwrap_or_default()
}

//! Everything a store holds about some organizations, read through the
//! `Transaction` API alone (entities, lookups by every index, derived
//! counts, due lists), so that two snapshots compare whole states.

use super::entities::t;
use crate::{
    Event, Group, InvitationQuery, Member, MemberQuery, MemberStatus, MessageId, OrgId,
    Organization, OutboxMessage, SeatCount, Store, StoredInvitation, StoredInviteLink, Transaction,
};

/// A time after everything the tests schedule.
pub fn far_future() -> chrono::DateTime<chrono::Utc> {
    t(100 * 365 * 24 * 3600)
}

/// One organization's state.
#[derive(Debug, PartialEq)]
pub struct OrgState {
    /// The organization.
    pub organization: Option<Organization>,
    /// Its groups by id, with counts.
    pub groups: Vec<Group>,
    /// Every member (removed ones too), in list order.
    pub members: Vec<Member>,
    /// For each member: who `member_by_contact` and `member_by_user_ref`
    /// return for its keys.
    pub member_lookups: Vec<(Option<Member>, Option<Member>)>,
    /// Active members per role, for each role in use.
    pub active_per_role: Vec<(String, u64)>,
    /// Every invitation, newest first.
    pub invitations: Vec<StoredInvitation>,
    /// For each invitation: what its secret and its recipient key find,
    /// and its queued messages.
    pub invitation_lookups: Vec<(
        Option<StoredInvitation>,
        Option<StoredInvitation>,
        Vec<OutboxMessage>,
    )>,
    /// Seats per license type, sorted.
    pub seats: Vec<(String, SeatCount)>,
    /// The invitation link.
    pub link: Option<StoredInviteLink>,
    /// The audit trail.
    pub events: Vec<Event>,
    /// Stored-pending invitations, by expiry.
    pub due_invitations: Vec<StoredInvitation>,
    /// Queued messages, by next attempt.
    pub due_outbox: Vec<OutboxMessage>,
    /// The email settings.
    pub email_settings: Option<crate::EmailSettings>,
    /// The email templates, by locale.
    pub email_templates: Vec<crate::EmailTemplate>,
}

/// The state of several organizations and some messages.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    /// Per organization.
    pub orgs: Vec<OrgState>,
    /// The due invitations of every organization.
    pub due_invitations: Vec<StoredInvitation>,
    /// The due messages of every organization.
    pub due_outbox: Vec<OutboxMessage>,
    /// Messages looked up by id.
    pub messages: Vec<Option<OutboxMessage>>,
}

/// Reads the state of `orgs` and of the messages `msgs` in one transaction
/// (dropped without commit).
pub fn snapshot(store: &dyn Store, orgs: &[OrgId], msgs: &[MessageId]) -> Snapshot {
    let mut tx = store.begin().expect("begin a read transaction");
    let snap = read_all(tx.as_mut(), orgs, msgs);
    drop(tx);
    snap
}

/// Like [`snapshot`], inside a transaction the caller holds.
pub fn read_all(tx: &mut dyn Transaction, orgs: &[OrgId], msgs: &[MessageId]) -> Snapshot {
    let far = far_future();
    Snapshot {
        orgs: orgs.iter().map(|o| read_org(tx, o)).collect(),
        due_invitations: tx
            .due_invitations(None, far, 100_000)
            .expect("due_invitations"),
        due_outbox: tx.due_outbox(None, far, 100_000).expect("due_outbox"),
        messages: msgs
            .iter()
            .map(|m| tx.outbox_message(m).expect("outbox_message"))
            .collect(),
    }
}

/// Every member of `org`, all statuses, walking the pages.
pub fn all_members(tx: &mut dyn Transaction, org: &OrgId, mut q: MemberQuery) -> Vec<Member> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let page = tx.list_members(org, &q).expect("list_members");
        assert!(
            page.items.len() <= q.limit.max(1) as usize,
            "page too large"
        );
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("member pagination does not end");
}

/// Every invitation of `org` matching `q` at `now`, walking the pages.
pub fn all_invitations(
    tx: &mut dyn Transaction,
    org: &OrgId,
    mut q: InvitationQuery,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<StoredInvitation> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let page = tx.list_invitations(org, &q, now).expect("list_invitations");
        assert!(
            page.items.len() <= q.limit.max(1) as usize,
            "page too large"
        );
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
    panic!("invitation pagination does not end");
}

fn read_org(tx: &mut dyn Transaction, org: &OrgId) -> OrgState {
    let far = far_future();
    let mut groups = tx.groups(org).expect("groups");
    groups.sort_by(|a, b| a.id.cmp(&b.id));
    for g in &groups {
        assert_eq!(
            tx.group(org, &g.id).expect("group").as_ref(),
            Some(g),
            "group() and groups() agree"
        );
    }
    let members = all_members(
        tx,
        org,
        MemberQuery {
            statuses: vec![
                MemberStatus::Active,
                MemberStatus::Inactive,
                MemberStatus::Removed,
            ],
            limit: 1000,
            ..MemberQuery::default()
        },
    );
    let member_lookups = members
        .iter()
        .map(|m| {
            assert_eq!(
                tx.member(org, &m.id).expect("member").as_ref(),
                Some(m),
                "member() and list_members() agree"
            );
            (
                tx.member_by_contact(org, &m.contact_key)
                    .expect("member_by_contact"),
                m.user_ref
                    .as_ref()
                    .map(|u| tx.member_by_user_ref(org, u).expect("member_by_user_ref"))
                    .unwrap_or_default(),
            )
        })
        .collect();
    let mut roles: Vec<String> = members.iter().map(|m| m.role.to_string()).collect();
    roles.sort();
    roles.dedup();
    let active_per_role = roles
        .into_iter()
        .map(|r| {
            let n = tx.count_active_with_role(org, &r).expect("count");
            (r, n)
        })
        .collect();
    let invitations = all_invitations(
        tx,
        org,
        InvitationQuery {
            limit: 1000,
            ..InvitationQuery::default()
        },
        t(0),
    );
    let invitation_lookups = invitations
        .iter()
        .map(|i| {
            assert_eq!(
                tx.invitation(org, &i.id).expect("invitation").as_ref(),
                Some(i),
                "invitation() and list_invitations() agree"
            );
            (
                i.secret_hash
                    .as_ref()
                    .map(|h| tx.invitation_by_secret(org, h).expect("by secret"))
                    .unwrap_or_default(),
                tx.open_invitation_for(org, &i.recipient_key)
                    .expect("open_invitation_for"),
                tx.queued_messages_for(org, &i.id).expect("queued"),
            )
        })
        .collect();
    let mut seats = tx.seat_counts(org).expect("seat_counts");
    seats.sort_by(|a, b| a.0.cmp(&b.0));
    for (lt, c) in &seats {
        assert_eq!(
            &tx.seat_count(org, lt).expect("seat_count"),
            c,
            "seat_count and seat_counts agree"
        );
    }
    OrgState {
        organization: tx.organization(org).expect("organization"),
        groups,
        members,
        member_lookups,
        active_per_role,
        invitations,
        invitation_lookups,
        seats,
        link: tx.invite_link(org).expect("invite_link"),
        events: tx.events(org, 0, 100_000).expect("events"),
        due_invitations: tx
            .due_invitations(Some(org), far, 100_000)
            .expect("due_invitations"),
        due_outbox: tx.due_outbox(Some(org), far, 100_000).expect("due_outbox"),
        email_settings: tx.email_settings(org).expect("email_settings"),
        email_templates: {
            let all = tx.email_templates(org).expect("email_templates");
            for t in &all {
                assert_eq!(
                    tx.email_template(org, &t.locale)
                        .expect("email_template")
                        .as_ref(),
                    Some(t),
                    "email_template() and email_templates() agree"
                );
            }
            all
        },
    }
}

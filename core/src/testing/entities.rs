//! Entities built directly, for the transaction-level tests. The domain
//! types are `#[non_exhaustive]`, so they are built from their serde form
//! (which is part of their public contract) and then adjusted field by
//! field.

use super::harness::at;
use crate::{
    Actor, Event, EventKind, Group, InvitationId, Member, OrgId, Organization, OutboxMessage,
    SecretHash, Store, StoredInvitation, StoredInviteLink, Transaction,
};
use chrono::{DateTime, Utc};
use serde_json::json;

/// `at(secs)`: a time relative to the tests' start.
pub fn t(secs: i64) -> DateTime<Utc> {
    at(secs)
}

/// A hash made of one repeated byte.
pub fn hash(n: u8) -> SecretHash {
    SecretHash([n; 32])
}

/// An organization with the default policy.
pub fn organization(id: &OrgId) -> Organization {
    serde_json::from_value(json!({
        "id": id,
        "name": format!("Org {id}"),
        "policy": {},
        "custom_roles": [],
        "created_at": t(0),
    }))
    .expect("an organization")
}

/// A group (its member count, 999, must be ignored by the store).
pub fn group(org: &OrgId, id: &str) -> Group {
    serde_json::from_value(json!({
        "org_id": org,
        "id": id,
        "name": id,
        "description": "",
        "is_default": false,
        "member_count": 999,
        "created_at": t(0),
    }))
    .expect("a group")
}

/// An active standard member reached by email `key`.
pub fn member(org: &OrgId, id: &str, key: &str) -> Member {
    serde_json::from_value(json!({
        "org_id": org,
        "id": id,
        "user_ref": null,
        "contact": {"type": "email", "value": key},
        "contact_key": key,
        "first_name": null,
        "last_name": null,
        "phone": null,
        "role": "member",
        "kind": "member",
        "license_type": "standard",
        "status": "active",
        "groups": [],
        "joined_at": t(0),
        "last_active_at": null,
        "eula_version": null,
        "two_factor_enrolled": false,
        "removed_at": null,
    }))
    .expect("a member")
}

/// A staged standard invitation for email `key`, in batch `bat_1`.
pub fn invitation(org: &OrgId, id: &str, key: &str) -> StoredInvitation {
    serde_json::from_value(json!({
        "org_id": org,
        "id": id,
        "batch_id": "bat_1",
        "recipient": {"type": "email", "value": key},
        "recipient_key": key,
        "display_name": null,
        "first_name": null,
        "last_name": null,
        "kind": "member",
        "role": "member",
        "groups": [],
        "license_type": "standard",
        "inviter": null,
        "message": null,
        "created_at": t(0),
        "expires_at": null,
        "status": "staged",
        "secret_hash": null,
        "send_count": 0,
        "last_sent_at": null,
        "failed_attempts": 0,
        "closed_at": null,
        "member_id": null,
    }))
    .expect("an invitation")
}

/// A pending invitation with a secret and an expiry.
pub fn pending(org: &OrgId, id: &str, key: &str, secret: u8, expires: i64) -> StoredInvitation {
    let mut inv = invitation(org, id, key);
    inv.status = crate::InvitationStatus::Pending;
    inv.secret_hash = Some(hash(secret));
    inv.expires_at = Some(t(expires));
    inv.send_count = 1;
    inv.last_sent_at = Some(t(0));
    inv
}

/// An active invitation link.
pub fn link(org: &OrgId, secret: u8) -> StoredInviteLink {
    serde_json::from_value(json!({
        "org_id": org,
        "role": "member",
        "kind": "member",
        "groups": [],
        "license_type": "standard",
        "secret_hash": hash(secret),
        "active": true,
        "created_by": null,
        "created_at": t(0),
        "uses": 0,
    }))
    .expect("a link")
}

/// A named invitation link `id` created at `t(created)`, with secret
/// `secret`.
pub fn named_link(org: &OrgId, id: &str, secret: u8, created: i64) -> StoredInviteLink {
    let mut l = link(org, secret);
    l.link.id = id.into();
    l.link.name = format!("link {id}");
    l.link.created_at = t(created);
    l
}

/// A queued message of invitation `inv`, due at `t(next)`.
pub fn message(org: &OrgId, id: &str, inv: &str, next: i64) -> OutboxMessage {
    serde_json::from_value(json!({
        "id": id,
        "org_id": org,
        "invitation_id": inv,
        "email": {
            "message_id": id,
            "to": "a@x.test",
            "to_name": null,
            "subject": "Join",
            "text_body": "Open https://x.test/accept?token=abc to join",
            "accept_url": "https://x.test/accept?token=abc",
            "org_name": "Org",
            "inviter_name": null,
            "personal_message": null,
            "expires_at": t(1000),
        },
        "status": "queued",
        "attempts": 0,
        "next_attempt_at": t(next),
        "last_error": null,
        "created_at": t(0),
        "sent_at": null,
    }))
    .expect("a message")
}

/// An event (its seq, 12345, must be ignored by the store).
pub fn event(org: &OrgId, n: u32) -> Event {
    Event {
        org_id: org.clone(),
        seq: 12345,
        at: t(i64::from(n)),
        actor: Actor::System,
        kind: EventKind::InvitationRevoked {
            invitation: InvitationId::from(format!("inv_{n}")),
        },
    }
}

/// Begins a transaction, or fails the test.
pub fn begin(store: &dyn Store) -> Box<dyn Transaction + '_> {
    store.begin().expect("begin a transaction")
}

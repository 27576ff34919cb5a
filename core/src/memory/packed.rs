//! The forms MemoryStore keeps invitations, outbox messages and report
//! rows in: the fields every one has, inline, and the ones most never set
//! (an invitation's names, message, metadata and sealed code; a queued
//! email's bodies, error and the like; a row's names and error) in a box
//! that one without them does without. An invitation's lock and close
//! have a small box of their own.
//!
//! A [`StoredInvitation`] is 632 bytes, most of them empty options, maps
//! and vectors; an invitation by email from a pasted address sets none of
//! them. Kept whole, they were a quarter of the memory an invitation
//! issued costs the store, and fresh memory is what issuing into a large
//! organization waits on (each new page a fault, issue 15). Packed, such
//! an invitation is 256 bytes, its queued email's id among them (and 48
//! more in a box of its own once it is closed). Its queued email, an [`OutboxMessage`] of
//! 376 bytes, is 184, and its row of the kept batch report, a
//! [`ReportRow`] of 184 bytes, is 72. Each is made whole again only to be
//! handed out; the indexes read them as they are.

use crate::group::GroupGrant;
use crate::id::MessageId;
use crate::id::{BatchId, InvitationId, MemberId, OrgId};
use crate::invitation::{Invitation, InvitationStatus, SecretLookup, StoredInvitation};
use crate::member::{Attributes, Contact, MemberKind};
use crate::metadata::Metadata;
use crate::outbox::{EmailDraft, OutboxMessage, OutboxStatus, OutgoingEmail};
use crate::people::{InvitationParts, Person};
use crate::report::{BatchReport, ReportRow, RowOutcome};
use crate::seal::SealedCode;
use crate::secret::SecretHash;
use crate::text::Text;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A stored invitation as MemoryStore keeps it (module doc). The fields
/// have the names of [`Invitation`]'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PackedInvitation {
    pub(super) org_id: OrgId,
    pub(super) id: InvitationId,
    pub(super) batch_id: BatchId,
    pub(super) recipient: Contact,
    pub(super) recipient_key: Text,
    pub(super) role: Text,
    pub(super) license_type: Text,
    pub(super) inviter: Option<MemberId>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) expires_at: Option<DateTime<Utc>>,
    pub(super) last_sent_at: Option<DateTime<Utc>>,
    pub(super) secret_hash: Option<SecretHash>,
    pub(super) send_count: u32,
    pub(super) failed_attempts: u32,
    pub(super) status: InvitationStatus,
    pub(super) kind: MemberKind,
    pub(super) active: bool,
    pub(super) secret_lookup: SecretLookup,
    /// The fields most invitations are issued without; `None` when all
    /// are unset.
    rest: Option<Box<Rest>>,
    /// The fields set once an invitation is locked or closed; `None`
    /// while none is. Apart from [`Self::rest`]: most invitations end
    /// closed (accepted, expired, revoked), and an accepted invitation
    /// by bare address would otherwise carry the whole box of names and
    /// metadata for three fields.
    later: Option<Box<Later>>,
    /// The smallest id among the invitation's queued emails: where the
    /// store's queue index keeps the usual invitation's one queued email
    /// (read with the invitation at an accept; its others, and those of an
    /// invitation not stored, are in the organization's
    /// [`OrgData::queued_outbox`](super::state::OrgData::queued_outbox)).
    /// Not a field of the invitation: [`Self::of`] leaves it empty,
    /// [`Self::unpack`] drops it, and [`State`](super::state::State) keeps
    /// it as it writes invitations and messages.
    pub(super) queued: Option<MessageId>,
}

/// The fields of an invitation that most are issued without.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Rest {
    display_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    groups: Vec<GroupGrant>,
    message: Option<String>,
    locale: Option<String>,
    attributes: Attributes,
    lifetime_secs: Option<u64>,
    redirect_url: Option<String>,
    public_metadata: Metadata,
    private_metadata: Metadata,
    user_ref: Option<String>,
    sealed_code: Option<SealedCode>,
}

/// The fields of [`Rest`] as an invitation holds them, borrowed: whether
/// all are unset, and the box made of them when not. Both name every field
/// (a destructuring and a struct literal), so a field added to `Rest` is a
/// compile error in [`Self::to_rest`] until it is here, and then an unused
/// binding in [`Self::is_unset`] until it is tested (a warning, which the
/// project's `clippy -D warnings` refuses): none can be dropped from an
/// invitation that sets nothing else. The two destructurings are one on
/// purpose each: folded into one, the box's literal would use the binding
/// and the missing test would go unnoticed.
struct RestView<'a> {
    display_name: &'a Option<String>,
    first_name: &'a Option<String>,
    last_name: &'a Option<String>,
    groups: &'a Vec<GroupGrant>,
    message: &'a Option<String>,
    locale: &'a Option<String>,
    attributes: &'a Attributes,
    lifetime_secs: &'a Option<u64>,
    redirect_url: &'a Option<String>,
    public_metadata: &'a Metadata,
    private_metadata: &'a Metadata,
    user_ref: &'a Option<String>,
    sealed_code: &'a Option<SealedCode>,
}

impl RestView<'_> {
    /// Whether every field is unset (an invitation without the box).
    fn is_unset(&self) -> bool {
        let Self {
            display_name,
            first_name,
            last_name,
            groups,
            message,
            locale,
            attributes,
            lifetime_secs,
            redirect_url,
            public_metadata,
            private_metadata,
            user_ref,
            sealed_code,
        } = self;
        display_name.is_none()
            && first_name.is_none()
            && last_name.is_none()
            && groups.is_empty()
            && message.is_none()
            && locale.is_none()
            && attributes.is_empty()
            && lifetime_secs.is_none()
            && redirect_url.is_none()
            && **public_metadata == Metadata::default()
            && **private_metadata == Metadata::default()
            && user_ref.is_none()
            && sealed_code.is_none()
    }

    /// The box, its fields copied.
    fn to_rest(&self) -> Box<Rest> {
        let Self {
            display_name,
            first_name,
            last_name,
            groups,
            message,
            locale,
            attributes,
            lifetime_secs,
            redirect_url,
            public_metadata,
            private_metadata,
            user_ref,
            sealed_code,
        } = self;
        Box::new(Rest {
            display_name: (*display_name).clone(),
            first_name: (*first_name).clone(),
            last_name: (*last_name).clone(),
            groups: (*groups).clone(),
            message: (*message).clone(),
            locale: (*locale).clone(),
            attributes: (*attributes).clone(),
            lifetime_secs: **lifetime_secs,
            redirect_url: (*redirect_url).clone(),
            public_metadata: (*public_metadata).clone(),
            private_metadata: (*private_metadata).clone(),
            user_ref: (*user_ref).clone(),
            sealed_code: (*sealed_code).clone(),
        })
    }
}

/// The fields of an invitation set after it is issued: a lock after wrong
/// access codes, its close, the member it made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Later {
    locked_until: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    member_id: Option<MemberId>,
}

impl PackedInvitation {
    /// `inv`, packed (its texts shared, its unset fields dropped).
    pub(super) fn of(inv: &StoredInvitation) -> Self {
        // Every field named: a field added to the invitation is a compile
        // error here until it is kept.
        let StoredInvitation {
            invitation:
                Invitation {
                    org_id,
                    id,
                    batch_id,
                    recipient,
                    recipient_key,
                    display_name,
                    first_name,
                    last_name,
                    kind,
                    role,
                    groups,
                    license_type,
                    inviter,
                    message,
                    locale,
                    created_at,
                    expires_at,
                    status,
                    send_count,
                    last_sent_at,
                    failed_attempts,
                    locked_until,
                    closed_at,
                    member_id,
                    active,
                    attributes,
                    lifetime_secs,
                    redirect_url,
                    public_metadata,
                    private_metadata,
                    user_ref,
                },
            secret_hash,
            sealed_code,
            secret_lookup,
        } = inv;
        let rest = RestView {
            display_name,
            first_name,
            last_name,
            groups,
            message,
            locale,
            attributes,
            lifetime_secs,
            redirect_url,
            public_metadata,
            private_metadata,
            user_ref,
            sealed_code,
        };
        let rest = (!rest.is_unset()).then(|| rest.to_rest());
        Self {
            org_id: org_id.clone(),
            id: id.clone(),
            batch_id: batch_id.clone(),
            recipient: recipient.clone(),
            recipient_key: recipient_key.clone(),
            role: role.clone(),
            license_type: license_type.clone(),
            inviter: inviter.clone(),
            created_at: *created_at,
            expires_at: *expires_at,
            last_sent_at: *last_sent_at,
            secret_hash: *secret_hash,
            send_count: *send_count,
            failed_attempts: *failed_attempts,
            status: *status,
            kind: *kind,
            active: *active,
            secret_lookup: *secret_lookup,
            rest,
            later: (locked_until.is_some() || closed_at.is_some() || member_id.is_some()).then(
                || {
                    Box::new(Later {
                        locked_until: *locked_until,
                        closed_at: *closed_at,
                        member_id: member_id.clone(),
                    })
                },
            ),
            queued: None,
        }
    }

    /// The stored invitation this is, as it was put.
    pub(super) fn unpack(&self) -> StoredInvitation {
        let rest = self.rest.as_deref().cloned().unwrap_or_default();
        let later = self.later.as_deref().cloned().unwrap_or_default();
        StoredInvitation {
            invitation: Invitation {
                org_id: self.org_id.clone(),
                id: self.id.clone(),
                batch_id: self.batch_id.clone(),
                recipient: self.recipient.clone(),
                recipient_key: self.recipient_key.clone(),
                display_name: rest.display_name,
                first_name: rest.first_name,
                last_name: rest.last_name,
                kind: self.kind,
                role: self.role.clone(),
                groups: rest.groups,
                license_type: self.license_type.clone(),
                inviter: self.inviter.clone(),
                message: rest.message,
                locale: rest.locale,
                created_at: self.created_at,
                expires_at: self.expires_at,
                status: self.status,
                send_count: self.send_count,
                last_sent_at: self.last_sent_at,
                failed_attempts: self.failed_attempts,
                locked_until: later.locked_until,
                closed_at: later.closed_at,
                member_id: later.member_id,
                active: self.active,
                attributes: rest.attributes,
                lifetime_secs: rest.lifetime_secs,
                redirect_url: rest.redirect_url,
                public_metadata: rest.public_metadata,
                private_metadata: rest.private_metadata,
                user_ref: rest.user_ref,
            },
            secret_hash: self.secret_hash,
            sealed_code: rest.sealed_code,
            secret_lookup: self.secret_lookup,
        }
    }

    /// The person of the people view it is ([`Person::from_invitation`]),
    /// read where it lies.
    pub(super) fn person(&self) -> Option<Person> {
        let rest = self.rest.as_deref();
        Person::from_invitation_parts(InvitationParts {
            org_id: &self.org_id,
            id: &self.id,
            status: self.status,
            first_name: rest.and_then(|r| r.first_name.as_ref()),
            last_name: rest.and_then(|r| r.last_name.as_ref()),
            display_name: rest.and_then(|r| r.display_name.as_ref()),
            recipient: &self.recipient,
            recipient_key: &self.recipient_key,
            role: &self.role,
            groups: rest.map_or(&[][..], |r| &r.groups),
            license_type: &self.license_type,
            kind: self.kind,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }

    /// The host account it is for, if any
    /// ([`Invitation::user_ref`]).
    pub(super) fn user_ref(&self) -> Option<&str> {
        self.rest.as_ref()?.user_ref.as_deref()
    }

    /// [`StoredInvitation::lookup_hash`].
    pub(super) fn lookup_hash(&self) -> Option<&SecretHash> {
        crate::invitation::lookup_hash(self.secret_lookup, self.secret_hash.as_ref())
    }

    /// [`Invitation::status_at`].
    pub(super) fn status_at(&self, now: DateTime<Utc>) -> InvitationStatus {
        crate::invitation::status_at(self.status, self.expires_at, now)
    }
}

/// An outbox message as MemoryStore keeps it (module doc). The fields
/// have the names of [`OutboxMessage`]'s and [`OutgoingEmail`]'s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PackedMessage {
    pub(super) id: MessageId,
    pub(super) org_id: OrgId,
    pub(super) invitation_id: InvitationId,
    pub(super) to: Text,
    pub(super) accept_url: String,
    pub(super) org_name: Text,
    pub(super) inviter_name: Option<Text>,
    pub(super) draft: Option<Arc<EmailDraft>>,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) next_attempt_at: DateTime<Utc>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) attempts: u32,
    pub(super) status: OutboxStatus,
    /// The fields a queued draft leaves unset; `None` when all are.
    rest: Option<Box<MessageRest>>,
}

/// The fields of an outbox message that a queued draft leaves unset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct MessageRest {
    /// The email's own id, where it is not the message's.
    message_id: Option<MessageId>,
    to_name: Option<String>,
    subject: String,
    text_body: String,
    html_body: Option<String>,
    reply_to: Option<String>,
    personal_message: Option<String>,
    last_error: Option<String>,
    sent_at: Option<DateTime<Utc>>,
}

impl PackedMessage {
    /// `m`, packed (its texts moved, its unset fields dropped).
    pub(super) fn of(m: OutboxMessage) -> Self {
        // Every field named, as for invitations.
        let OutboxMessage {
            id,
            org_id,
            invitation_id,
            email:
                OutgoingEmail {
                    message_id,
                    to,
                    to_name,
                    subject,
                    text_body,
                    html_body,
                    accept_url,
                    org_name,
                    inviter_name,
                    reply_to,
                    personal_message,
                    expires_at,
                },
            status,
            attempts,
            next_attempt_at,
            last_error,
            created_at,
            sent_at,
            draft,
        } = m;
        let rest = MessageRest {
            message_id: (message_id != id).then_some(message_id),
            to_name,
            subject,
            text_body,
            html_body,
            reply_to,
            personal_message,
            last_error,
            sent_at,
        };
        Self {
            id,
            org_id,
            invitation_id,
            to,
            accept_url,
            org_name,
            inviter_name,
            draft,
            expires_at,
            next_attempt_at,
            created_at,
            attempts,
            status,
            rest: (rest != MessageRest::default()).then(|| Box::new(rest)),
        }
    }

    /// The message this is, as it was put.
    pub(super) fn unpack(&self) -> OutboxMessage {
        let rest = self.rest.as_deref().cloned().unwrap_or_default();
        OutboxMessage {
            id: self.id.clone(),
            org_id: self.org_id.clone(),
            invitation_id: self.invitation_id.clone(),
            email: OutgoingEmail {
                message_id: rest.message_id.unwrap_or_else(|| self.id.clone()),
                to: self.to.clone(),
                to_name: rest.to_name,
                subject: rest.subject,
                text_body: rest.text_body,
                html_body: rest.html_body,
                accept_url: self.accept_url.clone(),
                org_name: self.org_name.clone(),
                inviter_name: self.inviter_name.clone(),
                reply_to: rest.reply_to,
                personal_message: rest.personal_message,
                expires_at: self.expires_at,
            },
            status: self.status,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
            last_error: rest.last_error,
            created_at: self.created_at,
            sent_at: rest.sent_at,
            draft: self.draft.clone(),
        }
    }

    /// What superseding changes (the status, the link and the bodies that
    /// show it), as they are now.
    pub(super) fn superseded_parts(&self) -> SupersededParts {
        let (text_body, html_body) = match self.rest.as_deref() {
            Some(r) => (r.text_body.clone(), r.html_body.clone()),
            None => (String::new(), None),
        };
        SupersededParts {
            status: self.status,
            accept_url: self.accept_url.clone(),
            text_body,
            html_body,
        }
    }

    /// Puts back what [`Self::superseded_parts`] took.
    pub(super) fn restore(&mut self, parts: SupersededParts) {
        self.status = parts.status;
        self.accept_url = parts.accept_url;
        if parts.text_body.is_empty() && parts.html_body.is_none() && self.rest.is_none() {
            return;
        }
        let rest = self.rest.get_or_insert_with(Box::default);
        rest.text_body = parts.text_body;
        rest.html_body = parts.html_body;
    }

    /// Superseded where it lies: its status, and its link out of it and of
    /// its bodies ([`OutboxMessage::redact`]).
    pub(super) fn supersede(&mut self) {
        self.status = OutboxStatus::Superseded;
        let (mut no_text, mut no_html) = (String::new(), None);
        let (text, html) = match self.rest.as_deref_mut() {
            Some(r) => (&mut r.text_body, &mut r.html_body),
            None => (&mut no_text, &mut no_html),
        };
        crate::outbox::redact_parts(&mut self.accept_url, text, html);
    }
}

/// The parts of an outbox message that superseding changes, as they were
/// (an undo entry).
#[derive(Debug)]
pub(super) struct SupersededParts {
    status: OutboxStatus,
    accept_url: String,
    text_body: String,
    html_body: Option<String>,
}

/// A batch report as MemoryStore keeps it: its rows packed (module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PackedReport {
    /// The report without its rows.
    head: BatchReport,
    rows: Vec<PackedRow>,
}

/// A report row: what every row has inline, its names, groups and error
/// in one box that an issued row by bare address does without.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PackedRow {
    line: u64,
    target_id: Option<Text>,
    contact: Text,
    role: Option<Text>,
    outcome: RowOutcome,
    rest: Option<Box<RowRest>>,
}

/// The fields of a report row that most rows leave unset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct RowRest {
    first_name: Option<String>,
    last_name: Option<String>,
    groups: Vec<String>,
    error_code: Option<String>,
    error_message: Option<String>,
}

impl PackedReport {
    /// `report`, packed (its texts moved).
    pub(super) fn of(mut report: BatchReport) -> Self {
        let given = std::mem::take(&mut report.rows);
        // A new allocation of the packed size: collected from the rows'
        // own iterator, the packed rows would reuse theirs, at its size.
        let mut rows = Vec::with_capacity(given.len());
        rows.extend(given.into_iter().map(|row| {
            let ReportRow {
                line,
                target_id,
                contact,
                first_name,
                last_name,
                role,
                groups,
                outcome,
                error_code,
                error_message,
            } = row;
            let rest = RowRest {
                first_name,
                last_name,
                groups,
                error_code,
                error_message,
            };
            PackedRow {
                line,
                target_id,
                contact,
                role,
                outcome,
                rest: (rest != RowRest::default()).then(|| Box::new(rest)),
            }
        }));
        Self { head: report, rows }
    }

    /// The report this is, as it was put.
    pub(super) fn unpack(&self) -> BatchReport {
        let mut report = self.head.clone();
        report.rows = self
            .rows
            .iter()
            .map(|row| {
                let rest = row.rest.as_deref().cloned().unwrap_or_default();
                ReportRow {
                    line: row.line,
                    target_id: row.target_id.clone(),
                    contact: row.contact.clone(),
                    first_name: rest.first_name,
                    last_name: rest.last_name,
                    role: row.role.clone(),
                    groups: rest.groups,
                    outcome: row.outcome,
                    error_code: rest.error_code,
                    error_message: rest.error_message,
                }
            })
            .collect();
        report
    }

    /// When the report was made.
    pub(super) fn created_at(&self) -> DateTime<Utc> {
        self.head.created_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plain() -> StoredInvitation {
        let now = DateTime::from_timestamp(1_800_000_000, 5).unwrap_or_default();
        serde_json::from_value(serde_json::json!({
            "org_id": "org_1", "id": "inv_1", "batch_id": "bat_1",
            "recipient": {"type": "email", "value": "Ada@x.test"},
            "recipient_key": "ada@x.test",
            "display_name": null, "first_name": null, "last_name": null, "kind": "member",
            "role": "member", "groups": [], "license_type": "standard", "inviter": "mem_1",
            "message": null, "created_at": now, "expires_at": now,
            "status": "pending", "secret_hash": SecretHash::of(b"t"), "send_count": 1,
            "last_sent_at": now, "failed_attempts": 0, "closed_at": null, "member_id": null
        }))
        .expect("an invitation")
    }

    #[test]
    fn a_plain_invitation_is_kept_without_its_unset_fields() {
        let inv = plain();
        let packed = PackedInvitation::of(&inv);
        assert!(packed.rest.is_none() && packed.later.is_none());
        assert_eq!(packed.unpack(), inv);
        // 248, and its queued email's id (the queue index's entry).
        assert!(std::mem::size_of::<PackedInvitation>() <= 256);
        // Accepted, it carries its three later fields only.
        let mut accepted = inv;
        accepted.invitation.status = InvitationStatus::Accepted;
        accepted.invitation.closed_at = accepted.invitation.expires_at;
        accepted.invitation.member_id = Some(MemberId::from("mem_2"));
        let packed = PackedInvitation::of(&accepted);
        assert!(packed.rest.is_none() && packed.later.is_some());
        assert_eq!(packed.unpack(), accepted);
    }

    proptest! {
        /// Whatever an invitation sets, it is handed out as it was put.
        #[test]
        fn an_invitation_is_unpacked_as_it_was_put(
            names in proptest::option::of("[a-z]{0,4}"),
            message in proptest::option::of("[a-z ]{0,8}"),
            closed in any::<bool>(),
            member in any::<bool>(),
            user_ref in proptest::option::of("[a-z]{1,4}"),
            attribute in proptest::option::of(("[a-z]{1,3}", "[a-z]{0,3}")),
            lifetime in proptest::option::of(any::<u64>()),
            metadata in any::<bool>(),
            grouped in any::<bool>(),
            sealed in any::<bool>(),
        ) {
            let mut inv = plain();
            inv.invitation.display_name = names.clone();
            inv.invitation.first_name = names.clone();
            inv.invitation.last_name = names.clone();
            inv.invitation.locale = names.clone();
            inv.invitation.redirect_url = names;
            inv.invitation.message = message;
            if closed {
                inv.invitation.closed_at = inv.invitation.expires_at;
                inv.invitation.locked_until = inv.invitation.expires_at;
            }
            if member {
                inv.invitation.member_id = Some(MemberId::from("mem_2"));
            }
            inv.invitation.user_ref = user_ref;
            inv.invitation.attributes.extend(attribute);
            inv.invitation.lifetime_secs = lifetime;
            if metadata {
                inv.invitation.public_metadata =
                    Metadata::from_json(r#"{"a": 1}"#).expect("metadata");
                inv.invitation.private_metadata =
                    Metadata::from_json(r#"{"b": [2]}"#).expect("metadata");
            }
            if grouped {
                inv.invitation.groups = vec![GroupGrant::member(crate::id::GroupId::from("grp_1"))];
            }
            if sealed {
                inv.sealed_code = Some(SealedCode {
                    key_id: "k1".into(),
                    nonce: "n".into(),
                    ciphertext: "c".into(),
                });
            }
            let packed = PackedInvitation::of(&inv);
            prop_assert_eq!(packed.person(), Person::from_invitation(&inv));
            prop_assert_eq!(packed.user_ref(), inv.user_ref.as_deref());
            prop_assert_eq!(packed.lookup_hash(), inv.lookup_hash());
            prop_assert_eq!(packed.unpack(), inv);
        }
    }

    fn queued_draft() -> OutboxMessage {
        let at = DateTime::from_timestamp(1_800_000_000, 7).unwrap_or_default();
        OutboxMessage {
            id: MessageId::from("msg_1"),
            org_id: OrgId::from("org_1"),
            invitation_id: InvitationId::from("inv_1"),
            email: OutgoingEmail {
                message_id: MessageId::from("msg_1"),
                to: "ada@x.test".into(),
                to_name: None,
                subject: String::new(),
                text_body: String::new(),
                html_body: None,
                accept_url: "https://x.test/accept?token=t&x=1".to_owned(),
                org_name: "Org".into(),
                inviter_name: Some("Bo".into()),
                reply_to: None,
                personal_message: None,
                expires_at: at,
            },
            status: OutboxStatus::Queued,
            attempts: 0,
            next_attempt_at: at,
            last_error: None,
            created_at: at,
            sent_at: None,
            draft: None,
        }
    }

    #[test]
    fn a_queued_draft_is_kept_without_its_unset_fields() {
        let m = queued_draft();
        let packed = PackedMessage::of(m.clone());
        assert!(packed.rest.is_none());
        assert_eq!(packed.unpack(), m);
        assert!(std::mem::size_of::<PackedMessage>() <= 184);
    }

    proptest! {
        /// Whatever a message sets, it is handed out as it was put; once
        /// superseded it reads as the message superseded and redacted
        /// whole, and what superseding took puts it back as it was.
        #[test]
        fn a_message_is_unpacked_superseded_and_restored_as_it_was(
            own_id in any::<bool>(),
            name in proptest::option::of("[a-z]{0,4}"),
            text in "(|[a-z ]{0,6}|see https://x.test/accept\\?token=t&x=1 now)",
            html in proptest::option::of("(|<a href=\"https://x.test/accept\\?token=t&amp;x=1\">go</a>)"),
            error in proptest::option::of("[a-z]{0,6}"),
            sent in any::<bool>(),
            message in proptest::option::of("[a-z]{0,6}"),
        ) {
            let mut m = queued_draft();
            if own_id {
                m.email.message_id = MessageId::from("msg_other");
            }
            m.email.to_name = name.clone();
            m.email.reply_to = name;
            m.email.subject = text.clone();
            m.email.text_body = text;
            m.email.html_body = html;
            m.email.personal_message = message;
            m.last_error = error;
            if sent {
                m.sent_at = Some(m.created_at);
            }
            let mut packed = PackedMessage::of(m.clone());
            prop_assert_eq!(packed.unpack(), m.clone());

            let before = packed.clone();
            let parts = packed.superseded_parts();
            packed.supersede();
            let mut whole = m;
            whole.status = OutboxStatus::Superseded;
            whole.redact();
            prop_assert_eq!(packed.unpack(), whole);
            packed.restore(parts);
            prop_assert_eq!(packed, before);
        }
    }

    #[test]
    fn a_report_is_kept_with_its_plain_rows_inline() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut report = BatchReport::new(
            BatchId::from("bat_1"),
            OrgId::from("org_1"),
            crate::report::ReportKind::Invite,
            at,
            crate::event::Actor::System,
        );
        report.push(
            ReportRow::new(1, "ada@x.test", RowOutcome::Issued)
                .target("inv_1")
                .grants(Some("member".into()), Vec::new()),
        );
        report.push(
            ReportRow::new(2, "Bo <bo@x", RowOutcome::Rejected)
                .names(Some("Bo".into()), None)
                .grants(None, vec!["Design".into()])
                .error("invalid_email", "not an address"),
        );
        report.push(ReportRow::new(3, "", RowOutcome::NotProcessed));
        let packed = PackedReport::of(report.clone());
        assert!(packed.rows[0].rest.is_none() && packed.rows[2].rest.is_none());
        assert!(packed.rows[1].rest.is_some());
        assert_eq!(packed.unpack(), report);
        assert_eq!(packed.created_at(), at);
        assert!(std::mem::size_of::<PackedRow>() <= 72);
        assert_eq!(packed.rows.capacity(), 3, "its own allocation, of its size");
    }
}

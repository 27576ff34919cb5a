//! What Kotlin and Swift see that core cannot own, each for a reason:
//! - the outbox email and message: the email's body and accept link cross
//!   as `Secret`, core keeps them as text;
//! - the email parser's results, which borrow the pasted text (and count
//!   positions in UTF-16, as Kotlin and Swift strings do).
//!
//! Every other record and enum is core's own, derived there (the `uniffi`
//! feature of `enlist`): the inputs (`NewOrganization`, `InviteRequest`,
//! `MemberQuery`, `LinkSpec`, ...) and the outputs (`CreatedOrganization`,
//! `ActivatedLink`, `InviteReport`, `SendReport`, `ImportReport`, `Secret`,
//! the pages, ...). What a report computes (`csv()`, `code()`,
//! `message()`, an import's flat `issued()` and `rejected()` rows) is a
//! uniffi method on core's record (`uniffi_support.rs`).
//!
//! Inputs default what core defaults, except what uniffi 0.32 cannot
//! default (an enum field, and `NewOrganization.policy`, a record whose
//! fields have no defaults of their own), so a Kotlin caller writes
//! `InviteRequest(recipients = Recipients.Paste(text), kind = MemberKind.MEMBER)`.

use chrono::{DateTime, Utc};
use enlist::{InvitationId, MessageId, OrgId, OutboxStatus, Secret};

/// `usize` to `u32` for positions and counts, saturating (core's limits keep
/// them far below `u32::MAX`).
pub(crate) fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------
// Outbox (the email's body and link are secrets)
// ---------------------------------------------------------------------------

/// A rendered invitation email, handed to the app's [`Mailer`](crate::Mailer).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct OutgoingEmail {
    /// The outbox message: stable across retries, usable as an idempotency
    /// key with the app's backend.
    pub message_id: MessageId,
    /// The recipient's address.
    pub to: String,
    /// The recipient's name, if known.
    pub to_name: Option<String>,
    /// The subject line.
    pub subject: String,
    /// The plain-text body; it holds the accept link, so it is a
    /// [`Secret`] too (`text_body.expose()`).
    pub text_body: Secret,
    /// The HTML body, when the template has one; it holds the accept link
    /// too (`html_body?.expose()`).
    pub html_body: Option<Secret>,
    /// The link to accept: it holds the secret token (`accept_url.expose()`).
    pub accept_url: Secret,
    /// The organization's name.
    pub org_name: String,
    /// The inviter's name, if a member invited.
    pub inviter_name: Option<String>,
    /// Where replies go (the `Reply-To`): the inviter's address, when a
    /// member invited and the policy's `reply_to_inviter` allows.
    pub reply_to: Option<String>,
    /// The inviter's personal message.
    pub personal_message: Option<String>,
    /// When the invitation expires.
    pub expires_at: DateTime<Utc>,
}

impl From<enlist::OutgoingEmail> for OutgoingEmail {
    fn from(e: enlist::OutgoingEmail) -> Self {
        Self {
            message_id: e.message_id,
            to: e.to.into(),
            to_name: e.to_name,
            subject: e.subject,
            text_body: Secret::new(e.text_body),
            html_body: e.html_body.map(Secret::new),
            accept_url: Secret::new(e.accept_url),
            org_name: e.org_name.into(),
            inviter_name: e.inviter_name.map(Into::into),
            reply_to: e.reply_to,
            personal_message: e.personal_message,
            expires_at: e.expires_at,
        }
    }
}

/// A message in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct OutboxMessage {
    /// Its id.
    pub id: MessageId,
    /// The organization.
    pub org_id: OrgId,
    /// The invitation it belongs to.
    pub invitation_id: InvitationId,
    /// The rendered email.
    pub email: OutgoingEmail,
    /// Where it stands.
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not to be attempted before this time.
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<enlist::OutboxMessage> for OutboxMessage {
    fn from(m: enlist::OutboxMessage) -> Self {
        Self {
            id: m.id,
            org_id: m.org_id,
            invitation_id: m.invitation_id,
            email: m.email.into(),
            status: m.status,
            attempts: m.attempts,
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

// ---------------------------------------------------------------------------
// The paste box (core's results borrow the pasted text)
// ---------------------------------------------------------------------------

/// A valid address with its display name.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Mailbox {
    /// The display name, if one was given.
    pub display_name: Option<String>,
    /// The address as typed (domain lowercased).
    pub address: String,
    /// The normalized form: the uniqueness key.
    pub key: String,
    /// The domain, lowercase and IDNA-encoded.
    pub ascii_domain: String,
    /// Things worth showing the person who typed it.
    pub warnings: Vec<enlist::email::AddressWarning>,
}

impl From<enlist::Mailbox<'_>> for Mailbox {
    fn from(m: enlist::Mailbox<'_>) -> Self {
        Self {
            display_name: m.display_name.map(Into::into),
            address: m.address.into_owned(),
            key: m.key.into_owned(),
            ascii_domain: m.ascii_domain.into_owned(),
            warnings: m.warnings,
        }
    }
}

/// What became of one fragment of a paste.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum EntryOutcome {
    /// A valid address, the first time it appears.
    Valid {
        /// The address.
        mailbox: Mailbox,
    },
    /// A valid address already seen.
    Duplicate {
        /// The address.
        mailbox: Mailbox,
        /// The index of its first appearance in `entries`.
        first: u32,
    },
    /// Not an address enlist accepts.
    Invalid {
        /// The error's stable code (`missing_at`, ...).
        code: String,
        /// What to tell the person who typed it.
        message: String,
        /// Where the problem is (0-based character index in the entry).
        position: Option<u32>,
    },
}

/// One fragment of a paste.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PasteEntry {
    /// The fragment as typed (trimmed).
    pub text: String,
    /// Where it starts in the pasted text, in UTF-16 code units (Kotlin
    /// and Swift `NSString` indices).
    pub start_utf16: u32,
    /// Where it ends (exclusive), in UTF-16 code units.
    pub end_utf16: u32,
    /// What it is.
    pub outcome: EntryOutcome,
}

/// Everything found in a paste, in the order typed.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ParsedRecipients {
    /// Every fragment, in order.
    pub entries: Vec<PasteEntry>,
    /// Distinct valid addresses: the "9 recognized" a form shows.
    pub recognized: u32,
}

/// UTF-16 offsets of increasing byte offsets in one text, counted from the
/// last one asked (so a whole paste is counted once, not once per entry).
struct Utf16Offsets<'t> {
    text: &'t str,
    byte: usize,
    utf16: usize,
}

impl<'t> Utf16Offsets<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text,
            byte: 0,
            utf16: 0,
        }
    }

    /// The UTF-16 offset of byte offset `byte` (clamped to the text, and
    /// to a character boundary).
    fn at(&mut self, byte: usize) -> u32 {
        let mut end = byte.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        if end < self.byte {
            // Not increasing: count again from the start.
            self.byte = 0;
            self.utf16 = 0;
        }
        self.utf16 += self.text[self.byte..end].encode_utf16().count();
        self.byte = end;
        u32_of(self.utf16)
    }
}

impl ParsedRecipients {
    pub(crate) fn of(text: &str, parsed: enlist::ParsedRecipients<'_>) -> Self {
        let recognized = u32_of(parsed.recognized());
        let mut offsets = Utf16Offsets::new(text);
        let entries = parsed
            .entries
            .into_iter()
            .map(|e| PasteEntry {
                start_utf16: offsets.at(e.span.start),
                end_utf16: offsets.at(e.span.end),
                text: e.text.into_owned(),
                outcome: match e.outcome {
                    enlist::email::EntryOutcome::Valid(m) => {
                        EntryOutcome::Valid { mailbox: m.into() }
                    }
                    enlist::email::EntryOutcome::Duplicate { mailbox, first } => {
                        EntryOutcome::Duplicate {
                            mailbox: mailbox.into(),
                            first: u32_of(first),
                        }
                    }
                    enlist::email::EntryOutcome::Invalid { error } => EntryOutcome::Invalid {
                        code: error.code().to_owned(),
                        message: error.to_string(),
                        position: error.position().map(u32_of),
                    },
                },
            })
            .collect();
        Self {
            entries,
            recognized,
        }
    }
}

// ---------------------------------------------------------------------------
// Sealing keys (core's `SealingKey` is opaque: its key never leaves it)
// ---------------------------------------------------------------------------

/// A key for sealing access codes so that they can be shown again
/// (`Enlist.revealAccessCode`): its id (1 to 32 ASCII letters, digits,
/// `-`, `_`, `.`) and exactly 32 random bytes the app keeps outside the
/// database. Checked by core's `SealingKey::new` when the engine is made.
#[derive(Clone, uniffi::Record)]
pub struct SealingKeySpec {
    /// The key's id, stored beside every code sealed under it.
    pub id: String,
    /// The key: exactly 32 bytes.
    pub key: Vec<u8>,
}

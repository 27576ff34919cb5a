//! The outbox: rendered invitation emails waiting for delivery, and the
//! [`Mailer`] trait that delivers them.
//!
//! Messages are queued inside the inviting transaction, so an invitation is
//! never stored without its email nor an email queued for an invitation that
//! was rolled back. The raw accept link lives in the outbox only until the
//! message is delivered or superseded; then it is redacted.

use crate::error::{Error, MailError};
use crate::id::{InvitationId, MessageId, OrgId};
use crate::text::Text;
use crate::wire_names;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Mutex;

/// A rendered invitation email.
///
/// Its `Debug` output leaves out the accept link and the bodies (which hold
/// the link), so logging a message never logs a live token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct OutgoingEmail {
    /// The outbox message this email is: stable across retries, so a
    /// mailer can pass it to its provider as an idempotency key (or as the
    /// `Message-ID`) and a retry after a lost acknowledgement is not
    /// delivered twice.
    pub message_id: MessageId,
    /// The recipient's address.
    pub to: Text,
    /// The recipient's name, if known.
    pub to_name: Option<String>,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text_body: String,
    /// The HTML body, if the template has one (its variables
    /// autoescaped). Holds the accept link, HTML-escaped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_body: Option<String>,
    /// The link to accept (contains the secret token).
    pub accept_url: String,
    /// The organization's name.
    pub org_name: Text,
    /// The inviter's name, if a member invited.
    pub inviter_name: Option<Text>,
    /// Where replies go: the inviter's address, when a member invited and
    /// the organization's policy has `reply_to_inviter` (off by default).
    /// Mailers put it in the `Reply-To` header; the `From` address is
    /// always the host's own.
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The inviter's personal message.
    pub personal_message: Option<String>,
    /// When the invitation expires.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("message_id", &self.message_id)
            .field("to", &self.to)
            .field("to_name", &self.to_name)
            .field("subject", &self.subject)
            .field(
                "text_body",
                &format_args!("[{} chars]", self.text_body.len()),
            )
            .field(
                "html_body",
                &self
                    .html_body
                    .as_ref()
                    .map(|h| format!("[{} chars]", h.len())),
            )
            .field("accept_url", &format_args!("[redacted]"))
            .field("org_name", &self.org_name)
            .field("inviter_name", &self.inviter_name)
            .field("reply_to", &self.reply_to)
            .field("personal_message", &self.personal_message)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where a queued message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    Queued,
    /// Delivered; never sent again.
    Sent,
    /// Given up after a permanent failure or too many attempts.
    Failed,
    /// Replaced by a resend, or its invitation was revoked: not sent.
    Superseded,
}

wire_names! {
    OutboxStatus {
        Queued => "queued",
        Sent => "sent",
        Failed => "failed",
        Superseded => "superseded",
    }
}

/// A message in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, module = "enlist._enlist")
)]
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
    /// Not to be attempted before this time (also a claim: a worker that
    /// takes a message pushes this forward so no other worker takes it).
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it was queued.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub sent_at: Option<DateTime<Utc>>,
    /// What an invitation email says, kept in place of its rendered
    /// Subject and bodies until it is sent (ADR 0018): the engine renders
    /// it when a worker claims the message or someone reads it, so that
    /// issuing does not pay for rendering. `None` once rendered, and for
    /// the messages the engine renders at once (domain codes). Messages the
    /// engine hands out are always rendered. Shared: a store that keeps
    /// copies of a message copies a pointer, not the variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) draft: Option<std::sync::Arc<EmailDraft>>,
}

/// What rendering a queued invitation email needs besides the stored
/// [`OutgoingEmail`]'s own fields (its address, link, names): the template
/// variables as they were when the invitation was issued, and the
/// invitation's language (the template is the organization's for that
/// language when the message is rendered).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EmailDraft {
    pub(crate) vars: crate::template::EmailVars,
    pub(crate) locale: Option<String>,
}

/// What replaces a secret in redacted text.
pub const REDACTED: &str = "[redacted]";

impl OutboxMessage {
    /// Removes the secret from the stored message (after delivery or when
    /// superseded).
    pub fn redact(&mut self) {
        let e = &mut self.email;
        redact_parts(&mut e.accept_url, &mut e.text_body, &mut e.html_body);
    }

    /// This message without its secret: what a person may see (delivery
    /// state, recipient, subject), never the accept link.
    pub fn redacted(mut self) -> Self {
        self.redact();
        self
    }
}

/// [`OutboxMessage::redact`] on the parts it changes: the link, and the
/// bodies that show it (a store that keeps a message in a form of its own
/// redacts it where it lies).
pub(crate) fn redact_parts(
    accept_url: &mut String,
    text_body: &mut String,
    html_body: &mut Option<String>,
) {
    use crate::template::replace_found;
    use memchr::memmem::Finder;
    if accept_url == REDACTED || accept_url.is_empty() {
        return;
    }
    // A draft (ADR 0018) has no bodies yet: only the link to drop.
    if !text_body.is_empty() || html_body.is_some() {
        let url = Finder::new(accept_url.as_str());
        *text_body = replace_found(std::mem::take(text_body), &url, REDACTED);
        if let Some(html) = html_body {
            // The HTML part holds the link HTML-escaped (`&` as
            // `&amp;`); a template may also show it as plain text.
            let escaped = crate::template::html_escape(accept_url);
            let mut h = std::mem::take(html);
            if escaped != *accept_url {
                h = replace_found(h, &Finder::new(&escaped), REDACTED);
            }
            *html = replace_found(h, &url, REDACTED);
        }
    }
    *accept_url = REDACTED.to_owned();
}

/// The longest delivery error kept, in characters.
pub(crate) const MAX_ERROR_CHARS: usize = 500;

impl MailError {
    /// This failure as it may travel further (to the host's code, another
    /// language, the outbox): its text with `email`'s link and anything
    /// shaped like a secret replaced ([`scrub_mail_error`]), permanent if
    /// it was, else temporary.
    pub fn scrubbed(&self, email: &OutgoingEmail) -> MailError {
        let text = scrub_mail_error(&self.to_string(), email);
        if self.is_permanent() {
            MailError::Permanent(text)
        } else {
            MailError::Temporary(text)
        }
    }
}

/// A mailer's error text made safe to store: the message's accept link and
/// token, any piece of that token at least 8 characters long, and anything
/// else shaped like a secret (a run of 20 or more URL-safe base64
/// characters) are replaced by `[redacted]`; control characters are dropped
/// and the text is cut at 500 characters. Mail providers quote the message
/// they refused, and quoted-printable soft line breaks can cut a token in
/// pieces: hence the pieces.
///
/// The engine applies it to every error it stores (`mark_failed`,
/// `deliver_pending`); bindings apply it to a foreign mailer's exception
/// text before it travels further.
pub fn scrub_mail_error(error: &str, email: &OutgoingEmail) -> String {
    // Bounded before any work: a hostile or broken mailer may return
    // megabytes.
    let mut text: String = error
        .chars()
        .take(MAX_ERROR_CHARS * 8)
        .filter(|c| !c.is_control())
        .collect();
    if email.accept_url != REDACTED && !email.accept_url.is_empty() {
        text = text.replace(&email.accept_url, REDACTED);
        if let Some((org, random)) = token_parts(&email.accept_url) {
            text = text.replace(&format!("{org}.{random}"), REDACTED);
            const PIECE: usize = 8;
            for i in 0..=random.len().saturating_sub(PIECE) {
                if let Some(piece) = random.get(i..i + PIECE) {
                    if text.contains(piece) {
                        text = text.replace(piece, REDACTED);
                    }
                }
            }
        }
    }
    scrub_token_shapes(&text)
        .chars()
        .take(MAX_ERROR_CHARS)
        .collect()
}

/// The organization and random part of the token in an accept link.
fn token_parts(url: &str) -> Option<(&str, &str)> {
    let start = url.rfind(crate::id::OrgId::PREFIX)?;
    let token = url[start..]
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .next()?;
    let (org, random) = token.rsplit_once('.')?;
    (random.len() == crate::secret::TOKEN_RANDOM_CHARS).then_some((org, random))
}

/// Replaces every run of 20 or more URL-safe base64 characters (the shape
/// of a token's random part) by `[redacted]`.
pub(crate) fn scrub_token_shapes(text: &str) -> String {
    const MIN_RUN: usize = 20;
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= MIN_RUN {
            out.push_str(REDACTED);
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_b64(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// How the outbox retries failed deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, module = "enlist._enlist")
)]
#[serde(default)]
pub struct RetryPolicy {
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Wait after the first failure; doubled after each further one.
    pub base_delay_secs: u64,
    /// Longest wait between attempts.
    pub max_delay_secs: u64,
    /// How long a worker's claim on a message lasts before another worker
    /// may take it (protects against a worker dying mid-send).
    pub claim_secs: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_delay_secs: 60,
            max_delay_secs: 3600,
            claim_secs: 300,
        }
    }
}

impl RetryPolicy {
    /// Checks the numbers: at least one attempt (at most 100), a claim of
    /// at least one second, and every duration at most
    /// [`MAX_DURATION_SECS`](crate::policy::MAX_DURATION_SECS) (366 days),
    /// with the first delay no longer than the longest. Hosts should call
    /// it on the policy they configure; the engine never panics on one that
    /// fails it (its times are checked when computed).
    pub fn validated(self) -> Result<Self, Error> {
        if self.max_attempts == 0 || self.max_attempts > 100 {
            return Err(Error::invalid(
                "retry.max_attempts",
                "must be between 1 and 100",
            ));
        }
        if self.claim_secs == 0 {
            return Err(Error::invalid(
                "retry.claim_secs",
                "must be at least one second",
            ));
        }
        for (field, v) in [
            ("retry.base_delay_secs", self.base_delay_secs),
            ("retry.max_delay_secs", self.max_delay_secs),
            ("retry.claim_secs", self.claim_secs),
        ] {
            crate::policy::check_duration(field, v)?;
        }
        if self.base_delay_secs > self.max_delay_secs {
            return Err(Error::invalid(
                "retry.base_delay_secs",
                "must not be longer than retry.max_delay_secs",
            ));
        }
        Ok(self)
    }

    /// The wait after `attempts` failed attempts (1 = after the first):
    /// `base_delay_secs` doubled after each further failure, at most
    /// `max_delay_secs`, and never more than
    /// [`MAX_DURATION_SECS`](crate::policy::MAX_DURATION_SECS) whatever the
    /// fields say.
    pub fn delay_after(&self, attempts: u32) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let secs = self
            .base_delay_secs
            .saturating_mul(1u64 << exp)
            .min(self.max_delay_secs)
            .min(crate::policy::MAX_DURATION_SECS);
        // At most 366 days: always a valid duration.
        Duration::try_seconds(i64::try_from(secs).unwrap_or(0)).unwrap_or(Duration::zero())
    }

    /// The wait the outbox actually uses after `attempts` failed attempts
    /// of `message`: [`delay_after`](Self::delay_after) less a jitter of up
    /// to a quarter, so messages that failed together (a provider's outage)
    /// do not all come back in the same second.
    ///
    /// With `d` = `delay_after(attempts)` in whole seconds and `h` the first
    /// eight bytes (big-endian) of SHA-256 of `"enlist.retry.jitter\0"`,
    /// the message id and `attempts` (4 bytes, big-endian):
    ///
    /// `delay = d − ⌊d × (h mod 1024) / 4096⌋`, so `¾·d < delay ≤ d`
    /// (and `delay = d` when `d < 4`).
    ///
    /// The jitter is a function of the message id (random) and the attempt,
    /// not of a random source: every store and every rerun of a test gets
    /// the same schedule, and the wait never exceeds `max_delay_secs`.
    pub fn jittered_delay(&self, message: &MessageId, attempts: u32) -> Duration {
        use sha2::{Digest, Sha256};
        let d = self.delay_after(attempts).num_seconds().unsigned_abs();
        let mut hasher = Sha256::new();
        hasher.update(b"enlist.retry.jitter\0");
        hasher.update(message.as_str().as_bytes());
        hasher.update(attempts.to_be_bytes());
        let digest = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let h = u64::from_be_bytes(first) % 1024;
        // d ≤ 366 days (31,622,400 s): d × 1023 fits a u64 with room.
        let secs = d - d * h / 4096;
        Duration::try_seconds(i64::try_from(secs).unwrap_or(0)).unwrap_or(Duration::zero())
    }
}

/// What one `deliver_pending` run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, module = "enlist._enlist")
)]
pub struct DeliveryReport {
    /// Messages delivered.
    pub sent: Vec<MessageId>,
    /// Messages that failed and will be retried.
    pub retrying: Vec<MessageId>,
    /// Messages given up on.
    pub failed: Vec<MessageId>,
}

/// What one [`Enlist::work_outbox`](crate::Enlist::work_outbox) pass did,
/// and when to run the next one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, module = "enlist._enlist")
)]
pub struct WorkerReport {
    /// Messages delivered.
    pub sent: Vec<MessageId>,
    /// Messages that failed and will be retried.
    pub retrying: Vec<MessageId>,
    /// Messages given up on (now dead letters).
    pub failed: Vec<MessageId>,
    /// Invitations whose expiry this pass persisted.
    pub expired_invitations: u64,
    /// When the earliest queued message becomes due, after this pass:
    /// sleep until then. At or before the pass's time when more was due
    /// than the pass took (run again at once); `None` when nothing is
    /// queued (sleep as long as you like: a new invitation's email is due
    /// at once, so wake the worker or cap the sleep).
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub next_due: Option<DateTime<Utc>>,
}

impl WorkerReport {
    /// How long a loop should sleep after this pass, at `now`: until
    /// [`next_due`](Self::next_due), at most `max_idle`; not at all when
    /// the pass sent or recorded something and more is due already; at
    /// least a second (or `max_idle`, if shorter) when it did nothing, so a
    /// message that stays due (a clock behind the store's) cannot spin the
    /// loop. What [`Enlist::run_outbox`](crate::Enlist::run_outbox) sleeps;
    /// for hosts that write their own loop.
    pub fn sleep_after(
        &self,
        now: DateTime<Utc>,
        max_idle: std::time::Duration,
    ) -> std::time::Duration {
        let until = match self.next_due {
            None => return max_idle,
            Some(at) => (at - now).to_std().unwrap_or(std::time::Duration::ZERO),
        };
        let progressed =
            !(self.sent.is_empty() && self.retrying.is_empty() && self.failed.is_empty());
        let floor = if progressed {
            std::time::Duration::ZERO
        } else {
            std::time::Duration::from_secs(1).min(max_idle)
        };
        until.max(floor).min(max_idle)
    }
}

/// A message the outbox gave up on (a permanent failure, or out of
/// attempts), as an administrator sees it: who it was for, why it failed,
/// how often it was tried. It has no accept link and no body (the view has
/// no such fields); retry it with
/// [`Enlist::retry_dead_letter`](crate::Enlist::retry_dead_letter).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct DeadLetter {
    /// The message.
    pub id: MessageId,
    /// The organization.
    pub org_id: OrgId,
    /// The invitation it belongs to.
    pub invitation_id: InvitationId,
    /// The recipient's address.
    pub to: Text,
    /// The recipient's name, if known.
    pub to_name: Option<String>,
    /// The subject line (anything in it shaped like a token is
    /// `[redacted]`).
    pub subject: String,
    /// Delivery attempts made.
    pub attempts: u32,
    /// Why it failed: the last error, as stored (already scrubbed of the
    /// link, the token and anything shaped like a secret; at most 500
    /// characters).
    pub reason: Option<String>,
    /// When it was queued.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub created_at: DateTime<Utc>,
}

impl DeadLetter {
    /// The view of a failed message: only the fields above; the subject
    /// scrubbed of anything shaped like a token (a template could have put
    /// the link there, where `redact` does not look).
    pub(crate) fn of(m: OutboxMessage) -> Self {
        Self {
            subject: scrub_token_shapes(&m.email.subject),
            id: m.id,
            org_id: m.org_id,
            invitation_id: m.invitation_id,
            to: m.email.to,
            to_name: m.email.to_name,
            attempts: m.attempts,
            reason: m.last_error,
            created_at: m.created_at,
        }
    }
}

/// How [`Enlist::run_outbox`](crate::Enlist::run_outbox) paces itself.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerOptions {
    /// The most messages one pass sends (default 100).
    pub batch: usize,
    /// The longest sleep between passes (default 60 s): new invitations'
    /// emails are picked up at least this often even if nobody calls
    /// [`StopSignal::wake`]. Also the wait after a pass that failed with a
    /// temporary store error.
    pub max_idle: std::time::Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            batch: 100,
            max_idle: std::time::Duration::from_secs(60),
        }
    }
}

impl WorkerOptions {
    /// Options with this batch size and longest sleep.
    pub fn new(batch: usize, max_idle: std::time::Duration) -> Self {
        Self { batch, max_idle }
    }
}

/// Stops (or wakes) a running [`Enlist::run_outbox`](crate::Enlist::run_outbox)
/// from another thread. Share it in an `Arc`.
#[derive(Debug, Default)]
pub struct StopSignal {
    /// `(stopped, woken)`.
    state: Mutex<(bool, bool)>,
    changed: std::sync::Condvar,
}

impl StopSignal {
    /// A signal not given yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the loop to stop: it returns as soon as the message it is
    /// sending (if any) is recorded, without waiting out its sleep.
    pub fn stop(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.0 = true;
        self.changed.notify_all();
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Ends the loop's current sleep at once (for example right after
    /// inviting, so the email leaves now rather than after `max_idle`).
    pub fn wake(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.1 = true;
        self.changed.notify_all();
    }

    /// Sleeps up to `timeout`, or until stopped or woken; returns whether
    /// the loop should stop. A wake is consumed.
    pub fn wait(&self, timeout: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now().checked_add(timeout);
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if s.0 {
                return true;
            }
            if s.1 {
                s.1 = false;
                return false;
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(std::time::Instant::now()),
                // Beyond the clock's range: as long as the condvar allows.
                None => timeout,
            };
            if left.is_zero() {
                return false;
            }
            s = self
                .changed
                .wait_timeout(s, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
}

/// Delivers invitation emails. Implement it over your provider, or use the
/// `enlist-smtp` crate: `SmtpMailer` sends over SMTP, `FileMailer` writes
/// `.eml` files (development).
///
/// A mailer may be called again for a message it already delivered, if
/// the process stopped before the delivery was recorded: use
/// [`OutgoingEmail::message_id`] as the provider's idempotency key (or the
/// `Message-ID`) so such a retry can be recognized.
pub trait Mailer: Send + Sync {
    /// Sends one message. Return [`MailError::Temporary`] to have it
    /// retried, [`MailError::Permanent`] to give up on it.
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;
}

/// A mailer that keeps what it was given: for tests and examples.
#[derive(Debug, Default)]
pub struct RecordingMailer {
    sent: Mutex<Vec<OutgoingEmail>>,
    fail_next: Mutex<Vec<MailError>>,
}

impl RecordingMailer {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything sent so far.
    pub fn sent(&self) -> Vec<OutgoingEmail> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes the next sends fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = MailError>) {
        let mut f = self.fail_next.lock().unwrap_or_else(|e| e.into_inner());
        f.extend(errors);
    }
}

impl Mailer for RecordingMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        {
            let mut f = self.fail_next.lock().unwrap_or_else(|e| e.into_inner());
            if !f.is_empty() {
                return Err(f.remove(0));
            }
        }
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(email.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email_with_link(url: &str) -> OutgoingEmail {
        OutgoingEmail {
            message_id: MessageId::from("msg_1"),
            to: "a@x.test".into(),
            to_name: None,
            subject: "Join".into(),
            text_body: format!("Open {url} to join"),
            html_body: Some(format!(
                "<a href=\"{}\">join</a> or copy {url}",
                crate::template::html_escape(url)
            )),
            accept_url: url.into(),
            org_name: "Org".into(),
            inviter_name: None,
            reply_to: None,
            personal_message: None,
            expires_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn a_scrubbed_mail_error_keeps_its_kind_and_loses_the_link() {
        let url = "https://x.test/accept?token=org_1.abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
        let email = email_with_link(url);
        let p = MailError::Permanent(format!("550 refused {url}")).scrubbed(&email);
        assert!(
            p.is_permanent() && !p.to_string().contains("token=org_1"),
            "{p}"
        );
        let t = MailError::Temporary(format!("451 later {url}")).scrubbed(&email);
        assert!(
            matches!(&t, MailError::Temporary(text) if !text.contains("token=org_1")),
            "{t}"
        );
    }

    #[test]
    fn redaction_scrubs_the_link_from_both_bodies_and_debug_shows_neither() {
        let url = "https://a.test/join?x=1&token=org_1.SECRETSECRET";
        let email = email_with_link(url);
        let debug = format!("{email:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("html_body: Some(\"["), "{debug}");
        let msg = stored_with(email).redacted();
        let html = msg.email.html_body.as_deref().unwrap_or_default();
        assert!(!html.contains("SECRET"), "{html}");
        assert_eq!(html, "<a href=\"[redacted]\">join</a> or copy [redacted]");
        assert!(!msg.email.text_body.contains("SECRET"));
        assert_eq!(msg.email.accept_url, REDACTED);
    }

    fn stored_with(email: OutgoingEmail) -> OutboxMessage {
        OutboxMessage {
            id: MessageId::from("msg_1"),
            org_id: OrgId::from("org_1"),
            invitation_id: InvitationId::from("inv_1"),
            email,
            status: OutboxStatus::Queued,
            attempts: 0,
            next_attempt_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            last_error: None,
            created_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            sent_at: None,
            draft: None,
        }
    }

    #[test]
    fn a_draft_loses_its_link_with_no_body_to_search() {
        // A queued email kept as a draft (ADR 0018): no Subject, no bodies.
        let mut email = email_with_link("https://a.test/join?token=org_1.SECRETSECRET");
        email.subject = String::new();
        email.text_body = String::new();
        email.html_body = None;
        let msg = stored_with(email).redacted();
        assert_eq!(msg.email.accept_url, REDACTED);
        assert_eq!(msg.email.text_body, "");
        assert_eq!(msg.email.html_body, None);
        assert!(!format!("{msg:?}").contains("SECRET"));
    }

    #[test]
    fn redaction_of_a_link_with_nothing_to_escape_and_of_no_link() {
        // The escaped link is the link itself: one pass over the HTML.
        let url = "https://a.test/join?token=org_1.SECRETSECRET";
        let msg = stored_with(email_with_link(url)).redacted();
        let html = msg.email.html_body.as_deref().unwrap_or_default();
        assert_eq!(html, "<a href=\"[redacted]\">join</a> or copy [redacted]");
        assert!(!msg.email.text_body.contains("SECRET"));
        // No link at all: the bodies stay as they are (an empty needle
        // would otherwise match between every two characters).
        let mut email = email_with_link(url);
        email.accept_url = String::new();
        let (text, html) = (email.text_body.clone(), email.html_body.clone());
        let msg = stored_with(email).redacted();
        assert_eq!(msg.email.text_body, text);
        assert_eq!(msg.email.html_body, html);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let r = RetryPolicy::default();
        assert_eq!(r.delay_after(1), Duration::seconds(60));
        assert_eq!(r.delay_after(2), Duration::seconds(120));
        assert_eq!(r.delay_after(20), Duration::seconds(3600));
    }

    proptest::proptest! {
        /// The jittered wait stays within (¾·d, d] of the backoff, whatever
        /// the message, attempt and policy; and it is the same on every
        /// call.
        #[test]
        fn jitter_stays_within_a_quarter_below_the_backoff(
            id in "[a-zA-Z0-9_]{1,40}",
            attempts in 0u32..200,
            base in 0u64..100_000,
            extra in 0u64..40_000_000,
        ) {
            let r = RetryPolicy {
                base_delay_secs: base,
                max_delay_secs: base + extra,
                ..RetryPolicy::default()
            };
            let id = MessageId::from(id);
            let d = r.delay_after(attempts).num_seconds();
            let j = r.jittered_delay(&id, attempts).num_seconds();
            proptest::prop_assert!(j <= d, "{j} > {d}");
            proptest::prop_assert!(4 * j > 3 * d || d == 0, "{j} not above 3/4 of {d}");
            proptest::prop_assert!(d >= 4 || j == d);
            proptest::prop_assert_eq!(r.jittered_delay(&id, attempts).num_seconds(), j);
        }
    }

    #[test]
    fn jitter_spreads_messages_that_failed_together() {
        let r = RetryPolicy::default();
        for attempts in [1, 3, 8] {
            let d = r.delay_after(attempts).num_seconds();
            let waits: std::collections::BTreeSet<i64> = (0..100)
                .map(|n| {
                    r.jittered_delay(&MessageId::from(format!("msg_{n}")), attempts)
                        .num_seconds()
                })
                .collect();
            // 100 messages of one outage come back over many seconds,
            // reaching into the lower part of the window.
            let window = usize::try_from((d / 4).min(40)).unwrap_or(0);
            assert!(waits.len() > window / 2, "attempt {attempts}: {waits:?}");
            assert!(waits.iter().any(|w| 8 * w < 7 * d), "{waits:?}");
        }
        // Another attempt of the same message draws anew.
        let id = MessageId::from("msg_x".to_owned());
        let per_attempt: std::collections::BTreeSet<i64> = (1..=8)
            .map(|a| {
                let d = r.delay_after(a).num_seconds();
                d - r.jittered_delay(&id, a).num_seconds()
            })
            .collect();
        assert!(per_attempt.len() > 1, "{per_attempt:?}");
    }

    #[test]
    fn a_dead_letter_holds_no_link_even_from_an_unredacted_message() {
        let token = "org_x.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg";
        let url = format!("https://app.test/accept?token={token}");
        let m: OutboxMessage = serde_json::from_value(serde_json::json!({
            "id": "msg_1", "org_id": "org_x", "invitation_id": "inv_1",
            "email": {
                "message_id": "msg_1", "to": "a@x.test", "to_name": "Ann",
                // A template that put the link in the subject.
                "subject": format!("Join: {url}"),
                "text_body": format!("Open {url}"), "accept_url": url,
                "org_name": "X", "inviter_name": null, "personal_message": null,
                "expires_at": "2030-01-01T00:00:00Z",
            },
            "status": "failed", "attempts": 3, "next_attempt_at": "2030-01-01T00:00:00Z",
            "last_error": "550 no", "created_at": "2029-12-01T00:00:00Z", "sent_at": null,
        }))
        .expect("a message");
        let dead = DeadLetter::of(m);
        let json = serde_json::to_string(&dead).expect("json");
        assert!(!json.contains("AbCdEfGhIjKlMnOpQrStUvWxYz"), "{json}");
        assert!(!format!("{dead:?}").contains("AbCdEfGhIjKlMnOpQrStUvWxYz"));
        assert_eq!(dead.to_name.as_deref(), Some("Ann"));
        assert_eq!((dead.attempts, dead.reason.as_deref()), (3, Some("550 no")));
    }

    #[test]
    fn the_loop_sleeps_until_the_next_message_within_its_bounds() {
        use std::time::Duration as Std;
        let now = DateTime::from_timestamp(1_700_000_000, 0).expect("a time");
        let max = Std::from_secs(60);
        let report = |next: Option<DateTime<Utc>>, progressed: bool| WorkerReport {
            sent: if progressed {
                vec![MessageId::from("msg_1".to_owned())]
            } else {
                Vec::new()
            },
            next_due: next,
            ..WorkerReport::default()
        };
        let sleep = |next, progressed, max| report(next, progressed).sleep_after(now, max);
        // Until the next message, at most max_idle.
        assert_eq!(
            sleep(Some(now + Duration::seconds(7)), true, max),
            Std::from_secs(7)
        );
        assert_eq!(sleep(Some(now + Duration::hours(2)), false, max), max);
        assert_eq!(sleep(None, true, max), max);
        // More is due: at once after progress; a second after none (no spin).
        assert_eq!(
            sleep(Some(now - Duration::seconds(5)), true, max),
            Std::ZERO
        );
        assert_eq!(sleep(Some(now), false, max), Std::from_secs(1));
        assert_eq!(
            sleep(Some(now), false, Std::from_millis(10)),
            Std::from_millis(10)
        );
    }

    #[test]
    fn backoff_is_bounded_whatever_the_fields() {
        let r = RetryPolicy {
            max_attempts: 8,
            base_delay_secs: u64::MAX,
            max_delay_secs: u64::MAX,
            claim_secs: u64::MAX,
        };
        for attempts in [0, 1, 2, 31, u32::MAX] {
            assert_eq!(r.delay_after(attempts), Duration::days(366));
        }
        assert!(r.validated().is_err());
        let ok = RetryPolicy::default();
        assert_eq!(ok.clone().validated().map_err(|e| e.code()), Ok(ok));
        for bad in [
            RetryPolicy {
                max_attempts: 0,
                ..RetryPolicy::default()
            },
            RetryPolicy {
                claim_secs: 0,
                ..RetryPolicy::default()
            },
            RetryPolicy {
                base_delay_secs: 7200,
                ..RetryPolicy::default()
            },
            RetryPolicy {
                max_delay_secs: 367 * 24 * 3600,
                ..RetryPolicy::default()
            },
        ] {
            assert_eq!(
                bad.validated().map(|_| ()).map_err(|e| e.code()),
                Err("invalid_input")
            );
        }
    }
}

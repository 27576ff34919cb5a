//! The outbox: rendered invitation emails waiting for delivery, and the
//! [`Mailer`] trait that delivers them.
//!
//! Messages are queued inside the inviting transaction, so an invitation is
//! never stored without its email nor an email queued for an invitation that
//! was rolled back. The raw accept link lives in the outbox only until the
//! message is delivered or superseded; then it is redacted.

use crate::error::{Error, MailError};
use crate::id::{InvitationId, MessageId, OrgId};
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
    pub to: String,
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
    pub org_name: String,
    /// The inviter's name, if a member invited.
    pub inviter_name: Option<String>,
    /// The inviter's personal message.
    pub personal_message: Option<String>,
    /// When the invitation expires.
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
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
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
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub sent_at: Option<DateTime<Utc>>,
}

/// What replaces a secret in redacted text.
pub const REDACTED: &str = "[redacted]";

impl OutboxMessage {
    /// Removes the secret from the stored message (after delivery or when
    /// superseded).
    pub fn redact(&mut self) {
        if self.email.accept_url != REDACTED {
            self.email.text_body = self
                .email
                .text_body
                .replace(&self.email.accept_url, REDACTED);
            if let Some(html) = &mut self.email.html_body {
                // The HTML part holds the link HTML-escaped (`&` as
                // `&amp;`); a template may also show it as plain text.
                *html = html
                    .replace(
                        &crate::template::html_escape(&self.email.accept_url),
                        REDACTED,
                    )
                    .replace(&self.email.accept_url, REDACTED);
            }
            self.email.accept_url = REDACTED.to_owned();
        }
    }

    /// This message without its secret: what a person may see (delivery
    /// state, recipient, subject), never the accept link.
    pub fn redacted(mut self) -> Self {
        self.redact();
        self
    }
}

/// The longest delivery error kept, in characters.
pub(crate) const MAX_ERROR_CHARS: usize = 500;

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
}

/// What one `deliver_pending` run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct DeliveryReport {
    /// Messages delivered.
    pub sent: Vec<MessageId>,
    /// Messages that failed and will be retried.
    pub retrying: Vec<MessageId>,
    /// Messages given up on.
    pub failed: Vec<MessageId>,
}

/// Delivers invitation emails. Implement it over your provider; the
/// `enlist-smtp` crate implements it over SMTP.
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
            personal_message: None,
            expires_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn redaction_scrubs_the_link_from_both_bodies_and_debug_shows_neither() {
        let url = "https://a.test/join?x=1&token=org_1.SECRETSECRET";
        let email = email_with_link(url);
        let debug = format!("{email:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("html_body: Some(\"["), "{debug}");
        let msg = OutboxMessage {
            id: MessageId::from("msg_1"),
            org_id: OrgId::from("org_1"),
            invitation_id: InvitationId::from("inv_1"),
            email,
            status: OutboxStatus::Sent,
            attempts: 1,
            next_attempt_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            last_error: None,
            created_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            sent_at: None,
        }
        .redacted();
        let html = msg.email.html_body.as_deref().unwrap_or_default();
        assert!(!html.contains("SECRET"), "{html}");
        assert_eq!(html, "<a href=\"[redacted]\">join</a> or copy [redacted]");
        assert!(!msg.email.text_body.contains("SECRET"));
        assert_eq!(msg.email.accept_url, REDACTED);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let r = RetryPolicy::default();
        assert_eq!(r.delay_after(1), Duration::seconds(60));
        assert_eq!(r.delay_after(2), Duration::seconds(120));
        assert_eq!(r.delay_after(20), Duration::seconds(3600));
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

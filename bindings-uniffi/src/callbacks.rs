//! Traits the app implements in Kotlin or Swift: the [`Mailer`] that hands
//! invitation emails to the app's backend, and the [`Clock`].

use crate::error::MailError;
use crate::time::clamp_time_in;
use crate::types::OutgoingEmail;
use std::sync::Arc;
use std::time::SystemTime;

/// Delivers invitation emails: a mobile app usually hands them to its own
/// backend. Throwing [`MailError::Temporary`] (or any other exception) has
/// the message retried later with backoff; [`MailError::Permanent`] gives
/// up on it. Called on the thread that called `deliver_pending`.
#[uniffi::export(with_foreign)]
pub trait Mailer: Send + Sync {
    /// Sends one message. `email.message_id` stays the same across retries:
    /// pass it to the backend as an idempotency key.
    fn send(&self, email: OutgoingEmail) -> Result<(), MailError>;
}

/// A source of the current time: the engine never reads the system clock
/// when given one. Must not throw (an exception is reported as an internal
/// error of the call that read the clock).
#[uniffi::export(with_foreign)]
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// An app's [`Mailer`] as core's mailer.
pub(crate) struct MailerAdapter(pub Arc<dyn Mailer>);

impl enlist::Mailer for MailerAdapter {
    fn send(&self, email: &enlist::OutgoingEmail) -> Result<(), enlist::MailError> {
        self.0
            .send(email.clone().into())
            .map_err(|e| match e {
                MailError::Temporary { reason } => MailError::Temporary {
                    reason: scrub_mail_error(&reason, &email.accept_url),
                },
                MailError::Permanent { reason } => MailError::Permanent {
                    reason: scrub_mail_error(&reason, &email.accept_url),
                },
            })
            .map_err(Into::into)
    }
}

/// An app's [`Clock`] as core's clock. A time outside core's range (some
/// 262,000 years from now) is clamped.
pub(crate) struct ClockAdapter(pub Arc<dyn Clock>);

impl enlist::Clock for ClockAdapter {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        clamp_time_in(self.0.now())
    }
}

/// The longest mailer error text kept (the outbox stores it).
const MAX_MAIL_ERROR_CHARS: usize = 500;

/// A mailer's error text made safe to store: at most
/// [`MAX_MAIL_ERROR_CHARS`] characters, with the accept link and every long
/// run of URL characters that also appears in the link (the token) replaced
/// by `[redacted]`. A mailer's message may quote the email it failed to send.
pub(crate) fn scrub_mail_error(reason: &str, accept_url: &str) -> String {
    let mut text: String = reason.chars().take(MAX_MAIL_ERROR_CHARS).collect();
    if !accept_url.is_empty() {
        text = text.replace(accept_url, "[redacted]");
    }
    let is_url_char = |c: char| c.is_ascii_alphanumeric() || "-._~%".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 && accept_url.contains(run.as_str()) {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if is_url_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::scrub_mail_error;

    #[test]
    fn mail_errors_lose_the_link_and_token_and_are_bounded() {
        let url =
            "https://app.example/accept?token=org_abc.Zm9vYmFyYmF6cXV4cXV1eHh5enp5MTIzNDU2Nzg5";
        let token = "org_abc.Zm9vYmFyYmF6cXV4cXV1eHh5enp5MTIzNDU2Nzg5";
        let text = scrub_mail_error(&format!("SMTP 550 for {url} (token {token})"), url);
        assert!(
            !text.contains(token) && !text.contains("Zm9vYmFy"),
            "{text}"
        );
        assert_eq!(text, "SMTP 550 for [redacted] (token [redacted])");
        assert_eq!(scrub_mail_error("mailbox full", url), "mailbox full");
        assert_eq!(scrub_mail_error(&"x".repeat(100_000), url).len(), 500);
    }
}

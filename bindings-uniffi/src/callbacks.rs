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
///
/// `smtpMailer(...)` and `fileMailer(...)` make one implemented in Rust,
/// which `deliverPending` calls directly.
#[uniffi::export(with_foreign)]
pub trait Mailer: Send + Sync + std::any::Any {
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
        // A mailer of enlist-smtp: core's email as it is, no copy.
        if let Some(native) = crate::mailers::NativeMailer::of(&self.0) {
            return native.send_core(email);
        }
        self.0
            .send(email.clone().into())
            .map_err(|e| match e {
                MailError::Temporary { reason } => MailError::Temporary {
                    reason: enlist::scrub_mail_error(&reason, email),
                },
                MailError::Permanent { reason } => MailError::Permanent {
                    reason: enlist::scrub_mail_error(&reason, email),
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

#[cfg(test)]
mod tests {
    use super::{MailError, Mailer, MailerAdapter, OutgoingEmail};
    use std::sync::Arc;

    /// A Kotlin/Swift mailer whose exception quotes the whole message.
    struct Quoting;

    impl Mailer for Quoting {
        fn send(&self, email: OutgoingEmail) -> Result<(), MailError> {
            Err(MailError::Temporary {
                reason: format!("SMTP 451 for {} and more", email.accept_url.expose()),
            })
        }
    }

    #[test]
    fn an_unexpected_foreign_exception_keeps_its_first_line_only() {
        let e = uniffi::UnexpectedUniFFICallbackError {
            reason: "java.io.IOException: backend unreachable\n\
                     \tat com.example.app.Mail.send(Mail.kt:12)\n\
                     \tat com.example.app.Main.run(Main.kt:40)"
                .to_owned(),
        };
        let MailError::Temporary { reason } = MailError::from(e) else {
            panic!("an unexpected exception is retried later");
        };
        assert_eq!(reason, "java.io.IOException: backend unreachable");
    }

    #[test]
    fn a_foreign_mailers_error_loses_the_link_before_it_travels() {
        let engine = enlist::Enlist::in_memory();
        let enlist::CreatedOrganization {
            organization: org,
            owner,
            ..
        } = engine
            .create_organization(enlist::NewOrganization::new(
                "Acme",
                "acct-1",
                "ada@acme.test",
            ))
            .expect("org");
        let report = engine
            .invite(
                &org.id,
                &enlist::Actor::Member(owner.id),
                enlist::InviteRequest::new(enlist::Recipients::Paste("bob@acme.test".into())),
            )
            .expect("invite");
        let token = report.issued[0].secret.clone().expect("a token");
        let msg = engine.claim_due(None, 1).expect("claim").remove(0);
        let adapter = MailerAdapter(Arc::new(Quoting));
        let err = enlist::Mailer::send(&adapter, &msg.email).expect_err("the mailer fails");
        let text = err.to_string();
        assert!(!text.contains(token.expose()), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }
}

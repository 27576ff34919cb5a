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
        self.0.send(email.clone().into()).map_err(Into::into)
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

//! Errors: one flat enum of the families a caller can act on, each with
//! core's stable code, message and facts, and the mail error an app's
//! [`Mailer`](crate::Mailer) throws.

use enlist::ErrorFamily;
use serde_json::Value;
use std::collections::HashMap;

/// Declares [`EnlistError`] from one list of `Variant => core family`
/// (each variant with its doc): the enum, its fields, and the matches that
/// read its parts and build it from a family. A family core adds later
/// becomes `Other` until it is listed here (a test checks the list against
/// core's catalogue).
macro_rules! families {
    ($($(#[doc = $doc:literal])* $variant:ident => $family:ident,)*) => {
        /// Why a command could not be carried out. A failed command changes
        /// nothing (except a wrong access code, which counts).
        ///
        /// One variant per family (core's `ErrorFamily`). Every variant
        /// carries `code`, core's stable code (`already_invited`,
        /// `not_a_member`, `invalid_secret`, ...: safe to match on, log and
        /// translate), `message`, the English message, and `facts`, the
        /// facts of the error by name (`"permission"`, `"invitation"`,
        /// `"status"`, ...) as core's catalogue (`enlist::ErrorCode::facts`,
        /// and the book's errors chapter) lists them for the code: ids as
        /// text, times as RFC 3339 text, counts in decimal, flags
        /// `true`/`false`, enums as their wire names (`"accepted"`,
        /// `"invite_members"`), a list of them joined with commas; an absent
        /// optional fact has no entry. Kotlin sees it as `EnlistException`
        /// (the message field is `errorMessage` there, since `message` is
        /// the exception's own); Swift as `EnlistError`.
        #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
        #[uniffi::export(Display)]
        pub enum EnlistError {
            $(
                $(#[doc = $doc])*
                #[error("{message}")]
                $variant {
                    /// The stable code.
                    code: String,
                    /// The message.
                    message: String,
                    /// The facts, by name.
                    facts: HashMap<String, String>,
                },
            )*
            /// A family newer than this version of the bindings (none
            /// today: a test checks every code of core's catalogue against
            /// the families above).
            #[error("{message}")]
            Other {
                /// The stable code.
                code: String,
                /// The message.
                message: String,
                /// The facts, by name.
                facts: HashMap<String, String>,
            },
        }

        impl EnlistError {
            fn parts(&self) -> (&String, &String, &HashMap<String, String>) {
                match self {
                    $(EnlistError::$variant { code, message, facts } => (code, message, facts),)*
                    EnlistError::Other { code, message, facts } => (code, message, facts),
                }
            }

            /// The variant of `family`, with the code, message and facts.
            pub(crate) fn of_family(
                family: ErrorFamily,
                code: String,
                message: String,
                facts: HashMap<String, String>,
            ) -> Self {
                match family {
                    $(ErrorFamily::$family => EnlistError::$variant { code, message, facts },)*
                    _ => EnlistError::Other { code, message, facts },
                }
            }
        }
    };
}

families! {
    /// The input is malformed (`invalid_input`, `registration_incomplete`,
    /// `email_mismatch`, `domain_not_allowed`): fix it and retry.
    InvalidInput => InvalidInput,
    /// A configured limit would be exceeded (`limit_exceeded`,
    /// `resend_too_soon`).
    LimitExceeded => LimitExceeded,
    /// The actor may not do this: a member lacking a permission
    /// (`permission_denied`), an actor who is not an active member
    /// (`not_a_member`), or a feature the policy switched off (`disabled`).
    PermissionDenied => PermissionDenied,
    /// Something named does not exist (`not_found`, `unknown_group`), or no
    /// invitation matches a token or code (`invalid_secret`).
    NotFound => NotFound,
    /// The state does not allow it (`already_member`, `already_invited`,
    /// `invitation_not_open`, `conflict`).
    Conflict => Conflict,
    /// The invitation has expired (`invitation_expired`): ask for a resend.
    Expired => Expired,
    /// The invitation was revoked (`invitation_revoked`).
    Revoked => Revoked,
    /// The store failed (`storage`), or other writers kept changing the
    /// same data until the retries ran out (`retries_exhausted`): retrying
    /// later may help.
    Storage => Storage,
    /// Mail delivery failed (`mail`).
    Mail => Mail,
}

impl EnlistError {
    /// The stable code.
    pub fn code(&self) -> &str {
        self.parts().0
    }

    /// The facts, by name.
    pub fn facts(&self) -> &HashMap<String, String> {
        self.parts().2
    }
}

/// A fact as text (see [`EnlistError`]); `None` for an absent one.
fn fact_text(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Array(items) => Some(
            items
                .into_iter()
                .filter_map(fact_text)
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Some(other.to_string()),
    }
}

/// Built from core's `family()` and `facts()`: no error has code of its
/// own here.
impl From<enlist::Error> for EnlistError {
    fn from(e: enlist::Error) -> Self {
        let facts = e
            .facts()
            .into_iter()
            .filter_map(|(name, v)| fact_text(v).map(|v| (name, v)))
            .collect();
        EnlistError::of_family(e.family(), e.code().to_owned(), e.to_string(), facts)
    }
}

impl From<enlist::StoreError> for EnlistError {
    fn from(e: enlist::StoreError) -> Self {
        enlist::Error::Store(e).into()
    }
}

/// A failed delivery, thrown by an app's [`Mailer`](crate::Mailer)
/// (`MailException` in Kotlin, `MailError` in Swift). Any other exception
/// the mailer throws counts as [`MailError::Temporary`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum MailError {
    /// Worth retrying later (a timeout, a 4xx reply, the backend down): the
    /// outbox retries it with backoff.
    #[error("temporary mail failure: {reason}")]
    Temporary {
        /// What went wrong.
        reason: String,
    },
    /// Will never succeed (an address the provider refuses): the outbox
    /// gives up on the message.
    #[error("permanent mail failure: {reason}")]
    Permanent {
        /// What went wrong.
        reason: String,
    },
}

/// Any other exception a Kotlin or Swift mailer throws: retried later.
/// Only the first line of its text is kept (the exception's class and
/// message): the foreign side sends its stack trace too, which names the
/// app's classes and files and has no place in the outbox or the audit
/// trail.
impl From<uniffi::UnexpectedUniFFICallbackError> for MailError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let first = e.reason.lines().next().unwrap_or_default().trim_end();
        MailError::Temporary {
            reason: first.to_owned(),
        }
    }
}

impl From<MailError> for enlist::MailError {
    fn from(e: MailError) -> Self {
        match e {
            MailError::Temporary { reason } => enlist::MailError::Temporary(reason),
            MailError::Permanent { reason } => enlist::MailError::Permanent(reason),
        }
    }
}

//! The one error type of the crate, with stable codes.

use crate::id::{GroupId, InvitationId, MemberId};
use crate::role::Permission;
use crate::wire_names;
use std::sync::Arc;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which configured limit was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// Recipients in one invitation batch (`Policy::max_batch`).
    BatchSize,
    /// Characters in a pasted recipient field from a form
    /// (`Policy::max_paste_field_chars`).
    PasteFieldChars,
    /// Rows in one import file (`Policy::max_import_rows`).
    ImportRows,
    /// Seats of a license type (`Policy::seat_limits`).
    Seats,
    /// Times an invitation may be sent (`Policy::resend_cap`).
    ResendCap,
    /// Wrong access codes typed for one invitation
    /// (`Policy::access_code_attempts`).
    AccessCodeAttempts,
    /// The length of a text field (a name, a message, ...).
    FieldLength,
    /// Items requested in one page.
    PageSize,
    /// Bytes in one pasted batch, before it is parsed
    /// (`Policy::max_recipient_bytes`, derived from `max_batch`).
    RecipientBytes,
    /// Entries in one batch, before they are parsed: a paste's fragments or
    /// a list's rows (`Policy::max_recipient_entries`, derived from
    /// `max_batch`).
    RecipientEntries,
    /// Bytes of an import file as uploaded (`Policy::max_import_bytes`).
    ImportBytes,
    /// Entries in an XLSX file's zip archive (`Policy::max_import_entries`).
    ImportEntries,
    /// Bytes of an XLSX file once unpacked
    /// (`Policy::max_import_unpacked_bytes`).
    ImportUnpackedBytes,
    /// How many times its packed size an XLSX entry unpacks to
    /// (`Policy::max_import_ratio`).
    ImportRatio,
}

wire_names! {
    LimitKind {
        BatchSize => "batch_size",
        PasteFieldChars => "paste_field_chars",
        ImportRows => "import_rows",
        Seats => "seats",
        ResendCap => "resend_cap",
        AccessCodeAttempts => "access_code_attempts",
        FieldLength => "field_length",
        PageSize => "page_size",
        RecipientBytes => "recipient_bytes",
        RecipientEntries => "recipient_entries",
        ImportBytes => "import_bytes",
        ImportEntries => "import_entries",
        ImportUnpackedBytes => "import_unpacked_bytes",
        ImportRatio => "import_ratio",
    }
}

/// The family of an error: what a caller can act on. Bindings map families
/// to exception classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorFamily {
    /// The input is malformed; fix it and retry.
    InvalidInput,
    /// A configured limit was reached.
    LimitExceeded,
    /// The actor may not do this.
    PermissionDenied,
    /// Something named does not exist.
    NotFound,
    /// The state does not allow it (already a member, already invited, ...).
    Conflict,
    /// The invitation or link has expired.
    Expired,
    /// The invitation or link was revoked, declined or superseded.
    Revoked,
    /// The store failed.
    Storage,
    /// Mail delivery failed.
    Mail,
}

wire_names! {
    ErrorFamily {
        InvalidInput => "invalid_input",
        LimitExceeded => "limit_exceeded",
        PermissionDenied => "permission_denied",
        NotFound => "not_found",
        Conflict => "conflict",
        Expired => "expired",
        Revoked => "revoked",
        Storage => "storage",
        Mail => "mail",
    }
}

/// What the engine reports when a command cannot be carried out. Each
/// variant names the facts, and [`Error::code`] gives a stable string.
/// A command that fails changes nothing (except where a variant says so).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input field is malformed.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field, as named in the API.
        field: String,
        /// What is wrong with it and what is expected.
        reason: String,
    },
    /// A configured limit would be exceeded; nothing was changed.
    #[error("limit {limit} exceeded: {actual} requested, at most {max} allowed{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    LimitExceeded {
        /// Which limit.
        limit: LimitKind,
        /// The configured maximum.
        max: u64,
        /// What was asked for (or would result).
        actual: u64,
        /// More context, such as the license type.
        detail: Option<String>,
    },
    /// The actor lacks a permission.
    #[error("permission denied: {actor} lacks {permission}{}", context.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    PermissionDenied {
        /// Who tried (a member id, or `system`).
        actor: String,
        /// The permission that is missing.
        permission: Permission,
        /// Why it matters here, if more can be said.
        context: Option<String>,
    },
    /// A feature is switched off by the organization's policy.
    #[error("{feature} is disabled by the organization's policy")]
    Disabled {
        /// The feature: `guests`, `invite_link`, `self_registration`, ...
        feature: String,
    },
    /// An entity does not exist (or is not visible in this organization).
    #[error("{entity} not found: {id}")]
    NotFound {
        /// The kind of entity.
        entity: &'static str,
        /// The id asked for.
        id: String,
    },
    /// No invitation or link matches the secret presented.
    #[error("the invitation link or code is not valid")]
    InvalidSecret,
    /// The recipient is already a member of the organization.
    #[error("{recipient} is already a member ({member})")]
    AlreadyMember {
        /// The recipient as given.
        recipient: String,
        /// The existing member.
        member: MemberId,
    },
    /// The recipient already has an open invitation.
    #[error("{recipient} already has an open invitation ({invitation})")]
    AlreadyInvited {
        /// The recipient as given.
        recipient: String,
        /// The open invitation.
        invitation: InvitationId,
    },
    /// The email's domain is not in the organization's allowed domains.
    #[error("the domain {domain} is not allowed in this organization")]
    DomainNotAllowed {
        /// The domain.
        domain: String,
    },
    /// The invitation is past its expiry.
    #[error("invitation {invitation} expired at {expired_at}; ask for it to be resent")]
    InvitationExpired {
        /// The invitation.
        invitation: InvitationId,
        /// When it expired.
        expired_at: chrono::DateTime<chrono::Utc>,
    },
    /// The invitation was revoked by an administrator, or its link locked.
    #[error("invitation {invitation} was revoked")]
    InvitationRevoked {
        /// The invitation.
        invitation: InvitationId,
    },
    /// The invitation is no longer open (accepted, declined, staged, ...).
    #[error("invitation {invitation} is {status}, not open")]
    InvitationNotOpen {
        /// The invitation.
        invitation: InvitationId,
        /// Its status, as a lowercase word.
        status: String,
    },
    /// A resend came before the policy's cooldown passed.
    #[error("invitation {invitation} was sent recently; resend after {retry_after}")]
    ResendTooSoon {
        /// The invitation.
        invitation: InvitationId,
        /// When a resend becomes possible.
        retry_after: chrono::DateTime<chrono::Utc>,
    },
    /// The registration lacks what the policy requires.
    #[error("registration incomplete: {}", missing.join(", "))]
    RegistrationIncomplete {
        /// The missing fields: `first_name`, `last_name`, `phone`,
        /// `eula_version`, `two_factor`, `user_ref`.
        missing: Vec<String>,
    },
    /// The verified email of the accepting account is not the invited one.
    #[error("the invitation was sent to {invited}, not to {presented}")]
    EmailMismatch {
        /// The invited address.
        invited: String,
        /// The address the account has.
        presented: String,
    },
    /// A state conflict not covered by a more specific variant.
    #[error("conflict: {reason}")]
    Conflict {
        /// What conflicts.
        reason: String,
    },
    /// A group id was named that does not belong to the organization.
    #[error("group not found: {group}")]
    UnknownGroup {
        /// The group.
        group: GroupId,
    },
    /// The store failed. (A [`StoreError::InvalidCursor`] becomes
    /// [`Error::InvalidInput`] on field `cursor` instead: it is the caller's
    /// mistake, not the store's.)
    #[error(transparent)]
    Store(StoreError),
    /// Mail delivery failed.
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl Error {
    /// A stable, lowercase code: safe to match on, log and translate.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidInput { .. } => "invalid_input",
            Error::LimitExceeded { .. } => "limit_exceeded",
            Error::PermissionDenied { .. } => "permission_denied",
            Error::Disabled { .. } => "disabled",
            Error::NotFound { .. } => "not_found",
            Error::InvalidSecret => "invalid_secret",
            Error::AlreadyMember { .. } => "already_member",
            Error::AlreadyInvited { .. } => "already_invited",
            Error::DomainNotAllowed { .. } => "domain_not_allowed",
            Error::InvitationExpired { .. } => "invitation_expired",
            Error::InvitationRevoked { .. } => "invitation_revoked",
            Error::InvitationNotOpen { .. } => "invitation_not_open",
            Error::ResendTooSoon { .. } => "resend_too_soon",
            Error::RegistrationIncomplete { .. } => "registration_incomplete",
            Error::EmailMismatch { .. } => "email_mismatch",
            Error::Conflict { .. } => "conflict",
            Error::UnknownGroup { .. } => "unknown_group",
            Error::Store(_) => "storage",
            Error::Mail(_) => "mail",
        }
    }

    /// The family the error belongs to.
    pub fn family(&self) -> ErrorFamily {
        match self {
            Error::InvalidInput { .. }
            | Error::RegistrationIncomplete { .. }
            | Error::EmailMismatch { .. }
            | Error::DomainNotAllowed { .. } => ErrorFamily::InvalidInput,
            Error::LimitExceeded { .. } | Error::ResendTooSoon { .. } => ErrorFamily::LimitExceeded,
            Error::PermissionDenied { .. } | Error::Disabled { .. } => {
                ErrorFamily::PermissionDenied
            }
            Error::NotFound { .. } | Error::InvalidSecret | Error::UnknownGroup { .. } => {
                ErrorFamily::NotFound
            }
            Error::AlreadyMember { .. }
            | Error::AlreadyInvited { .. }
            | Error::InvitationNotOpen { .. }
            | Error::Conflict { .. } => ErrorFamily::Conflict,
            Error::InvitationExpired { .. } => ErrorFamily::Expired,
            Error::InvitationRevoked { .. } => ErrorFamily::Revoked,
            Error::Store(_) => ErrorFamily::Storage,
            Error::Mail(_) => ErrorFamily::Mail,
        }
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(entity: &'static str, id: impl std::fmt::Display) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub(crate) fn conflict(reason: impl Into<String>) -> Self {
        Error::Conflict {
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor { list } => Error::InvalidInput {
                field: "cursor".to_owned(),
                reason: format!(
                    "not a page cursor of the {list} list: pass back a next_cursor from the same list"
                ),
            },
            e => Error::Store(e),
        }
    }
}

/// A failure of a [`Store`](crate::Store).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another writer changed the same data; the whole command may be retried.
    #[error("concurrent update conflict; retry the command")]
    Conflict,
    /// A uniqueness rule of the store was violated.
    #[error("uniqueness violated: {0}")]
    Unique(String),
    /// The store cannot be reached or is unusable.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The stored data was written by a newer version of enlist.
    #[error("the store's schema version {found} is newer than this library supports ({supported})")]
    SchemaTooNew {
        /// The version found in the store.
        found: u32,
        /// The newest version this library knows.
        supported: u32,
    },
    /// Stored data could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A page cursor that the store did not hand out for this list (made
    /// up, damaged, or from another list). Reaches callers as
    /// [`Error::InvalidInput`] on field `cursor`.
    #[error("invalid page cursor for the {list} list: pass back a next_cursor from the same list")]
    InvalidCursor {
        /// The list the cursor was given to (`member`, `invitation`, ...).
        list: String,
    },
    /// Any other failure of the underlying driver.
    #[error("store error: {0}")]
    Other(Arc<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any driver error.
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Other(Arc::new(e))
    }
}

/// A failure of a [`Mailer`](crate::Mailer).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// Worth retrying later (a timeout, a 4xx SMTP reply, ...).
    #[error("temporary mail failure: {0}")]
    Temporary(String),
    /// Will never succeed (a 5xx reply, an address the provider refuses).
    #[error("permanent mail failure: {0}")]
    Permanent(String),
    /// Any other failure.
    #[error("mail error: {0}")]
    Other(Arc<dyn std::error::Error + Send + Sync>),
}

impl MailError {
    /// Whether a retry may help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Permanent(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_errors_name_the_limit_and_numbers() {
        let e = Error::LimitExceeded {
            limit: LimitKind::BatchSize,
            max: 100,
            actual: 101,
            detail: None,
        };
        assert_eq!(e.code(), "limit_exceeded");
        assert_eq!(e.family(), ErrorFamily::LimitExceeded);
        let msg = e.to_string();
        assert!(msg.contains("batch_size") && msg.contains("101") && msg.contains("100"));
    }
}

//! Errors: one flat enum of the families a caller can act on, each with
//! core's stable code and message, and the mail error an app's
//! [`Mailer`](crate::Mailer) throws.

use crate::time::time_out;
use enlist::Permission;
use std::time::SystemTime;

/// Why a command could not be carried out. A failed command changes
/// nothing (except a wrong access code, which counts).
///
/// Every variant carries `code`, core's stable code (`already_invited`,
/// `invalid_secret`, ...: safe to match on, log and translate), and
/// `message`, the English message. Kotlin sees it as `EnlistException`
/// (the message field is `errorMessage` there, since `message` is the
/// exception's own); Swift as `EnlistError`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi::export(Display)]
pub enum EnlistError {
    /// The input is malformed (`invalid_input`, `registration_incomplete`,
    /// `email_mismatch`, `domain_not_allowed`): fix it and retry.
    #[error("{message}")]
    InvalidInput {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
        /// The field at fault, when one is.
        field: Option<String>,
        /// The registration fields still missing (`registration_incomplete`).
        missing: Vec<String>,
    },
    /// A configured limit would be exceeded (`limit_exceeded`,
    /// `resend_too_soon`).
    #[error("{message}")]
    LimitExceeded {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
        /// Which limit (`batch_size`, `seats`, `access_code_attempts`, ...).
        limit: Option<String>,
        /// The configured maximum.
        max: Option<u64>,
        /// What was asked for.
        actual: Option<u64>,
        /// When to try again (`resend_too_soon`).
        retry_after: Option<SystemTime>,
    },
    /// The actor may not do this (`permission_denied`), or the policy
    /// switched the feature off (`disabled`).
    #[error("{message}")]
    PermissionDenied {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
        /// The permission that is missing.
        permission: Option<Permission>,
        /// The feature switched off (`guests`, `invite_link`, ...).
        feature: Option<String>,
    },
    /// Something named does not exist (`not_found`, `unknown_group`), or no
    /// invitation matches a token or code (`invalid_secret`).
    #[error("{message}")]
    NotFound {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
        /// The kind of thing (`organization`, `member`, `group`, ...).
        entity: Option<String>,
        /// The id asked for.
        id: Option<String>,
    },
    /// The state does not allow it (`already_member`, `already_invited`,
    /// `invitation_not_open`, `conflict`).
    #[error("{message}")]
    Conflict {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
        /// The existing member (`already_member`).
        member_id: Option<String>,
        /// The invitation concerned.
        invitation_id: Option<String>,
    },
    /// The invitation has expired (`invitation_expired`): ask for a resend.
    #[error("{message}")]
    Expired {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
        /// The invitation.
        invitation_id: Option<String>,
        /// When it expired.
        expired_at: Option<SystemTime>,
    },
    /// The invitation was revoked (`invitation_revoked`).
    #[error("{message}")]
    Revoked {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
        /// The invitation.
        invitation_id: Option<String>,
    },
    /// The store failed (`storage`): retrying later may help.
    #[error("{message}")]
    Storage {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
    },
    /// Mail delivery failed (`mail`).
    #[error("{message}")]
    Mail {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
    },
    /// An error this version of the bindings does not classify.
    #[error("{message}")]
    Other {
        /// The stable code.
        code: String,
        /// The message.
        message: String,
    },
}

impl EnlistError {
    /// The stable code.
    pub fn code(&self) -> &str {
        match self {
            EnlistError::InvalidInput { code, .. }
            | EnlistError::LimitExceeded { code, .. }
            | EnlistError::PermissionDenied { code, .. }
            | EnlistError::NotFound { code, .. }
            | EnlistError::Conflict { code, .. }
            | EnlistError::Expired { code, .. }
            | EnlistError::Revoked { code, .. }
            | EnlistError::Storage { code, .. }
            | EnlistError::Mail { code, .. }
            | EnlistError::Other { code, .. } => code,
        }
    }
}

impl From<enlist::Error> for EnlistError {
    fn from(e: enlist::Error) -> Self {
        use enlist::Error as E;
        let code = e.code().to_owned();
        let message = e.to_string();
        match e {
            E::InvalidInput { field, .. } => EnlistError::InvalidInput {
                code,
                message,
                field: Some(field),
                missing: Vec::new(),
            },
            E::RegistrationIncomplete { missing } => EnlistError::InvalidInput {
                code,
                message,
                field: None,
                missing,
            },
            E::EmailMismatch { .. } => EnlistError::InvalidInput {
                code,
                message,
                field: Some("verified_email".to_owned()),
                missing: Vec::new(),
            },
            E::DomainNotAllowed { .. } => EnlistError::InvalidInput {
                code,
                message,
                field: Some("email".to_owned()),
                missing: Vec::new(),
            },
            E::LimitExceeded {
                limit, max, actual, ..
            } => EnlistError::LimitExceeded {
                code,
                message,
                limit: Some(limit.as_str().to_owned()),
                max: Some(max),
                actual: Some(actual),
                retry_after: None,
            },
            E::ResendTooSoon { retry_after, .. } => EnlistError::LimitExceeded {
                code,
                message,
                limit: None,
                max: None,
                actual: None,
                retry_after: Some(time_out(retry_after)),
            },
            E::PermissionDenied { permission, .. } => EnlistError::PermissionDenied {
                code,
                message,
                permission: Some(permission),
                feature: None,
            },
            E::Disabled { feature } => EnlistError::PermissionDenied {
                code,
                message,
                permission: None,
                feature: Some(feature),
            },
            E::NotFound { entity, id } => EnlistError::NotFound {
                code,
                message,
                entity: Some(entity.to_owned()),
                id: Some(id),
            },
            E::UnknownGroup { group } => EnlistError::NotFound {
                code,
                message,
                entity: Some("group".to_owned()),
                id: Some(group.into_string()),
            },
            E::InvalidSecret => EnlistError::NotFound {
                code,
                message,
                entity: None,
                id: None,
            },
            E::AlreadyMember { member, .. } => EnlistError::Conflict {
                code,
                message,
                member_id: Some(member.into_string()),
                invitation_id: None,
            },
            E::AlreadyInvited { invitation, .. } | E::InvitationNotOpen { invitation, .. } => {
                EnlistError::Conflict {
                    code,
                    message,
                    member_id: None,
                    invitation_id: Some(invitation.into_string()),
                }
            }
            E::Conflict { .. } => EnlistError::Conflict {
                code,
                message,
                member_id: None,
                invitation_id: None,
            },
            E::InvitationExpired {
                invitation,
                expired_at,
            } => EnlistError::Expired {
                code,
                message,
                invitation_id: Some(invitation.into_string()),
                expired_at: Some(time_out(expired_at)),
            },
            E::InvitationRevoked { invitation } => EnlistError::Revoked {
                code,
                message,
                invitation_id: Some(invitation.into_string()),
            },
            E::Store(_) => EnlistError::Storage { code, message },
            E::Mail(_) => EnlistError::Mail { code, message },
            _ => EnlistError::Other { code, message },
        }
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

impl From<uniffi::UnexpectedUniFFICallbackError> for MailError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        MailError::Temporary { reason: e.reason }
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

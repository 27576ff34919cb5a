//! `enlist::Error` as Python exceptions: one class per error family (the
//! classes live in `enlist._errors`, under `enlist.EnlistError`), with the
//! stable code and every fact of the error as attributes.

use enlist::{Error, ErrorFamily, MailError, StoreError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python module holding the exception classes.
pub(crate) fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS
        .get_or_try_init(py, || Ok(py.import("enlist._errors")?.unbind()))
        .map(|m| m.bind(py))
}

/// The exception class of a family.
fn class_name(family: ErrorFamily) -> &'static str {
    match family {
        ErrorFamily::InvalidInput => "InvalidInputError",
        ErrorFamily::LimitExceeded => "LimitExceededError",
        ErrorFamily::PermissionDenied => "PermissionDeniedError",
        ErrorFamily::NotFound => "NotFoundError",
        ErrorFamily::Conflict => "ConflictError",
        ErrorFamily::Expired => "ExpiredError",
        ErrorFamily::Revoked => "RevokedError",
        ErrorFamily::Storage => "StorageError",
        ErrorFamily::Mail => "MailError",
        _ => "EnlistError",
    }
}

/// The Python exception for an engine error.
pub(crate) fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    build(py, e).unwrap_or_else(|err| err)
}

/// An `InvalidInputError` for an argument the bindings refuse before the
/// engine sees it (an unknown enum value, a naive datetime, ...).
pub(crate) fn invalid(py: Python<'_>, field: &str, reason: impl Into<String>) -> PyErr {
    to_py_err(
        py,
        &Error::InvalidInput {
            field: field.to_owned(),
            reason: reason.into(),
        },
    )
}

fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    use crate::convert::{enum_out, py_enum};
    let facts = PyDict::new(py);
    match e {
        Error::InvalidInput { field, reason } => {
            facts.set_item("field", field)?;
            facts.set_item("reason", reason)?;
        }
        Error::LimitExceeded {
            limit,
            max,
            actual,
            detail,
        } => {
            facts.set_item("limit", enum_out(py, "LimitKind", limit)?)?;
            facts.set_item("max", max)?;
            facts.set_item("actual", actual)?;
            facts.set_item("detail", detail)?;
        }
        Error::PermissionDenied {
            actor,
            permission,
            context,
        } => {
            facts.set_item("actor", actor)?;
            facts.set_item("permission", enum_out(py, "Permission", permission)?)?;
            facts.set_item("context", context)?;
        }
        Error::Disabled { feature } => facts.set_item("feature", feature)?,
        Error::NotFound { entity, id } => {
            facts.set_item("entity", *entity)?;
            facts.set_item("id", id)?;
        }
        Error::AlreadyMember { recipient, member } => {
            facts.set_item("recipient", recipient)?;
            facts.set_item("member", member.as_str())?;
        }
        Error::AlreadyInvited {
            recipient,
            invitation,
        } => {
            facts.set_item("recipient", recipient)?;
            facts.set_item("invitation", invitation.as_str())?;
        }
        Error::DomainNotAllowed { domain } => facts.set_item("domain", domain)?,
        Error::InvitationExpired {
            invitation,
            expired_at,
        } => {
            facts.set_item("invitation", invitation.as_str())?;
            facts.set_item("expired_at", expired_at)?;
        }
        Error::InvitationRevoked { invitation } => {
            facts.set_item("invitation", invitation.as_str())?;
        }
        Error::InvitationNotOpen { invitation, status } => {
            facts.set_item("invitation", invitation.as_str())?;
            facts.set_item("status", py_enum(py, "InvitationStatus", status)?)?;
        }
        Error::ResendTooSoon {
            invitation,
            retry_after,
        } => {
            facts.set_item("invitation", invitation.as_str())?;
            facts.set_item("retry_after", retry_after)?;
        }
        Error::RegistrationIncomplete { missing } => facts.set_item("missing", missing)?,
        Error::EmailMismatch { invited, presented } => {
            facts.set_item("invited", invited)?;
            facts.set_item("presented", presented)?;
        }
        Error::Conflict { reason } => facts.set_item("reason", reason)?,
        Error::UnknownGroup { group } => facts.set_item("group", group.as_str())?,
        Error::Store(s) => {
            let kind = match s {
                StoreError::Conflict => "conflict",
                StoreError::Unique(_) => "unique",
                StoreError::Unavailable(_) => "unavailable",
                StoreError::SchemaTooNew { found, supported } => {
                    facts.set_item("found", found)?;
                    facts.set_item("supported", supported)?;
                    "schema_too_new"
                }
                StoreError::Corrupt(_) => "corrupt",
                _ => "other",
            };
            facts.set_item("store_error", kind)?;
        }
        Error::Mail(m) => {
            facts.set_item("permanent", matches!(m, MailError::Permanent(_)))?;
        }
        _ => {}
    }
    facts.set_item("code", e.code())?;
    let cls = errors_module(py)?.getattr(class_name(e.family()))?;
    let instance = cls.call((e.to_string(),), Some(&facts))?;
    Ok(PyErr::from_value(instance))
}

/// `Result<T, enlist::Error>` into `PyResult<T>`.
pub(crate) trait OrRaise<T> {
    /// Maps the error to its Python exception.
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for Result<T, Error> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py_err(py, &e))
    }
}

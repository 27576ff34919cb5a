//! A Python callable (or an object with `send(email)`) as an
//! `enlist::Mailer`.

use crate::types::PyOutgoingEmail;
use enlist::{MailError, Mailer, OutgoingEmail};
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use std::sync::Mutex;

/// Calls Python for each email. An `Exception` raised there is a failed
/// delivery: permanent when it is an `enlist.MailError` with
/// `permanent=True`, temporary (retried with backoff) otherwise. A
/// `BaseException` that is not an `Exception` (`KeyboardInterrupt`,
/// `SystemExit`) stops the run: the messages left are not handed to Python
/// (they count a temporary failure and are retried later), and the
/// exception is raised again once the outcomes are recorded.
pub(crate) struct PyMailer {
    send: Py<PyAny>,
    interrupted: Mutex<Option<PyErr>>,
}

impl PyMailer {
    /// The mailer's `send` method, or the mailer itself when it is a
    /// callable without one.
    pub(crate) fn new(mailer: &Bound<'_, PyAny>) -> PyResult<Self> {
        let send = if let Ok(send) = mailer.getattr("send") {
            send
        } else if mailer.is_callable() {
            mailer.clone()
        } else {
            return Err(PyTypeError::new_err(
                "mailer must be a callable taking an enlist.OutgoingEmail, or an object with a send(email) method",
            ));
        };
        if !send.is_callable() {
            return Err(PyTypeError::new_err("mailer.send must be callable"));
        }
        Ok(Self {
            send: send.unbind(),
            interrupted: Mutex::new(None),
        })
    }

    fn is_interrupted(&self) -> bool {
        self.interrupted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// The interruption to raise again, if any.
    pub(crate) fn take_interruption(&self) -> Option<PyErr> {
        self.interrupted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

impl Mailer for PyMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        if self.is_interrupted() {
            return Err(MailError::Temporary(
                "delivery was interrupted before this message was tried".into(),
            ));
        }
        Python::attach(|py| {
            let arg = PyOutgoingEmail::from(email.clone());
            match self.send.bind(py).call1((arg,)) {
                Ok(_) => Ok(()),
                Err(err) => {
                    let message = enlist::scrub_mail_error(&describe(py, &err), email);
                    if !err.is_instance_of::<PyException>(py) {
                        *self.interrupted.lock().unwrap_or_else(|e| e.into_inner()) = Some(err);
                        return Err(MailError::Temporary(format!("interrupted: {message}")));
                    }
                    if is_permanent(py, &err) {
                        Err(MailError::Permanent(message))
                    } else {
                        Err(MailError::Temporary(message))
                    }
                }
            }
        })
    }
}

/// `Type: message`, for the outbox's `last_error`.
fn describe(py: Python<'_>, err: &PyErr) -> String {
    let name = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let text = err.value(py).to_string();
    if text.is_empty() {
        name
    } else {
        format!("{name}: {text}")
    }
}

/// An `enlist.MailError` raised with `permanent=True`.
fn is_permanent(py: Python<'_>, err: &PyErr) -> bool {
    let Ok(errors) = crate::errors::errors_module(py) else {
        return false;
    };
    let Ok(cls) = errors.getattr("MailError") else {
        return false;
    };
    let value = err.value(py);
    value.is_instance(&cls).unwrap_or(false)
        && value
            .getattr("permanent")
            .and_then(|p| p.is_truthy())
            .unwrap_or(false)
}

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
                    let message = scrub_mail_error(&describe(py, &err), &email.accept_url);
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

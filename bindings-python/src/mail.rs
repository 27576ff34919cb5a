//! A Python callable (or an object with `send(email)`) as an
//! `enlist::Mailer`, and the native mailers of `enlist-smtp`
//! (`enlist.SmtpMailer`, `enlist.FileMailer`), which send without calling
//! back into Python.

use crate::errors::OrRaise;
use crate::types::PyOutgoingEmail;
use enlist::{MailError, Mailer, OutgoingEmail};
use pyo3::exceptions::{PyException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// `enlist.SmtpMailer`: `enlist_smtp::SmtpMailer`, configured by keywords
/// read through `SmtpConfig`'s serde form (a field the crate adds is a
/// keyword with no code here). The password is kept by the mailer only:
/// never in its `repr`, nor in an error.
#[pyclass(name = "SmtpMailer", module = "enlist", frozen)]
pub(crate) struct PySmtpMailer {
    inner: Arc<enlist_smtp::SmtpMailer>,
    repr: String,
}

#[pymethods]
impl PySmtpMailer {
    #[new]
    #[pyo3(signature = (host, *, from_address, from_name = None, password = None, **options))]
    fn py_new(
        py: Python<'_>,
        host: String,
        from_address: &str,
        from_name: Option<&str>,
        password: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        // `from` is `from_address` and `from_name`; the password is taken
        // apart, never through the serde form (it is not serialized).
        if let Some(options) = options {
            if options.contains("from")? {
                return Err(PyTypeError::new_err(
                    "SmtpMailer got an unexpected keyword argument \"from\" (use from_address and from_name)",
                ));
            }
        }
        let from = enlist_smtp::from_mailbox(from_name, from_address).or_raise(py)?;
        let base = enlist_smtp::SmtpConfig::new(host, from);
        let mut config = enlist::python_support::with_keywords("SmtpMailer", &base, options)?;
        config.password = password;
        let repr = format!(
            "SmtpMailer(host={:?}, port={}, tls={:?}, from={:?}, login={})",
            config.host,
            config.effective_port(),
            serde_json::to_value(config.tls)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            config.from,
            if config.username.is_some() {
                "True"
            } else {
                "False"
            },
        );
        let inner = enlist_smtp::SmtpMailer::new(config).or_raise(py)?;
        Ok(Self {
            inner: Arc::new(inner),
            repr,
        })
    }

    /// Sends one email now (outside the outbox): for a Python mailer that
    /// wraps this one. A failure raises `MailError` (`permanent` per the
    /// SMTP reply).
    fn send(&self, py: Python<'_>, email: PyRef<'_, PyOutgoingEmail>) -> PyResult<()> {
        send_native(py, self.inner.as_ref(), &email.clone())
    }

    /// Closes the connections kept open between sends.
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.inner.close_idle());
    }

    fn __repr__(&self) -> String {
        self.repr.clone()
    }
}

impl Drop for PySmtpMailer {
    /// Says `QUIT` on the kept connections with the GIL released: the
    /// server may be slow, or be Python code in another thread.
    fn drop(&mut self) {
        let inner = &self.inner;
        Python::attach(|py| py.detach(|| inner.close_idle()));
    }
}

/// `enlist.FileMailer`: each email as `{folder}/{message id}.eml`.
#[pyclass(name = "FileMailer", module = "enlist", frozen)]
pub(crate) struct PyFileMailer {
    inner: Arc<enlist_smtp::FileMailer>,
}

#[pymethods]
impl PyFileMailer {
    #[new]
    #[pyo3(signature = (folder, *, from_address = "enlist@localhost", from_name = None))]
    fn py_new(
        py: Python<'_>,
        folder: PathBuf,
        from_address: &str,
        from_name: Option<&str>,
    ) -> PyResult<Self> {
        let from = enlist_smtp::from_mailbox(from_name, from_address).or_raise(py)?;
        let inner = enlist_smtp::FileMailer::new(folder, &from).or_raise(py)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The folder the `.eml` files go to.
    #[getter]
    fn folder(&self) -> PathBuf {
        self.inner.folder().to_path_buf()
    }

    /// Writes one email now (outside the outbox).
    fn send(&self, py: Python<'_>, email: PyRef<'_, PyOutgoingEmail>) -> PyResult<()> {
        send_native(py, self.inner.as_ref(), &email.clone())
    }

    fn __repr__(&self) -> String {
        format!(
            "FileMailer({:?})",
            self.inner.folder().display().to_string()
        )
    }
}

/// One email through a native mailer, without the GIL; a failure is
/// `MailError`, its text scrubbed of the email's link.
fn send_native(py: Python<'_>, mailer: &dyn Mailer, email: &OutgoingEmail) -> PyResult<()> {
    py.detach(|| mailer.send(email))
        .map_err(|e| crate::errors::to_py_err(py, &enlist::Error::Mail(e.scrubbed(email))))
}

/// Where `deliver_pending` sends: Python, or a native mailer called
/// directly (no GIL taken per message).
enum Target {
    Python(Py<PyAny>),
    Native(Arc<dyn Mailer>),
}

/// Calls Python for each email. An `Exception` raised there is a failed
/// delivery: permanent when it is an `enlist.MailError` with
/// `permanent=True`, temporary (retried with backoff) otherwise. A
/// `BaseException` that is not an `Exception` (`KeyboardInterrupt`,
/// `SystemExit`) stops the run: the messages left are not handed to Python
/// (they count a temporary failure and are retried later), and the
/// exception is raised again once the outcomes are recorded.
pub(crate) struct PyMailer {
    send: Target,
    interrupted: Mutex<Option<PyErr>>,
}

impl PyMailer {
    /// The mailer's `send` method, or the mailer itself when it is a
    /// callable without one.
    pub(crate) fn new(mailer: &Bound<'_, PyAny>) -> PyResult<Self> {
        let native: Option<Arc<dyn Mailer>> = if let Ok(m) = mailer.cast::<PySmtpMailer>() {
            Some(m.get().inner.clone())
        } else if let Ok(m) = mailer.cast::<PyFileMailer>() {
            Some(m.get().inner.clone())
        } else {
            None
        };
        if let Some(native) = native {
            return Ok(Self {
                send: Target::Native(native),
                interrupted: Mutex::new(None),
            });
        }
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
            send: Target::Python(send.unbind()),
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
        let send = match &self.send {
            Target::Native(mailer) => return mailer.send(email),
            Target::Python(send) => send,
        };
        Python::attach(|py| {
            let arg = PyOutgoingEmail::from(email.clone());
            match send.bind(py).call1((arg,)) {
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

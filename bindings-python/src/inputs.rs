//! What Python passes in: ids (a string or the object that has the id),
//! actors, groups, recipients, the policy, the retry policy and the manual
//! clock.

use crate::convert::{secs_in, utc_in};
use crate::errors::{OrRaise, invalid};
use crate::types::{PyActor, delta, record};
use chrono::{DateTime, TimeDelta, Utc};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;
use std::sync::Arc;

// Ids (`OrgId`, `MemberId`, `GroupId`, `InvitationId`) are taken as the id
// (a `str`) or the record that has it: core's `FromPyObject`
// (`enlist::python_support`).

/// Who acts: an `Actor`, a member id, or a `Member`.
pub(crate) struct ActorRef(pub enlist::Actor);

impl<'a, 'py> FromPyObject<'a, 'py> for ActorRef {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = obj.cast::<PyActor>() {
            return Ok(Self(a.get().inner.clone()));
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(Self(enlist::Actor::Member(s.to_cow()?.into_owned().into())));
        }
        if let Ok(m) = obj.cast::<enlist::Member>() {
            return Ok(Self(enlist::Actor::Member(m.get().id.clone())));
        }
        Err(PyTypeError::new_err(
            "actor must be an enlist.Actor, a member id (str) or an enlist.Member",
        ))
    }
}

/// Groups to grant: each a `GroupGrant`, or a group id or `Group` (a plain
/// membership).
pub(crate) struct Grants(pub Vec<enlist::GroupGrant>);

impl<'a, 'py> FromPyObject<'a, 'py> for Grants {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        enlist::python_support::grants_in(&obj).map(Self)
    }
}

// ---------------------------------------------------------------------------
// Recipients
// ---------------------------------------------------------------------------

/// Recipients of `invite`: a paste (one string), or a list of addresses
/// and `RecipientInput`s.
pub(crate) fn recipients(obj: &Bound<'_, PyAny>, form_field: bool) -> PyResult<enlist::Recipients> {
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s.to_cow()?.into_owned();
        return Ok(if form_field {
            enlist::Recipients::FormField(text)
        } else {
            enlist::Recipients::Paste(text)
        });
    }
    if form_field {
        return Err(invalid(
            obj.py(),
            "recipients",
            "form_field=True needs the field's text (a string)",
        ));
    }
    let mut list = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        if let Ok(r) = item.cast::<enlist::RecipientInput>() {
            list.push(r.get().clone());
        } else if let Ok(s) = item.cast::<PyString>() {
            list.push(enlist::RecipientInput::email(s.to_cow()?));
        } else {
            return Err(PyTypeError::new_err(
                "each recipient must be an address (str) or an enlist.RecipientInput",
            ));
        }
    }
    Ok(enlist::Recipients::List(list))
}

// ---------------------------------------------------------------------------
// Engine settings
// ---------------------------------------------------------------------------

record! {
    /// How the outbox retries failed deliveries (an engine setting).
    "RetryPolicy" PyRetryPolicy(enlist::RetryPolicy) repr("max_attempts", "base_delay", "max_delay", "claim") {
        /// Attempts before giving up (default 8).
        max_attempts(v, py) -> u32 { v.max_attempts }
        /// Wait after the first failure, doubled after each further one
        /// (default 1 minute).
        base_delay(v, py) -> TimeDelta { delta(v.base_delay_secs) }
        /// Longest wait between attempts (default 1 hour).
        max_delay(v, py) -> TimeDelta { delta(v.max_delay_secs) }
        /// How long a claim on a message lasts (default 5 minutes).
        claim(v, py) -> TimeDelta { delta(v.claim_secs) }
    }

    #[new]
    #[pyo3(signature = (*, max_attempts = None, base_delay = None, max_delay = None, claim = None))]
    fn new(
        py: Python<'_>,
        max_attempts: Option<u32>,
        base_delay: Option<&Bound<'_, PyAny>>,
        max_delay: Option<&Bound<'_, PyAny>>,
        claim: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut r = enlist::RetryPolicy::default();
        if let Some(n) = max_attempts {
            r.max_attempts = n;
        }
        if let Some(d) = base_delay {
            r.base_delay_secs = secs_in(d, "base_delay")?;
        }
        if let Some(d) = max_delay {
            r.max_delay_secs = secs_in(d, "max_delay")?;
        }
        if let Some(d) = claim {
            r.claim_secs = secs_in(d, "claim")?;
        }
        // The engine adds these durations to times: bound them here, where
        // the caller can be told which one is wrong.
        Ok(r.validated().or_raise(py)?.into())
    }
}

/// A clock that moves only when told: give it to `Enlist.in_memory(clock=...)`
/// (or another store) to test expiry, cooldowns and retries.
#[pyclass(frozen, name = "ManualClock", module = "enlist._enlist")]
pub struct PyManualClock {
    pub(crate) inner: Arc<enlist::ManualClock>,
}

#[pymethods]
impl PyManualClock {
    /// A clock at `start` (an aware datetime), or at 2030-01-01 00:00 UTC.
    #[new]
    #[pyo3(signature = (start = None))]
    fn new(start: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let start = match start {
            Some(s) => utc_in(s, "start")?,
            None => DateTime::<Utc>::from_timestamp(1_893_456_000, 0).unwrap_or_default(),
        };
        Ok(Self {
            inner: Arc::new(enlist::ManualClock::new(start)),
        })
    }

    /// The clock's time.
    fn now(&self) -> DateTime<Utc> {
        enlist::Clock::now(self.inner.as_ref())
    }

    /// Moves the clock forward by a `timedelta`. A move that would leave
    /// the years a Python `datetime` holds (1 to 9999) raises
    /// `InvalidInputError` and leaves the clock where it was.
    fn advance(&self, py: Python<'_>, by: TimeDelta) -> PyResult<()> {
        use chrono::Datelike;
        let now = enlist::Clock::now(self.inner.as_ref());
        match now.checked_add_signed(by) {
            Some(to) if (1..=9999).contains(&to.year()) => {
                self.inner.advance(by);
                Ok(())
            }
            _ => Err(crate::errors::invalid(
                py,
                "by",
                format!("moves the clock from {now} out of the years 1 to 9999"),
            )),
        }
    }

    /// Sets the clock to an aware datetime.
    fn set(&self, to: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.set(utc_in(to, "to")?);
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!(
            "ManualClock({})",
            enlist::Clock::now(self.inner.as_ref()).to_rfc3339()
        )
    }
}

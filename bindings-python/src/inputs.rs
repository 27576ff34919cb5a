//! What Python passes in: ids (a string or the object that has the id),
//! actors, groups, recipients and the manual clock (the policies are
//! core's own classes).

use crate::convert::utc_in;
use crate::errors::invalid;
use crate::types::PyActor;
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

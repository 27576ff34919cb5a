//! Hooks in Python (better-auth's `organizationHooks`): any object with
//! `before(change)` and/or `after(change)` methods (the `Hooks` protocol
//! of the stub) as an `enlist::Hooks`, the `HookChange` it is given, and
//! the event feed's records (`FeedEvent`, `EventFeed`).
//!
//! The engine calls a hook from the thread that runs the command, with the
//! GIL released; the hook takes the GIL back for the call. An exception
//! raised by `before` refuses the change: its message becomes the reason
//! of `PermissionDeniedError` (code `hook_refused`), or of one batch row's
//! `refused_by_hook`. An exception raised by `after` cannot undo the
//! committed command: it goes to `sys.unraisablehook` (printed by default)
//! and the command returns normally.

use crate::convert::tagged;
use crate::types::{PyActor, PyEvent, record, wrap};
use chrono::{DateTime, Utc};
use enlist::{HookChange, HookError, Hooks};
use pyo3::prelude::*;
use pyo3::types::PyDict;

record! {
    /// One change, as a hook sees it: the command, the organization, who
    /// does it, when, what (`kind` and its facts in `data`, as on
    /// `Event`), and the invitation and member it is about as the command
    /// leaves them. `seq` is 0 in `before` (the event is not numbered
    /// yet). It holds no secret: no token, link or access code.
    "HookChange" PyHookChange(HookChange) repr("command", "kind", "org_id") {
        command(v, py) -> String { v.command.clone() }
        org_id(v, py) -> String { v.org_id.to_string() }
        actor(v, py) -> PyActor { v.actor.clone().into() }
        at(v, py) -> DateTime<Utc> { v.at }
        seq(v, py) -> u64 { v.seq }
        kind(v, py) -> Bound<'py, PyAny> { tagged(py, &v.kind, "type", "EventKind")?.0 }
        data(v, py) -> Bound<'py, PyDict> { tagged(py, &v.kind, "type", "EventKind")?.1 }
        invitation(v, py) -> Option<enlist::Invitation> { v.invitation.clone() }
        member(v, py) -> Option<enlist::Member> { v.member.clone() }
        /// The change as an audit event.
        event(v, py) -> PyEvent { v.event().into() }
    }
}

record! {
    /// One event of the feed, and the cursor just after it (store it once
    /// the event is delivered).
    "FeedEvent" PyFeedEvent(enlist::FeedEvent) repr("cursor", "event") {
        cursor(v, py) -> String { v.cursor.clone() }
        event(v, py) -> PyEvent { v.event.clone().into() }
    }
}

record! {
    /// A page of the event feed of every organization: `events`, oldest
    /// first, and `next`, the cursor to store once they are delivered
    /// (pass it as `after` to read on).
    "EventFeed" PyEventFeed(enlist::EventFeed) repr("events", "next") {
        events(v, py) -> Vec<PyFeedEvent> { wrap(&v.events) }
        next(v, py) -> Option<String> { v.next.clone() }
    }

    fn __len__(&self) -> usize {
        self.inner.events.len()
    }
}

/// A Python object as the engine's hooks.
pub(crate) struct PyHooks {
    obj: Py<PyAny>,
}

impl PyHooks {
    /// The object, checked: it has a callable `before` or `after` (or
    /// both).
    pub(crate) fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let callable = |name: &str| -> PyResult<bool> {
            Ok(obj.hasattr(name)? && obj.getattr(name)?.is_callable())
        };
        if !callable("before")? && !callable("after")? {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "hooks must have a before(change) or an after(change) method",
            ));
        }
        Ok(Self {
            obj: obj.clone().unbind(),
        })
    }

    /// Calls `name(change)` if the object has it: `Ok(())` when it has not.
    fn call(&self, py: Python<'_>, name: &str, change: &HookChange) -> PyResult<()> {
        let obj = self.obj.bind(py);
        if !obj.hasattr(name)? {
            return Ok(());
        }
        obj.call_method1(name, (PyHookChange::from(change.clone()),))?;
        Ok(())
    }
}

impl Hooks for PyHooks {
    fn before(&self, change: &HookChange) -> Result<(), HookError> {
        Python::attach(|py| {
            self.call(py, "before", change).map_err(|e| {
                // The exception's message is the reason the caller reads.
                let reason = e
                    .value(py)
                    .str()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|_| "refused by the before-hook".to_owned());
                HookError::new(reason)
            })
        })
    }

    fn after(&self, change: &HookChange) -> Result<(), HookError> {
        Python::attach(|py| {
            if let Err(e) = self.call(py, "after", change) {
                // Nothing can undo the commit: report it the way Python
                // reports an exception in a callback nobody can catch.
                let obj = self.obj.bind(py);
                e.write_unraisable(py, Some(obj));
            }
        });
        Ok(())
    }
}

pub(crate) fn add_classes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHookChange>()?;
    m.add_class::<PyFeedEvent>()?;
    m.add_class::<PyEventFeed>()?;
    Ok(())
}

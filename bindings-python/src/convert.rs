//! Conversions between Rust and Python values that every wrapper shares:
//! enums (Python `enum.Enum` classes defined in `enlist._enums`), serde
//! values (`to_dict`), timestamps, durations, ids and actors.

use crate::errors::invalid;
use chrono::{DateTime, TimeDelta, Utc};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyModule, PyString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;

static ENUMS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python module holding the enum classes.
fn enums(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ENUMS
        .get_or_try_init(py, || Ok(py.import("enlist._enums")?.unbind()))
        .map(|m| m.bind(py))
}

/// The member of the Python enum `class` whose value is `value`. A value
/// the class does not have is an error, never a plain string: the classes
/// of `enlist._enums` are checked against the native table
/// ([`wire_names`]) by `tests/test_enums.py`, so it means the package is
/// out of step with its native module.
pub(crate) fn py_enum<'py>(
    py: Python<'py>,
    class: &str,
    value: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let cls = enums(py)?.getattr(class)?;
    cls.call1((value,)).map_err(|_| {
        pyo3::exceptions::PyRuntimeError::new_err(format!(
            "enlist._enums.{class} has no member {value:?}: the Python enums are behind \
             the native module (tests/test_enums.py prints the corrected classes)"
        ))
    })
}

/// The wire names of every enum the Python package copies, by class name:
/// core's one table (`enlist::wire::ENUMS`), the built-in role names, and
/// the tags of the enums that carry data (`ActorKind`, `EventKind`,
/// `EntryOutcome`), which are their serde tags. `tests/test_enums.py`
/// compares it with `enlist._enums`.
#[pyfunction]
pub(crate) fn _wire_names() -> PyResult<BTreeMap<&'static str, Vec<String>>> {
    let mut table: BTreeMap<&'static str, Vec<String>> = enlist::wire::ENUMS
        .iter()
        .map(|(name, names)| (*name, names.iter().map(|n| (*n).to_owned()).collect()))
        .collect();
    table.insert(
        "BuiltinRole",
        enlist::Role::built_ins()
            .into_iter()
            .map(|r| r.name)
            .collect(),
    );
    table.insert("ActorKind", serde_tags::<enlist::Actor>("type")?);
    table.insert("EventKind", serde_tags::<enlist::EventKind>("type")?);
    table.insert(
        "EntryOutcome",
        serde_tags::<enlist::email::EntryOutcome<'static>>("outcome")?,
    );
    Ok(table)
}

/// The variant tags of a tagged serde enum, in declaration order, read
/// from serde's own "unknown variant `…`, expected one of `a`, `b`"
/// refusal of a tag no variant has (serde keeps the list nowhere else). A
/// refusal of another shape is an error, not an empty list.
fn serde_tags<T: DeserializeOwned>(tag: &str) -> PyResult<Vec<String>> {
    let probe = serde_json::json!({ tag: "\u{1}" }).to_string();
    let message = match serde_json::from_str::<T>(&probe) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    let tags: Option<Vec<String>> = message
        .split_once("expected one of ")
        .map(|(_, rest)| rest.split(" at line").next().unwrap_or(rest))
        .map(|list| {
            list.split(", ")
                .map(|t| t.trim_matches('`').to_owned())
                .collect()
        });
    match tags {
        Some(tags) if tags.iter().all(|t| !t.is_empty()) => Ok(tags),
        _ => Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "cannot read the {tag} tags of {}: {message:?}",
            std::any::type_name::<T>()
        ))),
    }
}

/// A Rust enum that serializes to a string, as a member of the Python enum
/// `class`.
pub(crate) fn enum_out<'py, T: Serialize>(
    py: Python<'py>,
    class: &str,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => py_enum(py, class, &s),
        Ok(other) => json_to_py(py, &other),
        Err(e) => Err(pyo3::exceptions::PyValueError::new_err(e.to_string())),
    }
}

/// A Rust enum from a string (or a member of a `str` enum), for the
/// argument `field`. An unknown value is an `InvalidInputError` that lists
/// the values allowed.
pub(crate) fn enum_in<T: DeserializeOwned>(
    py: Python<'_>,
    class: &str,
    field: &str,
    value: &Bound<'_, PyAny>,
) -> PyResult<T> {
    let s: String = value.extract()?;
    serde_json::from_value(Value::String(s.clone())).map_err(|_| {
        let allowed = enums(py)
            .and_then(|m| m.getattr(class))
            .and_then(|cls| {
                cls.try_iter()?
                    .map(|member| member?.getattr("value")?.extract::<String>())
                    .collect::<PyResult<Vec<String>>>()
            })
            .unwrap_or_default();
        invalid(
            py,
            field,
            format!("{s:?} is not one of: {}", allowed.join(", ")),
        )
    })
}

/// Any serializable value as plain Python data (dicts, lists, strings,
/// numbers, booleans, `None`), the shape of its serde form. (No returned
/// type has a secret hash field: stores keep it in `StoredInvitation` and
/// `StoredInviteLink`, which are never returned.)
pub(crate) fn to_dict<'py, T: Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let v = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    json_to_py(py, &v)
}

/// A JSON value as Python data.
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, json_to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// `Name(field=repr, ...)` from the object's own attributes.
pub(crate) fn repr(obj: &Bound<'_, PyAny>, name: &str, fields: &[&str]) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for f in fields {
        let value = obj.getattr(*f)?;
        parts.push(format!("{f}={}", value.repr()?));
    }
    Ok(format!("{name}({})", parts.join(", ")))
}

/// An aware Python `datetime` (any time zone) as UTC. A naive one is an
/// `InvalidInputError`: its meaning would depend on the machine.
pub(crate) fn utc_in(value: &Bound<'_, PyAny>, field: &str) -> PyResult<DateTime<Utc>> {
    let py = value.py();
    let datetime = py.import("datetime")?;
    if !value.is_instance(&datetime.getattr("datetime")?)? {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{field} must be a datetime.datetime"
        )));
    }
    if value.call_method0("utcoffset")?.is_none() {
        return Err(invalid(
            py,
            field,
            "a naive datetime has no time zone: pass an aware one, such as datetime.now(timezone.utc)",
        ));
    }
    let utc = datetime.getattr("timezone")?.getattr("utc")?;
    value.call_method1("astimezone", (utc,))?.extract()
}

/// A non-negative `timedelta` of whole seconds.
pub(crate) fn secs_in(value: &Bound<'_, PyAny>, field: &str) -> PyResult<u64> {
    let py = value.py();
    let delta: TimeDelta = value.extract()?;
    if delta.subsec_nanos() != 0 {
        return Err(invalid(py, field, "must be a whole number of seconds"));
    }
    u64::try_from(delta.num_seconds()).map_err(|_| invalid(py, field, "must not be negative"))
}

/// Seconds as a `timedelta`.
pub(crate) fn secs_out(secs: u64) -> TimeDelta {
    TimeDelta::try_seconds(i64::try_from(secs).unwrap_or(i64::MAX)).unwrap_or(TimeDelta::MAX)
}

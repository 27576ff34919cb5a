//! Conversions between Rust and Python values that every wrapper shares:
//! enums (Python `enum.Enum` classes built by `enlist._enums`), serde
//! values (`to_dict`), timestamps, durations, ids and actors.

use crate::errors::invalid;
// Shared with the records core owns (`enlist::python_support`).
use chrono::{DateTime, Utc};
pub(crate) use enlist::python_support::{json_to_py, py_enum, repr, to_dict, wire_in};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// The wire names of every Python enum, by class name: core's one table
/// (`enlist::wire::ENUMS`), the built-in role names, and the tags of the
/// enums that carry data (`ActorKind`, `EventKind`, `EntryOutcome`), which
/// are their serde tags. `enlist._enums` builds its classes from it;
/// `tests/test_enums.py` checks the stub `_enums.pyi` against it.
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
    table.insert("TlsMode", serde_variants::<enlist_smtp::TlsMode>()?);
    Ok(table)
}

/// The names of a plain (unit-variant) serde enum, read from serde's
/// refusal of a name no variant has, as [`serde_tags`] does.
fn serde_variants<T: DeserializeOwned>() -> PyResult<Vec<String>> {
    expected_names::<T>("\"\\u0001\"", "variants")
}

/// The variant tags of a tagged serde enum, in declaration order, read
/// from serde's own "unknown variant `…`, expected one of `a`, `b`"
/// refusal of a tag no variant has (serde keeps the list nowhere else). A
/// refusal of another shape is an error, not an empty list.
fn serde_tags<T: DeserializeOwned>(tag: &str) -> PyResult<Vec<String>> {
    let probe = serde_json::json!({ tag: "\u{1}" }).to_string();
    expected_names::<T>(&probe, &format!("{tag} tags"))
}

/// The names serde lists when it refuses `probe` as a `T`.
fn expected_names<T: DeserializeOwned>(probe: &str, what: &str) -> PyResult<Vec<String>> {
    let message = match serde_json::from_str::<T>(probe) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    };
    let names: Option<Vec<String>> = message
        .split_once("expected one of ")
        .map(|(_, rest)| rest.split(" at line").next().unwrap_or(rest))
        .map(|list| {
            list.split(", ")
                .map(|t| t.trim_matches('`').to_owned())
                .collect()
        });
    match names {
        Some(names) if names.iter().all(|t| !t.is_empty()) => Ok(names),
        _ => Err(PyRuntimeError::new_err(format!(
            "cannot read the {what} of {}: {message:?}",
            std::any::type_name::<T>()
        ))),
    }
}

/// A tagged serde enum (`Actor`, `EventKind`, `EntryOutcome`) as its tag,
/// a member of the Python enum `class`, and the rest of its serde form as
/// a dict: the same tags `_wire_names` reads, so no variant is named here.
pub(crate) fn tagged<'py, T: Serialize>(
    py: Python<'py>,
    value: &T,
    tag: &str,
    class: &str,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>)> {
    let form = to_dict(py, value)?.cast_into::<PyDict>()?;
    let name: String = form
        .get_item(tag)?
        .ok_or_else(|| PyRuntimeError::new_err(format!("{class} without its {tag:?} tag")))?
        .extract()?;
    form.del_item(tag)?;
    Ok((py_enum(py, class, &name)?, form))
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

//! `enlist::Error` as Python exceptions: one class per error family (the
//! classes `enlist._errors` builds from `_error_codes()`, under
//! `enlist.EnlistError`), with the stable code and every fact of the error
//! as attributes.

use enlist::{Error, ErrorCode, FactKind};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyModule};
use serde_json::Value;

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python module holding the exception classes.
pub(crate) fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ERRORS
        .get_or_try_init(py, || Ok(py.import("enlist._errors")?.unbind()))
        .map(|m| m.bind(py))
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

/// A fact's JSON value as the Python value its kind calls for: a time as
/// an aware `datetime`, an enum as a member of the `enlist` enum of that
/// name, a list of them as a list.
fn fact_to_py<'py>(py: Python<'py>, kind: FactKind, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    use crate::convert::{json_to_py, py_enum};
    match (kind, v) {
        (FactKind::Time, Value::String(s)) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => t
                .with_timezone(&chrono::Utc)
                .into_pyobject(py)
                .map(|t| t.into_any()),
            Err(_) => json_to_py(py, v),
        },
        (FactKind::Enum(class), Value::String(s)) => py_enum(py, class, s),
        (FactKind::EnumList(class), Value::Array(items)) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(fact_to_py(py, FactKind::Enum(class), item)?)?;
            }
            Ok(list.into_any())
        }
        _ => json_to_py(py, v),
    }
}

/// Built from core's `family()`, catalogue and `facts()`: no error has
/// code of its own here.
fn build(py: Python<'_>, e: &Error) -> PyResult<PyErr> {
    let facts = PyDict::new(py);
    let values = e.facts();
    for fact in e.error_code().facts() {
        if let Some(v) = values.get(fact.name) {
            facts.set_item(fact.name, fact_to_py(py, fact.kind, v)?)?;
        }
    }
    facts.set_item("code", e.code())?;
    // The family's class, by the family's wire name (`enlist._errors`
    // builds one per `ErrorFamily`).
    let module = errors_module(py)?;
    let cls = match module.getattr("_BY_FAMILY")?.get_item(e.family().as_str()) {
        Ok(cls) => cls,
        Err(_) => module.getattr("EnlistError")?,
    };
    let instance = cls.call((e.to_string(),), Some(&facts))?;
    Ok(PyErr::from_value(instance))
}

/// The name of a fact's kind, as `_error_codes()` reports it.
fn kind_name(kind: FactKind) -> String {
    match kind {
        FactKind::Text => "str".to_owned(),
        FactKind::Id => "id".to_owned(),
        FactKind::Time => "datetime".to_owned(),
        FactKind::Count => "int".to_owned(),
        FactKind::Flag => "bool".to_owned(),
        FactKind::Enum(name) => name.to_owned(),
        FactKind::EnumList(name) => format!("list[{name}]"),
        _ => "object".to_owned(),
    }
}

/// One fact of the catalogue: name, kind, optional.
type FactEntry = (String, String, bool);

/// One code of the catalogue: code, family, facts.
type CodeEntry = (String, String, Vec<FactEntry>);

/// Core's error catalogue, from which `enlist._errors` builds its classes:
/// each code with its family and its facts (name, kind, optional).
#[pyfunction]
pub(crate) fn _error_codes() -> Vec<CodeEntry> {
    ErrorCode::ALL
        .iter()
        .map(|code| {
            let facts = code
                .facts()
                .iter()
                .map(|f| (f.name.to_owned(), kind_name(f.kind), f.optional))
                .collect();
            (
                code.as_str().to_owned(),
                code.family().as_str().to_owned(),
                facts,
            )
        })
        .collect()
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

//! How core's types cross to Python (the `python` feature, used by
//! `bindings-python`): the returned records are the Python classes of
//! `enlist._enlist` themselves (`#[pyclass(frozen, eq, get_all)]` where
//! they are defined), and every conversion they need is declared here,
//! once:
//!
//! - ids are `str`, times aware `datetime`s in UTC (pyo3's `chrono`);
//! - every enum with wire names ([`WireEnum`]) is the member of the
//!   Python `str` enum of the same name in `enlist._enums`;
//! - a [`PermissionSet`] is a `frozenset` of `Permission`s, a [`Contact`]
//!   its text;
//! - every record has `to_dict()` (its serde form as plain Python data)
//!   and a `__repr__` naming a few of its attributes, from one
//!   [`py_records!`] invocation that also holds their few extra methods.
//!
//! A method that refuses an argument raises the binding's own exception
//! for [`Error::InvalidInput`]: the binding registers how it builds its
//! exceptions with [`set_error_hook`] (a `ValueError` until it does).

use crate::email::{AddressPart, AddressWarning};
use crate::engine::InboxInvitation;
use crate::error::{Error, ErrorFamily, LimitKind};
use crate::group::{Group, GroupGrant, GroupSort};
use crate::id::{BatchId, GroupId, InvitationId, LinkId, MemberId, MessageId, OrgId};
use crate::import_file::{ImportFormat, ImportGroup, ImportRow, ImportRowError, ImportSheet};
use crate::invitation::{Invitation, InvitationPreview, InvitationStatus, RegistrationNeeds};
use crate::member::{Contact, LicenseUsage, Member, MemberKind, MemberSort, MemberStatus};
use crate::organization::Organization;
use crate::outbox::{DeadLetter, RetryPolicy, WorkerReport};
use crate::outbox::{DeliveryReport, OutboxMessage, OutboxStatus, OutgoingEmail};
use crate::people::{PeopleSort, Person, PersonLabel, PersonSource};
use crate::policy::{Policy, RegistrationRequirements};
use crate::report::{ReportKind, RowOutcome};
use crate::role::{GroupRole, Permission, PermissionSet, Role};
use crate::template::{EmailPreview, EmailSettings, EmailTemplate};
use crate::wire::WireEnum;
use crate::{Acceptance, ImportInterruption, InviteLink, LinkPreview, RecipientInput};
use crate::{AccountMembership, Capabilities, GroupCapability, InviteCapability};
use crate::{BulkAction, BulkConfirmation, BulkOutcome, BulkReport, BulkRow};
use crate::{DirectoryCompany, DirectoryEmployee};
use crate::{DomainOffer, MembershipRequest, MembershipRequestId, OrgDomain};
use chrono::TimeDelta;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFrozenSet, PyList, PyModule, PyString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::OnceLock;

// The lazy rows of bulk results (`enlist.Rows`).
mod rows;
pub use rows::{Rows, RowsIter};

// ---------------------------------------------------------------------------
// Errors and enums
// ---------------------------------------------------------------------------

/// How the binding turns an [`Error`] into its Python exception.
pub type ErrorHook = fn(Python<'_>, &Error) -> PyErr;

static ERROR_HOOK: OnceLock<ErrorHook> = OnceLock::new();

/// Registers how the binding builds its exceptions (once, when its module
/// loads; later calls are ignored).
pub fn set_error_hook(hook: ErrorHook) {
    let _ = ERROR_HOOK.set(hook);
}

/// The Python exception for `e`: the binding's (see [`set_error_hook`]),
/// or a `ValueError` with its message.
pub fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    match ERROR_HOOK.get() {
        Some(hook) => hook(py, e),
        None => pyo3::exceptions::PyValueError::new_err(e.to_string()),
    }
}

/// The exception for an argument refused before the engine sees it.
pub fn invalid_input(py: Python<'_>, field: &str, reason: impl Into<String>) -> PyErr {
    to_py_err(
        py,
        &Error::InvalidInput {
            field: field.to_owned(),
            reason: reason.into(),
        },
    )
}

static ENUMS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python module holding the enum classes, `enlist._enums`.
pub fn enums_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    ENUMS
        .get_or_try_init(py, || Ok(py.import("enlist._enums")?.unbind()))
        .map(|m| m.bind(py))
}

/// The member of the Python enum `class` whose value is `value`. A value
/// the class does not have is an error, never a plain string: the classes
/// of `enlist._enums` are built from [`crate::wire::ENUMS`] at import, so
/// it means the package is out of step with its native module.
pub fn py_enum<'py>(py: Python<'py>, class: &str, value: &str) -> PyResult<Bound<'py, PyAny>> {
    let cls = enums_module(py)?.getattr(class)?;
    cls.call1((value,)).map_err(|_| {
        pyo3::exceptions::PyRuntimeError::new_err(format!(
            "enlist._enums.{class} has no member {value:?}: the Python package is out of \
             step with its native module"
        ))
    })
}

/// A wire enum as the member of its Python enum.
pub fn wire_out<'py, T: WireEnum>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    py_enum(py, T::TYPE_NAME, value.wire_name())
}

/// A wire enum from its name (a `str`, or a member of its Python `str`
/// enum), for the argument `field`. An unknown name is an invalid input
/// that lists the names allowed.
pub fn wire_in<T: WireEnum>(field: &str, value: &Bound<'_, PyAny>) -> PyResult<T> {
    let name: String = value.extract()?;
    T::from_wire_name(&name).ok_or_else(|| {
        invalid_input(
            value.py(),
            field,
            format!("{name:?} is not one of: {}", T::NAMES.join(", ")),
        )
    })
}

/// Ids are Python `str`s.
macro_rules! py_ids {
    ($($id:ty),* $(,)?) => {$(
        impl<'py> IntoPyObject<'py> for &$id {
            type Target = PyString;
            type Output = Bound<'py, PyString>;
            type Error = Infallible;
            fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Infallible> {
                Ok(PyString::new(py, self.as_str()))
            }
        }

        impl<'py> IntoPyObject<'py> for $id {
            type Target = PyString;
            type Output = Bound<'py, PyString>;
            type Error = Infallible;
            fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Infallible> {
                (&self).into_pyobject(py)
            }
        }
    )*};
}

py_ids!(
    OrgId,
    MemberId,
    GroupId,
    InvitationId,
    MessageId,
    BatchId,
    MembershipRequestId,
    LinkId,
    crate::text::Text,
);

/// An id argument is the id (a `str`) or the record that has it.
macro_rules! py_id_args {
    ($($id:ty: $record:ty, $what:literal;)*) => {$(
        impl<'a, 'py> FromPyObject<'a, 'py> for $id {
            type Error = PyErr;

            fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
                if let Ok(s) = obj.cast::<PyString>() {
                    return Ok(<$id>::from(s.to_cow()?.into_owned()));
                }
                if let Ok(r) = obj.cast::<$record>() {
                    return Ok(r.get().id.clone());
                }
                Err(PyTypeError::new_err(concat!(
                    "expected ", $what, " id (str) or an enlist.", stringify!($record)
                )))
            }
        }
    )*};
}

py_id_args! {
    OrgId: Organization, "an organization";
    MemberId: Member, "a member";
    GroupId: Group, "a group";
    InvitationId: Invitation, "an invitation";
    MembershipRequestId: MembershipRequest, "a membership request";
}

/// Wire enums are members of the Python enum of the same name
/// ([`wire_out`]); the list is every enum of [`crate::wire::ENUMS`].
macro_rules! py_wire_enums {
    ($($ty:ty),* $(,)?) => {$(
        impl<'py> IntoPyObject<'py> for &$ty {
            type Target = PyAny;
            type Output = Bound<'py, PyAny>;
            type Error = PyErr;
            fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
                wire_out(py, self)
            }
        }

        impl<'py> IntoPyObject<'py> for $ty {
            type Target = PyAny;
            type Output = Bound<'py, PyAny>;
            type Error = PyErr;
            fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
                wire_out(py, &self)
            }
        }
    )*};
}

py_wire_enums!(
    MemberStatus,
    MemberKind,
    MemberSort,
    InvitationStatus,
    GroupRole,
    Permission,
    OutboxStatus,
    GroupSort,
    ImportFormat,
    LimitKind,
    ErrorFamily,
    AddressWarning,
    AddressPart,
    BulkAction,
    BulkOutcome,
    ReportKind,
    RowOutcome,
    crate::DirectoryField,
    PersonLabel,
    PersonSource,
    PeopleSort,
    crate::DomainStatus,
    crate::DomainVerificationMethod,
    crate::DomainEnrollment,
    crate::MembershipRequestStatus,
    crate::link::LinkStatus,
);

/// A contact is its text (the address or the identifier).
impl<'py> IntoPyObject<'py> for &Contact {
    type Target = PyString;
    type Output = Bound<'py, PyString>;
    type Error = Infallible;
    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Infallible> {
        Ok(PyString::new(py, self.as_str()))
    }
}

impl<'py> IntoPyObject<'py> for Contact {
    type Target = PyString;
    type Output = Bound<'py, PyString>;
    type Error = Infallible;
    fn into_pyobject(self, py: Python<'py>) -> Result<Self::Output, Infallible> {
        (&self).into_pyobject(py)
    }
}

/// A permission set as a `frozenset` of `Permission` members.
pub fn permission_set<'py>(
    py: Python<'py>,
    set: &PermissionSet,
) -> PyResult<Bound<'py, PyFrozenSet>> {
    let members = set
        .iter()
        .map(|p| wire_out(py, p))
        .collect::<PyResult<Vec<_>>>()?;
    PyFrozenSet::new(py, &members)
}

/// A non-negative `timedelta` of whole seconds, for the argument `field`.
pub fn secs_in(value: &Bound<'_, PyAny>, field: &str) -> PyResult<u64> {
    let py = value.py();
    let delta: TimeDelta = value.extract()?;
    if delta.subsec_nanos() != 0 {
        return Err(invalid_input(
            py,
            field,
            "must be a whole number of seconds",
        ));
    }
    u64::try_from(delta.num_seconds()).map_err(|_| invalid_input(py, field, "must not be negative"))
}

/// Seconds as a `timedelta` (saturating).
pub fn secs_out(secs: u64) -> TimeDelta {
    TimeDelta::try_seconds(i64::try_from(secs).unwrap_or(i64::MAX)).unwrap_or(TimeDelta::MAX)
}

// ---------------------------------------------------------------------------
// Plain data: to_dict and repr
// ---------------------------------------------------------------------------

/// Any serializable value as plain Python data (dicts, lists, strings,
/// numbers, booleans, `None`), the shape of its serde form (times in RFC
/// 3339). Stored secret hashes are left out.
pub fn to_dict<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let v = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    json_to_py(py, &v)
}

/// A JSON value as Python data. (No returned type has a secret hash to
/// leave out: stores keep it in `StoredInvitation` and `StoredInviteLink`,
/// which are never returned.)
pub fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
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

/// Metadata (issue 14) is a `dict` in Python, of JSON values.
impl<'py> IntoPyObject<'py> for &crate::metadata::Metadata {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        json_to_py(py, &Value::Object(self.as_map().clone()))
    }
}

impl<'py> IntoPyObject<'py> for crate::metadata::Metadata {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        (&self).into_pyobject(py)
    }
}

/// A metadata argument (`public_metadata=` ...): a `dict` with `str` keys
/// of JSON values (`None`, booleans, integers, finite floats, strings,
/// lists, tuples, dicts), or its JSON text. Walked with the metadata's own
/// bounds (values in all, depth) so a huge or deep argument is refused
/// after at most [`MAX_METADATA_VALUES`](crate::MAX_METADATA_VALUES) of
/// its values, then checked whole ([`Metadata::validated`](crate::Metadata::validated)).
/// Anything else is an `InvalidInputError` naming `field`.
pub fn metadata_in(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<crate::metadata::Metadata> {
    let py = obj.py();
    let to_err = |e: Error| to_py_err(py, &e);
    if let Ok(s) = obj.cast::<PyString>() {
        return crate::metadata::Metadata::from_json_for(field, &s.to_cow()?).map_err(to_err);
    }
    let Ok(d) = obj.cast::<PyDict>() else {
        return Err(invalid_input(py, field, "must be a dict (a JSON object)"));
    };
    let mut count = 0usize;
    let Value::Object(map) = metadata_value(d.as_any(), field, 0, &mut count)? else {
        return Err(invalid_input(py, field, "must be a dict (a JSON object)"));
    };
    crate::metadata::Metadata::from_map(map)
        .and_then(|m| m.validated_for(field))
        .map_err(to_err)
}

fn metadata_value(
    value: &Bound<'_, PyAny>,
    field: &str,
    depth: usize,
    count: &mut usize,
) -> PyResult<Value> {
    use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};
    let py = value.py();
    *count += 1;
    if *count > crate::metadata::MAX_METADATA_VALUES + 1 {
        return Err(invalid_input(
            py,
            field,
            format!(
                "at most {} values in all",
                crate::metadata::MAX_METADATA_VALUES
            ),
        ));
    }
    if depth > crate::metadata::MAX_METADATA_DEPTH {
        return Err(invalid_input(
            py,
            field,
            format!(
                "at most {} levels of nesting",
                crate::metadata::MAX_METADATA_DEPTH
            ),
        ));
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.cast::<PyInt>().is_ok() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::from(i));
        }
        return match value.extract::<u64>() {
            Ok(u) => Ok(Value::from(u)),
            Err(_) => Err(invalid_input(py, field, "an integer is out of range")),
        };
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| invalid_input(py, field, "floats must be finite"));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let Ok(k) = k.cast::<PyString>() else {
                return Err(invalid_input(py, field, "keys must be strings"));
            };
            map.insert(
                k.to_cow()?.into_owned(),
                metadata_value(&v, field, depth + 1, count)?,
            );
        }
        return Ok(Value::Object(map));
    }
    if value.cast::<PyList>().is_ok() || value.cast::<PyTuple>().is_ok() {
        let mut items = Vec::new();
        for item in value.try_iter()? {
            items.push(metadata_value(&item?, field, depth + 1, count)?);
        }
        return Ok(Value::Array(items));
    }
    Err(invalid_input(
        py,
        field,
        format!("cannot hold a {}", value.get_type().name()?),
    ))
}

/// `Name(field=repr, ...)` from the object's own attributes.
pub fn repr(obj: &Bound<'_, PyAny>, name: &str, fields: &[&str]) -> PyResult<String> {
    let mut parts = Vec::with_capacity(fields.len());
    for f in fields {
        let value = obj.getattr(*f)?;
        parts.push(format!("{f}={}", value.repr()?));
    }
    Ok(format!("{name}({})", parts.join(", ")))
}

/// For each record: `to_dict()`, `__repr__` from the attributes listed,
/// read-only attributes for a record that cannot use `get_all` (a field
/// that crosses under another name or type: `getters |v| { name -> Type
/// { expression over v } ... }`), attributes that are an `enlist.Rows` of a
/// field's rows, each made when read (`rows |v| { name -> RowType {
/// &v.field[..] } ... }`), and its extra Python methods (a class has one
/// `#[pymethods]` block).
macro_rules! py_records {
    ($(
        $ty:ident repr($($rf:ident),*)
        $(getters |$v:ident| { $($g:ident -> $gt:ty { $($gb:tt)* })* })?
        $(rows |$rv:ident| { $($r:ident -> $rt:ty { $($rb:tt)* })* })?
        { $($extra:tt)* }
    )*) => {$(
        #[pymethods]
        impl $ty {
            $($(
                #[getter($g)]
                fn $g(&self) -> $gt {
                    let $v = self;
                    $($gb)*
                }
            )*)?

            $($(
                #[getter($r)]
                fn $r(slf: &Bound<'_, Self>) -> Rows {
                    Rows::of(slf, |$rv| { $($rb)* }, <$rt>::clone)
                }
            )*)?

            /// The value as plain Python data: dicts, lists, strings
            /// (timestamps in RFC 3339), numbers, booleans and `None`.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                to_dict(py, self)
            }

            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                repr(slf.as_any(), stringify!($ty), &[$(stringify!($rf)),*])
            }

            $($extra)*
        }
    )*

        /// Adds every record class core owns (the list of [`py_records!`])
        /// to the binding's module, so the binding does not list them again.
        pub fn add_record_classes(m: &Bound<'_, PyModule>) -> PyResult<()> {
            $(m.add_class::<$ty>()?;)*
            Ok(())
        }
    };
}

/// The group of a `GroupGrant(group, role)`: its id, or a `Group`.
fn group_id_of(group: &Bound<'_, PyAny>) -> PyResult<GroupId> {
    if let Ok(s) = group.cast::<PyString>() {
        return Ok(GroupId::from(s.to_cow()?.into_owned()));
    }
    if let Ok(g) = group.cast::<Group>() {
        return Ok(g.get().id.clone());
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "expected a group id (str) or a Group",
    ))
}

/// A copy of the serde record `base` with the fields named in `changes`
/// set (a keyword constructor such as `Policy(...)`, or `replace(...)`),
/// one generic path through the record's serde form, so a new field needs
/// no code here. A keyword is a field's serde name; a field `X_secs` is
/// the keyword `X`, a `timedelta` of whole seconds. An unknown keyword, or
/// a value of the wrong type or shape, is a `TypeError` (as for any
/// unexpected argument); a value the field cannot hold is an
/// `InvalidInputError` naming the keyword.
pub fn with_keywords<T: Serialize + DeserializeOwned>(
    class: &str,
    base: &T,
    changes: Option<&Bound<'_, PyDict>>,
) -> PyResult<T> {
    let unserializable =
        |e: serde_json::Error| pyo3::exceptions::PyValueError::new_err(e.to_string());
    let mut form = serde_json::to_value(base).map_err(unserializable)?;
    let (Some(changes), Value::Object(fields)) = (changes, &mut form) else {
        return serde_json::from_value(form).map_err(unserializable);
    };
    for (key, value) in changes.iter() {
        let key: String = key.extract()?;
        let secs = format!("{key}_secs");
        let (name, given) = if key.ends_with("_secs") {
            (None, Value::Null)
        } else if fields.contains_key(&secs) {
            (Some(secs), Value::from(secs_in(&value, &key)?))
        } else if fields.contains_key(&key) {
            (Some(key.clone()), py_to_json(&value, &key, 0)?)
        } else {
            (None, Value::Null)
        };
        let Some(name) = name else {
            return Err(PyTypeError::new_err(format!(
                "{class} got an unexpected keyword argument {key:?}"
            )));
        };
        // The field alone, over the defaults: its error names the keyword.
        let mut alone = serde_json::Map::new();
        alone.insert(name.clone(), given.clone());
        let checked: T = serde_json::from_value(Value::Object(alone)).map_err(|e| {
            let reason = e.to_string();
            if reason.starts_with("invalid type") {
                PyTypeError::new_err(format!("{class}({key}=...): {reason}"))
            } else {
                invalid_input(value.py(), &key, reason)
            }
        })?;
        // A value is taken only as the field holds it: no key of a record
        // left out or misspelled, no string for a list.
        let held = serde_json::to_value(&checked).map_err(unserializable)?;
        if held.get(&name) != Some(&given) {
            return Err(PyTypeError::new_err(format!(
                "{class}({key}=...): not a value of the field's type"
            )));
        }
        fields.insert(name, given);
    }
    serde_json::from_value(form).map_err(unserializable)
}

/// How deep a keyword's value may nest (lists in dicts in lists...).
const MAX_KEYWORD_DEPTH: usize = 8;

/// A Python value as JSON, for [`with_keywords`]: `None`, booleans,
/// integers, floats, strings, lists and tuples, dicts with string keys,
/// and core's records (by their serde form). Nested at most
/// [`MAX_KEYWORD_DEPTH`] deep: no field needs more, and a deeper value
/// would only spend the stack.
fn py_to_json(value: &Bound<'_, PyAny>, field: &str, depth: usize) -> PyResult<Value> {
    use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};
    let py = value.py();
    if depth > MAX_KEYWORD_DEPTH {
        return Err(PyTypeError::new_err(format!("{field}: nested too deeply")));
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.cast::<PyInt>().is_ok() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::from(i));
        }
        return match value.extract::<u64>() {
            Ok(u) => Ok(Value::from(u)),
            Err(_) => Err(invalid_input(py, field, "is out of range")),
        };
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Ok(Value::from(f.value()));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in d.iter() {
            let k: String = k.extract()?;
            map.insert(k, py_to_json(&v, field, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if value.cast::<PyList>().is_ok() || value.cast::<PyTuple>().is_ok() {
        let items = value
            .try_iter()?
            .map(|item| py_to_json(&item?, field, depth + 1))
            .collect::<PyResult<_>>()?;
        return Ok(Value::Array(items));
    }
    if let Ok(r) = value.cast::<RegistrationRequirements>() {
        return serde_json::to_value(r.get())
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()));
    }
    Err(PyTypeError::new_err(format!(
        "{field}: cannot take a {}",
        value.get_type().name()?
    )))
}

/// Groups to grant (a `groups=` argument): each a `GroupGrant`, or a group
/// id or `Group` (a plain membership); a list, never one string.
pub fn grants_in(obj: &Bound<'_, PyAny>) -> PyResult<Vec<GroupGrant>> {
    if obj.cast::<PyString>().is_ok() {
        return Err(PyTypeError::new_err(
            "groups must be a list (of group ids, Groups or GroupGrants), not a string",
        ));
    }
    let mut out = Vec::new();
    for item in obj.try_iter()? {
        let item = item?;
        if let Ok(g) = item.cast::<GroupGrant>() {
            out.push(g.get().clone());
        } else {
            let group = group_id_of(&item).map_err(|_| {
                PyTypeError::new_err(
                    "each group must be a group id (str), an enlist.Group or an enlist.GroupGrant",
                )
            })?;
            out.push(GroupGrant::member(group));
        }
    }
    Ok(out)
}

fn contact_identifier(c: &Contact) -> Option<&str> {
    match c {
        Contact::Identifier(s) => Some(s),
        _ => None,
    }
}

py_records! {
    // Not `get_all`: a permission set is a frozenset, not pyo3's `set`.
    Role repr(name, built_in) {
        #[getter]
        fn name(&self) -> &str {
            &self.name
        }

        #[getter(built_in)]
        fn py_built_in(&self) -> bool {
            self.built_in
        }

        #[getter]
        fn permissions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
            permission_set(py, &self.permissions)
        }

        /// The host-defined permissions of the role, sorted.
        #[getter(custom_permissions)]
        fn py_custom_permissions(&self) -> Vec<String> {
            self.custom_permissions.iter().cloned().collect()
        }

        /// Whether the role allows `permission`.
        #[pyo3(name = "allows")]
        fn py_allows(&self, permission: &Bound<'_, PyAny>) -> PyResult<bool> {
            Ok(self.allows(wire_in("permission", permission)?))
        }
    }

    LicenseUsage repr(license_type, used, pending, limit) {
        /// Seats still free under the limit (`None` when unlimited),
        /// counting pending invitations if `reserve_pending`.
        #[pyo3(name = "available", signature = (reserve_pending = true))]
        fn py_available(&self, reserve_pending: bool) -> Option<u64> {
            self.available(reserve_pending)
        }
    }

    Organization repr(id, name) {
        /// Every role of the organization: the built-in ones, then custom
        /// ones.
        #[pyo3(name = "roles")]
        fn py_roles(&self) -> Vec<Role> {
            self.roles()
        }
    }

    RegistrationRequirements repr(first_name, last_name, phone) {
        #[new]
        #[pyo3(signature = (*, first_name = true, last_name = true, phone = false))]
        fn py_new(first_name: bool, last_name: bool, phone: bool) -> Self {
            RegistrationRequirements { first_name, last_name, phone }
        }
    }

    // Not `get_all`: durations are `timedelta`s, named without `_secs`.
    // (pyo3 cannot take a field's `pyo3(get)` under `cfg_attr`, so the
    // getters are listed here; the keywords need no list: `with_keywords`.)
    Policy repr(max_batch, invitation_lifetime, seat_limits, allowed_domains)
    getters |v| {
            invitation_lifetime -> TimeDelta { secs_out(v.invitation_lifetime_secs) }
            max_batch -> u32 { v.max_batch }
            max_paste_field_chars -> u32 { v.max_paste_field_chars }
            max_import_rows -> u32 { v.max_import_rows }
            max_import_bytes -> u64 { v.max_import_bytes }
            max_import_entries -> u32 { v.max_import_entries }
            max_import_unpacked_bytes -> u64 { v.max_import_unpacked_bytes }
            max_import_ratio -> u32 { v.max_import_ratio }
            allowed_domains -> Vec<String> { v.allowed_domains.clone() }
            group_owners_can_invite -> bool { v.group_owners_can_invite }
            members_can_invite -> bool { v.members_can_invite }
            guests_enabled -> bool { v.guests_enabled }
            invite_link_enabled -> bool { v.invite_link_enabled }
            self_registration -> bool { v.self_registration }
            require_two_factor -> bool { v.require_two_factor }
            eula_version -> Option<String> { v.eula_version.clone() }
            registration -> RegistrationRequirements { v.registration.clone() }
            seat_limits -> BTreeMap<String, u32> { v.seat_limits.clone() }
            reserve_seats_for_pending -> bool { v.reserve_seats_for_pending }
            resend_cooldown -> TimeDelta { secs_out(v.resend_cooldown_secs) }
            resend_cap -> u32 { v.resend_cap }
            access_code_attempts -> u32 { v.access_code_attempts }
            accept_url_base -> Option<String> { v.accept_url_base.clone() }
            reply_to_inviter -> bool { v.reply_to_inviter }
            default_role -> Option<String> { v.default_role.clone() }
            min_invitation_lifetime -> TimeDelta { secs_out(v.min_invitation_lifetime_secs) }
            max_invitation_lifetime -> TimeDelta { secs_out(v.max_invitation_lifetime_secs) }
            max_open_invitations_per_inviter -> Option<u32> { v.max_open_invitations_per_inviter }
    } {

        #[new]
        #[pyo3(signature = (**changes))]
        fn py_new(changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
            with_keywords("Policy", &Policy::default(), changes)
        }

        /// A copy with the fields given changed.
        #[pyo3(signature = (**changes))]
        fn replace(&self, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
            with_keywords("Policy", self, changes)
        }
    }

    // Durations are `timedelta`s, named without `_secs`, as in `Policy`.
    RetryPolicy repr(max_attempts, base_delay, max_delay, claim)
    getters |v| {
            max_attempts -> u32 { v.max_attempts }
            base_delay -> TimeDelta { secs_out(v.base_delay_secs) }
            max_delay -> TimeDelta { secs_out(v.max_delay_secs) }
            claim -> TimeDelta { secs_out(v.claim_secs) }
    } {
        /// The defaults, with the keywords given changed (`None`: the
        /// default), checked at once: a bound exceeded raises
        /// `InvalidInputError` naming it.
        #[new]
        #[pyo3(signature = (**changes))]
        fn py_new(py: Python<'_>, changes: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
            let given = PyDict::new(py);
            if let Some(changes) = changes {
                for (key, value) in changes.iter() {
                    if !value.is_none() {
                        given.set_item(key, value)?;
                    }
                }
            }
            with_keywords("RetryPolicy", &RetryPolicy::default(), Some(&given))?
                .validated()
                .map_err(|e| to_py_err(py, &e))
        }
    }

    Group repr(id, name, member_count) {}

    GroupGrant repr(group_id, role) {
        #[new]
        #[pyo3(signature = (group, role = None))]
        fn py_new(group: &Bound<'_, PyAny>, role: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
            let role = match role {
                Some(r) => wire_in("role", r)?,
                None => GroupRole::Member,
            };
            Ok(GroupGrant { group_id: group_id_of(group)?, role })
        }
    }

    Member repr(id, contact, role, status) {
        #[getter]
        fn email(&self) -> Option<&str> {
            self.contact.email()
        }

        #[getter]
        fn identifier(&self) -> Option<&str> {
            contact_identifier(&self.contact)
        }

        /// "First Last", or whichever part exists, or the contact.
        #[getter(display_name)]
        fn py_display_name(&self) -> String {
            self.display_name()
        }

        /// Active members hold a seat; inactive and removed ones do not.
        #[getter(holds_seat)]
        fn py_holds_seat(&self) -> bool {
            self.holds_seat()
        }

        /// The member's role in a group, or `None` when not in it.
        #[pyo3(name = "group_role")]
        fn py_group_role(&self, group: &Bound<'_, PyAny>) -> PyResult<Option<GroupRole>> {
            Ok(self.group_role(&group_id_of(group)?))
        }
    }

    Invitation repr(id, recipient, status) {
        /// The invited email address, or `None`.
        #[getter]
        fn email(&self) -> Option<&str> {
            self.recipient.email()
        }

        /// The invited identifier, or `None`.
        #[getter]
        fn identifier(&self) -> Option<&str> {
            contact_identifier(&self.recipient)
        }

        /// Whether it is by identifier (accepted with an access code).
        #[getter(is_by_identifier)]
        fn py_is_by_identifier(&self) -> bool {
            self.is_by_identifier()
        }
    }

    Acceptance repr(member, invitation) {}

    InviteLink repr(org_id, role, active, uses) {}

    RegistrationNeeds repr(first_name, last_name, phone, two_factor, eula_version) {}

    InvitationPreview repr(org_name, recipient, role, status) {
        #[getter]
        fn email(&self) -> Option<&str> {
            self.recipient.email()
        }

        #[getter]
        fn identifier(&self) -> Option<&str> {
            contact_identifier(&self.recipient)
        }
    }

    LinkPreview repr(org_name, role, kind) {}

    RecipientInput repr(email, identifier, display_name) {
        #[new]
        #[pyo3(signature = (
            *, email = None, identifier = None, display_name = None, first_name = None,
            last_name = None, role = None, kind = None, groups = None, license_type = None,
            attributes = None, locale = None, lifetime = None, user_ref = None
        ))]
        #[allow(clippy::too_many_arguments)]
        fn py_new(
            email: Option<String>,
            identifier: Option<String>,
            display_name: Option<String>,
            first_name: Option<String>,
            last_name: Option<String>,
            role: Option<String>,
            kind: Option<&Bound<'_, PyAny>>,
            groups: Option<&Bound<'_, PyAny>>,
            license_type: Option<String>,
            attributes: Option<crate::member::Attributes>,
            locale: Option<String>,
            lifetime: Option<&Bound<'_, PyAny>>,
            user_ref: Option<String>,
        ) -> PyResult<Self> {
            Ok(RecipientInput {
                locale,
                lifetime_secs: lifetime.map(|l| secs_in(l, "lifetime")).transpose()?,
                email,
                identifier,
                display_name,
                first_name,
                last_name,
                role,
                kind: kind.map(|k| wire_in("kind", k)).transpose()?,
                groups: groups.map(grants_in).transpose()?,
                license_type,
                attributes: attributes.unwrap_or_default(),
                user_ref,
            })
        }
    }

    ImportRow repr(line, input, groups) {}

    ImportSheet repr(rows, errors, ignored_columns)
    getters |v| {
        ignored_columns -> Vec<String> { v.ignored_columns.clone() }
    }
    rows |v| {
        rows -> ImportRow { &v.rows[..] }
        errors -> ImportRowError { &v.errors[..] }
    }
    {
        fn __len__(&self) -> usize {
            self.rows.len()
        }
    }

    ImportInterruption repr(batch, code, unprocessed_lines) {}

    ImportRowError repr(line, message) {
        fn __str__(&self) -> String {
            self.to_string()
        }
    }

    ImportGroup repr(name, role) {}

    // `accept_url` holds the invitation's secret: an attribute (the mailer
    // needs it) that `repr()` leaves out.
    OutgoingEmail repr(message_id, to, subject) {}

    // Not `get_all`: the draft a stored message may keep is the engine's
    // (ADR 0018); every message a host gets is rendered.
    OutboxMessage repr(id, status, attempts)
    getters |v| {
        id -> MessageId { v.id.clone() }
        org_id -> OrgId { v.org_id.clone() }
        invitation_id -> InvitationId { v.invitation_id.clone() }
        email -> OutgoingEmail { v.email.clone() }
        status -> OutboxStatus { v.status }
        attempts -> u32 { v.attempts }
        next_attempt_at -> chrono::DateTime<chrono::Utc> { v.next_attempt_at }
        last_error -> Option<String> { v.last_error.clone() }
        created_at -> chrono::DateTime<chrono::Utc> { v.created_at }
        sent_at -> Option<chrono::DateTime<chrono::Utc>> { v.sent_at }
    }
    {}

    EmailTemplate repr(locale, subject) {}

    EmailSettings repr(default_locale, default_message) {}

    // A preview's link is a placeholder: nothing to leave out.
    EmailPreview repr(template_locale, subject) {}

    DeliveryReport repr(sent, retrying, failed)
    rows |r| {
        sent -> MessageId { &r.sent[..] }
        retrying -> MessageId { &r.retrying[..] }
        failed -> MessageId { &r.failed[..] }
    }
    {
        /// Messages attempted in this run.
        fn __len__(&self) -> usize {
            self.sent.len() + self.retrying.len() + self.failed.len()
        }
    }

    WorkerReport repr(sent, retrying, failed, expired_invitations, next_due)
    getters |v| {
        expired_invitations -> u64 { v.expired_invitations }
        next_due -> Option<chrono::DateTime<chrono::Utc>> { v.next_due }
    }
    rows |r| {
        sent -> MessageId { &r.sent[..] }
        retrying -> MessageId { &r.retrying[..] }
        failed -> MessageId { &r.failed[..] }
    }
    {
        /// Messages attempted in this pass.
        fn __len__(&self) -> usize {
            self.sent.len() + self.retrying.len() + self.failed.len()
        }
    }

    // A view: no link, no body.
    DeadLetter repr(id, to, attempts, reason) {}

    BulkConfirmation repr(action, rows, expires_at) {}

    BulkRow repr(member, invitation, outcome, code) {}

    BulkReport repr(batch_id, action, applied)
    getters |v| {
        batch_id -> BatchId { v.batch_id.clone() }
        action -> BulkAction { v.action }
        applied -> bool { v.applied }
    }
    rows |r| {
        rows -> BulkRow { &r.rows[..] }
    }
    {
        /// The refused rows, each made when read.
        #[pyo3(name = "refused")]
        fn py_refused(slf: &Bound<'_, Self>) -> Rows {
            Rows::filtered(
                slf,
                |r| &r.rows[..],
                |r| r.outcome == BulkOutcome::Refused,
                BulkRow::clone,
            )
        }

        /// How many rows changed.
        #[pyo3(name = "changed")]
        fn py_changed(&self) -> usize {
            self.changed()
        }
    }
    Capabilities repr(can_invite, manage_members, manage_policy) {}

    AccountMembership repr(org_id, slug, role) {}

    InviteCapability repr(allowed, roles, without_groups) {
        /// Whether one group grant alone is allowed.
        #[pyo3(name = "may_grant")]
        fn py_may_grant(&self, grant: &GroupGrant) -> bool {
            self.may_grant(grant)
        }
    }

    GroupCapability repr(group_id, roles) {}

    // The directory assistant's records: a Python directory source builds
    // them with keywords (any field left out takes its default).
    DirectoryCompany repr(id, name) {
        #[new]
        fn py_new(id: String, name: String) -> Self {
            crate::DirectoryCompany::new(id, name)
        }
    }

    DirectoryEmployee repr(id, email, employment_status) {
        #[new]
        #[pyo3(signature = (id, **fields))]
        fn py_new(id: String, fields: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
            with_keywords(
                "DirectoryEmployee",
                &crate::DirectoryEmployee::new(id),
                fields,
            )
        }

        /// Whether the employee is active (the assistant lists only them).
        #[pyo3(name = "is_active")]
        fn py_is_active(&self) -> bool {
            self.is_active()
        }

        /// The name to show.
        #[pyo3(name = "name")]
        fn py_name(&self) -> String {
            self.name()
        }
    }

    // A row of the people view: no secret, no hash.
    Person repr(source, contact, label, role) {
        /// The email address, or `None`.
        #[getter]
        fn email(&self) -> Option<&str> {
            self.contact.email()
        }

        /// The identifier, or `None`.
        #[getter]
        fn identifier(&self) -> Option<&str> {
            contact_identifier(&self.contact)
        }
    }

    // One invitation of a person's inbox (issue 14): no secret.
    InboxInvitation repr(org_name, invitation_id, role, expires_at) {}

    // Verified domains: the claim without its code hash, requests, offers.
    OrgDomain repr(domain, status, enrollment, role) {}

    MembershipRequest repr(id, email, status) {}

    DomainOffer repr(org_name, domain, enrollment, role) {}
}

//! The directory assistant in Python (seed 000): a Python object with
//! `companies()` and `employees(company_id)` as an `enlist::DirectorySource`
//! (the `DirectorySource` protocol of the stub), the two sources that ship
//! with the crate (`MemoryDirectory`, `CsvDirectory`), the assistant
//! (`DirectoryAssistant`, a mutable value with `to_json()` / `from_json()`
//! for the host's session) and its review and send reports.

use crate::errors::{OrRaise, invalid};
use crate::types::{PyInviteReport, record};
use enlist::python_support::with_keywords;
use enlist::{
    DirectoryAssistant, DirectoryCompany, DirectoryEmployee, DirectoryField, DirectorySource,
    Enlist, Error, LimitKind, OrgId,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::{Arc, Mutex};

/// At most this many bytes of JSON for `DirectoryAssistant.from_json`.
const MAX_ASSISTANT_JSON_BYTES: usize = 64 << 20;

/// A Python object as a directory source. A Python exception raised by the
/// source is kept and raised again, as it is, once the engine returns.
pub(crate) struct PySource {
    obj: Py<PyAny>,
    raised: Mutex<Option<PyErr>>,
}

impl PySource {
    fn fail(&self, e: PyErr, what: &str) -> Error {
        let message = format!("the directory source's {what}() raised an exception");
        if let Ok(mut slot) = self.raised.lock() {
            slot.get_or_insert(e);
        }
        Error::InvalidInput {
            field: "directory".into(),
            reason: message,
        }
    }

    /// The items of the sequence `value`, at most `max` of them (counted
    /// before any is read), each converted by `item`.
    fn items<T>(
        &self,
        value: &Bound<'_, PyAny>,
        what: &str,
        max: usize,
        item: impl Fn(&Bound<'_, PyAny>) -> PyResult<T>,
    ) -> enlist::Result<Vec<T>> {
        let len = value.len().map_err(|e| self.fail(e, what))?;
        if len > max {
            return Err(Error::LimitExceeded {
                limit: LimitKind::ImportRows,
                max: max as u64,
                actual: len as u64,
                detail: Some(format!(
                    "the directory source's {what}() returned {len} items, at most {max}"
                )),
            });
        }
        let mut out = Vec::with_capacity(len);
        for v in value.try_iter().map_err(|e| self.fail(e, what))? {
            let v = v.map_err(|e| self.fail(e, what))?;
            out.push(item(&v).map_err(|e| self.fail(e, what))?);
        }
        Ok(out)
    }
}

fn company_in(v: &Bound<'_, PyAny>) -> PyResult<DirectoryCompany> {
    if let Ok(c) = v.cast::<DirectoryCompany>() {
        return Ok(c.get().clone());
    }
    let d = v.cast::<PyDict>()?;
    with_keywords("DirectoryCompany", &DirectoryCompany::new("", ""), Some(d))
}

fn employee_in(v: &Bound<'_, PyAny>) -> PyResult<DirectoryEmployee> {
    if let Ok(e) = v.cast::<DirectoryEmployee>() {
        return Ok(e.get().clone());
    }
    let d = v.cast::<PyDict>()?;
    with_keywords("DirectoryEmployee", &DirectoryEmployee::new(""), Some(d))
}

impl DirectorySource for PySource {
    fn companies(&self) -> enlist::Result<Vec<DirectoryCompany>> {
        Python::attach(|py| {
            let r = self
                .obj
                .bind(py)
                .call_method0("companies")
                .map_err(|e| self.fail(e, "companies"))?;
            self.items(&r, "companies", enlist::MAX_DIRECTORY_COMPANIES, company_in)
        })
    }

    fn employees(&self, company_id: &str) -> enlist::Result<Vec<DirectoryEmployee>> {
        Python::attach(|py| {
            let r = self
                .obj
                .bind(py)
                .call_method1("employees", (company_id,))
                .map_err(|e| self.fail(e, "employees"))?;
            self.items(
                &r,
                "employees",
                enlist::MAX_DIRECTORY_EMPLOYEES,
                employee_in,
            )
        })
    }
}

/// A source given from Python: one of the crate's own (read without the
/// GIL) or any object with `companies()` and `employees(company_id)`.
pub(crate) enum Source {
    Native(Arc<dyn DirectorySource>),
    Python(PySource),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Source {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(m) = obj.cast::<PyMemoryDirectory>() {
            return Ok(Source::Native(m.get().source()));
        }
        if let Ok(c) = obj.cast::<PyCsvDirectory>() {
            return Ok(Source::Native(c.get().inner.clone()));
        }
        if !(obj.hasattr("companies")? && obj.hasattr("employees")?) {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "a directory source has companies() and employees(company_id) methods",
            ));
        }
        Ok(Source::Python(PySource {
            obj: obj.to_owned().unbind(),
            raised: Mutex::new(None),
        }))
    }
}

impl Source {
    fn as_dyn(&self) -> &dyn DirectorySource {
        match self {
            Source::Native(s) => s.as_ref(),
            Source::Python(s) => s,
        }
    }

    /// The engine's outcome, or the Python source's own exception when it
    /// raised one.
    fn finish<T>(&self, py: Python<'_>, r: enlist::Result<T>) -> PyResult<T> {
        if let Source::Python(s) = self {
            if let Ok(mut slot) = s.raised.lock() {
                if let Some(e) = slot.take() {
                    return Err(e);
                }
            }
        }
        r.or_raise(py)
    }
}

/// A directory held in memory: companies and their employees.
#[pyclass(frozen, name = "MemoryDirectory", module = "enlist._enlist")]
pub(crate) struct PyMemoryDirectory {
    inner: Mutex<enlist::MemoryDirectory>,
}

impl PyMemoryDirectory {
    fn source(&self) -> Arc<dyn DirectorySource> {
        let copy = self.inner.lock().map(|d| d.clone()).unwrap_or_default();
        Arc::new(copy)
    }
}

#[pymethods]
impl PyMemoryDirectory {
    #[new]
    fn py_new() -> Self {
        Self {
            inner: Mutex::new(enlist::MemoryDirectory::new()),
        }
    }

    /// Adds (or replaces) a company with its employees
    /// (`DirectoryEmployee`s, or dicts of their fields).
    fn add_company(&self, id: String, name: String, employees: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut list = Vec::new();
        for e in employees.try_iter()? {
            list.push(employee_in(&e?)?);
        }
        if let Ok(mut d) = self.inner.lock() {
            d.put_company(DirectoryCompany::new(id, name), list);
        }
        Ok(())
    }

    /// Every company.
    fn companies(&self, py: Python<'_>) -> PyResult<Vec<DirectoryCompany>> {
        self.source().companies().or_raise(py)
    }

    /// The employees of one company.
    fn employees(&self, py: Python<'_>, company_id: &str) -> PyResult<Vec<DirectoryEmployee>> {
        self.source().employees(company_id).or_raise(py)
    }
}

/// A directory read from an HR export in CSV (`bytes`, or a `str`).
#[pyclass(frozen, name = "CsvDirectory", module = "enlist._enlist")]
pub(crate) struct PyCsvDirectory {
    inner: Arc<enlist::CsvDirectory>,
}

#[pymethods]
impl PyCsvDirectory {
    #[new]
    fn py_new(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let len = crate::email::file_len(data)?;
        if len > enlist::MAX_DIRECTORY_CSV_BYTES {
            return Err(crate::errors::to_py_err(
                py,
                &Error::LimitExceeded {
                    limit: LimitKind::ImportBytes,
                    max: enlist::MAX_DIRECTORY_CSV_BYTES as u64,
                    actual: len as u64,
                    detail: Some("a directory CSV file".into()),
                },
            ));
        }
        let bytes = crate::email::file_bytes(data)?;
        let inner = py
            .detach(|| enlist::CsvDirectory::from_csv(&bytes))
            .or_raise(py)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Every company, in the order they first appear in the file.
    fn companies(&self, py: Python<'_>) -> PyResult<Vec<DirectoryCompany>> {
        self.inner.companies().or_raise(py)
    }

    /// The employees of one company.
    fn employees(&self, py: Python<'_>, company_id: &str) -> PyResult<Vec<DirectoryEmployee>> {
        self.inner.employees(company_id).or_raise(py)
    }
}

record! {
    /// A row of the assistant's list: the employee, whether selected, and
    /// the role they would get.
    "DirectoryRow" PyDirectoryRow(enlist::DirectoryRow) repr("employee", "selected", "role") {
        employee(v, py) -> DirectoryEmployee { v.employee.clone() }
        selected(v, py) -> bool { v.selected }
        role(v, py) -> String { v.role.clone() }
    }
}

record! {
    /// A row of the review: the employee, their role and (for an error)
    /// why no invitation can be sent.
    "DirectoryReviewRow" PyDirectoryReviewRow(enlist::DirectoryReviewRow) repr("employee", "role", "reason") {
        employee(v, py) -> DirectoryEmployee { v.employee.clone() }
        role(v, py) -> String { v.role.clone() }
        reason(v, py) -> Option<crate::types::PyRejectReason> { v.reason.clone().map(Into::into) }
    }
}

record! {
    /// The review step: "Invitations to send" and "Invitation errors".
    "DirectoryReview" PyDirectoryReview(enlist::DirectoryReview) repr("to_send", "errors", "max_batch") {
        to_send(v, py) -> Vec<PyDirectoryReviewRow> { crate::types::wrap(&v.to_send) }
        errors(v, py) -> Vec<PyDirectoryReviewRow> { crate::types::wrap(&v.errors) }
        max_batch(v, py) -> u32 { v.max_batch }
    }
}

record! {
    /// What `directory_send` did: the batch's report (indexes count in
    /// `employees`) and the two downloadable reports.
    "DirectorySendReport" PyDirectorySendReport(enlist::DirectorySendReport) repr("report") {
        report(v, py) -> PyInviteReport { v.report.clone().into() }
        employees(v, py) -> Vec<DirectoryEmployee> { v.employees.clone() }
    }

    /// The Invitations report as CSV (no secrets).
    fn invitations_csv(&self) -> String {
        self.inner.invitations_csv()
    }

    /// The Errors report as CSV.
    fn errors_csv(&self) -> String {
        self.inner.errors_csv()
    }
}

/// The assistant: the chosen company, filters, sort, the selection and the
/// roles set. Keep it between screens with `to_json()` and
/// `DirectoryAssistant.from_json(text)`.
#[pyclass(name = "DirectoryAssistant", module = "enlist._enlist")]
#[derive(Clone)]
pub(crate) struct PyDirectoryAssistant {
    pub(crate) inner: DirectoryAssistant,
}

fn field_in(v: &Bound<'_, PyAny>) -> PyResult<DirectoryField> {
    enlist::python_support::wire_in("field", v)
}

fn ids_in(ids: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = ids.extract::<String>() {
        return Ok(vec![s]);
    }
    let n = ids.len()?;
    if n > enlist::MAX_DIRECTORY_EMPLOYEES {
        return Err(invalid(
            ids.py(),
            "ids",
            format!("at most {} ids at once", enlist::MAX_DIRECTORY_EMPLOYEES),
        ));
    }
    ids.extract()
}

#[pymethods]
impl PyDirectoryAssistant {
    /// The organization it invites into.
    #[getter]
    fn org_id(&self) -> String {
        self.inner.org_id().as_str().to_owned()
    }

    /// The companies of the directory.
    #[getter]
    fn companies(&self) -> Vec<DirectoryCompany> {
        self.inner.companies().to_vec()
    }

    /// The chosen company, or `None`.
    #[getter]
    fn company(&self) -> Option<DirectoryCompany> {
        self.inner.company().cloned()
    }

    /// Whether the "Select company" step is still to do.
    #[getter]
    fn needs_company(&self) -> bool {
        self.inner.needs_company()
    }

    /// Every listed employee, whatever the filters.
    #[getter]
    fn employees(&self) -> Vec<DirectoryEmployee> {
        self.inner.employees().to_vec()
    }

    /// `(members or invited, not active)`: employees left out of the list.
    #[getter]
    fn left_out(&self) -> (usize, usize) {
        self.inner.left_out()
    }

    /// The organization's default role.
    #[getter]
    fn default_role(&self) -> String {
        self.inner.default_role().to_owned()
    }

    /// The role an employee would get, or `None` for an id not listed.
    fn role_of(&self, employee_id: &str) -> Option<String> {
        self.inner.role_of(employee_id)
    }

    /// Sets (or with `None` clears) the filter on `field`.
    #[pyo3(signature = (field, text = None))]
    fn set_filter(
        &mut self,
        py: Python<'_>,
        field: &Bound<'_, PyAny>,
        text: Option<&str>,
    ) -> PyResult<()> {
        let field = field_in(field)?;
        self.inner.set_filter(field, text).or_raise(py)
    }

    /// Clears every filter (the selection stays).
    fn clear_filters(&mut self) {
        self.inner.clear_filters();
    }

    /// The filters in force: `(field, text)` pairs.
    #[getter]
    fn filters(&self) -> Vec<(DirectoryField, String)> {
        self.inner.filters()
    }

    /// Sorts by `field` (`None`: the directory's order).
    #[pyo3(signature = (field = None, *, descending = false))]
    fn set_sort(&mut self, field: Option<&Bound<'_, PyAny>>, descending: bool) -> PyResult<()> {
        let sort = field.map(field_in).transpose()?.map(|f| (f, descending));
        self.inner.set_sort(sort);
        Ok(())
    }

    /// The rows the filters let through, sorted.
    fn visible(&self) -> Vec<PyDirectoryRow> {
        self.inner.visible().into_iter().map(Into::into).collect()
    }

    /// Selects employees by id (one id or a list); returns how many are
    /// selected.
    fn select(&mut self, ids: &Bound<'_, PyAny>) -> PyResult<usize> {
        Ok(self.inner.select(&ids_in(ids)?))
    }

    /// Deselects employees by id; returns how many are selected.
    fn deselect(&mut self, ids: &Bound<'_, PyAny>) -> PyResult<usize> {
        Ok(self.inner.deselect(&ids_in(ids)?))
    }

    /// Selects every row the filters let through.
    fn select_all_filtered(&mut self) -> usize {
        self.inner.select_all_filtered()
    }

    /// Deselects every row the filters let through.
    fn deselect_all_filtered(&mut self) -> usize {
        self.inner.deselect_all_filtered()
    }

    /// Deselects everyone.
    fn clear_selection(&mut self) {
        self.inner.clear_selection();
    }

    /// The selected ids, in the directory's order.
    #[getter]
    fn selected(&self) -> Vec<String> {
        self.inner.selected()
    }

    /// Sets one employee's role.
    fn set_role(&mut self, py: Python<'_>, employee_id: &str, role: &str) -> PyResult<()> {
        self.inner.set_role(employee_id, role).or_raise(py)
    }

    /// Sets the role of every selected employee; returns how many.
    fn set_role_for_selection(&mut self, py: Python<'_>, role: &str) -> PyResult<usize> {
        self.inner.set_role_for_selection(role).or_raise(py)
    }

    /// Back to the suggested or default role.
    fn reset_role(&mut self, employee_id: &str) {
        self.inner.reset_role(employee_id);
    }

    /// The assistant as JSON, for the host's session.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
    }

    /// An assistant kept with `to_json()`.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        if text.len() > MAX_ASSISTANT_JSON_BYTES {
            return Err(invalid(py, "assistant", "too large to be an assistant"));
        }
        serde_json::from_str(text)
            .map(|inner| Self { inner })
            .map_err(|e| invalid(py, "assistant", format!("not an assistant: {e}")))
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.inner == other.inner
    }

    fn __repr__(&self) -> String {
        format!(
            "DirectoryAssistant(company={:?}, employees={}, selected={})",
            self.inner.company().map(|c| c.name.as_str()),
            self.inner.employees().len(),
            self.inner.selected().len()
        )
    }
}

/// `Enlist.directory_start`.
pub(crate) fn start(
    py: Python<'_>,
    engine: &Enlist,
    org: OrgId,
    actor: enlist::Actor,
    source: Source,
) -> PyResult<PyDirectoryAssistant> {
    let r = py.detach(|| engine.directory_start(&org, &actor, source.as_dyn()));
    source
        .finish(py, r)
        .map(|inner| PyDirectoryAssistant { inner })
}

/// `Enlist.directory_choose_company`.
pub(crate) fn choose_company(
    py: Python<'_>,
    engine: &Enlist,
    org: OrgId,
    actor: enlist::Actor,
    source: Source,
    assistant: &mut PyDirectoryAssistant,
    company_id: String,
) -> PyResult<()> {
    let mut a = assistant.inner.clone();
    let r = py.detach(|| {
        engine.directory_choose_company(&org, &actor, source.as_dyn(), &mut a, &company_id)
    });
    source.finish(py, r)?;
    assistant.inner = a;
    Ok(())
}

/// `Enlist.directory_review`.
pub(crate) fn review(
    py: Python<'_>,
    engine: &Enlist,
    org: OrgId,
    actor: enlist::Actor,
    assistant: &PyDirectoryAssistant,
) -> PyResult<PyDirectoryReview> {
    let a = assistant.inner.clone();
    py.detach(|| engine.directory_review(&org, &actor, &a))
        .or_raise(py)
        .map(Into::into)
}

/// `Enlist.directory_send`.
pub(crate) fn send(
    py: Python<'_>,
    engine: &Enlist,
    org: OrgId,
    actor: enlist::Actor,
    assistant: &PyDirectoryAssistant,
    message: Option<String>,
) -> PyResult<PyDirectorySendReport> {
    let a = assistant.inner.clone();
    py.detach(|| engine.directory_send(&org, &actor, &a, message.as_deref()))
        .or_raise(py)
        .map(Into::into)
}

/// Adds the classes of this module.
pub(crate) fn add_classes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMemoryDirectory>()?;
    m.add_class::<PyCsvDirectory>()?;
    m.add_class::<PyDirectoryAssistant>()?;
    m.add_class::<PyDirectoryRow>()?;
    m.add_class::<PyDirectoryReviewRow>()?;
    m.add_class::<PyDirectoryReview>()?;
    m.add_class::<PyDirectorySendReport>()?;
    Ok(())
}

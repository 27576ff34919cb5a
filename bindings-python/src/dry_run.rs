//! The dry runs and the bulk update: `Enlist.dry_run_invite`,
//! `dry_run_import`, `dry_run_bulk_update` and `bulk_update_members`
//! return these read-only classes (see `types.rs` for the `record!`
//! macro).

use crate::errors::OrRaise;
use crate::rows::PyRows;
use crate::types::{PyImportRejection, PyRejectedRecipient, record, wrap};
use pyo3::prelude::*;
use pyo3::types::PyIterator;

/// An import file's bytes, refused before they are copied out of Python
/// when they are larger than any policy allows.
pub(crate) fn file_in(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let mut ceiling = enlist::ImportLimits::default();
    ceiling.max_bytes = enlist::MAX_IMPORT_BYTES;
    ceiling
        .check_file_size(crate::email::file_len(data)?)
        .or_raise(py)?;
    crate::email::file_bytes(data)
}

record! {
    /// A recipient `invite` would invite: what the invitation would say,
    /// without an id, a secret or an email.
    "WouldIssue" PyWouldIssue(enlist::WouldIssue) repr("index", "recipient", "role") {
        index(v, py) -> usize { v.index }
        input(v, py) -> String { v.input.clone() }
        /// The email address or identifier.
        recipient(v, py) -> String { v.recipient.as_str().to_owned() }
        email(v, py) -> Option<String> { v.recipient.email().map(str::to_owned) }
        display_name(v, py) -> Option<String> { v.display_name.clone() }
        first_name(v, py) -> Option<String> { v.first_name.clone() }
        last_name(v, py) -> Option<String> { v.last_name.clone() }
        kind(v, py) -> enlist::MemberKind { v.kind }
        role(v, py) -> String { v.role.clone() }
        groups(v, py) -> Vec<enlist::GroupGrant> { v.groups.clone() }
        license_type(v, py) -> String { v.license_type.clone() }
        warnings(v, py) -> Vec<enlist::email::AddressWarning> { v.warnings.clone() }
        attributes(v, py) -> enlist::Attributes { v.attributes.clone() }
        /// The language of its email.
        locale(v, py) -> Option<String> { v.locale.clone() }
        /// Its own lifetime in seconds (`None`: the policy's default).
        lifetime_secs(v, py) -> Option<u64> { v.lifetime_secs }
    }
}

record! {
    /// What `invite` would do: `would_issue` and `rejected` (the same
    /// reasons as `InviteReport.rejected`), nothing written.
    "InviteDryRun" PyInviteDryRun(enlist::InviteDryRun) repr("would_issue", "rejected") {
        /// Recipients in the input.
        total(v, py) -> usize { v.total() }
    }

    /// The recipients it would invite, each made when read.
    #[getter]
    fn would_issue(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.would_issue[..], |w| PyWouldIssue::from(w.clone()))
    }

    /// The recipients it would reject, each made when read.
    #[getter]
    fn rejected(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.rejected[..], |r| PyRejectedRecipient::from(r.clone()))
    }

    fn __len__(&self) -> usize {
        self.inner.total()
    }
}

record! {
    /// What `import_invitations` would do with a file, by line, nothing
    /// written.
    "ImportDryRun" PyImportDryRun(enlist::ImportDryRun) repr("would_issue_count", "rejected") {
        ignored_columns(v, py) -> Vec<String> { v.ignored_columns.clone() }
        batch_lines(v, py) -> Vec<Vec<usize>> { v.batch_lines.clone() }
        would_issue_count(v, py) -> usize { v.would_issue_count() }
    }

    /// The rows the file could not be read into, each made when read.
    #[getter]
    fn sheet_errors(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.sheet_errors[..], enlist::ImportRowError::clone)
    }

    /// The rows it would reject, each made when read.
    #[getter]
    fn rejected(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.rejected[..], |r| PyImportRejection::from(r.clone()))
    }

    /// What each batch would do, each made when read.
    #[getter]
    fn batches(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.batches[..], |b| PyInviteDryRun::from(b.clone()))
    }
}

record! {
    /// One field of a member before and after a change: `field` is
    /// `first_name`, `last_name`, `role`, `groups`, `license_type`,
    /// `status` or `attributes.<key>`.
    "FieldChange" PyFieldChange(enlist::FieldChange) repr("field", "old", "new") {
        field(v, py) -> String { v.field.clone() }
        old(v, py) -> String { v.old.clone() }
        #[allow(clippy::new_ret_no_self, clippy::wrong_self_convention)]
        new(v, py) -> String { v.new.clone() }
    }
}

record! {
    /// One row of a bulk update: the member it names, changed (with each
    /// change), unchanged, or failed (with `code` and `message`).
    "BulkUpdateRow" PyBulkUpdateRow(enlist::BulkUpdateRow) repr("line", "input", "status") {
        line(v, py) -> usize { v.line }
        input(v, py) -> String { v.input.clone() }
        member(v, py) -> Option<String> { v.member.as_ref().map(ToString::to_string) }
        /// A `BulkRowStatus`.
        status(v, py) -> Bound<'py, PyAny> { enlist::python_support::wire_out(py, &v.status)? }
        changes(v, py) -> Vec<PyFieldChange> { wrap(&v.changes) }
        code(v, py) -> Option<String> { v.code.clone() }
        message(v, py) -> Option<String> { v.message.clone() }
    }
}

record! {
    /// The outcome of `dry_run_bulk_update` (`applied` False) or
    /// `bulk_update_members` (`applied` True). Iterating it yields its rows.
    "BulkUpdateReport" PyBulkUpdateReport(enlist::BulkUpdateReport) repr("applied", "rows", "batches") {
        applied(v, py) -> bool { v.applied }
        ignored_columns(v, py) -> Vec<String> { v.ignored_columns.clone() }
        batches(v, py) -> u32 { v.batches }
        interrupted(v, py) -> Option<enlist::ImportInterruption> { v.interrupted.clone() }
    }

    /// How many rows are in this state (a `BulkRowStatus` or its name).
    fn count(&self, status: &Bound<'_, PyAny>) -> PyResult<usize> {
        let status: enlist::BulkRowStatus = enlist::python_support::wire_in("status", status)?;
        Ok(self.inner.count(status))
    }

    /// The rows the file could not be read into, each made when read.
    #[getter]
    fn sheet_errors(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.sheet_errors[..], enlist::ImportRowError::clone)
    }

    /// One row per member named, each made when read.
    #[getter]
    fn rows(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.rows[..], |r| PyBulkUpdateRow::from(r.clone()))
    }

    fn __len__(&self) -> usize {
        self.inner.rows.len()
    }

    fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyIterator>> {
        crate::types::rows_iter(slf.py(), Self::rows(slf))
    }
}

/// Registers the classes of this module.
pub(crate) fn add_classes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyWouldIssue>()?;
    m.add_class::<PyInviteDryRun>()?;
    m.add_class::<PyImportDryRun>()?;
    m.add_class::<PyFieldChange>()?;
    m.add_class::<PyBulkUpdateRow>()?;
    m.add_class::<PyBulkUpdateReport>()?;
    Ok(())
}

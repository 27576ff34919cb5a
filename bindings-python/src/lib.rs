#![doc = include_str!("../README.md")]

mod convert;
mod directory;
mod dry_run;
mod email;
mod engine;
mod errors;
mod hooks;
mod inputs;
mod mail;
mod maintenance;
mod rows;
mod types;

use pyo3::prelude::*;

/// The native module `enlist._enlist`; `import enlist` re-exports it.
#[pymodule]
fn _enlist(m: &Bound<'_, PyModule>) -> PyResult<()> {
    enlist::python_support::set_error_hook(errors::to_py_err);
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::PyEnlist>()?;
    // The records core owns (`enlist::python_support`).
    enlist::python_support::add_record_classes(m)?;
    // Inputs.
    m.add_class::<types::PyActor>()?;
    m.add_class::<inputs::PyManualClock>()?;
    // The mailers of enlist-smtp.
    m.add_class::<mail::PySmtpMailer>()?;
    m.add_class::<mail::PyFileMailer>()?;
    // Results.
    m.add_class::<types::PyMemberPage>()?;
    m.add_class::<types::PyInvitationPage>()?;
    m.add_class::<types::PyOrganizationPage>()?;
    m.add_class::<types::PyAccountMembershipPage>()?;
    m.add_class::<types::PyIssuedInvitation>()?;
    m.add_class::<types::PyRejectReason>()?;
    m.add_class::<types::PyRejectedRecipient>()?;
    m.add_class::<types::PyInviteReport>()?;
    m.add_class::<types::PySendOutcome>()?;
    m.add_class::<types::PySendReport>()?;
    m.add_class::<types::PyImportedInvitation>()?;
    m.add_class::<types::PyImportRejection>()?;
    m.add_class::<types::PyImportReport>()?;
    m.add_class::<types::PyEvent>()?;
    m.add_class::<types::PyDeadLetterPage>()?;
    m.add_class::<types::PyMembershipRequestPage>()?;
    m.add_class::<types::PyLinkPage>()?;
    m.add_class::<types::PyReportRow>()?;
    m.add_class::<types::PyBatchReport>()?;
    // The lazy rows of bulk results.
    rows::add_classes(m)?;
    // The directory assistant (seed 000).
    directory::add_classes(m)?;
    dry_run::add_classes(m)?;
    hooks::add_classes(m)?;
    m.add_class::<types::PyPersonPage>()?;
    // The invitee's inbox (issue 14).
    m.add_class::<types::PyInboxPage>()?;
    // The paste box.
    m.add_class::<email::PyMailbox>()?;
    m.add_class::<email::PyAddressProblem>()?;
    m.add_class::<email::PyPasteEntry>()?;
    m.add_class::<email::PyParsedRecipients>()?;
    m.add_function(wrap_pyfunction!(errors::_error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(email::parse_recipients, m)?)?;
    m.add_function(wrap_pyfunction!(email::parse_address, m)?)?;
    m.add_function(wrap_pyfunction!(email::normalize_email, m)?)?;
    m.add_function(wrap_pyfunction!(email::normalize_identifier, m)?)?;
    m.add_function(wrap_pyfunction!(email::parse_import, m)?)?;
    m.add_function(wrap_pyfunction!(email::import_template_csv, m)?)?;
    m.add_function(wrap_pyfunction!(email::import_format_for, m)?)?;
    // The SQLite store's counters, checked and repaired.
    maintenance::add(m)?;
    // The enums' wire names, from which `enlist._enums` builds its classes.
    m.add_function(wrap_pyfunction!(convert::_wire_names, m)?)?;
    #[cfg(feature = "bench")]
    engine::bench::add_functions(m)?;
    Ok(())
}

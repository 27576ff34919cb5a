#![doc = include_str!("../README.md")]

mod convert;
mod email;
mod engine;
mod errors;
mod inputs;
mod mail;
mod types;

use pyo3::prelude::*;

/// The native module `enlist._enlist`; `import enlist` re-exports it.
#[pymodule]
fn _enlist(m: &Bound<'_, PyModule>) -> PyResult<()> {
    enlist::python_support::set_error_hook(errors::to_py_err);
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::PyEnlist>()?;
    // Inputs.
    m.add_class::<types::PyActor>()?;
    m.add_class::<types::PyGroupGrant>()?;
    m.add_class::<inputs::PyPolicy>()?;
    m.add_class::<inputs::PyRegistrationRequirements>()?;
    m.add_class::<inputs::PyRecipientInput>()?;
    m.add_class::<inputs::PyRetryPolicy>()?;
    m.add_class::<inputs::PyManualClock>()?;
    // Results.
    m.add_class::<types::PyOrganization>()?;
    m.add_class::<types::PyRole>()?;
    m.add_class::<types::PyLicenseUsage>()?;
    m.add_class::<types::PyGroup>()?;
    m.add_class::<types::PyMember>()?;
    m.add_class::<types::PyMemberPage>()?;
    m.add_class::<types::PyInvitation>()?;
    m.add_class::<types::PyInvitationPage>()?;
    m.add_class::<types::PyRegistrationNeeds>()?;
    m.add_class::<types::PyInvitationPreview>()?;
    m.add_class::<types::PyAcceptance>()?;
    m.add_class::<types::PyIssuedInvitation>()?;
    m.add_class::<types::PyRejectReason>()?;
    m.add_class::<types::PyRejectedRecipient>()?;
    m.add_class::<types::PyInviteReport>()?;
    m.add_class::<types::PySendOutcome>()?;
    m.add_class::<types::PySendReport>()?;
    m.add_class::<types::PyImportedInvitation>()?;
    m.add_class::<types::PyImportRejection>()?;
    m.add_class::<types::PyImportInterruption>()?;
    m.add_class::<types::PyImportRowError>()?;
    m.add_class::<types::PyImportReport>()?;
    m.add_class::<types::PyImportGroup>()?;
    m.add_class::<types::PyImportRow>()?;
    m.add_class::<types::PyImportSheet>()?;
    m.add_class::<types::PyInviteLink>()?;
    m.add_class::<types::PyLinkPreview>()?;
    m.add_class::<types::PyEvent>()?;
    m.add_class::<types::PyOutgoingEmail>()?;
    m.add_class::<types::PyOutboxMessage>()?;
    m.add_class::<types::PyDeliveryReport>()?;
    m.add_class::<types::PyEmailTemplate>()?;
    m.add_class::<types::PyEmailSettings>()?;
    m.add_class::<types::PyEmailPreview>()?;
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
    // The enums' wire names, for the drift test of `enlist._enums`.
    m.add_function(wrap_pyfunction!(convert::_wire_names, m)?)?;
    Ok(())
}

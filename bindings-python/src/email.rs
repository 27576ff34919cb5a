//! The paste-box parser and the other free functions of the crate.

use crate::convert::{tagged, wire_in};
use crate::errors::{OrRaise, to_py_err};

use crate::types::{iterate, record};
use enlist::email::{AddressError, EntryOutcome, PasteEntry};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyIterator, PyString};

record! {
    /// A valid address with its display name.
    "Mailbox" PyMailbox(enlist::Mailbox<'static>) repr("address", "display_name") {
        /// The display name, unquoted and trimmed, if one was given.
        display_name(v, py) -> Option<&str> { v.display_name.as_deref() }
        /// The address as typed (local part as typed, domain lowercased).
        address(v, py) -> &str { &v.address }
        /// The normalized form: the uniqueness key.
        key(v, py) -> &str { &v.key }
        /// The domain, lowercase and IDNA-encoded.
        ascii_domain(v, py) -> &str { &v.ascii_domain }
        warnings(v, py) -> Vec<enlist::email::AddressWarning> { v.warnings.clone() }
        local_part(v, py) -> &str { v.local_part() }
        domain(v, py) -> &str { v.domain() }
    }
}

record! {
    /// Why a fragment is not an address enlist accepts: a stable `code`
    /// (`"missing_at"`, `"domain_no_dot"`, ...), a `message` that says what
    /// to do, the 0-based character `position` when there is one, and the
    /// other facts in `details`.
    "AddressProblem" PyAddressProblem(AddressError) repr("code", "position") {
        code(v, py) -> &'static str { v.code() }
        message(v, py) -> String { v.to_string() }
        position(v, py) -> Option<usize> { v.position() }
        details(v, py) -> Bound<'py, PyAny> {
            let d = crate::convert::to_dict(py, v)?;
            match d.get_item("detail") {
                Ok(detail) => detail,
                Err(_) => pyo3::types::PyDict::new(py).into_any(),
            }
        }
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }
}

record! {
    /// One fragment of a paste: where it is (`start`, `end`: byte offsets
    /// in the UTF-8 text), what was typed, and what it is.
    "PasteEntry" PyPasteEntry(PasteEntry<'static>) repr("text", "outcome") {
        start(v, py) -> usize { v.span.start }
        end(v, py) -> usize { v.span.end }
        text(v, py) -> &str { &v.text }
        outcome(v, py) -> Bound<'py, PyAny> { tagged(py, &v.outcome, "outcome", "EntryOutcome")?.0 }
        /// The address, for valid and duplicate entries.
        mailbox(v, py) -> Option<PyMailbox> {
            match &v.outcome {
                EntryOutcome::Valid(m) | EntryOutcome::Duplicate { mailbox: m, .. } => {
                    Some(m.clone().into())
                }
                EntryOutcome::Invalid { .. } => None,
            }
        }
        /// Why it is not an address, for invalid entries.
        problem(v, py) -> Option<PyAddressProblem> {
            match &v.outcome {
                EntryOutcome::Invalid { error } => Some(error.clone().into()),
                _ => None,
            }
        }
        /// For duplicates, the index of the entry's first appearance.
        first(v, py) -> Option<usize> {
            match &v.outcome {
                EntryOutcome::Duplicate { first, .. } => Some(*first),
                _ => None,
            }
        }
    }
}

record! {
    /// Everything found in a paste, in the order typed: iterate it for the
    /// entries; `recognized` is the "9 recognized" a form shows.
    "ParsedRecipients" PyParsedRecipients(enlist::ParsedRecipients<'static>) repr("recognized", "entry_count") {
        /// Distinct valid addresses.
        recognized(v, py) -> usize { v.recognized() }
        /// Fragments found (valid, duplicate or invalid).
        entry_count(v, py) -> usize { v.entries.len() }
        entries(v, py) -> Vec<PyPasteEntry> { crate::types::wrap(&v.entries) }
    }

    /// The distinct valid addresses, in order.
    fn mailboxes(&self) -> Vec<PyMailbox> {
        self.inner.mailboxes().cloned().map(Into::into).collect()
    }

    /// The fragments that are not valid addresses.
    fn invalid(&self) -> Vec<PyPasteEntry> {
        self.inner.invalid().map(|(e, _)| e.clone().into()).collect()
    }

    /// The repeated addresses (their `first` says where they first appear).
    fn duplicates(&self) -> Vec<PyPasteEntry> {
        self.inner.duplicates().map(|(e, _)| e.clone().into()).collect()
    }

    fn __len__(&self) -> usize {
        self.inner.entries.len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        iterate(py, crate::types::wrap::<_, PyPasteEntry>(&self.inner.entries))
    }
}

/// An `InvalidInputError` for an address, with its `address_problem`.
fn address_err(py: Python<'_>, e: AddressError) -> PyErr {
    let err = to_py_err(
        py,
        &enlist::Error::InvalidInput {
            field: "address".into(),
            reason: e.to_string(),
        },
    );
    let attach = || -> PyResult<()> {
        let problem = Bound::new(py, PyAddressProblem::from(e))?;
        let value = err.value(py);
        value.setattr("address_problem", &problem)?;
        value
            .getattr("facts")?
            .set_item("address_problem", &problem)?;
        Ok(())
    };
    match attach() {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// Parses what a person typed or pasted into a recipients field: addresses
/// separated by commas, semicolons, white space or line breaks, each
/// `ada@example.com`, `Ada Lovelace <ada@example.com>` or
/// `"Lovelace, Ada" <ada@example.com>`. Never fails: every fragment is
/// reported, valid, duplicate or invalid, with its position. A text of
/// more than `MAX_PARSE_CHARS` (1,048,576) characters is refused with
/// `InvalidInputError` before it is copied or parsed.
#[pyfunction]
pub(crate) fn parse_recipients(
    py: Python<'_>,
    text: &Bound<'_, PyString>,
) -> PyResult<PyParsedRecipients> {
    let chars = text.len()?;
    if chars > MAX_PARSE_CHARS {
        return Err(crate::errors::invalid(
            py,
            "text",
            format!(
                "is {chars} characters long; at most {MAX_PARSE_CHARS} are parsed (a paste box \
                 holds far fewer)"
            ),
        ));
    }
    let text = text.to_cow()?.into_owned();
    Ok(py
        .detach(move || enlist::parse_recipients(&text).into_owned())
        .into())
}

/// The longest text `parse_recipients` parses, in characters: it releases
/// the GIL and builds one object per fragment, so an unbounded text would
/// hold a core and memory in proportion.
pub(crate) const MAX_PARSE_CHARS: usize = 1 << 20;

/// Parses one entry (a bare address or `Name <address>`). Raises
/// `InvalidInputError` (with `address_problem`) when it is not an address
/// enlist accepts.
#[pyfunction]
pub(crate) fn parse_address(py: Python<'_>, entry: String) -> PyResult<PyMailbox> {
    enlist::parse_address(&entry)
        .map(|m| m.into_owned().into())
        .map_err(|e| address_err(py, e))
}

/// The normalized uniqueness key of one address entry.
#[pyfunction]
pub(crate) fn normalize_email(py: Python<'_>, entry: String) -> PyResult<String> {
    enlist::email::normalize_email(&entry).map_err(|e| address_err(py, e))
}

/// The normalized uniqueness key of an identifier (phone, personnel
/// number, ...): trimmed, lowercased, spaces, dashes, dots and
/// parentheses removed.
#[pyfunction]
pub(crate) fn normalize_identifier(py: Python<'_>, raw: String) -> PyResult<String> {
    enlist::normalize_identifier(&raw).or_raise(py)
}

/// File content: `bytes`, or `str` (encoded as UTF-8).
pub(crate) fn file_bytes(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = data.cast::<PyString>() {
        return Ok(s.to_cow()?.as_bytes().to_vec());
    }
    data.extract::<Vec<u8>>()
        .map_err(|_| pyo3::exceptions::PyTypeError::new_err("data must be bytes (or str for CSV)"))
}

/// Reads an import file (CSV or XLSX) without resolving or storing
/// anything: to show "N rows read" before importing. The file is read
/// within the import limits of `policy` (default `Policy()`): its size,
/// and for XLSX the entries, unpacked size and compression ratio of the
/// archive, all checked before the workbook is parsed; `max_rows`, when
/// given, replaces the policy's `max_import_rows`.
#[pyfunction]
#[pyo3(signature = (data, format, *, max_rows = None, policy = None))]
pub(crate) fn parse_import(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    format: &Bound<'_, PyAny>,
    max_rows: Option<u32>,
    policy: Option<&Bound<'_, enlist::Policy>>,
) -> PyResult<enlist::ImportSheet> {
    let mut limits = match policy {
        Some(p) => enlist::ImportLimits::from(p.get()),
        None => enlist::ImportLimits::default(),
    };
    if let Some(max_rows) = max_rows {
        limits.max_rows = max_rows;
    }
    // Refused before the bytes are copied out of Python.
    limits.check_file_size(file_len(data)?).or_raise(py)?;
    let bytes = file_bytes(data)?;
    let format: enlist::ImportFormat = wire_in("format", format)?;
    py.detach(move || enlist::parse_import(&bytes, format, &limits))
        .or_raise(py)
}

/// The length in bytes of file content (`bytes`, or `str` as UTF-8)
/// without copying it; 0 for other objects, which [`file_bytes`] checks.
pub(crate) fn file_len(data: &Bound<'_, PyAny>) -> PyResult<usize> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(b.as_bytes().len());
    }
    if let Ok(s) = data.cast::<PyString>() {
        return Ok(s.to_cow()?.len());
    }
    Ok(0)
}

/// The import template: the header row and two example rows, as CSV.
#[pyfunction]
pub(crate) fn import_template_csv() -> String {
    enlist::import_template_csv()
}

/// The import format a file name's extension suggests, or `None`.
#[pyfunction]
pub(crate) fn import_format_for(file_name: String) -> Option<enlist::ImportFormat> {
    enlist::ImportFormat::from_file_name(&file_name)
}

//! `enlist.Rows` (core's `enlist::python_support::Rows`): the rows of a
//! bulk result as a read-only sequence that makes each row's object when
//! it is read. Core's records use it too (`BulkReport.rows`).

pub(crate) use enlist::python_support::Rows as PyRows;
use pyo3::prelude::*;

/// Registers the classes of this module.
pub(crate) fn add_classes(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRows>()?;
    Ok(())
}

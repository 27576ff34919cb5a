//! `enlist.Rows`: the rows of a bulk result (an invite report's issued and
//! rejected recipients, an import's rows, a page's items...) as a
//! read-only sequence that keeps the Rust rows and makes the Python object
//! of a row only when it is read. A 100-row report crosses into Python as
//! one object; `report.issued[0]` builds one row, not a hundred.
//!
//! It behaves as the list the attribute used to be for reading: `len`,
//! truth, indexing (negative too; out of range is `IndexError`), slicing
//! (a `list` of the rows sliced), iterating (as often as wanted), `in`,
//! `index`, `count`, `reversed`, equality with a list (or another `Rows`)
//! of equal rows, and a list's `repr`. Each read makes a new row object
//! that owns a copy of its row, so it outlives the report it came from.
//!
//! Core's records use it (`BulkReport.rows`), and so do the binding's
//! reports and pages.

use pyo3::IntoPyObjectExt;
use pyo3::PyClass;
use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pyclass::{CompareOp, boolean_struct::True};
use pyo3::types::{PyInt, PyList, PySlice};

/// Makes the Python object of row `i` (always `< len`).
type Fetch = Box<dyn for<'py> Fn(Python<'py>, usize) -> PyResult<Bound<'py, PyAny>> + Send + Sync>;

/// A read-only sequence of rows made on access (see the module's doc).
#[pyclass(frozen, sequence, name = "Rows", module = "enlist._enlist")]
pub struct Rows {
    len: usize,
    fetch: Fetch,
}

impl Rows {
    /// `len` rows, row `i` made by `fetch(py, i)`.
    pub fn new(
        len: usize,
        fetch: impl for<'py> Fn(Python<'py>, usize) -> PyResult<Bound<'py, PyAny>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Self {
            len,
            fetch: Box::new(fetch),
        }
    }

    /// The rows `rows(owner)` of a read-only object, each made by `make`
    /// when read. The sequence holds `owner` (not a copy of its rows).
    pub fn of<O, T, W>(owner: &Bound<'_, O>, rows: fn(&O) -> &[T], make: fn(&T) -> W) -> Self
    where
        O: PyClass<Frozen = True> + Sync,
        T: 'static,
        W: for<'py> IntoPyObject<'py> + 'static,
    {
        let owner: Py<O> = owner.clone().unbind();
        let len = rows(owner.get()).len();
        Self::new(len, move |py, i| {
            make(&rows(owner.get())[i]).into_bound_py_any(py)
        })
    }

    /// The rows of `rows(owner)` that `keep` picks, in order, each made by
    /// `make` when read. Only their positions are found now (one pass, no
    /// Python object made).
    pub fn filtered<O, T, W>(
        owner: &Bound<'_, O>,
        rows: fn(&O) -> &[T],
        keep: fn(&T) -> bool,
        make: fn(&T) -> W,
    ) -> Self
    where
        O: PyClass<Frozen = True> + Sync,
        T: 'static,
        W: for<'py> IntoPyObject<'py> + 'static,
    {
        let owner: Py<O> = owner.clone().unbind();
        let picked: Vec<usize> = rows(owner.get())
            .iter()
            .enumerate()
            .filter(|(_, r)| keep(r))
            .map(|(i, _)| i)
            .collect();
        Self::new(picked.len(), move |py, i| {
            make(&rows(owner.get())[picked[i]]).into_bound_py_any(py)
        })
    }

    /// Row `i`, which must be `< len`.
    fn row<'py>(&self, py: Python<'py>, i: usize) -> PyResult<Bound<'py, PyAny>> {
        (self.fetch)(py, i)
    }

    /// Whether these rows equal the items of `other`, one by one.
    fn equals(&self, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let py = other.py();
        if other.len()? != self.len {
            return Ok(false);
        }
        for (i, item) in other.try_iter()?.enumerate() {
            if !self.row(py, i)?.eq(item?)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[pymethods]
impl Rows {
    fn __len__(&self) -> usize {
        self.len
    }

    /// A row by index (negative counts from the end), or a `list` of the
    /// rows of a slice.
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        index: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Ok(slice) = index.cast::<PySlice>() {
            let ix = slice.indices(isize::try_from(self.len).unwrap_or(isize::MAX))?;
            let mut rows = Vec::with_capacity(ix.slicelength);
            let mut at = ix.start;
            for _ in 0..ix.slicelength {
                // Within 0..len: `indices` clamps them.
                rows.push(self.row(py, at as usize)?);
                at += ix.step;
            }
            return Ok(PyList::new(py, rows)?.into_any());
        }
        let Ok(i) = index.extract::<isize>() else {
            if index.is_instance_of::<PyInt>() {
                // As for a list: an int too large for an index.
                return Err(PyIndexError::new_err(
                    "cannot fit 'int' into an index-sized integer",
                ));
            }
            return Err(PyTypeError::new_err(format!(
                "Rows indices must be integers or slices, not {}",
                index.get_type().name()?
            )));
        };
        let len = self.len as isize;
        let at = if i < 0 { i + len } else { i };
        if at < 0 || at >= len {
            return Err(PyIndexError::new_err("Rows index out of range"));
        }
        self.row(py, at as usize)
    }

    fn __iter__(slf: Bound<'_, Self>) -> RowsIter {
        RowsIter {
            rows: slf.unbind(),
            at: 0,
        }
    }

    fn __contains__(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<bool> {
        for i in 0..self.len {
            if self.row(py, i)?.eq(value)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The position of the first row equal to `value` within
    /// `start..stop` (as for a list; `ValueError` when none is).
    #[pyo3(signature = (value, start = 0, stop = isize::MAX, /))]
    fn index(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        start: isize,
        stop: isize,
    ) -> PyResult<usize> {
        let len = self.len as isize;
        let bound =
            |i: isize| (if i < 0 { i.saturating_add(len) } else { i }).clamp(0, len) as usize;
        let (start, stop) = (bound(start), bound(stop));
        for i in start..stop {
            if self.row(py, i)?.eq(value)? {
                return Ok(i);
            }
        }
        Err(PyValueError::new_err("value is not in the rows"))
    }

    /// How many rows equal `value`.
    #[pyo3(signature = (value, /))]
    fn count(&self, py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<usize> {
        let mut n = 0;
        for i in 0..self.len {
            if self.row(py, i)?.eq(value)? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Equal to a `list` (or another `Rows`) of equal rows in the same
    /// order, as the list these rows replace was.
    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> PyResult<Py<PyAny>> {
        let py = other.py();
        let comparable = other.is_instance_of::<PyList>() || other.is_instance_of::<Rows>();
        let equal = match op {
            CompareOp::Eq | CompareOp::Ne if comparable => self.equals(other)?,
            _ => return Ok(py.NotImplemented()),
        };
        (equal == matches!(op, CompareOp::Eq)).into_py_any(py)
    }

    /// As a `list` of the rows shows itself.
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let rows = (0..self.len)
            .map(|i| self.row(py, i))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new(py, rows)?.repr()?.to_string())
    }
}

/// An iterator over a `Rows`, making each row when it is reached (not
/// exported: Python code sees it only as an iterator).
#[pyclass(name = "RowsIterator", module = "enlist._enlist")]
pub struct RowsIter {
    rows: Py<Rows>,
    at: usize,
}

#[pymethods]
impl RowsIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let rows = self.rows.get();
        if self.at >= rows.len {
            return Ok(None);
        }
        let row = rows.row(py, self.at)?;
        self.at += 1;
        Ok(Some(row))
    }

    fn __length_hint__(&self) -> usize {
        self.rows.get().len.saturating_sub(self.at)
    }
}

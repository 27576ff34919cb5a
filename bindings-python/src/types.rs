//! The values the engine returns that core does not make Python classes
//! itself (see `enlist::python_support` for those): pages (generic), values
//! that carry a secret (`IssuedInvitation` and what holds one), enums with
//! data (`Actor`, `RejectReason`, `SendOutcome`), the event and the
//! reports holding them. Each is a read-only class with `__repr__`,
//! equality (`==` compares the whole value) and `to_dict()` (the serde form
//! of the Rust value as plain Python data), wrapping the Rust value it
//! shows; getters convert on access.

use crate::convert::tagged;
use crate::errors::OrRaise;
use crate::rows::PyRows;
use chrono::{DateTime, Utc};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyIterator, PyList};
use serde::Serialize;

/// Declares a read-only Python class over a Rust value: the getters given,
/// plus `to_dict` and `__repr__` (from the attributes named in `repr`),
/// plus any further methods.
macro_rules! record {
    (
        $(#[$meta:meta])*
        $py_name:literal $name:ident($inner:ty) repr($($rf:literal),*) {
            $( $(#[$fmeta:meta])* $field:ident($v:ident, $py:ident) -> $ret:ty $body:block )*
        }
        $($extra:tt)*
    ) => {
        $(#[$meta])*
        #[pyclass(frozen, eq, name = $py_name, module = "enlist._enlist")]
        #[derive(Clone, PartialEq)]
        pub struct $name {
            pub(crate) inner: $inner,
        }

        impl From<$inner> for $name {
            fn from(inner: $inner) -> Self {
                Self { inner }
            }
        }

        #[pymethods]
        impl $name {
            $(
                $(#[$fmeta])*
                #[getter]
                #[allow(unused_variables, unused_braces, clippy::needless_lifetimes)]
                fn $field<'py>(&self, $py: Python<'py>) -> PyResult<$ret> {
                    let $v = &self.inner;
                    Ok($body)
                }
            )*

            /// The value as plain Python data: dicts, lists, strings
            /// (timestamps in RFC 3339), numbers, booleans and `None`.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                crate::convert::to_dict(py, &self.inner)
            }

            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                crate::convert::repr(slf.as_any(), $py_name, &[$($rf),*])
            }

            $($extra)*
        }
    };
}

pub(crate) use record;

/// Wraps each item of a list of Rust values.
pub(crate) fn wrap<T: Clone, W: From<T>>(items: &[T]) -> Vec<W> {
    items.iter().cloned().map(W::from).collect()
}

/// A Python iterator over lazy rows: each row is made when reached.
pub(crate) fn rows_iter<'py>(py: Python<'py>, rows: PyRows) -> PyResult<Bound<'py, PyIterator>> {
    Bound::new(py, rows)?.try_iter()
}

/// A Python iterator over a list of values.
pub(crate) fn iterate<'py, T>(py: Python<'py>, items: Vec<T>) -> PyResult<Bound<'py, PyIterator>>
where
    T: IntoPyObject<'py>,
{
    PyList::new(py, items)?.try_iter()
}

// The records core owns are the classes of `enlist._enlist` themselves
// (its `python` feature, `enlist::python_support`), used by their own
// names; the mailer (`mail.rs`) still names the email this way.
pub(crate) type PyOutgoingEmail = enlist::OutgoingEmail;

// ---------------------------------------------------------------------------
// Groups and members
// ---------------------------------------------------------------------------

/// A page of records: `items`, `next_cursor`, and iterating it yields
/// the items.
macro_rules! page {
    ($(#[$meta:meta])* $py_name:literal $name:ident($item:ty)) => {
        record! {
            $(#[$meta])*
            $py_name $name(enlist::Page<$item>) repr("items", "next_cursor") {
                next_cursor(v, py) -> Option<String> { v.next_cursor.clone() }
            }

            /// The page's records, each made when read.
            #[getter]
            fn items(slf: &Bound<'_, Self>) -> PyRows {
                PyRows::of(slf, |p| &p.inner.items[..], <$item>::clone)
            }

            fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyIterator>> {
                rows_iter(slf.py(), Self::items(slf))
            }

            fn __len__(&self) -> usize {
                self.inner.items.len()
            }
        }
    };
}

page! {
    /// One page of members; iterate it, and pass `next_cursor` as `after`
    /// for the next page.
    "MemberPage" PyMemberPage(enlist::Member)
}

page! {
    /// One page of a signed-in person's inbox (`Enlist.invitations_for`),
    /// newest first; iterate it, and pass `next_cursor` as `after` for the
    /// next page. No item carries a secret.
    "InboxPage" PyInboxPage(enlist::InboxInvitation)
}

page! {
    /// One page of the people view (members and open invitations);
    /// iterate it, and pass `next_cursor` as `after` for the next page.
    "PersonPage" PyPersonPage(enlist::Person)
}

page! {
    /// One page of invitation links, oldest first; iterate it, and pass
    /// `next_cursor` as `after` for the next page.
    "LinkPage" PyLinkPage(enlist::InviteLink)
}

page! {
    /// One page of invitations, newest first; iterate it, and pass
    /// `next_cursor` as `after` for the next page.
    "InvitationPage" PyInvitationPage(enlist::Invitation)
}

page! {
    /// One page of organizations, by slug; iterate it, and pass
    /// `next_cursor` as `after` for the next page.
    "OrganizationPage" PyOrganizationPage(enlist::Organization)
}

page! {
    /// One page of an account's organizations; iterate it, and pass
    /// `next_cursor` as `after` for the next page.
    "AccountMembershipPage" PyAccountMembershipPage(enlist::AccountMembership)
}

// ---------------------------------------------------------------------------
// Invitations
// ---------------------------------------------------------------------------

record! {
    /// An invitation issued in a batch (or resent), with its secret.
    ///
    /// `secret` is the accept token (email invitations) or the access code
    /// (identifier invitations), returned this once; `None` for staged
    /// invitations. `repr()` never shows it.
    "IssuedInvitation" PyIssuedInvitation(enlist::IssuedInvitation) repr("index", "invitation", "message_id") {
        index(v, py) -> usize { v.index }
        invitation(v, py) -> enlist::Invitation { v.invitation.clone() }
        secret(v, py) -> Option<String> { v.secret.as_ref().map(|s| s.expose().to_owned()) }
        message_id(v, py) -> Option<String> { v.message_id.as_ref().map(ToString::to_string) }
        /// The paste parser's warnings about the address (such as
        /// `AddressWarning.CONFUSABLE`), to show before anyone clicks a link.
        warnings(v, py) -> Vec<enlist::email::AddressWarning> { v.warnings.clone() }
    }
}

record! {
    /// Why a recipient got no invitation: a stable `code`, a `message` for
    /// people, and the facts in `details`.
    "RejectReason" PyRejectReason(enlist::RejectReason) repr("code", "message") {
        code(v, py) -> &'static str { v.code() }
        message(v, py) -> String { v.to_string() }
        details(v, py) -> Bound<'py, PyAny> {
            let d = crate::convert::to_dict(py, v)?;
            if let Ok(dict) = d.cast::<pyo3::types::PyDict>() {
                dict.del_item("code")?;
            }
            d
        }
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }
}

record! {
    /// A recipient that got no invitation.
    "RejectedRecipient" PyRejectedRecipient(enlist::RejectedRecipient) repr("index", "input", "reason") {
        index(v, py) -> usize { v.index }
        input(v, py) -> String { v.input.clone() }
        reason(v, py) -> PyRejectReason { v.reason.clone().into() }
    }
}

record! {
    /// The outcome of a batch: every recipient is either issued an
    /// invitation or rejected with a reason. Iterating it yields both kinds
    /// of rows in input order.
    "InviteReport" PyInviteReport(enlist::InviteReport) repr("batch_id", "issued", "rejected") {
        batch_id(v, py) -> String { v.batch_id.to_string() }
        /// Recipients in the input.
        total(v, py) -> usize { v.total() }
    }

    /// The invitations issued, each made when read.
    #[getter]
    fn issued(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.issued[..], |i| PyIssuedInvitation::from(i.clone()))
    }

    /// The recipients rejected, each made when read.
    #[getter]
    fn rejected(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.rejected[..], |r| PyRejectedRecipient::from(r.clone()))
    }

    /// The report as CSV (`index,recipient,status,invitation_id,reason_code,reason,warnings`),
    /// for a "Download report" button. Holds no secrets.
    fn to_csv(&self) -> String {
        self.inner.to_csv()
    }

    fn __len__(&self) -> usize {
        self.inner.total()
    }

    fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyIterator>> {
        // Input order: (input index, issued?, position in its list); a
        // stable sort keeps an issued row before a rejected one of the same
        // index, as the rows were ordered when both lists were built.
        let report = &slf.get().inner;
        let mut order: Vec<(usize, bool, usize)> = Vec::with_capacity(report.total());
        order.extend(report.issued.iter().enumerate().map(|(k, i)| (i.index, true, k)));
        order.extend(report.rejected.iter().enumerate().map(|(k, r)| (r.index, false, k)));
        order.sort_by_key(|(index, _, _)| *index);
        let owner = slf.clone().unbind();
        let rows = PyRows::new(order.len(), move |py, n| {
            let (_, issued, k) = order[n];
            let report = &owner.get().inner;
            if issued {
                PyIssuedInvitation::from(report.issued[k].clone()).into_bound_py_any(py)
            } else {
                PyRejectedRecipient::from(report.rejected[k].clone()).into_bound_py_any(py)
            }
        });
        rows_iter(slf.py(), rows)
    }
}

record! {
    /// What happened to one invitation of `send_staged`: sent (`issued`
    /// holds it with its secret) or not (`code` and `message` say why).
    "SendOutcome" PySendOutcome(enlist::SendOutcome) repr("invitation_id", "sent", "code") {
        invitation_id(v, py) -> String {
            match v {
                enlist::SendOutcome::Sent { issued: i } => i.invitation.id.to_string(),
                enlist::SendOutcome::Failed { invitation, .. } => invitation.to_string(),
            }
        }
        sent(v, py) -> bool { matches!(v, enlist::SendOutcome::Sent { .. }) }
        issued(v, py) -> Option<PyIssuedInvitation> {
            match v {
                enlist::SendOutcome::Sent { issued: i } => Some(PyIssuedInvitation::from(i.clone())),
                enlist::SendOutcome::Failed { .. } => None,
            }
        }
        code(v, py) -> Option<String> {
            match v {
                enlist::SendOutcome::Failed { code, .. } => Some(code.clone()),
                enlist::SendOutcome::Sent { .. } => None,
            }
        }
        message(v, py) -> Option<String> {
            match v {
                enlist::SendOutcome::Failed { message, .. } => Some(message.clone()),
                enlist::SendOutcome::Sent { .. } => None,
            }
        }
    }
}

record! {
    /// The outcome of `send_staged`: one `SendOutcome` per invitation asked
    /// for, in order. Iterating it yields them.
    "SendReport" PySendReport(enlist::SendReport) repr("results") {
        /// The id this send's report is kept under (`Enlist.batch_report`).
        batch_id(v, py) -> Option<String> { v.batch_id.as_ref().map(ToString::to_string) }
    }

    /// One outcome per invitation asked for, each made when read.
    #[getter]
    fn results(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.results[..], |o| PySendOutcome::from(o.clone()))
    }

    fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyIterator>> {
        rows_iter(slf.py(), Self::results(slf))
    }

    fn __len__(&self) -> usize {
        self.inner.results.len()
    }
}

// ---------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------

/// An invitation issued by an import, with its file line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImportedInvitation {
    line: usize,
    batch: usize,
    issued: enlist::IssuedInvitation,
}

record! {
    /// An invitation issued by an import, with the file line it came from
    /// and the batch it was issued in (an index into `ImportReport.batches`).
    "ImportedInvitation" PyImportedInvitation(ImportedInvitation) repr("line", "batch", "issued") {
        line(v, py) -> usize { v.line }
        batch(v, py) -> usize { v.batch }
        issued(v, py) -> PyIssuedInvitation { v.issued.clone().into() }
    }
}

record! {
    /// A row of an import that got no invitation.
    "ImportRejection" PyImportRejection(enlist::ImportRejection) repr("line", "input", "message") {
        line(v, py) -> usize { v.line }
        /// The batch the row was in; `None` when it was rejected before the
        /// batches ran.
        batch(v, py) -> Option<usize> { v.batch }
        input(v, py) -> String { v.input.clone() }
        reason(v, py) -> PyRejectReason { v.reason.clone().into() }
        message(v, py) -> String { v.message.clone() }
    }
}

/// Where an issued row of an import is: its line, its batch and its
/// position in that batch's `issued`, in the order of
/// `enlist::ImportReport::issued`.
fn issued_spots(report: &enlist::ImportReport) -> Vec<(usize, usize, usize)> {
    let mut spots = Vec::with_capacity(report.issued_count());
    for (b, batch) in report.batches.iter().enumerate() {
        for (k, issued) in batch.issued.iter().enumerate() {
            spots.push((report.line(b, issued.index).unwrap_or(0), b, k));
        }
    }
    spots
}

/// The issued row of an import at `(line, batch, k)` (see [`issued_spots`]).
fn imported(
    report: &enlist::ImportReport,
    (line, batch, k): (usize, usize, usize),
) -> PyImportedInvitation {
    PyImportedInvitation::from(ImportedInvitation {
        line,
        batch,
        issued: report.batches[batch].issued[k].clone(),
    })
}

record! {
    /// The outcome of `import_invitations`: every row of the file is in
    /// exactly one place (a sheet error, a rejection, an issued invitation,
    /// or an unprocessed line after an interruption). Iterating it yields
    /// the issued, rejected and unreadable rows by line.
    "ImportReport" PyImportReport(enlist::ImportReport) repr("issued_count", "failed_count", "interrupted") {
        ignored_columns(v, py) -> Vec<String> { v.ignored_columns.clone() }
        batch_lines(v, py) -> Vec<Vec<usize>> { v.batch_lines.clone() }
        interrupted(v, py) -> Option<enlist::ImportInterruption> { v.interrupted.clone()}
        /// The id the import's report is kept under (`Enlist.batch_report`).
        report_id(v, py) -> Option<String> { v.report_id.as_ref().map(ToString::to_string) }
        issued_count(v, py) -> usize { v.issued_count() }
        failed_count(v, py) -> usize { v.failed_count() }
    }

    /// The rows the file could not be read into, each made when read.
    #[getter]
    fn sheet_errors(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.sheet_errors[..], enlist::ImportRowError::clone)
    }

    /// The rows rejected before the batches ran, each made when read.
    #[getter]
    fn rejected_rows(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.rejected_rows[..], |r| PyImportRejection::from(r.clone()))
    }

    /// The report of each batch, each made when read.
    #[getter]
    fn batches(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.batches[..], |b| PyInviteReport::from(b.clone()))
    }

    /// The invitations issued, in file order, with their lines (each
    /// made when read).
    fn issued(slf: &Bound<'_, Self>) -> PyRows {
        let spots = issued_spots(&slf.get().inner);
        let owner = slf.clone().unbind();
        PyRows::new(spots.len(), move |py, n| {
            imported(&owner.get().inner, spots[n]).into_bound_py_any(py)
        })
    }

    /// Every rejected row, by line (each made when read).
    fn rejected(&self) -> PyRows {
        let all: Vec<enlist::ImportRejection> = self.inner.rejected().collect();
        PyRows::new(all.len(), move |py, n| {
            PyImportRejection::from(all[n].clone()).into_bound_py_any(py)
        })
    }

    /// The file line of recipient `index` of batch `batch`.
    fn line(&self, batch: usize, index: usize) -> Option<usize> {
        self.inner.line(batch, index)
    }

    /// The report as CSV, one row per line of the file. Holds no secrets.
    fn to_csv(&self) -> String {
        self.inner.to_csv()
    }

    fn __iter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyIterator>> {
        /// One row of the file, by where its record is.
        enum Row {
            Issued((usize, usize, usize)),
            Rejected(enlist::ImportRejection),
            Unreadable(usize),
        }
        let report = &slf.get().inner;
        // By line; a stable sort keeps issued, rejected, then unreadable
        // rows of one line in that order, as when the rows were built
        // up front.
        let mut rows: Vec<(usize, Row)> = Vec::new();
        rows.extend(issued_spots(report).into_iter().map(|spot| (spot.0, Row::Issued(spot))));
        rows.extend(report.rejected().map(|r| (r.line, Row::Rejected(r))));
        rows.extend(report.sheet_errors.iter().enumerate().map(|(i, e)| (e.line, Row::Unreadable(i))));
        rows.sort_by_key(|(line, _)| *line);
        let owner = slf.clone().unbind();
        let rows = PyRows::new(rows.len(), move |py, n| {
            let report = &owner.get().inner;
            match &rows[n].1 {
                Row::Issued(spot) => imported(report, *spot).into_bound_py_any(py),
                Row::Rejected(r) => PyImportRejection::from(r.clone()).into_bound_py_any(py),
                Row::Unreadable(i) => report.sheet_errors[*i].clone().into_bound_py_any(py),
            }
        });
        rows_iter(slf.py(), rows)
    }
}

// ---------------------------------------------------------------------------
// Audit trail
// ---------------------------------------------------------------------------

record! {
    /// Who performs a command: pass an `Actor`, a member id, or a `Member`
    /// as `actor=`.
    ///
    /// `Actor.system()` is the host application itself (allowed
    /// everything); `Actor.member(id)` a member, authorized by role;
    /// `Actor.account(user_ref)` and `Actor.anonymous()` appear in the audit
    /// trail for invitees.
    "Actor" PyActor(enlist::Actor) repr("kind", "id") {
        kind(v, py) -> Bound<'py, PyAny> { tagged(py, v, "type", "ActorKind")?.0 }
        /// The member id or the account's user_ref; `None` otherwise.
        id(v, py) -> Option<Bound<'py, PyAny>> { tagged(py, v, "type", "ActorKind")?.1.get_item("id")? }
    }

    /// The host application itself: allowed everything.
    #[staticmethod]
    fn system() -> Self {
        enlist::Actor::System.into()
    }

    /// A member, authorized by role and group roles.
    #[staticmethod]
    fn member(member: enlist::MemberId) -> Self {
        enlist::Actor::Member(member).into()
    }

    /// A person acting on their own invitation: the host's account id.
    #[staticmethod]
    fn account(user_ref: String) -> Self {
        enlist::Actor::Account(user_ref).into()
    }

    /// Someone holding an invitation's secret without an account.
    #[staticmethod]
    fn anonymous() -> Self {
        enlist::Actor::Anonymous.into()
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }
}

record! {
    /// One entry of the audit trail. `kind` says what happened; `data`
    /// holds the facts (as plain Python data).
    "Event" PyEvent(enlist::Event) repr("seq", "kind", "actor") {
        org_id(v, py) -> String { v.org_id.to_string() }
        seq(v, py) -> u64 { v.seq }
        at(v, py) -> DateTime<Utc> { v.at }
        actor(v, py) -> PyActor { v.actor.clone().into() }
        kind(v, py) -> Bound<'py, PyAny> { tagged(py, &v.kind, "type", "EventKind")?.0 }
        data(v, py) -> Bound<'py, PyDict> { tagged(py, &v.kind, "type", "EventKind")?.1 }
    }
}

// ---------------------------------------------------------------------------
// The outbox worker
// ---------------------------------------------------------------------------

page! {
    /// One page of membership requests, oldest first; iterate it, and
    /// pass `next_cursor` as `after` for the next page.
    "MembershipRequestPage" PyMembershipRequestPage(enlist::MembershipRequest)
}

page! {
    /// One page of dead letters (messages failed for good), newest first;
    /// iterate it, and pass `next_cursor` as `after` for the next page.
    "DeadLetterPage" PyDeadLetterPage(enlist::DeadLetter)
}

// ---------------------------------------------------------------------------
// Batch reports
// ---------------------------------------------------------------------------

record! {
    /// One row of a batch report: a recipient, a line of an import file or
    /// a target of a bulk action.
    "ReportRow" PyReportRow(enlist::ReportRow) repr("line", "contact", "outcome") {
        line(v, py) -> u64 { v.line }
        target_id(v, py) -> Option<enlist::Text> { v.target_id.clone() }
        contact(v, py) -> enlist::Text { v.contact.clone() }
        first_name(v, py) -> Option<String> { v.first_name.clone() }
        last_name(v, py) -> Option<String> { v.last_name.clone() }
        role(v, py) -> Option<enlist::Text> { v.role.clone() }
        groups(v, py) -> Vec<String> { v.groups.clone() }
        outcome(v, py) -> enlist::RowOutcome { v.outcome }
        error_code(v, py) -> Option<String> { v.error_code.clone() }
        error_message(v, py) -> Option<String> { v.error_message.clone() }
    }
}

record! {
    /// The report kept for one bulk command (invite, staged send, import,
    /// bulk action): its Invitations report (what was done) and its Errors
    /// report (what was refused, and why), each as CSV text or XLSX bytes.
    /// Holds no secrets.
    "BatchReport" PyBatchReport(enlist::BatchReport) repr("batch_id", "kind", "rows") {
        batch_id(v, py) -> String { v.batch_id.to_string() }
        org_id(v, py) -> String { v.org_id.to_string() }
        kind(v, py) -> enlist::ReportKind { v.kind }
        created_at(v, py) -> DateTime<Utc> { v.created_at }
        actor(v, py) -> PyActor { v.actor.clone().into() }
    }

    /// Its rows, each made when read.
    #[getter]
    fn rows(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::of(slf, |r| &r.inner.rows[..], |r| PyReportRow::from(r.clone()))
    }

    /// The rows of the Invitations report, each made when read.
    fn invitations(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::filtered(
            slf,
            |r| &r.inner.rows[..],
            |r| !r.outcome.is_error(),
            |r| PyReportRow::from(r.clone()),
        )
    }

    /// The rows of the Errors report, each made when read.
    fn errors(slf: &Bound<'_, Self>) -> PyRows {
        PyRows::filtered(
            slf,
            |r| &r.inner.rows[..],
            |r| r.outcome.is_error(),
            |r| PyReportRow::from(r.clone()),
        )
    }

    /// The Invitations report as CSV.
    fn invitations_csv(&self) -> String {
        self.inner.invitations_csv()
    }

    /// The Errors report as CSV.
    fn errors_csv(&self) -> String {
        self.inner.errors_csv()
    }

    /// The Invitations report as an XLSX workbook.
    fn invitations_xlsx<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let bytes = self.inner.invitations_xlsx().or_raise(py)?;
        Ok(pyo3::types::PyBytes::new(py, &bytes))
    }

    /// The Errors report as an XLSX workbook.
    fn errors_xlsx<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        let bytes = self.inner.errors_xlsx().or_raise(py)?;
        Ok(pyo3::types::PyBytes::new(py, &bytes))
    }

    fn __len__(&self) -> usize {
        self.inner.rows.len()
    }
}

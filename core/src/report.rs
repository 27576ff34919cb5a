//! Batch reports: what one bulk command did, row by row, kept by the store
//! and downloadable again later as two files (seed 000's "Summary and
//! reports" step):
//!
//! - the **Invitations report**: the rows that were done (invitations
//!   issued, staged or sent; for a bulk action, the members or invitations
//!   it changed);
//! - the **Errors report**: the rows that were refused, with the reason's
//!   stable code and its message for people.
//!
//! Each is a CSV file ([`BatchReport::invitations_csv`],
//! [`BatchReport::errors_csv`]) and an XLSX workbook
//! ([`BatchReport::invitations_xlsx`], [`BatchReport::errors_xlsx`]).
//!
//! A report never holds a secret: no accept token, no link, no access code
//! (rows carry the invitation's id, its contact and names). Every cell,
//! CSV or XLSX, goes through one rule against formula injection (a cell a
//! spreadsheet would read as a formula gets a `'` in front, see
//! `engine::neutralize_cell`), and XLSX cells are always written as text.
//!
//! ```
//! use enlist::{Actor, BatchReport, CreatedOrganization, Enlist, InviteRequest, NewOrganization, Recipients};
//! let engine = Enlist::in_memory();
//! let CreatedOrganization { organization: org, owner, .. } =
//!     engine.create_organization(NewOrganization::new("Acme", "owner-1", "ada@acme.test"))?;
//! let admin = Actor::Member(owner.id.clone());
//! let sent = engine.invite(&org.id, &admin,
//!     InviteRequest::new(Recipients::Paste("bob@acme.test, not-an-address".into())))?;
//! // Later, on the summary page (or a week later):
//! let report: BatchReport = engine.batch_report(&org.id, &admin, &sent.batch_id)?;
//! assert_eq!(report.invitations().count(), 1);
//! assert_eq!(report.errors().count(), 1);
//! assert!(report.errors_csv().contains("invalid_address"));
//! let xlsx: Vec<u8> = report.invitations_xlsx()?;
//! assert!(xlsx.starts_with(b"PK"));
//! # Ok::<(), enlist::Error>(())
//! ```

use crate::engine::{csv_row, neutralize_cell};
use crate::error::{Error, Result};
use crate::event::Actor;
use crate::id::{BatchId, OrgId};
use crate::text::Text;
use crate::wire_names;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// At most this many rows in one kept report: the largest batch a policy
/// allows, or the largest import file (a row per line). Rows past it are
/// not kept (the command itself is not limited by it: its own limits are
/// lower).
pub const MAX_REPORT_ROWS: usize = 10_000;

/// At most this many characters in one cell of a kept report; longer text
/// (a pasted fragment, an error message) is cut, ending with `…`.
pub const MAX_REPORT_CELL_CHARS: usize = 1000;

/// Which command a report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ReportKind {
    /// [`Enlist::invite`](crate::Enlist::invite): a paste, a list or a form.
    Invite,
    /// [`Enlist::send_staged`](crate::Enlist::send_staged).
    SendStaged,
    /// [`Enlist::import_invitations`](crate::Enlist::import_invitations):
    /// every batch of one file, rows by file line.
    Import,
    /// A bulk action over a selection of members or invitations (remove,
    /// deactivate, resend, ...): one row per target.
    BulkAction,
}

wire_names! {
    ReportKind {
        Invite => "invite",
        SendStaged => "send_staged",
        Import => "import",
        BulkAction => "bulk_action",
    }
}

/// What happened to one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RowOutcome {
    /// An invitation was issued and its email queued.
    Issued,
    /// An invitation was saved without being sent.
    Staged,
    /// A staged invitation was sent.
    Sent,
    /// A bulk action was done on the target.
    Done,
    /// Refused: the row's `error_code` and `error_message` say why.
    Rejected,
    /// An import row that could not be read.
    Unreadable,
    /// An import row left out because its batch failed: import it again.
    NotProcessed,
}

wire_names! {
    RowOutcome {
        Issued => "issued",
        Staged => "staged",
        Sent => "sent",
        Done => "done",
        Rejected => "rejected",
        Unreadable => "unreadable",
        NotProcessed => "not_processed",
    }
}

impl RowOutcome {
    /// Whether the row belongs in the Errors report (refused, unreadable,
    /// not processed) rather than the Invitations report.
    pub fn is_error(self) -> bool {
        matches!(
            self,
            RowOutcome::Rejected | RowOutcome::Unreadable | RowOutcome::NotProcessed
        )
    }
}

/// One row of a [`BatchReport`]: a recipient of an invitation batch, a line
/// of an import file, or a target of a bulk action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReportRow {
    /// The line of the import file; for other commands the row's 1-based
    /// position in the request.
    pub line: u64,
    /// What the row is about, once known: the invitation's id (invites,
    /// sends, imports) or the member's or invitation's id (bulk actions).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub target_id: Option<Text>,
    /// The contact (email address or identifier), or the row as given when
    /// it could not be read as one. Never a secret.
    pub contact: Text,
    /// First name, if known.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub first_name: Option<String>,
    /// Last name, if known.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub last_name: Option<String>,
    /// The organization role given (or asked for).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<Text>,
    /// The groups, by name, as the import file writes them
    /// (`Sales:owner` for a group owner).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub groups: Vec<String>,
    /// What happened.
    pub outcome: RowOutcome,
    /// Why it was refused: a stable code (`invalid_address`,
    /// `already_member`, `invitation_not_open`, ...).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub error_code: Option<String>,
    /// Why it was refused, for people.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub error_message: Option<String>,
}

impl ReportRow {
    /// A row with only its line, contact and outcome; set the rest with
    /// the builder methods.
    pub fn new(line: u64, contact: impl Into<Text>, outcome: RowOutcome) -> Self {
        Self {
            line,
            target_id: None,
            contact: cut_text(contact.into()),
            first_name: None,
            last_name: None,
            role: None,
            groups: Vec::new(),
            outcome,
            error_code: None,
            error_message: None,
        }
    }

    /// Sets the target (an invitation or member id).
    pub fn target(mut self, id: impl Into<Text>) -> Self {
        self.target_id = Some(cut_text(id.into()));
        self
    }

    /// Sets the names.
    pub fn names(mut self, first: Option<String>, last: Option<String>) -> Self {
        self.first_name = first.map(cut);
        self.last_name = last.map(cut);
        self
    }

    /// Sets the role and groups.
    pub fn grants(mut self, role: Option<Text>, groups: Vec<String>) -> Self {
        self.role = role.map(cut_text);
        self.groups = groups.into_iter().map(cut).collect();
        self
    }

    /// Sets the error (code and message).
    pub fn error(mut self, code: impl Into<String>, message: impl Into<String>) -> Self {
        self.error_code = Some(cut(code.into()));
        self.error_message = Some(cut(message.into()));
        self
    }
}

/// [`cut`] for a shared text: itself when short enough (no copy).
fn cut_text(t: Text) -> Text {
    if t.len() <= MAX_REPORT_CELL_CHARS {
        return t;
    }
    Text::from(cut(t.into_string()))
}

/// Cuts a cell to [`MAX_REPORT_CELL_CHARS`] characters.
fn cut(s: String) -> String {
    // No more bytes than the limit: no more characters either, and nothing
    // to count (every cell of a usual report).
    if s.len() <= MAX_REPORT_CELL_CHARS {
        return s;
    }
    match s.char_indices().nth(MAX_REPORT_CELL_CHARS) {
        Some((i, _)) => {
            let mut s = s[..i].to_owned();
            s.pop();
            s.push('…');
            s
        }
        None => s,
    }
}

/// The report of one bulk command, as the store keeps it: fetch it again
/// with [`Enlist::batch_report`](crate::Enlist::batch_report) by its batch
/// id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BatchReport {
    /// The batch: the invite's batch id, a send's own id, an import's first
    /// batch id (see [`ImportReport::report_id`](crate::ImportReport::report_id)).
    pub batch_id: BatchId,
    /// The organization.
    pub org_id: OrgId,
    /// The command.
    pub kind: ReportKind,
    /// When the command ran.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub created_at: DateTime<Utc>,
    /// Who ran it.
    pub actor: Actor,
    /// One row per recipient, line or target, in input order.
    pub rows: Vec<ReportRow>,
}

/// The columns of the Invitations report.
const INVITATION_COLUMNS: [&str; 8] = [
    "line",
    "contact",
    "first_name",
    "last_name",
    "role",
    "groups",
    "outcome",
    "id",
];

/// The columns of the Errors report.
const ERROR_COLUMNS: [&str; 8] = [
    "line",
    "contact",
    "first_name",
    "last_name",
    "role",
    "groups",
    "error_code",
    "error",
];

impl BatchReport {
    /// A report with no rows yet.
    pub fn new(
        batch_id: BatchId,
        org_id: OrgId,
        kind: ReportKind,
        created_at: DateTime<Utc>,
        actor: Actor,
    ) -> Self {
        Self {
            batch_id,
            org_id,
            kind,
            created_at,
            actor,
            rows: Vec::new(),
        }
    }

    /// Adds a row, unless the report already holds [`MAX_REPORT_ROWS`].
    pub fn push(&mut self, row: ReportRow) {
        if self.rows.len() < MAX_REPORT_ROWS {
            self.rows.push(row);
        }
    }

    /// Adds `rows` in their order, as [`push`](Self::push) does one by one
    /// (those past [`MAX_REPORT_ROWS`] are left out), growing the list once:
    /// a report taken whole when the list is empty, not copied.
    pub(crate) fn extend_rows(&mut self, mut rows: Vec<ReportRow>) {
        rows.truncate(MAX_REPORT_ROWS.saturating_sub(self.rows.len()));
        if self.rows.is_empty() {
            self.rows = rows;
        } else {
            self.rows.append(&mut rows);
        }
    }

    /// The rows of the Invitations report: what was done.
    pub fn invitations(&self) -> impl Iterator<Item = &ReportRow> + '_ {
        self.rows.iter().filter(|r| !r.outcome.is_error())
    }

    /// The rows of the Errors report: what was refused, and why.
    pub fn errors(&self) -> impl Iterator<Item = &ReportRow> + '_ {
        self.rows.iter().filter(|r| r.outcome.is_error())
    }

    /// The Invitations report as CSV
    /// (`line,contact,first_name,last_name,role,groups,outcome,id`).
    pub fn invitations_csv(&self) -> String {
        to_csv(
            &INVITATION_COLUMNS,
            self.invitations().map(invitation_cells),
        )
    }

    /// The Errors report as CSV
    /// (`line,contact,first_name,last_name,role,groups,error_code,error`).
    pub fn errors_csv(&self) -> String {
        to_csv(&ERROR_COLUMNS, self.errors().map(error_cells))
    }

    /// The Invitations report as an XLSX workbook (one sheet,
    /// `Invitations`, the CSV's columns). Fails only if the workbook
    /// writer does (never for text within the bounds above), as an
    /// [`Error::Store`] carrying the writer's error.
    pub fn invitations_xlsx(&self) -> Result<Vec<u8>> {
        to_xlsx(
            "Invitations",
            &INVITATION_COLUMNS,
            self.invitations().map(invitation_cells),
        )
    }

    /// The Errors report as an XLSX workbook (one sheet, `Errors`, the
    /// CSV's columns).
    pub fn errors_xlsx(&self) -> Result<Vec<u8>> {
        to_xlsx("Errors", &ERROR_COLUMNS, self.errors().map(error_cells))
    }
}

fn common_cells(r: &ReportRow) -> Vec<String> {
    vec![
        r.line.to_string(),
        r.contact.to_string(),
        r.first_name.clone().unwrap_or_default(),
        r.last_name.clone().unwrap_or_default(),
        r.role.as_deref().unwrap_or_default().to_owned(),
        r.groups.join("; "),
    ]
}

fn invitation_cells(r: &ReportRow) -> Vec<String> {
    let mut cells = common_cells(r);
    cells.push(r.outcome.as_str().to_owned());
    cells.push(r.target_id.as_deref().unwrap_or_default().to_owned());
    cells
}

fn error_cells(r: &ReportRow) -> Vec<String> {
    let mut cells = common_cells(r);
    cells.push(r.error_code.clone().unwrap_or_default());
    cells.push(r.error_message.clone().unwrap_or_default());
    cells
}

/// The one CSV writer of the reports ([`csv_row`], the writer of every
/// other report of the crate).
fn to_csv(columns: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut out = columns.join(",");
    out.push('\n');
    for cells in rows {
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        out.push_str(&csv_row(&cells));
        out.push('\n');
    }
    out
}

pub(crate) fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Store(crate::error::StoreError::other(e))
}

/// One sheet of text cells: the header in bold, every cell through
/// [`neutralize_cell`] and written as a string, never as a formula.
fn to_xlsx(
    sheet: &str,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet).map_err(xlsx_error)?;
    let bold = Format::new().set_bold();
    for (c, name) in columns.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        ws.write_string_with_format(0, c, *name, &bold)
            .map_err(xlsx_error)?;
    }
    for (r, cells) in rows.enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in cells.iter().enumerate() {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            ws.write_string(r, c, neutralize_cell(cell))
                .map_err(xlsx_error)?;
        }
    }
    ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    wb.save_to_buffer().map_err(xlsx_error)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::id::MemberId;

    /// Every cell of the first sheet, as text.
    pub(crate) fn cells_of(xlsx: &[u8]) -> Vec<Vec<String>> {
        use calamine::{Reader, Xlsx};
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx.to_vec())).expect("xlsx");
        let range = wb
            .worksheet_range_at(0)
            .expect("a sheet")
            .expect("readable");
        range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    fn sample() -> BatchReport {
        let mut r = BatchReport::new(
            BatchId::from("bat_1"),
            OrgId::from("org_1"),
            ReportKind::Invite,
            DateTime::from_timestamp(1_700_000_000, 0).expect("time"),
            Actor::Member(MemberId::from("mem_1")),
        );
        r.push(
            ReportRow::new(1, "bob@acme.test", RowOutcome::Issued)
                .target("inv_1")
                .names(Some("Bob".into()), Some("Smith".into()))
                .grants(
                    Some("member".into()),
                    vec!["Sales:owner".into(), "Support".into()],
                ),
        );
        r.push(
            ReportRow::new(2, "=HYPERLINK(\"http://evil\")", RowOutcome::Rejected)
                .names(Some("+Eve".into()), None)
                .error("invalid_address", "invalid address: no @"),
        );
        r
    }

    #[test]
    fn two_views_split_by_outcome() {
        let r = sample();
        assert_eq!(r.invitations().count(), 1);
        assert_eq!(r.errors().count(), 1);
        let inv = r.invitations_csv();
        assert_eq!(
            inv,
            "line,contact,first_name,last_name,role,groups,outcome,id\n\
             1,bob@acme.test,Bob,Smith,member,\"Sales:owner; Support\",issued,inv_1\n"
        );
        let err = r.errors_csv();
        assert!(
            err.starts_with("line,contact,first_name,last_name,role,groups,error_code,error\n")
        );
        assert!(err.contains("invalid_address"));
        assert!(!err.contains("bob@acme.test"));
    }

    #[test]
    fn csv_and_xlsx_cells_never_start_a_formula() {
        let r = sample();
        let csv = r.errors_csv();
        // The one rule of every CSV report: a `'` in front.
        assert!(
            csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
            "{csv}"
        );
        assert!(csv.contains(",'+Eve,"), "{csv}");
        // The workbook holds the same neutralized text, as strings.
        let xlsx = r.errors_xlsx().expect("xlsx");
        let sheet = cells_of(&xlsx);
        let cells: Vec<&str> = sheet[1].iter().map(String::as_str).collect();
        assert_eq!(cells[1], "'=HYPERLINK(\"http://evil\")");
        assert_eq!(cells[2], "'+Eve");
        assert!(
            !sheet
                .iter()
                .flatten()
                .any(|c| c.starts_with(['=', '+', '-', '@']))
        );
    }

    #[test]
    fn rows_and_cells_are_bounded() {
        let mut r = sample();
        for i in 0..MAX_REPORT_ROWS + 5 {
            r.push(ReportRow::new(i as u64, "x", RowOutcome::Done));
        }
        assert_eq!(r.rows.len(), MAX_REPORT_ROWS);
        // Rows added together keep the same bound and order, whether the
        // report was empty (the list taken whole) or not (appended).
        let rows = |from: u64, n: u64| -> Vec<ReportRow> {
            (from..from + n)
                .map(|i| ReportRow::new(i, "x", RowOutcome::Done))
                .collect()
        };
        let mut empty = BatchReport {
            rows: Vec::new(),
            ..sample()
        };
        empty.extend_rows(rows(0, MAX_REPORT_ROWS as u64 + 7));
        assert_eq!(empty.rows.len(), MAX_REPORT_ROWS);
        let mut some = sample();
        let before = some.rows.len();
        some.extend_rows(rows(100, 3));
        assert_eq!(some.rows.len(), before + 3);
        assert_eq!(
            some.rows[before..]
                .iter()
                .map(|r| r.line)
                .collect::<Vec<_>>(),
            [100, 101, 102]
        );
        some.extend_rows(rows(0, MAX_REPORT_ROWS as u64));
        assert_eq!(some.rows.len(), MAX_REPORT_ROWS);
        assert_eq!(some.rows[before + 3].line, 0);
        let long =
            ReportRow::new(1, "é".repeat(5000), RowOutcome::Rejected).error("c", "m".repeat(9000));
        assert_eq!(long.contact.chars().count(), MAX_REPORT_CELL_CHARS);
        assert!(long.contact.ends_with('…'));
        assert_eq!(
            long.error_message.as_deref().map(|m| m.chars().count()),
            Some(MAX_REPORT_CELL_CHARS)
        );
    }

    #[test]
    fn a_cell_is_cut_by_characters_not_bytes() {
        let max = MAX_REPORT_CELL_CHARS;
        // At the limit, in one-byte and in two-byte characters: kept whole
        // (the second is past the limit in bytes).
        for full in ["a".repeat(max), "é".repeat(max)] {
            assert_eq!(cut(full.clone()), full);
        }
        // One character more: cut to the limit, the last one an ellipsis.
        for over in ["a".repeat(max + 1), "é".repeat(max + 1)] {
            let c = cut(over.clone());
            assert_eq!(c.chars().count(), max);
            assert!(c.ends_with('…'));
            assert!(over.starts_with(c.trim_end_matches('…')));
        }
        assert_eq!(cut(String::new()), "");
    }
}

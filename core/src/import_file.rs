//! Bulk invitations from a spreadsheet: the "Excel file template" of the
//! help pages, filled in with one future user per row, by email or (for
//! people without email) by identifier.
//!
//! This module only reads the file: it takes bytes (no I/O), finds the
//! columns by their header, and turns each row into a [`RecipientInput`]
//! with its line number. Nothing is validated here beyond trimming; the
//! engine validates each row when it imports the sheet
//! ([`Enlist::import_invitations`](crate::Enlist::import_invitations)),
//! resolves group names, and reports every row by its line.
//!
//! ```
//! use enlist::{ImportFormat, ImportLimits, parse_import};
//! let csv = "\u{feff}E-mail;Prénom;Surname;Groups\nada@acme.test;Ada;Lovelace;Sales:owner, Support\n";
//! let sheet = parse_import(csv.as_bytes(), ImportFormat::Csv, &ImportLimits::default())?;
//! assert_eq!(sheet.rows[0].line, 2);
//! assert_eq!(sheet.rows[0].input.email.as_deref(), Some("ada@acme.test"));
//! assert_eq!(sheet.rows[0].input.last_name.as_deref(), Some("Lovelace"));
//! assert_eq!(sheet.rows[0].groups.len(), 2);
//! assert_eq!(sheet.ignored_columns, ["Prénom"]);
//! # Ok::<(), enlist::Error>(())
//! ```
//!
//! # Columns
//!
//! The first non-empty row names the columns. Names are matched ignoring
//! case, spaces and punctuation, with these aliases:
//!
//! | field | accepted headers |
//! | --- | --- |
//! | email | `email`, `e-mail`, `mail`, `email address` |
//! | identifier | `identifier`, `id`, `phone`, `phone number`, `personnel number`, `employee id` |
//! | first name | `first name`, `firstname`, `given name` |
//! | last name | `last name`, `lastname`, `surname`, `family name` |
//! | display name | `display name`, `name`, `full name` |
//! | role | `role` |
//! | kind | `kind`, `type` (`member` or `guest`) |
//! | groups | `groups`, `group` (names separated by `;` or `,`; `Sales:owner` makes the person an owner of *Sales*) |
//! | license type | `license`, `license type`, `licence` |
//! | active | `active`, `active user`, `enabled` (`yes`/`no`, `true`/`false`, `1`/`0`, `x`) |
//! | department | `department`, `dept` (the `department` attribute) |
//! | job title | `job title`, `title`, `position` (the `job_title` attribute) |
//! | locale | `locale`, `language`, `lang` (a BCP 47 tag such as `de` or `fr-CA`: the language of the email) |
//! | expires in days | `expires in days`, `expires in`, `valid days` (whole days, 1 to 366: the invitation's own lifetime, within the policy's bounds) |
//!
//! Either an email or an identifier column is required; other unknown
//! columns are ignored and listed in [`ImportSheet::ignored_columns`].
//!
//! # Formats
//!
//! - CSV: UTF-8 with or without a byte-order mark, separated by `,`, `;` or
//!   tabs (guessed from the header line), quoted the usual way.
//! - XLSX: the first visible worksheet. Numbers come out without a trailing
//!   `.0` (so personnel numbers and phone numbers survive) and dates as
//!   `YYYY-MM-DD` (a birthday can be an identifier). A cell holding a
//!   spreadsheet error (`#N/A`, `#REF!`, ...) makes its row an error rather
//!   than a recipient.
//!
//! # Hostile files
//!
//! An upload is untrusted: whatever its bytes, [`parse_import`] returns a
//! sheet or an error, in memory and time bounded by [`ImportLimits`] (the
//! organization's [`Policy`] in [`Enlist::import_invitations`](crate::Enlist::import_invitations),
//! [`ImportLimits::default`] otherwise). In this order, before any cell is
//! read:
//!
//! 1. the file's size ([`LimitKind::ImportBytes`]);
//! 2. XLSX: the zip directory, that is the number of entries
//!    ([`LimitKind::ImportEntries`]), the unpacked size they declare
//!    ([`LimitKind::ImportUnpackedBytes`]) and how many times its packed
//!    size each declares to unpack to ([`LimitKind::ImportRatio`]);
//! 3. XLSX: every entry is then unpacked once through a bounded reader, so
//!    an entry that unpacks to more than it declares (a lying directory) is
//!    refused, as is a total past the limit, before the workbook parser
//!    reads anything;
//! 4. XLSX: the numbers the workbook parser trusts are checked against
//!    what the file holds: the shared-strings count it reserves memory
//!    for, and the cell references of the worksheets (beyond Excel's grid,
//!    `A1:XFD1048576`, they overflow its arithmetic).
//!
//! CSV is read without copying the file, one record at a time into a
//! buffer of at most 1 MiB and 16,384 fields, Excel's own column count.
//!
//! Each refusal is an [`Error::LimitExceeded`] or an [`Error::InvalidInput`]
//! on the field `file`, whose message says what to do ("save only the
//! sheet with the people to invite").

use crate::engine::RecipientInput;
use crate::error::{Error, LimitKind, Result};
use crate::member::MemberKind;
use crate::policy::{DEFAULT_LICENSE, Policy};
use crate::role::{GroupRole, builtin};
use crate::wire_names;
use serde::{Deserialize, Serialize};

/// The kind of file being imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ImportFormat {
    /// Comma-, semicolon- or tab-separated values, UTF-8.
    Csv,
    /// An Excel workbook (Office Open XML, `.xlsx`).
    Xlsx,
}

wire_names! {
    ImportFormat {
        Csv => "csv",
        Xlsx => "xlsx",
    }
}

impl ImportFormat {
    /// The format a file name's extension suggests (`.csv`, `.txt`, `.tsv`,
    /// `.xlsx`, `.xlsm`), ignoring case.
    ///
    /// ```
    /// use enlist::ImportFormat;
    /// assert_eq!(ImportFormat::from_file_name("Users.XLSX"), Some(ImportFormat::Xlsx));
    /// assert_eq!(ImportFormat::from_file_name("users.csv"), Some(ImportFormat::Csv));
    /// assert_eq!(ImportFormat::from_file_name("users.xls"), None);
    /// ```
    pub fn from_file_name(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "txt" | "tsv" => Some(ImportFormat::Csv),
            "xlsx" | "xlsm" => Some(ImportFormat::Xlsx),
            _ => None,
        }
    }
}

/// A group named in a row's groups cell, to be resolved by the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct ImportGroup {
    /// The group's name as written (trimmed).
    pub name: String,
    /// The role in the group: [`GroupRole::Owner`] when written
    /// `Name:owner` (or `:admin`), [`GroupRole::Member`] otherwise.
    pub role: GroupRole,
}

/// One person to invite, read from one row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct ImportRow {
    /// The row's number in the file, 1-based, the header being row 1 when
    /// it is the first line: the line a CSV record starts on, or the
    /// worksheet's row number.
    pub line: usize,
    /// The row's fields, trimmed; empty cells are `None`. Its `groups` is
    /// always `None`: the group names are in [`ImportRow::groups`].
    pub input: RecipientInput,
    /// The groups named in the row (empty: the import's default groups).
    pub groups: Vec<ImportGroup>,
    /// The row's Active cell, if filled in: whether the person's account
    /// is in use (a bulk update activates or deactivates members by it).
    #[serde(default)]
    pub active: Option<bool>,
}

/// A row that could not be read as a recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct ImportRowError {
    /// The row's number in the file (see [`ImportRow::line`]).
    pub line: usize,
    /// What is wrong, for the person who filled in the file.
    pub message: String,
}

impl std::fmt::Display for ImportRowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A file read by [`parse_import`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, module = "enlist._enlist")
)]
pub struct ImportSheet {
    /// The recipients, in file order (empty rows skipped).
    pub rows: Vec<ImportRow>,
    /// Rows that could not be read (an unknown kind, a spreadsheet error in
    /// a cell), in file order.
    pub errors: Vec<ImportRowError>,
    /// The headers of the columns that were not recognized, as written.
    pub ignored_columns: Vec<String>,
}

/// The limits an import file is read under: the rows of
/// [`Policy::max_import_rows`] and the size limits of the policy's
/// `max_import_*` fields (see the [module docs](crate::import_file)).
///
/// ```
/// use enlist::{ImportLimits, Policy};
/// let mut limits = ImportLimits::default();
/// assert_eq!(limits, ImportLimits::from(&Policy::default()));
/// assert_eq!(limits.max_rows, 500);
/// limits.max_rows = 50;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImportLimits {
    /// Rows to invite, after the header ([`Policy::max_import_rows`]).
    pub max_rows: u32,
    /// Bytes of the file as given ([`Policy::max_import_bytes`]).
    pub max_bytes: u64,
    /// XLSX: entries of the zip archive ([`Policy::max_import_entries`]).
    pub max_entries: u32,
    /// XLSX: bytes of all entries unpacked
    /// ([`Policy::max_import_unpacked_bytes`]).
    pub max_unpacked_bytes: u64,
    /// XLSX: unpacked size over packed size of an entry of more than 1 MiB
    /// ([`Policy::max_import_ratio`]).
    pub max_ratio: u32,
}

impl From<&Policy> for ImportLimits {
    fn from(p: &Policy) -> Self {
        Self {
            max_rows: p.max_import_rows,
            max_bytes: p.max_import_bytes,
            max_entries: p.max_import_entries,
            max_unpacked_bytes: p.max_import_unpacked_bytes,
            max_ratio: p.max_import_ratio,
        }
    }
}

impl Default for ImportLimits {
    /// The limits of [`Policy::default`].
    fn default() -> Self {
        Self::from(&Policy::default())
    }
}

/// Reads an import file, within `limits`.
///
/// Errors, with nothing else read: [`Error::LimitExceeded`] when the file
/// is larger than [`ImportLimits::max_bytes`] ([`LimitKind::ImportBytes`]),
/// or for an XLSX archive with too many entries, too many bytes unpacked
/// or too high a compression ratio (see the [module docs](crate::import_file));
/// [`Error::LimitExceeded`] with [`LimitKind::ImportRows`] when the file has
/// more than [`ImportLimits::max_rows`] non-empty rows after the header
/// (checked before anything else about the rows); [`Error::InvalidInput`]
/// (field `file`) when the bytes are not a readable file of that format
/// (including an archive whose entries unpack to more than they declare,
/// a shared-strings count larger than the strings present, a cell
/// reference outside Excel's grid, a CSV record over 1 MiB), when there is
/// no header row, when the header names neither an email nor an identifier
/// column, or when two columns name the same field.
pub fn parse_import(
    bytes: &[u8],
    format: ImportFormat,
    limits: &ImportLimits,
) -> Result<ImportSheet> {
    limits.check_file_size(bytes.len())?;
    let table = match format {
        ImportFormat::Csv => read_csv(bytes, limits.max_rows)?,
        ImportFormat::Xlsx => read_xlsx(bytes, limits)?,
    };
    build_sheet(table, limits.max_rows)
}

impl ImportLimits {
    /// The first check [`parse_import`] makes, on the file's length alone:
    /// a host can make it on an upload's declared length before reading
    /// the body. [`Error::LimitExceeded`] with [`LimitKind::ImportBytes`]
    /// when `len` is over [`ImportLimits::max_bytes`].
    ///
    /// ```
    /// let limits = enlist::ImportLimits::default();
    /// assert!(limits.check_file_size(200_000).is_ok());
    /// assert_eq!(limits.check_file_size(100 << 20).unwrap_err().code(), "limit_exceeded");
    /// ```
    pub fn check_file_size(&self, len: usize) -> Result<()> {
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        if len > self.max_bytes {
            return Err(Error::LimitExceeded {
                limit: LimitKind::ImportBytes,
                max: self.max_bytes,
                actual: len,
                detail: Some(format!(
                    "the file weighs {}, at most {} per import: save only the sheet with the people to invite, without pictures, or split the file",
                    human_bytes(len),
                    human_bytes(self.max_bytes)
                )),
            });
        }
        Ok(())
    }

    /// Refuses a file larger than any organization takes
    /// ([`MAX_IMPORT_BYTES`](crate::MAX_IMPORT_BYTES)), before any work
    /// (even before the actor is authorized).
    pub(crate) fn check_ceiling(len: usize) -> Result<()> {
        ImportLimits {
            max_bytes: crate::policy::IMPORT_BYTES_CEILING,
            ..ImportLimits::default()
        }
        .check_file_size(len)
    }
}

/// `3.5 MB`, `700 KB`, `12 bytes` (1 MB = 2^20 bytes).
fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    if n >= MIB {
        let tenths = n / (MIB / 10);
        if tenths % 10 == 0 {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else if n >= KIB {
        format!("{} KB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

/// The import template ("Excel file template"): the header row, one example
/// member invited by email and one example person without email invited
/// by identifier, as CSV that spreadsheets open directly.
///
/// ```
/// use enlist::{ImportFormat, ImportLimits, import_template_csv, parse_import};
/// let sheet = parse_import(import_template_csv().as_bytes(), ImportFormat::Csv, &ImportLimits::default())?;
/// assert_eq!(sheet.rows.len(), 2);
/// assert!(sheet.errors.is_empty() && sheet.ignored_columns.is_empty());
/// # Ok::<(), enlist::Error>(())
/// ```
pub fn import_template_csv() -> String {
    let lic = DEFAULT_LICENSE;
    let member = builtin::MEMBER;
    format!(
        "Email,Identifier,First name,Last name,Role,Kind,Groups,License\n\
         ada.lovelace@example.com,,Ada,Lovelace,{member},member,Sales:owner;Support,{lic}\n\
         ,+33 6 12 34 56 78,Bob,Martin,{member},member,Support,{lic}\n"
    )
}

/// The largest number of rows counted for a "too many rows" error; past it
/// the count says "at least".
const COUNT_CAP: u64 = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Email,
    Identifier,
    FirstName,
    LastName,
    DisplayName,
    Role,
    Kind,
    Groups,
    License,
    Active,
    Department,
    JobTitle,
    Locale,
    ExpiresInDays,
}

impl Field {
    const ALL: [Field; 14] = [
        Field::Email,
        Field::Identifier,
        Field::FirstName,
        Field::LastName,
        Field::DisplayName,
        Field::Role,
        Field::Kind,
        Field::Groups,
        Field::License,
        Field::Active,
        Field::Department,
        Field::JobTitle,
        Field::Locale,
        Field::ExpiresInDays,
    ];

    fn label(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::Identifier => "identifier",
            Field::FirstName => "first name",
            Field::LastName => "last name",
            Field::DisplayName => "display name",
            Field::Role => "role",
            Field::Kind => "kind",
            Field::Groups => "groups",
            Field::License => "license type",
            Field::Active => "active",
            Field::Department => "department",
            Field::JobTitle => "job title",
            Field::Locale => "locale",
            Field::ExpiresInDays => "expires in days",
        }
    }

    /// Header spellings, compared after [`header_key`].
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Email => &["email", "mail", "emailaddress", "mailaddress"],
            Field::Identifier => &[
                "identifier",
                "id",
                "phone",
                "phonenumber",
                "personnelnumber",
                "employeeid",
                "employeenumber",
            ],
            Field::FirstName => &["firstname", "givenname"],
            Field::LastName => &["lastname", "surname", "familyname"],
            Field::DisplayName => &["displayname", "name", "fullname"],
            Field::Role => &["role"],
            Field::Kind => &["kind", "type"],
            Field::Groups => &["groups", "group"],
            Field::License => &["license", "licensetype", "licence", "licencetype"],
            Field::Active => &["active", "activeuser", "enabled"],
            Field::Department => &["department", "dept"],
            Field::JobTitle => &["jobtitle", "title", "position"],
            Field::Locale => &["locale", "language", "lang"],
            Field::ExpiresInDays => &["expiresindays", "expiresin", "validdays"],
        }
    }

    fn of_header(text: &str) -> Option<Field> {
        let key = header_key(text);
        Field::ALL
            .into_iter()
            .find(|f| f.aliases().contains(&key.as_str()))
    }
}

/// Lowercase letters and digits only: `E-mail` and `e_mail ` both give
/// `email`.
fn header_key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A non-empty cell.
#[derive(Debug)]
enum Value {
    Text(String),
    /// A spreadsheet error such as `#N/A`.
    Error(String),
}

/// A non-empty row: its line and its non-empty cells by 0-based column.
#[derive(Debug)]
struct RawRow {
    line: usize,
    cells: Vec<(usize, Value)>,
}

/// What a reader hands over: the header, at most `max_rows` data rows, and
/// how many data rows the file has in all.
#[derive(Debug, Default)]
struct Table {
    header: Option<RawRow>,
    rows: Vec<RawRow>,
    total: u64,
    capped: bool,
}

impl Table {
    /// Adds a row (ignored when empty). Returns `false` once counting can
    /// stop.
    fn push(&mut self, row: RawRow, max_rows: u32) -> bool {
        if row.cells.is_empty() {
            return true;
        }
        if self.header.is_none() {
            self.header = Some(row);
            return true;
        }
        self.total += 1;
        if self.total <= u64::from(max_rows) {
            self.rows.push(row);
        }
        if self.total >= COUNT_CAP {
            self.capped = true;
            return false;
        }
        true
    }
}

fn file_error(reason: impl Into<String>) -> Error {
    Error::invalid("file", reason)
}

fn read_csv(bytes: &[u8], max_rows: u32) -> Result<Table> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(file_error(
            "this is an Excel (XLSX) file, not CSV: import it as XLSX",
        ));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(file_error(
            "the file is UTF-16 text: save it as \"CSV UTF-8\" and import it again",
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        file_error(format!(
            "the file is not UTF-8 text (byte {} is not): save it as \"CSV UTF-8\" and import it again",
            e.valid_up_to() + 1
        ))
    })?;
    let mut reader = csv_core::ReaderBuilder::new()
        .delimiter(sniff_delimiter(text))
        .build();
    let input = text.as_bytes();
    let mut table = Table::default();
    let mut lines = LineCounter::new(input);
    // The record being read: its unquoted bytes and where its fields end.
    // Both grow as needed, up to the bounds.
    let mut out = vec![0u8; 1 << 10];
    let mut ends = vec![0usize; 32];
    let mut at = 0usize;
    loop {
        let start = at;
        let (mut out_len, mut ends_len) = (0usize, 0usize);
        let last = loop {
            let rest = input.get(at..).unwrap_or_default();
            let (result, read, written, ended) = reader.read_record(
                rest,
                out.get_mut(out_len..).unwrap_or_default(),
                ends.get_mut(ends_len..).unwrap_or_default(),
            );
            at = at.saturating_add(read);
            out_len = out_len.saturating_add(written);
            ends_len = ends_len.saturating_add(ended);
            match result {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    // Full at one byte past the bound: the record is
                    // longer than the bound.
                    if out.len() > MAX_CSV_RECORD_BYTES {
                        return Err(file_error(format!(
                            "the row on line {} is longer than {} (a quote that is never closed?): a row to invite is a few hundred characters",
                            lines.line_at(start),
                            human_bytes(MAX_CSV_RECORD_BYTES as u64)
                        )));
                    }
                    let grown = out.len().saturating_mul(2);
                    out.resize(grown.min(MAX_CSV_RECORD_BYTES + 1), 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    if ends.len() >= MAX_COLUMNS {
                        return Err(file_error(format!(
                            "the row on line {} has more than {MAX_COLUMNS} columns",
                            lines.line_at(start)
                        )));
                    }
                    ends.resize(ends.len().saturating_mul(2).min(MAX_COLUMNS), 0);
                }
                csv_core::ReadRecordResult::Record => break false,
                csv_core::ReadRecordResult::End => break true,
            }
        };
        if last {
            break;
        }
        let line = lines.line_at(start);
        let mut cells = Vec::new();
        let mut field_start = 0usize;
        for (col, &end) in ends.get(..ends_len).unwrap_or_default().iter().enumerate() {
            let field = out.get(field_start..end).unwrap_or_default();
            field_start = end;
            // Fields are split at ASCII bytes of valid UTF-8: still UTF-8.
            let v = String::from_utf8_lossy(field);
            let v = v.trim();
            if !v.is_empty() {
                cells.push((col, Value::Text(v.to_owned())));
            }
        }
        if !table.push(RawRow { line, cells }, max_rows) {
            break;
        }
    }
    Ok(table)
}

/// The longest CSV record read, in bytes once unquoted.
const MAX_CSV_RECORD_BYTES: usize = 1 << 20;

/// The most cells of one row: Excel's column count (`A` to `XFD`).
const MAX_COLUMNS: usize = 16_384;

/// The most rows of a worksheet, as Excel counts them.
const MAX_SHEET_ROWS: u64 = 1_048_576;

/// Line numbers of CSV records. The csv crate's own line count skips some
/// blank lines and its byte offset may point into the line break before a
/// record, so the offset is moved past line breaks and the lines before it
/// are counted here (`\n`, `\r\n` and a lone `\r` each end a line).
struct LineCounter<'a> {
    text: &'a [u8],
    at: usize,
    line: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            at: 0,
            line: 1,
        }
    }

    /// The line of the record whose reported offset is `offset` (offsets
    /// come in increasing order).
    fn line_at(&mut self, offset: usize) -> usize {
        let mut start = offset.min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.at {
            for (i, b) in self.text[self.at..start].iter().enumerate() {
                let next = self.text.get(self.at + i + 1);
                if *b == b'\n' || (*b == b'\r' && next != Some(&b'\n')) {
                    self.line += 1;
                }
            }
            self.at = start;
        }
        self.line
    }
}

/// The separator of the first non-empty line: the most frequent of `,`,
/// `;` and tab outside quotes (`,` on a tie or when there is none).
fn sniff_delimiter(text: &str) -> u8 {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in first.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    [b',', b';', b'\t'][best]
}

fn read_xlsx(bytes: &[u8], limits: &ImportLimits) -> Result<Table> {
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(file_error(
            "this is an old Excel (.xls) file or a password-protected workbook: save it as .xlsx (without password) or CSV UTF-8",
        ));
    }
    if !bytes.starts_with(b"PK") {
        return Err(file_error(
            "not an XLSX file (it is not a zip archive): save the sheet as .xlsx, or import it as CSV",
        ));
    }
    check_package(bytes, limits)?;
    // Past the checks, calamine and its zip and XML parsers read bytes
    // whose every size is known: a panic left in them must still not take
    // the caller's thread down. (An allocation failure would: hence the
    // checks.)
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_xlsx_inner(bytes, limits.max_rows)
    }))
    .unwrap_or_else(|_| Err(file_error("the XLSX file is damaged and could not be read")))
}

/// An entry unpacking to at most this many bytes is exempt from the ratio
/// limit: small XML packs very well and costs nothing.
const RATIO_EXEMPT_BYTES: u64 = 1 << 20;

/// What calamine will do with an entry, by its name as calamine looks it
/// up (lowercase, `\` read as `/`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// `xl/sharedStrings.xml`: calamine reserves room for its `uniqueCount`.
    SharedStrings,
    /// Under `xl/worksheets/`: calamine parses its cell references.
    Worksheet,
    /// Anything else: unpacked to check its size only.
    Other,
}

impl Part {
    fn of(name: &str) -> Self {
        let name = name.replace('\\', "/").to_ascii_lowercase();
        if name == "xl/sharedstrings.xml" {
            Part::SharedStrings
        } else if name.starts_with("xl/worksheets/") {
            Part::Worksheet
        } else {
            Part::Other
        }
    }
}

/// Checks an XLSX archive before calamine opens it: the directory, then
/// every entry unpacked through a bounded reader, then the numbers in the
/// XML that calamine trusts (see the module docs).
///
/// The zip crate's own directory reading is bounded by the file size: it
/// reserves at most one entry record per 46 bytes of file (the size of a
/// central directory header), which [`ImportLimits::max_bytes`] bounds.
fn check_package(bytes: &[u8], limits: &ImportLimits) -> Result<()> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| file_error(format!("not a readable XLSX file: {}", short(&e))))?;
    let entries = zip.len();
    let count = u64::try_from(entries).unwrap_or(u64::MAX);
    if count > u64::from(limits.max_entries) {
        return Err(Error::LimitExceeded {
            limit: LimitKind::ImportEntries,
            max: u64::from(limits.max_entries),
            actual: count,
            detail: Some(format!(
                "the workbook is made of {count} parts, at most {} per import: save only the sheet with the people to invite in a new workbook",
                limits.max_entries
            )),
        });
    }
    // The directory's word first: cheap, and enough to refuse most bombs.
    let mut declared_total = 0u64;
    for i in 0..entries {
        let entry = zip.by_index_raw(i).map_err(|e| damaged(&e))?;
        declared_total = declared_total.saturating_add(entry.size());
        check_ratio(entry.name(), entry.size(), entry.compressed_size(), limits)?;
    }
    check_unpacked(declared_total, limits)?;
    // Then the truth: every entry unpacked, never past what it declares.
    let mut total = 0u64;
    for i in 0..entries {
        let entry = zip.by_index(i).map_err(|e| damaged(&e))?;
        let name = short(&entry.name());
        let part = Part::of(entry.name());
        let declared = entry.size();
        let budget = limits.max_unpacked_bytes.saturating_sub(total);
        let cap = declared.min(budget).saturating_add(1);
        let mut bounded = std::io::Read::take(entry, cap);
        let mut xml = Vec::new();
        let read = if part == Part::Other {
            std::io::copy(&mut bounded, &mut std::io::sink())
        } else {
            std::io::Read::read_to_end(&mut bounded, &mut xml)
                .map(|n| u64::try_from(n).unwrap_or(u64::MAX))
        }
        .map_err(|e| {
            file_error(format!(
                "the XLSX file is damaged: its part {name} could not be unpacked ({})",
                short(&e)
            ))
        })?;
        if read > declared {
            return Err(file_error(format!(
                "the XLSX file is damaged or forged: its part {name} unpacks to more than the {declared} bytes its directory declares"
            )));
        }
        total = total.saturating_add(read);
        check_unpacked(total, limits)?;
        match part {
            Part::SharedStrings => check_shared_strings(&xml)?,
            Part::Worksheet => check_cell_references(&name, &xml)?,
            Part::Other => {}
        }
    }
    Ok(())
}

fn check_unpacked(total: u64, limits: &ImportLimits) -> Result<()> {
    if total > limits.max_unpacked_bytes {
        return Err(Error::LimitExceeded {
            limit: LimitKind::ImportUnpackedBytes,
            max: limits.max_unpacked_bytes,
            actual: total,
            detail: Some(format!(
                "the workbook unpacks to more than {}, at most {} per import: save only the sheet with the people to invite in a new workbook, or as CSV",
                human_bytes(total),
                human_bytes(limits.max_unpacked_bytes)
            )),
        });
    }
    Ok(())
}

fn check_ratio(name: &str, unpacked: u64, packed: u64, limits: &ImportLimits) -> Result<()> {
    if unpacked <= RATIO_EXEMPT_BYTES {
        return Ok(());
    }
    let ratio = unpacked / packed.max(1);
    if ratio > u64::from(limits.max_ratio) {
        return Err(Error::LimitExceeded {
            limit: LimitKind::ImportRatio,
            max: u64::from(limits.max_ratio),
            actual: ratio,
            detail: Some(format!(
                "the part {} of the workbook unpacks to {ratio} times its size ({}), at most {} times: a spreadsheet does not pack that well; save the sheet again from Excel, or as CSV",
                short(&name),
                human_bytes(unpacked),
                limits.max_ratio
            )),
        });
    }
    Ok(())
}

fn damaged(e: &zip::result::ZipError) -> Error {
    file_error(format!("the XLSX file is damaged: {}", short(e)))
}

/// An error or a name from the file, cut to 200 characters for a message.
fn short(text: &dyn std::fmt::Display) -> String {
    let text = text.to_string();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", text.get(..i).unwrap_or_default()),
        None => text,
    }
}

/// calamine reserves room for as many strings as the `uniqueCount` of
/// `<sst>` says, before reading one: it may not say more than the part
/// holds. Conservative: every `uniqueCount` attribute counts, wherever it
/// is, and so does every `si` start tag.
fn check_shared_strings(xml: &[u8]) -> Result<()> {
    let held = count_start_tags(xml, b"si");
    for value in attribute_values(xml, b"uniqueCount") {
        let said = ref_number(value.strip_prefix(b"+").unwrap_or(value));
        if let Some(said) = said {
            if said > held {
                return Err(file_error(format!(
                    "the XLSX file is damaged or forged: its shared strings table says it holds {} strings but holds {held}: save the sheet again from Excel",
                    short(&String::from_utf8_lossy(value))
                )));
            }
        }
    }
    Ok(())
}

/// The number written in `digits` (ASCII digits only, at least one),
/// saturating; `None` when it is not such a number.
fn ref_number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// calamine reads cell references (`<c r="B7">`, `<row r="7">`,
/// `<dimension ref="A1:F20">`) with unchecked 32-bit arithmetic: a
/// reference outside Excel's grid, or a range that ends before it starts,
/// is refused here. Conservative: every `r` and `ref` attribute counts.
fn check_cell_references(name: &str, xml: &[u8]) -> Result<()> {
    for attr in [&b"r"[..], b"ref"] {
        for value in attribute_values(xml, attr) {
            if !cell_range_ok(value) {
                return Err(file_error(format!(
                    "the XLSX file is damaged or forged: its part {name} refers to the cell {:?}, outside Excel's grid (A1 to XFD1048576)",
                    short(&String::from_utf8_lossy(value))
                )));
            }
        }
    }
    Ok(())
}

/// Whether a reference or range is safe for calamine, which reads each
/// part of it as letters then digits, doing the arithmetic on each
/// character before it looks at the next (so `A99999999999!` overflows
/// before the `!` is refused): the leading letters and digits of every
/// part must name a cell of Excel's grid, and a range of two whole
/// references must not end before it starts.
fn cell_range_ok(value: &[u8]) -> bool {
    let mut parts = Vec::new();
    for part in value.split(|b| *b == b':') {
        let letters = part.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        let (col, rest) = part.split_at(letters);
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let col = col.iter().fold(0u64, |n, c| {
            n.saturating_mul(26)
                .saturating_add(u64::from(c.to_ascii_uppercase() - b'A') + 1)
        });
        let row = ref_number(rest.get(..digits).unwrap_or_default()).unwrap_or(0);
        if col > MAX_COLUMNS as u64 || row > MAX_SHEET_ROWS {
            return false;
        }
        parts.push((row, col, letters + digits == part.len()));
    }
    match parts.as_slice() {
        [(r1, c1, true), (r2, c2, true)] if *r1 > 0 && *r2 > 0 && *c1 > 0 && *c2 > 0 => {
            r1 <= r2 && c1 <= c2
        }
        _ => true,
    }
}

fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// The raw values of the attributes named exactly `name` (no prefix), in
/// every tag, comment and text of `xml`: `name="value"` or
/// `name = 'value'` after white space.
fn attribute_values<'a>(xml: &'a [u8], name: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut from = 0usize;
    std::iter::from_fn(move || {
        while let Some(found) = find(xml.get(from..)?, name) {
            let at = from + found;
            from = at + name.len();
            if at == 0 || !xml.get(at - 1).is_some_and(|b| is_xml_space(*b)) {
                continue;
            }
            let mut i = at + name.len();
            while xml.get(i).is_some_and(|b| is_xml_space(*b)) {
                i += 1;
            }
            if xml.get(i) != Some(&b'=') {
                continue;
            }
            i += 1;
            while xml.get(i).is_some_and(|b| is_xml_space(*b)) {
                i += 1;
            }
            let Some(&quote) = xml.get(i).filter(|q| matches!(q, b'"' | b'\'')) else {
                continue;
            };
            let value_start = i + 1;
            let rest = xml.get(value_start..).unwrap_or_default();
            let len = rest.iter().position(|b| *b == quote).unwrap_or(rest.len());
            from = value_start + len;
            return rest.get(..len);
        }
        None
    })
}

/// How many start tags named `name`, with or without a prefix, `xml`
/// holds: `<si>`, `<si/>`, `<x:si attr="...">`. May count a few that are
/// not tags (in a comment), never fewer than there are.
fn count_start_tags(xml: &[u8], name: &[u8]) -> u64 {
    let mut count = 0u64;
    let mut from = 0usize;
    while let Some(found) = xml.get(from..).and_then(|rest| find(rest, name)) {
        let at = from + found;
        from = at + name.len();
        let before = at.checked_sub(1).and_then(|i| xml.get(i));
        let after = xml.get(at + name.len());
        if matches!(before, Some(b'<' | b':'))
            && after.is_some_and(|b| is_xml_space(*b) || matches!(b, b'>' | b'/'))
        {
            count = count.saturating_add(1);
        }
    }
    count
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn read_xlsx_inner(bytes: &[u8], max_rows: u32) -> Result<Table> {
    use calamine::{Reader, SheetType, SheetVisible, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| file_error(format!("not a readable XLSX file: {e}")))?;
    let sheets = book.sheets_metadata();
    let Some(name) = sheets
        .iter()
        .find(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
        .or_else(|| sheets.iter().find(|s| s.typ == SheetType::WorkSheet))
        .map(|s| s.name.clone())
    else {
        return Err(file_error("the workbook has no worksheet"));
    };
    let mut cells = book
        .worksheet_cells_reader(&name)
        .map_err(|e| file_error(format!("the worksheet {name:?} could not be read: {e}")))?;
    let mut table = Table::default();
    let mut current: Option<(u32, Vec<(usize, Value)>)> = None;
    loop {
        let cell = cells
            .next_cell()
            .map_err(|e| file_error(format!("the worksheet {name:?} could not be read: {e}")))?;
        let Some(cell) = cell else { break };
        let (row, col) = cell.get_position();
        let Some(value) = cell_value(cell.get_value()) else {
            continue;
        };
        let col = usize::try_from(col).unwrap_or(usize::MAX);
        match &mut current {
            Some((r, row_cells)) if *r == row => row_cells.push((col, value)),
            _ => {
                if let Some((r, row_cells)) = current.take() {
                    if !table.push(raw_xlsx_row(r, row_cells), max_rows) {
                        return Ok(table);
                    }
                }
                current = Some((row, vec![(col, value)]));
            }
        }
    }
    if let Some((r, row_cells)) = current {
        table.push(raw_xlsx_row(r, row_cells), max_rows);
    }
    Ok(table)
}

fn raw_xlsx_row(row: u32, cells: Vec<(usize, Value)>) -> RawRow {
    RawRow {
        line: usize::try_from(row).map_or(usize::MAX, |r| r.saturating_add(1)),
        cells,
    }
}

/// A cell as text; `None` when empty.
fn cell_value(v: &calamine::DataRef<'_>) -> Option<Value> {
    use calamine::DataRef;
    let text = match v {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => format_number(*f),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => format_datetime(d),
        DataRef::Error(e) => return Some(Value::Error(e.to_string())),
        DataRef::Empty => return None,
    };
    let text = text.trim();
    (!text.is_empty()).then(|| Value::Text(text.to_owned()))
}

/// Whole numbers without a decimal part (`33612345678`, not
/// `33612345678.0`), very large or small ones in scientific notation,
/// others as Rust prints them.
fn format_number(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        // Exact: |f| < 2^53.
        #[allow(clippy::cast_possible_truncation)]
        let i = f as i64;
        i.to_string()
    } else if f.is_finite() && (f.abs() >= 1e15 || (f != 0.0 && f.abs() < 1e-6)) {
        format!("{f:e}")
    } else {
        f.to_string()
    }
}

/// A date cell as `YYYY-MM-DD` (with the time when there is one); a
/// duration or an out-of-range date as its number.
fn format_datetime(d: &calamine::ExcelDateTime) -> String {
    let v = d.as_f64();
    // Excel's own range: 1900-01-01 (or 1904-01-01) to 9999-12-31.
    if !d.is_datetime() || !(0.0..2_958_466.0).contains(&v) {
        return format_number(v);
    }
    let (y, mo, da, h, mi, s, ms) = d.to_ymd_hms_milli();
    if (h, mi, s, ms) == (0, 0, 0, 0) {
        format!("{y:04}-{mo:02}-{da:02}")
    } else {
        format!("{y:04}-{mo:02}-{da:02} {h:02}:{mi:02}:{s:02}")
    }
}

fn build_sheet(table: Table, max_rows: u32) -> Result<ImportSheet> {
    let Some(header) = table.header else {
        return Err(file_error(
            "the file is empty: its first row must name the columns (Email or Identifier, First name, Last name, ...)",
        ));
    };
    if table.total > u64::from(max_rows) {
        return Err(Error::LimitExceeded {
            limit: LimitKind::ImportRows,
            max: u64::from(max_rows),
            actual: table.total,
            detail: Some(format!(
                "{}{} rows to invite in the file, at most {max_rows} per file: split it and import the parts one after the other",
                if table.capped { "at least " } else { "" },
                table.total
            )),
        });
    }
    let mut columns: Vec<(usize, Field)> = Vec::new();
    let mut ignored_columns = Vec::new();
    for (col, value) in &header.cells {
        let text = match value {
            Value::Text(t) => t.as_str(),
            Value::Error(e) => e.as_str(),
        };
        match Field::of_header(text) {
            Some(field) => {
                if let Some((other, _)) = columns.iter().find(|(_, f)| *f == field) {
                    return Err(file_error(format!(
                        "columns {} and {} both give the {}: keep one of them (or rename the other)",
                        other + 1,
                        col + 1,
                        field.label()
                    )));
                }
                columns.push((*col, field));
            }
            None => ignored_columns.push(text.to_owned()),
        }
    }
    if !columns
        .iter()
        .any(|(_, f)| matches!(f, Field::Email | Field::Identifier))
    {
        let found: Vec<String> = header
            .cells
            .iter()
            .map(|(_, v)| match v {
                Value::Text(t) | Value::Error(t) => format!("{t:?}"),
            })
            .collect();
        return Err(file_error(format!(
            "the header row (line {}) has no Email column and no Identifier column; found {}. Use the import template",
            header.line,
            found.join(", ")
        )));
    }
    let mut sheet = ImportSheet {
        rows: Vec::with_capacity(table.rows.len()),
        errors: Vec::new(),
        ignored_columns,
    };
    for raw in table.rows {
        match build_row(&columns, raw) {
            Ok(row) => sheet.rows.push(row),
            Err(e) => sheet.errors.push(e),
        }
    }
    Ok(sheet)
}

fn build_row(columns: &[(usize, Field)], raw: RawRow) -> Result<ImportRow, ImportRowError> {
    let line = raw.line;
    let mut row = ImportRow {
        line,
        input: RecipientInput::default(),
        groups: Vec::new(),
        active: None,
    };
    for (col, value) in raw.cells {
        let Some(&(_, field)) = columns.iter().find(|(c, _)| *c == col) else {
            continue;
        };
        let text = match value {
            Value::Text(t) => t,
            Value::Error(e) => {
                return Err(ImportRowError {
                    line,
                    message: format!("the {} cell holds the spreadsheet error {e}", field.label()),
                });
            }
        };
        let input = &mut row.input;
        match field {
            Field::Email => input.email = Some(text),
            Field::Identifier => input.identifier = Some(text),
            Field::FirstName => input.first_name = Some(text),
            Field::LastName => input.last_name = Some(text),
            Field::DisplayName => input.display_name = Some(text),
            Field::Role => input.role = Some(text),
            Field::License => input.license_type = Some(text),
            Field::Kind => {
                input.kind = Some(parse_kind(&text).ok_or_else(|| ImportRowError {
                    line,
                    message: format!("the kind {text:?} is neither \"member\" nor \"guest\""),
                })?);
            }
            Field::Groups => row.groups = parse_groups(&text),
            Field::Active => {
                row.active = Some(parse_yes_no(&text).ok_or_else(|| ImportRowError {
                    line,
                    message: format!("the active cell {text:?} is neither yes nor no"),
                })?);
            }
            Field::Department => {
                input.attributes.insert("department".to_owned(), text);
            }
            Field::JobTitle => {
                input.attributes.insert("job_title".to_owned(), text);
            }
            Field::Locale => input.locale = Some(text),
            Field::ExpiresInDays => {
                let days = text
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|d| (1..=366).contains(d))
                    .ok_or_else(|| ImportRowError {
                        line,
                        message: format!(
                            "the expires in days cell {text:?} is not a whole number of days from 1 to 366"
                        ),
                    })?;
                input.lifetime_secs = Some(days * 86_400);
            }
        }
    }
    Ok(row)
}

fn parse_yes_no(text: &str) -> Option<bool> {
    match header_key(text).as_str() {
        "yes" | "y" | "true" | "1" | "x" | "active" | "oui" | "ja" | "si" => Some(true),
        "no" | "n" | "false" | "0" | "inactive" | "non" | "nein" => Some(false),
        _ => None,
    }
}

fn parse_kind(text: &str) -> Option<MemberKind> {
    match header_key(text).as_str() {
        "member" | "members" => Some(MemberKind::Member),
        "guest" | "guests" => Some(MemberKind::Guest),
        _ => None,
    }
}

/// `Sales:owner; Support, R&D: Paris` gives Sales as owner, Support and
/// `R&D: Paris` as member: a suffix counts only when it is a group role.
fn parse_groups(text: &str) -> Vec<ImportGroup> {
    text.split([';', ','])
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .filter_map(|g| {
            let (name, role) = match g.rsplit_once(':') {
                Some((name, suffix)) => match header_key(suffix).as_str() {
                    "owner" | "admin" | "administrator" => (name.trim(), GroupRole::Owner),
                    "member" => (name.trim(), GroupRole::Member),
                    _ => (g, GroupRole::Member),
                },
                None => (g, GroupRole::Member),
            };
            (!name.is_empty()).then(|| ImportGroup {
                name: name.to_owned(),
                role,
            })
        })
        .collect()
}

/// One CSV record read by [`read_csv_records`]: its line and its
/// non-empty cells (trimmed), by 0-based column.
pub(crate) type CsvRecord = (usize, Vec<(usize, String)>);

/// The bounded CSV reader of import files, for other tables of people
/// (the [`CsvDirectory`](crate::CsvDirectory)): the same encodings,
/// separators, record and column bounds. Returns the header (the first
/// non-empty record) and at most `max_rows` records after it; more is
/// [`Error::LimitExceeded`] with [`LimitKind::ImportRows`].
pub(crate) fn read_csv_records(
    bytes: &[u8],
    max_rows: u32,
) -> Result<Option<(CsvRecord, Vec<CsvRecord>)>> {
    let table = read_csv(bytes, max_rows)?;
    if table.total > u64::from(max_rows) {
        return Err(Error::LimitExceeded {
            limit: LimitKind::ImportRows,
            max: u64::from(max_rows),
            actual: table.total,
            detail: Some(format!(
                "{}{} rows in the file, at most {max_rows}",
                if table.capped { "at least " } else { "" },
                table.total
            )),
        });
    }
    let text = |raw: RawRow| -> CsvRecord {
        let cells = raw
            .cells
            .into_iter()
            .map(|(c, v)| match v {
                Value::Text(t) | Value::Error(t) => (c, t),
            })
            .collect();
        (raw.line, cells)
    };
    Ok(table
        .header
        .map(|h| (text(h), table.rows.into_iter().map(text).collect())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_xlsxwriter::Workbook;

    fn rows(max_rows: u32) -> ImportLimits {
        ImportLimits {
            max_rows,
            ..ImportLimits::default()
        }
    }

    fn csv(text: &str) -> ImportSheet {
        parse_import(text.as_bytes(), ImportFormat::Csv, &rows(500)).unwrap()
    }

    #[test]
    fn csv_with_bom_and_semicolons() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(
            "Email;First name;Last name;Groups\r\nada@acme.test;Ada;Lovelace;\"Sales, Support:owner\"\r\n;;;\r\n bob@acme.test ; Bob ;;\r\n"
                .as_bytes(),
        );
        let sheet = parse_import(&bytes, ImportFormat::Csv, &rows(500)).unwrap();
        assert!(sheet.errors.is_empty(), "{:?}", sheet.errors);
        assert_eq!(sheet.rows.len(), 2);
        let ada = &sheet.rows[0];
        assert_eq!(ada.line, 2);
        assert_eq!(ada.input.email.as_deref(), Some("ada@acme.test"));
        assert_eq!(ada.input.first_name.as_deref(), Some("Ada"));
        assert_eq!(ada.input.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(
            ada.groups,
            vec![
                ImportGroup {
                    name: "Sales".into(),
                    role: GroupRole::Member
                },
                ImportGroup {
                    name: "Support".into(),
                    role: GroupRole::Owner
                },
            ]
        );
        // The empty row 3 is skipped; line numbers stay those of the file.
        let bob = &sheet.rows[1];
        assert_eq!(bob.line, 4);
        assert_eq!(bob.input.email.as_deref(), Some("bob@acme.test"));
        assert_eq!(bob.input.first_name.as_deref(), Some("Bob"));
        assert_eq!(bob.input.last_name, None);
        assert!(bob.groups.is_empty());
    }

    #[test]
    fn header_aliases_are_matched_loosely() {
        let sheet = csv(
            "E-Mail,Personnel Number,Given name,FAMILY_NAME,Name,Type,group,Licence type,Notes\n\
             a@x.test,0042,Al,Smith,Al S.,Guest,Sales,pro,call him\n",
        );
        assert_eq!(sheet.ignored_columns, vec!["Notes".to_owned()]);
        let r = &sheet.rows[0].input;
        assert_eq!(r.email.as_deref(), Some("a@x.test"));
        assert_eq!(r.identifier.as_deref(), Some("0042"));
        assert_eq!(r.first_name.as_deref(), Some("Al"));
        assert_eq!(r.last_name.as_deref(), Some("Smith"));
        assert_eq!(r.display_name.as_deref(), Some("Al S."));
        assert_eq!(r.kind, Some(MemberKind::Guest));
        assert_eq!(r.license_type.as_deref(), Some("pro"));
        assert_eq!(r.groups, None);
        assert_eq!(sheet.rows[0].groups[0].name, "Sales");

        for (header, field) in [
            ("mail", "email"),
            ("Employee ID", "id"),
            ("phone", "id"),
            ("ID", "id"),
            ("Surname", "last"),
            ("lastname", "last"),
            ("firstname", "first"),
            ("Display Name", "display"),
            ("license", "license"),
            ("kind", "kind"),
        ] {
            let value = if field == "kind" { "member" } else { "v1" };
            if field == "id" {
                // "identifier" and its alias both name the identifier.
                let twice = format!("identifier,{header}\nx,y\n");
                assert!(parse_import(twice.as_bytes(), ImportFormat::Csv, &rows(5)).is_err());
                let s = csv(&format!("email,{header}\nx@y.test,{value}\n"));
                assert_eq!(
                    s.rows[0].input.identifier.as_deref(),
                    Some("v1"),
                    "{header}"
                );
                continue;
            }
            let s = csv(&format!("identifier,{header}\nx,{value}\n"));
            let r = &s.rows[0].input;
            let got = match field {
                "email" => r.email.clone(),
                "last" => r.last_name.clone(),
                "first" => r.first_name.clone(),
                "display" => r.display_name.clone(),
                "license" => r.license_type.clone(),
                _ => r.kind.map(|k| format!("{k:?}")),
            };
            if field == "kind" {
                assert_eq!(got.as_deref(), Some("Member"), "{header}");
            } else {
                assert_eq!(got.as_deref(), Some("v1"), "{header}");
            }
        }
    }

    #[test]
    fn delimiters_are_sniffed_from_the_header() {
        assert_eq!(sniff_delimiter("Email;\"Name, full\";Role\n"), b';');
        assert_eq!(sniff_delimiter("Email,Name;x,Role\n"), b',');
        assert_eq!(sniff_delimiter("\n\nEmail\tName\n"), b'\t');
        assert_eq!(sniff_delimiter("Email\n"), b',');
        let s = csv("Email\tFirst name\na@x.test\tAl\n");
        assert_eq!(s.rows[0].input.first_name.as_deref(), Some("Al"));
    }

    #[test]
    fn unknown_kinds_and_quoted_lines_are_reported_by_line() {
        let s = csv(
            "Email,Kind,Display name\na@x.test,boss,A\nb@x.test,guest,\"two\nlines\"\nc@x.test,,C\n",
        );
        assert_eq!(s.errors.len(), 1);
        assert_eq!(s.errors[0].line, 2);
        assert!(s.errors[0].message.contains("\"boss\""), "{}", s.errors[0]);
        assert_eq!(
            s.rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![3, 5]
        );
        assert_eq!(s.rows[0].input.display_name.as_deref(), Some("two\nlines"));
        assert_eq!(s.rows[1].input.kind, None);
    }

    #[test]
    fn group_cells_split_and_take_roles() {
        let g = parse_groups(" Sales:owner ;Support, R&D: Paris ; Ops : Admin ;;x:member");
        let got: Vec<(&str, GroupRole)> = g.iter().map(|g| (g.name.as_str(), g.role)).collect();
        assert_eq!(
            got,
            vec![
                ("Sales", GroupRole::Owner),
                ("Support", GroupRole::Member),
                ("R&D: Paris", GroupRole::Member),
                ("Ops", GroupRole::Owner),
                ("x", GroupRole::Member),
            ]
        );
        assert!(parse_groups(" ; , :owner").is_empty());
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let e = |bytes: &[u8], f| parse_import(bytes, f, &rows(500)).unwrap_err();
        for (bytes, format, needle) in [
            (&b""[..], ImportFormat::Csv, "empty"),
            (&b"\n \n"[..], ImportFormat::Csv, "empty"),
            (
                &b"First name,Last name\nAda,Lovelace\n"[..],
                ImportFormat::Csv,
                "no Email column",
            ),
            (
                &b"Email,Mail\na@x.test,b@x.test\n"[..],
                ImportFormat::Csv,
                "columns 1 and 2",
            ),
            (&b"Email\n\xC3\x28\n"[..], ImportFormat::Csv, "not UTF-8"),
            (&b"\xFF\xFEE\0"[..], ImportFormat::Csv, "UTF-16"),
            (
                &b"PK\x03\x04rest"[..],
                ImportFormat::Csv,
                "import it as XLSX",
            ),
            (&b"Email\na@x.test\n"[..], ImportFormat::Xlsx, "not a zip"),
            (&b"PK\x03\x04garbage"[..], ImportFormat::Xlsx, "XLSX"),
            (&b"\xD0\xCF\x11\xE0rest"[..], ImportFormat::Xlsx, ".xls"),
        ] {
            let err = e(bytes, format);
            assert_eq!(err.code(), "invalid_input", "{err}");
            assert!(err.to_string().contains(needle), "{needle:?} not in {err}");
        }
    }

    #[test]
    fn too_many_rows_is_a_limit_error_naming_the_numbers() {
        let mut text = String::from("Email\n");
        for i in 0..12 {
            text.push_str(&format!("u{i}@x.test\n\n"));
        }
        let err = parse_import(text.as_bytes(), ImportFormat::Csv, &rows(11)).unwrap_err();
        match err {
            Error::LimitExceeded {
                limit, max, actual, ..
            } => {
                assert_eq!((limit, max, actual), (LimitKind::ImportRows, 11, 12));
            }
            other => panic!("{other}"),
        }
        // Exactly at the limit passes, blank lines not counted.
        assert_eq!(
            parse_import(text.as_bytes(), ImportFormat::Csv, &rows(12))
                .unwrap()
                .rows
                .len(),
            12
        );
        // The limit comes before a bad header.
        let err = parse_import(b"Notes\na\nb\n", ImportFormat::Csv, &rows(1)).unwrap_err();
        assert_eq!(err.code(), "limit_exceeded");
    }

    #[test]
    fn numbers_and_dates_keep_their_look() {
        assert_eq!(format_number(33_612_345_678.0), "33612345678");
        assert_eq!(format_number(-42.0), "-42");
        assert_eq!(format_number(1.5), "1.5");
        assert_eq!(format_number(1e20), "1e20");
        assert_eq!(format_number(0.000_000_25), "2.5e-7");
        assert_eq!(format_number(f64::NAN), "NaN");
        use calamine::{ExcelDateTime, ExcelDateTimeType};
        let d = |v| format_datetime(&ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false));
        assert_eq!(d(33_010.0), "1990-05-17");
        assert_eq!(d(33_010.5), "1990-05-17 12:00:00");
        assert_eq!(d(1e300), "1e300");
        assert_eq!(d(-3.0), "-3");
        assert_eq!(d(f64::INFINITY), "inf");
    }

    fn xlsx_fixture() -> Vec<u8> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in [
            "Mail",
            "Employee ID",
            "Firstname",
            "Surname",
            "Groups",
            "Birthday",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "ada@acme.test").unwrap();
        ws.write_string(1, 2, "Ada").unwrap();
        ws.write_string(1, 4, "Sales:owner").unwrap();
        // Row 3 left empty; row 4 has a personnel number typed as a number.
        ws.write_number(3, 1, 1_234_567.0).unwrap();
        ws.write_string(3, 3, "Martin").unwrap();
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let when = rust_xlsxwriter::ExcelDateTime::from_ymd(1990, 5, 17).unwrap();
        ws.write_datetime_with_format(3, 5, &when, &date).unwrap();
        // A phone number as a number, and a birthday as the identifier.
        ws.write_number(4, 1, 33_612_345_678.0).unwrap();
        ws.write_datetime_with_format(5, 1, &when, &date).unwrap();
        let other = wb.add_worksheet();
        other.write_string(0, 0, "Email").unwrap();
        other.write_string(1, 0, "not@read.test").unwrap();
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn xlsx_reads_the_first_worksheet() {
        let sheet = parse_import(&xlsx_fixture(), ImportFormat::Xlsx, &rows(500)).unwrap();
        assert_eq!(sheet.ignored_columns, vec!["Birthday".to_owned()]);
        let lines: Vec<usize> = sheet.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4, 5, 6]);
        let r = &sheet.rows;
        assert_eq!(r[0].input.email.as_deref(), Some("ada@acme.test"));
        assert_eq!(r[0].input.first_name.as_deref(), Some("Ada"));
        assert_eq!(
            r[0].groups,
            vec![ImportGroup {
                name: "Sales".into(),
                role: GroupRole::Owner
            }]
        );
        assert_eq!(r[1].input.identifier.as_deref(), Some("1234567"));
        assert_eq!(r[1].input.last_name.as_deref(), Some("Martin"));
        assert_eq!(r[2].input.identifier.as_deref(), Some("33612345678"));
        assert_eq!(r[3].input.identifier.as_deref(), Some("1990-05-17"));
        assert!(sheet.errors.is_empty(), "{:?}", sheet.errors);
        assert!(
            !sheet
                .rows
                .iter()
                .any(|r| r.input.email.as_deref() == Some("not@read.test"))
        );
    }

    #[test]
    fn xlsx_error_cells_make_row_errors() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "Identifier").unwrap();
        ws.write_string(0, 1, "Name").unwrap();
        ws.write_formula(
            1,
            0,
            rust_xlsxwriter::Formula::new("=1/0").set_result("#DIV/0!"),
        )
        .unwrap();
        ws.write_string(1, 1, "Zed").unwrap();
        ws.write_string(2, 0, "E-42").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let sheet = parse_import(&bytes, ImportFormat::Xlsx, &rows(500)).unwrap();
        assert_eq!(sheet.rows.len(), 1);
        assert_eq!(sheet.rows[0].input.identifier.as_deref(), Some("E-42"));
        assert_eq!(sheet.errors.len(), 1, "{:?}", sheet.errors);
        assert_eq!(sheet.errors[0].line, 2);
        assert!(
            sheet.errors[0].message.contains("#DIV/0!"),
            "{}",
            sheet.errors[0]
        );
    }

    #[test]
    fn xlsx_row_limit() {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "Email").unwrap();
        for i in 1..=8u32 {
            ws.write_string(i, 0, format!("u{i}@x.test")).unwrap();
        }
        let bytes = wb.save_to_buffer().unwrap();
        assert_eq!(
            parse_import(&bytes, ImportFormat::Xlsx, &rows(8))
                .unwrap()
                .rows
                .len(),
            8
        );
        let err = parse_import(&bytes, ImportFormat::Xlsx, &rows(7)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::LimitExceeded {
                    limit: LimitKind::ImportRows,
                    max: 7,
                    actual: 8,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn the_template_reads_back() {
        let s = csv(&import_template_csv());
        assert_eq!(s.rows.len(), 2);
        assert_eq!(
            s.rows[0].input.email.as_deref(),
            Some("ada.lovelace@example.com")
        );
        assert_eq!(s.rows[0].groups[0].role, GroupRole::Owner);
        assert_eq!(s.rows[1].input.email, None);
        assert_eq!(
            s.rows[1].input.identifier.as_deref(),
            Some("+33 6 12 34 56 78")
        );
    }

    #[test]
    fn file_names_suggest_formats() {
        assert_eq!(
            ImportFormat::from_file_name("a.b.TSV"),
            Some(ImportFormat::Csv)
        );
        assert_eq!(
            ImportFormat::from_file_name("book.xlsm"),
            Some(ImportFormat::Xlsx)
        );
        assert_eq!(ImportFormat::from_file_name("noext"), None);
    }

    #[test]
    fn cell_references_within_excels_grid_pass() {
        for ok in [
            &b"A1"[..],
            b"xfd1048576",
            b"A1:XFD1048576",
            b"B2:B2",
            b"1048576",
            // Not letters and digits, or no row: calamine refuses them
            // itself, without arithmetic.
            b"$A$1",
            b"A1:B2:C3",
            b"A",
            b"",
            b"C0:A1",
        ] {
            assert!(cell_range_ok(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"XFE1"[..],
            b"AAAA1",
            b"A1048577",
            b"A99999999999999999999999",
            b"1048577",
            b"B1:A1",
            b"A2:B1",
            b"A1:ZZZZZZZZZZZZZZ1",
            // Found by the import_xlsx fuzz target: calamine multiplies
            // before it meets the character it refuses.
            b"A99999999999!",
            b"nnnnnnnnnnn\x03",
        ] {
            assert!(!cell_range_ok(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn attributes_are_found_however_they_are_written() {
        let xml = br#"<sst uniqueCount="7" x:uniqueCount="8"><a uniqueCount = '9'/><b
uniqueCount="10"/><c notuniqueCount="11"/><d uniqueCount=12/><e uniqueCount="13"#;
        let values: Vec<&[u8]> = attribute_values(xml, b"uniqueCount").collect();
        assert_eq!(values, [&b"7"[..], b"9", b"10", b"13"]);
        assert_eq!(
            attribute_values(b"uniqueCount=\"5\"", b"uniqueCount").count(),
            0
        );
        let refs: Vec<&[u8]> =
            attribute_values(br#"<c r="A1" sqref="Z9"><row r='2' spans="1:2">"#, b"r").collect();
        assert_eq!(refs, [&b"A1"[..], b"2"]);
    }

    #[test]
    fn start_tags_are_counted_with_or_without_a_prefix() {
        assert_eq!(
            count_start_tags(
                b"<si><t>a</t></si><si/><x:si a='1'><si\n></sis><sit>",
                b"si"
            ),
            4
        );
        assert_eq!(count_start_tags(b"", b"si"), 0);
    }

    #[test]
    fn the_shared_strings_count_must_fit_the_table() {
        assert!(check_shared_strings(br#"<sst uniqueCount="2"><si/><si/></sst>"#).is_ok());
        assert!(check_shared_strings(br#"<sst uniqueCount="+2"><si/><si/></sst>"#).is_ok());
        // Not a number: calamine reserves nothing.
        assert!(check_shared_strings(br#"<sst uniqueCount="&#52;0000"/>"#).is_ok());
        let err = check_shared_strings(br#"<sst uniqueCount="3"><si/><si/></sst>"#).unwrap_err();
        assert!(
            err.to_string().contains("holds 3 strings but holds 2"),
            "{err}"
        );
        assert!(check_shared_strings(br#"<sst uniqueCount="0004000000000000"/>"#).is_err());
    }

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(human_bytes(700 << 10), "700 KB");
        assert_eq!(human_bytes(10 << 20), "10 MB");
        assert_eq!(human_bytes((7 << 20) / 2), "3.5 MB");
        assert!(human_bytes(u64::MAX).ends_with(" MB"));
    }

    #[test]
    fn csv_records_are_bounded_not_the_file() {
        // A record of exactly the bound reads; one byte more does not.
        let mut text = b"Email,Notes\na@x.test,".to_vec();
        let at_bound = MAX_CSV_RECORD_BYTES - "a@x.test".len();
        text.resize(text.len() + at_bound, b'n');
        text.push(b'\n');
        assert_eq!(
            parse_import(&text, ImportFormat::Csv, &rows(5))
                .unwrap()
                .rows
                .len(),
            1
        );
        text.insert(text.len() - 1, b'n');
        let err = parse_import(&text, ImportFormat::Csv, &rows(5)).unwrap_err();
        assert!(
            err.to_string().contains("line 2 is longer than 1 MB"),
            "{err}"
        );
        // Columns up to Excel's count read.
        let mut wide = b"Email".to_vec();
        wide.extend(std::iter::repeat_n(b',', MAX_COLUMNS - 1));
        wide.extend_from_slice(b"\na@x.test\n");
        assert_eq!(
            parse_import(&wide, ImportFormat::Csv, &rows(5))
                .unwrap()
                .rows
                .len(),
            1
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512), max in 0u32..20) {
            let _ = parse_import(&bytes, ImportFormat::Csv, &rows(max));
            let _ = parse_import(&bytes, ImportFormat::Xlsx, &rows(max));
        }

        #[test]
        fn never_panics_on_near_csv(text in "[a-z@.;,\"\t\r\n :\u{feff}é]{0,200}", max in 0u32..20) {
            let with_header = format!("Email;Identifier;Kind;Groups\n{text}");
            if let Ok(sheet) = parse_import(with_header.as_bytes(), ImportFormat::Csv, &rows(max)) {
                prop_assert!(sheet.rows.len() + sheet.errors.len() <= max as usize);
                prop_assert!(sheet.rows.iter().all(|r| r.line >= 2));
            }
            let _ = parse_import(text.as_bytes(), ImportFormat::Csv, &rows(max));
        }

        #[test]
        fn never_panics_on_damaged_xlsx(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
            let mut bytes = xlsx_fixture();
            for (at, b) in flips {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            let _ = parse_import(&bytes, ImportFormat::Xlsx, &rows(500));
            let end = cut.index(bytes.len());
            let _ = parse_import(&bytes[..end], ImportFormat::Xlsx, &rows(500));
        }
    }
}

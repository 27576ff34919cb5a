//! Directory sources: where the "invite from the HR system" assistant
//! (seed 000) finds the companies of an enterprise and their employees.
//!
//! A [`DirectorySource`] is the host's: an HR system's API, a nightly
//! export, a test fixture. Two ship with the crate: [`MemoryDirectory`]
//! (companies and employees given as values) and [`CsvDirectory`] (an HR
//! export read from CSV bytes, with the import files' bounded reader).
//!
//! What a source returns is untrusted: the assistant checks it with
//! [`check_companies`] and [`check_employees`] before using any of it (at
//! most [`MAX_DIRECTORY_COMPANIES`] companies, [`MAX_DIRECTORY_EMPLOYEES`]
//! employees per company, every field one line of bounded length, ids
//! unique), so a broken or hostile source gets a clear error instead of
//! filling memory or a screen.
//!
//! ```
//! use enlist::{DirectoryEmployee, DirectorySource, MemoryDirectory};
//! let mut ada = DirectoryEmployee::new("e1");
//! ada.first_name = Some("Ada".into());
//! ada.email = Some("ada@acme.test".into());
//! let dir = MemoryDirectory::new().with_company("acme", "Acme", vec![ada]);
//! assert_eq!(dir.companies()?.len(), 1);
//! assert_eq!(dir.employees("acme")?[0].name(), "Ada");
//! # Ok::<(), enlist::Error>(())
//! ```

use crate::engine::{
    MAX_EMAIL_FIELD_BYTES, MAX_KEY_BYTES, MAX_NAME_CHARS, check_bytes, check_max_bytes, clean_line,
};
use crate::error::{Error, LimitKind, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// At most this many companies from one source.
pub const MAX_DIRECTORY_COMPANIES: usize = 1_000;
/// At most this many employees in one company.
pub const MAX_DIRECTORY_EMPLOYEES: usize = 10_000;
/// At most this many bytes of CSV for a [`CsvDirectory`].
pub const MAX_DIRECTORY_CSV_BYTES: usize = 32 << 20;
/// At most this many rows (after the header) in a [`CsvDirectory`]'s file.
pub const MAX_DIRECTORY_CSV_ROWS: u32 = 100_000;

/// The employment status the assistant lists: an employee whose
/// [`DirectoryEmployee::employment_status`] is this word (ignoring case and
/// surrounding spaces) is active.
pub const ACTIVE_STATUS: &str = "Active";

/// A company (or entity) of the enterprise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct DirectoryCompany {
    /// The source's id of the company (unique within the source).
    pub id: String,
    /// Its name, as the "Select Company" list shows it.
    pub name: String,
}

impl DirectoryCompany {
    /// A company.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
        }
    }
}

/// An employee as the directory knows them. Every field but the id may be
/// missing: an employee without an email address is listed, and is an
/// error of the review ("no email address on file").
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct DirectoryEmployee {
    /// The source's id of the employee (unique within the company): what
    /// the assistant's selection and roles are kept by.
    pub id: String,
    /// First name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub first_name: Option<String>,
    /// Last name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub last_name: Option<String>,
    /// The full name, when the source gives one.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub display_name: Option<String>,
    /// The work email address on file.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub email: Option<String>,
    /// Job title.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub job_title: Option<String>,
    /// Department.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub department: Option<String>,
    /// The employment status as the source names it; only
    /// [`ACTIVE_STATUS`] employees are listed.
    #[cfg_attr(feature = "uniffi", uniffi(default = "Active"))]
    pub employment_status: String,
    /// The role the directory suggests (a role name of the organization);
    /// the assistant's default for this employee.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub suggested_role: Option<String>,
}

impl DirectoryEmployee {
    /// An active employee with this id and nothing else.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            employment_status: ACTIVE_STATUS.to_owned(),
            ..Self::default()
        }
    }

    /// Whether the employee is active ([`ACTIVE_STATUS`]).
    pub fn is_active(&self) -> bool {
        self.employment_status
            .trim()
            .eq_ignore_ascii_case(ACTIVE_STATUS)
    }

    /// The name to show: the full name, else first and last names, else
    /// the email address, else the id.
    pub fn name(&self) -> String {
        if let Some(n) = &self.display_name {
            return n.clone();
        }
        let parts: Vec<&str> = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !parts.is_empty() {
            return parts.join(" ");
        }
        self.email.clone().unwrap_or_else(|| self.id.clone())
    }
}

/// Where the assistant finds companies and employees: the host's HR
/// system. Implement it in Rust, in Python (any object with `companies()`
/// and `employees(company_id)` methods) or in Kotlin and Swift (the
/// `DirectorySource` interface).
///
/// A source is called only after the actor was authorized, and what it
/// returns is checked ([`check_companies`], [`check_employees`]) before
/// anything else reads it. Its failures come back to the caller as they
/// are (the bindings turn a foreign exception into
/// [`Error::InvalidInput`] on the field `directory`).
pub trait DirectorySource: Send + Sync {
    /// Every company of the enterprise (at most
    /// [`MAX_DIRECTORY_COMPANIES`]).
    fn companies(&self) -> Result<Vec<DirectoryCompany>>;
    /// The employees of one company, active or not (at most
    /// [`MAX_DIRECTORY_EMPLOYEES`]).
    fn employees(&self, company_id: &str) -> Result<Vec<DirectoryEmployee>>;
}

impl<T: DirectorySource + ?Sized> DirectorySource for std::sync::Arc<T> {
    fn companies(&self) -> Result<Vec<DirectoryCompany>> {
        (**self).companies()
    }
    fn employees(&self, company_id: &str) -> Result<Vec<DirectoryEmployee>> {
        (**self).employees(company_id)
    }
}

fn source_error(field: String, e: &Error) -> Error {
    Error::invalid(
        "directory",
        format!("the directory source returned an unusable {field}: {e}"),
    )
}

fn too_many(what: &str, max: usize, actual: usize) -> Error {
    Error::LimitExceeded {
        limit: LimitKind::ImportRows,
        max: max as u64,
        actual: actual as u64,
        detail: Some(format!(
            "the directory source returned {actual} {what}, at most {max}"
        )),
    }
}

/// An id: one line, not empty, at most 256 bytes.
fn check_id(field: &str, id: &str) -> Result<String> {
    check_max_bytes(field, id, MAX_KEY_BYTES)?;
    clean_line(field, Some(id), MAX_KEY_BYTES)?.ok_or_else(|| Error::invalid(field, "is empty"))
}

/// Checks what a source's [`DirectorySource::companies`] returned: at most
/// [`MAX_DIRECTORY_COMPANIES`], each id and name one line (ids at most
/// 256 bytes, names at most 200 characters), ids unique. Returns them
/// trimmed.
pub fn check_companies(companies: Vec<DirectoryCompany>) -> Result<Vec<DirectoryCompany>> {
    if companies.len() > MAX_DIRECTORY_COMPANIES {
        return Err(too_many(
            "companies",
            MAX_DIRECTORY_COMPANIES,
            companies.len(),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(companies.len());
    for (i, c) in companies.into_iter().enumerate() {
        let f = |name: &str| format!("companies[{i}].{name}");
        let id = check_id("id", &c.id).map_err(|e| source_error(f("id"), &e))?;
        check_bytes("name", &c.name, MAX_NAME_CHARS).map_err(|e| source_error(f("name"), &e))?;
        let name = clean_line("name", Some(&c.name), MAX_NAME_CHARS)
            .map_err(|e| source_error(f("name"), &e))?
            .unwrap_or_else(|| id.clone());
        if !seen.insert(id.clone()) {
            return Err(Error::invalid(
                "directory",
                format!("the directory source returned the company id {id:?} twice"),
            ));
        }
        out.push(DirectoryCompany { id, name });
    }
    Ok(out)
}

/// Checks what a source's [`DirectorySource::employees`] returned: at
/// most [`MAX_DIRECTORY_EMPLOYEES`]; ids one line of at most 256 bytes and
/// unique; names, job title, department and status one line of at most 200
/// characters; the email at most 1,100 bytes and the suggested role at
/// most 256 (both parsed later, where an unusable one is an error of that
/// employee's row, not of the source). Returns them trimmed, blank fields
/// as `None`.
pub fn check_employees(employees: Vec<DirectoryEmployee>) -> Result<Vec<DirectoryEmployee>> {
    if employees.len() > MAX_DIRECTORY_EMPLOYEES {
        return Err(too_many(
            "employees",
            MAX_DIRECTORY_EMPLOYEES,
            employees.len(),
        ));
    }
    // Every field's size first, before any text is scanned.
    for (i, e) in employees.iter().enumerate() {
        let f = |name: &str| format!("employees[{i}].{name}");
        check_max_bytes("id", &e.id, MAX_KEY_BYTES).map_err(|x| source_error(f("id"), &x))?;
        for (name, v) in [
            ("first_name", e.first_name.as_deref()),
            ("last_name", e.last_name.as_deref()),
            ("display_name", e.display_name.as_deref()),
            ("job_title", e.job_title.as_deref()),
            ("department", e.department.as_deref()),
            ("employment_status", Some(e.employment_status.as_str())),
        ] {
            if let Some(v) = v {
                check_bytes(name, v, MAX_NAME_CHARS).map_err(|x| source_error(f(name), &x))?;
            }
        }
        if let Some(v) = &e.email {
            check_max_bytes("email", v, MAX_EMAIL_FIELD_BYTES)
                .map_err(|x| source_error(f("email"), &x))?;
        }
        if let Some(v) = &e.suggested_role {
            check_max_bytes("suggested_role", v, MAX_KEY_BYTES)
                .map_err(|x| source_error(f("suggested_role"), &x))?;
        }
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(employees.len());
    for (i, e) in employees.into_iter().enumerate() {
        let f = |name: &str| format!("employees[{i}].{name}");
        let line = |name: &str, v: Option<&str>| {
            clean_line(name, v, MAX_NAME_CHARS).map_err(|x| source_error(f(name), &x))
        };
        let id = check_id("id", &e.id).map_err(|x| source_error(f("id"), &x))?;
        if !seen.insert(id.clone()) {
            return Err(Error::invalid(
                "directory",
                format!("the directory source returned the employee id {id:?} twice"),
            ));
        }
        out.push(DirectoryEmployee {
            first_name: line("first_name", e.first_name.as_deref())?,
            last_name: line("last_name", e.last_name.as_deref())?,
            display_name: line("display_name", e.display_name.as_deref())?,
            job_title: line("job_title", e.job_title.as_deref())?,
            department: line("department", e.department.as_deref())?,
            employment_status: line("employment_status", Some(&e.employment_status))?
                .unwrap_or_default(),
            // Parsed by the review: kept as given, only trimmed.
            email: e
                .email
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            suggested_role: e
                .suggested_role
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            id,
        });
    }
    Ok(out)
}

/// A directory held in memory: companies and their employees given as
/// values (tests, fixtures, a host that already fetched them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryDirectory {
    companies: Vec<(DirectoryCompany, Vec<DirectoryEmployee>)>,
}

impl MemoryDirectory {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a company with its employees (replacing one with the same id).
    pub fn with_company(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        employees: Vec<DirectoryEmployee>,
    ) -> Self {
        self.put_company(DirectoryCompany::new(id, name), employees);
        self
    }

    /// Adds or replaces a company and its employees.
    pub fn put_company(&mut self, company: DirectoryCompany, employees: Vec<DirectoryEmployee>) {
        match self.companies.iter_mut().find(|(c, _)| c.id == company.id) {
            Some(slot) => *slot = (company, employees),
            None => self.companies.push((company, employees)),
        }
    }
}

impl DirectorySource for MemoryDirectory {
    fn companies(&self) -> Result<Vec<DirectoryCompany>> {
        Ok(self.companies.iter().map(|(c, _)| c.clone()).collect())
    }

    fn employees(&self, company_id: &str) -> Result<Vec<DirectoryEmployee>> {
        self.companies
            .iter()
            .find(|(c, _)| c.id == company_id)
            .map(|(_, e)| e.clone())
            .ok_or_else(|| {
                Error::invalid(
                    "company",
                    format!("no company {company_id:?} in the directory"),
                )
            })
    }
}

/// A column of a [`CsvDirectory`] file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Id,
    Company,
    FirstName,
    LastName,
    DisplayName,
    Email,
    JobTitle,
    Department,
    Status,
    Role,
}

impl Column {
    const ALL: [Column; 10] = [
        Column::Id,
        Column::Company,
        Column::FirstName,
        Column::LastName,
        Column::DisplayName,
        Column::Email,
        Column::JobTitle,
        Column::Department,
        Column::Status,
        Column::Role,
    ];

    /// Headers, compared lowercased without spaces or punctuation.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::Id => &["employeeid", "employeenumber", "id", "personnelnumber"],
            Column::Company => &["company", "companyname", "entity"],
            Column::FirstName => &["firstname", "givenname"],
            Column::LastName => &["lastname", "surname", "familyname"],
            Column::DisplayName => &["name", "fullname", "displayname"],
            Column::Email => &["email", "mail", "emailaddress", "workemail"],
            Column::JobTitle => &["jobtitle", "title", "position"],
            Column::Department => &["department", "dept"],
            Column::Status => &["status", "employmentstatus"],
            Column::Role => &["role", "suggestedrole", "defaultrole"],
        }
    }

    fn of_header(text: &str) -> Option<Column> {
        let key: String = text
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        Column::ALL
            .into_iter()
            .find(|c| c.aliases().contains(&key.as_str()))
    }
}

/// The company of a [`CsvDirectory`] file without a Company column.
pub const CSV_DEFAULT_COMPANY: &str = "default";

/// A directory read from an HR export in CSV: UTF-8 (with or without a
/// byte-order mark), separated by `,`, `;` or tabs, read by the same
/// bounded reader as import files (at most [`MAX_DIRECTORY_CSV_BYTES`]
/// bytes and [`MAX_DIRECTORY_CSV_ROWS`] rows, 1 MiB per record). The host
/// reads the file; the crate reads its bytes.
///
/// The first non-empty row names the columns, matched ignoring case,
/// spaces and punctuation:
///
/// | field | headers |
/// | --- | --- |
/// | employee id | `Employee ID`, `Employee number`, `ID`, `Personnel number` (absent: the line number) |
/// | company | `Company`, `Company name`, `Entity` (absent: one company, `default`) |
/// | first name | `First name`, `Given name` |
/// | last name | `Last name`, `Surname`, `Family name` |
/// | full name | `Name`, `Full name`, `Display name` |
/// | email | `Email`, `E-mail`, `Mail`, `Email address`, `Work email` |
/// | job title | `Job title`, `Title`, `Position` |
/// | department | `Department`, `Dept` |
/// | employment status | `Status`, `Employment status` (absent or blank: `Active`) |
/// | suggested role | `Role`, `Suggested role`, `Default role` |
///
/// Other columns are ignored. Companies are listed in the order they first
/// appear; a company's id is its name.
///
/// ```
/// use enlist::{CsvDirectory, DirectorySource};
/// let csv = "Company;Employee ID;First name;Last name;Email;Job title;Status\n\
///            Acme;1;Ada;Lovelace;ada@acme.test;Accountant;Active\n\
///            Acme;2;Bob;Martin;;Driver;Terminated\n";
/// let dir = CsvDirectory::from_csv(csv.as_bytes())?;
/// assert_eq!(dir.companies()?[0].name, "Acme");
/// let staff = dir.employees("Acme")?;
/// assert_eq!(staff[0].job_title.as_deref(), Some("Accountant"));
/// assert!(!staff[1].is_active());
/// # Ok::<(), enlist::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CsvDirectory {
    inner: MemoryDirectory,
}

impl CsvDirectory {
    /// Reads a CSV export (see the type's docs). Errors:
    /// [`Error::LimitExceeded`] for a file over the limits (checked before
    /// it is read), [`Error::InvalidInput`] on the field `file` for a file
    /// that is not CSV text, has no header, or has neither an email nor a
    /// name column, or names one field twice; on `directory` for a row
    /// that the directory's checks refuse ([`check_employees`]) or an
    /// employee id used twice in a company.
    pub fn from_csv(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_DIRECTORY_CSV_BYTES {
            return Err(Error::LimitExceeded {
                limit: LimitKind::ImportBytes,
                max: MAX_DIRECTORY_CSV_BYTES as u64,
                actual: bytes.len() as u64,
                detail: Some("a directory CSV file".into()),
            });
        }
        let Some((header, rows)) =
            crate::import_file::read_csv_records(bytes, MAX_DIRECTORY_CSV_ROWS)?
        else {
            return Err(Error::invalid(
                "file",
                "the file is empty: its first row must name the columns",
            ));
        };
        let mut columns: Vec<(usize, Column)> = Vec::new();
        for (col, text) in &header.1 {
            if let Some(c) = Column::of_header(text) {
                if columns.iter().any(|(_, k)| *k == c) {
                    return Err(Error::invalid(
                        "file",
                        format!(
                            "two columns give the same field ({text:?} on column {})",
                            col + 1
                        ),
                    ));
                }
                columns.push((*col, c));
            }
        }
        if !columns.iter().any(|(_, c)| {
            matches!(
                c,
                Column::Email | Column::FirstName | Column::LastName | Column::DisplayName
            )
        }) {
            return Err(Error::invalid(
                "file",
                "the header row names no Email column and no name column",
            ));
        }
        let has_company = columns.iter().any(|(_, c)| *c == Column::Company);
        let mut companies: Vec<(DirectoryCompany, Vec<DirectoryEmployee>)> = Vec::new();
        for (line, cells) in rows {
            let cell = |want: Column| -> Option<String> {
                let (col, _) = columns.iter().find(|(_, c)| *c == want)?;
                cells.iter().find(|(c, _)| c == col).map(|(_, v)| v.clone())
            };
            let company = if has_company {
                cell(Column::Company).ok_or_else(|| {
                    Error::invalid("file", format!("line {line}: the Company cell is empty"))
                })?
            } else {
                CSV_DEFAULT_COMPANY.to_owned()
            };
            let employee = DirectoryEmployee {
                id: cell(Column::Id).unwrap_or_else(|| format!("line-{line}")),
                first_name: cell(Column::FirstName),
                last_name: cell(Column::LastName),
                display_name: cell(Column::DisplayName),
                email: cell(Column::Email),
                job_title: cell(Column::JobTitle),
                department: cell(Column::Department),
                employment_status: cell(Column::Status).unwrap_or_else(|| ACTIVE_STATUS.to_owned()),
                suggested_role: cell(Column::Role),
            };
            match companies.iter_mut().find(|(c, _)| c.id == company) {
                Some((_, list)) => list.push(employee),
                None => companies.push((
                    DirectoryCompany::new(company.clone(), company),
                    vec![employee],
                )),
            }
        }
        let mut inner = MemoryDirectory::new();
        for (c, list) in check_pairs(companies)? {
            inner.put_company(c, list);
        }
        Ok(Self { inner })
    }
}

/// Checks companies and their employees read from a file.
fn check_pairs(
    pairs: Vec<(DirectoryCompany, Vec<DirectoryEmployee>)>,
) -> Result<Vec<(DirectoryCompany, Vec<DirectoryEmployee>)>> {
    let (companies, lists): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    let companies = check_companies(companies)?;
    let lists = lists
        .into_iter()
        .map(check_employees)
        .collect::<Result<Vec<_>>>()?;
    Ok(companies.into_iter().zip(lists).collect())
}

impl DirectorySource for CsvDirectory {
    fn companies(&self) -> Result<Vec<DirectoryCompany>> {
        self.inner.companies()
    }

    fn employees(&self, company_id: &str) -> Result<Vec<DirectoryEmployee>> {
        self.inner.employees(company_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_columns_companies_and_defaults() {
        let csv = "\u{feff}Company,Employee ID,Full name,E-mail,Title,Dept,Employment status,Suggested role,Shoe size\n\
                   Acme,7,Ada Lovelace,ada@acme.test,Accountant,Finance,,user_admin,42\n\
                   Globex,7,Bob Martin,bob@globex.test,Driver,Fleet,On leave,,43\n\
                   Acme,8,Carol,,Clerk,Finance,Active,,\n";
        let dir = CsvDirectory::from_csv(csv.as_bytes()).unwrap();
        let companies = dir.companies().unwrap();
        assert_eq!(
            companies.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
            ["Acme", "Globex"]
        );
        let acme = dir.employees("Acme").unwrap();
        assert_eq!(acme.len(), 2);
        assert_eq!(acme[0].name(), "Ada Lovelace");
        assert_eq!(acme[0].department.as_deref(), Some("Finance"));
        assert_eq!(acme[0].suggested_role.as_deref(), Some("user_admin"));
        assert!(acme[0].is_active(), "a blank status reads as Active");
        assert_eq!(acme[1].email, None);
        let globex = dir.employees("Globex").unwrap();
        assert!(!globex[0].is_active());
        assert_eq!(
            dir.employees("Initech").unwrap_err().code(),
            "invalid_input"
        );
    }

    #[test]
    fn csv_without_company_or_id_columns() {
        let dir = CsvDirectory::from_csv(b"Email\nada@acme.test\n\nbob@acme.test\n").unwrap();
        let list = dir.employees(CSV_DEFAULT_COMPANY).unwrap();
        assert_eq!(
            list.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["line-2", "line-4"]
        );
    }

    #[test]
    fn bad_csv_files_say_what_is_wrong() {
        for (csv, field) in [
            ("", "file"),
            ("Shoe size\n42\n", "file"),
            ("Email,Mail\na@b.c,d@e.f\n", "file"),
            ("Company,Email\n,a@b.c\n", "file"),
            ("Employee ID,Email\n1,a@b.c\n1,d@e.f\n", "directory"),
            ("Email,Name\na@b.c,\"A\u{202E}B\"\n", "directory"),
        ] {
            let err = CsvDirectory::from_csv(csv.as_bytes()).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput { field: f, .. } if f == field),
                "{csv:?}: {err}"
            );
        }
        let big = vec![b'a'; MAX_DIRECTORY_CSV_BYTES + 1];
        assert_eq!(
            CsvDirectory::from_csv(&big).unwrap_err().code(),
            "limit_exceeded"
        );
    }

    #[test]
    fn a_hostile_source_is_refused_with_the_limit_or_field_it_broke() {
        // Too many.
        let many: Vec<DirectoryEmployee> = (0..=MAX_DIRECTORY_EMPLOYEES)
            .map(|i| DirectoryEmployee::new(i.to_string()))
            .collect();
        assert!(matches!(
            check_employees(many),
            Err(Error::LimitExceeded { max, actual, .. })
                if max == MAX_DIRECTORY_EMPLOYEES as u64 && actual == max + 1
        ));
        let companies: Vec<DirectoryCompany> = (0..=MAX_DIRECTORY_COMPANIES)
            .map(|i| DirectoryCompany::new(i.to_string(), "c"))
            .collect();
        assert_eq!(
            check_companies(companies).unwrap_err().code(),
            "limit_exceeded"
        );
        // Too long, line breaks, duplicates, blank ids.
        let mut long = DirectoryEmployee::new("1");
        long.job_title = Some("x".repeat(10_000));
        let mut header = DirectoryEmployee::new("2");
        header.first_name = Some("Ada\r\nBcc: spy@evil.test".into());
        let mut email = DirectoryEmployee::new("3");
        email.email = Some("a".repeat(5_000));
        for bad in [
            vec![long],
            vec![header],
            vec![email],
            vec![DirectoryEmployee::new("1"), DirectoryEmployee::new(" 1 ")],
            vec![DirectoryEmployee::new("  ")],
            vec![DirectoryEmployee::new("x".repeat(300))],
        ] {
            let err = check_employees(bad).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput { field, .. } if field == "directory"),
                "{err}"
            );
            assert!(err.to_string().contains("directory source"), "{err}");
        }
        assert!(
            check_companies(vec![
                DirectoryCompany::new("a", "A"),
                DirectoryCompany::new("a", "B")
            ])
            .is_err()
        );
        // Fine ones come back trimmed.
        let mut ok = DirectoryEmployee::new(" 9 ");
        ok.department = Some("  Sales ".into());
        ok.email = Some("   ".into());
        let ok = check_employees(vec![ok]).unwrap();
        assert_eq!(ok[0].id, "9");
        assert_eq!(ok[0].department.as_deref(), Some("Sales"));
        assert_eq!(ok[0].email, None);
    }
}

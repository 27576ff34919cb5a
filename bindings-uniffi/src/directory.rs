//! The directory assistant in Kotlin and Swift (seed 000): the
//! [`DirectorySource`] interface the app implements over its HR system (or
//! the native [`csv_directory`] and [`memory_directory`]), the
//! [`DirectoryAssistant`] object (its state is a value: `toJson()` /
//! `DirectoryAssistant.fromJson(...)` keep it between screens), and the
//! engine's four steps.

use crate::engine::Enlist;
use crate::error::EnlistError;
use enlist::{
    Actor, DirectoryCompany, DirectoryEmployee, DirectoryField, DirectoryReview, DirectoryRow,
    DirectorySendReport, OrgId,
};
use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard};

type Result<T, E = EnlistError> = std::result::Result<T, E>;

/// At most this many bytes of JSON for [`DirectoryAssistant::from_json`].
const MAX_ASSISTANT_JSON_BYTES: usize = 64 << 20;

/// A failure of an app's [`DirectorySource`] (`DirectorySourceException` in
/// Kotlin). Any other exception it throws counts as `Unavailable`, with the
/// first line of its text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum DirectorySourceError {
    /// The HR system could not answer.
    #[error("the directory source is unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for DirectorySourceError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let first = e.reason.lines().next().unwrap_or_default().trim_end();
        DirectorySourceError::Unavailable {
            reason: first.to_owned(),
        }
    }
}

/// The HR system the assistant reads: its companies, and the employees of
/// one. What it returns is checked before use (at most 1,000 companies and
/// 10,000 employees per company, every field one line of bounded length,
/// ids unique): a broken one gets `InvalidInput` or `LimitExceeded` naming
/// what it returned. Called on the thread that called the engine.
#[uniffi::export(with_foreign)]
pub trait DirectorySource: Send + Sync + Any {
    /// Every company of the enterprise.
    fn companies(&self) -> Result<Vec<DirectoryCompany>, DirectorySourceError>;
    /// The employees of one company, active or not.
    fn employees(&self, company_id: String)
    -> Result<Vec<DirectoryEmployee>, DirectorySourceError>;
}

/// A directory implemented in Rust ([`csv_directory`], [`memory_directory`]).
struct NativeDirectory(Arc<dyn enlist::DirectorySource>);

fn source_error(e: enlist::Error) -> DirectorySourceError {
    DirectorySourceError::Unavailable {
        reason: e.to_string(),
    }
}

impl DirectorySource for NativeDirectory {
    fn companies(&self) -> Result<Vec<DirectoryCompany>, DirectorySourceError> {
        self.0.companies().map_err(source_error)
    }

    fn employees(
        &self,
        company_id: String,
    ) -> Result<Vec<DirectoryEmployee>, DirectorySourceError> {
        self.0.employees(&company_id).map_err(source_error)
    }
}

/// An app's source as core's: a native one is called directly, an app's
/// failure becomes `InvalidInput` on the field `directory`.
struct SourceAdapter(Arc<dyn DirectorySource>);

impl SourceAdapter {
    fn native(&self) -> Option<&NativeDirectory> {
        let any: &dyn Any = self.0.as_ref();
        any.downcast_ref::<NativeDirectory>()
    }
}

fn foreign_failure(what: &str, e: DirectorySourceError) -> enlist::Error {
    enlist::Error::InvalidInput {
        field: "directory".into(),
        reason: format!("the directory source's {what}() failed: {e}"),
    }
}

impl enlist::DirectorySource for SourceAdapter {
    fn companies(&self) -> enlist::Result<Vec<DirectoryCompany>> {
        if let Some(n) = self.native() {
            return n.0.companies();
        }
        self.0
            .companies()
            .map_err(|e| foreign_failure("companies", e))
    }

    fn employees(&self, company_id: &str) -> enlist::Result<Vec<DirectoryEmployee>> {
        if let Some(n) = self.native() {
            return n.0.employees(company_id);
        }
        self.0
            .employees(company_id.to_owned())
            .map_err(|e| foreign_failure("employees", e))
    }
}

/// A directory read from an HR export in CSV (the columns of
/// `enlist::CsvDirectory`: Company, Employee ID, First name, Last name,
/// Email, Job title, Department, Status, Role).
#[uniffi::export]
pub fn csv_directory(bytes: Vec<u8>) -> Result<Arc<dyn DirectorySource>> {
    let dir = enlist::CsvDirectory::from_csv(&bytes)?;
    Ok(Arc::new(NativeDirectory(Arc::new(dir))))
}

/// A company and its employees, for [`memory_directory`].
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct DirectoryCompanyStaff {
    /// The company.
    pub company: DirectoryCompany,
    /// Its employees.
    pub employees: Vec<DirectoryEmployee>,
}

/// A directory held in memory.
#[uniffi::export]
pub fn memory_directory(companies: Vec<DirectoryCompanyStaff>) -> Arc<dyn DirectorySource> {
    let mut dir = enlist::MemoryDirectory::new();
    for c in companies {
        dir.put_company(c.company, c.employees);
    }
    Arc::new(NativeDirectory(Arc::new(dir)))
}

/// The Invitations report of a send, as CSV (no secrets).
#[uniffi::export]
pub fn directory_invitations_csv(report: DirectorySendReport) -> String {
    report.invitations_csv()
}

/// The Errors report of a send, as CSV.
#[uniffi::export]
pub fn directory_errors_csv(report: DirectorySendReport) -> String {
    report.errors_csv()
}

/// The assistant: the chosen company, filters, sort, the selection (kept
/// across filter changes) and the roles set. Made by
/// `Enlist.directoryStart`; keep it between screens with [`Self::to_json`].
#[derive(Debug, uniffi::Object)]
pub struct DirectoryAssistant {
    inner: Mutex<enlist::DirectoryAssistant>,
}

impl DirectoryAssistant {
    fn lock(&self) -> MutexGuard<'_, enlist::DirectoryAssistant> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn snapshot(&self) -> enlist::DirectoryAssistant {
        self.lock().clone()
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[uniffi::export]
impl DirectoryAssistant {
    /// An assistant kept with [`Self::to_json`].
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Arc<Self>> {
        if json.len() > MAX_ASSISTANT_JSON_BYTES {
            return Err(enlist::Error::InvalidInput {
                field: "assistant".into(),
                reason: "too large to be an assistant".into(),
            }
            .into());
        }
        let inner = serde_json::from_str(&json).map_err(|e| enlist::Error::InvalidInput {
            field: "assistant".into(),
            reason: format!("not an assistant: {e}"),
        })?;
        Ok(Arc::new(Self {
            inner: Mutex::new(inner),
        }))
    }

    /// The assistant as JSON, for the app's session.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(&*self.lock()).map_err(|e| {
            enlist::Error::InvalidInput {
                field: "assistant".into(),
                reason: e.to_string(),
            }
            .into()
        })
    }

    /// The organization it invites into.
    pub fn org_id(&self) -> OrgId {
        self.lock().org_id().clone()
    }

    /// The companies of the directory.
    pub fn companies(&self) -> Vec<DirectoryCompany> {
        self.lock().companies().to_vec()
    }

    /// The chosen company.
    pub fn company(&self) -> Option<DirectoryCompany> {
        self.lock().company().cloned()
    }

    /// Whether the "Select company" step is still to do.
    pub fn needs_company(&self) -> bool {
        self.lock().needs_company()
    }

    /// Every listed employee, whatever the filters.
    pub fn employees(&self) -> Vec<DirectoryEmployee> {
        self.lock().employees().to_vec()
    }

    /// Employees of the company left out as members or invited already.
    pub fn left_out_known(&self) -> u64 {
        count(self.lock().left_out().0)
    }

    /// Employees of the company left out as not active.
    pub fn left_out_inactive(&self) -> u64 {
        count(self.lock().left_out().1)
    }

    /// The organization's default role.
    pub fn default_role(&self) -> String {
        self.lock().default_role().to_owned()
    }

    /// The role an employee would get (`null` for an id not listed).
    pub fn role_of(&self, employee_id: String) -> Option<String> {
        self.lock().role_of(&employee_id)
    }

    /// Sets (or with `null` clears) the filter on `field`.
    #[uniffi::method(default(text = None))]
    pub fn set_filter(&self, field: DirectoryField, text: Option<String>) -> Result<()> {
        Ok(self.lock().set_filter(field, text.as_deref())?)
    }

    /// The filter text on `field`, if any.
    pub fn filter_of(&self, field: DirectoryField) -> Option<String> {
        self.lock()
            .filters()
            .into_iter()
            .find(|(f, _)| *f == field)
            .map(|(_, t)| t)
    }

    /// Clears every filter (the selection stays).
    pub fn clear_filters(&self) {
        self.lock().clear_filters();
    }

    /// Sorts by `field` (`null`: the directory's order).
    #[uniffi::method(default(descending = false))]
    pub fn set_sort(&self, field: Option<DirectoryField>, descending: bool) {
        self.lock().set_sort(field.map(|f| (f, descending)));
    }

    /// The rows the filters let through, sorted.
    pub fn visible(&self) -> Vec<DirectoryRow> {
        self.lock().visible()
    }

    /// Selects employees by id; returns how many are selected.
    pub fn select(&self, ids: Vec<String>) -> u64 {
        count(self.lock().select(&ids))
    }

    /// Deselects employees by id; returns how many are selected.
    pub fn deselect(&self, ids: Vec<String>) -> u64 {
        count(self.lock().deselect(&ids))
    }

    /// Selects every row the filters let through.
    pub fn select_all_filtered(&self) -> u64 {
        count(self.lock().select_all_filtered())
    }

    /// Deselects every row the filters let through.
    pub fn deselect_all_filtered(&self) -> u64 {
        count(self.lock().deselect_all_filtered())
    }

    /// Deselects everyone.
    pub fn clear_selection(&self) {
        self.lock().clear_selection();
    }

    /// The selected ids, in the directory's order.
    pub fn selected(&self) -> Vec<String> {
        self.lock().selected()
    }

    /// Sets one employee's role.
    pub fn set_role(&self, employee_id: String, role: String) -> Result<()> {
        Ok(self.lock().set_role(&employee_id, &role)?)
    }

    /// Sets the role of every selected employee; returns how many.
    pub fn set_role_for_selection(&self, role: String) -> Result<u64> {
        Ok(count(self.lock().set_role_for_selection(&role)?))
    }

    /// Back to the suggested or default role.
    pub fn reset_role(&self, employee_id: String) {
        self.lock().reset_role(&employee_id);
    }
}

#[uniffi::export]
impl Enlist {
    /// Starts the directory assistant over `source`. The actor must be
    /// allowed to invite and to view members; the source is read only then.
    /// With one company, it is chosen and loaded at once.
    pub fn directory_start(
        &self,
        org_id: OrgId,
        actor: Actor,
        source: Arc<dyn DirectorySource>,
    ) -> Result<Arc<DirectoryAssistant>> {
        let a = self
            .core()
            .directory_start(&org_id, &actor, &SourceAdapter(source))?;
        Ok(Arc::new(DirectoryAssistant {
            inner: Mutex::new(a),
        }))
    }

    /// Chooses (or loads again) a company: its active employees who are
    /// neither members nor invited are listed (one store query).
    pub fn directory_choose_company(
        &self,
        org_id: OrgId,
        actor: Actor,
        source: Arc<dyn DirectorySource>,
        assistant: Arc<DirectoryAssistant>,
        company_id: String,
    ) -> Result<()> {
        let mut a = assistant.snapshot();
        self.core().directory_choose_company(
            &org_id,
            &actor,
            &SourceAdapter(source),
            &mut a,
            &company_id,
        )?;
        *assistant.lock() = a;
        Ok(())
    }

    /// The review: "Invitations to send" and "Invitation errors". Writes
    /// nothing.
    pub fn directory_review(
        &self,
        org_id: OrgId,
        actor: Actor,
        assistant: Arc<DirectoryAssistant>,
    ) -> Result<DirectoryReview> {
        let a = assistant.snapshot();
        Ok(self.core().directory_review(&org_id, &actor, &a)?)
    }

    /// Sends the invitations of the selection in one batch (the normal
    /// invite path); the report holds the batch and the selection.
    #[uniffi::method(default(message = None))]
    pub fn directory_send(
        &self,
        org_id: OrgId,
        actor: Actor,
        assistant: Arc<DirectoryAssistant>,
        message: Option<String>,
    ) -> Result<DirectorySendReport> {
        let a = assistant.snapshot();
        Ok(self
            .core()
            .directory_send(&org_id, &actor, &a, message.as_deref())?)
    }
}

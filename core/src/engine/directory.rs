//! The directory assistant (seed 000, "Invite Users From Spectrum"): pick
//! a company of the HR system, list its active employees who are neither
//! members nor invited, filter, sort and select them (the selection is kept
//! across filter changes), set their roles one by one or for the selection,
//! review what will be sent and what cannot be, send one batch through
//! [`Enlist::invite`], and download the Invitations and the Errors reports.
//!
//! The assistant is a value ([`DirectoryAssistant`], serde) that the host
//! keeps between screens (in its session); the steps that need the store
//! or the source are commands of [`Enlist`], the others are methods of the
//! value.
//!
//! ```
//! use enlist::*;
//! let engine = Enlist::in_memory();
//! let CreatedOrganization { organization: org, owner, .. } =
//!     engine.create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))?;
//! let admin = Actor::Member(owner.id);
//! let mut bob = DirectoryEmployee::new("e2");
//! bob.first_name = Some("Bob".into());
//! bob.email = Some("bob@acme.test".into());
//! bob.job_title = Some("Accountant".into());
//! let mut ada = DirectoryEmployee::new("e1"); // already the owner
//! ada.email = Some("ada@acme.test".into());
//! let hr = MemoryDirectory::new().with_company("acme", "Acme", vec![ada, bob]);
//!
//! // One company: the company step is skipped.
//! let mut assistant = engine.directory_start(&org.id, &admin, &hr)?;
//! assert_eq!(assistant.employees().len(), 1); // Ada is a member already
//! assistant.set_filter(DirectoryField::JobTitle, Some("account"))?;
//! assistant.select_all_filtered();
//! let review = engine.directory_review(&org.id, &admin, &assistant)?;
//! assert_eq!(review.to_send.len(), 1);
//! let sent = engine.directory_send(&org.id, &admin, &assistant, None)?;
//! assert_eq!(sent.report.issued.len(), 1);
//! assert!(sent.invitations_csv().contains("bob@acme.test"));
//! # Ok::<(), enlist::Error>(())
//! ```

use super::invite::authorize_invite;
use super::{Auth, Enlist, MAX_KEY_BYTES, MAX_MESSAGE_CHARS, check_max_bytes, csv_row};
use super::{InviteReport, InviteRequest, RecipientInput, Recipients, RejectReason};
use super::{RejectedRecipient, clean_text};
use crate::directory::{
    DirectoryCompany, DirectoryEmployee, DirectorySource, MAX_DIRECTORY_EMPLOYEES,
};
use crate::directory::{check_companies, check_employees};
use crate::email::parse_address;
use crate::error::{Error, Result};
use crate::event::Actor;
use crate::id::OrgId;
use crate::member::MemberKind;
use crate::organization::Organization;
use crate::role::Permission;
use crate::store::{KeyStanding, MAX_STANDING_KEYS};
use crate::wire_names;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// An attribute of an employee the assistant filters and sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DirectoryField {
    /// The name shown ([`DirectoryEmployee::name`]).
    Name,
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// Email address.
    Email,
    /// Job title.
    JobTitle,
    /// Department.
    Department,
    /// Employment status.
    EmploymentStatus,
    /// The role the directory suggests.
    SuggestedRole,
    /// The role the assistant will give (set, suggested or default).
    Role,
    /// The employee id.
    Id,
}

wire_names! {
    DirectoryField {
        Name => "name",
        FirstName => "first_name",
        LastName => "last_name",
        Email => "email",
        JobTitle => "job_title",
        Department => "department",
        EmploymentStatus => "employment_status",
        SuggestedRole => "suggested_role",
        Role => "role",
        Id => "id",
    }
}

/// At most this many filters (one per field).
const MAX_FILTER_BYTES: usize = MAX_KEY_BYTES;

/// One row of the assistant's list: the employee, whether selected, and
/// the role they would get.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DirectoryRow {
    /// The employee.
    pub employee: DirectoryEmployee,
    /// Whether they are selected.
    pub selected: bool,
    /// The role they would get: set in the assistant, else suggested by
    /// the directory, else the organization's default role.
    pub role: String,
}

/// The assistant: what the host keeps between the steps (serde: keep it in
/// the session). Made by [`Enlist::directory_start`]; a company is loaded
/// by [`Enlist::directory_choose_company`]; filters, sort, selection and
/// roles are its own methods; [`Enlist::directory_review`] and
/// [`Enlist::directory_send`] end it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryAssistant {
    org_id: OrgId,
    companies: Vec<DirectoryCompany>,
    company: Option<String>,
    /// The listed employees of the company: active, neither members nor
    /// invited when loaded.
    employees: Vec<DirectoryEmployee>,
    /// Employees of the company left out as members or invited.
    already_in: usize,
    /// Employees of the company left out as not active.
    inactive: usize,
    filters: BTreeMap<DirectoryField, String>,
    sort: Option<(DirectoryField, bool)>,
    selected: BTreeSet<String>,
    roles: BTreeMap<String, String>,
    default_role: String,
}

/// The organization's default role for a new person of `kind`
/// ([`Policy::role_for`](crate::Policy::role_for)).
fn default_role_for(org: &Organization, kind: MemberKind) -> String {
    org.policy.role_for(kind).to_owned()
}

fn field_value(e: &DirectoryEmployee, role: &str, field: DirectoryField) -> String {
    match field {
        DirectoryField::Name => e.name(),
        DirectoryField::FirstName => e.first_name.clone().unwrap_or_default(),
        DirectoryField::LastName => e.last_name.clone().unwrap_or_default(),
        DirectoryField::Email => e.email.clone().unwrap_or_default(),
        DirectoryField::JobTitle => e.job_title.clone().unwrap_or_default(),
        DirectoryField::Department => e.department.clone().unwrap_or_default(),
        DirectoryField::EmploymentStatus => e.employment_status.clone(),
        DirectoryField::SuggestedRole => e.suggested_role.clone().unwrap_or_default(),
        DirectoryField::Role => role.to_owned(),
        DirectoryField::Id => e.id.clone(),
    }
}

fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

impl DirectoryAssistant {
    /// The organization it invites into.
    pub fn org_id(&self) -> &OrgId {
        &self.org_id
    }

    /// The companies of the directory.
    pub fn companies(&self) -> &[DirectoryCompany] {
        &self.companies
    }

    /// The chosen company, if any.
    pub fn company(&self) -> Option<&DirectoryCompany> {
        let id = self.company.as_ref()?;
        self.companies.iter().find(|c| &c.id == id)
    }

    /// Whether the "Select company" step is still to do (more than one
    /// company and none chosen; with one company the step is skipped).
    pub fn needs_company(&self) -> bool {
        self.company.is_none() && self.companies.len() > 1
    }

    /// Every listed employee (active, neither member nor invited when the
    /// company was loaded), in the directory's order, whatever the
    /// filters.
    pub fn employees(&self) -> &[DirectoryEmployee] {
        &self.employees
    }

    /// How many employees of the company were left out because they are
    /// members or invited already, and how many because they are not
    /// active.
    pub fn left_out(&self) -> (usize, usize) {
        (self.already_in, self.inactive)
    }

    /// The organization's default role when the company was loaded.
    pub fn default_role(&self) -> &str {
        &self.default_role
    }

    /// The role `employee_id` would get: set in the assistant, else the
    /// directory's suggestion, else the organization's default role.
    /// `None` for an id that is not listed.
    pub fn role_of(&self, employee_id: &str) -> Option<String> {
        let e = self.employees.iter().find(|e| e.id == employee_id)?;
        Some(self.role_for(e))
    }

    fn role_for(&self, e: &DirectoryEmployee) -> String {
        self.roles
            .get(&e.id)
            .or(e.suggested_role.as_ref())
            .cloned()
            .unwrap_or_else(|| self.default_role.clone())
    }

    /// Sets (or, with `None` or blank text, clears) the filter on `field`:
    /// rows whose value contains `text`, ignoring case. Filters on
    /// several fields all apply. The selection is not touched.
    pub fn set_filter(&mut self, field: DirectoryField, text: Option<&str>) -> Result<()> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => {
                check_max_bytes("filter", t, MAX_FILTER_BYTES)?;
                self.filters.insert(field, fold(t));
            }
            None => {
                self.filters.remove(&field);
            }
        }
        Ok(())
    }

    /// Clears every filter (the selection stays).
    pub fn clear_filters(&mut self) {
        self.filters.clear();
    }

    /// The filters in force, by field (their text lowercased).
    pub fn filters(&self) -> Vec<(DirectoryField, String)> {
        self.filters.iter().map(|(f, t)| (*f, t.clone())).collect()
    }

    /// Sorts the list by `field` (ties by employee id), descending or not;
    /// `None`: the directory's order.
    pub fn set_sort(&mut self, sort: Option<(DirectoryField, bool)>) {
        self.sort = sort;
    }

    /// The sort in force.
    pub fn sort(&self) -> Option<(DirectoryField, bool)> {
        self.sort
    }

    /// The ids of the rows the filters let through, in the directory's
    /// order.
    fn filtered_ids(&self) -> Vec<String> {
        self.employees
            .iter()
            .filter(|e| self.passes(e))
            .map(|e| e.id.clone())
            .collect()
    }

    fn passes(&self, e: &DirectoryEmployee) -> bool {
        let role = self.role_for(e);
        self.filters
            .iter()
            .all(|(f, t)| fold(&field_value(e, &role, *f)).contains(t.as_str()))
    }

    /// The rows the filters let through, sorted.
    pub fn visible(&self) -> Vec<DirectoryRow> {
        let mut rows: Vec<DirectoryRow> = self
            .employees
            .iter()
            .filter(|e| self.passes(e))
            .map(|e| DirectoryRow {
                selected: self.selected.contains(&e.id),
                role: self.role_for(e),
                employee: e.clone(),
            })
            .collect();
        if let Some((field, desc)) = self.sort {
            rows.sort_by(|a, b| {
                let ka = fold(&field_value(&a.employee, &a.role, field));
                let kb = fold(&field_value(&b.employee, &b.role, field));
                let o = ka.cmp(&kb).then_with(|| a.employee.id.cmp(&b.employee.id));
                if desc { o.reverse() } else { o }
            });
        }
        rows
    }

    /// Selects listed employees by id (ids not listed are ignored); returns
    /// how many are selected now.
    pub fn select(&mut self, ids: &[String]) -> usize {
        for id in ids {
            if self.employees.iter().any(|e| &e.id == id) {
                self.selected.insert(id.clone());
            }
        }
        self.selected.len()
    }

    /// Deselects employees by id; returns how many are selected now.
    pub fn deselect(&mut self, ids: &[String]) -> usize {
        for id in ids {
            self.selected.remove(id);
        }
        self.selected.len()
    }

    /// Selects every row the filters let through (the checkbox of the
    /// header); returns how many are selected now.
    pub fn select_all_filtered(&mut self) -> usize {
        let ids = self.filtered_ids();
        self.selected.extend(ids);
        self.selected.len()
    }

    /// Deselects every row the filters let through; returns how many are
    /// selected now.
    pub fn deselect_all_filtered(&mut self) -> usize {
        let ids = self.filtered_ids();
        for id in ids {
            self.selected.remove(&id);
        }
        self.selected.len()
    }

    /// Deselects everyone.
    pub fn clear_selection(&mut self) {
        self.selected.clear();
    }

    /// The selected employees' ids, in the directory's order.
    pub fn selected(&self) -> Vec<String> {
        self.selected_employees().map(|e| e.id.clone()).collect()
    }

    fn selected_employees(&self) -> impl Iterator<Item = &DirectoryEmployee> + '_ {
        self.employees
            .iter()
            .filter(|e| self.selected.contains(&e.id))
    }

    /// Sets the role of one listed employee ("Role" drop-down of a row).
    pub fn set_role(&mut self, employee_id: &str, role: &str) -> Result<()> {
        check_max_bytes("role", role, MAX_KEY_BYTES)?;
        if !self.employees.iter().any(|e| e.id == employee_id) {
            return Err(Error::invalid(
                "employee_id",
                "not an employee listed by the assistant",
            ));
        }
        self.roles
            .insert(employee_id.to_owned(), role.trim().to_owned());
        Ok(())
    }

    /// Sets the role of every selected employee ("Change Role"); returns
    /// how many.
    pub fn set_role_for_selection(&mut self, role: &str) -> Result<usize> {
        check_max_bytes("role", role, MAX_KEY_BYTES)?;
        let ids = self.selected();
        for id in &ids {
            self.roles.insert(id.clone(), role.trim().to_owned());
        }
        Ok(ids.len())
    }

    /// Forgets the role set for an employee (back to the suggested or
    /// default role).
    pub fn reset_role(&mut self, employee_id: &str) {
        self.roles.remove(employee_id);
    }
}

/// One row of the review: the employee, the role they get, and (in
/// [`DirectoryReview::errors`]) why no invitation can be sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DirectoryReviewRow {
    /// The employee.
    pub employee: DirectoryEmployee,
    /// The role they get.
    pub role: String,
    /// Why they cannot be invited (`None` in `to_send`): no email on file
    /// ([`RejectReason::MissingContact`]), an unusable address, the same
    /// address as an employee before them ([`RejectReason::DuplicateInBatch`],
    /// whose `first_index` is a position in the selection), already a
    /// member or invited, a role that does not exist or that the actor may
    /// not give ([`RejectReason::InvalidField`]).
    pub reason: Option<RejectReason>,
}

/// The review step: "Invitations to send" and "Invitation errors", in the
/// selection's order. Nothing was written to make it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DirectoryReview {
    /// The employees who would get an invitation.
    pub to_send: Vec<DirectoryReviewRow>,
    /// The employees who would not, each with the reason.
    pub errors: Vec<DirectoryReviewRow>,
    /// At most this many can be sent at once (the policy's `max_batch`).
    pub max_batch: u32,
}

/// What [`Enlist::directory_send`] did: the batch's [`InviteReport`], whose
/// indexes are positions in `employees` (the selection, in the directory's
/// order), and the two downloadable reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DirectorySendReport {
    /// The batch: `issued` are the Invitations report's rows, `rejected`
    /// the Errors report's (including those the review refused before the
    /// batch, such as a role the actor may not give).
    pub report: InviteReport,
    /// The selected employees, in the order the report's indexes count.
    pub employees: Vec<DirectoryEmployee>,
}

impl DirectorySendReport {
    /// The Invitations report as CSV
    /// (`employee_id,name,email,role,status,invitation_id`): the employees
    /// whose invitation was sent. Holds no secrets.
    pub fn invitations_csv(&self) -> String {
        let mut out = String::from("employee_id,name,email,role,status,invitation_id\n");
        for i in &self.report.issued {
            let Some(e) = self.employees.get(i.index) else {
                continue;
            };
            out.push_str(&csv_row(&[
                &e.id,
                &e.name(),
                i.invitation.recipient.as_str(),
                &i.invitation.role,
                i.invitation.status.as_str(),
                i.invitation.id.as_str(),
            ]));
            out.push('\n');
        }
        out
    }

    /// The Errors report as CSV (`employee_id,name,email,reason_code,reason`):
    /// the employees who got no invitation, and why.
    pub fn errors_csv(&self) -> String {
        let mut out = String::from("employee_id,name,email,reason_code,reason\n");
        for r in &self.report.rejected {
            let Some(e) = self.employees.get(r.index) else {
                continue;
            };
            out.push_str(&csv_row(&[
                &e.id,
                &e.name(),
                e.email.as_deref().unwrap_or_default(),
                r.reason.code(),
                &r.reason.to_string(),
            ]));
            out.push('\n');
        }
        out
    }
}

/// The assistant invites members: who may invite members and see who is a
/// member already (the list tells both).
fn may_use_assistant(auth: &Auth) -> Result<()> {
    if auth.is_guest() {
        return Err(auth.deny(Permission::InviteMembers, "guests cannot invite"));
    }
    auth.require(Permission::InviteMembers)?;
    auth.require(Permission::ViewMembers)
}

/// A role name as the directory may write it (`User admin`) resolved to
/// the organization's (`user_admin`); unknown names are kept as given.
fn resolve_role(o: &Organization, name: &str) -> String {
    if o.role(name).is_some() {
        return name.to_owned();
    }
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let want = key(name);
    o.roles()
        .into_iter()
        .find(|r| key(&r.name) == want)
        .map_or_else(|| name.to_owned(), |r| r.name)
}

/// A selected employee's email parsed: its key, or why it cannot be
/// invited.
fn email_key(e: &DirectoryEmployee) -> std::result::Result<String, RejectReason> {
    match e.email.as_deref() {
        None => Err(RejectReason::MissingContact),
        Some(a) => parse_address(a)
            .map(|m| m.key.into_owned())
            .map_err(|error| RejectReason::InvalidAddress { error }),
    }
}

fn blocked(s: &KeyStanding) -> Option<RejectReason> {
    if let Some(m) = &s.member {
        return Some(RejectReason::AlreadyMember { member: m.clone() });
    }
    s.invitation.as_ref().map(|i| RejectReason::AlreadyInvited {
        invitation: i.clone(),
    })
}

impl Enlist {
    fn directory_authorize(&self, org: &OrgId, actor: &Actor) -> Result<Organization> {
        self.run_read("directory.authorize", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            may_use_assistant(&auth)?;
            Ok(o)
        })
    }

    /// Starts the assistant: the actor is authorized (they must be allowed
    /// to invite members and to view members), then the source's companies
    /// are read and checked. With exactly one company it is chosen and its
    /// employees loaded at once ("If you do not have multiple companies in
    /// your enterprise, skip this step").
    pub fn directory_start(
        &self,
        org: &OrgId,
        actor: &Actor,
        source: &dyn DirectorySource,
    ) -> Result<DirectoryAssistant> {
        let o = self.directory_authorize(org, actor)?;
        let companies = check_companies(source.companies()?)?;
        let mut assistant = DirectoryAssistant {
            org_id: o.id.clone(),
            companies,
            company: None,
            employees: Vec::new(),
            already_in: 0,
            inactive: 0,
            filters: BTreeMap::new(),
            sort: None,
            selected: BTreeSet::new(),
            roles: BTreeMap::new(),
            default_role: default_role_for(&o, MemberKind::Member),
        };
        if let [only] = assistant.companies.as_slice() {
            let id = only.id.clone();
            self.load_company(&o, actor, source, &mut assistant, &id)?;
        }
        Ok(assistant)
    }

    /// Chooses a company (or loads the chosen one again): its employees
    /// are read from the source and checked, and those active and neither
    /// members nor invited (asked of the store in one query for the whole
    /// list) are listed. Choosing another company clears the selection and
    /// the roles set; loading the same one again keeps them for the
    /// employees still listed.
    pub fn directory_choose_company(
        &self,
        org: &OrgId,
        actor: &Actor,
        source: &dyn DirectorySource,
        assistant: &mut DirectoryAssistant,
        company_id: &str,
    ) -> Result<()> {
        check_max_bytes("company_id", company_id, MAX_KEY_BYTES)?;
        if &assistant.org_id != org {
            return Err(Error::invalid(
                "assistant",
                "was started for another organization",
            ));
        }
        if !assistant.companies.iter().any(|c| c.id == company_id) {
            return Err(Error::invalid(
                "company_id",
                format!("no company {company_id:?} in the directory"),
            ));
        }
        let o = self.directory_authorize(org, actor)?;
        self.load_company(&o, actor, source, assistant, company_id)
    }

    fn load_company(
        &self,
        o: &Organization,
        actor: &Actor,
        source: &dyn DirectorySource,
        a: &mut DirectoryAssistant,
        company_id: &str,
    ) -> Result<()> {
        let all = check_employees(source.employees(company_id)?)?;
        let (active, inactive): (Vec<_>, Vec<_>) = all.into_iter().partition(|e| e.is_active());
        let keys: Vec<Option<String>> = active.iter().map(|e| email_key(e).ok()).collect();
        let wanted: Vec<String> = keys.iter().flatten().cloned().collect();
        let standing = self.standing_of(&o.id, actor, &wanted)?;
        let mut listed = Vec::with_capacity(active.len());
        let mut already_in = 0;
        for (e, key) in active.into_iter().zip(keys) {
            if key.is_some_and(|k| standing.contains_key(&k)) {
                already_in += 1;
            } else {
                listed.push(e);
            }
        }
        if a.company.as_deref() != Some(company_id) {
            a.selected.clear();
            a.roles.clear();
        }
        a.company = Some(company_id.to_owned());
        a.selected.retain(|id| listed.iter().any(|e| &e.id == id));
        a.roles.retain(|id, _| listed.iter().any(|e| &e.id == id));
        // Suggested roles written the directory's way are resolved once.
        for e in &mut listed {
            if let Some(r) = &e.suggested_role {
                e.suggested_role = Some(resolve_role(o, r));
            }
        }
        a.employees = listed;
        a.already_in = already_in;
        a.inactive = inactive.len();
        a.default_role = default_role_for(o, MemberKind::Member);
        Ok(())
    }

    /// The standing of many contact keys, in one read transaction and one
    /// store call (chunked by [`MAX_STANDING_KEYS`]).
    fn standing_of(
        &self,
        org: &OrgId,
        actor: &Actor,
        keys: &[String],
    ) -> Result<HashMap<String, KeyStanding>> {
        self.run_read("directory.standing", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            may_use_assistant(&auth)?;
            let mut out = HashMap::new();
            for chunk in keys.chunks(MAX_STANDING_KEYS) {
                out.extend(cx.tx.standing(org, chunk, cx.now)?);
            }
            Ok(out)
        })
    }

    /// The review step: for every selected employee, in the directory's
    /// order, either "to send" or an error with its reason (see
    /// [`DirectoryReviewRow::reason`]). Read-only: the members and open
    /// invitations are asked of the store again, in one query, so a person
    /// invited by someone else since the list was loaded shows as already
    /// invited.
    pub fn directory_review(
        &self,
        org: &OrgId,
        actor: &Actor,
        assistant: &DirectoryAssistant,
    ) -> Result<DirectoryReview> {
        let (o, auth) = self.assistant_prologue(org, actor, assistant, "directory.review")?;
        let rows = self.review_rows(&o, &auth, actor, assistant)?;
        let (to_send, errors) = rows.into_iter().partition(|r| r.reason.is_none());
        Ok(DirectoryReview {
            to_send,
            errors,
            max_batch: o.policy.max_batch,
        })
    }

    /// What the review and the send check first: the assistant is this
    /// organization's, and the actor may use the assistant (read-only).
    fn assistant_prologue(
        &self,
        org: &OrgId,
        actor: &Actor,
        assistant: &DirectoryAssistant,
        command: &'static str,
    ) -> Result<(Organization, Auth)> {
        if &assistant.org_id != org {
            return Err(Error::invalid(
                "assistant",
                "was started for another organization",
            ));
        }
        self.run_read(command, |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            may_use_assistant(&auth)?;
            Ok((o, auth))
        })
    }

    fn review_rows(
        &self,
        o: &Organization,
        auth: &Auth,
        actor: &Actor,
        a: &DirectoryAssistant,
    ) -> Result<Vec<DirectoryReviewRow>> {
        // An assistant comes back from the host's session: no bigger than
        // one the engine makes.
        if a.employees.len() > MAX_DIRECTORY_EMPLOYEES {
            return Err(Error::LimitExceeded {
                limit: crate::error::LimitKind::ImportRows,
                max: MAX_DIRECTORY_EMPLOYEES as u64,
                actual: a.employees.len() as u64,
                detail: Some("employees in the assistant".into()),
            });
        }
        let selected: Vec<&DirectoryEmployee> = a.selected_employees().collect();
        let keys: Vec<std::result::Result<String, RejectReason>> =
            selected.iter().map(|e| email_key(e)).collect();
        let wanted: Vec<String> = keys.iter().flatten().cloned().collect();
        let standing = self.standing_of(&o.id, actor, &wanted)?;
        let mut first: HashMap<&str, usize> = HashMap::new();
        let mut role_ok: HashMap<String, Option<String>> = HashMap::new();
        let mut rows = Vec::with_capacity(selected.len());
        for (i, (e, key)) in selected.into_iter().zip(&keys).enumerate() {
            let role = a.role_for(e);
            let role_problem = role_ok
                .entry(role.clone())
                .or_insert_with(|| {
                    if o.role(&role).is_none() {
                        return Some(format!("no role {role:?} in the organization"));
                    }
                    authorize_invite(o, auth, &role, MemberKind::Member, &[])
                        .err()
                        .map(|e| e.to_string())
                })
                .clone();
            // A role problem first: such a row must stay out of the batch,
            // which it would fail as a whole.
            let reason = role_problem.map(|reason| RejectReason::InvalidField { reason });
            let reason = reason.or_else(|| match key {
                Err(r) => Some(r.clone()),
                Ok(k) => match first.get(k.as_str()) {
                    Some(&first_index) => Some(RejectReason::DuplicateInBatch { first_index }),
                    None => {
                        first.insert(k, i);
                        standing.get(k).and_then(blocked)
                    }
                },
            });
            rows.push(DirectoryReviewRow {
                employee: e.clone(),
                role,
                reason,
            });
        }
        Ok(rows)
    }

    /// Sends the invitations ("Send"): every selected employee the review
    /// lets through is invited in one batch through [`Enlist::invite`]
    /// (same rules, events, emails and report), with their names, email
    /// and role; the others are in the report's `rejected` with their
    /// reason. The batch is refused as a whole when more employees would
    /// be invited than the policy's `max_batch` (select fewer and send
    /// again: the ones sent are no longer listed once the company is
    /// loaded again), and refused with [`Error::InvalidInput`] on the field
    /// `selection` when nobody is selected.
    pub fn directory_send(
        &self,
        org: &OrgId,
        actor: &Actor,
        assistant: &DirectoryAssistant,
        message: Option<&str>,
    ) -> Result<DirectorySendReport> {
        let message = clean_text("message", message, MAX_MESSAGE_CHARS)?;
        let (o, auth) =
            self.assistant_prologue(org, actor, assistant, "directory.send.authorize")?;
        let rows = self.review_rows(&o, &auth, actor, assistant)?;
        if rows.is_empty() {
            return Err(Error::invalid("selection", "no employee is selected"));
        }
        let mut pre_rejected = Vec::new();
        let mut sent_rows: Vec<usize> = Vec::new();
        let mut list = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            match &r.reason {
                // Refused before the batch: these would fail it as a whole.
                Some(reason @ RejectReason::InvalidField { .. }) => {
                    pre_rejected.push(RejectedRecipient {
                        index: i,
                        input: r
                            .employee
                            .email
                            .clone()
                            .unwrap_or_else(|| r.employee.name()),
                        reason: reason.clone(),
                    });
                }
                // The rest go through the invite path, which decides again
                // under the write transaction.
                _ => {
                    sent_rows.push(i);
                    list.push(RecipientInput {
                        email: r.employee.email.clone(),
                        first_name: r.employee.first_name.clone(),
                        last_name: r.employee.last_name.clone(),
                        display_name: r.employee.display_name.clone(),
                        role: Some(r.role.clone()),
                        ..RecipientInput::default()
                    });
                }
            }
        }
        let mut req = InviteRequest::new(Recipients::List(list));
        req.message = message;
        let mut report = self.invite(org, actor, req)?;
        for i in &mut report.issued {
            i.index = sent_rows.get(i.index).copied().unwrap_or(i.index);
        }
        for r in &mut report.rejected {
            r.index = sent_rows.get(r.index).copied().unwrap_or(r.index);
            if let RejectReason::DuplicateInBatch { first_index } = &mut r.reason {
                *first_index = sent_rows.get(*first_index).copied().unwrap_or(*first_index);
            }
        }
        report.rejected.extend(pre_rejected);
        report.rejected.sort_by_key(|r| r.index);
        Ok(DirectorySendReport {
            report,
            employees: rows.into_iter().map(|r| r.employee).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::MemoryDirectory;
    use crate::engine::test_support as ts;
    use crate::engine::{CreatedOrganization, NewOrganization};
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn emp(id: &str, first: &str, email: Option<&str>, title: &str) -> DirectoryEmployee {
        let mut e = DirectoryEmployee::new(id);
        e.first_name = Some(first.into());
        e.email = email.map(str::to_owned);
        e.job_title = Some(title.into());
        e
    }

    /// A source that counts its calls.
    struct Counting(MemoryDirectory, AtomicUsize);
    impl DirectorySource for Counting {
        fn companies(&self) -> Result<Vec<DirectoryCompany>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.companies()
        }
        fn employees(&self, c: &str) -> Result<Vec<DirectoryEmployee>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0.employees(c)
        }
    }

    fn setup() -> (Enlist, OrgId, Actor) {
        let engine = Enlist::in_memory();
        let (org, owner) = ts::org(
            &engine,
            "acct-1",
            "owner@acme.test",
            crate::Policy::default(),
        );
        (engine, org, owner)
    }

    fn join(engine: &Enlist, org: &OrgId, email: &str, role: &str, user: &str) -> Actor {
        let m = ts::member_with_role(engine, org, &Actor::System, (email, role), user, ("F", "L"));
        Actor::Member(m.id)
    }

    fn staff() -> MemoryDirectory {
        let mut gone = emp("9", "Gus", Some("gus@acme.test"), "Driver");
        gone.employment_status = "Terminated".into();
        MemoryDirectory::new()
            .with_company(
                "acme",
                "Acme",
                vec![
                    emp("1", "Ada", Some("ada@acme.test"), "Accountant"),
                    emp("2", "Bob", Some("bob@acme.test"), "Driver"),
                    emp("3", "Cy", None, "Accountant"),
                    emp("4", "Di", Some("owner@acme.test"), "CEO"),
                    emp("5", "Ed", Some("ED@acme.test"), "Accountant"),
                    emp("6", "Flo", Some("ed@acme.test"), "Clerk"),
                    emp("7", "Gil", Some("not an address"), "Clerk"),
                    gone,
                ],
            )
            .with_company(
                "globex",
                "Globex",
                vec![emp("1", "Hal", Some("hal@globex.test"), "Driver")],
            )
    }

    #[test]
    fn an_actor_who_may_not_invite_is_refused_before_the_source_is_read() {
        let (engine, org, owner) = setup();
        let plain = join(&engine, &org, "pat@acme.test", "member", "acct-pat");
        let src = Counting(staff(), AtomicUsize::new(0));
        let err = engine.directory_start(&org, &plain, &src).unwrap_err();
        assert_eq!(err.code(), "permission_denied", "{err}");
        assert_eq!(src.1.load(Ordering::SeqCst), 0, "the source was called");
        // And with an assistant in hand (kept from someone else's session).
        let mut a = engine.directory_start(&org, &owner, &src).unwrap();
        let calls = src.1.load(Ordering::SeqCst);
        let err = engine
            .directory_choose_company(&org, &plain, &src, &mut a, "acme")
            .unwrap_err();
        assert_eq!(err.code(), "permission_denied");
        assert_eq!(src.1.load(Ordering::SeqCst), calls);
        assert!(engine.directory_review(&org, &plain, &a).is_err());
        assert!(engine.directory_send(&org, &plain, &a, None).is_err());
        // Guests too.
        let other = Enlist::in_memory();
        let err = other.directory_start(&org, &owner, &src).unwrap_err();
        assert_eq!(err.code(), "not_found");
    }

    #[test]
    fn the_list_is_active_employees_who_are_neither_members_nor_invited() {
        let (engine, org, owner) = setup();
        engine
            .invite(
                &org,
                &owner,
                InviteRequest::new(Recipients::Paste("bob@acme.test".into())),
            )
            .unwrap();
        let mut a = engine.directory_start(&org, &owner, &staff()).unwrap();
        assert!(a.needs_company());
        assert!(a.employees().is_empty());
        engine
            .directory_choose_company(&org, &owner, &staff(), &mut a, "acme")
            .unwrap();
        let ids: Vec<&str> = a.employees().iter().map(|e| e.id.as_str()).collect();
        // Bob is invited, Di is the owner, Gus is terminated.
        assert_eq!(ids, ["1", "3", "5", "6", "7"]);
        assert_eq!(a.left_out(), (2, 1));
        assert_eq!(a.company().map(|c| c.name.as_str()), Some("Acme"));
        assert!(!a.needs_company());
        // Unknown company, or an assistant of another organization.
        assert!(
            engine
                .directory_choose_company(&org, &owner, &staff(), &mut a, "initech")
                .is_err()
        );
        let (_, org2, owner2) = {
            let CreatedOrganization {
                organization,
                owner,
                ..
            } = engine
                .create_organization(NewOrganization::new("B", "acct-2", "b@b.test"))
                .unwrap();
            ((), organization.id, Actor::Member(owner.id))
        };
        assert_eq!(
            engine
                .directory_review(&org2, &owner2, &a)
                .unwrap_err()
                .code(),
            "invalid_input"
        );
    }

    #[test]
    fn filters_sort_selection_and_roles() {
        let (engine, org, owner) = setup();
        let mut a = engine.directory_start(&org, &owner, &staff()).unwrap();
        engine
            .directory_choose_company(&org, &owner, &staff(), &mut a, "acme")
            .unwrap();
        a.set_filter(DirectoryField::JobTitle, Some("ACCOUNT"))
            .unwrap();
        assert_eq!(a.visible().len(), 3);
        assert_eq!(a.select_all_filtered(), 3);
        a.clear_filters();
        a.set_filter(DirectoryField::JobTitle, Some("clerk"))
            .unwrap();
        a.select(&["7".into(), "nobody".into()]);
        a.set_filter(DirectoryField::JobTitle, None).unwrap();
        assert_eq!(a.selected(), ["1", "3", "5", "7"]);
        a.set_sort(Some((DirectoryField::Name, true)));
        let names: Vec<String> = a.visible().iter().map(|r| r.employee.name()).collect();
        assert_eq!(names, ["Gil", "Flo", "Ed", "Cy", "Bob", "Ada"]);
        assert_eq!(a.role_of("1").as_deref(), Some("member"));
        assert_eq!(a.set_role_for_selection("user_admin").unwrap(), 4);
        a.set_role("5", "member").unwrap();
        assert_eq!(a.role_of("1").as_deref(), Some("user_admin"));
        assert_eq!(a.role_of("5").as_deref(), Some("member"));
        assert!(a.set_role("nobody", "member").is_err());
        assert!(
            a.set_filter(DirectoryField::Name, Some(&"x".repeat(300)))
                .is_err()
        );
        // The value survives a trip through the session.
        let json = serde_json::to_string(&a).unwrap();
        let back: DirectoryAssistant = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        // Choosing the other company starts a new selection.
        engine
            .directory_choose_company(&org, &owner, &staff(), &mut a, "globex")
            .unwrap();
        assert!(a.selected().is_empty());
    }

    #[test]
    fn review_and_send_report_every_selected_employee_once() {
        let (engine, org, owner) = setup();
        let mut a = engine.directory_start(&org, &owner, &staff()).unwrap();
        engine
            .directory_choose_company(&org, &owner, &staff(), &mut a, "acme")
            .unwrap();
        a.select(&["1".into(), "3".into(), "5".into(), "6".into(), "7".into()]);
        a.set_role("7", "no_such_role").unwrap();
        // Someone else invites Ada after the list was loaded.
        engine
            .invite(
                &org,
                &owner,
                InviteRequest::new(Recipients::Paste("ada@acme.test".into())),
            )
            .unwrap();
        let review = engine.directory_review(&org, &owner, &a).unwrap();
        let sent: Vec<&str> = review
            .to_send
            .iter()
            .map(|r| r.employee.id.as_str())
            .collect();
        assert_eq!(sent, ["5"]);
        let errors: Vec<(&str, &str)> = review
            .errors
            .iter()
            .map(|r| (r.employee.id.as_str(), r.reason.as_ref().unwrap().code()))
            .collect();
        assert_eq!(
            errors,
            [
                ("1", "already_invited"),
                ("3", "missing_contact"),
                ("6", "duplicate_in_batch"),
                ("7", "invalid_field"),
            ]
        );
        assert_eq!(review.max_batch, 100);
        let before = engine
            .store()
            .begin()
            .unwrap()
            .events(&org, 0, 1000)
            .unwrap()
            .len();
        let out = engine
            .directory_send(&org, &owner, &a, Some("Welcome"))
            .unwrap();
        assert_eq!(out.report.issued.len(), 1);
        assert_eq!(out.report.issued[0].index, 2);
        assert_eq!(out.report.rejected.len(), 4);
        let idx: Vec<usize> = out.report.rejected.iter().map(|r| r.index).collect();
        assert_eq!(idx, [0, 1, 3, 4]);
        assert!(matches!(
            out.report.rejected[2].reason,
            RejectReason::DuplicateInBatch { first_index: 2 }
        ));
        let after = engine
            .store()
            .begin()
            .unwrap()
            .events(&org, 0, 1000)
            .unwrap()
            .len();
        assert_eq!(after - before, 1, "one event for the one invitation");
        let inv = out.invitations_csv();
        assert!(inv.starts_with("employee_id,name,email,role,status,invitation_id\n"));
        assert!(inv.contains("5,Ed,ED@acme.test,member,pending,"), "{inv}");
        let token = out.report.issued[0].secret.clone().unwrap();
        assert!(!inv.contains(token.expose()) && !out.errors_csv().contains(token.expose()));
        let err = out.errors_csv();
        assert_eq!(err.lines().count(), 5, "{err}");
        assert!(err.contains("3,Cy,,missing_contact,"), "{err}");
        // Reloading: Ed is invited now and no longer listed.
        engine
            .directory_choose_company(&org, &owner, &staff(), &mut a, "acme")
            .unwrap();
        assert!(!a.employees().iter().any(|e| e.id == "5" || e.id == "1"));
        // Flo shares the address Ed was invited at: no longer listed either.
        assert_eq!(a.selected(), ["3", "7"]);
    }

    #[test]
    fn sending_nothing_is_refused_and_all_pre_rejected_sends_no_batch() {
        let (engine, org, owner) = setup();
        let mut a = engine.directory_start(&org, &owner, &staff()).unwrap();
        engine
            .directory_choose_company(&org, &owner, &staff(), &mut a, "acme")
            .unwrap();
        let err = engine.directory_send(&org, &owner, &a, None).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field, .. } if field == "selection"),
            "{err}"
        );
        a.select(&["1".into()]);
        a.set_role("1", "no_such_role").unwrap();
        let before = engine
            .store()
            .begin()
            .unwrap()
            .events(&org, 0, 1000)
            .unwrap()
            .len();
        let out = engine.directory_send(&org, &owner, &a, None).unwrap();
        assert!(out.report.issued.is_empty());
        assert_eq!(out.report.rejected.len(), 1);
        let after = engine
            .store()
            .begin()
            .unwrap()
            .events(&org, 0, 1000)
            .unwrap()
            .len();
        assert_eq!(before, after);
    }

    #[test]
    fn an_assistant_grown_in_the_session_is_refused_before_any_lookup() {
        let (engine, org, owner) = setup();
        let mut a = engine.directory_start(&org, &owner, &staff()).unwrap();
        a.employees = (0..=MAX_DIRECTORY_EMPLOYEES)
            .map(|i| emp(&i.to_string(), "N", Some("x@acme.test"), "T"))
            .collect();
        a.select_all_filtered();
        let err = engine.directory_review(&org, &owner, &a).unwrap_err();
        assert_eq!(err.code(), "limit_exceeded");
        let err = engine.directory_send(&org, &owner, &a, None).unwrap_err();
        assert_eq!(err.code(), "limit_exceeded");
    }

    #[test]
    fn a_role_the_actor_may_not_give_is_an_error_of_its_rows_only() {
        let (engine, org, _) = setup();
        let admin = join(&engine, &org, "adm@acme.test", "user_admin", "acct-adm");
        let mut a = engine.directory_start(&org, &admin, &staff()).unwrap();
        engine
            .directory_choose_company(&org, &admin, &staff(), &mut a, "acme")
            .unwrap();
        a.select(&["1".into(), "5".into()]);
        a.set_role("1", "owner").unwrap();
        let out = engine.directory_send(&org, &admin, &a, None).unwrap();
        assert_eq!(out.report.issued.len(), 1);
        assert_eq!(out.report.rejected[0].reason.code(), "invalid_field");
        assert_eq!(out.report.rejected[0].index, 0);
    }

    #[test]
    fn the_list_and_the_review_ask_the_store_once_for_every_employee() {
        let calls = counting::Calls::default();
        let engine = Enlist::new(std::sync::Arc::new(counting::CountingStore {
            inner: crate::MemoryStore::new(),
            calls: calls.clone(),
        }));
        let CreatedOrganization {
            organization: org,
            owner,
            ..
        } = engine
            .create_organization(NewOrganization::new("Acme", "acct-1", "owner@acme.test"))
            .unwrap();
        let owner = Actor::Member(owner.id);
        let list: Vec<DirectoryEmployee> = (0..2_000)
            .map(|i| {
                emp(
                    &i.to_string(),
                    "N",
                    Some(&format!("p{i}@acme.test")),
                    "Clerk",
                )
            })
            .collect();
        let dir = MemoryDirectory::new().with_company("acme", "Acme", list);
        calls.lock().unwrap().clear();
        let mut a = engine.directory_start(&org.id, &owner, &dir).unwrap();
        assert_eq!(a.employees().len(), 2_000);
        let c = calls.lock().unwrap().clone();
        assert_eq!(c.get("standing"), Some(&1), "{c:?}");
        assert_eq!(c.get("member_by_contact"), None, "{c:?}");
        assert_eq!(c.get("open_invitation_for"), None, "{c:?}");
        a.select_all_filtered();
        calls.lock().unwrap().clear();
        let review = engine.directory_review(&org.id, &owner, &a).unwrap();
        assert_eq!(review.to_send.len(), 2_000);
        let c = calls.lock().unwrap().clone();
        assert_eq!(c.get("standing"), Some(&1), "{c:?}");
        assert_eq!(c.get("member_by_contact"), None, "{c:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever filters and sorts are set and cleared, the selection
        /// is what was selected; and the review never lists a member or an
        /// invited person as to send.
        #[test]
        fn the_selection_survives_filters_and_review_never_sends_to_the_known(
            ops in proptest::collection::vec((0u8..6, 0usize..10, "[a-e]{0,2}"), 0..40),
            members in proptest::collection::vec(0usize..10, 0..5),
        ) {
            let (engine, org, owner) = setup();
            let titles = ["Accountant", "Driver", "Clerk", "Cook", "Dean"];
            let list: Vec<DirectoryEmployee> = (0..10)
                .map(|i| emp(&i.to_string(), &format!("N{i}"), Some(&format!("p{i}@acme.test")), titles[i % 5]))
                .collect();
            let dir = MemoryDirectory::new().with_company("acme", "Acme", list);
            let mut a = engine.directory_start(&org, &owner, &dir).unwrap();
            let mut expected: BTreeSet<String> = BTreeSet::new();
            let fields = [DirectoryField::JobTitle, DirectoryField::Name, DirectoryField::Email];
            for (op, n, text) in ops {
                let id = n.to_string();
                match op {
                    0 => { a.set_filter(fields[n % 3], Some(&text)).unwrap(); }
                    1 => a.clear_filters(),
                    2 => a.set_sort(Some((fields[n % 3], n % 2 == 0))),
                    3 => { a.select(std::slice::from_ref(&id)); expected.insert(id); }
                    4 => { a.deselect(std::slice::from_ref(&id)); expected.remove(&id); }
                    _ => {
                        let visible: Vec<String> = a.visible().into_iter().map(|r| r.employee.id).collect();
                        a.select_all_filtered();
                        expected.extend(visible);
                    }
                }
                prop_assert_eq!(a.selected().into_iter().collect::<BTreeSet<_>>(), expected.clone());
            }
            // Some become members or get invited behind the assistant's back.
            for m in &members {
                engine.invite(&org, &owner, InviteRequest::new(Recipients::Paste(format!("p{m}@acme.test")))).unwrap();
            }
            let review = engine.directory_review(&org, &owner, &a).unwrap();
            for r in &review.to_send {
                let n: usize = r.employee.id.parse().unwrap();
                prop_assert!(!members.contains(&n), "{} is invited", n);
            }
            prop_assert_eq!(review.to_send.len() + review.errors.len(), expected.len());
        }
    }
}

/// A store that counts the calls of each `Transaction` method: the proof
/// that the list is answered in one query, not one per employee.
#[cfg(test)]
mod counting {
    use crate::store::{Store, StoreResult, Transaction};
    use crate::{ForwardingTx, TxCall, TxHooks};
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    pub(super) type Calls = Arc<Mutex<BTreeMap<&'static str, usize>>>;

    pub(super) struct CountingStore {
        pub(super) inner: crate::MemoryStore,
        pub(super) calls: Calls,
    }

    impl Store for CountingStore {
        fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
            Ok(Box::new(ForwardingTx::new(
                self.inner.begin()?,
                Count(self.calls.clone()),
            )))
        }
    }

    struct Count(Calls);

    impl TxHooks for Count {
        fn before(&mut self, call: TxCall) -> StoreResult<()> {
            if let Ok(mut c) = self.0.lock() {
                *c.entry(call.method).or_default() += 1;
            }
            Ok(())
        }
    }
}

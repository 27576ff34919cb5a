//! Bulk invitations from an import file ("Bulk invite of member users":
//! the Excel file template filled in with one future user per row, by email
//! or by identifier). The file is read by [`crate::import_file`]; this command
//! resolves what the rows name and issues them through [`Enlist::invite`].

use super::invite::authorize_invite;
use super::{Auth, Enlist, MAX_MESSAGE_CHARS, clean_text, csv_row};
use super::{
    InviteReport, InviteRequest, IssuedInvitation, RecipientInput, Recipients, RejectReason,
};
use crate::error::{Error, Result};
use crate::event::Actor;
use crate::group::{Group, GroupGrant};
use crate::id::{InvitationId, OrgId};
use crate::import_file::{ImportFormat, ImportLimits, ImportRow, ImportRowError, parse_import};
use crate::member::MemberKind;
use crate::organization::Organization;
use crate::role::Permission;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What every row of an import gets unless its own cells say otherwise
/// (a row's groups cell, when filled in, replaces the default groups).
///
/// In Kotlin and Swift `kind` is required (uniffi cannot default an enum
/// field): `kind = MemberKind.MEMBER` is Rust's default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[non_exhaustive]
pub struct ImportDefaults {
    /// Member or guest.
    pub kind: MemberKind,
    /// The organization role (default: `member`, or `guest` for guests).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// Groups with group roles, by id.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub groups: Vec<GroupGrant>,
    /// License type (default [`DEFAULT_LICENSE`](crate::DEFAULT_LICENSE)).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub license_type: Option<String>,
    /// A personal message for the emails.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub message: Option<String>,
    /// `true` (default): send now. `false`: save as staged.
    #[cfg_attr(feature = "uniffi", uniffi(default = true))]
    pub send: bool,
    /// The language of the emails (a row's `locale` column wins).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub locale: Option<String>,
    /// The invitations' own lifetime in seconds (a row's `expires in
    /// days` column wins), within the policy's bounds.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lifetime_secs: Option<u64>,
}

impl Default for ImportDefaults {
    fn default() -> Self {
        Self {
            role: None,
            kind: MemberKind::Member,
            groups: Vec::new(),
            license_type: None,
            message: None,
            send: true,
            locale: None,
            lifetime_secs: None,
        }
    }
}

impl ImportDefaults {
    super::invite::invite_option_setters!();
}

/// An invitation issued by an import, with the file line it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportedInvitation<'a> {
    /// The row's line in the file.
    pub line: usize,
    /// The batch it was issued in (an index into [`ImportReport::batches`]).
    pub batch: usize,
    /// The invitation, with its secret (the accept token, or the access
    /// code for identifier rows) when it was sent.
    pub issued: &'a IssuedInvitation,
}

/// A row of an import that got no invitation (in Kotlin and Swift,
/// `code()` is its reason's code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[non_exhaustive]
pub struct ImportRejection {
    /// The row's line in the file.
    pub line: usize,
    /// The batch the row was in; `None` when it was rejected before the
    /// batches ran (unknown group or role, a grant out of reach).
    pub batch: Option<usize>,
    /// The recipient as written (email, identifier or names).
    pub input: String,
    /// Why. A [`RejectReason::DuplicateInBatch`]'s `first_index` is a
    /// position within its batch; [`ImportRejection::message`] names the
    /// file line instead.
    pub reason: RejectReason,
    /// The reason for the person who filled in the file ("duplicate of
    /// line 7", ...).
    pub message: String,
}

/// Why an import stopped before its last batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct ImportInterruption {
    /// The batch that failed (nothing of it was stored); the batches before
    /// it were.
    pub batch: usize,
    /// The error's stable code.
    pub code: String,
    /// The error's message.
    pub message: String,
    /// The lines of the failed batch and of every batch after it: import
    /// them again.
    pub unprocessed_lines: Vec<usize>,
}

impl ImportInterruption {
    /// Batch `batch` failed with `error`; `unprocessed_lines` are the lines
    /// of that batch and of every batch after it.
    pub(crate) fn at(
        batch: usize,
        error: &Error,
        unprocessed_lines: impl IntoIterator<Item = usize>,
    ) -> Self {
        ImportInterruption {
            batch,
            code: error.code().to_owned(),
            message: error.to_string(),
            unprocessed_lines: unprocessed_lines.into_iter().collect(),
        }
    }
}

/// The outcome of [`Enlist::import_invitations`]: every row of the file is
/// in exactly one place: a sheet error, a rejection, an issued invitation
/// or (after an interruption) an unprocessed line. In Kotlin and Swift,
/// `issued()`, `rejected()`, `failedCount()` and `csv()` are its methods.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[non_exhaustive]
pub struct ImportReport {
    /// Columns of the file that were not recognized.
    pub ignored_columns: Vec<String>,
    /// Rows that could not be read as recipients.
    pub sheet_errors: Vec<ImportRowError>,
    /// Rows rejected before the batches ran (see [`ImportRejection::batch`]).
    pub rejected_rows: Vec<ImportRejection>,
    /// The batches, in file order, each with its own batch id.
    pub batches: Vec<InviteReport>,
    /// For each batch, the file line of each of its recipients:
    /// `batch_lines[b][i]` is the line of recipient `i` of batch `b`.
    pub batch_lines: Vec<Vec<usize>>,
    /// Set when a batch after the first failed (see the module docs).
    pub interrupted: Option<ImportInterruption>,
    /// The id the import's report is kept under
    /// ([`Enlist::batch_report`]): its first batch's id, or an id of its
    /// own when no row reached a batch. `None` only in a value built by
    /// hand.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub report_id: Option<crate::id::BatchId>,
}

impl ImportReport {
    /// The file line of recipient `index` (as in an [`InviteReport`] row)
    /// of batch `batch`.
    pub fn line(&self, batch: usize, index: usize) -> Option<usize> {
        self.batch_lines.get(batch)?.get(index).copied()
    }

    /// The invitations issued, in file order, with their lines and batches.
    pub fn issued(&self) -> impl Iterator<Item = ImportedInvitation<'_>> + '_ {
        self.batches
            .iter()
            .enumerate()
            .flat_map(move |(b, report)| {
                report.issued.iter().map(move |issued| ImportedInvitation {
                    line: self.line(b, issued.index).unwrap_or(0),
                    batch: b,
                    issued,
                })
            })
    }

    /// Every rejected row, by line: those rejected before the batches and
    /// those rejected in one.
    pub fn rejected(&self) -> impl Iterator<Item = ImportRejection> + '_ {
        let by_invitation: HashMap<&InvitationId, usize> = self
            .issued()
            .map(|i| (&i.issued.invitation.id, i.line))
            .collect();
        let mut all: Vec<ImportRejection> = self.rejected_rows.clone();
        for (b, report) in self.batches.iter().enumerate() {
            for r in &report.rejected {
                let earlier = match &r.reason {
                    RejectReason::DuplicateInBatch { first_index } => self.line(b, *first_index),
                    RejectReason::AlreadyInvited { invitation } => {
                        by_invitation.get(invitation).copied()
                    }
                    _ => None,
                };
                all.push(ImportRejection {
                    line: self.line(b, r.index).unwrap_or(0),
                    batch: Some(b),
                    input: r.input.clone(),
                    reason: r.reason.clone(),
                    message: match earlier {
                        Some(line) => format!("duplicate of line {line}"),
                        None => r.reason.to_string(),
                    },
                });
            }
        }
        all.sort_by_key(|r| r.line);
        all.into_iter()
    }

    /// How many invitations were issued.
    pub fn issued_count(&self) -> usize {
        self.batches.iter().map(|b| b.issued.len()).sum()
    }

    /// How many rows got no invitation: sheet errors, rejections and
    /// unprocessed lines.
    pub fn failed_count(&self) -> usize {
        self.sheet_errors.len()
            + self.rejected_rows.len()
            + self.batches.iter().map(|b| b.rejected.len()).sum::<usize>()
            + self
                .interrupted
                .as_ref()
                .map_or(0, |i| i.unprocessed_lines.len())
    }

    /// The report as CSV (`line,recipient,status,batch,invitation_id,reason_code,reason`),
    /// one row per line of the file, for a "Download report" button. Holds
    /// no secrets.
    pub fn to_csv(&self) -> String {
        let mut rows: Vec<(usize, String)> = Vec::new();
        for i in self.issued() {
            let inv = &i.issued.invitation;
            rows.push((
                i.line,
                csv_row(&[
                    &i.line.to_string(),
                    inv.recipient.as_str(),
                    inv.status.as_str(),
                    &(i.batch + 1).to_string(),
                    inv.id.as_str(),
                    "",
                    "",
                ]),
            ));
        }
        for r in self.rejected() {
            let batch = r.batch.map(|b| (b + 1).to_string()).unwrap_or_default();
            rows.push((
                r.line,
                csv_row(&[
                    &r.line.to_string(),
                    &r.input,
                    "rejected",
                    &batch,
                    "",
                    r.reason.code(),
                    &r.message,
                ]),
            ));
        }
        for e in &self.sheet_errors {
            rows.push((
                e.line,
                csv_row(&[
                    &e.line.to_string(),
                    "",
                    "unreadable",
                    "",
                    "",
                    "unreadable_row",
                    &e.message,
                ]),
            ));
        }
        if let Some(i) = &self.interrupted {
            for line in &i.unprocessed_lines {
                rows.push((
                    *line,
                    csv_row(&[
                        &line.to_string(),
                        "",
                        "not_processed",
                        "",
                        "",
                        &i.code,
                        &i.message,
                    ]),
                ));
            }
        }
        rows.sort_by_key(|r| r.0);
        let mut out =
            String::from("line,recipient,status,batch,invitation_id,reason_code,reason\n");
        for (_, r) in rows {
            out.push_str(&r);
            out.push('\n');
        }
        out
    }
}

impl Enlist {
    /// Imports invitations from a file (CSV or XLSX, read as
    /// [`crate::import_file`] describes), each row with its own contact, names,
    /// role, kind, groups and license type, `defaults` filling in the rest.
    /// Group names are resolved case-insensitively; role names too
    /// (`User admin` is `user_admin`). Bulk import is an administrator's
    /// tool: it needs [`Permission::InviteMembers`] or
    /// [`Permission::InviteGuests`].
    ///
    /// # The file and the batch limit
    ///
    /// A file holds at most the policy's `max_import_rows` rows (500 by
    /// default), one batch at most `max_batch` recipients (100 by default).
    /// An import is the file, not one batch: its rows are issued as
    /// consecutive batches of at most `max_batch` rows each, in file order,
    /// through [`Enlist::invite`]. Each batch is atomic, as every batch is;
    /// the file as a whole is not one transaction (a 500-row file would
    /// otherwise be a 500-recipient batch, which is what `max_batch`
    /// forbids). The [`ImportReport`] lists every batch with the file lines
    /// it held, and maps every outcome back to its line.
    ///
    /// So that a file does not stop half-way over one bad row, whatever
    /// would make a batch fail as a whole is checked for each row before the
    /// first batch runs, and becomes that row's rejection: an unknown group
    /// name ([`RejectReason::UnknownGroup`]), an unknown role, a license
    /// type that is too long, a role or group role the importer may not
    /// grant ([`RejectReason::InvalidField`], with the reason). Only the
    /// store failing (or the organization changing meanwhile) can still
    /// stop an import after its first batch; the report then says which
    /// lines were not processed ([`ImportReport::interrupted`]). Importing
    /// the same file again is safe: the rows already invited come back as
    /// already invited.
    ///
    /// # Errors
    ///
    /// With nothing stored: too many rows ([`Error::LimitExceeded`] with
    /// [`LimitKind::ImportRows`](crate::LimitKind::ImportRows)), an
    /// unreadable file or header ([`Error::InvalidInput`]), defaults that
    /// are wrong in themselves (an unknown or ungrantable role or group, a
    /// bad license type or message), a permission the actor lacks, or the
    /// first batch failing.
    pub fn import_invitations(
        &self,
        org: &OrgId,
        actor: &Actor,
        bytes: &[u8],
        format: ImportFormat,
        defaults: ImportDefaults,
    ) -> Result<ImportReport> {
        let mut prepared = self.prepare_import(org, actor, bytes, format, &defaults)?;
        let mut report = std::mem::take(&mut prepared.report);
        let message = prepared.message.take();
        let chunks = prepared.chunks();
        // The import's report: created by its first batch (or alone, when
        // no row reached a batch), each later batch adding its rows in its
        // own transaction.
        let preamble = super::reports::import_preamble(&report.sheet_errors, &report.rejected_rows);
        if chunks.is_empty() {
            report.report_id = Some(self.keep_import_preamble(org, actor, &preamble)?);
        }
        for (b, chunk) in chunks.iter().enumerate() {
            let req = import_request(*chunk, &defaults, message.clone());
            let lines: Vec<usize> = chunk.1.iter().map(|(line, _)| *line).collect();
            // Each later batch rewrites the import's report: once it holds
            // all the rows a report keeps, the batches stop touching it.
            let kept_rows = preamble.len() + chunks[..b].iter().map(|c| c.1.len()).sum::<usize>();
            let keep = if report.report_id.is_some() && kept_rows >= crate::report::MAX_REPORT_ROWS
            {
                super::reports::KeepReport::Full
            } else {
                super::reports::KeepReport::Import {
                    report_id: report.report_id.as_ref(),
                    lines: &lines,
                    preamble: &preamble,
                }
            };
            match self.invite_keeping(org, actor, req, &keep) {
                Ok(batch) => {
                    if report.report_id.is_none() {
                        report.report_id = Some(batch.batch_id.clone());
                    }
                    report.batches.push(batch);
                    report.batch_lines.push(lines);
                }
                Err(e) if b == 0 => return Err(e),
                Err(e) => {
                    report.interrupted = Some(ImportInterruption::at(
                        b,
                        &e,
                        chunks[b..]
                            .iter()
                            .flat_map(|c| c.1.iter().map(|(line, _)| *line)),
                    ));
                    if let (Some(id), Some(i)) = (&report.report_id, &report.interrupted) {
                        // Best effort: the store that failed the batch may
                        // fail this too; the returned report says it all.
                        let _ = self.keep_unprocessed(org, id, i);
                    }
                    break;
                }
            }
        }
        Ok(report)
    }
}

impl Enlist {
    /// What an import and its dry run share: the actor authorized first,
    /// the file bounded (its size before anything) and read, each row's
    /// role and groups resolved and checked (what is wrong becomes the
    /// row's rejection), the defaults checked. Writes nothing.
    pub(crate) fn prepare_import(
        &self,
        org: &OrgId,
        actor: &Actor,
        bytes: &[u8],
        format: ImportFormat,
        defaults: &ImportDefaults,
    ) -> Result<PreparedImport> {
        // No organization takes a larger file: refused before any work.
        ImportLimits::check_ceiling(bytes.len())?;
        let message = clean_text("message", defaults.message.as_deref(), MAX_MESSAGE_CHARS)?;
        // A read transaction (nothing is written): on SQLite it takes no
        // write lock, so authorizing an import never waits for a writer.
        let (o, auth, groups) = self.run_read("import_invitations.authorize", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            let groups = cx.tx.groups(org)?;
            Ok((o, auth, groups))
        })?;
        if auth.is_guest()
            || !(auth.has(Permission::InviteMembers) || auth.has(Permission::InviteGuests))
        {
            return Err(auth.deny(
                Permission::InviteMembers,
                "bulk import is for those who may invite members or guests",
            ));
        }
        check_defaults(&o, &auth, &groups, defaults)?;
        // The file is read only now, authorized, outside any transaction,
        // within the organization's limits (its size first).
        let sheet = parse_import(bytes, format, &ImportLimits::from(&o.policy))?;

        let mut report = ImportReport {
            ignored_columns: sheet.ignored_columns,
            sheet_errors: sheet.errors,
            ..ImportReport::default()
        };
        let mut ready: Vec<(usize, RecipientInput)> = Vec::with_capacity(sheet.rows.len());
        let mut inactive: Vec<(usize, RecipientInput)> = Vec::new();
        for row in sheet.rows {
            let line = row.line;
            let active = row.active != Some(false);
            match prepare_row(&o, &auth, &groups, defaults, row) {
                Ok(input) if active => ready.push((line, input)),
                Ok(input) => inactive.push((line, input)),
                Err((input, reason)) => report.rejected_rows.push(ImportRejection {
                    line,
                    batch: None,
                    input,
                    message: reason.to_string(),
                    reason,
                }),
            }
        }

        Ok(PreparedImport {
            report,
            ready,
            inactive,
            message,
            max_batch: usize::try_from(o.policy.max_batch.max(1)).unwrap_or(usize::MAX),
        })
    }
}

/// An import file read and checked, before its batches run.
pub(crate) struct PreparedImport {
    /// The report so far: ignored columns, sheet errors, rows rejected
    /// before the batches.
    pub(crate) report: ImportReport,
    /// The rows to invite, with their file lines, in file order.
    pub(crate) ready: Vec<(usize, RecipientInput)>,
    /// The rows whose Active cell says no (seed 004's "Active"
    /// unchecked): saved staged and inactive, never sent by the import,
    /// in batches of their own after the others.
    pub(crate) inactive: Vec<(usize, RecipientInput)>,
    /// The personal message, cleaned.
    pub(crate) message: Option<String>,
    /// Rows per batch (the policy's `max_batch`).
    pub(crate) max_batch: usize,
}

/// One batch of an import: its rows (with their file lines) and whether
/// they are active.
pub(crate) type ImportChunk<'a> = (bool, &'a [(usize, RecipientInput)]);

impl PreparedImport {
    /// The batches, in the order they run: the active rows in file order,
    /// then the inactive ones, each at most `max_batch` rows.
    pub(crate) fn chunks(&self) -> Vec<ImportChunk<'_>> {
        self.ready
            .chunks(self.max_batch)
            .map(|c| (true, c))
            .chain(self.inactive.chunks(self.max_batch).map(|c| (false, c)))
            .collect()
    }
}

/// The invite request of one batch of an import.
pub(crate) fn import_request(
    (active, chunk): ImportChunk<'_>,
    defaults: &ImportDefaults,
    message: Option<String>,
) -> InviteRequest {
    InviteRequest {
        recipients: Recipients::List(chunk.iter().map(|(_, r)| r.clone()).collect()),
        role: defaults.role.clone(),
        kind: defaults.kind,
        groups: defaults.groups.clone(),
        license_type: defaults.license_type.clone(),
        message,
        locale: defaults.locale.clone(),
        // An inactive person is saved, not sent (`invite` refuses both).
        send: defaults.send && active,
        attributes: crate::member::Attributes::new(),
        active,
        lifetime_secs: defaults.lifetime_secs,
        redirect_url: None,
        public_metadata: None,
        private_metadata: None,
    }
}

/// The defaults are the caller's, not the file's: what is wrong with them
/// fails the import.
fn check_defaults(
    o: &Organization,
    auth: &Auth,
    groups: &[Group],
    d: &ImportDefaults,
) -> Result<()> {
    if let Some(role) = &d.role {
        auth.grantable_role(o, role)?;
    }
    for g in &d.groups {
        if !groups.iter().any(|x| x.id == g.group_id) {
            return Err(Error::UnknownGroup {
                group: g.group_id.clone(),
            });
        }
        auth.may_grant_group(g)?;
    }
    if let Some(lt) = &d.license_type {
        if !license_ok(lt) {
            return Err(Error::invalid("license_type", "must be 1 to 64 characters"));
        }
    }
    if let Some(l) = &d.locale {
        crate::template::normalize_locale(l)?;
    }
    if let Some(secs) = d.lifetime_secs {
        o.policy.lifetime_for(Some(secs)).map_err(|bounds| {
            super::settings::lifetime_out_of_bounds("lifetime_secs", secs, bounds)
        })?;
    }
    Ok(())
}

/// What `invite` accepts as a license type (one rule: `clean_label`).
fn license_ok(lt: &str) -> bool {
    super::clean_label("license_type", lt).is_ok()
}

/// Resolves a row's role and group names and checks, as `invite` will for
/// the whole batch, that the actor may grant what the row asks for.
fn prepare_row(
    o: &Organization,
    auth: &Auth,
    groups: &[Group],
    defaults: &ImportDefaults,
    row: ImportRow,
) -> std::result::Result<RecipientInput, (String, RejectReason)> {
    let ImportRow {
        mut input,
        groups: names,
        ..
    } = row;
    let shown = input
        .email
        .clone()
        .or_else(|| input.identifier.clone())
        .unwrap_or_else(|| {
            [&input.first_name, &input.last_name, &input.display_name]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        });
    let invalid = |reason: String| (shown.clone(), RejectReason::InvalidField { reason });
    if let Some(role) = &input.role {
        match resolve_role(o, role) {
            Some(name) => input.role = Some(name),
            None => {
                let known: Vec<String> = o.roles().into_iter().map(|r| r.name).collect();
                return Err(invalid(format!(
                    "no role named {role:?} in the organization (roles: {})",
                    known.join(", ")
                )));
            }
        }
    }
    if let Some(lt) = &input.license_type {
        if !license_ok(lt) {
            return Err(invalid(format!(
                "the license type {lt:?} is too long (at most 64 bytes)"
            )));
        }
    }
    if !names.is_empty() {
        let mut grants: Vec<GroupGrant> = Vec::with_capacity(names.len());
        for g in names {
            let lower = g.name.to_lowercase();
            let Some(found) = groups.iter().find(|x| x.name.to_lowercase() == lower) else {
                return Err((shown, RejectReason::UnknownGroup { name: g.name }));
            };
            // The same group twice keeps the higher role, as `invite` does.
            match grants.iter_mut().find(|x| x.group_id == found.id) {
                Some(x) => x.role = x.role.max(g.role),
                None => grants.push(GroupGrant {
                    group_id: found.id.clone(),
                    role: g.role,
                }),
            }
        }
        input.groups = Some(grants);
    }
    let kind = input.kind.unwrap_or(defaults.kind);
    let role = input
        .role
        .clone()
        .or_else(|| defaults.role.clone())
        .unwrap_or_else(|| o.policy.role_for(kind).to_owned());
    let grants = input.groups.as_ref().unwrap_or(&defaults.groups);
    if let Err(e) = authorize_invite(o, auth, &role, kind, grants) {
        return Err(invalid(e.to_string()));
    }
    Ok(input)
}

/// A role by name: exactly, or ignoring case, spaces and punctuation when
/// that names one role only (`User admin` is `user_admin`).
pub(crate) fn resolve_role(o: &Organization, name: &str) -> Option<String> {
    let roles = o.roles();
    if roles.iter().any(|r| r.name == name) {
        return Some(name.to_owned());
    }
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = key(name);
    let mut matches = roles.into_iter().filter(|r| key(&r.name) == wanted);
    match (matches.next(), matches.next()) {
        (Some(r), None) => Some(r.name),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support as ts;
    use crate::error::{LimitKind, StoreError};
    use crate::invitation::{InvitationQuery, InvitationStatus, Registration};
    use crate::memory::MemoryStore;
    use crate::policy::Policy;
    use crate::role::GroupRole;
    use crate::role::builtin;
    use crate::store::{Store, StoreResult, Transaction};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Fixture {
        engine: Enlist,
        org: OrgId,
        owner: Actor,
        sales: Group,
        support: Group,
    }

    fn fixture_with(engine: Enlist, policy: Policy) -> Fixture {
        let (org, owner) = ts::org(&engine, "owner-1", "ada@acme.test", policy);
        let sales = ts::group(&engine, &org, &owner, "Sales");
        let support = ts::group(&engine, &org, &owner, "Support");
        Fixture {
            org,
            owner,
            sales,
            support,
            engine,
        }
    }

    fn fixture() -> Fixture {
        fixture_with(Enlist::in_memory(), Policy::default())
    }

    impl Fixture {
        fn import(
            &self,
            actor: &Actor,
            bytes: &[u8],
            format: ImportFormat,
        ) -> Result<ImportReport> {
            self.engine.import_invitations(
                &self.org,
                actor,
                bytes,
                format,
                ImportDefaults::default(),
            )
        }

        fn all_invitations(&self) -> Vec<crate::invitation::Invitation> {
            self.engine
                .list_invitations(
                    &self.org,
                    &self.owner,
                    &InvitationQuery {
                        limit: 1000,
                        ..InvitationQuery::default()
                    },
                )
                .unwrap()
                .items
        }

        fn event_count(&self) -> usize {
            self.engine
                .events(&self.org, &self.owner, 0, 1000)
                .unwrap()
                .len()
        }

        /// A member with `role`, invited by the owner and registered.
        fn member_with_role(&self, email: &str, role: &str) -> Actor {
            ts::actor_with_role(&self.engine, &self.org, &self.owner, email, role)
        }
    }

    #[test]
    fn csv_import_issues_by_line_and_rejects_by_line() {
        let f = fixture();
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(
            "E-mail;Employee ID;First name;Last name;Groups;Kind;Comment\n\
             bob@acme.test;;Bob;Smith;sales:Owner, support;;\n\
             ;P-0042;Chloé;Martin;Support;;no email\n\
             ;;Dan;NoContact;;;\n\
             eve@acme.test;;Eve;;Marketing;;\n\
             fay@acme.test;;Fay;;;boss;\n\
             \n\
             BOB@acme.test;;Bob again;;;;\n"
                .as_bytes(),
        );
        let before = f.event_count();
        let report = f.import(&f.owner, &bytes, ImportFormat::Csv).unwrap();
        assert_eq!(report.ignored_columns, vec!["Comment".to_owned()]);
        assert_eq!(report.batches.len(), 1);

        let issued: Vec<(usize, String)> = report
            .issued()
            .map(|i| (i.line, i.issued.invitation.recipient.as_str().to_owned()))
            .collect();
        assert_eq!(
            issued,
            vec![(2, "bob@acme.test".to_owned()), (3, "P-0042".to_owned())]
        );
        // Two invitations, two events: nothing else was written.
        assert_eq!(f.event_count(), before + 2);

        let bob = report.issued().next().unwrap().issued.invitation.clone();
        let mut groups = bob.groups.clone();
        groups.sort_by_key(|g| g.role);
        assert_eq!(
            groups,
            vec![
                GroupGrant::member(f.support.id.clone()),
                GroupGrant::owner(f.sales.id.clone())
            ]
        );

        let rejected: Vec<(usize, &'static str)> = report
            .rejected()
            .map(|r| (r.line, r.reason.code()))
            .collect();
        assert_eq!(
            rejected,
            vec![
                (4, "missing_contact"),
                (5, "unknown_group"),
                (8, "duplicate_in_batch")
            ]
        );
        let all: Vec<ImportRejection> = report.rejected().collect();
        assert_eq!(
            all[1].reason,
            RejectReason::UnknownGroup {
                name: "Marketing".into()
            }
        );
        assert_eq!(all[1].batch, None);
        assert_eq!(all[1].input, "eve@acme.test");
        assert_eq!(all[2].message, "duplicate of line 2");
        assert_eq!(all[2].batch, Some(0));
        assert_eq!(report.sheet_errors.len(), 1);
        assert_eq!(report.sheet_errors[0].line, 6);
        assert_eq!(report.issued_count() + report.failed_count(), 6);

        let csv = report.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 7, "{csv}");
        assert!(lines[1].starts_with("2,bob@acme.test,pending,1,"), "{csv}");
        assert!(lines[5].starts_with("6,,unreadable,"), "{csv}");
        assert!(
            !csv.contains(
                report
                    .issued()
                    .next()
                    .unwrap()
                    .issued
                    .secret
                    .as_ref()
                    .unwrap()
                    .expose()
            )
        );
    }

    #[test]
    fn rows_with_active_unchecked_are_saved_staged_and_inactive_not_sent() {
        let f = fixture();
        let report = f
            .import(
                &f.owner,
                b"Email,First name,Active\n\
                  ann@acme.test,Ann,yes\n\
                  ben@acme.test,Ben,no\n\
                  cal@acme.test,Cal,\n",
                ImportFormat::Csv,
            )
            .unwrap();
        // The active rows first (one batch, sent), then the inactive one
        // in a batch of its own: staged, inactive, no email.
        assert_eq!(report.batches.len(), 2);
        assert_eq!(report.batch_lines, vec![vec![2, 4], vec![3]]);
        let by_line: Vec<(usize, InvitationStatus, bool, bool)> = report
            .issued()
            .map(|i| {
                (
                    i.line,
                    i.issued.invitation.status,
                    i.issued.invitation.active,
                    i.issued.message_id.is_some(),
                )
            })
            .collect();
        assert_eq!(
            by_line,
            vec![
                (2, InvitationStatus::Pending, true, true),
                (4, InvitationStatus::Pending, true, true),
                (3, InvitationStatus::Staged, false, false),
            ]
        );
        // Sending it is refused until someone activates it.
        let ben = report
            .issued()
            .find(|i| i.line == 3)
            .map(|i| i.issued.invitation.id.clone())
            .unwrap();
        let sent = f.engine.send_staged(&f.org, &f.owner, &[ben]).unwrap();
        assert!(
            matches!(&sent.results[..], [crate::SendOutcome::Failed { code, .. }] if code == "conflict"),
            "{sent:?}"
        );
        // Its kept report has all three lines.
        let kept = f
            .engine
            .batch_report(&f.org, &f.owner, report.report_id.as_ref().unwrap())
            .unwrap();
        let lines: Vec<u64> = kept.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3, 4]);
    }

    #[test]
    fn identifier_rows_get_access_codes_that_work() {
        let f = fixture();
        let report = f
            .import(
                &f.owner,
                b"Identifier,First name,Last name\n+33 6 12 34 56 78,Chlo\xC3\xA9,Martin\n",
                ImportFormat::Csv,
            )
            .unwrap();
        let issued = report.issued().next().unwrap();
        assert_eq!(issued.line, 2);
        assert!(
            issued.issued.message_id.is_none(),
            "no email for identifier rows"
        );
        let code = issued.issued.secret.clone().unwrap();
        let accepted = f
            .engine
            .accept_with_code(
                &f.org,
                "+33612345678",
                code.expose(),
                Registration {
                    user_ref: "acct-chloe".into(),
                    first_name: Some("Chloé".into()),
                    last_name: Some("Martin".into()),
                    ..Registration::default()
                },
            )
            .unwrap();
        assert_eq!(accepted.member.contact.as_str(), "+33 6 12 34 56 78");
    }

    #[test]
    fn xlsx_import_built_with_a_writer() {
        use rust_xlsxwriter::Workbook;
        let f = fixture();
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in [
            "Mail",
            "Personnel number",
            "Given name",
            "Surname",
            "Group",
            "Role",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        ws.write_string(1, 0, "gus@acme.test").unwrap();
        ws.write_string(1, 2, "Gus").unwrap();
        ws.write_string(1, 4, "SALES").unwrap();
        ws.write_string(1, 5, "User admin").unwrap();
        ws.write_number(2, 1, 1_234_567.0).unwrap();
        ws.write_string(2, 3, "Hale").unwrap();
        ws.write_string(3, 0, "ivy@acme.test").unwrap();
        ws.write_string(3, 5, "boss").unwrap();
        let bytes = wb.save_to_buffer().unwrap();

        let report = f.import(&f.owner, &bytes, ImportFormat::Xlsx).unwrap();
        let issued: Vec<ImportedInvitation<'_>> = report.issued().collect();
        assert_eq!(issued.len(), 2);
        assert_eq!(issued[0].line, 2);
        assert_eq!(issued[0].issued.invitation.role, "user_admin");
        assert_eq!(
            issued[0].issued.invitation.groups,
            vec![GroupGrant::member(f.sales.id.clone())]
        );
        assert_eq!(issued[1].line, 3);
        assert_eq!(issued[1].issued.invitation.recipient.as_str(), "1234567");
        assert_eq!(
            issued[1].issued.invitation.last_name.as_deref(),
            Some("Hale")
        );
        let rejected: Vec<ImportRejection> = report.rejected().collect();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].line, 4);
        assert_eq!(rejected[0].reason.code(), "invalid_field");
        assert!(
            rejected[0].message.contains("\"boss\""),
            "{}",
            rejected[0].message
        );
    }

    #[test]
    fn more_rows_than_the_file_limit_stores_nothing() {
        let f = fixture();
        let mut text = String::from("Email\n");
        for i in 0..501 {
            text.push_str(&format!("user{i}@acme.test\n"));
        }
        let before = f.event_count();
        let err = f
            .import(&f.owner, text.as_bytes(), ImportFormat::Csv)
            .unwrap_err();
        match &err {
            Error::LimitExceeded {
                limit, max, actual, ..
            } => {
                assert_eq!((*limit, *max, *actual), (LimitKind::ImportRows, 500, 501));
            }
            other => panic!("{other}"),
        }
        assert!(f.all_invitations().is_empty());
        assert_eq!(f.event_count(), before);
    }

    #[test]
    fn a_full_file_runs_as_several_batches() {
        let policy = Policy {
            max_batch: 3,
            ..Policy::default()
        };
        let f = fixture_with(Enlist::in_memory(), policy);
        f.engine
            .invite(
                &f.org,
                &f.owner,
                InviteRequest::new(Recipients::Paste("old@acme.test".into())),
            )
            .unwrap();
        // Line n names u{n}, except: line 6 names no such group, line 8
        // repeats line 7 (in the same batch), line 9 repeats line 3 (in an
        // earlier batch), line 10 was invited before the import.
        let mut text = String::from("Email,Groups\n");
        for line in 2..=11 {
            let row = match line {
                6 => "u6@acme.test,Nope".to_owned(),
                8 => "u7@acme.test,Sales".to_owned(),
                9 => "U3@acme.test,".to_owned(),
                10 => "old@acme.test,".to_owned(),
                n => format!("u{n}@acme.test,Sales"),
            };
            text.push_str(&row);
            text.push('\n');
        }
        let report = f
            .import(&f.owner, text.as_bytes(), ImportFormat::Csv)
            .unwrap();
        // 9 rows reach the batches (line 6 is rejected before): 3 + 3 + 3.
        assert_eq!(
            report.batch_lines,
            vec![vec![2, 3, 4], vec![5, 7, 8], vec![9, 10, 11]]
        );
        assert_eq!(report.batches.len(), 3);
        let ids: std::collections::HashSet<_> =
            report.batches.iter().map(|b| &b.batch_id).collect();
        assert_eq!(ids.len(), 3);
        for i in report.issued() {
            let n: usize = i.issued.invitation.recipient.as_str()[1..]
                .trim_end_matches("@acme.test")
                .parse()
                .unwrap();
            assert_eq!(n, i.line, "the line maps back to the row that named u{n}");
            assert_eq!(
                i.issued.invitation.batch_id,
                report.batches[i.batch].batch_id
            );
            assert_eq!(
                i.issued.invitation.groups,
                vec![GroupGrant::member(f.sales.id.clone())]
            );
        }
        assert_eq!(
            report
                .issued()
                .map(|i| (i.line, i.batch))
                .collect::<Vec<_>>(),
            vec![(2, 0), (3, 0), (4, 0), (5, 1), (7, 1), (11, 2)]
        );
        let rejected: Vec<(usize, Option<usize>, &str, String)> = report
            .rejected()
            .map(|r| (r.line, r.batch, r.reason.code(), r.message))
            .collect();
        assert_eq!(
            rejected,
            vec![
                (
                    6,
                    None,
                    "unknown_group",
                    "no group named \"Nope\" in the organization".to_owned()
                ),
                (
                    8,
                    Some(1),
                    "duplicate_in_batch",
                    "duplicate of line 7".to_owned()
                ),
                (
                    9,
                    Some(2),
                    "already_invited",
                    "duplicate of line 3".to_owned()
                ),
                (
                    10,
                    Some(2),
                    "already_invited",
                    "already has a pending invitation".to_owned()
                ),
            ]
        );
        assert_eq!(report.line(1, 0), Some(5));
        assert_eq!(report.line(3, 0), None);
        assert_eq!(f.all_invitations().len(), 7);
    }

    #[test]
    fn group_owner_grants_need_the_right_to_give_them() {
        let f = fixture();
        let user_admin = f.member_with_role("uma@acme.test", builtin::USER_ADMIN);
        let text = "Email,Groups\nowner@acme.test,Sales:owner\nplain@acme.test,Sales\n";
        let report = f
            .import(&user_admin, text.as_bytes(), ImportFormat::Csv)
            .unwrap();
        let issued: Vec<_> = report.issued().collect();
        assert_eq!(issued.len(), 1);
        assert_eq!(issued[0].line, 3);
        assert_eq!(
            issued[0].issued.invitation.groups,
            vec![GroupGrant::member(f.sales.id.clone())]
        );
        let rejected: Vec<_> = report.rejected().collect();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].line, 2);
        assert_eq!(rejected[0].reason.code(), "invalid_field");
        assert!(
            rejected[0].message.contains("manage_groups"),
            "{}",
            rejected[0].message
        );

        // The owner may grant it.
        let report = f
            .import(
                &f.owner,
                b"Email,Groups\nowner@acme.test,Sales:owner\n",
                ImportFormat::Csv,
            )
            .unwrap();
        let i = report.issued().next().unwrap();
        assert_eq!(
            i.issued.invitation.groups,
            vec![GroupGrant {
                group_id: f.sales.id.clone(),
                role: GroupRole::Owner
            }]
        );
    }

    #[test]
    fn members_without_invite_rights_cannot_import() {
        let f = fixture();
        let member = f.member_with_role("mo@acme.test", builtin::MEMBER);
        let before = f.all_invitations().len();
        let err = f
            .import(&member, b"Email\nx@acme.test\n", ImportFormat::Csv)
            .unwrap_err();
        assert_eq!(err.code(), "permission_denied");
        assert_eq!(f.all_invitations().len(), before);
    }

    #[test]
    fn defaults_apply_and_bad_defaults_fail_the_import() {
        let f = fixture();
        let defaults = ImportDefaults::default()
            .groups(vec![GroupGrant::member(f.support.id.clone())])
            .license_type("pro")
            .staged();
        let report = f
            .engine
            .import_invitations(
                &f.org,
                &f.owner,
                b"Email,Groups,License\na@acme.test,,\nb@acme.test,Sales,basic\n",
                ImportFormat::Csv,
                defaults,
            )
            .unwrap();
        let issued: Vec<_> = report.issued().collect();
        assert_eq!(issued.len(), 2);
        let a = &issued[0].issued;
        assert_eq!(a.invitation.status, InvitationStatus::Staged);
        assert!(a.secret.is_none());
        assert_eq!(
            a.invitation.groups,
            vec![GroupGrant::member(f.support.id.clone())]
        );
        assert_eq!(a.invitation.license_type, "pro");
        let b = &issued[1].issued.invitation;
        assert_eq!(b.groups, vec![GroupGrant::member(f.sales.id.clone())]);
        assert_eq!(b.license_type, "basic");

        let user_admin = f.member_with_role("uma@acme.test", builtin::USER_ADMIN);
        let before = f.all_invitations().len();
        let events = f.event_count();
        let missing = crate::id::GroupId::from("grp_missing");
        for (actor, defaults, code) in [
            (
                &f.owner,
                ImportDefaults::default().role("boss"),
                "invalid_input",
            ),
            (
                &f.owner,
                ImportDefaults::default().groups(vec![GroupGrant::member(missing)]),
                "unknown_group",
            ),
            (
                &f.owner,
                ImportDefaults::default().license_type(" "),
                "invalid_input",
            ),
            (
                &f.owner,
                ImportDefaults::default().message("a\u{0}b"),
                "invalid_input",
            ),
            (
                &user_admin,
                ImportDefaults::default().role("admin"),
                "permission_denied",
            ),
            (
                &user_admin,
                ImportDefaults::default().groups(vec![GroupGrant::owner(f.sales.id.clone())]),
                "permission_denied",
            ),
        ] {
            let err = f
                .engine
                .import_invitations(
                    &f.org,
                    actor,
                    b"Email\nz@acme.test\n",
                    ImportFormat::Csv,
                    defaults.clone(),
                )
                .unwrap_err();
            assert_eq!(err.code(), code, "{defaults:?}: {err}");
        }
        assert_eq!(f.event_count(), events);
        assert_eq!(f.all_invitations().len(), before);
    }

    /// A store that fails every transaction from the `fail_from`-th on.
    struct Flaky {
        inner: MemoryStore,
        begun: AtomicUsize,
        fail_from: AtomicUsize,
    }

    impl Store for Flaky {
        fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
            let n = self.begun.fetch_add(1, Ordering::SeqCst);
            if n >= self.fail_from.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable("down for the test".into()));
            }
            self.inner.begin()
        }
    }

    #[test]
    fn a_store_failure_after_the_first_batch_says_what_was_not_processed() {
        let store = Arc::new(Flaky {
            inner: MemoryStore::new(),
            begun: AtomicUsize::new(0),
            fail_from: AtomicUsize::new(usize::MAX),
        });
        let policy = Policy {
            max_batch: 2,
            ..Policy::default()
        };
        let f = fixture_with(Enlist::new(store.clone()), policy);
        let text = "Email\na@acme.test\nb@acme.test\nc@acme.test\nd@acme.test\ne@acme.test\n";
        // The import's read, then batch 1 (a read of the actor, then its
        // write); batch 2 finds the store down.
        store
            .fail_from
            .store(store.begun.load(Ordering::SeqCst) + 3, Ordering::SeqCst);
        let report = f
            .import(&f.owner, text.as_bytes(), ImportFormat::Csv)
            .unwrap();
        assert_eq!(report.batches.len(), 1);
        assert_eq!(
            report.issued().map(|i| i.line).collect::<Vec<_>>(),
            vec![2, 3]
        );
        let stop = report.interrupted.clone().unwrap();
        assert_eq!(stop.batch, 1);
        assert_eq!(stop.code, "storage");
        assert_eq!(stop.unprocessed_lines, vec![4, 5, 6]);
        assert_eq!(report.failed_count(), 3);
        assert!(report.to_csv().contains("\n4,,not_processed,,,storage,"));

        // When the very first batch fails, the import is an error.
        store
            .fail_from
            .store(store.begun.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
        let err = f
            .import(&f.owner, text.as_bytes(), ImportFormat::Csv)
            .unwrap_err();
        assert_eq!(err.code(), "storage");
        store.fail_from.store(usize::MAX, Ordering::SeqCst);
        assert_eq!(f.all_invitations().len(), 2);
    }

    #[test]
    fn roles_resolve_loosely_but_only_to_one_role() {
        let mut o = Organization {
            id: OrgId::from("org_1"),
            name: "Acme".into(),
            policy: Policy::default(),
            custom_roles: Vec::new(),
            created_at: chrono::Utc::now(),
            slug: String::new(),
            deleted_at: None,
        };
        assert_eq!(
            resolve_role(&o, "User Admin").as_deref(),
            Some("user_admin")
        );
        assert_eq!(resolve_role(&o, "MEMBER").as_deref(), Some("member"));
        assert_eq!(resolve_role(&o, "boss"), None);
        for name in ["Team Lead", "team-lead"] {
            o.custom_roles.push(crate::role::Role {
                name: name.into(),
                permissions: Default::default(),
                built_in: false,
                custom_permissions: Default::default(),
            });
        }
        assert_eq!(resolve_role(&o, "team-lead").as_deref(), Some("team-lead"));
        assert_eq!(resolve_role(&o, "TEAM LEAD"), None, "ambiguous");
    }
}

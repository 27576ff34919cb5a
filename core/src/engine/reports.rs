//! Batch reports kept by the engine ([`crate::report`]): written in the
//! transaction of the command they report on (invite, send staged, each
//! batch of an import), fetched again by batch id, pruned by age; and the
//! XLSX import template with the organization's roles and groups as
//! drop-down lists.

use super::directory_import::ImportRejection;
use super::invite::{InviteReport, InviteRequest, Recipients, RejectReason, SendOutcome};
use super::{Auth, Ctx, Enlist};
use crate::error::{EntityKind, Error, Result};
use crate::event::Actor;
use crate::group::GroupGrant;
use crate::id::{BatchId, GroupId, InvitationId, OrgId};
use crate::import_file::{ImportRowError, import_template_csv};
use crate::invitation::{Invitation, InvitationStatus};
use crate::member::MemberKind;
use crate::organization::Organization;
use crate::report::{BatchReport, ReportKind, ReportRow, RowOutcome, xlsx_error};
use crate::role::{GroupRole, Permission};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Reports deleted per transaction by [`Enlist::prune_batch_reports`].
const PRUNE_CHUNK: usize = 500;

/// How a batch of invitations keeps its report.
pub(crate) enum KeepReport<'a> {
    /// Under its own batch id, as an [`ReportKind::Invite`] report.
    Invite,
    /// As a batch of an import: `lines[i]` is the file line of recipient
    /// `i`. The first batch (`report_id` `None`) creates the import's
    /// report under its batch id, with `preamble` (the rows refused before
    /// the batches ran); a later batch adds its rows to that report.
    Import {
        report_id: Option<&'a BatchId>,
        lines: &'a [usize],
        preamble: &'a [ReportRow],
    },
    /// Not at all: a later batch of an import whose report already holds
    /// [`MAX_REPORT_ROWS`](crate::MAX_REPORT_ROWS) rows (reading and
    /// rewriting it would only cost).
    Full,
}

/// Group names by id, each looked up once per command.
#[derive(Default)]
struct GroupNames(HashMap<GroupId, String>);

impl GroupNames {
    /// The grants as the import file writes them: `Name`, or `Name:owner`.
    fn of(&mut self, cx: &mut Ctx<'_>, org: &OrgId, grants: &[GroupGrant]) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(grants.len());
        for g in grants {
            let name = match self.0.get(&g.group_id) {
                Some(n) => n.clone(),
                None => {
                    let n = cx
                        .tx
                        .group(org, &g.group_id)?
                        .map_or_else(|| g.group_id.to_string(), |g| g.name);
                    self.0.insert(g.group_id.clone(), n.clone());
                    n
                }
            };
            out.push(match g.role {
                GroupRole::Owner => format!("{name}:owner"),
                _ => name,
            });
        }
        Ok(out)
    }
}

/// The row of an invitation that was issued, staged or sent.
fn invitation_row(
    cx: &mut Ctx<'_>,
    names: &mut GroupNames,
    line: u64,
    inv: &Invitation,
    outcome: RowOutcome,
) -> Result<ReportRow> {
    let groups = names.of(cx, &inv.org_id, &inv.groups)?;
    Ok(ReportRow::new(line, inv.recipient.text().clone(), outcome)
        .target(&inv.id)
        .names(inv.first_name.clone(), inv.last_name.clone())
        .grants(Some(inv.role.clone()), groups))
}

fn issued_outcome(inv: &Invitation) -> RowOutcome {
    if inv.status == InvitationStatus::Staged {
        RowOutcome::Staged
    } else {
        RowOutcome::Issued
    }
}

/// The rows of one invitation batch, by recipient: `line_of(i)` is the
/// line recipient `i` is reported on.
fn invite_rows(
    cx: &mut Ctx<'_>,
    req: &InviteRequest,
    report: &InviteReport,
    line_of: impl Fn(usize) -> u64,
) -> Result<Vec<ReportRow>> {
    let mut names = GroupNames::default();
    let mut rows = Vec::with_capacity(report.total());
    for i in &report.issued {
        let inv = &i.invitation;
        rows.push((
            i.index,
            invitation_row(cx, &mut names, line_of(i.index), inv, issued_outcome(inv))?,
        ));
    }
    for r in &report.rejected {
        let given = match &req.recipients {
            Recipients::List(list) => list.get(r.index),
            _ => None,
        };
        let role = given
            .and_then(|g| g.role.clone())
            .or_else(|| req.role.clone());
        let message = match &r.reason {
            RejectReason::DuplicateInBatch { first_index } => {
                format!("duplicate of line {}", line_of(*first_index))
            }
            reason => reason.to_string(),
        };
        // The contact as given: a row without one shows none (its names
        // are in their own columns).
        let contact = match given {
            Some(g) => g
                .email
                .clone()
                .or_else(|| g.identifier.clone())
                .unwrap_or_default(),
            None => r.input.clone(),
        };
        rows.push((
            r.index,
            ReportRow::new(line_of(r.index), contact, RowOutcome::Rejected)
                .names(
                    given.and_then(|g| g.first_name.clone()),
                    given.and_then(|g| g.last_name.clone()),
                )
                .grants(role.map(crate::Text::from), Vec::new())
                .error(r.reason.code(), message),
        ));
    }
    rows.sort_by_key(|(i, _)| *i);
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

/// The rows an import refused before its batches ran.
pub(crate) fn import_preamble(
    sheet_errors: &[ImportRowError],
    rejected: &[ImportRejection],
) -> Vec<ReportRow> {
    let mut rows: Vec<ReportRow> = sheet_errors
        .iter()
        .map(|e| {
            ReportRow::new(e.line as u64, "", RowOutcome::Unreadable)
                .error("unreadable_row", e.message.clone())
        })
        .chain(rejected.iter().map(|r| {
            ReportRow::new(r.line as u64, r.input.clone(), RowOutcome::Rejected)
                .error(r.reason.code(), r.message.clone())
        }))
        .collect();
    rows.sort_by_key(|r| r.line);
    rows
}

impl Ctx<'_> {
    /// Keeps the report of an invitation batch, in its transaction.
    pub(crate) fn keep_invite_report(
        &mut self,
        org: &OrgId,
        actor: &Actor,
        req: &InviteRequest,
        report: &InviteReport,
        keep: &KeepReport<'_>,
    ) -> Result<()> {
        match keep {
            KeepReport::Invite => {
                let rows = invite_rows(self, req, report, |i| i as u64 + 1)?;
                let mut kept = BatchReport::new(
                    report.batch_id.clone(),
                    org.clone(),
                    ReportKind::Invite,
                    self.now,
                    actor.clone(),
                );
                kept.extend_rows(rows);
                self.tx.put_batch_report(kept)?;
            }
            KeepReport::Import {
                report_id,
                lines,
                preamble,
            } => {
                let line_of = |i: usize| lines.get(i).map_or(0, |l| *l as u64);
                let rows = invite_rows(self, req, report, line_of)?;
                let mut kept = match report_id {
                    None => {
                        let mut r = BatchReport::new(
                            report.batch_id.clone(),
                            org.clone(),
                            ReportKind::Import,
                            self.now,
                            actor.clone(),
                        );
                        preamble.iter().cloned().for_each(|row| r.push(row));
                        r
                    }
                    Some(id) => self
                        .tx
                        .batch_report(org, id)?
                        .ok_or_else(|| Error::not_found(EntityKind::BatchReport, id))?,
                };
                kept.extend_rows(rows);
                kept.rows.sort_by_key(|r| r.line);
                self.tx.put_batch_report(kept)?;
            }
            KeepReport::Full => {}
        }
        Ok(())
    }

    /// Keeps the report of a [`Enlist::send_staged`] call under `batch`.
    pub(crate) fn keep_send_report(
        &mut self,
        org: &OrgId,
        actor: &Actor,
        batch: &BatchId,
        results: &[SendOutcome],
    ) -> Result<()> {
        let mut names = GroupNames::default();
        let mut kept = BatchReport::new(
            batch.clone(),
            org.clone(),
            ReportKind::SendStaged,
            self.now,
            actor.clone(),
        );
        for (i, outcome) in results.iter().enumerate() {
            let line = i as u64 + 1;
            let row = match outcome {
                SendOutcome::Sent { issued } => {
                    invitation_row(self, &mut names, line, &issued.invitation, RowOutcome::Sent)?
                }
                SendOutcome::Failed {
                    invitation,
                    code,
                    message,
                } => self
                    .failed_send_row(&mut names, org, line, invitation)?
                    .error(code.clone(), message.clone()),
            };
            kept.push(row);
        }
        self.tx.put_batch_report(kept)?;
        Ok(())
    }

    /// The row of an invitation that was not sent: its contact and names
    /// when it is one of this organization's, else the id as given.
    fn failed_send_row(
        &mut self,
        names: &mut GroupNames,
        org: &OrgId,
        line: u64,
        id: &InvitationId,
    ) -> Result<ReportRow> {
        match self.tx.invitation(org, id)? {
            Some(stored) => {
                let inv = stored.invitation;
                let mut row = invitation_row(self, names, line, &inv, RowOutcome::Rejected)?;
                row.outcome = RowOutcome::Rejected;
                Ok(row)
            }
            None => Ok(ReportRow::new(line, id.as_str(), RowOutcome::Rejected).target(id.as_str())),
        }
    }
}

/// Who may read a kept report: whoever may see the members
/// ([`Permission::ViewMembers`]), and the one who ran the command (a
/// member inviting under the policy's "members can invite" reads the
/// report of their own batch). Guests never.
fn may_read(auth: &Auth, report: &BatchReport) -> Result<()> {
    if auth.is_guest() {
        return Err(auth.deny(Permission::ViewMembers, "guests cannot read batch reports"));
    }
    if auth.has(Permission::ViewMembers) || (auth.member.is_some() && auth.actor == report.actor) {
        return Ok(());
    }
    Err(auth.deny(
        Permission::ViewMembers,
        "reading the report of someone else's batch",
    ))
}

impl Enlist {
    /// The report kept for a batch: an [`Enlist::invite`]'s batch id, a
    /// [`SendReport::batch_id`](crate::SendReport::batch_id) or an
    /// [`ImportReport::report_id`](crate::ImportReport::report_id). Its
    /// Invitations and Errors reports are [`BatchReport::invitations_csv`],
    /// [`BatchReport::errors_csv`] and their XLSX forms.
    ///
    /// Needs [`Permission::ViewMembers`], or to be the actor who ran the
    /// command. A batch of another organization (or no batch) is
    /// [`Error::NotFound`], as is a report pruned by
    /// [`Enlist::prune_batch_reports`].
    pub fn batch_report(&self, org: &OrgId, actor: &Actor, batch: &BatchId) -> Result<BatchReport> {
        super::check_max_bytes("batch_id", batch.as_str(), super::MAX_KEY_BYTES)?;
        self.run_read("batch_report", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            if auth.is_guest() {
                return Err(auth.deny(Permission::ViewMembers, "guests cannot read batch reports"));
            }
            let report = cx
                .tx
                .batch_report(org, batch)?
                .ok_or_else(|| Error::not_found(EntityKind::BatchReport, batch))?;
            may_read(&auth, &report)?;
            Ok(report)
        })
    }

    /// Deletes the reports of an organization's batches run before
    /// `before` (retention: reports are kept until pruned; run it from a
    /// periodic job, for instance with `now - 90 days`). Returns how many
    /// were deleted. Needs [`Permission::ManagePolicy`].
    pub fn prune_batch_reports(
        &self,
        org: &OrgId,
        actor: &Actor,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        super::check_time("before", before)?;
        let mut total = 0;
        loop {
            let n = self.run("prune_batch_reports", |cx| {
                cx.authorized(org, actor, Permission::ManagePolicy)?;
                Ok(cx
                    .tx
                    .delete_batch_reports_before(org, before, PRUNE_CHUNK)?)
            })?;
            total += n;
            if n < PRUNE_CHUNK as u64 {
                return Ok(total);
            }
        }
    }

    /// The import template as an XLSX workbook: the columns
    /// [`Enlist::import_invitations`] reads (those of
    /// [`import_template_csv`]), with no example rows, and drop-down lists
    /// in the Role, Kind and Groups columns holding the roles the actor may
    /// grant, `member` and `guest`, and the groups the actor may add people
    /// to. The lists live on a hidden sheet (`Lists`), since a list written
    /// into the validation itself is limited to 255 characters; the Groups
    /// list only suggests (a cell may name several groups, `Sales;
    /// Support`, or `Sales:owner`), Role and Kind refuse other values.
    ///
    /// Needs what an import needs: [`Permission::InviteMembers`] or
    /// [`Permission::InviteGuests`].
    pub fn import_template_xlsx(&self, org: &OrgId, actor: &Actor) -> Result<Vec<u8>> {
        let (roles, groups) = self.run_read("import_template_xlsx", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            if auth.is_guest()
                || !(auth.has(Permission::InviteMembers) || auth.has(Permission::InviteGuests))
            {
                return Err(auth.deny(
                    Permission::InviteMembers,
                    "the import template is for those who may invite members or guests",
                ));
            }
            let roles = grantable_roles(&o, &auth);
            let mut groups: Vec<String> = cx
                .tx
                .groups(org)?
                .into_iter()
                .filter(|g| {
                    auth.may_grant_group(&GroupGrant::member(g.id.clone()))
                        .is_ok()
                })
                .map(|g| g.name)
                .collect();
            groups.sort_by_key(|n| n.to_lowercase());
            Ok((roles, groups))
        })?;
        template_workbook(&roles, &groups, &[])
    }
}

impl Enlist {
    /// Keeps the report of an import none of whose rows reached a batch,
    /// under a new id.
    pub(crate) fn keep_import_preamble(
        &self,
        org: &OrgId,
        actor: &Actor,
        preamble: &[ReportRow],
    ) -> Result<BatchId> {
        self.run("import_invitations.report", |cx| {
            cx.enter(org, actor)?;
            let id = BatchId::from_random(cx.id_bytes());
            let mut r = BatchReport::new(
                id.clone(),
                org.clone(),
                ReportKind::Import,
                cx.now,
                actor.clone(),
            );
            preamble.iter().cloned().for_each(|row| r.push(row));
            cx.tx.put_batch_report(r)?;
            Ok(id)
        })
    }

    /// Adds an interrupted import's unprocessed lines to its report.
    pub(crate) fn keep_unprocessed(
        &self,
        org: &OrgId,
        report_id: &BatchId,
        interruption: &super::ImportInterruption,
    ) -> Result<()> {
        self.run("import_invitations.report", |cx| {
            let Some(mut r) = cx.tx.batch_report(org, report_id)? else {
                return Ok(());
            };
            for line in &interruption.unprocessed_lines {
                r.push(
                    ReportRow::new(*line as u64, "", RowOutcome::NotProcessed)
                        .error(interruption.code.clone(), interruption.message.clone()),
                );
            }
            r.rows.sort_by_key(|row| row.line);
            cx.tx.put_batch_report(r)?;
            Ok(())
        })
    }
}

/// The names of the roles the actor may grant, in the organization's
/// order.
fn grantable_roles(o: &Organization, auth: &Auth) -> Vec<String> {
    o.roles()
        .into_iter()
        .filter(|r| auth.grantable_role(o, &r.name).is_ok())
        .map(|r| r.name)
        .collect()
}

/// The header of the import template: the CSV template's (one definition
/// of the columns).
fn template_columns() -> Vec<String> {
    import_template_csv()
        .lines()
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::to_owned)
        .collect()
}

/// Rows of the template with drop-down lists (Excel's limit is the sheet).
const TEMPLATE_ROWS: u32 = 1_000;

/// The template; `rows` are filled in below the header (the tests fill
/// in the template as a person would).
fn template_workbook(roles: &[String], groups: &[String], rows: &[&[&str]]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{DataValidation, DataValidationErrorStyle, Format, Formula, Workbook};
    let columns = template_columns();
    let kinds: Vec<String> = MemberKind::NAMES.iter().map(|k| (*k).to_owned()).collect();
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    // The sheet people fill in: first, so the import reader (the first
    // visible sheet) reads it.
    let users = wb.add_worksheet();
    users.set_name("Users").map_err(xlsx_error)?;
    for (c, name) in columns.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        users
            .write_string_with_format(0, c, name, &bold)
            .map_err(xlsx_error)?;
        users.set_column_width(c, 18).map_err(xlsx_error)?;
    }
    users.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
        for (c, cell) in row.iter().enumerate().filter(|(_, c)| !c.is_empty()) {
            let c = u16::try_from(c).unwrap_or(u16::MAX);
            users.write_string(r, c, *cell).map_err(xlsx_error)?;
        }
    }
    let lists: [(&str, &[String], bool); 3] = [
        ("role", roles, true),
        ("kind", &kinds, true),
        ("groups", groups, false),
    ];
    for (list_col, (field, values, strict)) in lists.iter().enumerate() {
        let Some(col) = columns.iter().position(|c| c.eq_ignore_ascii_case(field)) else {
            continue;
        };
        if values.is_empty() {
            continue;
        }
        let letter = char::from(b'A' + u8::try_from(list_col).unwrap_or(0));
        let last = values.len() + 1;
        let mut v = DataValidation::new()
            .allow_list_formula(Formula::new(format!("=Lists!${letter}$2:${letter}${last}")))
            .ignore_blank(true);
        if !strict {
            v = v.set_error_style(DataValidationErrorStyle::Information);
        }
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        users
            .add_data_validation(1, col, TEMPLATE_ROWS, col, &v)
            .map_err(xlsx_error)?;
    }
    // The lists: names as they are (the import reader matches them), as
    // text cells, never formulas.
    let sheet = wb.add_worksheet();
    sheet.set_name("Lists").map_err(xlsx_error)?;
    for (c, (field, values, _)) in lists.iter().enumerate() {
        let c = u16::try_from(c).unwrap_or(u16::MAX);
        sheet
            .write_string_with_format(0, c, *field, &bold)
            .map_err(xlsx_error)?;
        for (r, value) in values.iter().enumerate() {
            let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
            sheet.write_string(r, c, value).map_err(xlsx_error)?;
        }
    }
    sheet.set_hidden(true);
    wb.save_to_buffer().map_err(xlsx_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support as ts;
    use crate::engine::{CreatedOrganization, ImportDefaults, NewOrganization, RecipientInput};
    use crate::import_file::{ImportFormat, ImportLimits, parse_import};
    use crate::report::tests::cells_of;

    struct Fx {
        engine: Enlist,
        org: OrgId,
        owner: Actor,
    }

    fn fixture() -> Fx {
        let engine = Enlist::in_memory();
        let (org, owner) = ts::org(
            &engine,
            "acct-ada",
            "ada@acme.test",
            crate::Policy::default(),
        );
        Fx { engine, org, owner }
    }

    impl Fx {
        fn member(&self, email: &str, role: &str) -> Actor {
            ts::actor_with_role(&self.engine, &self.org, &self.owner, email, role)
        }

        fn group(&self, name: &str) -> crate::group::Group {
            ts::group(&self.engine, &self.org, &self.owner, name)
        }
    }

    /// Seed 000: a send with errors (one without an email, one invalid);
    /// the two reports, fetched again by batch id, hold no secret.
    #[test]
    fn an_invite_keeps_its_invitations_and_errors_reports() {
        let f = fixture();
        let sales = f.group("Sales");
        let rows = vec![
            RecipientInput {
                first_name: Some("Bob".into()),
                last_name: Some("Smith".into()),
                ..RecipientInput::email("bob@acme.test")
            },
            RecipientInput {
                first_name: Some("Carl".into()),
                last_name: Some("NoMail".into()),
                role: Some("admin".into()),
                ..RecipientInput::default()
            },
            RecipientInput::identifier("EMP-7"),
            RecipientInput::email("not-an-address"),
        ];
        let sent = f
            .engine
            .invite(
                &f.org,
                &f.owner,
                InviteRequest::new(Recipients::List(rows))
                    .groups(vec![GroupGrant::member(sales.id.clone())]),
            )
            .unwrap();
        let secrets: Vec<String> = sent
            .issued
            .iter()
            .map(|i| i.secret.clone().unwrap().expose().to_owned())
            .collect();
        assert_eq!(secrets.len(), 2);

        let report = f
            .engine
            .batch_report(&f.org, &f.owner, &sent.batch_id)
            .unwrap();
        assert_eq!(report.kind, ReportKind::Invite);
        assert_eq!(report.actor, f.owner);
        assert_eq!(report.rows.len(), 4);
        let inv: Vec<&ReportRow> = report.invitations().collect();
        assert_eq!(inv.len(), 2);
        assert_eq!(inv[0].contact, "bob@acme.test");
        assert_eq!(inv[0].first_name.as_deref(), Some("Bob"));
        assert_eq!(inv[0].groups, ["Sales"]);
        assert_eq!(inv[0].outcome, RowOutcome::Issued);
        assert_eq!(
            inv[0].target_id.as_deref(),
            Some(sent.issued[0].invitation.id.as_str())
        );
        let errors: Vec<&ReportRow> = report.errors().collect();
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].line, 2);
        assert_eq!(errors[0].error_code.as_deref(), Some("missing_contact"));
        assert_eq!(errors[0].last_name.as_deref(), Some("NoMail"));
        assert_eq!(errors[0].role.as_deref(), Some("admin"));
        assert_eq!(errors[1].error_code.as_deref(), Some("invalid_address"));

        // No secret in any file: neither the token nor the access code.
        let files = [
            report.invitations_csv(),
            report.errors_csv(),
            cells_of(&report.invitations_xlsx().unwrap())
                .concat()
                .join(","),
            cells_of(&report.errors_xlsx().unwrap()).concat().join(","),
            serde_json::to_string(&report).unwrap(),
        ];
        for file in &files {
            for s in &secrets {
                assert!(!file.contains(s.as_str()), "a secret in {file}");
            }
            assert!(!file.contains("https://"), "a link in {file}");
        }
        assert!(files[0].contains("emp-7") || files[0].contains("EMP-7"));
        assert!(files[1].contains("missing_contact"));
        assert!(!files[1].contains("bob@acme.test"));
    }

    #[test]
    fn who_may_read_a_report() {
        let f = fixture();
        let sent = f
            .engine
            .invite(
                &f.org,
                &f.owner,
                InviteRequest::new(Recipients::Paste("bob@acme.test".into())),
            )
            .unwrap();
        // An administrator who can see members reads it.
        let admin = f.member("uma@acme.test", "user_admin");
        assert!(
            f.engine
                .batch_report(&f.org, &admin, &sent.batch_id)
                .is_ok()
        );
        assert!(
            f.engine
                .batch_report(&f.org, &Actor::System, &sent.batch_id)
                .is_ok()
        );
        // A member without ViewMembers who did not run it does not.
        f.engine
            .define_role(&f.org, &f.owner, "contractor", Default::default())
            .unwrap();
        let plain = f.member("pat@acme.test", "contractor");
        let err = f
            .engine
            .batch_report(&f.org, &plain, &sent.batch_id)
            .unwrap_err();
        assert_eq!(err.code(), "permission_denied", "{err}");
        // A plain member reads the report of their own batch.
        let mut policy = f.engine.organization(&f.org).unwrap().policy;
        policy.members_can_invite = true;
        f.engine.update_policy(&f.org, &f.owner, policy).unwrap();
        let own = f
            .engine
            .invite(
                &f.org,
                &plain,
                InviteRequest::new(Recipients::Paste("quinn@acme.test".into())).role("contractor"),
            )
            .unwrap();
        assert!(f.engine.batch_report(&f.org, &plain, &own.batch_id).is_ok());
        // An account outside the organization, anonymous: refused.
        for outsider in [Actor::Account("acct-x".into()), Actor::Anonymous] {
            let err = f
                .engine
                .batch_report(&f.org, &outsider, &sent.batch_id)
                .unwrap_err();
            assert_eq!(err.code(), "permission_denied", "{err}");
        }
        // A guest, even one whose role would allow it: refused.
        let guest = {
            let mut p = f.engine.organization(&f.org).unwrap().policy;
            p.guests_enabled = true;
            f.engine.update_policy(&f.org, &f.owner, p).unwrap();
            let m = ts::join(
                &f.engine,
                &f.org,
                &f.owner,
                InviteRequest::new(Recipients::Paste("gil@ext.test".into()))
                    .kind(MemberKind::Guest),
                ts::registration("acct-gil", ("Gil", "Guest")),
            );
            Actor::Member(m.id)
        };
        let err = f
            .engine
            .batch_report(&f.org, &guest, &r_id(&own))
            .unwrap_err();
        assert_eq!(err.code(), "permission_denied", "{err}");
        // Another organization's batch is not found there, even by its
        // owner; an unknown id neither.
        let other = fixture();
        let err = other
            .engine
            .batch_report(&other.org, &other.owner, &sent.batch_id)
            .unwrap_err();
        assert_eq!(err.code(), "not_found");
        let theirs = other
            .engine
            .invite(
                &other.org,
                &other.owner,
                InviteRequest::new(Recipients::Paste("zed@other.test".into())),
            )
            .unwrap();
        let err = f
            .engine
            .batch_report(&f.org, &f.owner, &theirs.batch_id)
            .unwrap_err();
        assert!(
            matches!(
                &err,
                Error::NotFound {
                    entity: EntityKind::BatchReport,
                    ..
                }
            ),
            "{err:?}"
        );
        // An oversized id is refused before any read.
        let err = f
            .engine
            .batch_report(&f.org, &f.owner, &BatchId::from("b".repeat(10_000)))
            .unwrap_err();
        assert_eq!(err.code(), "limit_exceeded");
    }

    fn r_id(r: &InviteReport) -> BatchId {
        r.batch_id.clone()
    }

    #[test]
    fn a_staged_send_keeps_its_report() {
        let f = fixture();
        let staged = f
            .engine
            .invite(
                &f.org,
                &f.owner,
                InviteRequest::new(Recipients::Paste("a@acme.test, b@acme.test".into())).staged(),
            )
            .unwrap();
        let staged_report = f
            .engine
            .batch_report(&f.org, &f.owner, &staged.batch_id)
            .unwrap();
        assert!(
            staged_report
                .rows
                .iter()
                .all(|r| r.outcome == RowOutcome::Staged)
        );
        let ids = vec![
            staged.issued[0].invitation.id.clone(),
            InvitationId::from("inv_nope"),
        ];
        let sent = f.engine.send_staged(&f.org, &f.owner, &ids).unwrap();
        let id = sent.batch_id.clone().unwrap();
        let report = f.engine.batch_report(&f.org, &f.owner, &id).unwrap();
        assert_eq!(report.kind, ReportKind::SendStaged);
        assert_eq!(report.rows[0].outcome, RowOutcome::Sent);
        assert_eq!(report.rows[0].contact, "a@acme.test");
        assert_eq!(report.rows[1].outcome, RowOutcome::Rejected);
        assert_eq!(report.rows[1].error_code.as_deref(), Some("not_found"));
        let SendOutcome::Sent { issued } = &sent.results[0] else {
            panic!("sent")
        };
        let token = issued.secret.clone().unwrap();
        assert!(!report.invitations_csv().contains(token.expose()));
    }

    #[test]
    fn an_import_keeps_one_report_by_file_line_across_batches() {
        let f = fixture();
        f.group("Sales");
        let mut p = f.engine.organization(&f.org).unwrap().policy;
        p.max_batch = 2;
        f.engine.update_policy(&f.org, &f.owner, p).unwrap();
        let csv = "Email,First name,Groups,Kind\n\
                   a@acme.test,A,Sales,\n\
                   b@acme.test,B,,\n\
                   c@acme.test,C,Nowhere,\n\
                   a@acme.test,A2,,\n\
                   d@acme.test,D,,boss\n\
                   e@acme.test,E,,\n";
        let imported = f
            .engine
            .import_invitations(
                &f.org,
                &f.owner,
                csv.as_bytes(),
                ImportFormat::Csv,
                ImportDefaults::default(),
            )
            .unwrap();
        assert!(imported.batches.len() >= 2);
        let id = imported.report_id.clone().unwrap();
        assert_eq!(id, imported.batches[0].batch_id);
        let report = f.engine.batch_report(&f.org, &f.owner, &id).unwrap();
        assert_eq!(report.kind, ReportKind::Import);
        let lines: Vec<u64> = report.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 4, 5, 6, 7]);
        let by_line = |l: u64| report.rows.iter().find(|r| r.line == l).unwrap();
        assert_eq!(by_line(2).outcome, RowOutcome::Issued);
        assert_eq!(by_line(2).groups, ["Sales"]);
        assert_eq!(by_line(4).error_code.as_deref(), Some("unknown_group"));
        assert_eq!(by_line(5).outcome, RowOutcome::Rejected);
        assert_eq!(by_line(6).outcome, RowOutcome::Unreadable);
        assert_eq!(by_line(7).outcome, RowOutcome::Issued);
        assert_eq!(report.invitations().count(), imported.issued_count());
        assert_eq!(report.errors().count(), imported.failed_count());

        // A file none of whose rows reaches a batch still has its report.
        let none = f
            .engine
            .import_invitations(
                &f.org,
                &f.owner,
                b"Email,Groups\nx@acme.test,Nowhere\n",
                ImportFormat::Csv,
                ImportDefaults::default(),
            )
            .unwrap();
        assert!(none.batches.is_empty());
        let report = f
            .engine
            .batch_report(&f.org, &f.owner, none.report_id.as_ref().unwrap())
            .unwrap();
        assert_eq!(report.errors().count(), 1);
    }

    #[test]
    fn pruning_deletes_old_reports_only() {
        let clock = std::sync::Arc::new(crate::ManualClock::new(
            DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        ));
        let engine = Enlist::in_memory().with_clock(clock.clone());
        let CreatedOrganization {
            organization,
            owner,
            ..
        } = engine
            .create_organization(NewOrganization::new("Acme", "acct-ada", "ada@acme.test"))
            .unwrap();
        let (org, owner) = (organization.id, Actor::Member(owner.id));
        let invite = |who: &str| {
            engine
                .invite(
                    &org,
                    &owner,
                    InviteRequest::new(Recipients::Paste(who.into())),
                )
                .unwrap()
                .batch_id
        };
        let old = invite("a@acme.test");
        clock.advance(chrono::TimeDelta::days(100));
        let new = invite("b@acme.test");
        let cutoff = engine.now() - chrono::TimeDelta::days(90);
        let plain = Actor::Account("acct-x".into());
        assert!(engine.prune_batch_reports(&org, &plain, cutoff).is_err());
        assert_eq!(engine.prune_batch_reports(&org, &owner, cutoff).unwrap(), 1);
        assert_eq!(
            engine.batch_report(&org, &owner, &old).unwrap_err().code(),
            "not_found"
        );
        assert!(engine.batch_report(&org, &owner, &new).is_ok());
    }

    #[test]
    fn the_empty_template_reads_as_no_rows_and_a_filled_one_imports() {
        let f = fixture();
        f.group("Sales");
        f.group("Support");
        let bytes = f.engine.import_template_xlsx(&f.org, &f.owner).unwrap();
        let sheet = parse_import(&bytes, ImportFormat::Xlsx, &ImportLimits::default()).unwrap();
        assert!(sheet.rows.is_empty(), "{:?}", sheet.rows);
        assert!(sheet.errors.is_empty() && sheet.ignored_columns.is_empty());
        assert_eq!(cells_of(&bytes)[0], template_columns());

        // The template with rows filled in, as a person would.
        let filled = template_workbook(
            &["member".into(), "admin".into()],
            &["Sales".into(), "Support".into()],
            &[
                &[
                    "ann@acme.test",
                    "",
                    "Ann",
                    "Lee",
                    "admin",
                    "member",
                    "Sales:owner; Support",
                    "",
                ],
                &["", "EMP-9", "Ben", "Ray", "member", "member", "Support", ""],
            ],
        )
        .unwrap();
        let imported = f
            .engine
            .import_invitations(
                &f.org,
                &f.owner,
                &filled,
                ImportFormat::Xlsx,
                ImportDefaults::default(),
            )
            .unwrap();
        assert_eq!(imported.issued_count(), 2, "{imported:?}");
        let first = imported.issued().next().unwrap();
        assert_eq!(first.issued.invitation.role, "admin");
        assert_eq!(first.issued.invitation.groups.len(), 2);
    }

    /// The drop-down lists come from the hidden sheet, whatever their
    /// length: 300 groups hold far more than the 255 characters of an
    /// inline list.
    #[test]
    fn drop_downs_hold_many_groups_from_a_hidden_sheet() {
        let f = fixture();
        for i in 0..300 {
            f.group(&format!("Group number {i:03}"));
        }
        let bytes = f.engine.import_template_xlsx(&f.org, &f.owner).unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(
            &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
            &mut xml,
        )
        .unwrap();
        assert!(xml.contains("Lists!$C$2:$C$301"), "{xml}");
        assert!(xml.contains("Lists!$A$2:$A$"), "{xml}");
        assert!(xml.contains("Lists!$B$2:$B$3"), "{xml}");
        let mut wb_xml = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/workbook.xml").unwrap(), &mut wb_xml)
            .unwrap();
        assert!(
            wb_xml.contains(r#"name="Lists" sheetId="2" state="hidden""#),
            "{wb_xml}"
        );
        // The list sheet holds every group name.
        use calamine::{Reader, Xlsx};
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let lists = wb.worksheet_range("Lists").unwrap();
        let names: Vec<String> = lists
            .rows()
            .skip(1)
            .filter_map(|r| r.get(2))
            .map(|c| c.to_string())
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(names.len(), 300);
    }

    #[test]
    fn the_template_lists_only_what_the_actor_may_grant_and_needs_invite_rights() {
        let f = fixture();
        let uma = f.member("uma@acme.test", "user_admin");
        let bytes = f.engine.import_template_xlsx(&f.org, &uma).unwrap();
        use calamine::{Reader, Xlsx};
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let lists = wb.worksheet_range("Lists").unwrap();
        let roles: Vec<String> = lists
            .rows()
            .skip(1)
            .filter_map(|r| r.first())
            .map(|c| c.to_string())
            .filter(|s| !s.is_empty())
            .collect();
        assert!(roles.contains(&"member".to_owned()), "{roles:?}");
        assert!(!roles.contains(&"owner".to_owned()), "{roles:?}");
        let plain = f.member("pat@acme.test", "member");
        let err = f.engine.import_template_xlsx(&f.org, &plain).unwrap_err();
        assert_eq!(err.code(), "permission_denied");
    }
}

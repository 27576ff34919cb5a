//! Bulk update of members through the import template (seed 004: "Users
//! can be imported in bulk and updated in bulk"; "You are able to update
//! all user details except for their email address"). Each row of the file
//! names an existing member by email (or identifier) and the fields to
//! change: names, role, groups, license type, Active, attributes such as
//! the department. A dry run returns the diff per row; applying runs one
//! transaction per batch of the policy's `max_batch` rows, with the rules
//! and events of [`Enlist::update_member`] for every row.

use super::directory_import::resolve_role;
use super::members::{CleanUpdate, FieldChange};
use super::{Enlist, ImportInterruption, MemberUpdate, identifier_key};
use crate::email::parse_address;
use crate::error::{EntityKind, Error, Result};
use crate::event::Actor;
use crate::group::{Group, GroupGrant};
use crate::id::{MemberId, OrgId};
use crate::import_file::{ImportFormat, ImportLimits, ImportRow, ImportRowError, parse_import};
use crate::member::MemberStatus;
use crate::organization::Organization;
use crate::role::Permission;
use crate::wire_names;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What happened (or would happen) to one row of a bulk update.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum BulkRowStatus {
    /// The member changes: see the row's changes.
    Changed,
    /// The row says what the member already has.
    Unchanged,
    /// The row cannot be applied: see its code and message. Nothing of it
    /// is written.
    Failed,
}

wire_names! {
    BulkRowStatus {
        Changed => "changed",
        Unchanged => "unchanged",
        Failed => "failed",
    }
}

/// One row of a bulk update, by its file line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BulkUpdateRow {
    /// The row's line in the file.
    pub line: usize,
    /// The email (or identifier) as written.
    pub input: String,
    /// The member it names, when found.
    pub member: Option<MemberId>,
    /// Changed, unchanged or failed.
    pub status: BulkRowStatus,
    /// Each field that changes, old and new.
    pub changes: Vec<FieldChange>,
    /// Why it failed: the error's stable code (`not_found`,
    /// `permission_denied`, `conflict`, `invalid_input`, ...).
    pub code: Option<String>,
    /// Why it failed, for the person who filled in the file.
    pub message: Option<String>,
}

/// The outcome of [`Enlist::dry_run_bulk_update`] (`applied` false: nothing
/// was written) or [`Enlist::bulk_update_members`] (`applied` true).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BulkUpdateReport {
    /// Whether the changes were written.
    pub applied: bool,
    /// Columns of the file that were not recognized.
    pub ignored_columns: Vec<String>,
    /// Rows that could not be read.
    pub sheet_errors: Vec<ImportRowError>,
    /// Every other row, by line.
    pub rows: Vec<BulkUpdateRow>,
    /// How many batches (transactions) the rows took.
    pub batches: u32,
    /// Set when a batch after the first failed as a whole (the store): the
    /// batches before it were applied, it and the later ones were not.
    pub interrupted: Option<ImportInterruption>,
}

impl BulkUpdateReport {
    /// Rows in this state.
    pub fn count(&self, status: BulkRowStatus) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }
}

/// A row read from the file and checked without the store.
struct PlannedRow {
    line: usize,
    input: String,
    /// The contact key, and the update; or why the row fails.
    update: std::result::Result<(String, CleanUpdate), Error>,
}

impl Enlist {
    /// The diff a bulk update would make, without writing anything: per
    /// row of the file, the member it names and each field's old and new
    /// value, or that the row changes nothing, or why it would fail. The
    /// rows are evaluated by the same code as
    /// [`Enlist::bulk_update_members`], batch after batch, in one
    /// transaction that is rolled back (never committed): no event, no
    /// change.
    pub fn dry_run_bulk_update(
        &self,
        org: &OrgId,
        actor: &Actor,
        bytes: &[u8],
        format: ImportFormat,
    ) -> Result<BulkUpdateReport> {
        self.bulk_update(org, actor, bytes, format, false)
    }

    /// Updates existing members from the import template: each row names a
    /// member by email (or identifier) and sets the fields its cells fill
    /// in (first and last name, role, groups, license type, Active,
    /// department, job title); empty cells leave fields alone and the
    /// email never changes. Needs [`Permission::ManageMembers`], checked
    /// before the file is read; every row then follows
    /// [`Enlist::update_member`]'s rules (no one raised above the actor's
    /// own role, an owner touched only by an owner, the last active owner
    /// kept) and the reactivation rules (a free seat). A row that breaks a
    /// rule fails alone; the file's rows run as batches of the policy's
    /// `max_batch` rows, one transaction each, with one `MemberUpdated`
    /// event per member changed (and one `MemberStatusChanged` per
    /// activation or deactivation).
    pub fn bulk_update_members(
        &self,
        org: &OrgId,
        actor: &Actor,
        bytes: &[u8],
        format: ImportFormat,
    ) -> Result<BulkUpdateReport> {
        self.bulk_update(org, actor, bytes, format, true)
    }

    fn bulk_update(
        &self,
        org: &OrgId,
        actor: &Actor,
        bytes: &[u8],
        format: ImportFormat,
        apply: bool,
    ) -> Result<BulkUpdateReport> {
        // No organization takes a larger file: refused before any work.
        ImportLimits::check_ceiling(bytes.len())?;
        let (o, groups) = self.run_read("bulk_update.authorize", |cx| {
            let (o, _) = cx.authorized(org, actor, Permission::ManageMembers)?;
            let groups = cx.tx.groups(org)?;
            Ok((o, groups))
        })?;
        // Authorized: the file is read now, within the organization's
        // limits, outside any transaction.
        let sheet = parse_import(bytes, format, &ImportLimits::from(&o.policy))?;
        let mut report = BulkUpdateReport {
            applied: apply,
            ignored_columns: sheet.ignored_columns,
            sheet_errors: sheet.errors,
            ..BulkUpdateReport::default()
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        let planned: Vec<PlannedRow> = sheet
            .rows
            .into_iter()
            .map(|row| plan_row(&o, &groups, row, &mut seen))
            .collect();
        let size = usize::try_from(o.policy.max_batch.max(1)).unwrap_or(usize::MAX);
        let chunks: Vec<&[PlannedRow]> = planned.chunks(size).collect();
        report.batches = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
        if apply {
            for (b, chunk) in chunks.iter().enumerate() {
                match self.run("bulk_update_members", |cx| {
                    apply_batch(cx, org, actor, chunk)
                }) {
                    Ok(rows) => report.rows.extend(rows),
                    Err(e) if b == 0 => return Err(e),
                    Err(e) => {
                        report.interrupted = Some(ImportInterruption::at(
                            b,
                            &e,
                            chunks[b..].iter().flat_map(|c| c.iter().map(|r| r.line)),
                        ));
                        break;
                    }
                }
            }
        } else {
            // Every batch in one transaction, each seeing the ones before
            // it as the real run would, then rolled back.
            report.rows = self.run_rolled_back("dry_run_bulk_update", |cx| {
                let mut rows = Vec::with_capacity(planned.len());
                for chunk in &chunks {
                    rows.extend(apply_batch(cx, org, actor, chunk)?);
                }
                Ok(rows)
            })?;
        }
        Ok(report)
    }
}

/// One batch's rows inside its transaction: the actor checked again, each
/// row found and edited by [`Ctx::edit_member`](super::Ctx::edit_member).
/// A row that breaks a rule fails alone (nothing of it is written); a store
/// failure fails the batch.
fn apply_batch(
    cx: &mut super::Ctx<'_>,
    org: &OrgId,
    actor: &Actor,
    chunk: &[PlannedRow],
) -> Result<Vec<BulkUpdateRow>> {
    let (o, auth) = cx.authorized(org, actor, Permission::ManageMembers)?;
    // Each row's member is asked for next, one by one between the edits:
    // a store with round trips reads them all at once.
    let keys: Vec<crate::Text> = chunk
        .iter()
        .filter_map(|r| r.update.as_ref().ok().map(|(key, _)| key.into()))
        .collect();
    cx.tx.prefetch_recipients(org, &keys)?;
    let mut out = Vec::with_capacity(chunk.len());
    for row in chunk {
        let mut r = BulkUpdateRow {
            line: row.line,
            input: row.input.clone(),
            member: None,
            status: BulkRowStatus::Failed,
            changes: Vec::new(),
            code: None,
            message: None,
        };
        let outcome = match &row.update {
            Err(e) => Err(e.clone()),
            Ok((key, update)) => match cx.tx.member_by_contact(org, key)? {
                None => Err(Error::not_found(EntityKind::Member, &row.input)),
                Some(m) => {
                    r.member = Some(m.id.clone());
                    cx.edit_member(&o, &auth, actor, m, update)
                }
            },
        };
        match outcome {
            Ok((_, changes)) => {
                r.status = if changes.is_empty() {
                    BulkRowStatus::Unchanged
                } else {
                    BulkRowStatus::Changed
                };
                r.changes = changes;
            }
            Err(e @ (Error::Store(_) | Error::Mail(_))) => return Err(e),
            Err(e) => {
                r.code = Some(e.code().to_owned());
                r.message = Some(e.to_string());
            }
        }
        out.push(r);
    }
    Ok(out)
}

/// A row's contact key and update, checked without the store: the email
/// or identifier parsed, the role and group names resolved, every field
/// bounded and cleaned. A member named twice fails the second time.
fn plan_row(
    o: &Organization,
    groups: &[Group],
    row: ImportRow,
    seen: &mut HashMap<String, usize>,
) -> PlannedRow {
    let ImportRow {
        line,
        input,
        groups: names,
        active,
    } = row;
    let shown = input
        .email
        .clone()
        .or_else(|| input.identifier.clone())
        .unwrap_or_default();
    let update = (|| -> Result<(String, CleanUpdate)> {
        let key = match (&input.email, &input.identifier) {
            (Some(e), _) => {
                super::check_max_bytes("email", e, super::MAX_EMAIL_FIELD_BYTES)?;
                parse_address(e)
                    .map_err(|e| Error::invalid("email", e.to_string()))?
                    .key
                    .into_owned()
            }
            (None, Some(id)) => {
                super::check_bytes("identifier", id, super::MAX_IDENTIFIER_CHARS)?;
                identifier_key(id)?
            }
            (None, None) => {
                return Err(Error::invalid(
                    "email",
                    "a bulk update finds members by email (or identifier): this row has neither",
                ));
            }
        };
        if let Some(first) = seen.get(&key) {
            return Err(Error::invalid(
                "email",
                format!("the same member is on line {first}: keep one row per member"),
            ));
        }
        seen.insert(key.clone(), line);
        let role = match &input.role {
            None => None,
            Some(r) => {
                super::check_max_bytes("role", r, super::MAX_KEY_BYTES)?;
                Some(resolve_role(o, r).ok_or_else(|| {
                    Error::invalid("role", format!("no role named {r:?} in the organization"))
                })?)
            }
        };
        let grants = if names.is_empty() {
            None
        } else {
            let mut grants: Vec<GroupGrant> = Vec::with_capacity(names.len());
            for g in names {
                let lower = g.name.to_lowercase();
                let found = groups
                    .iter()
                    .find(|x| x.name.to_lowercase() == lower)
                    .ok_or_else(|| {
                        Error::invalid(
                            "groups",
                            format!("no group named {:?} in the organization", g.name),
                        )
                    })?;
                match grants.iter_mut().find(|x| x.group_id == found.id) {
                    Some(x) => x.role = x.role.max(g.role),
                    None => grants.push(GroupGrant {
                        group_id: found.id.clone(),
                        role: g.role,
                    }),
                }
            }
            Some(grants)
        };
        let update = MemberUpdate {
            first_name: input.first_name.clone(),
            last_name: input.last_name.clone(),
            phone: None,
            role,
            groups: grants,
            license_type: input.license_type.clone(),
            attributes: (!input.attributes.is_empty()).then(|| input.attributes.clone()),
            ..MemberUpdate::default()
        };
        let status = active.map(|a| {
            if a {
                MemberStatus::Active
            } else {
                MemberStatus::Inactive
            }
        });
        Ok((key, CleanUpdate::of(&update, status)?))
    })();
    PlannedRow {
        line,
        input: shown,
        update,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support as ts;
    use crate::event::EventKind;
    use crate::member::{Member, MemberQuery};
    use crate::policy::Policy;

    struct World {
        engine: Enlist,
        org: OrgId,
        owner: Actor,
    }

    impl World {
        fn new(policy: Policy) -> Self {
            let engine = Enlist::in_memory();
            let (org, owner) = ts::org(&engine, "acct-1", "ada@acme.test", policy);
            for name in ["Sales", "Support"] {
                ts::group(&engine, &org, &owner, name);
            }
            World { engine, org, owner }
        }

        fn join(&self, email: &str, role: &str) -> Member {
            ts::member_with_role(
                &self.engine,
                &self.org,
                &self.owner,
                (email, role),
                &format!("acct-{email}"),
                ("First", "Last"),
            )
        }

        fn member(&self, email: &str) -> Member {
            let page = self
                .engine
                .list_members(
                    &self.org,
                    &self.owner,
                    &MemberQuery {
                        limit: 100,
                        ..MemberQuery::default()
                    },
                )
                .expect("list");
            page.items
                .into_iter()
                .find(|m| m.contact.as_str() == email)
                .expect("member")
        }

        fn events(&self) -> Vec<crate::Event> {
            let mut tx = self.engine.store().begin().expect("begin");
            tx.events(&self.org, 0, 10_000).expect("events")
        }
    }

    fn row(report: &BulkUpdateReport, line: usize) -> &BulkUpdateRow {
        report
            .rows
            .iter()
            .find(|r| r.line == line)
            .unwrap_or_else(|| panic!("no row for line {line}: {report:?}"))
    }

    const FILE: &str = "Email,First name,Last name,Role,Groups,License,Active,Department,Job title\n\
        bob@acme.test,Robert,,admin,Sales:owner;Support,pro,,Sales,Lead\n\
        carol@acme.test,First,Last,,,,,,\n\
        dave@acme.test,,,,,,no,,\n\
        nobody@acme.test,,,,,,,Sales,\n\
        bob@acme.test,,,,,,,Support,\n\
        eve@acme.test,,,,Nowhere,,,,\n";

    #[test]
    fn a_dry_run_shows_the_diff_and_applying_makes_it_one_event_per_change() {
        let w = World::new(Policy::default());
        for e in [
            "bob@acme.test",
            "carol@acme.test",
            "dave@acme.test",
            "eve@acme.test",
        ] {
            w.join(e, "member");
        }
        let events_before = w.events();
        let bob_before = w.member("bob@acme.test");
        let dry = w
            .engine
            .dry_run_bulk_update(&w.org, &w.owner, FILE.as_bytes(), ImportFormat::Csv)
            .expect("dry run");
        assert!(!dry.applied);
        assert_eq!(w.events(), events_before, "a dry run records no event");
        assert_eq!(
            w.member("bob@acme.test"),
            bob_before,
            "a dry run changes nothing"
        );

        let bob = row(&dry, 2);
        assert_eq!(bob.status, BulkRowStatus::Changed);
        let diff: Vec<(&str, &str, &str)> = bob
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.old.as_str(), c.new.as_str()))
            .collect();
        assert_eq!(
            diff,
            [
                ("first_name", "First", "Robert"),
                ("role", "member", "admin"),
                ("groups", "", "Sales (owner), Support"),
                ("license_type", "standard", "pro"),
                ("attributes.department", "", "Sales"),
                ("attributes.job_title", "", "Lead"),
            ]
        );
        assert_eq!(row(&dry, 3).status, BulkRowStatus::Unchanged);
        let dave = row(&dry, 4);
        assert_eq!(dave.status, BulkRowStatus::Changed);
        assert_eq!(dave.changes[0].field, "status");
        assert_eq!(row(&dry, 5).code.as_deref(), Some("not_found"));
        assert!(
            row(&dry, 6)
                .message
                .as_deref()
                .is_some_and(|m| m.contains("line 2")),
            "{:?}",
            row(&dry, 6)
        );
        assert_eq!(row(&dry, 7).code.as_deref(), Some("invalid_input"));

        let applied = w
            .engine
            .bulk_update_members(&w.org, &w.owner, FILE.as_bytes(), ImportFormat::Csv)
            .expect("apply");
        assert!(applied.applied);
        assert_eq!(
            applied.rows, dry.rows,
            "applying does what the dry run said"
        );
        let bob = w.member("bob@acme.test");
        assert_eq!(bob.first_name.as_deref(), Some("Robert"));
        assert_eq!(bob.role, "admin");
        assert_eq!(bob.license_type, "pro");
        assert_eq!(
            bob.attributes.get("department").map(String::as_str),
            Some("Sales")
        );
        assert_eq!(bob.contact.as_str(), "bob@acme.test", "never the email");
        assert_eq!(w.member("dave@acme.test").status, MemberStatus::Inactive);
        let new: Vec<EventKind> = w.events()[events_before.len()..]
            .iter()
            .map(|e| e.kind.clone())
            .collect();
        assert_eq!(new.len(), 2, "{new:?}");
        assert!(matches!(&new[0], EventKind::MemberUpdated { fields, .. } if fields.len() == 6));
        assert!(matches!(
            &new[1],
            EventKind::MemberStatusChanged {
                to: MemberStatus::Inactive,
                ..
            }
        ));
    }

    #[test]
    fn each_row_follows_update_members_rules() {
        let w = World::new(Policy::default());
        w.join("ua@acme.test", "user_admin");
        w.join("bob@acme.test", "member");
        let ua = Actor::Member(w.member("ua@acme.test").id);
        let file = "Email,Role,Active,Department\n\
            bob@acme.test,owner,,\n\
            ada@acme.test,,,Board\n\
            bob@acme.test,,,Sales\n";
        let r = w
            .engine
            .bulk_update_members(&w.org, &ua, file.as_bytes(), ImportFormat::Csv)
            .expect("apply");
        // Raising someone above one's own role, and touching the owner: refused.
        assert_eq!(row(&r, 2).code.as_deref(), Some("permission_denied"));
        assert_eq!(row(&r, 3).code.as_deref(), Some("permission_denied"));
        assert_eq!(w.member("bob@acme.test").role, "member");
        assert!(w.member("ada@acme.test").attributes.is_empty());
        // The same member twice: the second row fails, the first is refused.
        assert_eq!(row(&r, 4).code.as_deref(), Some("invalid_input"));
        // The last owner stays: the owner cannot deactivate or demote herself.
        let file = "Email,Role,Active\nada@acme.test,,no\n";
        let r = w
            .engine
            .bulk_update_members(&w.org, &w.owner, file.as_bytes(), ImportFormat::Csv)
            .expect("apply");
        assert_eq!(row(&r, 2).code.as_deref(), Some("conflict"));
        assert_eq!(w.member("ada@acme.test").status, MemberStatus::Active);
    }

    #[test]
    fn only_member_managers_get_the_file_read_and_batches_follow_max_batch() {
        let w = World::new(Policy {
            max_batch: 2,
            ..Policy::default()
        });
        w.join("bob@acme.test", "member");
        let bob = Actor::Member(w.member("bob@acme.test").id);
        // Not a member manager: refused before the (unreadable) file is read.
        let err = w
            .engine
            .dry_run_bulk_update(&w.org, &bob, b"\xff\xfe garbage", ImportFormat::Csv)
            .expect_err("refused");
        assert_eq!(err.code(), "permission_denied");
        let err = w
            .engine
            .bulk_update_members(&w.org, &Actor::Anonymous, b"x", ImportFormat::Csv)
            .expect_err("refused");
        assert_eq!(err.code(), "permission_denied");
        let file = "Email,Department\na1@acme.test,x\na2@acme.test,x\na3@acme.test,x\nbob@acme.test,Ops\nada@acme.test,Board\n";
        let r = w
            .engine
            .bulk_update_members(&w.org, &w.owner, file.as_bytes(), ImportFormat::Csv)
            .expect("apply");
        assert_eq!(r.batches, 3);
        assert_eq!(r.count(BulkRowStatus::Changed), 2);
        assert_eq!(r.count(BulkRowStatus::Failed), 3);
        // Attributes out of bounds: the row fails with a clear error.
        let long = "d".repeat(crate::member::MAX_ATTRIBUTE_VALUE_CHARS + 1);
        let file = format!("Email,Department\nbob@acme.test,{long}\n");
        let r = w
            .engine
            .bulk_update_members(&w.org, &w.owner, file.as_bytes(), ImportFormat::Csv)
            .expect("apply");
        assert_eq!(row(&r, 2).code.as_deref(), Some("limit_exceeded"));
        assert_eq!(
            w.member("bob@acme.test")
                .attributes
                .get("department")
                .map(String::as_str),
            Some("Ops")
        );
    }
}

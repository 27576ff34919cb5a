//! Bulk actions over a selection of members or invitations (seed 004's
//! check boxes and header buttons): remove, deactivate, reactivate, change
//! role, resend, revoke. Each row obeys the rules of its single command
//! (the `*_in` functions of `members.rs` and `invite.rs`, called inside
//! this command's one transaction); the destructive actions need a typed
//! confirmation number first.

use super::members::CleanUpdate;
use super::{Auth, Ctx, Enlist, MAX_IDS, MAX_KEY_BYTES, check_max_bytes};
use crate::error::{EntityKind, Error, LimitKind, Result};
use crate::event::Actor;
use crate::id::{BatchId, InvitationId, MemberId, OrgId};
use crate::member::MemberStatus;
use crate::organization::Organization;
use crate::role::Permission;
use crate::wire_names;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use subtle::ConstantTimeEq;

/// How many digits a confirmation number has.
pub const CONFIRMATION_DIGITS: usize = 6;
/// A confirmation number's time window, in seconds: numbers are cut per
/// window of this length.
pub const CONFIRMATION_WINDOW_SECS: i64 = 60;
/// How many windows a confirmation number stays good for: it is accepted
/// in the window it was given in and the next ones, up to this many in
/// all, so for 9 to 10 minutes ([`BulkConfirmation::expires_at`] says
/// exactly until when).
pub const CONFIRMATION_WINDOWS: i64 = 10;
/// The most bytes of a typed confirmation number read (spaces included).
const MAX_TYPED_BYTES: usize = 64;

/// What a bulk action does to each row of its selection.
///
/// The destructive ones ([`BulkAction::needs_confirmation`]: remove,
/// deactivate, change role, revoke) take someone's access away or change
/// what they may do, as seed 004's "Delete" does: they run only with the
/// confirmation number of [`Enlist::bulk_confirmation`]. Reactivating and
/// resending give nothing away that the single commands would not, and run
/// without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum BulkAction {
    /// [`Enlist::remove_member`] on each member; an invitation in the
    /// selection (a person who has not joined yet) is revoked
    /// ([`Enlist::revoke`]). Needs confirmation.
    Remove,
    /// [`Enlist::deactivate_member`] on each member. Needs confirmation.
    Deactivate,
    /// [`Enlist::reactivate_member`] on each member.
    Reactivate,
    /// [`Enlist::update_member`] with the request's `role` on each member.
    /// Needs confirmation.
    ChangeRole,
    /// [`Enlist::resend`] on each invitation (invitations by email only:
    /// an access code is shown once, to whoever resends it alone).
    Resend,
    /// [`Enlist::revoke`] on each invitation. Needs confirmation.
    Revoke,
}

wire_names! {
    BulkAction {
        Remove => "remove",
        Deactivate => "deactivate",
        Reactivate => "reactivate",
        ChangeRole => "change_role",
        Resend => "resend",
        Revoke => "revoke",
    }
}

impl BulkAction {
    /// Whether the action runs only with a confirmation number.
    pub fn needs_confirmation(&self) -> bool {
        matches!(
            self,
            BulkAction::Remove
                | BulkAction::Deactivate
                | BulkAction::ChangeRole
                | BulkAction::Revoke
        )
    }

    fn takes_members(&self) -> bool {
        !matches!(self, BulkAction::Resend | BulkAction::Revoke)
    }

    fn takes_invitations(&self) -> bool {
        matches!(
            self,
            BulkAction::Remove | BulkAction::Resend | BulkAction::Revoke
        )
    }
}

/// A bulk action and its selection: the ids of the rows checked in a
/// list. The order does not matter and an id given twice counts once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BulkRequest {
    /// What to do.
    pub action: BulkAction,
    /// The members selected (remove, deactivate, reactivate, change role).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub members: Vec<MemberId>,
    /// The invitations selected (resend, revoke; remove revokes them).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub invitations: Vec<InvitationId>,
    /// The new role ([`BulkAction::ChangeRole`] only).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
}

impl BulkRequest {
    /// `action` on `members`.
    pub fn members(action: BulkAction, members: Vec<MemberId>) -> Self {
        Self {
            action,
            members,
            invitations: Vec::new(),
            role: None,
        }
    }

    /// `action` on `invitations`.
    pub fn invitations(action: BulkAction, invitations: Vec<InvitationId>) -> Self {
        Self {
            action,
            members: Vec::new(),
            invitations,
            role: None,
        }
    }

    /// A change of `members`' role to `role`.
    pub fn change_role(members: Vec<MemberId>, role: impl Into<String>) -> Self {
        Self {
            role: Some(role.into()),
            ..Self::members(BulkAction::ChangeRole, members)
        }
    }
}

/// What [`Enlist::bulk_confirmation`] answers: how many rows the action
/// would touch and, for a destructive action, the number to type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct BulkConfirmation {
    /// The action.
    pub action: BulkAction,
    /// Distinct rows selected.
    pub rows: u32,
    /// The number to show and have typed back
    /// ([`CONFIRMATION_DIGITS`] digits); `None` when the action needs no
    /// confirmation. Good only for this selection, action (and role),
    /// organization and actor.
    pub number: Option<String>,
    /// Until when the number is accepted (9 to 10 minutes from now).
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// What happened to one row of a bulk action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum BulkOutcome {
    /// Done: the row changed (one event).
    Changed,
    /// Already so (a removed member removed again, an inactive member
    /// deactivated, the same role): nothing to do, no event.
    Unchanged,
    /// Refused by the rules of its single command; the row's `code` and
    /// `message` say why. Nothing in the whole action was done.
    Refused,
    /// Would have been done, but another row was refused, so nothing was.
    NotApplied,
}

wire_names! {
    BulkOutcome {
        Changed => "changed",
        Unchanged => "unchanged",
        Refused => "refused",
        NotApplied => "not_applied",
    }
}

/// One row of a [`BulkReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct BulkRow {
    /// The member, for a member row.
    pub member: Option<MemberId>,
    /// The invitation, for an invitation row.
    pub invitation: Option<InvitationId>,
    /// The member's email or identifier, or the invitation's recipient;
    /// `None` for an id that is not in the organization, and for a row the
    /// actor was refused without [`Permission::ViewMembers`].
    pub contact: Option<String>,
    /// What happened.
    pub outcome: BulkOutcome,
    /// A refused row's error code ([`Error::code`]).
    pub code: Option<String>,
    /// A refused row's error message.
    pub message: Option<String>,
}

/// The report of [`Enlist::bulk_action`]: one row per distinct id, members
/// first, each list in the order given. It holds no secret (a resend's new
/// link goes by email), so it can be kept and shown again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, module = "enlist._enlist")
)]
pub struct BulkReport {
    /// This run's id.
    pub batch_id: BatchId,
    /// The action.
    pub action: BulkAction,
    /// Whether the action was carried out: `false` when a row was refused,
    /// and then nothing changed.
    pub applied: bool,
    /// One per row (in Python, an `enlist.Rows`: each made when read; the
    /// getters are in `python_support`).
    pub rows: Vec<BulkRow>,
}

impl BulkReport {
    /// This report as a kept [`BatchReport`](crate::BatchReport) of kind
    /// `bulk_action`: a changed or unchanged row is `done`, a refused row
    /// `rejected` with its code and message (the Errors report), a row
    /// not applied because another was refused `not_processed`.
    pub(crate) fn to_batch_report(
        &self,
        org: &OrgId,
        actor: &Actor,
        at: chrono::DateTime<chrono::Utc>,
    ) -> crate::BatchReport {
        use crate::{ReportRow, RowOutcome};
        let mut kept = crate::BatchReport::new(
            self.batch_id.clone(),
            org.clone(),
            crate::ReportKind::BulkAction,
            at,
            actor.clone(),
        );
        for (i, row) in self.rows.iter().enumerate() {
            let outcome = match row.outcome {
                BulkOutcome::Changed | BulkOutcome::Unchanged => RowOutcome::Done,
                BulkOutcome::Refused => RowOutcome::Rejected,
                BulkOutcome::NotApplied => RowOutcome::NotProcessed,
            };
            let mut r = ReportRow::new(
                i as u64 + 1,
                row.contact.clone().unwrap_or_default(),
                outcome,
            );
            let target = row
                .member
                .as_ref()
                .map(|m| m.as_str().to_owned())
                .or_else(|| row.invitation.as_ref().map(|i| i.as_str().to_owned()));
            if let Some(t) = target {
                r = r.target(t);
            }
            if let (Some(code), Some(message)) = (&row.code, &row.message) {
                r = r.error(code.clone(), message.clone());
            } else if outcome == RowOutcome::NotProcessed {
                r = r.error(
                    "not_processed",
                    "not applied: another row of the selection was refused",
                );
            }
            kept.push(r);
        }
        kept
    }

    /// The refused rows.
    pub fn refused(&self) -> impl Iterator<Item = &BulkRow> {
        self.rows
            .iter()
            .filter(|r| r.outcome == BulkOutcome::Refused)
    }

    /// How many rows changed.
    pub fn changed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.outcome == BulkOutcome::Changed)
            .count()
    }
}

/// A request checked outside any transaction: bounded, deduplicated (first
/// occurrence kept), the action's kinds of rows only.
struct Selection {
    action: BulkAction,
    members: Vec<MemberId>,
    invitations: Vec<InvitationId>,
    role: Option<String>,
}

impl Selection {
    fn bound(req: &BulkRequest) -> Result<Self> {
        let given = req.members.len().saturating_add(req.invitations.len());
        if given > MAX_IDS {
            return Err(Error::LimitExceeded {
                limit: LimitKind::BatchSize,
                max: MAX_IDS as u64,
                actual: given as u64,
                detail: Some("ids in one bulk action".into()),
            });
        }
        let a = req.action;
        if !req.members.is_empty() && !a.takes_members() {
            return Err(Error::invalid(
                "members",
                format!("{} acts on invitations only", a.as_str()),
            ));
        }
        if !req.invitations.is_empty() && !a.takes_invitations() {
            return Err(Error::invalid(
                "invitations",
                format!("{} acts on members only", a.as_str()),
            ));
        }
        if given == 0 {
            return Err(Error::invalid("selection", "select at least one row"));
        }
        let role = match (a, &req.role) {
            (BulkAction::ChangeRole, Some(r)) => {
                check_max_bytes("role", r, MAX_KEY_BYTES)?;
                Some(r.clone())
            }
            (BulkAction::ChangeRole, None) => {
                return Err(Error::invalid("role", "change_role needs the new role"));
            }
            (_, Some(_)) => {
                return Err(Error::invalid(
                    "role",
                    format!("{} takes no role", a.as_str()),
                ));
            }
            (_, None) => None,
        };
        for m in &req.members {
            check_max_bytes("members", m.as_str(), MAX_KEY_BYTES)?;
        }
        for i in &req.invitations {
            check_max_bytes("invitations", i.as_str(), MAX_KEY_BYTES)?;
        }
        let mut seen = HashSet::new();
        let members = req
            .members
            .iter()
            .filter(|m| seen.insert(m.as_str()))
            .cloned()
            .collect();
        let mut seen = HashSet::new();
        let invitations = req
            .invitations
            .iter()
            .filter(|i| seen.insert(i.as_str()))
            .cloned()
            .collect();
        Ok(Self {
            action: a,
            members,
            invitations,
            role,
        })
    }

    fn len(&self) -> usize {
        self.members.len() + self.invitations.len()
    }

    /// The prologue: may the actor run this action at all, on this many
    /// rows? Checked before any row is read.
    fn authorize(&self, o: &Organization, auth: &Auth) -> Result<()> {
        if self.members.is_empty() {
            // Resend and revoke: the single commands let an inviter act on
            // their own invitations; nobody who may not invite at all
            // gets per-row answers (which would tell them what the ids
            // are).
            super::invite::may_invite_at_all(o, auth)?;
        } else {
            auth.require(Permission::ManageMembers)?;
        }
        let n = self.len();
        if n > o.policy.max_batch as usize {
            return Err(Error::LimitExceeded {
                limit: LimitKind::BatchSize,
                max: u64::from(o.policy.max_batch),
                actual: n as u64,
                detail: Some("rows in one bulk action: select fewer".into()),
            });
        }
        Ok(())
    }

    /// What the confirmation number is cut from, for the window `window`:
    /// the organization, the actor, the action, its role and the sorted
    /// ids (so the order of selection does not matter).
    fn number(&self, cx_engine: &Enlist, org: &OrgId, actor: &Actor, window: i64) -> [u8; 6] {
        let actor = actor.to_string();
        let role = self.role.as_deref().unwrap_or_default();
        let window = window.to_be_bytes();
        let mut members: Vec<&str> = self.members.iter().map(MemberId::as_str).collect();
        members.sort_unstable();
        let mut invitations: Vec<&str> =
            self.invitations.iter().map(InvitationId::as_str).collect();
        invitations.sort_unstable();
        let members_n = (members.len() as u64).to_be_bytes();
        let mut parts: Vec<&[u8]> = vec![
            b"enlist bulk confirmation v1",
            org.as_str().as_bytes(),
            actor.as_bytes(),
            self.action.as_str().as_bytes(),
            role.as_bytes(),
            &window,
            &members_n,
        ];
        parts.extend(members.iter().map(|m| m.as_bytes()));
        parts.extend(invitations.iter().map(|i| i.as_bytes()));
        let mac = cx_engine.codes.mac(cx_engine.secrets.as_ref(), &parts);
        let n = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]) % 1_000_000;
        let mut out = [0u8; 6];
        out.copy_from_slice(format!("{n:06}").as_bytes());
        out
    }
}

/// The window a time falls in.
fn window_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(CONFIRMATION_WINDOW_SECS)
}

/// A typed number: spaces and dashes dropped (people type `123 456`), six
/// ASCII digits or nothing that can match.
fn typed_digits(typed: &str) -> Result<Option<[u8; 6]>> {
    check_max_bytes("confirmation", typed, MAX_TYPED_BYTES)?;
    let digits: Vec<u8> = typed
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'-')
        .collect();
    if digits.len() != CONFIRMATION_DIGITS || !digits.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    let mut out = [0u8; 6];
    out.copy_from_slice(&digits);
    Ok(Some(out))
}

impl Enlist {
    /// The first step of a bulk action: checks that the actor may run
    /// `request` (the permission of its rows' single commands, at most the
    /// policy's `max_batch` distinct rows) and, for a destructive action
    /// ([`BulkAction::needs_confirmation`]), returns the number the actor
    /// types back to [`Enlist::bulk_action`]. Nothing is stored: the number
    /// is an HMAC (under the engine's secret key,
    /// [`Enlist::with_secret_key`], else under a random key of this
    /// engine's process) of the organization, the actor, the action, its
    /// role, the sorted ids and the minute, cut to
    /// [`CONFIRMATION_DIGITS`] digits, and is accepted for 9 to 10 minutes.
    /// Configure a secret key when several processes serve one
    /// organization, or a number from one is refused by the others.
    pub fn bulk_confirmation(
        &self,
        org: &OrgId,
        actor: &Actor,
        request: &BulkRequest,
    ) -> Result<BulkConfirmation> {
        let sel = Selection::bound(request)?;
        self.run_read("bulk_confirmation", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            sel.authorize(&o, &auth)?;
            let rows = u32::try_from(sel.len()).unwrap_or(u32::MAX);
            if !sel.action.needs_confirmation() {
                return Ok(BulkConfirmation {
                    action: sel.action,
                    rows,
                    number: None,
                    expires_at: None,
                });
            }
            let window = window_of(cx.now);
            let number = sel.number(self, org, actor, window);
            let expires_at = DateTime::from_timestamp(
                (window + CONFIRMATION_WINDOWS) * CONFIRMATION_WINDOW_SECS,
                0,
            );
            Ok(BulkConfirmation {
                action: sel.action,
                rows,
                number: Some(String::from_utf8_lossy(&number).into_owned()),
                expires_at,
            })
        })
    }

    /// Runs a bulk action: every row under the rules of its single command
    /// (remove, deactivate, reactivate, change role: [`Enlist::remove_member`],
    /// [`Enlist::deactivate_member`], [`Enlist::reactivate_member`],
    /// [`Enlist::update_member`]; resend, revoke: [`Enlist::resend`],
    /// [`Enlist::revoke`]), one event per change, all in one transaction.
    ///
    /// A destructive action needs `confirmation`, the number of
    /// [`Enlist::bulk_confirmation`] for the same selection, action and
    /// actor, typed within its minutes: otherwise it fails with
    /// [`Error::ConfirmationMismatch`] and changes nothing. (Actions that
    /// need none ignore it.)
    ///
    /// Wholly or not at all: when any row is refused, nothing changes, and
    /// the report ([`BulkReport::applied`] `false`) says which rows and
    /// why. Errors of the selection as a whole (permission, size, kinds of
    /// rows) and of the store are errors. Every row is decided with the
    /// permissions the actor had when the action began (an actor who
    /// changes their own role in the selection keeps them for the other
    /// rows: the whole action is theirs, at once).
    pub fn bulk_action(
        &self,
        org: &OrgId,
        actor: &Actor,
        request: &BulkRequest,
        confirmation: Option<&str>,
    ) -> Result<BulkReport> {
        let sel = Selection::bound(request)?;
        let typed = match confirmation {
            Some(t) => typed_digits(t)?,
            None => None,
        };
        let mut refused: Option<BulkReport> = None;
        let out = self.run("bulk_action", |cx| {
            refused = None;
            let (o, auth) = cx.enter(org, actor)?;
            sel.authorize(&o, &auth)?;
            if sel.action.needs_confirmation() {
                let now = window_of(cx.now);
                let mut ok = subtle::Choice::from(0u8);
                for back in 0..CONFIRMATION_WINDOWS {
                    let expected = sel.number(self, org, actor, now - back);
                    let given = typed.unwrap_or([0xff; 6]);
                    ok |= expected.ct_eq(&given);
                }
                if !bool::from(ok) || typed.is_none() {
                    return Err(Error::ConfirmationMismatch);
                }
            }
            let report = cx.bulk_rows(&o, &auth, actor, &sel)?;
            if report.applied {
                cx.tx
                    .put_batch_report(report.to_batch_report(org, actor, cx.now))?;
                Ok(report)
            } else {
                refused = Some(report);
                // Rolls the transaction back; the report is returned below.
                Err(Error::conflict("a row of the bulk action was refused"))
            }
        });
        match (out, refused) {
            (Err(_), Some(report)) => {
                // Nothing changed; the report alone is kept, so its Errors
                // report can be fetched again by batch id.
                self.run("bulk_action.report", |cx| {
                    let kept = report.to_batch_report(org, actor, cx.now);
                    Ok(cx.tx.put_batch_report(kept)?)
                })?;
                Ok(report)
            }
            (out, _) => out,
        }
    }
}

impl Ctx<'_> {
    /// Every row of `sel`, in this transaction. Errors of the store and
    /// of mail end the command; every other error refuses its row.
    fn bulk_rows(
        &mut self,
        o: &Organization,
        auth: &Auth,
        actor: &Actor,
        sel: &Selection,
    ) -> Result<BulkReport> {
        let org = &o.id;
        let batch_id = BatchId::from_random(self.id_bytes());
        let mut rows: Vec<Option<BulkRow>> = vec![None; sel.len()];
        let edit = sel.role.clone().map(CleanUpdate::role).transpose()?;
        for (i, id) in sel.members.iter().enumerate() {
            let member = self.tx.member(org, id)?;
            let contact = member.as_ref().map(|m| m.contact.as_str().to_owned());
            let done = match sel.action {
                BulkAction::Remove => self.remove_member_in(o, auth, actor, id),
                BulkAction::Deactivate => {
                    self.set_member_status_in(o, auth, actor, id, MemberStatus::Inactive)
                }
                BulkAction::Reactivate => {
                    self.set_member_status_in(o, auth, actor, id, MemberStatus::Active)
                }
                BulkAction::ChangeRole => match (&edit, member) {
                    (Some(edit), Some(before)) => self
                        .edit_member(o, auth, actor, before, edit)
                        .map(|(m, changes)| (m, !changes.is_empty())),
                    (Some(_), None) => Err(Error::not_found(EntityKind::Member, id)),
                    (None, _) => Err(Error::invalid("role", "change_role needs the new role")),
                },
                BulkAction::Resend | BulkAction::Revoke => Err(Error::invalid(
                    "members",
                    format!("{} acts on invitations only", sel.action.as_str()),
                )),
            }
            .map(|(_, changed)| changed);
            rows[i] = Some(row(auth, Some(id.clone()), None, contact, done)?);
        }
        let base = sel.members.len();
        for (i, id) in sel.invitations.iter().enumerate() {
            let inv = self.tx.invitation(org, id)?;
            let contact = inv.as_ref().map(|v| v.recipient.as_str().to_owned());
            let done = match sel.action {
                BulkAction::Remove | BulkAction::Revoke => {
                    self.revoke_in(o, auth, actor, id).map(|_| true)
                }
                BulkAction::Resend if inv.as_ref().is_some_and(|v| v.is_by_identifier()) => {
                    Err(Error::invalid(
                        "invitations",
                        "an invitation without email shows its new access code once, to \
                         whoever resends it: resend it on its own",
                    ))
                }
                // The new secret goes by email; the report keeps none.
                BulkAction::Resend => self.resend_in(o, auth, actor, id).map(|_| true),
                _ => Err(Error::invalid(
                    "invitations",
                    format!("{} acts on members only", sel.action.as_str()),
                )),
            };
            rows[base + i] = Some(row(auth, None, Some(id.clone()), contact, done)?);
        }
        let rows: Vec<BulkRow> = rows.into_iter().flatten().collect();
        let applied = !rows.iter().any(|r| r.outcome == BulkOutcome::Refused);
        let rows = if applied {
            rows
        } else {
            rows.into_iter()
                .map(|mut r| {
                    if r.outcome == BulkOutcome::Changed {
                        r.outcome = BulkOutcome::NotApplied;
                    }
                    r
                })
                .collect()
        };
        Ok(BulkReport {
            batch_id,
            action: sel.action,
            applied,
            rows,
        })
    }
}

/// One row's line of the report from its command's result. The store's
/// and the mailer's failures are not the row's: they end the command.
fn row(
    auth: &Auth,
    member: Option<MemberId>,
    invitation: Option<InvitationId>,
    contact: Option<String>,
    done: Result<bool>,
) -> Result<BulkRow> {
    let (outcome, code, message) = match done {
        Ok(true) => (BulkOutcome::Changed, None, None),
        Ok(false) => (BulkOutcome::Unchanged, None, None),
        Err(e @ (Error::Store(_) | Error::Mail(_) | Error::RetriesExhausted { .. })) => {
            return Err(e);
        }
        Err(e) => (
            BulkOutcome::Refused,
            Some(e.code().to_owned()),
            Some(e.to_string()),
        ),
    };
    // Who may not read the list learns no recipient from a refusal.
    let contact = if outcome == BulkOutcome::Refused && !auth.has(Permission::ViewMembers) {
        None
    } else {
        contact
    };
    Ok(BulkRow {
        member,
        invitation,
        contact,
        outcome,
        code,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support as ts;
    use crate::engine::{CreatedOrganization, InviteRequest, NewOrganization, Recipients};
    use crate::event::EventKind;
    use crate::invitation::InvitationStatus;
    use crate::member::Member;
    use crate::role::builtin;
    use crate::{ManualClock, MemoryStore, SeededSecrets};
    use proptest::prelude::*;
    use std::sync::Arc;

    struct World {
        engine: Enlist,
        clock: Arc<ManualClock>,
        org: OrgId,
        owner: Actor,
    }

    fn world() -> World {
        let clock = Arc::new(ManualClock::at_epoch_seconds(1_700_000_000));
        let engine = Enlist::new(Arc::new(MemoryStore::new()))
            .with_clock(clock.clone())
            .with_secrets(Arc::new(SeededSecrets::new(3)));
        let (org, owner) = ts::org(
            &engine,
            "acct-0",
            "owner@acme.test",
            crate::Policy::default(),
        );
        World {
            engine,
            clock,
            org,
            owner,
        }
    }

    impl World {
        /// `n` active members with `role`.
        fn members(&self, n: usize, role: &str, tag: &str) -> Vec<Member> {
            (0..n)
                .map(|i| {
                    ts::member_with_role(
                        &self.engine,
                        &self.org,
                        &Actor::System,
                        (&format!("{tag}{i}@acme.test"), role),
                        &format!("acct-{tag}{i}"),
                        ("T", "P"),
                    )
                })
                .collect()
        }

        fn pending(&self, n: usize, tag: &str) -> Vec<InvitationId> {
            let paste = (0..n)
                .map(|i| format!("{tag}{i}@acme.test"))
                .collect::<Vec<_>>()
                .join(", ");
            let report = self
                .engine
                .invite(
                    &self.org,
                    &self.owner,
                    InviteRequest::new(Recipients::Paste(paste)),
                )
                .expect("invite");
            report.issued.into_iter().map(|i| i.invitation.id).collect()
        }

        fn status(&self, m: &MemberId) -> MemberStatus {
            self.engine
                .member(&self.org, &Actor::System, m)
                .expect("member")
                .status
        }

        fn event_count(&self) -> usize {
            self.engine
                .events(&self.org, &Actor::System, 0, 1000)
                .expect("events")
                .len()
        }

        fn number(&self, actor: &Actor, req: &BulkRequest) -> String {
            self.engine
                .bulk_confirmation(&self.org, actor, req)
                .expect("confirmation")
                .number
                .expect("a number")
        }
    }

    fn ids(ms: &[Member]) -> Vec<MemberId> {
        ms.iter().map(|m| m.id.clone()).collect()
    }

    #[test]
    fn a_wrong_number_removes_nobody_and_the_right_one_removes_all() {
        let w = world();
        let people = w.members(4, builtin::MEMBER, "p");
        let req = BulkRequest::members(BulkAction::Remove, ids(&people));
        let number = w.number(&w.owner, &req);
        assert_eq!(number.len(), CONFIRMATION_DIGITS);
        assert!(number.bytes().all(|b| b.is_ascii_digit()));
        let wrong = format!("{:06}", (number.parse::<u32>().unwrap() + 1) % 1_000_000);
        let before = w.event_count();
        for typed in [Some(wrong.as_str()), None, Some("abcdef"), Some("")] {
            let err = w
                .engine
                .bulk_action(&w.org, &w.owner, &req, typed)
                .expect_err("wrong number");
            assert!(matches!(err, Error::ConfirmationMismatch), "{err:?}");
            assert_eq!(err.code(), "confirmation_mismatch");
        }
        assert_eq!(w.event_count(), before, "nothing happened");
        for p in &people {
            assert_eq!(w.status(&p.id), MemberStatus::Active);
        }
        // Typed with a space, as people do.
        let spaced = format!("{} {}", &number[..3], &number[3..]);
        let report = w
            .engine
            .bulk_action(&w.org, &w.owner, &req, Some(&spaced))
            .expect("right number");
        assert!(report.applied);
        assert_eq!(report.changed(), 4);
        assert_eq!(report.rows.len(), 4);
        for (row, p) in report.rows.iter().zip(&people) {
            assert_eq!(row.member.as_ref(), Some(&p.id));
            assert_eq!(row.contact.as_deref(), Some(p.contact.as_str()));
            assert_eq!(w.status(&p.id), MemberStatus::Removed);
        }
        // One event per change.
        let events = w
            .engine
            .events(&w.org, &Actor::System, 0, 1000)
            .expect("events");
        let removed = events[before..]
            .iter()
            .filter(|e| matches!(e.kind, EventKind::MemberRemoved { .. }))
            .count();
        assert_eq!((events.len() - before, removed), (4, 4));
        // Again: the rows are already removed, nothing changes, no event.
        let number = w.number(&w.owner, &req);
        let again = w
            .engine
            .bulk_action(&w.org, &w.owner, &req, Some(&number))
            .expect("again");
        assert!(
            again
                .rows
                .iter()
                .all(|r| r.outcome == BulkOutcome::Unchanged)
        );
        assert_eq!(w.event_count(), before + 4);
    }

    #[test]
    fn a_number_is_good_for_nine_to_ten_minutes() {
        let w = world();
        let people = w.members(2, builtin::MEMBER, "p");
        let req = BulkRequest::members(BulkAction::Deactivate, ids(&people));
        // At the start of a minute: good for exactly 10 minutes.
        let c = w
            .engine
            .bulk_confirmation(&w.org, &w.owner, &req)
            .expect("confirmation");
        let number = c.number.expect("number");
        let issued = w.engine.now();
        let expires = c.expires_at.expect("expiry");
        let left = (expires - issued).num_seconds();
        assert!((540..=600).contains(&left), "{left}");
        w.clock.advance(chrono::Duration::seconds(left));
        let err = w
            .engine
            .bulk_action(&w.org, &w.owner, &req, Some(&number))
            .expect_err("stale");
        assert!(matches!(err, Error::ConfirmationMismatch));
        assert_eq!(w.status(&people[0].id), MemberStatus::Active);
        w.clock.advance(chrono::Duration::seconds(-1));
        let report = w
            .engine
            .bulk_action(&w.org, &w.owner, &req, Some(&number))
            .expect("one second before its expiry");
        assert!(report.applied);
        assert_eq!(w.status(&people[0].id), MemberStatus::Inactive);
    }

    #[test]
    fn a_number_is_bound_to_its_selection_action_role_and_actor() {
        let w = world();
        let admins = w.members(1, builtin::ADMIN, "a");
        let people = w.members(3, builtin::MEMBER, "p");
        let admin = Actor::Member(admins[0].id.clone());
        let all = ids(&people);
        let req = BulkRequest::change_role(all.clone(), builtin::USER_ADMIN);
        let number = w.number(&w.owner, &req);
        let others = [
            // Another selection.
            BulkRequest::change_role(all[..2].to_vec(), builtin::USER_ADMIN),
            // Another role.
            BulkRequest::change_role(all.clone(), builtin::ADMIN),
            // Another action.
            BulkRequest::members(BulkAction::Deactivate, all.clone()),
        ];
        for other in &others {
            assert!(matches!(
                w.engine.bulk_action(&w.org, &w.owner, other, Some(&number)),
                Err(Error::ConfirmationMismatch)
            ));
        }
        // Another actor.
        assert!(matches!(
            w.engine.bulk_action(&w.org, &admin, &req, Some(&number)),
            Err(Error::ConfirmationMismatch)
        ));
        // The same selection in another order, an id twice: the same.
        let mut shuffled = all.clone();
        shuffled.reverse();
        shuffled.push(all[0].clone());
        let report = w
            .engine
            .bulk_action(
                &w.org,
                &w.owner,
                &BulkRequest::change_role(shuffled, builtin::USER_ADMIN),
                Some(&number),
            )
            .expect("same selection");
        assert_eq!(report.rows.len(), 3);
        assert_eq!(report.changed(), 3);
        for p in &people {
            let m = w.engine.member(&w.org, &Actor::System, &p.id).unwrap();
            assert_eq!(m.role, builtin::USER_ADMIN);
        }
    }

    #[test]
    fn one_refused_row_changes_nothing_and_is_named() {
        let w = world();
        let user_admins = w.members(1, builtin::USER_ADMIN, "u");
        let people = w.members(2, builtin::MEMBER, "p");
        let admins = w.members(1, builtin::ADMIN, "a");
        let actor = Actor::Member(user_admins[0].id.clone());
        // A user admin may remove members but not an admin (a role out of
        // their reach): remove_member's rule, row by row.
        let mut sel = ids(&people);
        sel.insert(1, admins[0].id.clone());
        let req = BulkRequest::members(BulkAction::Remove, sel);
        let number = w.number(&actor, &req);
        let before = w.event_count();
        let report = w
            .engine
            .bulk_action(&w.org, &actor, &req, Some(&number))
            .expect("a report");
        assert!(!report.applied);
        let refused: Vec<&BulkRow> = report.refused().collect();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].member.as_ref(), Some(&admins[0].id));
        assert_eq!(refused[0].code.as_deref(), Some("permission_denied"));
        assert!(
            report
                .rows
                .iter()
                .filter(|r| r.member.as_ref() != Some(&admins[0].id))
                .all(|r| r.outcome == BulkOutcome::NotApplied)
        );
        assert_eq!(w.event_count(), before);
        for p in people.iter().chain(&admins) {
            assert_eq!(w.status(&p.id), MemberStatus::Active);
        }
        // The refused run's report is kept: its Errors report names the
        // refused row and the rows not applied; nothing is in the
        // Invitations (done) report.
        let kept = w
            .engine
            .batch_report(&w.org, &actor, &report.batch_id)
            .expect("the kept report");
        assert_eq!(kept.kind, crate::ReportKind::BulkAction);
        assert!(kept.invitations().next().is_none());
        let errors: Vec<_> = kept.errors().collect();
        assert_eq!(errors.len(), 3);
        assert!(errors.iter().any(|r| {
            r.target_id.as_deref() == Some(admins[0].id.as_str())
                && r.error_code.as_deref() == Some("permission_denied")
        }));
        assert_eq!(
            errors
                .iter()
                .filter(|r| r.outcome == crate::RowOutcome::NotProcessed)
                .count(),
            2
        );
        // An id of nowhere is refused as not found.
        let req = BulkRequest::members(BulkAction::Reactivate, vec![MemberId("mem_nope".into())]);
        let report = w.engine.bulk_action(&w.org, &actor, &req, None).unwrap();
        assert_eq!(report.rows[0].code.as_deref(), Some("not_found"));
        assert_eq!(report.rows[0].contact, None);
    }

    #[test]
    fn an_applied_bulk_action_keeps_its_report_by_batch_id() {
        let w = world();
        let people = w.members(2, builtin::MEMBER, "p");
        let req = BulkRequest::members(BulkAction::Deactivate, ids(&people));
        let actor = w.owner.clone();
        let number = w.number(&actor, &req);
        let report = w
            .engine
            .bulk_action(&w.org, &actor, &req, Some(&number))
            .expect("a report");
        assert!(report.applied);
        let kept = w
            .engine
            .batch_report(&w.org, &actor, &report.batch_id)
            .expect("the kept report");
        let done: Vec<_> = kept.invitations().collect();
        assert_eq!(done.len(), 2);
        assert!(done.iter().all(|r| r.outcome == crate::RowOutcome::Done));
        assert_eq!(done[0].target_id.as_deref(), Some(people[0].id.as_str()));
        assert!(kept.errors().next().is_none());
        assert!(kept.invitations_csv().contains(people[1].contact.as_str()));
    }

    #[test]
    fn ids_of_another_organization_are_not_found() {
        let w = world();
        let people = w.members(1, builtin::MEMBER, "p");
        let CreatedOrganization {
            organization: other,
            owner: other_owner,
            ..
        } = w
            .engine
            .create_organization(NewOrganization::new("Evil", "acct-e", "e@evil.test"))
            .unwrap();
        let req = BulkRequest::members(BulkAction::Remove, ids(&people));
        let actor = Actor::Member(other_owner.id);
        let number = w
            .engine
            .bulk_confirmation(&other.id, &actor, &req)
            .unwrap()
            .number
            .unwrap();
        let report = w
            .engine
            .bulk_action(&other.id, &actor, &req, Some(&number))
            .unwrap();
        assert!(!report.applied);
        assert_eq!(report.rows[0].code.as_deref(), Some("not_found"));
        assert_eq!(report.rows[0].contact, None);
        assert_eq!(w.status(&people[0].id), MemberStatus::Active);
    }

    #[test]
    fn the_selection_is_authorized_and_bounded_before_any_row() {
        let w = world();
        let people = w.members(2, builtin::MEMBER, "p");
        let member = Actor::Member(people[0].id.clone());
        let req = BulkRequest::members(BulkAction::Remove, ids(&people));
        let err = w
            .engine
            .bulk_confirmation(&w.org, &member, &req)
            .expect_err("a plain member");
        assert_eq!(err.code(), "permission_denied");
        let err = w
            .engine
            .bulk_action(&w.org, &member, &req, Some("000000"))
            .expect_err("a plain member");
        assert_eq!(err.code(), "permission_denied");
        // Invitations: nobody who may not invite at all.
        let invs = w.pending(1, "i");
        let err = w
            .engine
            .bulk_confirmation(
                &w.org,
                &member,
                &BulkRequest::invitations(BulkAction::Revoke, invs),
            )
            .expect_err("a plain member");
        assert_eq!(err.code(), "permission_denied");
        // More rows than a batch.
        let policy = crate::Policy {
            max_batch: 1,
            ..crate::Policy::default()
        };
        w.engine
            .update_policy(&w.org, &w.owner, policy)
            .expect("policy");
        let err = w
            .engine
            .bulk_confirmation(&w.org, &w.owner, &req)
            .expect_err("two rows, batch of one");
        assert!(matches!(
            err,
            Error::LimitExceeded {
                limit: LimitKind::BatchSize,
                max: 1,
                actual: 2,
                ..
            }
        ));
        // Duplicates count once.
        let twice = BulkRequest::members(
            BulkAction::Reactivate,
            vec![people[0].id.clone(), people[0].id.clone()],
        );
        assert_eq!(
            w.engine
                .bulk_confirmation(&w.org, &w.owner, &twice)
                .unwrap()
                .rows,
            1
        );
        // Shapes refused before any transaction.
        let bad = [
            BulkRequest::members(BulkAction::Remove, Vec::new()),
            BulkRequest::members(BulkAction::Revoke, ids(&people)),
            BulkRequest::invitations(BulkAction::Deactivate, vec![InvitationId("inv_1".into())]),
            BulkRequest::members(BulkAction::ChangeRole, ids(&people)),
            BulkRequest {
                role: Some("admin".into()),
                ..BulkRequest::members(BulkAction::Remove, ids(&people))
            },
            BulkRequest::members(BulkAction::Remove, vec![MemberId::from("m".repeat(300))]),
        ];
        for b in &bad {
            let err = w.engine.bulk_confirmation(&w.org, &w.owner, b).unwrap_err();
            assert!(
                matches!(err.code(), "invalid_input" | "limit_exceeded"),
                "{b:?}: {err}"
            );
        }
        let huge =
            BulkRequest::members(BulkAction::Remove, vec![people[0].id.clone(); MAX_IDS + 1]);
        assert_eq!(
            w.engine
                .bulk_action(&w.org, &w.owner, &huge, None)
                .unwrap_err()
                .code(),
            "limit_exceeded"
        );
        let long = "1".repeat(MAX_TYPED_BYTES + 1);
        assert_eq!(
            w.engine
                .bulk_action(&w.org, &w.owner, &req, Some(&long))
                .unwrap_err()
                .code(),
            "limit_exceeded"
        );
    }

    #[test]
    fn reactivate_and_resend_need_no_number_and_keep_no_secret() {
        let w = world();
        let people = w.members(2, builtin::MEMBER, "p");
        for p in &people {
            w.engine.deactivate_member(&w.org, &w.owner, &p.id).unwrap();
        }
        let req = BulkRequest::members(BulkAction::Reactivate, ids(&people));
        let c = w.engine.bulk_confirmation(&w.org, &w.owner, &req).unwrap();
        assert_eq!((c.number, c.expires_at, c.rows), (None, None, 2));
        let report = w.engine.bulk_action(&w.org, &w.owner, &req, None).unwrap();
        assert!(report.applied);
        assert_eq!(report.changed(), 2);
        assert_eq!(w.status(&people[1].id), MemberStatus::Active);

        let invs = w.pending(3, "i");
        w.clock.advance(chrono::Duration::days(30));
        let req = BulkRequest::invitations(BulkAction::Resend, invs.clone());
        let report = w.engine.bulk_action(&w.org, &w.owner, &req, None).unwrap();
        assert!(report.applied, "{report:?}");
        assert_eq!(report.changed(), 3);
        let json = serde_json::to_string(&report).unwrap();
        assert!(
            !json.contains("secret") && !json.contains("token="),
            "{json}"
        );
        for id in &invs {
            let inv = w.engine.invitation(&w.org, &w.owner, id).unwrap();
            assert_eq!((inv.status, inv.send_count), (InvitationStatus::Pending, 2));
        }
        // Again at once: the cooldown of resend refuses every row.
        let report = w.engine.bulk_action(&w.org, &w.owner, &req, None).unwrap();
        assert!(!report.applied);
        assert!(
            report
                .rows
                .iter()
                .all(|r| r.code.as_deref() == Some("resend_too_soon"))
        );
    }

    #[test]
    fn remove_revokes_the_invitations_of_its_selection() {
        let w = world();
        let people = w.members(1, builtin::MEMBER, "p");
        let invs = w.pending(2, "i");
        let req = BulkRequest {
            invitations: invs.clone(),
            ..BulkRequest::members(BulkAction::Remove, ids(&people))
        };
        let number = w.number(&w.owner, &req);
        let report = w
            .engine
            .bulk_action(&w.org, &w.owner, &req, Some(&number))
            .unwrap();
        assert_eq!(report.changed(), 3);
        assert_eq!(report.rows[1].invitation.as_ref(), Some(&invs[0]));
        assert_eq!(report.rows[1].contact.as_deref(), Some("i0@acme.test"));
        for id in &invs {
            let inv = w.engine.invitation(&w.org, &w.owner, id).unwrap();
            assert_eq!(inv.status, InvitationStatus::Revoked);
        }
    }

    #[test]
    fn the_last_owner_stays() {
        let w = world();
        let owners = w.members(1, builtin::OWNER, "o");
        let people = w.members(1, builtin::MEMBER, "p");
        let me = match &w.owner {
            Actor::Member(id) => id.clone(),
            _ => unreachable!(),
        };
        // The actor demotes themselves first in the list; the other row is
        // decided with the role they began with.
        let sel = vec![me.clone(), people[0].id.clone()];
        let req = BulkRequest::change_role(sel, builtin::ADMIN);
        let number = w.number(&w.owner, &req);
        let report = w
            .engine
            .bulk_action(&w.org, &w.owner, &req, Some(&number))
            .unwrap();
        assert!(report.applied, "{report:?}");
        assert_eq!(report.rows[0].member.as_ref(), Some(&me));
        // The one owner left cannot remove themselves.
        let other = Actor::Member(owners[0].id.clone());
        let req = BulkRequest::members(BulkAction::Remove, vec![owners[0].id.clone()]);
        let number = w.number(&other, &req);
        let report = w
            .engine
            .bulk_action(&w.org, &other, &req, Some(&number))
            .unwrap();
        assert!(!report.applied);
        assert_eq!(report.rows[0].code.as_deref(), Some("conflict"));
    }

    #[test]
    fn numbers_travel_between_processes_only_under_a_shared_key() {
        let w = world();
        let people = w.members(2, builtin::MEMBER, "p");
        let req = BulkRequest::members(BulkAction::Deactivate, ids(&people));
        let twin = |key: Option<u8>| {
            let e = Enlist::new(w.engine.store().clone())
                .with_clock(w.clock.clone())
                .with_secrets(Arc::new(SeededSecrets::new(99)));
            match key {
                Some(k) => e.with_secret_key(crate::SecretKey::new(vec![k; 32]).unwrap()),
                None => e,
            }
        };
        // Without a host key each engine draws its own.
        let number = w.number(&w.owner, &req);
        assert!(matches!(
            twin(None).bulk_action(&w.org, &w.owner, &req, Some(&number)),
            Err(Error::ConfirmationMismatch)
        ));
        // Under one key, a number from one is good on the other.
        let (a, b, c) = (twin(Some(1)), twin(Some(1)), twin(Some(2)));
        let number = a
            .bulk_confirmation(&w.org, &w.owner, &req)
            .unwrap()
            .number
            .unwrap();
        assert!(matches!(
            c.bulk_action(&w.org, &w.owner, &req, Some(&number)),
            Err(Error::ConfirmationMismatch)
        ));
        assert!(
            b.bulk_action(&w.org, &w.owner, &req, Some(&number))
                .unwrap()
                .applied
        );
    }

    #[test]
    fn a_refused_row_names_no_recipient_to_who_may_not_read_the_list() {
        let w = world();
        // An inviter who may not read the member list.
        w.engine
            .define_role(
                &w.org,
                &w.owner,
                "recruiter",
                [Permission::InviteMembers].into_iter().collect(),
            )
            .unwrap();
        let plain = w.members(1, "recruiter", "m");
        let me = Actor::Member(plain[0].id.clone());
        let mine = w
            .engine
            .invite(
                &w.org,
                &me,
                InviteRequest::new(Recipients::Paste("mine@acme.test".into())).role("recruiter"),
            )
            .unwrap()
            .issued[0]
            .invitation
            .id
            .clone();
        let theirs = w.pending(1, "secret-person");
        let req = BulkRequest::invitations(BulkAction::Revoke, vec![mine, theirs[0].clone()]);
        let number = w.number(&me, &req);
        let report = w
            .engine
            .bulk_action(&w.org, &me, &req, Some(&number))
            .unwrap();
        assert!(!report.applied);
        assert_eq!(report.rows[0].contact.as_deref(), Some("mine@acme.test"));
        assert_eq!(report.rows[1].code.as_deref(), Some("permission_denied"));
        assert_eq!(report.rows[1].contact, None, "{report:?}");
        assert!(!format!("{report:?}").contains("secret-person"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// The number accepts exactly its own selection, action and actor;
        /// a refusal anywhere changes nothing.
        #[test]
        fn numbers_accept_only_their_own_request(
            pick in proptest::collection::vec(0usize..6, 1..6),
            other in proptest::collection::vec(0usize..6, 1..6),
            refuse in proptest::option::of(0usize..6),
            action in 0usize..2,
        ) {
            let w = world();
            let people = w.members(6, builtin::MEMBER, "p");
            let action = [BulkAction::Remove, BulkAction::Deactivate][action];
            let sel: Vec<MemberId> = pick.iter().map(|i| people[*i].id.clone()).collect();
            let req = BulkRequest::members(action, sel.clone());
            let number = w.number(&w.owner, &req);
            let other_sel: Vec<MemberId> = other.iter().map(|i| people[*i].id.clone()).collect();
            let same = sel.iter().collect::<HashSet<_>>() == other_sel.iter().collect::<HashSet<_>>();
            let before = w.event_count();
            let r = w.engine.bulk_action(
                &w.org, &w.owner, &BulkRequest::members(action, other_sel), Some(&number));
            if same {
                prop_assert!(r.is_ok_and(|r| r.applied));
            } else {
                prop_assert!(matches!(r, Err(Error::ConfirmationMismatch)));
                prop_assert_eq!(w.event_count(), before);
            }
            // A refused row (a removed member cannot be deactivated; an
            // unknown id is not found): nothing of the rest changes.
            let mut sel = sel;
            if let Some(i) = refuse {
                sel.insert(i.min(sel.len()), MemberId::from(format!("mem_gone{i}")));
            }
            let req = BulkRequest::members(action, sel.clone());
            let number = w.number(&w.owner, &req);
            let before = w.event_count();
            let statuses: Vec<MemberStatus> = people.iter().map(|p| w.status(&p.id)).collect();
            let report = w.engine.bulk_action(&w.org, &w.owner, &req, Some(&number)).unwrap();
            prop_assert_eq!(report.applied, refuse.is_none());
            if refuse.is_some() {
                prop_assert_eq!(w.event_count(), before);
                let now: Vec<MemberStatus> = people.iter().map(|p| w.status(&p.id)).collect();
                prop_assert_eq!(now, statuses);
            } else {
                prop_assert_eq!(w.event_count(), before + report.changed());
            }
        }
    }
}

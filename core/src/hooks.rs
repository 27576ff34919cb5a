//! Hooks: the host's callbacks before and after every change the engine
//! records (better-auth's `organizationHooks`).
//!
//! Every state change appends one event (invariant 7), so the events are
//! where the hooks sit: a command that creates, changes or removes a
//! membership or an invitation (and every other command that records an
//! event, but those of [`HookChange::is_hooked`]) calls
//! [`Hooks::before`] inside its transaction, after it authorized the actor
//! and validated the input, with what it is about to record; and, once its
//! transaction committed, [`Hooks::after`] with what it recorded. A new
//! command needs no wiring: appending its event is the call.
//!
//! - **before**: runs inside the command's transaction. An `Err` refuses
//!   the change: the command fails with
//!   [`Error::HookRefused`](crate::Error::HookRefused) carrying the reason
//!   (bounded and cleaned, [`MAX_HOOK_REASON_CHARS`]) and its transaction is
//!   rolled back, so nothing is changed. A panicking hook refuses too (with
//!   a reason that says so). In a batch ([`Enlist::invite`](crate::Enlist::invite),
//!   [`Enlist::send_staged`](crate::Enlist::send_staged), the imports that
//!   go through them), the hook is asked per recipient before anything of
//!   that recipient is written, and a refusal becomes that recipient's
//!   rejection ([`RejectReason::RefusedByHook`](crate::RejectReason::RefusedByHook))
//!   while the others go ahead. A refusal a batch does not handle row by
//!   row fails the whole command (a bulk action's row is refused, and the
//!   bulk action is not applied, as for any refused row).
//! - **after**: runs after the commit, outside the transaction, in the
//!   order the changes were recorded. It cannot undo or fail the command:
//!   an `Err` or a panic is logged (the `tracing` feature, target
//!   `enlist::hooks`) and the next hook runs.
//!
//! Hooks never run for dry runs (nothing is kept), and a before-hook must
//! not call the engine (it runs while the command holds its transaction;
//! on a store whose transactions run one at a time, that call would wait
//! for itself). An after-hook may.
//!
//! What a hook sees ([`HookChange`]) holds no secret: no token, no accept
//! URL, no access code, no secret hash.

use crate::event::{Actor, Event, EventKind};
use crate::id::{InvitationId, MemberId, OrgId};
use crate::invitation::Invitation;
use crate::member::Member;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// At most this many characters of a hook's refusal reason reach the
/// caller (a longer reason is cut, with `…`).
pub const MAX_HOOK_REASON_CHARS: usize = 500;

/// One change, as a hook sees it: the event the command records (or is
/// about to record), who does it, and the invitation and member it is
/// about as they stand in the command's transaction at that moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HookChange {
    /// The command (`"invite"`, `"accept"`, `"join_by_link"`,
    /// `"update_member"`, `"remove_member"`, ...).
    pub command: String,
    /// The organization.
    pub org_id: OrgId,
    /// Who does it.
    pub actor: Actor,
    /// When.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub at: DateTime<Utc>,
    /// The event's position in the organization's trail; `0` in a
    /// before-hook (the store numbers it when it is written).
    pub seq: u64,
    /// What happens.
    pub kind: EventKind,
    /// The invitation the change is about, as the command leaves it
    /// (a before-hook of a new invitation sees it before it is written).
    pub invitation: Option<Invitation>,
    /// The member the change is about, as the command leaves it.
    pub member: Option<Member>,
}

impl HookChange {
    /// The event of the change.
    pub fn event(&self) -> Event {
        Event {
            org_id: self.org_id.clone(),
            seq: self.seq,
            at: self.at,
            actor: self.actor.clone(),
            kind: self.kind.clone(),
        }
    }

    /// Whether hooks run for an event of this kind: every kind but those
    /// recorded after the fact, which a refusal could not stop and must
    /// not erase (an email delivered or failed, an expiry persisted, a
    /// wrong access code counted).
    pub fn is_hooked(kind: &EventKind) -> bool {
        !matches!(
            kind,
            EventKind::EmailSent { .. }
                | EventKind::EmailFailed { .. }
                | EventKind::InvitationExpired { .. }
                | EventKind::AccessCodeRejected { .. }
                | EventKind::DomainVerificationFailed { .. }
        )
    }
}

/// The invitation an event is about, if any.
pub(crate) fn invitation_of(kind: &EventKind) -> Option<&InvitationId> {
    match kind {
        EventKind::InvitationStaged { invitation, .. }
        | EventKind::InvitationIssued { invitation, .. }
        | EventKind::InvitationSent { invitation, .. }
        | EventKind::InvitationResent { invitation, .. }
        | EventKind::InvitationAccepted { invitation, .. }
        | EventKind::InvitationDeclined { invitation }
        | EventKind::InvitationRevoked { invitation }
        | EventKind::InvitationExpired { invitation }
        | EventKind::AccessCodeRejected { invitation, .. }
        | EventKind::EmailSent { invitation, .. }
        | EventKind::EmailFailed { invitation, .. }
        | EventKind::InvitationUpdated { invitation, .. }
        | EventKind::InvitationActiveChanged { invitation, .. }
        | EventKind::AccessCodeRevealed { invitation } => Some(invitation),
        _ => None,
    }
}

/// The member an event is about, if any.
pub(crate) fn member_of(kind: &EventKind) -> Option<&MemberId> {
    match kind {
        EventKind::OrganizationCreated { owner, .. } => Some(owner),
        EventKind::GroupMemberAdded { member, .. }
        | EventKind::GroupRoleChanged { member, .. }
        | EventKind::GroupMemberRemoved { member, .. }
        | EventKind::InvitationAccepted { member, .. }
        | EventKind::MemberJoined { member, .. }
        | EventKind::MemberUpdated { member, .. }
        | EventKind::MemberStatusChanged { member, .. }
        | EventKind::MemberRemoved { member, .. }
        | EventKind::MemberAdded { member, .. }
        | EventKind::MemberLeft { member, .. }
        | EventKind::MembershipRequestApproved { member, .. } => Some(member),
        _ => None,
    }
}

/// Why a hook refused a change (from [`Hooks::before`]) or failed (from
/// [`Hooks::after`], logged only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookError {
    reason: String,
}

impl HookError {
    /// A refusal with `reason`, which reaches the caller of the command in
    /// [`Error::HookRefused`](crate::Error::HookRefused): write it for the
    /// person who asked (it is cut at [`MAX_HOOK_REASON_CHARS`] characters,
    /// and control and invisible characters are replaced by spaces).
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: clean_reason(&reason.into()),
        }
    }

    /// The reason, cleaned and bounded.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl std::fmt::Display for HookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for HookError {}

/// One line of at most [`MAX_HOOK_REASON_CHARS`] characters: control,
/// separator and invisible characters become spaces, the rest is cut.
pub(crate) fn clean_reason(reason: &str) -> String {
    // Bound the work before reading: at most 4 bytes a character.
    let head = match reason.char_indices().nth(MAX_HOOK_REASON_CHARS * 4) {
        Some((i, _)) => &reason[..i],
        None => reason,
    };
    let mut out: String = head
        .chars()
        .map(|c| {
            if crate::engine::is_forbidden_in_line(c) {
                ' '
            } else {
                c
            }
        })
        .collect::<String>()
        .trim()
        .to_owned();
    if out.chars().count() > MAX_HOOK_REASON_CHARS {
        out = out.chars().take(MAX_HOOK_REASON_CHARS - 1).collect();
        out.push('…');
    }
    if out.is_empty() {
        out = "refused by the host".to_owned();
    }
    out
}

/// The host's callbacks around every recorded change (see the module
/// documentation of the engine's hooks in the book, `hooks.md`). Both
/// methods have a default that does nothing, so a host implements only
/// the ones it needs.
///
/// ```
/// use enlist::{Actor, Enlist, EventKind, HookChange, HookError, Hooks, InviteRequest,
///     NewOrganization, Recipients, RejectReason};
/// use std::sync::{Arc, Mutex};
///
/// /// Refuses invitations to a competitor; remembers what was committed.
/// #[derive(Default)]
/// struct Policy(Mutex<Vec<String>>);
/// impl Hooks for Policy {
///     fn before(&self, change: &HookChange) -> Result<(), HookError> {
///         match &change.kind {
///             EventKind::InvitationIssued { recipient, .. } if recipient.ends_with("@rival.test") =>
///                 Err(HookError::new("we do not invite people from rival.test")),
///             _ => Ok(()),
///         }
///     }
///     fn after(&self, change: &HookChange) -> Result<(), HookError> {
///         self.0.lock().unwrap().push(change.command.clone());
///         Ok(())
///     }
/// }
///
/// let hooks = Arc::new(Policy::default());
/// let engine = Enlist::in_memory().with_hooks(hooks.clone());
/// let org = engine.create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))?;
/// let report = engine.invite(&org.organization.id, &Actor::Member(org.owner.id.clone()),
///     InviteRequest::new(Recipients::Paste("bob@acme.test, eve@rival.test".into())))?;
/// assert_eq!(report.issued.len(), 1);
/// assert!(matches!(&report.rejected[0].reason, RejectReason::RefusedByHook { reason }
///     if reason == "we do not invite people from rival.test"));
/// // After the commit: one change for the invitation issued.
/// assert_eq!(hooks.0.lock().unwrap().iter().filter(|c| *c == "invite").count(), 1);
/// # Ok::<(), enlist::Error>(())
/// ```
pub trait Hooks: Send + Sync {
    /// Called inside the command's transaction before `change` is
    /// recorded; `Err` refuses it (nothing is changed). Must not call the
    /// engine. May be called again for the same change when the engine
    /// retries the command after a concurrent update: keep side effects
    /// for [`Hooks::after`].
    fn before(&self, change: &HookChange) -> Result<(), HookError> {
        let _ = change;
        Ok(())
    }

    /// Called after the command committed, with what it recorded. An `Err`
    /// is logged; it changes nothing.
    fn after(&self, change: &HookChange) -> Result<(), HookError> {
        let _ = change;
        Ok(())
    }
}

/// Calls `hooks.before`, turning a panic into a refusal.
pub(crate) fn call_before(hooks: &dyn Hooks, change: &HookChange) -> Result<(), HookError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hooks.before(change)))
        .unwrap_or_else(|_| Err(HookError::new("the before-hook panicked")))
}

/// Calls `hooks.after` for every change, in order; a failure or a panic
/// is logged and does not stop the others.
pub(crate) fn call_after(hooks: &dyn Hooks, changes: &[HookChange]) {
    for change in changes {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hooks.after(change)))
            .unwrap_or_else(|_| Err(HookError::new("the after-hook panicked")));
        if let Err(e) = out {
            log_after_failure(change, &e);
        }
    }
}

#[cfg(feature = "tracing")]
fn log_after_failure(change: &HookChange, e: &HookError) {
    tracing::warn!(
        target: "enlist::hooks",
        command = %change.command,
        org = %change.org_id,
        seq = change.seq,
        error = %e,
        "an after-hook failed; the command was committed"
    );
}

#[cfg(not(feature = "tracing"))]
fn log_after_failure(_change: &HookChange, _e: &HookError) {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::{org, registration};
    use crate::{
        Enlist, Error, InvitationId, InvitationStatus, InviteRequest, LinkSpec, MemberStatus,
        MemberUpdate, Policy, Recipients, RejectReason,
    };
    use std::sync::{Arc, Mutex};

    /// What a test's hook says no to, and why.
    type Refuse = fn(&HookChange) -> Option<String>;

    /// Refuses what `refuse` says no to; records every before and after.
    #[derive(Default)]
    struct Recorder {
        before: Mutex<Vec<HookChange>>,
        after: Mutex<Vec<HookChange>>,
        refuse: Mutex<Option<Refuse>>,
        /// An after-hook that reads through the engine (set once built).
        engine: Mutex<Option<Enlist>>,
        seen_by_after: Mutex<Vec<Option<MemberStatus>>>,
    }

    impl Hooks for Recorder {
        fn before(&self, change: &HookChange) -> Result<(), HookError> {
            self.before.lock().unwrap().push(change.clone());
            let refuse = *self.refuse.lock().unwrap();
            match refuse.and_then(|f| f(change)) {
                Some(reason) => Err(HookError::new(reason)),
                None => Ok(()),
            }
        }
        fn after(&self, change: &HookChange) -> Result<(), HookError> {
            self.after.lock().unwrap().push(change.clone());
            // The after-hook runs outside the transaction: it may call the
            // engine (inside one, on MemoryStore, this would wait forever).
            let engine = self.engine.lock().unwrap().clone();
            if let (Some(engine), Some(m)) = (engine, &change.member) {
                let read = engine
                    .member(&change.org_id, &crate::Actor::System, &m.id)
                    .ok()
                    .map(|m| m.status);
                self.seen_by_after.lock().unwrap().push(read);
            }
            Err(HookError::new("after-hooks cannot fail a command"))
        }
    }

    fn setup(policy: Policy) -> (Enlist, Arc<Recorder>, crate::OrgId, crate::Actor) {
        let hooks = Arc::new(Recorder::default());
        let engine = Enlist::in_memory().with_hooks(hooks.clone());
        *hooks.engine.lock().unwrap() = Some(engine.clone());
        let (o, owner) = org(&engine, "acct-owner", "owner@acme.test", policy);
        hooks.before.lock().unwrap().clear();
        hooks.after.lock().unwrap().clear();
        hooks.seen_by_after.lock().unwrap().clear();
        (engine, hooks, o, owner)
    }

    fn refuse(hooks: &Recorder, f: fn(&HookChange) -> Option<String>) {
        *hooks.refuse.lock().unwrap() = Some(f);
    }

    fn trail(engine: &Enlist, o: &crate::OrgId) -> usize {
        engine
            .events(o, &crate::Actor::System, 0, 1000)
            .expect("events")
            .len()
    }

    #[test]
    fn a_refused_accept_fails_with_the_reason_and_changes_nothing() {
        let (engine, hooks, o, owner) = setup(Policy::default());
        let report = engine
            .invite(
                &o,
                &owner,
                InviteRequest::new(Recipients::Paste("bob@acme.test".into())),
            )
            .expect("invite");
        let token = report.issued[0].secret.clone().expect("token");
        let before_events = trail(&engine, &o);
        hooks.after.lock().unwrap().clear();
        refuse(&hooks, |c| match c.kind {
            EventKind::InvitationAccepted { .. } => {
                Some("bob must finish onboarding\r\nfirst".into())
            }
            _ => None,
        });
        let err = engine
            .accept(token.expose(), registration("acct-bob", ("Bob", "B")))
            .expect_err("refused");
        assert_eq!(err.code(), "hook_refused");
        assert!(
            matches!(&err, Error::HookRefused { reason } if reason == "bob must finish onboarding  first"),
            "{err:?}"
        );
        // Nothing changed: the invitation is still pending, no member, no event.
        let inv = engine
            .invitation(&o, &owner, &report.issued[0].invitation.id)
            .expect("read");
        assert_eq!(inv.status, InvitationStatus::Pending);
        assert_eq!(trail(&engine, &o), before_events);
        assert!(hooks.after.lock().unwrap().is_empty());
        // The hook saw the member about to be created, and no secret.
        let seen = hooks.before.lock().unwrap().last().cloned().expect("asked");
        assert_eq!(seen.command, "accept");
        assert_eq!(
            seen.member.as_ref().map(|m| m.contact.as_str()),
            Some("bob@acme.test")
        );
        let json = serde_json::to_string(&seen).expect("json");
        assert!(!json.contains(token.expose()), "{json}");
        assert!(!json.contains("secret_hash"), "{json}");
        // Allowed again, the same token works.
        *hooks.refuse.lock().unwrap() = None;
        engine
            .accept(token.expose(), registration("acct-bob", ("Bob", "B")))
            .expect("accepted");
    }

    #[test]
    fn after_hooks_see_the_committed_result_and_cannot_fail_the_command() {
        let (engine, hooks, o, owner) = setup(Policy::default());
        let report = engine
            .invite(
                &o,
                &owner,
                InviteRequest::new(Recipients::Paste("bob@acme.test".into())),
            )
            .expect("invite (the after-hook's error is only logged)");
        let token = report.issued[0].secret.clone().expect("token");
        let accepted = engine
            .accept(token.expose(), registration("acct-bob", ("Bob", "B")))
            .expect("accept");
        let after = hooks.after.lock().unwrap().clone();
        let kinds: Vec<String> = after
            .iter()
            .map(|c| crate::event_kind_name(&c.kind))
            .collect();
        assert_eq!(kinds, ["invitation_issued", "invitation_accepted"]);
        // Numbered as committed, with the accepted invitation and member.
        assert!(after.iter().all(|c| c.seq > 0));
        assert_eq!(
            after[1].invitation.as_ref().map(|i| i.status),
            Some(InvitationStatus::Accepted)
        );
        assert_eq!(
            after[1].member.as_ref().map(|m| &m.id),
            Some(&accepted.member.id)
        );
        // The after-hook read the member through the engine: committed.
        assert_eq!(
            *hooks.seen_by_after.lock().unwrap(),
            [Some(MemberStatus::Active)]
        );
    }

    #[test]
    fn a_batch_rejects_only_the_refused_recipients() {
        let (engine, hooks, o, owner) = setup(Policy::default());
        refuse(&hooks, |c| match &c.kind {
            EventKind::InvitationIssued { recipient, .. } if recipient.ends_with("@rival.test") => {
                Some("no rivals".into())
            }
            _ => None,
        });
        let report = engine
            .invite(
                &o,
                &owner,
                InviteRequest::new(Recipients::Paste(
                    "a@acme.test, eve@rival.test, b@acme.test".into(),
                )),
            )
            .expect("the batch goes ahead");
        assert_eq!(report.issued.len(), 2);
        assert_eq!(report.rejected.len(), 1);
        assert_eq!(report.rejected[0].index, 1);
        assert_eq!(report.rejected[0].reason.code(), "refused_by_hook");
        assert!(
            matches!(&report.rejected[0].reason, RejectReason::RefusedByHook { reason } if reason == "no rivals")
        );
        // Nothing of the refused recipient was written.
        let open = engine
            .list_invitations(&o, &owner, &crate::InvitationQuery::default())
            .expect("list");
        assert_eq!(open.items.len(), 2);
        assert!(
            open.items
                .iter()
                .all(|i| !i.recipient.as_str().contains("rival"))
        );
        // The hook saw each invitation before it was written, once each.
        let issued_asks = hooks
            .before
            .lock()
            .unwrap()
            .iter()
            .filter(|c| matches!(c.kind, EventKind::InvitationIssued { .. }))
            .count();
        assert_eq!(issued_asks, 3);
        assert_eq!(hooks.after.lock().unwrap().len(), 2);
        // Staged then sent: send_staged reports the refused one as failed.
        refuse(&hooks, |c| match &c.kind {
            EventKind::InvitationSent { .. } => c
                .invitation
                .as_ref()
                .filter(|i| i.recipient.as_str() == "c@acme.test")
                .map(|_| "not c".into()),
            _ => None,
        });
        let staged = engine
            .invite(
                &o,
                &owner,
                InviteRequest::new(Recipients::Paste("c@acme.test, d@acme.test".into())).staged(),
            )
            .expect("stage");
        let ids: Vec<_> = staged
            .issued
            .iter()
            .map(|i| i.invitation.id.clone())
            .collect();
        let sent = engine.send_staged(&o, &owner, &ids).expect("send");
        let codes: Vec<&str> = sent
            .results
            .iter()
            .map(|r| match r {
                crate::SendOutcome::Sent { .. } => "sent",
                crate::SendOutcome::Failed { code, .. } => code.as_str(),
            })
            .collect();
        assert_eq!(codes, ["hook_refused", "sent"]);
        // Each staged invitation was asked once, before its writes: the
        // approval covers that invitation's event only.
        let sent_asks = hooks
            .before
            .lock()
            .unwrap()
            .iter()
            .filter(|c| matches!(c.kind, EventKind::InvitationSent { .. }))
            .count();
        assert_eq!(sent_asks, 2);
        let c = engine.invitation(&o, &owner, &ids[0]).expect("c");
        assert_eq!(c.status, InvitationStatus::Staged, "c is untouched");
    }

    #[test]
    fn role_change_removal_and_link_joins_are_hooked() {
        let policy = Policy {
            invite_link_enabled: true,
            ..Policy::default()
        };
        let (engine, hooks, o, owner) = setup(policy);
        let link = engine
            .activate_invite_link(&o, &owner, LinkSpec::default())
            .expect("link");
        refuse(&hooks, |c| match &c.kind {
            EventKind::MemberJoined { .. } => Some("joins are closed".into()),
            _ => None,
        });
        let err = engine
            .join_by_link(
                link.url.expose(),
                "lee@acme.test",
                registration("acct-lee", ("Lee", "L")),
            )
            .expect_err("refused");
        assert_eq!(err.code(), "hook_refused");
        *hooks.refuse.lock().unwrap() = None;
        let lee = engine
            .join_by_link(
                link.url.expose(),
                "lee@acme.test",
                registration("acct-lee", ("Lee", "L")),
            )
            .expect("joined");
        refuse(&hooks, |c| match &c.kind {
            EventKind::MemberUpdated { fields, .. } if fields.iter().any(|f| f == "role") => {
                Some("roles change in the HR system".into())
            }
            EventKind::MemberRemoved { .. } => Some("offboarding runs elsewhere".into()),
            _ => None,
        });
        let update = MemberUpdate {
            role: Some("admin".into()),
            ..MemberUpdate::default()
        };
        let err = engine
            .update_member(&o, &owner, &lee.id, update)
            .expect_err("refused");
        assert_eq!(err.code(), "hook_refused");
        let err = engine
            .remove_member(&o, &owner, &lee.id)
            .expect_err("refused");
        assert!(
            err.to_string().contains("offboarding runs elsewhere"),
            "{err}"
        );
        let still = engine.member(&o, &owner, &lee.id).expect("lee");
        assert_eq!(
            (still.role.as_str(), still.status),
            ("member", MemberStatus::Active)
        );
    }

    /// The membership commands added beside the hooks (a direct add, a
    /// member leaving) are hooked like the others, with their member.
    #[test]
    fn direct_adds_and_leaving_are_hooked_with_their_member() {
        let (engine, hooks, o, owner) = setup(Policy::default());
        let kim = || crate::NewMember {
            first_name: Some("Kim".into()),
            last_name: Some("K".into()),
            ..crate::NewMember::new("acct-kim")
        };
        refuse(&hooks, |c| match &c.kind {
            EventKind::MemberAdded { .. } => Some("accounts come from the HR system".into()),
            _ => None,
        });
        let err = engine.add_member(&o, &owner, kim()).expect_err("refused");
        assert_eq!(err.code(), "hook_refused");
        assert!(
            engine
                .organizations_of("acct-kim", None, 10)
                .expect("orgs")
                .items
                .is_empty()
        );
        *hooks.refuse.lock().unwrap() = None;
        let kim = engine.add_member(&o, &owner, kim()).expect("added");
        let seen = hooks.after.lock().unwrap().last().cloned().expect("after");
        assert_eq!(seen.member.map(|m| m.id), Some(kim.id.clone()));
        refuse(&hooks, |c| match &c.kind {
            EventKind::MemberLeft { .. } => Some("ask your admin".into()),
            _ => None,
        });
        let me = crate::Actor::Member(kim.id.clone());
        let err = engine.leave_organization(&o, &me).expect_err("refused");
        assert_eq!(err.code(), "hook_refused");
        let still = engine.member(&o, &owner, &kim.id).expect("kim");
        assert_eq!(still.status, MemberStatus::Active);
        let before = hooks
            .before
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("before");
        assert_eq!(before.member.map(|m| m.id), Some(kim.id));
    }

    #[test]
    fn a_panicking_hook_refuses_and_leaves_nothing_behind() {
        struct Panics;
        impl Hooks for Panics {
            fn before(&self, change: &HookChange) -> Result<(), HookError> {
                if matches!(change.kind, EventKind::InvitationIssued { .. }) {
                    panic!("host bug");
                }
                Ok(())
            }
            fn after(&self, _: &HookChange) -> Result<(), HookError> {
                panic!("host bug after");
            }
        }
        let engine = Enlist::in_memory().with_hooks(Arc::new(Panics));
        let (o, owner) = org(&engine, "acct-owner", "owner@acme.test", Policy::default());
        let report = engine
            .invite(
                &o,
                &owner,
                InviteRequest::new(Recipients::Paste("a@acme.test".into())),
            )
            .expect("a panicking after-hook does not fail the command");
        assert_eq!(report.issued.len(), 0);
        assert_eq!(report.rejected[0].reason.code(), "refused_by_hook");
        let open = engine
            .list_invitations(&o, &owner, &crate::InvitationQuery::default())
            .expect("list");
        assert!(open.items.is_empty());
    }

    #[test]
    fn dry_runs_call_no_hook() {
        let (engine, hooks, o, owner) = setup(Policy::default());
        refuse(&hooks, |_| Some("no".into()));
        let dry = engine
            .dry_run_invite(
                &o,
                &owner,
                &InviteRequest::new(Recipients::Paste("a@acme.test".into())),
            )
            .expect("dry run");
        assert_eq!(dry.would_issue.len(), 1);
        assert!(hooks.before.lock().unwrap().is_empty());
    }

    #[test]
    fn an_approval_covers_only_its_own_invitation() {
        /// Approves the first question, refuses every later one.
        #[derive(Default)]
        struct Once(Mutex<u32>);
        impl Hooks for Once {
            fn before(&self, _: &HookChange) -> Result<(), HookError> {
                let mut n = self.0.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    Ok(())
                } else {
                    Err(HookError::new("only once"))
                }
            }
        }
        let engine = Enlist::in_memory();
        let (o, owner) = org(&engine, "acct-owner", "owner@acme.test", Policy::default());
        let engine = engine.with_hooks(Arc::new(Once::default()));
        let sent = |id: &str| EventKind::InvitationSent {
            invitation: InvitationId::from(id),
            expires_at: chrono::DateTime::from_timestamp(2_000_000_000, 0).unwrap(),
        };
        // Invitation A approved, then its row failed before its event: the
        // approval must not let invitation B's event through unasked.
        let out = engine.run("t", |cx| {
            assert_eq!(cx.ask_before(&o, &owner, sent("inv_a"), None)?, None);
            cx.event(&o, &owner, sent("inv_b"))
        });
        assert_eq!(out.map_err(|e| e.code()), Err("hook_refused"));
    }

    #[test]
    fn reasons_are_one_bounded_line() {
        assert_eq!(HookError::new("a\nb\u{202E}c").reason(), "a b c");
        assert_eq!(HookError::new("   ").reason(), "refused by the host");
        let long = HookError::new("x".repeat(100_000));
        assert_eq!(long.reason().chars().count(), MAX_HOOK_REASON_CHARS);
        assert!(long.reason().ends_with('…'));
    }
}

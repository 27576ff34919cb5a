//! Delivering the outbox: through a [`Mailer`], or by the host's own queue
//! (claim, then mark sent or failed).
//!
//! Two kinds of callers:
//! - **host jobs** (trusted, no actor): [`Enlist::deliver_pending`],
//!   [`Enlist::claim_due`], [`Enlist::mark_sent`], [`Enlist::mark_failed`],
//!   [`Enlist::outbox_message`]. Only the claims, which exist to send,
//!   return a live accept link; call them from a worker, never on behalf of
//!   a person.
//! - **people** (an actor, [`Permission::ManageOutbox`], one
//!   organization): [`Enlist::outbox_message_in`], which never returns the
//!   link nor a body holding it.

use super::Enlist;
use crate::error::{EntityKind, Error, Result};
use crate::event::{Actor, EventKind};
use crate::id::{MessageId, OrgId};
use crate::outbox::{DeliveryReport, Mailer, OutboxMessage, OutboxStatus, scrub_mail_error};
use crate::role::Permission;

impl Enlist {
    /// Sends up to `limit` due messages through `mailer`, records each
    /// outcome (with an audit event), retries failures with backoff, and
    /// never sends a message again once its success is recorded. Each
    /// message is claimed on its own right before it is sent (for the retry
    /// policy's `claim_secs`), so several workers can run this at once and a
    /// slow batch does not let another worker take the messages it has not
    /// reached yet. Trusted host-job API (no actor).
    pub fn deliver_pending(&self, mailer: &dyn Mailer, limit: usize) -> Result<DeliveryReport> {
        let due = self.run("deliver_pending.due", |cx| {
            let now = cx.now;
            Ok(cx.tx.due_outbox(None, now, limit)?)
        })?;
        let mut report = DeliveryReport::default();
        for candidate in due {
            // Taken by another worker, sent, or superseded meanwhile.
            let Some(msg) = self.claim_one(&candidate.id)? else {
                continue;
            };
            match mailer.send(&msg.email) {
                Ok(()) => {
                    if self.mark_sent(&msg.id)? {
                        report.sent.push(msg.id);
                    }
                }
                Err(e) => {
                    let permanent = e.is_permanent();
                    match self.mark_failed(&msg.id, &e.to_string(), permanent)? {
                        Some(OutboxStatus::Failed) => report.failed.push(msg.id),
                        Some(_) => report.retrying.push(msg.id),
                        None => {}
                    }
                }
            }
        }
        Ok(report)
    }

    /// Claims one message if it is still queued and due (not claimed by
    /// another worker): the live message, or `None`.
    fn claim_one(&self, id: &MessageId) -> Result<Option<OutboxMessage>> {
        let claim_secs = self.config.retry.claim_secs;
        self.run("deliver_pending.claim", |cx| {
            let until = super::time_after(cx.now, claim_secs, "retry.claim_secs")?;
            let Some(mut m) = cx.tx.outbox_message(id)? else {
                return Ok(None);
            };
            if m.status != OutboxStatus::Queued || m.next_attempt_at > cx.now {
                return Ok(None);
            }
            m.next_attempt_at = until;
            cx.tx.put_outbox_message(&m)?;
            Ok(Some(m))
        })
    }

    /// Takes up to `limit` due messages (of one organization, or all) for
    /// delivery by the host: each is hidden from other claims for the retry
    /// policy's `claim_secs`. Report each with [`Enlist::mark_sent`] or
    /// [`Enlist::mark_failed`]. The messages hold live accept links: this is
    /// trusted host-job API, for the worker that sends them. Claim as many
    /// as the worker sends within `claim_secs` (one at a time is safest).
    pub fn claim_due(&self, org: Option<&OrgId>, limit: usize) -> Result<Vec<OutboxMessage>> {
        let claim_secs = self.config.retry.claim_secs;
        self.run("claim_due", |cx| {
            let until = super::time_after(cx.now, claim_secs, "retry.claim_secs")?;
            let due = cx.tx.due_outbox(org, cx.now, limit)?;
            let mut out = Vec::with_capacity(due.len());
            for mut m in due {
                m.next_attempt_at = until;
                cx.tx.put_outbox_message(&m)?;
                out.push(m);
            }
            Ok(out)
        })
    }

    /// Records a delivery. Returns `false` if the message was no longer
    /// queued (already recorded, or superseded meanwhile).
    pub fn mark_sent(&self, id: &MessageId) -> Result<bool> {
        self.run("mark_sent", |cx| {
            let mut m = cx
                .tx
                .outbox_message(id)?
                .ok_or_else(|| Error::not_found(EntityKind::Message, id))?;
            if m.status != OutboxStatus::Queued {
                return Ok(false);
            }
            m.status = OutboxStatus::Sent;
            m.attempts += 1;
            m.sent_at = Some(cx.now);
            m.last_error = None;
            m.redact();
            cx.tx.put_outbox_message(&m)?;
            cx.event(
                &m.org_id,
                &Actor::System,
                EventKind::EmailSent {
                    message: m.id.clone(),
                    invitation: m.invitation_id.clone(),
                    to: m.email.to.clone(),
                },
            )?;
            Ok(true)
        })
    }

    /// Records a failed delivery: retried after a backoff, or given up when
    /// `permanent` or out of attempts. Returns the message's new status, or
    /// `None` if it was no longer queued. `error` (which mail providers
    /// often write by quoting the message) is stored and put in the audit
    /// event only after the message's link, its token and anything shaped
    /// like a secret are replaced by `[redacted]`, cut at 500 characters.
    pub fn mark_failed(
        &self,
        id: &MessageId,
        error: &str,
        permanent: bool,
    ) -> Result<Option<OutboxStatus>> {
        let retry = self.config.retry.clone();
        self.run("mark_failed", |cx| {
            let mut m = cx
                .tx
                .outbox_message(id)?
                .ok_or_else(|| Error::not_found(EntityKind::Message, id))?;
            if m.status != OutboxStatus::Queued {
                return Ok(None);
            }
            let error = scrub_mail_error(error, &m.email);
            m.attempts += 1;
            m.last_error = Some(error.clone());
            let gave_up = permanent || m.attempts >= retry.max_attempts;
            if gave_up {
                m.status = OutboxStatus::Failed;
                m.redact();
            } else {
                let delay = retry
                    .jittered_delay(&m.id, m.attempts)
                    .num_seconds()
                    .unsigned_abs();
                m.next_attempt_at = super::time_after(cx.now, delay, "retry.delay")?;
            }
            cx.tx.put_outbox_message(&m)?;
            cx.event(
                &m.org_id,
                &Actor::System,
                EventKind::EmailFailed {
                    message: m.id.clone(),
                    invitation: m.invitation_id.clone(),
                    to: m.email.to.clone(),
                    error: error.clone(),
                    attempts: m.attempts,
                    gave_up,
                },
            )?;
            Ok(Some(m.status))
        })
    }

    /// A message of the outbox, to show its delivery state, without its
    /// secret (no accept link, no body holding it). Trusted host-job API: no
    /// actor is checked; for a person, use [`Enlist::outbox_message_in`].
    pub fn outbox_message(&self, id: &MessageId) -> Result<OutboxMessage> {
        self.run("outbox_message", |cx| {
            cx.tx
                .outbox_message(id)?
                .map(OutboxMessage::redacted)
                .ok_or_else(|| Error::not_found(EntityKind::Message, id))
        })
    }

    /// A message of `org`'s outbox, for a person: needs
    /// [`Permission::ManageOutbox`] in `org`; a message of another
    /// organization is not found. The message comes without its secret (no
    /// accept link, no body holding it).
    pub fn outbox_message_in(
        &self,
        org: &OrgId,
        actor: &Actor,
        id: &MessageId,
    ) -> Result<OutboxMessage> {
        self.run("outbox_message_in", |cx| {
            cx.authorized(org, actor, Permission::ManageOutbox)?;
            cx.tx
                .outbox_message(id)?
                .filter(|m| &m.org_id == org)
                .map(OutboxMessage::redacted)
                .ok_or_else(|| Error::not_found(EntityKind::Message, id))
        })
    }
}

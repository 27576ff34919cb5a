//! Delivering the outbox: through a [`Mailer`], or by the host's own queue
//! (claim, then mark sent or failed).

use super::Enlist;
use crate::error::{Error, Result};
use crate::event::{Actor, EventKind};
use crate::id::{MessageId, OrgId};
use crate::outbox::{DeliveryReport, Mailer, OutboxMessage, OutboxStatus};

impl Enlist {
    /// Sends up to `limit` due messages through `mailer`, records each
    /// outcome (with an audit event), retries failures with backoff, and
    /// never sends a message again once its success is recorded. Messages
    /// are claimed before sending, so several workers can run this at once.
    pub fn deliver_pending(&self, mailer: &dyn Mailer, limit: usize) -> Result<DeliveryReport> {
        let claimed = self.claim_due(None, limit)?;
        let mut report = DeliveryReport::default();
        for msg in claimed {
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

    /// Takes up to `limit` due messages (of one organization, or all) for
    /// delivery by the host: each is hidden from other claims for the retry
    /// policy's `claim_secs`. Report each with [`Enlist::mark_sent`] or
    /// [`Enlist::mark_failed`].
    pub fn claim_due(&self, org: Option<&OrgId>, limit: usize) -> Result<Vec<OutboxMessage>> {
        let claim_secs = self.config.retry.claim_secs;
        self.run(|cx| {
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
        self.run(|cx| {
            let mut m = cx
                .tx
                .outbox_message(id)?
                .ok_or_else(|| Error::not_found("message", id))?;
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
    /// `None` if it was no longer queued.
    pub fn mark_failed(
        &self,
        id: &MessageId,
        error: &str,
        permanent: bool,
    ) -> Result<Option<OutboxStatus>> {
        let retry = self.config.retry.clone();
        let error: String = error
            .chars()
            .filter(|c| !c.is_control())
            .take(500)
            .collect();
        self.run(|cx| {
            let mut m = cx
                .tx
                .outbox_message(id)?
                .ok_or_else(|| Error::not_found("message", id))?;
            if m.status != OutboxStatus::Queued {
                return Ok(None);
            }
            m.attempts += 1;
            m.last_error = Some(error.clone());
            let gave_up = permanent || m.attempts >= retry.max_attempts;
            if gave_up {
                m.status = OutboxStatus::Failed;
                m.redact();
            } else {
                let delay = retry.delay_after(m.attempts).num_seconds().unsigned_abs();
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

    /// A message of the outbox, to show its delivery state.
    pub fn outbox_message(&self, id: &MessageId) -> Result<OutboxMessage> {
        self.run(|cx| {
            cx.tx
                .outbox_message(id)?
                .ok_or_else(|| Error::not_found("message", id))
        })
    }
}

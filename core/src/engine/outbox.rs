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
//!   link nor a body holding it; the dead letters
//!   ([`Enlist::dead_letters`], [`Enlist::retry_dead_letter`]).
//!
//! The worker: [`Enlist::work_outbox`] is one pass (deliver what is due,
//! persist expiries, say when the next message is due);
//! [`Enlist::run_outbox`] loops it on a thread until a [`StopSignal`].

use super::Enlist;
use crate::error::{EntityKind, Error, Result};
use crate::event::{Actor, EventKind};
use crate::id::{MessageId, OrgId};
use crate::member::Page;
use crate::outbox::{
    DeadLetter, DeliveryReport, Mailer, OutboxMessage, OutboxStatus, StopSignal, WorkerOptions,
    WorkerReport, scrub_mail_error,
};
use crate::role::Permission;

/// The most messages one `deliver_pending`, `claim_due` or `work_outbox`
/// call (or one pass of `run_outbox`) takes: each is read, and held
/// (claimed) until the call reports it.
pub const MAX_OUTBOX_BATCH: usize = 10_000;

/// Refuses a batch above [`MAX_OUTBOX_BATCH`] before any work.
fn check_batch(limit: usize) -> Result<()> {
    if limit > MAX_OUTBOX_BATCH {
        return Err(Error::invalid(
            "limit",
            format!("is {limit}; at most {MAX_OUTBOX_BATCH} messages are taken per call"),
        ));
    }
    Ok(())
}

impl Enlist {
    /// Sends up to `limit` due messages through `mailer`, records each
    /// outcome (with an audit event), retries failures with backoff, and
    /// never sends a message again once its success is recorded. Each
    /// message is claimed on its own right before it is sent (for the retry
    /// policy's `claim_secs`), so several workers can run this at once and a
    /// slow batch does not let another worker take the messages it has not
    /// reached yet. Trusted host-job API (no actor).
    /// `limit` above [`MAX_OUTBOX_BATCH`] is refused (`InvalidInput`).
    pub fn deliver_pending(&self, mailer: &dyn Mailer, limit: usize) -> Result<DeliveryReport> {
        check_batch(limit)?;
        let due = self.run_read("deliver_pending.due", |cx| {
            let now = cx.now;
            Ok(cx.tx.due_outbox(None, now, limit)?)
        })?;
        let mut report = DeliveryReport::default();
        // The templates of this pass, read once per organization and
        // language (not once per message, a round trip on some stores).
        let mut looks = super::render::Looks::default();
        for candidate in due {
            // Taken by another worker, sent, or superseded meanwhile.
            let Some(msg) = self.claim_one(&candidate.id)? else {
                continue;
            };
            let msg = self.render_with(&mut looks, msg)?;
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
    /// another worker): the live message as stored (a draft is rendered by
    /// the caller), or `None`.
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
            cx.tx.put_outbox_message(m.clone())?;
            Ok(Some(m))
        })
    }

    /// Takes up to `limit` due messages (of one organization, or all) for
    /// delivery by the host: each is hidden from other claims for the retry
    /// policy's `claim_secs`. Report each with [`Enlist::mark_sent`] or
    /// [`Enlist::mark_failed`]. The messages hold live accept links: this is
    /// trusted host-job API, for the worker that sends them. Claim as many
    /// as the worker sends within `claim_secs` (one at a time is safest).
    /// `limit` above [`MAX_OUTBOX_BATCH`] is refused (`InvalidInput`).
    pub fn claim_due(&self, org: Option<&OrgId>, limit: usize) -> Result<Vec<OutboxMessage>> {
        check_batch(limit)?;
        let claim_secs = self.config.retry.claim_secs;
        self.run("claim_due", |cx| {
            let until = super::time_after(cx.now, claim_secs, "retry.claim_secs")?;
            // Messages another worker is claiming may be skipped (left
            // for the next claim) rather than waited for.
            let claimed = cx.tx.claim_outbox(org, cx.now, until, limit)?;
            claimed.into_iter().map(|m| cx.rendered(m)).collect()
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
            let org = m.org_id.clone();
            let sent = EventKind::EmailSent {
                message: m.id.clone(),
                invitation: m.invitation_id.clone(),
                to: m.email.to.clone(),
            };
            cx.tx.put_outbox_message(m)?;
            cx.event(&org, &Actor::System, sent)?;
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
                // Kept as it would have been sent (ADR 0018): a dead
                // letter shows its Subject without rendering on every list.
                m = cx.rendered(m)?;
                m.redact();
            } else {
                let delay = retry
                    .jittered_delay(&m.id, m.attempts)
                    .num_seconds()
                    .unsigned_abs();
                m.next_attempt_at = super::time_after(cx.now, delay, "retry.delay")?;
            }
            let (org, status) = (m.org_id.clone(), m.status);
            let failed = EventKind::EmailFailed {
                message: m.id.clone(),
                invitation: m.invitation_id.clone(),
                to: m.email.to.clone(),
                error,
                attempts: m.attempts,
                gave_up,
            };
            cx.tx.put_outbox_message(m)?;
            cx.event(&org, &Actor::System, failed)?;
            Ok(Some(status))
        })
    }

    /// A message of the outbox, to show its delivery state, without its
    /// secret (no accept link, no body holding it). Trusted host-job API: no
    /// actor is checked; for a person, use [`Enlist::outbox_message_in`].
    pub fn outbox_message(&self, id: &MessageId) -> Result<OutboxMessage> {
        self.run_read("outbox_message", |cx| {
            let m = cx
                .tx
                .outbox_message(id)?
                .ok_or_else(|| Error::not_found(EntityKind::Message, id))?;
            cx.rendered(m.redacted())
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
        self.run_read("outbox_message_in", |cx| {
            cx.authorized(org, actor, Permission::ManageOutbox)?;
            let m = cx
                .tx
                .outbox_message(id)?
                .filter(|m| &m.org_id == org)
                .ok_or_else(|| Error::not_found(EntityKind::Message, id))?;
            cx.rendered(m.redacted())
        })
    }

    /// One pass of the outbox worker, for a host to schedule or run in a
    /// loop (trusted host-job API, no actor): persists the expiry of due
    /// invitations ([`Enlist::expire_due`], which drops their unsent
    /// emails), then sends up to `limit` due messages through `mailer` as
    /// [`Enlist::deliver_pending`] does (each claimed on its own just
    /// before it is sent, each outcome recorded, failures retried with
    /// jittered backoff), and returns what it did and
    /// [`WorkerReport::next_due`], the time the earliest queued message
    /// becomes due: sleep until then.
    ///
    /// Delivery is at least once: a worker that dies between the mailer's
    /// success and the record sends that message again once its claim
    /// (`retry.claim_secs`) runs out; [`OutgoingEmail::message_id`](crate::OutgoingEmail::message_id)
    /// is the same both times, for the mailer to pass on as an idempotency
    /// key.
    pub fn work_outbox(&self, mailer: &dyn Mailer, limit: usize) -> Result<WorkerReport> {
        check_batch(limit)?;
        let expired = self.expire_due(self.now())?;
        let delivered = self.deliver_pending(mailer, limit)?;
        let next_due = self.run_read("work_outbox.next_due", |cx| {
            Ok(cx.tx.next_outbox_due(None)?)
        })?;
        Ok(WorkerReport {
            sent: delivered.sent,
            retrying: delivered.retrying,
            failed: delivered.failed,
            expired_invitations: expired as u64,
            next_due,
        })
    }

    /// Runs [`Enlist::work_outbox`] in a loop on the calling thread until
    /// `stop` is given: after each pass it sleeps until the next message is
    /// due, at most `options.max_idle` (at least 1 ms), and wakes at once on
    /// [`StopSignal::stop`] or [`StopSignal::wake`]. A pass that meets a
    /// temporary store error (the store unavailable, or concurrent updates
    /// beyond the engine's retries) is tried again after `max_idle`; any
    /// other error ends the loop and is returned. Returns the totals of
    /// every pass when stopped.
    ///
    /// ```
    /// # use enlist::*;
    /// # use std::sync::Arc;
    /// let engine = Arc::new(Enlist::new(Arc::new(MemoryStore::new())));
    /// let mailer = Arc::new(RecordingMailer::new());
    /// let stop = Arc::new(StopSignal::new());
    /// let worker = {
    ///     let (engine, mailer, stop) = (engine.clone(), mailer.clone(), stop.clone());
    ///     std::thread::spawn(move || engine.run_outbox(&*mailer, &stop, &WorkerOptions::default()))
    /// };
    /// // ... invite people; `stop.wake()` sends their emails at once ...
    /// stop.stop();
    /// let totals = worker.join().expect("the worker thread")?;
    /// assert!(totals.sent.is_empty());
    /// # Ok::<(), enlist::Error>(())
    /// ```
    pub fn run_outbox(
        &self,
        mailer: &dyn Mailer,
        stop: &StopSignal,
        options: &WorkerOptions,
    ) -> Result<WorkerReport> {
        check_batch(options.batch)?;
        let mut totals = WorkerReport::default();
        while !stop.is_stopped() {
            let sleep = self.run_outbox_pass(mailer, options, &mut totals)?;
            if !sleep.is_zero() && stop.wait(sleep) {
                break;
            }
        }
        Ok(totals)
    }

    /// One pass of [`Enlist::run_outbox`]'s loop, for a host that waits
    /// its own way between passes (the Python binding waits on a
    /// `threading.Event`): runs [`Enlist::work_outbox`], adds what it did
    /// to `totals`, and returns how long to sleep before the next pass
    /// (until the next message is due, at most `options.max_idle`, at
    /// least 1 ms when nothing is due). A temporary store error is waited
    /// out (`max_idle`); any other error is returned.
    pub fn run_outbox_pass(
        &self,
        mailer: &dyn Mailer,
        options: &WorkerOptions,
        totals: &mut WorkerReport,
    ) -> Result<std::time::Duration> {
        check_batch(options.batch)?;
        // A zero idle would spin while nothing is due.
        let max_idle = options.max_idle.max(std::time::Duration::from_millis(1));
        match self.work_outbox(mailer, options.batch.max(1)) {
            Ok(pass) => {
                let sleep = pass.sleep_after(self.now(), max_idle);
                totals.sent.extend(pass.sent);
                totals.retrying.extend(pass.retrying);
                totals.failed.extend(pass.failed);
                totals.expired_invitations += pass.expired_invitations;
                totals.next_due = pass.next_due;
                Ok(sleep)
            }
            Err(
                Error::Store(crate::StoreError::Unavailable(_)) | Error::RetriesExhausted { .. },
            ) => Ok(max_idle),
            Err(e) => Err(e),
        }
    }

    /// A page of `org`'s dead letters (messages failed for good), newest
    /// first, for an administrator: needs [`Permission::ManageOutbox`] in
    /// `org`. Each says who it was for, why it failed and how often it was
    /// tried, and never holds the accept link or a body holding it. `after`
    /// is the `next_cursor` of the page before; `limit` is 1 to 1000.
    pub fn dead_letters(
        &self,
        org: &OrgId,
        actor: &Actor,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<DeadLetter>> {
        super::page_limit(limit)?;
        super::check_query_text(None, after, &[])?;
        self.run_read("dead_letters", |cx| {
            cx.authorized(org, actor, Permission::ManageOutbox)?;
            let page = cx.tx.failed_outbox(org, after, limit)?;
            let mut items = Vec::with_capacity(page.items.len());
            for m in page.items {
                items.push(DeadLetter::of(cx.rendered(m)?));
            }
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
    }

    /// Retries a dead letter of `org`: its link was redacted when it was
    /// given up on, so it cannot be sent again as it was. The retry is a
    /// resend ([`Enlist::resend`]) of its invitation: a fresh secret (the
    /// old one stops working), a new expiry, a new message queued for the
    /// worker; the dead letter is marked superseded and leaves the list.
    /// Returns the new message's id; the new link goes only to the
    /// recipient, never to the caller.
    ///
    /// Needs [`Permission::ManageOutbox`] in `org` *and* what a resend
    /// needs (managing this invitation and being able to issue it today),
    /// and the policy's resend cooldown and cap apply: a retry mails the
    /// recipient again, so whoever could not resend, or resend so often,
    /// cannot retry either. The resend's audit event
    /// (`invitation_resent`, naming the actor) records it. A message of
    /// another organization is not found; one that is not a dead letter
    /// is a conflict; an invitation no longer open cannot be retried.
    pub fn retry_dead_letter(
        &self,
        org: &OrgId,
        actor: &Actor,
        message: &MessageId,
    ) -> Result<MessageId> {
        self.run("retry_dead_letter", |cx| {
            cx.authorized(org, actor, Permission::ManageOutbox)?;
            let mut dead = cx
                .tx
                .outbox_message(message)?
                .filter(|m| &m.org_id == org)
                .ok_or_else(|| Error::not_found(EntityKind::Message, message))?;
            if dead.status != OutboxStatus::Failed {
                return Err(Error::Conflict {
                    reason: format!(
                        "message {message} is {}, not a dead letter",
                        dead.status.as_str()
                    ),
                });
            }
            let issued = cx.resend(org, actor, &dead.invitation_id)?;
            dead.status = OutboxStatus::Superseded;
            dead.redact();
            let invitation_id = dead.invitation_id.clone();
            cx.tx.put_outbox_message(dead)?;
            issued.message_id.ok_or_else(|| Error::Conflict {
                reason: format!("invitation {invitation_id} has no email to send"),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;
    use crate::outbox::{OutgoingEmail, StopSignal, WorkerOptions};
    use std::sync::Arc;

    struct NeverCalled;
    impl Mailer for NeverCalled {
        fn send(&self, _: &OutgoingEmail) -> std::result::Result<(), crate::MailError> {
            panic!("a refused batch sends nothing")
        }
    }

    /// Every entry point of the outbox refuses a batch above
    /// MAX_OUTBOX_BATCH before reading the store; the bound itself is taken.
    #[test]
    fn a_batch_above_the_bound_is_refused_before_any_work() {
        let e = Enlist::new(Arc::new(MemoryStore::new()));
        let over = MAX_OUTBOX_BATCH + 1;
        let field = |r: Error| match r {
            Error::InvalidInput { field, .. } => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(e.deliver_pending(&NeverCalled, over).unwrap_err()),
            "limit"
        );
        assert_eq!(field(e.claim_due(None, over).unwrap_err()), "limit");
        assert_eq!(
            field(e.work_outbox(&NeverCalled, over).unwrap_err()),
            "limit"
        );
        let options = WorkerOptions::new(over, std::time::Duration::from_millis(1));
        let stop = StopSignal::new();
        assert_eq!(
            field(e.run_outbox(&NeverCalled, &stop, &options).unwrap_err()),
            "limit"
        );
        assert!(e.claim_due(None, MAX_OUTBOX_BATCH).unwrap().is_empty());
        assert!(
            e.deliver_pending(&NeverCalled, MAX_OUTBOX_BATCH)
                .unwrap()
                .sent
                .is_empty()
        );
    }
}

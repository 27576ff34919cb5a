//! Dry runs of invitations (seed 001's live "already used" warning, seed
//! 000's review): any invite request, or an import file, evaluated by the
//! same steps as the real command ([`Ctx::evaluate_batch`] and
//! [`Ctx::settle`]), in a read transaction that is never committed. No
//! invitation, secret, email or event is made.

use super::directory_import::import_request;
use super::invite::{Candidate, Plan, Seats, prepare_batch};
use super::{Ctx, Enlist, ImportDefaults, MAX_MESSAGE_CHARS, clean_text};
use super::{ImportRejection, InviteRequest, RejectReason, RejectedRecipient};
use crate::email::AddressWarning;
use crate::error::Result;
use crate::event::Actor;
use crate::group::GroupGrant;
use crate::id::OrgId;
use crate::import_file::{ImportFormat, ImportRowError};
use crate::member::{Contact, MemberKind};
use serde::{Deserialize, Serialize};

/// A recipient the real command would invite: what the invitation would
/// say, without an id, a secret or an email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct WouldIssue {
    /// The recipient's position in the input (0-based).
    pub index: usize,
    /// The recipient as given.
    pub input: String,
    /// The email address or identifier the invitation would go to.
    pub recipient: Contact,
    /// The name to greet them with.
    pub display_name: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Member or guest.
    pub kind: MemberKind,
    /// The organization role.
    pub role: String,
    /// The groups, with group roles.
    pub groups: Vec<GroupGrant>,
    /// The license type.
    pub license_type: String,
    /// What the address parser flagged (look-alikes, internationalized
    /// parts).
    pub warnings: Vec<AddressWarning>,
    /// The attributes the invitation would carry.
    pub attributes: crate::member::Attributes,
    /// The language of its email (the row's, else the batch's).
    #[serde(default)]
    pub locale: Option<String>,
    /// Its own lifetime in seconds (the row's, else the batch's), within
    /// the policy's bounds; `None`: the policy's default.
    #[serde(default)]
    pub lifetime_secs: Option<u64>,
}

impl WouldIssue {
    fn of(c: Candidate) -> Self {
        Self {
            index: c.index,
            input: c.input,
            recipient: c.contact,
            display_name: c.display_name,
            first_name: c.first_name,
            last_name: c.last_name,
            kind: c.kind,
            role: c.role.into_string(),
            groups: c.groups,
            license_type: c.license_type.into_string(),
            warnings: c.warnings,
            attributes: c.attributes,
            locale: c.locale,
            lifetime_secs: c.lifetime_secs,
        }
    }
}

/// The outcome of [`Enlist::dry_run_invite`]: the real command's report
/// without what only writing makes (ids, secrets, emails). One row per
/// recipient, would-issue or rejected, in input order within each list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InviteDryRun {
    /// Recipients the real command would invite now.
    pub would_issue: Vec<WouldIssue>,
    /// Recipients it would reject, with the reason (the same reasons).
    pub rejected: Vec<RejectedRecipient>,
}

impl InviteDryRun {
    /// Recipients in the input.
    pub fn total(&self) -> usize {
        self.would_issue.len() + self.rejected.len()
    }
}

/// The outcome of [`Enlist::dry_run_import`]: what
/// [`Enlist::import_invitations`] would do with the file, batch by batch,
/// every row in one place.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ImportDryRun {
    /// Columns of the file that were not recognized.
    pub ignored_columns: Vec<String>,
    /// Rows that could not be read as recipients.
    pub sheet_errors: Vec<ImportRowError>,
    /// Rows rejected before the batches would run, and rows a batch would
    /// reject, by file line.
    pub rejected: Vec<ImportRejection>,
    /// The batches the import would run, in file order.
    pub batches: Vec<InviteDryRun>,
    /// `batch_lines[b][i]`: the file line of recipient `i` of batch `b`.
    pub batch_lines: Vec<Vec<usize>>,
}

impl ImportDryRun {
    /// How many invitations the import would issue.
    pub fn would_issue_count(&self) -> usize {
        self.batches.iter().map(|b| b.would_issue.len()).sum()
    }
}

impl Enlist {
    /// Evaluates an invite request without writing anything: the report
    /// [`Enlist::invite`] would give now (who would be invited, who would
    /// be rejected and why: invalid, already a member, already invited,
    /// domain, seats, guests, duplicates), or the error it would fail with
    /// (too many recipients, a role or group the actor may not grant, no
    /// permission to invite). The same steps decide, in the same order;
    /// no secret is made, no email queued, no event recorded, and the
    /// store's read transaction ([`Store::begin_read`](crate::Store::begin_read))
    /// is never committed. Use it for a form's live warnings and for the
    /// review step before sending.
    pub fn dry_run_invite(
        &self,
        org: &OrgId,
        actor: &Actor,
        req: &InviteRequest,
    ) -> Result<InviteDryRun> {
        clean_text("message", req.message.as_deref(), MAX_MESSAGE_CHARS)?;
        // Locale, lifetime, redirect URL and metadata: as `invite` checks them.
        super::invite::BatchSettings::of(&self.config, req)?;
        let policy = self.run_read("dry_run_invite.authorize", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            super::invite::may_invite_at_all(&o, &auth)?;
            Ok(o.policy)
        })?;
        let batch = prepare_batch(&policy, req)?;
        self.run_read("dry_run_invite", |cx| {
            let mut plan = Plan::default();
            cx.dry_run_batch(org, actor, req, &batch, &mut plan)
        })
    }

    /// Evaluates an import file without writing anything: what
    /// [`Enlist::import_invitations`] would report (sheet errors, rows
    /// rejected before the batches, then each batch's would-issue and
    /// rejected rows), read under the same bounds and authorization. All
    /// batches are evaluated in one read transaction, the seats of earlier
    /// batches counted for later ones. A recipient repeated in a later
    /// batch, which the real import rejects as already invited (by the
    /// earlier batch), is reported as a duplicate of its first line.
    pub fn dry_run_import(
        &self,
        org: &OrgId,
        actor: &Actor,
        bytes: &[u8],
        format: ImportFormat,
        defaults: ImportDefaults,
    ) -> Result<ImportDryRun> {
        let mut prepared = self.prepare_import(org, actor, bytes, format, &defaults)?;
        let report = std::mem::take(&mut prepared.report);
        let message = prepared.message.take();
        let chunks = prepared.chunks();
        let mut out = ImportDryRun {
            ignored_columns: report.ignored_columns,
            sheet_errors: report.sheet_errors,
            rejected: report.rejected_rows,
            ..ImportDryRun::default()
        };
        // Each batch bounded and parsed outside any transaction, as
        // `invite` does for each of the real import's batches.
        let policy = self.run_read("dry_run_import.policy", |cx| Ok(cx.org(org)?.policy))?;
        let mut batches = Vec::with_capacity(chunks.len());
        for chunk in &chunks {
            let req = import_request(*chunk, &defaults, message.clone());
            let prepared = prepare_batch(&policy, &req)?;
            batches.push((req, prepared));
        }
        let (runs, repeats) = self.run_read("dry_run_import", |cx| {
            let mut plan = Plan::default();
            let mut runs = Vec::with_capacity(batches.len());
            for (b, (req, prepared)) in batches.iter().enumerate() {
                plan.batch = b;
                runs.push(cx.dry_run_batch(org, actor, req, prepared, &mut plan)?);
            }
            Ok((runs, std::mem::take(&mut plan.repeats)))
        })?;
        let line_of = |b: usize, i: usize| -> Option<usize> {
            chunks.get(b).and_then(|c| c.1.get(i)).map(|(l, _)| *l)
        };
        for (b, run) in runs.into_iter().enumerate() {
            for r in &run.rejected {
                let earlier = match &r.reason {
                    RejectReason::DuplicateInBatch { first_index } => {
                        match repeats.iter().find(|(at, _)| *at == (b, r.index)) {
                            Some((_, (fb, fi))) => line_of(*fb, *fi),
                            None => line_of(b, *first_index),
                        }
                    }
                    _ => None,
                };
                out.rejected.push(ImportRejection {
                    line: line_of(b, r.index).unwrap_or(0),
                    batch: Some(b),
                    input: r.input.clone(),
                    reason: r.reason.clone(),
                    message: match earlier {
                        Some(line) => format!("duplicate of line {line}"),
                        None => r.reason.to_string(),
                    },
                });
            }
            out.batches.push(run);
            out.batch_lines
                .push(chunks[b].1.iter().map(|(l, _)| *l).collect());
        }
        out.rejected.sort_by_key(|r| r.line);
        Ok(out)
    }
}

impl Ctx<'_> {
    /// One batch evaluated as [`Enlist::invite`] evaluates it, inside a
    /// read transaction: the actor and the policy read again, the shared
    /// evaluation steps, nothing written.
    fn dry_run_batch(
        &mut self,
        org: &OrgId,
        actor: &Actor,
        req: &InviteRequest,
        batch: &super::invite::PreparedBatch,
        plan: &mut Plan,
    ) -> Result<InviteDryRun> {
        let (o, auth) = self.enter(org, actor)?;
        // A copy: the batch stays the caller's for another attempt.
        let (candidates, mut rejected) = self.evaluate_batch(&o, &auth, req, batch.clone())?;
        let mut would_issue = Vec::with_capacity(candidates.len());
        let mut seats = Seats::Planned(plan);
        for c in candidates {
            match self.settle(&o, c, &mut seats)? {
                Ok(c) => would_issue.push(WouldIssue::of(c)),
                Err(r) => rejected.push(r),
            }
        }
        rejected.sort_by_key(|r| r.index);
        Ok(InviteDryRun {
            would_issue,
            rejected,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::engine::Recipients;
    use crate::engine::test_support as ts;
    use crate::engine::{InviteReport, RecipientInput};
    use crate::invitation::InvitationQuery;
    use crate::policy::Policy;
    use crate::secret::SeededSecrets;
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;
    use std::sync::Arc;

    /// Everything a dry run must leave as it found: events, invitations
    /// (with their stored status), the outbox, the seats.
    fn state(engine: &Enlist, org: &OrgId) -> String {
        let mut tx = engine.store().begin().expect("begin");
        let events = tx.events(org, 0, 10_000).expect("events");
        let invitations = tx
            .list_invitations(
                org,
                &InvitationQuery {
                    limit: 1000,
                    ..InvitationQuery::default()
                },
                DateTime::<Utc>::MAX_UTC,
            )
            .expect("invitations");
        let outbox = tx.due_outbox(Some(org), DateTime::<Utc>::MAX_UTC, 10_000);
        let seats = tx.seat_counts(org).expect("seats");
        format!("{events:?}\n{:?}\n{outbox:?}\n{seats:?}", invitations.items)
    }

    /// The real report as a dry run would give it: ids and secrets left out.
    fn as_dry_run(r: &InviteReport) -> InviteDryRun {
        InviteDryRun {
            would_issue: r
                .issued
                .iter()
                .map(|i| WouldIssue {
                    index: i.index,
                    input: String::new(),
                    recipient: i.invitation.recipient.clone(),
                    display_name: i.invitation.display_name.clone(),
                    first_name: i.invitation.first_name.clone(),
                    last_name: i.invitation.last_name.clone(),
                    kind: i.invitation.kind,
                    role: i.invitation.role.to_string(),
                    groups: i.invitation.groups.clone(),
                    license_type: i.invitation.license_type.to_string(),
                    warnings: i.warnings.clone(),
                    attributes: i.invitation.attributes.clone(),
                    locale: i.invitation.locale.clone(),
                    lifetime_secs: i.invitation.lifetime_secs,
                })
                .collect(),
            rejected: r.rejected.clone(),
        }
    }

    fn without_inputs(mut d: InviteDryRun) -> InviteDryRun {
        for w in &mut d.would_issue {
            w.input = String::new();
        }
        d
    }

    struct World {
        engine: Enlist,
        clock: Arc<ManualClock>,
        org: OrgId,
        owner: Actor,
    }

    /// An organization with a member (bob), a pending invitation that will
    /// have expired (carol, a "pro" seat), a pending one that has not
    /// (dave), a seat limit on "pro" with seats reserved for pending
    /// invitations, and the allowed domains `domains`.
    fn world(pro_seats: u32, domains: bool, guests: bool) -> World {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let clock = Arc::new(ManualClock::new(t0));
        let engine = Enlist::in_memory()
            .with_clock(clock.clone())
            .with_secrets(Arc::new(SeededSecrets::new(7)));
        let mut policy = Policy::default();
        policy.seat_limits.insert("pro".into(), pro_seats);
        policy.reserve_seats_for_pending = true;
        policy.guests_enabled = guests;
        policy.max_batch = 6;
        if domains {
            policy.allowed_domains = vec!["acme.test".into()];
        }
        let (org, owner) = ts::org(&engine, "acct-1", "ada@acme.test", policy);
        ts::join(
            &engine,
            &org,
            &owner,
            InviteRequest::new(Recipients::Paste("bob@acme.test".into())),
            ts::registration("acct-bob", ("Bob", "Smith")),
        );
        engine
            .invite(
                &org,
                &owner,
                InviteRequest::new(Recipients::Paste("carol@acme.test".into())).license_type("pro"),
            )
            .expect("carol");
        // Carol's invitation expires; Dave's is sent later and stays open.
        clock.advance(chrono::Duration::days(30));
        engine
            .invite(
                &org,
                &owner,
                InviteRequest::new(Recipients::Paste("dave@acme.test".into())).license_type("pro"),
            )
            .expect("dave");
        World {
            engine,
            clock,
            org,
            owner,
        }
    }

    const POOL: &[&str] = &[
        "bob@acme.test",
        "carol@acme.test",
        "dave@acme.test",
        "erin@acme.test",
        "Frank <frank@acme.test>",
        "gina@other.test",
        "not an address",
        "ERIN@acme.test",
        "",
        "hal@acme.test",
    ];

    fn row() -> impl Strategy<Value = RecipientInput> {
        (
            0..POOL.len(),
            prop_oneof![Just(None), Just(Some("pro".to_owned()))],
            prop_oneof![Just(None), Just(Some(MemberKind::Guest))],
            prop_oneof![
                Just(None),
                Just(Some("admin".to_owned())),
                Just(Some("nope".to_owned()))
            ],
        )
            .prop_map(|(i, license_type, kind, role)| RecipientInput {
                email: Some(POOL[i].to_owned()),
                license_type,
                kind,
                role,
                ..RecipientInput::default()
            })
    }

    fn request() -> impl Strategy<Value = InviteRequest> {
        prop_oneof![
            proptest::collection::vec(row(), 0..9)
                .prop_map(|rows| InviteRequest::new(Recipients::List(rows))),
            proptest::collection::vec(0..POOL.len(), 0..9).prop_map(|ix| {
                let text = ix.iter().map(|i| POOL[*i]).collect::<Vec<_>>().join(", ");
                InviteRequest::new(Recipients::Paste(text)).license_type("pro")
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn a_dry_run_reports_what_invite_does_and_changes_nothing(
            req in request(),
            pro_seats in 0u32..4,
            domains in any::<bool>(),
            guests in any::<bool>(),
            staged in any::<bool>(),
        ) {
            let w = world(pro_seats, domains, guests);
            let mut req = req;
            if staged {
                req = req.staged();
            }
            let before = state(&w.engine, &w.org);
            let dry = w.engine.dry_run_invite(&w.org, &w.owner, &req);
            prop_assert_eq!(&before, &state(&w.engine, &w.org), "the dry run wrote something");
            let real = w.engine.invite(&w.org, &w.owner, req);
            match (dry, real) {
                (Ok(d), Ok(r)) => prop_assert_eq!(without_inputs(d), as_dry_run(&r)),
                (Err(d), Err(r)) => prop_assert_eq!(d.to_string(), r.to_string()),
                (d, r) => prop_assert!(false, "dry run {d:?} but invite {r:?}"),
            }
            let _ = &w.clock;
        }
    }

    #[test]
    fn a_dry_run_needs_the_right_to_invite_and_makes_no_secret() {
        let w = world(5, false, true);
        let req = InviteRequest::new(Recipients::Paste("zoe@acme.test".into()));
        let err = w
            .engine
            .dry_run_invite(&w.org, &Actor::Anonymous, &req)
            .expect_err("anonymous");
        assert_eq!(err.code(), "permission_denied");
        let d = w
            .engine
            .dry_run_invite(&w.org, &w.owner, &req)
            .expect("dry run");
        assert_eq!(d.would_issue.len(), 1);
        // Nothing in the report is a secret: no token, no code, no link.
        let json = serde_json::to_string(&d).expect("json");
        assert!(
            !json.contains("secret") && !json.contains("token"),
            "{json}"
        );
    }

    #[test]
    fn an_oversized_dry_run_is_refused_before_it_is_parsed() {
        let w = world(5, false, true);
        let text = "a@acme.test,".repeat(100_000);
        let err = w
            .engine
            .dry_run_invite(
                &w.org,
                &w.owner,
                &InviteRequest::new(Recipients::Paste(text)),
            )
            .expect_err("too big");
        assert_eq!(err.code(), "limit_exceeded");
    }

    #[test]
    fn attributes_ride_the_invitation_into_the_member_and_bad_ones_change_nothing() {
        let w = world(5, false, true);
        let mut attrs = crate::member::Attributes::new();
        attrs.insert("Department".into(), "Sales".into());
        let row = RecipientInput {
            email: Some("zoe@acme.test".into()),
            attributes: attrs,
            ..RecipientInput::default()
        };
        let mut batch = crate::member::Attributes::new();
        batch.insert("job_title".into(), "Rep".into());
        let req = InviteRequest::new(Recipients::List(vec![row])).attributes(batch);
        let dry = w
            .engine
            .dry_run_invite(&w.org, &w.owner, &req)
            .expect("dry");
        assert_eq!(dry.would_issue[0].attributes.len(), 2);
        let m = ts::join(
            &w.engine,
            &w.org,
            &w.owner,
            req,
            ts::registration("acct-zoe", ("Zoe", "Z")),
        );
        assert_eq!(
            m.attributes.get("department").map(String::as_str),
            Some("Sales")
        );
        assert_eq!(
            m.attributes.get("job_title").map(String::as_str),
            Some("Rep")
        );
        // A value with a line break: a clear error, nothing stored.
        let mut bad = crate::member::Attributes::new();
        bad.insert("department".into(), "Sales\r\nBcc: x@evil.test".into());
        let before = state(&w.engine, &w.org);
        let err = w
            .engine
            .invite(
                &w.org,
                &w.owner,
                InviteRequest::new(Recipients::Paste("yan@acme.test".into())).attributes(bad),
            )
            .expect_err("refused");
        assert_eq!(err.code(), "invalid_input");
        assert_eq!(before, state(&w.engine, &w.org));
    }

    #[test]
    fn an_import_dry_run_reports_by_line_what_the_import_does() {
        let w = world(5, false, true);
        let mut rows = String::from(
            "Email,Department\nbob@acme.test,Ops\nerin@acme.test,Ops\nbad address,\nERIN@acme.test,\n",
        );
        for i in 0..6 {
            rows.push_str(&format!("p{i}@acme.test,\n"));
        }
        rows.push_str("p0@acme.test,\n");
        let dry = w
            .engine
            .dry_run_import(
                &w.org,
                &w.owner,
                rows.as_bytes(),
                ImportFormat::Csv,
                ImportDefaults::default(),
            )
            .expect("dry run");
        let before = state(&w.engine, &w.org);
        assert_eq!(dry.batches.len(), 2);
        let real = w
            .engine
            .import_invitations(
                &w.org,
                &w.owner,
                rows.as_bytes(),
                ImportFormat::Csv,
                ImportDefaults::default(),
            )
            .expect("import");
        assert_ne!(before, state(&w.engine, &w.org));
        assert_eq!(dry.would_issue_count(), real.issued_count());
        let lines = |v: Vec<(usize, String)>| v;
        let dry_rejected = lines(
            dry.rejected
                .iter()
                .map(|r| (r.line, r.message.clone()))
                .collect(),
        );
        let real_rejected = lines(
            real.rejected()
                .map(|r| (r.line, r.message.clone()))
                .collect(),
        );
        assert_eq!(dry_rejected, real_rejected);
        assert!(
            dry_rejected
                .iter()
                .any(|(l, m)| *l == 12 && m == "duplicate of line 6"),
            "{dry_rejected:?}"
        );
    }
}

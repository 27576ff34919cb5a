//! Faults inside a command: a store write (or the commit) that fails in
//! the middle of an engine command leaves nothing of the command behind.
//!
//! [`FaultyStore`] wraps the store under test and makes the n-th write of
//! a transaction fail; every engine command is then run with the fault at
//! each of its writes in turn, and the store's whole state is compared
//! with the state before.

use super::harness::{Env, MakeStore, SEED, as_member, code, registration, token_of};
use super::snapshot::snapshot;
use crate::{
    ActivatedLink, ForwardingTx, GroupGrant, InviteRequest, LinkSpec, MessageId, NewGroup, OrgId,
    Policy, RecipientInput, Recipients, Store, StoreError, StoreResult, Transaction, TxCall,
    TxHooks,
};
use chrono::Duration;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A store whose transactions fail their `fail_at`-th write (the commit
/// counts as a write); 0 means never.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    fail_at: AtomicUsize,
}

impl FaultyStore {
    /// Wraps `inner`, with no fault armed.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            fail_at: AtomicUsize::new(0),
        }
    }

    /// Makes the `n`-th write of every following transaction fail (0: none).
    pub fn arm(&self, n: usize) {
        self.fail_at.store(n, Ordering::SeqCst);
    }
}

impl Store for FaultyStore {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        Ok(Box::new(ForwardingTx::new(
            self.inner.begin()?,
            Fault {
                fail_at: self.fail_at.load(Ordering::SeqCst),
                writes: 0,
            },
        )))
    }
}

/// The fault of one transaction: counts its writes (the commit included)
/// and fails the `fail_at`-th.
struct Fault {
    fail_at: usize,
    writes: usize,
}

impl TxHooks for Fault {
    fn before(&mut self, call: TxCall) -> StoreResult<()> {
        if !call.write {
            return Ok(());
        }
        self.writes += 1;
        if self.writes == self.fail_at {
            // Refused, the write never reaches the inner transaction; a
            // refused commit drops it: rolled back.
            Err(StoreError::Unavailable(format!(
                "fault injected at write {}",
                self.writes
            )))
        } else {
            Ok(())
        }
    }
}

/// Runs `command` with a fault at some of its writes: the first ones, one
/// in the middle, the last write and the commit (`writes` is how many
/// writes, commit included, the command makes). Each such run must fail
/// with a storage error and leave the store exactly as it was. Then, with
/// the fault one write past the commit, the command must succeed (so
/// `writes` is exact and the faults above hit every kind of write point)
/// and change the store. Returns that result.
fn at_every_write<T>(
    faulty: &FaultyStore,
    store: &dyn Store,
    orgs: &[OrgId],
    msgs: &[MessageId],
    what: &str,
    writes: usize,
    mut command: impl FnMut() -> crate::Result<T>,
) -> T {
    let before = snapshot(store, orgs, msgs);
    let mut points: Vec<usize> = (1..=writes.min(4)).collect();
    points.extend([writes / 2, writes.saturating_sub(1), writes]);
    points.retain(|n| *n >= 1);
    points.sort_unstable();
    points.dedup();
    for n in points {
        faulty.arm(n);
        let r = command();
        faulty.arm(0);
        match r {
            Err(e) => {
                assert_eq!(e.code(), "storage", "{what}, fault at write {n}: {e}");
                assert_eq!(
                    snapshot(store, orgs, msgs),
                    before,
                    "{what}: a fault at write {n} of {writes} left changes behind"
                );
            }
            Ok(_) => panic!(
                "{what} succeeded with a fault armed at write {n}: it wrote less than the {writes} writes expected"
            ),
        }
    }
    faulty.arm(writes + 1);
    let r = command();
    faulty.arm(0);
    let v = r.unwrap_or_else(|e| {
        panic!("{what} failed with the fault past its {writes} writes: {e} (more writes than expected?)")
    });
    assert_ne!(
        snapshot(store, orgs, msgs),
        before,
        "{what} succeeded without changing anything"
    );
    v
}

/// A fault at any write of a command, or at its commit, leaves nothing of
/// the command: invite (a batch of 11), accept, resend, revoke, join by
/// link, delete a group, remove a member, expire, deliver.
pub fn a_failed_command_changes_nothing(make: MakeStore<'_>) {
    let inner = make();
    let faulty = Arc::new(FaultyStore::new(inner.clone()));
    let mut env = Env::new(faulty.clone(), SEED);
    let (org, owner) = env.org_with_policy({
        let mut p = Policy::default();
        p.invite_link_enabled = true;
        p
    });
    let id = org.id.clone();
    let me = as_member(&owner);
    let g = env
        .engine
        .create_group(
            &id,
            &me,
            NewGroup {
                name: "G".into(),
                ..NewGroup::default()
            },
        )
        .expect("group");
    let ActivatedLink { url, .. } = env
        .engine
        .activate_invite_link(
            &id,
            &me,
            LinkSpec {
                groups: vec![GroupGrant::member(g.id.clone())],
                ..LinkSpec::default()
            },
        )
        .expect("link");
    let orgs = [id.clone()];
    let mut msgs: Vec<MessageId> = Vec::new();

    // Invite: 11 recipients, each an invitation, a message and an event.
    let mut rows: Vec<RecipientInput> = (0..10)
        .map(|i| RecipientInput {
            email: Some(format!("p{i}@acme.test")),
            groups: Some(vec![GroupGrant::member(g.id.clone())]),
            ..RecipientInput::default()
        })
        .collect();
    rows.push(RecipientInput::identifier("EMP-1"));
    let report = at_every_write(&faulty, &*inner, &orgs, &msgs, "invite", 34, || {
        env.engine.invite(
            &id,
            &me,
            InviteRequest::new(Recipients::List(rows.clone())).message("hi"),
        )
    });
    assert_eq!(report.issued.len(), 11);
    msgs.extend(report.issued.iter().filter_map(|i| i.message_id.clone()));
    let tok = |i: usize| token_of(&report.issued[i]);

    let acc = at_every_write(&faulty, &*inner, &orgs, &msgs, "accept", 5, || {
        env.engine.accept(&tok(0), registration("acct-0"))
    });
    let acc2 = env
        .engine
        .accept(&tok(1), registration("acct-1"))
        .expect("accept p1");
    env.advance(Duration::minutes(11));
    let resent = at_every_write(&faulty, &*inner, &orgs, &msgs, "resend", 5, || {
        env.engine.resend(&id, &me, &report.issued[2].invitation.id)
    });
    msgs.extend(resent.message_id.clone());
    at_every_write(&faulty, &*inner, &orgs, &msgs, "revoke", 4, || {
        env.engine.revoke(&id, &me, &report.issued[3].invitation.id)
    });
    at_every_write(&faulty, &*inner, &orgs, &msgs, "decline", 4, || {
        env.engine.decline(&tok(4))
    });
    let joined = at_every_write(&faulty, &*inner, &orgs, &msgs, "join_by_link", 7, || {
        env.engine.join_by_link(
            url.expose(),
            "p5@acme.test",
            crate::Registration {
                // The host vouches for the address: it has an open
                // invitation, which an unverified claim may not close.
                verified_email: Some("p5@acme.test".into()),
                ..registration("acct-5")
            },
        )
    });
    assert_eq!(joined.contact_key, "p5@acme.test");
    let detached = at_every_write(&faulty, &*inner, &orgs, &msgs, "delete_group", 7, || {
        env.engine.delete_group(&id, &me, &g.id)
    });
    assert_eq!(detached, 3);
    at_every_write(&faulty, &*inner, &orgs, &msgs, "remove_member", 3, || {
        env.engine.remove_member(&id, &me, &acc2.member.id)
    });
    at_every_write(&faulty, &*inner, &orgs, &msgs, "update_member", 3, || {
        env.engine.update_member(
            &id,
            &me,
            &acc.member.id,
            crate::MemberUpdate {
                role: Some("admin".into()),
                license_type: Some("pro".into()),
                ..crate::MemberUpdate::default()
            },
        )
    });
    at_every_write(
        &faulty,
        &*inner,
        &orgs,
        &msgs,
        "set_email_template",
        3,
        || {
            env.engine.set_email_template(
                &id,
                &me,
                crate::NewEmailTemplate::new("fr", "Invitation", "Lien : {{ accept_url }}"),
            )
        },
    );
    at_every_write(
        &faulty,
        &*inner,
        &orgs,
        &msgs,
        "set_email_settings",
        3,
        || {
            env.engine
                .set_email_settings(&id, &me, "fr-CA", Some("Bienvenue"))
        },
    );
    at_every_write(
        &faulty,
        &*inner,
        &orgs,
        &msgs,
        "delete_email_template",
        3,
        || env.engine.delete_email_template(&id, &me, "fr"),
    );
    // One claim (`claim_outbox`, which writes the three messages) and
    // the commit.
    let claimed = at_every_write(&faulty, &*inner, &orgs, &msgs, "claim_due", 2, || {
        env.engine.claim_due(Some(&id), 3)
    });
    assert_eq!(claimed.len(), 3);
    at_every_write(&faulty, &*inner, &orgs, &msgs, "mark_sent", 3, || {
        env.engine.mark_sent(&claimed[0].id)
    });
    at_every_write(&faulty, &*inner, &orgs, &msgs, "mark_failed", 3, || {
        env.engine.mark_failed(&claimed[1].id, "421", false)
    });
    env.advance(Duration::days(8));
    // Each expired invitation: its write, one `supersede_queued_messages`
    // (whether or not an email is still queued) and its event.
    let n = at_every_write(&faulty, &*inner, &orgs, &msgs, "expire_due", 19, || {
        env.engine.expire_due(env.now())
    });
    assert_eq!(n, 6, "p6..p9, EMP-1 and the resent p2");
    // Issue 14, orgs: a slug changed, a member leaving, an organization
    // deleted (two open invitations revoked, their emails superseded) and
    // one purged.
    at_every_write(
        &faulty,
        &*inner,
        &orgs,
        &msgs,
        "set_organization_slug",
        3,
        || env.engine.set_organization_slug(&id, &me, "acme-faults"),
    );
    at_every_write(
        &faulty,
        &*inner,
        &orgs,
        &msgs,
        "leave_organization",
        3,
        || {
            env.engine
                .leave_organization(&id, &crate::Actor::Member(acc.member.id.clone()))
        },
    );
    let doomed = env
        .engine
        .create_organization(crate::NewOrganization::new(
            "Doomed",
            "acct-d",
            "d@doomed.test",
        ))
        .expect("doomed");
    let doomed_me = as_member(&doomed.owner);
    let issued = env
        .engine
        .invite(
            &doomed.organization.id,
            &doomed_me,
            InviteRequest::new(Recipients::Paste("a@doomed.test, b@doomed.test".into())),
        )
        .expect("invite two")
        .issued;
    let doomed_msgs: Vec<MessageId> = issued.iter().filter_map(|i| i.message_id.clone()).collect();
    assert_eq!(doomed_msgs.len(), 2);
    let doomed_orgs = [doomed.organization.id.clone()];
    at_every_write(
        &faulty,
        &*inner,
        &doomed_orgs,
        &doomed_msgs,
        "delete_organization (keep)",
        7,
        || {
            env.engine.delete_organization(
                &doomed.organization.id,
                &doomed_me,
                "doomed",
                crate::DeleteMode::Keep,
            )
        },
    );
    let purged = env
        .engine
        .create_organization(crate::NewOrganization::new(
            "Purged",
            "acct-p",
            "p@purged.test",
        ))
        .expect("purged");
    at_every_write(
        &faulty,
        &*inner,
        std::slice::from_ref(&purged.organization.id),
        &[],
        "delete_organization (purge)",
        2,
        || {
            env.engine.delete_organization(
                &purged.organization.id,
                &as_member(&purged.owner),
                "purged",
                crate::DeleteMode::Purge,
            )
        },
    );
    // Everything still adds up.
    let trail = super::engine_ops::check_trail(&mut env, &id);
    assert!(!trail.is_empty());
    assert_eq!(
        code(&env.engine.accept(&tok(9), registration("acct-9"))),
        "invitation_expired"
    );
}

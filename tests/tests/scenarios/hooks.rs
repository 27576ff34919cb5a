//! Issue 14, hooks: an application that follows better-auth's
//! `organizationHooks` ("run custom logic before and after organization
//! operations") and sends webhooks from the event feed, on a SQLite file as
//! it would in production.

use enlist::*;
use enlist_sqlite::SqliteStore;
use std::sync::{Arc, Mutex};

/// The host's rules: nobody from rival.test; removals go through HR. After
/// each commit it queues a webhook.
#[derive(Default)]
struct HostRules {
    webhooks: Mutex<Vec<(String, u64, String)>>,
}

impl Hooks for HostRules {
    fn before(&self, change: &HookChange) -> std::result::Result<(), HookError> {
        match &change.kind {
            EventKind::InvitationIssued { recipient, .. } if recipient.ends_with("@rival.test") => {
                Err(HookError::new("we do not invite people from rival.test"))
            }
            EventKind::MemberRemoved { .. } => Err(HookError::new("removals go through HR")),
            _ => Ok(()),
        }
    }

    fn after(&self, change: &HookChange) -> std::result::Result<(), HookError> {
        self.webhooks.lock().expect("lock").push((
            change.org_id.as_str().to_owned(),
            change.seq,
            event_kind_name(&change.kind),
        ));
        Ok(())
    }
}

fn sqlite_engine(dir: &tempfile::TempDir) -> Enlist {
    let store = SqliteStore::open(dir.path().join("enlist.sqlite3")).expect("open");
    Enlist::new(Arc::new(store))
}

/// "beforeCreateInvitation: throw to stop the invitation": on a batch,
/// only that recipient is rejected; "afterAcceptInvitation": the member is
/// there when the hook runs; "beforeRemoveMember": the removal is refused
/// and nothing changes.
#[test]
fn better_auth_style_hooks_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    let rules = Arc::new(HostRules::default());
    let engine = sqlite_engine(&dir).with_hooks(rules.clone());
    let created = engine
        .create_organization(NewOrganization::new("Acme", "acct-ada", "ada@acme.test"))
        .expect("org");
    let (org, owner) = (
        created.organization.id.clone(),
        Actor::Member(created.owner.id.clone()),
    );
    let report = engine
        .invite(
            &org,
            &owner,
            InviteRequest::new(Recipients::Paste("bob@acme.test, eve@rival.test".into())),
        )
        .expect("invite");
    assert_eq!(report.issued.len(), 1);
    assert_eq!(
        report.rejected[0].reason,
        RejectReason::RefusedByHook {
            reason: "we do not invite people from rival.test".into()
        }
    );
    let token = report.issued[0].secret.clone().expect("token");
    let bob = engine
        .accept(
            token.expose(),
            Registration {
                user_ref: "acct-bob".into(),
                first_name: Some("Bob".into()),
                last_name: Some("B".into()),
                ..Registration::default()
            },
        )
        .expect("accept")
        .member;
    let before_removal = engine
        .events(&org, &Actor::System, 0, 1000)
        .expect("events")
        .len();
    let err = engine
        .remove_member(&org, &owner, &bob.id)
        .expect_err("refused");
    assert!(matches!(&err, Error::HookRefused { reason } if reason == "removals go through HR"));
    assert_eq!(
        engine.member(&org, &owner, &bob.id).expect("bob").status,
        MemberStatus::Active
    );
    assert_eq!(
        engine
            .events(&org, &Actor::System, 0, 1000)
            .expect("events")
            .len(),
        before_removal,
        "a refused change records nothing"
    );
    // One webhook per committed change, numbered like the audit trail.
    let webhooks = rules.webhooks.lock().expect("lock").clone();
    let kinds: Vec<&str> = webhooks.iter().map(|w| w.2.as_str()).collect();
    assert!(
        kinds.ends_with(&["invitation_issued", "invitation_accepted"]),
        "{kinds:?}"
    );
    let trail = engine
        .events(&org, &Actor::System, 0, 1000)
        .expect("events");
    assert_eq!(
        webhooks.iter().map(|w| w.1).collect::<Vec<_>>(),
        trail.iter().map(|e| e.seq).collect::<Vec<_>>()
    );
}

/// The webhook sender: reads the feed after its stored cursor, delivers,
/// stores the cursor; a restart from the stored cursor delivers nothing
/// twice and misses nothing, across organizations, and a kinds filter
/// keeps only what the receiver subscribed to.
#[test]
fn the_webhook_sender_resumes_from_its_cursor() {
    let dir = tempfile::tempdir().expect("dir");
    let engine = sqlite_engine(&dir);
    let a = engine
        .create_organization(NewOrganization::new("Acme", "acct-ada", "ada@acme.test"))
        .expect("org");
    let mut delivered: Vec<(OrgId, u64)> = Vec::new();
    let mut cursor: Option<String> = None;
    fn drain(engine: &Enlist, cursor: &mut Option<String>, delivered: &mut Vec<(OrgId, u64)>) {
        loop {
            let page = engine.event_feed(cursor.as_deref(), &[], 2).expect("feed");
            if page.events.is_empty() {
                break;
            }
            for e in &page.events {
                delivered.push((e.event.org_id.clone(), e.event.seq));
            }
            *cursor = page.next;
        }
    }
    drain(&engine, &mut cursor, &mut delivered);
    let first = delivered.len();
    assert!(first >= 1);
    // The process restarts (a new engine on the same file), more happens.
    drop(engine);
    let engine = sqlite_engine(&dir);
    let b = engine
        .create_organization(NewOrganization::new("Beta", "acct-bo", "bo@beta.test"))
        .expect("org");
    engine
        .invite(
            &a.organization.id,
            &Actor::Member(a.owner.id.clone()),
            InviteRequest::new(Recipients::Paste("cy@acme.test".into())),
        )
        .expect("invite");
    drain(&engine, &mut cursor, &mut delivered);
    let mut unique = delivered.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), delivered.len(), "nothing delivered twice");
    let trail_a = engine
        .events(&a.organization.id, &Actor::System, 0, 1000)
        .expect("a");
    let trail_b = engine
        .events(&b.organization.id, &Actor::System, 0, 1000)
        .expect("b");
    assert_eq!(
        delivered.len(),
        trail_a.len() + trail_b.len(),
        "nothing missed"
    );
    // Subscribed to invitations only.
    let invitations = engine
        .event_feed(None, &["invitation_issued".into()], 100)
        .expect("feed");
    assert_eq!(invitations.events.len(), 1);
    assert_eq!(invitations.events[0].event.org_id, a.organization.id);
}

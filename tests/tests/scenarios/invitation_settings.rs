//! Issue 14, per-invitation settings: what users of Clerk, Auth0 and
//! WorkOS look for on one invitation (its own expiry, a redirect URL, public
//! and private metadata, the language of its email) and better-auth's
//! limit of open invitations per inviter. Each test reads like the book's
//! page (`docs/src/invitation-settings.md`).

use super::common::*;
use chrono::Duration;
use enlist::{
    Actor, Clock, EngineConfig, Enlist, ErrorCode, EventKind, ImportDefaults, ImportFormat,
    InvitationStatus, InviteRequest, LimitKind, ManualClock, MemberUpdate, MemoryStore, Metadata,
    NewEmailTemplate, NewOrganization, Policy, RecipientInput, Recipients, RecordingMailer,
    RejectReason, SeededSecrets, StagedInvitationUpdate,
};
use std::sync::Arc;

const DAY: u64 = 86_400;

fn bounded() -> Policy {
    let mut p = Policy::default();
    p.min_invitation_lifetime_secs = 3600;
    p.invitation_lifetime_secs = 7 * DAY;
    p.max_invitation_lifetime_secs = 30 * DAY;
    p
}

fn paste(text: &str) -> InviteRequest {
    InviteRequest::new(Recipients::Paste(text.into()))
}

fn days(n: u64) -> Duration {
    Duration::seconds(i64::try_from(n * DAY).expect("small"))
}

/// "Expires in 2 days" [Clerk `expires_in_days`, Auth0 `ttl_sec`]: the
/// invitation lasts its own lifetime, and a resend renews it by the same,
/// not by the organization's default.
#[test]
fn an_invitation_lasts_its_own_lifetime_and_a_resend_renews_it_by_the_same() {
    let o = org_with_policy(bounded());
    let now = o.clock.now();
    let rep = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste("ann@acme.test").lifetime_secs(2 * DAY),
        )
        .expect("invite");
    let inv = &rep.issued[0].invitation;
    assert_eq!(inv.lifetime_secs, Some(2 * DAY));
    assert_eq!(inv.expires_at, Some(now + days(2)));
    let plain = o
        .engine
        .invite(o.id(), &o.owner_actor(), paste("bob@acme.test"))
        .expect("invite");
    assert_eq!(plain.issued[0].invitation.expires_at, Some(now + days(7)));

    o.advance(days(3));
    let resent = o
        .engine
        .resend(o.id(), &o.owner_actor(), &inv.id)
        .expect("resend the expired invitation");
    assert_eq!(
        resent.invitation.expires_at,
        Some(o.clock.now() + days(2)),
        "renewed by its own lifetime"
    );
}

/// Outside the policy's bounds: the batch fails with nothing written, a
/// row's own lifetime rejects that row only, and the dry run says the same.
#[test]
fn a_lifetime_outside_the_bounds_is_refused_and_changes_nothing() {
    let o = org_with_policy(bounded());
    let mark = o.events().len();
    for secs in [60, 31 * DAY, u64::MAX] {
        let err = o
            .engine
            .invite(
                o.id(),
                &o.owner_actor(),
                paste("ann@acme.test").lifetime_secs(secs),
            )
            .expect_err("outside the bounds");
        assert_eq!(err.code(), "invalid_input", "{secs}");
    }
    assert!(o.invitations(&[]).is_empty());
    assert_eq!(o.events().len(), mark, "nothing written");

    let rows = InviteRequest::new(Recipients::List(vec![
        RecipientInput {
            lifetime_secs: Some(DAY),
            ..RecipientInput::email("ok@acme.test")
        },
        RecipientInput {
            lifetime_secs: Some(60 * DAY),
            ..RecipientInput::email("long@acme.test")
        },
    ]));
    let dry = o
        .engine
        .dry_run_invite(o.id(), &o.owner_actor(), &rows)
        .expect("dry run");
    let rep = o
        .engine
        .invite(o.id(), &o.owner_actor(), rows)
        .expect("invite");
    let reason = RejectReason::LifetimeOutOfBounds {
        lifetime_secs: 60 * DAY,
        min_secs: 3600,
        max_secs: 30 * DAY,
    };
    assert_eq!(rep.rejected.len(), 1);
    assert_eq!(rep.rejected[0].reason, reason);
    assert_eq!(rep.rejected[0].reason.code(), "lifetime_out_of_bounds");
    assert_eq!(dry.rejected[0].reason, reason, "the dry run says the same");
    assert_eq!(dry.would_issue[0].lifetime_secs, Some(DAY));
    assert_eq!(rep.issued[0].invitation.lifetime_secs, Some(DAY));

    // The policy itself must keep min <= default <= max.
    let mut bad = bounded();
    bad.invitation_lifetime_secs = 31 * DAY;
    let err = o
        .engine
        .update_policy(o.id(), &o.owner_actor(), bad)
        .expect_err("default above the maximum");
    assert_eq!(err.code(), "invalid_input");
}

/// "Save User", then change its expiry and language before sending.
#[test]
fn the_staged_edit_sets_the_lifetime_and_the_locale() {
    let o = org_with_policy(bounded());
    let staged = o
        .engine
        .invite(o.id(), &o.owner_actor(), paste("ann@acme.test").staged())
        .expect("stage")
        .issued[0]
        .invitation
        .id
        .clone();
    let err = o
        .engine
        .update_staged_invitation(
            o.id(),
            &o.owner_actor(),
            &staged,
            StagedInvitationUpdate::new().lifetime_secs(90 * DAY),
        )
        .expect_err("outside the bounds");
    assert_eq!(err.code(), "invalid_input");
    let edited = o
        .engine
        .update_staged_invitation(
            o.id(),
            &o.owner_actor(),
            &staged,
            StagedInvitationUpdate::new()
                .lifetime_secs(DAY)
                .locale("de_at"),
        )
        .expect("edit");
    assert_eq!(edited.locale.as_deref(), Some("de-AT"));
    let sent = o
        .engine
        .send_staged(o.id(), &o.owner_actor(), &[staged])
        .expect("send");
    let enlist::SendOutcome::Sent { issued } = &sent.results[0] else {
        panic!("not sent: {:?}", sent.results[0]);
    };
    assert_eq!(issued.invitation.expires_at, Some(o.clock.now() + days(1)));
}

/// WorkOS's locale: a German invitation renders the German template (an
/// Austrian tag falls back to `de`), is shown as such in the preview, and a
/// row's own locale wins over the batch's.
#[test]
fn a_german_invitation_renders_the_german_template() {
    let o = org_with_owner();
    o.engine
        .set_email_template(
            o.id(),
            &o.owner_actor(),
            NewEmailTemplate::new(
                "de",
                "Einladung zu {{ organization }}",
                "Hallo {{ recipient_name }}, hier klicken: {{ accept_url }}",
            ),
        )
        .expect("German template");
    let rep = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::List(vec![
                RecipientInput::email("ann@acme.test"),
                RecipientInput {
                    locale: Some("en".into()),
                    ..RecipientInput::email("bob@acme.test")
                },
                RecipientInput {
                    locale: Some("not a tag!".into()),
                    ..RecipientInput::email("eve@acme.test")
                },
            ]))
            .locale("de-AT"),
        )
        .expect("invite");
    assert_eq!(rep.issued.len(), 2);
    assert_eq!(rep.rejected[0].reason.code(), "invalid_field");
    let mailer = RecordingMailer::new();
    o.engine.deliver_pending(&mailer, 10).expect("deliver");
    let sent = mailer.sent();
    let to_ann = sent.iter().find(|m| m.to == "ann@acme.test").expect("ann");
    assert_eq!(to_ann.subject, "Einladung zu Acme");
    assert!(to_ann.text_body.starts_with("Hallo"));
    let to_bob = sent.iter().find(|m| m.to == "bob@acme.test").expect("bob");
    assert!(!to_bob.subject.contains("Einladung"), "{}", to_bob.subject);
    let preview = o
        .engine
        .preview(&token_of(&rep.issued[0]))
        .expect("preview");
    assert_eq!(preview.locale.as_deref(), Some("de-AT"));
}

/// An import file's `locale` and `expires in days` columns set each row's.
#[test]
fn an_import_file_sets_the_locale_and_the_expiry_of_each_row() {
    let o = org_with_policy(bounded());
    let csv = "email,locale,expires in days\nann@acme.test,fr-CA,3\nbob@acme.test,,\ncid@acme.test,de,400\n";
    let rep = o
        .engine
        .import_invitations(
            o.id(),
            &o.owner_actor(),
            csv.as_bytes(),
            ImportFormat::Csv,
            ImportDefaults::default(),
        )
        .expect("import");
    assert_eq!(rep.sheet_errors.len(), 1, "400 days is no lifetime");
    let issued: Vec<_> = rep.batches.iter().flat_map(|b| &b.issued).collect();
    let ann = issued
        .iter()
        .find(|i| i.invitation.recipient.as_str() == "ann@acme.test")
        .expect("ann");
    assert_eq!(ann.invitation.locale.as_deref(), Some("fr-CA"));
    assert_eq!(ann.invitation.lifetime_secs, Some(3 * DAY));
    let bob = issued
        .iter()
        .find(|i| i.invitation.recipient.as_str() == "bob@acme.test")
        .expect("bob");
    assert_eq!(bob.invitation.locale, None);
    assert_eq!(bob.invitation.expires_at, Some(o.clock.now() + days(7)));
}

fn engine_with_redirects() -> (Enlist, enlist::Organization, Actor) {
    let mut config = EngineConfig::default();
    config.allowed_redirect_urls = vec!["https://app.acme.example/welcome".into()];
    let engine = Enlist::new(Arc::new(MemoryStore::new()))
        .with_clock(Arc::new(ManualClock::at_epoch_seconds(START_EPOCH_SECS)))
        .with_secrets(Arc::new(SeededSecrets::new(7)))
        .try_with_config(config)
        .expect("config");
    let created = engine
        .create_organization(NewOrganization::new("Acme", OWNER_REF, OWNER_EMAIL))
        .expect("org");
    let owner = Actor::Member(created.owner.id.clone());
    (engine, created.organization, owner)
}

/// Clerk's `redirect_url`: from the host's allowlist only; shown in the
/// preview and the acceptance; anything else refused with nothing written.
#[test]
fn a_redirect_url_comes_from_the_hosts_allowlist() {
    let (engine, org, owner) = engine_with_redirects();
    for bad in [
        "https://evil.example/welcome",
        "https://app.acme.example/welcome/../admin",
        "https://app.acme.example@evil.example/welcome",
        "//evil.example/welcome",
    ] {
        let err = engine
            .invite(&org.id, &owner, paste("ann@acme.test").redirect_url(bad))
            .expect_err(bad);
        assert_eq!(err.code(), "invalid_input", "{bad}");
    }
    let rep = engine
        .invite(
            &org.id,
            &owner,
            paste("ann@acme.test").redirect_url("https://app.acme.example/welcome/team?t=1"),
        )
        .expect("invite");
    assert_eq!(rep.issued.len(), 1, "the refused attempts wrote nothing");
    let token = token_of(&rep.issued[0]);
    let preview = engine.preview(&token).expect("preview");
    assert_eq!(
        preview.redirect_url.as_deref(),
        Some("https://app.acme.example/welcome/team?t=1")
    );
    let accepted = engine
        .accept(&token, registration("acct-ann"))
        .expect("accept");
    assert_eq!(
        accepted.invitation.redirect_url.as_deref(),
        Some("https://app.acme.example/welcome/team?t=1")
    );
    // Without an allowlist, no invitation carries one.
    let o = org_with_owner();
    let err = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste("bob@acme.test").redirect_url("https://app.acme.example/welcome"),
        )
        .expect_err("no allowlist");
    assert_eq!(err.code(), "invalid_input");
}

/// Clerk's public and private metadata: the public one reaches the
/// invitee's preview, the private one never reaches the invitee (preview,
/// acceptance, decline) but both land on the member, for those who may
/// view members; only an administrator edits them.
#[test]
fn metadata_carries_over_and_the_private_part_stays_with_the_organization() {
    let o = org_with_owner();
    let public = Metadata::from_json(r#"{"team": "blue", "seats": [1, 2]}"#).expect("json");
    let private = Metadata::from_json(r#"{"crm_id": "A-17"}"#).expect("json");
    let rep = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            paste("ann@acme.test, dan@acme.test")
                .public_metadata(public.clone())
                .private_metadata(private.clone()),
        )
        .expect("invite");
    assert_eq!(
        rep.issued[0].invitation.private_metadata, private,
        "the admin sees it"
    );
    let token = token_of(&rep.issued[0]);
    let preview = o.engine.preview(&token).expect("preview");
    assert_eq!(preview.public_metadata, public);
    let shown = serde_json::to_string(&preview).expect("json");
    assert!(!shown.contains("A-17"), "{shown}");
    let accepted = o
        .engine
        .accept(&token, registration("acct-ann"))
        .expect("accept");
    let shown = serde_json::to_string(&accepted).expect("json");
    assert!(
        !shown.contains("A-17"),
        "the acceptance leaves it out: {shown}"
    );
    assert_eq!(accepted.member.public_metadata, public);
    let declined = o
        .engine
        .decline(&token_of(&rep.issued[1]))
        .expect("decline");
    assert!(declined.private_metadata.is_empty());

    let member = o
        .engine
        .member(o.id(), &o.owner_actor(), &accepted.member.id)
        .expect("member");
    assert_eq!(member.private_metadata, private);
    assert_eq!(member.public_metadata, public);

    // The member may edit their own names, not their metadata.
    let err = o
        .engine
        .update_member(
            o.id(),
            &as_member(&member),
            &member.id,
            MemberUpdate {
                public_metadata: Some(Metadata::from_json(r#"{"team": "gold"}"#).expect("json")),
                ..MemberUpdate::default()
            },
        )
        .expect_err("not theirs to edit");
    assert_eq!(err.code(), "permission_denied");
    let edited = o
        .engine
        .update_member(
            o.id(),
            &o.owner_actor(),
            &member.id,
            MemberUpdate {
                private_metadata: Some(Metadata::new()),
                ..MemberUpdate::default()
            },
        )
        .expect("the owner clears it");
    assert!(edited.private_metadata.is_empty());
    assert!(o.events().iter().any(|e| matches!(
        &e.kind,
        EventKind::MemberUpdated { fields, .. } if fields == &["private_metadata".to_owned()]
    )));

    // Bounded: 4 KiB of JSON, objects only.
    let big = format!("{{\"a\": \"{}\"}}", "x".repeat(5000));
    assert_eq!(
        Metadata::from_json(&big).map_err(|e| e.code()),
        Err("limit_exceeded")
    );
    assert!(Metadata::from_json("[1]").is_err());
}

/// better-auth's `invitationLimit`: a member has at most N open
/// invitations; the one over is rejected with its own reason (the dry run
/// says the same); a revoked or expired one frees its place; reopening an
/// expired one counts again.
#[test]
fn an_inviter_has_at_most_the_policys_open_invitations() {
    let mut p = Policy::default();
    p.max_open_invitations_per_inviter = Some(2);
    let o = org_with_policy(p);
    let req = || paste("a@acme.test, b@acme.test, c@acme.test");
    let dry = o
        .engine
        .dry_run_invite(o.id(), &o.owner_actor(), &req())
        .expect("dry run");
    let rep = o
        .engine
        .invite(o.id(), &o.owner_actor(), req())
        .expect("invite");
    assert_eq!(rep.issued.len(), 2);
    assert_eq!(
        rep.rejected[0].reason,
        RejectReason::InviterLimitReached { limit: 2 }
    );
    assert_eq!(rep.rejected[0].input, "c@acme.test");
    assert_eq!(dry.rejected, rep.rejected, "the dry run says the same");
    // The system is nobody's inviter: not counted.
    let sys = o
        .engine
        .invite(o.id(), &Actor::System, paste("sys@acme.test"))
        .expect("system");
    assert_eq!(sys.issued.len(), 1);
    // A revoked invitation frees its place.
    o.engine
        .revoke(o.id(), &o.owner_actor(), &rep.issued[0].invitation.id)
        .expect("revoke");
    let again = o
        .engine
        .invite(o.id(), &o.owner_actor(), paste("c@acme.test"))
        .expect("invite");
    assert_eq!(again.issued.len(), 1);
    // Expired ones free theirs too; reopening one counts again.
    o.advance(days(8));
    let fresh = o
        .engine
        .invite(o.id(), &o.owner_actor(), paste("d@acme.test, e@acme.test"))
        .expect("invite");
    assert_eq!(fresh.issued.len(), 2);
    let err = o
        .engine
        .resend(o.id(), &o.owner_actor(), &rep.issued[1].invitation.id)
        .expect_err("reopening would pass the limit");
    assert_eq!(err.code(), ErrorCode::LimitExceeded.as_str());
    assert!(matches!(
        err,
        enlist::Error::LimitExceeded {
            limit: LimitKind::OpenInvitationsPerInviter,
            max: 2,
            actual: 3,
            ..
        }
    ));
    assert_eq!(
        o.engine
            .invitation(o.id(), &o.owner_actor(), &rep.issued[1].invitation.id)
            .expect("read")
            .status,
        InvitationStatus::Expired,
        "nothing changed"
    );
}

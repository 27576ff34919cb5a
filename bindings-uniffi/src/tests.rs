//! Unit tests of the conversions and of the binding API as Rust sees it
//! (the Kotlin program in `tests/kotlin/` runs the same API on the JVM).

use super::*;
use crate::time::time_out;
use chrono::{DateTime, Duration, Utc};
use enlist::{
    Actor, Contact, EventKind, InvitationStatus, InviteRequest, MemberQuery, NewOrganization,
    OrgId, OutboxStatus, RecipientInput, Recipients, Registration, RejectReason,
};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A clock the test moves, implementing the foreign trait.
struct TestClock(Mutex<SystemTime>);

impl TestClock {
    fn at(t: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(Mutex::new(time_out(t))))
    }
    fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by.to_std().unwrap();
    }
    fn get(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        self.get()
    }
}

/// A mailer implementing the foreign trait: records, or fails on demand.
#[derive(Default)]
struct TestMailer {
    sent: Mutex<Vec<OutgoingEmail>>,
    fail_next: Mutex<Vec<MailError>>,
}

impl Mailer for TestMailer {
    fn send(&self, email: OutgoingEmail) -> Result<(), MailError> {
        let mut f = self.fail_next.lock().unwrap();
        if !f.is_empty() {
            return Err(f.remove(0));
        }
        self.sent.lock().unwrap().push(email);
        Ok(())
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_603_600, 0).unwrap() // 2026-01-05 09:00 UTC
}

fn new_org(engine: &Enlist, name: &str) -> (OrgId, Actor) {
    let created = engine
        .create_organization(
            NewOrganization::new(name, "acct-ada", "ada@acme.test")
                .with_owner_name("Ada", "Lovelace"),
        )
        .unwrap();
    let owner = Actor::Member(created.owner.id.clone());
    (created.organization.id, owner)
}

fn paste(text: &str) -> InviteRequest {
    InviteRequest::new(Recipients::Paste(text.into()))
}

fn reg(user: &str, first: &str, last: &str) -> Registration {
    Registration {
        user_ref: user.into(),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        phone: None,
        eula_version: None,
        two_factor_enrolled: false,
        verified_email: None,
    }
}

// -- Conversions -----------------------------------------------------------

#[test]
fn core_errors_map_to_their_family_with_code_message_and_facts() {
    let e: EnlistError = enlist::Error::LimitExceeded {
        limit: enlist::LimitKind::Seats,
        max: 3,
        actual: 4,
        detail: Some("pro".into()),
    }
    .into();
    match &e {
        EnlistError::LimitExceeded {
            code,
            message,
            facts,
        } => {
            assert_eq!(code, "limit_exceeded");
            assert_eq!(facts["limit"], "seats");
            assert_eq!(
                (facts["max"].as_str(), facts["actual"].as_str()),
                ("3", "4")
            );
            assert_eq!(facts["detail"], "pro");
            assert!(
                message.contains("seats") && message.contains("pro"),
                "{message}"
            );
            assert_eq!(e.to_string(), *message);
        }
        other => panic!("{other:?}"),
    }

    let e: EnlistError = enlist::Error::PermissionDenied {
        actor: "mem_1".into(),
        permission: enlist::Permission::InviteMembers,
        context: None,
    }
    .into();
    assert!(matches!(e, EnlistError::PermissionDenied { .. }), "{e:?}");
    assert_eq!(e.code(), "permission_denied");
    assert_eq!(e.facts()["permission"], "invite_members");
    assert!(
        !e.facts().contains_key("context"),
        "an absent fact has no entry"
    );

    let e: EnlistError = enlist::Error::NotAMember {
        actor: "member mem_9".into(),
        organization: "org_1".into(),
    }
    .into();
    assert!(matches!(e, EnlistError::PermissionDenied { .. }), "{e:?}");
    assert_eq!(e.code(), "not_a_member");
    assert_eq!(e.facts()["organization"], "org_1");

    let e: EnlistError = enlist::Error::Disabled {
        feature: enlist::Feature::InviteLink,
    }
    .into();
    assert!(matches!(e, EnlistError::PermissionDenied { .. }), "{e:?}");
    assert_eq!(
        (e.code(), e.facts()["feature"].as_str()),
        ("disabled", "invite_link")
    );

    let e: EnlistError = enlist::Error::InvalidSecret.into();
    assert!(
        matches!(e, EnlistError::NotFound { ref code, ref facts, .. } if code == "invalid_secret" && facts.is_empty())
    );

    let e: EnlistError = enlist::Error::InvitationNotOpen {
        invitation: "inv_1".into(),
        status: enlist::InvitationStatus::Accepted,
    }
    .into();
    assert!(matches!(e, EnlistError::Conflict { .. }), "{e:?}");
    assert_eq!(e.facts()["status"], "accepted");
    assert_eq!(e.facts()["invitation"], "inv_1");

    let at = t0();
    let e: EnlistError = enlist::Error::InvitationExpired {
        invitation: "inv_2".into(),
        expired_at: at,
    }
    .into();
    assert!(matches!(e, EnlistError::Expired { .. }), "{e:?}");
    assert_eq!(
        e.facts()["expired_at"],
        at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );

    let e: EnlistError = enlist::Error::RegistrationIncomplete {
        missing: vec![
            enlist::RegistrationField::FirstName,
            enlist::RegistrationField::VerifiedEmail,
        ],
    }
    .into();
    assert!(matches!(e, EnlistError::InvalidInput { .. }), "{e:?}");
    assert_eq!(e.facts()["missing"], "first_name,verified_email");

    let e: EnlistError = enlist::Error::RetriesExhausted { attempts: 6 }.into();
    assert!(matches!(e, EnlistError::Storage { .. }), "{e:?}");
    assert_eq!(
        (e.code(), e.facts()["attempts"].as_str()),
        ("retries_exhausted", "6")
    );

    let e: EnlistError =
        enlist::StoreError::Unique(enlist::UniqueRule::InvitationOpenRecipient).into();
    assert!(matches!(e, EnlistError::Storage { .. }), "{e:?}");
    assert_eq!(e.facts()["store_error"], "unique");
    assert_eq!(e.facts()["rule"], "invitation_open_recipient");

    let e: EnlistError = enlist::StoreError::Unavailable("disk full".into()).into();
    assert!(matches!(
        e,
        EnlistError::Storage { ref code, ref message, .. } if code == "storage" && message.contains("disk full")
    ));
}

/// Every code of core's catalogue reaches Kotlin/Swift in its family's
/// variant, never the catch-all `Other`, with its facts; the Kotlin
/// renames cover every variant's `message`.
#[test]
fn every_code_of_the_catalogue_has_its_family() {
    for code in enlist::ErrorCode::ALL {
        let e = EnlistError::of_family(
            code.family(),
            code.as_str().to_owned(),
            String::new(),
            Default::default(),
        );
        assert!(
            !matches!(e, EnlistError::Other { .. }),
            "{code} fell to Other"
        );
        let family = serde_json::to_value(code.family()).unwrap_or_default();
        let variant = format!("{e:?}");
        let expected = family
            .as_str()
            .unwrap_or_default()
            .split('_')
            .map(|w| w[..1].to_uppercase() + &w[1..])
            .collect::<String>();
        assert!(variant.starts_with(&expected), "{code}: {variant}");
    }
    let toml = include_str!("../uniffi.toml");
    for variant in [
        "InvalidInput",
        "LimitExceeded",
        "PermissionDenied",
        "NotFound",
        "Conflict",
        "Expired",
        "Revoked",
        "Storage",
        "Mail",
        "Other",
    ] {
        let line = format!("\"EnlistError.{variant}.message\" = \"error_message\"");
        assert!(toml.contains(&line), "uniffi.toml lacks {line}");
    }
}

#[test]
fn mail_errors_map_to_cores_retry_semantics() {
    let t: enlist::MailError = MailError::Temporary {
        reason: "timeout".into(),
    }
    .into();
    assert!(!t.is_permanent());
    assert!(t.to_string().contains("timeout"));
    let p: enlist::MailError = MailError::Permanent {
        reason: "no such mailbox".into(),
    }
    .into();
    assert!(p.is_permanent());
    // Any other exception thrown by the foreign mailer is a temporary failure.
    let unexpected = MailError::from(uniffi::UnexpectedUniFFICallbackError::new(
        "java.io.IOException: backend unreachable",
    ));
    assert_eq!(
        unexpected,
        MailError::Temporary {
            reason: "java.io.IOException: backend unreachable".into()
        }
    );
}

#[test]
fn paste_offsets_are_utf16_indices_of_each_fragment() {
    let text = "José <josé@exämple.com>, 😀 bob at example.com\nada@acme.test, ADA@acme.test";
    let parsed = parse_recipients(text.to_owned()).unwrap();
    assert_eq!(parsed.entries.len(), 4);
    assert_eq!(parsed.recognized, 2);
    let utf16: Vec<u16> = text.encode_utf16().collect();
    for e in &parsed.entries {
        let slice =
            String::from_utf16(&utf16[e.start_utf16 as usize..e.end_utf16 as usize]).unwrap();
        assert_eq!(slice, e.text);
    }
    assert!(matches!(
        parsed.entries[1].outcome,
        EntryOutcome::Invalid { ref code, .. } if code == "missing_at"
    ));
    assert!(matches!(
        parsed.entries[3].outcome,
        EntryOutcome::Duplicate { first: 2, .. }
    ));
    match &parsed.entries[0].outcome {
        EntryOutcome::Valid { mailbox } => {
            assert_eq!(mailbox.display_name.as_deref(), Some("José"));
            assert!(
                mailbox
                    .warnings
                    .iter()
                    .any(|w| w.code() == "international_domain")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn normalize_identifier_maps_its_error() {
    assert_eq!(
        normalize_identifier("EMP-0042".into()).unwrap(),
        "emp0042".to_owned()
    );
    let e = normalize_identifier("a@b.com".into()).unwrap_err();
    assert!(matches!(
        e,
        EnlistError::InvalidInput { ref facts, .. } if facts["field"] == "identifier"
    ));
}

// -- The API, end to end ---------------------------------------------------

#[test]
fn invite_deliver_accept_with_a_foreign_clock_and_mailer() {
    let clock = TestClock::at(t0());
    let engine =
        Enlist::in_memory(Some(clock.clone()), None, None, Vec::new(), Vec::new()).unwrap();
    let (org, owner) = new_org(&engine, "Acme");
    assert_eq!(engine.now(), clock.get());

    let report = engine
        .invite(
            org.clone(),
            owner.clone(),
            paste("bob@acme.test, Carol <carol@acme.test>; not-an-address"),
        )
        .unwrap();
    assert_eq!(report.issued.len(), 2);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].reason.code(), "invalid_address");
    assert!(matches!(
        report.rejected[0].reason,
        RejectReason::InvalidAddress { .. }
    ));
    assert!(report.to_csv().starts_with("index,recipient,status"));
    let bob = &report.issued[0];
    assert_eq!(bob.invitation.expires_at, Some(t0() + Duration::days(7)));

    let listed = engine
        .invite(
            org.clone(),
            owner.clone(),
            InviteRequest::new(Recipients::List(vec![
                RecipientInput {
                    identifier: Some("EMP-0042".into()),
                    first_name: Some("Erin".into()),
                    ..RecipientInput::default()
                },
                RecipientInput {
                    email: Some("bob@acme.test".into()),
                    ..RecipientInput::default()
                },
            ])),
        )
        .unwrap();
    assert_eq!(listed.issued.len(), 1);
    assert_eq!(
        listed.rejected[0].reason,
        RejectReason::AlreadyInvited {
            invitation: bob.invitation.id.clone()
        }
    );

    let mailer = Arc::new(TestMailer::default());
    let delivered = engine.deliver_pending(mailer.clone(), 100).unwrap();
    assert_eq!(
        delivered.sent.len(),
        2,
        "identifier invitations get no email"
    );
    let sent = mailer.sent.lock().unwrap().clone();
    let to_bob = sent.iter().find(|e| e.to == "bob@acme.test").unwrap();

    let accepted = engine
        .accept(
            to_bob.accept_url.expose().to_owned(),
            reg("acct-bob", "Bob", "Smith"),
        )
        .unwrap();
    assert_eq!(
        accepted.member.contact,
        Contact::Email("bob@acme.test".into())
    );
    assert_eq!(accepted.member.display_name(), "Bob Smith");
    assert_eq!(accepted.invitation.status, InvitationStatus::Accepted);
    assert_eq!(time_out(accepted.member.joined_at), clock.get());

    // Accepting twice is a conflict, and changes nothing.
    let again = engine
        .accept(
            to_bob.accept_url.expose().to_owned(),
            reg("acct-bob", "Bob", "Smith"),
        )
        .unwrap_err();
    assert_eq!(again.code(), "invitation_not_open");
    assert!(matches!(again, EnlistError::Conflict { .. }));

    // Access code.
    let code = listed.issued[0].secret.as_ref().unwrap().expose();
    let wrong = engine
        .accept_with_code(
            org.clone(),
            "emp 0042".into(),
            "WRONGCODE0".into(),
            reg("acct-erin", "Erin", "Stone"),
        )
        .unwrap_err();
    assert_eq!(wrong.code(), "invalid_secret");
    let erin = engine
        .accept_with_code(
            org.clone(),
            "emp 0042".into(),
            code.to_owned(),
            reg("acct-erin", "Erin", "Stone"),
        )
        .unwrap();
    assert_eq!(erin.member.contact, Contact::Identifier("EMP-0042".into()));

    let members = engine
        .list_members(org.clone(), owner.clone(), MemberQuery::default())
        .unwrap();
    let keys: Vec<_> = members
        .items
        .iter()
        .map(|m| m.contact_key.as_str())
        .collect();
    assert_eq!(keys, ["ada@acme.test", "bob@acme.test", "emp0042"]);

    // Expiry driven by the foreign clock.
    let carol_id = report.issued[1].invitation.id.clone();
    clock.advance(Duration::days(8));
    let carol = engine
        .invitation(org.clone(), owner.clone(), carol_id.clone())
        .unwrap();
    assert_eq!(carol.status, InvitationStatus::Expired);
    let to_carol = sent.iter().find(|e| e.to == "carol@acme.test").unwrap();
    let expired = engine
        .accept(
            to_carol.accept_url.expose().to_owned(),
            reg("acct-carol", "Carol", "C"),
        )
        .unwrap_err();
    assert!(matches!(
        expired,
        EnlistError::Expired { ref facts, .. } if facts["invitation"] == carol_id.as_str()
    ));
    assert_eq!(engine.expire_due(clock.get()).unwrap(), 1);

    // The audit trail is core's own.
    let events = engine.events(org, owner, 0, 100).unwrap();
    assert!(matches!(
        events[0].kind,
        EventKind::OrganizationCreated { ref name, .. } if name == "Acme"
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e.kind, EventKind::EmailSent { .. }))
    );
}

#[test]
fn a_failing_foreign_mailer_is_retried_after_the_backoff() {
    let clock = TestClock::at(t0());
    let engine =
        Enlist::in_memory(Some(clock.clone()), None, None, Vec::new(), Vec::new()).unwrap();
    let (org, owner) = new_org(&engine, "Acme");
    engine.invite(org, owner, paste("frank@acme.test")).unwrap();
    let mailer = Arc::new(TestMailer::default());
    mailer.fail_next.lock().unwrap().push(MailError::Temporary {
        reason: "backend down".into(),
    });

    let first = engine.deliver_pending(mailer.clone(), 10).unwrap();
    assert_eq!(first.retrying.len(), 1);
    let id = first.retrying[0].clone();
    let msg = engine.outbox_message(id.clone()).unwrap();
    assert_eq!(msg.status, OutboxStatus::Queued);
    assert_eq!(msg.attempts, 1);
    assert!(msg.last_error.unwrap().contains("backend down"));

    let too_soon = engine.deliver_pending(mailer.clone(), 10).unwrap();
    assert!(too_soon.sent.is_empty() && too_soon.retrying.is_empty());

    clock.advance(Duration::seconds(61));
    let second = engine.deliver_pending(mailer.clone(), 10).unwrap();
    assert_eq!(second.sent, vec![id.clone()]);
    assert_eq!(mailer.sent.lock().unwrap()[0].message_id, id);
    assert_eq!(
        engine.outbox_message(id).unwrap().status,
        OutboxStatus::Sent
    );
}

#[test]
fn an_out_of_range_time_is_refused_and_changes_nothing() {
    let engine = Enlist::in_memory(None, None, None, Vec::new(), Vec::new()).unwrap();
    let (org, owner) = new_org(&engine, "Acme");
    let Actor::Member(member_id) = owner.clone() else {
        unreachable!()
    };
    let far = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(400_000 * 366 * 86_400);
    let e = engine
        .record_activity(org.clone(), member_id.clone(), far)
        .unwrap_err();
    assert!(matches!(
        e,
        EnlistError::InvalidInput { ref facts, .. } if facts["field"] == "at"
    ));
    let m = engine
        .member(org.clone(), owner, member_id.clone())
        .unwrap();
    assert_eq!(m.last_active_at, None);
    assert!(matches!(
        engine.expire_due(far).unwrap_err(),
        EnlistError::InvalidInput { .. }
    ));
}

#[test]
fn a_sqlite_file_keeps_everything_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enlist.sqlite3");
    let path = path.to_str().unwrap().to_owned();
    let clock = TestClock::at(t0());
    let (org, token) = {
        let engine = Enlist::open_sqlite(
            path.clone(),
            Some(clock.clone()),
            None,
            None,
            Vec::new(),
            Vec::new(),
        )
        .unwrap();
        let (org, owner) = new_org(&engine, "Acme Files");
        let report = engine
            .invite(org.clone(), owner, paste("bob@acme.test"))
            .unwrap();
        (
            org,
            report.issued[0]
                .secret
                .as_ref()
                .unwrap()
                .expose()
                .to_owned(),
        )
    };
    let engine =
        Enlist::open_sqlite(path, Some(clock), None, None, Vec::new(), Vec::new()).unwrap();
    assert_eq!(engine.organization(org.clone()).unwrap().name, "Acme Files");
    let accepted = engine
        .accept(token, reg("acct-bob", "Bob", "Smith"))
        .unwrap();
    assert_eq!(accepted.member.org_id, org);

    let bad = Enlist::open_sqlite(
        dir.path()
            .join("missing-dir/x.sqlite3")
            .to_string_lossy()
            .into_owned(),
        None,
        None,
        None,
        Vec::new(),
        Vec::new(),
    )
    .unwrap_err();
    assert_eq!(bad.code(), "storage");
}

#[test]
fn secrets_cross_as_objects_that_never_print() {
    let engine = Enlist::in_memory(
        Some(TestClock::at(t0())),
        None,
        None,
        Vec::new(),
        Vec::new(),
    )
    .unwrap();
    let (org, owner) = new_org(&engine, "Acme");
    let report = engine
        .invite(org.clone(), owner, paste("bob@acme.test"))
        .unwrap();
    let issued = &report.issued[0];
    let token = issued.secret.as_ref().unwrap().expose();
    assert!(token.starts_with("org_"));
    for printed in [format!("{issued:?}"), format!("{report:?}")] {
        assert!(!printed.contains(token), "{printed}");
        assert!(printed.contains("Secret(***)"), "{printed}");
    }
    assert_eq!(format!("{:?}", issued.secret), "Some(Secret(***))");
}

#[test]
fn callers_cannot_ask_for_unbounded_work() {
    let huge = "a@b.c,".repeat(MAX_PARSE_BYTES / 6 + 1);
    let e = parse_recipients(huge).unwrap_err();
    assert!(matches!(e, EnlistError::InvalidInput { .. }), "{e:?}");
    let engine = Enlist::in_memory(
        Some(TestClock::at(t0())),
        None,
        None,
        Vec::new(),
        Vec::new(),
    )
    .unwrap();
    let e = engine
        .claim_due(u32::try_from(enlist::MAX_OUTBOX_BATCH + 1).unwrap(), None)
        .unwrap_err();
    assert!(matches!(e, EnlistError::InvalidInput { .. }), "{e:?}");
    assert!(
        engine
            .claim_due(u32::try_from(enlist::MAX_OUTBOX_BATCH).unwrap(), None)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_file_mailer_writes_what_deliver_pending_and_a_direct_send_hand_it() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Enlist::in_memory(None, None, None, Vec::new(), Vec::new()).unwrap();
    let (org, owner) = new_org(&engine, "Acme");
    let report = engine
        .invite(org.clone(), owner.clone(), paste("Bob <bob@acme.test>"))
        .unwrap();
    let token = report.issued[0].secret.clone().unwrap();
    let mailer = file_mailer(
        dir.path().display().to_string(),
        "noreply@acme.test".into(),
        Some("Acme".into()),
    )
    .unwrap();
    let sent = engine.deliver_pending(mailer.clone(), 10).unwrap().sent;
    assert_eq!(sent.len(), 1);
    let eml = std::fs::read_to_string(dir.path().join(format!("{}.eml", sent[0]))).unwrap();
    assert!(eml.contains("From: Acme <noreply@acme.test>"), "{eml}");
    assert!(eml.contains("To: Bob <bob@acme.test>"), "{eml}");
    // The body is quoted-printable: soft line breaks, `=` as `=3D`.
    let body = eml.replace("=\r\n", "").replace("=3D", "=");
    assert!(
        body.contains(token.expose()),
        "the link is in the body: {eml}"
    );

    // The app may call it itself, with the record it was given.
    engine.invite(org, owner, paste("carol@acme.test")).unwrap();
    let msg = engine.claim_due(1, None).unwrap().remove(0);
    mailer.send(msg.email.clone()).unwrap();
    let eml = std::fs::read_to_string(dir.path().join(format!("{}.eml", msg.id))).unwrap();
    assert!(eml.contains("carol@acme.test"));
    assert!(
        eml.replace("=\r\n", "")
            .replace("=3D", "=")
            .contains(msg.email.accept_url.expose()),
        "{eml}"
    );
}

/// `link_keys`: each at least 32 bytes, at most 17; with one, a named
/// link's URL is shown again; without, `link_url_not_kept`.
#[test]
fn link_keys_are_checked_and_show_a_link_again() {
    for keys in [vec![vec![1u8; 31]], vec![vec![1u8; 32]; 18]] {
        let e = Enlist::in_memory(None, None, None, Vec::new(), keys).unwrap_err();
        assert!(matches!(e, EnlistError::InvalidInput { .. }), "{e:?}");
    }
    let keyed = Enlist::in_memory(None, None, None, Vec::new(), vec![vec![5u8; 32]]).unwrap();
    let (org, owner) = new_org(&keyed, "Acme");
    let mut p = keyed.organization(org.clone()).unwrap().policy;
    p.invite_link_enabled = true;
    keyed.update_policy(org.clone(), owner.clone(), p).unwrap();
    let made = keyed
        .create_link(org.clone(), owner.clone(), enlist::NewLink::new("team"))
        .unwrap();
    let again = keyed
        .link_url(org.clone(), owner.clone(), made.link.id.clone())
        .unwrap();
    assert_eq!(again, made.url);
    let page = keyed.links(org.clone(), owner.clone(), 10, None).unwrap();
    assert_eq!(page.items.len(), 1);

    let plain = Enlist::in_memory(None, None, None, Vec::new(), Vec::new()).unwrap();
    let (org, owner) = new_org(&plain, "Beta");
    let mut p = plain.organization(org.clone()).unwrap().policy;
    p.invite_link_enabled = true;
    plain.update_policy(org.clone(), owner.clone(), p).unwrap();
    let made = plain
        .create_link(org.clone(), owner.clone(), enlist::NewLink::new("once"))
        .unwrap();
    let e = plain.link_url(org, owner, made.link.id).unwrap_err();
    assert!(
        matches!(e, EnlistError::Conflict { ref code, .. } if code == "link_url_not_kept"),
        "{e:?}"
    );
}

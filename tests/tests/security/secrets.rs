//! Security tests: secrets (issue 10). Tokens, access codes, their hashes
//! and the outbox, attacked as a stranger with a link or a guess, a member
//! with few rights, a thief holding the database file, a log reader.

use super::super::scenarios::common::{
    OWNER_EMAIL, Org, accept, as_member, org_with_owner, org_with_policy, registration, token_of,
};
use chrono::Duration;
use enlist::{
    ActivatedLink, Actor, Clock, CreatedOrganization, Enlist, Error, EventKind, ImportDefaults,
    ImportFormat, InvitationId, InvitationQuery, InvitationStatus, InviteRequest, LinkSpec,
    MAX_TOKEN_INPUT_BYTES, MailError, Mailer, ManualClock, MemoryStore, NewOrganization,
    OutboxStatus, OutgoingEmail, Policy, RecipientInput, Recipients, RecordingMailer, SecretHash,
    SecretKey, SecretLookup, SeededSecrets, Store, TOKEN_RANDOM_CHARS, new_token, parse_token,
};
use std::sync::{Arc, Mutex};

/// "Acme" with the invitation link enabled.
fn org_with_link() -> Org {
    let mut policy = Policy::default();
    policy.invite_link_enabled = true;
    org_with_policy(policy)
}

fn invite_one(org: &Org, row: RecipientInput) -> enlist::IssuedInvitation {
    let report = org
        .engine
        .invite(
            org.id(),
            &org.owner_actor(),
            InviteRequest::new(Recipients::List(vec![row])),
        )
        .expect("invite");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    report.issued.into_iter().next().expect("one issued")
}

/// What the store keeps for an invitation (the thief's view).
fn stored_hash(engine: &Enlist, org: &Org, id: &InvitationId) -> Option<SecretHash> {
    let mut tx = engine.store().begin().expect("begin");
    tx.invitation(org.id(), id)
        .expect("read")
        .expect("stored")
        .secret_hash
}

fn code_of(issued: &enlist::IssuedInvitation) -> String {
    token_of(issued)
}

// ----- 1. token parsing --------------------------------------------------

/// Every anonymous door that reads a token refuses input longer than
/// `MAX_TOKEN_INPUT_BYTES` before reading it, even when a valid token is
/// inside. (Before: the token was found by a scan quadratic in the input,
/// so a request of 400 KB of `org_org_…` cost tens of seconds.)
#[test]
fn oversized_token_input_is_refused_at_every_anonymous_door() {
    let org = org_with_link();
    let issued = invite_one(&org, RecipientInput::email("bob@acme.test"));
    let token = token_of(&issued);
    let ActivatedLink { url: link, .. } = org
        .engine
        .activate_invite_link(org.id(), &org.owner_actor(), LinkSpec::default())
        .expect("link");
    let link = link.expose().to_owned();
    let pad = |t: &str| format!("{}{t}", "org_".repeat(MAX_TOKEN_INPUT_BYTES / 4 + 1));
    let e = &org.engine;
    let refused = |r: Result<(), Error>, door: &str| {
        let err = r.expect_err(door);
        assert_eq!(err.code(), "invalid_secret", "{door}: {err}");
    };
    refused(e.preview(&pad(&token)).map(drop), "preview");
    refused(e.decline(&pad(&token)).map(drop), "decline");
    refused(
        e.accept(&pad(&token), registration("acct-bob")).map(drop),
        "accept",
    );
    refused(e.preview_link(&pad(&link)).map(drop), "preview_link");
    refused(
        e.join_by_link(&pad(&link), "carol@acme.test", registration("acct-carol"))
            .map(drop),
        "join_by_link",
    );
    // Nothing changed: the same token, unpadded, still works.
    assert_eq!(
        e.preview(&token).expect("preview").status,
        InvitationStatus::Pending
    );
    assert!(e.preview_link(&link).is_ok());
}

// ----- 2. hashes out of every returned value, and hashed well ---------------

// ----- 1b. tokens that name their invitation (ADR 0019) -----------------

/// The three parts of a token that names its invitation.
fn token_parts(token: &str) -> (String, String, String) {
    let parsed = parse_token(token).expect("a token");
    let invitation = parsed.invitation.expect("names its invitation");
    let random = token[token.len() - TOKEN_RANDOM_CHARS..].to_owned();
    (parsed.org.into_string(), invitation.into_string(), random)
}

/// Every anonymous door refuses `token` as a bad secret and changes
/// nothing.
fn refused_everywhere(org: &Org, token: &str, what: &str) {
    let before = org.events().len();
    let e = &org.engine;
    for (door, r) in [
        ("preview", e.preview(token).map(drop)),
        ("decline", e.decline(token).map(drop)),
        (
            "accept",
            e.accept(token, registration("acct-mallory")).map(drop),
        ),
    ] {
        let err = r.expect_err(&format!("{what}: {door}"));
        assert_eq!(err.code(), "invalid_secret", "{what}: {door}: {err}");
    }
    assert_eq!(org.events().len(), before, "{what}: nothing recorded");
}

/// A new invitation's token names it (`org.inv.random`): the store finds it
/// by id and keeps no index of its hash. A token opens only the invitation
/// it was made for: its random part under another invitation's id, alone
/// (the older shape), with another invitation's random part, or under
/// another organization, opens nothing and changes nothing.
#[test]
fn a_token_opens_only_the_invitation_it_names() {
    let org = org_with_owner();
    let bob = invite_one(&org, RecipientInput::email("bob@acme.test"));
    let carol = invite_one(&org, RecipientInput::email("carol@acme.test"));
    let (t_bob, t_carol) = (token_of(&bob), token_of(&carol));
    let (o, inv_bob, r_bob) = token_parts(&t_bob);
    let (_, inv_carol, r_carol) = token_parts(&t_carol);
    assert_eq!(o, org.id().as_str());
    assert_eq!(inv_bob, bob.invitation.id.as_str());
    {
        let mut tx = org.engine.store().begin().expect("begin");
        let stored = tx
            .invitation(org.id(), &bob.invitation.id)
            .expect("read")
            .expect("stored");
        assert_eq!(stored.secret_lookup, SecretLookup::ById);
        let hash = stored.secret_hash.expect("a hash");
        assert!(hash.ct_eq(&SecretHash::of(r_bob.as_bytes())));
        assert_eq!(
            tx.invitation_by_secret(org.id(), &hash).expect("read"),
            None,
            "no index of the hashes of invitations found by id"
        );
    }
    let other = org
        .engine
        .create_organization(NewOrganization::new("Other", "acct-other", "o@other.test"))
        .expect("another organization")
        .organization
        .id;
    for (what, forged) in [
        (
            "bob's secret under carol's id",
            format!("{o}.{inv_carol}.{r_bob}"),
        ),
        (
            "carol's secret under bob's id",
            format!("{o}.{inv_bob}.{r_carol}"),
        ),
        (
            "bob's secret alone, the older shape",
            format!("{o}.{r_bob}"),
        ),
        (
            "an id that is no invitation",
            format!("{o}.inv_{}.{r_bob}", "0".repeat(32)),
        ),
        ("another organization", format!("{other}.{inv_bob}.{r_bob}")),
    ] {
        refused_everywhere(&org, &forged, what);
    }
    // An invitation's token is no link's.
    let err = org.engine.preview_link(&t_bob).expect_err("no link");
    assert_eq!(err.code(), "invalid_secret", "{err}");
    // Nothing of that touched either invitation; the real tokens work.
    assert_eq!(
        org.engine.preview(&t_carol).expect("preview").status,
        InvitationStatus::Pending
    );
    accept(&org.engine, &t_bob, "acct-bob");
    accept(&org.engine, &t_carol, "acct-carol");
}

/// An invitation issued before tokens named their invitation (its token
/// `org.random`, its hash indexed) still opens with that token, and only
/// with it; sent again it gets a token that names it, and the old one and
/// its index entry are gone.
#[test]
fn older_tokens_open_their_invitation_until_it_is_sent_again() {
    let org = org_with_owner();
    let issued = invite_one(&org, RecipientInput::email("dora@acme.test"));
    let id = issued.invitation.id.clone();
    // Turn it into what an older version stored: a token found by hash.
    let (old_token, old_hash) = new_token(&SeededSecrets::new(99), org.id());
    {
        let mut tx = org.engine.store().begin().expect("begin");
        let mut stored = tx.invitation(org.id(), &id).expect("read").expect("stored");
        stored.secret_hash = Some(old_hash);
        stored.secret_lookup = SecretLookup::ByHash;
        tx.put_invitation(&stored).expect("write");
        tx.commit().expect("commit");
    }
    let old_token = old_token.expose().to_owned();
    assert_eq!(parse_token(&old_token).expect("parses").invitation, None);
    // Its random part under its own id is not how it was issued.
    let random = &old_token[old_token.len() - TOKEN_RANDOM_CHARS..];
    refused_everywhere(
        &org,
        &format!("{}.{id}.{random}", org.id()),
        "the older secret under its id",
    );
    assert_eq!(
        org.engine
            .preview(&old_token)
            .expect("the older token")
            .invitation_id,
        id
    );
    org.advance(Duration::hours(1));
    let again = org
        .engine
        .resend(org.id(), &org.owner_actor(), &id)
        .expect("resend");
    let new_token = token_of(&again);
    assert_eq!(
        parse_token(&new_token).expect("parses").invitation,
        Some(id.clone())
    );
    refused_everywhere(&org, &old_token, "the older token after a resend");
    {
        let mut tx = org.engine.store().begin().expect("begin");
        assert_eq!(
            tx.invitation_by_secret(org.id(), &old_hash).expect("read"),
            None
        );
    }
    accept(&org.engine, &new_token, "acct-dora");
}

/// Checks that neither the JSON nor the `Debug` form of a returned value
/// holds a secret hash: not the field, not the bytes of any stored hash.
fn check_no_hash(what: &str, json: &str, debug: &str, hashes: &[SecretHash]) {
    assert!(!json.contains("secret_hash"), "{what}: {json}");
    assert!(!debug.contains("SecretHash("), "{what}: {debug}");
    for h in hashes {
        let bytes = serde_json::to_string(&h.0).expect("bytes");
        let inner = &bytes[1..bytes.len() - 1];
        assert!(!json.contains(inner), "{what} holds a stored hash: {json}");
        assert!(!json.contains(&h.to_hex()), "{what} holds a stored hash");
    }
}

macro_rules! assert_no_hash {
    ($what:expr, $value:expr, $hashes:expr $(,)?) => {{
        let v = $value;
        let json = serde_json::to_string(&v).expect("serialize");
        check_no_hash($what, &json, &format!("{v:?}"), $hashes);
    }};
}

/// Walks the API as an administrator, an invitee and a host job: no value
/// handed to a caller (issued invitations, reports, pages, acceptances,
/// links, outbox messages, events) holds a secret hash. (Before: every
/// `Invitation` carried `secret_hash`, to anyone with ViewMembers.)
#[test]
fn no_returned_value_holds_a_secret_hash() {
    let org = org_with_link();
    let e = &org.engine;
    let owner = org.owner_actor();
    let report = e
        .invite(
            org.id(),
            &owner,
            InviteRequest::new(Recipients::List(vec![
                RecipientInput::email("bob@acme.test"),
                RecipientInput::identifier("EMP-1"),
                RecipientInput::email("dan@acme.test"),
                RecipientInput::email("eve@acme.test"),
            ])),
        )
        .expect("invite");
    let staged = e
        .invite(
            org.id(),
            &owner,
            InviteRequest::new(Recipients::Paste("fay@acme.test".into())).staged(),
        )
        .expect("stage");
    let ids: Vec<InvitationId> = report
        .issued
        .iter()
        .map(|i| i.invitation.id.clone())
        .collect();
    let sent = e
        .send_staged(org.id(), &owner, &[staged.issued[0].invitation.id.clone()])
        .expect("send staged");
    let ActivatedLink { link, .. } = e
        .activate_invite_link(org.id(), &owner, LinkSpec::default())
        .expect("link");
    let mut hashes: Vec<SecretHash> = ids
        .iter()
        .filter_map(|id| stored_hash(e, &org, id))
        .collect();
    {
        let mut tx = e.store().begin().expect("begin");
        let stored = tx.invite_link(org.id()).expect("read").expect("link");
        hashes.extend(stored.secret_hash);
    }
    assert_eq!(hashes.len(), 5, "every secret has a stored hash");
    assert_no_hash!("invite report", &report, &hashes);
    assert_no_hash!("staged report", &staged, &hashes);
    assert_no_hash!("send report", &sent, &hashes);
    assert_no_hash!("activated link", &link, &hashes);
    assert_no_hash!(
        "invite_link",
        &e.invite_link(org.id(), &owner).expect("link"),
        &hashes,
    );
    assert_no_hash!(
        "invitation",
        &e.invitation(org.id(), &owner, &ids[0]).expect("read"),
        &hashes,
    );
    let page = e
        .list_invitations(org.id(), &owner, &InvitationQuery::default())
        .expect("list");
    assert_no_hash!("page", &page, &hashes);
    org.advance(Duration::days(1));
    let resent = e.resend(org.id(), &owner, &ids[3]).expect("resend");
    hashes.extend(stored_hash(e, &org, &ids[3]));
    assert_no_hash!("resend", &resent, &hashes);
    let revoked = e.revoke(org.id(), &owner, &ids[2]).expect("revoke");
    assert_no_hash!("revoke", &revoked, &hashes);
    let accepted = accept(e, &token_of(&report.issued[0]), "acct-bob");
    assert_no_hash!("acceptance", &accepted, &hashes);
    let by_code = e
        .accept_with_code(
            org.id(),
            "EMP-1",
            &code_of(&report.issued[1]),
            registration("acct-emp1"),
        )
        .expect("accept with code");
    assert_no_hash!("acceptance by code", &by_code, &hashes);
    let declined = e.decline(&token_of(&resent)).expect("decline");
    assert_no_hash!("decline", &declined, &hashes);
    let imported = e
        .import_invitations(
            org.id(),
            &owner,
            b"email\ngus@acme.test\n",
            ImportFormat::Csv,
            ImportDefaults::default(),
        )
        .expect("import");
    assert_no_hash!("import", &imported, &hashes);
    let claimed = e.claim_due(None, 100).expect("claim");
    assert!(!claimed.is_empty());
    assert_no_hash!("claimed", &claimed, &hashes);
    assert_no_hash!(
        "outbox message",
        &e.outbox_message(&claimed[0].id).expect("msg"),
        &hashes,
    );
    assert_no_hash!("events", &org.events(), &hashes);
}

/// What a stolen database holds for an access code is neither the plain
/// SHA-256 of the code (one GPU sweep of 2^50 would recover it) nor the
/// same for two invitations with the same code; with the host's key, it
/// cannot even be checked without the key. (Before: plain SHA-256.)
#[test]
fn stored_access_code_hashes_are_salted_and_keyed() {
    for key in [None, Some([9u8; 32])] {
        let mut org = org_with_owner();
        if let Some(k) = key {
            org.engine = org
                .engine
                .clone()
                .with_secret_key(SecretKey::new(k).expect("key"));
        }
        let issued = invite_one(&org, RecipientInput::identifier("EMP-7"));
        let code = code_of(&issued).replace('-', "");
        let stored = stored_hash(&org.engine, &org, &issued.invitation.id).expect("hash");
        let plain = SecretHash::of(code.as_bytes());
        assert_ne!(stored, plain, "key {key:?}: plain SHA-256 of the code");
        // The code works, as typed by a person.
        let typed = code_of(&issued).to_lowercase();
        org.engine
            .accept_with_code(org.id(), "emp 7", &typed, registration("acct-7"))
            .expect("the code works");
    }
    // The pepper matters: the same store under another key refuses the code.
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::at_epoch_seconds(1_700_000_000));
    let make = |k: u8| {
        Enlist::new(store.clone())
            .with_clock(clock.clone())
            .with_secrets(Arc::new(SeededSecrets::new(u64::from(k))))
            .with_secret_key(SecretKey::new([k; 32]).expect("key"))
    };
    let (a, b) = (make(1), make(2));
    let CreatedOrganization {
        organization: o,
        owner,
        ..
    } = a
        .create_organization(NewOrganization::new("Acme", "acct-o", OWNER_EMAIL))
        .expect("org");
    let report = a
        .invite(
            &o.id,
            &Actor::Member(owner.id),
            InviteRequest::new(Recipients::List(vec![RecipientInput::identifier("EMP-8")])),
        )
        .expect("invite");
    let code = report.issued[0]
        .secret
        .as_ref()
        .expect("code")
        .expose()
        .to_owned();
    assert_eq!(
        b.accept_with_code(&o.id, "EMP-8", &code, registration("acct-8"))
            .expect_err("another key")
            .code(),
        "invalid_secret"
    );
    a.accept_with_code(&o.id, "EMP-8", &code, registration("acct-8"))
        .expect("the right key");
}

/// Codes stored before salted hashing (plain SHA-256) keep working until
/// their invitation expires or is resent, so an upgrade does not break the
/// codes people hold; the resend stores the new form.
#[test]
fn legacy_plain_sha256_codes_still_work_until_resent() {
    let org = org_with_owner();
    let issued = invite_one(&org, RecipientInput::identifier("EMP-9"));
    let legacy_code = "ABCDE12345";
    {
        let mut tx = org.engine.store().begin().expect("begin");
        let mut inv = tx
            .invitation(org.id(), &issued.invitation.id)
            .expect("read")
            .expect("stored");
        inv.secret_hash = Some(SecretHash::of(legacy_code.as_bytes()));
        tx.put_invitation(&inv).expect("write");
        tx.commit().expect("commit");
    }
    org.engine
        .accept_with_code(org.id(), "EMP-9", "abcde-12345", registration("acct-9"))
        .expect("a pre-upgrade code is accepted");
}

// ----- 3. access codes: one answer, temporary locks ------------------------

/// Every failure of `accept_with_code` an anonymous caller can cause gives
/// the same error: no organization, no invitation, a malformed identifier,
/// a staged, expired, revoked or locked invitation, a wrong code. (Before:
/// expired and locked invitations answered `invitation_expired` and
/// `limit_exceeded`, which told a stranger who is invited.)
#[test]
fn every_anonymous_code_failure_gives_the_same_answer() {
    let mut policy = Policy::default();
    policy.access_code_attempts = 2;
    let org = org_with_policy(policy);
    let e = &org.engine;
    let owner = org.owner_actor();
    let expired = invite_one(&org, RecipientInput::identifier("EXP-1"));
    org.advance(Duration::days(365));
    let pending = invite_one(&org, RecipientInput::identifier("PEN-1"));
    let locked = invite_one(&org, RecipientInput::identifier("LOC-1"));
    let revoked = invite_one(&org, RecipientInput::identifier("REV-1"));
    e.revoke(org.id(), &owner, &revoked.invitation.id)
        .expect("revoke");
    e.invite(
        org.id(),
        &owner,
        InviteRequest::new(Recipients::List(vec![RecipientInput::identifier("STG-1")])).staged(),
    )
    .expect("stage");
    for _ in 0..2 {
        let _ = e.accept_with_code(org.id(), "LOC-1", "00000-00000", registration("x"));
    }
    let other_org = enlist::OrgId::from("org_nonexistent");
    let cases: Vec<(&str, enlist::OrgId, &str, String)> = vec![
        ("no organization", other_org, "PEN-1", code_of(&pending)),
        (
            "no invitation",
            org.id().clone(),
            "NOBODY-1",
            code_of(&pending),
        ),
        (
            "malformed identifier",
            org.id().clone(),
            "a@b",
            code_of(&pending),
        ),
        ("staged", org.id().clone(), "STG-1", "00000-00000".into()),
        ("expired", org.id().clone(), "EXP-1", code_of(&expired)),
        ("revoked", org.id().clone(), "REV-1", code_of(&revoked)),
        ("locked", org.id().clone(), "LOC-1", code_of(&locked)),
        (
            "wrong code",
            org.id().clone(),
            "PEN-1",
            "00000-00000".into(),
        ),
    ];
    for (what, o, ident, code) in cases {
        let err = e
            .accept_with_code(&o, ident, &code, registration("acct-x"))
            .expect_err(what);
        assert!(matches!(err, Error::InvalidSecret), "{what}: {err:?}");
    }
}

/// Wrong codes lock an invitation for a while, longer each round, and never
/// revoke it: the invitee can still use the right code after the lock, and
/// a resend gives a new code and lifts the lock at once. (Before: five
/// wrong guesses by anyone revoked a stranger's invitation for good.)
#[test]
fn wrong_codes_lock_for_a_growing_while_and_never_revoke() {
    let org = org_with_owner();
    let e = &org.engine;
    let issued = invite_one(&org, RecipientInput::identifier("EMP-2"));
    let code = code_of(&issued);
    let attempts = Policy::default().access_code_attempts;
    let guess = |n: u32| {
        for _ in 0..n {
            let err = e
                .accept_with_code(org.id(), "EMP-2", "00000-00000", registration("x"))
                .expect_err("wrong code");
            assert!(matches!(err, Error::InvalidSecret), "{err:?}");
        }
    };
    let read = || {
        e.invitation(org.id(), &org.owner_actor(), &issued.invitation.id)
            .expect("read")
    };
    guess(attempts);
    let inv = read();
    assert_eq!(inv.status, InvitationStatus::Pending, "locked, not revoked");
    assert_eq!(
        inv.locked_until,
        Some(org.clock.now() + Duration::seconds(enlist::ACCESS_CODE_LOCK_SECS))
    );
    // While locked, even the right code is refused (and not counted).
    assert!(matches!(
        e.accept_with_code(org.id(), "EMP-2", &code, registration("acct-2")),
        Err(Error::InvalidSecret)
    ));
    assert_eq!(read().failed_attempts, attempts);
    // A second round locks twice as long.
    org.advance(Duration::seconds(enlist::ACCESS_CODE_LOCK_SECS));
    guess(attempts);
    assert_eq!(
        read().locked_until,
        Some(org.clock.now() + Duration::seconds(2 * enlist::ACCESS_CODE_LOCK_SECS))
    );
    // After the lock the right code works.
    org.advance(Duration::seconds(2 * enlist::ACCESS_CODE_LOCK_SECS));
    let accepted = e
        .accept_with_code(org.id(), "EMP-2", &code, registration("acct-2"))
        .expect("the right code after the lock");
    assert_eq!(accepted.invitation.status, InvitationStatus::Accepted);
    assert_eq!(accepted.invitation.locked_until, None);

    // A resend clears a lock at once and gives a new code.
    let issued = invite_one(&org, RecipientInput::identifier("EMP-3"));
    for _ in 0..attempts {
        let _ = e.accept_with_code(org.id(), "EMP-3", "00000-00000", registration("x"));
    }
    org.advance(Duration::seconds(
        Policy::default().resend_cooldown_secs as i64,
    ));
    let resent = e
        .resend(org.id(), &org.owner_actor(), &issued.invitation.id)
        .expect("resend a locked invitation");
    assert_eq!(resent.invitation.locked_until, None);
    assert_eq!(resent.invitation.failed_attempts, 0);
    e.accept_with_code(org.id(), "EMP-3", &code_of(&resent), registration("acct-3"))
        .expect("the new code works at once");
    let events = org.events();
    assert!(
        events
            .iter()
            .any(|ev| matches!(ev.kind, EventKind::AccessCodeRejected { locked: true, .. }))
    );
}

// ----- 4. tokens out of logs --------------------------------------------

/// `Debug` of an email or an outbox message (what ends in logs) never shows
/// the accept link or the body that holds it. (Before: derived `Debug`
/// printed both.)
#[test]
fn debug_of_emails_and_outbox_messages_hides_the_link() {
    let org = org_with_owner();
    let issued = invite_one(&org, RecipientInput::email("bob@acme.test"));
    let token = token_of(&issued);
    let random = token.rsplit_once('.').expect("shape").1.to_owned();
    let claimed = org.engine.claim_due(None, 10).expect("claim");
    assert_eq!(claimed.len(), 1);
    assert!(
        claimed[0].email.accept_url.contains(&token),
        "the worker gets the live link"
    );
    let shown = [
        format!("{:?}", claimed[0]),
        format!("{:#?}", claimed[0].email),
    ];
    for s in shown {
        assert!(!s.contains(&random), "{s}");
        assert!(s.contains("[redacted]"), "{s}");
    }
}

/// A mailer's error often quotes the message it refused. What is stored
/// (`last_error`) and put in the `EmailFailed` event holds neither the link,
/// nor the token, nor a piece of it cut by a quoted-printable line break,
/// nor anything else shaped like a token. (Before: stored verbatim.)
#[test]
fn mail_errors_are_scrubbed_of_tokens_before_they_are_stored() {
    let org = org_with_owner();
    let issued = invite_one(&org, RecipientInput::email("bob@acme.test"));
    let token = token_of(&issued);
    let random = token.rsplit_once('.').expect("shape").1.to_owned();
    let msg_id = issued.message_id.clone().expect("queued");
    let url = {
        let claimed = org.engine.claim_due(None, 1).expect("claim");
        claimed[0].email.accept_url.clone()
    };
    org.advance(Duration::seconds(
        enlist::RetryPolicy::default().claim_secs as i64 + 1,
    ));
    let other = "Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1eg";
    let error = format!(
        "550 refused <{url}> token={token} qp: {}=\r\n{} other secret {other}",
        &random[..30],
        &random[30..]
    );
    let mailer = RecordingMailer::new();
    mailer.fail_next([MailError::Temporary(error)]);
    let report = org.engine.deliver_pending(&mailer, 10).expect("deliver");
    assert_eq!(report.retrying, vec![msg_id.clone()]);
    let stored = {
        let mut tx = org.engine.store().begin().expect("begin");
        tx.outbox_message(&msg_id).expect("read").expect("stored")
    };
    let last_error = stored.last_error.expect("an error is kept");
    let event_error = org
        .events()
        .into_iter()
        .find_map(|e| match e.kind {
            EventKind::EmailFailed { error, .. } => Some(error),
            _ => None,
        })
        .expect("an EmailFailed event");
    for text in [&last_error, &event_error] {
        assert!(
            text.starts_with("temporary mail failure: 550 refused"),
            "{text}"
        );
        assert!(!text.contains(&url), "{text}");
        for piece in random.as_bytes().windows(12) {
            let piece = std::str::from_utf8(piece).expect("ascii");
            assert!(!text.contains(piece), "a piece of the token in {text}");
        }
        assert!(!text.contains(other), "{text}");
    }
}

// ----- 5. the outbox for people -----------------------------------------

/// The outbox as a person sees it: needs ManageOutbox in the message's own
/// organization, and never shows the link. The actor-less host-job read
/// does not show it either. (Before: `outbox_message(id)` returned the live
/// accept link to any caller, and ManageOutbox was checked nowhere.)
#[test]
fn the_outbox_is_authorized_scoped_and_redacted() {
    let org = org_with_owner();
    let e = &org.engine;
    let issued = invite_one(&org, RecipientInput::email("bob@acme.test"));
    let token = token_of(&issued);
    let id = issued.message_id.clone().expect("queued");
    let member = org.join("mia@acme.test", "member", "acct-mia");
    let err = e
        .outbox_message_in(org.id(), &as_member(&member), &id)
        .expect_err("a member without ManageOutbox");
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                permission: enlist::Permission::ManageOutbox,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        e.outbox_message_in(org.id(), &Actor::Anonymous, &id)
            .is_err()
    );
    // Another organization's owner cannot reach this message through theirs.
    let CreatedOrganization {
        organization: other,
        owner: other_owner,
        ..
    } = e
        .create_organization(NewOrganization::new("Evil", "acct-evil", "evil@evil.test"))
        .expect("other org");
    assert_eq!(
        e.outbox_message_in(&other.id, &Actor::Member(other_owner.id), &id)
            .expect_err("another organization's message")
            .code(),
        "not_found"
    );
    for msg in [
        e.outbox_message_in(org.id(), &org.owner_actor(), &id)
            .expect("owner"),
        e.outbox_message(&id).expect("host job"),
    ] {
        assert_eq!(msg.status, OutboxStatus::Queued);
        assert_eq!(msg.email.accept_url, "[redacted]");
        assert!(!msg.email.text_body.contains(&token));
        assert!(!serde_json::to_string(&msg).expect("json").contains(&token));
    }
    // Reading it redacted nothing in the store: the worker still sends it.
    let mailer = RecordingMailer::new();
    e.deliver_pending(&mailer, 10).expect("deliver");
    assert!(mailer.sent()[0].accept_url.contains(&token));
}

// ----- 6. one claim per message ------------------------------------------

/// A mailer that takes `step` of (manual) time per message, and on its
/// second message lets a second worker run a whole `deliver_pending`.
struct SlowMailer {
    clock: Arc<ManualClock>,
    step: Duration,
    engine: Mutex<Option<Enlist>>,
    sent: Mutex<Vec<String>>,
}

impl Mailer for SlowMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        self.clock.advance(self.step);
        let n = {
            let mut sent = self.sent.lock().expect("lock");
            sent.push(email.to.to_string());
            sent.len()
        };
        if n == 2 {
            let second = self.engine.lock().expect("lock").take();
            if let Some(engine) = second {
                engine.deliver_pending(self, 100).expect("second worker");
            }
        }
        Ok(())
    }
}

/// Two workers and a batch slower than `claim_secs`: no message is sent
/// twice. (Before: the claim covered the whole batch for `claim_secs`, so
/// once it lapsed a second worker took the messages the first had not
/// reached yet, and both sent them.)
#[test]
fn a_slow_batch_never_sends_a_message_twice() {
    let org = org_with_owner();
    let addresses: Vec<String> = (0..4).map(|i| format!("p{i}@acme.test")).collect();
    org.engine
        .invite(
            org.id(),
            &org.owner_actor(),
            InviteRequest::new(Recipients::Paste(addresses.join(", "))),
        )
        .expect("invite");
    let claim = enlist::RetryPolicy::default().claim_secs as i64;
    let mailer = SlowMailer {
        clock: org.clock.clone(),
        // Each message is sent well within its claim; the batch is not.
        step: Duration::seconds(claim * 2 / 3),
        engine: Mutex::new(Some(org.engine.clone())),
        sent: Mutex::new(Vec::new()),
    };
    org.engine
        .deliver_pending(&mailer, 100)
        .expect("first worker");
    let mut sent = mailer.sent.lock().expect("lock").clone();
    sent.sort();
    assert_eq!(sent, addresses, "each message exactly once");
}

//! Security tests: inputs. A caller of any rank sends input of any size or
//! shape, or the host's clock is far off: every such request is bounded
//! before it is read, refused with a clear error, and changes nothing.
//!
//! Limits are matched by their stable names (`limit.as_str()`), as a
//! binding would.

use super::super::scenarios::common::{self, Org, as_member, org_with_owner, org_with_policy};
use chrono::{DateTime, Duration, Utc};
use enlist::{
    Actor, CreatedOrganization, EngineConfig, Enlist, Error, InvitationId, InvitationStatus,
    InviteRequest, LinkSpec, ManualClock, MemberUpdate, MemoryStore, NewOrganization, Policy,
    RecipientInput, Recipients, RetryPolicy, SeededSecrets,
};
use std::sync::Arc;

/// The stable name of a `LimitExceeded` error's limit, or the error.
fn limit_of(e: &Error) -> String {
    match e {
        Error::LimitExceeded { limit, .. } => limit.as_str().to_owned(),
        other => panic!("expected limit_exceeded, got {other:?}"),
    }
}

/// What a command may have changed: the audit trail and the invitations.
fn state(o: &Org) -> (usize, usize) {
    (o.events().len(), o.invitations(&[]).len())
}

/// 2 MB of distinct, valid addresses.
fn two_mb_of_addresses() -> String {
    let mut s = String::with_capacity(2_100_000);
    let mut i = 0;
    while s.len() < 2_000_000 {
        s.push_str(&format!("person{i}@acme.test, "));
        i += 1;
    }
    s
}

fn plain_member(o: &Org) -> Actor {
    as_member(&o.join("plain@acme.test", "member", "acct-plain"))
}

// ---------------------------------------------------------------------------
// 1. Batches are bounded, and authorized before they are read.

#[test]
fn a_member_who_may_not_invite_is_refused_before_a_2mb_paste_is_read() {
    let o = org_with_owner();
    let plain = plain_member(&o);
    let before = state(&o);
    // Separators only: no recipient would ever reach the per-row
    // authorization, so only an authorization before the paste refuses it.
    for paste in [",\n".repeat(1_000_000), two_mb_of_addresses()] {
        let err = o
            .engine
            .invite(o.id(), &plain, InviteRequest::new(Recipients::Paste(paste)))
            .expect_err("a member without invite rights");
        assert_eq!(err.code(), "permission_denied", "{err}");
    }
    // Nor through a form field or a list, nor as a stranger.
    let err = o
        .engine
        .invite(
            o.id(),
            &Actor::Anonymous,
            InviteRequest::new(Recipients::List(Vec::new())),
        )
        .expect_err("anonymous");
    assert_eq!(err.code(), "permission_denied", "{err}");
    assert_eq!(state(&o), before, "nothing stored");
}

#[test]
fn an_admins_2mb_paste_is_a_limit_error_on_its_size_and_stores_nothing() {
    let o = org_with_owner();
    let before = state(&o);
    let err = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste(two_mb_of_addresses())),
        )
        .expect_err("2 MB");
    // The size, not the count of recipients found by parsing it.
    assert_eq!(limit_of(&err), "recipient_bytes", "{err}");
    match &err {
        Error::LimitExceeded { max, actual, .. } => {
            assert_eq!(*max, 100 * 4 * 320, "max_batch × 4 × 320");
            assert!(*actual >= 2_000_000);
        }
        _ => unreachable!(),
    }
    assert_eq!(state(&o), before, "nothing stored");
}

#[test]
fn a_paste_of_many_small_fragments_is_refused_by_its_fragment_count() {
    let o = org_with_owner();
    let before = state(&o);
    // 401 fragments in 802 bytes: far under the byte cap, over 4 × 100.
    let err = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("x,".repeat(401))),
        )
        .expect_err("401 fragments");
    assert_eq!(limit_of(&err), "recipient_entries", "{err}");
    // 400 are fine (all rejected as invalid, none stored).
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("x,".repeat(400))),
        )
        .expect("400 fragments");
    assert_eq!(report.rejected.len(), 400);
    assert_eq!(state(&o).1, before.1);
}

#[test]
fn a_list_is_bounded_in_rows_and_in_each_field_before_any_work() {
    let o = org_with_owner();
    let before = state(&o);
    let owner = o.owner_actor();
    let rows: Vec<RecipientInput> = (0..401)
        .map(|i| RecipientInput::email(format!("bad{i}")))
        .collect();
    let err = o
        .engine
        .invite(o.id(), &owner, InviteRequest::new(Recipients::List(rows)))
        .expect_err("401 rows");
    assert_eq!(limit_of(&err), "recipient_entries", "{err}");

    let huge = "a".repeat(1_000_000);
    let mut cases: Vec<RecipientInput> = vec![
        RecipientInput::email(format!("{huge}@acme.test")),
        RecipientInput::identifier(huge.clone()),
    ];
    for field in 0..4 {
        let mut r = RecipientInput::email("ok@acme.test");
        match field {
            0 => r.first_name = Some(huge.clone()),
            1 => r.display_name = Some(huge.clone()),
            2 => r.role = Some(huge.clone()),
            _ => r.license_type = Some(huge.clone()),
        }
        cases.push(r);
    }
    for row in cases {
        let err = o
            .engine
            .invite(
                o.id(),
                &owner,
                InviteRequest::new(Recipients::List(vec![row.clone()])),
            )
            .expect_err("a 1 MB field");
        assert!(
            matches!(err.code(), "limit_exceeded" | "invalid_input"),
            "{err}"
        );
    }
    assert_eq!(state(&o), before, "nothing stored");
}

#[test]
fn send_staged_bounds_its_id_list() {
    let o = org_with_owner();
    let before = state(&o);
    let ids: Vec<InvitationId> = (0..101)
        .map(|i| InvitationId::from(format!("inv_{i}").as_str()))
        .collect();
    let err = o
        .engine
        .send_staged(o.id(), &o.owner_actor(), &ids)
        .expect_err("101 ids with max_batch 100");
    assert_eq!(limit_of(&err), "batch_size", "{err}");
    assert_eq!(state(&o), before);
}

// ---------------------------------------------------------------------------
// 2. Durations and far-off clocks.

#[test]
fn durations_past_a_year_are_refused_by_update_policy() {
    let o = org_with_owner();
    let before = state(&o);
    let policy = |f: &dyn Fn(&mut Policy)| {
        let mut p = Policy::default();
        f(&mut p);
        p
    };
    for p in [
        policy(&|p| p.resend_cooldown_secs = u64::MAX),
        policy(&|p| p.resend_cooldown_secs = 367 * 24 * 3600),
        policy(&|p| p.invitation_lifetime_secs = u64::MAX),
    ] {
        let err = o
            .engine
            .update_policy(o.id(), &o.owner_actor(), p)
            .expect_err("a duration past a year");
        assert_eq!(err.code(), "invalid_input", "{err}");
    }
    assert_eq!(state(&o), before);
}

#[test]
fn retry_policies_are_bounded_and_their_backoff_never_panics() {
    let huge = RetryPolicy {
        max_attempts: 8,
        base_delay_secs: u64::MAX,
        max_delay_secs: u64::MAX,
        claim_secs: u64::MAX,
    };
    assert!(huge.clone().validated().is_err());
    // Whatever a host put there, the delay is a bounded duration.
    for attempts in [0, 1, 2, 40, u32::MAX] {
        let d = huge.delay_after(attempts);
        assert!(d <= Duration::days(366), "{d}");
    }
    assert!(RetryPolicy::default().validated().is_ok());
    assert!(
        RetryPolicy {
            claim_secs: 0,
            ..RetryPolicy::default()
        }
        .validated()
        .is_err()
    );
}

/// The last second chrono can represent.
fn end_of_chrono() -> DateTime<Utc> {
    DateTime::<Utc>::MAX_UTC
}

/// An org with a pending invitation (and its queued email, claimed once
/// and failed once, so it has a backoff) and a staged one, made at a
/// normal time.
fn org_with_open_invitations(config: EngineConfig) -> (Org, InvitationId, InvitationId) {
    let clock = Arc::new(ManualClock::at_epoch_seconds(common::START_EPOCH_SECS));
    let engine = Enlist::new(Arc::new(MemoryStore::new()))
        .with_clock(clock.clone())
        .with_secrets(Arc::new(SeededSecrets::new(7)))
        .with_config(config);
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(NewOrganization::new(
            "Acme",
            common::OWNER_REF,
            common::OWNER_EMAIL,
        ))
        .expect("org");
    let o = Org {
        engine,
        clock,
        org,
        owner,
    };
    let sent = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("ada@acme.test".into())),
        )
        .expect("invite");
    let staged = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("bob@acme.test".into())).staged(),
        )
        .expect("stage");
    (
        o,
        sent.issued[0].invitation.id.clone(),
        staged.issued[0].invitation.id.clone(),
    )
}

#[test]
fn a_clock_at_the_end_of_time_gives_errors_not_panics_and_changes_nothing() {
    let (o, pending, staged) = org_with_open_invitations(EngineConfig::default());
    let owner = o.owner_actor();
    let msg = o.engine.claim_due(None, 10).expect("claim")[0].id.clone();
    let before = state(&o);
    for at in [end_of_chrono(), end_of_chrono() - Duration::days(400)] {
        o.clock.set(at);
        let errors = [
            o.engine
                .invite(
                    o.id(),
                    &owner,
                    InviteRequest::new(Recipients::Paste("cy@acme.test".into())),
                )
                .map(|_| ())
                .expect_err("invite"),
            o.engine
                .resend(o.id(), &owner, &pending)
                .map(|_| ())
                .expect_err("resend"),
            o.engine
                .send_staged(o.id(), &owner, std::slice::from_ref(&staged))
                .map(|_| ())
                .expect_err("send_staged"),
            o.engine
                .claim_due(None, 10)
                .map(|_| ())
                .expect_err("claim_due"),
            o.engine
                .mark_failed(&msg, "temporary", false)
                .map(|_| ())
                .expect_err("mark_failed"),
            o.engine.expire_due(at).map(|_| ()).expect_err("expire_due"),
        ];
        for e in errors {
            assert_eq!(e.code(), "invalid_input", "{e}");
        }
    }
    o.clock
        .set(DateTime::from_timestamp(common::START_EPOCH_SECS, 0).expect("time"));
    assert_eq!(state(&o), before, "nothing changed");
    let open = o.invitations(&[InvitationStatus::Pending, InvitationStatus::Staged]);
    assert_eq!(open.len(), 2);
}

#[test]
fn a_time_computed_past_year_9999_is_refused_not_stored() {
    let mut config = EngineConfig::default();
    config.retry.claim_secs = 3600;
    let (o, pending, staged) = org_with_open_invitations(config);
    let owner = o.owner_actor();
    let msg = o.engine.claim_due(None, 10).expect("claim")[0].id.clone();
    let before = state(&o);
    // Ten seconds before the last second of 9999: a week's lifetime, an
    // hour's claim, a minute's backoff all end past it.
    let late = DateTime::from_timestamp(253_402_300_789, 0).expect("time");
    o.clock.set(late);
    let errors = [
        o.engine
            .invite(
                o.id(),
                &owner,
                InviteRequest::new(Recipients::Paste("cy@acme.test".into())),
            )
            .map(|_| ())
            .expect_err("invite"),
        o.engine
            .resend(o.id(), &owner, &pending)
            .map(|_| ())
            .expect_err("resend"),
        o.engine
            .send_staged(o.id(), &owner, std::slice::from_ref(&staged))
            .map(|r| {
                assert!(
                    matches!(&r.results[0], enlist::SendOutcome::Failed { code, .. } if code == "invalid_input"),
                    "{r:?}"
                )
            })
            .err()
            .unwrap_or_else(|| Error::InvalidInput {
                field: "send_staged".into(),
                reason: "reported per invitation".into(),
            }),
        o.engine
            .claim_due(None, 10)
            .map(|_| ())
            .expect_err("claim_due"),
        o.engine
            .mark_failed(&msg, "temporary", false)
            .map(|_| ())
            .expect_err("mark_failed"),
    ];
    for e in errors {
        assert_eq!(e.code(), "invalid_input", "{e}");
    }
    assert_eq!(state(&o), before, "nothing changed");
}

#[test]
fn a_huge_claim_time_is_an_error_not_a_panic() {
    // The configuration is refused up front: `try_with_config` says why,
    // `with_config` keeps the settings it had (so claiming never computes
    // a time past year 9999 from it).
    let mut config = EngineConfig::default();
    config.retry.claim_secs = u64::MAX;
    let err = Enlist::in_memory()
        .try_with_config(config.clone())
        .expect_err("claim past 9999");
    assert_eq!(err.code(), "invalid_input", "{err}");
    let (o, _, _) = org_with_open_invitations(config);
    assert_eq!(o.engine.config().retry, RetryPolicy::default());
    assert_eq!(o.engine.claim_due(None, 10).expect("claim").len(), 1);
}

// ---------------------------------------------------------------------------
// 3. Labels and registration fields are bounded one-line text.

#[test]
fn eula_versions_and_license_types_are_short_clean_lines_everywhere() {
    let o = org_with_owner();
    let owner = o.owner_actor();
    let before = state(&o);
    let bad = [
        "x".repeat(65),
        "v1\u{2028}".into(),
        "v\u{200B}1".into(),
        "v1\nBcc".into(),
    ];
    for b in &bad {
        let mut policy = Policy::default();
        policy.eula_version = Some(b.clone());
        let err = o
            .engine
            .update_policy(o.id(), &owner, policy)
            .expect_err("eula_version");
        assert!(
            matches!(err.code(), "invalid_input" | "limit_exceeded"),
            "{err}"
        );
        let mut policy = Policy::default();
        policy.seat_limits.insert(b.clone(), 3);
        let err = o
            .engine
            .update_policy(o.id(), &owner, policy)
            .expect_err("a seat limit's license type");
        assert!(
            matches!(err.code(), "invalid_input" | "limit_exceeded"),
            "{err}"
        );
        let err = o
            .engine
            .invite(
                o.id(),
                &owner,
                InviteRequest::new(Recipients::Paste("cy@acme.test".into()))
                    .license_type(b.clone()),
            )
            .expect_err("an invitation's license type");
        assert!(
            matches!(err.code(), "invalid_input" | "limit_exceeded"),
            "{err}"
        );
        let m = o.owner.id.clone();
        let err = o
            .engine
            .update_member(
                o.id(),
                &owner,
                &m,
                MemberUpdate {
                    license_type: Some(b.clone()),
                    ..MemberUpdate::default()
                },
            )
            .expect_err("a member's license type");
        assert!(
            matches!(err.code(), "invalid_input" | "limit_exceeded"),
            "{err}"
        );
    }
    assert_eq!(state(&o), before, "nothing stored");

    let mut p = Policy::default();
    p.invite_link_enabled = true;
    let o = org_with_policy(p);
    let spec = LinkSpec {
        license_type: Some("pro\u{FEFF}".into()),
        ..LinkSpec::default()
    };
    let err = o
        .engine
        .activate_invite_link(o.id(), &o.owner_actor(), spec)
        .expect_err("a link's license type");
    assert!(
        matches!(err.code(), "invalid_input" | "limit_exceeded"),
        "{err}"
    );
}

#[test]
fn registration_fields_are_bounded_before_any_work() {
    let o = org_with_owner();
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("cy@acme.test".into())),
        )
        .expect("invite");
    let token = common::token_of(&report.issued[0]);
    let huge = "a".repeat(1_000_000);
    let before = state(&o);
    let good = common::registration("acct-cy");
    let cases = [
        enlist::Registration {
            eula_version: Some(huge.clone()),
            ..good.clone()
        },
        enlist::Registration {
            eula_version: Some("v1\u{2029}".into()),
            ..good.clone()
        },
        enlist::Registration {
            user_ref: huge.clone(),
            ..good.clone()
        },
        enlist::Registration {
            phone: Some(huge.clone()),
            ..good.clone()
        },
        enlist::Registration {
            first_name: Some("Cy\u{2028}Bcc: x".into()),
            ..good.clone()
        },
        enlist::Registration {
            verified_email: Some(format!("{huge}@acme.test")),
            ..good.clone()
        },
    ];
    for reg in cases {
        let err = o.engine.accept(&token, reg).expect_err("a bad field");
        assert!(
            matches!(err.code(), "invalid_input" | "limit_exceeded"),
            "{err}"
        );
    }
    assert_eq!(state(&o), before, "nothing stored");
    o.engine.accept(&token, good).expect("the good one");
}

// ---------------------------------------------------------------------------
// 4. CSV reports.

/// Splits CSV text with `sep` as a spreadsheet does: quotes respected.
fn cells(csv: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = csv.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if !quoted && (c == sep || c == '\n') => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[test]
fn report_cells_never_start_a_formula_whatever_the_separator() {
    let o = org_with_owner();
    let hostile = [
        "x;=HYPERLINK(1)",
        "x;=HYPERLINK(\"http://evil\")",
        " =1+1",
        "x\t=1+1",
        "\t@SUM(1)",
        "a;b;+1",
    ];
    let rows: Vec<RecipientInput> = hostile.iter().map(|h| RecipientInput::email(*h)).collect();
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::List(rows)),
        )
        .expect("invite");
    assert_eq!(report.rejected.len(), hostile.len());
    let csv = report.to_csv();
    for sep in [',', ';', '\t'] {
        for cell in cells(&csv, sep) {
            let t = cell.trim_start();
            assert!(
                !t.starts_with(['=', '+', '-', '@']),
                "separator {sep:?}: cell {cell:?} starts a formula in\n{csv}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// 5. One-line fields.

#[test]
fn one_line_fields_refuse_separators_and_invisible_characters() {
    let o = org_with_owner();
    let before = state(&o);
    for c in ['\u{2028}', '\u{2029}', '\u{200B}', '\u{FEFF}', '\u{2060}'] {
        let mut row = RecipientInput::email("cy@acme.test");
        row.first_name = Some(format!("Cy{c}rus"));
        let report = o
            .engine
            .invite(
                o.id(),
                &o.owner_actor(),
                InviteRequest::new(Recipients::List(vec![row])),
            )
            .expect("invite");
        assert!(report.issued.is_empty(), "U+{:04X} accepted", c as u32);
        assert_eq!(report.rejected[0].reason.code(), "invalid_field");
    }
    assert_eq!(state(&o).1, before.1, "nothing stored");
}

// ---------------------------------------------------------------------------
// The rest of the class: other lists and times a caller passes in.

#[test]
fn list_queries_and_group_lists_are_bounded() {
    let o = org_with_owner();
    let owner = o.owner_actor();
    let huge = "a".repeat(1_000_000);
    let q = enlist::InvitationQuery {
        search: Some(huge.clone()),
        ..enlist::InvitationQuery::default()
    };
    let err = o
        .engine
        .list_invitations(o.id(), &owner, &q)
        .expect_err("a 1 MB search");
    assert_eq!(limit_of(&err), "field_length");
    let q = enlist::MemberQuery {
        search: Some(huge.clone()),
        ..enlist::MemberQuery::default()
    };
    let err = o
        .engine
        .list_members(o.id(), &owner, &q)
        .expect_err("a 1 MB search");
    assert_eq!(limit_of(&err), "field_length");

    let before = state(&o);
    let grants: Vec<enlist::GroupGrant> = (0..101)
        .map(|i| enlist::GroupGrant::member(enlist::GroupId::from(format!("grp_{i}").as_str())))
        .collect();
    let err = o
        .engine
        .update_member(
            o.id(),
            &owner,
            &o.owner.id,
            MemberUpdate {
                groups: Some(grants),
                ..MemberUpdate::default()
            },
        )
        .expect_err("101 groups");
    assert_eq!(err.code(), "invalid_input", "{err}");
    assert_eq!(state(&o), before);
}

#[test]
fn activity_past_9999_is_refused_and_the_manual_clock_saturates() {
    let o = org_with_owner();
    let err = o
        .engine
        .record_activity(o.id(), &o.owner.id, end_of_chrono())
        .expect_err("year 262143");
    assert_eq!(err.code(), "invalid_input", "{err}");
    let clock = ManualClock::new(end_of_chrono() - Duration::days(1));
    clock.advance(Duration::MAX);
    assert_eq!(enlist::Clock::now(&clock), end_of_chrono());
}

#[test]
fn a_name_typed_with_the_address_follows_the_one_line_rule() {
    let o = org_with_owner();
    let long = "N".repeat(201);
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste(format!(
                "\"{long}\" <long@acme.test>, Fine Name <fine@acme.test>"
            ))),
        )
        .expect("invite");
    assert_eq!(report.issued.len(), 1);
    assert_eq!(
        report.issued[0].invitation.display_name.as_deref(),
        Some("Fine Name")
    );
    assert_eq!(report.rejected.len(), 1);
    // The paste parser refuses the name first (`display_name_too_long`);
    // the engine's one-line rule is the second line of defence for names
    // that reach it another way.
    assert_eq!(report.rejected[0].reason.code(), "invalid_address");
    assert!(
        report.rejected[0].reason.to_string().contains("200"),
        "{}",
        report.rejected[0].reason
    );
}

#[test]
fn import_report_cells_never_start_a_formula_whatever_the_separator() {
    let o = org_with_owner();
    let file = "Email,First name\n\
                \"x;=HYPERLINK(1)\",\"Ann;@SUM(1)\"\n\
                \" =1+1\",Bob\n\
                \"a\tb;-2\",Cy\n";
    let report = o
        .engine
        .import_invitations(
            o.id(),
            &o.owner_actor(),
            file.as_bytes(),
            enlist::ImportFormat::Csv,
            enlist::ImportDefaults::default(),
        )
        .expect("import");
    let csv = report.to_csv();
    assert!(csv.lines().count() >= 4, "{csv}");
    for sep in [',', ';', '\t'] {
        for cell in cells(&csv, sep) {
            assert!(
                !cell.trim_start().starts_with(['=', '+', '-', '@']),
                "separator {sep:?}: cell {cell:?} starts a formula in\n{csv}"
            );
        }
    }
}

#[test]
fn self_registration_and_codes_bound_the_registration_too() {
    let mut p = Policy::default();
    p.self_registration = true;
    let o = org_with_policy(p);
    let before = state(&o);
    let reg = enlist::Registration {
        eula_version: Some("v".repeat(1_000_000)),
        ..common::registration("acct-sr")
    };
    let err = o
        .engine
        .self_register(o.id(), "sr@acme.test", reg.clone())
        .expect_err("a 1 MB EULA version");
    assert_eq!(err.code(), "limit_exceeded", "{err}");
    let err = o
        .engine
        .self_register(
            o.id(),
            &format!("{}@acme.test", "s".repeat(1_000_000)),
            common::registration("acct-sr"),
        )
        .expect_err("a 1 MB contact");
    assert_eq!(err.code(), "limit_exceeded", "{err}");
    let err = o
        .engine
        .accept_with_code(o.id(), "EMP-1", "123456", reg)
        .expect_err("a 1 MB EULA version");
    assert_eq!(err.code(), "limit_exceeded", "{err}");
    assert_eq!(state(&o), before, "nothing stored");
}

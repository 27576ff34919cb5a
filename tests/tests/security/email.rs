//! Security tests: the paste parser and address keys (issue 10).
//!
//! A hostile paste (from a spreadsheet, a mail someone forwarded, a chat)
//! must not invite someone the person pasting did not see, must not put
//! anything into a mail header's name that could pose as an address, and
//! two spellings of one address must stay one recipient. What the parser
//! flags reaches the invite report, so a form can show it.

use enlist::email::{AddressError, AddressWarning, MAX_DISPLAY_NAME_CHARS};
use enlist::{
    Actor, InvitationQuery, InviteReport, InviteRequest, RecipientInput, Recipients, RejectReason,
};

use super::super::scenarios::common::{Org, accept, org_with_owner, token_of};

fn invite(o: &Org, recipients: Recipients) -> InviteReport {
    o.engine
        .invite(o.id(), &o.owner_actor(), InviteRequest::new(recipients))
        .expect("the batch itself is valid")
}

fn paste(o: &Org, text: &str) -> InviteReport {
    invite(o, Recipients::Paste(text.to_owned()))
}

/// The parser's error for each rejected recipient, in input order.
fn address_errors(report: &InviteReport) -> Vec<(usize, &'static str)> {
    report
        .rejected
        .iter()
        .map(|r| match &r.reason {
            RejectReason::InvalidAddress { error } => (r.index, error.code()),
            other => panic!("{}: not an address error: {other:?}", r.input),
        })
        .collect()
}

fn invited_recipients(o: &Org) -> Vec<String> {
    o.engine
        .list_invitations(o.id(), &Actor::System, &InvitationQuery::default())
        .expect("list")
        .items
        .into_iter()
        .map(|i| i.recipient.as_str().to_owned())
        .collect()
}

#[test]
fn parser_warnings_reach_the_invite_report_and_its_csv() {
    let o = org_with_owner();
    let report = paste(
        &o,
        "Ada <ada@ｅｘａｍｐｌｅ.com>\nbob@example.com\npаypal@example.com", // Cyrillic а
    );
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    let warnings: Vec<_> = report.issued.iter().map(|i| i.warnings.clone()).collect();
    assert_eq!(
        warnings,
        [
            vec![
                AddressWarning::InternationalDomain,
                AddressWarning::Confusable
            ],
            vec![],
            vec![
                AddressWarning::InternationalLocalPart,
                AddressWarning::Confusable
            ],
        ]
    );
    let csv = report.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].ends_with(",warnings"), "{csv}");
    assert!(
        lines[1].ends_with(",international_domain confusable"),
        "{csv}"
    );
    assert!(lines[2].ends_with(','), "{csv}");
    assert!(
        lines[3].ends_with(",international_local_part confusable"),
        "{csv}"
    );

    // A structured row's address is flagged the same way.
    let report = invite(
        &o,
        Recipients::List(vec![RecipientInput::email("Eve <еve@example.org>")]),
    );
    assert_eq!(
        report.issued[0].warnings,
        [
            AddressWarning::InternationalLocalPart,
            AddressWarning::Confusable
        ]
    );
    // The field is optional on the wire (reports stored before it existed).
    let mut json = serde_json::to_value(&report.issued[0]).expect("serializes");
    json.as_object_mut().expect("an object").remove("warnings");
    let back: enlist::IssuedInvitation = serde_json::from_value(json).expect("deserializes");
    assert!(back.warnings.is_empty());
}

#[test]
fn a_spoofed_entry_invites_nobody() {
    let o = org_with_owner();
    let report = paste(
        &o,
        "alice@example.com <evil1@evil.example>\n\
         \"Alice <alice@example.com>\" <evil2@evil.example>\n\
         \"alice@example.com\" <evil3@evil.example>\n\
         Alice <alice@example.com> <evil4@evil.example>\n\
         <alice@example.com><evil5@evil.example>\n\
         =?utf-8?q?alice=40example.com?= <evil6@evil.example>\n\
         =?utf-8?q?evil7=40evil.example?=@example.com\n\
         bob@example.com",
    );
    assert_eq!(
        address_errors(&report),
        [
            (0, "address_in_name"),
            (1, "address_in_name"),
            (2, "address_in_name"),
            (3, "two_addresses"),
            (4, "two_addresses"),
            (5, "encoded_word"),
            (6, "encoded_word"),
        ]
    );
    assert_eq!(invited_recipients(&o), ["bob@example.com"]);
    let first = &report.rejected[0];
    assert_eq!(first.input, "alice@example.com <evil1@evil.example>");
    assert!(first.reason.to_string().contains("alice@example.com"));
}

#[test]
fn pasted_display_names_are_bounded_and_plain() {
    let o = org_with_owner();
    let longest = "é".repeat(MAX_DISPLAY_NAME_CHARS);
    let text = format!(
        "\"{longest}\" <ok@example.com>\n\
         {longest}x <long@example.com>\n\
         \"Ada \\\"The Countess\\\"\" <quote@example.com>\n\
         \"Ada <ada@example.com>\" <ada@example.com>\n\
         \"Ada\u{200B}\" <zwsp@example.com>\n\
         \"Ada\u{FEFF}\" <bom@example.com>\n\
         \"Ada\u{2060}\" <wj@example.com>\n\
         \"Ada\u{202E}\" <bidi@example.com>\n\
         \"Ada\u{AD}\" <shy@example.com>"
    );
    let report = paste(&o, &text);
    assert_eq!(
        address_errors(&report),
        [
            (1, "display_name_too_long"),
            (2, "display_name_character"),
            (3, "display_name_character"),
            (4, "display_name_control"),
            (5, "display_name_control"),
            (6, "display_name_control"),
            (7, "display_name_control"),
            (8, "display_name_control"),
        ]
    );
    assert_eq!(
        report.rejected[0].reason,
        RejectReason::InvalidAddress {
            error: AddressError::DisplayNameTooLong {
                len: MAX_DISPLAY_NAME_CHARS + 1,
                max: MAX_DISPLAY_NAME_CHARS
            }
        }
    );
    assert_eq!(report.issued.len(), 1);
    assert_eq!(
        report.issued[0].invitation.display_name.as_deref(),
        Some(longest.as_str())
    );
    assert_eq!(invited_recipients(&o), ["ok@example.com"]);
}

/// Found by the paste fuzz target: a capital sigma ending the domain was
/// stored as a final sigma (ς) while the key mapped it to σ, so the stored
/// address made another key and escaped "already invited" and "already a
/// member".
#[test]
fn the_stored_address_is_the_same_recipient_again() {
    let o = org_with_owner();
    let report = paste(&o, "ЕOAtpp@YgA.ΧgaOOOΣ");
    assert_eq!(report.issued.len(), 1, "{:?}", report.rejected);
    let issued = &report.issued[0];
    let stored = issued.invitation.recipient.as_str().to_owned();

    let again = paste(&o, &stored);
    assert!(again.issued.is_empty(), "invited twice: {stored}");
    assert!(matches!(
        again.rejected[0].reason,
        RejectReason::AlreadyInvited { .. }
    ));

    accept(&o.engine, &token_of(issued), "acct-sigma");
    for spelling in [stored.as_str(), "еoatpp@yga.χgaoooσ", "ЕOATPP@YGA.ΧGAOOOΣ"] {
        let again = paste(&o, spelling);
        assert!(
            again.issued.is_empty(),
            "invited a member again: {spelling}"
        );
        assert!(
            matches!(again.rejected[0].reason, RejectReason::AlreadyMember { .. }),
            "{spelling}: {:?}",
            again.rejected
        );
    }
}

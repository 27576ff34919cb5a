//! Seed 000 — "Guided step: Summary and reports. Review the Invitations
//! Report and the Errors Report. You can select Download Report in either
//! of these sections to view more details."
//!
//! Mapping: every bulk command (an invite, a send of staged invitations,
//! an import) keeps a [`BatchReport`] in its own transaction; the host's
//! summary page (or a page opened a week later) fetches it again with
//! [`Enlist::batch_report`] by batch id, and its two Download Report
//! buttons are [`BatchReport::invitations_csv`] / [`BatchReport::errors_csv`]
//! or their XLSX forms. No report holds a secret.

use super::common::*;
use chrono::Duration;
use enlist::*;
use std::io::Read;

/// The text of every cell of an XLSX file (its shared strings).
fn xlsx_text(bytes: &[u8]) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a workbook");
    let mut text = String::new();
    zip.by_name("xl/sharedStrings.xml")
        .expect("strings")
        .read_to_string(&mut text)
        .expect("read");
    text
}

fn employee(first: &str, last: &str, email: Option<&str>) -> RecipientInput {
    RecipientInput {
        email: email.map(str::to_owned),
        first_name: Some(first.to_owned()),
        last_name: Some(last.to_owned()),
        ..RecipientInput::default()
    }
}

/// "Select Send ... Summary and reports": the employees with a valid,
/// unique email are in the Invitations Report with the role they were
/// given; those without an email (and the duplicate) are in the Errors
/// Report with the reason; both download as CSV and XLSX, and both can be
/// fetched again by batch id a week later, unchanged.
#[test]
fn the_summary_shows_two_reports_that_can_be_downloaded_again_later() {
    let o = org_with_owner();
    let admin = o.join("admin@acme.test", "admin", "acct-admin");
    let admin = as_member(&admin);
    let rows = vec![
        employee("Ann", "Archer", Some("ann@acme.test")),
        employee("Carl", "NoMail", None),
        RecipientInput {
            role: Some("user_admin".into()),
            ..employee("Dana", "Diaz", Some("dana@acme.test"))
        },
        employee("Ann", "Again", Some("ANN@acme.test")),
        employee("Eve", "Typo", Some("eve@@acme.test")),
    ];
    let sent = o
        .engine
        .invite(
            o.id(),
            &admin,
            InviteRequest::new(Recipients::List(rows)).role("member"),
        )
        .expect("Send");
    assert_eq!(sent.issued.len(), 2);
    assert_eq!(sent.rejected.len(), 3);
    let secrets: Vec<String> = sent.issued.iter().map(token_of).collect();

    // The summary page, right after Send.
    let report = o
        .engine
        .batch_report(o.id(), &admin, &sent.batch_id)
        .expect("the summary");
    // "Invitations Report: Lists the users whose invitations were sent
    // successfully."
    let invited: Vec<(&str, Option<&str>)> = report
        .invitations()
        .map(|r| (r.contact.as_str(), r.role.as_deref()))
        .collect();
    assert_eq!(
        invited,
        [
            ("ann@acme.test", Some("member")),
            ("dana@acme.test", Some("user_admin"))
        ]
    );
    // "Errors Report: Lists the users whose invitations cannot be sent due
    // to errors with their email address."
    let errors: Vec<(u64, Option<&str>, Option<&str>)> = report
        .errors()
        .map(|r| (r.line, r.first_name.as_deref(), r.error_code.as_deref()))
        .collect();
    assert_eq!(
        errors,
        [
            (2, Some("Carl"), Some("missing_contact")),
            (4, Some("Ann"), Some("duplicate_in_batch")),
            (5, Some("Eve"), Some("invalid_address")),
        ]
    );
    let duplicate = report.errors().nth(1).expect("the duplicate");
    assert_eq!(
        duplicate.error_message.as_deref(),
        Some("duplicate of line 1")
    );

    // "Download Report" in either section: CSV and XLSX.
    let invitations_csv = report.invitations_csv();
    let errors_csv = report.errors_csv();
    assert!(
        invitations_csv.starts_with("line,contact,first_name,last_name,role,groups,outcome,id\n")
    );
    assert!(invitations_csv.contains("1,ann@acme.test,Ann,Archer,member,,issued,inv_"));
    assert!(!invitations_csv.contains("Carl"));
    assert!(errors_csv.contains("2,,Carl,NoMail,member,,missing_contact,"));
    assert!(!errors_csv.contains("dana@acme.test"));
    let invitations_xlsx = xlsx_text(&report.invitations_xlsx().expect("xlsx"));
    let errors_xlsx = xlsx_text(&report.errors_xlsx().expect("xlsx"));
    assert!(invitations_xlsx.contains("dana@acme.test"));
    assert!(errors_xlsx.contains("NoMail") && errors_xlsx.contains("missing_contact"));
    assert!(!errors_xlsx.contains("dana@acme.test"));
    // No report holds a secret.
    for file in [
        &invitations_csv,
        &errors_csv,
        &invitations_xlsx,
        &errors_xlsx,
    ] {
        for s in &secrets {
            assert!(!file.contains(s.as_str()));
        }
    }

    // A week later, the same reports by batch id.
    o.advance(Duration::days(7));
    let again = o
        .engine
        .batch_report(o.id(), &admin, &sent.batch_id)
        .expect("fetched again");
    assert_eq!(again, report);
    assert_eq!(again.errors_csv(), errors_csv);
}

/// Seed 004's "Send invites" on selected staged users, one of them revoked
/// meanwhile: the send's own report (under `SendReport::batch_id`) lists
/// the one sent and the one that could not be.
#[test]
fn a_send_of_staged_users_has_its_own_reports() {
    let o = org_with_owner();
    let owner = o.owner_actor();
    let staged = o
        .engine
        .invite(
            o.id(),
            &owner,
            InviteRequest::new(Recipients::List(vec![
                employee("Fay", "First", Some("fay@acme.test")),
                employee("Gus", "Gone", Some("gus@acme.test")),
            ]))
            .staged(),
        )
        .expect("Save User");
    let ids: Vec<InvitationId> = staged
        .issued
        .iter()
        .map(|i| i.invitation.id.clone())
        .collect();
    o.engine
        .revoke(o.id(), &owner, &ids[1])
        .expect("revoke Gus");
    let sent = o
        .engine
        .send_staged(o.id(), &owner, &ids)
        .expect("Send invites");
    let report = o
        .engine
        .batch_report(o.id(), &owner, sent.batch_id.as_ref().expect("kept"))
        .expect("the report");
    assert_eq!(report.kind, ReportKind::SendStaged);
    let sent_rows: Vec<&str> = report.invitations().map(|r| r.contact.as_str()).collect();
    assert_eq!(sent_rows, ["fay@acme.test"]);
    let failed: Vec<(&str, Option<&str>)> = report
        .errors()
        .map(|r| (r.contact.as_str(), r.error_code.as_deref()))
        .collect();
    assert_eq!(failed, [("gus@acme.test", Some("invitation_not_open"))]);
    assert!(report.errors_csv().contains("Gus,Gone"));
}

/// A batch's report belongs to its organization: another organization's
/// administrator gets "not found" for it, and a member who may not see
/// the member list is refused.
#[test]
fn a_report_is_read_only_where_it_was_made() {
    let o = org_with_owner();
    let owner = o.owner_actor();
    let sent = o
        .engine
        .invite(
            o.id(),
            &owner,
            InviteRequest::new(Recipients::Paste("hal@acme.test".into())),
        )
        .expect("invite");
    let other = org_with_owner();
    let err = other
        .engine
        .batch_report(other.id(), &other.owner_actor(), &sent.batch_id)
        .unwrap_err();
    assert_eq!(err.code(), "not_found");
    o.engine
        .define_role(o.id(), &owner, "contractor", PermissionSet::new())
        .expect("role");
    let contractor = o.join("cy@acme.test", "contractor", "acct-cy");
    let err = o
        .engine
        .batch_report(o.id(), &as_member(&contractor), &sent.batch_id)
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied");
}

/// Seed 002's "fill in the Excel file template": the template has the
/// organization's roles and groups as drop-down lists, and once filled in
/// it imports; its report is kept under the import's report id.
#[test]
fn the_excel_template_lists_roles_and_groups_and_its_import_has_a_report() {
    let o = org_with_owner();
    let owner = o.owner_actor();
    for name in ["Sales", "Support"] {
        o.engine
            .create_group(
                o.id(),
                &owner,
                NewGroup {
                    name: name.into(),
                    ..NewGroup::default()
                },
            )
            .expect("group");
    }
    let template = o
        .engine
        .import_template_xlsx(o.id(), &owner)
        .expect("the template");
    let text = xlsx_text(&template);
    for name in [
        "Email", "Role", "Groups", "member", "admin", "Sales", "Support",
    ] {
        assert!(text.contains(name), "{name} in the template");
    }
    let sheet = parse_import(&template, ImportFormat::Xlsx, &ImportLimits::default())
        .expect("the empty template reads");
    assert!(sheet.rows.is_empty() && sheet.errors.is_empty());

    let imported = o
        .engine
        .import_invitations(
            o.id(),
            &owner,
            b"Email,First name,Groups\nivy@acme.test,Ivy,Sales\n,Nobody,\n",
            ImportFormat::Csv,
            ImportDefaults::default(),
        )
        .expect("import");
    let report = o
        .engine
        .batch_report(o.id(), &owner, imported.report_id.as_ref().expect("kept"))
        .expect("report");
    assert_eq!(report.kind, ReportKind::Import);
    assert_eq!(
        report.invitations().map(|r| r.line).collect::<Vec<_>>(),
        [2]
    );
    assert_eq!(report.errors().map(|r| r.line).collect::<Vec<_>>(), [3]);
}

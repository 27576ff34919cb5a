//! Seed 000 — "Invite Users From Spectrum", walked with the engine's own
//! assistant ([`DirectoryAssistant`]) over a directory of two companies:
//! select a company, see the active employees who are not users yet, filter
//! and sort, select across filter changes, assign roles one by one and in
//! bulk, review "Invitations to send" against "Invitation errors", send,
//! and download the Invitations Report and the Errors Report.

use super::common::*;
use enlist::*;

fn employee(
    id: &str,
    first: &str,
    last: &str,
    email: Option<&str>,
    title: &str,
    department: &str,
) -> DirectoryEmployee {
    let mut e = DirectoryEmployee::new(id);
    e.first_name = Some(first.into());
    e.last_name = Some(last.into());
    e.email = email.map(str::to_owned);
    e.job_title = Some(title.into());
    e.department = Some(department.into());
    e
}

/// The HR system ("Spectrum") of an enterprise with two companies.
fn spectrum() -> MemoryDirectory {
    let mut retired = employee(
        "B-9",
        "Ray",
        "Tired",
        Some("ray@builders.test"),
        "Accountant",
        "Finance",
    );
    retired.employment_status = "Terminated".into();
    let mut lead = employee(
        "B-5",
        "Lea",
        "Lead",
        Some("lea@builders.test"),
        "Accounting lead",
        "Finance",
    );
    lead.suggested_role = Some("User admin".into());
    MemoryDirectory::new()
        .with_company(
            "builders",
            "Acme Builders",
            vec![
                employee(
                    "B-1",
                    "Ann",
                    "Abel",
                    Some("ann@builders.test"),
                    "Accountant",
                    "Finance",
                ),
                employee(
                    "B-2",
                    "Ben",
                    "Best",
                    Some("ben@builders.test"),
                    "Accountant",
                    "Finance",
                ),
                employee("B-3", "Cat", "Cole", None, "Accountant", "Finance"),
                employee(
                    "B-4",
                    "Dan",
                    "Dole",
                    Some("ann@builders.test"),
                    "Site manager",
                    "Field",
                ),
                lead,
                employee(
                    "B-6",
                    "Eve",
                    "Ecker",
                    Some("eve@builders.test"),
                    "Driver",
                    "Field",
                ),
                employee(
                    "B-7",
                    "Fay",
                    "Fink",
                    Some("owner@acme.test"),
                    "CEO",
                    "Board",
                ),
                employee(
                    "B-8",
                    "Gus",
                    "Gale",
                    Some("gus@builders.test"),
                    "Driver",
                    "Field",
                ),
                retired,
            ],
        )
        .with_company(
            "services",
            "Acme Services",
            vec![employee(
                "S-1",
                "Hal",
                "Hart",
                Some("hal@services.test"),
                "Accountant",
                "Finance",
            )],
        )
}

fn ids(rows: &[DirectoryRow]) -> Vec<&str> {
    rows.iter().map(|r| r.employee.id.as_str()).collect()
}

#[test]
fn invite_users_from_the_hr_system_with_two_companies_filters_and_a_kept_selection() {
    let o = org_with_owner();
    let admin = o.owner_actor();
    // Gus was invited by hand last week.
    o.engine
        .invite(
            o.id(),
            &admin,
            InviteRequest::new(Recipients::Paste("gus@builders.test".into())),
        )
        .expect("invite Gus");
    let hr = spectrum();

    // "If you have multiple companies in your enterprise, the Select
    // Company dropdown field displays as step 1."
    let mut a = o
        .engine
        .directory_start(o.id(), &admin, &hr)
        .expect("start");
    assert!(a.needs_company());
    let names: Vec<&str> = a.companies().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Acme Builders", "Acme Services"]);
    o.engine
        .directory_choose_company(o.id(), &admin, &hr, &mut a, "builders")
        .expect("choose");

    // "The Spectrum Employee List displays, showing all active employees in
    // Spectrum, who are not set up as users": not Fay (the owner's
    // address), not Gus (invited), not Ray (terminated).
    assert_eq!(
        ids(&a.visible()),
        ["B-1", "B-2", "B-3", "B-4", "B-5", "B-6"]
    );
    assert_eq!(a.left_out(), (2, 1));

    // "To add users from the accounting team, you can filter by the
    // appropriate job title and then select the users to add."
    a.set_filter(DirectoryField::JobTitle, Some("accountant"))
        .expect("filter");
    assert_eq!(ids(&a.visible()), ["B-1", "B-2", "B-3"]);
    a.select_all_filtered();
    a.deselect(&["B-2".into()]);
    // "If you clear and reset filters, the system retains the list of
    // employees already selected."
    a.clear_filters();
    a.set_filter(DirectoryField::Department, Some("field"))
        .expect("filter");
    a.set_sort(Some((DirectoryField::LastName, true)));
    assert_eq!(ids(&a.visible()), ["B-6", "B-4"]);
    a.select(&["B-4".into()]);
    a.clear_filters();
    a.select(&["B-5".into()]);
    assert_eq!(a.selected(), ["B-1", "B-3", "B-4", "B-5"]);

    // "Assign roles ... or leave their default role as shown": the
    // directory's suggestion (written its own way), else the default role.
    assert_eq!(a.role_of("B-1").as_deref(), Some("member"));
    assert_eq!(a.role_of("B-5").as_deref(), Some("user_admin"));
    // "To assign the same role to multiple users at once ... Change Role",
    // then one by one.
    a.clear_selection();
    a.select(&["B-1".into(), "B-3".into()]);
    a.set_role_for_selection("user_admin").expect("bulk role");
    a.set_role("B-3", "member").expect("one role");
    a.select(&["B-4".into(), "B-5".into()]);
    assert_eq!(a.role_of("B-1").as_deref(), Some("user_admin"));
    assert_eq!(a.role_of("B-3").as_deref(), Some("member"));

    // The assistant is a value the host keeps between screens.
    let kept = serde_json::to_string(&a).expect("to the session");
    let a: DirectoryAssistant = serde_json::from_str(&kept).expect("from the session");

    // "Review and send invitations": to send, and errors (no email on file,
    // an address that is not unique).
    let review = o
        .engine
        .directory_review(o.id(), &admin, &a)
        .expect("review");
    let to_send: Vec<(&str, &str)> = review
        .to_send
        .iter()
        .map(|r| (r.employee.id.as_str(), r.role.as_str()))
        .collect();
    assert_eq!(to_send, [("B-1", "user_admin"), ("B-5", "user_admin")]);
    let errors: Vec<(&str, &str)> = review
        .errors
        .iter()
        .map(|r| {
            (
                r.employee.id.as_str(),
                r.reason.as_ref().map_or("", |r| r.code()),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [("B-3", "missing_contact"), ("B-4", "duplicate_in_batch")]
    );

    // "Select Send": one batch, the normal invite path.
    let events = o.events().len();
    let sent = o
        .engine
        .directory_send(o.id(), &admin, &a, Some("Welcome aboard"))
        .expect("send");
    assert_eq!(sent.report.issued.len(), 2);
    assert_eq!(sent.report.rejected.len(), 2);
    assert_eq!(o.events().len(), events + 2, "one event per invitation");
    // "These users will show a status of Invited on the User Management page."
    let pending: Vec<String> = o
        .invitations(&[InvitationStatus::Pending])
        .iter()
        .map(|i| i.recipient.as_str().to_owned())
        .collect();
    for email in [
        "ann@builders.test",
        "lea@builders.test",
        "gus@builders.test",
    ] {
        assert!(pending.iter().any(|p| p == email), "{email} in {pending:?}");
    }

    // "Summary and reports": the Invitations Report and the Errors Report.
    let invitations = sent.invitations_csv();
    assert_eq!(invitations.lines().count(), 3, "{invitations}");
    assert!(invitations.contains("B-1,Ann Abel,ann@builders.test,user_admin,pending,inv_"));
    assert!(invitations.contains("B-5,Lea Lead,lea@builders.test,user_admin,pending,inv_"));
    let errors = sent.errors_csv();
    assert_eq!(errors.lines().count(), 3, "{errors}");
    assert!(
        errors.contains("B-3,Cat Cole,,missing_contact,no email address or identifier on file"),
        "{errors}"
    );
    assert!(errors.contains("B-4,Dan Dole,ann@builders.test,duplicate_in_batch,"));
    for issued in &sent.report.issued {
        let secret = issued.secret.as_ref().expect("sent").expose().to_owned();
        assert!(!invitations.contains(&secret) && !errors.contains(&secret));
    }

    // Invited people leave the list: loading the company again.
    let mut a = a;
    o.engine
        .directory_choose_company(o.id(), &admin, &hr, &mut a, "builders")
        .expect("reload");
    // (Dan shares Ann's address, now invited; the sort is kept.)
    assert_eq!(ids(&a.visible()), ["B-6", "B-3", "B-2"]);
    assert_eq!(a.selected(), ["B-3"]);

    // The other company starts afresh.
    o.engine
        .directory_choose_company(o.id(), &admin, &hr, &mut a, "services")
        .expect("other company");
    assert!(a.selected().is_empty());
    assert_eq!(ids(&a.visible()), ["S-1"]);
}

/// "If you do not have multiple companies in your enterprise, skip this
/// step": an HR export in CSV with one company.
#[test]
fn one_company_from_a_csv_export_skips_the_company_step() {
    let o = org_with_owner();
    let admin = o.owner_actor();
    let csv = "Employee ID;First name;Last name;Work email;Job title;Department;Employment status;Role\n\
               1;Ann;Abel;ann@acme.test;Accountant;Finance;Active;\n\
               2;Ben;Best;ben@acme.test;Driver;Field;On leave;\n\
               3;Cat;Cole;cat@acme.test;Accountant;Finance;Active;User admin\n";
    let hr = CsvDirectory::from_csv(csv.as_bytes()).expect("read the export");
    let mut a = o
        .engine
        .directory_start(o.id(), &admin, &hr)
        .expect("start");
    assert!(!a.needs_company());
    assert_eq!(ids(&a.visible()), ["1", "3"]);
    a.select_all_filtered();
    let sent = o
        .engine
        .directory_send(o.id(), &admin, &a, None)
        .expect("send");
    let roles: Vec<&str> = sent
        .report
        .issued
        .iter()
        .map(|i| i.invitation.role.as_str())
        .collect();
    assert_eq!(roles, ["member", "user_admin"]);
}

/// Only those who may invite members and see the member list use the
/// assistant; a plain member is refused before the HR system is asked.
#[test]
fn a_plain_member_cannot_run_the_assistant() {
    let o = org_with_owner();
    let pat = o.join("pat@acme.test", "member", "acct-pat");
    let err = o
        .engine
        .directory_start(o.id(), &as_member(&pat), &spectrum())
        .expect_err("refused");
    assert_eq!(err.code(), "permission_denied");
}

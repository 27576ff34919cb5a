//! The quickstart: the whole "invite your team" flow on the in-memory store.
//!
//! Run it with `cargo run -p enlist --example quickstart`.
//!
//! 1. Create an organization with its owner, a default group and another group.
//! 2. Invite a pasted list of recipients and print the report
//!    ("Invitations to send" / "Invitation errors").
//! 3. Deliver the outbox through a mailer that prints each email.
//! 4. Open one link as the invitee would: preview it, then accept it.
//! 5. List the members, the license usage and the last audit events.

use enlist::{
    Actor, Enlist, EventKind, GroupQuery, InviteRequest, MailError, Mailer, MemberQuery, NewGroup,
    NewOrganization, OutgoingEmail, Policy, Recipients, Registration,
};
use std::collections::HashMap;
use std::sync::Mutex;

/// A mailer that prints every email instead of sending it, and remembers the
/// links it printed so the example can "click" one.
#[derive(Default)]
struct ConsoleMailer {
    links: Mutex<Vec<(String, String)>>,
}

impl Mailer for ConsoleMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        // A name with a comma or other specials must be quoted in a header.
        let to = match &email.to_name {
            Some(name) if name.contains([',', ';', '"', '<', '>', '@', ':']) => {
                format!("\"{}\" <{}>", name.replace('"', "\\\""), email.to)
            }
            Some(name) => format!("{name} <{}>", email.to),
            None => email.to.clone(),
        };
        println!("  ┌─ To: {to}");
        println!("  │  Subject: {}", email.subject);
        println!("  │");
        for line in email.text_body.lines() {
            println!("{}", format!("  │  {line}").trim_end());
        }
        println!("  └─");
        self.links
            .lock()
            .map_err(|_| MailError::Temporary("mailer state poisoned".into()))?
            .push((email.to.clone(), email.accept_url.clone()));
        Ok(())
    }
}

fn heading(title: &str) {
    println!("\n== {title} ==");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = Enlist::in_memory();

    // 1. An organization, its owner, and two groups. -----------------------
    let mut policy = Policy::default();
    policy.accept_url_base = Some("https://app.acme.example/invitations/accept".into());
    policy.seat_limits.insert("standard".into(), 10);
    let (org, owner) = engine.create_organization(
        NewOrganization::new("Acme", "acct-ada", "ada@acme.example")
            .with_owner_name("Ada", "Lovelace")
            .with_policy(policy),
    )?;
    let admin = Actor::Member(owner.id.clone());
    let everyone = engine.create_group(
        &org.id,
        &admin,
        NewGroup {
            name: "Everyone".into(),
            description: "New members land here".into(),
            is_default: true,
        },
    )?;
    let engineering = engine.create_group(
        &org.id,
        &admin,
        NewGroup {
            name: "Engineering".into(),
            description: "Builds the product".into(),
            is_default: false,
        },
    )?;
    engine.add_group_member(
        &org.id,
        &admin,
        &engineering.id,
        &owner.id,
        Some(enlist::GroupRole::Owner),
    )?;
    heading("Organization");
    println!("  {} ({})", org.name, org.id);
    println!(
        "  owner: {} <{}>",
        owner.display_name(),
        owner.contact.as_str()
    );
    println!(
        "  groups: {} (default), {}",
        everyone.name, engineering.name
    );

    // 2. Invite a pasted list. -------------------------------------------
    // Three formats, plus a typo, a duplicate and someone already in.
    let paste = "bob@acme.example, Carol Jones <carol@acme.example>\n\
                 \"Doe, Dana\" <dana@acme.example>; erin@acme\n\
                 BOB@acme.example, ada@acme.example";
    heading("Pasted recipients");
    for line in paste.lines() {
        println!("  | {}", line.trim());
    }
    // What a form shows while the person types ("9 recognized").
    let parsed = enlist::parse_recipients(paste);
    println!(
        "  {} entries, {} distinct addresses recognized",
        parsed.entries.len(),
        parsed.recognized()
    );
    let report = engine.invite(
        &org.id,
        &admin,
        InviteRequest::new(Recipients::Paste(paste.into()))
            .message("Welcome aboard! Our planning lives here now."),
    )?;
    heading(&format!("Invitations to send ({})", report.issued.len()));
    for i in &report.issued {
        let name = i.invitation.display_name.as_deref().unwrap_or("-");
        println!(
            "  #{:<2} {:<22} {:<12} role {:<8} {}",
            i.index + 1,
            i.invitation.recipient.as_str(),
            name,
            i.invitation.role,
            i.invitation.status.as_str(),
        );
    }
    heading(&format!("Invitation errors ({})", report.rejected.len()));
    for r in &report.rejected {
        println!("  #{:<2} {:<22} {}", r.index + 1, r.input, r.reason);
    }
    heading("Download report (CSV, no secrets)");
    for line in report.to_csv().lines() {
        println!("  {line}");
    }

    // 3. Deliver the outbox. ---------------------------------------------
    heading("Delivering the outbox");
    let mailer = ConsoleMailer::default();
    let delivery = engine.deliver_pending(&mailer, 100)?;
    println!(
        "  sent {}, retrying {}, failed {}",
        delivery.sent.len(),
        delivery.retrying.len(),
        delivery.failed.len()
    );

    // 4. Carol clicks the link in her email. ------------------------------
    let link = mailer
        .links
        .lock()
        .map_err(|_| "mailer state poisoned")?
        .iter()
        .find(|(to, _)| to == "carol@acme.example")
        .map(|(_, url)| url.clone())
        .ok_or("no email was sent to carol@acme.example")?;
    // The landing page reads the token from the link's query string.
    let token = link
        .split_once("token=")
        .map(|(_, t)| t)
        .ok_or("the link carries no token")?;
    heading("Carol opens her link (preview: nothing is consumed)");
    let preview = engine.preview(token)?;
    println!("  organization: {}", preview.org_name);
    println!(
        "  invited by:   {}",
        preview
            .inviter_name
            .as_deref()
            .unwrap_or("an administrator")
    );
    println!(
        "  for:          {} as {}",
        preview.recipient.as_str(),
        preview.role
    );
    println!("  status:       {}", preview.status.as_str());
    if let Some(exp) = preview.expires_at {
        println!("  expires:      {}", exp.format("%Y-%m-%d %H:%M UTC"));
    }
    let needs = &preview.requirements;
    println!(
        "  registration asks for: first name {}, last name {}, phone {}",
        yes_no(needs.first_name),
        yes_no(needs.last_name),
        yes_no(needs.phone)
    );

    heading("Carol accepts");
    let accepted = engine.accept(
        token,
        Registration {
            user_ref: "acct-carol".into(),
            first_name: Some("Carol".into()),
            last_name: Some("Jones".into()),
            verified_email: Some("carol@acme.example".into()),
            ..Registration::default()
        },
    )?;
    println!(
        "  {} joined as {} ({})",
        accepted.member.display_name(),
        accepted.member.role,
        accepted.member.status.as_str()
    );
    match engine.accept(token, Registration::default()) {
        Ok(_) => println!("  unexpected: the same link worked twice"),
        Err(e) => println!("  the same link again: refused [{}] {e}", e.code()),
    }

    // 5. Members, seats and the audit trail. ----------------------------
    let group_names: HashMap<_, _> = engine
        .list_groups(&org.id, &admin, &GroupQuery::default())?
        .into_iter()
        .map(|g| (g.id.clone(), g))
        .collect();
    heading("Members");
    let members = engine.list_members(&org.id, &admin, &MemberQuery::default())?;
    for m in &members.items {
        let groups: Vec<String> = m
            .groups
            .iter()
            .map(|g| {
                let name = group_names
                    .get(&g.group_id)
                    .map_or(g.group_id.as_str(), |x| x.name.as_str());
                format!("{name} ({})", g.role)
            })
            .collect();
        println!(
            "  {:<20} {:<16} {:<7} {:<7} {}",
            m.contact.as_str(),
            m.display_name(),
            m.role,
            m.status.as_str(),
            groups.join(", ")
        );
    }
    heading("Groups");
    let mut groups: Vec<_> = group_names.values().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    for g in groups {
        let default = if g.is_default { " (default)" } else { "" };
        println!("  {:<12} {} member(s){default}", g.name, g.member_count);
    }
    heading("License usage");
    let reserve = org.policy.reserve_seats_for_pending;
    for u in engine.license_usage(&org.id, &admin)? {
        let limit = u.limit.map_or("unlimited".to_owned(), |l| l.to_string());
        let free = u
            .available(reserve)
            .map_or("-".to_owned(), |f| f.to_string());
        println!(
            "  {}: {} used, {} pending, limit {limit}, {free} free",
            u.license_type, u.used, u.pending
        );
    }

    heading("Last audit events");
    let events = engine.events(&org.id, &admin, 0, 1000)?;
    // The trail names members by id and accounts by `user_ref`: show names.
    let mut names: HashMap<String, String> = HashMap::new();
    for m in &members.items {
        names.insert(m.id.to_string(), m.display_name());
        if let Some(account) = &m.user_ref {
            names.insert(
                Actor::Account(account.clone()).to_string(),
                m.display_name(),
            );
        }
    }
    let name_of = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    let group_of = |id: &enlist::GroupId| {
        group_names
            .get(id)
            .map_or_else(|| id.to_string(), |g| g.name.clone())
    };
    for e in events.iter().rev().take(8).rev() {
        let what = match &e.kind {
            EventKind::OrganizationCreated { name, .. } => format!("created organization {name}"),
            EventKind::GroupCreated { name, .. } => format!("created group {name}"),
            EventKind::GroupMemberAdded {
                group,
                member,
                role,
            } => format!(
                "added {} to {} as {role}",
                name_of(member.as_str()),
                group_of(group)
            ),
            EventKind::InvitationIssued {
                recipient, role, ..
            } => format!("invited {recipient} as {role}"),
            EventKind::EmailSent { to, .. } => format!("delivered the invitation email to {to}"),
            EventKind::EmailFailed { to, error, .. } => format!("could not email {to}: {error}"),
            EventKind::InvitationAccepted { .. } => "accepted the invitation and joined".to_owned(),
            EventKind::MemberJoined { contact, via, .. } => format!("{contact} joined ({via:?})"),
            other => format!("{other:?}"),
        };
        println!(
            "  #{:<3} {}  {:<14} {what}",
            e.seq,
            e.at.format("%H:%M:%S"),
            name_of(&e.actor.to_string()),
        );
    }
    println!(
        "\n{} events in the trail; showing the last {}.",
        events.len(),
        events.len().min(8)
    );
    Ok(())
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

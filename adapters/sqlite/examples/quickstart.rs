//! The quickstart: the whole "invite your team" flow, kept in a SQLite file.
//!
//! Run it with `cargo run -p enlist-sqlite --example quickstart`. It keeps
//! its state in `enlist-quickstart.sqlite3` in the current folder (or in the
//! file named after `--`). Run it again: it finds what the last run left.
//!
//! The first run:
//! 1. creates an organization with its owner, a default group and another
//!    group;
//! 2. invites a pasted list of recipients and prints the report
//!    ("Invitations to send" / "Invitation errors");
//! 3. delivers the outbox through `enlist_smtp::FileMailer`: each email
//!    is printed and written as an `.eml` file into
//!    `enlist-quickstart-outbox/` (beside the database file; open one with
//!    a mail client);
//! 4. opens one link as the invitee would: previews it, then accepts it;
//! 5. lists the members, the groups, the license usage and the last audit
//!    events.
//!
//! Every later run finds the organization, shows the members, invitations
//! and last events the previous runs left, then invites the next two people
//! of a roster, delivers their emails and lets the first of them accept.
//!
//! enlist looks organizations up by id only, so the example keeps the id of
//! its organization in a small table of its own, `quickstart_runs`, in the
//! same file.

use enlist::{
    Actor, CreatedOrganization, EngineConfig, Enlist, EventKind, Group, GroupId, GroupQuery,
    InvitationQuery, InvitationStatus, InviteReport, InviteRequest, MailError, Mailer, Member,
    MemberId, MemberQuery, NewGroup, NewOrganization, OrgId, OutgoingEmail, Policy, Recipients,
    Registration,
};
use enlist_smtp::FileMailer;
use enlist_sqlite::SqliteStore;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};

type Res<T> = Result<T, Box<dyn Error>>;

/// A mailer that writes every email as an `.eml` file (enlist-smtp's
/// `FileMailer`: the message SMTP would send), prints it, and remembers the
/// links so the example can "click" one. A real host gives
/// `deliver_pending` an `enlist_smtp::SmtpMailer` instead.
struct ConsoleMailer {
    files: FileMailer,
    links: Mutex<Vec<(String, String)>>,
}

impl ConsoleMailer {
    fn new(folder: &str) -> Res<Self> {
        Ok(Self {
            files: FileMailer::new(folder, "Acme <noreply@acme.example>")?,
            links: Mutex::new(Vec::new()),
        })
    }
}

impl Mailer for ConsoleMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        self.files.send(email)?;
        // A name with a comma or other specials must be quoted in a header.
        let to = match &email.to_name {
            Some(name) if name.contains([',', ';', '"', '<', '>', '@', ':']) => {
                format!("\"{}\" <{}>", name.replace('"', "\\\""), email.to)
            }
            Some(name) => format!("{name} <{}>", email.to),
            None => email.to.to_string(),
        };
        println!("  ┌─ To: {to}");
        println!("  │  Subject: {}", email.subject);
        println!("  │");
        for line in email.text_body.lines() {
            println!("{}", format!("  │  {line}").trim_end());
        }
        println!("  └─ written to {}", self.files.path_of(email)?.display());
        self.links
            .lock()
            .map_err(|_| MailError::Temporary("mailer state poisoned".into()))?
            .push((email.to.to_string(), email.accept_url.clone()));
        Ok(())
    }
}

impl ConsoleMailer {
    /// The token of the link emailed to `to`, as the landing page reads it
    /// from the link's query string.
    fn token_for(&self, to: &str) -> Res<String> {
        let links = self.links.lock().map_err(|_| "mailer state poisoned")?;
        let (_, url) = links
            .iter()
            .find(|(t, _)| t == to)
            .ok_or_else(|| format!("no email was sent to {to}"))?;
        let token = url
            .split_once("token=")
            .map(|(_, t)| t.to_owned())
            .ok_or("the link carries no token")?;
        Ok(token)
    }
}

/// The example's own notes in the database file: which organization it
/// made, and how many times it ran.
struct Notes(Connection);

impl Notes {
    fn open(path: &str) -> Res<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS quickstart_runs (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        )?;
        Ok(Self(conn))
    }

    fn get(&self, key: &str) -> Res<Option<String>> {
        Ok(self
            .0
            .query_row(
                "SELECT value FROM quickstart_runs WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn set(&self, key: &str, value: &str) -> Res<()> {
        self.0.execute(
            "INSERT INTO quickstart_runs (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}

fn heading(title: &str) {
    println!("\n== {title} ==");
}

fn main() -> Res<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "enlist-quickstart.sqlite3".to_owned());
    let store = SqliteStore::open(&path)?;
    // Where accept links point is the host's setting, not an
    // organization's: policies may only choose among these bases.
    let mut config = EngineConfig::default();
    config.default_accept_url_base = "https://app.acme.example/invitations/accept".into();
    let engine = Enlist::new(Arc::new(store)).try_with_config(config)?;
    let outbox = format!("{}-outbox", path.trim_end_matches(".sqlite3"));
    let notes = Notes::open(&path)?;
    let run: u32 = notes.get("runs")?.and_then(|r| r.parse().ok()).unwrap_or(0) + 1;
    notes.set("runs", &run.to_string())?;
    match (notes.get("org_id")?, notes.get("owner_id")?) {
        (Some(org), Some(owner)) => later_run(
            &engine,
            &outbox,
            run,
            &OrgId::from(org),
            &MemberId::from(owner),
        )?,
        _ => first_run(&engine, &outbox, &notes)?,
    }
    println!(
        "\nThe state is kept in {path}, the emails in {outbox}/: run the example again to continue."
    );
    Ok(())
}

fn first_run(engine: &Enlist, outbox: &str, notes: &Notes) -> Res<()> {
    // 1. An organization, its owner, and two groups. -----------------------
    let mut policy = Policy::default();
    policy.seat_limits.insert("standard".into(), 10);
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine.create_organization(
        NewOrganization::new("Acme", "acct-ada", "ada@acme.example")
            .with_owner_name("Ada", "Lovelace")
            .with_policy(policy),
    )?;
    notes.set("org_id", org.id.as_str())?;
    notes.set("owner_id", owner.id.as_str())?;
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
    print_report(&report);
    heading("Download report (CSV, no secrets)");
    for line in report.to_csv().lines() {
        println!("  {line}");
    }

    // 3. Deliver the outbox. ---------------------------------------------
    let mailer = deliver(engine, outbox)?;

    // 4. Carol clicks the link in her email. ------------------------------
    let token = mailer.token_for("carol@acme.example")?;
    heading("Carol opens her link (preview: nothing is consumed)");
    let preview = engine.preview(&token)?;
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
        &token,
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
    match engine.accept(&token, Registration::default()) {
        Ok(_) => println!("  unexpected: the same link worked twice"),
        Err(e) => println!("  the same link again: refused [{}] {e}", e.code()),
    }

    // 5. Members, seats and the audit trail. ----------------------------
    let state = State::read(engine, &org.id, &admin)?;
    state.print_members();
    state.print_groups();
    print_usage(engine, &org.id, &admin)?;
    state.print_events(8);
    Ok(())
}

/// Who the later runs invite, two per run.
const ROSTER: [(&str, &str); 10] = [
    ("Erin", "Walsh"),
    ("Frank", "Ocean"),
    ("Grace", "Hopper"),
    ("Heidi", "Lamarr"),
    ("Ivan", "Sutherland"),
    ("Judy", "Estrin"),
    ("Ken", "Thompson"),
    ("Lynn", "Conway"),
    ("Mary", "Keller"),
    ("Niklaus", "Wirth"),
];

fn later_run(engine: &Enlist, outbox: &str, run: u32, org: &OrgId, owner: &MemberId) -> Res<()> {
    let admin = Actor::Member(owner.clone());
    let o = engine.organization(org)?;
    heading(&format!("Welcome back: run #{run} of the quickstart"));
    println!(
        "  found the organization {} ({}) that the first run created",
        o.name, o.id
    );

    println!("  here is what the previous runs left:");
    let state = State::read(engine, org, &admin)?;
    state.print_members();
    print_invitations(engine, org, &admin)?;
    state.print_events(6);

    // Invite the next two people of the roster, deliver, one accepts.
    let pick = |i: usize| {
        let (first, last) = ROSTER[i % ROSTER.len()];
        let lap = i / ROSTER.len();
        let email = if lap == 0 {
            format!("{}@acme.example", first.to_lowercase())
        } else {
            format!("{}{}@acme.example", first.to_lowercase(), lap + 1)
        };
        (first, last, email)
    };
    make_room(engine, org, &admin, 2)?;
    let base = usize::try_from(run.saturating_sub(2)).unwrap_or(0) * 2;
    let people = [pick(base), pick(base + 1)];
    let paste = people
        .iter()
        .map(|(first, last, email)| format!("{first} {last} <{email}>"))
        .collect::<Vec<_>>()
        .join(", ");
    heading("Inviting the next people");
    println!("  | {paste}");
    let report = engine.invite(org, &admin, InviteRequest::new(Recipients::Paste(paste)))?;
    print_report(&report);
    let mailer = deliver(engine, outbox)?;
    if let Some(issued) = report.issued.first() {
        let (first, last, email) = &people
            .iter()
            .find(|(_, _, e)| e == issued.invitation.recipient.as_str())
            .cloned()
            .ok_or("an invitation to someone not on the roster")?;
        let token = mailer.token_for(email)?;
        heading(&format!("{first} accepts"));
        let accepted = engine.accept(
            &token,
            Registration {
                user_ref: format!("acct-{}", email.replace('@', "-at-")),
                first_name: Some((*first).to_owned()),
                last_name: Some((*last).to_owned()),
                verified_email: Some(email.clone()),
                ..Registration::default()
            },
        )?;
        println!(
            "  {} joined as {} ({})",
            accepted.member.display_name(),
            accepted.member.role,
            accepted.member.status.as_str()
        );
    } else {
        println!("  nobody could be invited this time (see the errors above)");
    }

    heading("Now");
    let state = State::read(engine, org, &admin)?;
    state.print_members();
    print_usage(engine, org, &admin)?;
    state.print_events(6);
    Ok(())
}

/// When fewer than `seats` standard seats are free, revokes the pending
/// invitations that have waited longest, as an administrator would.
fn make_room(engine: &Enlist, org: &OrgId, admin: &Actor, seats: u64) -> Res<()> {
    let reserve = engine.organization(org)?.policy.reserve_seats_for_pending;
    let free = engine
        .license_usage(org, admin)?
        .iter()
        .find(|u| u.license_type == enlist::DEFAULT_LICENSE)
        .and_then(|u| u.available(reserve))
        .unwrap_or(u64::MAX);
    if free >= seats {
        return Ok(());
    }
    let q = InvitationQuery {
        statuses: vec![InvitationStatus::Pending, InvitationStatus::Expired],
        limit: 1000,
        ..InvitationQuery::default()
    };
    let oldest_first = engine
        .list_invitations(org, admin, &q)?
        .items
        .into_iter()
        .rev();
    let n = usize::try_from(seats - free).unwrap_or(usize::MAX);
    heading(&format!(
        "Only {free} seat(s) free: revoking the oldest invitations"
    ));
    for inv in oldest_first.take(n) {
        engine.revoke(org, admin, &inv.id)?;
        println!(
            "  revoked the invitation of {} (sent {})",
            inv.recipient.as_str(),
            inv.last_sent_at
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn print_report(report: &InviteReport) {
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
}

fn deliver(engine: &Enlist, outbox: &str) -> Res<ConsoleMailer> {
    heading(&format!("Delivering the outbox into {outbox}/"));
    let mailer = ConsoleMailer::new(outbox)?;
    let delivery = engine.deliver_pending(&mailer, 100)?;
    println!(
        "  sent {}, retrying {}, failed {}",
        delivery.sent.len(),
        delivery.retrying.len(),
        delivery.failed.len()
    );
    Ok(mailer)
}

fn print_usage(engine: &Enlist, org: &OrgId, admin: &Actor) -> Res<()> {
    heading("License usage");
    let reserve = engine.organization(org)?.policy.reserve_seats_for_pending;
    for u in engine.license_usage(org, admin)? {
        let limit = u.limit.map_or("unlimited".to_owned(), |l| l.to_string());
        let free = u
            .available(reserve)
            .map_or("-".to_owned(), |f| f.to_string());
        println!(
            "  {}: {} used, {} pending, limit {limit}, {free} free",
            u.license_type, u.used, u.pending
        );
    }
    Ok(())
}

fn print_invitations(engine: &Enlist, org: &OrgId, admin: &Actor) -> Res<()> {
    let q = InvitationQuery {
        statuses: vec![
            InvitationStatus::Pending,
            InvitationStatus::Staged,
            InvitationStatus::Expired,
        ],
        ..InvitationQuery::default()
    };
    let page = engine.list_invitations(org, admin, &q)?;
    heading(&format!("Open invitations ({})", page.items.len()));
    for i in &page.items {
        println!(
            "  {:<22} sent {} time(s), {:<8} {}",
            i.recipient.as_str(),
            i.send_count,
            i.status.as_str(),
            i.expires_at
                .map(|e| format!("expires {}", e.format("%Y-%m-%d %H:%M UTC")))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// The members, groups and audit trail of the organization.
struct State {
    members: Vec<Member>,
    groups: HashMap<GroupId, Group>,
    events: Vec<enlist::Event>,
}

impl State {
    fn read(engine: &Enlist, org: &OrgId, admin: &Actor) -> Res<Self> {
        let groups = engine
            .list_groups(org, admin, &GroupQuery::default())?
            .into_iter()
            .map(|g| (g.id.clone(), g))
            .collect();
        let mut members = Vec::new();
        let mut q = MemberQuery::default();
        loop {
            let page = engine.list_members(org, admin, &q)?;
            members.extend(page.items);
            match page.next_cursor {
                Some(c) => q.after = Some(c),
                None => break,
            }
        }
        // The trail, page by page (the engine serves at most 1000 at once).
        let mut events = Vec::new();
        loop {
            let after = events.last().map_or(0, |e: &enlist::Event| e.seq);
            let page = engine.events(org, admin, after, 1000)?;
            if page.is_empty() {
                break;
            }
            events.extend(page);
        }
        Ok(Self {
            members,
            groups,
            events,
        })
    }

    fn group_name(&self, id: &GroupId) -> String {
        self.groups
            .get(id)
            .map_or_else(|| id.to_string(), |g| g.name.clone())
    }

    fn print_members(&self) {
        heading(&format!("Members ({})", self.members.len()));
        for m in &self.members {
            let groups: Vec<String> = m
                .groups
                .iter()
                .map(|g| format!("{} ({})", self.group_name(&g.group_id), g.role))
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
    }

    fn print_groups(&self) {
        heading("Groups");
        let mut groups: Vec<_> = self.groups.values().collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        for g in groups {
            let default = if g.is_default { " (default)" } else { "" };
            println!("  {:<12} {} member(s){default}", g.name, g.member_count);
        }
    }

    fn print_events(&self, last: usize) {
        heading("Last audit events");
        // The trail names members by id and accounts by `user_ref`: show names.
        let mut names: HashMap<String, String> = HashMap::new();
        for m in &self.members {
            names.insert(m.id.to_string(), m.display_name());
            if let Some(account) = &m.user_ref {
                names.insert(
                    Actor::Account(account.clone()).to_string(),
                    m.display_name(),
                );
            }
        }
        let name_of = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
        let shown = self.events.len().min(last);
        for e in &self.events[self.events.len() - shown..] {
            let what = match &e.kind {
                EventKind::OrganizationCreated { name, .. } => {
                    format!("created organization {name}")
                }
                EventKind::GroupCreated { name, .. } => format!("created group {name}"),
                EventKind::GroupMemberAdded {
                    group,
                    member,
                    role,
                } => format!(
                    "added {} to {} as {role}",
                    name_of(member.as_str()),
                    self.group_name(group)
                ),
                EventKind::InvitationIssued {
                    recipient, role, ..
                } => format!("invited {recipient} as {role}"),
                EventKind::EmailSent { to, .. } => {
                    format!("delivered the invitation email to {to}")
                }
                EventKind::EmailFailed { to, error, .. } => {
                    format!("could not email {to}: {error}")
                }
                EventKind::InvitationRevoked { .. } => "revoked an invitation".to_owned(),
                EventKind::InvitationAccepted { .. } => {
                    "accepted the invitation and joined".to_owned()
                }
                EventKind::MemberJoined { contact, via, .. } => {
                    format!("{contact} joined ({via:?})")
                }
                other => format!("{other:?}"),
            };
            println!(
                "  #{:<3} {}  {:<14} {what}",
                e.seq,
                e.at.format("%Y-%m-%d %H:%M:%S"),
                name_of(&e.actor.to_string()),
            );
        }
        println!(
            "\n{} events in the trail; showing the last {shown}.",
            self.events.len()
        );
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

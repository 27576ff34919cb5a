//! SmtpMailer and FileMailer against a real SMTP conversation on 127.0.0.1
//! (the scripted server of `support`), driven through the engine's
//! outbox.
#![allow(clippy::unwrap_used)]

mod support;

use enlist::{
    Actor, CreatedOrganization, Enlist, InviteRequest, MailError, Mailer, ManualClock,
    NewOrganization, OrgId, OutboxStatus, OutgoingEmail, Policy, Recipients,
};
use enlist_smtp::{FileMailer, IDEMPOTENCY_HEADER, SmtpConfig, SmtpMailer, TlsMode};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Fault, Options, Received, SmtpServer, Step};

const FROM: &str = "Acme Invitations <invites@acme.test>";
/// `FROM` as lettre writes it (a display name is always quoted).
const FROM_HEADER: &str = "\"Acme Invitations\" <invites@acme.test>";

fn config(server: &SmtpServer) -> SmtpConfig {
    let mut c = SmtpConfig::new("127.0.0.1", FROM);
    c.port = Some(server.port());
    c.tls = TlsMode::None;
    c.connect_timeout = Duration::from_secs(5);
    c.command_timeout = Duration::from_secs(5);
    c
}

fn mailer(server: &SmtpServer) -> SmtpMailer {
    SmtpMailer::new(config(server)).unwrap()
}

struct World {
    engine: Enlist,
    org: OrgId,
    admin: Actor,
    clock: Arc<ManualClock>,
}

fn world_on(engine: Enlist, policy: Policy, org_name: &str) -> World {
    let clock = Arc::new(ManualClock::at_epoch_seconds(1_800_000_000));
    let engine = engine.with_clock(clock.clone());
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(
            NewOrganization::new(org_name, "acct-ada", "ada@acme.test")
                .with_owner_name("Ada", "Lovelace")
                .with_policy(policy),
        )
        .unwrap();
    World {
        engine,
        org: org.id,
        admin: Actor::Member(owner.id),
        clock,
    }
}

fn replying_policy() -> Policy {
    let mut p = Policy::default();
    p.reply_to_inviter = true;
    p
}

fn world(policy: Policy) -> World {
    world_on(Enlist::in_memory(), policy, "Acme")
}

impl World {
    fn invite(&self, paste: &str, message: Option<&str>) -> usize {
        let mut req = InviteRequest::new(Recipients::Paste(paste.into()));
        if let Some(m) = message {
            req = req.message(m);
        }
        let report = self.engine.invite(&self.org, &self.admin, req).unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        report.issued.len()
    }
}

/// Passes emails on and remembers them (the outbox redacts the link once
/// a message is sent).
struct Tee<'a> {
    inner: &'a dyn Mailer,
    seen: Mutex<Vec<OutgoingEmail>>,
}

impl<'a> Tee<'a> {
    fn new(inner: &'a dyn Mailer) -> Self {
        Self {
            inner,
            seen: Mutex::new(Vec::new()),
        }
    }
    fn seen(&self) -> Vec<OutgoingEmail> {
        self.seen.lock().unwrap().clone()
    }
}

impl Mailer for Tee<'_> {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        self.seen.lock().unwrap().push(email.clone());
        self.inner.send(email)
    }
}

fn by_recipient<'a>(received: &'a [Received], to: &str) -> &'a Received {
    received
        .iter()
        .find(|r| r.rcpt_to == [to])
        .unwrap_or_else(|| panic!("nothing received for {to}"))
}

#[test]
fn emails_arrive_with_their_headers_and_link_over_one_connection() {
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    let policy = replying_policy();
    let w = world(policy);
    assert_eq!(
        w.invite(
            "Bob Baker <bob@acme.test>, \"Doe, Dana\" <dana@acme.test>, carol@acme.test",
            Some("Welcome aboard")
        ),
        3
    );
    let tee = Tee::new(&smtp);
    let report = w.engine.deliver_pending(&tee, 100).unwrap();
    assert_eq!(report.sent.len(), 3);
    let received = server.received();
    assert_eq!(received.len(), 3);
    // One session for the whole batch.
    assert_eq!(server.connections(), 1);
    for email in tee.seen() {
        let r = by_recipient(&received, &email.to);
        assert_eq!(r.mail_from, "invites@acme.test");
        assert_eq!(r.header("From"), FROM_HEADER);
        let id = email.message_id.as_str();
        assert_eq!(r.header("Message-ID"), format!("<{id}@acme.test>"));
        assert_eq!(r.header(IDEMPOTENCY_HEADER), id);
        assert_eq!(r.header("Reply-To"), "\"Ada Lovelace\" <ada@acme.test>");
        assert_eq!(
            r.header("Subject"),
            "Ada Lovelace invited you to join Acme on enlist"
        );
        assert!(
            r.header("Content-Type")
                .starts_with("text/plain; charset=utf-8")
        );
        let body = r.body_text();
        assert!(body.contains(&email.accept_url), "{body}");
        assert!(body.contains("Welcome aboard"));
    }
    assert_eq!(
        by_recipient(&received, "bob@acme.test").header("To"),
        "\"Bob Baker\" <bob@acme.test>"
    );
    // A comma in a name: lettre writes it as an encoded word.
    assert_eq!(
        by_recipient(&received, "dana@acme.test").header("To"),
        "=?utf-8?b?RG9lLCBEYW5h?= <dana@acme.test>"
    );
    assert_eq!(support::decode_b64("RG9lLCBEYW5h"), b"Doe, Dana");
    assert_eq!(
        by_recipient(&received, "carol@acme.test").header("To"),
        "carol@acme.test"
    );
}

#[test]
fn without_the_policy_there_is_no_reply_to() {
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    let w = world(Policy::default());
    w.invite("bob@acme.test", None);
    w.engine.deliver_pending(&smtp, 10).unwrap();
    let r = &server.received()[0];
    assert!(
        !r.headers()
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("Reply-To")),
        "{}",
        r.data
    );
}

/// Status of the one message in the outbox after a delivery run.
fn run_once(w: &World, m: &dyn Mailer) -> (enlist::DeliveryReport, OutboxStatus) {
    let report = w.engine.deliver_pending(m, 10).unwrap();
    let id = report
        .sent
        .iter()
        .chain(&report.retrying)
        .chain(&report.failed)
        .next()
        .cloned()
        .expect("a message was attempted");
    let status = w.engine.outbox_message(&id).unwrap().status;
    (report, status)
}

#[test]
fn a_4xx_reply_is_retried_and_a_5xx_reply_fails_for_good() {
    for (fault, expect) in [
        (Fault::Reply(Step::Rcpt, 451), OutboxStatus::Queued),
        (Fault::Reply(Step::Mail, 421), OutboxStatus::Queued),
        (Fault::Reply(Step::Data, 452), OutboxStatus::Queued),
        (Fault::Reply(Step::EndOfData, 451), OutboxStatus::Queued),
        (Fault::Reply(Step::Rcpt, 550), OutboxStatus::Failed),
        (Fault::Reply(Step::EndOfData, 554), OutboxStatus::Failed),
    ] {
        let server = SmtpServer::start();
        let smtp = mailer(&server);
        let w = world(Policy::default());
        w.invite("bob@acme.test", None);
        server.fail_next([fault.clone()]);
        let (report, status) = run_once(&w, &smtp);
        assert_eq!(status, expect, "{fault:?}");
        assert!(server.received().is_empty(), "{fault:?}");
        if expect == OutboxStatus::Queued {
            assert_eq!(report.retrying.len(), 1);
            // After the backoff the next run delivers it.
            w.clock.advance(chrono::Duration::hours(2));
            let (report, status) = run_once(&w, &smtp);
            assert_eq!(
                (report.sent.len(), status),
                (1, OutboxStatus::Sent),
                "{fault:?}"
            );
            assert_eq!(server.received().len(), 1);
        } else {
            assert_eq!(report.failed.len(), 1);
            w.clock.advance(chrono::Duration::hours(2));
            assert!(w.engine.deliver_pending(&smtp, 10).unwrap().sent.is_empty());
            assert!(server.received().is_empty());
        }
    }
}

#[test]
fn a_connection_dropped_mid_data_is_retried() {
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    let w = world(Policy::default());
    w.invite("bob@acme.test", None);
    server.fail_next([Fault::DropMidData]);
    let (report, status) = run_once(&w, &smtp);
    assert_eq!((report.retrying.len(), status), (1, OutboxStatus::Queued));
    assert!(server.received().is_empty());
    w.clock.advance(chrono::Duration::hours(2));
    let (_, status) = run_once(&w, &smtp);
    assert_eq!(status, OutboxStatus::Sent);
    assert_eq!(server.received().len(), 1);
}

#[test]
fn session_set_up_failures_are_temporary_whatever_their_code() {
    // A wrong password (535), a server refusing service at the greeting
    // (554) or in EHLO: nothing about the message; it must not be given up.
    for (fault, login) in [
        (None, Some(("user", "wrong"))),
        (Some(Fault::Reply(Step::Greeting, 554)), None),
        (Some(Fault::Reply(Step::Ehlo, 550)), None),
        (Some(Fault::Reply(Step::Auth, 535)), Some(("user", "pw"))),
    ] {
        let server = SmtpServer::start_with(Options {
            login: Some(("user".into(), "pw".into())),
            ..Options::default()
        });
        let mut c = config(&server);
        if let Some((u, p)) = login {
            c.username = Some(u.into());
            c.password = Some(p.into());
        }
        let smtp = SmtpMailer::new(c).unwrap();
        let w = world(Policy::default());
        w.invite("bob@acme.test", None);
        server.fail_next(fault.clone());
        let (report, status) = run_once(&w, &smtp);
        assert_eq!(
            (report.retrying.len(), status),
            (1, OutboxStatus::Queued),
            "{fault:?} {login:?}"
        );
        assert!(server.received().is_empty());
    }
    // The right password logs in and sends.
    let server = SmtpServer::start_with(Options {
        login: Some(("user".into(), "pw".into())),
        ..Options::default()
    });
    let mut c = config(&server);
    c.username = Some("user".into());
    c.password = Some("pw".into());
    let smtp = SmtpMailer::new(c).unwrap();
    let w = world(Policy::default());
    w.invite("bob@acme.test", None);
    assert_eq!(run_once(&w, &smtp).1, OutboxStatus::Sent);
    assert!(
        server
            .commands()
            .iter()
            .any(|c| c.starts_with("AUTH PLAIN"))
    );
}

#[test]
fn nothing_listening_is_temporary() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut c = SmtpConfig::new("127.0.0.1", FROM);
    c.port = Some(port);
    c.tls = TlsMode::None;
    c.connect_timeout = Duration::from_secs(2);
    let smtp = SmtpMailer::new(c).unwrap();
    let w = world(Policy::default());
    w.invite("bob@acme.test", None);
    assert_eq!(run_once(&w, &smtp).1, OutboxStatus::Queued);
}

#[test]
fn starttls_required_sends_nothing_to_a_server_without_it() {
    let server = SmtpServer::start_with(Options {
        login: Some(("user".into(), "pw".into())),
        ..Options::default()
    });
    let mut c = config(&server);
    c.tls = TlsMode::StartTls;
    c.username = Some("user".into());
    c.password = Some("pw".into());
    let smtp = SmtpMailer::new(c).unwrap();
    let w = world(Policy::default());
    w.invite("bob@acme.test", None);
    assert_eq!(run_once(&w, &smtp).1, OutboxStatus::Queued);
    // Nor a server that offers it and then cannot (454): no fallback.
    let offering = SmtpServer::start_with(Options {
        offer_starttls: true,
        ..Options::default()
    });
    let mut c = config(&offering);
    c.tls = TlsMode::StartTls;
    let smtp2 = SmtpMailer::new(c).unwrap();
    w.clock.advance(chrono::Duration::hours(2));
    assert_eq!(run_once(&w, &smtp2).1, OutboxStatus::Queued);
    for s in [&server, &offering] {
        assert!(s.received().is_empty());
        let commands = s.commands();
        assert!(
            commands
                .iter()
                .all(|c| !c.starts_with("AUTH") && !c.starts_with("MAIL")),
            "{commands:?}"
        );
    }
}

#[test]
fn the_configuration_is_checked() {
    let code = |c: SmtpConfig| SmtpMailer::new(c).map(|_| ()).map_err(|e| e.to_string());
    let base = SmtpConfig::new("smtp.example.com", FROM);
    assert_eq!(code(base.clone()), Ok(()));
    assert_eq!(base.effective_port(), 587);
    let mut c = base.clone();
    c.tls = TlsMode::None;
    assert!(code(c.clone()).unwrap_err().contains("smtp.tls"));
    c.allow_plaintext_remote = true;
    assert_eq!(code(c), Ok(()));
    for host in ["localhost", "127.0.0.1", "::1", "[::1]", "127.0.0.2"] {
        let mut c = SmtpConfig::new(host, FROM);
        c.tls = TlsMode::None;
        assert_eq!(code(c), Ok(()), "{host}");
    }
    for (field, edit) in [
        (
            "smtp.from",
            Box::new(|c: &mut SmtpConfig| c.from = "not an address".into())
                as Box<dyn Fn(&mut SmtpConfig)>,
        ),
        (
            "smtp.from",
            Box::new(|c: &mut SmtpConfig| c.from = "a@b.test\r\nBcc: x@evil.test".into()),
        ),
        (
            "smtp.host",
            Box::new(|c: &mut SmtpConfig| c.host = " ".into()),
        ),
        ("smtp.port", Box::new(|c: &mut SmtpConfig| c.port = Some(0))),
        (
            "smtp.host",
            Box::new(|c: &mut SmtpConfig| c.host = "a b".into()),
        ),
        (
            "smtp.connect_timeout",
            Box::new(|c: &mut SmtpConfig| c.connect_timeout = Duration::ZERO),
        ),
        (
            "smtp.command_timeout",
            Box::new(|c: &mut SmtpConfig| c.command_timeout = Duration::from_secs(86_400)),
        ),
        (
            "smtp.username",
            Box::new(|c: &mut SmtpConfig| c.username = Some("u".into())),
        ),
        (
            "smtp.extra_ca_pem",
            Box::new(|c: &mut SmtpConfig| c.extra_ca_pem = Some("not pem".into())),
        ),
        (
            "smtp.hello_name",
            Box::new(|c: &mut SmtpConfig| c.hello_name = Some("a\r\nMAIL".into())),
        ),
        // Sizes are bounded before anything is parsed.
        (
            "smtp.hello_name",
            Box::new(|c: &mut SmtpConfig| c.hello_name = Some("a".repeat(254))),
        ),
        (
            "smtp.host",
            Box::new(|c: &mut SmtpConfig| c.host = "h".repeat(254)),
        ),
        (
            "smtp.extra_ca_pem",
            Box::new(|c: &mut SmtpConfig| {
                c.extra_ca_pem = Some("-".repeat(enlist_smtp::MAX_CA_PEM_BYTES + 1))
            }),
        ),
        (
            "smtp.username",
            Box::new(|c: &mut SmtpConfig| {
                c.username = Some("u".repeat(enlist_smtp::MAX_CREDENTIAL_BYTES + 1));
                c.password = Some("p".into());
            }),
        ),
        (
            "smtp.password",
            Box::new(|c: &mut SmtpConfig| {
                c.username = Some("u".into());
                c.password = Some("p".repeat(enlist_smtp::MAX_CREDENTIAL_BYTES + 1));
            }),
        ),
    ] {
        let mut c = base.clone();
        edit(&mut c);
        let e = code(c).unwrap_err();
        assert!(e.contains(field), "{field}: {e}");
    }
    // An oversized PEM is refused by its size, before it is parsed.
    let mut c = base.clone();
    c.extra_ca_pem = Some("-".repeat(enlist_smtp::MAX_CA_PEM_BYTES + 1));
    assert!(code(c).unwrap_err().contains("at most"));
    // The password never shows in Debug, nor when serialized.
    let mut c = base;
    c.username = Some("user".into());
    c.password = Some("hunter2-password".into());
    assert!(!format!("{c:?}").contains("hunter2"));
    assert!(!serde_json::to_string(&c).unwrap().contains("hunter2"));
    assert!(!format!("{:?}", SmtpMailer::new(c).unwrap()).contains("hunter2"));
}

#[test]
fn the_serde_form_names_durations_in_seconds_and_defaults_what_is_left_out() {
    let c: SmtpConfig = serde_json::from_value(serde_json::json!({
        "host": "smtp.example.com", "from": FROM, "command_timeout_secs": 5,
    }))
    .unwrap();
    assert_eq!(c.command_timeout, Duration::from_secs(5));
    assert_eq!(c.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.tls, TlsMode::StartTls);
    let form = serde_json::to_value(&c).unwrap();
    assert_eq!(form["idle_timeout_secs"], 30);
    assert_eq!(form["tls"], "start_tls");
    assert!(SmtpMailer::new(c).is_ok());
}

/// Every hostile string a person controls.
const HOSTILE: [&str; 6] = [
    "Eve\r\nBcc: mallory@evil.test",
    "Eve\nX-Injected: yes",
    "\"Eve\" <mallory@evil.test>, victim",
    "=?utf-8?Q?Mallory=0D=0ABcc:_mallory@evil.test?=",
    "Eve\r\n\r\nfake body",
    "Ève <mallory@evil.test>\r\nTo: mallory@evil.test",
];

/// The headers a message may carry, each once.
const HEADERS: [&str; 10] = [
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Message-ID",
    IDEMPOTENCY_HEADER,
    "Date",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

fn assert_clean(r: &Received) {
    assert_eq!(r.rcpt_to, ["bob@acme.test"], "{}", r.data);
    let headers = r.headers();
    for (name, _) in &headers {
        assert!(
            HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)),
            "unexpected header {name:?} in\n{}",
            r.data
        );
    }
    for h in HEADERS {
        assert!(
            headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(h))
                .count()
                <= 1,
            "{h} twice"
        );
    }
    for (name, value) in &headers {
        assert!(
            !value.to_ascii_lowercase().contains("mallory@evil.test")
                || name.eq_ignore_ascii_case("Subject")
                || !value.contains('<'),
            "{name}: {value}"
        );
    }
    // Addresses in To and Reply-To are the real ones: the hostile text is
    // only ever an (encoded or quoted) display name.
    let to = r.header("To");
    assert!(
        to == "bob@acme.test" || to.ends_with("<bob@acme.test>"),
        "{to}"
    );
    // No bare CR or LF anywhere (what SMTP smuggling needs).
    assert!(
        !r.data.replace("\r\n", "").contains(['\r', '\n']),
        "{:?}",
        r.data
    );
    let head = r.data.split("\r\n\r\n").next().unwrap();
    assert!(
        !head.contains("\r\nBcc:") && !head.contains("\r\nX-Injected:"),
        "{head}"
    );
}

fn hostile_email(name: &str) -> OutgoingEmail {
    serde_json::from_value(serde_json::json!({
        "message_id": "msg_hostile1",
        "to": "bob@acme.test",
        "to_name": name,
        "subject": format!("{name} invited you to join {name} on enlist"),
        "text_body": format!("Hello {name},\r\n.\r\nMAIL FROM:<mallory@evil.test>\r\n\n.\nRCPT TO:<mallory@evil.test>\r\n{name}\r\n"),
        "accept_url": "https://app.acme.test/accept?token=org_x.abc",
        "org_name": name,
        "inviter_name": name,
        "reply_to": "ada@acme.test",
        "personal_message": name,
        "expires_at": "2030-01-01T00:00:00Z",
    }))
    .unwrap()
}

#[test]
fn no_name_or_message_adds_a_header_or_a_recipient() {
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    for name in HOSTILE {
        smtp.send(&hostile_email(name)).unwrap();
    }
    let received = server.received();
    // One message per send: the body's "." lines did not end DATA early nor
    // start a second transaction.
    assert_eq!(received.len(), HOSTILE.len());
    assert!(
        !server.commands().iter().any(|c| c.contains("mallory")),
        "{:?}",
        server.commands()
    );
    for r in &received {
        assert_clean(r);
        assert!(
            r.header("Reply-To").ends_with("<ada@acme.test>"),
            "{}",
            r.header("Reply-To")
        );
    }
    // A hostile Reply-To address is dropped, not pasted.
    let mut email = hostile_email("Eve");
    email = serde_json::from_value({
        let mut v = serde_json::to_value(&email).unwrap();
        v["reply_to"] = "ada@acme.test\r\nBcc: mallory@evil.test".into();
        v
    })
    .unwrap();
    smtp.send(&email).unwrap();
    let r = server.received().pop().unwrap();
    assert_clean(&r);
    assert!(!r.headers().iter().any(|(n, _)| n == "Reply-To"));
    // A hostile recipient address or message id is refused for good.
    for (field, value) in [
        ("to", "bob@acme.test\r\nBcc: x@evil.test"),
        ("to", "bob@acme.test, x@evil.test"),
        ("message_id", "msg_1\r\nBcc: x@evil.test"),
        ("message_id", "../../etc/passwd"),
    ] {
        let mut v = serde_json::to_value(hostile_email("Eve")).unwrap();
        v[field] = value.into();
        let email: OutgoingEmail = serde_json::from_value(v).unwrap();
        assert!(
            smtp.send(&email).unwrap_err().is_permanent(),
            "{field} {value:?}"
        );
    }
    assert_eq!(server.received().len(), HOSTILE.len() + 1);
}

#[test]
fn names_the_engine_accepts_stay_in_their_headers() {
    // The same strings through the engine, wherever it lets them in: the
    // organization's name (Subject), the inviter's name (Subject, body,
    // Reply-To), the recipient's name (To), the personal message (body).
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    let mut sent = 0;
    let mut as_names = 0;
    for name in HOSTILE {
        let policy = replying_policy();
        let engine = Enlist::in_memory();
        let Ok(CreatedOrganization {
            organization: org,
            owner,
            ..
        }) = engine.create_organization(
            NewOrganization::new(name, "acct-eve", "ada@acme.test")
                .with_owner_name(name, name)
                .with_policy(policy.clone()),
        )
        else {
            // The engine refuses it (line breaks): then with a plain org
            // name and only the message hostile.
            let w = world(policy);
            w.invite("bob@acme.test", Some(name));
            sent += w.engine.deliver_pending(&smtp, 10).unwrap().sent.len();
            continue;
        };
        as_names += 1;
        let admin = Actor::Member(owner.id);
        let mut row = enlist::RecipientInput::email("bob@acme.test");
        row.display_name = Some(name.to_owned());
        let req = InviteRequest::new(Recipients::List(vec![row])).message(name);
        let report = engine.invite(&org.id, &admin, req);
        let req = InviteRequest::new(Recipients::List(vec![enlist::RecipientInput::email(
            "bob@acme.test",
        )]))
        .message(name);
        let _ = report
            .or_else(|_| engine.invite(&org.id, &admin, req))
            .unwrap();
        sent += engine.deliver_pending(&smtp, 10).unwrap().sent.len();
    }
    let received = server.received();
    assert_eq!(received.len(), HOSTILE.len());
    assert_eq!(sent, HOSTILE.len());
    // Quotes, `<...>` and encoded words are names the engine takes.
    assert!(as_names >= 2, "{as_names}");
    for r in &received {
        assert_clean(r);
    }
}

#[test]
fn a_lost_acknowledgement_gives_one_duplicate_with_the_same_ids() {
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    let w = world(Policy::default());
    w.invite("bob@acme.test", None);
    // A worker claims the message and sends it; the server answers 250;
    // the worker dies before recording the success.
    let claimed = w.engine.claim_due(None, 10).unwrap();
    assert_eq!(claimed.len(), 1);
    smtp.send(&claimed[0].email).unwrap();
    // Until the claim expires no other worker sends it.
    assert!(w.engine.deliver_pending(&smtp, 10).unwrap().sent.is_empty());
    w.clock.advance(chrono::Duration::seconds(301));
    assert_eq!(w.engine.deliver_pending(&smtp, 10).unwrap().sent.len(), 1);
    // Recorded now: never again.
    w.clock.advance(chrono::Duration::days(1));
    assert!(w.engine.deliver_pending(&smtp, 10).unwrap().sent.is_empty());
    let received = server.received();
    assert_eq!(received.len(), 2);
    let id = claimed[0].id.as_str();
    for r in &received {
        assert_eq!(r.header(IDEMPOTENCY_HEADER), id);
        assert_eq!(r.header("Message-ID"), format!("<{id}@acme.test>"));
    }
    assert_eq!(received[0].body_text(), received[1].body_text());

    // The same when the 250 itself is lost on the wire: the mailer sees a
    // dropped connection (temporary), the retry is the duplicate.
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    w.invite("carol@acme.test", None);
    server.fail_next([Fault::DropAfterData]);
    let (_, status) = run_once(&w, &smtp);
    assert_eq!(status, OutboxStatus::Queued);
    w.clock.advance(chrono::Duration::hours(2));
    assert_eq!(run_once(&w, &smtp).1, OutboxStatus::Sent);
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].header("Message-ID"),
        received[1].header("Message-ID")
    );
    assert_eq!(
        received[0].header(IDEMPOTENCY_HEADER),
        received[1].header(IDEMPOTENCY_HEADER)
    );
}

#[test]
fn sixteen_workers_on_one_sqlite_outbox_send_each_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = enlist_sqlite::SqliteStore::open(dir.path().join("outbox.sqlite3")).unwrap();
    let w = world_on(Enlist::new(Arc::new(store)), Policy::default(), "Acme");
    let paste: Vec<String> = (0..64).map(|i| format!("user{i}@acme.test")).collect();
    assert_eq!(w.invite(&paste.join(", "), None), 64);
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    let sent: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(|| {
                    let mut sent = 0;
                    loop {
                        let r = w.engine.deliver_pending(&smtp, 4).unwrap();
                        assert!(r.retrying.is_empty() && r.failed.is_empty());
                        if r.sent.is_empty() {
                            return sent;
                        }
                        sent += r.sent.len();
                    }
                })
            })
            .collect();
        workers.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(sent, 64);
    let received = server.received();
    assert_eq!(received.len(), 64);
    let mut ids: Vec<String> = received
        .iter()
        .map(|r| r.header(IDEMPOTENCY_HEADER))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 64);
    let mut to: Vec<String> = received.iter().flat_map(|r| r.rcpt_to.clone()).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 64);
    // Connections were reused: at most a few per worker.
    assert!(
        server.connections() <= 32,
        "{} connections",
        server.connections()
    );
}

#[test]
fn a_kept_connection_the_server_closed_is_replaced_before_sending() {
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    let w = world(Policy::default());
    w.invite("bob@acme.test", None);
    assert_eq!(run_once(&w, &smtp).1, OutboxStatus::Sent);
    // The kept connection is shut by the server at its next command.
    server.fail_next([Fault::Reply(Step::Mail, 421)]);
    w.invite("carol@acme.test", None);
    assert_eq!(run_once(&w, &smtp).1, OutboxStatus::Sent);
    assert_eq!(server.received().len(), 2);
    assert_eq!(server.connections(), 2);
}

#[test]
fn the_file_mailer_writes_the_same_message_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = FileMailer::new(dir.path().join("outbox"), FROM).unwrap();
    let policy = replying_policy();
    let w = world(policy);
    w.invite(
        "Bob Baker <bob@acme.test>, carol@acme.test",
        Some("Welcome aboard"),
    );
    let tee = Tee::new(&files);
    assert_eq!(w.engine.deliver_pending(&tee, 10).unwrap().sent.len(), 2);
    let mut names: Vec<String> = std::fs::read_dir(files.folder())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = tee
        .seen()
        .iter()
        .map(|e| format!("{}.eml", e.message_id))
        .collect();
    expected.sort();
    // One file per message, no temporary file left behind.
    assert_eq!(names, expected);
    for email in tee.seen() {
        let path = files.path_of(&email).unwrap();
        let data = std::fs::read_to_string(&path).unwrap();
        assert!(data.contains("\r\n\r\n") && !data.replace("\r\n", "").contains('\n'));
        let r = Received {
            mail_from: String::new(),
            rcpt_to: vec![email.to.to_string()],
            data: data.clone(),
            tls: false,
        };
        assert_eq!(r.header("From"), FROM_HEADER);
        assert!(r.header("To").contains(&format!("<{}>", email.to)) || r.header("To") == email.to);
        assert_eq!(r.header("Reply-To"), "\"Ada Lovelace\" <ada@acme.test>");
        assert_eq!(
            r.header("Message-ID"),
            format!("<{}@acme.test>", email.message_id)
        );
        assert_eq!(r.header(IDEMPOTENCY_HEADER), email.message_id.as_str());
        assert!(r.body_text().contains(&email.accept_url));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
        }
        // A retry replaces the file.
        files.send(&email).unwrap();
    }
    assert_eq!(std::fs::read_dir(files.folder()).unwrap().count(), 2);
    // The same builder as SMTP: identical but for the Date.
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    let email = &tee.seen()[0];
    smtp.send(email).unwrap();
    let strip_date = |s: &str| {
        s.split("\r\n")
            .filter(|l| !l.starts_with("Date:"))
            .collect::<Vec<_>>()
            .join("\r\n")
    };
    let file = std::fs::read_to_string(files.path_of(email).unwrap()).unwrap();
    assert_eq!(strip_date(&server.received()[0].data), strip_date(&file));
    // Hostile names in a file too.
    for name in HOSTILE {
        files.send(&hostile_email(name)).unwrap();
        let data = std::fs::read_to_string(dir.path().join("outbox/msg_hostile1.eml")).unwrap();
        assert_clean(&Received {
            mail_from: String::new(),
            rcpt_to: vec!["bob@acme.test".into()],
            data,
            tls: false,
        });
    }
}

fn tls_server(ca: &support::TestCa, implicit: bool) -> SmtpServer {
    SmtpServer::start_with(Options {
        login: Some(("user".into(), "pw".into())),
        tls: Some(support::ServerTls {
            config: ca.server.clone(),
            implicit,
        }),
        ..Options::default()
    })
}

fn tls_config(server: &SmtpServer, host: &str, mode: TlsMode, ca_pem: Option<&str>) -> SmtpConfig {
    let mut c = config(server);
    c.host = host.into();
    c.tls = mode;
    c.extra_ca_pem = ca_pem.map(str::to_owned);
    c.username = Some("user".into());
    c.password = Some("pw".into());
    c
}

#[test]
fn starttls_and_implicit_tls_deliver_to_a_server_the_given_ca_signed() {
    let ca = support::TestCa::new(&["localhost", "127.0.0.1"]);
    for (mode, implicit) in [(TlsMode::StartTls, false), (TlsMode::Implicit, true)] {
        for host in ["localhost", "127.0.0.1"] {
            let server = tls_server(&ca, implicit);
            let smtp = SmtpMailer::new(tls_config(&server, host, mode, Some(&ca.ca_pem))).unwrap();
            let w = world(Policy::default());
            w.invite("bob@acme.test, carol@acme.test", None);
            let report = w.engine.deliver_pending(&smtp, 10).unwrap();
            assert_eq!(report.sent.len(), 2, "{mode:?} {host}: {report:?}");
            let received = server.received();
            assert!(received.iter().all(|r| r.tls), "{mode:?} {host}");
            assert_eq!(server.connections(), 1);
            let commands = server.commands();
            if !implicit {
                // Logged in only once the connection is encrypted.
                let tls_at = commands.iter().position(|c| c == "STARTTLS").unwrap();
                let auth_at = commands.iter().position(|c| c.starts_with("AUTH")).unwrap();
                assert!(tls_at < auth_at, "{commands:?}");
            }
        }
    }
}

#[test]
fn an_unknown_ca_or_another_name_is_refused_before_anything_is_sent() {
    let ca = support::TestCa::new(&["localhost"]);
    let other = support::TestCa::new(&["localhost", "127.0.0.1"]);
    for (mode, implicit) in [(TlsMode::StartTls, false), (TlsMode::Implicit, true)] {
        for (host, pem) in [
            // Signed by a CA the client does not trust.
            ("localhost", Some(other.ca_pem.as_str())),
            // The system's roots only.
            ("localhost", None),
            // The right CA, but the certificate does not name 127.0.0.1.
            ("127.0.0.1", Some(ca.ca_pem.as_str())),
        ] {
            let server = tls_server(&ca, implicit);
            let smtp = SmtpMailer::new(tls_config(&server, host, mode, pem)).unwrap();
            let w = world(Policy::default());
            w.invite("bob@acme.test", None);
            let (report, status) = run_once(&w, &smtp);
            assert_eq!(status, OutboxStatus::Queued, "{mode:?} {host} {pem:?}");
            let error = w
                .engine
                .outbox_message(&report.retrying[0])
                .unwrap()
                .last_error
                .unwrap();
            let step = if implicit {
                "failed at connect"
            } else {
                "failed at STARTTLS"
            };
            assert!(
                error.contains(step) && error.to_lowercase().contains("certificate"),
                "{error}"
            );
            assert!(server.received().is_empty());
            let commands = server.commands();
            assert!(
                commands
                    .iter()
                    .all(|c| !c.starts_with("AUTH") && !c.starts_with("MAIL")),
                "{mode:?} {host}: {commands:?}"
            );
        }
    }
}

#[test]
fn a_resend_replies_to_the_original_inviter_with_a_new_message_id() {
    let server = SmtpServer::start();
    let smtp = mailer(&server);
    let w = world(replying_policy());
    let report = w
        .engine
        .invite(
            &w.org,
            &w.admin,
            InviteRequest::new(Recipients::Paste("bob@acme.test".into())),
        )
        .unwrap();
    w.engine.deliver_pending(&smtp, 10).unwrap();
    w.clock.advance(chrono::Duration::hours(1));
    let resent = w
        .engine
        .resend(&w.org, &w.admin, &report.issued[0].invitation.id)
        .unwrap();
    assert_eq!(w.engine.deliver_pending(&smtp, 10).unwrap().sent.len(), 1);
    let received = server.received();
    assert_eq!(received.len(), 2);
    for r in &received {
        assert_eq!(r.header("Reply-To"), "\"Ada Lovelace\" <ada@acme.test>");
    }
    // A resend is a new message (a new link), not a duplicate.
    let new_id = resent.message_id.unwrap();
    assert_eq!(received[1].header(IDEMPOTENCY_HEADER), new_id.as_str());
    assert_ne!(
        received[0].header("Message-ID"),
        received[1].header("Message-ID")
    );
}

#[test]
fn an_ipv6_loopback_in_brackets_is_connected_to() {
    let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
        println!("SKIPPED: no IPv6 loopback on this machine");
        return;
    };
    let server = SmtpServer::start_at(listener, Options::default());
    let mut c = SmtpConfig::new("[::1]", FROM);
    c.port = Some(server.port());
    c.tls = TlsMode::None;
    c.connect_timeout = Duration::from_secs(2);
    let smtp = SmtpMailer::new(c).unwrap();
    let w = world(Policy::default());
    w.invite("bob@acme.test", None);
    assert_eq!(run_once(&w, &smtp).1, OutboxStatus::Sent);
    assert_eq!(server.received().len(), 1);
}

//! Messages per second through `SmtpMailer` to the loopback test server,
//! against the ceiling: a bare lettre loop (lettre's builder and one
//! lettre client connection, nothing else) to the same server, in the same
//! run. Prints both rates and their ratio (the aim is at least 0.8).
//!
//! lettre's client writes each message's final `.` line apart from it, and
//! with Nagle's algorithm and the server's delayed ACKs every message then
//! waits ~40 ms; `SmtpMailer` writes both at once and so passes that
//! "ceiling" by far. The third line is a harder one: a hand-written client
//! on a bare socket (one write per command, the message built by lettre).
//!
//! `ENLIST_SMTP_BENCH_COUNT` messages per side (default 2000); the sides
//! alternate over 3 rounds and the best round of each counts.
//!
//! ```text
//! cargo bench -p enlist-smtp --bench throughput
//! ENLIST_SMTP_BENCH_COUNT=50 cargo run -p enlist-smtp --bench throughput   # a quick check (dev profile)
//! ```
#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use enlist::{Mailer, OutgoingEmail};
use enlist_smtp::{SmtpConfig, SmtpMailer, TlsMode};
use lettre::message::{Mailbox, Message, header::ContentType};
use lettre::transport::smtp::client::SmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use std::time::{Duration, Instant};

const FROM: &str = "Acme Invitations <invites@acme.test>";

fn email(i: usize) -> OutgoingEmail {
    let url = format!("https://app.acme.test/invitations/accept?token=org_1.{i:043}");
    serde_json::from_value(serde_json::json!({
        "message_id": format!("msg_{i:032x}"),
        "to": format!("user{i}@acme.test"),
        "to_name": format!("User {i}"),
        "subject": "Ada Lovelace invited you to join Acme on enlist",
        "text_body": format!("Hello User {i},\n\nAda Lovelace has invited you to join Acme with the role member.\n\nAccept the invitation:\n{url}\n\nThis invitation expires on 2030-01-01 00:00 UTC. If you were not expecting it, you can ignore this email.\n"),
        "accept_url": url,
        "org_name": "Acme",
        "inviter_name": "Ada Lovelace",
        "reply_to": "ada@acme.test",
        "personal_message": null,
        "expires_at": "2030-01-01T00:00:00Z",
    }))
    .unwrap()
}

/// Messages per second through `SmtpMailer` (building included).
fn through_mailer(mailer: &SmtpMailer, emails: &[OutgoingEmail]) -> f64 {
    let start = Instant::now();
    for e in emails {
        mailer.send(e).unwrap();
    }
    emails.len() as f64 / start.elapsed().as_secs_f64()
}

/// Messages per second with lettre alone: its builder (the same headers)
/// and one client connection.
fn bare_lettre(port: u16, emails: &[OutgoingEmail]) -> f64 {
    let from: Mailbox = FROM.parse().unwrap();
    let start = Instant::now();
    let mut conn = SmtpConnection::connect(
        ("127.0.0.1", port),
        Some(Duration::from_secs(10)),
        &ClientId::default(),
        None,
        None,
    )
    .unwrap();
    for e in emails {
        let message = Message::builder()
            .from(from.clone())
            .to(Mailbox::new(e.to_name.clone(), e.to.parse().unwrap()))
            .reply_to(Mailbox::new(
                e.inviter_name.as_deref().map(str::to_owned),
                "ada@acme.test".parse().unwrap(),
            ))
            .subject(e.subject.clone())
            .message_id(Some(format!("<{}@acme.test>", e.message_id)))
            .header(ContentType::TEXT_PLAIN)
            .body(e.text_body.clone())
            .unwrap();
        conn.send(message.envelope(), &message.formatted()).unwrap();
    }
    let _ = conn.quit();
    emails.len() as f64 / start.elapsed().as_secs_f64()
}

/// Messages per second with a minimal SMTP client on a bare socket:
/// lettre builds the message; one write per command, replies read line by
/// line.
fn raw_socket(port: u16, emails: &[OutgoingEmail]) -> f64 {
    use std::io::{BufRead, BufReader, Write};
    let from: Mailbox = FROM.parse().unwrap();
    let start = Instant::now();
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut input = BufReader::new(stream);
    let reply = |input: &mut BufReader<std::net::TcpStream>| loop {
        let mut line = String::new();
        input.read_line(&mut line).unwrap();
        assert!(line.starts_with(['2', '3']), "{line}");
        if line.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    };
    reply(&mut input);
    out.write_all(b"EHLO bench.invalid\r\n").unwrap();
    reply(&mut input);
    for e in emails {
        let message = Message::builder()
            .from(from.clone())
            .to(Mailbox::new(e.to_name.clone(), e.to.parse().unwrap()))
            .subject(e.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(e.text_body.clone())
            .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        for command in [
            "MAIL FROM:<invites@acme.test>\r\n".to_owned(),
            format!("RCPT TO:<{}>\r\n", e.to),
            "DATA\r\n".to_owned(),
            format!("{}\r\n.\r\n", raw.replace("\r\n.", "\r\n..")),
        ] {
            out.write_all(command.as_bytes()).unwrap();
            reply(&mut input);
        }
    }
    out.write_all(b"QUIT\r\n").unwrap();
    emails.len() as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let count: usize = std::env::var("ENLIST_SMTP_BENCH_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000);
    let server = support::SmtpServer::start();
    let mut config = SmtpConfig::new("127.0.0.1", FROM);
    config.port = Some(server.port());
    config.tls = TlsMode::None;
    let mailer = SmtpMailer::new(config).unwrap();
    let emails: Vec<OutgoingEmail> = (0..count).map(email).collect();
    let (mut best_mailer, mut best_bare, mut best_raw) = (0f64, 0f64, 0f64);
    for _ in 0..3 {
        best_bare = best_bare.max(bare_lettre(server.port(), &emails));
        best_mailer = best_mailer.max(through_mailer(&mailer, &emails));
        best_raw = best_raw.max(raw_socket(server.port(), &emails));
    }
    assert_eq!(server.received().len(), 9 * count);
    println!("messages per side and round: {count}");
    println!("bare lettre loop (ceiling):  {best_bare:>10.0} msg/s");
    println!("SmtpMailer:                  {best_mailer:>10.0} msg/s");
    println!(
        "ratio:                       {:>10.2}",
        best_mailer / best_bare
    );
    println!("bare socket client:          {best_raw:>10.0} msg/s");
    println!(
        "ratio to it:                 {:>10.2}",
        best_mailer / best_raw
    );
}

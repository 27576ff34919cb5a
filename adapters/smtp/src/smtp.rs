//! [`SmtpMailer`]: invitation emails over SMTP, on lettre's blocking client
//! connection, with a few connections kept open across a batch.

use crate::message::{build, parse_from};
use enlist::{MailError, Mailer, OutgoingEmail};
use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    Certificate, CertificateStore, SmtpConnection, TlsParameters, TlsParametersBuilder,
};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How the connection to the SMTP server is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TlsMode {
    /// TLS from the first byte ("SMTPS", port 465 by default).
    Implicit,
    /// A plain connection upgraded with `STARTTLS`, which the server must
    /// offer: if it does not, nothing is sent, neither credentials nor
    /// email (port 587 by default). The default.
    #[default]
    StartTls,
    /// No TLS (port 25 by default): for a relay on the same machine. Refused
    /// for a host that is not a loopback address or `localhost` unless
    /// [`SmtpConfig::allow_plaintext_remote`] is set.
    None,
}

impl TlsMode {
    /// The standard port of the mode: 465, 587 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Implicit => 465,
            TlsMode::StartTls => 587,
            TlsMode::None => 25,
        }
    }
}

/// Longest connect or command timeout accepted.
const MAX_TIMEOUT_SECS: u64 = 3600;
/// Most connections kept open between sends.
const MAX_IDLE_CONNECTIONS: usize = 64;
/// Longest `extra_ca_pem` accepted, checked before it is parsed.
pub const MAX_CA_PEM_BYTES: usize = 1 << 20;
/// Longest user name or password accepted (each).
pub const MAX_CREDENTIAL_BYTES: usize = 1024;
/// Longest host or `EHLO` name accepted (a DNS name's limit).
const MAX_HOST_NAME_BYTES: usize = 253;

/// Where and how [`SmtpMailer`] sends. Start from [`SmtpConfig::new`] and
/// change the fields you need.
///
/// Its `Debug` output leaves out the password. Its serde form names the
/// durations `connect_timeout_secs`, `command_timeout_secs` and
/// `idle_timeout_secs` (whole seconds); a field left out takes
/// [`SmtpConfig::default`]'s value, so a configuration file names what it
/// changes (and at least `host` and `from`, which [`SmtpMailer::new`]
/// checks).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SmtpConfig {
    /// The server's host name (checked against its TLS certificate) or IP
    /// address.
    pub host: String,
    /// The port; `None` uses the TLS mode's standard port.
    pub port: Option<u16>,
    /// How the connection is secured (default [`TlsMode::StartTls`]).
    pub tls: TlsMode,
    /// Allows [`TlsMode::None`] to a host that is not this machine
    /// (default false): email, accept links and credentials would cross
    /// the network in clear.
    pub allow_plaintext_remote: bool,
    /// Root certificates (PEM) trusted besides the system's, for a server
    /// whose certificate a private CA signed (tests, internal relays).
    pub extra_ca_pem: Option<String>,
    /// The user name to log in with, if the server requires it.
    pub username: Option<String>,
    /// The password (with `username`). Never serialized nor in `Debug`
    /// output: a configuration written back or logged leaves it out.
    #[serde(default, skip_serializing)]
    pub password: Option<String>,
    /// How long connecting may take, each step of the session's set-up
    /// (greeting, `EHLO`, TLS, login) included (default 10 s).
    #[serde(rename = "connect_timeout_secs", with = "whole_secs")]
    pub connect_timeout: Duration,
    /// How long the server may take to answer one command of a
    /// transaction, the end of the message included (default 60 s).
    #[serde(rename = "command_timeout_secs", with = "whole_secs")]
    pub command_timeout: Duration,
    /// The `From` of every email: `noreply@acme.example` or
    /// `Acme <noreply@acme.example>`. Its domain also ends each
    /// `Message-ID`. Always the host's own address: the inviter, if the
    /// policy allows, is the `Reply-To`.
    pub from: String,
    /// The name given in `EHLO`; `None` uses this machine's host name.
    pub hello_name: Option<String>,
    /// At most this many connections kept open between sends, for the
    /// next messages of a batch or another worker thread (default 4; 0
    /// closes each connection after its message).
    pub max_idle_connections: usize,
    /// A connection unused this long is closed rather than reused
    /// (default 30 s; servers commonly drop idle clients after a few
    /// minutes).
    #[serde(rename = "idle_timeout_secs", with = "whole_secs")]
    pub idle_timeout: Duration,
}

/// A duration as whole seconds in the serde form.
mod whole_secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

impl Default for SmtpConfig {
    /// [`SmtpConfig::new`] with an empty host and `From`, to be set.
    fn default() -> Self {
        Self::new("", "")
    }
}

impl SmtpConfig {
    /// A configuration for `host` with STARTTLS required on port 587,
    /// sending as `from`, without login.
    pub fn new(host: impl Into<String>, from: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: None,
            tls: TlsMode::StartTls,
            allow_plaintext_remote: false,
            extra_ca_pem: None,
            username: None,
            password: None,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(60),
            from: from.into(),
            hello_name: None,
            max_idle_connections: 4,
            idle_timeout: Duration::from_secs(30),
        }
    }

    /// The port connected to.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.tls.default_port())
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("allow_plaintext_remote", &self.allow_plaintext_remote)
            .field("extra_ca_pem", &self.extra_ca_pem.as_ref().map(|_| "[set]"))
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("from", &self.from)
            .field("hello_name", &self.hello_name)
            .field("max_idle_connections", &self.max_idle_connections)
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> enlist::Error {
    enlist::Error::InvalidInput {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Whether `host` is this machine: `localhost` or a loopback address.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A connection kept open, and since when.
struct Idle {
    conn: SmtpConnection,
    since: Instant,
}

/// A [`Mailer`] that sends each invitation email to an SMTP server (a
/// relay or a provider's submission port).
///
/// - **TLS**: STARTTLS required by default, or implicit TLS, verified
///   against the system's roots (plus [`SmtpConfig::extra_ca_pem`]) with
///   rustls; plaintext only to this machine unless explicitly allowed.
/// - **Headers**: `From` is the configured address, `To` the recipient
///   (with their name), `Reply-To` the inviter when the organization's
///   policy allows, `Message-ID` `<{message id}@{From's domain}>` and
///   `X-Enlist-Message-Id` the outbox message id: both are the same on
///   every retry, so a duplicate after a lost acknowledgement can be told
///   apart. Names are encoded by lettre's typed headers (RFC 2047).
/// - **Outcomes**: a 5xx reply to the transaction (`MAIL`, `RCPT`, `DATA`,
///   the message) is [`MailError::Permanent`]; a 4xx reply, a dropped
///   connection or a timeout is [`MailError::Temporary`], and so is every
///   failure while setting the session up (connecting, greeting, `EHLO`,
///   TLS, login), whatever its code: those say nothing about the message,
///   and a wrong password must not give up on every queued invitation.
/// - **Connections**: up to [`SmtpConfig::max_idle_connections`] stay open
///   between sends and are reused (one at a time each), so a batch pays
///   for one session set-up. A kept connection the server closed meanwhile
///   is replaced before anything is sent on it.
pub struct SmtpMailer {
    host: String,
    port: u16,
    tls: TlsMode,
    tls_parameters: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello_name: ClientId,
    connect_timeout: Duration,
    command_timeout: Duration,
    from: Mailbox,
    max_idle: usize,
    idle_timeout: Duration,
    idle: Mutex<Vec<Idle>>,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("login", &self.credentials.is_some())
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer for `config`, checked: a host, a valid `From`, timeouts
    /// between 1 s and one hour, a user name and password together, PEM
    /// certificates that parse, and no plaintext to another machine unless
    /// allowed. Nothing is connected yet.
    pub fn new(config: SmtpConfig) -> Result<Self, enlist::Error> {
        // `[::1]` as written in URLs: the address itself is connected to
        // and checked against the certificate.
        let host = config
            .host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if config.port == Some(0) {
            return Err(invalid("smtp.port", "must be between 1 and 65535"));
        }
        if host.is_empty()
            || host.len() > MAX_HOST_NAME_BYTES
            || host.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(invalid("smtp.host", "must be a host name or an IP address"));
        }
        let from = parse_from("smtp.from", &config.from)?;
        for (field, t) in [
            ("smtp.connect_timeout", config.connect_timeout),
            ("smtp.command_timeout", config.command_timeout),
        ] {
            if t < Duration::from_secs(1) || t > Duration::from_secs(MAX_TIMEOUT_SECS) {
                return Err(invalid(field, "must be between 1 second and 1 hour"));
            }
        }
        if config.max_idle_connections > MAX_IDLE_CONNECTIONS {
            return Err(invalid(
                "smtp.max_idle_connections",
                format!("must be at most {MAX_IDLE_CONNECTIONS}"),
            ));
        }
        for (field, value) in [
            ("smtp.username", &config.username),
            ("smtp.password", &config.password),
        ] {
            if value
                .as_ref()
                .is_some_and(|v| v.len() > MAX_CREDENTIAL_BYTES)
            {
                return Err(invalid(
                    field,
                    format!("must be at most {MAX_CREDENTIAL_BYTES} bytes"),
                ));
            }
        }
        if config
            .extra_ca_pem
            .as_ref()
            .is_some_and(|pem| pem.len() > MAX_CA_PEM_BYTES)
        {
            return Err(invalid(
                "smtp.extra_ca_pem",
                format!("must be at most {MAX_CA_PEM_BYTES} bytes"),
            ));
        }
        let credentials = match (config.username, config.password) {
            (Some(u), Some(p)) => Some(Credentials::new(u, p)),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "smtp.username",
                    "a user name and a password go together",
                ));
            }
        };
        if config.tls == TlsMode::None && !is_loopback(&host) && !config.allow_plaintext_remote {
            return Err(invalid(
                "smtp.tls",
                "no TLS is allowed only to this machine (localhost, 127.0.0.1, ::1) unless allow_plaintext_remote is set",
            ));
        }
        let tls_parameters = match config.tls {
            TlsMode::None => None,
            TlsMode::Implicit | TlsMode::StartTls => {
                let mut builder = TlsParametersBuilder::new(host.clone())
                    .certificate_store(CertificateStore::Default);
                if let Some(pem) = &config.extra_ca_pem {
                    use rustls::pki_types::{CertificateDer, pem::PemObject};
                    let mut count = 0;
                    for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                        c.map_err(|e| {
                            invalid("smtp.extra_ca_pem", format!("not PEM certificates: {e}"))
                        })?;
                        count += 1;
                    }
                    if count == 0 {
                        return Err(invalid("smtp.extra_ca_pem", "holds no PEM certificate"));
                    }
                    let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| {
                        invalid("smtp.extra_ca_pem", format!("not PEM certificates: {e}"))
                    })?;
                    builder = builder.add_root_certificate(cert);
                }
                Some(
                    builder
                        .build_rustls()
                        .map_err(|e| invalid("smtp.tls", format!("TLS set-up failed: {e}")))?,
                )
            }
        };
        let hello_name = match config.hello_name {
            Some(name) => {
                if name.is_empty()
                    || name.len() > MAX_HOST_NAME_BYTES
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
                {
                    return Err(invalid("smtp.hello_name", "must be a host name"));
                }
                ClientId::Domain(name)
            }
            None => ClientId::default(),
        };
        Ok(Self {
            port: config.port.unwrap_or_else(|| config.tls.default_port()),
            host,
            tls: config.tls,
            tls_parameters,
            credentials,
            hello_name,
            connect_timeout: config.connect_timeout,
            command_timeout: config.command_timeout,
            from,
            max_idle: config.max_idle_connections,
            idle_timeout: config.idle_timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The `From` every email carries.
    pub fn from(&self) -> String {
        self.from.to_string()
    }

    /// Sends a message already built (envelope and bytes) on a kept
    /// connection or a new one.
    fn deliver(&self, envelope: &Envelope, raw: &[u8]) -> Result<(), MailError> {
        if let Some(mut conn) = self.take_idle() {
            match transaction(&mut conn, envelope, raw) {
                Ok(()) => {
                    self.keep(conn);
                    return Ok(());
                }
                // The server may have closed a kept connection meanwhile
                // (or be shutting it down: 421): nothing was sent on it
                // yet, so a new connection tries again.
                Err(Failure {
                    step: Step::Mail,
                    error,
                }) if !error.is_permanent() => conn.abort(),
                Err(f) => {
                    conn.abort();
                    return Err(f.into_mail_error());
                }
            }
        }
        let mut conn = self.connect()?;
        match transaction(&mut conn, envelope, raw) {
            Ok(()) => {
                self.keep(conn);
                Ok(())
            }
            Err(f) => {
                conn.abort();
                Err(f.into_mail_error())
            }
        }
    }

    /// A new session: connected, greeted, secured, logged in. Every
    /// failure here is temporary.
    fn connect(&self) -> Result<SmtpConnection, MailError> {
        let setup = |step: &str, e: lettre::transport::smtp::Error| {
            MailError::Temporary(format!(
                "SMTP session with {}:{} failed at {step}: {e}",
                self.host, self.port
            ))
        };
        let wrapper = match self.tls {
            TlsMode::Implicit => self.tls_parameters.as_ref(),
            _ => None,
        };
        let mut conn = SmtpConnection::connect(
            (self.host.as_str(), self.port),
            Some(self.connect_timeout),
            &self.hello_name,
            wrapper,
            None,
        )
        .map_err(|e| setup("connect", e))?;
        if self.tls == TlsMode::StartTls {
            let Some(params) = &self.tls_parameters else {
                conn.abort();
                return Err(MailError::Temporary(
                    "STARTTLS without TLS parameters".into(),
                ));
            };
            // Refuses a server that does not offer STARTTLS: nothing goes
            // out in clear.
            if let Err(e) = conn.starttls(params, &self.hello_name) {
                conn.abort();
                return Err(setup("STARTTLS", e));
            }
        }
        if let Some(credentials) = &self.credentials {
            if let Err(e) = conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials) {
                conn.abort();
                return Err(setup("login", e));
            }
        }
        if let Err(e) = conn.set_timeout(Some(self.command_timeout)) {
            conn.abort();
            return Err(MailError::Temporary(format!("SMTP socket: {e}")));
        }
        Ok(conn)
    }

    /// The most recently used kept connection still fresh enough; older
    /// ones are closed.
    fn take_idle(&self) -> Option<SmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(Idle { mut conn, since }) = idle.pop() {
            if since.elapsed() < self.idle_timeout && !conn.has_broken() {
                return Some(conn);
            }
            conn.abort();
        }
        None
    }

    /// Keeps a connection for the next send, or closes it.
    fn keep(&self, mut conn: SmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.max_idle && !conn.has_broken() {
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        } else {
            drop(idle);
            let _ = conn.quit();
        }
    }

    /// Closes the connections kept open (each with `QUIT`). Later sends
    /// open new ones.
    pub fn close_idle(&self) {
        let conns: Vec<Idle> =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for mut i in conns {
            let _ = i.conn.quit();
        }
    }
}

impl Drop for SmtpMailer {
    fn drop(&mut self) {
        self.close_idle();
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let (envelope, raw) = build(email, &self.from)?;
        self.deliver(&envelope, &raw)
    }
}

/// The step of a transaction that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Mail,
    Rcpt,
    Data,
    Message,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Mail => "MAIL FROM",
            Step::Rcpt => "RCPT TO",
            Step::Data => "DATA",
            Step::Message => "end of message",
        }
    }
}

/// A failed transaction: where, and the client's error.
struct Failure {
    step: Step,
    error: TxError,
}

enum TxError {
    Smtp(lettre::transport::smtp::Error),
    /// The server lacks an extension this message needs (SMTPUTF8): no
    /// retry will change that.
    Unsupported(&'static str),
}

impl TxError {
    fn is_permanent(&self) -> bool {
        match self {
            TxError::Smtp(e) => e.is_permanent(),
            TxError::Unsupported(_) => true,
        }
    }
}

impl Failure {
    /// 5xx: permanent; a 4xx reply, a broken connection, a timeout, a
    /// garbled reply: temporary.
    fn into_mail_error(self) -> MailError {
        let step = self.step.name();
        match self.error {
            TxError::Smtp(e) if e.is_permanent() => {
                MailError::Permanent(format!("SMTP server refused at {step}: {e}"))
            }
            TxError::Smtp(e) => MailError::Temporary(format!("SMTP failure at {step}: {e}")),
            TxError::Unsupported(what) => MailError::Permanent(format!(
                "the SMTP server does not support {what}, which this message needs"
            )),
        }
    }
}

/// One mail transaction on an open session: `MAIL FROM`, `RCPT TO`,
/// `DATA`, the message (dot-stuffed by lettre's codec).
fn transaction(conn: &mut SmtpConnection, envelope: &Envelope, raw: &[u8]) -> Result<(), Failure> {
    let fail = |step| {
        move |e| Failure {
            step,
            error: TxError::Smtp(e),
        }
    };
    let mut options = Vec::new();
    let non_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure {
                step: Step::Mail,
                error: TxError::Unsupported("SMTPUTF8"),
            });
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    if !raw.is_ascii() {
        // lettre encodes bodies and headers as 7-bit; kept for safety.
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(Failure {
                step: Step::Mail,
                error: TxError::Unsupported("8BITMIME"),
            });
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), options))
        .map_err(fail(Step::Mail))?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()))
            .map_err(fail(Step::Rcpt))?;
    }
    conn.command(Data).map_err(fail(Step::Data))?;
    match std::str::from_utf8(raw) {
        // In one write. lettre's `message` writes the terminating `.` line
        // apart from the message: with Nagle's algorithm on the client and
        // delayed ACKs on the server (Linux's defaults) that second small
        // write waits for the ACK of the first, about 40 ms per message
        // (measured: 22 messages per second per connection on loopback).
        Ok(text) => conn.command(Payload(text)),
        Err(_) => conn.message(raw),
    }
    .map_err(fail(Step::Message))?;
    Ok(())
}

/// The message as sent after `DATA`: dot-stuffed (a line starting with
/// `.` gets one more, RFC 5321 4.5.2, as lettre's codec does) and ended by
/// the `.` line.
struct Payload<'a>(&'a str);

impl fmt::Display for Payload<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        loop {
            if rest.starts_with('.') {
                f.write_str(".")?;
            }
            match rest.find("\r\n") {
                Some(i) => {
                    f.write_str(&rest[..i + 2])?;
                    rest = &rest[i + 2..];
                }
                None => {
                    f.write_str(rest)?;
                    break;
                }
            }
        }
        f.write_str("\r\n.\r\n")
    }
}

#[cfg(test)]
mod tests {
    use super::Payload;

    #[test]
    fn the_payload_is_dot_stuffed_and_terminated() {
        assert_eq!(
            Payload(".a\r\nb\r\n.\r\n..c\r\nd.e").to_string(),
            "..a\r\nb\r\n..\r\n...c\r\nd.e\r\n.\r\n"
        );
        assert_eq!(Payload("").to_string(), "\r\n.\r\n");
    }
}

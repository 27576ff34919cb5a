//! A small scripted SMTP server on 127.0.0.1 for tests and the benchmark:
//! it speaks enough of RFC 5321 (greeting, EHLO, AUTH PLAIN, MAIL, RCPT,
//! DATA with dot-unstuffing, RSET, NOOP, QUIT) to receive what a real
//! client sends, records every message with its envelope and raw DATA, and
//! can be told to answer a chosen step with a chosen code or to drop the
//! connection.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A step of a session a fault can hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Greeting,
    Ehlo,
    Auth,
    Mail,
    Rcpt,
    Data,
    /// The reply to the end of the message (after the final `.`).
    EndOfData,
}

/// What the server does instead of the normal reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answers `code` at `step` (and closes the connection after a 421).
    Reply(Step, u16),
    /// Closes the connection in the middle of the message, after reading
    /// its first line: nothing recorded.
    DropMidData,
    /// Records the message, then closes the connection without the 250:
    /// the acknowledgement is lost.
    DropAfterData,
}

/// A message the server accepted.
#[derive(Clone, Debug)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA as received, dot-unstuffed, CRLF line ends, without the
    /// final `.` line.
    pub data: String,
    /// Whether it came over TLS.
    pub tls: bool,
}

impl Received {
    /// The header section, continuation lines unfolded: one entry per
    /// header, `(name, value)`.
    pub fn headers(&self) -> Vec<(String, String)> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut out: Vec<(String, String)> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = out.last_mut() {
                    last.1.push_str(line);
                }
                continue;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            out.push((name.to_owned(), value.trim().to_owned()));
        }
        out
    }

    /// The value of the one header named `name` (case-insensitive); panics
    /// if it is absent or repeated.
    pub fn header(&self, name: &str) -> String {
        let found: Vec<String> = self
            .headers()
            .into_iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(found.len(), 1, "header {name} in {}", self.data);
        found.into_iter().next().unwrap()
    }

    /// The body, decoded if quoted-printable (soft breaks and `=XX`).
    pub fn body_text(&self) -> String {
        let body = self
            .data
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or("");
        let qp = self.headers().iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("Content-Transfer-Encoding")
                && v.eq_ignore_ascii_case("quoted-printable")
        });
        if !qp {
            return body.to_owned();
        }
        let joined = body.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    faults: Vec<Fault>,
    /// Every command line received, in order (all connections).
    commands: Vec<String>,
    /// STARTTLS upgrades done.
    tls_sessions: usize,
}

/// The server; stops when dropped.
pub struct SmtpServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<thread::JoinHandle<()>>,
}

/// Server options.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `(user, password)`: AUTH PLAIN is offered and these are accepted.
    pub login: Option<(String, String)>,
    /// Offer STARTTLS in EHLO (the server cannot actually do TLS: for
    /// tests that the client refuses a server that does not offer it,
    /// leave this false).
    pub offer_starttls: bool,
    /// Speaks TLS: from the first byte (`implicit`) or after STARTTLS.
    pub tls: Option<ServerTls>,
}

/// The server's TLS.
#[derive(Clone, Debug)]
pub struct ServerTls {
    pub config: Arc<rustls::ServerConfig>,
    pub implicit: bool,
}

impl SmtpServer {
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Self {
        Self::start_at(TcpListener::bind("127.0.0.1:0").unwrap(), options)
    }

    /// On a listener of the caller's (another loopback address).
    pub fn start_at(listener: TcpListener, options: Options) -> Self {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (state, connections, stop) = (state.clone(), connections.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    connections.fetch_add(1, Ordering::SeqCst);
                    let (state, options) = (state.clone(), options.clone());
                    thread::spawn(move || {
                        let _ = session(stream, &state, &options);
                    });
                }
            })
        };
        Self {
            addr,
            state,
            connections,
            stop,
            accept: Some(accept),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Queues faults: each applies once, the first time its step comes.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn commands(&self) -> Vec<String> {
        self.state.lock().unwrap().commands.clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Takes the first queued fault that hits `step` (or, for DATA drops, the
/// message).
fn take_fault(state: &Mutex<State>, pred: impl Fn(&Fault) -> bool) -> Option<Fault> {
    let mut s = state.lock().unwrap();
    let i = s.faults.iter().position(pred)?;
    Some(s.faults.remove(i))
}

fn reply_fault(state: &Mutex<State>, step: Step) -> Option<u16> {
    match take_fault(state, |f| matches!(f, Fault::Reply(s, _) if *s == step)) {
        Some(Fault::Reply(_, code)) => Some(code),
        _ => None,
    }
}

const MAX_LINE: usize = 4096;
const MAX_DATA: usize = 1 << 20;

/// A throwaway CA and a server certificate it signs (for `localhost` and
/// 127.0.0.1), made fresh for a test.
pub struct TestCa {
    /// The CA's certificate, PEM: what a client trusts.
    pub ca_pem: String,
    /// The server's configuration: its certificate and key.
    pub server: Arc<rustls::ServerConfig>,
}

impl TestCa {
    pub fn new(names: &[&str]) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "enlist-smtp test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        Self {
            ca_pem: ca.pem(),
            server: Arc::new(server),
        }
    }
}

/// The connection, in clear or in TLS.
enum Net {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
    Gone,
}

impl Net {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            Net::Plain(t) => Some(t),
            Net::Tls(s) => Some(&s.sock),
            Net::Gone => None,
        }
    }
}

impl Read for Net {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Net::Plain(t) => t.read(buf),
            Net::Tls(s) => s.read(buf),
            Net::Gone => Ok(0),
        }
    }
}

impl Write for Net {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Net::Plain(t) => t.write(buf),
            Net::Tls(s) => s.write(buf),
            Net::Gone => Ok(0),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Net::Plain(t) => t.flush(),
            Net::Tls(s) => s.flush(),
            Net::Gone => Ok(()),
        }
    }
}

/// A line-oriented connection.
struct Conn {
    net: Net,
    buf: Vec<u8>,
}

impl Conn {
    /// The next line with its line end, or `None` at the end.
    fn read_line(&mut self) -> std::io::Result<Option<String>> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            if self.buf.len() > MAX_LINE {
                return Err(std::io::Error::other("line too long"));
            }
            let mut chunk = [0u8; 4096];
            let n = match self.net.read(&mut chunk) {
                Ok(n) => n,
                // A client that closes without TLS close_notify.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn say(&mut self, text: &str) -> std::io::Result<()> {
        self.net.write_all(format!("{text}\r\n").as_bytes())?;
        self.net.flush()
    }

    fn hang_up(&mut self) {
        if let Some(t) = self.net.tcp() {
            let _ = t.shutdown(Shutdown::Both);
        }
    }

    fn start_tls(&mut self, config: &Arc<rustls::ServerConfig>) -> std::io::Result<()> {
        let Net::Plain(tcp) = std::mem::replace(&mut self.net, Net::Gone) else {
            return Err(std::io::Error::other("TLS already"));
        };
        let conn = rustls::ServerConnection::new(config.clone()).map_err(std::io::Error::other)?;
        self.net = Net::Tls(Box::new(rustls::StreamOwned::new(conn, tcp)));
        self.buf.clear();
        Ok(())
    }

    /// A fault reply; true if the connection is then closed (421).
    fn faulted(&mut self, code: u16) -> std::io::Result<bool> {
        self.say(&format!("{code} scripted failure"))?;
        if code == 421 {
            self.hang_up();
            return Ok(true);
        }
        Ok(false)
    }
}

fn session(stream: TcpStream, state: &Mutex<State>, options: &Options) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut c = Conn {
        net: Net::Plain(stream),
        buf: Vec::new(),
    };
    if let Some(tls) = options.tls.as_ref().filter(|t| t.implicit) {
        c.start_tls(&tls.config)?;
    }
    if let Some(code) = reply_fault(state, Step::Greeting) {
        c.faulted(code)?;
    } else {
        c.say("220 test.invalid ESMTP scripted")?;
    }
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    loop {
        let Some(line) = c.read_line()? else {
            return Ok(());
        };
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        state.lock().unwrap().commands.push(line.clone());
        let upper = line.to_ascii_uppercase();
        let verb = upper.split(' ').next().unwrap_or("").to_owned();
        macro_rules! fault_at {
            ($step:expr) => {
                if let Some(code) = reply_fault(state, $step) {
                    if c.faulted(code)? {
                        return Ok(());
                    }
                    continue;
                }
            };
        }
        let starttls = options.tls.as_ref().filter(|t| !t.implicit);
        match verb.as_str() {
            "EHLO" | "HELO" => {
                fault_at!(Step::Ehlo);
                let mut lines = vec![
                    "test.invalid".to_owned(),
                    "8BITMIME".into(),
                    "SMTPUTF8".into(),
                ];
                if options.login.is_some() {
                    lines.push("AUTH PLAIN".into());
                }
                let in_clear = matches!(c.net, Net::Plain(_));
                if in_clear && (options.offer_starttls || starttls.is_some()) {
                    lines.push("STARTTLS".into());
                }
                for (i, l) in lines.iter().enumerate() {
                    let sep = if i + 1 == lines.len() { ' ' } else { '-' };
                    c.say(&format!("250{sep}{l}"))?;
                }
            }
            "AUTH" => {
                fault_at!(Step::Auth);
                let ok = match (&options.login, line.split(' ').nth(2)) {
                    (Some((u, p)), Some(b64)) => {
                        decode_b64(b64) == format!("\0{u}\0{p}").into_bytes()
                    }
                    _ => false,
                };
                if ok {
                    c.say("235 2.7.0 Authentication successful")?;
                } else {
                    c.say("535 5.7.8 Authentication credentials invalid")?;
                }
            }
            "STARTTLS" => match starttls {
                Some(tls) if matches!(c.net, Net::Plain(_)) => {
                    c.say("220 2.0.0 Ready to start TLS")?;
                    c.start_tls(&tls.config)?;
                    state.lock().unwrap().tls_sessions += 1;
                }
                _ => c.say("454 4.7.0 TLS not available")?,
            },
            "MAIL" => {
                fault_at!(Step::Mail);
                mail_from = Some(between_angles(&line));
                rcpt_to.clear();
                c.say("250 2.1.0 OK")?;
            }
            "RCPT" => {
                fault_at!(Step::Rcpt);
                rcpt_to.push(between_angles(&line));
                c.say("250 2.1.5 OK")?;
            }
            "DATA" => {
                fault_at!(Step::Data);
                if mail_from.is_none() || rcpt_to.is_empty() {
                    c.say("503 5.5.1 bad sequence")?;
                    continue;
                }
                c.say("354 go ahead")?;
                let drop_mid = take_fault(state, |f| *f == Fault::DropMidData).is_some();
                let mut data = String::new();
                loop {
                    let Some(l) = c.read_line()? else {
                        return Ok(());
                    };
                    if drop_mid {
                        c.hang_up();
                        return Ok(());
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    let l = l.strip_prefix('.').unwrap_or(&l);
                    data.push_str(l);
                    assert!(
                        data.len() < MAX_DATA,
                        "message too long for the test server"
                    );
                }
                let data = data.strip_suffix("\r\n").unwrap_or(&data).to_owned();
                fault_at!(Step::EndOfData);
                let message = Received {
                    mail_from: mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                    tls: !matches!(c.net, Net::Plain(_)),
                };
                state.lock().unwrap().received.push(message);
                if take_fault(state, |f| *f == Fault::DropAfterData).is_some() {
                    c.hang_up();
                    return Ok(());
                }
                c.say("250 2.0.0 queued")?;
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                c.say("250 OK")?;
            }
            "NOOP" => c.say("250 OK")?,
            "QUIT" => {
                c.say("221 bye")?;
                return Ok(());
            }
            _ => c.say("502 5.5.2 not implemented")?,
        }
    }
}

fn between_angles(line: &str) -> String {
    let start = line.find('<').map(|i| i + 1).unwrap_or(0);
    let end = line[start..]
        .find('>')
        .map(|i| start + i)
        .unwrap_or(line.len());
    line[start..end].to_owned()
}

pub fn decode_b64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = A.iter().position(|&a| a == c) else {
            continue;
        };
        buf = (buf << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

//! A small scripted SMTP server on 127.0.0.1 for tests and the benchmark:
//! it speaks enough of RFC 5321 (greeting, EHLO, AUTH PLAIN, MAIL, RCPT,
//! DATA with dot-unstuffing, RSET, NOOP, QUIT) to receive what a real
//! client sends, records every message with its envelope and raw DATA, and
//! can be told to answer a chosen step with a chosen code or to drop the
//! connection.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
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
}

impl SmtpServer {
    pub fn start() -> Self {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
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

fn session(stream: TcpStream, state: &Mutex<State>, options: &Options) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    let say = |out: &mut TcpStream, text: &str| out.write_all(format!("{text}\r\n").as_bytes());
    // A fault reply; true if the connection is then closed (421).
    let faulted = |out: &mut TcpStream, code: u16| -> std::io::Result<bool> {
        out.write_all(format!("{code} scripted failure\r\n").as_bytes())?;
        if code == 421 {
            let _ = out.shutdown(Shutdown::Both);
            return Ok(true);
        }
        Ok(false)
    };
    if let Some(code) = reply_fault(state, Step::Greeting) {
        faulted(&mut out, code)?;
        if code >= 500 {
            // A server refusing service still answers QUIT.
        }
    } else {
        say(&mut out, "220 test.invalid ESMTP scripted")?;
    }
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    loop {
        let mut line = String::new();
        let n = (&mut input).take(MAX_LINE as u64).read_line(&mut line)?;
        if n == 0 {
            return Ok(());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        state.lock().unwrap().commands.push(line.clone());
        let upper = line.to_ascii_uppercase();
        let verb = upper.split(' ').next().unwrap_or("").to_owned();
        match verb.as_str() {
            "EHLO" | "HELO" => {
                if let Some(code) = reply_fault(state, Step::Ehlo) {
                    if faulted(&mut out, code)? {
                        return Ok(());
                    }
                    continue;
                }
                let mut lines = vec![
                    "test.invalid".to_owned(),
                    "8BITMIME".into(),
                    "SMTPUTF8".into(),
                ];
                if options.login.is_some() {
                    lines.push("AUTH PLAIN".into());
                }
                if options.offer_starttls {
                    lines.push("STARTTLS".into());
                }
                for (i, l) in lines.iter().enumerate() {
                    let sep = if i + 1 == lines.len() { ' ' } else { '-' };
                    say(&mut out, &format!("250{sep}{l}"))?;
                }
            }
            "AUTH" => {
                if let Some(code) = reply_fault(state, Step::Auth) {
                    if faulted(&mut out, code)? {
                        return Ok(());
                    }
                    continue;
                }
                let ok = match (&options.login, line.split(' ').nth(2)) {
                    (Some((u, p)), Some(b64)) => {
                        decode_b64(b64) == format!("\0{u}\0{p}").into_bytes()
                    }
                    _ => false,
                };
                if ok {
                    say(&mut out, "235 2.7.0 Authentication successful")?;
                } else {
                    say(&mut out, "535 5.7.8 Authentication credentials invalid")?;
                }
            }
            "STARTTLS" => say(&mut out, "454 4.7.0 TLS not available")?,
            "MAIL" => {
                if let Some(code) = reply_fault(state, Step::Mail) {
                    if faulted(&mut out, code)? {
                        return Ok(());
                    }
                    continue;
                }
                mail_from = Some(between_angles(&line));
                rcpt_to.clear();
                say(&mut out, "250 2.1.0 OK")?;
            }
            "RCPT" => {
                if let Some(code) = reply_fault(state, Step::Rcpt) {
                    if faulted(&mut out, code)? {
                        return Ok(());
                    }
                    continue;
                }
                rcpt_to.push(between_angles(&line));
                say(&mut out, "250 2.1.5 OK")?;
            }
            "DATA" => {
                if let Some(code) = reply_fault(state, Step::Data) {
                    if faulted(&mut out, code)? {
                        return Ok(());
                    }
                    continue;
                }
                if mail_from.is_none() || rcpt_to.is_empty() {
                    say(&mut out, "503 5.5.1 bad sequence")?;
                    continue;
                }
                say(&mut out, "354 go ahead")?;
                let drop_mid = take_fault(state, |f| *f == Fault::DropMidData).is_some();
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    let n = (&mut input).take(MAX_LINE as u64).read_line(&mut l)?;
                    if n == 0 {
                        return Ok(());
                    }
                    if drop_mid {
                        let _ = out.shutdown(Shutdown::Both);
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
                if let Some(code) = reply_fault(state, Step::EndOfData) {
                    if faulted(&mut out, code)? {
                        return Ok(());
                    }
                    continue;
                }
                let message = Received {
                    mail_from: mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                };
                state.lock().unwrap().received.push(message);
                if take_fault(state, |f| *f == Fault::DropAfterData).is_some() {
                    let _ = out.shutdown(Shutdown::Both);
                    return Ok(());
                }
                say(&mut out, "250 2.0.0 queued")?;
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                say(&mut out, "250 OK")?;
            }
            "NOOP" => say(&mut out, "250 OK")?,
            "QUIT" => {
                say(&mut out, "221 bye")?;
                return Ok(());
            }
            _ => say(&mut out, "502 5.5.2 not implemented")?,
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

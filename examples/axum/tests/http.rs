//! The example app end to end: the real binary, started on 127.0.0.1 with a
//! free port, a SQLite file and a mail folder of its own, driven over HTTP
//! by a real client (ureq) through invite -> email -> preview -> accept ->
//! people list, with the refusals (401, 403, 404, 409, 413) on the way.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The running example; killed when dropped (also when a check fails).
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_enlist-example-axum"))
        .env("ENLIST_EXAMPLE_ADDR", "127.0.0.1:0")
        .env("ENLIST_EXAMPLE_DB", dir.join("app.sqlite3"))
        .env("ENLIST_EXAMPLE_MAIL_DIR", dir.join("mail"))
        .env("ENLIST_EXAMPLE_ACCEPT_URL", "http://localhost:3000/accept")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("the example's first line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let log = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().expect("stderr");
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("log")
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    Server { child, base, log }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// (status, body as JSON, body as text)
fn post(agent: &ureq::Agent, url: &str, bearer: Option<&str>, body: Value) -> (u16, Value, String) {
    let mut req = agent.post(url);
    if let Some(b) = bearer {
        req = req.header("Authorization", &format!("Bearer {b}"));
    }
    let mut resp = req.send_json(body).expect("request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    )
}

fn get(agent: &ureq::Agent, url: &str, bearer: Option<&str>) -> (u16, Value) {
    let mut req = agent.get(url);
    if let Some(b) = bearer {
        req = req.header("Authorization", &format!("Bearer {b}"));
    }
    let mut resp = req.call().expect("request");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The token of the one accept link in the mail folder's `.eml` files
/// (quoted-printable: soft line breaks and `=3D` undone).
fn token_from_mail(folder: &Path) -> String {
    let files: Vec<_> = std::fs::read_dir(folder)
        .expect("mail folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    assert_eq!(files.len(), 1, "one email: {files:?}");
    let raw = std::fs::read_to_string(&files[0]).expect("email");
    let text = raw
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let start = text.find("accept?token=").expect("an accept link") + "accept?token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect()
}

#[test]
fn invite_preview_accept_and_people_over_http() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path());
    let http = agent();
    let url = |path: &str| format!("{}{path}", server.base);

    // No bearer: 401, with the challenge.
    let resp = http
        .post(&url("/orgs"))
        .send_json(json!({"name": "Acme", "owner_email": "ada@acme.test"}))
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(
        resp.headers().get("www-authenticate").map(|v| v.as_bytes()),
        Some(&b"Bearer"[..])
    );

    let (status, org, _) = post(
        &http,
        &url("/orgs"),
        Some("acct-ada"),
        json!({"name": "Acme", "owner_email": "ada@acme.test"}),
    );
    assert_eq!(status, 201, "{org}");
    let org_id = org["org_id"].as_str().expect("org_id").to_owned();
    let invitations = url(&format!("/orgs/{org_id}/invitations"));

    // An account that is no member of the organization may not invite.
    let (status, body, _) = post(
        &http,
        &invitations,
        Some("acct-mallory"),
        json!({"recipients": "eve@evil.test"}),
    );
    assert_eq!((status, body["code"].as_str()), (403, Some("not_a_member")));

    // A body over the bound is refused before it is read.
    let huge = "x".repeat(enlist_example_axum::MAX_BODY_BYTES + 1);
    let (status, _, _) = post(
        &http,
        &invitations,
        Some("acct-ada"),
        json!({"recipients": huge}),
    );
    assert_eq!(status, 413);

    // The owner invites; the response names the invitation, not its token.
    let (status, report, report_text) = post(
        &http,
        &invitations,
        Some("acct-ada"),
        json!({"recipients": "Bob <bob@acme.test>"}),
    );
    assert_eq!(status, 201, "{report}");
    assert_eq!(report["issued"].as_array().map(Vec::len), Some(1));
    assert_eq!(report["issued"][0]["recipient"]["value"], "bob@acme.test");

    // The token reached Bob by email only.
    let token = token_from_mail(&dir.path().join("mail"));
    assert!(token.len() > 40, "{token}");
    assert!(
        !report_text.contains(&token),
        "the invite response carries the token"
    );

    // Preview: a made-up token is 404; the real one shows the offer.
    let (status, body, _) = post(
        &http,
        &url("/invitations/preview"),
        None,
        json!({"token": format!("{org_id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("invalid_secret"))
    );
    let (status, preview, preview_text) = post(
        &http,
        &url("/invitations/preview"),
        None,
        json!({"token": token}),
    );
    assert_eq!(status, 200, "{preview}");
    assert_eq!(preview["org_name"], "Acme");
    assert_eq!(preview["recipient"]["value"], "bob@acme.test");
    assert!(!preview_text.contains(&token));

    // Accept: signed in (401 otherwise), with the names the policy asks for.
    let accept = url("/invitations/accept");
    let (status, _, _) = post(&http, &accept, None, json!({"token": token}));
    assert_eq!(status, 401);
    let (status, joined, _) = post(
        &http,
        &accept,
        Some("acct-bob"),
        json!({"token": token, "first_name": "Bob", "last_name": "Smith"}),
    );
    assert_eq!(status, 200, "{joined}");
    assert_eq!(joined["org_id"], org_id.as_str());
    // Used once: a second accept is refused, and the error does not echo it.
    let (status, body, text) = post(
        &http,
        &accept,
        Some("acct-bob"),
        json!({"token": token, "first_name": "Bob", "last_name": "Smith"}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invitation_not_open")),
        "{body}"
    );
    assert!(!text.contains(&token), "an error body carries the token");

    // The people list: Ada and Bob; a stranger is refused.
    let people = url(&format!("/orgs/{org_id}/people"));
    let (status, page) = get(&http, &people, Some("acct-ada"));
    assert_eq!(status, 200, "{page}");
    let mut contacts: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p.to_string())
        .collect();
    contacts.sort();
    assert_eq!(contacts.len(), 2, "{contacts:?}");
    assert!(contacts.iter().any(|p| p.contains("ada@acme.test")));
    assert!(contacts.iter().any(|p| p.contains("bob@acme.test")));
    assert_eq!(get(&http, &people, Some("acct-mallory")).0, 403);
    assert_eq!(get(&http, &people, None).0, 401);
    // Bob is now a member: his bearer reaches the organization.
    assert_ne!(get(&http, &people, Some("acct-bob")).0, 401);

    // The server's log: one line per request, and never the token.
    std::thread::sleep(Duration::from_millis(100));
    let log = server.log.lock().expect("log").clone();
    assert!(log.contains("POST /invitations/accept -> 200"), "{log}");
    assert!(!log.contains(&token), "the log carries the token:\n{log}");
}

/// Several clients at once: each invite lands (the handlers await the
/// engine on the blocking pool, the runtime keeps accepting).
#[test]
fn concurrent_requests_are_all_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path());
    let http = agent();
    let (status, org, _) = post(
        &http,
        &format!("{}/orgs", server.base),
        Some("acct-ada"),
        json!({"name": "Acme", "owner_email": "ada@acme.test"}),
    );
    assert_eq!(status, 201);
    let invitations = format!(
        "{}/orgs/{}/invitations",
        server.base,
        org["org_id"].as_str().expect("org_id")
    );
    let threads: Vec<_> = (0..8)
        .map(|n| {
            let (http, invitations) = (http.clone(), invitations.clone());
            std::thread::spawn(move || {
                post(
                    &http,
                    &invitations,
                    Some("acct-ada"),
                    json!({"recipients": format!("p{n}@acme.test")}),
                )
                .0
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().expect("client"), 201);
    }
    let count = std::fs::read_dir(dir.path().join("mail"))
        .expect("mail")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml"))
        })
        .count();
    assert_eq!(count, 8);
}

//! A worker process for the store conformance suite's multi-process tests.
//!
//! ```text
//! enlist-store-worker <sqlite|postgres> <path-or-url> <schema|-> <command> [args...]
//!
//! commands:
//!   accept <token> <user_ref>
//!       Prints "ready", waits for a line on stdin, accepts the invitation,
//!       prints "ok <member id>" or "err <code> <message>".
//!   invite <org> <member id|system> <license|-> <address,address,...>
//!       Prints "ready", waits for a line on stdin, invites the addresses
//!       in one batch, prints "issued <key>" and "rejected <code> <input>"
//!       lines then "ok <batch id>", or "err <code> <message>".
//!   batches <org> <prefix> <size>
//!       Forever: prints "begin <i>", invites <size> new addresses
//!       <prefix>x<i>y<j>@kill.test in one batch, prints
//!       "done <i> <batch id>" (or "err <i> <code> <message>"). Run to be
//!       killed.
//! ```
//!
//! The engine runs on the system clock and the OS's random source, like a
//! real deployment. Every line is flushed as it is written.

use enlist::{
    Actor, Enlist, InviteRequest, MemberId, OrgId, RecipientInput, Recipients, Registration,
};
use enlist_tests::{StoreLocation, error_code, one_line};
use std::io::{BufRead, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("enlist-store-worker: {e}");
            ExitCode::FAILURE
        }
    }
}

fn say(line: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("stdout: {e}"))
}

/// Prints "ready" and waits for the parent's go.
fn ready() -> Result<(), String> {
    say("ready")?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("stdin: {e}"))?;
    Ok(())
}

fn registration(user_ref: &str) -> Registration {
    Registration {
        user_ref: user_ref.to_owned(),
        first_name: Some("Worker".to_owned()),
        last_name: Some(user_ref.to_owned()),
        ..Registration::default()
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let location = StoreLocation::from_args(args)?;
    let store = location.open()?;
    let engine = Enlist::new(store);
    let rest = args.get(3..).unwrap_or_default();
    match rest {
        [cmd, token, user_ref] if cmd == "accept" => {
            ready()?;
            match engine.accept(token, registration(user_ref)) {
                Ok(a) => say(&format!("ok {}", a.member.id)),
                Err(e) => say(&format!(
                    "err {} {}",
                    error_code(&e),
                    one_line(&e.to_string())
                )),
            }
        }
        [cmd, org, actor, license, addresses] if cmd == "invite" => {
            let org = OrgId::from(org.clone());
            let actor = if actor == "system" {
                Actor::System
            } else {
                Actor::Member(MemberId::from(actor.clone()))
            };
            let rows = addresses
                .split(',')
                .map(|a| RecipientInput::email(a.to_owned()))
                .collect();
            let mut req = InviteRequest::new(Recipients::List(rows));
            if license != "-" {
                req = req.license_type(license.clone());
            }
            ready()?;
            match engine.invite(&org, &actor, req) {
                Ok(report) => {
                    for i in &report.issued {
                        say(&format!("issued {}", i.invitation.recipient_key))?;
                    }
                    for r in &report.rejected {
                        say(&format!("rejected {} {}", r.reason.code(), r.input))?;
                    }
                    say(&format!("ok {}", report.batch_id))
                }
                Err(e) => say(&format!(
                    "err {} {}",
                    error_code(&e),
                    one_line(&e.to_string())
                )),
            }
        }
        [cmd, org, prefix, size] if cmd == "batches" => {
            let org = OrgId::from(org.clone());
            let size: usize = size.parse().map_err(|e| format!("size: {e}"))?;
            for i in 0u64.. {
                let rows = (0..size)
                    .map(|j| RecipientInput::email(format!("{prefix}x{i}y{j}@kill.test")))
                    .collect();
                say(&format!("begin {i}"))?;
                match engine.invite(
                    &org,
                    &Actor::System,
                    InviteRequest::new(Recipients::List(rows)),
                ) {
                    Ok(report) => say(&format!("done {i} {}", report.batch_id))?,
                    Err(e) => say(&format!(
                        "err {i} {} {}",
                        error_code(&e),
                        one_line(&e.to_string())
                    ))?,
                }
            }
            Ok(())
        }
        _ => Err(format!("unknown command: {rest:?}")),
    }
}

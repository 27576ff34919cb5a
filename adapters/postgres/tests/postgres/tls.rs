//! TLS against real servers: `ENLIST_TEST_POSTGRES_TLS_URL` is a server
//! that speaks TLS only (`scripts/postgres.sh start-tls`) and
//! `ENLIST_TEST_POSTGRES_TLS_CA` the PEM file of the throwaway CA that signed
//! its certificate (`scripts/postgres.sh tls-ca`; `other-ca.crt` beside it is
//! an unrelated CA). `ENLIST_TEST_POSTGRES_URL` is the usual server, without
//! TLS. Without them these tests print "SKIPPED" and pass.

use super::common::{schema_name, url};
use enlist_postgres::{CaCertificates, PostgresOptions, PostgresStore, SslMode};
use std::path::PathBuf;

struct TlsServer {
    /// `postgres://user@127.0.0.1:port/db`, no parameters.
    url: String,
    ca: PathBuf,
    other_ca: PathBuf,
}

fn tls_server() -> Option<TlsServer> {
    let url = std::env::var("ENLIST_TEST_POSTGRES_TLS_URL").ok()?;
    let ca = std::env::var("ENLIST_TEST_POSTGRES_TLS_CA").ok()?;
    if url.trim().is_empty() || ca.trim().is_empty() {
        println!("SKIPPED: ENLIST_TEST_POSTGRES_TLS_URL / _CA not set");
        return None;
    }
    let ca = PathBuf::from(ca);
    let other_ca = ca.with_file_name("other-ca.crt");
    Some(TlsServer { url, ca, other_ca })
}

fn with_params(url: &str, params: &str) -> String {
    format!("{url}?{params}")
}

/// The same URL with host `host` (the server listens on 127.0.0.1).
fn with_host(url: &str, host: &str) -> String {
    url.replace("127.0.0.1", host)
}

fn connect(url: &str, ca: Option<CaCertificates>) -> Result<PostgresStore, String> {
    let mut options = PostgresOptions::in_schema(schema_name());
    options.max_connections = 2;
    if let Some(ca) = ca {
        options = options.with_ca(ca);
    }
    PostgresStore::connect_with_options(url, options).map_err(|e| e.to_string())
}

#[test]
fn verify_full_with_the_right_ca_connects_encrypted() {
    let Some(s) = tls_server() else { return };
    // The CA in the options (no sslmode: verify-full).
    let store = connect(&s.url, Some(CaCertificates::File(s.ca.clone()))).expect("connect");
    assert!(store.uses_tls().unwrap());
    // The same as PEM bytes, and as sslrootcert in the URL; by name too.
    let pem = std::fs::read(&s.ca).unwrap();
    let store = connect(&s.url, Some(CaCertificates::Pem(pem))).expect("connect with PEM");
    assert!(store.uses_tls().unwrap());
    let url = with_params(
        &with_host(&s.url, "localhost"),
        &format!("sslmode=verify-full&sslrootcert={}", s.ca.display()),
    );
    let store = connect(&url, None).expect("connect by name");
    assert!(store.uses_tls().unwrap());
}

#[test]
fn the_wrong_ca_is_refused() {
    let Some(s) = tls_server() else { return };
    for mode in ["verify-full", "verify-ca", "require", "prefer"] {
        let url = with_params(&s.url, &format!("sslmode={mode}"));
        let err = connect(&url, Some(CaCertificates::File(s.other_ca.clone())))
            .err()
            .unwrap_or_else(|| panic!("{mode} with the wrong CA connected"));
        assert!(err.contains("TLS"), "{mode}: {err}");
        assert!(err.contains("UnknownIssuer"), "{mode}: {err}");
    }
}

#[test]
fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let Some(s) = tls_server() else { return };
    // The certificate names localhost and 127.0.0.1; connect to 127.0.0.1
    // under another name.
    let url = |mode: &str| {
        format!(
            "host=wrong.name.invalid hostaddr=127.0.0.1 port={} user={} dbname=enlist sslmode={mode}",
            port(&s.url),
            user(&s.url)
        )
    };
    let err = connect(
        &url("verify-full"),
        Some(CaCertificates::File(s.ca.clone())),
    )
    .expect_err("verify-full accepted a certificate for another name");
    assert!(err.contains("not valid for name"), "{err}");
    let store = connect(&url("verify-ca"), Some(CaCertificates::File(s.ca.clone())))
        .expect("verify-ca checks the chain only");
    assert!(store.uses_tls().unwrap());
}

#[test]
fn without_a_ca_prefer_and_require_encrypt_like_libpq() {
    let Some(s) = tls_server() else { return };
    // A plain URL: libpq's default `prefer`, and this server wants TLS.
    let store = connect(&s.url, None).expect("plain URL against a TLS server");
    assert!(store.uses_tls().unwrap());
    let store = connect(&with_params(&s.url, "sslmode=require"), None).expect("require");
    assert!(store.uses_tls().unwrap());
    // verify-* without any CA is refused before connecting.
    let err = connect(&with_params(&s.url, "sslmode=verify-full"), None)
        .err()
        .unwrap();
    assert!(err.contains("needs the certificate authorities"), "{err}");
    // disable: this server refuses plain text.
    let err = connect(&with_params(&s.url, "sslmode=disable"), None)
        .err()
        .unwrap();
    assert!(err.contains("no encryption"), "{err}");
}

#[test]
fn require_against_a_server_without_tls_fails() {
    let Some(plain) = url() else { return };
    let sep = if plain.contains('?') { '&' } else { '?' };
    for mode in ["require", "verify-ca", "verify-full"] {
        let ca = tls_server().map(|s| CaCertificates::File(s.ca));
        let ca = match (mode, ca) {
            ("require", _) => None,
            (_, Some(ca)) => Some(ca),
            (_, None) => continue,
        };
        let err = connect(&format!("{plain}{sep}sslmode={mode}"), ca)
            .err()
            .unwrap_or_else(|| panic!("sslmode={mode} connected without TLS"));
        assert!(err.contains("server does not support TLS"), "{mode}: {err}");
    }
}

#[test]
fn a_plain_url_still_works_without_tls() {
    let Some(plain) = url() else { return };
    let store = connect(&plain, None).expect("plain URL");
    assert!(!store.uses_tls().unwrap());
    // And a CA without sslmode means verify-full: no silent plain text.
    if let Some(s) = tls_server() {
        let err = connect(&plain, Some(CaCertificates::File(s.ca)))
            .expect_err("a CA given and a server without TLS: refused");
        assert!(err.contains("server does not support TLS"), "{err}");
    }
}

#[test]
fn the_mode_names_are_libpqs() {
    assert_eq!(SslMode::VerifyFull.as_str(), "verify-full");
    assert_eq!(SslMode::VerifyCa.to_string(), "verify-ca");
}

fn port(url: &str) -> &str {
    let after = url.rsplit_once(':').map_or("5432/x", |(_, p)| p);
    after.split('/').next().unwrap_or("5432")
}

fn user(url: &str) -> &str {
    url.trim_start_matches("postgres://")
        .split('@')
        .next()
        .unwrap_or("postgres")
}

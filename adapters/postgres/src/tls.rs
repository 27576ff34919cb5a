//! TLS for the connections of the store: libpq's `sslmode` and
//! `sslrootcert`, carried out with rustls (through `tokio-postgres-rustls`).
//!
//! The `postgres` driver understands `sslmode` `disable`, `prefer` and
//! `require` only, and checks no certificate by itself; this module reads
//! the TLS parameters out of the connection string before the driver sees
//! it, and builds the rustls configuration that gives each mode the meaning
//! libpq gives it:
//!
//! | `sslmode`     | TLS                                  | certificate checked                      |
//! |---------------|--------------------------------------|------------------------------------------|
//! | `disable`     | never                                | -                                        |
//! | `prefer`      | when the server offers it            | chain, when a CA is given; else none     |
//! | `require`     | always: no TLS, no connection        | chain, when a CA is given; else none     |
//! | `verify-ca`   | always                               | chain up to the CA (name not checked)    |
//! | `verify-full` | always                               | chain up to the CA and the host name     |
//!
//! Where this store is stricter than libpq, it never lets a connection fall
//! back to plain text that a caller asked to protect: a CA given without an
//! `sslmode` means `verify-full` (libpq would still `prefer`), and a failed
//! handshake is an error, never a retry without TLS. `allow` (plain text
//! first) is refused.

use enlist::{StoreError, StoreResult};
use postgres::config::SslMode as DriverSslMode;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// The largest CA bundle read from a file or accepted as bytes (the whole
/// Mozilla bundle is about 220 KB).
pub const MAX_CA_BUNDLE_BYTES: usize = 4 * 1024 * 1024;

/// The longest connection string accepted.
const MAX_URL_BYTES: usize = 64 * 1024;

/// How a connection uses TLS: libpq's `sslmode`, read from the connection
/// string (see the table in the crate documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it, plain text when it does not. The
    /// certificate is checked against the CA when one is given, not at all
    /// otherwise: this protects from eavesdroppers, not from an active
    /// attacker. The default when neither `sslmode` nor a CA is given.
    Prefer,
    /// TLS or no connection. The certificate is checked as for `Prefer`.
    Require,
    /// TLS, and the server's certificate must chain up to the CA; its host
    /// name is not checked.
    VerifyCa,
    /// TLS, the certificate must chain up to the CA and name the host
    /// connected to. The default when a CA is given without `sslmode`.
    VerifyFull,
}

impl SslMode {
    /// libpq's name of the mode (`verify-full`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    fn parse(value: &str) -> StoreResult<SslMode> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            "allow" => {
                return Err(config_error(
                    "sslmode=allow (plain text first) is not supported: use prefer, require, \
                     verify-ca or verify-full",
                ));
            }
            _ => {
                return Err(config_error(format!(
                    "unknown sslmode {:?}: expected disable, prefer, require, verify-ca or \
                     verify-full",
                    truncate(value)
                )));
            }
        })
    }

    fn verifies_chain_always(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The certificate authorities a server's certificate is checked against.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaCertificates {
    /// One or more PEM certificates (`-----BEGIN CERTIFICATE-----`), as
    /// bytes.
    Pem(Vec<u8>),
    /// A file of PEM certificates (libpq's `sslrootcert=/path`).
    File(PathBuf),
    /// The operating system's trusted roots (libpq's `sslrootcert=system`);
    /// implies `verify-full`.
    System,
}

impl fmt::Debug for CaCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaCertificates::Pem(bytes) => write!(f, "Pem({} bytes)", bytes.len()),
            CaCertificates::File(path) => f.debug_tuple("File").field(path).finish(),
            CaCertificates::System => f.write_str("System"),
        }
    }
}

/// What a connection string and the options decide about TLS.
pub(crate) struct TlsPlan {
    /// The connection string without the parameters this module handled,
    /// for the driver.
    pub(crate) driver_url: String,
    /// The mode in force.
    pub(crate) mode: SslMode,
    /// The rustls configuration; `None` for `disable`.
    pub(crate) client: Option<ClientConfig>,
}

impl TlsPlan {
    /// The driver's own mode for this one.
    pub(crate) fn driver_mode(&self) -> DriverSslMode {
        match self.mode {
            SslMode::Disable => DriverSslMode::Disable,
            SslMode::Prefer => DriverSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => DriverSslMode::Require,
        }
    }
}

/// Decides the TLS of `url` given the CA of the options.
pub(crate) fn plan(url: &str, ca_option: Option<&CaCertificates>) -> StoreResult<TlsPlan> {
    if url.len() > MAX_URL_BYTES {
        return Err(config_error(format!(
            "the connection string is {} bytes long; at most {MAX_URL_BYTES} are accepted",
            url.len()
        )));
    }
    let split = split_tls_params(url)?;
    let url_ca = split.sslrootcert.as_deref().map(|v| {
        if v == "system" {
            CaCertificates::System
        } else {
            CaCertificates::File(PathBuf::from(v))
        }
    });
    if url_ca.is_some() && ca_option.is_some() {
        return Err(config_error(
            "a CA was given twice: as sslrootcert in the connection string and in the options; \
             keep one",
        ));
    }
    let ca = url_ca.as_ref().or(ca_option);
    let mode = match (split.sslmode.as_deref(), ca) {
        (Some(m), _) => SslMode::parse(m)?,
        (None, Some(_)) => SslMode::VerifyFull,
        (None, None) => SslMode::Prefer,
    };
    match (mode, ca) {
        (SslMode::Disable, Some(_)) => {
            return Err(config_error(
                "sslmode=disable with a CA: the CA would never be used; remove one of them",
            ));
        }
        (m, None) if m.verifies_chain_always() => {
            return Err(config_error(format!(
                "sslmode={m} needs the certificate authorities to check the server against: give \
                 a CA file or PEM bytes, sslrootcert=/path/to/ca.pem, or sslrootcert=system"
            )));
        }
        (m, Some(CaCertificates::System)) if m != SslMode::VerifyFull => {
            return Err(config_error(format!(
                "sslrootcert=system needs sslmode=verify-full (it was {m}), as in libpq"
            )));
        }
        _ => {}
    }
    let client = if mode == SslMode::Disable {
        None
    } else {
        Some(client_config(mode, ca)?)
    };
    Ok(TlsPlan {
        driver_url: split.rest,
        mode,
        client,
    })
}

/// The rustls configuration of `mode` with `ca`.
fn client_config(mode: SslMode, ca: Option<&CaCertificates>) -> StoreResult<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error(format!("TLS is not usable: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match ca {
        None => Arc::new(AnyCertificate { provider }),
        Some(ca) => {
            let roots = Arc::new(root_store(ca)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| config_error(format!("the CA is not usable: {e}")))?;
            if mode == SslMode::VerifyFull {
                webpki
            } else {
                Arc::new(ChainOnly { inner: webpki })
            }
        }
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// The trusted roots of `ca`.
fn root_store(ca: &CaCertificates) -> StoreResult<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match ca {
        CaCertificates::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(config_error(
                    "sslrootcert=system: no trusted root certificate was found on this system \
                     (install the ca-certificates package, or give a CA file)",
                ));
            }
        }
        CaCertificates::File(path) => {
            let bytes = read_bounded(path)?;
            add_pem(
                &mut roots,
                &bytes,
                &format!("the CA file {}", path.display()),
            )?;
        }
        CaCertificates::Pem(bytes) => add_pem(&mut roots, bytes, "the CA given as PEM")?,
    }
    Ok(roots)
}

/// Reads a CA file of at most [`MAX_CA_BUNDLE_BYTES`].
fn read_bounded(path: &std::path::Path) -> StoreResult<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| config_error(format!("cannot open the CA file {}: {e}", path.display())))?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_CA_BUNDLE_BYTES).unwrap_or(u64::MAX);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| config_error(format!("cannot read the CA file {}: {e}", path.display())))?;
    if bytes.len() > MAX_CA_BUNDLE_BYTES {
        return Err(config_error(format!(
            "the CA file {} is larger than {MAX_CA_BUNDLE_BYTES} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// Adds every PEM certificate of `bytes`; at least one, and all valid.
fn add_pem(roots: &mut RootCertStore, bytes: &[u8], what: &str) -> StoreResult<()> {
    if bytes.len() > MAX_CA_BUNDLE_BYTES {
        return Err(config_error(format!(
            "{what} is larger than {MAX_CA_BUNDLE_BYTES} bytes"
        )));
    }
    let mut count = 0usize;
    for cert in CertificateDer::pem_slice_iter(bytes) {
        let cert = cert.map_err(|e| config_error(format!("{what} is not valid PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| config_error(format!("{what} holds an unusable certificate: {e}")))?;
        count += 1;
    }
    if count == 0 {
        return Err(config_error(format!(
            "{what} holds no certificate (expected -----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(())
}

/// `sslmode=verify-ca`: the chain must reach a trusted root, whatever name
/// the certificate holds.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // rustls checks the chain (signatures, validity, usage) before the
        // name, so a name error means the chain was found good.
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `prefer` and `require` without a CA, as in libpq: the certificate is not
/// checked (the handshake's signature still is, against the certificate
/// presented). Encryption against eavesdroppers, not authentication.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

// ---------------------------------------------------------------------------
// Reading sslmode and sslrootcert out of a connection string
// ---------------------------------------------------------------------------

/// A connection string without its TLS parameters, and their values (the
/// last one given wins, as in libpq).
#[derive(Debug, PartialEq, Eq)]
struct Split {
    rest: String,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of `url`, a `postgres://` URL or a
/// libpq `key=value` string, following the driver's own parsers so that the
/// rest means to the driver what it meant before.
fn split_tls_params(url: &str) -> StoreResult<Split> {
    for prefix in ["postgres://", "postgresql://"] {
        if let Some(after) = url.strip_prefix(prefix) {
            return split_url(prefix, after);
        }
    }
    split_key_values(url)
}

fn split_url(prefix: &str, after: &str) -> StoreResult<Split> {
    // As the driver: the credentials end at the first `@`, and the
    // parameters start at the first `?` after them.
    let start = after.find('@').map_or(0, |at| at + 1);
    let Some(q) = after[start..].find('?').map(|q| start + q) else {
        return Ok(Split {
            rest: format!("{prefix}{after}"),
            sslmode: None,
            sslrootcert: None,
        });
    };
    let mut params = &after[q + 1..];
    let mut kept: Vec<&str> = Vec::new();
    let (mut sslmode, mut sslrootcert) = (None, None);
    while !params.is_empty() {
        let Some(eq) = params.find('=') else {
            return Err(config_error(
                "not a PostgreSQL connection string: unterminated parameter",
            ));
        };
        let (pair, next) = match params[eq..].find('&') {
            Some(amp) => (&params[..eq + amp], &params[eq + amp + 1..]),
            None => (params, ""),
        };
        let key = percent_decode(&pair[..eq])?;
        match key.as_str() {
            "sslmode" => sslmode = Some(percent_decode(&pair[eq + 1..])?),
            "sslrootcert" => sslrootcert = Some(percent_decode(&pair[eq + 1..])?),
            _ => kept.push(pair),
        }
        params = next;
    }
    let mut rest = format!("{prefix}{}", &after[..q]);
    if !kept.is_empty() {
        rest.push('?');
        rest.push_str(&kept.join("&"));
    }
    Ok(Split {
        rest,
        sslmode,
        sslrootcert,
    })
}

/// `%XX` decoded; other bytes kept (as the driver's decoder does).
fn percent_decode(s: &str) -> StoreResult<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| hex(*c)),
                bytes.get(i + 2).and_then(|c| hex(*c)),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| config_error("not a PostgreSQL connection string: a parameter is not UTF-8"))
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The `key = value` form: whitespace-separated pairs, values bare (with
/// `\` escapes) or in single quotes (with `\` escapes).
fn split_key_values(s: &str) -> StoreResult<Split> {
    let mut it = s.chars().peekable();
    let mut kept: Vec<(String, String)> = Vec::new();
    let (mut sslmode, mut sslrootcert) = (None, None);
    loop {
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        let mut key = String::new();
        while let Some(c) = it.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        if key.is_empty() {
            break;
        }
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        if it.next() != Some('=') {
            return Err(config_error(format!(
                "not a PostgreSQL connection string: expected `=` after {:?}",
                truncate(&key)
            )));
        }
        while it.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if it.next_if_eq(&'\'').is_some() {
            loop {
                match it.next() {
                    Some('\'') => break,
                    Some('\\') => {
                        if let Some(c) = it.next() {
                            value.push(c);
                        }
                    }
                    Some(c) => value.push(c),
                    None => {
                        return Err(config_error(
                            "not a PostgreSQL connection string: unterminated quoted value",
                        ));
                    }
                }
            }
        } else {
            while let Some(c) = it.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(c2) = it.next() {
                        value.push(c2);
                    }
                } else {
                    value.push(c);
                }
            }
            if value.is_empty() {
                return Err(config_error(format!(
                    "not a PostgreSQL connection string: {:?} has no value",
                    truncate(&key)
                )));
            }
        }
        match key.as_str() {
            "sslmode" => sslmode = Some(value),
            "sslrootcert" => sslrootcert = Some(value),
            _ => kept.push((key, value)),
        }
    }
    let rest = kept
        .iter()
        .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Split {
        rest,
        sslmode,
        sslrootcert,
    })
}

/// At most 40 characters of `s`, for an error message.
fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

fn config_error(message: impl Into<String>) -> StoreError {
    StoreError::Unavailable(message.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> Split {
        split_tls_params(url).unwrap()
    }

    #[test]
    fn urls_lose_their_tls_parameters_and_keep_the_rest() {
        let s = split(
            "postgres://u:p%3Fw@h:5/db?application_name=a&sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&connect_timeout=3",
        );
        assert_eq!(
            s.rest,
            "postgres://u:p%3Fw@h:5/db?application_name=a&connect_timeout=3"
        );
        assert_eq!(s.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(s.sslrootcert.as_deref(), Some("/tmp/ca.pem"));

        let s = split("postgresql://h/db?sslmode=require");
        assert_eq!(s.rest, "postgresql://h/db");
        assert_eq!(s.sslmode.as_deref(), Some("require"));

        // The last value wins; a `?` in the password is not the query.
        let s = split("postgres://u:a?b@h/db?sslmode=disable&sslmode=verify-ca");
        assert_eq!(s.rest, "postgres://u:a?b@h/db");
        assert_eq!(s.sslmode.as_deref(), Some("verify-ca"));

        let s = split("postgres://h/db");
        assert_eq!(s.rest, "postgres://h/db");
        assert_eq!(s.sslmode, None);
        assert!(split_tls_params("postgres://h/db?oops").is_err());
    }

    #[test]
    fn key_value_strings_lose_their_tls_parameters_and_keep_the_rest() {
        let s = split(
            r"host=h  sslmode = verify-full password='a b\'c' sslrootcert='/x y/ca.pem' user=u\ v",
        );
        assert_eq!(s.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(s.sslrootcert.as_deref(), Some("/x y/ca.pem"));
        assert_eq!(s.rest, r"host='h' password='a b\'c' user='u v'");
        // The rest means the same to the driver.
        let c: postgres::Config = s.rest.parse().unwrap();
        assert_eq!(c.get_password(), Some(&b"a b'c"[..]));
        assert_eq!(c.get_user(), Some("u v"));
        assert!(split_tls_params("host=h sslmode").is_err());
        assert!(split_tls_params("host='h").is_err());
    }

    #[test]
    fn modes_follow_libpq_and_never_weaken_silently() {
        let pem = CaCertificates::Pem(b"not pem".to_vec());
        let mode = |url: &str, ca: Option<&CaCertificates>| plan(url, ca).map(|p| p.mode);
        assert_eq!(mode("host=h", None).unwrap(), SslMode::Prefer);
        assert_eq!(
            mode("host=h sslmode=disable", None).unwrap(),
            SslMode::Disable
        );
        assert_eq!(
            mode("host=h sslmode=require", None).unwrap(),
            SslMode::Require
        );
        // verify-* without a CA, allow, unknown modes, a CA with disable,
        // system roots with a weak mode, two CAs: all refused.
        for url in [
            "host=h sslmode=verify-full",
            "host=h sslmode=verify-ca",
            "host=h sslmode=allow",
            "host=h sslmode=verify_full",
            "host=h sslmode=require sslrootcert=system",
        ] {
            assert!(plan(url, None).is_err(), "{url}");
        }
        assert!(plan("host=h sslmode=disable", Some(&pem)).is_err());
        assert!(plan("host=h sslrootcert=/x", Some(&pem)).is_err());
        // A CA that is not PEM is refused before any connection.
        let err = plan("host=h", Some(&pem)).err().unwrap().to_string();
        assert!(err.contains("holds no certificate"), "{err}");
        let err = plan(
            "host=h",
            Some(&CaCertificates::Pem(vec![b'x'; MAX_CA_BUNDLE_BYTES + 1])),
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("larger than"), "{err}");
        let huge = format!("host=h application_name={}", "a".repeat(MAX_URL_BYTES));
        assert!(plan(&huge, None).is_err());
    }

    #[test]
    fn a_missing_ca_file_is_a_clear_error() {
        let err = plan(
            "host=h sslmode=verify-full sslrootcert=/nonexistent/ca.pem",
            None,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("cannot open the CA file /nonexistent/ca.pem"),
            "{err}"
        );
    }

    #[test]
    fn debug_of_pem_bytes_shows_their_length_only() {
        let ca = CaCertificates::Pem(b"-----BEGIN CERTIFICATE-----".to_vec());
        assert_eq!(format!("{ca:?}"), "Pem(27 bytes)");
    }
}

//! The mailers of `enlist-smtp` for Kotlin and Swift: [`smtp_mailer`] and
//! [`file_mailer`] make a [`Mailer`] implemented in Rust. Given to
//! `deliverPending`, it is called directly, with core's email: no call
//! into the JVM or Swift per message.

use crate::callbacks::Mailer;
use crate::error::{EnlistError, MailError};
use crate::types::OutgoingEmail;
use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

/// How [`smtp_mailer`] secures its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum TlsMode {
    /// TLS from the first byte (port 465 by default).
    Implicit,
    /// A plain connection upgraded with `STARTTLS`, which the server must
    /// offer (port 587 by default). The default.
    StartTls,
    /// No TLS (port 25 by default): only to this machine (localhost,
    /// 127.0.0.1, ::1) unless `allow_plaintext_remote` is set.
    None,
}

impl From<TlsMode> for enlist_smtp::TlsMode {
    fn from(t: TlsMode) -> Self {
        match t {
            TlsMode::Implicit => enlist_smtp::TlsMode::Implicit,
            TlsMode::StartTls => enlist_smtp::TlsMode::StartTls,
            TlsMode::None => enlist_smtp::TlsMode::None,
        }
    }
}

/// Where and how [`smtp_mailer`] sends (`enlist_smtp::SmtpConfig`, with
/// durations in seconds): name the host and `from_address`, change what
/// differs. `smtp_mailer` checks it all and connects to nothing.
#[derive(Clone, uniffi::Record)]
pub struct SmtpConfig {
    /// The server's host name (checked against its TLS certificate) or IP
    /// address.
    pub host: String,
    /// The `From` address of every email (the host's own; the inviter is
    /// the `Reply-To` when the policy allows).
    pub from_address: String,
    /// The `From` display name (`Acme`), quoted or encoded as needed.
    #[uniffi(default)]
    pub from_name: Option<String>,
    /// The port; none uses the TLS mode's standard port.
    #[uniffi(default)]
    pub port: Option<u16>,
    /// How the connection is secured; none is `StartTls`.
    #[uniffi(default)]
    pub tls: Option<TlsMode>,
    /// Allows `TlsMode.None` to another machine (email, links and
    /// credentials would cross the network in clear).
    #[uniffi(default = false)]
    pub allow_plaintext_remote: bool,
    /// Root certificates (PEM) trusted besides the system's.
    #[uniffi(default)]
    pub extra_ca_pem: Option<String>,
    /// The user name to log in with; the password is `smtp_mailer`'s own
    /// argument, so that printing this record (a Kotlin data class's
    /// `toString`, Swift's `dump`) never shows it.
    #[uniffi(default)]
    pub username: Option<String>,
    /// How long connecting and setting the session up may take.
    #[uniffi(default = 10)]
    pub connect_timeout_secs: u64,
    /// How long the server may take to answer one command.
    #[uniffi(default = 60)]
    pub command_timeout_secs: u64,
    /// The `EHLO` name; none uses this machine's host name.
    #[uniffi(default)]
    pub hello_name: Option<String>,
    /// Connections kept open between sends (0 closes each after its
    /// message).
    #[uniffi(default = 4)]
    pub max_idle_connections: u32,
    /// A kept connection unused this long is closed.
    #[uniffi(default = 30)]
    pub idle_timeout_secs: u64,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("from_address", &self.from_address)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A mailer made in Rust: what [`smtp_mailer`] and [`file_mailer`]
/// return, as a [`Mailer`].
pub(crate) struct NativeMailer(Arc<dyn enlist::Mailer>);

impl NativeMailer {
    /// The native mailer behind `mailer`, when it is one (not an app's).
    pub(crate) fn of(mailer: &Arc<dyn Mailer>) -> Option<&NativeMailer> {
        let any: &dyn Any = mailer.as_ref();
        any.downcast_ref::<NativeMailer>()
    }

    /// Sends core's email itself.
    pub(crate) fn send_core(&self, email: &enlist::OutgoingEmail) -> Result<(), enlist::MailError> {
        self.0.send(email)
    }
}

impl Mailer for NativeMailer {
    /// Called by the app itself (`deliverPending` calls the mailer
    /// directly): the email as core's, then sent.
    fn send(&self, email: OutgoingEmail) -> Result<(), MailError> {
        let email = core_email(email)?;
        self.0.send(&email).map_err(|e| match e.scrubbed(&email) {
            enlist::MailError::Permanent(reason) => MailError::Permanent { reason },
            enlist::MailError::Temporary(reason) => MailError::Temporary { reason },
            other => MailError::Temporary {
                reason: other.to_string(),
            },
        })
    }
}

/// The app's copy of an email as core's, through core's serde form (a
/// field core adds with a default needs no code here).
fn core_email(e: OutgoingEmail) -> Result<enlist::OutgoingEmail, MailError> {
    let form = serde_json::json!({
        "message_id": e.message_id,
        "to": e.to,
        "to_name": e.to_name,
        "subject": e.subject,
        "text_body": e.text_body.expose(),
        "html_body": e.html_body.as_ref().map(|b| b.expose()),
        "accept_url": e.accept_url.expose(),
        "org_name": e.org_name,
        "inviter_name": e.inviter_name,
        "reply_to": e.reply_to,
        "personal_message": e.personal_message,
        "expires_at": e.expires_at,
    });
    serde_json::from_value(form).map_err(|err| MailError::Permanent {
        reason: format!("the email cannot be read back: {err}"),
    })
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A mailer sending over SMTP (`enlist_smtp::SmtpMailer`): STARTTLS
/// required by default, a 5xx reply fails the message for good, a 4xx
/// reply or a lost connection retries it, a few connections kept open
/// across a batch. `password` goes with `config.username`; the mailer keeps
/// it, no error or printed value shows it. A bad setting throws
/// `InvalidInput` naming it.
#[uniffi::export(default(password = None))]
pub fn smtp_mailer(
    config: SmtpConfig,
    password: Option<String>,
) -> Result<Arc<dyn Mailer>, EnlistError> {
    let from = enlist_smtp::from_mailbox(config.from_name.as_deref(), &config.from_address)?;
    let mut c = enlist_smtp::SmtpConfig::new(config.host, from);
    c.port = config.port;
    c.tls = config.tls.unwrap_or(TlsMode::StartTls).into();
    c.allow_plaintext_remote = config.allow_plaintext_remote;
    c.extra_ca_pem = config.extra_ca_pem;
    c.username = config.username;
    c.password = password;
    c.connect_timeout = secs(config.connect_timeout_secs);
    c.command_timeout = secs(config.command_timeout_secs);
    c.hello_name = config.hello_name;
    c.max_idle_connections = usize::try_from(config.max_idle_connections).unwrap_or(usize::MAX);
    c.idle_timeout = secs(config.idle_timeout_secs);
    let mailer = enlist_smtp::SmtpMailer::new(c)?;
    Ok(Arc::new(NativeMailer(Arc::new(mailer))))
}

/// A mailer writing each email to `{folder}/{message id}.eml` (created if
/// missing), for development: open a file with a mail client to see what
/// the invitee gets. `from_address` and `from_name` make its `From`.
#[uniffi::export(default(from_name = None))]
pub fn file_mailer(
    folder: String,
    from_address: String,
    from_name: Option<String>,
) -> Result<Arc<dyn Mailer>, EnlistError> {
    let from = enlist_smtp::from_mailbox(from_name.as_deref(), &from_address)?;
    let mailer = enlist_smtp::FileMailer::new(folder, &from)?;
    Ok(Arc::new(NativeMailer(Arc::new(mailer))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(host: &str) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            from_address: "noreply@acme.test".into(),
            from_name: Some("Acme".into()),
            port: None,
            tls: None,
            allow_plaintext_remote: false,
            extra_ca_pem: None,
            username: None,
            connect_timeout_secs: 10,
            command_timeout_secs: 60,
            hello_name: None,
            max_idle_connections: 4,
            idle_timeout_secs: 30,
        }
    }

    fn field_of(e: EnlistError) -> String {
        e.to_string()
    }

    #[test]
    fn a_native_mailer_is_recognized_and_an_apps_is_not() {
        struct AppMailer;
        impl Mailer for AppMailer {
            fn send(&self, _: OutgoingEmail) -> Result<(), MailError> {
                Ok(())
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let native = file_mailer(
            dir.path().display().to_string(),
            "noreply@acme.test".into(),
            None,
        )
        .expect("file mailer");
        assert!(NativeMailer::of(&native).is_some());
        let app: Arc<dyn Mailer> = Arc::new(AppMailer);
        assert!(NativeMailer::of(&app).is_none());
    }

    #[test]
    fn bad_settings_are_refused_naming_the_field() {
        let mut c = config("smtp.example.com");
        c.tls = Some(TlsMode::None);
        assert!(field_of(smtp_mailer(c, None).err().expect("plaintext")).contains("smtp.tls"));
        let mut c = config("smtp.example.com");
        c.port = Some(0);
        assert!(field_of(smtp_mailer(c, None).err().expect("port 0")).contains("smtp.port"));
        let mut c = config("smtp.example.com");
        c.from_address = "not an address".into();
        assert!(field_of(smtp_mailer(c, None).err().expect("from")).contains("from_address"));
        let mut c = config("smtp.example.com");
        c.connect_timeout_secs = 0;
        assert!(field_of(smtp_mailer(c, None).err().expect("timeout")).contains("connect_timeout"));
        let mut c = config("smtp.example.com");
        c.username = Some("apikey".into());
        c.port = Some(0);
        let text = field_of(
            smtp_mailer(c.clone(), Some("hunter2-secret".into()))
                .err()
                .expect("port 0"),
        );
        assert!(!text.contains("hunter2"), "{text}");
        // A password without a user name is refused, naming the user name.
        let mut c = config("smtp.example.com");
        c.port = Some(2525);
        let text = field_of(
            smtp_mailer(c, Some("hunter2-secret".into()))
                .err()
                .expect("no user"),
        );
        assert!(
            text.contains("smtp.username") && !text.contains("hunter2"),
            "{text}"
        );
        let mut c = config("127.0.0.1");
        c.tls = Some(TlsMode::None);
        assert!(smtp_mailer(c, None).is_ok());
    }
}

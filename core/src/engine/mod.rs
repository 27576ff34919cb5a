//! The engine: every command of the domain, authorized, validated, run in
//! one store transaction with its audit event.
//!
//! ```
//! use enlist::{Actor, CreatedOrganization, Enlist, InviteRequest, NewOrganization, Recipients, Registration};
//! let engine = Enlist::in_memory();
//! let CreatedOrganization { organization: org, owner, .. } = engine.create_organization(NewOrganization::new("Acme", "owner-1", "ada@acme.test"))?;
//! let report = engine.invite(&org.id, &Actor::Member(owner.id.clone()),
//!     InviteRequest::new(Recipients::Paste("bob@acme.test, Carol <carol@acme.test>".into())))?;
//! assert_eq!(report.issued.len(), 2);
//! let token = report.issued[0].secret.clone().expect("sent invitations carry their secret");
//! let accepted = engine.accept(token.expose(), Registration {
//!     user_ref: "acct-bob".into(), first_name: Some("Bob".into()), last_name: Some("Smith".into()),
//!     ..Registration::default() })?;
//! assert_eq!(accepted.member.contact.as_str(), "bob@acme.test");
//! # Ok::<(), enlist::Error>(())
//! ```

mod accept;
#[cfg(feature = "tokio")]
mod async_engine;
mod attributes;
mod bulk;
mod bulk_update;
mod caps;
mod directory;
mod directory_import;
mod domains;
mod dry_run;
mod feed;
mod groups;
mod invite;
mod invitee;
mod link;
mod links;
mod members;
mod organizations;
mod orgs;
mod outbox;
mod people;
mod render;
mod reports;
mod settings;
mod templates;
#[cfg(test)]
pub(crate) mod test_support;
mod trace;

pub use accept::{ACCESS_CODE_LOCK_SECS, ACCESS_CODE_MAX_LOCK_SECS, Acceptance};
#[cfg(feature = "tokio")]
pub use async_engine::{AsyncEnlist, MAX_CONCURRENT_COMMANDS};
pub use bulk::{
    BulkAction, BulkConfirmation, BulkOutcome, BulkReport, BulkRequest, BulkRow,
    CONFIRMATION_DIGITS, CONFIRMATION_WINDOW_SECS, CONFIRMATION_WINDOWS,
};
pub use bulk_update::{BulkRowStatus, BulkUpdateReport, BulkUpdateRow};
pub use caps::{Capabilities, GroupCapability, InviteCapability, StagedInvitationUpdate};
pub use directory::{
    DirectoryAssistant, DirectoryField, DirectoryReview, DirectoryReviewRow, DirectoryRow,
    DirectorySendReport,
};
pub use directory_import::{
    ImportDefaults, ImportInterruption, ImportRejection, ImportReport, ImportedInvitation,
};
pub use dry_run::{ImportDryRun, InviteDryRun, WouldIssue};
pub use feed::{EventFeed, FeedEvent, MAX_FEED_KINDS, event_kind_name};
pub use groups::{GroupQuery, GroupUpdate, NewGroup};
pub use invite::{
    InviteReport, InviteRequest, IssuedInvitation, RecipientInput, Recipients, RejectReason,
    RejectedRecipient, SendOutcome, SendReport,
};
pub use invitee::{Identity, InboxInvitation, MAX_INBOX_PAGE, NewMember};
pub use link::{ActivatedLink, LinkPreview, LinkSpec};
pub use links::NewLink;
pub use members::{FieldChange, MemberUpdate};
pub use organizations::MAX_ORG_PREFIX_CHARS;
pub use orgs::{CreatedOrganization, NewOrganization};
pub use outbox::MAX_OUTBOX_BATCH;
pub use settings::{MAX_REDIRECT_URLS, check_redirect_url};

use crate::clock::{Clock, SystemClock};
use crate::error::{EntityKind, Error, LimitKind, Result, StoreError};
use crate::event::{Actor, Event, EventKind};
use crate::group::GroupGrant;
use crate::id::OrgId;
use crate::member::{Member, MemberKind, MemberStatus};
use crate::memory::MemoryStore;
use crate::organization::Organization;
use crate::outbox::RetryPolicy;
use crate::role::{GroupRole, Permission, PermissionSet, Role};
use crate::secret::{CodeHasher, OsSecrets, SecretKey, SecretSource};
use crate::store::{Store, Transaction};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Settings of the engine itself (not of an organization): the host's
/// configuration, which no organization administrator can change.
///
/// Check it with [`EngineConfig::validated`] (or give it to
/// [`Enlist::try_with_config`], which does): the product name reaches the
/// Subject of every invitation email and the accept URL bases reach every
/// accept link, so neither may carry control characters, and accept links
/// must use `https` (plain `http` only for a loopback host, for
/// development on one machine).
///
/// ```
/// let mut config = enlist::EngineConfig::default();
/// config.default_accept_url_base = "https://app.acme.example/accept".into();
/// config.allowed_accept_url_bases = vec!["https://eu.acme.example/accept".into()];
/// let config = config.validated()?;
/// assert!(config.accept_url_base_allowed("https://eu.acme.example/accept"));
/// assert!(!config.accept_url_base_allowed("https://evil.example/accept"));
///
/// let mut bad = enlist::EngineConfig::default();
/// bad.product_name = "Acme\r\nBcc: spy@evil.example".into();
/// assert_eq!(bad.validated().unwrap_err().code(), "invalid_input");
/// # Ok::<(), enlist::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EngineConfig {
    /// The base of accept links when an organization's policy names none
    /// (or names one the host no longer allows). Always allowed.
    pub default_accept_url_base: String,
    /// Further bases an organization's policy may choose as its
    /// `accept_url_base` (for example one per region or brand). A policy
    /// naming any other base is refused. Empty (the default): only
    /// [`default_accept_url_base`](Self::default_accept_url_base).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub allowed_accept_url_bases: Vec<String>,
    /// The product's name, used in invitation emails.
    pub product_name: String,
    /// How the outbox retries failed deliveries.
    pub retry: RetryPolicy,
    /// How many times a command is retried when the store reports a
    /// concurrent-update conflict.
    pub conflict_retries: u32,
    /// Where an invitation may send its invitee after accepting
    /// ([`InviteRequest::redirect_url`]): URL prefixes (origin and path,
    /// such as `https://app.acme.example/welcome`), checked like the
    /// accept URL bases plus no query or fragment. A redirect URL must have
    /// exactly the origin of one of them and a path inside its path (see
    /// [`check_redirect_url`]). Empty (the default): invitations carry no
    /// redirect URL. At most [`MAX_REDIRECT_URLS`].
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub allowed_redirect_urls: Vec<String>,
}

/// At most this many characters in an accept URL base.
pub const MAX_ACCEPT_URL_BASE_CHARS: usize = 500;
/// At most this many allowed accept URL bases in an [`EngineConfig`].
pub const MAX_ACCEPT_URL_BASES: usize = 100;
/// At most this many characters in [`EngineConfig::product_name`].
pub const MAX_PRODUCT_NAME_CHARS: usize = 100;
/// At most this many conflict retries ([`EngineConfig::conflict_retries`]).
pub const MAX_CONFLICT_RETRIES: u32 = 100;

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            default_accept_url_base: "https://app.example.invalid/invitations/accept".to_owned(),
            allowed_accept_url_bases: Vec::new(),
            product_name: "enlist".to_owned(),
            retry: RetryPolicy::default(),
            conflict_retries: 5,
            allowed_redirect_urls: Vec::new(),
        }
    }
}

impl EngineConfig {
    /// Checks the settings and returns them normalized (names and bases
    /// trimmed, duplicate bases dropped): the product name is one line of
    /// at most [`MAX_PRODUCT_NAME_CHARS`] characters without control or
    /// invisible characters; every accept URL base passes
    /// [`check_accept_url_base`]; at most [`MAX_ACCEPT_URL_BASES`] bases;
    /// at most [`MAX_CONFLICT_RETRIES`] conflict retries.
    pub fn validated(mut self) -> Result<Self> {
        self.product_name =
            required_line("product_name", &self.product_name, MAX_PRODUCT_NAME_CHARS)?;
        self.default_accept_url_base =
            check_accept_url_base("default_accept_url_base", &self.default_accept_url_base)?;
        if self.allowed_accept_url_bases.len() > MAX_ACCEPT_URL_BASES {
            return Err(Error::LimitExceeded {
                limit: LimitKind::FieldLength,
                max: MAX_ACCEPT_URL_BASES as u64,
                actual: self.allowed_accept_url_bases.len() as u64,
                detail: Some("allowed_accept_url_bases".into()),
            });
        }
        let mut bases: Vec<String> = Vec::with_capacity(self.allowed_accept_url_bases.len());
        for b in &self.allowed_accept_url_bases {
            let b = check_accept_url_base("allowed_accept_url_bases", b)?;
            if b != self.default_accept_url_base && !bases.contains(&b) {
                bases.push(b);
            }
        }
        self.allowed_accept_url_bases = bases;
        if self.conflict_retries > MAX_CONFLICT_RETRIES {
            return Err(Error::invalid(
                "conflict_retries",
                format!("must be at most {MAX_CONFLICT_RETRIES}"),
            ));
        }
        self.retry = self.retry.validated()?;
        self.allowed_redirect_urls =
            settings::check_redirect_prefixes(&self.allowed_redirect_urls)?;
        Ok(self)
    }

    /// Whether an organization's policy may name `base` as its
    /// `accept_url_base`: it is the default base or one of the allowed
    /// bases, character for character.
    pub fn accept_url_base_allowed(&self, base: &str) -> bool {
        base == self.default_accept_url_base
            || self.allowed_accept_url_bases.iter().any(|b| b == base)
    }

    /// Every base a policy may choose, the default first.
    pub fn accept_url_bases(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.default_accept_url_base.as_str())
            .chain(self.allowed_accept_url_bases.iter().map(String::as_str))
    }

    /// The base an organization's accept links use: the policy's, if the
    /// host allows it, else the default (a base the host stopped allowing
    /// falls back rather than keep sending tokens to it).
    pub(crate) fn accept_url_base_for<'a>(&'a self, policy_base: Option<&'a str>) -> &'a str {
        match policy_base {
            Some(b) if self.accept_url_base_allowed(b) => b,
            _ => &self.default_accept_url_base,
        }
    }

    /// Refuses a policy's `accept_url_base` the host does not allow.
    pub(crate) fn check_policy_base(&self, policy: &crate::policy::Policy) -> Result<()> {
        match &policy.accept_url_base {
            Some(b) if !self.accept_url_base_allowed(b) => Err(Error::invalid(
                "accept_url_base",
                format!(
                    "{b:?} is not one of the accept URL bases this service allows ({}); \
                     the host configures them in EngineConfig",
                    self.accept_url_bases()
                        .map(|b| format!("{b:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Checks one accept URL base and returns it trimmed: at most
/// [`MAX_ACCEPT_URL_BASE_CHARS`] characters; no control, invisible or
/// white-space characters; `https://` and a host (`http://` only for a
/// loopback host: `localhost`, `127.x.x.x` or `[::1]`, so a developer can
/// run the landing page on their machine); no user name or password before
/// the host (`https://app.example@evil.example/` reads as one host and goes
/// to another).
///
/// ```
/// use enlist::check_accept_url_base as check;
/// assert!(check("base", "https://app.acme.example/accept").is_ok());
/// assert!(check("base", "https://app.acme.example/i/{token}").is_ok());
/// assert!(check("base", "http://localhost:8080/accept").is_ok());
/// assert!(check("base", "http://app.acme.example/accept").is_err());
/// assert!(check("base", "https://app.acme.example@evil.example/").is_err());
/// assert!(check("base", "https://app.acme.example/a\r\nBcc: x").is_err());
/// ```
pub fn check_accept_url_base(field: &str, base: &str) -> Result<String> {
    let b = base.trim();
    if b.chars().count() > MAX_ACCEPT_URL_BASE_CHARS {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: MAX_ACCEPT_URL_BASE_CHARS as u64,
            actual: b.chars().count() as u64,
            detail: Some(field.to_owned()),
        });
    }
    if let Some(c) = b
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || is_bidi_control(*c) || is_invisible(*c))
    {
        return Err(Error::invalid(
            field,
            format!(
                "must not contain control, space or invisible characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    let (scheme, rest) = match b.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => return Err(Error::invalid(field, "must be an https:// URL")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(Error::invalid(
            field,
            "must not carry a user name or password before the host",
        ));
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() || host.contains(['{', '}']) {
        return Err(Error::invalid(field, "must name a host"));
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme.as_str() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::invalid(
                field,
                "must use https:// (plain http:// only for localhost, for development)",
            ));
        }
        _ => return Err(Error::invalid(field, "must be an https:// URL")),
    }
    Ok(b.to_owned())
}

/// Characters that show as nothing: they would let two bases that read the
/// same differ.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200D}' | '\u{2028}' | '\u{2029}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// The engine. Cheap to clone (everything inside is shared); safe to use
/// from many threads.
#[derive(Clone)]
pub struct Enlist {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    secrets: Arc<dyn SecretSource>,
    config: Arc<EngineConfig>,
    codes: Arc<CodeHasher>,
    sealer: Arc<crate::seal::CodeSealer>,
    /// The host's hooks around every recorded change (none by default).
    hooks: Option<Arc<dyn crate::hooks::Hooks>>,
    link_keys: Arc<crate::link::LinkKeys>,
}

impl std::fmt::Debug for Enlist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enlist")
            .field("config", &self.config)
            .field("secret_key", &self.codes.has_key())
            .field("sealing_keys", &self.sealer)
            .field("hooks", &self.hooks.is_some())
            .field("link_keys", &self.link_keys)
            .finish_non_exhaustive()
    }
}

impl Enlist {
    /// An engine over `store`, with the system clock and the OS CSPRNG.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            secrets: Arc::new(OsSecrets),
            config: Arc::new(EngineConfig::default()),
            codes: Arc::new(CodeHasher::default()),
            sealer: Arc::new(crate::seal::CodeSealer::default()),
            hooks: None,
            link_keys: Arc::new(crate::link::LinkKeys::default()),
        }
    }

    /// An engine over a fresh [`MemoryStore`].
    pub fn in_memory() -> Self {
        Self::new(Arc::new(MemoryStore::new()))
    }

    /// Replaces the clock (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the secret source (a [`SeededSecrets`](crate::SeededSecrets)
    /// in tests).
    ///
    /// Each command that needs randomness draws 32 bytes from it, once,
    /// and keys ChaCha20 with them for its ids and tokens: a source is
    /// called once per accept and once per batch of 100 invitations, not
    /// once per id. The generator is overwritten when the command ends,
    /// and no seed serves two commands.
    pub fn with_secrets(mut self, secrets: Arc<dyn SecretSource>) -> Self {
        self.secrets = secrets;
        self
    }

    /// Hashes access codes with HMAC-SHA256 under `key` (a pepper the host
    /// keeps outside the database, at least 32 bytes) instead of the slow
    /// keyless hash. With a key, a stolen database alone does not allow
    /// testing a single guess at a code, and issuing codes costs
    /// microseconds instead of ~20 ms each. Codes issued under another key
    /// (or without one) stop working: resend them.
    pub fn with_secret_key(mut self, key: SecretKey) -> Self {
        self.codes = Arc::new(CodeHasher::new(Some(key)));
        self
    }

    /// Seals every access code issued from now on under `current` (a
    /// [`SealingKey`](crate::SealingKey): exactly 32 bytes the host keeps
    /// outside the database, with an id), so that an administrator can see
    /// it again ([`Enlist::reveal_access_code`]). Codes sealed under a
    /// `retired` key still open; to rotate, make the new key current and
    /// list the old one as retired until its codes are closed or resent.
    /// Without a sealing key an access code is shown once, when it is
    /// issued (ADR 0005). Refused: two keys with one id, more than 16
    /// retired keys.
    pub fn with_sealing_keys(
        mut self,
        current: crate::seal::SealingKey,
        retired: Vec<crate::seal::SealingKey>,
    ) -> Result<Self> {
        self.sealer = Arc::new(crate::seal::CodeSealer::new(current, retired)?);
        Ok(self)
    }

    /// Calls `hooks` around every change the engine records: before it,
    /// inside the command's transaction (a refusal fails the command, or
    /// rejects one recipient of a batch, and changes nothing), and after
    /// the commit (see [`Hooks`](crate::Hooks)).
    pub fn with_hooks(mut self, hooks: Arc<dyn crate::hooks::Hooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// Derives every invitation link's secret made from now on under
    /// `current` (a [`SecretKey`]: at least 32 bytes the host keeps outside
    /// the database), so that an administrator can see a link's URL again
    /// ([`Enlist::link_url`]); the store keeps only the hash, as for every
    /// secret. Links made under a `retired` key still show; to rotate, make
    /// the new key current and list the old one as retired (a link stays
    /// valid whatever the key: only showing its URL again needs the key it
    /// was made under; regenerate a link to move it to the current key).
    /// Without a key a link's URL is shown once, when it is made (ADR
    /// 0013). Refused: more than 16 retired keys, a retired key equal to
    /// the current one.
    pub fn with_link_keys(mut self, current: SecretKey, retired: Vec<SecretKey>) -> Result<Self> {
        self.link_keys = Arc::new(crate::link::LinkKeys::new(current, retired)?);
        Ok(self)
    }

    /// Replaces the engine settings, if they are valid
    /// ([`EngineConfig::validated`]). Settings that are not valid are
    /// ignored and the engine keeps the ones it had (the defaults for a new
    /// engine): this never panics and never lets a product name with a line
    /// break reach a Subject or an unchecked base reach an accept link. Use
    /// [`Enlist::try_with_config`] to be told why settings were refused.
    pub fn with_config(self, config: EngineConfig) -> Self {
        match config.validated() {
            Ok(config) => Self {
                config: Arc::new(config),
                ..self
            },
            Err(_) => self,
        }
    }

    /// Replaces the engine settings after checking them
    /// ([`EngineConfig::validated`]); the error names the bad field.
    pub fn try_with_config(self, config: EngineConfig) -> Result<Self> {
        let config = config.validated()?;
        Ok(Self {
            config: Arc::new(config),
            ..self
        })
    }

    /// The engine settings in force.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The engine's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Runs `f` in a transaction, commits on success, rolls back on error,
    /// and retries the whole command on a store conflict (at `begin`, at a
    /// write or at the commit); when the retries run out, the command fails
    /// with [`Error::RetriesExhausted`]. `command` names the command in the
    /// spans of the `tracing` feature.
    pub(crate) fn run<T>(
        &self,
        command: &'static str,
        mut f: impl FnMut(&mut Ctx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.run_as(command, Finish::Commit, &mut || Ok(()), &mut |cx, ()| f(cx))
    }

    /// [`Enlist::run`] for a command whose input is made outside its
    /// transaction and consumed by it: `input` runs before each attempt,
    /// before the transaction begins (a parsed batch: parsed after the
    /// caller was authorized, never while a write lock is held, and moved
    /// into what the command writes instead of copied from a batch kept
    /// for a retry). An error from `input` ends the command, no
    /// transaction begun.
    pub(crate) fn run_with<P, T>(
        &self,
        command: &'static str,
        mut input: impl FnMut() -> Result<P>,
        mut f: impl FnMut(&mut Ctx<'_>, P) -> Result<T>,
    ) -> Result<T> {
        self.run_as(command, Finish::Commit, &mut input, &mut f)
    }

    /// [`Enlist::run`] for a command that only reads (a dry run): its
    /// transaction comes from [`Store::begin_read`] and is never committed,
    /// so nothing it might write is kept and a store that can read without
    /// its write lock does.
    pub(crate) fn run_read<T>(
        &self,
        command: &'static str,
        mut f: impl FnMut(&mut Ctx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.run_as(command, Finish::ReadOnly, &mut || Ok(()), &mut |cx, ()| {
            f(cx)
        })
    }

    /// [`Enlist::run`] for a dry run that goes through a command's own
    /// writes to see what they would do: a write transaction
    /// ([`Store::begin`]) that is always rolled back, never committed.
    pub(crate) fn run_rolled_back<T>(
        &self,
        command: &'static str,
        mut f: impl FnMut(&mut Ctx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.run_as(command, Finish::RollBack, &mut || Ok(()), &mut |cx, ()| {
            f(cx)
        })
    }

    fn run_as<P, T>(
        &self,
        command: &'static str,
        finish: Finish,
        input: &mut impl FnMut() -> Result<P>,
        f: &mut impl FnMut(&mut Ctx<'_>, P) -> Result<T>,
    ) -> Result<T> {
        let trace = trace::Command::start(command);
        let mut attempts = 0;
        let mut conflicts = 0;
        let out = loop {
            // A clock past what stores and bindings can hold is refused
            // before anything is read or written.
            let now = self.clock.now();
            if let Err(e) = check_time("clock", now) {
                break Err(e);
            }
            let p = match input() {
                Ok(p) => p,
                Err(e) => break Err(e),
            };
            attempts += 1;
            let span = trace.transaction(attempts);
            let mut committed = Vec::new();
            let out = self.attempt(&trace, command, now, finish, (p, f), &mut committed);
            span.end(trace::transaction_outcome(&out));
            match out {
                Err(Error::Store(StoreError::Conflict)) => {
                    conflicts += 1;
                    if conflicts > self.config.conflict_retries {
                        break Err(Error::RetriesExhausted { attempts });
                    }
                }
                other => {
                    // After the commit, outside the transaction: nothing an
                    // after-hook does can undo or fail the command.
                    if let (Ok(_), Some(hooks)) = (&other, &self.hooks) {
                        crate::hooks::call_after(hooks.as_ref(), &committed);
                    }
                    break other;
                }
            }
        };
        trace.finish(attempts, conflicts, &out);
        out
    }

    /// One attempt of a command: its transaction, begun, given to `f`, and
    /// committed (or dropped, which rolls it back).
    fn attempt<P, T>(
        &self,
        trace: &trace::Command,
        command: &'static str,
        now: DateTime<Utc>,
        finish: Finish,
        (p, f): (P, &mut impl FnMut(&mut Ctx<'_>, P) -> Result<T>),
        committed: &mut Vec<crate::hooks::HookChange>,
    ) -> Result<T> {
        let tx = match finish {
            Finish::ReadOnly => self.store.begin_read()?,
            Finish::Commit | Finish::RollBack => self.store.begin()?,
        };
        // The command's random bytes, drawn in a few chunks (ids, tokens).
        let secrets = crate::secret::RandomPool::new(self.secrets.as_ref());
        let mut cx = Ctx {
            tx,
            now,
            secrets: &secrets,
            config: &self.config,
            codes: &self.codes,
            sealer: &self.sealer,
            link_keys: &self.link_keys,
            trace,
            email: None,
            last_draft: None,
            command,
            // Dry runs keep nothing: no hook runs for them.
            hooks: match finish {
                Finish::Commit => self.hooks.as_deref(),
                Finish::ReadOnly | Finish::RollBack => None,
            },
            hook_approved: None,
            refused: None,
            changes: Vec::new(),
        };
        let v = f(&mut cx, p)?;
        // A refusal the command did not turn into a row's rejection fails
        // it whole, even if the command carried on: nothing is committed.
        if let Some(refused) = cx.refused.take() {
            return Err(refused);
        }
        if finish == Finish::Commit {
            cx.tx.commit()?;
            *committed = std::mem::take(&mut cx.changes);
        }
        Ok(v)
    }
}

/// How a command's transaction ends when it succeeds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Finish {
    /// Committed: every command that changes something.
    Commit,
    /// A read transaction ([`Store::begin_read`]), dropped.
    ReadOnly,
    /// A write transaction, dropped (rolled back): a dry run through the
    /// real command's writes.
    RollBack,
}

/// What a command sees: its transaction, the time it runs at, the secret
/// source and the settings.
pub(crate) struct Ctx<'a> {
    pub tx: Box<dyn Transaction + 'a>,
    pub now: DateTime<Utc>,
    pub secrets: &'a dyn SecretSource,
    pub config: &'a EngineConfig,
    pub codes: &'a CodeHasher,
    /// The host's sealing keys for access codes (none by default).
    pub sealer: &'a crate::seal::CodeSealer,
    /// The host's keys for invitation-link URLs (none by default).
    pub link_keys: &'a crate::link::LinkKeys,
    /// The command's span (`tracing` feature).
    pub trace: &'a trace::Command,
    /// The email settings and template of the organization this command
    /// sends invitations for, read once per transaction
    /// ([`Ctx::org_email`]).
    pub email: Option<(Option<String>, Arc<render::OrgEmail>)>,
    /// The last email draft this command queued: the next one, when equal
    /// (a batch's invitations share their role, groups, message, expiry and
    /// names), shares its allocation ([`Ctx::shared_draft`]).
    pub last_draft: Option<Arc<crate::outbox::EmailDraft>>,
    /// The command's name (for hooks and spans).
    pub command: &'static str,
    /// The host's hooks, for a command that commits.
    pub hooks: Option<&'a dyn crate::hooks::Hooks>,
    /// The invitation whose next event the before-hook already approved
    /// ([`Ctx::ask_before`], before the row's writes). Only that
    /// invitation's event skips the question, and only the next hooked
    /// event can use it: a row that failed after its approval leaves
    /// nothing another row could use.
    pub hook_approved: Option<crate::id::InvitationId>,
    /// A before-hook refused a change: the command fails with this even if
    /// it carried on, so that a refused change is never committed.
    pub refused: Option<Error>,
    /// The changes recorded, for the after-hooks once committed.
    pub changes: Vec<crate::hooks::HookChange>,
}

impl Ctx<'_> {
    /// Records `kind` (the audit event), with the host's hooks: the
    /// before-hook is asked first, inside this transaction (a refusal
    /// fails the command and nothing is committed), and the change is kept
    /// for the after-hooks, which run once the transaction committed.
    pub(crate) fn event(&mut self, org: &OrgId, actor: &Actor, kind: EventKind) -> Result<()> {
        let event = Event {
            org_id: org.clone(),
            seq: 0,
            at: self.now,
            actor: actor.clone(),
            kind,
        };
        let Some(hooks) = self
            .hooks
            .filter(|_| crate::hooks::HookChange::is_hooked(&event.kind))
        else {
            self.tx.append_event(event)?;
            return Ok(());
        };
        let mut change = self.hook_change(&event, None)?;
        let approved = self
            .hook_approved
            .take()
            .is_some_and(|id| crate::hooks::invitation_of(&event.kind) == Some(&id));
        if !approved {
            if let Err(refusal) = crate::hooks::call_before(hooks, &change) {
                let e = Error::HookRefused {
                    reason: refusal.reason().to_owned(),
                };
                self.refused = Some(e.clone());
                return Err(e);
            }
        }
        change.seq = self.tx.append_event(event)?;
        self.changes.push(change);
        Ok(())
    }

    /// The change a hook sees for `event`: the invitation and member it is
    /// about as they stand in this transaction (`draft` in place of the
    /// invitation when it is not written yet).
    fn hook_change(
        &mut self,
        event: &Event,
        draft: Option<&crate::invitation::Invitation>,
    ) -> Result<crate::hooks::HookChange> {
        let invitation = match (draft, crate::hooks::invitation_of(&event.kind)) {
            (Some(d), _) => Some(d.clone()),
            (None, Some(id)) => self.tx.invitation(&event.org_id, id)?.map(|s| s.invitation),
            (None, None) => None,
        };
        let member = match crate::hooks::member_of(&event.kind) {
            Some(id) => self.tx.member(&event.org_id, id)?,
            None => None,
        };
        Ok(crate::hooks::HookChange {
            command: self.command.to_owned(),
            org_id: event.org_id.clone(),
            actor: event.actor.clone(),
            at: event.at,
            seq: 0,
            kind: event.kind.clone(),
            invitation,
            member,
        })
    }

    /// Asks the before-hook about one row of a batch before anything of
    /// the row is written: `Ok(Some(reason))` is a refusal for the row to
    /// report (nothing of it is written), `Ok(None)` lets it go ahead (the
    /// hook is not asked again when the row's event is recorded).
    /// `draft` is the invitation about to be written, if any.
    pub(crate) fn ask_before(
        &mut self,
        org: &OrgId,
        actor: &Actor,
        kind: EventKind,
        draft: Option<&crate::invitation::Invitation>,
    ) -> Result<Option<String>> {
        let Some(hooks) = self
            .hooks
            .filter(|_| crate::hooks::HookChange::is_hooked(&kind))
        else {
            return Ok(None);
        };
        let event = Event {
            org_id: org.clone(),
            seq: 0,
            at: self.now,
            actor: actor.clone(),
            kind,
        };
        let change = self.hook_change(&event, draft)?;
        self.hook_approved = None;
        match crate::hooks::call_before(hooks, &change) {
            Ok(()) => {
                self.hook_approved = crate::hooks::invitation_of(&event.kind).cloned();
                Ok(None)
            }
            Err(refusal) => Ok(Some(refusal.reason().to_owned())),
        }
    }

    /// The organization `id`, or not found. Its id goes to the command's
    /// span only once it is known to exist: a span never carries text a
    /// caller made up.
    /// The organization's email settings and the template for `locale`
    /// (default: the organization's default locale), read once for a run
    /// of emails in the same language.
    pub(crate) fn org_email(
        &mut self,
        org: &OrgId,
        locale: Option<&str>,
    ) -> Result<Arc<render::OrgEmail>> {
        if let Some((l, e)) = &self.email {
            if &e.settings.org_id == org && l.as_deref() == locale {
                return Ok(e.clone());
            }
        }
        let e = Arc::new(render::OrgEmail::load(self.tx.as_mut(), org, locale)?);
        self.email = Some((locale.map(str::to_owned), e.clone()));
        Ok(e)
    }

    /// `draft`, shared with the last one this command queued when they are
    /// equal: a batch of 100 by email kept 100 copies of the same draft
    /// until each email was sent (issue 15).
    pub(crate) fn shared_draft(
        &mut self,
        draft: crate::outbox::EmailDraft,
    ) -> Arc<crate::outbox::EmailDraft> {
        match &self.last_draft {
            Some(last) if **last == draft => last.clone(),
            _ => {
                let draft = Arc::new(draft);
                self.last_draft = Some(draft.clone());
                draft
            }
        }
    }

    pub(crate) fn org(&mut self, id: &OrgId) -> Result<Organization> {
        // A deleted organization (members and history kept) is read-only
        // and found by no command but `Enlist::organization`.
        let o = self
            .tx
            .organization(id)?
            .filter(|o| !o.is_deleted())
            .ok_or_else(|| Error::not_found(EntityKind::Organization, id))?;
        self.trace.org(&o.id);
        Ok(o)
    }

    /// The prologue of a command by token (accept, decline, preview, join
    /// by link): the organization the token names. An unknown one is an
    /// invalid secret, like a wrong token, so that a token says nothing
    /// about which organizations exist.
    pub(crate) fn token_org(&mut self, id: &OrgId) -> Result<Organization> {
        let o = self
            .tx
            .organization(id)?
            .filter(|o| !o.is_deleted())
            .ok_or(Error::InvalidSecret)?;
        self.trace.org(&o.id);
        Ok(o)
    }

    pub(crate) fn member(&mut self, org: &OrgId, id: &crate::id::MemberId) -> Result<Member> {
        self.tx
            .member(org, id)?
            .ok_or_else(|| Error::not_found(EntityKind::Member, id))
    }

    /// The prologue of a command on one organization: the organization,
    /// and who `actor` is in it ([`Ctx::auth`]). A command that decides
    /// per target what the actor may do starts here; one that needs a
    /// permission whatever the target starts with [`Ctx::authorized`].
    pub(crate) fn enter(&mut self, org: &OrgId, actor: &Actor) -> Result<(Organization, Auth)> {
        let o = self.org(org)?;
        let auth = self.auth(&o, actor)?;
        Ok((o, auth))
    }

    /// [`Ctx::enter`], refusing an actor without `permission` before the
    /// command reads anything else.
    pub(crate) fn authorized(
        &mut self,
        org: &OrgId,
        actor: &Actor,
        permission: Permission,
    ) -> Result<(Organization, Auth)> {
        let (o, auth) = self.enter(org, actor)?;
        auth.require(permission)?;
        Ok((o, auth))
    }

    /// The 16 bytes of a new id: the command's time in milliseconds (6
    /// bytes, big-endian) then 10 random bytes (80 bits: no two ids made in
    /// one millisecond meet in practice). Ids made later sort later, so a
    /// store's indexes on ids take new rows at their end instead of on a
    /// random page each. Ids are not secrets: the time they carry is the
    /// `created_at` the entity already shows.
    pub(crate) fn id_bytes(&self) -> [u8; 16] {
        let mut b = crate::secret::id_bytes(self.secrets);
        let ms = u64::try_from(self.now.timestamp_millis()).unwrap_or(0);
        b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        b
    }

    /// Who `actor` is in `org`, and what they may do.
    pub(crate) fn auth(&mut self, org: &Organization, actor: &Actor) -> Result<Auth> {
        match actor {
            Actor::System => Ok(Auth {
                actor: actor.clone(),
                member: None,
                perms: Permission::ALL.into_iter().collect(),
                system: true,
                custom: org.custom_permissions(),
            }),
            Actor::Member(id) => {
                let m = self.tx.member(&org.id, id)?;
                match m {
                    Some(m) if m.status == MemberStatus::Active => Ok(Auth {
                        actor: actor.clone(),
                        // A guest holds no organization permission, whatever
                        // their role says: a custom role redefined after a
                        // guest got it (or written to the store by hand)
                        // must not turn guests into administrators.
                        perms: if m.kind == MemberKind::Guest {
                            PermissionSet::new()
                        } else {
                            org.permissions_of(&m.role)
                        },
                        custom: if m.kind == MemberKind::Guest {
                            Default::default()
                        } else {
                            org.custom_permissions_of(&m.role)
                        },
                        member: Some(m),
                        system: false,
                    }),
                    _ => Err(Error::NotAMember {
                        actor: actor.to_string(),
                        organization: org.id.clone(),
                    }),
                }
            }
            Actor::Account(_) | Actor::Anonymous => Ok(Auth {
                actor: actor.clone(),
                member: None,
                perms: PermissionSet::new(),
                system: false,
                custom: Default::default(),
            }),
        }
    }
}

/// An authenticated actor in one organization.
pub(crate) struct Auth {
    pub actor: Actor,
    pub member: Option<Member>,
    pub perms: PermissionSet,
    pub system: bool,
    /// The host-defined permissions the actor holds (issue 14, orgs).
    pub custom: std::collections::BTreeSet<String>,
}

impl Auth {
    pub(crate) fn has(&self, p: Permission) -> bool {
        self.system || self.perms.contains(&p)
    }

    pub(crate) fn deny(&self, p: Permission, context: impl Into<String>) -> Error {
        Error::PermissionDenied {
            actor: self.actor.to_string(),
            permission: p,
            context: Some(context.into()),
        }
    }

    /// Whether the actor holds the host-defined permission `c`: the system
    /// and owners hold every one, others what their role carries.
    pub(crate) fn has_custom(&self, c: &str) -> bool {
        self.has(Permission::OwnOrganization) || self.custom.contains(c)
    }

    pub(crate) fn require(&self, p: Permission) -> Result<()> {
        if self.has(p) {
            Ok(())
        } else {
            Err(Error::PermissionDenied {
                actor: self.actor.to_string(),
                permission: p,
                context: None,
            })
        }
    }

    pub(crate) fn is_member(&self, id: &crate::id::MemberId) -> bool {
        self.member.as_ref().is_some_and(|m| &m.id == id)
    }

    pub(crate) fn is_guest(&self) -> bool {
        self.member
            .as_ref()
            .is_some_and(|m| m.kind == MemberKind::Guest)
    }

    pub(crate) fn group_role(&self, group: &crate::id::GroupId) -> Option<GroupRole> {
        self.member.as_ref().and_then(|m| m.group_role(group))
    }

    /// The role exists and grants nothing the actor lacks.
    pub(crate) fn grantable_role(&self, org: &Organization, role: &str) -> Result<Role> {
        let r = org.role(role).ok_or_else(|| {
            Error::invalid(
                "role",
                format!("no role named {role:?} in this organization"),
            )
        })?;
        if !self.system {
            if let Some(p) = r.permissions.iter().find(|p| !self.perms.contains(p)) {
                return Err(self.deny(
                    *p,
                    format!("granting role {role:?} needs every permission it holds"),
                ));
            }
            if let Some(c) = r
                .custom_permissions
                .iter()
                .find(|c| !self.custom.contains(*c))
            {
                return Err(self.deny(
                    Permission::ManageRoles,
                    format!("granting role {role:?} needs its custom permission {c:?}"),
                ));
            }
        }
        Ok(r)
    }

    /// May the actor put someone in `grant.group_id` with `grant.role`?
    pub(crate) fn may_grant_group(&self, grant: &GroupGrant) -> Result<()> {
        if self.has(Permission::ManageGroups)
            || (grant.role == GroupRole::Member && self.has(Permission::ManageMembers))
            || self.group_role(&grant.group_id) == Some(GroupRole::Owner)
        {
            Ok(())
        } else {
            Err(self.deny(
                Permission::ManageGroups,
                format!("granting {} in group {}", grant.role, grant.group_id),
            ))
        }
    }
}

pub(crate) const MAX_NAME_CHARS: usize = 200;
pub(crate) const MAX_MESSAGE_CHARS: usize = 2000;
pub(crate) const MAX_IDENTIFIER_CHARS: usize = 100;
pub(crate) const MAX_PAGE: u32 = 1000;
/// License types and EULA versions: short labels.
pub(crate) const MAX_LABEL_CHARS: usize = 64;
/// A phone number as typed.
pub(crate) const MAX_PHONE_CHARS: usize = 40;
/// One recipient's email field (`Name <address>`): a 200-character name
/// (at most 800 bytes), a 254-byte address and the punctuation fit.
pub(crate) const MAX_EMAIL_FIELD_BYTES: usize = 1100;
/// A role name or a group id named in a request (longer ones exist nowhere).
pub(crate) const MAX_KEY_BYTES: usize = 256;
/// A page cursor (ours are well under 200 bytes).
pub(crate) const MAX_CURSOR_BYTES: usize = 1024;
/// Group grants in one request or one recipient row.
pub(crate) const MAX_GRANTS: usize = 100;
/// Ids in one [`Enlist::send_staged`] call when the policy allows more
/// than this per batch (the highest `max_batch` a policy may set).
pub(crate) const MAX_IDS: usize = 10_000;

/// The latest time the engine computes or stores: 9999-12-31T23:59:59Z,
/// the end of the range every store, JSON reader and binding (Python's
/// `datetime`, Kotlin's `Instant`) can represent.
pub(crate) fn latest_time() -> DateTime<Utc> {
    DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Refuses a clock reading (or a time a host passes in) outside
/// 0001-01-01T00:00:00Z ..= [`latest_time`]: the range every store, JSON
/// reader and binding can represent.
pub(crate) fn check_time(field: &str, t: DateTime<Utc>) -> Result<()> {
    let earliest = DateTime::from_timestamp(-62_135_596_800, 0).unwrap_or(DateTime::<Utc>::MIN_UTC);
    if t < earliest || t > latest_time() {
        return Err(Error::invalid(
            field,
            format!(
                "{t} is outside 0001-01-01 to 9999-12-31, the times enlist can store; check the clock"
            ),
        ));
    }
    Ok(())
}

/// `t` plus `secs` seconds, refused (never a panic) when the result would
/// be past [`latest_time`]. `field` names the duration, for the error.
pub(crate) fn time_after(t: DateTime<Utc>, secs: u64, field: &str) -> Result<DateTime<Utc>> {
    i64::try_from(secs)
        .ok()
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|d| t.checked_add_signed(d))
        .filter(|later| *later <= latest_time())
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!("{t} plus {secs} seconds is past 9999-12-31T23:59:59Z, the latest time enlist can store"),
            )
        })
}

/// Whether `c` is refused in a one-line text field (names, labels, the
/// engine's own settings): control characters (tab, CR and LF included),
/// line and paragraph separators (U+2028, U+2029), bidi controls,
/// invisible format characters (U+200B, U+2060..U+2064, U+FEFF,
/// U+FFF9..U+FFFB) and noncharacters. The one rule for one-line text:
/// [`clean_line`] uses it, and so should the paste parser (which may allow
/// a tab in a display name before asking).
pub(crate) fn is_forbidden_in_line(c: char) -> bool {
    let u = u32::from(c);
    c.is_control()
        || is_bidi_control(c)
        || matches!(
            u,
            0x200B | 0x2028 | 0x2029 | 0x2060..=0x2064 | 0xFEFF | 0xFFF9..=0xFFFB | 0xFDD0..=0xFDEF
        )
        || (u & 0xFFFE) == 0xFFFE
}

/// Refuses a field whose byte length alone shows it is longer than `max`
/// characters (a character is at most 4 bytes): the check that comes
/// before any scan of the text.
pub(crate) fn check_bytes(field: &str, v: &str, max: usize) -> Result<()> {
    if v.len() > max.saturating_mul(4) {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: max as u64,
            actual: v.len() as u64,
            detail: Some(format!("{field}: {} bytes", v.len())),
        });
    }
    Ok(())
}

/// Trims a one-line text field and checks it: no character
/// [`is_forbidden_in_line`] (control characters would let a name inject
/// mail headers; separators and invisible characters hide what it says),
/// at most `max` characters. Empty after trimming becomes `None`.
pub(crate) fn clean_line(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    Ok(checked_line(field, value, max)?.map(str::to_owned))
}

/// [`clean_line`] without the copy: the trimmed text, checked, borrowed.
pub(crate) fn checked_line<'a>(
    field: &str,
    value: Option<&'a str>,
    max: usize,
) -> Result<Option<&'a str>> {
    let Some(v) = value else { return Ok(None) };
    check_bytes(field, v, max)?;
    let v = trim_line(v);
    if v.is_empty() {
        return Ok(None);
    }
    // ASCII text (most names and account ids): the forbidden characters
    // among ASCII are its control characters, and characters are bytes.
    let ascii = v.is_ascii();
    let forbidden = if ascii {
        v.bytes().find(u8::is_ascii_control).map(char::from)
    } else {
        v.chars().find(|c| is_forbidden_in_line(*c))
    };
    if let Some(c) = forbidden {
        return Err(Error::invalid(
            field,
            format!(
                "must not contain control, separator or invisible characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    if ascii {
        if v.len() > max {
            return Err(Error::LimitExceeded {
                limit: LimitKind::FieldLength,
                max: max as u64,
                actual: v.len() as u64,
                detail: Some(field.to_owned()),
            });
        }
    } else {
        check_len(field, v, max)?;
    }
    Ok(Some(v))
}

/// Trims white space from both ends, except the Unicode line breaks
/// (U+0085, U+2028, U+2029): those are refused wherever they are, not
/// silently dropped.
fn trim_line(v: &str) -> &str {
    v.trim_matches(|c: char| c.is_whitespace() && !matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}'))
}

/// Like [`clean_line`] but allows line breaks and tabs (personal messages).
pub(crate) fn clean_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(v) = value else { return Ok(None) };
    check_bytes(field, v, max)?;
    let v = trim_line(v).replace("\r\n", "\n");
    if v.is_empty() {
        return Ok(None);
    }
    if let Some(c) = v
        .chars()
        .find(|c| *c != '\n' && *c != '\t' && is_forbidden_in_line(*c))
    {
        return Err(Error::invalid(
            field,
            format!(
                "must not contain control, separator or invisible characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    check_len(field, &v, max)?;
    Ok(Some(v))
}

/// A license type or EULA version: one clean line of at most
/// [`MAX_LABEL_CHARS`] characters, required (blank is refused). The one
/// rule wherever such a label enters (policy, invitation rows, import
/// rows, link, member update, registration).
pub(crate) fn clean_label(field: &str, value: &str) -> Result<String> {
    required_line(field, value, MAX_LABEL_CHARS)
}

/// Bounds a registration before any work: every field a one-line text of
/// bounded length (the account id, names, phone, EULA version), and the
/// verified email no longer than an email field.
pub(crate) fn check_registration(reg: &crate::invitation::Registration) -> Result<()> {
    checked_line("user_ref", Some(&reg.user_ref), MAX_NAME_CHARS)?;
    checked_line("first_name", reg.first_name.as_deref(), MAX_NAME_CHARS)?;
    checked_line("last_name", reg.last_name.as_deref(), MAX_NAME_CHARS)?;
    checked_line("phone", reg.phone.as_deref(), MAX_PHONE_CHARS)?;
    if let Some(v) = &reg.eula_version {
        clean_label("eula_version", v)?;
    }
    if let Some(v) = &reg.verified_email {
        check_max_bytes("verified_email", v, MAX_EMAIL_FIELD_BYTES)?;
    }
    Ok(())
}

/// Refuses a field longer than `max` bytes (an email field, a role name, a
/// group id): checked before anything reads the text.
pub(crate) fn check_max_bytes(field: &str, v: &str, max: usize) -> Result<()> {
    if v.len() > max {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: max as u64,
            actual: v.len() as u64,
            detail: Some(format!("{field} (bytes)")),
        });
    }
    Ok(())
}

fn check_len(field: &str, v: &str, max: usize) -> Result<()> {
    let n = v.chars().count();
    if n > max {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: max as u64,
            actual: n as u64,
            detail: Some(field.to_owned()),
        });
    }
    Ok(())
}

pub(crate) fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A required one-line field.
pub(crate) fn required_line(field: &str, value: &str, max: usize) -> Result<String> {
    clean_line(field, Some(value), max)?.ok_or_else(|| Error::invalid(field, "must not be empty"))
}

/// Normalizes an identifier (phone, personnel number, ...) for uniqueness:
/// trimmed, lowercased, spaces, dashes, dots and parentheses removed.
///
/// ```
/// assert_eq!(enlist::normalize_identifier("+33 (6) 12-34-56.78").unwrap(), "+33612345678");
/// assert!(enlist::normalize_identifier("a@b.com").is_err());
/// ```
pub fn normalize_identifier(raw: &str) -> Result<String> {
    let v = required_line("identifier", raw, MAX_IDENTIFIER_CHARS)?;
    if v.contains('@') {
        return Err(Error::invalid(
            "identifier",
            "looks like an email address: invite it by email",
        ));
    }
    let key: String = v
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.' | '(' | ')'))
        .flat_map(char::to_lowercase)
        .collect();
    if key.is_empty() {
        return Err(Error::invalid(
            "identifier",
            "must contain letters or digits",
        ));
    }
    Ok(key)
}

/// The uniqueness key of an identifier: distinct from every email key
/// (identifiers never contain `@`).
pub(crate) fn identifier_key(raw: &str) -> Result<String> {
    normalize_identifier(raw)
}

/// Bounds the text of a list query before any store sees it: the search
/// text (an address or part of one), the cursor and the role or group it
/// filters on.
pub(crate) fn check_query_text(
    search: Option<&str>,
    after: Option<&str>,
    keys: &[Option<&str>],
) -> Result<()> {
    if let Some(s) = search {
        check_max_bytes("search", s, MAX_EMAIL_FIELD_BYTES)?;
    }
    if let Some(a) = after {
        check_max_bytes("cursor", a, MAX_CURSOR_BYTES)?;
    }
    for k in keys.iter().flatten() {
        check_max_bytes("filter", k, MAX_KEY_BYTES)?;
    }
    Ok(())
}

pub(crate) fn page_limit(limit: u32) -> Result<u32> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::LimitExceeded {
            limit: LimitKind::PageSize,
            max: u64::from(MAX_PAGE),
            actual: u64::from(limit),
            detail: None,
        });
    }
    Ok(limit)
}

/// One CSV line of a downloadable report, safe to open in a spreadsheet
/// whatever separator its locale uses (`,` `;` or a tab):
/// - a field holding `,` `;` a tab `"` CR or LF is quoted (with `"`
///   doubled);
/// - a field whose first character after any leading white space is `=`
///   `+` `-` `@` (a formula), or that starts with a tab or CR, gets a `'`
///   in front (CSV injection);
/// - inside a field, a formula character after a separator (`,` `;` tab,
///   CR, LF) and any white space also gets a `'`: a reader that splits on
///   another separator than ours (or that does not see our quotes, as
///   happens to every field after the first when the separators differ)
///   would otherwise start a cell there.
pub(crate) fn csv_row(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| csv_cell(f))
        .collect::<Vec<_>>()
        .join(",")
}

fn csv_cell(f: &str) -> String {
    let out = neutralize_cell(f);
    if out.contains([',', ';', '\t', '"', '\n', '\r']) {
        format!("\"{}\"", out.replace('"', "\"\""))
    } else {
        out
    }
}

/// The one rule against formula injection of every downloadable report,
/// CSV ([`csv_row`]) or XLSX (the batch reports): a `'` in front of a cell
/// whose first character after any leading white space is `=` `+` `-` `@`,
/// or that starts with a tab or CR, and in front of such a character after
/// a separator inside the cell (see [`csv_row`]).
pub(crate) fn neutralize_cell(f: &str) -> String {
    const FORMULA: [char; 4] = ['=', '+', '-', '@'];
    let mut out = String::with_capacity(f.len() + 4);
    if f.trim_start().starts_with(FORMULA) || f.starts_with(['\t', '\r']) {
        out.push('\'');
    }
    let mut after_separator = false;
    for c in f.chars() {
        if after_separator && FORMULA.contains(&c) {
            out.push('\'');
        }
        after_separator = match c {
            ',' | ';' | '\t' | '\r' | '\n' => true,
            c if c.is_whitespace() => after_separator,
            _ => false,
        };
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorFamily;

    /// A seeded source that counts the calls made to it.
    struct CountedSource {
        inner: crate::secret::SeededSecrets,
        calls: std::sync::atomic::AtomicUsize,
    }

    impl SecretSource for CountedSource {
        fn fill(&self, buf: &mut [u8]) {
            self.calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.fill(buf);
        }
    }

    /// Each command draws its random bytes through a pool (a system call
    /// each with the operating system's source): a batch of 100
    /// invitations, which draws 300 times, calls the source once, for its
    /// seed, and so does an accept.
    #[test]
    fn a_command_calls_the_secret_source_once_not_once_per_draw() {
        use crate::engine::test_support as ts;
        use std::sync::atomic::Ordering::Relaxed;
        let source = Arc::new(CountedSource {
            inner: crate::secret::SeededSecrets::new(5),
            calls: Default::default(),
        });
        let engine = Enlist::in_memory().with_secrets(source.clone());
        let (org, owner) = ts::org(
            &engine,
            "acct-1",
            "ada@acme.test",
            crate::policy::Policy::default(),
        );
        let paste: Vec<String> = (0..100).map(|i| format!("p{i}@acme.test")).collect();
        let before = source.calls.load(Relaxed);
        let report = engine
            .invite(
                &org,
                &owner,
                InviteRequest::new(Recipients::Paste(paste.join("\n"))),
            )
            .expect("invite");
        assert_eq!(report.issued.len(), 100);
        let calls = source.calls.load(Relaxed) - before;
        assert_eq!(calls, 1, "one seed for 100 invitations");
        let token = report.issued[0]
            .secret
            .as_ref()
            .expect("token")
            .expose()
            .to_owned();
        let before = source.calls.load(Relaxed);
        engine
            .accept(&token, ts::registration("acct-2", ("Bo", "Lee")))
            .expect("accept");
        assert_eq!(source.calls.load(Relaxed) - before, 1, "an accept");
    }

    /// `clean_line` as it was before its ASCII path: every character
    /// through `is_forbidden_in_line`, the length in characters.
    fn clean_line_by_chars(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
        let Some(v) = value else { return Ok(None) };
        check_bytes(field, v, max)?;
        let v = trim_line(v);
        if v.is_empty() {
            return Ok(None);
        }
        if let Some(c) = v.chars().find(|c| is_forbidden_in_line(*c)) {
            return Err(Error::invalid(
                field,
                format!(
                    "must not contain control, separator or invisible characters (found U+{:04X})",
                    c as u32
                ),
            ));
        }
        check_len(field, v, max)?;
        Ok(Some(v.to_owned()))
    }

    proptest::proptest! {
        /// The ASCII path of `clean_line` answers as the character path
        /// does (same text, same error), ASCII or not, controls, DEL and
        /// lengths around the limit included.
        #[test]
        fn clean_line_ascii_path_answers_as_the_character_path(
            v in "[ -~\\x00-\\x1f\\x7f\\u{85}\\u{a0}\\u{200b}\\u{2028}é]{0,14}",
            max in 0usize..12,
        ) {
            // `Error` has no `PartialEq`: compared by what it shows.
            let slow = format!("{:?}", clean_line_by_chars("name", Some(&v), max));
            let fast = format!("{:?}", clean_line("name", Some(&v), max));
            proptest::prop_assert_eq!(&fast, &slow);
            let borrowed = checked_line("name", Some(&v), max).map(|o| o.map(str::to_owned));
            proptest::prop_assert_eq!(format!("{borrowed:?}"), slow);
        }
    }

    #[test]
    fn ids_made_later_sort_later_and_stay_unique_within_a_millisecond() {
        let clock = Arc::new(crate::clock::ManualClock::at_epoch_seconds(1_800_000_000));
        let engine = Enlist::in_memory().with_clock(clock.clone());
        let mut ids = Vec::new();
        for i in 0..20 {
            let c = engine
                .create_organization(NewOrganization::new(
                    "Acme",
                    format!("acct-{i}"),
                    format!("a{i}@acme.test"),
                ))
                .expect("org");
            ids.push(c.organization.id);
            if i % 2 == 1 {
                clock.advance(chrono::Duration::milliseconds(1));
            }
        }
        // Two made in the same millisecond share the time prefix (12 hex
        // digits after `org_`) and differ in the random rest.
        let prefix = |id: &OrgId| id.as_str()[4..16].to_owned();
        for pair in ids.chunks(2) {
            assert_eq!(prefix(&pair[0]), prefix(&pair[1]));
            assert_ne!(pair[0], pair[1]);
        }
        // Across milliseconds, later sorts later.
        for w in ids.windows(3).step_by(2) {
            assert!(w[0] < w[2] && w[1] < w[2], "{w:?}");
        }
        // The time is the command's: 1,800,000,000 s in milliseconds.
        assert_eq!(
            u64::from_str_radix(&prefix(&ids[0]), 16).expect("hex"),
            1_800_000_000_000
        );
    }

    #[test]
    fn a_made_up_page_cursor_is_invalid_input_not_a_storage_failure() {
        let engine = Enlist::in_memory();
        let CreatedOrganization {
            organization: org,
            owner,
            ..
        } = engine
            .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
            .expect("org");
        let actor = Actor::Member(owner.id);
        for bad in ["", "garbage", "m.zz.00", "i.1.2.00"] {
            let q = crate::member::MemberQuery {
                after: Some(bad.to_owned()),
                ..Default::default()
            };
            let err = engine
                .list_members(&org.id, &actor, &q)
                .expect_err("a made-up cursor");
            assert_eq!(err.code(), "invalid_input", "{bad}: {err}");
            assert_eq!(err.family(), ErrorFamily::InvalidInput);
            assert!(
                matches!(&err, Error::InvalidInput { field, .. } if field == "cursor"),
                "{err:?}"
            );
        }
    }

    #[test]
    fn one_line_fields_refuse_header_injection() {
        assert_eq!(
            clean_line("n", Some("  Ada  "), 10).unwrap(),
            Some("Ada".to_owned())
        );
        assert_eq!(clean_line("n", Some("   "), 10).unwrap(), None);
        assert_eq!(
            clean_line("n", Some("Ada\r\nBcc: x@y.z"), 100)
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        assert_eq!(
            clean_line("n", Some("a\u{202E}b"), 100).unwrap_err().code(),
            "invalid_input"
        );
        assert_eq!(
            clean_line("n", Some("abcdef"), 5).unwrap_err().code(),
            "limit_exceeded"
        );
        assert_eq!(
            clean_text("m", Some("line1\r\nline2\tx"), 100).unwrap(),
            Some("line1\nline2\tx".to_owned())
        );
        assert!(clean_text("m", Some("a\u{0}b"), 100).is_err());
    }

    #[test]
    fn one_line_fields_refuse_separators_and_invisible_characters() {
        for c in [
            '\u{2028}', '\u{2029}', '\u{200B}', '\u{FEFF}', '\u{2060}', '\u{85}', '\u{FFFF}',
        ] {
            assert!(is_forbidden_in_line(c), "U+{:04X}", c as u32);
            for v in [format!("a{c}b"), format!("ab{c}"), format!("{c}ab")] {
                assert_eq!(
                    clean_line("n", Some(&v), 100).map_err(|e| e.code()),
                    Err("invalid_input"),
                    "{v:?}"
                );
                assert!(clean_text("m", Some(&v), 100).is_err(), "{v:?}");
                assert!(clean_label("license_type", &v).is_err(), "{v:?}");
            }
        }
        for c in ['a', 'é', ' ', '\u{200D}', '😀'] {
            assert!(!is_forbidden_in_line(c), "U+{:04X}", c as u32);
        }
        // Labels: one clean line of at most 64 characters.
        assert_eq!(clean_label("x", " pro ").unwrap(), "pro");
        assert!(clean_label("x", "  ").is_err());
        assert!(clean_label("x", &"é".repeat(65)).is_err());
        assert_eq!(clean_label("x", &"é".repeat(64)).unwrap(), "é".repeat(64));
        // A field too long in bytes is refused before it is scanned.
        let huge = " ".repeat(10_000);
        assert!(matches!(
            clean_line("n", Some(&huge), 100),
            Err(Error::LimitExceeded {
                limit: LimitKind::FieldLength,
                actual: 10_000,
                ..
            })
        ));
    }

    #[test]
    fn times_past_9999_are_errors_never_panics() {
        let last = latest_time();
        assert_eq!(last.to_rfc3339(), "9999-12-31T23:59:59+00:00");
        assert_eq!(time_after(last, 0, "d").unwrap(), last);
        assert_eq!(
            time_after(last, 1, "d").unwrap_err().code(),
            "invalid_input"
        );
        for t in [DateTime::<Utc>::MAX_UTC, last] {
            for s in [u64::MAX, i64::MAX as u64, i64::MAX as u64 / 1000, 1 << 40] {
                assert!(time_after(t, s, "d").is_err(), "{t} + {s}");
            }
        }
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(
            time_after(t, 60, "d").unwrap(),
            DateTime::from_timestamp(1_700_000_060, 0).unwrap()
        );
    }

    #[test]
    fn a_clock_outside_years_1_to_9999_is_refused_by_every_command() {
        let early = DateTime::from_timestamp(-62_135_596_801, 0).unwrap();
        for t in [DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC, early] {
            let clock = std::sync::Arc::new(crate::ManualClock::new(t));
            let engine = Enlist::in_memory().with_clock(clock);
            let err = engine
                .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
                .unwrap_err();
            assert_eq!(err.code(), "invalid_input");
            assert!(
                matches!(&err, Error::InvalidInput { field, .. } if field == "clock"),
                "{err}"
            );
        }
        assert!(check_time("t", early + chrono::Duration::seconds(1)).is_ok());
        assert!(check_time("t", latest_time()).is_ok());
    }

    #[test]
    fn identifiers_normalize() {
        assert_eq!(normalize_identifier("EMP-0042").unwrap(), "emp0042");
        assert!(normalize_identifier(" -- ").is_err());
        assert!(normalize_identifier("").is_err());
    }

    #[test]
    fn page_limits_are_bounded() {
        assert!(page_limit(0).is_err());
        assert!(page_limit(1001).is_err());
        assert_eq!(page_limit(50).unwrap(), 50);
    }
}

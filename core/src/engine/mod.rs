//! The engine: every command of the domain, authorized, validated, run in
//! one store transaction with its audit event.
//!
//! ```
//! use enlist::{Enlist, NewOrganization, InviteRequest, Recipients, Registration, Actor};
//! let engine = Enlist::in_memory();
//! let (org, owner) = engine.create_organization(NewOrganization::new("Acme", "owner-1", "ada@acme.test"))?;
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
mod groups;
mod import;
mod invite;
mod link;
mod members;
mod orgs;
mod outbox;

pub use accept::{ACCESS_CODE_LOCK_SECS, ACCESS_CODE_MAX_LOCK_SECS, Acceptance};
pub use groups::{GroupQuery, GroupUpdate, NewGroup};
pub use import::{
    ImportDefaults, ImportInterruption, ImportRejection, ImportReport, ImportedInvitation,
};
pub use invite::{
    InviteReport, InviteRequest, IssuedInvitation, RecipientInput, Recipients, RejectReason,
    RejectedRecipient, SendOutcome, SendReport,
};
pub use link::{LinkPreview, LinkSpec};
pub use members::MemberUpdate;
pub use orgs::NewOrganization;

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, LimitKind, Result, StoreError};
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

/// Settings of the engine itself (not of an organization).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EngineConfig {
    /// The base of accept links when an organization's policy names none.
    pub default_accept_url_base: String,
    /// The product's name, used in invitation emails.
    pub product_name: String,
    /// How the outbox retries failed deliveries.
    pub retry: RetryPolicy,
    /// How many times a command is retried when the store reports a
    /// concurrent-update conflict.
    pub conflict_retries: u32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            default_accept_url_base: "https://app.example.invalid/invitations/accept".to_owned(),
            product_name: "enlist".to_owned(),
            retry: RetryPolicy::default(),
            conflict_retries: 5,
        }
    }
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
}

impl std::fmt::Debug for Enlist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enlist")
            .field("config", &self.config)
            .field("secret_key", &self.codes.has_key())
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

    /// Replaces the engine settings.
    pub fn with_config(mut self, config: EngineConfig) -> Self {
        self.config = Arc::new(config);
        self
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
    /// and retries the whole command on a store conflict.
    pub(crate) fn run<T>(&self, mut f: impl FnMut(&mut Ctx<'_>) -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            let tx = self.store.begin()?;
            let mut cx = Ctx {
                tx,
                now: self.clock.now(),
                secrets: self.secrets.as_ref(),
                config: &self.config,
                codes: &self.codes,
            };
            let out = f(&mut cx).and_then(|v| {
                cx.tx.commit()?;
                Ok(v)
            });
            match out {
                Err(Error::Store(StoreError::Conflict))
                    if attempt < self.config.conflict_retries =>
                {
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// What a command sees: its transaction, the time it runs at, the secret
/// source and the settings.
pub(crate) struct Ctx<'a> {
    pub tx: Box<dyn Transaction + 'a>,
    pub now: DateTime<Utc>,
    pub secrets: &'a dyn SecretSource,
    pub config: &'a EngineConfig,
    pub codes: &'a CodeHasher,
}

impl Ctx<'_> {
    pub fn event(&mut self, org: &OrgId, actor: &Actor, kind: EventKind) -> Result<()> {
        self.tx.append_event(&Event {
            org_id: org.clone(),
            seq: 0,
            at: self.now,
            actor: actor.clone(),
            kind,
        })?;
        Ok(())
    }

    pub fn org(&mut self, id: &OrgId) -> Result<Organization> {
        self.tx
            .organization(id)?
            .ok_or_else(|| Error::not_found("organization", id))
    }

    pub fn member(&mut self, org: &OrgId, id: &crate::id::MemberId) -> Result<Member> {
        self.tx
            .member(org, id)?
            .ok_or_else(|| Error::not_found("member", id))
    }

    pub fn id_bytes(&self) -> [u8; 16] {
        crate::secret::id_bytes(self.secrets)
    }

    /// Who `actor` is in `org`, and what they may do.
    pub fn auth(&mut self, org: &Organization, actor: &Actor) -> Result<Auth> {
        match actor {
            Actor::System => Ok(Auth {
                actor: actor.clone(),
                member: None,
                perms: Permission::ALL.into_iter().collect(),
                system: true,
            }),
            Actor::Member(id) => {
                let m = self.tx.member(&org.id, id)?;
                match m {
                    Some(m) if m.status == MemberStatus::Active => Ok(Auth {
                        actor: actor.clone(),
                        perms: org.permissions_of(&m.role),
                        member: Some(m),
                        system: false,
                    }),
                    _ => Err(Error::PermissionDenied {
                        actor: actor.to_string(),
                        permission: Permission::ViewMembers,
                        context: Some("not an active member of this organization".into()),
                    }),
                }
            }
            Actor::Account(_) | Actor::Anonymous => Ok(Auth {
                actor: actor.clone(),
                member: None,
                perms: PermissionSet::new(),
                system: false,
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
}

impl Auth {
    pub fn has(&self, p: Permission) -> bool {
        self.system || self.perms.contains(&p)
    }

    pub fn deny(&self, p: Permission, context: impl Into<String>) -> Error {
        Error::PermissionDenied {
            actor: self.actor.to_string(),
            permission: p,
            context: Some(context.into()),
        }
    }

    pub fn require(&self, p: Permission) -> Result<()> {
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

    pub fn is_member(&self, id: &crate::id::MemberId) -> bool {
        self.member.as_ref().is_some_and(|m| &m.id == id)
    }

    pub fn is_guest(&self) -> bool {
        self.member
            .as_ref()
            .is_some_and(|m| m.kind == MemberKind::Guest)
    }

    pub fn group_role(&self, group: &crate::id::GroupId) -> Option<GroupRole> {
        self.member.as_ref().and_then(|m| m.group_role(group))
    }

    /// The role exists and grants nothing the actor lacks.
    pub fn grantable_role(&self, org: &Organization, role: &str) -> Result<Role> {
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
        }
        Ok(r)
    }

    /// May the actor put someone in `grant.group_id` with `grant.role`?
    pub fn may_grant_group(&self, grant: &GroupGrant) -> Result<()> {
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

/// Trims a one-line text field and checks it: no control characters (which
/// would let a name inject mail headers), at most `max` characters. Empty
/// after trimming becomes `None`.
pub(crate) fn clean_line(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    if let Some(c) = v.chars().find(|c| c.is_control() || is_bidi_control(*c)) {
        return Err(Error::invalid(
            field,
            format!(
                "must not contain control characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    check_len(field, v, max)?;
    Ok(Some(v.to_owned()))
}

/// Like [`clean_line`] but allows line breaks and tabs (personal messages).
pub(crate) fn clean_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim().replace("\r\n", "\n");
    if v.is_empty() {
        return Ok(None);
    }
    if let Some(c) = v
        .chars()
        .find(|c| (c.is_control() && *c != '\n' && *c != '\t') || is_bidi_control(*c))
    {
        return Err(Error::invalid(
            field,
            format!(
                "must not contain control characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    check_len(field, &v, max)?;
    Ok(Some(v))
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

/// One CSV line of a downloadable report: fields quoted when needed, and
/// spreadsheet formulas neutralized (CSV injection: a leading `=`, `+`,
/// `-`, `@`, tab or carriage return gets a `'`).
pub(crate) fn csv_row(fields: &[&str]) -> String {
    fields
        .iter()
        .map(|f| {
            // Quote, and neutralize spreadsheet formulas (CSV injection).
            let f = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{f}")
            } else {
                (*f).to_owned()
            };
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorFamily;

    #[test]
    fn a_made_up_page_cursor_is_invalid_input_not_a_storage_failure() {
        let engine = Enlist::in_memory();
        let (org, owner) = engine
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

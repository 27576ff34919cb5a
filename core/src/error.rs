//! The one error type of the crate, with stable codes.

use crate::id::{GroupId, InvitationId, LinkId, MemberId, OrgId};
use crate::invitation::InvitationStatus;
use crate::role::Permission;
use crate::wire_names;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which configured limit was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LimitKind {
    /// Recipients in one invitation batch (`Policy::max_batch`).
    BatchSize,
    /// Characters in a pasted recipient field from a form
    /// (`Policy::max_paste_field_chars`).
    PasteFieldChars,
    /// Rows in one import file (`Policy::max_import_rows`).
    ImportRows,
    /// Seats of a license type (`Policy::seat_limits`).
    Seats,
    /// Times an invitation may be sent (`Policy::resend_cap`).
    ResendCap,
    /// Wrong access codes typed for one invitation
    /// (`Policy::access_code_attempts`).
    AccessCodeAttempts,
    /// The length of a text field (a name, a message, ...).
    FieldLength,
    /// Items requested in one page.
    PageSize,
    /// Bytes in one pasted batch, before it is parsed
    /// (`Policy::max_recipient_bytes`, derived from `max_batch`).
    RecipientBytes,
    /// Entries in one batch, before they are parsed: a paste's fragments or
    /// a list's rows (`Policy::max_recipient_entries`, derived from
    /// `max_batch`).
    RecipientEntries,
    /// Bytes of an import file as uploaded (`Policy::max_import_bytes`).
    ImportBytes,
    /// Entries in an XLSX file's zip archive (`Policy::max_import_entries`).
    ImportEntries,
    /// Bytes of an XLSX file once unpacked
    /// (`Policy::max_import_unpacked_bytes`).
    ImportUnpackedBytes,
    /// How many times its packed size an XLSX entry unpacks to
    /// (`Policy::max_import_ratio`).
    ImportRatio,
    /// Open invitations one member has issued
    /// (`Policy::max_open_invitations_per_inviter`).
    OpenInvitationsPerInviter,
    /// People joining by one invitation link (its `max_uses`).
    LinkUses,
    /// Invitation links of one organization
    /// ([`MAX_LINKS_PER_ORG`](crate::MAX_LINKS_PER_ORG)).
    LinksPerOrg,
}

wire_names! {
    LimitKind {
        BatchSize => "batch_size",
        PasteFieldChars => "paste_field_chars",
        ImportRows => "import_rows",
        Seats => "seats",
        ResendCap => "resend_cap",
        AccessCodeAttempts => "access_code_attempts",
        FieldLength => "field_length",
        PageSize => "page_size",
        RecipientBytes => "recipient_bytes",
        RecipientEntries => "recipient_entries",
        ImportBytes => "import_bytes",
        ImportEntries => "import_entries",
        ImportUnpackedBytes => "import_unpacked_bytes",
        ImportRatio => "import_ratio",
        OpenInvitationsPerInviter => "open_invitations_per_inviter",
        LinkUses => "link_uses",
        LinksPerOrg => "links_per_org",
    }
}

/// The family of an error: what a caller can act on. Bindings map families
/// to exception classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorFamily {
    /// The input is malformed; fix it and retry.
    InvalidInput,
    /// A configured limit was reached.
    LimitExceeded,
    /// The actor may not do this.
    PermissionDenied,
    /// Something named does not exist.
    NotFound,
    /// The state does not allow it (already a member, already invited, ...).
    Conflict,
    /// The invitation or link has expired.
    Expired,
    /// The invitation or link was revoked, declined or superseded.
    Revoked,
    /// The store failed.
    Storage,
    /// Mail delivery failed.
    Mail,
}

wire_names! {
    ErrorFamily {
        InvalidInput => "invalid_input",
        LimitExceeded => "limit_exceeded",
        PermissionDenied => "permission_denied",
        NotFound => "not_found",
        Conflict => "conflict",
        Expired => "expired",
        Revoked => "revoked",
        Storage => "storage",
        Mail => "mail",
    }
}

/// What the engine reports when a command cannot be carried out. Each
/// variant names the facts, and [`Error::code`] gives a stable string.
/// A command that fails changes nothing (except where a variant says so).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input field is malformed.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field, as named in the API.
        field: String,
        /// What is wrong with it and what is expected.
        reason: String,
    },
    /// A configured limit would be exceeded; nothing was changed.
    #[error("limit {limit} exceeded: {actual} requested, at most {max} allowed{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    LimitExceeded {
        /// Which limit.
        limit: LimitKind,
        /// The configured maximum.
        max: u64,
        /// What was asked for (or would result).
        actual: u64,
        /// More context, such as the license type.
        detail: Option<String>,
    },
    /// The actor names a member who is not an active member of the
    /// organization (never was, removed, or deactivated). Told apart from
    /// [`Error::PermissionDenied`], a member who lacks a permission.
    #[error("permission denied: {actor} is not an active member of organization {organization}")]
    NotAMember {
        /// Who tried.
        actor: String,
        /// The organization.
        organization: OrgId,
    },
    /// The actor lacks a permission.
    #[error("permission denied: {actor} lacks {permission}{}", context.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
    PermissionDenied {
        /// Who tried (a member id, or `system`).
        actor: String,
        /// The permission that is missing.
        permission: Permission,
        /// Why it matters here, if more can be said.
        context: Option<String>,
    },
    /// The actor lacks a host-defined permission
    /// ([`Enlist::authorize`](crate::Enlist::authorize)).
    #[error("permission denied: {actor} lacks the custom permission {permission}")]
    CustomPermissionDenied {
        /// Who tried.
        actor: String,
        /// The host-defined permission that is missing.
        permission: String,
    },
    /// A feature is switched off by the organization's policy.
    #[error("{feature} is disabled by the organization's policy")]
    Disabled {
        /// The feature.
        feature: Feature,
    },
    /// An entity does not exist (or is not visible in this organization).
    #[error("{entity} not found: {id}")]
    NotFound {
        /// The kind of entity.
        entity: EntityKind,
        /// The id asked for.
        id: String,
    },
    /// No invitation or link matches the secret presented.
    #[error("the invitation link or code is not valid")]
    InvalidSecret,
    /// The recipient is already a member of the organization.
    #[error("{recipient} is already a member ({member})")]
    AlreadyMember {
        /// The recipient as given.
        recipient: String,
        /// The existing member.
        member: MemberId,
    },
    /// The recipient already has an open invitation.
    #[error("{recipient} already has an open invitation ({invitation})")]
    AlreadyInvited {
        /// The recipient as given.
        recipient: String,
        /// The open invitation.
        invitation: InvitationId,
    },
    /// The email's domain is not in the organization's allowed domains.
    #[error("the domain {domain} is not allowed in this organization")]
    DomainNotAllowed {
        /// The domain.
        domain: String,
    },
    /// The invitation is past its expiry.
    #[error("invitation {invitation} expired at {expired_at}; ask for it to be resent")]
    InvitationExpired {
        /// The invitation.
        invitation: InvitationId,
        /// When it expired.
        expired_at: chrono::DateTime<chrono::Utc>,
    },
    /// The invitation was revoked by an administrator, or its link locked.
    #[error("invitation {invitation} was revoked")]
    InvitationRevoked {
        /// The invitation.
        invitation: InvitationId,
    },
    /// The invitation is no longer open (accepted, declined, staged, ...).
    #[error("invitation {invitation} is {}, not open", status.as_str())]
    InvitationNotOpen {
        /// The invitation.
        invitation: InvitationId,
        /// Its status.
        status: InvitationStatus,
    },
    /// A resend came before the policy's cooldown passed.
    #[error("invitation {invitation} was sent recently; resend after {retry_after}")]
    ResendTooSoon {
        /// The invitation.
        invitation: InvitationId,
        /// When a resend becomes possible.
        retry_after: chrono::DateTime<chrono::Utc>,
    },
    /// The registration lacks what the policy requires.
    #[error("registration incomplete: {}", missing.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", "))]
    RegistrationIncomplete {
        /// The missing fields, all of them.
        missing: Vec<RegistrationField>,
    },
    /// The verified email of the accepting account is not the invited one.
    #[error("the invitation was sent to {invited}, not to {presented}")]
    EmailMismatch {
        /// The invited address.
        invited: String,
        /// The address the account has.
        presented: String,
    },
    /// A state conflict not covered by a more specific variant.
    #[error("conflict: {reason}")]
    Conflict {
        /// What conflicts.
        reason: String,
    },
    /// A group id was named that does not belong to the organization.
    #[error("group not found: {group}")]
    UnknownGroup {
        /// The group.
        group: GroupId,
    },
    /// The store kept reporting [`StoreError::Conflict`] (other writers
    /// changing the same data) until the engine's retries
    /// ([`EngineConfig::conflict_retries`](crate::EngineConfig::conflict_retries))
    /// ran out. Nothing was changed; running the command again may succeed.
    #[error(
        "the command met a concurrent update {attempts} times in a row; nothing was changed, run it again"
    )]
    RetriesExhausted {
        /// How many times the command was run.
        attempts: u32,
    },
    /// A bulk action's confirmation number is missing, wrong, or older
    /// than it may be (see [`Enlist::bulk_confirmation`](crate::Enlist::bulk_confirmation)):
    /// nothing was changed.
    #[error(
        "the confirmation number does not match this selection, action and actor, or has expired; nothing was changed: ask for a new number"
    )]
    ConfirmationMismatch,
    /// An identifier invitation's access code cannot be shown again: it was
    /// shown once, when it was issued, and is not kept in readable form
    /// (ADR 0005). `key_configured` is `false` when the host configured no
    /// sealing key (the shown-once rule), `true` when the code was issued
    /// before the key, under a key no longer configured, or does not open.
    /// Resending the invitation gives a new code.
    #[error(
        "the access code of invitation {invitation} was shown once, when it was issued, and is not kept{}; resend the invitation to give a new code",
        if *key_configured { " under a key this service holds" } else { " (no sealing key is configured)" }
    )]
    AccessCodeNotKept {
        /// The invitation.
        invitation: InvitationId,
        /// Whether the host configured a sealing key.
        key_configured: bool,
    },
    /// A before-hook of the host ([`Hooks::before`](crate::Hooks::before))
    /// refused the change: nothing was changed. `reason` is the hook's,
    /// for the person who asked (one line, at most
    /// [`MAX_HOOK_REASON_CHARS`](crate::MAX_HOOK_REASON_CHARS) characters).
    #[error("refused by the service: {reason}")]
    HookRefused {
        /// Why, as the hook says it.
        reason: String,
    },
    /// An invitation link's URL cannot be shown again: without the host's
    /// link key ([`Enlist::with_link_keys`](crate::Enlist::with_link_keys))
    /// a link's URL is shown once, when it is made (`key_configured`
    /// false); with one, a link made before the key or under a key no
    /// longer configured cannot be derived (`key_configured` true).
    /// Regenerating the link gives a new URL (ADR 0013).
    #[error(
        "the URL of invitation link {link} is not kept{}; regenerate the link to get a new URL",
        if *key_configured { " under a link key this service holds" } else { " (no link key is configured: it was shown once)" }
    )]
    LinkUrlNotKept {
        /// The link.
        link: LinkId,
        /// Whether the host configured a link key.
        key_configured: bool,
    },
    /// An invitation link is past its expiry (ADR 0013).
    #[error("invitation link {link} expired at {expired_at}")]
    LinkExpired {
        /// The link.
        link: LinkId,
        /// When it expired.
        expired_at: chrono::DateTime<chrono::Utc>,
    },
    /// The store failed. (A [`StoreError::InvalidCursor`] becomes
    /// [`Error::InvalidInput`] on field `cursor` instead: it is the caller's
    /// mistake, not the store's.)
    #[error(transparent)]
    Store(StoreError),
    /// Mail delivery failed.
    #[error(transparent)]
    Mail(#[from] MailError),
}

impl Error {
    /// The entry of the [catalogue](ErrorCode) this error belongs to. This
    /// match is the one place that decides a variant's code; the code
    /// decides the family ([`ErrorCode::family`]) and the facts' names
    /// ([`ErrorCode::facts`]).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Error::InvalidInput { .. } => ErrorCode::InvalidInput,
            Error::LimitExceeded { .. } => ErrorCode::LimitExceeded,
            Error::NotAMember { .. } => ErrorCode::NotAMember,
            Error::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            Error::Disabled { .. } => ErrorCode::Disabled,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::InvalidSecret => ErrorCode::InvalidSecret,
            Error::AlreadyMember { .. } => ErrorCode::AlreadyMember,
            Error::AlreadyInvited { .. } => ErrorCode::AlreadyInvited,
            Error::DomainNotAllowed { .. } => ErrorCode::DomainNotAllowed,
            Error::InvitationExpired { .. } => ErrorCode::InvitationExpired,
            Error::InvitationRevoked { .. } => ErrorCode::InvitationRevoked,
            Error::InvitationNotOpen { .. } => ErrorCode::InvitationNotOpen,
            Error::ResendTooSoon { .. } => ErrorCode::ResendTooSoon,
            Error::RegistrationIncomplete { .. } => ErrorCode::RegistrationIncomplete,
            Error::EmailMismatch { .. } => ErrorCode::EmailMismatch,
            Error::Conflict { .. } => ErrorCode::Conflict,
            Error::UnknownGroup { .. } => ErrorCode::UnknownGroup,
            Error::RetriesExhausted { .. } => ErrorCode::RetriesExhausted,
            Error::ConfirmationMismatch => ErrorCode::ConfirmationMismatch,
            Error::AccessCodeNotKept { .. } => ErrorCode::AccessCodeNotKept,
            Error::HookRefused { .. } => ErrorCode::HookRefused,
            Error::Store(_) => ErrorCode::Storage,
            Error::Mail(_) => ErrorCode::Mail,
            Error::CustomPermissionDenied { .. } => ErrorCode::CustomPermissionDenied,
            Error::LinkUrlNotKept { .. } => ErrorCode::LinkUrlNotKept,
            Error::LinkExpired { .. } => ErrorCode::LinkExpired,
        }
    }

    /// A stable, lowercase code: safe to match on, log and translate.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The family the error belongs to.
    pub fn family(&self) -> ErrorFamily {
        self.error_code().family()
    }

    /// The facts of the error, as JSON: one entry per fact its code lists
    /// in [`ErrorCode::facts`], keyed by its name, an absent optional fact
    /// as `null`. Ids are strings, times RFC 3339 strings (UTC), counts
    /// numbers, enums their wire names (a list of them an array). This is
    /// what the bindings build their exceptions from; no secret is ever in
    /// it.
    pub fn facts(&self) -> Map<String, Value> {
        let mut f = Facts::default();
        match self {
            Error::InvalidInput { field, reason } => f.text("field", field).text("reason", reason),
            Error::LimitExceeded {
                limit,
                max,
                actual,
                detail,
            } => f
                .text("limit", limit.as_str())
                .count("max", *max)
                .count("actual", *actual)
                .opt_text("detail", detail.as_deref()),
            Error::NotAMember {
                actor,
                organization,
            } => f
                .text("actor", actor)
                .text("organization", organization.as_str()),
            Error::PermissionDenied {
                actor,
                permission,
                context,
            } => f
                .text("actor", actor)
                .text("permission", permission.as_str())
                .opt_text("context", context.as_deref()),
            Error::Disabled { feature } => f.text("feature", feature.as_str()),
            Error::CustomPermissionDenied { actor, permission } => {
                f.text("actor", actor).text("custom_permission", permission)
            }
            Error::NotFound { entity, id } => f.text("entity", entity.as_str()).text("id", id),
            Error::InvalidSecret => &mut f,
            Error::AlreadyMember { recipient, member } => f
                .text("recipient", recipient)
                .text("member", member.as_str()),
            Error::AlreadyInvited {
                recipient,
                invitation,
            } => f
                .text("recipient", recipient)
                .text("invitation", invitation.as_str()),
            Error::DomainNotAllowed { domain } => f.text("domain", domain),
            Error::InvitationExpired {
                invitation,
                expired_at,
            } => f
                .text("invitation", invitation.as_str())
                .time("expired_at", expired_at),
            Error::InvitationRevoked { invitation } => f.text("invitation", invitation.as_str()),
            Error::InvitationNotOpen { invitation, status } => f
                .text("invitation", invitation.as_str())
                .text("status", status.as_str()),
            Error::ResendTooSoon {
                invitation,
                retry_after,
            } => f
                .text("invitation", invitation.as_str())
                .time("retry_after", retry_after),
            Error::RegistrationIncomplete { missing } => {
                f.list("missing", missing.iter().map(|m| m.as_str()))
            }
            Error::EmailMismatch { invited, presented } => {
                f.text("invited", invited).text("presented", presented)
            }
            Error::Conflict { reason } => f.text("reason", reason),
            Error::UnknownGroup { group } => f.text("group", group.as_str()),
            Error::RetriesExhausted { attempts } => f.count("attempts", u64::from(*attempts)),
            Error::ConfirmationMismatch => &mut f,
            Error::LinkUrlNotKept {
                link,
                key_configured,
            } => f
                .text("link", link.as_str())
                .flag("key_configured", *key_configured),
            Error::LinkExpired { link, expired_at } => {
                f.text("link", link.as_str()).time("expired_at", expired_at)
            }
            Error::AccessCodeNotKept {
                invitation,
                key_configured,
            } => f
                .text("invitation", invitation.as_str())
                .flag("key_configured", *key_configured),
            Error::HookRefused { reason } => f.text("reason", reason),
            Error::Store(e) => {
                let (rule, found, supported) = match e {
                    StoreError::Unique(rule) => (Some(rule.as_str()), None, None),
                    StoreError::SchemaTooNew { found, supported } => {
                        (None, Some(u64::from(*found)), Some(u64::from(*supported)))
                    }
                    _ => (None, None, None),
                };
                f.text("store_error", e.kind())
                    .opt_text("rule", rule)
                    .opt_count("found", found)
                    .opt_count("supported", supported)
            }
            Error::Mail(e) => f.flag("permanent", e.is_permanent()),
        };
        f.0
    }

    pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn not_found(entity: EntityKind, id: impl std::fmt::Display) -> Self {
        Error::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    pub(crate) fn conflict(reason: impl Into<String>) -> Self {
        Error::Conflict {
            reason: reason.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor { list } => Error::InvalidInput {
                field: "cursor".to_owned(),
                reason: format!(
                    "not a page cursor of the {list} list: pass back a next_cursor from the same list"
                ),
            },
            e => Error::Store(e),
        }
    }
}

/// A failure of a [`Store`](crate::Store).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another writer changed the same data; the whole command may be retried.
    #[error("concurrent update conflict; retry the command")]
    Conflict,
    /// A uniqueness rule of the store was violated.
    #[error("uniqueness violated: {}", .0.describe())]
    Unique(UniqueRule),
    /// The store cannot be reached or is unusable.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The stored data was written by a newer version of enlist.
    #[error("the store's schema version {found} is newer than this library supports ({supported})")]
    SchemaTooNew {
        /// The version found in the store.
        found: u32,
        /// The newest version this library knows.
        supported: u32,
    },
    /// Stored data could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A page cursor that the store did not hand out for this list (made
    /// up, damaged, or from another list). Reaches callers as
    /// [`Error::InvalidInput`] on field `cursor`.
    #[error("invalid page cursor for the {list} list: pass back a next_cursor from the same list")]
    InvalidCursor {
        /// The list the cursor was given to (`member`, `invitation`, ...).
        list: String,
    },
    /// Any other failure of the underlying driver.
    #[error("store error: {0}")]
    Other(Arc<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any driver error.
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Other(Arc::new(e))
    }

    /// Which kind of failure, as a stable word (the `store_error` fact of
    /// [`Error::facts`]): `conflict`, `unique`, `unavailable`,
    /// `schema_too_new`, `corrupt`, `invalid_cursor` or `other`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Conflict => "conflict",
            StoreError::Unique(_) => "unique",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::SchemaTooNew { .. } => "schema_too_new",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::InvalidCursor { .. } => "invalid_cursor",
            StoreError::Other(_) => "other",
        }
    }
}

/// Builds the JSON facts of an error.
#[derive(Default)]
struct Facts(Map<String, Value>);

impl Facts {
    fn text(&mut self, name: &str, value: &str) -> &mut Self {
        self.0
            .insert(name.to_owned(), Value::String(value.to_owned()));
        self
    }

    fn opt_text(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        let v = value.map_or(Value::Null, |v| Value::String(v.to_owned()));
        self.0.insert(name.to_owned(), v);
        self
    }

    fn count(&mut self, name: &str, value: u64) -> &mut Self {
        self.0.insert(name.to_owned(), Value::from(value));
        self
    }

    fn opt_count(&mut self, name: &str, value: Option<u64>) -> &mut Self {
        self.0
            .insert(name.to_owned(), value.map_or(Value::Null, Value::from));
        self
    }

    fn flag(&mut self, name: &str, value: bool) -> &mut Self {
        self.0.insert(name.to_owned(), Value::Bool(value));
        self
    }

    fn time(&mut self, name: &str, value: &chrono::DateTime<chrono::Utc>) -> &mut Self {
        let s = value.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        self.text(name, &s)
    }

    fn list<'a>(&mut self, name: &str, values: impl Iterator<Item = &'a str>) -> &mut Self {
        let v = values.map(|s| Value::String(s.to_owned())).collect();
        self.0.insert(name.to_owned(), Value::Array(v));
        self
    }
}

/// `{"code", "family", "message", "facts"}`: the error as the bindings and
/// logs see it (see [`Error::facts`]).
impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Error", 4)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("family", &self.family())?;
        s.serialize_field("message", &self.to_string())?;
        s.serialize_field("facts", &self.facts())?;
        s.end()
    }
}

/// The type of one fact of an error, as it appears in [`Error::facts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FactKind {
    /// A string.
    Text,
    /// An id, as a string.
    Id,
    /// A time, as an RFC 3339 string in UTC.
    Time,
    /// A non-negative integer.
    Count,
    /// A boolean.
    Flag,
    /// The wire name of a value of the enum named (`"InvitationStatus"`,
    /// `"Permission"`, ...: the Rust type, which the bindings name alike).
    Enum(&'static str),
    /// A list of wire names of the enum named.
    EnumList(&'static str),
}

/// One fact of an error: its name, its type, and whether it may be `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Fact {
    /// The name, as a key of [`Error::facts`] and an attribute of the
    /// bindings' exceptions.
    pub name: &'static str,
    /// Its type.
    pub kind: FactKind,
    /// Whether it may be absent (`null`).
    pub optional: bool,
}

const fn fact(name: &'static str, kind: FactKind) -> Fact {
    Fact {
        name,
        kind,
        optional: false,
    }
}

const fn optional(name: &'static str, kind: FactKind) -> Fact {
    Fact {
        name,
        kind,
        optional: true,
    }
}

/// The catalogue of errors: every stable code, with its family and its
/// facts. Bindings, stubs and the book are checked against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// [`Error::InvalidInput`].
    InvalidInput,
    /// [`Error::LimitExceeded`].
    LimitExceeded,
    /// [`Error::NotAMember`].
    NotAMember,
    /// [`Error::PermissionDenied`].
    PermissionDenied,
    /// [`Error::Disabled`].
    Disabled,
    /// [`Error::NotFound`].
    NotFound,
    /// [`Error::InvalidSecret`].
    InvalidSecret,
    /// [`Error::AlreadyMember`].
    AlreadyMember,
    /// [`Error::AlreadyInvited`].
    AlreadyInvited,
    /// [`Error::DomainNotAllowed`].
    DomainNotAllowed,
    /// [`Error::InvitationExpired`].
    InvitationExpired,
    /// [`Error::InvitationRevoked`].
    InvitationRevoked,
    /// [`Error::InvitationNotOpen`].
    InvitationNotOpen,
    /// [`Error::ResendTooSoon`].
    ResendTooSoon,
    /// [`Error::RegistrationIncomplete`].
    RegistrationIncomplete,
    /// [`Error::EmailMismatch`].
    EmailMismatch,
    /// [`Error::Conflict`].
    Conflict,
    /// [`Error::UnknownGroup`].
    UnknownGroup,
    /// [`Error::RetriesExhausted`].
    RetriesExhausted,
    /// [`Error::ConfirmationMismatch`].
    ConfirmationMismatch,
    /// [`Error::AccessCodeNotKept`].
    AccessCodeNotKept,
    /// [`Error::Store`].
    Storage,
    /// [`Error::HookRefused`].
    HookRefused,
    /// [`Error::Mail`].
    Mail,
    /// [`Error::CustomPermissionDenied`].
    CustomPermissionDenied,
    /// [`Error::LinkUrlNotKept`].
    LinkUrlNotKept,
    /// [`Error::LinkExpired`].
    LinkExpired,
}

impl ErrorCode {
    /// Every code, in the order of the book's table.
    pub const ALL: [ErrorCode; 27] = [
        ErrorCode::InvalidInput,
        ErrorCode::LimitExceeded,
        ErrorCode::NotAMember,
        ErrorCode::PermissionDenied,
        ErrorCode::Disabled,
        ErrorCode::NotFound,
        ErrorCode::InvalidSecret,
        ErrorCode::AlreadyMember,
        ErrorCode::AlreadyInvited,
        ErrorCode::DomainNotAllowed,
        ErrorCode::InvitationExpired,
        ErrorCode::InvitationRevoked,
        ErrorCode::InvitationNotOpen,
        ErrorCode::ResendTooSoon,
        ErrorCode::RegistrationIncomplete,
        ErrorCode::EmailMismatch,
        ErrorCode::Conflict,
        ErrorCode::UnknownGroup,
        ErrorCode::RetriesExhausted,
        ErrorCode::AccessCodeNotKept,
        ErrorCode::Storage,
        ErrorCode::Mail,
        ErrorCode::ConfirmationMismatch,
        ErrorCode::HookRefused,
        ErrorCode::CustomPermissionDenied,
        ErrorCode::LinkUrlNotKept,
        ErrorCode::LinkExpired,
    ];

    /// The stable code ([`Error::code`]).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::LimitExceeded => "limit_exceeded",
            ErrorCode::NotAMember => "not_a_member",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::Disabled => "disabled",
            ErrorCode::NotFound => "not_found",
            ErrorCode::InvalidSecret => "invalid_secret",
            ErrorCode::AlreadyMember => "already_member",
            ErrorCode::AlreadyInvited => "already_invited",
            ErrorCode::DomainNotAllowed => "domain_not_allowed",
            ErrorCode::InvitationExpired => "invitation_expired",
            ErrorCode::InvitationRevoked => "invitation_revoked",
            ErrorCode::InvitationNotOpen => "invitation_not_open",
            ErrorCode::ResendTooSoon => "resend_too_soon",
            ErrorCode::RegistrationIncomplete => "registration_incomplete",
            ErrorCode::EmailMismatch => "email_mismatch",
            ErrorCode::Conflict => "conflict",
            ErrorCode::UnknownGroup => "unknown_group",
            ErrorCode::RetriesExhausted => "retries_exhausted",
            ErrorCode::AccessCodeNotKept => "access_code_not_kept",
            ErrorCode::Storage => "storage",
            ErrorCode::Mail => "mail",
            ErrorCode::ConfirmationMismatch => "confirmation_mismatch",
            ErrorCode::HookRefused => "hook_refused",
            ErrorCode::CustomPermissionDenied => "custom_permission_denied",
            ErrorCode::LinkUrlNotKept => "link_url_not_kept",
            ErrorCode::LinkExpired => "link_expired",
        }
    }

    /// The family of the code ([`Error::family`]).
    pub fn family(&self) -> ErrorFamily {
        match self {
            ErrorCode::InvalidInput
            | ErrorCode::RegistrationIncomplete
            | ErrorCode::EmailMismatch
            | ErrorCode::DomainNotAllowed
            | ErrorCode::ConfirmationMismatch => ErrorFamily::InvalidInput,
            ErrorCode::LimitExceeded | ErrorCode::ResendTooSoon => ErrorFamily::LimitExceeded,
            ErrorCode::NotAMember
            | ErrorCode::PermissionDenied
            | ErrorCode::Disabled
            | ErrorCode::HookRefused
            | ErrorCode::CustomPermissionDenied => ErrorFamily::PermissionDenied,
            ErrorCode::NotFound | ErrorCode::InvalidSecret | ErrorCode::UnknownGroup => {
                ErrorFamily::NotFound
            }
            ErrorCode::AlreadyMember
            | ErrorCode::AlreadyInvited
            | ErrorCode::InvitationNotOpen
            | ErrorCode::AccessCodeNotKept
            | ErrorCode::LinkUrlNotKept
            | ErrorCode::Conflict => ErrorFamily::Conflict,
            ErrorCode::InvitationExpired | ErrorCode::LinkExpired => ErrorFamily::Expired,
            ErrorCode::InvitationRevoked => ErrorFamily::Revoked,
            ErrorCode::RetriesExhausted | ErrorCode::Storage => ErrorFamily::Storage,
            ErrorCode::Mail => ErrorFamily::Mail,
        }
    }

    /// The facts an error of this code carries ([`Error::facts`]), in order.
    pub fn facts(&self) -> &'static [Fact] {
        use FactKind::{Count, Enum, EnumList, Flag, Id, Text, Time};
        match self {
            ErrorCode::InvalidInput => const { &[fact("field", Text), fact("reason", Text)] },
            ErrorCode::LimitExceeded => {
                const {
                    &[
                        fact("limit", Enum("LimitKind")),
                        fact("max", Count),
                        fact("actual", Count),
                        optional("detail", Text),
                    ]
                }
            }
            ErrorCode::NotAMember => const { &[fact("actor", Text), fact("organization", Id)] },
            ErrorCode::PermissionDenied => {
                const {
                    &[
                        fact("actor", Text),
                        fact("permission", Enum("Permission")),
                        optional("context", Text),
                    ]
                }
            }
            ErrorCode::Disabled => const { &[fact("feature", Enum("Feature"))] },
            ErrorCode::NotFound => {
                const { &[fact("entity", Enum("EntityKind")), fact("id", Text)] }
            }
            ErrorCode::InvalidSecret => const { &[] },
            ErrorCode::AlreadyMember => const { &[fact("recipient", Text), fact("member", Id)] },
            ErrorCode::AlreadyInvited => {
                const { &[fact("recipient", Text), fact("invitation", Id)] }
            }
            ErrorCode::DomainNotAllowed => const { &[fact("domain", Text)] },
            ErrorCode::InvitationExpired => {
                const { &[fact("invitation", Id), fact("expired_at", Time)] }
            }
            ErrorCode::InvitationRevoked => const { &[fact("invitation", Id)] },
            ErrorCode::InvitationNotOpen => {
                const {
                    &[
                        fact("invitation", Id),
                        fact("status", Enum("InvitationStatus")),
                    ]
                }
            }
            ErrorCode::ResendTooSoon => {
                const { &[fact("invitation", Id), fact("retry_after", Time)] }
            }
            ErrorCode::RegistrationIncomplete => {
                const { &[fact("missing", EnumList("RegistrationField"))] }
            }
            ErrorCode::EmailMismatch => const { &[fact("invited", Text), fact("presented", Text)] },
            ErrorCode::Conflict => const { &[fact("reason", Text)] },
            ErrorCode::UnknownGroup => const { &[fact("group", Id)] },
            ErrorCode::RetriesExhausted => const { &[fact("attempts", Count)] },
            ErrorCode::AccessCodeNotKept => {
                const { &[fact("invitation", Id), fact("key_configured", Flag)] }
            }
            ErrorCode::Storage => {
                const {
                    &[
                        fact("store_error", Text),
                        optional("rule", Enum("UniqueRule")),
                        optional("found", Count),
                        optional("supported", Count),
                    ]
                }
            }
            ErrorCode::Mail => const { &[fact("permanent", Flag)] },
            ErrorCode::ConfirmationMismatch => const { &[] },
            ErrorCode::HookRefused => const { &[fact("reason", Text)] },
            ErrorCode::CustomPermissionDenied => {
                const { &[fact("actor", Text), fact("custom_permission", Text)] }
            }
            ErrorCode::LinkUrlNotKept => {
                const { &[fact("link", Id), fact("key_configured", Flag)] }
            }
            ErrorCode::LinkExpired => const { &[fact("link", Id), fact("expired_at", Time)] },
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A feature an organization's policy can switch off
/// ([`Error::Disabled`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Feature {
    /// Guest members (`Policy::guests_enabled`).
    Guests,
    /// The organization's shareable invite link
    /// (`Policy::invite_link_enabled`).
    InviteLink,
    /// Joining without an invitation (`Policy::self_registration`).
    SelfRegistration,
}

wire_names! {
    Feature {
        Guests => "guests",
        InviteLink => "invite_link",
        SelfRegistration => "self_registration",
    }
}

/// A registration field the policy requires and a registration lacks
/// ([`Error::RegistrationIncomplete`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RegistrationField {
    /// The application's own id of the account (always required).
    UserRef,
    /// The first name (`RegistrationRequirements::first_name`).
    FirstName,
    /// The last name (`RegistrationRequirements::last_name`).
    LastName,
    /// The phone number (`RegistrationRequirements::phone`).
    Phone,
    /// Acceptance of the current EULA (`Policy::eula_version`).
    EulaVersion,
    /// Two-factor enrolment (`Policy::require_two_factor`).
    TwoFactor,
    /// A verified email address: joining by link or self-registering
    /// in an organization with `allowed_domains`.
    VerifiedEmail,
}

wire_names! {
    RegistrationField {
        UserRef => "user_ref",
        FirstName => "first_name",
        LastName => "last_name",
        Phone => "phone",
        EulaVersion => "eula_version",
        TwoFactor => "two_factor",
        VerifiedEmail => "verified_email",
    }
}

/// The kind of thing that was not found ([`Error::NotFound`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EntityKind {
    /// An organization.
    Organization,
    /// A member.
    Member,
    /// An invitation.
    Invitation,
    /// A group.
    Group,
    /// A member's place in a group.
    GroupMembership,
    /// A role.
    Role,
    /// An outbox message.
    Message,
    /// The kept report of a batch ([`Enlist::batch_report`](crate::Enlist::batch_report)).
    BatchReport,
    /// A domain claimed by an organization, or a domain offered to a
    /// person (never told apart from one no organization offers).
    Domain,
    /// A membership request.
    MembershipRequest,
    /// An invitation link.
    InviteLink,
}

wire_names! {
    EntityKind {
        Organization => "organization",
        Member => "member",
        Invitation => "invitation",
        Group => "group",
        GroupMembership => "group_membership",
        Role => "role",
        Message => "message",
        BatchReport => "batch_report",
        Domain => "domain",
        MembershipRequest => "membership_request",
        InviteLink => "invite_link",
    }
}

/// A uniqueness rule a [`Store`](crate::Store) enforces
/// ([`StoreError::Unique`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum UniqueRule {
    /// One live (not removed) member per contact key in an
    /// organization.
    MemberContactKey,
    /// One live member per `user_ref` in an organization.
    MemberUserRef,
    /// One invitation per secret hash in an organization.
    InvitationSecret,
    /// One open invitation per recipient key in an organization.
    InvitationOpenRecipient,
    /// Another unique key of the store (an id written twice, ...).
    Other,
    /// One organization per slug in the store.
    OrganizationSlug,
    /// One organization at a time holds a domain verified.
    DomainVerified,
    /// One membership request per account in an organization.
    MembershipRequestAccount,
}

wire_names! {
    UniqueRule {
        MemberContactKey => "member_contact_key",
        MemberUserRef => "member_user_ref",
        InvitationSecret => "invitation_secret",
        InvitationOpenRecipient => "invitation_open_recipient",
        Other => "other",
        OrganizationSlug => "organization_slug",
        DomainVerified => "domain_verified",
        MembershipRequestAccount => "membership_request_account",
    }
}

impl UniqueRule {
    /// The rule in words, as the Store trait states it.
    pub fn describe(&self) -> &'static str {
        match self {
            UniqueRule::MemberContactKey => {
                "another live member of the organization has this contact key"
            }
            UniqueRule::MemberUserRef => {
                "another live member of the organization has this user_ref"
            }
            UniqueRule::InvitationSecret => {
                "another invitation of the organization has this secret hash"
            }
            UniqueRule::InvitationOpenRecipient => {
                "another invitation is already open for this recipient"
            }
            UniqueRule::Other => "a unique key of the store refused the write",
            UniqueRule::OrganizationSlug => "another organization has this slug",
            UniqueRule::DomainVerified => "another organization holds this domain verified",
            UniqueRule::MembershipRequestAccount => {
                "this account already has a membership request in the organization"
            }
        }
    }
}

/// A failure of a [`Mailer`](crate::Mailer).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// Worth retrying later (a timeout, a 4xx SMTP reply, ...).
    #[error("temporary mail failure: {0}")]
    Temporary(String),
    /// Will never succeed (a 5xx reply, an address the provider refuses).
    #[error("permanent mail failure: {0}")]
    Permanent(String),
    /// Any other failure.
    #[error("mail error: {0}")]
    Other(Arc<dyn std::error::Error + Send + Sync>),
}

impl MailError {
    /// Whether a retry may help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, MailError::Permanent(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_errors_name_the_limit_and_numbers() {
        let e = Error::LimitExceeded {
            limit: LimitKind::BatchSize,
            max: 100,
            actual: 101,
            detail: None,
        };
        assert_eq!(e.code(), "limit_exceeded");
        assert_eq!(e.family(), ErrorFamily::LimitExceeded);
        let msg = e.to_string();
        assert!(msg.contains("batch_size") && msg.contains("101") && msg.contains("100"));
    }

    /// One error of every code, with every optional fact present in some.
    fn samples() -> Vec<Error> {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        vec![
            Error::invalid("name", "has a control character"),
            Error::LimitExceeded {
                limit: LimitKind::Seats,
                max: 3,
                actual: 4,
                detail: Some("pro".into()),
            },
            Error::NotAMember {
                actor: "member mem_1".into(),
                organization: OrgId::from("org_1"),
            },
            Error::PermissionDenied {
                actor: "member mem_1".into(),
                permission: Permission::InviteMembers,
                context: None,
            },
            Error::Disabled {
                feature: Feature::InviteLink,
            },
            Error::not_found(EntityKind::GroupMembership, "mem_1 in grp_1"),
            Error::InvalidSecret,
            Error::AlreadyMember {
                recipient: "a@x.test".into(),
                member: MemberId::from("mem_1"),
            },
            Error::AlreadyInvited {
                recipient: "a@x.test".into(),
                invitation: InvitationId::from("inv_1"),
            },
            Error::DomainNotAllowed {
                domain: "x.test".into(),
            },
            Error::InvitationExpired {
                invitation: InvitationId::from("inv_1"),
                expired_at: at,
            },
            Error::InvitationRevoked {
                invitation: InvitationId::from("inv_1"),
            },
            Error::InvitationNotOpen {
                invitation: InvitationId::from("inv_1"),
                status: InvitationStatus::Accepted,
            },
            Error::ResendTooSoon {
                invitation: InvitationId::from("inv_1"),
                retry_after: at,
            },
            Error::RegistrationIncomplete {
                missing: vec![RegistrationField::FirstName, RegistrationField::TwoFactor],
            },
            Error::EmailMismatch {
                invited: "a@x.test".into(),
                presented: "b@x.test".into(),
            },
            Error::conflict("the last owner"),
            Error::UnknownGroup {
                group: GroupId::from("grp_1"),
            },
            Error::RetriesExhausted { attempts: 6 },
            Error::CustomPermissionDenied {
                actor: "mem_1".into(),
                permission: "billing:manage".into(),
            },
            Error::AccessCodeNotKept {
                invitation: InvitationId::from("inv_1"),
                key_configured: false,
            },
            Error::Store(StoreError::Unique(UniqueRule::MemberUserRef)),
            Error::Store(StoreError::SchemaTooNew {
                found: 9,
                supported: 2,
            }),
            Error::Store(StoreError::Unavailable("down".into())),
            Error::Mail(MailError::Permanent("no such mailbox".into())),
            Error::ConfirmationMismatch,
            Error::HookRefused {
                reason: "not during the freeze".into(),
            },
            Error::LinkUrlNotKept {
                link: LinkId::from("lnk_1"),
                key_configured: true,
            },
            Error::LinkExpired {
                link: LinkId::from("lnk_1"),
                expired_at: at,
            },
        ]
    }

    /// Whether `value` is a wire name of the enum called `name`.
    fn is_wire_name(name: &str, value: &str) -> bool {
        fn of<T: Serialize + Copy>(all: &[T], value: &str) -> bool {
            all.iter()
                .any(|v| serde_json::to_value(v).ok() == Some(Value::String(value.to_owned())))
        }
        match name {
            "LimitKind" => of(
                &[LimitKind::BatchSize, LimitKind::Seats, LimitKind::ResendCap],
                value,
            ),
            "Permission" => of(&Permission::ALL, value),
            "Feature" => of(&Feature::ALL, value),
            "EntityKind" => of(&EntityKind::ALL, value),
            "InvitationStatus" => of(
                &[
                    InvitationStatus::Staged,
                    InvitationStatus::Pending,
                    InvitationStatus::Accepted,
                    InvitationStatus::Declined,
                    InvitationStatus::Revoked,
                    InvitationStatus::Expired,
                ],
                value,
            ),
            "RegistrationField" => of(&RegistrationField::ALL, value),
            "UniqueRule" => of(&UniqueRule::ALL, value),
            other => panic!("a fact names the enum {other}, unknown to this test"),
        }
    }

    fn fact_fits(fact: &Fact, value: &Value) -> bool {
        match (fact.kind, value) {
            (_, Value::Null) => fact.optional,
            (FactKind::Text | FactKind::Id, Value::String(_)) => true,
            (FactKind::Time, Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
            (FactKind::Count, Value::Number(n)) => n.is_u64(),
            (FactKind::Flag, Value::Bool(_)) => true,
            (FactKind::Enum(name), Value::String(s)) => is_wire_name(name, s),
            (FactKind::EnumList(name), Value::Array(items)) => items
                .iter()
                .all(|i| i.as_str().is_some_and(|s| is_wire_name(name, s))),
            _ => false,
        }
    }

    #[test]
    fn every_code_is_sampled_and_its_facts_match_the_catalogue() {
        let samples = samples();
        for code in ErrorCode::ALL {
            assert!(
                samples.iter().any(|e| e.error_code() == code),
                "no sample of {code}"
            );
        }
        for e in &samples {
            let code = e.error_code();
            assert_eq!(e.code(), code.as_str());
            assert_eq!(e.family(), code.family());
            let facts = e.facts();
            let names: Vec<&str> = facts.keys().map(String::as_str).collect();
            let mut expected: Vec<&str> = code.facts().iter().map(|f| f.name).collect();
            expected.sort_unstable();
            assert_eq!(names, expected, "facts of {code}");
            for fact in code.facts() {
                let value = &facts[fact.name];
                assert!(fact_fits(fact, value), "{code}.{}: {value}", fact.name);
            }
        }
    }

    #[test]
    fn errors_serialize_as_code_family_message_and_facts() {
        let e = Error::InvitationNotOpen {
            invitation: InvitationId::from("inv_1"),
            status: InvitationStatus::Accepted,
        };
        let v = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({
                "code": "invitation_not_open",
                "family": "conflict",
                "message": "invitation inv_1 is accepted, not open",
                "facts": {"invitation": "inv_1", "status": "accepted"},
            })
        );
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let e = Error::InvitationExpired {
            invitation: InvitationId::from("inv_1"),
            expired_at: at,
        };
        assert_eq!(e.facts()["expired_at"], "2023-11-14T22:13:20Z");
    }

    #[test]
    fn wire_names_are_what_serde_writes() {
        fn check<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(
            all: &[T],
            name: impl Fn(&T) -> &'static str,
        ) {
            for v in all {
                let wire = Value::String(name(v).to_owned());
                assert_eq!(serde_json::to_value(v).ok(), Some(wire.clone()));
                assert_eq!(serde_json::from_value::<T>(wire).ok().as_ref(), Some(v));
            }
        }
        check(&Feature::ALL, Feature::as_str);
        check(&RegistrationField::ALL, RegistrationField::as_str);
        check(&EntityKind::ALL, EntityKind::as_str);
        check(&UniqueRule::ALL, UniqueRule::as_str);
        check(&ErrorCode::ALL, ErrorCode::as_str);
        let mut codes: Vec<&str> = ErrorCode::ALL.iter().map(ErrorCode::as_str).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorCode::ALL.len(), "codes are distinct");
    }

    /// The row of the book's table for `code`, from `Facts` on.
    fn book_row(code: ErrorCode) -> String {
        let facts: Vec<String> = code
            .facts()
            .iter()
            .map(|f| {
                let kind = match f.kind {
                    FactKind::Text => "Text".to_owned(),
                    FactKind::Id => "Id".to_owned(),
                    FactKind::Time => "Time".to_owned(),
                    FactKind::Count => "Count".to_owned(),
                    FactKind::Flag => "Flag".to_owned(),
                    FactKind::Enum(name) => name.to_owned(),
                    FactKind::EnumList(name) => format!("[{name}]"),
                };
                let opt = if f.optional { "?" } else { "" };
                format!("`{}{opt}: {kind}`", f.name)
            })
            .collect();
        format!(
            "`{}` | `{:?}` | {}",
            code.as_str(),
            code.family(),
            facts.join(", ")
        )
    }

    #[test]
    fn the_books_catalogue_matches_the_code() {
        let book = include_str!("../../docs/src/concepts/errors.md");
        // | Variant | code | family | facts | when |: compare code..facts.
        let rows: Vec<String> = book
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                cells.get(2..5).map(|c| c.join(" | ")).unwrap_or_default()
            })
            .collect();
        let expected: Vec<String> = ErrorCode::ALL.into_iter().map(book_row).collect();
        assert!(
            rows == expected,
            "docs/src/concepts/errors.md drifted from ErrorCode: its rows should read (code | family | facts)\n{}",
            expected.join("\n")
        );
    }
}

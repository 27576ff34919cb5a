//! Issuing invitations: batches from a paste or a list, with a report of
//! what was issued and what was rejected; sending staged ones; resending,
//! revoking and expiring.

use super::render::InvitationEmail;
use super::{
    Auth, Ctx, Enlist, MAX_EMAIL_FIELD_BYTES, MAX_GRANTS, MAX_IDENTIFIER_CHARS, MAX_IDS,
    MAX_KEY_BYTES, MAX_LABEL_CHARS, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, check_bytes,
    check_max_bytes, clean_label, clean_line, clean_text, csv_row, identifier_key,
};
use crate::email::{AddressError, AddressWarning, EntryOutcome, parse_address, parse_recipients};
use crate::error::{EntityKind, Error, Feature, LimitKind, Result};
use crate::event::{Actor, EventKind};
use crate::group::GroupGrant;
use crate::id::{BatchId, InvitationId, MemberId, MessageId, OrgId};
use crate::invitation::{Invitation, InvitationStatus, SecretLookup, StoredInvitation};
use crate::member::{Contact, MemberKind};
use crate::organization::Organization;
use crate::outbox::{OutboxMessage, OutboxStatus};
use crate::policy::DEFAULT_LICENSE;
use crate::role::{GroupRole, Permission};
use crate::secret::{
    CodeHasher, Secret, SecretHash, new_access_code, new_invitation_token, new_token,
};
use crate::text::Text;
use serde::{Deserialize, Serialize};
// The batch's own sets (recipients seen, grants checked): foldhash, as the
// paste's parser uses; a batch's size is bounded by the policy before any
// key is hashed.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Who to invite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "value")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Recipients {
    /// Text pasted or typed through the library API: any length up to the
    /// batch limit.
    Paste(#[cfg_attr(feature = "uniffi", uniffi(name = "text"))] String),
    /// The content of a form's recipients field: also held to the policy's
    /// `max_paste_field_chars`.
    FormField(#[cfg_attr(feature = "uniffi", uniffi(name = "text"))] String),
    /// Structured rows (from an HR system, an import file, a form with one
    /// row per person), each possibly with its own role, groups and kind.
    // `List` would shadow Kotlin's own.
    #[cfg_attr(feature = "uniffi", uniffi(name = "Rows"))]
    List(#[cfg_attr(feature = "uniffi", uniffi(name = "rows"))] Vec<RecipientInput>),
}

/// One structured recipient. `None` fields take the batch's values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct RecipientInput {
    /// An email address, bare or as `Name <address>`.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub email: Option<String>,
    /// An identifier (phone, personnel number, ...) for people without
    /// email: they get an access code instead of a link.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub identifier: Option<String>,
    /// The name to greet them with.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub display_name: Option<String>,
    /// First name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub first_name: Option<String>,
    /// Last name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub last_name: Option<String>,
    /// Their own role.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// Their own kind.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub kind: Option<MemberKind>,
    /// Their own groups.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub groups: Option<Vec<GroupGrant>>,
    /// Their own license type.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub license_type: Option<String>,
    /// Their attributes (`department`, `job_title`, ...), added to the
    /// batch's; they become the member's on accepting.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub attributes: crate::member::Attributes,
    /// The language of their email (a BCP 47 tag), instead of the batch's.
    /// An unusable tag rejects the row ([`RejectReason::InvalidField`]).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub locale: Option<String>,
    /// Their invitation's own lifetime in seconds, instead of the batch's;
    /// outside the policy's bounds it rejects the row
    /// ([`RejectReason::LifetimeOutOfBounds`]).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lifetime_secs: Option<u64>,
    /// An existing account of the host application (its `user_ref`) the
    /// invitation is for [Keycloak `inviteExistingUser`]: only that
    /// account may accept or decline it, it shows in that account's inbox
    /// ([`Enlist::invitations_for`](crate::Enlist::invitations_for)), and
    /// a member with this `user_ref` is already a member. With an email,
    /// the email is sent there as usual; with neither email nor
    /// identifier, nothing is sent: the person sees it in the app.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub user_ref: Option<String>,
}

impl RecipientInput {
    /// A recipient by email.
    pub fn email(email: impl Into<String>) -> Self {
        Self {
            email: Some(email.into()),
            ..Self::default()
        }
    }

    /// A recipient by identifier.
    pub fn identifier(identifier: impl Into<String>) -> Self {
        Self {
            identifier: Some(identifier.into()),
            ..Self::default()
        }
    }

    /// An existing account of the host application, by its `user_ref`,
    /// reached in the app only (no email): see [`RecipientInput::user_ref`].
    pub fn account(user_ref: impl Into<String>) -> Self {
        Self {
            user_ref: Some(user_ref.into()),
            ..Self::default()
        }
    }

    /// Binds this recipient to an existing account (its `user_ref`).
    pub fn for_account(mut self, user_ref: impl Into<String>) -> Self {
        self.user_ref = Some(user_ref.into());
        self
    }
}

/// The setters shared by [`InviteRequest`] and
/// [`ImportDefaults`](super::ImportDefaults): role, kind, groups, license
/// type, personal message, staged.
macro_rules! invite_option_setters {
    () => {
        /// Sets the role.
        pub fn role(mut self, role: impl Into<String>) -> Self {
            self.role = Some(role.into());
            self
        }

        /// Sets the kind (member or guest).
        pub fn kind(mut self, kind: MemberKind) -> Self {
            self.kind = kind;
            self
        }

        /// Sets the groups, with their group roles.
        pub fn groups(mut self, groups: Vec<GroupGrant>) -> Self {
            self.groups = groups;
            self
        }

        /// Sets the license type.
        pub fn license_type(mut self, lt: impl Into<String>) -> Self {
            self.license_type = Some(lt.into());
            self
        }

        /// Sets the personal message.
        pub fn message(mut self, m: impl Into<String>) -> Self {
            self.message = Some(m.into());
            self
        }

        /// Saves the invitations without sending them ("Save User" rather
        /// than "Save & Send"; send later with
        /// [`Enlist::send_staged`](crate::Enlist::send_staged)).
        pub fn staged(mut self) -> Self {
            self.send = false;
            self
        }
    };
}
pub(crate) use invite_option_setters;

/// An invitation batch: recipients and what they all get.
///
/// In Kotlin and Swift `kind` is required (uniffi cannot default an enum
/// field): `kind = MemberKind.MEMBER` is Rust's default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[non_exhaustive]
pub struct InviteRequest {
    /// Who.
    pub recipients: Recipients,
    /// Member or guest.
    pub kind: MemberKind,
    /// The organization role (default: `member`, or `guest` for guests).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// Groups with group roles. Empty: the default group on acceptance
    /// (guests join only the groups they are invited to).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub groups: Vec<GroupGrant>,
    /// License type (default [`DEFAULT_LICENSE`]).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub license_type: Option<String>,
    /// A personal message for the email.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub message: Option<String>,
    /// The language of the invitation email (a BCP 47 tag such as `fr` or
    /// `fr-CA`, see [`normalize_locale`](crate::normalize_locale));
    /// default: the organization's default locale.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub locale: Option<String>,
    /// `true` (default): send now. `false`: save as staged, to be sent later
    /// with [`Enlist::send_staged`] ("Save User" rather than "Save & Send").
    #[cfg_attr(feature = "uniffi", uniffi(default = true))]
    pub send: bool,
    /// `true` (default). `false`: the people are saved with "Active"
    /// unchecked (seed 004): staged and inactive, not sent until someone
    /// activates them ([`Enlist::update_staged_invitation`] with
    /// `active: Some(true)`) and sends them ([`Enlist::send_staged`]).
    /// Needs `send: false` (see [`InviteRequest::inactive`]).
    #[serde(default = "crate::invitation::yes")]
    #[cfg_attr(feature = "uniffi", uniffi(default = true))]
    pub active: bool,
    /// Attributes every recipient gets (`department`, ...); a row's own
    /// attributes win key by key.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub attributes: crate::member::Attributes,
    /// The invitations' own lifetime, in seconds [Clerk `expires_in_days`,
    /// Auth0 `ttl_sec`]: within the policy's `min_invitation_lifetime_secs`
    /// and `max_invitation_lifetime_secs` (else the batch fails, nothing
    /// written); kept on each invitation, so a resend renews it by the
    /// same. `None`: the policy's `invitation_lifetime_secs`.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lifetime_secs: Option<u64>,
    /// Where the application sends the invitee after accepting [Clerk
    /// `redirect_url`]: under one of the host's
    /// [`EngineConfig::allowed_redirect_urls`](crate::EngineConfig::allowed_redirect_urls)
    /// (see [`check_redirect_url`](crate::check_redirect_url)), else the
    /// batch fails.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub redirect_url: Option<String>,
    /// Metadata every invitation carries, shown to the invitee and copied
    /// onto the member [Clerk `public_metadata`].
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub public_metadata: Option<crate::metadata::Metadata>,
    /// Metadata every invitation carries, copied onto the member but never
    /// shown to the invitee [Clerk `private_metadata`, Auth0
    /// `app_metadata`].
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub private_metadata: Option<crate::metadata::Metadata>,
}

impl InviteRequest {
    /// A request with the defaults: member role, no groups, send now.
    pub fn new(recipients: Recipients) -> Self {
        Self {
            recipients,
            role: None,
            kind: MemberKind::Member,
            groups: Vec::new(),
            license_type: None,
            message: None,
            locale: None,
            send: true,
            active: true,
            attributes: crate::member::Attributes::new(),
            lifetime_secs: None,
            redirect_url: None,
            public_metadata: None,
            private_metadata: None,
        }
    }

    invite_option_setters!();

    /// Saves the people with "Active" unchecked (seed 004): staged and
    /// inactive until activated and sent.
    pub fn inactive(mut self) -> Self {
        self.active = false;
        self.send = false;
        self
    }

    /// Sets the attributes every recipient gets.
    pub fn attributes(mut self, attributes: crate::member::Attributes) -> Self {
        self.attributes = attributes;
        self
    }

    /// Sets the language of the invitation email.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// Sets the invitations' own lifetime, in seconds.
    pub fn lifetime_secs(mut self, secs: u64) -> Self {
        self.lifetime_secs = Some(secs);
        self
    }

    /// Sets where the invitee goes after accepting.
    pub fn redirect_url(mut self, url: impl Into<String>) -> Self {
        self.redirect_url = Some(url.into());
        self
    }

    /// Sets the public metadata.
    pub fn public_metadata(mut self, m: crate::metadata::Metadata) -> Self {
        self.public_metadata = Some(m);
        self
    }

    /// Sets the private metadata.
    pub fn private_metadata(mut self, m: crate::metadata::Metadata) -> Self {
        self.private_metadata = Some(m);
        self
    }
}

/// A request's per-invitation settings, checked outside any transaction
/// (by [`Enlist::invite`] and its dry run alike).
#[derive(Clone)]
pub(crate) struct BatchSettings {
    pub(crate) locale: Option<String>,
    pub(crate) redirect_url: Option<String>,
    pub(crate) public_metadata: crate::metadata::Metadata,
    pub(crate) private_metadata: crate::metadata::Metadata,
}

impl BatchSettings {
    /// Checks the request's locale, lifetime (against the absolute bound;
    /// the organization's bounds are checked in the transaction), redirect
    /// URL (against the host's allowlist) and metadata.
    pub(crate) fn of(config: &super::EngineConfig, req: &InviteRequest) -> Result<Self> {
        let locale = req
            .locale
            .as_deref()
            .map(crate::template::normalize_locale)
            .transpose()?;
        super::settings::bound_lifetime("lifetime_secs", req.lifetime_secs)?;
        let redirect_url = req
            .redirect_url
            .as_deref()
            .map(|u| {
                super::settings::check_redirect_url(
                    "redirect_url",
                    u,
                    &config.allowed_redirect_urls,
                )
            })
            .transpose()?;
        let (public_metadata, private_metadata) = super::settings::check_metadata(
            req.public_metadata.as_ref(),
            req.private_metadata.as_ref(),
        )?;
        Ok(Self {
            locale,
            redirect_url,
            public_metadata,
            private_metadata,
        })
    }
}

/// Why one recipient got no invitation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "code")]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum RejectReason {
    /// Neither an email nor an identifier (an HR record without email).
    MissingContact,
    /// Not a valid address.
    InvalidAddress {
        /// Why.
        error: AddressError,
    },
    /// Not a usable identifier.
    InvalidIdentifier {
        /// Why.
        reason: String,
    },
    /// A name or field of the row is unusable.
    InvalidField {
        /// What is wrong.
        reason: String,
    },
    /// The same person appears earlier in the batch.
    DuplicateInBatch {
        /// The index of the first appearance.
        first_index: usize,
    },
    /// Already a member (whatever the groups).
    AlreadyMember {
        /// The member.
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
    },
    /// Already has an open invitation.
    AlreadyInvited {
        /// The invitation.
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
    },
    /// The domain is not in the organization's allowed domains.
    DomainNotAllowed {
        /// The domain.
        domain: String,
    },
    /// No seat of the license type is left.
    NoSeatLeft {
        /// The license type.
        license_type: String,
        /// Its limit.
        limit: u32,
    },
    /// Guests are disabled by the policy.
    GuestsDisabled,
    /// A group named in an import file does not exist in the organization.
    UnknownGroup {
        /// The name as written.
        name: String,
    },
    /// The row's own lifetime is outside the policy's bounds.
    LifetimeOutOfBounds {
        /// The lifetime asked for, in seconds.
        lifetime_secs: u64,
        /// The policy's `min_invitation_lifetime_secs`.
        min_secs: u64,
        /// The policy's `max_invitation_lifetime_secs`.
        max_secs: u64,
    },
    /// The inviter already has the policy's
    /// `max_open_invitations_per_inviter` open invitations.
    InviterLimitReached {
        /// The limit.
        limit: u32,
    },
    /// The host's before-hook refused this recipient
    /// ([`Hooks::before`](crate::Hooks::before)); nothing of it was written.
    RefusedByHook {
        /// Why, as the hook says it.
        reason: String,
    },
}

impl RejectReason {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            RejectReason::MissingContact => "missing_contact",
            RejectReason::InvalidAddress { .. } => "invalid_address",
            RejectReason::InvalidIdentifier { .. } => "invalid_identifier",
            RejectReason::InvalidField { .. } => "invalid_field",
            RejectReason::DuplicateInBatch { .. } => "duplicate_in_batch",
            RejectReason::AlreadyMember { .. } => "already_member",
            RejectReason::AlreadyInvited { .. } => "already_invited",
            RejectReason::DomainNotAllowed { .. } => "domain_not_allowed",
            RejectReason::NoSeatLeft { .. } => "no_seat_left",
            RejectReason::GuestsDisabled => "guests_disabled",
            RejectReason::UnknownGroup { .. } => "unknown_group",
            RejectReason::LifetimeOutOfBounds { .. } => "lifetime_out_of_bounds",
            RejectReason::InviterLimitReached { .. } => "inviter_limit_reached",
            RejectReason::RefusedByHook { .. } => "refused_by_hook",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReason::MissingContact => f.write_str("no email address or identifier on file"),
            RejectReason::InvalidAddress { error } => write!(f, "invalid address: {error}"),
            RejectReason::InvalidIdentifier { reason } => write!(f, "invalid identifier: {reason}"),
            RejectReason::InvalidField { reason } => f.write_str(reason),
            RejectReason::DuplicateInBatch { first_index } => {
                write!(f, "duplicate of recipient #{}", first_index + 1)
            }
            RejectReason::AlreadyMember { .. } => {
                f.write_str("already a member of the organization")
            }
            RejectReason::AlreadyInvited { .. } => f.write_str("already has a pending invitation"),
            RejectReason::DomainNotAllowed { domain } => {
                write!(f, "the domain {domain} is not allowed")
            }
            RejectReason::NoSeatLeft {
                license_type,
                limit,
            } => write!(f, "no {license_type} seat left (limit {limit})"),
            RejectReason::GuestsDisabled => f.write_str("guest invitations are disabled"),
            RejectReason::UnknownGroup { name } => {
                write!(f, "no group named {name:?} in the organization")
            }
            RejectReason::LifetimeOutOfBounds {
                lifetime_secs,
                min_secs,
                max_secs,
            } => write!(
                f,
                "a lifetime of {lifetime_secs} seconds is outside the organization's bounds ({min_secs} to {max_secs} seconds)"
            ),
            RejectReason::InviterLimitReached { limit } => write!(
                f,
                "the inviter already has {limit} open invitations, the organization's limit per inviter"
            ),
            RejectReason::RefusedByHook { reason } => write!(f, "refused by the service: {reason}"),
        }
    }
}

/// An invitation issued in a batch (or resent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct IssuedInvitation {
    /// The recipient's position in the input (0-based).
    pub index: usize,
    /// The invitation.
    pub invitation: Invitation,
    /// The secret, returned this once: the accept token for email
    /// invitations, the access code for identifier invitations; `None` for
    /// staged ones.
    pub secret: Option<Secret>,
    /// The queued email, for email invitations that were sent.
    pub message_id: Option<MessageId>,
    /// What the address parser flagged about this recipient's address
    /// ([`AddressWarning::Confusable`] look-alikes, internationalized parts),
    /// for a form to show next to it; empty for identifiers, and for
    /// [`Enlist::resend`] and [`Enlist::send_staged`], which do not parse
    /// the address again.
    #[serde(default)]
    pub warnings: Vec<AddressWarning>,
}

/// A recipient that got no invitation (in Kotlin and Swift, `code()` and
/// `message()` read its reason).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RejectedRecipient {
    /// The recipient's position in the input (0-based).
    pub index: usize,
    /// The recipient as given.
    pub input: String,
    /// Why.
    pub reason: RejectReason,
}

/// The outcome of a batch: one row per recipient, either issued or
/// rejected, in input order within each list (in Kotlin and Swift,
/// `csv()` is [`InviteReport::to_csv`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InviteReport {
    /// The batch.
    pub batch_id: BatchId,
    /// Invitations issued ("Invitations to send").
    pub issued: Vec<IssuedInvitation>,
    /// Recipients rejected ("Invitation errors").
    pub rejected: Vec<RejectedRecipient>,
}

impl InviteReport {
    /// Recipients in the input.
    pub fn total(&self) -> usize {
        self.issued.len() + self.rejected.len()
    }

    /// The report as CSV
    /// (`index,recipient,status,invitation_id,reason_code,reason,warnings`),
    /// for a "Download report" button; `warnings` holds the codes of
    /// [`IssuedInvitation::warnings`], separated by spaces. Holds no secrets.
    pub fn to_csv(&self) -> String {
        let mut rows: Vec<(usize, String)> = Vec::with_capacity(self.total());
        for i in &self.issued {
            rows.push((
                i.index,
                csv_row(&[
                    &i.index.to_string(),
                    i.invitation.recipient.as_str(),
                    i.invitation.status.as_str(),
                    i.invitation.id.as_str(),
                    "",
                    "",
                    &i.warnings
                        .iter()
                        .map(AddressWarning::code)
                        .collect::<Vec<_>>()
                        .join(" "),
                ]),
            ));
        }
        for r in &self.rejected {
            rows.push((
                r.index,
                csv_row(&[
                    &r.index.to_string(),
                    &r.input,
                    "rejected",
                    "",
                    r.reason.code(),
                    &r.reason.to_string(),
                    "",
                ]),
            ));
        }
        rows.sort_by_key(|r| r.0);
        let mut out =
            String::from("index,recipient,status,invitation_id,reason_code,reason,warnings\n");
        for (_, r) in rows {
            out.push_str(&r);
            out.push('\n');
        }
        out
    }
}

/// What happened to one invitation of a [`Enlist::send_staged`] call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case", tag = "outcome")]
#[allow(
    clippy::large_enum_variant,
    reason = "unboxed so that Kotlin and Swift take this enum as it is (a uniffi enum cannot box a variant's record); a report holds one per invitation asked for"
)]
pub enum SendOutcome {
    /// Sent.
    Sent {
        /// The invitation, with its secret.
        #[serde(flatten)]
        issued: IssuedInvitation,
    },
    /// Not sent.
    Failed {
        /// The invitation.
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        /// Why (a stable code and message).
        code: String,
        /// The message.
        message: String,
    },
}

/// The outcome of sending staged invitations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[non_exhaustive]
pub struct SendReport {
    /// One entry per invitation asked for, in order.
    pub results: Vec<SendOutcome>,
    /// The id this call's report is kept under
    /// ([`Enlist::batch_report`]); `None` only in a value built by hand.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub batch_id: Option<BatchId>,
}

/// Who sends invitations out, and where: what every issuing step (a
/// batch's [`Ctx::issue`], [`Enlist::send_staged`], [`Enlist::resend`])
/// carries together.
struct Issuer<'a> {
    org: &'a Organization,
    actor: &'a Actor,
    /// The actor in `org`: a new invitation's inviter, and whose
    /// permissions decide what may be sent.
    auth: &'a Auth,
    /// The names the emails show: the organization's, the product's and
    /// who the email says invites (the acting member for a new or staged
    /// invitation, the original inviter on a resend).
    names: super::render::Names,
    /// The same person's email address (the email's `Reply-To` when the
    /// policy's `reply_to_inviter` allows).
    inviter_email: Option<String>,
}

impl<'a> Issuer<'a> {
    /// The actor issues in their own name.
    fn acting(
        org: &'a Organization,
        config: &super::EngineConfig,
        actor: &'a Actor,
        auth: &'a Auth,
    ) -> Self {
        let inviter = auth.member.as_ref().map(|m| m.display_name());
        Self {
            org,
            actor,
            auth,
            names: super::render::Names::new(org, config, inviter.as_deref()),
            inviter_email: auth
                .member
                .as_ref()
                .and_then(|m| m.contact.email().map(str::to_owned)),
        }
    }
}

/// What the invitations of one batch share: its id, the personal message,
/// and whether they go out now or are staged.
struct BatchTerms {
    id: BatchId,
    message: Option<String>,
    /// Locale, lifetime, redirect URL and metadata.
    settings: BatchSettings,
    send: bool,
    /// `false`: saved with "Active" unchecked (staged only).
    active: bool,
}

/// Where the seats of a batch's earlier invitations are: written to the
/// store by the real command, or only planned by a dry run.
pub(crate) enum Seats<'p> {
    /// The real command: each issued invitation is in the store, which
    /// counts it; expiries found on the way are persisted.
    Written,
    /// A dry run: nothing is written; the plan counts what would be.
    Planned(&'p mut Plan),
}

/// What a dry run would have written so far (nothing of it is): the seats
/// its would-be invitations take per license type (across the batches of
/// an import), and the seats past-due invitations would release.
#[derive(Default)]
pub(crate) struct Plan {
    seats: HashMap<Text, u64>,
    due: Option<HashMap<Text, u64>>,
    /// The batch being evaluated (of an import's batches).
    pub(crate) batch: usize,
    /// The recipients earlier batches would invite: `(batch, index)` of
    /// each, by recipient key.
    keys: HashMap<Text, (usize, usize)>,
    /// Rows that repeat a recipient an earlier batch would invite (the real
    /// import finds that invitation): `(batch, index)` of the repeat, then
    /// of the first.
    pub(crate) repeats: Vec<((usize, usize), (usize, usize))>,
    /// Invitations the actor would issue (against the policy's
    /// `max_open_invitations_per_inviter`).
    by_inviter: u64,
}

/// A recipient after parsing, before the checks against the store.
pub(crate) struct Candidate {
    pub(crate) index: usize,
    pub(crate) input: String,
    pub(crate) contact: Contact,
    pub(crate) key: Text,
    pub(crate) display_name: Option<String>,
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) role: Text,
    pub(crate) kind: MemberKind,
    pub(crate) groups: Vec<GroupGrant>,
    pub(crate) license_type: Text,
    /// The parser's warnings about the address.
    pub(crate) warnings: Vec<AddressWarning>,
    /// The batch's attributes with the row's over them.
    pub(crate) attributes: crate::member::Attributes,
    /// The row's locale, else the batch's.
    pub(crate) locale: Option<String>,
    /// The row's lifetime, else the batch's (within the policy's bounds).
    pub(crate) lifetime_secs: Option<u64>,
    /// Who invites: the acting member (`None`: the system).
    pub(crate) inviter: Option<MemberId>,
    /// The account the invitation is bound to.
    pub(crate) user_ref: Option<String>,
}

impl Candidate {
    /// The domain of an email recipient, lowercase and IDNA-encoded: its
    /// key's, which ends in `@` and that domain (the parser's
    /// `ascii_domain`; a quoted local part may hold an `@`, a domain
    /// never does).
    fn ascii_domain(&self) -> Option<&str> {
        match self.contact {
            Contact::Email(_) => self.key.rsplit_once('@').map(|(_, d)| d),
            Contact::Identifier(_) | Contact::Account(_) => None,
        }
    }
}

/// Distinct groups one batch may name (each is looked up once).
const MAX_BATCH_GROUPS: usize = 1000;

/// A recipient's contact after parsing: what the store checks need.
#[derive(Clone)]
struct Recipient {
    contact: Contact,
    key: Text,
    display_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// The parser's warnings about the address.
    warnings: Vec<AddressWarning>,
    /// The account the invitation is bound to.
    user_ref: Option<String>,
}

/// One entry of a batch after the checks that need no store.
#[derive(Clone)]
struct PreparedRow {
    index: usize,
    input: String,
    role: Option<String>,
    kind: Option<MemberKind>,
    groups: Option<Vec<GroupGrant>>,
    license_type: Option<String>,
    /// The row's own attributes, cleaned.
    attributes: crate::member::Attributes,
    /// The row's own locale, normalized, and lifetime.
    locale: Option<String>,
    lifetime_secs: Option<u64>,
    /// The recipient, or why it is rejected whatever the store holds
    /// (unusable field, invalid address or identifier, duplicate in the
    /// batch).
    recipient: std::result::Result<Recipient, RejectReason>,
}

impl PreparedRow {
    /// A pasted entry's row: nothing but its recipient (a paste gives no
    /// role, groups or settings of its own).
    fn pasted(
        index: usize,
        input: String,
        recipient: std::result::Result<Recipient, RejectReason>,
    ) -> Self {
        PreparedRow {
            index,
            input,
            role: None,
            kind: None,
            groups: None,
            license_type: None,
            attributes: crate::member::Attributes::new(),
            locale: None,
            lifetime_secs: None,
            recipient,
        }
    }
}

/// The size of a batch as given, checked against the policy before it is
/// parsed and again in the write transaction (the policy may change in
/// between).
#[derive(Clone, Copy)]
struct BatchSize {
    /// Bytes of a paste (0 for a list).
    bytes: u64,
    /// Characters of a form field, if the batch is one.
    form_chars: Option<u64>,
    /// Entries: a paste's fragments or a list's rows.
    entries: u64,
}

impl BatchSize {
    /// The byte and character limits (known before counting entries).
    fn check_bytes(&self, p: &crate::Policy) -> Result<()> {
        if let Some(n) = self.form_chars {
            if n > u64::from(p.max_paste_field_chars) {
                return Err(Error::LimitExceeded {
                    limit: LimitKind::PasteFieldChars,
                    max: u64::from(p.max_paste_field_chars),
                    actual: n,
                    detail: None,
                });
            }
        }
        if self.bytes > p.max_recipient_bytes() {
            return Err(Error::LimitExceeded {
                limit: LimitKind::RecipientBytes,
                max: p.max_recipient_bytes(),
                actual: self.bytes,
                detail: Some("split the list into several batches".into()),
            });
        }
        Ok(())
    }

    fn check(&self, p: &crate::Policy) -> Result<()> {
        self.check_bytes(p)?;
        if self.entries > p.max_recipient_entries() {
            return Err(Error::LimitExceeded {
                limit: LimitKind::RecipientEntries,
                max: p.max_recipient_entries(),
                actual: self.entries,
                detail: Some("split the list into several batches".into()),
            });
        }
        Ok(())
    }
}

/// A batch bounded and parsed outside any transaction.
#[derive(Clone)]
pub(crate) struct PreparedBatch {
    size: BatchSize,
    /// The batch's license type, cleaned.
    license_type: Option<String>,
    /// The batch's attributes, cleaned.
    attributes: crate::member::Attributes,
    rows: Vec<PreparedRow>,
}

/// What to do about too many staged invitations in one call.
const SEND_STAGED_SPLIT: &str = "send staged invitations in several calls";

/// Refuses more than `max` recipients or invitations in one call
/// ([`LimitKind::BatchSize`]); `advice` says what to do instead.
fn check_batch_size(actual: usize, max: u64, advice: &str) -> Result<()> {
    let actual = actual as u64;
    if actual > max {
        return Err(Error::LimitExceeded {
            limit: LimitKind::BatchSize,
            max,
            actual,
            detail: Some(advice.into()),
        });
    }
    Ok(())
}

/// Bounds the role and groups a request or a row names.
pub(super) fn check_grants_and_role(
    role: Option<&str>,
    groups: Option<&[GroupGrant]>,
) -> Result<()> {
    if let Some(r) = role {
        check_max_bytes("role", r, MAX_KEY_BYTES)?;
    }
    if let Some(groups) = groups {
        if groups.len() > MAX_GRANTS {
            return Err(Error::invalid(
                "groups",
                format!("at most {MAX_GRANTS} groups per invitation"),
            ));
        }
        for g in groups {
            check_max_bytes("group_id", g.group_id.as_str(), MAX_KEY_BYTES)?;
        }
    }
    Ok(())
}

/// Whether the actor may invite anyone at all in this organization: the
/// cheap check made before a batch is read. [`authorize_invite`] decides
/// each role and group later.
pub(crate) fn may_invite_at_all(o: &Organization, auth: &Auth) -> Result<()> {
    if auth.is_guest() {
        return Err(auth.deny(Permission::InviteMembers, "guests cannot invite"));
    }
    if auth.has(Permission::InviteMembers) || auth.has(Permission::InviteGuests) {
        return Ok(());
    }
    if let Some(m) = &auth.member {
        if o.policy.members_can_invite
            || (o.policy.group_owners_can_invite
                && m.groups.iter().any(|g| g.role == GroupRole::Owner))
        {
            return Ok(());
        }
    }
    Err(auth.deny(
        Permission::InviteMembers,
        if auth.member.is_none() {
            "only members may invite"
        } else if o.policy.group_owners_can_invite {
            "the policy lets group owners invite only into groups they own"
        } else {
            "only administrators may invite in this organization"
        },
    ))
}

/// Bounds the request against `policy` and parses it: every check that
/// needs no store, made outside any transaction. A paste's bytes are
/// checked before its fragments are counted, and its fragments (one pass,
/// no allocation) before it is parsed; a list's rows and each of their
/// fields are bounded before any is read.
pub(crate) fn prepare_batch(policy: &crate::Policy, req: &InviteRequest) -> Result<PreparedBatch> {
    check_grants_and_role(req.role.as_deref(), Some(&req.groups))?;
    let attributes = super::attributes::clean_attributes(&req.attributes)?;
    let license_type = req
        .license_type
        .as_deref()
        .map(|lt| clean_label("license_type", lt))
        .transpose()?;
    let mut rows = Vec::new();
    let size = match &req.recipients {
        Recipients::FormField(text) | Recipients::Paste(text) => {
            let form = matches!(&req.recipients, Recipients::FormField(_));
            let bytes = text.len() as u64;
            let mut size = BatchSize {
                bytes,
                form_chars: None,
                entries: 0,
            };
            if form {
                // A character is at most 4 bytes: a field this long in
                // bytes need not be counted.
                let max = u64::from(policy.max_paste_field_chars);
                size.form_chars = Some(if bytes > max.saturating_mul(4) {
                    bytes
                } else {
                    text.chars().count() as u64
                });
            }
            size.check_bytes(policy)?;
            #[cfg(test)]
            tests::note_parse();
            size.entries = crate::email::count_entries(text) as u64;
            size.check(policy)?;
            // Bounded by the policy just above.
            rows.reserve(size.entries as usize);
            // Repeats as the parser marked them (`repeat_of`): what a map
            // of every key taken gave, without one.
            let mut taken_for: HashMap<usize, usize> = HashMap::default();
            for (index, e) in parse_recipients(text).entries.into_iter().enumerate() {
                let input = e.text.into_owned();
                // The mailbox borrows the paste: the row's texts are made
                // from it once, with no owned copy of the mailbox between.
                let (recipient, first) = match e.outcome {
                    EntryOutcome::Valid(m) => (Ok(m), None),
                    EntryOutcome::Duplicate { mailbox: m, first } => (Ok(m), Some(first)),
                    EntryOutcome::Invalid { error } => (Err(error), None),
                };
                // The entry's text lent to the row and taken back: one
                // copy of it, not two.
                let mut row = RecipientInput {
                    email: Some(input),
                    ..RecipientInput::default()
                };
                let mut recipient = prepare_recipient(&row, Some(recipient), index, None);
                if let (Ok(_), Some(first)) = (&recipient, first) {
                    if let Some(first_index) = repeat_of(&rows, &mut taken_for, first, index) {
                        recipient = Err(RejectReason::DuplicateInBatch { first_index });
                    }
                }
                let input = row.email.take().unwrap_or_default();
                rows.push(PreparedRow::pasted(index, input, recipient));
            }
            size
        }
        Recipients::List(list) => {
            let size = BatchSize {
                bytes: 0,
                form_chars: None,
                entries: list.len() as u64,
            };
            size.check(policy)?;
            let mut seen: HashMap<Text, usize> = HashMap::default();
            seen.reserve(list.len());
            rows.reserve(list.len());
            #[cfg(test)]
            tests::note_parse();
            // Every field of every row bounded before any row is read, and
            // the group grants of all rows together (each is resolved in
            // the write transaction).
            let grants: u64 = list
                .iter()
                .map(|r| r.groups.as_ref().map_or(0, Vec::len) as u64)
                .sum();
            let max_grants = policy
                .max_recipient_entries()
                .saturating_mul(crate::policy::ENTRIES_PER_RECIPIENT);
            if grants > max_grants {
                return Err(Error::invalid(
                    "groups",
                    format!("at most {max_grants} group grants in one batch, not {grants}"),
                ));
            }
            for r in list {
                check_grants_and_role(r.role.as_deref(), r.groups.as_deref())?;
                if let Some(e) = &r.email {
                    check_max_bytes("email", e, MAX_EMAIL_FIELD_BYTES)?;
                }
                if let Some(i) = &r.identifier {
                    check_bytes("identifier", i, MAX_IDENTIFIER_CHARS)?;
                }
                for (field, v) in [
                    ("first_name", &r.first_name),
                    ("last_name", &r.last_name),
                    ("display_name", &r.display_name),
                ] {
                    if let Some(v) = v {
                        check_bytes(field, v, MAX_NAME_CHARS)?;
                    }
                }
                if let Some(lt) = &r.license_type {
                    check_bytes("license_type", lt, MAX_LABEL_CHARS)?;
                }
                if let Some(u) = &r.user_ref {
                    check_bytes("user_ref", u, MAX_NAME_CHARS)?;
                }
                super::attributes::bound_attributes(&r.attributes)?;
                if let Some(l) = &r.locale {
                    check_bytes("locale", l, crate::template::MAX_LOCALE_CHARS)?;
                }
            }
            for (index, r) in list.iter().enumerate() {
                let input = r
                    .email
                    .clone()
                    .or_else(|| r.identifier.clone())
                    .or_else(|| r.user_ref.clone())
                    .unwrap_or_else(|| {
                        [
                            r.first_name.as_deref(),
                            r.last_name.as_deref(),
                            r.display_name.as_deref(),
                        ]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ")
                    });
                let license_type = r
                    .license_type
                    .as_deref()
                    .map(|lt| clean_label("license_type", lt))
                    .transpose()?;
                let attributes = super::attributes::clean_attributes(&r.attributes)?;
                let locale = r
                    .locale
                    .as_deref()
                    .map(crate::template::normalize_locale)
                    .transpose();
                let (locale, recipient) = match locale {
                    Ok(l) => (l, prepare_recipient(r, None, index, Some(&mut seen))),
                    Err(e) => (
                        None,
                        Err(RejectReason::InvalidField {
                            reason: e.to_string(),
                        }),
                    ),
                };
                rows.push(PreparedRow {
                    index,
                    input,
                    role: r.role.clone(),
                    kind: r.kind,
                    groups: r.groups.clone(),
                    license_type,
                    attributes,
                    locale,
                    lifetime_secs: r.lifetime_secs,
                    recipient,
                });
            }
            size
        }
    };
    Ok(PreparedBatch {
        size,
        license_type,
        attributes,
        rows,
    })
}

/// The row a paste's entry `index` repeats, which the parser marked as
/// a repeat of entry `first` (the first with its key): `first`, unless
/// that row was rejected, and then the first repeat taken in its place
/// (`taken_for`). `None` when no row of the key was taken: this one is,
/// and is noted. A pasted name that passes the parser passes the row's
/// checks today, so `first` is rejected only if the two sets of rules
/// part; what a map of the keys taken gives either way.
fn repeat_of(
    rows: &[PreparedRow],
    taken_for: &mut HashMap<usize, usize>,
    first: usize,
    index: usize,
) -> Option<usize> {
    if rows.get(first).is_some_and(|r| r.recipient.is_ok()) {
        return Some(first);
    }
    match taken_for.get(&first) {
        Some(&taken) => Some(taken),
        None => {
            taken_for.insert(first, index);
            None
        }
    }
}

/// One row's names and contact, checked and normalized; a repeat of an
/// earlier row's contact or account (in `seen`, when given) is a
/// duplicate.
fn prepare_recipient(
    row: &RecipientInput,
    parsed: Option<std::result::Result<crate::email::Mailbox<'_>, AddressError>>,
    index: usize,
    seen: Option<&mut HashMap<Text, usize>>,
) -> std::result::Result<Recipient, RejectReason> {
    let names = (|| -> Result<_> {
        Ok((
            clean_line("first_name", row.first_name.as_deref(), MAX_NAME_CHARS)?,
            clean_line("last_name", row.last_name.as_deref(), MAX_NAME_CHARS)?,
            clean_line("display_name", row.display_name.as_deref(), MAX_NAME_CHARS)?,
        ))
    })();
    let (first_name, last_name, display_name) = names.map_err(|e| RejectReason::InvalidField {
        reason: e.to_string(),
    })?;
    let user_ref =
        clean_line("user_ref", row.user_ref.as_deref(), MAX_NAME_CHARS).map_err(|e| {
            RejectReason::InvalidField {
                reason: e.to_string(),
            }
        })?;
    let mut r = match (&row.email, &row.identifier) {
        (Some(email), _) if !email.trim().is_empty() => {
            let m = match parsed {
                Some(p) => p,
                None => parse_address(email),
            }
            .map_err(|error| RejectReason::InvalidAddress { error })?;
            // A name typed with the address follows the same one-line rule
            // as a name given in its own field.
            let display_name = match display_name {
                Some(n) => Some(n),
                None => clean_line("display_name", m.display_name.as_deref(), MAX_NAME_CHARS)
                    .map_err(|e| RejectReason::InvalidField {
                        reason: e.to_string(),
                    })?,
            };
            // One text for both when the address was typed as its key
            // (lowercase, ASCII): the usual case.
            let address = Text::from(m.address.as_ref());
            let key = if m.key == m.address {
                address.clone()
            } else {
                Text::from(m.key.as_ref())
            };
            Recipient {
                contact: Contact::Email(address),
                key,
                display_name,
                first_name,
                last_name,
                warnings: m.warnings,
                user_ref: None,
            }
        }
        (_, Some(id)) if !id.trim().is_empty() => {
            let key = identifier_key(id).map_err(|e| RejectReason::InvalidIdentifier {
                reason: e.to_string(),
            })?;
            Recipient {
                contact: Contact::Identifier(Text::from(id.trim())),
                key: Text::from(key),
                display_name,
                first_name,
                last_name,
                warnings: Vec::new(),
                user_ref: None,
            }
        }
        _ => match &user_ref {
            // An existing account with nothing else to reach it by: in-app
            // only.
            Some(u) => Recipient {
                contact: Contact::Account(Text::from(u.as_str())),
                key: Text::from(Contact::account_key(u)),
                display_name,
                first_name,
                last_name,
                warnings: Vec::new(),
                user_ref: None,
            },
            None => return Err(RejectReason::MissingContact),
        },
    };
    r.user_ref = user_ref;
    // The same person twice: the same contact, or the same account (a
    // paste's repeats are the parser's, `None` here).
    let Some(seen) = seen else {
        return Ok(r);
    };
    let account = r.user_ref.as_deref().map(Contact::account_key);
    for key in std::iter::once(r.key.as_str()).chain(account.as_deref()) {
        if let Some(&first_index) = seen.get(key) {
            return Err(RejectReason::DuplicateInBatch { first_index });
        }
    }
    seen.insert(r.key.clone(), index);
    if let Some(a) = account {
        seen.insert(Text::from(a), index);
    }
    Ok(r)
}

impl Enlist {
    /// Invites a batch of recipients. Each recipient is either issued an
    /// invitation (its secret returned once, its email queued) or rejected
    /// with a reason; rejections do not fail the batch. More distinct valid
    /// recipients than the policy's `max_batch` is an error before anything
    /// is stored, as is anything wrong with the batch as a whole (an unknown
    /// role or group, a permission the actor lacks).
    ///
    /// The order is that of every command: the actor is authorized first
    /// (a short read of the organization and the actor: someone who may not
    /// invite at all is refused before the recipients are looked at), then
    /// the recipients are bounded (bytes and entries, see
    /// [`Policy::max_recipient_bytes`](crate::Policy::max_recipient_bytes)
    /// and [`Policy::max_recipient_entries`](crate::Policy::max_recipient_entries);
    /// each field of a list's rows) and parsed outside any transaction, and
    /// only then does the write transaction run, checking the actor and the
    /// policy again since either may have changed.
    pub fn invite(&self, org: &OrgId, actor: &Actor, req: InviteRequest) -> Result<InviteReport> {
        self.invite_keeping(org, actor, req, &super::reports::KeepReport::Invite)
    }

    /// [`Enlist::invite`], keeping the batch's report as `keep` says (in
    /// the batch's transaction).
    pub(crate) fn invite_keeping(
        &self,
        org: &OrgId,
        actor: &Actor,
        req: InviteRequest,
        keep: &super::reports::KeepReport<'_>,
    ) -> Result<InviteReport> {
        if !req.active && req.send {
            return Err(Error::invalid(
                "active",
                "an inactive person cannot be sent an invitation: save them staged (send = false) and activate them before sending",
            ));
        }
        let message = clean_text("message", req.message.as_deref(), MAX_MESSAGE_CHARS)?;
        let settings = BatchSettings::of(&self.config, &req)?;
        let policy = self.run_read("invite.authorize", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            may_invite_at_all(&o, &auth)?;
            Ok(o.policy)
        })?;
        // Parsed after the short read, outside the write transaction (and
        // again before a retry's): the rows are moved into the
        // invitations, not copied.
        let batch = || prepare_batch(&policy, &req);
        self.run_with("invite", batch, |cx, batch| {
            let (o, auth) = cx.enter(org, actor)?;
            let (candidates, mut rejected) = cx.evaluate_batch(&o, &auth, &req, batch)?;
            let terms = BatchTerms {
                id: BatchId::from_random(cx.id_bytes()),
                message: message.clone(),
                settings: settings.clone(),
                send: req.send,
                active: req.active,
            };
            let issuer = Issuer::acting(&o, cx.config, actor, &auth);
            let mut issued = Vec::with_capacity(candidates.len());
            for c in candidates {
                match cx.settle(&o, c, &mut Seats::Written)? {
                    Ok(c) => match cx.issue(&issuer, &terms, c)? {
                        Ok(i) => issued.push(i),
                        Err(r) => rejected.push(r),
                    },
                    Err(r) => rejected.push(r),
                }
            }
            rejected.sort_by_key(|r| r.index);
            let report = InviteReport {
                batch_id: terms.id,
                issued,
                rejected,
            };
            cx.keep_invite_report(org, actor, &req, &report, keep)?;
            Ok(report)
        })
    }

    /// Sends staged invitations ("Send invites" on selected rows). Each is
    /// sent or reported failed on its own; an actor who may not invite at
    /// all is refused first (`PermissionDenied`), before any id is read.
    pub fn send_staged(
        &self,
        org: &OrgId,
        actor: &Actor,
        invitations: &[InvitationId],
    ) -> Result<SendReport> {
        check_batch_size(invitations.len(), MAX_IDS as u64, SEND_STAGED_SPLIT)?;
        self.run("send_staged", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            // Nobody who may not invite at all gets per-invitation answers
            // (which would tell them what the ids are): refused up front.
            may_invite_at_all(&o, &auth)?;
            // Each id is a lookup and possibly a new secret and email: no
            // more per call than a batch may hold.
            check_batch_size(
                invitations.len(),
                u64::from(o.policy.max_batch),
                SEND_STAGED_SPLIT,
            )?;
            let issuer = Issuer::acting(&o, cx.config, actor, &auth);
            let mut report = SendReport {
                batch_id: Some(BatchId::from_random(cx.id_bytes())),
                ..SendReport::default()
            };
            for (index, id) in invitations.iter().enumerate() {
                let outcome = match cx.send_one_staged(&issuer, id, index) {
                    Ok(issued) => SendOutcome::Sent { issued },
                    Err(e @ (Error::Store(_) | Error::Mail(_))) => return Err(e),
                    Err(e) => SendOutcome::Failed {
                        invitation: id.clone(),
                        code: e.code().to_owned(),
                        message: e.to_string(),
                    },
                };
                report.results.push(outcome);
            }
            if let Some(batch) = &report.batch_id {
                cx.keep_send_report(org, actor, batch, &report.results)?;
            }
            Ok(report)
        })
    }

    /// Sends a pending or expired invitation (or one locked by wrong access
    /// codes) again with a new secret and a new expiry; the old secret stops
    /// working and its unsent email is dropped. The policy's cooldown and
    /// cap apply.
    pub fn resend(
        &self,
        org: &OrgId,
        actor: &Actor,
        invitation: &InvitationId,
    ) -> Result<IssuedInvitation> {
        self.run("resend", |cx| cx.resend(org, actor, invitation))
    }
}

impl Ctx<'_> {
    /// [`Enlist::resend`] inside a command's transaction (also the retry of
    /// a dead letter).
    pub(crate) fn resend(
        &mut self,
        org: &OrgId,
        actor: &Actor,
        invitation: &InvitationId,
    ) -> Result<IssuedInvitation> {
        let (o, auth) = self.enter(org, actor)?;
        self.resend_in(&o, &auth, actor, invitation)
    }

    /// [`Enlist::resend`]'s rules after the prologue (`o` and `auth` from
    /// [`Ctx::enter`]): the one place they are written, shared by the
    /// single command, the dead letters' retry and the bulk action.
    pub(super) fn resend_in(
        &mut self,
        o: &Organization,
        auth: &Auth,
        actor: &Actor,
        invitation: &InvitationId,
    ) -> Result<IssuedInvitation> {
        let cx = self;
        let org = &o.id;
        let inv = cx.invitation(org, invitation)?;
        cx.may_manage_invitation(o, auth, &inv)?;
        let status = inv.status_at(cx.now);
        // An identifier invitation locked by too many wrong access codes
        // is revoked, and resending it is how a new code is given.
        let locked = status == InvitationStatus::Revoked
            && inv.is_by_identifier()
            && inv.failed_attempts >= o.policy.access_code_attempts;
        if !matches!(
            status,
            InvitationStatus::Pending | InvitationStatus::Expired
        ) && !locked
        {
            return Err(Error::InvitationNotOpen {
                invitation: inv.id.clone(),
                status,
            });
        }
        if inv.kind == MemberKind::Guest && !o.policy.guests_enabled {
            return Err(Error::Disabled {
                feature: Feature::Guests,
            });
        }
        if inv.send_count >= o.policy.resend_cap {
            return Err(Error::LimitExceeded {
                limit: LimitKind::ResendCap,
                max: u64::from(o.policy.resend_cap),
                actual: u64::from(inv.send_count) + 1,
                detail: Some(format!("invitation {}", inv.id)),
            });
        }
        if let Some(last) = inv.last_sent_at {
            let ready =
                super::time_after(last, o.policy.resend_cooldown_secs, "resend_cooldown_secs")?;
            if ready > cx.now {
                return Err(Error::ResendTooSoon {
                    invitation: inv.id.clone(),
                    retry_after: ready,
                });
            }
        }
        if matches!(
            inv.status,
            InvitationStatus::Expired | InvitationStatus::Revoked
        ) {
            // Its expiry (or lock) was persisted, so another invitation
            // or a membership may have taken its place meanwhile.
            if let Some(m) = cx.tx.member_by_contact(org, &inv.recipient_key)? {
                return Err(Error::AlreadyMember {
                    recipient: inv.recipient.as_str().to_owned(),
                    member: m.id,
                });
            }
            if let Some(other) = cx.tx.open_invitation_for(org, &inv.recipient_key)? {
                return Err(Error::AlreadyInvited {
                    recipient: inv.recipient.as_str().to_owned(),
                    invitation: other.invitation.id,
                });
            }
            cx.check_seat(o, &inv.license_type, 1)?;
        }
        if status != InvitationStatus::Pending {
            // Reopening an expired or locked invitation makes it open
            // again: it counts against its inviter's limit.
            cx.check_inviter_limit(o, inv.inviter.as_ref())?;
        }
        cx.supersede_messages(&inv)?;
        let inviter = match &inv.inviter {
            Some(id) => cx.tx.member(org, id)?,
            None => None,
        };
        // The email names the one who invited, not the one resending.
        let inviter_name = inviter.as_ref().map(|m| m.display_name());
        let issuer = Issuer {
            org: o,
            actor,
            auth,
            names: super::render::Names::new(o, cx.config, inviter_name.as_deref()),
            inviter_email: inviter
                .as_ref()
                .and_then(|m| m.contact.email().map(str::to_owned)),
        };
        cx.send_out(&issuer, inv, 0, Vec::new(), |inv, expires_at| {
            EventKind::InvitationResent {
                invitation: inv.id.clone(),
                send_count: inv.send_count,
                expires_at,
            }
        })
    }
}

impl Enlist {
    /// Revokes an open invitation: its secret stops working at once and its
    /// unsent email is dropped.
    pub fn revoke(
        &self,
        org: &OrgId,
        actor: &Actor,
        invitation: &InvitationId,
    ) -> Result<Invitation> {
        self.run("revoke", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            cx.revoke_in(&o, &auth, actor, invitation)
        })
    }

    /// An invitation, with its status as of now. Needs
    /// [`Permission::ViewMembers`] (or to be its inviter).
    pub fn invitation(
        &self,
        org: &OrgId,
        actor: &Actor,
        invitation: &InvitationId,
    ) -> Result<Invitation> {
        self.run_read("invitation", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            let inv = cx.invitation(org, invitation)?;
            if !auth.has(Permission::ViewMembers)
                && !inv.inviter.as_ref().is_some_and(|i| auth.is_member(i))
            {
                return Err(auth.deny(Permission::ViewMembers, "reading an invitation"));
            }
            Ok(inv.at(cx.now))
        })
    }

    /// A page of invitations, newest first, filtered by status (as of now),
    /// recipient and batch. Needs [`Permission::ViewMembers`].
    pub fn list_invitations(
        &self,
        org: &OrgId,
        actor: &Actor,
        query: &crate::invitation::InvitationQuery,
    ) -> Result<crate::member::Page<Invitation>> {
        super::page_limit(query.limit)?;
        super::check_query_text(
            query.search.as_deref(),
            query.after.as_deref(),
            &[query.batch.as_ref().map(|b| b.as_str())],
        )?;
        self.run_read("list_invitations", |cx| {
            cx.authorized(org, actor, Permission::ViewMembers)?;
            let page = cx.tx.list_invitations(org, query, cx.now)?;
            Ok(crate::member::Page {
                items: page.items.into_iter().map(|i| i.at(cx.now)).collect(),
                next_cursor: page.next_cursor,
            })
        })
    }

    /// Persists the expiry of every pending invitation whose expiry is at or
    /// before `now`, one event each; returns how many. Run it from a
    /// periodic job; reads already show such invitations as expired.
    pub fn expire_due(&self, now: chrono::DateTime<chrono::Utc>) -> Result<usize> {
        super::check_time("now", now)?;
        let mut total = 0;
        loop {
            let n = self.run("expire_due", |cx| {
                let due = cx.tx.due_invitations(None, now, 500)?;
                let n = due.len();
                for inv in due {
                    cx.persist_expiry(inv)?;
                }
                Ok(n)
            })?;
            total += n;
            if n < 500 {
                return Ok(total);
            }
        }
    }
}

impl Ctx<'_> {
    pub(crate) fn invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
    ) -> Result<StoredInvitation> {
        self.tx
            .invitation(org, id)?
            .ok_or_else(|| Error::not_found(EntityKind::Invitation, id))
    }

    /// Resend, send-staged and revoke: the actor must be allowed to act on
    /// this invitation (an administrator with ManageMembers, or its
    /// inviter) *and* be able to issue it today, with their current
    /// permissions: the role within reach, every group grantable, the
    /// invite permission of its kind, or the policy's group-owner or member
    /// path (see [`authorize_invite`]). An inviter who has since been
    /// demoted, or a user admin facing an owner's invitation, is refused:
    /// resending and sending return a fresh secret to the caller, and
    /// revoking takes away what the actor could not have given.
    pub(super) fn may_manage_invitation(
        &self,
        o: &Organization,
        auth: &Auth,
        inv: &Invitation,
    ) -> Result<()> {
        if auth.is_guest() {
            return Err(auth.deny(
                Permission::ManageMembers,
                "guests cannot manage invitations",
            ));
        }
        if !(auth.has(Permission::ManageMembers)
            || inv.inviter.as_ref().is_some_and(|i| auth.is_member(i)))
        {
            return Err(auth.deny(
                Permission::ManageMembers,
                "managing someone else's invitation",
            ));
        }
        authorize_invite(o, auth, &inv.role, inv.kind, &inv.groups)
    }

    /// The evaluation step of a batch, shared by [`Enlist::invite`] and
    /// its dry run ([`Enlist::dry_run_invite`]): the actor may invite at
    /// all, the batch fits the policy, every row's role and groups resolve
    /// and are the actor's to grant, and at most `max_batch` distinct
    /// recipients remain. Writes nothing. What is left to decide per
    /// candidate, against the store, is [`Ctx::settle`].
    pub(crate) fn evaluate_batch(
        &mut self,
        o: &Organization,
        auth: &Auth,
        req: &InviteRequest,
        batch: PreparedBatch,
    ) -> Result<(Vec<Candidate>, Vec<RejectedRecipient>)> {
        may_invite_at_all(o, auth)?;
        batch.size.check(&o.policy)?;
        let (candidates, rejected) = self.candidates(o, auth, req, batch)?;
        check_batch_size(
            candidates.len(),
            u64::from(o.policy.max_batch),
            "split the list into several batches",
        )?;
        // Each candidate's member and open invitation are asked for next,
        // one by one: a store with round trips reads them all at once. The
        // keys are shared with the store, not copied.
        let keys: Vec<Text> = candidates.iter().map(|c| c.key.clone()).collect();
        self.tx.prefetch_recipients(&o.id, &keys)?;
        Ok((candidates, rejected))
    }

    /// The second half of the evaluation: whether this candidate can be
    /// invited now (see [`Ctx::recipient_blocker`]), as a candidate to
    /// issue or a rejection. `seats` says whether the batch's earlier
    /// invitations are in the store (the real command) or only planned (a
    /// dry run, which writes nothing).
    pub(crate) fn settle(
        &mut self,
        o: &Organization,
        c: Candidate,
        seats: &mut Seats<'_>,
    ) -> Result<std::result::Result<Candidate, RejectedRecipient>> {
        Ok(match self.recipient_blocker(o, &c, seats)? {
            Some(reason) => Err(RejectedRecipient {
                index: c.index,
                input: c.input,
                reason,
            }),
            None => {
                if let Seats::Planned(plan) = seats {
                    *plan.seats.entry(c.license_type.clone()).or_default() += 1;
                    plan.keys.insert(c.key.clone(), (plan.batch, c.index));
                    plan.by_inviter += 1;
                }
                Ok(c)
            }
        })
    }

    /// Turns the prepared batch into candidates (one per distinct valid
    /// recipient) and early rejections, resolving and authorizing each
    /// row's role and groups. Batch-wide problems are errors.
    fn candidates(
        &mut self,
        o: &Organization,
        auth: &Auth,
        req: &InviteRequest,
        batch: PreparedBatch,
    ) -> Result<(Vec<Candidate>, Vec<RejectedRecipient>)> {
        let PreparedBatch {
            license_type: batch_license,
            attributes: batch_attributes,
            rows,
            ..
        } = batch;
        if auth.is_guest() {
            return Err(auth.deny(Permission::InviteMembers, "guests cannot invite"));
        }
        // Batch-wide settings, checked once per distinct combination.
        // Groups are resolved here and authorized by `authorize_invite`,
        // which knows the policy's group-owner and member paths.
        let mut known_groups = std::collections::HashSet::new();
        let default_groups = self.invite_grants_cached(&o.id, &req.groups, &mut known_groups)?;
        let mut authorized: HashSet<(Text, MemberKind, Vec<GroupGrant>)> = HashSet::default();
        // The texts most rows share, made once a batch: the batch's role
        // and license type, else the policy's default role of each kind
        // and the default license type.
        let batch_role = req.role.as_deref().map(Text::from);
        let batch_license = batch_license.map(Text::from);
        let mut default_roles: [Option<Text>; 2] = [None, None];
        let mut default_role = |kind: MemberKind| {
            let slot = usize::from(kind == MemberKind::Guest);
            default_roles[slot]
                .get_or_insert_with(|| Text::from(o.policy.role_for(kind)))
                .clone()
        };
        let default_license = Text::from(DEFAULT_LICENSE);
        let mut out = Vec::with_capacity(rows.len());
        let mut rejected = Vec::new();
        // The batch's own lifetime must lie within the policy's bounds:
        // the whole batch fails otherwise, before any row is looked at.
        if let Some(secs) = req.lifetime_secs {
            o.policy.lifetime_for(Some(secs)).map_err(|bounds| {
                super::settings::lifetime_out_of_bounds("lifetime_secs", secs, bounds)
            })?;
        }
        let inviter = auth.member.as_ref().map(|m| m.id.clone());
        let batch_locale = req
            .locale
            .as_deref()
            .map(crate::template::normalize_locale)
            .transpose()?;
        for row in rows {
            let kind = row.kind.unwrap_or(req.kind);
            let role = match row.role {
                Some(r) => Text::from(r),
                None => batch_role.clone().unwrap_or_else(|| default_role(kind)),
            };
            let groups = match &row.groups {
                Some(g) => self.invite_grants_cached(&o.id, g, &mut known_groups)?,
                None => default_groups.clone(),
            };
            let license_type = match row.license_type {
                Some(l) => Text::from(l),
                None => batch_license
                    .clone()
                    .unwrap_or_else(|| default_license.clone()),
            };
            let combination = (role, kind, groups);
            if !authorized.contains(&combination) {
                authorize_invite(o, auth, &combination.0, kind, &combination.2)?;
                authorized.insert(combination.clone());
            }
            let (role, _, groups) = combination;
            let own_lifetime = row
                .lifetime_secs
                .map(|secs| (secs, o.policy.lifetime_for(Some(secs))));
            match row.recipient {
                Ok(_) if matches!(own_lifetime, Some((_, Err(_)))) => {
                    if let Some((secs, Err((min, max)))) = own_lifetime {
                        rejected.push(RejectedRecipient {
                            index: row.index,
                            input: row.input,
                            reason: RejectReason::LifetimeOutOfBounds {
                                lifetime_secs: secs,
                                min_secs: min,
                                max_secs: max,
                            },
                        });
                    }
                }
                Ok(r) => out.push(Candidate {
                    index: row.index,
                    input: row.input,
                    contact: r.contact,
                    key: r.key,
                    display_name: r.display_name,
                    first_name: r.first_name,
                    last_name: r.last_name,
                    role,
                    kind,
                    groups,
                    license_type,
                    warnings: r.warnings,
                    attributes: {
                        let mut a = batch_attributes.clone();
                        a.extend(row.attributes);
                        a.retain(|_, v| !v.is_empty());
                        a
                    },
                    locale: row.locale.or_else(|| batch_locale.clone()),
                    lifetime_secs: row.lifetime_secs.or(req.lifetime_secs),
                    inviter: inviter.clone(),
                    user_ref: r.user_ref,
                }),
                Err(reason) => rejected.push(RejectedRecipient {
                    index: row.index,
                    input: row.input,
                    reason,
                }),
            }
        }
        Ok((out, rejected))
    }

    /// The groups of an invitation: each must exist (looked up once per
    /// batch, at most [`MAX_BATCH_GROUPS`] distinct groups); duplicates are
    /// merged (keeping the highest role). Who may grant them is decided by
    /// `authorize_invite`.
    pub(super) fn invite_grants_cached(
        &mut self,
        org: &OrgId,
        grants: &[GroupGrant],
        known: &mut std::collections::HashSet<crate::id::GroupId>,
    ) -> Result<Vec<GroupGrant>> {
        let mut out: Vec<GroupGrant> = Vec::with_capacity(grants.len());
        for g in grants {
            if !known.contains(&g.group_id) {
                if known.len() >= MAX_BATCH_GROUPS {
                    return Err(Error::invalid(
                        "groups",
                        format!("at most {MAX_BATCH_GROUPS} distinct groups in one batch"),
                    ));
                }
                self.group(org, &g.group_id)?;
                known.insert(g.group_id.clone());
            }
            match out.iter_mut().find(|x| x.group_id == g.group_id) {
                Some(x) => x.role = x.role.max(g.role),
                None => out.push(g.clone()),
            }
        }
        Ok(out)
    }

    /// Why this candidate cannot be invited now, if anything. The seats of
    /// invitations issued earlier in the batch are already counted by the
    /// store (they are written in this transaction), so one more is asked for.
    fn recipient_blocker(
        &mut self,
        o: &Organization,
        c: &Candidate,
        seats: &mut Seats<'_>,
    ) -> Result<Option<RejectReason>> {
        if c.kind == MemberKind::Guest && !o.policy.guests_enabled {
            return Ok(Some(RejectReason::GuestsDisabled));
        }
        if let Some(d) = c.ascii_domain() {
            if !o.policy.domain_allowed(d) {
                let shown = c
                    .contact
                    .as_str()
                    .rsplit_once('@')
                    .map(|(_, d)| d.to_owned())
                    .unwrap_or_default();
                return Ok(Some(RejectReason::DomainNotAllowed { domain: shown }));
            }
        }
        if let Some(m) = self.tx.member_by_contact(&o.id, &c.key)? {
            return Ok(Some(RejectReason::AlreadyMember { member: m.id }));
        }
        if let Some(reason) = self.account_blocker(o, c)? {
            return Ok(Some(reason));
        }
        if let Seats::Planned(plan) = seats {
            // An earlier batch of the same import would have invited them.
            if let Some(&(batch, index)) = plan.keys.get(&c.key) {
                plan.repeats.push(((plan.batch, c.index), (batch, index)));
                return Ok(Some(RejectReason::DuplicateInBatch { first_index: index }));
            }
        }
        if let Some(open) = self.tx.open_invitation_for(&o.id, &c.key)? {
            if open.status_at(self.now) == InvitationStatus::Expired {
                // Expired invitations never block a new one (a dry run
                // leaves its expiry for the real command to persist).
                if let Seats::Written = seats {
                    self.persist_expiry(open)?;
                }
            } else {
                return Ok(Some(RejectReason::AlreadyInvited {
                    invitation: open.invitation.id,
                }));
            }
        }
        let seat = match seats {
            Seats::Written => self.check_seat(o, &c.license_type, 1),
            Seats::Planned(plan) => self.check_planned_seat(o, &c.license_type, plan),
        };
        match seat {
            Ok(()) => {}
            Err(Error::LimitExceeded { max, .. }) => {
                return Ok(Some(RejectReason::NoSeatLeft {
                    license_type: c.license_type.to_string(),
                    limit: u32::try_from(max).unwrap_or(u32::MAX),
                }));
            }
            Err(e) => return Err(e),
        }
        if let (Some(limit), Some(inviter)) =
            (o.policy.max_open_invitations_per_inviter, &c.inviter)
        {
            // The store counts what this transaction wrote (the batch's
            // earlier invitations); a dry run adds what it would have.
            let planned = match seats {
                Seats::Written => 0,
                Seats::Planned(plan) => plan.by_inviter,
            };
            let open = self
                .tx
                .open_invitations_by_inviter(&o.id, inviter, self.now)?;
            if open.saturating_add(planned) >= u64::from(limit) {
                return Ok(Some(RejectReason::InviterLimitReached { limit }));
            }
        }
        Ok(None)
    }

    /// Checks that `extra` more seats of `license_type` fit, releasing seats
    /// held by invitations past their expiry if that is what it takes.
    pub(crate) fn check_seat(
        &mut self,
        o: &Organization,
        license_type: &str,
        extra: u64,
    ) -> Result<()> {
        let Some(limit) = o.policy.seat_limit(license_type) else {
            return Ok(());
        };
        let reserve = o.policy.reserve_seats_for_pending;
        let mut released = false;
        loop {
            let c = self.tx.seat_count(&o.id, license_type)?;
            let used = c.members + if reserve { c.open_invitations } else { 0 };
            if used + extra <= u64::from(limit) {
                return Ok(());
            }
            if released || !reserve {
                return Err(Error::LimitExceeded {
                    limit: LimitKind::Seats,
                    max: u64::from(limit),
                    actual: used + extra,
                    detail: Some(format!("license type {license_type}")),
                });
            }
            for inv in self.tx.due_invitations(Some(&o.id), self.now, 1000)? {
                self.persist_expiry(inv)?;
            }
            released = true;
        }
    }

    /// [`Ctx::check_seat`] for a dry run, which writes nothing: the seats
    /// its earlier candidates would take are counted from `plan`, and the
    /// seats the real command would release (pending invitations past
    /// their expiry, reserved when the policy reserves seats) are
    /// subtracted instead of persisted. The answer is the real command's.
    fn check_planned_seat(
        &mut self,
        o: &Organization,
        license_type: &str,
        plan: &mut Plan,
    ) -> Result<()> {
        let Some(limit) = o.policy.seat_limit(license_type) else {
            return Ok(());
        };
        let reserve = o.policy.reserve_seats_for_pending;
        let extra = 1 + plan.seats.get(license_type).copied().unwrap_or(0);
        let c = self.tx.seat_count(&o.id, license_type)?;
        let used = c.members + if reserve { c.open_invitations } else { 0 };
        if used + extra <= u64::from(limit) {
            return Ok(());
        }
        if reserve {
            if plan.due.is_none() {
                let mut due: HashMap<Text, u64> = HashMap::default();
                // The same read, and the same cap, as `check_seat`'s release.
                for inv in self.tx.due_invitations(Some(&o.id), self.now, 1000)? {
                    *due.entry(inv.license_type.clone()).or_default() += 1;
                }
                plan.due = Some(due);
            }
            let due = plan
                .due
                .as_ref()
                .and_then(|d| d.get(license_type))
                .copied()
                .unwrap_or(0);
            if used.saturating_sub(due) + extra <= u64::from(limit) {
                return Ok(());
            }
        }
        Err(Error::LimitExceeded {
            limit: LimitKind::Seats,
            max: u64::from(limit),
            actual: used + extra,
            detail: Some(format!("license type {license_type}")),
        })
    }

    /// Refuses one more open invitation of `inviter` past the policy's
    /// `max_open_invitations_per_inviter` (the system, no inviter, is not
    /// counted).
    pub(crate) fn check_inviter_limit(
        &mut self,
        o: &Organization,
        inviter: Option<&MemberId>,
    ) -> Result<()> {
        let (Some(limit), Some(inviter)) = (o.policy.max_open_invitations_per_inviter, inviter)
        else {
            return Ok(());
        };
        let open = self
            .tx
            .open_invitations_by_inviter(&o.id, inviter, self.now)?;
        if open >= u64::from(limit) {
            return Err(Error::LimitExceeded {
                limit: LimitKind::OpenInvitationsPerInviter,
                max: u64::from(limit),
                actual: open.saturating_add(1),
                detail: Some(format!("open invitations of member {inviter}")),
            });
        }
        Ok(())
    }

    pub(crate) fn persist_expiry(&mut self, mut inv: StoredInvitation) -> Result<()> {
        inv.move_to(InvitationStatus::Expired, "expire")?;
        inv.closed_at = inv.expires_at.or(Some(self.now));
        self.tx.put_invitation(&inv)?;
        self.supersede_messages(&inv)?;
        self.event(
            &inv.org_id.clone(),
            &Actor::System,
            EventKind::InvitationExpired {
                invitation: inv.id.clone(),
            },
        )
    }

    /// Writes one new invitation of the batch: staged, or sent out; or,
    /// when the host's before-hook refuses it, writes nothing and returns
    /// the recipient's rejection.
    fn issue(
        &mut self,
        issuer: &Issuer<'_>,
        batch: &BatchTerms,
        c: Candidate,
    ) -> Result<std::result::Result<IssuedInvitation, RejectedRecipient>> {
        let o = issuer.org;
        let warnings = c.warnings;
        let (index, input) = (c.index, c.input);
        let invitation = Invitation {
            org_id: o.id.clone(),
            id: InvitationId::from_random(self.id_bytes()),
            batch_id: batch.id.clone(),
            recipient: c.contact,
            recipient_key: c.key,
            display_name: c.display_name,
            first_name: c.first_name,
            last_name: c.last_name,
            kind: c.kind,
            role: c.role,
            groups: c.groups,
            license_type: c.license_type,
            inviter: issuer.auth.member.as_ref().map(|m| m.id.clone()),
            message: batch.message.clone(),
            locale: c.locale.or_else(|| batch.settings.locale.clone()),
            created_at: self.now,
            expires_at: None,
            status: InvitationStatus::Staged,
            send_count: 0,
            last_sent_at: None,
            failed_attempts: 0,
            locked_until: None,
            closed_at: None,
            member_id: None,
            active: batch.active,
            attributes: c.attributes,
            lifetime_secs: c.lifetime_secs,
            redirect_url: batch.settings.redirect_url.clone(),
            public_metadata: batch.settings.public_metadata.clone(),
            private_metadata: batch.settings.private_metadata.clone(),
            user_ref: c.user_ref,
        };
        // The host's before-hook sees the invitation as it is about to be
        // written, before anything of this recipient is.
        if self.hooks.is_some() {
            let mut draft = invitation.clone();
            let kind = if batch.send {
                let expires_at = super::time_after(
                    self.now,
                    o.policy.invitation_lifetime_secs,
                    "invitation_lifetime_secs",
                )?;
                draft.status = InvitationStatus::Pending;
                draft.expires_at = Some(expires_at);
                EventKind::InvitationIssued {
                    invitation: draft.id.clone(),
                    batch: batch.id.clone(),
                    recipient: draft.recipient.text().clone(),
                    role: draft.role.clone(),
                    kind: draft.kind,
                    groups: draft.groups.clone(),
                    expires_at,
                }
            } else {
                EventKind::InvitationStaged {
                    invitation: draft.id.clone(),
                    batch: batch.id.clone(),
                    recipient: draft.recipient.text().clone(),
                    role: draft.role.clone(),
                    kind: draft.kind,
                    active: draft.active,
                }
            };
            if let Some(reason) = self.ask_before(&o.id, issuer.actor, kind, Some(&draft))? {
                return Ok(Err(RejectedRecipient {
                    index,
                    input,
                    reason: RejectReason::RefusedByHook { reason },
                }));
            }
        }
        // Staged: no secret yet.
        let inv = StoredInvitation::new(invitation, None);
        if !batch.send {
            self.tx.put_invitation(&inv)?;
            self.event(
                &o.id,
                issuer.actor,
                EventKind::InvitationStaged {
                    invitation: inv.id.clone(),
                    batch: batch.id.clone(),
                    recipient: inv.recipient.text().clone(),
                    role: inv.role.clone(),
                    kind: inv.kind,
                    active: inv.active,
                },
            )?;
            return Ok(Ok(IssuedInvitation {
                index,
                invitation: inv.invitation,
                secret: None,
                message_id: None,
                warnings,
            }));
        }
        self.send_out(issuer, inv, index, warnings, |inv, expires_at| {
            EventKind::InvitationIssued {
                invitation: inv.id.clone(),
                batch: batch.id.clone(),
                recipient: inv.recipient.text().clone(),
                role: inv.role.clone(),
                kind: inv.kind,
                groups: inv.groups.clone(),
                expires_at,
            }
        })
        .map(Ok)
    }

    fn send_one_staged(
        &mut self,
        issuer: &Issuer<'_>,
        id: &InvitationId,
        index: usize,
    ) -> Result<IssuedInvitation> {
        let o = issuer.org;
        let inv = self.invitation(&o.id, id)?;
        self.may_manage_invitation(o, issuer.auth, &inv)?;
        if inv.status != InvitationStatus::Staged {
            return Err(Error::InvitationNotOpen {
                invitation: inv.id.clone(),
                status: inv.status,
            });
        }
        if !inv.active {
            return Err(Error::conflict(format!(
                "invitation {} was saved with Active unchecked: activate it before sending",
                inv.id
            )));
        }
        if inv.kind == MemberKind::Guest && !o.policy.guests_enabled {
            return Err(Error::Disabled {
                feature: Feature::Guests,
            });
        }
        // The host's before-hook, before anything of this invitation is
        // written: a refusal fails this invitation only.
        if self.hooks.is_some() {
            let expires_at = super::time_after(
                self.now,
                o.policy.invitation_lifetime_secs,
                "invitation_lifetime_secs",
            )?;
            let mut draft = inv.invitation.clone();
            draft.status = InvitationStatus::Pending;
            draft.expires_at = Some(expires_at);
            let kind = EventKind::InvitationSent {
                invitation: inv.id.clone(),
                expires_at,
            };
            if let Some(reason) = self.ask_before(&o.id, issuer.actor, kind, Some(&draft))? {
                return Err(Error::HookRefused { reason });
            }
        }
        self.send_out(issuer, inv, index, Vec::new(), |inv, expires_at| {
            EventKind::InvitationSent {
                invitation: inv.id.clone(),
                expires_at,
            }
        })
    }

    /// The step every sending shares (a new invitation, a staged one, a
    /// resend): arms the invitation ([`Self::arm`]), writes it with the
    /// event `kind` makes of it and its new expiry, and returns it with
    /// its secret (given to the caller once).
    fn send_out(
        &mut self,
        issuer: &Issuer<'_>,
        mut inv: StoredInvitation,
        index: usize,
        warnings: Vec<AddressWarning>,
        kind: impl FnOnce(&Invitation, chrono::DateTime<chrono::Utc>) -> EventKind,
    ) -> Result<IssuedInvitation> {
        let (secret, message_id) = self.arm(issuer, &mut inv)?;
        self.tx.put_invitation(&inv)?;
        let event = kind(&inv, inv.expires_at.unwrap_or(self.now));
        self.event(&issuer.org.id, issuer.actor, event)?;
        Ok(IssuedInvitation {
            index,
            invitation: inv.invitation,
            secret: Some(secret),
            message_id,
            warnings,
        })
    }

    /// A new token for invitation `id`: one that names it when the ids
    /// allow (found by id, its hash indexed by no store), else one found by
    /// its hash; with how the invitation is then found.
    fn invitation_token(
        &self,
        o: &Organization,
        id: &InvitationId,
    ) -> (Secret, SecretHash, SecretLookup) {
        match new_invitation_token(self.secrets, &o.id, id) {
            Some((token, hash)) => (token, hash, SecretLookup::ById),
            None => {
                let (token, hash) = new_token(self.secrets, &o.id);
                (token, hash, SecretLookup::ByHash)
            }
        }
    }

    /// Gives the invitation a new secret and expiry, makes it pending, and
    /// queues its email (for email recipients).
    fn arm(
        &mut self,
        issuer: &Issuer<'_>,
        inv: &mut StoredInvitation,
    ) -> Result<(Secret, Option<MessageId>)> {
        let o = issuer.org;
        let expires_at = super::time_after(
            self.now,
            lifetime_now(&o.policy, inv.lifetime_secs),
            "invitation_lifetime_secs",
        )?;
        let by = if inv.status == InvitationStatus::Staged {
            "send"
        } else {
            "resend"
        };
        inv.move_to(InvitationStatus::Pending, by)?;
        inv.expires_at = Some(expires_at);
        inv.send_count += 1;
        inv.last_sent_at = Some(self.now);
        inv.failed_attempts = 0;
        inv.locked_until = None;
        inv.closed_at = None;
        match &inv.invitation.recipient {
            Contact::Identifier(_) => {
                // Typed with the identifier, which finds the invitation:
                // nothing looks the code's hash up.
                inv.secret_lookup = SecretLookup::ById;
                let (code, canonical) = new_access_code(self.secrets);
                // Salted by invitation and send count (incremented above),
                // keyed by the host's pepper or slow without one.
                let hash = self
                    .codes
                    .hash(&CodeHasher::salt(&inv.invitation), &canonical);
                inv.secret_hash = Some(hash);
                // Sealed for "See access code" when the host has a key
                // (bound to this invitation and send count), else none.
                inv.sealed_code = self.sealer.seal(self.secrets, &inv.invitation, &code);
                Ok((code, None))
            }
            Contact::Account(_) => {
                // An existing account with no address: nothing is sent. The
                // token (returned once to the inviter, useless to any other
                // account) and the account's inbox are the ways in.
                let (token, hash, lookup) = self.invitation_token(o, &inv.invitation.id);
                inv.secret_hash = Some(hash);
                inv.secret_lookup = lookup;
                Ok((token, None))
            }
            Contact::Email(to) => {
                let (token, hash, lookup) = self.invitation_token(o, &inv.invitation.id);
                inv.secret_hash = Some(hash);
                inv.secret_lookup = lookup;
                let id = MessageId::from_random(self.id_bytes());
                let look = self.org_email(&o.id, inv.invitation.locale.as_deref())?;
                let groups = super::render::group_names(self.tx.as_mut(), &inv.invitation)?;
                let (email, draft) = InvitationEmail {
                    org: o,
                    config: self.config,
                    invitation: &inv.invitation,
                    to,
                    names: &issuer.names,
                    inviter_email: issuer.inviter_email.as_deref(),
                    token: &token,
                    message_id: &id,
                    email: &look,
                    groups,
                }
                .draft();
                let draft = self.shared_draft(draft);
                let msg = OutboxMessage {
                    id,
                    org_id: o.id.clone(),
                    invitation_id: inv.id.clone(),
                    email,
                    status: OutboxStatus::Queued,
                    attempts: 0,
                    next_attempt_at: self.now,
                    last_error: None,
                    created_at: self.now,
                    sent_at: None,
                    draft: Some(draft),
                };
                let id = msg.id.clone();
                self.tx.put_outbox_message(msg)?;
                Ok((token, Some(id)))
            }
        }
    }

    /// Drops the unsent emails of an invitation whose secret is dead.
    pub(crate) fn supersede_messages(&mut self, inv: &Invitation) -> Result<()> {
        self.tx.supersede_queued_messages(&inv.org_id, &inv.id)?;
        Ok(())
    }
}

/// The lifetime a send or resend gives an invitation that asked for
/// `own`: its own, held to the policy's bounds as they are now (a policy
/// narrowed since the invitation was made wins), else the policy's
/// default.
pub(crate) fn lifetime_now(policy: &crate::Policy, own: Option<u64>) -> u64 {
    match own {
        Some(secs) => secs.clamp(
            policy.min_invitation_lifetime_secs,
            policy
                .max_invitation_lifetime_secs
                .max(policy.min_invitation_lifetime_secs),
        ),
        None => policy.invitation_lifetime_secs,
    }
}

/// Who may invite whom (`docs/src/architecture.md`): admins (by permission) anyone
/// with a role within their own permissions; group owners into groups they
/// own, if the policy allows; members into their own groups as members, if
/// the policy allows; guests never.
pub(super) fn authorize_invite(
    o: &Organization,
    auth: &Auth,
    role: &str,
    kind: MemberKind,
    groups: &[GroupGrant],
) -> Result<()> {
    let r = auth.grantable_role(o, role)?;
    if kind == MemberKind::Guest && !r.permissions.is_empty() {
        // As in `update_member`: guests have limited access.
        return Err(Error::invalid(
            "role",
            format!(
                "guests get a role without permissions, not {role:?}; invite them as members instead"
            ),
        ));
    }
    let needed = if kind == MemberKind::Guest {
        Permission::InviteGuests
    } else {
        Permission::InviteMembers
    };
    // Administrators: by permission, with every group role within reach.
    let mut grant_error = None;
    if auth.has(needed) {
        match groups.iter().try_for_each(|g| auth.may_grant_group(g)) {
            Ok(()) => return Ok(()),
            Err(e) => grant_error = Some(e),
        }
    }
    let Some(member) = &auth.member else {
        return Err(grant_error.unwrap_or_else(|| auth.deny(needed, "only members may invite")));
    };
    if member.kind == MemberKind::Guest {
        return Err(auth.deny(needed, "guests cannot invite"));
    }
    let owns_all = !groups.is_empty()
        && groups
            .iter()
            .all(|g| member.group_role(&g.group_id) == Some(GroupRole::Owner));
    if o.policy.group_owners_can_invite && owns_all {
        return Ok(());
    }
    let in_all = groups
        .iter()
        .all(|g| g.role == GroupRole::Member && member.group_role(&g.group_id).is_some());
    if o.policy.members_can_invite && kind == MemberKind::Member && in_all {
        return Ok(());
    }
    Err(grant_error.unwrap_or_else(|| auth.deny(
        needed,
        if o.policy.group_owners_can_invite || o.policy.members_can_invite {
            "the policy lets group owners invite only into groups they own, and members only as members into their own groups"
        } else {
            "only administrators may invite in this organization"
        },
    )))
}

impl Ctx<'_> {
    /// [`Enlist::revoke`]'s rules after the prologue (`o` and `auth` from
    /// [`Ctx::enter`]), shared by the single command and the bulk actions.
    pub(super) fn revoke_in(
        &mut self,
        o: &Organization,
        auth: &Auth,
        actor: &Actor,
        invitation: &InvitationId,
    ) -> Result<Invitation> {
        let cx = self;
        let org = &o.id;
        let mut inv = cx.invitation(org, invitation)?;
        cx.may_manage_invitation(o, auth, &inv)?;
        let status = inv.status_at(cx.now);
        if !matches!(
            status,
            InvitationStatus::Pending | InvitationStatus::Staged | InvitationStatus::Expired
        ) {
            return Err(Error::InvitationNotOpen {
                invitation: inv.id.clone(),
                status,
            });
        }
        cx.supersede_messages(&inv)?;
        inv.move_to(InvitationStatus::Revoked, "revoke")?;
        inv.closed_at = Some(cx.now);
        cx.tx.put_invitation(&inv)?;
        cx.event(
            org,
            actor,
            EventKind::InvitationRevoked {
                invitation: inv.id.clone(),
            },
        )?;
        Ok(inv.invitation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::store::{Store, Transaction};
    use std::cell::{Cell, RefCell};
    use std::sync::Arc;

    thread_local! {
        /// Transactions begun on this thread by a [`Counting`] store.
        static BEGUN: Cell<usize> = const { Cell::new(0) };
        /// At each read of a batch's recipients: how many had begun.
        static PARSED_AT: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
    }

    /// Called where a batch's recipients are first read.
    pub(super) fn note_parse() {
        PARSED_AT.with(|p| p.borrow_mut().push(BEGUN.get()));
    }

    /// A MemoryStore that counts the transactions it begins, and refuses
    /// as many commits as `conflicts` says with `Conflict` (the engine
    /// then tries again).
    struct Counting(MemoryStore, Arc<std::sync::atomic::AtomicUsize>);

    /// Refuses the commit while conflicts are left to give.
    struct ConflictAtCommit(Arc<std::sync::atomic::AtomicUsize>);

    impl crate::TxHooks for ConflictAtCommit {
        fn commit(&mut self, inner: Box<dyn Transaction + '_>) -> crate::StoreResult<()> {
            use std::sync::atomic::Ordering::SeqCst;
            match self.0.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)) {
                Ok(_) => Err(crate::StoreError::Conflict),
                Err(_) => inner.commit(),
            }
        }
    }

    impl Store for Counting {
        fn begin(&self) -> crate::StoreResult<Box<dyn Transaction + '_>> {
            BEGUN.set(BEGUN.get() + 1);
            Ok(Box::new(crate::ForwardingTx::new(
                self.0.begin()?,
                ConflictAtCommit(Arc::clone(&self.1)),
            )))
        }
    }

    /// An engine on `store` with the organization Acme: its owner acts.
    fn acme(store: impl Store + 'static) -> (Enlist, crate::Organization, Actor) {
        let engine = Enlist::new(Arc::new(store));
        let crate::CreatedOrganization {
            organization,
            owner,
            ..
        } = engine
            .create_organization(crate::NewOrganization::new(
                "Acme",
                "acct-1",
                "ada@acme.test",
            ))
            .expect("org");
        (engine, organization, Actor::Member(owner.id))
    }

    /// The member the account `user_ref` becomes by accepting the first
    /// invitation of `report`.
    fn accept_first(engine: &Enlist, report: &InviteReport, user_ref: &str) -> crate::Member {
        let token = report.issued[0].secret.clone().expect("token");
        engine
            .accept(
                token.expose(),
                crate::Registration {
                    user_ref: user_ref.into(),
                    first_name: Some("Pat".into()),
                    last_name: Some("Plain".into()),
                    ..crate::Registration::default()
                },
            )
            .expect("accept")
            .member
    }

    /// (transactions begun, transactions begun at each parse) during `f`.
    fn count(f: impl FnOnce()) -> (usize, Vec<usize>) {
        BEGUN.set(0);
        PARSED_AT.with(|p| p.borrow_mut().clear());
        f();
        (BEGUN.get(), PARSED_AT.with(|p| p.borrow().clone()))
    }

    #[test]
    fn recipients_are_read_after_authorization_and_outside_any_transaction() {
        let conflicts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (engine, org, owner) = acme(Counting(MemoryStore::new(), Arc::clone(&conflicts)));
        let report = engine
            .invite(
                &org.id,
                &owner,
                InviteRequest::new(Recipients::Paste("pat@acme.test".into())),
            )
            .expect("invite pat");
        let pat = accept_first(&engine, &report, "acct-pat");

        // An administrator: one short read, the paste parsed after it
        // committed and before the write transaction began.
        let (begun, parsed_at) = count(|| {
            engine
                .invite(
                    &org.id,
                    &owner,
                    InviteRequest::new(Recipients::Paste("a@acme.test, b@acme.test".into())),
                )
                .expect("invite");
        });
        assert_eq!((begun, parsed_at), (2, vec![1]));

        // A write that conflicts at its commit: the batch parsed again
        // before the second write transaction begins, never inside one;
        // the invitations issued once.
        conflicts.store(1, std::sync::atomic::Ordering::SeqCst);
        let (begun, parsed_at) = count(|| {
            let report = engine
                .invite(
                    &org.id,
                    &owner,
                    InviteRequest::new(Recipients::Paste("c@acme.test, d@acme.test".into())),
                )
                .expect("invite after a conflict");
            assert_eq!(report.issued.len(), 2);
        });
        assert_eq!((begun, parsed_at), (3, vec![1, 2]));

        // A member who may not invite: one short read, and the 2 MB paste
        // is never read.
        let paste = "someone@acme.test, ".repeat(110_000);
        let (begun, parsed_at) = count(|| {
            let err = engine
                .invite(
                    &org.id,
                    &Actor::Member(pat.id.clone()),
                    InviteRequest::new(Recipients::Paste(paste)),
                )
                .expect_err("no right to invite");
            assert_eq!(err.code(), "permission_denied");
        });
        assert_eq!((begun, parsed_at), (1, vec![]));

        // An oversized paste from an administrator: refused on its size,
        // never parsed, nothing but the short read.
        let (begun, parsed_at) = count(|| {
            let err = engine
                .invite(
                    &org.id,
                    &owner,
                    InviteRequest::new(Recipients::Paste("x@acme.test,".repeat(20_000))),
                )
                .expect_err("too big");
            assert_eq!(err.code(), "limit_exceeded");
        });
        assert_eq!((begun, parsed_at), (1, vec![]));
    }

    /// `SendOutcome::Sent` holds its invitation unboxed (so uniffi takes
    /// the enum), and its JSON is what it was: the issued invitation's
    /// fields beside the `outcome` tag.
    #[test]
    fn a_send_outcome_serializes_flat_with_its_tag() {
        let engine = Enlist::in_memory();
        let crate::CreatedOrganization {
            organization: org,
            owner,
            ..
        } = engine
            .create_organization(crate::NewOrganization::new(
                "Acme",
                "acct-1",
                "ada@acme.test",
            ))
            .expect("org");
        let owner = Actor::Member(owner.id);
        let mut staged = InviteRequest::new(Recipients::Paste("pat@acme.test".into()));
        staged.send = false;
        let id = engine
            .invite(&org.id, &owner, staged)
            .expect("stage")
            .issued[0]
            .invitation
            .id
            .clone();
        let missing = InvitationId::from("inv_missing");
        let report = engine
            .send_staged(&org.id, &owner, &[id.clone(), missing.clone()])
            .expect("send");
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["results"][0]["outcome"], "sent");
        assert_eq!(json["results"][0]["invitation"]["id"], id.as_str());
        assert_eq!(json["results"][1]["outcome"], "failed");
        assert_eq!(json["results"][1]["invitation"], missing.as_str());
        let back: SendReport = serde_json::from_value(json).expect("read back");
        assert_eq!(back, report);
        assert!(
            matches!(&report.results[0], SendOutcome::Sent { issued } if issued.invitation.id == id)
        );
    }

    #[test]
    fn the_fragment_count_is_the_parsers() {
        for text in [
            "",
            ",,,",
            "a@b.co",
            "a@b.co, c@d.co;\n e@f.co",
            "\"Doe, Jane\" <j@d.co>, x, y z; <q@r.co>",
            "bob at example.com\r\n\r\nann@x.co",
            "\"unterminated, a@b.co, c@d.co",
            "Name <a@b.co> <c@d.co>, (comment) d@e.co",
        ] {
            assert_eq!(
                crate::email::count_entries(text),
                parse_recipients(text).entries.len(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_batch_is_bounded_by_its_policy_before_it_is_parsed() {
        let p = crate::Policy {
            max_batch: 2,
            ..crate::Policy::default()
        };
        assert_eq!(p.max_recipient_entries(), 8);
        assert_eq!(p.max_recipient_bytes(), 2560);
        let req = |r| InviteRequest::new(r);
        let limit = |r| match prepare_batch(&p, &req(r)) {
            Err(Error::LimitExceeded { limit, .. }) => Some(limit),
            _ => None,
        };
        assert_eq!(
            limit(Recipients::Paste("a".repeat(2561))),
            Some(LimitKind::RecipientBytes)
        );
        assert_eq!(
            limit(Recipients::Paste(",a".repeat(9))),
            Some(LimitKind::RecipientEntries)
        );
        assert_eq!(limit(Recipients::Paste(",a".repeat(8))), None);
        assert_eq!(
            limit(Recipients::List(vec![RecipientInput::email("a@b.co"); 9])),
            Some(LimitKind::RecipientEntries)
        );
        assert_eq!(
            limit(Recipients::FormField("a".repeat(251))),
            Some(LimitKind::PasteFieldChars)
        );
        let mut row = RecipientInput::email("a@b.co");
        row.groups = Some(vec![
            GroupGrant::member(crate::GroupId::from("g"));
            MAX_GRANTS + 1
        ]);
        assert!(prepare_batch(&p, &req(Recipients::List(vec![row.clone()]))).is_err());
        // All rows' grants together: at most 4 × 8 with max_batch 2.
        row.groups = Some(vec![GroupGrant::member(crate::GroupId::from("g")); 4]);
        assert!(prepare_batch(&p, &req(Recipients::List(vec![row.clone(); 8]))).is_ok());
        row.groups = Some(vec![GroupGrant::member(crate::GroupId::from("g")); 5]);
        assert!(prepare_batch(&p, &req(Recipients::List(vec![row; 8]))).is_err());
    }

    /// Each row of a paste as `prepare_batch` made it before it read the
    /// parser's marks: every entry through `prepare_recipient` with a map
    /// of the keys taken (the oracle of the test below).
    fn paste_rows_by_map(text: &str) -> Vec<std::result::Result<Text, RejectReason>> {
        let mut seen = HashMap::default();
        parse_recipients(text)
            .entries
            .into_iter()
            .enumerate()
            .map(|(index, e)| {
                let recipient = match e.outcome {
                    EntryOutcome::Valid(m) | EntryOutcome::Duplicate { mailbox: m, .. } => {
                        Ok(m.into_owned())
                    }
                    EntryOutcome::Invalid { error } => Err(error),
                };
                let row = RecipientInput {
                    email: Some(e.text.into_owned()),
                    ..RecipientInput::default()
                };
                prepare_recipient(&row, Some(recipient), index, Some(&mut seen)).map(|r| r.key)
            })
            .collect()
    }

    fn paste_rows(text: &str) -> Vec<std::result::Result<Text, RejectReason>> {
        let policy = crate::Policy::default();
        let req = InviteRequest::new(Recipients::Paste(text.to_owned()));
        let batch = prepare_batch(&policy, &req).expect("a small paste");
        batch
            .rows
            .into_iter()
            .map(|row| row.recipient.map(|r| r.key))
            .collect()
    }

    /// Whether two texts are one allocation.
    fn shared(a: &str, b: &str) -> bool {
        std::ptr::eq(a.as_ptr(), b.as_ptr())
    }

    /// What one batch writes shares its texts: an address typed as its
    /// key is one text for both (a mixed-case one is two); the batch's
    /// role and license type are one text for all its invitations; the
    /// store's copy, the event, the report row, the queued email and the
    /// accepted member hold the invitation's own texts, and a report
    /// row's target is the invitation id's.
    #[test]
    fn what_a_batch_writes_shares_its_texts() {
        let rows = |text: &str| {
            prepare_batch(
                &crate::Policy::default(),
                &InviteRequest::new(Recipients::Paste(text.into())),
            )
            .expect("a small paste")
            .rows
        };
        let parsed = rows("ada@x.test\nBob@X.test");
        let Ok(ada) = &parsed[0].recipient else {
            panic!("ada parsed")
        };
        assert!(shared(ada.contact.as_str(), &ada.key));
        let Ok(bob) = &parsed[1].recipient else {
            panic!("bob parsed")
        };
        assert_eq!(
            (bob.contact.as_str(), bob.key.as_str()),
            ("Bob@x.test", "bob@x.test")
        );

        let (engine, org, owner) = acme(MemoryStore::new());
        let report = engine
            .invite(
                &org.id,
                &owner,
                InviteRequest::new(Recipients::Paste("p@acme.test, q@acme.test".into())),
            )
            .expect("invite");
        let (p, q) = (&report.issued[0].invitation, &report.issued[1].invitation);
        assert!(shared(&p.role, &q.role) && shared(&p.license_type, &q.license_type));
        assert!(shared(p.recipient.as_str(), &p.recipient_key));

        let mut tx = engine.store().begin().expect("begin");
        let stored_p = tx
            .invitation(&org.id, &p.id)
            .expect("read")
            .expect("p stored");
        assert!(shared(&stored_p.recipient_key, &p.recipient_key));
        assert!(shared(&stored_p.role, &p.role));
        let queued = tx.queued_messages_for(&org.id, &p.id).expect("queued");
        assert!(shared(&queued[0].email.to, p.recipient.as_str()));
        drop(tx);

        let events = engine.events(&org.id, &owner, 0, 100).expect("events");
        let issued = events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::InvitationIssued {
                    invitation,
                    recipient,
                    role,
                    ..
                } if *invitation == p.id => Some((recipient, role)),
                _ => None,
            })
            .expect("the issue event");
        assert!(shared(issued.0, p.recipient.as_str()) && shared(issued.1, &p.role));

        let kept = engine
            .batch_report(&org.id, &owner, &report.batch_id)
            .expect("report");
        let row = kept.rows.iter().find(|r| r.line == 1).expect("p's row");
        assert!(shared(&row.contact, p.recipient.as_str()));
        assert!(
            row.target_id
                .as_deref()
                .is_some_and(|t| shared(t, p.id.as_str()))
        );
        assert!(row.role.as_deref().is_some_and(|r| shared(r, &p.role)));

        let member = accept_first(&engine, &report, "acct-p");
        assert!(shared(&member.contact_key, &p.recipient_key));
        assert!(shared(&member.role, &p.role));
    }

    /// A batch's queued emails share one draft while what it holds is the
    /// same, and a recipient with a name of their own gets their own.
    #[test]
    fn a_batch_shares_its_email_drafts_while_they_are_equal() {
        let (engine, org, owner) = acme(MemoryStore::new());
        let report = engine
            .invite(
                &org.id,
                &owner,
                InviteRequest::new(Recipients::Paste(
                    "p@acme.test, q@acme.test, Rex Doe <r@acme.test>, s@acme.test".into(),
                )),
            )
            .expect("invite");
        let mut tx = engine.store().begin().expect("begin");
        let drafts: Vec<std::sync::Arc<crate::outbox::EmailDraft>> = report
            .issued
            .iter()
            .map(|i| {
                let queued = tx
                    .queued_messages_for(&org.id, &i.invitation.id)
                    .expect("queued");
                queued[0].draft.clone().expect("kept as a draft")
            })
            .collect();
        let same = |a: usize, b: usize| std::sync::Arc::ptr_eq(&drafts[a], &drafts[b]);
        assert!(same(0, 1), "p and q share one draft");
        assert!(!same(1, 2), "Rex's has his name");
        assert_eq!(drafts[2].vars.recipient_name.as_deref(), Some("Rex Doe"));
        assert_eq!(drafts[0].vars.recipient_name, None);
        assert!(!same(2, 3), "s is not Rex");
        assert_eq!(*drafts[3], *drafts[0], "s's draft says what p's does");
    }

    /// A repeat whose first entry was rejected: the first repeat taken
    /// stands for the key, and the next repeat points at it.
    #[test]
    fn a_paste_repeat_of_a_rejected_entry_is_taken_once() {
        let row = |index: usize, recipient| PreparedRow::pasted(index, String::new(), recipient);
        let taken = |key: &str| {
            Ok(Recipient {
                contact: Contact::Email(key.into()),
                key: Text::from(key),
                display_name: None,
                first_name: None,
                last_name: None,
                warnings: Vec::new(),
                user_ref: None,
            })
        };
        let rejected = Err(RejectReason::InvalidField {
            reason: "a name it may not carry".into(),
        });
        let mut taken_for = HashMap::default();
        let mut rows = vec![row(0, rejected)];
        assert_eq!(repeat_of(&rows, &mut taken_for, 0, 1), None, "taken");
        rows.push(row(1, taken("ada@x.test")));
        assert_eq!(repeat_of(&rows, &mut taken_for, 0, 2), Some(1));
        assert_eq!(repeat_of(&rows, &mut taken_for, 0, 3), Some(1));
        rows.push(row(2, taken("bob@x.test")));
        assert_eq!(repeat_of(&rows, &mut taken_for, 2, 4), Some(2));
        // And as a paste: repeats by key, whatever the case.
        let text = "ada@x.test, ADA@x.test, bob@x.test, \"Ada\" <ada@X.test>, not an address";
        let rows = paste_rows(text);
        assert_eq!(rows, paste_rows_by_map(text));
        assert_eq!(
            rows[1],
            Err(RejectReason::DuplicateInBatch { first_index: 0 })
        );
        assert_eq!(
            rows[3],
            Err(RejectReason::DuplicateInBatch { first_index: 0 })
        );
    }

    proptest::proptest! {
        /// A paste's rows, repeats and all, are what a map of the keys
        /// taken gave: the parser's marks, and the rare repeat of a
        /// rejected entry, decide the same.
        #[test]
        fn paste_repeats_are_those_of_a_map_of_keys(
            entries in proptest::collection::vec(
                (0..4usize, 0..3usize, 0..4usize),
                0..24,
            ),
            newline in proptest::bool::ANY,
        ) {
            let locals = ["ada", "ADA", "bob", "Bob"];
            let names = ["", "\"Ada\" ", "\"B\tc\" ", "\"C\u{2028}d\" "];
            let text: Vec<String> = entries
                .iter()
                .map(|&(local, domain, name)| match domain {
                    2 => format!("{}not an address", names[name]),
                    d => format!(
                        "{}{}{}@{}{}",
                        names[name],
                        if name == 0 { "" } else { "<" },
                        locals[local],
                        ["x.test", "X.TEST"][d],
                        if name == 0 { "" } else { ">" },
                    ),
                })
                .collect();
            let text = text.join(if newline { "\n" } else { ", " });
            proptest::prop_assert_eq!(paste_rows(&text), paste_rows_by_map(&text), "{:?}", text);
        }
    }

    #[test]
    fn csv_rows_quote_and_neutralize_formulas() {
        assert_eq!(
            csv_row(&["a", "b,c", "say \"hi\""]),
            "a,\"b,c\",\"say \"\"hi\"\"\""
        );
        assert_eq!(
            csv_row(&["=HYPERLINK(1)", "-2", "@x"]),
            "'=HYPERLINK(1),'-2,'@x"
        );
        // A leading tab or carriage return also starts a formula in some
        // spreadsheets (OWASP CSV injection); a tab is also a separator.
        // A tab is also a separator, so the formula after it is neutralized
        // too.
        assert_eq!(csv_row(&["\t=1+1", "\r=1"]), "\"'\t'=1+1\",\"'\r'=1\"");
        // A formula after leading spaces, and `;` (the separator of many
        // locales) quoted, with what follows it neutralized.
        assert_eq!(
            csv_row(&["  =1+1", "x;y", "x; =y"]),
            "'  =1+1,\"x;y\",\"x; '=y\""
        );
    }

    #[test]
    fn no_csv_cell_starts_a_formula_whatever_the_separator() {
        let hostile = [
            "x;=HYPERLINK(1)",
            "x;=HYPERLINK(\"http://evil\")",
            " =1+1",
            "x\t+1",
            "a;b;@SUM(1)",
            "x\n=1",
            "x\r-1",
            "ok",
        ];
        let text: String = hostile
            .iter()
            .map(|h| csv_row(&[h, "2", h]) + "\n")
            .collect();
        for sep in [b',', b';', b'\t'] {
            let mut r = csv::ReaderBuilder::new()
                .delimiter(sep)
                .has_headers(false)
                .flexible(true)
                .from_reader(text.as_bytes());
            let mut cells = 0;
            for rec in r.records() {
                for cell in rec.expect("a record").iter() {
                    cells += 1;
                    assert!(
                        !cell.trim_start().starts_with(['=', '+', '-', '@']),
                        "separator {:?}: {cell:?} in\n{text}",
                        sep as char
                    );
                }
            }
            assert!(cells >= hostile.len());
        }
        // Read with the right separator, every value comes back as written
        // (after the neutralizing quote).
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        for (rec, h) in r.records().zip(hostile) {
            let rec = rec.expect("a record");
            assert_eq!(rec.len(), 3);
            assert_eq!(rec[0].replace('\'', ""), h);
        }
    }

    #[test]
    fn reject_reasons_have_codes_and_messages() {
        let r = RejectReason::NoSeatLeft {
            license_type: "pro".into(),
            limit: 3,
        };
        assert_eq!(r.code(), "no_seat_left");
        assert_eq!(r.to_string(), "no pro seat left (limit 3)");
        assert_eq!(
            RejectReason::DuplicateInBatch { first_index: 0 }.to_string(),
            "duplicate of recipient #1"
        );
    }

    /// A send or resend gives an invitation its own lifetime, held to the
    /// policy's bounds as they are now; without one, the policy's default.
    #[test]
    fn a_send_uses_the_invitations_own_lifetime_within_todays_bounds() {
        let mut p = crate::Policy {
            min_invitation_lifetime_secs: 3600,
            invitation_lifetime_secs: 86_400,
            max_invitation_lifetime_secs: 7 * 86_400,
            ..crate::Policy::default()
        };
        assert_eq!(lifetime_now(&p, None), 86_400);
        assert_eq!(lifetime_now(&p, Some(2 * 86_400)), 2 * 86_400);
        // The policy narrowed since the invitation was made.
        p.max_invitation_lifetime_secs = 86_400;
        assert_eq!(lifetime_now(&p, Some(2 * 86_400)), 86_400);
        p.min_invitation_lifetime_secs = 7200;
        assert_eq!(lifetime_now(&p, Some(60)), 7200);
        assert_eq!(
            RejectReason::InviterLimitReached { limit: 3 }.code(),
            "inviter_limit_reached"
        );
        assert!(
            RejectReason::LifetimeOutOfBounds {
                lifetime_secs: 60,
                min_secs: 3600,
                max_secs: 7200
            }
            .to_string()
            .contains("3600 to 7200")
        );
    }
}

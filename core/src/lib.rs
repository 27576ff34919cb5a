#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]
#![deny(unreachable_pub)]

// The modules are private: what the crate offers is the export list below,
// one place to read the whole API. Three namespaces stay public because
// each serves a reader of its own: `email` (the address and paste parser),
// `store` (what a store author implements and the helpers for it) and
// `wire` (the wire names of the enums). `testing` is the store
// conformance suite, behind the feature of that name.
mod clock;
mod directory;
mod domain;
pub mod email;
mod engine;
mod error;
mod event;
mod flat;
mod forwarding;
mod group;
mod hooks;
mod id;
mod import_file;
mod invitation;
mod lifecycle;
mod link;
mod member;
mod memory;
mod metadata;
mod organization;
mod outbox;
mod people;
mod policy;
mod report;
// Python (the `python` feature): the returned records are pyo3 classes;
// their conversions and extra methods are in `python_support`, public for
// the binding.
#[cfg(feature = "python")]
pub mod python_support;
mod role;
mod seal;
mod secret;
pub mod store;
mod template;
#[cfg(feature = "testing")]
pub mod testing;
mod text;
mod timestamp;
#[cfg(feature = "uniffi")]
mod uniffi_support;
pub mod wire;

// Kotlin and Swift (the `uniffi` feature): core's records and enums derive
// their uniffi traits where they are defined; the custom types (ids, times,
// ...) are declared once, in `uniffi_support`.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

// The engine and its commands' inputs and outputs.
pub use engine::{
    ACCESS_CODE_LOCK_SECS, ACCESS_CODE_MAX_LOCK_SECS, Acceptance, ActivatedLink,
    CreatedOrganization, EngineConfig, Enlist, FieldChange, GroupQuery, GroupUpdate,
    ImportDefaults, ImportInterruption, ImportRejection, ImportReport, ImportedInvitation,
    InviteReport, InviteRequest, IssuedInvitation, LinkPreview, LinkSpec,
    MAX_ACCEPT_URL_BASE_CHARS, MAX_ACCEPT_URL_BASES, MAX_CONFLICT_RETRIES, MAX_OUTBOX_BATCH,
    MAX_PRODUCT_NAME_CHARS, MemberUpdate, NewGroup, NewOrganization, RecipientInput, Recipients,
    RejectReason, RejectedRecipient, SendOutcome, SendReport, check_accept_url_base,
    normalize_identifier,
};
// Bulk actions over a selection, with typed confirmation numbers.
pub use engine::{
    BulkAction, BulkConfirmation, BulkOutcome, BulkReport, BulkRequest, BulkRow,
    CONFIRMATION_DIGITS, CONFIRMATION_WINDOW_SECS, CONFIRMATION_WINDOWS,
};
// What an actor may do, editing staged invitations (the `caps` part of issue 13).
pub use engine::{Capabilities, GroupCapability, InviteCapability, StagedInvitationUpdate};
// Access codes sealed under the host's key, to be shown again (ADR 0005).
pub use seal::{SealedCode, SealingKey};
// Dry runs of invitations.
pub use engine::{ImportDryRun, InviteDryRun, WouldIssue};
// Bulk update of members through the import template.
pub use engine::{BulkRowStatus, BulkUpdateReport, BulkUpdateRow};
// Errors.
pub use error::{
    EntityKind, Error, ErrorCode, ErrorFamily, Fact, FactKind, Feature, LimitKind, MailError,
    RegistrationField, Result, StoreError, UniqueRule,
};
// The domain's records, ids and enums.
pub use event::{Actor, Event, EventKind, JoinedVia};
pub use group::{Group, GroupGrant, GroupSort};
pub use id::{BatchId, GroupId, InvitationId, MemberId, MessageId, OrgId};
pub use invitation::{
    Invitation, InvitationPreview, InvitationQuery, InvitationStatus, Registration,
    RegistrationNeeds, SecretLookup, StoredInvitation,
};
pub use lifecycle::{Lifecycle, Transition};
pub use link::{InviteLink, StoredInviteLink};
pub use member::{Attributes, MAX_ATTRIBUTE_KEY_CHARS, MAX_ATTRIBUTE_VALUE_CHARS, MAX_ATTRIBUTES};
pub use member::{
    Contact, LicenseUsage, Member, MemberKind, MemberQuery, MemberSort, MemberStatus, Page,
};
pub use organization::Organization;
pub use people::{
    MAX_PEOPLE_SEARCH_CHARS, PeopleQuery, PeopleSort, Person, PersonLabel, PersonSource,
};
pub use role::{GroupRole, Permission, PermissionSet, Role, builtin};
pub use text::Text;
// Policy and its bounds.
pub use policy::{
    DEFAULT_LICENSE, ENTRIES_PER_RECIPIENT, MAX_ALLOWED_DOMAINS, MAX_DURATION_SECS,
    MAX_IMPORT_BYTES, MAX_SEAT_LIMITS, PASTE_BYTES_PER_RECIPIENT, Policy, RegistrationRequirements,
};
// Import files.
pub use import_file::{
    ImportFormat, ImportGroup, ImportLimits, ImportRow, ImportRowError, ImportSheet,
    import_template_csv, parse_import,
};
// Email addresses (the whole parser is the `email` module).
pub use email::{Mailbox, ParsedRecipients, parse_address, parse_recipients};
// Mail delivery.
pub use outbox::{
    DeliveryReport, Mailer, OutboxMessage, OutboxStatus, OutgoingEmail, REDACTED, RecordingMailer,
    RetryPolicy, scrub_mail_error,
};
// The outbox worker and the dead letters.
pub use outbox::{DeadLetter, StopSignal, WorkerOptions, WorkerReport};
// Invitation email templates.
pub use template::{
    EmailPreview, EmailPreviewRequest, EmailSettings, EmailTemplate, MAX_BODY_TEMPLATE_CHARS,
    MAX_LOCALE_CHARS, MAX_RENDERED_BODY_CHARS, MAX_SUBJECT_CHARS, MAX_SUBJECT_TEMPLATE_CHARS,
    MAX_TEMPLATES_PER_ORG, NewEmailTemplate, TEMPLATE_FUEL, TEMPLATE_VARIABLES, format_expiry,
    locale_fallbacks, normalize_locale,
};
// Secrets, clocks and stores: what the engine is built from.
pub use clock::{Clock, ManualClock, SystemClock};
pub use memory::MemoryStore;
pub use secret::{
    ACCESS_CODE_CHARS, MAX_TOKEN_INPUT_BYTES, OsSecrets, ParsedToken, Secret, SecretHash,
    SecretKey, SecretSource, SeededSecrets, TOKEN_RANDOM_CHARS, can_name, new_invitation_token,
    new_token, parse_token,
};
pub use store::{SeatCount, Store, StoreResult, TokenKey, Transaction};
// A transaction that wraps another, for stores that wrap a store.
pub use forwarding::{ForwardingTx, TxCall, TxHooks};
// Batch reports: the Invitations and Errors reports of a bulk command.
pub use report::{
    BatchReport, MAX_REPORT_CELL_CHARS, MAX_REPORT_ROWS, ReportKind, ReportRow, RowOutcome,
};
// The directory assistant (seed 000) and its sources.
pub use directory::{
    ACTIVE_STATUS, CSV_DEFAULT_COMPANY, CsvDirectory, DirectoryCompany, DirectoryEmployee,
    DirectorySource, MAX_DIRECTORY_COMPANIES, MAX_DIRECTORY_CSV_BYTES, MAX_DIRECTORY_CSV_ROWS,
    MAX_DIRECTORY_EMPLOYEES, MemoryDirectory, check_companies, check_employees,
};
pub use engine::{
    DirectoryAssistant, DirectoryField, DirectoryReview, DirectoryReviewRow, DirectoryRow,
    DirectorySendReport,
};
pub use store::{KeyStanding, MAX_STANDING_KEYS};
// The engine for async hosts on tokio (the `tokio` feature).
#[cfg(feature = "tokio")]
pub use engine::{AsyncEnlist, MAX_CONCURRENT_COMMANDS};
// Hooks around every recorded change, and the event feed for webhooks.
pub use engine::{EventFeed, FeedEvent, MAX_FEED_KINDS, event_kind_name};
pub use hooks::{HookChange, HookError, Hooks, MAX_HOOK_REASON_CHARS};
// Organizations across the store: of an account, all of them, slugs,
// deletion, leaving, host-defined permissions (issue 14, orgs).
pub use engine::MAX_ORG_PREFIX_CHARS;
pub use organization::{
    AccountMembership, DeleteMode, MAX_SLUG_CHARS, MIN_SLUG_CHARS, OrganizationQuery, check_slug,
    slug_from_name,
};
pub use role::{MAX_CUSTOM_PERMISSION_CHARS, MAX_CUSTOM_PERMISSIONS, check_custom_permission};
// The invitee's side across organizations: the inbox, accept and decline
// by identity, direct membership (issue 14).
pub use engine::{Identity, InboxInvitation, MAX_INBOX_PAGE, NewMember};
pub use store::PersonLookup;
#[cfg(feature = "uniffi")]
pub use uniffi_support::InboxPage;
// Verified domains and membership requests (the `domains` part of issue 14).
pub use domain::{
    DNS_RECORD_LABEL, DNS_VALUE_PREFIX, DOMAIN_CODE_TTL_SECS, DomainEnrollment, DomainOffer,
    DomainStatus, DomainVerificationMethod, MAX_DOMAIN_BYTES, MAX_DOMAIN_CODE_ATTEMPTS,
    MAX_DOMAIN_CODES_SENT, MAX_DOMAINS_PER_ORG, MAX_TXT_VALUE_BYTES, MAX_TXT_VALUES,
    MembershipRequest, MembershipRequestQuery, MembershipRequestStatus, OrgDomain,
    REQUEST_RETRY_SECS, StoredDomain, normalize_domain,
};
pub use id::MembershipRequestId;
#[cfg(feature = "uniffi")]
pub use uniffi_support::MembershipRequestPage;
// Several invitation links per organization (ADR 0013).
pub use engine::NewLink;
pub use id::LinkId;
pub use link::{
    DEFAULT_LINK_NAME, LinkStatus, MAX_LINK_DOMAINS, MAX_LINK_NAME_CHARS, MAX_LINK_USES,
    MAX_LINKS_PER_ORG,
};
#[cfg(feature = "uniffi")]
pub use uniffi_support::{AccountMembershipPage, OrganizationPage};
#[cfg(feature = "uniffi")]
pub use uniffi_support::{
    AddressNotice, AddressProblem, DeadLetterPage, ImportedRow, InvitationPage, LinkPage,
    MemberPage, PersonPage, SecretText, utc_from_system_time,
};
// Per-invitation settings (issue 14): metadata, redirect URLs.
pub use engine::{MAX_REDIRECT_URLS, check_redirect_url};
pub use metadata::{
    MAX_METADATA_BYTES, MAX_METADATA_DEPTH, MAX_METADATA_KEY_CHARS, MAX_METADATA_VALUES, Metadata,
};

/// The Rust examples of the book (`docs/src`) that need only this crate,
/// compiled and run with the doctests so that the book cannot drift from
/// the API.
#[cfg(doctest)]
mod book {
    #[doc = include_str!("../../docs/src/directory-assistant.md")]
    struct DirectoryAssistant;
    #[doc = include_str!("../../docs/src/email-parsing.md")]
    struct EmailParsing;
    #[doc = include_str!("../../docs/src/email-templates.md")]
    struct EmailTemplates;
    #[doc = include_str!("../../docs/src/introduction.md")]
    struct Introduction;
    #[doc = include_str!("../../docs/src/outbox.md")]
    struct Outbox;
    #[doc = include_str!("../../docs/src/people-view.md")]
    struct PeopleView;
    #[doc = include_str!("../../docs/src/quickstart-rust.md")]
    struct QuickstartRust;
    #[doc = include_str!("../../docs/src/bulk-actions.md")]
    struct BulkActions;
    #[doc = include_str!("../../docs/src/capabilities.md")]
    struct Capabilities;
    #[doc = include_str!("../../docs/src/reports.md")]
    struct Reports;
    #[doc = include_str!("../../docs/src/dry-run.md")]
    struct DryRun;
    #[doc = include_str!("../../docs/src/bulk-update.md")]
    struct BulkUpdate;
    #[doc = include_str!("../../docs/src/invitation-settings.md")]
    struct InvitationSettings;
    #[cfg(feature = "tokio")]
    #[doc = include_str!("../../docs/src/async.md")]
    struct Async;
    #[doc = include_str!("../../docs/src/hooks.md")]
    struct Hooks;
    #[doc = include_str!("../../docs/src/invitee-inbox.md")]
    struct InviteeInbox;
    #[doc = include_str!("../../docs/src/verified-domains.md")]
    struct VerifiedDomains;
    #[doc = include_str!("../../docs/src/invitation-links.md")]
    struct InvitationLinks;
    #[doc = include_str!("../../docs/src/organizations.md")]
    struct Organizations;
}

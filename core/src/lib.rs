#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod clock;
pub mod email;
pub mod engine;
pub mod error;
pub mod event;
pub mod group;
pub mod id;
pub mod import_file;
pub mod invitation;
pub mod lifecycle;
pub mod link;
pub mod member;
pub mod memory;
pub mod organization;
pub mod outbox;
pub mod policy;
pub mod role;
pub mod secret;
pub mod store;
#[cfg(feature = "uniffi")]
mod uniffi_support;
pub mod wire;

// Kotlin and Swift (the `uniffi` feature): core's records and enums derive
// their uniffi traits where they are defined; the custom types (ids, times,
// ...) are declared once, in `uniffi_support`.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();
#[cfg(feature = "testing")]
pub mod testing;

pub use clock::{Clock, ManualClock, SystemClock};
pub use email::{Mailbox, ParsedRecipients, parse_address, parse_recipients};
pub use engine::*;
pub use error::{Error, ErrorFamily, LimitKind, MailError, Result, StoreError};
pub use event::{Actor, Event, EventKind, JoinedVia};
pub use group::{Group, GroupGrant, GroupSort};
pub use id::{BatchId, GroupId, InvitationId, MemberId, MessageId, OrgId};
pub use import_file::{
    ImportFormat, ImportGroup, ImportLimits, ImportRow, ImportRowError, ImportSheet,
    import_template_csv, parse_import,
};
pub use invitation::{
    Invitation, InvitationPreview, InvitationQuery, InvitationStatus, Registration,
    RegistrationNeeds, StoredInvitation,
};
pub use link::{InviteLink, StoredInviteLink};
pub use member::{
    Contact, LicenseUsage, Member, MemberKind, MemberQuery, MemberSort, MemberStatus, Page,
};
pub use memory::MemoryStore;
pub use organization::Organization;
pub use outbox::{
    DeliveryReport, Mailer, OutboxMessage, OutboxStatus, OutgoingEmail, RecordingMailer,
    RetryPolicy,
};
pub use policy::{DEFAULT_LICENSE, Policy, RegistrationRequirements};
pub use role::{GroupRole, Permission, PermissionSet, Role};
pub use secret::{
    MAX_TOKEN_INPUT_BYTES, OsSecrets, Secret, SecretHash, SecretKey, SecretSource, SeededSecrets,
};
pub use store::{SeatCount, Store, StoreResult, Transaction};
#[cfg(feature = "uniffi")]
pub use uniffi_support::{AddressProblem, utc_from_system_time};

/// The Rust examples of the book (`docs/src`) that need only this crate,
/// compiled and run with the doctests so that the book cannot drift from
/// the API.
#[cfg(doctest)]
mod book {
    #[doc = include_str!("../../docs/src/email-parsing.md")]
    struct EmailParsing;
    #[doc = include_str!("../../docs/src/introduction.md")]
    struct Introduction;
    #[doc = include_str!("../../docs/src/outbox.md")]
    struct Outbox;
    #[doc = include_str!("../../docs/src/quickstart-rust.md")]
    struct QuickstartRust;
}

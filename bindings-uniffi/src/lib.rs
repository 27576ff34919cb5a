#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

uniffi::setup_scaffolding!();

// Core's records and enums derive their uniffi traits in core (its
// `uniffi` feature); its times are a custom type declared there, used here
// by this crate's own records.
uniffi::use_remote_type!(enlist::chrono::DateTime<chrono::Utc>);

mod callbacks;
mod directory;
mod engine;
mod error;
mod hooks;
mod mailers;
mod maintenance;
mod time;
mod types;

pub use callbacks::{Clock, Mailer};
pub use directory::{
    DirectoryAssistant, DirectoryCompanyStaff, DirectorySource, DirectorySourceError,
    csv_directory, directory_errors_csv, directory_invitations_csv, memory_directory,
};
pub use engine::Enlist;
pub use error::{EnlistError, MailError};
pub use hooks::{HookError, Hooks};
pub use mailers::{SmtpConfig, TlsMode, file_mailer, smtp_mailer};
pub use maintenance::{SqliteCountMismatch, sqlite_repair_counts, sqlite_verify_counts};
pub use types::*;

use enlist::{EngineConfig, Policy};

/// The default policy: start from it and change what differs
/// (`defaultPolicy().copy(maxBatch = 20u)` in Kotlin).
#[uniffi::export]
pub fn default_policy() -> Policy {
    Policy::default()
}

/// The default engine settings.
#[uniffi::export]
pub fn default_engine_config() -> EngineConfig {
    EngineConfig::default()
}

/// Parses what a person typed or pasted into a recipients field, for the
/// form to show "9 recognized" and highlight the fragments that are not
/// addresses. Fails only for a text of more than [`MAX_PARSE_BYTES`]
/// (1 MiB): a paste box holds far less, and the result grows with the text.
#[uniffi::export]
pub fn parse_recipients(text: String) -> Result<ParsedRecipients, EnlistError> {
    if text.len() > MAX_PARSE_BYTES {
        return Err(enlist::Error::InvalidInput {
            field: "text".into(),
            reason: format!(
                "is {} bytes long; at most {MAX_PARSE_BYTES} are parsed",
                text.len()
            ),
        }
        .into());
    }
    let parsed = enlist::parse_recipients(&text);
    Ok(ParsedRecipients::of(&text, parsed))
}

/// The longest text [`parse_recipients`] parses, in UTF-8 bytes.
pub const MAX_PARSE_BYTES: usize = 1 << 20;

/// Normalizes an identifier (phone, personnel number, ...) the way the
/// engine compares them: `"+33 (6) 12-34"` becomes `"+3361234"`.
#[uniffi::export]
pub fn normalize_identifier(raw: String) -> Result<String, EnlistError> {
    Ok(enlist::normalize_identifier(&raw)?)
}

/// The import template: a header row and two example rows, as CSV that
/// spreadsheets open directly.
#[uniffi::export]
pub fn import_template_csv() -> String {
    enlist::import_template_csv()
}

/// A batch report's Invitations report as an XLSX workbook.
#[uniffi::export]
pub fn invitations_report_xlsx(report: enlist::BatchReport) -> Result<Vec<u8>, EnlistError> {
    Ok(report.invitations_xlsx()?)
}

/// A batch report's Errors report as an XLSX workbook.
#[uniffi::export]
pub fn errors_report_xlsx(report: enlist::BatchReport) -> Result<Vec<u8>, EnlistError> {
    Ok(report.errors_xlsx()?)
}

#[cfg(test)]
mod tests;

#![doc = include_str!("../README.md")]
#![deny(unreachable_pub)]

mod file;
mod message;
mod smtp;

// The public interface is:
pub use file::FileMailer;
pub use message::{IDEMPOTENCY_HEADER, from_mailbox};
pub use smtp::{MAX_CA_PEM_BYTES, MAX_CREDENTIAL_BYTES, SmtpConfig, SmtpMailer, TlsMode};

//! [`FileMailer`]: each invitation email as a `.eml` file in a folder.

use crate::message::{build, checked_id, parse_from};
use enlist::{MailError, Mailer, OutgoingEmail};
use lettre::message::Mailbox;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A [`Mailer`] that writes each email to `{folder}/{message id}.eml`: the
/// whole RFC 5322 message, built by the same code as [`SmtpMailer`]'s
/// (only the `Date` differs), for development, demos and the quickstart.
/// Open a file with a mail client to see the email as the invitee would.
///
/// Each file is written to a temporary file in the same folder, then
/// renamed into place: a reader never sees half a message, and a retry of
/// the same message replaces its file. The files hold live accept links:
/// on Unix they are readable by their owner only (mode 0600).
///
/// [`SmtpMailer`]: crate::SmtpMailer
#[derive(Debug)]
pub struct FileMailer {
    folder: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    /// A mailer writing into `folder` (created if missing), with `from`
    /// as every email's `From`.
    pub fn new(folder: impl AsRef<Path>, from: &str) -> Result<Self, enlist::Error> {
        let folder = folder.as_ref().to_path_buf();
        let from = parse_from("file_mailer.from", from)?;
        std::fs::create_dir_all(&folder).map_err(|e| enlist::Error::InvalidInput {
            field: "file_mailer.folder".into(),
            reason: format!("cannot create {}: {e}", folder.display()),
        })?;
        Ok(Self { folder, from })
    }

    /// The folder the files go to.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// The file a message is (or will be) written to.
    pub fn path_of(&self, email: &OutgoingEmail) -> Result<PathBuf, MailError> {
        Ok(self.folder.join(format!("{}.eml", checked_id(email)?)))
    }
}

impl Mailer for FileMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let (_, raw) = build(email, &self.from)?;
        let path = self.path_of(email)?;
        // A full disk or a folder removed meanwhile may be fixed: retry.
        let io = |e: std::io::Error| {
            MailError::Temporary(format!("cannot write {}: {e}", path.display()))
        };
        let mut file = tempfile::Builder::new()
            .prefix(".enlist-")
            .suffix(".eml.tmp")
            .tempfile_in(&self.folder)
            .map_err(io)?;
        file.write_all(&raw).map_err(io)?;
        file.as_file().sync_all().map_err(io)?;
        file.persist(&path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

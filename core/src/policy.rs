//! The per-organization policy: every limit and switch, with defaults.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The largest `max_import_rows` a policy may set.
const IMPORT_ROWS_CEILING: u64 = 100_000;

/// The largest `max_import_bytes` a policy may set: no import file is
/// larger, whatever the organization (checked before its policy is read).
pub(crate) const IMPORT_BYTES_CEILING: u64 = 256 << 20;

/// The license type given when none is named.
pub const DEFAULT_LICENSE: &str = "standard";

/// What a person must provide when accepting an invitation or registering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegistrationRequirements {
    /// A first name is required.
    pub first_name: bool,
    /// A last name is required.
    pub last_name: bool,
    /// A (mobile) phone number is required.
    pub phone: bool,
}

impl Default for RegistrationRequirements {
    fn default() -> Self {
        Self {
            first_name: true,
            last_name: true,
            phone: false,
        }
    }
}

/// Every limit and switch of an organization. Numbers are configurable; the
/// defaults are those of [`Policy::default`].
///
/// ```
/// let p = enlist::Policy::default();
/// assert_eq!(p.max_batch, 100);
/// assert_eq!(p.invitation_lifetime_secs, 7 * 24 * 3600);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Policy {
    /// How long an invitation stays valid, in seconds (default 7 days).
    pub invitation_lifetime_secs: u64,
    /// At most this many recipients per invitation batch (default 100).
    pub max_batch: u32,
    /// At most this many characters in a recipient field typed or pasted
    /// into a form (default 250). The library API itself takes longer lists.
    pub max_paste_field_chars: u32,
    /// At most this many rows per import file (default 500, at most
    /// 100,000).
    pub max_import_rows: u32,
    /// At most this many bytes per import file as uploaded, CSV or XLSX
    /// (default 10 MiB, at most 256 MiB). Checked before anything is read.
    /// A 500-row file weighs well under one megabyte.
    pub max_import_bytes: u64,
    /// XLSX: at most this many entries in the workbook's zip archive
    /// (default 1,000, between 16 and 65,535). Excel writes about a dozen
    /// for a one-sheet workbook.
    pub max_import_entries: u32,
    /// XLSX: at most this many bytes for all the entries of the archive
    /// once unpacked (default 20 MiB, between 1 MiB and 256 MiB). Every
    /// entry is unpacked once, through a bounded reader, before the
    /// workbook is parsed: the sizes the archive declares are not trusted.
    /// A 500-row sheet unpacks to well under one megabyte.
    pub max_import_unpacked_bytes: u64,
    /// XLSX: an entry that unpacks to more than 1 MiB may unpack to at most
    /// this many times its packed size (default 100, between 10 and
    /// 1,032, DEFLATE's own maximum). Spreadsheet XML packs 5 to 30 times;
    /// a zip bomb packs about 1,000 times.
    pub max_import_ratio: u32,
    /// Allowed email domains, lowercase; empty means any. A domain also
    /// allows its subdomains.
    pub allowed_domains: Vec<String>,
    /// Group owners may invite into their own groups.
    pub group_owners_can_invite: bool,
    /// Plain members may invite (as members, into groups they belong to).
    pub members_can_invite: bool,
    /// Guests may be invited.
    pub guests_enabled: bool,
    /// The shareable invitation link may be used.
    pub invite_link_enabled: bool,
    /// People may register without an invitation.
    pub self_registration: bool,
    /// Registration requires two-factor enrolment.
    pub require_two_factor: bool,
    /// The EULA version a person must accept, if any.
    pub eula_version: Option<String>,
    /// Which registration fields are required.
    pub registration: RegistrationRequirements,
    /// Seat limits per license type; a type not listed is unlimited.
    pub seat_limits: BTreeMap<String, u32>,
    /// Open invitations hold a seat until they are accepted, declined,
    /// revoked or expired (default true).
    pub reserve_seats_for_pending: bool,
    /// Minimum time between two sends of one invitation, in seconds
    /// (default 10 minutes).
    pub resend_cooldown_secs: u64,
    /// At most this many sends of one invitation, the first included
    /// (default 5).
    pub resend_cap: u32,
    /// Wrong access codes allowed for one invitation before it is locked
    /// (default 5).
    pub access_code_attempts: u32,
    /// The base of accept links in invitation emails, such as
    /// `https://app.example.com/invite`. The token is appended as `?token=`
    /// (or replaces `{token}` if present). `None` uses the engine's default.
    pub accept_url_base: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            invitation_lifetime_secs: 7 * 24 * 3600,
            max_batch: 100,
            max_paste_field_chars: 250,
            max_import_rows: 500,
            max_import_bytes: 10 << 20,
            max_import_entries: 1_000,
            max_import_unpacked_bytes: 20 << 20,
            max_import_ratio: 100,
            allowed_domains: Vec::new(),
            group_owners_can_invite: false,
            members_can_invite: false,
            guests_enabled: true,
            invite_link_enabled: false,
            self_registration: false,
            require_two_factor: false,
            eula_version: None,
            registration: RegistrationRequirements::default(),
            seat_limits: BTreeMap::new(),
            reserve_seats_for_pending: true,
            resend_cooldown_secs: 600,
            resend_cap: 5,
            access_code_attempts: 5,
            accept_url_base: None,
        }
    }
}

impl Policy {
    /// Checks that the numbers make sense; returns the policy normalized
    /// (domains lowercased and trimmed).
    pub fn validated(mut self) -> Result<Self> {
        if self.invitation_lifetime_secs == 0 {
            return Err(Error::invalid(
                "invitation_lifetime_secs",
                "must be at least one second",
            ));
        }
        if self.invitation_lifetime_secs > 366 * 24 * 3600 {
            return Err(Error::invalid(
                "invitation_lifetime_secs",
                "must be at most a year",
            ));
        }
        for (field, v) in [
            ("max_batch", self.max_batch),
            ("max_paste_field_chars", self.max_paste_field_chars),
            ("max_import_rows", self.max_import_rows),
            ("resend_cap", self.resend_cap),
            ("access_code_attempts", self.access_code_attempts),
        ] {
            if v == 0 {
                return Err(Error::invalid(field, "must be at least 1"));
            }
        }
        if self.max_batch > 10_000 {
            return Err(Error::invalid("max_batch", "must be at most 10000"));
        }
        self.validate_import_limits()?;
        let mut domains = Vec::with_capacity(self.allowed_domains.len());
        for d in &self.allowed_domains {
            let d = d.trim().trim_start_matches('@').to_lowercase();
            if d.is_empty() || d.contains(char::is_whitespace) || d.contains('@') {
                return Err(Error::invalid(
                    "allowed_domains",
                    format!("{d:?} is not a domain"),
                ));
            }
            let ascii = idna::domain_to_ascii(&d)
                .map_err(|_| Error::invalid("allowed_domains", format!("{d:?} is not a domain")))?;
            domains.push(ascii);
        }
        domains.sort();
        domains.dedup();
        self.allowed_domains = domains;
        if let Some(base) = &self.accept_url_base {
            if !(base.starts_with("https://") || base.starts_with("http://")) {
                return Err(Error::invalid("accept_url_base", "must be an http(s) URL"));
            }
        }
        if let Some(v) = &self.eula_version {
            if v.trim().is_empty() {
                return Err(Error::invalid("eula_version", "must not be blank"));
            }
        }
        Ok(self)
    }

    /// The import limits: each between a floor that still reads a real
    /// file and a ceiling far below what would exhaust a server (see
    /// [`crate::import`]).
    fn validate_import_limits(&self) -> Result<()> {
        const MIB: u64 = 1 << 20;
        for (field, v, min, max, unit) in [
            (
                "max_import_rows",
                u64::from(self.max_import_rows),
                1,
                IMPORT_ROWS_CEILING,
                "rows",
            ),
            (
                "max_import_bytes",
                self.max_import_bytes,
                1 << 10,
                IMPORT_BYTES_CEILING,
                "bytes",
            ),
            (
                "max_import_entries",
                u64::from(self.max_import_entries),
                16,
                65_535,
                "entries",
            ),
            (
                "max_import_unpacked_bytes",
                self.max_import_unpacked_bytes,
                MIB,
                256 * MIB,
                "bytes",
            ),
            (
                "max_import_ratio",
                u64::from(self.max_import_ratio),
                10,
                1_032,
                "",
            ),
        ] {
            if !(min..=max).contains(&v) {
                return Err(Error::invalid(
                    field,
                    format!("must be between {min} and {max} {unit}")
                        .trim_end()
                        .to_owned(),
                ));
            }
        }
        Ok(())
    }

    /// Whether an ASCII (IDNA-encoded) lowercase domain is allowed.
    pub fn domain_allowed(&self, ascii_domain: &str) -> bool {
        self.allowed_domains.is_empty()
            || self.allowed_domains.iter().any(|d| {
                ascii_domain == d
                    || (ascii_domain.len() > d.len()
                        && ascii_domain.ends_with(d.as_str())
                        && ascii_domain.as_bytes()[ascii_domain.len() - d.len() - 1] == b'.')
            })
    }

    /// The seat limit of a license type, if any.
    pub fn seat_limit(&self, license_type: &str) -> Option<u32> {
        self.seat_limits.get(license_type).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_allow_subdomains_but_not_lookalikes() {
        let p = Policy {
            allowed_domains: vec!["Example.com".into()],
            ..Policy::default()
        }
        .validated()
        .expect("valid policy");
        assert!(p.domain_allowed("example.com"));
        assert!(p.domain_allowed("eu.example.com"));
        assert!(!p.domain_allowed("badexample.com"));
        assert!(!p.domain_allowed("example.com.evil.net"));
    }

    #[test]
    fn zero_limits_are_refused() {
        let p = Policy {
            max_batch: 0,
            ..Policy::default()
        };
        assert_eq!(
            p.validated().map(|_| ()).map_err(|e| e.code()),
            Err("invalid_input")
        );
    }

    #[test]
    fn import_limits_are_bounded_both_ways() {
        let set = |f: fn(&mut Policy)| {
            let mut p = Policy::default();
            f(&mut p);
            p.validated().map(|_| ()).map_err(|e| e.to_string())
        };
        assert_eq!(set(|_| {}), Ok(()));
        for (f, field) in [
            (
                (|p| p.max_import_rows = 100_001) as fn(&mut Policy),
                "max_import_rows",
            ),
            (|p| p.max_import_bytes = 1023, "max_import_bytes"),
            (|p| p.max_import_bytes = (256 << 20) + 1, "max_import_bytes"),
            (|p| p.max_import_entries = 15, "max_import_entries"),
            (|p| p.max_import_entries = 65_536, "max_import_entries"),
            (
                |p| p.max_import_unpacked_bytes = 0,
                "max_import_unpacked_bytes",
            ),
            (
                |p| p.max_import_unpacked_bytes = u64::MAX,
                "max_import_unpacked_bytes",
            ),
            (|p| p.max_import_ratio = 9, "max_import_ratio"),
            (|p| p.max_import_ratio = 1_033, "max_import_ratio"),
        ] {
            let err = set(f).expect_err(field);
            assert!(err.contains(field), "{err}");
        }
        assert!(set(|p| p.max_import_bytes = 256 << 20).is_ok());
        assert!(set(|p| p.max_import_ratio = 1_032).is_ok());
        assert!(set(|p| p.max_import_rows = 100_000).is_ok());
        // A policy stored before these fields existed reads with the defaults.
        let old: Policy = serde_json::from_str(r#"{"max_import_rows": 50}"#).unwrap();
        assert_eq!(old.max_import_unpacked_bytes, 20 << 20);
    }

    #[test]
    fn idn_domains_are_stored_encoded() {
        let p = Policy {
            allowed_domains: vec!["université.fr".into()],
            ..Policy::default()
        }
        .validated()
        .expect("valid policy");
        assert_eq!(p.allowed_domains, vec!["xn--universit-j4a.fr".to_owned()]);
    }
}

//! The per-organization policy: every limit and switch, with defaults.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The largest `max_import_rows` a policy may set.
const IMPORT_ROWS_CEILING: u64 = 100_000;

/// The largest `max_import_bytes` a policy may set: no import file is
/// larger, whatever the organization (checked before its policy is read).
pub(crate) const IMPORT_BYTES_CEILING: u64 = 256 << 20;
/// The largest `max_import_bytes` a policy may set (256 MiB): a host may
/// refuse larger uploads before reading them.
pub const MAX_IMPORT_BYTES: u64 = IMPORT_BYTES_CEILING;

/// The license type given when none is named.
pub const DEFAULT_LICENSE: &str = "standard";

/// The longest duration a policy (or a [`RetryPolicy`](crate::RetryPolicy))
/// may set, in seconds: 366 days. Every time the engine computes is a
/// stored time plus at most this, so none can overflow.
pub const MAX_DURATION_SECS: u64 = 366 * 24 * 3600;

/// Bytes one recipient may take in a paste, on average: an address of up
/// to 254 bytes with a name and separators. A paste may hold up to
/// `max_batch` × 4 × this many bytes.
pub const PASTE_BYTES_PER_RECIPIENT: u64 = 320;

/// Fragments (a paste's entries, a list's rows) allowed per recipient of
/// `max_batch`: room for typos, duplicates and blank rows, and no more.
pub const ENTRIES_PER_RECIPIENT: u64 = 4;

/// At most this many allowed domains in a policy.
pub const MAX_ALLOWED_DOMAINS: usize = 1000;

/// At most this many license types with a seat limit in a policy.
pub const MAX_SEAT_LIMITS: usize = 100;

/// What a person must provide when accepting an invitation or registering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, module = "enlist._enlist")
)]
pub struct Policy {
    /// How long an invitation stays valid, in seconds (default 7 days).
    pub invitation_lifetime_secs: u64,
    /// At most this many recipients per invitation batch (default 100).
    /// It also bounds what a batch may hold before it is parsed: at most
    /// `max_batch` × [`ENTRIES_PER_RECIPIENT`] entries (a paste's fragments,
    /// a list's rows) and, for a paste, `max_batch` ×
    /// [`ENTRIES_PER_RECIPIENT`] × [`PASTE_BYTES_PER_RECIPIENT`] bytes
    /// (see [`Policy::max_recipient_entries`] and
    /// [`Policy::max_recipient_bytes`]).
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
    /// allows its subdomains. At most [`MAX_ALLOWED_DOMAINS`].
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
    /// The EULA version a person must accept, if any: one line of at most
    /// 64 characters.
    pub eula_version: Option<String>,
    /// Which registration fields are required.
    pub registration: RegistrationRequirements,
    /// Seat limits per license type (each one line of at most 64
    /// characters; at most [`MAX_SEAT_LIMITS`] types); a type not listed is
    /// unlimited.
    pub seat_limits: BTreeMap<String, u32>,
    /// Open invitations hold a seat until they are accepted, declined,
    /// revoked or expired (default true).
    pub reserve_seats_for_pending: bool,
    /// Minimum time between two sends of one invitation, in seconds
    /// (default 10 minutes; at most [`MAX_DURATION_SECS`]).
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
    /// The base belongs to the host: a policy may only name one of the
    /// bases the engine's configuration allows
    /// (`EngineConfig::default_accept_url_base` and
    /// `EngineConfig::allowed_accept_url_bases`); any other is refused when
    /// the policy is saved, and a base the host stops allowing falls back
    /// to the default when links are made.
    pub accept_url_base: Option<String>,
    /// Invitation emails from a member carry a `Reply-To` with the
    /// inviter's address, so an invitee who answers writes to the person
    /// who invited them (default false). Off unless an organization opts
    /// in: it hands every invitee the inviter's address, which members of
    /// a large or public organization may not want to share with people
    /// who have not joined yet, and a reply then goes outside the host's
    /// mail system. Invitations issued by the system (no inviting member)
    /// never carry one.
    pub reply_to_inviter: bool,
    /// The organization role a member invitation gets when neither the
    /// request nor its row names one (invites, pastes, imports; seed 000's
    /// "defaulting from the organization's default role"). `None` (the
    /// default): the built-in `member` role. It must name a role defined in
    /// the organization other than `owner` (checked when the policy is
    /// saved), and a role named here cannot be deleted until the policy
    /// names another. Guests always get the built-in `guest` role unless a
    /// role is named: a default role may hold permissions, which guests
    /// never get.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub default_role: Option<String>,
    /// The shortest lifetime, in seconds, an invitation may ask for
    /// ([`InviteRequest::lifetime_secs`](crate::InviteRequest::lifetime_secs),
    /// a row's own, a staged edit's). Default 1: any; at most
    /// `invitation_lifetime_secs`.
    #[cfg_attr(feature = "uniffi", uniffi(default = 1))]
    pub min_invitation_lifetime_secs: u64,
    /// The longest lifetime, in seconds, an invitation may ask for.
    /// Default [`MAX_DURATION_SECS`] (366 days); at least
    /// `invitation_lifetime_secs`. An invitation that asks for none gets
    /// `invitation_lifetime_secs`.
    #[cfg_attr(feature = "uniffi", uniffi(default = 31622400))]
    pub max_invitation_lifetime_secs: u64,
    /// At most this many open invitations (staged, or pending and not
    /// expired) one member may have issued in the organization; a further
    /// recipient is rejected with
    /// [`RejectReason::InviterLimitReached`](crate::RejectReason::InviterLimitReached).
    /// `None` (the default): no limit. It counts every inviting member,
    /// owners included (an owner raises the limit rather than step past
    /// it); invitations the system issues (no inviting member) are not
    /// counted.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub max_open_invitations_per_inviter: Option<u32>,
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
            reply_to_inviter: false,
            default_role: None,
            min_invitation_lifetime_secs: 1,
            max_invitation_lifetime_secs: MAX_DURATION_SECS,
            max_open_invitations_per_inviter: None,
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
        for (field, v) in [
            ("invitation_lifetime_secs", self.invitation_lifetime_secs),
            ("resend_cooldown_secs", self.resend_cooldown_secs),
            (
                "max_invitation_lifetime_secs",
                self.max_invitation_lifetime_secs,
            ),
        ] {
            check_duration(field, v)?;
        }
        self.check_lifetime_bounds()?;
        if self.max_open_invitations_per_inviter == Some(0) {
            return Err(Error::invalid(
                "max_open_invitations_per_inviter",
                "must be at least 1 (None: no limit)",
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
        if self.allowed_domains.len() > MAX_ALLOWED_DOMAINS {
            return Err(Error::invalid(
                "allowed_domains",
                format!("at most {MAX_ALLOWED_DOMAINS} domains"),
            ));
        }
        if self.seat_limits.len() > MAX_SEAT_LIMITS {
            return Err(Error::invalid(
                "seat_limits",
                format!("at most {MAX_SEAT_LIMITS} license types"),
            ));
        }
        let mut seat_limits = BTreeMap::new();
        for (lt, limit) in &self.seat_limits {
            let lt = crate::engine::clean_label("seat_limits", lt)?;
            if seat_limits.insert(lt.clone(), *limit).is_some() {
                return Err(Error::invalid(
                    "seat_limits",
                    format!("the license type {lt:?} appears twice"),
                ));
            }
        }
        self.seat_limits = seat_limits;
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
            // The form of the base; whether the host allows it is checked
            // by the engine against its configuration
            // (`EngineConfig::accept_url_base_allowed`).
            self.accept_url_base = Some(crate::engine::check_accept_url_base(
                "accept_url_base",
                base,
            )?);
        }
        if let Some(v) = &self.eula_version {
            self.eula_version = Some(crate::engine::clean_label("eula_version", v)?);
        }
        if let Some(r) = &self.default_role {
            // Whether the organization defines it is checked by the engine,
            // which knows its roles.
            let r = crate::engine::clean_label("default_role", r)?;
            if r == crate::role::builtin::OWNER {
                return Err(Error::invalid(
                    "default_role",
                    "the owner role is never given by default; name another role",
                ));
            }
            self.default_role = Some(r);
        }
        Ok(self)
    }

    /// The most entries (a paste's fragments, a list's rows) one batch may
    /// hold: `max_batch` × [`ENTRIES_PER_RECIPIENT`].
    pub fn max_recipient_entries(&self) -> u64 {
        u64::from(self.max_batch).saturating_mul(ENTRIES_PER_RECIPIENT)
    }

    /// The most bytes one pasted batch may hold: `max_batch` ×
    /// [`ENTRIES_PER_RECIPIENT`] × [`PASTE_BYTES_PER_RECIPIENT`] (128,000
    /// with the default `max_batch` of 100).
    pub fn max_recipient_bytes(&self) -> u64 {
        self.max_recipient_entries()
            .saturating_mul(PASTE_BYTES_PER_RECIPIENT)
    }

    /// The import limits: each between a floor that still reads a real
    /// file and a ceiling far below what would exhaust a server (see
    /// [`crate::import_file`]).
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

    /// The role an invitation of `kind` gets when none is named: the
    /// policy's [`default_role`](Self::default_role) for members (else
    /// `member`), the built-in `guest` role for guests.
    pub fn role_for(&self, kind: crate::member::MemberKind) -> &str {
        match (kind, &self.default_role) {
            (crate::member::MemberKind::Member, Some(r)) => r,
            _ => kind.default_role(),
        }
    }

    /// `min_invitation_lifetime_secs` <= `invitation_lifetime_secs` <=
    /// `max_invitation_lifetime_secs`, the minimum at least one second.
    fn check_lifetime_bounds(&self) -> Result<()> {
        let (min, default, max) = (
            self.min_invitation_lifetime_secs,
            self.invitation_lifetime_secs,
            self.max_invitation_lifetime_secs,
        );
        if min == 0 {
            return Err(Error::invalid(
                "min_invitation_lifetime_secs",
                "must be at least one second",
            ));
        }
        if !(min <= default && default <= max) {
            return Err(Error::invalid(
                "invitation_lifetime_secs",
                format!(
                    "the bounds must hold min <= default <= max: \
                     min_invitation_lifetime_secs {min}, invitation_lifetime_secs {default}, \
                     max_invitation_lifetime_secs {max}"
                ),
            ));
        }
        Ok(())
    }

    /// The lifetime an invitation asking for `requested` seconds gets:
    /// the policy's `invitation_lifetime_secs` when it asks for none, its
    /// own when within the bounds, else `Err((min, max))`.
    pub fn lifetime_for(&self, requested: Option<u64>) -> std::result::Result<u64, (u64, u64)> {
        match requested {
            None => Ok(self.invitation_lifetime_secs),
            Some(s)
                if (self.min_invitation_lifetime_secs..=self.max_invitation_lifetime_secs)
                    .contains(&s) =>
            {
                Ok(s)
            }
            Some(_) => Err((
                self.min_invitation_lifetime_secs,
                self.max_invitation_lifetime_secs,
            )),
        }
    }

    /// The seat limit of a license type, if any.
    pub fn seat_limit(&self, license_type: &str) -> Option<u32> {
        self.seat_limits.get(license_type).copied()
    }
}

/// Refuses a duration past [`MAX_DURATION_SECS`].
pub(crate) fn check_duration(field: &str, secs: u64) -> Result<()> {
    if secs > MAX_DURATION_SECS {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_DURATION_SECS} seconds (366 days), not {secs}"),
        ));
    }
    Ok(())
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
    fn durations_are_bounded() {
        for (lifetime, cooldown) in [
            (0, 600),
            (MAX_DURATION_SECS + 1, 600),
            (3600, MAX_DURATION_SECS + 1),
            (3600, u64::MAX),
        ] {
            let p = Policy {
                invitation_lifetime_secs: lifetime,
                resend_cooldown_secs: cooldown,
                ..Policy::default()
            };
            assert_eq!(
                p.validated().map(|_| ()).map_err(|e| e.code()),
                Err("invalid_input"),
                "{lifetime} {cooldown}"
            );
        }
        let p = Policy {
            invitation_lifetime_secs: MAX_DURATION_SECS,
            resend_cooldown_secs: MAX_DURATION_SECS,
            ..Policy::default()
        };
        assert!(p.validated().is_ok());
    }

    #[test]
    fn labels_and_lists_are_bounded() {
        let mut p = Policy {
            eula_version: Some(" 2024-01 ".into()),
            ..Policy::default()
        };
        p.seat_limits.insert(" pro ".into(), 3);
        let p = p.validated().expect("valid");
        assert_eq!(p.eula_version.as_deref(), Some("2024-01"));
        assert_eq!(p.seat_limits.get("pro"), Some(&3));
        for bad in ["", "x\u{2028}y", &"x".repeat(65), "a\nb"] {
            let q = Policy {
                eula_version: Some(bad.into()),
                ..Policy::default()
            };
            assert!(q.validated().is_err(), "{bad:?}");
            let mut q = Policy::default();
            q.seat_limits.insert(bad.into(), 1);
            assert!(q.validated().is_err(), "{bad:?}");
        }
        let mut q = Policy::default();
        q.seat_limits.insert("pro".into(), 1);
        q.seat_limits.insert(" pro".into(), 2);
        assert!(q.validated().is_err(), "two spellings of one type");
        let q = Policy {
            allowed_domains: (0..=MAX_ALLOWED_DOMAINS)
                .map(|i| format!("d{i}.test"))
                .collect(),
            ..Policy::default()
        };
        assert!(q.validated().is_err());
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
    fn lifetime_bounds_hold_min_default_max() {
        let with = |min, default, max| Policy {
            min_invitation_lifetime_secs: min,
            invitation_lifetime_secs: default,
            max_invitation_lifetime_secs: max,
            ..Policy::default()
        };
        assert!(with(3600, 7 * 86_400, 30 * 86_400).validated().is_ok());
        assert!(with(3600, 3600, 3600).validated().is_ok());
        for (min, default, max) in [
            (0, 3600, 7200),
            (7200, 3600, 86_400),
            (60, 86_400, 3600),
            (60, 3600, MAX_DURATION_SECS + 1),
        ] {
            let err = with(min, default, max).validated().expect_err("refused");
            assert_eq!(err.code(), "invalid_input", "{min} {default} {max}");
        }
        // Stored before the bounds existed: the defaults admit any lifetime
        // the policy could already hold.
        let old: Policy =
            serde_json::from_str(r#"{"invitation_lifetime_secs": 31622400}"#).unwrap();
        assert!(old.validated().is_ok());
        let old: Policy = serde_json::from_str(r#"{"invitation_lifetime_secs": 1}"#).unwrap();
        let old = old.validated().expect("valid");
        assert_eq!(old.max_open_invitations_per_inviter, None);
        let p = with(3600, 86_400, 7 * 86_400);
        assert_eq!(p.lifetime_for(None), Ok(86_400));
        assert_eq!(p.lifetime_for(Some(3600)), Ok(3600));
        assert_eq!(p.lifetime_for(Some(3599)), Err((3600, 7 * 86_400)));
        assert_eq!(
            p.lifetime_for(Some(7 * 86_400 + 1)),
            Err((3600, 7 * 86_400))
        );
        let zero = Policy {
            max_open_invitations_per_inviter: Some(0),
            ..Policy::default()
        };
        assert!(zero.validated().is_err());
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

//! The per-organization policy: every limit and switch, with defaults.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// At most this many rows per import file (default 500).
    pub max_import_rows: u32,
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
    /// The base belongs to the host: a policy may only name one of the
    /// bases the engine's configuration allows
    /// (`EngineConfig::default_accept_url_base` and
    /// `EngineConfig::allowed_accept_url_bases`); any other is refused when
    /// the policy is saved, and a base the host stops allowing falls back
    /// to the default when links are made.
    pub accept_url_base: Option<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            invitation_lifetime_secs: 7 * 24 * 3600,
            max_batch: 100,
            max_paste_field_chars: 250,
            max_import_rows: 500,
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
            if v.trim().is_empty() {
                return Err(Error::invalid("eula_version", "must not be blank"));
            }
        }
        Ok(self)
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

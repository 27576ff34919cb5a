//! Verified domains and membership requests: an organization claims an
//! email domain, proves it controls it (a DNS TXT record the host looks
//! up, or a code mailed to an address at the domain), and then people with
//! a verified email at that domain join automatically or ask to join
//! (Clerk's Verified Domains and membership requests, Auth0's Membership
//! on Authentication).

use crate::error::{Error, LimitKind, Result};
use crate::id::{MemberId, MembershipRequestId, OrgId};
use crate::secret::SecretHash;
use crate::wire_names;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// At most this many domains (pending or verified) per organization.
pub const MAX_DOMAINS_PER_ORG: usize = 50;
/// The longest domain name, in bytes (RFC 1035, in its ASCII form).
pub const MAX_DOMAIN_BYTES: usize = 253;
/// At most this many TXT values in one [`Enlist::verify_domain_dns`](crate::Enlist::verify_domain_dns) call.
pub const MAX_TXT_VALUES: usize = 64;
/// The longest TXT value read, in bytes (several 255-byte strings joined).
pub const MAX_TXT_VALUE_BYTES: usize = 2048;
/// How long a domain verification code is good for, in seconds.
pub const DOMAIN_CODE_TTL_SECS: u64 = 3600;
/// Wrong codes allowed for one code; then a new code must be sent.
pub const MAX_DOMAIN_CODE_ATTEMPTS: u32 = 5;
/// Codes sent for one domain claim, at most (against mailing an address
/// at someone else's domain over and over).
pub const MAX_DOMAIN_CODES_SENT: u32 = 5;
/// A declined requester may ask again after this many seconds (7 days).
pub const REQUEST_RETRY_SECS: u64 = 7 * 86_400;
/// The label the DNS TXT record is published under, before the domain.
pub const DNS_RECORD_LABEL: &str = "_enlist-verification";
/// What the TXT value starts with, before the token.
pub const DNS_VALUE_PREFIX: &str = "enlist-domain-verification=";

/// Where a domain claim stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum DomainStatus {
    /// Claimed, not yet proven.
    Pending,
    /// Proven: by a DNS TXT record or an email code. One organization at a
    /// time holds a domain verified.
    Verified,
}

wire_names! {
    DomainStatus {
        Pending => "pending",
        Verified => "verified",
    }
}

/// How a domain was proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum DomainVerificationMethod {
    /// The host found the TXT record the engine asked for.
    DnsTxt,
    /// Someone at an address of the domain typed the code mailed there.
    EmailCode,
}

wire_names! {
    DomainVerificationMethod {
        DnsTxt => "dns_txt",
        EmailCode => "email_code",
    }
}

/// What people with a verified email at a verified domain may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum DomainEnrollment {
    /// Nothing: the domain is not offered to anyone (the default). An
    /// organization that chose this is invisible to
    /// [`Enlist::domain_offers`](crate::Enlist::domain_offers).
    Off,
    /// Join at once, with the domain's role.
    AutoJoin,
    /// Ask to join: an administrator approves or declines.
    Request,
}

wire_names! {
    DomainEnrollment {
        Off => "off",
        AutoJoin => "auto_join",
        Request => "request",
    }
}

/// Where a membership request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum MembershipRequestStatus {
    /// Waiting for an administrator.
    Pending,
    /// Approved: the requester is a member.
    Approved,
    /// Declined by an administrator.
    Declined,
}

wire_names! {
    MembershipRequestStatus {
        Pending => "pending",
        Approved => "approved",
        Declined => "declined",
    }
}

/// A domain an organization claimed, as administrators see it.
///
/// `dns_record_value` is not a secret: it is made to be published in the
/// domain's public DNS, and proves control only for this organization's
/// claim. The email code is never here (only its hash is stored, in
/// [`StoredDomain`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
#[non_exhaustive]
pub struct OrgDomain {
    /// The organization.
    pub org_id: OrgId,
    /// The domain, lowercase ASCII (IDNA-encoded).
    pub domain: String,
    /// Pending or verified.
    pub status: DomainStatus,
    /// How it was verified (when verified).
    pub method: Option<DomainVerificationMethod>,
    /// What people of this domain may do once it is verified.
    pub enrollment: DomainEnrollment,
    /// The role people joining through the domain get.
    pub role: String,
    /// The name of the TXT record to publish (`_enlist-verification.<domain>`).
    pub dns_record_name: String,
    /// The value of the TXT record to publish.
    pub dns_record_value: String,
    /// Where the last verification code was mailed.
    pub code_sent_to: Option<String>,
    /// When that code stops working.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub code_expires_at: Option<DateTime<Utc>>,
    /// Who claimed it.
    pub created_by: Option<MemberId>,
    /// When it was claimed.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub created_at: DateTime<Utc>,
    /// When it was verified.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub verified_at: Option<DateTime<Utc>>,
}

/// A domain claim as stores keep it: the [`OrgDomain`] plus the hash of
/// the current email code and its counters, which only stores and the
/// engine see. Its serde form is the claim's fields with these beside
/// them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredDomain {
    /// The claim, as the engine returns it.
    #[serde(flatten)]
    pub domain: OrgDomain,
    /// The hash of the current email code, if one is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_hash: Option<SecretHash>,
    /// Wrong codes typed against the current code.
    #[serde(default)]
    pub code_attempts: u32,
    /// Codes sent for this claim.
    #[serde(default)]
    pub codes_sent: u32,
}

impl StoredDomain {
    /// A claim to store, without an open code.
    pub fn new(domain: OrgDomain) -> Self {
        Self {
            domain,
            code_hash: None,
            code_attempts: 0,
            codes_sent: 0,
        }
    }
}

impl std::ops::Deref for StoredDomain {
    type Target = OrgDomain;
    fn deref(&self) -> &OrgDomain {
        &self.domain
    }
}

impl std::ops::DerefMut for StoredDomain {
    fn deref_mut(&mut self) -> &mut OrgDomain {
        &mut self.domain
    }
}

impl From<StoredDomain> for OrgDomain {
    fn from(stored: StoredDomain) -> Self {
        stored.domain
    }
}

/// A person's request to join an organization through its verified
/// domain, with the registration they gave (checked again on approval).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
#[non_exhaustive]
pub struct MembershipRequest {
    /// The organization.
    pub org_id: OrgId,
    /// Its id.
    pub id: MembershipRequestId,
    /// The requester's account id.
    pub user_ref: String,
    /// The requester's verified email (normalized).
    pub email: String,
    /// The domain it came through.
    pub domain: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// The EULA version agreed to.
    pub eula_version: Option<String>,
    /// Whether two-factor is set up on the account.
    pub two_factor_enrolled: bool,
    /// Where it stands.
    pub status: MembershipRequestStatus,
    /// When it was made (or made again after a decline).
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub created_at: DateTime<Utc>,
    /// When an administrator decided.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided.
    pub decided_by: Option<MemberId>,
    /// The member an approval created.
    pub member_id: Option<MemberId>,
}

/// Which membership requests to list, and where to continue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MembershipRequestQuery {
    /// Only requests with this status (default: all).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub status: Option<MembershipRequestStatus>,
    /// The `next_cursor` of the previous page.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub after: Option<String>,
    /// Page size (1..=1000; 0 means 50).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub limit: u32,
}

/// An organization a person may join or ask to join, through the
/// verified domain of their email ([`Enlist::domain_offers`](crate::Enlist::domain_offers)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
#[non_exhaustive]
pub struct DomainOffer {
    /// The organization.
    pub org_id: OrgId,
    /// Its name.
    pub org_name: String,
    /// The verified domain.
    pub domain: String,
    /// Join at once, or ask.
    pub enrollment: DomainEnrollment,
    /// The role offered.
    pub role: String,
    /// The person's request to this organization, if they made one.
    pub request: Option<MembershipRequest>,
}

/// Normalizes a domain an administrator types: trimmed, one trailing dot
/// dropped, lowercase, IDNA-encoded (UTS 46, STD3 rules); refused: empty,
/// longer than [`MAX_DOMAIN_BYTES`], wildcards (`*`), addresses, URLs and
/// ports, IP addresses, and single labels (`com`, `localhost`: a claim
/// needs a registrable name below a suffix).
///
/// ```
/// use enlist::normalize_domain;
/// assert_eq!(normalize_domain(" Acme.EXAMPLE. ").unwrap(), "acme.example");
/// assert_eq!(normalize_domain("bücher.example").unwrap(), "xn--bcher-kva.example");
/// assert!(normalize_domain("*.acme.example").is_err());
/// assert!(normalize_domain("com").is_err());
/// assert!(normalize_domain("ada@acme.example").is_err());
/// assert!(normalize_domain("10.0.0.1").is_err());
/// ```
pub fn normalize_domain(raw: &str) -> Result<String> {
    // Bounded before anything reads it: a Unicode domain of 253 ASCII
    // bytes is at most a few times longer.
    if raw.len() > MAX_DOMAIN_BYTES * 4 {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: MAX_DOMAIN_BYTES as u64,
            actual: raw.len() as u64,
            detail: Some("domain (bytes)".into()),
        });
    }
    let d = raw.trim();
    let d = d.strip_suffix('.').unwrap_or(d);
    if d.is_empty() {
        return Err(Error::invalid("domain", "must not be empty"));
    }
    if let Some(c) = d
        .chars()
        .find(|c| matches!(c, '*' | '@' | '/' | ':' | '?' | '#' | '[' | ']') || c.is_whitespace())
    {
        return Err(Error::invalid(
            "domain",
            format!("must be a plain domain name such as acme.example (found {c:?})"),
        ));
    }
    let ascii = idna::domain_to_ascii_strict(d)
        .map_err(|_| Error::invalid("domain", "is not a valid domain name"))?;
    if ascii.len() > MAX_DOMAIN_BYTES {
        return Err(Error::LimitExceeded {
            limit: LimitKind::FieldLength,
            max: MAX_DOMAIN_BYTES as u64,
            actual: ascii.len() as u64,
            detail: Some("domain".into()),
        });
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
        return Err(Error::invalid(
            "domain",
            "needs at least two labels (acme.example): a top-level domain alone cannot be claimed",
        ));
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::invalid(
            "domain",
            "an IP address is not a domain that can be claimed",
        ));
    }
    Ok(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalized_and_bounded() {
        assert_eq!(normalize_domain("ACME.example").unwrap(), "acme.example");
        assert_eq!(
            normalize_domain("xn--bcher-kva.example").unwrap(),
            "xn--bcher-kva.example"
        );
        for bad in [
            "",
            " . ",
            "*.acme.example",
            "acme.*",
            "example",
            "localhost",
            "https://acme.example",
            "acme.example:443",
            "a b.example",
            "acme..example",
            "192.168.1.1",
            "-acme.example",
            "acme_corp.example",
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}.example", "a".repeat(2000));
        assert_eq!(
            normalize_domain(&long).unwrap_err().code(),
            "limit_exceeded"
        );
        let label = "a".repeat(60);
        let long_ascii = [label.as_str(); 5].join(".");
        assert!(normalize_domain(&long_ascii).is_err());
    }

    #[test]
    fn the_stored_form_keeps_the_code_hash_beside_the_view() {
        let d = OrgDomain {
            org_id: OrgId::from("org_1"),
            domain: "acme.example".into(),
            status: DomainStatus::Pending,
            method: None,
            enrollment: DomainEnrollment::Off,
            role: "member".into(),
            dns_record_name: "_enlist-verification.acme.example".into(),
            dns_record_value: "enlist-domain-verification=x".into(),
            code_sent_to: None,
            code_expires_at: None,
            created_by: None,
            created_at: DateTime::from_timestamp(0, 0).unwrap(),
            verified_at: None,
        };
        let mut s = StoredDomain::new(d.clone());
        s.code_hash = Some(SecretHash::of(b"code"));
        let json = serde_json::to_value(&s).unwrap();
        assert!(json.get("code_hash").is_some());
        let view = serde_json::to_value(OrgDomain::from(s.clone())).unwrap();
        assert!(view.get("code_hash").is_none());
        let back: StoredDomain = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
    }
}

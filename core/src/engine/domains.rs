//! Verified domains (Clerk Verified Domains, Auth0 Membership on
//! Authentication) and membership requests (Clerk membership requests,
//! bitwarden's "Confirmed" step).
//!
//! An administrator with `manage_policy` claims a domain; the engine gives
//! a DNS TXT record to publish. The host, which does its own I/O, looks
//! the record up and passes the values it saw to
//! [`Enlist::verify_domain_dns`]; or the engine mails a code to an address
//! at the domain and [`Enlist::verify_domain_code`] checks it. A domain is
//! verified by one organization at a time (the stores enforce it). Then
//! the organization chooses what people with a verified email at the
//! domain may do: join at once, ask to join, or nothing.

use super::link::JoinTerms;
use super::{Ctx, Enlist, MAX_CURSOR_BYTES, check_max_bytes, check_registration};
use crate::domain::{
    DNS_RECORD_LABEL, DNS_VALUE_PREFIX, DOMAIN_CODE_TTL_SECS, DomainEnrollment, DomainOffer,
    DomainStatus, DomainVerificationMethod, MAX_DOMAIN_CODE_ATTEMPTS, MAX_DOMAIN_CODES_SENT,
    MAX_DOMAINS_PER_ORG, MAX_TXT_VALUE_BYTES, MAX_TXT_VALUES, MembershipRequest,
    MembershipRequestQuery, MembershipRequestStatus, OrgDomain, REQUEST_RETRY_SECS, StoredDomain,
    normalize_domain,
};
use crate::email::parse_address;
use crate::error::{
    EntityKind, Error, LimitKind, RegistrationField, Result, StoreError, UniqueRule,
};
use crate::event::{Actor, EventKind, JoinedVia};
use crate::id::{InvitationId, MembershipRequestId, MessageId, OrgId};
use crate::invitation::Registration;
use crate::member::{Member, MemberKind, Page};
use crate::organization::Organization;
use crate::outbox::{OutboxMessage, OutboxStatus, OutgoingEmail};
use crate::policy::DEFAULT_LICENSE;
use crate::role::Permission;
use crate::secret::{SecretHash, canonical_access_code, new_access_code};

/// The default page of [`Enlist::membership_requests`].
const DEFAULT_REQUEST_PAGE: u32 = 50;

impl Enlist {
    /// Claims a domain for the organization (needs
    /// [`Permission::ManagePolicy`]): pending until verified, with the DNS
    /// TXT record to publish. Claiming a domain the organization already
    /// claimed returns that claim unchanged. At most
    /// [`MAX_DOMAINS_PER_ORG`] claims. The domain is normalized by
    /// [`normalize_domain`] (no wildcards, no single labels).
    pub fn claim_domain(&self, org: &OrgId, actor: &Actor, domain: &str) -> Result<OrgDomain> {
        let domain = normalize_domain(domain)?;
        self.run("claim_domain", |cx| {
            let (o, auth) = cx.authorized(org, actor, Permission::ManagePolicy)?;
            if let Some(d) = cx.tx.org_domain(org, &domain)? {
                return Ok(d.domain);
            }
            let count = cx.tx.org_domains(org)?.len();
            if count >= MAX_DOMAINS_PER_ORG {
                return Err(Error::LimitExceeded {
                    limit: LimitKind::FieldLength,
                    max: MAX_DOMAINS_PER_ORG as u64,
                    actual: count as u64 + 1,
                    detail: Some("domains per organization".into()),
                });
            }
            let mut random = [0u8; 24];
            cx.secrets.fill(&mut random);
            let token: String = random.iter().map(|b| format!("{b:02x}")).collect();
            let d = OrgDomain {
                org_id: org.clone(),
                domain: domain.clone(),
                status: DomainStatus::Pending,
                method: None,
                enrollment: DomainEnrollment::Off,
                role: o.policy.role_for(MemberKind::Member).to_owned(),
                dns_record_name: format!("{DNS_RECORD_LABEL}.{domain}"),
                dns_record_value: format!("{DNS_VALUE_PREFIX}{token}"),
                code_sent_to: None,
                code_expires_at: None,
                created_by: auth.member.as_ref().map(|m| m.id.clone()),
                created_at: cx.now,
                verified_at: None,
            };
            cx.tx.put_org_domain(&StoredDomain::new(d.clone()))?;
            cx.event(
                org,
                actor,
                EventKind::DomainClaimed {
                    domain: domain.clone(),
                },
            )?;
            Ok(d)
        })
    }

    /// The organization's domains, pending and verified, sorted by domain
    /// (needs [`Permission::ManagePolicy`]).
    pub fn domains(&self, org: &OrgId, actor: &Actor) -> Result<Vec<OrgDomain>> {
        self.run_read("domains", |cx| {
            cx.authorized(org, actor, Permission::ManagePolicy)?;
            Ok(cx
                .tx
                .org_domains(org)?
                .into_iter()
                .map(OrgDomain::from)
                .collect())
        })
    }

    /// Gives a domain up (needs [`Permission::ManagePolicy`]): nobody joins
    /// or asks to join through it any more, and another organization may
    /// verify it. Returns whether it was claimed. Members who joined
    /// through it stay; pending requests stay for an administrator to
    /// decide.
    pub fn remove_domain(&self, org: &OrgId, actor: &Actor, domain: &str) -> Result<bool> {
        let domain = normalize_domain(domain)?;
        self.run("remove_domain", |cx| {
            cx.authorized(org, actor, Permission::ManagePolicy)?;
            if !cx.tx.delete_org_domain(org, &domain)? {
                return Ok(false);
            }
            cx.supersede_code_messages(org, &domain)?;
            cx.event(
                org,
                actor,
                EventKind::DomainRemoved {
                    domain: domain.clone(),
                },
            )?;
            Ok(true)
        })
    }

    /// Verifies a claimed domain by its DNS TXT record (needs
    /// [`Permission::ManagePolicy`]). The host looks up the TXT records of
    /// the claim's `dns_record_name` (enlist does no I/O) and passes every
    /// value it saw: at most [`MAX_TXT_VALUES`] values of at most
    /// [`MAX_TXT_VALUE_BYTES`] bytes each. One of them must be the claim's
    /// `dns_record_value` (compared in constant time; surrounding quotes and
    /// spaces ignored). A domain another organization holds verified is a
    /// conflict. Verifying a verified domain returns it unchanged.
    pub fn verify_domain_dns(
        &self,
        org: &OrgId,
        actor: &Actor,
        domain: &str,
        txt_values: &[String],
    ) -> Result<OrgDomain> {
        let domain = normalize_domain(domain)?;
        if txt_values.len() > MAX_TXT_VALUES {
            return Err(Error::LimitExceeded {
                limit: LimitKind::FieldLength,
                max: MAX_TXT_VALUES as u64,
                actual: txt_values.len() as u64,
                detail: Some("txt_values".into()),
            });
        }
        for v in txt_values {
            check_max_bytes("txt_values", v, MAX_TXT_VALUE_BYTES)?;
        }
        let seen: Vec<SecretHash> = txt_values
            .iter()
            .map(|v| SecretHash::of(v.trim().trim_matches('"').trim().as_bytes()))
            .collect();
        self.run("verify_domain_dns", |cx| {
            cx.authorized(org, actor, Permission::ManagePolicy)?;
            let mut d = cx.claim(org, &domain)?;
            if d.status == DomainStatus::Verified {
                return Ok(d.domain);
            }
            let expected = SecretHash::of(d.dns_record_value.as_bytes());
            // Every value is compared, in constant time: `|` never stops early.
            let found = seen.iter().fold(false, |acc, h| acc | h.ct_eq(&expected));
            if !found {
                return Err(Error::conflict(format!(
                    "none of the {} TXT values seen at {} is the value to publish; publish it, \
                     wait for DNS to update, then verify again",
                    seen.len(),
                    d.dns_record_name
                )));
            }
            cx.mark_verified(org, actor, &mut d, DomainVerificationMethod::DnsTxt)?;
            Ok(d.domain)
        })
    }

    /// Mails a verification code to `email`, an address at the claimed
    /// domain that the administrator names (needs
    /// [`Permission::ManagePolicy`]); the email goes through the outbox
    /// like invitations, and the code is in no returned value, event or
    /// log (only its hash is kept, and the stored email is redacted once
    /// delivered). The code works for [`DOMAIN_CODE_TTL_SECS`] seconds and
    /// [`MAX_DOMAIN_CODE_ATTEMPTS`] wrong tries; a new code replaces the
    /// previous one; at most [`MAX_DOMAIN_CODES_SENT`] codes per claim.
    pub fn send_domain_code(
        &self,
        org: &OrgId,
        actor: &Actor,
        domain: &str,
        email: &str,
    ) -> Result<OrgDomain> {
        let domain = normalize_domain(domain)?;
        check_max_bytes("email", email, super::MAX_EMAIL_FIELD_BYTES)?;
        let mailbox = parse_address(email).map_err(|e| Error::invalid("email", e.to_string()))?;
        if mailbox.ascii_domain != domain {
            return Err(Error::invalid(
                "email",
                format!("must be an address at {domain}"),
            ));
        }
        let to = mailbox.address.into_owned();
        self.run("send_domain_code", |cx| {
            let (o, _) = cx.authorized(org, actor, Permission::ManagePolicy)?;
            let mut d = cx.claim(org, &domain)?;
            if d.status == DomainStatus::Verified {
                return Err(Error::conflict(format!("{domain} is already verified")));
            }
            if d.codes_sent >= MAX_DOMAIN_CODES_SENT {
                return Err(Error::LimitExceeded {
                    limit: LimitKind::ResendCap,
                    max: u64::from(MAX_DOMAIN_CODES_SENT),
                    actual: u64::from(d.codes_sent) + 1,
                    detail: Some(format!("verification codes for {domain}")),
                });
            }
            let (code, canonical) = new_access_code(cx.secrets);
            d.codes_sent += 1;
            d.code_hash = Some(cx.codes.hash(&code_salt(&d), &canonical));
            d.code_attempts = 0;
            let expires = super::time_after(cx.now, DOMAIN_CODE_TTL_SECS, "code expiry")?;
            d.code_sent_to = Some(to.clone());
            d.code_expires_at = Some(expires);
            cx.tx.put_org_domain(&d)?;
            cx.supersede_code_messages(org, &domain)?;
            let id = MessageId::from_random(cx.id_bytes());
            let product = &cx.config.product_name;
            let text_body = format!(
                "An administrator of {org_name} on {product} asked to verify that {org_name} \
                 controls the domain {domain}.\n\nThe verification code is: {code}\n\n\
                 It expires at {expires}. Give it to the administrator only if you agree; \
                 otherwise ignore this email.\n",
                org_name = o.name,
                code = code.expose(),
                expires = expires.format("%Y-%m-%d %H:%M UTC"),
            );
            let msg = OutboxMessage {
                id: id.clone(),
                org_id: org.clone(),
                invitation_id: code_message_key(&domain),
                email: OutgoingEmail {
                    message_id: id,
                    to: to.as_str().into(),
                    to_name: None,
                    subject: format!("{product}: verify {domain} for {}", o.name),
                    text_body,
                    html_body: None,
                    // The code, where redaction looks for the secret: it
                    // leaves the stored body once the email is delivered.
                    accept_url: code.expose().to_owned(),
                    org_name: o.name.as_str().into(),
                    inviter_name: None,
                    reply_to: None,
                    personal_message: None,
                    expires_at: expires,
                },
                status: OutboxStatus::Queued,
                attempts: 0,
                next_attempt_at: cx.now,
                last_error: None,
                created_at: cx.now,
                sent_at: None,
                draft: None,
            };
            cx.tx.put_outbox_message(msg)?;
            cx.event(
                org,
                actor,
                EventKind::DomainCodeSent {
                    domain: domain.clone(),
                    to: to.clone(),
                },
            )?;
            Ok(d.domain)
        })
    }

    /// Verifies a claimed domain with the code mailed by
    /// [`Enlist::send_domain_code`] (needs [`Permission::ManagePolicy`]).
    /// A wrong, expired or missing code is [`Error::InvalidSecret`]; each
    /// wrong code is counted (and recorded), and after
    /// [`MAX_DOMAIN_CODE_ATTEMPTS`] the code is dead
    /// ([`LimitKind::AccessCodeAttempts`]): send a new one.
    pub fn verify_domain_code(
        &self,
        org: &OrgId,
        actor: &Actor,
        domain: &str,
        code: &str,
    ) -> Result<OrgDomain> {
        let domain = normalize_domain(domain)?;
        let canonical = canonical_access_code(code);
        self.run("verify_domain_code", |cx| {
            cx.authorized(org, actor, Permission::ManagePolicy)?;
            let mut d = cx.claim(org, &domain)?;
            if d.status == DomainStatus::Verified {
                return Ok(Ok(d.domain));
            }
            let Some(stored) = d.code_hash else {
                return Ok(Err(Error::InvalidSecret));
            };
            if d.code_attempts >= MAX_DOMAIN_CODE_ATTEMPTS {
                return Ok(Err(Error::LimitExceeded {
                    limit: LimitKind::AccessCodeAttempts,
                    max: u64::from(MAX_DOMAIN_CODE_ATTEMPTS),
                    actual: u64::from(d.code_attempts) + 1,
                    detail: Some(format!("verification code for {domain}: send a new one")),
                }));
            }
            if d.code_expires_at.is_none_or(|t| t <= cx.now) {
                return Ok(Err(Error::InvalidSecret));
            }
            let typed = cx.codes.hash(&code_salt(&d), &canonical);
            if !typed.ct_eq(&stored) {
                // The failed attempt is committed: that is the point.
                d.code_attempts += 1;
                cx.tx.put_org_domain(&d)?;
                cx.event(
                    org,
                    actor,
                    EventKind::DomainVerificationFailed {
                        domain: domain.clone(),
                        method: DomainVerificationMethod::EmailCode,
                        attempts: d.code_attempts,
                    },
                )?;
                return Ok(Err(Error::InvalidSecret));
            }
            cx.mark_verified(org, actor, &mut d, DomainVerificationMethod::EmailCode)?;
            cx.supersede_code_messages(org, &domain)?;
            Ok(Ok(d.domain))
        })?
    }

    /// Chooses what people with a verified email at the domain may do
    /// (needs [`Permission::ManagePolicy`], and
    /// [`Permission::InviteMembers`] to open the domain to anyone): join at
    /// once, ask to join, or nothing; and the role they get (`None` keeps
    /// the current one), which must be a role the actor could grant. It
    /// takes effect once the domain is verified.
    pub fn set_domain_enrollment(
        &self,
        org: &OrgId,
        actor: &Actor,
        domain: &str,
        enrollment: DomainEnrollment,
        role: Option<&str>,
    ) -> Result<OrgDomain> {
        let domain = normalize_domain(domain)?;
        if let Some(r) = role {
            check_max_bytes("role", r, super::MAX_KEY_BYTES)?;
        }
        self.run("set_domain_enrollment", |cx| {
            let (o, auth) = cx.authorized(org, actor, Permission::ManagePolicy)?;
            if enrollment != DomainEnrollment::Off {
                // Opening the domain invites everyone at it.
                auth.require(Permission::InviteMembers)?;
            }
            let mut d = cx.claim(org, &domain)?;
            let role = role.map_or_else(|| d.role.clone(), str::to_owned);
            auth.grantable_role(&o, &role)?;
            d.enrollment = enrollment;
            d.role = role.clone();
            cx.tx.put_org_domain(&d)?;
            cx.event(
                org,
                actor,
                EventKind::DomainEnrollmentChanged {
                    domain: domain.clone(),
                    enrollment,
                    role,
                },
            )?;
            Ok(d.domain)
        })
    }

    /// The organizations a person may join, or ask to join, through the
    /// verified domain of `verified_email` (an address the host vouches
    /// for: its user proved it). An organization whose domain is pending,
    /// whose enrollment is off, or that already has this person (by
    /// `user_ref` or by address) is not listed: the answer is the same as
    /// for a domain nobody claimed. With `user_ref`, each offer carries the
    /// person's membership request, if any.
    pub fn domain_offers(
        &self,
        verified_email: &str,
        user_ref: Option<&str>,
    ) -> Result<Vec<DomainOffer>> {
        check_max_bytes(
            "verified_email",
            verified_email,
            super::MAX_EMAIL_FIELD_BYTES,
        )?;
        if let Some(u) = user_ref {
            check_max_bytes("user_ref", u, super::MAX_NAME_CHARS * 4)?;
        }
        let mailbox = parse_address(verified_email)
            .map_err(|e| Error::invalid("verified_email", e.to_string()))?;
        let domain = mailbox.ascii_domain.into_owned();
        let key = mailbox.key.into_owned();
        self.run_read("domain_offers", |cx| {
            let Some(d) = cx.tx.verified_domain(&domain)? else {
                return Ok(Vec::new());
            };
            let Some(o) = cx.tx.organization(&d.org_id)?.filter(|o| !o.is_deleted()) else {
                return Ok(Vec::new());
            };
            if d.enrollment == DomainEnrollment::Off || !o.policy.domain_allowed(&domain) {
                return Ok(Vec::new());
            }
            if cx.tx.member_by_contact(&o.id, &key)?.is_some() {
                return Ok(Vec::new());
            }
            let mut request = None;
            if let Some(u) = user_ref {
                if cx.tx.member_by_user_ref(&o.id, u)?.is_some() {
                    return Ok(Vec::new());
                }
                request = cx.tx.membership_request_of(&o.id, u)?;
            }
            Ok(vec![DomainOffer {
                org_id: o.id.clone(),
                org_name: o.name.clone(),
                domain: d.domain.domain.clone(),
                enrollment: d.enrollment,
                role: d.role.clone(),
                request,
            }])
        })
    }

    /// Joins an organization at once through its verified domain, where
    /// it chose [`DomainEnrollment::AutoJoin`]: the registration's
    /// `verified_email` (required) must be at the domain. The same path as
    /// every join without an invitation (registration requirements, seats,
    /// allowed domains, an open invitation closed, the `member_joined`
    /// event), with the domain's role in the default group. Any
    /// organization that does not offer this (unknown, no verified domain,
    /// another enrollment) is the same [`Error::NotFound`] of a
    /// [`EntityKind::Domain`].
    pub fn join_by_domain(&self, org: &OrgId, registration: Registration) -> Result<Member> {
        check_registration(&registration)?;
        let (email, domain) = verified_domain_of(&registration)?;
        self.run("join_by_domain", |cx| {
            let (o, d) = cx.offer(org, &domain, DomainEnrollment::AutoJoin)?;
            if o.role(&d.role).is_none() {
                // A custom role deleted since the enrollment was chosen:
                // nobody joins with a role that does not exist.
                return Err(Error::conflict(format!(
                    "the role {:?} of {domain} no longer exists; an administrator must choose another",
                    d.role
                )));
            }
            let terms = JoinTerms {
                role: d.role.clone(),
                kind: MemberKind::Member,
                license_type: DEFAULT_LICENSE.to_owned(),
                groups: Vec::new(),
            };
            cx.join_uninvited(&o, &email, &registration, terms, JoinedVia::VerifiedDomain)
        })
    }

    /// Asks to join an organization through its verified domain, where it
    /// chose [`DomainEnrollment::Request`]; the registration is checked
    /// now (its `verified_email`, required, at the domain; what the policy
    /// requires) and kept for the approval. Asking again while a request
    /// is pending returns that request; after a decline, asking again is
    /// refused (conflict) for [`REQUEST_RETRY_SECS`] seconds. Offers are
    /// found as for [`Enlist::join_by_domain`].
    pub fn request_membership(
        &self,
        org: &OrgId,
        registration: Registration,
    ) -> Result<MembershipRequest> {
        check_registration(&registration)?;
        let (email, domain) = verified_domain_of(&registration)?;
        self.run("request_membership", |cx| {
            let (o, _) = cx.offer(org, &domain, DomainEnrollment::Request)?;
            let reg = &registration;
            let missing = missing_fields(&o, reg);
            if !missing.is_empty() {
                return Err(Error::RegistrationIncomplete { missing });
            }
            let key = parse_address(&email)
                .map(|m| m.key.into_owned())
                .map_err(|e| Error::invalid("verified_email", e.to_string()))?;
            let user_ref = reg.user_ref.trim().to_owned();
            if let Some(m) = cx.tx.member_by_contact(org, &key)? {
                return Err(Error::AlreadyMember {
                    recipient: email.clone(),
                    member: m.id,
                });
            }
            if let Some(m) = cx.tx.member_by_user_ref(org, &user_ref)? {
                return Err(Error::AlreadyMember {
                    recipient: format!("account {user_ref}"),
                    member: m.id,
                });
            }
            let previous = cx.tx.membership_request_of(org, &user_ref)?;
            if let Some(p) = &previous {
                match p.status {
                    MembershipRequestStatus::Pending => return Ok(p.clone()),
                    MembershipRequestStatus::Declined => {
                        let again = super::time_after(
                            p.decided_at.unwrap_or(p.created_at),
                            REQUEST_RETRY_SECS,
                            "retry",
                        )?;
                        if cx.now < again {
                            return Err(Error::conflict(format!(
                                "this request was declined; it may be made again after {again}"
                            )));
                        }
                    }
                    // Approved, but no longer a member (removed since).
                    _ => {}
                }
            }
            let r = MembershipRequest {
                org_id: org.clone(),
                id: previous
                    .map(|p| p.id)
                    .unwrap_or_else(|| MembershipRequestId::from_random(cx.id_bytes())),
                user_ref,
                email: key,
                domain: domain.clone(),
                first_name: reg.first_name.as_deref().map(|s| s.trim().to_owned()),
                last_name: reg.last_name.as_deref().map(|s| s.trim().to_owned()),
                phone: reg.phone.as_deref().map(|s| s.trim().to_owned()),
                eula_version: reg.eula_version.clone(),
                two_factor_enrolled: reg.two_factor_enrolled,
                status: MembershipRequestStatus::Pending,
                created_at: cx.now,
                decided_at: None,
                decided_by: None,
                member_id: None,
            };
            cx.tx.put_membership_request(&r).map_err(|e| match e {
                StoreError::Unique(UniqueRule::MembershipRequestAccount) => {
                    Error::conflict("this account already asked to join")
                }
                e => e.into(),
            })?;
            cx.event(
                org,
                &Actor::Account(r.user_ref.clone()),
                EventKind::MembershipRequested {
                    request: r.id.clone(),
                    domain: domain.clone(),
                    email: r.email.clone(),
                },
            )?;
            Ok(r)
        })
    }

    /// The membership request an account made to an organization, for the
    /// requester to see where it stands (`user_ref` is the host's account
    /// id of the person signed in). `None` when there is none, or no such
    /// organization.
    pub fn my_membership_request(
        &self,
        org: &OrgId,
        user_ref: &str,
    ) -> Result<Option<MembershipRequest>> {
        check_max_bytes("user_ref", user_ref, super::MAX_NAME_CHARS * 4)?;
        self.run_read("my_membership_request", |cx| {
            Ok(cx.tx.membership_request_of(org, user_ref.trim())?)
        })
    }

    /// A page of the organization's membership requests, oldest first
    /// (needs [`Permission::ManageMembers`]); `query.limit` 0 means 50.
    pub fn membership_requests(
        &self,
        org: &OrgId,
        actor: &Actor,
        query: &MembershipRequestQuery,
    ) -> Result<Page<MembershipRequest>> {
        if let Some(a) = &query.after {
            check_max_bytes("cursor", a, MAX_CURSOR_BYTES)?;
        }
        let mut q = query.clone();
        q.limit = if q.limit == 0 {
            DEFAULT_REQUEST_PAGE
        } else {
            super::page_limit(q.limit)?
        };
        self.run_read("membership_requests", |cx| {
            cx.authorized(org, actor, Permission::ManageMembers)?;
            Ok(cx.tx.membership_requests(org, &q)?)
        })
    }

    /// Approves a pending membership request (needs
    /// [`Permission::ManageMembers`] and [`Permission::InviteMembers`]):
    /// the requester becomes a member with `role` (default: the domain's
    /// role, else the policy's), which the approver must be able to grant.
    /// The member is made by the path of every join (the registration
    /// kept with the request checked against today's policy, seats,
    /// allowed domains).
    pub fn approve_membership_request(
        &self,
        org: &OrgId,
        actor: &Actor,
        id: &MembershipRequestId,
        role: Option<&str>,
    ) -> Result<Member> {
        if let Some(r) = role {
            check_max_bytes("role", r, super::MAX_KEY_BYTES)?;
        }
        self.run("approve_membership_request", |cx| {
            let (o, auth) = cx.authorized(org, actor, Permission::ManageMembers)?;
            auth.require(Permission::InviteMembers)?;
            let mut r = cx.open_request(org, id)?;
            let role = match role {
                Some(r) => r.to_owned(),
                None => match cx.tx.org_domain(org, &r.domain)? {
                    Some(d) => d.role.clone(),
                    None => o.policy.role_for(MemberKind::Member).to_owned(),
                },
            };
            auth.grantable_role(&o, &role)?;
            let reg = Registration {
                user_ref: r.user_ref.clone(),
                first_name: r.first_name.clone(),
                last_name: r.last_name.clone(),
                phone: r.phone.clone(),
                eula_version: r.eula_version.clone(),
                two_factor_enrolled: r.two_factor_enrolled,
                verified_email: Some(r.email.clone()),
            };
            let terms = JoinTerms {
                role: role.clone(),
                kind: MemberKind::Member,
                license_type: DEFAULT_LICENSE.to_owned(),
                groups: Vec::new(),
            };
            let email = r.email.clone();
            let m = cx.join_uninvited(
                &o,
                &email,
                &reg,
                terms,
                JoinedVia::MembershipRequest(r.id.clone()),
            )?;
            r.status = MembershipRequestStatus::Approved;
            r.decided_at = Some(cx.now);
            r.decided_by = auth.member.as_ref().map(|m| m.id.clone());
            r.member_id = Some(m.id.clone());
            cx.tx.put_membership_request(&r)?;
            cx.event(
                org,
                actor,
                EventKind::MembershipRequestApproved {
                    request: r.id.clone(),
                    member: m.id.clone(),
                    role,
                },
            )?;
            Ok(m)
        })
    }

    /// Declines a pending membership request (needs
    /// [`Permission::ManageMembers`]). The requester sees it declined.
    pub fn decline_membership_request(
        &self,
        org: &OrgId,
        actor: &Actor,
        id: &MembershipRequestId,
    ) -> Result<MembershipRequest> {
        self.run("decline_membership_request", |cx| {
            let (_, auth) = cx.authorized(org, actor, Permission::ManageMembers)?;
            let mut r = cx.open_request(org, id)?;
            r.status = MembershipRequestStatus::Declined;
            r.decided_at = Some(cx.now);
            r.decided_by = auth.member.as_ref().map(|m| m.id.clone());
            cx.tx.put_membership_request(&r)?;
            cx.event(
                org,
                actor,
                EventKind::MembershipRequestDeclined {
                    request: r.id.clone(),
                },
            )?;
            Ok(r)
        })
    }
}

impl Ctx<'_> {
    /// The organization's claim on `domain`, or not found.
    fn claim(&mut self, org: &OrgId, domain: &str) -> Result<StoredDomain> {
        self.tx
            .org_domain(org, domain)?
            .ok_or_else(|| Error::not_found(EntityKind::Domain, domain))
    }

    /// Marks a claim verified, refusing a domain another organization
    /// holds verified.
    fn mark_verified(
        &mut self,
        org: &OrgId,
        actor: &Actor,
        d: &mut StoredDomain,
        method: DomainVerificationMethod,
    ) -> Result<()> {
        let name = d.domain.domain.clone();
        let taken = || {
            Error::conflict(format!(
                "{name} is verified by another organization; it must give the domain up first"
            ))
        };
        if self
            .tx
            .verified_domain(&d.domain.domain)?
            .is_some_and(|v| &v.org_id != org)
        {
            return Err(taken());
        }
        d.status = DomainStatus::Verified;
        d.method = Some(method);
        d.verified_at = Some(self.now);
        d.code_hash = None;
        d.code_attempts = 0;
        match self.tx.put_org_domain(d) {
            Err(StoreError::Unique(UniqueRule::DomainVerified)) => return Err(taken()),
            other => other?,
        }
        self.event(
            org,
            actor,
            EventKind::DomainVerified {
                domain: d.domain.domain.clone(),
                method,
            },
        )
    }

    /// Drops the unsent code emails of a claim (a new code replaces them,
    /// a verification or removal makes them useless).
    /// Gives up every domain of an organization being deleted (its
    /// history kept): a deleted organization holds no domain, so another
    /// may verify it; one event per domain, as `remove_domain`.
    pub(crate) fn release_domains(&mut self, org: &OrgId, actor: &Actor) -> Result<()> {
        for claim in self.tx.org_domains(org)? {
            let domain = claim.domain.domain;
            self.tx.delete_org_domain(org, &domain)?;
            self.supersede_code_messages(org, &domain)?;
            self.event(org, actor, EventKind::DomainRemoved { domain })?;
        }
        Ok(())
    }

    fn supersede_code_messages(&mut self, org: &OrgId, domain: &str) -> Result<()> {
        for mut m in self
            .tx
            .queued_messages_for(org, &code_message_key(domain))?
        {
            m.status = OutboxStatus::Superseded;
            m.redact();
            self.tx.put_outbox_message(m)?;
        }
        Ok(())
    }

    /// The organization and its verified claim on `domain` when it offers
    /// `mode`; every other case is the one not-found answer, so that the
    /// answer says nothing about organizations that offer nothing.
    fn offer(
        &mut self,
        org: &OrgId,
        domain: &str,
        mode: DomainEnrollment,
    ) -> Result<(Organization, StoredDomain)> {
        let nothing = || Error::not_found(EntityKind::Domain, domain);
        let Some(o) = self.tx.organization(org)? else {
            return Err(nothing());
        };
        match self.tx.org_domain(org, domain)? {
            Some(d) if d.status == DomainStatus::Verified && d.enrollment == mode => {
                self.trace.org(&o.id);
                Ok((o, d))
            }
            _ => Err(nothing()),
        }
    }

    fn open_request(&mut self, org: &OrgId, id: &MembershipRequestId) -> Result<MembershipRequest> {
        let r = self
            .tx
            .membership_request(org, id)?
            .ok_or_else(|| Error::not_found(EntityKind::MembershipRequest, id))?;
        if r.status != MembershipRequestStatus::Pending {
            return Err(Error::conflict(format!(
                "membership request {id} is {}, not pending",
                r.status
            )));
        }
        Ok(r)
    }
}

/// The salt of a claim's current code: unique per code (organization,
/// domain and how many codes were sent).
fn code_salt(d: &StoredDomain) -> String {
    format!("{}/domain/{}/{}", d.org_id, d.domain.domain, d.codes_sent)
}

/// The key the outbox files a domain's code emails under (in the place of
/// an invitation id: no invitation has it), so that a new code, a
/// verification or a removal drops the unsent ones.
fn code_message_key(domain: &str) -> InvitationId {
    InvitationId::from(format!("inv_domain.{domain}"))
}

/// The registration's verified email (required) and its domain.
fn verified_domain_of(reg: &Registration) -> Result<(String, String)> {
    let Some(email) = &reg.verified_email else {
        return Err(Error::RegistrationIncomplete {
            missing: vec![RegistrationField::VerifiedEmail],
        });
    };
    let m = parse_address(email).map_err(|e| Error::invalid("verified_email", e.to_string()))?;
    Ok((m.address.to_string(), m.ascii_domain.into_owned()))
}

/// What the registration lacks under the organization's policy (the
/// rules of every join, checked when a request is made so that a request
/// an administrator could never approve is refused at once).
fn missing_fields(o: &Organization, reg: &Registration) -> Vec<RegistrationField> {
    let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    super::accept::missing_registration(
        &o.policy,
        reg,
        super::accept::Given {
            user_ref: !reg.user_ref.trim().is_empty(),
            first_name: given(&reg.first_name),
            last_name: given(&reg.last_name),
            phone: given(&reg.phone),
        },
    )
}

#[cfg(test)]
mod tests;

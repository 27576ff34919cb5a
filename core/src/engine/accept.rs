//! The invitee's side: preview, accept (by token or by identifier and
//! access code), decline; and the shared path by which anyone joins.

use super::{Ctx, Enlist, MAX_NAME_CHARS, checked_line, clean_line};
use crate::email::parse_address;
use crate::error::{Error, Feature, RegistrationField, Result};
use crate::event::{Actor, EventKind, JoinedVia};
use crate::group::GroupGrant;
use crate::id::{MemberId, OrgId};
use crate::invitation::{
    Invitation, InvitationPreview, InvitationStatus, Registration, RegistrationNeeds, SecretLookup,
    StoredInvitation,
};
use crate::member::{Contact, Member, MemberKind, MemberStatus};
use crate::organization::Organization;
use crate::secret::{
    CodeHasher, ParsedToken, canonical_access_code, legacy_access_code_hash, parse_token,
};
use crate::store::TokenKey;
use crate::text::Text;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The result of accepting an invitation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct Acceptance {
    /// The new, active member.
    pub member: Member,
    /// The invitation, now accepted.
    pub invitation: Invitation,
}

/// How long an invitation is locked after the policy's
/// `access_code_attempts` wrong access codes, in seconds; doubled after each
/// further round of wrong codes.
pub const ACCESS_CODE_LOCK_SECS: i64 = 60;
/// The longest lock after wrong access codes, in seconds (one day).
pub const ACCESS_CODE_MAX_LOCK_SECS: i64 = 86_400;

/// When a lock that starts at `now` ends, after `round` earlier locks.
fn lock_end(now: DateTime<Utc>, round: u32) -> DateTime<Utc> {
    let secs = ACCESS_CODE_LOCK_SECS
        .checked_shl(round.min(20))
        .unwrap_or(ACCESS_CODE_MAX_LOCK_SECS)
        .min(ACCESS_CODE_MAX_LOCK_SECS);
    now.checked_add_signed(chrono::Duration::seconds(secs))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The open invitation an access code is checked against, after the
/// organization lookup (done even when the identifier is malformed, so
/// every anonymous failure does the same work).
fn code_target(
    cx: &mut Ctx<'_>,
    org: &OrgId,
    key: Option<&str>,
) -> Result<Option<StoredInvitation>> {
    let exists = cx.tx.organization(org)?.is_some_and(|o| !o.is_deleted());
    // A malformed identifier is looked up as the empty key, which no
    // invitation has: the same lookups either way.
    let found = cx.tx.open_invitation_for(org, key.unwrap_or(""))?;
    Ok(found.filter(|i| exists && i.is_by_identifier()))
}

/// A person about to join, before the checks.
pub(crate) struct Joiner<'a> {
    pub contact: Contact,
    pub key: Text,
    pub reg: &'a Registration,
    pub role: Text,
    pub kind: MemberKind,
    pub license_type: Text,
    pub groups: Vec<GroupGrant>,
    pub fallback_first: Option<String>,
    pub fallback_last: Option<String>,
    /// Seats already reserved for this person (an open invitation).
    pub reserved_seat: bool,
}

impl Enlist {
    /// What the landing page shows for a token: organization, inviter,
    /// role, expiry. Never consumes the invitation (mail scanners follow
    /// links). Works for closed invitations too, so the page can say why.
    pub fn preview(&self, token: &str) -> Result<InvitationPreview> {
        let t = parse_token(token).ok_or(Error::InvalidSecret)?;
        self.run_read("preview", |cx| {
            let o = cx.token_org(&t.org)?;
            let inv = cx.by_token(&t)?;
            cx.preview_of(&o, inv.invitation)
        })
    }

    /// Accepts an email invitation by its token. The registration must meet
    /// the policy (names, phone, EULA, two-factor); a verified email, when
    /// given, must be the invited one. Creates an active member in the
    /// invited groups (or the default group when none was given).
    pub fn accept(&self, token: &str, registration: Registration) -> Result<Acceptance> {
        super::check_registration(&registration)?;
        let t = parse_token(token).ok_or(Error::InvalidSecret)?;
        // Checked by `check_registration`: the account the accept reads
        // (borrowed: the hint needs no copy).
        let account = checked_line("user_ref", Some(&registration.user_ref), MAX_NAME_CHARS)?;
        self.run("accept", |cx| {
            if let Some(account) = account {
                cx.tx.prefetch_acceptance(&t.org, token_key(&t), account)?;
            }
            let o = cx.token_org(&t.org)?;
            let inv = cx.by_token(&t)?;
            cx.accept_invitation(&o, inv, &registration)
        })
    }

    /// Accepts an invitation by identifier with its access code.
    ///
    /// Every failure an anonymous caller can cause (no such organization,
    /// no invitation for the identifier, a staged, expired, closed or
    /// locked invitation, a wrong code) gives the same answer,
    /// [`Error::InvalidSecret`], after the same work (one code hash, the
    /// same lookups), so the answer tells nothing about who is invited.
    ///
    /// Each wrong code counts. After the policy's `access_code_attempts`
    /// wrong codes the invitation is locked for
    /// [`ACCESS_CODE_LOCK_SECS`] seconds, doubled after each further
    /// `access_code_attempts` wrong codes up to [`ACCESS_CODE_MAX_LOCK_SECS`]
    /// (see [`Invitation::locked_until`]); while it is locked no code is
    /// checked. A lock is never a revocation: it ends by itself, and a
    /// resend gives a new code and clears it. Once the code is right,
    /// registration errors (missing fields, already a member) are reported
    /// as such.
    pub fn accept_with_code(
        &self,
        org: &OrgId,
        identifier: &str,
        code: &str,
        registration: Registration,
    ) -> Result<Acceptance> {
        super::check_registration(&registration)?;
        let key = super::identifier_key(identifier).ok();
        let canonical = canonical_access_code(code);
        // Read the invitation in a short transaction, hash the code outside
        // any transaction (the keyless hash is slow on purpose), then check
        // and record in a second one.
        let snapshot = self.run_read("accept_with_code.lookup", |cx| {
            code_target(cx, org, key.as_deref())
        })?;
        let salt = snapshot
            .as_ref()
            .map(|inv| CodeHasher::salt(inv))
            .unwrap_or_else(|| format!("{org}/-/0"));
        let typed = self.codes.hash(&salt, &canonical);
        let legacy = legacy_access_code_hash(&canonical);
        self.run("accept_with_code", |cx| {
            let current = code_target(cx, org, key.as_deref())?;
            let (Some(snapshot), Some(mut inv)) = (snapshot.as_ref(), current) else {
                return Ok(Err(Error::InvalidSecret));
            };
            let (Some(stored), Some(seen)) = (inv.secret_hash, snapshot.secret_hash) else {
                return Ok(Err(Error::InvalidSecret));
            };
            // Resent between the two transactions: the code was hashed for
            // the old secret. Not an attempt at the new one.
            if inv.id != snapshot.id || inv.send_count != snapshot.send_count || stored != seen {
                return Ok(Err(Error::InvalidSecret));
            }
            if inv.status_at(cx.now) != InvitationStatus::Pending
                || inv.locked_until.is_some_and(|until| until > cx.now)
            {
                return Ok(Err(Error::InvalidSecret));
            }
            // `|` rather than `||`: both comparisons always run. The legacy
            // form (plain SHA-256, before salted hashing) matches only
            // codes sent before the upgrade.
            if !(typed.ct_eq(&stored) | legacy.ct_eq(&stored)) {
                let o = cx.org(org)?;
                // The failed attempt is committed: that is the point.
                inv.failed_attempts = inv.failed_attempts.saturating_add(1);
                let every = o.policy.access_code_attempts.max(1);
                let locked = inv.failed_attempts % every == 0;
                if locked {
                    let round = inv.failed_attempts / every - 1;
                    inv.locked_until = Some(lock_end(cx.now, round));
                }
                cx.tx.put_invitation(&inv)?;
                cx.event(
                    org,
                    &Actor::Anonymous,
                    EventKind::AccessCodeRejected {
                        invitation: inv.id.clone(),
                        attempts: inv.failed_attempts,
                        locked,
                    },
                )?;
                return Ok(Err(Error::InvalidSecret));
            }
            let o = cx.org(org)?;
            inv.locked_until = None;
            cx.accept_invitation(&o, inv, &registration).map(Ok)
        })?
    }

    /// Declines an invitation by its token.
    pub fn decline(&self, token: &str) -> Result<Invitation> {
        let t = parse_token(token).ok_or(Error::InvalidSecret)?;
        self.run("decline", |cx| {
            cx.token_org(&t.org)?;
            let inv = cx.by_token(&t)?;
            cx.decline_invitation(&t.org, inv, &Actor::Anonymous)
        })
    }
}

impl Ctx<'_> {
    /// Declines a pending invitation, as `actor`: the one decline of the
    /// token and the inbox.
    pub(crate) fn decline_invitation(
        &mut self,
        org: &OrgId,
        mut inv: StoredInvitation,
        actor: &Actor,
    ) -> Result<Invitation> {
        self.ensure_pending(&inv)?;
        inv.move_to(InvitationStatus::Declined, "decline")?;
        inv.closed_at = Some(self.now);
        self.tx.put_invitation(&inv)?;
        self.supersede_messages(&inv)?;
        self.event(
            org,
            actor,
            EventKind::InvitationDeclined {
                invitation: inv.id.clone(),
            },
        )?;
        Ok(inv.invitation.invitee_view())
    }

    /// The invitation a token opens: read by the id the token names, or
    /// by the hash of an older token's secret, then held to the token. An
    /// invitation opens only in the way its secret was issued (a token
    /// naming it for one found by id, an older token for one found by
    /// hash), and only for a secret whose hash is its current one,
    /// compared in constant time: a token's random part under another
    /// invitation's id, or alone, opens nothing.
    fn by_token(&mut self, t: &ParsedToken) -> Result<StoredInvitation> {
        let inv = self
            .tx
            .invitation_by_token(&t.org, token_key(t))?
            .ok_or(Error::InvalidSecret)?;
        let lookup = match &t.invitation {
            Some(id) if *id == inv.id => SecretLookup::ById,
            Some(_) => return Err(Error::InvalidSecret),
            None => SecretLookup::ByHash,
        };
        match &inv.secret_hash {
            Some(h) if inv.org_id == t.org && inv.secret_lookup == lookup && h.ct_eq(&t.hash) => {
                Ok(inv)
            }
            _ => Err(Error::InvalidSecret),
        }
    }

    fn ensure_pending(&self, inv: &Invitation) -> Result<()> {
        match inv.status_at(self.now) {
            InvitationStatus::Pending => Ok(()),
            InvitationStatus::Expired => Err(Error::InvitationExpired {
                invitation: inv.id.clone(),
                expired_at: inv.expires_at.unwrap_or(self.now),
            }),
            InvitationStatus::Revoked => Err(Error::InvitationRevoked {
                invitation: inv.id.clone(),
            }),
            s => Err(Error::InvitationNotOpen {
                invitation: inv.id.clone(),
                status: s,
            }),
        }
    }

    fn preview_of(&mut self, o: &Organization, inv: Invitation) -> Result<InvitationPreview> {
        let inviter_name = match &inv.inviter {
            Some(id) => self.tx.member(&o.id, id)?.map(|m| m.display_name()),
            None => None,
        };
        let mut group_names = Vec::new();
        for g in &inv.groups {
            if let Some(g) = self.tx.group(&o.id, &g.group_id)? {
                group_names.push(g.name);
            }
        }
        Ok(InvitationPreview {
            invitation_id: inv.id.clone(),
            org_id: o.id.clone(),
            org_name: o.name.clone(),
            inviter_name,
            status: inv.status_at(self.now),
            recipient: inv.recipient,
            display_name: inv.display_name,
            first_name: inv.first_name,
            last_name: inv.last_name,
            role: inv.role.into_string(),
            kind: inv.kind,
            group_names,
            message: inv.message,
            expires_at: inv.expires_at,
            requirements: needs(o),
            locale: inv.locale,
            redirect_url: inv.redirect_url,
            // The public metadata only: the private one never reaches the
            // invitee.
            public_metadata: inv.public_metadata,
        })
    }

    pub(crate) fn accept_invitation(
        &mut self,
        o: &Organization,
        mut inv: StoredInvitation,
        reg: &Registration,
    ) -> Result<Acceptance> {
        // An invitation of an existing account is that account's alone:
        // any other one is told what a wrong token is told, before
        // anything about the invitation.
        if let Some(bound) = &inv.user_ref {
            if reg.user_ref.trim() != bound {
                return Err(Error::InvalidSecret);
            }
        }
        self.ensure_pending(&inv)?;
        if let Contact::Email(invited) = &inv.recipient {
            // The policy may have narrowed its domains since the invitation
            // was sent: no member joins from outside them.
            if !o.policy.allowed_domains.is_empty() {
                let domain = parse_address(invited).map(|m| m.ascii_domain.into_owned());
                match domain {
                    Ok(d) if o.policy.domain_allowed(&d) => {}
                    Ok(d) => return Err(Error::DomainNotAllowed { domain: d }),
                    Err(_) => {
                        return Err(Error::DomainNotAllowed {
                            domain: invited.rsplit('@').next().unwrap_or_default().to_owned(),
                        });
                    }
                }
            }
        }
        if let (Some(verified), Contact::Email(invited)) = (&reg.verified_email, &inv.recipient) {
            let matches = parse_address(verified)
                .map(|m| *m.key == *inv.recipient_key)
                .unwrap_or(false);
            if !matches {
                return Err(Error::EmailMismatch {
                    invited: invited.to_string(),
                    presented: verified.clone(),
                });
            }
        }
        let member = self.join(
            o,
            Joiner {
                contact: inv.recipient.clone(),
                key: inv.recipient_key.clone(),
                reg,
                role: inv.role.clone(),
                kind: inv.kind,
                license_type: inv.license_type.clone(),
                groups: inv.groups.clone(),
                fallback_first: inv.first_name.clone(),
                fallback_last: inv.last_name.clone(),
                reserved_seat: o.policy.reserve_seats_for_pending,
            },
            Some(&inv.invitation),
        )?;
        inv.move_to(InvitationStatus::Accepted, "accept")?;
        inv.closed_at = Some(self.now);
        inv.member_id = Some(member.id.clone());
        self.tx.put_invitation(&inv)?;
        self.supersede_messages(&inv)?;
        self.event(
            &o.id,
            &Actor::Account(member.user_ref.clone().unwrap_or_default()),
            EventKind::InvitationAccepted {
                invitation: inv.id.clone(),
                member: member.id.clone(),
            },
        )?;
        // What the invitee receives: the private metadata stays with the
        // organization (it is on the stored member, for those who may view
        // members).
        let mut shown = member;
        shown.private_metadata = crate::metadata::Metadata::new();
        Ok(Acceptance {
            member: shown,
            invitation: inv.invitation.invitee_view(),
        })
    }

    /// Creates the member: registration checked against the policy, no
    /// duplicate person, a seat free, groups resolved. Appends no event (the
    /// caller's event tells how the member joined).
    pub(crate) fn join(
        &mut self,
        o: &Organization,
        j: Joiner<'_>,
        via_invitation: Option<&Invitation>,
    ) -> Result<Member> {
        let reg = j.reg;
        if j.kind == MemberKind::Guest && !o.policy.guests_enabled {
            // Guests disabled since the invitation was sent or the guest
            // link activated: nobody joins as a guest any more.
            return Err(Error::Disabled {
                feature: Feature::Guests,
            });
        }
        let first_name = clean_line("first_name", reg.first_name.as_deref(), MAX_NAME_CHARS)?
            .or(j.fallback_first);
        let last_name =
            clean_line("last_name", reg.last_name.as_deref(), MAX_NAME_CHARS)?.or(j.fallback_last);
        let phone = clean_line("phone", reg.phone.as_deref(), 40)?;
        let user_ref = clean_line("user_ref", Some(&reg.user_ref), MAX_NAME_CHARS)?;
        let missing = missing_registration(
            &o.policy,
            reg,
            Given {
                user_ref: user_ref.is_some(),
                first_name: first_name.is_some(),
                last_name: last_name.is_some(),
                phone: phone.is_some(),
            },
        );
        if !missing.is_empty() {
            return Err(Error::RegistrationIncomplete { missing });
        }
        let user_ref = user_ref.unwrap_or_default();
        if let Some(m) = self.tx.member_by_contact(&o.id, &j.key)? {
            return Err(Error::AlreadyMember {
                recipient: j.contact.as_str().to_owned(),
                member: m.id,
            });
        }
        if let Some(m) = self.tx.member_by_user_ref(&o.id, &user_ref)? {
            return Err(Error::AlreadyMember {
                recipient: format!("account {user_ref}"),
                member: m.id,
            });
        }
        if !j.reserved_seat {
            self.check_seat(o, &j.license_type, 1)?;
        }
        let mut groups = Vec::with_capacity(j.groups.len());
        for g in j.groups {
            // A group deleted since the invitation was sent is skipped.
            if self.tx.group(&o.id, &g.group_id)?.is_some() {
                groups.push(g);
            }
        }
        let invited_to_groups = via_invitation.is_some_and(|i| !i.groups.is_empty());
        if groups.is_empty() && !invited_to_groups && j.kind == MemberKind::Member {
            if let Some(d) = self.default_group(&o.id)? {
                groups.push(GroupGrant::member(d.id));
            }
        }
        let member = Member {
            org_id: o.id.clone(),
            id: MemberId::from_random(self.id_bytes()),
            user_ref: Some(user_ref),
            contact: j.contact,
            contact_key: j.key,
            first_name,
            last_name,
            phone,
            role: j.role,
            kind: j.kind,
            license_type: j.license_type,
            status: MemberStatus::Active,
            groups,
            joined_at: self.now,
            last_active_at: None,
            eula_version: reg.eula_version.clone(),
            two_factor_enrolled: reg.two_factor_enrolled,
            removed_at: None,
            attributes: via_invitation
                .map(|i| i.attributes.clone())
                .unwrap_or_default(),
            public_metadata: via_invitation
                .map(|i| i.public_metadata.clone())
                .unwrap_or_default(),
            private_metadata: via_invitation
                .map(|i| i.private_metadata.clone())
                .unwrap_or_default(),
        };
        self.tx.put_member(&member)?;
        Ok(member)
    }

    /// Records a join without an invitation.
    pub(crate) fn joined_event(
        &mut self,
        o: &Organization,
        m: &Member,
        via: JoinedVia,
    ) -> Result<()> {
        self.event(
            &o.id,
            &Actor::Account(m.user_ref.clone().unwrap_or_default()),
            EventKind::MemberJoined {
                member: m.id.clone(),
                contact: m.contact.text().clone(),
                role: m.role.clone(),
                via,
            },
        )
    }
}

/// What registration asks for under this organization's policy.
pub(crate) fn needs(o: &Organization) -> RegistrationNeeds {
    RegistrationNeeds {
        first_name: o.policy.registration.first_name,
        last_name: o.policy.registration.last_name,
        phone: o.policy.registration.phone,
        two_factor: o.policy.require_two_factor,
        eula_version: o.policy.eula_version.clone(),
    }
}

/// Which of a registration's fields are given, once cleaned (and, on an
/// invitation, filled from what the inviter typed).
pub(super) struct Given {
    pub(super) user_ref: bool,
    pub(super) first_name: bool,
    pub(super) last_name: bool,
    pub(super) phone: bool,
}

/// What a registration lacks under the policy: the one rule of every way
/// in (an invitation, a link, self-registration, a verified domain, a
/// membership request).
pub(super) fn missing_registration(
    p: &crate::policy::Policy,
    reg: &Registration,
    given: Given,
) -> Vec<RegistrationField> {
    let mut missing = Vec::new();
    if !given.user_ref {
        missing.push(RegistrationField::UserRef);
    }
    if p.registration.first_name && !given.first_name {
        missing.push(RegistrationField::FirstName);
    }
    if p.registration.last_name && !given.last_name {
        missing.push(RegistrationField::LastName);
    }
    if p.registration.phone && !given.phone {
        missing.push(RegistrationField::Phone);
    }
    if let Some(v) = &p.eula_version {
        if reg.eula_version.as_deref() != Some(v.as_str()) {
            missing.push(RegistrationField::EulaVersion);
        }
    }
    if p.require_two_factor && !reg.two_factor_enrolled {
        missing.push(RegistrationField::TwoFactor);
    }
    missing
}

/// What a store finds a token's invitation by.
fn token_key(t: &ParsedToken) -> TokenKey<'_> {
    match &t.invitation {
        Some(id) => TokenKey::Id(id),
        None => TokenKey::Secret(&t.hash),
    }
}

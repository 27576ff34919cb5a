//! The shareable invitation link, and self-registration.

use super::accept::{Joiner, needs};
use super::{Enlist, identifier_key};
use crate::email::parse_address;
use crate::error::{Error, Feature, RegistrationField, Result};
use crate::event::{Actor, EventKind, JoinedVia};
use crate::group::GroupGrant;
use crate::id::LinkId;
use crate::id::OrgId;
use crate::invitation::{InvitationStatus, Registration, RegistrationNeeds};
use crate::link::{DEFAULT_LINK_NAME, InviteLink, LinkStatus, StoredInviteLink};
use crate::member::{Contact, Member, MemberKind};
use crate::organization::Organization;
use crate::policy::DEFAULT_LICENSE;
use crate::role::{Permission, builtin};
use crate::secret::{Secret, parse_token};
use crate::text::Text;
use serde::{Deserialize, Serialize};

/// A freshly activated invitation link and its URL, as
/// [`Enlist::activate_invite_link`] returns them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[non_exhaustive]
pub struct ActivatedLink {
    /// The link.
    pub link: InviteLink,
    /// The URL to share, shown this once: it holds the link's secret
    /// (`url.expose()`).
    pub url: Secret,
}

/// What people joining by the link get.
///
/// In Kotlin and Swift `kind` is required (uniffi cannot default an enum
/// field): `kind = MemberKind.MEMBER` is Rust's default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LinkSpec {
    /// Member or guest.
    pub kind: MemberKind,
    /// Their role (default `member`, or `guest` for guests).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// Their groups (empty: the default group, for members).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub groups: Vec<GroupGrant>,
    /// Their license type.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub license_type: Option<String>,
}

impl Default for LinkSpec {
    fn default() -> Self {
        Self {
            role: None,
            kind: MemberKind::Member,
            groups: Vec::new(),
            license_type: None,
        }
    }
}

/// What the link's landing page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct LinkPreview {
    /// The organization.
    pub org_id: OrgId,
    /// Its name.
    pub org_name: String,
    /// The role offered.
    pub role: String,
    /// Member or guest.
    pub kind: MemberKind,
    /// Names of the groups offered.
    pub group_names: Vec<String>,
    /// What registration asks for.
    pub requirements: RegistrationNeeds,
}

impl Enlist {
    /// Activates the invitation link with a new secret (any previous link
    /// stops working) and returns the link to share. Needs
    /// [`Permission::ManageInviteLink`], the invite permission of the
    /// link's kind ([`Permission::InviteMembers`] or
    /// [`Permission::InviteGuests`]), the role and groups within the
    /// actor's reach, and the policy's `invite_link_enabled`. The link's
    /// base is the policy's `accept_url_base` if the host allows it, else
    /// the engine's default.
    pub fn activate_invite_link(
        &self,
        org: &OrgId,
        actor: &Actor,
        spec: LinkSpec,
    ) -> Result<ActivatedLink> {
        self.run("activate_invite_link", |cx| {
            let (o, auth) = cx.authorized(org, actor, Permission::ManageInviteLink)?;
            if !o.policy.invite_link_enabled {
                return Err(Error::Disabled {
                    feature: Feature::InviteLink,
                });
            }
            if spec.kind == MemberKind::Guest && !o.policy.guests_enabled {
                return Err(Error::Disabled {
                    feature: Feature::Guests,
                });
            }
            let role = spec
                .role
                .clone()
                .unwrap_or_else(|| spec.kind.default_role().to_owned());
            // The link invites whoever holds it: it needs the invite
            // permission of its kind as well as ManageInviteLink.
            auth.require(if spec.kind == MemberKind::Guest {
                Permission::InviteGuests
            } else {
                Permission::InviteMembers
            })?;
            let r = auth.grantable_role(&o, &role)?;
            if spec.kind == MemberKind::Guest && !r.permissions.is_empty() {
                return Err(Error::invalid(
                    "role",
                    format!("guests get a role without permissions, not {role:?}"),
                ));
            }
            let groups = cx.check_grants(org, &auth, &spec.groups)?;
            // Each activation is a new generation of the default link, so
            // a URL derived under the host's link key never comes back.
            let id = LinkId::default_link();
            let generation = match cx.tx.link(org, &id)? {
                Some(prev) => super::links::next_generation(prev.generation)?,
                None => 0,
            };
            let (secret, hash) = cx.link_keys.new_secret(cx.secrets, org, &id, generation);
            let link = InviteLink {
                org_id: org.clone(),
                role: role.clone(),
                kind: spec.kind,
                groups: groups.clone(),
                license_type: match &spec.license_type {
                    Some(lt) => super::clean_label("license_type", lt)?,
                    None => DEFAULT_LICENSE.to_owned(),
                },
                active: true,
                created_by: auth.member.as_ref().map(|m| m.id.clone()),
                created_at: cx.now,
                uses: 0,
                id,
                name: DEFAULT_LINK_NAME.to_owned(),
                expires_at: None,
                max_uses: None,
                allowed_domains: Vec::new(),
                status: LinkStatus::Active,
            };
            let mut link = StoredInviteLink::new(link, Some(hash));
            link.generation = generation;
            cx.tx.put_invite_link(&link)?;
            cx.event(
                org,
                actor,
                EventKind::InviteLinkActivated {
                    role,
                    kind: spec.kind,
                    groups,
                },
            )?;
            let url = super::render::accept_url(&o, cx.config, &secret);
            Ok(ActivatedLink {
                link: link.link,
                url: Secret::new(url),
            })
        })
    }

    /// Deactivates the invitation link: it stops working at once.
    pub fn deactivate_invite_link(&self, org: &OrgId, actor: &Actor) -> Result<()> {
        self.run("deactivate_invite_link", |cx| {
            cx.authorized(org, actor, Permission::ManageInviteLink)?;
            match cx.tx.invite_link(org)? {
                Some(mut link) if link.active => {
                    link.active = false;
                    cx.tx.put_invite_link(&link)?;
                    cx.event(org, actor, EventKind::InviteLinkDeactivated)
                }
                _ => Ok(()),
            }
        })
    }

    /// The organization's link settings (without its secret, which is shown
    /// only when activated: activate again to get a new one).
    pub fn invite_link(&self, org: &OrgId, actor: &Actor) -> Result<Option<InviteLink>> {
        self.run_read("invite_link", |cx| {
            cx.authorized(org, actor, Permission::ManageInviteLink)?;
            let now = cx.now;
            Ok(cx.tx.invite_link(org)?.map(|l| super::links::view(l, now)))
        })
    }

    /// What the landing page of a link (the default one or a named one)
    /// shows; refused as [`Enlist::join_by_link`] would refuse the link.
    pub fn preview_link(&self, token: &str) -> Result<LinkPreview> {
        let (org, hash) = link_token(token)?;
        self.run_read("preview_link", |cx| {
            let o = cx.token_org(&org)?;
            let link = cx.live_link(&o, &hash)?;
            let mut group_names = Vec::new();
            for g in &link.groups {
                if let Some(g) = cx.tx.group(&org, &g.group_id)? {
                    group_names.push(g.name);
                }
            }
            Ok(LinkPreview {
                org_id: org.clone(),
                org_name: o.name.clone(),
                role: link.link.role,
                kind: link.link.kind,
                group_names,
                requirements: needs(&o),
            })
        })
    }

    /// Joins by an invitation link: the default link or a named one, found
    /// by the hash of the token's secret (ADR 0013). The link's status
    /// (revoked, expired: [`Error::LinkExpired`], used up:
    /// [`LimitKind::LinkUses`](crate::LimitKind::LinkUses)) and its own
    /// allowed domains (a verified email of one of them) are checked, and
    /// its use counted, in the join's transaction. `contact` is the
    /// person's email (or identifier); allowed domains, seats and the
    /// registration rules apply.
    /// Where the policy restricts domains, only an email matching the
    /// registration's `verified_email` joins (identifiers are refused). An
    /// open invitation for the same contact is closed as accepted when the
    /// email is verified; on an unverified claim the join is refused
    /// (conflict) and the invitation stays open.
    pub fn join_by_link(
        &self,
        token: &str,
        contact: &str,
        registration: Registration,
    ) -> Result<Member> {
        super::check_registration(&registration)?;
        super::check_max_bytes("contact", contact, super::MAX_EMAIL_FIELD_BYTES)?;
        let (org, hash) = link_token(token)?;
        self.run("join_by_link", |cx| {
            let o = cx.token_org(&org)?;
            let mut link = cx.live_link(&o, &hash)?;
            super::links::check_link_contact(&link, contact, &registration)?;
            let via = if link.id.is_default() {
                JoinedVia::InviteLink
            } else {
                JoinedVia::NamedLink(link.id.clone())
            };
            let terms = JoinTerms {
                role: link.role.clone(),
                kind: link.kind,
                license_type: link.license_type.clone(),
                groups: link.groups.clone(),
            };
            let m = cx.join_uninvited(&o, contact, &registration, terms, via)?;
            // Counted in the join's transaction: a store that runs writers
            // one at a time (SQLite) or refuses a stale write (Postgres)
            // never lets two joins both take the last use.
            link.uses = link.uses.saturating_add(1);
            cx.tx.put_link(&link)?;
            Ok(m)
        })
    }

    /// Registers without an invitation, where the policy allows
    /// self-registration: a member with the `member` role in the default
    /// group. The contact rules are those of [`Enlist::join_by_link`].
    pub fn self_register(
        &self,
        org: &OrgId,
        contact: &str,
        registration: Registration,
    ) -> Result<Member> {
        super::check_registration(&registration)?;
        super::check_max_bytes("contact", contact, super::MAX_EMAIL_FIELD_BYTES)?;
        self.run("self_register", |cx| {
            let o = cx.org(org)?;
            if !o.policy.self_registration {
                return Err(Error::Disabled {
                    feature: Feature::SelfRegistration,
                });
            }
            let terms = JoinTerms {
                role: builtin::MEMBER.to_owned(),
                kind: MemberKind::Member,
                license_type: DEFAULT_LICENSE.to_owned(),
                groups: Vec::new(),
            };
            cx.join_uninvited(
                &o,
                contact,
                &registration,
                terms,
                JoinedVia::SelfRegistration,
            )
        })
    }
}

impl super::Ctx<'_> {
    /// Joins someone who comes without an invitation (by the link, or by
    /// self-registration) on `terms`: their contact checked
    /// ([`contact_of`]), the seat an open invitation reserved for them
    /// counted as theirs if its license type is the one they join with
    /// (and their contact is verified), the member written with its
    /// event, and that invitation closed.
    pub(super) fn join_uninvited(
        &mut self,
        o: &Organization,
        contact: &str,
        registration: &Registration,
        terms: JoinTerms,
        via: JoinedVia,
    ) -> Result<Member> {
        let JoinContact {
            contact,
            key,
            verified,
        } = contact_of(o, contact, registration)?;
        // An open invitation for the same person already holds their
        // seat, if it is a seat of the license type they join with; it
        // is theirs only if their address is verified.
        let reserved_seat = self
            .open_invitation_of_joiner(o, &key, verified, &registration.user_ref)?
            .is_some_and(|i| {
                o.policy.reserve_seats_for_pending && i.license_type == terms.license_type
            });
        let m = self.join(
            o,
            Joiner {
                contact,
                key: key.into(),
                reg: registration,
                role: terms.role.into(),
                kind: terms.kind,
                license_type: terms.license_type.into(),
                groups: terms.groups,
                fallback_first: None,
                fallback_last: None,
                reserved_seat,
            },
            None,
        )?;
        self.joined_event(o, &m, via)?;
        if verified {
            self.close_open_invitation(o, &m)?;
        }
        Ok(m)
    }

    /// The open invitation for the contact a joiner gave, if there is one
    /// and the contact is verified. An unverified claim on a contact that
    /// has an open invitation is refused: the invitation (its role, its
    /// reserved seat, and the address itself) belongs to whoever holds its
    /// secret, not to whoever types the address or identifier first.
    fn open_invitation_of_joiner(
        &mut self,
        o: &Organization,
        key: &str,
        verified: bool,
        user_ref: &str,
    ) -> Result<Option<crate::invitation::StoredInvitation>> {
        let Some(inv) = self.tx.open_invitation_for(&o.id, key)? else {
            return Ok(None);
        };
        if inv.status_at(self.now) == InvitationStatus::Expired {
            // Past its expiry: it holds nothing any more; record that, so
            // no open invitation is left for someone who is now a member.
            self.persist_expiry(inv)?;
            return Ok(None);
        }
        // An invitation bound to an account (issue 14) is that account's
        // alone, whoever verified its address.
        let theirs = inv.user_ref.as_deref().is_none_or(|u| u == user_ref.trim());
        if !verified || !theirs {
            return Err(Error::conflict(
                "an invitation is waiting for this contact: accept it from the invitation, \
                 or sign in with an account whose verified email is this address",
            ));
        }
        Ok(Some(inv))
    }

    /// Someone who joined another way (with a verified contact, checked by
    /// [`Self::open_invitation_of_joiner`]) no longer needs their
    /// invitation.
    fn close_open_invitation(&mut self, o: &Organization, m: &Member) -> Result<()> {
        if let Some(mut inv) = self.tx.open_invitation_for(&o.id, &m.contact_key)? {
            inv.move_to(InvitationStatus::Accepted, "join")?;
            inv.closed_at = Some(self.now);
            inv.member_id = Some(m.id.clone());
            self.tx.put_invitation(&inv)?;
            self.supersede_messages(&inv)?;
            self.event(
                &o.id,
                &Actor::Account(m.user_ref.clone().unwrap_or_default()),
                EventKind::InvitationAccepted {
                    invitation: inv.id.clone(),
                    member: m.id.clone(),
                },
            )?;
        }
        Ok(())
    }
}

/// What someone joining without an invitation gets: the link's terms, or
/// a self-registration's (the `member` role, the default license, no
/// group).
pub(super) struct JoinTerms {
    pub(super) role: String,
    pub(super) kind: MemberKind,
    pub(super) license_type: String,
    pub(super) groups: Vec<GroupGrant>,
}

/// The contact of someone joining without an invitation, and whether it
/// is proven.
pub(crate) struct JoinContact {
    pub contact: Contact,
    pub key: String,
    /// The host vouched for it: an email matching the account's
    /// `Registration::verified_email`. A typed address or an identifier is
    /// a claim, not a proof.
    pub verified: bool,
}

/// A link's token: its organization and the hash of its secret. A link
/// token names no invitation; one that does is an invitation's, refused
/// here as any token that is not a link's.
fn link_token(token: &str) -> Result<(crate::OrgId, crate::SecretHash)> {
    match parse_token(token) {
        Some(p) if p.invitation.is_none() => Ok((p.org, p.hash)),
        _ => Err(Error::InvalidSecret),
    }
}

/// The contact and key of someone joining: an email (domain rules apply;
/// a verified email must match) or an identifier. Where the policy
/// restricts domains, only a verified email of an allowed domain joins: an
/// identifier has no domain to check, and a typed address is only a claim.
fn contact_of(o: &Organization, contact: &str, reg: &Registration) -> Result<JoinContact> {
    let restricted = !o.policy.allowed_domains.is_empty();
    if contact.contains('@') {
        let m = parse_address(contact).map_err(|e| Error::invalid("email", e.to_string()))?;
        if !o.policy.domain_allowed(&m.ascii_domain) {
            return Err(Error::DomainNotAllowed {
                domain: m.ascii_domain.into_owned(),
            });
        }
        let verified = match &reg.verified_email {
            Some(v) => {
                if parse_address(v).map(|v| v.key != m.key).unwrap_or(true) {
                    return Err(Error::EmailMismatch {
                        invited: m.address.into_owned(),
                        presented: v.clone(),
                    });
                }
                true
            }
            None => false,
        };
        if restricted && !verified {
            return Err(Error::RegistrationIncomplete {
                missing: vec![RegistrationField::VerifiedEmail],
            });
        }
        Ok(JoinContact {
            contact: Contact::Email(Text::from(m.address.as_ref())),
            key: m.key.into_owned(),
            verified,
        })
    } else {
        if restricted {
            return Err(Error::invalid(
                "contact",
                "this organization admits only verified email addresses of its allowed domains",
            ));
        }
        let key = identifier_key(contact)?;
        Ok(JoinContact {
            contact: Contact::Identifier(Text::from(contact.trim())),
            key,
            verified: false,
        })
    }
}

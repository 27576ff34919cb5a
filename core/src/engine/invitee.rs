//! The invitee's side across organizations: the inbox of a signed-in
//! person ([`Enlist::invitations_for`]), accepting and declining from it
//! without the token ([`Enlist::accept_from_inbox`],
//! [`Enlist::decline_from_inbox`]), invitations bound to an existing
//! account ([`RecipientInput::user_ref`](crate::RecipientInput::user_ref)),
//! and adding a member directly ([`Enlist::add_member`]).
//!
//! **The identity comes from the host's own verified session, never from
//! request input.** An [`Identity`] (and the `user_ref` and
//! `verified_email` of a [`Registration`] given to
//! [`Enlist::accept_from_inbox`]) is the host vouching: "this request comes
//! from account `user_ref`, whose email `verified_email` we verified". A
//! host that copies either from a form or a query string lets anyone read
//! and accept anyone's invitations.

use super::accept::Joiner;
use super::invite::{Candidate, RejectReason, authorize_invite, check_grants_and_role};
use super::{
    Ctx, Enlist, MAX_CURSOR_BYTES, MAX_EMAIL_FIELD_BYTES, MAX_IDENTIFIER_CHARS, MAX_KEY_BYTES,
    MAX_NAME_CHARS, check_bytes, check_max_bytes, clean_label, clean_line, identifier_key,
};
use crate::email::parse_address;
use crate::error::{EntityKind, Error, LimitKind, Result};
use crate::event::{Actor, EventKind};
use crate::group::GroupGrant;
use crate::id::{InvitationId, OrgId};
use crate::invitation::{Invitation, InvitationStatus, Registration, RegistrationNeeds};
use crate::member::{Contact, Member, MemberKind, Page};
use crate::organization::Organization;
use crate::policy::DEFAULT_LICENSE;
use crate::role::Permission;
use crate::store::PersonLookup;
use crate::text::Text;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The largest page of [`Enlist::invitations_for`]: each item reads its
/// organization, its inviter and its groups, so a page is kept small.
pub const MAX_INBOX_PAGE: u32 = 100;

/// Who is signed in, as the host vouches for it: a verified email and/or
/// a host account id. **Build it from the host's own verified session
/// (after sign-in), never from request input**: whoever can choose it can
/// read and answer that person's invitations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[non_exhaustive]
pub struct Identity {
    /// The account's email, verified by the host (a confirmation link, an
    /// identity provider that says so). Finds invitations addressed to it
    /// that are bound to no account.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub verified_email: Option<String>,
    /// The host's account id. Finds invitations bound to this account.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub user_ref: Option<String>,
}

impl Identity {
    /// An identity with both a verified email and an account.
    pub fn new(verified_email: Option<String>, user_ref: Option<String>) -> Self {
        Self {
            verified_email,
            user_ref,
        }
    }

    /// The identity a registration vouches for (its `user_ref` and
    /// `verified_email`).
    pub fn of(registration: &Registration) -> Self {
        Self {
            verified_email: registration.verified_email.clone(),
            user_ref: Some(registration.user_ref.clone()),
        }
    }
}

/// One invitation in a person's inbox: what an app shows ("Acme invites
/// you as member"), never its token, accept URL or access code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct InboxInvitation {
    /// The organization's id (pass it to [`Enlist::accept_from_inbox`]).
    pub org_id: OrgId,
    /// The organization's name.
    pub org_name: String,
    /// The invitation's id.
    pub invitation_id: InvitationId,
    /// The role offered.
    pub role: String,
    /// Member or guest.
    pub kind: MemberKind,
    /// Names of the groups offered.
    pub group_names: Vec<String>,
    /// Who invited, by display name.
    pub inviter_name: Option<String>,
    /// The inviter's personal message.
    pub message: Option<String>,
    /// When it was created.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub created_at: DateTime<Utc>,
    /// When it expires.
    #[serde(serialize_with = "crate::timestamp::ser_opt")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Whether it is bound to the signed-in account (an invitation of an
    /// existing account) rather than found by the verified email.
    pub for_account: bool,
    /// What accepting will ask for under the organization's policy.
    pub requirements: RegistrationNeeds,
}

/// A member added directly by an administrator, without an invitation
/// ([`Enlist::add_member`]) [better-auth `addMember`, Clerk
/// `createOrganizationMembership`]. The person is an existing account of
/// the host (`user_ref`); their details are held to the policy's
/// registration requirements as if they had registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[non_exhaustive]
pub struct NewMember {
    /// The host's account id (required).
    pub user_ref: String,
    /// The email to record as the member's contact. `None` (and no
    /// identifier): the member's contact is the account itself.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub email: Option<String>,
    /// An identifier (phone, personnel number) as contact, when no email.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub identifier: Option<String>,
    /// First name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub first_name: Option<String>,
    /// Last name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub last_name: Option<String>,
    /// Phone number.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub phone: Option<String>,
    /// The EULA version the account agreed to (needed when the policy
    /// asks for one).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub eula_version: Option<String>,
    /// Whether the account has two-factor (needed when the policy asks).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub two_factor_enrolled: bool,
    /// The organization role (default: the policy's role for the kind).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// Member or guest.
    pub kind: MemberKind,
    /// Groups with group roles (empty: the default group, for members).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub groups: Vec<GroupGrant>,
    /// License type (default [`DEFAULT_LICENSE`]).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub license_type: Option<String>,
}

impl NewMember {
    /// A member for this account, with the defaults (member role, no
    /// contact but the account, default group and license).
    pub fn new(user_ref: impl Into<String>) -> Self {
        Self {
            user_ref: user_ref.into(),
            email: None,
            identifier: None,
            first_name: None,
            last_name: None,
            phone: None,
            eula_version: None,
            two_factor_enrolled: false,
            role: None,
            kind: MemberKind::Member,
            groups: Vec::new(),
            license_type: None,
        }
    }

    /// Sets the email recorded as contact.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the role.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Sets the groups.
    pub fn groups(mut self, groups: Vec<GroupGrant>) -> Self {
        self.groups = groups;
        self
    }

    /// Sets the names.
    pub fn names(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = Some(first.into());
        self.last_name = Some(last.into());
        self
    }
}

/// An identity bounded and normalized: the email's key, the account.
struct Person {
    email_key: Option<String>,
    user_ref: Option<String>,
}

/// Bounds and normalizes an identity before any store sees it. An
/// unreadable verified email is invalid input (the host sent it).
fn person_of(identity: &Identity) -> Result<Person> {
    let email_key = match &identity.verified_email {
        Some(e) => {
            check_max_bytes("verified_email", e, MAX_EMAIL_FIELD_BYTES)?;
            let m = parse_address(e)
                .map_err(|err| Error::invalid("verified_email", err.to_string()))?;
            Some(m.key.into_owned())
        }
        None => None,
    };
    let user_ref = clean_line("user_ref", identity.user_ref.as_deref(), MAX_NAME_CHARS)?;
    if email_key.is_none() && user_ref.is_none() {
        return Err(Error::invalid(
            "identity",
            "needs a verified email or an account (user_ref) from the host's session",
        ));
    }
    Ok(Person {
        email_key,
        user_ref,
    })
}

impl Person {
    /// Whether this person may see and answer `inv`: bound to their
    /// account, or (bound to none) addressed to their verified email.
    /// Identifier invitations bound to no account are never theirs here:
    /// an identifier is not something the host verifies, so those are
    /// answered with the access code only.
    fn owns(&self, inv: &Invitation) -> bool {
        match &inv.user_ref {
            Some(bound) => self.user_ref.as_ref() == Some(bound),
            None => {
                matches!(inv.recipient, Contact::Email(_))
                    && self.email_key.as_deref() == Some(inv.recipient_key.as_str())
            }
        }
    }
}

/// Bounds the organization and invitation ids a caller names.
fn check_ids(org: &OrgId, invitation: &InvitationId) -> Result<()> {
    check_max_bytes("org_id", org.as_str(), MAX_KEY_BYTES)?;
    check_max_bytes("invitation_id", invitation.as_str(), MAX_KEY_BYTES)
}

impl Enlist {
    /// The signed-in person's open invitations across every organization
    /// [better-auth `listUserInvitations`]: pending and not expired (never
    /// staged, accepted, declined, revoked or expired ones), newest first,
    /// a page of `limit` (1 to [`MAX_INBOX_PAGE`]) after `after` (the previous page's
    /// `next_cursor`). Found by the identity's verified email (invitations
    /// to that address bound to no account) and by its account
    /// (invitations bound to it, whatever their address). Each item is
    /// what a UI shows and no secret.
    ///
    /// **`identity` must come from the host's own verified session, never
    /// from request input** (see [`Identity`]).
    ///
    /// ```
    /// use enlist::{Actor, CreatedOrganization, Enlist, Identity, InviteRequest, NewOrganization, Recipients};
    /// let engine = Enlist::in_memory();
    /// let CreatedOrganization { organization: org, owner, .. } =
    ///     engine.create_organization(NewOrganization::new("Acme", "owner-1", "ada@acme.test"))?;
    /// engine.invite(&org.id, &Actor::Member(owner.id), InviteRequest::new(Recipients::Paste("bob@b.test".into())))?;
    /// // After Bob signs in, with the email the host verified:
    /// let me = Identity::new(Some("bob@b.test".into()), Some("acct-bob".into()));
    /// let inbox = engine.invitations_for(&me, None, 20)?;
    /// assert_eq!(inbox.items[0].org_name, "Acme");
    /// let accepted = engine.accept_from_inbox(&inbox.items[0].org_id, &inbox.items[0].invitation_id,
    ///     enlist::Registration { user_ref: "acct-bob".into(), verified_email: Some("bob@b.test".into()),
    ///         first_name: Some("Bob".into()), last_name: Some("B".into()), ..Default::default() })?;
    /// assert_eq!(accepted.member.user_ref.as_deref(), Some("acct-bob"));
    /// # Ok::<(), enlist::Error>(())
    /// ```
    pub fn invitations_for(
        &self,
        identity: &Identity,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<InboxInvitation>> {
        let person = person_of(identity)?;
        if let Some(a) = after {
            check_max_bytes("cursor", a, MAX_CURSOR_BYTES)?;
        }
        if limit == 0 || limit > MAX_INBOX_PAGE {
            return Err(Error::LimitExceeded {
                limit: LimitKind::PageSize,
                max: u64::from(MAX_INBOX_PAGE),
                actual: u64::from(limit),
                detail: Some("invitations_for".into()),
            });
        }
        let mut lookup = PersonLookup::new(person.email_key, person.user_ref, limit);
        lookup.after = after.map(str::to_owned);
        self.run_read("invitations_for", |cx| {
            let page = cx.tx.person_invitations(&lookup, cx.now)?;
            let mut orgs: HashMap<OrgId, Option<Organization>> = HashMap::new();
            let mut items = Vec::with_capacity(page.items.len());
            for inv in page.items {
                if !orgs.contains_key(&inv.org_id) {
                    let o = cx.tx.organization(&inv.org_id)?;
                    orgs.insert(inv.org_id.clone(), o);
                }
                let Some(Some(o)) = orgs.get(&inv.org_id) else {
                    continue;
                };
                let o = o.clone();
                items.push(cx.inbox_item(&o, inv.invitation)?);
            }
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
    }

    /// Accepts an invitation from the signed-in person's inbox, without
    /// its token [better-auth `acceptInvitation(invitationId)`]: the same
    /// accept as [`Enlist::accept`] (registration requirements, seats,
    /// expiry, allowed domains, events, outcome), for an invitation that
    /// is the registration's: bound to its `user_ref`, or (bound to no
    /// account) addressed to its `verified_email`.
    ///
    /// An invitation that is not theirs, does not exist, is in an
    /// organization that does not exist, or is staged (not sent) is the
    /// same [`Error::NotFound`], so an id tells nothing about other
    /// people's invitations. An identifier invitation is accepted here
    /// only when bound to the account; otherwise its access code is the
    /// way ([`Enlist::accept_with_code`]).
    ///
    /// **The registration's `user_ref` and `verified_email` must come from
    /// the host's own verified session, never from request input.**
    pub fn accept_from_inbox(
        &self,
        org: &OrgId,
        invitation: &InvitationId,
        registration: Registration,
    ) -> Result<crate::Acceptance> {
        super::check_registration(&registration)?;
        check_ids(org, invitation)?;
        let person = person_of(&Identity::of(&registration))?;
        self.run("accept_from_inbox", |cx| {
            let (o, inv) = cx.inbox_invitation(org, invitation, &person)?;
            cx.accept_invitation(&o, inv, &registration)
        })
    }

    /// Declines an invitation from the signed-in person's inbox, without
    /// its token: the same as [`Enlist::decline`], for an invitation that
    /// is theirs (as for [`Enlist::accept_from_inbox`]; anything else is
    /// [`Error::NotFound`]).
    ///
    /// **`identity` must come from the host's own verified session, never
    /// from request input.**
    pub fn decline_from_inbox(
        &self,
        org: &OrgId,
        invitation: &InvitationId,
        identity: &Identity,
    ) -> Result<Invitation> {
        check_ids(org, invitation)?;
        let person = person_of(identity)?;
        let actor = match &person.user_ref {
            Some(u) => Actor::Account(u.clone()),
            None => Actor::Anonymous,
        };
        self.run("decline_from_inbox", |cx| {
            let (o, inv) = cx.inbox_invitation(org, invitation, &person)?;
            cx.decline_invitation(&o.id, inv, &actor)
        })
    }

    /// Adds an existing account as an active member directly, without an
    /// invitation [better-auth `addMember`, Clerk
    /// `createOrganizationMembership`]. The actor needs `manage_members`
    /// and must be able to grant the role and groups as for an invitation
    /// (a user admin cannot add an owner); the seat limits, the allowed
    /// email domains and the policy's registration requirements apply; the
    /// account, the email or the identifier must not already be a member,
    /// nor have an open invitation (revoke it, or let them accept it).
    /// Audited as [`EventKind::MemberAdded`].
    pub fn add_member(&self, org: &OrgId, actor: &Actor, req: NewMember) -> Result<Member> {
        // Bounded and parsed before any transaction.
        let user_ref = clean_line("user_ref", Some(&req.user_ref), MAX_NAME_CHARS)?
            .ok_or_else(|| Error::invalid("user_ref", "must not be empty"))?;
        check_grants_and_role(req.role.as_deref(), Some(&req.groups))?;
        let license_type = req
            .license_type
            .as_deref()
            .map(|lt| clean_label("license_type", lt))
            .transpose()?
            .unwrap_or_else(|| DEFAULT_LICENSE.to_owned());
        let (contact, key, domain) = match (&req.email, &req.identifier) {
            (Some(e), _) => {
                check_max_bytes("email", e, MAX_EMAIL_FIELD_BYTES)?;
                let m = parse_address(e).map_err(|err| Error::invalid("email", err.to_string()))?;
                (
                    Contact::Email(Text::from(m.address.as_ref())),
                    m.key.into_owned(),
                    Some(m.ascii_domain.into_owned()),
                )
            }
            (None, Some(i)) => {
                check_bytes("identifier", i, MAX_IDENTIFIER_CHARS)?;
                (
                    Contact::Identifier(Text::from(i.trim())),
                    identifier_key(i)?,
                    None,
                )
            }
            (None, None) => (
                Contact::Account(Text::from(user_ref.as_str())),
                Contact::account_key(&user_ref),
                None,
            ),
        };
        let registration = Registration {
            user_ref: user_ref.clone(),
            first_name: req.first_name.clone(),
            last_name: req.last_name.clone(),
            phone: req.phone.clone(),
            eula_version: req.eula_version.clone(),
            two_factor_enrolled: req.two_factor_enrolled,
            verified_email: None,
        };
        super::check_registration(&registration)?;
        self.run("add_member", |cx| {
            let (o, auth) = cx.authorized(org, actor, Permission::ManageMembers)?;
            let role = req
                .role
                .clone()
                .unwrap_or_else(|| o.policy.role_for(req.kind).to_owned());
            let mut known = std::collections::HashSet::new();
            let groups = cx.invite_grants_cached(&o.id, &req.groups, &mut known)?;
            authorize_invite(&o, &auth, &role, req.kind, &groups)?;
            if let Some(d) = &domain {
                if !o.policy.domain_allowed(d) {
                    return Err(Error::DomainNotAllowed { domain: d.clone() });
                }
            }
            for k in [key.clone(), Contact::account_key(&user_ref)] {
                if let Some(open) = cx.tx.open_invitation_for(&o.id, &k)? {
                    if open.status_at(cx.now).is_open() {
                        return Err(Error::conflict(format!(
                            "invitation {} is open for this person: revoke it first, or let them accept it",
                            open.id
                        )));
                    }
                }
            }
            let mut lookup = PersonLookup::new(None, Some(user_ref.clone()), 1);
            lookup.org = Some(o.id.clone());
            if let Some(open) = cx.tx.person_invitations(&lookup, cx.now)?.items.first() {
                return Err(Error::conflict(format!(
                    "invitation {} is open for this account: revoke it first, or let them accept it",
                    open.id
                )));
            }
            let member = cx.join(
                &o,
                Joiner {
                    contact: contact.clone(),
                    key: key.as_str().into(),
                    reg: &registration,
                    role: role.into(),
                    kind: req.kind,
                    license_type: license_type.as_str().into(),
                    groups,
                    fallback_first: None,
                    fallback_last: None,
                    reserved_seat: false,
                },
                None,
            )?;
            cx.event(
                &o.id,
                actor,
                EventKind::MemberAdded {
                    member: member.id.clone(),
                    user_ref: user_ref.clone(),
                    contact: member.contact.text().clone(),
                    role: member.role.clone(),
                },
            )?;
            Ok(member)
        })
    }
}

impl Ctx<'_> {
    /// The invitation `id` of `org` if it is `person`'s and sent; anything
    /// else (no such organization or invitation, someone else's, staged)
    /// is the same not-found.
    fn inbox_invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
        person: &Person,
    ) -> Result<(Organization, crate::invitation::StoredInvitation)> {
        let not_found = || Error::not_found(EntityKind::Invitation, id);
        let o = self.tx.organization(org)?.ok_or_else(not_found)?;
        let inv = self.tx.invitation(org, id)?.ok_or_else(not_found)?;
        if !person.owns(&inv) || inv.status == InvitationStatus::Staged {
            return Err(not_found());
        }
        self.trace.org(&o.id);
        Ok((o, inv))
    }

    /// What the inbox shows of one invitation.
    fn inbox_item(&mut self, o: &Organization, inv: Invitation) -> Result<InboxInvitation> {
        let inviter_name = match &inv.inviter {
            Some(id) => self.tx.member(&o.id, id)?.map(|m| m.display_name()),
            None => None,
        };
        let group_names = super::render::group_names(self.tx.as_mut(), &inv)?;
        Ok(InboxInvitation {
            org_id: o.id.clone(),
            org_name: o.name.clone(),
            invitation_id: inv.id.clone(),
            role: inv.role.into_string(),
            kind: inv.kind,
            group_names,
            inviter_name,
            message: inv.message,
            created_at: inv.created_at,
            expires_at: inv.expires_at,
            for_account: inv.user_ref.is_some(),
            requirements: super::accept::needs(o),
        })
    }

    /// An invitation bound to an account is refused when that account is
    /// already a member, or already has an open invitation in the
    /// organization (by whatever address).
    pub(super) fn account_blocker(
        &mut self,
        o: &Organization,
        c: &Candidate,
    ) -> Result<Option<RejectReason>> {
        let Some(u) = &c.user_ref else {
            return Ok(None);
        };
        if let Some(m) = self.tx.member_by_user_ref(&o.id, u)? {
            return Ok(Some(RejectReason::AlreadyMember { member: m.id }));
        }
        let mut lookup = PersonLookup::new(None, Some(u.clone()), 1);
        lookup.org = Some(o.id.clone());
        if let Some(open) = self.tx.person_invitations(&lookup, self.now)?.items.first() {
            return Ok(Some(RejectReason::AlreadyInvited {
                invitation: open.id.clone(),
            }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::{actor_with_role, org, registration};
    use crate::engine::{InviteRequest, RecipientInput, Recipients};
    use crate::policy::Policy;
    use crate::role::builtin;

    fn engine() -> Enlist {
        Enlist::in_memory().with_clock(std::sync::Arc::new(crate::ManualClock::at_epoch_seconds(
            1_700_000_000,
        )))
    }

    fn me(email: Option<&str>, user_ref: Option<&str>) -> Identity {
        Identity::new(email.map(str::to_owned), user_ref.map(str::to_owned))
    }

    fn signed_in(user_ref: &str, email: Option<&str>) -> Registration {
        Registration {
            verified_email: email.map(str::to_owned),
            ..registration(user_ref, ("Bob", "Smith"))
        }
    }

    fn invite(e: &Enlist, o: &OrgId, a: &Actor, rows: Vec<RecipientInput>) -> crate::InviteReport {
        let r = e
            .invite(o, a, InviteRequest::new(Recipients::List(rows)))
            .expect("invite");
        assert!(r.rejected.is_empty(), "{:?}", r.rejected);
        r
    }

    /// Only open invitations show, across organizations, and no item
    /// carries a secret: not the token, not the accept link.
    #[test]
    fn the_inbox_lists_open_invitations_across_organizations_without_secrets() {
        let clock = std::sync::Arc::new(crate::ManualClock::at_epoch_seconds(1_700_000_000));
        let e = Enlist::in_memory().with_clock(clock.clone());
        let (a, owner_a) = org(&e, "acct-a", "ada@a.test", Policy::default());
        let (b, owner_b) = org(&e, "acct-b", "bea@b.test", Policy::default());
        let sent_a = invite(&e, &a, &owner_a, vec![RecipientInput::email("bob@x.test")]);
        clock.advance(chrono::Duration::seconds(1));
        let sent_b = invite(&e, &b, &owner_b, vec![RecipientInput::email("BOB@x.test")]);
        // Not listed: staged, revoked, someone else's.
        e.invite(
            &b,
            &owner_b,
            InviteRequest::new(Recipients::Paste("bob+staged@x.test".into())).staged(),
        )
        .expect("staged");
        let gone = invite(&e, &a, &owner_a, vec![RecipientInput::email("bob2@x.test")]);
        e.revoke(&a, &owner_a, &gone.issued[0].invitation.id)
            .expect("revoke");
        invite(&e, &a, &owner_a, vec![RecipientInput::email("eve@x.test")]);

        let page = e
            .invitations_for(&me(Some("bob@X.TEST"), None), None, 50)
            .expect("inbox");
        let ids: Vec<_> = page.items.iter().map(|i| i.invitation_id.clone()).collect();
        assert_eq!(
            ids,
            [
                sent_b.issued[0].invitation.id.clone(),
                sent_a.issued[0].invitation.id.clone()
            ]
        );
        assert_eq!(page.items[0].inviter_name.as_deref(), Some("bea@b.test"));
        let json = serde_json::to_string(&page.items).expect("json");
        for issued in [&sent_a.issued[0], &sent_b.issued[0]] {
            let token = issued.secret.as_ref().expect("token").expose().to_owned();
            let secret_part = token.rsplit('.').next().expect("part").to_owned();
            assert!(!json.contains(&secret_part), "{json}");
            assert!(!format!("{:?}", page.items).contains(&secret_part));
        }
        assert!(!json.contains("accept"), "no accept URL: {json}");
        // Expired ones leave the inbox.
        clock.advance(chrono::Duration::days(8));
        let page = e
            .invitations_for(&me(Some("bob@x.test"), None), None, 50)
            .expect("inbox");
        assert!(page.items.is_empty());
    }

    /// Without an identity there is nothing to look up; a malformed email
    /// or a page size out of bounds is refused before any store read.
    #[test]
    fn an_inbox_needs_a_bounded_identity() {
        let e = engine();
        let code = |r: Result<Page<InboxInvitation>>| r.map(|_| ()).unwrap_err().code();
        assert_eq!(
            code(e.invitations_for(&me(None, None), None, 10)),
            "invalid_input"
        );
        assert_eq!(
            code(e.invitations_for(&me(None, Some("  ")), None, 10)),
            "invalid_input"
        );
        assert_eq!(
            code(e.invitations_for(&me(Some("not an email"), None), None, 10)),
            "invalid_input"
        );
        let huge = format!("{}@x.test", "a".repeat(5000));
        assert_eq!(
            code(e.invitations_for(&me(Some(&huge), None), None, 10)),
            "limit_exceeded"
        );
        for limit in [0, MAX_INBOX_PAGE + 1] {
            assert_eq!(
                code(e.invitations_for(&me(None, Some("u")), None, limit)),
                "limit_exceeded"
            );
        }
        assert!(
            e.invitations_for(&me(None, Some("u")), None, MAX_INBOX_PAGE)
                .is_ok()
        );
        assert_eq!(
            code(e.invitations_for(&me(None, Some("u")), Some("garbage"), 10)),
            "invalid_input"
        );
    }

    /// Someone else's invitation, a made-up id, an unknown organization
    /// and a staged invitation all answer the same not-found; the owner
    /// gets the accept path's own answers (registration, expiry).
    #[test]
    fn accepting_from_the_inbox_is_for_the_owner_only() {
        let e = engine();
        let (a, owner) = org(&e, "acct-a", "ada@a.test", Policy::default());
        let sent = invite(&e, &a, &owner, vec![RecipientInput::email("bob@x.test")]);
        let id = sent.issued[0].invitation.id.clone();
        let staged = e
            .invite(
                &a,
                &owner,
                InviteRequest::new(Recipients::Paste("bob+s@x.test".into())).staged(),
            )
            .expect("staged");
        let staged_id = staged.issued[0].invitation.id.clone();
        let answer = |o: &OrgId, i: &InvitationId, reg: Registration| {
            e.accept_from_inbox(o, i, reg)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        let mallory = signed_in("acct-mallory", Some("mallory@x.test"));
        let wrong = answer(&a, &id, mallory.clone());
        assert_eq!(wrong, format!("invitation not found: {id}"));
        // An unverified email is no proof: without it, not Bob's.
        assert_eq!(answer(&a, &id, signed_in("acct-bob", None)), wrong);
        assert_eq!(
            answer(&OrgId::from("org_nope".to_owned()), &id, mallory.clone()),
            wrong
        );
        let made_up = InvitationId::from("inv_nope".to_owned());
        assert_eq!(
            answer(&a, &made_up, mallory.clone()),
            format!("invitation not found: {made_up}")
        );
        assert_eq!(
            answer(&a, &staged_id, signed_in("acct-bob", Some("bob+s@x.test"))),
            format!("invitation not found: {staged_id}")
        );
        // Declining someone else's: the same.
        let r = e.decline_from_inbox(&a, &id, &me(Some("mallory@x.test"), None));
        assert_eq!(r.unwrap_err().code(), "not_found");
        // The owner, without the names the policy asks for: the accept
        // path's own answer.
        let mut bare = signed_in("acct-bob", Some("bob@x.test"));
        bare.first_name = None;
        bare.last_name = None;
        let r = e.accept_from_inbox(&a, &id, bare);
        assert_eq!(r.unwrap_err().code(), "registration_incomplete");
        let ok = e
            .accept_from_inbox(&a, &id, signed_in("acct-bob", Some("Bob@x.test")))
            .expect("accept");
        assert_eq!(ok.invitation.status, InvitationStatus::Accepted);
        assert_eq!(ok.member.user_ref.as_deref(), Some("acct-bob"));
        // Accepted once: a second time is the accept path's answer.
        let r = e.accept_from_inbox(&a, &id, signed_in("acct-bob", Some("bob@x.test")));
        assert_eq!(r.unwrap_err().code(), "invitation_not_open");
        let events = e.events(&a, &owner, 0, 100).expect("events");
        assert!(events.iter().any(|ev| matches!(
            &ev.kind,
            EventKind::InvitationAccepted { invitation, .. } if invitation == &id
        )));
    }

    /// The accept path's rules hold from the inbox: the seat limit and a
    /// domain narrowed since the invitation was sent.
    #[test]
    fn inbox_accept_keeps_seats_and_domains() {
        let e = engine();
        let mut p = Policy::default();
        p.seat_limits.insert(DEFAULT_LICENSE.to_owned(), 2);
        p.reserve_seats_for_pending = false;
        let (a, owner) = org(&e, "acct-a", "ada@a.test", p);
        let sent = invite(&e, &a, &owner, vec![RecipientInput::email("bob@x.test")]);
        // The last seat goes to a member added directly.
        e.add_member(&a, &owner, NewMember::new("acct-cy").names("Cy", "C"))
            .expect("add");
        let r = e.accept_from_inbox(
            &a,
            &sent.issued[0].invitation.id,
            signed_in("acct-bob", Some("bob@x.test")),
        );
        assert_eq!(r.unwrap_err().code(), "limit_exceeded");

        let (b, owner_b) = org(&e, "acct-b", "bea@b.test", Policy::default());
        let sent = invite(&e, &b, &owner_b, vec![RecipientInput::email("bob@x.test")]);
        let mut p = e.organization(&b).expect("org").policy;
        p.allowed_domains = vec!["b.test".into()];
        e.update_policy(&b, &owner_b, p).expect("narrow");
        let r = e.accept_from_inbox(
            &b,
            &sent.issued[0].invitation.id,
            signed_in("acct-bob", Some("bob@x.test")),
        );
        assert_eq!(r.unwrap_err().code(), "domain_not_allowed");
    }

    /// An invitation of an existing account: only that account sees,
    /// accepts or declines it; its token is refused to any other account;
    /// with no email nothing is queued; an account already a member or
    /// already invited is rejected.
    #[test]
    fn account_invitations_belong_to_their_account() {
        let e = engine();
        let (a, owner) = org(&e, "acct-a", "ada@a.test", Policy::default());
        let sent = invite(
            &e,
            &a,
            &owner,
            vec![
                RecipientInput::account("acct-dan"),
                RecipientInput::email("erin@x.test").for_account("acct-erin"),
                RecipientInput::identifier("EMP-7").for_account("acct-emp7"),
                RecipientInput::identifier("EMP-8"),
            ],
        );
        let dan = &sent.issued[0];
        assert_eq!(
            dan.invitation.recipient,
            Contact::Account("acct-dan".into())
        );
        assert_eq!(dan.message_id, None, "in-app only: no email");
        assert!(sent.issued[1].message_id.is_some());
        // Erin's email alone does not show a bound invitation; her account does.
        assert!(
            e.invitations_for(&me(Some("erin@x.test"), None), None, 10)
                .expect("inbox")
                .items
                .is_empty()
        );
        let erin = e
            .invitations_for(&me(None, Some("acct-erin")), None, 10)
            .expect("inbox");
        assert_eq!(erin.items.len(), 1);
        assert!(erin.items[0].for_account);
        // Her token, presented by another account: a wrong token.
        let token = sent.issued[1]
            .secret
            .as_ref()
            .expect("token")
            .expose()
            .to_owned();
        let r = e.accept(&token, signed_in("acct-mallory", Some("erin@x.test")));
        assert_eq!(r.unwrap_err().code(), "invalid_secret");
        // From the inbox, another account with Erin's verified email: not found.
        let r = e.accept_from_inbox(
            &a,
            &sent.issued[1].invitation.id,
            signed_in("acct-mallory", Some("erin@x.test")),
        );
        assert_eq!(r.unwrap_err().code(), "not_found");
        e.accept(&token, signed_in("acct-erin", Some("erin@x.test")))
            .expect("her account");
        // Dan accepts from his inbox; his member's contact is his account.
        let m = e
            .accept_from_inbox(&a, &dan.invitation.id, signed_in("acct-dan", None))
            .expect("dan")
            .member;
        assert_eq!(m.contact, Contact::Account("acct-dan".into()));
        // An identifier invitation: only when bound, only by its account.
        let emp7 = e
            .invitations_for(&me(None, Some("acct-emp7")), None, 10)
            .expect("inbox");
        assert_eq!(emp7.items.len(), 1);
        let r = e.accept_from_inbox(
            &a,
            &sent.issued[3].invitation.id,
            signed_in("acct-emp8", Some("emp8@x.test")),
        );
        assert_eq!(r.unwrap_err().code(), "not_found");
        e.decline_from_inbox(
            &a,
            &sent.issued[2].invitation.id,
            &me(None, Some("acct-emp7")),
        )
        .expect("declined by its account");
        // Dan is a member, by account: invited again under any address,
        // rejected; so is a second invitation of an invited account.
        let again = e
            .invite(
                &a,
                &owner,
                InviteRequest::new(Recipients::List(vec![
                    RecipientInput::email("dan@x.test").for_account("acct-dan"),
                    RecipientInput::account("acct-gil"),
                ])),
            )
            .expect("invite");
        assert_eq!(again.rejected.len(), 1);
        assert_eq!(again.rejected[0].reason.code(), "already_member");
        let twice = e
            .invite(
                &a,
                &owner,
                InviteRequest::new(Recipients::List(vec![
                    RecipientInput::email("gil@x.test").for_account("acct-gil"),
                ])),
            )
            .expect("invite");
        assert_eq!(twice.rejected[0].reason.code(), "already_invited");
        // The same account twice in one batch.
        let dup = e
            .invite(
                &a,
                &owner,
                InviteRequest::new(Recipients::List(vec![
                    RecipientInput::email("h1@x.test").for_account("acct-h"),
                    RecipientInput::email("h2@x.test").for_account("acct-h"),
                ])),
            )
            .expect("invite");
        assert_eq!(dup.rejected[0].reason.code(), "duplicate_in_batch");
    }

    /// Direct membership: managers only, within the roles and groups they
    /// may grant, held to the policy (seats, domains, registration), never
    /// twice, audited with the administrator as actor.
    #[test]
    fn adding_a_member_directly_is_for_administrators_within_their_rights() {
        let e = engine();
        let p = Policy {
            allowed_domains: vec!["a.test".into()],
            ..Policy::default()
        };
        let (a, owner) = org(&e, "acct-a", "ada@a.test", p);
        let plain = actor_with_role(&e, &a, &owner, "pat@a.test", builtin::MEMBER);
        let user_admin = actor_with_role(&e, &a, &owner, "uma@a.test", builtin::USER_ADMIN);
        let new = || NewMember::new("acct-new").names("New", "Person");
        let r = e.add_member(&a, &plain, new());
        assert_eq!(r.unwrap_err().code(), "permission_denied");
        let r = e.add_member(&a, &user_admin, new().role(builtin::OWNER));
        assert_eq!(r.unwrap_err().code(), "permission_denied");
        let r = e.add_member(&a, &user_admin, new().email("new@elsewhere.test"));
        assert_eq!(r.unwrap_err().code(), "domain_not_allowed");
        let r = e.add_member(&a, &user_admin, NewMember::new("acct-new"));
        assert_eq!(r.unwrap_err().code(), "registration_incomplete");
        let r = e.add_member(&a, &user_admin, NewMember::new("  "));
        assert_eq!(r.unwrap_err().code(), "invalid_input");
        let m = e
            .add_member(&a, &user_admin, new().email("new@a.test"))
            .expect("added");
        assert_eq!(m.status, crate::MemberStatus::Active);
        assert_eq!(m.role, builtin::MEMBER);
        let r = e.add_member(
            &a,
            &user_admin,
            NewMember::new("acct-other")
                .email("new@a.test")
                .names("O", "P"),
        );
        assert_eq!(r.unwrap_err().code(), "already_member");
        let r = e.add_member(&a, &owner, new());
        assert_eq!(r.unwrap_err().code(), "already_member");
        // An open invitation for the address blocks it.
        invite(&e, &a, &owner, vec![RecipientInput::email("inv@a.test")]);
        let r = e.add_member(
            &a,
            &owner,
            NewMember::new("acct-inv")
                .email("inv@a.test")
                .names("I", "J"),
        );
        assert_eq!(r.unwrap_err().code(), "conflict");
        let last = e.events(&a, &owner, 0, 1000).expect("events");
        let added: Vec<_> = last
            .iter()
            .filter(|ev| matches!(ev.kind, EventKind::MemberAdded { .. }))
            .collect();
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].actor, user_admin);
        // Seats.
        let mut p = e.organization(&a).expect("org").policy;
        // In use: four members and the open invitation's reserved seat.
        p.seat_limits.insert(DEFAULT_LICENSE.to_owned(), 5);
        e.update_policy(&a, &owner, p).expect("seats");
        let r = e.add_member(&a, &owner, NewMember::new("acct-z").names("Z", "Z"));
        assert_eq!(r.unwrap_err().code(), "limit_exceeded");
    }

    /// Joining another way (self-registration, the link) with the verified
    /// address of an invitation bound to another account does not take
    /// that invitation: refused while it is open.
    #[test]
    fn another_account_cannot_take_a_bound_invitation_by_joining() {
        let e = engine();
        let p = Policy {
            self_registration: true,
            ..Policy::default()
        };
        let (a, owner) = org(&e, "acct-a", "ada@a.test", p);
        let sent = invite(
            &e,
            &a,
            &owner,
            vec![RecipientInput::email("erin@x.test").for_account("acct-erin")],
        );
        let r = e.self_register(
            &a,
            "erin@x.test",
            signed_in("acct-mallory", Some("erin@x.test")),
        );
        assert_eq!(r.unwrap_err().code(), "conflict");
        let inv = e
            .invitation(&a, &owner, &sent.issued[0].invitation.id)
            .expect("invitation");
        assert_eq!(inv.status, InvitationStatus::Pending);
        // Erin herself may.
        let m = e
            .self_register(
                &a,
                "erin@x.test",
                signed_in("acct-erin", Some("erin@x.test")),
            )
            .expect("erin");
        assert_eq!(m.user_ref.as_deref(), Some("acct-erin"));
    }
}

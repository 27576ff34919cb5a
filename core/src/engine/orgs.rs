//! Organizations, their policy, custom roles and the audit trail.

use super::{Ctx, Enlist, MAX_NAME_CHARS, clean_line, required_line};
use crate::error::{EntityKind, Error, Result};
use crate::event::{Actor, Event, EventKind, JoinedVia};
use crate::id::{MemberId, OrgId};
use crate::invitation::{InvitationQuery, InvitationStatus};
use crate::member::{Contact, Member, MemberKind, MemberQuery, MemberStatus};
use crate::organization::Organization;
use crate::policy::{DEFAULT_LICENSE, Policy};
use crate::role::{Permission, PermissionSet, Role, builtin};
use crate::text::Text;
use serde::{Deserialize, Serialize};

/// What is needed to create an organization with its first owner.
///
/// In Kotlin and Swift the policy is required (a record field defaults only
/// when each of its own fields does): pass `defaultPolicy()`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[non_exhaustive]
pub struct NewOrganization {
    /// The organization's name.
    pub name: String,
    /// The owner's host account id.
    pub owner_user_ref: String,
    /// The owner's email.
    pub owner_email: String,
    /// Its policy (defaults if not given).
    pub policy: Policy,
    /// The owner's first name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub owner_first_name: Option<String>,
    /// The owner's last name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub owner_last_name: Option<String>,
    /// Its slug ([`check_slug`](crate::check_slug)); refused if taken.
    /// Not given: derived from the name
    /// ([`slug_from_name`](crate::slug_from_name)), with a `-2`, `-3`, ...
    /// suffix when taken.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub slug: Option<String>,
}

impl NewOrganization {
    /// An organization with the default policy and an owner.
    pub fn new(
        name: impl Into<String>,
        owner_user_ref: impl Into<String>,
        owner_email: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            policy: Policy::default(),
            owner_user_ref: owner_user_ref.into(),
            owner_email: owner_email.into(),
            owner_first_name: None,
            owner_last_name: None,
            slug: None,
        }
    }

    /// Sets the slug (refused at creation if taken).
    pub fn with_slug(mut self, slug: impl Into<String>) -> Self {
        self.slug = Some(slug.into());
        self
    }

    /// Sets the policy.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the owner's names.
    pub fn with_owner_name(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.owner_first_name = Some(first.into());
        self.owner_last_name = Some(last.into());
        self
    }
}

/// A new organization and its first owner, as
/// [`Enlist::create_organization`] returns them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[non_exhaustive]
pub struct CreatedOrganization {
    /// The organization.
    pub organization: Organization,
    /// Its owner, an active member with the Owner role.
    pub owner: Member,
}

impl Enlist {
    /// Creates an organization and its first member, an active Owner.
    pub fn create_organization(&self, new: NewOrganization) -> Result<CreatedOrganization> {
        let name = required_line("name", &new.name, MAX_NAME_CHARS)?;
        let policy = new.policy.clone().validated()?;
        self.config.check_policy_base(&policy)?;
        if let Some(r) = &policy.default_role {
            // A new organization has the built-in roles only.
            if !crate::role::Role::built_in_roles()
                .iter()
                .any(|b| &b.name == r)
            {
                return Err(unknown_default_role(r));
            }
        }
        let slug = new.slug.as_deref().map(crate::check_slug).transpose()?;
        let user_ref = required_line("owner_user_ref", &new.owner_user_ref, MAX_NAME_CHARS)?;
        let mailbox = crate::email::parse_address(&new.owner_email)
            .map_err(|e| Error::invalid("owner_email", e.to_string()))?;
        let first = clean_line(
            "owner_first_name",
            new.owner_first_name.as_deref(),
            MAX_NAME_CHARS,
        )?;
        let last = clean_line(
            "owner_last_name",
            new.owner_last_name.as_deref(),
            MAX_NAME_CHARS,
        )?;
        self.run("create_organization", |cx| {
            let slug = cx.claim_slug(slug.as_deref(), &name)?;
            let org = Organization {
                id: OrgId::from_random(cx.id_bytes()),
                name: name.clone(),
                policy: policy.clone(),
                custom_roles: Vec::new(),
                created_at: cx.now,
                slug,
                deleted_at: None,
            };
            let owner = Member {
                org_id: org.id.clone(),
                id: MemberId::from_random(cx.id_bytes()),
                user_ref: Some(user_ref.clone()),
                contact: Contact::Email(Text::from(mailbox.address.as_ref())),
                contact_key: Text::from(mailbox.key.as_ref()),
                first_name: first.clone(),
                last_name: last.clone(),
                phone: None,
                role: Text::from(builtin::OWNER),
                kind: MemberKind::Member,
                license_type: Text::from(DEFAULT_LICENSE),
                status: MemberStatus::Active,
                groups: Vec::new(),
                joined_at: cx.now,
                last_active_at: None,
                eula_version: None,
                two_factor_enrolled: false,
                removed_at: None,
                attributes: Default::default(),
                public_metadata: Default::default(),
                private_metadata: Default::default(),
            };
            cx.put_new_organization(&org, new.slug.is_none())?;
            cx.tx.put_member(&owner)?;
            let actor = Actor::Account(user_ref.clone());
            cx.event(
                &org.id,
                &actor,
                EventKind::OrganizationCreated {
                    name: org.name.clone(),
                    owner: owner.id.clone(),
                },
            )?;
            cx.event(
                &org.id,
                &actor,
                EventKind::MemberJoined {
                    member: owner.id.clone(),
                    contact: owner.contact.text().clone(),
                    role: owner.role.clone(),
                    via: JoinedVia::Founding,
                },
            )?;
            Ok(CreatedOrganization {
                organization: org,
                owner,
            })
        })
    }

    /// Reads an organization.
    /// A deleted organization ([`DeleteMode::Keep`](crate::DeleteMode))
    /// is found here too, with its `deleted_at`; no other command finds it.
    pub fn organization(&self, org: &OrgId) -> Result<Organization> {
        self.run_read("organization", |cx| {
            cx.tx
                .organization(org)?
                .ok_or_else(|| Error::not_found(EntityKind::Organization, org))
        })
    }

    /// Renames an organization. Needs [`Permission::ManagePolicy`].
    pub fn rename_organization(
        &self,
        org: &OrgId,
        actor: &Actor,
        name: &str,
    ) -> Result<Organization> {
        let name = required_line("name", name, MAX_NAME_CHARS)?;
        self.run("rename_organization", |cx| {
            let (mut o, _) = cx.authorized(org, actor, Permission::ManagePolicy)?;
            if o.name == name {
                return Ok(o);
            }
            let from = std::mem::replace(&mut o.name, name.clone());
            cx.tx.put_organization(&o)?;
            cx.event(
                org,
                actor,
                EventKind::OrganizationRenamed {
                    from,
                    to: name.clone(),
                },
            )?;
            Ok(o)
        })
    }

    /// Replaces an organization's policy. Needs [`Permission::ManagePolicy`].
    /// A seat limit below the seats already in use is refused, and so is an
    /// `accept_url_base` the engine's configuration does not allow.
    pub fn update_policy(
        &self,
        org: &OrgId,
        actor: &Actor,
        policy: Policy,
    ) -> Result<Organization> {
        let policy = policy.validated()?;
        self.run("update_policy", |cx| {
            let (mut o, _) = cx.authorized(org, actor, Permission::ManagePolicy)?;
            cx.config.check_policy_base(&policy)?;
            if let Some(r) = &policy.default_role {
                if o.role(r).is_none() {
                    return Err(unknown_default_role(r));
                }
            }
            for (lt, limit) in &policy.seat_limits {
                let c = cx.tx.seat_count(org, lt)?;
                let used = c.members + if policy.reserve_seats_for_pending { c.open_invitations } else { 0 };
                if used > u64::from(*limit) {
                    return Err(Error::conflict(format!(
                        "seat limit {limit} for license {lt:?} is below the {used} seats in use; free seats first"
                    )));
                }
            }
            let fields = changed_policy_fields(&o.policy, &policy);
            if fields.is_empty() {
                return Ok(o);
            }
            o.policy = policy.clone();
            cx.tx.put_organization(&o)?;
            cx.event(org, actor, EventKind::PolicyChanged { fields })?;
            Ok(o)
        })
    }

    /// Every role of the organization, built-in first.
    pub fn roles(&self, org: &OrgId) -> Result<Vec<Role>> {
        Ok(self.organization(org)?.roles())
    }

    /// Defines (or redefines) a custom role. Needs
    /// [`Permission::ManageRoles`] and every permission the role holds (and
    /// held, when redefining). A role held by a guest (an active or
    /// inactive guest member, an open guest invitation, or the active guest
    /// invitation link) must keep no permission: giving it any is a
    /// conflict. Guests hold no permission whatever their role says (the
    /// engine enforces that when it authorizes them), so this refusal tells
    /// the administrator rather than silently granting nothing. Finding the
    /// holders reads the members with that role and the open invitations,
    /// page by page: a rare administrative command pays for it.
    pub fn define_role(
        &self,
        org: &OrgId,
        actor: &Actor,
        name: &str,
        permissions: PermissionSet,
    ) -> Result<Role> {
        let name = required_line("name", name, 64)?;
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return Err(Error::invalid(
                "name",
                "role names use letters, digits, '_' and '-'",
            ));
        }
        self.run("define_role", |cx| {
            let (mut o, auth) = cx.authorized(org, actor, Permission::ManageRoles)?;
            if Role::built_in_roles().iter().any(|r| r.name == name) {
                return Err(Error::conflict(format!(
                    "{name:?} is a built-in role and cannot be redefined"
                )));
            }
            if let Some(p) = permissions.iter().find(|p| !auth.has(**p)) {
                return Err(auth.deny(*p, "a role cannot hold a permission its author lacks"));
            }
            if !permissions.is_empty() {
                if let Some(holder) = cx.role_held_by_guests(&o, &name)? {
                    return Err(Error::conflict(format!(
                        "role {name:?} is held by {holder}; guests hold no permissions, \
                         so it must stay without any: define another role for members"
                    )));
                }
            }
            let custom = o
                .custom_roles
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.custom_permissions.clone())
                .unwrap_or_default();
            let role = Role {
                name: name.clone(),
                permissions: permissions.clone(),
                built_in: false,
                custom_permissions: custom,
            };
            match o.custom_roles.iter_mut().find(|r| r.name == name) {
                Some(r) if r.permissions == role.permissions => return Ok(role),
                Some(r) => {
                    if let Some(p) = r.permissions.iter().find(|p| !auth.has(**p)) {
                        return Err(
                            auth.deny(*p, "redefining a role that holds a permission you lack")
                        );
                    }
                    *r = role.clone();
                }
                None => o.custom_roles.push(role.clone()),
            }
            cx.tx.put_organization(&o)?;
            cx.event(
                org,
                actor,
                EventKind::RoleDefined {
                    name: name.clone(),
                    permissions: permissions.clone(),
                },
            )?;
            Ok(role)
        })
    }

    /// Deletes a custom role that no active member holds and that nothing
    /// hands out any more: not the policy's default role, no active
    /// invitation link, no verified domain people join by (each is a
    /// conflict naming what holds the role).
    pub fn delete_role(&self, org: &OrgId, actor: &Actor, name: &str) -> Result<()> {
        self.run("delete_role", |cx| {
            let (mut o, _) = cx.authorized(org, actor, Permission::ManageRoles)?;
            let Some(pos) = o.custom_roles.iter().position(|r| r.name == name) else {
                return Err(Error::not_found(EntityKind::Role, name));
            };
            if o.policy.default_role.as_deref() == Some(name) {
                return Err(Error::conflict(format!(
                    "role {name:?} is the organization's default role; \
                     name another default role in the policy first"
                )));
            }
            let held = cx.tx.count_active_with_role(org, name)?;
            if held > 0 {
                return Err(Error::conflict(format!(
                    "{held} active members hold role {name:?}; change their role first"
                )));
            }
            // A way in that still hands the role out would let people join
            // with a role that no longer exists.
            let now = cx.now;
            let links = cx.tx.links(org, crate::link::MAX_LINKS_PER_ORG + 1)?;
            if let Some(l) = links
                .iter()
                .find(|l| l.role == name && l.status_at(now) == crate::link::LinkStatus::Active)
            {
                return Err(Error::conflict(format!(
                    "the invitation link {:?} gives role {name:?}; revoke it first",
                    l.name
                )));
            }
            let domains = cx.tx.org_domains(org)?;
            if let Some(d) = domains.iter().find(|d| {
                d.domain.role == name && d.domain.enrollment != crate::domain::DomainEnrollment::Off
            }) {
                return Err(Error::conflict(format!(
                    "people of the domain {:?} join with role {name:?}; change its enrollment first",
                    d.domain.domain
                )));
            }
            o.custom_roles.remove(pos);
            cx.tx.put_organization(&o)?;
            cx.event(
                org,
                actor,
                EventKind::RoleDeleted {
                    name: name.to_owned(),
                },
            )
        })
    }

    /// The audit trail from `after` (exclusive; 0 for the start), at most
    /// `limit` events. Needs [`Permission::ViewAudit`]. [`Actor::System`]
    /// also reads the trail of an organization deleted with its history
    /// kept.
    pub fn events(&self, org: &OrgId, actor: &Actor, after: u64, limit: u32) -> Result<Vec<Event>> {
        let limit = super::page_limit(limit)?;
        self.run_read("events", |cx| {
            if *actor == Actor::System {
                // The host reads the kept trail of a deleted organization
                // too (DeleteMode::Keep); members no longer reach it.
                cx.tx
                    .organization(org)?
                    .ok_or_else(|| Error::not_found(EntityKind::Organization, org))?;
                return Ok(cx.tx.events(org, after, limit as usize)?);
            }
            cx.authorized(org, actor, Permission::ViewAudit)?;
            Ok(cx.tx.events(org, after, limit as usize)?)
        })
    }
}

impl Ctx<'_> {
    /// Who, if anyone, holds `role` as a guest: a guest member (active or
    /// inactive), an open guest invitation, or the active guest link.
    pub(super) fn role_held_by_guests(
        &mut self,
        o: &Organization,
        role: &str,
    ) -> Result<Option<String>> {
        let mut query = MemberQuery {
            role: Some(role.to_owned()),
            statuses: vec![MemberStatus::Active, MemberStatus::Inactive],
            limit: super::MAX_PAGE,
            ..MemberQuery::default()
        };
        loop {
            let page = self.tx.list_members(&o.id, &query)?;
            if let Some(m) = page
                .items
                .iter()
                .find(|m| m.kind == MemberKind::Guest && m.role == role)
            {
                return Ok(Some(format!("guest member {}", m.id)));
            }
            match page.next_cursor {
                Some(c) => query.after = Some(c),
                None => break,
            }
        }
        let mut query = InvitationQuery {
            statuses: vec![InvitationStatus::Pending, InvitationStatus::Staged],
            limit: super::MAX_PAGE,
            ..InvitationQuery::default()
        };
        loop {
            let page = self.tx.list_invitations(&o.id, &query, self.now)?;
            if let Some(i) = page
                .items
                .iter()
                .find(|i| i.kind == MemberKind::Guest && i.role == role)
            {
                return Ok(Some(format!("open guest invitation {}", i.id)));
            }
            match page.next_cursor {
                Some(c) => query.after = Some(c),
                None => break,
            }
        }
        for link in self.tx.links(&o.id, crate::link::MAX_LINKS_PER_ORG + 2)? {
            if link.active && link.kind == MemberKind::Guest && link.role == role {
                return Ok(Some(if link.id.is_default() {
                    "the guest invitation link".to_owned()
                } else {
                    format!("the guest invitation link {:?}", link.name)
                }));
            }
        }
        Ok(None)
    }

    /// Refuses to take away the last active owner.
    pub(crate) fn keep_an_owner(&mut self, org: &OrgId, member: &Member) -> Result<()> {
        if member.role == builtin::OWNER
            && member.status == MemberStatus::Active
            && self.tx.count_active_with_role(org, builtin::OWNER)? <= 1
        {
            return Err(Error::conflict(
                "an organization must keep at least one active owner",
            ));
        }
        Ok(())
    }
}

/// A policy's `default_role` naming no role of the organization.
fn unknown_default_role(r: &str) -> Error {
    Error::invalid(
        "default_role",
        format!("no role named {r:?} in this organization; define it first"),
    )
}

fn changed_policy_fields(a: &Policy, b: &Policy) -> Vec<String> {
    policy_fields(a)
        .into_iter()
        .zip(policy_fields(b))
        .filter(|(x, y)| x.1 != y.1)
        .map(|(x, _)| x.0.to_owned())
        .collect()
}

fn policy_fields(p: &Policy) -> Vec<(&'static str, String)> {
    // Each field as text, so the event names what changed.
    vec![
        (
            "invitation_lifetime_secs",
            p.invitation_lifetime_secs.to_string(),
        ),
        ("max_batch", p.max_batch.to_string()),
        ("max_paste_field_chars", p.max_paste_field_chars.to_string()),
        ("max_import_rows", p.max_import_rows.to_string()),
        ("max_import_bytes", p.max_import_bytes.to_string()),
        ("max_import_entries", p.max_import_entries.to_string()),
        (
            "max_import_unpacked_bytes",
            p.max_import_unpacked_bytes.to_string(),
        ),
        ("max_import_ratio", p.max_import_ratio.to_string()),
        ("allowed_domains", format!("{:?}", p.allowed_domains)),
        (
            "group_owners_can_invite",
            p.group_owners_can_invite.to_string(),
        ),
        ("members_can_invite", p.members_can_invite.to_string()),
        ("guests_enabled", p.guests_enabled.to_string()),
        ("invite_link_enabled", p.invite_link_enabled.to_string()),
        ("self_registration", p.self_registration.to_string()),
        ("require_two_factor", p.require_two_factor.to_string()),
        ("eula_version", format!("{:?}", p.eula_version)),
        ("registration", format!("{:?}", p.registration)),
        ("seat_limits", format!("{:?}", p.seat_limits)),
        (
            "reserve_seats_for_pending",
            p.reserve_seats_for_pending.to_string(),
        ),
        ("resend_cooldown_secs", p.resend_cooldown_secs.to_string()),
        ("resend_cap", p.resend_cap.to_string()),
        ("access_code_attempts", p.access_code_attempts.to_string()),
        ("accept_url_base", format!("{:?}", p.accept_url_base)),
        ("reply_to_inviter", p.reply_to_inviter.to_string()),
        ("default_role", format!("{:?}", p.default_role)),
        (
            "min_invitation_lifetime_secs",
            p.min_invitation_lifetime_secs.to_string(),
        ),
        (
            "max_invitation_lifetime_secs",
            p.max_invitation_lifetime_secs.to_string(),
        ),
        (
            "max_open_invitations_per_inviter",
            format!("{:?}", p.max_open_invitations_per_inviter),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `update_policy` saves only when a listed field changed: a field of
    /// `Policy` missing from `policy_fields` could never be changed (the
    /// import limits were, when they were added).
    #[test]
    fn every_policy_field_is_compared() {
        let listed: Vec<&str> = policy_fields(&Policy::default())
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let serde_json::Value::Object(fields) =
            serde_json::to_value(Policy::default()).expect("a policy serializes")
        else {
            panic!("a policy serializes to an object");
        };
        for name in fields.keys() {
            assert!(
                listed.contains(&name.as_str()),
                "Policy::{name} is missing from policy_fields"
            );
        }
        assert_eq!(listed.len(), fields.len());
    }
}

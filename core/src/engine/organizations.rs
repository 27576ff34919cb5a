//! Organizations across the store (issue 14, orgs): the organizations of
//! an account, all organizations for the host's admin screen, slugs,
//! deleting an organization, leaving one, and the host-defined permissions
//! of custom roles.

use super::{Ctx, Enlist, MAX_CURSOR_BYTES, MAX_NAME_CHARS, check_bytes, required_line};
use crate::error::{EntityKind, Error, LimitKind, Result, StoreError, UniqueRule};
use crate::event::{Actor, EventKind};
use crate::id::OrgId;
use crate::invitation::{InvitationQuery, InvitationStatus};
use crate::member::{Member, Page};
use crate::organization::{
    AccountMembership, DeleteMode, MAX_SLUG_CHARS, Organization, OrganizationQuery, check_slug,
    slug_from_name,
};
use crate::role::{MAX_CUSTOM_PERMISSIONS, Permission, Role, check_custom_permission};
use std::collections::BTreeSet;

/// The most characters in [`OrganizationQuery::prefix`].
pub const MAX_ORG_PREFIX_CHARS: usize = 200;

/// Derived slugs tried with a `-2` .. `-N` suffix before a random one.
const SLUG_SUFFIXES: u32 = 20;

impl Enlist {
    /// The organizations an account belongs to (as a non-removed member),
    /// not deleted, sorted by organization id, a page at a time
    /// [better-auth `listOrganizations`, Clerk
    /// `getOrganizationMembershipList`]. Each entry is a view: the
    /// organization's id, name and slug, and the account's member id, role
    /// and status there.
    ///
    /// This is a host-level call: `user_ref` must come from the host's
    /// verified session (the signed-in account), never from a request
    /// parameter, or anyone could list anyone's organizations.
    pub fn organizations_of(
        &self,
        user_ref: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<AccountMembership>> {
        let user_ref = required_line("user_ref", user_ref, MAX_NAME_CHARS)?;
        check_cursor(after)?;
        let limit = super::page_limit(limit)?;
        self.run_read("organizations_of", |cx| {
            let page = cx.tx.memberships_of(&user_ref, after, limit)?;
            Ok(Page {
                items: page
                    .items
                    .into_iter()
                    .map(|(o, m)| membership_view(o, m))
                    .collect(),
                next_cursor: page.next_cursor,
            })
        })
    }

    /// Every organization not deleted, sorted by slug, a page at a time,
    /// optionally only those whose slug or lowercased name starts with
    /// `query.prefix` [Clerk `getOrganizationList`].
    ///
    /// This is a host-level call for the host's own admin screen: no actor
    /// is checked, so the host must guard it (its super-administrators
    /// only).
    pub fn list_organizations(&self, query: &OrganizationQuery) -> Result<Page<Organization>> {
        let mut query = query.clone();
        if query.limit == 0 {
            query.limit = 50;
        }
        super::page_limit(query.limit)?;
        check_cursor(query.after.as_deref())?;
        // One line, no control or invisible characters (a NUL would be
        // an error on PostgreSQL and nothing on the other stores).
        let prefix = super::clean_line("prefix", query.prefix.as_deref(), MAX_ORG_PREFIX_CHARS)?;
        query.prefix = prefix.map(|p| p.to_lowercase());
        self.run_read("list_organizations", |cx| {
            Ok(cx.tx.list_organizations(&query)?)
        })
    }

    /// The organization with this slug (not deleted). Host-level, like
    /// [`Enlist::organization`].
    pub fn organization_by_slug(&self, slug: &str) -> Result<Organization> {
        if slug.len() > MAX_SLUG_CHARS {
            return Err(Error::not_found(EntityKind::Organization, "slug"));
        }
        self.run_read("organization_by_slug", |cx| {
            cx.tx
                .organization_by_slug(slug)?
                .filter(|o| !o.is_deleted())
                .ok_or_else(|| Error::not_found(EntityKind::Organization, slug))
        })
    }

    /// Changes an organization's slug [better-auth / Clerk `slug`]. Needs
    /// [`Permission::ManagePolicy`]. A slug another organization holds
    /// (deleted ones keep theirs) is refused (`conflict`), also when two
    /// organizations race for it.
    pub fn set_organization_slug(
        &self,
        org: &OrgId,
        actor: &Actor,
        slug: &str,
    ) -> Result<Organization> {
        let slug = check_slug(slug)?;
        self.run("set_organization_slug", |cx| {
            let (mut o, _) = cx.authorized(org, actor, Permission::ManagePolicy)?;
            if o.slug == slug {
                return Ok(o);
            }
            if cx.tx.organization_by_slug(&slug)?.is_some() {
                return Err(slug_taken(&slug));
            }
            let from = std::mem::replace(&mut o.slug, slug.clone());
            cx.put_slugged(&o, false)?;
            cx.event(
                org,
                actor,
                EventKind::OrganizationSlugChanged {
                    from,
                    to: slug.clone(),
                },
            )?;
            Ok(o)
        })
    }

    /// Deletes an organization [better-auth `deleteOrganization`, Clerk
    /// `deleteOrganization`]. Needs [`Permission::OwnOrganization`], and
    /// `confirm` must be the organization's slug, typed by the owner (a
    /// typed confirmation, as GitHub asks for a repository's name):
    /// anything else is `confirmation_mismatch` and nothing changes.
    ///
    /// Its invitations die at once, in the same transaction: every open
    /// invitation is revoked (its token and access code stop working) and
    /// its queued emails are superseded (never sent); the invitation link
    /// is deactivated; its verified domains are given up (another
    /// organization may verify them). Then, by `mode`:
    /// - [`DeleteMode::Keep`]: members, invitations and the audit trail
    ///   stay; the organization is marked deleted (read-only: every command
    ///   on it is `not_found`, every token `invalid_secret`), listed
    ///   nowhere; its slug stays reserved; an `OrganizationDeleted` event
    ///   closes the trail.
    /// - [`DeleteMode::Purge`]: every row of the organization is removed
    ///   from every table of the store; its slug is free.
    pub fn delete_organization(
        &self,
        org: &OrgId,
        actor: &Actor,
        confirm: &str,
        mode: DeleteMode,
    ) -> Result<()> {
        if confirm.len() > MAX_SLUG_CHARS {
            return Err(Error::ConfirmationMismatch);
        }
        self.run("delete_organization", |cx| {
            let (mut o, _) = cx.authorized(org, actor, Permission::OwnOrganization)?;
            if o.slug.is_empty() || confirm != o.slug {
                return Err(Error::ConfirmationMismatch);
            }
            if mode == DeleteMode::Purge {
                return Ok(cx.tx.purge_organization(org)?);
            }
            let revoked = cx.close_invitations(&o)?;
            if let Some(mut link) = cx.tx.invite_link(org)? {
                if link.active {
                    link.active = false;
                    cx.tx.put_invite_link(&link)?;
                }
            }
            cx.release_domains(org, actor)?;
            o.deleted_at = Some(cx.now);
            cx.tx.put_organization(&o)?;
            cx.event(
                org,
                actor,
                EventKind::OrganizationDeleted {
                    slug: o.slug.clone(),
                    invitations_revoked: revoked,
                },
            )
        })
    }

    /// The actor leaves the organization [better-auth
    /// `leaveOrganization`]: `actor` must be an active member
    /// ([`Actor::Member`]); they are removed (a tombstone, as
    /// [`Enlist::remove_member`] leaves), out of every group, and their
    /// seat is free. The last active owner cannot leave (`conflict`):
    /// name another owner, or delete the organization.
    pub fn leave_organization(&self, org: &OrgId, actor: &Actor) -> Result<Member> {
        let Actor::Member(me) = actor else {
            return Err(Error::invalid(
                "actor",
                "only a member leaves an organization: pass Actor::Member",
            ));
        };
        self.run("leave_organization", |cx| {
            cx.enter(org, actor)?;
            let mut m = cx.member(org, me)?;
            cx.tombstone(org, &mut m)?;
            cx.event(
                org,
                actor,
                EventKind::MemberLeft {
                    member: m.id.clone(),
                    contact: m.contact.as_str().to_owned(),
                },
            )?;
            Ok(m)
        })
    }

    /// Sets the host-defined permissions of a custom role [better-auth
    /// access control statements], replacing the ones it had: names the
    /// host's own features check with [`Enlist::has_permission`] /
    /// [`Enlist::authorize`]. Each name passes
    /// [`check_custom_permission`](crate::check_custom_permission); at most
    /// [`MAX_CUSTOM_PERMISSIONS`](crate::MAX_CUSTOM_PERMISSIONS).
    ///
    /// Needs [`Permission::ManageRoles`] and every custom permission added
    /// or taken away (an administrator cannot hand out what they do not
    /// hold; an owner holds them all). Built-in roles carry none. A role a
    /// guest holds must keep none (guests hold no permission).
    pub fn set_role_custom_permissions(
        &self,
        org: &OrgId,
        actor: &Actor,
        role: &str,
        custom_permissions: Vec<String>,
    ) -> Result<Role> {
        check_bytes("role", role, super::MAX_KEY_BYTES / 4)?;
        if custom_permissions.len() > MAX_CUSTOM_PERMISSIONS {
            return Err(Error::LimitExceeded {
                limit: LimitKind::FieldLength,
                max: MAX_CUSTOM_PERMISSIONS as u64,
                actual: custom_permissions.len() as u64,
                detail: Some("custom_permissions".into()),
            });
        }
        for c in &custom_permissions {
            check_custom_permission(c)?;
        }
        let wanted: BTreeSet<String> = custom_permissions.into_iter().collect();
        self.run("set_role_custom_permissions", |cx| {
            let (mut o, auth) = cx.authorized(org, actor, Permission::ManageRoles)?;
            if Role::built_in_roles().iter().any(|r| r.name == role) {
                return Err(Error::conflict(format!(
                    "{role:?} is a built-in role: define a custom role to carry custom permissions"
                )));
            }
            let Some(pos) = o.custom_roles.iter().position(|r| r.name == role) else {
                return Err(Error::not_found(EntityKind::Role, role));
            };
            let had = o.custom_roles[pos].custom_permissions.clone();
            if had == wanted {
                return Ok(o.custom_roles[pos].clone());
            }
            {
                if let Some(c) = had
                    .symmetric_difference(&wanted)
                    .find(|c| !auth.has_custom(c))
                {
                    return Err(auth.deny(
                        Permission::ManageRoles,
                        format!("changing custom permission {c:?} needs holding it"),
                    ));
                }
            }
            if !wanted.is_empty() {
                if let Some(holder) = cx.role_held_by_guests(&o, role)? {
                    return Err(Error::conflict(format!(
                        "role {role:?} is held by {holder}; guests hold no permissions, \
                         so it must stay without any: define another role for members"
                    )));
                }
            }
            o.custom_roles[pos].custom_permissions = wanted.clone();
            let out = o.custom_roles[pos].clone();
            cx.tx.put_organization(&o)?;
            cx.event(
                org,
                actor,
                EventKind::RoleCustomPermissionsSet {
                    name: role.to_owned(),
                    custom_permissions: wanted.iter().cloned().collect(),
                },
            )?;
            Ok(out)
        })
    }

    /// Whether `actor` holds the permission `name` in `org`: a built-in
    /// permission by its wire name (`manage_members`, ...) or a
    /// host-defined one ([`Enlist::set_role_custom_permissions`]). Owners
    /// hold every custom permission, guests none; [`Actor::System`] holds
    /// all; an account or anonymous actor none. An actor naming no active
    /// member is `not_a_member`.
    pub fn has_permission(&self, org: &OrgId, actor: &Actor, name: &str) -> Result<bool> {
        let wanted = parse_permission_name(name)?;
        self.run_read("has_permission", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            Ok(match &wanted {
                Wanted::BuiltIn(p) => auth.has(*p),
                Wanted::Custom(c) => auth.has_custom(c),
            })
        })
    }

    /// [`Enlist::has_permission`] as a guard for the host's own features:
    /// `Ok(())`, or the error naming what is missing:
    /// [`Error::PermissionDenied`] for a built-in permission,
    /// [`Error::CustomPermissionDenied`] (code
    /// `custom_permission_denied`, family `permission_denied`) for a
    /// host-defined one.
    pub fn authorize(&self, org: &OrgId, actor: &Actor, name: &str) -> Result<()> {
        let wanted = parse_permission_name(name)?;
        self.run_read("authorize", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            match &wanted {
                Wanted::BuiltIn(p) => auth.require(*p),
                Wanted::Custom(c) if auth.has_custom(c) => Ok(()),
                Wanted::Custom(c) => Err(Error::CustomPermissionDenied {
                    actor: actor.to_string(),
                    permission: c.clone(),
                }),
            }
        })
    }
}

/// A permission named by the host: built-in or custom.
enum Wanted {
    BuiltIn(Permission),
    Custom(String),
}

fn parse_permission_name(name: &str) -> Result<Wanted> {
    if let Some(p) = Permission::ALL.iter().find(|p| p.as_str() == name) {
        return Ok(Wanted::BuiltIn(*p));
    }
    check_custom_permission(name)?;
    Ok(Wanted::Custom(name.to_owned()))
}

fn check_cursor(after: Option<&str>) -> Result<()> {
    if let Some(c) = after {
        if c.len() > MAX_CURSOR_BYTES {
            return Err(Error::invalid(
                "cursor",
                "too long to be a cursor of this list",
            ));
        }
    }
    Ok(())
}

fn slug_taken(slug: &str) -> Error {
    Error::conflict(format!(
        "the slug {slug:?} is taken by another organization; choose another"
    ))
}

fn membership_view(o: Organization, m: Member) -> AccountMembership {
    AccountMembership {
        org_id: o.id,
        name: o.name,
        slug: o.slug,
        member_id: m.id,
        role: m.role.into_string(),
        status: m.status,
        joined_at: m.joined_at,
    }
}

impl Ctx<'_> {
    /// The slug of a new organization: `given` if free (else `conflict`),
    /// or one derived from `name`, with a numeric suffix when taken, and a
    /// random one after [`SLUG_SUFFIXES`] tries.
    pub(crate) fn claim_slug(&mut self, given: Option<&str>, name: &str) -> Result<String> {
        if let Some(s) = given {
            if self.tx.organization_by_slug(s)?.is_some() {
                return Err(slug_taken(s));
            }
            return Ok(s.to_owned());
        }
        let base = slug_from_name(name);
        for n in 1..=SLUG_SUFFIXES {
            let s = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            if self.tx.organization_by_slug(&s)?.is_none() {
                return Ok(s);
            }
        }
        let bytes = self.id_bytes();
        let tail: String = bytes[..4].iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("{base}-{tail}"))
    }

    /// Writes a new organization whose slug [`Ctx::claim_slug`] chose.
    pub(crate) fn put_new_organization(&mut self, o: &Organization, derived: bool) -> Result<()> {
        self.put_slugged(o, derived)
    }

    /// Writes an organization; a slug another transaction took meanwhile
    /// is a conflict the engine retries when the slug was derived (the
    /// retry picks the next free one), and `conflict` for a slug the
    /// caller chose.
    fn put_slugged(&mut self, o: &Organization, derived: bool) -> Result<()> {
        match self.tx.put_organization(o) {
            Err(StoreError::Unique(UniqueRule::OrganizationSlug)) if derived => {
                Err(Error::Store(StoreError::Conflict))
            }
            Err(StoreError::Unique(UniqueRule::OrganizationSlug)) => Err(slug_taken(&o.slug)),
            other => Ok(other?),
        }
    }

    /// Revokes every open invitation of `o` and supersedes its queued
    /// emails; returns how many were revoked.
    fn close_invitations(&mut self, o: &Organization) -> Result<u64> {
        let mut query = InvitationQuery {
            statuses: vec![
                InvitationStatus::Staged,
                InvitationStatus::Pending,
                InvitationStatus::Expired,
            ],
            limit: super::MAX_PAGE,
            ..InvitationQuery::default()
        };
        let mut open = Vec::new();
        loop {
            let page = self.tx.list_invitations(&o.id, &query, self.now)?;
            open.extend(page.items.into_iter().filter(|i| i.status.is_open()));
            match page.next_cursor {
                Some(c) => query.after = Some(c),
                None => break,
            }
        }
        let mut revoked = 0u64;
        for mut inv in open {
            self.supersede_messages(&inv)?;
            inv.move_to(InvitationStatus::Revoked, "revoke")?;
            inv.closed_at = Some(self.now);
            self.tx.put_invitation(&inv)?;
            revoked += 1;
        }
        Ok(revoked)
    }
}

//! Members: read, list, edit, deactivate, reactivate, remove, activity,
//! license usage.

use super::{Auth, Ctx, Enlist, MAX_NAME_CHARS, clean_line};
use crate::error::{Error, Result};
use crate::event::{Actor, EventKind};
use crate::group::GroupGrant;
use crate::id::{MemberId, OrgId};
use crate::member::{LicenseUsage, Member, MemberKind, MemberQuery, MemberStatus, Page};
use crate::organization::Organization;
use crate::role::{Permission, builtin};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Changes to a member; `None` leaves a field as it is. The email never
/// changes: remove the member and invite the new address instead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MemberUpdate {
    /// New first name (`Some("")` clears it).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub first_name: Option<String>,
    /// New last name (`Some("")` clears it).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub last_name: Option<String>,
    /// New phone (`Some("")` clears it).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub phone: Option<String>,
    /// New organization role.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// The new set of groups with group roles (replaces the old set).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub groups: Option<Vec<GroupGrant>>,
    /// New license type.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub license_type: Option<String>,
}

impl Enlist {
    /// A member. Members with [`Permission::ViewMembers`] see everyone;
    /// anyone sees themselves.
    pub fn member(&self, org: &OrgId, actor: &Actor, member: &MemberId) -> Result<Member> {
        self.run("member", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            if !auth.has(Permission::ViewMembers) && !auth.is_member(member) {
                return Err(auth.deny(Permission::ViewMembers, "reading another member"));
            }
            cx.member(org, member)
        })
    }

    /// A page of members: searched by email, filtered by role, status and
    /// group, sorted by email, continued with `after`. Needs
    /// [`Permission::ViewMembers`].
    pub fn list_members(
        &self,
        org: &OrgId,
        actor: &Actor,
        query: &MemberQuery,
    ) -> Result<Page<Member>> {
        super::page_limit(query.limit)?;
        super::check_query_text(
            query.search.as_deref(),
            query.after.as_deref(),
            &[
                query.role.as_deref(),
                query.group.as_ref().map(|g| g.as_str()),
            ],
        )?;
        self.run("list_members", |cx| {
            cx.authorized(org, actor, Permission::ViewMembers)?;
            Ok(cx.tx.list_members(org, query)?)
        })
    }

    /// Edits a member's names, role, groups or license type. Needs
    /// [`Permission::ManageMembers`] and the member's current role within
    /// the actor's reach (members may edit their own names and phone);
    /// roles and group roles given or taken need to be within reach too.
    pub fn update_member(
        &self,
        org: &OrgId,
        actor: &Actor,
        member: &MemberId,
        update: MemberUpdate,
    ) -> Result<Member> {
        let edit = MemberEdit::clean(update)?;
        self.run("update_member", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            cx.update_member_in(&o, &auth, actor, member, &edit)
                .map(|(m, _)| m)
        })
    }

    /// Deactivates a member (they keep their data and groups but hold no
    /// seat and cannot act). Needs [`Permission::ManageMembers`].
    pub fn deactivate_member(
        &self,
        org: &OrgId,
        actor: &Actor,
        member: &MemberId,
    ) -> Result<Member> {
        self.set_status(org, actor, member, MemberStatus::Inactive)
    }

    /// Reactivates an inactive member, if a seat is free.
    pub fn reactivate_member(
        &self,
        org: &OrgId,
        actor: &Actor,
        member: &MemberId,
    ) -> Result<Member> {
        self.set_status(org, actor, member, MemberStatus::Active)
    }

    fn set_status(
        &self,
        org: &OrgId,
        actor: &Actor,
        member: &MemberId,
        to: MemberStatus,
    ) -> Result<Member> {
        self.run("set_member_status", |cx| {
            let (o, auth) = cx.authorized(org, actor, Permission::ManageMembers)?;
            cx.set_member_status_in(&o, &auth, actor, member, to)
                .map(|(m, _)| m)
        })
    }

    /// Removes a member from the organization: a tombstone stays so history
    /// reads "removed member", their groups are dropped, and their email is
    /// free to be invited again. Needs [`Permission::ManageMembers`] and the
    /// member's role within reach; the last owner cannot be removed.
    pub fn remove_member(&self, org: &OrgId, actor: &Actor, member: &MemberId) -> Result<Member> {
        self.run("remove_member", |cx| {
            let (o, auth) = cx.authorized(org, actor, Permission::ManageMembers)?;
            cx.remove_member_in(&o, &auth, actor, member)
                .map(|(m, _)| m)
        })
    }

    /// Records when a member was last active. This is telemetry, not a
    /// change of state: it appends no audit event (a busy product would
    /// flood the trail), and it only ever moves the time forward.
    pub fn record_activity(&self, org: &OrgId, member: &MemberId, at: DateTime<Utc>) -> Result<()> {
        super::check_time("at", at)?;
        self.run("record_activity", |cx| {
            let mut m = cx.member(org, member)?;
            if m.status == MemberStatus::Removed || m.last_active_at.is_some_and(|t| t >= at) {
                return Ok(());
            }
            m.last_active_at = Some(at);
            cx.tx.put_member(&m)?;
            Ok(())
        })
    }

    /// Seats used, pending and allowed per license type: every type with a
    /// limit or any use. Needs [`Permission::ViewMembers`].
    pub fn license_usage(&self, org: &OrgId, actor: &Actor) -> Result<Vec<LicenseUsage>> {
        self.run("license_usage", |cx| {
            let (o, _) = cx.authorized(org, actor, Permission::ViewMembers)?;
            let mut out: BTreeMap<String, LicenseUsage> = o
                .policy
                .seat_limits
                .iter()
                .map(|(lt, l)| {
                    (
                        lt.clone(),
                        LicenseUsage {
                            license_type: lt.clone(),
                            used: 0,
                            pending: 0,
                            limit: Some(*l),
                        },
                    )
                })
                .collect();
            for (lt, c) in cx.tx.seat_counts(org)? {
                let e = out.entry(lt.clone()).or_insert(LicenseUsage {
                    license_type: lt,
                    used: 0,
                    pending: 0,
                    limit: None,
                });
                e.used = c.members;
                e.pending = c.open_invitations;
            }
            Ok(out.into_values().collect())
        })
    }
}

/// A [`MemberUpdate`] whose texts are cleaned and bounded: what
/// [`Ctx::update_member_in`] applies. Built outside any transaction.
pub(super) struct MemberEdit {
    first_name: Option<Option<String>>,
    last_name: Option<Option<String>>,
    phone: Option<Option<String>>,
    role: Option<String>,
    groups: Option<Vec<GroupGrant>>,
    license_type: Option<String>,
}

impl MemberEdit {
    /// Cleans and bounds the texts of `update` (names, phone).
    pub(super) fn clean(update: MemberUpdate) -> Result<Self> {
        let first_name = update
            .first_name
            .as_deref()
            .map(|v| clean_line("first_name", Some(v), MAX_NAME_CHARS))
            .transpose()?;
        let last_name = update
            .last_name
            .as_deref()
            .map(|v| clean_line("last_name", Some(v), MAX_NAME_CHARS))
            .transpose()?;
        let phone = update
            .phone
            .as_deref()
            .map(|v| clean_line("phone", Some(v), 40))
            .transpose()?;
        Ok(Self {
            first_name,
            last_name,
            phone,
            role: update.role,
            groups: update.groups,
            license_type: update.license_type,
        })
    }

    /// A change of organization role only (a bulk action's).
    pub(super) fn role(role: String) -> Self {
        Self {
            first_name: None,
            last_name: None,
            phone: None,
            role: Some(role),
            groups: None,
            license_type: None,
        }
    }
}

/// The member commands inside a given transaction, after the prologue
/// (`o` and `auth` from [`Ctx::enter`] or [`Ctx::authorized`]): the one
/// place their rules are written, shared by the single commands and the
/// bulk actions. Each returns the member and whether it changed (an
/// event was appended).
impl Ctx<'_> {
    /// [`Enlist::update_member`]'s rules.
    pub(super) fn update_member_in(
        &mut self,
        o: &Organization,
        auth: &Auth,
        actor: &Actor,
        member: &MemberId,
        edit: &MemberEdit,
    ) -> Result<(Member, bool)> {
        let cx = self;
        let org = &o.id;
        let mut m = cx.member(org, member)?;
        if m.status == MemberStatus::Removed {
            return Err(Error::conflict("a removed member cannot be edited"));
        }
        let only_own_details =
            edit.role.is_none() && edit.groups.is_none() && edit.license_type.is_none();
        if !(auth.has(Permission::ManageMembers) || (only_own_details && auth.is_member(member))) {
            return Err(auth.deny(Permission::ManageMembers, "editing a member"));
        }
        if !auth.is_member(member) {
            // Editing someone else (even their names or license) needs
            // their role within reach, as removing them does: a user
            // admin does not rename the owner or move their seat.
            auth.grantable_role(o, &m.role)?;
        }
        let mut fields = Vec::new();
        if let Some(v) = &edit.first_name {
            if &m.first_name != v {
                m.first_name = v.clone();
                fields.push("first_name".to_owned());
            }
        }
        if let Some(v) = &edit.last_name {
            if &m.last_name != v {
                m.last_name = v.clone();
                fields.push("last_name".to_owned());
            }
        }
        if let Some(v) = &edit.phone {
            if &m.phone != v {
                m.phone = v.clone();
                fields.push("phone".to_owned());
            }
        }
        if let Some(role) = &edit.role {
            if role != &m.role {
                // Taking a role away needs the same reach as giving it.
                auth.grantable_role(o, &m.role)?;
                auth.grantable_role(o, role)?;
                if m.kind == MemberKind::Guest
                    && role != builtin::GUEST
                    && o.role(role).is_some_and(|r| !r.permissions.is_empty())
                {
                    return Err(Error::invalid(
                        "role",
                        "guests keep the guest role; invite them as members instead",
                    ));
                }
                cx.keep_an_owner(org, &m)?;
                m.role = role.clone();
                fields.push("role".to_owned());
            }
        }
        if let Some(groups) = &edit.groups {
            let new = cx.check_grants(org, auth, groups)?;
            // Memberships taken away must be within reach too.
            for old in m.groups.iter().filter(|g| !new.contains(g)) {
                auth.may_grant_group(old)?;
            }
            let mut sorted_old = m.groups.clone();
            sorted_old.sort();
            let mut sorted_new = new.clone();
            sorted_new.sort();
            if sorted_old != sorted_new {
                m.groups = new;
                fields.push("groups".to_owned());
            }
        }
        if let Some(lt) = &edit.license_type {
            let lt = super::clean_label("license_type", lt)?;
            let lt = lt.as_str();
            if lt != m.license_type {
                if m.holds_seat() {
                    cx.check_seat(o, lt, 1)?;
                }
                m.license_type = lt.to_owned();
                fields.push("license_type".to_owned());
            }
        }
        if fields.is_empty() {
            return Ok((m, false));
        }
        cx.tx.put_member(&m)?;
        cx.event(
            org,
            actor,
            EventKind::MemberUpdated {
                member: member.clone(),
                fields,
            },
        )?;
        Ok((m, true))
    }

    /// [`Enlist::deactivate_member`]'s and [`Enlist::reactivate_member`]'s
    /// rules (the prologue has checked [`Permission::ManageMembers`]).
    pub(super) fn set_member_status_in(
        &mut self,
        o: &Organization,
        auth: &Auth,
        actor: &Actor,
        member: &MemberId,
        to: MemberStatus,
    ) -> Result<(Member, bool)> {
        let cx = self;
        let org = &o.id;
        let mut m = cx.member(org, member)?;
        let from = m.status;
        match (from, to) {
            (a, b) if a == b => return Ok((m, false)),
            (MemberStatus::Removed, _) => {
                return Err(Error::conflict(
                    "a removed member cannot change status; invite them again",
                ));
            }
            (_, MemberStatus::Active) => {
                // Reactivating restores the member's role: it needs the
                // same reach as deactivating them.
                auth.grantable_role(o, &m.role)?;
                cx.check_seat(o, &m.license_type, 1)?;
            }
            _ => {
                auth.grantable_role(o, &m.role)?;
                cx.keep_an_owner(org, &m)?;
            }
        }
        let by = if to == MemberStatus::Active {
            "reactivate"
        } else {
            "deactivate"
        };
        m.move_to(to, by)?;
        cx.tx.put_member(&m)?;
        cx.event(
            org,
            actor,
            EventKind::MemberStatusChanged {
                member: member.clone(),
                from,
                to,
            },
        )?;
        Ok((m, true))
    }

    /// [`Enlist::remove_member`]'s rules (the prologue has checked
    /// [`Permission::ManageMembers`]).
    pub(super) fn remove_member_in(
        &mut self,
        o: &Organization,
        auth: &Auth,
        actor: &Actor,
        member: &MemberId,
    ) -> Result<(Member, bool)> {
        let cx = self;
        let org = &o.id;
        let mut m = cx.member(org, member)?;
        if m.status == MemberStatus::Removed {
            return Ok((m, false));
        }
        auth.grantable_role(o, &m.role)?;
        cx.keep_an_owner(org, &m)?;
        m.move_to(MemberStatus::Removed, "remove")?;
        m.removed_at = Some(cx.now);
        m.groups.clear();
        cx.tx.put_member(&m)?;
        cx.event(
            org,
            actor,
            EventKind::MemberRemoved {
                member: member.clone(),
                contact: m.contact.as_str().to_owned(),
            },
        )?;
        Ok((m, true))
    }
}

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
    /// Attributes to set (`department`, `job_title`, ...): each key given
    /// is set, a blank value removes its key, keys not given stay.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub attributes: Option<crate::member::Attributes>,
    /// The member's public metadata, replaced whole (`Some` of an empty
    /// object clears it). Needs [`Permission::ManageMembers`]: a member
    /// does not edit their own metadata.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub public_metadata: Option<crate::metadata::Metadata>,
    /// The member's private metadata, replaced whole. Needs
    /// [`Permission::ManageMembers`].
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub private_metadata: Option<crate::metadata::Metadata>,
}

/// One field of a member, before and after a change (a bulk update's
/// diff): `field` is `first_name`, `last_name`, `phone`, `role`, `groups`,
/// `license_type`, `status` or `attributes.<key>`; a value that is not set
/// reads as `""`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct FieldChange {
    /// The field.
    pub field: String,
    /// Its value before.
    pub old: String,
    /// Its value after.
    pub new: String,
}

/// A member update bounded and cleaned outside any transaction.
pub(crate) struct CleanUpdate {
    first: Option<Option<String>>,
    last: Option<Option<String>>,
    phone: Option<Option<String>>,
    role: Option<String>,
    groups: Option<Vec<GroupGrant>>,
    license_type: Option<String>,
    attributes: Option<crate::member::Attributes>,
    /// Active or inactive (a bulk update's Active column).
    status: Option<MemberStatus>,
    /// Public and private metadata, each replaced whole.
    public_metadata: Option<crate::metadata::Metadata>,
    private_metadata: Option<crate::metadata::Metadata>,
}

impl CleanUpdate {
    pub(crate) fn of(update: &MemberUpdate, status: Option<MemberStatus>) -> Result<Self> {
        let line =
            |field: &str, v: &Option<String>, max: usize| -> Result<Option<Option<String>>> {
                v.as_deref()
                    .map(|v| clean_line(field, Some(v), max))
                    .transpose()
            };
        if let Some(r) = &update.role {
            super::check_max_bytes("role", r, super::MAX_KEY_BYTES)?;
        }
        if let Some(g) = &update.groups {
            if g.len() > super::MAX_GRANTS {
                return Err(Error::invalid(
                    "groups",
                    format!("at most {} groups at once", super::MAX_GRANTS),
                ));
            }
        }
        Ok(Self {
            first: line("first_name", &update.first_name, MAX_NAME_CHARS)?,
            last: line("last_name", &update.last_name, MAX_NAME_CHARS)?,
            phone: line("phone", &update.phone, 40)?,
            role: update.role.clone(),
            groups: update.groups.clone(),
            license_type: update
                .license_type
                .as_deref()
                .map(|lt| super::clean_label("license_type", lt))
                .transpose()?,
            attributes: update
                .attributes
                .as_ref()
                .map(super::attributes::clean_attributes)
                .transpose()?,
            status,
            public_metadata: update
                .public_metadata
                .clone()
                .map(|m| m.validated_for("public_metadata"))
                .transpose()?,
            private_metadata: update
                .private_metadata
                .clone()
                .map(|m| m.validated_for("private_metadata"))
                .transpose()?,
        })
    }

    /// A change of organization role only (a bulk action's).
    pub(crate) fn role(role: String) -> Result<Self> {
        Self::of(
            &MemberUpdate {
                role: Some(role),
                ..MemberUpdate::default()
            },
            None,
        )
    }

    /// Whether only the fields members may change about themselves are set.
    fn only_own_details(&self) -> bool {
        self.role.is_none()
            && self.groups.is_none()
            && self.license_type.is_none()
            && self.attributes.is_none()
            && self.status.is_none()
            && self.public_metadata.is_none()
            && self.private_metadata.is_none()
    }
}

impl super::Ctx<'_> {
    /// The rules of [`Enlist::update_member`], shared with the bulk update:
    /// every check first, then the member written once, with one
    /// `MemberUpdated` event naming the fields that changed and, when the
    /// status changes, one `MemberStatusChanged` event. Returns the member
    /// as written and the changes (empty: nothing written). `before` is
    /// the member as this transaction read it (the caller found it by id
    /// or by contact; reading it again would cost a store with round
    /// trips one per member of a bulk update).
    pub(crate) fn edit_member(
        &mut self,
        o: &crate::organization::Organization,
        auth: &super::Auth,
        actor: &Actor,
        before: Member,
        u: &CleanUpdate,
    ) -> Result<(Member, Vec<FieldChange>)> {
        let cx = self;
        let org = &o.id;
        let member = &before.id;
        let mut m = before.clone();
        if m.status == MemberStatus::Removed {
            return Err(Error::conflict("a removed member cannot be edited"));
        }
        if !(auth.has(Permission::ManageMembers)
            || (u.only_own_details() && auth.is_member(member)))
        {
            return Err(auth.deny(Permission::ManageMembers, "editing a member"));
        }
        if !auth.is_member(member) {
            // Editing someone else (even their names or license) needs
            // their role within reach, as removing them does: a user
            // admin does not rename the owner or move their seat.
            auth.grantable_role(o, &m.role)?;
        }
        let mut changes = Vec::new();
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        for (field, new, slot) in [
            ("first_name", &u.first, &mut m.first_name),
            ("last_name", &u.last, &mut m.last_name),
            ("phone", &u.phone, &mut m.phone),
        ] {
            if let Some(v) = new {
                if slot != v {
                    changes.push(FieldChange {
                        field: field.to_owned(),
                        old: text(slot),
                        new: text(v),
                    });
                    slot.clone_from(v);
                }
            }
        }
        if let Some(role) = &u.role {
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
                changes.push(FieldChange {
                    field: "role".to_owned(),
                    old: m.role.to_string(),
                    new: role.clone(),
                });
                m.role = role.as_str().into();
            }
        }
        if let Some(groups) = &u.groups {
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
                changes.push(FieldChange {
                    field: "groups".to_owned(),
                    old: cx.groups_text(org, &sorted_old)?,
                    new: cx.groups_text(org, &sorted_new)?,
                });
                m.groups = new;
            }
        }
        if let Some(lt) = &u.license_type {
            if lt != &m.license_type {
                if m.holds_seat() {
                    cx.check_seat(o, lt, 1)?;
                }
                changes.push(FieldChange {
                    field: "license_type".to_owned(),
                    old: m.license_type.to_string(),
                    new: lt.clone(),
                });
                m.license_type = lt.as_str().into();
            }
        }
        if let Some(attrs) = &u.attributes {
            let merged = super::attributes::merge_attributes(&m.attributes, attrs)?;
            for (k, v) in attrs {
                let old = m.attributes.get(k).cloned().unwrap_or_default();
                if &old != v {
                    changes.push(FieldChange {
                        field: format!("attributes.{k}"),
                        old,
                        new: v.clone(),
                    });
                }
            }
            m.attributes = merged;
        }
        for (field, new, slot) in [
            (
                "public_metadata",
                &u.public_metadata,
                &mut m.public_metadata,
            ),
            (
                "private_metadata",
                &u.private_metadata,
                &mut m.private_metadata,
            ),
        ] {
            if let Some(v) = new {
                if slot != v {
                    changes.push(FieldChange {
                        field: field.to_owned(),
                        old: slot.to_json(),
                        new: v.to_json(),
                    });
                    slot.clone_from(v);
                }
            }
        }
        let from = before.status;
        let status_change = match u.status {
            Some(to) if to != from && to != MemberStatus::Removed => {
                // As `set_status`: reactivating restores the role and takes
                // a seat; deactivating must leave an active owner.
                auth.require(Permission::ManageMembers)?;
                auth.grantable_role(o, &m.role)?;
                if to == MemberStatus::Active {
                    cx.check_seat(o, &m.license_type, 1)?;
                } else {
                    cx.keep_an_owner(org, &before)?;
                }
                Some(to)
            }
            _ => None,
        };
        let fields: Vec<String> = changes.iter().map(|c| c.field.clone()).collect();
        if let Some(to) = status_change {
            m.move_to(
                to,
                if to == MemberStatus::Active {
                    "reactivate"
                } else {
                    "deactivate"
                },
            )?;
            changes.push(FieldChange {
                field: "status".to_owned(),
                old: from.as_str().to_owned(),
                new: to.as_str().to_owned(),
            });
        }
        if changes.is_empty() {
            return Ok((m, changes));
        }
        cx.tx.put_member(&m)?;
        if !fields.is_empty() {
            cx.event(
                org,
                actor,
                EventKind::MemberUpdated {
                    member: member.clone(),
                    fields,
                },
            )?;
        }
        if let Some(to) = status_change {
            cx.event(
                org,
                actor,
                EventKind::MemberStatusChanged {
                    member: member.clone(),
                    from,
                    to,
                },
            )?;
        }
        Ok((m, changes))
    }

    /// Groups as their names (`Sales (owner), Support`), for a diff.
    fn groups_text(&mut self, org: &OrgId, groups: &[GroupGrant]) -> Result<String> {
        let mut names = Vec::with_capacity(groups.len());
        for g in groups {
            let name = match self.tx.group(org, &g.group_id)? {
                Some(found) => found.name,
                None => g.group_id.as_str().to_owned(),
            };
            names.push(match g.role {
                crate::role::GroupRole::Owner => format!("{name} (owner)"),
                _ => name,
            });
        }
        names.sort();
        Ok(names.join(", "))
    }
}

impl Enlist {
    /// A member. Members with [`Permission::ViewMembers`] see everyone;
    /// anyone sees themselves.
    pub fn member(&self, org: &OrgId, actor: &Actor, member: &MemberId) -> Result<Member> {
        self.run_read("member", |cx| {
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
        self.run_read("list_members", |cx| {
            cx.authorized(org, actor, Permission::ViewMembers)?;
            Ok(cx.tx.list_members(org, query)?)
        })
    }

    /// Edits a member's names, role, groups, license type or attributes.
    /// Needs [`Permission::ManageMembers`] and the member's current role
    /// within the actor's reach (members may edit their own names and
    /// phone); roles and group roles given or taken need to be within reach
    /// too.
    pub fn update_member(
        &self,
        org: &OrgId,
        actor: &Actor,
        member: &MemberId,
        update: MemberUpdate,
    ) -> Result<Member> {
        let update = CleanUpdate::of(&update, None)?;
        self.run("update_member", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            let before = cx.member(org, member)?;
            Ok(cx.edit_member(&o, &auth, actor, before, &update)?.0)
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
        self.run_read("license_usage", |cx| {
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

/// The member commands inside a given transaction, after the prologue
/// (`o` and `auth` from [`Ctx::enter`] or [`Ctx::authorized`]): the one
/// place their rules are written, shared by the single commands and the
/// bulk actions. Each returns the member and whether it changed (an
/// event was appended).
impl Ctx<'_> {
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
        cx.tombstone(org, &mut m)?;
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

    /// Removes `m` from the organization, keeping its row as a tombstone
    /// (status removed, no groups, the seat freed), unless it is the last
    /// active owner: what a removal and a member leaving share. The caller
    /// writes the event.
    pub(super) fn tombstone(&mut self, org: &OrgId, m: &mut Member) -> Result<()> {
        self.keep_an_owner(org, m)?;
        m.move_to(MemberStatus::Removed, "remove")?;
        m.removed_at = Some(self.now);
        m.groups.clear();
        Ok(self.tx.put_member(m)?)
    }
}

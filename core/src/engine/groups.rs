//! Groups and group membership.

use super::{Auth, Ctx, Enlist, MAX_MESSAGE_CHARS, MAX_NAME_CHARS, required_line};
use crate::error::{EntityKind, Error, Result};
use crate::event::{Actor, EventKind};
use crate::group::{Group, GroupGrant, GroupSort};
use crate::id::{GroupId, MemberId, OrgId};
use crate::member::{MemberQuery, MemberStatus};
use crate::role::{GroupRole, Permission};
use serde::{Deserialize, Serialize};

/// A group to create.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewGroup {
    /// Its name, unique in the organization (case-insensitively).
    pub name: String,
    /// What it is for.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub description: String,
    /// Make it the default group (the previous default stops being one).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub is_default: bool,
}

/// Changes to a group; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GroupUpdate {
    /// A new name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub name: Option<String>,
    /// A new description.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub description: Option<String>,
    /// Make it (or stop it being) the default group.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub is_default: Option<bool>,
}

/// A query over groups.
///
/// In Kotlin and Swift `sort` is required (uniffi cannot default an enum
/// field): `GroupSort.NAME_ASC` is Rust's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GroupQuery {
    /// Sort order.
    pub sort: GroupSort,
    /// Only groups whose name contains this (case-insensitive).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub search: Option<String>,
}

impl Enlist {
    /// Creates a group. Needs [`Permission::ManageGroups`].
    pub fn create_group(&self, org: &OrgId, actor: &Actor, new: NewGroup) -> Result<Group> {
        let name = required_line("name", &new.name, MAX_NAME_CHARS)?;
        let description =
            super::clean_text("description", Some(&new.description), MAX_MESSAGE_CHARS)?
                .unwrap_or_default();
        self.run("create_group", |cx| {
            cx.authorized(org, actor, Permission::ManageGroups)?;
            cx.unique_group_name(org, &name, None)?;
            let g = Group {
                org_id: org.clone(),
                id: GroupId::from_random(cx.id_bytes()),
                name: name.clone(),
                description: description.clone(),
                is_default: new.is_default,
                member_count: 0,
                created_at: cx.now,
            };
            if g.is_default {
                cx.clear_default(org, actor)?;
            }
            cx.tx.put_group(&g)?;
            cx.event(
                org,
                actor,
                EventKind::GroupCreated {
                    group: g.id.clone(),
                    name: g.name.clone(),
                    is_default: g.is_default,
                },
            )?;
            Ok(g)
        })
    }

    /// Renames, describes or (un)defaults a group. Needs
    /// [`Permission::ManageGroups`].
    pub fn update_group(
        &self,
        org: &OrgId,
        actor: &Actor,
        group: &GroupId,
        update: GroupUpdate,
    ) -> Result<Group> {
        let name = match &update.name {
            Some(n) => Some(required_line("name", n, MAX_NAME_CHARS)?),
            None => None,
        };
        let description = match &update.description {
            Some(d) => Some(
                super::clean_text("description", Some(d), MAX_MESSAGE_CHARS)?.unwrap_or_default(),
            ),
            None => None,
        };
        self.run("update_group", |cx| {
            cx.authorized(org, actor, Permission::ManageGroups)?;
            let mut g = cx.group(org, group)?;
            let before = g.clone();
            if let Some(n) = &name {
                cx.unique_group_name(org, n, Some(group))?;
                g.name = n.clone();
            }
            if let Some(d) = &description {
                g.description = d.clone();
            }
            if let Some(d) = update.is_default {
                if d && !g.is_default {
                    cx.clear_default(org, actor)?;
                }
                g.is_default = d;
            }
            if g == before {
                return Ok(g);
            }
            cx.tx.put_group(&g)?;
            cx.event(
                org,
                actor,
                EventKind::GroupUpdated {
                    group: g.id.clone(),
                    name: g.name.clone(),
                    description: g.description.clone(),
                    is_default: g.is_default,
                },
            )?;
            Ok(g)
        })
    }

    /// Deletes a group. Its members stay in the organization; the group is
    /// taken out of their memberships and of the invitation link. Needs
    /// [`Permission::ManageGroups`].
    pub fn delete_group(&self, org: &OrgId, actor: &Actor, group: &GroupId) -> Result<u64> {
        self.run("delete_group", |cx| {
            cx.authorized(org, actor, Permission::ManageGroups)?;
            let g = cx.group(org, group)?;
            let mut detached = 0u64;
            let mut query = MemberQuery {
                group: Some(group.clone()),
                statuses: vec![
                    MemberStatus::Active,
                    MemberStatus::Inactive,
                    MemberStatus::Removed,
                ],
                limit: super::MAX_PAGE,
                ..MemberQuery::default()
            };
            loop {
                // Each pass removes the group from the page it reads, so the
                // next pass starts again from the beginning of what is left.
                query.after = None;
                let page = cx.tx.list_members(org, &query)?;
                if page.items.is_empty() {
                    break;
                }
                for mut m in page.items {
                    m.groups.retain(|x| &x.group_id != group);
                    cx.tx.put_member(&m)?;
                    detached += 1;
                }
            }
            // Every link of the organization, the default one and the
            // named ones (bounded per organization).
            for mut link in cx.tx.links(org, crate::link::MAX_LINKS_PER_ORG + 2)? {
                if link.groups.iter().any(|x| &x.group_id == group) {
                    link.groups.retain(|x| &x.group_id != group);
                    cx.tx.put_link(&link)?;
                }
            }
            cx.tx.delete_group(org, group)?;
            cx.event(
                org,
                actor,
                EventKind::GroupDeleted {
                    group: group.clone(),
                    name: g.name.clone(),
                    members_detached: detached,
                },
            )?;
            Ok(detached)
        })
    }

    /// A group, with its member count. Members see every group; guests only
    /// their own.
    pub fn group(&self, org: &OrgId, actor: &Actor, group: &GroupId) -> Result<Group> {
        self.run_read("group", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            let g = cx.group(org, group)?;
            if auth.has(Permission::ViewMembers) || auth.group_role(group).is_some() {
                Ok(g)
            } else {
                Err(auth.deny(Permission::ViewMembers, "reading a group one is not in"))
            }
        })
    }

    /// Lists groups, searched by name and sorted by name or member count.
    /// Members see every group; guests only their own.
    pub fn list_groups(
        &self,
        org: &OrgId,
        actor: &Actor,
        query: &GroupQuery,
    ) -> Result<Vec<Group>> {
        self.run_read("list_groups", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            if auth.member.is_none() && !auth.system {
                return Err(auth.deny(Permission::ViewMembers, "listing groups"));
            }
            let mut groups = cx.tx.groups(org)?;
            if !auth.has(Permission::ViewMembers) {
                groups.retain(|g| auth.group_role(&g.id).is_some());
            }
            if let Some(s) = query
                .search
                .as_ref()
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
            {
                groups.retain(|g| g.name.to_lowercase().contains(&s));
            }
            let by_name = |a: &Group, b: &Group| {
                a.name
                    .to_lowercase()
                    .cmp(&b.name.to_lowercase())
                    .then(a.id.cmp(&b.id))
            };
            match query.sort {
                GroupSort::NameAsc => groups.sort_by(by_name),
                GroupSort::NameDesc => groups.sort_by(|a, b| by_name(b, a)),
                GroupSort::MemberCountAsc => groups.sort_by(|a, b| {
                    a.member_count
                        .cmp(&b.member_count)
                        .then_with(|| by_name(a, b))
                }),
                GroupSort::MemberCountDesc => groups.sort_by(|a, b| {
                    b.member_count
                        .cmp(&a.member_count)
                        .then_with(|| by_name(a, b))
                }),
            }
            Ok(groups)
        })
    }

    /// Adds an existing member to a group (as [`GroupRole::Member`] unless
    /// told otherwise). Needs [`Permission::ManageGroups`], or
    /// [`Permission::ManageMembers`] for the member role, or to own the group.
    pub fn add_group_member(
        &self,
        org: &OrgId,
        actor: &Actor,
        group: &GroupId,
        member: &MemberId,
        role: Option<GroupRole>,
    ) -> Result<()> {
        let role = role.unwrap_or_default();
        self.run("add_group_member", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            cx.group(org, group)?;
            let grant = GroupGrant {
                group_id: group.clone(),
                role,
            };
            auth.may_grant_group(&grant)?;
            let mut m = cx.member(org, member)?;
            if m.status == MemberStatus::Removed {
                return Err(Error::conflict(
                    "only existing members can be added to a group; this one was removed",
                ));
            }
            if let Some(current) = m.group_role(group) {
                if current == role {
                    return Ok(());
                }
                return Err(Error::conflict(format!(
                    "already in the group as {current}; change the group role instead"
                )));
            }
            m.groups.push(grant);
            cx.tx.put_member(&m)?;
            cx.event(
                org,
                actor,
                EventKind::GroupMemberAdded {
                    group: group.clone(),
                    member: member.clone(),
                    role,
                },
            )
        })
    }

    /// Changes a member's role in a group.
    pub fn set_group_role(
        &self,
        org: &OrgId,
        actor: &Actor,
        group: &GroupId,
        member: &MemberId,
        role: GroupRole,
    ) -> Result<()> {
        self.run("set_group_role", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            let mut m = cx.member(org, member)?;
            let Some(from) = m.group_role(group) else {
                return Err(Error::not_found(
                    EntityKind::GroupMembership,
                    format!("{member} in {group}"),
                ));
            };
            if from == role {
                return Ok(());
            }
            // Both the role taken away and the role given must be within the
            // actor's reach.
            auth.may_grant_group(&GroupGrant {
                group_id: group.clone(),
                role: GroupRole::Owner,
            })?;
            for g in m.groups.iter_mut().filter(|g| &g.group_id == group) {
                g.role = role;
            }
            cx.tx.put_member(&m)?;
            cx.event(
                org,
                actor,
                EventKind::GroupRoleChanged {
                    group: group.clone(),
                    member: member.clone(),
                    from,
                    to: role,
                },
            )
        })
    }

    /// Takes a member out of a group.
    pub fn remove_group_member(
        &self,
        org: &OrgId,
        actor: &Actor,
        group: &GroupId,
        member: &MemberId,
    ) -> Result<()> {
        self.run("remove_group_member", |cx| {
            let (_, auth) = cx.enter(org, actor)?;
            let mut m = cx.member(org, member)?;
            let Some(role) = m.group_role(group) else {
                return Err(Error::not_found(
                    EntityKind::GroupMembership,
                    format!("{member} in {group}"),
                ));
            };
            auth.may_grant_group(&GroupGrant {
                group_id: group.clone(),
                role,
            })?;
            m.groups.retain(|g| &g.group_id != group);
            cx.tx.put_member(&m)?;
            cx.event(
                org,
                actor,
                EventKind::GroupMemberRemoved {
                    group: group.clone(),
                    member: member.clone(),
                },
            )
        })
    }
}

impl Ctx<'_> {
    pub(crate) fn group(&mut self, org: &OrgId, id: &GroupId) -> Result<Group> {
        self.tx
            .group(org, id)?
            .ok_or_else(|| Error::UnknownGroup { group: id.clone() })
    }

    fn unique_group_name(
        &mut self,
        org: &OrgId,
        name: &str,
        except: Option<&GroupId>,
    ) -> Result<()> {
        let lower = name.to_lowercase();
        if self
            .tx
            .groups(org)?
            .iter()
            .any(|g| Some(&g.id) != except && g.name.to_lowercase() == lower)
        {
            return Err(Error::conflict(format!(
                "a group named {name:?} already exists"
            )));
        }
        Ok(())
    }

    fn clear_default(&mut self, org: &OrgId, actor: &Actor) -> Result<()> {
        for mut g in self.tx.groups(org)?.into_iter().filter(|g| g.is_default) {
            g.is_default = false;
            self.tx.put_group(&g)?;
            self.event(
                org,
                actor,
                EventKind::GroupUpdated {
                    group: g.id.clone(),
                    name: g.name.clone(),
                    description: g.description.clone(),
                    is_default: false,
                },
            )?;
        }
        Ok(())
    }

    /// The organization's default group, if any.
    pub(crate) fn default_group(&mut self, org: &OrgId) -> Result<Option<Group>> {
        Ok(self.tx.groups(org)?.into_iter().find(|g| g.is_default))
    }

    /// Checks that every group exists and the actor may grant each role;
    /// removes duplicates (keeping the highest role).
    pub(crate) fn check_grants(
        &mut self,
        org: &OrgId,
        auth: &Auth,
        grants: &[GroupGrant],
    ) -> Result<Vec<GroupGrant>> {
        if grants.len() > super::MAX_GRANTS {
            return Err(Error::invalid(
                "groups",
                format!("at most {} groups at once", super::MAX_GRANTS),
            ));
        }
        let mut out: Vec<GroupGrant> = Vec::with_capacity(grants.len());
        for g in grants {
            self.group(org, &g.group_id)?;
            auth.may_grant_group(g)?;
            match out.iter_mut().find(|x| x.group_id == g.group_id) {
                Some(x) => x.role = x.role.max(g.role),
                None => out.push(g.clone()),
            }
        }
        Ok(out)
    }
}

//! What an actor may do in an organization (`capabilities`), editing a
//! staged invitation before it is sent (seed 004's "Edit a User", and its
//! "Active" checkbox), and seeing an identifier invitation's access code
//! again (seed 002's "See access code").
//!
//! `capabilities` asks the predicates the commands themselves ask
//! ([`may_invite_at_all`], [`authorize_invite`], [`Auth::has`]) rather than
//! restating the rules, so that what a UI shows cannot drift from what the
//! engine allows; a property test (`tests` below) checks that every listed
//! choice succeeds and every other is refused.

use super::invite::{authorize_invite, check_grants_and_role, may_invite_at_all};
use super::{Auth, Enlist, MAX_NAME_CHARS, clean_label, clean_line};
use crate::error::{Error, Result};
use crate::event::{Actor, EventKind};
use crate::group::GroupGrant;
use crate::id::{GroupId, InvitationId, OrgId};
use crate::invitation::{Invitation, InvitationStatus};
use crate::member::MemberKind;
use crate::organization::Organization;
use crate::role::{GroupRole, Permission};
use crate::seal::OpenError;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// What an actor may do in an organization, for a UI to show or hide its
/// buttons (see [`Enlist::capabilities`]). Built from the same checks the
/// commands make: every choice listed here succeeds (subject to the
/// per-recipient checks: domains, seats, duplicates), every other one is
/// refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct Capabilities {
    /// The actor may invite at all (the "+Invite" button): the check
    /// [`Enlist::invite`] and [`Enlist::send_staged`] make first.
    pub can_invite: bool,
    /// Inviting people as members.
    pub members: InviteCapability,
    /// Inviting people as guests (nothing allowed when the policy disables
    /// guests).
    pub guests: InviteCapability,
    /// The role a member invitation gets when none is named (the policy's
    /// `default_role`, else `member`), to preselect in a form.
    pub default_role: String,
    /// See the member list, groups and invitations
    /// ([`Permission::ViewMembers`]).
    pub view_members: bool,
    /// Edit, deactivate, reactivate and remove members, and resend, revoke
    /// and edit anyone's invitations ([`Permission::ManageMembers`]).
    pub manage_members: bool,
    /// Create, edit and delete groups ([`Permission::ManageGroups`]).
    pub manage_groups: bool,
    /// Define and delete custom roles ([`Permission::ManageRoles`]).
    pub manage_roles: bool,
    /// Change the organization's name and policy
    /// ([`Permission::ManagePolicy`]).
    pub manage_policy: bool,
    /// Show, activate and deactivate the invitation link
    /// ([`Permission::ManageInviteLink`]); activating also needs the policy's
    /// [`invite_link_enabled`](Self::invite_link_enabled).
    pub manage_invite_link: bool,
    /// The policy allows the invitation link.
    pub invite_link_enabled: bool,
    /// Read the audit trail ([`Permission::ViewAudit`]).
    pub view_audit: bool,
    /// The host keeps access codes sealed, so they can be shown again
    /// ([`Enlist::reveal_access_code`]); `false`: a code is shown once,
    /// when it is issued.
    pub access_codes_kept: bool,
    /// The actor may see any open identifier invitation's access code
    /// again ("See access code"): codes are kept and the actor has
    /// [`Permission::ManageMembers`]. An inviter without it may still see
    /// the codes of the invitations they made and could make again.
    pub reveal_access_codes: bool,
    /// The host-defined permissions the actor holds, sorted
    /// ([`Enlist::has_permission`]; an owner holds every one of the
    /// organization).
    #[serde(default)]
    pub custom_permissions: Vec<String>,
}

/// What an actor may grant when inviting people of one kind.
///
/// An invitation of this kind with a role in [`roles`](Self::roles) is
/// allowed with no group when [`without_groups`](Self::without_groups), and
/// with any one group grant listed: a group role of
/// [`any_group_roles`](Self::any_group_roles) in any group of the
/// organization, or one listed for its group in [`groups`](Self::groups).
/// Several grants are allowed together when each is in `any_group_roles`,
/// or when the actor owns every group named (with the policy's
/// `group_owners_can_invite`), or when each is the member role in a group
/// the actor belongs to (with `members_can_invite`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct InviteCapability {
    /// Some invitation of this kind is allowed.
    pub allowed: bool,
    /// The organization roles the actor may give, in the organization's
    /// order (built-in first).
    pub roles: Vec<String>,
    /// An invitation naming no group is allowed.
    pub without_groups: bool,
    /// The group roles the actor may give in every group.
    pub any_group_roles: Vec<GroupRole>,
    /// Further groups (the actor's own) with the group roles the actor may
    /// give there beyond `any_group_roles`.
    pub groups: Vec<GroupCapability>,
}

impl InviteCapability {
    /// Whether one group grant alone is allowed.
    pub fn may_grant(&self, grant: &GroupGrant) -> bool {
        self.any_group_roles.contains(&grant.role)
            || self
                .groups
                .iter()
                .any(|g| g.group_id == grant.group_id && g.roles.contains(&grant.role))
    }
}

/// The group roles an actor may give in one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(frozen, eq, get_all, module = "enlist._enlist")
)]
pub struct GroupCapability {
    /// The group.
    pub group_id: GroupId,
    /// The group roles.
    pub roles: Vec<GroupRole>,
}

/// Changes to a staged invitation ([`Enlist::update_staged_invitation`]);
/// `None` leaves a field as it is. A blank first or last name clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StagedInvitationUpdate {
    /// The organization role.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// The groups, with group roles (replacing the current ones).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub groups: Option<Vec<GroupGrant>>,
    /// The first name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub first_name: Option<String>,
    /// The last name.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub last_name: Option<String>,
    /// The license type (seat limits are checked again).
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub license_type: Option<String>,
    /// Seed 004's "Active" checkbox: `Some(true)` activates an invitation
    /// saved with it unchecked (it can then be sent), `Some(false)`
    /// deactivates a staged one.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub active: Option<bool>,
    /// The invitation's own lifetime in seconds (within the policy's
    /// bounds; its expiry is set when it is sent).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub lifetime_secs: Option<u64>,
    /// The language of its email (a BCP 47 tag).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub locale: Option<String>,
}

impl StagedInvitationUpdate {
    /// No change.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the role.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.role = Some(role.into());
        self
    }

    /// Sets the groups.
    pub fn groups(mut self, groups: Vec<GroupGrant>) -> Self {
        self.groups = Some(groups);
        self
    }

    /// Sets the first and last names.
    pub fn names(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = Some(first.into());
        self.last_name = Some(last.into());
        self
    }

    /// Sets the license type.
    pub fn license_type(mut self, lt: impl Into<String>) -> Self {
        self.license_type = Some(lt.into());
        self
    }

    /// Checks or unchecks "Active".
    pub fn active(mut self, active: bool) -> Self {
        self.active = Some(active);
        self
    }

    /// Sets the invitation's own lifetime, in seconds.
    pub fn lifetime_secs(mut self, secs: u64) -> Self {
        self.lifetime_secs = Some(secs);
        self
    }

    /// Sets the language of its email.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }
}

/// A group id no group has and no member belongs to: asking the invite
/// predicate about it tells what the actor may grant in any group by
/// permission alone (not by owning or belonging to it).
fn any_group() -> GroupId {
    GroupId::from("\u{0}any group")
}

const GROUP_ROLES: [GroupRole; 2] = [GroupRole::Member, GroupRole::Owner];

/// What `auth` may grant inviting people of `kind`, by asking
/// [`authorize_invite`] about each role with each kind of group choice.
fn invite_capability(o: &Organization, auth: &Auth, kind: MemberKind) -> InviteCapability {
    if may_invite_at_all(o, auth).is_err()
        || (kind == MemberKind::Guest && !o.policy.guests_enabled)
    {
        return InviteCapability::default();
    }
    let allows =
        |role: &str, grants: &[GroupGrant]| authorize_invite(o, auth, role, kind, grants).is_ok();
    let roles = o.roles();
    // The group choices to try: none, one grant in a group the actor is not
    // in, one grant in each of the actor's groups.
    let mut probes: Vec<Vec<GroupGrant>> = vec![Vec::new()];
    for role in GROUP_ROLES {
        probes.push(vec![GroupGrant {
            group_id: any_group(),
            role,
        }]);
    }
    let own: Vec<GroupId> = auth
        .member
        .as_ref()
        .map(|m| m.groups.iter().map(|g| g.group_id.clone()).collect())
        .unwrap_or_default();
    for g in &own {
        for role in GROUP_ROLES {
            probes.push(vec![GroupGrant {
                group_id: g.clone(),
                role,
            }]);
        }
    }
    let mut cap = InviteCapability::default();
    for r in &roles {
        if probes.iter().any(|p| allows(&r.name, p)) {
            cap.roles.push(r.name.clone());
        }
    }
    // Whether a group choice is allowed does not depend on the role (the
    // role is checked on its own), so one grantable role answers for all.
    let Some(witness) = cap.roles.first().cloned() else {
        return cap;
    };
    cap.allowed = true;
    cap.without_groups = allows(&witness, &[]);
    for role in GROUP_ROLES {
        if allows(
            &witness,
            &[GroupGrant {
                group_id: any_group(),
                role,
            }],
        ) {
            cap.any_group_roles.push(role);
        }
    }
    for g in own {
        let extra: Vec<GroupRole> = GROUP_ROLES
            .into_iter()
            .filter(|role| {
                !cap.any_group_roles.contains(role)
                    && allows(
                        &witness,
                        &[GroupGrant {
                            group_id: g.clone(),
                            role: *role,
                        }],
                    )
            })
            .collect();
        if !extra.is_empty() {
            cap.groups.push(GroupCapability {
                group_id: g,
                roles: extra,
            });
        }
    }
    cap
}

/// Refuses, before any invitation is looked up, an actor who can manage
/// no invitation at all: without [`Permission::ManageMembers`] one must be
/// an inviter able to invite today, so someone who may not invite learns
/// nothing about which invitation ids exist.
fn refuse_who_never_manages(o: &Organization, auth: &Auth) -> Result<()> {
    if auth.has(Permission::ManageMembers) {
        return Ok(());
    }
    may_invite_at_all(o, auth).map_err(|_| {
        auth.deny(
            Permission::ManageMembers,
            "managing invitations needs manage_members, or to be their inviter",
        )
    })
}

impl Enlist {
    /// What `actor` may do in the organization (see [`Capabilities`]): one
    /// call for a UI to decide which buttons, roles and groups to show,
    /// answered by the checks the commands make. An actor who is not an
    /// active member of the organization is refused (`NotAMember`), as by
    /// every command.
    pub fn capabilities(&self, org: &OrgId, actor: &Actor) -> Result<Capabilities> {
        let has_key = self.sealer.has_key();
        self.run_read("capabilities", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            let manage_members = auth.has(Permission::ManageMembers);
            Ok(Capabilities {
                can_invite: may_invite_at_all(&o, &auth).is_ok(),
                members: invite_capability(&o, &auth, MemberKind::Member),
                guests: invite_capability(&o, &auth, MemberKind::Guest),
                default_role: o.policy.role_for(MemberKind::Member).to_owned(),
                view_members: auth.has(Permission::ViewMembers),
                manage_members,
                manage_groups: auth.has(Permission::ManageGroups),
                manage_roles: auth.has(Permission::ManageRoles),
                manage_policy: auth.has(Permission::ManagePolicy),
                manage_invite_link: auth.has(Permission::ManageInviteLink),
                invite_link_enabled: o.policy.invite_link_enabled,
                view_audit: auth.has(Permission::ViewAudit),
                access_codes_kept: has_key,
                reveal_access_codes: has_key && manage_members,
                custom_permissions: auth.custom.iter().cloned().collect(),
            })
        })
    }

    /// Edits a staged invitation before it is sent (seed 004: "You are
    /// able to update all user details except for their email address"):
    /// its role, groups, first and last names, license type, and "Active".
    ///
    /// The actor must be allowed to manage the invitation as it is (as for
    /// [`Enlist::send_staged`]: [`Permission::ManageMembers`] or its
    /// inviter, able to issue it today) and to give what it becomes (the
    /// new role and groups, by the rules of [`Enlist::invite`]). A new
    /// license type must have a seat left. Only a staged invitation can be
    /// edited: any other is refused (`conflict`) and nothing changes. One
    /// `InvitationUpdated` event names the fields that changed, and an
    /// `InvitationActiveChanged` event records a change of "Active"; a
    /// change to nothing writes nothing.
    pub fn update_staged_invitation(
        &self,
        org: &OrgId,
        actor: &Actor,
        invitation: &InvitationId,
        changes: StagedInvitationUpdate,
    ) -> Result<Invitation> {
        check_grants_and_role(changes.role.as_deref(), changes.groups.as_deref())?;
        let first = changes
            .first_name
            .as_deref()
            .map(|v| clean_line("first_name", Some(v), MAX_NAME_CHARS))
            .transpose()?;
        let last = changes
            .last_name
            .as_deref()
            .map(|v| clean_line("last_name", Some(v), MAX_NAME_CHARS))
            .transpose()?;
        let license = changes
            .license_type
            .as_deref()
            .map(|v| clean_label("license_type", v))
            .transpose()?;
        let locale = changes
            .locale
            .as_deref()
            .map(crate::template::normalize_locale)
            .transpose()?;
        let lifetime = super::settings::bound_lifetime("lifetime_secs", changes.lifetime_secs)?;
        self.run("update_staged_invitation", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            refuse_who_never_manages(&o, &auth)?;
            let mut inv = cx.invitation(org, invitation)?;
            cx.may_manage_invitation(&o, &auth, &inv)?;
            if inv.status != InvitationStatus::Staged {
                return Err(Error::conflict(format!(
                    "invitation {} is {}: only a staged invitation can be edited",
                    inv.id,
                    inv.status_at(cx.now).as_str()
                )));
            }
            let mut fields: Vec<String> = Vec::new();
            let role = changes
                .role
                .as_deref()
                .map_or_else(|| inv.role.clone(), crate::Text::from);
            let groups = match &changes.groups {
                Some(g) => cx.invite_grants_cached(org, g, &mut HashSet::new())?,
                None => inv.groups.clone(),
            };
            authorize_invite(&o, &auth, &role, inv.kind, &groups)?;
            if role != inv.role {
                inv.role = role;
                fields.push("role".into());
            }
            if groups != inv.groups {
                inv.groups = groups;
                fields.push("groups".into());
            }
            if let Some(first) = &first {
                if *first != inv.first_name {
                    inv.first_name = first.clone();
                    fields.push("first_name".into());
                }
            }
            if let Some(last) = &last {
                if *last != inv.last_name {
                    inv.last_name = last.clone();
                    fields.push("last_name".into());
                }
            }
            if let Some(lt) = &license {
                if *lt != inv.license_type {
                    cx.check_seat(&o, lt, 1)?;
                    inv.license_type = lt.into();
                    fields.push("license_type".into());
                }
            }
            if let Some(secs) = lifetime {
                o.policy.lifetime_for(Some(secs)).map_err(|bounds| {
                    super::settings::lifetime_out_of_bounds("lifetime_secs", secs, bounds)
                })?;
                if Some(secs) != inv.lifetime_secs {
                    inv.lifetime_secs = Some(secs);
                    fields.push("lifetime_secs".into());
                }
            }
            if let Some(l) = &locale {
                if Some(l) != inv.locale.as_ref() {
                    inv.locale = Some(l.clone());
                    fields.push("locale".into());
                }
            }
            let active = changes.active.filter(|a| *a != inv.active);
            if let Some(a) = active {
                inv.active = a;
            }
            if fields.is_empty() && active.is_none() {
                return Ok(inv.at(cx.now));
            }
            cx.tx.put_invitation(&inv)?;
            if !fields.is_empty() {
                cx.event(
                    org,
                    actor,
                    EventKind::InvitationUpdated {
                        invitation: inv.id.clone(),
                        fields,
                    },
                )?;
            }
            if let Some(active) = active {
                cx.event(
                    org,
                    actor,
                    EventKind::InvitationActiveChanged {
                        invitation: inv.id.clone(),
                        active,
                    },
                )?;
            }
            Ok(inv.at(cx.now))
        })
    }

    /// Shows an identifier invitation's access code again ("See access
    /// code" on the "Invitations without email" tab, seed 002).
    ///
    /// Who may: whoever may manage the invitation (as for
    /// [`Enlist::resend`], which also hands out its code:
    /// [`Permission::ManageMembers`], or its inviter, able to issue it
    /// today); anyone else is refused (`PermissionDenied`) before anything
    /// about the invitation is told. Only a pending identifier invitation
    /// has a code to show: an email invitation is `invalid_input`, any
    /// other status `invitation_not_open`. The code opens only when the host
    /// configured a sealing key ([`Enlist::with_sealing_keys`]) before it was
    /// issued; otherwise the shown-once rule stands and the error says so
    /// (`access_code_not_kept`, with `key_configured`). Each display is
    /// recorded (`AccessCodeRevealed`, without the code).
    pub fn reveal_access_code(
        &self,
        org: &OrgId,
        actor: &Actor,
        invitation: &InvitationId,
    ) -> Result<Secret> {
        self.run("reveal_access_code", |cx| {
            let (o, auth) = cx.enter(org, actor)?;
            refuse_who_never_manages(&o, &auth)?;
            let inv = cx.invitation(org, invitation)?;
            cx.may_manage_invitation(&o, &auth, &inv)?;
            if !inv.is_by_identifier() {
                return Err(Error::invalid(
                    "invitation",
                    "an email invitation has no access code: its link was emailed",
                ));
            }
            let status = inv.status_at(cx.now);
            if status != InvitationStatus::Pending {
                return Err(Error::InvitationNotOpen {
                    invitation: inv.id.clone(),
                    status,
                });
            }
            let code = cx.sealer.open(&inv).map_err(|e| Error::AccessCodeNotKept {
                invitation: inv.id.clone(),
                key_configured: e != OpenError::NoKey,
            })?;
            cx.event(
                org,
                actor,
                EventKind::AccessCodeRevealed {
                    invitation: inv.id.clone(),
                },
            )?;
            Ok(code)
        })
    }
}

#[cfg(test)]
mod tests;

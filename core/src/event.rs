//! The audit trail: one event per state change, appended in the same
//! transaction as the change.

use crate::domain::{DomainEnrollment, DomainVerificationMethod};
use crate::group::GroupGrant;
use crate::id::{
    BatchId, GroupId, InvitationId, LinkId, MemberId, MembershipRequestId, MessageId, OrgId,
};
use crate::member::{MemberKind, MemberStatus};
use crate::role::{GroupRole, PermissionSet};
use crate::text::Text;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who performs a command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum Actor {
    /// The host application itself (an HR sync, a background job, a
    /// super-admin console): allowed everything.
    System,
    /// A member of the organization, authorized by role and group roles.
    Member(#[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))] MemberId),
    /// A person acting on their own invitation (accept, decline) or joining
    /// by link: the host's account id.
    Account(#[cfg_attr(feature = "uniffi", uniffi(name = "user_ref"))] String),
    /// Someone holding an invitation's secret without an account (declining).
    Anonymous,
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::Member(id) => write!(f, "{id}"),
            Actor::Account(r) => write!(f, "account {r}"),
            Actor::Anonymous => f.write_str("anonymous"),
        }
    }
}

/// How a member came to join.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[non_exhaustive]
pub enum JoinedVia {
    /// Founded the organization.
    Founding,
    /// Accepted an invitation.
    Invitation(#[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))] InvitationId),
    /// Used the invitation link.
    InviteLink,
    /// Registered by themselves.
    SelfRegistration,
    /// Joined at once through the organization's verified domain.
    VerifiedDomain,
    /// Joined when an administrator approved their membership request.
    MembershipRequest(
        #[cfg_attr(feature = "uniffi", uniffi(name = "request_id"))] MembershipRequestId,
    ),
    /// Used a named invitation link (ADR 0013); the default link is
    /// [`JoinedVia::InviteLink`].
    NamedLink(#[cfg_attr(feature = "uniffi", uniffi(name = "link_id"))] LinkId),
}

/// What happened. Every variant carries the facts needed to read the trail
/// without looking anything else up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
#[non_exhaustive]
#[allow(missing_docs)] // fields are named for what they hold
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EventKind {
    /// The organization was created with its first owner.
    OrganizationCreated {
        name: String,
        #[cfg_attr(feature = "uniffi", uniffi(name = "owner_id"))]
        owner: MemberId,
    },
    /// The organization's name changed.
    OrganizationRenamed { from: String, to: String },
    /// The policy changed (the new policy is readable from the organization).
    PolicyChanged { fields: Vec<String> },
    /// A custom role was defined or redefined.
    RoleDefined {
        name: String,
        permissions: PermissionSet,
    },
    /// A custom role was deleted.
    RoleDeleted { name: String },
    /// A group was created.
    GroupCreated {
        #[cfg_attr(feature = "uniffi", uniffi(name = "group_id"))]
        group: GroupId,
        name: String,
        is_default: bool,
    },
    /// A group's name, description or default flag changed.
    GroupUpdated {
        #[cfg_attr(feature = "uniffi", uniffi(name = "group_id"))]
        group: GroupId,
        name: String,
        description: String,
        is_default: bool,
    },
    /// A group was deleted (its members stay in the organization).
    GroupDeleted {
        #[cfg_attr(feature = "uniffi", uniffi(name = "group_id"))]
        group: GroupId,
        name: String,
        members_detached: u64,
    },
    /// A member was added to a group.
    GroupMemberAdded {
        #[cfg_attr(feature = "uniffi", uniffi(name = "group_id"))]
        group: GroupId,
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
        role: GroupRole,
    },
    /// A member's group role changed.
    GroupRoleChanged {
        #[cfg_attr(feature = "uniffi", uniffi(name = "group_id"))]
        group: GroupId,
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
        from: GroupRole,
        to: GroupRole,
    },
    /// A member left a group.
    GroupMemberRemoved {
        #[cfg_attr(feature = "uniffi", uniffi(name = "group_id"))]
        group: GroupId,
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
    },
    /// An invitation was saved without being sent.
    InvitationStaged {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        #[cfg_attr(feature = "uniffi", uniffi(name = "batch_id"))]
        batch: BatchId,
        recipient: Text,
        role: Text,
        kind: MemberKind,
        /// `false` when saved with "Active" unchecked (seed 004).
        #[serde(default = "crate::invitation::yes")]
        active: bool,
    },
    /// An invitation was issued and its email queued (or, for identifiers,
    /// its access code made).
    InvitationIssued {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        #[cfg_attr(feature = "uniffi", uniffi(name = "batch_id"))]
        batch: BatchId,
        recipient: Text,
        role: Text,
        kind: MemberKind,
        groups: Vec<GroupGrant>,
        #[serde(serialize_with = "crate::timestamp::ser")]
        expires_at: DateTime<Utc>,
    },
    /// A staged invitation was sent.
    InvitationSent {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        #[serde(serialize_with = "crate::timestamp::ser")]
        expires_at: DateTime<Utc>,
    },
    /// An invitation was sent again with a new secret.
    InvitationResent {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        send_count: u32,
        #[serde(serialize_with = "crate::timestamp::ser")]
        expires_at: DateTime<Utc>,
    },
    /// An invitation was accepted and its member created.
    InvitationAccepted {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
    },
    /// The invitee declined.
    InvitationDeclined {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
    },
    /// An administrator revoked it.
    InvitationRevoked {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
    },
    /// Its expiry was persisted.
    InvitationExpired {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
    },
    /// A wrong access code was typed; at the limit the invitation is revoked.
    AccessCodeRejected {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        attempts: u32,
        locked: bool,
    },
    /// A member joined without an invitation (founding, link, self-registration).
    MemberJoined {
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
        contact: Text,
        role: Text,
        via: JoinedVia,
    },
    /// A member's names, role, groups, kind or license changed.
    MemberUpdated {
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
        fields: Vec<String>,
    },
    /// A member's status changed (deactivated, reactivated).
    MemberStatusChanged {
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
        from: MemberStatus,
        to: MemberStatus,
    },
    /// A member was removed (tombstoned).
    MemberRemoved {
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
        contact: String,
    },
    /// The invitation link was activated with a new secret.
    InviteLinkActivated {
        role: String,
        kind: MemberKind,
        groups: Vec<GroupGrant>,
    },
    /// The invitation link was deactivated.
    InviteLinkDeactivated,
    /// An invitation email was delivered.
    EmailSent {
        #[cfg_attr(feature = "uniffi", uniffi(name = "message_id"))]
        message: MessageId,
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        to: Text,
    },
    /// An invitation email failed; `gave_up` when no retry will follow.
    EmailFailed {
        #[cfg_attr(feature = "uniffi", uniffi(name = "message_id"))]
        message: MessageId,
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        to: Text,
        error: String,
        attempts: u32,
        gave_up: bool,
    },
    /// A staged invitation was edited before sending: `fields` names what
    /// changed (`role`, `groups`, `first_name`, `last_name`,
    /// `license_type`).
    InvitationUpdated {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        fields: Vec<String>,
    },
    /// A staged invitation saved with "Active" unchecked was activated
    /// (`active: true`), or deactivated (`active: false`).
    InvitationActiveChanged {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
        active: bool,
    },
    /// An administrator displayed an identifier invitation's access code
    /// again (the code itself is never in an event).
    AccessCodeRevealed {
        #[cfg_attr(feature = "uniffi", uniffi(name = "invitation_id"))]
        invitation: InvitationId,
    },
    /// The organization's slug changed.
    OrganizationSlugChanged { from: String, to: String },
    /// The organization was deleted with its members and history kept
    /// (a purge leaves no event: nothing of the organization is left).
    /// `invitations_revoked` open invitations died with it.
    OrganizationDeleted {
        slug: String,
        invitations_revoked: u64,
    },
    /// A member left the organization by themselves.
    MemberLeft {
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
        contact: String,
    },
    /// A custom role's host-defined permissions were set.
    RoleCustomPermissionsSet {
        name: String,
        custom_permissions: Vec<String>,
    },
    /// An administrator added an existing account as a member directly,
    /// without an invitation ([`Enlist::add_member`](crate::Enlist::add_member));
    /// the event's actor is the administrator.
    MemberAdded {
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
        user_ref: String,
        contact: Text,
        role: Text,
    },
    /// The organization claimed a domain (pending until verified).
    DomainClaimed { domain: String },
    /// A domain claim was proven.
    DomainVerified {
        domain: String,
        method: DomainVerificationMethod,
    },
    /// A verification code was mailed to an address at the domain (the
    /// code itself is never in an event).
    DomainCodeSent { domain: String, to: String },
    /// A wrong verification code (or a wrong DNS record) was presented.
    DomainVerificationFailed {
        domain: String,
        method: DomainVerificationMethod,
        attempts: u32,
    },
    /// What people of a domain may do changed.
    DomainEnrollmentChanged {
        domain: String,
        enrollment: DomainEnrollment,
        role: String,
    },
    /// The organization gave a domain up.
    DomainRemoved { domain: String },
    /// Someone asked to join through a verified domain.
    MembershipRequested {
        #[cfg_attr(feature = "uniffi", uniffi(name = "request_id"))]
        request: MembershipRequestId,
        domain: String,
        email: String,
    },
    /// An administrator approved a membership request.
    MembershipRequestApproved {
        #[cfg_attr(feature = "uniffi", uniffi(name = "request_id"))]
        request: MembershipRequestId,
        #[cfg_attr(feature = "uniffi", uniffi(name = "member_id"))]
        member: MemberId,
        role: String,
    },
    /// An administrator declined a membership request.
    MembershipRequestDeclined {
        #[cfg_attr(feature = "uniffi", uniffi(name = "request_id"))]
        request: MembershipRequestId,
    },
    /// A named invitation link was created (ADR 0013).
    LinkCreated {
        #[cfg_attr(feature = "uniffi", uniffi(name = "link_id"))]
        link: LinkId,
        name: String,
        role: String,
        kind: MemberKind,
        groups: Vec<GroupGrant>,
    },
    /// A named invitation link was revoked.
    LinkRevoked {
        #[cfg_attr(feature = "uniffi", uniffi(name = "link_id"))]
        link: LinkId,
    },
    /// A named invitation link got a new secret: its old URL is dead.
    LinkRegenerated {
        #[cfg_attr(feature = "uniffi", uniffi(name = "link_id"))]
        link: LinkId,
    },
    /// An administrator displayed a link's URL again (the URL itself is
    /// never in an event).
    LinkUrlShown {
        #[cfg_attr(feature = "uniffi", uniffi(name = "link_id"))]
        link: LinkId,
    },
}

/// One entry of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Event {
    /// The organization.
    pub org_id: OrgId,
    /// Position in the organization's trail, from 1, assigned by the store.
    pub seq: u64,
    /// When it happened.
    #[serde(serialize_with = "crate::timestamp::ser")]
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub kind: EventKind,
}

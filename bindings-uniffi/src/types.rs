//! The records and enums Kotlin and Swift see, and their conversions to and
//! from the core types.
//!
//! Ids cross as plain strings (`org_…`, `mem_…`, ...), timestamps as
//! [`SystemTime`] (`java.time.Instant` in Kotlin, `Date` in Swift), counts as
//! the unsigned integers core uses. Inputs default what core defaults, so a
//! Kotlin caller writes `InviteRequest(recipients = Recipients.Paste(text))`.

use crate::time::time_out;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

// ---------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------

/// A secret handed out once: an accept token, an access code, or a link or
/// email body holding one. It crosses as an object, not a string, so that
/// printing the record holding it (Kotlin `toString`, Swift
/// `description` and `dump`, a reflective JSON logger) shows `Secret(***)`
/// and never its text; call [`Secret::expose`] where the text is needed
/// (the email to send, the page to show once).
#[derive(uniffi::Object)]
#[uniffi::export(Display, Debug)]
pub struct Secret(String);

impl Secret {
    /// Wraps `text`.
    pub(crate) fn wrap(text: impl Into<String>) -> Arc<Secret> {
        Arc::new(Secret(text.into()))
    }
}

#[uniffi::export]
impl Secret {
    /// The secret's text. Do not log it.
    pub fn expose(&self) -> String {
        self.0.clone()
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        // Not a comparison an attacker times: values compared in tests.
        self.0 == other.0
    }
}

impl Eq for Secret {}

/// `usize` to `u32` for positions and counts, saturating (core's limits keep
/// them far below `u32::MAX`).
pub(crate) fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Mirrors an exhaustive, field-less core enum, both ways.
macro_rules! mirror_enum {
    ($ffi:ident, $core:path { $($variant:ident),+ $(,)? }) => {
        impl From<$core> for $ffi {
            fn from(v: $core) -> Self {
                use $core as Core;
                match v {
                    $(Core::$variant => $ffi::$variant,)+
                }
            }
        }

        impl From<$ffi> for $core {
            fn from(v: $ffi) -> Self {
                use $core as Core;
                match v {
                    $($ffi::$variant => Core::$variant,)+
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Enums
// ---------------------------------------------------------------------------

/// Something an actor may be allowed to do in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, uniffi::Enum)]
pub enum Permission {
    /// See the member list and groups.
    ViewMembers,
    /// Invite people as members.
    InviteMembers,
    /// Invite people as guests.
    InviteGuests,
    /// Edit, deactivate, reactivate and remove members; revoke and resend
    /// invitations.
    ManageMembers,
    /// Create, edit and delete groups and manage any group's membership.
    ManageGroups,
    /// Define custom roles.
    ManageRoles,
    /// Change the organization's name and policy.
    ManagePolicy,
    /// Activate, deactivate and configure the invitation link.
    ManageInviteLink,
    /// Read the audit trail.
    ViewAudit,
    /// Deliver the outbox and see delivery reports.
    ManageOutbox,
    /// Everything an owner alone may do.
    OwnOrganization,
}

impl From<Permission> for enlist::Permission {
    fn from(p: Permission) -> Self {
        match p {
            Permission::ViewMembers => enlist::Permission::ViewMembers,
            Permission::InviteMembers => enlist::Permission::InviteMembers,
            Permission::InviteGuests => enlist::Permission::InviteGuests,
            Permission::ManageMembers => enlist::Permission::ManageMembers,
            Permission::ManageGroups => enlist::Permission::ManageGroups,
            Permission::ManageRoles => enlist::Permission::ManageRoles,
            Permission::ManagePolicy => enlist::Permission::ManagePolicy,
            Permission::ManageInviteLink => enlist::Permission::ManageInviteLink,
            Permission::ViewAudit => enlist::Permission::ViewAudit,
            Permission::ManageOutbox => enlist::Permission::ManageOutbox,
            Permission::OwnOrganization => enlist::Permission::OwnOrganization,
        }
    }
}

impl Permission {
    /// The binding's permission for a core one; `None` only for a
    /// permission added to core and not yet to the bindings (a unit test
    /// checks there is none).
    pub(crate) fn from_core(p: enlist::Permission) -> Option<Self> {
        Some(match p {
            enlist::Permission::ViewMembers => Permission::ViewMembers,
            enlist::Permission::InviteMembers => Permission::InviteMembers,
            enlist::Permission::InviteGuests => Permission::InviteGuests,
            enlist::Permission::ManageMembers => Permission::ManageMembers,
            enlist::Permission::ManageGroups => Permission::ManageGroups,
            enlist::Permission::ManageRoles => Permission::ManageRoles,
            enlist::Permission::ManagePolicy => Permission::ManagePolicy,
            enlist::Permission::ManageInviteLink => Permission::ManageInviteLink,
            enlist::Permission::ViewAudit => Permission::ViewAudit,
            enlist::Permission::ManageOutbox => Permission::ManageOutbox,
            enlist::Permission::OwnOrganization => Permission::OwnOrganization,
            _ => return None,
        })
    }
}

fn permissions_out(set: enlist::PermissionSet) -> Vec<Permission> {
    set.into_iter().filter_map(Permission::from_core).collect()
}

/// Whether a person is a full member or a guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum MemberKind {
    /// A full member.
    Member,
    /// A guest: sees only the groups invited to.
    Guest,
}
mirror_enum!(MemberKind, enlist::MemberKind { Member, Guest });

/// Where a member stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum MemberStatus {
    /// Registered and able to use the product.
    Active,
    /// Deactivated; can be reactivated.
    Inactive,
    /// Removed: a tombstone that keeps history readable.
    Removed,
}
mirror_enum!(
    MemberStatus,
    enlist::MemberStatus {
        Active,
        Inactive,
        Removed
    }
);

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum InvitationStatus {
    /// Saved but not sent yet.
    Staged,
    /// Sent and waiting for the invitee.
    Pending,
    /// Accepted: the invitee is a member.
    Accepted,
    /// Declined by the invitee.
    Declined,
    /// Revoked by an administrator (or locked by wrong access codes).
    Revoked,
    /// Past its expiry without an answer.
    Expired,
}
mirror_enum!(
    InvitationStatus,
    enlist::InvitationStatus {
        Staged,
        Pending,
        Accepted,
        Declined,
        Revoked,
        Expired
    }
);

/// A member's role within one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum GroupRole {
    /// Belongs to the group.
    Member,
    /// Manages the group's membership.
    Owner,
}
mirror_enum!(GroupRole, enlist::GroupRole { Member, Owner });

/// How to sort a group list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum GroupSort {
    /// By name, A to Z.
    NameAsc,
    /// By name, Z to A.
    NameDesc,
    /// Fewest members first.
    MemberCountAsc,
    /// Most members first.
    MemberCountDesc,
}
mirror_enum!(
    GroupSort,
    enlist::GroupSort {
        NameAsc,
        NameDesc,
        MemberCountAsc,
        MemberCountDesc
    }
);

/// How to sort a member list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum MemberSort {
    /// By email, A to Z.
    EmailAsc,
    /// By email, Z to A.
    EmailDesc,
}
mirror_enum!(
    MemberSort,
    enlist::MemberSort {
        EmailAsc,
        EmailDesc
    }
);

/// Where a queued invitation email stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum OutboxStatus {
    /// Waiting for (another) delivery attempt.
    Queued,
    /// Delivered; never sent again.
    Sent,
    /// Given up after a permanent failure or too many attempts.
    Failed,
    /// Replaced by a resend, or its invitation was closed: not sent.
    Superseded,
}
mirror_enum!(
    OutboxStatus,
    enlist::OutboxStatus {
        Queued,
        Sent,
        Failed,
        Superseded
    }
);

/// The kind of file being imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ImportFormat {
    /// Comma-, semicolon- or tab-separated values, UTF-8.
    Csv,
    /// An Excel workbook (`.xlsx`).
    Xlsx,
}

impl From<ImportFormat> for enlist::ImportFormat {
    fn from(f: ImportFormat) -> Self {
        match f {
            ImportFormat::Csv => enlist::ImportFormat::Csv,
            ImportFormat::Xlsx => enlist::ImportFormat::Xlsx,
        }
    }
}

/// How a person is reached.
#[derive(Clone, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Contact {
    /// By email.
    Email {
        /// The address as given (trimmed).
        address: String,
    },
    /// By identifier (phone, personnel number, ...), with an access code.
    Identifier {
        /// The identifier as given (trimmed).
        identifier: String,
    },
}

impl From<enlist::Contact> for Contact {
    fn from(c: enlist::Contact) -> Self {
        match c {
            enlist::Contact::Email(address) => Contact::Email { address },
            enlist::Contact::Identifier(identifier) => Contact::Identifier { identifier },
        }
    }
}

/// Who performs a command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Actor {
    /// The host application itself: allowed everything.
    System,
    /// A member of the organization, authorized by role and group roles.
    Member {
        /// The member's id.
        member_id: String,
    },
    /// A person acting on their own invitation, by host account id.
    Account {
        /// The host's account id.
        user_ref: String,
    },
    /// Someone holding an invitation's secret without an account.
    Anonymous,
}

impl From<Actor> for enlist::Actor {
    fn from(a: Actor) -> Self {
        match a {
            Actor::System => enlist::Actor::System,
            Actor::Member { member_id } => enlist::Actor::Member(member_id.into()),
            Actor::Account { user_ref } => enlist::Actor::Account(user_ref),
            Actor::Anonymous => enlist::Actor::Anonymous,
        }
    }
}

impl From<enlist::Actor> for Actor {
    fn from(a: enlist::Actor) -> Self {
        match a {
            enlist::Actor::System => Actor::System,
            enlist::Actor::Member(id) => Actor::Member { member_id: id.0 },
            enlist::Actor::Account(user_ref) => Actor::Account { user_ref },
            enlist::Actor::Anonymous => Actor::Anonymous,
        }
    }
}

/// How a member came to join.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum JoinedVia {
    /// Founded the organization.
    Founding,
    /// Accepted an invitation.
    Invitation {
        /// The invitation.
        invitation_id: String,
    },
    /// Used the invitation link.
    InviteLink,
    /// Registered by themselves.
    SelfRegistration,
}

impl From<enlist::JoinedVia> for JoinedVia {
    fn from(j: enlist::JoinedVia) -> Self {
        match j {
            enlist::JoinedVia::Founding => JoinedVia::Founding,
            enlist::JoinedVia::Invitation(id) => JoinedVia::Invitation {
                invitation_id: id.0,
            },
            enlist::JoinedVia::InviteLink => JoinedVia::InviteLink,
            enlist::JoinedVia::SelfRegistration => JoinedVia::SelfRegistration,
        }
    }
}

// ---------------------------------------------------------------------------
// Organizations, roles, policy
// ---------------------------------------------------------------------------

/// A membership in a group, with its group role.
#[derive(Clone, Debug, PartialEq, Eq, Hash, uniffi::Record)]
pub struct GroupGrant {
    /// The group.
    pub group_id: String,
    /// The role in it.
    pub role: GroupRole,
}

impl From<enlist::GroupGrant> for GroupGrant {
    fn from(g: enlist::GroupGrant) -> Self {
        Self {
            group_id: g.group_id.0,
            role: g.role.into(),
        }
    }
}

impl From<GroupGrant> for enlist::GroupGrant {
    fn from(g: GroupGrant) -> Self {
        enlist::GroupGrant {
            group_id: g.group_id.into(),
            role: g.role.into(),
        }
    }
}

fn grants_out(gs: Vec<enlist::GroupGrant>) -> Vec<GroupGrant> {
    gs.into_iter().map(Into::into).collect()
}

fn grants_in(gs: Vec<GroupGrant>) -> Vec<enlist::GroupGrant> {
    gs.into_iter().map(Into::into).collect()
}

/// A named organization role.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Role {
    /// Its name, unique in the organization.
    pub name: String,
    /// What it allows, in a stable order.
    pub permissions: Vec<Permission>,
    /// Whether it is one of the five built-in roles.
    pub built_in: bool,
}

impl From<enlist::Role> for Role {
    fn from(r: enlist::Role) -> Self {
        Self {
            name: r.name,
            permissions: permissions_out(r.permissions),
            built_in: r.built_in,
        }
    }
}

/// What a person must provide when accepting or registering.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RegistrationRequirements {
    /// A first name is required.
    pub first_name: bool,
    /// A last name is required.
    pub last_name: bool,
    /// A phone number is required.
    pub phone: bool,
}

/// Every limit and switch of an organization. Start from
/// [`default_policy`](crate::default_policy) and change what differs.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Policy {
    /// How long an invitation stays valid, in seconds.
    pub invitation_lifetime_secs: u64,
    /// At most this many recipients per invitation batch.
    pub max_batch: u32,
    /// At most this many characters in a form's recipients field.
    pub max_paste_field_chars: u32,
    /// At most this many rows per import file.
    pub max_import_rows: u32,
    /// At most this many bytes in an import file as uploaded.
    pub max_import_bytes: u64,
    /// At most this many entries in an XLSX file's zip archive.
    pub max_import_entries: u32,
    /// At most this many bytes in an XLSX file once unpacked.
    pub max_import_unpacked_bytes: u64,
    /// At most this many times its packed size an XLSX entry over 1 MiB may
    /// unpack to.
    pub max_import_ratio: u32,
    /// Allowed email domains; empty means any.
    pub allowed_domains: Vec<String>,
    /// Group owners may invite into their own groups.
    pub group_owners_can_invite: bool,
    /// Plain members may invite.
    pub members_can_invite: bool,
    /// Guests may be invited.
    pub guests_enabled: bool,
    /// The shareable invitation link may be used.
    pub invite_link_enabled: bool,
    /// People may register without an invitation.
    pub self_registration: bool,
    /// Registration requires two-factor enrolment.
    pub require_two_factor: bool,
    /// The EULA version a person must accept, if any.
    pub eula_version: Option<String>,
    /// Which registration fields are required.
    pub registration: RegistrationRequirements,
    /// Seat limits per license type; a type not listed is unlimited.
    pub seat_limits: HashMap<String, u32>,
    /// Open invitations hold a seat until they close.
    pub reserve_seats_for_pending: bool,
    /// Minimum time between two sends of one invitation, in seconds.
    pub resend_cooldown_secs: u64,
    /// At most this many sends of one invitation.
    pub resend_cap: u32,
    /// Wrong access codes allowed before an invitation is locked.
    pub access_code_attempts: u32,
    /// The base of accept links; `None` uses the engine's default.
    pub accept_url_base: Option<String>,
}

impl From<enlist::Policy> for Policy {
    fn from(p: enlist::Policy) -> Self {
        Self {
            invitation_lifetime_secs: p.invitation_lifetime_secs,
            max_batch: p.max_batch,
            max_paste_field_chars: p.max_paste_field_chars,
            max_import_rows: p.max_import_rows,
            max_import_bytes: p.max_import_bytes,
            max_import_entries: p.max_import_entries,
            max_import_unpacked_bytes: p.max_import_unpacked_bytes,
            max_import_ratio: p.max_import_ratio,
            allowed_domains: p.allowed_domains,
            group_owners_can_invite: p.group_owners_can_invite,
            members_can_invite: p.members_can_invite,
            guests_enabled: p.guests_enabled,
            invite_link_enabled: p.invite_link_enabled,
            self_registration: p.self_registration,
            require_two_factor: p.require_two_factor,
            eula_version: p.eula_version,
            registration: RegistrationRequirements {
                first_name: p.registration.first_name,
                last_name: p.registration.last_name,
                phone: p.registration.phone,
            },
            seat_limits: p.seat_limits.into_iter().collect(),
            reserve_seats_for_pending: p.reserve_seats_for_pending,
            resend_cooldown_secs: p.resend_cooldown_secs,
            resend_cap: p.resend_cap,
            access_code_attempts: p.access_code_attempts,
            accept_url_base: p.accept_url_base,
        }
    }
}

impl From<Policy> for enlist::Policy {
    fn from(p: Policy) -> Self {
        let mut out = enlist::Policy::default();
        out.invitation_lifetime_secs = p.invitation_lifetime_secs;
        out.max_batch = p.max_batch;
        out.max_paste_field_chars = p.max_paste_field_chars;
        out.max_import_rows = p.max_import_rows;
        out.max_import_bytes = p.max_import_bytes;
        out.max_import_entries = p.max_import_entries;
        out.max_import_unpacked_bytes = p.max_import_unpacked_bytes;
        out.max_import_ratio = p.max_import_ratio;
        out.allowed_domains = p.allowed_domains;
        out.group_owners_can_invite = p.group_owners_can_invite;
        out.members_can_invite = p.members_can_invite;
        out.guests_enabled = p.guests_enabled;
        out.invite_link_enabled = p.invite_link_enabled;
        out.self_registration = p.self_registration;
        out.require_two_factor = p.require_two_factor;
        out.eula_version = p.eula_version;
        out.registration = enlist::RegistrationRequirements {
            first_name: p.registration.first_name,
            last_name: p.registration.last_name,
            phone: p.registration.phone,
        };
        out.seat_limits = p.seat_limits.into_iter().collect();
        out.reserve_seats_for_pending = p.reserve_seats_for_pending;
        out.resend_cooldown_secs = p.resend_cooldown_secs;
        out.resend_cap = p.resend_cap;
        out.access_code_attempts = p.access_code_attempts;
        out.accept_url_base = p.accept_url_base;
        out
    }
}

/// An organization.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Organization {
    /// Its id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Its limits and switches.
    pub policy: Policy,
    /// Custom roles (the built-in ones are not listed here).
    pub custom_roles: Vec<Role>,
    /// When it was created.
    pub created_at: SystemTime,
}

impl From<enlist::Organization> for Organization {
    fn from(o: enlist::Organization) -> Self {
        Self {
            id: o.id.0,
            name: o.name,
            policy: o.policy.into(),
            custom_roles: o.custom_roles.into_iter().map(Into::into).collect(),
            created_at: time_out(o.created_at),
        }
    }
}

/// What is needed to create an organization with its first owner.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct NewOrganization {
    /// The organization's name.
    pub name: String,
    /// The owner's host account id.
    pub owner_user_ref: String,
    /// The owner's email.
    pub owner_email: String,
    /// The owner's first name.
    #[uniffi(default = None)]
    pub owner_first_name: Option<String>,
    /// The owner's last name.
    #[uniffi(default = None)]
    pub owner_last_name: Option<String>,
    /// Its policy; `None` for the defaults.
    #[uniffi(default = None)]
    pub policy: Option<Policy>,
}

impl From<NewOrganization> for enlist::NewOrganization {
    fn from(n: NewOrganization) -> Self {
        let mut out = enlist::NewOrganization::new(n.name, n.owner_user_ref, n.owner_email);
        out.owner_first_name = n.owner_first_name;
        out.owner_last_name = n.owner_last_name;
        if let Some(p) = n.policy {
            out.policy = p.into();
        }
        out
    }
}

/// A new organization and its first owner.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CreatedOrganization {
    /// The organization.
    pub organization: Organization,
    /// Its owner.
    pub owner: Member,
}

// ---------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------

/// A group of members.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Group {
    /// The organization.
    pub org_id: String,
    /// Its id.
    pub id: String,
    /// Its name, unique in the organization.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// New members with no group land here.
    pub is_default: bool,
    /// Members (active or inactive) in the group.
    pub member_count: u64,
    /// When it was created.
    pub created_at: SystemTime,
}

impl From<enlist::Group> for Group {
    fn from(g: enlist::Group) -> Self {
        Self {
            org_id: g.org_id.0,
            id: g.id.0,
            name: g.name,
            description: g.description,
            is_default: g.is_default,
            member_count: g.member_count,
            created_at: time_out(g.created_at),
        }
    }
}

/// A group to create.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct NewGroup {
    /// Its name.
    pub name: String,
    /// What it is for.
    #[uniffi(default = "")]
    pub description: String,
    /// Make it the default group.
    #[uniffi(default = false)]
    pub is_default: bool,
}

impl From<NewGroup> for enlist::NewGroup {
    fn from(n: NewGroup) -> Self {
        enlist::NewGroup {
            name: n.name,
            description: n.description,
            is_default: n.is_default,
        }
    }
}

/// Changes to a group; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct GroupUpdate {
    /// A new name.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// A new description.
    #[uniffi(default = None)]
    pub description: Option<String>,
    /// Make it (or stop it being) the default group.
    #[uniffi(default = None)]
    pub is_default: Option<bool>,
}

impl From<GroupUpdate> for enlist::GroupUpdate {
    fn from(u: GroupUpdate) -> Self {
        enlist::GroupUpdate {
            name: u.name,
            description: u.description,
            is_default: u.is_default,
        }
    }
}

/// A query over groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct GroupQuery {
    /// Only groups whose name contains this (case-insensitive).
    #[uniffi(default = None)]
    pub search: Option<String>,
    /// Sort order; `None` sorts by name, A to Z.
    #[uniffi(default = None)]
    pub sort: Option<GroupSort>,
}

impl From<GroupQuery> for enlist::GroupQuery {
    fn from(q: GroupQuery) -> Self {
        enlist::GroupQuery {
            search: q.search,
            sort: q.sort.map(Into::into).unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------------------
// Members
// ---------------------------------------------------------------------------

/// A person in an organization.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Member {
    /// The organization.
    pub org_id: String,
    /// Its id.
    pub id: String,
    /// The host application's account id.
    pub user_ref: Option<String>,
    /// Email or identifier; never changes.
    pub contact: Contact,
    /// The normalized contact: the uniqueness key.
    pub contact_key: String,
    /// "First Last", or whichever part exists, or the contact.
    pub display_name: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Organization role, by name.
    pub role: String,
    /// Member or guest.
    pub kind: MemberKind,
    /// License type.
    pub license_type: String,
    /// Active, inactive or removed.
    pub status: MemberStatus,
    /// Groups, with group roles.
    pub groups: Vec<GroupGrant>,
    /// When the member joined.
    pub joined_at: SystemTime,
    /// When the member was last active, as recorded by the host.
    pub last_active_at: Option<SystemTime>,
    /// The EULA version accepted at registration.
    pub eula_version: Option<String>,
    /// Whether two-factor was enrolled at registration.
    pub two_factor_enrolled: bool,
    /// When the member was removed.
    pub removed_at: Option<SystemTime>,
}

impl From<enlist::Member> for Member {
    fn from(m: enlist::Member) -> Self {
        Self {
            display_name: m.display_name(),
            org_id: m.org_id.0,
            id: m.id.0,
            user_ref: m.user_ref,
            contact: m.contact.into(),
            contact_key: m.contact_key,
            first_name: m.first_name,
            last_name: m.last_name,
            phone: m.phone,
            role: m.role,
            kind: m.kind.into(),
            license_type: m.license_type,
            status: m.status.into(),
            groups: grants_out(m.groups),
            joined_at: time_out(m.joined_at),
            last_active_at: m.last_active_at.map(time_out),
            eula_version: m.eula_version,
            two_factor_enrolled: m.two_factor_enrolled,
            removed_at: m.removed_at.map(time_out),
        }
    }
}

/// Changes to a member; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct MemberUpdate {
    /// New first name (`""` clears it).
    #[uniffi(default = None)]
    pub first_name: Option<String>,
    /// New last name (`""` clears it).
    #[uniffi(default = None)]
    pub last_name: Option<String>,
    /// New phone (`""` clears it).
    #[uniffi(default = None)]
    pub phone: Option<String>,
    /// New organization role.
    #[uniffi(default = None)]
    pub role: Option<String>,
    /// The new set of groups (replaces the old set).
    #[uniffi(default = None)]
    pub groups: Option<Vec<GroupGrant>>,
    /// New license type.
    #[uniffi(default = None)]
    pub license_type: Option<String>,
}

impl From<MemberUpdate> for enlist::MemberUpdate {
    fn from(u: MemberUpdate) -> Self {
        enlist::MemberUpdate {
            first_name: u.first_name,
            last_name: u.last_name,
            phone: u.phone,
            role: u.role,
            groups: u.groups.map(grants_in),
            license_type: u.license_type,
        }
    }
}

/// A query over members.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MemberQuery {
    /// Only members whose normalized contact contains this.
    #[uniffi(default = None)]
    pub search: Option<String>,
    /// Only members with this role.
    #[uniffi(default = None)]
    pub role: Option<String>,
    /// Only these statuses; empty means active and inactive.
    #[uniffi(default = [])]
    pub statuses: Vec<MemberStatus>,
    /// Only members of this group.
    #[uniffi(default = None)]
    pub group_id: Option<String>,
    /// Sort order; `None` sorts by email, A to Z.
    #[uniffi(default = None)]
    pub sort: Option<MemberSort>,
    /// Continue after this cursor (a previous page's `next_cursor`).
    #[uniffi(default = None)]
    pub after: Option<String>,
    /// Page size, 1 to 1000.
    #[uniffi(default = 50)]
    pub limit: u32,
}

impl From<MemberQuery> for enlist::MemberQuery {
    fn from(q: MemberQuery) -> Self {
        enlist::MemberQuery {
            search: q.search,
            role: q.role,
            statuses: q.statuses.into_iter().map(Into::into).collect(),
            group: q.group_id.map(Into::into),
            sort: q.sort.map(Into::into).unwrap_or_default(),
            after: q.after,
            limit: q.limit,
        }
    }
}

/// One page of members.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct MemberPage {
    /// The members of this page.
    pub items: Vec<Member>,
    /// Pass this as `after` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl From<enlist::Page<enlist::Member>> for MemberPage {
    fn from(p: enlist::Page<enlist::Member>) -> Self {
        Self {
            items: p.items.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// Seats of one license type.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct LicenseUsage {
    /// The license type.
    pub license_type: String,
    /// Active members holding it.
    pub used: u64,
    /// Open invitations for it.
    pub pending: u64,
    /// The policy's limit, if any.
    pub limit: Option<u32>,
}

impl From<enlist::LicenseUsage> for LicenseUsage {
    fn from(u: enlist::LicenseUsage) -> Self {
        Self {
            license_type: u.license_type,
            used: u.used,
            pending: u.pending,
            limit: u.limit,
        }
    }
}

// ---------------------------------------------------------------------------
// Invitations
// ---------------------------------------------------------------------------

/// An invitation to join an organization.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Invitation {
    /// The organization.
    pub org_id: String,
    /// Its id.
    pub id: String,
    /// The batch it was issued in.
    pub batch_id: String,
    /// Who is invited.
    pub recipient: Contact,
    /// The normalized recipient: the uniqueness key.
    pub recipient_key: String,
    /// The name to greet the invitee with.
    pub display_name: Option<String>,
    /// First name given by the inviter.
    pub first_name: Option<String>,
    /// Last name given by the inviter.
    pub last_name: Option<String>,
    /// Member or guest.
    pub kind: MemberKind,
    /// The organization role the invitee will get.
    pub role: String,
    /// The groups the invitee will join.
    pub groups: Vec<GroupGrant>,
    /// The license type the invitee will hold.
    pub license_type: String,
    /// Who invited (a member id; `None` when the system did).
    pub inviter: Option<String>,
    /// The inviter's personal message.
    pub message: Option<String>,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it stops being valid (set when sent).
    pub expires_at: Option<SystemTime>,
    /// Its status (as computed when it was read, expiry included).
    pub status: InvitationStatus,
    /// How many times it was sent.
    pub send_count: u32,
    /// When it was last sent.
    pub last_sent_at: Option<SystemTime>,
    /// Wrong access codes typed since the last send.
    pub failed_attempts: u32,
    /// Until when access codes are refused after too many wrong ones (a
    /// temporary lock; a resend clears it). `None` when not locked.
    pub locked_until: Option<SystemTime>,
    /// When it reached its final status.
    pub closed_at: Option<SystemTime>,
    /// The member it created, once accepted.
    pub member_id: Option<String>,
}

impl From<enlist::Invitation> for Invitation {
    fn from(i: enlist::Invitation) -> Self {
        Self {
            org_id: i.org_id.0,
            id: i.id.0,
            batch_id: i.batch_id.0,
            recipient: i.recipient.into(),
            recipient_key: i.recipient_key,
            display_name: i.display_name,
            first_name: i.first_name,
            last_name: i.last_name,
            kind: i.kind.into(),
            role: i.role,
            groups: grants_out(i.groups),
            license_type: i.license_type,
            inviter: i.inviter.map(|m| m.0),
            message: i.message,
            created_at: time_out(i.created_at),
            expires_at: i.expires_at.map(time_out),
            status: i.status.into(),
            send_count: i.send_count,
            last_sent_at: i.last_sent_at.map(time_out),
            failed_attempts: i.failed_attempts,
            locked_until: i.locked_until.map(time_out),
            closed_at: i.closed_at.map(time_out),
            member_id: i.member_id.map(|m| m.0),
        }
    }
}

/// A query over invitations.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InvitationQuery {
    /// Only these statuses (as computed now); empty means all.
    #[uniffi(default = [])]
    pub statuses: Vec<InvitationStatus>,
    /// Only recipients whose normalized key contains this.
    #[uniffi(default = None)]
    pub search: Option<String>,
    /// Only invitations of this batch.
    #[uniffi(default = None)]
    pub batch_id: Option<String>,
    /// Continue after this cursor.
    #[uniffi(default = None)]
    pub after: Option<String>,
    /// Page size, 1 to 1000.
    #[uniffi(default = 50)]
    pub limit: u32,
}

impl From<InvitationQuery> for enlist::InvitationQuery {
    fn from(q: InvitationQuery) -> Self {
        enlist::InvitationQuery {
            statuses: q.statuses.into_iter().map(Into::into).collect(),
            search: q.search,
            batch: q.batch_id.map(Into::into),
            after: q.after,
            limit: q.limit,
        }
    }
}

/// One page of invitations.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InvitationPage {
    /// The invitations of this page.
    pub items: Vec<Invitation>,
    /// Pass this as `after` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl From<enlist::Page<enlist::Invitation>> for InvitationPage {
    fn from(p: enlist::Page<enlist::Invitation>) -> Self {
        Self {
            items: p.items.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// Who to invite.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Recipients {
    /// Text pasted through the library API: any length up to the batch
    /// limit.
    Paste {
        /// The text: addresses separated by commas, semicolons, spaces or
        /// line breaks, with or without names.
        text: String,
    },
    /// The content of a form's recipients field: also held to the policy's
    /// `max_paste_field_chars`.
    FormField {
        /// The field's text.
        text: String,
    },
    /// Structured rows (from an HR system, a form with one row per
    /// person), each possibly with its own role, groups and kind. (Core's
    /// `Recipients::List`: `List` would shadow Kotlin's own.)
    Rows {
        /// The rows.
        rows: Vec<RecipientInput>,
    },
}

impl From<Recipients> for enlist::Recipients {
    fn from(r: Recipients) -> Self {
        match r {
            Recipients::Paste { text } => enlist::Recipients::Paste(text),
            Recipients::FormField { text } => enlist::Recipients::FormField(text),
            Recipients::Rows { rows } => {
                enlist::Recipients::List(rows.into_iter().map(Into::into).collect())
            }
        }
    }
}

/// One structured recipient; `None` fields take the batch's values.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct RecipientInput {
    /// An email address, bare or as `Name <address>`.
    #[uniffi(default = None)]
    pub email: Option<String>,
    /// An identifier for people without email (they get an access code).
    #[uniffi(default = None)]
    pub identifier: Option<String>,
    /// The name to greet them with.
    #[uniffi(default = None)]
    pub display_name: Option<String>,
    /// First name.
    #[uniffi(default = None)]
    pub first_name: Option<String>,
    /// Last name.
    #[uniffi(default = None)]
    pub last_name: Option<String>,
    /// Their own role.
    #[uniffi(default = None)]
    pub role: Option<String>,
    /// Their own kind.
    #[uniffi(default = None)]
    pub kind: Option<MemberKind>,
    /// Their own groups.
    #[uniffi(default = None)]
    pub groups: Option<Vec<GroupGrant>>,
    /// Their own license type.
    #[uniffi(default = None)]
    pub license_type: Option<String>,
}

impl From<RecipientInput> for enlist::RecipientInput {
    fn from(r: RecipientInput) -> Self {
        enlist::RecipientInput {
            email: r.email,
            identifier: r.identifier,
            display_name: r.display_name,
            first_name: r.first_name,
            last_name: r.last_name,
            role: r.role,
            kind: r.kind.map(Into::into),
            groups: r.groups.map(grants_in),
            license_type: r.license_type,
        }
    }
}

/// An invitation batch: recipients and what they all get.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InviteRequest {
    /// Who.
    pub recipients: Recipients,
    /// The organization role (default `member`, or `guest` for guests).
    #[uniffi(default = None)]
    pub role: Option<String>,
    /// Member or guest; `None` for members.
    #[uniffi(default = None)]
    pub kind: Option<MemberKind>,
    /// Groups with group roles; empty: the default group on acceptance.
    #[uniffi(default = [])]
    pub groups: Vec<GroupGrant>,
    /// License type (default `standard`).
    #[uniffi(default = None)]
    pub license_type: Option<String>,
    /// A personal message for the email.
    #[uniffi(default = None)]
    pub message: Option<String>,
    /// `true`: send now. `false`: save as staged, to send later.
    #[uniffi(default = true)]
    pub send: bool,
}

impl From<InviteRequest> for enlist::InviteRequest {
    fn from(r: InviteRequest) -> Self {
        let mut out = enlist::InviteRequest::new(r.recipients.into())
            .kind(r.kind.map(Into::into).unwrap_or_default())
            .groups(grants_in(r.groups));
        out.role = r.role;
        out.license_type = r.license_type;
        out.message = r.message;
        out.send = r.send;
        out
    }
}

/// An invitation issued in a batch (or resent).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct IssuedInvitation {
    /// The recipient's position in the input (0-based).
    pub index: u32,
    /// The invitation.
    pub invitation: Invitation,
    /// The secret, returned this once: the accept token for email
    /// invitations, the access code for identifier invitations; `None` for
    /// staged ones. Never store or log it: `secret?.expose()` reads it.
    pub secret: Option<Arc<Secret>>,
    /// The queued email's id, for email invitations that were sent.
    pub message_id: Option<String>,
    /// The paste parser's warnings about the address (`confusable`, ...),
    /// to show before anyone clicks a link.
    pub warnings: Vec<AddressWarning>,
}

impl From<enlist::IssuedInvitation> for IssuedInvitation {
    fn from(i: enlist::IssuedInvitation) -> Self {
        Self {
            index: u32_of(i.index),
            invitation: i.invitation.into(),
            secret: i.secret.map(|s| Secret::wrap(s.expose())),
            message_id: i.message_id.map(|m| m.0),
            warnings: i.warnings.iter().map(AddressWarning::from).collect(),
        }
    }
}

/// Why one recipient got no invitation.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum RejectReason {
    /// Neither an email nor an identifier.
    MissingContact,
    /// Not a valid address.
    InvalidAddress {
        /// The address error's stable code (`missing_at`, ...).
        code: String,
        /// Where the problem is (0-based character index), if known.
        position: Option<u32>,
    },
    /// Not a usable identifier.
    InvalidIdentifier {
        /// Why.
        reason: String,
    },
    /// A name or field of the row is unusable.
    InvalidField {
        /// What is wrong.
        reason: String,
    },
    /// The same person appears earlier in the batch.
    DuplicateInBatch {
        /// The index of the first appearance.
        first_index: u32,
    },
    /// Already a member.
    AlreadyMember {
        /// The member.
        member_id: String,
    },
    /// Already has an open invitation.
    AlreadyInvited {
        /// The invitation.
        invitation_id: String,
    },
    /// The domain is not in the organization's allowed domains.
    DomainNotAllowed {
        /// The domain.
        domain: String,
    },
    /// No seat of the license type is left.
    NoSeatLeft {
        /// The license type.
        license_type: String,
        /// Its limit.
        limit: u32,
    },
    /// Guests are disabled by the policy.
    GuestsDisabled,
    /// A group named in an import file does not exist.
    UnknownGroup {
        /// The name as written.
        name: String,
    },
    /// A reason this version of the bindings does not know: see the
    /// rejection's `code` and `message`.
    Other,
}

impl From<&enlist::RejectReason> for RejectReason {
    fn from(r: &enlist::RejectReason) -> Self {
        use enlist::RejectReason as R;
        match r {
            R::MissingContact => RejectReason::MissingContact,
            R::InvalidAddress { error } => RejectReason::InvalidAddress {
                code: error.code().to_owned(),
                position: error.position().map(u32_of),
            },
            R::InvalidIdentifier { reason } => RejectReason::InvalidIdentifier {
                reason: reason.clone(),
            },
            R::InvalidField { reason } => RejectReason::InvalidField {
                reason: reason.clone(),
            },
            R::DuplicateInBatch { first_index } => RejectReason::DuplicateInBatch {
                first_index: u32_of(*first_index),
            },
            R::AlreadyMember { member } => RejectReason::AlreadyMember {
                member_id: member.0.clone(),
            },
            R::AlreadyInvited { invitation } => RejectReason::AlreadyInvited {
                invitation_id: invitation.0.clone(),
            },
            R::DomainNotAllowed { domain } => RejectReason::DomainNotAllowed {
                domain: domain.clone(),
            },
            R::NoSeatLeft {
                license_type,
                limit,
            } => RejectReason::NoSeatLeft {
                license_type: license_type.clone(),
                limit: *limit,
            },
            R::GuestsDisabled => RejectReason::GuestsDisabled,
            R::UnknownGroup { name } => RejectReason::UnknownGroup { name: name.clone() },
            _ => RejectReason::Other,
        }
    }
}

/// A recipient that got no invitation.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RejectedRecipient {
    /// The recipient's position in the input (0-based).
    pub index: u32,
    /// The recipient as given.
    pub input: String,
    /// The reason's stable code (`invalid_address`, `already_member`, ...).
    pub code: String,
    /// The reason, for people.
    pub message: String,
    /// The reason, with its facts.
    pub reason: RejectReason,
}

impl From<enlist::RejectedRecipient> for RejectedRecipient {
    fn from(r: enlist::RejectedRecipient) -> Self {
        Self {
            index: u32_of(r.index),
            code: r.reason.code().to_owned(),
            message: r.reason.to_string(),
            reason: (&r.reason).into(),
            input: r.input,
        }
    }
}

/// The outcome of a batch.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InviteReport {
    /// The batch.
    pub batch_id: String,
    /// Invitations issued, in input order.
    pub issued: Vec<IssuedInvitation>,
    /// Recipients rejected, in input order.
    pub rejected: Vec<RejectedRecipient>,
    /// The report as CSV (`index,recipient,status,invitation_id,reason_code,reason,warnings`)
    /// for a "Download report" button. Holds no secrets.
    pub csv: String,
}

impl From<enlist::InviteReport> for InviteReport {
    fn from(r: enlist::InviteReport) -> Self {
        let csv = r.to_csv();
        Self {
            batch_id: r.batch_id.0,
            issued: r.issued.into_iter().map(Into::into).collect(),
            rejected: r.rejected.into_iter().map(Into::into).collect(),
            csv,
        }
    }
}

/// What happened to one invitation of a `send_staged` call.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
#[allow(clippy::large_enum_variant)] // a uniffi enum cannot box its variant's record
pub enum SendOutcome {
    /// Sent.
    Sent {
        /// The invitation, with its secret.
        issued: IssuedInvitation,
    },
    /// Not sent.
    Failed {
        /// The invitation.
        invitation_id: String,
        /// The error's stable code.
        code: String,
        /// The error's message.
        message: String,
    },
}

impl From<enlist::SendOutcome> for SendOutcome {
    fn from(o: enlist::SendOutcome) -> Self {
        match o {
            enlist::SendOutcome::Sent(issued) => SendOutcome::Sent {
                issued: (*issued).into(),
            },
            enlist::SendOutcome::Failed {
                invitation,
                code,
                message,
            } => SendOutcome::Failed {
                invitation_id: invitation.0,
                code,
                message,
            },
        }
    }
}

/// The outcome of sending staged invitations: one entry per invitation
/// asked for, in order.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SendReport {
    /// The outcomes.
    pub results: Vec<SendOutcome>,
}

/// What the landing page shows before accepting.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InvitationPreview {
    /// The invitation's id.
    pub invitation_id: String,
    /// The organization's id.
    pub org_id: String,
    /// The organization's name.
    pub org_name: String,
    /// Who invited, by display name.
    pub inviter_name: Option<String>,
    /// The invited address or identifier.
    pub recipient: Contact,
    /// Name known for the invitee.
    pub display_name: Option<String>,
    /// First name given by the inviter.
    pub first_name: Option<String>,
    /// Last name given by the inviter.
    pub last_name: Option<String>,
    /// The role offered.
    pub role: String,
    /// Member or guest.
    pub kind: MemberKind,
    /// Names of the groups offered.
    pub group_names: Vec<String>,
    /// The personal message.
    pub message: Option<String>,
    /// When it expires.
    pub expires_at: Option<SystemTime>,
    /// Its status now.
    pub status: InvitationStatus,
    /// What registration will ask for.
    pub requirements: RegistrationNeeds,
}

impl From<enlist::InvitationPreview> for InvitationPreview {
    fn from(p: enlist::InvitationPreview) -> Self {
        Self {
            invitation_id: p.invitation_id.0,
            org_id: p.org_id.0,
            org_name: p.org_name,
            inviter_name: p.inviter_name,
            recipient: p.recipient.into(),
            display_name: p.display_name,
            first_name: p.first_name,
            last_name: p.last_name,
            role: p.role,
            kind: p.kind.into(),
            group_names: p.group_names,
            message: p.message,
            expires_at: p.expires_at.map(time_out),
            status: p.status.into(),
            requirements: p.requirements.into(),
        }
    }
}

/// What registration asks for, from the policy.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RegistrationNeeds {
    /// A first name.
    pub first_name: bool,
    /// A last name.
    pub last_name: bool,
    /// A phone number.
    pub phone: bool,
    /// Two-factor enrolment.
    pub two_factor: bool,
    /// This EULA version must be accepted.
    pub eula_version: Option<String>,
}

impl From<enlist::RegistrationNeeds> for RegistrationNeeds {
    fn from(n: enlist::RegistrationNeeds) -> Self {
        Self {
            first_name: n.first_name,
            last_name: n.last_name,
            phone: n.phone,
            two_factor: n.two_factor,
            eula_version: n.eula_version,
        }
    }
}

/// The details a person gives when accepting or registering.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Registration {
    /// The host application's account id for this person.
    pub user_ref: String,
    /// First name.
    #[uniffi(default = None)]
    pub first_name: Option<String>,
    /// Last name.
    #[uniffi(default = None)]
    pub last_name: Option<String>,
    /// Phone number.
    #[uniffi(default = None)]
    pub phone: Option<String>,
    /// The EULA version the person agreed to.
    #[uniffi(default = None)]
    pub eula_version: Option<String>,
    /// Whether two-factor is set up on the account.
    #[uniffi(default = false)]
    pub two_factor_enrolled: bool,
    /// The account's verified email: it must match the invited address.
    #[uniffi(default = None)]
    pub verified_email: Option<String>,
}

impl From<Registration> for enlist::Registration {
    fn from(r: Registration) -> Self {
        enlist::Registration {
            user_ref: r.user_ref,
            first_name: r.first_name,
            last_name: r.last_name,
            phone: r.phone,
            eula_version: r.eula_version,
            two_factor_enrolled: r.two_factor_enrolled,
            verified_email: r.verified_email,
        }
    }
}

/// The result of accepting an invitation.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Acceptance {
    /// The new, active member.
    pub member: Member,
    /// The invitation, now accepted.
    pub invitation: Invitation,
}

impl From<enlist::Acceptance> for Acceptance {
    fn from(a: enlist::Acceptance) -> Self {
        Self {
            member: a.member.into(),
            invitation: a.invitation.into(),
        }
    }
}

// ---------------------------------------------------------------------------
// Invitation link
// ---------------------------------------------------------------------------

/// The organization's shareable invitation link (its secret is not kept).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InviteLink {
    /// The organization.
    pub org_id: String,
    /// The role people joining by the link get.
    pub role: String,
    /// Member or guest.
    pub kind: MemberKind,
    /// The groups they join.
    pub groups: Vec<GroupGrant>,
    /// The license type they hold.
    pub license_type: String,
    /// Whether the link works.
    pub active: bool,
    /// Who activated it last.
    pub created_by: Option<String>,
    /// When it was (re)activated.
    pub created_at: SystemTime,
    /// How many people joined through it.
    pub uses: u64,
}

impl From<enlist::InviteLink> for InviteLink {
    fn from(l: enlist::InviteLink) -> Self {
        Self {
            org_id: l.org_id.0,
            role: l.role,
            kind: l.kind.into(),
            groups: grants_out(l.groups),
            license_type: l.license_type,
            active: l.active,
            created_by: l.created_by.map(|m| m.0),
            created_at: time_out(l.created_at),
            uses: l.uses,
        }
    }
}

/// A freshly activated link and its URL (shown this once).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ActivatedLink {
    /// The link.
    pub link: InviteLink,
    /// The URL to share: it holds the link's secret (`url.expose()`).
    pub url: Arc<Secret>,
}

/// What people joining by the link get.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct LinkSpec {
    /// The role (default `member`, or `guest` for guests).
    #[uniffi(default = None)]
    pub role: Option<String>,
    /// Member or guest; `None` for members.
    #[uniffi(default = None)]
    pub kind: Option<MemberKind>,
    /// The groups they join.
    #[uniffi(default = [])]
    pub groups: Vec<GroupGrant>,
    /// The license type (default `standard`).
    #[uniffi(default = None)]
    pub license_type: Option<String>,
}

impl From<LinkSpec> for enlist::LinkSpec {
    fn from(s: LinkSpec) -> Self {
        enlist::LinkSpec {
            role: s.role,
            kind: s.kind.map(Into::into).unwrap_or_default(),
            groups: grants_in(s.groups),
            license_type: s.license_type,
        }
    }
}

/// What the link's landing page shows.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct LinkPreview {
    /// The organization's id.
    pub org_id: String,
    /// The organization's name.
    pub org_name: String,
    /// The role offered.
    pub role: String,
    /// Member or guest.
    pub kind: MemberKind,
    /// Names of the groups offered.
    pub group_names: Vec<String>,
    /// What registration will ask for.
    pub requirements: RegistrationNeeds,
}

impl From<enlist::LinkPreview> for LinkPreview {
    fn from(p: enlist::LinkPreview) -> Self {
        Self {
            org_id: p.org_id.0,
            org_name: p.org_name,
            role: p.role,
            kind: p.kind.into(),
            group_names: p.group_names,
            requirements: p.requirements.into(),
        }
    }
}

// ---------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------

/// What every imported row gets unless its own cells say otherwise.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ImportDefaults {
    /// The organization role (default `member`, or `guest` for guests).
    #[uniffi(default = None)]
    pub role: Option<String>,
    /// Member or guest; `None` for members.
    #[uniffi(default = None)]
    pub kind: Option<MemberKind>,
    /// Groups, by id.
    #[uniffi(default = [])]
    pub groups: Vec<GroupGrant>,
    /// License type (default `standard`).
    #[uniffi(default = None)]
    pub license_type: Option<String>,
    /// A personal message for the emails.
    #[uniffi(default = None)]
    pub message: Option<String>,
    /// `true`: send now. `false`: save as staged.
    #[uniffi(default = true)]
    pub send: bool,
}

impl From<ImportDefaults> for enlist::ImportDefaults {
    fn from(d: ImportDefaults) -> Self {
        let mut out = enlist::ImportDefaults::default()
            .kind(d.kind.map(Into::into).unwrap_or_default())
            .groups(grants_in(d.groups));
        out.role = d.role;
        out.license_type = d.license_type;
        out.message = d.message;
        out.send = d.send;
        out
    }
}

/// An invitation issued by an import, with its file line.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ImportedInvitation {
    /// The row's line in the file.
    pub line: u32,
    /// The batch it was issued in (0-based).
    pub batch: u32,
    /// The invitation, with its secret when it was sent.
    pub issued: IssuedInvitation,
}

/// A row of an import that got no invitation.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ImportRejection {
    /// The row's line in the file.
    pub line: u32,
    /// The batch the row was in; `None` when rejected before the batches.
    pub batch: Option<u32>,
    /// The recipient as written.
    pub input: String,
    /// The reason's stable code.
    pub code: String,
    /// The reason, for the person who filled in the file.
    pub message: String,
    /// The reason, with its facts.
    pub reason: RejectReason,
}

/// A row that could not be read as a recipient.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ImportRowError {
    /// The row's line in the file.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// Why an import stopped before its last batch.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ImportInterruption {
    /// The batch that failed (0-based); the batches before it were stored.
    pub batch: u32,
    /// The error's stable code.
    pub code: String,
    /// The error's message.
    pub message: String,
    /// The lines to import again.
    pub unprocessed_lines: Vec<u32>,
}

/// The outcome of an import: every row is in exactly one place.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ImportReport {
    /// Columns of the file that were not recognized.
    pub ignored_columns: Vec<String>,
    /// Rows that could not be read as recipients.
    pub sheet_errors: Vec<ImportRowError>,
    /// The invitations issued, in file order.
    pub issued: Vec<ImportedInvitation>,
    /// The rows rejected, in file order.
    pub rejected: Vec<ImportRejection>,
    /// The batch ids, in file order.
    pub batch_ids: Vec<String>,
    /// Set when a batch after the first failed.
    pub interrupted: Option<ImportInterruption>,
    /// How many rows got no invitation.
    pub failed_count: u32,
    /// The report as CSV, one row per line of the file. Holds no secrets.
    pub csv: String,
}

impl From<enlist::ImportReport> for ImportReport {
    fn from(r: enlist::ImportReport) -> Self {
        let issued = r
            .issued()
            .map(|i| ImportedInvitation {
                line: u32_of(i.line),
                batch: u32_of(i.batch),
                issued: i.issued.clone().into(),
            })
            .collect();
        let rejected = r
            .rejected()
            .map(|x| ImportRejection {
                line: u32_of(x.line),
                batch: x.batch.map(u32_of),
                code: x.reason.code().to_owned(),
                reason: (&x.reason).into(),
                input: x.input,
                message: x.message,
            })
            .collect();
        Self {
            csv: r.to_csv(),
            failed_count: u32_of(r.failed_count()),
            ignored_columns: r.ignored_columns,
            sheet_errors: r
                .sheet_errors
                .into_iter()
                .map(|e| ImportRowError {
                    line: u32_of(e.line),
                    message: e.message,
                })
                .collect(),
            issued,
            rejected,
            batch_ids: r.batches.into_iter().map(|b| b.batch_id.0).collect(),
            interrupted: r.interrupted.map(|i| ImportInterruption {
                batch: u32_of(i.batch),
                code: i.code,
                message: i.message,
                unprocessed_lines: i.unprocessed_lines.into_iter().map(u32_of).collect(),
            }),
        }
    }
}

// ---------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------

/// A rendered invitation email, handed to the app's [`Mailer`](crate::Mailer).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct OutgoingEmail {
    /// The outbox message: stable across retries, usable as an idempotency
    /// key with the app's backend.
    pub message_id: String,
    /// The recipient's address.
    pub to: String,
    /// The recipient's name, if known.
    pub to_name: Option<String>,
    /// The subject line.
    pub subject: String,
    /// The plain-text body; it holds the accept link, so it is a
    /// [`Secret`] too (`text_body.expose()`).
    pub text_body: Arc<Secret>,
    /// The link to accept: it holds the secret token (`accept_url.expose()`).
    pub accept_url: Arc<Secret>,
    /// The organization's name.
    pub org_name: String,
    /// The inviter's name, if a member invited.
    pub inviter_name: Option<String>,
    /// The inviter's personal message.
    pub personal_message: Option<String>,
    /// When the invitation expires.
    pub expires_at: SystemTime,
}

impl From<enlist::OutgoingEmail> for OutgoingEmail {
    fn from(e: enlist::OutgoingEmail) -> Self {
        Self {
            message_id: e.message_id.0,
            to: e.to,
            to_name: e.to_name,
            subject: e.subject,
            text_body: Secret::wrap(e.text_body),
            accept_url: Secret::wrap(e.accept_url),
            org_name: e.org_name,
            inviter_name: e.inviter_name,
            personal_message: e.personal_message,
            expires_at: time_out(e.expires_at),
        }
    }
}

/// A message in the outbox.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct OutboxMessage {
    /// Its id.
    pub id: String,
    /// The organization.
    pub org_id: String,
    /// The invitation it belongs to.
    pub invitation_id: String,
    /// The rendered email.
    pub email: OutgoingEmail,
    /// Where it stands.
    pub status: OutboxStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not to be attempted before this time.
    pub next_attempt_at: SystemTime,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: SystemTime,
    /// When it was delivered.
    pub sent_at: Option<SystemTime>,
}

impl From<enlist::OutboxMessage> for OutboxMessage {
    fn from(m: enlist::OutboxMessage) -> Self {
        Self {
            id: m.id.0,
            org_id: m.org_id.0,
            invitation_id: m.invitation_id.0,
            email: m.email.into(),
            status: m.status.into(),
            attempts: m.attempts,
            next_attempt_at: time_out(m.next_attempt_at),
            last_error: m.last_error,
            created_at: time_out(m.created_at),
            sent_at: m.sent_at.map(time_out),
        }
    }
}

/// What one `deliver_pending` run did, by message id.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct DeliveryReport {
    /// Messages delivered.
    pub sent: Vec<String>,
    /// Messages that failed and will be retried.
    pub retrying: Vec<String>,
    /// Messages given up on.
    pub failed: Vec<String>,
}

impl From<enlist::DeliveryReport> for DeliveryReport {
    fn from(r: enlist::DeliveryReport) -> Self {
        let ids = |v: Vec<enlist::MessageId>| v.into_iter().map(|m| m.0).collect();
        Self {
            sent: ids(r.sent),
            retrying: ids(r.retrying),
            failed: ids(r.failed),
        }
    }
}

// ---------------------------------------------------------------------------
// Engine settings
// ---------------------------------------------------------------------------

/// How the outbox retries failed deliveries.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct RetryPolicy {
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Wait after the first failure, in seconds; doubled after each further
    /// one.
    pub base_delay_secs: u64,
    /// Longest wait between attempts, in seconds.
    pub max_delay_secs: u64,
    /// How long a worker's claim on a message lasts, in seconds.
    pub claim_secs: u64,
}

/// Settings of the engine itself. Start from
/// [`default_engine_config`](crate::default_engine_config).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct EngineConfig {
    /// The base of accept links when an organization's policy names none
    /// (or one the host no longer allows). `https://` only (`http://` only
    /// for a loopback host).
    pub default_accept_url_base: String,
    /// Further bases an organization's policy may choose as its
    /// `accept_url_base`; a policy naming any other base is refused.
    /// Empty: only `default_accept_url_base`.
    #[uniffi(default = [])]
    pub allowed_accept_url_bases: Vec<String>,
    /// The product's name, used in invitation emails.
    pub product_name: String,
    /// How the outbox retries failed deliveries.
    pub retry: RetryPolicy,
    /// How many times a command is retried on a store conflict.
    pub conflict_retries: u32,
}

impl From<enlist::EngineConfig> for EngineConfig {
    fn from(c: enlist::EngineConfig) -> Self {
        Self {
            default_accept_url_base: c.default_accept_url_base,
            allowed_accept_url_bases: c.allowed_accept_url_bases,
            product_name: c.product_name,
            retry: RetryPolicy {
                max_attempts: c.retry.max_attempts,
                base_delay_secs: c.retry.base_delay_secs,
                max_delay_secs: c.retry.max_delay_secs,
                claim_secs: c.retry.claim_secs,
            },
            conflict_retries: c.conflict_retries,
        }
    }
}

impl From<EngineConfig> for enlist::EngineConfig {
    fn from(c: EngineConfig) -> Self {
        let mut out = enlist::EngineConfig::default();
        out.default_accept_url_base = c.default_accept_url_base;
        out.allowed_accept_url_bases = c.allowed_accept_url_bases;
        out.product_name = c.product_name;
        out.retry = enlist::RetryPolicy {
            max_attempts: c.retry.max_attempts,
            base_delay_secs: c.retry.base_delay_secs,
            max_delay_secs: c.retry.max_delay_secs,
            claim_secs: c.retry.claim_secs,
        };
        out.conflict_retries = c.conflict_retries;
        out
    }
}

// ---------------------------------------------------------------------------
// Audit trail
// ---------------------------------------------------------------------------

/// One entry of the audit trail.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Event {
    /// The organization.
    pub org_id: String,
    /// Position in the organization's trail, from 1.
    pub seq: u64,
    /// When it happened.
    pub at: SystemTime,
    /// Who did it.
    pub actor: Actor,
    /// What happened.
    pub kind: EventKind,
}

impl From<enlist::Event> for Event {
    fn from(e: enlist::Event) -> Self {
        Self {
            org_id: e.org_id.0,
            seq: e.seq,
            at: time_out(e.at),
            actor: e.actor.into(),
            kind: e.kind.into(),
        }
    }
}

/// What happened: every variant carries the facts to read the trail.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
#[allow(missing_docs)] // fields are named for what they hold, as in core
pub enum EventKind {
    /// The organization was created with its first owner.
    OrganizationCreated { name: String, owner_id: String },
    /// The organization's name changed.
    OrganizationRenamed { from: String, to: String },
    /// The policy changed.
    PolicyChanged { fields: Vec<String> },
    /// A custom role was defined or redefined.
    RoleDefined {
        name: String,
        permissions: Vec<Permission>,
    },
    /// A custom role was deleted.
    RoleDeleted { name: String },
    /// A group was created.
    GroupCreated {
        group_id: String,
        name: String,
        is_default: bool,
    },
    /// A group's name, description or default flag changed.
    GroupUpdated {
        group_id: String,
        name: String,
        description: String,
        is_default: bool,
    },
    /// A group was deleted.
    GroupDeleted {
        group_id: String,
        name: String,
        members_detached: u64,
    },
    /// A member was added to a group.
    GroupMemberAdded {
        group_id: String,
        member_id: String,
        role: GroupRole,
    },
    /// A member's group role changed.
    GroupRoleChanged {
        group_id: String,
        member_id: String,
        from: GroupRole,
        to: GroupRole,
    },
    /// A member left a group.
    GroupMemberRemoved { group_id: String, member_id: String },
    /// An invitation was saved without being sent.
    InvitationStaged {
        invitation_id: String,
        batch_id: String,
        recipient: String,
        role: String,
        kind: MemberKind,
    },
    /// An invitation was issued.
    InvitationIssued {
        invitation_id: String,
        batch_id: String,
        recipient: String,
        role: String,
        kind: MemberKind,
        groups: Vec<GroupGrant>,
        expires_at: SystemTime,
    },
    /// A staged invitation was sent.
    InvitationSent {
        invitation_id: String,
        expires_at: SystemTime,
    },
    /// An invitation was sent again with a new secret.
    InvitationResent {
        invitation_id: String,
        send_count: u32,
        expires_at: SystemTime,
    },
    /// An invitation was accepted.
    InvitationAccepted {
        invitation_id: String,
        member_id: String,
    },
    /// The invitee declined.
    InvitationDeclined { invitation_id: String },
    /// An administrator revoked it.
    InvitationRevoked { invitation_id: String },
    /// Its expiry was persisted.
    InvitationExpired { invitation_id: String },
    /// A wrong access code was typed.
    AccessCodeRejected {
        invitation_id: String,
        attempts: u32,
        locked: bool,
    },
    /// A member joined without an invitation.
    MemberJoined {
        member_id: String,
        contact: String,
        role: String,
        via: JoinedVia,
    },
    /// A member's names, role, groups, kind or license changed.
    MemberUpdated {
        member_id: String,
        fields: Vec<String>,
    },
    /// A member's status changed.
    MemberStatusChanged {
        member_id: String,
        from: MemberStatus,
        to: MemberStatus,
    },
    /// A member was removed.
    MemberRemoved { member_id: String, contact: String },
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
        message_id: String,
        invitation_id: String,
        to: String,
    },
    /// An invitation email failed.
    EmailFailed {
        message_id: String,
        invitation_id: String,
        to: String,
        error: String,
        attempts: u32,
        gave_up: bool,
    },
    /// An event this version of the bindings does not know.
    Other { description: String },
}

impl From<enlist::EventKind> for EventKind {
    fn from(k: enlist::EventKind) -> Self {
        use enlist::EventKind as K;
        match k {
            K::OrganizationCreated { name, owner } => EventKind::OrganizationCreated {
                name,
                owner_id: owner.0,
            },
            K::OrganizationRenamed { from, to } => EventKind::OrganizationRenamed { from, to },
            K::PolicyChanged { fields } => EventKind::PolicyChanged { fields },
            K::RoleDefined { name, permissions } => EventKind::RoleDefined {
                name,
                permissions: permissions_out(permissions),
            },
            K::RoleDeleted { name } => EventKind::RoleDeleted { name },
            K::GroupCreated {
                group,
                name,
                is_default,
            } => EventKind::GroupCreated {
                group_id: group.0,
                name,
                is_default,
            },
            K::GroupUpdated {
                group,
                name,
                description,
                is_default,
            } => EventKind::GroupUpdated {
                group_id: group.0,
                name,
                description,
                is_default,
            },
            K::GroupDeleted {
                group,
                name,
                members_detached,
            } => EventKind::GroupDeleted {
                group_id: group.0,
                name,
                members_detached,
            },
            K::GroupMemberAdded {
                group,
                member,
                role,
            } => EventKind::GroupMemberAdded {
                group_id: group.0,
                member_id: member.0,
                role: role.into(),
            },
            K::GroupRoleChanged {
                group,
                member,
                from,
                to,
            } => EventKind::GroupRoleChanged {
                group_id: group.0,
                member_id: member.0,
                from: from.into(),
                to: to.into(),
            },
            K::GroupMemberRemoved { group, member } => EventKind::GroupMemberRemoved {
                group_id: group.0,
                member_id: member.0,
            },
            K::InvitationStaged {
                invitation,
                batch,
                recipient,
                role,
                kind,
            } => EventKind::InvitationStaged {
                invitation_id: invitation.0,
                batch_id: batch.0,
                recipient,
                role,
                kind: kind.into(),
            },
            K::InvitationIssued {
                invitation,
                batch,
                recipient,
                role,
                kind,
                groups,
                expires_at,
            } => EventKind::InvitationIssued {
                invitation_id: invitation.0,
                batch_id: batch.0,
                recipient,
                role,
                kind: kind.into(),
                groups: grants_out(groups),
                expires_at: time_out(expires_at),
            },
            K::InvitationSent {
                invitation,
                expires_at,
            } => EventKind::InvitationSent {
                invitation_id: invitation.0,
                expires_at: time_out(expires_at),
            },
            K::InvitationResent {
                invitation,
                send_count,
                expires_at,
            } => EventKind::InvitationResent {
                invitation_id: invitation.0,
                send_count,
                expires_at: time_out(expires_at),
            },
            K::InvitationAccepted { invitation, member } => EventKind::InvitationAccepted {
                invitation_id: invitation.0,
                member_id: member.0,
            },
            K::InvitationDeclined { invitation } => EventKind::InvitationDeclined {
                invitation_id: invitation.0,
            },
            K::InvitationRevoked { invitation } => EventKind::InvitationRevoked {
                invitation_id: invitation.0,
            },
            K::InvitationExpired { invitation } => EventKind::InvitationExpired {
                invitation_id: invitation.0,
            },
            K::AccessCodeRejected {
                invitation,
                attempts,
                locked,
            } => EventKind::AccessCodeRejected {
                invitation_id: invitation.0,
                attempts,
                locked,
            },
            K::MemberJoined {
                member,
                contact,
                role,
                via,
            } => EventKind::MemberJoined {
                member_id: member.0,
                contact,
                role,
                via: via.into(),
            },
            K::MemberUpdated { member, fields } => EventKind::MemberUpdated {
                member_id: member.0,
                fields,
            },
            K::MemberStatusChanged { member, from, to } => EventKind::MemberStatusChanged {
                member_id: member.0,
                from: from.into(),
                to: to.into(),
            },
            K::MemberRemoved { member, contact } => EventKind::MemberRemoved {
                member_id: member.0,
                contact,
            },
            K::InviteLinkActivated { role, kind, groups } => EventKind::InviteLinkActivated {
                role,
                kind: kind.into(),
                groups: grants_out(groups),
            },
            K::InviteLinkDeactivated => EventKind::InviteLinkDeactivated,
            K::EmailSent {
                message,
                invitation,
                to,
            } => EventKind::EmailSent {
                message_id: message.0,
                invitation_id: invitation.0,
                to,
            },
            K::EmailFailed {
                message,
                invitation,
                to,
                error,
                attempts,
                gave_up,
            } => EventKind::EmailFailed {
                message_id: message.0,
                invitation_id: invitation.0,
                to,
                error,
                attempts,
                gave_up,
            },
            other => EventKind::Other {
                description: format!("{other:?}"),
            },
        }
    }
}

// ---------------------------------------------------------------------------
// The paste box
// ---------------------------------------------------------------------------

/// Something suspicious about a valid address, worth showing.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct AddressWarning {
    /// A stable code (`international_domain`, `confusable`, ...).
    pub code: String,
    /// What to tell the person who typed it.
    pub message: String,
}

/// A valid address with its display name.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct Mailbox {
    /// The display name, if one was given.
    pub display_name: Option<String>,
    /// The address as typed (domain lowercased).
    pub address: String,
    /// The normalized form: the uniqueness key.
    pub key: String,
    /// The domain, lowercase and IDNA-encoded.
    pub ascii_domain: String,
    /// Things worth showing the person who typed it.
    pub warnings: Vec<AddressWarning>,
}

impl From<enlist::Mailbox<'_>> for Mailbox {
    fn from(m: enlist::Mailbox<'_>) -> Self {
        Self {
            display_name: m.display_name.map(Into::into),
            address: m.address.into_owned(),
            key: m.key.into_owned(),
            ascii_domain: m.ascii_domain.into_owned(),
            warnings: m.warnings.iter().map(AddressWarning::from).collect(),
        }
    }
}

impl From<&enlist::email::AddressWarning> for AddressWarning {
    fn from(w: &enlist::email::AddressWarning) -> Self {
        Self {
            code: w.code().to_owned(),
            message: w.to_string(),
        }
    }
}

/// What became of one fragment of a paste.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum EntryOutcome {
    /// A valid address, the first time it appears.
    Valid {
        /// The address.
        mailbox: Mailbox,
    },
    /// A valid address already seen.
    Duplicate {
        /// The address.
        mailbox: Mailbox,
        /// The index of its first appearance in `entries`.
        first: u32,
    },
    /// Not an address enlist accepts.
    Invalid {
        /// The error's stable code (`missing_at`, ...).
        code: String,
        /// What to tell the person who typed it.
        message: String,
        /// Where the problem is (0-based character index in the entry).
        position: Option<u32>,
    },
}

/// One fragment of a paste.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct PasteEntry {
    /// The fragment as typed (trimmed).
    pub text: String,
    /// Where it starts in the pasted text, in UTF-16 code units (Kotlin
    /// and Swift `NSString` indices).
    pub start_utf16: u32,
    /// Where it ends (exclusive), in UTF-16 code units.
    pub end_utf16: u32,
    /// What it is.
    pub outcome: EntryOutcome,
}

/// Everything found in a paste, in the order typed.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ParsedRecipients {
    /// Every fragment, in order.
    pub entries: Vec<PasteEntry>,
    /// Distinct valid addresses: the "9 recognized" a form shows.
    pub recognized: u32,
}

/// UTF-16 offsets of increasing byte offsets in one text, counted from the
/// last one asked (so a whole paste is counted once, not once per entry).
struct Utf16Offsets<'t> {
    text: &'t str,
    byte: usize,
    utf16: usize,
}

impl<'t> Utf16Offsets<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text,
            byte: 0,
            utf16: 0,
        }
    }

    /// The UTF-16 offset of byte offset `byte` (clamped to the text, and
    /// to a character boundary).
    fn at(&mut self, byte: usize) -> u32 {
        let mut end = byte.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        if end < self.byte {
            // Not increasing: count again from the start.
            self.byte = 0;
            self.utf16 = 0;
        }
        self.utf16 += self.text[self.byte..end].encode_utf16().count();
        self.byte = end;
        u32_of(self.utf16)
    }
}

impl ParsedRecipients {
    pub(crate) fn of(text: &str, parsed: enlist::ParsedRecipients<'_>) -> Self {
        let recognized = u32_of(parsed.recognized());
        let mut offsets = Utf16Offsets::new(text);
        let entries = parsed
            .entries
            .into_iter()
            .map(|e| PasteEntry {
                start_utf16: offsets.at(e.span.start),
                end_utf16: offsets.at(e.span.end),
                text: e.text.into_owned(),
                outcome: match e.outcome {
                    enlist::email::EntryOutcome::Valid(m) => {
                        EntryOutcome::Valid { mailbox: m.into() }
                    }
                    enlist::email::EntryOutcome::Duplicate { mailbox, first } => {
                        EntryOutcome::Duplicate {
                            mailbox: mailbox.into(),
                            first: u32_of(first),
                        }
                    }
                    enlist::email::EntryOutcome::Invalid { error } => EntryOutcome::Invalid {
                        code: error.code().to_owned(),
                        message: error.to_string(),
                        position: error.position().map(u32_of),
                    },
                },
            })
            .collect();
        Self {
            entries,
            recognized,
        }
    }
}

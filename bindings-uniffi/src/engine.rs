//! The engine object: every command of `enlist::Enlist`, taking and
//! returning core's own records (ids are strings to Kotlin and Swift), with
//! errors mapped to [`EnlistError`].

use crate::callbacks::{Clock, ClockAdapter, Mailer, MailerAdapter};
use crate::error::EnlistError;
use crate::time::{time_in, time_out};
use crate::types::*;
use enlist::{
    Acceptance, ActivatedLink, Actor, CreatedOrganization, DeliveryReport, EngineConfig, Event,
    Group, GroupId, GroupQuery, GroupRole, GroupUpdate, ImportDefaults, ImportFormat, ImportReport,
    Invitation, InvitationId, InvitationPage, InvitationPreview, InvitationQuery, InviteLink,
    InviteReport, InviteRequest, IssuedInvitation, LicenseUsage, LinkPreview, LinkSpec, Member,
    MemberId, MemberPage, MemberQuery, MemberUpdate, MessageId, NewGroup, NewOrganization, OrgId,
    Organization, OutboxStatus, Permission, Policy, Registration, Role, SendReport,
};
use enlist::{Identity, InboxPage, NewMember};
use enlist::{LinkId, NewLink, PeopleQuery, PersonPage};
use std::sync::Arc;
use std::time::SystemTime;

type Result<T, E = EnlistError> = std::result::Result<T, E>;

/// The enlist engine: organizations, groups, roles, invitations, members,
/// the invitation link and the outbox, over a store. Safe to share between
/// threads; every call runs in one store transaction.
#[derive(uniffi::Object)]
pub struct Enlist {
    inner: enlist::Enlist,
}

impl std::fmt::Debug for Enlist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

/// Engine settings and key, checked before any store is opened.
pub(crate) struct Settings {
    config: Option<enlist::EngineConfig>,
    key: Option<enlist::SecretKey>,
    /// The first seals, all open.
    sealing: Vec<enlist::SealingKey>,
    /// The first derives new link secrets, all show a link's URL again.
    links: Vec<enlist::SecretKey>,
}

impl Settings {
    /// Checks `config` (its retry policy included) and `secret_key`.
    pub(crate) fn check(
        config: Option<EngineConfig>,
        secret_key: Option<Vec<u8>>,
        sealing_keys: Vec<SealingKeySpec>,
        link_keys: Vec<Vec<u8>>,
    ) -> Result<Self> {
        let config = match config {
            Some(c) => {
                let mut c = c;
                c.retry = c.retry.validated()?;
                Some(c.validated()?)
            }
            None => None,
        };
        let key = secret_key.map(enlist::SecretKey::new).transpose()?;
        let sealing = sealing_keys
            .into_iter()
            .map(|k| enlist::SealingKey::new(k.id, k.key))
            .collect::<enlist::Result<Vec<_>>>()?;
        // At most the current key and 16 retired ones, each at least 32
        // bytes (`SecretKey::new`); `with_link_keys` checks the rest.
        if link_keys.len() > 17 {
            return Err(enlist::Error::InvalidInput {
                field: "link_keys".into(),
                reason: "at most 17 keys: the current one and 16 retired".into(),
            }
            .into());
        }
        let links = link_keys
            .into_iter()
            .map(enlist::SecretKey::new)
            .collect::<enlist::Result<Vec<_>>>()?;
        Ok(Self {
            config,
            key,
            sealing,
            links,
        })
    }
}

impl Enlist {
    /// An engine over `store` with the given clock, settings and key. The
    /// settings are checked first ([`enlist::EngineConfig::validated`] and
    /// [`enlist::RetryPolicy::validated`]): bad ones raise
    /// `InvalidInput`, never fall back silently; so does a `secret_key`
    /// shorter than 32 bytes.
    pub(crate) fn over(
        store: Arc<dyn enlist::Store>,
        clock: Option<Arc<dyn Clock>>,
        settings: Settings,
    ) -> Result<Self> {
        let mut inner = enlist::Enlist::new(store);
        if let Some(clock) = clock {
            inner = inner.with_clock(Arc::new(ClockAdapter(clock)));
        }
        if let Some(key) = settings.key {
            inner = inner.with_secret_key(key);
        }
        let mut sealing = settings.sealing.into_iter();
        if let Some(current) = sealing.next() {
            inner = inner.with_sealing_keys(current, sealing.collect())?;
        }
        let mut links = settings.links.into_iter();
        if let Some(current) = links.next() {
            inner = inner.with_link_keys(current, links.collect())?;
        }
        if let Some(config) = settings.config {
            inner = inner.try_with_config(config)?;
        }
        Ok(Self { inner })
    }

    /// An engine object over a core engine.
    pub(crate) fn from_core(inner: enlist::Enlist) -> Self {
        Self { inner }
    }

    /// The core engine, for Rust code that links this crate.
    pub fn core(&self) -> &enlist::Enlist {
        &self.inner
    }
}

/// Exports engine commands that only call core: each entry
/// `fn name(args) -> T => |e| core_call;` becomes a method of [`Enlist`]
/// (its docs and attributes kept) that runs `core_call` with `e` the core
/// engine and maps its error.
macro_rules! commands {
    ($($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty => |$e:ident| $call:expr;)*) => {
        #[uniffi::export]
        impl Enlist {
            $(
                $(#[$attr])*
                pub fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                    let $e = &self.inner;
                    Ok($call?)
                }
            )*
        }
    };
}

#[uniffi::export]
impl Enlist {
    // -- Construction ------------------------------------------------------

    /// An engine over a fresh in-memory store (gone when the engine is):
    /// for tests, previews and demos. `clock` defaults to the system clock.
    /// `config` is checked (a product name with a line break, an accept URL
    /// base that is not `https://`, a retry policy out of bounds:
    /// `InvalidInput`). `secret_key`: a pepper of at least 32 bytes the
    /// host keeps outside the database; access codes are then hashed with
    /// HMAC-SHA256 under it (`InvalidInput` when shorter).
    /// `sealing_keys`: access codes are sealed under the first (exactly 32
    /// bytes with an id) so that `revealAccessCode` can show them again;
    /// the others still open codes sealed before a rotation. Empty (the
    /// default): a code is shown once. `link_keys`: invitation-link
    /// secrets are derived under the first (at least 32 bytes) so that
    /// `linkUrl` can show a link's URL again; the others still show links
    /// made before a rotation. Empty (the default): a link's URL is shown
    /// once (ADR 0013).
    #[uniffi::constructor(default(
        clock = None,
        config = None,
        secret_key = None,
        sealing_keys = [],
        link_keys = []
    ))]
    pub fn in_memory(
        clock: Option<Arc<dyn Clock>>,
        config: Option<EngineConfig>,
        secret_key: Option<Vec<u8>>,
        sealing_keys: Vec<SealingKeySpec>,
        link_keys: Vec<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        let settings = Settings::check(config, secret_key, sealing_keys, link_keys)?;
        Ok(Arc::new(Self::over(
            Arc::new(enlist::MemoryStore::new()),
            clock,
            settings,
        )?))
    }

    /// An engine over a SQLite database file (created when missing, its
    /// schema brought up to date): put it in the app's private storage
    /// (`Context.getFilesDir()` on Android, Application Support on iOS).
    /// `config` and `secret_key` as for [`Enlist::in_memory`], checked
    /// before the file is opened.
    #[uniffi::constructor(default(
        clock = None,
        config = None,
        secret_key = None,
        sealing_keys = [],
        link_keys = []
    ))]
    pub fn open_sqlite(
        path: String,
        clock: Option<Arc<dyn Clock>>,
        config: Option<EngineConfig>,
        secret_key: Option<Vec<u8>>,
        sealing_keys: Vec<SealingKeySpec>,
        link_keys: Vec<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        let settings = Settings::check(config, secret_key, sealing_keys, link_keys)?;
        let store = enlist_sqlite::SqliteStore::open(&path)?;
        Ok(Arc::new(Self::over(Arc::new(store), clock, settings)?))
    }

    /// Defines (or redefines) a custom role. Needs `ManageRoles` and every
    /// permission the role holds.
    pub fn define_role(
        &self,
        org_id: OrgId,
        actor: Actor,
        name: String,
        permissions: Vec<Permission>,
    ) -> Result<Role> {
        let set = permissions.into_iter().collect();
        Ok(self.inner.define_role(&org_id, &actor, &name, set)?)
    }

    /// A page of invitations. Needs `ViewMembers`.
    pub fn list_invitations(
        &self,
        org_id: OrgId,
        actor: Actor,
        query: InvitationQuery,
    ) -> Result<InvitationPage> {
        Ok(self.inner.list_invitations(&org_id, &actor, &query)?.into())
    }

    /// Persists the expiry of every invitation due at `now`; returns how
    /// many. Run it from a periodic job.
    pub fn expire_due(&self, now: SystemTime) -> Result<u64> {
        let n = self.inner.expire_due(time_in("now", now)?)?;
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    /// A page of members. Needs `ViewMembers`.
    pub fn list_members(
        &self,
        org_id: OrgId,
        actor: Actor,
        query: MemberQuery,
    ) -> Result<MemberPage> {
        Ok(self.inner.list_members(&org_id, &actor, &query)?.into())
    }

    /// A page of the people view: members and staged, pending and expired
    /// invitations in one list, labelled now; filtered, searched (a
    /// case-folded prefix of a first, last or full name or the email),
    /// sorted either way. Needs `ViewMembers`.
    pub fn people(&self, org_id: OrgId, actor: Actor, query: PeopleQuery) -> Result<PersonPage> {
        Ok(self.inner.people(&org_id, &actor, &query)?.into())
    }

    /// Records that a member was active at `at` (never moves backwards).
    pub fn record_activity(
        &self,
        org_id: OrgId,
        member_id: MemberId,
        at: SystemTime,
    ) -> Result<()> {
        let at = time_in("at", at)?;
        Ok(self.inner.record_activity(&org_id, &member_id, at)?)
    }

    // -- Outbox ------------------------------------------------------------

    /// Sends up to `limit` due invitation emails through `mailer`, records
    /// each outcome, and schedules retries of failures with backoff.
    /// At most 10,000 messages per call.
    pub fn deliver_pending(&self, mailer: Arc<dyn Mailer>, limit: u32) -> Result<DeliveryReport> {
        let limit = outbox_limit(limit);
        Ok(self.inner.deliver_pending(&MailerAdapter(mailer), limit)?)
    }

    /// Claims up to `limit` due messages (of one organization, or all) for
    /// delivery by the app's own queue; report each with `mark_sent` or
    /// `mark_failed`.
    #[uniffi::method(default(org_id = None))]
    pub fn claim_due(&self, limit: u32, org_id: Option<OrgId>) -> Result<Vec<OutboxMessage>> {
        let limit = outbox_limit(limit);
        Ok(self
            .inner
            .claim_due(org_id.as_ref(), limit)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// A message of the outbox, to show its delivery state, without its
    /// secret. For host jobs: no actor is checked; for a person, use
    /// [`Enlist::outbox_message_in`].
    pub fn outbox_message(&self, message_id: MessageId) -> Result<OutboxMessage> {
        Ok(self.inner.outbox_message(&message_id)?.into())
    }

    /// A message of `org_id`'s outbox, for a person: needs
    /// `ManageOutbox` in the organization (`PermissionDenied` otherwise);
    /// a message of another organization is `NotFound`. Comes without its
    /// secret (no accept link, no body holding it).
    pub fn outbox_message_in(
        &self,
        org_id: OrgId,
        actor: Actor,
        message_id: MessageId,
    ) -> Result<OutboxMessage> {
        Ok(self
            .inner
            .outbox_message_in(&org_id, &actor, &message_id)?
            .into())
    }

    // -- Outbox worker -----------------------------------------------------

    /// One pass of the outbox worker: persists due expiries, sends up to
    /// `limit` due messages through `mailer` (as `deliver_pending`), and
    /// returns what it did and `next_due`, when the earliest queued message
    /// becomes due: sleep until then (at once when it is already past).
    pub fn work_outbox(&self, mailer: Arc<dyn Mailer>, limit: u32) -> Result<enlist::WorkerReport> {
        let limit = outbox_limit(limit);
        Ok(self.inner.work_outbox(&MailerAdapter(mailer), limit)?)
    }

    /// Runs `work_outbox` in a loop on the calling thread until `stop` is
    /// stopped: after each pass it sleeps until the next message is due,
    /// at most `max_idle_ms`, and wakes at once on `stop.stop()` or
    /// `stop.wake()`. Returns the totals of every pass. Call it from a
    /// thread of its own.
    pub fn run_outbox(
        &self,
        mailer: Arc<dyn Mailer>,
        stop: Arc<StopSignal>,
        limit: u32,
        max_idle_ms: u64,
    ) -> Result<enlist::WorkerReport> {
        let limit = outbox_limit(limit);
        if max_idle_ms == 0 || max_idle_ms > 86_400_000 {
            return Err(enlist::Error::InvalidInput {
                field: "max_idle_ms".into(),
                reason: format!("is {max_idle_ms}; give 1 ms to one day"),
            }
            .into());
        }
        let options =
            enlist::WorkerOptions::new(limit, std::time::Duration::from_millis(max_idle_ms));
        Ok(self
            .inner
            .run_outbox(&MailerAdapter(mailer), &stop.inner, &options)?)
    }

    /// A page of the organization's dead letters (messages failed for
    /// good), newest first: who each was for, why it failed, how often it
    /// was tried; never the accept link. Needs `ManageOutbox`.
    #[uniffi::method(default(after = None))]
    pub fn dead_letters(
        &self,
        org_id: OrgId,
        actor: Actor,
        limit: u32,
        after: Option<String>,
    ) -> Result<enlist::DeadLetterPage> {
        Ok(self
            .inner
            .dead_letters(&org_id, &actor, after.as_deref(), limit)?
            .into())
    }

    /// A page of the organization's invitation links (the default one
    /// too), oldest first, each with its uses and status. Needs
    /// `ManageInviteLink`.
    #[uniffi::method(default(after = None))]
    pub fn links(
        &self,
        org_id: OrgId,
        actor: Actor,
        limit: u32,
        after: Option<String>,
    ) -> Result<enlist::LinkPage> {
        Ok(self
            .inner
            .links(&org_id, &actor, after.as_deref(), limit)?
            .into())
    }

    /// Renders an invitation email without sending it: `template` (checked
    /// as if saved) or the stored one for `locale`, with `invitation`'s
    /// data or sample data; the link is a placeholder, never a live token.
    /// Needs `ManagePolicy`.
    pub fn preview_email(
        &self,
        org_id: OrgId,
        actor: Actor,
        locale: Option<String>,
        template: Option<enlist::NewEmailTemplate>,
        invitation: Option<InvitationId>,
    ) -> Result<enlist::EmailPreview> {
        let mut request = enlist::EmailPreviewRequest::default();
        if let Some(l) = locale {
            request = request.locale(l);
        }
        if let Some(t) = template {
            request = request.template(t);
        }
        if let Some(i) = invitation {
            request = request.invitation(i);
        }
        Ok(self.inner.preview_email(&org_id, &actor, request)?)
    }

    /// The engine's current time (its clock's).
    pub fn now(&self) -> SystemTime {
        time_out(self.inner.now())
    }
}

commands! {
    // -- Organizations, policy, roles, audit ------------------------------

    /// Creates an organization with its first owner.
    fn create_organization(new: NewOrganization) -> CreatedOrganization
        => |e| e.create_organization(new);

    /// An organization.
    fn organization(org_id: OrgId) -> Organization
        => |e| e.organization(&org_id);

    /// Renames an organization. Needs `ManagePolicy`.
    fn rename_organization(org_id: OrgId, actor: Actor, name: String) -> Organization
        => |e| e.rename_organization(&org_id, &actor, &name);

    /// Replaces an organization's policy. Needs `ManagePolicy`.
    fn update_policy(org_id: OrgId, actor: Actor, policy: Policy) -> Organization
        => |e| e.update_policy(&org_id, &actor, policy);

    /// Every role of the organization: built-ins first, then custom roles.
    fn roles(org_id: OrgId) -> Vec<Role>
        => |e| e.roles(&org_id);

    /// Deletes a custom role nobody holds. Needs `ManageRoles`.
    fn delete_role(org_id: OrgId, actor: Actor, name: String) -> ()
        => |e| e.delete_role(&org_id, &actor, &name);

    /// The audit trail after position `after` (0 for the start), at most
    /// `limit` events (1 to 1000). Needs `ViewAudit`.
    fn events(org_id: OrgId, actor: Actor, after: u64, limit: u32) -> Vec<Event>
        => |e| e.events(&org_id, &actor, after, limit);

    // -- Groups ------------------------------------------------------------

    /// Creates a group. Needs `ManageGroups`.
    fn create_group(org_id: OrgId, actor: Actor, new: NewGroup) -> Group
        => |e| e.create_group(&org_id, &actor, new);

    /// Changes a group's name, description or default flag.
    fn update_group(org_id: OrgId, actor: Actor, group_id: GroupId, update: GroupUpdate) -> Group
        => |e| e.update_group(&org_id, &actor, &group_id, update);

    /// Deletes a group; its members stay in the organization. Returns how
    /// many members were detached.
    fn delete_group(org_id: OrgId, actor: Actor, group_id: GroupId) -> u64
        => |e| e.delete_group(&org_id, &actor, &group_id);

    /// A group.
    fn group(org_id: OrgId, actor: Actor, group_id: GroupId) -> Group
        => |e| e.group(&org_id, &actor, &group_id);

    /// Groups, searched by name and sorted.
    fn list_groups(org_id: OrgId, actor: Actor, query: GroupQuery) -> Vec<Group>
        => |e| e.list_groups(&org_id, &actor, &query);

    /// Adds a member to a group (as a plain member when `role` is `None`).
    #[uniffi::method(default(role = None))]
    fn add_group_member(org_id: OrgId, actor: Actor, group_id: GroupId, member_id: MemberId, role: Option<GroupRole>) -> ()
        => |e| e.add_group_member(&org_id, &actor, &group_id, &member_id, role);

    /// Changes a member's role in a group.
    fn set_group_role(org_id: OrgId, actor: Actor, group_id: GroupId, member_id: MemberId, role: GroupRole) -> ()
        => |e| e.set_group_role(&org_id, &actor, &group_id, &member_id, role);

    /// Takes a member out of a group.
    fn remove_group_member(org_id: OrgId, actor: Actor, group_id: GroupId, member_id: MemberId) -> ()
        => |e| e.remove_group_member(&org_id, &actor, &group_id, &member_id);

    // -- Invitations -------------------------------------------------------

    /// Invites a batch: each recipient is issued an invitation (its secret
    /// returned once, its email queued in the outbox) or rejected with a
    /// reason; rejections do not fail the batch.
    fn invite(org_id: OrgId, actor: Actor, request: InviteRequest) -> InviteReport
        => |e| e.invite(&org_id, &actor, request);

    /// Sends staged invitations; one outcome per id, in order.
    fn send_staged(org_id: OrgId, actor: Actor, invitation_ids: Vec<InvitationId>) -> SendReport
        => |e| e.send_staged(&org_id, &actor, &invitation_ids);

    /// Sends an invitation again with a new secret and expiry.
    fn resend(org_id: OrgId, actor: Actor, invitation_id: InvitationId) -> IssuedInvitation
        => |e| e.resend(&org_id, &actor, &invitation_id);

    /// Revokes an open invitation.
    fn revoke(org_id: OrgId, actor: Actor, invitation_id: InvitationId) -> Invitation
        => |e| e.revoke(&org_id, &actor, &invitation_id);

    /// An invitation, its status as of now.
    fn invitation(org_id: OrgId, actor: Actor, invitation_id: InvitationId) -> Invitation
        => |e| e.invitation(&org_id, &actor, &invitation_id);

    // -- The invitee's side ------------------------------------------------

    /// What the landing page shows for a token (or a whole accept URL).
    fn preview(token: String) -> InvitationPreview
        => |e| e.preview(&token);

    /// Accepts an email invitation by its token (or a whole accept URL).
    fn accept(token: String, registration: Registration) -> Acceptance
        => |e| e.accept(&token, registration);

    /// Accepts an invitation by identifier with its access code. Wrong codes
    /// count; at the policy's limit the invitation is locked.
    fn accept_with_code(org_id: OrgId, identifier: String, code: String, registration: Registration) -> Acceptance
        => |e| e.accept_with_code(&org_id, &identifier, &code, registration);

    /// Declines an invitation by its token.
    fn decline(token: String) -> Invitation
        => |e| e.decline(&token);

    // -- The invitee's inbox across organizations (issue 14) ---------------

    /// The signed-in person's open invitations across every organization
    /// (better-auth `listUserInvitations`), newest first; no item carries a
    /// secret. `identity` must come from the app's own verified session,
    /// never from request input.
    #[uniffi::method(default(after = None, limit = 50))]
    fn invitations_for(identity: Identity, after: Option<String>, limit: u32) -> InboxPage
        => |e| e.invitations_for(&identity, after.as_deref(), limit).map(Into::into);

    /// Accepts an invitation from the signed-in person's inbox without its
    /// token: the same rules as `accept`, for an invitation bound to the
    /// registration's `user_ref` or (bound to none) addressed to its
    /// `verified_email`; anything else is not found.
    fn accept_from_inbox(org_id: OrgId, invitation_id: InvitationId, registration: Registration) -> Acceptance
        => |e| e.accept_from_inbox(&org_id, &invitation_id, registration);

    /// Declines an invitation from the signed-in person's inbox without its
    /// token.
    fn decline_from_inbox(org_id: OrgId, invitation_id: InvitationId, identity: Identity) -> Invitation
        => |e| e.decline_from_inbox(&org_id, &invitation_id, &identity);

    /// Adds an existing account as an active member without an invitation
    /// (better-auth `addMember`). Needs `ManageMembers` and the right to
    /// grant the role and groups; audited as `MemberAdded`.
    fn add_member(org_id: OrgId, actor: Actor, member: NewMember) -> Member
        => |e| e.add_member(&org_id, &actor, member);

    // -- Invitation link and self-registration ------------------------------

    /// Activates the organization's invitation link with a new secret and
    /// returns its URL (shown this once). Needs `ManageInviteLink`.
    fn activate_invite_link(org_id: OrgId, actor: Actor, spec: LinkSpec) -> ActivatedLink
        => |e| e.activate_invite_link(&org_id, &actor, spec);

    /// Deactivates the invitation link: its URL stops working for good.
    fn deactivate_invite_link(org_id: OrgId, actor: Actor) -> ()
        => |e| e.deactivate_invite_link(&org_id, &actor);

    /// The invitation link, if one was ever activated.
    fn invite_link(org_id: OrgId, actor: Actor) -> Option<InviteLink>
        => |e| e.invite_link(&org_id, &actor);

    /// Creates a named invitation link with its own terms, expiry, use cap
    /// and email domains (ADR 0013); returns it with its URL. Needs
    /// `ManageInviteLink`, the invite permission of its kind, and the role
    /// and groups within the actor's reach.
    fn create_link(org_id: OrgId, actor: Actor, new: NewLink) -> ActivatedLink
        => |e| e.create_link(&org_id, &actor, new);

    /// One link with its uses and status. Needs `ManageInviteLink`.
    fn link(org_id: OrgId, actor: Actor, link_id: LinkId) -> InviteLink
        => |e| e.link(&org_id, &actor, &link_id);

    /// A link's URL again, derived under the engine's `link_keys` (never
    /// stored); `Conflict` (`link_url_not_kept`) without a key or for a
    /// link made before it.
    fn link_url(org_id: OrgId, actor: Actor, link_id: LinkId) -> enlist::Secret
        => |e| e.link_url(&org_id, &actor, &link_id);

    /// Gives one link a new secret: its old URL stops working, the other
    /// links' do not.
    fn regenerate_link(org_id: OrgId, actor: Actor, link_id: LinkId) -> ActivatedLink
        => |e| e.regenerate_link(&org_id, &actor, &link_id);

    /// Revokes one link for good; the others keep working.
    fn revoke_link(org_id: OrgId, actor: Actor, link_id: LinkId) -> InviteLink
        => |e| e.revoke_link(&org_id, &actor, &link_id);

    /// What the link's landing page shows.
    fn preview_link(token: String) -> LinkPreview
        => |e| e.preview_link(&token);

    /// Joins by the invitation link; `contact` is the person's email (or
    /// identifier).
    fn join_by_link(token: String, contact: String, registration: Registration) -> Member
        => |e| e.join_by_link(&token, &contact, registration);

    /// Registers without an invitation, where the policy allows it.
    fn self_register(org_id: OrgId, contact: String, registration: Registration) -> Member
        => |e| e.self_register(&org_id, &contact, registration);

    // -- Members -----------------------------------------------------------

    /// A member.
    fn member(org_id: OrgId, actor: Actor, member_id: MemberId) -> Member
        => |e| e.member(&org_id, &actor, &member_id);

    /// Edits a member's names, role, groups or license type.
    fn update_member(org_id: OrgId, actor: Actor, member_id: MemberId, update: MemberUpdate) -> Member
        => |e| e.update_member(&org_id, &actor, &member_id, update);

    /// Deactivates a member (frees their seat).
    fn deactivate_member(org_id: OrgId, actor: Actor, member_id: MemberId) -> Member
        => |e| e.deactivate_member(&org_id, &actor, &member_id);

    /// Reactivates an inactive member, if a seat is free.
    fn reactivate_member(org_id: OrgId, actor: Actor, member_id: MemberId) -> Member
        => |e| e.reactivate_member(&org_id, &actor, &member_id);

    /// Removes a member (a tombstone stays).
    fn remove_member(org_id: OrgId, actor: Actor, member_id: MemberId) -> Member
        => |e| e.remove_member(&org_id, &actor, &member_id);

    /// Seats used and pending per license type. Needs `ViewMembers`.
    fn license_usage(org_id: OrgId, actor: Actor) -> Vec<LicenseUsage>
        => |e| e.license_usage(&org_id, &actor);

    // -- Import ------------------------------------------------------------

    /// Invites everyone in an import file (CSV or XLSX bytes), in batches;
    /// the report places every row of the file.
    fn import_invitations(org_id: OrgId, actor: Actor, bytes: Vec<u8>, format: ImportFormat, defaults: ImportDefaults) -> ImportReport
        => |e| e.import_invitations(&org_id, &actor, &bytes, format, defaults);

    /// Records a delivery; `false` if the message was no longer queued.
    fn mark_sent(message_id: MessageId) -> bool
        => |e| e.mark_sent(&message_id);

    /// Records a failed delivery: retried after a backoff, or given up when
    /// `permanent` or out of attempts. Returns the message's new status, or
    /// `None` if it was no longer queued.
    fn mark_failed(message_id: MessageId, error: String, permanent: bool) -> Option<OutboxStatus>
        => |e| e.mark_failed(&message_id, &error, permanent);

    /// Retries a dead letter: a resend of its invitation (a fresh link, the
    /// old one stops working; the resend rules apply), the dead letter
    /// superseded. Needs `ManageOutbox` and the right to resend. Returns
    /// the new message's id.
    fn retry_dead_letter(org_id: OrgId, actor: Actor, message_id: MessageId) -> MessageId
        => |e| e.retry_dead_letter(&org_id, &actor, &message_id);

    // -- Email templates -----------------------------------------------------

    /// Saves the organization's invitation email template for one locale
    /// (a BCP 47 tag: "fr", "fr-CA"), checked now: syntax, known variables
    /// only, the accept link in each body, size and work bounds
    /// (`InvalidInput` names the part in `field`). Needs `ManagePolicy`.
    fn set_email_template(org_id: OrgId, actor: Actor, template: enlist::NewEmailTemplate) -> enlist::EmailTemplate
        => |e| e.set_email_template(&org_id, &actor, template);

    /// The organization's template for exactly this locale, if any. Needs
    /// `ManagePolicy`.
    fn email_template(org_id: OrgId, actor: Actor, locale: String) -> Option<enlist::EmailTemplate>
        => |e| e.email_template(&org_id, &actor, &locale);

    /// Every template the organization saved, by locale. Needs
    /// `ManagePolicy`.
    fn email_templates(org_id: OrgId, actor: Actor) -> Vec<enlist::EmailTemplate>
        => |e| e.email_templates(&org_id, &actor);

    // -- Capabilities, staged edits, access codes (issue 13, caps) --------

    /// What `actor` may do in the organization: invite at all, which roles
    /// and groups (and group roles) for members and guests, manage members,
    /// groups, roles, policy and the link, see access codes again.
    /// Answered by the checks the commands make.
    fn capabilities(org_id: OrgId, actor: Actor) -> enlist::Capabilities
        => |e| e.capabilities(&org_id, &actor);

    /// Edits a staged invitation before it is sent: role, groups, names,
    /// license type and "Active" (seed 004). Any other status is
    /// `Conflict`; the new role and groups must be within the actor's
    /// reach.
    fn update_staged_invitation(org_id: OrgId, actor: Actor, invitation_id: InvitationId, changes: enlist::StagedInvitationUpdate) -> Invitation
        => |e| e.update_staged_invitation(&org_id, &actor, &invitation_id, changes);

    /// An identifier invitation's access code, shown again ("See access
    /// code"), when the engine has sealing keys; otherwise the code was
    /// shown once and the error (`access_code_not_kept`) says so.
    fn reveal_access_code(org_id: OrgId, actor: Actor, invitation_id: InvitationId) -> enlist::Secret
        => |e| e.reveal_access_code(&org_id, &actor, &invitation_id);

    /// Deletes the organization's template for one locale; whether there
    /// was one. Needs `ManagePolicy`.
    fn delete_email_template(org_id: OrgId, actor: Actor, locale: String) -> bool
        => |e| e.delete_email_template(&org_id, &actor, &locale);

    /// The organization's email settings (default locale and personal
    /// message). Needs `ManagePolicy`.
    fn email_settings(org_id: OrgId, actor: Actor) -> enlist::EmailSettings
        => |e| e.email_settings(&org_id, &actor);

    /// Sets the organization's default locale and default personal
    /// message. Needs `ManagePolicy`.
    fn set_email_settings(org_id: OrgId, actor: Actor, default_locale: String, default_message: Option<String>) -> enlist::EmailSettings
        => |e| e.set_email_settings(&org_id, &actor, &default_locale, default_message.as_deref(),);

    // -- Bulk actions --------------------------------------------------------

    /// The first step of a bulk action over checked rows: checks that the
    /// actor may run it and, for a destructive action (remove, deactivate,
    /// change role, revoke), returns the number the actor types back to
    /// `bulkAction`, good for 9 to 10 minutes for this selection, action,
    /// role and actor only.
    fn bulk_confirmation(org_id: OrgId, actor: Actor, request: enlist::BulkRequest) -> enlist::BulkConfirmation
        => |e| e.bulk_confirmation(&org_id, &actor, &request);

    /// Runs a bulk action, every row under the rules of its single command,
    /// in one transaction. A destructive action needs the number of
    /// `bulkConfirmation` (else `InvalidInput` with code
    /// `confirmation_mismatch`, nothing changed); when any row is refused
    /// nothing changes and the report (`applied` false) says which and why.
    fn bulk_action(org_id: OrgId, actor: Actor, request: enlist::BulkRequest, confirmation: Option<String>) -> enlist::BulkReport
        => |e| e.bulk_action(&org_id, &actor, &request, confirmation.as_deref());
    /// The report kept for a batch: an invite's `batchId`, a send's
    /// `SendReport.batchId` or an import's `ImportReport.reportId`. Needs
    /// `ViewMembers`, or to be the actor who ran it; another
    /// organization's batch is `NotFound`.
    fn batch_report(org_id: OrgId, actor: Actor, batch_id: enlist::BatchId) -> enlist::BatchReport
        => |e| e.batch_report(&org_id, &actor, &batch_id);

    /// The import template as XLSX bytes, with the organization's roles,
    /// kinds and groups as drop-down lists. Needs `InviteMembers` or
    /// `InviteGuests`.
    fn import_template_xlsx(org_id: OrgId, actor: Actor) -> Vec<u8>
        => |e| e.import_template_xlsx(&org_id, &actor);
}

#[uniffi::export]
impl Enlist {
    /// Deletes the organization's batch reports made before `before`;
    /// returns how many. Needs `ManagePolicy`.
    pub fn prune_batch_reports(
        &self,
        org_id: OrgId,
        actor: Actor,
        before: SystemTime,
    ) -> Result<u64> {
        let before = time_in("before", before)?;
        Ok(self.inner.prune_batch_reports(&org_id, &actor, before)?)
    }
}

/// Stops or wakes a running `Enlist.runOutbox` from another thread.
#[derive(Debug, Default, uniffi::Object)]
pub struct StopSignal {
    inner: enlist::StopSignal,
}

#[uniffi::export]
impl StopSignal {
    /// A signal not given yet.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Asks the loop to stop: it returns once the message it is sending
    /// (if any) is recorded, without waiting out its sleep.
    pub fn stop(&self) {
        self.inner.stop();
    }

    /// Ends the loop's current sleep at once (after inviting, say).
    pub fn wake(&self) {
        self.inner.wake();
    }

    /// Whether `stop` was called.
    pub fn is_stopped(&self) -> bool {
        self.inner.is_stopped()
    }
}

/// `limit` as core's count (core refuses one above
/// [`enlist::MAX_OUTBOX_BATCH`]).
fn outbox_limit(limit: u32) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

// -- Dry runs and the bulk update (issue 13) ---------------------------------

commands! {
    /// Evaluates an invite request without writing anything: the report
    /// `invite` would give now (would-issue and rejected, the same
    /// reasons), or the error it would fail with. No secret, email or
    /// event.
    fn dry_run_invite(org_id: OrgId, actor: Actor, request: InviteRequest) -> enlist::InviteDryRun
        => |e| e.dry_run_invite(&org_id, &actor, &request);

    /// Evaluates an import file without writing anything: what
    /// `import_invitations` would report, by line.
    fn dry_run_import(org_id: OrgId, actor: Actor, bytes: Vec<u8>, format: ImportFormat, defaults: ImportDefaults) -> enlist::ImportDryRun
        => |e| e.dry_run_import(&org_id, &actor, &bytes, format, defaults);

    /// The diff a bulk update through the import template would make, per
    /// row, without writing anything.
    fn dry_run_bulk_update(org_id: OrgId, actor: Actor, bytes: Vec<u8>, format: ImportFormat) -> enlist::BulkUpdateReport
        => |e| e.dry_run_bulk_update(&org_id, &actor, &bytes, format);

    /// Updates existing members from the import template (matched by
    /// email; never the email): one transaction per `max_batch` rows, each
    /// row by `update_member`'s rules, one event per change.
    fn bulk_update_members(org_id: OrgId, actor: Actor, bytes: Vec<u8>, format: ImportFormat) -> enlist::BulkUpdateReport
        => |e| e.bulk_update_members(&org_id, &actor, &bytes, format);
}

// -- Verified domains and membership requests (issue 14) ---------------------

commands! {
    /// Claims a domain for the organization (pending until verified), with
    /// the DNS TXT record to publish. Needs `ManagePolicy`.
    fn claim_domain(org_id: OrgId, actor: Actor, domain: String) -> enlist::OrgDomain
        => |e| e.claim_domain(&org_id, &actor, &domain);

    /// The organization's domains, pending and verified. Needs
    /// `ManagePolicy`.
    fn domains(org_id: OrgId, actor: Actor) -> Vec<enlist::OrgDomain>
        => |e| e.domains(&org_id, &actor);

    /// Gives a domain up; returns whether it was claimed. Needs
    /// `ManagePolicy`.
    fn remove_domain(org_id: OrgId, actor: Actor, domain: String) -> bool
        => |e| e.remove_domain(&org_id, &actor, &domain);

    /// Verifies a claimed domain with the TXT values the app looked up at
    /// its `dnsRecordName` (enlist does no DNS itself). Needs
    /// `ManagePolicy`.
    fn verify_domain_dns(org_id: OrgId, actor: Actor, domain: String, txt_values: Vec<String>) -> enlist::OrgDomain
        => |e| e.verify_domain_dns(&org_id, &actor, &domain, &txt_values);

    /// Mails a verification code to `email`, an address at the domain,
    /// through the outbox. Needs `ManagePolicy`.
    fn send_domain_code(org_id: OrgId, actor: Actor, domain: String, email: String) -> enlist::OrgDomain
        => |e| e.send_domain_code(&org_id, &actor, &domain, &email);

    /// Verifies a claimed domain with the mailed code. Needs
    /// `ManagePolicy`.
    fn verify_domain_code(org_id: OrgId, actor: Actor, domain: String, code: String) -> enlist::OrgDomain
        => |e| e.verify_domain_code(&org_id, &actor, &domain, &code);

    /// What people with a verified email at the domain may do, and their
    /// role (`None` keeps it). Needs `ManagePolicy` (and `InviteMembers`
    /// to open it).
    fn set_domain_enrollment(org_id: OrgId, actor: Actor, domain: String, enrollment: enlist::DomainEnrollment, role: Option<String>) -> enlist::OrgDomain
        => |e| e.set_domain_enrollment(&org_id, &actor, &domain, enrollment, role.as_deref());

    /// The organizations a person may join or ask to join through the
    /// verified domain of `verified_email` (an address the app vouches
    /// for).
    fn domain_offers(verified_email: String, user_ref: Option<String>) -> Vec<enlist::DomainOffer>
        => |e| e.domain_offers(&verified_email, user_ref.as_deref());

    /// Joins at once through the organization's verified domain; the
    /// registration's `verifiedEmail` is required.
    fn join_by_domain(org_id: OrgId, registration: Registration) -> Member
        => |e| e.join_by_domain(&org_id, registration);

    /// Asks to join through the organization's verified domain; the
    /// registration's `verifiedEmail` is required.
    fn request_membership(org_id: OrgId, registration: Registration) -> enlist::MembershipRequest
        => |e| e.request_membership(&org_id, registration);

    /// The account's membership request to the organization, if any.
    fn my_membership_request(org_id: OrgId, user_ref: String) -> Option<enlist::MembershipRequest>
        => |e| e.my_membership_request(&org_id, &user_ref);

    /// A page of membership requests, oldest first. Needs `ManageMembers`.
    fn membership_requests(org_id: OrgId, actor: Actor, query: enlist::MembershipRequestQuery) -> enlist::MembershipRequestPage
        => |e| e.membership_requests(&org_id, &actor, &query).map(Into::into);

    /// Approves a pending membership request with `role` (default: the
    /// domain's). Needs `ManageMembers` and `InviteMembers`.
    fn approve_membership_request(org_id: OrgId, actor: Actor, request_id: enlist::MembershipRequestId, role: Option<String>) -> Member
        => |e| e.approve_membership_request(&org_id, &actor, &request_id, role.as_deref());

    /// Declines a pending membership request. Needs `ManageMembers`.
    fn decline_membership_request(org_id: OrgId, actor: Actor, request_id: enlist::MembershipRequestId) -> enlist::MembershipRequest
        => |e| e.decline_membership_request(&org_id, &actor, &request_id);
}

// -- Organizations across the store (issue 14, orgs) ----------------------

#[uniffi::export]
impl Enlist {
    /// The organizations an account belongs to (better-auth
    /// `listOrganizations`), a page at a time. `user_ref` must come from
    /// the host's verified session, never from the request.
    #[uniffi::method(default(after = None, limit = 50))]
    pub fn organizations_of(
        &self,
        user_ref: String,
        after: Option<String>,
        limit: u32,
    ) -> Result<enlist::AccountMembershipPage> {
        Ok(self
            .inner
            .organizations_of(&user_ref, after.as_deref(), limit)?
            .into())
    }

    /// Every organization not deleted, by slug, optionally those whose
    /// slug or lowercased name starts with `query.prefix` (Clerk
    /// `getOrganizationList`). Host-level: no actor is checked, so guard
    /// it in the host.
    pub fn list_organizations(
        &self,
        query: enlist::OrganizationQuery,
    ) -> Result<enlist::OrganizationPage> {
        Ok(self.inner.list_organizations(&query)?.into())
    }
}

commands! {
    /// The organization with this slug (not deleted).
    fn organization_by_slug(slug: String) -> Organization
        => |e| e.organization_by_slug(&slug);

    /// Changes an organization's slug. Needs `ManagePolicy`; a taken slug
    /// is `Conflict`.
    fn set_organization_slug(org_id: OrgId, actor: Actor, slug: String) -> Organization
        => |e| e.set_organization_slug(&org_id, &actor, &slug);

    /// Deletes an organization (better-auth `deleteOrganization`). Needs
    /// `OwnOrganization`; `confirm` is its slug, typed by the owner. Its
    /// invitations die at once; `mode` keeps members and history or purges
    /// every row of it.
    fn delete_organization(org_id: OrgId, actor: Actor, confirm: String, mode: enlist::DeleteMode) -> ()
        => |e| e.delete_organization(&org_id, &actor, &confirm, mode);

    /// The actor (a member) leaves the organization (better-auth
    /// `leaveOrganization`); the last active owner cannot.
    fn leave_organization(org_id: OrgId, actor: Actor) -> Member
        => |e| e.leave_organization(&org_id, &actor);

    /// Sets the host-defined permissions of a custom role (better-auth
    /// access control statements). Needs `ManageRoles` and every custom
    /// permission added or taken away.
    fn set_role_custom_permissions(org_id: OrgId, actor: Actor, role: String, custom_permissions: Vec<String>) -> Role
        => |e| e.set_role_custom_permissions(&org_id, &actor, &role, custom_permissions);

    /// Whether `actor` holds the permission `name`: a built-in one by its
    /// wire name (`manage_members`) or a host-defined one.
    fn has_permission(org_id: OrgId, actor: Actor, name: String) -> bool
        => |e| e.has_permission(&org_id, &actor, &name);

    /// `hasPermission` as a guard: `PermissionDenied` (code
    /// `custom_permission_denied` for a host-defined permission) when the
    /// actor lacks it.
    fn authorize(org_id: OrgId, actor: Actor, name: String) -> ()
        => |e| e.authorize(&org_id, &actor, &name);
}

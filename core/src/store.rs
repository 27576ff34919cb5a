//! The storage interface.
//!
//! A [`Store`] hands out [`Transaction`]s: fine-grained reads and writes that
//! take effect together on [`Transaction::commit`], and not at all when the
//! transaction is dropped without it. Both traits are object-safe, so the
//! engine and the bindings hold an `Arc<dyn Store>`.
//!
//! Invitations and the invitation link cross this interface as
//! [`StoredInvitation`] and [`StoredInviteLink`]: the value the engine
//! returns plus the hash of its current secret, which only the stores and
//! the engine see. What commands return ([`Invitation`](crate::Invitation),
//! [`InviteLink`](crate::InviteLink)) has no hash field at all.
//!
//! Every key starts with the organization id, so a distributed database can
//! shard by organization. Stores derive counts (group member counts, seats in
//! use) themselves and keep them exact; the engine never counts by scanning.
//!
//! The engine runs each command in one transaction and retries the whole
//! command when the store reports [`StoreError::Conflict`], so a store with
//! optimistic concurrency (or SERIALIZABLE isolation) only has to detect
//! conflicts, not resolve them.
//!
//! For store authors, this module also has what every store needs the same:
//! page cursors ([`cursor`]), the page size limit and page assembly
//! ([`MAX_PAGE`], [`page_limit`], [`merge_sorted`], [`collect_page`]), and
//! the lock of a store whose transactions run one at a time
//! ([`WriterLock`]). The conformance suite is `enlist::testing` (feature
//! `testing`).

pub mod cursor;
pub mod inbox;
pub mod json;
mod page;
pub mod people;
mod standing;
mod writer;

pub use inbox::PersonLookup;
pub use page::{MAX_PAGE, MergeSorted, collect_page, merge_sorted, page_limit};
pub use standing::{Standings, standing_keys};
pub use writer::{WriterGuard, WriterLock};

use crate::domain::{MembershipRequest, MembershipRequestQuery, StoredDomain};
use crate::error::StoreError;
use crate::event::Event;
use crate::group::Group;
use crate::id::{
    BatchId, GroupId, InvitationId, LinkId, MemberId, MembershipRequestId, MessageId, OrgId,
};
use crate::invitation::{InvitationQuery, StoredInvitation};
use crate::link::StoredInviteLink;
use crate::member::{Member, MemberQuery, Page};
use crate::organization::{Organization, OrganizationQuery};
use crate::outbox::OutboxMessage;
use crate::people::{PeopleQuery, Person};
use crate::report::BatchReport;
use crate::secret::SecretHash;
use crate::template::{EmailSettings, EmailTemplate};
use crate::text::Text;
use chrono::{DateTime, Utc};

/// Result with [`StoreError`].
pub type StoreResult<T> = Result<T, StoreError>;

/// A place to keep organizations and everything in them.
pub trait Store: Send + Sync {
    /// Starts a transaction. Writes through it are visible to its own reads
    /// at once and to others after commit. Implementations may serialize
    /// writers; they must never let two transactions both commit changes
    /// based on the same stale read.
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>>;

    /// Starts a transaction that the engine only reads through and never
    /// commits (a dry run): dropped, it rolls back. A store that can read
    /// without taking its write lock (a deferred SQLite transaction, a
    /// read-only Postgres snapshot) does so here, so that a dry run holds
    /// no lock longer than a read needs. The default is [`Store::begin`],
    /// which is correct for every store: nothing the engine does through it
    /// is committed.
    fn begin_read(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        self.begin()
    }
}

/// What a token gives a store to find its invitation by
/// ([`Transaction::invitation_by_token`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKey<'a> {
    /// A token that names its invitation: the invitation's id.
    Id(&'a InvitationId),
    /// An older token, which names only its organization: the hash of its
    /// secret.
    Secret(&'a SecretHash),
}

/// Seats of one license type, as counted by the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeatCount {
    /// Active members with this license type.
    pub members: u64,
    /// Open (staged or pending) invitations with this license type.
    pub open_invitations: u64,
}

/// Reads and writes inside one transaction.
///
/// A write refused by a uniqueness rule ([`StoreError::Unique`]) changes
/// nothing and leaves the transaction usable: it reads, writes and
/// commits on (but see [`Transaction::put_invitation`], whose checks may
/// come later in the transaction and then fail the rest of it).
pub trait Transaction {
    /// Makes every write of this transaction durable and visible.
    fn commit(self: Box<Self>) -> StoreResult<()>;

    // Organizations.
    /// An organization by id.
    fn organization(&mut self, org: &OrgId) -> StoreResult<Option<Organization>>;
    /// Inserts or replaces an organization. Must refuse a second
    /// organization with the same slug ([`StoreError::Unique`] with
    /// [`UniqueRule::OrganizationSlug`](crate::UniqueRule::OrganizationSlug)).
    /// An empty slug (an organization written before slugs existed, which
    /// the stores' migrations give one) is not indexed: not unique, not
    /// found by slug, not listed.
    fn put_organization(&mut self, org: &Organization) -> StoreResult<()>;

    // Groups.
    /// A group by id, with its member count.
    fn group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<Option<Group>>;
    /// All groups of an organization, with member counts, in no set order.
    fn groups(&mut self, org: &OrgId) -> StoreResult<Vec<Group>>;
    /// Inserts or replaces a group (its `member_count` is ignored).
    fn put_group(&mut self, group: &Group) -> StoreResult<()>;
    /// Deletes a group. The engine first detaches its members.
    fn delete_group(&mut self, org: &OrgId, id: &GroupId) -> StoreResult<()>;

    // Members.
    /// A member by id (removed ones too).
    fn member(&mut self, org: &OrgId, id: &MemberId) -> StoreResult<Option<Member>>;
    /// The non-removed member with this normalized contact key.
    fn member_by_contact(&mut self, org: &OrgId, key: &str) -> StoreResult<Option<Member>>;
    /// The non-removed member with this host account id.
    fn member_by_user_ref(&mut self, org: &OrgId, user_ref: &str) -> StoreResult<Option<Member>>;
    /// Inserts or replaces a member, keeping every derived count exact.
    /// Must refuse a second non-removed member with the same contact key
    /// ([`StoreError::Unique`] with [`UniqueRule::MemberContactKey`](crate::UniqueRule::MemberContactKey)) or
    /// user_ref ([`UniqueRule::MemberUserRef`](crate::UniqueRule::MemberUserRef)), the contact key checked
    /// first.
    fn put_member(&mut self, member: &Member) -> StoreResult<()>;
    /// A page of members matching the query, sorted by contact key then id.
    /// The cursor format is the store's own.
    fn list_members(&mut self, org: &OrgId, query: &MemberQuery) -> StoreResult<Page<Member>>;
    /// Active members with this role (to protect the last owner).
    fn count_active_with_role(&mut self, org: &OrgId, role: &str) -> StoreResult<u64>;
    /// Seats of one license type in use.
    fn seat_count(&mut self, org: &OrgId, license_type: &str) -> StoreResult<SeatCount>;
    /// Seats of every license type that has any member or open invitation.
    fn seat_counts(&mut self, org: &OrgId) -> StoreResult<Vec<(String, SeatCount)>>;

    // Invitations.
    /// An invitation by id.
    fn invitation(
        &mut self,
        org: &OrgId,
        id: &InvitationId,
    ) -> StoreResult<Option<StoredInvitation>>;
    /// The invitation found by its hash
    /// ([`SecretLookup::ByHash`](crate::SecretLookup::ByHash)) whose
    /// current secret hashes to `hash`: its
    /// [`lookup_hash`](StoredInvitation::lookup_hash) is `hash`. An
    /// invitation found by id is not answered here (a store keeps no index
    /// of those hashes); answering it anyway would be harmless, since the
    /// engine opens an invitation only in the way it was issued.
    fn invitation_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<StoredInvitation>>;
    /// The invitation a token leads to: by its id for a token that names
    /// its invitation ([`TokenKey::Id`]), else
    /// [`invitation_by_secret`](Transaction::invitation_by_secret). The
    /// engine checks the secret itself. The default does exactly that; a
    /// store that reads ahead for an accept
    /// ([`prefetch_acceptance`](Transaction::prefetch_acceptance)) serves
    /// it from there.
    fn invitation_by_token(
        &mut self,
        org: &OrgId,
        token: TokenKey<'_>,
    ) -> StoreResult<Option<StoredInvitation>> {
        match token {
            TokenKey::Id(id) => self.invitation(org, id),
            TokenKey::Secret(hash) => self.invitation_by_secret(org, hash),
        }
    }
    /// The open (staged or pending, as stored) invitation for a recipient key.
    fn open_invitation_for(
        &mut self,
        org: &OrgId,
        key: &str,
    ) -> StoreResult<Option<StoredInvitation>>;
    /// Inserts or replaces an invitation, keeping indexes and counts exact.
    /// Must refuse a second invitation with the same
    /// [`lookup_hash`](StoredInvitation::lookup_hash) (invitations found by
    /// id have none: their secret hashes are neither indexed nor unique)
    /// ([`StoreError::Unique`] with [`UniqueRule::InvitationSecret`](crate::UniqueRule::InvitationSecret)) or a
    /// second open invitation for the same recipient key
    /// ([`UniqueRule::InvitationOpenRecipient`](crate::UniqueRule::InvitationOpenRecipient)), the secret checked first.
    ///
    /// A store may defer the write, and these checks, to a later point of
    /// the transaction (the PostgreSQL store writes a batch's invitations
    /// in one statement): the refusal then comes from the transaction's
    /// next call that runs a statement, or from
    /// [`commit`](Transaction::commit), and every call after it fails too,
    /// so that nothing of the transaction can be committed. The engine
    /// abandons a command at any store error, so both are the same to it.
    fn put_invitation(&mut self, inv: &StoredInvitation) -> StoreResult<()>;
    /// A page of invitations, newest first. Status filters apply to the
    /// status at `now`.
    fn list_invitations(
        &mut self,
        org: &OrgId,
        query: &InvitationQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<StoredInvitation>>;
    /// Stored-pending invitations whose expiry is at or before `now`, oldest
    /// expiry first, across organizations (or in one, if given).
    fn due_invitations(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<StoredInvitation>>;

    // The invitation link.
    /// The organization's default invitation link (id
    /// [`LinkId::DEFAULT`]), active or not: [`Transaction::link`] of that
    /// id, which the default does.
    fn invite_link(&mut self, org: &OrgId) -> StoreResult<Option<StoredInviteLink>> {
        self.link(org, &LinkId::default_link())
    }
    /// Inserts or replaces a link ([`Transaction::put_link`], which the
    /// default does); kept for the single-link commands.
    fn put_invite_link(&mut self, link: &StoredInviteLink) -> StoreResult<()> {
        self.put_link(link)
    }

    // Events.
    /// Appends an event, assigning the next `seq` of its organization;
    /// returns the seq. The event is given, not lent: a store that keeps
    /// values (the [`MemoryStore`](crate::MemoryStore)) moves it in rather
    /// than copying it; one that writes rows reads it and drops it.
    fn append_event(&mut self, event: Event) -> StoreResult<u64>;
    /// Events of an organization with `seq > after`, in order.
    fn events(&mut self, org: &OrgId, after: u64, limit: usize) -> StoreResult<Vec<Event>>;

    // Outbox.
    /// Inserts or replaces a message. Given, not lent, as
    /// [`append_event`](Self::append_event)'s event: a caller that needs the
    /// message afterwards keeps a clone.
    fn put_outbox_message(&mut self, msg: OutboxMessage) -> StoreResult<()>;
    /// A message by id.
    fn outbox_message(&mut self, id: &MessageId) -> StoreResult<Option<OutboxMessage>>;
    /// Queued messages whose `next_attempt_at <= now`, earliest first,
    /// across organizations (or in one, if given).
    fn due_outbox(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// The earliest `next_attempt_at` of a queued message, due or not,
    /// across organizations (or in one, if given); `None` when nothing is
    /// queued. The worker sleeps until then.
    fn next_outbox_due(&mut self, org: Option<&OrgId>) -> StoreResult<Option<DateTime<Utc>>>;
    /// A page of one organization's failed messages (the dead letters),
    /// newest first: by `created_at`, then id, both descending. `after` is
    /// a [`cursor::message`] cursor; `limit` goes through [`page_limit`].
    fn failed_outbox(
        &mut self,
        org: &OrgId,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<OutboxMessage>>;
    /// Queued messages of one invitation (to supersede them).
    fn queued_messages_for(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Retires the queued messages of one invitation (closed, or sent
    /// again): each becomes [`OutboxStatus::Superseded`] and is redacted
    /// ([`OutboxMessage::redact`]), as if written back by
    /// [`Transaction::put_outbox_message`]. The default does exactly that,
    /// reading them with [`Transaction::queued_messages_for`]; a store may
    /// change them where they lie instead of reading and writing copies
    /// (MemoryStore does, for the accept's latency).
    ///
    /// [`OutboxStatus::Superseded`]: crate::OutboxStatus::Superseded
    fn supersede_queued_messages(
        &mut self,
        org: &OrgId,
        invitation: &InvitationId,
    ) -> StoreResult<()> {
        for mut m in self.queued_messages_for(org, invitation)? {
            m.status = crate::outbox::OutboxStatus::Superseded;
            m.redact();
            self.put_outbox_message(m.clone())?;
        }
        Ok(())
    }

    // Email templates.
    /// An organization's email settings (default locale and message), if
    /// it saved any.
    fn email_settings(&mut self, org: &OrgId) -> StoreResult<Option<EmailSettings>>;
    /// Inserts or replaces an organization's email settings.
    fn put_email_settings(&mut self, settings: &EmailSettings) -> StoreResult<()>;
    /// An organization's template for exactly this locale tag.
    fn email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<Option<EmailTemplate>>;
    /// Every template of an organization, sorted by locale tag (byte
    /// order).
    fn email_templates(&mut self, org: &OrgId) -> StoreResult<Vec<EmailTemplate>>;
    /// Inserts or replaces the template of `(org_id, locale)`.
    fn put_email_template(&mut self, template: &EmailTemplate) -> StoreResult<()>;
    /// Deletes the template of `(org, locale)`; returns whether there was
    /// one.
    fn delete_email_template(&mut self, org: &OrgId, locale: &str) -> StoreResult<bool>;

    // Batch reports.
    /// Inserts or replaces the report of `(report.org_id, report.batch_id)`.
    /// Given, not lent, as [`append_event`](Self::append_event)'s event.
    fn put_batch_report(&mut self, report: BatchReport) -> StoreResult<()>;
    /// The report kept for one batch of an organization (a batch id of
    /// another organization is `None`).
    fn batch_report(&mut self, org: &OrgId, batch: &BatchId) -> StoreResult<Option<BatchReport>>;
    /// Deletes the reports of an organization created strictly before
    /// `before`, at most `limit` of them (oldest first, ties by batch id);
    /// returns how many were deleted.
    fn delete_batch_reports_before(
        &mut self,
        org: &OrgId,
        before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<u64>;

    // Standing of many recipients at once.
    /// Where each of `keys` (normalized contact keys, at most
    /// [`MAX_STANDING_KEYS`]) stands in `org`, in one query for the whole
    /// list (the directory assistant lists thousands of employees at a
    /// time): one entry per distinct key that has a non-removed member or
    /// an invitation still open at `now` (staged, or stored pending and
    /// not past its expiry), sorted by key; keys with neither are left
    /// out.
    ///
    /// The default asks [`Transaction::member_by_contact`] and
    /// [`Transaction::open_invitation_for`] key by key: correct, and a
    /// store that can answer many keys in one statement should (the
    /// SQLite and PostgreSQL stores use an `IN` list, chunked).
    fn standing(
        &mut self,
        org: &OrgId,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, KeyStanding)>> {
        let keys: std::collections::BTreeSet<&String> = keys.iter().collect();
        let mut out = Vec::new();
        for key in keys {
            let member = self.member_by_contact(org, key)?.map(|m| m.id);
            let invitation = self
                .open_invitation_for(org, key)?
                .filter(|i| i.status_at(now).is_open())
                .map(|i| i.invitation.id);
            let standing = KeyStanding { member, invitation };
            if standing != KeyStanding::default() {
                out.push((key.clone(), standing));
            }
        }
        Ok(out)
    }

    /// A hint: the engine is about to ask [`Transaction::member_by_contact`]
    /// and [`Transaction::open_invitation_for`] for each of `keys` (the
    /// recipients of one batch, at most the policy's batch size; the rows of
    /// one batch of a bulk update), one key after the other, between this
    /// transaction's writes. A store that
    /// pays a round trip per read may read them all now; whatever it serves
    /// later must still be what those two methods would answer at that
    /// point, this transaction's own writes included. The default does
    /// nothing (an in-process store has no round trip to save).
    fn prefetch_recipients(&mut self, org: &OrgId, keys: &[Text]) -> StoreResult<()> {
        let _ = (org, keys);
        Ok(())
    }

    /// A hint: the engine is about to accept an invitation of `org` by
    /// its token (`token`: the invitation's id, or for older tokens the
    /// hash of its secret) for the account `user_ref`. It reads the
    /// organization ([`Transaction::organization`]), then the invitation
    /// ([`Transaction::invitation_by_token`]), then asks
    /// [`Transaction::member_by_user_ref`] for that account and
    /// [`Transaction::groups`] of the organization (the default group),
    /// before its first write. A store that pays a round trip per read may
    /// read them all together; whatever it serves later must still be what
    /// those methods would answer at that point, this transaction's own
    /// writes included. The default does nothing.
    fn prefetch_acceptance(
        &mut self,
        org: &OrgId,
        token: TokenKey<'_>,
        user_ref: &str,
    ) -> StoreResult<()> {
        let _ = (org, token, user_ref);
        Ok(())
    }

    // The people view.
    /// A page of the people view: the organization's members and its
    /// staged, pending and expired invitations, labelled at `now` (a
    /// pending invitation whose expiry is at or before `now` is Expired),
    /// filtered by the query, sorted by the keys of [`people`] and continued
    /// after `query.after` (a [`people::cursor`]); `query.limit` goes
    /// through [`page_limit`]. A search reads the matching people only,
    /// not the whole organization.
    fn people(
        &mut self,
        org: &OrgId,
        query: &PeopleQuery,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<Person>>;

    /// How many open invitations `inviter` issued in the organization as of
    /// `now`: staged ones, and pending ones whose expiry is after `now`
    /// (the policy's `max_open_invitations_per_inviter`). Served by an
    /// index on (organization, inviter) over open invitations, never a
    /// scan of the organization's invitations.
    fn open_invitations_by_inviter(
        &mut self,
        org: &OrgId,
        inviter: &MemberId,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    // The event feed.
    /// Events of every organization after `after` (a cursor this store
    /// made, [`FeedEvent::cursor`](crate::FeedEvent::cursor); `None`: from
    /// the beginning), in feed order, keeping only the kinds named in
    /// `kinds` (wire names of [`EventKind`](crate::EventKind); empty: all),
    /// at most `limit`. A cursor the store did not make is
    /// [`StoreError::InvalidCursor`].
    ///
    /// The feed order must never put an event before a cursor already
    /// handed out once it is visible: an event that commits after a read
    /// comes after every cursor that read returned (a store whose writers
    /// run one at a time gets this from numbering at write time; a store
    /// with concurrent writers must order by commit or hold back what may
    /// still be overtaken, as the PostgreSQL store does). Events of a
    /// rolled-back transaction never appear, and positions are never
    /// reused: not the positions of events deleted with their
    /// organization either, also once an organization is made again under
    /// the same id (a reader holding a deleted event's cursor still reads
    /// every later event). Whether the feed read inside a write
    /// transaction shows that transaction's own events is the store's
    /// (`MemoryStore` and SQLite show them, PostgreSQL shows them once
    /// committed).
    fn event_feed(
        &mut self,
        after: Option<&str>,
        kinds: &[String],
        limit: usize,
    ) -> StoreResult<Vec<crate::FeedEvent>>;

    // Organizations across the store (issue 14, orgs).
    /// The organization with this (non-empty) slug, deleted or not.
    fn organization_by_slug(&mut self, slug: &str) -> StoreResult<Option<Organization>>;
    /// A page of the organizations not deleted (with a slug), sorted by slug (byte
    /// order), continued after `query.after` (a [`cursor::organization`]
    /// cursor); `query.prefix` (given lowercased) keeps those whose slug
    /// or lowercased name ([`str::to_lowercase`]) starts with it;
    /// `query.limit` goes through [`page_limit`].
    fn list_organizations(&mut self, query: &OrganizationQuery) -> StoreResult<Page<Organization>>;
    /// A page of the non-removed members with this `user_ref` across
    /// organizations not deleted, each with its organization, sorted by
    /// organization id (byte order) and continued after `after` (a
    /// [`cursor::account`] cursor); `limit` goes through [`page_limit`].
    /// Served by an index on `user_ref`, not a walk of the organizations.
    fn memberships_of(
        &mut self,
        user_ref: &str,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<(Organization, Member)>>;
    /// Deletes every row of an organization in every table (the
    /// organization, its groups, members, invitations, link, events,
    /// outbox messages, email settings and templates, batch reports,
    /// people rows and counters): afterwards no read of the store finds
    /// anything of it, and its slug is free.
    fn purge_organization(&mut self, org: &OrgId) -> StoreResult<()>;

    // The invitee's inbox.
    /// A page of one person's open invitations across organizations (or
    /// in `lookup.org`): every invitation [`PersonLookup::matches`] keeps
    /// at `now` (stored pending, not past its expiry, bound to
    /// `lookup.user_ref` or addressed to `lookup.email_key` and bound to
    /// no account), newest first, continued after `lookup.after` (an
    /// [`inbox::person_cursor`]); `lookup.limit` goes through
    /// [`page_limit`]. Reads through an index by recipient key and one by
    /// bound account, never a scan of an organization; see [`inbox`] for
    /// the page assembly every store shares.
    fn person_invitations(
        &mut self,
        lookup: &PersonLookup,
        now: DateTime<Utc>,
    ) -> StoreResult<Page<StoredInvitation>>;

    // Verified domains and membership requests.
    /// An organization's claim on a domain (lowercase ASCII), pending or
    /// verified.
    fn org_domain(&mut self, org: &OrgId, domain: &str) -> StoreResult<Option<StoredDomain>>;
    /// Every domain an organization claimed, sorted by domain (byte order).
    fn org_domains(&mut self, org: &OrgId) -> StoreResult<Vec<StoredDomain>>;
    /// Inserts or replaces the claim of `(org_id, domain)`. Must refuse a
    /// verified claim on a domain another organization holds verified
    /// ([`StoreError::Unique`] with
    /// [`UniqueRule::DomainVerified`](crate::UniqueRule::DomainVerified)),
    /// also against a concurrent transaction.
    fn put_org_domain(&mut self, domain: &StoredDomain) -> StoreResult<()>;
    /// Deletes the claim of `(org, domain)`; returns whether there was one.
    fn delete_org_domain(&mut self, org: &OrgId, domain: &str) -> StoreResult<bool>;
    /// The verified claim on a domain, whichever organization holds it
    /// (one at most): how a person's email finds the organization.
    fn verified_domain(&mut self, domain: &str) -> StoreResult<Option<StoredDomain>>;
    /// A membership request by id.
    fn membership_request(
        &mut self,
        org: &OrgId,
        id: &MembershipRequestId,
    ) -> StoreResult<Option<MembershipRequest>>;
    /// The membership request of an account in an organization (one at
    /// most, whatever its status).
    fn membership_request_of(
        &mut self,
        org: &OrgId,
        user_ref: &str,
    ) -> StoreResult<Option<MembershipRequest>>;
    /// Inserts or replaces a membership request. Must refuse a second
    /// request of the same `user_ref` in the organization
    /// ([`StoreError::Unique`] with
    /// [`UniqueRule::MembershipRequestAccount`](crate::UniqueRule::MembershipRequestAccount)).
    fn put_membership_request(&mut self, request: &MembershipRequest) -> StoreResult<()>;
    /// A page of an organization's membership requests (of one status, if
    /// the query says), oldest first: by `created_at`, then id. `after` is
    /// a [`cursor::request`] cursor; `limit` goes through [`page_limit`].
    fn membership_requests(
        &mut self,
        org: &OrgId,
        query: &MembershipRequestQuery,
    ) -> StoreResult<Page<MembershipRequest>>;

    // Invitation links, the default one and the named ones (ADR 0013).
    /// A link of an organization by id, whatever its status.
    fn link(&mut self, org: &OrgId, id: &LinkId) -> StoreResult<Option<StoredInviteLink>>;
    /// The link of an organization whose current secret hashes to `hash`
    /// (the engine never gives two links one secret).
    fn link_by_secret(
        &mut self,
        org: &OrgId,
        hash: &SecretHash,
    ) -> StoreResult<Option<StoredInviteLink>>;
    /// At most `limit` links of an organization, whatever their status,
    /// oldest first: by `created_at`, then id.
    fn links(&mut self, org: &OrgId, limit: usize) -> StoreResult<Vec<StoredInviteLink>>;
    /// Inserts or replaces the link `(link.org_id, link.id)`.
    fn put_link(&mut self, link: &StoredInviteLink) -> StoreResult<()>;

    // (Issue 15, the Postgres part: outbox claims that skip, not wait.)
    /// Claims up to `limit` queued messages due at `now` (across
    /// organizations, or in one, if given) for delivery: each is written
    /// with `next_attempt_at = until` in this transaction and returned so,
    /// earliest due first (as [`Transaction::due_outbox`] orders them).
    ///
    /// A store shared by several workers may leave out messages another
    /// open transaction is writing instead of waiting for it or failing
    /// with [`StoreError::Conflict`] (PostgreSQL: `FOR UPDATE SKIP
    /// LOCKED`): a message left out is still queued and due, for the next
    /// claim. The default reads [`Transaction::due_outbox`] and writes each
    /// message with [`Transaction::put_outbox_message`].
    fn claim_outbox(
        &mut self,
        org: Option<&OrgId>,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<OutboxMessage>> {
        claim_outbox_by_reading(self, org, now, until, limit)
    }
}

/// [`Transaction::claim_outbox`]'s default, for a store that overrides it
/// only in some cases: the due messages ([`Transaction::due_outbox`]),
/// each written back due at `until`.
pub fn claim_outbox_by_reading<T: Transaction + ?Sized>(
    tx: &mut T,
    org: Option<&OrgId>,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
) -> StoreResult<Vec<OutboxMessage>> {
    let due = tx.due_outbox(org, now, limit)?;
    let mut out = Vec::with_capacity(due.len());
    for mut m in due {
        m.next_attempt_at = until;
        tx.put_outbox_message(m.clone())?;
        out.push(m);
    }
    Ok(out)
}

// (Added by the hooks part of issue 14, kept apart from the trait's
// other methods so that parallel additions merge.)
/// Where one recipient key stands in an organization
/// ([`Transaction::standing`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyStanding {
    /// The non-removed member holding the key.
    pub member: Option<MemberId>,
    /// The invitation for the key still open at the time asked about:
    /// staged, or pending and not past its expiry.
    pub invitation: Option<InvitationId>,
}

/// At most this many keys in one call of [`Transaction::standing`].
pub const MAX_STANDING_KEYS: usize = 10_000;

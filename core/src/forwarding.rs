//! A transaction that forwards every call to the transaction it wraps,
//! with hooks around the calls: the shape of every store that wraps
//! another (metrics, fault injection, a deliberately broken store for the
//! conformance suite's own tests).
//!
//! The list of [`Transaction`] methods is written once, in
//! [`for_each_method!`]: both [`TxHooks`] (one overridable method per call,
//! forwarding by default) and the [`Transaction`] impl of [`ForwardingTx`]
//! are generated from it, so a new trait method is added in one place.

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
use crate::store::{KeyStanding, PersonLookup, SeatCount, StoreResult, TokenKey, Transaction};
use crate::template::{EmailSettings, EmailTemplate};
use chrono::{DateTime, Utc};

/// Calls `$then!` with every [`Transaction`] method but `commit`: whether it
/// writes (`read` / `write`), its name, its arguments and what it returns
/// inside `StoreResult`.
macro_rules! for_each_method {
    ($then:ident) => {
        $then! {
            read organization(org: &OrgId) -> Option<Organization>;
            write put_organization(org: &Organization) -> ();
            read group(org: &OrgId, id: &GroupId) -> Option<Group>;
            read groups(org: &OrgId) -> Vec<Group>;
            write put_group(group: &Group) -> ();
            write delete_group(org: &OrgId, id: &GroupId) -> ();
            read member(org: &OrgId, id: &MemberId) -> Option<Member>;
            read member_by_contact(org: &OrgId, key: &str) -> Option<Member>;
            read member_by_user_ref(org: &OrgId, user_ref: &str) -> Option<Member>;
            write put_member(member: &Member) -> ();
            read list_members(org: &OrgId, query: &MemberQuery) -> Page<Member>;
            read count_active_with_role(org: &OrgId, role: &str) -> u64;
            read seat_count(org: &OrgId, license_type: &str) -> SeatCount;
            read seat_counts(org: &OrgId) -> Vec<(String, SeatCount)>;
            read invitation(org: &OrgId, id: &InvitationId) -> Option<StoredInvitation>;
            read invitation_by_secret(org: &OrgId, hash: &SecretHash) -> Option<StoredInvitation>;
            read invitation_by_token(org: &OrgId, token: TokenKey<'_>) -> Option<StoredInvitation>;
            read open_invitation_for(org: &OrgId, key: &str) -> Option<StoredInvitation>;
            write put_invitation(inv: &StoredInvitation) -> ();
            read list_invitations(
                org: &OrgId,
                query: &InvitationQuery,
                now: DateTime<Utc>
            ) -> Page<StoredInvitation>;
            read due_invitations(
                org: Option<&OrgId>,
                now: DateTime<Utc>,
                limit: usize
            ) -> Vec<StoredInvitation>;
            read invite_link(org: &OrgId) -> Option<StoredInviteLink>;
            write put_invite_link(link: &StoredInviteLink) -> ();
            write append_event(event: Event) -> u64;
            read events(org: &OrgId, after: u64, limit: usize) -> Vec<Event>;
            write put_outbox_message(msg: OutboxMessage) -> ();
            read outbox_message(id: &MessageId) -> Option<OutboxMessage>;
            read due_outbox(
                org: Option<&OrgId>,
                now: DateTime<Utc>,
                limit: usize
            ) -> Vec<OutboxMessage>;
            read next_outbox_due(org: Option<&OrgId>) -> Option<DateTime<Utc>>;
            read failed_outbox(org: &OrgId, after: Option<&str>, limit: u32) -> Page<OutboxMessage>;
            read queued_messages_for(org: &OrgId, invitation: &InvitationId) -> Vec<OutboxMessage>;
            write supersede_queued_messages(org: &OrgId, invitation: &InvitationId) -> ();
            read email_settings(org: &OrgId) -> Option<EmailSettings>;
            write put_email_settings(settings: &EmailSettings) -> ();
            read email_template(org: &OrgId, locale: &str) -> Option<EmailTemplate>;
            read email_templates(org: &OrgId) -> Vec<EmailTemplate>;
            write put_email_template(template: &EmailTemplate) -> ();
            write delete_email_template(org: &OrgId, locale: &str) -> bool;
            write put_batch_report(report: BatchReport) -> ();
            read batch_report(org: &OrgId, batch: &BatchId) -> Option<BatchReport>;
            write delete_batch_reports_before(
                org: &OrgId,
                before: DateTime<Utc>,
                limit: usize
            ) -> u64;
            read standing(
                org: &OrgId,
                keys: &[String],
                now: DateTime<Utc>
            ) -> Vec<(String, KeyStanding)>;
            read prefetch_recipients(org: &OrgId, keys: &[crate::Text]) -> ();
            read prefetch_acceptance(org: &OrgId, token: TokenKey<'_>, user_ref: &str) -> ();
            read people(org: &OrgId, query: &PeopleQuery, now: DateTime<Utc>) -> Page<Person>;
            read open_invitations_by_inviter(
                org: &OrgId,
                inviter: &MemberId,
                now: DateTime<Utc>
            ) -> u64;
            read event_feed(after: Option<&str>, kinds: &[String], limit: usize) -> Vec<crate::FeedEvent>;
            read organization_by_slug(slug: &str) -> Option<Organization>;
            read list_organizations(query: &OrganizationQuery) -> Page<Organization>;
            read memberships_of(
                user_ref: &str,
                after: Option<&str>,
                limit: u32
            ) -> Page<(Organization, Member)>;
            write purge_organization(org: &OrgId) -> ();
            read person_invitations(lookup: &PersonLookup, now: DateTime<Utc>) -> Page<StoredInvitation>;
            read org_domain(org: &OrgId, domain: &str) -> Option<StoredDomain>;
            read org_domains(org: &OrgId) -> Vec<StoredDomain>;
            write put_org_domain(domain: &StoredDomain) -> ();
            write delete_org_domain(org: &OrgId, domain: &str) -> bool;
            read verified_domain(domain: &str) -> Option<StoredDomain>;
            read membership_request(
                org: &OrgId,
                id: &MembershipRequestId
            ) -> Option<MembershipRequest>;
            read membership_request_of(org: &OrgId, user_ref: &str) -> Option<MembershipRequest>;
            write put_membership_request(request: &MembershipRequest) -> ();
            read membership_requests(
                org: &OrgId,
                query: &MembershipRequestQuery
            ) -> Page<MembershipRequest>;
            read link(org: &OrgId, id: &LinkId) -> Option<StoredInviteLink>;
            read link_by_secret(org: &OrgId, hash: &SecretHash) -> Option<StoredInviteLink>;
            read links(org: &OrgId, limit: usize) -> Vec<StoredInviteLink>;
            write put_link(link: &StoredInviteLink) -> ();
            write claim_outbox(
                org: Option<&OrgId>,
                now: DateTime<Utc>,
                until: DateTime<Utc>,
                limit: usize
            ) -> Vec<OutboxMessage>;
        }
    };
}

macro_rules! is_write {
    (read) => {
        false
    };
    (write) => {
        true
    };
}

/// One call through a [`ForwardingTx`], as [`TxHooks::before`] sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TxCall {
    /// The [`Transaction`] method's name (`"put_member"`, `"commit"`, ...).
    pub method: &'static str,
    /// Whether the method writes: every `put_*`, `delete_*`,
    /// `append_event`, and `commit`.
    pub write: bool,
}

macro_rules! hook_methods {
    ($($kind:ident $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty;)*) => {
        /// What a [`ForwardingTx`] does around the calls it forwards. Every
        /// method has a default: [`TxHooks::before`] lets every call
        /// through, and each method named after a [`Transaction`] method
        /// calls it on the wrapped transaction (`inner`) with the same
        /// arguments. Override the ones the wrapper changes: rewrite the
        /// arguments, the answer, or both.
        pub trait TxHooks {
            /// Called before every call, `commit` included; an error is
            /// returned in the call's place and the wrapped transaction is
            /// not called.
            fn before(&mut self, call: TxCall) -> StoreResult<()> {
                let _ = call;
                Ok(())
            }
            /// Commits the wrapped transaction (after [`TxHooks::before`]
            /// let the commit through).
            fn commit(&mut self, inner: Box<dyn Transaction + '_>) -> StoreResult<()> {
                inner.commit()
            }
            /// The wrapper is dropped without being committed; the default
            /// drops the wrapped transaction, which rolls back.
            fn dropped(&mut self, inner: Box<dyn Transaction + '_>) {
                drop(inner);
            }
            $(
                #[doc = concat!("Answers [`Transaction::", stringify!($name), "`] through the wrapped transaction.")]
                fn $name(&mut self, inner: &mut dyn Transaction, $($arg: $ty),*) -> StoreResult<$ret> {
                    inner.$name($($arg),*)
                }
            )*
        }

        impl<H: TxHooks> Transaction for ForwardingTx<'_, H> {
            fn commit(mut self: Box<Self>) -> StoreResult<()> {
                self.hooks.before(TxCall { method: "commit", write: true })?;
                match self.inner.take() {
                    Some(inner) => self.hooks.commit(inner),
                    None => Err(finished()),
                }
            }
            $(
                fn $name(&mut self, $($arg: $ty),*) -> StoreResult<$ret> {
                    self.hooks.before(TxCall {
                        method: stringify!($name),
                        write: is_write!($kind),
                    })?;
                    let inner = self.inner.as_deref_mut().ok_or_else(finished)?;
                    self.hooks.$name(inner, $($arg),*)
                }
            )*
        }
    };
}

for_each_method!(hook_methods);

/// A [`Transaction`] that forwards every call to the one it wraps, through
/// its [`TxHooks`]. Dropped without a commit, it hands the wrapped
/// transaction to [`TxHooks::dropped`] (by default: dropped, rolled back).
///
/// A store that wraps another returns one from [`crate::Store::begin`]:
///
/// ```
/// use enlist::{ForwardingTx, MemoryStore, Store, StoreResult, Transaction, TxCall, TxHooks};
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// /// Counts the writes of the store it wraps.
/// struct Writes<S> {
///     inner: S,
///     writes: AtomicU64,
/// }
///
/// struct CountWrites<'a>(&'a AtomicU64);
///
/// impl TxHooks for CountWrites<'_> {
///     fn before(&mut self, call: TxCall) -> StoreResult<()> {
///         if call.write {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///         Ok(())
///     }
/// }
///
/// impl<S: Store> Store for Writes<S> {
///     fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
///         let inner = self.inner.begin()?;
///         Ok(Box::new(ForwardingTx::new(inner, CountWrites(&self.writes))))
///     }
/// }
///
/// let store = Writes { inner: MemoryStore::new(), writes: AtomicU64::new(0) };
/// store.begin()?.commit()?;
/// assert_eq!(store.writes.load(Ordering::Relaxed), 1, "the commit is a write");
/// # Ok::<(), enlist::StoreError>(())
/// ```
pub struct ForwardingTx<'a, H: TxHooks> {
    // `None` once committed (`commit` takes it) or dropped.
    inner: Option<Box<dyn Transaction + 'a>>,
    hooks: H,
}

impl<'a, H: TxHooks> ForwardingTx<'a, H> {
    /// Wraps `inner`, calling `hooks` around each call.
    pub fn new(inner: Box<dyn Transaction + 'a>, hooks: H) -> Self {
        Self {
            inner: Some(inner),
            hooks,
        }
    }

    /// The hooks.
    pub fn hooks(&self) -> &H {
        &self.hooks
    }
}

impl<H: TxHooks> Drop for ForwardingTx<'_, H> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            self.hooks.dropped(inner);
        }
    }
}

/// The wrapped transaction is gone: only `commit` takes it, and it consumes
/// the wrapper, so no call can see this.
fn finished() -> StoreError {
    StoreError::Unavailable("the transaction is already committed".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MemoryStore, Store};
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Log {
        calls: Arc<Mutex<Vec<TxCall>>>,
        refuse: Option<&'static str>,
        dropped: Arc<Mutex<bool>>,
    }

    impl TxHooks for Log {
        fn before(&mut self, call: TxCall) -> StoreResult<()> {
            self.calls.lock().unwrap().push(call);
            if Some(call.method) == self.refuse {
                return Err(StoreError::Unavailable("refused".into()));
            }
            Ok(())
        }
        fn dropped(&mut self, inner: Box<dyn Transaction + '_>) {
            *self.dropped.lock().unwrap() = true;
            drop(inner);
        }
        fn organization(
            &mut self,
            inner: &mut dyn Transaction,
            org: &OrgId,
        ) -> StoreResult<Option<Organization>> {
            // An overridden answer.
            let _ = inner.organization(org)?;
            Err(StoreError::Unavailable("overridden".into()))
        }
    }

    #[test]
    fn every_call_passes_before_with_its_name_and_kind() {
        let store = MemoryStore::new();
        let log = Log::default();
        let calls = log.calls.clone();
        let mut tx = ForwardingTx::new(store.begin().unwrap(), log);
        let org = OrgId::from("o");
        assert!(tx.groups(&org).unwrap().is_empty());
        assert!(!tx.delete_email_template(&org, "fr").unwrap());
        assert_eq!(
            tx.organization(&org).unwrap_err().to_string(),
            StoreError::Unavailable("overridden".into()).to_string()
        );
        Box::new(tx).commit().unwrap();
        let seen: Vec<(&str, bool)> = calls
            .lock()
            .unwrap()
            .iter()
            .map(|c| (c.method, c.write))
            .collect();
        assert_eq!(
            seen,
            [
                ("groups", false),
                ("delete_email_template", true),
                ("organization", false),
                ("commit", true)
            ]
        );
    }

    #[test]
    fn a_refused_call_never_reaches_the_wrapped_transaction() {
        let store = MemoryStore::new();
        let org = Organization {
            id: OrgId::from("o"),
            name: "Acme".into(),
            policy: crate::Policy::default(),
            custom_roles: Vec::new(),
            created_at: Utc::now(),
            slug: String::new(),
            deleted_at: None,
        };
        let stored = |store: &MemoryStore| {
            let mut tx = store.begin().unwrap();
            tx.organization(&org.id).unwrap()
        };
        // Refused, then committed: had the write reached the inner
        // transaction, the commit would keep it.
        let refusing = Log {
            refuse: Some("put_organization"),
            ..Log::default()
        };
        let mut tx = ForwardingTx::new(store.begin().unwrap(), refusing);
        assert!(tx.put_organization(&org).is_err());
        Box::new(tx).commit().unwrap();
        assert_eq!(stored(&store), None);
        // Let through and dropped: the hook sees the drop, the inner
        // transaction rolls back.
        let log = Log::default();
        let dropped = log.dropped.clone();
        let mut tx = ForwardingTx::new(store.begin().unwrap(), log);
        tx.put_organization(&org).unwrap();
        drop(tx);
        assert!(*dropped.lock().unwrap(), "dropped, not committed");
        assert_eq!(stored(&store), None);
        // Let through and committed: kept.
        let mut tx = ForwardingTx::new(store.begin().unwrap(), Log::default());
        tx.put_organization(&org).unwrap();
        Box::new(tx).commit().unwrap();
        assert_eq!(stored(&store), Some(org.clone()));
    }
}

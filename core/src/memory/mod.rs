//! The in-memory store: a [`Store`] kept in process memory, for tests,
//! examples, demos and single-process deployments that can afford to lose
//! everything on restart.
//!
//! # Transactions: one at a time, with an undo log
//!
//! [`MemoryStore::begin`](Store::begin) takes the store's one mutex and the
//! returned transaction holds the guard until it is committed or dropped, so
//! transactions run strictly one after another (serializable by
//! construction; [`StoreError::Conflict`] never happens). That is the right
//! trade-off here: every operation is a few in-memory map look-ups
//! (microseconds), so the lock is held only as long as the engine's command
//! takes, and nothing ever waits on I/O while holding it.
//!
//! Writes are applied to the live state at once, so reads in the same
//! transaction see them. Each write also records an entry in an **undo
//! log**: the previous value of the key it touched (or "absent"), at the
//! level of whole entities (a member, an invitation, a message...).
//! [`Transaction::commit`] throws the log away. Dropping a transaction
//! without committing (an error, an early return, or a panic unwinding
//! through the engine) replays the log backwards, writing each previous
//! value back through the same code path that maintains the indexes. As
//! every index entry and every counter is a pure function of the entities,
//! restoring the entities that way restores the indexes and counters exactly
//! too. Nothing is ever cloned per transaction except the entities written;
//! a write costs `O(log n)`.
//!
//! The lock is core's [`WriterLock`], which every store whose transactions
//! run one at a time shares: a panic inside a transaction unwinds through
//! the transaction's `Drop`, which rolls back before the guard is released
//! (and the mutex poisoned), so the data behind a poisoned lock is
//! consistent and is taken anyway. A thread that calls `begin` while it
//! already holds a transaction of the same store gets
//! [`StoreError::Unavailable`] instead of deadlocking.
//!
//! # Indexes
//!
//! Everything of an organization lives in one shard keyed by its id (like a
//! database sharded by organization). In a shard:
//!
//! - entities: the organization itself, its invitation link, groups by id,
//!   events in a `Vec` (`seq` = position + 1); members and invitations in a
//!   hash map by id (boxed, each with its sort key, `(contact_key, id)` or
//!   `(created_at, id)`; the list orders are the indexes below, and the
//!   table keeps none of its own). A look-up by id, secret
//!   hash, contact or recipient key is one hash probe, never a descent
//!   through a tree of a million string keys, so it costs the same in an
//!   organization of a million as of a thousand; reads borrow the entity
//!   and a write whose sort key is unchanged replaces it in place;
//! - members: non-removed ones by contact key and by `user_ref` (the
//!   uniqueness rules), and ordered sets of `(contact_key, id)` split by
//!   status, for all members, per role, and per group. [`list_members`]
//!   picks the smallest applicable set (all / role / group), walks it from
//!   the cursor (merging the status sets asked for), and stops one match
//!   after the page. A page costs `O(log n)` plus the entries examined,
//!   which is the page size when the chosen index serves every filter but
//!   `search` (the status, and the role or the group). Group member counts
//!   and active members per role are the lengths of those sets; active
//!   seats per license type are a counter;
//! - invitations: by secret hash and open ones by recipient key (both
//!   unique), ordered sets of `(created_at, id)` per stored status and per
//!   batch for [`list_invitations`] (newest first), open seats per license
//!   type, and a due set `(expires_at, id)` of stored-pending invitations.
//!   Listed invitations are returned as stored; the status filter uses
//!   [`Invitation::status_at`] `now`;
//! - the people view (`people.rs`): for each of its sorts (name, email,
//!   role, date, last active) an ordered set of sort keys per stored
//!   label, and the search terms, built by the organization's first
//!   people-view read and kept on every member and invitation write from
//!   then on (an organization whose view is never read pays nothing for
//!   them). A page merges the sets of the labels it asks for from its
//!   cursor and stops after the page (the other filters tested on the
//!   rows walked); a search reads the terms the text is a prefix of and
//!   sorts the matches;
//! - outbox: the queued messages per invitation (a stored invitation
//!   holds the one with the smallest id itself, the usual one; the others,
//!   and those of invitations not stored, are listed per invitation) and a
//!   due set `(next_attempt_at, id)` of queued messages.
//!
//! Across organizations, the store keeps the outbox messages by id, the
//! global due sets of invitations and messages, for the background jobs,
//! and each person's stored-pending invitations (by recipient key and by
//! account: a hash look-up, then a short list in `(created_at, org, id)`
//! order) for the invitee's inbox.
//!
//! Invitations and outbox messages are kept packed (`packed.rs`): the
//! fields every one has inline, the ones most leave unset (names,
//! metadata, a closed invitation's dates; a queued email's subject,
//! bodies and error) in one box that one without them does without. The
//! indexes read the packed forms; a read makes a [`StoredInvitation`] or
//! an [`OutboxMessage`] of it, equal to what was put.
//!
//! Pages are assembled by core's [`merge_sorted`] and [`collect_page`], at
//! most [`MAX_PAGE`] items, as in every store. Page cursors are opaque:
//! hex-encoded sort keys. A cursor the store did
//! not make is refused with [`StoreError::InvalidCursor`] (which the
//! engine reports as invalid input on field `cursor`).
//!
//! [`StoreError::Conflict`]: crate::StoreError::Conflict
//! [`StoreError::Unavailable`]: crate::StoreError::Unavailable
//! [`StoreError::InvalidCursor`]: crate::StoreError::InvalidCursor
//! [`Invitation::status_at`]: crate::Invitation::status_at
//! [`StoredInvitation`]: crate::StoredInvitation
//! [`OutboxMessage`]: crate::OutboxMessage
//! [`WriterLock`]: crate::store::WriterLock
//! [`merge_sorted`]: crate::store::merge_sorted
//! [`collect_page`]: crate::store::collect_page
//! [`MAX_PAGE`]: crate::store::MAX_PAGE
//! [`list_members`]: Transaction::list_members
//! [`list_invitations`]: Transaction::list_invitations

mod domains;
mod log;
mod packed;
mod people;
mod state;
#[cfg(test)]
mod tests;
mod tx;
mod walk;

use crate::store::{Store, StoreResult, Transaction, WriterLock};
use state::State;
use std::fmt;
use tx::MemoryTx;

/// A [`Store`] in process memory. Cheap to create; share it as
/// `Arc<MemoryStore>` (or `Arc<dyn Store>`) between threads.
///
/// See the [module documentation](self) for the design.
#[derive(Default)]
pub struct MemoryStore {
    /// The state, held by one transaction at a time (which refuses a nested
    /// `begin` on the same thread instead of deadlocking).
    state: WriterLock<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never lock here: the caller may hold a transaction.
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl Store for MemoryStore {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        let mut state = self.state.lock("MemoryStore")?;
        let undo = state.spare_undo.take();
        Ok(Box::new(MemoryTx { state, undo }))
    }

    fn begin_read(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        // The same transaction, without room for writes it will not log.
        let state = self.state.lock("MemoryStore")?;
        Ok(Box::new(MemoryTx {
            state,
            undo: Vec::new(),
        }))
    }
}

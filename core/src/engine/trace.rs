//! Spans of the optional `tracing` feature: one per command
//! (`enlist.command`) and, inside it, one per store transaction
//! (`enlist.transaction`, from `begin` to commit or rollback).
//!
//! Every field is an id or a fixed word chosen here: the command's name,
//! the organization's id, counts, an outcome and an error's stable code.
//! No field is built from what a caller passes in (addresses, names,
//! messages, tokens, access codes), so no secret or address can reach a
//! subscriber. Without the feature these are empty types that compile
//! away.

use crate::error::{Error, Result, StoreError};
use crate::id::OrgId;

/// What the transaction of one attempt came to.
pub(crate) fn transaction_outcome<T>(out: &Result<T>) -> &'static str {
    match out {
        Ok(_) => "commit",
        Err(Error::Store(StoreError::Conflict)) => "conflict",
        Err(_) => "rollback",
    }
}

#[cfg(feature = "tracing")]
mod imp {
    use super::*;
    use tracing::field::Empty;

    /// The span of one command.
    pub(crate) struct Command(tracing::Span);

    /// The span of one store transaction, entered while it is open.
    pub(crate) struct Transaction(tracing::span::EnteredSpan);

    impl Command {
        pub(crate) fn start(command: &'static str) -> Self {
            Self(tracing::info_span!(
                "enlist.command",
                command,
                org = Empty,
                attempts = Empty,
                conflicts = Empty,
                outcome = Empty,
                error = Empty,
            ))
        }

        /// The organization the command turned out to work in.
        pub(crate) fn org(&self, org: &OrgId) {
            self.0.record("org", org.as_str());
        }

        /// Opens the span of transaction number `attempt` (from 1).
        pub(crate) fn transaction(&self, attempt: u32) -> Transaction {
            Transaction(
                tracing::debug_span!(
                    parent: &self.0,
                    "enlist.transaction",
                    attempt,
                    outcome = Empty,
                )
                .entered(),
            )
        }

        /// Records how the command ended: how many transactions it began,
        /// how many of them met a conflict, and its result.
        pub(crate) fn finish<T>(&self, attempts: u32, conflicts: u32, out: &Result<T>) {
            self.0.record("attempts", attempts);
            self.0.record("conflicts", conflicts);
            match out {
                Ok(_) => {
                    self.0.record("outcome", "ok");
                }
                Err(e) => {
                    self.0.record("outcome", "error");
                    self.0.record("error", e.code());
                }
            }
        }
    }

    impl Transaction {
        /// Records how the transaction ended and closes its span.
        pub(crate) fn end(self, outcome: &'static str) {
            self.0.record("outcome", outcome);
        }
    }
}

#[cfg(not(feature = "tracing"))]
mod imp {
    use super::*;

    pub(crate) struct Command;

    pub(crate) struct Transaction;

    impl Command {
        #[inline(always)]
        pub(crate) fn start(_command: &'static str) -> Self {
            Self
        }

        #[inline(always)]
        pub(crate) fn org(&self, _org: &OrgId) {}

        #[inline(always)]
        pub(crate) fn transaction(&self, _attempt: u32) -> Transaction {
            Transaction
        }

        #[inline(always)]
        pub(crate) fn finish<T>(&self, _attempts: u32, _conflicts: u32, _out: &Result<T>) {}
    }

    impl Transaction {
        #[inline(always)]
        pub(crate) fn end(self, _outcome: &'static str) {}
    }
}

pub(crate) use imp::Command;

//! Hooks in Kotlin and Swift (better-auth's `organizationHooks`): the
//! [`Hooks`] interface the app implements, called around every change the
//! engine records, and the event feed for webhooks.

use crate::engine::Enlist;
use crate::error::EnlistError;
use enlist::{EventFeed, HookChange};
use std::sync::Arc;

type Result<T, E = EnlistError> = std::result::Result<T, E>;

/// A hook's refusal (`HookException` in Kotlin): from `before`, the change
/// is refused with `reason` (the caller gets `EnlistException` with code
/// `hook_refused`, or one batch row `refused_by_hook`); from `after`, it is
/// only logged. Any other exception a hook throws counts as `Refused`, with
/// the first line of its text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum HookError {
    /// The hook says no.
    #[error("refused: {reason}")]
    Refused {
        /// Why, for the person who asked.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for HookError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        let first = e.reason.lines().next().unwrap_or_default().trim_end();
        HookError::Refused {
            reason: first.to_owned(),
        }
    }
}

/// The app's callbacks around every change the engine records
/// ([`Enlist::with_hooks`]). `before` runs inside the command's
/// transaction, after authorization and validation: throwing
/// `HookException.Refused` refuses the change and nothing of it is kept; it
/// must not call the engine. `after` runs once the command committed: what
/// it throws cannot undo or fail the command. Called on the thread that
/// called the engine.
#[uniffi::export(with_foreign)]
pub trait Hooks: Send + Sync {
    /// Before `change` is recorded: return to let it happen, throw to
    /// refuse it.
    fn before(&self, change: HookChange) -> Result<(), HookError>;
    /// After the command that recorded `change` committed.
    fn after(&self, change: HookChange) -> Result<(), HookError>;
}

/// An app's hooks as core's.
struct HooksAdapter(Arc<dyn Hooks>);

fn core_error(e: HookError) -> enlist::HookError {
    match e {
        HookError::Refused { reason } => enlist::HookError::new(reason),
    }
}

impl enlist::Hooks for HooksAdapter {
    fn before(&self, change: &HookChange) -> std::result::Result<(), enlist::HookError> {
        self.0.before(change.clone()).map_err(core_error)
    }

    fn after(&self, change: &HookChange) -> std::result::Result<(), enlist::HookError> {
        self.0.after(change.clone()).map_err(core_error)
    }
}

#[uniffi::export]
impl Enlist {
    /// This engine (the same store and settings) with `hooks` called
    /// around every change it records.
    pub fn with_hooks(&self, hooks: Arc<dyn Hooks>) -> Arc<Enlist> {
        Arc::new(Enlist::from_core(
            self.core()
                .clone()
                .with_hooks(Arc::new(HooksAdapter(hooks))),
        ))
    }

    /// The events of every organization after the cursor `after` (`null`:
    /// from the beginning), oldest first, at most `limit` (1 to 1000), only
    /// the `kinds` named (wire names such as `"invitation_accepted"`; empty
    /// for all). The host's feed for webhooks, at least once: deliver the
    /// events, then store `next`. It takes no actor: never let an end user
    /// reach it.
    #[uniffi::method(default(after = None, kinds = [], limit = 100))]
    pub fn event_feed(
        &self,
        after: Option<String>,
        kinds: Vec<String>,
        limit: u32,
    ) -> Result<EventFeed> {
        Ok(self.core().event_feed(after.as_deref(), &kinds, limit)?)
    }
}

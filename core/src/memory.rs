//! The in-memory store.

/// Placeholder.
#[derive(Debug, Default)]
pub struct MemoryStore;

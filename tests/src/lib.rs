//! Cross-crate tests of enlist.

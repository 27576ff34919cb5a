//! The integration tests of enlist: one binary, so the crate is linked once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod docs;
mod errors;
mod scenarios;
mod security;
mod store;
mod worker;

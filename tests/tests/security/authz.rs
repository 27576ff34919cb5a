//! Security tests: authz.

//! Security tests: import.

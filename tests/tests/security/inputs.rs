//! Security tests: inputs.

//! Security tests (issue 10): each proves one rule an attacker would try to
//! break, and fails on the code before its fix. One module per area.

mod authz;
mod email;
mod import;
mod inputs;
mod secrets;

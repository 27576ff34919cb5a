//! Every due email delivered to a mailer that keeps none: what a host's
//! outbox worker does before an invitee can click the link in one, for the
//! benches' accept-after-delivery figures (`memory.accept_after_delivery_us`,
//! `sqlite.accept_after_delivery`). Included by path
//! (`#[path = "../../benches/deliver.rs"] mod deliver;`), as `report.rs` is.
#![allow(dead_code)]

use enlist::{Enlist, MailError, Mailer, OutgoingEmail};

/// A mailer that accepts every email and keeps none.
pub struct Discard;

impl Mailer for Discard {
    fn send(&self, _email: &OutgoingEmail) -> Result<(), MailError> {
        Ok(())
    }
}

/// Delivers every due email of every organization.
pub fn deliver_all(e: &Enlist) {
    while !e
        .deliver_pending(&Discard, 10_000)
        .expect("deliver")
        .sent
        .is_empty()
    {}
}

//! What the Postgres throughput bench and the `statement_costs` example
//! both set up: sizes from the environment, an organization with its
//! owner, batches of invitations by email.

use enlist::{
    Actor, CreatedOrganization, Enlist, InviteRequest, NewOrganization, OrgId, RecipientInput,
    Recipients,
};

/// The environment variable `name` as a number, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A new organization and its owner, acting.
pub fn new_org(e: &Enlist) -> (OrgId, Actor) {
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = e
        .create_organization(
            NewOrganization::new("Bench", "owner", "owner@bench.test").with_owner_name("O", "W"),
        )
        .expect("org");
    (org.id, Actor::Member(owner.id))
}

/// Invitations by email to `person{from}@bench.test` and the `n - 1`
/// after.
pub fn batch(from: usize, n: usize) -> InviteRequest {
    InviteRequest::new(Recipients::List(
        (from..from + n)
            .map(|i| RecipientInput::email(format!("person{i}@bench.test")))
            .collect(),
    ))
}

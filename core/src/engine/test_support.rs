//! Fixtures shared by the engine's unit tests: an organization with its
//! owner, a group, and a member who joined by invitation (invite, then
//! accept), written once for every module's tests.

use super::{CreatedOrganization, Enlist, InviteRequest, NewGroup, NewOrganization, Recipients};
use crate::event::Actor;
use crate::group::Group;
use crate::id::OrgId;
use crate::invitation::Registration;
use crate::member::Member;
use crate::policy::Policy;

/// Creates the organization "Acme" with `policy`, owned by the account
/// `user_ref` at `email`: its id and its owner.
pub(crate) fn org(engine: &Enlist, user_ref: &str, email: &str, policy: Policy) -> (OrgId, Actor) {
    let CreatedOrganization {
        organization,
        owner,
        ..
    } = engine
        .create_organization(NewOrganization::new("Acme", user_ref, email).with_policy(policy))
        .expect("create the organization");
    (organization.id, Actor::Member(owner.id))
}

/// A group named `name`, created by `actor`.
pub(crate) fn group(engine: &Enlist, org: &OrgId, actor: &Actor, name: &str) -> Group {
    engine
        .create_group(
            org,
            actor,
            NewGroup {
                name: name.into(),
                ..NewGroup::default()
            },
        )
        .expect("create the group")
}

/// A registration of the account `user_ref`, named `first last`.
pub(crate) fn registration(user_ref: &str, (first, last): (&str, &str)) -> Registration {
    Registration {
        user_ref: user_ref.into(),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        ..Registration::default()
    }
}

/// The member who accepted the first invitation `request` issues (sent
/// by `inviter`) with `registration`.
pub(crate) fn join(
    engine: &Enlist,
    org: &OrgId,
    inviter: &Actor,
    request: InviteRequest,
    registration: Registration,
) -> Member {
    let report = engine.invite(org, inviter, request).expect("invite");
    let token = report.issued[0].secret.clone().expect("a secret");
    engine
        .accept(token.expose(), registration)
        .expect("accept")
        .member
}

/// The member who joined at `email` with `role`, invited by `inviter`, as
/// the account `user_ref` named `names`.
pub(crate) fn member_with_role(
    engine: &Enlist,
    org: &OrgId,
    inviter: &Actor,
    (email, role): (&str, &str),
    user_ref: &str,
    names: (&str, &str),
) -> Member {
    join(
        engine,
        org,
        inviter,
        InviteRequest::new(Recipients::Paste(email.into())).role(role),
        registration(user_ref, names),
    )
}

/// As an actor, the member who joined at `email` with `role`, invited by
/// `inviter`, as the account `acct-<email>` named Uma Admin.
pub(crate) fn actor_with_role(
    engine: &Enlist,
    org: &OrgId,
    inviter: &Actor,
    email: &str,
    role: &str,
) -> Actor {
    let m = member_with_role(
        engine,
        org,
        inviter,
        (email, role),
        &format!("acct-{email}"),
        ("Uma", "Admin"),
    );
    Actor::Member(m.id)
}

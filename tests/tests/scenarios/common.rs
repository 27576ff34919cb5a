//! Shared helpers of the seed scenarios: a deterministic engine (MemoryStore,
//! ManualClock, SeededSecrets), an organization with its owner, and short
//! ways to read the audit trail, list invitations and bring people in.
//!
//! Every helper goes through the public API of `enlist` only, and panics
//! (with the engine's error) when a step that is setup, not the thing under
//! test, fails. Keep this module small and stable: several seed files use it.

// Each seed file uses a different subset of these helpers.
#![allow(dead_code)]

use chrono::Duration;
use enlist::{
    Acceptance, Actor, CreatedOrganization, Enlist, Event, EventKind, Invitation, InvitationQuery,
    InvitationStatus, InviteRequest, IssuedInvitation, ManualClock, Member, MemoryStore,
    NewOrganization, OrgId, Organization, Policy, RecipientInput, Recipients, Registration,
    SeededSecrets,
};
use std::sync::Arc;

/// The instant every scenario starts at (2023-11-14T22:13:20Z).
pub const START_EPOCH_SECS: i64 = 1_700_000_000;

/// The owner's account id in the host application.
pub const OWNER_REF: &str = "acct-owner";

/// The owner's email.
pub const OWNER_EMAIL: &str = "owner@acme.test";

/// An engine over a fresh [`MemoryStore`], driven by a [`ManualClock`]
/// standing at [`START_EPOCH_SECS`] and a [`SeededSecrets`] source.
pub fn engine() -> (Enlist, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at_epoch_seconds(START_EPOCH_SECS));
    let engine = Enlist::new(Arc::new(MemoryStore::new()))
        .with_clock(clock.clone())
        .with_secrets(Arc::new(SeededSecrets::new(7)));
    (engine, clock)
}

/// An organization, its owner, and the engine and clock it lives in.
pub struct Org {
    /// The engine.
    pub engine: Enlist,
    /// The clock driving the engine.
    pub clock: Arc<ManualClock>,
    /// The organization as created.
    pub org: Organization,
    /// Its first member, an active owner ([`OWNER_REF`], [`OWNER_EMAIL`]).
    pub owner: Member,
}

/// "Acme" with the default policy and its owner.
pub fn org_with_owner() -> Org {
    org_with_policy(Policy::default())
}

/// "Acme" with `policy` and its owner.
pub fn org_with_policy(policy: Policy) -> Org {
    let (engine, clock) = engine();
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(
            NewOrganization::new("Acme", OWNER_REF, OWNER_EMAIL)
                .with_owner_name("Olive", "Owner")
                .with_policy(policy),
        )
        .expect("create the organization");
    Org {
        engine,
        clock,
        org,
        owner,
    }
}

/// A registration that meets the default policy: an account id, a first
/// and a last name.
pub fn registration(user_ref: &str) -> Registration {
    Registration {
        user_ref: user_ref.to_owned(),
        first_name: Some("Test".to_owned()),
        last_name: Some(format!("Person {user_ref}")),
        ..Registration::default()
    }
}

/// Accepts `token` with a complete [`registration`] for `user_ref`.
pub fn accept(engine: &Enlist, token: &str, user_ref: &str) -> Acceptance {
    engine
        .accept(token, registration(user_ref))
        .expect("accept the invitation")
}

/// The raw accept token of an issued (sent) invitation.
pub fn token_of(issued: &IssuedInvitation) -> String {
    issued
        .secret
        .as_ref()
        .expect("a sent invitation carries its secret")
        .expose()
        .to_owned()
}

/// The token in an accept link (`...?token=<token>`), as a host's landing
/// page would read it.
pub fn token_from_url(url: &str) -> String {
    let (_, rest) = url.split_once("token=").expect("the link has a token");
    rest.split('&').next().unwrap_or_default().to_owned()
}

/// The actor for a member.
pub fn as_member(m: &Member) -> Actor {
    Actor::Member(m.id.clone())
}

impl Org {
    /// The organization's id.
    pub fn id(&self) -> &OrgId {
        &self.org.id
    }

    /// The owner as an actor.
    pub fn owner_actor(&self) -> Actor {
        as_member(&self.owner)
    }

    /// Moves the clock.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The whole audit trail, oldest first (read as the system).
    pub fn events(&self) -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        loop {
            let after = out.last().map_or(0, |e| e.seq);
            let page = self
                .engine
                .events(self.id(), &Actor::System, after, 1000)
                .expect("read the audit trail");
            if page.is_empty() {
                return out;
            }
            out.extend(page);
        }
    }

    /// The events appended after the first `n` (use `events().len()` as a
    /// mark before a command).
    pub fn events_after(&self, n: usize) -> Vec<EventKind> {
        self.events().into_iter().skip(n).map(|e| e.kind).collect()
    }

    /// Every invitation with one of `statuses` (all when empty), as of now.
    pub fn invitations(&self, statuses: &[InvitationStatus]) -> Vec<Invitation> {
        let mut out = Vec::new();
        let mut query = InvitationQuery {
            statuses: statuses.to_vec(),
            limit: 1000,
            ..InvitationQuery::default()
        };
        loop {
            let page = self
                .engine
                .list_invitations(self.id(), &Actor::System, &query)
                .expect("list invitations");
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => query.after = Some(c),
                None => return out,
            }
        }
    }

    /// Brings `email` in as an active member with `role`: invited by the
    /// system, accepted by account `user_ref`.
    pub fn join(&self, email: &str, role: &str, user_ref: &str) -> Member {
        self.join_with(RecipientInput::email(email), role, user_ref)
    }

    /// Like [`Org::join`] with a full recipient row (groups, license, ...).
    pub fn join_with(&self, row: RecipientInput, role: &str, user_ref: &str) -> Member {
        let report = self
            .engine
            .invite(
                self.id(),
                &Actor::System,
                InviteRequest::new(Recipients::List(vec![row])).role(role),
            )
            .expect("invite");
        assert!(
            report.rejected.is_empty(),
            "setup invitation rejected: {:?}",
            report.rejected
        );
        accept(&self.engine, &token_of(&report.issued[0]), user_ref).member
    }
}

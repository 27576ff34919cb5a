//! What every conformance test stands on: a deterministic engine over the
//! store under test, a transcript of everything the engine answered, and
//! the comparison of that transcript with the one [`MemoryStore`] (the
//! reference implementation) gives for the same sequence of commands.

use crate::{
    Actor, Enlist, Error, Event, Invitation, InvitationQuery, InvitationStatus, InviteRequest,
    IssuedInvitation, ManualClock, Member, MemberQuery, MemberStatus, MemoryStore, NewOrganization,
    OrgId, Organization, Page, Policy, RecipientInput, Recipients, Registration, SeededSecrets,
    Store,
};
use chrono::{DateTime, Duration, Utc};
use std::fmt::Debug;
use std::sync::Arc;

/// How a test gets a fresh, empty store of the kind under test.
pub type MakeStore<'a> = &'a dyn Fn() -> Arc<dyn Store>;

/// The instant every test starts at (2023-11-14T22:13:20Z).
pub const START_EPOCH_SECS: i64 = 1_700_000_000;

/// The seed of the secret source of a test's main engine.
pub const SEED: u64 = 7;

/// `START_EPOCH_SECS + secs`, as a time.
pub fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(START_EPOCH_SECS + secs, 0).expect("a valid time")
}

/// An engine over one store, its clock, and the transcript of what it
/// answered.
pub struct Env {
    /// The engine.
    pub engine: Enlist,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    log: Vec<String>,
}

impl Env {
    /// An engine over `store` with a manual clock at [`START_EPOCH_SECS`]
    /// and a secret source seeded with `seed`.
    pub fn new(store: Arc<dyn Store>, seed: u64) -> Self {
        let clock = Arc::new(ManualClock::at_epoch_seconds(START_EPOCH_SECS));
        let engine = Enlist::new(store)
            .with_clock(clock.clone())
            .with_secrets(Arc::new(SeededSecrets::new(seed)));
        Self {
            engine,
            clock,
            log: Vec::new(),
        }
    }

    /// Records a value in the transcript (its `Debug` form).
    pub fn rec(&mut self, label: &str, value: &dyn Debug) {
        self.log.push(format!("{label}: {value:?}"));
    }

    /// Records a result: the value, or the error's code and message (only
    /// the code for storage errors, whose text is the store's own).
    pub fn rec_result<T: Debug>(&mut self, label: &str, r: &Result<T, Error>) {
        let line = match r {
            Ok(v) => format!("{label}: ok {v:?}"),
            Err(e @ Error::Store(_)) => format!("{label}: error {}", e.code()),
            Err(e) => format!("{label}: error {} {e}", e.code()),
        };
        self.log.push(line);
    }

    /// Records a page's items and whether it has a next page (cursors are
    /// the store's own format, so their text is not compared).
    pub fn rec_page<T: Debug>(&mut self, label: &str, page: &Page<T>) {
        self.log.push(format!(
            "{label}: {:?} more={}",
            page.items,
            page.next_cursor.is_some()
        ));
    }

    /// The transcript so far.
    pub fn transcript(&self) -> &[String] {
        &self.log
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The engine's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.engine.now()
    }

    /// Creates "Acme" with `policy` and an owner (`acct-owner`,
    /// `owner@acme.test`), recording the result.
    pub fn org_with_policy(&mut self, policy: Policy) -> (Organization, Member) {
        let r = self.engine.create_organization(
            NewOrganization::new("Acme", "acct-owner", "owner@acme.test")
                .with_owner_name("Olive", "Owner")
                .with_policy(policy),
        );
        self.rec_result("create_organization", &r);
        let created = r.expect("create the organization");
        (created.organization, created.owner)
    }

    /// "Acme" with the default policy.
    pub fn org(&mut self) -> (Organization, Member) {
        self.org_with_policy(Policy::default())
    }

    /// The whole audit trail of `org`, oldest first, read in pages of
    /// `page` events from the last seq seen.
    pub fn events_paged(&self, org: &OrgId, page: u32) -> Vec<Event> {
        let mut out: Vec<Event> = Vec::new();
        loop {
            let after = out.last().map_or(0, |e| e.seq);
            let got = self
                .engine
                .events(org, &Actor::System, after, page)
                .expect("read the audit trail");
            assert!(got.len() <= page as usize, "a page larger than asked for");
            if got.is_empty() {
                return out;
            }
            out.extend(got);
        }
    }

    /// The whole audit trail of `org`.
    pub fn events(&self, org: &OrgId) -> Vec<Event> {
        self.events_paged(org, 1000)
    }

    /// Every member matching `query`, walking its pages (as the system).
    pub fn members(&self, org: &OrgId, mut query: MemberQuery) -> Vec<Member> {
        let mut out = Vec::new();
        for _ in 0..10_000 {
            let page = self
                .engine
                .list_members(org, &Actor::System, &query)
                .expect("list members");
            assert!(page.items.len() <= query.limit as usize);
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => query.after = Some(c),
                None => return out,
            }
        }
        panic!("member pagination does not end");
    }

    /// Members with one of `statuses` (active and inactive when empty).
    pub fn members_with(&self, org: &OrgId, statuses: &[MemberStatus]) -> Vec<Member> {
        self.members(
            org,
            MemberQuery {
                statuses: statuses.to_vec(),
                limit: 1000,
                ..MemberQuery::default()
            },
        )
    }

    /// Every invitation matching `query`, walking its pages.
    pub fn invitations(&self, org: &OrgId, mut query: InvitationQuery) -> Vec<Invitation> {
        let mut out = Vec::new();
        for _ in 0..10_000 {
            let page = self
                .engine
                .list_invitations(org, &Actor::System, &query)
                .expect("list invitations");
            assert!(page.items.len() <= query.limit as usize);
            out.extend(page.items);
            match page.next_cursor {
                Some(c) => query.after = Some(c),
                None => return out,
            }
        }
        panic!("invitation pagination does not end");
    }

    /// Invitations with one of `statuses` (all when empty), as of now.
    pub fn invitations_with(&self, org: &OrgId, statuses: &[InvitationStatus]) -> Vec<Invitation> {
        self.invitations(
            org,
            InvitationQuery {
                statuses: statuses.to_vec(),
                limit: 1000,
                ..InvitationQuery::default()
            },
        )
    }

    /// Invites one email address as the system and accepts it as
    /// `user_ref`: the new member.
    pub fn join(&mut self, org: &OrgId, email: &str, role: &str, user_ref: &str) -> Member {
        self.join_with(org, RecipientInput::email(email), role, user_ref)
    }

    /// Like [`Env::join`] with a whole recipient row.
    pub fn join_with(
        &mut self,
        org: &OrgId,
        row: RecipientInput,
        role: &str,
        user_ref: &str,
    ) -> Member {
        let report = self
            .engine
            .invite(
                org,
                &Actor::System,
                InviteRequest::new(Recipients::List(vec![row])).role(role),
            )
            .expect("invite");
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        let token = token_of(&report.issued[0]);
        let r = self.engine.accept(&token, registration(user_ref));
        self.rec_result("join", &r);
        r.expect("accept").member
    }
}

/// A registration that meets the default policy.
pub fn registration(user_ref: &str) -> Registration {
    Registration {
        user_ref: user_ref.to_owned(),
        first_name: Some("Test".to_owned()),
        last_name: Some(format!("Person {user_ref}")),
        ..Registration::default()
    }
}

/// The secret of an issued invitation.
pub fn token_of(issued: &IssuedInvitation) -> String {
    issued
        .secret
        .as_ref()
        .expect("a sent invitation carries its secret")
        .expose()
        .to_owned()
}

/// The actor for a member.
pub fn as_member(m: &Member) -> Actor {
    Actor::Member(m.id.clone())
}

/// The error code of a result, or `"ok"`.
pub fn code<T>(r: &Result<T, Error>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

/// Runs `scenario` on the store under test, then on a fresh [`MemoryStore`]
/// with the same clock and seed, and checks that the engine answered the
/// same on both. The scenario asserts its own expectations as it goes, so
/// a store that fails one stops at the step that says what is wrong.
pub fn same_as_memory(make: MakeStore<'_>, scenario: fn(&mut Env)) {
    let mut subject = Env::new(make(), SEED);
    scenario(&mut subject);
    let mut reference = Env::new(Arc::new(MemoryStore::new()), SEED);
    scenario(&mut reference);
    let (a, b) = (subject.transcript(), reference.transcript());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(
            x, y,
            "step {i}: the store answered differently from MemoryStore \
             (left: the store under test, right: MemoryStore)"
        );
    }
    assert_eq!(
        a.len(),
        b.len(),
        "the transcripts have different lengths ({} vs {} for MemoryStore)",
        a.len(),
        b.len()
    );
}

//! Property tests of the [`Transaction`] contract: random sequences of
//! writes, each transaction committed or dropped, checked after every
//! write against
//! - a naive model of the uniqueness rules and of every read
//!   ([`matches_a_naive_model`]), and
//! - MemoryStore, the reference, read for read
//!   ([`reads_like_the_memory_store`]).
//!
//! Both run [`CASES`] cases (or `PROPTEST_CASES` when set); a failure
//! prints the shrunk sequence of writes.

use super::entities::{
    begin, event, group, hash, invitation, link, member, message, organization, t,
};
use super::feed::read_until_settled;
use super::harness::MakeStore;
use super::snapshot::{Snapshot, all_invitations, all_members, snapshot};
use crate::{
    BatchId, GroupGrant, GroupId, InvitationId, InvitationQuery, InvitationStatus, Member,
    MemberId, MemberQuery, MemberSort, MemberStatus, MemoryStore, MessageId, OrgId, OutboxStatus,
    SeatCount, Store, StoreError, StoreResult, StoredInvitation, TokenKey, Transaction,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Cases per property when `PROPTEST_CASES` is not set.
pub const CASES: u32 = 48;

const ROLES: [&str; 3] = ["owner", "admin", "member"];
const LICENSES: [&str; 2] = ["standard", "pro"];
const MEMBER_STATUSES: [MemberStatus; 3] = [
    MemberStatus::Active,
    MemberStatus::Inactive,
    MemberStatus::Removed,
];
const INVITATION_STATUSES: [InvitationStatus; 6] = [
    InvitationStatus::Staged,
    InvitationStatus::Pending,
    InvitationStatus::Accepted,
    InvitationStatus::Declined,
    InvitationStatus::Revoked,
    InvitationStatus::Expired,
];
const OUTBOX_STATUSES: [OutboxStatus; 4] = [
    OutboxStatus::Queued,
    OutboxStatus::Sent,
    OutboxStatus::Failed,
    OutboxStatus::Superseded,
];

/// Organization `n` of the tests (`org_0`, `org_1`).
pub fn org_id(n: u8) -> OrgId {
    OrgId::from(format!("org_{n}"))
}

/// One write, in small numbers, so that random ones collide often: two
/// organizations, six ids, four contacts, three user refs, four secrets.
#[derive(Clone, Debug)]
#[allow(missing_docs)] // the fields are indexes into the tables above
pub enum Op {
    /// `put_member`.
    Member {
        org: u8,
        id: u8,
        contact: u8,
        user_ref: Option<u8>,
        role: u8,
        status: u8,
        license: u8,
        groups: Vec<u8>,
        person: PersonParts,
    },
    /// `put_invitation`.
    Invitation {
        org: u8,
        id: u8,
        recipient: u8,
        status: u8,
        secret: Option<u8>,
        license: u8,
        expires: Option<i64>,
        batch: u8,
        created: i64,
        name: Option<usize>,
        /// The account it is bound to (`u{n}`), if any.
        account: Option<u8>,
        /// The member who issued it (`mem_{n}`), if one did.
        inviter: Option<u8>,
    },
    /// `append_event` of one of three kinds ([`model_event`]), about
    /// `inv_{n}` / `mem_{n}`, at `t(n)`.
    Event { org: u8, n: u8, kind: u8 },
    /// `put_outbox_message`. Message ids are unique across organizations
    /// (the engine makes them random; stores may rely on it), so `id` is
    /// made per organization.
    Message {
        org: u8,
        id: u8,
        invitation: u8,
        status: u8,
        next: i64,
        created: i64,
    },
    /// `supersede_queued_messages` of an invitation (`inv_{invitation}`).
    Supersede { org: u8, invitation: u8 },
    /// `put_organization` under another name ("Renamed {name}"), with
    /// slug `s{slug}` (none for 0: two organizations may share one of two
    /// slugs, which is refused), deleted or not.
    Organization {
        org: u8,
        name: u8,
        slug: u8,
        deleted: bool,
    },
    /// `put_link`: the default link (`id` 0) or `lnk_1`, `lnk_2`, with one
    /// of two secrets of its own (no two links share one: the engine never
    /// gives two links one secret), or none.
    Link {
        org: u8,
        id: u8,
        secret: Option<u8>,
        active: bool,
        created: i64,
    },
    /// `put_org_domain` of `d{domain}.test`, pending or verified, or
    /// `delete_org_domain`.
    Domain {
        org: u8,
        domain: u8,
        verified: bool,
        delete: bool,
    },
    /// `put_membership_request` `req_{id}` of account `u{account}`.
    Request {
        org: u8,
        id: u8,
        account: u8,
        status: u8,
        created: i64,
    },
    /// `claim_outbox` of the messages due at `t(now)` (of one
    /// organization or all), at most `limit`, each due again at
    /// `t(until)`.
    Claim {
        org: Option<u8>,
        now: i64,
        until: i64,
        limit: usize,
    },
    /// `put_email_template` of locale [`LOCALES`]`[locale]` (version `n`),
    /// or `delete_email_template`.
    Template {
        org: u8,
        locale: u8,
        n: i64,
        delete: bool,
    },
    /// `put_batch_report` of batch `bat_r{batch}`, made at `t(created)`,
    /// with `rows` issued rows.
    Report {
        org: u8,
        batch: u8,
        created: i64,
        rows: u64,
    },
    /// `delete_batch_reports_before(t(before))`, at most `limit`.
    PruneReports { org: u8, before: i64, limit: usize },
    /// `put_email_settings`: locale [`LOCALES`]`[locale]`, with a default
    /// message or without.
    Settings { org: u8, locale: u8, message: bool },
    /// `purge_organization`: everything of it goes; later writes make it
    /// again under the same id.
    Purge { org: u8 },
    /// `put_group` (`delete: false`) or `delete_group`.
    Group {
        org: u8,
        id: u8,
        name: u8,
        is_default: bool,
        delete: bool,
    },
    /// A read-ahead hint: `prefetch_acceptance` of invitation `inv_{id}`
    /// (or, for an older token, the secret `hash(id)`) for account
    /// `u{account}`, then the organization read, as an accept reads it
    /// first; without `accept`, a batch's `prefetch_recipients` of the
    /// keys `c{k}`. Nothing is observed after it: the next write comes
    /// between the hint and the reads it serves, which must still answer
    /// as if no hint had been given.
    Prefetch {
        org: u8,
        keys: Vec<u8>,
        accept: Option<(u8, bool, u8)>,
    },
}

/// Names people are given (an index into it): one is another person's
/// contact key, one begins with what the observed search asks for, and
/// some tie once case-folded, so the people view's name keys, search
/// terms and ties are all exercised.
const NAMES: [(&str, Option<&str>); 4] = [
    ("Ann", Some("Lee")),
    ("c2", None),
    ("C1", Some("Smith")),
    ("ann", Some("lee")),
];

/// What a person written by [`Op::Member`] carries beside its keys: a
/// name ([`NAMES`]), when it joined (`t(joined)`) and when it was last
/// active (`t(active)`, or never).
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct PersonParts {
    pub name: Option<usize>,
    pub joined: i64,
    pub active: Option<i64>,
}

fn person_strategy() -> impl Strategy<Value = PersonParts> {
    (
        proptest::option::of(0..NAMES.len()),
        0..4i64,
        proptest::option::of(0..20i64),
    )
        .prop_map(|(name, joined, active)| PersonParts {
            name,
            joined,
            active,
        })
}

/// Random writes: members and invitations most often.
pub fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (
            0..2u8,
            0..6u8,
            0..4u8,
            proptest::option::of(0..3u8),
            0..3u8,
            0..3u8,
            0..2u8,
            proptest::collection::vec(0..3u8, 0..3),
            person_strategy(),
        )
            .prop_map(
                |(org, id, contact, user_ref, role, status, license, groups, person)| Op::Member {
                    org,
                    id,
                    contact,
                    user_ref,
                    role,
                    status,
                    license,
                    groups,
                    person,
                }
            ),
        8 => (
            0..2u8,
            0..6u8,
            0..4u8,
            0..6u8,
            proptest::option::of(0..4u8),
            0..2u8,
            proptest::option::of(0..20i64),
            0..2u8,
            0..5i64,
            (
                proptest::option::of(0..NAMES.len()),
                proptest::option::weighted(0.3, 0..3u8),
                proptest::option::weighted(0.7, 0..3u8),
            ),
        )
            .prop_map(
                |(
                    org,
                    id,
                    recipient,
                    status,
                    secret,
                    license,
                    expires,
                    batch,
                    created,
                    (name, account, inviter),
                )| {
                    Op::Invitation {
                        org,
                        id,
                        recipient,
                        status,
                        secret,
                        license,
                        expires,
                        batch,
                        created,
                        name,
                        account,
                        inviter,
                    }
                }
            ),
        2 => (0..2u8, 0..4u8, 0..3u8).prop_map(|(org, n, kind)| Op::Event { org, n, kind }),
        2 => (0..2u8, 0..4u8, 0..4u8, 0..4u8, 0..20i64, 0..5i64).prop_map(
            |(org, id, invitation, status, next, created)| Op::Message {
                org,
                id,
                invitation,
                status,
                next,
                created,
            }
        ),
        2 => (0..2u8, 0..4u8).prop_map(|(org, invitation)| Op::Supersede { org, invitation }),
        2 => (0..2u8, 0..3u8, 0..3u8, any::<bool>()).prop_map(|(org, name, slug, deleted)| {
            Op::Organization {
                org,
                name,
                slug,
                deleted,
            }
        }),
        1 => (0..2u8).prop_map(|org| Op::Purge { org }),
        1 => (0..2u8, 0..3u8, 0..5i64, 0..3u64).prop_map(|(org, batch, created, rows)| {
            Op::Report {
                org,
                batch,
                created,
                rows,
            }
        }),
        1 => (0..2u8, 0..6i64, 1..3usize).prop_map(|(org, before, limit)| Op::PruneReports {
            org,
            before,
            limit
        }),
        1 => (0..2u8, 0..3u8, any::<bool>()).prop_map(|(org, locale, message)| Op::Settings {
            org,
            locale,
            message
        }),
        2 => (proptest::option::of(0..2u8), 0..20i64, 0..30i64, 1..4usize).prop_map(
            |(org, now, until, limit)| Op::Claim {
                org,
                now,
                until,
                limit,
            }
        ),
        1 => (0..2u8, 0..3u8, 0..3i64, proptest::bool::weighted(0.3)).prop_map(
            |(org, locale, n, delete)| Op::Template {
                org,
                locale,
                n,
                delete,
            }
        ),
        2 => (0..2u8, 0..3u8, any::<bool>(), proptest::bool::weighted(0.2)).prop_map(
            |(org, domain, verified, delete)| Op::Domain {
                org,
                domain,
                verified,
                delete,
            }
        ),
        2 => (0..2u8, 0..3u8, 0..3u8, 0..3u8, 0..5i64).prop_map(
            |(org, id, account, status, created)| Op::Request {
                org,
                id,
                account,
                status,
                created,
            }
        ),
        2 => (0..2u8, 0..3u8, proptest::option::of(0..2u8), any::<bool>(), 0..5i64).prop_map(
            |(org, id, secret, active, created)| Op::Link {
                org,
                id,
                secret,
                active,
                created,
            }
        ),
        2 => (0..2u8, 0..3u8, 0..3u8, any::<bool>(), proptest::bool::weighted(0.25)).prop_map(
            |(org, id, name, is_default, delete)| Op::Group {
                org,
                id,
                name,
                is_default,
                delete,
            }
        ),
        3 => prefetch_strategy(),
    ]
}

fn prefetch_strategy() -> impl Strategy<Value = Op> {
    (
        0..2u8,
        proptest::collection::vec(0..5u8, 0..4),
        proptest::option::of((0..6u8, any::<bool>(), 0..3u8)),
    )
        .prop_map(|(org, keys, accept)| Op::Prefetch { org, keys, accept })
}

/// Transactions of one to seven writes, each committed (`true`) or
/// dropped. Some begin with read-ahead hints ([`Op::Prefetch`]), as the
/// engine's batches and accepts do, where the hinted organization is not
/// yet read in the transaction.
pub fn transactions_strategy() -> impl Strategy<Value = Vec<(Vec<Op>, bool)>> {
    proptest::collection::vec(
        (
            proptest::option::weighted(0.4, prefetch_strategy()),
            proptest::collection::vec(op_strategy(), 1..8),
            any::<bool>(),
        )
            .prop_map(|(first, ops, commit)| (first.into_iter().chain(ops).collect(), commit)),
        1..8,
    )
}

/// The member an [`Op::Member`] writes.
fn build_member(op: &Op) -> Option<Member> {
    let Op::Member {
        org,
        id,
        contact,
        user_ref,
        role,
        status,
        license,
        groups,
        person,
    } = op
    else {
        return None;
    };
    let mut m = member(&org_id(*org), &format!("mem_{id}"), &format!("c{contact}"));
    if let Some((first, last)) = person.name.map(|n| NAMES[n]) {
        m.first_name = Some(first.into());
        m.last_name = last.map(str::to_owned);
    }
    m.joined_at = t(person.joined);
    m.last_active_at = person.active.map(t);
    m.user_ref = user_ref.map(|u| format!("u{u}"));
    m.role = ROLES[usize::from(*role)].into();
    m.status = MEMBER_STATUSES[usize::from(*status)];
    m.license_type = LICENSES[usize::from(*license)].into();
    m.groups = groups
        .iter()
        .map(|g| GroupGrant::member(GroupId::from(format!("grp_{g}"))))
        .collect();
    Some(m)
}

/// The invitation an [`Op::Invitation`] writes.
fn build_invitation(op: &Op) -> Option<StoredInvitation> {
    let Op::Invitation {
        org,
        id,
        recipient,
        status,
        secret,
        license,
        expires,
        batch,
        created,
        name,
        account,
        inviter,
    } = op
    else {
        return None;
    };
    let mut i = invitation(
        &org_id(*org),
        &format!("inv_{id}"),
        &format!("c{recipient}"),
    );
    i.status = INVITATION_STATUSES[usize::from(*status)];
    i.secret_hash = secret.map(hash);
    i.license_type = LICENSES[usize::from(*license)].into();
    i.expires_at = expires.map(t);
    i.batch_id = BatchId::from(format!("bat_{batch}"));
    i.created_at = t(*created);
    i.user_ref = account.map(|u| format!("u{u}"));
    i.invitation.inviter = inviter.map(|n| MemberId::from(format!("mem_{n}")));
    if let Some((first, last)) = name.map(|n| NAMES[n]) {
        i.first_name = Some(first.into());
        i.last_name = last.map(str::to_owned);
    }
    Some(i)
}

/// An event of kind `kind` (0: an invitation revoked by the system, 1: a
/// member removed by another member, 2: an invitation accepted by an
/// account) about `inv_{n}` / `mem_{n}` at `t(n)`: the kinds, actors and
/// bodies differ, so the feed and the event pages compare whole events.
fn model_event(org: &OrgId, n: u8, kind: u8) -> crate::Event {
    let mut e = event(org, u32::from(n));
    let (invitation, member) = (
        InvitationId::from(format!("inv_{n}")),
        MemberId::from(format!("mem_{n}")),
    );
    match kind {
        0 => {}
        1 => {
            e.actor = crate::Actor::Member(MemberId::from("mem_0"));
            e.kind = crate::EventKind::MemberRemoved {
                member,
                contact: format!("c{n}"),
            };
        }
        _ => {
            e.actor = crate::Actor::Account(format!("u{n}"));
            e.kind = crate::EventKind::InvitationAccepted { invitation, member };
        }
    }
    e
}

/// Applies `op` to a transaction, and returns what the write answered as
/// text (empty for the writes that answer nothing): the event's number,
/// how many reports were deleted, the messages claimed, whether a template
/// or a domain claim was there to delete. Two stores given the same writes
/// answer the same.
pub fn apply(tx: &mut dyn Transaction, op: &Op) -> StoreResult<String> {
    let none = |r: StoreResult<()>| r.map(|()| String::new());
    let said = |v: &dyn std::fmt::Debug| format!("{v:?}");
    if let Some(m) = build_member(op) {
        return none(tx.put_member(&m));
    }
    if let Some(i) = build_invitation(op) {
        return none(tx.put_invitation(&i));
    }
    match op {
        Op::Event { org, n, kind } => tx
            .append_event(model_event(&org_id(*org), *n, *kind))
            .map(|seq| said(&seq)),
        Op::Message {
            org,
            id,
            invitation,
            status,
            next,
            created,
        } => {
            let mut m = message(
                &org_id(*org),
                &format!("msg_{org}_{id}"),
                &format!("inv_{invitation}"),
                *next,
            );
            m.status = OUTBOX_STATUSES[usize::from(*status)];
            m.created_at = t(*created);
            none(tx.put_outbox_message(m))
        }
        Op::Supersede { org, invitation } => none(tx.supersede_queued_messages(
            &org_id(*org),
            &InvitationId::from(format!("inv_{invitation}")),
        )),
        Op::Organization {
            org,
            name,
            slug,
            deleted,
        } => {
            let mut o = organization(&org_id(*org));
            o.name = format!("Renamed {name}");
            o.slug = slug_of(*slug);
            o.deleted_at = deleted.then(|| t(2));
            none(tx.put_organization(&o))
        }
        Op::Group {
            org,
            id,
            name,
            is_default,
            delete,
        } => {
            let org = org_id(*org);
            let id = format!("grp_{id}");
            if *delete {
                return none(tx.delete_group(&org, &GroupId::from(id)));
            }
            let mut g = group(&org, &id);
            g.name = format!("G{name}");
            g.is_default = *is_default;
            none(tx.put_group(&g))
        }
        Op::Purge { org } => none(tx.purge_organization(&org_id(*org))),
        Op::Prefetch { org, keys, accept } => {
            let org = org_id(*org);
            // An accept's hint, then its first read (the organization); or
            // a batch's.
            if let Some((id, older, account)) = accept {
                let (id, secret) = (InvitationId::from(format!("inv_{id}")), hash(*id));
                let token = if *older {
                    TokenKey::Secret(&secret)
                } else {
                    TokenKey::Id(&id)
                };
                tx.prefetch_acceptance(&org, token, &format!("u{account}"))?;
                return tx.organization(&org).map(|o| said(&o));
            }
            let keys: Vec<crate::Text> = keys.iter().map(|k| format!("c{k}").into()).collect();
            tx.prefetch_recipients(&org, &keys)?;
            Ok(String::new())
        }
        Op::Report {
            org,
            batch,
            created,
            rows,
        } => none(tx.put_batch_report(super::transactions::batch_report(
            &org_id(*org),
            &format!("bat_r{batch}"),
            *created,
            *rows,
        ))),
        Op::PruneReports { org, before, limit } => tx
            .delete_batch_reports_before(&org_id(*org), t(*before), *limit)
            .map(|n| said(&n)),
        Op::Settings {
            org,
            locale,
            message,
        } => none(tx.put_email_settings(&crate::EmailSettings {
            org_id: org_id(*org),
            default_locale: LOCALES[usize::from(*locale)].into(),
            default_message: message.then(|| "Welcome aboard".to_owned()),
        })),
        Op::Claim {
            org,
            now,
            until,
            limit,
        } => {
            let org = org.map(org_id);
            tx.claim_outbox(org.as_ref(), t(*now), t(*until), *limit)
                .map(|claimed| said(&claimed))
        }
        Op::Template {
            org,
            locale,
            n,
            delete,
        } => {
            let (org, locale) = (org_id(*org), LOCALES[usize::from(*locale)]);
            if *delete {
                return tx.delete_email_template(&org, locale).map(|d| said(&d));
            }
            none(tx.put_email_template(&crate::EmailTemplate {
                org_id: org,
                locale: locale.into(),
                subject: format!("Subject {n}"),
                text_body: format!("Text {n} {{{{ accept_url }}}}"),
                html_body: (*n == 1).then(|| "<p>{{ accept_url }}</p>".to_owned()),
                updated_at: t(*n),
            }))
        }
        Op::Domain {
            org,
            domain,
            verified,
            delete,
        } => {
            let name = domain_name(*domain);
            if *delete {
                return tx.delete_org_domain(&org_id(*org), &name).map(|d| said(&d));
            }
            none(tx.put_org_domain(&claim(*org, *domain, *verified)))
        }
        Op::Request {
            org,
            id,
            account,
            status,
            created,
        } => none(tx.put_membership_request(&request(*org, *id, *account, *status, *created))),
        Op::Link {
            org,
            id,
            secret,
            active,
            created,
        } => {
            let mut l = link(&org_id(*org), 0);
            l.link.id = link_id(*id);
            l.link.name = format!("link {id}");
            l.link.created_at = t(*created);
            l.link.active = *active;
            l.secret_hash = secret.map(|s| hash(link_secret(*id, s)));
            none(tx.put_link(&l))
        }
        Op::Member { .. } | Op::Invitation { .. } => Ok(String::new()),
    }
}

/// Slug `n` of [`Op::Organization`]: none (empty) for 0.
fn slug_of(n: u8) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("s{n}")
    }
}

/// The locales of [`Op::Template`].
const LOCALES: [&str; 3] = ["en", "fr", "fr-CA"];

/// Domain `n` of [`Op::Domain`].
fn domain_name(n: u8) -> String {
    format!("d{n}.test")
}

/// The claim an [`Op::Domain`] writes.
fn claim(org: u8, domain: u8, verified: bool) -> crate::StoredDomain {
    let status = if verified {
        crate::DomainStatus::Verified
    } else {
        crate::DomainStatus::Pending
    };
    let mut c = super::domains::claim(org_id(org).as_str(), &domain_name(domain), status);
    c.domain.verified_at = verified.then(|| t(1));
    c
}

const REQUEST_STATUSES: [crate::MembershipRequestStatus; 3] = [
    crate::MembershipRequestStatus::Pending,
    crate::MembershipRequestStatus::Approved,
    crate::MembershipRequestStatus::Declined,
];

/// The request an [`Op::Request`] writes.
fn request(org: u8, id: u8, account: u8, status: u8, created: i64) -> crate::MembershipRequest {
    crate::MembershipRequest {
        org_id: org_id(org),
        id: crate::MembershipRequestId::from(format!("req_{id}")),
        user_ref: format!("u{account}"),
        email: format!("u{account}@d0.test"),
        domain: domain_name(0),
        first_name: Some("Pat".into()),
        last_name: None,
        phone: None,
        eula_version: None,
        two_factor_enrolled: false,
        status: REQUEST_STATUSES[usize::from(status)],
        created_at: t(created),
        decided_at: None,
        decided_by: None,
        member_id: None,
    }
}

/// The id of link `n` of [`Op::Link`]: the default link, then named ones.
fn link_id(n: u8) -> crate::LinkId {
    if n == 0 {
        crate::LinkId::default_link()
    } else {
        crate::LinkId::from(format!("lnk_{n}"))
    }
}

/// Secret `s` (0 or 1) of link `id`: its own, never another link's.
fn link_secret(id: u8, s: u8) -> u8 {
    40 + id * 2 + s
}

/// A fresh store with groups `grp_0..3` in both organizations.
fn seeded(store: &dyn Store) {
    let mut tx = begin(store);
    for o in 0..2 {
        tx.put_organization(&organization(&org_id(o)))
            .expect("put an organization");
        for g in 0..3 {
            tx.put_group(&group(&org_id(o), &format!("grp_{g}")))
                .expect("put a group");
        }
    }
    tx.commit().expect("commit the groups");
}

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    TestRunner::new(Config::with_cases(cases))
}

/// Panics with proptest's report (the shrunk input) when a property fails.
fn run<S: Strategy>(strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    if let Err(e) = runner().run(&strategy, property) {
        panic!("{e}");
    }
}

// ----- against a naive model ----------------------------------------------

/// The committed (or in-transaction) truth, kept naively: members and
/// invitations in maps, every read a filter over them.
#[derive(Clone, Debug, Default)]
struct Model {
    members: BTreeMap<(OrgId, MemberId), Member>,
    invitations: BTreeMap<(OrgId, InvitationId), StoredInvitation>,
    /// Groups deleted (and not put again).
    deleted_groups: std::collections::BTreeSet<(OrgId, GroupId)>,
    /// Domain claims: verified or not, by organization and domain.
    domains: BTreeMap<(u8, u8), bool>,
    /// Membership requests: the account of each, by organization and id.
    requests: BTreeMap<(u8, u8), u8>,
    /// Each organization's slug, where it has one (deleted or not).
    slugs: BTreeMap<u8, u8>,
}

impl Model {
    /// Applies an op if the uniqueness rules allow it; returns whether
    /// they did. Events and messages are not modelled (always allowed).
    fn apply(&mut self, op: &Op) -> bool {
        if let Some(m) = build_member(op) {
            let clash = m.status != MemberStatus::Removed
                && self.members.values().any(|o| {
                    o.org_id == m.org_id
                        && o.id != m.id
                        && o.status != MemberStatus::Removed
                        && (o.contact_key == m.contact_key
                            || (m.user_ref.is_some() && o.user_ref == m.user_ref))
                });
            if !clash {
                self.members.insert((m.org_id.clone(), m.id.clone()), m);
            }
            return !clash;
        }
        if let Some(i) = build_invitation(op) {
            let clash = self.invitations.values().any(|o| {
                o.org_id == i.org_id
                    && o.id != i.id
                    && ((i.secret_hash.is_some() && o.secret_hash == i.secret_hash)
                        || (i.status.is_open()
                            && o.status.is_open()
                            && o.recipient_key == i.recipient_key))
            });
            if !clash {
                self.invitations.insert((i.org_id.clone(), i.id.clone()), i);
            }
            return !clash;
        }
        if let Op::Domain {
            org,
            domain,
            verified,
            delete,
        } = op
        {
            if *delete {
                self.domains.remove(&(*org, *domain));
                return true;
            }
            let clash = *verified
                && self
                    .domains
                    .iter()
                    .any(|((o, d), v)| *o != *org && *d == *domain && *v);
            if !clash {
                self.domains.insert((*org, *domain), *verified);
            }
            return !clash;
        }
        if let Op::Request {
            org, id, account, ..
        } = op
        {
            let clash = self
                .requests
                .iter()
                .any(|((o, i), a)| *o == *org && *i != *id && *a == *account);
            if !clash {
                self.requests.insert((*org, *id), *account);
            }
            return !clash;
        }
        if let Op::Organization { org, slug, .. } = op {
            let clash = *slug != 0 && self.slugs.iter().any(|(o, s)| o != org && s == slug);
            if !clash {
                if *slug == 0 {
                    self.slugs.remove(org);
                } else {
                    self.slugs.insert(*org, *slug);
                }
            }
            return !clash;
        }
        if let Op::Purge { org } = op {
            let n = *org;
            self.slugs.remove(&n);
            self.domains.retain(|(o, _), _| *o != n);
            self.requests.retain(|(o, _), _| *o != n);
            let org = org_id(*org);
            self.members.retain(|(o, _), _| *o != org);
            self.invitations.retain(|(o, _), _| *o != org);
            for g in 0..3 {
                self.deleted_groups
                    .insert((org.clone(), GroupId::from(format!("grp_{g}"))));
            }
            return true;
        }
        if let Op::Group {
            org, id, delete, ..
        } = op
        {
            let key = (org_id(*org), GroupId::from(format!("grp_{id}")));
            if *delete {
                self.deleted_groups.insert(key);
            } else {
                self.deleted_groups.remove(&key);
            }
        }
        true
    }

    fn members_of(&self, org: &OrgId) -> Vec<Member> {
        self.members
            .values()
            .filter(|m| &m.org_id == org)
            .cloned()
            .collect()
    }

    fn invitations_of(&self, org: &OrgId) -> Vec<StoredInvitation> {
        self.invitations
            .values()
            .filter(|i| &i.org_id == org)
            .cloned()
            .collect()
    }

    /// Every read of the store agrees with the model.
    fn check(&self, tx: &mut dyn Transaction) -> Result<(), TestCaseError> {
        let now = t(10);
        for o in 0..2 {
            let org = org_id(o);
            let members = self.members_of(&org);
            let invitations = self.invitations_of(&org);
            let live = |m: &&Member| m.status != MemberStatus::Removed;
            for n in 0..6 {
                let id = MemberId::from(format!("mem_{n}"));
                let want = self.members.get(&(org.clone(), id.clone()));
                let got = tx.member(&org, &id)?;
                prop_assert_eq!(got.as_ref(), want);
                let id = InvitationId::from(format!("inv_{n}"));
                let want = self.invitations.get(&(org.clone(), id.clone()));
                let got = tx.invitation(&org, &id)?;
                prop_assert_eq!(got.as_ref(), want);
            }
            for c in 0..4 {
                let key = format!("c{c}");
                let want = members.iter().filter(live).find(|m| m.contact_key == key);
                let got = tx.member_by_contact(&org, &key)?;
                prop_assert_eq!(got.as_ref(), want);
                let want = invitations
                    .iter()
                    .find(|i| i.status.is_open() && i.recipient_key == key);
                let got = tx.open_invitation_for(&org, &key)?;
                prop_assert_eq!(got.as_ref(), want);
            }
            for u in 0..3 {
                let user_ref = format!("u{u}");
                let want = members
                    .iter()
                    .filter(live)
                    .find(|m| m.user_ref.as_deref() == Some(user_ref.as_str()));
                let got = tx.member_by_user_ref(&org, &user_ref)?;
                prop_assert_eq!(got.as_ref(), want);
            }
            for s in 0..4 {
                let want = invitations.iter().find(|i| i.secret_hash == Some(hash(s)));
                let got = tx.invitation_by_secret(&org, &hash(s))?;
                prop_assert_eq!(got.as_ref(), want);
            }
            for role in ROLES {
                let want = members
                    .iter()
                    .filter(|m| m.role == role && m.status == MemberStatus::Active)
                    .count() as u64;
                prop_assert_eq!(tx.count_active_with_role(&org, role)?, want);
            }
            let mut want_seats = Vec::new();
            for license in ["pro", "standard"] {
                let count = SeatCount {
                    members: members
                        .iter()
                        .filter(|m| m.license_type == license && m.holds_seat())
                        .count() as u64,
                    open_invitations: invitations
                        .iter()
                        .filter(|i| i.license_type == license && i.status.is_open())
                        .count() as u64,
                };
                prop_assert_eq!(tx.seat_count(&org, license)?, count);
                if count != SeatCount::default() {
                    want_seats.push((license.to_owned(), count));
                }
            }
            prop_assert_eq!(tx.seat_counts(&org)?, want_seats);
            for g in 0..3 {
                let gid = GroupId::from(format!("grp_{g}"));
                let want = members
                    .iter()
                    .filter(live)
                    .filter(|m| m.groups.iter().any(|x| x.group_id == gid))
                    .count() as u64;
                let got = tx.group(&org, &gid)?;
                let deleted = self.deleted_groups.contains(&(org.clone(), gid.clone()));
                prop_assert_eq!(got.map(|g| g.member_count), (!deleted).then_some(want));
                let mut q = MemberQuery::default();
                q.group = Some(gid);
                q.statuses = vec![MemberStatus::Removed, MemberStatus::Active];
                q.sort = MemberSort::EmailDesc;
                q.limit = 2;
                prop_assert_eq!(all_members(tx, &org, q.clone()), expected(&members, &q));
            }
            let mut q = MemberQuery::default();
            q.limit = 2;
            prop_assert_eq!(all_members(tx, &org, q.clone()), expected(&members, &q));
            let mut q = InvitationQuery::default();
            q.limit = 2;
            let mut want = invitations.clone();
            want.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            prop_assert_eq!(all_invitations(tx, &org, q, now), want);
            let mut due: Vec<StoredInvitation> = invitations
                .iter()
                .filter(|i| i.status == InvitationStatus::Pending)
                .filter(|i| i.expires_at.is_some_and(|e| e <= now))
                .cloned()
                .collect();
            due.sort_by(|a, b| (a.expires_at, &a.id).cmp(&(b.expires_at, &b.id)));
            prop_assert_eq!(tx.due_invitations(Some(&org), now, 100)?, due);
        }
        Ok(())
    }
}

/// The members `q` selects, in its order, computed naively.
fn expected(all: &[Member], q: &MemberQuery) -> Vec<Member> {
    let mut out: Vec<Member> = all.iter().filter(|m| q.matches(m)).cloned().collect();
    out.sort_by(|a, b| (&a.contact_key, &a.id).cmp(&(&b.contact_key, &b.id)));
    if q.sort == MemberSort::EmailDesc {
        out.reverse();
    }
    out
}

/// The whole store, for "a dropped transaction changes nothing".
fn whole(store: &dyn Store) -> Snapshot {
    snapshot(store, &[org_id(0), org_id(1)], &[])
}

/// Any sequence of writes, committed or dropped, is refused exactly when
/// a uniqueness rule says so, and every read after every write agrees
/// with a naive model; a dropped transaction leaves the store as it was.
pub fn matches_a_naive_model(make: MakeStore<'_>) {
    matches_a_naive_model_then(&|| make(), &|s| &**s, &|_| {});
}

/// [`matches_a_naive_model`] with a store's own check after every
/// transaction (MemoryStore's tests check that its indexes equal indexes
/// rebuilt from scratch).
pub fn matches_a_naive_model_then<S>(
    make: &dyn Fn() -> S,
    store_of: &dyn Fn(&S) -> &dyn Store,
    after_each: &dyn Fn(&S),
) {
    run(transactions_strategy(), |txs| {
        let made = make();
        let store = store_of(&made);
        seeded(store);
        let mut committed = Model::default();
        for (ops, commit) in txs {
            let before = whole(store);
            let mut working = committed.clone();
            let mut tx = begin(store);
            let mut refused_later = false;
            for op in &ops {
                let allowed = working.apply(op);
                match apply(&mut *tx, op).map(|_| ()) {
                    Ok(()) if !allowed && matches!(op, Op::Invitation { .. }) => {
                        // A store that defers an invitation's checks
                        // (`put_invitation`'s contract): the next statement
                        // refuses, and nothing of the transaction lands.
                        let next = tx.invitation(&org_id(0), &InvitationId::from("inv_0"));
                        prop_assert!(
                            matches!(next, Err(StoreError::Unique(_))),
                            "the store accepted a clash: {op:?} (then {next:?})"
                        );
                        refused_later = true;
                        break;
                    }
                    Ok(()) => prop_assert!(allowed, "the store accepted a clash: {op:?}"),
                    Err(StoreError::Unique(_)) => {
                        prop_assert!(!allowed, "the store refused {op:?}")
                    }
                    Err(e) => prop_assert!(false, "unexpected error {e:?}"),
                }
                working.check(&mut *tx)?;
            }
            if refused_later {
                prop_assert!(
                    tx.commit().is_err(),
                    "a transaction with a refused invitation committed"
                );
                prop_assert_eq!(whole(store), before);
            } else if commit {
                tx.commit()?;
                committed = working;
            } else {
                drop(tx);
                prop_assert_eq!(whole(store), before);
            }
            committed.check(&mut *begin(store))?;
            after_each(&made);
        }
        Ok(())
    });
}

// ----- against MemoryStore ------------------------------------------------

/// Everything a transaction can read, as text: equal for two stores that
/// hold the same data.
pub fn observe(tx: &mut dyn Transaction) -> Result<Vec<String>, TestCaseError> {
    let now = t(10);
    let mut out = Vec::new();
    let mut see = |label: &str, v: &dyn std::fmt::Debug| out.push(format!("{label}: {v:?}"));
    see("due_all", &tx.due_invitations(None, now, 100)?);
    see("due_all_2", &tx.due_invitations(None, now, 2)?);
    see("outbox_all", &tx.due_outbox(None, now, 100)?);
    see("next_due_all", &tx.next_outbox_due(None)?);
    for slug in 1..3 {
        see("by_slug", &tx.organization_by_slug(&slug_of(slug))?);
    }
    for prefix in [None, Some("s"), Some("s2"), Some("renamed"), Some("org")] {
        // Walked a page of one at a time through the store's cursors.
        let mut query = crate::OrganizationQuery {
            prefix: prefix.map(str::to_owned),
            limit: 1,
            ..crate::OrganizationQuery::default()
        };
        for _ in 0..4 {
            let page = tx.list_organizations(&query)?;
            see("organizations", &page.items);
            match page.next_cursor {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
    }
    for o in 0..2 {
        let org = org_id(o);
        see("organization", &tx.organization(&org)?);
        see("link", &tx.invite_link(&org)?);
        see("links", &tx.links(&org, 10)?);
        see("links_2", &tx.links(&org, 2)?);
        for id in 0..3 {
            see("link_by_id", &tx.link(&org, &link_id(id))?);
            for s in 0..2 {
                let h = hash(link_secret(id, s));
                see("link_by_secret", &tx.link_by_secret(&org, &h)?);
            }
        }
        let mut groups = tx.groups(&org)?;
        groups.sort_by(|a, b| a.id.cmp(&b.id)); // in no set order
        see("groups", &groups);
        for id in 0..4 {
            let id = MessageId::from(format!("msg_{o}_{id}"));
            see("message", &tx.outbox_message(&id)?);
        }
        for id in 0..6 {
            see(
                "member",
                &tx.member(&org, &MemberId::from(format!("mem_{id}")))?,
            );
            see(
                "invitation",
                &tx.invitation(&org, &InvitationId::from(format!("inv_{id}")))?,
            );
        }
        for c in 0..4 {
            let key = format!("c{c}");
            see("by_contact", &tx.member_by_contact(&org, &key)?);
            see("open_for", &tx.open_invitation_for(&org, &key)?);
        }
        // Where each recipient stands, asked many at once (a repeat, an
        // unknown key and a removed member's among them).
        let keys: Vec<String> = [0, 1, 2, 3, 1, 9].iter().map(|c| format!("c{c}")).collect();
        see("standing", &tx.standing(&org, &keys, now)?);
        for u in 0..3 {
            see(
                "by_user_ref",
                &tx.member_by_user_ref(&org, &format!("u{u}"))?,
            );
        }
        for s in 0..4 {
            see("by_secret", &tx.invitation_by_secret(&org, &hash(s))?);
        }
        // As an accept finds its invitation (what `prefetch_acceptance`
        // reads ahead): by the id a token names, or an older token's secret.
        for n in 0..6 {
            let (id, secret) = (InvitationId::from(format!("inv_{n}")), hash(n));
            see(
                "by_token",
                &tx.invitation_by_token(&org, TokenKey::Id(&id))?,
            );
            see(
                "by_old_token",
                &tx.invitation_by_token(&org, TokenKey::Secret(&secret))?,
            );
        }
        for role in ROLES {
            see("role_count", &tx.count_active_with_role(&org, role)?);
        }
        // Open invitations by who issued them: staged ones, and pending
        // ones not expired at `now` (or at an earlier time).
        for n in 0..3 {
            let inviter = MemberId::from(format!("mem_{n}"));
            for at in [now, t(3)] {
                see(
                    "by_inviter",
                    &tx.open_invitations_by_inviter(&org, &inviter, at)?,
                );
            }
        }
        for license in LICENSES {
            see("seats", &tx.seat_count(&org, license)?);
        }
        see("seat_counts", &tx.seat_counts(&org)?);
        let mut member_queries = [
            MemberQuery::default(),
            MemberQuery::default(),
            MemberQuery::default(),
            MemberQuery::default(),
        ];
        member_queries[0].limit = 2;
        member_queries[1].statuses = vec![MemberStatus::Removed, MemberStatus::Active];
        member_queries[1].sort = MemberSort::EmailDesc;
        member_queries[1].limit = 3;
        member_queries[2].role = Some("admin".into());
        member_queries[2].limit = 1;
        member_queries[3].group = Some(GroupId::from("grp_1"));
        member_queries[3].statuses = vec![MemberStatus::Inactive, MemberStatus::Removed];
        member_queries[3].limit = 2;
        for mut q in member_queries {
            for _ in 0..20 {
                let page = tx.list_members(&org, &q)?;
                see("members_page", &page);
                match page.next_cursor {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
        }
        let mut invitation_queries = [
            InvitationQuery::default(),
            InvitationQuery::default(),
            InvitationQuery::default(),
        ];
        invitation_queries[0].limit = 2;
        invitation_queries[1].statuses = vec![InvitationStatus::Expired, InvitationStatus::Staged];
        invitation_queries[1].limit = 1;
        invitation_queries[2].statuses = vec![InvitationStatus::Pending];
        invitation_queries[2].batch = Some(BatchId::from("bat_1"));
        invitation_queries[2].limit = 2;
        for mut q in invitation_queries {
            for _ in 0..20 {
                let page = tx.list_invitations(&org, &q, now)?;
                see("invitations_page", &page);
                match page.next_cursor {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
        }
        // The people view: every sort both ways, small pages, a label
        // filter at `now` (pending vs expired) and a search.
        for (i, sort) in crate::PeopleSort::ALL.into_iter().enumerate() {
            let mut q = crate::PeopleQuery {
                sort,
                descending: i % 2 == 1,
                limit: 2,
                ..crate::PeopleQuery::default()
            };
            match i {
                0 => q.labels = crate::PersonLabel::ALL.to_vec(),
                1 => q.labels = vec![crate::PersonLabel::Expired, crate::PersonLabel::Staged],
                2 => q.search = Some("C1".into()),
                3 => q.role = Some("admin".into()),
                _ => {}
            }
            for _ in 0..20 {
                let page = tx.people(&org, &q, now)?;
                see("people_page", &page);
                match page.next_cursor {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
        }
        see("due", &tx.due_invitations(Some(&org), now, 100)?);
        see("outbox_due", &tx.due_outbox(Some(&org), now, 100)?);
        see("next_due", &tx.next_outbox_due(Some(&org))?);
        let mut after = None;
        for _ in 0..20 {
            let page = tx.failed_outbox(&org, after.as_deref(), 1)?;
            see("failed_page", &page);
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => break,
            }
        }
        for i in 0..4 {
            let inv = InvitationId::from(format!("inv_{i}"));
            see("queued", &tx.queued_messages_for(&org, &inv)?);
        }
        see("events", &tx.events(&org, 0, 100)?);
    }
    for d in 0..3 {
        see("verified_domain", &tx.verified_domain(&domain_name(d))?);
    }
    for o in 0..2 {
        let org = org_id(o);
        see("org_domains", &tx.org_domains(&org)?);
        see("templates", &tx.email_templates(&org)?);
        see("settings", &tx.email_settings(&org)?);
        for b in 0..3 {
            let batch = BatchId::from(format!("bat_r{b}"));
            see("report", &tx.batch_report(&org, &batch)?);
        }
        for l in LOCALES {
            see("template", &tx.email_template(&org, l)?);
        }
        for d in 0..3 {
            see("org_domain", &tx.org_domain(&org, &domain_name(d))?);
        }
        for id in 0..3 {
            let id = crate::MembershipRequestId::from(format!("req_{id}"));
            see("request", &tx.membership_request(&org, &id)?);
        }
        for u in 0..3 {
            see(
                "request_of",
                &tx.membership_request_of(&org, &format!("u{u}"))?,
            );
        }
        for status in [None, Some(crate::MembershipRequestStatus::Pending)] {
            let mut q = crate::MembershipRequestQuery {
                status,
                after: None,
                limit: 1,
            };
            for _ in 0..20 {
                let page = tx.membership_requests(&org, &q)?;
                see("requests_page", &page);
                match page.next_cursor {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
        }
    }
    // Across organizations: the accounts' memberships and the inbox of
    // each contact and account.
    for u in 0..3 {
        let account = format!("u{u}");
        let mut after: Option<String> = None;
        for _ in 0..20 {
            let page = tx.memberships_of(&account, after.as_deref(), 1)?;
            see("memberships_page", &page);
            match page.next_cursor {
                Some(c) => after = Some(c),
                None => break,
            }
        }
    }
    let lookups = (0..4)
        .map(|c| (Some(format!("c{c}")), None))
        .chain((0..3).map(|u| (None, Some(format!("u{u}")))))
        .chain([(Some("c1".to_owned()), Some("u1".to_owned()))]);
    for (email, account) in lookups {
        let mut lookup = crate::PersonLookup::new(email, account, 2);
        for _ in 0..20 {
            let page = tx.person_invitations(&lookup, now)?;
            see("inbox_page", &page);
            match page.next_cursor {
                Some(c) => lookup.after = Some(c),
                None => break,
            }
        }
    }
    Ok(out)
}

/// The events of the whole feed ([`Transaction::event_feed`]), read
/// `limit` at a time through the store's own cursors: the cursors' text
/// is each store's own, the events and their order are compared. Read one
/// at a time, every event's cursor is followed; read all at once, none.
fn feed_events(store: &dyn Store, limit: usize) -> Result<Vec<String>, TestCaseError> {
    let mut tx = begin(store);
    let (mut out, mut after) = (Vec::new(), None::<String>);
    loop {
        let page = tx.event_feed(after.as_deref(), &[], limit)?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = Some(last.cursor.clone());
        out.extend(page.iter().map(|f| format!("{:?}", f.event)));
        prop_assert!(out.len() <= 10_000, "the feed does not end");
    }
}

/// The store's feed holds MemoryStore's events in MemoryStore's order. A
/// store may hold back its newest events while transactions of other
/// tests are open (PostgreSQL, cluster-wide): while it shows a strict
/// beginning of them, it is read again ([`read_until_settled`]).
fn same_feed(store: &dyn Store, memory: &MemoryStore) -> Result<(), TestCaseError> {
    let want = feed_events(memory, 1)?;
    prop_assert_eq!(&feed_events(memory, 1000)?, &want);
    for limit in [1, 1000] {
        let got = read_until_settled(
            || feed_events(store, limit),
            |got: &Vec<String>| got.len() < want.len() && want.starts_with(got),
        )?;
        prop_assert_eq!(got, want.clone(), "the feed, {} at a time", limit);
    }
    Ok(())
}

/// A read-only transaction ([`Store::begin_read`]: a dry run's, a
/// reader's beside a writer) reads what MemoryStore's does.
fn same_read(store: &dyn Store, memory: &MemoryStore) -> Result<(), TestCaseError> {
    let seen = observe(&mut *store.begin_read()?)?;
    prop_assert_eq!(seen, observe(&mut *memory.begin_read()?)?, "begin_read");
    Ok(())
}

/// The uniqueness rule a refused write names, if it was refused for one.
fn rule<T>(r: &StoreResult<T>) -> Result<(), Option<crate::UniqueRule>> {
    match r {
        Ok(_) => Ok(()),
        Err(StoreError::Unique(rule)) => Err(Some(*rule)),
        Err(_) => Err(None),
    }
}

/// Any sequence of writes, committed or dropped, leaves the store reading
/// exactly like MemoryStore after every write, and refused writes name
/// the same uniqueness rule. Fails, too, when the cases refused no write
/// or listed nothing: the property must exercise the rules and the pages,
/// not only agree on empty answers.
pub fn reads_like_the_memory_store(make: MakeStore<'_>) {
    let refused = AtomicUsize::new(0);
    let listed = AtomicUsize::new(0);
    let answered = AtomicUsize::new(0);
    run(transactions_strategy(), |txs| {
        let store = make();
        let memory = MemoryStore::new();
        seeded(&*store);
        seeded(&memory);
        for (ops, commit) in txs {
            let mut a = begin(&*store);
            let mut b = begin(&memory);
            let mut refused_later = false;
            for op in &ops {
                let ra = apply(&mut *a, op);
                let rb = apply(&mut *b, op);
                if ra.is_ok() && rb.is_err() && matches!(op, Op::Invitation { .. }) {
                    // A store that defers an invitation's checks
                    // (`put_invitation`'s contract): its next statement
                    // names the same rule, and the transaction is over.
                    let next = a.invitation(&org_id(0), &InvitationId::from("inv_0"));
                    prop_assert_eq!(rule(&next), rule(&rb), "{:?}: then {:?}", op, next);
                    refused.fetch_add(1, Ordering::Relaxed);
                    refused_later = true;
                    break;
                }
                prop_assert_eq!(
                    rule(&ra),
                    rule(&rb),
                    "{:?}: store {:?}, memory {:?}",
                    op,
                    ra,
                    rb
                );
                if let (Ok(a), Ok(b)) = (&ra, &rb) {
                    prop_assert_eq!(a, b, "{:?}: the store and memory answered apart", op);
                    if !a.is_empty() {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                if ra.is_err() {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
                if matches!(op, Op::Prefetch { .. }) {
                    // The next write comes before the reads it hints at.
                    continue;
                }
                let seen = observe(&mut *a)?;
                prop_assert_eq!(&seen, &observe(&mut *b)?);
                let items = seen
                    .iter()
                    .filter(|s| s.contains("_page: Page {") && !s.contains("items: []"))
                    .count();
                listed.fetch_add(items, Ordering::Relaxed);
            }
            if refused_later {
                prop_assert!(
                    a.commit().is_err(),
                    "a transaction with a refused invitation committed"
                );
                drop(b);
            } else if commit {
                a.commit()?;
                b.commit()?;
                same_feed(&*store, &memory)?;
                same_read(&*store, &memory)?;
            }
        }
        prop_assert_eq!(
            observe(&mut *begin(&*store))?,
            observe(&mut *begin(&memory))?
        );
        same_read(&*store, &memory)?;
        same_feed(&*store, &memory)?;
        Ok(())
    });
    let (refused, listed) = (refused.into_inner(), listed.into_inner());
    assert!(
        answered.into_inner() > 0,
        "no write answered anything: the answers were not compared"
    );
    assert!(
        refused > 0,
        "no write was refused: the rules were not exercised"
    );
    assert!(
        listed > 0,
        "no page held an item: the pages were not exercised"
    );
}

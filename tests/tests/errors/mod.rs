//! The typed error facts (issue 11): each new code provoked through the
//! engine, the facts typed, and the serialized form the bindings read.

use crate::scenarios::common::{as_member, org_with_owner, org_with_policy};
use enlist::{
    Actor, EngineConfig, Enlist, EntityKind, Error, ErrorCode, ErrorFamily, Feature,
    InvitationStatus, InviteRequest, MemberQuery, MemoryStore, NewOrganization, OrgId, Permission,
    Policy, RecipientInput, Recipients, Registration, RegistrationField, Store, StoreError,
    StoreResult, Transaction,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn invite_one(engine: &Enlist, org: &OrgId, actor: &Actor, email: &str) -> enlist::Result<()> {
    engine
        .invite(
            org,
            actor,
            InviteRequest::new(Recipients::List(vec![RecipientInput::email(email)])),
        )
        .map(|_| ())
}

#[test]
fn a_non_member_is_told_apart_from_a_member_lacking_a_permission() {
    let o = org_with_owner();
    let plain = o.join("pat@acme.test", "member", "acct-pat");
    // A member without invite rights: permission_denied, naming it.
    let e = invite_one(&o.engine, o.id(), &as_member(&plain), "x@acme.test").unwrap_err();
    assert!(
        matches!(
            &e,
            Error::PermissionDenied {
                permission: Permission::InviteMembers,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), "permission_denied");
    // A member id that is not in the organization: not_a_member.
    let stranger = Actor::Member("mem_nobody".into());
    let e = invite_one(&o.engine, o.id(), &stranger, "x@acme.test").unwrap_err();
    assert!(
        matches!(&e, Error::NotAMember { organization, .. } if organization == o.id()),
        "{e:?}"
    );
    assert_eq!(
        (e.code(), e.family()),
        ("not_a_member", ErrorFamily::PermissionDenied)
    );
    assert_eq!(e.facts()["organization"], o.id().as_str());
    // A member of another organization is a stranger here too.
    let other = o
        .engine
        .create_organization(NewOrganization::new("Other", "acct-o", "o@other.test"))
        .expect("second organization");
    let e = invite_one(&o.engine, o.id(), &as_member(&other.owner), "x@acme.test").unwrap_err();
    assert_eq!(e.code(), "not_a_member", "{e:?}");
    // A removed member is no member any more.
    o.engine
        .remove_member(o.id(), &o.owner_actor(), &plain.id)
        .expect("remove");
    let e = o
        .engine
        .list_members(o.id(), &as_member(&plain), &MemberQuery::default())
        .unwrap_err();
    assert_eq!(e.code(), "not_a_member", "{e:?}");
}

#[test]
fn disabled_features_and_closed_invitations_are_typed() {
    let mut policy = Policy::default();
    policy.self_registration = false;
    let o = org_with_policy(policy);
    let e = o
        .engine
        .self_register(o.id(), "x@acme.test", Registration::default())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Disabled {
                feature: Feature::SelfRegistration
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.facts()["feature"], "self_registration");

    let e = o
        .engine
        .organization(&OrgId::from("org_missing"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::NotFound {
                entity: EntityKind::Organization,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.facts()["entity"], "organization");
}

#[test]
fn missing_registration_fields_are_typed() {
    let o = org_with_owner();
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::List(vec![RecipientInput::email("a@acme.test")])),
        )
        .expect("invite");
    let token = crate::scenarios::common::token_of(&report.issued[0]);
    let e = o
        .engine
        .accept(
            &token,
            Registration {
                user_ref: "acct-a".into(),
                ..Registration::default()
            },
        )
        .unwrap_err();
    match &e {
        Error::RegistrationIncomplete { missing } => assert_eq!(
            missing,
            &[RegistrationField::FirstName, RegistrationField::LastName]
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.facts()["missing"],
        serde_json::json!(["first_name", "last_name"])
    );
    crate::scenarios::common::accept(&o.engine, &token, "acct-a");
    let e = o
        .engine
        .accept(&token, crate::scenarios::common::registration("acct-a"))
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvitationNotOpen {
                status: InvitationStatus::Accepted,
                ..
            }
        ),
        "{e:?}"
    );
    let json = serde_json::to_value(&e).expect("serialize");
    assert_eq!(json["code"], "invitation_not_open");
    assert_eq!(json["family"], "conflict");
    assert_eq!(json["facts"]["status"], "accepted");
}

/// A store that is always busy: every transaction it is asked for fails
/// with a write conflict. Counts the attempts.
struct AlwaysConflicts {
    begun: AtomicUsize,
}

impl Store for AlwaysConflicts {
    fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
        self.begun.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::Conflict)
    }
}

#[test]
fn a_command_whose_conflict_retries_run_out_has_its_own_code() {
    let store = Arc::new(AlwaysConflicts {
        begun: AtomicUsize::new(0),
    });
    let mut config = EngineConfig::default();
    config.conflict_retries = 3;
    let engine = Enlist::new(store.clone()).with_config(config);
    let e = engine
        .create_organization(NewOrganization::new("Acme", "acct-o", "o@acme.test"))
        .unwrap_err();
    assert!(
        matches!(e, Error::RetriesExhausted { attempts: 4 }),
        "{e:?}"
    );
    assert_eq!(e.error_code(), ErrorCode::RetriesExhausted);
    assert_eq!(e.family(), ErrorFamily::Storage);
    assert_eq!(
        store.begun.load(Ordering::SeqCst),
        4,
        "one run and three retries"
    );
}

#[test]
fn a_store_conflict_at_begin_is_retried_too() {
    struct BusyOnce {
        inner: MemoryStore,
        begun: AtomicUsize,
    }
    impl Store for BusyOnce {
        fn begin(&self) -> StoreResult<Box<dyn Transaction + '_>> {
            if self.begun.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(StoreError::Conflict);
            }
            self.inner.begin()
        }
    }
    let store = Arc::new(BusyOnce {
        inner: MemoryStore::new(),
        begun: AtomicUsize::new(0),
    });
    let engine = Enlist::new(store.clone());
    engine
        .create_organization(NewOrganization::new("Acme", "acct-o", "o@acme.test"))
        .expect("the second attempt gets through");
    assert_eq!(store.begun.load(Ordering::SeqCst), 2);
}

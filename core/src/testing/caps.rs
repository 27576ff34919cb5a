//! What the `caps` part of issue 13 asks of a store: the sealed access
//! code and the "Active" flag ride in the invitation body every store
//! already keeps, so they must come back as they were written.

use super::entities::begin;
use super::harness::MakeStore;
use crate::{
    Actor, CreatedOrganization, Enlist, InviteRequest, NewOrganization, RecipientInput, Recipients,
    SealingKey, StagedInvitationUpdate,
};

/// An identifier invitation's sealed code survives the store (its code is
/// shown again after a fresh transaction reads it back), a staged
/// invitation saved with "Active" unchecked reads back inactive, and an
/// edit before sending is kept.
pub fn sealed_codes_and_inactive_invitations_round_trip(make: MakeStore<'_>) {
    let store = make();
    let engine = Enlist::new(store.clone())
        .with_sealing_keys(SealingKey::new("k1", [9u8; 32]).expect("key"), Vec::new())
        .expect("keys");
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
        .expect("org");
    let owner = Actor::Member(owner.id);
    let mut rep = engine
        .invite(
            &org.id,
            &owner,
            InviteRequest::new(Recipients::List(vec![RecipientInput::identifier(
                "EMP-0042",
            )])),
        )
        .expect("invite");
    let issued = rep.issued.remove(0);
    let code = issued.secret.expect("code");
    {
        let mut tx = begin(&*store);
        let stored = tx
            .invitation(&org.id, &issued.invitation.id)
            .expect("read")
            .expect("stored");
        let sealed = stored.sealed_code.as_ref().expect("sealed code kept");
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.ciphertext.contains(code.expose()));
    }
    assert_eq!(
        engine
            .reveal_access_code(&org.id, &owner, &issued.invitation.id)
            .expect("reveal")
            .expose(),
        code.expose()
    );
    let inactive = engine
        .invite(
            &org.id,
            &owner,
            InviteRequest::new(Recipients::Paste("kim@acme.test".into())).inactive(),
        )
        .expect("invite")
        .issued
        .remove(0)
        .invitation;
    {
        let mut tx = begin(&*store);
        let stored = tx
            .invitation(&org.id, &inactive.id)
            .expect("read")
            .expect("stored");
        assert!(!stored.active);
        assert!(stored.sealed_code.is_none());
    }
    let edited = engine
        .update_staged_invitation(
            &org.id,
            &owner,
            &inactive.id,
            StagedInvitationUpdate::new()
                .names("Kim", "Lee")
                .role("user_admin")
                .active(true),
        )
        .expect("edit");
    let mut tx = begin(&*store);
    let stored = tx
        .invitation(&org.id, &inactive.id)
        .expect("read")
        .expect("stored");
    assert_eq!(stored.invitation, edited);
    assert!(stored.active);
    assert_eq!(stored.role, "user_admin");
    assert_eq!(stored.last_name.as_deref(), Some("Lee"));
}

//! What issue 14's per-invitation settings ask of a store: the count of one
//! inviter's open invitations ([`Transaction::open_invitations_by_inviter`]),
//! and the lifetime, redirect URL and metadata riding in the invitation
//! and member bodies every store already keeps.
//!
//! [`Transaction::open_invitations_by_inviter`]: crate::Transaction::open_invitations_by_inviter

use super::entities::{begin, invitation, member, organization, pending, t};
use super::harness::MakeStore;
use crate::{
    Actor, CreatedOrganization, EngineConfig, Enlist, InvitationStatus, InviteRequest, MemberId,
    Metadata, NewOrganization, OrgId, Recipients, Registration, RejectReason, StoredInvitation,
};

fn by(mut inv: StoredInvitation, inviter: &str) -> StoredInvitation {
    inv.inviter = Some(MemberId::from(inviter));
    inv
}

/// Staged invitations and pending ones not yet expired count; expired
/// (by time or as stored), accepted, revoked and other inviters' do not;
/// the count is per organization, follows the transaction's own writes and
/// forgets them on rollback.
pub fn open_invitations_by_inviter_counts_open_ones(make: MakeStore<'_>) {
    let store = make();
    let (a, b) = (OrgId::from("org_a"), OrgId::from("org_b"));
    let ann = MemberId::from("mem_ann");
    let count = |tx: &mut Box<dyn crate::Transaction + '_>, org: &OrgId, who: &MemberId, at| {
        tx.open_invitations_by_inviter(org, who, t(at))
            .expect("count")
    };
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&a)).expect("org a");
    tx.put_organization(&organization(&b)).expect("org b");
    assert_eq!(count(&mut tx, &a, &ann, 10), 0, "nothing yet");
    tx.put_invitation(&by(invitation(&a, "inv_1", "s1@x.test"), "mem_ann"))
        .expect("staged");
    tx.put_invitation(&by(pending(&a, "inv_2", "p2@x.test", 2, 100), "mem_ann"))
        .expect("pending until 100");
    tx.put_invitation(&by(pending(&a, "inv_3", "p3@x.test", 3, 50), "mem_ann"))
        .expect("pending until 50");
    let mut closed = by(pending(&a, "inv_4", "c4@x.test", 4, 100), "mem_ann");
    closed.status = InvitationStatus::Accepted;
    closed.secret_hash = None;
    tx.put_invitation(&closed).expect("accepted");
    let mut revoked = by(pending(&a, "inv_5", "r5@x.test", 5, 100), "mem_ann");
    revoked.status = InvitationStatus::Revoked;
    revoked.secret_hash = None;
    tx.put_invitation(&revoked).expect("revoked");
    let mut expired = by(pending(&a, "inv_9", "e9@x.test", 9, 5), "mem_ann");
    expired.status = InvitationStatus::Expired;
    expired.secret_hash = None;
    tx.put_invitation(&expired).expect("expired as stored");
    tx.put_invitation(&by(pending(&a, "inv_6", "p6@x.test", 6, 100), "mem_bob"))
        .expect("another inviter");
    tx.put_invitation(&pending(&a, "inv_7", "p7@x.test", 7, 100))
        .expect("the system's");
    tx.put_invitation(&by(pending(&b, "inv_8", "p8@x.test", 8, 100), "mem_ann"))
        .expect("another organization");
    // Its own writes, at once.
    assert_eq!(count(&mut tx, &a, &ann, 10), 3);
    tx.commit().expect("commit");

    let mut tx = begin(&*store);
    assert_eq!(count(&mut tx, &a, &ann, 10), 3, "staged and two pending");
    assert_eq!(count(&mut tx, &a, &ann, 49), 3);
    assert_eq!(count(&mut tx, &a, &ann, 50), 2, "expired at its expiry");
    assert_eq!(count(&mut tx, &a, &ann, 100), 1, "staged ones never expire");
    assert_eq!(count(&mut tx, &a, &MemberId::from("mem_bob"), 10), 1);
    assert_eq!(count(&mut tx, &b, &ann, 10), 1, "per organization");
    assert_eq!(count(&mut tx, &a, &MemberId::from("mem_nobody"), 10), 0);
    assert_eq!(count(&mut tx, &OrgId::from("org_none"), &ann, 10), 0);
    // A change of status moves the count; a rollback forgets it.
    let mut inv2 = tx
        .invitation(&a, &crate::InvitationId::from("inv_2"))
        .expect("read")
        .expect("there");
    inv2.status = InvitationStatus::Accepted;
    inv2.secret_hash = None;
    tx.put_invitation(&inv2).expect("accept");
    assert_eq!(count(&mut tx, &a, &ann, 10), 2);
    drop(tx);
    let mut tx = begin(&*store);
    assert_eq!(count(&mut tx, &a, &ann, 10), 3, "rolled back");
}

/// The lifetime, redirect URL and both metadata objects come back from the
/// store as they were written, on the invitation and on the member.
pub fn settings_round_trip(make: MakeStore<'_>) {
    let store = make();
    let org = OrgId::from("org_a");
    let meta =
        Metadata::from_json(r#"{"plan": "pro", "n": [1, 2.5, null, {"deep": true}], "ü": "ß"}"#)
            .expect("metadata");
    let secret = Metadata::from_json(r#"{"crm_id": "A-17"}"#).expect("metadata");
    let mut inv = by(pending(&org, "inv_1", "p@x.test", 1, 100), "mem_ann");
    inv.lifetime_secs = Some(3 * 86_400);
    inv.redirect_url = Some("https://app.example/welcome?x=1".into());
    inv.public_metadata = meta.clone();
    inv.private_metadata = secret.clone();
    inv.locale = Some("de-AT".into());
    let mut m = member(&org, "mem_1", "m@x.test");
    m.public_metadata = meta;
    m.private_metadata = secret;
    let mut tx = begin(&*store);
    tx.put_organization(&organization(&org)).expect("org");
    tx.put_invitation(&inv).expect("invitation");
    tx.put_member(&m).expect("member");
    tx.commit().expect("commit");
    let mut tx = begin(&*store);
    assert_eq!(
        tx.invitation(&org, &inv.id).expect("read"),
        Some(inv.clone())
    );
    assert_eq!(tx.member(&org, &m.id).expect("read"), Some(m));
}

/// Through the engine: the per-inviter limit rejects the recipients past
/// it (and the dry run says the same), a lifetime outside the policy's
/// bounds is refused, and an invitation's own lifetime, redirect URL and
/// metadata reach the preview and the member as the issue asks.
pub fn per_invitation_settings_through_the_engine(make: MakeStore<'_>) {
    let store = make();
    let mut config = EngineConfig::default();
    config.allowed_redirect_urls = vec!["https://app.acme.example/welcome".into()];
    let engine = Enlist::new(store).try_with_config(config).expect("engine");
    let CreatedOrganization {
        organization: org,
        owner,
        ..
    } = engine
        .create_organization(NewOrganization::new("Acme", "acct-1", "ada@acme.test"))
        .expect("org");
    let owner = Actor::Member(owner.id);
    let mut policy = org.policy.clone();
    policy.max_open_invitations_per_inviter = Some(2);
    policy.min_invitation_lifetime_secs = 3600;
    policy.max_invitation_lifetime_secs = 14 * 86_400;
    engine
        .update_policy(&org.id, &owner, policy)
        .expect("policy");
    let three = || Recipients::Paste("a@acme.test, b@acme.test, c@acme.test".into());
    let dry = engine
        .dry_run_invite(&org.id, &owner, &InviteRequest::new(three()))
        .expect("dry run");
    let rep = engine
        .invite(
            &org.id,
            &owner,
            InviteRequest::new(three())
                .lifetime_secs(2 * 86_400)
                .redirect_url("https://app.acme.example/welcome/team")
                .public_metadata(Metadata::from_json(r#"{"team": "blue"}"#).expect("json"))
                .private_metadata(Metadata::from_json(r#"{"crm": 7}"#).expect("json")),
        )
        .expect("invite");
    assert_eq!(rep.issued.len(), 2);
    assert_eq!(rep.rejected.len(), 1);
    assert_eq!(
        rep.rejected[0].reason,
        RejectReason::InviterLimitReached { limit: 2 }
    );
    assert_eq!(dry.would_issue.len(), 2, "the dry run says the same");
    assert_eq!(dry.rejected[0].reason, rep.rejected[0].reason);
    let issued = &rep.issued[0];
    assert_eq!(
        issued.invitation.expires_at,
        Some(issued.invitation.created_at + chrono::Duration::days(2))
    );
    let too_long = engine.invite(
        &org.id,
        &owner,
        InviteRequest::new(Recipients::Paste("d@acme.test".into())).lifetime_secs(15 * 86_400),
    );
    assert_eq!(
        too_long.map(|_| ()).map_err(|e| e.code()),
        Err("invalid_input")
    );
    let token = issued.secret.clone().expect("token");
    let preview = engine.preview(token.expose()).expect("preview");
    assert_eq!(
        preview.redirect_url.as_deref(),
        Some("https://app.acme.example/welcome/team")
    );
    assert_eq!(preview.public_metadata.to_json(), r#"{"team":"blue"}"#);
    let accepted = engine
        .accept(
            token.expose(),
            Registration {
                user_ref: "acct-a".into(),
                first_name: Some("A".into()),
                last_name: Some("B".into()),
                ..Registration::default()
            },
        )
        .expect("accept");
    assert!(accepted.member.private_metadata.is_empty());
    assert!(accepted.invitation.private_metadata.is_empty());
    let member = engine
        .member(&org.id, &owner, &accepted.member.id)
        .expect("member");
    assert_eq!(member.private_metadata.to_json(), r#"{"crm":7}"#);
    assert_eq!(member.public_metadata.to_json(), r#"{"team":"blue"}"#);
}

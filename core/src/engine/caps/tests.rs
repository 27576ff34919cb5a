use super::*;
use crate::engine::test_support as ts;
use crate::engine::{InviteRequest, NewOrganization, Recipients};
use crate::group::Group;
use crate::member::Member;
use crate::policy::Policy;
use crate::role::PermissionSet;
use crate::seal::SealingKey;
use crate::store::Store as _;
use proptest::prelude::*;

/// An organization with an owner, for the tests below.
struct Org {
    engine: Enlist,
    org: OrgId,
    owner: Actor,
    next: std::cell::Cell<usize>,
}

impl Org {
    fn new(engine: Enlist, policy: Policy) -> Self {
        let (org, owner) = ts::org(&engine, "acct-owner", "owner@acme.test", policy);
        Self {
            engine,
            org,
            owner,
            next: std::cell::Cell::new(0),
        }
    }

    fn fresh(&self) -> String {
        let n = self.next.get();
        self.next.set(n + 1);
        format!("p{n}@acme.test")
    }

    fn group(&self, name: &str) -> Group {
        ts::group(&self.engine, &self.org, &self.owner, name)
    }

    /// A member who joined with `role`, `kind` and `groups`.
    fn join(&self, role: &str, kind: MemberKind, groups: Vec<GroupGrant>) -> Member {
        let email = self.fresh();
        let n = self.next.get();
        ts::join(
            &self.engine,
            &self.org,
            &Actor::System,
            InviteRequest::new(Recipients::Paste(email))
                .role(role)
                .kind(kind)
                .groups(groups),
            ts::registration(&format!("acct-{n}"), ("A", "B")),
        )
    }

    /// Invites one new person as `actor`, staged (no mail).
    fn try_invite(
        &self,
        actor: &Actor,
        role: &str,
        kind: MemberKind,
        groups: Vec<GroupGrant>,
    ) -> Result<crate::InviteReport> {
        self.engine.invite(
            &self.org,
            actor,
            InviteRequest::new(Recipients::Paste(self.fresh()))
                .role(role)
                .kind(kind)
                .groups(groups)
                .staged(),
        )
    }
}

fn permission_set(bits: u16) -> PermissionSet {
    Permission::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, p)| bits & (1 << i) != 0 && *p != Permission::OwnOrganization)
        .map(|(_, p)| p)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every role and group grant `capabilities` lists is an invitation
    /// `invite` issues; every other one is refused (PermissionDenied, or
    /// for a guest invitation a role with permissions, or guests disabled).
    /// The flags agree with the commands they stand for.
    #[test]
    fn capabilities_are_what_the_commands_allow(
        members_can_invite in any::<bool>(),
        group_owners_can_invite in any::<bool>(),
        guests_enabled in any::<bool>(),
        custom in proptest::collection::vec(any::<u16>(), 0..3),
        actor_role in 0usize..8,
        actor_guest in any::<bool>(),
        memberships in proptest::collection::vec(0u8..3, 3),
    ) {
        let policy = Policy {
            members_can_invite,
            group_owners_can_invite,
            guests_enabled: true,
            ..Policy::default()
        };
        let o = Org::new(Enlist::in_memory(), policy.clone());
        for (i, bits) in custom.iter().enumerate() {
            o.engine
                .define_role(&o.org, &o.owner, &format!("custom{i}"), permission_set(*bits))
                .expect("role");
        }
        let groups: Vec<Group> = (0..3).map(|i| o.group(&format!("g{i}"))).collect();
        let roles = o.engine.roles(&o.org).expect("roles");
        let grants: Vec<GroupGrant> = memberships
            .iter()
            .zip(&groups)
            .filter_map(|(m, g)| match m {
                1 => Some(GroupGrant { group_id: g.id.clone(), role: GroupRole::Member }),
                2 => Some(GroupGrant { group_id: g.id.clone(), role: GroupRole::Owner }),
                _ => None,
            })
            .collect();
        let member = if actor_guest {
            o.join(crate::role::builtin::GUEST, MemberKind::Guest, grants)
        } else {
            let role = &roles[actor_role % roles.len()].name;
            o.join(role, MemberKind::Member, grants)
        };
        if !guests_enabled {
            o.engine
                .update_policy(&o.org, &o.owner, Policy { guests_enabled: false, ..policy.clone() })
                .expect("policy");
        }
        let actor = Actor::Member(member.id.clone());
        let caps = o.engine.capabilities(&o.org, &actor).expect("capabilities");

        let mut choices: Vec<Vec<GroupGrant>> = vec![Vec::new()];
        for g in &groups {
            for role in GROUP_ROLES {
                choices.push(vec![GroupGrant { group_id: g.id.clone(), role }]);
            }
        }
        for kind in [MemberKind::Member, MemberKind::Guest] {
            let cap = if kind == MemberKind::Guest { &caps.guests } else { &caps.members };
            for r in &roles {
                for choice in &choices {
                    let listed = cap.roles.contains(&r.name)
                        && match choice.first() {
                            None => cap.without_groups,
                            Some(g) => cap.may_grant(g),
                        };
                    let out = o.try_invite(&actor, &r.name, kind, choice.clone());
                    let issued = matches!(&out, Ok(rep) if rep.issued.len() == 1);
                    prop_assert_eq!(
                        listed, issued,
                        "{:?} role {} groups {:?}: listed {} but {:?}", kind, r.name, choice, listed, out
                    );
                    if !issued {
                        let refused_as_expected = match &out {
                            Err(Error::PermissionDenied { .. }) | Err(Error::NotAMember { .. }) => true,
                            Err(Error::InvalidInput { field, .. }) => field == "role" && kind == MemberKind::Guest,
                            Ok(rep) => rep.rejected.iter().all(|x| x.reason == crate::RejectReason::GuestsDisabled),
                            Err(_) => false,
                        };
                        prop_assert!(refused_as_expected, "{:?}", out);
                    }
                }
            }
        }
        // The gate every invite command passes first.
        prop_assert_eq!(
            caps.can_invite,
            o.engine.send_staged(&o.org, &actor, &[]).is_ok()
        );
        // Policy, link and member list.
        let changed = Policy { resend_cap: 7, ..o.engine.organization(&o.org).expect("org").policy };
        prop_assert_eq!(
            caps.manage_policy,
            o.engine.update_policy(&o.org, &actor, changed).is_ok()
        );
        prop_assert_eq!(
            caps.manage_invite_link,
            o.engine.invite_link(&o.org, &actor).is_ok()
        );
        prop_assert_eq!(
            caps.view_members,
            o.engine.list_members(&o.org, &actor, &crate::MemberQuery::default()).is_ok()
        );
        prop_assert_eq!(
            caps.view_audit,
            o.engine.events(&o.org, &actor, 0, 10).is_ok()
        );
    }
}

#[test]
fn a_guest_and_a_plain_member_may_invite_nobody_by_default() {
    let o = Org::new(Enlist::in_memory(), Policy::default());
    let plain = o.join("member", MemberKind::Member, Vec::new());
    let caps = o
        .engine
        .capabilities(&o.org, &Actor::Member(plain.id))
        .expect("caps");
    assert!(!caps.can_invite);
    assert_eq!(caps.members, InviteCapability::default());
    assert!(!caps.manage_policy && !caps.manage_members);
    let owner = o.engine.capabilities(&o.org, &o.owner).expect("caps");
    assert!(owner.can_invite && owner.manage_policy && owner.manage_invite_link);
    assert!(owner.members.roles.contains(&"owner".to_owned()));
    assert_eq!(
        owner.members.any_group_roles,
        vec![GroupRole::Member, GroupRole::Owner]
    );
    assert!(!owner.access_codes_kept && !owner.reveal_access_codes);
    // Someone from outside is refused, as by every command.
    let err = o
        .engine
        .capabilities(&o.org, &Actor::Member("mem_nobody".into()))
        .unwrap_err();
    assert_eq!(err.code(), "not_a_member");
}

#[test]
fn the_default_role_is_used_validated_and_kept_from_deletion() {
    let o = Org::new(Enlist::in_memory(), Policy::default());
    let perms: PermissionSet = [Permission::ViewMembers].into_iter().collect();
    o.engine
        .define_role(&o.org, &o.owner, "staff", perms)
        .expect("role");
    let policy = |r: &str| Policy {
        default_role: Some(r.into()),
        ..Policy::default()
    };
    // Unknown and owner roles are refused.
    for bad in ["nobody", "owner"] {
        let err = o
            .engine
            .update_policy(&o.org, &o.owner, policy(bad))
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{bad}: {err}");
    }
    o.engine
        .update_policy(&o.org, &o.owner, policy("staff"))
        .expect("policy");
    // A request naming no role gets it; a guest does not.
    let rep = o
        .engine
        .invite(
            &o.org,
            &o.owner,
            InviteRequest::new(Recipients::Paste("a@acme.test".into())).staged(),
        )
        .expect("invite");
    assert_eq!(rep.issued[0].invitation.role, "staff");
    let rep = o
        .engine
        .invite(
            &o.org,
            &o.owner,
            InviteRequest::new(Recipients::Paste("g@acme.test".into()))
                .kind(MemberKind::Guest)
                .staged(),
        )
        .expect("invite");
    assert_eq!(rep.issued[0].invitation.role, "guest");
    // A named role wins.
    let rep = o
        .engine
        .invite(
            &o.org,
            &o.owner,
            InviteRequest::new(Recipients::Paste("b@acme.test".into()))
                .role("member")
                .staged(),
        )
        .expect("invite");
    assert_eq!(rep.issued[0].invitation.role, "member");
    assert_eq!(
        o.engine
            .capabilities(&o.org, &o.owner)
            .expect("caps")
            .default_role,
        "staff"
    );
    // The default role cannot be deleted until the policy names another.
    let err = o.engine.delete_role(&o.org, &o.owner, "staff").unwrap_err();
    assert_eq!(err.code(), "conflict");
    o.engine
        .update_policy(&o.org, &o.owner, Policy::default())
        .expect("policy");
    o.engine
        .delete_role(&o.org, &o.owner, "staff")
        .expect("deleted");
    // A new organization may name a built-in role only.
    let err = o
        .engine
        .create_organization(
            NewOrganization::new("B", "acct-b", "b@b.test").with_policy(policy("staff")),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
}

fn staged(o: &Org, actor: &Actor, req: InviteRequest) -> Invitation {
    o.engine
        .invite(&o.org, actor, req)
        .expect("invite")
        .issued
        .remove(0)
        .invitation
}

#[test]
fn a_staged_invitation_is_edited_with_one_event_and_only_while_staged() {
    let o = Org::new(
        Enlist::in_memory(),
        Policy {
            seat_limits: [("pro".to_owned(), 1)].into_iter().collect(),
            ..Policy::default()
        },
    );
    let g = o.group("Sales");
    let inv = staged(
        &o,
        &o.owner,
        InviteRequest::new(Recipients::Paste("pat@acme.test".into())).staged(),
    );
    let before = o
        .engine
        .events(&o.org, &o.owner, 0, 1000)
        .expect("events")
        .len();
    let grants = vec![GroupGrant {
        group_id: g.id.clone(),
        role: GroupRole::Owner,
    }];
    let edited = o
        .engine
        .update_staged_invitation(
            &o.org,
            &o.owner,
            &inv.id,
            StagedInvitationUpdate::new()
                .role("user_admin")
                .groups(grants.clone())
                .names("Pat", "Smith")
                .license_type("pro"),
        )
        .expect("edit");
    assert_eq!(edited.role, "user_admin");
    assert_eq!(edited.groups, grants);
    assert_eq!(edited.first_name.as_deref(), Some("Pat"));
    assert_eq!(edited.license_type, "pro");
    let events = o.engine.events(&o.org, &o.owner, 0, 1000).expect("events");
    assert_eq!(events.len(), before + 1);
    assert!(matches!(
        &events[before].kind,
        EventKind::InvitationUpdated { fields, .. }
            if fields == &["role", "groups", "first_name", "last_name", "license_type"]
    ));
    // The same values again: nothing written.
    o.engine
        .update_staged_invitation(
            &o.org,
            &o.owner,
            &inv.id,
            StagedInvitationUpdate::new().role("user_admin"),
        )
        .expect("no change");
    assert_eq!(
        o.engine
            .events(&o.org, &o.owner, 0, 1000)
            .expect("events")
            .len(),
        before + 1
    );
    // The only "pro" seat is held by this invitation: another cannot take it.
    let other = staged(
        &o,
        &o.owner,
        InviteRequest::new(Recipients::Paste("sam@acme.test".into())).staged(),
    );
    let err = o
        .engine
        .update_staged_invitation(
            &o.org,
            &o.owner,
            &other.id,
            StagedInvitationUpdate::new().license_type("pro"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "limit_exceeded", "{err}");
    // A user admin may not give a role beyond their own permissions.
    let ua = o.join("user_admin", MemberKind::Member, Vec::new());
    let err = o
        .engine
        .update_staged_invitation(
            &o.org,
            &Actor::Member(ua.id.clone()),
            &other.id,
            StagedInvitationUpdate::new().role("owner"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied", "{err}");
    // A plain member may not edit at all.
    let plain = o.join("member", MemberKind::Member, Vec::new());
    let err = o
        .engine
        .update_staged_invitation(
            &o.org,
            &Actor::Member(plain.id),
            &other.id,
            StagedInvitationUpdate::new().names("X", "Y"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied", "{err}");
    // Once sent, it cannot be edited, and nothing changes.
    o.engine
        .send_staged(&o.org, &o.owner, std::slice::from_ref(&other.id))
        .expect("send");
    let err = o
        .engine
        .update_staged_invitation(
            &o.org,
            &o.owner,
            &other.id,
            StagedInvitationUpdate::new().role("admin"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
    assert!(err.to_string().contains("pending"), "{err}");
    let after = o
        .engine
        .invitation(&o.org, &o.owner, &other.id)
        .expect("read");
    assert_eq!(after.role, "member");
    // Bounded before anything is read.
    let err = o
        .engine
        .update_staged_invitation(
            &o.org,
            &o.owner,
            &inv.id,
            StagedInvitationUpdate::new().names("A\r\nBcc: x@evil.test", "B"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
}

#[test]
fn active_unchecked_is_staged_until_activated_and_sent() {
    let o = Org::new(Enlist::in_memory(), Policy::default());
    // "Active" unchecked with "Save & Send" is refused.
    let mut req = InviteRequest::new(Recipients::Paste("kim@acme.test".into()));
    req.active = false;
    let err = o.engine.invite(&o.org, &o.owner, req).unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let inv = staged(
        &o,
        &o.owner,
        InviteRequest::new(Recipients::Paste("kim@acme.test".into())).inactive(),
    );
    assert!(!inv.active);
    assert_eq!(inv.status, InvitationStatus::Staged);
    let report = o
        .engine
        .send_staged(&o.org, &o.owner, std::slice::from_ref(&inv.id))
        .expect("send");
    assert!(
        matches!(&report.results[0], crate::SendOutcome::Failed { code, .. } if code == "conflict"),
        "{report:?}"
    );
    assert_eq!(
        o.engine
            .invitation(&o.org, &o.owner, &inv.id)
            .expect("read")
            .status,
        InvitationStatus::Staged
    );
    let active = o
        .engine
        .update_staged_invitation(
            &o.org,
            &o.owner,
            &inv.id,
            StagedInvitationUpdate::new().active(true),
        )
        .expect("activate");
    assert!(active.active);
    let events = o.engine.events(&o.org, &o.owner, 0, 1000).expect("events");
    assert!(matches!(
        events.last().map(|e| &e.kind),
        Some(EventKind::InvitationActiveChanged { active: true, .. })
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::InvitationStaged { active: false, .. }))
    );
    let report = o
        .engine
        .send_staged(&o.org, &o.owner, std::slice::from_ref(&inv.id))
        .expect("send");
    assert!(matches!(
        &report.results[0],
        crate::SendOutcome::Sent { .. }
    ));
}

fn keyed(engine: Enlist, id: &str, byte: u8) -> Enlist {
    engine
        .with_sealing_keys(SealingKey::new(id, [byte; 32]).expect("key"), Vec::new())
        .expect("keys")
}

fn code_invite(o: &Org, actor: &Actor, who: &str) -> (Invitation, Secret) {
    let mut rep = o
        .engine
        .invite(
            &o.org,
            actor,
            InviteRequest::new(Recipients::List(vec![crate::RecipientInput::identifier(
                who,
            )])),
        )
        .expect("invite");
    let issued = rep.issued.remove(0);
    (issued.invitation, issued.secret.expect("code"))
}

#[test]
fn an_access_code_is_shown_again_only_with_a_key_and_to_who_may_manage_it() {
    let store = std::sync::Arc::new(crate::MemoryStore::new());
    let o = Org::new(
        keyed(Enlist::new(store.clone()), "k1", 1),
        Policy::default(),
    );
    let (inv, code) = code_invite(&o, &o.owner, "EMP-0042");
    // The returned invitation and its serde form hold no sealed code.
    let json = serde_json::to_string(&inv).expect("json");
    assert!(!json.contains("sealed") && !json.contains(code.expose()));
    let shown = o
        .engine
        .reveal_access_code(&o.org, &o.owner, &inv.id)
        .expect("reveal");
    assert_eq!(shown.expose(), code.expose());
    let events = o.engine.events(&o.org, &o.owner, 0, 1000).expect("events");
    assert!(matches!(
        events.last().map(|e| &e.kind),
        Some(EventKind::AccessCodeRevealed { .. })
    ));
    let trail = serde_json::to_string(&events).expect("json");
    assert!(!trail.contains(code.expose()), "no code in the trail");
    // Who may not manage the invitation is refused, before anything else.
    let plain = o.join("member", MemberKind::Member, Vec::new());
    let err = o
        .engine
        .reveal_access_code(&o.org, &Actor::Member(plain.id.clone()), &inv.id)
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied");
    // ... and learns nothing about which ids exist.
    let plain_actor = Actor::Member(plain.id.clone());
    for id in [inv.id.clone(), InvitationId::from("inv_made_up")] {
        let err = o
            .engine
            .reveal_access_code(&o.org, &plain_actor, &id)
            .unwrap_err();
        assert_eq!(err.code(), "permission_denied", "{id}");
        let err = o
            .engine
            .update_staged_invitation(&o.org, &plain_actor, &id, StagedInvitationUpdate::new())
            .unwrap_err();
        assert_eq!(err.code(), "permission_denied", "{id}");
    }
    // A resend reseals: the new code shows, the old one is gone.
    let clock = std::sync::Arc::new(crate::ManualClock::new(o.engine.now()));
    let o2 = Org {
        engine: o.engine.clone().with_clock(clock.clone()),
        ..o
    };
    clock.advance(chrono::Duration::hours(1));
    let again = o2
        .engine
        .resend(&o2.org, &o2.owner, &inv.id)
        .expect("resend");
    let new_code = again.secret.expect("code");
    assert_ne!(new_code.expose(), code.expose());
    assert_eq!(
        o2.engine
            .reveal_access_code(&o2.org, &o2.owner, &inv.id)
            .expect("reveal")
            .expose(),
        new_code.expose()
    );
    // A sealed code copied onto another invitation does not open.
    let (other, _) = code_invite(&o2, &o2.owner, "EMP-0043");
    {
        let mut tx = store.begin().expect("tx");
        let src = tx.invitation(&o2.org, &inv.id).expect("read").expect("inv");
        let mut dst = tx
            .invitation(&o2.org, &other.id)
            .expect("read")
            .expect("inv");
        dst.sealed_code = src.sealed_code.clone();
        tx.put_invitation(&dst).expect("put");
        tx.commit().expect("commit");
    }
    let err = o2
        .engine
        .reveal_access_code(&o2.org, &o2.owner, &other.id)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::AccessCodeNotKept {
                key_configured: true,
                ..
            }
        ),
        "{err:?}"
    );
    // Revoked: nothing to show, and the sealed code is dropped.
    o2.engine
        .revoke(&o2.org, &o2.owner, &inv.id)
        .expect("revoke");
    let err = o2
        .engine
        .reveal_access_code(&o2.org, &o2.owner, &inv.id)
        .unwrap_err();
    assert_eq!(err.code(), "invitation_not_open");
    let mut tx = store.begin().expect("tx");
    assert!(
        tx.invitation(&o2.org, &inv.id)
            .expect("read")
            .expect("inv")
            .sealed_code
            .is_none()
    );
    drop(tx);
    // An email invitation has no code.
    let rep = o2
        .engine
        .invite(
            &o2.org,
            &o2.owner,
            InviteRequest::new(Recipients::Paste("e@acme.test".into())),
        )
        .expect("invite");
    let err = o2
        .engine
        .reveal_access_code(&o2.org, &o2.owner, &rep.issued[0].invitation.id)
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
}

#[test]
fn without_a_key_the_code_is_shown_once_and_the_error_says_so() {
    let o = Org::new(Enlist::in_memory(), Policy::default());
    let (inv, _) = code_invite(&o, &o.owner, "EMP-1");
    let err = o
        .engine
        .reveal_access_code(&o.org, &o.owner, &inv.id)
        .unwrap_err();
    assert_eq!(err.code(), "access_code_not_kept");
    assert!(matches!(
        err,
        Error::AccessCodeNotKept {
            key_configured: false,
            ..
        }
    ));
    assert!(err.to_string().contains("no sealing key"), "{err}");
    assert!(err.to_string().contains("shown once"), "{err}");
    // A key configured later does not open codes issued before it.
    let later = Org {
        engine: keyed(o.engine.clone(), "k1", 1),
        ..o
    };
    let err = later
        .engine
        .reveal_access_code(&later.org, &later.owner, &inv.id)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::AccessCodeNotKept {
            key_configured: true,
            ..
        }
    ));
}

#[test]
fn rotated_keys_still_open_old_codes_and_an_unknown_key_is_refused() {
    let store = std::sync::Arc::new(crate::MemoryStore::new());
    let o = Org::new(
        keyed(Enlist::new(store.clone()), "k1", 1),
        Policy::default(),
    );
    let (inv, code) = code_invite(&o, &o.owner, "EMP-7");
    let rotated = Enlist::new(store.clone())
        .with_sealing_keys(
            SealingKey::new("k2", [2u8; 32]).expect("key"),
            vec![SealingKey::new("k1", [1u8; 32]).expect("key")],
        )
        .expect("keys");
    assert_eq!(
        rotated
            .reveal_access_code(&o.org, &o.owner, &inv.id)
            .expect("old key opens")
            .expose(),
        code.expose()
    );
    let dropped = keyed(Enlist::new(store), "k2", 2);
    let err = dropped
        .reveal_access_code(&o.org, &o.owner, &inv.id)
        .unwrap_err();
    assert_eq!(err.code(), "access_code_not_kept");
    // The engine's Debug shows key ids only.
    let dbg = format!("{rotated:?}");
    assert!(dbg.contains("k2") && !dbg.contains("[2, 2"), "{dbg}");
}

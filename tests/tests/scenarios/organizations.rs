//! Issue 14 (orgs), what users of better-auth, Clerk and Auth0 look for:
//! the organizations of an account after sign-in, the host's list of all
//! organizations, slugs, deleting an organization, leaving one, and
//! permissions the host defines for its own features.

use super::common::*;
use enlist::*;

/// "You belong to 2 organizations": after sign-in the host lists the
/// account's organizations (better-auth `listOrganizations`), a page at a
/// time; a removed membership is not listed.
#[test]
fn an_account_sees_its_organizations_after_sign_in() {
    let o = org_with_owner();
    let beta = o
        .engine
        .create_organization(NewOrganization::new("Beta", "acct-bob", "bob@beta.test"))
        .expect("beta");
    let bob = o.join("bob@acme.test", "member", "acct-bob");
    let first = o
        .engine
        .organizations_of("acct-bob", None, 1)
        .expect("page 1");
    assert_eq!(first.items.len(), 1);
    let rest = o
        .engine
        .organizations_of("acct-bob", first.next_cursor.as_deref(), 10)
        .expect("page 2");
    let mut slugs: Vec<String> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|m| format!("{}:{}", m.slug, m.role))
        .collect();
    slugs.sort();
    assert_eq!(slugs, ["acme:member", "beta:owner"]);
    assert!(
        rest.items
            .iter()
            .chain(&first.items)
            .any(|m| m.org_id == beta.organization.id)
    );
    o.engine
        .remove_member(o.id(), &o.owner_actor(), &bob.id)
        .expect("remove bob");
    let now = o
        .engine
        .organizations_of("acct-bob", None, 10)
        .expect("after");
    assert_eq!(now.items.len(), 1, "a removed membership is not listed");
    // Bounded input: a page size over the limit, a huge user_ref.
    assert_eq!(
        o.engine
            .organizations_of("acct-bob", None, 5000)
            .unwrap_err()
            .code(),
        "limit_exceeded"
    );
    assert_eq!(
        o.engine
            .organizations_of(&"x".repeat(10_000), None, 10)
            .unwrap_err()
            .code(),
        "limit_exceeded"
    );
}

/// A slug is derived from the name, or chosen (refused when taken), and
/// changed only by who may manage the policy.
#[test]
fn slugs_are_unique_and_guarded() {
    let o = org_with_owner();
    assert_eq!(o.org.slug, "acme");
    let err = o
        .engine
        .create_organization(NewOrganization::new("X", "a", "a@x.test").with_slug("Acme Corp"))
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let member = o.join("m@acme.test", "member", "acct-m");
    let err = o
        .engine
        .set_organization_slug(o.id(), &as_member(&member), "mine")
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied");
    let changed = o
        .engine
        .set_organization_slug(o.id(), &o.owner_actor(), "acme-inc")
        .expect("re-slug");
    assert_eq!(changed.slug, "acme-inc");
    assert!(matches!(
        o.events().last().map(|e| &e.kind),
        Some(EventKind::OrganizationSlugChanged { from, to }) if from == "acme" && to == "acme-inc"
    ));
    assert_eq!(
        o.engine.organization_by_slug("acme-inc").expect("found").id,
        o.org.id
    );
}

/// A member leaves (better-auth `leaveOrganization`): out of every group,
/// the seat freed; the last owner cannot; nobody leaves for someone else.
#[test]
fn a_member_leaves_and_the_last_owner_cannot() {
    let mut policy = Policy::default();
    policy.seat_limits.insert(DEFAULT_LICENSE.into(), 2);
    let o = org_with_policy(policy);
    let team = o
        .engine
        .create_group(
            o.id(),
            &o.owner_actor(),
            NewGroup {
                name: "Team".into(),
                ..NewGroup::default()
            },
        )
        .expect("team");
    let ann = o.join("ann@acme.test", "member", "acct-ann");
    o.engine
        .add_group_member(o.id(), &o.owner_actor(), &team.id, &ann.id, None)
        .expect("ann in team");
    let left = o
        .engine
        .leave_organization(o.id(), &as_member(&ann))
        .expect("ann leaves");
    assert_eq!(left.status, MemberStatus::Removed);
    assert!(left.groups.is_empty(), "groups are left too");
    assert_eq!(
        o.engine
            .group(o.id(), &o.owner_actor(), &team.id)
            .expect("team")
            .member_count,
        0
    );
    assert!(matches!(
        o.events().last().map(|e| &e.kind),
        Some(EventKind::MemberLeft { member, .. }) if *member == ann.id
    ));
    assert_eq!(
        o.engine
            .leave_organization(o.id(), &o.owner_actor())
            .unwrap_err()
            .code(),
        "conflict",
        "the last active owner cannot leave"
    );
    // The seat is free: a second person fits under the limit of 2.
    let bea = o.join("bea@acme.test", "owner", "acct-bea");
    assert_eq!(
        o.engine
            .leave_organization(o.id(), &Actor::Account("acct-bea".into()))
            .unwrap_err()
            .code(),
        "invalid_input"
    );
    // A second owner lets the first one go.
    assert_eq!(bea.role, "owner");
    o.engine
        .leave_organization(o.id(), &o.owner_actor())
        .expect("no longer the last owner");
}

/// Deleting an organization: only an owner, only with its slug typed;
/// its invitations die at once and their queued emails are never sent.
#[test]
fn deleting_kills_invitations_at_once() {
    let mut policy = Policy::default();
    policy.invite_link_enabled = true;
    let o = org_with_policy(policy);
    let admin = o.join("adm@acme.test", "admin", "acct-adm");
    let report = o
        .engine
        .invite(
            o.id(),
            &o.owner_actor(),
            InviteRequest::new(Recipients::Paste("carol@acme.test".into())),
        )
        .expect("invite");
    let token = token_of(&report.issued[0]);
    let link = o
        .engine
        .activate_invite_link(o.id(), &o.owner_actor(), LinkSpec::default())
        .expect("link");
    let link_token = token_from_url(link.url.expose());
    let err = o
        .engine
        .delete_organization(o.id(), &as_member(&admin), "acme", DeleteMode::Keep)
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied", "admins cannot delete");
    let err = o
        .engine
        .delete_organization(o.id(), &o.owner_actor(), "Acme", DeleteMode::Keep)
        .unwrap_err();
    assert_eq!(err.code(), "confirmation_mismatch");
    o.engine
        .delete_organization(o.id(), &o.owner_actor(), "acme", DeleteMode::Keep)
        .expect("delete");
    assert_eq!(
        o.engine.preview(&token).unwrap_err().code(),
        "invalid_secret"
    );
    assert_eq!(
        o.engine.preview_link(&link_token).unwrap_err().code(),
        "invalid_secret"
    );
    let mailer = RecordingMailer::new();
    let delivered = o.engine.deliver_pending(&mailer, 100).expect("deliver");
    assert!(
        delivered.sent.is_empty(),
        "the queued invitation email is not sent"
    );
    assert!(mailer.sent().is_empty());
    assert!(matches!(
        o.events().last().map(|e| &e.kind),
        Some(EventKind::OrganizationDeleted {
            invitations_revoked: 1,
            ..
        })
    ));
}

/// Permissions the host defines (better-auth access control statements):
/// a custom role carries them, the host checks them for its own features,
/// an owner holds them all, a guest none, and an administrator cannot hand
/// out one they do not hold.
#[test]
fn host_defined_permissions() {
    let o = org_with_owner();
    o.engine
        .define_role(
            o.id(),
            &o.owner_actor(),
            "billing",
            [Permission::ViewMembers].into_iter().collect(),
        )
        .expect("billing role");
    let role = o
        .engine
        .set_role_custom_permissions(
            o.id(),
            &o.owner_actor(),
            "billing",
            vec!["billing:read".into(), "billing:manage".into()],
        )
        .expect("custom permissions");
    assert_eq!(role.custom_permissions.len(), 2);
    let bill = o.join("bill@acme.test", "billing", "acct-bill");
    let mem = o.join("mem@acme.test", "member", "acct-mem");
    let admin = o.join("adm@acme.test", "admin", "acct-adm");
    let can = |a: &Actor, p: &str| o.engine.has_permission(o.id(), a, p).expect("asked");
    assert!(can(&as_member(&bill), "billing:manage"));
    assert!(can(&as_member(&bill), "view_members"), "built-in names too");
    assert!(!can(&as_member(&mem), "billing:read"));
    assert!(
        can(&o.owner_actor(), "billing:read"),
        "an owner holds them all"
    );
    assert!(!can(&as_member(&admin), "billing:read"));
    assert!(can(&Actor::System, "billing:read"));
    o.engine
        .authorize(o.id(), &as_member(&bill), "billing:read")
        .expect("allowed");
    let err = o
        .engine
        .authorize(o.id(), &as_member(&mem), "billing:read")
        .unwrap_err();
    assert_eq!(err.code(), "custom_permission_denied");
    assert_eq!(err.family(), ErrorFamily::PermissionDenied);
    // Names are validated before anything is read.
    assert_eq!(
        o.engine
            .has_permission(o.id(), &as_member(&mem), "Billing Read")
            .unwrap_err()
            .code(),
        "invalid_input"
    );
    // An administrator (manage_roles, but not billing:*) cannot grant the
    // role, nor add the permissions to another role.
    let err = o
        .engine
        .update_member(
            o.id(),
            &as_member(&admin),
            &mem.id,
            MemberUpdate {
                role: Some("billing".into()),
                ..MemberUpdate::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied");
    o.engine
        .define_role(o.id(), &as_member(&admin), "helper", PermissionSet::new())
        .expect("helper");
    let err = o
        .engine
        .set_role_custom_permissions(
            o.id(),
            &as_member(&admin),
            "helper",
            vec!["billing:manage".into()],
        )
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied");
    // Built-in roles carry none.
    assert_eq!(
        o.engine
            .set_role_custom_permissions(o.id(), &o.owner_actor(), "admin", vec!["x".into()])
            .unwrap_err()
            .code(),
        "conflict"
    );
    // Capabilities list them.
    let caps = o
        .engine
        .capabilities(o.id(), &as_member(&bill))
        .expect("caps");
    assert_eq!(caps.custom_permissions, ["billing:manage", "billing:read"]);
    // Too many is refused before the transaction.
    let many: Vec<String> = (0..=MAX_CUSTOM_PERMISSIONS)
        .map(|i| format!("p{i}"))
        .collect();
    assert_eq!(
        o.engine
            .set_role_custom_permissions(o.id(), &o.owner_actor(), "billing", many)
            .unwrap_err()
            .code(),
        "limit_exceeded"
    );
}

/// The host's admin screen lists every organization by slug (Clerk
/// `getOrganizationList`), searched by a prefix of the slug or the name.
#[test]
fn the_hosts_admin_screen_lists_every_organization() {
    let o = org_with_owner();
    for name in ["Zeta", "Acme Europe", "Beta"] {
        o.engine
            .create_organization(NewOrganization::new(name, "acct-x", "x@x.test"))
            .expect("org");
    }
    let page = o
        .engine
        .list_organizations(&OrganizationQuery::new().with_limit(2))
        .expect("page");
    let slugs: Vec<&str> = page.items.iter().map(|o| o.slug.as_str()).collect();
    assert_eq!(slugs, ["acme", "acme-europe"]);
    let found = o
        .engine
        .list_organizations(&OrganizationQuery::new().with_prefix("Acme E"))
        .expect("search");
    assert_eq!(found.items.len(), 1);
    assert_eq!(
        o.engine
            .list_organizations(&OrganizationQuery::new().with_prefix("a\u{0}b"))
            .unwrap_err()
            .code(),
        "invalid_input"
    );
}

/// A deleted organization (history kept) is gone from every way in that
/// the other features opened: its named links, its verified domain (given
/// up, so another organization may verify it), the invitee's inbox, an
/// account's organizations, membership requests and direct adds.
#[test]
fn a_deleted_organization_is_gone_from_links_domains_and_inboxes() {
    let mut policy = Policy::default();
    policy.invite_link_enabled = true;
    let o = org_with_policy(policy);
    let me = o.owner_actor();
    let link = o
        .engine
        .create_link(
            o.id(),
            &me,
            NewLink {
                name: "Sales".into(),
                ..NewLink::default()
            },
        )
        .expect("named link");
    let claim = o
        .engine
        .claim_domain(o.id(), &me, "acme.test")
        .expect("claim");
    o.engine
        .verify_domain_dns(o.id(), &me, "acme.test", &[claim.dns_record_value])
        .expect("verify");
    o.engine
        .set_domain_enrollment(o.id(), &me, "acme.test", DomainEnrollment::AutoJoin, None)
        .expect("auto join");
    o.engine
        .invite(
            o.id(),
            &me,
            InviteRequest::new(Recipients::Paste("kim@acme.test".into())),
        )
        .expect("invite");
    let kim = Identity::new(Some("kim@acme.test".into()), Some("acct-kim".into()));
    assert_eq!(
        o.engine
            .invitations_for(&kim, None, 10)
            .expect("inbox")
            .items
            .len(),
        1
    );
    assert_eq!(
        o.engine
            .domain_offers("pat@acme.test", None)
            .expect("offers")
            .len(),
        1
    );

    let slug = o.org.slug.clone();
    o.engine
        .delete_organization(o.id(), &me, &slug, DeleteMode::Keep)
        .expect("delete");

    let err = o
        .engine
        .join_by_link(link.url.expose(), "lee@acme.test", registration("acct-lee"))
        .expect_err("the named link is dead");
    assert_eq!(err.code(), "invalid_secret");
    assert!(
        o.engine
            .domain_offers("pat@acme.test", None)
            .expect("offers")
            .is_empty()
    );
    let pat = Registration {
        verified_email: Some("pat@acme.test".into()),
        ..registration("acct-pat")
    };
    assert_eq!(
        o.engine
            .join_by_domain(o.id(), pat.clone())
            .expect_err("gone")
            .code(),
        "not_found"
    );
    assert_eq!(
        o.engine
            .request_membership(o.id(), pat)
            .expect_err("gone")
            .code(),
        "not_found"
    );
    assert!(
        o.engine
            .invitations_for(&kim, None, 10)
            .expect("inbox")
            .items
            .is_empty()
    );
    assert!(
        o.engine
            .organizations_of(OWNER_REF, None, 10)
            .expect("orgs")
            .items
            .is_empty()
    );
    assert_eq!(
        o.engine
            .add_member(o.id(), &me, NewMember::new("acct-sam"))
            .expect_err("gone")
            .code(),
        "not_found"
    );
    // The domain was given up: another organization verifies it.
    let other = o
        .engine
        .create_organization(NewOrganization::new(
            "Acme Two",
            "acct-new",
            "new@acme.test",
        ))
        .expect("another organization");
    let new_owner = as_member(&other.owner);
    let claim = o
        .engine
        .claim_domain(&other.organization.id, &new_owner, "acme.test")
        .expect("claim again");
    o.engine
        .verify_domain_dns(
            &other.organization.id,
            &new_owner,
            "acme.test",
            &[claim.dns_record_value],
        )
        .expect("the domain is free");
}

"""Organizations across the store (issue 14, orgs), from Python: the
organizations of an account, the host's list of all organizations, slugs,
deleting an organization, leaving one, and host-defined permissions."""

from __future__ import annotations

import pytest

import enlist
from conftest import World


def test_an_account_sees_its_organizations(world: World) -> None:
    bob = world.join("bob@acme.example")
    other, _ = world.engine.create_organization(
        "Beta", owner_user_ref="acct-bob", owner_email="bob@beta.example", slug="beta-hq"
    )
    assert other.slug == "beta-hq" and other.deleted_at is None
    first = world.engine.organizations_of("acct-bob", limit=1)
    assert isinstance(first, enlist.AccountMembershipPage) and len(first) == 1
    rest = world.engine.organizations_of("acct-bob", after=first.next_cursor)
    mine = sorted((m.slug, m.role) for m in [*first, *rest])
    assert mine == [("acme", "member"), ("beta-hq", "owner")]
    assert all(m.status == enlist.MemberStatus.ACTIVE for m in [*first, *rest])
    assert bob.id in {m.member_id for m in [*first, *rest]}
    with pytest.raises(enlist.LimitExceededError):
        world.engine.organizations_of("acct-bob", limit=5000)


def test_the_hosts_admin_list_and_slugs(world: World) -> None:
    world.engine.create_organization("Acme Europe", owner_user_ref="a", owner_email="a@x.example")
    page = world.engine.list_organizations(prefix="ACME")
    assert isinstance(page, enlist.OrganizationPage)
    assert [o.slug for o in page] == ["acme", "acme-europe"]
    with pytest.raises(enlist.ConflictError):
        world.engine.set_organization_slug(world.org, actor=world.owner, slug="acme-europe")
    with pytest.raises(enlist.InvalidInputError):
        world.engine.set_organization_slug(world.org, actor=world.owner, slug="Not A Slug")
    moved = world.engine.set_organization_slug(world.org, actor=world.owner, slug="acme-inc")
    assert moved.slug == "acme-inc"
    assert world.engine.organization_by_slug("acme-inc").id == world.org.id
    with pytest.raises(enlist.NotFoundError):
        world.engine.organization_by_slug("acme")


def test_leave_and_delete(world: World) -> None:
    ann = world.join("ann@acme.example")
    left = world.engine.leave_organization(world.org, actor=ann)
    assert left.status == enlist.MemberStatus.REMOVED
    with pytest.raises(enlist.ConflictError):
        world.engine.leave_organization(world.org, actor=world.owner)
    with pytest.raises(enlist.InvalidInputError) as wrong:
        world.engine.delete_organization(world.org, actor=world.owner, confirm="Acme", mode="keep")
    assert wrong.value.code == "confirmation_mismatch"
    world.engine.delete_organization(
        world.org, actor=world.owner, confirm="acme", mode=enlist.DeleteMode.KEEP
    )
    assert world.engine.organization(world.org).deleted_at is not None
    with pytest.raises(enlist.NotFoundError):
        world.engine.list_members(world.org, actor=world.owner)
    assert len(world.engine.organizations_of("acct-owner")) == 0
    other, owner = world.engine.create_organization(
        "Gone", owner_user_ref="g", owner_email="g@x.example"
    )
    world.engine.delete_organization(other, actor=owner, confirm="gone", mode="purge")
    with pytest.raises(enlist.NotFoundError):
        world.engine.organization(other)


def test_host_defined_permissions(world: World) -> None:
    world.engine.define_role(world.org, actor=world.owner, name="billing", permissions=["view_members"])
    role = world.engine.set_role_custom_permissions(
        world.org, actor=world.owner, role="billing", custom_permissions=["billing:read"]
    )
    assert role.custom_permissions == ["billing:read"]
    bill = world.join("bill@acme.example", role="billing")
    pat = world.join("pat@acme.example")
    assert world.engine.has_permission(world.org, actor=bill, name="billing:read")
    assert not world.engine.has_permission(world.org, actor=pat, name="billing:read")
    assert world.engine.has_permission(world.org, actor=world.owner, name="billing:read")
    world.engine.authorize(world.org, actor=bill, name="billing:read")
    with pytest.raises(enlist.PermissionDeniedError) as denied:
        world.engine.authorize(world.org, actor=pat, name="billing:read")
    assert denied.value.code == "custom_permission_denied"
    assert world.engine.capabilities(world.org, actor=bill).custom_permissions == ["billing:read"]
    with pytest.raises(enlist.InvalidInputError):
        world.engine.set_role_custom_permissions(
            world.org, actor=world.owner, role="billing", custom_permissions="billing:read"
        )

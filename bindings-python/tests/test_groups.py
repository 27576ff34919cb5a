"""Groups and group membership."""

from __future__ import annotations

import pytest

import enlist
from enlist import GroupGrant, GroupRole, GroupSort

from conftest import START, World


def test_create_read_update_delete_group(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    sales = e.create_group(org, actor=owner, name="Sales", description="Closers", is_default=True)
    assert (sales.name, sales.description, sales.is_default, sales.member_count) == (
        "Sales",
        "Closers",
        True,
        0,
    )
    assert sales.id.startswith("grp_") and sales.org_id == org.id and sales.created_at == START
    assert e.group(org, sales.id, actor=owner) == sales
    assert e.group(org, sales, actor=owner) == sales, "a Group works as its id"

    support = e.create_group(org, actor=owner, name="Support", is_default=True)
    assert not e.group(org, sales, actor=owner).is_default, "one default group at a time"
    assert support.description == ""

    renamed = e.update_group(org, sales, actor=owner, name="Sales EMEA")
    assert (renamed.name, renamed.description) == ("Sales EMEA", "Closers")
    described = e.update_group(org, sales, actor=owner, description="Europe", is_default=True)
    assert described.is_default and described.name == "Sales EMEA"

    with pytest.raises(enlist.ConflictError) as err:
        e.create_group(org, actor=owner, name="support")
    assert "already exists" in err.value.reason
    with pytest.raises(enlist.InvalidInputError):
        e.create_group(org, actor=owner, name="   ")
    assert len(e.list_groups(org, actor=owner)) == 2, "refused groups were not created"

    assert e.delete_group(org, support, actor=owner) == 0
    with pytest.raises(enlist.NotFoundError):
        e.group(org, support, actor=owner)


def test_list_groups_search_and_sort(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    a = e.create_group(org, actor=owner, name="Alpha")
    b = e.create_group(org, actor=owner, name="beta")
    c = e.create_group(org, actor=owner, name="Gamma")
    bob = world.join("bob@acme.example", groups=[b, c])
    world.join("cat@acme.example", groups=[GroupGrant(c)])
    assert [g.name for g in e.list_groups(org, actor=owner)] == ["Alpha", "beta", "Gamma"]
    assert [g.name for g in e.list_groups(org, actor=owner, sort=GroupSort.NAME_DESC)] == [
        "Gamma",
        "beta",
        "Alpha",
    ]
    by_count = e.list_groups(org, actor=owner, sort="member_count_desc")
    assert [(g.name, g.member_count) for g in by_count] == [("Gamma", 2), ("beta", 1), ("Alpha", 0)]
    assert [g.id for g in e.list_groups(org, actor=owner, search="AM")] == [c.id]
    assert bob.group_role(b) is GroupRole.MEMBER and bob.group_role(a) is None
    with pytest.raises(enlist.InvalidInputError) as err:
        e.list_groups(org, actor=owner, sort="by_mood")
    assert err.value.field == "sort" and "member_count_desc" in err.value.reason


def test_group_membership_add_set_role_remove(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    team = e.create_group(org, actor=owner, name="Team")
    bob = world.join("bob@acme.example")
    e.add_group_member(org, team, bob, actor=owner)
    assert e.member(org, bob, actor=owner).groups == [GroupGrant(team.id, GroupRole.MEMBER)]
    assert e.group(org, team, actor=owner).member_count == 1

    e.set_group_role(org, team, bob, actor=owner, role=GroupRole.OWNER)
    assert e.member(org, bob, actor=owner).group_role(team) is GroupRole.OWNER
    with pytest.raises(enlist.InvalidInputError):
        e.set_group_role(org, team, bob, actor=owner, role="boss")
    assert e.member(org, bob, actor=owner).group_role(team) is GroupRole.OWNER

    e.remove_group_member(org, team, bob, actor=owner)
    assert e.member(org, bob, actor=owner).groups == []
    with pytest.raises(enlist.NotFoundError) as err:
        e.set_group_role(org, team, bob, actor=owner, role="member")
    assert err.value.entity == enlist.EntityKind.GROUP_MEMBERSHIP == "group_membership"

    e.add_group_member(org, team, bob.id, actor=owner, role="owner")
    assert e.group(org, team, actor=owner).member_count == 1
    assert e.delete_group(org, team, actor=owner) == 1, "deleting reports the members detached"
    assert e.member(org, bob, actor=owner).groups == []


def test_plain_members_cannot_manage_groups(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    team = e.create_group(org, actor=owner, name="Team")
    bob = world.join("bob@acme.example")
    with pytest.raises(enlist.PermissionDeniedError) as err:
        e.create_group(org, actor=bob, name="Bob's")
    assert err.value.permission is enlist.Permission.MANAGE_GROUPS
    with pytest.raises(enlist.PermissionDeniedError):
        e.add_group_member(org, team, bob, actor=bob)
    assert e.member(org, bob, actor=owner).groups == []


def test_group_grant_values() -> None:
    g = GroupGrant("grp_1", "owner")
    assert g.group_id == "grp_1" and g.role is GroupRole.OWNER
    assert g == GroupGrant("grp_1", GroupRole.OWNER)
    assert g != GroupGrant("grp_1")
    assert g.to_dict() == {"group_id": "grp_1", "role": "owner"}
    assert repr(g) == "GroupGrant(group_id='grp_1', role=<GroupRole.OWNER: 'owner'>)"
    with pytest.raises(TypeError):
        hash(g)
    with pytest.raises(TypeError):
        GroupGrant(3)

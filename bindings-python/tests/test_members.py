"""Members: read, list, edit, deactivate, reactivate, remove, activity,
license usage."""

from __future__ import annotations

import datetime as dt

import pytest

import enlist
from enlist import MemberStatus

from conftest import START, World, make_world


def test_member_and_list_members(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    team = e.create_group(org, actor=owner, name="Team")
    bob = world.join("bob@acme.example", groups=[team])
    cat = world.join("cat@acme.example", role="admin")
    assert e.member(org, bob.id, actor=owner) == bob
    assert e.member(org, bob, actor=bob) == bob, "anyone sees themselves"
    page = e.list_members(org, actor=owner)
    assert [m.email for m in page] == ["ada@acme.example", "bob@acme.example", "cat@acme.example"]
    assert page.next_cursor is None and len(page) == 3
    assert [m.email for m in e.list_members(org, actor=owner, sort="email_desc")][0] == "cat@acme.example"
    assert [m.id for m in e.list_members(org, actor=owner, role="admin")] == [cat.id]
    assert [m.id for m in e.list_members(org, actor=owner, group=team)] == [bob.id]
    assert [m.id for m in e.list_members(org, actor=owner, search="BOB")] == [bob.id]
    first = e.list_members(org, actor=owner, limit=2)
    assert len(first) == 2 and first.next_cursor is not None
    rest = e.list_members(org, actor=owner, limit=2, after=first.next_cursor)
    assert [m.email for m in rest] == ["cat@acme.example"]
    with pytest.raises(enlist.InvalidInputError):
        e.list_members(org, actor=owner, after="not-a-cursor")


def test_update_member(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    team = e.create_group(org, actor=owner, name="Team")
    bob = world.join("bob@acme.example")
    updated = e.update_member(
        org,
        bob,
        actor=owner,
        first_name="Robert",
        phone="+1 555 0101",
        role="user_admin",
        groups=[enlist.GroupGrant(team, "owner")],
        license_type="pro",
    )
    assert (updated.first_name, updated.last_name, updated.phone) == ("Robert", "Tester", "+1 555 0101")
    assert updated.role == "user_admin" and updated.license_type == "pro"
    assert updated.group_role(team) is enlist.GroupRole.OWNER
    cleared = e.update_member(org, bob, actor=owner, phone="")
    assert cleared.phone is None
    # Members may edit their own names, not their role.
    assert e.update_member(org, bob, actor=bob, last_name="Jones").last_name == "Jones"
    with pytest.raises(enlist.PermissionDeniedError):
        e.update_member(org, owner, actor=bob, role="member")
    with pytest.raises(enlist.InvalidInputError):
        e.update_member(org, bob, actor=owner, role="emperor")
    assert e.member(org, bob, actor=owner).role == "user_admin", "a refused update changes nothing"


def test_deactivate_reactivate_remove(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    bob = world.join("bob@acme.example")
    off = e.deactivate_member(org, bob, actor=owner)
    assert off.status is MemberStatus.INACTIVE and not off.holds_seat
    with pytest.raises(enlist.PermissionDeniedError):
        e.list_members(org, actor=bob)
    assert [m.status for m in e.list_members(org, actor=owner, statuses=["inactive"])] == [MemberStatus.INACTIVE]
    on = e.reactivate_member(org, bob, actor=owner)
    assert on.status is MemberStatus.ACTIVE
    removed = e.remove_member(org, bob, actor=owner)
    assert removed.status is MemberStatus.REMOVED and removed.removed_at == START
    assert [m.email for m in e.list_members(org, actor=owner)] == ["ada@acme.example"]
    assert len(e.list_members(org, actor=owner, statuses=[MemberStatus.REMOVED])) == 1
    # The email is free to be invited again.
    assert len(e.invite(org, "bob@acme.example", actor=owner).issued) == 1
    with pytest.raises(enlist.ConflictError):
        e.remove_member(org, owner, actor=owner)


def test_record_activity_moves_forward_only(world: World) -> None:
    e, org, owner, clock = world.engine, world.org, world.owner, world.clock
    assert owner.last_active_at is None
    e.record_activity(org, owner)
    assert e.member(org, owner, actor=owner).last_active_at == START
    later = START + dt.timedelta(hours=3)
    e.record_activity(org, owner, at=later.astimezone(dt.timezone(dt.timedelta(hours=2))))
    assert e.member(org, owner, actor=owner).last_active_at == later, "any time zone, stored as UTC"
    e.record_activity(org, owner, at=START)
    assert e.member(org, owner, actor=owner).last_active_at == later
    with pytest.raises(enlist.InvalidInputError):
        e.record_activity(org, owner, at=dt.datetime(2030, 1, 2))
    with pytest.raises(TypeError):
        e.record_activity(org, owner, at="yesterday")


def test_license_usage_and_seat_limits(engine, clock) -> None:
    world = make_world(engine, clock, enlist.Policy(seat_limits={"standard": 3}))
    e, org, owner = world.engine, world.org, world.owner
    world.join("bob@acme.example")
    report = e.invite(org, "cat@acme.example dan@acme.example", actor=owner)
    assert [i.invitation.recipient for i in report.issued] == ["cat@acme.example"]
    (dan,) = report.rejected
    assert dan.reason.code == "no_seat_left"
    assert dan.reason.details == {"license_type": "standard", "limit": 3}
    (usage,) = e.license_usage(org, actor=owner)
    assert (usage.license_type, usage.used, usage.pending, usage.limit) == ("standard", 2, 1, 3)
    assert usage.available() == 0 and usage.available(reserve_pending=False) == 1
    with pytest.raises(enlist.ConflictError) as err:
        e.update_policy(org, actor=owner, policy=org.policy.replace(seat_limits={"standard": 1}))
    assert "below the 3 seats in use" in err.value.reason
    assert e.organization(org).policy.seat_limits == {"standard": 3}

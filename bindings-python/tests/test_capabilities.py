"""Capabilities, the default role, editing staged invitations, "Active"
unchecked (seed 004) and "See access code" (seed 002), from Python."""

from __future__ import annotations

import pytest

import enlist
from conftest import ACCEPT_BASE, START, RecordingEngine, World, make_world, record_call

KEY = bytes(range(32))


def test_capabilities_tell_a_ui_what_an_actor_may_do(world: World) -> None:
    caps = world.engine.capabilities(world.org, actor=world.owner)
    assert isinstance(caps, enlist.Capabilities)
    assert caps.can_invite and caps.manage_policy and caps.manage_members
    assert "owner" in caps.members.roles and caps.members.without_groups
    assert caps.members.any_group_roles == [enlist.GroupRole.MEMBER, enlist.GroupRole.OWNER]
    assert caps.guests.roles == ["guest"]
    assert caps.default_role == "member"
    assert not caps.access_codes_kept and not caps.reveal_access_codes
    group = world.engine.create_group(world.org, actor=world.owner, name="Sales")
    assert caps.members.may_grant(enlist.GroupGrant(group, "owner"))
    plain = world.join("pat@acme.example")
    mine = world.engine.capabilities(world.org, actor=plain)
    assert not mine.can_invite and not mine.members.allowed and mine.members.roles == []
    # What is not listed is refused by the command itself.
    with pytest.raises(enlist.PermissionDeniedError):
        world.engine.invite(world.org, "x@acme.example", actor=plain)
    assert caps.to_dict()["members"]["roles"] == caps.members.roles


def test_the_default_role_is_used_when_none_is_named(world: World) -> None:
    world.engine.define_role(world.org, actor=world.owner, name="staff", permissions=["view_members"])
    with pytest.raises(enlist.InvalidInputError):
        world.engine.update_policy(world.org, actor=world.owner, policy=enlist.Policy(default_role="owner"))
    policy = world.engine.organization(world.org).policy.replace(default_role="staff")
    world.engine.update_policy(world.org, actor=world.owner, policy=policy)
    assert world.engine.organization(world.org).policy.default_role == "staff"
    report = world.engine.invite(world.org, "kim@acme.example", actor=world.owner, send=False)
    assert report.issued[0].invitation.role == "staff"
    with pytest.raises(enlist.ConflictError):
        world.engine.delete_role(world.org, actor=world.owner, name="staff")


def test_a_staged_invitation_is_edited_and_active_unchecked_waits(world: World) -> None:
    group = world.engine.create_group(world.org, actor=world.owner, name="Ops")
    report = world.engine.invite(
        world.org, "lee@acme.example", actor=world.owner, send=False, active=False
    )
    inv = report.issued[0].invitation
    assert inv.active is False and inv.status is enlist.InvitationStatus.STAGED
    (outcome,) = world.engine.send_staged(world.org, [inv.id], actor=world.owner).results
    assert outcome.code == "conflict"
    edited = world.engine.update_staged_invitation(
        world.org,
        inv.id,
        actor=world.owner,
        role="user_admin",
        groups=[enlist.GroupGrant(group, "member")],
        first_name="Lee",
        last_name="Park",
        license_type="standard",
        active=True,
    )
    assert edited.role == "user_admin" and edited.active and edited.first_name == "Lee"
    kinds = [e.kind for e in world.engine.events(world.org, actor=world.owner)]
    assert enlist.EventKind.INVITATION_UPDATED in kinds
    assert enlist.EventKind.INVITATION_ACTIVE_CHANGED in kinds
    (sent,) = world.engine.send_staged(world.org, [inv.id], actor=world.owner).results
    assert sent.sent and sent.issued is not None
    with pytest.raises(enlist.ConflictError):
        world.engine.update_staged_invitation(world.org, inv.id, actor=world.owner, role="admin")
    with pytest.raises(enlist.InvalidInputError):
        world.engine.invite(world.org, "x@acme.example", actor=world.owner, active=False)


def test_an_access_code_is_shown_again_only_with_a_sealing_key(clock: enlist.ManualClock) -> None:
    record_call("in_memory_for_tests")
    keyed = RecordingEngine(
        enlist.Enlist.in_memory_for_tests(
            clock=clock, seed=3, accept_url_base=ACCEPT_BASE, sealing_keys=[("k1", KEY)]
        )
    )
    w = make_world(keyed, clock)
    report = w.engine.invite(
        w.org, [enlist.RecipientInput(identifier="EMP-0042")], actor=w.owner
    )
    issued = report.issued[0]
    assert "sealed" not in repr(issued.invitation.to_dict())
    assert w.engine.reveal_access_code(w.org, issued.invitation.id, actor=w.owner) == issued.secret
    assert w.engine.capabilities(w.org, actor=w.owner).reveal_access_codes
    kinds = [e.kind for e in w.engine.events(w.org, actor=w.owner)]
    assert kinds[-1] is enlist.EventKind.ACCESS_CODE_REVEALED
    # Without a key: the shown-once rule, said by the error.
    plain = make_world(
        enlist.Enlist.in_memory_for_tests(clock=clock, seed=4, accept_url_base=ACCEPT_BASE), clock
    )
    report = plain.engine.invite(
        plain.org, [enlist.RecipientInput(identifier="EMP-1")], actor=plain.owner
    )
    with pytest.raises(enlist.ConflictError) as caught:
        plain.engine.reveal_access_code(plain.org, report.issued[0].invitation.id, actor=plain.owner)
    assert caught.value.code == "access_code_not_kept"
    assert caught.value.key_configured is False
    assert "shown once" in str(caught.value)
    # A key must be exactly 32 bytes.
    with pytest.raises(enlist.InvalidInputError):
        enlist.Enlist.in_memory(sealing_keys=[("k1", b"short")])
    assert START is not None

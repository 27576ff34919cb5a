"""Dry runs of invitations and imports (seed 001's live warning, seed
000's review), member attributes, and the bulk update through the import
template (seed 004): a dry run's diff per row, then applying it."""

from __future__ import annotations

import pytest

import enlist
from enlist import BulkRowStatus

from conftest import World


def events(world: World) -> int:
    return len(world.engine.events(world.org, actor=world.owner))


def test_a_dry_run_invite_reports_and_writes_nothing(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    world.join("bob@acme.example")
    before = events(world)
    dry = e.dry_run_invite(
        org,
        "bob@acme.example, new@acme.example, not an address",
        actor=owner,
        attributes={"department": "Sales"},
    )
    assert isinstance(dry, enlist.InviteDryRun) and len(dry) == 3
    assert [w.recipient for w in dry.would_issue] == ["new@acme.example"]
    assert dry.would_issue[0].attributes == {"department": "Sales"}
    assert [r.reason.code for r in dry.rejected] == ["already_member", "invalid_address"]
    assert events(world) == before, "a dry run records no event"
    assert "secret" not in repr(dry)
    # The real command gives the same answer.
    real = e.invite(org, "bob@acme.example, new@acme.example, not an address", actor=owner)
    assert [i.invitation.recipient for i in real.issued] == ["new@acme.example"]
    assert [r.reason.code for r in real.rejected] == ["already_member", "invalid_address"]
    # Someone who may not invite gets the real command's error.
    bob = e.list_members(org, actor=owner, search="bob").items[0]
    with pytest.raises(enlist.PermissionDeniedError):
        e.dry_run_invite(org, "x@acme.example", actor=bob)


def test_a_dry_run_import_reports_by_line(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    csv = "Email,Department\nann@acme.example,Ops\nbad,\nann@acme.example,\n"
    dry = e.dry_run_import(org, csv, actor=owner, format="csv")
    assert dry.would_issue_count == 1
    assert [(r.line, r.reason.code) for r in dry.rejected] == [
        (3, "invalid_address"),
        (4, "duplicate_in_batch"),
    ]
    assert dry.rejected[1].message == "duplicate of line 2"
    assert dry.batches[0].would_issue[0].attributes == {"department": "Ops"}
    assert e.list_invitations(org, actor=owner).items == []


def test_attributes_ride_from_invitation_to_member(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    row = enlist.RecipientInput(email="cy@acme.example", attributes={"Job_Title": "Rep"})
    assert row.attributes == {"Job_Title": "Rep"}
    world.engine.invite(org, [row], actor=owner)
    world.deliver()
    inv = e.list_invitations(org, actor=owner).items[0]
    assert inv.attributes == {"job_title": "Rep"}
    cy = world.join("dee@acme.example")
    updated = e.update_member(org, cy, actor=owner, attributes={"department": "Support"})
    assert updated.attributes == {"department": "Support"}
    with pytest.raises(enlist.InvalidInputError):
        e.update_member(org, cy, actor=owner, attributes={"department": "a\r\nb"})
    with pytest.raises(enlist.LimitExceededError):
        e.update_member(org, cy, actor=owner, attributes={f"k{i}": "v" for i in range(21)})
    assert e.member(org, cy, actor=owner).attributes == {"department": "Support"}


def test_seed_004_bulk_update_dry_run_then_apply(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    sales = e.create_group(org, actor=owner, name="Sales")
    bob = world.join("bob@acme.example")
    world.join("cat@acme.example")
    csv = (
        "Email,First name,Role,Groups,Active,Department\n"
        "bob@acme.example,Robert,admin,Sales,,Field\n"
        "cat@acme.example,,,,no,\n"
        "nobody@acme.example,,,,,Ops\n"
        "ada@acme.example,,,,no,\n"
    )
    before = events(world)
    dry = e.dry_run_bulk_update(org, csv, actor=owner, format="csv")
    assert not dry.applied and events(world) == before
    rows = {r.line: r for r in dry}
    assert rows[2].status is BulkRowStatus.CHANGED
    assert [(c.field, c.old, c.new) for c in rows[2].changes] == [
        ("first_name", "Bob", "Robert"),
        ("role", "member", "admin"),
        ("groups", "", "Sales"),
        ("attributes.department", "", "Field"),
    ]
    assert rows[3].changes[0].field == "status"
    assert rows[4].code == "not_found"
    assert rows[5].code == "conflict", "the last owner stays active"
    assert dry.count("changed") == 2 and dry.count(BulkRowStatus.FAILED) == 2
    applied = e.bulk_update_members(org, csv, actor=owner, format="csv")
    assert applied.applied and [r.to_dict() for r in applied] == [r.to_dict() for r in dry]
    robert = e.member(org, bob, actor=owner)
    assert robert.role == "admin" and robert.attributes == {"department": "Field"}
    assert robert.group_role(sales) is enlist.GroupRole.MEMBER
    assert robert.email == "bob@acme.example"
    # Bob: one MemberUpdated; Cat: one MemberStatusChanged.
    assert events(world) == before + 2, "one event per change"
    # Only member managers may run it, refused before the file is read.
    eve = world.join("eve@acme.example")
    with pytest.raises(enlist.PermissionDeniedError):
        e.bulk_update_members(org, b"\xff\xfe", actor=eve, format="csv")

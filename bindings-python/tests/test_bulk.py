"""Bulk actions over checked rows (seed 004's "Delete" with its typed
number): bulk_confirmation, then bulk_action."""

from __future__ import annotations

import datetime as dt

import pytest

import enlist
from enlist import BulkAction, BulkOutcome, MemberStatus

from conftest import World


def other(number: str) -> str:
    return f"{(int(number) + 500_000) % 1_000_000:06d}"


def test_delete_with_the_typed_number(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    bob = world.join("bob@acme.example")
    cat = world.join("cat@acme.example")
    staged = e.invite(org, ["dan@acme.example"], actor=owner, send=False)
    dan = staged.issued[0].invitation

    shown = e.bulk_confirmation(org, "remove", actor=owner, members=[bob, cat.id], invitations=[dan])
    assert shown.action is BulkAction.REMOVE and shown.rows == 3
    assert shown.number is not None and len(shown.number) == 6 and shown.number.isdigit()
    assert shown.expires_at is not None and shown.expires_at > e.now()
    assert shown.number not in repr(shown), "the number stays out of logs"

    with pytest.raises(enlist.InvalidInputError) as err:
        e.bulk_action(
            org, "remove", actor=owner, members=[bob, cat], invitations=[dan], confirmation=other(shown.number)
        )
    assert err.value.code == "confirmation_mismatch"
    assert e.member(org, bob, actor=owner).status is MemberStatus.ACTIVE

    report = e.bulk_action(
        org, BulkAction.REMOVE, actor=owner, members=[cat, bob], invitations=[dan], confirmation=shown.number
    )
    assert report.applied and report.changed() == 3 and report.refused() == []
    assert [r.contact for r in report.rows] == ["cat@acme.example", "bob@acme.example", "dan@acme.example"]
    assert all(r.outcome is BulkOutcome.CHANGED for r in report.rows)
    assert report.rows[2].invitation == dan.id and report.rows[2].member is None
    assert e.member(org, bob, actor=owner).status is MemberStatus.REMOVED
    assert report.to_dict()["action"] == "remove"


def test_a_refused_row_changes_nothing(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    uma = world.join("uma@acme.example", role="user_admin")
    bob = world.join("bob@acme.example")
    shown = e.bulk_confirmation(org, "deactivate", actor=uma, members=[bob, owner])
    assert shown.number is not None
    report = e.bulk_action(org, "deactivate", actor=uma, members=[bob, owner], confirmation=shown.number)
    assert not report.applied
    (refused,) = report.refused()
    assert refused.member == owner.id and refused.code == "permission_denied"
    assert report.rows[0].outcome is BulkOutcome.NOT_APPLIED
    assert e.member(org, bob, actor=owner).status is MemberStatus.ACTIVE

    with pytest.raises(enlist.PermissionDeniedError):
        e.bulk_confirmation(org, "remove", actor=bob, members=[uma])
    with pytest.raises(enlist.InvalidInputError):
        e.bulk_confirmation(org, "revoke", actor=owner, members=[bob])
    with pytest.raises(enlist.InvalidInputError):
        e.bulk_confirmation(org, "explode", actor=owner, members=[bob])


def test_change_role_reactivate_and_resend(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    bob = world.join("bob@acme.example")
    cat = world.join("cat@acme.example")
    shown = e.bulk_confirmation(org, "change_role", actor=owner, members=[bob, cat], role="admin")
    with pytest.raises(enlist.InvalidInputError):
        # The number is for "admin", not "user_admin".
        e.bulk_action(org, "change_role", actor=owner, members=[bob, cat], role="user_admin", confirmation=shown.number)
    report = e.bulk_action(org, "change_role", actor=owner, members=[bob, cat], role="admin", confirmation=shown.number)
    assert report.changed() == 2 and e.member(org, cat, actor=owner).role == "admin"

    e.deactivate_member(org, bob, actor=owner)
    shown = e.bulk_confirmation(org, "reactivate", actor=owner, members=[bob])
    assert shown.number is None and shown.expires_at is None
    assert e.bulk_action(org, "reactivate", actor=owner, members=[bob]).applied

    sent = e.invite(org, ["eve@acme.example"], actor=owner)
    world.clock.advance(dt.timedelta(days=30))
    report = e.bulk_action(org, "resend", actor=owner, invitations=[sent.issued[0].invitation])
    assert report.applied and report.changed() == 1
    assert "secret" not in str(report.to_dict())

"""The people view (seed 001's and 003's user list): members and open
invitations in one paged, sorted, filterable list with status labels."""

from __future__ import annotations

import datetime as dt

import pytest

import enlist
from enlist import PeopleSort, PersonLabel, PersonSource

from conftest import World


def test_people_lists_members_and_invitations_with_labels(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    bob = world.join("bob@acme.example")
    e.deactivate_member(org, bob, actor=owner)
    e.invite(org, "pat@acme.example", actor=owner)
    e.invite(org, "sam@acme.example", actor=owner, send=False)
    page = e.people(org, actor=owner)
    assert isinstance(page, enlist.PersonPage)
    by_email = {p.email: p for p in page}
    assert by_email["ada@acme.example"].label == PersonLabel.ACTIVE
    assert by_email["bob@acme.example"].label == "inactive"
    assert by_email["pat@acme.example"].label == PersonLabel.PENDING
    assert by_email["pat@acme.example"].source == PersonSource.INVITATION
    assert by_email["sam@acme.example"].label == PersonLabel.STAGED
    # Past its expiry, a pending invitation is Expired.
    world.clock.advance(dt.timedelta(days=400))
    expired = e.people(org, actor=owner, labels=[PersonLabel.EXPIRED])
    assert [p.email for p in expired] == ["pat@acme.example"]
    # Sorted, paged, searched.
    emails = [p.email for p in e.people(org, actor=owner, sort=PeopleSort.EMAIL, descending=True)]
    assert emails == sorted(emails, reverse=True)
    first = e.people(org, actor=owner, sort="email", limit=2)
    rest = e.people(org, actor=owner, sort="email", limit=2, after=first.next_cursor)
    assert len(first) == 2 and first.next_cursor is not None
    assert not {p.email for p in first} & {p.email for p in rest}
    assert [p.email for p in e.people(org, actor=owner, search="PA")] == ["pat@acme.example"]
    assert "secret" not in repr(first.to_dict() if hasattr(first, "to_dict") else first)


def test_people_is_authorized_and_bounded(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    with pytest.raises(enlist.PermissionDeniedError):
        e.people(org, actor=enlist.Actor.anonymous())
    with pytest.raises(enlist.LimitExceededError):
        e.people(org, actor=owner, limit=1001)
    with pytest.raises(enlist.LimitExceededError):
        e.people(org, actor=owner, search="x" * 255)
    with pytest.raises(enlist.InvalidInputError):
        e.people(org, actor=owner, after="m.00.00")
    with pytest.raises(enlist.InvalidInputError):
        e.people(org, actor=owner, labels=["nobody"])

"""The records core owns (its ``python`` feature) behave as the classes of
``enlist._enlist`` always did: same module, read-only, compared by value,
unhashable, with ``to_dict`` and a ``repr`` that names no secret."""

from __future__ import annotations

import datetime as dt

import pytest

import enlist
from conftest import World

CORE_RECORDS = [
    "Organization", "Policy", "RegistrationRequirements", "Role", "LicenseUsage", "Group",
    "GroupGrant", "Member", "RegistrationNeeds", "InvitationPreview", "LinkPreview",
    "ImportInterruption", "ImportRowError", "ImportGroup", "ImportRow", "ImportSheet",
    "RecipientInput", "OutgoingEmail", "OutboxMessage", "DeliveryReport",
    "Capabilities", "InviteCapability", "GroupCapability",
]


@pytest.mark.parametrize("name", CORE_RECORDS)
def test_a_core_record_is_a_class_of_the_native_module(name: str) -> None:
    cls = getattr(enlist, name)
    assert cls is getattr(enlist._enlist, name)
    assert cls.__module__ == "enlist._enlist" and cls.__name__ == name
    assert callable(cls.to_dict) and cls.__hash__ is None


def test_core_records_are_read_only_and_compare_by_value(world: World) -> None:
    member = world.engine.member(world.org, world.owner, actor=world.owner)
    with pytest.raises(AttributeError):
        member.role = "guest"  # type: ignore[misc]
    again = world.engine.member(world.org, world.owner, actor=world.owner)
    assert member == again and member is not again
    assert member.status is enlist.MemberStatus.ACTIVE and member.kind is enlist.MemberKind.MEMBER
    assert isinstance(member.joined_at, dt.datetime) and member.joined_at.tzinfo is not None
    assert member.to_dict()["id"] == member.id and member.to_dict()["status"] == "active"


def test_a_claimed_message_prints_without_its_secret_link(world: World) -> None:
    e = world.engine
    (bob,) = e.invite(world.org, "bob@acme.example", actor=world.owner).issued
    (msg,) = e.claim_due(org=world.org)
    assert bob.secret and bob.secret in msg.email.accept_url, "the worker gets the link"
    assert bob.secret not in repr(msg) and bob.secret not in repr(msg.email)
    assert repr(msg.email).startswith("OutgoingEmail(message_id=")


def test_policy_keywords_are_checked_by_core() -> None:
    p = enlist.Policy(max_batch=5, invitation_lifetime=dt.timedelta(days=2))
    assert p.max_batch == 5 and p.invitation_lifetime == dt.timedelta(days=2)
    assert p.replace(max_batch=6) == enlist.Policy(max_batch=6, invitation_lifetime=dt.timedelta(days=2))
    with pytest.raises(TypeError):
        enlist.Policy(invitation_lifetime_secs=3)
    with pytest.raises(enlist.InvalidInputError) as err:
        enlist.Policy(resend_cooldown=dt.timedelta(seconds=-1))
    assert err.value.field == "resend_cooldown"


def test_an_unknown_enum_name_is_an_invalid_input_naming_the_argument() -> None:
    with pytest.raises(enlist.InvalidInputError) as err:
        enlist.GroupGrant("grp_1", "boss")
    assert err.value.field == "role" and "owner" in str(err.value)
    with pytest.raises(enlist.InvalidInputError) as err:
        enlist.RecipientInput(email="a@acme.example", kind="robot")
    assert err.value.field == "kind"


def test_an_id_argument_is_the_id_or_the_record_and_nothing_else(world) -> None:
    e = world.engine
    assert e.organization(world.org) == e.organization(world.org.id)
    assert e.member(world.org, world.owner, actor=world.owner) == e.member(world.org.id, world.owner.id, actor=world.owner.id)
    with pytest.raises(TypeError, match="organization id"):
        e.organization(42)
    with pytest.raises(TypeError, match="a member"):
        e.member(world.org, world.org, actor=world.owner)

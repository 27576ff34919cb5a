"""The invitee's inbox across organizations (issue 14): the invitations of
a signed-in person, accept and decline without the token, invitations of
an existing account, and a member added directly."""

from __future__ import annotations

import datetime as dt

import pytest

import enlist
from enlist import EventKind, InvitationStatus

from conftest import World, make_world


def test_the_inbox_lists_a_persons_invitations_across_organizations(world: World) -> None:
    e, clock = world.engine, world.clock
    other = make_world(e, clock)
    e.invite(world.org, "bob@x.example", actor=world.owner, message="Join us")
    clock.advance(dt.timedelta(seconds=1))
    report = e.invite(other.org, "Bob@X.example", actor=other.owner)
    token = report.issued[0].secret
    assert token is not None
    inbox = e.invitations_for(verified_email="bob@x.example", user_ref="acct-bob")
    assert isinstance(inbox, enlist.InboxPage) and len(inbox) == 2
    newest, oldest = list(inbox)
    assert isinstance(newest, enlist.InboxInvitation)
    assert newest.org_id == other.org.id and oldest.org_id == world.org.id
    assert oldest.org_name == "Acme" and oldest.inviter_name == "Ada Lovelace"
    assert oldest.message == "Join us" and oldest.role == "member" and not oldest.for_account
    assert oldest.requirements.first_name
    # No secret anywhere in what the inbox returns.
    secret = token.rsplit(".", 1)[-1]
    assert secret not in repr(inbox) and secret not in str(inbox.to_dict())
    # Pages of one, with a cursor.
    first = e.invitations_for(verified_email="bob@x.example", limit=1)
    assert [i.invitation_id for i in first] == [newest.invitation_id]
    rest = e.invitations_for(verified_email="bob@x.example", after=first.next_cursor, limit=1)
    assert [i.invitation_id for i in rest] == [oldest.invitation_id] and rest.next_cursor is None
    with pytest.raises(enlist.InvalidInputError):
        e.invitations_for()


def test_accept_and_decline_from_the_inbox_are_for_the_owner_only(world: World) -> None:
    e = world.engine
    report = e.invite(world.org, ["bob@x.example", "cy@x.example"], actor=world.owner)
    bob_inv, cy_inv = (i.invitation for i in report.issued)
    # Someone else's verified email: not found, like an id that does not exist.
    with pytest.raises(enlist.NotFoundError):
        e.accept_from_inbox(
            world.org, bob_inv, user_ref="acct-eve", verified_email="eve@x.example",
            first_name="Eve", last_name="E",
        )
    with pytest.raises(enlist.NotFoundError):
        e.decline_from_inbox(world.org, bob_inv, verified_email="eve@x.example")
    acceptance = e.accept_from_inbox(
        world.org, bob_inv.id, user_ref="acct-bob", verified_email="bob@x.example",
        first_name="Bob", last_name="B",
    )
    assert acceptance.invitation.status is InvitationStatus.ACCEPTED
    assert acceptance.member.user_ref == "acct-bob"
    declined = e.decline_from_inbox(world.org, cy_inv.id, verified_email="cy@x.example")
    assert declined.status is InvitationStatus.DECLINED
    assert len(e.invitations_for(verified_email="bob@x.example")) == 0


def test_an_account_invitation_is_for_that_account(world: World) -> None:
    e = world.engine
    report = e.invite(
        world.org,
        [
            enlist.RecipientInput(user_ref="acct-dan"),
            enlist.RecipientInput(email="erin@x.example", user_ref="acct-erin"),
        ],
        actor=world.owner,
    )
    dan, erin = report.issued
    assert dan.message_id is None  # in-app only: nothing is sent
    assert dan.invitation.user_ref == "acct-dan" and dan.invitation.email is None
    assert erin.invitation.user_ref == "acct-erin" and erin.message_id is not None
    assert len(e.invitations_for(verified_email="erin@x.example")) == 0
    (item,) = e.invitations_for(user_ref="acct-erin")
    assert item.for_account
    assert erin.secret is not None
    with pytest.raises(enlist.EnlistError) as wrong:
        e.accept(erin.secret, user_ref="acct-mallory", first_name="M", last_name="M")
    assert wrong.value.code == "invalid_secret"
    member = e.accept_from_inbox(
        world.org, dan.invitation.id, user_ref="acct-dan", first_name="Dan", last_name="D"
    ).member
    assert member.contact == "acct-dan" and member.email is None
    again = e.invite(world.org, [enlist.RecipientInput(user_ref="acct-dan")], actor=world.owner)
    assert [r.reason.code for r in again.rejected] == ["already_member"]


def test_add_member_directly(world: World) -> None:
    e = world.engine
    plain = world.join("pat@acme.example")
    with pytest.raises(enlist.PermissionDeniedError):
        e.add_member(world.org, actor=plain, user_ref="acct-new", first_name="N", last_name="P")
    member = e.add_member(
        world.org, actor=world.owner, user_ref="acct-new", email="new@acme.example",
        first_name="New", last_name="Person", role="admin",
    )
    assert member.role == "admin" and member.user_ref == "acct-new"
    assert member.email == "new@acme.example"
    with pytest.raises(enlist.EnlistError) as twice:
        e.add_member(world.org, actor=world.owner, user_ref="acct-new", first_name="N", last_name="P")
    assert twice.value.code == "already_member"
    events = e.events(world.org, actor=world.owner)
    added = [ev for ev in events if ev.kind is EventKind.MEMBER_ADDED]
    assert len(added) == 1 and added[0].data["user_ref"] == "acct-new"

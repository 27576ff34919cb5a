"""Hooks (better-auth's organizationHooks) and the event feed for
webhooks: a before-hook's exception refuses the change and nothing is kept;
an after-hook sees the committed result and cannot fail the command; the
feed reads every organization's events after a cursor."""

from __future__ import annotations

import sys
from typing import Any, List, Optional

import pytest

import enlist

from conftest import World, make_world


class Policy:
    """Refuses what ``refuse`` names (an event kind), records the rest."""

    def __init__(self) -> None:
        self.refuse: Optional[str] = None
        self.before_seen: List[enlist.HookChange] = []
        self.after_seen: List[enlist.HookChange] = []
        self.engine: Any = None
        self.after_reads: List[Any] = []

    def before(self, change: enlist.HookChange) -> None:
        self.before_seen.append(change)
        if self.refuse is not None and change.kind == self.refuse:
            raise ValueError(f"no {change.kind} today")

    def after(self, change: enlist.HookChange) -> None:
        self.after_seen.append(change)
        if change.member is not None and self.engine is not None:
            # After the commit, outside the transaction: the engine answers.
            self.after_reads.append(
                self.engine.member(change.org_id, change.member.id, actor=enlist.Actor.system())
            )


def hooked(world: World) -> tuple[World, Policy]:
    policy = Policy()
    engine = world.engine.with_hooks(policy)
    policy.engine = engine
    return World(engine=engine, clock=world.clock, org=world.org, owner=world.owner), policy


def test_a_refused_accept_raises_the_reason_and_changes_nothing(world: World) -> None:
    w, policy = hooked(world)
    w.engine.invite(w.org, ["bob@acme.example"], actor=w.owner)
    w.deliver()
    policy.refuse = "invitation_accepted"
    with pytest.raises(enlist.PermissionDeniedError) as caught:
        w.engine.accept(w.outbox.token("bob@acme.example"), user_ref="acct-bob", first_name="Bob", last_name="B")
    assert caught.value.code == "hook_refused"
    assert caught.value.reason == "no invitation_accepted today"
    (inv,) = w.engine.list_invitations(w.org, actor=w.owner)
    assert inv.status == enlist.InvitationStatus.PENDING
    assert [c.kind for c in policy.after_seen] == ["invitation_issued"]
    # The hook saw the member about to join, and no secret.
    seen = policy.before_seen[-1]
    assert seen.command == "accept" and seen.seq == 0
    assert seen.member is not None and seen.member.contact == "bob@acme.example"
    assert w.outbox.token("bob@acme.example") not in repr(seen.to_dict())


def test_after_hooks_see_the_committed_result(world: World) -> None:
    w, policy = hooked(world)
    bob = w.join("bob@acme.example")
    kinds = [c.kind for c in policy.after_seen]
    assert kinds == ["invitation_issued", "invitation_accepted"]
    accepted = policy.after_seen[-1]
    assert accepted.seq > 0 and accepted.event.seq == accepted.seq
    assert accepted.invitation is not None
    assert accepted.invitation.status == enlist.InvitationStatus.ACCEPTED
    assert [m.id for m in policy.after_reads] == [bob.id]


def test_an_after_hook_exception_cannot_fail_the_command(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    reported: List[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    class Broken:
        def after(self, change: enlist.HookChange) -> None:
            raise RuntimeError("webhook down")

    engine = world.engine.with_hooks(Broken())
    report = engine.invite(world.org, ["bob@acme.example"], actor=world.owner)
    assert len(report.issued) == 1
    assert len(reported) == 1 and isinstance(reported[0].exc_value, RuntimeError)


def test_a_batch_rejects_only_the_refused_recipients(world: World) -> None:
    class NoRivals:
        def before(self, change: enlist.HookChange) -> None:
            if change.kind == "invitation_issued" and change.data["recipient"].endswith("@rival.example"):
                raise ValueError("no rivals")

    engine = world.engine.with_hooks(NoRivals())
    report = engine.invite(world.org, ["a@acme.example", "eve@rival.example"], actor=world.owner)
    assert [i.invitation.recipient for i in report.issued] == ["a@acme.example"]
    (rejected,) = report.rejected
    assert (rejected.index, rejected.reason.code) == (1, "refused_by_hook")
    assert rejected.reason.details == {"reason": "no rivals"}
    assert len(engine.list_invitations(world.org, actor=world.owner)) == 1


def test_role_changes_and_removals_are_hooked(world: World) -> None:
    bob = world.join("bob@acme.example")
    w, policy = hooked(world)
    policy.refuse = "member_removed"
    with pytest.raises(enlist.PermissionDeniedError, match="no member_removed today"):
        w.engine.remove_member(w.org, bob, actor=w.owner)
    policy.refuse = "member_updated"
    with pytest.raises(enlist.PermissionDeniedError):
        w.engine.update_member(w.org, bob, actor=w.owner, role="admin")
    assert w.engine.member(w.org, bob, actor=w.owner).role == "member"


def test_hooks_must_have_a_method(world: World) -> None:
    with pytest.raises(TypeError):
        world.engine.with_hooks(object())


def test_the_event_feed_reads_every_organization_after_a_cursor(engine: Any, clock: enlist.ManualClock) -> None:
    first = make_world(engine, clock)
    page = engine.event_feed(limit=1000)
    assert len(page) >= 1 and page.next == page.events[-1].cursor
    assert all(e.event.org_id == first.org.id for e in page.events)
    second = make_world(engine, clock)
    more = engine.event_feed(after=page.next, kinds=["organization_created"])
    assert [e.event.org_id for e in more.events] == [second.org.id]
    assert more.events[0].event.kind == "organization_created"
    empty = engine.event_feed(after=more.next, kinds=["organization_created"])
    assert empty.events == [] and empty.next == more.next
    with pytest.raises(enlist.InvalidInputError):
        engine.event_feed(kinds=["no_such_kind"])
    with pytest.raises(enlist.InvalidInputError):
        engine.event_feed(after="not a cursor")
    with pytest.raises(enlist.LimitExceededError):
        engine.event_feed(limit=0)


class _Endless:
    """A sequence that claims a million kinds and fails if one is read."""

    def __len__(self) -> int:
        return 1_000_000

    def __getitem__(self, i: int) -> str:
        raise AssertionError("an element was read before the length was checked")

    def __iter__(self) -> Any:
        raise AssertionError("the list was read before its length was checked")


def test_the_feeds_kinds_are_counted_before_they_are_read(engine: Any) -> None:
    with pytest.raises(enlist.InvalidInputError, match="at most"):
        engine.event_feed(kinds=_Endless())
    with pytest.raises(enlist.InvalidInputError, match="not one string"):
        engine.event_feed(kinds="invitation_accepted")
    assert engine.event_feed(kinds=["invitation_accepted"]).events == []

"""Mail from Python: deliver_pending with a callable or an object, failures
retried as the outbox says, never sent twice; and the outbox by hand."""

from __future__ import annotations

import datetime as dt
from typing import List

import pytest

import enlist
from enlist import OutboxStatus

from conftest import Outbox, World


def test_deliver_through_a_plain_callable(world: World) -> None:
    e = world.engine
    e.invite(world.org, "bob@acme.example, cat@acme.example", actor=world.owner)
    got: List[enlist.OutgoingEmail] = []
    report = e.deliver_pending(got.append)
    assert sorted(m.to for m in got) == ["bob@acme.example", "cat@acme.example"]
    assert sorted(report.sent) == sorted(m.message_id for m in got)
    assert report.retrying == [] and report.failed == [] and len(report) == 2
    assert "Ada Lovelace invited you to join Acme" in got[0].subject
    assert got[0].accept_url in got[0].text_body
    # Never twice: a second run sends nothing.
    assert len(e.deliver_pending(got.append)) == 0
    assert len(got) == 2
    stored = e.outbox_message(got[0].message_id)
    assert stored.status is OutboxStatus.SENT and stored.attempts == 1
    assert stored.email.accept_url == "[redacted]", "the link is dropped once delivered"


def test_an_exception_is_a_failed_delivery_retried_with_backoff(world: World, outbox: Outbox) -> None:
    e, clock = world.engine, world.clock
    (bob,) = e.invite(world.org, "bob@acme.example", actor=world.owner).issued
    outbox.fail_with = [ConnectionError("SMTP timed out")]
    report = e.deliver_pending(outbox)
    assert report.retrying == [bob.message_id] and report.sent == []
    msg = e.outbox_message(bob.message_id)
    assert msg.status is OutboxStatus.QUEUED and msg.attempts == 1
    assert msg.last_error == "temporary mail failure: ConnectionError: SMTP timed out"
    # The first backoff (a minute) less its jitter, under a quarter.
    wait = msg.next_attempt_at - clock.now()
    assert dt.timedelta(seconds=45) < wait <= dt.timedelta(minutes=1)
    assert len(e.deliver_pending(outbox)) == 0, "not due before the backoff"
    assert outbox.calls == 1
    clock.advance(dt.timedelta(minutes=1))
    assert e.deliver_pending(outbox).sent == [bob.message_id]
    assert [m.to for m in outbox.sent] == ["bob@acme.example"]
    clock.advance(dt.timedelta(days=1))
    assert len(e.deliver_pending(outbox)) == 0, "never sent twice after a success"
    assert outbox.calls == 2
    failed = [ev for ev in e.events(world.org, actor=world.owner) if ev.kind == "email_failed"]
    assert failed[0].data["error"] == "temporary mail failure: ConnectionError: SMTP timed out"
    assert failed[0].data["gave_up"] is False


def test_a_permanent_mail_error_gives_up_at_once(world: World, outbox: Outbox) -> None:
    e = world.engine
    (bob,) = e.invite(world.org, "bob@acme.example", actor=world.owner).issued
    outbox.fail_with = [enlist.MailError("mailbox does not exist", permanent=True)]
    report = e.deliver_pending(outbox)
    assert report.failed == [bob.message_id]
    msg = e.outbox_message(bob.message_id)
    assert msg.status is OutboxStatus.FAILED
    assert msg.last_error == "permanent mail failure: MailError: mailbox does not exist"
    world.clock.advance(dt.timedelta(days=1))
    assert len(e.deliver_pending(outbox)) == 0


def test_retries_stop_after_max_attempts(clock) -> None:
    e = enlist.Enlist.in_memory(
        clock=clock, retry=enlist.RetryPolicy(max_attempts=2, base_delay=dt.timedelta(seconds=30))
    )
    org, owner = e.create_organization("Acme", owner_user_ref="a", owner_email="ada@acme.example")
    e.invite(org, "bob@acme.example", actor=owner)

    def broken(email: enlist.OutgoingEmail) -> None:
        raise RuntimeError("provider down")

    assert len(e.deliver_pending(broken).retrying) == 1
    clock.advance(dt.timedelta(seconds=30))
    assert len(e.deliver_pending(broken).failed) == 1
    clock.advance(dt.timedelta(days=1))
    assert len(e.deliver_pending(broken)) == 0


def test_a_keyboard_interrupt_stops_the_run_and_is_raised(world: World, outbox: Outbox) -> None:
    e = world.engine
    e.invite(world.org, "bob@acme.example, cat@acme.example", actor=world.owner)
    outbox.fail_with = [KeyboardInterrupt()]
    with pytest.raises(KeyboardInterrupt):
        e.deliver_pending(outbox)
    assert outbox.calls == 1, "the second message was not handed to Python"
    world.clock.advance(dt.timedelta(minutes=5))
    assert len(e.deliver_pending(outbox).sent) == 2, "both are retried later"


def test_the_mailer_must_be_callable(world: World) -> None:
    with pytest.raises(TypeError):
        world.engine.deliver_pending(42)


def test_claim_mark_sent_mark_failed(world: World) -> None:
    e, clock = world.engine, world.clock
    e.invite(world.org, "bob@acme.example, cat@acme.example", actor=world.owner)
    claimed = e.claim_due(org=world.org, limit=10)
    assert len(claimed) == 2 and all(m.status is OutboxStatus.QUEUED for m in claimed)
    assert claimed[0].next_attempt_at == clock.now() + dt.timedelta(minutes=5), "claimed for 5 minutes"
    assert e.claim_due() == [], "a claim hides the messages from other workers"
    bob, cat = sorted(claimed, key=lambda m: m.email.to)
    assert e.mark_sent(bob.id) is True
    assert e.mark_sent(bob.id) is False, "already recorded"
    assert e.mark_failed(cat.id, error="quota exceeded") is OutboxStatus.QUEUED
    assert e.mark_failed(cat.id, error="bounced", permanent=True) is OutboxStatus.FAILED
    assert e.mark_failed(cat.id, error="again") is None
    assert e.outbox_message(cat.id).last_error == "bounced"
    with pytest.raises(enlist.NotFoundError):
        e.outbox_message("msg_missing")

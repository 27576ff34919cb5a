"""The outbox worker from Python: one pass that says when to come back, the
loop on a thread stopped by a threading.Event, and the dead letters an
administrator reads and retries."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest

import enlist
from enlist import OutboxStatus

from conftest import Outbox, World


def test_one_pass_sends_and_says_when_the_next_message_is_due(world: World, outbox: Outbox) -> None:
    e, clock = world.engine, world.clock
    idle = e.work_outbox(outbox)
    assert isinstance(idle, enlist.WorkerReport)
    assert len(idle) == 0 and idle.next_due is None
    e.invite(world.org, "bob@acme.example, cat@acme.example", actor=world.owner)
    outbox.fail_with = [ConnectionError("421 busy")]
    report = e.work_outbox(outbox, limit=10)
    assert len(report.sent) == 1 and len(report.retrying) == 1
    assert report.expired_invitations == 0
    assert report.next_due is not None
    wait = report.next_due - clock.now()
    assert dt.timedelta(seconds=45) < wait <= dt.timedelta(minutes=1), "backoff less its jitter"
    clock.advance(wait)
    again = e.work_outbox(outbox)
    assert again.sent == report.retrying and again.next_due is None


def test_the_loop_stops_when_the_event_is_set(world: World, outbox: Outbox) -> None:
    e = world.engine
    e.invite(world.org, "bob@acme.example", actor=world.owner)
    stop = threading.Event()
    result: list[enlist.WorkerReport] = []
    worker = threading.Thread(target=lambda: result.append(e.run_outbox(outbox, stop, max_idle=3600)))
    worker.start()
    deadline = time.monotonic() + 30
    while not outbox.sent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [m.to for m in outbox.sent] == ["bob@acme.example"]
    stopped = time.monotonic()
    stop.set()
    worker.join(timeout=30)
    assert not worker.is_alive() and time.monotonic() - stopped < 30, "did not wait out its hour"
    assert len(result[0].sent) == 1
    with pytest.raises(enlist.InvalidInputError):
        e.run_outbox(outbox, stop, max_idle=0)


def _dead_bob(world: World, outbox: Outbox) -> tuple[str, str]:
    e = world.engine
    (bob,) = e.invite(world.org, "bob@acme.example", actor=world.owner).issued
    outbox.fail_with = [
        enlist.MailError(f"550 no such user; message: {ACCEPT}{bob.secret}", permanent=True)
    ]
    report = e.work_outbox(outbox)
    assert report.failed == [bob.message_id]
    return bob.message_id, bob.secret


ACCEPT = "https://app.example/accept?token="


def test_dead_letters_show_why_but_never_the_link(world: World, outbox: Outbox) -> None:
    e = world.engine
    message_id, token = _dead_bob(world, outbox)
    page = e.dead_letters(world.org, actor=world.owner)
    assert isinstance(page, enlist.DeadLetterPage) and len(page) == 1
    (dead,) = list(page)
    assert isinstance(dead, enlist.DeadLetter)
    assert dead.id == message_id and dead.to == "bob@acme.example" and dead.attempts == 1
    assert dead.reason is not None and "550 no such user" in dead.reason
    assert token not in json.dumps(page.to_dict()) and token not in repr(page)
    assert not hasattr(dead, "email") and not hasattr(dead, "accept_url")
    mia = world.join("mia@acme.example", role="member")
    with pytest.raises(enlist.PermissionDeniedError):
        e.dead_letters(world.org, actor=mia)
    with pytest.raises(enlist.PermissionDeniedError):
        e.retry_dead_letter(world.org, actor=mia, message_id=message_id)


def test_retrying_a_dead_letter_resends_with_a_fresh_link(world: World, outbox: Outbox) -> None:
    e, clock = world.engine, world.clock
    message_id, old_token = _dead_bob(world, outbox)
    clock.advance(dt.timedelta(minutes=11))  # the resend cooldown
    new_id = e.retry_dead_letter(world.org, actor=world.owner, message_id=message_id)
    assert new_id != message_id
    assert e.outbox_message(message_id).status is OutboxStatus.SUPERSEDED
    assert len(e.dead_letters(world.org, actor=world.owner)) == 0
    assert e.work_outbox(outbox).sent == [new_id]
    assert outbox.token("bob@acme.example") != old_token
    with pytest.raises(enlist.ConflictError):
        e.retry_dead_letter(world.org, actor=world.owner, message_id=message_id)

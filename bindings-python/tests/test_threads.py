"""The GIL is released while the engine works: another Python thread makes
progress during a long call.

The switch interval is raised for the measurement, so the interpreter never
takes the GIL from a thread by force: a call that kept the GIL would let
the other thread make no progress at all between the two reads of its
counter, and the tests would fail."""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, List

import enlist

from conftest import World


def progress_during(work: Callable[[], object]) -> int:
    """How many steps another thread made while ``work`` ran."""
    count = [0]
    started = threading.Event()
    stop = threading.Event()

    def spin() -> None:
        started.set()
        while not stop.is_set():
            count[0] += 1
            time.sleep(0)  # releases the GIL, so the caller gets it back at once

    old = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    worker = threading.Thread(target=spin)
    worker.start()
    try:
        started.wait()
        before = count[0]
        work()
        after = count[0]
    finally:
        stop.set()
        worker.join()
        sys.setswitchinterval(old)
    return after - before


def test_parse_recipients_releases_the_gil() -> None:
    # 25,000 entries (~0.9 M characters): under the 1 M-character bound.
    paste = "\n".join(f"Person {i} <person{i}@example.com>" for i in range(25_000))
    assert progress_during(lambda: enlist.parse_recipients(paste)) > 10


def test_engine_calls_release_the_gil(world: World) -> None:
    e = world.engine
    e.update_policy(world.org, actor=world.owner, policy=world.org.policy.replace(max_batch=3000))
    recipients = [f"p{i}@acme.example" for i in range(3000)]
    assert progress_during(lambda: e.invite(world.org, recipients, actor=world.owner, send=False)) > 10
    assert len(e.list_invitations(world.org, actor=world.owner, limit=1000)) == 1000


def test_engines_are_shared_across_threads(world: World) -> None:
    e = world.engine
    errors: List[BaseException] = []

    def invite(n: int) -> None:
        try:
            e.invite(world.org, [f"t{n}-{i}@acme.example" for i in range(20)], actor=world.owner)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=invite, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(e.list_invitations(world.org, actor=world.owner, limit=1000)) == 80

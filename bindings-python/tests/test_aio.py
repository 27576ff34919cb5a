"""enlist.aio: every method of the engine as a coroutine, run in a worker
thread while the event loop keeps serving; its stub generated from the
engine's stub."""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import inspect
import sys
import time
from pathlib import Path
from typing import Any, List

import pytest

import enlist
from enlist import aio

from conftest import ACCEPT_BASE, START, Outbox, World

PACKAGE_SOURCE = Path(__file__).resolve().parents[1] / "python" / "enlist"
TOOL = Path(__file__).resolve().parents[1] / "tools" / "aio_stub.py"


def public_methods() -> List[str]:
    return sorted(n for n in vars(enlist.Enlist) if not n.startswith("_"))


def test_every_engine_method_is_a_coroutine_with_the_same_signature() -> None:
    names = public_methods()
    assert len(names) > 50 and "invite" in names and "sqlite" in names
    for name in names:
        method = getattr(aio.Enlist, name, None)
        assert method is not None, f"aio.Enlist has no {name}"
        assert inspect.iscoroutinefunction(method), f"aio.Enlist.{name} is not a coroutine function"
        assert inspect.signature(method) == inspect.signature(getattr(enlist.Enlist, name)), name


def load_tool() -> Any:
    spec = importlib.util.spec_from_file_location("aio_stub", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_stub_is_the_one_generated_from_the_engine_stub() -> None:
    tool = load_tool()
    expected = tool.generate((PACKAGE_SOURCE / "_enlist.pyi").read_text(encoding="utf-8"))
    committed = (PACKAGE_SOURCE / "aio.pyi").read_text(encoding="utf-8")
    assert ast.dump(ast.parse(committed)) == ast.dump(ast.parse(expected)), (
        "enlist/aio.pyi is out of date with _enlist.pyi: run "
        "`python bindings-python/tools/aio_stub.py` and commit the result"
    )


def test_the_stub_covers_every_method_as_async() -> None:
    tree = ast.parse((PACKAGE_SOURCE / "aio.pyi").read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Enlist"]
    coroutines = {n.name for n in cls.body if isinstance(n, ast.AsyncFunctionDef)}
    plain = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    assert coroutines == set(public_methods())
    assert plain == {"__init__", "sync"}


def test_wrapping_wants_an_engine() -> None:
    with pytest.raises(TypeError):
        aio.Enlist("not an engine")  # type: ignore[arg-type]


def test_constructors_commands_and_errors_are_those_of_the_engine() -> None:
    async def main() -> None:
        clock = enlist.ManualClock(START)
        engine = await aio.Enlist.in_memory_for_tests(seed=7, clock=clock, accept_url_base=ACCEPT_BASE)
        assert isinstance(engine, aio.Enlist) and isinstance(engine.sync, enlist.Enlist)
        org, owner = await engine.create_organization(
            "Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example"
        )
        report = await engine.invite(org, ["bob@acme.example"], actor=owner)
        assert len(report.issued) == 1
        outbox = Outbox()
        await engine.deliver_pending(outbox)
        token = outbox.token("bob@acme.example")
        preview = await engine.preview(token)
        assert preview.org_name == "Acme"
        accepted = await engine.accept(token, user_ref="acct-bob", first_name="Bob", last_name="Smith")
        assert accepted.member.contact == "bob@acme.example"
        page = await engine.list_members(org, actor=owner)
        assert sorted(m.contact for m in page.items) == ["ada@acme.example", "bob@acme.example"]
        # The same exception as the synchronous call, with its facts.
        with pytest.raises(enlist.PermissionDeniedError) as denied:
            await engine.invite(org, ["eve@acme.example"], actor="mem_nobody")
        with pytest.raises(enlist.PermissionDeniedError) as sync_denied:
            engine.sync.invite(org, ["eve@acme.example"], actor="mem_nobody")
        assert str(denied.value) == str(sync_denied.value)
        with pytest.raises(enlist.NotFoundError):
            await engine.preview(token + "x")

    asyncio.run(main())


def test_the_event_loop_keeps_running_during_a_call(world: World) -> None:
    """While a long call runs, another task on the loop makes progress. The
    switch interval is raised, so the interpreter never takes the GIL from
    the worker by force: a call that ran on the loop, or kept the GIL in
    its thread, would let the ticker make no progress at all."""
    world.engine.update_policy(
        world.org, actor=world.owner, policy=world.org.policy.replace(max_batch=3000)
    )
    engine = aio.Enlist(world.engine.real)
    recipients = [f"p{i}@acme.example" for i in range(3000)]

    async def main() -> int:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        before = ticks
        await engine.invite(world.org, recipients, actor=world.owner, send=False)
        during = ticks - before
        done.set()
        await task
        return during

    old = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    try:
        during = asyncio.run(main())
    finally:
        sys.setswitchinterval(old)
    assert during > 10, f"the loop made {during} steps during the call"


def test_concurrent_calls_all_land(world: World) -> None:
    engine = aio.Enlist(world.engine.real)

    async def main() -> None:
        started = time.monotonic()
        reports = await asyncio.gather(
            *(
                engine.invite(world.org, [f"t{n}-{i}@acme.example" for i in range(20)], actor=world.owner)
                for n in range(8)
            ),
            *(engine.list_members(world.org, actor=world.owner) for _ in range(4)),
        )
        assert time.monotonic() - started < 60
        assert sum(len(r.issued) for r in reports[:8]) == 160
        page = await engine.list_invitations(world.org, actor=world.owner, limit=1000)
        assert len(page.items) == 160

    asyncio.run(main())

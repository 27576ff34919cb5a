"""enlist for asyncio: the engine whose methods are coroutines.

``enlist.aio.Enlist`` has every method of ``enlist.Enlist``, with the same
arguments, results and exceptions, as ``async def``: each call runs the
synchronous method in a worker thread (``asyncio.to_thread``, the event
loop's default executor), and the native method releases the GIL while
the engine and its store work, so the event loop keeps serving other
tasks and several calls run at once::

    import asyncio
    from enlist import aio

    async def main() -> None:
        engine = await aio.Enlist.sqlite("enlist.sqlite3")
        org, owner = await engine.create_organization(
            "Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example")
        await engine.invite(org, ["bob@acme.example"], actor=owner)

    asyncio.run(main())

The methods are made from ``enlist.Enlist`` when this module is imported,
so none can be missing; the constructors (``in_memory``, ``sqlite``,
``postgres``, ...) are coroutines too and return an ``aio.Enlist``. Wrap an
engine you already have with ``aio.Enlist(engine)``; ``.sync`` gives it
back.

A call whose task is cancelled still finishes in its thread: the command
commits or rolls back as a whole, as every command does, and its result
is dropped. The default executor has ``min(32, cpu_count + 4)`` threads;
give the loop another with ``loop.set_default_executor`` to change how
many calls run at once. A mailer given to ``deliver_pending`` and the
like is called in the worker thread: a plain ``send`` method, not a
coroutine.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any, Callable

from . import _enlist

__all__ = ["Enlist"]


class Enlist:
    """The engine for asyncio: every method of ``enlist.Enlist`` as a
    coroutine, run in a worker thread."""

    __slots__ = ("_engine",)

    def __init__(self, engine: _enlist.Enlist) -> None:
        if not isinstance(engine, _enlist.Enlist):
            raise TypeError(f"expected an enlist.Enlist, got {type(engine).__name__}")
        self._engine = engine

    @property
    def sync(self) -> _enlist.Enlist:
        """The synchronous engine behind this one."""
        return self._engine

    def __repr__(self) -> str:
        return f"aio.{self._engine!r}"


def _method(name: str, sync: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(sync)
    async def method(self: Enlist, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(sync, self._engine, *args, **kwargs)

    method.__qualname__ = f"Enlist.{name}"
    return method


def _constructor(name: str, sync: Callable[..., Any]) -> Any:
    @functools.wraps(sync)
    async def constructor(*args: Any, **kwargs: Any) -> Enlist:
        return Enlist(await asyncio.to_thread(sync, *args, **kwargs))

    constructor.__qualname__ = f"Enlist.{name}"
    return staticmethod(constructor)


def _public_methods() -> list[str]:
    """The public methods of the synchronous engine, constructors included."""
    return sorted(
        name
        for name, value in vars(_enlist.Enlist).items()
        if not name.startswith("_") and (callable(value) or isinstance(value, staticmethod))
    )


for _name in _public_methods():
    _static = inspect.getattr_static(_enlist.Enlist, _name)
    if isinstance(_static, staticmethod):
        setattr(Enlist, _name, _constructor(_name, getattr(_enlist.Enlist, _name)))
    else:
        setattr(Enlist, _name, _method(_name, getattr(_enlist.Enlist, _name)))
del _name, _static

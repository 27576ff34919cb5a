"""The hooks protocol (better-auth's ``organizationHooks``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._enlist import HookChange


class Hooks(Protocol):
    """What ``Enlist.with_hooks`` calls around every change the engine
    records. An object needs only the methods it uses (at least one).

    ``before(change)`` runs inside the command's transaction, after the
    actor was authorized and the input checked: raising any exception
    refuses the change (the caller gets ``PermissionDeniedError`` with code
    ``hook_refused`` and the exception's message as ``reason``; in a batch,
    that recipient is rejected with ``refused_by_hook``), and nothing of it
    is kept. It must not call the engine.

    ``after(change)`` runs once the command committed. An exception it
    raises goes to ``sys.unraisablehook`` and cannot undo or fail the
    command.
    """

    def before(self, change: "HookChange", /) -> None: ...

    def after(self, change: "HookChange", /) -> None: ...

"""What ``Enlist.activate_invite_link`` returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ._enlist import InviteLink


class ActivatedLink(NamedTuple):
    """The freshly activated invitation link and its token, shown this once.

    Unpacks as ``link, token = engine.activate_invite_link(...)``. Its
    ``repr()`` and ``str()`` never show the token, so logging the value does
    not leak it; read ``.token`` where it is needed.
    """

    link: InviteLink
    token: str

    def __repr__(self) -> str:
        return f"ActivatedLink(link={self.link!r}, token='***')"

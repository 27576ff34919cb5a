"""The invite flow from asyncio (an async web handler would do the same),
as a typed script: ``enlist.aio.Enlist`` awaits every engine call in a
worker thread while the event loop keeps serving.

scripts/test-python.sh checks it with ``mypy --strict`` and the test suite
runs it. Run it yourself with ``python examples/async_example.py``.
"""

from __future__ import annotations

import asyncio
from typing import Dict

import enlist
from enlist import aio


class LinkKeeper:
    """A mailer that keeps each accept link instead of sending it."""

    def __init__(self) -> None:
        self.links: Dict[str, str] = {}

    def send(self, email: enlist.OutgoingEmail) -> None:
        self.links[email.to] = email.accept_url


async def main() -> int:
    engine = await aio.Enlist.in_memory(
        product_name="Acme", accept_url_base="https://app.acme.example/accept"
    )
    org, owner = await engine.create_organization(
        "Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example"
    )
    # Several calls at once: each runs in its own worker thread.
    reports = await asyncio.gather(
        *(engine.invite(org, [f"{name}@acme.example"], actor=owner) for name in ("bob", "carol"))
    )
    print(f"invited {sum(len(r.issued) for r in reports)}")
    mail = LinkKeeper()
    delivered = await engine.deliver_pending(mail)
    print(f"delivered {len(delivered.sent)}")

    link = mail.links["bob@acme.example"]
    preview = await engine.preview(link)
    print(f"Bob is invited to {preview.org_name} as {preview.role}")
    accepted = await engine.accept(link, user_ref="acct-bob", first_name="Bob", last_name="Smith")
    people = await engine.people(org, actor=owner)
    print(f"{accepted.member.contact} joined; {len(people.items)} people in {org.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

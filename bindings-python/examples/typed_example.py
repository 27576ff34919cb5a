"""Onboarding many users from a paste box (seed 003), as a typed script.

scripts/test-python.sh checks it with ``mypy --strict`` and the test suite
runs it. Run it yourself with ``python examples/typed_example.py``.

1. Paste addresses; the form counts how many it recognizes.
2. Invite them all into one service area with one role; the confirmation
   lists who got no invitation and why.
3. Deliver the emails through your own mailer.
4. An invitee registers: names, mobile number, two-factor, the EULA.
5. Track statuses (active, pending, expired) and resend an expired link.
"""

from __future__ import annotations

import datetime as dt
from typing import Dict, List

import enlist
from enlist import BuiltinRole, InvitationStatus, MemberStatus


class ConsoleMailer:
    """Prints each email instead of sending it; remembers the links."""

    def __init__(self) -> None:
        self.links: Dict[str, str] = {}

    def send(self, email: enlist.OutgoingEmail) -> None:
        print(f"  -> {email.to}: {email.subject}")
        self.links[email.to] = email.accept_url


def main() -> int:
    clock = enlist.ManualClock(dt.datetime(2030, 3, 1, 9, 0, tzinfo=dt.timezone.utc))
    engine = enlist.Enlist.in_memory(
        clock=clock, product_name="FieldOps", accept_url_base="https://fieldops.example/register"
    )
    policy = enlist.Policy(
        registration=enlist.RegistrationRequirements(phone=True),
        require_two_factor=True,
        eula_version="2030-03",
    )
    org, admin = engine.create_organization(
        "County Services",
        owner_user_ref="acct-root",
        owner_email="root@county.example",
        owner_first_name="Rita",
        owner_last_name="Root",
        policy=policy,
    )
    north = engine.create_group(org, actor=admin, name="North service area")

    # 1. The paste box: "if you expect 10 but the count shows 9, there might be a typo".
    paste = (
        "ann@county.example\n"
        "Ben Ortiz <ben@county.example>, \"Chu, Carl\" <carl@county.example>\n"
        "dora@county,example\n"
        "root@county.example"
    )
    parsed = enlist.parse_recipients(paste)
    print(f"{parsed.recognized} recognized out of {len(parsed)} entries")
    for entry in parsed.invalid():
        problem = entry.problem
        reason = problem.message if problem is not None else "?"
        print(f"  not an address: {entry.text!r}: {reason}")

    # 2. Invite them all with one role into one service area.
    report = engine.invite(org, paste, actor=admin, role=BuiltinRole.MEMBER, groups=[north])
    print(f"{len(report.issued)} invitations sent")
    for rejected in report.rejected:
        print(f"  #{rejected.index + 1} {rejected.input}: {rejected.reason.message}")

    # 3. Deliver the emails.
    mailer = ConsoleMailer()
    delivery = engine.deliver_pending(mailer)
    print(f"{len(delivery.sent)} emails delivered")

    # 4. Ann registers from her link.
    link = mailer.links["ann@county.example"]
    needs = engine.preview(link).requirements
    print(f"registration asks for phone={needs.phone}, 2FA={needs.two_factor}, EULA {needs.eula_version}")
    try:
        engine.accept(link, user_ref="acct-ann", first_name="Ann", last_name="Lee")
    except enlist.InvalidInputError as err:
        missing: List[enlist.RegistrationField] = err.missing or []
        print(f"  incomplete: {', '.join(missing)}")
    ann = engine.accept(
        link,
        user_ref="acct-ann",
        first_name="Ann",
        last_name="Lee",
        phone="+1 555 0142",
        two_factor_enrolled=True,
        eula_version="2030-03",
    ).member
    assert ann.status is MemberStatus.ACTIVE

    # 5. Statuses: active, pending; a week later, expired; resend.
    clock.advance(dt.timedelta(days=8))
    statuses: Dict[str, str] = {m.contact: m.status.value for m in engine.list_members(org, actor=admin)}
    for invitation in engine.list_invitations(org, actor=admin, statuses=[InvitationStatus.EXPIRED]):
        statuses[invitation.recipient] = invitation.status.value
    for contact, status in sorted(statuses.items()):
        print(f"  {contact:24} {status}")
    ben = next(i for i in report.issued if i.invitation.recipient == "ben@county.example")
    resent = engine.resend(org, ben.invitation, actor=admin)
    expires = resent.invitation.expires_at
    print(f"resent to ben, valid until {expires.date() if expires else '?'}")
    try:
        engine.resend(org, ben.invitation, actor=admin)
    except enlist.LimitExceededError as err:
        print(f"  resend refused ({err.code}) until {err.retry_after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Fixtures of the enlist test suite.

Every test gets an engine over a fresh in-memory store, with a manual clock
(so expiry, cooldowns and retries are tested without waiting) and seeded
secrets. The engine handed to tests records which of its methods were
called: when the whole suite runs, it fails unless every public method of
``enlist.Enlist`` was exercised at least once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, List, Optional, Set

import pytest

import enlist

START = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.timezone.utc)

# The host owns the accept URL base (an organization may only choose among
# the bases the engine allows): the test engines use this one.
ACCEPT_BASE = "https://app.acme.example/accept"

CALLED: Set[str] = set()


def record_call(name: str) -> None:
    """Marks a method of ``enlist.Enlist`` as exercised."""
    CALLED.add(name)


class RecordingEngine:
    """An ``enlist.Enlist`` that notes the methods called on it."""

    def __init__(self, engine: enlist.Enlist) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._engine, name)
        if callable(attr) and not name.startswith("_"):
            record_call(name)
        return attr

    @property
    def real(self) -> enlist.Enlist:
        return self._engine


class Outbox:
    """A mailer (an object with ``send``) that keeps what it was given and
    fails on demand."""

    def __init__(self) -> None:
        self.sent: List[enlist.OutgoingEmail] = []
        self.calls = 0
        self.fail_with: List[BaseException] = []

    def send(self, email: enlist.OutgoingEmail) -> None:
        self.calls += 1
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.sent.append(email)

    def to(self, address: str) -> List[enlist.OutgoingEmail]:
        return [e for e in self.sent if e.to == address]

    def token(self, address: str) -> str:
        """The token in the last link sent to ``address``."""
        (email,) = self.to(address)[-1:]
        return email.accept_url.split("token=", 1)[1]


@dataclass
class World:
    """An organization (Acme) with its owner, on a fresh engine."""

    engine: Any
    clock: enlist.ManualClock
    org: enlist.Organization
    owner: enlist.Member
    outbox: Outbox = field(default_factory=Outbox)

    def deliver(self) -> enlist.DeliveryReport:
        report: enlist.DeliveryReport = self.engine.deliver_pending(self.outbox)
        return report

    def join(
        self,
        address: str,
        *,
        role: Optional[str] = None,
        groups: Optional[list] = None,
        kind: Optional[str] = None,
    ) -> enlist.Member:
        """Invites ``address``, delivers the email and accepts it."""
        self.engine.invite(
            self.org, [address], actor=self.owner, role=role, groups=groups, kind=kind
        )
        self.deliver()
        name = address.split("@")[0].capitalize()
        acceptance = self.engine.accept(
            self.outbox.token(address),
            user_ref=f"acct-{name.lower()}",
            first_name=name,
            last_name="Tester",
        )
        member: enlist.Member = acceptance.member
        return member


@pytest.fixture
def clock() -> enlist.ManualClock:
    return enlist.ManualClock(START)


@pytest.fixture
def engine(clock: enlist.ManualClock) -> RecordingEngine:
    record_call("in_memory_for_tests")
    return RecordingEngine(enlist.Enlist.in_memory_for_tests(clock=clock, seed=7, accept_url_base=ACCEPT_BASE))


def make_world(engine: Any, clock: enlist.ManualClock, policy: Optional[enlist.Policy] = None) -> World:
    policy = (policy or enlist.Policy()).replace(accept_url_base=ACCEPT_BASE)
    org, owner = engine.create_organization(
        "Acme",
        owner_user_ref="acct-ada",
        owner_email="ada@acme.example",
        owner_first_name="Ada",
        owner_last_name="Lovelace",
        policy=policy,
    )
    return World(engine=engine, clock=clock, org=org, owner=owner)


@pytest.fixture
def world(engine: RecordingEngine, clock: enlist.ManualClock) -> World:
    return make_world(engine, clock)


@pytest.fixture
def outbox() -> Outbox:
    return Outbox()


DESELECTED: List[int] = []


def pytest_deselected(items: List[pytest.Item]) -> None:
    DESELECTED.append(len(items))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """When the whole suite ran and passed, every public method of
    ``enlist.Enlist`` must have been called by some test."""
    config = session.config
    if exitstatus != 0 or DESELECTED or config.getoption("keyword") or config.getoption("markexpr"):
        return
    if config.args and any("::" in a or a.endswith(".py") for a in config.args):
        return
    public = {n for n in dir(enlist.Enlist) if not n.startswith("_")}
    missing = sorted(public - CALLED)
    if missing:
        print(f"\nenlist.Enlist methods no test called: {', '.join(missing)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

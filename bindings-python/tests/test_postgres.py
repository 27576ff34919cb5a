"""The Postgres store, against the server named by ENLIST_TEST_POSTGRES_URL
(scripts/test.sh starts one with scripts/postgres.sh and sets it); skipped
when it is unset. Each test uses a fresh schema."""

from __future__ import annotations

import os
import threading
import uuid
from typing import List

import pytest

import enlist

from conftest import START, record_call

URL = os.environ.get("ENLIST_TEST_POSTGRES_URL", "")

needs_postgres = pytest.mark.skipif(not URL, reason="SKIPPED: ENLIST_TEST_POSTGRES_URL not set")


def fresh_schema() -> str:
    return f"py_{uuid.uuid4().hex[:16]}"


@needs_postgres
def test_postgres_store_round_trip_between_two_engines() -> None:
    schema = fresh_schema()
    clock = enlist.ManualClock(START)
    first = enlist.Enlist.postgres(URL, schema=schema, clock=clock)
    assert repr(first) == f"Enlist(store='postgres (schema {schema})')"
    org, owner = first.create_organization("Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example")
    team = first.create_group(org, actor=owner, name="Team", is_default=True)
    report = first.invite(org, "bob@acme.example, cat@acme.example, oops", actor=owner)
    assert len(report.issued) == 2 and len(report.rejected) == 1

    second = enlist.Enlist.postgres(URL, schema=schema, clock=clock)
    assert second.organization(org.id) == first.organization(org.id)
    sent: List[enlist.OutgoingEmail] = []
    assert len(second.deliver_pending(sent.append).sent) == 2
    assert len(first.deliver_pending(sent.append)) == 0, "never twice, across engines"
    token = next(e for e in sent if e.to == "bob@acme.example").accept_url
    bob = second.accept(token, user_ref="acct-bob", first_name="Bob", last_name="Smith").member
    assert first.member(org, bob.id, actor=owner).groups == [enlist.GroupGrant(team)]
    assert [ev.kind for ev in first.events(org, actor=owner, limit=100)][-1] is enlist.EventKind.INVITATION_ACCEPTED

    other = enlist.Enlist.postgres(URL, schema=fresh_schema())
    with pytest.raises(enlist.NotFoundError):
        other.organization(org.id)


@needs_postgres
def test_postgres_concurrent_invitations_from_threads() -> None:
    engine = enlist.Enlist.postgres(URL, schema=fresh_schema())
    org, owner = engine.create_organization("Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example")
    errors: List[BaseException] = []

    def invite(n: int) -> None:
        try:
            engine.invite(org, [f"t{n}-{i}@acme.example" for i in range(10)], actor=owner)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=invite, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(engine.list_invitations(org, actor=owner, limit=100)) == 40


def test_an_unreachable_server_is_a_storage_error() -> None:
    """Runs without a server."""
    record_call("postgres")
    with pytest.raises(enlist.StorageError) as err:
        enlist.Enlist.postgres("postgres://nobody@127.0.0.1:1/none")
    assert err.value.store_error == "unavailable"
    with pytest.raises(enlist.StorageError):
        enlist.Enlist.postgres("this is not a connection string ===")

"""The SQLite store: a file written by one process is read and changed by
another, and storage failures are StorageErrors."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

import enlist

from conftest import START, record_call

SECOND_PROCESS = textwrap.dedent(
    """
    import json, sys
    import enlist

    path, org_id, token = sys.argv[1:4]
    engine = enlist.Enlist.sqlite(path)
    org = engine.organization(org_id)
    owner = next(iter(engine.list_members(org, actor=enlist.Actor.system())))
    pending = engine.list_invitations(org, actor=owner, statuses=["pending"])
    accepted = engine.accept(token, user_ref="acct-bob", first_name="Bob", last_name="Smith")
    print(json.dumps({
        "org": org.name,
        "policy_max_batch": org.policy.max_batch,
        "groups": [g.name for g in engine.list_groups(org, actor=owner)],
        "pending": [i.recipient for i in pending],
        "bob": accepted.member.id,
        "bob_groups": [g.group_id for g in accepted.member.groups],
    }))
    """
)


def test_a_sqlite_file_reopened_from_a_second_process(tmp_path: pathlib.Path) -> None:
    record_call("sqlite")
    path = tmp_path / "enlist.db"
    engine = enlist.Enlist.sqlite(path, clock=enlist.ManualClock(START))
    assert repr(engine) == f"Enlist(store='sqlite:{path}')"
    org, owner = engine.create_organization(
        "Acme",
        owner_user_ref="acct-ada",
        owner_email="ada@acme.example",
        owner_first_name="Ada",
        owner_last_name="Lovelace",
        policy=enlist.Policy(max_batch=20),
    )
    team = engine.create_group(org, actor=owner, name="Team", is_default=True)
    report = engine.invite(org, "bob@acme.example, cat@acme.example", actor=owner)
    bob_token = report.issued[0].secret
    assert bob_token is not None

    out = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, str(path), org.id, bob_token],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    seen = json.loads(out)
    assert seen["org"] == "Acme" and seen["policy_max_batch"] == 20
    assert seen["groups"] == ["Team"]
    assert sorted(seen["pending"]) == ["bob@acme.example", "cat@acme.example"]
    assert seen["bob_groups"] == [team.id]

    # What the second process did is visible here, and in a third engine.
    bob = engine.member(org, seen["bob"], actor=owner)
    assert bob.email == "bob@acme.example" and bob.status is enlist.MemberStatus.ACTIVE
    assert engine.invitation(org, report.issued[0].invitation, actor=owner).status is enlist.InvitationStatus.ACCEPTED
    reopened = enlist.Enlist.sqlite(str(path))
    assert reopened.organization(org.id) == engine.organization(org.id)
    kinds = [ev.kind for ev in reopened.events(org, actor=owner, limit=100)]
    assert kinds[-1] is enlist.EventKind.INVITATION_ACCEPTED


def test_an_unopenable_file_is_a_storage_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(enlist.StorageError) as err:
        enlist.Enlist.sqlite(tmp_path / "no-such-folder" / "enlist.db")
    assert err.value.code == "storage"
    assert err.value.store_error == "unavailable"
    assert err.value.family is enlist.ErrorFamily.STORAGE
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(enlist.StorageError):
        enlist.Enlist.sqlite(not_a_db)


def test_counters_written_around_the_store_are_found_and_repaired(tmp_path: pathlib.Path) -> None:
    """The SQLite store keeps its counters (seats, owners, group sizes) in
    its own transactions: a row changed with the sqlite3 module leaves them
    wrong, `sqlite_verify_counts` names each wrong one, and
    `sqlite_repair_counts` sets them to the recount."""
    import sqlite3

    path = tmp_path / "enlist.db"
    engine = enlist.Enlist.sqlite(path, clock=enlist.ManualClock(START))
    org, owner = engine.create_organization("Acme", owner_user_ref="acct-ada", owner_email="ada@acme.example")
    engine.invite(org, "bob@acme.example, cat@acme.example", actor=owner)
    assert enlist.sqlite_verify_counts(path) == []
    assert enlist.sqlite_repair_counts(str(path)) == []

    # A second owner written by hand: the role's counter does not see it.
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE members SET role = 'admin' WHERE org_id = ?", (org.id,))
    found = enlist.sqlite_verify_counts(path)
    assert {(m.org_id, m.what, m.key, m.status, m.stored, m.actual) for m in found} == {
        (org.id, "member_role", "owner", "active", 1, 0),
        (org.id, "member_role", "admin", "active", 0, 1),
    }
    assert found[0].to_dict()["org_id"] == org.id
    assert "SqliteCountMismatch(" in repr(found[0])
    # Verifying changes nothing; repairing returns what it set.
    assert enlist.sqlite_verify_counts(path) == found
    assert enlist.sqlite_repair_counts(path) == found
    assert enlist.sqlite_verify_counts(path) == []

    # A file that is not enlist's is refused, and left as it was.
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("PRAGMA application_id = 1234")
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(enlist.StorageError):
        enlist.sqlite_verify_counts(other)
    with sqlite3.connect(other) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]

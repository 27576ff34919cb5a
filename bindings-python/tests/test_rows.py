"""The rows of a bulk result (`InviteReport.issued`, a page's `items`, ...)
are an `enlist.Rows`: a read-only sequence that keeps the Rust rows and
makes a row's Python object only when it is read (issue 15), while reading
like the list it replaces."""

from __future__ import annotations

import gc
import pickle
from collections.abc import Sequence

import pytest

import enlist

from conftest import World


def invite(world: World, n: int, bad: int = 0) -> enlist.InviteReport:
    good = [f"p{i}@acme.example" for i in range(n)]
    return world.engine.invite(world.org, good + ["not an address"] * bad, actor=world.owner)


def test_rows_read_like_the_list_they_replace(world: World) -> None:
    report = invite(world, 5)
    rows = report.issued
    assert isinstance(rows, enlist.Rows) and isinstance(rows, Sequence)
    assert len(rows) == 5 and bool(rows)
    recipients = [f"p{i}@acme.example" for i in range(5)]
    assert [r.invitation.recipient for r in rows] == recipients
    # Each read makes a new object, equal to the last one made for the row.
    assert rows[0] == rows[0] and rows[0] is not rows[0]
    assert rows[-1].invitation.recipient == recipients[-1]
    assert rows[-5] == rows[0]
    assert rows == list(rows) and list(rows) == rows and rows == report.issued
    assert not (rows != list(rows))
    assert rows != list(rows)[:4] and rows != list(rows)[::-1]
    assert rows != tuple(rows), "a list is never equal to a tuple either"
    assert rows[0] in rows and rows.index(rows[3]) == 3 and rows.count(rows[2]) == 1
    assert [r.index for r in reversed(rows)] == [4, 3, 2, 1, 0]
    assert repr(rows) == repr(list(rows))
    with pytest.raises(TypeError):
        hash(rows)


def test_an_index_out_of_range_is_an_index_error(world: World) -> None:
    rows = invite(world, 3).issued
    for i in (3, -4, 10**30, -(10**30)):
        with pytest.raises(IndexError):
            rows[i]
    with pytest.raises(TypeError):
        rows["0"]  # type: ignore[call-overload]
    with pytest.raises(ValueError):
        rows.index(world.engine.invite(world.org, ["zed@acme.example"], actor=world.owner).issued[0])
    empty = invite(world, 0, bad=1).issued
    assert len(empty) == 0 and not empty and empty == [] and list(empty) == []
    with pytest.raises(IndexError):
        empty[0]


def test_a_slice_is_a_list_of_the_rows_it_selects(world: World) -> None:
    rows = invite(world, 6).issued
    every = list(rows)
    for s in (slice(None), slice(1, 4), slice(-2, None), slice(None, None, -1), slice(0, 6, 2),
              slice(5, 0, -2), slice(4, 2), slice(-100, 100), slice(100, None)):
        got = rows[s]
        assert type(got) is list
        assert got == every[s], s
    assert rows.index(every[4], 2, -1) == 4
    with pytest.raises(ValueError):
        rows.index(every[4], 0, 4)


def test_iterating_twice_gives_the_same_rows(world: World) -> None:
    report = invite(world, 4, bad=2)
    first = [r.invitation.id for r in report.issued]
    second = [r.invitation.id for r in report.issued]
    assert first == second and len(set(first)) == 4
    it = iter(report.rejected)
    assert [r.index for r in it] == [4, 5] and list(it) == []
    # Iterating the report itself still yields every row in input order.
    assert [row.index for row in report] == [0, 1, 2, 3, 4, 5]
    assert [row.index for row in report] == [0, 1, 2, 3, 4, 5]


def test_a_row_outlives_its_report(world: World) -> None:
    report = invite(world, 3)
    row = report.issued[1]
    rows = report.issued
    expected = row.invitation.recipient
    del report
    gc.collect()
    assert row.invitation.recipient == expected
    # The rows keep the report's data alive as long as they are held.
    assert rows[1] == row and rows[2].invitation.recipient == "p2@acme.example"
    del rows
    gc.collect()
    assert row.secret is not None and row.invitation.recipient == expected


def test_rows_are_read_only(world: World) -> None:
    rows = invite(world, 2).issued
    with pytest.raises(TypeError):
        rows[0] = rows[1]  # type: ignore[index]
    with pytest.raises(AttributeError):
        rows.append(rows[0])  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        pickle.dumps(rows)


def test_pages_and_other_bulk_results_are_rows(world: World) -> None:
    engine, org, owner = world.engine, world.org, world.owner
    invite(world, 3)
    page = engine.list_invitations(org, actor=owner)
    assert isinstance(page.items, enlist.Rows) and len(page.items) == 3
    assert [i.id for i in page] == [i.id for i in page.items]
    assert isinstance(engine.dry_run_invite(org, ["z@acme.example"], actor=owner).would_issue, enlist.Rows)
    sent = engine.send_staged(org, [], actor=owner)
    assert isinstance(sent.results, enlist.Rows) and sent.results == [] and list(sent) == []


def test_an_import_reports_rows_are_rows_in_file_order(world: World) -> None:
    csv = "email\nann@acme.example\nnot an address\nbob@acme.example\nann@acme.example\n"
    report = world.engine.import_invitations(world.org, csv, actor=world.owner, format="csv")
    issued, rejected = report.issued(), report.rejected()
    assert isinstance(issued, enlist.Rows) and isinstance(rejected, enlist.Rows)
    assert [(i.line, i.issued.invitation.recipient) for i in issued] == [(2, "ann@acme.example"), (4, "bob@acme.example")]
    assert [(r.line, r.reason.code) for r in rejected] == [(3, "invalid_address"), (5, "duplicate_in_batch")]
    assert [type(r).__name__ for r in report] == [
        "ImportedInvitation", "ImportRejection", "ImportedInvitation", "ImportRejection",
    ]
    assert list(report) == list(report)
    assert isinstance(report.batches, enlist.Rows) and report.batches[0].issued[-1] == issued[1].issued
    del report
    gc.collect()
    assert issued[1].line == 4 and rejected[-1].message == "duplicate of line 2"


def test_a_bulk_actions_rows_are_rows(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    bob = world.join("bob@acme.example")
    dan = e.invite(org, ["dan@acme.example"], actor=owner, send=False).issued[0].invitation
    shown = e.bulk_confirmation(org, "remove", actor=owner, members=[bob], invitations=[dan])
    report = e.bulk_action(org, "remove", actor=owner, members=[bob], invitations=[dan], confirmation=shown.number)
    assert isinstance(report.rows, enlist.Rows) and len(report.rows) == 2
    assert report.rows == list(report.rows) and report.rows[-1].invitation == dan.id
    assert report.applied and report.action is enlist.BulkAction.REMOVE
    assert report.batch_id == report.to_dict()["batch_id"]
    row = report.rows[0]
    del report
    gc.collect()
    assert row.member == bob.id and row.outcome is enlist.BulkOutcome.CHANGED


def test_a_kept_reports_halves_a_sheets_rows_and_a_deliverys_ids_are_rows(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    report = invite(world, 3, bad=2)
    kept = e.batch_report(org, report.batch_id, actor=owner)
    invitations, errors = kept.invitations(), kept.errors()
    assert isinstance(invitations, enlist.Rows) and isinstance(errors, enlist.Rows)
    # Picked from the report's rows in order, each side exactly once.
    assert [r.contact for r in invitations] == [f"p{i}@acme.example" for i in range(3)]
    assert [r.error_code for r in errors] == ["invalid_address", "invalid_address"]
    assert len(invitations) + len(errors) == len(kept.rows) == len(kept)
    assert invitations[-1] == kept.rows[2] and errors[0] == kept.rows[3]
    with pytest.raises(IndexError):
        errors[2]
    del kept
    gc.collect()
    assert errors[-1].line == 5 and invitations[0].outcome is enlist.RowOutcome.ISSUED

    sheet = enlist.parse_import(b"email,kind\nann@acme.example,member\nbob@acme.example,robot\n", format="csv")
    assert isinstance(sheet.rows, enlist.Rows) and isinstance(sheet.errors, enlist.Rows)
    assert [r.input.email for r in sheet.rows] == ["ann@acme.example"] and len(sheet) == 1
    assert [err.line for err in sheet.errors] == [3] and sheet.ignored_columns == []
    assert sheet.rows == sheet.rows and sheet == enlist.parse_import(
        b"email,kind\nann@acme.example,member\nbob@acme.example,robot\n", format="csv"
    )

    delivered = e.deliver_pending(world.outbox)
    assert isinstance(delivered.sent, enlist.Rows) and isinstance(delivered.failed, enlist.Rows)
    assert sorted(delivered.sent) == sorted(i.message_id for i in report.issued)
    assert delivered.retrying == [] and len(delivered) == 3
    worked = e.work_outbox(world.outbox)
    assert isinstance(worked.sent, enlist.Rows) and worked.sent == [] and worked.expired_invitations == 0


def test_a_bulk_reports_refused_rows_are_rows(world: World) -> None:
    e, org, owner = world.engine, world.org, world.owner
    uma = world.join("uma@acme.example", role="user_admin")
    bob = world.join("bob@acme.example")
    shown = e.bulk_confirmation(org, "deactivate", actor=uma, members=[bob, owner])
    report = e.bulk_action(org, "deactivate", actor=uma, members=[bob, owner], confirmation=shown.number)
    refused = report.refused()
    assert isinstance(refused, enlist.Rows) and len(refused) == 1
    assert refused[0].member == owner.id and refused == [r for r in report.rows if r.member == owner.id]

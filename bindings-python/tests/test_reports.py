"""Seed 000's "Summary and reports" step from Python: every bulk command
keeps its report, fetched again by batch id, with an Invitations report and
an Errors report as CSV text or XLSX bytes; the Excel import template with
the organization's roles and groups as drop-down lists."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

import enlist
from enlist import RecipientInput, ReportKind, RowOutcome

from conftest import World


def xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read("xl/sharedStrings.xml").decode()


def test_a_send_with_errors_has_two_reports_fetched_again_by_batch_id(world: World) -> None:
    engine, org, owner = world.engine, world.org, world.owner
    report = engine.invite(
        org,
        [
            RecipientInput(email="ann@acme.example", first_name="Ann", last_name="Archer"),
            RecipientInput(first_name="Carl", last_name="NoMail"),
            RecipientInput(email="eve@@acme.example", first_name="Eve"),
        ],
        actor=owner,
    )
    secret = report.issued[0].secret
    assert secret is not None

    world.clock.advance(dt.timedelta(days=7))
    kept = engine.batch_report(org, report.batch_id, actor=owner)
    assert isinstance(kept, enlist.BatchReport)
    assert kept.kind is ReportKind.INVITE
    assert kept.batch_id == report.batch_id
    assert len(kept) == 3
    (invited,) = kept.invitations()
    assert (invited.contact, invited.first_name, invited.outcome) == (
        "ann@acme.example",
        "Ann",
        RowOutcome.ISSUED,
    )
    assert invited.target_id == report.issued[0].invitation.id
    errors = kept.errors()
    assert [(e.line, e.first_name, e.error_code) for e in errors] == [
        (2, "Carl", "missing_contact"),
        (3, "Eve", "invalid_address"),
    ]
    assert kept.invitations_csv().startswith("line,contact,first_name,last_name,role,groups,outcome,id\n")
    assert "missing_contact" in kept.errors_csv()
    xlsx = kept.errors_xlsx()
    assert isinstance(xlsx, bytes) and xlsx[:2] == b"PK"
    assert "NoMail" in xlsx_text(xlsx)
    assert "ann@acme.example" in xlsx_text(kept.invitations_xlsx())
    # No secret in any file.
    for text in (kept.invitations_csv(), kept.errors_csv(), xlsx_text(kept.invitations_xlsx())):
        assert secret not in text
    assert kept.to_dict()["kind"] == "invite"


def test_staged_sends_and_imports_keep_their_reports(world: World) -> None:
    engine, org, owner = world.engine, world.org, world.owner
    staged = engine.invite(org, ["fay@acme.example"], actor=owner, send=False)
    sent = engine.send_staged(org, [staged.issued[0].invitation.id, "inv_missing"], actor=owner)
    assert sent.batch_id is not None
    report = engine.batch_report(org, sent.batch_id, actor=owner)
    assert report.kind is ReportKind.SEND_STAGED
    assert [r.outcome for r in report.rows] == [RowOutcome.SENT, RowOutcome.REJECTED]

    imported = engine.import_invitations(
        org,
        "Email,First name\ngus@acme.example,Gus\nnot-an-address,X\n",
        actor=owner,
        format="csv",
    )
    assert imported.report_id is not None
    report = engine.batch_report(org, imported.report_id, actor=owner)
    assert report.kind is ReportKind.IMPORT
    assert [(r.line, r.outcome) for r in report.rows] == [
        (2, RowOutcome.ISSUED),
        (3, RowOutcome.REJECTED),
    ]


def test_who_may_read_a_report_and_pruning(world: World) -> None:
    engine, org, owner = world.engine, world.org, world.owner
    report = engine.invite(org, ["hal@acme.example"], actor=owner)
    engine.define_role(org, actor=owner, name="contractor", permissions=[])
    contractor = world.join("cy@acme.example", role="contractor")
    with pytest.raises(enlist.PermissionDeniedError):
        engine.batch_report(org, report.batch_id, actor=contractor)
    with pytest.raises(enlist.NotFoundError):
        engine.batch_report(org, "bat_unknown", actor=owner)
    with pytest.raises(enlist.PermissionDeniedError):
        engine.prune_batch_reports(org, actor=contractor, before=world.clock.now())
    world.clock.advance(dt.timedelta(days=100))
    cutoff = world.clock.now() - dt.timedelta(days=90)
    assert engine.prune_batch_reports(org, actor=owner, before=cutoff) >= 1
    with pytest.raises(enlist.NotFoundError):
        engine.batch_report(org, report.batch_id, actor=owner)


def test_the_excel_template_has_roles_and_groups_and_reads_as_empty(world: World) -> None:
    engine, org, owner = world.engine, world.org, world.owner
    for name in ("Sales", "Support"):
        engine.create_group(org, actor=owner, name=name)
    template = engine.import_template_xlsx(org, actor=owner)
    assert isinstance(template, bytes)
    text = xlsx_text(template)
    for name in ("Email", "Role", "Groups", "member", "admin", "Sales", "Support"):
        assert name in text
    sheet = enlist.parse_import(template, format="xlsx")
    assert sheet.rows == [] and sheet.errors == []

"""Hostile import files (issue 10): ``parse_import`` is public without an
actor, so it obeys the same limits as an import through the engine. Before
the fix, the 1.7 KB workbook below aborted the Python process (calamine
reserved room for four trillion shared strings)."""

from __future__ import annotations

import io
import zipfile

import pytest

import enlist
from conftest import World

WORKBOOK = (
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Users" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
RELS = (
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>'
)
SHEET = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    '<row r="2"><c r="A2" t="inlineStr"><is><t>ada@acme.test</t></is></c></row>'
    "</sheetData></worksheet>"
)


def workbook(unique_count: str, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", RELS)
        z.writestr("xl/worksheets/sheet1.xml", SHEET)
        z.writestr(
            "xl/sharedStrings.xml",
            f'<sst uniqueCount="{unique_count}"><si><t>Email</t></si></sst>',
        )
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out.getvalue()


def test_an_honest_workbook_reads() -> None:
    sheet = enlist.parse_import(workbook("1"), "xlsx")
    assert [r.input.email for r in sheet.rows] == ["ada@acme.test"]


def test_the_shared_strings_bomb_is_an_error_not_an_abort() -> None:
    bomb = workbook("4000000000000")
    assert len(bomb) < 2048
    with pytest.raises(enlist.InvalidInputError) as err:
        enlist.parse_import(bomb, enlist.ImportFormat.XLSX)
    assert "shared strings table says it holds 4000000000000" in str(err.value)


def test_a_deflate_bomb_is_refused_by_the_default_limits() -> None:
    bomb = workbook("1", {"xl/media/zeros.bin": bytes(64 << 20)})
    assert len(bomb) < 200_000
    with pytest.raises(enlist.LimitExceededError) as err:
        enlist.parse_import(bomb, "xlsx")
    assert err.value.limit is enlist.LimitKind.IMPORT_RATIO


def test_a_policy_sets_the_limits() -> None:
    csv = "Email\n" + "".join(f"u{i}@acme.test\n" for i in range(100))
    assert len(enlist.parse_import(csv, "csv")) == 100
    with pytest.raises(enlist.LimitExceededError) as err:
        enlist.parse_import(csv, "csv", policy=enlist.Policy(max_import_rows=10))
    assert err.value.limit is enlist.LimitKind.IMPORT_ROWS
    with pytest.raises(enlist.LimitExceededError) as err:
        enlist.parse_import(b"x" * (11 << 20), "csv")
    assert err.value.limit is enlist.LimitKind.IMPORT_BYTES


def test_the_import_limits_are_policy_fields() -> None:
    p = enlist.Policy(
        max_import_bytes=1 << 20,
        max_import_entries=50,
        max_import_unpacked_bytes=4 << 20,
        max_import_ratio=20,
    )
    assert (p.max_import_bytes, p.max_import_entries, p.max_import_unpacked_bytes, p.max_import_ratio) == (
        1 << 20,
        50,
        4 << 20,
        20,
    )
    with pytest.raises(enlist.LimitExceededError) as err:
        enlist.parse_import(b"x" * (2 << 20), "csv", policy=p)
    assert err.value.limit is enlist.LimitKind.IMPORT_BYTES
    # Bounded both ways: a policy cannot switch the limits off.
    engine = enlist.Enlist.in_memory()
    org, owner = engine.create_organization("Acme", owner_user_ref="acct-1", owner_email="ada@acme.test")
    with pytest.raises(enlist.InvalidInputError):
        engine.update_policy(org, actor=owner, policy=enlist.Policy(max_import_unpacked_bytes=1 << 40))
    engine.update_policy(org, actor=owner, policy=p)
    assert engine.organization(org).policy.max_import_ratio == 20


def test_an_import_larger_than_any_policy_allows_is_refused_before_it_is_copied(world: World) -> None:
    huge = b"x" * ((256 << 20) + 1)
    with pytest.raises(enlist.LimitExceededError) as err:
        world.engine.import_invitations(world.org, huge, actor=world.owner, format="csv")
    assert err.value.limit is enlist.LimitKind.IMPORT_BYTES

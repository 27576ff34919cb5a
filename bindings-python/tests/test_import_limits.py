"""Hostile import files (issue 10): ``parse_import`` is public without an
actor, so it obeys the same limits as an import through the engine. Before
the fix, the 1.7 KB workbook below aborted the Python process (calamine
reserved room for four trillion shared strings)."""

from __future__ import annotations

import io
import zipfile

import pytest

import enlist

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

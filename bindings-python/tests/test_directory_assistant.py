"""Seed 000, "Invite Users From Spectrum", from Python: a directory source
(the ``DirectorySource`` protocol: any object with ``companies()`` and
``employees(company_id)``, or the ``MemoryDirectory`` and ``CsvDirectory``
that ship with enlist), the assistant kept between screens as JSON,
filters and a kept selection, roles, review, send and the two reports."""

from __future__ import annotations

from typing import Any, List

import pytest

import enlist
from enlist import DirectoryEmployee, DirectoryField

from conftest import World


def staff() -> List[DirectoryEmployee]:
    return [
        DirectoryEmployee("B-1", first_name="Ann", last_name="Abel", email="ann@acme.example", job_title="Accountant", department="Finance"),
        DirectoryEmployee("B-2", first_name="Ben", last_name="Best", email="ben@acme.example", job_title="Driver", department="Field"),
        DirectoryEmployee("B-3", first_name="Cat", last_name="Cole", job_title="Accountant", department="Finance"),
        DirectoryEmployee("B-4", first_name="Dan", last_name="Dole", email="ann@acme.example", job_title="Clerk", department="Finance"),
        DirectoryEmployee("B-5", first_name="Eve", last_name="Ecker", email="eve@acme.example", job_title="Accountant", suggested_role="User admin"),
        DirectoryEmployee("B-6", first_name="Ada", last_name="Lovelace", email="ada@acme.example", job_title="CEO"),
        DirectoryEmployee("B-7", first_name="Ray", email="ray@acme.example", job_title="Accountant", employment_status="Terminated"),
    ]


class Spectrum:
    """The host's HR system: a plain Python object (the protocol)."""

    def __init__(self) -> None:
        self.calls = 0

    def companies(self) -> List[Any]:
        self.calls += 1
        return [enlist.DirectoryCompany("builders", "Acme Builders"), {"id": "services", "name": "Acme Services"}]

    def employees(self, company_id: str) -> List[Any]:
        self.calls += 1
        if company_id == "builders":
            return staff()
        return [{"id": "S-1", "first_name": "Hal", "email": "hal@acme.example", "job_title": "Accountant"}]


def ids(rows: List[enlist.DirectoryRow]) -> List[str]:
    return [r.employee.id for r in rows]


def test_the_assistant_end_to_end(world: World) -> None:
    engine, org, admin = world.engine, world.org, world.owner
    hr = Spectrum()
    assert isinstance(hr, enlist.DirectorySource)
    a = engine.directory_start(org, hr, actor=admin)
    assert a.needs_company
    assert [c.name for c in a.companies] == ["Acme Builders", "Acme Services"]
    engine.directory_choose_company(org, a, "builders", hr, actor=admin)
    # Active, neither member (Ada owns the organization) nor invited.
    assert ids(a.visible()) == ["B-1", "B-2", "B-3", "B-4", "B-5"]
    assert a.left_out == (1, 1)

    a.set_filter(DirectoryField.JOB_TITLE, "accountant")
    assert ids(a.visible()) == ["B-1", "B-3", "B-5"]
    a.select_all_filtered()
    a.clear_filters()
    a.set_filter("department", "finance")
    a.set_sort(DirectoryField.LAST_NAME, descending=True)
    assert ids(a.visible()) == ["B-4", "B-3", "B-1"]
    a.select("B-4")
    a.set_filter("department", None)
    assert a.selected == ["B-1", "B-3", "B-4", "B-5"]
    assert a.role_of("B-5") == "user_admin"
    assert a.role_of("B-1") == a.default_role == "member"
    a.set_role("B-1", "user_admin")

    # Kept between screens.
    a = enlist.DirectoryAssistant.from_json(a.to_json())

    review = engine.directory_review(org, a, actor=admin)
    assert [(r.employee.id, r.role) for r in review.to_send] == [("B-1", "user_admin"), ("B-5", "user_admin")]
    assert [(r.employee.id, r.reason.code) for r in review.errors if r.reason] == [
        ("B-3", "missing_contact"),
        ("B-4", "duplicate_in_batch"),
    ]
    assert review.max_batch == 100

    sent = engine.directory_send(org, a, actor=admin, message="Welcome")
    assert len(sent.report.issued) == 2 and len(sent.report.rejected) == 2
    invitations = sent.invitations_csv()
    assert "B-1,Ann Abel,ann@acme.example,user_admin,pending," in invitations
    assert "B-3,Cat Cole,,missing_contact," in sent.errors_csv()
    for issued in sent.report.issued:
        assert issued.secret is not None
        assert issued.secret not in invitations + sent.errors_csv()

    # Reloaded: the invited are gone; the other company starts afresh.
    engine.directory_choose_company(org, a, "builders", hr, actor=admin)
    assert "B-1" not in ids(a.visible())
    engine.directory_choose_company(org, a, "services", hr, actor=admin)
    assert ids(a.visible()) == ["S-1"] and a.selected == []


def test_the_sources_that_ship_with_enlist(world: World) -> None:
    engine, org, admin = world.engine, world.org, world.owner
    memory = enlist.MemoryDirectory()
    memory.add_company("acme", "Acme", staff())
    a = engine.directory_start(org, memory, actor=admin)
    assert not a.needs_company and a.company == enlist.DirectoryCompany("acme", "Acme")
    csv = "Employee ID,Full name,Email,Status\n1,Ann Abel,ann@acme.example,Active\n2,Ben Best,ben@acme.example,Inactive\n"
    a = engine.directory_start(org, enlist.CsvDirectory(csv), actor=admin)
    assert [e.name() for e in a.employees] == ["Ann Abel"]
    with pytest.raises(enlist.InvalidInputError):
        enlist.CsvDirectory(b"Shoe size\n42\n")


def test_a_plain_member_is_refused_before_the_source_is_read(world: World) -> None:
    pat = world.join("pat@acme.example")
    hr = Spectrum()
    with pytest.raises(enlist.PermissionDeniedError):
        world.engine.directory_start(world.org, hr, actor=pat)
    assert hr.calls == 0


def test_a_broken_or_hostile_source_gets_a_clear_error(world: World) -> None:
    engine, org, admin = world.engine, world.org, world.owner

    class Down:
        def companies(self) -> List[Any]:
            raise ConnectionError("Spectrum is down")

        def employees(self, company_id: str) -> List[Any]:
            return []

    with pytest.raises(ConnectionError, match="Spectrum is down"):
        engine.directory_start(org, Down(), actor=admin)

    class Flood:
        def companies(self) -> List[Any]:
            return [{"id": "x", "name": "X"}]

        def employees(self, company_id: str) -> range:
            return range(10**9)

    with pytest.raises(enlist.LimitExceededError):
        engine.directory_start(org, Flood(), actor=admin)

    class Sneaky:
        def companies(self) -> List[Any]:
            return [{"id": "x", "name": "X"}]

        def employees(self, company_id: str) -> List[Any]:
            return [DirectoryEmployee("1", first_name="Ann\r\nBcc: spy@evil.example", email="a@acme.example")]

    with pytest.raises(enlist.InvalidInputError) as e:
        engine.directory_start(org, Sneaky(), actor=admin)
    assert "directory source" in str(e.value)

    with pytest.raises(TypeError):
        engine.directory_start(org, object(), actor=admin)


def test_the_book_page_python_example_runs(tmp_path: Any) -> None:
    import pathlib
    import re
    import subprocess
    import sys

    page = pathlib.Path(__file__).resolve().parents[2] / "docs" / "src" / "directory-assistant.md"
    if not page.exists():
        pytest.skip("not in the repository")
    (block,) = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    out = subprocess.run(
        [sys.executable, "-c", block], cwd=tmp_path, check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert out.splitlines() == [
        "['B-1'] ['missing_contact']",
        "['B-1', 'Ann', 'ann@acme.example', 'member']",
    ]

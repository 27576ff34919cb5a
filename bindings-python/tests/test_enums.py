"""The Python enums (enlist/_enums.py) against the native module's one table
of wire names: on drift the test fails and prints the corrected classes to
paste into _enums.py."""

from __future__ import annotations

import enum
import inspect

import pytest

import enlist
from enlist import _enums
from enlist._enlist import _wire_names

from conftest import World


def _classes() -> dict[str, type[enum.Enum]]:
    return {
        name: cls
        for name, cls in vars(_enums).items()
        if inspect.isclass(cls)
        and issubclass(cls, _enums._StrEnum)
        and cls is not _enums._StrEnum
    }


def _docstring(doc: str) -> str:
    lines = doc.strip().splitlines()
    body = "\n    ".join(line.rstrip() for line in lines)
    return f'    """{body}"""'


def class_code(name: str, values: list[str], old: type[enum.Enum] | None) -> str:
    """The code of the `_enums.py` class `name` with the members `values`,
    keeping the docstring of the class it replaces."""
    doc = inspect.getdoc(old) if old is not None else None
    lines = [f"class {name}(_StrEnum):"]
    lines.append(_docstring(doc or f"TODO: say what a {name} is."))
    lines.append("")
    lines.extend(f'    {value.upper()} = "{value}"' for value in values)
    return "\n".join(lines)


def drift() -> tuple[list[str], str]:
    """The drifted classes (and the code that fixes them)."""
    table = _wire_names()
    classes = _classes()
    wrong: list[str] = []
    code: list[str] = []
    for name, values in sorted(table.items()):
        cls = classes.get(name)
        actual = None if cls is None else [(m.name, m.value) for m in cls]
        expected = [(v.upper(), v) for v in values]
        if actual != expected:
            wrong.append(name)
            code.append(class_code(name, values, cls))
    for name in sorted(set(classes) - set(table)):
        wrong.append(name)
        code.append(f"# delete class {name}: the native module has no such enum")
    return wrong, "\n\n\n".join(code)


def test_the_python_enums_match_the_native_table() -> None:
    wrong, code = drift()
    if wrong:
        pytest.fail(
            f"enlist/_enums.py has drifted from the native module in {', '.join(wrong)}."
            f" Replace these classes with:\n\n{code}\n",
            pytrace=False,
        )


def test_drift_is_reported_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    # A variant the Python copy lacks: the test above would fail, naming
    # the class and printing its corrected code.
    class MemberStatus(_enums._StrEnum):
        """Where a member stands."""

        ACTIVE = "active"
        REMOVED = "removed"

    monkeypatch.setattr(_enums, "MemberStatus", MemberStatus)
    wrong, code = drift()
    assert wrong == ["MemberStatus"]
    assert code == (
        "class MemberStatus(_StrEnum):\n"
        '    """Where a member stands."""\n'
        "\n"
        '    ACTIVE = "active"\n'
        '    INACTIVE = "inactive"\n'
        '    REMOVED = "removed"'
    )


def test_the_table_is_the_one_serde_and_the_stores_use() -> None:
    table = _wire_names()
    # Names the stores keep in their columns: a change here breaks every
    # database written before.
    assert table["InvitationStatus"] == [
        "staged", "pending", "accepted", "declined", "revoked", "expired"
    ]
    assert table["MemberStatus"] == ["active", "inactive", "removed"]
    assert table["BuiltinRole"] == ["owner", "admin", "user_admin", "member", "guest"]
    assert table["ActorKind"] == ["system", "member", "account", "anonymous"]
    assert "invitation_accepted" in table["EventKind"]
    assert table["EntryOutcome"] == ["valid", "duplicate", "invalid"]


def test_a_value_without_a_python_member_is_an_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before, a status the Python class lacked came back as a plain string.
    assert world.owner.status is enlist.MemberStatus.ACTIVE

    class MemberStatus(_enums._StrEnum):
        INACTIVE = "inactive"

    monkeypatch.setattr(_enums, "MemberStatus", MemberStatus)
    with pytest.raises(RuntimeError, match='MemberStatus has no member "active"'):
        world.owner.status

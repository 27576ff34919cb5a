"""The enums: built at import from the native module's one table of wire
names, so they cannot drift from it; their typed declarations (the stub
enlist/_enums.pyi, hand-written for type checkers) are checked against the
same table, and on drift the test prints the corrected stub classes."""

from __future__ import annotations

import ast
import enum
import pathlib
import pickle
from typing import Dict, List, Optional, Tuple

import pytest

import enlist
from enlist import _enums
from enlist._enlist import _wire_names

from conftest import World

STUB = pathlib.Path(_enums.__file__).with_name("_enums.pyi")


def stub_classes(source: str) -> Dict[str, Tuple[List[Tuple[str, str]], Optional[str]]]:
    """The stub's enum classes: their (NAME, value) members and docstring."""
    classes = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and any(
            isinstance(b, ast.Name) and b.id == "_StrEnum" for b in node.bases
        ):
            members = [
                (stmt.targets[0].id, stmt.value.value)
                for stmt in node.body
                if isinstance(stmt, ast.Assign)
                and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Constant)
            ]
            classes[node.name] = (members, ast.get_docstring(node))
    return classes


def class_code(name: str, values: List[str], doc: Optional[str]) -> str:
    """The stub code of the class `name` with the members `values`, keeping
    the docstring of the class it replaces."""
    body = "\n    ".join(line.rstrip() for line in (doc or f"TODO: say what a {name} is.").splitlines())
    lines = [f"class {name}(_StrEnum):", f'    """{body}"""', ""]
    lines.extend(f'    {value.upper()} = "{value}"' for value in values)
    return "\n".join(lines)


def drift(source: str) -> Tuple[List[str], str]:
    """The drifted stub classes (and the code that fixes them)."""
    table = _wire_names()
    classes = stub_classes(source)
    wrong: List[str] = []
    code: List[str] = []
    for name, values in sorted(table.items()):
        members, doc = classes.get(name, (None, None))
        if members != [(v.upper(), v) for v in values] or not doc:
            wrong.append(name)
            code.append(class_code(name, values, doc))
    for name in sorted(set(classes) - set(table)):
        wrong.append(name)
        code.append(f"# delete class {name}: the native module has no such enum")
    return wrong, "\n\n\n".join(code)


def test_the_stub_matches_the_native_table() -> None:
    wrong, code = drift(STUB.read_text(encoding="utf-8"))
    if wrong:
        pytest.fail(
            f"enlist/_enums.pyi has drifted from the native module in {', '.join(wrong)}."
            f" Replace these classes with:\n\n{code}\n",
            pytrace=False,
        )


def test_drift_is_reported_with_the_fix() -> None:
    # A variant the stub lacks: the test above would fail, naming the class
    # and printing its corrected code (docstring kept).
    source = STUB.read_text(encoding="utf-8").replace(
        '    INACTIVE = "inactive"\n', "", 1
    )
    wrong, code = drift(source)
    assert wrong == ["MemberStatus"]
    assert code == (
        "class MemberStatus(_StrEnum):\n"
        '    """Where a member stands."""\n'
        "\n"
        '    ACTIVE = "active"\n'
        '    INACTIVE = "inactive"\n'
        '    REMOVED = "removed"'
    )


def test_the_runtime_enums_are_the_native_table() -> None:
    for name, values in _wire_names().items():
        cls = getattr(enlist._enums, name)
        assert issubclass(cls, str) and issubclass(cls, enum.Enum)
        assert [(m.name, m.value) for m in cls] == [(v.upper(), v) for v in values]
        assert cls.__doc__ == stub_classes(STUB.read_text(encoding="utf-8"))[name][1]


def test_a_new_core_variant_needs_no_python_edit() -> None:
    classes = _enums._build({"MemberStatus": ["active", "on_leave"], "Mood": ["calm"]}, {})
    status = classes["MemberStatus"]
    assert status("on_leave") is status.ON_LEAVE == "on_leave"
    assert classes["Mood"].__doc__ == "The Mood wire names of enlist."


def test_members_behave_as_before() -> None:
    active = enlist.MemberStatus.ACTIVE
    assert active == "active" and str(active) == "active" and f"{active}" == "active"
    assert repr(active) == "<MemberStatus.ACTIVE: 'active'>"
    assert enlist.MemberStatus("active") is active
    assert pickle.loads(pickle.dumps(active)) is active
    assert pickle.loads(pickle.dumps(enlist.EventKind.INVITATION_ACCEPTED)) is (
        enlist.EventKind.INVITATION_ACCEPTED
    )
    assert enlist.MemberStatus.__module__ == "enlist._enums"
    assert {"member": 1}[enlist.BuiltinRole.MEMBER] == 1


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

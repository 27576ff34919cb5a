"""The enums of enlist, as ``str`` enums.

Every member *is* its stable snake_case name, so ``member.status ==
MemberStatus.ACTIVE`` and ``member.status == "active"`` are both true, and
methods accept either form.

The classes are built at import from the native module's one table of wire
names (``enlist._enlist._wire_names()``, core's ``enlist::wire``): member
``ACTIVE`` of ``MemberStatus`` is the wire name ``"active"`` upper-cased, so
a variant added to the core appears here with no Python edit. The typed
declarations and the docstrings live in the stub beside this file,
``_enums.pyi``; each class takes its docstring from there.
"""

from __future__ import annotations

import ast
import enum
import pathlib
from typing import Dict, List, Mapping

from ._enlist import _wire_names


class _StrEnum(str, enum.Enum):
    """A ``str`` enum whose ``str()`` is its value."""

    def __str__(self) -> str:
        return str(self.value)


def _stub_docstrings(module_file: str) -> Dict[str, str]:
    """Each class's docstring in the stub of the module at `module_file`
    (its ``.pyi`` twin), by class name; none when the stub is not
    installed."""
    try:
        stub = pathlib.Path(module_file).with_suffix(".pyi").read_text(encoding="utf-8")
    except OSError:
        return {}
    return {
        node.name: ast.get_docstring(node) or ""
        for node in ast.parse(stub).body
        if isinstance(node, ast.ClassDef)
    }


def _build(table: Mapping[str, List[str]], docs: Mapping[str, str]) -> Dict[str, type]:
    """One ``_StrEnum`` per entry of the wire-name table, picklable as
    ``enlist._enums.<name>``."""
    classes: Dict[str, type] = {}
    for name, values in table.items():
        cls = _StrEnum(
            name, [(v.upper(), v) for v in values], module=__name__, qualname=name
        )
        cls.__doc__ = docs.get(name) or f"The {name} wire names of enlist."
        classes[name] = cls
    return classes


_CLASSES = _build(_wire_names(), _stub_docstrings(__file__))
globals().update(_CLASSES)
__all__ = list(_CLASSES)

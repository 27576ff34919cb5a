"""The exceptions of enlist: one base class, ``EnlistError``, and one
subclass per error family, so a script catches the family it can act on.

Every exception carries the error's stable ``code`` (``"already_invited"``,
``"limit_exceeded"``, ...) and the facts of the error as attributes (which
limit and the numbers, which permission, which invitation, ...); ``facts``
holds them all as a dict. Attributes a given error does not have are
``None``.

The family classes are built at import from the engine's error catalogue
(``enlist._enlist._error_codes()``): one class per ``ErrorFamily``, named
after it (``invalid_input``: ``InvalidInputError``), whose attributes are
the facts the catalogue lists for the family's codes. Their typed
declarations and docstrings live in the stub beside this file,
``_errors.pyi`` (``tests/test_errors.py`` checks it against the catalogue
and prints the fix on drift).
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Optional

from ._enlist import _error_codes
from ._enums import ErrorFamily, _stub_docstrings


class EnlistError(Exception):
    """The base class of every error enlist raises."""

    family: ClassVar[Optional[ErrorFamily]] = None
    code: str = "error"
    message: str = ""
    facts: Dict[str, Any]

    def __init__(self, message: str = "", *, code: Optional[str] = None, **facts: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.facts = dict(facts)
        for name, value in facts.items():
            setattr(self, name, value)


# Facts a binding adds of its own (the email helpers' `address_problem`).
_BINDING_FACTS = {ErrorFamily.INVALID_INPUT: ("address_problem",)}


def _class_name(family: ErrorFamily) -> str:
    return "".join(word.capitalize() for word in family.value.split("_")) + "Error"


def _build() -> Dict[str, type]:
    """One ``EnlistError`` subclass per family, by the family's wire name:
    its default ``code`` is the family's own code (or its first), each fact
    an attribute defaulting to ``None`` (``False`` for a flag)."""
    docs = _stub_docstrings(__file__)
    catalogue = _error_codes()
    classes: Dict[str, type] = {}
    for family in ErrorFamily:
        codes = [(code, facts) for code, fam, facts in catalogue if fam == family.value]
        names = [code for code, _ in codes]
        name = _class_name(family)
        namespace: Dict[str, Any] = {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": docs.get(name) or f"An error of the family {family.value}.",
            "family": family,
            "code": family.value if family.value in names or not names else names[0],
        }
        for _code, facts in codes:
            for fact, kind, _optional in facts:
                namespace[fact] = False if kind == "bool" else None
        for fact in _BINDING_FACTS.get(family, ()):
            namespace[fact] = None
        classes[family.value] = type(name, (EnlistError,), namespace)
    return classes


# The class of each family, by its wire name (the native module raises
# through it).
_BY_FAMILY = _build()
globals().update({cls.__name__: cls for cls in _BY_FAMILY.values()})
__all__ = ["EnlistError", *(cls.__name__ for cls in _BY_FAMILY.values())]

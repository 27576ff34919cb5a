"""``enlist.__all__`` is built at import from the modules that define the
names; it must still be exactly what the typed stubs declare, so a type
checker and the runtime agree on the public API."""

from __future__ import annotations

import ast
import pathlib

import pytest

import enlist

PACKAGE = pathlib.Path(enlist.__file__).parent


def stub_names(stub: str) -> set[str]:
    """The public top-level classes, functions and variables of a stub."""
    names: set[str] = set()
    for node in ast.parse((PACKAGE / stub).read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_") or n == "__version__"}


def test_the_export_list_is_what_the_stubs_declare() -> None:
    declared = stub_names("_enlist.pyi") | stub_names("_enums.pyi") | stub_names("_errors.pyi")
    assert set(enlist.__all__) == declared | {"ActivatedLink", "DirectorySource", "Hooks"}
    assert len(enlist.__all__) == len(set(enlist.__all__))
    for name in enlist.__all__:
        assert getattr(enlist, name) is not None, name


def test_no_helper_leaks_into_the_package() -> None:
    # `enlist.aio` (the engine for asyncio) is the one public submodule: it
    # shows up in the package once imported.
    public = {n for n in vars(enlist) if not n.startswith("_")} - {"aio"}
    # The other submodules are private; everything else public is exported.
    assert public - set(enlist.__all__) == set()


def test_a_type_checker_sees_every_exported_name(tmp_path: pathlib.Path) -> None:
    # The star imports re-export for type checkers too (mypy --strict has
    # no implicit re-export): every name of `__all__` is importable.
    api = pytest.importorskip("mypy.api")
    program = tmp_path / "uses_all.py"
    program.write_text(f"from enlist import {', '.join(enlist.__all__)}\n", encoding="utf-8")
    out, err, status = api.run(["--strict", "--no-incremental", str(program)])
    assert status == 0, out + err

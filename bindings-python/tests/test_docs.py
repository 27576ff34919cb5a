"""The Python examples of the README and of the Python quickstart run as
written (in a temporary folder, where they create their SQLite file)."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def python_blocks(path: pathlib.Path) -> list:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def run(code: str, cwd: pathlib.Path) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, check=True, capture_output=True, text=True, timeout=60
    ).stdout


@pytest.mark.skipif(not (ROOT / "README.md").exists(), reason="not in the repository")
def test_the_readme_python_quickstart_runs(tmp_path: pathlib.Path) -> None:
    (block,) = python_blocks(ROOT / "README.md")
    out = run(block, tmp_path)
    assert out.splitlines() == [
        "#3 oops: invalid address: there is no @: an address looks like ada@example.com or Ada Lovelace <ada@example.com>",
        "Bob Smith active",
    ]
    assert (tmp_path / "enlist.sqlite3").exists()


@pytest.mark.skipif(not (ROOT / "docs").exists(), reason="not in the repository")
def test_the_python_quickstart_page_runs(tmp_path: pathlib.Path) -> None:
    first = python_blocks(ROOT / "docs" / "src" / "quickstart-python.md")[0]
    out = run(first, tmp_path)
    assert out.splitlines()[0] == "2 invitations to send"
    assert out.splitlines()[-1] == "Bob Smith joined Acme as member"
    # The emails went through FileMailer: one .eml per invitation, named.
    written = [line.split()[-1] for line in out.splitlines() if line.startswith("wrote ")]
    assert len(written) == 2
    assert sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "outbox").glob("*.eml")) == sorted(written)

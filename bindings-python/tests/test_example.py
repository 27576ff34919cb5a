"""The typed example (seed 003's paste-box onboarding) runs and says what
it did."""

from __future__ import annotations

import pathlib
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "typed_example.py"


def test_the_typed_example_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(EXAMPLE)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert "4 recognized out of 6 entries" in out
    # A comma separates entries, so the typo makes two invalid fragments.
    assert "not an address: 'dora@county'" in out and "not an address: 'example'" in out
    assert "3 invitations sent" in out
    assert "already a member" in out
    assert "incomplete: phone, eula_version, two_factor" in out
    assert "ben@county.example       expired" in out
    assert "ann@county.example       active" in out
    assert "resend refused (resend_too_soon)" in out


ASYNC_EXAMPLE = EXAMPLE.parent / "async_example.py"


def test_the_async_example_runs() -> None:
    out = subprocess.run(
        [sys.executable, str(ASYNC_EXAMPLE)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    assert "invited 2" in out
    assert "delivered 2" in out
    assert "Bob is invited to Acme as member" in out
    assert "bob@acme.example joined; 3 people in Acme" in out

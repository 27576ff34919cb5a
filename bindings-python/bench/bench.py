#!/usr/bin/env python3
"""Benchmark of the Python bindings, in one run:

1. The FFI floor: calls per second of trivial calls into the extension (an
   attribute of a result, a free function, an engine read on the in-memory
   store), next to a Python no-op function for scale.
2. The paste box: ``enlist.parse_recipients`` on a 100,000-line paste
   (``shared/bench/gen_paste.py``) against what a Python user would write
   otherwise: ``email.utils.getaddresses`` plus the ``email-validator``
   package (``shared/bench/paste_peer.py``), side by side, with the ratio.

    python3 bindings-python/bench/bench.py [--lines 100000] [--repeats 3]

It makes its own virtual environment (target/py-bench-venv), installs
maturin and email-validator 2.3.0 there when missing, builds a release
wheel of enlist, installs it, and runs the measurements inside it. Absolute
numbers drift on shared machines: read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time
import timeit
from typing import Any, Callable, Dict, List

ROOT = pathlib.Path(__file__).resolve().parents[2]
VENV = pathlib.Path(os.environ.get("ENLIST_BENCH_VENV", ROOT / "target" / "py-bench-venv"))
SHARED_BENCH = pathlib.Path(os.environ.get("ENLIST_SHARED_BENCH", ROOT.parent / "shared" / "bench"))
EMAIL_VALIDATOR = "email-validator==2.3.0"
MATURIN = "maturin==1.16.0"


def venv_python() -> pathlib.Path:
    return VENV / "bin" / "python"


def sh(*cmd: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), check=True, text=True, **kw)


def has_module(python: pathlib.Path, module: str) -> bool:
    return subprocess.run([str(python), "-c", f"import {module}"], capture_output=True).returncode == 0


def prepare() -> None:
    """The venv, its packages and a fresh release wheel of enlist."""
    py = venv_python()
    if not py.exists():
        print(f"creating {VENV}", file=sys.stderr)
        sh(sys.executable, "-m", "venv", str(VENV))
    for module, spec in (("email_validator", EMAIL_VALIDATOR), ("maturin", MATURIN)):
        if not has_module(py, module):
            print(f"installing {spec}", file=sys.stderr)
            sh(str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec)
    wheels = VENV / "wheels"
    for old in wheels.glob("*.whl"):
        old.unlink()
    print("building the release wheel (maturin build --release)", file=sys.stderr)
    sh(
        str(VENV / "bin" / "maturin"),
        "build",
        "--release",
        "--quiet",
        "--manifest-path",
        str(ROOT / "bindings-python" / "Cargo.toml"),
        "--interpreter",
        str(py),
        "--out",
        str(wheels),
    )
    (wheel,) = wheels.glob("enlist-*.whl")
    sh(str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--force-reinstall", "--no-deps", str(wheel))


# ---------------------------------------------------------------------------
# Measurements (run inside the venv)
# ---------------------------------------------------------------------------


def calls_per_second(fn: Callable[[], object], min_time: float = 0.5) -> float:
    """Best of 5 timings of a loop of calls, in calls per second."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    while number * 5 < 200_000 and number < 10_000_000:
        number *= 2
    best = min(timer.repeat(repeat=5, number=number))
    return number / best


def ffi_floor() -> List[Dict[str, Any]]:
    import enlist

    engine = enlist.Enlist.in_memory()
    org, _owner = engine.create_organization("Acme", owner_user_ref="a", owner_email="ada@acme.example")
    policy = org.policy

    def noop() -> None:
        return None

    cases: List[tuple[str, Callable[[], object]]] = [
        ("python no-op function (for scale)", noop),
        ("policy.max_batch (a getter)", lambda: policy.max_batch),
        ('enlist.normalize_identifier("EMP-1")', lambda: enlist.normalize_identifier("EMP-1")),
        ("engine.now()", engine.now),
        ("engine.organization(id) (memory store)", lambda: engine.organization(org.id)),
    ]
    return [{"call": name, "calls_per_s": calls_per_second(fn)} for name, fn in cases]


def enlist_paste(text: str, repeats: int) -> Dict[str, Any]:
    import enlist

    best_parse = best_full = float("inf")
    recognized = invalid = duplicates = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        parsed = enlist.parse_recipients(text)
        recognized = parsed.recognized
        total = len(parsed)
        t1 = time.perf_counter()
        # The same work plus every entry as a Python object with its address.
        invalid = duplicates = 0
        for entry in parsed:
            if entry.problem is not None:
                invalid += 1
            elif entry.first is not None:
                duplicates += 1
            else:
                _ = entry.mailbox
        t2 = time.perf_counter()
        best_parse = min(best_parse, t1 - t0)
        best_full = min(best_full, t2 - t0)
    return {
        "entries": total,
        "recognized": recognized,
        "rejected": invalid,
        "duplicates": duplicates,
        "parse_s": best_parse,
        "parse_and_objects_s": best_full,
    }


def inner(args: argparse.Namespace) -> None:
    gen = SHARED_BENCH / "gen_paste.py"
    peer = SHARED_BENCH / "paste_peer.py"
    if not gen.exists() or not peer.exists():
        sys.exit(f"shared/bench not found at {SHARED_BENCH} (set ENLIST_SHARED_BENCH)")
    with tempfile.TemporaryDirectory() as tmp:
        paste_file = pathlib.Path(tmp) / "paste.txt"
        paste_file.write_text(sh(sys.executable, str(gen), str(args.lines), capture_output=True).stdout, encoding="utf-8")
        text = paste_file.read_text(encoding="utf-8")

        import enlist

        print(f"enlist {enlist.__version__} (release wheel), {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores")
        print()
        print("== FFI floor: trivial calls ==")
        floor = ffi_floor()
        scale = floor[0]["calls_per_s"]
        for row in floor:
            print(f"  {row['call']:44} {row['calls_per_s'] / 1e6:7.2f} M calls/s  ({scale / row['calls_per_s']:.1f}x a no-op)")

        print()
        print(f"== Paste box: {args.lines:,} lines ({len(text.encode()) / 1e6:.1f} MB), best of {args.repeats} ==")
        ours = enlist_paste(text, args.repeats)
        peer_out = sh(sys.executable, str(peer), str(paste_file), str(args.repeats), capture_output=True).stdout
        theirs = json.loads(peer_out)
        n = ours["entries"]
        print(f"  enlist.parse_recipients                 {ours['parse_s']:8.3f} s  {n / ours['parse_s'] / 1e3:9.1f} k entries/s"
              f"  recognized {ours['recognized']:,}, invalid {ours['rejected']:,}, duplicates {ours['duplicates']:,}")
        print(f"  + every entry as a Python object        {ours['parse_and_objects_s']:8.3f} s  {n / ours['parse_and_objects_s'] / 1e3:9.1f} k entries/s")
        peer_n = theirs["recognized"] + theirs["rejected"]
        print(f"  getaddresses + email-validator 2.3.0    {theirs['best_s']:8.3f} s  {peer_n / theirs['best_s'] / 1e3:9.1f} k entries/s"
              f"  recognized {theirs['recognized']:,}, rejected {theirs['rejected']:,}")
        print()
        print(f"  ratio (peer time / enlist time): {theirs['best_s'] / ours['parse_s']:.1f}x faster"
              f"; with Python objects for every entry: {theirs['best_s'] / ours['parse_and_objects_s']:.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-build", action="store_true", help="reuse the wheel installed in the venv")
    args = parser.parse_args()
    if args.inner:
        inner(args)
        return
    if not args.no_build or not venv_python().exists():
        prepare()
    cmd = [str(venv_python()), __file__, "--inner", "--lines", str(args.lines), "--repeats", str(args.repeats)]
    sys.exit(subprocess.run(cmd).returncode)


if __name__ == "__main__":
    main()

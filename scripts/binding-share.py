#!/usr/bin/env python3
"""How much of enlist's shipped code is binding code.

Counts non-blank, non-test lines of the workspace's shipped sources (Rust,
Python and Kotlin; tests, benches, examples, fuzz targets, the conformance suite, typed stubs and
`#[cfg(test)]` modules are left out) per top-level directory, and the share
of the binding crates (bindings-*). The architecture issue's target is a
share under 15 %: the bindings should add the foreign surface, not copy the
core.

    scripts/binding-share.py [ROOT] [--max-share PERCENT]

With --max-share it exits 1 when the share is above PERCENT.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

SKIP_DIRS = {
    "target", "tests", "benches", "examples", "bench", "fuzz", "docs",
    "scripts", "uniffi-bindgen", "__pycache__", "node_modules",
    # core/src/testing: the store conformance suite, test code shipped
    # behind core's `testing` feature.
    "testing",
}
TEST_MOD = re.compile(r"\s*#\[cfg\(test\)\]\s*$")
MOD_OPEN = re.compile(r"\s*(pub(\([a-z]+\))?\s+)?mod\s+\w+\s*\{")


def rust_lines(lines: list[str]) -> int:
    """Non-blank lines, leaving out `#[cfg(test)] mod x { ... }` blocks."""
    count = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if TEST_MOD.match(line) and i + 1 < len(lines) and MOD_OPEN.match(lines[i + 1]):
            depth = 0
            i += 1
            while i < len(lines):
                depth += lines[i].count("{") - lines[i].count("}")
                i += 1
                if depth <= 0:
                    break
            continue
        if line.strip():
            count += 1
        i += 1
    return count


def count(root: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
        )
        for name in filenames:
            if not name.endswith((".rs", ".py", ".kt")) or name == "tests.rs":
                continue
            path = os.path.join(dirpath, name)
            top = os.path.relpath(path, root).split(os.sep)[0]
            if top == name:  # a file at the root
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
            n = rust_lines(lines) if name.endswith(".rs") else sum(1 for l in lines if l.strip())
            totals[top] = totals.get(top, 0) + n
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--max-share", type=float, default=None)
    args = parser.parse_args()
    totals = count(args.root)
    total = sum(totals.values())
    bindings = sum(v for k, v in totals.items() if k.startswith("bindings-"))
    for top, n in sorted(totals.items()):
        print(f"{top:20} {n:7}")
    share = 100.0 * bindings / total if total else 0.0
    print(f"{'bindings':20} {bindings:7} of {total} non-test lines: {share:.1f} %")
    if args.max_share is not None and share > args.max_share:
        print(f"binding share {share:.1f} % is above {args.max_share} %", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

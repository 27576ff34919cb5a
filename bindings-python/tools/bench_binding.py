"""The Python binding's figures of issue 15, measured in one process
against the same engine calls made in Rust (`enlist._enlist._bench_*`, a
wheel built with the `bench` feature): run by tools/bench.sh, which builds
and installs that wheel.

- python.call_overhead_us: what one trivial engine call costs from Python
  beyond the same call in Rust (`Enlist.organization(id)` on the in-memory
  store, which does little in Rust: the argument converted, the GIL
  released and taken back, the result object made), aim <= 1 us; the
  median of the differences of rounds run back to back;
- python.call_us: the Python call, shown against the Rust call;
- python.report_100_rows_us: `Enlist.invite` of 100 addresses, the report
  back in Python, shown against the same `invite` in Rust;
- python.report_first_row_lazy: reading the first issued row of that
  report, shown against reading all 100 (what a list built up front
  costs).

ENLIST_BENCH_QUICK=1: fewer calls and rounds.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import sys
import time
from typing import Callable, List

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_report import print_figure  # noqa: E402

import enlist  # noqa: E402
from enlist import _enlist as native  # noqa: E402

QUICK = os.environ.get("ENLIST_BENCH_QUICK") == "1"
# Short rounds, many of them: on a shared machine most rounds then run
# without being preempted, and the median is the cost of an undisturbed call.
CALLS = 200 if QUICK else 500
ROUNDS = 21 if QUICK else 301
REPORT_ROUNDS = 3 if QUICK else 11
ROWS = 100


def median(xs: List[float]) -> float:
    return statistics.median(xs)


def main() -> int:
    if not hasattr(native, "_bench_invitation"):
        print("the installed enlist was built without the `bench` feature (run tools/bench.sh)", file=sys.stderr)
        return 2
    ns = time.perf_counter_ns
    e = enlist.Enlist.in_memory()
    org, owner = e.create_organization("Acme", owner_user_ref="owner", owner_email="owner@acme.example")
    org_id, owner_id = org.id, owner.id
    first = e.invite(org_id, ["ann@acme.example"], actor=owner_id)
    inv = first.issued[0].invitation.id

    # 1. One trivial call: Python against Rust, rounds interleaved.
    def python_invitation(n: int) -> float:
        call = e.invitation
        t0 = ns()
        for _ in range(n):
            call(org_id, inv, actor=owner_id)
        return (ns() - t0) / n

    def python_organization(n: int) -> float:
        call = e.organization
        t0 = ns()
        for _ in range(n):
            call(org_id)
        return (ns() - t0) / n

    def empty_loop(n: int) -> float:
        t0 = ns()
        for _ in range(n):
            pass
        return (ns() - t0) / n

    cases: List[tuple[str, Callable[[int], float], Callable[[int], float]]] = [
        ("invitation", python_invitation, lambda n: native._bench_invitation(e, org_id, inv, owner_id, n)),
        ("organization", python_organization, lambda n: native._bench_organization(e, org_id, n)),
    ]
    medians = {}
    for name, py_call, rust_call in cases:
        py_call(CALLS // 10)
        rust_call(CALLS // 10)
        py_ns: List[float] = []
        rust_ns: List[float] = []
        for _ in range(ROUNDS):
            py_ns.append(py_call(CALLS))
            rust_ns.append(rust_call(CALLS))
        overhead = median([p - r for p, r in zip(py_ns, rust_ns)])
        medians[name] = (median(py_ns), median(rust_ns), overhead)
        print(f"{name}: python {medians[name][0]:.0f} ns, rust {medians[name][1]:.0f} ns, "
              f"overhead {overhead:.0f} ns per call (medians of {ROUNDS} rounds of {CALLS})")
    print(f"an empty Python loop turn: {median([empty_loop(CALLS) for _ in range(ROUNDS)]):.0f} ns")

    py_ns_call, rust_ns_call, overhead_ns = medians["organization"]
    print_figure(
        "python.call_overhead_us",
        "binding overhead of one trivial call, Enlist.organization(id) on MemoryStore: "
        "the Python call minus the same call in Rust (median of rounds run back to back)",
        overhead_ns / 1000,
        "µs",
        aim=("<=", 1.0),
    )
    print_figure(
        "python.call_us",
        "Enlist.organization(id) from Python (MemoryStore)",
        py_ns_call / 1000,
        "µs",
        against=("the same call in Rust (µs)", rust_ns_call / 1000),
    )

    # 2. A 100-row report: the call from Python against the same call in
    # Rust (fresh addresses each round, so every row is issued).
    def emails(tag: str) -> List[str]:
        return [f"{tag}-{i}@acme.example" for i in range(ROWS)]

    py_us: List[float] = []
    rust_us: List[float] = []
    first_us: List[float] = []
    all_us: List[float] = []
    report = None
    for r in range(REPORT_ROUNDS):
        batch = emails(f"py{r}")
        t0 = ns()
        report = e.invite(org_id, batch, actor=owner_id)
        t1 = ns()
        py_us.append((t1 - t0) / 1000)
        assert len(report.issued) == ROWS, report.rejected[:3]
        rust_ns, issued = native._bench_invite(e, org_id, emails(f"rs{r}"), owner_id, True)
        assert issued == ROWS
        rust_us.append(rust_ns / 1000)
        # The first row of a fresh report, then every row of another.
        fresh = e.invite(org_id, emails(f"first{r}"), actor=owner_id)
        t0 = ns()
        fresh.issued[0].invitation.id
        t1 = ns()
        first_us.append((t1 - t0) / 1000)
        fresh = e.invite(org_id, emails(f"all{r}"), actor=owner_id)
        t0 = ns()
        [i.invitation.id for i in fresh.issued]
        t1 = ns()
        all_us.append((t1 - t0) / 1000)
    print(f"invite of {ROWS}: python {median(py_us):.0f} µs, rust {median(rust_us):.0f} µs "
          f"(median of {REPORT_ROUNDS}); first row {median(first_us):.1f} µs, every row {median(all_us):.1f} µs")
    print_figure(
        "python.report_100_rows_us",
        f"Enlist.invite of {ROWS} addresses from Python, the report back as one object (MemoryStore)",
        median(py_us),
        "µs",
        against=("the same invite in Rust (µs)", median(rust_us)),
    )
    print_figure(
        "python.report_first_row_lazy",
        f"reading the first issued row of a fresh {ROWS}-row report (report.issued[0].invitation.id)",
        median(first_us),
        "µs",
        against=(f"reading all {ROWS} rows (µs)", median(all_us)),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

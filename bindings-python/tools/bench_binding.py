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
- python.report_first_row_lazy: reading the first issued row of a
  100-row report, shown against reading all 100 (what a list built up
  front cost on every read of `report.issued`), both on a report already
  in Python (right after a large call, the first touches of memory cost
  tens of µs of page faults, whatever is read).

The report figures are the thread's CPU time (time.thread_time_ns): a call
of milliseconds is preempted many times on a shared machine, and its wall
time measures the neighbours. The Rust side of python.report_100_rows_us
is the whole `_bench_invite` call seen from Python, so it includes turning
the 100 addresses into Rust strings, as `Enlist.invite` does; the ratio is
what returning the report into Python adds.

ENLIST_BENCH_QUICK=1: fewer calls and rounds.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import sys
import time
from typing import Any, Callable, List

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_report import print_figure  # noqa: E402

import enlist  # noqa: E402
from enlist import _enlist  # noqa: E402

# The `_bench_*` functions are in the bench's wheel only, not in the stub.
native: Any = _enlist

QUICK = os.environ.get("ENLIST_BENCH_QUICK") == "1"
# Short rounds, many of them: on a shared machine most rounds then run
# without being preempted, and the median is the cost of an undisturbed call.
CALLS = 200 if QUICK else 500
ROUNDS = 21 if QUICK else 301
REPORT_ROUNDS = 3 if QUICK else 31
ROWS = 100
READS = 10 if QUICK else 50


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
    # Rust (fresh addresses each round, so every row is issued), in CPU
    # time of this thread (the engine runs on it with the GIL released).
    cpu = time.thread_time_ns

    def emails(tag: str) -> List[str]:
        return [f"{tag}-{i}@acme.example" for i in range(ROWS)]

    py_us: List[float] = []
    rust_us: List[float] = []
    first_us: List[float] = []
    all_us: List[float] = []
    report = None
    for r in range(REPORT_ROUNDS):
        # Python first in even rounds, Rust first in odd ones: the
        # organization grows by each batch.
        for turn in (0, 1) if r % 2 == 0 else (1, 0):
            if turn == 0:
                batch = emails(f"py{r}")
                report = None
                t0 = cpu()
                report = e.invite(org_id, batch, actor=owner_id)
                t1 = cpu()
                py_us.append((t1 - t0) / 1000)
                assert len(report.issued) == ROWS, report.rejected[:3]
            else:
                batch = emails(f"rs{r}")
                t0 = cpu()
                _, issued = native._bench_invite(e, org_id, batch, owner_id, True)
                t1 = cpu()
                assert issued == ROWS
                rust_us.append((t1 - t0) / 1000)
    # The first row of a report, then every row.
    assert report is not None
    for r in range(REPORT_ROUNDS):
        t0 = cpu()
        for _ in range(READS):
            report.issued[0].invitation.id
        t1 = cpu()
        first_us.append((t1 - t0) / 1000 / READS)
        t0 = cpu()
        for _ in range(READS):
            [i.invitation.id for i in report.issued]
        t1 = cpu()
        all_us.append((t1 - t0) / 1000 / READS)
    print(f"invite of {ROWS} (CPU time): python {median(py_us):.0f} µs, rust {median(rust_us):.0f} µs "
          f"(median of {REPORT_ROUNDS}); first row {median(first_us):.1f} µs, every row {median(all_us):.1f} µs")
    print_figure(
        "python.report_100_rows_us",
        f"Enlist.invite of {ROWS} addresses from Python, the report back as one object (MemoryStore; CPU time)",
        median(py_us),
        "µs",
        against=("the same invite in Rust, its addresses converted (µs)", median(rust_us)),
    )
    print_figure(
        "python.report_first_row_lazy",
        f"reading the first issued row of a {ROWS}-row report (report.issued[0].invitation.id; CPU time)",
        median(first_us),
        "µs",
        against=(f"reading all {ROWS} rows' ids (µs)", median(all_us)),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

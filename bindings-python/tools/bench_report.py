"""One figure of a bench run as the line `BENCH-RESULT {json}` that
scripts/bench.sh collects: the same keys, in the same order and with the
same number formatting as benches/report.rs prints them (name, what,
value, unit, ceiling_name, ceiling, ratio, aim_op, aim, met)."""

from __future__ import annotations

import json
import math
from typing import Optional, Tuple


def _num(x: Optional[float]) -> str:
    if x is None or not math.isfinite(x):
        return "null"
    return f"{x:.6f}"


def _str(x: Optional[str]) -> str:
    return "null" if x is None else json.dumps(x, ensure_ascii=False)


def figure(
    name: str,
    what: str,
    value: float,
    unit: str,
    against: Optional[Tuple[str, float]] = None,
    aim: Optional[Tuple[str, float]] = None,
) -> str:
    """The JSON of one figure. `against` is (ceiling_name, ceiling),
    measured in the same run; `aim` is (">=" or "<=", x), judged on the
    ratio when there is a ceiling, else on the value."""
    ratio = None
    if against is not None:
        ratio = value / against[1] if against[1] != 0 else math.nan
    judged = ratio if ratio is not None else value
    met = True
    if aim is not None:
        op, x = aim
        if op not in (">=", "<="):
            raise ValueError(f"aim must be >= or <=, not {op!r}")
        met = judged >= x if op == ">=" else judged <= x
    return (
        f'{{"name": {_str(name)}, "what": {_str(what)}, "value": {_num(value)}, '
        f'"unit": {_str(unit)}, "ceiling_name": {_str(against[0] if against else None)}, '
        f'"ceiling": {_num(against[1] if against else None)}, "ratio": {_num(ratio)}, '
        f'"aim_op": {_str(aim[0] if aim else None)}, "aim": {_num(aim[1] if aim else None)}, '
        f'"met": {"true" if met else "false"}}}'
    )


def print_figure(*args: object, **kwargs: object) -> str:
    """Prints one figure as its BENCH-RESULT line and returns the JSON."""
    line = figure(*args, **kwargs)  # type: ignore[arg-type]
    print(f"BENCH-RESULT {line}", flush=True)
    return line

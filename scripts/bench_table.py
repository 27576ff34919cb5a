"""Writes the figures of one bench run (BENCH-RESULT lines, see
benches/report.rs) into the table between the markers of the book's
performance page, and exits 1 when any figure of this run misses its aim.

A run of some parts (`scripts/bench.sh sqlite`) replaces the rows of the
figures it printed and keeps the other rows as they were, each with the
commit and date it was measured at: every row's value and its ceiling
always come from one run."""
import datetime
import json
import os
import platform
import subprocess
import sys

BEGIN = "<!-- bench-table:begin -->"
END = "<!-- bench-table:end -->"


def fmt(x):
    if x is None:
        return ""
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def main(results, page):
    rows = [json.loads(l) for l in open(results, encoding="utf-8") if l.strip()]
    if not rows:
        print("no BENCH-RESULT lines were printed", file=sys.stderr)
        return 1
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except Exception:
        rev = "?"
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    # The machine's load over the run (its 15-minute average): figures
    # taken under load are noisier, and their ratios lower, than on an
    # idle machine.
    load = os.getloadavg()[2] if hasattr(os, "getloadavg") else float("nan")
    measured = f"`{rev}` {datetime.date.today()}, load {load:.1f}"
    header = ["| figure | what | value | against (same run) | ratio | aim | met | measured |",
              "|---|---|---|---|---|---|---|---|"]
    lines = [BEGIN, "",
             f"Each row is one figure and its ceiling from one run of `scripts/bench.sh` on "
             f"{cores} cores ({platform.machine()}), at the commit and on the date shown, with the "
             "machine's 15-minute load average then; "
             "a run of some parts replaces their rows and keeps the others.", ""] + header
    text = open(page, encoding="utf-8").read()
    kept = {}
    order = []
    if BEGIN in text and END in text:
        for line in text.split(BEGIN, 1)[1].split(END, 1)[0].splitlines():
            cells = line.split(" | ")
            if line.startswith("| `") and len(cells) == 8:
                name = cells[0][len("| `"):].rstrip("`")
                kept[name] = line
                order.append(name)
    new = {}
    missed = []
    for r in rows:
        against = ""
        if r["ceiling_name"] is not None:
            against = f'{r["ceiling_name"]}: {fmt(r["ceiling"])}'
        aim = "" if r["aim_op"] is None else f'{r["aim_op"]} {fmt(r["aim"])}'
        met = "" if r["aim_op"] is None else ("yes" if r["met"] else "**no**")
        if r["aim_op"] is not None and not r["met"]:
            missed.append(r["name"])
        new[r["name"]] = (f'| `{r["name"]}` | {r["what"]} | {fmt(r["value"])} {r["unit"]} | {against} | '
                          f'{fmt(r["ratio"])} | {aim} | {met} | {measured} |')
    for name in order:
        lines.append(new.pop(name, kept[name]))
    lines += list(new.values())
    lines += ["", END]
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + "\n".join(lines) + tail
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    open(page, "w", encoding="utf-8").write(text)
    print("\n".join(lines[1:-1]))
    if missed:
        print(f"\nmissed their aim: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

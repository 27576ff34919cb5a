#!/usr/bin/env bash
# The Python binding's figures (issue 15: a trivial engine call costs at
# most 1 µs more from Python than from Rust; a 100-row report crosses as
# one object whose rows are made when read), in one process:
#
#     bindings-python/tools/bench.sh          # scripts/bench.sh python runs it
#     ENLIST_BENCH_QUICK=1 bindings-python/tools/bench.sh
#
# Builds a release wheel with the `bench` feature (the same engine calls
# timed in Rust: `enlist._enlist._bench_*`), installs it into a virtual
# environment of its own (target/py-bench-venv, ENLIST_PY_BENCH_VENV names
# another; maturin is installed there when missing, as
# scripts/test-python.sh does), and runs tools/bench_binding.py, which
# prints the BENCH-RESULT lines. Extra arguments go to `maturin build`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
VENV="${ENLIST_PY_BENCH_VENV:-$ROOT/target/py-bench-venv}"
PYTHON="${PYTHON:-python3}"
MATURIN_VERSION=1.16.0
WHEELS="$VENV/bench-wheels"

if [ ! -x "$VENV/bin/python" ]; then
    echo "-- Creating the virtual environment $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import maturin" >/dev/null 2>&1; then
    echo "-- Installing maturin==$MATURIN_VERSION into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"
fi
PY="$VENV/bin/python"

echo "-- Building the release wheel with the bench feature" >&2
rm -rf "$WHEELS"
"$VENV/bin/maturin" build --release --quiet --features bench "$@" \
    --manifest-path bindings-python/Cargo.toml --interpreter "$PY" --out "$WHEELS" >&2
"$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$WHEELS"/enlist-*.whl

"$PY" bindings-python/tools/bench_binding.py

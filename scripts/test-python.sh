#!/usr/bin/env bash
# The Python bindings (bindings-python/): build the `enlist` wheel with maturin,
# install it into a virtual environment this script owns, and run
#
#   1. pytest on bindings-python/tests/,
#   2. mypy --strict on the typed examples (bindings-python/examples/),
#   3. mypy.stubtest, which checks the stub (_enlist.pyi) against the module.
#
#     scripts/test-python.sh
#
# The venv lives in target/py-venv (override with ENLIST_PY_VENV); maturin,
# pytest and mypy are installed into it when missing. The wheel is a debug
# build unless ENLIST_PY_RELEASE=1. When ENLIST_TEST_POSTGRES_URL is set, the
# Postgres tests run against that server; otherwise they are skipped.
# When a CPython 3.9 is found (on the PATH or installed by pyenv), the same
# abi3 wheel is also installed there and the test suite runs again on it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VENV="${ENLIST_PY_VENV:-$ROOT/target/py-venv}"
PYTHON="${PYTHON:-python3}"
WHEELS="$VENV/wheels"
MATURIN_VERSION=1.16.0
PYTEST_VERSION=9.2.0
MYPY_VERSION=2.4.1
# The SMTP server the mailer tests (tests/test_mailers.py) send to.
AIOSMTPD_VERSION=1.4.6

step() { echo; echo "-- $*"; }

make_venv() { # venv python
    local venv=$1 python=$2
    if [ ! -x "$venv/bin/python" ]; then
        step "Creating the virtual environment $venv ($("$python" --version 2>&1))"
        "$python" -m venv "$venv"
    fi
}

need() { # venv module package==version
    local venv=$1 module=$2 spec=$3
    if ! "$venv/bin/python" -c "import $module" >/dev/null 2>&1; then
        step "Installing $spec into $venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
    fi
}

make_venv "$VENV" "$PYTHON"
need "$VENV" maturin "maturin==$MATURIN_VERSION"
need "$VENV" pytest "pytest==$PYTEST_VERSION"
need "$VENV" mypy "mypy==$MYPY_VERSION"
need "$VENV" aiosmtpd "aiosmtpd==$AIOSMTPD_VERSION"
PY="$VENV/bin/python"

profile=(--profile dev)
if [ "${ENLIST_PY_RELEASE:-0}" = 1 ]; then
    profile=(--release)
fi
step "Building the wheel: maturin build ${profile[*]}"
rm -rf "$WHEELS"
"$VENV/bin/maturin" build "${profile[@]}" --quiet \
    --manifest-path bindings-python/Cargo.toml --interpreter "$PY" --out "$WHEELS"
wheel=$(ls "$WHEELS"/enlist-*.whl)
echo "built $(basename "$wheel")"
case "$wheel" in
    *abi3*) ;;
    *) echo "error: expected an abi3 wheel, got $wheel" >&2; exit 1 ;;
esac

step "Installing the wheel"
"$PY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"

step "pytest bindings-python/tests"
(cd bindings-python && "$PY" -m pytest -p no:cacheprovider -q tests)

step "mypy --strict on the typed examples"
"$PY" -m mypy --strict --cache-dir "$VENV/mypy-cache" bindings-python/examples/typed_example.py \
    bindings-python/examples/async_example.py

step "mypy.stubtest enlist (the stub against the module)"
(cd "$VENV" && "$PY" -m mypy.stubtest enlist \
    --allowlist "$ROOT/bindings-python/stubtest-allowlist.txt")

# The oldest CPython the abi3 wheel promises: python3.9 on the PATH, or one
# installed by pyenv (ENLIST_PY39 names another).
py39="${ENLIST_PY39:-}"
if [ -z "$py39" ]; then
    if python3.9 -c "import venv" >/dev/null 2>&1; then
        py39=python3.9
    else
        for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.9*/bin/python3.9; do
            if [ -x "$candidate" ]; then py39=$candidate; fi
        done
    fi
fi
if [ -n "$py39" ]; then
    VENV39="$VENV-3.9"
    make_venv "$VENV39" "$py39"
    need "$VENV39" pytest "pytest>=8.3,<10"
    need "$VENV39" aiosmtpd "aiosmtpd==$AIOSMTPD_VERSION"
    step "The same abi3 wheel on $("$VENV39/bin/python" --version 2>&1): pytest"
    "$VENV39/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"
    (cd bindings-python && "$VENV39/bin/python" -m pytest -p no:cacheprovider -q tests)
else
    step "No CPython 3.9 found: the wheel is tested on $("$PY" --version 2>&1) only"
fi

echo
echo "Python bindings: all checks passed"

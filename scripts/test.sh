#!/usr/bin/env bash
# Every check of the project, in the order CI runs them. Run it from anywhere:
#
#     scripts/test.sh
#
# It stops at the first failure. Later steps (Python, Kotlin/Swift bindings)
# have marked places below.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# One full run gains nothing from the incremental caches (about 6 GB under
# target/debug/incremental); set CARGO_INCREMENTAL=1 to keep them.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# Free disk where the build writes, printed at every step: a full run needs
# several GB (see [profile.dev] in Cargo.toml), and a machine that runs out
# fails in odd places (JNA unpacking the Kotlin tests' library, say).
disk_free() {
    mkdir -p target
    df -Ph target | awk 'NR == 2 { print $4 " free on " $6 }'
}

step_started=0
section() {
    local now
    now=$(date +%s)
    if [ "$step_started" -ne 0 ]; then
        echo "    (done in $((now - step_started)) s; $(disk_free))"
    fi
    step_started=$now
    echo
    echo "=================================================================="
    echo "== $*"
    echo "=================================================================="
}

echo "Disk: $(disk_free), $(du -sh target 2>/dev/null | cut -f1) in target/"

section "Formatting: cargo fmt --all -- --check"
cargo fmt --all -- --check

section "Lints: cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

section "PostgreSQL for the store tests: scripts/postgres.sh start (stopped on exit)"
# A throwaway server (installed from Debian's packages when missing) for the
# Postgres tests of every later step; each test uses a schema of its own.
ENLIST_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"
export ENLIST_TEST_POSTGRES_URL
trap 'scripts/postgres.sh stop' EXIT
echo "ENLIST_TEST_POSTGRES_URL=$ENLIST_TEST_POSTGRES_URL"
# A second one that speaks TLS only, with a throwaway CA, for the TLS tests.
ENLIST_TEST_POSTGRES_TLS_URL="$(scripts/postgres.sh start-tls)"
ENLIST_TEST_POSTGRES_TLS_CA="$(scripts/postgres.sh tls-ca)"
export ENLIST_TEST_POSTGRES_TLS_URL ENLIST_TEST_POSTGRES_TLS_CA
trap 'scripts/postgres.sh stop; scripts/postgres.sh stop-tls' EXIT
echo "ENLIST_TEST_POSTGRES_TLS_URL=$ENLIST_TEST_POSTGRES_TLS_URL (CA $ENLIST_TEST_POSTGRES_TLS_CA)"

section "Tests (unit, integration and doc tests): cargo test --workspace"
cargo test --workspace

section "The tracing feature: clippy and tests of enlist --features tracing"
cargo clippy -p enlist --all-targets --features tracing -- -D warnings
cargo test -p enlist --features tracing --lib --tests

section "The tokio feature and the axum example: AsyncEnlist, and the example app over real HTTP"
# AsyncEnlist's tests need the feature; the example's test starts the built
# binary on 127.0.0.1 (a free port) and drives it with an HTTP client.
cargo clippy -p enlist --all-targets --features tokio -- -D warnings
cargo test -p enlist --features tokio --test async_engine
cargo test -p enlist-example-axum

section "Model test, long run: at least 100,000 random commands (PROPTEST_CASES=5500)"
# The same property test as above with many more sequences: random commands
# from random actors (owners, admins, user admins, members, guests, custom
# roles, strangers) against the model; it fails if fewer than
# MODEL_MIN_STEPS commands ran.
PROPTEST_CASES=5500 MODEL_MIN_STEPS=100000 \
    cargo test -p enlist-tests --test model engine_keeps_its_invariants -- --nocapture

section "Fuzz targets build: cargo +nightly fuzz build (in fuzz/)"
if [ ! -d fuzz ]; then
    echo "No fuzz/ directory yet: nothing to build."
elif ! cargo +nightly --version >/dev/null 2>&1; then
    echo "SKIPPED: the nightly toolchain is not installed (rustup toolchain install nightly);"
    echo "         cargo-fuzz needs it to build the fuzz targets."
else
    if ! cargo fuzz --version >/dev/null 2>&1; then
        echo "cargo-fuzz is missing: installing it (cargo install cargo-fuzz --locked)."
        cargo install cargo-fuzz --locked
    fi
    (cd fuzz && cargo +nightly fuzz build)
fi

section "Quickstart: cargo run -p enlist-sqlite --example quickstart (twice, on one file)"
quickstart_db="$(mktemp -d)/enlist-quickstart.sqlite3"
cargo run -p enlist-sqlite --example quickstart -- "$quickstart_db"
# The second run must find what the first left.
cargo run -p enlist-sqlite --example quickstart -- "$quickstart_db" | tee /dev/stderr | grep "found the organization"

# ---------------------------------------------------------------------------
# PYTHON BINDINGS (bindings-python/)
#   Build the wheel with maturin in a venv, install it, run the pytest suite
#   (Postgres tests when ENLIST_TEST_POSTGRES_URL is set), mypy --strict on
#   the typed example and mypy.stubtest.
# ---------------------------------------------------------------------------
section "Python bindings: scripts/test-python.sh"
scripts/test-python.sh

# ---------------------------------------------------------------------------
# KOTLIN / SWIFT BINDINGS (bindings-uniffi/)
#   Build the enlist-ffi cdylib, generate the Kotlin (and Swift) sources with
#   uniffi-bindgen, compile and run the Kotlin tests on the JVM.
# ---------------------------------------------------------------------------
section "Kotlin / Swift bindings: scripts/test-uniffi.sh"
scripts/test-uniffi.sh

section "All checks passed"
echo "Disk: $(disk_free), $(du -sh target 2>/dev/null | cut -f1) in target/"

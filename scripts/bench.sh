#!/usr/bin/env bash
# Every benchmark of the project that holds a figure against a ceiling, in
# one run on this machine, then the table of docs/src/performance.md.
#
#     scripts/bench.sh            # all of them (tens of minutes)
#     scripts/bench.sh sqlite     # only the named parts: parse memory sqlite
#                                 # postgres python scale
#     ENLIST_BENCH_QUICK=1 scripts/bench.sh   # smaller sizes, to try it out
#
# Each bench prints its figures as `BENCH-RESULT {json}` lines (see
# benches/report.rs): the figure, the ceiling it is held against measured
# in the same process, their ratio and the aim. The lines of this run are
# kept in target/bench-results.jsonl; the table between the markers of
# docs/src/performance.md is rewritten from them. The script exits non-zero
# when any figure misses its aim (the table says which). Absolute figures
# drift from run to run on shared machines: the ratios are what is judged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(parse memory sqlite postgres python scale)
out=target/bench-results.jsonl
mkdir -p target
: > "$out"
log=target/bench.log
: > "$log"

run() {
    # Runs a command, keeps its BENCH-RESULT lines, shows the rest.
    echo "== $*" | tee -a "$log"
    "$@" 2>&1 | tee -a "$log" | grep --line-buffered '^BENCH-RESULT ' | sed 's/^BENCH-RESULT //' >> "$out"
}

pg_started=0
stop_pg() { [ "$pg_started" -eq 1 ] && scripts/postgres.sh stop >/dev/null 2>&1 || true; }
trap stop_pg EXIT

for part in "${parts[@]}"; do
    case "$part" in
        parse) run cargo bench -q -p enlist --bench parse -- --report ;;
        memory) run cargo bench -q -p enlist --bench memory -- --report ;;
        sqlite)
            run cargo bench -q -p enlist-sqlite --bench ceiling
            run cargo bench -q -p enlist-sqlite --bench layout ;;
        postgres)
            if [ -z "${ENLIST_TEST_POSTGRES_URL:-}" ]; then
                ENLIST_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"
                export ENLIST_TEST_POSTGRES_URL
                pg_started=1
            fi
            run cargo bench -q -p enlist-postgres --bench throughput -- --report ;;
        python) run bindings-python/tools/bench.sh ;;
        scale)
            run cargo bench -q -p enlist-sqlite --bench scale -- --report
            # Postgres too when a server is given (the postgres part starts
            # one). The client and our server on one CPU: a round trip
            # across two CPUs of a virtual machine waits for the host to
            # wake the other one, which slowed one side of the sweep by 100
            # to 300 µs for stretches of operations (see the scale section
            # of docs/src/performance.md). A server not ours runs as it is.
            if [ -n "${ENLIST_TEST_POSTGRES_URL:-}" ]; then
                cargo bench -q -p enlist-postgres --bench scale --no-run
                if command -v taskset >/dev/null && scripts/postgres.sh pin 0; then
                    run taskset -c 0 cargo bench -q -p enlist-postgres --bench scale -- --report
                    scripts/postgres.sh pin all
                else
                    run cargo bench -q -p enlist-postgres --bench scale -- --report
                fi
            fi ;;
        *) echo "unknown part: $part" >&2; exit 2 ;;
    esac
done

python3 scripts/bench_table.py "$out" docs/src/performance.md

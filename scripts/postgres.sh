#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and benchmarks of enlist-postgres.
#
#     scripts/postgres.sh start   # prints the connection URL on stdout
#     scripts/postgres.sh stop    # stops the server and removes its folder
#     scripts/postgres.sh start-tls   # a second server that speaks TLS only
#     scripts/postgres.sh tls-ca      # the path of that server's test CA
#     scripts/postgres.sh stop-tls
#     scripts/postgres.sh pin 0       # the server's processes on CPU 0 only
#     scripts/postgres.sh pin all     # ... on every CPU again
#
# `start-tls` starts another throwaway cluster (port 54330, or
# $PGPORT_ENLIST_TLS) with ssl=on and `hostssl` lines only (a client that
# does not speak TLS is refused), and a certificate made at start with the
# openssl CLI: a throwaway CA (`tls-ca` prints its PEM file) signs a server
# certificate for `localhost` and 127.0.0.1. A second, unrelated CA is
# written beside it (`other-ca.crt`), for tests that must see a wrong CA
# refused. The keys never leave the temporary folder.
#
# `start` installs PostgreSQL from Debian's packages when initdb/pg_ctl are
# missing (apt-get, as root), creates a cluster in a temporary folder, starts
# it on 127.0.0.1 (port 54329, or $PGPORT_ENLIST), creates the database
# `enlist`, and prints `postgres://enlist@127.0.0.1:PORT/enlist`. Only
# 127.0.0.1 is allowed in, with trust authentication: the server is for this
# machine's tests only. Durability is off (fsync, synchronous_commit): it is
# thrown away anyway. Running `start` again while it runs prints the URL again.
#
# `pin CPUS` sets the CPU affinity (taskset's list, or `all`) of the running
# server's postmaster and of every process it started; the backends it
# forks later inherit it. The scale bench runs with its client and the
# server on one CPU (scripts/bench.sh): on a virtual machine, a round trip
# between processes on two CPUs waits for the host to wake the other CPU,
# which added 100 to 300 microseconds to one side of a comparison for
# stretches of operations.
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the user
# `enlist` (created with useradd when missing), and the commands run as it.
# Everything but the URL goes to stderr, so that
#
#     export ENLIST_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"
#
# works.
set -euo pipefail

port="${PGPORT_ENLIST:-54329}"
tls=0
case "${1:-}" in
    start-tls|stop-tls|tls-ca) port="${PGPORT_ENLIST_TLS:-54330}"; tls=1 ;;
esac
state_file="${TMPDIR:-/tmp}/enlist-postgres-${port}.dir"
db_user=enlist
url="postgres://${db_user}@127.0.0.1:${port}/enlist"

log() { echo "postgres.sh: $*" >&2; }

# The folder of initdb and pg_ctl: on PATH, or the newest Debian version.
find_bindir() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        # Through symlinks (/usr/local/bin/pg_ctl -> .../postgresql/15/bin),
        # to find createdb beside it.
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
        echo "$dir"
        return 0
    fi
    return 1
}

install_postgres() {
    if [ "$(id -u)" -ne 0 ]; then
        log "initdb/pg_ctl not found, and only root can install them:"
        log "    sudo apt-get install -y postgresql"
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        log "initdb/pg_ctl not found and there is no apt-get: install PostgreSQL 13 or newer"
        exit 1
    fi
    log "PostgreSQL is missing: installing it from Debian's packages (apt-get install postgresql)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
}

# Runs a command as the cluster's owner.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u "$db_user" -- "$@"
        else
            su -s /bin/sh "$db_user" -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

running() {
    [ -f "$state_file" ] || return 1
    local dir bindir
    dir=$(cat "$state_file")
    bindir=$(find_bindir) || return 1
    [ -d "$dir/data" ] && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

start() {
    if running; then
        log "already running ($(cat "$state_file"))"
        echo "$url"
        return 0
    fi
    local bindir
    if ! bindir=$(find_bindir); then
        install_postgres
        bindir=$(find_bindir) || { log "PostgreSQL was installed but initdb is not found"; exit 1; }
    fi
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/enlist-postgres.XXXXXX")
    if [ "$(id -u)" -eq 0 ]; then
        if ! id "$db_user" >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin "$db_user"
        fi
        chown "$db_user" "$dir"
    else
        db_user=$(id -un)
        url="postgres://${db_user}@127.0.0.1:${port}/enlist"
    fi
    chmod 700 "$dir"
    echo "$dir" >"$state_file"
    log "initdb in $dir ($("$bindir/postgres" --version 2>/dev/null || echo postgres))"
    as_owner "$bindir/initdb" -D "$dir/data" -U "$db_user" --auth=trust \
        --encoding=UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    # Only 127.0.0.1, trust: a throwaway server for this machine's tests.
    if [ "$tls" = 1 ]; then
        make_certificates "$dir"
        cat >"$dir/data/pg_hba.conf" <<'EOF'
# TYPE   DATABASE  USER  ADDRESS       METHOD
hostssl  all       all   127.0.0.1/32  trust
EOF
        cat >>"$dir/data/postgresql.conf" <<'EOF'
ssl = on
ssl_cert_file = 'server.crt'
ssl_key_file = 'server.key'
EOF
    else
        cat >"$dir/data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  trust
EOF
    fi
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 4GB
checkpoint_timeout = 30min
EOF
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >&2; then
        cat "$dir/server.log" >&2 || true
        exit 1
    fi
    local createdb="$bindir/createdb"
    [ -x "$createdb" ] || createdb=$(command -v createdb)
    if [ "$tls" = 1 ]; then
        as_owner env PGSSLMODE=require "$createdb" -h 127.0.0.1 -p "$port" -U "$db_user" enlist >&2
    else
        as_owner "$createdb" -h 127.0.0.1 -p "$port" -U "$db_user" enlist >&2
    fi
    log "PostgreSQL is up on 127.0.0.1:$port (folder $dir; stop it with scripts/postgres.sh stop)"
    echo "$url"
}

# A throwaway CA, a server certificate it signs (localhost, 127.0.0.1) in
# the data folder, and an unrelated CA: all made here, for tests only.
make_certificates() {
    local dir=$1 tmp
    command -v openssl >/dev/null 2>&1 || {
        log "the openssl command is needed for start-tls (apt-get install openssl)"
        exit 1
    }
    tmp=$(mktemp -d "$dir/certs.XXXXXX")
    for ca in ca other-ca; do
        openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 2 \
            -subj "/CN=enlist test $ca" -keyout "$tmp/$ca.key" -out "$dir/$ca.crt" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
    done
    openssl req -new -nodes -newkey rsa:2048 -sha256 -subj "/CN=localhost" \
        -keyout "$tmp/server.key" -out "$tmp/server.csr" >/dev/null 2>&1
    cat >"$tmp/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
EOF
    openssl x509 -req -in "$tmp/server.csr" -CA "$dir/ca.crt" -CAkey "$tmp/ca.key" \
        -CAcreateserial -days 2 -sha256 -extfile "$tmp/server.ext" \
        -out "$dir/data/server.crt" >/dev/null 2>&1
    cp "$tmp/server.key" "$dir/data/server.key"
    rm -rf "$tmp"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$db_user" "$dir/data/server.crt" "$dir/data/server.key"
    fi
    chmod 600 "$dir/data/server.key"
    chmod 644 "$dir/ca.crt" "$dir/other-ca.crt"
}

tls_ca() {
    [ -f "$state_file" ] || { log "the TLS server is not running (scripts/postgres.sh start-tls)"; exit 1; }
    echo "$(cat "$state_file")/ca.crt"
}

stop() {
    if [ ! -f "$state_file" ]; then
        log "not running (no $state_file)"
        return 0
    fi
    local dir bindir
    dir=$(cat "$state_file")
    if bindir=$(find_bindir) && [ -d "$dir/data" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    fi
    case "$dir" in
        "${TMPDIR:-/tmp}"/enlist-postgres.*) rm -rf "$dir" ;;
        *) log "not removing unexpected folder $dir" ;;
    esac
    rm -f "$state_file"
    log "stopped"
}

pin() {
    local cpus="${1:-}" dir pid
    [ -n "$cpus" ] || { log "usage: $0 pin CPUS|all"; exit 2; }
    command -v taskset >/dev/null || { log "taskset is missing"; exit 1; }
    [ -f "$state_file" ] || { log "not running (no $state_file)"; exit 1; }
    dir=$(cat "$state_file")
    pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null) || { log "no postmaster.pid in $dir/data"; exit 1; }
    [ "$cpus" = all ] && cpus="0-$(($(nproc --all) - 1))"
    for p in "$pid" $(pgrep -P "$pid" || true); do
        taskset -a -p -c "$cpus" "$p" >/dev/null
    done
    log "server processes on CPUs $cpus"
}

case "${1:-}" in
    start|start-tls) start ;;
    stop|stop-tls) stop ;;
    tls-ca) tls_ca ;;
    pin) pin "${2:-}" ;;
    *)
        echo "usage: $0 start|stop|start-tls|stop-tls|tls-ca|pin CPUS" >&2
        exit 2
        ;;
esac

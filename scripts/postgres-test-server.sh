#!/usr/bin/env bash
# A throw-away PostgreSQL server for the test suite.
#
#   scripts/postgres-test-server.sh run -- COMMAND [ARG...]
#       start a server, run COMMAND with TEST_DATABASE_URL set to it, stop the server and remove its
#       data directory (also on failure or Ctrl+C); exits with COMMAND's exit code.
#   scripts/postgres-test-server.sh start
#       start a server and print two shell assignments on stdout:
#         TEST_DATABASE_URL=postgresql+psycopg://tien_do:tien_do@127.0.0.1:PORT/tien_do
#         PG_TEST_DIR=/tmp/tien-do-pg.XXXXXX
#       (eval "$(scripts/postgres-test-server.sh start)"; export TEST_DATABASE_URL)
#   scripts/postgres-test-server.sh stop PG_TEST_DIR
#       stop that server and remove its directory.
#   scripts/postgres-test-server.sh install
#       only install Debian's postgresql when initdb/pg_ctl are missing.
#
# The server listens on 127.0.0.1 only, on a free port, with its socket inside its private directory.
# fsync, synchronous_commit and full_page_writes are off: the data is disposable, tests want speed.
# Autovacuum is off too, and the role may signal backends: the suite drops its databases WITH (FORCE),
# which a non-superuser cannot do while an autovacuum worker is in the database.
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` system user (created by
# the Debian package); as any other user it runs as that user.
# Progress and errors go to stderr; stdout carries only the assignments of `start`.
set -euo pipefail

ROLE=tien_do
PASSWORD=tien_do
DATABASE=tien_do

log() { echo "postgres-test-server: $*" >&2; }
die() { log "$*"; exit 1; }

find_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4 -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return 0
  fi
  return 1
}

install_postgres() {
  if find_bindir >/dev/null; then
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || die "initdb/pg_ctl not found and no apt-get: install PostgreSQL by hand"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "initdb/pg_ctl not found; need root (or sudo) to install postgresql"
    sudo="sudo"
  fi
  log "installing Debian's postgresql ..."
  local started=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
  log "postgresql installed in $((SECONDS - started)) s"
  find_bindir >/dev/null || die "postgresql installed but initdb/pg_ctl not found under /usr/lib/postgresql/*/bin"
}

# as_owner CMD...: run CMD as the user that owns the server (postgres when we are root).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_server() {
  install_postgres
  local bindir dir port attempt
  bindir=$(find_bindir)
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to run the server as"
  fi
  if [ "$(id -u)" -eq 0 ]; then
    # /tmp, not $TMPDIR: the postgres user must be able to reach it
    dir=$(mktemp -d /tmp/tien-do-pg.XXXXXX)
    mkdir -m 700 "$dir/data" "$dir/run"
    chown -R postgres: "$dir"
  else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/tien-do-pg.XXXXXX")
    mkdir -m 700 "$dir/data" "$dir/run"
  fi

  as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }

  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 start -o \
      "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/run \
       -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
       -c autovacuum=off -c max_connections=200 -c shared_buffers=64MB" >/dev/null 2>&1; then
      break
    fi
    log "start on port $port failed (attempt $attempt)"
    port=""
  done
  if [ -z "$port" ]; then
    cat "$dir/data/server.log" >&2 || true
    rm -rf "$dir"
    die "the server did not start"
  fi

  as_owner "$bindir/psql" -h "$dir/run" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" \
    -c "CREATE DATABASE $DATABASE OWNER $ROLE" \
    -c "GRANT pg_signal_backend TO $ROLE" >&2 \
    || { stop_server "$dir"; die "could not create the role and database"; }

  log "PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
  echo "TEST_DATABASE_URL=postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$port/$DATABASE"
  echo "PG_TEST_DIR=$dir"
}

stop_server() {
  local dir=${1:-}
  [ -n "$dir" ] || die "usage: $0 stop PG_TEST_DIR"
  case "$dir" in */tien-do-pg.*) ;; *) die "refusing to remove $dir: not a directory made by start" ;; esac
  if [ -f "$dir/data/postmaster.pid" ]; then
    local bindir
    bindir=$(find_bindir)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

run_with_server() {
  [ "${1:-}" = "--" ] && shift
  [ $# -gt 0 ] || die "usage: $0 run -- COMMAND [ARG...]"
  local assignments url dir status
  assignments=$(start_server)
  url=$(sed -n 's/^TEST_DATABASE_URL=//p' <<<"$assignments")
  dir=$(sed -n 's/^PG_TEST_DIR=//p' <<<"$assignments")
  trap 'stop_server "$dir"' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  set +e
  TEST_DATABASE_URL=$url "$@"
  status=$?
  set -e
  exit "$status"
}

case "${1:-}" in
  run) shift; run_with_server "$@" ;;
  start) start_server ;;
  stop) stop_server "${2:-}" ;;
  install) install_postgres ;;
  *) die "usage: $0 run -- COMMAND [ARG...] | start | stop PG_TEST_DIR | install" ;;
esac

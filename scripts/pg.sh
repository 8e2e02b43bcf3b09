#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for tests: `scripts/pg.sh start DIR` creates one in DIR
# (unix socket in DIR only, no TCP), creates database roster and prints its store URL;
# `scripts/pg.sh newdb DIR NAME` adds a fresh database NAME and prints its URL;
# `scripts/pg.sh stop DIR` stops it. Installs postgresql and libpq-dev first if missing.
# ROSTER_PG_OPTS (e.g. "-c log_checkpoints=on") is added to the server's options at start.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: scripts/pg.sh start|stop DIR | newdb DIR NAME" >&2
  exit 2
fi
dir=$(realpath -m "$dir")
bin=/usr/lib/postgresql/15/bin

# as_pg CMD...: runs CMD as the postgres OS user when we are root (initdb refuses root)
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  missing=()
  for p in postgresql libpq-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ] || [ ! -x "$bin/initdb" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "missing packages; run: sudo apt-get update && sudo apt-get install -y postgresql libpq-dev" >&2
      exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql libpq-dev >&2
  fi
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  as_pg "$bin/initdb" -D "$dir/data" -A trust -U roster --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; exit 1; }
  # max_connections: a test file runs many roster processes on one cluster at a time (each
  # holds a session per thread that used the store, 13 and more), and keeps them to its end:
  # tests/api/multiproc.test.mjs reached 98 client sessions of the default 100, and one more
  # process thread met "too many clients" (a 503 in CI)
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -s \
    -o "-c listen_addresses='' -c unix_socket_directories='$dir' -c fsync=on -c max_connections=400 ${ROSTER_PG_OPTS:-}" start >&2 || {
    cat "$dir/server.log" >&2; exit 1; }
  as_pg "$bin/createdb" -h "$dir" -U roster roster >&2
  echo "postgresql:///roster?host=$dir&user=roster"
  ;;
newdb)
  name=${3:?usage: scripts/pg.sh newdb DIR NAME}
  as_pg "$bin/createdb" -h "$dir" -U roster "$name" >&2
  echo "postgresql:///$name?host=$dir&user=roster"
  ;;
stop)
  [ -d "$dir/data" ] || exit 0
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -s stop >&2 || true
  ;;
*)
  echo "usage: scripts/pg.sh start|stop DIR | newdb DIR NAME" >&2
  exit 2
  ;;
esac

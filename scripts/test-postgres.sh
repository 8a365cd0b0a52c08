#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests, on 127.0.0.1 only, in a temporary folder.
#   scripts/test-postgres.sh start   prints "export ZAPHUB_TEST_POSTGRES=..." for eval
#   scripts/test-postgres.sh stop
#   scripts/test-postgres.sh pause|resume   stop the server keeping its data, start it again (outage tests)
# ZAPHUB_TEST_PG_PORT picks another port, so a test can have a cluster of its own.
set -euo pipefail
PORT=${ZAPHUB_TEST_PG_PORT:-55432}
DATA=${TMPDIR:-/tmp}/zaphub-test-pg-$PORT
BIN=/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -V | tail -1)/bin
# Durability settings off: this cluster lives for one test run.
OPTIONS="-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
# initdb refuses to run as root; the Debian package creates the postgres account.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    [ -f "$DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DATA" stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$DATA"
    if [ "$(id -u)" = 0 ]; then install -d -o postgres -g postgres "$DATA"; else mkdir -p "$DATA"; fi
    as_pg "$BIN/initdb" -D "$DATA" -U postgres -A trust --no-sync >/dev/null
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
      -o "$OPTIONS" start >/dev/null
    "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -q -c "CREATE ROLE zaphub LOGIN PASSWORD 'zaphub' CREATEDB" >&2
    echo "export ZAPHUB_TEST_POSTGRES='Host=127.0.0.1;Port=$PORT;Username=zaphub;Password=zaphub;Database=postgres'"
    ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$DATA" stop -m fast >/dev/null 2>&1 || true
    rm -rf "$DATA"
    ;;
  pause)
    as_pg "$BIN/pg_ctl" -D "$DATA" stop -m fast >/dev/null
    ;;
  resume)
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
      -o "$OPTIONS" start >/dev/null
    ;;
  *)
    echo "usage: $0 start|stop|pause|resume" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests, on 127.0.0.1 only, in a temporary folder.
#   scripts/test-postgres.sh start   prints "export ZAPHUB_TEST_POSTGRES=..." and "export ZAPHUB_TEST_PG_PORT=..." for eval
#   scripts/test-postgres.sh stop
#   scripts/test-postgres.sh pause|resume   stop the server keeping its data, start it again (outage tests)
# ZAPHUB_TEST_PG_PORT picks the port, so a test can have a cluster of its own. The default, 25432, is below Linux's
# range of ports given to outgoing connections (32768-60999), which a busy machine may be using. When the port is
# taken (another run on the same machine, a server left behind), start moves on to the next free one and says which.
set -euo pipefail
PORT=${ZAPHUB_TEST_PG_PORT:-25432}
BIN=/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -V | tail -1)/bin
data_of() { echo "${TMPDIR:-/tmp}/zaphub-test-pg-$1"; }
# TCP on loopback only, no Unix socket: its path has a length limit a long TMPDIR would break.
# Durability settings off: this cluster lives for one test run.
options_of() {
  echo "-c listen_addresses=127.0.0.1 -p $1 -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
}
# initdb refuses to run as root; the Debian package creates the postgres account.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {
  local port=$1 data
  data=$(data_of "$port")
  if ! as_pg "$BIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 90 -o "$(options_of "$port")" start >/dev/null; then
    echo "PostgreSQL did not start on port $port; the end of its log ($data/server.log):" >&2
    tail -n 30 "$data/server.log" >&2 || true
    return 1
  fi
}

case "${1:-}" in
  start)
    for port in $(seq "$PORT" $((PORT + 9))); do
      if listening "$port"; then
        echo "Port $port is taken; trying the next one." >&2
        continue
      fi
      data=$(data_of "$port")
      [ -f "$data/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$data" stop -m immediate >/dev/null 2>&1 || true
      rm -rf "$data"
      if [ "$(id -u)" = 0 ]; then install -d -o postgres -g postgres "$data"; else mkdir -p "$data"; fi
      as_pg "$BIN/initdb" -D "$data" -U postgres -A trust --no-sync >/dev/null
      start_server "$port" || continue
      "$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -q -c "CREATE ROLE zaphub LOGIN PASSWORD 'zaphub' CREATEDB" >&2
      echo "export ZAPHUB_TEST_PG_PORT=$port"
      echo "export ZAPHUB_TEST_POSTGRES='Host=127.0.0.1;Port=$port;Username=zaphub;Password=zaphub;Database=postgres'"
      exit 0
    done
    echo "No PostgreSQL test cluster could be started on ports $PORT-$((PORT + 9))." >&2
    exit 1
    ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$(data_of "$PORT")" stop -m fast >/dev/null 2>&1 || true
    rm -rf "$(data_of "$PORT")"
    ;;
  pause)
    as_pg "$BIN/pg_ctl" -D "$(data_of "$PORT")" stop -m fast >/dev/null
    ;;
  resume)
    start_server "$PORT"
    ;;
  *)
    echo "usage: $0 start|stop|pause|resume" >&2
    exit 2
    ;;
esac

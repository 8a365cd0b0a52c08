#!/usr/bin/env bash
# End-to-end message throughput (API accepted → gateway received) against the emulator's raw intake, same run.
#   bench/message-throughput.sh [messages] [numbers]                     SQLite (default)
#   BENCH_DB=postgres bench/message-throughput.sh                        a throw-away PostgreSQL from scripts/
#   BENCH_WARMUPS=N                                                      warm-up passes (same size, not counted; default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build ZapHub.sln -c Release -v q --nologo
if [ "${BENCH_DB:-}" = postgres ] && [ -z "${ZAPHUB_TEST_POSTGRES:-}" ]; then
  eval "$(scripts/test-postgres.sh start)"
  trap 'scripts/test-postgres.sh stop >/dev/null 2>&1 || true' EXIT
fi
dotnet run --project bench/MessageThroughput -c Release --no-build -- "${1:-10000}" "${2:-50}"

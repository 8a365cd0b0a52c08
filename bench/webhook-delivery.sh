#!/usr/bin/env bash
# Signed webhook deliveries per second (outbox → local receiver checking signatures) against the receiver's raw intake, same run.
#   bench/webhook-delivery.sh [events]                SQLite (default)
#   BENCH_DB=postgres bench/webhook-delivery.sh       a throw-away PostgreSQL from scripts/
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build ZapHub.sln -c Release -v q --nologo
if [ "${BENCH_DB:-}" = postgres ] && [ -z "${ZAPHUB_TEST_POSTGRES:-}" ]; then
  eval "$(scripts/test-postgres.sh start)"
  trap 'scripts/test-postgres.sh stop >/dev/null 2>&1 || true' EXIT
fi
dotnet run --project bench/WebhookDelivery -c Release --no-build -- "${1:-10000}"

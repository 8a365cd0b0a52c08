#!/usr/bin/env bash
# Gateway-webhook ingest on SQLite versus a bare Kestrel endpoint, same run, same load generator (wrk).
#   bench/webhook-ingest.sh [seconds] [connections] [warm-up seconds]   all roles in one process (default)
#   BENCH_ROLES=web bench/webhook-ingest.sh                             a receive-only node (workers elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
dotnet build ZapHub.sln -c Release -v q --nologo
dotnet run --project bench/WebhookIngest -c Release --no-build -- "${1:-10}" "${2:-128}" "${3:-10}"

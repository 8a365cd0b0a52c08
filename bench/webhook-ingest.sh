#!/usr/bin/env bash
# Gateway-webhook ingest on SQLite versus a bare Kestrel endpoint, same run, same load generator.
#   bench/webhook-ingest.sh [seconds] [concurrency]        all roles in one process (default)
#   BENCH_ROLES=web bench/webhook-ingest.sh                a receive-only node (workers elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build ZapHub.sln -c Release -v q --nologo
dotnet run --project bench/WebhookIngest -c Release --no-build -- "${1:-10}" "${2:-64}"

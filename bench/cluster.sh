#!/usr/bin/env bash
# 1, 2 and 3 ZapHub nodes on one PostgreSQL: gateway events/s and messages/s end to end, with the ratio to one node.
# Usage: bench/cluster.sh [events=20000] [messages=5000] [nodes=1,2,3]   (starts the test PostgreSQL itself)
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build ZapHub.sln -c Release -v q --nologo
dotnet build bench/Cluster -c Release -v q --nologo
eval "$(scripts/test-postgres.sh start)"
BENCH_DB=postgres dotnet run --project bench/Cluster -c Release --no-build -- "${1:-20000}" "${2:-5000}" "${3:-1,2,3}"

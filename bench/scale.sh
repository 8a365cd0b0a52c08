#!/usr/bin/env bash
# Cost as the number of numbers grows on one node: reconciler cycle, RSS, list p95s, webhook→state and webhook→dashboard
# (Chromium) p95 (see bench/Scale).
# Usage: bench/scale.sh [sizes=100,10000] [gateways=20]      BENCH_DB=postgres with ZAPHUB_TEST_POSTGRES set
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/chromium ] || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
dotnet build ZapHub.sln -c Release -v q --nologo
dotnet build bench/Scale -c Release -v q --nologo
dotnet run --project bench/Scale -c Release --no-build -- "${1:-100,10000}" "${2:-20}"

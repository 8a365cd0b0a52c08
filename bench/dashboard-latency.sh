#!/usr/bin/env bash
# Webhook → browser DOM latency over N state transitions, in Debian Chromium. Prints p50 and p95.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/chromium ] || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
dotnet build ZapHub.sln -c Release -v q --nologo
dotnet publish src/ZapHub -c Release -o artifacts/zaphub -v q --nologo
dotnet run --project bench/DashboardLatency -c Release --no-build -- "${1:-120}"

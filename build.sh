#!/usr/bin/env bash
# ZapHub developer commands.
#   ./build.sh run    start ZapHub on SQLite in demo mode (same as: dotnet run --project src/ZapHub)
#   ./build.sh test   install what the tests need, start a throw-away PostgreSQL, run every test project,
#                     print "N passed, N failed" and exit non-zero on any failure
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
RESULTS=$ROOT/TestResults
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_test_dependencies() {
  local missing=()
  command -v /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)   # another process holding the database's lock, in the outage test
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> Installing ${missing[*]} (apt)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

run_tests() {
  local name=$1 project=$2 filter=$3; shift 3
  echo "==> $name"
  # A failing project must not stop the others: the summary counts every result.
  env "$@" dotnet test "$project" -c Release --no-build ${filter:+--filter "$filter"} --logger "trx;LogFileName=$name.trx" --results-directory "$RESULTS" || true
}

summary() {
  local passed=0 failed=0 total=0 line
  for trx in "$RESULTS"/*.trx; do
    line=$(grep -o '<Counters [^>]*' "$trx" | head -1)
    get() { echo "$line" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
    passed=$((passed + $(get passed)))
    failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
    total=$((total + $(get total)))
  done
  local expected=${#PROJECTS_RUN[@]} found
  found=$(ls "$RESULTS"/*.trx 2>/dev/null | wc -l)
  if [ "$found" -lt "$expected" ]; then
    echo "Only $found of $expected test runs left results: a test host crashed." >&2
    failed=$((failed + expected - found))
  fi
  echo
  echo "$passed passed, $failed failed, $((total - passed - failed > 0 ? total - passed - failed : 0)) skipped"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

case "${1:-}" in
  run)
    exec dotnet run --project src/ZapHub
    ;;
  test)
    install_test_dependencies
    # The PostgreSQL pass needs the server: without it the run stops here, with the server's own words.
    postgres=$(scripts/test-postgres.sh start) || { echo "The test PostgreSQL did not start (above); no tests run." >&2; exit 1; }
    eval "$postgres"
    trap 'scripts/test-postgres.sh stop >/dev/null 2>&1 || true' EXIT
    rm -rf "$RESULTS"
    echo "==> Build"
    dotnet build ZapHub.sln -c Release -warnaserror --nologo -v q
    PROJECTS_RUN=(unit integration-sqlite integration-postgres browser)
    run_tests unit tests/ZapHub.UnitTests ""
    # Several nodes on one database is a PostgreSQL deployment; those tests run in the PostgreSQL pass only, and the
    # embedded database's backup command in the SQLite pass only.
    run_tests integration-sqlite tests/ZapHub.IntegrationTests "Category!=PostgresOnly" ZAPHUB_TEST_DB=sqlite
    run_tests integration-postgres tests/ZapHub.IntegrationTests "Category!=SqliteOnly" ZAPHUB_TEST_DB=postgres "ZAPHUB_TEST_POSTGRES=$ZAPHUB_TEST_POSTGRES"
    run_tests browser tests/ZapHub.BrowserTests "" "ZAPHUB_ARTIFACTS=$RESULTS/screenshots"
    summary
    ;;
  *)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac

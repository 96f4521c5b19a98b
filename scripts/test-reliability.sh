#!/usr/bin/env bash
# `pnpm test:reliability`: the scenarios of tests/reliability, one file at a time (they load the
# machine on purpose), except the outbound outage: it spends three of its four minutes waiting for
# the endpoint to come back, so it runs alongside the others, in a vitest of its own (its output is
# printed when both are done). Arguments go to both, e.g. a file filter.
set -euo pipefail
cd "$(dirname "$0")/.."
config=vitest.reliability.config.ts
outage_log=$(mktemp)
trap 'rm -f "$outage_log"' EXIT
pnpm --silent vitest run -c "$config" --project reliability-outage --passWithNoTests "$@" >"$outage_log" 2>&1 &
outage=$!
status=0
pnpm --silent vitest run -c "$config" --project reliability --passWithNoTests "$@" || status=$?
wait "$outage" || status=$?
cat "$outage_log"
exit "$status"

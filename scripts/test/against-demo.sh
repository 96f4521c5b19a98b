#!/usr/bin/env bash
# Starts the demo system (API, worker, Cal.com sandbox) on spare ports with its own database and
# queue prefix, runs the original design's test scripts against it, and stops it again.
# CI runs this after the test suite.
set -euo pipefail
cd "$(dirname "$0")/../.."

export PORT="${PORT:-3990}" SANDBOX_PORT="${SANDBOX_PORT:-5590}" DEMO_RECEIVER_PORT="${DEMO_RECEIVER_PORT:-5591}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/calgate_scripts}"
export QUEUE_PREFIX="${QUEUE_PREFIX:-calgate-scripts}"
export LOG_LEVEL="${LOG_LEVEL:-warn}"
log="$(mktemp)"
rm -f .demo.json
node packages/demo/src/dev.ts >"$log" 2>&1 &
demo=$!
cleanup() {
  kill -TERM "$demo" 2>/dev/null || true
  wait "$demo" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

for _ in $(seq 1 120); do
  [ -f .demo.json ] && grep -q 'Ctrl-C' "$log" && break
  kill -0 "$demo" 2>/dev/null || { cat "$log"; echo "the demo system did not start" >&2; exit 1; }
  sleep 0.5
done
[ -f .demo.json ] || { cat "$log"; echo "the demo system did not become ready" >&2; exit 1; }

status=0
bash scripts/test/test-calcom-availability.sh || status=1
bash scripts/test/test-calcom-booking.sh || status=1

# The demo's upstream receiver hears the bookings just made, signed.
heard=0
for _ in $(seq 1 60); do
  grep -q '\[upstream\].*appointment\.confirmed.*signature verified' "$log" && { heard=1; break; }
  sleep 0.5
done
if [ "$heard" -eq 1 ]; then echo "ok: the demo's upstream receiver got a signed appointment.confirmed"
else echo "FAIL: no signed appointment.confirmed reached the demo's upstream receiver" >&2; status=1; fi

# The CLI reaches the running demo's Cal.com sandbox (it is known only to the demo).
if cli_out="$(node packages/cli/src/main.ts sync:event-types 2>&1)"; then
  echo "ok: pnpm cli sync:event-types against the running demo"
else
  echo "FAIL: pnpm cli sync:event-types against the running demo: $cli_out" >&2; status=1
fi

[ "$status" -eq 0 ] || { echo "--- demo log"; tail -50 "$log"; }
exit "$status"

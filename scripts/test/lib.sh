#!/usr/bin/env bash
# Shared helpers of the original design's test scripts. Configuration:
#   API_BASE    the gateway's API, e.g. http://127.0.0.1:3000/api/v2 (default: the running demo)
#   API_TOKEN   a company API token (default: the running demo's, from .demo.json)
#   SERVICE_ID  the service to test (default: the first simple service)
#   TIME_ZONE   IANA zone for the requests (default: Europe/Berlin)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
demo_file="$root/.demo.json"
if [ -f "$demo_file" ]; then
  API_BASE="${API_BASE:-$(jq -r .apiBase "$demo_file")}"
  API_TOKEN="${API_TOKEN:-$(jq -r .token "$demo_file")}"
fi
API_BASE="${API_BASE:-http://127.0.0.1:3000/api/v2}"
TIME_ZONE="${TIME_ZONE:-Europe/Berlin}"
: "${API_TOKEN:?set API_TOKEN (a company API token), or start the demo: bash scripts/start.sh}"

passed=0
failed=0
ok() { passed=$((passed + 1)); printf '  \033[32mok\033[0m   %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf '  \033[31mFAIL\033[0m %s\n' "$1"; }

# call METHOD PATH [BODY] [extra curl args...]: sets STATUS and BODY.
call() {
  local method="$1" path="$2" body="${3:-}"
  shift 3 2>/dev/null || shift $#
  local out
  out="$(mktemp)"
  local args=(-sS -o "$out" -w '%{http_code}' -X "$method" -H "Authorization: Bearer $API_TOKEN" "$@")
  if [ -n "$body" ]; then args+=(-H 'Content-Type: application/json' --data "$body"); fi
  STATUS="$(curl "${args[@]}" "$API_BASE$path" || echo 000)"
  BODY="$(cat "$out")"
  rm -f "$out"
}

# expect_status WHAT CODE [ERROR_CODE]
expect_status() {
  local what="$1" code="$2" error="${3:-}"
  if [ "$STATUS" != "$code" ]; then
    fail "$what: expected HTTP $code, got $STATUS: ${BODY:0:300}"
    return 1
  fi
  if [ -n "$error" ] && [ "$(jq -r '.error.code // empty' <<<"$BODY")" != "$error" ]; then
    fail "$what: expected error $error, got ${BODY:0:300}"
    return 1
  fi
  ok "$what"
}

# A weekday at least N days ahead, YYYY-MM-DD.
weekday_ahead() {
  local days="$1" d
  for _ in $(seq 0 7); do
    d="$(date -u -d "+$days days" +%Y-%m-%d)"
    case "$(date -u -d "$d" +%u)" in 6 | 7) days=$((days + 1)) ;; *) echo "$d"; return ;; esac
  done
}

resolve_service() {
  if [ -z "${SERVICE_ID:-}" ]; then
    call GET /services ''
    SERVICE_ID="$(jq -r '[.services[] | select(.kind == "simple")][0].id // empty' <<<"$BODY")"
    [ -n "$SERVICE_ID" ] || { echo "no simple service found; set SERVICE_ID" >&2; exit 1; }
  fi
}

summary() {
  echo
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

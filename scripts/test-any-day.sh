#!/usr/bin/env bash
# Proves that the suite does not depend on the day, weekday or hour it runs at: runs it with the
# clock of every process it starts moved (libfaketime) to instants where date arithmetic breaks:
# a Friday afternoon, a Saturday, a Sunday night, and the night the clocks go back in Europe/Berlin
# (that one also with the processes' own zone set to Europe/Berlin).
#
#   bash scripts/test-any-day.sh                     # every instant, the whole suite
#   bash scripts/test-any-day.sh composite            # every instant, the files matching a filter
#   INSTANTS='2027-10-31T01:30:00+02:00|Europe/Berlin' bash scripts/test-any-day.sh
#
# The clock is moved by an offset, not set to a fixed start, so that every process (the spawned
# workers too) shares one moved clock that keeps running. PostgreSQL and Redis keep the real time,
# as servers on another machine would.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v faketime >/dev/null; then
  echo "[any-day] installing libfaketime (Debian package faketime)"
  apt-get update -qq >/dev/null && apt-get install -y -qq faketime >/dev/null
fi

# Instants (in Europe/Berlin, the salon's zone) relative to today, so that the clock only ever moves
# forward: the next Friday 16:00, Saturday 11:00 and Sunday 23:30, and 01:30 on the next last Sunday
# of October (the night the clocks go back), each as "epoch seconds|the processes' TZ".
berlin_at() { TZ=Europe/Berlin date -d "$1" +%s; }
last_sunday_of_october() {
  local year day
  year=$(date +%Y)
  for year in "$year" $((year + 1)); do
    day=$(TZ=Europe/Berlin date -d "$year-10-31 12:00" +%Y-%m-%d)
    while [ "$(date -d "$day" +%u)" != 7 ]; do day=$(date -d "$day -1 day" +%Y-%m-%d); done
    if [ "$(berlin_at "$day 01:30")" -gt "$(date +%s)" ]; then echo "$day"; return; fi
  done
}
default_instants=(
  "$(berlin_at 'next friday 16:00')|UTC"
  "$(berlin_at 'next saturday 11:00')|UTC"
  "$(berlin_at 'next sunday 23:30')|UTC"
  "$(berlin_at "$(last_sunday_of_october) 01:30")|Europe/Berlin"
)
if [ -n "${INSTANTS:-}" ]; then read -r -a instants <<<"$INSTANTS"; else instants=("${default_instants[@]}"); fi

# One instant: the suite with every process's clock moved there. Output goes to "$log".
run_instant() {
  local entry=$1 log=$2 at zone instant offset
  at="${entry%%|*}"
  zone="UTC"
  [ "$entry" != "$at" ] && zone="${entry#*|}"
  # An instant is epoch seconds or anything `date -d` reads.
  [[ "$at" =~ ^[0-9]+$ ]] || at=$(date -d "$at" +%s)
  instant=$(TZ=Europe/Berlin date -d "@$at" '+%a %Y-%m-%d %H:%M %Z')
  offset=$((at - $(date +%s)))
  # The monotonic clock stays real: timers and timeouts measure real durations; file times too.
  moved() { TZ="$zone" NO_FAKE_STAT=1 FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$( [ "$offset" -ge 0 ] && echo +)${offset}s" "$@"; }
  {
    echo "== suite at $instant (processes' TZ=$zone, clock moved by ${offset}s)"
    moved node -e 'console.log(`[any-day] processes see ${new Date().toString()}`)'
  } >"$log" 2>&1
  if moved pnpm --silent vitest run "${filters[@]}" >>"$log" 2>&1; then return 0; fi
  # libfaketime can fail a process while it starts (a file it just opened "cannot be found"):
  # that run says nothing about the suite, so it is run once more. A failed assertion is final.
  if grep -qE "Worker exited unexpectedly|Cannot find module '/" "$log"; then
    echo "[any-day] processes failed to start under libfaketime at $instant: running the suite there once more" >>"$log"
    moved pnpm --silent vitest run "${filters[@]}" >>"$log" 2>&1 && return 0
  fi
  echo "[any-day] FAILED at $instant" >>"$log"
  return 1
}

# Two instants run at a time (each suite spends most of its time waiting on I/O), so the four
# take about the time of two; each instant's output is printed whole when its pair is done.
filters=("$@")
parallel=${ANY_DAY_PARALLEL:-2}
logs_dir=$(mktemp -d)
failed=()
for ((i = 0; i < ${#instants[@]}; i += parallel)); do
  pids=()
  for ((j = i; j < i + parallel && j < ${#instants[@]}; j++)); do
    run_instant "${instants[$j]}" "$logs_dir/$j.log" &
    pids+=("$!:$j")
  done
  for entry in "${pids[@]}"; do
    j="${entry#*:}"
    if ! wait "${entry%%:*}"; then
      failed+=("${instants[$j]}")
      # What failed, repeated at the end: a CI log read from its tail shows it without the rest.
      grep -E "FAIL |FAILED at" "$logs_dir/$j.log" | sed 's/\x1b\[[0-9;]*m//g' >>"$logs_dir/failures" || true
    fi
    cat "$logs_dir/$j.log"
  done
done
if [ -s "$logs_dir/failures" ]; then
  echo "[any-day] what failed:" >&2
  sort -u "$logs_dir/failures" >&2
fi
rm -rf "$logs_dir"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "[any-day] the suite failed at: ${failed[*]}" >&2
  exit 1
fi
echo "[any-day] the suite passed at every instant: ${instants[*]}"

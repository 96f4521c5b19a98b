#!/usr/bin/env bash
# Books, replays, double-books, reschedules and cancels one appointment through a running gateway
# (see lib.sh for API_BASE, API_TOKEN, SERVICE_ID). Exits non-zero when any check fails.
source "$(dirname "$0")/lib.sh"

echo "booking checks against $API_BASE"
resolve_service
day="$(weekday_ahead 3)"
call GET "/services/$SERVICE_ID/availability?start=$day&end=$day&timeZone=$TIME_ZONE" ''
expect_status "slots for $day" 200 || { summary; exit 1; }
slot_count="$(jq '.slots | length' <<<"$BODY")"
[ "$slot_count" -ge 2 ] || { fail "need two free slots on $day, found $slot_count"; summary; exit 1; }
first_start="$(jq -r '.slots[0].start' <<<"$BODY")"
staff_id="$(jq -r '.slots[0].staff[0].id' <<<"$BODY")"
second_start="$(jq -r --arg s "$staff_id" '[.slots[1:][] | select(any(.staff[]; .id == $s))][0].start // empty' <<<"$BODY")"

run_id="script-$(date +%s)-$$"
booking() {
  jq -nc --arg svc "$SERVICE_ID" --arg start "$1" --arg tz "$TIME_ZONE" --arg staff "$staff_id" --arg email "$2" \
    '{serviceId: $svc, start: $start, timeZone: $tz, staffId: $staff, customer: {name: "Script Test", email: $email}}'
}

call POST /bookings "$(booking "$first_start" "$run_id@example.org")" -H "Idempotency-Key: $run_id" -H 'Prefer: wait=25'
expect_status "books $first_start and waits for Cal.com" 201 || { summary; exit 1; }
id="$(jq -r .id <<<"$BODY")"
uid="$(jq -r .calcom.bookingUid <<<"$BODY")"
[ "$(jq -r .status <<<"$BODY")" = confirmed ] && ok "appointment $id is confirmed" || fail "not confirmed: ${BODY:0:200}"
[ -n "$uid" ] && [ "$uid" != null ] && ok "Cal.com booking uid $uid" || fail 'no Cal.com uid'

call POST /bookings "$(booking "$first_start" "$run_id@example.org")" -H "Idempotency-Key: $run_id" -H 'Prefer: wait=25'
[ "$(jq -r .id <<<"$BODY")" = "$id" ] && ok 'the same Idempotency-Key replays the same appointment' \
  || fail "replay made something else: $STATUS ${BODY:0:200}"

call POST /bookings "$(booking "$first_start" "other-$run_id@example.org")" -H "Idempotency-Key: other-$run_id" -H 'Prefer: wait=25'
if expect_status 'the same slot and staff member again' 409 SLOT_UNAVAILABLE; then
  jq -e '.error.details.alternatives | length > 0' <<<"$BODY" >/dev/null \
    && ok 'the conflict offers alternatives' || fail 'no alternatives offered'
fi

call GET "/bookings/$id" ''
expect_status 'reads the appointment' 200 || true

if [ -n "$second_start" ]; then
  call PATCH "/bookings/$id" "$(jq -nc --arg s "$second_start" --arg tz "$TIME_ZONE" '{start: $s, timeZone: $tz, reason: "test script"}')" \
    -H "Idempotency-Key: move-$run_id" -H 'Prefer: wait=25'
  if expect_status "reschedules to $second_start" 200; then
    new_uid="$(jq -r .calcom.bookingUid <<<"$BODY")"
    [ "$new_uid" != "$uid" ] && ok "moved to Cal.com booking $new_uid" || fail 'the Cal.com uid did not change'
  fi
else
  fail "no second slot for staff $staff_id on $day to reschedule to"
fi

call DELETE "/bookings/$id" '{"cancellationReason":"test script clean-up"}' -H "Idempotency-Key: cancel-$run_id" -H 'Prefer: wait=25'
expect_status 'cancels' 200 || true
call GET "/bookings/$id" ''
[ "$(jq -r .status <<<"$BODY")" = cancelled ] && ok 'the appointment is cancelled' || fail "status: ${BODY:0:200}"

call GET "/bookings/apt_doesnotexist" ''
expect_status 'an unknown booking' 404 BOOKING_NOT_FOUND || true

summary

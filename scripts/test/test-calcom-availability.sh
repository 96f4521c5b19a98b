#!/usr/bin/env bash
# Checks the availability endpoints of a running gateway (see lib.sh for API_BASE, API_TOKEN,
# SERVICE_ID). Exits non-zero when any check fails.
source "$(dirname "$0")/lib.sh"

echo "availability checks against $API_BASE"
call GET /services ''
expect_status 'lists the services' 200 || true
resolve_service
jq -e --arg id "$SERVICE_ID" '.services[] | select(.id == $id)' <<<"$BODY" >/dev/null \
  && ok "service $SERVICE_ID is listed" || fail "service $SERVICE_ID is not in the list"

day="$(weekday_ahead 2)"
call GET "/services/$SERVICE_ID/availability?start=$day&end=$day&timeZone=$TIME_ZONE" ''
if expect_status "slots for $day" 200; then
  count="$(jq '.slots | length' <<<"$BODY")"
  [ "$count" -gt 0 ] && ok "$count free slot(s) on $day" || fail "no free slots on $day"
  jq -e '.slots | all(.start and .end and (.staff | length > 0))' <<<"$BODY" >/dev/null \
    && ok 'every slot has a start, an end and staff' || fail 'a slot lacks start, end or staff'
  jq -e --arg tz "$TIME_ZONE" '.timeZone == $tz' <<<"$BODY" >/dev/null \
    && ok "answered in $TIME_ZONE" || fail "not answered in $TIME_ZONE"
fi

week_end="$(date -u -d "$day +6 days" +%Y-%m-%d)"
call GET "/services/$SERVICE_ID/availability?start=$day&end=$week_end&timeZone=$TIME_ZONE" ''
expect_status 'a one-week window' 200 || true

call GET "/services/$SERVICE_ID/availability?start=$day&end=$day&timeZone=Mars/Olympus" ''
expect_status 'an invalid time zone' 400 INVALID_TIMEZONE || true

call GET "/services/$SERVICE_ID/availability?start=$week_end&end=$day&timeZone=$TIME_ZONE" ''
expect_status 'end before start' 400 VALIDATION_FAILED || true

call GET "/services/svc_doesnotexist/availability?start=$day&end=$day&timeZone=$TIME_ZONE" ''
[ "$STATUS" = 404 ] && ok 'an unknown service answers 404' || fail "unknown service: got $STATUS"

API_TOKEN=cgt_not_a_real_token call GET /services ''
expect_status 'a bad token' 401 UNAUTHORIZED || true

summary

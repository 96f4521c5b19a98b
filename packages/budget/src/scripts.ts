/**
 * Sliding-window log per Cal.com key, in one Redis sorted set per key, with a fair share between
 * the companies that use the key.
 *
 * Why a sliding log and not a token bucket or BullMQ's limiter: Cal.com counts requests per key in
 * fixed 60-second windows and blocks the key for 60 s when one window goes over. A log that never
 * holds more than `limit` entries in ANY 60-second span can never overflow ANY fixed window, however
 * Cal.com aligns it — so we can run at the full budget with zero 429s. BullMQ's limiter is per queue,
 * which would let one company's backlog stall every other company's key.
 *
 * The fair share. Each entry of the log names its company (`company|id`), and a count per company
 * is kept beside the log (raised with each entry, lowered as entries leave the window), so the
 * script knows who used how much of the window without reading the log.
 * - A key used by one company only (none other seen on it for a day; calls on no company's behalf,
 *   `-`, do not count) is that company's alone: no pacing, the whole window.
 * - On a key shared by companies, each company takes its slots at a pace (`burst` at once, then
 *   `limit` a window), so that slots keep coming free for a company that arrives while another
 *   floods the key; and a company over its share of the window (limit / the companies holding
 *   entries of it) may not take the last `reserve` slots: they stay for the companies under theirs.
 * - When callers are waiting for the key, a free slot goes to interactive calls (availability,
 *   bookings) before background ones (sync, reconciliation), and among equals to the company that
 *   holds fewer entries of the window. A waiter registers for 2 s on each refusal.
 *
 * KEYS[1] = the log (sorted set, score = ms), KEYS[2] = the pause marker (value = until, ms),
 * KEYS[3] = companies seen on the key (sorted set, score = ms), KEYS[4] = waiters (hash company ->
 * "ms|class"), KEYS[5] = each company's pace (hash company -> "tokens|ms"), KEYS[6] = each company's
 * entries in the window (hash company -> count, kept with the log)
 * ARGV[1] = limit, ARGV[2] = window ms, ARGV[3] = unique member id ("company|id"), ARGV[4] = company,
 * ARGV[5] = class ("i" interactive, "b" background), ARGV[6] = reserve, ARGV[7] = burst
 * Returns 0 when a request slot was taken, else the ms to wait before trying again: positive when
 * the key is used up or paused for everyone, negative when this company waits for its share (its
 * pace, its share of the window, or another company's turn).
 */
export const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused - now end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local company = ARGV[4]
local class = ARGV[5]
local reserve = tonumber(ARGV[6])
local burst = tonumber(ARGV[7])
local day = 86400000
-- Entries leaving the window leave their company's count too (each entry is read once here, so
-- a call costs the same however full the window is).
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
if #expired > 0 then
  for _, member in ipairs(expired) do
    local owner = string.match(member, '^(.*)|') or ''
    if redis.call('HINCRBY', KEYS[6], owner, -1) <= 0 then redis.call('HDEL', KEYS[6], owner) end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
end
local count = redis.call('ZCARD', KEYS[1])
if count == 0 then redis.call('DEL', KEYS[6]) end
if company ~= '-' then redis.call('ZADD', KEYS[3], now, company) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - day)
redis.call('PEXPIRE', KEYS[3], day)
local shared = redis.call('ZCARD', KEYS[3]) > 1
local used = {}
local active = 0
local counts = redis.call('HGETALL', KEYS[6])
for i = 1, #counts, 2 do
  used[counts[i]] = tonumber(counts[i + 1])
  active = active + 1
end
local mine = used[company] or 0
if mine == 0 then active = active + 1 end
local oldestWait = 1
if count > 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  oldestWait = math.max(1, tonumber(oldest[2]) + window - now + 1)
end
local tokens = nil
if shared then
  local rate = limit / window
  local state = redis.call('HGET', KEYS[5], company)
  if state then
    local left, at = string.match(state, '^([%d%.]+)|(%d+)$')
    if left ~= nil then
      tokens = math.min(burst, tonumber(left) + math.max(0, now - tonumber(at)) * rate)
    end
  end
  if tokens == nil then tokens = burst end
  if tokens < 1 then return -math.max(1, math.ceil((1 - tokens) / rate)) end
  -- Over its share of the window (limit / companies using it): the last slots are kept for the others.
  if count >= limit - reserve and mine * active >= limit then return -oldestWait end
end
local wait = nil
if count >= limit then wait = oldestWait end
if wait == nil then
  local waiting = redis.call('HGETALL', KEYS[4])
  for i = 1, #waiting, 2 do
    local other = waiting[i]
    local since, otherClass = string.match(waiting[i + 1], '^(%d+)|(%a)$')
    if since == nil or tonumber(since) < now - 2000 then
      redis.call('HDEL', KEYS[4], other)
    elseif other ~= company then
      if (otherClass == 'i' and class == 'b') or (otherClass == class and (used[other] or 0) < mine) then
        wait = -50
      end
    end
  end
end
if wait ~= nil then
  local current = redis.call('HGET', KEYS[4], company)
  local keep = class == 'b' and current and string.sub(current, -1) == 'i'
  if keep then
    redis.call('HSET', KEYS[4], company, now .. '|i')
  else
    redis.call('HSET', KEYS[4], company, now .. '|' .. class)
  end
  redis.call('PEXPIRE', KEYS[4], 5000)
  return wait
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window + 1000)
redis.call('HINCRBY', KEYS[6], company, 1)
redis.call('PEXPIRE', KEYS[6], window + 1000)
redis.call('HDEL', KEYS[4], company)
if shared then
  redis.call('HSET', KEYS[5], company, string.format('%.6f', tokens - 1) .. '|' .. now)
  redis.call('PEXPIRE', KEYS[5], day)
end
return 0
`;

/**
 * Pauses a key until `now + ms` (never shortens an existing pause).
 * KEYS[1] = the pause marker; ARGV[1] = ms. Returns the pause end in ms since the epoch.
 */
export const PAUSE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current >= untilMs then return current end
redis.call('SET', KEYS[1], untilMs, 'PX', tonumber(ARGV[1]) + 1000)
return untilMs
`;

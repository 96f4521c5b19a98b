/**
 * Sliding-window log per Cal.com key, in one Redis sorted set per key.
 *
 * Why a sliding log and not a token bucket or BullMQ's limiter: Cal.com counts requests per key in
 * fixed 60-second windows and blocks the key for 60 s when one window goes over. A log that never
 * holds more than `limit` entries in ANY 60-second span can never overflow ANY fixed window, however
 * Cal.com aligns it — so we can run at the full budget with zero 429s. BullMQ's limiter is per queue,
 * which would let one company's backlog stall every other company's key.
 *
 * KEYS[1] = the log (sorted set, score = ms), KEYS[2] = the pause marker (value = until, ms)
 * ARGV[1] = limit, ARGV[2] = window ms, ARGV[3] = unique member id
 * Returns 0 when a request slot was taken, else the ms to wait before trying again.
 */
export const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return paused - now end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now + 1
if wait < 1 then wait = 1 end
return wait
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

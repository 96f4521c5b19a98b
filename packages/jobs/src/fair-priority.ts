import type { Redis } from 'ioredis';

/** BullMQ's highest priority number (the lowest priority). */
export const MAX_PRIORITY = 2_097_151;

/**
 * Fair order between the companies whose jobs share a queue (start-time fair queuing on BullMQ's
 * priorities). A job's priority is one past the later of its company's previous job and the job
 * next in line, so a company's n-th waiting job runs after every other company's n-th: a company
 * that enqueues 2,000 bookings at once does not push another company's one booking 2,000 places
 * back. A job put back for the budget takes its company's next place again (the back of its own
 * line), so a backlog that is put back again and again never stays ahead of a newcomer. When the
 * queue is idle (nothing waiting, delayed or running) the counters start again from 1: no
 * unbounded growth (BullMQ's priorities end at 2^21). A finished job's company is forgotten soon
 * (`forgetFairJobs`, a few at a time), so that a queue that is never idle does not collect one per job.
 *
 * Reads BullMQ's own keys under `<prefix>:<queue>` (`prioritized`: score = priority * 2^32 + a
 * counter; `delayed`, `active`): `packages/jobs/test/fair-priority.test.ts` pins that layout, so an
 * upgrade that changes it fails there first.
 *
 * KEYS[1] = the counters (hash group -> last priority), KEYS[2] = each job's group (hash job id ->
 * group), KEYS[3] = prioritized, KEYS[4] = delayed, KEYS[5] = active
 * ARGV[1] = the group (company), or '' to look it up by the job id; ARGV[2] = the job's current
 * priority (when put back); ARGV[3..] = the ids of the jobs that take the place (one, or every job
 * of a composite flow; a job put back passes its own)
 * Returns the priority the jobs take.
 */
const FAIR_PRIORITY_SCRIPT = `
local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local next = 0
if #first == 0 then
  if redis.call('ZCARD', KEYS[4]) == 0 and redis.call('LLEN', KEYS[5]) == 0 then
    redis.call('DEL', KEYS[1], KEYS[2])
  end
else
  next = math.floor(tonumber(first[2]) / 4294967296)
end
local group = ARGV[1]
if group == '' then
  group = redis.call('HGET', KEYS[2], ARGV[3])
  if not group then return math.max(tonumber(ARGV[2]), next) end
else
  for i = 3, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], group) end
  redis.call('PEXPIRE', KEYS[2], 86400000)
end
local last = tonumber(redis.call('HGET', KEYS[1], group) or '0')
local priority = math.max(last, next - 1) + 1
if priority > ${MAX_PRIORITY} then priority = ${MAX_PRIORITY} end
redis.call('HSET', KEYS[1], group, priority)
redis.call('PEXPIRE', KEYS[1], 86400000)
return priority
`;

type ScriptCall = (...args: string[]) => Promise<number>;

function fairScript(redis: Redis): ScriptCall {
  const commands = redis as unknown as Record<string, ScriptCall | undefined>;
  if (commands.calgateFairPriority === undefined) {
    redis.defineCommand('calgateFairPriority', { numberOfKeys: 5, lua: FAIR_PRIORITY_SCRIPT });
  }
  return commands.calgateFairPriority as ScriptCall;
}

/** The hash job id -> group, under `<prefix>:<queue>`. */
const GROUPS = 'fair-groups';

function run(redis: Redis, qualifiedQueue: string, args: string[]): Promise<number> {
  const key = (part: string) => `${qualifiedQueue}:${part}`;
  return fairScript(redis)
    .call(redis, key('fair'), key(GROUPS), key('prioritized'), key('delayed'), key('active'), ...args)
    .then(Number);
}

/**
 * The priority of new work of `group` in the queue `<prefix>:<queue>`: one place in its company's
 * line, taken by every job in `jobIds` (a composite flow's segments and finalize job share one),
 * each recorded as the group's so that a job put back later finds its company.
 */
export function fairPriority(
  redis: Redis,
  qualifiedQueue: string,
  group: string,
  jobIds: readonly string[],
): Promise<number> {
  return run(redis, qualifiedQueue, [group, '0', ...jobIds]);
}

/**
 * The priority a prioritized job put back to wait (its Cal.com budget is used up for now) takes:
 * its company's next place, or, for a job whose company is not known, the place of the job now
 * next in line (behind it).
 */
export function requeuePriority(
  redis: Redis,
  /** `<prefix>:<queue>` (BullMQ's qualified queue name). */
  qualifiedQueue: string,
  jobId: string,
  priority: number,
): Promise<number> {
  return run(redis, qualifiedQueue, ['', String(priority), jobId]);
}

/**
 * Forgets the groups of jobs that have finished (completed, or failed for good): they will not be
 * put back, so nothing needs their company any more.
 */
export async function forgetFairJobs(redis: Redis, qualifiedQueue: string, jobIds: string[]): Promise<void> {
  if (jobIds.length > 0) await redis.hdel(`${qualifiedQueue}:${GROUPS}`, ...jobIds);
}

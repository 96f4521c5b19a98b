import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { appointmentHistory, appointments, createDb, ensureDatabase, runMigrations } from '@calgate/db';
import type { TestDatabase } from '@calgate/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, startGateway, testDays } from '../support/gateway.ts';
import { checkConsistency, drain, freePort, pool, report } from './support.ts';

/** A PostgreSQL instance of our own on a spare port, which this test stops and starts. */
function throwawayPostgres(port: number) {
  const bin = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'calgate-pg-'));
  const root = process.getuid?.() === 0;
  const argv = (command: string, args: string[]): [string, string[]] =>
    root ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]] : [join(bin, command), args];
  const asPostgres = (command: string, args: string[]) => {
    execFileSync(...argv(command, args), { stdio: 'ignore' });
  };
  // Stopping and starting during the scenario must not block this process's event loop: the API
  // under test runs in it, and a blocked loop would inflate the answer times being measured.
  const asPostgresAsync = async (command: string, args: string[]) => {
    await promisify(execFile)(...argv(command, args));
  };
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  const data = join(dir, 'data');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/calgate_outage`,
    init() {
      asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    },
    start() {
      return asPostgresAsync('pg_ctl', [
        '-D',
        data,
        '-w',
        '-o',
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
        // pg_ctl's own output would otherwise keep its pipe (and the start) waiting on the server.
        '-l',
        join(dir, 'server.log'),
        'start',
      ]);
    },
    /** An immediate stop: what a crash or a failover looks like to the gateway. */
    stop() {
      return asPostgresAsync('pg_ctl', ['-D', data, '-w', '-m', 'immediate', 'stop']);
    },
    remove() {
      try {
        asPostgres('pg_ctl', ['-D', data, '-w', '-m', 'immediate', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A refused caller's bound (`@calgate/db`): its query may wait for a connection attempt already
 * under way (at most the 3 s connect timeout), then gets its own after a pause of at most 0.5 s
 * (at most 3 s more): 6.5 s, with fewer concurrent callers than pool connections, as here. The
 * typical refusal (the 90th percentile) must keep to it. The slowest of some 70 is timed in the
 * process that also runs the API, the worker and the sandbox, and a request may make several
 * queries: it may take longer on a busy machine, but is never left hanging (15 s).
 */
const CONNECT_TIMEOUT_MS = 3_000;
const RECONNECT_PAUSE_MS = 500;
const DESIGN_503_MS = 2 * CONNECT_TIMEOUT_MS + RECONNECT_PAUSE_MS;
const BOUND_503_MS = 15_000;
/** Retries, 1 s apart, a refused request needs once the database is back: well inside the 45 s lease. */
const MOST_ATTEMPTS = 15;

let pg: ReturnType<typeof throwawayPostgres>;
let gw: Gateway;
beforeAll(async () => {
  pg = throwawayPostgres(await freePort());
  pg.init();
  await pg.start();
  await ensureDatabase(pg.url);
  await runMigrations(pg.url);
  const { db, sql, close } = createDb(pg.url, { max: 5 });
  const database: TestDatabase = { url: pg.url, name: 'calgate_outage', db, sql, drop: close };
  gw = await startGateway({ database, env: { SWEEP_INTERVAL_SECONDS: '2' } });
  gw.sandbox.control.setLatency(40);
});
afterAll(async () => {
  await gw?.close().catch(() => undefined);
  pg?.remove();
});

describe('scenario 5: PostgreSQL outage', () => {
  it('intake answers 503 while it is down, nothing is half-written, and everything recovers', async () => {
    const days = testDays(12);
    const requests = Array.from({ length: 120 }, (_, i) => ({
      key: `outage-${i}`,
      body: {
        serviceId: gw.company.serviceIds[0],
        start: berlin(
          days[Math.floor(i / 10)] as string,
          `${String(9 + Math.floor((i % 10) / 2)).padStart(2, '0')}:${i % 2 === 0 ? '00' : '30'}`,
        ),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Outage', email: `outage-${i}@example.org` },
      },
    }));
    const send = (r: (typeof requests)[number]) =>
      gw.app.inject({
        method: 'POST',
        url: '/api/v2/bookings',
        headers: auth(gw.company.token, { 'idempotency-key': r.key }),
        payload: r.body,
      });
    const answers: Record<string, number> = {};
    const refused: Array<(typeof requests)[number]> = [];
    const accepted: string[] = [];
    let outage: Promise<void> | undefined;
    /** When the stop command was issued, and each 503's time from its request sent to its answer. */
    let outageStartedAt: number | undefined;
    let first503At: number | undefined;
    const answer503Ms: number[] = [];
    let sent = 0;
    await pool(
      4,
      requests.map((r) => async () => {
        sent++;
        if (sent === 40) {
          outage = (async () => {
            outageStartedAt = performance.now();
            await pg.stop();
            await new Promise((resolve) => setTimeout(resolve, 3_000));
            await pg.start();
          })();
        }
        const sentAt = performance.now();
        const res = await send(r);
        const answeredAt = performance.now();
        if (res.statusCode === 503) {
          answer503Ms.push(Math.round(answeredAt - sentAt));
          first503At ??= answeredAt;
        }
        const key =
          res.statusCode >= 400 ? `${res.statusCode} ${res.json().error.code}` : String(res.statusCode);
        answers[key] = (answers[key] ?? 0) + 1;
        if (res.statusCode === 202) accepted.push(res.json().id);
        else refused.push(r);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }),
    );
    await outage;
    // After the restart, the refused requests are sent again, as a caller would: a 503 says "try
    // again shortly" (connections the crash broke are replaced on first use); a 409
    // IDEMPOTENCY_KEY_IN_USE means the first request did record the appointment but its answer was
    // lost: its key is settled as soon as the database answers again, and then replays.
    const retried: Record<string, number> = {};
    const attempts: number[] = [];
    await Promise.all(
      refused.map(async (r) => {
        for (let attempt = 1; attempt <= 60; attempt++) {
          const res = await send(r);
          retried[res.statusCode] = (retried[res.statusCode] ?? 0) + 1;
          // A replay answers with the appointment as it is now: 202 pending or 201 confirmed.
          if (res.statusCode === 202 || res.statusCode === 201) {
            accepted.push(res.json().id);
            attempts.push(attempt);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 1_000));
        }
      }),
    );
    const drainStarted = Date.now();
    await drain(gw, 120_000);
    const drainMs = Date.now() - drainStarted;
    const rows = await gw.database.db.select().from(appointments);
    const history = await gw.database.db
      .select({ id: appointmentHistory.appointmentId })
      .from(appointmentHistory);
    const withHistory = new Set(history.map((h) => h.id));
    const halfWritten = rows.filter((r) => !withHistory.has(r.id)).length;
    const consistency = await checkConsistency(gw);
    const firstMs =
      first503At === undefined || outageStartedAt === undefined
        ? undefined
        : Math.round(first503At - outageStartedAt);
    const slowest503Ms = answer503Ms.length === 0 ? undefined : Math.max(...answer503Ms);
    const sorted503Ms = [...answer503Ms].sort((x, y) => x - y);
    const p90503Ms = sorted503Ms[Math.ceil(sorted503Ms.length * 0.9) - 1];
    report('postgres-outage', {
      requests: requests.length,
      answers,
      first503AfterStopMs: firstMs,
      slowest503Ms,
      p90503Ms,
      retriedAfterRestart: retried,
      mostAttempts: Math.max(0, ...attempts),
      drainMs,
      appointments: rows.length,
      halfWritten,
      byStatus: consistency.byStatus,
      calcomBookingsMade: consistency.calcomBookingsMade,
      sandboxAccepted: consistency.sandboxAccepted,
      orphans: consistency.orphans.length,
      duplicates: consistency.duplicates.length,
      missing: consistency.missing.length,
    });
    const outageAnswers = Object.keys(answers).filter((k) => k !== '202');
    expect(outageAnswers.length).toBeGreaterThan(0);
    expect(outageAnswers.every((k) => k.startsWith('503 '))).toBe(true);
    // The design's promise: a caller is refused within a bound set by the connect timeout, never
    // left hanging (the first 503 is counted from the stop command).
    expect(answer503Ms).toHaveLength(refused.length);
    expect(p90503Ms).toBeLessThanOrEqual(DESIGN_503_MS);
    expect(slowest503Ms).toBeLessThanOrEqual(BOUND_503_MS);
    expect(firstMs).toBeLessThanOrEqual(DESIGN_503_MS);
    expect((retried[202] ?? 0) + (retried[201] ?? 0)).toBe(refused.length);
    // Nobody waits out the in-flight lease (45 s) after the database is back: a key its request
    // left in flight is settled by the API within the connect timeout and the retry pause.
    expect(Math.max(...attempts)).toBeLessThanOrEqual(MOST_ATTEMPTS);
    expect(Object.keys(retried).every((status) => ['201', '202', '409', '503'].includes(status))).toBe(true);
    expect(new Set(accepted).size).toBe(requests.length);
    expect(rows).toHaveLength(requests.length);
    expect(halfWritten).toBe(0);
    expect(consistency.notTerminal).toBe(0);
    // Every request was retried until accepted, and every slot was free: all confirmed, each booked
    // exactly once in Cal.com (no booking made and cancelled again).
    expect(consistency.byStatus).toEqual({ confirmed: requests.length });
    expect(consistency.calcomBookingsMade).toBe(requests.length);
    expect(consistency.sandboxAccepted).toBe(requests.length);
    expect(consistency.orphans).toEqual([]);
    expect(consistency.duplicates).toEqual([]);
    expect(consistency.missing).toEqual([]);
  });
});

import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.ts';

const CHECK_TIMEOUT_MS = 2_000;

async function check(
  probe: () => Promise<unknown>,
): Promise<{ ok: boolean; latencyMs: number; error?: string }> {
  const started = performance.now();
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS).unref()),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** Liveness and readiness for orchestrators. Readiness means Postgres and Redis answer. */
export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get('/health/live', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/health/ready', { schema: { hide: true } }, async (request, reply) => {
    const [postgres, redis] = await Promise.all([
      check(() => deps.sql`select 1`),
      check(() => deps.redis.ping()),
    ]);
    const ready = postgres.ok && redis.ok;
    // The reason goes to the log; the answer (unauthenticated) says only what is down.
    for (const [name, result] of [
      ['postgres', postgres],
      ['redis', redis],
    ] as const) {
      if (!result.ok) request.log.warn({ dependency: name, reason: result.error }, 'readiness check failed');
    }
    const shown = (r: typeof postgres) => ({ ok: r.ok, latencyMs: r.latencyMs });
    return reply
      .status(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'unavailable', postgres: shown(postgres), redis: shown(redis) });
  });
}

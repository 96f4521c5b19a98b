import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { isOperator } from '@calgate/config';
import { calcomHealth } from '@calgate/domain';
import { AppError } from '@calgate/errors';
import { QUEUE_NAMES } from '@calgate/jobs';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.ts';
import { registerDashboardAuth } from '../plugins/dashboard-auth.ts';

export const DASHBOARD_PATH = '/admin/queues';

/**
 * What operators look at: the Bull Board dashboard and Prometheus metrics, both behind HTTP
 * basic auth with ADMIN_USERNAME / ADMIN_PASSWORD (without them both answer 404), and the
 * original design's `GET /api/health/calcom`.
 */
export async function operatorRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(
    '/api/health/calcom',
    { schema: { tags: ['health'], summary: 'Cal.com integration health' } },
    async (request, reply) => {
      const { accounts, ...health } = await calcomHealth(deps, {
        publicBaseUrl:
          deps.config.http.publicBaseUrl ?? `http://${deps.config.http.host}:${deps.config.http.port}`,
        ttlSeconds: deps.config.sync.healthProbeTtlSeconds,
      });
      // Anyone may ask (monitors do); which companies there are, and how their keys fare, is
      // for operators only.
      const admin = deps.config.admin;
      const operator = admin !== undefined && isOperator(request.headers.authorization, admin);
      return reply
        .status(health.status === 'unhealthy' ? 503 : 200)
        .send(operator ? { ...health, accounts } : health);
    },
  );

  const admin = deps.config.admin;
  await app.register(async (scope) => {
    if (admin === undefined) {
      const disabled = async () => {
        throw new AppError(
          'NOT_FOUND',
          'The dashboard and metrics are disabled: set ADMIN_USERNAME and ADMIN_PASSWORD',
        );
      };
      scope.get('/metrics', { schema: { hide: true } }, disabled);
      scope.get(DASHBOARD_PATH, { schema: { hide: true } }, disabled);
      scope.get(`${DASHBOARD_PATH}/*`, { schema: { hide: true } }, disabled);
      return;
    }
    registerDashboardAuth(scope, admin, deps.operatorLogins);

    scope.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      await readQueueDepths(deps);
      const body = await deps.metrics.registry.metrics();
      return reply.type(deps.metrics.registry.contentType).send(body);
    });

    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(DASHBOARD_PATH);
    createBullBoard({
      queues: deps.queues.all().map((queue) => new BullMQAdapter(queue)),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'calgate queues' } },
    });
    await scope.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
  });
}

async function readQueueDepths(deps: ApiDeps): Promise<void> {
  const states = [
    'waiting',
    'active',
    'delayed',
    'failed',
    'completed',
    'waiting-children',
    'prioritized',
  ] as const;
  await Promise.all(
    QUEUE_NAMES.map(async (name) => {
      const counts = await deps.queues
        .queue(name)
        .getJobCounts(...states)
        .catch(() => undefined);
      if (counts === undefined) return;
      for (const state of states) deps.metrics.queueDepth.set({ queue: name, state }, counts[state] ?? 0);
    }),
  );
  const shared = await deps.counters.read().catch(() => undefined);
  if (shared !== undefined) {
    for (const [name, value] of Object.entries(shared)) deps.metrics.events.set({ name }, value);
  }
}

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { createContext } from './context.ts';
import { createControl, type SandboxControl } from './control.ts';
import { controlRoutes } from './control-routes.ts';
import { defaultFaultBody, SandboxHttpError, shape1 } from './errors.ts';
import { pickSeed, SandboxRandom } from './random.ts';
import { accountRoutes } from './routes/account.ts';
import { bookingRoutes } from './routes/bookings.ts';
import { schedulingRoutes } from './routes/scheduling.ts';
import { teamRoutes } from './routes/teams.ts';
import { demoSeed } from './seed.ts';
import { SandboxStore } from './store.ts';
import { FaultBook, RateLimiter, RequestLog } from './traffic.ts';
import type { FaultSpec, SandboxOperation, SandboxSeed } from './types.ts';
import { WebhookDispatcher } from './webhooks.ts';

export interface SandboxOptions {
  /** @defaultValue demoSeed() */
  seed?: SandboxSeed;
  /** Requests per minute per API key. @defaultValue 120 */
  rateLimitPerMinute?: number;
  /** @defaultValue 60 */
  rateLimitBlockSeconds?: number;
  /** Added to every API call. @defaultValue 0 */
  latencyMs?: number;
  /** Fastify request logging. @defaultValue false */
  logger?: boolean;
  /** Clock, for tests. @defaultValue Date.now */
  now?: () => number;
  /**
   * Seeds the decisions of faults and webhook drops that have a probability, so a run can be
   * replayed; the seed in use is in `control.state().randomSeed`. @defaultValue a random one
   */
  randomSeed?: number;
}

/** cal-api-version each family answers to; anything else is routed elsewhere by Cal.com. */
const VERSIONS: Record<string, readonly string[]> = {
  slots: ['2024-09-04'],
  bookings: ['2024-08-13', '2026-02-25'],
  eventTypes: ['2024-06-14'],
};

declare module 'fastify' {
  interface FastifyRequest {
    faultAfter: FaultSpec | null;
    arrivedAt: number;
    arrivedAtWall: number;
    /** The booking a create or reschedule made, for the request log. */
    createdUid: string | null;
    logged: boolean;
  }
}

const fingerprint = (key: string) => `key_${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;

/** The sandbox as a Fastify app (not listening) and its control surface. */
export function createSandboxApp(options: SandboxOptions = {}): {
  app: FastifyInstance;
  control: SandboxControl;
} {
  const seed = options.seed ?? demoSeed();
  const store = new SandboxStore(seed, options.now);
  const random = new SandboxRandom(options.randomSeed ?? pickSeed());
  const dispatcher = new WebhookDispatcher(store, () => random.drop());
  store.onChange = (change) => dispatcher.dispatch(change);
  const ctx = createContext(store, dispatcher, options.latencyMs ?? 0);
  const limiter = new RateLimiter(options.rateLimitPerMinute ?? 120, options.rateLimitBlockSeconds ?? 60);
  const faults = new FaultBook(() => random.fault());
  const log = new RequestLog();
  const control = createControl(ctx, { faults, limiter, log, seed, random });

  const app = Fastify({
    logger: options.logger ?? false,
    forceCloseConnections: true,
    bodyLimit: 1024 * 1024,
  });
  app.decorateRequest('sandboxUser', null);
  app.decorateRequest('keyFingerprint', null);
  app.decorateRequest('faultAfter', null);
  app.decorateRequest('arrivedAt', 0);
  app.decorateRequest('arrivedAtWall', 0);
  app.decorateRequest('createdUid', null);
  app.decorateRequest('logged', false);

  const operationOf = (request: FastifyRequest) =>
    (request.routeOptions.config.operation ?? 'unknown') as SandboxOperation | 'unknown';
  const isApi = (request: FastifyRequest) => request.url.startsWith('/v2/');

  app.addHook('onRequest', async (request, reply) => {
    request.arrivedAt = performance.now();
    request.arrivedAtWall = store.now();
    if (!isApi(request)) return;
    const header = request.headers.authorization;
    const token = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim())?.[1] : undefined;
    if (token !== undefined) {
      request.keyFingerprint = fingerprint(token);
      request.sandboxUser = store.usersByKey.get(token) ?? null;
    }
    const verdict = limiter.hit(request.keyFingerprint ?? `ip:${request.ip}`, store.now());
    reply.header('x-ratelimit-limit-default', String(limiter.limit));
    reply.header('x-ratelimit-remaining-default', String(verdict.remaining));
    reply.header('x-ratelimit-reset-default', String(verdict.resetSeconds));
    if (!verdict.allowed) throw shape1(429, request.url, 'ThrottlerException: Too Many Requests');
  });

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isApi(request)) return;
    const family = request.routeOptions.config.family ?? 'none';
    const allowed = VERSIONS[family];
    const version = request.headers['cal-api-version'];
    if (allowed !== undefined && (typeof version !== 'string' || !allowed.includes(version))) {
      throw shape1(
        404,
        request.url,
        `Cannot ${request.method} ${request.url.split('?')[0]} with cal-api-version ${String(version ?? '(none)')}: send ${allowed.join(' or ')}`,
      );
    }
    const operation = operationOf(request);
    const hasKey = request.headers.authorization !== undefined;
    if ((operation !== 'slots.get' || hasKey) && request.sandboxUser === null) {
      throw shape1(401, request.url, 'Invalid Access Token.');
    }
    const fault = faults.take(operation);
    if (fault === undefined) return;
    if (fault.afterEffect === true) {
      // The operation happens now; the delay and the status apply to the answer (onSend).
      request.faultAfter = fault;
      return;
    }
    if (fault.latencyMs !== undefined) await sleep(fault.latencyMs);
    if (fault.timeout === true) {
      // Never answer: the client's timeout decides; closing the sandbox drops the socket. The call
      // is logged (status 0) when the client hangs up: Fastify's abort hook misses a request whose
      // body was read in full, as every call's is by now.
      reply.raw.once('close', () => record(request, 0));
      await new Promise(() => {});
    }
    if (fault.status === undefined) return;
    if (fault.status === 429) reply.header('x-ratelimit-remaining-default', '0');
    for (const [name, value] of Object.entries(fault.headers ?? {})) reply.header(name, value);
    return reply.status(fault.status).send(fault.body ?? defaultFaultBody(fault.status, request.url));
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const fault = request.faultAfter;
    if (fault === null) return payload;
    if (fault.latencyMs !== undefined) await sleep(fault.latencyMs);
    if (fault.status === undefined) return payload;
    reply.status(fault.status);
    reply.header('content-type', 'application/json; charset=utf-8');
    for (const [name, value] of Object.entries(fault.headers ?? {})) reply.header(name, value);
    return JSON.stringify(fault.body ?? defaultFaultBody(fault.status, request.url));
  });

  // Logged with the time the request arrived (what a per-minute limit counts), before the answer
  // leaves: a client that has its answer finds the call in the log. A request the client gave up
  // on before an answer is logged with status 0.
  const record = (request: FastifyRequest, status: number) => {
    if (request.logged) return;
    request.logged = true;
    log.push({
      at: request.arrivedAtWall,
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      operation: operationOf(request),
      keyFingerprint: request.keyFingerprint,
      status,
      ms: performance.now() - request.arrivedAt,
      startedAt: request.arrivedAt,
      createdUid: request.createdUid,
    });
  };
  app.addHook('onSend', async (request, reply, payload) => {
    if (isApi(request)) record(request, reply.statusCode);
    return payload;
  });
  app.addHook('onRequestAbort', async (request) => {
    if (isApi(request)) record(request, 0);
  });

  app.setErrorHandler((error: FastifyError | SandboxHttpError, request, reply) => {
    if (error instanceof SandboxHttpError) return reply.status(error.status).send(error.body);
    const status = (error as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.status(status).send(shape1(status, request.url, error.message).body);
    }
    request.log.error({ err: error }, 'sandbox failure');
    return reply.status(500).send({ statusCode: 500, message: 'Internal server error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(shape1(404, request.url, `Cannot ${request.method} ${request.url.split('?')[0]}`).body),
  );

  schedulingRoutes(app, ctx);
  bookingRoutes(app, ctx);
  accountRoutes(app, ctx);
  teamRoutes(app, ctx);
  controlRoutes(app, control);
  return { app, control };
}

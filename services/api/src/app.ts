import { randomUUID } from 'node:crypto';
import { AppError } from '@calgate/errors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiDeps } from './deps.ts';
import { registerCompanyAuth } from './plugins/auth.ts';
import { frameworkErrors, registerErrorHandling } from './plugins/error-handler.ts';
import { registerRateLimit } from './plugins/rate-limit.ts';
import { unstorableMessage, unstorablePath } from './plugins/unstorable.ts';
import { ADMIN_API_PREFIX, adminRoutes } from './routes/admin/index.ts';
import { healthRoutes } from './routes/health.ts';
import { operatorRoutes } from './routes/operators.ts';
import { bookingRoutes } from './routes/v2/bookings.ts';
import { holdRoutes } from './routes/v2/holds.ts';
import { lookupRoutes } from './routes/v2/lookup.ts';
import { serviceRoutes } from './routes/v2/services.ts';
import { webhookRoutes } from './routes/webhooks.ts';

/** How long a client may take to send a whole request (headers and body). */
export const REQUEST_TIMEOUT_MS = 30_000;

/** What a caller's request id may look like: letters, digits and `._:-`, at most 64 characters. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Builds the HTTP app without listening: `main.ts` listens, tests call `app.inject()`.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is Fastify's logger; the cast bridges the two packages' type declarations.
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: deps.config.http.bodyLimitBytes,
    // Fastify's default is no limit: a client trickling a webhook body in (read whole before any
    // check) could hold a connection and its buffer for ever. 30 s to send a whole request.
    requestTimeout: REQUEST_TIMEOUT_MS,
    // A caller's X-Request-Id is kept when it looks like an id (it ends up in logs and error
    // bodies); anything else gets one of ours.
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>();
  // With tracing configured: one server span per request, active while the handler runs, so
  // enqueued jobs and Cal.com calls join the request's trace. Without it, nothing is installed.
  if (deps.config.tracing) {
    const { FastifyOtelInstrumentation } = await import('@fastify/otel');
    const otel = new FastifyOtelInstrumentation({
      instrumentHooks: false,
      ignorePaths: (route) => route.url.startsWith('/health') || route.url.startsWith('/docs'),
    });
    await app.register(otel.plugin());
  }
  app.setValidatorCompiler(validatorCompiler);
  // Response schemas document the API (/docs); answers are built from typed code and tested, so
  // they are serialised without validating each one again (which cost most of a hot request).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  registerErrorHandling(app);
  // Every answer names its request id, so a caller can quote it and an operator find its log lines.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'calgate booking gateway',
        description:
          'Availability and bookings in front of Cal.com. Errors: {"error":{"code","message","details"}}.',
        version: '1.0.0',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A company API token' },
          operator: {
            type: 'http',
            scheme: 'basic',
            description: 'Operator credentials (ADMIN_USERNAME / ADMIN_PASSWORD), for /api/admin/v1',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Our API takes JSON only: a text/plain body is 415 as any other type is (Fastify parses it by
  // default, and the schema then said "expected object" instead). Webhooks keep their own parsers.
  app.removeContentTypeParser('text/plain');
  // DELETE and friends may come with Content-Type: application/json and no body at all.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, body as string, (error, parsed) => {
      if (error !== null) {
        done(error, undefined);
        return;
      }
      const field = unstorablePath(parsed);
      if (field === undefined) {
        done(null, parsed);
        return;
      }
      const named = field === '' ? 'body' : `body.${field}`;
      done(
        new AppError('VALIDATION_FAILED', unstorableMessage(named), { details: { field: named } }),
        undefined,
      );
    });
  });

  await app.register(async (scope) => healthRoutes(scope, deps));
  await app.register(async (scope) => webhookRoutes(scope, deps));
  await app.register(async (scope) => operatorRoutes(scope, deps));
  await app.register(async (scope) => adminRoutes(scope, deps), { prefix: ADMIN_API_PREFIX });
  await app.register(
    async (scope) => {
      registerCompanyAuth(scope, deps.tokens);
      registerRateLimit(scope, deps);
      await serviceRoutes(scope, deps);
      await bookingRoutes(scope, deps);
      await holdRoutes(scope, deps);
      await lookupRoutes(scope, deps);
    },
    { prefix: '/api/v2' },
  );
  return app;
}

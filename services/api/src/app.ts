import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ApiDeps } from './deps.ts';
import { registerCompanyAuth } from './plugins/auth.ts';
import { frameworkErrors, registerErrorHandling } from './plugins/error-handler.ts';
import { webhookEndpointAdminRoutes } from './routes/admin/webhook-endpoints.ts';
import { healthRoutes } from './routes/health.ts';
import { operatorRoutes } from './routes/operators.ts';
import { bookingRoutes } from './routes/v2/bookings.ts';
import { serviceRoutes } from './routes/v2/services.ts';
import { webhookRoutes } from './routes/webhooks.ts';

/**
 * Builds the HTTP app without listening: `main.ts` listens, tests call `app.inject()`.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is Fastify's logger; the cast bridges the two packages' type declarations.
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: deps.config.http.bodyLimitBytes,
    // Request ids from a trusted proxy are kept; otherwise Fastify generates one.
    requestIdHeader: 'x-request-id',
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
          operator: { type: 'http', scheme: 'basic', description: 'ADMIN_USERNAME / ADMIN_PASSWORD' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // DELETE and friends may come with Content-Type: application/json and no body at all.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (typeof body === 'string' && body.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, body as string, done);
  });

  await app.register(async (scope) => healthRoutes(scope, deps));
  await app.register(async (scope) => webhookRoutes(scope, deps));
  await app.register(async (scope) => operatorRoutes(scope, deps));
  await app.register(async (scope) => webhookEndpointAdminRoutes(scope, deps), { prefix: '/api/admin/v1' });
  await app.register(
    async (scope) => {
      registerCompanyAuth(scope, deps.db);
      await serviceRoutes(scope, deps);
      await bookingRoutes(scope, deps);
    },
    { prefix: '/api/v2' },
  );
  return app;
}

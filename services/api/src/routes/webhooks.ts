import { acceptWebhook, WEBHOOK_PATH } from '@calgate/domain';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';

/** Validated by the route's schema: a bad id is a 400 naming it, never an error inside the handler. */
const companyParams = z.object({ companyId: z.string().min(1).max(64) });

/**
 * Cal.com webhooks: verified over the raw bytes, stored in the inbox, enqueued, and answered 200
 * before any processing. `POST /api/webhooks/calcom` serves only the shared account
 * (CALCOM_WEBHOOK_SECRET; each delivery goes to the company whose scope owns its event type);
 * `POST /api/webhooks/calcom/:companyId` serves a company's own account and verifies only with
 * that company's secret (and, briefly after a rotation, the one before).
 */
export async function webhookRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // The signature covers the exact bytes Cal.com sent: keep them, parse JSON ourselves.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
  const secrets = {
    defaultSecret: deps.config.calcom.webhookSecret,
    negativeCacheMs: deps.config.limits.negativeCacheMs,
  };

  const handler = async (request: FastifyRequest) => {
    const { companyId } = request.params as { companyId?: string };
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const header = request.headers['x-cal-signature-256'];
    // Errors take the one mapping of the error handler: PostgreSQL and Redis both away (verified
    // but kept nowhere; Cal.com does not retry, the reconciliation catches up) is a retryable 503,
    // anything else is a bug answered 500 and logged. PostgreSQL alone away: kept in Redis, 200.
    const accepted = await acceptWebhook(deps, secrets, {
      rawBody,
      signature: Array.isArray(header) ? header[0] : header,
      companyId,
    });
    return { received: true, id: accepted.inboxId, duplicate: accepted.duplicate };
  };
  const schema = { hide: false, tags: ['webhooks'] };
  app.post(
    WEBHOOK_PATH,
    { schema: { ...schema, summary: 'Cal.com webhooks of the shared account (CALCOM_WEBHOOK_SECRET)' } },
    handler,
  );
  app.post(
    `${WEBHOOK_PATH}/:companyId`,
    {
      schema: {
        ...schema,
        summary: "Cal.com webhooks of a company's own account (its own secret)",
        params: companyParams,
      },
    },
    handler,
  );
}

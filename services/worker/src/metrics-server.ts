import { createServer, type Server } from 'node:http';
import { isOperator, OPERATOR_CHALLENGE, type OperatorCredentials } from '@calgate/config';
import type { Metrics } from '@calgate/telemetry/metrics';

/**
 * The worker's Prometheus endpoint: `GET /metrics` on its own port, nothing else, behind the same
 * operator credentials as the API's /metrics (ADMIN_USERNAME / ADMIN_PASSWORD). Without them it
 * answers 404, as the API does: metrics name queues and companies' activity.
 */
export async function serveMetrics(
  metrics: Metrics,
  host: string,
  port: number,
  credentials: OperatorCredentials | undefined,
): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    if (credentials === undefined) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: {
            code: 'NOT_FOUND',
            message: 'Metrics are disabled: set ADMIN_USERNAME and ADMIN_PASSWORD',
            details: {},
          },
        }),
      );
      return;
    }
    if (!isOperator(request.headers.authorization, credentials)) {
      response
        .writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': OPERATOR_CHALLENGE,
        })
        .end(
          JSON.stringify({
            error: { code: 'UNAUTHORIZED', message: 'Operator credentials required', details: {} },
          }),
        );
      return;
    }
    metrics.registry
      .metrics()
      .then((body) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body))
      .catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

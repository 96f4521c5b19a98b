import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Metrics } from '@calgate/telemetry/metrics';

export interface MetricsCredentials {
  username: string;
  password: string;
}

const equal = (given: string, expected: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** Whether an Authorization header carries these basic-auth credentials (both always compared). */
function authorized(header: string | undefined, credentials: MetricsCredentials): boolean {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  const decoded = match?.[1] === undefined ? '' : Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const userOk = equal(colon < 0 ? '' : decoded.slice(0, colon), credentials.username);
  const passOk = equal(colon < 0 ? '' : decoded.slice(colon + 1), credentials.password);
  return colon >= 0 && userOk && passOk;
}

/**
 * The worker's Prometheus endpoint: `GET /metrics` on its own port, nothing else, behind the same
 * operator credentials as the API's /metrics (ADMIN_USERNAME / ADMIN_PASSWORD). Without them it
 * answers 404, as the API does: metrics name queues and companies' activity.
 */
export async function serveMetrics(
  metrics: Metrics,
  host: string,
  port: number,
  credentials: MetricsCredentials | undefined,
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
    if (!authorized(request.headers.authorization, credentials)) {
      response
        .writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': 'Basic realm="calgate operators"',
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

/**
 * The load generator, run as its own process so that it does not share an event loop with what
 * it measures. Argument: a JSON LoadSpec. Prints one JSON line: req/s, latency percentiles, errors.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signCalcomPayload } from '@calgate/calcom';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  connections: number;
  durationSeconds: number;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** GET paths taken in turn, one per request (instead of the path of `url`). */
  paths?: string[];
  /** `webhook`: every request a new signed BOOKING_CREATED (unique uid); `fixed`: `body` as is. */
  body?: { kind: 'webhook'; secret: string; eventTypeId: number } | { kind: 'fixed'; text: string };
}

export interface LoadResult {
  requestsPerSec: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const template = JSON.parse(
  readFileSync(
    new URL('../../packages/calcom/contract/webhooks/booking-created.json', import.meta.url),
    'utf8',
  ),
) as { payload: Record<string, unknown> };

function webhookBody(secret: string, eventTypeId: number): { body: string; signature: string } {
  const uid = `bench${randomUUID().replaceAll('-', '').slice(0, 18)}`;
  const body = JSON.stringify({
    triggerEvent: 'BOOKING_CREATED',
    createdAt: new Date().toISOString(),
    payload: { ...template.payload, uid, iCalUID: `${uid}@Cal.com`, eventTypeId, metadata: {} },
  });
  return { body, signature: signCalcomPayload(body, secret) };
}

const body = spec.body;
let nextPath = 0;
const instance = autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationSeconds,
  method: spec.method,
  headers: { 'content-type': 'application/json', ...spec.headers },
  requests: [
    {
      setupRequest(request) {
        if (spec.paths !== undefined && spec.paths.length > 0) {
          request.path = spec.paths[nextPath++ % spec.paths.length] as string;
        }
        if (body?.kind === 'webhook') {
          const signed = webhookBody(body.secret, body.eventTypeId);
          return {
            ...request,
            body: signed.body,
            headers: { ...request.headers, 'x-cal-signature-256': signed.signature },
          };
        }
        if (body?.kind === 'fixed') return { ...request, body: body.text };
        return request;
      },
    },
  ],
});
const result = await instance;
const output: LoadResult = {
  requestsPerSec: result.requests.average,
  p50: result.latency.p50,
  p99: result.latency.p99,
  requests: result.requests.total,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
};
process.stdout.write(`${JSON.stringify(output)}\n`);

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { storableText } from '@calgate/db';
import { assertPublicLiteral, guardedLookup } from './address-guard.ts';

export interface PostOutcome {
  /** The receiver's HTTP status; null when no answer came. */
  statusCode: number | null;
  latencyMs: number;
  /** Why no answer came (`timeout`, `ECONNREFUSED`, `EPRIVATEADDRESS`, ...). */
  error: string | null;
  /** The first bytes of the answer. */
  excerpt: string | null;
  /** The receiver's `Retry-After`, in milliseconds, when it sent one. */
  retryAfterMs?: number;
}

export interface PostOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  signal?: AbortSignal | undefined;
}

const EXCERPT_BYTES = 512;
/** What is read of an answer at most; the rest is dropped with the connection. */
const READ_LIMIT_BYTES = 64 * 1024;

// Connections to receivers are kept open between deliveries (most go to a few endpoints).
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 50 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 50 }),
};

/**
 * POSTs one webhook. Never throws for the receiver's sake: every outcome (an answer, a refusal,
 * a timeout, a private address) comes back as a {@link PostOutcome}. Redirects are not followed
 * (the Standard Webhooks advice: a moved receiver updates its URL).
 */
export async function postWebhook(
  target: string,
  headers: Record<string, string>,
  body: string,
  options: PostOptions,
): Promise<PostOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const url = new URL(target);
  try {
    if (!options.allowPrivate) assertPublicLiteral(url);
  } catch (error) {
    return { statusCode: null, latencyMs: elapsed(), error: errorCode(error), excerpt: null };
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<PostOutcome, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...outcome, latencyMs: elapsed() });
    };
    const request = send(
      url,
      {
        method: 'POST',
        agent: agents[url.protocol as keyof typeof agents],
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'calgate-webhooks/1',
        },
        ...(options.allowPrivate ? {} : { lookup: guardedLookup as never }),
        timeout: options.timeoutMs,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
      (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= READ_LIMIT_BYTES) chunks.push(chunk);
          else response.destroy();
        });
        const retryAfterMs = retryAfter(response.headers['retry-after']);
        const done = () =>
          finish({
            statusCode: response.statusCode ?? null,
            error: null,
            excerpt: storableText(Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8')),
            ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          });
        response.on('end', done);
        response.on('close', done);
        response.on('error', done);
      },
    );
    // The whole exchange is bounded, not only the idle time between packets.
    const deadline = setTimeout(() => request.destroy(new TimeoutError()), options.timeoutMs);
    request.on('close', () => clearTimeout(deadline));
    request.on('timeout', () => request.destroy(new TimeoutError()));
    request.on('error', (error) => finish({ statusCode: null, error: errorCode(error), excerpt: null }));
    request.end(body);
  });
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now. */
function retryAfter(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value) * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

class TimeoutError extends Error {
  readonly code = 'timeout';
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'error';
}

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  headers: IncomingHttpHeaders;
  body: string;
  event: { type: string; timestamp: string; data: Record<string, unknown> & { id: string } };
}

/**
 * `ok` answers 200, `fail` 500, `busy` 503 with `Retry-After: 2`, `gone` 410, `hold` never answers
 * (until the mode changes).
 */
export type ReceiverMode = 'ok' | 'fail' | 'busy' | 'gone' | 'hold';

export interface Receiver {
  url: string;
  /** Messages answered with 200, in arrival order. */
  acknowledged: ReceivedWebhook[];
  /** Every request that arrived, whatever it was answered. */
  arrivals(): number;
  setMode(mode: ReceiverMode): void;
  /** Stops listening and drops open connections: the endpoint is down (connections refused). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A local HTTP receiver of outbound webhooks that records what it acknowledged. */
export async function startReceiver(path = '/hooks'): Promise<Receiver> {
  let mode: ReceiverMode = 'ok';
  let arrivals = 0;
  const acknowledged: ReceivedWebhook[] = [];
  const held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;

  const make = () => {
    const created = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        arrivals++;
        const body = Buffer.concat(chunks).toString('utf8');
        const answer = (): void => {
          // A sender that died while this was held never learns the answer: not acknowledged.
          if (request.socket.destroyed) return;
          if (mode === 'fail') {
            response.writeHead(500).end('receiver is failing');
            return;
          }
          if (mode === 'busy') {
            response.writeHead(503, { 'retry-after': '2' }).end('busy');
            return;
          }
          if (mode === 'gone') {
            response.writeHead(410).end('gone');
            return;
          }
          if (mode === 'hold') {
            held.push(answer);
            return;
          }
          acknowledged.push({
            id: String(request.headers['webhook-id']),
            timestamp: String(request.headers['webhook-timestamp']),
            signature: String(request.headers['webhook-signature']),
            headers: request.headers,
            body,
            event: JSON.parse(body),
          });
          response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        };
        answer();
      });
    });
    created.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return created;
  };
  const listen = async () => {
    server = make();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  };
  await listen();

  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return {
    url: `http://127.0.0.1:${port}${path}`,
    acknowledged,
    arrivals: () => arrivals,
    setMode(next) {
      mode = next;
      if (next !== 'hold') for (const release of held.splice(0)) release();
    },
    stop,
    start: listen,
    close: stop,
  };
}

/** The acknowledged events of one appointment, in arrival order. */
export function typesOf(receiver: Receiver, appointmentId: string): string[] {
  return receiver.acknowledged.filter((m) => m.event.data.id === appointmentId).map((m) => m.event.type);
}

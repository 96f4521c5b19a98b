import { createServer, type Server } from 'node:http';
import { verifyWebhook } from '@calgate/domain';

/**
 * The demo's stand-in for an upstream system: receives the gateway's outbound webhooks, checks
 * each signature (Standard Webhooks) and prints one line per event.
 */
export async function startDemoReceiver(
  port: number,
  print: (line: string) => void,
): Promise<{ url: string; useSecret(secret: string): void; close(): Promise<void> }> {
  let secret: string | undefined;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = secret !== undefined && verifyWebhook(secret, request.headers, body);
      try {
        const event = JSON.parse(body) as {
          type?: string;
          data?: { id?: string; status?: string; start?: string };
        };
        print(
          `${event.type ?? '?'} ${event.data?.id ?? ''} ${event.data?.status ?? ''} ${event.data?.start ?? ''} ` +
            `(webhook-id ${String(request.headers['webhook-id'])}, signature ${verified ? 'verified' : 'INVALID'})`,
        );
      } catch {
        print('a body that is not JSON');
      }
      response.writeHead(verified ? 204 : 400).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}/calgate-events`,
    useSecret(value) {
      secret = value;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

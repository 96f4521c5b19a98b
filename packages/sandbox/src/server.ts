import { createSandboxApp, type SandboxOptions } from './app.ts';
import type { SandboxControl } from './control.ts';

export interface RunningSandbox {
  /** What a client uses as CALCOM_BASE_URL, e.g. http://127.0.0.1:41234/v2 */
  baseUrl: string;
  origin: string;
  control: SandboxControl;
  close(): Promise<void>;
}

/** Starts the sandbox on a port (0: a free one). */
export async function startSandbox(
  options: SandboxOptions & { port?: number; host?: string } = {},
): Promise<RunningSandbox> {
  const { app, control } = createSandboxApp(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const origin = `http://${host}:${port}`;
  return {
    baseUrl: `${origin}/v2`,
    origin,
    control,
    async close() {
      await control.flushWebhooks();
      await app.close();
    },
  };
}

import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, connect, createServer } from 'node:net';

/** A throwaway Redis on its own port, stopped and started at will (nothing kept on disk). */
export function throwawayRedis(port: number) {
  let child: ChildProcess | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore', env: realClockEnv() },
      );
      await waitForPort(port, true);
    },
    async stop() {
      const running = child;
      if (running === undefined || running.exitCode !== null) return;
      running.kill('SIGKILL');
      await new Promise((resolve) => running.once('exit', resolve));
      await waitForPort(port, false);
    },
  };
}

/**
 * The environment for a server a test starts (Redis, PostgreSQL) without libfaketime: when the suite
 * runs with a moved clock (scripts/test-any-day.sh), servers keep the real time, as servers on
 * another machine would (and redis-server cannot start under libfaketime at all).
 */
export function realClockEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('FAKETIME')) continue;
    if (name === 'LD_PRELOAD') {
      const kept = (value ?? '')
        .split(/[:\s]+/)
        .filter((lib) => lib !== '' && !lib.includes('faketime'))
        .join(':');
      if (kept !== '') clean[name] = kept;
      continue;
    }
    clean[name] = value;
  }
  return clean;
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, open: boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const isOpen = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (isOpen === open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`port ${port} did not ${open ? 'open' : 'close'}`);
}

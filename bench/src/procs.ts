import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './load.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface Proc {
  child: ChildProcess;
  /** Peak resident set size so far (VmHWM), in MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

/** Starts `script` (a path from the repository root) with `env`; resolves once it is ready. */
export async function start(
  script: string,
  env: Record<string, string>,
  ready: { line?: RegExp; url?: string },
): Promise<Proc> {
  if (
    ready.url !== undefined &&
    (await fetch(ready.url).then(
      () => true,
      () => false,
    ))
  ) {
    throw new Error(`something already answers at ${ready.url}: stop it first`);
  }
  const child = spawn(process.execPath, [`${root}${script}`], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited: ${output.slice(-2000)}`);
    if (ready.line?.test(output)) break;
    if (ready.url !== undefined) {
      const ok = await fetch(ready.url).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
    }
    if (Date.now() > deadline) throw new Error(`${script} did not become ready: ${output.slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    child,
    peakRssMb: () => {
      if (child.exitCode !== null)
        throw new Error(`${script} exited (${child.exitCode}): ${output.slice(-3000)}`);
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return Math.round(kb / 1024);
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          resolve(null);
        }, 15_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve(null);
        });
      });
    },
  };
}

/** Runs the load generator in its own process and returns what it measured. */
export async function load(spec: LoadSpec): Promise<LoadResult> {
  const child = spawn(process.execPath, [`${root}bench/src/load.ts`, JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`load generator failed (${code}): ${output}`);
  return JSON.parse(output.trim().split('\n').at(-1) as string) as LoadResult;
}

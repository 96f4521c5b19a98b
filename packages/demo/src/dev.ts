import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfigOrExit } from '@calgate/config';
import { createDb, ensureDatabase, runMigrations } from '@calgate/db';
import { companyIds, createEndpoint, registerWebhook } from '@calgate/domain';
import { createDomainRuntime } from '@calgate/runtime';
import { DEMO_API_KEY, startSandbox } from '@calgate/sandbox';
import { createLogger } from '@calgate/telemetry';
import { formatInZone, zonedTimeToUtc } from '@calgate/time';
import { ensureEnvFile } from './env-file.ts';
import { startDemoReceiver } from './receiver.ts';
import { seedDemoCompany } from './seed.ts';

/**
 * The quick start: `.env` (created with fresh secrets on first run), database created and
 * migrated, the Cal.com sandbox with a seeded demo salon when no CALCOM_API_KEY is set, then the
 * API and the worker as child processes. Ctrl-C stops everything.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const say = (line: string) => process.stdout.write(`\x1b[1m[calgate]\x1b[0m ${line}\n`);

if (ensureEnvFile(`${root}.env`, `${root}.env.example`))
  say('created .env from .env.example with fresh secrets');
process.loadEnvFile(`${root}.env`);

const demo = (process.env.CALCOM_API_KEY ?? '') === '';
const sandboxPort = Number(process.env.SANDBOX_PORT ?? 5555);
const sandbox = demo ? await startSandbox({ port: sandboxPort }) : undefined;
if (sandbox !== undefined) {
  process.env.CALCOM_API_KEY = DEMO_API_KEY;
  process.env.CALCOM_BASE_URL = sandbox.baseUrl;
  say(`demo mode: no CALCOM_API_KEY set, Cal.com sandbox at ${sandbox.baseUrl}`);
  // The demo's webhook receiver listens on loopback, which is refused unless allowed (and
  // .env, from .env.example, says false: right for production, never for the demo).
  process.env.OUTBOUND_WEBHOOKS_ALLOW_PRIVATE = 'true';
}
const receiver = demo
  ? await startDemoReceiver(Number(process.env.DEMO_RECEIVER_PORT ?? 5556), (line) =>
      process.stdout.write(`\x1b[1m[upstream]\x1b[0m ${line}\n`),
    )
  : undefined;
const config = loadConfigOrExit();

if (await ensureDatabase(config.database.url)) say('created the database');
await runMigrations(config.database.url);
say('database migrated');

let demoCompany: Awaited<ReturnType<typeof seedDemoCompany>> | undefined;
if (demo) {
  const { db, close } = createDb(config.database.url, { max: 1 });
  demoCompany = await seedDemoCompany(db);
  await close();
}

const children: ChildProcess[] = [];
function run(name: string, script: string): void {
  if (!existsSync(`${root}${script}`)) throw new Error(`missing ${script}`);
  const child = spawn(process.execPath, [`${root}${script}`], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString('utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => `${name.padEnd(6)} | ${line}\n`)
      .join('');
  child.stdout?.on('data', (chunk: Buffer) => process.stdout.write(prefix(chunk)));
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(prefix(chunk)));
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping`);
      void stop(1);
    }
  });
  children.push(child);
}

let stopping = false;
async function stop(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve))),
    ),
  );
  await sandbox?.close();
  await receiver?.close();
  // Its sandbox is gone: scripts and the CLI must not take the demo for running.
  rmSync(`${root}.demo.json`, { force: true });
  process.exit(code);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

run('api', 'services/api/src/main.ts');
run('worker', 'services/worker/src/main.ts');

const base = `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`;
for (let i = 0; i < 100; i++) {
  const ready = await fetch(`${base}/health/ready`).then(
    (r) => r.ok,
    () => false,
  );
  if (ready) break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
say(`API           ${base}/api/v2   (OpenAPI docs: ${base}/docs)`);
if (demo) {
  // The sandbox delivers its signed webhooks to this gateway, as Cal.com would.
  const runtime = createDomainRuntime(
    { ...config, http: { ...config.http, publicBaseUrl: config.http.publicBaseUrl ?? base } },
    createLogger({ name: 'demo', level: 'warn' }),
    { service: 'calgate-demo', failFast: false },
  );
  try {
    for (const id of await companyIds(runtime)) {
      await registerWebhook(runtime, id, {
        publicBaseUrl: config.http.publicBaseUrl ?? base,
        defaultSecret: config.calcom.webhookSecret,
      });
    }
    say(`Webhooks      the sandbox delivers to ${base}/api/webhooks/calcom`);
  } catch (error) {
    say(`could not register the sandbox webhook: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    if (receiver !== undefined && demoCompany !== undefined) {
      const { endpoint, secret } = await createEndpoint(runtime, demoCompany.companyId, {
        url: receiver.url,
        description: 'demo receiver',
      });
      receiver.useSecret(secret);
      say(
        `Upstream      appointment changes are signed and sent to ${receiver.url} (endpoint ${endpoint.id})`,
      );
    }
  } catch (error) {
    say(`could not register the demo receiver: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await runtime.close();
  }
}
say(`Dashboard     ${base}/admin/queues (ADMIN_USERNAME / ADMIN_PASSWORD from .env)`);
say(`Operator API  ${base}/api/admin/v1 (same credentials; see docs/operator-api.md)`);
say(`Health        ${base}/health/ready`);
if (demoCompany !== undefined) {
  const haircut = demoCompany.services.find((s) => s.kind === 'simple');
  const day = new Date(Date.now() + 86_400_000);
  while (day.getUTCDay() === 0) day.setUTCDate(day.getUTCDate() + 1);
  const date = day.toISOString().slice(0, 10);
  const tenAm = formatInZone(
    zonedTimeToUtc(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), 10, 0, 'Europe/Berlin'),
    'Europe/Berlin',
  );
  say(`Demo token    ${demoCompany.token}`);
  // For scripts (scripts/test/*.sh): where the demo is and how to call it.
  writeFileSync(
    `${root}.demo.json`,
    `${JSON.stringify(
      {
        apiBase: `${base}/api/v2`,
        token: demoCompany.token,
        services: demoCompany.services,
        // The sandbox's (public, fixed) demo key: `pnpm cli` uses it while the demo runs.
        calcom: sandbox === undefined ? undefined : { baseUrl: sandbox.baseUrl, apiKey: DEMO_API_KEY },
      },
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  );
  say(`Services      ${demoCompany.services.map((s) => `${s.name} (${s.id})`).join(', ')}`);
  say('Try it:');
  process.stdout.write(
    `  curl -s -H 'Authorization: Bearer ${demoCompany.token}' '${base}/api/v2/services/${haircut?.id}/availability?start=${date}&end=${date}&timeZone=Europe/Berlin'\n` +
      `  curl -s -H 'Authorization: Bearer ${demoCompany.token}' -H 'Prefer: wait=10' -H 'Idempotency-Key: demo-1' -H 'Content-Type: application/json' \\\n` +
      `    -d '{"serviceId":"${haircut?.id}","start":"${tenAm}","timeZone":"Europe/Berlin","customer":{"name":"Ada","email":"ada@example.org"}}' ${base}/api/v2/bookings\n`,
  );
}
say('Ctrl-C stops everything');

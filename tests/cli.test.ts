import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { keyFingerprint, signCalcomPayload } from '@calgate/calcom';
import { apiTokens, companies, openSecret, SECRET_COLUMNS, type SecretColumn, services } from '@calgate/db';
import { DEMO_API_KEY } from '@calgate/sandbox';
import { seedCompany } from '@calgate/testkit';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auth, type Gateway, startGateway, testDay } from './support/gateway.ts';

const MAIN = fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url));
const CASEY_KEY = 'cal_test_sandbox_casey';
/** Another account's key: a key is one company's alone. */
const OST_KEY = 'cal_test_sandbox_ost';

// Every command is a Node process of its own, started several times per test: on a busy
// machine one start takes seconds.
vi.setConfig({ testTimeout: 180_000 });

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({ worker: false });
});
afterAll(async () => {
  await gw.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `pnpm cli <args>` as an operator runs it: its own Node process, configured by the environment
 * (this gateway's database, Redis prefix, encryption key and sandbox). It runs outside the
 * project folder so that no `.env` there is read.
 */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      {
        cwd: tmpdir(),
        env: { ...inherited(), ...gw.env, LOG_LEVEL: 'warn', ...env },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * What the child process takes from this one: the search path, and a faked clock when the suite
 * runs under libfaketime (the child must see the same time); nothing else of the shell.
 */
const inherited = () =>
  Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => name === 'PATH' || name === 'TZ' || name === 'LD_PRELOAD' || name.startsWith('FAKETIME'),
    ),
  ) as Record<string, string>;

const tokenIn = (stdout: string) => /API token \(shown once, store it now\): (\S+)/.exec(stdout)?.[1];
const companyIn = (stdout: string) => /^company (cmp_\S+)$/m.exec(stdout)?.[1];
/** A stored value decrypted as the gateway does: bound to its company and column. */
const opened = (stored: string | null | undefined, companyId: string, column: SecretColumn) =>
  openSecret(stored as string, gw.runtime().keyring, { companyId, column });
const companyRow = async (id: string) =>
  (await gw.database.db.select().from(companies).where(eq(companies.id, id)))[0];
const listServices = (token: string) =>
  gw.app.inject({ method: 'GET', url: '/api/v2/services', headers: auth(token) });

async function createCompany(name: string, extra: string[] = [], env: Record<string, string> = {}) {
  const run = await cli(['company:create', '--name', name, ...extra], env);
  expect(run.code, run.stderr).toBe(0);
  const companyId = companyIn(run.stdout);
  const token = tokenIn(run.stdout);
  if (companyId === undefined || token === undefined) throw new Error(`unexpected output: ${run.stdout}`);
  return { companyId, token, run };
}

/** A company made directly in the database, for the commands that are not about creating one. */
const seeded = async (name: string) => {
  const company = await seedCompany(gw.database.db, { name, staff: [], services: [] });
  return { companyId: company.companyId, token: company.token };
};

describe('pnpm cli company:create', () => {
  it('creates a company and prints an API token that works against the API', async () => {
    const { companyId, token } = await createCompany('Salon Nord', ['--timezone', 'Europe/Berlin']);
    expect(await companyRow(companyId)).toMatchObject({
      name: 'Salon Nord',
      timezone: 'Europe/Berlin',
      calcomApiKeyEncrypted: null,
      calcomWebhookSecretEncrypted: null,
    });
    const res = await listServices(token);
    expect(res.statusCode).toBe(200);
    expect(res.json().services).toEqual([]);
    // The token is stored as a hash only.
    const [stored] = await gw.database.db.select().from(apiTokens).where(eq(apiTokens.companyId, companyId));
    expect(JSON.stringify(stored)).not.toContain(token);
  });

  it('stores a Cal.com key from the environment and a webhook secret encrypted', async () => {
    const { companyId, run } = await createCompany(
      'Salon Ost',
      ['--webhook-secret', 'ost-webhook-secret-0001'],
      { CALGATE_CLI_CALCOM_KEY: OST_KEY },
    );
    expect(run.stdout).not.toContain(OST_KEY);
    const row = await companyRow(companyId);
    expect(row?.calcomApiKeyEncrypted).not.toContain(OST_KEY);
    expect(opened(row?.calcomApiKeyEncrypted, companyId, SECRET_COLUMNS.calcomApiKey)).toBe(OST_KEY);
    expect(row?.calcomWebhookSecretEncrypted).not.toContain('ost-webhook-secret-0001');
    expect(opened(row?.calcomWebhookSecretEncrypted, companyId, SECRET_COLUMNS.calcomWebhookSecret)).toBe(
      'ost-webhook-secret-0001',
    );
  });

  it('refuses a bad time zone or a missing name with exit code 1, creating nothing', async () => {
    const before = (await gw.database.db.select({ id: companies.id }).from(companies)).length;
    const badZone = await cli(['company:create', '--name', 'Nowhere', '--timezone', 'Mars/Olympus']);
    expect(badZone.code).toBe(1);
    expect(badZone.stderr).toContain('Mars/Olympus');
    const noName = await cli(['company:create']);
    expect(noName.code).toBe(1);
    expect(noName.stderr).toContain('--name is required');
    expect((await gw.database.db.select({ id: companies.id }).from(companies)).length).toBe(before);
  });
});

describe('pnpm cli company:list and company:update', () => {
  it('corrects a company created in the wrong zone, and lists it without a secret', async () => {
    const { companyId, token } = await createCompany('Salon Wrongzone', [], {
      CALGATE_CLI_CALCOM_KEY: 'cal_test_sandbox_wrongzone',
    });
    expect((await companyRow(companyId))?.timezone).toBe('UTC');
    const update = await cli([
      'company:update',
      '--company',
      companyId,
      '--name',
      'Salon Rightzone',
      '--timezone',
      'Europe/Vienna',
    ]);
    expect(update.code, update.stderr).toBe(0);
    expect(update.stdout).toContain(`company ${companyId}: Salon Rightzone, time zone Europe/Vienna`);
    expect(await companyRow(companyId)).toMatchObject({ name: 'Salon Rightzone', timezone: 'Europe/Vienna' });
    const list = await cli(['company:list']);
    expect(list.code, list.stderr).toBe(0);
    const line = list.stdout.split('\n').find((l) => l.startsWith(companyId));
    expect(line).toBe(`${companyId}\tSalon Rightzone\tEurope/Vienna\town Cal.com key\tenabled`);
    expect(list.stdout).not.toContain('cal_test_sandbox_wrongzone');
    expect(list.stdout).not.toContain(token);
  });

  it('refuses a bad zone, an empty change and an unknown company with exit code 1', async () => {
    const { companyId } = await seeded('Salon Unchanged');
    const before = await companyRow(companyId);
    const badZone = await cli(['company:update', '--company', companyId, '--timezone', '+01:00']);
    expect(badZone.code).toBe(1);
    expect(badZone.stderr).toContain('timeZone: +01:00 is not an IANA time zone');
    const nothing = await cli(['company:update', '--company', companyId]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('--name or --timezone is required');
    const unknown = await cli(['company:update', '--company', 'cmp_nosuchcompany', '--name', 'X']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('companyId: no company cmp_nosuchcompany');
    expect(await companyRow(companyId)).toEqual(before);
  });
});

describe('pnpm cli token:create', () => {
  it('prints another token for the company; both work, each sees only its company', async () => {
    const { companyId, token } = await seeded('Salon Süd');
    const run = await cli(['token:create', '--company', companyId, '--name', 'website']);
    expect(run.code, run.stderr).toBe(0);
    const second = tokenIn(run.stdout);
    expect(second).toBeDefined();
    expect(second).not.toBe(token);
    for (const t of [token, second as string]) expect((await listServices(t)).statusCode).toBe(200);
    // Not the seeded company's services.
    expect((await listServices(second as string)).json().services).toEqual([]);
    const tokens = await gw.database.db.select().from(apiTokens).where(eq(apiTokens.companyId, companyId));
    expect(tokens.map((t) => t.name).sort()).toEqual(['test', 'website']);
  });

  it('refuses an unknown company with exit code 1', async () => {
    const run = await cli(['token:create', '--company', 'cmp_nosuchcompany']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('No company cmp_nosuchcompany');
    expect(run.stdout).not.toContain('API token');
  });
});

describe('pnpm cli company:set-key and service:create', () => {
  const eventTypeCreates = () =>
    gw.sandbox.control.requests().filter((r) => r.operation === 'eventTypes.create');

  it("stores the key encrypted and makes the company's Cal.com calls with it, until cleared", async () => {
    const { companyId, token } = await seeded('Salon West');
    const set = await cli(['company:set-key', '--company', companyId, '--calcom-key', CASEY_KEY]);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain(`company ${companyId}: calcomApiKey updated (stored encrypted)`);
    const row = await companyRow(companyId);
    expect(row?.calcomApiKeyEncrypted).not.toContain(CASEY_KEY);
    expect(opened(row?.calcomApiKeyEncrypted, companyId, SECRET_COLUMNS.calcomApiKey)).toBe(CASEY_KEY);

    const before = eventTypeCreates().length;
    const created = await cli([
      'service:create',
      '--company',
      companyId,
      '--name',
      'Beard trim',
      '--duration',
      '20',
      '--address',
      'Hauptstrasse 1, Berlin',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const [, serviceId, eventTypeId] =
      /service (svc_\S+) booked through the new hidden Cal.com event type (\d+)/.exec(created.stdout) ?? [];
    expect(serviceId).toBeDefined();
    // The event type was made in Cal.com with the company's own key, in that key's account (the
    // sandbox's user 4, Casey).
    const calls = eventTypeCreates().slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.keyFingerprint).toBe(keyFingerprint(CASEY_KEY));
    const state = gw.sandbox.control.state() as {
      eventTypes: Array<{
        id: number;
        title: string;
        hidden?: boolean;
        lengthInMinutes: number;
        ownerId: number;
      }>;
    };
    expect(state.eventTypes.find((e) => e.id === Number(eventTypeId))).toMatchObject({
      title: 'Beard trim',
      hidden: true,
      lengthInMinutes: 20,
      ownerId: 4,
    });
    // The service is the company's, bookable through the API; its availability asks Cal.com with the key.
    const listed = (await listServices(token)).json().services;
    expect(listed).toEqual([
      expect.objectContaining({ id: serviceId, name: 'Beard trim', durationMinutes: 20 }),
    ]);
    const day = testDay();
    const slots = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${serviceId}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
      headers: auth(token),
    });
    expect(slots.statusCode, slots.body).toBe(200);
    expect(slots.json().slots.length).toBeGreaterThan(0);
    const lastSlots = gw.sandbox.control
      .requests()
      .filter((r) => r.operation === 'slots.get')
      .at(-1);
    expect(lastSlots?.keyFingerprint).toBe(keyFingerprint(CASEY_KEY));

    // Cleared: back to the env default key.
    const cleared = await cli(['company:set-key', '--company', companyId, '--clear']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect((await companyRow(companyId))?.calcomApiKeyEncrypted).toBeNull();
    const again = await cli([
      'service:create',
      '--company',
      companyId,
      '--name',
      'Shave',
      '--duration',
      '15',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(eventTypeCreates().at(-1)?.keyFingerprint).toBe(keyFingerprint(DEMO_API_KEY));
  });

  it('refuses a key that is not a Cal.com key, and a bad duration, without calling Cal.com', async () => {
    const { companyId } = await seeded('Salon Mitte');
    const badKey = await cli(['company:set-key', '--company', companyId, '--calcom-key', 'sk_live_123']);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('calcomApiKey');
    expect(badKey.stderr).not.toContain('sk_live_123');
    expect((await companyRow(companyId))?.calcomApiKeyEncrypted).toBeNull();
    const noKey = await cli(['company:set-key', '--company', companyId]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('--calcom-key or --clear is required');

    const before = eventTypeCreates().length;
    const badDuration = await cli([
      'service:create',
      '--company',
      companyId,
      '--name',
      'Forever',
      '--duration',
      '0',
    ]);
    expect(badDuration.code).toBe(1);
    expect(badDuration.stderr).toContain('durationMinutes');
    expect(eventTypeCreates()).toHaveLength(before);
    const stored = await gw.database.db.select().from(services).where(eq(services.companyId, companyId));
    expect(stored).toEqual([]);
  });
});

describe('pnpm cli company:set-webhook-secret', () => {
  const ping = (n: number) =>
    JSON.stringify({ triggerEvent: 'PING', createdAt: '2026-11-24T10:00:00.000Z', payload: { cli: n } });
  const deliver = (companyId: string, body: string, secret: string) =>
    gw.app.inject({
      method: 'POST',
      url: `/api/webhooks/calcom/${companyId}`,
      headers: { 'content-type': 'application/json', 'x-cal-signature-256': signCalcomPayload(body, secret) },
      payload: body,
    });

  it("stores the secret encrypted and verifies the company's deliveries with it, until cleared", async () => {
    const { companyId } = await seeded('Salon Hafen');
    const secret = 'hafen-webhook-secret-42';
    const set = await cli(['company:set-webhook-secret', '--company', companyId], {
      CALGATE_CLI_WEBHOOK_SECRET: secret,
    });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).not.toContain(secret);
    const row = await companyRow(companyId);
    expect(row?.calcomWebhookSecretEncrypted).not.toContain(secret);
    expect(opened(row?.calcomWebhookSecretEncrypted, companyId, SECRET_COLUMNS.calcomWebhookSecret)).toBe(
      secret,
    );

    expect((await deliver(companyId, ping(1), secret)).statusCode).toBe(200);
    expect((await deliver(companyId, ping(2), gw.config.calcom.webhookSecret as string)).statusCode).toBe(
      401,
    );

    const cleared = await cli(['company:set-webhook-secret', '--company', companyId, '--clear']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect((await companyRow(companyId))?.calcomWebhookSecretEncrypted).toBeNull();
    // A company URL verifies only with the company's own secret: without one, nothing verifies
    // there (the global secret belongs to the shared account's URL alone).
    expect((await deliver(companyId, ping(3), gw.config.calcom.webhookSecret as string)).statusCode).toBe(
      401,
    );
    expect((await deliver(companyId, ping(4), secret)).statusCode).toBe(401);
  });

  it('refuses a secret shorter than 16 characters', async () => {
    const { companyId } = await seeded('Salon Kurz');
    const run = await cli([
      'company:set-webhook-secret',
      '--company',
      companyId,
      '--webhook-secret',
      'short',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('webhookSecret must be at least 16 characters');
    expect((await companyRow(companyId))?.calcomWebhookSecretEncrypted).toBeNull();
  });
});

describe('pnpm cli with a mistyped option', () => {
  it('names the option, without a stack trace, and answers --json with one JSON document', async () => {
    const typo = await cli([
      'catalog:apply',
      '--company',
      'cmp_x',
      '--file',
      'salon.yaml',
      '--dryrun',
      '--json',
    ]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain("Unknown option '--dryrun'");
    expect(typo.stderr).toContain('Usage: pnpm cli');
    expect(typo.stderr).not.toMatch(/\n\s+at /);
    expect(JSON.parse(typo.stdout)).toMatchObject({ ok: false, error: expect.stringContaining('--dryrun') });
    const missing = await cli(['service:create', '--company', 'cmp_x', '--duration']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Option '--duration <value>' argument missing");
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });
});

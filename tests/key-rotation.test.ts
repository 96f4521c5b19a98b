import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { keyFingerprint, signCalcomPayload } from '@calgate/calcom';
import {
  companies,
  encryptSecret,
  keyringFrom,
  newId,
  openSecret,
  outboundEndpoints,
  resealOne,
  SECRET_COLUMNS,
  sealSecret,
} from '@calgate/db';
import { setCompanySecrets } from '@calgate/domain';
import { type SeededCompany, seedCompany } from '@calgate/testkit';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auth, berlin, type Gateway, startGateway, testDay } from './support/gateway.ts';

const MAIN = fileURLToPath(new URL('../packages/cli/src/main.ts', import.meta.url));
const CASEY_KEY = 'cal_test_sandbox_casey';
const CASEY_HAIRCUT = 104;
const WEBHOOK_SECRET = 'own-webhook-secret-rotation-1';
const PREVIOUS_SIGNING_SECRET = 'whsec_previous_rotation';
const OLD_KEY = randomBytes(32).toString('hex');
const NEW_KEY = randomBytes(32).toString('hex');

// The command is a Node process of its own; on a busy machine one start takes seconds.
vi.setConfig({ testTimeout: 180_000 });

let before: Gateway;
let own: SeededCompany;
beforeAll(async () => {
  before = await startGateway({ worker: false, env: { SECRETS_ENCRYPTION_KEY: OLD_KEY } });
  own = await seedCompany(before.database.db, {
    name: 'Casey own account',
    staff: [{ name: 'Casey', calcomUserId: 4 }],
    services: [
      {
        name: 'Cut',
        segments: [
          { name: 'Cut', durationMinutes: 30, eventTypes: [{ staff: 0, eventTypeId: CASEY_HAIRCUT }] },
        ],
      },
    ],
  });
  // The Cal.com key as the gateway stored it before keys had versions: the first format, unbound.
  await before.database.db
    .update(companies)
    .set({ calcomApiKeyEncrypted: encryptSecret(CASEY_KEY, Buffer.from(OLD_KEY, 'hex')) })
    .where(eq(companies.id, own.companyId));
  await setCompanySecrets(before.database.db, before.runtime().keyring, own.companyId, {
    webhookSecret: WEBHOOK_SECRET,
  });
  await before.database.db.insert(outboundEndpoints).values({
    id: newId('owe'),
    companyId: own.companyId,
    url: 'https://hooks.example.org/calgate',
    secretEncrypted: sealSecret('whsec_rotation', before.runtime().keyring, {
      companyId: own.companyId,
      column: SECRET_COLUMNS.outboundSecret,
    }),
    // A signing secret rotation's overlap in progress: its previous secret is encrypted too.
    previousSecretEncrypted: sealSecret(PREVIOUS_SIGNING_SECRET, before.runtime().keyring, {
      companyId: own.companyId,
      column: SECRET_COLUMNS.outboundPreviousSecret,
    }),
    previousSecretExpiresAt: sql`now() + interval '1 day'`,
  });
});
afterAll(async () => {
  await before.close();
});

function reencrypt(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, 'secrets:reencrypt', '--batch', '1'],
      {
        cwd: tmpdir(),
        env: {
          PATH: process.env.PATH ?? '',
          ...Object.fromEntries(
            Object.entries(process.env).filter(([n]) => n.startsWith('FAKETIME') || n === 'LD_PRELOAD'),
          ),
          ...before.env,
          LOG_LEVEL: 'warn',
          SECRETS_ENCRYPTION_KEY: NEW_KEY,
          SECRETS_ENCRYPTION_KEY_VERSION: '2',
          SECRETS_ENCRYPTION_KEYS: `1:${OLD_KEY}`,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        }),
    );
  });
}

const storedValues = async () => {
  const rows = await before.database.sql`
    select calcom_api_key_encrypted as v from companies where calcom_api_key_encrypted is not null
    union all select calcom_webhook_secret_encrypted from companies where calcom_webhook_secret_encrypted is not null
    union all select secret_encrypted from outbound_endpoints
    union all select previous_secret_encrypted from outbound_endpoints where previous_secret_encrypted is not null`;
  return rows.map((row) => String(row.v));
};

describe('a secret written while the re-encryption runs', () => {
  it('keeps the newer value: the one the command read is not written over it', async () => {
    const db = before.database.db;
    const next = keyringFrom({
      currentVersion: 2,
      keys: [
        { version: 2, key: NEW_KEY },
        { version: 1, key: OLD_KEY },
      ],
    });
    const company = await seedCompany(db, { name: 'Concurrent writer' });
    const stored = async () =>
      (await db.select().from(companies).where(eq(companies.id, company.companyId)))[0]
        ?.calcomWebhookSecretEncrypted as string;
    await setCompanySecrets(db, before.runtime().keyring, company.companyId, {
      webhookSecret: 'read-by-the-command-1',
    });
    const read = await stored();
    // A process already on the new key sets another secret between the command's read and write.
    await setCompanySecrets(db, next, company.companyId, { webhookSecret: 'written-meanwhile-22' });
    const binding = { companyId: company.companyId, column: SECRET_COLUMNS.calcomWebhookSecret };
    expect(
      await resealOne(db, next, binding.column, {
        id: company.companyId,
        companyId: company.companyId,
        value: read,
      }),
    ).toBe('changed-meanwhile');
    expect(openSecret(await stored(), next, binding)).toBe('written-meanwhile-22');
  });
});

describe('rotating the encryption key while the gateway runs', () => {
  it('re-encrypts every stored secret under the new key, once, and the gateway works with only the new key', async () => {
    expect((await storedValues()).some((v) => v.startsWith('v1.'))).toBe(true);
    const first = await reencrypt();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('companies.calcom_api_key_encrypted: 1 re-encrypted');
    expect(first.stdout).toContain('outbound_endpoints.secret_encrypted: 1 re-encrypted');
    expect(first.stdout).toContain('outbound_endpoints.previous_secret_encrypted: 1 re-encrypted');
    expect(first.stdout).toContain('every stored secret is under key version 2');
    expect(first.stdout).not.toContain(NEW_KEY);
    const values = await storedValues();
    expect(values.length).toBeGreaterThanOrEqual(3);
    expect(values.every((v) => v.startsWith('v2.2.'))).toBe(true);
    const [endpoint] = await before.database.db
      .select()
      .from(outboundEndpoints)
      .where(eq(outboundEndpoints.companyId, own.companyId));
    expect(
      openSecret(
        endpoint?.previousSecretEncrypted as string,
        keyringFrom({ currentVersion: 2, keys: [{ version: 2, key: NEW_KEY }] }),
        {
          companyId: own.companyId,
          column: SECRET_COLUMNS.outboundPreviousSecret,
        },
      ),
    ).toBe(PREVIOUS_SIGNING_SECRET);

    const again = await reencrypt();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/[1-9]\d* re-encrypted/);

    // API and worker on the new key alone: the old one is gone from their configuration.
    const after = await startGateway({
      database: before.database,
      env: { SECRETS_ENCRYPTION_KEY: NEW_KEY, SECRETS_ENCRYPTION_KEY_VERSION: '2' },
    });
    try {
      const day = testDay();
      const booked = await after.app.inject({
        method: 'POST',
        url: '/api/v2/bookings',
        headers: auth(own.token, { prefer: 'wait=30' }),
        payload: {
          serviceId: own.serviceIds[0],
          start: berlin(day, '10:00'),
          timeZone: 'Europe/Berlin',
          customer: { name: 'Rotation Test', email: 'rotation@example.org' },
        },
      });
      expect(booked.statusCode, booked.body).toBe(201);
      expect(after.sandbox.control.requests().at(-1)?.keyFingerprint).toBe(keyFingerprint(CASEY_KEY));

      const ping = JSON.stringify({
        triggerEvent: 'PING',
        createdAt: '2026-11-24T10:00:00.000Z',
        payload: {},
      });
      const delivered = await after.app.inject({
        method: 'POST',
        url: `/api/webhooks/calcom/${own.companyId}`,
        headers: {
          'content-type': 'application/json',
          'x-cal-signature-256': signCalcomPayload(ping, WEBHOOK_SECRET),
        },
        payload: ping,
      });
      expect(delivered.statusCode, delivered.body).toBe(200);
    } finally {
      await after.close();
    }
  });
});

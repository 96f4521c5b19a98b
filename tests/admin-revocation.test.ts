import { type ApiDeps, buildApp, createApiDeps } from '@calgate/api';
import { issueToken, revokeToken, setCompanyDisabled } from '@calgate/domain';
import { createLogger } from '@calgate/telemetry';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Gateway, startGateway } from './support/gateway.ts';

const ADMIN = { username: 'operator', password: 'operator-password-42' };
const operator = {
  authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}`,
};

/** An API process of its own: its own connections, its own token cache, the same Postgres and Redis. */
interface ApiProcess {
  app: FastifyInstance;
  deps: ApiDeps;
}

let gw: Gateway;
let first: ApiProcess;
let second: ApiProcess;

async function apiProcess(): Promise<ApiProcess> {
  const deps = createApiDeps(gw.config, createLogger({ name: 'test', level: 'silent' }));
  const app = await buildApp(deps);
  await app.ready();
  await deps.hearingTokenChanges;
  return { app, deps };
}

beforeAll(async () => {
  gw = await startGateway({
    worker: false,
    env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
  });
  first = await apiProcess();
  second = await apiProcess();
});
afterAll(async () => {
  for (const process of [first, second]) {
    await process?.app.close();
    await process?.deps.close();
  }
  await gw.close();
});

async function status(process: ApiProcess, token: string): Promise<number> {
  const res = await process.app.inject({ method: 'GET', url: '/api/v2/services', headers: auth(token) });
  return res.statusCode;
}

/**
 * How long until `process` refuses `token`, polled every 10 ms. The deadline (5 s, half the 10 s
 * lookup cache, whose entries the test has just filled) proves that the notice, not the cache's
 * lapse, made the refusal; it is far above the time the notice takes (milliseconds) so that a busy
 * machine cannot fail it. The speed itself is not what these tests measure.
 */
const NOTICE_DEADLINE_MS = 5_000;

async function msUntilRefused(process: ApiProcess, token: string, since: number): Promise<number> {
  for (;;) {
    if ((await status(process, token)) === 401) return Date.now() - since;
    if (Date.now() - since > NOTICE_DEADLINE_MS) throw new Error('the token still works after 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('token revocation and company disable across two API processes', () => {
  it('refuses a revoked token on both processes at once, by notice', async () => {
    const token = await issueToken(gw.runtime(), gw.company.companyId, 'to revoke');
    // Both processes have the lookup cached.
    expect(await status(first, token.secret)).toBe(200);
    expect(await status(second, token.secret)).toBe(200);

    const since = Date.now();
    const revoked = await first.app.inject({
      method: 'DELETE',
      url: `/api/admin/v1/companies/${gw.company.companyId}/tokens/${token.id}`,
      headers: operator,
    });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).not.toBeNull();
    expect(await status(first, token.secret)).toBe(401);
    expect(await msUntilRefused(second, token.secret, since)).toBeLessThan(NOTICE_DEADLINE_MS);
    // The company's other tokens keep working.
    expect(await status(second, gw.company.token)).toBe(200);
    const again = await first.app.inject({
      method: 'DELETE',
      url: `/api/admin/v1/companies/${gw.company.companyId}/tokens/${token.id}`,
      headers: operator,
    });
    expect(again.json().revokedAt).toBe(revoked.json().revokedAt);
  });

  it('refuses a token revoked from the CLI (another process) on both API processes at once, by notice', async () => {
    const token = await issueToken(gw.runtime(), gw.company.companyId, 'cli revoke');
    expect(await status(first, token.secret)).toBe(200);
    expect(await status(second, token.secret)).toBe(200);
    const since = Date.now();
    await revokeToken(gw.runtime(), gw.company.companyId, token.id);
    const [a, b] = await Promise.all([
      msUntilRefused(first, token.secret, since),
      msUntilRefused(second, token.secret, since),
    ]);
    expect(Math.max(a, b)).toBeLessThan(NOTICE_DEADLINE_MS);
  });

  it('refuses every token of a disabled company on both processes at once, by notice, and takes them back when enabled', async () => {
    const other = await issueToken(gw.runtime(), gw.company.companyId, 'second');
    for (const process of [first, second]) {
      expect(await status(process, gw.company.token)).toBe(200);
      expect(await status(process, other.secret)).toBe(200);
    }
    const since = Date.now();
    const disabled = await second.app.inject({
      method: 'POST',
      url: `/api/admin/v1/companies/${gw.company.companyId}/disable`,
      headers: operator,
    });
    expect(disabled.json()).toMatchObject({ disabled: true });
    const waits = await Promise.all([
      msUntilRefused(first, gw.company.token, since),
      msUntilRefused(first, other.secret, since),
      msUntilRefused(second, gw.company.token, since),
    ]);
    expect(Math.max(...waits)).toBeLessThan(NOTICE_DEADLINE_MS);

    await setCompanyDisabled(gw.runtime(), gw.company.companyId, false);
    expect(await status(first, gw.company.token)).toBe(200);
    expect(await status(second, other.secret)).toBe(200);
  });
});

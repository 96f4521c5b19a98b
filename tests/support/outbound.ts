import { outboundDeliveries } from '@calgate/db';
import { eq } from 'drizzle-orm';
import type { Gateway } from './gateway.ts';

export const OPERATOR = { username: 'ops', password: 'operator-password-1' };

/** Env for outbound webhooks in tests: loopback receivers allowed, a fast relay and retries. */
export const OUTBOUND_ENV = {
  ADMIN_USERNAME: OPERATOR.username,
  ADMIN_PASSWORD: OPERATOR.password,
  OUTBOUND_WEBHOOKS_ALLOW_PRIVATE: 'true',
  OUTBOUND_WEBHOOKS_RELAY_INTERVAL_MS: '200',
  OUTBOUND_WEBHOOKS_TIMEOUT_SECONDS: '5',
};

export function operatorAuth(): Record<string, string> {
  return {
    authorization: `Basic ${Buffer.from(`${OPERATOR.username}:${OPERATOR.password}`).toString('base64')}`,
  };
}

/** Registers an endpoint through the admin API; returns its id and signing secret. */
export async function registerEndpoint(
  g: Gateway,
  url: string,
  extra: { events?: string[]; description?: string } = {},
  companyId = g.company.companyId,
): Promise<{ id: string; secret: string }> {
  const res = await g.app.inject({
    method: 'POST',
    url: `/api/admin/v1/companies/${companyId}/webhook-endpoints`,
    headers: operatorAuth(),
    payload: { url, ...extra },
  });
  if (res.statusCode !== 201) throw new Error(`endpoint not registered: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Deliveries of an endpoint as stored. */
export async function deliveriesOf(g: Gateway, endpointId: string) {
  return g.database.db.select().from(outboundDeliveries).where(eq(outboundDeliveries.endpointId, endpointId));
}

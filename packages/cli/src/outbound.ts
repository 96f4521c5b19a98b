import { OUTBOUND_DELIVERY_STATUSES, type OutboundDeliveryStatus } from '@calgate/db';
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointView,
  listDeliveries,
  listEndpoints,
  MAX_OVERLAP_HOURS,
  resendDeliveries,
  rotateEndpointSecret,
  updateEndpoint,
} from '@calgate/domain';
import type { OperationsContext } from './operations.ts';

function line(endpoint: EndpointView): string {
  const state = endpoint.enabled ? 'enabled' : `disabled (${endpoint.disabledReason ?? ''})`;
  const events = endpoint.events.length === 0 ? 'all events' : endpoint.events.join(',');
  // An endpoint failing now (not yet disabled) is what an operator looks for first.
  const health = endpoint.failureStreak > 0 ? `failing: ${endpoint.failureStreak} attempt(s) in a row` : 'ok';
  return `${endpoint.id}\t${endpoint.companyId}\t${endpoint.url}\t${events}\t${state}\t${health}\t${endpoint.description}`;
}

/** Registers an endpoint and prints its signing secret (shown once). */
export async function endpointCreate(
  context: OperationsContext,
  companyId: string,
  input: { url: string; events?: string | undefined; description?: string | undefined },
): Promise<string> {
  const { endpoint, secret } = await createEndpoint(context.runtime, companyId, {
    url: input.url,
    events: input.events
      ?.split(',')
      .map((e) => e.trim())
      .filter((e) => e !== ''),
    description: input.description,
  });
  context.out(line(endpoint));
  context.out(`signing secret (shown once, store it now): ${secret}`);
  return endpoint.id;
}

export async function endpointList(context: OperationsContext, companyId?: string): Promise<number> {
  const endpoints = await listEndpoints(context.runtime, companyId);
  for (const endpoint of endpoints) context.out(line(endpoint));
  context.out(`${endpoints.length} endpoint(s)`);
  return endpoints.length;
}

/** Re-enables (sending what waited, in order) or disables an endpoint. */
export async function endpointSetEnabled(
  context: OperationsContext,
  endpointId: string,
  enabled: boolean,
): Promise<void> {
  context.out(line(await updateEndpoint(context.runtime, endpointId, { enabled })));
}

/**
 * `endpoint:rotate-secret`: a new signing secret, printed once; the previous one keeps signing
 * for the overlap (`--overlap-hours`, default 24, 0 = stop at once).
 */
export async function endpointRotateSecret(
  context: OperationsContext,
  endpointId: string,
  overlapHours: string | undefined,
): Promise<void> {
  if (
    overlapHours !== undefined &&
    (!/^[0-9]{1,3}$/.test(overlapHours) || Number(overlapHours) > MAX_OVERLAP_HOURS)
  ) {
    throw new Error(`--overlap-hours must be a whole number of hours from 0 to ${MAX_OVERLAP_HOURS}`);
  }
  const { endpoint, secret } = await rotateEndpointSecret(context.runtime, endpointId, {
    overlapHours: overlapHours === undefined ? undefined : Number(overlapHours),
  });
  context.out(line(endpoint));
  context.out(
    endpoint.previousSecretExpiresAt === null
      ? 'the previous signing secret no longer signs'
      : `the previous signing secret signs too until ${endpoint.previousSecretExpiresAt}`,
  );
  context.out(`new signing secret (shown once, store it now): ${secret}`);
}

export async function endpointDelete(context: OperationsContext, endpointId: string): Promise<void> {
  await deleteEndpoint(context.runtime, endpointId);
  context.out(`deleted ${endpointId}`);
}

/** An endpoint's deliveries, newest first, with the last attempt of each. */
export async function deliveriesList(
  context: OperationsContext,
  endpointId: string,
  status: string | undefined,
): Promise<number> {
  if (status !== undefined && !(OUTBOUND_DELIVERY_STATUSES as readonly string[]).includes(status)) {
    throw new Error(`--status must be one of ${OUTBOUND_DELIVERY_STATUSES.join(', ')}`);
  }
  const deliveries = await listDeliveries(context.runtime, endpointId, {
    status: status as OutboundDeliveryStatus | undefined,
    limit: 500,
  });
  for (const d of deliveries) {
    const last = d.attempts.at(-1);
    const outcome =
      last === undefined ? '-' : `${last.statusCode ?? last.error ?? '?'} in ${last.latencyMs} ms`;
    context.out(
      `${d.id}\t${d.eventId}\t${d.eventType}\t${d.appointmentId}\t${d.status}\tattempts=${d.attempts.length}\tlast=${outcome}`,
    );
  }
  context.out(`${deliveries.length} deliveries`);
  return deliveries.length;
}

/** Sends failed deliveries again: one, or every failed one of an endpoint. */
export async function deliveriesResend(
  context: OperationsContext,
  target: { deliveryId?: string | undefined; endpointId?: string | undefined },
): Promise<number> {
  if (target.deliveryId === undefined && target.endpointId === undefined) {
    throw new Error('--delivery or --endpoint is required');
  }
  const resent = await resendDeliveries(context.runtime, target);
  for (const id of resent) context.out(`resent ${id}`);
  context.out(`${resent.length} delivery(ies) resent`);
  return resent.length;
}

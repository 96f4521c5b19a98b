import { LocalCache } from '@calgate/cache';
import type { Config } from '@calgate/config';
import {
  newId,
  OUTBOUND_EVENT_TYPES,
  type OutboundEventType,
  openSecret,
  outboundEndpoints,
  SECRET_COLUMNS,
  type SecretColumn,
  sealSecret,
} from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, asc, eq } from 'drizzle-orm';
import type { DomainDeps } from '../deps.ts';
import { checkEndpointUrl } from './address-guard.ts';
import { requeueEndpoint } from './requeue.ts';
import { generateSigningSecret } from './signature.ts';

export type OutboundDeps = Pick<DomainDeps, 'db' | 'queues' | 'logger' | 'keyring'> & { config: Config };
type EndpointRow = typeof outboundEndpoints.$inferSelect;

/** An endpoint as operators see it (never its secret). */
export interface EndpointView {
  id: string;
  companyId: string;
  url: string;
  description: string;
  /** Empty: every event type. */
  events: OutboundEventType[];
  enabled: boolean;
  disabledAt: string | null;
  disabledReason: string | null;
  failureStreak: number;
  /** Until when the secret replaced by the last rotation signs too; null when none does. */
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export function endpointView(row: EndpointRow): EndpointView {
  return {
    id: row.id,
    companyId: row.companyId,
    url: row.url,
    description: row.description,
    events: row.eventTypes,
    enabled: row.disabledAt === null,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    disabledReason: row.disabledReason,
    failureStreak: row.failureStreak,
    previousSecretExpiresAt: row.previousSecretExpiresAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export interface EndpointInput {
  url: string;
  events?: string[] | undefined;
  description?: string | undefined;
}

function eventTypes(events: string[] | undefined): OutboundEventType[] {
  const list = [...new Set(events ?? [])];
  const unknown = list.filter((e) => !(OUTBOUND_EVENT_TYPES as readonly string[]).includes(e));
  if (unknown.length > 0) {
    throw new AppError(
      'VALIDATION_FAILED',
      `events must be among ${OUTBOUND_EVENT_TYPES.join(', ')} (got ${unknown.slice(0, 3).join(', ').slice(0, 200)})`,
      { details: { field: 'events' } },
    );
  }
  return list as OutboundEventType[];
}

function description(value: string | undefined): string {
  if (value !== undefined && value.length > 500) {
    throw new AppError('VALIDATION_FAILED', 'description must be at most 500 characters', {
      details: { field: 'description' },
    });
  }
  return value ?? '';
}

/**
 * Registers an endpoint of a company with a new signing secret, returned once: only its
 * encrypted form is stored.
 * @throws AppError VALIDATION_FAILED (url, events, description), NOT_FOUND (company).
 */
export async function createEndpoint(
  deps: OutboundDeps,
  companyId: string,
  input: EndpointInput,
): Promise<{ endpoint: EndpointView; secret: string }> {
  const url = await checkEndpointUrl(input.url, deps.config.outbound.allowPrivate);
  const company = await deps.db.query.companies.findFirst({ where: (c, { eq }) => eq(c.id, companyId) });
  if (company === undefined)
    throw new AppError('NOT_FOUND', 'No such company', { details: { field: 'companyId' } });
  const secret = generateSigningSecret();
  const [row] = await deps.db
    .insert(outboundEndpoints)
    .values({
      id: newId('owe'),
      companyId,
      url: url.toString(),
      description: description(input.description),
      eventTypes: eventTypes(input.events),
      secretEncrypted: sealSecret(secret, deps.keyring, { companyId, column: SECRET_COLUMNS.outboundSecret }),
    })
    .returning();
  return { endpoint: endpointView(row as EndpointRow), secret };
}

/** The company's endpoints, or every company's without one. */
export async function listEndpoints(
  deps: Pick<OutboundDeps, 'db'>,
  companyId?: string,
): Promise<EndpointView[]> {
  const rows = await deps.db
    .select()
    .from(outboundEndpoints)
    .where(companyId === undefined ? undefined : eq(outboundEndpoints.companyId, companyId))
    .orderBy(asc(outboundEndpoints.createdAt));
  return rows.map(endpointView);
}

/**
 * One endpoint; with `companyId`, only if it belongs to that company.
 * @throws AppError NOT_FOUND.
 */
export async function loadEndpoint(
  deps: Pick<OutboundDeps, 'db'>,
  id: string,
  companyId?: string,
): Promise<EndpointRow> {
  const [row] = await deps.db
    .select()
    .from(outboundEndpoints)
    .where(
      and(
        eq(outboundEndpoints.id, id),
        companyId === undefined ? undefined : eq(outboundEndpoints.companyId, companyId),
      ),
    )
    .limit(1);
  if (row === undefined) {
    throw new AppError('NOT_FOUND', `No webhook endpoint ${id.slice(0, 64)}`, {
      details: { field: 'endpointId' },
    });
  }
  return row;
}

/**
 * Decrypted secrets by column, company and ciphertext (a value opens only for its company and
 * column): every delivery needs one, and decrypting showed in profiles.
 */
const secrets = new LocalCache<string, string>({ name: 'outbound-secrets' });

function openCached(
  deps: Pick<OutboundDeps, 'keyring'>,
  companyId: string,
  stored: string,
  column: SecretColumn,
) {
  return secrets.getOrSet(`${column}:${companyId}:${stored}`, () =>
    openSecret(stored, deps.keyring, { companyId, column }),
  );
}

/** The endpoint's signing secret, decrypted (for the delivery job and a rotation only). */
export function endpointSecret(
  deps: Pick<OutboundDeps, 'keyring'>,
  row: { companyId: string; secretEncrypted: string },
): string {
  return openCached(deps, row.companyId, row.secretEncrypted, SECRET_COLUMNS.outboundSecret);
}

/** The secret a rotation replaced, decrypted (for the delivery job only, while it still signs). */
export function previousEndpointSecret(
  deps: Pick<OutboundDeps, 'keyring'>,
  row: { companyId: string; previousSecretEncrypted: string },
): string {
  return openCached(deps, row.companyId, row.previousSecretEncrypted, SECRET_COLUMNS.outboundPreviousSecret);
}

export interface EndpointChange {
  url?: string | undefined;
  events?: string[] | undefined;
  description?: string | undefined;
  /** true re-enables a disabled endpoint (its pending deliveries go out again); false disables it. */
  enabled?: boolean | undefined;
}

/**
 * Changes an endpoint. Re-enabling clears its failure streak and sends what waited meanwhile,
 * in order.
 * @throws AppError NOT_FOUND, VALIDATION_FAILED.
 */
export async function updateEndpoint(
  deps: OutboundDeps,
  id: string,
  change: EndpointChange,
  companyId?: string,
): Promise<EndpointView> {
  const row = await loadEndpoint(deps, id, companyId);
  const url =
    change.url === undefined
      ? undefined
      : await checkEndpointUrl(change.url, deps.config.outbound.allowPrivate);
  const enabling = change.enabled === true && row.disabledAt !== null;
  const [updated] = await deps.db
    .update(outboundEndpoints)
    .set({
      ...(url === undefined ? {} : { url: url.toString() }),
      ...(change.events === undefined ? {} : { eventTypes: eventTypes(change.events) }),
      ...(change.description === undefined ? {} : { description: description(change.description) }),
      ...(enabling ? { disabledAt: null, disabledReason: null, failureStreak: 0, failingSince: null } : {}),
      ...(change.enabled === false && row.disabledAt === null
        ? { disabledAt: new Date(), disabledReason: 'disabled by an operator' }
        : {}),
      updatedAt: new Date(),
    })
    .where(eq(outboundEndpoints.id, id))
    .returning();
  if (enabling) {
    const requeued = await requeueEndpoint(deps, id);
    deps.logger.info({ endpointId: id, requeued }, 'webhook endpoint re-enabled');
  }
  return endpointView(updated as EndpointRow);
}

/** Removes an endpoint with its deliveries and their attempts. @throws AppError NOT_FOUND. */
export async function deleteEndpoint(
  deps: Pick<OutboundDeps, 'db'>,
  id: string,
  companyId?: string,
): Promise<void> {
  await loadEndpoint(deps, id, companyId);
  await deps.db.delete(outboundEndpoints).where(eq(outboundEndpoints.id, id));
}

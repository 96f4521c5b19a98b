import { outboundEndpoints, SECRET_COLUMNS, sealSecret } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, eq, sql } from 'drizzle-orm';
import {
  type EndpointView,
  endpointSecret,
  endpointView,
  loadEndpoint,
  type OutboundDeps,
} from './endpoints.ts';
import { generateSigningSecret } from './signature.ts';

/** How long a replaced secret keeps signing unless the operator says otherwise. */
export const DEFAULT_OVERLAP_HOURS = 24;
/** A week: a receiver that has not switched by then is not switching on its own. */
export const MAX_OVERLAP_HOURS = 168;

// Another writer (a second rotation, `secrets:reencrypt`) changing the stored secret between our
// read and our write makes us read again; this many times in a row means something keeps changing it.
const ATTEMPTS = 3;

export interface RotatedSecret {
  endpoint: EndpointView;
  /** The new `whsec_` secret, shown once: only its encrypted form is stored. */
  secret: string;
}

function overlapHours(value: number | undefined): number {
  if (value === undefined) return DEFAULT_OVERLAP_HOURS;
  if (!Number.isInteger(value) || value < 0 || value > MAX_OVERLAP_HOURS) {
    throw new AppError(
      'VALIDATION_FAILED',
      `overlapHours must be a whole number from 0 to ${MAX_OVERLAP_HOURS}`,
      {
        details: { field: 'overlapHours' },
      },
    );
  }
  return value;
}

/**
 * Gives an endpoint a new signing secret, returned once. The replaced one keeps signing next to it
 * for `overlapHours` (every delivery then carries both signatures), so a receiver switches when it
 * is ready; 0 stops it at once (a leaked secret). A secret replaced by an earlier rotation stops
 * signing now. Pending deliveries stay and go out under the new secret.
 * @throws AppError NOT_FOUND (endpointId), VALIDATION_FAILED (overlapHours), INVALID_STATE (the
 * secret kept changing meanwhile; retry).
 */
export async function rotateEndpointSecret(
  deps: OutboundDeps,
  id: string,
  options: { overlapHours?: number | undefined } = {},
  companyId?: string,
): Promise<RotatedSecret> {
  const hours = overlapHours(options.overlapHours);
  const secret = generateSigningSecret();
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const row = await loadEndpoint(deps, id, companyId);
    const binding = { companyId: row.companyId };
    // Sealed again under the previous secret's own column label: a ciphertext opens only in the
    // column it was written for.
    const previous =
      hours === 0
        ? null
        : sealSecret(endpointSecret(deps, row), deps.keyring, {
            ...binding,
            column: SECRET_COLUMNS.outboundPreviousSecret,
          });
    const [updated] = await deps.db
      .update(outboundEndpoints)
      .set({
        secretEncrypted: sealSecret(secret, deps.keyring, {
          ...binding,
          column: SECRET_COLUMNS.outboundSecret,
        }),
        previousSecretEncrypted: previous,
        // The delivery job compares the expiry with the database's clock, so it is set on that clock too.
        previousSecretExpiresAt:
          previous === null ? null : sql`now() + make_interval(hours => ${hours}::int)`,
        updatedAt: new Date(),
      })
      .where(
        and(eq(outboundEndpoints.id, row.id), eq(outboundEndpoints.secretEncrypted, row.secretEncrypted)),
      )
      .returning();
    if (updated !== undefined) {
      const endpoint = endpointView(updated);
      deps.logger.info(
        {
          endpointId: endpoint.id,
          overlapHours: hours,
          previousSecretExpiresAt: endpoint.previousSecretExpiresAt,
        },
        'webhook endpoint signing secret rotated',
      );
      return { endpoint, secret };
    }
  }
  throw new AppError('INVALID_STATE', 'The secret of the endpoint kept changing meanwhile; rotate again', {
    retry: true,
    details: { field: 'endpointId' },
  });
}

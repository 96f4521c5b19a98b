import { createHash } from 'node:crypto';
import { AppError } from '@calgate/errors';

/**
 * Where a page ended: the last row's `starts_at` (microseconds since the epoch, exactly as
 * PostgreSQL stores it, so no row is repeated or skipped at a page boundary) and id, plus a digest
 * of the query's filters so that a cursor cannot be replayed against another query.
 */
export interface PageCursor {
  startsAtMicros: string;
  id: string;
}

const badCursor = (why: string) =>
  new AppError('VALIDATION_FAILED', `cursor: ${why}`, { details: { field: 'cursor' } });

/** A short digest of the filters (every parameter but `cursor` and `limit`). */
export function filtersDigest(filters: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.entries(filters).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 12);
}

/** The opaque text handed to the caller as `nextCursor`. */
export function encodeCursor(cursor: PageCursor, digest: string): string {
  return Buffer.from(JSON.stringify([cursor.startsAtMicros, cursor.id, digest])).toString('base64url');
}

/**
 * The cursor a caller sent back.
 * @throws AppError VALIDATION_FAILED naming `cursor` when it is not one of ours or belongs to
 * a query with other filters.
 */
export function decodeCursor(text: string, digest: string): PageCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('is not a cursor this API returned');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    typeof parsed[0] !== 'string' ||
    !/^-?\d{1,19}$/.test(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    parsed[1].length === 0 ||
    parsed[1].length > 64 ||
    typeof parsed[2] !== 'string'
  ) {
    throw badCursor('is not a cursor this API returned');
  }
  if (parsed[2] !== digest) throw badCursor('belongs to a query with other filters; start again without it');
  return { startsAtMicros: parsed[0], id: parsed[1] };
}

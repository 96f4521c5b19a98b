import type { serviceSegments } from '@calgate/db';
import type { SegmentInput } from './services.ts';

/** One difference between a catalog file and what the company has. */
export interface CatalogChange {
  action: 'create' | 'update' | 'deactivate' | 'remove';
  entity: 'staff' | 'service' | 'mapping';
  /** The staff or service key; a mapping is `service#position staff`. */
  key: string;
  fields: Array<{ field: string; from: unknown; to: unknown }>;
}

/** Fields of `desired` that differ from `current`, as `from -> to`. */
export function differences(
  current: Record<string, unknown>,
  desired: Record<string, unknown>,
): CatalogChange['fields'] {
  return Object.entries(desired)
    .filter(([field, value]) => !Object.is(current[field], value))
    .map(([field, to]) => ({ field, from: current[field] ?? null, to }));
}

/** Every field something new is created with (unset ones left out). */
export const created = (desired: Record<string, unknown>): CatalogChange['fields'] =>
  Object.entries(desired)
    .filter(([, value]) => value !== null && value !== undefined)
    .map(([field, to]) => ({ field, from: null, to }));

/** Segment changes by position: added or removed ones whole, changed ones field by field. */
export function segmentDifferences(
  existing: Array<typeof serviceSegments.$inferSelect>,
  wanted: SegmentInput[],
): CatalogChange['fields'] {
  const fields: CatalogChange['fields'] = [];
  const count = Math.max(existing.length, wanted.length);
  for (let position = 0; position < count; position++) {
    const before = existing.find((s) => s.position === position);
    const after = wanted[position];
    const at = `segments.${position}`;
    if (before === undefined || after === undefined) {
      fields.push({
        field: at,
        from:
          before === undefined
            ? null
            : `${before.name} ${before.durationMinutes}+${before.pauseAfterMinutes}`,
        to:
          after === undefined
            ? null
            : `${after.name} ${after.durationMinutes}+${after.pauseAfterMinutes ?? 0}`,
      });
      continue;
    }
    if (before.name !== after.name) fields.push({ field: `${at}.name`, from: before.name, to: after.name });
    if (before.durationMinutes !== after.durationMinutes) {
      fields.push({
        field: `${at}.durationMinutes`,
        from: before.durationMinutes,
        to: after.durationMinutes,
      });
    }
    if (before.pauseAfterMinutes !== (after.pauseAfterMinutes ?? 0)) {
      fields.push({
        field: `${at}.pauseAfterMinutes`,
        from: before.pauseAfterMinutes,
        to: after.pauseAfterMinutes ?? 0,
      });
    }
  }
  return fields;
}

const show = (value: unknown) => JSON.stringify(value);

/** The diff as lines: `+` created, `~` changed, `-` deactivated or removed. */
export function formatCatalogChanges(changes: CatalogChange[]): string[] {
  if (changes.length === 0) return ['no changes: the company already matches the catalog'];
  return changes.map((change) => {
    const sign = change.action === 'create' ? '+' : change.action === 'update' ? '~' : '-';
    const what =
      change.action === 'create'
        ? change.fields.map((f) => `${f.field}=${show(f.to)}`)
        : change.action === 'update'
          ? change.fields.map((f) => `${f.field} ${show(f.from)} -> ${show(f.to)}`)
          : [
              change.action === 'deactivate'
                ? 'deactivated'
                : `removed (was ${show(change.fields[0]?.from)})`,
            ];
    return `${sign} ${change.entity} ${change.key}: ${what.join(', ')}`;
  });
}

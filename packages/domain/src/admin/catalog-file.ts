import { AppError } from '@calgate/errors';
import { z } from 'zod';

/** A Cal.com id (user, event type): a whole number PostgreSQL's `integer` columns can hold. */
export const calcomId = z.number().int().positive().max(2_147_483_647);

const key = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, {
  message: 'must be 1-64 lowercase letters, digits, ".", "_" or "-"',
});
const minutes = (min: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(24 * 60);

const staffEntry = z.strictObject({
  key,
  name: z.string().trim().min(1).max(200),
  email: z.email().max(254).optional(),
  calcomUserId: calcomId.optional(),
  /** Defaults to the company's time zone. */
  timeZone: z.string().min(1).max(64).optional(),
  active: z.boolean().default(true),
});

const segmentEntry = z.strictObject({
  name: z.string().trim().min(1).max(200),
  durationMinutes: minutes(1),
  pauseAfterMinutes: minutes(0).default(0),
  /** Staff key -> the Cal.com event type that books this segment with that person. */
  eventTypes: z.record(key, calcomId).default({}),
});

const serviceEntry = z.strictObject({
  key,
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).optional(),
  preferSameStaff: z.boolean().default(false),
  active: z.boolean().default(true),
  segments: z.array(segmentEntry).min(1).max(20),
});

/**
 * A company's whole catalog, as kept in version control: staff and services by the operator's
 * own keys, each segment with the event type that books it per staff member.
 */
export const catalogSchema = z.strictObject({
  staff: z.array(staffEntry).default([]),
  services: z.array(serviceEntry).default([]),
});

export type Catalog = z.infer<typeof catalogSchema>;
export type CatalogStaff = Catalog['staff'][number];
export type CatalogService = Catalog['services'][number];

function invalid(field: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', `${field}: ${message}`, { details: { field } });
}

/**
 * Reads a parsed catalog document (from YAML or JSON).
 * @throws AppError VALIDATION_FAILED naming the first bad field (`services.1.segments.0.durationMinutes`).
 */
export function parseCatalog(document: unknown): Catalog {
  const parsed = catalogSchema.safeParse(document ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((issue) => ({
      field: issue.path.map(String).join('.') || 'catalog',
      message: issue.message,
    }));
    const first = issues[0] ?? { field: 'catalog', message: 'is invalid' };
    throw new AppError('VALIDATION_FAILED', issues.map((i) => `${i.field}: ${i.message}`).join('; '), {
      details: { field: first.field, issues },
    });
  }
  const catalog = parsed.data;
  const staffKeys = new Set<string>();
  const emails = new Map<string, string>();
  for (const [i, member] of catalog.staff.entries()) {
    if (staffKeys.has(member.key)) throw invalid(`staff.${i}.key`, `${member.key} appears twice`);
    staffKeys.add(member.key);
    const email = member.email?.toLowerCase();
    if (email === undefined) continue;
    const first = emails.get(email);
    // Each staff member's email is theirs alone (the database's unique index); a shared front-desk
    // address is left out instead.
    if (first !== undefined) throw invalid(`staff.${i}.email`, `is already ${first}'s email in this catalog`);
    emails.set(email, member.key);
  }
  const serviceKeys = new Set<string>();
  for (const [i, service] of catalog.services.entries()) {
    if (serviceKeys.has(service.key)) throw invalid(`services.${i}.key`, `${service.key} appears twice`);
    serviceKeys.add(service.key);
    for (const [j, segment] of service.segments.entries()) {
      for (const staffKey of Object.keys(segment.eventTypes)) {
        if (!staffKeys.has(staffKey)) {
          throw invalid(
            `services.${i}.segments.${j}.eventTypes.${staffKey}`,
            `no staff member with key ${staffKey} in this catalog`,
          );
        }
      }
      if (j === service.segments.length - 1 && segment.pauseAfterMinutes !== 0) {
        throw invalid(
          `services.${i}.segments.${j}.pauseAfterMinutes`,
          'must be 0 on the last segment (nothing follows it)',
        );
      }
    }
  }
  return catalog;
}

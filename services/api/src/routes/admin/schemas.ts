import { z } from 'zod';

const id = (prefix: string) => z.string().min(1).max(64).describe(`An id starting with ${prefix}_`);
const key = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
  .describe("The operator's own key (a catalog file's), unique per company: 1-64 of a-z 0-9 . _ -");
/** A Cal.com id (user, event type): a whole number PostgreSQL's `integer` columns can hold. */
export const calcomId = z.number().int().positive().max(2_147_483_647);
const timeZone = z.string().min(1).max(64).describe('IANA time zone, e.g. Europe/Berlin');

export const companyParams = z.object({ companyId: id('cmp') });

export const companySchema = z.object({
  id: z.string(),
  name: z.string(),
  slug: z.string(),
  timeZone: z.string(),
  disabled: z.boolean().describe("While true, the company's API tokens are refused"),
  disabledAt: z.string().nullable(),
  ownCalcomKey: z.boolean().describe('Whether the company has its own Cal.com key (never shown)'),
  ownWebhookSecret: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const createCompanySchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  timeZone: timeZone.optional(),
  calcomApiKey: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe("The company's own Cal.com key, stored encrypted"),
});

export const updateCompanySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    timeZone: timeZone.optional(),
  })
  .refine((body) => body.name !== undefined || body.timeZone !== undefined, {
    message: 'give name, timeZone or both',
    path: ['name'],
  });

export const tokenSchema = z.object({
  id: z.string(),
  companyId: z.string(),
  name: z.string(),
  prefix: z.string().describe('The first characters of the token, to recognise it'),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  createdAt: z.string(),
});

export const newTokenSchema = tokenSchema.extend({
  secret: z.string().describe('The token itself: shown this once, only its hash is stored'),
});

export const staffSchema = z.object({
  id: z.string(),
  key: z.string().nullable(),
  name: z.string(),
  email: z.string().nullable(),
  calcomUserId: z.number().int().nullable(),
  timeZone: z.string(),
  active: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const staffFields = {
  key: key.nullable().optional(),
  name: z.string().trim().min(1).max(200),
  email: z.email().max(254).nullable().optional(),
  calcomUserId: calcomId.nullable().optional().describe('The Cal.com user booked'),
  timeZone: timeZone.optional(),
  active: z.boolean().optional(),
};
export const createStaffSchema = z.strictObject(staffFields);
export const updateStaffSchema = z.strictObject({ ...staffFields, name: staffFields.name.optional() });

const segmentInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  durationMinutes: z.number().int().min(1).max(1440),
  pauseAfterMinutes: z
    .number()
    .int()
    .min(0)
    .max(1440)
    .optional()
    .describe('Staff are free for this long after the segment (0 on the last)'),
});
const serviceFields = {
  key: key.nullable().optional(),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).nullable().optional(),
  preferSameStaff: z.boolean().optional(),
  active: z.boolean().optional().describe('A deactivated service takes no new bookings'),
  segments: z
    .array(segmentInput)
    .min(1)
    .max(20)
    .describe('In order; one segment makes a simple service, more a composite one'),
};
export const createServiceSchema = z.strictObject(serviceFields);
export const updateServiceSchema = z.strictObject({
  ...serviceFields,
  name: serviceFields.name.optional(),
  segments: serviceFields.segments.optional(),
});

export const mappingSchema = z.object({
  id: z.string(),
  serviceId: z.string(),
  segmentId: z.string(),
  position: z.number().int(),
  staffId: z.string(),
  eventTypeId: z.number().int(),
  eventTypeSlug: z.string().nullable(),
});

export const adminServiceSchema = z.object({
  id: z.string(),
  key: z.string().nullable(),
  name: z.string(),
  description: z.string().nullable(),
  kind: z.enum(['simple', 'composite']),
  preferSameStaff: z.boolean(),
  active: z.boolean(),
  source: z.enum(['local', 'calcom']),
  segments: z.array(
    z.object({
      id: z.string(),
      position: z.number().int(),
      name: z.string(),
      durationMinutes: z.number().int(),
      pauseAfterMinutes: z.number().int(),
      mappings: z.array(mappingSchema),
    }),
  ),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const saveMappingSchema = z.strictObject({
  serviceId: id('svc'),
  position: z.number().int().min(0).max(19).describe("The segment's position in the service (0 = first)"),
  staffId: id('stf'),
  eventTypeId: calcomId.describe("A Cal.com event type of the company's connection, as long as the segment"),
});

export const catalogChangeSchema = z.object({
  action: z.enum(['create', 'update', 'deactivate', 'remove']),
  entity: z.enum(['staff', 'service', 'mapping']),
  key: z.string(),
  fields: z.array(z.object({ field: z.string(), from: z.unknown(), to: z.unknown() })),
});

export { id };

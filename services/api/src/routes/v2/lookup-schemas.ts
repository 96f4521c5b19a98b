import { APPOINTMENT_SOURCES, APPOINTMENT_STATUSES } from '@calgate/db';
import { DEFAULT_PAGE_SIZE, MAX_APPOINTMENT_HOURS, MAX_PAGE_SIZE } from '@calgate/domain';
import { z } from 'zod';
import { appointmentSchema } from './schemas.ts';

const status = z.enum(APPOINTMENT_STATUSES);
const instant = (what: string) =>
  z.string().min(1).max(64).describe(`ISO 8601 date-time with an offset; ${what}`);

/** Filters of GET /api/v2/bookings. Unknown parameters are refused, so a misspelt filter never lists everything. */
export const findBookingsQuerySchema = z
  .object({
    customerEmail: z.string().trim().min(3).max(254).optional().describe('Case-insensitive'),
    customerPhone: z
      .string()
      .min(3)
      .max(40)
      .optional()
      .describe('Any spelling of the number (+49 151 1234 5678, 0151 12345678); matched in E.164'),
    status: z
      .union([status, z.array(status).max(APPOINTMENT_STATUSES.length)])
      .optional()
      .describe('Repeatable: status=pending&status=confirmed'),
    serviceId: z.string().min(1).max(64).optional(),
    staffId: z.string().min(1).max(64).optional(),
    from: instant(
      `appointments that end after it (and are at most ${MAX_APPOINTMENT_HOURS} h long)`,
    ).optional(),
    to: instant('appointments that start before it').optional(),
    source: z.enum(APPOINTMENT_SOURCES).optional().describe('api, calcom (made in Cal.com) or reconcile'),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_PAGE_SIZE)
      .optional()
      .describe(`Page size, at most ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE})`),
    cursor: z.string().min(1).max(512).optional().describe('nextCursor of the previous page'),
  })
  .strict();

export const appointmentSummarySchema = appointmentSchema.omit({ history: true, failure: true }).extend({
  failure: z.object({ code: z.string(), reason: z.string() }).nullable(),
});

export const appointmentPageSchema = z.object({
  appointments: z.array(appointmentSummarySchema),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
});

export const findCustomersQuerySchema = z
  .object({
    phone: z.string().min(3).max(40).optional().describe('Any spelling of the number; matched in E.164'),
    email: z.string().trim().min(3).max(254).optional().describe('Case-insensitive'),
  })
  .strict();

export const customersSchema = z.object({
  customers: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      email: z.string().nullable(),
      phone: z.string().nullable().describe('E.164'),
      language: z.string().nullable(),
      upcoming: z.array(appointmentSummarySchema).describe('Appointments not yet over, soonest first'),
    }),
  ),
});

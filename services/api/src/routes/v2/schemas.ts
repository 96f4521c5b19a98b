import { CALCOM_LANGUAGES } from '@calgate/calcom';
import { APPOINTMENT_STATUSES } from '@calgate/db';
import { z } from 'zod';

const id = (prefix: string) => z.string().min(1).max(64).describe(`An id starting with ${prefix}_`);

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
    }),
  })
  .describe('Every error of this API');

export const serviceSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  kind: z.enum(['simple', 'composite']),
  durationMinutes: z
    .number()
    .int()
    .describe('Start of the first segment to end of the last, pauses included'),
  preferSameStaff: z.boolean(),
  segments: z.array(
    z.object({
      id: z.string(),
      position: z.number().int(),
      name: z.string(),
      durationMinutes: z.number().int(),
      pauseAfterMinutes: z.number().int(),
      staff: z.array(z.object({ id: z.string(), name: z.string() })),
    }),
  ),
});

export const availabilityQuerySchema = z.object({
  start: z
    .string()
    .min(1)
    .max(64)
    .describe('ISO date (2026-03-17) or date-time; a bare date is that day in timeZone'),
  end: z.string().min(1).max(64).describe('ISO date or date-time; a bare date means the end of that day'),
  timeZone: z.string().min(1).max(64).describe('IANA time zone, e.g. Europe/Berlin'),
  staffId: id('stf').optional(),
});

export const availabilitySchema = z.object({
  serviceId: z.string(),
  timeZone: z.string(),
  start: z.string(),
  end: z.string(),
  slots: z.array(
    z.object({
      start: z.string(),
      end: z.string(),
      staff: z.array(z.object({ id: z.string(), name: z.string() })),
      segments: z
        .array(
          z.object({
            position: z.number().int(),
            name: z.string(),
            start: z.string(),
            end: z.string(),
            staff: z.object({ id: z.string(), name: z.string() }),
          }),
        )
        .optional()
        .describe('Composite services: each segment with its staff member'),
      pauses: z.array(z.object({ start: z.string(), end: z.string() })).optional(),
    }),
  ),
});

export const bookingBodySchema = z
  .object({
    serviceId: id('svc'),
    start: z
      .string()
      .min(1)
      .max(64)
      .describe('ISO 8601 date-time with offset, e.g. 2026-03-17T10:00:00+01:00'),
    timeZone: z.string().min(1).max(64).describe('IANA time zone of the customer'),
    customer: z
      .object({
        name: z.string().trim().min(1).max(200),
        email: z.email().max(254).optional().describe('Required unless phone is given'),
        phone: z
          .string()
          .regex(/^\+?[0-9 ()./-]{5,40}$/, {
            message: 'must be a phone number, preferably E.164 (+4915112345678)',
          })
          .optional()
          .describe(
            'Stored in E.164; a number without country code is read in PHONE_DEFAULT_REGION. Without ' +
              'an email, the Cal.com event types must take phone-only bookings (else 400 customer.email)',
          ),
        language: z
          .enum(CALCOM_LANGUAGES)
          .optional()
          .describe("Passed to Cal.com as the attendee's language (its messages to the customer)"),
      })
      .strict(),
    staffId: id('stf').optional(),
    notes: z.string().max(2000).optional().describe('Passed to Cal.com as the booking\'s "Additional notes"'),
    metadata: z
      .record(z.string().min(1).max(40), z.string().max(500))
      .refine((value) => Object.keys(value).length <= 40, { message: 'at most 40 keys' })
      .optional(),
    holdId: id('hld').optional().describe('Book exactly the slot of this hold (POST /api/v2/holds)'),
  })
  .strict();

export const rescheduleBodySchema = z
  .object({
    start: z.string().min(1).max(64).describe('ISO 8601 date-time with offset'),
    timeZone: z.string().min(1).max(64),
    reason: z.string().max(500).optional(),
  })
  .strict();

/** DELETE may come without a body (Fastify then passes null). */
export const cancelBodySchema = z
  .object({ cancellationReason: z.string().max(500).optional() })
  .strict()
  .nullish();

export const bookingHeadersSchema = z.object({
  'idempotency-key': z.string().max(255).optional(),
  prefer: z.string().max(200).optional(),
});

export const bookingParamsSchema = z.object({ id: id('apt') });

export const appointmentSchema = z.object({
  id: z.string(),
  status: z
    .enum(APPOINTMENT_STATUSES)
    .describe('pending until Cal.com confirmed it; failed carries a failure'),
  serviceId: z.string(),
  staff: z.object({ id: z.string(), name: z.string() }).nullable(),
  customer: z.object({
    id: z.string(),
    name: z.string(),
    email: z.string().nullable(),
    phone: z.string().nullable(),
  }),
  start: z.string().describe('In the appointment time zone, with offset'),
  end: z.string(),
  timeZone: z.string(),
  calcom: z.object({ bookingUid: z.string().nullable(), bookingId: z.number().nullable() }),
  failure: z.object({ code: z.string(), reason: z.string(), alternatives: z.array(z.unknown()) }).nullable(),
  needsAttention: z.boolean(),
  notes: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  source: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  history: z.array(
    z.object({
      event: z.string(),
      from: z.string().nullable(),
      to: z.string().nullable(),
      actor: z.string(),
      at: z.string(),
      data: z.unknown(),
    }),
  ),
});

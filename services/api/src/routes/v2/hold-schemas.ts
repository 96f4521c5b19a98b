import { z } from 'zod';

const id = (prefix: string) => z.string().min(1).max(64).describe(`An id starting with ${prefix}_`);

export const holdHeadersSchema = z.object({ 'idempotency-key': z.string().max(255).optional() });

export const holdBodySchema = z
  .object({
    serviceId: id('svc'),
    start: z
      .string()
      .min(1)
      .max(64)
      .describe('ISO 8601 date-time with offset, a start offered by the availability route'),
    timeZone: z.string().min(1).max(64).describe('IANA time zone of the customer'),
    staffId: id('stf').optional(),
    ttlSeconds: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('How long to hold, in seconds: default 300, at most 900 (HOLD_DEFAULT_TTL_SECONDS)'),
  })
  .strict();

export const holdParamsSchema = z.object({ id: id('hld') });

export const holdSchema = z.object({
  id: z.string(),
  status: z
    .enum(['active', 'consumed', 'released', 'expired'])
    .describe('expired as soon as expiresAt has passed; consumed once a booking used it'),
  serviceId: z.string(),
  start: z.string().describe('In the hold time zone, with offset'),
  end: z.string(),
  timeZone: z.string(),
  expiresAt: z.string().describe('UTC instant; book with holdId before it'),
  appointmentId: z.string().nullable().describe('The booking that used the hold'),
  segments: z.array(
    z.object({
      position: z.number().int(),
      staffId: z.string(),
      start: z.string(),
      end: z.string(),
      reservationUid: z.string().nullable().describe("Cal.com's reservation; null once deleted"),
    }),
  ),
  createdAt: z.string(),
});

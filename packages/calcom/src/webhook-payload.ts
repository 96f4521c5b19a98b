import { z } from 'zod';

const person = z.looseObject({
  id: z.number().int().nullish(),
  name: z.string().nullish(),
  email: z.string().nullish(),
  timeZone: z.string().nullish(),
  phoneNumber: z.string().nullish(),
});

const bookingFields = {
  uid: z.string().min(1),
  bookingId: z.number().int().nullish(),
  eventTypeId: z.number().int().nullish(),
  startTime: z.string(),
  endTime: z.string(),
  status: z.string().nullish(),
  title: z.string().nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  attendees: z.array(person).nullish(),
  organizer: person.nullish(),
  rescheduleUid: z.string().nullish(),
  rescheduleId: z.number().int().nullish(),
  cancellationReason: z.string().nullish(),
  responses: z.record(z.string(), z.unknown()).nullish(),
  iCalUID: z.string().nullish(),
  iCalSequence: z.number().int().nullish(),
};
const bookingPayloadSchema = z.looseObject(bookingFields);
const webhookSchema = z.looseObject({
  triggerEvent: z.string().min(1),
  createdAt: z.string().nullish(),
  payload: z.unknown().optional(),
});

export interface NormalisedWebhookBooking {
  uid: string;
  bookingId: number | null;
  eventTypeId: number | null;
  start: string;
  end: string;
  /** UPPERCASE as Cal.com sends it in webhooks (ACCEPTED, CANCELLED, ...). */
  status: string | null;
  metadata: Record<string, unknown>;
  attendees: Array<{
    name: string | null;
    email: string | null;
    timeZone: string | null;
    phoneNumber: string | null;
  }>;
  organizerEmail: string | null;
  organizerId: number | null;
  rescheduleUid: string | null;
  cancellationReason: string | null;
  /** Same across a reschedule chain. */
  iCalUid: string | null;
  /** Grows with each change of the chain: a lower number is an older state. */
  iCalSequence: number | null;
}

export interface CalcomWebhook {
  /** UPPER_SNAKE trigger name; dotted names (`booking.created`) are normalised. */
  trigger: string;
  createdAt: string | null;
  booking: NormalisedWebhookBooking | null;
  raw: unknown;
}

/** `booking.created` -> `BOOKING_CREATED`; UPPER_SNAKE stays as it is. */
export function normaliseTrigger(name: string): string {
  return name
    .trim()
    .replace(/[.\s-]+/g, '_')
    .toUpperCase();
}

function isoUtc(value: string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

/**
 * Reads a Cal.com webhook body. `MEETING_STARTED` / `MEETING_ENDED` are flat (booking fields at
 * the top level); every other trigger nests them under `payload`.
 * @throws ZodError when the body is not a webhook at all.
 */
export function parseCalcomWebhook(json: unknown): CalcomWebhook {
  const outer = webhookSchema.parse(json);
  const trigger = normaliseTrigger(outer.triggerEvent);
  const candidate = outer.payload !== undefined && outer.payload !== null ? outer.payload : json;
  const parsed = bookingPayloadSchema.safeParse(candidate);
  const booking = parsed.success
    ? {
        uid: parsed.data.uid,
        bookingId: parsed.data.bookingId ?? null,
        eventTypeId: parsed.data.eventTypeId ?? null,
        start: isoUtc(parsed.data.startTime),
        end: isoUtc(parsed.data.endTime),
        status: parsed.data.status?.toUpperCase() ?? null,
        metadata: parsed.data.metadata ?? {},
        attendees: (parsed.data.attendees ?? []).map((a) => ({
          name: a.name ?? null,
          email: a.email ?? null,
          timeZone: a.timeZone ?? null,
          phoneNumber: a.phoneNumber ?? null,
        })),
        organizerEmail: parsed.data.organizer?.email ?? null,
        organizerId: parsed.data.organizer?.id ?? null,
        rescheduleUid: parsed.data.rescheduleUid ?? null,
        cancellationReason: parsed.data.cancellationReason ?? null,
        iCalUid: parsed.data.iCalUID ?? null,
        iCalSequence: parsed.data.iCalSequence ?? null,
      }
    : null;
  return { trigger, createdAt: outer.createdAt ?? null, booking, raw: json };
}

/**
 * What webhook intake needs before storing a delivery, without validating the booking fields
 * (the worker parses the whole body later): the trigger and the booking uid.
 * @returns undefined when the body is not a webhook (no `triggerEvent`).
 */
export function peekCalcomWebhook(json: unknown): { trigger: string; uid: string | null } | undefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const { triggerEvent, payload } = json as { triggerEvent?: unknown; payload?: unknown };
  if (typeof triggerEvent !== 'string' || triggerEvent.trim() === '') return undefined;
  const source = payload !== null && typeof payload === 'object' ? payload : json;
  const uid = (source as { uid?: unknown }).uid;
  return {
    trigger: normaliseTrigger(triggerEvent),
    uid: typeof uid === 'string' && uid !== '' ? uid.slice(0, 200) : null,
  };
}

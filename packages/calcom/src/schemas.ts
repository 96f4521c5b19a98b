import { z } from 'zod';

/** The success envelope of every Cal.com v2 answer. */
export const envelope = <T extends z.ZodType>(data: T) =>
  z.looseObject({ status: z.literal('success'), data });

const attendee = z.looseObject({
  name: z.string(),
  email: z.string(),
  timeZone: z.string(),
  phoneNumber: z.string().nullish(),
  language: z.string().nullish(),
});

export const bookingSchema = z.looseObject({
  id: z.number().int(),
  uid: z.string().min(1),
  title: z.string().nullish(),
  status: z.string().transform((s) => s.toLowerCase()),
  start: z.string(),
  end: z.string(),
  duration: z.number().nullish(),
  eventTypeId: z.number().int(),
  attendees: z.array(attendee).default([]),
  hosts: z.array(z.looseObject({ id: z.number().optional(), name: z.string().optional() })).default([]),
  metadata: z.record(z.string(), z.unknown()).nullish(),
  cancellationReason: z.string().nullish(),
  rescheduledFromUid: z.string().nullish(),
  rescheduledToUid: z.string().nullish(),
  /** The iCal UID, the same across a reschedule chain (webhooks call it `iCalUID`). */
  icsUid: z.string().nullish(),
  createdAt: z.string().nullish(),
  updatedAt: z.string().nullish(),
});
export type Booking = z.infer<typeof bookingSchema>;

export const paginationSchema = z.looseObject({
  totalItems: z.number(),
  remainingItems: z.number(),
  returnedItems: z.number().optional(),
  itemsPerPage: z.number(),
  currentPage: z.number(),
  totalPages: z.number(),
  hasNextPage: z.boolean(),
  hasPreviousPage: z.boolean(),
});
export type Pagination = z.infer<typeof paginationSchema>;

export const bookingListSchema = z.looseObject({
  status: z.literal('success'),
  data: z.array(bookingSchema),
  pagination: paginationSchema,
});

/** Date -> free slot starts (`[{start}]`, or `[{start,end}]` with format=range). */
export const slotsSchema = z.record(
  z.string(),
  z
    .array(z.union([z.looseObject({ start: z.string(), end: z.string().optional() }), z.string()]))
    .transform((list) => list.map((slot) => (typeof slot === 'string' ? { start: slot } : slot))),
);
export type SlotsMap = Record<string, Array<{ start: string; end?: string | undefined }>>;

export const reservationSchema = z.looseObject({
  reservationUid: z.string(),
  eventTypeId: z.number().int(),
  slotStart: z.string(),
  slotEnd: z.string(),
  slotDuration: z.number(),
  reservationDuration: z.number(),
  reservationUntil: z.string(),
});
export type Reservation = z.infer<typeof reservationSchema>;

export const meSchema = z.looseObject({
  id: z.number().int(),
  username: z.string(),
  email: z.string(),
  timeZone: z.string(),
});
export type Me = z.infer<typeof meSchema>;

export const eventTypeSchema = z.looseObject({
  id: z.number().int(),
  title: z.string(),
  slug: z.string(),
  lengthInMinutes: z.number(),
  description: z.string().nullish(),
  hidden: z.boolean().optional(),
  ownerId: z.number().nullish(),
  users: z.array(z.unknown()).optional(),
  /** Only what decides which attendee contact the event type takes; each field is read loosely. */
  bookingFields: z
    .array(
      z.looseObject({
        slug: z.string().optional(),
        type: z.string().optional(),
        required: z.unknown().optional(),
        hidden: z.unknown().optional(),
      }),
    )
    .nullish(),
  /** Only whether bookings wait for the host: present and not `disabled`. */
  confirmationPolicy: z
    .looseObject({ type: z.string().optional(), disabled: z.boolean().optional() })
    .nullish()
    .catch(undefined),
});
export type EventType = z.infer<typeof eventTypeSchema>;

export const teamSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  slug: z.string().nullish(),
});
export type Team = z.infer<typeof teamSchema>;

/** `TeamMembershipOutput`: the member's user id, whether they accepted, and who they are. */
export const teamMembershipSchema = z.looseObject({
  id: z.number().int(),
  userId: z.number().int(),
  teamId: z.number().int(),
  accepted: z.boolean(),
  role: z.string(),
  user: z.looseObject({
    email: z.string(),
    username: z.string().nullish(),
    name: z.string().nullish(),
  }),
});
export type TeamMembership = z.infer<typeof teamMembershipSchema>;

export const webhookSchema = z.looseObject({
  id: z.union([z.string(), z.number()]).transform(String),
  subscriberUrl: z.string(),
  triggers: z.array(z.string()),
  active: z.boolean(),
  payloadTemplate: z.string().nullish(),
  secret: z.string().nullish(),
});
export type Webhook = z.infer<typeof webhookSchema>;

const metadataSchema = z
  .record(z.string().max(40), z.string().max(500))
  .refine((value) => Object.keys(value).length <= 50, { message: 'at most 50 keys' });

/** The attendee `language` values Cal.com accepts (`CreateBookingAttendee.language`; default `en`). */
export const CALCOM_LANGUAGES = [
  'ar',
  'az',
  'bg',
  'bn',
  'ca',
  'cs',
  'da',
  'de',
  'el',
  'en',
  'es',
  'es-419',
  'et',
  'eu',
  'fi',
  'fr',
  'he',
  'hr',
  'hu',
  'id',
  'it',
  'iw',
  'ja',
  'km',
  'ko',
  'lv',
  'nl',
  'no',
  'pl',
  'pt',
  'pt-BR',
  'ro',
  'ru',
  'sk',
  'sr',
  'sv',
  'ta',
  'th',
  'tr',
  'uk',
  'vi',
  'zh-CN',
  'zh-TW',
] as const;
export type CalcomLanguage = (typeof CALCOM_LANGUAGES)[number];

/** What we send to create a booking: exactly the fields Cal.com accepts (it rejects unknown ones). */
export const createBookingInputSchema = z.strictObject({
  start: z.string(),
  eventTypeId: z.number().int().positive(),
  attendee: z.strictObject({
    name: z.string().min(1),
    email: z.string().optional(),
    phoneNumber: z.string().optional(),
    timeZone: z.string(),
    language: z.enum(CALCOM_LANGUAGES).optional(),
  }),
  guests: z.array(z.string()).optional(),
  location: z.unknown().optional(),
  bookingFieldsResponses: z.record(z.string(), z.unknown()).optional(),
  metadata: metadataSchema.optional(),
  lengthInMinutes: z.number().int().positive().optional(),
});
export type CreateBookingInput = z.input<typeof createBookingInputSchema>;

export interface ListBookingsFilters {
  attendeeEmail?: string;
  eventTypeId?: number;
  eventTypeIds?: number[];
  afterStart?: string;
  beforeEnd?: string;
  afterUpdatedAt?: string;
  beforeUpdatedAt?: string;
  status?: Array<'upcoming' | 'recurring' | 'past' | 'cancelled' | 'unconfirmed'>;
  sortUpdatedAt?: 'asc' | 'desc';
  sortStart?: 'asc' | 'desc';
  take?: number;
  skip?: number;
}

export interface CreateEventTypeInput {
  title: string;
  slug: string;
  lengthInMinutes: number;
  description?: string;
  hidden?: boolean;
  disableGuests?: boolean;
  slotInterval?: number;
  minimumBookingNotice?: number;
  locations?: Array<{ type: 'address'; address: string; public: boolean }>;
  /**
   * Changed booking fields. `{type: 'email', required: false, hidden: true}` with
   * `{type: 'phone', slug: 'attendeePhoneNumber', required: true, hidden: false, ...}` makes an event
   * type bookable with a phone number only.
   */
  bookingFields?: Array<
    | { type: 'email'; label: string; placeholder: string; required: boolean; hidden: boolean }
    | {
        type: 'phone';
        slug: string;
        label: string;
        placeholder: string;
        required: boolean;
        hidden: boolean;
      }
  >;
}

export interface CreateWebhookInput {
  subscriberUrl: string;
  triggers: string[];
  active: boolean;
  secret?: string;
  payloadTemplate?: string;
}

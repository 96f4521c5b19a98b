import type { BookingId, BookingUid, EventTypeId, ReservationUid, TeamId, UserId, WebhookId } from './ids.ts';

/** Per call: the job's AbortSignal reaches the provider's HTTP request. */
export interface CallOptions {
  signal?: AbortSignal | undefined;
}

/** Free slot starts by date: date -> `[{start}]`; `{}` when nothing is free. */
export type SlotsByDay = Record<string, Array<{ start: string; end?: string | undefined }>>;

export interface SlotsQuery {
  eventTypeId: EventTypeId;
  /** ISO instants; the window is [start, end). */
  start: string;
  end: string;
  timeZone: string;
}

export interface ReserveSlotInput {
  eventTypeId: EventTypeId;
  slotStart: string;
  slotDuration?: number;
  /** Minutes the reservation lives. */
  reservationDuration?: number;
}

export interface Reservation {
  reservationUid: ReservationUid;
  eventTypeId: EventTypeId;
  slotStart: string;
  slotEnd: string;
  reservationUntil: string;
}

export interface BookingAttendee {
  name: string;
  email: string;
  timeZone: string;
  phoneNumber?: string | null | undefined;
  language?: string | null | undefined;
}

/** A booking as the provider has it now. `status` is lower case (accepted, cancelled, ...). */
export interface Booking {
  id: BookingId;
  uid: BookingUid;
  title?: string | null | undefined;
  status: string;
  start: string;
  end: string;
  duration?: number | null | undefined;
  eventTypeId: EventTypeId;
  attendees: BookingAttendee[];
  hosts: Array<{ id?: UserId | undefined; name?: string | undefined }>;
  /** Our own keys (appointment ids) travel here: they find a booking whose answer was lost. */
  metadata?: Record<string, unknown> | null | undefined;
  cancellationReason?: string | null | undefined;
  rescheduledFromUid?: BookingUid | null | undefined;
  rescheduledToUid?: BookingUid | null | undefined;
  /** The iCal UID, the same across a reschedule chain. */
  icsUid?: string | null | undefined;
  createdAt?: string | null | undefined;
  updatedAt?: string | null | undefined;
}

export interface CreateBookingInput {
  start: string;
  eventTypeId: EventTypeId;
  attendee: {
    name: string;
    email?: string;
    phoneNumber?: string;
    timeZone: string;
    language?: string;
  };
  guests?: string[];
  location?: unknown;
  bookingFieldsResponses?: Record<string, unknown>;
  /** At most 50 keys of 40 characters, values of 500. */
  metadata?: Record<string, string>;
  lengthInMinutes?: number;
}

/** Live (not cancelled) bookings that carry every given metadata entry, found within a window. */
export interface BookingsByMetadataQuery {
  metadata: Record<string, string>;
  /** Narrows the search; a phone-only customer has none. */
  attendeeEmail?: string | undefined;
  eventTypeIds: EventTypeId[];
  /** Bookings starting at or after `from` and ending by `to` (ISO instants). */
  from: string;
  to: string;
}

/** Bookings changed since an instant, oldest change first, a page at a time (reconciliation). */
export interface ChangedBookingsQuery {
  updatedAfter: string;
  /** Only these event types (a company on a shared account); every one the key sees when absent. */
  eventTypeIds?: EventTypeId[];
  take: number;
  skip: number;
}

/** The account the connection's key belongs to. */
export interface Account {
  id: UserId;
  username: string;
  email: string;
  timeZone: string;
}

export interface EventType {
  id: EventTypeId;
  title: string;
  slug: string;
  lengthInMinutes: number;
  description?: string | null | undefined;
  hidden?: boolean | undefined;
  ownerId?: UserId | null | undefined;
  /** What decides which attendee contact the event type takes; each field read loosely. */
  bookingFields?:
    | Array<{ slug?: string | undefined; type?: string | undefined; required?: unknown; hidden?: unknown }>
    | null
    | undefined;
  /** Whether bookings wait for the host (`always`, or `time` within a notice); absent or `disabled`: they do not. */
  confirmationPolicy?: { type?: string | undefined; disabled?: boolean | undefined } | null | undefined;
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
  /** Changed booking fields: hiding the email and requiring a phone makes a phone-only event type. */
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

export interface Team {
  id: TeamId;
  name: string;
  slug?: string | null | undefined;
}

export interface TeamMember {
  userId: UserId;
  teamId: TeamId;
  accepted: boolean;
  role: string;
  user: { email: string; username?: string | null | undefined; name?: string | null | undefined };
}

/** A subscription of ours to the provider's booking notifications. */
export interface Webhook {
  id: WebhookId;
  subscriberUrl: string;
  triggers: string[];
  active: boolean;
  /** The signing secret, when the provider answers it (a changed one is installed again). */
  secret?: string | null | undefined;
}

export interface WebhookInput {
  subscriberUrl: string;
  triggers: string[];
  active: boolean;
  secret?: string;
}

/**
 * What the domain needs of a calendar provider, for one connection (one key). The domain depends on
 * this and nothing else of the provider's client; `@calgate/calcom` implements it for Cal.com.
 * Failures are `AppError`s with our codes (`SLOT_UNAVAILABLE`, `UPSTREAM_UNAVAILABLE`, ...), and
 * `retry` says whether the same call may succeed later. Implementations never retry by themselves.
 */
export interface CalendarProvider {
  /** Free slots of an event type within a window. */
  getSlots(query: SlotsQuery, options?: CallOptions): Promise<SlotsByDay>;

  /** Holds a slot for a while so nobody else can book it. */
  reserveSlot(input: ReserveSlotInput, options?: CallOptions): Promise<Reservation>;
  /** Releases a reservation; an unknown or already released one is not an error. */
  deleteReservation(uid: ReservationUid, options?: CallOptions): Promise<void>;

  /** Books a slot. @throws AppError SLOT_UNAVAILABLE when it is taken. */
  createBooking(input: CreateBookingInput, options?: CallOptions): Promise<Booking>;
  getBooking(uid: BookingUid, options?: CallOptions): Promise<Booking>;
  /** Moves a booking; the answer may be a new booking with a new uid that replaces the old one. */
  rescheduleBooking(
    uid: BookingUid,
    input: { start: string; reschedulingReason?: string | undefined },
    options?: CallOptions,
  ): Promise<Booking>;
  cancelBooking(
    uid: BookingUid,
    input: { cancellationReason: string },
    options?: CallOptions,
  ): Promise<Booking>;
  /** Whether an error of `cancelBooking` says the booking was cancelled already (a retry's success). */
  isAlreadyCancelled(error: unknown): boolean;
  findBookingsByMetadata(query: BookingsByMetadataQuery, options?: CallOptions): Promise<Booking[]>;
  listChangedBookings(
    query: ChangedBookingsQuery,
    options?: CallOptions,
  ): Promise<{ bookings: Booking[]; totalItems: number; hasNextPage: boolean }>;

  /** The account of the connection's key. */
  getMe(options?: CallOptions): Promise<Account>;
  listEventTypes(input: { username: string }, options?: CallOptions): Promise<EventType[]>;
  createEventType(input: CreateEventTypeInput, options?: CallOptions): Promise<EventType>;
  listTeams(options?: CallOptions): Promise<Team[]>;
  listTeamMemberships(
    teamId: TeamId,
    page?: { take?: number; skip?: number },
    options?: CallOptions,
  ): Promise<TeamMember[]>;

  listWebhooks(options?: CallOptions): Promise<Webhook[]>;
  createWebhook(input: WebhookInput, options?: CallOptions): Promise<Webhook>;
  updateWebhook(id: WebhookId, input: Partial<WebhookInput>, options?: CallOptions): Promise<Webhook>;
  deleteWebhook(id: WebhookId, options?: CallOptions): Promise<void>;
}

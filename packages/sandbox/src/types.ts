export interface WorkingHours {
  /** 0 = Sunday ... 6 = Saturday. */
  days: number[];
  /** 'HH:MM' in the user's own time zone. */
  startTime: string;
  endTime: string;
}

export interface SandboxUser {
  id: number;
  username: string;
  email: string;
  name: string;
  timeZone: string;
  /** The API key that acts as this user. */
  apiKey: string;
  /** @defaultValue Monday to Friday, 09:00-17:00 in the user's zone */
  workingHours?: WorkingHours;
}

export interface SandboxEventType {
  id: number;
  /** The account whose API key manages it (lists it, sees its bookings). */
  ownerId: number;
  /** Who can be booked; busy time is per host across all event types. @defaultValue [ownerId] */
  hostIds?: number[];
  title: string;
  slug: string;
  lengthInMinutes: number;
  /** @defaultValue lengthInMinutes */
  slotIntervalMinutes?: number;
  hidden?: boolean;
  /** @defaultValue 0 */
  minimumBookingNoticeMinutes?: number;
  description?: string;
  /**
   * Booking fields the owner changed (by slug); the rest are Cal.com's defaults, where the
   * attendee's email is required. An optional email with a required `attendeePhoneNumber` phone
   * field lets the event type be booked with a phone number only.
   */
  bookingFields?: SandboxBookingField[];
  /**
   * Cal.com's `confirmationPolicy`: bookings wait for the host (status `pending`, webhook
   * `BOOKING_REQUESTED`) always, or (`time`) when made less than `noticeThreshold` ahead of their
   * start. A pending booking blocks its host's time only with `blockUnconfirmedBookingsInBooker`.
   * @defaultValue none: every booking is accepted at once
   */
  confirmationPolicy?: SandboxConfirmationPolicy;
}

export interface SandboxConfirmationPolicy {
  type: 'always' | 'time';
  noticeThreshold?: { unit: 'minutes' | 'hours'; count: number };
  blockUnconfirmedBookingsInBooker: boolean;
}

/** One booking field of an event type, as far as the sandbox checks responses against it. */
export interface SandboxBookingField {
  slug: string;
  type: string;
  required: boolean;
  hidden: boolean;
}

/** A Cal.com team: its members' keys may read it; each member keeps their own event types. */
export interface SandboxTeam {
  id: number;
  name: string;
  slug: string;
  /** Members in order; the first is the owner. */
  memberIds: number[];
}

export interface SandboxSeed {
  users: SandboxUser[];
  eventTypes: SandboxEventType[];
  /** @defaultValue [] */
  teams?: SandboxTeam[];
}

export interface SandboxAttendee {
  name: string;
  email: string;
  timeZone: string;
  phoneNumber?: string;
  language?: string;
}

export interface SandboxBooking {
  id: number;
  uid: string;
  eventTypeId: number;
  hostId: number;
  title: string;
  description: string;
  status: 'accepted' | 'pending' | 'cancelled' | 'rejected';
  start: number;
  end: number;
  attendees: SandboxAttendee[];
  guests: string[];
  location: string;
  metadata: Record<string, string>;
  bookingFieldsResponses: Record<string, unknown>;
  cancellationReason: string | null;
  /** The host's reason for declining a pending booking. */
  rejectionReason: string | null;
  cancelledByEmail: string | null;
  reschedulingReason: string | null;
  rescheduledFromUid: string | null;
  rescheduledToUid: string | null;
  /** Stays the same across a reschedule chain, as Cal.com's `iCalUID` does. */
  iCalUid: string;
  /** Grows with every change of the chain (reschedule, cancel), as Cal.com's `iCalSequence`. */
  iCalSequence: number;
  createdAt: number;
  updatedAt: number;
}

export interface SandboxReservation {
  uid: string;
  eventTypeId: number;
  hostId: number;
  /** Key fingerprint of who reserved it; their own slots stay visible to them. */
  owner: string;
  slotStart: number;
  slotEnd: number;
  until: number;
  reservationMinutes: number;
}

export interface WebhookSubscription {
  id: string;
  userId: number;
  subscriberUrl: string;
  triggers: string[];
  active: boolean;
  secret: string | null;
  payloadTemplate: string | null;
  createdAt: number;
}

export interface WebhookDelivery {
  at: number;
  url: string;
  trigger: string;
  uid: string;
  status: number | null;
  error: string | null;
  dropped: boolean;
}

export const SANDBOX_OPERATIONS = [
  'slots.get',
  'slots.reserve',
  'reservations.get',
  'reservations.update',
  'reservations.delete',
  'bookings.create',
  'bookings.get',
  'bookings.list',
  'bookings.reschedule',
  'bookings.cancel',
  'me.get',
  'eventTypes.create',
  'eventTypes.list',
  'webhooks.create',
  'webhooks.list',
  'webhooks.update',
  'webhooks.delete',
  'teams.list',
  'teams.memberships',
] as const;
export type SandboxOperation = (typeof SANDBOX_OPERATIONS)[number];

export interface FaultSpec {
  operation: SandboxOperation | '*';
  /** Answer with this status (and `body`, or Cal.com's usual body for the status). */
  status?: number;
  body?: unknown;
  /** Applies to the next N matching calls. @defaultValue 1 (when no probability is given) */
  count?: number;
  /** Instead of count: each matching call is hit with this probability. */
  probability?: number;
  /** Let this many matching calls through before the fault starts to apply. @defaultValue 0 */
  skip?: number;
  /** Extra delay before answering. */
  latencyMs?: number;
  /** Accept the request and never answer (until the client gives up). */
  timeout?: boolean;
  /**
   * Apply the operation first; then `latencyMs` delays the answer and `status` replaces it:
   * "Cal.com did it but the answer was lost (or slow)".
   */
  afterEffect?: boolean;
  /** Extra answer headers, e.g. `x-ratelimit-reset-default` for an injected 429. */
  headers?: Record<string, string>;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  operation: SandboxOperation | 'unknown';
  /** sha256 prefix of the key, never the key. */
  keyFingerprint: string | null;
  status: number;
  /**
   * How long the sandbox took to answer (configured latency included), so a benchmark can subtract
   * Cal.com's own time from what a caller saw.
   */
  ms: number;
  /** When the request arrived, on this process's `performance.now()` clock (for gaps between calls). */
  startedAt: number;
  /** The booking a `bookings.create` or `bookings.reschedule` made (to attribute a call to its booking). */
  createdUid: string | null;
}

import { createHmac } from 'node:crypto';
import { offsetMinutes } from '@calgate/time';
import type { BookingChange, SandboxStore } from './store.ts';
import type { SandboxBooking, WebhookDelivery } from './types.ts';

const TRIGGER: Record<BookingChange['kind'], string> = {
  created: 'BOOKING_CREATED',
  rescheduled: 'BOOKING_RESCHEDULED',
  cancelled: 'BOOKING_CANCELLED',
  // The host's confirmation is announced as the booking's creation (Cal.com's handleConfirmation).
  confirmed: 'BOOKING_CREATED',
  rejected: 'BOOKING_REJECTED',
};

/** A booking (or a reschedule) that waits for the host is announced as requested. */
function triggerOf(change: BookingChange): string {
  const made = change.kind === 'created' || change.kind === 'rescheduled';
  return made && change.booking.status === 'pending' ? 'BOOKING_REQUESTED' : TRIGGER[change.kind];
}

const STATUS: Record<SandboxBooking['status'], string> = {
  accepted: 'ACCEPTED',
  pending: 'PENDING',
  cancelled: 'CANCELLED',
  rejected: 'REJECTED',
};

function person(name: string, email: string, timeZone: string, at: number) {
  const [first = '', ...rest] = name.split(' ');
  return {
    email,
    name,
    firstName: first,
    lastName: rest.join(' '),
    timeZone,
    language: { locale: 'en' },
    utcOffset: offsetMinutes(new Date(at), timeZone),
  };
}

/** The body Cal.com POSTs for a booking change (shapes as in the contract's fixture files). */
export function webhookBody(store: SandboxStore, change: BookingChange, at: number) {
  const b: SandboxBooking = change.booking;
  const eventType = store.eventTypes.get(b.eventTypeId);
  const host = store.users.get(b.hostId);
  const attendee = b.attendees[0];
  const payload: Record<string, unknown> = {
    bookerUrl: 'https://cal.com',
    type: eventType?.slug ?? 'deleted',
    title: b.title,
    description: b.description,
    additionalNotes: typeof b.bookingFieldsResponses.notes === 'string' ? b.bookingFieldsResponses.notes : '',
    customInputs: {},
    startTime: new Date(b.start).toISOString().replace('.000Z', 'Z'),
    endTime: new Date(b.end).toISOString().replace('.000Z', 'Z'),
    organizer:
      host === undefined
        ? null
        : {
            id: host.id,
            name: host.name,
            email: host.email,
            username: host.username,
            timeZone: host.timeZone,
            language: { locale: 'en' },
            timeFormat: 'h:mma',
            utcOffset: offsetMinutes(new Date(b.start), host.timeZone),
          },
    responses: {
      name: { label: 'your_name', value: attendee?.name ?? '', isHidden: false },
      email: { label: 'email_address', value: attendee?.email ?? '', isHidden: false },
      location: { label: 'location', value: { optionValue: '', value: b.location }, isHidden: false },
    },
    userFieldsResponses: {},
    // Cal.com's attendee list carries the attendee's phone and language too.
    attendees: b.attendees.map((a) => ({
      ...person(a.name, a.email, a.timeZone, b.start),
      language: { locale: a.language ?? 'en' },
      ...(a.phoneNumber === undefined ? {} : { phoneNumber: a.phoneNumber }),
    })),
    location: b.location,
    destinationCalendar: null,
    hideCalendarNotes: false,
    hideCalendarEventDetails: false,
    hideOrganizerEmail: false,
    requiresConfirmation: eventType?.confirmationPolicy !== undefined,
    eventTypeId: b.eventTypeId,
    seatsShowAttendees: true,
    seatsShowAvailabilityCount: true,
    seatsPerTimeSlot: null,
    schedulingType: null,
    iCalUID: b.iCalUid,
    iCalSequence: b.iCalSequence,
    uid: b.uid,
    eventTitle: eventType?.title ?? '',
    eventDescription: eventType?.description ?? '',
    price: 0,
    currency: 'usd',
    length: Math.round((b.end - b.start) / 60_000),
    bookingId: b.id,
    metadata: b.metadata,
    status: STATUS[b.status],
  };
  if (change.kind === 'rescheduled') {
    Object.assign(payload, {
      rescheduleId: change.previous.id,
      rescheduleUid: change.previous.uid,
      rescheduleStartTime: new Date(change.previous.start).toISOString().replace('.000Z', 'Z'),
      rescheduleEndTime: new Date(change.previous.end).toISOString().replace('.000Z', 'Z'),
      rescheduledBy: attendee?.email ?? null,
    });
  }
  if (change.kind === 'cancelled') {
    Object.assign(payload, {
      cancellationReason: b.cancellationReason,
      cancelledBy: b.cancelledByEmail ?? host?.email,
    });
  }
  if (change.kind === 'rejected') Object.assign(payload, { rejectionReason: b.rejectionReason });
  return { triggerEvent: triggerOf(change), createdAt: new Date(at).toISOString(), payload };
}

export interface WebhookDropPolicy {
  count: number;
  probability: number;
}

/** Delivers signed webhooks asynchronously, once, without retries, as Cal.com does. */
export class WebhookDispatcher {
  readonly deliveries: WebhookDelivery[] = [];
  readonly #pending = new Set<Promise<void>>();
  drop: WebhookDropPolicy = { count: 0, probability: 0 };
  readonly #store: SandboxStore;
  readonly #random: () => number;

  /** @param random decides drops with a probability (seeded, to replay a run) */
  constructor(store: SandboxStore, random: () => number) {
    this.#store = store;
    this.#random = random;
  }

  dispatch(change: BookingChange): void {
    const eventType = this.#store.eventTypes.get(change.booking.eventTypeId);
    if (eventType === undefined) return;
    const accounts = new Set([eventType.ownerId, change.booking.hostId]);
    const trigger = triggerOf(change);
    for (const sub of this.#store.subscriptions.values()) {
      if (!sub.active || !accounts.has(sub.userId) || !sub.triggers.includes(trigger)) continue;
      const at = this.#store.now();
      const raw = JSON.stringify(webhookBody(this.#store, change, at));
      const record: WebhookDelivery = {
        at,
        url: sub.subscriberUrl,
        trigger,
        uid: change.booking.uid,
        status: null,
        error: null,
        dropped: false,
      };
      this.deliveries.push(record);
      if (this.deliveries.length > 10_000) this.deliveries.shift();
      if (this.#shouldDrop()) {
        record.dropped = true;
        continue;
      }
      const signature =
        sub.secret === null
          ? 'no-secret-provided'
          : createHmac('sha256', sub.secret).update(raw).digest('hex');
      const promise = fetch(sub.subscriberUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-cal-signature-256': signature,
          'x-cal-webhook-version': '2021-10-20',
        },
        body: raw,
        signal: AbortSignal.timeout(5_000),
      })
        .then(async (response) => {
          record.status = response.status;
          await response.arrayBuffer().catch(() => undefined);
        })
        .catch((error: unknown) => {
          record.error = error instanceof Error ? error.message : String(error);
        })
        .finally(() => this.#pending.delete(promise));
      this.#pending.add(promise);
    }
  }

  #shouldDrop(): boolean {
    if (this.drop.count > 0) {
      this.drop.count--;
      return true;
    }
    return this.drop.probability > 0 && this.#random() < this.drop.probability;
  }

  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

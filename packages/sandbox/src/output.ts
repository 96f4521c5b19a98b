import type { SandboxStore } from './store.ts';
import type {
  SandboxBooking,
  SandboxBookingField,
  SandboxEventType,
  SandboxUser,
  WebhookSubscription,
} from './types.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** A booking as Cal.com's BookingOutput_2024_08_13. */
export function bookingOutput(store: SandboxStore, b: SandboxBooking) {
  const host = store.users.get(b.hostId);
  const eventType = store.eventTypes.get(b.eventTypeId);
  const attendee = b.attendees[0];
  return {
    id: b.id,
    uid: b.uid,
    title: b.title,
    description: b.description,
    hosts: host === undefined ? [] : [hostOutput(host)],
    status: b.status,
    cancellationReason: b.cancellationReason ?? undefined,
    cancelledByEmail: b.cancelledByEmail ?? undefined,
    reschedulingReason: b.reschedulingReason ?? undefined,
    rescheduledFromUid: b.rescheduledFromUid ?? undefined,
    rescheduledToUid: b.rescheduledToUid ?? undefined,
    start: iso(b.start),
    end: iso(b.end),
    duration: Math.round((b.end - b.start) / 60_000),
    eventTypeId: b.eventTypeId,
    eventType: { id: b.eventTypeId, slug: eventType?.slug ?? 'deleted' },
    meetingUrl: `https://app.cal.com/video/${b.uid}`,
    location: b.location,
    absentHost: false,
    createdAt: iso(b.createdAt),
    updatedAt: iso(b.updatedAt),
    metadata: b.metadata,
    icsUid: b.iCalUid,
    attendees: b.attendees.map((a) => ({
      name: a.name,
      email: a.email,
      timeZone: a.timeZone,
      language: a.language ?? 'en',
      absent: false,
      ...(a.phoneNumber === undefined ? {} : { phoneNumber: a.phoneNumber }),
    })),
    guests: b.guests,
    bookingFieldsResponses: { name: attendee?.name, email: attendee?.email, ...b.bookingFieldsResponses },
  };
}

function hostOutput(u: SandboxUser) {
  return { id: u.id, name: u.name, email: u.email, username: u.username, timeZone: u.timeZone };
}

/** An event type as Cal.com's EventTypeOutput_2024_06_14. */
export function eventTypeOutput(store: SandboxStore, e: SandboxEventType) {
  return {
    id: e.id,
    lengthInMinutes: e.lengthInMinutes,
    title: e.title,
    slug: e.slug,
    description: e.description ?? '',
    locations: [],
    bookingFields: (e.bookingFields ?? []).map(bookingFieldOutput),
    disableGuests: false,
    // The OpenAPI document types slotInterval as a nullable object; Cal.com answers null by default.
    slotInterval: null,
    minimumBookingNotice: e.minimumBookingNoticeMinutes ?? 0,
    recurrence: null,
    metadata: {},
    price: 0,
    currency: 'usd',
    lockTimeZoneToggleOnBookingPage: false,
    forwardParamsSuccessRedirect: null,
    successRedirectUrl: null,
    isInstantEvent: false,
    scheduleId: null,
    hidden: e.hidden ?? false,
    // Cal.com leaves the policy out when bookings are accepted at once.
    ...(e.confirmationPolicy === undefined ? {} : { confirmationPolicy: e.confirmationPolicy }),
    bookingRequiresAuthentication: false,
    ownerId: e.ownerId,
    // Typed as string[] in the OpenAPI document: the hosts' usernames.
    users: (e.hostIds ?? [e.ownerId])
      .map((id) => store.users.get(id)?.username)
      .filter((u): u is string => u !== undefined),
  };
}

/** A webhook subscription as Cal.com answers it. The contract: ids are UUID strings. */
export function webhookOutput(w: WebhookSubscription) {
  return {
    id: w.id,
    userId: w.userId,
    subscriberUrl: w.subscriberUrl,
    triggers: w.triggers,
    active: w.active,
    payloadTemplate: w.payloadTemplate,
    ...(w.secret === null ? {} : { secret: w.secret }),
  };
}

export function meOutput(u: SandboxUser) {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    name: u.name,
    timeFormat: 24,
    defaultScheduleId: u.id * 10,
    weekStart: 'Monday',
    timeZone: u.timeZone,
    organizationId: null,
  };
}

/** A booking field the owner configured, as the 2024-06-14 event type output lists it. */
function bookingFieldOutput(f: SandboxBookingField) {
  if (f.slug === 'email') {
    return {
      type: 'email',
      slug: 'email',
      label: 'Email',
      placeholder: '',
      required: f.required,
      hidden: f.hidden,
      isDefault: true,
    };
  }
  return {
    type: f.type,
    slug: f.slug,
    label: f.slug,
    placeholder: '',
    required: f.required,
    hidden: f.hidden,
    isDefault: false,
  };
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkResponses, readContact, readLanguage, storedAttendee } from '../booking-fields.ts';
import type { SandboxContext } from '../context.ts';
import { shape1 } from '../errors.ts';
import { bookingOutput } from '../output.ts';
import type { SandboxBooking } from '../types.ts';
import {
  asObject,
  readMetadata,
  rejectUnknown,
  requireIsoDate,
  requirePositiveInt,
  requireString,
  requireTimeZone,
} from '../validate.ts';

const CREATE_FIELDS = [
  'start',
  'attendee',
  'bookingFieldsResponses',
  'eventTypeId',
  'eventTypeSlug',
  'username',
  'teamSlug',
  'organizationSlug',
  'guests',
  'meetingUrl',
  'location',
  'metadata',
  'lengthInMinutes',
  'routing',
  'emailVerificationCode',
];
const ATTENDEE_FIELDS = ['name', 'email', 'timeZone', 'phoneNumber', 'language'];

function readAttendee(value: unknown, path: string) {
  const attendee = asObject(value, path, 'attendee');
  rejectUnknown(attendee, ATTENDEE_FIELDS, path, 'attendee.');
  const contact = readContact(attendee.email, attendee.phoneNumber, path);
  const language = readLanguage(attendee.language, path);
  return {
    contact,
    name: requireString(attendee.name, 'attendee.name', path, 200),
    timeZone: requireTimeZone(attendee.timeZone, 'attendee.timeZone', path),
    ...(language === undefined ? {} : { language }),
  };
}

const statusMatches = (b: SandboxBooking, wanted: string[], now: number) =>
  wanted.some((s) => {
    if (s === 'cancelled') return b.status === 'cancelled' || b.status === 'rejected';
    if (s === 'unconfirmed') return b.status === 'pending';
    if (s === 'upcoming') return (b.status === 'accepted' || b.status === 'pending') && b.end >= now;
    if (s === 'past') return b.status !== 'cancelled' && b.end < now;
    return false;
  });

/** /v2/bookings: create, get, list, reschedule, cancel — with Cal.com's rules and answers. */
export function bookingRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { store } = ctx;
  const cfg = (operation: string) => ({ config: { operation, family: 'bookings' as const } });

  app.post('/v2/bookings', cfg('bookings.create'), async (request: FastifyRequest, reply) => {
    const path = request.url;
    const body = asObject(request.body, path);
    rejectUnknown(body, CREATE_FIELDS, path);
    const start = requireIsoDate(body.start, 'start', path);
    const eventTypeId = requirePositiveInt(body.eventTypeId, 'eventTypeId', path);
    const { contact, ...person } = readAttendee(body.attendee, path);
    const metadata = readMetadata(body.metadata, path);
    const responses =
      body.bookingFieldsResponses === undefined
        ? {}
        : asObject(body.bookingFieldsResponses, path, 'bookingFieldsResponses');
    const eventType = store.eventType(eventTypeId, path);
    checkResponses(eventType, { name: person.name, ...contact }, responses, path);
    const attendee = storedAttendee(contact, person);
    const held = store.hold(eventType, start, path);
    try {
      await ctx.delay();
      const booking = store.createBooking(
        {
          eventTypeId,
          start,
          attendee,
          metadata,
          guests: Array.isArray(body.guests) ? body.guests.map(String) : [],
          bookingFieldsResponses: {
            ...responses,
            ...(contact.phoneNumber === undefined ? {} : { attendeePhoneNumber: contact.phoneNumber }),
          },
        },
        held.host.id,
      );
      request.createdUid = booking.uid;
      store.onChange({ kind: 'created', booking });
      return reply.status(201).send({ status: 'success', data: bookingOutput(store, booking) });
    } finally {
      held.release();
    }
  });

  app.get(
    '/v2/bookings/:uid',
    cfg('bookings.get'),
    async (request: FastifyRequest<{ Params: { uid: string } }>) => {
      await ctx.delay();
      const booking = ctx.ownBooking(request, request.params.uid);
      return { status: 'success', data: bookingOutput(store, booking) };
    },
  );

  app.get(
    '/v2/bookings',
    cfg('bookings.list'),
    async (request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
      await ctx.delay();
      const q = request.query;
      const now = store.now();
      const date = (v: string | undefined, field: string) =>
        v === undefined ? undefined : requireIsoDate(v, field, request.url);
      const afterStart = date(q.afterStart, 'afterStart');
      const beforeEnd = date(q.beforeEnd, 'beforeEnd');
      const afterUpdated = date(q.afterUpdatedAt, 'afterUpdatedAt');
      const beforeUpdated = date(q.beforeUpdatedAt, 'beforeUpdatedAt');
      const eventTypeIds = [q.eventTypeId, ...(q.eventTypeIds?.split(',') ?? [])]
        .filter((v): v is string => v !== undefined && v !== '')
        .map(Number);
      const statuses = q.status?.split(',').filter(Boolean) ?? [];
      const email = q.attendeeEmail?.toLowerCase();
      let list = store
        .visibleTo(ctx.userOf(request))
        .filter(
          (b) =>
            (email === undefined || b.attendees.some((a) => a.email.toLowerCase() === email)) &&
            (eventTypeIds.length === 0 || eventTypeIds.includes(b.eventTypeId)) &&
            (afterStart === undefined || b.start >= afterStart) &&
            (beforeEnd === undefined || b.end <= beforeEnd) &&
            (afterUpdated === undefined || b.updatedAt >= afterUpdated) &&
            (beforeUpdated === undefined || b.updatedAt <= beforeUpdated) &&
            (statuses.length === 0 || statusMatches(b, statuses, now)),
        );
      const direction = (v: string | undefined) => (v === 'desc' ? -1 : 1);
      if (q.sortUpdatedAt !== undefined)
        list.sort((a, b) => (a.updatedAt - b.updatedAt) * direction(q.sortUpdatedAt));
      else list.sort((a, b) => (a.start - b.start) * direction(q.sortStart));
      const take = Math.min(Math.max(Number(q.take ?? 100) || 100, 1), 250);
      const skip = Math.max(Number(q.skip ?? 0) || 0, 0);
      const total = list.length;
      list = list.slice(skip, skip + take);
      const totalPages = Math.max(1, Math.ceil(total / take));
      const currentPage = Math.floor(skip / take) + 1;
      return {
        status: 'success',
        data: list.map((b) => bookingOutput(store, b)),
        pagination: {
          totalItems: total,
          remainingItems: Math.max(0, total - skip - list.length),
          returnedItems: list.length,
          itemsPerPage: take,
          currentPage,
          totalPages,
          hasNextPage: skip + list.length < total,
          hasPreviousPage: skip > 0,
        },
      };
    },
  );

  app.post(
    '/v2/bookings/:uid/reschedule',
    cfg('bookings.reschedule'),
    async (request: FastifyRequest<{ Params: { uid: string } }>, reply) => {
      const path = request.url;
      const body = asObject(request.body, path);
      rejectUnknown(body, ['start', 'rescheduledBy', 'reschedulingReason', 'emailVerificationCode'], path);
      const start = requireIsoDate(body.start, 'start', path);
      const old = ctx.ownBooking(request, request.params.uid);
      if (old.status === 'cancelled') throw shape1(400, path, 'Cannot reschedule a cancelled booking.');
      const held = store.hold(store.eventType(old.eventTypeId, path), start, path, old.uid);
      try {
        await ctx.delay();
        const [attendee] = old.attendees;
        if (attendee === undefined) throw shape1(400, path, 'Booking has no attendee');
        const booking = store.createBooking(
          { eventTypeId: old.eventTypeId, start, attendee, metadata: old.metadata, guests: old.guests },
          held.host.id,
          old.uid,
          ctx.userOf(request).id,
        );
        booking.reschedulingReason =
          typeof body.reschedulingReason === 'string' ? body.reschedulingReason : null;
        old.status = 'cancelled';
        old.rescheduledToUid = booking.uid;
        old.updatedAt = store.now();
        request.createdUid = booking.uid;
        store.onChange({ kind: 'rescheduled', booking, previous: old });
        return reply.status(201).send({ status: 'success', data: bookingOutput(store, booking) });
      } finally {
        held.release();
      }
    },
  );

  app.post(
    '/v2/bookings/:uid/cancel',
    cfg('bookings.cancel'),
    async (request: FastifyRequest<{ Params: { uid: string } }>) => {
      const path = request.url;
      const body = asObject(request.body ?? {}, path);
      rejectUnknown(body, ['cancellationReason', 'cancelSubsequentBookings'], path);
      await ctx.delay();
      const reason = body.cancellationReason;
      if (typeof reason !== 'string' || reason.trim() === '') {
        throw shape1(400, path, 'Cancellation reason is required when you are the host');
      }
      const user = ctx.userOf(request);
      ctx.ownBooking(request, request.params.uid);
      const booking = store.cancel(request.params.uid, reason, user.email, path);
      return { status: 'success', data: bookingOutput(store, booking) };
    },
  );
}

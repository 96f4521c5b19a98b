import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SandboxContext } from '../context.ts';
import { shape1 } from '../errors.ts';
import { formatSlot, localDay } from '../slots.ts';
import type { SandboxReservation } from '../types.ts';
import { asObject, rejectUnknown, requireIsoDate, requirePositiveInt, requireTimeZone } from '../validate.ts';

const DAY_MS = 86_400_000;

function reservationOutput(r: SandboxReservation) {
  return {
    eventTypeId: r.eventTypeId,
    slotStart: new Date(r.slotStart).toISOString(),
    slotEnd: new Date(r.slotEnd).toISOString(),
    slotDuration: Math.round((r.slotEnd - r.slotStart) / 60_000),
    reservationUid: r.uid,
    reservationDuration: r.reservationMinutes,
    reservationUntil: new Date(r.until).toISOString(),
  };
}

/** /v2/slots and /v2/slots/reservations. */
export function schedulingRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { store } = ctx;
  const cfg = (operation: string) => ({ config: { operation, family: 'slots' as const } });

  app.get(
    '/v2/slots',
    cfg('slots.get'),
    async (request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
      const path = request.url;
      const q = request.query;
      const eventTypeId = requirePositiveInt(q.eventTypeId, 'eventTypeId', path);
      const timeZone = q.timeZone === undefined ? 'UTC' : requireTimeZone(q.timeZone, 'timeZone', path);
      const from = requireIsoDate(q.start, 'start', path);
      // A bare date as `end` means the end of that day.
      const endRaw = requireIsoDate(q.end, 'end', path);
      const to = /^\d{4}-\d{2}-\d{2}$/.test(q.end ?? '') ? endRaw + DAY_MS : endRaw;
      if (to <= from) throw shape1(400, path, 'end must be after start');
      const eventType = store.eventType(eventTypeId, path);
      await ctx.delay();
      const lengthMs = eventType.lengthInMinutes * 60_000;
      const data: Record<string, Array<{ start: string; end?: string }>> = {};
      for (const slot of store.freeSlots(eventType, from, to)) {
        const day = localDay(slot.start, timeZone);
        const entry = {
          start: formatSlot(slot.start, timeZone),
          ...(q.format === 'range' ? { end: formatSlot(slot.start + lengthMs, timeZone) } : {}),
        };
        const list = data[day] ?? [];
        list.push(entry);
        data[day] = list;
      }
      return { status: 'success', data };
    },
  );

  app.post('/v2/slots/reservations', cfg('slots.reserve'), async (request, reply) => {
    const path = request.url;
    const { eventType, slotStart, duration, minutes } = readReservation(request);
    await ctx.delay();
    const reservation = store.reserve(
      eventType,
      slotStart,
      duration,
      minutes,
      request.keyFingerprint ?? 'anonymous',
      path,
    );
    store.reservations.set(reservation.uid, reservation);
    return reply.status(201).send({ status: 'success', data: reservationOutput(reservation) });
  });

  /** The fields a reservation request may carry; missing ones fall back to `current` or the event type. */
  const readReservation = (request: FastifyRequest, current?: SandboxReservation) => {
    const path = request.url;
    const body = asObject(request.body, path);
    rejectUnknown(body, ['eventTypeId', 'slotStart', 'slotDuration', 'reservationDuration'], path);
    const eventType = store.eventType(
      body.eventTypeId === undefined && current !== undefined
        ? current.eventTypeId
        : requirePositiveInt(body.eventTypeId, 'eventTypeId', path),
      path,
    );
    const slotStart =
      body.slotStart === undefined && current !== undefined
        ? current.slotStart
        : requireIsoDate(body.slotStart, 'slotStart', path);
    const duration =
      body.slotDuration === undefined
        ? eventType.lengthInMinutes
        : requirePositiveInt(body.slotDuration, 'slotDuration', path);
    const minutes =
      body.reservationDuration === undefined
        ? 5
        : requirePositiveInt(body.reservationDuration, 'reservationDuration', path);
    return { eventType, slotStart, duration, minutes };
  };

  app.get(
    '/v2/slots/reservations/:uid',
    cfg('reservations.get'),
    async (request: FastifyRequest<{ Params: { uid: string } }>) => {
      await ctx.delay();
      // Cal.com answers an unknown uid with success and `data: null`; an expired reservation is
      // still answered until a slots query of its event type has cleaned it up.
      const found = store.reservations.get(request.params.uid);
      return { status: 'success', data: found === undefined ? null : reservationOutput(found) };
    },
  );

  app.patch(
    '/v2/slots/reservations/:uid',
    cfg('reservations.update'),
    async (request: FastifyRequest<{ Params: { uid: string } }>) => {
      const path = request.url;
      const current = store.reservations.get(request.params.uid);
      if (current === undefined) throw shape1(404, path, `Slot with uid=${request.params.uid} not found`);
      const { eventType, slotStart, duration, minutes } = readReservation(request, current);
      await ctx.delay();
      const next = store.reserve(eventType, slotStart, duration, minutes, current.owner, path);
      const updated = { ...next, uid: current.uid, hostId: current.hostId };
      store.reservations.set(current.uid, updated);
      return { status: 'success', data: reservationOutput(updated) };
    },
  );

  app.delete(
    '/v2/slots/reservations/:uid',
    cfg('reservations.delete'),
    async (request: FastifyRequest<{ Params: { uid: string } }>) => {
      await ctx.delay();
      // Cal.com deletes with deleteMany: an unknown or already deleted uid is a success too.
      store.reservations.delete(request.params.uid);
      return { status: 'success' };
    },
  );
}

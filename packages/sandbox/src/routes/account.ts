import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { readBookingFields } from '../booking-fields.ts';
import type { SandboxContext } from '../context.ts';
import { shape1 } from '../errors.ts';
import { eventTypeOutput, meOutput, webhookOutput } from '../output.ts';
import type { WebhookSubscription } from '../types.ts';
import { asObject, rejectUnknown, requirePositiveInt, requireString } from '../validate.ts';

const EVENT_TYPE_FIELDS = [
  'lengthInMinutes',
  'lengthInMinutesOptions',
  'title',
  'slug',
  'description',
  'bookingFields',
  'disableGuests',
  'slotInterval',
  'minimumBookingNotice',
  'beforeEventBuffer',
  'afterEventBuffer',
  'scheduleId',
  'bookingLimitsCount',
  'onlyShowFirstAvailableSlot',
  'bookingLimitsDuration',
  'bookingWindow',
  'offsetStart',
  'bookerLayouts',
  'confirmationPolicy',
  'recurrence',
  'requiresBookerEmailVerification',
  'hideCalendarNotes',
  'lockTimeZoneToggleOnBookingPage',
  'color',
  'seats',
  'customName',
  'destinationCalendar',
  'useDestinationCalendarEmail',
  'hideCalendarEventDetails',
  'successRedirectUrl',
  'hideOrganizerEmail',
  'calVideoSettings',
  'hidden',
  'bookingRequiresAuthentication',
  'locations',
];
const TRIGGERS = [
  'BOOKING_CREATED',
  'BOOKING_RESCHEDULED',
  'BOOKING_CANCELLED',
  'BOOKING_REQUESTED',
  'BOOKING_REJECTED',
  'BOOKING_PAYMENT_INITIATED',
  'BOOKING_PAID',
  'BOOKING_NO_SHOW_UPDATED',
  'MEETING_STARTED',
  'MEETING_ENDED',
  'RECORDING_READY',
  'FORM_SUBMITTED',
  'OOO_CREATED',
];

function readTriggers(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || value.length === 0)
    throw shape1(400, path, 'triggers must be a non-empty array');
  for (const trigger of value) {
    if (typeof trigger !== 'string' || !TRIGGERS.includes(trigger)) {
      throw shape1(
        400,
        path,
        `each value in triggers must be one of the following values: ${TRIGGERS.join(', ')}`,
      );
    }
  }
  return value as string[];
}

function readUrl(value: unknown, path: string): string {
  const url = requireString(value, 'subscriberUrl', path, 2000);
  if (!/^https?:\/\//.test(url)) throw shape1(400, path, 'subscriberUrl must be a URL address');
  return url;
}

/** /v2/me, /v2/event-types and /v2/webhooks. */
export function accountRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { store } = ctx;
  const cfg = (operation: string, family: 'eventTypes' | 'none') => ({ config: { operation, family } });

  app.get('/v2/me', cfg('me.get', 'none'), async (request) => {
    await ctx.delay();
    return { status: 'success', data: meOutput(ctx.userOf(request)) };
  });

  app.get(
    '/v2/event-types',
    cfg('eventTypes.list', 'eventTypes'),
    async (request: FastifyRequest<{ Querystring: { username?: string } }>) => {
      ctx.userOf(request);
      await ctx.delay();
      const username = request.query.username;
      // Without a username this version answers an empty list, as the contract warns.
      if (username === undefined) return { status: 'success', data: [] };
      const owner = [...store.users.values()].find((u) => u.username === username);
      const list =
        owner === undefined ? [] : [...store.eventTypes.values()].filter((e) => e.ownerId === owner.id);
      return { status: 'success', data: list.map((e) => eventTypeOutput(store, e)) };
    },
  );

  app.post('/v2/event-types', cfg('eventTypes.create', 'eventTypes'), async (request, reply) => {
    const path = request.url;
    const user = ctx.userOf(request);
    const body = asObject(request.body, path);
    rejectUnknown(body, EVENT_TYPE_FIELDS, path);
    const title = requireString(body.title, 'title', path, 200);
    const slug = requireString(body.slug, 'slug', path, 200);
    const lengthInMinutes = requirePositiveInt(body.lengthInMinutes, 'lengthInMinutes', path);
    const bookingFields = readBookingFields(body.bookingFields, path);
    for (const location of Array.isArray(body.locations) ? body.locations : []) {
      const type = (location as { type?: unknown })?.type;
      if (
        type !== 'address' &&
        type !== 'link' &&
        type !== 'integration' &&
        type !== 'phone' &&
        type !== 'attendeeAddress' &&
        type !== 'attendeePhone' &&
        type !== 'attendeeDefined'
      ) {
        throw shape1(
          400,
          path,
          `locations.type must be one of address, link, integration, phone (got ${String(type)})`,
        );
      }
    }
    if ([...store.eventTypes.values()].some((e) => e.ownerId === user.id && e.slug === slug)) {
      throw shape1(400, path, `User already has an event type with slug ${slug}`);
    }
    await ctx.delay();
    const id = Math.max(1000, ...store.eventTypes.keys()) + 1;
    const eventType = {
      id,
      ownerId: user.id,
      title,
      slug,
      lengthInMinutes,
      hidden: body.hidden === true,
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      ...(typeof body.slotInterval === 'number' ? { slotIntervalMinutes: body.slotInterval } : {}),
      ...(bookingFields === undefined ? {} : { bookingFields }),
    };
    store.eventTypes.set(id, eventType);
    return reply.status(201).send({ status: 'success', data: eventTypeOutput(store, eventType) });
  });

  app.post('/v2/webhooks', cfg('webhooks.create', 'none'), async (request, reply) => {
    const path = request.url;
    const user = ctx.userOf(request);
    const body = asObject(request.body, path);
    rejectUnknown(body, ['payloadTemplate', 'active', 'subscriberUrl', 'triggers', 'secret'], path);
    const subscriberUrl = readUrl(body.subscriberUrl, path);
    const triggers = readTriggers(body.triggers, path);
    if (typeof body.active !== 'boolean') throw shape1(400, path, 'active must be a boolean value');
    if (
      [...store.subscriptions.values()].some((w) => w.userId === user.id && w.subscriberUrl === subscriberUrl)
    ) {
      throw shape1(409, path, 'A webhook with this subscriber url already exists for this user');
    }
    await ctx.delay();
    const webhook: WebhookSubscription = {
      id: randomUUID(),
      userId: user.id,
      subscriberUrl,
      triggers,
      active: body.active,
      secret: typeof body.secret === 'string' && body.secret !== '' ? body.secret : null,
      payloadTemplate: typeof body.payloadTemplate === 'string' ? body.payloadTemplate : null,
      createdAt: store.now(),
    };
    store.subscriptions.set(webhook.id, webhook);
    return reply.status(201).send({ status: 'success', data: webhookOutput(webhook) });
  });

  app.get('/v2/webhooks', cfg('webhooks.list', 'none'), async (request) => {
    const user = ctx.userOf(request);
    await ctx.delay();
    return {
      status: 'success',
      data: [...store.subscriptions.values()].filter((w) => w.userId === user.id).map(webhookOutput),
    };
  });

  const own = (request: FastifyRequest<{ Params: { id: string } }>) => {
    const user = ctx.userOf(request);
    const webhook = store.subscriptions.get(request.params.id);
    if (webhook === undefined || webhook.userId !== user.id)
      throw shape1(404, request.url, `Webhook with id ${request.params.id} not found`);
    return webhook;
  };

  app.patch(
    '/v2/webhooks/:id',
    cfg('webhooks.update', 'none'),
    async (request: FastifyRequest<{ Params: { id: string } }>) => {
      const path = request.url;
      const webhook = own(request);
      const body = asObject(request.body, path);
      rejectUnknown(body, ['payloadTemplate', 'active', 'subscriberUrl', 'triggers', 'secret'], path);
      await ctx.delay();
      if (body.subscriberUrl !== undefined) webhook.subscriberUrl = readUrl(body.subscriberUrl, path);
      if (body.triggers !== undefined) webhook.triggers = readTriggers(body.triggers, path);
      if (typeof body.active === 'boolean') webhook.active = body.active;
      if (typeof body.secret === 'string') webhook.secret = body.secret === '' ? null : body.secret;
      return { status: 'success', data: webhookOutput(webhook) };
    },
  );

  app.delete(
    '/v2/webhooks/:id',
    cfg('webhooks.delete', 'none'),
    async (request: FastifyRequest<{ Params: { id: string } }>) => {
      const webhook = own(request);
      await ctx.delay();
      store.subscriptions.delete(webhook.id);
      return { status: 'success', data: webhookOutput(webhook) };
    },
  );
}

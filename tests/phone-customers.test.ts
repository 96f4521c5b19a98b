import { customers, eventTypeMappings, newId } from '@calgate/db';
import { normaliseStoredPhones, reconcileBookings, syncEventTypes } from '@calgate/domain';
import { demoSeed } from '@calgate/sandbox';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, eventually, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

/** Cal.com's booking fields of an event type that takes phone-only bookings. */
const PHONE_ONLY_FIELDS = [
  { slug: 'email', type: 'email', required: false, hidden: true },
  { slug: 'attendeePhoneNumber', type: 'phone', required: true, hidden: false },
];

// Alex's haircut event type takes phone-only bookings; Billie's and the colour ones keep Cal.com's
// default fields, where the attendee's email is required.
let gw: Gateway;
beforeAll(async () => {
  const seed = demoSeed();
  for (const eventType of seed.eventTypes) {
    if (eventType.id === HAIRCUT.alex) eventType.bookingFields = PHONE_ONLY_FIELDS;
  }
  gw = await startGateway({ sandbox: { seed }, env: { PHONE_DEFAULT_REGION: 'DE' } });
  // What each event type takes is learnt from Cal.com by the event-type sync.
  await syncEventTypes(gw.runtime(), gw.company.companyId);
});
afterAll(async () => {
  await gw.close();
});

const day = testDay();
const alex = () => gw.company.staffIds[0] as string;
const billie = () => gw.company.staffIds[1] as string;
const haircut = () => gw.company.serviceIds[0] as string;

async function book(payload: Record<string, unknown>) {
  const res = await gw.app.inject({
    method: 'POST',
    url: '/api/v2/bookings',
    headers: auth(gw.company.token),
    payload: { serviceId: haircut(), timeZone: 'Europe/Berlin', ...payload },
  });
  return { status: res.statusCode, body: res.json() };
}

async function confirmed(id: string) {
  return eventually(async () => {
    const res = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/bookings/${id}`,
      headers: auth(gw.company.token),
    });
    const view = res.json();
    if (view.status === 'failed') throw new Error(`booking failed: ${JSON.stringify(view.failure)}`);
    return view.status === 'confirmed' ? view : undefined;
  }, 60_000);
}

async function lookupByPhone(spelling: string): Promise<string[]> {
  const res = await gw.app.inject({
    method: 'GET',
    url: `/api/v2/bookings?customerPhone=${encodeURIComponent(spelling)}`,
    headers: auth(gw.company.token),
  });
  expect(res.statusCode).toBe(200);
  return res.json().appointments.map((a: { id: string }) => a.id);
}

describe('the event-type sync', () => {
  it('learns which event types take a booking without an email', async () => {
    const rows = await gw.database.db
      .select({
        eventTypeId: eventTypeMappings.calcomEventTypeId,
        requiresEmail: eventTypeMappings.requiresEmail,
      })
      .from(eventTypeMappings)
      .where(and(eq(eventTypeMappings.companyId, gw.company.companyId)));
    const of = (id: number) => rows.find((r) => r.eventTypeId === id)?.requiresEmail;
    expect(of(HAIRCUT.alex)).toBe(false);
    expect(of(HAIRCUT.billie)).toBe(true);
    expect(of(202)).toBe(true);
  });
});

describe('a customer with a phone and no email', () => {
  let appointmentId = '';
  let customerId = '';

  it('is booked through to Cal.com with the attendee phoneNumber, language and notes', async () => {
    const { status, body } = await book({
      start: berlin(day, '10:00'),
      staffId: alex(),
      customer: { name: 'Mia Weber', phone: '0151 2222 3333', language: 'de' },
      notes: 'Calls from the car, please be brief',
    });
    expect(status, JSON.stringify(body)).toBe(202);
    expect(body.customer).toMatchObject({ email: null, phone: '+4915122223333' });
    appointmentId = body.id;
    customerId = body.customer.id;
    const view = await confirmed(appointmentId);
    const booking = gw.sandbox.control.bookings().find((b) => b.uid === view.calcom.bookingUid);
    expect(booking?.eventTypeId).toBe(HAIRCUT.alex);
    expect(booking?.attendees[0]).toMatchObject({
      name: 'Mia Weber',
      phoneNumber: '+4915122223333',
      language: 'de',
      // Cal.com's placeholder for a phone-only attendee; no email is ever sent to it.
      email: '4915122223333@sms.cal.com',
    });
    expect(booking?.description).toBe('Calls from the car, please be brief');
    expect(booking?.bookingFieldsResponses).toMatchObject({ attendeePhoneNumber: '+4915122223333' });
  });

  it('is the same customer when the number is spelt another way, and found by any spelling', async () => {
    const { status, body } = await book({
      start: berlin(day, '11:00'),
      staffId: alex(),
      customer: { name: 'Mia Weber', phone: '+49 (151) 2222-3333' },
    });
    expect(status, JSON.stringify(body)).toBe(202);
    expect(body.customer.id).toBe(customerId);
    await confirmed(body.id);
    for (const spelling of ['+4915122223333', '0049 151 22223333', '0151-2222 3333']) {
      expect(await lookupByPhone(spelling), spelling).toEqual([appointmentId, body.id]);
    }
    const customers = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/customers?phone=01512222%203333',
      headers: auth(gw.company.token),
    });
    expect(customers.json().customers).toEqual([
      expect.objectContaining({ id: customerId, email: null, phone: '+4915122223333', language: 'de' }),
    ]);
    expect(customers.json().customers[0].upcoming.map((a: { id: string }) => a.id)).toEqual([
      appointmentId,
      body.id,
    ]);
  });

  it('answers 400 naming customer.email where an event type needs an email, and records nothing', async () => {
    const cases = [
      { staffId: billie() },
      // Without a staff member, Billie's event type (email required) could be the one booked.
      {},
      { serviceId: gw.company.serviceIds[2], staffId: alex() },
    ];
    for (const extra of cases) {
      const { status, body } = await book({
        start: berlin(day, '15:00'),
        customer: { name: 'Mia Weber', phone: '+4915122223333' },
        ...extra,
      });
      expect(status, JSON.stringify(extra)).toBe(400);
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.details.field).toBe('customer.email');
      expect(body.error.message).toMatch(/^customer\.email: required/);
    }
    expect(await lookupByPhone('+4915122223333')).toHaveLength(2);
  });
});

describe('an event type whose booking fields changed after the last sync', () => {
  it('fails the booking with the field Cal.com wanted, named as in our API', async () => {
    // The gateway believes Billie's event type takes phone-only bookings; Cal.com still wants the email.
    await gw.database.db
      .update(eventTypeMappings)
      .set({ requiresEmail: false })
      .where(
        and(
          eq(eventTypeMappings.companyId, gw.company.companyId),
          eq(eventTypeMappings.calcomEventTypeId, HAIRCUT.billie),
        ),
      );
    // The intake reuses a service definition for a few seconds: it takes the booking once it reads the change.
    const accepted = await eventually(async () => {
      const res = await book({
        start: berlin(day, '16:30'),
        staffId: billie(),
        customer: { name: 'Nia Stale', phone: '+4915166667777' },
      });
      return res.status === 202 ? res.body : undefined;
    }, 30_000);
    const failed = await eventually<{ failure: { code: string; reason: string } }>(async () => {
      const res = await gw.app.inject({
        method: 'GET',
        url: `/api/v2/bookings/${accepted.id}`,
        headers: auth(gw.company.token),
      });
      return res.json().status === 'failed' ? res.json() : undefined;
    }, 60_000);
    expect(failed.failure).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(failed.failure.reason).toMatch(/^customer\.email: required/);
    expect(gw.sandbox.control.bookings().some((b) => b.attendees[0]?.phoneNumber === '+4915166667777')).toBe(
      false,
    );
  });
});

describe('a phone-only booking made in Cal.com', () => {
  it('is recorded with a phone-only customer, found by phone, not by the placeholder email', async () => {
    gw.sandbox.control.createBookingDirect({
      eventTypeId: HAIRCUT.alex,
      start: berlin(day, '14:00'),
      attendee: {
        name: 'Walk-in Wanda',
        email: '4915144445555@sms.cal.com',
        timeZone: 'Europe/Berlin',
        phoneNumber: '+4915144445555',
      },
    });
    await reconcileBookings(gw.runtime(), gw.company.companyId);
    const res = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/customers?phone=${encodeURIComponent('0151 4444 5555')}`,
      headers: auth(gw.company.token),
    });
    const [wanda] = res.json().customers;
    expect(wanda).toMatchObject({ name: 'Walk-in Wanda', email: null, phone: '+4915144445555' });
    expect(wanda.upcoming).toEqual([
      expect.objectContaining({ source: 'reconcile', start: berlin(day, '14:00'), status: 'confirmed' }),
    ]);
    const byPlaceholder = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/customers?email=4915144445555%40sms.cal.com',
      headers: auth(gw.company.token),
    });
    expect(byPlaceholder.json().customers).toEqual([]);
  });
});

describe('customer contact validation', () => {
  it.each([
    [{ name: 'No contact' }, 'customer.email'],
    [{ name: 'Bad phone', phone: '+999 1234 5678' }, 'customer.phone'],
    [{ name: 'Bad phone', email: 'a@example.org', phone: '+49 999 1' }, 'customer.phone'],
    [{ name: 'Bad language', email: 'a@example.org', language: 'klingon' }, 'customer.language'],
  ])('%j -> 400 naming %s', async (customer, field) => {
    const { status, body } = await book({ start: berlin(day, '16:00'), staffId: alex(), customer });
    expect(status).toBe(400);
    expect(body.error.message).toContain(field);
  });

  it('passes an email customer’s phone and language to Cal.com as well', async () => {
    const { status, body } = await book({
      start: berlin(day, '12:00'),
      staffId: billie(),
      customer: { name: 'Ana Costa', email: 'ana@example.org', phone: '+351 912 345 678', language: 'pt-BR' },
    });
    expect(status).toBe(202);
    const view = await confirmed(body.id);
    const booking = gw.sandbox.control.bookings().find((b) => b.uid === view.calcom.bookingUid);
    expect(booking?.attendees[0]).toMatchObject({
      email: 'ana@example.org',
      phoneNumber: '+351912345678',
      language: 'pt-BR',
    });
  });
});

describe('the sandbox checks attendees as Cal.com does', () => {
  const post = async (path: string, body: unknown, version: string) => {
    const res = await fetch(`${gw.sandbox.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer cal_test_sandbox_demo_key',
        'cal-api-version': version,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { error?: { message: string }; data?: unknown },
    };
  };
  const attempt = (eventTypeId: number, attendee: Record<string, unknown>) =>
    post(
      '/bookings',
      {
        start: berlin(day, '17:00'),
        eventTypeId,
        attendee: { name: 'Eve', timeZone: 'Europe/Berlin', ...attendee },
      },
      '2024-08-13',
    );

  it('refuses a phone-only attendee where the email field is required', async () => {
    const { status, body } = await attempt(HAIRCUT.billie, { phoneNumber: '+4915100000001' });
    expect(status).toBe(400);
    expect(body.error?.message).toContain('{email}error_required_field');
  });

  it('refuses an attendee without email and phone, and a phone not in international format', async () => {
    const none = await attempt(HAIRCUT.alex, {});
    expect(none.status).toBe(400);
    expect(none.body.error?.message).toBe(
      'At least one contact method (email or phone number) must be provided',
    );
    const national = await attempt(HAIRCUT.alex, { phoneNumber: '0151 00000001' });
    expect(national.status).toBe(400);
    expect(national.body.error?.message).toContain('international format');
    const language = await attempt(HAIRCUT.alex, { phoneNumber: '+4915100000001', language: 'xx' });
    expect(language.status).toBe(400);
    expect(language.body.error?.message).toContain('attendee.language');
  });

  it('lets an email field be optional only with a required attendeePhoneNumber field', async () => {
    const refused = await post(
      '/event-types',
      {
        title: 'No contact',
        slug: 'no-contact',
        lengthInMinutes: 30,
        bookingFields: [{ type: 'email', label: 'Email', placeholder: '', required: false, hidden: true }],
      },
      '2024-06-14',
    );
    expect(refused.status).toBe(400);
    const accepted = await post(
      '/event-types',
      {
        title: 'Phone only',
        slug: 'phone-only',
        lengthInMinutes: 30,
        bookingFields: [
          { type: 'email', label: 'Email', placeholder: '', required: false, hidden: true },
          {
            type: 'phone',
            slug: 'attendeePhoneNumber',
            label: 'Phone',
            placeholder: '',
            required: true,
            hidden: false,
          },
        ],
      },
      '2024-06-14',
    );
    expect(accepted.status).toBe(201);
    // That event type now wants the phone: an email-only attendee is refused.
    const id = (accepted.body.data as { id: number }).id;
    const emailOnly = await attempt(id, { email: 'eve@example.org' });
    expect(emailOnly.status).toBe(400);
    expect(emailOnly.body.error?.message).toContain('{attendeePhoneNumber}error_required_field');
  });
});

describe('phones stored before normalisation', () => {
  it('are brought to E.164 by the operator command, leaving what cannot be and duplicates alone', async () => {
    const insert = async (email: string | null, phone: string) => {
      const id = newId('cus');
      await gw.database.db
        .insert(customers)
        .values({ id, companyId: gw.company.companyId, name: 'Before', email, phone });
      return id;
    };
    const national = await insert('old@example.org', '0151 7777 8888');
    const spaced = await insert(null, '+49 151 7777 9999');
    await insert(null, '+4915177770000');
    const twin = await insert(null, '0151 77770000');
    const junk = await insert('junk@example.org', 'ask at the desk');
    const result = await normaliseStoredPhones(gw.database.db, 'DE');
    expect(result).toEqual({ normalised: 2, unparseable: 1, duplicates: 1 });
    const phones = await gw.database.db.select({ id: customers.id, phone: customers.phone }).from(customers);
    const phoneOf = (id: string) => phones.find((c) => c.id === id)?.phone;
    expect(phoneOf(national)).toBe('+4915177778888');
    expect(phoneOf(spaced)).toBe('+4915177779999');
    expect(phoneOf(twin)).toBe('0151 77770000');
    expect(phoneOf(junk)).toBe('ask at the desk');
    expect(await normaliseStoredPhones(gw.database.db, 'DE')).toEqual({
      normalised: 0,
      unparseable: 1,
      duplicates: 1,
    });
  });
});

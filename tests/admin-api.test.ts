import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Gateway, HAIRCUT, startGateway, testDay } from './support/gateway.ts';

const ADMIN = { username: 'operator', password: 'operator-password-42' };
const operator = (user = ADMIN.username, password = ADMIN.password) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const ADMIN_API = '/api/admin/v1';

let gw: Gateway;
beforeAll(async () => {
  gw = await startGateway({
    worker: false,
    env: { ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password },
  });
});
afterAll(async () => {
  await gw.close();
});

async function admin(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) {
  return gw.app.inject({
    method,
    url: `${ADMIN_API}${url}`,
    headers: operator(),
    ...(payload === undefined ? {} : { payload }),
  });
}

async function newCompany(name: string): Promise<{ id: string; token: string }> {
  const res = await admin('POST', '/companies', { name, timeZone: 'Europe/Berlin' });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().company.id, token: res.json().token.secret };
}

describe('who may use the operator API', () => {
  it('refuses a company API token, missing and wrong operator credentials with 401', async () => {
    for (const headers of [
      auth(gw.company.token),
      {},
      operator(ADMIN.username, 'not-the-password'),
      operator('someone-else', ADMIN.password),
    ]) {
      const res = await gw.app.inject({ method: 'GET', url: `${ADMIN_API}/companies`, headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toMatchObject({ code: 'UNAUTHORIZED', details: { field: 'Authorization' } });
      expect(res.headers['www-authenticate']).toContain('Basic');
    }
    const token = await gw.app.inject({
      method: 'POST',
      url: `${ADMIN_API}/companies`,
      headers: auth(gw.company.token),
      payload: { name: 'Sneaky' },
    });
    expect(token.statusCode).toBe(401);
    expect(token.json().error.message).toContain('company API tokens do not grant access');
  });

  it('does not accept operator credentials on /api/v2', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/api/v2/services', headers: operator() });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
  });

  it('documents the operator API in the OpenAPI page with its own security scheme', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/docs/json' });
    const doc = res.json();
    expect(doc.components.securitySchemes.operator).toMatchObject({ type: 'http', scheme: 'basic' });
    for (const path of [
      '/api/admin/v1/companies',
      '/api/admin/v1/companies/{companyId}/disable',
      '/api/admin/v1/companies/{companyId}/tokens/{tokenId}',
      '/api/admin/v1/companies/{companyId}/staff/{staffId}',
      '/api/admin/v1/companies/{companyId}/services/{serviceId}',
      '/api/admin/v1/companies/{companyId}/mappings',
      '/api/admin/v1/companies/{companyId}/catalog',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths['/api/admin/v1/companies'].post.security).toEqual([{ operator: [] }]);
  });
});

describe('onboarding a salon through the operator API', () => {
  let company: { id: string; token: string };
  let alex: string;
  let billie: string;
  let serviceId: string;

  it('creates a company with its first token, shown once and listed without its secret', async () => {
    company = await newCompany('Studio Nord');
    expect(company.token).toMatch(/^cgt_/);
    const got = await admin('GET', `/companies/${company.id}`);
    expect(got.json()).toMatchObject({
      id: company.id,
      name: 'Studio Nord',
      timeZone: 'Europe/Berlin',
      disabled: false,
      ownCalcomKey: false,
    });
    const list = await admin('GET', '/companies');
    expect(list.json().companies.map((c: { id: string }) => c.id)).toContain(company.id);
    const tokens = await admin('GET', `/companies/${company.id}/tokens`);
    expect(tokens.json().tokens).toHaveLength(1);
    expect(tokens.json().tokens[0]).toMatchObject({ prefix: company.token.slice(0, 12), revokedAt: null });
    expect(tokens.body).not.toContain(company.token);
    const services = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/services',
      headers: auth(company.token),
    });
    expect(services.statusCode).toBe(200);
    expect(services.json().services).toEqual([]);
  });

  it("gives the company its event types of the shared account, never another company's", async () => {
    const owned = [202, 203, HAIRCUT.alex, HAIRCUT.billie];
    // The seeded company owns them: they must be released there first.
    const taken = await admin('POST', `/companies/${company.id}/scope`, { assign: owned });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().error).toMatchObject({ code: 'INVALID_STATE', details: { field: 'eventTypeIds' } });
    const released = await admin('POST', `/companies/${gw.company.companyId}/scope`, { unassign: owned });
    expect(released.statusCode, released.body).toBe(200);
    const scope = await admin('POST', `/companies/${company.id}/scope`, { assign: owned });
    expect(scope.statusCode, scope.body).toBe(200);
    expect(scope.json()).toMatchObject({ kind: 'assigned', eventTypeIds: [...owned].sort((a, b) => a - b) });
    expect((await admin('GET', `/companies/${company.id}/scope`)).json().eventTypeIds).toHaveLength(4);
  });

  it('adds staff with their Cal.com user and time zone, and changes them', async () => {
    const a = await admin('POST', `/companies/${company.id}/staff`, {
      name: 'Alex',
      email: 'alex@nord.example',
      calcomUserId: 2,
      timeZone: 'Europe/Berlin',
    });
    expect(a.statusCode, a.body).toBe(201);
    expect(a.json()).toMatchObject({
      name: 'Alex',
      calcomUserId: 2,
      timeZone: 'Europe/Berlin',
      active: true,
    });
    alex = a.json().id;
    const b = await admin('POST', `/companies/${company.id}/staff`, { name: 'Bilie', calcomUserId: 3 });
    billie = b.json().id;
    const fixed = await admin('PATCH', `/companies/${company.id}/staff/${billie}`, {
      name: 'Billie',
      timeZone: 'Europe/Berlin',
    });
    expect(fixed.statusCode).toBe(200);
    expect(fixed.json()).toMatchObject({ name: 'Billie', timeZone: 'Europe/Berlin', calcomUserId: 3 });
  });

  it('creates a composite service with ordered segments, pauses and preferSameStaff', async () => {
    const res = await admin('POST', `/companies/${company.id}/services`, {
      name: 'Colour and cut',
      preferSameStaff: true,
      segments: [
        { name: 'Colour', durationMinutes: 45, pauseAfterMinutes: 30 },
        { name: 'Cut', durationMinutes: 30 },
      ],
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      kind: 'composite',
      preferSameStaff: true,
      active: true,
      segments: [
        { position: 0, name: 'Colour', durationMinutes: 45, pauseAfterMinutes: 30, mappings: [] },
        { position: 1, name: 'Cut', durationMinutes: 30, pauseAfterMinutes: 0, mappings: [] },
      ],
    });
    serviceId = res.json().id;
  });

  it('maps each segment and staff member to an event type checked against Cal.com', async () => {
    const pairs = [
      { position: 0, staffId: alex, eventTypeId: 202 },
      { position: 0, staffId: billie, eventTypeId: 203 },
      { position: 1, staffId: alex, eventTypeId: HAIRCUT.alex },
      { position: 1, staffId: billie, eventTypeId: HAIRCUT.billie },
    ];
    for (const pair of pairs) {
      const res = await admin('POST', `/companies/${company.id}/mappings`, { serviceId, ...pair });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json()).toMatchObject({ ...pair, serviceId });
    }
    const again = await admin('POST', `/companies/${company.id}/mappings`, { serviceId, ...pairs[0] });
    expect(again.statusCode).toBe(200);
    const service = await admin('GET', `/companies/${company.id}/services/${serviceId}`);
    expect(
      service
        .json()
        .segments[0].mappings.map((m: { eventTypeId: number }) => m.eventTypeId)
        .sort(),
    ).toEqual([202, 203]);

    // The company's callers now see it, and it has free slots.
    const listed = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/services',
      headers: auth(company.token),
    });
    const view = listed.json().services[0];
    expect(view).toMatchObject({
      id: serviceId,
      kind: 'composite',
      durationMinutes: 105,
      preferSameStaff: true,
    });
    expect(view.segments[1].staff.map((s: { name: string }) => s.name)).toEqual(['Alex', 'Billie']);
    const day = testDay();
    const slots = await gw.app.inject({
      method: 'GET',
      url: `/api/v2/services/${serviceId}/availability?start=${day}&end=${day}&timeZone=Europe/Berlin`,
      headers: auth(company.token),
    });
    expect(slots.statusCode, slots.body).toBe(200);
    expect(slots.json().slots.length).toBeGreaterThan(0);
  });

  it('answers 422 naming an event type the connection does not have', async () => {
    const res = await admin('POST', `/companies/${company.id}/mappings`, {
      serviceId,
      position: 1,
      staffId: alex,
      eventTypeId: 987654,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({
      code: 'EVENT_TYPE_MISMATCH',
      details: { field: 'eventTypeId', property: 'eventType', actual: 'event type 987654 not found' },
    });
    expect(res.json().error.message).toContain('eventTypeId');
  });

  it('answers 422 naming the length when the event type is not as long as the segment', async () => {
    // Colour lasts 45 minutes; the haircut event type 30.
    const res = await admin('POST', `/companies/${company.id}/mappings`, {
      serviceId,
      position: 0,
      staffId: alex,
      eventTypeId: HAIRCUT.alex,
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toMatchObject({
      code: 'EVENT_TYPE_MISMATCH',
      details: { field: 'eventTypeId', property: 'lengthInMinutes', expected: 45, actual: 30 },
    });
    // The mapping it would have replaced is still there.
    const service = await admin('GET', `/companies/${company.id}/services/${serviceId}`);
    const alexColour = service
      .json()
      .segments[0].mappings.find((m: { staffId: string }) => m.staffId === alex);
    expect(alexColour.eventTypeId).toBe(202);
  });

  it('answers 422 when a changed segment duration no longer matches its mapped event types', async () => {
    const res = await admin('PATCH', `/companies/${company.id}/services/${serviceId}`, {
      segments: [
        { name: 'Colour', durationMinutes: 45, pauseAfterMinutes: 30 },
        { name: 'Cut', durationMinutes: 40 },
      ],
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.details).toMatchObject({
      field: 'segments.1.durationMinutes',
      property: 'lengthInMinutes',
      expected: 30,
      actual: 40,
    });
    const renamed = await admin('PATCH', `/companies/${company.id}/services/${serviceId}`, {
      name: 'Colour & cut',
      segments: [
        { name: 'Colour', durationMinutes: 45, pauseAfterMinutes: 20 },
        { name: 'Cut', durationMinutes: 30 },
      ],
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({ name: 'Colour & cut', segments: [{ pauseAfterMinutes: 20 }, {}] });
  });

  it('answers 400 naming the field for bad input', async () => {
    const zone = await admin('POST', `/companies/${company.id}/staff`, {
      name: 'Casey',
      timeZone: 'Mars/Base',
    });
    expect(zone.statusCode).toBe(400);
    expect(zone.json().error).toMatchObject({ code: 'INVALID_TIMEZONE', details: { field: 'timeZone' } });
    const pause = await admin('POST', `/companies/${company.id}/services`, {
      name: 'Odd',
      segments: [{ name: 'Only', durationMinutes: 30, pauseAfterMinutes: 10 }],
    });
    expect(pause.statusCode).toBe(400);
    expect(pause.json().error.details.field).toBe('segments.0.pauseAfterMinutes');
    const none = await admin('POST', `/companies/${company.id}/services`, { name: 'Empty', segments: [] });
    expect(none.statusCode).toBe(400);
    expect(none.json().error.message).toContain('body.segments');
    const position = await admin('POST', `/companies/${company.id}/mappings`, {
      serviceId,
      position: 5,
      staffId: alex,
      eventTypeId: 202,
    });
    expect(position.statusCode).toBe(400);
    expect(position.json().error.details.field).toBe('position');
    const duplicate = await admin('POST', `/companies/${company.id}/staff`, {
      name: 'Alex again',
      email: 'alex@nord.example',
    });
    expect(duplicate.statusCode).toBe(409);
  });

  it("never lets one company's staff or services into another's mappings", async () => {
    const other = await newCompany('Other salon');
    const res = await admin('POST', `/companies/${other.id}/mappings`, {
      serviceId,
      position: 0,
      staffId: alex,
      eventTypeId: 202,
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('SERVICE_NOT_FOUND');
    const staff = await admin('PATCH', `/companies/${other.id}/staff/${alex}`, { name: 'Mine now' });
    expect(staff.json().error.code).toBe('STAFF_NOT_FOUND');
    const missing = await admin('GET', '/companies/cmp_doesnotexist');
    expect(missing.statusCode).toBe(404);
  });

  it('applies a catalog document through the API, dry run first', async () => {
    const catalog = {
      staff: [{ key: 'alex', name: 'Alex', email: 'alex@nord.example', calcomUserId: 2 }],
      services: [
        {
          key: 'blow-dry',
          name: 'Blow-dry',
          segments: [{ name: 'Blow-dry', durationMinutes: 15, eventTypes: { alex: 402 } }],
        },
      ],
    };
    // Blow-dry's event type of the shared account goes to this company first.
    await admin('POST', `/companies/${gw.company.companyId}/scope`, { unassign: [402] });
    expect((await admin('POST', `/companies/${company.id}/scope`, { assign: [402] })).statusCode).toBe(200);
    const dry = await gw.app.inject({
      method: 'POST',
      url: `${ADMIN_API}/companies/${company.id}/catalog?dryRun=true`,
      headers: operator(),
      payload: catalog,
    });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json().applied).toBe(false);
    expect(dry.json().diff).toContain('+ mapping blow-dry#0 alex: eventTypeId=402');
    const applied = await admin('POST', `/companies/${company.id}/catalog`, catalog);
    expect(applied.json()).toMatchObject({ applied: true });
    const again = await admin('POST', `/companies/${company.id}/catalog`, catalog);
    expect(again.json()).toMatchObject({ applied: false, changes: [] });
  });
});

describe('correcting a company after onboarding', () => {
  it('renames a company and changes its zone, which staff added later default to', async () => {
    const created = await newCompany('Studio Sued');
    const renamed = await admin('PATCH', `/companies/${created.id}`, {
      name: 'Studio Süd',
      timeZone: 'America/New_York',
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toMatchObject({
      id: created.id,
      name: 'Studio Süd',
      timeZone: 'America/New_York',
    });
    expect((await admin('GET', `/companies/${created.id}`)).json()).toMatchObject({
      name: 'Studio Süd',
      timeZone: 'America/New_York',
    });
    const staff = await admin('POST', `/companies/${created.id}/staff`, { name: 'Robin' });
    expect(staff.statusCode, staff.body).toBe(201);
    expect(staff.json().timeZone).toBe('America/New_York');
    // Its tokens still work: a rename changes no credential.
    const services = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/services',
      headers: auth(created.token),
    });
    expect(services.statusCode).toBe(200);
  });

  it('refuses a bad change naming the field, and changes nothing', async () => {
    const created = await newCompany('Studio West');
    for (const [body, field, code] of [
      [{ timeZone: '+01:00' }, 'timeZone', 'INVALID_TIMEZONE'],
      [{ timeZone: 'Mars/Olympus' }, 'timeZone', 'INVALID_TIMEZONE'],
      [{ name: '   ' }, 'name', 'VALIDATION_FAILED'],
      [{}, 'name', 'VALIDATION_FAILED'],
      [{ name: 'Studio Ost', slug: 'taken' }, 'slug', 'VALIDATION_FAILED'],
    ] as const) {
      const res = await admin('PATCH', `/companies/${created.id}`, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error.code, JSON.stringify(body)).toBe(code);
      expect(JSON.stringify(res.json().error), JSON.stringify(body)).toContain(field);
    }
    expect((await admin('GET', `/companies/${created.id}`)).json()).toMatchObject({
      name: 'Studio West',
      timeZone: 'Europe/Berlin',
    });
    // Creating one names the field as this API spells it, too.
    const created2 = await admin('POST', '/companies', { name: 'Studio Typo', timeZone: 'Europe/Berln' });
    expect(created2.statusCode).toBe(400);
    expect(created2.json().error).toMatchObject({ code: 'INVALID_TIMEZONE', details: { field: 'timeZone' } });
    const missing = await admin('PATCH', '/companies/cmp_doesnotexist000000000000', { name: 'Nobody' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.details).toMatchObject({ field: 'companyId' });
  });
});

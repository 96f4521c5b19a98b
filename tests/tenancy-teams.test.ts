import { importTeamNow } from '@calgate/cli/tenancy';
import { eventTypeMappings, parseEncryptionKey, staff } from '@calgate/db';
import { assignEventTypes } from '@calgate/domain';
import { seedCompany } from '@calgate/testkit';
import { and, eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, berlin, type Gateway, startGateway, testDay } from './support/gateway.ts';

/** Event types the stylists own themselves (the demo seed's belong to the salon's account). */
const ALEX_OWN = 922;
const BILLIE_OWN = 921;
const CASEY_KEY = 'cal_test_sandbox_casey';

let gw: Gateway;
const lines: string[] = [];
const ops = () => ({ runtime: gw.runtime(), out: (line: string) => lines.push(line) });

beforeAll(async () => {
  gw = await startGateway();
  // Casey's account is in a team with Alex (the salon of a company with its own key), and in the
  // demo salon's team.
  gw.sandbox.control.addTeam({ id: 12, name: 'Casey studio', slug: 'casey-studio', memberIds: [4, 2] });
  gw.sandbox.control.addEventType({
    id: ALEX_OWN,
    ownerId: 2,
    title: 'Alex’s beard trim',
    slug: 'beard',
    lengthInMinutes: 15,
    slotIntervalMinutes: 15,
  });
  gw.sandbox.control.addEventType({
    id: BILLIE_OWN,
    ownerId: 3,
    title: 'Billie’s fringe',
    slug: 'fringe',
    lengthInMinutes: 15,
    slotIntervalMinutes: 15,
  });
});
afterAll(async () => {
  await gw.close();
});

const staffOf = async (companyId: string) =>
  gw.database.db.select().from(staff).where(eq(staff.companyId, companyId));
const mappingsOf = async (companyId: string) =>
  gw.database.db
    .select({ eventTypeId: eventTypeMappings.calcomEventTypeId, staffId: eventTypeMappings.staffId })
    .from(eventTypeMappings)
    .where(and(eq(eventTypeMappings.companyId, companyId), isNull(eventTypeMappings.deletedAt)));

describe("staff from a Cal.com team's members", () => {
  it('imports every member of its own team, with their own event types as bookable services', async () => {
    const own = await seedCompany(gw.database.db, {
      name: 'Casey studio',
      calcomApiKey: CASEY_KEY,
      encryptionKey: parseEncryptionKey(gw.config.secretsEncryptionKey),
    });
    await importTeamNow(ops(), own.companyId, 12);
    expect(lines.at(-1)).toMatch(/team 12, 2 member\(s\): 2 staff created/);
    const members = await staffOf(own.companyId);
    expect(members.map((m) => [m.calcomUserId, m.name, m.email]).sort()).toEqual([
      [2, 'Alex', 'alex@salon.example'],
      [4, 'Casey', 'casey@salon.example'],
    ]);
    const alex = members.find((m) => m.calcomUserId === 2);
    expect(await mappingsOf(own.companyId)).toEqual([{ eventTypeId: ALEX_OWN, staffId: alex?.id }]);
    // Run again: nothing new.
    await importTeamNow(ops(), own.companyId, 12);
    expect(lines.at(-1)).toMatch(/0 staff created, 2 updated, 0 event type\(s\) imported/);
    // The imported service books Alex's own event type.
    const services = await gw.app.inject({
      method: 'GET',
      url: '/api/v2/services',
      headers: auth(own.token),
    });
    const service = (services.json().services as Array<{ id: string; name: string }>).find((s) =>
      s.name.includes('beard'),
    );
    const booked = await gw.app.inject({
      method: 'POST',
      url: '/api/v2/bookings',
      headers: auth(own.token, { prefer: 'wait=20' }),
      payload: {
        serviceId: service?.id,
        start: berlin(testDay(), '10:00'),
        timeZone: 'Europe/Berlin',
        customer: { name: 'Tam', email: 'tam@example.org' },
      },
    });
    expect(booked.statusCode).toBe(201);
    expect(
      gw.sandbox.control.bookings().find((b) => b.uid === booked.json().calcom.bookingUid),
    ).toMatchObject({
      eventTypeId: ALEX_OWN,
      hostId: 2,
    });
  });

  it('on the shared account imports only members with an event type in the company’s scope', async () => {
    const shared = await seedCompany(gw.database.db, { name: 'Fringe bar' });
    await assignEventTypes(gw.database.db, shared.companyId, [BILLIE_OWN]);
    // The shared account's user is in one team (the demo salon: owner, Alex, Billie, Casey).
    await importTeamNow(ops(), shared.companyId, undefined);
    const members = await staffOf(shared.companyId);
    expect(members.map((m) => m.calcomUserId)).toEqual([3]);
    expect((await mappingsOf(shared.companyId)).map((m) => m.eventTypeId)).toEqual([BILLIE_OWN]);
  });

  it('refuses a team the key is not in, and asks which team when the key is in several', async () => {
    const shared = await seedCompany(gw.database.db, { name: 'Nowhere' });
    await expect(importTeamNow(ops(), shared.companyId, 99)).rejects.toThrow(/teamId: .*not in team 99/);
    const casey = await seedCompany(gw.database.db, {
      name: 'Two teams',
      calcomApiKey: CASEY_KEY,
      encryptionKey: parseEncryptionKey(gw.config.secretsEncryptionKey),
    });
    await expect(importTeamNow(ops(), casey.companyId, undefined)).rejects.toThrow(
      /teamId is required: .* 2 teams \(10, 12\)/,
    );
  });
});

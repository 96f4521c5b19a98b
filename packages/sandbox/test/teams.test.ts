import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningSandbox, startSandbox } from '../src/index.ts';
import { call } from './helpers.ts';

let sb: RunningSandbox;
beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(async () => {
  await sb.close();
});
beforeEach(() => sb.control.reset());

describe('teams', () => {
  it("list the teams of the key's user, with the members and their roles", async () => {
    const teams = await call(sb.baseUrl, 'GET', '/teams');
    expect(teams.status).toBe(200);
    expect(teams.body.data).toEqual([
      expect.objectContaining({ id: 10, name: 'Demo Salon', isOrganization: false }),
    ]);
    const members = await call(sb.baseUrl, 'GET', '/teams/10/memberships');
    expect(members.status).toBe(200);
    expect(members.body.data).toHaveLength(4);
    expect(members.body.data[0]).toMatchObject({ userId: 1, teamId: 10, accepted: true, role: 'OWNER' });
    expect(members.body.data[2]).toMatchObject({
      userId: 3,
      role: 'MEMBER',
      user: { username: 'billie', email: 'billie@salon.example', name: 'Billie' },
    });
    const page = await call(sb.baseUrl, 'GET', '/teams/10/memberships', { query: { take: '2', skip: '2' } });
    expect(page.body.data.map((m: { userId: number }) => m.userId)).toEqual([3, 4]);
  });

  it("answer 404 for a team the key's user is not in, and 401 without a key", async () => {
    sb.control.addTeam({ id: 11, name: 'Elsewhere', slug: 'elsewhere', memberIds: [4] });
    expect((await call(sb.baseUrl, 'GET', '/teams/11/memberships')).status).toBe(404);
    expect(
      (await call(sb.baseUrl, 'GET', '/teams/11/memberships', { key: 'cal_test_sandbox_casey' })).status,
    ).toBe(200);
    expect((await call(sb.baseUrl, 'GET', '/teams', { key: null })).status).toBe(401);
  });

  it("list a member's own event types by username", async () => {
    sb.control.addEventType({
      id: 930,
      ownerId: 3,
      title: 'Billie’s fringe',
      slug: 'fringe',
      lengthInMinutes: 15,
    });
    const { status, body } = await call(sb.baseUrl, 'GET', '/event-types', { query: { username: 'billie' } });
    expect(status).toBe(200);
    expect(body.data.map((e: { id: number }) => e.id)).toEqual([930]);
  });
});

import type { SandboxEventType, SandboxSeed, SandboxUser } from './types.ts';

/** The key of the demo account (the salon owner). */
export const DEMO_API_KEY = 'cal_test_sandbox_demo_key';

/**
 * A small salon. User 1 owns the account (its key manages every event type); users 2-4 are the
 * stylists who are booked. Event type ids: per stylist s (2, 3, 4):
 *   100 + s  haircut, 30 min
 *   200 + s  colour application, 45 min
 *   300 + s  wash and cut, 30 min
 *   400 + s  blow-dry, 15 min
 * All on a 15-minute grid, Monday to Saturday, 09:00-18:00 Europe/Berlin.
 */
export function demoSeed(): SandboxSeed {
  const hours = { days: [1, 2, 3, 4, 5, 6], startTime: '09:00', endTime: '18:00' };
  const users: SandboxUser[] = [
    {
      id: 1,
      username: 'demo-salon',
      email: 'owner@salon.example',
      name: 'Demo Salon',
      timeZone: 'Europe/Berlin',
      apiKey: DEMO_API_KEY,
      workingHours: hours,
    },
    {
      id: 2,
      username: 'alex',
      email: 'alex@salon.example',
      name: 'Alex',
      timeZone: 'Europe/Berlin',
      apiKey: 'cal_test_sandbox_alex',
      workingHours: hours,
    },
    {
      id: 3,
      username: 'billie',
      email: 'billie@salon.example',
      name: 'Billie',
      timeZone: 'Europe/Berlin',
      apiKey: 'cal_test_sandbox_billie',
      workingHours: hours,
    },
    {
      id: 4,
      username: 'casey',
      email: 'casey@salon.example',
      name: 'Casey',
      timeZone: 'Europe/Berlin',
      apiKey: 'cal_test_sandbox_casey',
      workingHours: hours,
    },
  ];
  const kinds = [
    { base: 100, slug: 'haircut', title: 'Haircut', length: 30 },
    { base: 200, slug: 'colour', title: 'Colour application', length: 45 },
    { base: 300, slug: 'wash-cut', title: 'Wash and cut', length: 30 },
    { base: 400, slug: 'blow-dry', title: 'Blow-dry', length: 15 },
  ];
  const eventTypes: SandboxEventType[] = [];
  for (const stylist of users.slice(1)) {
    for (const kind of kinds) {
      eventTypes.push({
        id: kind.base + stylist.id,
        ownerId: 1,
        hostIds: [stylist.id],
        title: `${kind.title} with ${stylist.name}`,
        slug: `${kind.slug}-${stylist.username}`,
        lengthInMinutes: kind.length,
        slotIntervalMinutes: 15,
        hidden: true,
      });
    }
  }
  // The salon as a Cal.com team: the owner's account and its stylists.
  const teams = [{ id: 10, name: 'Demo Salon', slug: 'demo-salon', memberIds: [1, 2, 3, 4] }];
  return { users, eventTypes, teams };
}

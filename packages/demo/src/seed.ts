import {
  apiTokens,
  companies,
  companyEventTypes,
  type Database,
  eventTypeMappings,
  generateApiToken,
  newId,
  serviceSegments,
  services,
  staff,
} from '@calgate/db';
import { and, eq, isNull } from 'drizzle-orm';

export interface DemoCompany {
  companyId: string;
  token: string;
  services: Array<{ id: string; name: string; kind: string }>;
  staff: Array<{ id: string; name: string }>;
}

const STYLISTS = [
  { name: 'Alex', calcomUserId: 2 },
  { name: 'Billie', calcomUserId: 3 },
  { name: 'Casey', calcomUserId: 4 },
];

/** Event type ids of the sandbox's demo seed (see @calgate/sandbox demoSeed). */
const eventTypeId = (base: number, calcomUserId: number) => base + calcomUserId;

const SERVICES = [
  { name: 'Haircut', segments: [{ name: 'Haircut', durationMinutes: 30, pauseAfterMinutes: 0, base: 100 }] },
  {
    name: 'Colour, wash and cut',
    segments: [
      { name: 'Colour application', durationMinutes: 45, pauseAfterMinutes: 30, base: 200 },
      { name: 'Wash and cut', durationMinutes: 30, pauseAfterMinutes: 0, base: 300 },
      { name: 'Blow-dry', durationMinutes: 15, pauseAfterMinutes: 0, base: 400 },
    ],
  },
];

/**
 * The demo salon against the sandbox: created once, then reused. Every call revokes the previous
 * demo token and issues a fresh one (only its hash is stored, so it cannot be shown again).
 */
export async function seedDemoCompany(db: Database): Promise<DemoCompany> {
  return db.transaction(async (tx) => {
    let [company] = await tx.select().from(companies).where(eq(companies.slug, 'demo-salon')).limit(1);
    if (company === undefined) {
      const companyId = newId('cmp');
      [company] = await tx
        .insert(companies)
        .values({
          id: companyId,
          name: 'Demo Salon',
          slug: 'demo-salon',
          timezone: 'Europe/Berlin',
          calcomUsername: 'demo-salon',
        })
        .returning();
      const staffIds: string[] = [];
      for (const stylist of STYLISTS) {
        const id = newId('stf');
        staffIds.push(id);
        await tx.insert(staff).values({
          id,
          companyId,
          name: stylist.name,
          calcomUserId: stylist.calcomUserId,
          timezone: 'Europe/Berlin',
        });
      }
      for (const service of SERVICES) {
        const serviceId = newId('svc');
        await tx.insert(services).values({
          id: serviceId,
          companyId,
          name: service.name,
          kind: service.segments.length > 1 ? 'composite' : 'simple',
        });
        for (const [position, segment] of service.segments.entries()) {
          const segmentId = newId('seg');
          await tx.insert(serviceSegments).values({
            id: segmentId,
            serviceId,
            position,
            name: segment.name,
            durationMinutes: segment.durationMinutes,
            pauseAfterMinutes: segment.pauseAfterMinutes,
          });
          for (const [i, stylist] of STYLISTS.entries()) {
            await tx.insert(eventTypeMappings).values({
              id: newId('map'),
              companyId,
              serviceId,
              segmentId,
              staffId: staffIds[i] as string,
              calcomEventTypeId: eventTypeId(segment.base, stylist.calcomUserId),
            });
            // The demo salon is a company on the shared (sandbox) account: it owns what it books.
            await tx
              .insert(companyEventTypes)
              .values({ calcomEventTypeId: eventTypeId(segment.base, stylist.calcomUserId), companyId })
              .onConflictDoNothing();
          }
        }
      }
    }
    if (company === undefined) throw new Error('demo company could not be created');
    await tx
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(
        and(eq(apiTokens.companyId, company.id), eq(apiTokens.name, 'demo'), isNull(apiTokens.revokedAt)),
      );
    const { token, hash, prefix } = generateApiToken();
    await tx.insert(apiTokens).values({
      id: newId('tok'),
      companyId: company.id,
      name: 'demo',
      tokenHash: hash,
      tokenPrefix: prefix,
    });
    const serviceRows = await tx.select().from(services).where(eq(services.companyId, company.id));
    const staffRows = await tx.select().from(staff).where(eq(staff.companyId, company.id));
    return {
      companyId: company.id,
      token,
      services: serviceRows.map((s) => ({ id: s.id, name: s.name, kind: s.kind })),
      staff: staffRows.map((s) => ({ id: s.id, name: s.name })),
    };
  });
}

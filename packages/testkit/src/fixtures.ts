import {
  apiTokens,
  companies,
  companyEventTypes,
  type Database,
  eventTypeMappings,
  generateApiToken,
  newId,
  SECRET_COLUMNS,
  sealSecret,
  serviceSegments,
  services,
  singleKeyring,
  staff,
} from '@calgate/db';

export interface SeedStaff {
  name: string;
  email?: string;
  calcomUserId?: number;
}

export interface SeedSegment {
  name: string;
  durationMinutes: number;
  pauseAfterMinutes?: number;
  /** Cal.com event type per staff member (index into `staff`). */
  eventTypes: Array<{ staff: number; eventTypeId: number }>;
}

export interface SeedCompanyOptions {
  name?: string;
  /**
   * Stored encrypted when given (needs `encryptionKey`, taken as key version 1, as
   * SECRETS_ENCRYPTION_KEY alone is); otherwise the env default key applies.
   */
  calcomApiKey?: string;
  encryptionKey?: Buffer;
  staff?: SeedStaff[];
  services?: Array<{
    name: string;
    kind?: 'simple' | 'composite';
    preferSameStaff?: boolean;
    segments: SeedSegment[];
  }>;
}

export interface SeededCompany {
  companyId: string;
  token: string;
  staffIds: string[];
  serviceIds: string[];
  segmentIds: string[][];
}

/** A company with an API token, staff and services mapped to the given Cal.com event types. */
export async function seedCompany(db: Database, options: SeedCompanyOptions = {}): Promise<SeededCompany> {
  const companyId = newId('cmp');
  const name = options.name ?? `Company ${companyId.slice(-6)}`;
  await db.insert(companies).values({
    id: companyId,
    name,
    slug: `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${companyId.slice(-6)}`,
    calcomApiKeyEncrypted:
      options.calcomApiKey !== undefined && options.encryptionKey !== undefined
        ? sealSecret(options.calcomApiKey, singleKeyring(options.encryptionKey), {
            companyId,
            column: SECRET_COLUMNS.calcomApiKey,
          })
        : null,
  });
  const { token, hash, prefix } = generateApiToken();
  await db
    .insert(apiTokens)
    .values({ id: newId('tok'), companyId, name: 'test', tokenHash: hash, tokenPrefix: prefix });

  const staffIds: string[] = [];
  for (const member of options.staff ?? []) {
    const id = newId('stf');
    staffIds.push(id);
    await db.insert(staff).values({
      id,
      companyId,
      name: member.name,
      email: member.email ?? null,
      calcomUserId: member.calcomUserId ?? null,
    });
  }

  const serviceIds: string[] = [];
  const segmentIds: string[][] = [];
  for (const service of options.services ?? []) {
    const serviceId = newId('svc');
    serviceIds.push(serviceId);
    await db.insert(services).values({
      id: serviceId,
      companyId,
      name: service.name,
      kind: service.kind ?? (service.segments.length > 1 ? 'composite' : 'simple'),
      preferSameStaff: service.preferSameStaff ?? false,
    });
    const ids: string[] = [];
    for (const [position, segment] of service.segments.entries()) {
      const segmentId = newId('seg');
      ids.push(segmentId);
      await db.insert(serviceSegments).values({
        id: segmentId,
        serviceId,
        position,
        name: segment.name,
        durationMinutes: segment.durationMinutes,
        pauseAfterMinutes: segment.pauseAfterMinutes ?? 0,
      });
      for (const mapping of segment.eventTypes) {
        const staffId = staffIds[mapping.staff];
        if (staffId === undefined) throw new Error(`seedCompany: no staff at index ${mapping.staff}`);
        await db.insert(eventTypeMappings).values({
          id: newId('map'),
          companyId,
          serviceId,
          segmentId,
          staffId,
          calcomEventTypeId: mapping.eventTypeId,
        });
        // On the shared account a company books only event types in its scope (first come, first owner).
        if (options.calcomApiKey === undefined) {
          await db
            .insert(companyEventTypes)
            .values({ calcomEventTypeId: mapping.eventTypeId, companyId })
            .onConflictDoNothing();
        }
      }
    }
    segmentIds.push(ids);
  }
  return { companyId, token, staffIds, serviceIds, segmentIds };
}

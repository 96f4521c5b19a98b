import { storableId, type TeamMember } from '@calgate/calendar';
import { eventTypeMappings, newId, staff } from '@calgate/db';
import { AppError } from '@calgate/errors';
import { and, eq, isNull, or } from 'drizzle-orm';
import { loadCompany } from '../accounts/companies.ts';
import { companyScope, scopeContains } from '../accounts/scope.ts';
import type { DomainDeps } from '../deps.ts';
import { importEventType } from './event-types.ts';

export interface TeamImportResult {
  teamId: number;
  members: number;
  staffCreated: number;
  staffUpdated: number;
  /** Members' event types imported as services (each booked with its member). */
  imported: number;
}

type ImportDeps = Pick<DomainDeps, 'db' | 'calcom' | 'logger'>;

/**
 * Imports staff from a Cal.com team: the team's accepted members (`GET /v2/teams/{teamId}/
 * memberships`) become staff members (matched by Cal.com user id, else by email), and each
 * member's own event types (`GET /v2/event-types?username=`) inside the company's scope become
 * services booked with that member. On the shared account a member is imported only when one of
 * their event types is in the company's scope: another company's stylists stay its own.
 * @throws AppError VALIDATION_FAILED when the key's user is in several teams and none was named,
 *   NOT_FOUND when the named team is not one of them.
 */
export async function importTeamMembers(
  deps: ImportDeps,
  companyId: string,
  options: { teamId?: number } = {},
): Promise<TeamImportResult> {
  const company = await loadCompany(deps, companyId);
  const scope = await companyScope(deps.db, companyId);
  const { client } = deps.calcom.forCompany(company);
  const teams = await client.listTeams();
  const team =
    options.teamId === undefined
      ? teams.length === 1
        ? teams[0]
        : undefined
      : teams.find((t) => storableId(t.id) === options.teamId);
  if (team === undefined) {
    if (options.teamId !== undefined) {
      throw new AppError('NOT_FOUND', `teamId: the Cal.com key is not in team ${options.teamId}`, {
        details: { field: 'teamId' },
      });
    }
    throw new AppError(
      'VALIDATION_FAILED',
      `teamId is required: the Cal.com key's user is in ${teams.length} teams (${teams.map((t) => storableId(t.id)).join(', ') || 'none'})`,
      { details: { field: 'teamId' } },
    );
  }
  const members: TeamMember[] = [];
  for (let skip = 0; ; skip += 250) {
    const page = await client.listTeamMemberships(team.id, { take: 250, skip });
    members.push(...page.filter((m) => m.accepted));
    if (page.length < 250) break;
  }
  const result: TeamImportResult = {
    teamId: storableId(team.id),
    members: members.length,
    staffCreated: 0,
    staffUpdated: 0,
    imported: 0,
  };
  const mapped = new Set(
    (
      await deps.db
        .select({ id: eventTypeMappings.calcomEventTypeId })
        .from(eventTypeMappings)
        .where(and(eq(eventTypeMappings.companyId, companyId), isNull(eventTypeMappings.deletedAt)))
    ).map((r) => r.id),
  );
  for (const member of members) {
    const username = member.user.username ?? null;
    const own =
      username === null
        ? []
        : (await client.listEventTypes({ username })).filter(
            (type) =>
              (type.ownerId ?? member.userId) === member.userId && scopeContains(scope, storableId(type.id)),
          );
    if (scope.kind === 'assigned' && own.length === 0) continue;
    const created = await upsertMember(deps, companyId, company.timezone, member);
    result[created ? 'staffCreated' : 'staffUpdated']++;
    for (const type of own.filter((t) => !mapped.has(storableId(t.id)))) {
      await importEventType(
        deps,
        companyId,
        { id: member.userId, username: username ?? '', email: member.user.email, timeZone: company.timezone },
        { ...type, ownerId: member.userId },
      );
      mapped.add(storableId(type.id));
      result.imported++;
    }
  }
  deps.logger.info({ companyId, ...result }, 'team members imported');
  return result;
}

/** The member as a staff member of the company: true when it was created. */
async function upsertMember(
  deps: Pick<DomainDeps, 'db'>,
  companyId: string,
  timezone: string,
  member: TeamMember,
): Promise<boolean> {
  const calcomUserId = storableId(member.userId);
  const name = member.user.name ?? member.user.username ?? member.user.email;
  const [existing] = await deps.db
    .select({ id: staff.id })
    .from(staff)
    .where(
      and(
        eq(staff.companyId, companyId),
        or(eq(staff.calcomUserId, calcomUserId), eq(staff.email, member.user.email)),
      ),
    )
    .limit(1);
  if (existing !== undefined) {
    await deps.db
      .update(staff)
      .set({ name, email: member.user.email, calcomUserId, updatedAt: new Date() })
      .where(eq(staff.id, existing.id));
    return false;
  }
  await deps.db.insert(staff).values({
    id: newId('stf'),
    companyId,
    name,
    email: member.user.email,
    calcomUserId,
    timezone,
  });
  return true;
}

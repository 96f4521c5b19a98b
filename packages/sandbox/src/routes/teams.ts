import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SandboxContext } from '../context.ts';
import { shape1 } from '../errors.ts';
import type { SandboxTeam, SandboxUser } from '../types.ts';

function teamOutput(team: SandboxTeam) {
  return { id: team.id, name: team.name, slug: team.slug, isOrganization: false, timeZone: 'Europe/London' };
}

/** A membership as Cal.com answers it (`TeamMembershipOutput`). */
function membershipOutput(team: SandboxTeam, user: SandboxUser, index: number) {
  return {
    id: team.id * 1000 + user.id,
    userId: user.id,
    teamId: team.id,
    accepted: true,
    role: index === 0 ? 'OWNER' : 'MEMBER',
    disableImpersonation: false,
    user: { email: user.email, username: user.username, name: user.name, bio: '', metadata: {} },
  };
}

/**
 * `GET /v2/teams` (the teams the key's user belongs to) and `GET /v2/teams/{teamId}/memberships`
 * (readable by a member; another team answers 404, as Cal.com does for a team one cannot see).
 * Members' own event types are listed by `GET /v2/event-types?username=`.
 */
export function teamRoutes(app: FastifyInstance, ctx: SandboxContext): void {
  const { store } = ctx;
  const cfg = (operation: string) => ({ config: { operation, family: 'none' as const } });

  app.get('/v2/teams', cfg('teams.list'), async (request) => {
    const user = ctx.userOf(request);
    await ctx.delay();
    const mine = [...store.teams.values()].filter((t) => t.memberIds.includes(user.id));
    return { status: 'success', data: mine.map(teamOutput) };
  });

  app.get(
    '/v2/teams/:teamId/memberships',
    cfg('teams.memberships'),
    async (
      request: FastifyRequest<{ Params: { teamId: string }; Querystring: { take?: string; skip?: string } }>,
    ) => {
      const user = ctx.userOf(request);
      const team = store.teams.get(Number(request.params.teamId));
      if (team === undefined || !team.memberIds.includes(user.id)) {
        throw shape1(404, request.url, `Team with id=${request.params.teamId} not found`);
      }
      await ctx.delay();
      const take = Math.min(250, Math.max(1, Number(request.query.take ?? 250) || 250));
      const skip = Math.max(0, Number(request.query.skip ?? 0) || 0);
      const members = team.memberIds
        .map((id, index) => ({ user: store.users.get(id), index }))
        .filter((m): m is { user: SandboxUser; index: number } => m.user !== undefined)
        .slice(skip, skip + take);
      return { status: 'success', data: members.map((m) => membershipOutput(team, m.user, m.index)) };
    },
  );
}

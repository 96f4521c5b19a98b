import { changeEventTypeScope, companyScope, importTeamMembers, rotateWebhookSecret } from '@calgate/domain';
import type { OperationsContext } from './operations.ts';

/** `101,102 103` -> [101, 102, 103]; anything else is refused naming the option. */
export function parseEventTypeIds(option: string, value: string | undefined): number[] {
  if (value === undefined) return [];
  const ids = value.split(/[\s,]+/).filter((part) => part !== '');
  if (ids.length === 0 || ids.some((id) => !/^[1-9][0-9]{0,9}$/.test(id))) {
    throw new Error(`--${option} must be Cal.com event type ids separated by commas`);
  }
  return ids.map(Number);
}

/**
 * Assigns and unassigns event types of the shared account to a company, then prints its scope.
 * Run `sync:event-types` afterwards to import what was assigned.
 */
export async function companyScopeEdit(
  context: OperationsContext,
  companyId: string,
  change: { assign: number[]; unassign: number[] },
): Promise<void> {
  const db = context.runtime.db;
  const { unassigned, assigned, already } = await changeEventTypeScope(db, companyId, change);
  if (change.unassign.length > 0) {
    context.out(`unassigned: ${unassigned.join(', ') || 'none'} (their mappings are soft-deleted)`);
  }
  if (change.assign.length > 0) {
    context.out(
      `assigned: ${assigned.join(', ') || 'none'}${already.length > 0 ? ` (already: ${already.join(', ')})` : ''}`,
    );
  }
  const scope = await companyScope(db, companyId);
  context.out(
    scope.kind === 'account'
      ? `company ${companyId}: its own Cal.com account (every event type of it)`
      : `company ${companyId}: shared account, event types ${scope.eventTypeIds.join(', ') || '(none)'}`,
  );
}

/** Rotates a company's webhook secret: effective at once, the old one verifies for a short overlap. */
export async function rotateSecretNow(context: OperationsContext, companyId: string): Promise<void> {
  const config = context.runtime.config;
  if (config.http.publicBaseUrl === undefined) {
    throw new Error('PUBLIC_BASE_URL is not set: Cal.com needs to know where to deliver');
  }
  const result = await rotateWebhookSecret(context.runtime, companyId, {
    publicBaseUrl: config.http.publicBaseUrl,
    defaultSecret: config.calcom.webhookSecret,
  });
  context.out(
    `company ${companyId}: new webhook secret stored and ${result.action} in Cal.com for ${result.subscriberUrl}; the old one verifies until ${result.overlapUntil.toISOString()}`,
  );
}

/** Staff from the Cal.com team's members, and services from their own event types in scope. */
export async function importTeamNow(
  context: OperationsContext,
  companyId: string,
  teamId: number | undefined,
): Promise<void> {
  const result = await importTeamMembers(context.runtime, companyId, teamId === undefined ? {} : { teamId });
  context.out(
    `company ${companyId}: team ${result.teamId}, ${result.members} member(s): ${result.staffCreated} staff created, ${result.staffUpdated} updated, ${result.imported} event type(s) imported as services`,
  );
}

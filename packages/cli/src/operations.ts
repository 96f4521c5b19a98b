import {
  announceAuthChange,
  companyIds,
  createApiToken,
  createCompany,
  createServiceWithEventType,
  normaliseStoredPhones,
  reconcileBookings,
  registerWebhook,
  setCompanySecrets,
  syncEventTypes,
} from '@calgate/domain';
import type { DomainRuntime } from '@calgate/runtime';

type Out = (line: string) => void;

export interface OperationsContext {
  runtime: DomainRuntime;
  out: Out;
  /** A structured result for `--json` (see `Output`). */
  record?: (value: Record<string, unknown>) => void;
}

/** The companies a command applies to: the one named, or all of them. */
async function targets(context: OperationsContext, companyId: string | undefined): Promise<string[]> {
  return companyId === undefined ? companyIds(context.runtime) : [companyId];
}

export async function companyCreate(
  context: OperationsContext,
  input: { name: string; timezone?: string; calcomApiKey?: string; webhookSecret?: string },
): Promise<{ companyId: string; token: string }> {
  const created = await createCompany(context.runtime.db, context.runtime.keyring, input);
  context.record?.({ companyId: created.companyId, token: created.token });
  context.out(`company ${created.companyId}`);
  context.out(`API token (shown once, store it now): ${created.token}`);
  return created;
}

export async function tokenCreate(
  context: OperationsContext,
  companyId: string,
  name: string,
): Promise<string> {
  const token = await createApiToken(context.runtime.db, companyId, name);
  context.record?.({ companyId, token });
  context.out(`API token (shown once, store it now): ${token}`);
  return token;
}

export async function companySetSecrets(
  context: OperationsContext,
  companyId: string,
  secrets: { calcomApiKey?: string | null; webhookSecret?: string | null },
): Promise<void> {
  await setCompanySecrets(context.runtime.db, context.runtime.keyring, companyId, secrets);
  // API processes may remember failures of the company's webhook URL: the new secret verifies at once.
  await announceAuthChange(context.runtime, companyId);
  const changed = Object.keys(secrets).join(' and ');
  context.record?.({ companyId, updated: Object.keys(secrets) });
  context.out(`company ${companyId}: ${changed} updated (stored encrypted)`);
}

export async function syncEventTypesNow(context: OperationsContext, companyId?: string): Promise<number> {
  const ids = await targets(context, companyId);
  let failures = 0;
  for (const [index, id] of ids.entries()) {
    try {
      const result = await syncEventTypes(context.runtime, id);
      context.record?.({ companyId: id, ok: true, ...result });
      context.out(
        `[${index + 1}/${ids.length}] ${id}: ${result.eventTypes} event types, ${result.imported} imported, ${result.deleted} service(s) soft-deleted, ${result.drift.length} drift`,
      );
      for (const drift of result.drift) {
        context.out(
          `    drift: event type ${drift.eventTypeId} (service ${drift.serviceId}) ${drift.field}: expected ${String(drift.expected)}, Cal.com has ${String(drift.actual)}`,
        );
      }
    } catch (error) {
      failures++;
      context.record?.({
        companyId: id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      });
      context.out(
        `[${index + 1}/${ids.length}] ${id}: failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return failures;
}

export async function reconcileNow(context: OperationsContext, companyId?: string): Promise<number> {
  const ids = await targets(context, companyId);
  let failures = 0;
  for (const [index, id] of ids.entries()) {
    try {
      const result = await reconcileBookings(context.runtime, id, {
        onProgress: (done, total) => context.out(`    ${id}: ${done}/${total} bookings`),
      });
      context.record?.({ companyId: id, ok: true, ...result });
      context.out(
        `[${index + 1}/${ids.length}] ${id}: ${result.seen} bookings since ${result.since}: ${result.applied} applied, ${result.unchanged} unchanged, ${result.ignored} ignored${result.complete ? '' : ' (more next run)'}`,
      );
    } catch (error) {
      failures++;
      context.record?.({
        companyId: id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      });
      context.out(
        `[${index + 1}/${ids.length}] ${id}: failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return failures;
}

export async function registerWebhooksNow(context: OperationsContext, companyId?: string): Promise<number> {
  const { config } = context.runtime;
  if (config.http.publicBaseUrl === undefined) {
    throw new Error('PUBLIC_BASE_URL is not set: Cal.com needs the public HTTPS address of this gateway');
  }
  const ids = await targets(context, companyId);
  let failures = 0;
  for (const [index, id] of ids.entries()) {
    try {
      const result = await registerWebhook(context.runtime, id, {
        publicBaseUrl: config.http.publicBaseUrl,
        defaultSecret: config.calcom.webhookSecret,
      });
      context.record?.({ companyId: id, ok: true, ...result });
      context.out(
        `[${index + 1}/${ids.length}] ${id}: ${result.action} ${result.subscriberUrl} (${result.id})`,
      );
    } catch (error) {
      failures++;
      context.record?.({
        companyId: id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      });
      context.out(
        `[${index + 1}/${ids.length}] ${id}: failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return failures;
}

export async function serviceCreate(
  context: OperationsContext,
  companyId: string,
  input: { name: string; durationMinutes: number; address?: string },
): Promise<{ serviceId: string; eventTypeId: number }> {
  const created = await createServiceWithEventType(context.runtime, companyId, input);
  context.record?.({ companyId, ...created });
  context.out(
    `service ${created.serviceId} booked through the new hidden Cal.com event type ${created.eventTypeId}`,
  );
  return created;
}

/** Phones stored before normalisation, to E.164 (national spellings read in PHONE_DEFAULT_REGION). */
export async function normalisePhonesNow(context: OperationsContext): Promise<number> {
  const result = await normaliseStoredPhones(context.runtime.db, context.runtime.config.phone.defaultRegion);
  context.out(
    `${result.normalised} phone(s) normalised, ${result.unparseable} not a valid number, ` +
      `${result.duplicates} left as another phone-only customer's number`,
  );
  return result.unparseable + result.duplicates;
}

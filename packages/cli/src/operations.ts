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

/**
 * Runs `step` for each company in turn, printing a numbered line per company (its own words, or the
 * failure's message) and recording each result; one company's failure does not stop the others.
 * Returns how many failed.
 */
async function eachCompany<R extends object>(
  context: OperationsContext,
  ids: string[],
  step: (companyId: string) => Promise<R>,
  describe: (result: R) => string[],
): Promise<number> {
  let failures = 0;
  for (const [index, id] of ids.entries()) {
    const at = `[${index + 1}/${ids.length}] ${id}`;
    try {
      const result = await step(id);
      context.record?.({ companyId: id, ok: true, ...result });
      const [first = '', ...more] = describe(result);
      context.out(`${at}: ${first}`);
      for (const line of more) context.out(line);
    } catch (error) {
      failures++;
      const message = error instanceof Error ? error.message : String(error);
      context.record?.({ companyId: id, ok: false, error: message });
      context.out(`${at}: failed: ${message}`);
    }
  }
  return failures;
}

export async function companyCreate(
  context: OperationsContext,
  input: { name: string; timezone?: string; calcomApiKey?: string; webhookSecret?: string },
): Promise<{ companyId: string; token: string }> {
  const created = await createCompany(context.runtime.db, context.runtime.keyring, input, {
    sharedKeyId: context.runtime.calcom.defaultKeyId,
  });
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
  await setCompanySecrets(context.runtime.db, context.runtime.keyring, companyId, secrets, {
    sharedKeyId: context.runtime.calcom.defaultKeyId,
  });
  // API processes may remember failures of the company's webhook URL: the new secret verifies at once.
  await announceAuthChange(context.runtime, companyId);
  const changed = Object.keys(secrets).join(' and ');
  context.record?.({ companyId, updated: Object.keys(secrets) });
  context.out(`company ${companyId}: ${changed} updated (stored encrypted)`);
}

export async function syncEventTypesNow(context: OperationsContext, companyId?: string): Promise<number> {
  return eachCompany(
    context,
    await targets(context, companyId),
    (id) => syncEventTypes(context.runtime, id),
    (result) => [
      `${result.eventTypes} event types, ${result.imported} imported, ${result.deleted} service(s) soft-deleted, ${result.drift.length} drift`,
      ...result.drift.map(
        (drift) =>
          `    drift: event type ${drift.eventTypeId} (service ${drift.serviceId}) ${drift.field}: expected ${String(drift.expected)}, Cal.com has ${String(drift.actual)}`,
      ),
    ],
  );
}

export async function reconcileNow(context: OperationsContext, companyId?: string): Promise<number> {
  return eachCompany(
    context,
    await targets(context, companyId),
    (id) =>
      reconcileBookings(context.runtime, id, {
        onProgress: (done, total) => context.out(`    ${id}: ${done}/${total} bookings`),
      }),
    (result) => [
      `${result.seen} bookings since ${result.since}: ${result.applied} applied, ${result.unchanged} unchanged, ${result.ignored} ignored${result.complete ? '' : ' (more next run)'}`,
    ],
  );
}

export async function registerWebhooksNow(context: OperationsContext, companyId?: string): Promise<number> {
  const { config } = context.runtime;
  if (config.http.publicBaseUrl === undefined) {
    throw new Error('PUBLIC_BASE_URL is not set: Cal.com needs the public HTTPS address of this gateway');
  }
  const publicBaseUrl = config.http.publicBaseUrl;
  return eachCompany(
    context,
    await targets(context, companyId),
    (id) =>
      registerWebhook(context.runtime, id, { publicBaseUrl, defaultSecret: config.calcom.webhookSecret }),
    (result) => [`${result.action} ${result.subscriberUrl} (${result.id})`],
  );
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

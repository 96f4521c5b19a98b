import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@calgate/config';
import { createDomainRuntime } from '@calgate/runtime';
import { createLogger } from '@calgate/telemetry';
import { catalogApply, companyDisable, companyList, companyUpdate, tokenList, tokenRevoke } from './admin.ts';
import { listFailedJobs, listNeedsAttention, resolveNeedsAttention, retryFailedJobs } from './commands.ts';
import {
  companyCreate,
  companySetSecrets,
  normalisePhonesNow,
  reconcileNow,
  registerWebhooksNow,
  serviceCreate,
  syncEventTypesNow,
  tokenCreate,
} from './operations.ts';
import {
  deliveriesList,
  deliveriesResend,
  endpointCreate,
  endpointDelete,
  endpointList,
  endpointRotateSecret,
  endpointSetEnabled,
} from './outbound.ts';
import { createOutput } from './output.ts';
import { reencryptSecrets } from './secrets.ts';
import { companyScopeEdit, importTeamNow, parseEventTypeIds, rotateSecretNow } from './tenancy-operations.ts';

const USAGE = `Usage: pnpm cli <command> [options]

Companies
  company:create --name N [--timezone TZ] [--calcom-key K] [--webhook-secret S]
                                          create a company and print its first API token
  company:list                            every company: id, name, zone, key, enabled (no secrets)
  company:update --company ID [--name N] [--timezone TZ]
                                          rename a company or change its time zone (the default
                                          of staff created later; staff keep their own)
  company:set-key --company ID (--calcom-key K | --clear)
                                          set (or clear back to CALCOM_API_KEY) a company's Cal.com key
  company:set-webhook-secret --company ID (--webhook-secret S | --clear)
  company:rotate-webhook-secret --company ID
                                          a fresh webhook secret, installed in the company's Cal.com
                                          account at once; the old one verifies 5 more minutes
  company:scope --company ID [--assign IDS] [--unassign IDS]
                                          event types of the shared account (CALCOM_API_KEY) the
                                          company owns (IDS: 101,102); prints its scope
  company:disable --company ID            refuse the company's API tokens, at once
  company:enable --company ID             accept the company's API tokens again
  token:create --company ID [--name N]    another API token for a company
  token:list --company ID                 the company's API tokens (never their secrets)
  token:revoke --company ID --token TOKEN_ID
                                          revoke a token, at once on every API process
  catalog:apply --company ID --file F [--dry-run]
                                          bring staff, services, segments and mappings to what the
                                          YAML or JSON file says (idempotent); prints the diff first
  staff:import-team --company ID [--team T]
                                          staff from the Cal.com team's members, services from
                                          their own event types inside the company's scope
  service:create --company ID --name N --duration MIN [--address A]
                                          a service with its own hidden Cal.com event type

Cal.com (every company without --company)
  sync:event-types [--company ID]         import event types now; lists drift
  webhooks:register [--company ID]        register our webhook URL and secret in Cal.com (idempotent)
  reconcile [--company ID]                apply bookings changed in Cal.com since the last run

Outbound webhooks (appointment changes sent to upstream systems)
  endpoint:create --company ID --url U [--events E1,E2] [--description D]
                                          register an endpoint; prints its signing secret once
  endpoint:list [--company ID]            endpoints with their state and failure streak
  endpoint:enable --endpoint ID           re-enable (sends what waited meanwhile, in order)
  endpoint:disable --endpoint ID          stop sending (events wait until it is enabled again)
  endpoint:rotate-secret --endpoint ID [--overlap-hours N]
                                          a new signing secret, printed once; the previous one signs
                                          too for N hours (default 24, at most 168, 0 = stop at once)
  endpoint:delete --endpoint ID           remove an endpoint with its deliveries
  deliveries:list --endpoint ID [--status pending|delivered|failed]
                                          deliveries, newest first, with their last attempt
  deliveries:resend (--delivery ID | --endpoint ID)
                                          send failed deliveries again (all of the endpoint without --delivery)

Jobs
  jobs:failed [--queue Q]                 list failed jobs (queues: bookings, composite, compensation, webhooks, sync, outbound)
  jobs:retry  [--queue Q] [--job ID]      retry failed jobs (all failed jobs of the queue(s) without --job)
  appointments:attention [--company ID]   appointments flagged as needing attention: id, company,
                                          status, start, Cal.com booking uid, failure
  appointments:resolve --appointment ID --note TEXT
                                          clear one's flag once it is settled (recorded in its history)

Secrets at rest
  secrets:reencrypt [--batch N]           re-encrypt every stored secret under the current key
                                          (SECRETS_ENCRYPTION_KEY_VERSION) while the gateway runs;
                                          idempotent, N rows at a time (default 100)

Customers
  customers:normalize-phones              stored phones to E.164 (national ones read in PHONE_DEFAULT_REGION)

Options of every command
  --json                                  one JSON document on stdout ({"ok", "records", "lines"}) for scripts
  --verbose                               log lines (at LOG_LEVEL) on stderr; without it only warnings

Secrets can come from the environment instead of the command line (shell history):
CALGATE_CLI_CALCOM_KEY, CALGATE_CLI_WEBHOOK_SECRET.
`;

const OPTIONS = {
  queue: { type: 'string' },
  job: { type: 'string' },
  company: { type: 'string' },
  name: { type: 'string' },
  timezone: { type: 'string' },
  'calcom-key': { type: 'string' },
  'webhook-secret': { type: 'string' },
  clear: { type: 'boolean' },
  file: { type: 'string' },
  token: { type: 'string' },
  'dry-run': { type: 'boolean' },
  duration: { type: 'string' },
  address: { type: 'string' },
  assign: { type: 'string' },
  team: { type: 'string' },
  unassign: { type: 'string' },
  help: { type: 'boolean' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean' },
  url: { type: 'string' },
  events: { type: 'string' },
  description: { type: 'string' },
  endpoint: { type: 'string' },
  'overlap-hours': { type: 'string' },
  delivery: { type: 'string' },
  status: { type: 'string' },
  batch: { type: 'string' },
  appointment: { type: 'string' },
  note: { type: 'string' },
} as const;

/**
 * The command line, or exit 1 naming what is wrong (an unknown option, one without its value)
 * with the usage, and with `--json` the one JSON document scripts read.
 */
function readArgs() {
  try {
    return parseArgs({ allowPositionals: true, options: OPTIONS });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${message}\n\n${USAGE}`);
    if (process.argv.includes('--json')) {
      createOutput({ json: true }).finish({ ok: false, error: message });
    }
    process.exit(1);
  }
}

const { positionals, values } = readArgs();
const [command] = positionals;
if (command === undefined || values.help === true) {
  process.stdout.write(USAGE);
  process.exit(command === undefined && values.help !== true ? 1 : 0);
}
if (existsSync('.env')) process.loadEnvFile('.env');
useRunningDemo();
const config = loadConfigOrExit();
for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
// stdout is the command's answer; log lines (JSON) go to stderr, and only warnings unless asked.
const logger = createLogger({
  name: 'calgate-cli',
  level: values.verbose === true ? config.logLevel : 'warn',
  destination: process.stderr,
  personalData: config.logPersonalData,
});
const output = createOutput({ json: values.json === true });
const runtime = createDomainRuntime(config, logger, { service: 'calgate-cli', failFast: false });
const { out, record } = output;
const jobs = {
  db: runtime.db,
  connection: runtime.connection,
  prefix: config.redis.queuePrefix,
  out,
  record,
};
const ops = { runtime, out, record };
const calcomKey = values['calcom-key'] ?? process.env.CALGATE_CLI_CALCOM_KEY;
const webhookSecret = values['webhook-secret'] ?? process.env.CALGATE_CLI_WEBHOOK_SECRET;

function required(
  name: 'company' | 'name' | 'file' | 'token' | 'url' | 'endpoint' | 'appointment' | 'note',
  value: string | undefined,
): string {
  if (value === undefined || value === '') throw new Error(`--${name} is required\n\n${USAGE}`);
  return value;
}

function teamId(value: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(value)) throw new Error('--team must be a Cal.com team id');
  return Number(value);
}

/**
 * In demo mode (`pnpm start` without CALCOM_API_KEY) Cal.com is the demo's sandbox, known only to
 * the running demo: it says where in `.demo.json`, which it removes when it stops.
 */
function useRunningDemo(): void {
  if ((process.env.CALCOM_API_KEY ?? '') !== '' || !existsSync('.demo.json')) return;
  const running = JSON.parse(readFileSync('.demo.json', 'utf8')) as {
    calcom?: { baseUrl: string; apiKey: string };
  };
  if (running.calcom === undefined) return;
  process.env.CALCOM_API_KEY = running.calcom.apiKey;
  process.env.CALCOM_BASE_URL = running.calcom.baseUrl;
  process.stderr.write(`demo mode: Cal.com is the running demo's sandbox at ${running.calcom.baseUrl}\n`);
}

let code = 0;
let failure: string | undefined;
try {
  switch (command) {
    case 'company:create':
      await companyCreate(ops, {
        name: required('name', values.name),
        ...(values.timezone === undefined ? {} : { timezone: values.timezone }),
        ...(calcomKey === undefined ? {} : { calcomApiKey: calcomKey }),
        ...(webhookSecret === undefined ? {} : { webhookSecret }),
      });
      break;
    case 'company:set-key':
      if (values.clear !== true && calcomKey === undefined)
        throw new Error('--calcom-key or --clear is required');
      await companySetSecrets(ops, required('company', values.company), {
        calcomApiKey: values.clear === true ? null : (calcomKey as string),
      });
      break;
    case 'company:set-webhook-secret':
      if (values.clear !== true && webhookSecret === undefined) {
        throw new Error('--webhook-secret or --clear is required');
      }
      await companySetSecrets(ops, required('company', values.company), {
        webhookSecret: values.clear === true ? null : (webhookSecret as string),
      });
      break;
    case 'company:rotate-webhook-secret':
      await rotateSecretNow(ops, required('company', values.company));
      break;
    case 'company:scope':
      await companyScopeEdit(ops, required('company', values.company), {
        assign: parseEventTypeIds('assign', values.assign),
        unassign: parseEventTypeIds('unassign', values.unassign),
      });
      break;
    case 'staff:import-team':
      await importTeamNow(
        ops,
        required('company', values.company),
        values.team === undefined ? undefined : teamId(values.team),
      );
      break;
    case 'company:list':
      await companyList(ops);
      break;
    case 'company:update':
      await companyUpdate(ops, required('company', values.company), {
        name: values.name,
        timeZone: values.timezone,
      });
      break;
    case 'company:disable':
    case 'company:enable':
      await companyDisable(ops, required('company', values.company), command === 'company:disable');
      break;
    case 'token:list':
      await tokenList(ops, required('company', values.company));
      break;
    case 'token:revoke':
      await tokenRevoke(ops, required('company', values.company), required('token', values.token));
      break;
    case 'catalog:apply':
      await catalogApply(ops, required('company', values.company), required('file', values.file), {
        dryRun: values['dry-run'] === true,
      });
      break;
    case 'token:create':
      await tokenCreate(ops, required('company', values.company), values.name ?? 'cli');
      break;
    case 'service:create':
      await serviceCreate(ops, required('company', values.company), {
        name: required('name', values.name),
        durationMinutes: Number(values.duration),
        ...(values.address === undefined ? {} : { address: values.address }),
      });
      break;
    case 'sync:event-types':
      code = (await syncEventTypesNow(ops, values.company)) > 0 ? 1 : 0;
      break;
    case 'webhooks:register':
      code = (await registerWebhooksNow(ops, values.company)) > 0 ? 1 : 0;
      break;
    case 'reconcile':
      code = (await reconcileNow(ops, values.company)) > 0 ? 1 : 0;
      break;
    case 'endpoint:create':
      await endpointCreate(ops, required('company', values.company), {
        url: required('url', values.url),
        events: values.events,
        description: values.description,
      });
      break;
    case 'endpoint:list':
      await endpointList(ops, values.company);
      break;
    case 'endpoint:enable':
    case 'endpoint:disable':
      await endpointSetEnabled(ops, required('endpoint', values.endpoint), command === 'endpoint:enable');
      break;
    case 'endpoint:rotate-secret':
      await endpointRotateSecret(ops, required('endpoint', values.endpoint), values['overlap-hours']);
      break;
    case 'endpoint:delete':
      await endpointDelete(ops, required('endpoint', values.endpoint));
      break;
    case 'deliveries:list':
      await deliveriesList(ops, required('endpoint', values.endpoint), values.status);
      break;
    case 'deliveries:resend':
      await deliveriesResend(ops, { deliveryId: values.delivery, endpointId: values.endpoint });
      break;
    case 'jobs:failed':
      await listFailedJobs(jobs, values.queue);
      break;
    case 'jobs:retry':
      await retryFailedJobs(jobs, { queue: values.queue, job: values.job });
      break;
    case 'appointments:attention':
      await listNeedsAttention(jobs, values.company);
      break;
    case 'appointments:resolve':
      await resolveNeedsAttention(
        jobs,
        required('appointment', values.appointment),
        required('note', values.note),
      );
      break;
    case 'secrets:reencrypt':
      code = (await reencryptSecrets(ops, values.batch)) > 0 ? 1 : 0;
      break;
    case 'customers:normalize-phones':
      code = (await normalisePhonesNow(ops)) > 0 ? 1 : 0;
      break;
    default:
      process.stderr.write(`unknown command ${command}\n${USAGE}`);
      code = 1;
  }
} catch (error) {
  failure = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${failure}\n`);
  code = 1;
} finally {
  await runtime.close();
}
output.finish({
  ok: code === 0,
  ...(failure === undefined ? {} : { error: failure.split('\n')[0] as string }),
});
process.exit(code);

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@calgate/config';
import { createDomainRuntime } from '@calgate/domain';
import { createLogger } from '@calgate/telemetry';
import { listFailedJobs, listNeedsAttention, retryFailedJobs } from './commands.ts';
import {
  companyCreate,
  companySetSecrets,
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
  endpointSetEnabled,
} from './outbound.ts';

const USAGE = `Usage: pnpm cli <command> [options]

Companies
  company:create --name N [--timezone TZ] [--calcom-key K] [--webhook-secret S]
                                          create a company and print its first API token
  company:set-key --company ID (--calcom-key K | --clear)
                                          set (or clear back to CALCOM_API_KEY) a company's Cal.com key
  company:set-webhook-secret --company ID (--webhook-secret S | --clear)
  token:create --company ID [--name N]    another API token for a company
  service:create --company ID --name N --duration MIN [--address A]
                                          a service with its own hidden Cal.com event type

Cal.com (every company without --company)
  sync:event-types [--company ID]         import event types now; lists drift
  webhooks:register [--company ID]        register our webhook URL and secret in Cal.com (idempotent)
  reconcile [--company ID]                apply bookings changed in Cal.com since the last run

Outbound webhooks (appointment changes sent to upstream systems)
  endpoint:create --company ID --url U [--events E1,E2] [--description D]
                                          register an endpoint; prints its signing secret once
  endpoint:list [--company ID]            endpoints with their state
  endpoint:enable --endpoint ID           re-enable (sends what waited meanwhile, in order)
  endpoint:disable --endpoint ID          stop sending (events wait until it is enabled again)
  endpoint:delete --endpoint ID           remove an endpoint with its deliveries
  deliveries:list --endpoint ID [--status pending|delivered|failed]
                                          deliveries, newest first, with their last attempt
  deliveries:resend (--delivery ID | --endpoint ID)
                                          send failed deliveries again (all of the endpoint without --delivery)

Jobs
  jobs:failed [--queue Q]                 list failed jobs (queues: bookings, composite, compensation, webhooks, sync, outbound)
  jobs:retry  [--queue Q] [--job ID]      retry failed jobs (all failed jobs of the queue(s) without --job)
  appointments:attention                  list appointments flagged as needing attention

Secrets can come from the environment instead of the command line (shell history):
CALGATE_CLI_CALCOM_KEY, CALGATE_CLI_WEBHOOK_SECRET.
`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    queue: { type: 'string' },
    job: { type: 'string' },
    company: { type: 'string' },
    name: { type: 'string' },
    timezone: { type: 'string' },
    'calcom-key': { type: 'string' },
    'webhook-secret': { type: 'string' },
    clear: { type: 'boolean' },
    duration: { type: 'string' },
    address: { type: 'string' },
    help: { type: 'boolean' },
    url: { type: 'string' },
    events: { type: 'string' },
    description: { type: 'string' },
    endpoint: { type: 'string' },
    delivery: { type: 'string' },
    status: { type: 'string' },
  },
});
const [command] = positionals;
if (command === undefined || values.help === true) {
  process.stdout.write(USAGE);
  process.exit(command === undefined && values.help !== true ? 1 : 0);
}
if (existsSync('.env')) process.loadEnvFile('.env');
const config = loadConfigOrExit();
const logger = createLogger({
  name: 'calgate-cli',
  level: process.env.LOG_LEVEL === undefined ? 'warn' : config.logLevel,
});
const runtime = createDomainRuntime(config, logger, { service: 'calgate-cli', failFast: false });
const out = (line: string) => process.stdout.write(`${line}\n`);
const jobs = { db: runtime.db, connection: runtime.connection, prefix: config.redis.queuePrefix, out };
const ops = { runtime, out };
const calcomKey = values['calcom-key'] ?? process.env.CALGATE_CLI_CALCOM_KEY;
const webhookSecret = values['webhook-secret'] ?? process.env.CALGATE_CLI_WEBHOOK_SECRET;

function required(name: 'company' | 'name' | 'url' | 'endpoint', value: string | undefined): string {
  if (value === undefined || value === '') throw new Error(`--${name} is required\n\n${USAGE}`);
  return value;
}

let code = 0;
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
      await listNeedsAttention(jobs);
      break;
    default:
      process.stderr.write(`unknown command ${command}\n${USAGE}`);
      code = 1;
  }
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  code = 1;
} finally {
  await runtime.close();
}
process.exit(code);

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '@calgate/config';
import { createDb } from '@calgate/db';
import { Redis } from 'ioredis';
import { listFailedJobs, listNeedsAttention, retryFailedJobs } from './commands.ts';

const USAGE = `Usage: pnpm cli <command> [options]

  jobs:failed [--queue Q]                 list failed jobs (queues: bookings, composite, compensation, webhooks, sync)
  jobs:retry  [--queue Q] [--job ID]      retry failed jobs (all failed jobs of the queue(s) without --job)
  appointments:attention                  list appointments flagged as needing attention
`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { queue: { type: 'string' }, job: { type: 'string' }, help: { type: 'boolean' } },
});
const [command] = positionals;
if (command === undefined || values.help === true) {
  process.stdout.write(USAGE);
  process.exit(command === undefined && values.help !== true ? 1 : 0);
}
if (existsSync('.env')) process.loadEnvFile('.env');
const config = loadConfigOrExit();
const { db, close } = createDb(config.database.url, { max: 1, applicationName: 'calgate-cli' });
const connection = new Redis(config.redis.url, { maxRetriesPerRequest: null });
const context = {
  db,
  connection,
  prefix: config.redis.queuePrefix,
  out: (line: string) => process.stdout.write(`${line}\n`),
};
let code = 0;
try {
  if (command === 'jobs:failed') await listFailedJobs(context, values.queue);
  else if (command === 'jobs:retry') await retryFailedJobs(context, { queue: values.queue, job: values.job });
  else if (command === 'appointments:attention') await listNeedsAttention(context);
  else {
    process.stderr.write(`unknown command ${command}\n${USAGE}`);
    code = 1;
  }
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  code = 1;
} finally {
  await connection.quit();
  await close();
}
process.exit(code);

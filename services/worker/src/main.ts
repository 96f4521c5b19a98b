import { loadConfigOrExit } from '@calgate/config';
import { createLogger } from '@calgate/telemetry';
import { startTelemetry } from '@calgate/telemetry/sdk';
import { startWorkerHost } from './host.ts';

const telemetry = await startTelemetry('calgate-worker');
const config = loadConfigOrExit();
const logger = createLogger({ name: 'worker', level: config.logLevel, personalData: config.logPersonalData });
const host = await startWorkerHost(config, logger);

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'shutting down: finishing active jobs');
  const force = setTimeout(() => {
    logger.error('shutdown took longer than 30 s, exiting; unfinished jobs will be retried');
    process.exit(1);
  }, 30_000).unref();
  await host.close();
  await telemetry.shutdown();
  clearTimeout(force);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

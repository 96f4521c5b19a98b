import { loadConfigOrExit } from '@calgate/config';
import { createLogger } from '@calgate/telemetry';
import { startTelemetry } from '@calgate/telemetry/sdk';
import { buildApp } from './app.ts';
import { createApiDeps } from './deps.ts';

const telemetry = await startTelemetry('calgate-api');
const config = loadConfigOrExit();
const logger = createLogger({ name: 'api', level: config.logLevel, personalData: config.logPersonalData });
for (const warning of config.warnings) logger.warn(warning);
const deps = createApiDeps(config, logger);
const app = await buildApp(deps);

let closing = false;
async function shutdown(signal: string): Promise<void> {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'shutting down');
  const force = setTimeout(() => {
    logger.error('shutdown took longer than 10 s, exiting');
    process.exit(1);
  }, 10_000).unref();
  // Stop taking requests first, then release the connections they used.
  await app.close();
  await deps.close();
  await telemetry.shutdown();
  clearTimeout(force);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

await app.listen({ host: config.http.host, port: config.http.port });

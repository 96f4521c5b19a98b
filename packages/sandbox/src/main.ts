import { startSandbox } from './server.ts';

function intFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`Invalid configuration:\n  - ${name} must be a non-negative integer\n`);
    process.exit(1);
  }
  return value;
}

const sandbox = await startSandbox({
  port: intFrom('SANDBOX_PORT', 5555),
  host: process.env.SANDBOX_HOST ?? '127.0.0.1',
  rateLimitPerMinute: intFrom('SANDBOX_RATE_LIMIT_PER_MINUTE', 120),
  latencyMs: intFrom('SANDBOX_LATENCY_MS', 0),
});
process.stdout.write(
  `Cal.com sandbox listening: CALCOM_BASE_URL=${sandbox.baseUrl} (demo key cal_test_sandbox_demo_key)\n`,
);
const stop = async () => {
  await sandbox.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

export { ensureEnvFile } from './env-file.ts';
export type { DemoCompany } from './seed.ts';
export { seedDemoCompany } from './seed.ts';

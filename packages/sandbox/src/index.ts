export type { SandboxOptions } from './app.ts';
export { createSandboxApp } from './app.ts';
export type { SandboxControl } from './control.ts';
export { mulberry32, pickSeed } from './random.ts';
export { DEMO_API_KEY, demoSeed } from './seed.ts';
export type { RunningSandbox } from './server.ts';
export { startSandbox } from './server.ts';
export type {
  FaultSpec,
  RequestLogEntry,
  SandboxBooking,
  SandboxBookingField,
  SandboxConfirmationPolicy,
  SandboxEventType,
  SandboxOperation,
  SandboxSeed,
  SandboxTeam,
  SandboxUser,
  WebhookDelivery,
} from './types.ts';
export { SANDBOX_OPERATIONS } from './types.ts';

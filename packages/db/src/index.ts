export type { CreateDbOptions, Database } from './client.ts';
export { createDb, schema } from './client.ts';
export {
  decryptSecret,
  encryptSecret,
  generateApiToken,
  hashApiToken,
  parseEncryptionKey,
} from './crypto.ts';
export { newId } from './ids.ts';
export { ensureDatabase, MIGRATIONS_FOLDER, runMigrations } from './migrate.ts';
export type {
  AppointmentSource,
  AppointmentStatus,
  HistoryActor,
  HoldStatus,
  IdempotencyState,
  SegmentStatus,
  ServiceKind,
  ServiceSource,
  SyncKind,
  WebhookStatus,
} from './schema/index.ts';
export {
  APPOINTMENT_SOURCES,
  APPOINTMENT_STATUSES,
  apiTokens,
  appointmentHistory,
  appointmentSegments,
  appointments,
  companies,
  companyEventTypes,
  customers,
  eventTypeMappings,
  HISTORY_ACTORS,
  HOLD_STATUSES,
  holdSegments,
  holds,
  IDEMPOTENCY_STATES,
  idempotencyKeys,
  retiredWebhookSecrets,
  SEGMENT_STATUSES,
  SERVICE_KINDS,
  SERVICE_SOURCES,
  SYNC_KINDS,
  serviceSegments,
  services,
  staff,
  syncState,
  WEBHOOK_STATUSES,
  webhookInbox,
} from './schema/index.ts';

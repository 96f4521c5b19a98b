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
export type { Keyring, SecretBinding, SecretColumn } from './keyring.ts';
export {
  keyringFrom,
  needsReseal,
  openSecret,
  SECRET_COLUMNS,
  sealSecret,
  singleKeyring,
} from './keyring.ts';
export { ensureDatabase, MIGRATIONS_FOLDER, runMigrations } from './migrate.ts';
export { executePrepared, executePreparedOn, executePreparedText } from './prepared.ts';
export type { ResealResult } from './reseal.ts';
export { resealOne, resealSecrets } from './reseal.ts';
export type {
  AppointmentSource,
  AppointmentStatus,
  HistoryActor,
  HistoryEvent,
  HoldStatus,
  IdempotencyState,
  OutboundDeliveryStatus,
  OutboundEventType,
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
  HISTORY_EVENTS,
  HOLD_STATUSES,
  holdSegments,
  holds,
  IDEMPOTENCY_STATES,
  idempotencyKeys,
  OUTBOUND_DELIVERY_STATUSES,
  OUTBOUND_EVENT_TYPES,
  outboundAttempts,
  outboundDeliveries,
  outboundEndpoints,
  outboundEvents,
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
export { storableText } from './text.ts';

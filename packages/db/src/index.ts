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
  customers,
  eventTypeMappings,
  HISTORY_ACTORS,
  IDEMPOTENCY_STATES,
  idempotencyKeys,
  OUTBOUND_DELIVERY_STATUSES,
  OUTBOUND_EVENT_TYPES,
  outboundAttempts,
  outboundDeliveries,
  outboundEndpoints,
  outboundEvents,
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

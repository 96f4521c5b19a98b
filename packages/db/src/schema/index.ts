export { apiTokens } from './api-tokens.ts';
export type { HistoryActor, HistoryEvent } from './appointment-history.ts';
export { appointmentHistory, HISTORY_ACTORS, HISTORY_EVENTS } from './appointment-history.ts';
export type { SegmentStatus } from './appointment-segments.ts';
export { appointmentSegments, SEGMENT_STATUSES } from './appointment-segments.ts';
export type { AppointmentSource, AppointmentStatus } from './appointments.ts';
export { APPOINTMENT_SOURCES, APPOINTMENT_STATUSES, appointments } from './appointments.ts';
export { companies } from './companies.ts';
export { companyEventTypes } from './company-event-types.ts';
export { customers } from './customers.ts';
export { eventTypeMappings } from './event-type-mappings.ts';
export type { HoldStatus } from './holds.ts';
export { HOLD_STATUSES, holdSegments, holds } from './holds.ts';
export type { IdempotencyState } from './idempotency-keys.ts';
export { IDEMPOTENCY_STATES, idempotencyKeys } from './idempotency-keys.ts';
export type { OutboundDeliveryStatus, OutboundEventType } from './outbound-webhooks.ts';
export {
  OUTBOUND_DELIVERY_STATUSES,
  OUTBOUND_EVENT_TYPES,
  outboundAttempts,
  outboundDeliveries,
  outboundEndpoints,
  outboundEvents,
} from './outbound-webhooks.ts';
export { retiredWebhookSecrets } from './retired-webhook-secrets.ts';
export { serviceSegments } from './service-segments.ts';
export type { ServiceKind, ServiceSource } from './services.ts';
export { SERVICE_KINDS, SERVICE_SOURCES, services } from './services.ts';
export { staff } from './staff.ts';
export type { SyncKind } from './sync-state.ts';
export { SYNC_KINDS, syncState } from './sync-state.ts';
export type { WebhookStatus } from './webhook-inbox.ts';
export { WEBHOOK_STATUSES, webhookInbox } from './webhook-inbox.ts';

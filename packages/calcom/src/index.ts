export type { CalcomClient, CallOptions } from './client.ts';
export { createCalcomClient } from './client.ts';
export { CalcomError, classifyCalcomError, isAlreadyCancelled, parseErrorBody } from './errors.ts';
export type { CalcomOperation } from './operations.ts';
export { API_VERSIONS, CALCOM_OPERATIONS } from './operations.ts';
export { calcomCalendarProvider } from './provider.ts';
export type { RateLimitInfo } from './rate-limit.ts';
export { readRateLimit } from './rate-limit.ts';
export { keyFingerprint, redact } from './redact.ts';
export type {
  Booking,
  CalcomLanguage,
  CreateBookingInput,
  CreateEventTypeInput,
  CreateWebhookInput,
  EventType,
  ListBookingsFilters,
  Me,
  Pagination,
  Reservation,
  SlotsMap,
  Team,
  TeamMembership,
  Webhook,
} from './schemas.ts';
export { CALCOM_LANGUAGES } from './schemas.ts';
export { signCalcomPayload, verifyCalcomSignature } from './signature.ts';
export type {
  CalcomClientOptions,
  CalcomLogger,
  CalcomTransport,
  RequestContext,
  ResponseContext,
} from './transport.ts';
export { createCalcomTransport } from './transport.ts';
export type { CalcomWebhook, NormalisedWebhookBooking } from './webhook-payload.ts';
export { normaliseTrigger, parseCalcomWebhook, peekCalcomWebhook } from './webhook-payload.ts';

export { assertTimeZone, formatInZone, isValidTimeZone } from '@calgate/time';
export { ALL_COMPANIES, announceAuthChange, listenForAuthChanges } from './accounts/auth-changes.ts';
export type { CalcomAccess, CalcomAccessOptions, CompanyKeySource } from './accounts/calcom-access.ts';
export { createCalcomAccess } from './accounts/calcom-access.ts';
export { createApiToken, createCompany, setCompanySecrets } from './accounts/companies.ts';
export type { CalcomHealth } from './accounts/health.ts';
export { calcomHealth, countMappedEventTypes } from './accounts/health.ts';
export type { CompanyScope } from './accounts/scope.ts';
export {
  assignEventTypes,
  changeEventTypeScope,
  companyScope,
  eventTypeInScope,
  scopeContains,
  scopeEventTypes,
  sharedAccountOwner,
  unassignEventTypes,
} from './accounts/scope.ts';
export type { WebhookSettings } from './accounts/webhook-registration.ts';
export {
  registerWebhook,
  rotateWebhookSecret,
  subscriberUrlFor,
  WEBHOOK_PATH,
  WEBHOOK_SECRET_OVERLAP_MS,
} from './accounts/webhook-registration.ts';
export { HANDLED_TRIGGERS } from './accounts/webhook-triggers.ts';
export type { CatalogResult } from './admin/catalog-apply.ts';
export { applyCatalog } from './admin/catalog-apply.ts';
export type { CatalogChange } from './admin/catalog-diff.ts';
export { formatCatalogChanges } from './admin/catalog-diff.ts';
export type { Catalog } from './admin/catalog-file.ts';
export { catalogSchema, parseCatalog } from './admin/catalog-file.ts';
export type { CompanyView, TokenView } from './admin/companies.ts';
export {
  adminCreateCompany,
  getCompany,
  issueToken,
  listCompanies,
  listTokens,
  revokeToken,
  setCompanyDisabled,
  updateCompany,
} from './admin/companies.ts';
export type { EventTypeMemo, Mismatch } from './admin/event-types.ts';
export { findCompanyEventType } from './admin/event-types.ts';
export type { MappingInput } from './admin/mappings.ts';
export { deleteMapping, saveMapping } from './admin/mappings.ts';
export { createAdminService, updateAdminService } from './admin/service-changes.ts';
export type { MappingView, SegmentInput, ServiceInput, ServiceView } from './admin/services.ts';
export { getAdminService, listAdminServices } from './admin/services.ts';
export type { StaffInput, StaffView } from './admin/staff.ts';
export { createStaff, listStaff, updateStaff } from './admin/staff.ts';
export type { CustomerInput } from './appointments/customers/intake.ts';
export type { PhoneNormalisation } from './appointments/customers/normalize-stored.ts';
export { normaliseStoredPhones } from './appointments/customers/normalize-stored.ts';
export { normalizePhone } from './appointments/customers/phone.ts';
export type { OutcomeNotifier, OutcomeWaiter } from './appointments/outcomes.ts';
export { createOutcomeNotifier, createOutcomeWaiter, parsePreferWait } from './appointments/outcomes.ts';
export type { AppointmentView } from './appointments/views.ts';
export { getAppointmentView, loadAppointment } from './appointments/views.ts';
export type { AvailabilityQuery, AvailabilitySlot, AvailabilityView } from './availability/availability.ts';
export { getAvailability } from './availability/availability.ts';
export type { CompositeSlot, SegmentAvailability } from './availability/composite-slots.ts';
export { combineSegments, segmentOffsets } from './availability/composite-slots.ts';
export { mergeStaffSlots, nearestAlternatives } from './availability/simple-slots.ts';
export type { SlotCacheOptions, SlotsClient } from './availability/slot-cache.ts';
export { SlotCache } from './availability/slot-cache.ts';
export type { SlotMirrorOptions } from './availability/slot-mirror.ts';
export { SlotMirror } from './availability/slot-mirror.ts';
export { MAX_WINDOW_DAYS, readWindow } from './availability/window.ts';
export {
  completeIdempotencyKey,
  IDEMPOTENCY_TTL_MS,
  IN_FLIGHT_LEASE_MS,
  requestFingerprint,
  settleKeyInBackground,
  validateIdempotencyKey,
} from './bookings/idempotency.ts';
export type { BookingAccepted, BookingRequest } from './bookings/intake-shared.ts';
export { failBookSegment, processBookSegment } from './bookings/process-book-segment.ts';
export { failCancelBooking, processCancelBooking } from './bookings/process-cancel.ts';
export { failCompensate, processCompensate } from './bookings/process-compensate.ts';
export { failCreateBooking, processCreateBooking } from './bookings/process-create.ts';
export { processFinalize } from './bookings/process-finalize.ts';
export {
  failRescheduleBooking,
  processRescheduleBooking,
  rescheduleTarget,
} from './bookings/process-reschedule.ts';
export { requestBooking } from './bookings/request-booking.ts';
export type { ChangeAccepted, RescheduleRequest } from './bookings/request-changes.ts';
export { requestCancel, requestReschedule } from './bookings/request-changes.ts';
export { sweepStuckAppointments } from './bookings/sweeper.ts';
export type { CounterName, Counters } from './counters.ts';
export { COUNTERS, createCounters } from './counters.ts';
export type { DomainDeps } from './deps.ts';
export type { HoldRequest, HoldSettings } from './holds/create-hold.ts';
export { createHold, MAX_HOLD_TTL_SECONDS } from './holds/create-hold.ts';
export { processReleaseHold, releaseHold, sweepExpiredHolds } from './holds/release-hold.ts';
export type { HoldView } from './holds/views.ts';
export { getHoldView } from './holds/views.ts';
export type {
  AppointmentFilters,
  AppointmentPage,
  AppointmentSummary,
} from './lookup/find-appointments.ts';
export {
  DEFAULT_PAGE_SIZE,
  findAppointments,
  findAppointmentsQuery,
  MAX_APPOINTMENT_HOURS,
  MAX_PAGE_SIZE,
} from './lookup/find-appointments.ts';
export type { CustomerWithUpcoming } from './lookup/find-customers.ts';
export { findCustomers, UPCOMING_PER_CUSTOMER } from './lookup/find-customers.ts';
export type { RetentionPolicy, RetentionResult } from './maintenance/retention.ts';
export { purgeExpired } from './maintenance/retention.ts';
export { observeCalcom, observeCounters } from './metrics-bridge.ts';
export { isPrivateAddress } from './outbound/address-guard.ts';
export { failDelivery, processDelivery } from './outbound/deliver-job.ts';
export type { EndpointChange, EndpointInput, EndpointView, OutboundDeps } from './outbound/endpoints.ts';
export {
  createEndpoint,
  deleteEndpoint,
  endpointView,
  listEndpoints,
  loadEndpoint,
  updateEndpoint,
} from './outbound/endpoints.ts';
export type { PostOutcome } from './outbound/http-post.ts';
export { postWebhook } from './outbound/http-post.ts';
export type { RelayResult } from './outbound/relay-job.ts';
export { processRelay, sweepOutboundDeliveries } from './outbound/relay-job.ts';
export type { DeliveryView } from './outbound/requeue.ts';
export { listDeliveries, resendDeliveries } from './outbound/requeue.ts';
export type { RotatedSecret } from './outbound/secret-rotation.ts';
export {
  DEFAULT_OVERLAP_HOURS,
  MAX_OVERLAP_HOURS,
  rotateEndpointSecret,
} from './outbound/secret-rotation.ts';
export type { VerifyOptions } from './outbound/signature.ts';
export { generateSigningSecret, signatureHeader, signWebhook, verifyWebhook } from './outbound/signature.ts';
export type { ServiceDefinition } from './services/catalog.ts';
export { listServices, loadService } from './services/catalog.ts';
export type { ApplyContext, ApplyResult } from './sync/apply-booking.ts';
export { applyObservedBooking } from './sync/apply-booking.ts';
export type { Drift, EventTypeSyncResult } from './sync/event-types.ts';
export {
  companyIds,
  createServiceWithEventType,
  syncEventTypes,
} from './sync/event-types.ts';
export type { ObservedBooking } from './sync/observed.ts';
export { observeApiBooking, observeWebhook } from './sync/observed.ts';
export type { ReconcileResult } from './sync/reconcile.ts';
export { reconcileBookings } from './sync/reconcile.ts';
export type { TeamImportResult } from './sync/team-import.ts';
export { importTeamMembers } from './sync/team-import.ts';
export type { AcceptedWebhook, WebhookSecrets } from './sync/webhook-inbox.ts';
export {
  acceptWebhook,
  failWebhook,
  forgetWebhookSecrets,
  processWebhook,
  sweepWebhookInbox,
} from './sync/webhook-inbox.ts';
export { drainWebhookSpill } from './sync/webhook-spill.ts';

/** The metadata key that ties a Cal.com booking to our appointment (or segment). */
export const METADATA_KEY = 'calgateId';

/** Metadata on every segment booking: our segment id (the lookup key) plus appointment and generation. */
export const APPOINTMENT_KEY = 'calgateAppointmentId';
export const GENERATION_KEY = 'calgateGeneration';

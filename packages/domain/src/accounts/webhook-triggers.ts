/** A booking's status as Cal.com reports it. */
export type ObservedStatus = 'accepted' | 'pending' | 'cancelled' | 'rejected' | 'completed';

/** The triggers we act on, and the booking status each one reports. */
export const TRIGGER_STATUS: Record<string, ObservedStatus> = {
  BOOKING_CREATED: 'accepted',
  BOOKING_RESCHEDULED: 'accepted',
  BOOKING_CANCELLED: 'cancelled',
  BOOKING_REQUESTED: 'pending',
  BOOKING_REJECTED: 'rejected',
  MEETING_ENDED: 'completed',
};

export const HANDLED_TRIGGERS = Object.keys(TRIGGER_STATUS);

import { mkdirSync, writeFileSync } from 'node:fs';
import { appointmentHistory, appointmentSegments, appointments } from '@calgate/db';
import type { WebhookDelivery } from '@calgate/sandbox';
import { inArray } from 'drizzle-orm';
import type { Gateway } from '../support/gateway.ts';

const TERMINAL = new Set(['confirmed', 'failed', 'cancelled', 'rejected', 'completed']);

/** Waits until no appointment is pending, rescheduling or cancelling. */
export async function drain(gw: Gateway, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await gw.database.db.select({ status: appointments.status }).from(appointments);
    const open = rows.filter((r) => !TERMINAL.has(r.status)).length;
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${open} appointment(s) still not terminal`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface Consistency {
  appointments: number;
  byStatus: Record<string, number>;
  /** Every booking Cal.com (the sandbox) ever made, cancelled and rescheduled-away ones included. */
  calcomBookingsMade: number;
  /** Of those, made by a create (the rest by a reschedule, which replaces a booking). */
  calcomBookingsCreated: number;
  sandboxAccepted: number;
  /** Accepted Cal.com bookings that no confirmed appointment (or its current segment) owns. */
  orphans: string[];
  /**
   * Appointments or segments (one per generation) for which Cal.com created more than one booking,
   * even if the extra one was cancelled later (the customer still got its emails), or which hold
   * more than one live booking.
   */
  duplicates: string[];
  /** Confirmed appointments (or segments) without their accepted Cal.com booking. */
  missing: string[];
  notTerminal: number;
}

type AppointmentRow = typeof appointments.$inferSelect;
type SegmentRow = typeof appointmentSegments.$inferSelect;

/** Our appointments and segments, with each appointment's current generation. */
async function loadRecords(gw: Gateway): Promise<{
  rows: AppointmentRow[];
  segments: SegmentRow[];
  generation: Map<string, number>;
}> {
  const db = gw.database.db;
  const rows = await db.select().from(appointments);
  const segments = rows.length === 0 ? [] : await db.select().from(appointmentSegments);
  const history =
    rows.length === 0
      ? []
      : await db
          .select({
            id: appointmentHistory.appointmentId,
            event: appointmentHistory.event,
            data: appointmentHistory.data,
          })
          .from(appointmentHistory)
          .where(inArray(appointmentHistory.event, ['confirmed', 'rescheduled']));
  const generation = new Map<string, number>();
  for (const h of history) {
    const g = (h.data as { generation?: unknown }).generation;
    if (typeof g === 'number') generation.set(h.id, Math.max(generation.get(h.id) ?? 0, g));
  }
  return { rows, segments, generation };
}

/**
 * Compares Postgres with what the sandbox holds: every accepted Cal.com booking belongs to exactly
 * one confirmed appointment (or one segment of its current generation), every confirmed
 * appointment has its bookings, and Cal.com never created a second booking for one of our ids.
 */
export async function checkConsistency(gw: Gateway): Promise<Consistency> {
  const { rows, segments, generation } = await loadRecords(gw);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const segmentById = new Map(segments.map((s) => [s.id, s]));
  const made = gw.sandbox.control.bookings();
  const accepted = made.filter((b) => b.status === 'accepted');
  const owners = new Map<string, string[]>();
  const orphans: string[] = [];
  for (const booking of accepted) {
    const ourId = booking.metadata.calgateId;
    if (ourId === undefined) continue;
    owners.set(ourId, [...(owners.get(ourId) ?? []), booking.uid]);
    const segment = segmentById.get(ourId);
    if (segment !== undefined) {
      const appointment = byId.get(segment.appointmentId);
      const current = (generation.get(segment.appointmentId) ?? 0) === segment.generation;
      const owned =
        appointment?.status === 'confirmed' &&
        current &&
        segment.status === 'booked' &&
        segment.calcomBookingUid === booking.uid;
      if (!owned) orphans.push(`${booking.uid} (segment ${ourId}, appointment ${appointment?.status})`);
      continue;
    }
    const appointment = byId.get(ourId);
    if (appointment?.status !== 'confirmed' || appointment.calcomBookingUid !== booking.uid) {
      orphans.push(`${booking.uid} (appointment ${ourId}, ${appointment?.status ?? 'unknown'})`);
    }
  }
  // A reschedule in Cal.com makes a new booking that names the one it replaces; every other booking
  // carrying one of our ids was a create, and each id (an appointment, or a segment of one
  // generation) is created exactly once.
  const creates = new Map<string, number>();
  for (const booking of made) {
    const ourId = booking.metadata.calgateId;
    if (ourId === undefined || booking.rescheduledFromUid !== null) continue;
    creates.set(ourId, (creates.get(ourId) ?? 0) + 1);
  }
  const duplicates = [...new Set([...creates.keys(), ...owners.keys()])]
    .filter((id) => (creates.get(id) ?? 0) > 1 || (owners.get(id)?.length ?? 0) > 1)
    .map((id) => `${id}: ${creates.get(id) ?? 0} created, ${owners.get(id)?.length ?? 0} live`);
  const acceptedUids = new Set(accepted.map((b) => b.uid));
  const missing: string[] = [];
  for (const row of rows) {
    if (row.status !== 'confirmed') continue;
    if (row.compositeGroupUid === null) {
      if (row.calcomBookingUid === null || !acceptedUids.has(row.calcomBookingUid)) missing.push(row.id);
      continue;
    }
    const current = generation.get(row.id) ?? 0;
    const mine = segments.filter((s) => s.appointmentId === row.id && s.generation === current);
    if (
      mine.length === 0 ||
      mine.some((s) => s.calcomBookingUid === null || !acceptedUids.has(s.calcomBookingUid))
    ) {
      missing.push(row.id);
    }
  }
  const byStatus: Record<string, number> = {};
  for (const row of rows) byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
  return {
    appointments: rows.length,
    byStatus,
    calcomBookingsMade: made.length,
    calcomBookingsCreated: made.filter((b) => b.rescheduledFromUid === null).length,
    sandboxAccepted: accepted.length,
    orphans,
    duplicates,
    missing,
    notTerminal: rows.filter((r) => !TERMINAL.has(r.status)).length,
  };
}

export interface DroppedChanges {
  /** Deliveries the sandbox dropped, by trigger. */
  dropped: Record<string, number>;
  /** Uids of the bookings whose deliveries were dropped. */
  uids: string[];
  /** Dropped changes our database does not reflect (empty when every one was applied). */
  unapplied: string[];
}

/**
 * Checks that our database shows what every dropped webhook delivery would have told us. Cal.com
 * is the source of truth: for each dropped delivery, the booking it was about is followed along its
 * reschedules to the chain's latest booking. If that one is accepted, a confirmed appointment (or
 * a booked segment of a confirmed appointment's current generation) holds it, at its time; if it
 * was cancelled, nothing confirmed holds it any more.
 */
export async function checkDroppedChanges(gw: Gateway): Promise<DroppedChanges> {
  const { rows, segments, generation } = await loadRecords(gw);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const sandbox = new Map(gw.sandbox.control.bookings().map((b) => [b.uid, b]));
  const deliveries = gw.sandbox.control.state().deliveries as WebhookDelivery[];
  const dropped: Record<string, number> = {};
  const uids: string[] = [];
  const unapplied: string[] = [];
  for (const delivery of deliveries) {
    if (!delivery.dropped) continue;
    dropped[delivery.trigger] = (dropped[delivery.trigger] ?? 0) + 1;
    uids.push(delivery.uid);
    let head = sandbox.get(delivery.uid);
    while (head?.rescheduledToUid != null) head = sandbox.get(head.rescheduledToUid);
    const what = `${delivery.trigger} ${delivery.uid}`;
    if (head === undefined) {
      unapplied.push(`${what}: not in the sandbox`);
      continue;
    }
    const appointment = rows.find((r) => r.calcomBookingUid === head.uid);
    const segment = segments.find((s) => {
      if (s.calcomBookingUid !== head.uid || s.status !== 'booked') return false;
      const owner = byId.get(s.appointmentId);
      return owner?.status === 'confirmed' && (generation.get(owner.id) ?? 0) === s.generation;
    });
    if (head.status === 'accepted') {
      const held =
        (appointment?.status === 'confirmed' && appointment.startsAt.getTime() === head.start) ||
        (segment !== undefined && segment.startsAt.getTime() === head.start);
      if (!held) {
        unapplied.push(
          `${what}: ${head.uid} is accepted in Cal.com, ours is ${appointment?.status ?? 'not recorded'}`,
        );
      }
    } else if (appointment?.status === 'confirmed' || segment !== undefined) {
      unapplied.push(`${what}: ${head.uid} is ${head.status} in Cal.com, still confirmed here`);
    }
  }
  return { dropped, uids, unapplied };
}

/** Prints a scenario's line of figures and keeps it for docs/reliability.md. */
export function report(scenario: string, figures: Record<string, unknown>): void {
  const line = Object.entries(figures)
    .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(' ');
  process.stdout.write(`[reliability] ${scenario}: ${line}\n`);
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    new URL(`${scenario}.json`, dir),
    `${JSON.stringify({ scenario, at: new Date().toISOString(), ...figures }, null, 2)}\n`,
  );
}

export { freePort, pool, throwawayRedis } from '@calgate/testkit';

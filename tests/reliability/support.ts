import { mkdirSync, writeFileSync } from 'node:fs';
import { appointmentHistory, appointmentSegments, appointments } from '@calgate/db';
import { pickSeed, type WebhookDelivery } from '@calgate/sandbox';
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
 * Checks that our database shows what Cal.com says about each of these bookings. Cal.com is the
 * source of truth: each booking is followed along its reschedules to the chain's latest booking.
 * If that one is accepted, a confirmed appointment (or a booked segment of a confirmed
 * appointment's current generation) holds it, at its time; if it was cancelled, nothing confirmed
 * holds it any more. Returns what is not reflected.
 */
export async function checkChangesApplied(gw: Gateway, uids: string[]): Promise<string[]> {
  const { rows, segments, generation } = await loadRecords(gw);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const sandbox = new Map(gw.sandbox.control.bookings().map((b) => [b.uid, b]));
  const unapplied: string[] = [];
  for (const uid of uids) {
    let head = sandbox.get(uid);
    while (head?.rescheduledToUid != null) head = sandbox.get(head.rescheduledToUid);
    if (head === undefined) {
      unapplied.push(`${uid}: not in the sandbox`);
      continue;
    }
    const latest = head;
    const appointment = rows.find((r) => r.calcomBookingUid === latest.uid);
    const segment = segments.find((s) => {
      if (s.calcomBookingUid !== latest.uid || s.status !== 'booked') return false;
      const owner = byId.get(s.appointmentId);
      return owner?.status === 'confirmed' && (generation.get(owner.id) ?? 0) === s.generation;
    });
    if (latest.status === 'accepted') {
      const held =
        (appointment?.status === 'confirmed' && appointment.startsAt.getTime() === latest.start) ||
        (segment !== undefined && segment.startsAt.getTime() === latest.start);
      if (!held) {
        unapplied.push(
          `${uid}: ${latest.uid} is accepted in Cal.com, ours is ${appointment?.status ?? 'not recorded'}`,
        );
      }
    } else if (appointment?.status === 'confirmed' || segment !== undefined) {
      unapplied.push(`${uid}: ${latest.uid} is ${latest.status} in Cal.com, still confirmed here`);
    }
  }
  return unapplied;
}

/** Checks that every change whose webhook delivery the sandbox dropped was applied all the same. */
export async function checkDroppedChanges(gw: Gateway): Promise<DroppedChanges> {
  const deliveries = gw.sandbox.control.state().deliveries as WebhookDelivery[];
  const dropped: Record<string, number> = {};
  const uids: string[] = [];
  for (const delivery of deliveries) {
    if (!delivery.dropped) continue;
    dropped[delivery.trigger] = (dropped[delivery.trigger] ?? 0) + 1;
    uids.push(delivery.uid);
  }
  return { dropped, uids, unapplied: await checkChangesApplied(gw, uids) };
}

/**
 * The seed of a scenario's random faults: `RELIABILITY_SEED` replays a run, otherwise a fresh one
 * (which the scenario prints in its results line and on failure).
 */
export function scenarioSeed(): number {
  const raw = process.env.RELIABILITY_SEED;
  if (raw === undefined || raw.trim() === '') return pickSeed();
  const seed = Number(raw);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new Error(`RELIABILITY_SEED must be an integer from 0 to 4294967295, not ${raw}`);
  }
  return seed;
}

/** The most calls in any 60 s of a request log (by the time each call reached the sandbox). */
export function busiestMinute(calls: Array<{ at: number }>, windowMs = 60_000): number {
  const times = calls.map((c) => c.at).sort((a, b) => a - b);
  let busiest = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while ((times[end] as number) - (times[start] as number) >= windowMs) start++;
    busiest = Math.max(busiest, end - start + 1);
  }
  return busiest;
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

import { mkdirSync, writeFileSync } from 'node:fs';
import { appointmentHistory, appointmentSegments, appointments } from '@calgate/db';
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
  sandboxAccepted: number;
  /** Accepted Cal.com bookings that no confirmed appointment (or its current segment) owns. */
  orphans: string[];
  /** Appointments or segments with more than one accepted Cal.com booking. */
  duplicates: string[];
  /** Confirmed appointments (or segments) without their accepted Cal.com booking. */
  missing: string[];
  notTerminal: number;
}

/**
 * Compares Postgres with what the sandbox holds: every accepted Cal.com booking belongs to exactly
 * one confirmed appointment (or one segment of its current generation), and every confirmed
 * appointment has its bookings.
 */
export async function checkConsistency(gw: Gateway): Promise<Consistency> {
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
  const byId = new Map(rows.map((r) => [r.id, r]));
  const segmentById = new Map(segments.map((s) => [s.id, s]));
  const accepted = gw.sandbox.control.bookings().filter((b) => b.status === 'accepted');
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
  const duplicates = [...owners.entries()].filter(([, uids]) => uids.length > 1).map(([id]) => id);
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
    sandboxAccepted: accepted.length,
    orphans,
    duplicates,
    missing,
    notTerminal: rows.filter((r) => !TERMINAL.has(r.status)).length,
  };
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

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  normaliseTrigger,
  parseCalcomWebhook,
  signCalcomPayload,
  verifyCalcomSignature,
} from '../src/index.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../contract/webhooks/${name}`, import.meta.url), 'utf8');
const compact = (name: string) => JSON.stringify(JSON.parse(fixture(name)));
const SECRET = 'test-webhook-secret';

describe('webhook signatures', () => {
  it.each([
    ['booking-created.json', '1efea671edf7315b605f8f1fc0ef25ff9b9c594ff6b4fde312aca1a0277ae45d', 2725],
    ['booking-rescheduled.json', 'b5daecadcbe3a37ce41a7be055131eb01180665a36097fdf45bd405df8d06e2a', 2927],
    ['booking-cancelled.json', 'fd4900133a63314b2072d24b5eff79d854d8ec78b96721b192f5d8bb5ad9a2a6', 1942],
  ])('match the contract test vector for %s', (name, hex, bytes) => {
    const body = Buffer.from(compact(name), 'utf8');
    expect(body.length).toBe(bytes);
    expect(signCalcomPayload(body, SECRET)).toBe(hex);
    expect(verifyCalcomSignature(body, hex, SECRET)).toBe(true);
    expect(verifyCalcomSignature(body, `sha256=${hex}`, SECRET)).toBe(true);
    expect(verifyCalcomSignature(body, hex.toUpperCase(), SECRET)).toBe(true);
  });

  it('fail for a changed byte, another secret, re-serialised JSON and garbage', () => {
    const body = Buffer.from(compact('booking-created.json'), 'utf8');
    const hex = signCalcomPayload(body, SECRET);
    const changed = Buffer.from(body);
    changed[10] = (changed[10] ?? 0) ^ 1;
    expect(verifyCalcomSignature(changed, hex, SECRET)).toBe(false);
    expect(verifyCalcomSignature(body, hex, 'other-secret')).toBe(false);
    // The pretty-printed file is the same JSON but not the same bytes.
    expect(verifyCalcomSignature(fixture('booking-created.json'), hex, SECRET)).toBe(false);
    for (const header of [
      undefined,
      '',
      'sha256=',
      'zz',
      hex.slice(0, 63),
      `${hex}00`,
      'no-secret-provided',
    ]) {
      expect(verifyCalcomSignature(body, header, SECRET)).toBe(false);
    }
    expect(verifyCalcomSignature(body, hex, '')).toBe(false);
  });
});

describe('webhook payloads', () => {
  it('normalise the real-format fixtures', () => {
    const created = parseCalcomWebhook(JSON.parse(fixture('booking-created.json')));
    expect(created.trigger).toBe('BOOKING_CREATED');
    expect(created.booking).toMatchObject({
      uid: '4hTrP8wWb1Ukq2VxGcZ9sN',
      bookingId: 9182734,
      eventTypeId: 318552,
      start: '2026-03-17T09:00:00.000Z',
      status: 'ACCEPTED',
      metadata: { requestId: 'req_01HZX4T9Q2M8K7C3B5N6P1R0VW' },
    });
    const rescheduled = parseCalcomWebhook(JSON.parse(fixture('booking-rescheduled.json')));
    expect(rescheduled.booking).toMatchObject({
      uid: '9QmVx2LrT7cYbN4kPfHs1e',
      rescheduleUid: '4hTrP8wWb1Ukq2VxGcZ9sN',
    });
    const cancelled = parseCalcomWebhook(JSON.parse(fixture('booking-cancelled.json')));
    expect(cancelled.booking).toMatchObject({
      status: 'CANCELLED',
      start: '2026-03-19T13:00:00.000Z',
      cancellationReason: 'Customer no longer needs the session',
    });
  });

  it('read the flat MEETING_ENDED shape and dotted trigger names', () => {
    const flat = parseCalcomWebhook({
      triggerEvent: 'MEETING_ENDED',
      uid: 'abc',
      startTime: '2026-03-17T09:00:00+00:00',
      endTime: '2026-03-17T09:30:00+00:00',
    });
    expect(flat.booking?.uid).toBe('abc');
    expect(flat.booking?.end).toBe('2026-03-17T09:30:00.000Z');
    expect(normaliseTrigger('booking.created')).toBe('BOOKING_CREATED');
    expect(() => parseCalcomWebhook({ nope: true })).toThrow();
  });
});

import { readFileSync } from 'node:fs';
import { parseCalcomWebhook } from '@calgate/calcom';
import { describe, expect, it } from 'vitest';
import { observeWebhook } from '../src/index.ts';

const created = JSON.parse(
  readFileSync(new URL('../../calcom/contract/webhooks/booking-created.json', import.meta.url), 'utf8'),
) as { payload: { attendees: Array<Record<string, unknown>> } };

function withAttendee(attendee: Record<string, unknown>) {
  const first = created.payload.attendees[0] ?? {};
  return parseCalcomWebhook({
    ...created,
    payload: { ...created.payload, attendees: [{ ...first, ...attendee }] },
  });
}

describe('the customer seen in a Cal.com webhook', () => {
  it('is the phone alone for a phone-only attendee, never the placeholder email', () => {
    const observed = observeWebhook(
      withAttendee({ name: 'Wanda', email: '4915144445555@sms.cal.com', phoneNumber: '+4915144445555' }),
    );
    expect(observed).toMatchObject({ attendee: { name: 'Wanda', email: null, phone: '+4915144445555' } });
  });

  it('takes the phone from the placeholder when the payload carries no phoneNumber', () => {
    const observed = observeWebhook(
      withAttendee({ name: '', email: '4915144445555@sms.cal.com', phoneNumber: null }),
    );
    expect(observed).toMatchObject({
      attendee: { email: null, phone: '+4915144445555', name: '+4915144445555' },
    });
  });

  it('keeps a real email, with the phone when there is one', () => {
    const observed = observeWebhook(
      withAttendee({ email: 'ada@example.org', phoneNumber: '+4915112345678' }),
    );
    expect(observed).toMatchObject({ attendee: { email: 'ada@example.org', phone: '+4915112345678' } });
  });
});

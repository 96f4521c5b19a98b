import { describe, expect, it } from 'vitest';
import { type ProviderId, storableId, storedEventTypeId } from '../src/index.ts';

describe('provider ids at the storage boundary', () => {
  it('stores an id read back from an integer column as the same integer', () => {
    expect(storableId(storedEventTypeId(102))).toBe(102);
  });

  it('refuses to store an id that is not an integer, naming no value', () => {
    const textual = 'evt_abc' as unknown as ProviderId<'eventType'>;
    expect(() => storableId(textual)).toThrow(expect.objectContaining({ code: 'INTERNAL', retry: false }));
    expect(() => storableId(1.5 as unknown as ProviderId<'eventType'>)).toThrow(/not an integer/);
  });
});

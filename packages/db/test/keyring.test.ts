import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  encryptSecret,
  keyringFrom,
  needsReseal,
  openSecret,
  SECRET_COLUMNS,
  sealSecret,
  singleKeyring,
} from '../src/index.ts';

const hex = () => randomBytes(32).toString('hex');
const where = { companyId: 'cmp_a', column: SECRET_COLUMNS.calcomApiKey };

describe('secrets bound to their company and column', () => {
  const keyring = singleKeyring(randomBytes(32));

  it('round-trip, naming the key version, never holding the plain text', () => {
    const stored = sealSecret('cal_live_abcdef123456', keyring, where);
    expect(stored.startsWith('v2.1.')).toBe(true);
    expect(stored).not.toContain('cal_live');
    expect(openSecret(stored, keyring, where)).toBe('cal_live_abcdef123456');
    expect(sealSecret('same', keyring, where)).not.toBe(sealSecret('same', keyring, where));
  });

  it('do not open when moved to another company or another column', () => {
    const stored = sealSecret('cal_live_abcdef123456', keyring, where);
    expect(() => openSecret(stored, keyring, { ...where, companyId: 'cmp_b' })).toThrow(/another company/);
    expect(() =>
      openSecret(stored, keyring, { ...where, column: SECRET_COLUMNS.calcomWebhookSecret }),
    ).toThrow(/another company or column/);
  });

  it('do not open when the version in the value is changed', () => {
    const two = keyringFrom({ currentVersion: 2, keys: [{ version: 2, key: hex() }] });
    const stored = sealSecret('secret', two, where);
    const [, , ...rest] = stored.split('.');
    const relabelled = keyringFrom({
      currentVersion: 2,
      keys: [
        { version: 2, key: (two.keys.get(2) as Buffer).toString('hex') },
        { version: 3, key: (two.keys.get(2) as Buffer).toString('hex') },
      ],
    });
    expect(() => openSecret(['v2', '3', ...rest].join('.'), relabelled, where)).toThrow(
      /cannot be decrypted/,
    );
  });
});

describe('a keyring of several versions', () => {
  const oldKey = hex();
  const newKey = hex();
  const before = keyringFrom({ currentVersion: 1, keys: [{ version: 1, key: oldKey }] });
  const after = keyringFrom({
    currentVersion: 2,
    keys: [
      { version: 2, key: newKey },
      { version: 1, key: oldKey },
    ],
  });

  it('opens values of every version it holds and seals under the current one', () => {
    const old = sealSecret('s3cret', before, where);
    expect(openSecret(old, after, where)).toBe('s3cret');
    expect(needsReseal(old, after)).toBe(true);
    const fresh = sealSecret('s3cret', after, where);
    expect(fresh.startsWith('v2.2.')).toBe(true);
    expect(needsReseal(fresh, after)).toBe(false);
  });

  it('still reads the first, unbound format under any key it holds, and marks it for re-encryption', () => {
    const legacy = encryptSecret('legacy-secret', Buffer.from(oldKey, 'hex'));
    expect(openSecret(legacy, after, where)).toBe('legacy-secret');
    expect(needsReseal(legacy, after)).toBe(true);
  });

  it('names a missing key version instead of failing obscurely', () => {
    const onlyNew = keyringFrom({ currentVersion: 2, keys: [{ version: 2, key: newKey }] });
    expect(() => openSecret(sealSecret('x', before, where), onlyNew, where)).toThrow(/key version 1/);
    expect(() => keyringFrom({ currentVersion: 3, keys: [{ version: 1, key: oldKey }] })).toThrow(
      /version 3 is current but has no key/,
    );
  });
});

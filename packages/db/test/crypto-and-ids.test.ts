import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decryptSecret,
  encryptSecret,
  generateApiToken,
  hashApiToken,
  newId,
  parseEncryptionKey,
} from '../src/index.ts';

describe('secrets at rest', () => {
  const key = randomBytes(32);

  it('round-trip, and never store the plain text', () => {
    const stored = encryptSecret('cal_live_abcdef123456', key);
    expect(stored).not.toContain('cal_live');
    expect(stored.startsWith('v1.')).toBe(true);
    expect(decryptSecret(stored, key)).toBe('cal_live_abcdef123456');
    expect(encryptSecret('same', key)).not.toBe(encryptSecret('same', key));
  });

  it('refuse a tampered value and a wrong key', () => {
    const stored = encryptSecret('secret', key);
    const parts = stored.split('.');
    const tampered = [parts[0], parts[1], parts[2], Buffer.from('x').toString('base64url')].join('.');
    expect(() => decryptSecret(tampered, key)).toThrow(/cannot be decrypted/);
    expect(() => decryptSecret(stored, randomBytes(32))).toThrow(/cannot be decrypted/);
    expect(() => decryptSecret('garbage', key)).toThrow(/unknown format/);
  });

  it('read keys as hex or base64 and reject anything else', () => {
    expect(parseEncryptionKey('ab'.repeat(32))).toHaveLength(32);
    expect(parseEncryptionKey(randomBytes(32).toString('base64'))).toHaveLength(32);
    expect(() => parseEncryptionKey('short')).toThrow(/SECRETS_ENCRYPTION_KEY/);
  });
});

describe('API tokens', () => {
  it('are random, hashed with SHA-256, and shown by prefix only', () => {
    const a = generateApiToken();
    const b = generateApiToken();
    expect(a.token).toMatch(/^cgt_[0-9A-Za-z]{32}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.hash).toBe(hashApiToken(a.token));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.token.startsWith(a.prefix)).toBe(true);
  });
});

describe('ids', () => {
  it('carry their prefix, fit BullMQ job ids, and sort by creation time', async () => {
    const first = newId('apt');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = newId('apt');
    expect(first).toMatch(/^apt_[0-9a-z]{26}$/);
    expect(first).not.toContain(':');
    expect(first < second).toBe(true);
  });

  it('stay distinct across many refills of their random bytes', () => {
    // 256 ids use up one draw of random bytes; 3,000 cross eleven draws, within one millisecond or few.
    const ids = Array.from({ length: 3_000 }, () => newId('apt'));
    expect(new Set(ids).size).toBe(ids.length);
    const tails = new Set(ids.map((id) => id.slice(-16)));
    expect(tails.size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^apt_[0-9a-z]{26}$/);
  });
});

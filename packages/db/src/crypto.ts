import { createCipheriv, createDecipheriv, createHash, randomBytes, randomInt } from 'node:crypto';

/**
 * Reads SECRETS_ENCRYPTION_KEY: 64 hex characters or base64 of 32 bytes.
 * @throws Error saying what shape is expected (never echoing the value).
 */
export function parseEncryptionKey(value: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (key.length !== 32) {
    throw new Error('SECRETS_ENCRYPTION_KEY must be 32 bytes as 64 hex characters or base64');
  }
  return key;
}

/**
 * The first format, AES-256-GCM with a random IV: `v1.<iv>.<tag>.<ciphertext>`, each base64url,
 * bound to nothing. The gateway writes `sealSecret` (keyring.ts) values now; this stays so that
 * old values read, and so tests can make such values.
 */
export function encryptSecret(plain: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), ciphertext]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/** @throws Error when the value was tampered with or encrypted under another key. */
export function decryptSecret(encrypted: string, key: Buffer): string {
  const [version, iv, tag, ciphertext] = encrypted.split('.');
  if (version !== 'v1' || iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error('stored secret has an unknown format');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  } catch {
    throw new Error('stored secret cannot be decrypted: wrong SECRETS_ENCRYPTION_KEY or tampered value');
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** SHA-256 hex of an API token: tokens are random, so a fast hash is enough. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new upstream API token (`cgt_` + 32 base62 characters), its hash and display prefix. */
export function generateApiToken(): { token: string; hash: string; prefix: string } {
  let body = '';
  for (let i = 0; i < 32; i++) body += BASE62[randomInt(62)];
  const token = `cgt_${body}`;
  return { token, hash: hashApiToken(token), prefix: token.slice(0, 12) };
}

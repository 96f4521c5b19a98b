import { createHmac, timingSafeEqual } from 'node:crypto';

/** Lowercase hex HMAC-SHA256 of the raw body: what Cal.com sends in X-Cal-Signature-256. */
export function signCalcomPayload(rawBody: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

/**
 * Checks `X-Cal-Signature-256` over the raw bytes (never re-serialised JSON), in constant time.
 * Accepts bare hex (what Cal.com sends) and a `sha256=` prefix (what the design notes used).
 */
export function verifyCalcomSignature(
  rawBody: Buffer | string,
  header: string | undefined,
  secret: string,
): boolean {
  if (header === undefined || secret === '') return false;
  const hex = header
    .trim()
    .replace(/^sha256=/i, '')
    .toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) return false;
  const expected = Buffer.from(signCalcomPayload(rawBody, secret), 'hex');
  const given = Buffer.from(hex, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

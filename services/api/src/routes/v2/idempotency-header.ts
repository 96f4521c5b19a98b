import { requestFingerprint, validateIdempotencyKey } from '@calgate/domain';

/** The request's `Idempotency-Key` (validated) and its fingerprint: method POST, the path, the body. */
export function idempotencyOf(
  header: string | undefined,
  path: string,
  body: unknown,
): { key: string; fingerprint: string } | undefined {
  if (header === undefined) return undefined;
  return { key: validateIdempotencyKey(header), fingerprint: requestFingerprint('POST', path, body) };
}

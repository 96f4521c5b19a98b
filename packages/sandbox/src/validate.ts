import { isValidTimeZone } from '@calgate/time';
import { shape1 } from './errors.ts';

/** class-validator's whitelist check, as Cal.com's controllers apply it. */
export function rejectUnknown(
  body: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  prefix = '',
): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw shape1(400, path, `property ${prefix}${key} should not exist`);
  }
}

export function asObject(value: unknown, path: string, name = 'body'): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw shape1(400, path, `${name} must be an object`);
  }
  return value as Record<string, unknown>;
}

export function requireIsoDate(value: unknown, field: string, path: string): number {
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw shape1(400, path, `${field} must be a valid ISO 8601 date string`);
  return ms;
}

export function requirePositiveInt(value: unknown, field: string, path: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0) {
    throw shape1(400, path, `${field} must be a positive integer`);
  }
  return n;
}

export function requireString(value: unknown, field: string, path: string, max = 1000): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw shape1(400, path, `${field} must be a non-empty string`);
  }
  return value;
}

export function requireTimeZone(value: unknown, field: string, path: string): string {
  if (typeof value !== 'string' || !isValidTimeZone(value)) {
    throw shape1(400, path, `${field} must be a valid IANA time zone`);
  }
  return value;
}

/** Cal.com's metadata rule: at most 50 keys, string values of at most 500 characters. */
export function readMetadata(value: unknown, path: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const record = asObject(value, path, 'metadata');
  const entries = Object.entries(record);
  if (entries.length > 50) throw shape1(400, path, 'metadata must have at most 50 keys');
  for (const [key, v] of entries) {
    if (key.length > 40) throw shape1(400, path, 'metadata keys must be at most 40 characters');
    if (typeof v !== 'string' || v.length > 500) {
      throw shape1(400, path, 'metadata values must be strings of at most 500 characters');
    }
  }
  return record as Record<string, string>;
}

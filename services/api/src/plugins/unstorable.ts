/**
 * Text PostgreSQL cannot store: a NUL character (refused by `text` and `jsonb`) or an unpaired
 * surrogate (not UTF-8; the driver would store U+FFFD in its place, silently). A request carrying
 * either is refused naming the field, before anything is written.
 */
export function isUnstorableText(value: string): boolean {
  return value.includes('\u0000') || !value.isWellFormed();
}

/**
 * The path (`customer.name`, `metadata.note`, `items.2`) of the first string, or object key, in
 * `value` that cannot be stored; undefined when there is none.
 */
export function unstorablePath(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return isUnstorableText(value) ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  const entries = Array.isArray(value) ? value.entries() : Object.entries(value);
  for (const [key, item] of entries) {
    const at = path === '' ? String(key) : `${path}.${key}`;
    if (typeof key === 'string' && isUnstorableText(key)) return at;
    const found = unstorablePath(item, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The message a request with such text gets, naming `field`. */
export function unstorableMessage(field: string): string {
  return `${field}: contains a character that cannot be stored (a NUL character or an unpaired surrogate)`;
}

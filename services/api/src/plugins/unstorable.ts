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
 * `value` that cannot be stored; undefined when there is none. Walked with a stack of its own, not
 * recursion: a body nested thousands of levels deep is the validator's to refuse, not a crash here.
 */
export function unstorablePath(value: unknown): string | undefined {
  const pending: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: item, path } = next;
    if (typeof item === 'string') {
      if (isUnstorableText(item)) return path;
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    const entries = Array.isArray(item) ? [...item.entries()] : Object.entries(item);
    // Pushed last first, so that the first field is looked at first.
    for (let index = entries.length - 1; index >= 0; index--) {
      const [key, child] = entries[index] as [string | number, unknown];
      const at = path === '' ? String(key) : `${path}.${key}`;
      if (typeof key === 'string' && isUnstorableText(key)) return at;
      pending.push({ value: child, path: at });
    }
  }
  return undefined;
}

/** The message a request with such text gets, naming `field`. */
export function unstorableMessage(field: string): string {
  return `${field}: contains a character that cannot be stored (a NUL character or an unpaired surrogate)`;
}

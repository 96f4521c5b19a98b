import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * A prefixed, time-sortable id: `apt_` + 10 characters of milliseconds + 16 random characters.
 * Safe in BullMQ job ids (no ':') and URLs.
 */
export function newId(prefix: string): string {
  let time = Date.now();
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = ALPHABET[time % 32] + head;
    time = Math.floor(time / 32);
  }
  const at = take(16);
  let tail = '';
  for (let i = at; i < at + 16; i++) tail += ALPHABET[(pool[i] as number) % 32];
  return `${prefix}_${head}${tail}`;
}

// Random bytes drawn 4 KiB at a time (one call into the CSPRNG per 256 ids, not one per id).
const pool = Buffer.alloc(4096);
let used = pool.length;
function take(n: number): number {
  if (used + n > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += n;
  return used - n;
}

/**
 * Text PostgreSQL accepts, from text we must keep whatever it holds (a receiver's answer, a
 * delivery Cal.com will not send again): `text` and `jsonb` refuse U+0000, and an unpaired
 * surrogate is no UTF-8. Both become U+FFFD.
 */
export function storableText(value: string): string {
  return value.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

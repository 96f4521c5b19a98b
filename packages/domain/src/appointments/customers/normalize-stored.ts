import { customers, type Database } from '@calgate/db';
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { isUniqueViolation } from '../unique-violation.ts';
import { normalizePhone } from './phone.ts';

export interface PhoneNormalisation {
  /** Phones rewritten to E.164. */
  normalised: number;
  /** Phones that are no valid number (in `phoneRegion` when they have no country code): left as they are. */
  unparseable: number;
  /** Phone-only customers whose number, once normalised, is another phone-only customer's: left as they are. */
  duplicates: number;
}

/**
 * Brings phones stored before phones were normalised to E.164, so lookups by phone find them: what
 * the hand-written migration could not (national spellings, read in `phoneRegion`). Idempotent;
 * customers are visited in id order, `batch` at a time.
 */
export async function normaliseStoredPhones(
  db: Database,
  phoneRegion: string | undefined,
  options: { batch?: number } = {},
): Promise<PhoneNormalisation> {
  const result: PhoneNormalisation = { normalised: 0, unparseable: 0, duplicates: 0 };
  const batch = options.batch ?? 500;
  let after = '';
  for (;;) {
    const rows = await db
      .select({ id: customers.id, companyId: customers.companyId, phone: customers.phone })
      .from(customers)
      .where(
        and(
          isNotNull(customers.phone),
          sql`${customers.phone} !~ '^\\+[1-9][0-9]{6,14}$'`,
          sql`${customers.id} > ${after}`,
        ),
      )
      .orderBy(customers.id)
      .limit(batch);
    if (rows.length === 0) return result;
    for (const row of rows) {
      after = row.id;
      let phone: string;
      try {
        phone = normalizePhone(row.phone as string, 'phone', phoneRegion);
      } catch {
        result.unparseable++;
        continue;
      }
      try {
        await db.update(customers).set({ phone, updatedAt: new Date() }).where(eq(customers.id, row.id));
        result.normalised++;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        result.duplicates++;
      }
    }
  }
}

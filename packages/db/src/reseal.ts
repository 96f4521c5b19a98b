import { type Name, type SQL, sql } from 'drizzle-orm';
import type { Database } from './client.ts';
import { type Keyring, openSecret, SECRET_COLUMNS, type SecretColumn, sealSecret } from './keyring.ts';

interface Target {
  table: string;
  /** The column holding the company the value is bound to. */
  companyColumn: string;
  column: string;
  binding: SecretColumn;
}

const TARGETS: readonly Target[] = [
  {
    table: 'companies',
    companyColumn: 'id',
    column: 'calcom_api_key_encrypted',
    binding: SECRET_COLUMNS.calcomApiKey,
  },
  {
    table: 'companies',
    companyColumn: 'id',
    column: 'calcom_webhook_secret_encrypted',
    binding: SECRET_COLUMNS.calcomWebhookSecret,
  },
  {
    table: 'retired_webhook_secrets',
    companyColumn: 'company_id',
    column: 'secret_encrypted',
    binding: SECRET_COLUMNS.retiredWebhookSecret,
  },
  {
    table: 'outbound_endpoints',
    companyColumn: 'company_id',
    column: 'secret_encrypted',
    binding: SECRET_COLUMNS.outboundSecret,
  },
  {
    table: 'outbound_endpoints',
    companyColumn: 'company_id',
    column: 'previous_secret_encrypted',
    binding: SECRET_COLUMNS.outboundPreviousSecret,
  },
];

/** What `resealSecrets` did to one column. */
export interface ResealResult {
  column: SecretColumn;
  /** Values now under the current key, bound to their company and column. */
  resealed: number;
  /** Values another writer changed between our read and our write: theirs is kept. */
  changedMeanwhile: number;
  /** Values no key of the ring opens (or that were moved from elsewhere): left as they are. */
  unreadable: number;
}

/**
 * Re-encrypts every stored secret that is in the old format or under another key than the
 * current one, while the gateway runs. Batch-wise (keyset over the id, so each row is read once
 * per run); each value is replaced only if it is still the one read (compare-and-set), so a
 * concurrent writer's newer value wins. Idempotent: values already under the current key are not
 * touched, and a second run finds nothing to do.
 */
export async function resealSecrets(
  db: Database,
  keyring: Keyring,
  options: { batchSize?: number } = {},
): Promise<ResealResult[]> {
  const batchSize = options.batchSize ?? 100;
  const current = `v2.${keyring.currentVersion}.%`;
  const results: ResealResult[] = [];
  for (const target of TARGETS) {
    const result: ResealResult = { column: target.binding, resealed: 0, changedMeanwhile: 0, unreadable: 0 };
    const table = sql.identifier(target.table);
    const column = sql.identifier(target.column);
    const company = sql.identifier(target.companyColumn);
    let after = '';
    for (;;) {
      const rows: Array<{ id: string; company_id: string; value: string }> = await db.execute(sql`
        select id, ${company} as company_id, ${column} as value from ${table}
        where id > ${after} and ${column} is not null and ${column} not like ${current}
        order by id limit ${batchSize}`);
      if (rows.length === 0) break;
      for (const row of rows) {
        const outcome = await resealOne(db, keyring, target.binding, {
          id: row.id,
          companyId: row.company_id,
          value: row.value,
        });
        if (outcome === 'resealed') result.resealed++;
        else if (outcome === 'changed-meanwhile') result.changedMeanwhile++;
        else result.unreadable++;
      }
      after = (rows.at(-1) as { id: string }).id;
    }
    results.push(result);
  }
  return results;
}

/**
 * Re-encrypts one stored value as read (`value`) under the current key, writing it only if the
 * row still holds that value: a writer that changed it since keeps its own.
 */
export async function resealOne(
  db: Database,
  keyring: Keyring,
  column: SecretColumn,
  row: { id: string; companyId: string; value: string },
): Promise<'resealed' | 'changed-meanwhile' | 'unreadable'> {
  const target = TARGETS.find((t) => t.binding === column) as Target;
  let sealed: string;
  try {
    const plain = openSecret(row.value, keyring, { companyId: row.companyId, column });
    sealed = sealSecret(plain, keyring, { companyId: row.companyId, column });
  } catch {
    return 'unreadable';
  }
  const swapped: unknown[] = await db.execute(
    compareAndSet(sql.identifier(target.table), sql.identifier(target.column), {
      id: row.id,
      from: row.value,
      to: sealed,
    }),
  );
  return swapped.length === 1 ? 'resealed' : 'changed-meanwhile';
}

function compareAndSet(table: Name, column: Name, change: { id: string; from: string; to: string }): SQL {
  return sql`update ${table} set ${column} = ${change.to}
    where id = ${change.id} and ${column} = ${change.from} returning id`;
}

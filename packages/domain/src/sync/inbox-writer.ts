import { type Database, newId } from '@calgate/db';
import { sql } from 'drizzle-orm';
import { type Batcher, createBatcher } from './batcher.ts';

/** One verified delivery to store. */
export interface InboxRow {
  /** Given when the id was already answered (a delivery kept in Redis during an outage). */
  id?: string;
  companyId: string | null;
  trigger: string;
  uid: string | null;
  dedupeKey: string;
  /** The body as Cal.com sent it (valid JSON), stored as jsonb. */
  json: string;
}

export interface StoredRow {
  id: string;
  /** False when the same delivery (receiving URL, trigger, uid, body) was stored before. */
  fresh: boolean;
}

/**
 * Group commit for the webhook inbox: deliveries that arrive while an INSERT is in flight are
 * written together by the next one, a multi-row `INSERT ... ON CONFLICT DO NOTHING`. Each caller
 * still answers only after its own row is committed (nothing is acknowledged before it is
 * durable), but a burst costs one commit per batch instead of one per delivery. Alone, a delivery
 * is written at once: batching never adds a wait.
 *
 * A batch that fails (one body PostgreSQL cannot store, say) is retried row by row, so that each
 * caller gets its own outcome.
 */
export class InboxWriter {
  readonly #db: Pick<Database, 'execute'>;
  readonly #batcher: Batcher<InboxRow, StoredRow>;

  constructor(db: Pick<Database, 'execute'>) {
    this.#db = db;
    this.#batcher = createBatcher((rows) => this.#write(rows), { maxBatch: 100, maxInFlight: 4 });
  }

  store(row: InboxRow): Promise<StoredRow> {
    return this.#batcher.submit(row);
  }

  async #write(rows: InboxRow[]): Promise<Array<PromiseSettledResult<StoredRow>>> {
    try {
      return (await this.#insert(rows)).map((value) => ({ status: 'fulfilled', value }));
    } catch (error) {
      if (rows.length === 1) throw error;
      return Promise.allSettled(rows.map(async (row) => (await this.#insert([row]))[0] as StoredRow));
    }
  }

  /** Stores the rows; the first of several identical deliveries is the fresh one. */
  async #insert(rows: InboxRow[]): Promise<StoredRow[]> {
    const ids = rows.map((row) => row.id ?? newId('whk'));
    const values = sql.join(
      rows.map(
        (row, i) =>
          sql`(${ids[i]}, ${row.companyId}, ${row.trigger}, ${row.uid}, ${row.dedupeKey}, ${row.json}::jsonb)`,
      ),
      sql`, `,
    );
    const inserted = await this.#db.execute<{ id: string; dedupe_key: string }>(sql`
      insert into webhook_inbox (id, company_id, trigger_event, booking_uid, dedupe_key, payload)
      values ${values}
      on conflict (dedupe_key) do nothing
      returning id, dedupe_key`);
    const byKey = new Map(inserted.map((r) => [r.dedupe_key, r.id]));
    const missing = [...new Set(rows.map((r) => r.dedupeKey).filter((key) => !byKey.has(key)))];
    const earlier = new Map<string, string>();
    if (missing.length > 0) {
      const found = await this.#db.execute<{ id: string; dedupe_key: string }>(sql`
        select id, dedupe_key from webhook_inbox
        where dedupe_key in (${sql.join(
          missing.map((key) => sql`${key}`),
          sql`, `,
        )})`);
      for (const r of found) earlier.set(r.dedupe_key, r.id);
    }
    const claimed = new Set<string>();
    return rows.map((row) => {
      const id = byKey.get(row.dedupeKey);
      if (id !== undefined && !claimed.has(row.dedupeKey)) {
        claimed.add(row.dedupeKey);
        return { id, fresh: true };
      }
      const before = id ?? earlier.get(row.dedupeKey);
      if (before === undefined) throw new Error('webhook inbox row vanished');
      return { id: before, fresh: false };
    });
  }
}

const writers = new WeakMap<object, InboxWriter>();

/** The process's writer for this database. */
export function inboxWriter(db: Pick<Database, 'execute'>): InboxWriter {
  let writer = writers.get(db);
  if (writer === undefined) {
    writer = new InboxWriter(db);
    writers.set(db, writer);
  }
  return writer;
}

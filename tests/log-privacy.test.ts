import { PassThrough } from 'node:stream';
import { createDb, customers, newId } from '@calgate/db';
import { createLogger } from '@calgate/telemetry';
import { createTestDatabase, type TestDatabase } from '@calgate/testkit';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const EMAIL = 'priya.leak@example.org';
const PHONE = '+4915100000001';
const NAME = 'Priya Leakmann';

let database: TestDatabase;
let connection: ReturnType<typeof createDb>;
beforeAll(async () => {
  database = await createTestDatabase();
  connection = createDb(database.url, { max: 1 });
});
afterAll(async () => {
  await connection.close();
  await database.drop();
});

/** A logger as the services build it, writing into a string. */
function capturedLogger(personalData = false) {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  const logger = createLogger({ name: 'test', level: 'debug', destination: stream, personalData });
  return {
    logger,
    text: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return text;
    },
  };
}

async function failure(query: () => Promise<unknown>): Promise<unknown> {
  try {
    await query();
  } catch (error) {
    return error;
  }
  throw new Error('the query was expected to fail');
}

describe('a database error in the log', () => {
  it("logs a failed query's SQLSTATE and statement, never its values", async () => {
    // A customer of a company that does not exist: the statement carries the email, the phone and the name.
    const error = await failure(() =>
      connection.db
        .insert(customers)
        .values({ id: newId('cus'), companyId: 'cmp_missing', name: NAME, email: EMAIL, phone: PHONE }),
    );
    expect(String((error as Error).message)).toContain(EMAIL);
    const { logger, text } = capturedLogger();
    logger.error({ err: error, appointmentId: 'apt_1' }, 'request failed');
    const line = await text();
    expect(line).toContain('23503');
    expect(JSON.parse(line).err.query).toContain('insert into "customers"');
    expect(line).toContain('apt_1');
    for (const value of [EMAIL, PHONE, NAME]) expect(line).not.toContain(value);
  });

  it('does not repeat a value PostgreSQL quotes in its own message', async () => {
    const error = await failure(() => connection.db.execute(sql`select ${EMAIL}::int`));
    const { logger, text } = capturedLogger();
    logger.warn({ err: error }, 'query failed');
    const line = await text();
    expect(line).toContain('22P02');
    expect(line).not.toContain(EMAIL);
  });
});

describe('personal data in log objects', () => {
  const job = { job: { payload: { customer: { name: NAME, email: EMAIL, phone: PHONE } }, id: 'j_1' } };

  it('is replaced at any depth, and the ids stay', async () => {
    const { logger, text } = capturedLogger();
    logger.info({ ...job, deep: { a: { b: { c: { apiKey: 'cal_live_deep' } } } } }, 'job received');
    logger.info({ note: `written by ${EMAIL}` }, 'free text');
    // An error's text (Cal.com's words, say) naming a phone number, in any field.
    logger.warn(
      { code: 'VALIDATION_FAILED', error: `invalid phone ${PHONE} (+49 151 2345-6789)` },
      'refused',
    );
    const line = await text();
    expect(line).toContain('j_1');
    expect(line).not.toContain('+49 151 2345-6789');
    expect(line).toContain('invalid phone [phone]');
    for (const value of [EMAIL, PHONE, NAME, 'cal_live_deep']) expect(line).not.toContain(value);
  });

  it('is kept with LOG_PERSONAL_DATA, secrets still are not', async () => {
    const { logger, text } = capturedLogger(true);
    logger.info({ ...job, deep: { a: { b: { apiKey: 'cal_live_deep' } } } }, 'job received');
    const line = await text();
    expect(line).toContain(EMAIL);
    expect(line).not.toContain('cal_live_deep');
  });
});

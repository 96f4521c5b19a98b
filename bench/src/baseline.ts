/**
 * Baselines, each in its own process like the gateway's services:
 * - `queue-add`: a bare Fastify route that only does `Queue.add` (benchmark 1);
 * - `static-json`: a bare Fastify route answering a JSON body held in memory (benchmark 2);
 * - `lookup-sql`: a bare Fastify route running the lookup's statement for `?customerPhone=` and
 *   answering its rows (benchmark 8; LOOKUP_STATEMENT is `{sql, params, phoneIndex}`);
 * - `noop-worker`: a BullMQ worker whose jobs do nothing (benchmark 3);
 * - `floor-intake` + `floor-worker`: the least a durable booking pipeline must do on this machine
 *   (evidence for benchmark 3, not its baseline): a route that writes one row and adds a job, and
 *   a worker that makes the one Cal.com call (plain fetch) and writes the outcome with one UPDATE.
 * - `receiver`: a bare HTTP server answering 200 to every POST (the receiver of benchmark 9).
 * Configured by environment: BASELINE_MODE, PORT, REDIS_URL, QUEUE_PREFIX, BODY_FILE, CONCURRENCY,
 * DATABASE_URL, DATABASE_POOL_MAX, CALCOM_BASE_URL, CALCOM_API_KEY.
 */
import { readFileSync } from 'node:fs';
import { Queue, Worker } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const mode = process.env.BASELINE_MODE;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.QUEUE_PREFIX ?? 'calgate-bench';

const floorSql = async () => {
  const { default: postgres } = await import('postgres');
  return postgres(process.env.DATABASE_URL as string, { max: Number(process.env.DATABASE_POOL_MAX ?? 10) });
};

if (mode === 'floor-worker') {
  const sql = await floorSql();
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker(
    'floor',
    async (job) => {
      const data = job.data as { id: string; eventTypeId: number; start: string; email: string };
      const res = await fetch(`${process.env.CALCOM_BASE_URL}/bookings`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${process.env.CALCOM_API_KEY}`,
          'cal-api-version': '2024-08-13',
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          start: data.start,
          eventTypeId: data.eventTypeId,
          attendee: { name: 'Floor', email: data.email, timeZone: 'Europe/Berlin' },
        }),
      });
      const body = (await res.json()) as { data?: { uid?: string } };
      await sql`update floor_bookings set status = ${res.ok ? 'confirmed' : 'failed'}, uid = ${body.data?.uid ?? null}
        where id = ${data.id}`;
    },
    { connection, prefix, concurrency: Number(process.env.CONCURRENCY ?? 10) },
  );
  process.on('SIGTERM', () => {
    void worker.close().then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
} else if (mode === 'receiver') {
  const { createServer } = await import('node:http');
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  });
  server.keepAliveTimeout = 30_000;
  server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
  process.on('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
} else if (mode === 'noop-worker') {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const worker = new Worker('noop', async () => undefined, {
    connection,
    prefix,
    concurrency: Number(process.env.CONCURRENCY ?? 10),
  });
  process.on('SIGTERM', () => {
    void worker.close().then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
} else {
  const app = Fastify({ logger: false });
  if (mode === 'queue-add') {
    const queue = new Queue('baseline', {
      connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
      prefix,
    });
    app.post('/hook', async (request) => {
      await queue.add('delivery', request.body);
      return { received: true };
    });
  } else if (mode === 'inbox-insert') {
    // The durable floor of webhook intake: the same inbox row written (one commit), then Queue.add.
    const { default: postgres } = await import('postgres');
    const { randomUUID, createHash } = await import('node:crypto');
    const sql = postgres(process.env.DATABASE_URL as string, {
      max: Number(process.env.DATABASE_POOL_MAX ?? 10),
    });
    const queue = new Queue('baseline', {
      connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
      prefix,
    });
    app.post('/hook', async (request) => {
      const text = JSON.stringify(request.body);
      const id = `whk_${randomUUID()}`;
      await sql`insert into webhook_inbox (id, trigger_event, booking_uid, dedupe_key, payload)
        values (${id}, 'BOOKING_CREATED', ${id}, ${createHash('sha256').update(text).digest('hex')}, ${sql.json(request.body as never)})
        on conflict (dedupe_key) do nothing`;
      await queue.add('delivery', { id });
      return { received: true };
    });
  } else if (mode === 'floor-intake') {
    const sql = await floorSql();
    const { randomUUID } = await import('node:crypto');
    const queue = new Queue('floor', {
      connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
      prefix,
    });
    app.post('/bookings', async (request, reply) => {
      const body = request.body as { eventTypeId: number; start: string; email: string };
      const id = `flr_${randomUUID()}`;
      await sql`insert into floor_bookings (id, status, payload) values (${id}, 'pending', ${sql.json(body)})`;
      await queue.add('book', { id, ...body });
      return reply.status(202).send({ id });
    });
  } else if (mode === 'lookup-sql') {
    const sql = await floorSql();
    const statement = JSON.parse(process.env.LOOKUP_STATEMENT as string) as {
      sql: string;
      params: unknown[];
      phoneIndex: number;
    };
    app.get('/bookings', async (request) => {
      const params = [...statement.params];
      params[statement.phoneIndex] = (request.query as { customerPhone?: string }).customerPhone;
      return { appointments: await sql.unsafe(statement.sql, params as never[], { prepare: true }) };
    });
  } else if (mode === 'static-json') {
    const body = JSON.parse(readFileSync(process.env.BODY_FILE as string, 'utf8')) as unknown;
    app.get('/json', async () => body);
  } else {
    throw new Error(`unknown BASELINE_MODE ${String(mode)}`);
  }
  await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
  process.on('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

import { FlowProducer, type Job, type JobsOptions, Queue } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import type { Redis } from 'ioredis';
import {
  type JobName,
  type JobPayload,
  jobCatalog,
  parseJobPayload,
  QUEUE_NAMES,
  type QueueName,
} from './catalog.ts';
import { fairPriority } from './fair-priority.ts';

/**
 * Options of one enqueue: BullMQ's, plus the group (company) whose jobs take their fair turn in
 * the queue against other groups' (see `fair-priority.ts`).
 */
export type EnqueueOptions = JobsOptions & { fairGroup?: string };

export interface JobQueuesOptions {
  connection: Redis;
  prefix: string;
  /** Retries after the first attempt for retried jobs (CALCOM_MAX_RETRIES): attempts = maxRetries + 1. */
  maxRetries: number;
  /** Attempts of compensation jobs. @defaultValue 25 */
  compensationAttempts?: number;
  /** Delays between the attempts of an outbound delivery (OUTBOUND_WEBHOOKS_RETRY_SCHEDULE). */
  outboundRetryScheduleMs?: number[];
  /** Connection errors of the queues (Redis away); without it BullMQ prints them to stderr. */
  onError?: (error: Error, source: string) => void;
  /** Carry the trace context through jobs (bullmq-otel). @defaultValue true */
  tracing?: boolean;
}

export interface JobQueues {
  /** Validates the payload and adds the job under its deterministic id. */
  enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options?: EnqueueOptions): Promise<Job>;
  /**
   * Makes sure the work has a live job: adds it if absent, retries it if its job failed, and
   * leaves it alone if waiting, active, delayed or completed. Returns what it did.
   */
  ensure<N extends JobName>(name: N, payload: JobPayload<N>): Promise<'added' | 'retried' | 'present'>;
  /** The job of this work, looked up in its queue under the catalog's id for it. */
  find<N extends JobName>(name: N, payload: JobPayload<N>): Promise<Job | undefined>;
  /**
   * One composite booking as a flow: a `composite.finalize` parent over a chain of segment jobs
   * nested so the LAST segment is the leaf and is booked first (the design's reverse order). A
   * segment that fails for good fails every job above it, so nothing is left waiting.
   */
  addCompositeFlow(
    appointmentId: string,
    generation: number,
    segmentCount: number,
    options?: { fairGroup?: string },
  ): Promise<void>;
  queue(name: QueueName): Queue;
  all(): Queue[];
  close(): Promise<void>;
}

/** Backoff for retried jobs: exponential from 1 s with jitter, so retries of many jobs spread out. */
export function retryOptions(maxRetries: number): JobsOptions {
  return { attempts: maxRetries + 1, backoff: { type: 'exponential', delay: 1_000, jitter: 0.5 } };
}

/** Finished jobs are kept long enough to inspect in the dashboard, then trimmed. */
export const RETENTION: JobsOptions = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 14 * 24 * 3600 },
};

export function createJobQueues(options: JobQueuesOptions): JobQueues {
  const telemetry = options.tracing === false ? undefined : new BullMQOtel({ tracerName: 'calgate' });
  const queues = new Map<QueueName, Queue>(
    QUEUE_NAMES.map((name) => [
      name,
      new Queue(name, {
        connection: options.connection,
        prefix: options.prefix,
        ...(telemetry === undefined ? {} : { telemetry }),
      }),
    ]),
  );
  const queue = (name: QueueName): Queue => {
    const found = queues.get(name);
    if (found === undefined) throw new Error(`unknown queue ${name}`);
    return found;
  };

  const flows = new FlowProducer({
    connection: options.connection,
    prefix: options.prefix,
    ...(telemetry === undefined ? {} : { telemetry }),
  });
  const onError = options.onError ?? (() => undefined);
  flows.on('error', (error) => onError(error, 'flow-producer'));
  for (const [name, q] of queues) q.on('error', (error) => onError(error, `queue ${name}`));
  const optionsFor = (name: JobName): JobsOptions => {
    const definition: { retried: boolean; options?: JobsOptions } = jobCatalog[name];
    return {
      ...RETENTION,
      ...(definition.retried ? retryOptions(options.maxRetries) : { attempts: 1 }),
      ...definition.options,
      ...(name === 'composite.compensate' && options.compensationAttempts !== undefined
        ? { attempts: options.compensationAttempts }
        : {}),
      ...(name === 'outbound.deliver' && options.outboundRetryScheduleMs !== undefined
        ? { attempts: options.outboundRetryScheduleMs.length + 1 }
        : {}),
    };
  };

  const priorityFor = async (queueName: QueueName, group: string | undefined, jobIds: readonly string[]) =>
    group === undefined
      ? {}
      : { priority: await fairPriority(options.connection, `${options.prefix}:${queueName}`, group, jobIds) };

  return {
    async enqueue(name, payload, extra) {
      const definition = jobCatalog[name];
      const data = parseJobPayload(name, payload);
      const { fairGroup, ...jobOptions } = extra ?? {};
      const jobId = definition.jobId(data as never);
      return queue(definition.queue).add(name, data, {
        ...optionsFor(name),
        ...(await priorityFor(definition.queue, fairGroup, [jobId])),
        ...jobOptions,
        jobId,
      });
    },
    async addCompositeFlow(appointmentId, generation, segmentCount, flowOptions) {
      const segment = jobCatalog['composite.book-segment'];
      const finalize = jobCatalog['composite.finalize'];
      const segments = Array.from({ length: segmentCount }, (_, position) =>
        parseJobPayload('composite.book-segment', { appointmentId, generation, position }),
      );
      const data = parseJobPayload('composite.finalize', { appointmentId, generation });
      // The whole flow takes one place in its company's line, under the ids its jobs will have
      // (segments and finalize share the composite queue, whose `fair-groups` these go into).
      const priority = await priorityFor(segment.queue, flowOptions?.fairGroup, [
        ...segments.map((payload) => segment.jobId(payload)),
        finalize.jobId(data),
      ]);
      type Node = Parameters<FlowProducer['add']>[0];
      let child: Node | undefined;
      // Nested from the last segment up, so that the last is the leaf and is booked first.
      for (const payload of segments.toReversed()) {
        const node: Node = {
          name: 'composite.book-segment',
          queueName: segment.queue,
          data: payload,
          opts: {
            ...optionsFor('composite.book-segment'),
            ...priority,
            jobId: segment.jobId(payload),
            failParentOnFailure: true,
          },
          ...(child === undefined ? {} : { children: [child] }),
        };
        child = node;
      }
      await flows.add({
        name: 'composite.finalize',
        queueName: finalize.queue,
        data,
        opts: {
          ...optionsFor('composite.finalize'),
          ...priority,
          jobId: finalize.jobId(data),
        },
        ...(child === undefined ? {} : { children: [child] }),
      });
    },
    async find(name, payload) {
      const definition = jobCatalog[name];
      const data = parseJobPayload(name, payload);
      return queue(definition.queue).getJob(definition.jobId(data as never));
    },
    async ensure(name, payload) {
      const existing = await this.find(name, payload);
      if (existing === undefined) {
        await this.enqueue(name, payload);
        return 'added';
      }
      if ((await existing.getState()) === 'failed') {
        await existing.retry('failed');
        return 'retried';
      }
      return 'present';
    },
    queue,
    all: () => [...queues.values()],
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      await flows.close();
    },
  };
}

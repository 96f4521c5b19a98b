/** Thrown by a handler that moved its own job to a later time (BullMQ's marker). */
export { DelayedError } from 'bullmq';
export type { JobCatalog, JobName, JobPayload, QueueName } from './catalog.ts';
export { isJobName, jobCatalog, OUTBOUND_BACKOFF, parseJobPayload, QUEUE_NAMES } from './catalog.ts';
export { MAX_PRIORITY } from './fair-priority.ts';
export type { EnqueueOptions, JobQueues, JobQueuesOptions } from './queues.ts';
export { createJobQueues, RETENTION, retryOptions } from './queues.ts';
export type {
  BindLogFields,
  DelayReason,
  JobContext,
  JobEventListener,
  JobHandler,
  JobHandlers,
  JobLogFields,
  JobWorkersOptions,
  SomeJobHandlers,
} from './worker.ts';
export { createJobWorkers, createProcessor, customBackoff, errorLogFields, jobLogFields } from './worker.ts';

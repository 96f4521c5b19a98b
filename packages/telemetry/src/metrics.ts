import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus metrics of one process. The API serves them at `/metrics`; the worker on its
 * own port (`WORKER_METRICS_PORT`). Names follow Prometheus conventions (`_total`, `_seconds`).
 */
export interface Metrics {
  registry: Registry;
  calcomCalls: Counter<'operation' | 'status'>;
  calcomLatency: Histogram<'operation'>;
  budgetWaits: Counter<'queue'>;
  jobDelays: Counter<'queue' | 'reason'>;
  jobs: Counter<'queue' | 'name' | 'outcome'>;
  jobDuration: Histogram<'queue' | 'name'>;
  webhooks: Counter<'outcome'>;
  compensations: Counter<'event'>;
  queueDepth: Gauge<'queue' | 'state'>;
  events: Gauge<'name'>;
}

export function createMetrics(options: { service: string; defaults?: boolean }): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaults !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    calcomCalls: new Counter({
      name: 'calgate_calcom_requests_total',
      help: 'Cal.com API calls by operation and HTTP status (429 included; 0 = no answer)',
      labelNames: ['operation', 'status'],
      registers,
    }),
    calcomLatency: new Histogram({
      name: 'calgate_calcom_request_duration_seconds',
      help: 'Cal.com API call latency by operation',
      labelNames: ['operation'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    budgetWaits: new Counter({
      name: 'calgate_budget_waits_total',
      help: 'Jobs delayed because their Cal.com key had no budget left (or was paused after a 429)',
      labelNames: ['queue'],
      registers,
    }),
    jobDelays: new Counter({
      name: 'calgate_job_delays_total',
      help: 'Jobs delayed without spending an attempt, by reason (budget: the Cal.com key had no budget left or was paused after a 429; backing-service: PostgreSQL or Redis did not answer)',
      labelNames: ['queue', 'reason'],
      registers,
    }),
    jobs: new Counter({
      name: 'calgate_jobs_total',
      help: 'Finished job attempts by queue, job name and outcome (completed, retried, failed, delayed)',
      labelNames: ['queue', 'name', 'outcome'],
      registers,
    }),
    jobDuration: new Histogram({
      name: 'calgate_job_duration_seconds',
      help: 'Job processing time by queue and job name',
      labelNames: ['queue', 'name'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    webhooks: new Counter({
      name: 'calgate_webhooks_total',
      help: 'Cal.com webhook deliveries by outcome (accepted, duplicate, rejected, applied, unchanged, ignored, failed)',
      labelNames: ['outcome'],
      registers,
    }),
    compensations: new Counter({
      name: 'calgate_compensations_total',
      help: 'Composite compensations by event (started, exhausted)',
      labelNames: ['event'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'calgate_queue_jobs',
      help: 'Jobs per queue and state, read from Redis at scrape time',
      labelNames: ['queue', 'state'],
      registers,
    }),
    events: new Gauge({
      name: 'calgate_events',
      help: 'Events counted by every process together in Redis (webhooks, compensations, adoptions, reconciliation)',
      labelNames: ['name'],
      registers,
    }),
  };
}

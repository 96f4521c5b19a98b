import type { Metrics } from '@calgate/telemetry/metrics';
import type { CounterName } from './counters.ts';

/** Feeds domain counters into the process's Prometheus metrics. */
export function observeCounters(metrics: Metrics): (name: CounterName) => void {
  return (name) => {
    if (name.startsWith('webhooks_')) metrics.webhooks.inc({ outcome: name.slice('webhooks_'.length) });
    else if (name.startsWith('compensations_')) {
      metrics.compensations.inc({ event: name.slice('compensations_'.length) });
    }
  };
}

/** Feeds every Cal.com answer into the process's Prometheus metrics. */
export function observeCalcom(metrics: Metrics) {
  return (event: { operation: string; status: number; durationMs: number }) => {
    metrics.calcomCalls.inc({ operation: event.operation, status: String(event.status) });
    metrics.calcomLatency.observe({ operation: event.operation }, event.durationMs / 1000);
  };
}

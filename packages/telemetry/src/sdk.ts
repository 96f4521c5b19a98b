import { NodeSDK } from '@opentelemetry/sdk-node';

/**
 * Starts the OpenTelemetry SDK. Only services call this, first thing in `main.ts`; packages
 * depend on `@opentelemetry/api` alone. Exports over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT`
 * (or the traces-specific variable) is set, and stays silent otherwise.
 */
export function startTelemetry(serviceName: string): { shutdown(): Promise<void> } {
  const endpoint =
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? undefined;
  if (process.env.OTEL_SERVICE_NAME === undefined) process.env.OTEL_SERVICE_NAME = serviceName;
  // Without an endpoint the SDK would still try the default collector address and log errors.
  if (endpoint === undefined && process.env.OTEL_TRACES_EXPORTER === undefined) {
    process.env.OTEL_TRACES_EXPORTER = 'none';
  }
  process.env.OTEL_METRICS_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const sdk = new NodeSDK({ serviceName });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

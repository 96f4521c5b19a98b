/**
 * Starts the OpenTelemetry SDK. Only services call this, first thing in `main.ts`; packages
 * depend on `@opentelemetry/api` alone. When an OTLP endpoint (or another OTEL_TRACES_EXPORTER) is
 * configured the SDK is loaded and exports traces; otherwise nothing is loaded at all (the SDK
 * and its exporters would cost memory and start-up time for nothing).
 */
export async function startTelemetry(serviceName: string): Promise<{ shutdown(): Promise<void> }> {
  const endpoint = process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const exporter = process.env.OTEL_TRACES_EXPORTER;
  const configured = endpoint !== undefined || (exporter !== undefined && exporter !== 'none');
  if (!configured) return { shutdown: async () => undefined };
  if (process.env.OTEL_SERVICE_NAME === undefined) process.env.OTEL_SERVICE_NAME = serviceName;
  process.env.OTEL_METRICS_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({ serviceName });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

import type { Config } from '@calgate/config';
import { createDomainRuntime, type DomainRuntime } from '@calgate/runtime';
import type { Logger } from '@calgate/telemetry';

export type WorkerDeps = DomainRuntime;

export function createWorkerDeps(config: Config, logger: Logger): WorkerDeps {
  return createDomainRuntime(config, logger, { service: 'calgate-worker', failFast: false });
}

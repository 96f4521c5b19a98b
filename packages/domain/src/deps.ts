import type { Budget } from '@calgate/budget';
import type { Database, Keyring } from '@calgate/db';
import type { StructuredLogger } from '@calgate/errors';
import type { JobQueues } from '@calgate/jobs';
import type { Redis } from 'ioredis';
import type { CalcomAccess } from './accounts/calcom-access.ts';
import type { OutcomeNotifier } from './appointments/outcomes.ts';
import type { SlotCache } from './availability/slot-cache.ts';
import type { Counters } from './counters.ts';

/** What the booking steps need; built once by each service host and passed down. */
export interface DomainDeps {
  db: Database;
  redis: Redis;
  /** QUEUE_PREFIX: every Redis key of this deployment starts with it. */
  redisPrefix: string;
  queues: JobQueues;
  slotCache: SlotCache;
  calcom: CalcomAccess;
  budget: Budget;
  outcomes: OutcomeNotifier;
  counters: Counters;
  logger: StructuredLogger;
  /** The encryption keys (SECRETS_ENCRYPTION_KEY*), parsed once per process. */
  keyring: Keyring;
  /** PHONE_DEFAULT_REGION: the country a customer phone without a country code is read in. */
  phoneRegion?: string | undefined;
}

import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyRequest } from 'fastify';
import { shape1 } from './errors.ts';
import type { SandboxStore } from './store.ts';
import type { SandboxBooking, SandboxUser } from './types.ts';
import type { WebhookDispatcher } from './webhooks.ts';

declare module 'fastify' {
  interface FastifyRequest {
    sandboxUser: SandboxUser | null;
    keyFingerprint: string | null;
  }
  interface FastifyContextConfig {
    operation?: string;
    family?: 'slots' | 'bookings' | 'eventTypes' | 'none';
  }
}

/** What route handlers share: the state, webhook delivery, the configured latency, the caller. */
export interface SandboxContext {
  store: SandboxStore;
  dispatcher: WebhookDispatcher;
  latencyMs: number;
  delay(): Promise<void>;
  userOf(request: FastifyRequest): SandboxUser;
  /** A booking the caller's account may see, else Cal.com's 404. */
  ownBooking(request: FastifyRequest, uid: string): SandboxBooking;
}

export function createContext(
  store: SandboxStore,
  dispatcher: WebhookDispatcher,
  latencyMs: number,
): SandboxContext {
  const ctx: SandboxContext = {
    store,
    dispatcher,
    latencyMs,
    async delay() {
      if (ctx.latencyMs > 0) await sleep(ctx.latencyMs);
    },
    userOf(request) {
      if (request.sandboxUser === null) throw shape1(401, request.url, 'Invalid Access Token.');
      return request.sandboxUser;
    },
    ownBooking(request, uid) {
      const booking = store.booking(uid, request.url);
      if (!store.visibleTo(ctx.userOf(request)).includes(booking)) {
        throw shape1(404, request.url, `Booking with uid=${uid} not found`);
      }
      return booking;
    },
  };
  return ctx;
}

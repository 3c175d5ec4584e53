/**
 * @module rate-limit/index
 * Builds the rate-limit store the config asks for: in memory per replica, or shared through Redis
 * (REDIS_URL) with the RATE_LIMIT_ON_STORE_ERROR behaviour when Redis fails (resilient-store.ts).
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { MemoryRateLimitStore } from './memory-store.js';
import { ResilientRateLimitStore } from './resilient-store.js';
import type { RateLimitStore } from './store.js';

/** What /system/status shows of the store. */
export interface StoreStatus {
  kind: 'memory' | 'redis';
  state: 'ok' | 'degraded' | 'down';
  /** RATE_LIMIT_ON_STORE_ERROR in force while the shared store fails. */
  onError?: 'local' | 'open' | 'closed';
  /** The last failure's kind and scrubbed message (never the URL or password); null before any. */
  lastError?: string | null;
}

export interface ManagedRateLimitStore extends RateLimitStore {
  status(): StoreStatus;
  /** Drops the Redis connection (at once: a dead Redis must not hold shutdown). */
  close(): Promise<void>;
}

export function createRateLimitStore(config: Config, deps: { logger: Logger; registry: Registry }): ManagedRateLimitStore {
  if (config.redis) {
    return new ResilientRateLimitStore({ redis: config.redis, onError: config.rateLimit.onStoreError, logger: deps.logger, registry: deps.registry });
  }
  const store = new MemoryRateLimitStore();
  return Object.assign(store, {
    status: (): StoreStatus => ({ kind: 'memory', state: 'ok' }),
    close: async () => undefined,
  });
}

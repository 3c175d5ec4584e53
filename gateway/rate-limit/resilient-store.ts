/**
 * @module rate-limit/resilient-store
 * The shared (Redis) store with RATE_LIMIT_ON_STORE_ERROR in front of it: what a request gets while
 * Redis fails, and how loudly the gateway says so.
 *
 * - `local` (default): this replica's own in-memory buckets until Redis answers again. N replicas then
 *   allow up to N× the limit (LiteLLM's fallback, peers-2026.md 3), but nobody gets a 5xx.
 * - `open`: admitted without limits.
 * - `closed`: 503 `rate_limit_store_unavailable` with Retry-After.
 *
 * Never quiet: every call that did not reach Redis counts in gateway_rate_limit_store_errors_total{op,kind},
 * a warning is logged at most once per LOG_INTERVAL (with the error kind and a scrubbed message, never
 * the URL), and status() feeds /system/status. A failing Redis costs at most one command timeout per
 * probe interval: after a failure, calls go straight to the fallback except one probe every
 * PROBE_INTERVAL (so a frozen Redis does not add REDIS_TIMEOUT_MS to every request), and a reconnect
 * makes the next call try Redis at once. settle never rejects.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { ManagedRateLimitStore, StoreStatus } from './index.js';
import { MemoryRateLimitStore } from './memory-store.js';
import { RedisRateLimitStore, RedisReservation, scrubSecrets, storeErrorKind, type StoreErrorKind } from './redis-store.js';
import { reservationCost, type Limits, type RateLimitDecision, type Reservation } from './store.js';

export type OnStoreError = 'local' | 'open' | 'closed';

export interface ResilientStoreOptions {
  redis: { url: string; timeoutMs: number };
  onError: OnStoreError;
  logger: Logger;
  registry: Registry;
  keyPrefix?: string;
  /** Between two warnings while Redis fails (default 5 s). */
  logIntervalMs?: number;
  /** Between two tries of a failing Redis (default 250 ms). */
  probeIntervalMs?: number;
}

type ErrorKind = StoreErrorKind | 'skipped';

const ERRORS_METRIC = 'gateway_rate_limit_store_errors_total';
const UP_METRIC = 'gateway_rate_limit_store_up';

export class ResilientRateLimitStore implements ManagedRateLimitStore {
  readonly #redis: RedisRateLimitStore;
  readonly #local = new MemoryRateLimitStore();
  readonly #onError: OnStoreError;
  readonly #logger: Logger;
  readonly #url: string;
  readonly #errors: Counter<'op' | 'kind'>;
  readonly #logIntervalMs: number;
  readonly #probeIntervalMs: number;
  readonly #onUpChange: (up: boolean) => void;
  #down = false;
  #lastError: string | null = null;
  #nextProbeAt = 0;
  #loggedAt = -Infinity;
  #unlogged = 0;

  constructor(options: ResilientStoreOptions) {
    this.#onError = options.onError;
    this.#logger = options.logger;
    this.#url = options.redis.url;
    this.#logIntervalMs = options.logIntervalMs ?? 5_000;
    this.#probeIntervalMs = options.probeIntervalMs ?? 250;
    this.#errors = metricOnce(options.registry, ERRORS_METRIC, () =>
      new Counter({
        name: ERRORS_METRIC,
        help: 'Rate-limit calls that did not reach the shared store (Redis), by operation and error kind (skipped = not tried while it fails)',
        labelNames: ['op', 'kind'] as const,
        registers: [options.registry],
      }),
    );
    const up = metricOnce(options.registry, UP_METRIC, () =>
      new Gauge({ name: UP_METRIC, help: '1 while the shared rate-limit store (Redis) answers, 0 while RATE_LIMIT_ON_STORE_ERROR applies', registers: [options.registry] }),
    );
    up.set(0);
    this.#onUpChange = (isUp) => up.set(isUp ? 1 : 0);
    this.#redis = new RedisRateLimitStore({
      url: options.redis.url,
      timeoutMs: options.redis.timeoutMs,
      keyPrefix: options.keyPrefix,
      onReady: () => this.#recovered(),
      onConnectionError: (err) => this.#connectionFailed(err),
    });
  }

  async reserve(key: string, limits: Limits, tokens: number, nowMs: number): Promise<RateLimitDecision> {
    reservationCost(tokens);
    if (this.#shouldTry()) {
      try {
        const decision = await this.#redis.reserve(key, limits, tokens, nowMs);
        this.#recovered();
        return decision;
      } catch (err) {
        this.#failed('reserve', err);
      }
    } else {
      this.#errors.inc({ op: 'reserve', kind: 'skipped' });
    }
    return this.#fallback(key, limits, tokens, nowMs);
  }

  async settle(reservation: Reservation, actualTokens: number | undefined, nowMs: number): Promise<void> {
    try {
      if (!(reservation instanceof RedisReservation)) return await this.#local.settle(reservation, actualTokens, nowMs);
      if (!this.#shouldTry()) {
        // The buckets are in Redis; a settlement that cannot reach them is lost (the reservation stands there).
        if (!reservation.settled && reservation.generation !== undefined) this.#errors.inc({ op: 'settle', kind: 'skipped' });
        reservation.settled = true;
        return;
      }
      await this.#redis.settle(reservation, actualTokens, nowMs);
    } catch (err) {
      this.#failed('settle', err);
    }
  }

  /** Connected to Redis and past its ready check (a connected Redis may still be frozen: see status()). */
  get connected(): boolean {
    return this.#redis.ready;
  }

  status(): StoreStatus {
    // Down until the first connection too: until then RATE_LIMIT_ON_STORE_ERROR may apply.
    const up = !this.#down && this.#redis.everReady;
    return { kind: 'redis', state: up ? 'ok' : 'down', onError: this.#onError, lastError: this.#lastError };
  }

  async close(): Promise<void> {
    await this.#redis.close();
  }

  #shouldTry(): boolean {
    if (!this.#down) return true;
    const now = performance.now();
    if (now < this.#nextProbeAt) return false;
    this.#nextProbeAt = now + this.#probeIntervalMs;
    return true;
  }

  #fallback(key: string, limits: Limits, tokens: number, nowMs: number): Promise<RateLimitDecision> | RateLimitDecision {
    if (this.#onError === 'local') return this.#local.reserve(key, limits, tokens, nowMs);
    if (this.#onError === 'open') return { allowed: true };
    const retryAfterS = Math.max(1, Math.ceil(this.#probeIntervalMs / 1000));
    throw new GatewayError(503, 'The rate-limit store is unavailable; retry shortly.', {
      type: 'server_error',
      code: 'rate_limit_store_unavailable',
      headers: { 'retry-after': String(retryAfterS) },
    });
  }

  #failed(op: 'reserve' | 'settle', err: unknown): void {
    const kind: ErrorKind = storeErrorKind(err);
    this.#errors.inc({ op, kind });
    this.#markDown(kind, err instanceof Error ? err.message : String(err), op);
  }

  #connectionFailed(err: Error): void {
    this.#markDown(storeErrorKind(err), err.message, 'connect');
  }

  #markDown(kind: ErrorKind, message: string, op: string): void {
    this.#lastError = `${kind}: ${scrubSecrets(message, this.#url)}`;
    if (!this.#down) {
      this.#down = true;
      this.#nextProbeAt = performance.now() + this.#probeIntervalMs;
      this.#onUpChange(false);
    }
    const now = performance.now();
    if (now - this.#loggedAt < this.#logIntervalMs) {
      this.#unlogged++;
      return;
    }
    this.#loggedAt = now;
    this.#logger.warn(
      { op, kind, error: this.#lastError, onStoreError: this.#onError, suppressed: this.#unlogged },
      `rate-limit store (Redis) failing: ${this.#onError === 'local' ? 'this replica limits on its own' : this.#onError === 'open' ? 'requests pass without limits' : 'requests get 503'}`,
    );
    this.#unlogged = 0;
  }

  #recovered(): void {
    this.#onUpChange(true);
    if (!this.#down) return;
    this.#down = false;
    this.#nextProbeAt = 0;
    this.#logger.info({ lastError: this.#lastError }, 'rate-limit store (Redis) answering again: limits are shared');
  }
}

function metricOnce<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

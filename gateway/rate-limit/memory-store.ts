/**
 * @module rate-limit/memory-store
 * Per-key token buckets in this process's memory: one gateway replica (the T4 serves one).
 *
 * Each limited dimension of a key is a bucket whose capacity is the per-minute limit and which refills
 * continuously at limit/60 000 per ms, so a key may burst up to its whole minute and then runs at the
 * limit's pace. Levels are kept in unit·ms (a unit is 60 000 of them) so that, with whole-millisecond
 * clocks, every level is an exact integer: "exactly N requests per minute" holds without float drift.
 *
 * Bounded: one entry per key name, and entries whose buckets have refilled completely (which are the
 * same as no entry) are swept at most once a minute.
 */
import { limitOf, reservationCost, type Limits, type RateLimitDecision, type RateLimitState, type RateLimitStore, type Reservation } from './store.js';

const MINUTE_MS = 60_000;
/** One unit (a request, a token) in bucket units. */
const UNIT = MINUTE_MS;

interface Bucket {
  /** Per-minute limit as of the last reserve; also the refill rate in bucket units per ms. */
  limit: number;
  level: number;
  atMs: number;
}

interface KeyBuckets {
  requests?: Bucket;
  tokens?: Bucket;
}

class MemoryReservation implements Reservation {
  settled = false;
  constructor(
    readonly key: string,
    readonly tokens: number,
    /** The bucket the tokens were taken from; undefined when TPM was unlimited. */
    readonly bucket: Bucket | undefined,
  ) {}
}

function refill(b: Bucket, nowMs: number): void {
  const capacity = b.limit * UNIT;
  // A clock that steps back refills nothing and does not move the bucket's time back.
  if (nowMs > b.atMs) {
    b.level = Math.min(capacity, b.level + (nowMs - b.atMs) * b.limit);
    b.atMs = nowMs;
  }
  b.level = Math.min(capacity, b.level);
}

/** Brings a dimension's bucket up to date under its current limit; removes it when the dimension is unlimited. */
function current(buckets: KeyBuckets, dim: 'requests' | 'tokens', limit: number, nowMs: number): Bucket | undefined {
  if (limit === 0) {
    delete buckets[dim];
    return undefined;
  }
  let b = buckets[dim];
  if (!b) {
    b = { limit, level: limit * UNIT, atMs: nowMs };
    buckets[dim] = b;
  }
  refill(b, nowMs);
  b.limit = limit;
  b.level = Math.min(limit * UNIT, b.level);
  return b;
}

/** Time until `need` units are in the bucket (0 when they are). */
const waitMs = (b: Bucket, need: number): number => (b.level >= need ? 0 : Math.ceil((need - b.level) / b.limit));

const state = (b: Bucket): RateLimitState => ({
  limit: b.limit,
  remaining: Math.max(0, Math.floor(b.level / UNIT)),
  resetMs: Math.ceil((b.limit * UNIT - b.level) / b.limit),
});

export class MemoryRateLimitStore implements RateLimitStore {
  readonly #keys = new Map<string, KeyBuckets>();
  #sweptAtMs = -Infinity;

  /** Number of keys with live buckets (for tests and diagnostics). */
  get size(): number {
    return this.#keys.size;
  }

  async reserve(key: string, limits: Limits, tokens: number, nowMs: number): Promise<RateLimitDecision> {
    const cost = reservationCost(tokens);
    this.#sweep(nowMs);
    const rpm = limitOf(limits.rpm);
    const tpm = limitOf(limits.tpm);
    let buckets = this.#keys.get(key);
    if (!buckets) {
      if (rpm === 0 && tpm === 0) return { allowed: true, reservation: new MemoryReservation(key, cost, undefined) };
      buckets = {};
      this.#keys.set(key, buckets);
    }
    const req = current(buckets, 'requests', rpm, nowMs);
    const tok = current(buckets, 'tokens', tpm, nowMs);
    if (!req && !tok) this.#keys.delete(key);

    const decide = (allowed: boolean): RateLimitDecision => {
      const d: RateLimitDecision = { allowed };
      if (req) d.requests = state(req);
      if (tok) d.tokens = state(tok);
      return d;
    };

    if (tok && cost > tok.limit) return { ...decide(false), reason: 'tokens_exceed_limit' };
    const reqWait = req ? waitMs(req, UNIT) : 0;
    const tokWait = tok ? waitMs(tok, cost * UNIT) : 0;
    if (reqWait > 0 || tokWait > 0) {
      return { ...decide(false), reason: tokWait > reqWait ? 'tokens' : 'requests', retryAfterMs: Math.max(reqWait, tokWait) };
    }

    if (req) req.level -= UNIT;
    if (tok) tok.level -= cost * UNIT;
    return { ...decide(true), reservation: new MemoryReservation(key, cost, tok) };
  }

  async settle(reservation: Reservation, actualTokens: number | undefined, nowMs: number): Promise<void> {
    if (!(reservation instanceof MemoryReservation) || reservation.settled) return;
    reservation.settled = true;
    // Unknown usage (or nonsense) keeps the whole reservation: the conservative side.
    if (actualTokens === undefined || !Number.isFinite(actualTokens) || actualTokens < 0) return;
    const b = reservation.bucket;
    // The bucket may have been swept (it was full) or replaced (the limit was turned off and on): nothing to return to.
    if (!b || this.#keys.get(reservation.key)?.tokens !== b) return;
    refill(b, nowMs);
    // A refund never fills past capacity; an excess (the estimate was low) is charged and may leave a debt.
    b.level = Math.min(b.limit * UNIT, b.level + (reservation.tokens - Math.ceil(actualTokens)) * UNIT);
  }

  #sweep(nowMs: number): void {
    if (nowMs - this.#sweptAtMs < MINUTE_MS) return;
    this.#sweptAtMs = nowMs;
    for (const [key, buckets] of this.#keys) {
      let full = true;
      for (const b of [buckets.requests, buckets.tokens]) {
        if (b && Math.min(b.limit * UNIT, b.level + Math.max(0, nowMs - b.atMs) * b.limit) < b.limit * UNIT) full = false;
      }
      if (full) this.#keys.delete(key);
    }
  }
}

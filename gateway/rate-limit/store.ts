/**
 * @module rate-limit/store
 * The per-key rate-limit contract: requests per minute and tokens per minute.
 *
 * Tokens are reserved before the request goes upstream (prompt estimate + max_tokens) and settled with
 * the real usage when the answer ends, so a limit holds for the request that crosses it, not "from the
 * next one" (peers.md 3G: Higress and Envoy AI Gateway count tokens after the fact and let a burst of
 * concurrent requests through). Small enough that a Redis implementation (one Lua script per call) can
 * follow for several replicas.
 */

/** Per-minute limits of one key; 0 or undefined = that dimension is unlimited. */
export interface Limits {
  rpm?: number;
  tpm?: number;
}

/** What `settle` needs to reconcile a reservation. Opaque to callers beyond these fields. */
export interface Reservation {
  readonly key: string;
  readonly tokens: number;
}

/** One limited dimension, as the x-ratelimit-* headers report it. */
export interface RateLimitState {
  limit: number;
  /** Whole units left now, after this request's reservation when it was allowed. */
  remaining: number;
  /** Time until the dimension is back to its full limit. */
  resetMs: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Present when that dimension is limited. */
  requests?: RateLimitState;
  tokens?: RateLimitState;
  /** When refused and the request could pass later: how long until it would. Absent for `tokens_exceed_limit`. */
  retryAfterMs?: number;
  /** Which dimension refused. `tokens_exceed_limit`: the reservation alone exceeds the key's TPM; it can never pass. */
  reason?: 'requests' | 'tokens' | 'tokens_exceed_limit';
  /** When allowed: hand it to `settle` when the answer ends. */
  reservation?: Reservation;
}

export interface RateLimitStore {
  /** Checks both dimensions, then takes both; a refusal takes nothing. */
  reserve(key: string, limits: Limits, tokens: number, nowMs: number): Promise<RateLimitDecision>;
  /**
   * Reconciles a reservation with the real usage: refunds the unused part, or charges the excess when the
   * estimate was low. `undefined` = usage unknown (a stream that died early): the reservation stands.
   * Settling the same reservation twice has no further effect.
   */
  settle(reservation: Reservation, actualTokens: number | undefined, nowMs: number): Promise<void>;
}

/** A configured per-minute limit, or 0 when that dimension is unlimited (0, undefined, negative or not finite). */
export const limitOf = (n: number | undefined): number => (n !== undefined && Number.isFinite(n) && n > 0 ? n : 0);

/** The whole tokens a reservation takes: estimates are rounded up; a negative or non-finite estimate is a bug upstream. */
export function reservationCost(tokens: number): number {
  if (!Number.isFinite(tokens) || tokens < 0) throw new RangeError(`reserve: tokens must be a non-negative number, got ${tokens}`);
  return Math.ceil(tokens);
}

/**
 * @module pipeline/limits
 * A key's own rate limits around one call: reserve the prompt estimate plus the answer's token limit up
 * front (429 when refused, with OpenAI's headers), settle with vLLM's usage when the call ends. The
 * settle runs after the client has its answer and may fail once the store is remote (Redis): it is
 * caught, counted and logged, never an unhandled rejection (issue 9).
 */
import type { ApiKey } from '../auth/keys.js';
import type { Call } from '../call/call.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { rateLimitHeaders } from '../rate-limit/headers.js';
import type { RateLimitStore, Reservation } from '../rate-limit/store.js';

export interface LimitsOptions {
  rpm: number;
  tpm: number;
  defaultMaxTokens: number;
}

export class KeyLimits {
  readonly #store: RateLimitStore;
  readonly #opts: LimitsOptions;
  readonly #logger: Logger;
  readonly #onSettleError: () => void;

  constructor(store: RateLimitStore, options: LimitsOptions, logger: Logger, onSettleError: () => void) {
    this.#store = store;
    this.#opts = options;
    this.#logger = logger;
    this.#onSettleError = onSettleError;
  }

  /** Takes the call's share of its key's limits, or throws the 429. Undefined when the key is unlimited. */
  async reserve(call: Call, principal: ApiKey, promptTokens: number, maxTokens: number | undefined): Promise<Reservation | undefined> {
    const rpm = principal.rpm ?? this.#opts.rpm;
    const tpm = principal.tpm ?? this.#opts.tpm;
    if (rpm <= 0 && tpm <= 0) return undefined;
    const cost = promptTokens + (maxTokens ?? this.#opts.defaultMaxTokens);
    const decision = await this.#store.reserve(principal.name, { rpm, tpm }, cost, Date.now());
    call.addHeaders(rateLimitHeaders(decision));
    if (!decision.allowed) {
      call.rejection = decision.reason === 'requests' ? 'rate_limit_requests' : 'rate_limit_tokens';
      throw rateLimited(decision.reason);
    }
    return decision.reservation;
  }

  /** Fire and forget: `actual` undefined keeps the whole reservation (usage unknown after an answer began). */
  settle(reservation: Reservation, actual: number | undefined, callId: string): void {
    let pending: Promise<void>;
    try {
      pending = this.#store.settle(reservation, actual, Date.now());
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.catch((err: unknown) => {
      this.#onSettleError();
      this.#logger.warn({ reqId: callId, err: err instanceof Error ? err.message : String(err) }, 'rate-limit settle failed');
    });
  }
}

function rateLimited(reason: string | undefined): GatewayError {
  const tokens = reason === 'tokens' || reason === 'tokens_exceed_limit';
  const message =
    reason === 'tokens_exceed_limit'
      ? 'This request alone needs more tokens than your key may use per minute; lower max_tokens or the prompt size.'
      : `Rate limit reached for ${tokens ? 'tokens' : 'requests'} per minute on this API key; retry after the time in Retry-After.`;
  // The call carries the x-ratelimit-* and retry-after headers; every answer to it gets them.
  return new GatewayError(429, message, { type: tokens ? 'tokens' : 'requests', code: 'rate_limit_exceeded' });
}

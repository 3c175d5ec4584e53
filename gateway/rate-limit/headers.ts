/**
 * @module rate-limit/headers
 * OpenAI's rate-limit headers for a decision: `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` for
 * each limited dimension, and `retry-after` (whole seconds, at least 1) when a request was refused and
 * could pass later. The OpenAI SDKs honour `retry-after` when retrying a 429.
 */
import type { RateLimitDecision, RateLimitState } from './store.js';

export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const headers: Record<string, string> = {};
  const put = (dim: 'requests' | 'tokens', s: RateLimitState | undefined) => {
    if (!s) return;
    headers[`x-ratelimit-limit-${dim}`] = String(s.limit);
    headers[`x-ratelimit-remaining-${dim}`] = String(s.remaining);
    headers[`x-ratelimit-reset-${dim}`] = formatDuration(s.resetMs);
  };
  put('requests', decision.requests);
  put('tokens', decision.tokens);
  // A request that alone exceeds the key's TPM has no retryAfterMs: waiting would not help, so no retry-after.
  if (!decision.allowed && decision.retryAfterMs !== undefined) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
  }
  return headers;
}

/**
 * A duration as OpenAI writes it in x-ratelimit-reset-* (Go's time.Duration format at millisecond
 * precision): `250ms`, `1s`, `8.64s`, `6m0s`, `1m30.5s`, `1h0m0s`; `0s` for nothing left to wait.
 */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const restMs = total % 60_000;
  const s = `${Math.floor(restMs / 1000)}${restMs % 1000 ? `.${String(restMs % 1000).padStart(3, '0').replace(/0+$/, '')}` : ''}s`;
  if (h > 0) return `${h}h${m}m${s}`;
  if (m > 0) return `${m}m${s}`;
  return s;
}

import { describe, expect, it } from 'vitest';
import { formatDuration, rateLimitHeaders } from '../../../gateway/rate-limit/headers.js';

describe('formatDuration (OpenAI x-ratelimit-reset-* format)', () => {
  it.each([
    [0, '0s'],
    [-5, '0s'],
    [0.2, '1ms'],
    [250, '250ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [8640, '8.64s'],
    [1001, '1.001s'],
    [59_999, '59.999s'],
    [60_000, '1m0s'],
    [90_000, '1m30s'],
    [90_500, '1m30.5s'],
    [360_000, '6m0s'],
    [3_600_000, '1h0m0s'],
    [3_723_000, '1h2m3s'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('rateLimitHeaders', () => {
  it('reports both dimensions when both are limited, without retry-after when allowed', () => {
    expect(
      rateLimitHeaders({
        allowed: true,
        requests: { limit: 60, remaining: 59, resetMs: 1000 },
        tokens: { limit: 10_000, remaining: 9_000, resetMs: 6_000 },
      }),
    ).toEqual({
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-reset-requests': '1s',
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': '9000',
      'x-ratelimit-reset-tokens': '6s',
    });
  });

  it('reports only the limited dimension', () => {
    expect(Object.keys(rateLimitHeaders({ allowed: true, tokens: { limit: 5, remaining: 5, resetMs: 0 } }))).toEqual([
      'x-ratelimit-limit-tokens',
      'x-ratelimit-remaining-tokens',
      'x-ratelimit-reset-tokens',
    ]);
    expect(rateLimitHeaders({ allowed: true })).toEqual({});
  });

  it('adds retry-after in whole seconds, rounded up and at least 1, when refused', () => {
    const refused = (retryAfterMs: number) =>
      rateLimitHeaders({ allowed: false, reason: 'requests', retryAfterMs, requests: { limit: 3, remaining: 0, resetMs: 59_700 } });
    expect(refused(19_700)).toEqual({
      'x-ratelimit-limit-requests': '3',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '59.7s',
      'retry-after': '20',
    });
    expect(refused(20_000)['retry-after']).toBe('20');
    expect(refused(20_001)['retry-after']).toBe('21');
    expect(refused(1)['retry-after']).toBe('1');
    expect(refused(0)['retry-after']).toBe('1');
  });

  it('no retry-after for a request that can never pass', () => {
    const h = rateLimitHeaders({ allowed: false, reason: 'tokens_exceed_limit', tokens: { limit: 50, remaining: 50, resetMs: 0 } });
    expect(h['retry-after']).toBeUndefined();
    expect(h['x-ratelimit-limit-tokens']).toBe('50');
  });
});

import { describe, expect, it } from 'vitest';
import { MemoryRateLimitStore } from '../../../gateway/rate-limit/memory-store.js';
import type { RateLimitDecision, Reservation } from '../../../gateway/rate-limit/store.js';

const T0 = 1_700_000_000_000;

function reservationOf(d: RateLimitDecision): Reservation {
  expect(d.allowed).toBe(true);
  if (!d.reservation) throw new Error('allowed without a reservation');
  return d.reservation;
}

describe('requests per minute', () => {
  it('lets exactly N through within a minute, then refuses with remaining, reset and retry-after', async () => {
    const store = new MemoryRateLimitStore();
    const remaining: number[] = [];
    for (let i = 0; i < 3; i++) {
      const d = await store.reserve('a', { rpm: 3 }, 10, T0 + i * 100);
      expect(d.allowed).toBe(true);
      remaining.push(d.requests!.remaining);
    }
    expect(remaining).toEqual([2, 1, 0]);
    const refused = await store.reserve('a', { rpm: 3 }, 10, T0 + 300);
    // Three requests taken at T0, +100, +200; by +300 the bucket has refilled 300 ms × 3/60 000 per ms = 0.015.
    expect(refused).toEqual({
      allowed: false,
      reason: 'requests',
      requests: { limit: 3, remaining: 0, resetMs: 60_000 - 300 },
      retryAfterMs: 20_000 - 300,
    });
    expect(refused.tokens).toBeUndefined();
    expect(refused.reservation).toBeUndefined();
  });

  it('refills continuously: one request per limit/60 s, and the full limit after a minute', async () => {
    const store = new MemoryRateLimitStore();
    for (let i = 0; i < 3; i++) await store.reserve('a', { rpm: 3 }, 0, T0);
    expect((await store.reserve('a', { rpm: 3 }, 0, T0 + 19_999)).allowed).toBe(false);
    const one = await store.reserve('a', { rpm: 3 }, 0, T0 + 20_000);
    expect(one.allowed).toBe(true);
    expect(one.requests!.remaining).toBe(0);
    expect((await store.reserve('a', { rpm: 3 }, 0, T0 + 20_001)).allowed).toBe(false);
    // A minute after the last take, the bucket is full again: a burst of three passes.
    const later = T0 + 80_000;
    const burst = await Promise.all([0, 1, 2, 3].map(() => store.reserve('a', { rpm: 3 }, 0, later)));
    expect(burst.map((d) => d.allowed)).toEqual([true, true, true, false]);
  });

  it('keeps each key to its own budget', async () => {
    const store = new MemoryRateLimitStore();
    expect((await store.reserve('a', { rpm: 1 }, 0, T0)).allowed).toBe(true);
    expect((await store.reserve('a', { rpm: 1 }, 0, T0)).allowed).toBe(false);
    expect((await store.reserve('b', { rpm: 1 }, 0, T0)).allowed).toBe(true);
  });

  it('a refusal takes nothing from either dimension', async () => {
    const store = new MemoryRateLimitStore();
    const limits = { rpm: 2, tpm: 100 };
    reservationOf(await store.reserve('a', limits, 90, T0));
    // Refused for tokens: the request slot it would have used stays.
    const refused = await store.reserve('a', limits, 50, T0);
    expect(refused).toMatchObject({ allowed: false, reason: 'tokens', requests: { remaining: 1 }, tokens: { remaining: 10 } });
    const small = await store.reserve('a', limits, 10, T0);
    expect(small).toMatchObject({ allowed: true, requests: { remaining: 0 }, tokens: { remaining: 0 } });
    // Refused for requests: the tokens stay.
    const store2 = new MemoryRateLimitStore();
    reservationOf(await store2.reserve('b', limits, 1, T0));
    reservationOf(await store2.reserve('b', limits, 1, T0));
    expect(await store2.reserve('b', limits, 5, T0)).toMatchObject({ allowed: false, reason: 'requests', tokens: { remaining: 98 } });
  });

  it('unlimited dimensions are absent from the decision', async () => {
    const store = new MemoryRateLimitStore();
    const d = await store.reserve('a', {}, 1_000_000, T0);
    expect(d.allowed).toBe(true);
    expect(d.requests).toBeUndefined();
    expect(d.tokens).toBeUndefined();
    expect(store.size).toBe(0);
    const zero = await store.reserve('a', { rpm: 0, tpm: 0 }, 5, T0);
    expect(zero.allowed).toBe(true);
  });
});

describe('tokens per minute', () => {
  it('reserves up front, so concurrent requests cannot overshoot the budget', async () => {
    const store = new MemoryRateLimitStore();
    const decisions = await Promise.all([0, 1, 2, 3, 4].map(() => store.reserve('t', { tpm: 100 }, 30, T0)));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect(decisions[2]!.tokens).toEqual({ limit: 100, remaining: 10, resetMs: 54_000 });
    // 20 more tokens at 100/min: 12 s.
    expect(decisions[3]).toMatchObject({ reason: 'tokens', retryAfterMs: 12_000 });
  });

  it('settling with the real usage refunds the unused part', async () => {
    const store = new MemoryRateLimitStore();
    const r = reservationOf(await store.reserve('t', { tpm: 100 }, 80, T0));
    expect(r.tokens).toBe(80);
    expect((await store.reserve('t', { tpm: 100 }, 50, T0)).allowed).toBe(false);
    await store.settle(r, 25, T0);
    const next = await store.reserve('t', { tpm: 100 }, 50, T0);
    expect(next).toMatchObject({ allowed: true, tokens: { remaining: 25 } });
  });

  it('keeps the whole reservation when usage is unknown', async () => {
    const store = new MemoryRateLimitStore();
    const r = reservationOf(await store.reserve('t', { tpm: 100 }, 80, T0));
    await store.settle(r, undefined, T0);
    expect(await store.reserve('t', { tpm: 100 }, 30, T0)).toMatchObject({ allowed: false, reason: 'tokens', tokens: { remaining: 20 } });
  });

  it('charges usage above the reservation, which delays the next request', async () => {
    const store = new MemoryRateLimitStore();
    const r = reservationOf(await store.reserve('t', { tpm: 100 }, 40, T0));
    await store.settle(r, 90, T0);
    expect(await store.reserve('t', { tpm: 100 }, 20, T0)).toMatchObject({ allowed: false, tokens: { remaining: 10 }, retryAfterMs: 6_000 });
  });

  it('a refund never fills the bucket past its limit, and settling twice does nothing more', async () => {
    const store = new MemoryRateLimitStore();
    const r = reservationOf(await store.reserve('t', { tpm: 100 }, 60, T0));
    // 59 s later the bucket has refilled to its limit; refunding 60 must not make it 160.
    await store.settle(r, 0, T0 + 59_000);
    expect(await store.reserve('t', { tpm: 100 }, 100, T0 + 59_000)).toMatchObject({ allowed: true, tokens: { remaining: 0 } });
    const r2 = reservationOf(await store.reserve('u', { tpm: 100 }, 50, T0));
    await store.settle(r2, 10, T0);
    await store.settle(r2, 10, T0);
    await store.settle(r2, 0, T0);
    expect((await store.reserve('u', { tpm: 100 }, 0, T0)).tokens!.remaining).toBe(90);
  });

  it('a reservation larger than the whole TPM can never pass: tokens_exceed_limit, no retry time', async () => {
    const store = new MemoryRateLimitStore();
    const d = await store.reserve('t', { rpm: 5, tpm: 50 }, 51, T0);
    expect(d).toEqual({
      allowed: false,
      reason: 'tokens_exceed_limit',
      requests: { limit: 5, remaining: 5, resetMs: 0 },
      tokens: { limit: 50, remaining: 50, resetMs: 0 },
    });
    expect((await store.reserve('t', { rpm: 5, tpm: 50 }, 50, T0)).allowed).toBe(true);
  });

  it('rounds fractional estimates up and rejects nonsense', async () => {
    const store = new MemoryRateLimitStore();
    expect(reservationOf(await store.reserve('t', { tpm: 10 }, 2.1, T0)).tokens).toBe(3);
    await expect(store.reserve('t', { tpm: 10 }, -1, T0)).rejects.toThrow(RangeError);
    await expect(store.reserve('t', { tpm: 10 }, Number.NaN, T0)).rejects.toThrow(RangeError);
  });
});

describe('limit changes and memory', () => {
  it('a lowered limit caps the level; a raised one refills toward the new limit', async () => {
    const store = new MemoryRateLimitStore();
    await store.reserve('k', { rpm: 10 }, 0, T0);
    expect((await store.reserve('k', { rpm: 2 }, 0, T0)).requests).toMatchObject({ limit: 2, remaining: 1 });
    const raised = await store.reserve('k', { rpm: 4 }, 0, T0);
    expect(raised.requests).toMatchObject({ limit: 4, remaining: 0, resetMs: 60_000 });
  });

  it('keeps one entry per key and sweeps keys whose buckets have refilled', async () => {
    const store = new MemoryRateLimitStore();
    for (let i = 0; i < 50; i++) await store.reserve(`key-${i}`, { rpm: 5 }, 0, T0);
    for (let i = 0; i < 50; i++) await store.reserve(`key-${i}`, { rpm: 5 }, 0, T0 + 1);
    expect(store.size).toBe(50);
    // Two minutes on, all are full again; the next reserve sweeps them and keeps only its own key.
    await store.reserve('key-0', { rpm: 5 }, 0, T0 + 120_000);
    expect(store.size).toBe(1);
  });

  it('a clock that steps back refills nothing', async () => {
    const store = new MemoryRateLimitStore();
    await store.reserve('k', { rpm: 1 }, 0, T0);
    expect((await store.reserve('k', { rpm: 1 }, 0, T0 - 120_000)).allowed).toBe(false);
    expect((await store.reserve('k', { rpm: 1 }, 0, T0 + 60_000)).allowed).toBe(true);
  });
});

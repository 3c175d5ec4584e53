/**
 * The rate-limit store contract, run against every store (memory-store.test.ts, redis-store.test.ts).
 *
 * Time: the memory store takes its clock as an argument, so its harness moves a fake clock and every
 * figure is exact (slackMs 0). The Redis store reads Redis's clock, so its harness really waits and
 * time-derived figures (resetMs, retryAfterMs) may have run down by the real time the test took: they
 * are checked within [expected − slackMs, expected]. Limits are chosen so that whole units (remaining,
 * allowed) do not change within that slack, and tests that need time to pass use rates fast enough to
 * wait for (60 RPM = one request a second).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RateLimitDecision, RateLimitStore, Reservation } from '../../../gateway/rate-limit/store.js';

export interface ContractHarness {
  store: RateLimitStore;
  /** The `nowMs` to pass. */
  now(): number;
  /** Lets `ms` pass for the store. */
  advance(ms: number): Promise<void>;
  /** How much lower than exact a time-derived figure may be. */
  slackMs: number;
  close?(): Promise<void>;
}

export function reservationOf(d: RateLimitDecision): Reservation {
  expect(d.allowed).toBe(true);
  if (!d.reservation) throw new Error('allowed without a reservation');
  return d.reservation;
}

export function rateLimitStoreContract(setup: () => Promise<ContractHarness>): void {
  let h: ContractHarness;
  beforeEach(async () => {
    h = await setup();
  });
  afterEach(async () => {
    await h.close?.();
  });
  const reserve = (key: string, limits: { rpm?: number; tpm?: number }, tokens: number) => h.store.reserve(key, limits, tokens, h.now());
  const settle = (r: Reservation, actual: number | undefined) => h.store.settle(r, actual, h.now());
  const expectMs = (actual: number | undefined, expected: number) => {
    expect(actual).toBeDefined();
    expect(actual!).toBeLessThanOrEqual(expected);
    expect(actual!).toBeGreaterThanOrEqual(expected - h.slackMs);
  };

  describe('requests per minute', () => {
    it('lets exactly N through within a minute, then refuses with remaining, reset and retry-after', async () => {
      const remaining: number[] = [];
      for (let i = 0; i < 3; i++) {
        if (i > 0) await h.advance(100);
        const d = await reserve('a', { rpm: 3 }, 10);
        expect(d.allowed).toBe(true);
        remaining.push(d.requests!.remaining);
      }
      expect(remaining).toEqual([2, 1, 0]);
      await h.advance(100);
      const refused = await reserve('a', { rpm: 3 }, 10);
      // Taken at 0, +100, +200; by +300 the bucket has refilled 300 ms × 3/60 000 per ms = 0.015 of a request.
      expect(refused).toMatchObject({ allowed: false, reason: 'requests', requests: { limit: 3, remaining: 0 } });
      expectMs(refused.requests!.resetMs, 60_000 - 300);
      expectMs(refused.retryAfterMs, 20_000 - 300);
      expect(refused.tokens).toBeUndefined();
      expect(refused.reservation).toBeUndefined();
    });

    it('refills continuously: one request per limit/60 s, and a burst of what has refilled', async () => {
      const limits = { rpm: 60 };
      const burst = await Promise.all(Array.from({ length: 61 }, () => reserve('a', limits, 0)));
      expect(burst.filter((d) => d.allowed)).toHaveLength(60);
      expect(burst[60]).toMatchObject({ allowed: false, reason: 'requests' });
      expectMs(burst[60]!.retryAfterMs, 1_000);
      await h.advance(1_000);
      const one = await reserve('a', limits, 0);
      expect(one).toMatchObject({ allowed: true, requests: { remaining: 0 } });
      expect((await reserve('a', limits, 0)).allowed).toBe(false);
      await h.advance(3_000);
      const three = await Promise.all([0, 1, 2, 3].map(() => reserve('a', limits, 0)));
      expect(three.map((d) => d.allowed)).toEqual([true, true, true, false]);
    });

    it('keeps each key to its own budget', async () => {
      expect((await reserve('a', { rpm: 1 }, 0)).allowed).toBe(true);
      expect((await reserve('a', { rpm: 1 }, 0)).allowed).toBe(false);
      expect((await reserve('b', { rpm: 1 }, 0)).allowed).toBe(true);
    });

    it('a refusal takes nothing from either dimension', async () => {
      const limits = { rpm: 2, tpm: 100 };
      reservationOf(await reserve('a', limits, 90));
      // Refused for tokens: the request slot it would have used stays.
      const refused = await reserve('a', limits, 50);
      expect(refused).toMatchObject({ allowed: false, reason: 'tokens', requests: { remaining: 1 }, tokens: { remaining: 10 } });
      const small = await reserve('a', limits, 10);
      expect(small).toMatchObject({ allowed: true, requests: { remaining: 0 }, tokens: { remaining: 0 } });
      // Refused for requests: the tokens stay.
      reservationOf(await reserve('b', limits, 1));
      reservationOf(await reserve('b', limits, 1));
      expect(await reserve('b', limits, 5)).toMatchObject({ allowed: false, reason: 'requests', tokens: { remaining: 98 } });
    });

    it('unlimited dimensions are absent from the decision', async () => {
      const d = await reserve('a', {}, 1_000_000);
      expect(d.allowed).toBe(true);
      expect(d.requests).toBeUndefined();
      expect(d.tokens).toBeUndefined();
      expect((await reserve('a', { rpm: 0, tpm: 0 }, 5)).allowed).toBe(true);
      const rpmOnly = await reserve('a', { rpm: 2 }, 5);
      expect(rpmOnly.tokens).toBeUndefined();
      expect(rpmOnly.requests).toMatchObject({ limit: 2, remaining: 1 });
    });
  });

  describe('tokens per minute', () => {
    it('reserves up front, so concurrent requests cannot overshoot the budget', async () => {
      const decisions = await Promise.all([0, 1, 2, 3, 4].map(() => reserve('t', { tpm: 100 }, 30)));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
      expect(decisions[2]!.tokens).toMatchObject({ limit: 100, remaining: 10 });
      expectMs(decisions[2]!.tokens!.resetMs, 54_000);
      // 20 more tokens at 100/min: 12 s.
      expect(decisions[3]).toMatchObject({ reason: 'tokens' });
      expectMs(decisions[3]!.retryAfterMs, 12_000);
    });

    it('settling with the real usage refunds the unused part', async () => {
      const r = reservationOf(await reserve('t', { tpm: 100 }, 80));
      expect(r.tokens).toBe(80);
      expect((await reserve('t', { tpm: 100 }, 50)).allowed).toBe(false);
      await settle(r, 25);
      expect(await reserve('t', { tpm: 100 }, 50)).toMatchObject({ allowed: true, tokens: { remaining: 25 } });
    });

    it('keeps the whole reservation when usage is unknown', async () => {
      const r = reservationOf(await reserve('t', { tpm: 100 }, 80));
      await settle(r, undefined);
      expect(await reserve('t', { tpm: 100 }, 30)).toMatchObject({ allowed: false, reason: 'tokens', tokens: { remaining: 20 } });
    });

    it('charges usage above the reservation, which delays the next request', async () => {
      const r = reservationOf(await reserve('t', { tpm: 100 }, 40));
      await settle(r, 90);
      const next = await reserve('t', { tpm: 100 }, 20);
      expect(next).toMatchObject({ allowed: false, tokens: { remaining: 10 } });
      expectMs(next.retryAfterMs, 6_000);
    });

    it('a debt shows as zero remaining and a reset beyond a minute', async () => {
      const r = reservationOf(await reserve('t', { tpm: 100 }, 10));
      await settle(r, 150);
      const next = await reserve('t', { tpm: 100 }, 1);
      expect(next).toMatchObject({ allowed: false, reason: 'tokens', tokens: { remaining: 0 } });
      // 50 tokens owed: 30 s to get back to zero, 90 s to be full.
      expectMs(next.tokens!.resetMs, 90_000);
      expectMs(next.retryAfterMs, 30_600);
    });

    it('a refund never fills the bucket past its limit, and settling twice does nothing more', async () => {
      // 600 TPM refills 10 tokens a second: the 6 reserved are back after 600 ms.
      const r = reservationOf(await reserve('t', { tpm: 600 }, 6));
      await h.advance(700);
      await settle(r, 0);
      expect(await reserve('t', { tpm: 600 }, 600)).toMatchObject({ allowed: true, tokens: { remaining: 0 } });
      // Had the refund overfilled the bucket to 606, 5 more would pass.
      expect((await reserve('t', { tpm: 600 }, 5)).allowed).toBe(false);
      const r2 = reservationOf(await reserve('u', { tpm: 100 }, 50));
      await settle(r2, 10);
      await settle(r2, 10);
      await settle(r2, 0);
      expect((await reserve('u', { tpm: 100 }, 0)).tokens!.remaining).toBe(90);
    });

    it('a reservation larger than the whole TPM can never pass: tokens_exceed_limit, no retry time', async () => {
      const d = await reserve('t', { rpm: 5, tpm: 50 }, 51);
      expect(d).toEqual({
        allowed: false,
        reason: 'tokens_exceed_limit',
        requests: { limit: 5, remaining: 5, resetMs: 0 },
        tokens: { limit: 50, remaining: 50, resetMs: 0 },
      });
      expect((await reserve('t', { rpm: 5, tpm: 50 }, 50)).allowed).toBe(true);
    });

    it('rounds fractional estimates up and rejects nonsense', async () => {
      expect(reservationOf(await reserve('t', { tpm: 10 }, 2.1)).tokens).toBe(3);
      await expect(reserve('t', { tpm: 10 }, -1)).rejects.toThrow(RangeError);
      await expect(reserve('t', { tpm: 10 }, Number.NaN)).rejects.toThrow(RangeError);
    });

    it('a reservation from a bucket that was turned off and on again settles into nothing', async () => {
      const r = reservationOf(await reserve('t', { rpm: 10, tpm: 100 }, 80));
      await reserve('t', { rpm: 10 }, 0);
      expect((await reserve('t', { rpm: 10, tpm: 100 }, 10)).tokens!.remaining).toBe(90);
      await settle(r, 0);
      expect((await reserve('t', { rpm: 10, tpm: 100 }, 0)).tokens!.remaining).toBe(90);
    });
  });

  describe('limit changes', () => {
    it('a lowered limit caps the level; a raised one refills toward the new limit', async () => {
      await reserve('k', { rpm: 10 }, 0);
      expect((await reserve('k', { rpm: 2 }, 0)).requests).toMatchObject({ limit: 2, remaining: 1 });
      const raised = await reserve('k', { rpm: 4 }, 0);
      expect(raised.requests).toMatchObject({ limit: 4, remaining: 0 });
      expectMs(raised.requests!.resetMs, 60_000);
    });
  });
}

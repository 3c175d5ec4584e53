import { describe, expect, it } from 'vitest';
import { MemoryRateLimitStore } from '../../../gateway/rate-limit/memory-store.js';
import { rateLimitStoreContract } from './contract.js';

const T0 = 1_700_000_000_000;

describe('memory store: the store contract (fake clock, exact figures)', () => {
  rateLimitStoreContract(async () => {
    let now = T0;
    return {
      store: new MemoryRateLimitStore(),
      now: () => now,
      advance: async (ms) => {
        now += ms;
      },
      slackMs: 0,
    };
  });
});

describe('memory store: the clock is the caller’s', () => {
  it('refills to the millisecond: the fourth of 3 RPM passes exactly 20 s after the first', async () => {
    const store = new MemoryRateLimitStore();
    for (let i = 0; i < 3; i++) await store.reserve('a', { rpm: 3 }, 0, T0);
    expect((await store.reserve('a', { rpm: 3 }, 0, T0 + 19_999)).allowed).toBe(false);
    const one = await store.reserve('a', { rpm: 3 }, 0, T0 + 20_000);
    expect(one.allowed).toBe(true);
    expect(one.requests!.remaining).toBe(0);
    expect((await store.reserve('a', { rpm: 3 }, 0, T0 + 20_001)).allowed).toBe(false);
    // A minute after the last take, the bucket is full again: a burst of three passes.
    const burst = await Promise.all([0, 1, 2, 3].map(() => store.reserve('a', { rpm: 3 }, 0, T0 + 80_000)));
    expect(burst.map((d) => d.allowed)).toEqual([true, true, true, false]);
  });

  it('a refund 59 s later finds the bucket already full and does not overfill it', async () => {
    const store = new MemoryRateLimitStore();
    const r = (await store.reserve('t', { tpm: 100 }, 60, T0)).reservation!;
    await store.settle(r, 0, T0 + 59_000);
    expect(await store.reserve('t', { tpm: 100 }, 100, T0 + 59_000)).toMatchObject({ allowed: true, tokens: { remaining: 0 } });
  });

  it('a clock that steps back refills nothing', async () => {
    const store = new MemoryRateLimitStore();
    await store.reserve('k', { rpm: 1 }, 0, T0);
    expect((await store.reserve('k', { rpm: 1 }, 0, T0 - 120_000)).allowed).toBe(false);
    expect((await store.reserve('k', { rpm: 1 }, 0, T0 + 60_000)).allowed).toBe(true);
  });
});

describe('memory store: memory', () => {
  it('keeps nothing for unlimited keys', async () => {
    const store = new MemoryRateLimitStore();
    await store.reserve('a', {}, 1_000_000, T0);
    await store.reserve('a', { rpm: 0, tpm: 0 }, 5, T0);
    expect(store.size).toBe(0);
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
});

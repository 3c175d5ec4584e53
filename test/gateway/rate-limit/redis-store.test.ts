import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimitStore, scrubSecrets, storeErrorKind } from '../../../gateway/rate-limit/redis-store.js';
import { describeWithRedis, startRedis, type RedisServer } from '../../support/redis.js';
import { rateLimitStoreContract } from './contract.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function readyStore(url: string, extra: { keyPrefix?: string; timeoutMs?: number } = {}): Promise<RedisRateLimitStore> {
  const store = new RedisRateLimitStore({ url, timeoutMs: extra.timeoutMs ?? 1_000, keyPrefix: extra.keyPrefix });
  for (let i = 0; i < 200 && !store.ready; i++) await sleep(10);
  if (!store.ready) throw new Error('redis store not ready');
  return store;
}

describeWithRedis('redis store', () => {
  let redis: RedisServer;
  let admin: Redis;
  let n = 0;
  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await redis?.close();
  });

  describe('the store contract (Redis clock, real waiting)', () => {
    rateLimitStoreContract(async () => {
      const store = await readyStore(redis.url, { keyPrefix: `contract-${++n}:` });
      return { store, now: () => Date.now(), advance: sleep, slackMs: 1_500, close: () => store.close() };
    });
  });

  it('takes time from Redis, not from the nowMs argument', async () => {
    const store = await readyStore(redis.url, { keyPrefix: 'clock:' });
    expect((await store.reserve('k', { rpm: 1 }, 0, 0)).allowed).toBe(true);
    // A replica whose clock is two minutes ahead refills nothing.
    const ahead = await store.reserve('k', { rpm: 1 }, 0, Date.now() + 120_000);
    expect(ahead).toMatchObject({ allowed: false, reason: 'requests' });
    expect(ahead.retryAfterMs).toBeGreaterThan(55_000);
    await store.close();
  });

  it('three clients (replicas) share one budget: exactly the limit passes out of 100 concurrent reserves', async () => {
    const stores = await Promise.all([0, 1, 2].map(() => readyStore(redis.url, { keyPrefix: 'shared:' })));
    const decisions = await Promise.all(Array.from({ length: 100 }, (_, i) => stores[i % 3]!.reserve('k', { rpm: 30 }, 0, 0)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(30);
    for (const d of decisions.filter((x) => !x.allowed)) {
      expect(d).toMatchObject({ reason: 'requests', requests: { limit: 30, remaining: 0 } });
      expect(d.retryAfterMs).toBeGreaterThan(0);
      expect(d.retryAfterMs).toBeLessThanOrEqual(2_000);
    }
    // A token reservation on one replica, settled on the same replica, is seen by the others.
    const r = (await stores[0]!.reserve('t', { tpm: 100 }, 80, 0)).reservation!;
    expect((await stores[1]!.reserve('t', { tpm: 100 }, 30, 0)).allowed).toBe(false);
    await stores[0]!.settle(r, 20, 0);
    expect(await stores[2]!.reserve('t', { tpm: 100 }, 30, 0)).toMatchObject({ allowed: true, tokens: { remaining: 50 } });
    await Promise.all(stores.map((s) => s.close()));
  });

  it('keys expire once their buckets would be full again, so Redis holds only keys in use', async () => {
    const store = await readyStore(redis.url, { keyPrefix: 'ttl:' });
    // 600 RPM: one request refills in 100 ms; the key lives that long plus a 1 s margin.
    for (let i = 0; i < 50; i++) await store.reserve(`k${i}`, { rpm: 600, tpm: 60_000 }, 100, 0);
    const pttl = await admin.pttl('ttl:k0');
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1_100);
    expect(await admin.keys('ttl:*')).toHaveLength(50);
    await sleep(1_400);
    expect(await admin.keys('ttl:*')).toHaveLength(0);
    // A debt keeps the key until it is repaid.
    const r = (await store.reserve('debt', { tpm: 600 }, 1, 0)).reservation!;
    await store.settle(r, 1_200, 0);
    expect(await admin.pttl('ttl:debt')).toBeGreaterThan(100_000);
    await store.close();
  });

  it('one script call per reserve and per settle; the script is reloaded after SCRIPT FLUSH (NOSCRIPT)', async () => {
    const store = await readyStore(redis.url, { keyPrefix: 'calls:' });
    await store.reserve('warm', { rpm: 5 }, 0, 0);
    await admin.config('RESETSTAT');
    const rs = [];
    for (let i = 0; i < 10; i++) rs.push((await store.reserve('k', { rpm: 100, tpm: 10_000 }, 100, 0)).reservation!);
    for (const r of rs.slice(0, 5)) await store.settle(r, 40, 0);
    // Unknown usage and an exact estimate need no round trip.
    await store.settle(rs[5]!, undefined, 0);
    await store.settle(rs[6]!, 100, 0);
    const stats = await admin.info('commandstats');
    const calls = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    expect(calls('evalsha') + calls('eval')).toBe(15);
    await admin.script('FLUSH');
    expect((await store.reserve('k', { rpm: 100, tpm: 10_000 }, 100, 0)).allowed).toBe(true);
    await store.close();
  });

  it('fails fast while Redis is unreachable, and does not block start-up', async () => {
    const t0 = performance.now();
    const store = new RedisRateLimitStore({ url: 'redis://127.0.0.1:1', timeoutMs: 50 });
    await expect(store.reserve('k', { rpm: 1 }, 0, 0)).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(200);
    await store.close();
  });
});

describeWithRedis('redis store with a password and a db in the URL', () => {
  const password = 's3cr3t/p@ss';
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis({ password });
  });
  afterAll(async () => {
    await redis?.close();
  });

  it('authenticates, writes in the URL’s db, and never shows the password in errors', async () => {
    const url = `redis://:${encodeURIComponent(password)}@127.0.0.1:${redis.port}/3`;
    const store = await readyStore(url, { keyPrefix: 'db:' });
    expect((await store.reserve('k', { rpm: 5 }, 0, 0)).allowed).toBe(true);
    const db3 = new Redis(url);
    expect(await db3.exists('db:k')).toBe(1);
    await db3.select(0);
    expect(await db3.exists('db:k')).toBe(0);
    db3.disconnect();
    await store.close();

    const wrongUrl = `redis://:wrong-${encodeURIComponent(password)}@127.0.0.1:${redis.port}/3`;
    const errors: Error[] = [];
    const bad = new RedisRateLimitStore({ url: wrongUrl, timeoutMs: 50, onConnectionError: (e) => errors.push(e) });
    await sleep(300);
    await expect(bad.reserve('k', { rpm: 1 }, 0, 0)).rejects.toThrow();
    await bad.close();
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((e) => storeErrorKind(e) === 'auth')).toBe(true);
    for (const e of errors) expect(scrubSecrets(`${e.message} ${wrongUrl}`, wrongUrl)).not.toContain('p@ss');
  });
});

describe('scrubSecrets', () => {
  it('removes URLs and the password, percent-encoded or not', () => {
    const url = 'rediss://user:hunter%2F22@cache.internal:6380/2';
    const text = scrubSecrets(`failed rediss://user:hunter%2F22@cache.internal:6380/2 with hunter/22 and hunter%2F22`, url);
    expect(text).not.toMatch(/hunter/);
    expect(text).toContain('[redacted]');
  });
});

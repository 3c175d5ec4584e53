import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../gateway/errors.js';
import { ResilientRateLimitStore, type OnStoreError } from '../../../gateway/rate-limit/resilient-store.js';
import { describeWithRedis, startRedis, type RedisServer } from '../../support/redis.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const PASSWORD = 'Top-Secret-Pw';

interface Rig {
  store: ResilientRateLimitStore;
  registry: Registry;
  logs: Array<Record<string, unknown>>;
  raw: () => string;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}

async function errorCount(registry: Registry, labels: Record<string, string> = {}): Promise<number> {
  const m = await registry.getSingleMetric('gateway_rate_limit_store_errors_total')!.get();
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

describeWithRedis('resilient store (RATE_LIMIT_ON_STORE_ERROR)', () => {
  let redis: RedisServer;
  const rigs: Rig[] = [];
  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
  });
  afterEach(async () => {
    for (const r of rigs.splice(0)) await r.store.close();
    redis.thaw();
    // Every test starts with a live, empty Redis.
    await redis.restart();
  });
  afterAll(async () => {
    await redis?.close();
  });

  async function rig(onError: OnStoreError, extra: { timeoutMs?: number; logIntervalMs?: number; url?: string } = {}): Promise<Rig> {
    const raw: string[] = [];
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'info', base: undefined },
      new Writable({
        write(chunk: Buffer, _e, cb) {
          raw.push(chunk.toString());
          for (const l of chunk.toString().split('\n')) if (l.trim()) logs.push(JSON.parse(l) as Record<string, unknown>);
          cb();
        },
      }),
    );
    const registry = new Registry();
    const store = new ResilientRateLimitStore({
      redis: { url: extra.url ?? `${redis.url}/1`, timeoutMs: extra.timeoutMs ?? 50 },
      onError,
      logger,
      registry,
      logIntervalMs: extra.logIntervalMs,
      probeIntervalMs: 100,
    });
    const r = { store, registry, logs, raw: () => raw.join('') };
    rigs.push(r);
    await until(() => store.connected && store.status().state === 'ok');
    return r;
  }

  it('reports ok, then down with the error kind (never the password), then ok again after Redis restarts', async () => {
    const { store, registry, raw, logs } = await rig('local');
    expect((await store.reserve('k', { rpm: 2 }, 0, Date.now())).allowed).toBe(true);
    expect(store.status()).toEqual({ kind: 'redis', state: 'ok', onError: 'local', lastError: null });
    await redis.kill();
    await store.reserve('k', { rpm: 2 }, 0, Date.now());
    const down = store.status();
    expect(down).toMatchObject({ kind: 'redis', state: 'down', onError: 'local' });
    expect(down.lastError).toMatch(/^unavailable: /);
    expect(await errorCount(registry, { op: 'reserve' })).toBeGreaterThanOrEqual(1);
    expect((await registry.getSingleMetric('gateway_rate_limit_store_up')!.get()).values[0]!.value).toBe(0);
    await redis.restart();
    await until(() => store.status().state === 'ok');
    // The restarted Redis is empty: the shared bucket starts full.
    expect(await store.reserve('k', { rpm: 2 }, 0, Date.now())).toMatchObject({ allowed: true, requests: { remaining: 1 } });
    expect(logs.some((l) => l.level === 40 && String(l.msg).includes('failing'))).toBe(true);
    expect(logs.some((l) => String(l.msg).includes('answering again'))).toBe(true);
    expect(raw()).not.toContain(PASSWORD);
    expect(JSON.stringify(store.status())).not.toContain(PASSWORD);
  });

  it('local: this replica’s own buckets while Redis is down; reservations settle where they were taken', async () => {
    const { store, registry } = await rig('local');
    await redis.kill();
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await store.reserve('k', { rpm: 3, tpm: 100 }, 20, Date.now()));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect(decisions[3]).toMatchObject({ reason: 'requests', requests: { limit: 3, remaining: 0 } });
    // A local reservation settles into the local bucket without touching Redis.
    const before = await errorCount(registry, { op: 'settle' });
    await store.settle(decisions[0]!.reservation!, 0, Date.now());
    expect(await errorCount(registry, { op: 'settle' })).toBe(before);
  });

  it('open: admits without limits while Redis is down', async () => {
    const { store } = await rig('open');
    await redis.kill();
    const decisions = await Promise.all(Array.from({ length: 10 }, () => store.reserve('k', { rpm: 1 }, 0, Date.now())));
    expect(decisions.every((d) => d.allowed && !d.requests && !d.reservation)).toBe(true);
  });

  it('closed: reserve throws a 503 rate_limit_store_unavailable with Retry-After', async () => {
    const { store } = await rig('closed');
    expect((await store.reserve('k', { rpm: 1 }, 0, Date.now())).allowed).toBe(true);
    await redis.kill();
    const err = await store.reserve('k', { rpm: 1 }, 0, Date.now()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 503, type: 'server_error', code: 'rate_limit_store_unavailable', headers: { 'retry-after': '1' } });
    // Bad input is still the caller's bug, not a store failure.
    await expect(store.reserve('k', { rpm: 1 }, -1, Date.now())).rejects.toThrow(RangeError);
  });

  it('settle against a failed Redis never rejects: counted and logged', async () => {
    const { store, registry } = await rig('local');
    const rs = [];
    for (let i = 0; i < 3; i++) rs.push((await store.reserve('k', { tpm: 1_000 }, 100, Date.now())).reservation!);
    await redis.kill();
    const settled = await Promise.allSettled(rs.map((r) => store.settle(r, 10, Date.now())));
    expect(settled.every((s) => s.status === 'fulfilled')).toBe(true);
    expect(await errorCount(registry, { op: 'settle' })).toBe(3);
    await store.settle(rs[0]!, 10, Date.now());
    expect(await errorCount(registry, { op: 'settle' })).toBe(3);
  });

  it('a frozen Redis (SIGSTOP) holds a request no longer than the command timeout, and others not at all', async () => {
    const { store, registry } = await rig('local', { timeoutMs: 50 });
    redis.freeze();
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const d = await store.reserve('k', { rpm: 100 }, 0, Date.now());
      times.push(performance.now() - t0);
      expect(d.allowed).toBe(true);
    }
    // 50 ms timeout + event-loop margin on a shared machine.
    expect(Math.max(...times)).toBeLessThan(50 + 150);
    // After the first timeout the store is known down; most calls go straight to local buckets.
    expect(times.filter((t) => t >= 40).length).toBeLessThanOrEqual(3);
    expect(await errorCount(registry, { op: 'reserve', kind: 'timeout' })).toBeGreaterThanOrEqual(1);
    expect(store.status().lastError).toMatch(/^timeout: /);
    redis.thaw();
    await until(async () => (await store.reserve('k', { rpm: 100 }, 0, Date.now()), store.status().state === 'ok'));
  });

  it('logs at most one warning per interval however many calls fail', async () => {
    const { store, logs } = await rig('local', { logIntervalMs: 60_000 });
    await redis.kill();
    for (let i = 0; i < 50; i++) await store.reserve('k', { rpm: 1_000 }, 0, Date.now());
    await sleep(300);
    expect(logs.filter((l) => l.level === 40)).toHaveLength(1);
  });

  it('does not block start-up when Redis is down, and starts sharing once it comes up', async () => {
    await redis.kill();
    const registry = new Registry();
    const logger = pino({ level: 'silent' });
    const t0 = performance.now();
    const store = new ResilientRateLimitStore({ redis: { url: redis.url, timeoutMs: 50 }, onError: 'local', logger, registry, probeIntervalMs: 100 });
    rigs.push({ store, registry, logs: [], raw: () => '' });
    expect((await store.reserve('k', { rpm: 1 }, 0, Date.now())).allowed).toBe(true);
    expect(performance.now() - t0).toBeLessThan(200);
    expect(store.status().state).toBe('down');
    await redis.restart();
    await until(() => store.status().state === 'ok');
    // Shared again: a fresh Redis bucket, not the local one the first call drained.
    expect((await store.reserve('k', { rpm: 1 }, 0, Date.now())).allowed).toBe(true);
    expect((await store.reserve('k', { rpm: 1 }, 0, Date.now())).allowed).toBe(false);
  });
});

describe('resilient store metrics', () => {
  it('two stores on one registry share the metric instead of throwing', async () => {
    const registry = new Registry();
    const logger = pino({ level: 'silent' });
    const a = new ResilientRateLimitStore({ redis: { url: 'redis://127.0.0.1:1', timeoutMs: 50 }, onError: 'open', logger, registry });
    const b = new ResilientRateLimitStore({ redis: { url: 'redis://127.0.0.1:1', timeoutMs: 50 }, onError: 'open', logger, registry });
    await a.close();
    await b.close();
    expect(registry.getSingleMetric('gateway_rate_limit_store_errors_total')).toBeDefined();
  });
});

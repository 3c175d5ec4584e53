/**
 * Issue 11: per-key RPM and TPM hold across gateway replicas through one Redis, and a failing Redis
 * degrades as RATE_LIMIT_ON_STORE_ERROR says, never into stalls.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWithRedis, startRedis, type RedisServer } from '../support/redis.js';
import { burst, chat, startReplicas, statuses, type Replicas } from './replicas.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const PASSWORD = 'replica-Secret-9';
/** ioredis reconnects with backoff capped at ~1 s. */
const RECONNECT_MS = 2_500;

describeWithRedis('replicas sharing one Redis', () => {
  let redis: RedisServer;
  let replicas: Replicas | undefined;
  beforeAll(async () => {
    redis = await startRedis({ password: PASSWORD });
  });
  afterEach(async () => {
    redis.thaw();
    await replicas?.close();
    replicas = undefined;
    // Each test starts with an empty Redis.
    await redis.restart();
  });
  afterAll(async () => {
    await redis?.close();
  });

  // Exact counts need every call to reach Redis: on two shared cores a cold process can miss the 50 ms
  // default, which would (correctly) fall back to local limits. The frozen-Redis test sets 50 ms itself.
  const start = async (count: number, env: Record<string, string> = {}) => {
    replicas = await startReplicas(count, { REDIS_URL: `${redis.url}/2`, REDIS_TIMEOUT_MS: '1000', RATE_LIMIT_RPM: '30', ...env });
    return replicas;
  };

  for (const count of [2, 3]) {
    it(`${count} replicas, RPM 30, 100 requests at once: exactly 30 admitted, the rest 429 with Retry-After`, async () => {
      const { urls } = await start(count);
      const answers = await burst(urls, 100);
      expect(statuses(answers)).toEqual({ 200: 30, 429: 70 });
      const admitted = answers.filter((a) => a.status === 200);
      // One shared bucket: the admitted requests saw every remaining count from 29 down to 0 once.
      expect(admitted.map((a) => Number(a.headers.get('x-ratelimit-remaining-requests'))).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 30 }, (_, i) => i),
      );
      // Every replica admitted some of them.
      expect(new Set(admitted.map((a) => a.replica)).size).toBe(count);
      for (const a of answers.filter((x) => x.status === 429)) {
        expect(a.headers.get('x-ratelimit-limit-requests')).toBe('30');
        expect(a.headers.get('x-ratelimit-remaining-requests')).toBe('0');
        expect(a.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?s$|^\d+ms$/);
        expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(Number(a.headers.get('retry-after'))).toBeLessThanOrEqual(3);
        expect(JSON.parse(a.body)).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded' } });
      }
    });
  }

  it('TPM: a reservation on one replica and its settlement are seen by the others', async () => {
    const { urls } = await start(3, { RATE_LIMIT_RPM: '0', RATE_LIMIT_TPM: '1000' });
    const first = await chat(urls, 0, { max_tokens: 200 });
    expect(first.status).toBe(200);
    const cost = 1000 - Number(first.headers.get('x-ratelimit-remaining-tokens'));
    expect(cost).toBeGreaterThan(200);
    const used = (JSON.parse(first.body) as { usage: { total_tokens: number } }).usage.total_tokens;
    expect(used).toBeLessThan(cost);
    // The settlement runs after the answer; give it a moment to reach Redis.
    await sleep(100);
    const second = await chat(urls, 1, { max_tokens: 200 });
    expect(second.status).toBe(200);
    // 1000 − what the first really used − this reservation, plus at most a few tokens refilled (1000/min).
    const remaining = Number(second.headers.get('x-ratelimit-remaining-tokens'));
    expect(remaining).toBeGreaterThanOrEqual(1000 - used - cost);
    expect(remaining).toBeLessThanOrEqual(1000 - used - cost + 10);
    // Once the second has settled too, 1000 − 2 × used are left (plus a few refilled): a third replica
    // refuses a reservation 40 tokens larger than that, by tokens, with a time to retry.
    await sleep(100);
    const promptEstimate = cost - 200;
    const third = await chat(urls, 2, { max_tokens: 1000 - 2 * used - promptEstimate + 40 });
    expect(third.status).toBe(429);
    expect(JSON.parse(third.body)).toMatchObject({ error: { type: 'tokens', code: 'rate_limit_exceeded' } });
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('local: Redis killed mid-run → no 5xx, per-replica limits; shared limits back after Redis restarts', async () => {
    const { urls, gateways, rawLogs } = await start(3);
    expect(statuses(await burst(urls, 10))).toEqual({ 200: 10 });
    await redis.kill();
    const during = await burst(urls, 99);
    // Each replica now limits on its own: a fresh 30 each, so 90 pass and 9 are refused; nobody gets a 5xx.
    expect(statuses(during)).toEqual({ 200: 90, 429: 9 });
    for (let r = 0; r < 3; r++) expect(during.filter((a) => a.replica === r && a.status === 200)).toHaveLength(30);
    // Liveness and readiness do not depend on the store.
    for (const gw of gateways) expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    await redis.restart();
    await sleep(RECONNECT_MS);
    // The restarted Redis is empty: one shared bucket of 30 again.
    expect(statuses(await burst(urls, 100))).toEqual({ 200: 30, 429: 70 });
    expect(rawLogs()).not.toContain(PASSWORD);
  });

  it('open: Redis killed → every request admitted; shared limits back after Redis restarts', async () => {
    const { urls } = await start(2, { RATE_LIMIT_ON_STORE_ERROR: 'open' });
    expect(statuses(await burst(urls, 30))).toEqual({ 200: 30 });
    await redis.kill();
    expect(statuses(await burst(urls, 60))).toEqual({ 200: 60 });
    await redis.restart();
    await sleep(RECONNECT_MS);
    expect(statuses(await burst(urls, 40))).toEqual({ 200: 30, 429: 10 });
  });

  it('closed: Redis killed → 503 rate_limit_store_unavailable with Retry-After; 200 again after Redis restarts', async () => {
    const { urls } = await start(2, { RATE_LIMIT_ON_STORE_ERROR: 'closed' });
    expect(statuses(await burst(urls, 4))).toEqual({ 200: 4 });
    await redis.kill();
    const during = await burst(urls, 10);
    expect(statuses(during)).toEqual({ 503: 10 });
    for (const a of during) {
      expect(JSON.parse(a.body)).toMatchObject({ error: { type: 'server_error', code: 'rate_limit_store_unavailable' } });
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    await redis.restart();
    await sleep(RECONNECT_MS);
    expect(statuses(await burst(urls, 40))).toEqual({ 200: 30, 429: 10 });
  });

  it('Redis frozen (SIGSTOP): requests are answered within the command timeout plus a margin, not stalled', async () => {
    const { urls } = await start(2, { REDIS_TIMEOUT_MS: '50', RATE_LIMIT_RPM: '1000' });
    await burst(urls, 10);
    const before = await burst(urls, 20);
    const baseline = Math.max(...before.map((a) => a.ms));
    redis.freeze();
    const t0 = performance.now();
    const during = [...(await burst(urls, 20)), ...(await burst(urls, 20))];
    const elapsed = performance.now() - t0;
    expect(statuses(during)).toEqual({ 200: 40 });
    // 50 ms command timeout + a generous margin for two shared cores, over the unfrozen worst case.
    expect(Math.max(...during.map((a) => a.ms))).toBeLessThan(baseline + 50 + 400);
    expect(elapsed).toBeLessThan(2 * (baseline + 50 + 400));
    redis.thaw();
  });
});

/**
 * Issue 10, no backend left for a model: a fast 503 with Retry-After once its backends are known dead
 * (well under READY_WAIT_MS), or the MODEL_FALLBACKS model (`model` of the answer and
 * `x-gateway-fallback: <from>-><to>`); `x-gateway-fallback: off` refuses the fallback; a full queue for
 * the first model falls back too; gateway_fallbacks_total counts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { M05B, M7B, chatBody, hits, metricSum, post, sleep, startFarm, waitFor, type Farm } from './support.js';

let farm: Farm | undefined;
afterEach(async () => {
  await farm?.close();
  farm = undefined;
});

const FALLBACK = `${M7B}=${M05B}`;

describe('every backend of the model down', () => {
  it('answers from the fallback model, or a fast 503 with Retry-After when the client refuses the fallback', async () => {
    farm = await startFarm({
      sims: [{ deathExitMs: 60_000 }, { deathExitMs: 60_000 }, { servedModelNames: [M05B] }],
      env: { MODEL_FALLBACKS: FALLBACK, READY_WAIT_MS: '6000', BACKEND_EJECT_FAILURES: '2' },
    });
    const [a, b, small] = farm.sims as [NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>];
    a.killEngine();
    b.killEngine();
    const f = farm;
    // The readiness probes see /health 503 (vllm.md 1.1): the two 7B backends are down.
    await waitFor(async () => (await f.status()).backends.slice(0, 2).every((x) => x.state === 'down'), 15_000, 'both 7B backends down');

    const { data, response } = await farm.client().chat.completions.create({ model: M7B, messages: [{ role: 'user', content: 'fall back' }], max_tokens: 2 }).withResponse();
    expect(data.model).toBe(M05B);
    expect(response.headers.get('x-gateway-fallback')).toBe(`${M7B}->${M05B}`);
    expect(hits(small)).toBe(1);

    const t0 = performance.now();
    const refused = await post(farm.url, chatBody(M7B), { 'x-gateway-fallback': 'off' });
    const ms = performance.now() - t0;
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('x-gateway-fallback')).toBeNull();
    await refused.text();
    expect(ms).toBeLessThan(6000 / 4);
    expect(hits(small)).toBe(1);

    expect(metricSum(await farm.metrics(), 'gateway_fallbacks_total', `from="${M7B}"`, `to="${M05B}"`)).toBe(1);
  });

  it('without a fallback: a fast 503 with Retry-After, well under READY_WAIT_MS', async () => {
    farm = await startFarm({ sims: [{ deathExitMs: 60_000 }, { deathExitMs: 60_000 }], env: { READY_WAIT_MS: '6000', BACKEND_EJECT_FAILURES: '2' } });
    for (const s of farm.sims) s.killEngine();
    const f = farm;
    await waitFor(async () => (await f.status()).backends.every((x) => x.state === 'down'), 15_000, 'both backends down');
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const res = await post(farm.url, chatBody(M7B));
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await res.text();
      expect(performance.now() - t0).toBeLessThan(6000 / 4);
    }
  });

  it('backends that died and refuse connections (SIGKILL) are known dead after their failed probes: a fast 503, not READY_WAIT_MS', async () => {
    farm = await startFarm({ sims: [{}, {}], env: { READY_WAIT_MS: '4000', BACKEND_EJECT_FAILURES: '2' } });
    for (const s of farm.sims) await s.close();
    // The first request finds out (refused), then the readiness probes keep being refused (every 500 ms).
    await (await post(farm.url, chatBody(M7B))).text();
    await sleep(2_500);
    const t0 = performance.now();
    const res = await post(farm.url, chatBody(M7B));
    const ms = performance.now() - t0;
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    await res.text();
    expect(ms).toBeLessThan(4000 / 4);
  });
});

describe('failover with no backend of the model left', () => {
  it('goes to the fallback model: the only 7B backend answers 503 before any byte, the 0.5B one answers', async () => {
    farm = await startFarm({ sims: [{ fault: 'http=503' }, { servedModelNames: [M05B] }], env: { MODEL_FALLBACKS: FALLBACK } });
    const [big, small] = farm.sims as [NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>];
    const { data, response } = await farm.client().chat.completions.create({ model: M7B, messages: [{ role: 'user', content: 'tier' }], max_tokens: 2 }).withResponse();
    expect(data.model).toBe(M05B);
    expect(response.headers.get('x-gateway-fallback')).toBe(`${M7B}->${M05B}`);
    expect(hits(big)).toBe(1);
    expect(hits(small)).toBe(1);
    const refused = await post(farm.url, chatBody(M7B), { 'x-gateway-fallback': 'off' });
    expect(refused.status).toBe(503);
    await refused.text();
    expect(hits(small)).toBe(1);
    const m = await farm.metrics();
    expect(metricSum(m, 'gateway_fallbacks_total', `from="${M7B}"`, `to="${M05B}"`)).toBe(1);
    expect(metricSum(m, 'gateway_failovers_total')).toBe(1);
  });
});

describe('a full queue for the first model', () => {
  it('falls back to the fallback model; x-gateway-fallback: off gets the queue-full 503', async () => {
    farm = await startFarm({
      sims: [{}, { servedModelNames: [M05B] }],
      env: { MODEL_FALLBACKS: FALLBACK, MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUE: '0' },
    });
    const [big, small] = farm.sims as [NonNullable<Farm['sims'][0]>, NonNullable<Farm['sims'][0]>];
    const f = farm;
    const holder = post(f.url, chatBody(M7B, 'hold [[sim:itl=50]]', { max_tokens: 30, stream: true })).then((r) => r.text());
    await waitFor(() => f.gw.admission.inFlight === 1 && big.running() === 1, 2_000, 'holder on the 7B slot');

    const { data, response } = await farm.client().chat.completions.create({ model: M7B, messages: [{ role: 'user', content: 'overflow' }], max_tokens: 2 }).withResponse();
    expect(data.model).toBe(M05B);
    expect(response.headers.get('x-gateway-fallback')).toBe(`${M7B}->${M05B}`);
    expect(hits(small)).toBe(1);

    const refused = await post(farm.url, chatBody(M7B), { 'x-gateway-fallback': 'off' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('server_overloaded');
    expect(hits(small)).toBe(1);
    expect(hits(big)).toBe(1);

    expect(await holder).toContain('data: [DONE]');
    expect(metricSum(await farm.metrics(), 'gateway_fallbacks_total', `from="${M7B}"`, `to="${M05B}"`)).toBe(1);
  });
});

/**
 * Readiness, cold start, FC lifecycle hooks, shutdown drain, request ids and what reaches vLLM.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, nextRequestEnd, post, startStack, type Stack } from '../../support/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe('cold start and readiness', () => {
  it('/health is 503 while vLLM loads (port refused), 200 once ready; /livez is 200 throughout', async () => {
    stack = await startStack({ sim: { loadMs: 1_200 }, noWait: true });
    const early = await fetch(`${stack.url}/health`);
    expect(early.status).toBe(503);
    expect(await early.json()).toMatchObject({ status: 'starting' });
    expect((await fetch(`${stack.url}/livez`)).status).toBe(200);
    // A request sent during the load waits for readiness (READY_WAIT_MS=3000) and then succeeds.
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('early bird'));
    expect(res.status).toBe(200);
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
  });

  it('requests get 503 with Retry-After when vLLM is not ready within READY_WAIT_MS', async () => {
    stack = await startStack({ sim: { loadMs: 5_000 }, noWait: true, env: { READY_WAIT_MS: '300' } });
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('too early'));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('model_not_ready');
  });

  it('POST /initialize blocks until vLLM is ready, then answers 200 (FC initializer hook)', async () => {
    stack = await startStack({ sim: { loadMs: 800 }, noWait: true });
    const t0 = performance.now();
    const res = await fetch(`${stack.url}/initialize`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThan(300);
  });

  it('POST /initialize answers 503 when vLLM does not come up in time', async () => {
    stack = await startStack({ sim: { loadMs: 10_000 }, noWait: true, env: { INITIALIZE_TIMEOUT_MS: '300' } });
    expect((await fetch(`${stack.url}/initialize`, { method: 'POST' })).status).toBe(503);
  });

  it('retries a refused connection once vLLM is back (a restart between two health probes)', async () => {
    stack = await startStack();
    const port = stack.sim.port;
    await stack.sim.close();
    // The gateway still believes vLLM is ready (its next probe is seconds away); vLLM comes back after 500 ms.
    const { startSimulator } = await import('../../../vllm/sim/index.js');
    const restarted = startSimulator({ port, loadMs: 500, ttftMs: 5, itlMs: 1 });
    try {
      const t0 = performance.now();
      const res = await post(`${stack.url}/v1/chat/completions`, chatBody('after restart'));
      expect(res.status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThan(300);
      expect(restarted.requests).toHaveLength(1);
      const metrics = await (await fetch(`${stack.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_upstream_errors_total\{kind="connect_refused",backend="[^"]+"\} 1/);
    } finally {
      await restarted.close();
    }
  });

  it('/health turns 503 when the engine dies', async () => {
    stack = await startStack({ sim: { deathExitMs: 5_000 } });
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    stack.sim.killEngine();
    await stack.gw.backends.all()[0]!.readiness.probeNow();
    const res = await fetch(`${stack.url}/health`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'unhealthy' });
  });
});

describe('shutdown', () => {
  it('drains: in-flight streams finish, new requests are refused, /health says draining', async () => {
    stack = await startStack({ env: { SHUTDOWN_GRACE_MS: '5000' } });
    const inflight = post(`${stack.url}/v1/chat/completions`, chatBody('finishing [[sim:itl=20]]', { stream: true, max_tokens: 30 }));
    await new Promise((r) => setTimeout(r, 100));
    const draining = stack.gw.lifecycle.drain(5_000);
    expect((await fetch(`${stack.url}/health`).catch(() => undefined))?.status ?? 503).toBe(503);
    const text = await (await inflight).text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    await draining;
  });

  it('aborts what is still running when the grace period ends, with an error event', async () => {
    stack = await startStack({ env: { SHUTDOWN_GRACE_MS: '300' } });
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('endless [[sim:itl=50]]', { stream: true, max_tokens: 1000 }));
    const ended = nextRequestEnd(stack.sim);
    const body = res.text();
    await stack.gw.shutdown();
    const text = await body;
    expect(text).toMatch(/"code":"shutting_down"/);
    expect(text).not.toContain('[DONE]');
    expect((await ended).outcome).toBe('aborted');
  });

  it('GET /pre-stop drains and answers 200', async () => {
    stack = await startStack();
    const res = await fetch(`${stack.url}/pre-stop`);
    expect(res.status).toBe(200);
    expect(stack.gw.lifecycle.draining).toBe(true);
  });
});

describe('what reaches vLLM', () => {
  it("sends the request id, never the client's Authorization, and VLLM_API_KEY instead", async () => {
    stack = await startStack({ sim: { apiKeys: ['vllm-secret'] }, env: { VLLM_API_KEY: 'vllm-secret' } });
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('ids'), { 'x-request-id': 'client-id-42', authorization: 'Bearer client-key', cookie: 'a=b', 'x-fc-access-key-secret': 'fc-secret' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('client-id-42');
    const seen = stack.sim.requests.at(-1)!.headers;
    expect(seen['x-request-id']).toBe('client-id-42');
    expect(seen.authorization).toBe('Bearer vllm-secret');
    expect(seen.cookie).toBeUndefined();
    expect(seen['x-fc-access-key-secret']).toBeUndefined();
    expect(stack.rawLogs()).not.toMatch(/fc-secret|client-key|vllm-secret/);
  });

  it("falls back to FC's x-fc-request-id, then to a new id", async () => {
    stack = await startStack();
    const fc = await post(`${stack.url}/v1/chat/completions`, chatBody('fc id'), { 'x-fc-request-id': 'fc-req-7' });
    expect(fc.headers.get('x-request-id')).toBe('fc-req-7');
    const fresh = await post(`${stack.url}/v1/chat/completions`, chatBody('no id'), { 'x-request-id': 'bad id with spaces' });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('a wrong VLLM_API_KEY keeps the gateway unready and says why, instead of blaming the client', async () => {
    stack = await startStack({ sim: { apiKeys: ['right'] }, env: { VLLM_API_KEY: 'wrong', READY_WAIT_MS: '300' }, noWait: true });
    await stack.gw.backends.all()[0]!.readiness.probeNow();
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { reason: string }).reason).toMatch(/401: check VLLM_API_KEY/);
    const res = await post(`${stack.url}/v1/completions`, { prompt: 'x', max_tokens: 1 });
    expect(res.status).toBe(503);
  });
});

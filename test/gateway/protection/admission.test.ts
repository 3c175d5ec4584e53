/**
 * Admission control over real sockets: FIFO admission, shedding past MAX_QUEUE, queue timeouts, slots
 * released by disconnects, and fairness between keys (issue 3).
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, post, startStack, type Stack } from '../../support/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const promptsSeen = (s: Stack) => s.sim.requests.map((r) => ((r.body as { messages: Array<{ content: string }> }).messages[0]!.content));

/** A request whose socket we can destroy at will. */
function droppable(url: string, body: unknown, headers: Record<string, string> = {}) {
  const payload = JSON.stringify(body);
  const u = new URL(`${url}/v1/chat/completions`);
  const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } });
  req.on('error', () => undefined);
  req.end(payload);
  return () => req.destroy();
}

describe('admission', () => {
  it('admits in FIFO order and sheds past MAX_QUEUE with 503 server_overloaded and Retry-After', async () => {
    stack = await startStack({ env: { MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUE: '2', QUEUE_TIMEOUT_MS: '5000' } });
    const a = post(`${stack.url}/v1/chat/completions`, chatBody('A [[sim:itl=40]]', { max_tokens: 10 }));
    await sleep(50);
    const b = post(`${stack.url}/v1/chat/completions`, chatBody('B'));
    await sleep(20);
    const c = post(`${stack.url}/v1/chat/completions`, chatBody('C'));
    await sleep(20);
    expect(stack.gw.admission.queued).toBe(2);
    const d = await post(`${stack.url}/v1/chat/completions`, chatBody('D'));
    expect(d.status).toBe(503);
    expect(d.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await d.json()).toMatchObject({ error: { type: 'server_error', code: 'server_overloaded' } });
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    expect((await c).status).toBe(200);
    expect(promptsSeen(stack)).toEqual(['A [[sim:itl=40]]', 'B', 'C']);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_rejections_total\{reason="queue_full"\} 1/);
  });

  it('times out queued requests after QUEUE_TIMEOUT_MS', async () => {
    stack = await startStack({ env: { MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUE: '5', QUEUE_TIMEOUT_MS: '300' } });
    const a = post(`${stack.url}/v1/chat/completions`, chatBody('A [[sim:itl=50]]', { max_tokens: 20 }));
    await sleep(50);
    const t0 = performance.now();
    const b = await post(`${stack.url}/v1/chat/completions`, chatBody('B'));
    expect(b.status).toBe(503);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(((await b.json()) as { error: { message: string } }).error.message).toMatch(/wait|timed out|timeout/i);
    expect((await a).status).toBe(200);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_rejections_total\{reason="queue_timeout"\} 1/);
  });

  it('a queued client that leaves leaves the queue at once and never reaches vLLM', async () => {
    stack = await startStack({ env: { MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUE: '5' } });
    const a = post(`${stack.url}/v1/chat/completions`, chatBody('A [[sim:itl=30]]', { max_tokens: 15 }));
    await sleep(50);
    const dropB = droppable(stack.url, chatBody('B'));
    await sleep(50);
    expect(stack.gw.admission.queued).toBe(1);
    dropB();
    await sleep(50);
    expect(stack.gw.admission.queued).toBe(0);
    const c = post(`${stack.url}/v1/chat/completions`, chatBody('C'));
    expect((await a).status).toBe(200);
    expect((await c).status).toBe(200);
    expect(promptsSeen(stack)).toEqual(['A [[sim:itl=30]]', 'C']);
  });

  it('a running client that leaves frees its slot for the next in line', async () => {
    stack = await startStack({ env: { MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUE: '5' } });
    const dropA = droppable(stack.url, chatBody('A [[sim:itl=100]]', { max_tokens: 100, stream: true }));
    await sleep(100);
    const t0 = performance.now();
    const b = post(`${stack.url}/v1/chat/completions`, chatBody('B'));
    await sleep(100);
    dropA();
    expect((await b).status).toBe(200);
    // A alone would have held the slot for ~10 s.
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(stack.sim.requests[0]!.outcome).toBe('aborted');
  });

  it('one key flooding the queue does not lock another key out', async () => {
    stack = await startStack({ env: { API_KEYS: 'flood:key-flood,calm:key-calm', ALLOW_ANONYMOUS: 'false', MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUE: '4', QUEUE_TIMEOUT_MS: '10000' } });
    const flood = { authorization: 'Bearer key-flood' };
    const calm = { authorization: 'Bearer key-calm' };
    const first = post(`${stack.url}/v1/chat/completions`, chatBody('F0 [[sim:itl=30]]', { max_tokens: 10 }), flood);
    await sleep(50);
    const floods: Array<Promise<Response>> = [];
    for (const i of [1, 2, 3, 4]) {
      floods.push(post(`${stack.url}/v1/chat/completions`, chatBody(`F${i}`), flood));
      await sleep(15);
    }
    await sleep(30);
    expect(stack.gw.admission.queued).toBe(4);
    const calms: Array<Promise<Response>> = [];
    for (const i of [1, 2]) {
      calms.push(post(`${stack.url}/v1/chat/completions`, chatBody(`C${i}`), calm));
      await sleep(15);
    }
    const calmStatuses = await Promise.all(calms.map(async (p) => (await p).status));
    expect(calmStatuses).toEqual([200, 200]);
    const floodStatuses = await Promise.all([first, ...floods].map(async (p) => (await p).status));
    // The calm key's arrivals displaced the flood key's newest entries instead of being shed.
    expect(floodStatuses).toEqual([200, 200, 200, 503, 503]);
    const order = promptsSeen(stack);
    // Round-robin between keys: the calm key does not wait for the flood key's whole backlog.
    expect(order.indexOf('C1')).toBeLessThan(order.indexOf('F2'));
    expect(order).not.toContain('F3');
  });
});

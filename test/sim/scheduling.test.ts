/**
 * The engine's observable scheduling: at most maxNumSeqs requests generate, the rest wait FIFO without
 * limit (never a 429) and show on /metrics; a client that leaves frees its slot or queue place at once
 * and is recorded as aborted (vllm.md 4 "Client disconnect", 5.2 "Overload", 7).
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { chat, fastSim, metricValue, nextEnd, post, sendAndDrop, sleep } from './support.js';

const LABELS = '{model_name="qwen2.5-7b-instruct",engine="0"}';

async function metrics(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

describe('queueing beyond maxNumSeqs', () => {
  it('runs two, queues the rest FIFO without refusing, and shows it on /metrics', async () => {
    const sim = await fastSim({ maxNumSeqs: 2, itlMs: 20 });
    try {
      const order: string[] = [];
      sim.events.on('request-end', (r: { body: { messages: Array<{ content: string }> } }) => order.push(r.body.messages[0]?.content ?? ''));
      const all = ['A', 'B', 'C', 'D', 'E'].map((p) => post(sim, '/v1/chat/completions', chat(p, { max_tokens: 8 })));
      await sleep(60);
      expect(sim.running()).toBe(2);
      expect(sim.waiting()).toBe(3);
      const text = await metrics(sim.url);
      expect(metricValue(text, `vllm:num_requests_running${LABELS}`)).toBe(2);
      expect(metricValue(text, `vllm:num_requests_waiting${LABELS}`)).toBe(3);
      const kv = metricValue(text, `vllm:kv_cache_usage_perc${LABELS}`) as number;
      expect(kv).toBeGreaterThan(0);
      expect(kv).toBeLessThan(1);
      expect((await Promise.all(all)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(order.slice(2)).toEqual(['C', 'D', 'E']);
      const after = await metrics(sim.url);
      expect(metricValue(after, `vllm:num_requests_waiting${LABELS}`)).toBe(0);
      expect(metricValue(after, `vllm:request_success_total{model_name="qwen2.5-7b-instruct",engine="0",finished_reason="length"}`)).toBe(5);
      expect(metricValue(after, `vllm:generation_tokens_total${LABELS}`)).toBe(40);
      expect(metricValue(after, `vllm:time_to_first_token_seconds_count${LABELS}`)).toBe(5);
      expect(metricValue(after, `vllm:e2e_request_latency_seconds_bucket{model_name="qwen2.5-7b-instruct",engine="0",le="+Inf"}`)).toBe(5);
      expect(after).toContain('# TYPE vllm:time_to_first_token_seconds histogram');
    } finally {
      await sim.close();
    }
  });

  it('TTFT includes the wait for a slot', async () => {
    const sim = await fastSim({ maxNumSeqs: 1, itlMs: 10 });
    try {
      const first = post(sim, '/v1/chat/completions', chat('first', { max_tokens: 20 }));
      await sleep(10);
      const t0 = performance.now();
      const second = await post(sim, '/v1/chat/completions', chat('second', { max_tokens: 1 }));
      expect(second.status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThan(120);
      await first;
    } finally {
      await sim.close();
    }
  });
});

describe('client disconnect aborts the request', () => {
  it('mid-stream: recorded as aborted right away, slot freed, abort counted', async () => {
    const sim = await fastSim({ itlMs: 50 });
    try {
      const ended = nextEnd(sim);
      const t0 = performance.now();
      await sendAndDrop(sim, '/v1/chat/completions', chat('long', { stream: true, max_tokens: 500 }), 'first-byte');
      const rec = await ended;
      expect(rec).toMatchObject({ outcome: 'aborted', streamed: true });
      expect(performance.now() - t0).toBeLessThan(1_000);
      expect(sim.running()).toBe(0);
      expect(metricValue(await metrics(sim.url), `vllm:request_success_total{model_name="qwen2.5-7b-instruct",engine="0",finished_reason="abort"}`)).toBe(1);
    } finally {
      await sim.close();
    }
  });

  it('during a non-streaming request', async () => {
    const sim = await fastSim({ itlMs: 50 });
    try {
      const ended = nextEnd(sim);
      await sendAndDrop(sim, '/v1/chat/completions', chat('slow', { max_tokens: 500 }), 200);
      const rec = await ended;
      expect(rec).toMatchObject({ outcome: 'aborted', streamed: false });
      expect(rec.completionTokens).toBeGreaterThan(0);
      expect(rec.completionTokens).toBeLessThan(500);
      expect(sim.running()).toBe(0);
    } finally {
      await sim.close();
    }
  });

  it('while queued: leaves the queue at once and the next request takes the slot', async () => {
    const sim = await fastSim({ maxNumSeqs: 1, itlMs: 10 });
    try {
      const first = post(sim, '/v1/chat/completions', chat('first', { max_tokens: 20 }));
      await sleep(20);
      const ended = nextEnd(sim);
      const drop = sendAndDrop(sim, '/v1/chat/completions', chat('queued', { max_tokens: 5 }), 50);
      await sleep(30);
      expect(sim.waiting()).toBe(1);
      await drop;
      expect((await ended).outcome).toBe('aborted');
      expect(sim.waiting()).toBe(0);
      expect((await first).status).toBe(200);
    } finally {
      await sim.close();
    }
  });
});

describe('backpressure', () => {
  it('a reader that stops pauses generation instead of buffering the whole answer', async () => {
    const sim = await fastSim({ itlMs: 0, maxModelLen: 1_000_000, outputTokens: 1_000_000 });
    try {
      const started = new Promise<{ completionTokens: number; endedAt?: number }>((resolve) => sim.events.once('request-start', resolve));
      const url = new URL(sim.url);
      const payload = JSON.stringify(chat('big', { stream: true, max_tokens: 900_000 }));
      const req = request({ host: url.hostname, port: url.port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' } });
      req.on('error', () => undefined);
      req.on('response', (res) => res.once('data', () => res.pause()));
      req.end(payload);
      const rec = await started;
      await sleep(500);
      expect(rec.endedAt).toBeUndefined();
      expect(rec.completionTokens).toBeGreaterThan(0);
      // Unthrottled, 500 ms at itl=0 is well over 100k tokens; the socket buffers hold a few tens of thousands.
      expect(rec.completionTokens).toBeLessThan(60_000);
      const ended = nextEnd(sim);
      req.destroy();
      expect((await ended).outcome).toBe('aborted');
    } finally {
      await sim.close();
    }
  });
});

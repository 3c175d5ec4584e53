/**
 * Every fault marker through a real socket: the status or break the client sees, and the outcome the
 * simulator records.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../vllm/sim/index.js';
import { chat, fastSim, nextEnd, post, rawPost, rawPostUntilClose, sleep, sseData } from './support.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await fastSim();
});
afterAll(() => sim.close());

describe('http=<status> with shape=', () => {
  it('answers the status before any header, nested shape by default', async () => {
    const ended = nextEnd(sim);
    const res = await post(sim, '/v1/chat/completions', chat('boom [[sim:http=500]]'));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { message: expect.any(String), type: 'InternalServerError', param: null, code: 500 } });
    expect((await ended).outcome).toBe('fault');
  });

  it('flat, string, detail and empty shapes', async () => {
    const flat = await post(sim, '/v1/chat/completions', chat('x [[sim:http=400]] [[sim:shape=flat]]', { stream: true }));
    expect(flat.status).toBe(400);
    expect(await flat.json()).toEqual({ object: 'error', message: expect.any(String), type: 'BadRequestError', param: null, code: 400 });
    const str = await post(sim, '/v1/completions', { prompt: '[[sim:http=503]][[sim:shape=string]]' });
    expect(str.status).toBe(503);
    expect(await str.json()).toEqual({ error: expect.any(String) });
    const detail = await post(sim, '/v1/chat/completions', chat('x [[sim:http=404]] [[sim:shape=detail]]'));
    expect(await detail.json()).toEqual({ detail: expect.any(String) });
    const empty = await rawPost(sim, '/v1/chat/completions', chat('x [[sim:http=502]] [[sim:shape=empty]]'));
    expect(empty.status).toBe(502);
    expect(empty.body).toBe('');
  });

  it('applies to every request when given in options.fault', async () => {
    const faulty = await fastSim({ fault: 'http=503,shape=empty' });
    try {
      expect((await post(faulty, '/v1/chat/completions', chat('x'))).status).toBe(503);
      // A prompt marker overrides the configured fault.
      expect((await post(faulty, '/v1/chat/completions', chat('x [[sim:http=429]]'))).status).toBe(429);
    } finally {
      await faulty.close();
    }
  });
});

describe('connection faults', () => {
  it('reset-before-headers: the socket closes without an answer', async () => {
    const ended = nextEnd(sim);
    const res = await rawPostUntilClose(sim, '/v1/chat/completions', chat('x [[sim:reset-before-headers]]'));
    expect(res).toMatchObject({ status: 0, broken: true });
    expect((await ended).outcome).toBe('fault');
  });

  it('reset-mid-stream: a few chunks, then the connection drops without [DONE]', async () => {
    const ended = nextEnd(sim);
    const res = await rawPostUntilClose(sim, '/v1/chat/completions', chat('x [[sim:reset-mid-stream]]', { stream: true, max_tokens: 50 }));
    expect(res.status).toBe(200);
    expect(res.broken).toBe(true);
    expect(res.body).not.toContain('[DONE]');
    expect(sseData(res.body)).toHaveLength(4);
    const rec = await ended;
    expect(rec).toMatchObject({ outcome: 'fault', completionTokens: 3 });
  });

  it('reset-mid-stream without streaming: half a body, then the drop', async () => {
    const res = await rawPostUntilClose(sim, '/v1/chat/completions', chat('x [[sim:reset-mid-stream]]', { max_tokens: 5 }));
    expect(res).toMatchObject({ status: 200, broken: true });
    expect(() => JSON.parse(res.body) as unknown).toThrow();
  });

  it('error-mid-stream: a few chunks, vLLM in-stream error event, then [DONE]', async () => {
    const ended = nextEnd(sim);
    const res = await rawPost(sim, '/v1/chat/completions', chat('x [[sim:error-mid-stream]]', { stream: true, max_tokens: 50 }));
    const events = sseData(res.body);
    expect(events).toHaveLength(6);
    expect(JSON.parse(events[4] as string)).toEqual({ error: { message: 'Internal server error', type: 'InternalServerError', param: null, code: 500 } });
    expect(events[5]).toBe('[DONE]');
    expect((await ended).outcome).toBe('fault');
    const blocking = await post(sim, '/v1/chat/completions', chat('x [[sim:error-mid-stream]]', { max_tokens: 50 }));
    expect(blocking.status).toBe(500);
  });

  it('hang: no headers until the client leaves, recorded as aborted', async () => {
    const ended = nextEnd(sim);
    const url = new URL(sim.url);
    const payload = JSON.stringify(chat('x [[sim:hang]]', { stream: true }));
    let gotResponse = false;
    const req = request({ host: url.hostname, port: url.port, path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('response', () => (gotResponse = true));
    req.on('error', () => undefined);
    req.end(payload);
    await sleep(300);
    expect(gotResponse).toBe(false);
    req.destroy();
    const rec = await ended;
    expect(rec.outcome).toBe('aborted');
    expect(rec.endedAt! - rec.startedAt).toBeGreaterThanOrEqual(250);
  });

  it('hang-after-headers: 200, headers and the first chunk, then silence', async () => {
    const res = await post(sim, '/v1/chat/completions', chat('x [[sim:hang-after-headers]]', { stream: true }));
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"role":"assistant"');
    const more = await Promise.race([reader.read().then(() => 'data'), sleep(300).then(() => 'silence')]);
    expect(more).toBe('silence');
    const ended = nextEnd(sim);
    await reader.cancel();
    expect((await ended).outcome).toBe('aborted');
  });
});

describe('latency and length overrides', () => {
  it('ttft= delays the first token, itl= spaces the rest, tokens= sets the natural length', async () => {
    const t0 = performance.now();
    const res = await post(sim, '/v1/chat/completions', chat('x [[sim:ttft=150]] [[sim:itl=30]] [[sim:tokens=6]]'));
    const json = (await res.json()) as { usage: { completion_tokens: number }; choices: Array<{ finish_reason: string }> };
    const elapsed = performance.now() - t0;
    expect(json.usage.completion_tokens).toBe(6);
    expect(json.choices[0]?.finish_reason).toBe('stop');
    // 150 ms to the first token, then 5 × 30 ms.
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1_500);
  });
});

describe('content faults', () => {
  it('malformed-line: one event in the middle is not JSON; the stream still ends with [DONE]', async () => {
    const ended = nextEnd(sim);
    const res = await rawPost(sim, '/v1/chat/completions', chat('x [[sim:malformed-line]]', { stream: true, max_tokens: 8 }));
    const events = sseData(res.body);
    const broken = events.filter((e) => {
      if (e === '[DONE]') return false;
      try {
        JSON.parse(e);
        return false;
      } catch {
        return true;
      }
    });
    expect(broken).toHaveLength(1);
    expect(events.indexOf(broken[0] as string)).toBeGreaterThan(1);
    expect(events.at(-1)).toBe('[DONE]');
    expect((await ended).outcome).toBe('completed');
  });

  it('degenerate: the content is all "!" up to max_tokens (vllm.md 8)', async () => {
    const res = await post(sim, '/v1/chat/completions', chat('x [[sim:degenerate]]', { max_tokens: 12 }));
    const json = (await res.json()) as { choices: Array<{ message: { content: string }; finish_reason: string }> };
    expect(json.choices[0]).toMatchObject({ message: { content: '!'.repeat(12) }, finish_reason: 'length' });
  });
});

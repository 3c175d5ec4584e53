/**
 * The process lifecycle clients observe (vllm.md 1.1): connection refused while the model loads, 200
 * once listening; on engine death in-flight requests fail (streams with vLLM's error event and [DONE]),
 * /health turns 503, new requests get 500, and after deathExitMs the port refuses connections again.
 */
import { describe, expect, it } from 'vitest';
import { startSimulator } from '../../vllm/sim/index.js';
import { chat, fastSim, nextEnd, post, rawPost, sleep, sseData } from './support.js';

async function connectError(url: string): Promise<string | undefined> {
  try {
    await fetch(url);
    return undefined;
  } catch (err) {
    return ((err as { cause?: { code?: string } }).cause?.code) ?? 'unknown';
  }
}

describe('model load', () => {
  it('refuses connections while loading, then answers /health 200 once ready', async () => {
    const sim = startSimulator({ loadMs: 400 });
    try {
      expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
      expect(await connectError(`${sim.url}/health`)).toBe('ECONNREFUSED');
      const t0 = performance.now();
      await sim.ready;
      expect(performance.now() - t0).toBeGreaterThan(200);
      expect((await fetch(`${sim.url}/health`)).status).toBe(200);
    } finally {
      await sim.close();
    }
  });

  it('close() during the load rejects ready and never listens', async () => {
    const sim = startSimulator({ loadMs: 300 });
    await sim.close();
    await expect(sim.ready).rejects.toThrow(/closed before it was ready/);
    await sleep(350);
    expect(await connectError(`${sim.url}/health`)).toBe('ECONNREFUSED');
  });
});

describe('engine death', () => {
  it('fails in-flight streams and requests, 503 on /health, 500 for new requests, then refuses connections', async () => {
    const sim = await fastSim({ deathExitMs: 300, itlMs: 20 });
    const streaming = rawPost(sim, '/v1/chat/completions', chat('doomed', { stream: true, max_tokens: 500 }));
    const blocking = post(sim, '/v1/chat/completions', chat('doomed too', { max_tokens: 500 }));
    await sleep(100);
    const ends = [nextEnd(sim), nextEnd(sim)];
    sim.killEngine();

    const stream = await streaming;
    expect(stream.status).toBe(200);
    const events = sseData(stream.body);
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events.at(-2) as string)).toEqual({
      error: { message: 'EngineCore encountered an issue. See stack trace (above) for the root cause.', type: 'InternalServerError', param: null, code: 500 },
    });
    const res = await blocking;
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('InternalServerError');
    expect((await Promise.all(ends)).map((r) => r.outcome)).toEqual(['error', 'error']);

    const health = await fetch(`${sim.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.text()).toBe('');
    const late = await post(sim, '/v1/chat/completions', chat('late'));
    expect(late.status).toBe(500);
    expect(((await late.json()) as { error: { message: string } }).error.message).toMatch(/^EngineCore encountered an issue/);

    const closed = new Promise<void>((resolve) => sim.events.once('closed', () => resolve()));
    await closed;
    expect(await connectError(`${sim.url}/health`)).toBe('ECONNREFUSED');
  });
});

describe('close()', () => {
  it('stops at once: open streams are cut without [DONE] and recorded as aborted', async () => {
    const sim = await fastSim({ itlMs: 50 });
    const pending = rawPost(sim, '/v1/chat/completions', chat('cut', { stream: true, max_tokens: 500 })).catch((err: Error) => err);
    await sleep(100);
    const ended = nextEnd(sim);
    await sim.close();
    const result = await pending;
    expect(result).toBeInstanceOf(Error);
    expect((await ended).outcome).toBe('aborted');
    expect(await connectError(`${sim.url}/health`)).toBe('ECONNREFUSED');
  });
});

describe('close() right after start', () => {
  it('does not leave the port listening when the listen was still under way', async () => {
    const sim = startSimulator();
    await sim.close();
    await expect(sim.ready).rejects.toThrow(/closed before it was ready/);
    expect(await connectError(`${sim.url}/health`)).toBe('ECONNREFUSED');
  });
});

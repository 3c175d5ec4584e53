/**
 * vLLM's load gauges follow the instance's own load (vllm.md 7): vllm:num_requests_running and
 * vllm:num_requests_waiting with the scheduler, vllm:kv_cache_usage_perc as the fraction of KV blocks the
 * running requests hold (ceil(tokens / block_size) each, shared prefix blocks once), labels
 * {model_name, engine}. Streams are held open with the hang-after-headers fault, so the figures are exact.
 */
import { request, type ClientRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../vllm/sim/index.js';
import { fastSim, metricValue, nextEnd, post, sleep } from './support.js';

const LABELS = '{model_name="qwen2.5-7b-instruct",engine="0"}';
const sims: Simulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function held(options: Parameters<typeof fastSim>[0]): Promise<Simulator> {
  const sim = await fastSim({ fault: 'hang-after-headers', ...options });
  sims.push(sim);
  return sim;
}

/** Opens a streaming completion and resolves once its headers arrived; destroy() the request to leave. */
function open(sim: Simulator, prompt: number[]): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const url = new URL(sim.url);
    const req = request({ host: url.hostname, port: url.port, path: '/v1/completions', method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('response', () => resolve(req));
    req.on('error', () => undefined);
    req.setTimeout(5_000, () => reject(new Error('no response headers')));
    req.end(JSON.stringify({ prompt, stream: true, max_tokens: 100 }));
  });
}

async function gauges(sim: Simulator): Promise<{ running?: number; waiting?: number; kv?: number }> {
  const text = await (await fetch(`${sim.url}/metrics`)).text();
  return {
    running: metricValue(text, `vllm:num_requests_running${LABELS}`),
    waiting: metricValue(text, `vllm:num_requests_waiting${LABELS}`),
    kv: metricValue(text, `vllm:kv_cache_usage_perc${LABELS}`),
  };
}

const ids = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe('load gauges', () => {
  it('max-num-seqs 2 and 5 streams: running 2, waiting 3, KV = held blocks / capacity; all back to 0 as clients leave', async () => {
    const sim = await held({ maxNumSeqs: 2, kvCacheBlocks: 100 });
    // Distinct 40-token prompts; a held completion stream has generated 1 token: ceil(41 / 16) = 3 blocks.
    const streams: ClientRequest[] = [];
    for (let i = 0; i < 5; i++) streams.push(await open(sim, ids(1000 * (i + 1), 40)));
    await sleep(30);
    expect(await gauges(sim)).toEqual({ running: 2, waiting: 3, kv: 0.06 });
    expect(sim.kvCacheUsage()).toBeCloseTo(0.06, 10);

    // A running client leaves: the oldest waiting request takes its slot.
    const ended = nextEnd(sim);
    streams[0]?.destroy();
    expect((await ended).outcome).toBe('aborted');
    await sleep(30);
    expect(await gauges(sim)).toEqual({ running: 2, waiting: 2, kv: 0.06 });

    for (const s of streams) s.destroy();
    await sleep(100);
    expect(await gauges(sim)).toEqual({ running: 0, waiting: 0, kv: 0 });
  });

  it('prompt blocks shared through the prefix cache are held once (and not shared with caching off)', async () => {
    // Two 40-token prompts with the same first 32 tokens: 2 shared full blocks + 1 own block each.
    const a = [...ids(1, 32), ...ids(100, 8)];
    const b = [...ids(1, 32), ...ids(200, 8)];
    const on = await held({ kvCacheBlocks: 100 });
    const onStreams = [await open(on, a), await open(on, b)];
    await sleep(30);
    expect((await gauges(on)).kv).toBe(0.04);

    const off = await held({ kvCacheBlocks: 100, enablePrefixCaching: false });
    const offStreams = [await open(off, a), await open(off, b)];
    await sleep(30);
    expect((await gauges(off)).kv).toBe(0.06);
    for (const s of [...onStreams, ...offStreams]) s.destroy();
  });

  it('KV usage grows as running requests generate, and is capped at 1', async () => {
    const sim = await fastSim({ itlMs: 10, kvCacheBlocks: 4, outputTokens: 1_000, maxModelLen: 4_096 });
    sims.push(sim);
    const res = post(sim, '/v1/completions', { prompt: ids(1, 16), max_tokens: 100 }).catch(() => undefined);
    await sleep(60);
    const early = sim.kvCacheUsage();
    await sleep(250);
    const later = sim.kvCacheUsage();
    expect(early).toBeGreaterThan(0);
    expect(later).toBeGreaterThan(early);
    await sleep(400);
    // 16 + ~70 tokens in 4 blocks of 16: past the capacity, reported as 1.
    expect(sim.kvCacheUsage()).toBe(1);
    expect((await res)?.status).toBe(200);
    expect(sim.kvCacheUsage()).toBe(0);
  });
});

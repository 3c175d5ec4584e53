/**
 * The prefix cache model (vLLM's automatic prefix caching): chained block hashes over the prompt's token
 * ids, only full blocks cached, the last prompt token always recomputed, a bounded LRU; hits shorten the
 * time to first token (prefill is charged per uncached token) and show in vllm:prefix_cache_queries_total /
 * vllm:prefix_cache_hits_total, counted in tokens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../vllm/sim/index.js';
import { idSequence, PrefixCache, textSequence } from '../../vllm/sim/prefix-cache.js';
import { tokenize } from '../../vllm/sim/text.js';
import { chat, fastSim, metricValue, postJson } from './support.js';

const LABELS = '{model_name="qwen2.5-7b-instruct",engine="0"}';
const ids = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

describe('block hashes', () => {
  it('one chained hash per full block: a shared prefix shares leading hashes, a change alters every later one', () => {
    const base = idSequence(ids(1, 50), 16);
    expect(base.tokens).toBe(50);
    expect(base.blocks).toHaveLength(3);
    const sameStart = idSequence([...ids(1, 32), ...ids(900, 18)], 16);
    expect(sameStart.blocks.slice(0, 2)).toEqual(base.blocks.slice(0, 2));
    expect(sameStart.blocks[2]).not.toBe(base.blocks[2]);
    // Same tokens in block 2, but block 0 differs: the chain makes every hash differ.
    const changedFirst = idSequence([999, ...ids(2, 49)], 16);
    for (let i = 0; i < 3; i++) expect(changedFirst.blocks[i]).not.toBe(base.blocks[i]);
  });

  it('a text prompt hashes through the token ids /tokenize reports', () => {
    const text = 'The quick brown fox jumps over the lazy dog, again and again, 1 2 3 4 5 6 7 8 9 10 times.';
    expect(textSequence(text, 4)).toEqual(idSequence(tokenize(text).ids, 4));
  });
});

describe('PrefixCache', () => {
  it('hits the cached leading blocks, but never the last prompt token', () => {
    const cache = new PrefixCache(true, 16, 100);
    const p = idSequence(ids(1, 40), 16);
    expect(cache.admit([p])).toEqual({ queried: 40, hit: 0 });
    expect(cache.admit([p])).toEqual({ queried: 40, hit: 32 });
    // 32 tokens are 2 full blocks, but the second one holds the last token: only 16 come from the cache.
    const exact = idSequence(ids(1, 32), 16);
    expect(cache.admit([exact])).toEqual({ queried: 32, hit: 16 });
    // A longer prompt with the same start finds the 2 blocks.
    expect(cache.admit([idSequence(ids(1, 100), 16)])).toEqual({ queried: 100, hit: 32 });
  });

  it('forgets the least recently used blocks beyond its capacity; off means no lookups at all', () => {
    const cache = new PrefixCache(true, 16, 4);
    const a = idSequence(ids(1, 33), 16);
    const b = idSequence(ids(500, 33), 16);
    const c = idSequence(ids(900, 33), 16);
    cache.admit([a]);
    cache.admit([b]);
    expect(cache.size).toBe(4);
    // Touch a, then c pushes out the oldest (b).
    expect(cache.admit([a]).hit).toBe(32);
    cache.admit([c]);
    expect(cache.admit([b]).hit).toBe(0);
    expect(cache.size).toBe(4);

    const off = new PrefixCache(false, 16, 100);
    off.admit([a]);
    expect(off.admit([a])).toEqual({ queried: 0, hit: 0 });
  });
});

describe('over HTTP', () => {
  let sim: Simulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('a repeated conversation prefix is a hit, counted in tokens on /metrics and in the records', async () => {
    sim = await fastSim();
    const system = { role: 'system', content: 'You answer questions about the simulator. '.repeat(8) };
    const first = await postJson<{ usage: { prompt_tokens: number } }>(sim, '/v1/chat/completions', { messages: [system, { role: 'user', content: 'first question' }], max_tokens: 2 });
    const second = await postJson<{ usage: { prompt_tokens: number } }>(sim, '/v1/chat/completions', { messages: [system, { role: 'user', content: 'another one' }], max_tokens: 2 });
    const [r1, r2] = sim.requests;
    expect(r1?.cachedTokens).toBe(0);
    // The shared system prompt is several full blocks; the differing user turn is not cached.
    expect(r2?.cachedTokens).toBeGreaterThanOrEqual(48);
    expect(r2?.cachedTokens).toBeLessThan(second.json.usage.prompt_tokens);
    expect((r2?.cachedTokens ?? 0) % 16).toBe(0);

    const text = await (await fetch(`${sim.url}/metrics`)).text();
    expect(metricValue(text, `vllm:prefix_cache_queries_total${LABELS}`)).toBe(first.json.usage.prompt_tokens + second.json.usage.prompt_tokens);
    expect(metricValue(text, `vllm:prefix_cache_hits_total${LABELS}`)).toBe(r2?.cachedTokens);
    expect(text).toContain('vllm:cache_config_info{block_size="16",enable_prefix_caching="True",engine="0",num_gpu_blocks="6250"} 1.0');
  });

  it('TTFT = ttftMs + prefillMsPerToken x uncached tokens: a repeated long prompt answers much sooner', async () => {
    sim = await fastSim({ ttftMs: 0, prefillMsPerToken: 1 });
    const prompt = ids(1, 400);
    const timed = async (): Promise<number> => {
      const t0 = performance.now();
      expect((await postJson(sim as Simulator, '/v1/completions', { prompt, max_tokens: 1 })).status).toBe(200);
      return performance.now() - t0;
    };
    const cold = await timed();
    const warm = await timed();
    // 400 uncached tokens, then 400 - 384 cached = 16.
    expect(sim.requests.map((r) => [r.cachedTokens, r.ttftMs])).toEqual([[0, 400], [384, 16]]);
    expect(cold).toBeGreaterThan(350);
    expect(warm).toBeLessThan(cold - 250);

    sim.resetPrefixCache();
    await timed();
    expect(sim.requests.at(-1)?.cachedTokens).toBe(0);
  });

  it('the ttft= fault sets the whole time to first token, prefill included', async () => {
    sim = await fastSim({ prefillMsPerToken: 5 });
    await postJson(sim, '/v1/chat/completions', chat('[[sim:ttft=7]] hello', { max_tokens: 1 }));
    expect(sim.requests[0]?.ttftMs).toBe(7);
  });
});

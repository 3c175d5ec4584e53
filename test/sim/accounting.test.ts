/**
 * What the soak test compares: the tokens of answers sent in full (Simulator.stats(), GET /sim/stats) equal
 * the usage the client read; aborted requests are counted apart. vLLM's own counters
 * (vllm:prompt_tokens_total, vllm:generation_tokens_total) and per-request histograms
 * (vllm:request_prompt_tokens, vllm:request_generation_tokens: every finished request, aborts included,
 * no finished_reason label) agree with them (vllm.md 7).
 */
import { describe, expect, it } from 'vitest';
import { chat, fastSim, metricValue, nextEnd, postJson, rawPost, sendAndDrop, sseData } from './support.js';

const L = 'model_name="qwen2.5-7b-instruct",engine="0"';

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
}

describe('accounting', () => {
  it('completed answers, an aborted stream and a rejected request are counted apart and match usage', async () => {
    const sim = await fastSim();
    try {
      const usages: Usage[] = [];
      usages.push((await postJson<{ usage: Usage }>(sim, '/v1/chat/completions', chat('one', { max_tokens: 5 }))).json.usage);
      const stream = await rawPost(sim, '/v1/chat/completions', chat('two', { stream: true, max_tokens: 7, stream_options: { include_usage: true } }));
      usages.push((JSON.parse(sseData(stream.body).at(-2) as string) as { usage: Usage }).usage);
      usages.push((await postJson<{ usage: Usage }>(sim, '/v1/completions', { prompt: 'three', max_tokens: 3, n: 2 })).json.usage);
      expect(usages.map((u) => u.completion_tokens)).toEqual([5, 7, 6]);

      const slow = await fastSim({ itlMs: 50 });
      try {
        const ended = nextEnd(slow);
        await sendAndDrop(slow, '/v1/chat/completions', chat('dropped', { stream: true, max_tokens: 500 }), 'first-byte');
        const aborted = await ended;
        expect(slow.stats()).toEqual({
          completedRequests: 0, completedPromptTokens: 0, completedCompletionTokens: 0,
          abortedRequests: 1, abortedCompletionTokens: aborted.completionTokens, failedRequests: 0,
        });
      } finally {
        await slow.close();
      }

      expect((await postJson(sim, '/v1/chat/completions', chat('bad', { temperature: 9 }))).status).toBe(400);
      const promptSum = usages.reduce((s, u) => s + u.prompt_tokens, 0);
      const completionSum = usages.reduce((s, u) => s + u.completion_tokens, 0);
      const expected = {
        completedRequests: 3, completedPromptTokens: promptSum, completedCompletionTokens: completionSum,
        abortedRequests: 0, abortedCompletionTokens: 0, failedRequests: 1,
      };
      expect(sim.stats()).toEqual(expected);
      expect(await (await fetch(`${sim.url}/sim/stats`)).json()).toEqual(expected);
      expect(sim.requests.map((r) => [r.route, r.outcome, r.promptTokens, r.completionTokens])).toEqual([
        ['chat', 'completed', usages[0]?.prompt_tokens, 5],
        ['chat', 'completed', usages[1]?.prompt_tokens, 7],
        ['completion', 'completed', usages[2]?.prompt_tokens, 6],
        ['chat', 'error', 0, 0],
      ]);

      const text = await (await fetch(`${sim.url}/metrics`)).text();
      expect(metricValue(text, `vllm:prompt_tokens_total{${L}}`)).toBe(promptSum);
      expect(metricValue(text, `vllm:generation_tokens_total{${L}}`)).toBe(completionSum);
      expect(metricValue(text, `vllm:request_generation_tokens_sum{${L}}`)).toBe(completionSum);
      expect(metricValue(text, `vllm:request_generation_tokens_count{${L}}`)).toBe(3);
      expect(metricValue(text, `vllm:request_prompt_tokens_sum{${L}}`)).toBe(promptSum);
      // 1-2-5 buckets up to max_model_len: 5 and 6 are above le="5.0", 7 too; all three are <= 10.
      expect(metricValue(text, `vllm:request_generation_tokens_bucket{${L},le="5.0"}`)).toBe(1);
      expect(metricValue(text, `vllm:request_generation_tokens_bucket{${L},le="10.0"}`)).toBe(3);
      expect(text).toContain(`vllm:request_generation_tokens_bucket{${L},le="10000.0"}`);
      expect(text).not.toContain(`vllm:request_generation_tokens_bucket{${L},le="20000.0"}`);
    } finally {
      await sim.close();
    }
  });

  it('aborted requests count in the vLLM counters and histograms (finished_reason abort), not in completed stats', async () => {
    const sim = await fastSim({ itlMs: 30 });
    try {
      const ended = nextEnd(sim);
      await sendAndDrop(sim, '/v1/completions', { prompt: 'left early', stream: true, max_tokens: 500 }, 200);
      const rec = await ended;
      expect(rec).toMatchObject({ outcome: 'aborted', route: 'completion' });
      expect(rec.completionTokens).toBeGreaterThan(0);
      const text = await (await fetch(`${sim.url}/metrics`)).text();
      expect(metricValue(text, `vllm:request_success_total{${L},finished_reason="abort"}`)).toBe(1);
      expect(metricValue(text, `vllm:generation_tokens_total{${L}}`)).toBe(rec.completionTokens);
      expect(metricValue(text, `vllm:request_generation_tokens_count{${L}}`)).toBe(1);
      expect(sim.stats()).toMatchObject({ completedRequests: 0, abortedRequests: 1, abortedCompletionTokens: rec.completionTokens });
    } finally {
      await sim.close();
    }
  });
});

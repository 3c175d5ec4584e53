/**
 * Byte-for-byte framing of streams (vllm.md 4) and the non-streaming shapes (vllm.md 3), through real
 * sockets: role chunk first, the last token inside the finish chunk, the usage chunk only when asked
 * for, `data: [DONE]` at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../vllm/sim/index.js';
import { simulatedText } from '../../vllm/sim/index.js';
import { chat, fastSim, postJson, rawPost, sseData } from './support.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await fastSim({ outputTokens: 5 });
});
afterAll(() => sim.close());

/** The text of token i of the deterministic output for `seed`. */
function piece(seed: string, i: number): string {
  return simulatedText(seed, i + 1).slice(simulatedText(seed, i).length);
}

function created(body: string): number {
  return Number(/"created":(\d+)/.exec(body)?.[1]);
}

describe('chat stream framing', () => {
  const seed = 'frame me';
  const fingerprint = /"system_fingerprint":"(vllm-[^"]+)"/;

  it('without include_usage: role, tokens, last token in the finish chunk with the fingerprint, [DONE]', async () => {
    const res = await rawPost(sim, '/v1/chat/completions', chat(seed, { max_tokens: 3, stream: true }), { 'x-request-id': 'req-1' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['content-length']).toBeUndefined();
    const t = created(res.body);
    const fp = fingerprint.exec(res.body)?.[1];
    const head = `data: {"id":"chatcmpl-req-1","object":"chat.completion.chunk","created":${t},"model":"qwen2.5-7b-instruct","choices":[{"index":0,"delta":`;
    expect(res.body).toBe(
      `${head}{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null,"prompt_text":null}\n\n` +
        `${head}{"content":"${piece(seed, 0)}"},"logprobs":null,"finish_reason":null,"token_ids":null}]}\n\n` +
        `${head}{"content":"${piece(seed, 1)}"},"logprobs":null,"finish_reason":null,"token_ids":null}]}\n\n` +
        `${head}{"content":"${piece(seed, 2)}"},"logprobs":null,"finish_reason":"length","stop_reason":null,"token_ids":null}],"system_fingerprint":"${fp}"}\n\n` +
        'data: [DONE]\n\n',
    );
    expect(fp).toMatch(/^vllm-0\.\d+\.\d+\+sim-[0-9a-f]{8}$/);
  });

  it('with include_usage: the finish chunk has no fingerprint; a choices:[] usage chunk follows', async () => {
    const body = chat(seed, { max_tokens: 2, stream: true, stream_options: { include_usage: true } });
    const res = await rawPost(sim, '/v1/chat/completions', body, { 'x-request-id': 'req-2' });
    const t = created(res.body);
    const { json } = await postJson<{ prompt_tokens: number }>(sim, '/v1/chat/completions', chat(seed, { max_tokens: 2 }));
    const p = (json as unknown as { usage: { prompt_tokens: number } }).usage.prompt_tokens;
    const fp = fingerprint.exec(res.body)?.[1];
    const head = `data: {"id":"chatcmpl-req-2","object":"chat.completion.chunk","created":${t},"model":"qwen2.5-7b-instruct","choices":`;
    expect(res.body).toBe(
      `${head}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"prompt_token_ids":null,"prompt_text":null}\n\n` +
        `${head}[{"index":0,"delta":{"content":"${piece(seed, 0)}"},"logprobs":null,"finish_reason":null,"token_ids":null}]}\n\n` +
        `${head}[{"index":0,"delta":{"content":"${piece(seed, 1)}"},"logprobs":null,"finish_reason":"length","stop_reason":null,"token_ids":null}]}\n\n` +
        `${head}[],"usage":{"prompt_tokens":${p},"total_tokens":${p + 2},"completion_tokens":2},"system_fingerprint":"${fp}"}\n\n` +
        'data: [DONE]\n\n',
    );
  });

  it('ends with "stop" and an empty EOS delta when the natural length comes first', async () => {
    const res = await rawPost(sim, '/v1/chat/completions', chat(seed, { stream: true }));
    const events = sseData(res.body);
    const finish = JSON.parse(events.at(-2) as string) as { choices: Array<{ delta: { content: string }; finish_reason: string }> };
    expect(finish.choices[0]).toMatchObject({ delta: { content: '' }, finish_reason: 'stop' });
    const text = events.slice(1, -1).map((e) => (JSON.parse(e) as { choices: Array<{ delta: { content: string } }> }).choices[0]?.delta.content ?? '').join('');
    // outputTokens = 5: four words and the EOS token.
    expect(text).toBe(simulatedText(seed, 4));
  });

  it('continuous_usage_stats puts usage on every chunk, the role chunk included', async () => {
    const body = chat(seed, { max_tokens: 2, stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } });
    const events = sseData((await rawPost(sim, '/v1/chat/completions', body)).body).slice(0, -1).map((e) => JSON.parse(e) as { usage?: { completion_tokens: number } });
    expect(events.map((e) => e.usage?.completion_tokens)).toEqual([0, 1, 2, 2]);
  });

  it('merges tokensPerChunk tokens per event after the first token', async () => {
    const chunky = await fastSim({ tokensPerChunk: 3 });
    try {
      const events = sseData((await rawPost(chunky, '/v1/chat/completions', chat(seed, { max_tokens: 7, stream: true }))).body);
      const contents = events.slice(1, -1).map((e) => (JSON.parse(e) as { choices: Array<{ delta: { content: string } }> }).choices[0]?.delta.content);
      expect(contents).toEqual([simulatedText(seed, 1), simulatedText(seed, 4).slice(simulatedText(seed, 1).length), simulatedText(seed, 7).slice(simulatedText(seed, 4).length)]);
    } finally {
      await chunky.close();
    }
  });
});

describe('completions stream framing', () => {
  const prompt = 'Once upon';

  it('has no role chunk, object text_completion, and every choice field', async () => {
    const res = await rawPost(sim, '/v1/completions', { prompt, max_tokens: 2, stream: true }, { 'x-request-id': 'c-1' });
    const t = created(res.body);
    const head = `data: {"id":"cmpl-c-1","object":"text_completion","created":${t},"model":"qwen2.5-7b-instruct","choices":[{"index":0,"text":`;
    expect(res.body).toBe(
      `${head}"${piece(prompt, 0)}","logprobs":null,"finish_reason":null,"stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}\n\n` +
        `${head}"${piece(prompt, 1)}","logprobs":null,"finish_reason":"length","stop_reason":null,"prompt_token_ids":null,"token_ids":null}]}\n\n` +
        'data: [DONE]\n\n',
    );
  });

  it('with include_usage ends with a choices:[] usage chunk', async () => {
    const res = await rawPost(sim, '/v1/completions', { prompt, max_tokens: 2, stream: true, stream_options: { include_usage: true } }, { 'x-request-id': 'c-2' });
    const events = sseData(res.body);
    expect(events).toHaveLength(4);
    expect(events[3]).toBe('[DONE]');
    expect(events[2]).toBe(`{"id":"cmpl-c-2","object":"text_completion","created":${created(res.body)},"model":"qwen2.5-7b-instruct","choices":[],"usage":{"prompt_tokens":2,"total_tokens":4,"completion_tokens":2}}`);
  });
});

describe('non-streaming shapes', () => {
  it('chat: every field present, null where unset, usage always', async () => {
    const res = await rawPost(sim, '/v1/chat/completions', chat('shape', { max_tokens: 3, model: 'qwen2.5-7b-instruct' }), { 'x-request-id': 'n-1' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
    const json = JSON.parse(res.body) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['id', 'object', 'created', 'model', 'choices', 'service_tier', 'system_fingerprint', 'usage', 'prompt_logprobs', 'prompt_token_ids', 'prompt_text', 'kv_transfer_params', 'ec_transfer_params', 'metrics']);
    expect(json).toMatchObject({ id: 'chatcmpl-n-1', object: 'chat.completion', model: 'qwen2.5-7b-instruct', service_tier: null, metrics: null });
    const choice = (json.choices as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
    expect(choice).toEqual({
      index: 0,
      message: { role: 'assistant', content: simulatedText('shape', 3), refusal: null, annotations: null, audio: null, function_call: null, reasoning: null },
      logprobs: null,
      finish_reason: 'length',
      stop_reason: null,
      token_ids: null,
      routed_experts: null,
    });
    const usage = json.usage as Record<string, number | null>;
    expect(Object.keys(usage)).toEqual(['prompt_tokens', 'total_tokens', 'completion_tokens', 'prompt_tokens_details']);
    expect(usage.completion_tokens).toBe(3);
    expect(usage.total_tokens).toBe((usage.prompt_tokens as number) + 3);
  });

  it('completions: choice fields, usage, ids of 16 hex without X-Request-Id', async () => {
    const { status, json } = await postJson<Record<string, unknown>>(sim, '/v1/completions', { prompt: 'Hello there', max_tokens: 4 });
    expect(status).toBe(200);
    expect(json.id).toMatch(/^cmpl-[0-9a-f]{16}$/);
    expect(Object.keys(json)).toEqual(['id', 'object', 'created', 'model', 'choices', 'service_tier', 'system_fingerprint', 'usage', 'kv_transfer_params']);
    expect((json.choices as unknown[])[0]).toEqual({
      index: 0,
      text: simulatedText('Hello there', 4),
      logprobs: null,
      finish_reason: 'length',
      stop_reason: null,
      token_ids: null,
      prompt_logprobs: null,
      prompt_token_ids: null,
    });
    expect(json.usage).toEqual({ prompt_tokens: 2, total_tokens: 6, completion_tokens: 4, prompt_tokens_details: null });
  });

  it('completions default to max_tokens 16; chat without max_tokens stops at the natural length', async () => {
    const long = await fastSim({ outputTokens: 40 });
    try {
      const c = await postJson<{ choices: Array<{ finish_reason: string }>; usage: { completion_tokens: number } }>(long, '/v1/completions', { prompt: 'x' });
      expect(c.json.usage.completion_tokens).toBe(16);
      expect(c.json.choices[0]?.finish_reason).toBe('length');
      const ch = await postJson<{ choices: Array<{ finish_reason: string; message: { content: string } }>; usage: { completion_tokens: number } }>(long, '/v1/chat/completions', chat('y'));
      expect(ch.json.usage.completion_tokens).toBe(40);
      expect(ch.json.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: simulatedText('y', 39) } });
    } finally {
      await long.close();
    }
  });

  it('n > 1 and several prompts give one choice each, with their own text, usage summed', async () => {
    const { json } = await postJson<{ choices: Array<{ index: number; text: string }>; usage: { completion_tokens: number; prompt_tokens: number } }>(sim, '/v1/completions', { prompt: ['a', 'b'], n: 2, max_tokens: 2 });
    expect(json.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(json.choices.map((c) => c.text)).toEqual([simulatedText('a', 2), simulatedText('a#1', 2), simulatedText('b', 2), simulatedText('b#1', 2)]);
    expect(json.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 8 });
  });

  it('the response model is the first served name whichever alias was asked for; /v1/models lists both', async () => {
    const aliased = await fastSim({ servedModelNames: ['main-name', 'alias'], model: '/models/q' });
    try {
      const { json } = await postJson<{ model: string }>(aliased, '/v1/chat/completions', chat('a', { model: 'alias', max_tokens: 1 }));
      expect(json.model).toBe('main-name');
      const models = (await (await fetch(`${aliased.url}/v1/models`)).json()) as { object: string; data: Array<Record<string, unknown>> };
      expect(models.object).toBe('list');
      expect(models.data.map((m) => [m.id, m.root, m.owned_by, m.max_model_len, m.parent])).toEqual([
        ['main-name', '/models/q', 'vllm', 16384, null],
        ['alias', '/models/q', 'vllm', 16384, null],
      ]);
      expect((models.data[0]?.permission as Array<Record<string, unknown>>)[0]).toMatchObject({ object: 'model_permission', allow_sampling: true, organization: '*' });
    } finally {
      await aliased.close();
    }
  });
});

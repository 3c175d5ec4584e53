/**
 * vLLM's answers to bad requests (vllm.md 1.2, 1.3, 2, 5, 6): schema failures as "Bad Request" with a
 * param, serving-time checks as BadRequestError, FastAPI's 404/405, the content-type dependency,
 * --api-key, and the small always-open routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../vllm/sim/index.js';
import { chat, fastSim, post, postJson } from './support.js';

interface ErrorJson {
  error: { message: string; type: string; param: string | null; code: number };
}

let sim: Simulator;
beforeAll(async () => {
  sim = await fastSim({ maxModelLen: 200 });
});
afterAll(() => sim.close());

async function expectError(path: string, body: unknown, status: number, match: Partial<ErrorJson['error']>): Promise<ErrorJson['error']> {
  const { status: got, json } = await postJson<ErrorJson>(sim, path, body);
  expect(got).toBe(status);
  expect(Object.keys(json.error)).toEqual(['message', 'type', 'param', 'code']);
  expect(json.error).toMatchObject({ code: status, ...match });
  return json.error;
}

describe('request-model validators and schema (pydantic, type "Bad Request")', () => {
  it('stream_options without stream:true', async () => {
    const e = await expectError('/v1/chat/completions', chat('x', { stream_options: { include_usage: true } }), 400, { type: 'Bad Request', param: 'stream_options' });
    expect(e.message).toMatch(/^1 validation error:\n {2}\{'type': 'value_error'.*Stream options can only be defined when `stream=True`/s);
  });

  it('tools: [], tool_choice without tools, a named tool that is not there', async () => {
    await expectError('/v1/chat/completions', chat('x', { tools: [] }), 400, { type: 'Bad Request', param: 'tools' });
    await expectError('/v1/chat/completions', chat('x', { tool_choice: 'auto' }), 400, { type: 'Bad Request', param: 'tool_choice' });
    const tools = [{ type: 'function', function: { name: 'a' } }];
    await expectError('/v1/chat/completions', chat('x', { tools, tool_choice: { type: 'function', function: { name: 'b' } } }), 400, { type: 'Bad Request', param: 'tool_choice' });
  });

  it('top_logprobs without logprobs', async () => {
    await expectError('/v1/chat/completions', chat('x', { top_logprobs: 3 }), 400, { type: 'Bad Request', param: 'top_logprobs' });
  });

  it('more than 4 stop strings', async () => {
    const e = await expectError('/v1/chat/completions', chat('x', { stop: ['a', 'b', 'c', 'd', 'e'] }), 400, { type: 'Bad Request', param: 'body.stop' });
    expect(e.message).toMatch(/at most 4/);
    expect((await post(sim, '/v1/chat/completions', chat('x', { stop: ['a', 'b', 'c', 'd'], max_tokens: 1 }))).status).toBe(200);
  });

  it('wrong types and missing fields name the field as body.<name>', async () => {
    const e = await expectError('/v1/chat/completions', chat('x', { max_tokens: 'ten' }), 400, { type: 'Bad Request', param: 'body.max_tokens' });
    expect(e.message).toContain("'type': 'int_parsing', 'loc': ('body', 'max_tokens')");
    await expectError('/v1/chat/completions', { model: 'qwen2.5-7b-instruct' }, 400, { type: 'Bad Request', param: 'body.messages' });
    await expectError('/v1/chat/completions', chat('x', { temperature: [1] }), 400, { type: 'Bad Request', param: 'body.temperature' });
    await expectError('/v1/chat/completions', { messages: [{ content: 'no role' }] }, 400, { type: 'Bad Request', param: 'body.messages.0.role' });
    await expectError('/v1/completions', { max_tokens: 2 }, 400, { type: 'Bad Request', param: 'prompt' });
    await expectError('/v1/completions', { prompt: '', max_tokens: 2 }, 400, { type: 'Bad Request', param: 'prompt' });
    await expectError('/v1/chat/completions', '[1,2]', 400, { type: 'Bad Request', param: 'body' });
  });

  it('lax coercion like pydantic: numeric strings are numbers', async () => {
    expect((await post(sim, '/v1/chat/completions', chat('x', { max_tokens: '2', temperature: '0.5' }))).status).toBe(200);
  });

  it('malformed JSON and a wrong content type', async () => {
    const res = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages": [' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error).toMatchObject({ type: 'Bad Request', code: 400, message: expect.stringContaining("'json_invalid'") });
    for (const contentType of ['text/plain', '']) {
      const r = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: contentType ? { 'content-type': contentType } : {}, body: JSON.stringify(chat('x')) });
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ error: { message: "Unsupported Media Type: Only 'application/json' is allowed", type: 'Bad Request', param: null, code: 400 } });
    }
    const ok = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'Application/JSON; charset=utf-8' }, body: JSON.stringify(chat('x', { max_tokens: 1 })) });
    expect(ok.status).toBe(200);
  });

  it('unknown body fields are ignored, guided_* and best_of included', async () => {
    const res = await post(sim, '/v1/chat/completions', chat('x', { max_tokens: 1, guided_json: { type: 'object' }, best_of: 3, frobnicate: true }));
    expect(res.status).toBe(200);
  });
});

describe('serving-time checks (type "BadRequestError")', () => {
  const cases: Array<[string, Record<string, unknown>, string | null, RegExp]> = [
    ['temperature above 2', { temperature: 3 }, 'temperature', /temperature must be in \[0, 2\], got 3\.0/],
    ['negative temperature', { temperature: -0.5 }, 'temperature', /non-negative/],
    ['top_p of 0', { top_p: 0 }, 'top_p', /top_p must be in \(0, 1\]/],
    ['top_k below -1', { top_k: -2 }, null, /top_k must be 0 \(disable\), or at least 1/],
    ['min_p above 1', { min_p: 1.5 }, null, /min_p must be in \[0, 1\]/],
    ['presence_penalty out of range', { presence_penalty: 2.5 }, null, /presence_penalty must be in \[-2, 2\]/],
    ['frequency_penalty out of range', { frequency_penalty: -3 }, null, /frequency_penalty must be in \[-2, 2\]/],
    ['repetition_penalty of 0', { repetition_penalty: 0 }, null, /repetition_penalty must be greater than zero/],
    ['n of 0', { n: 0 }, null, /n must be at least 1/],
    ['n > 1 with greedy sampling', { n: 2, temperature: 0 }, null, /n must be 1 when using greedy sampling/],
    ['max_tokens of 0', { max_tokens: 0 }, 'max_tokens', /max_tokens must be at least 1, got 0/],
    ['an empty stop string', { stop: [''] }, null, /stop cannot contain an empty string/],
  ];
  for (const [name, extra, param, message] of cases) {
    it(name, async () => {
      const e = await expectError('/v1/chat/completions', chat('x', extra), 400, { type: 'BadRequestError', param });
      expect(e.message).toMatch(message);
    });
  }

  it('context length: prompt + max_tokens beyond max_model_len, the [A] message', async () => {
    const e = await expectError('/v1/chat/completions', chat('x', { max_tokens: 190 }), 400, { type: 'BadRequestError', param: 'input_tokens' });
    expect(e.message).toMatch(/^This model's maximum context length is 200 tokens\. However, you requested 190 output tokens and your prompt contains \d+ input tokens/);
    const e2 = await expectError('/v1/completions', { prompt: 'word '.repeat(300) }, 400, { param: 'input_tokens' });
    expect(e2.message).toContain('maximum context length');
  });

  it('"auto" tool choice without --enable-auto-tool-choice', async () => {
    const noTools = await fastSim({ enableAutoToolChoice: false });
    try {
      const { status, json } = await postJson<ErrorJson>(noTools, '/v1/chat/completions', chat('x', { tools: [{ type: 'function', function: { name: 'f' } }] }));
      expect(status).toBe(400);
      expect(json.error).toMatchObject({ type: 'BadRequestError', message: '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set' });
      expect((await post(noTools, '/v1/chat/completions', chat('x', { max_tokens: 1, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'none' }))).status).toBe(200);
    } finally {
      await noTools.close();
    }
  });

  it('empty messages fail in the chat template', async () => {
    await expectError('/v1/chat/completions', { messages: [] }, 400, { type: 'BadRequestError' });
  });

  it('a bad fault marker is a 400 naming it', async () => {
    const e = await expectError('/v1/chat/completions', chat('x [[sim:explode]]'), 400, { type: 'BadRequestError' });
    expect(e.message).toContain('explode');
  });
});

describe('model, routes and methods', () => {
  it('unknown model → 404 with literal backticks; model is optional', async () => {
    await expectError('/v1/chat/completions', chat('x', { model: 'gpt-5' }), 404, { type: 'NotFoundError', param: 'model', message: 'The model `gpt-5` does not exist.' });
    await expectError('/v1/completions', { model: 'gpt-5', prompt: 'x' }, 404, { type: 'NotFoundError' });
    expect((await post(sim, '/v1/chat/completions', chat('x', { max_tokens: 1 }))).status).toBe(200);
  });

  it('unknown route → 404 detail; wrong method → 405 detail', async () => {
    const nf = await fetch(`${sim.url}/v1/nope`);
    expect(nf.status).toBe(404);
    expect(await nf.json()).toEqual({ detail: 'Not Found' });
    const na = await fetch(`${sim.url}/v1/chat/completions`);
    expect(na.status).toBe(405);
    expect(await na.json()).toEqual({ detail: 'Method Not Allowed' });
    expect((await post(sim, '/health', {})).status).toBe(405);
  });

  it('/health, /ping, /version, /load', async () => {
    const health = await fetch(`${sim.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('');
    expect((await fetch(`${sim.url}/ping`, { method: 'POST' })).status).toBe(200);
    expect(await (await fetch(`${sim.url}/version`)).json()).toEqual({ version: expect.stringMatching(/^0\.\d+\.\d+\+sim$/) });
    expect(await (await fetch(`${sim.url}/load`)).json()).toEqual({ server_load: 0 });
  });

  it('/tokenize: prompt and messages forms; the messages count equals a chat prompt_tokens', async () => {
    const t = await postJson<{ count: number; max_model_len: number; tokens: number[]; token_strs: string[] | null }>(sim, '/tokenize', { prompt: 'Hello, world', return_token_strs: true });
    expect(t.json).toEqual({ count: 3, max_model_len: 200, tokens: expect.any(Array), token_strs: ['Hello', ',', 'world'] });
    const m = await postJson<{ count: number; token_strs: null }>(sim, '/tokenize', { messages: [{ role: 'user', content: 'count me' }] });
    const c = await postJson<{ usage: { prompt_tokens: number } }>(sim, '/v1/chat/completions', chat('count me', { max_tokens: 1 }));
    expect(m.json.count).toBe(c.json.usage.prompt_tokens);
    expect(m.json.token_strs).toBeNull();
    expect((await postJson(sim, '/tokenize', { model: 'nope', prompt: 'x' })).status).toBe(404);
  });
});

describe('--api-key (vllm.md 6)', () => {
  let guarded: Simulator;
  beforeAll(async () => {
    guarded = await fastSim({ apiKeys: ['k1', 'k2'] });
  });
  afterAll(() => guarded.close());

  it('guards /v1 with a bearer token, scheme case-insensitive, any of the keys', async () => {
    const none = await post(guarded, '/v1/chat/completions', chat('x', { max_tokens: 1 }));
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: 'Unauthorized' });
    expect(none.headers.get('www-authenticate')).toBeNull();
    expect((await post(guarded, '/v1/chat/completions', chat('x', { max_tokens: 1 }), { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(guarded, '/v1/chat/completions', chat('x', { max_tokens: 1 }), { authorization: 'Basic k1' })).status).toBe(401);
    expect((await post(guarded, '/v1/chat/completions', chat('x', { max_tokens: 1 }), { authorization: 'bearer k1' })).status).toBe(200);
    expect((await post(guarded, '/v1/completions', { prompt: 'x', max_tokens: 1 }, { authorization: 'Bearer k2' })).status).toBe(200);
    expect((await fetch(`${guarded.url}/v1/models`)).status).toBe(401);
    // Auth runs before routing: an unknown /v1 path without a token is a 401, not a 404.
    expect((await fetch(`${guarded.url}/v1/nope`)).status).toBe(401);
  });

  it('leaves /health, /metrics, /tokenize, /version and /ping open', async () => {
    for (const path of ['/health', '/metrics', '/version', '/ping']) expect((await fetch(`${guarded.url}${path}`)).status).toBe(200);
    expect((await post(guarded, '/tokenize', { prompt: 'x' })).status).toBe(200);
  });

  it('leaves /invocations open too: full inference, dispatched on the body shape', async () => {
    const c = await postJson<{ object: string }>(guarded, '/invocations', chat('x', { max_tokens: 1 }));
    expect(c).toMatchObject({ status: 200, json: { object: 'chat.completion' } });
    const t = await postJson<{ object: string }>(guarded, '/invocations', { prompt: 'x', max_tokens: 1 });
    expect(t).toMatchObject({ status: 200, json: { object: 'text_completion' } });
  });
});

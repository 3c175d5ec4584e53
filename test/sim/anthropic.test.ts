/**
 * POST /v1/messages and /v1/messages/count_tokens as vLLM's Anthropic route serves them (vllm.md 1.2;
 * `vllm/entrypoints/anthropic/`), through the real @anthropic-ai/sdk client and as raw bytes: the request
 * runs as a chat completion (same scheduler, prefix cache, faults), answers come in Anthropic's shapes,
 * serving errors in Anthropic's envelope with vLLM's types, schema errors in vLLM's own envelope, and the
 * --api-key check is vLLM's (Authorization: Bearer only).
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../vllm/sim/index.js';
import { simulatedText } from '../../vllm/sim/index.js';
import { fastSim, metricValue, nextEnd, post, rawPost, sendAndDrop, sleep } from './support.js';

const MODEL = 'qwen2.5-7b-instruct';
let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: Parameters<typeof fastSim>[0] = {}): Promise<{ sim: Simulator; client: Anthropic }> {
  sim = await fastSim({ apiKeys: ['sk-sim'], ...options });
  return { sim, client: new Anthropic({ baseURL: sim.url, apiKey: 'sk-sim', maxRetries: 0 }) };
}

/** `event:`/`data:` pairs of an Anthropic SSE body. */
function events(body: string): Array<{ event: string; data: Record<string, unknown> }> {
  return body
    .split('\n\n')
    .filter((e) => e.length > 0)
    .map((e) => {
      const m = /^event: (\S+)\ndata: (.*)$/s.exec(e);
      if (!m) throw new Error(`not an Anthropic SSE event: ${JSON.stringify(e)}`);
      return { event: m[1] as string, data: JSON.parse(m[2] as string) as Record<string, unknown> };
    });
}

describe('non-streaming', () => {
  it('messages.create: a message with a text block, end_turn and usage; the same text and counts as chat', async () => {
    const { sim, client } = await start({ outputTokens: 6 });
    const msg = await client.messages.create({ model: MODEL, max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] });
    expect(msg).toEqual({
      id: expect.stringMatching(/^chatcmpl-[0-9a-f]{16}$/) as unknown,
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: simulatedText('hello there', 5) }],
      model: MODEL,
      stop_reason: 'end_turn',
      usage: { input_tokens: expect.any(Number) as unknown, output_tokens: 6 },
    });
    // vLLM serves it as this chat request: same prompt tokens.
    const chat = (await (await post(sim, '/v1/chat/completions', { messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello there' }] }, { authorization: 'Bearer sk-sim' })).json()) as {
      usage: { prompt_tokens: number };
    };
    expect(msg.usage.input_tokens).toBe(chat.usage.prompt_tokens);
    expect(sim.requests[0]).toMatchObject({ route: 'messages', path: '/v1/messages', outcome: 'completed', streamed: false, completionTokens: 6 });
  });

  it('max_tokens cuts with stop_reason max_tokens; system blocks and content blocks are read as text; no stop_sequence key', async () => {
    const { sim } = await start();
    const res = await rawPost(sim, '/v1/messages', {
      model: MODEL, max_tokens: 3, system: [{ type: 'text', text: 'Sys.' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'block text' }] }],
    }, { authorization: 'Bearer sk-sim', 'x-request-id': 'abc' });
    expect(res.status).toBe(200);
    // model_dump(exclude_none=True): stop_sequence (None) is left out; the id follows X-Request-Id.
    expect(res.body).toBe(
      `{"id":"chatcmpl-abc","type":"message","role":"assistant","content":[{"type":"text","text":${JSON.stringify(simulatedText('block text', 3))}}],"model":"${MODEL}","stop_reason":"max_tokens","usage":{"input_tokens":${sim.requests[0]?.promptTokens},"output_tokens":3}}`,
    );
  });

  it('tools: a tool_use block with parsed input and stop_reason tool_use (with --enable-auto-tool-choice)', async () => {
    const { client } = await start();
    const msg = await client.messages.create({
      model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    });
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^chatcmpl-tool-/) as unknown, name: 'get_weather', input: { city: expect.any(String) as unknown } }]);
  });
});

describe('streaming', () => {
  it('the event sequence vLLM writes (no ping), byte-exact', async () => {
    const { sim } = await start();
    const res = await rawPost(sim, '/v1/messages', { model: MODEL, max_tokens: 2, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { authorization: 'Bearer sk-sim', 'x-request-id': 'r1' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const p = sim.requests[0]?.promptTokens ?? -1;
    const [w1, w2] = [simulatedText('hi', 1), simulatedText('hi', 2).slice(simulatedText('hi', 1).length)];
    expect(res.body).toBe(
      `event: message_start\ndata: {"type":"message_start","message":{"id":"chatcmpl-r1","content":[],"model":"${MODEL}","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":${p},"output_tokens":0}}}\n\n` +
        'event: content_block_start\ndata: {"type":"content_block_start","content_block":{"type":"text","text":""},"index":0}\n\n' +
        `event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":${JSON.stringify(w1)}},"index":0}\n\n` +
        `event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":${JSON.stringify(w2)}},"index":0}\n\n` +
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n' +
        `event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"input_tokens":${p},"output_tokens":2}}\n\n` +
        'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    );
  });

  it('messages.stream() and create({stream:true}) through the SDK: text, stop reason and usage', async () => {
    const { client } = await start({ outputTokens: 5 });
    const stream = client.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'stream me' }] });
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    expect(deltas.join('')).toBe(simulatedText('stream me', 4));
    expect(final).toMatchObject({ content: [{ type: 'text', text: simulatedText('stream me', 4) }], stop_reason: 'end_turn', usage: { output_tokens: 5 } });

    const types: string[] = [];
    for await (const ev of await client.messages.create({ model: MODEL, max_tokens: 3, stream: true, messages: [{ role: 'user', content: 'x' }] })) types.push(ev.type);
    expect(types).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  });

  it('a streamed tool call: tool_use block, input_json_delta fragments, stop_reason tool_use', async () => {
    const { client } = await start();
    const stream = client.messages.stream({
      model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } } }],
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([{ type: 'tool_use', id: expect.any(String) as unknown, name: 'get_weather', input: { city: expect.any(String) as unknown, days: expect.any(Number) as unknown } }]);
  });

  it('a failure after the 200 is one `event: error` (internal_error) and no message_stop', async () => {
    const { sim } = await start();
    const res = await rawPost(sim, '/v1/messages', { model: MODEL, max_tokens: 50, stream: true, messages: [{ role: 'user', content: '[[sim:error-mid-stream]] go' }] }, { authorization: 'Bearer sk-sim' });
    const evs = events(res.body);
    expect(evs[0]?.event).toBe('message_start');
    expect(evs.at(-1)).toMatchObject({ event: 'error', data: { type: 'error', error: { type: 'internal_error' } } });
    expect(evs.some((e) => e.event === 'message_stop')).toBe(false);
    expect(sim.requests[0]?.outcome).toBe('fault');
  });
});

describe('under load and client aborts, like chat', () => {
  it('queues beyond maxNumSeqs in the same FIFO as chat', async () => {
    const { sim } = await start({ maxNumSeqs: 1, itlMs: 20 });
    const auth = { authorization: 'Bearer sk-sim' };
    const first = post(sim, '/v1/messages', { model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'a' }] }, auth);
    const second = post(sim, '/v1/chat/completions', { model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'b' }] }, auth);
    await sleep(40);
    expect([sim.running(), sim.waiting()]).toEqual([1, 1]);
    expect((await Promise.all([first, second])).map((r) => r.status)).toEqual([200, 200]);
  });

  it('a client that leaves mid-stream stops generation; recorded as aborted and counted as an abort', async () => {
    // No --api-key here: sendAndDrop sends no Authorization header.
    sim = await fastSim({ itlMs: 50 });
    const ended = nextEnd(sim);
    await sendAndDrop(sim, '/v1/messages', { model: MODEL, max_tokens: 500, stream: true, messages: [{ role: 'user', content: 'long' }] }, 'first-byte');
    const rec = await ended;
    expect(rec).toMatchObject({ route: 'messages', outcome: 'aborted', streamed: true });
    expect(rec.completionTokens).toBeLessThan(500);
    expect(sim.running()).toBe(0);
    expect(sim.stats()).toMatchObject({ abortedRequests: 1, completedRequests: 0 });
    const text = await (await fetch(`${sim.url}/metrics`)).text();
    expect(metricValue(text, `vllm:request_success_total{model_name="${MODEL}",engine="0",finished_reason="abort"}`)).toBe(1);
  });

  it('shares the prefix cache with chat: the second request with the same system prompt hits', async () => {
    const { client, sim } = await start();
    const system = 'You are a careful assistant who answers in one short sentence. '.repeat(4);
    await client.messages.create({ model: MODEL, max_tokens: 2, system, messages: [{ role: 'user', content: 'one' }] });
    await client.messages.create({ model: MODEL, max_tokens: 2, system, messages: [{ role: 'user', content: 'two' }] });
    expect(sim.requests.map((r) => r.cachedTokens)[0]).toBe(0);
    expect(sim.requests[1]?.cachedTokens).toBeGreaterThanOrEqual(32);
  });
});

describe('errors and auth', () => {
  it('serving errors in Anthropic\'s envelope with vLLM\'s type and status; the SDK maps them', async () => {
    const { client, sim } = await start();
    await expect(client.messages.create({ model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    const auth = { authorization: 'Bearer sk-sim' };
    const notFound = await rawPost(sim, '/v1/messages', { model: 'nope', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, auth);
    expect([notFound.status, JSON.parse(notFound.body)]).toEqual([404, { type: 'error', error: { type: 'NotFoundError', message: 'The model `nope` does not exist.' } }]);
    const sampling = await rawPost(sim, '/v1/messages', { model: MODEL, max_tokens: 5, temperature: 3, messages: [{ role: 'user', content: 'x' }] }, auth);
    expect(sampling.status).toBe(400);
    expect(JSON.parse(sampling.body)).toMatchObject({ type: 'error', error: { type: 'BadRequestError', message: expect.stringMatching(/^temperature must be in \[0, 2\]/) as unknown } });
    const tooLong = await rawPost(sim, '/v1/messages', { model: MODEL, max_tokens: 100_000, messages: [{ role: 'user', content: 'x' }] }, auth);
    expect([tooLong.status, (JSON.parse(tooLong.body) as { error: { message: string } }).error.message]).toEqual([400, expect.stringContaining('maximum context length')]);
    const injected = await rawPost(sim, '/v1/messages', { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: '[[sim:http=500]]' }] }, auth);
    expect([injected.status, (JSON.parse(injected.body) as { type: string }).type]).toEqual([500, 'error']);
  });

  it('a body that fails the request model gets vLLM\'s own 400 envelope (FastAPI validation), as on every route', async () => {
    const { client, sim } = await start();
    const auth = { authorization: 'Bearer sk-sim' };
    const missing = await rawPost(sim, '/v1/messages', { model: MODEL, messages: [{ role: 'user', content: 'x' }] }, auth);
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { type: 'Bad Request', param: 'body.max_tokens', code: 400 } });
    const zero = await rawPost(sim, '/v1/messages', { model: MODEL, max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }, auth);
    expect((JSON.parse(zero.body) as { error: { message: string } }).error.message).toContain('max_tokens must be positive');
    const role = await rawPost(sim, '/v1/messages', { model: MODEL, max_tokens: 5, messages: [{ role: 'robot', content: 'x' }] }, auth);
    expect((JSON.parse(role.body) as { error: { param: string } }).error.param).toBe('body.messages.0.role');
    const media = await rawPost(sim, '/v1/messages', '{}', { ...auth, 'content-type': 'text/plain' });
    expect(media.status).toBe(400);
    await expect(client.messages.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }] } as unknown as Anthropic.MessageCreateParamsNonStreaming)).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('--api-key: Authorization Bearer (the SDK\'s apiKey) passes; x-api-key alone or a wrong key is a 401 {"error":"Unauthorized"}', async () => {
    const { sim } = await start();
    const body = { model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'x' }] };
    const viaHeader = await rawPost(sim, '/v1/messages', body, { 'x-api-key': 'sk-sim' });
    expect([viaHeader.status, viaHeader.body]).toEqual([401, '{"error":"Unauthorized"}']);
    const wrong = new Anthropic({ baseURL: sim.url, apiKey: 'wrong', maxRetries: 0 });
    await expect(wrong.messages.create(body as Anthropic.MessageCreateParamsNonStreaming)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    const bearer = await rawPost(sim, '/v1/messages', body, { authorization: 'Bearer sk-sim' });
    expect(bearer.status).toBe(200);
    expect(sim.requests).toHaveLength(1);
  });
});

describe('count_tokens', () => {
  it('counts the rendered prompt: equal to the input_tokens of the same message; vLLM\'s response shape', async () => {
    const { client } = await start();
    const params = { model: MODEL, system: 'Sys prompt.', messages: [{ role: 'user' as const, content: 'count these tokens please' }] };
    const counted = await client.messages.countTokens(params);
    expect(counted).toEqual({ input_tokens: expect.any(Number) as unknown, context_management: { original_input_tokens: counted.input_tokens } });
    const msg = await client.messages.create({ ...params, max_tokens: 1 });
    expect(counted.input_tokens).toBe(msg.usage.input_tokens);
    await expect(client.messages.countTokens({ ...params, model: 'nope' })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

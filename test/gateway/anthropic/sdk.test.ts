/**
 * /v1/messages and /v1/messages/count_tokens through the real @anthropic-ai/sdk (1.15.0) against the
 * gateway and the vLLM simulator: create (plain and streaming), messages.stream with text events and
 * finalMessage, countTokens; usage counted in gateway_tokens_total and the request log line; the stream
 * passed through byte for byte.
 */
import { simulatedText } from '../../../vllm/sim/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../support/stack.js';
import { KEY, MODEL, events, messagesBody, metricValue, postMessages, requestLine, sdk, startAnthropicStack } from './support.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startAnthropicStack({ sim: { outputTokens: 6 } });
});
afterAll(() => stack.close());

describe('messages.create', () => {
  it('non-streaming: the message as vLLM built it, usage in the metrics and the log line', async () => {
    const before = await metricValue(stack, 'gateway_tokens_total', { key: 'claude', type: 'output' });
    const msg = await sdk(stack).messages.create(
      { model: MODEL, max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] },
      { headers: { 'x-request-id': 'anth-plain-1' } },
    );
    expect(msg).toEqual({
      id: 'chatcmpl-anth-plain-1',
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: simulatedText('hello there', 5) }],
      model: MODEL,
      stop_reason: 'end_turn',
      usage: { input_tokens: expect.any(Number) as unknown, output_tokens: 6 },
    });
    const rec = stack.sim.requests.at(-1);
    expect(rec).toMatchObject({ route: 'messages', path: '/v1/messages', streamed: false, outcome: 'completed' });
    expect(msg.usage.input_tokens).toBe(rec?.promptTokens);
    const line = await requestLine(stack, 'anth-plain-1');
    expect(line).toMatchObject({ route: '/v1/messages', surface: 'messages', key: 'claude', status: 200, stream: false, tokensIn: msg.usage.input_tokens, tokensOut: 6, finishReason: 'stop' });
    expect(await metricValue(stack, 'gateway_tokens_total', { key: 'claude', type: 'output' })).toBe(before + 6);
  });

  it('stream: true yields message_start … message_stop; usage read from message_start/message_delta', async () => {
    const before = await metricValue(stack, 'gateway_tokens_total', { key: 'claude', type: 'input' });
    const stream = await sdk(stack).messages.create(
      { model: MODEL, max_tokens: 3, stream: true, messages: [{ role: 'user', content: 'count to three' }] },
      { headers: { 'x-request-id': 'anth-stream-1' } },
    );
    const types: string[] = [];
    let text = '';
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text;
    }
    expect(types[0]).toBe('message_start');
    expect(types.at(-2)).toBe('message_delta');
    expect(types.at(-1)).toBe('message_stop');
    expect(text).toBe(simulatedText('count to three', 3));
    const rec = stack.sim.requests.at(-1);
    const line = await requestLine(stack, 'anth-stream-1');
    expect(line).toMatchObject({ surface: 'messages', stream: true, status: 200, tokensIn: rec?.promptTokens, tokensOut: 3, finishReason: 'length', upstreamError: null });
    expect(typeof line.ttftMs).toBe('number');
    expect(await metricValue(stack, 'gateway_tokens_total', { key: 'claude', type: 'input' })).toBe(before + (rec?.promptTokens ?? NaN));
  });
});

describe('messages.stream', () => {
  it('text events and finalMessage, with tokens in the usage', async () => {
    const deltas: string[] = [];
    const stream = sdk(stack).messages.stream({ model: MODEL, max_tokens: 40, messages: [{ role: 'user', content: [{ type: 'text', text: 'tell me a story' }] }] });
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    // Six tokens: five words and the end of the turn (the simulator's outputTokens).
    expect(deltas.join('')).toBe(simulatedText('tell me a story', 5));
    expect(final.content).toEqual([{ type: 'text', text: deltas.join('') }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(6);
    expect(final.id).toMatch(/^chatcmpl-/);
  });
});

describe('countTokens', () => {
  it("answers vLLM's count and costs no tokens in the books", async () => {
    const before = await metricValue(stack, 'gateway_tokens_total', { key: 'claude' });
    const counted = await sdk(stack).messages.countTokens({ model: MODEL, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] });
    const msg = await sdk(stack).messages.create({ model: MODEL, max_tokens: 5, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] });
    expect(counted.input_tokens).toBe(msg.usage.input_tokens);
    // Only the create's tokens were counted.
    expect(await metricValue(stack, 'gateway_tokens_total', { key: 'claude' })).toBe(before + msg.usage.input_tokens + msg.usage.output_tokens);
    const line = stack.logs.findLast((l) => l.msg === 'request' && l.route === '/v1/messages/count_tokens');
    expect(line).toMatchObject({ surface: 'messages_count_tokens', status: 200, tokensIn: null, key: 'claude' });
  });

  it('needs no model (the default model serves, as on chat)', async () => {
    const res = await postMessages(stack, { messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': KEY }, '/v1/messages/count_tokens');
    expect(res.status).toBe(200);
    expect(((await res.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
  });
});

describe('pass-through', () => {
  it("the gateway's stream is the simulator's, byte for byte, for the same request id", async () => {
    const body = messagesBody('bytes please', { stream: true, max_tokens: 4 });
    const viaGateway = await (await postMessages(stack, body, { 'x-api-key': KEY, 'x-request-id': 'anth-bytes-1' })).text();
    const direct = await (await fetch(`${stack.sim.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'anth-bytes-1' }, body: JSON.stringify(body) })).text();
    expect(viaGateway).toBe(direct);
    const parsed = events(viaGateway);
    expect(parsed.map((e) => e.event)).toEqual(['message_start', 'content_block_start', ...Array<string>(4).fill('content_block_delta'), 'content_block_stop', 'message_delta', 'message_stop']);
    // vLLM's message_start has no type/role keys; passed on as it came, not rebuilt.
    expect(parsed[0]?.raw.startsWith('event: message_start\ndata: {"type":"message_start","message":{"id":"chatcmpl-anth-bytes-1","content":[]')).toBe(true);
  });

  it('a non-streaming answer is the simulator\'s bytes too; the SSE content type on streams', async () => {
    const body = messagesBody('json bytes', { max_tokens: 4 });
    const res = await postMessages(stack, body, { authorization: `Bearer ${KEY}`, 'x-request-id': 'anth-bytes-2' });
    const direct = await (await fetch(`${stack.sim.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'anth-bytes-2' }, body: JSON.stringify(body) })).text();
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe(direct);
    const streamed = await postMessages(stack, messagesBody('x', { stream: true }));
    expect(streamed.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await streamed.text();
  });

  it('metadata.user_id and unknown fields reach vLLM untouched; the model is set by the gateway', async () => {
    const res = await postMessages(stack, { max_tokens: 4, messages: [{ role: 'user', content: 'hi' }], metadata: { user_id: 'session-abc' }, top_k: 5, some_future_field: { a: 1 } });
    expect(res.status).toBe(200);
    await res.text();
    expect(stack.sim.requests.at(-1)?.body).toMatchObject({ model: MODEL, metadata: { user_id: 'session-abc' }, top_k: 5, some_future_field: { a: 1 } });
  });
});

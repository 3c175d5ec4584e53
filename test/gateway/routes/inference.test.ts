/**
 * The gateway's main contract through the official OpenAI SDK over real sockets: chat and completions,
 * streaming and not, the seed routes, usage handling and byte-exact pass-through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedText } from '../../../vllm/sim/index.js';
import { chatBody, post, startStack, type Stack } from '../../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { MODEL_ALIASES: 'gpt-4o-mini=qwen2.5-7b-instruct' } });
});
afterAll(() => stack.close());

function lastSimBody(): Record<string, unknown> {
  return stack.sim.requests.at(-1)!.body as Record<string, unknown>;
}

describe('chat completions', () => {
  it('answers a non-streaming chat with the model text and usage', async () => {
    const res = await stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'Say hi' }], max_tokens: 6 });
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]!.message.content).toBe(simulatedText('Say hi', 6));
    expect(res.choices[0]!.finish_reason).toBe('length');
    expect(res.usage?.completion_tokens).toBe(6);
  });

  it('streams a chat: content arrives in chunks, no usage chunk unless asked, [DONE] at the end', async () => {
    const stream = await stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'Stream please' }], max_tokens: 5, stream: true });
    let text = '';
    let usageChunks = 0;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usageChunks++;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe(simulatedText('Stream please', 5));
    expect(chunks).toBeGreaterThanOrEqual(3);
    expect(usageChunks).toBe(0);
    // The gateway asked vLLM for usage anyway, to account for it (issue 2 "Usage always known").
    expect(lastSimBody().stream_options).toEqual({ include_usage: true });
  });

  it('passes the usage chunk through when the client asks for it', async () => {
    const stream = await stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'usage' }], max_tokens: 4, stream: true, stream_options: { include_usage: true } });
    const usage = [];
    for await (const chunk of stream) if (chunk.usage) usage.push({ choices: chunk.choices.length, ...chunk.usage });
    expect(usage).toEqual([{ choices: 0, prompt_tokens: expect.any(Number), completion_tokens: 4, total_tokens: expect.any(Number) }]);
  });

  it('forwards vLLM stream bytes unchanged (only the unasked-for usage chunk is removed)', async () => {
    const body = chatBody('bytes check', { stream: true, max_tokens: 7 });
    const viaGateway = await (await post(`${stack.url}/v1/chat/completions`, body, { 'x-request-id': 'same-id-1' })).text();
    const direct = await (await post(`${stack.sim.url}/v1/chat/completions`, { ...body, stream_options: { include_usage: true } }, { 'x-request-id': 'same-id-1' })).text();
    const norm = (s: string) => s.replace(/"created":\d+/g, '"created":0');
    const directEvents = norm(direct).split('\n\n').filter((e) => !e.includes('"choices":[],"usage"'));
    expect(norm(viaGateway)).toBe(directEvents.join('\n\n'));
    expect(viaGateway).toContain('"id":"chatcmpl-same-id-1"');
  });

  it('sends SSE headers: event-stream, no-cache, no buffering, no content-length, our request id', async () => {
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('headers', { stream: true }));
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('content-length')).toBeNull();
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get('server-timing')).toMatch(/gw;dur=/);
    await res.text();
  });

  it('passes tool-call deltas through untouched', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    const stream = await stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools, stream: true });
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const call = chunk.choices[0]?.delta.tool_calls?.[0];
      if (call?.function?.name) name += call.function.name;
      if (call?.function?.arguments) args += call.function.arguments;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(() => JSON.parse(args) as unknown).not.toThrow();
    expect(finish).toBe('tool_calls');
    const direct = await stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools });
    expect(direct.choices[0]!.message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'get_weather' } });
  });

  it('serves /chat as the same handler', async () => {
    const res = await post(`${stack.url}/chat`, chatBody('seed route', { max_tokens: 3 }));
    expect(res.status).toBe(200);
    const json = (await res.json()) as { object: string; choices: Array<{ message: { content: string } }> };
    expect(json.object).toBe('chat.completion');
    expect(json.choices[0]!.message.content).toBe(simulatedText('seed route', 3));
  });

  it('maps an alias to the served name and omits nothing else the client sent', async () => {
    await stack.client().chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'alias' }], max_tokens: 2, top_k: 20, min_p: 0.1 } as never);
    expect(lastSimBody()).toMatchObject({ model: 'qwen2.5-7b-instruct', top_k: 20, min_p: 0.1, max_tokens: 2 });
  });
});

describe('completions and /generate', () => {
  it('answers /v1/completions, streaming and not', async () => {
    const res = await stack.client().completions.create({ model: 'qwen2.5-7b-instruct', prompt: 'Once upon', max_tokens: 4 });
    expect(res.object).toBe('text_completion');
    expect(res.choices[0]!.text).toBe(simulatedText('Once upon', 4));
    const stream = await stack.client().completions.create({ model: 'qwen2.5-7b-instruct', prompt: 'Once upon', max_tokens: 4, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(simulatedText('Once upon', 4));
  });

  it('serves the legacy /generate route with a plain curl-style body', async () => {
    const res = await post(`${stack.url}/generate`, { prompt: 'Hello there', max_tokens: 5 });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { object: string; choices: Array<{ text: string; finish_reason: string }>; usage: { completion_tokens: number } };
    expect(json.object).toBe('text_completion');
    expect(json.choices[0]!.text).toBe(simulatedText('Hello there', 5));
    expect(json.usage.completion_tokens).toBe(5);
    const streamed = await (await post(`${stack.url}/generate`, { prompt: 'Hello there', max_tokens: 2, stream: true })).text();
    expect(streamed.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});

describe('models', () => {
  it("lists vLLM's models plus aliases", async () => {
    const list = await stack.client().models.list();
    const ids = list.data.map((m) => m.id);
    expect(ids).toEqual(['qwen2.5-7b-instruct', 'gpt-4o-mini']);
  });
});

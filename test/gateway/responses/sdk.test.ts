/**
 * The Responses and Conversations surfaces driven by the clients that speak them (peers-2026.md 5): the
 * official `openai` SDK (its stream accumulator checks every event's shape and order), the Vercel AI SDK
 * (`openai.responses(...)`, item_reference with store on) and the OpenAI Agents SDK, over a real socket
 * through the real gateway (auth, limits, admission, routing) in front of the simulator, state in SQLite.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpenAI } from '@ai-sdk/openai';
import { Agent, OpenAIProvider, Runner, setTracingDisabled } from '@openai/agents';
import { generateText, streamText } from 'ai';
import OpenAI, { NotFoundError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResponseObject } from '../../../gateway/surfaces/responses/types.js';
import { startStack, type Stack } from '../../support/stack.js';

const MODEL = 'qwen2.5-7b-instruct';
let stack: Stack;
let dir: string;
let client: OpenAI;
let other: OpenAI;

/** What the clients sent and what reached vLLM, read from the wire. */
const gw = {
  url: '',
  /** Responses request bodies as the clients sent them. */
  requests: [] as Array<Record<string, unknown>>,
  /** Chat bodies that reached vLLM (the simulator's records), in order. */
  get chatBodies(): Array<Record<string, unknown>> {
    return stack.sim.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body as Record<string, unknown>);
  },
};

/** A fetch that keeps each /v1/responses body it sends. */
const recordingFetch: typeof fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (url.endsWith('/v1/responses') && typeof init?.body === 'string') gw.requests.push(JSON.parse(init.body) as Record<string, unknown>);
  return fetch(input, init);
};

beforeAll(async () => {
  setTracingDisabled(true);
  dir = mkdtempSync(join(tmpdir(), 'vg-sdk-'));
  stack = await startStack({ sim: { ttftMs: 0, itlMs: 0, outputTokens: 10 }, env: { API_KEYS: 'alice:alice,bob:bob', DATA_DIR: dir } });
  gw.url = stack.url;
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'alice', maxRetries: 0, fetch: recordingFetch });
  other = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'bob', maxRetries: 0 });
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

const weatherTool = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

describe('openai SDK: responses', () => {
  it('creates a response; the SDK types it and its output_text works', async () => {
    const r = await client.responses.create({ model: MODEL, input: 'Hello there', instructions: 'Be kind.', metadata: { t: '1' } });
    expect(r.id).toMatch(/^resp_/);
    expect(r.status).toBe('completed');
    expect(r.output_text.length).toBeGreaterThan(0);
    expect(r.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(r.usage).toMatchObject({ output_tokens: 10, input_tokens_details: { cached_tokens: 0 } });
    expect(r).toMatchObject({ instructions: 'Be kind.', metadata: { t: '1' }, model: MODEL, error: null, incomplete_details: null });
    // Our builder's type is assignable to the SDK's Response (a drift would not compile).
    const typed: OpenAI.Responses.Response = r as unknown as ResponseObject;
    expect(typed.object).toBe('response');
  });

  it('streams through the SDK\'s own accumulator (responses.stream) to a final response', async () => {
    const stream = client.responses.stream({ model: MODEL, input: 'Stream please' });
    const seen: string[] = [];
    let text = '';
    stream.on('response.output_text.delta', (e) => (text += e.delta));
    for await (const event of stream) seen.push(event.type);
    const final = await stream.finalResponse();
    expect(seen[0]).toBe('response.created');
    expect(seen.at(-1)).toBe('response.completed');
    expect(final.output_text).toBe(text);
    expect(final.status).toBe('completed');
    expect((await client.responses.retrieve(final.id)).output_text).toBe(text);
  });

  it('round-trips a tool call: function_call out, function_call_output back with previous_response_id', async () => {
    const first = await client.responses.create({ model: MODEL, input: 'Weather in Paris?', tools: [weatherTool] });
    const call = first.output.find((i) => i.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
    if (call?.type !== 'function_call') throw new Error('no call');
    expect(JSON.parse(call.arguments)).toHaveProperty('city');
    const second = await client.responses.create({
      model: MODEL,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"temp": 21}' }],
    });
    expect(second.status).toBe('completed');
    const sent = gw.chatBodies.at(-1)!.messages as Array<Record<string, unknown>>;
    expect(sent.map((m) => m.role)).toEqual(['user', 'assistant', 'tool']);
    expect(sent[1]!.tool_calls).toEqual([{ id: call.call_id, type: 'function', function: { name: 'get_weather', arguments: call.arguments } }]);
  });

  it('streams a tool call through the SDK accumulator', async () => {
    const stream = client.responses.stream({ model: MODEL, input: 'Weather in Rome?', tools: [weatherTool] });
    const final = await stream.finalResponse();
    expect(final.output.map((i) => i.type)).toEqual(['function_call']);
  });

  it('lists input items, retrieves and deletes, for the owner only', async () => {
    const r = await client.responses.create({ model: MODEL, input: [{ role: 'user', content: 'one' }, { role: 'user', content: 'two' }] });
    const items = await client.responses.inputItems.list(r.id);
    expect(items.data.map((i) => i.type === 'message' && i.content[0]?.type === 'input_text' && i.content[0].text)).toEqual(['two', 'one']);
    const asc = await client.responses.inputItems.list(r.id, { order: 'asc', limit: 1 });
    expect(asc.data).toHaveLength(1);
    expect(asc.has_more).toBe(true);
    await expect(other.responses.retrieve(r.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(other.responses.delete(r.id)).rejects.toBeInstanceOf(NotFoundError);
    await client.responses.delete(r.id);
    await expect(client.responses.retrieve(r.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers refusals in the OpenAI envelope with their param', async () => {
    const err = await client.responses.create({ model: MODEL, input: 'x', tools: [{ type: 'web_search' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('tools[0].type');
    const missing = await client.responses.create({ model: MODEL, input: 'x', previous_response_id: 'resp_missing' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
  });
});

describe('openai SDK: conversations', () => {
  it('creates, retrieves, updates and deletes a conversation; another key sees nothing', async () => {
    const conv = await client.conversations.create({ metadata: { topic: 'demo' }, items: [{ type: 'message', role: 'user', content: 'Hi!' }] });
    expect(conv).toMatchObject({ object: 'conversation', metadata: { topic: 'demo' } });
    expect(await client.conversations.retrieve(conv.id)).toEqual(conv);
    expect((await client.conversations.update(conv.id, { metadata: { topic: 'changed' } })).metadata).toEqual({ topic: 'changed' });
    await expect(other.conversations.retrieve(conv.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(other.conversations.items.list(conv.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await client.conversations.delete(conv.id)).toEqual({ id: conv.id, object: 'conversation.deleted', deleted: true });
    await expect(client.conversations.retrieve(conv.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('adds, lists (paged, newest first), retrieves and deletes items', async () => {
    const conv = await client.conversations.create({});
    const created = await client.conversations.items.create(conv.id, {
      items: [
        { type: 'message', role: 'user', content: 'a' },
        { type: 'message', role: 'assistant', content: 'b' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'c' }] },
      ],
    });
    expect(created.object).toBe('list');
    expect(created.data).toHaveLength(3);
    const ids = created.data.map((i) => i.id);
    const all: string[] = [];
    for await (const item of client.conversations.items.list(conv.id, { limit: 2 })) all.push(String(item.id));
    expect(all).toEqual([...ids].reverse());
    const asc = await client.conversations.items.list(conv.id, { order: 'asc' });
    expect(asc.data.map((i) => i.id)).toEqual(ids);
    const item = await client.conversations.items.retrieve(ids[1]!, { conversation_id: conv.id });
    expect(item).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'b' }] });
    const after = await client.conversations.items.delete(ids[1]!, { conversation_id: conv.id });
    expect(after).toMatchObject({ id: conv.id, object: 'conversation' });
    await expect(client.conversations.items.retrieve(ids[1]!, { conversation_id: conv.id })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('carries a conversation across responses and appends each turn', async () => {
    const conv = await client.conversations.create({ items: [{ type: 'message', role: 'system', content: 'You are terse.' }] });
    await client.responses.create({ model: MODEL, conversation: conv.id, input: 'First question' });
    const second = await client.responses.create({ model: MODEL, conversation: { id: conv.id }, input: 'Second question' });
    expect(second.conversation).toEqual({ id: conv.id });
    const sent = gw.chatBodies.at(-1)!.messages as Array<Record<string, unknown>>;
    expect(sent.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    const items = await client.conversations.items.list(conv.id, { order: 'asc' });
    expect(items.data.map((i) => (i.type === 'message' ? i.role : i.type))).toEqual(['system', 'user', 'assistant', 'user', 'assistant']);
  });
});

describe('Vercel AI SDK (responses model)', () => {
  const provider = () => createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'alice', fetch: recordingFetch });

  it('generateText and streamText work, and a follow-up with item_reference resolves from the store', async () => {
    const model = provider().responses(MODEL);
    const first = await generateText({ model, system: 'Be brief.', prompt: 'Hello' });
    expect(first.text.length).toBeGreaterThan(0);
    const streamed = streamText({ model, prompt: 'Stream something' });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    expect(text.length).toBeGreaterThan(0);
    expect(await streamed.finishReason).toBe('stop');

    const followUp = await generateText({ model, messages: [{ role: 'user', content: 'Hello' }, ...first.response.messages, { role: 'user', content: 'Again' }] });
    expect(followUp.text.length).toBeGreaterThan(0);
    const sentInput = gw.requests.at(-1)!.input as Array<Record<string, unknown>>;
    expect(sentInput.some((i) => i.type === 'item_reference')).toBe(true);
    expect((gw.chatBodies.at(-1)!.messages as Array<{ role: string }>).map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
  });

  it('calls a tool', async () => {
    const { jsonSchema, tool } = await import('ai');
    const result = await generateText({
      model: provider().responses(MODEL),
      prompt: 'Weather in Paris?',
      tools: { get_weather: tool({ description: 'Weather', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }) }) },
    });
    expect(result.toolCalls[0]).toMatchObject({ toolName: 'get_weather' });
  });
});

describe('OpenAI Agents SDK', () => {
  it('runs an agent, plain and streamed, over the Responses API', async () => {
    const runner = new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client }) });
    const agent = new Agent({ name: 'helper', instructions: 'Help.', model: MODEL });
    const result = await runner.run(agent, 'Say hi');
    expect(String(result.finalOutput).length).toBeGreaterThan(0);
    const streamed = await runner.run(agent, 'Say hi again', { stream: true });
    let text = '';
    for await (const chunk of streamed.toTextStream()) text += chunk;
    await streamed.completed;
    expect(text).toBe(String(streamed.finalOutput));
    expect(gw.requests.at(-1)).toMatchObject({ model: MODEL, stream: true, instructions: 'Help.' });
  });
});

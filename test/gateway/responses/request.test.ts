/**
 * Responses request → chat-completions request (gateway/surfaces/responses/request.ts): every field,
 * every refusal naming its param, history from previous_response_id and conversations, truncation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../../gateway/errors.js';
import { SqliteStateStore } from '../../../gateway/state/sqlite-store.js';
import { persistResponse } from '../../../gateway/surfaces/responses/persist.js';
import { prepareResponsesRequest, type PrepareOptions } from '../../../gateway/surfaces/responses/request.js';
import { responseFromChatCompletion } from '../../../gateway/surfaces/responses/response.js';

let dir: string;
let store: SqliteStateStore;
let opts: PrepareOptions;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vg-resp-'));
  store = new SqliteStateStore({ dataDir: dir, ttlS: 3600, maxBytes: 1 << 20 });
  opts = { store, owner: 'alice', defaultModel: 'qwen2.5-7b-instruct' };
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const prep = (body: Record<string, unknown>, extra: Partial<PrepareOptions> = {}) => prepareResponsesRequest(body, { ...opts, ...extra });

async function refusal(body: Record<string, unknown>, extra: Partial<PrepareOptions> = {}): Promise<GatewayError> {
  try {
    await prep(body, extra);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const chatOf = (text: string, extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'qwen2.5-7b-instruct',
  choices: [{ index: 0, message: { role: 'assistant', content: text, ...extra }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
});

describe('translation to a chat request', () => {
  it('maps a string input, instructions and the sampling fields', async () => {
    const p = await prep({ model: 'm', input: 'Hello', instructions: 'Be brief.', max_output_tokens: 50, temperature: 0.2, top_p: 0.9, user: 'u1' });
    expect(p.chat.body).toEqual({
      model: 'm', max_tokens: 50, temperature: 0.2, top_p: 0.9, user: 'u1',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }],
    });
    expect(p.chat).toMatchObject({ kind: 'chat', model: 'm', stream: false, maxTokens: 50 });
    expect(p.chat.promptTokensEstimate).toBeGreaterThan(0);
    expect(p.shell).toMatchObject({ object: 'response', status: 'in_progress', model: 'm', instructions: 'Be brief.', store: true, max_output_tokens: 50 });
    expect(p.shell.id).toMatch(/^resp_[0-9a-f]{48}$/);
  });

  it('asks vLLM for usage when streaming', async () => {
    const p = await prep({ input: 'x', stream: true, stream_options: { include_obfuscation: false } });
    expect(p.chat.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(p.chat.stream).toBe(true);
  });

  it('reads messages without a type (Agents SDK), developer as system, and assistant output_text parts', async () => {
    const p = await prep({
      input: [
        { role: 'developer', content: 'rules' },
        { role: 'user', content: [{ type: 'input_text', text: 'a' }, { type: 'input_text', text: 'b' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'c', annotations: [] }], id: 'msg_x', status: 'completed' },
        { role: 'user', content: 'd' },
      ],
    });
    expect(p.chat.body.messages).toEqual([
      { role: 'system', content: 'rules' },
      { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
      { role: 'assistant', content: 'c' },
      { role: 'user', content: 'd' },
    ]);
    expect(p.inputItems.map((i) => i.id)).toEqual([expect.stringMatching(/^msg_/), expect.stringMatching(/^msg_/), expect.stringMatching(/^msg_/), expect.stringMatching(/^msg_/)]);
  });

  it('turns function_call items into assistant tool_calls and outputs into tool messages', async () => {
    const p = await prep({
      input: [
        { role: 'user', content: 'weather?' },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call', call_id: 'call_2', name: 'get_weather', arguments: '{"city":"Rome"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'rain' }] },
      ],
    });
    expect(p.chat.body.messages).toEqual([
      { role: 'user', content: 'weather?' },
      {
        role: 'assistant', content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_2', content: 'rain' },
    ]);
  });

  it('translates function tools (strips $schema), tool_choice, parallel_tool_calls and text.format', async () => {
    const parameters = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { city: { type: 'string' } } };
    const p = await prep({
      input: 'x',
      tools: [{ type: 'function', name: 'get_weather', description: 'd', parameters, strict: true }],
      tool_choice: { type: 'function', name: 'get_weather' },
      parallel_tool_calls: false,
      text: { format: { type: 'json_schema', name: 'out', schema: { $schema: 'x', type: 'object' }, strict: true } },
    });
    expect(p.chat.body.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'd', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }]);
    expect(p.chat.body.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    expect(p.chat.body.parallel_tool_calls).toBe(false);
    expect(p.chat.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } });
    expect(p.shell.tools).toEqual([{ type: 'function', name: 'get_weather', description: 'd', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true }]);
    expect((await prep({ input: 'x', text: { format: { type: 'json_object' } } })).chat.body.response_format).toEqual({ type: 'json_object' });
    expect((await prep({ input: 'x', text: { format: { type: 'text' } } })).chat.body.response_format).toBeUndefined();
    expect((await prep({ input: 'x', tools: [{ type: 'function', name: 'f', parameters: {} }], tool_choice: 'required' })).chat.body.tool_choice).toBe('required');
  });

  it('omits empty tools and a tool_choice that means nothing without them', async () => {
    const p = await prep({ input: 'x', tools: [], tool_choice: 'auto', parallel_tool_calls: true });
    expect(p.chat.body).not.toHaveProperty('tools');
    expect(p.chat.body).not.toHaveProperty('tool_choice');
    expect(p.chat.body).not.toHaveProperty('parallel_tool_calls');
  });

  it('accepts the fields the SDK clients send and ignores the harmless ones', async () => {
    const p = await prep({
      model: 'm', input: 'x', include: [], reasoning: null, store: false, truncation: 'disabled', metadata: { a: 'b' },
      service_tier: 'auto', prompt_cache_key: 'k', safety_identifier: 's', prompt: null, background: false, context_management: null,
      text: { verbosity: 'low' }, max_tool_calls: 3, top_logprobs: 0, conversation: null, previous_response_id: null,
    });
    expect(p.store).toBe(false);
    expect(p.shell.metadata).toEqual({ a: 'b' });
    expect(Object.keys(p.chat.body).sort()).toEqual(['messages', 'model']);
  });
});

describe('refusals name their param', () => {
  const cases: Array<[string, Record<string, unknown>, string, number?]> = [
    ['an unknown top-level field', { input: 'x', frobnicate: 1 }, 'frobnicate'],
    ['an image part', { input: [{ role: 'user', content: [{ type: 'input_text', text: 'a' }, { type: 'input_image', image_url: 'http://x' }] }] }, 'input[0].content[1].type'],
    ['an unsupported item type', { input: [{ type: 'reasoning', summary: [] }] }, 'input[0].type'],
    ['a bad role', { input: [{ role: 'tool', content: 'x' }] }, 'input[0].role'],
    ['a function_call without call_id', { input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }, 'input[0].call_id'],
    ['a hosted tool', { input: 'x', tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }] }, 'tools[1].type'],
    ['a tool without a name', { input: 'x', tools: [{ type: 'function' }] }, 'tools[0].name'],
    ['a named tool_choice matching no tool', { input: 'x', tools: [{ type: 'function', name: 'f' }], tool_choice: { type: 'function', name: 'g' } }, 'tool_choice.name'],
    ['tool_choice required without tools', { input: 'x', tool_choice: 'required' }, 'tool_choice'],
    ['a hosted tool_choice', { input: 'x', tool_choice: { type: 'web_search_preview' } }, 'tool_choice.type'],
    ['background', { input: 'x', background: true }, 'background'],
    ['a stored prompt', { input: 'x', prompt: { id: 'pmpt_1' } }, 'prompt'],
    ['reasoning effort', { input: 'x', reasoning: { effort: 'high' } }, 'reasoning'],
    ['an unsupported include', { input: 'x', include: ['file_search_call.results'] }, 'include[0]'],
    ['too many metadata keys', { input: 'x', metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata'],
    ['a long metadata value', { input: 'x', metadata: { k: 'v'.repeat(513) } }, 'metadata.k'],
    ['a temperature above 2', { input: 'x', temperature: 3 }, 'temperature'],
    ['max_output_tokens of 0', { input: 'x', max_output_tokens: 0 }, 'max_output_tokens'],
    ['a bad text.format', { input: 'x', text: { format: { type: 'yaml' } } }, 'text.format.type'],
    ['a json_schema format without schema', { input: 'x', text: { format: { type: 'json_schema', name: 'n' } } }, 'text.format.schema'],
    ['no input at all', {}, 'input'],
    ['both previous_response_id and conversation', { input: 'x', previous_response_id: 'resp_1', conversation: 'conv_1' }, 'previous_response_id'],
    ['an unknown item_reference', { input: [{ type: 'item_reference', id: 'msg_nope' }] }, 'input[0].id'],
    ['top_logprobs', { input: 'x', top_logprobs: 5 }, 'top_logprobs'],
    ['a flex service tier', { input: 'x', service_tier: 'flex' }, 'service_tier'],
  ];
  it.each(cases)('%s', async (_name, body, param, status = 400) => {
    const err = await refusal(body);
    expect(err.status).toBe(status);
    expect(err.param).toBe(param);
    expect(err.toJSON().error.type).toBe('invalid_request_error');
  });

  it('refuses max_output_tokens above MAX_TOKENS_LIMIT', async () => {
    expect((await refusal({ input: 'x', max_output_tokens: 900 }, { maxTokensLimit: 512 })).param).toBe('max_output_tokens');
  });
});

describe('state: previous_response_id, item_reference and conversations', () => {
  it('continues a stored response without its instructions, and only for its owner', async () => {
    const first = await prep({ input: 'My name is Ada.', instructions: 'Secret rules.' });
    const answered = responseFromChatCompletion(first.shell, chatOf('Hello Ada'));
    await persistResponse(first, answered, store, 'alice');

    const second = await prep({ input: 'What is my name?', previous_response_id: answered.id });
    expect(second.chat.body.messages).toEqual([
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Hello Ada' },
      { role: 'user', content: 'What is my name?' },
    ]);
    expect(second.shell.previous_response_id).toBe(answered.id);
    const third = await prep({ input: 'And again?', previous_response_id: answered.id });
    await persistResponse(second, responseFromChatCompletion(second.shell, chatOf('Ada')), store, 'alice');
    expect(third.chat.body.messages).toHaveLength(3);

    const stranger = await refusal({ input: 'x', previous_response_id: answered.id }, { owner: 'bob' });
    const unknown = await refusal({ input: 'x', previous_response_id: 'resp_unknown' });
    expect([stranger.status, stranger.param, stranger.code]).toEqual([404, 'previous_response_id', 'previous_response_not_found']);
    expect(unknown.toJSON().error.message.replace(/'.*'/, '')).toBe(stranger.toJSON().error.message.replace(/'.*'/, ''));
  });

  it('resolves item_reference from the owner\'s stored items (the Vercel AI SDK sends them with store on)', async () => {
    const first = await prep({ input: 'hi' });
    const answered = responseFromChatCompletion(first.shell, chatOf('hello there'));
    await persistResponse(first, answered, store, 'alice');
    const refId = answered.output[0]!.id;
    const p = await prep({ input: [{ role: 'user', content: 'hi' }, { type: 'item_reference', id: refId }, { role: 'user', content: 'more' }] });
    expect(p.chat.body.messages).toEqual([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello there' }, { role: 'user', content: 'more' }]);
    expect((await prep({ input: [{ id: refId }, { role: 'user', content: 'x' }] })).chat.body.messages).toHaveLength(2);
    expect((await refusal({ input: [{ type: 'item_reference', id: refId }] }, { owner: 'bob' })).param).toBe('input[0].id');
  });

  it('stores nothing with store:false', async () => {
    const p = await prep({ input: 'x', store: false });
    const answered = responseFromChatCompletion(p.shell, chatOf('y'));
    await persistResponse(p, answered, store, 'alice');
    expect(await store.getResponse('alice', answered.id)).toBeUndefined();
  });

  it('uses a conversation as history and appends the new input and output after the answer', async () => {
    const conv = await store.createConversation('alice', {}, [
      { id: 'msg_seed', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'seed' }] },
    ]);
    const p = await prep({ input: 'next', conversation: { id: conv.id } });
    expect(p.chat.body.messages).toEqual([{ role: 'user', content: 'seed' }, { role: 'user', content: 'next' }]);
    expect(p.shell.conversation).toEqual({ id: conv.id });
    await persistResponse(p, responseFromChatCompletion(p.shell, chatOf('ok')), store, 'alice');
    const items = await store.allItems('alice', conv.id);
    expect(items?.map((i) => i.type === 'message' && i.role)).toEqual(['user', 'user', 'assistant']);
    const again = await prep({ input: 'third', conversation: conv.id });
    expect(again.chat.body.messages).toHaveLength(4);
    const missing = await refusal({ input: 'x', conversation: conv.id }, { owner: 'bob' });
    expect([missing.status, missing.param, missing.code]).toEqual([404, 'conversation', 'conversation_not_found']);
  });
});

describe('truncation', () => {
  const long = 'word '.repeat(400);
  const input = [
    { role: 'user', content: `old question ${long}` },
    { role: 'assistant', content: `old answer ${long}` },
    { role: 'user', content: `middle ${long}` },
    { role: 'assistant', content: `middle answer ${long}` },
    { role: 'user', content: 'newest' },
  ];

  it('auto drops the oldest turns, never the instructions nor the newest user turn', async () => {
    const p = await prep({ input, instructions: 'sys', truncation: 'auto', max_output_tokens: 100 }, { contextLength: 900 });
    const messages = p.chat.body.messages as Array<{ role: string; content: string }>;
    expect(messages[0]).toEqual({ role: 'system', content: 'sys' });
    expect(messages.at(-1)).toEqual({ role: 'user', content: 'newest' });
    expect(messages.length).toBeLessThan(6);
    expect(messages.some((m) => m.content.startsWith('old question'))).toBe(false);
    expect(messages.some((m) => m.content.startsWith('middle answer'))).toBe(true);
  });

  it('disabled (the default) sends everything', async () => {
    const p = await prep({ input, instructions: 'sys' }, { contextLength: 900 });
    expect(p.chat.body.messages).toHaveLength(6);
  });
});

/** Chat-only rules (vllm.md 2.2): the body, messages, logprobs, tools and tool_choice, template flags. */
import { describe, expect, it } from 'vitest';
import { parseChatRequest } from '../../../gateway/schemas/index.js';
import { estimatePromptTokens } from '../../../gateway/token-estimate.js';
import { expectRejection } from './expect-rejection.js';

const user = { role: 'user', content: 'hi' };
const chat = (extra: Record<string, unknown> = {}) => ({ messages: [user], ...extra });
const weather = { type: 'function', function: { name: 'get_weather', description: 'Weather now', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

describe('the request body', () => {
  it.each([null, [], 'text', 5, true])('refuses %j: not a JSON object', (input) => {
    expectRejection(() => parseChatRequest(input), { param: null, code: 'invalid_type', message: 'Request body must be a JSON object' });
  });

  it('parses a plain request into what the proxy needs', () => {
    const res = parseChatRequest({ model: 'qwen2.5-7b-instruct', messages: [user], max_tokens: 10 });
    expect(res).toEqual({
      kind: 'chat',
      body: { model: 'qwen2.5-7b-instruct', messages: [user], max_tokens: 10 },
      model: 'qwen2.5-7b-instruct',
      stream: false,
      clientWantsUsage: false,
      maxTokens: 10,
      promptTokensEstimate: estimatePromptTokens({ messages: [user] }, 'chat'),
    });
  });

  it('takes max_completion_tokens over max_tokens, and leaves maxTokens undefined without either (chat has no default)', () => {
    expect(parseChatRequest(chat({ max_tokens: 10, max_completion_tokens: 20 })).maxTokens).toBe(20);
    expect(parseChatRequest(chat({ max_completion_tokens: 7 })).maxTokens).toBe(7);
    expect(parseChatRequest(chat()).maxTokens).toBeUndefined();
  });
});

describe('messages', () => {
  it('must be a non-empty array', () => {
    expectRejection(() => parseChatRequest({}), { param: 'messages', code: 'missing_field', message: 'messages is required' });
    expectRejection(() => parseChatRequest({ messages: [] }), { param: 'messages', code: 'invalid_value' });
    expectRejection(() => parseChatRequest({ messages: 'hi' }), { param: 'messages', code: 'invalid_type', message: 'messages must be an array' });
    expectRejection(() => parseChatRequest({ messages: ['hi'] }), { param: 'messages[0]', code: 'invalid_type' });
  });

  it('names the index of a bad role', () => {
    const messages = [{ role: 'system', content: 's' }, user, { role: 'robot', content: 'x' }];
    expectRejection(() => parseChatRequest({ messages }), { param: 'messages[2].role', code: 'invalid_value', message: /must be one of "system", .* or "function"/ });
    expectRejection(() => parseChatRequest({ messages: [{ content: 'x' }] }), { param: 'messages[0].role', code: 'missing_field' });
  });

  it('accepts every role vLLM does', () => {
    const messages = [
      { role: 'system', content: 's' },
      { role: 'developer', content: 'd' },
      user,
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"t":20}' },
      { role: 'function', name: 'get_weather', content: '{"t":20}' },
    ];
    expect(parseChatRequest({ messages }).body.messages).toEqual(messages);
  });

  it('passes unknown message fields through (vLLM reads some, e.g. reasoning on assistant turns)', () => {
    const messages = [user, { role: 'assistant', content: 'ok', reasoning: 'because', cache_control: { type: 'ephemeral' } }];
    expect(parseChatRequest({ messages }).body.messages).toEqual(messages);
  });

  it('accepts content parts with a string type, passing their fields through', () => {
    const parts = [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:…' } }];
    expect(parseChatRequest({ messages: [{ role: 'user', content: parts }] }).body.messages).toEqual([{ role: 'user', content: parts }]);
  });

  it('refuses content of another type, and parts without a string type', () => {
    expectRejection(() => parseChatRequest({ messages: [{ role: 'user', content: 5 }] }), { param: 'messages[0].content', code: 'invalid_type', message: /a string, an array of content parts, or null/ });
    expectRejection(() => parseChatRequest({ messages: [{ role: 'user', content: [{ text: 'x' }] }] }), { param: 'messages[0].content[0].type', code: 'missing_field' });
    expectRejection(() => parseChatRequest({ messages: [{ role: 'user', content: [{ type: 1 }] }] }), { param: 'messages[0].content[0].type', code: 'invalid_type' });
  });

  it('allows null or absent content only on an assistant message with tool_calls or function_call', () => {
    const call = [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }];
    expect(() => parseChatRequest({ messages: [user, { role: 'assistant', content: null, tool_calls: call }] })).not.toThrow();
    expect(() => parseChatRequest({ messages: [user, { role: 'assistant', tool_calls: call }] })).not.toThrow();
    expect(() => parseChatRequest({ messages: [user, { role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } }] })).not.toThrow();
    for (const m of [{ role: 'user', content: null }, { role: 'user' }, { role: 'assistant', content: null }, { role: 'assistant', content: null, tool_calls: [] }]) {
      expectRejection(() => parseChatRequest({ messages: [user, m] }), { param: 'messages[1].content', code: 'missing_field' });
    }
  });

  it('requires tool_call_id on tool messages', () => {
    expectRejection(() => parseChatRequest({ messages: [user, { role: 'tool', content: 'r' }] }), { param: 'messages[1].tool_call_id', code: 'missing_field' });
    expectRejection(() => parseChatRequest({ messages: [user, { role: 'tool', content: 'r', tool_call_id: 3 }] }), { param: 'messages[1].tool_call_id', code: 'invalid_type' });
  });

  it('caps messages.length at maxMessages', () => {
    const messages = [user, user, user];
    expectRejection(() => parseChatRequest({ messages }, { maxMessages: 2 }), { param: 'messages', code: 'invalid_value', message: /at most 2 messages/ });
    expect(() => parseChatRequest({ messages }, { maxMessages: 3 })).not.toThrow();
  });
});

describe('logprobs', () => {
  it('takes logprobs as a flag and top_logprobs 0..20 only with logprobs true', () => {
    expectRejection(() => parseChatRequest(chat({ logprobs: 5 })), { param: 'logprobs', code: 'invalid_type' });
    expectRejection(() => parseChatRequest(chat({ logprobs: true, top_logprobs: 21 })), { param: 'top_logprobs', code: 'invalid_value', message: /between 0 and 20/ });
    expectRejection(() => parseChatRequest(chat({ logprobs: true, top_logprobs: -1 })), { param: 'top_logprobs', code: 'invalid_value' });
    expectRejection(() => parseChatRequest(chat({ top_logprobs: 3 })), { param: 'top_logprobs', code: 'invalid_value', message: /requires logprobs to be true/ });
    expectRejection(() => parseChatRequest(chat({ logprobs: false, top_logprobs: 3 })), { param: 'top_logprobs' });
    expect(parseChatRequest(chat({ logprobs: true, top_logprobs: 20 })).body.top_logprobs).toBe(20);
    // 0 asks for no alternatives; vLLM accepts it without logprobs, and SDKs send it.
    expect(parseChatRequest(chat({ top_logprobs: 0 })).body.top_logprobs).toBe(0);
  });
});

describe('tools and tool_choice', () => {
  it('forwards well-formed tools and choices unchanged', () => {
    for (const tool_choice of ['auto', 'none', 'required', { type: 'function', function: { name: 'get_weather' } }]) {
      const { body } = parseChatRequest(chat({ tools: [weather], tool_choice, parallel_tool_calls: false }));
      expect(body).toMatchObject({ tools: [weather], tool_choice, parallel_tool_calls: false });
    }
  });

  it('validates each tool', () => {
    expectRejection(() => parseChatRequest(chat({ tools: [{ type: 'retrieval', function: { name: 'x' } }] })), { param: 'tools[0].type', code: 'invalid_value', message: 'tools[0].type must be "function"' });
    expectRejection(() => parseChatRequest(chat({ tools: [weather, { type: 'function', function: {} }] })), { param: 'tools[1].function.name', code: 'missing_field' });
    expectRejection(() => parseChatRequest(chat({ tools: [{ type: 'function', function: { name: '' } }] })), { param: 'tools[0].function.name', code: 'invalid_value' });
    expectRejection(() => parseChatRequest(chat({ tools: [{ type: 'function', function: { name: 'f', parameters: [] } }] })), { param: 'tools[0].function.parameters', code: 'invalid_type' });
    expectRejection(() => parseChatRequest(chat({ tools: [{ type: 'function', function: { name: 'f', description: 1 } }] })), { param: 'tools[0].function.description', code: 'invalid_type' });
    expectRejection(() => parseChatRequest(chat({ tools: { get_weather: {} } })), { param: 'tools', code: 'invalid_type' });
  });

  it('validates tool_choice', () => {
    expectRejection(() => parseChatRequest(chat({ tools: [weather], tool_choice: 'any' })), { param: 'tool_choice', code: 'invalid_type', message: /"none", "auto", "required" or/ });
    expectRejection(() => parseChatRequest(chat({ tools: [weather], tool_choice: { type: 'function', function: {} } })), { param: 'tool_choice.function.name', code: 'missing_field' });
    expectRejection(() => parseChatRequest(chat({ tools: [weather], tool_choice: { type: 'function', function: { name: 'get_time' } } })), { param: 'tool_choice.function.name', code: 'invalid_value', message: /does not match/ });
  });

  it('removes tools: [] (vLLM #39780 answers 400), and a "none"/"auto" tool_choice left without tools', () => {
    const empty = parseChatRequest(chat({ tools: [] })).body;
    expect('tools' in empty).toBe(false);
    for (const tool_choice of ['none', 'auto']) {
      for (const extra of [{ tools: [] }, {}, { tools: null }]) {
        const { body } = parseChatRequest(chat({ ...extra, tool_choice }));
        expect('tool_choice' in body).toBe(false);
        expect(body.tools ?? undefined).toBeUndefined();
      }
    }
  });

  it('refuses "required" or a named tool_choice without tools', () => {
    for (const tool_choice of ['required', { type: 'function', function: { name: 'get_weather' } }]) {
      for (const extra of [{ tools: [] }, {}]) {
        expectRejection(() => parseChatRequest(chat({ ...extra, tool_choice })), { param: 'tool_choice', code: 'invalid_value', message: /needs a non-empty tools array/ });
      }
    }
  });
});

describe('chat template flags', () => {
  it('refuses continue_final_message with add_generation_prompt', () => {
    expectRejection(() => parseChatRequest(chat({ continue_final_message: true, add_generation_prompt: true })), { param: 'continue_final_message', code: 'invalid_value', message: /cannot both be true/ });
    expect(() => parseChatRequest(chat({ continue_final_message: true, add_generation_prompt: false }))).not.toThrow();
    // vLLM only compares the fields the client sent; add_generation_prompt's default of true does not count.
    expect(() => parseChatRequest(chat({ continue_final_message: true }))).not.toThrow();
    expectRejection(() => parseChatRequest(chat({ add_generation_prompt: 'yes' })), { param: 'add_generation_prompt', code: 'invalid_type' });
  });
});

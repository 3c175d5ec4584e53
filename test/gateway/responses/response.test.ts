/**
 * vLLM's non-streaming chat.completion → a Response (gateway/surfaces/responses/response.ts).
 */
import { describe, expect, it } from 'vitest';
import { responseFromChatCompletion, responseShell } from '../../../gateway/surfaces/responses/response.js';
import type { ResponseEcho } from '../../../gateway/surfaces/responses/types.js';

const ECHO: ResponseEcho = {
  instructions: 'i', metadata: {}, temperature: 0.5, top_p: null, tools: [], tool_choice: 'auto', parallel_tool_calls: true,
  text: { format: { type: 'text' } }, truncation: 'disabled', max_output_tokens: 5, max_tool_calls: null, previous_response_id: null,
  conversation: null, store: true, service_tier: 'default', top_logprobs: 0, reasoning: { effort: null, summary: null }, background: false,
};
const shell = () => responseShell({ id: 'resp_x', model: 'qwen2.5-7b-instruct', createdAt: 100, echo: ECHO });
const chat = (message: Record<string, unknown>, finish: string, usage: Record<string, unknown> = { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 }) => ({
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'qwen2.5-7b-instruct',
  choices: [{ index: 0, message: { role: 'assistant', refusal: null, annotations: null, ...message }, logprobs: null, finish_reason: finish, stop_reason: null }],
  usage,
});

describe('non-streaming Response', () => {
  it('builds a completed message with usage and the echoed fields', () => {
    const r = responseFromChatCompletion(shell(), chat({ content: 'Hello!' }, 'stop'));
    expect(r).toMatchObject({
      id: 'resp_x', object: 'response', created_at: 100, status: 'completed', model: 'qwen2.5-7b-instruct', error: null, incomplete_details: null,
      instructions: 'i', temperature: 0.5, max_output_tokens: 5, output_text: 'Hello!',
      usage: { input_tokens: 7, output_tokens: 5, total_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
    });
    expect(r.completed_at).toEqual(expect.any(Number));
    expect(r.output).toEqual([
      { id: expect.stringMatching(/^msg_/), type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello!', annotations: [], logprobs: [] }] },
    ]);
  });

  it('is incomplete with reason max_output_tokens when vLLM stopped at max_tokens', () => {
    const r = responseFromChatCompletion(shell(), chat({ content: 'Hel' }, 'length'));
    expect(r).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, completed_at: null });
    expect(r.output[0]?.status).toBe('incomplete');
  });

  it('turns tool calls into function_call items keeping vLLM\'s call id, after any text', () => {
    const r = responseFromChatCompletion(shell(), chat({
      content: 'Let me check.',
      tool_calls: [
        { id: 'chatcmpl-tool-a', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
        { id: 'chatcmpl-tool-b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
      ],
    }, 'tool_calls'));
    expect(r.output.map((i) => i.type)).toEqual(['message', 'function_call', 'function_call']);
    expect(r.output[1]).toEqual({ id: expect.stringMatching(/^fc_/), type: 'function_call', call_id: 'chatcmpl-tool-a', name: 'get_weather', arguments: '{"city": "Paris"}', status: 'completed' });
    expect(r.status).toBe('completed');
  });

  it('reads cached tokens when vLLM reports them, and answers an empty completion with an empty message', () => {
    const r = responseFromChatCompletion(shell(), chat({ content: null }, 'stop', { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11, prompt_tokens_details: { cached_tokens: 8 } }));
    expect(r.usage?.input_tokens_details.cached_tokens).toBe(8);
    expect(r.output).toHaveLength(1);
    expect(r.output_text).toBe('');
  });
});

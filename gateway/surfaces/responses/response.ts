/**
 * @module surfaces/responses/response
 * Builds Response objects: the in-progress shell (the echoed request fields, for response.created and
 * for storing), and the finished Response from vLLM's non-streaming chat.completion (vllm.md 3.1).
 *
 * Mapping: `message.content` → one `message` item with one `output_text` part; each of
 * `message.tool_calls` → a `function_call` item whose `call_id` is vLLM's tool-call id. finish_reason
 * `length` → status `incomplete`, incomplete_details.reason `max_output_tokens`; anything else →
 * `completed`. Usage: prompt/completion tokens → input/output tokens; cached tokens come from
 * `prompt_tokens_details` when vLLM reports them (--enable-prompt-tokens-details), else 0.
 */
import { newId } from '../../state/ids.js';
import type { FunctionCallItem, OutputItem, OutputMessage, ResponseEcho, ResponseObject, ResponseUsage } from './types.js';

export interface ShellInit {
  id: string;
  model: string;
  /** Unix seconds. */
  createdAt: number;
  echo: ResponseEcho;
}

export function responseShell(init: ShellInit): ResponseObject {
  return {
    id: init.id,
    object: 'response',
    created_at: init.createdAt,
    completed_at: null,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    model: init.model,
    output: [],
    output_text: '',
    access_programs: null,
    ...init.echo,
  };
}

interface ChatUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  total_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function usageFromChat(usage: ChatUsage | null | undefined): ResponseUsage {
  const input = count(usage?.prompt_tokens);
  const output = count(usage?.completion_tokens);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: count(usage?.prompt_tokens_details?.cached_tokens), cache_write_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: count(usage?.total_tokens) || input + output,
  };
}

export function messageItem(text: string, status: OutputMessage['status'], id = newId('msg')): OutputMessage {
  return { id, type: 'message', role: 'assistant', status, content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] };
}

export function functionCallItem(callId: string, name: string, args: string, status: FunctionCallItem['status'], id = newId('fc')): FunctionCallItem {
  return { id, type: 'function_call', call_id: callId, name, arguments: args, status };
}

export function outputText(output: readonly OutputItem[]): string {
  let text = '';
  for (const item of output) if (item.type === 'message') for (const part of item.content) text += part.text;
  return text;
}

/** The shell, finished: status from the finish reason, output, usage. */
export function finishResponse(
  shell: ResponseObject,
  output: OutputItem[],
  finishReason: string | undefined,
  usage: ResponseUsage | undefined,
  nowS = Math.floor(Date.now() / 1000),
): ResponseObject {
  const incomplete = finishReason === 'length';
  const done: ResponseObject = {
    ...shell,
    status: incomplete ? 'incomplete' : 'completed',
    completed_at: incomplete ? null : nowS,
    incomplete_details: incomplete ? { reason: 'max_output_tokens' } : null,
    output,
    output_text: outputText(output),
  };
  if (usage) done.usage = usage;
  return done;
}

interface ChatToolCall {
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

interface ChatCompletion {
  choices?: Array<{ message?: { content?: unknown; tool_calls?: ChatToolCall[] | null }; finish_reason?: unknown }>;
  usage?: ChatUsage | null;
}

/** The Response for vLLM's chat.completion JSON (already parsed). */
export function responseFromChatCompletion(shell: ResponseObject, completion: unknown): ResponseObject {
  const chat = (typeof completion === 'object' && completion !== null ? completion : {}) as ChatCompletion;
  const choice = chat.choices?.[0];
  const finishReason = typeof choice?.finish_reason === 'string' ? choice.finish_reason : undefined;
  const status = finishReason === 'length' ? 'incomplete' : 'completed';
  const output: OutputItem[] = [];
  const content = choice?.message?.content;
  if (typeof content === 'string' && content.length > 0) output.push(messageItem(content, status));
  for (const call of choice?.message?.tool_calls ?? []) {
    const name = typeof call.function?.name === 'string' ? call.function.name : '';
    const args = typeof call.function?.arguments === 'string' ? call.function.arguments : '{}';
    output.push(functionCallItem(typeof call.id === 'string' ? call.id : newId('fc'), name, args, status));
  }
  // An answer with neither text nor calls is still one (empty) message, as OpenAI answers an empty completion.
  if (output.length === 0) output.push(messageItem('', status));
  return finishResponse(shell, output, finishReason, usageFromChat(chat.usage));
}

/** The shell, failed (a stream cut by vLLM or by the gateway). */
export function failResponse(shell: ResponseObject, output: OutputItem[], message: string, usage: ResponseUsage | undefined): ResponseObject {
  const failed: ResponseObject = { ...shell, status: 'failed', error: { code: 'server_error', message }, output, output_text: outputText(output) };
  if (usage) failed.usage = usage;
  return failed;
}

/**
 * @module sim/plan-messages
 * POST /v1/messages and /v1/messages/count_tokens (vllm.md 1.2): vLLM validates the body against its
 * Anthropic request model, converts it to a chat completion request and serves that
 * (`vllm/entrypoints/anthropic/serving.py` _convert_anthropic_to_openai_request, `protocol.py`). So does
 * the simulator: the same chat plan, scheduler, prefix cache, faults and text, answered in Anthropic's shapes.
 *
 * Conversion: `system` (a string or text blocks) and any system-role messages become one leading system
 * message, texts joined with ""; text blocks of a message become its content (a lone text block a plain
 * string); tool_use blocks become tool_calls; a user's tool_result becomes a `tool` message; max_tokens sets
 * max_tokens and max_completion_tokens; stop_sequences → stop; tool_choice auto/any/none/tool → auto/
 * required/none/named, "auto" when tools come without a choice; a stream asks for usage on every chunk.
 *
 * Errors, as vLLM answers them on this route:
 * - a body that fails the Anthropic request model: FastAPI's RequestValidationError handler, so vLLM's
 *   OpenAI envelope, 400 "Bad Request" (pydantic.ts), not Anthropic's shape;
 * - errors of the chat request (unknown model 404, context length, sampling, tools 400, dead engine 500):
 *   Anthropic's shape with vLLM's type (`translate_error_response`), status unchanged;
 * - a converted request the chat model rejects (for example more than 4 stop sequences): the exception
 *   escapes the handler, 500 with type internal_error.
 */
import type { SimError } from './errors.js';
import type { GenerationPlan, PlanContext } from './plan.js';
import { planChat } from './plan-chat.js';
import { coerce, missingIssue, modelValidatorIssue, validationFailure, type FieldKind, type PydanticIssue } from './pydantic.js';
import { isRecord } from './text.js';

export type MessagesPlanResult =
  | { plan: GenerationPlan; error?: undefined }
  | { error: SimError; /** 'openai' for schema failures, 'anthropic' for serving errors. */ envelope: 'openai' | 'anthropic'; plan?: undefined };

const MESSAGE_FIELDS: ReadonlyArray<readonly [string, FieldKind]> = [
  ['model', 'str'], ['max_tokens', 'int'], ['metadata', 'dict'], ['stop_sequences', 'list'], ['stream', 'bool'], ['temperature', 'float'],
  ['tool_choice', 'dict'], ['tools', 'list'], ['top_k', 'int'], ['top_p', 'float'],
];
const COUNT_FIELDS: ReadonlyArray<readonly [string, FieldKind]> = [['model', 'str'], ['tool_choice', 'dict'], ['tools', 'list']];
const ROLES = ['user', 'assistant', 'system'];
/** protocol.py normalize_role: roles newer Claude Code clients send. */
const ROLE_ALIASES: Readonly<Record<string, string>> = { ctx: 'user', msg: 'user' };
const BLOCK_TYPES = ['text', 'image', 'tool_use', 'tool_result', 'tool_reference', 'thinking', 'redacted_thinking'];
const TOOL_CHOICES: Readonly<Record<string, unknown>> = { auto: 'auto', any: 'required', none: 'none' };
/** Claude Code's per-request attribution header, dropped so it does not defeat prefix caching. */
const BILLING_HEADER = 'x-anthropic-billing-header';

export function planMessages(body: unknown, ctx: PlanContext): MessagesPlanResult {
  const chat = toChatBody(body, MESSAGE_FIELDS, true);
  if ('error' in chat) return { error: chat.error, envelope: 'openai' };
  const result = planChat(chat.body, ctx);
  if (result.error) return { error: chatError(result.error), envelope: 'anthropic' };
  // The converter only reads usage from the first and the last chunk; nothing to render per chunk.
  return { plan: { ...result.plan, dialect: 'anthropic', continuousUsage: false } };
}

/** `{input_tokens}` of the rendered prompt, as vLLM's count_tokens renders the converted chat request. */
export function countMessageTokens(body: unknown, ctx: PlanContext): { json: string; error?: undefined } | { error: SimError; envelope: 'openai' | 'anthropic' } {
  const chat = toChatBody(body, COUNT_FIELDS, false);
  if ('error' in chat) return { error: chat.error, envelope: 'openai' };
  const result = planChat(chat.body, { config: ctx.config, engineDead: false });
  if (result.error) return { error: chatError(result.error), envelope: 'anthropic' };
  const n = result.plan.promptTokens;
  return { json: JSON.stringify({ input_tokens: n, context_management: { original_input_tokens: n } }) };
}

/** A pydantic failure of the converted ChatCompletionRequest escapes the handler as a 500 (see the header). */
function chatError(err: SimError): SimError {
  return err.type === 'Bad Request' ? { status: 500, type: 'internal_error', message: err.message, param: null } : err;
}

type ChatBody = { body: Record<string, unknown> } | { error: SimError };

function toChatBody(body: unknown, rules: ReadonlyArray<readonly [string, FieldKind]>, generation: boolean): ChatBody {
  if (!isRecord(body)) {
    return { error: validationFailure([{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body }]) };
  }
  const issues: PydanticIssue[] = [];
  const required = generation ? ['model', 'messages', 'max_tokens'] : ['model', 'messages'];
  for (const name of required) if (!(name in body) || body[name] === null) issues.push(missingIssue(['body', name]));
  const values = new Map<string, unknown>();
  for (const [name, kind] of rules) {
    if (!(name in body) || body[name] === null) continue;
    const v = coerce(body[name], kind, ['body', name], issues);
    if (v !== undefined && v !== null) values.set(name, v);
  }
  const messages = readMessages(body.messages, issues);
  const system = readSystem(body.system, issues);
  if (values.get('model') === '') issues.push({ ...modelValidatorIssue('Model is required'), loc: ['body', 'model'] });
  const maxTokens = values.get('max_tokens') as number | undefined;
  if (maxTokens !== undefined && maxTokens <= 0) issues.push({ ...modelValidatorIssue('max_tokens must be positive'), loc: ['body', 'max_tokens'] });
  const toolChoice = values.get('tool_choice') as Record<string, unknown> | undefined;
  if (toolChoice && !(typeof toolChoice.type === 'string' && ['auto', 'any', 'tool', 'none'].includes(toolChoice.type))) {
    issues.push({ type: 'literal_error', loc: ['body', 'tool_choice', 'type'], msg: "Input should be 'auto', 'any', 'tool' or 'none'", input: toolChoice.type });
  } else if (toolChoice?.type === 'tool' && !toolChoice.name) {
    issues.push({ ...modelValidatorIssue("tool_choice.name is required when type is 'tool'"), loc: ['body', 'tool_choice'] });
  }
  const tools = readTools(values.get('tools') as unknown[] | undefined, issues);
  const stop = values.get('stop_sequences') as unknown[] | undefined;
  if (stop?.some((s) => typeof s !== 'string')) issues.push({ type: 'string_type', loc: ['body', 'stop_sequences'], msg: 'Input should be a valid string', input: stop });
  if (issues.length > 0) return { error: validationFailure(issues) };

  const openaiMessages: Array<Record<string, unknown>> = [];
  const systemParts = [...system];
  for (const m of messages) if (m.role === 'system') systemParts.push(...textsOf(m.content));
  if (systemParts.length > 0) openaiMessages.push({ role: 'system', content: systemParts.join('') });
  for (const m of messages) if (m.role !== 'system') convertMessage(m, openaiMessages);

  const chat: Record<string, unknown> = { model: values.get('model'), messages: openaiMessages };
  if (generation) {
    Object.assign(chat, { max_tokens: maxTokens, max_completion_tokens: maxTokens });
    for (const [from, to] of [['stop_sequences', 'stop'], ['temperature', 'temperature'], ['top_p', 'top_p'], ['top_k', 'top_k']] as const) {
      if (values.has(from)) chat[to] = values.get(from);
    }
    if (values.get('stream') === true) Object.assign(chat, { stream: true, stream_options: { include_usage: true, continuous_usage_stats: true } });
  }
  if (toolChoice) chat.tool_choice = toolChoice.type === 'tool' ? { type: 'function', function: { name: toolChoice.name } } : TOOL_CHOICES[toolChoice.type as string];
  if (tools) {
    chat.tools = tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description ?? null, parameters: t.input_schema } }));
    chat.tool_choice ??= 'auto';
  }
  return { body: chat };
}

interface AnthropicMessage {
  role: string;
  content: string | Array<Record<string, unknown>>;
}

function readMessages(raw: unknown, issues: PydanticIssue[]): AnthropicMessage[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    issues.push({ type: 'list_type', loc: ['body', 'messages'], msg: 'Input should be a valid list', input: raw });
    return [];
  }
  const out: AnthropicMessage[] = [];
  raw.forEach((m: unknown, i) => {
    const loc = ['body', 'messages', i];
    if (!isRecord(m)) {
      issues.push({ type: 'model_type', loc, msg: 'Input should be a valid dictionary or instance of AnthropicMessage', input: m });
      return;
    }
    const role = typeof m.role === 'string' ? (ROLE_ALIASES[m.role] ?? m.role) : m.role;
    if (!('role' in m)) issues.push(missingIssue([...loc, 'role']));
    else if (typeof role !== 'string' || !ROLES.includes(role)) issues.push({ type: 'literal_error', loc: [...loc, 'role'], msg: "Input should be 'user', 'assistant' or 'system'", input: m.role });
    const content = readContent(m.content, [...loc, 'content'], issues, 'content' in m);
    if (typeof role === 'string' && content !== undefined) out.push({ role, content });
  });
  return out;
}

function readContent(raw: unknown, loc: Array<string | number>, issues: PydanticIssue[], present: boolean): AnthropicMessage['content'] | undefined {
  if (!present) {
    issues.push(missingIssue(loc));
    return undefined;
  }
  if (typeof raw === 'string') return raw;
  if (!Array.isArray(raw)) {
    issues.push({ type: 'string_type', loc, msg: 'Input should be a valid string', input: raw });
    return undefined;
  }
  const blocks: Array<Record<string, unknown>> = [];
  raw.forEach((b: unknown, j) => {
    if (!isRecord(b) || typeof b.type !== 'string' || !BLOCK_TYPES.includes(b.type)) {
      issues.push({ type: 'literal_error', loc: [...loc, j, 'type'], msg: `Input should be ${BLOCK_TYPES.map((t) => `'${t}'`).join(', ')}`, input: isRecord(b) ? b.type : b });
      return;
    }
    blocks.push(b);
  });
  return blocks;
}

function readSystem(raw: unknown, issues: PydanticIssue[]): string[] {
  if (raw === undefined || raw === null) return [];
  const content = readContent(raw, ['body', 'system'], issues, true);
  return content === undefined ? [] : textsOf(content);
}

/** The text parts of a content (a string, or its text blocks without Claude Code's billing header). */
function textsOf(content: AnthropicMessage['content']): string[] {
  if (typeof content === 'string') return content === '' ? [] : [content];
  const out: string[] = [];
  for (const b of content) if (b.type === 'text' && typeof b.text === 'string' && b.text !== '' && !b.text.startsWith(BILLING_HEADER)) out.push(b.text);
  return out;
}

function convertMessage(m: AnthropicMessage, out: Array<Record<string, unknown>>): void {
  const msg: Record<string, unknown> = { role: m.role };
  if (typeof m.content === 'string') {
    msg.content = m.content;
    out.push(msg);
    return;
  }
  const parts: Array<Record<string, unknown>> = [];
  const toolCalls: unknown[] = [];
  for (const b of m.content) {
    if (b.type === 'text' && typeof b.text === 'string' && b.text !== '') parts.push({ type: 'text', text: b.text });
    else if (b.type === 'tool_use') toolCalls.push({ id: b.id ?? '', type: 'function', function: { name: b.name ?? '', arguments: JSON.stringify(b.input ?? {}) } });
    else if (b.type === 'tool_result' && m.role === 'user') out.push({ role: 'tool', tool_call_id: b.tool_use_id ?? '', content: toolResultText(b.content) });
    else if (b.type === 'tool_result') parts.push({ type: 'text', text: `Tool result: ${toolResultText(b.content)}` });
  }
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  if (parts.length > 0) msg.content = parts.length === 1 ? parts[0]?.text : parts;
  // vLLM drops a user message left without content (one that only carried tool results).
  if (!(m.role === 'user' && !('content' in msg))) out.push(msg);
}

function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.filter((c): c is Record<string, unknown> => isRecord(c) && c.type === 'text').map((c) => String(c.text ?? '')).join('\n');
}

interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
}

function readTools(raw: unknown[] | undefined, issues: PydanticIssue[]): AnthropicTool[] | undefined {
  if (raw === undefined) return undefined;
  const tools: AnthropicTool[] = [];
  raw.forEach((t: unknown, i) => {
    const loc = ['body', 'tools', i];
    if (!isRecord(t)) {
      issues.push({ type: 'model_type', loc, msg: 'Input should be a valid dictionary or instance of AnthropicTool', input: t });
      return;
    }
    if (typeof t.name !== 'string') issues.push(t.name === undefined ? missingIssue([...loc, 'name']) : { type: 'string_type', loc: [...loc, 'name'], msg: 'Input should be a valid string', input: t.name });
    if (!isRecord(t.input_schema)) issues.push(t.input_schema === undefined ? missingIssue([...loc, 'input_schema']) : { type: 'dict_type', loc: [...loc, 'input_schema'], msg: 'Input should be a valid dictionary', input: t.input_schema });
    if (typeof t.name === 'string' && isRecord(t.input_schema)) {
      // protocol.py: an input_schema without "type" is taken as an object schema.
      tools.push({ name: t.name, ...(typeof t.description === 'string' ? { description: t.description } : {}), input_schema: { type: 'object', ...t.input_schema } });
    }
  });
  return tools;
}

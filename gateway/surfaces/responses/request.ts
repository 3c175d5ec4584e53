/**
 * @module surfaces/responses/request
 * `POST /v1/responses` → a chat-completions request for vLLM (vllm.md 2.2), so the Responses API works
 * on every vLLM version and backend; the gateway keeps the state (state/store.ts) itself.
 *
 * History: `previous_response_id` brings that response's history, input and output (never its
 * `instructions`: OpenAI documents they are not carried over); `conversation` brings the conversation's
 * items, and the new input and output are appended after the answer. The two are mutually exclusive,
 * as at OpenAI. Refusals name their field in `param`; state lookups another owner's ids fail exactly
 * like unknown ids.
 */
import { GatewayError, invalidRequest } from '../../errors.js';
import { toInvalidRequest, PARSE_PARAMS } from '../../schemas/issues.js';
import { requireObject, type ParsedRequest } from '../../schemas/parsed-request.js';
import { newId } from '../../state/ids.js';
import type { StateStore, StoredItem } from '../../state/store.js';
import { estimatePromptTokens } from '../../token-estimate.js';
import { normaliseInput, toChatMessages, type ChatMessage } from './input.js';
import { responseShell } from './response.js';
import { responsesRequestSchema, type ResponsesRequest } from './schema.js';
import { translateTextFormat, translateToolChoice, translateTools } from './tools.js';
import { truncateToFit } from './truncation.js';
import type { FunctionToolEcho, ResponseEcho, ResponseObject } from './types.js';

export interface PrepareOptions {
  store: StateStore;
  /** The API key's name (c.get('principal').name). */
  owner: string;
  /** The served model name a Response reports when the request names no model. */
  defaultModel: string;
  /** The model's max_model_len, for `truncation: "auto"`; without it nothing is truncated. */
  contextLength?: number | undefined;
  /** MAX_TOKENS_LIMIT: a larger max_output_tokens is a 400. */
  maxTokensLimit?: number | undefined;
}

export interface PreparedResponses {
  /** The chat request for vLLM, in the inference pipeline's own shape (kind 'chat'). */
  chat: ParsedRequest;
  /** The Response in progress: id, echoed fields, status in_progress. */
  shell: ResponseObject;
  store: boolean;
  conversationId: string | undefined;
  inputItems: StoredItem[];
  historyItems: StoredItem[];
}

const SUPPORTED_INCLUDES = new Set(['reasoning.encrypted_content']);

function refuse(field: string, why: string, code = 'unsupported_parameter'): GatewayError {
  return invalidRequest(`${field} ${why}`, field, code);
}

/** Refuses what this gateway cannot honour, each by name. */
function checkUnsupported(r: ResponsesRequest): void {
  if (r.background) throw refuse('background', 'is not supported: this gateway answers in the request (send false or omit it).');
  if (r.prompt !== undefined && r.prompt !== null) throw refuse('prompt', 'is not supported: stored prompts live at OpenAI, send instructions and input instead.');
  if (r.reasoning?.effort || r.reasoning?.summary || r.reasoning?.generate_summary) {
    throw refuse('reasoning', 'is not supported: the model behind this gateway is not a reasoning model (send null or omit it).');
  }
  for (const [i, value] of (r.include ?? []).entries()) {
    if (!SUPPORTED_INCLUDES.has(value)) throw refuse(`include[${i}]`, `"${value.slice(0, 60)}" is not supported by this gateway.`);
  }
  if (r.service_tier && r.service_tier !== 'auto' && r.service_tier !== 'default') throw refuse('service_tier', 'must be "auto" or "default" here.');
  if (r.context_management && r.context_management.length > 0) throw refuse('context_management', 'is not supported by this gateway.');
  if (r.image !== undefined && r.image !== null) throw refuse('image', 'is not supported: the model reads text only.');
  if (r.moderation !== undefined && r.moderation !== null) throw refuse('moderation', 'is not supported by this gateway.');
  if (r.previous_response_id && r.conversation) {
    throw invalidRequest('previous_response_id and conversation cannot be used together.', 'previous_response_id', 'mutually_exclusive_parameters');
  }
}

function notFound(message: string, param: string, code: string): GatewayError {
  return new GatewayError(404, message, { type: 'invalid_request_error', param, code });
}

async function loadHistory(r: ResponsesRequest, o: PrepareOptions): Promise<{ history: StoredItem[]; conversationId: string | undefined }> {
  if (r.previous_response_id) {
    const prev = await o.store.getResponse(o.owner, r.previous_response_id);
    if (!prev) throw notFound(`Previous response with id '${r.previous_response_id.slice(0, 80)}' not found.`, 'previous_response_id', 'previous_response_not_found');
    const output = (prev.response.output as StoredItem[] | undefined) ?? [];
    return { history: [...prev.history_items, ...prev.input_items, ...output], conversationId: undefined };
  }
  if (r.conversation) {
    const id = typeof r.conversation === 'string' ? r.conversation : r.conversation.id;
    const items = await o.store.allItems(o.owner, id);
    if (!items) throw notFound(`Conversation with id '${id.slice(0, 80)}' not found.`, 'conversation', 'conversation_not_found');
    return { history: items, conversationId: id };
  }
  return { history: [], conversationId: undefined };
}

function echo(r: ResponsesRequest, tools: FunctionToolEcho[], conversationId: string | undefined): ResponseEcho {
  const fields: ResponseEcho = {
    instructions: r.instructions ?? null,
    metadata: r.metadata ?? {},
    temperature: r.temperature ?? null,
    top_p: r.top_p ?? null,
    tools,
    tool_choice: r.tool_choice ?? 'auto',
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    text: { format: r.text?.format ?? { type: 'text' }, verbosity: r.text?.verbosity ?? 'medium' },
    truncation: r.truncation ?? 'disabled',
    max_output_tokens: r.max_output_tokens ?? null,
    max_tool_calls: r.max_tool_calls ?? null,
    previous_response_id: r.previous_response_id ?? null,
    conversation: conversationId ? { id: conversationId } : null,
    store: r.store ?? true,
    service_tier: 'default',
    top_logprobs: r.top_logprobs ?? 0,
    reasoning: { effort: null, summary: null },
    background: false,
  };
  if (r.user !== undefined) fields.user = r.user;
  return fields;
}

/** Validates and translates one Responses request. Throws GatewayError (400/404) or the store's errors. */
export async function prepareResponsesRequest(json: unknown, o: PrepareOptions): Promise<PreparedResponses> {
  const parsed = responsesRequestSchema.safeParse(requireObject(json), PARSE_PARAMS);
  if (!parsed.success) {
    const unknown = parsed.error.issues.find((i) => i.code === 'unrecognized_keys');
    if (unknown && unknown.code === 'unrecognized_keys') {
      const key = unknown.keys[0] ?? '';
      throw invalidRequest(`Unknown parameter: '${key.slice(0, 60)}'.`, key, 'unknown_parameter');
    }
    throw toInvalidRequest(parsed.error.issues);
  }
  const r = parsed.data;
  checkUnsupported(r);
  if (o.maxTokensLimit !== undefined && r.max_output_tokens && r.max_output_tokens > o.maxTokensLimit) {
    throw invalidRequest(`max_output_tokens must be at most ${o.maxTokensLimit} on this gateway`, 'max_output_tokens', 'invalid_value');
  }
  const { tools: chatTools, echoTools } = translateTools(r.tools);
  const toolChoice = translateToolChoice(r.tool_choice, echoTools);
  const responseFormat = translateTextFormat(r.text?.format);

  const inputItems = await normaliseInput(r.input, o.store, o.owner);
  const { history, conversationId } = await loadHistory(r, o);
  let messages: ChatMessage[] = toChatMessages([...history, ...inputItems]);
  if (r.instructions) messages.unshift({ role: 'system', content: r.instructions });
  if (!messages.some((m) => m.role !== 'system')) throw invalidRequest('input must contain at least one message or item', 'input', 'missing_field');
  if (r.truncation === 'auto' && o.contextLength !== undefined) {
    messages = truncateToFit(messages, chatTools, o.contextLength, r.max_output_tokens ?? 0);
  }

  const stream = r.stream ?? false;
  const body: Record<string, unknown> = { messages };
  if (r.model) body.model = r.model;
  if (r.max_output_tokens) body.max_tokens = r.max_output_tokens;
  if (r.temperature !== undefined && r.temperature !== null) body.temperature = r.temperature;
  if (r.top_p !== undefined && r.top_p !== null) body.top_p = r.top_p;
  if (chatTools) body.tools = chatTools;
  if (toolChoice !== undefined) body.tool_choice = toolChoice;
  if (chatTools && r.parallel_tool_calls !== undefined && r.parallel_tool_calls !== null) body.parallel_tool_calls = r.parallel_tool_calls;
  if (responseFormat) body.response_format = responseFormat;
  if (r.user) body.user = r.user;
  if (stream) {
    body.stream = true;
    // The translator needs usage for response.completed (and the gateway for its counts).
    body.stream_options = { include_usage: true };
  }

  const shell = responseShell({
    id: newId('resp'),
    model: r.model ?? o.defaultModel,
    createdAt: Math.floor(Date.now() / 1000),
    echo: echo(r, echoTools, conversationId),
  });
  return {
    chat: {
      kind: 'chat',
      body,
      model: r.model ?? undefined,
      stream,
      clientWantsUsage: false,
      maxTokens: r.max_output_tokens ?? undefined,
      promptTokensEstimate: estimatePromptTokens(body, 'chat'),
    },
    shell,
    store: r.store ?? true,
    conversationId,
    inputItems,
    // A conversation keeps its own history; a response in one stores none (it would copy the conversation each turn).
    historyItems: conversationId ? [] : history,
  };
}

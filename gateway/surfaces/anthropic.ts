/**
 * @module surfaces/anthropic
 * Anthropic Messages (`/v1/messages`, `/v1/messages/count_tokens`) for the Anthropic SDKs and Claude
 * Code. vLLM serves this API itself (vllm.md 1.2, `vllm/entrypoints/anthropic/`), so answers pass through
 * byte for byte; usage comes from a side view of the bytes (anthropic-usage.ts). What is ours:
 *
 * - Validation of the few fields the gateway reads (model, max_tokens ≥ 1 and MAX_TOKENS_LIMIT, messages,
 *   stream, system, metadata.user_id, tools); every other field goes to vLLM untouched, as Anthropic's
 *   API would judge it there. `model` may be left out: the default model serves, as on chat.
 * - `metadata.user_id` (Claude Code puts its session in it) is the routing affinity session.
 * - Errors in Anthropic's shape, `{"type":"error","error":{"type","message"}}`, typed by status as
 *   Anthropic documents them (docs.claude.com/en/api/errors). Our 503s (queue full, queue timeout,
 *   backends starting or down, shutdown) stay 503 with `overloaded_error`: the SDK retries every status
 *   ≥ 500 and honours `retry-after` (client.js `shouldRetry`), and 503 keeps one status per cause across
 *   surfaces for metrics and load balancers; Anthropic's own 529 is not a status anything else expects.
 *   vLLM's errors on this route (its `{"type":"error","error":{"type":"BadRequestError",…}}` and its
 *   OpenAI-shaped 400s for schema errors) reach here as GatewayErrors (upstream/failures.ts) and are
 *   written the same way.
 * - In a stream, failures are one `event: error`; vLLM's own error event (an `internal_error` wrapping a
 *   validation dump) is replaced by ours, and a stream that ends without `message_stop` gets one.
 *
 * count_tokens walks the same pipeline (auth, routing, admission for the few ms of tokenising) but costs
 * no tokens: one request against RPM, nothing against TPM, no usage counted (it generates nothing; the
 * prompt is charged when the message itself is sent).
 */
import { z } from 'zod';
import type { ErrorShape } from '../call/client-response.js';
import { GatewayError, invalidRequest } from '../errors.js';
import { readAnthropicMessage, AnthropicSseScanner } from '../proxy/anthropic-usage.js';
import { PARSE_PARAMS, toInvalidRequest } from '../schemas/issues.js';
import { checkMaxTokens } from '../schemas/normalise.js';
import { requireObject } from '../schemas/parsed-request.js';
import { int } from '../schemas/sampling.js';
import { failureMidStream } from '../upstream/failures.js';
import type { StreamReader, Surface, SurfaceContext, SurfaceRequest } from './surface.js';

type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

const TYPE_BY_STATUS: Readonly<Record<number, AnthropicErrorType>> = {
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
  504: 'timeout_error',
};

/** Anthropic: "invalid_request_error … also for other 4XX status codes"; api_error for other 5xx. */
export function anthropicErrorType(status: number): AnthropicErrorType {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

export const anthropicErrors: ErrorShape = {
  errorBody: (err: GatewayError): string => JSON.stringify({ type: 'error', error: { type: anthropicErrorType(err.status), message: err.message } }),
};

/** One in-stream error event, Anthropic's framing (the SDK raises it as an APIError of that type). */
export function anthropicErrorEvent(err: GatewayError): string {
  return `event: error\ndata: ${anthropicErrors.errorBody(err)}\n\n`;
}

const block = z.looseObject({ type: z.string() });
const content = z.union([z.string(), z.array(block)], { error: 'must be a string or an array of content blocks' });
const message = z.looseObject({ role: z.string(), content });
const shared = {
  model: z.string().min(1).nullish(),
  messages: z.array(message).min(1, 'must contain at least one message'),
  system: content.nullish(),
  tools: z.array(z.looseObject({})).nullish(),
};
const messagesRequest = z.looseObject({
  ...shared,
  max_tokens: int().min(1),
  stream: z.boolean().nullish(),
  metadata: z.looseObject({ user_id: z.string().nullish() }).nullish(),
});
const countTokensRequest = z.looseObject(shared);

type Shared = z.output<typeof countTokensRequest>;

function checkMessages(data: Shared, ctx: SurfaceContext): void {
  const max = ctx.maxMessages;
  if (max !== undefined && data.messages.length > max) {
    throw invalidRequest(`messages accepts at most ${max} messages on this gateway`, 'messages', 'invalid_value');
  }
}

function parseMessages(json: unknown, ctx: SurfaceContext): SurfaceRequest {
  const result = messagesRequest.safeParse(requireObject(json), PARSE_PARAMS);
  if (!result.success) throw toInvalidRequest(result.error.issues);
  const data = result.data;
  const body: Record<string, unknown> = data;
  checkMessages(data, ctx);
  checkMaxTokens(body, ctx);
  const userId = data.metadata?.user_id;
  return {
    body,
    model: data.model ?? undefined,
    stream: data.stream === true,
    maxTokens: data.max_tokens,
    promptTokensEstimate: estimateMessagesTokens(data),
    session: typeof userId === 'string' && userId !== '' ? userId : undefined,
    streamReader: () => new AnthropicPassThrough(),
    jsonAnswer: (bytes) => ({ body: bytes, read: () => readAnthropicMessage(bytes) }),
  };
}

function parseCountTokens(json: unknown, ctx: SurfaceContext): SurfaceRequest {
  const result = countTokensRequest.safeParse(requireObject(json), PARSE_PARAMS);
  if (!result.success) throw toInvalidRequest(result.error.issues);
  checkMessages(result.data, ctx);
  return {
    body: result.data,
    model: result.data.model ?? undefined,
    stream: false,
    // Generates nothing: 0 keeps the pipeline from adding max_tokens and reserves no tokens.
    maxTokens: 0,
    promptTokensEstimate: 0,
    session: undefined,
    streamReader: () => new AnthropicPassThrough(),
    jsonAnswer: (bytes) => ({ body: bytes, read: () => ({}) }),
  };
}

export const messagesSurface: Surface = {
  name: 'messages',
  upstreamPath: '/v1/messages',
  ...anthropicErrors,
  parse: parseMessages,
};

export const countTokensSurface: Surface = {
  name: 'messages_count_tokens',
  upstreamPath: '/v1/messages/count_tokens',
  ...anthropicErrors,
  parse: parseCountTokens,
};

/** What createApp takes as `surfaces` (server.ts). */
export const anthropicSurfaces: ReadonlyArray<{ path: string; surface: Surface }> = [
  { path: '/v1/messages', surface: messagesSurface },
  { path: '/v1/messages/count_tokens', surface: countTokensSurface },
];

/** vLLM's stream as it came, minus its own error event; a missing `message_stop` gets an error event. */
class AnthropicPassThrough implements StreamReader {
  readonly #scanner = new AnthropicSseScanner();

  get usage() {
    return this.#scanner.usage;
  }
  get finishReason() {
    return this.#scanner.finishReason;
  }
  get atEventBoundary() {
    return this.#scanner.atEventBoundary;
  }

  push(chunk: Buffer): Buffer | undefined {
    return this.#scanner.push(chunk);
  }

  end() {
    const scanner = this.#scanner;
    const rest = scanner.flush();
    if (scanner.upstreamError !== undefined) {
      return { tail: tailWith(rest, anthropicErrorEvent(streamFailed())), failure: { kind: 'stream_error' as const, detail: scanner.upstreamError } };
    }
    if (!scanner.sawStop) {
      // vLLM stopped mid-answer (vllm.md 1.1 SIGTERM): never a clean-looking end. A partial last event is
      // dropped, so the error event cannot merge into it.
      const event = anthropicErrorEvent(failureMidStream('stream_truncated', { idleMs: 0, requestMs: 0 }));
      return { tail: event, failure: { kind: 'stream_truncated' as const, detail: `upstream stream ended without message_stop${rest ? ' (partial last event dropped)' : ''}` } };
    }
    return { tail: rest };
  }

  fail(err: GatewayError): string {
    return anthropicErrorEvent(err);
  }
}

function tailWith(rest: Buffer | undefined, event: string): Buffer | string {
  return rest ? Buffer.concat([rest, Buffer.from(event)]) : event;
}

function streamFailed(): GatewayError {
  return new GatewayError(500, 'The model server failed while generating; the answer is incomplete.', { type: 'server_error', code: 'upstream_stream_error' });
}

/** Qwen's ChatML per message and for the reply header: the same counting as token-estimate.ts. */
const PER_MESSAGE_TOKENS = 4;
const REPLY_PRIMING_TOKENS = 3;

/**
 * Prompt tokens for the rate limiter, as token-estimate.ts counts chat: UTF-8 bytes / 4 of the text
 * blocks, plus what Claude Code's prompts are mostly made of (tool_result contents, tool_use inputs, tool
 * definitions). Images and documents are not counted.
 */
function estimateMessagesTokens(data: Shared): number {
  let tokens = REPLY_PRIMING_TOKENS;
  let bytes = 0;
  if (data.system != null) {
    tokens += PER_MESSAGE_TOKENS;
    bytes += contentBytes(data.system, 1);
  }
  for (const m of data.messages) {
    tokens += PER_MESSAGE_TOKENS;
    bytes += contentBytes(m.content, 1);
  }
  if (data.tools != null && data.tools.length > 0) bytes += JSON.stringify(data.tools).length;
  return tokens + Math.ceil(bytes / 4);
}

function contentBytes(value: unknown, depth: number): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (!Array.isArray(value)) return 0;
  let bytes = 0;
  for (const b of value as unknown[]) {
    if (typeof b !== 'object' || b === null) continue;
    const part = b as { type?: unknown; text?: unknown; thinking?: unknown; input?: unknown; content?: unknown };
    if (typeof part.text === 'string') bytes += Buffer.byteLength(part.text, 'utf8');
    if (typeof part.thinking === 'string') bytes += Buffer.byteLength(part.thinking, 'utf8');
    if (part.type === 'tool_use' && part.input !== undefined) bytes += JSON.stringify(part.input).length;
    // A tool_result holds a string or blocks of its own, one level down.
    if (part.type === 'tool_result' && depth > 0) bytes += contentBytes(part.content, depth - 1);
  }
  return bytes;
}

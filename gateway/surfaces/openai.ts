/**
 * @module surfaces/openai
 * OpenAI chat completions (`/v1/chat/completions`, `/chat`) and text completions (`/v1/completions`,
 * `/generate`): vLLM speaks these itself, so answers pass through byte for byte. Usage comes from a side
 * view of the bytes (sse-usage.ts, json-usage.ts); the usage-only chunk the gateway asked for is dropped
 * when the client did not ask for it.
 */
import { GatewayError, sseErrorEvent } from '../errors.js';
import { readCompletion } from '../proxy/json-usage.js';
import { SseUsageScanner } from '../proxy/sse-usage.js';
import { parseChatRequest, parseCompletionRequest, type ParsedRequest } from '../schemas/index.js';
import { failureMidStream } from '../upstream/failures.js';
import type { StreamReader, Surface, SurfaceContext, SurfaceRequest } from './surface.js';

/** The OpenAI error envelope, also inside streams (peers.md 3E). */
export const openAiErrors = {
  errorBody: (err: GatewayError): string => JSON.stringify(err.toJSON()),
};

export const chatSurface: Surface = {
  name: 'chat',
  upstreamPath: '/v1/chat/completions',
  ...openAiErrors,
  parse: (json, ctx) => passThrough(parseChatRequest(json, limitsOf(ctx))),
};

export const completionSurface: Surface = {
  name: 'completion',
  upstreamPath: '/v1/completions',
  ...openAiErrors,
  parse: (json, ctx) => passThrough(parseCompletionRequest(json, limitsOf(ctx))),
};

function limitsOf(ctx: SurfaceContext) {
  return { maxTokensLimit: ctx.maxTokensLimit, maxMessages: ctx.maxMessages };
}

function passThrough(parsed: ParsedRequest): SurfaceRequest {
  const user = parsed.body.user;
  return {
    body: parsed.body,
    model: parsed.model,
    stream: parsed.stream,
    maxTokens: parsed.maxTokens,
    promptTokensEstimate: parsed.promptTokensEstimate,
    session: typeof user === 'string' && user !== '' ? user : undefined,
    streamReader: () => new PassThroughReader(!parsed.clientWantsUsage),
    jsonAnswer: (body) => ({ body, read: () => readCompletion(body) }),
  };
}

/** vLLM's SSE bytes as they came, minus the usage chunk the client did not ask for. */
class PassThroughReader implements StreamReader {
  readonly #scanner: SseUsageScanner;

  constructor(dropUsageChunk: boolean) {
    this.#scanner = new SseUsageScanner(dropUsageChunk);
  }

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
      // vLLM already wrote its own error event and [DONE] (vllm.md 4): passed through as it came.
      return { tail: rest, failure: { kind: 'stream_error' as const, detail: scanner.upstreamError } };
    }
    if (!scanner.sawDone) {
      // Ended without [DONE]: vLLM was stopped mid-answer (vllm.md 1.1 SIGTERM). Never a clean-looking end.
      const event = sseErrorEvent(failureMidStream('stream_truncated', { idleMs: 0, requestMs: 0 }));
      return { tail: rest ? Buffer.concat([rest, Buffer.from(event)]) : event, failure: { kind: 'stream_truncated' as const, detail: 'upstream stream ended without [DONE]' } };
    }
    return { tail: rest };
  }

  fail(err: GatewayError): string {
    return sseErrorEvent(err);
  }
}

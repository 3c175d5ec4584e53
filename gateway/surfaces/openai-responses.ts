/**
 * @module surfaces/openai-responses
 * The OpenAI Responses API (`POST /v1/responses`) as a surface over vLLM's chat completions (issue 12):
 * the request is translated to a chat body (surfaces/responses/request.ts, resolving stored history),
 * the answer is rebuilt as a Response (non-streaming) or as the typed event stream (one delta event per
 * upstream chunk, no batching), and the Response is stored for `previous_response_id`, conversations
 * and `GET /v1/responses/{id}`. Admission, limits, routing, failover, metrics and logs are the pipeline's.
 */
import { GatewayError } from '../errors.js';
import type { ServedModel } from '../upstream/readiness.js';
import type { StateStore } from '../state/store.js';
import { openAiErrors } from './openai.js';
import { persistResponse, prepareResponsesRequest, responseFromChatCompletion, ResponsesStreamTranslator, stateError, type PreparedResponses } from './responses/index.js';
import type { StreamReader, Surface, SurfaceRequest } from './surface.js';

export interface ResponsesSurfaceOptions {
  store: StateStore;
  /** The model a request without `model` gets, and each model's context length (for truncation "auto"). */
  models: () => { default: ServedModel | undefined; find(name: string): ServedModel | undefined };
  /** A stored answer could not be saved after the client had it (a stream): logged, ids only. */
  onStoreError: (err: unknown, responseId: string) => void;
}

export function responsesSurface(opts: ResponsesSurfaceOptions): Surface {
  return {
    name: 'responses',
    upstreamPath: '/v1/chat/completions',
    ...openAiErrors,
    async parse(json, ctx): Promise<SurfaceRequest> {
      const models = opts.models();
      const requested = typeof (json as { model?: unknown } | null)?.model === 'string' ? ((json as { model: string }).model) : undefined;
      const info = (requested !== undefined ? models.find(requested) : undefined) ?? models.default;
      let prepared: PreparedResponses;
      try {
        prepared = await prepareResponsesRequest(json, {
          store: opts.store,
          owner: ctx.owner,
          defaultModel: info?.id ?? requested ?? 'default',
          contextLength: info?.maxModelLen,
          maxTokensLimit: ctx.maxTokensLimit,
        });
      } catch (err) {
        throw err instanceof GatewayError ? err : stateError(err);
      }
      const chat = prepared.chat;
      const user = chat.body.user;
      let translator: ResponsesStreamTranslator | undefined;
      return {
        body: chat.body,
        model: chat.model,
        stream: chat.stream,
        maxTokens: chat.maxTokens,
        promptTokensEstimate: chat.promptTokensEstimate,
        session: prepared.conversationId ?? (typeof user === 'string' && user !== '' ? user : undefined),
        streamReader: () => new TranslatingReader((translator = new ResponsesStreamTranslator({ ...prepared.shell, model: String(chat.body.model ?? prepared.shell.model) }))),
        async jsonAnswer(body) {
          const response = responseFromChatCompletion({ ...prepared.shell, model: String(chat.body.model ?? prepared.shell.model) }, JSON.parse(body.toString('utf8')) as Record<string, unknown>);
          // Stored before answering, so a full or unreachable store reaches the client (507 / 503).
          await persistResponse(prepared, response, opts.store, ctx.owner).catch((err: unknown) => {
            throw stateError(err);
          });
          const usage = response.usage;
          return {
            body: JSON.stringify(response),
            read: () => ({
              usage: usage ? { prompt_tokens: usage.input_tokens, completion_tokens: usage.output_tokens, total_tokens: usage.total_tokens } : undefined,
              finishReason: response.status === 'incomplete' ? 'length' : 'stop',
            }),
          };
        },
        async finish() {
          if (!translator || !translator.ended) return;
          await persistResponse(prepared, translator.response, opts.store, ctx.owner).catch((err: unknown) => opts.onStoreError(err, translator!.response.id));
        },
      };
    },
  };
}

/** vLLM's chat SSE in, the Responses event stream out (response.created first, response.completed/failed last). */
class TranslatingReader implements StreamReader {
  readonly #t: ResponsesStreamTranslator;

  constructor(t: ResponsesStreamTranslator) {
    this.#t = t;
  }

  get usage() {
    return this.#t.usage;
  }
  get finishReason() {
    return this.#t.finishReason;
  }
  get atEventBoundary() {
    // Every string the translator returns is whole events.
    return true;
  }

  open(): string {
    return this.#t.start();
  }

  push(chunk: Buffer): string {
    return this.#t.push(chunk);
  }

  end() {
    const tail = this.#t.end();
    if (this.#t.completed) return { tail };
    return { tail, failure: { kind: 'stream_truncated' as const, detail: 'upstream stream ended without a complete answer' } };
  }

  fail(err: GatewayError): string {
    return this.#t.fail({ code: err.code ?? 'server_error', message: err.message });
  }
}

/**
 * @module surfaces/responses/stream
 * Translates vLLM's chat-completions SSE (vllm.md 4: `data: <json>\n\n`, a usage chunk, `data: [DONE]`,
 * in-stream `data: {"error":…}`) into the Responses API's event stream, as the SDK's
 * ResponseStreamEvent types define it: `event: <type>\ndata: <json>\n\n`, a `sequence_number` from 0 on
 * every event, and no `[DONE]`.
 *
 * Order: response.created, response.in_progress; per text run output_item.added (message),
 * content_part.added, output_text.delta…, output_text.done, content_part.done, output_item.done; per
 * tool call output_item.added (function_call), function_call_arguments.delta…, …arguments.done,
 * output_item.done; then response.completed, or response.incomplete when vLLM stopped at max_tokens.
 * Each upstream delta is one event, written as soon as it arrives (no batching).
 *
 * A stream that vLLM cuts (an error event, a malformed event, end of body without [DONE]) or that the
 * gateway fails (fail()) ends with response.failed and then the flat `error` event
 * (SDK ResponseErrorEvent) — never response.completed. The failed event comes first: the SDKs throw on
 * `error`, and a client iterating events should have the failed Response (and its partial output) first.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Usage } from '../../proxy/sse-usage.js';
import { failResponse, finishResponse, functionCallItem, messageItem, usageFromChat } from './response.js';
import type { FunctionCallItem, OutputItem, OutputMessage, ResponseObject } from './types.js';

export interface StreamFailure {
  code: string;
  message: string;
}

interface OpenCall {
  item: FunctionCallItem;
  outputIndex: number;
}

interface ChatChunk {
  choices?: Array<{
    delta?: { content?: unknown; tool_calls?: Array<{ index?: unknown; id?: unknown; function?: { name?: unknown; arguments?: unknown } }> };
    finish_reason?: unknown;
  }>;
  usage?: Usage | null;
  error?: { message?: unknown } | string;
}

export class ResponsesStreamTranslator {
  #seq = 0;
  #started = false;
  #ended = false;
  #completed = false;
  #pending = '';
  readonly #decoder = new StringDecoder('utf8');
  readonly #output: OutputItem[] = [];
  #message: { item: OutputMessage; outputIndex: number } | undefined;
  readonly #calls = new Map<number, OpenCall>();
  #usage: Usage | undefined;
  #finishReason: string | undefined;
  #response: ResponseObject;

  constructor(private readonly shell: ResponseObject) {
    this.#response = shell;
  }

  /** vLLM's usage (chat shape), once the usage chunk arrived. */
  get usage(): Usage | undefined {
    return this.#usage;
  }
  get finishReason(): string | undefined {
    return this.#finishReason;
  }
  /** The Response as last sent: the shell until the end, then completed, incomplete or failed. */
  get response(): ResponseObject {
    return this.#response;
  }
  /** True once response.completed or response.incomplete was sent. */
  get completed(): boolean {
    return this.#completed;
  }
  get ended(): boolean {
    return this.#ended;
  }

  #event(type: string, fields: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: this.#seq++ })}\n\n`;
  }

  /** response.created and response.in_progress; also sent by the first push/end/fail if not yet. */
  start(): string {
    if (this.#started) return '';
    this.#started = true;
    return this.#event('response.created', { response: this.shell }) + this.#event('response.in_progress', { response: this.shell });
  }

  /** vLLM's SSE bytes, split anywhere; returns the Responses events to write (possibly ''). */
  push(chunk: Buffer): string {
    let out = this.start();
    if (this.#ended) return out;
    this.#pending += this.#decoder.write(chunk);
    let nl: number;
    while (!this.#ended && (nl = this.#pending.indexOf('\n')) >= 0) {
      const line = this.#pending.slice(0, nl).replace(/\r$/, '');
      this.#pending = this.#pending.slice(nl + 1);
      if (line.startsWith('data:')) out += this.#data(line.slice(5).trimStart());
    }
    return out;
  }

  /** vLLM's body ended. After [DONE] this is '' (already closed); without it the stream failed. */
  end(): string {
    const out = this.start();
    if (this.#ended) return out;
    // vLLM ends every event with a blank line (vllm.md 4): bytes left over are half an event, a cut.
    this.#pending = '';
    return out + this.fail({ code: 'upstream_stream_cut', message: 'The model server ended the stream before it was complete.' });
  }

  /** The exchange failed mid-stream (reset, timeout, shutdown): response.failed, then the error event. */
  fail(reason: StreamFailure): string {
    let out = this.start();
    if (this.#ended) return out;
    this.#ended = true;
    for (const item of this.#output) item.status = item.status === 'in_progress' ? 'incomplete' : item.status;
    this.#response = failResponse(this.shell, this.#output, reason.message, this.#usage ? usageFromChat(this.#usage) : undefined);
    out += this.#event('response.failed', { response: this.#response });
    return out + this.#event('error', { code: reason.code, message: reason.message, param: null });
  }

  #data(data: string): string {
    if (data === '[DONE]') return this.#done();
    let chunk: ChatChunk;
    try {
      chunk = JSON.parse(data) as ChatChunk;
    } catch {
      return this.fail({ code: 'upstream_malformed_event', message: 'The model server sent an event that is not valid JSON.' });
    }
    if (chunk.error !== undefined) {
      const message = typeof chunk.error === 'object' && typeof chunk.error.message === 'string' && chunk.error.message ? chunk.error.message : 'The model server failed while generating.';
      return this.fail({ code: 'upstream_error', message });
    }
    if (chunk.usage) this.#usage = chunk.usage;
    const choice = chunk.choices?.[0];
    if (!choice) return '';
    let out = '';
    const content = choice.delta?.content;
    if (typeof content === 'string' && content.length > 0) out += this.#text(content);
    for (const call of choice.delta?.tool_calls ?? []) out += this.#toolCall(call);
    if (typeof choice.finish_reason === 'string') {
      this.#finishReason = choice.finish_reason;
      out += this.#closeAll(choice.finish_reason === 'length' ? 'incomplete' : 'completed');
    }
    return out;
  }

  #text(delta: string): string {
    let out = '';
    if (!this.#message) out += this.#closeCalls('completed') + this.#openMessage();
    const m = this.#message!;
    m.item.content[0]!.text += delta;
    return out + this.#event('response.output_text.delta', { item_id: m.item.id, output_index: m.outputIndex, content_index: 0, delta, logprobs: [] });
  }

  #openMessage(): string {
    const item = messageItem('', 'in_progress');
    const outputIndex = this.#output.push(item) - 1;
    this.#message = { item, outputIndex };
    return (
      this.#event('response.output_item.added', { output_index: outputIndex, item: { ...item, content: [] } }) +
      this.#event('response.content_part.added', { item_id: item.id, output_index: outputIndex, content_index: 0, part: item.content[0] })
    );
  }

  #closeMessage(status: OutputMessage['status']): string {
    const m = this.#message;
    if (!m) return '';
    this.#message = undefined;
    m.item.status = status;
    const part = m.item.content[0]!;
    const ids = { item_id: m.item.id, output_index: m.outputIndex, content_index: 0 };
    return (
      this.#event('response.output_text.done', { ...ids, text: part.text, logprobs: [] }) +
      this.#event('response.content_part.done', { ...ids, part }) +
      this.#event('response.output_item.done', { output_index: m.outputIndex, item: m.item })
    );
  }

  #toolCall(delta: NonNullable<NonNullable<NonNullable<ChatChunk['choices']>[number]['delta']>['tool_calls']>[number]): string {
    const index = typeof delta.index === 'number' ? delta.index : 0;
    let out = '';
    let call = this.#calls.get(index);
    if (!call) {
      // vLLM streams calls one after another: a new index closes the text and the calls before it.
      out += this.#closeMessage('completed') + this.#closeCalls('completed');
      const name = typeof delta.function?.name === 'string' ? delta.function.name : '';
      const item = functionCallItem(typeof delta.id === 'string' ? delta.id : `call_${index}`, name, '', 'in_progress');
      call = { item, outputIndex: this.#output.push(item) - 1 };
      this.#calls.set(index, call);
      out += this.#event('response.output_item.added', { output_index: call.outputIndex, item: { ...item } });
    }
    const args = delta.function?.arguments;
    if (typeof args === 'string' && args.length > 0 && call.item.status === 'in_progress') {
      call.item.arguments += args;
      out += this.#event('response.function_call_arguments.delta', { item_id: call.item.id, output_index: call.outputIndex, delta: args });
    }
    return out;
  }

  #closeCalls(status: FunctionCallItem['status']): string {
    let out = '';
    for (const call of this.#calls.values()) {
      if (call.item.status !== 'in_progress') continue;
      call.item.status = status;
      out +=
        this.#event('response.function_call_arguments.done', { item_id: call.item.id, output_index: call.outputIndex, arguments: call.item.arguments }) +
        this.#event('response.output_item.done', { output_index: call.outputIndex, item: call.item });
    }
    return out;
  }

  #closeAll(status: 'completed' | 'incomplete'): string {
    // An answer with neither text nor calls is one empty message, as in the non-streaming answer.
    const empty = this.#output.length === 0 ? this.#openMessage() : '';
    return empty + this.#closeMessage(status) + this.#closeCalls(status);
  }

  #done(): string {
    if (this.#finishReason === undefined) {
      return this.fail({ code: 'upstream_stream_cut', message: 'The model server ended the stream without a finish reason.' });
    }
    this.#ended = true;
    this.#completed = true;
    this.#response = finishResponse(this.shell, this.#output, this.#finishReason, usageFromChat(this.#usage));
    return this.#event(this.#response.status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: this.#response });
  }
}

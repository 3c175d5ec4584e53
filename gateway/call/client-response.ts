/**
 * @module call/client-response
 * The one writer of an answer that the gateway writes straight to Node's response (every inference
 * answer: JSON, SSE streams, in-stream errors, errors written after the exchange began). It decides the
 * headers: x-request-id, server-timing, the call's rate-limit and fallback headers, CORS. Answers that
 * Hono builds (401, 404, health) get the same headers from `callHeaders` in `observe`, so no route and no
 * error path can miss one.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { GatewayError } from '../errors.js';
import type { Call } from './call.js';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

/** How a surface writes an error answer (OpenAI envelope, Anthropic's `{"type":"error",...}`, ...). */
export interface ErrorShape {
  /** The JSON body of an error answer. In-stream errors are the stream reader's (`StreamReader.fail`). */
  errorBody(err: GatewayError): string;
}

/** Headers every answer to the call carries, whoever writes it. */
export function callHeaders(call: Call): Record<string, string> {
  return { 'x-request-id': call.id, ...call.cors, ...call.headers };
}

export class ClientResponse {
  readonly res: ServerResponse;
  readonly #call: Call;
  readonly #shape: ErrorShape;

  constructor(res: ServerResponse, call: Call, shape: ErrorShape) {
    this.res = res;
    this.#call = call;
    this.#shape = shape;
  }

  /** True once the status line is out: later failures can only be in-stream events. */
  get started(): boolean {
    return this.res.headersSent;
  }

  /** The client is gone or the answer is over. */
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  json(status: number, body: string | Buffer, upstreamMs?: number, extra?: OutgoingHttpHeaders): void {
    if (this.res.headersSent || this.res.destroyed) return;
    this.#call.status = status;
    this.res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': String(typeof body === 'string' ? Buffer.byteLength(body) : body.length),
      ...callHeaders(this.#call),
      'server-timing': this.#call.serverTiming(upstreamMs),
      ...extra,
    });
    this.res.end(body);
  }

  /** An error answer in the surface's shape (nothing when the answer already began or the client left). */
  error(err: GatewayError): void {
    this.json(err.status, this.#shape.errorBody(err), undefined, err.headers);
  }

  /** Sends a stream's status and headers at once: the client learns it was accepted before the first token. */
  openStream(): void {
    this.#call.status = 200;
    this.res.writeHead(200, { ...SSE_HEADERS, ...callHeaders(this.#call), 'server-timing': this.#call.serverTiming() });
    this.res.flushHeaders();
  }

  /** Writes stream bytes; false when the client's socket is full (wait for 'drain'). */
  write(bytes: Buffer | string): boolean {
    return this.res.write(bytes);
  }

  /** Ends a stream with its closing error event (never a clean-looking end). */
  failStream(event: string): void {
    if (!this.res.destroyed && !this.res.writableEnded) this.res.write(event);
    this.res.end();
  }

  end(tail?: Buffer | string): void {
    if (tail) this.res.end(tail);
    else this.res.end();
  }
}

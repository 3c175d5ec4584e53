/**
 * @module call/call
 * One request, from the first byte read to the last byte written: its id, its clock marks, the ONE
 * AbortController that the client's disconnect, the total timeout and shutdown feed, the headers every
 * answer to it carries, and what it did. Stages write what they learn here; `observe` turns it into
 * exactly one log line and one set of metric updates when the request ends.
 */
import type { Usage } from '../proxy/sse-usage.js';
import type { FailureKind } from '../upstream/failures.js';
import type { RejectionReason } from '../observability/metrics.js';

export type AbortPhase = 'waiting' | 'queued' | 'upstream';

export class Call {
  readonly id: string;
  /** performance.now() when the request line was read. */
  readonly startedAt: number;
  /** Every way the request can end early aborts this: ClientGone, TotalTimeout, ShutdownAbort. */
  readonly #controller = new AbortController();
  /** CORS grant for the request's Origin (empty when none or not allowed); decided once, when the call begins. */
  readonly cors: Readonly<Record<string, string>>;
  /** Headers every answer carries beyond id, timing and CORS: rate-limit headers, x-gateway-fallback. */
  readonly headers: Record<string, string> = {};

  route = 'unmatched';
  /** The API surface (chat, completion, responses, messages) when the request is an inference call. */
  surface: string | undefined;
  key = '-';
  model: string | undefined;
  stream = false;
  /** Status the client got; 0 until known. */
  status = 0;
  ttftMs: number | undefined;
  usage: Usage | undefined;
  finishReason: string | undefined;
  clientAborted = false;
  abortPhase: AbortPhase | undefined;
  upstreamFailure: FailureKind | undefined;
  upstreamDetail: string | undefined;
  rejection: RejectionReason | undefined;
  /** Name of the backend that answered (the last one tried). */
  backend: string | undefined;
  /** Attempts sent to another backend after a failure before the first byte. */
  failovers = 0;
  /** `<from>-><to>` when a fallback model served the request. */
  fallback: string | undefined;
  /** ms spent waiting for readiness and in the admission queue: not the gateway's own cost. */
  waitedMs = 0;
  queueMs: number | undefined;
  overheadMs: number | undefined;

  constructor(id: string, startedAt: number, cors: Readonly<Record<string, string>>) {
    this.id = id;
    this.startedAt = startedAt;
    this.cors = cors;
  }

  get inference(): boolean {
    return this.surface !== undefined;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Ends the call early; the first reason wins. Safe to call at any time. */
  abort(reason: Error): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  /** Adds headers that every later answer to this call carries (rate limits, fallback). */
  addHeaders(headers: Record<string, string>): void {
    Object.assign(this.headers, headers);
  }

  /** `server-timing`: the gateway's own time before dispatch, the queue wait, and vLLM's time when known. */
  serverTiming(upstreamMs?: number): string {
    const gw = this.overheadMs ?? performance.now() - this.startedAt - this.waitedMs;
    let value = `gw;dur=${gw.toFixed(2)}`;
    if (this.queueMs) value += `, queue;dur=${this.queueMs.toFixed(2)}`;
    if (upstreamMs !== undefined) value += `, upstream;dur=${upstreamMs.toFixed(2)}`;
    return value;
  }
}

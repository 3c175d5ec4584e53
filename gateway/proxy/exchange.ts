/**
 * @module proxy/exchange
 * One attempt of an inference call against one backend, from dispatch to the last byte written to the
 * client. vLLM's bytes go from undici's dispatch callbacks through the surface's stream reader to Node's
 * response: no web streams, no re-chunking, no timer or closure per chunk. Backpressure is real: when the
 * client's socket is full we pause the upstream read, so a slow reader never makes us buffer the answer.
 *
 * Every way the attempt can end meets in `#finish`: the call's AbortSignal (client gone, total timeout,
 * shutdown), undici's connect / first-byte / idle timeouts, vLLM's end or error. An attempt that fails
 * before anything was written to the client reports `responded: false`, so the pipeline may send it to
 * another backend or write the error itself.
 */
import type { Dispatcher, Pool } from 'undici';
import type { ClientResponse } from '../call/client-response.js';
import { GatewayError } from '../errors.js';
import type { JsonAnswer, StreamReader, SurfaceRequest } from '../surfaces/surface.js';
import { upstreamHeaders } from '../upstream/pool.js';
import { ClientGone, ShutdownAbort, TotalTimeout, failureBeforeResponse, failureMidStream, fromUpstreamError, kindOf, shuttingDown, type FailureKind } from '../upstream/failures.js';
import { PING, type KeepaliveStream, type SseKeepalive } from './sse-keepalive.js';
import type { Usage } from './sse-usage.js';

export interface ExchangeInput {
  pool: Pool;
  apiKey: string | undefined;
  /** Host header for a backend dialled by address (DNS discovery of an https name). */
  hostHeader?: string | undefined;
  path: string;
  /** The JSON text sent to vLLM. */
  body: string;
  request: SurfaceRequest;
  requestId: string;
  timeouts: { firstByteMs: number; idleMs: number; requestMs: number };
  /** Time budget left of REQUEST_TIMEOUT_MS (queueing and earlier attempts spent the rest). */
  remainingMs: number;
  out: ClientResponse;
  /** The call's signal: client gone, total timeout, shutdown. */
  signal: AbortSignal;
  keepalive?: SseKeepalive | undefined;
}

export interface ExchangeOutcome {
  /** The attempt wrote (or started) the client's answer. When false, `error` is for the caller to send. */
  responded: boolean;
  status: number;
  /** vLLM's own HTTP status, when it answered. */
  upstreamStatus?: number;
  error?: GatewayError;
  failureKind?: FailureKind;
  /** What vLLM or undici said, for our logs only. */
  upstreamDetail?: string;
  usage?: Usage;
  finishReason?: string;
  /** ms from dispatch to vLLM's first body byte. */
  firstByteMs?: number;
  /** ms from dispatch to the end of vLLM's answer. */
  upstreamMs: number;
  clientAborted: boolean;
}

const MAX_ERROR_BODY = 64 * 1024;

export class Exchange implements Dispatcher.DispatchHandler, KeepaliveStream {
  readonly #in: ExchangeInput;
  #controller: Dispatcher.DispatchController | undefined;
  #abortReason: Error | undefined;
  #status = 0;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #reader: StreamReader | undefined;
  #dispatchedAt = 0;
  #firstByteAt = 0;
  #timer: NodeJS.Timeout | undefined;
  /** ms the keep-alive ticker has seen this stream write nothing to the client. */
  #silentMs = 0;
  #done = false;
  /** The client left after a non-streaming answer's headers arrived: read the rest, answer no one. */
  #clientLeft = false;
  #resolve!: (o: ExchangeOutcome) => void;
  readonly outcome: Promise<ExchangeOutcome>;

  constructor(input: ExchangeInput) {
    this.#in = input;
    this.outcome = new Promise((resolve) => (this.#resolve = resolve));
  }

  start(): this {
    const { pool, path, body, request, requestId, apiKey, hostHeader, timeouts, remainingMs, signal } = this.#in;
    const headers = upstreamHeaders(apiKey, requestId, Buffer.byteLength(body));
    if (hostHeader) headers.host = hostHeader;
    this.#dispatchedAt = performance.now();
    this.#timer = setTimeout(this.#onTotalTimeout, Math.max(1, remainingMs));
    if (signal.aborted) this.#abortReason = signal.reason as Error;
    else signal.addEventListener('abort', this.#onAbort, { once: true });
    pool.dispatch(
      {
        path,
        method: 'POST',
        headers,
        body,
        // vLLM sends a stream's headers before the first token, but a non-streaming answer's headers only
        // when generation is over (vllm.md 4): the first-byte limit applies to streams, the total to both.
        headersTimeout: request.stream ? Math.min(timeouts.firstByteMs, remainingMs) : remainingMs,
        bodyTimeout: timeouts.idleMs,
      },
      this,
    );
    return this;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason) controller.abort(this.#abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
    if (statusCode === 200 && this.#in.request.stream) {
      this.#reader = this.#in.request.streamReader();
      this.#in.out.openStream();
      const head = this.#reader.open?.();
      if (head) this.#in.out.write(head);
      this.#in.keepalive?.add(this);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#firstByteAt === 0) this.#firstByteAt = performance.now();
    const reader = this.#reader;
    if (reader) {
      const out = reader.push(chunk);
      if (out && out.length > 0) {
        this.#silentMs = 0;
        if (!this.#in.out.write(out)) {
          controller.pause();
          this.#in.out.res.once('drain', this.#onDrain);
        }
      }
      return;
    }
    if (this.#status !== 200 && this.#bytes + chunk.length > MAX_ERROR_BODY) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  onResponseEnd(): void {
    const { out } = this.#in;
    const reader = this.#reader;
    if (reader) {
      const { tail, failure } = reader.end();
      out.end(tail);
      this.#finish({ responded: true, status: 200, upstreamStatus: 200, failureKind: failure?.kind, upstreamDetail: failure?.detail, usage: reader.usage, finishReason: reader.finishReason });
      return;
    }
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    if (this.#status === 200) {
      let answer: JsonAnswer | Promise<JsonAnswer>;
      try {
        answer = this.#in.request.jsonAnswer(body);
      } catch (err) {
        answer = Promise.reject(err);
      }
      if (answer instanceof Promise) answer.then(this.#sendJson, this.#jsonFailed);
      else this.#sendJson(answer);
      return;
    }
    const { error, upstreamMessage } = fromUpstreamError(this.#status, body.toString('utf8'));
    this.#finish({
      clientAborted: this.#clientLeft,
      responded: false,
      status: error.status,
      upstreamStatus: this.#status,
      error,
      failureKind: this.#status >= 500 ? 'http_5xx' : 'http_4xx',
      upstreamDetail: `HTTP ${this.#status}: ${upstreamMessage}`,
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const reason = this.#abortReason;
    const clientAborted = reason instanceof ClientGone;
    const kind = reason instanceof TotalTimeout ? 'total_timeout' : kindOf(reason ?? err);
    const detail = `${(err as { code?: string }).code ?? err.name}: ${err.message}`;
    const { out } = this.#in;
    const reader = this.#reader;
    if (reader) {
      if (clientAborted || out.closed) out.end();
      else out.failStream(reader.fail(reason instanceof ShutdownAbort ? shuttingDown() : failureMidStream(kind, this.#in.timeouts)));
      // Usage of a stream that died early is unknown, not zero (issue 2, peers.md 3B).
      // The usage chunk may already have been read (a client that left at the very end): it counts.
      this.#finish({ responded: true, status: 200, upstreamStatus: this.#status || undefined, failureKind: clientAborted ? undefined : kind, upstreamDetail: detail, clientAborted, usage: reader.usage, finishReason: reader.finishReason });
      return;
    }
    const error = reason instanceof ShutdownAbort ? shuttingDown() : failureBeforeResponse(kind, this.#in.timeouts);
    this.#finish({ responded: false, status: error.status, error, failureKind: clientAborted ? undefined : kind, upstreamDetail: detail, clientAborted });
  }

  /**
   * A `: ping` after SSE_KEEPALIVE_MS of silence, only between whole events and only when the client is
   * keeping up (a paused stream has bytes waiting already).
   */
  keepaliveTick(tickMs: number, everyMs: number): void {
    // The first tick after a write may come at once, so the count runs up to one tick ahead of the real
    // silence: a ping needs strictly more than SSE_KEEPALIVE_MS counted.
    this.#silentMs += tickMs;
    if (this.#silentMs <= everyMs) return;
    const { res } = this.#in.out;
    // Registered only while a 200 stream is open (onResponseStart to #finish), so the reader exists.
    if (res.destroyed || res.writableNeedDrain || !this.#reader?.atEventBoundary) return;
    res.write(PING);
    this.#silentMs = 0;
  }

  readonly #sendJson = (answer: JsonAnswer): void => {
    this.#in.out.json(200, answer.body, performance.now() - this.#dispatchedAt);
    // Usage is for our books: read it once the client has its answer, off the latency path.
    const { usage, finishReason } = answer.read();
    this.#finish({ responded: true, status: 200, upstreamStatus: 200, usage, finishReason, clientAborted: this.#clientLeft });
  };

  /** vLLM answered but the surface could not build or store the answer: its error goes to the client. */
  readonly #jsonFailed = (err: unknown): void => {
    const error = err instanceof GatewayError ? err : new GatewayError(502, 'The model server sent an answer the gateway could not read.', { type: 'upstream_error', code: 'upstream_invalid_answer' });
    this.#finish({ responded: false, status: error.status, upstreamStatus: 200, error, failureKind: err instanceof GatewayError ? undefined : 'other', upstreamDetail: err instanceof Error ? err.message : String(err) });
  };

  readonly #onDrain = (): void => {
    this.#controller?.resume();
  };

  readonly #onAbort = (): void => {
    this.#abort(this.#in.signal.reason as Error);
  };

  readonly #onTotalTimeout = (): void => {
    this.#abort(new TotalTimeout('REQUEST_TIMEOUT_MS elapsed'));
  };

  #abort(reason: Error): void {
    if (this.#done) return;
    // vLLM sends a non-streaming answer's headers only when generation is over (vllm.md 4): once they are
    // here, the GPU work is done and the body is on its way. A client leaving now costs nothing upstream,
    // so the body is read to the end and its usage counted (the tokens were generated), not dropped.
    if (reason instanceof ClientGone && !this.#in.request.stream && this.#status !== 0) {
      this.#clientLeft = true;
      return;
    }
    this.#abortReason ??= reason;
    this.#controller?.abort(reason);
  }

  #finish(o: Omit<ExchangeOutcome, 'upstreamMs' | 'firstByteMs' | 'clientAborted'> & { clientAborted?: boolean }): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#in.keepalive?.delete(this);
    this.#in.signal.removeEventListener('abort', this.#onAbort);
    this.#in.out.res.off('drain', this.#onDrain);
    const now = performance.now();
    this.#resolve({
      ...o,
      clientAborted: o.clientAborted ?? false,
      upstreamMs: now - this.#dispatchedAt,
      firstByteMs: this.#firstByteAt ? this.#firstByteAt - this.#dispatchedAt : undefined,
    });
  }
}

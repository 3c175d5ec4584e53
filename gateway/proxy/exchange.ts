/**
 * @module proxy/exchange
 * One inference call to vLLM, from dispatch to the last byte written to the client. vLLM's bytes go
 * straight from undici's dispatch callbacks to Node's ServerResponse: no web streams, no re-chunking,
 * no timer or closure per chunk. Backpressure is real: when the client's socket is full we pause the
 * upstream read, so a slow reader never makes us buffer the whole answer.
 *
 * Each exchange has one owner for every way it can end: the client going away, the total-timeout
 * timer, shutdown, and undici's own connect / first-byte / idle timeouts all end in `#finish`.
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import { GatewayError, sseErrorEvent } from '../errors.js';
import { upstreamHeaders } from '../upstream/pool.js';
import { ClientGone, ShutdownAbort, TotalTimeout, failureBeforeResponse, failureMidStream, fromUpstreamError, kindOf, type FailureKind } from '../upstream/failures.js';
import { PING, type KeepaliveStream, type SseKeepalive } from './sse-keepalive.js';
import { SseUsageScanner, toUsage, type Usage } from './sse-usage.js';

export interface ExchangeInput {
  pool: Pool;
  path: string;
  body: string;
  stream: boolean;
  /** The client did not ask for usage: drop the usage-only chunk we asked vLLM for. */
  dropUsageChunk: boolean;
  requestId: string;
  apiKey: string | undefined;
  timeouts: { firstByteMs: number; idleMs: number; requestMs: number };
  /** Time budget left of REQUEST_TIMEOUT_MS (queueing and retries spend it). */
  remainingMs: number;
  res: ServerResponse;
  /** Headers every answer carries (x-request-id, rate-limit headers). */
  headers: Record<string, string>;
  /** `server-timing` value describing the gateway's time before dispatch. */
  serverTiming: () => string;
  /** SSE keep-alive ticker (SSE_KEEPALIVE_MS); undefined when off. */
  keepalive?: SseKeepalive | undefined;
}

export interface ExchangeOutcome {
  /** The exchange wrote (or started) the client's response. When false, `error` is for the caller to send. */
  responded: boolean;
  status: number;
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

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
} as const;

const MAX_ERROR_BODY = 64 * 1024;

export class Exchange implements Dispatcher.DispatchHandler, KeepaliveStream {
  readonly #in: ExchangeInput;
  #controller: Dispatcher.DispatchController | undefined;
  #abortReason: Error | undefined;
  #status = 0;
  #headersSent = false;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #scanner: SseUsageScanner | undefined;
  #dispatchedAt = 0;
  #firstByteAt = 0;
  #timer: NodeJS.Timeout | undefined;
  /** ms the keep-alive ticker has seen this stream write nothing to the client. */
  #silentMs = 0;
  #done = false;
  #resolve!: (o: ExchangeOutcome) => void;
  readonly outcome: Promise<ExchangeOutcome>;

  constructor(input: ExchangeInput) {
    this.#in = input;
    this.outcome = new Promise((resolve) => (this.#resolve = resolve));
  }

  start(): this {
    const { pool, path, body, stream, requestId, apiKey, timeouts, res, remainingMs } = this.#in;
    this.#dispatchedAt = performance.now();
    this.#timer = setTimeout(this.#onTotalTimeout, Math.max(1, remainingMs));
    res.on('close', this.#onClientClose);
    pool.dispatch(
      {
        path,
        method: 'POST',
        headers: upstreamHeaders(apiKey, requestId, Buffer.byteLength(body)),
        body,
        // vLLM sends a stream's headers before the first token, but a non-streaming answer's headers only
        // when generation is over (vllm.md 4): the first-byte limit applies to streams, the total to both.
        headersTimeout: stream ? Math.min(timeouts.firstByteMs, remainingMs) : remainingMs,
        bodyTimeout: timeouts.idleMs,
      },
      this,
    );
    return this;
  }

  /** Ends the exchange early (client gone, shutdown). Safe to call at any time, any number of times. */
  abort(reason: Error): void {
    if (this.#done) return;
    this.#abortReason ??= reason;
    this.#controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortReason) controller.abort(this.#abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#status = statusCode;
    if (statusCode === 200 && this.#in.stream) {
      this.#scanner = new SseUsageScanner(this.#in.dropUsageChunk);
      const { res } = this.#in;
      res.writeHead(200, { ...SSE_HEADERS, ...this.#in.headers, 'server-timing': this.#in.serverTiming() });
      // Send the headers now: the client learns the request was accepted before the first token.
      res.flushHeaders();
      this.#headersSent = true;
      this.#in.keepalive?.add(this);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#firstByteAt === 0) this.#firstByteAt = performance.now();
    const scanner = this.#scanner;
    if (scanner) {
      const out = scanner.push(chunk);
      if (out && out.length > 0) {
        this.#silentMs = 0;
        if (!this.#in.res.write(out)) {
          controller.pause();
          this.#in.res.once('drain', this.#onDrain);
        }
      }
      return;
    }
    if (this.#status !== 200 && this.#bytes + chunk.length > MAX_ERROR_BODY) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  onResponseEnd(): void {
    const { res } = this.#in;
    const scanner = this.#scanner;
    if (scanner) {
      const rest = scanner.flush();
      if (rest) res.write(rest);
      let failureKind: FailureKind | undefined;
      let detail: string | undefined;
      if (scanner.upstreamError !== undefined) {
        // vLLM already wrote its own error event and [DONE] (vllm.md 4): passed through as it came.
        failureKind = 'stream_error';
        detail = scanner.upstreamError;
      } else if (!scanner.sawDone) {
        // Ended without [DONE]: vLLM was stopped mid-answer (vllm.md 1.1 SIGTERM). Never a clean-looking end.
        failureKind = 'stream_truncated';
        detail = 'upstream stream ended without [DONE]';
        res.write(sseErrorEvent(failureMidStream('stream_truncated', this.#in.timeouts)));
      }
      res.end();
      this.#finish({ responded: true, status: 200, failureKind, upstreamDetail: detail, usage: scanner.usage, finishReason: scanner.finishReason });
      return;
    }
    const body = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    if (this.#status === 200) {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': String(body.length),
        ...this.#in.headers,
        'server-timing': `${this.#in.serverTiming()}, upstream;dur=${(performance.now() - this.#dispatchedAt).toFixed(2)}`,
      });
      res.end(body);
      // Usage is for our books: read it once the client has its answer, off the latency path.
      const { usage, finishReason } = readCompletion(body);
      this.#finish({ responded: true, status: 200, usage, finishReason });
      return;
    }
    const { error, upstreamMessage } = fromUpstreamError(this.#status, body.toString('utf8'));
    this.#finish({
      responded: false,
      status: error.status,
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
    const { res } = this.#in;
    if (this.#headersSent) {
      if (!clientAborted && !res.destroyed) {
        res.write(sseErrorEvent(reason instanceof ShutdownAbort ? shutdownError() : failureMidStream(kind, this.#in.timeouts)));
      }
      res.end();
      const scanner = this.#scanner;
      // Usage of a stream that died early is unknown, not zero (issue 2, peers.md 3B).
      this.#finish({ responded: true, status: 200, failureKind: clientAborted ? undefined : kind, upstreamDetail: detail, clientAborted, finishReason: scanner?.finishReason });
      return;
    }
    const error = reason instanceof ShutdownAbort ? shutdownError() : failureBeforeResponse(kind, this.#in.timeouts);
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
    const { res } = this.#in;
    // Registered only while a 200 stream is open (onResponseStart to #finish), so the scanner exists.
    if (res.destroyed || res.writableNeedDrain || !this.#scanner?.atEventBoundary) return;
    res.write(PING);
    this.#silentMs = 0;
  }

  readonly #onDrain = (): void => {
    this.#controller?.resume();
  };

  readonly #onClientClose = (): void => {
    if (!this.#in.res.writableFinished) this.abort(new ClientGone('client closed the connection'));
  };

  readonly #onTotalTimeout = (): void => {
    this.abort(new TotalTimeout('REQUEST_TIMEOUT_MS elapsed'));
  };

  #finish(o: Omit<ExchangeOutcome, 'upstreamMs' | 'firstByteMs' | 'clientAborted'> & { clientAborted?: boolean }): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#in.keepalive?.delete(this);
    this.#in.res.off('close', this.#onClientClose);
    this.#in.res.off('drain', this.#onDrain);
    const now = performance.now();
    this.#resolve({
      ...o,
      clientAborted: o.clientAborted ?? false,
      upstreamMs: now - this.#dispatchedAt,
      firstByteMs: this.#firstByteAt ? this.#firstByteAt - this.#dispatchedAt : undefined,
    });
  }
}

function shutdownError(): GatewayError {
  return new GatewayError(503, 'The gateway is shutting down; retry shortly.', {
    type: 'server_error',
    code: 'shutting_down',
    headers: { 'retry-after': '5' },
  });
}

/**
 * Usage and finish reason of a non-streaming answer (vllm.md 3.1-3.3), read from the bytes without
 * parsing the whole body: `usage` is a small flat object near the end (`prompt_tokens_details` may nest
 * one level), so we parse just that slice. Unknown when it is not there or not JSON.
 */
function readCompletion(body: Buffer): { usage?: Usage; finishReason?: string } {
  let usage: Usage | undefined;
  const at = body.lastIndexOf(USAGE_KEY);
  if (at !== -1) {
    const start = at + USAGE_KEY.length - 1;
    let depth = 0;
    for (let i = start; i < body.length; i++) {
      const b = body[i];
      if (b === 0x7b) depth++;
      else if (b === 0x7d && --depth === 0) {
        try {
          usage = toUsage(JSON.parse(body.toString('utf8', start, i + 1)));
        } catch {
          usage = undefined;
        }
        break;
      }
    }
  }
  const fr = body.indexOf(FINISH_KEY);
  const frEnd = fr === -1 ? -1 : body.indexOf(0x22, fr + FINISH_KEY.length);
  return { usage, finishReason: frEnd === -1 ? undefined : body.toString('latin1', fr + FINISH_KEY.length, frEnd) };
}

const USAGE_KEY = Buffer.from('"usage":{');
const FINISH_KEY = Buffer.from('"finish_reason":"');

/**
 * @module surfaces/surface
 * An API surface as one unit (Envoy AI Gateway's translator seam, STYLE.md): the paths it serves, how
 * its body is parsed and normalised, which vLLM route it uses, how usage and the finish reason are read
 * from vLLM's answer (or the answer rebuilt), and the shape of its errors. The pipeline is the same for
 * every surface: auth, limits, admission, routing, failover, metrics and logs come from there.
 *
 * A parsed request carries its own behaviour (`streamReader`, `jsonAnswer`, `finish`): a surface that
 * rebuilds answers (the Responses API) keeps its per-request state in that closure.
 */
import type { ErrorShape } from '../call/client-response.js';
import type { Usage } from '../proxy/sse-usage.js';
import type { FailureKind } from '../upstream/failures.js';
import type { GatewayError } from '../errors.js';

export interface SurfaceContext {
  /** MAX_TOKENS_LIMIT: a larger token limit is a 400 (rejected, not clamped). */
  maxTokensLimit?: number | undefined;
  maxMessages?: number | undefined;
  /** The API key's name: owner of any state the surface stores or reads. */
  owner: string;
}

export interface Surface extends ErrorShape {
  /** Metric and log label. */
  readonly name: string;
  /** vLLM's route this surface forwards to. */
  readonly upstreamPath: string;
  parse(json: unknown, ctx: SurfaceContext): SurfaceRequest | Promise<SurfaceRequest>;
}

export interface SurfaceRequest {
  /** The JSON object sent to vLLM; the pipeline sets `model` (and `max_tokens` under MAX_TOKENS_LIMIT). */
  readonly body: Record<string, unknown>;
  /** As the client named it; undefined = the default model. */
  readonly model: string | undefined;
  readonly stream: boolean;
  /** The answer's token limit when the client set one. */
  readonly maxTokens: number | undefined;
  /** For rate-limit reservations (token-estimate.ts). */
  readonly promptTokensEstimate: number;
  /** A session hint from the body (the `user` field) for routing affinity; `x-session-id` wins over it. */
  readonly session: string | undefined;
  /** A fresh reader of vLLM's SSE bytes for one attempt. */
  streamReader(): StreamReader;
  /**
   * A complete non-streaming 200 from vLLM → the bytes for the client, and its usage (read after sending).
   * Async for surfaces that store the answer first; a thrown GatewayError is answered instead.
   */
  jsonAnswer(body: Buffer): JsonAnswer | Promise<JsonAnswer>;
  /** The answer ended (stored surfaces save it here). Must not throw. */
  finish?(result: { ok: boolean; model: string }): Promise<void>;
}

export interface JsonAnswer {
  body: Buffer | string;
  /** Usage and finish reason; called once the client has its answer, off the latency path. */
  read(): { usage?: Usage | undefined; finishReason?: string | undefined };
}

/** Reads (and, for rebuilding surfaces, translates) one upstream stream. No timer or closure per chunk. */
export interface StreamReader {
  /** Bytes to send as soon as the stream's headers are out (a rebuilt stream's opening events). */
  open?(): string;
  /** Next upstream chunk → bytes to forward now (undefined or empty: nothing yet). */
  push(chunk: Buffer): Buffer | string | undefined;
  /** vLLM's stream ended: the bytes left to write, and how the stream really ended. */
  end(): { tail?: Buffer | string | undefined; failure?: { kind: FailureKind; detail: string } | undefined };
  /** The exchange failed after the 200: the closing bytes (one error event in the surface's shape). */
  fail(err: GatewayError): string;
  readonly usage: Usage | undefined;
  readonly finishReason: string | undefined;
  /** No partial event is held back, so bytes written now cannot land inside one (keep-alive pings). */
  readonly atEventBoundary: boolean;
}

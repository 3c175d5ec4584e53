/**
 * @module observability/request-record
 * What one request did, filled in as it goes and turned into exactly one log line and one set of
 * metric updates when it ends (see `observe` in app.ts).
 */
import type { Usage } from '../proxy/sse-usage.js';
import type { FailureKind } from '../upstream/failures.js';
import type { RejectionReason } from './metrics.js';

export type AbortPhase = 'waiting' | 'queued' | 'upstream';

export class RequestRecord {
  readonly id: string;
  readonly startedAt: number;
  route = 'unmatched';
  inference = false;
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
  /** ms spent waiting for vLLM readiness and in the admission queue: not the gateway's own cost. */
  waitedMs = 0;
  queueMs: number | undefined;
  overheadMs: number | undefined;

  constructor(id: string, startedAt: number) {
    this.id = id;
    this.startedAt = startedAt;
  }
}

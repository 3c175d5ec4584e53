/**
 * @module bench/load-protocol
 * What the benchmark's parent process and its load client (a separate process, so its CPU is its own)
 * say to each other over the fork IPC channel.
 */
import type { SseDialect } from './sse-timing.js';
import type { Distribution } from './stats.js';

/**
 * Sessions re-sending a growing conversation (issue 10's affinity scenario): each connection is one
 * session at a time, with its own `x-session-id`; its first request carries a system prompt of
 * `prefixWords` words unique to the session, each next request the previous messages plus an assistant
 * answer and a new user turn of `turnWords` words. After `maxTurns` turns the connection starts a new
 * session.
 */
export interface ConversationSpec {
  /** Makes session ids (and so their prefixes) unique to this window. */
  runId: string;
  prefixWords: number;
  turnWords: number;
  maxTurns: number;
}

export interface LoadSpec {
  /** Origin of the target, e.g. http://127.0.0.1:8101. */
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  stream: boolean;
  /** Closed loop: this many requests always in flight. Idle: this many streams held open. */
  concurrency: number;
  mode: 'closed-loop' | 'idle';
  /** Closed loop: load before the measured window (connections, JIT, caches). */
  warmupMs: number;
  /** Closed loop: length of the measured window. */
  windowMs: number;
  /** Idle: how long the open streams are held (the measured window). */
  holdMs: number;
  /** Idle: time allowed for every stream to deliver its first token. */
  openTimeoutMs: number;
  /** Streams opened at a time in idle mode, so a listen backlog is never the thing measured. */
  openBatch: number;
  /**
   * Several origins: connection i talks to origins[i mod n] (an ideal even split done by the client
   * itself, the baseline of issue 10's scale-out scenario). `origin` is then unused.
   */
  origins?: string[];
  /** How token events are recognised in the stream (default chat: OpenAI chat/completions chunks). */
  dialect?: SseDialect;
  /** Closed loop only: the body is a growing conversation per session instead of `body`. */
  conversation?: ConversationSpec;
}

export interface LoadResult {
  /** Measured window length, client clock. */
  windowMs: number;
  /** Requests (or streams) that ended well inside the window. */
  completed: number;
  /** Requests that ended inside the window with a non-200 status, a transport error, an in-stream error or no [DONE]. */
  failed: number;
  /** Failures over the whole run, warm-up included. */
  failedTotal: number;
  /** Up to five distinct failure descriptions. */
  failures: string[];
  /** Token events received inside the window. */
  tokens: number;
  /**
   * Bursts of token events inside the window: a burst is a run of one stream's events less than 0.05 ms
   * apart (one socket read). tokens / tokenBursts is how many tokens reach the client together; a proxy
   * that holds tokens back raises it above direct's, even where too few long gaps move the gap p99.
   */
  tokenBursts: number;
  /** Request start to last byte, ms, for requests that ended inside the window. */
  latency: Distribution;
  /** Request start to first token event, ms (streams). */
  ttft: Distribution;
  /** Gaps between consecutive token events of one stream, both inside the window, ms. */
  gap: Distribution;
  /** Idle mode: streams that delivered their first token and were held open. */
  openStreams: number;
  /**
   * Streams ended inside the window whose count of token events differs from the completion tokens their
   * usage reports (one event per token is what "no batching" means at the event level).
   */
  tokenCountMismatches: number;
  /** Streams ended inside the window that reported completion tokens (the base of the count above). */
  tokenCountChecked: number;
}

export type ClientMessage =
  | { type: 'window-start' }
  | { type: 'window-end' }
  | { type: 'result'; result: LoadResult }
  | { type: 'fatal'; message: string };

export type ParentMessage = { type: 'spec'; spec: LoadSpec };

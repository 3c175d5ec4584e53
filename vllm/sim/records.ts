/**
 * @module sim/records
 * What tests see of each inference request: a bounded list of records (the last 1000) and an emitter of
 * 'request-start' / 'request-end' with the record.
 *
 * Outcomes: 'completed' when the answer went out in full (malformed-line and degenerate included);
 * 'aborted' when the client went away first (hang faults end this way too); 'error' for an error answer
 * the simulator gives as vLLM would (validation, auth, unknown model, engine death); 'fault' when an
 * injected fault ended the request (http=, resets, error-mid-stream).
 *
 * Totals (stats()): every ended request is counted once, by outcome. "Completed" tokens are those of
 * answers sent in full, which is what a client (or a gateway) can count from usage; an aborted request's
 * partial tokens are counted apart.
 */
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';

export type SimOutcome = 'completed' | 'aborted' | 'error' | 'fault';

/** The API surface a request used: /invocations resolves to chat or completion by its body. */
export type SimRoute = 'chat' | 'completion' | 'messages';

export interface SimStats {
  /** Requests whose answer went out in full (finish stop, length or tool_calls). */
  completedRequests: number;
  completedPromptTokens: number;
  completedCompletionTokens: number;
  /** Requests the client left before the end (while queued, prefilling or generating). */
  abortedRequests: number;
  /** Tokens generated for aborted requests before they stopped. */
  abortedCompletionTokens: number;
  /** Error answers (validation, unknown model, engine death) and injected faults. */
  failedRequests: number;
}

export interface SimRequestRecord {
  id: number;
  method: string;
  path: string;
  /** The API surface; undefined when the body could not be read as JSON. */
  route: SimRoute | undefined;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined when it was not JSON. */
  body: unknown;
  /** performance.now() */
  startedAt: number;
  endedAt?: number;
  outcome?: SimOutcome;
  streamed: boolean;
  /** Tokens generated so far (all choices); updated while a stream runs. */
  completionTokens: number;
  /** usage.prompt_tokens; 0 until the request is planned. */
  promptTokens: number;
  /** Prompt tokens found in the prefix cache when the request got its slot. */
  cachedTokens: number;
  /** The time to first token the engine applied (ms, after the slot), once admitted. */
  ttftMs?: number;
}

const KEEP = 1000;

export class RequestLog {
  readonly records: SimRequestRecord[] = [];
  readonly events = new EventEmitter();
  readonly #stats: SimStats = {
    completedRequests: 0, completedPromptTokens: 0, completedCompletionTokens: 0, abortedRequests: 0, abortedCompletionTokens: 0, failedRequests: 0,
  };
  #nextId = 1;

  constructor() {
    // Many tests wait on 'request-end' at once; that is not a leak.
    this.events.setMaxListeners(0);
  }

  start(method: string, path: string, headers: IncomingHttpHeaders, body: unknown, streamed: boolean, route?: SimRoute): SimRequestRecord {
    const record: SimRequestRecord = {
      id: this.#nextId++,
      method,
      path,
      route,
      headers: { ...headers },
      body,
      startedAt: performance.now(),
      streamed,
      completionTokens: 0,
      promptTokens: 0,
      cachedTokens: 0,
    };
    this.records.push(record);
    if (this.records.length > KEEP) this.records.splice(0, this.records.length - KEEP);
    this.events.emit('request-start', record);
    return record;
  }

  end(record: SimRequestRecord, outcome: SimOutcome): void {
    if (record.outcome !== undefined) return;
    record.endedAt = performance.now();
    record.outcome = outcome;
    const st = this.#stats;
    if (outcome === 'completed') {
      st.completedRequests++;
      st.completedPromptTokens += record.promptTokens;
      st.completedCompletionTokens += record.completionTokens;
    } else if (outcome === 'aborted') {
      st.abortedRequests++;
      st.abortedCompletionTokens += record.completionTokens;
    } else {
      st.failedRequests++;
    }
    this.events.emit('request-end', record);
  }

  /** A copy of the totals since start. */
  stats(): SimStats {
    return { ...this.#stats };
  }
}

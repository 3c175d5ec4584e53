/**
 * @module sim/records
 * What tests see of each inference request: a bounded list of records (the last 1000) and an emitter of
 * 'request-start' / 'request-end' with the record.
 *
 * Outcomes: 'completed' when the answer went out in full (malformed-line and degenerate included);
 * 'aborted' when the client went away first (hang faults end this way too); 'error' for an error answer
 * the simulator gives as vLLM would (validation, auth, unknown model, engine death); 'fault' when an
 * injected fault ended the request (http=, resets, error-mid-stream).
 */
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';

export type SimOutcome = 'completed' | 'aborted' | 'error' | 'fault';

export interface SimRequestRecord {
  id: number;
  method: string;
  path: string;
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
}

const KEEP = 1000;

export class RequestLog {
  readonly records: SimRequestRecord[] = [];
  readonly events = new EventEmitter();
  #nextId = 1;

  constructor() {
    // Many tests wait on 'request-end' at once; that is not a leak.
    this.events.setMaxListeners(0);
  }

  start(method: string, path: string, headers: IncomingHttpHeaders, body: unknown, streamed: boolean): SimRequestRecord {
    const record: SimRequestRecord = {
      id: this.#nextId++,
      method,
      path,
      headers: { ...headers },
      body,
      startedAt: performance.now(),
      streamed,
      completionTokens: 0,
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
    this.events.emit('request-end', record);
  }
}

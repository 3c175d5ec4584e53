/**
 * @module soak/sim-ledger
 * Preloaded into each simulator of the soak (`node --import dist/scripts/soak/sim-ledger.js
 * dist/vllm/sim/cli.js serve ...`): appends one JSON line per ended inference request to the file named
 * by SOAK_LEDGER_FILE, written synchronously, so the simulator's books survive its SIGKILL.
 *
 * Why: a SIGKILLed simulator loses the counters of GET /sim/stats, and a snapshot taken just before the
 * kill misses the answers that complete between the snapshot and the signal. The ledger is the
 * simulator's own counter, line by line: each line carries the request's x-request-id (the gateway sends
 * its request id upstream), its outcome and tokens, and `cum`, the RequestLog's completed totals
 * (stats()) right after this request was counted. So the last line of a life is what /sim/stats would
 * have said at the kill, and a snapshot taken before the kill is the `cum` of one earlier line.
 *
 * It wraps RequestLog.prototype.end (the one place the simulator counts an ended request, records.ts);
 * the module is the same instance the CLI loads, since ES modules are cached by URL.
 */
import { openSync, writeSync } from 'node:fs';
import { RequestLog, type SimOutcome, type SimRequestRecord } from '../../vllm/sim/records.js';

export interface LedgerLine {
  rid: string | null;
  outcome: SimOutcome;
  stream: boolean;
  path: string;
  prompt: number;
  completion: number;
  /** Completed totals of the simulator right after this line's request was counted. */
  cum: { requests: number; prompt: number; completion: number };
}

const file = process.env.SOAK_LEDGER_FILE;

if (file) {
  const fd = openSync(file, 'a');
  const end = RequestLog.prototype.end;
  RequestLog.prototype.end = function endAndWriteLedger(this: RequestLog, record: SimRequestRecord, outcome: SimOutcome): void {
    const first = record.outcome === undefined;
    end.call(this, record, outcome);
    if (!first) return;
    const s = this.stats();
    const rid = record.headers['x-request-id'];
    const line: LedgerLine = {
      rid: (Array.isArray(rid) ? rid[0] : rid) ?? null,
      outcome,
      stream: record.streamed,
      path: record.path,
      prompt: record.promptTokens,
      completion: record.completionTokens,
      cum: { requests: s.completedRequests, prompt: s.completedPromptTokens, completion: s.completedCompletionTokens },
    };
    writeSync(fd, `${JSON.stringify(line)}\n`);
  };
}

import { describe, expect, it } from 'vitest';
import { accountingBalance, growthAfterWarmup, judgeFailure, logLineCheck, type GatewayLogLine, type SimLifeBooks } from '../../scripts/soak/checks.js';
import type { ClientRecord } from '../../scripts/soak/load.js';
import type { LedgerLine } from '../../scripts/soak/sim-ledger.js';

function client(id: string, over: Partial<ClientRecord> = {}): ClientRecord {
  return { id, replica: 'gw1', route: 'chat', stream: false, includeUsage: false, key: 'open', abortPlanned: false, startedAt: 0, endedAt: 100, status: 200, outcome: 'done', ...over };
}

function logLine(reqId: string, over: Partial<GatewayLogLine> = {}): GatewayLogLine {
  return { replica: 'gw1', reqId, status: 200, stream: false, backend: 'sim1:1', failovers: 0, tokensIn: null, tokensOut: null, clientAborted: false, upstreamError: null, ...over };
}

/** Ledger lines whose cum runs up as the simulator's own counter does. */
function ledger(entries: [string, LedgerLine['outcome'], number, number][]): LedgerLine[] {
  const cum = { requests: 0, prompt: 0, completion: 0 };
  return entries.map(([rid, outcome, prompt, completion]) => {
    if (outcome === 'completed') {
      cum.requests++;
      cum.prompt += prompt;
      cum.completion += completion;
    }
    return { rid, outcome, stream: false, path: '/v1/chat/completions', prompt, completion, cum: { ...cum } };
  });
}

const stats = (requests: number, prompt: number, completion: number) => ({ completedRequests: requests, completedPromptTokens: prompt, completedCompletionTokens: completion });

describe('soak growth check', () => {
  it('leaves out the warm-up and compares the medians of the two halves after it', () => {
    const samples = [100, 200, 200, 200, 210, 210].map((v, i) => ({ t: i * 10, v }));
    const g = growthAfterWarmup(samples, 10);
    expect(g.samples).toEqual([2, 3]);
    expect(g.firstMedian).toBe(200);
    expect(g.secondMedian).toBe(210);
    expect(g.growth).toBeCloseTo(0.05);
  });
});

describe('soak accounting', () => {
  it('balances when every completed answer is counted once on each side, the killed life by its last ledger line', () => {
    const lives: SimLifeBooks[] = [
      { label: 'a', backend: 'a:1', lines: ledger([['r1', 'completed', 10, 5], ['r2', 'aborted', 7, 2]]), finalStats: stats(1, 10, 5) },
      // Killed: the snapshot saw r3 only; r4 completed between the snapshot and the SIGKILL.
      { label: 'b', backend: 'b:1', lines: ledger([['r3', 'completed', 4, 4], ['r4', 'completed', 6, 3]]), snapshot: stats(1, 4, 4) },
    ];
    const logs = [logLine('r1', { tokensIn: 10, tokensOut: 5 }), logLine('r2', { clientAborted: true, status: 499 }), logLine('r3', { tokensIn: 4, tokensOut: 4 }), logLine('r4', { tokensIn: 6, tokensOut: 3 })];
    const a = accountingBalance({ input: 20, output: 12 }, logs, lives, [client('r1', { usage: { prompt: 10, completion: 5 } })]);
    expect(a.difference).toEqual({ input: 0, output: 0 });
    expect(a.lives.map((l) => l.consistent)).toEqual([true, true]);
    expect(a.lives[1]?.window).toEqual({ snapshotFound: true, requests: 1, input: 6, output: 3 });
    expect([a.lost, a.unmatched, a.mismatched, a.completedTwice, a.clientMismatched]).toEqual([[], [], [], [], []]);
  });

  it('names an answer a simulator completed that the gateway did not count, and one counted on two simulators', () => {
    const lives: SimLifeBooks[] = [
      { label: 'a', backend: 'a:1', lines: ledger([['r1', 'completed', 10, 5], ['r2', 'completed', 3, 3]]), finalStats: stats(2, 13, 8) },
      { label: 'b', backend: 'b:1', lines: ledger([['r2', 'completed', 3, 3]]), finalStats: stats(1, 3, 3) },
    ];
    const logs = [logLine('r1', { clientAborted: true }), logLine('r2', { tokensIn: 3, tokensOut: 3 })];
    const a = accountingBalance({ input: 3, output: 3 }, logs, lives, []);
    expect(a.difference).toEqual({ input: -13, output: -8 });
    expect(a.lost).toEqual(['r1']);
    expect(a.completedTwice).toEqual(['r2']);
  });

  it('flags a ledger that disagrees with GET /sim/stats', () => {
    const lives: SimLifeBooks[] = [{ label: 'a', backend: 'a:1', lines: ledger([['r1', 'completed', 10, 5]]), finalStats: stats(2, 20, 10) }];
    expect(accountingBalance({ input: 10, output: 5 }, [logLine('r1', { tokensIn: 10, tokensOut: 5 })], lives, []).lives[0]?.consistent).toBe(false);
  });
});

describe('soak failures', () => {
  const kill = { atMs: 1_000, backend: 'b:1' };
  it('explains a stream of the killed backend in flight at the kill that ends in the truncation event', () => {
    const c = client('s1', { stream: true, startedAt: 900, endedAt: 1_050, outcome: 'error_event', errorCode: 'upstream_stream_truncated' });
    expect(judgeFailure(c, logLine('s1', { backend: 'b:1', upstreamError: { kind: 'reset' } }), kill).explained).toBe(true);
  });

  it('does not explain a 503 after the kill, nor a cut stream of another backend', () => {
    const late = client('n1', { startedAt: 1_200, endedAt: 1_300, status: 503, outcome: 'http_error' });
    expect(judgeFailure(late, logLine('n1', { status: 503, upstreamError: { kind: 'connect_refused' } }), kill).explained).toBe(false);
    const other = client('s2', { stream: true, startedAt: 900, endedAt: 1_050, outcome: 'error_event', errorCode: 'upstream_stream_truncated' });
    expect(judgeFailure(other, logLine('s2', { backend: 'a:1', upstreamError: { kind: 'reset' } }), kill).explained).toBe(false);
  });
});

describe('soak log lines', () => {
  it('finds requests logged never, twice, or with another status than the client got', () => {
    const clients = [client('p-1'), client('p-2'), client('p-3', { status: 429, outcome: 'http_error' }), client('p-4', { outcome: 'aborted', status: undefined })];
    const logs = [logLine('p-2'), logLine('p-2'), logLine('p-3', { status: 200 }), logLine('p-4', { status: 499 }), logLine('p-9'), logLine('other')];
    const check = logLineCheck(clients, logs, 'p-');
    expect(check.missing).toEqual(['p-1']);
    expect(check.duplicated).toEqual(['p-2']);
    expect(check.statusDiffers).toEqual(['p-3']);
    expect(check.unknown).toEqual(['p-9']);
    expect(check.exactlyOnce).toBe(2);
  });
});

/**
 * @module soak/checks
 * The soak's arithmetic, pure (test/soak/checks.test.ts): memory growth after warm-up, the token
 * balance between the gateway and the simulators, which failures the injected kill explains, and one log
 * line per request.
 */
import type { ClientRecord } from './load.js';
import type { LedgerLine } from './sim-ledger.js';

export interface Check {
  name: string;
  pass: boolean;
  detail: string;
}

/** The fields of the gateway's per-request log line (observability/observe.ts) that the soak reads. */
export interface GatewayLogLine {
  replica: string;
  reqId: string;
  status: number;
  stream: boolean;
  backend: string | null;
  failovers: number;
  tokensIn: number | null;
  tokensOut: number | null;
  clientAborted: boolean;
  upstreamError: { kind: string; detail?: string } | null;
}

export interface Tokens {
  input: number;
  output: number;
}

// ---- memory -------------------------------------------------------------------------------------------

export interface Growth {
  firstMedian: number;
  secondMedian: number;
  /** secondMedian / firstMedian - 1. */
  growth: number;
  samples: [number, number];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Growth over the run after warm-up: the samples taken after `warmupS` are split into a first and a
 * second half by time order, and the second half's median is compared with the first half's. Medians,
 * so one sample taken mid-burst does not decide; halves, so a short run still compares like with like.
 */
export function growthAfterWarmup(samples: readonly { t: number; v: number }[], warmupS: number): Growth {
  const post = samples.filter((s) => s.t >= warmupS).sort((a, b) => a.t - b.t);
  const half = Math.floor(post.length / 2);
  const first = post.slice(0, half).map((s) => s.v);
  const second = post.slice(half).map((s) => s.v);
  const a = median(first);
  const b = median(second);
  return { firstMedian: a, secondMedian: b, growth: b / a - 1, samples: [first.length, second.length] };
}

// ---- accounting ---------------------------------------------------------------------------------------

export interface SimLifeBooks {
  /** e.g. "sim2 life 1". */
  label: string;
  backend: string;
  lines: readonly LedgerLine[];
  /** GET /sim/stats at the end of the run (undefined: the process was SIGKILLed). */
  finalStats?: { completedRequests: number; completedPromptTokens: number; completedCompletionTokens: number };
  /** GET /sim/stats just before the SIGKILL. */
  snapshot?: { completedRequests: number; completedPromptTokens: number; completedCompletionTokens: number };
}

export interface LifeBalance {
  label: string;
  /** The simulator's own completed totals at its end: /sim/stats, or its last ledger line when it was killed. */
  counters: Tokens & { requests: number };
  ledgerSum: Tokens & { requests: number };
  /** The ledger's last cum equals /sim/stats (when asked) and the sum of its completed lines. */
  consistent: boolean;
  /** Killed life: answers completed between the snapshot and the SIGKILL (in the counters, not in the snapshot). */
  window?: Tokens & { requests: number; snapshotFound: boolean };
}

export interface Accounting {
  gatewayMetrics: Tokens;
  gatewayLogs: Tokens;
  simulators: Tokens;
  difference: Tokens;
  lives: LifeBalance[];
  /** Request ids the simulators completed more than once. */
  completedTwice: string[];
  /** Completed by a simulator, but the gateway counted no usage for it (lost). */
  lost: string[];
  /** Usage counted by the gateway with no completed answer at a simulator (invented or double counted). */
  unmatched: string[];
  /** Both sides counted it, with different tokens. */
  mismatched: string[];
  /** Usage the client saw that differs from the gateway's log line. */
  clientMismatched: string[];
}

const zero = (): Tokens & { requests: number } => ({ requests: 0, input: 0, output: 0 });

function lifeBalance(life: SimLifeBooks): LifeBalance {
  const ledgerSum = zero();
  for (const l of life.lines) {
    if (l.outcome !== 'completed') continue;
    ledgerSum.requests++;
    ledgerSum.input += l.prompt;
    ledgerSum.output += l.completion;
  }
  const last = life.lines.at(-1)?.cum ?? { requests: 0, prompt: 0, completion: 0 };
  const counters = life.finalStats
    ? { requests: life.finalStats.completedRequests, input: life.finalStats.completedPromptTokens, output: life.finalStats.completedCompletionTokens }
    : { requests: last.requests, input: last.prompt, output: last.completion };
  const consistent =
    counters.requests === last.requests && counters.input === last.prompt && counters.output === last.completion &&
    ledgerSum.requests === last.requests && ledgerSum.input === last.prompt && ledgerSum.output === last.completion;
  const balance: LifeBalance = { label: life.label, counters, ledgerSum, consistent };
  const snap = life.snapshot;
  if (snap) {
    // The snapshot is the cum of one ledger line (or of none: nothing completed yet).
    const at = life.lines.findIndex((l) => l.cum.requests === snap.completedRequests && l.cum.prompt === snap.completedPromptTokens && l.cum.completion === snap.completedCompletionTokens);
    const snapshotFound = at >= 0 || snap.completedRequests === 0;
    balance.window = {
      snapshotFound,
      requests: counters.requests - snap.completedRequests,
      input: counters.input - snap.completedPromptTokens,
      output: counters.output - snap.completedCompletionTokens,
    };
  }
  return balance;
}

export function accountingBalance(metrics: Tokens, logs: readonly GatewayLogLine[], lives: readonly SimLifeBooks[], clients: readonly ClientRecord[]): Accounting {
  const gatewayLogs: Tokens = { input: 0, output: 0 };
  const logById = new Map<string, GatewayLogLine>();
  for (const l of logs) {
    logById.set(l.reqId, l);
    gatewayLogs.input += l.tokensIn ?? 0;
    gatewayLogs.output += l.tokensOut ?? 0;
  }
  const balances = lives.map(lifeBalance);
  const simulators: Tokens = { input: 0, output: 0 };
  for (const b of balances) {
    simulators.input += b.counters.input;
    simulators.output += b.counters.output;
  }
  const completed = new Map<string, LedgerLine>();
  const completedTwice: string[] = [];
  for (const life of lives) {
    for (const l of life.lines) {
      if (l.outcome !== 'completed' || l.rid === null) continue;
      if (completed.has(l.rid)) completedTwice.push(l.rid);
      completed.set(l.rid, l);
    }
  }
  const lost: string[] = [];
  const mismatched: string[] = [];
  for (const [rid, l] of completed) {
    const g = logById.get(rid);
    if (!g || g.tokensIn === null || g.tokensOut === null) lost.push(rid);
    else if (g.tokensIn !== l.prompt || g.tokensOut !== l.completion) mismatched.push(rid);
  }
  const unmatched = logs.filter((g) => g.tokensIn !== null && !completed.has(g.reqId)).map((g) => g.reqId);
  const clientMismatched = clients
    .filter((c) => c.usage !== undefined)
    .filter((c) => {
      const g = logById.get(c.id);
      return !g || g.tokensIn !== c.usage?.prompt || g.tokensOut !== c.usage?.completion;
    })
    .map((c) => c.id);
  return {
    gatewayMetrics: metrics,
    gatewayLogs,
    simulators,
    difference: { input: metrics.input - simulators.input, output: metrics.output - simulators.output },
    lives: balances,
    completedTwice,
    lost,
    unmatched,
    mismatched,
    clientMismatched,
  };
}

// ---- failures and the kill ----------------------------------------------------------------------------

export interface KillWindow {
  /** ms since the soak's start at which the SIGKILL was sent. */
  atMs: number;
  /** host:port of the killed simulator, as the gateway names backends. */
  backend: string;
}

export interface FailureVerdict {
  id: string;
  explained: boolean;
  shape: string;
}

/** A client-visible failure: a 5xx, a stream ending in an error event or cut, a failed connection. */
export function isFailure(c: ClientRecord): boolean {
  if (c.outcome === 'aborted') return false;
  return (c.status !== undefined && c.status >= 500) || c.outcome === 'error_event' || c.outcome === 'truncated' || c.outcome === 'network_error';
}

/**
 * What the kill explains, and nothing else: requests in flight at the SIGKILL (started before it, ended
 * after it) and
 *  - a stream of the killed backend: its 200 ends with the gateway's error event upstream_stream_truncated
 *    and no [DONE]; the log line names that backend and an upstream reset or truncation;
 *  - a non-streaming request: 502 or 503 with a reset or refused connection in its log line (most fail
 *    over before any byte and get a 200 instead, which is no failure).
 */
export function judgeFailure(c: ClientRecord, log: GatewayLogLine | undefined, kill: KillWindow | undefined): FailureVerdict {
  const inFlight = kill !== undefined && c.startedAt <= kill.atMs && c.endedAt >= kill.atMs;
  const kind = log?.upstreamError?.kind;
  let shape = `${c.stream ? 'stream' : 'non-stream'} ${c.status ?? 'no status'} ${c.outcome}${c.errorCode ? ` ${c.errorCode}` : ''}; log: ${log ? `backend ${log.backend}, upstream ${kind ?? 'none'}` : 'missing'}`;
  if (!inFlight) return { id: c.id, explained: false, shape: `${shape}; not in flight at the kill` };
  shape += '; in flight at the kill';
  if (c.stream && c.status === 200) {
    const ok = c.outcome === 'error_event' && c.errorCode === 'upstream_stream_truncated' && log?.backend === kill.backend && (kind === 'reset' || kind === 'stream_truncated');
    return { id: c.id, explained: ok, shape };
  }
  const ok = !c.stream && (c.status === 502 || c.status === 503) && (kind === 'reset' || kind === 'connect_refused');
  return { id: c.id, explained: ok, shape };
}

// ---- one log line per request --------------------------------------------------------------------------

export interface LogLineCheck {
  sent: number;
  exactlyOnce: number;
  missing: string[];
  duplicated: string[];
  /** Soak request ids in the logs that no client sent. */
  unknown: string[];
  /** Logged by the other replica than the one the client called. */
  wrongReplica: string[];
  /** Not aborted by the client, yet the logged status differs from the one the client got. */
  statusDiffers: string[];
}

export function logLineCheck(clients: readonly ClientRecord[], logs: readonly GatewayLogLine[], prefix: string): LogLineCheck {
  const byId = new Map<string, GatewayLogLine[]>();
  for (const l of logs) {
    if (!l.reqId.startsWith(prefix)) continue;
    const list = byId.get(l.reqId) ?? [];
    list.push(l);
    byId.set(l.reqId, list);
  }
  const sent = new Set(clients.map((c) => c.id));
  const out: LogLineCheck = { sent: sent.size, exactlyOnce: 0, missing: [], duplicated: [], unknown: [], wrongReplica: [], statusDiffers: [] };
  for (const c of clients) {
    const found = byId.get(c.id) ?? [];
    if (found.length === 0) out.missing.push(c.id);
    else if (found.length > 1) out.duplicated.push(c.id);
    else {
      out.exactlyOnce++;
      const l = found[0] as GatewayLogLine;
      if (l.replica !== c.replica) out.wrongReplica.push(c.id);
      if (c.outcome !== 'aborted' && c.status !== undefined && l.status !== c.status) out.statusDiffers.push(c.id);
    }
  }
  for (const id of byId.keys()) if (!sent.has(id)) out.unknown.push(id);
  return out;
}

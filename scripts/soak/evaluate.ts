/**
 * @module soak/evaluate
 * From what the soak collected to its results: request counts, the failures the kill explains, the
 * token balance, memory growth, gauges, log lines, and one verdict per check.
 */
import { accountingBalance, growthAfterWarmup, isFailure, judgeFailure, logLineCheck, type Check, type GatewayLogLine, type KillWindow, type Tokens } from './checks.js';
import type { SimStatsBody } from './collect.js';
import type { SimLife, SimSpec, SoakKey } from './fleet.js';
import type { ClientRecord } from './load.js';
import type { MemorySample } from './memory.js';
import type { GaugeReading, ReplicaMemory, SoakResults } from './results.js';
import type { LedgerLine } from './sim-ledger.js';

export const MAX_GROWTH = 0.1;

export interface Collected {
  startedAt: string;
  git: { commit: string; dirty: boolean };
  options: SoakResults['options'];
  keys: readonly SoakKey[];
  specs: readonly SimSpec[];
  victim: SimSpec;
  kill: { atMs: number; restartedMs: number; snapshot: SimStatsBody };
  durationS: number;
  records: readonly ClientRecord[];
  logs: readonly GatewayLogLine[];
  lives: readonly { life: SimLife; lines: LedgerLine[]; finalStats: SimStatsBody | undefined }[];
  tokens: Tokens;
  gauges: GaugeReading[];
  simulatorsBusy: Record<string, number>;
  simGenerationTokensSum: Record<string, number>;
  memory: readonly { name: string; samples: MemorySample[]; idle: MemorySample | undefined }[];
  prefix: string;
}

const count = <T>(items: readonly T[], key: (t: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const i of items) out[key(i)] = (out[key(i)] ?? 0) + 1;
  return out;
};

const list = (ids: readonly string[]): string => (ids.length === 0 ? 'none' : `${ids.length} (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''})`);
const pct = (g: number): string => `${g >= 0 ? '+' : ''}${(g * 100).toFixed(1)}%`;

export function evaluate(c: Collected): SoakResults {
  const victimBackend = `${c.victim.host}:${c.victim.port}`;
  const killWindow: KillWindow = { atMs: c.kill.atMs, backend: victimBackend };
  const logById = new Map(c.logs.map((l) => [l.reqId, l]));
  const checks: Check[] = [];

  // Statuses and failures.
  const verdicts = c.records.filter(isFailure).map((r) => judgeFailure(r, logById.get(r.id), killWindow));
  const explained = verdicts.filter((v) => v.explained);
  const unexplained = verdicts.filter((v) => !v.explained);
  const limited = new Set(c.keys.filter((k) => k.rpm !== undefined || k.tpm !== undefined).map((k) => k.name));
  const failedIds = new Set(verdicts.map((v) => v.id));
  const unexpectedStatus = c.records.filter(
    (r) => r.outcome !== 'aborted' && !failedIds.has(r.id) && r.status !== 200 && !(r.status === 429 && limited.has(r.key)),
  );
  // Failed over and answered: in flight on the killed backend (a reset before any byte), or sent to it
  // while it was down (a refused connection) before the replicas had ejected it.
  const failedOver = c.records.filter((r) => r.status === 200 && (logById.get(r.id)?.failovers ?? 0) > 0);
  const failedOverAtKill = failedOver.filter((r) => r.startedAt <= c.kill.atMs && r.endedAt >= c.kill.atMs).length;
  const rateLimited = count(c.records.filter((r) => r.status === 429), (r) => r.key);
  checks.push({
    name: 'no 5xx the kill does not explain',
    pass: unexplained.length === 0,
    detail: `${verdicts.length} failed answers, ${explained.length} explained by the SIGKILL (in flight on ${victimBackend}), ${unexplained.length} not: ${list(unexplained.map((v) => `${v.id}: ${v.shape}`))}`,
  });
  checks.push({
    name: 'only expected statuses (200; 429 for the limited keys)',
    pass: unexpectedStatus.length === 0,
    detail: `unexpected: ${list(unexpectedStatus.map((r) => `${r.id} ${r.status ?? r.outcome} key ${r.key}`))}`,
  });
  checks.push({
    name: 'the faults happened (kill hit requests in flight, 429s, client aborts)',
    pass: explained.length + failedOver.length > 0 && Object.keys(rateLimited).length > 0 && c.records.some((r) => r.outcome === 'aborted'),
    detail: `${explained.length} failed at the kill, ${failedOver.length} answered after failing over (${failedOverAtKill} of them in flight at the kill); 429s by key ${JSON.stringify(rateLimited)}; ${c.records.filter((r) => r.outcome === 'aborted').length} aborted by clients`,
  });

  // Accounting.
  const books = c.lives.map(({ life, lines, finalStats }) => ({
    label: `${life.spec.name} life ${life.life}`,
    backend: `${life.spec.host}:${life.spec.port}`,
    lines,
    finalStats,
    snapshot: life.spec.name === c.victim.name && life.life === 1 ? c.kill.snapshot : undefined,
  }));
  const accounting = accountingBalance(c.tokens, c.logs, books, c.records);
  const d = accounting.difference;
  checks.push({
    name: 'tokens: gateway_tokens_total (both replicas) = simulators\' completed tokens',
    pass: d.input === 0 && d.output === 0,
    detail: `input ${accounting.gatewayMetrics.input} vs ${accounting.simulators.input} (${d.input}), output ${accounting.gatewayMetrics.output} vs ${accounting.simulators.output} (${d.output})`,
  });
  checks.push({
    name: 'tokens: per request, nothing lost, invented or counted twice',
    pass:
      accounting.lost.length + accounting.unmatched.length + accounting.mismatched.length + accounting.completedTwice.length + accounting.clientMismatched.length === 0 &&
      accounting.gatewayLogs.input === accounting.gatewayMetrics.input && accounting.gatewayLogs.output === accounting.gatewayMetrics.output,
    detail: `log lines sum to ${accounting.gatewayLogs.input}/${accounting.gatewayLogs.output}; lost ${list(accounting.lost)}; unmatched ${list(accounting.unmatched)}; different ${list(accounting.mismatched)}; completed twice ${list(accounting.completedTwice)}; client saw other usage ${list(accounting.clientMismatched)}`,
  });
  const inconsistent = accounting.lives.filter((l) => !l.consistent || (l.window && !l.window.snapshotFound));
  checks.push({
    name: 'simulator ledgers agree with GET /sim/stats',
    pass: inconsistent.length === 0,
    detail: `${accounting.lives.length} simulator lives; inconsistent: ${list(inconsistent.map((l) => l.label))}`,
  });

  // Memory.
  const memory: ReplicaMemory[] = c.memory.map((m) => {
    const series = (f: (s: MemorySample) => number) => m.samples.map((s) => ({ t: s.t, v: f(s) }));
    return {
      name: m.name,
      samples: m.samples,
      ...(m.idle ? { idle: m.idle } : {}),
      growth: {
        rss: growthAfterWarmup(series((s) => s.rssBytes), c.options.warmupS),
        heapAfterGc: growthAfterWarmup(series((s) => s.heapAfterGcBytes), c.options.warmupS),
        fds: growthAfterWarmup(series((s) => s.fds), c.options.warmupS),
      },
    };
  });
  for (const m of memory) {
    for (const [what, g] of Object.entries(m.growth)) {
      checks.push({
        name: `${m.name} ${what} flat after warm-up (growth < ${MAX_GROWTH * 100}%)`,
        pass: g.samples[0] >= 2 && g.samples[1] >= 2 && g.growth < MAX_GROWTH,
        detail: `median ${fmt(what, g.firstMedian)} → ${fmt(what, g.secondMedian)} (${pct(g.growth)}; ${g.samples[0]} + ${g.samples[1]} samples)`,
      });
    }
  }

  // Gauges and upstream.
  for (const g of c.gauges) {
    checks.push({
      name: `${g.replica} gauges back to 0`,
      pass: g.zeroAfterS !== undefined,
      detail: `gateway_in_flight_requests ${g.inFlight}, gateway_queued_requests ${g.queued}, gateway_backend_in_flight ${g.backendInFlight}${g.zeroAfterS === undefined ? ' (15 s after the load)' : ` (0 within ${g.zeroAfterS.toFixed(1)} s)`}`,
    });
  }
  const busy = Object.entries(c.simulatorsBusy).filter(([, n]) => n !== 0);
  checks.push({ name: 'simulators idle at the end (nothing left running upstream)', pass: busy.length === 0, detail: JSON.stringify(c.simulatorsBusy) });

  // Log lines.
  const logLines = logLineCheck(c.records, c.logs, c.prefix);
  checks.push({
    name: 'exactly one log line per request',
    pass: logLines.exactlyOnce === logLines.sent && logLines.unknown.length + logLines.wrongReplica.length + logLines.statusDiffers.length === 0,
    detail: `${logLines.exactlyOnce} of ${logLines.sent} once; missing ${list(logLines.missing)}; duplicated ${list(logLines.duplicated)}; unknown ${list(logLines.unknown)}; other replica ${list(logLines.wrongReplica)}; status differs ${list(logLines.statusDiffers)}`,
  });

  return {
    startedAt: c.startedAt,
    git: c.git,
    node: process.version,
    options: c.options,
    topology: {
      replicas: c.memory.map((m) => m.name),
      simulators: c.specs.map((s) => ({ name: s.name, backend: `${s.host}:${s.port}`, itlMs: s.itlMs, ttftMs: s.ttftMs })),
      keys: c.keys.map(({ name, rpm, tpm, share }) => ({ name, share, ...(rpm === undefined ? {} : { rpm }), ...(tpm === undefined ? {} : { tpm }) })),
    },
    durationS: c.durationS,
    kill: { backend: victimBackend, atS: c.kill.atMs / 1000, restartedAtS: c.kill.restartedMs / 1000, snapshot: { ...c.kill.snapshot } },
    requests: {
      total: c.records.length,
      byStatus: count(c.records, (r) => (r.outcome === 'aborted' ? 'aborted by client' : String(r.status ?? r.outcome))),
      byOutcome: count(c.records, (r) => `${r.stream ? 'stream' : 'json'} ${r.outcome}`),
      failedOverAtKill,
      failedOver: failedOver.length,
      rateLimited,
    },
    failures: { explained, unexplained },
    accounting,
    simGenerationTokensSum: c.simGenerationTokensSum,
    memory,
    gauges: c.gauges,
    simulatorsBusy: c.simulatorsBusy,
    logLines,
    checks,
  };
}

function fmt(what: string, v: number): string {
  return what === 'fds' ? v.toFixed(0) : `${(v / 1024 / 1024).toFixed(1)} MiB`;
}

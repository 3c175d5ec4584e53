/**
 * @module bench/cluster-report
 * The markdown of issues 10-12's scenarios: their bounds and verdicts, then one table per scenario (one
 * row per arm), with what only these scenarios have (prefix-cache hit rate, each backend's share, Redis).
 */
import type { Figure } from './aggregate.js';
import type { ClusterCheck, ClusterSummary } from './cluster-checks.js';
import { CLUSTER_SCENARIOS, type ClusterId } from './cluster-plan.js';
import type { ClusterWindow } from './cluster.js';
import { fmt } from './report-md.js';

export interface ClusterResults {
  scenarios: ClusterId[];
  windows: ClusterWindow[];
  summaries: ClusterSummary[];
  checks: ClusterCheck[];
  skipped: Record<string, string>;
  versions: string[];
  /** Per scenario with a Redis: its calls per command over the scenario (warm-up and readiness included). */
  redisCommandStats: Record<string, Record<string, number>>;
  /** Machine load (1-minute average from /proc/loadavg) before and after the cluster scenarios. */
  loadavg: { before: number; after: number };
}

const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
const table = (header: string[], rows: string[][]): string => [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
const pct = (v: number): string => (Number.isFinite(v) ? `${fmt(v * 100, 0)}%` : '–');
const pair = (a: Figure, b: Figure, d = 2): string => `${fmt(a.median, d)} / ${fmt(b.median, d)}`;

function verdict(c: ClusterCheck): string {
  if (c.figureOnly) return 'figure only';
  if (c.reason) return c.reason;
  return c.pass === undefined ? 'not measured' : c.pass ? 'met' : '**missed**';
}

function checkTable(checks: readonly ClusterCheck[]): string {
  return table(
    ['issue', 'figure', 'bound', 'measured', 'verdict'],
    checks.map((c) => [String(c.issue), c.label, c.limit, Number.isFinite(c.value) ? `${fmt(c.value)}${c.unit === '×' ? '×' : c.unit ? ` ${c.unit}` : ''}` : '–', verdict(c)]),
  );
}

function armTable(s: ClusterSummary): string {
  const scenario = CLUSTER_SCENARIOS[s.scenario as ClusterId];
  const stream = scenario.stream;
  const multi = scenario.sims.length > 1;
  const header = ['arm', 'req/s', 'latency p50 / p99 ms'];
  if (stream) header.push('TTFT p50 / p99 ms', 'gap p99 ms', 'tokens per burst');
  const responses = scenario.arms.some((a) => a.responses);
  if (responses) header.push('streams with token events ≠ usage tokens');
  header.push('CPU ms/req');
  if (stream) header.push('CPU ms/1k tokens');
  if (scenario.conversation) header.push('prefix-cache hit rate (tokens)');
  if (multi) header.push('share of requests per backend');
  if (scenario.arms.some((a) => a.redis)) header.push('Redis CPU ms/req', 'Redis scripts (round trips)/req');
  header.push('proxy core busy', 'upstream core busy', 'other CPU', 'failed');
  const rows = s.targets.map((t) => {
    const g = t.figures;
    const e = s.extras.find((x) => x.arm === t.target);
    const arm = scenario.arms.find((a) => a.id === t.target);
    const proxy = arm?.kind !== 'direct';
    const cells = [arm?.label ?? t.target, fmt(g.throughput.median, g.throughput.median >= 100 ? 0 : 1), pair(g.latencyP50, g.latencyP99)];
    if (stream) cells.push(pair(g.ttftP50, g.ttftP99), fmt(g.gapP99.median), fmt(g.tokensPerBurst.median, 1));
    if (responses) cells.push(e && e.tokenCountChecked > 0 ? `${e.tokenCountMismatches} of ${e.tokenCountChecked}` : '–');
    cells.push(proxy ? fmt(g.cpuPerReqMs.median, 3) : '–');
    if (stream) cells.push(proxy ? fmt(g.cpuPer1kTokensMs.median, 1) : '–');
    if (scenario.conversation) cells.push(pct(e?.prefixHitRate ?? Number.NaN));
    if (multi) cells.push((e?.backendShare ?? []).map(pct).join(' / ') || '–');
    if (scenario.arms.some((a) => a.redis)) cells.push(arm?.redis ? fmt(e?.redisCpuPerReqMs, 3) : '–', arm?.redis ? fmt(e?.redisCommandsPerReq, 1) : '–');
    const failed = g.failed.perRepeat.reduce((a, b) => a + b, 0);
    cells.push(proxy ? pct(g.proxyCoreBusy.median) : '–', pct(g.upstreamCoreBusy.median), pct(g.otherCpuBusy.median), failed > 0 ? `${failed} (${e?.failures.join('; ')})` : '0');
    return cells;
  });
  return table(header, rows);
}

function simLine(id: ClusterId): string {
  const s = CLUSTER_SCENARIOS[id];
  const groups = new Map<string, number>();
  for (const x of s.sims) {
    const key = `time to first token ${x.ttftMs} ms, ${x.itlMs} ms between tokens${x.prefillMsPerToken !== undefined ? `, prefill ${x.prefillMsPerToken} ms per uncached prompt token` : ''}, --max-num-seqs ${x.maxNumSeqs}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const sims = [...groups].map(([k, n]) => `${n} × (${k})`).join(' + ');
  const conc = [...new Set(s.arms.map((a) => a.concurrency ?? s.concurrency))].join(', ');
  const plural = conc === '1' ? 'connection' : 'connections';
  return `Simulators (127.0.0.2 upward): ${sims}. Load: ${s.stream ? 'streamed' : 'non-streaming'}, max_tokens ${s.maxTokens}, ${conc} ${plural} in a closed loop.`;
}

const NOTES: Partial<Record<ClusterId, string>> = {
  'scale-out': 'The gateway runs with MAX_CONCURRENT_REQUESTS = the backends\' --max-num-seqs and MAX_QUEUE = the connections, so it holds the excess itself; the ideal split has the load client spread its connections evenly over the simulators, which queue the excess. Capacity is simulated GPU time (slots × time per token), not CPU: both cores stay far from busy.',
  uneven: 'Below saturation (¾ of the slots in flight), so that where a request goes is a choice; at saturation the gateway can only send a request to the backend whose slot just freed, whatever the strategy. The last two arms allow the gateway twice the backends\' slots (MAX_CONCURRENT_REQUESTS=16 against --max-num-seqs 8) with as many requests in flight as there are slots (32), so a backend given more than its slots queues inside the simulator, where only least-loaded (which reads vllm:num_requests_waiting) sees it.',
  affinity: 'Each connection is one session re-sending its whole conversation with an `x-session-id`; sessions are new in every window (the first turn of each always misses). Hit rate = Σ vllm:prefix_cache_hits / Σ vllm:prefix_cache_queries over the four simulators\' /metrics deltas inside the window.',
  'cost-backends': 'All three arms talk to the same zero-delay simulators; MAX_CONCURRENT_REQUESTS=64 per backend, so nothing waits in the gateway\'s queue. The 4-backend gateway also scrapes four /metrics endpoints every 500 ms (that is part of its cost).',
  'cost-backends-paced': 'The control for the scenario above: there, the upstream core is the limit, and four simulator processes sharing it serve fewer requests per second than one, so the two gateways run at different rates (and CPU per request falls as the rate rises). Here every answer takes 50 ms of simulated time, which sets the rate for both.',
  'redis-c1': 'Both gateways use the same rate limits (RATE_LIMIT_RPM=100000000, RATE_LIMIT_TPM=10000000000, never refusing); one keeps them in memory, the other in a redis-server on 127.0.0.1 (no persistence, pinned to the upstream core). Redis CPU is read from /proc/<redis pid>/stat at the same moments as the gateway\'s. Where the gateway\'s core is the limit (c=64: see "proxy core busy"), added latency is mostly the added CPU per request showing up as queueing, not the round trip to Redis.',
  'responses-s64': 'Two identical gateways on the same simulator; one is sent chat completions, the other the same prompt through `POST /v1/responses` (streamed as typed events; `store` left at its default). Token events for Responses are `response.output_text.delta` events.',
};

export function renderCluster(c: ClusterResults): string {
  const out: string[] = [];
  out.push('## Several backends, the Redis store, the Responses API (issues 10, 11, 12)');
  out.push('');
  out.push(`Same run, after issue 5's scenarios. Machine load (1-minute average, the benchmark's own processes included) ${fmt(c.loadavg.before)} before these scenarios, ${fmt(c.loadavg.after)} after; "other CPU" in each table is what else ran during the window (near 0%: nothing else; tens of percent: the window shared the cores). Ratios and differences between arms are medians of per-repeat comparisons (arms interleaved, order rotated each repeat).${c.versions.length ? ` ${c.versions.join(', ')}.` : ''}`);
  out.push('');
  out.push("How: each scenario starts its own simulators (the CLI from dist, one process each, on 127.0.0.2, .3 ..., pinned with the load client to the upstream core), a redis-server when an arm needs one (same core), and one process per arm on the proxy core, each with the gateway setup listed above plus the arm's own settings. Each arm first takes unmeasured load, then every repeat measures each arm once in rotated order with a fresh load-client process, exactly as for issue 5's targets. CPU per request is the arm's process from /proc/<pid>/stat; the backends' counters (prefix-cache queries and hits, finished requests) are read from their /metrics at the window's start and end.");
  out.push('');
  out.push(c.checks.length > 0 ? checkTable(c.checks) : 'Smoke run: the gate for these scenarios is in the smoke table above.');
  for (const [k, v] of Object.entries(c.skipped)) out.push('', `- ${k}: not run: ${v}`);
  for (const s of c.summaries) {
    const id = s.scenario as ClusterId;
    out.push('', `### ${CLUSTER_SCENARIOS[id].label} (issue ${CLUSTER_SCENARIOS[id].issue})`, '', simLine(id));
    const note = NOTES[id] ?? (id === 'redis-c64' ? NOTES['redis-c1'] : id === 'responses-s256' ? NOTES['responses-s64'] : undefined);
    if (note) out.push('', note);
    out.push('', armTable(s));
    const stats = c.redisCommandStats[id];
    if (stats) {
      const calls = Object.entries(stats).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmt(v, 0)}`).join(', ');
      out.push('', `Redis calls per command over the whole scenario (warm-up and readiness included): ${calls}.`);
    }
  }
  out.push('');
  return out.join('\n');
}

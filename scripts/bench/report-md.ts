/**
 * @module bench/report-md
 * The markdown report of one run: the gateway's targets, a headline table in the shape of issue 5's, one
 * detailed table per scenario, the simulator's own cost, and how the figures were taken.
 */
import { figureOf, type Figure, type MetricId, type ScenarioSummary } from './aggregate.js';
import type { Check } from './checks.js';
import { SCENARIOS, type ScenarioId } from './plan.js';
import type { BenchResults } from './results.js';
import { TARGET_LABELS, type TargetId } from './targets.js';

/** A number for a table; a dash when it was not measured. */
export function fmt(v: number | undefined, digits = 2): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 100) return v.toFixed(Math.min(digits, 1));
  return v.toFixed(digits);
}

const signed = (v: number | undefined, digits = 2): string => (v !== undefined && Number.isFinite(v) && v > 0 ? `+${fmt(v, digits)}` : fmt(v, digits));

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(header: string[], rows: string[][]): string {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

function checkRow(c: Check): string[] {
  const verdict = c.pass === undefined ? 'not measured' : c.pass ? 'met' : '**missed**';
  const value = Number.isFinite(c.value) ? `${fmt(c.value)}${c.unit === '×' ? '×' : c.unit ? ` ${c.unit}` : ''}` : '–';
  return [c.label, c.limit, value, verdict];
}

const label = (t: string): string => TARGET_LABELS[t as TargetId] ?? t;

function headline(r: BenchResults): string {
  const s = r.summaries;
  const f = (scenario: ScenarioId, target: string, metric: MetricId): Figure | undefined => figureOf(s, scenario, target, metric);
  const rows = r.targets
    .filter((t) => !t.skipped)
    .map((t) => {
      const id = t.id;
      return [
        label(id),
        id === 'direct' ? (f('ns-c1', id, 'throughput') ? '1' : '–') : fmt(f('ns-c1', id, 'throughput')?.ratio.direct),
        fmt(f('ns-c64', id, 'cpuPerReqMs')?.median, 3),
        id === 'direct' ? '0' : signed(f('ns-c1', id, 'latencyP50')?.added.direct),
        id === 'direct' ? '0 / 0' : `${signed(f('s64-c100', id, 'ttftP50')?.added.direct, 1)} / ${signed(f('s64-c100', id, 'ttftP99')?.added.direct, 1)}`,
        fmt(f('s64-c100', id, 'cpuPer1kTokensMs')?.median, 1),
        fmt(f('s256-c32', id, 'cpuPer1kTokensMs')?.median, 1),
        id === 'direct' ? '0' : signed(f('s256-c32', id, 'gapP99')?.added.direct),
        fmt(f('idle-1000', id, 'rssMb')?.median, 0),
      ];
    });
  return table(
    [
      'target',
      'non-stream c=1 throughput / direct',
      'CPU ms/req (c=64)',
      'added p50 ms (c=1)',
      'stream c=100: added TTFT p50 / p99 ms',
      'CPU ms per 1k streamed tokens (c=100)',
      'CPU ms per 1k tokens (256 tokens, no delay, c=32)',
      'added gap p99 ms (no delay)',
      'RSS MB (1,000 open streams)',
    ],
    rows,
  );
}

function scenarioTable(summary: ScenarioSummary): string {
  const scenario = SCENARIOS[summary.scenario as ScenarioId];
  if (scenario.mode === 'idle') {
    return table(
      ['target', 'streams open', 'RSS before MB', 'RSS open MB (per repeat)', 'RSS after close MB (per repeat)', 'CPU ms per 1k stream-seconds while idle', 'first token p50 / p99 ms', 'upstream streams left running after the client left'],
      summary.targets.map((t) => {
        const g = t.figures;
        const proxy = t.target !== 'direct';
        const series = (f: Figure): string => `${fmt(f.median, 0)} (${f.perRepeat.map((v) => fmt(v, 0)).join(', ')})`;
        return [
          label(t.target),
          fmt(g.openStreams.median, 0),
          proxy ? fmt(g.rssBeforeMb.median, 0) : '–',
          proxy ? series(g.rssMb) : '–',
          proxy ? series(g.rssAfterMb) : '–',
          proxy ? fmt(g.idleCpuMsPer1kStreamSeconds.median, 1) : '–',
          `${fmt(g.ttftP50.median, 1)} / ${fmt(g.ttftP99.median, 1)}`,
          g.upstreamLeftRunning.perRepeat.map((v) => fmt(v, 0)).join(', '),
        ];
      }),
    );
  }
  const stream = scenario.stream;
  const header = ['target', 'req/s', '× direct', 'latency p50 / p99 ms', 'added p50 / p99 ms'];
  if (stream) header.push('TTFT p50 / p99 ms', 'added TTFT p50 / p99 ms', 'gap p99 ms', 'tokens per burst', 'tokens/s');
  header.push('CPU ms/req', stream ? 'CPU ms/1k tokens' : 'CPU × bare', stream ? 'CPU × bare' : 'CPU × Portkey', 'proxy core busy', 'other CPU', 'RSS MB', 'failed');
  const rows = summary.targets.map((t) => {
    const g = t.figures;
    const direct = t.target === 'direct';
    const cells = [
      label(t.target),
      fmt(g.throughput.median, 0),
      direct ? '1' : fmt(g.throughput.ratio.direct),
      `${fmt(g.latencyP50.median)} / ${fmt(g.latencyP99.median)}`,
      direct ? '–' : `${signed(g.latencyP50.added.direct)} / ${signed(g.latencyP99.added.direct)}`,
    ];
    if (stream) {
      cells.push(
        `${fmt(g.ttftP50.median)} / ${fmt(g.ttftP99.median)}`,
        direct ? '–' : `${signed(g.ttftP50.added.direct)} / ${signed(g.ttftP99.added.direct)}`,
        fmt(g.gapP99.median),
        fmt(g.tokensPerBurst.median, 1),
        fmt(g.tokensPerS.median, 0),
      );
    }
    const cpuVs = stream ? g.cpuPer1kTokensMs : g.cpuPerReqMs;
    cells.push(
      fmt(g.cpuPerReqMs.median, 3),
      stream ? fmt(g.cpuPer1kTokensMs.median, 1) : fmt(cpuVs.ratio.bare),
      stream ? fmt(cpuVs.ratio.bare) : fmt(cpuVs.ratio.portkey),
      direct ? '–' : `${fmt(g.proxyCoreBusy.median * 100, 0)}%`,
      `${fmt(g.otherCpuBusy.median * 100, 0)}%`,
      fmt(g.rssMb.median, 0),
      String(g.failed.perRepeat.reduce((a, b) => a + b, 0)),
    );
    return cells;
  });
  return table(header, rows);
}

function upstreamTable(r: BenchResults): string {
  const rows = r.summaries
    .filter((s) => SCENARIOS[s.scenario as ScenarioId].mode !== 'idle')
    .map((s) => {
      const d = s.targets.find((t) => t.target === 'direct')?.figures;
      const busiest = Math.max(...s.targets.map((t) => t.figures.upstreamCoreBusy.median).filter(Number.isFinite));
      return [
        SCENARIOS[s.scenario as ScenarioId].label,
        fmt(d?.simCpuPerReqMs.median, 3),
        fmt(d?.simCpuPer1kTokensMs.median, 1),
        fmt(d?.clientCpuPerReqMs.median, 3),
        `${fmt((d?.upstreamCoreBusy.median ?? Number.NaN) * 100, 0)}%`,
        `${fmt(busiest * 100, 0)}%`,
      ];
    });
  return table(['scenario', 'simulator CPU ms/req (direct)', 'simulator CPU ms/1k tokens', 'load client CPU ms/req', 'upstream core busy (direct)', 'upstream core busy (busiest target)'], rows);
}

/** `extra`: further sections (issues 10-12, cluster-report.ts), placed before "The upstream side". */
export function renderMarkdown(r: BenchResults, chartFile: string, extra?: string): string {
  const out: string[] = [];
  out.push(`# Gateway benchmark: ${r.plan.name} run of ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`);
  out.push('');
  out.push(`Reproduce with \`${r.command}\` (${fmt(r.durationS / 60, 1)} minutes here). Machine: ${r.machine.cpuModel}, ${r.machine.cores} cores, Linux ${r.machine.kernel}, Node ${r.machine.node}; commit \`${r.git.commit.slice(0, 10)}\`${r.git.dirty ? ' with uncommitted changes' : ''}.`);
  out.push(`Placement: ${r.machine.placement}.`);
  out.push('');
  out.push(`![added latency and CPU per token by target](${chartFile})`);
  out.push('');
  out.push('## The gateway against its targets (issue 5)');
  out.push('');
  out.push(table(['target', 'bound', 'measured', 'verdict'], r.checks.map(checkRow)));
  if (r.smoke) {
    out.push('');
    out.push(`Smoke gate (${r.smoke.pass ? 'passed' : '**failed**'}):`);
    out.push('');
    out.push(table(['check', 'bound', 'measured', 'verdict'], r.smoke.checks.map(checkRow)));
  }
  out.push('');
  out.push('## Headline figures');
  out.push('');
  out.push('Medians over interleaved repeats; "added" and "/ direct" are medians of per-repeat differences and ratios to the client talking straight to the simulator. CPU is the proxy process (tree) alone, from /proc/<pid>/stat. Compare streaming CPU figures only within one run.');
  out.push('');
  out.push(headline(r));
  out.push('');
  out.push('## Targets');
  out.push('');
  for (const t of r.targets) out.push(`- **${label(t.id)}**: ${t.skipped ? `not run: ${t.skipped}` : t.version}`);
  out.push('');
  out.push('The gateway ran with everything production uses:');
  out.push('');
  for (const line of r.gatewaySetup) out.push(`- ${line}`);
  for (const s of r.summaries) {
    const scenario = SCENARIOS[s.scenario as ScenarioId];
    out.push('');
    out.push(`## ${scenario.label}`);
    out.push('');
    out.push(`Simulator: time to first token ${scenario.sim.ttftMs} ms, ${scenario.sim.itlMs} ms between tokens; max_tokens ${scenario.maxTokens}${scenario.stream ? ', stream with include_usage' : ''}.`);
    out.push('');
    out.push(scenarioTable(s));
  }
  if (extra) {
    out.push('');
    out.push(extra.trimEnd());
  }
  out.push('');
  out.push('## The upstream side');
  out.push('');
  out.push('The simulator and the load client share the upstream core. Their own CPU per request shows that they were not what limited the proxies (a proxy is the bottleneck when its core is busy near 100% and the upstream core is not).');
  out.push('');
  out.push(upstreamTable(r));
  out.push('');
  out.push('## How the figures were taken');
  out.push('');
  out.push(`- Each scenario restarts the simulator (its CLI from dist, own process) and every target. Each target first takes ${r.plan.targetWarmMs} ms of unmeasured load. Then ${r.plan.repeats} repeats run the targets interleaved, the order rotated every repeat.`);
  out.push(`- Every window uses a fresh load-client process: ${r.plan.warmupMs} ms of load, then a ${r.plan.windowMs} ms measured window while the load continues (closed loop: each of the N connections sends its next request when the previous one ends; the connections start spread over 90% of the warm-up, so equal-length streams do not run in lock-step and arrive as a herd). Requests ending inside the window count; CPU is read from /proc/<pid>/stat (utime+stime, all threads; nginx's master and worker summed) at the client's window-start and window-end signals; RSS from /proc/<pid>/status at window end.`);
  out.push('- Streaming: the client times every SSE event that carries text as it arrives (several events in one read share a time, so batching shows as a long gap after zeros). TTFT runs from sending the request to the first such event. "Tokens per burst" counts how many tokens reach the client together (events of one stream less than 0.05 ms apart, i.e. from one socket read): a proxy that holds tokens back raises it above the figure for direct, even when too few gaps are long to move the gap p99. Tokens per 1k are counted from these events (one token per event: the simulator sends one token per chunk).');
  out.push(`- Idle streams: 1,000 streams opened in batches of 100; once each has delivered its first token the client holds them for ${r.plan.holdMs} ms (the next token is a minute away), RSS is read, then the client aborts them all. "RSS after" and the simulator's count of requests still running (vllm:num_requests_running + waiting, less those before the window) are read 1 s later. There is no warm-up round here: the first repeat shows a fresh process.`);
  out.push(`- "Other CPU" is what the whole machine spent in the window (from /proc/stat, as a share of one core) less the proxy, the simulator and the client: the benchmark driver, the kernel's share of loopback traffic, and whatever else was running. A few percent is the driver and the kernel; much more means something else was competing for the cores and the window is noisy. Per-process times and the machine total are accounted differently by the kernel, so values within about ±10% (negative ones included) are that disagreement, not load.
- CPU time resolution is one clock tick (${1000 / r.machine.clockTicksPerSecond} ms); windows are long enough that a proxy uses hundreds of ticks in each.`);
  out.push('');
  return out.join('\n');
}

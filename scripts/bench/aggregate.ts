/**
 * @module bench/aggregate
 * From measured windows to figures. Every figure is first computed per window; a target's figure is the
 * median over its repeats, and a comparison with another target (direct, the bare proxy, Portkey) is the
 * median of the per-repeat ratios (or differences) between windows of the same repeat. Repeats are
 * interleaved, so a ratio within one repeat compares runs a few seconds apart, which is what keeps it
 * steady on a noisy machine (issue 5).
 */
import type { WindowMeasurement } from './measure.js';
import { difference, median, ratio } from './stats.js';

export const METRIC_IDS = [
  'throughput',
  'tokensPerS',
  'latencyP50',
  'latencyP99',
  'ttftP50',
  'ttftP99',
  'gapP99',
  'tokensPerBurst',
  'cpuPerReqMs',
  'cpuPer1kTokensMs',
  'simCpuPerReqMs',
  'simCpuPer1kTokensMs',
  'clientCpuPerReqMs',
  'proxyCoreBusy',
  'upstreamCoreBusy',
  'otherCpuBusy',
  'rssMb',
  'rssBeforeMb',
  'rssAfterMb',
  'idleCpuMsPer1kStreamSeconds',
  'openStreams',
  'upstreamLeftRunning',
  'failed',
] as const;
export type MetricId = (typeof METRIC_IDS)[number];

const per = (a: number | undefined, b: number, scale = 1): number => (a === undefined || b <= 0 ? Number.NaN : (a / b) * scale);

/** Every figure of one window; NaN where it does not apply (no proxy for direct, no tokens without streaming). */
export function windowFigures(m: WindowMeasurement): Record<MetricId, number> {
  const seconds = m.load.windowMs / 1000;
  const stream = m.load.tokens > 0;
  const idle = m.mode === 'idle';
  return {
    throughput: idle ? Number.NaN : per(m.load.completed, seconds),
    tokensPerS: stream && !idle ? per(m.load.tokens, seconds) : Number.NaN,
    latencyP50: idle ? Number.NaN : m.load.latency.p50,
    latencyP99: idle ? Number.NaN : m.load.latency.p99,
    ttftP50: m.load.ttft.p50,
    ttftP99: m.load.ttft.p99,
    gapP99: idle ? Number.NaN : m.load.gap.p99,
    tokensPerBurst: stream && !idle ? per(m.load.tokens, m.load.tokenBursts) : Number.NaN,
    cpuPerReqMs: idle ? Number.NaN : per(m.cpuMs.proxy, m.load.completed),
    cpuPer1kTokensMs: stream && !idle ? per(m.cpuMs.proxy, m.load.tokens, 1000) : Number.NaN,
    simCpuPerReqMs: idle ? Number.NaN : per(m.cpuMs.sim, m.load.completed),
    simCpuPer1kTokensMs: stream && !idle ? per(m.cpuMs.sim, m.load.tokens, 1000) : Number.NaN,
    clientCpuPerReqMs: idle ? Number.NaN : per(m.cpuMs.client, m.load.completed),
    proxyCoreBusy: per(m.cpuMs.proxy, m.wallMs),
    upstreamCoreBusy: per(m.cpuMs.sim + m.cpuMs.client, m.wallMs),
    otherCpuBusy: per(m.otherCpuMs, m.wallMs),
    rssMb: m.rssMb.proxy ?? Number.NaN,
    rssBeforeMb: m.proxyRssBeforeMb ?? Number.NaN,
    rssAfterMb: m.proxyRssAfterMb ?? Number.NaN,
    idleCpuMsPer1kStreamSeconds: idle ? per(m.cpuMs.proxy, m.load.openStreams * seconds, 1000) : Number.NaN,
    openStreams: idle ? m.load.openStreams : Number.NaN,
    upstreamLeftRunning: m.upstreamLeftRunning ?? Number.NaN,
    failed: m.load.failed,
  };
}

export const BASELINES = ['direct', 'bare', 'portkey'] as const;
export type Baseline = (typeof BASELINES)[number];

export interface Figure {
  /** Median over repeats. */
  median: number;
  perRepeat: number[];
  /** Median of per-repeat ratios to a baseline target. */
  ratio: Partial<Record<Baseline, number>>;
  /** Median of per-repeat differences from a baseline target. */
  added: Partial<Record<Baseline, number>>;
}

export interface TargetSummary {
  target: string;
  repeats: number;
  figures: Record<MetricId, Figure>;
}

export interface ScenarioSummary {
  scenario: string;
  targets: TargetSummary[];
}

/** Windows of one scenario → one summary per target, in the order given. */
export function summariseScenario(scenario: string, targets: readonly string[], windows: readonly WindowMeasurement[]): ScenarioSummary {
  const mine = windows.filter((w) => w.scenario === scenario);
  const figuresOf = new Map<string, Map<number, Record<MetricId, number>>>();
  for (const w of mine) {
    let byRepeat = figuresOf.get(w.target);
    if (!byRepeat) figuresOf.set(w.target, (byRepeat = new Map()));
    byRepeat.set(w.repeat, windowFigures(w));
  }
  const summaries: TargetSummary[] = [];
  for (const target of targets) {
    const byRepeat = figuresOf.get(target);
    if (!byRepeat) continue;
    const repeats = [...byRepeat.keys()].sort((a, b) => a - b);
    const figures = {} as Record<MetricId, Figure>;
    for (const metric of METRIC_IDS) {
      const perRepeat = repeats.map((r) => (byRepeat.get(r) as Record<MetricId, number>)[metric]);
      const fig: Figure = { median: median(perRepeat), perRepeat, ratio: {}, added: {} };
      for (const base of BASELINES) {
        const other = figuresOf.get(base);
        if (!other || base === target) continue;
        const pairs = repeats.filter((r) => other.has(r));
        const theirs = (r: number): number => (other.get(r) as Record<MetricId, number>)[metric];
        const mineAt = (r: number): number => (byRepeat.get(r) as Record<MetricId, number>)[metric];
        fig.ratio[base] = median(pairs.map((r) => ratio(mineAt(r), theirs(r))));
        fig.added[base] = median(pairs.map((r) => difference(mineAt(r), theirs(r))));
      }
      figures[metric] = fig;
    }
    summaries.push({ target, repeats: repeats.length, figures });
  }
  return { scenario, targets: summaries };
}

/** The figure of `target` in `scenario`, if both were measured. */
export function figureOf(summaries: readonly ScenarioSummary[], scenario: string, target: string, metric: MetricId): Figure | undefined {
  return summaries.find((s) => s.scenario === scenario)?.targets.find((t) => t.target === target)?.figures[metric];
}

import { describe, expect, it } from 'vitest';
import { summariseScenario, windowFigures } from '../../scripts/bench/aggregate.js';
import { gatewayChecks, smokeChecks } from '../../scripts/bench/checks.js';
import type { LoadResult } from '../../scripts/bench/load-protocol.js';
import type { WindowMeasurement } from '../../scripts/bench/measure.js';
import { distribution } from '../../scripts/bench/stats.js';

function load(completed: number, tokens = 0, failed = 0): LoadResult {
  return {
    windowMs: 1000,
    completed,
    failed,
    failedTotal: failed,
    failures: [],
    tokens,
    tokenBursts: tokens,
    latency: distribution([10, 20]),
    ttft: distribution(tokens > 0 ? [5] : []),
    gap: distribution(tokens > 0 ? [1] : []),
    openStreams: 0,
    tokenCountMismatches: 0,
    tokenCountChecked: 0,
  };
}

function win(scenario: string, target: string, repeat: number, completed: number, proxyCpuMs: number | undefined, tokens = 0): WindowMeasurement {
  return {
    scenario,
    target,
    repeat,
    mode: 'closed-loop',
    load: load(completed, tokens),
    wallMs: 1000,
    cpuMs: { proxy: proxyCpuMs, sim: 100, client: 50 },
    rssMb: { proxy: proxyCpuMs === undefined ? undefined : 80, sim: 60 },
    otherCpuMs: 30,
  };
}

describe('windowFigures', () => {
  it('derives throughput and CPU per request and per 1k tokens from one window', () => {
    const f = windowFigures(win('s', 'bare', 0, 200, 400, 8000));
    expect(f.throughput).toBe(200);
    expect(f.cpuPerReqMs).toBe(2);
    expect(f.cpuPer1kTokensMs).toBe(50);
    expect(f.tokensPerS).toBe(8000);
    expect(f.upstreamCoreBusy).toBeCloseTo(0.15, 10);
  });

  it('has no proxy CPU for direct', () => {
    const f = windowFigures(win('s', 'direct', 0, 200, undefined));
    expect(f.cpuPerReqMs).toBeNaN();
    expect(f.rssMb).toBeNaN();
  });
});

describe('summariseScenario', () => {
  // Throughput drifts between repeats (noisy machine); within a repeat the gateway is always at 0.5x direct.
  const windows = [
    win('ns', 'direct', 0, 1000, undefined), win('ns', 'gateway', 0, 500, 250), win('ns', 'bare', 0, 800, 100),
    win('ns', 'direct', 1, 2000, undefined), win('ns', 'gateway', 1, 1000, 600), win('ns', 'bare', 1, 1500, 200),
    win('ns', 'direct', 2, 600, undefined), win('ns', 'gateway', 2, 300, 200), win('ns', 'bare', 2, 500, 100),
  ];
  const summary = summariseScenario('ns', ['direct', 'gateway', 'bare', 'portkey'], windows);

  it('reports the median of per-repeat ratios, not the ratio of medians', () => {
    const gw = summary.targets.find((t) => t.target === 'gateway');
    expect(gw?.figures.throughput.ratio.direct).toBe(0.5);
    expect(gw?.figures.throughput.median).toBe(500);
    // CPU per request: gateway 0.5, 0.6, 0.667 ms; bare 0.125, 0.1333, 0.2 -> ratios 4, 4.5, 3.33
    expect(gw?.figures.cpuPerReqMs.ratio.bare).toBeCloseTo(4, 10);
    expect(gw?.figures.cpuPerReqMs.perRepeat).toHaveLength(3);
  });

  it('skips targets that never ran and baselines that are absent', () => {
    expect(summary.targets.map((t) => t.target)).toEqual(['direct', 'gateway', 'bare']);
    expect(summary.targets[1]?.figures.throughput.ratio.portkey).toBeUndefined();
  });

  it('gives added figures as per-repeat differences', () => {
    const gw = summary.targets.find((t) => t.target === 'gateway');
    expect(gw?.figures.latencyP50.added.direct).toBe(0);
  });

  it('feeds the smoke gate, which fails on a gross ratio and passes a modest one', () => {
    const streaming = [0, 1, 2].flatMap((r) => [win('s256-c32', 'gateway', r, 100, 130, 25_600), win('s256-c32', 'bare', r, 100, 100, 25_600)]);
    const renamed = summariseScenario('ns-c64', ['gateway', 'bare'], windows.map((w) => ({ ...w, scenario: 'ns-c64' })));
    const stream = summariseScenario('s256-c32', ['gateway', 'bare'], streaming);
    const strict = smokeChecks([renamed, stream], 2.5);
    expect(strict.find((c) => c.id === 'smoke-cpu-per-request')?.pass).toBe(false);
    expect(strict.find((c) => c.id === 'smoke-cpu-per-token')?.pass).toBe(true);
    expect(strict.find((c) => c.id === 'smoke-no-failures')?.pass).toBe(true);
    expect(smokeChecks([renamed, stream], 5).every((c) => c.pass)).toBe(true);
  });

  it('leaves a gateway check unjudged when its baseline was not measured', () => {
    const checks = gatewayChecks([summariseScenario('ns-c1', ['gateway'], windows.map((w) => ({ ...w, scenario: 'ns-c1' })))]);
    const vsPortkey = checks.find((c) => c.id === 'throughput-vs-portkey');
    expect(vsPortkey?.pass).toBeUndefined();
  });
});

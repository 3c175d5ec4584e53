import { describe, expect, it } from 'vitest';
import { clusterChecks, clusterSmokeChecks, compareArms, summariseCluster } from '../../scripts/bench/cluster-checks.js';
import { armBody, CLUSTER_SCENARIOS } from '../../scripts/bench/cluster-plan.js';
import { renderCluster } from '../../scripts/bench/cluster-report.js';
import type { ClusterWindow } from '../../scripts/bench/cluster.js';
import type { LoadResult } from '../../scripts/bench/load-protocol.js';
import { distribution } from '../../scripts/bench/stats.js';
import type { SimCounters } from '../../scripts/bench/simulator.js';

function load(completed: number, o: Partial<LoadResult> = {}): LoadResult {
  return {
    windowMs: 1000,
    completed,
    failed: 0,
    failedTotal: 0,
    failures: [],
    tokens: 0,
    tokenBursts: 0,
    latency: distribution([10, 20]),
    ttft: distribution([]),
    gap: distribution([]),
    openStreams: 0,
    tokenCountMismatches: 0,
    tokenCountChecked: 0,
    ...o,
  };
}

const counters = (requests: number, queries = 0, hits = 0): SimCounters => ({ prefixQueries: queries, prefixHits: hits, generationTokens: requests * 32, requests });

function win(scenario: string, target: string, repeat: number, completed: number, o: { cpu?: number; backends?: SimCounters[]; load?: Partial<LoadResult>; redis?: number } = {}): ClusterWindow {
  return {
    scenario,
    target,
    repeat,
    mode: 'closed-loop',
    load: load(completed, o.load),
    wallMs: 1000,
    cpuMs: { proxy: o.cpu, sim: 100, client: 50 },
    rssMb: { proxy: o.cpu === undefined ? undefined : 80, sim: 60 },
    otherCpuMs: 0,
    backends: o.backends ?? [counters(completed)],
    ...(o.redis !== undefined ? { extraCpuMs: { redis: o.redis }, redisCommands: completed * 2 } : {}),
  };
}

describe('compareArms', () => {
  it('takes the median of per-repeat ratios and differences, pairing repeats by position', () => {
    const a = { median: 0, perRepeat: [2, 4, 9], ratio: {}, added: {} };
    const b = { median: 0, perRepeat: [1, 2, 3], ratio: {}, added: {} };
    expect(compareArms(a, b, 'ratio')).toBe(2);
    expect(compareArms(a, b, 'difference')).toBe(2);
    expect(compareArms(a, undefined, 'ratio')).toBeNaN();
  });
});

describe('summariseCluster', () => {
  it('reads the prefix-cache hit rate over all backends and each backend\'s share of the requests', () => {
    const s = CLUSTER_SCENARIOS.affinity;
    const windows = [0, 1, 2].flatMap((r) => [
      win('affinity', 'affinity-on', r, 40, { cpu: 100, backends: [counters(10, 1000, 900), counters(30, 3000, 2700)] }),
      win('affinity', 'affinity-off', r, 20, { cpu: 100, backends: [counters(10, 2000, 500), counters(10, 2000, 500)] }),
    ]);
    const [summary] = summariseCluster([s], windows);
    const on = summary?.extras.find((e) => e.arm === 'affinity-on');
    expect(on?.prefixHitRate).toBeCloseTo(0.9);
    expect(on?.backendShare).toEqual([0.25, 0.75]);
    expect(summary?.extras.find((e) => e.arm === 'affinity-off')?.prefixHitRate).toBeCloseTo(0.25);
  });
});

describe('clusterChecks', () => {
  const scaleWindows = (gatewayRps: number): ClusterWindow[] =>
    [0, 1, 2].flatMap((r) => [win('scale-out', 'gateway-4', r, gatewayRps, { cpu: 300 }), win('scale-out', 'ideal-4', r, 100)]);

  it('meets the 4-backend scale-out bound at 0.95× the ideal split and misses it below', () => {
    const s = [CLUSTER_SCENARIOS['scale-out']];
    const pass = clusterChecks(summariseCluster(s, scaleWindows(96)), []).find((c) => c.id === 'scale-4');
    const miss = clusterChecks(summariseCluster(s, scaleWindows(90)), []).find((c) => c.id === 'scale-4');
    expect(pass?.value).toBeCloseTo(0.96);
    expect(pass?.pass).toBe(true);
    expect(miss?.pass).toBe(false);
  });

  it('marks the Responses figures "not measured" when the route answers 404', () => {
    const s = [CLUSTER_SCENARIOS['responses-s64']];
    const windows = [0, 1, 2].flatMap((r) => [
      win('responses-s64', 'chat', r, 100, { cpu: 400, load: { tokens: 6400, tokenBursts: 6400, ttft: distribution([20]) } }),
      win('responses-s64', 'responses', r, 0, { cpu: 50, load: { failed: 100, failures: ['HTTP 404'] } }),
    ]);
    const checks = clusterChecks(summariseCluster(s, windows), []);
    const ttft = checks.find((c) => c.id === 'responses-ttft');
    expect(ttft?.pass).toBeUndefined();
    expect(ttft?.reason).toMatch(/route not wired/);
    expect(renderCluster({ scenarios: ['responses-s64'], windows, summaries: summariseCluster(s, windows), checks, skipped: {}, versions: [], redisCommandStats: {}, loadavg: { before: 0.5, after: 0.5 } })).toContain('not measured: route not wired yet');
  });

  it('prices Redis against the in-memory store and reports its own CPU per request', () => {
    const s = [CLUSTER_SCENARIOS['redis-c1']];
    const windows = [0, 1, 2].flatMap((r) => [win('redis-c1', 'memory', r, 1000, { cpu: 500 }), win('redis-c1', 'redis', r, 1000, { cpu: 550, redis: 100 })]);
    const checks = clusterChecks(summariseCluster(s, windows), []);
    expect(checks.find((c) => c.id === 'redis-cpu-c1')?.value).toBeCloseTo(1.1);
    expect(checks.find((c) => c.id === 'redis-cpu-c1')?.pass).toBe(true);
    expect(checks.find((c) => c.id === 'redis-own-c1')?.value).toBeCloseTo(0.1);
    expect(checks.find((c) => c.id === 'redis-own-c1')?.figureOnly).toBe(true);
  });

  it('fails the smoke gate when the 2-backend gateway falls far below the ideal split', () => {
    const s = [CLUSTER_SCENARIOS['scale-out-2']];
    const oneBackend = [0, 1, 2].flatMap((r) => [win('scale-out-2', 'gateway-2', r, 25, { cpu: 100, backends: [counters(25), counters(0)] }), win('scale-out-2', 'ideal-2', r, 50)]);
    expect(clusterSmokeChecks(summariseCluster(s, oneBackend)).map((c) => c.pass)).toEqual([false, false, true]);
    const fine = [0, 1, 2].flatMap((r) => [win('scale-out-2', 'gateway-2', r, 48, { cpu: 100, backends: [counters(24), counters(24)] }), win('scale-out-2', 'ideal-2', r, 50)]);
    expect(clusterSmokeChecks(summariseCluster(s, fine)).every((c) => c.pass)).toBe(true);
  });
});

describe('armBody', () => {
  it('sends the same prompt and length through chat and the Responses API', () => {
    const s = CLUSTER_SCENARIOS['responses-s64'];
    const chat = JSON.parse(armBody(s, s.arms[0]!)) as Record<string, unknown>;
    const responses = JSON.parse(armBody(s, s.arms[1]!)) as Record<string, unknown>;
    expect(chat).toMatchObject({ max_tokens: 64, stream: true, stream_options: { include_usage: true } });
    expect(responses).toMatchObject({ max_output_tokens: 64, stream: true, input: (chat.messages as { content: string }[])[0]?.content });
  });
});

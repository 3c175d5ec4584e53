/**
 * @module bench/plan
 * What the benchmark runs: the scenarios of issue 5, the targets, and how long each measured window is.
 * The full run fits in about ten minutes on two cores; the smoke run (CI) in well under a minute.
 */
import { CLUSTER_SCENARIOS, FULL_CLUSTER_IDS, SMOKE_CLUSTER_IDS, type ClusterScenario } from './cluster-plan.js';
import type { LoadSpec } from './load-protocol.js';
import { BENCH_MODEL, TARGET_IDS, type TargetId } from './targets.js';

export const SCENARIO_IDS = ['ns-c1', 'ns-c64', 's64-c100', 's256-c32', 'idle-1000'] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

export interface Scenario {
  id: ScenarioId;
  label: string;
  stream: boolean;
  concurrency: number;
  maxTokens: number;
  mode: LoadSpec['mode'];
  /** Simulator knobs (SIM_TTFT_MS, SIM_ITL_MS): the simulator is restarted for each scenario. */
  sim: { ttftMs: number; itlMs: number };
}

export const SCENARIOS: Readonly<Record<ScenarioId, Scenario>> = {
  // No upstream delay at all: what is left is the cost of the hops.
  'ns-c1': { id: 'ns-c1', label: 'non-streaming, concurrency 1', stream: false, concurrency: 1, maxTokens: 32, mode: 'closed-loop', sim: { ttftMs: 0, itlMs: 0 } },
  'ns-c64': { id: 'ns-c64', label: 'non-streaming, concurrency 64', stream: false, concurrency: 64, maxTokens: 32, mode: 'closed-loop', sim: { ttftMs: 0, itlMs: 0 } },
  // The model dominates: 64 tokens 10 ms apart, 100 streams.
  's64-c100': { id: 's64-c100', label: 'streaming 64 tokens, 10 ms apart, concurrency 100', stream: true, concurrency: 100, maxTokens: 64, mode: 'closed-loop', sim: { ttftMs: 20, itlMs: 10 } },
  // The proxy dominates: 256 tokens as fast as the sockets take them.
  's256-c32': { id: 's256-c32', label: 'streaming 256 tokens, no delay, concurrency 32', stream: true, concurrency: 32, maxTokens: 256, mode: 'closed-loop', sim: { ttftMs: 0, itlMs: 0 } },
  // Memory: 1,000 streams that have started and then wait (the next token is a minute away).
  'idle-1000': { id: 'idle-1000', label: '1,000 open idle streams', stream: true, concurrency: 1000, maxTokens: 1000, mode: 'idle', sim: { ttftMs: 0, itlMs: 60_000 } },
};

export interface RunPlan {
  name: 'full' | 'smoke' | 'profile';
  scenarios: Scenario[];
  /** The scenarios of issues 10-12 (several backends, Redis, Responses), run after `scenarios`. */
  cluster: ClusterScenario[];
  targets: TargetId[];
  /** Measured windows per scenario and target (targets interleaved, order rotated each repeat). */
  repeats: number;
  /** Load before each measured window (fresh client process: connections, caches). */
  warmupMs: number;
  windowMs: number;
  /** Idle scenario: how long the streams are held open. */
  holdMs: number;
  /** Unmeasured load on each target right after it starts (JIT), once per scenario. */
  targetWarmMs: number;
}

export function fullPlan(): RunPlan {
  return {
    name: 'full',
    scenarios: SCENARIO_IDS.map((id) => SCENARIOS[id]),
    cluster: FULL_CLUSTER_IDS.map((id) => CLUSTER_SCENARIOS[id]),
    targets: [...TARGET_IDS],
    repeats: 3,
    warmupMs: 1_000,
    windowMs: 3_000,
    holdMs: 2_000,
    targetWarmMs: 2_000,
  };
}

/** CI: the gateway against the bare Node proxy and direct, on the two proxy-bound scenarios. */
export function smokePlan(): RunPlan {
  return {
    name: 'smoke',
    scenarios: [SCENARIOS['ns-c64'], SCENARIOS['s256-c32']],
    cluster: SMOKE_CLUSTER_IDS.map((id) => CLUSTER_SCENARIOS[id]),
    targets: ['direct', 'gateway', 'bare'],
    repeats: 3,
    warmupMs: 300,
    windowMs: 1_000,
    holdMs: 1_000,
    targetWarmMs: 1_000,
  };
}

/** The gateway alone under `--cpu-prof`, one long window per proxy-bound scenario. */
export function profilePlan(): RunPlan {
  return {
    name: 'profile',
    scenarios: [SCENARIOS['ns-c64'], SCENARIOS['s256-c32']],
    cluster: [],
    targets: ['gateway'],
    repeats: 1,
    warmupMs: 1_000,
    windowMs: 8_000,
    holdMs: 0,
    targetWarmMs: 1_000,
  };
}

export function requestBody(s: Scenario): string {
  const body: Record<string, unknown> = {
    model: BENCH_MODEL,
    messages: [{ role: 'user', content: 'Tell me a short story about a lighthouse keeper.' }],
    max_tokens: s.maxTokens,
  };
  if (s.stream) {
    body.stream = true;
    // The gateway asks vLLM for usage on every stream; every target gets the same upstream work.
    body.stream_options = { include_usage: true };
  }
  return JSON.stringify(body);
}

/** The load for one window of scenario `s` against a target at `origin`. */
export function loadSpec(plan: RunPlan, s: Scenario, origin: string, headers: Record<string, string>, override?: Partial<LoadSpec>): LoadSpec {
  return {
    origin,
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', ...headers },
    body: requestBody(s),
    stream: s.stream,
    concurrency: s.concurrency,
    mode: s.mode,
    warmupMs: plan.warmupMs,
    windowMs: plan.windowMs,
    holdMs: plan.holdMs,
    openTimeoutMs: 20_000,
    openBatch: 100,
    ...override,
  };
}

/** Targets in the order used by repeat `r`: rotated, so no target always follows the same neighbour. */
export function rotation<T>(items: readonly T[], r: number): T[] {
  const k = items.length === 0 ? 0 : r % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

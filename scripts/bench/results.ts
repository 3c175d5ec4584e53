/**
 * @module bench/results
 * The shape of one benchmark run as written to `bench/results/latest.json` (NaN figures become null).
 */
import type { ClusterResults } from './cluster-report.js';
import type { ScenarioSummary } from './aggregate.js';
import type { Check } from './checks.js';
import type { WindowMeasurement } from './measure.js';
import type { RunPlan, Scenario } from './plan.js';
import type { TargetId } from './targets.js';

export interface TargetInfo {
  id: TargetId;
  label: string;
  /** Version and how it ran; empty when skipped. */
  version: string;
  /** Why it did not run, when it did not. */
  skipped?: string;
}

export interface BenchResults {
  schema: 'vllm-gateway-bench/1';
  plan: Pick<RunPlan, 'name' | 'repeats' | 'warmupMs' | 'windowMs' | 'holdMs' | 'targetWarmMs'>;
  command: string;
  startedAt: string;
  durationS: number;
  machine: { cpuModel: string; cores: number; kernel: string; node: string; clockTicksPerSecond: number; placement: string };
  git: { commit: string; dirty: boolean };
  /** What "everything on" meant for the gateway in this run. */
  gatewaySetup: string[];
  targets: TargetInfo[];
  scenarios: Scenario[];
  windows: WindowMeasurement[];
  summaries: ScenarioSummary[];
  checks: Check[];
  smoke?: { maxRatio: number; checks: Check[]; pass: boolean };
  /** The scenarios of issues 10-12 (several backends, Redis, Responses), when the plan had any. */
  cluster?: ClusterResults;
}

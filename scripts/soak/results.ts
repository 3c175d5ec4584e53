/**
 * @module soak/results
 * The soak's results as written to bench/results/soak/<name>.json and rendered into the markdown report.
 */
import type { Accounting, Check, FailureVerdict, Growth, LogLineCheck } from './checks.js';
import type { MemorySample } from './memory.js';

export interface ReplicaMemory {
  name: string;
  samples: MemorySample[];
  /** After traffic stopped and the gauges were read. */
  idle?: MemorySample;
  growth: { rss: Growth; heapAfterGc: Growth; fds: Growth };
}

export interface GaugeReading {
  replica: string;
  inFlight: number;
  queued: number;
  backendInFlight: number;
  /** Seconds after the last client request ended at which all three read 0 (undefined: never did). */
  zeroAfterS: number | undefined;
}

export interface SoakResults {
  startedAt: string;
  git: { commit: string; dirty: boolean };
  node: string;
  options: { minutes: number; concurrency: number; seed: number; warmupS: number; sampleEveryS: number; abortShare: number };
  topology: { replicas: string[]; simulators: { name: string; backend: string; itlMs: number; ttftMs: number }[]; keys: { name: string; rpm?: number; tpm?: number; share: number }[] };
  durationS: number;
  kill: { backend: string; atS: number; restartedAtS: number; snapshot: Record<string, number> } | undefined;
  requests: {
    total: number;
    byStatus: Record<string, number>;
    byOutcome: Record<string, number>;
    /** Requests in flight at the kill answered 200 after failing over. */
    failedOverAtKill: number;
    /** All requests answered 200 after failing over (the in-flight ones and those sent to the dead backend). */
    failedOver: number;
    rateLimited: Record<string, number>;
  };
  failures: { explained: FailureVerdict[]; unexplained: FailureVerdict[] };
  accounting: Accounting;
  /** vllm:request_generation_tokens_sum per simulator alive at the end (it counts aborted answers too). */
  simGenerationTokensSum: Record<string, number>;
  memory: ReplicaMemory[];
  gauges: GaugeReading[];
  /** vllm:num_requests_running + waiting per simulator at the end. */
  simulatorsBusy: Record<string, number>;
  logLines: LogLineCheck;
  checks: Check[];
}

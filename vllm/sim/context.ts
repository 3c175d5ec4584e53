/**
 * @module sim/context
 * The state one simulator instance shares between its HTTP layer and its running requests: config,
 * scheduler, metrics, the request log, the set of requests in flight and whether the engine is dead.
 */
import { SimMetrics } from './metrics.js';
import type { SimConfig } from './options.js';
import { RequestLog } from './records.js';
import { systemFingerprint } from './responses.js';
import { Scheduler, type SchedulerJob } from './scheduler.js';

/** A request between acceptance and its end, as the rest of the simulator needs to see it. */
export interface ActiveRun extends SchedulerJob {
  /** Prompt plus generated tokens held in the KV cache now. */
  kvTokens(): number;
  /** The engine died: fail the request the way vLLM does (vllm.md 1.1). */
  engineDied(): void;
}

export class SimContext {
  readonly config: SimConfig;
  readonly scheduler: Scheduler<ActiveRun>;
  readonly metrics: SimMetrics;
  readonly log = new RequestLog();
  readonly active = new Set<ActiveRun>();
  readonly fingerprint: string;
  engineDead = false;

  constructor(config: SimConfig) {
    this.config = config;
    this.scheduler = new Scheduler<ActiveRun>(config.maxNumSeqs);
    this.metrics = new SimMetrics(config.modelName);
    this.fingerprint = systemFingerprint(config);
  }

  kvCacheUsage(): number {
    let used = 0;
    for (const run of this.scheduler.runningJobs()) used += run.kvTokens();
    return Math.min(1, used / this.config.kvCacheTokens);
  }

  renderMetrics(): string {
    return this.metrics.render({ running: this.scheduler.running, waiting: this.scheduler.waiting, kvCacheUsage: this.kvCacheUsage() });
  }
}

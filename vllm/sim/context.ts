/**
 * @module sim/context
 * The state one simulator instance shares between its HTTP layer and its running requests: config,
 * scheduler, prefix cache, metrics, the request log, the set of requests in flight and whether the engine
 * is dead.
 *
 * vllm:kv_cache_usage_perc is counted in blocks, as vLLM's block pool does (1 - free / total): each running
 * sequence holds ceil(tokens / blockSize) blocks, and full prompt blocks that several running requests share
 * through the prefix cache are held once. Finished requests hold nothing (their cached blocks are free for
 * reuse in vLLM too). The fraction is capped at 1; admission is bounded by maxNumSeqs only.
 */
import { SimMetrics } from './metrics.js';
import type { SimConfig } from './options.js';
import { PrefixCache } from './prefix-cache.js';
import { RequestLog } from './records.js';
import { systemFingerprint } from './responses.js';
import { Scheduler, type SchedulerJob } from './scheduler.js';

/** A request between acceptance and its end, as the rest of the simulator needs to see it. */
export interface ActiveRun extends SchedulerJob {
  /**
   * KV blocks held now: adds the hashes of its shareable full prompt blocks to `shared` and returns the
   * count of the blocks it holds alone (partial and generated blocks).
   */
  kvBlocks(shared: Set<number>): number;
  /** The engine died: fail the request the way vLLM does (vllm.md 1.1). */
  engineDied(): void;
}

export class SimContext {
  readonly config: SimConfig;
  readonly scheduler: Scheduler<ActiveRun>;
  readonly metrics: SimMetrics;
  readonly prefixCache: PrefixCache;
  readonly log = new RequestLog();
  readonly active = new Set<ActiveRun>();
  readonly fingerprint: string;
  engineDead = false;

  constructor(config: SimConfig) {
    this.config = config;
    this.scheduler = new Scheduler<ActiveRun>(config.maxNumSeqs);
    this.metrics = new SimMetrics(config);
    this.prefixCache = new PrefixCache(config.enablePrefixCaching, config.blockSize, config.kvCacheBlocks);
    this.fingerprint = systemFingerprint(config);
  }

  kvCacheUsage(): number {
    const shared = new Set<number>();
    let own = 0;
    for (const run of this.scheduler.runningJobs()) own += run.kvBlocks(shared);
    return Math.min(1, (shared.size + own) / this.config.kvCacheBlocks);
  }

  renderMetrics(): string {
    return this.metrics.render({ running: this.scheduler.running, waiting: this.scheduler.waiting, kvCacheUsage: this.kvCacheUsage() });
  }
}

/**
 * @module backends/picker
 * Chooses the backend for one request among the candidates (usable, serving the model, with a free slot;
 * the set filters them). The signals live one per file in ./scorers, each saying what it reads and why
 * (STYLE.md, after llm-d's scheduling plugins); this file only composes them:
 *
 *   1. affinity (ROUTING_AFFINITY=on and a session key): the session's backend on the hash ring, if it is
 *      within ROUTING_AFFINITY_BOUND of the mean load;
 *   2. otherwise the strategy: least-loaded (power of two choices on load) or round-robin.
 *
 * The picker keeps the round-robin scores and the ring between requests: make one per gateway.
 */
import { AffinityRing } from './scorers/affinity.js';
import type { Candidate, Rng } from './scorers/candidate.js';
import { pickLeastLoaded } from './scorers/least-loaded.js';
import { RoundRobin } from './scorers/round-robin.js';

export interface PickContext {
  strategy: 'least-loaded' | 'round-robin';
  affinity: boolean;
  affinityBound: number;
  sessionKey?: string;
  rng?: Rng;
  /** One clock reading for every load compared in this pick. */
  now?: number;
}

export class Picker {
  readonly ring = new AffinityRing();
  readonly #roundRobin = new RoundRobin();

  pick<T extends Candidate>(candidates: readonly T[], ctx: PickContext): T | undefined {
    if (candidates.length <= 1) return candidates[0];
    if (ctx.affinity && ctx.sessionKey) {
      const sticky = this.ring.pick(candidates, ctx.sessionKey, ctx.affinityBound, ctx.now);
      if (sticky) return sticky;
    }
    if (ctx.strategy === 'round-robin') return this.#roundRobin.pick(candidates);
    return pickLeastLoaded(candidates, ctx.rng ?? Math.random, ctx.now);
  }

  /** Drop ring members that left the set (call on the set's change events; optional, the ring is bounded). */
  retain(ids: Iterable<string>): void {
    this.ring.retain(ids);
  }
}

/**
 * @module backends/scorers/round-robin
 * Smooth weighted round-robin (nginx's algorithm): each pick adds every candidate's weight to its running
 * score, takes the highest, and subtracts the total from the winner. Weights 2:1 give a, b, a, a, b, a...
 * rather than bursts. Reads nothing but the weights: kept for comparison with least-loaded (ROUTING=round-robin)
 * and for backends whose /metrics cannot be read.
 */
import { weightOf, type Candidate } from './candidate.js';

/** Scores of backends no longer seen are dropped past this many entries. */
const MAX_TRACKED = 1_024;

export class RoundRobin {
  readonly #current = new Map<string, number>();

  pick<T extends Candidate>(candidates: readonly T[]): T | undefined {
    if (candidates.length <= 1) return candidates[0];
    if (this.#current.size > MAX_TRACKED) this.#current.clear();
    let total = 0;
    let best: T | undefined;
    let bestScore = -Infinity;
    for (const c of candidates) {
      const w = weightOf(c);
      total += w;
      const score = (this.#current.get(c.id) ?? 0) + w;
      this.#current.set(c.id, score);
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    if (best) this.#current.set(best.id, bestScore - total);
    return best;
  }
}

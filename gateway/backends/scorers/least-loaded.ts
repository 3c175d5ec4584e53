/**
 * @module backends/scorers/least-loaded
 * Power of two choices (Mitzenmacher): draw two distinct candidates, send the request to the less loaded.
 * Reads `load()`: vLLM's running + waiting corrected by our own in-flight (see ../load.ts). Two random
 * choices instead of "the global minimum" because every gateway replica (and every request of a burst
 * between two scrapes) would otherwise pick the same backend (GIE#1700); two choices already give an
 * exponentially better maximum load than one random choice.
 *
 * Weights shape the draw: each of the two is drawn with probability proportional to its weight (the
 * second from the rest). The comparison is of load alone, which is already per unit of capacity
 * (maxConcurrent). Ties go to the lower in-flight count, then to a coin flip.
 */
import { weightedIndex, type Candidate, type Rng } from './candidate.js';

export function pickLeastLoaded<T extends Candidate>(candidates: readonly T[], rng: Rng, now?: number): T | undefined {
  if (candidates.length <= 1) return candidates[0];
  const i = weightedIndex(candidates, rng);
  const j = weightedIndex(candidates, rng, i);
  const a = candidates[i] as T;
  const b = candidates[j] as T;
  const la = a.load(now);
  const lb = b.load(now);
  if (la !== lb) return la < lb ? a : b;
  if (a.inFlight !== b.inFlight) return a.inFlight < b.inFlight ? a : b;
  return rng() < 0.5 ? a : b;
}

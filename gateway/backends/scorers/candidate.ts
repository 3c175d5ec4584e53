/**
 * @module backends/scorers/candidate
 * What a routing signal may read about a backend. A structural subset of `Backend`, so each scorer can be
 * tested with plain objects whose load is fixed.
 */
export interface Candidate {
  readonly id: string;
  readonly weight: number;
  readonly inFlight: number;
  readonly maxConcurrent: number;
  load(now?: number): number;
}

export type Rng = () => number;

/** Index drawn with probability proportional to weight, skipping `exclude`. */
export function weightedIndex(candidates: readonly Candidate[], rng: Rng, exclude = -1): number {
  let total = 0;
  for (let i = 0; i < candidates.length; i++) if (i !== exclude) total += weightOf(candidates[i] as Candidate);
  let r = rng() * total;
  let last = -1;
  for (let i = 0; i < candidates.length; i++) {
    if (i === exclude) continue;
    last = i;
    r -= weightOf(candidates[i] as Candidate);
    if (r < 0) return i;
  }
  // Float rounding (or rng() === 1): the last eligible one.
  return last;
}

/** A non-positive or missing weight still gets a minimal share, so it is never unreachable. */
export function weightOf(c: Candidate): number {
  return c.weight > 0 ? c.weight : 1e-6;
}

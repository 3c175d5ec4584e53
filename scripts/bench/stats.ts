/**
 * @module bench/stats
 * Percentiles and medians for the benchmark. Percentiles interpolate linearly between the two nearest
 * ranks (the "type 7" estimator that numpy and R use by default), so p99 of a small sample does not jump
 * straight to the maximum.
 */

/** Percentile `p` (0..100) of values already sorted ascending; NaN for an empty sample. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (p <= 0) return sorted[0] as number;
  if (p >= 100) return sorted[n - 1] as number;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const frac = rank - lo;
  const a = sorted[lo] as number;
  if (frac === 0) return a;
  return a + (((sorted[lo + 1] as number) - a) * frac);
}

/** Percentile `p` of unsorted values (they are copied, not reordered). */
export function percentile(values: readonly number[] | Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  return percentileSorted(sorted, p);
}

/** The median, ignoring NaN entries (a repeat that produced no figure); NaN when nothing is left. */
export function median(values: readonly number[]): number {
  return percentile(values.filter((v) => !Number.isNaN(v)), 50);
}

export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

export function distribution(values: readonly number[] | Float64Array): Distribution {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const n = sorted.length;
  return {
    n,
    p50: percentileSorted(sorted, 50),
    p99: percentileSorted(sorted, 99),
    mean: n === 0 ? Number.NaN : sum / n,
    max: n === 0 ? Number.NaN : (sorted[n - 1] as number),
  };
}

/** a / b, NaN when either is missing or b is zero (a ratio that cannot be formed is not a figure). */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return a / b;
}

/** a - b, NaN when either is missing. */
export function difference(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return Number.NaN;
  return a - b;
}

/**
 * A growable sample of numbers in a Float64Array: the load client records tens of thousands of gaps per
 * window, and boxed arrays of that size cost the client CPU it shares with the simulator.
 */
export class Sample {
  #data = new Float64Array(1024);
  #n = 0;

  push(v: number): void {
    if (this.#n === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#n++] = v;
  }

  get length(): number {
    return this.#n;
  }

  values(): Float64Array {
    return this.#data.subarray(0, this.#n);
  }
}

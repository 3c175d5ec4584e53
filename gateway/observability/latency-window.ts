/**
 * @module observability/latency-window
 * The last N request durations and times to first token, for the percentiles on /system/status.
 * Fixed-size rings: memory is bounded whatever the traffic.
 */
export class LatencyWindow {
  readonly #durations: Float64Array;
  readonly #ttfts: Float64Array;
  #d = 0;
  #t = 0;
  #dCount = 0;
  #tCount = 0;

  constructor(size = 1024) {
    this.#durations = new Float64Array(size);
    this.#ttfts = new Float64Array(size);
  }

  record(durationMs: number, ttftMs: number | undefined): void {
    this.#durations[this.#d] = durationMs;
    this.#d = (this.#d + 1) % this.#durations.length;
    this.#dCount = Math.min(this.#dCount + 1, this.#durations.length);
    if (ttftMs !== undefined) {
      this.#ttfts[this.#t] = ttftMs;
      this.#t = (this.#t + 1) % this.#ttfts.length;
      this.#tCount = Math.min(this.#tCount + 1, this.#ttfts.length);
    }
  }

  summary(): { samples: number; durationMs: Percentiles | null; ttftMs: Percentiles | null } {
    return {
      samples: this.#dCount,
      durationMs: percentiles(this.#durations.subarray(0, this.#dCount)),
      ttftMs: percentiles(this.#ttfts.subarray(0, this.#tCount)),
    };
  }
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

function percentiles(values: Float64Array): Percentiles | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

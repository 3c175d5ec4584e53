/**
 * @module backends/load
 * How busy a backend is, from two sources that fail differently (llm-d's concurrency-detector README makes
 * the same point): vLLM's own gauges (`vllm:num_requests_running` + `_waiting`, vllm.md 7) see every
 * client of that vLLM, including other gateway replicas, but arrive late; our in-flight count is exact and
 * instant but sees only us. So the load is vLLM's last reading, corrected by what *we* started or finished
 * since that reading, never below our own in-flight, over the backend's concurrency. Without the correction
 * a burst between two scrapes would all go to the backend that looked idle (GIE#1700).
 *
 * A reading older than three scrape intervals is stale and ignored: then the load is our in-flight alone.
 * A failed scrape never marks a backend dead (health is readiness' and the breaker's job); the old reading
 * simply ages out.
 */
import type { Pool } from 'undici';
import { parseVllmLoad } from '../upstream/vllm-load.js';

export interface VllmReading {
  running: number;
  waiting: number;
  /** Fraction 0..1 (vllm.md 7), null when vLLM does not export it. */
  kvCacheUsage: number | null;
  /** When the reading arrived (ms on the backend's clock). */
  at: number;
  /** Our own in-flight count at that moment. */
  inFlightAtScrape: number;
}

/** A reading is stale after this many scrape intervals. */
export const STALE_INTERVALS = 3;

export function computeLoad(
  reading: VllmReading | undefined,
  inFlight: number,
  maxConcurrent: number,
  now: number,
  metricsIntervalMs: number,
): number {
  if (!reading || now - reading.at > STALE_INTERVALS * metricsIntervalMs) return inFlight / maxConcurrent;
  const corrected = reading.running + reading.waiting + (inFlight - reading.inFlightAtScrape);
  return Math.max(corrected, inFlight) / maxConcurrent;
}

export interface LoadScraperOptions {
  pool: Pool;
  intervalMs: number;
  headers?: Record<string, string>;
  now: () => number;
  /** Our in-flight count, sampled when the answer arrives. */
  inFlight: () => number;
  /** Scrape only while this says so (e.g. the backend is ready and not draining). */
  active: () => boolean;
  onReading: (reading: VllmReading) => void;
  onError?: (message: string) => void;
}

/** Scrapes one backend's /metrics every interval, one request at a time, with short timeouts. */
export class LoadScraper {
  readonly #opts: LoadScraperOptions;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(options: LoadScraperOptions) {
    this.#opts = options;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.scrapeNow(), this.#opts.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One scrape, skipped while the previous one is still out. */
  async scrapeNow(): Promise<void> {
    if (this.#busy || !this.#opts.active()) return;
    this.#busy = true;
    // Short: a reading that takes longer than a couple of intervals is stale anyway.
    const timeout = Math.min(2_000, Math.max(250, 2 * this.#opts.intervalMs));
    try {
      const res = await this.#opts.pool.request({ path: '/metrics', method: 'GET', headers: this.#opts.headers, headersTimeout: timeout, bodyTimeout: timeout });
      const text = await res.body.text();
      if (res.statusCode !== 200) {
        this.#opts.onError?.(`/metrics answered ${res.statusCode}`);
        return;
      }
      const load = parseVllmLoad(text);
      // --disable-log-stats exports no vllm:* gauges (vllm.md 7): no reading, our in-flight count decides.
      if (load.running === null && load.waiting === null) return;
      this.#opts.onReading({
        running: load.running ?? 0,
        waiting: load.waiting ?? 0,
        kvCacheUsage: load.kvCacheUsage,
        at: this.#opts.now(),
        inFlightAtScrape: this.#opts.inFlight(),
      });
    } catch (err) {
      this.#opts.onError?.(`/metrics failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.#busy = false;
    }
  }
}

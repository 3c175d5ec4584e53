/**
 * @module backends/health
 * Passive and active health of one backend, as pure state machines with an injected clock, so tests can
 * walk them without sleeping.
 *
 * `Breaker` (passive, fed by real requests): `ejectFailures` consecutive failures eject the backend for a
 * backoff that starts at `ejectBaseMs` and doubles each time it fails again, up to `ejectMaxMs` (capped so a
 * recovered vLLM is back within seconds, issue 10). When the backoff ends the breaker is half-open: exactly
 * one request is let through and decides (success closes, failure ejects again with the doubled backoff).
 * The last usable backend of a model is never ejected: with a single VLLM_URL the gateway behaves exactly as
 * it did before there were several (the request fails, the next one tries again).
 *
 * `ProbeHistory` (active, fed by readiness probes) tells *starting* from *down*. vLLM refuses connections
 * while it loads (vllm.md 1.1), so a backend never ready since we started, or whose connection was just
 * refused, is starting; one that was ready and then failed `ejectFailures` probes in a row (503 from a dead
 * engine, timeouts) is down. The set uses the difference to answer "retry shortly" vs "not served".
 */
import type { FailureKind } from '../upstream/failures.js';
import type { ProbeOutcome } from '../upstream/readiness.js';

export interface BreakerOptions {
  ejectFailures: number;
  ejectBaseMs: number;
  ejectMaxMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * The failures that say something about the backend rather than the request: the connection, the engine,
 * or vLLM's 5xx. A 4xx is the client's fault; idle and total timeouts can be a long generation; `other` is
 * unknown, so it does not count.
 */
const COUNTED: ReadonlySet<FailureKind> = new Set<FailureKind>([
  'connect_refused',
  'connect_timeout',
  'reset',
  'first_byte_timeout',
  'http_5xx',
  'stream_truncated',
]);

export function countsAgainstBackend(kind: FailureKind): boolean {
  return COUNTED.has(kind);
}

export class Breaker {
  readonly #opts: BreakerOptions;
  #failures = 0;
  #open = false;
  #openUntil = 0;
  #backoffMs: number;
  #probeInFlight = false;

  constructor(options: BreakerOptions) {
    this.#opts = options;
    this.#backoffMs = options.ejectBaseMs;
  }

  state(now: number): BreakerState {
    if (!this.#open) return 'closed';
    return now >= this.#openUntil ? 'half-open' : 'open';
  }

  /** Consecutive counted failures since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** The backoff of the current (or next) ejection. */
  get backoffMs(): number {
    return this.#backoffMs;
  }

  /** When an ejection ends (ms on the injected clock); 0 when closed. */
  get openUntil(): number {
    return this.#open ? this.#openUntil : 0;
  }

  /** May a new request go to this backend now? Half-open lets exactly one through. */
  admits(now: number): boolean {
    const state = this.state(now);
    if (state === 'closed') return true;
    return state === 'half-open' && !this.#probeInFlight;
  }

  /** A request was sent (call after `admits`). In half-open it becomes the probe. */
  onTake(now: number): void {
    if (this.state(now) === 'half-open') this.#probeInFlight = true;
  }

  /** A request ended without a verdict (e.g. the client left): free the probe slot. */
  onRelease(): void {
    this.#probeInFlight = false;
  }

  /** Returns true when this success closed an ejection. */
  success(now: number): boolean {
    const state = this.state(now);
    // While open, old requests still finishing do not cut the backoff short: the half-open probe decides.
    if (state === 'open') return false;
    this.#failures = 0;
    this.#probeInFlight = false;
    this.#backoffMs = this.#opts.ejectBaseMs;
    if (state === 'half-open') {
      this.#open = false;
      return true;
    }
    return false;
  }

  /**
   * A counted failure. Returns true when it ejected the backend. `lastUsable`: no other usable backend
   * serves the model, so ejecting would only turn a failure into "no backend".
   */
  failure(now: number, lastUsable: boolean): boolean {
    const state = this.state(now);
    if (state === 'open') return false;
    this.#failures++;
    if (state === 'half-open') {
      this.#probeInFlight = false;
      if (lastUsable) {
        // Back to full service as the only option; the doubled backoff waits for the next ejection.
        this.#open = false;
        this.#backoffMs = Math.min(this.#backoffMs * 2, this.#opts.ejectMaxMs);
        return false;
      }
      this.#backoffMs = Math.min(this.#backoffMs * 2, this.#opts.ejectMaxMs);
      this.#openUntil = now + this.#backoffMs;
      return true;
    }
    if (this.#failures < this.#opts.ejectFailures || lastUsable) return false;
    this.#open = true;
    this.#openUntil = now + this.#backoffMs;
    return true;
  }
}

export class ProbeHistory {
  readonly #downAfter: number;
  #everReady = false;
  #failedInARow = 0;
  /** Refused probes count toward `down` (set while other backends exist, see BackendSet.update). */
  countRefused = false;

  constructor(downAfter: number) {
    this.#downAfter = downAfter;
  }

  record(outcome: ProbeOutcome): void {
    if (outcome === 'ready') {
      this.#everReady = true;
      this.#failedInARow = 0;
    } else if (outcome === 'refused' && !this.countRefused) {
      // Refused = loading (or restarting): starting again, not down.
      this.#failedInARow = 0;
    } else {
      this.#failedInARow++;
    }
  }

  get everReady(): boolean {
    return this.#everReady;
  }

  /** Was ready, then failed `ejectFailures` active probes in a row (refusals counting only with `countRefused`). */
  get down(): boolean {
    return this.#everReady && this.#failedInARow >= this.#downAfter;
  }
}

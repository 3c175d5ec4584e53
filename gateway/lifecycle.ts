/**
 * @module lifecycle
 * Graceful drain, shared by SIGTERM/SIGINT and FC's pre-stop hook (fc3.md 3.4, 3.5): stop taking new
 * inference requests, let those in flight finish for up to SHUTDOWN_GRACE_MS, then abort the rest
 * (their streams get an error event, never a clean-looking end).
 */
import { ShutdownAbort } from './upstream/failures.js';

export interface Abortable {
  abort(reason: Error): void;
}

export class Lifecycle {
  #draining = false;
  #drained: Promise<void> | undefined;
  readonly #active = new Set<Abortable>();
  #inflight = 0;
  #idle: (() => void) | undefined;

  get draining(): boolean {
    return this.#draining;
  }
  /** Inference requests being handled (waiting, queued or upstream). */
  get inflight(): number {
    return this.#inflight;
  }

  enter(): void {
    this.#inflight++;
  }
  leave(): void {
    this.#inflight--;
    if (this.#inflight === 0) this.#idle?.();
  }
  track(a: Abortable): void {
    this.#active.add(a);
  }
  untrack(a: Abortable): void {
    this.#active.delete(a);
  }

  /** Starts draining (idempotent); resolves when nothing is in flight or after `graceMs`, having aborted what was left. */
  drain(graceMs: number, onStart?: () => void): Promise<void> {
    if (this.#drained) return this.#drained;
    this.#draining = true;
    onStart?.();
    this.#drained = new Promise<void>((resolve) => {
      if (this.#inflight === 0) return resolve();
      const timer = setTimeout(() => {
        for (const a of this.#active) a.abort(new ShutdownAbort('shutdown grace period elapsed'));
        // Give aborted exchanges a moment to write their error events.
        setTimeout(resolve, 200).unref();
      }, graceMs);
      this.#idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    return this.#drained;
  }
}

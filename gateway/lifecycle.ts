/**
 * @module lifecycle
 * Graceful drain, shared by SIGTERM/SIGINT and FC's pre-stop hook (fc3.md 3.4, 3.5): stop taking new
 * inference requests, let those in flight finish for up to SHUTDOWN_GRACE_MS, then abort the rest
 * (their streams get an error event, never a clean-looking end). Draining does not close the listener:
 * after `/pre-stop` the process stays up (health 503, inference 503 `shutting_down`) until the platform
 * sends SIGTERM, so it never exits on its own before being told to (issue 9).
 */
import { ShutdownAbort } from './upstream/failures.js';

export interface Abortable {
  abort(reason: Error): void;
}

export class Lifecycle {
  #draining = false;
  #drained: Promise<void> | undefined;
  readonly #active = new Set<Abortable>();
  #idle: (() => void) | undefined;

  get draining(): boolean {
    return this.#draining;
  }
  /** Inference requests being handled (waiting, queued or upstream). */
  get inflight(): number {
    return this.#active.size;
  }

  /** Tracks one inference request until the returned function is called (idempotent). */
  enter(call: Abortable): () => void {
    this.#active.add(call);
    return () => {
      if (this.#active.delete(call) && this.#active.size === 0) this.#idle?.();
    };
  }

  /** Starts draining (idempotent); resolves when nothing is in flight or after `graceMs`, having aborted what was left. */
  drain(graceMs: number, onStart?: () => void): Promise<void> {
    if (this.#drained) return this.#drained;
    this.#draining = true;
    onStart?.();
    this.#drained = new Promise<void>((resolve) => {
      if (this.#active.size === 0) return resolve();
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

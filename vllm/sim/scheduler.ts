/**
 * @module sim/scheduler
 * vLLM's admission, reduced to what a client can observe: at most `maxNumSeqs` requests generate at
 * once; the rest wait in an unbounded FIFO queue and are never refused (vllm.md 5.2 "Overload": no 429,
 * no queue limit). A request that leaves (client gone, engine dead) frees its slot or its queue place at
 * once, and the next waiting request starts.
 */

export interface SchedulerJob {
  /** Called once, when the job gets a slot. Must not release the slot synchronously. */
  onAdmitted(): void;
}

export class Scheduler<J extends SchedulerJob = SchedulerJob> {
  readonly #maxNumSeqs: number;
  readonly #running = new Set<J>();
  /** A Set keeps insertion (FIFO) order and removes a leaving job in O(1). */
  readonly #waiting = new Set<J>();

  constructor(maxNumSeqs: number) {
    this.#maxNumSeqs = maxNumSeqs;
  }

  get running(): number {
    return this.#running.size;
  }

  get waiting(): number {
    return this.#waiting.size;
  }

  runningJobs(): Iterable<J> {
    return this.#running;
  }

  submit(job: J): void {
    if (this.#running.size < this.#maxNumSeqs) {
      this.#running.add(job);
      job.onAdmitted();
    } else {
      this.#waiting.add(job);
    }
  }

  /** Removes the job wherever it is; if it held a slot, the oldest waiting job takes it. */
  release(job: J): void {
    if (this.#waiting.delete(job)) return;
    if (!this.#running.delete(job)) return;
    while (this.#running.size < this.#maxNumSeqs && this.#waiting.size > 0) {
      const next = this.#waiting.values().next().value as J;
      this.#waiting.delete(next);
      this.#running.add(next);
      next.onAdmitted();
    }
  }
}

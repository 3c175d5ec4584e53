/**
 * @module admission
 * Admission control: at most `maxConcurrent` requests in flight to vLLM, up to `maxQueue` waiting for at
 * most `queueTimeoutMs`. vLLM itself queues without limit and never says "slow down" (vllm.md 5.2
 * "Overload"): past our queue the shared server is busy, so the answer is 503 `server_overloaded` with
 * Retry-After (429 is kept for a key's own rate limits).
 *
 * Fairness, so one key cannot take the whole queue:
 * - Waiters are grouped by key, FIFO within a key. A freed slot goes to the oldest waiter of the next key
 *   in round-robin order; a key that was just served moves to the back of the round.
 * - When the queue is full, a newcomer whose key holds fewer waiters than its fair share
 *   (maxQueue / number of keys with waiters, counting the newcomer's) displaces the newest waiter of the
 *   key holding the most (ties: the key whose newest waiter arrived last). The displaced request gets the
 *   queue-full 503. A newcomer at or above its share is refused instead.
 *
 * Retry-After estimates when the current queue will have drained: waiters × mean slot-holding time /
 * maxConcurrent, never more than queueTimeoutMs (by then everyone now queued has been served or timed
 * out), between 1 and 60 s.
 */
import { GatewayError } from './errors.js';

export interface AdmissionOptions {
  maxConcurrent: number;
  maxQueue: number;
  queueTimeoutMs: number;
}

export type RejectReason = 'queue_full' | 'queue_timeout';

/** Gives the slot back; idempotent. Hands the slot to the next waiter per the fairness rule. */
export type Release = () => void;

interface Waiter {
  key: string;
  seq: number;
  signal: AbortSignal;
  resolve: (release: Release) => void;
  reject: (err: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  onAbort: () => void;
}

/** Weight of the newest slot-holding time in the running mean. */
const HOLD_EWMA_WEIGHT = 0.2;

export class Admission {
  readonly #opts: AdmissionOptions;
  readonly #onReject: ((reason: RejectReason, key: string) => void) | undefined;
  #inFlight = 0;
  #queued = 0;
  /** Waiters per key; the Map's insertion order is the round-robin order. */
  readonly #queues = new Map<string, Waiter[]>();
  #seq = 0;
  #holdMs: number | undefined;

  constructor(options: AdmissionOptions, hooks?: { onReject?(reason: RejectReason, key: string): void }) {
    const { maxConcurrent, maxQueue, queueTimeoutMs } = options;
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) throw new RangeError('maxConcurrent must be an integer >= 1');
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError('maxQueue must be an integer >= 0');
    if (!(queueTimeoutMs > 0)) throw new RangeError('queueTimeoutMs must be > 0');
    this.#opts = { maxConcurrent, maxQueue, queueTimeoutMs };
    this.#onReject = hooks?.onReject?.bind(hooks);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queued;
  }

  queuedFor(key: string): number {
    return this.#queues.get(key)?.length ?? 0;
  }

  /** Sync fast path: a free slot and nobody waiting → a release function, else undefined. */
  tryAcquire(_key: string): Release | undefined {
    if (this.#inFlight >= this.#opts.maxConcurrent || this.#queued > 0) return undefined;
    this.#inFlight++;
    return this.#slot();
  }

  /**
   * Waits in the queue. Rejects with a 503 GatewayError when the queue is full or the wait times out,
   * and with `signal.reason` (leaving the queue at once) when the signal aborts.
   */
  acquire(key: string, signal: AbortSignal): Promise<Release> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const now = this.tryAcquire(key);
    if (now) return Promise.resolve(now);
    if (this.#queued >= this.#opts.maxQueue) {
      const victim = this.#displaceable(key);
      if (!victim) {
        this.#onReject?.('queue_full', key);
        return Promise.reject(this.#overloaded('queue_full'));
      }
      this.#remove(victim);
      victim.reject(this.#overloaded('queue_full'));
      this.#onReject?.('queue_full', victim.key);
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        key,
        seq: this.#seq++,
        signal,
        resolve,
        reject,
        timer: undefined,
        onAbort: () => {
          this.#remove(waiter);
          reject(signal.reason);
        },
      };
      waiter.timer = setTimeout(() => {
        this.#remove(waiter);
        reject(this.#overloaded('queue_timeout'));
        this.#onReject?.('queue_timeout', key);
      }, this.#opts.queueTimeoutMs);
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      const list = this.#queues.get(key);
      if (list) list.push(waiter);
      else this.#queues.set(key, [waiter]);
      this.#queued++;
    });
  }

  /** A release function for a slot just taken or handed over. */
  #slot(): Release {
    const since = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const held = performance.now() - since;
      this.#holdMs = this.#holdMs === undefined ? held : this.#holdMs + HOLD_EWMA_WEIGHT * (held - this.#holdMs);
      const next = this.#next();
      if (next) {
        this.#remove(next);
        next.resolve(this.#slot());
      } else {
        this.#inFlight--;
      }
    };
  }

  /** The oldest waiter of the first key in the round; that key then moves to the back. */
  #next(): Waiter | undefined {
    for (const [key, list] of this.#queues) {
      if (list.length > 1) {
        this.#queues.delete(key);
        this.#queues.set(key, list);
      }
      return list[0];
    }
    return undefined;
  }

  /** The waiter a newcomer of `key` may push out of a full queue, per the fairness rule in the header. */
  #displaceable(key: string): Waiter | undefined {
    if (this.#opts.maxQueue === 0) return undefined;
    const keys = this.#queues.size + (this.#queues.has(key) ? 0 : 1);
    if (this.queuedFor(key) >= this.#opts.maxQueue / keys) return undefined;
    let victim: Waiter | undefined;
    let most = 0;
    for (const list of this.#queues.values()) {
      const newest = list[list.length - 1]!;
      if (list.length > most || (list.length === most && victim && newest.seq > victim.seq)) {
        most = list.length;
        victim = newest;
      }
    }
    return victim;
  }

  /** Takes a waiter out of the queue and drops its timer and abort listener. */
  #remove(w: Waiter): void {
    const list = this.#queues.get(w.key);
    const i = list ? list.indexOf(w) : -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#queues.delete(w.key);
    this.#queued--;
    clearTimeout(w.timer);
    w.signal.removeEventListener('abort', w.onAbort);
  }

  #overloaded(reason: RejectReason): GatewayError {
    const { maxConcurrent, queueTimeoutMs } = this.#opts;
    const drainMs = this.#holdMs === undefined ? queueTimeoutMs : Math.min(queueTimeoutMs, (this.#queued * this.#holdMs) / maxConcurrent);
    const retryAfter = Math.min(60, Math.max(1, Math.ceil(drainMs / 1000)));
    const message =
      reason === 'queue_full'
        ? 'The server is busy: the request queue is full. Retry after the time in Retry-After.'
        : `The server is busy: no slot became free within ${queueTimeoutMs} ms of waiting in the queue (timed out). Retry after the time in Retry-After.`;
    return new GatewayError(503, message, { type: 'server_error', code: 'server_overloaded', headers: { 'retry-after': String(retryAfter) } });
  }
}

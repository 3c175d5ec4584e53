/**
 * @module admission
 * Admission control in front of the backend set: each backend takes at most its own concurrency
 * (MAX_CONCURRENT_REQUESTS or its backends-file entry, matching its vLLM's --max-num-seqs); past that,
 * requests wait here, up to `maxQueue` in all for at most `queueTimeoutMs`, and take the first slot that
 * frees on any backend serving their model. vLLM itself queues without limit and never says "slow down"
 * (vllm.md 5.2 "Overload"): past our queue the shared servers are busy, so the answer is 503
 * `server_overloaded` with Retry-After (429 is kept for a key's own rate limits).
 *
 * Fairness, so one key cannot take the whole queue:
 * - Waiters are grouped by key, FIFO within a key. A freed slot goes to the oldest waiter, of the next key
 *   in round-robin order, that the freed backend can serve; a key that was just served moves to the back.
 *   Waiters for one model never hold up a request for another model that has a free slot.
 * - When the queue is full, a newcomer whose key holds fewer waiters than its fair share
 *   (maxQueue / number of keys with waiters, counting the newcomer's) displaces the newest waiter of the
 *   key holding the most (ties: the key whose newest waiter arrived last). The displaced request gets the
 *   queue-full 503. A newcomer at or above its share is refused instead.
 *
 * Retry-After estimates when the current queue will have drained: waiters × mean slot-holding time /
 * the set's capacity, never more than queueTimeoutMs, between 1 and 60 s.
 */
import { GatewayError } from './errors.js';

export interface AdmissionOptions {
  maxQueue: number;
  queueTimeoutMs: number;
}

export type RejectReason = 'queue_full' | 'queue_timeout';

/** What admission needs of a backend. */
export interface SlotBackend {
  readonly id: string;
  readonly hasFreeSlot: boolean;
  serves(model: string): boolean;
  take(): void;
  put(): void;
}

/** What admission needs of the backend set. */
export interface SlotSource<B extends SlotBackend> {
  /** Usable backends serving `model` with a free slot. */
  withFreeSlot(model: string): B[];
  /** Concurrency of the usable backends together (for Retry-After). */
  capacity(): number;
  onSlotFree(listener: (backend: B) => void): void;
  /** A backend became usable (or was added): waiters may now have somewhere to go. */
  onChange(listener: () => void): void;
}

export interface SlotRequest<B extends SlotBackend> {
  key: string;
  model: string;
  /** Backends this request already failed on (failover). */
  exclude?: ReadonlySet<string> | undefined;
  /** Chooses among the candidates (the picker: least loaded, affinity, round robin). */
  choose: (candidates: B[]) => B | undefined;
}

/** A slot on one backend; `release` gives it back (idempotent) and hands it to the next waiter. */
export interface Slot<B extends SlotBackend> {
  readonly backend: B;
  release(): void;
}

/** A 503 from admission; `reason` tells a full queue (fallbacks apply) from a timed-out wait. */
export class AdmissionRefused extends GatewayError {
  readonly reason: RejectReason;
  constructor(reason: RejectReason, message: string, retryAfterS: number) {
    super(503, message, { type: 'server_error', code: 'server_overloaded', headers: { 'retry-after': String(retryAfterS) } });
    this.reason = reason;
  }
}

interface Waiter<B extends SlotBackend> {
  req: SlotRequest<B>;
  seq: number;
  signal: AbortSignal;
  resolve: (slot: Slot<B>) => void;
  reject: (err: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  onAbort: () => void;
}

/** Weight of the newest slot-holding time in the running mean. */
const HOLD_EWMA_WEIGHT = 0.2;

export class Admission<B extends SlotBackend> {
  readonly #opts: AdmissionOptions;
  readonly #source: SlotSource<B>;
  readonly #onReject: ((reason: RejectReason, key: string) => void) | undefined;
  #inFlight = 0;
  #queued = 0;
  /** Waiters per key; the Map's insertion order is the round-robin order. */
  readonly #queues = new Map<string, Waiter<B>[]>();
  #seq = 0;
  #holdMs: number | undefined;

  constructor(options: AdmissionOptions, source: SlotSource<B>, hooks?: { onReject?(reason: RejectReason, key: string): void }) {
    const { maxQueue, queueTimeoutMs } = options;
    if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError('maxQueue must be an integer >= 0');
    if (!(queueTimeoutMs > 0)) throw new RangeError('queueTimeoutMs must be > 0');
    this.#opts = { maxQueue, queueTimeoutMs };
    this.#source = source;
    this.#onReject = hooks?.onReject?.bind(hooks);
    source.onSlotFree((backend) => this.#handOver(backend));
    source.onChange(() => this.#dispatchAll());
  }

  /** Slots held through admission. */
  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queued;
  }

  queuedFor(key: string): number {
    return this.#queues.get(key)?.length ?? 0;
  }

  /** Sync fast path: a free slot on a backend of the model → the slot, else undefined. */
  tryAcquire(req: SlotRequest<B>): Slot<B> | undefined {
    const backend = req.choose(this.#candidates(req));
    return backend ? this.#take(backend) : undefined;
  }

  /**
   * Waits in the queue. Rejects with an AdmissionRefused (503) when the queue is full or the wait times
   * out, and with `signal.reason` (leaving the queue at once) when the signal aborts.
   */
  acquire(req: SlotRequest<B>, signal: AbortSignal): Promise<Slot<B>> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const now = this.tryAcquire(req);
    if (now) return Promise.resolve(now);
    if (this.#queued >= this.#opts.maxQueue) {
      const victim = this.#displaceable(req.key);
      if (!victim) {
        this.#onReject?.('queue_full', req.key);
        return Promise.reject(this.#overloaded('queue_full'));
      }
      this.#remove(victim);
      victim.reject(this.#overloaded('queue_full'));
      this.#onReject?.('queue_full', victim.req.key);
    }
    return new Promise<Slot<B>>((resolve, reject) => {
      const waiter: Waiter<B> = {
        req,
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
        this.#onReject?.('queue_timeout', req.key);
      }, this.#opts.queueTimeoutMs);
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      const list = this.#queues.get(req.key);
      if (list) list.push(waiter);
      else this.#queues.set(req.key, [waiter]);
      this.#queued++;
    });
  }

  #candidates(req: SlotRequest<B>): B[] {
    const all = this.#source.withFreeSlot(req.model);
    const exclude = req.exclude;
    return exclude && exclude.size > 0 ? all.filter((b) => !exclude.has(b.id)) : all;
  }

  #take(backend: B): Slot<B> {
    backend.take();
    this.#inFlight++;
    const since = performance.now();
    let released = false;
    return {
      backend,
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight--;
        const held = performance.now() - since;
        this.#holdMs = this.#holdMs === undefined ? held : this.#holdMs + HOLD_EWMA_WEIGHT * (held - this.#holdMs);
        // put() tells the set, which tells #handOver: the next waiter gets this backend's slot.
        backend.put();
      },
    };
  }

  /** A slot freed on `backend`: the oldest waiter it can serve, of the next key in the round, takes it. */
  #handOver(backend: B): void {
    if (this.#queued === 0 || !backend.hasFreeSlot) return;
    for (const [key, list] of this.#queues) {
      const i = list.findIndex((w) => w.req.model !== undefined && backend.serves(w.req.model) && !w.req.exclude?.has(backend.id));
      if (i === -1) continue;
      const waiter = list[i]!;
      this.#remove(waiter);
      // The key just served moves to the back of the round.
      const rest = this.#queues.get(key);
      if (rest) {
        this.#queues.delete(key);
        this.#queues.set(key, rest);
      }
      waiter.resolve(this.#take(backend));
      return;
    }
  }

  /** Backends became usable: serve waiters, in fairness order, while any of them has somewhere to go. */
  #dispatchAll(): void {
    let served = true;
    while (served && this.#queued > 0) {
      served = false;
      for (const [key, list] of this.#queues) {
        const waiter = list.find((w) => this.#candidates(w.req).length > 0);
        if (!waiter) continue;
        const backend = waiter.req.choose(this.#candidates(waiter.req));
        if (!backend) continue;
        this.#remove(waiter);
        const rest = this.#queues.get(key);
        if (rest) {
          this.#queues.delete(key);
          this.#queues.set(key, rest);
        }
        waiter.resolve(this.#take(backend));
        served = true;
        break;
      }
    }
  }

  /** The waiter a newcomer of `key` may push out of a full queue, per the fairness rule in the header. */
  #displaceable(key: string): Waiter<B> | undefined {
    if (this.#opts.maxQueue === 0) return undefined;
    const keys = this.#queues.size + (this.#queues.has(key) ? 0 : 1);
    if (this.queuedFor(key) >= this.#opts.maxQueue / keys) return undefined;
    let victim: Waiter<B> | undefined;
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
  #remove(w: Waiter<B>): void {
    const list = this.#queues.get(w.req.key);
    const i = list ? list.indexOf(w) : -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.#queues.delete(w.req.key);
    this.#queued--;
    clearTimeout(w.timer);
    w.signal.removeEventListener('abort', w.onAbort);
  }

  #overloaded(reason: RejectReason): AdmissionRefused {
    const { queueTimeoutMs } = this.#opts;
    const capacity = Math.max(1, this.#source.capacity());
    const drainMs = this.#holdMs === undefined ? queueTimeoutMs : Math.min(queueTimeoutMs, (this.#queued * this.#holdMs) / capacity);
    const retryAfter = Math.min(60, Math.max(1, Math.ceil(drainMs / 1000)));
    const message =
      reason === 'queue_full'
        ? 'The server is busy: the request queue is full. Retry after the time in Retry-After.'
        : `The server is busy: no slot became free within ${queueTimeoutMs} ms of waiting in the queue (timed out). Retry after the time in Retry-After.`;
    return new AdmissionRefused(reason, message, retryAfter);
  }
}

/**
 * @module backends/set
 * The backends currently behind the gateway, in the order discovery lists them (VLLM_URL order first: the
 * first ready backend's first model is the default model, as with one VLLM_URL). Discovery calls
 * `update(specs)`; a backend that disappears drains (no new requests, its in-flight requests finish on
 * its own pool, then the pool closes). The admission queue subscribes to `onSlotFree` and `onChange` to
 * hand freed or newly usable capacity to its waiters.
 */
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { ServedModel } from '../upstream/readiness.js';
import { Backend, parseBackendUrl, type BackendOptions, type BackendSpec } from './backend.js';

/** A bound on backends (a DNS name answering with thousands of addresses must not open thousands of pools). */
export const MAX_BACKENDS = 256;

export interface BackendSetOptions {
  config: Config;
  logger?: Pick<Logger, 'info' | 'warn'>;
  now?: () => number;
  readiness?: BackendOptions['readiness'];
}

type Waiter = { model: string | undefined; resolve: (ok: boolean) => void; timer: NodeJS.Timeout; signal?: AbortSignal; onAbort?: () => void };

export class BackendSet {
  readonly #opts: BackendSetOptions;
  /** Active backends in discovery order. */
  #active: Backend[] = [];
  readonly #draining = new Set<Backend>();
  readonly #slotListeners = new Set<(b: Backend) => void>();
  readonly #changeListeners = new Set<(b: Backend | undefined) => void>();
  readonly #waiters = new Set<Waiter>();
  #started = false;

  constructor(options: BackendSetOptions) {
    this.#opts = options;
  }

  /** Adds new backends (started if the set is), keeps known ones by id, drains the ones no longer listed. */
  update(specs: readonly BackendSpec[]): void {
    const byId = new Map(this.#active.map((b) => [b.id, b]));
    const next: Backend[] = [];
    const seen = new Set<string>();
    let overflow = 0;
    for (const spec of specs) {
      let id: string;
      try {
        const origin = parseBackendUrl(spec.url).origin;
        id = spec.servername ? `${origin}#${spec.servername}` : origin;
      } catch (err) {
        this.#opts.logger?.warn({ err: (err as Error).message }, 'backend ignored');
        continue;
      }
      if (seen.has(id)) continue;
      if (next.length >= MAX_BACKENDS) {
        overflow++;
        continue;
      }
      seen.add(id);
      const known = byId.get(id);
      if (known && sameConnection(known, spec, this.#opts.config)) {
        known.update(spec);
        next.push(known);
        byId.delete(id);
      } else {
        next.push(this.#create(spec));
      }
    }
    if (overflow > 0) this.#opts.logger?.warn({ ignored: overflow, max: MAX_BACKENDS }, 'too many backends; the rest are ignored');
    this.#active = next;
    // With others to take the traffic, a backend that keeps refusing after being ready is dead, not
    // restarting: requests fail fast (or fall back) instead of waiting READY_WAIT_MS on it. Alone, it
    // may be restarting, and requests wait for it as one VLLM_URL always did.
    for (const b of next) b.refusalsMeanDown = next.length > 1;
    for (const gone of byId.values()) this.#drain(gone);
    for (const b of next) if (this.#started) b.start();
    this.#emitChange(undefined);
  }

  /** Active backends in order, then the draining ones (for /system/status). */
  all(): Backend[] {
    return [...this.#active, ...this.#draining];
  }

  /** Usable backends serving the model (any model when undefined). */
  usableFor(model: string | undefined): Backend[] {
    return this.#active.filter((b) => b.usable && (model === undefined || b.serves(model)));
  }

  /** Usable backends serving the model with a free slot: the picker's candidates. */
  withFreeSlot(model: string | undefined): Backend[] {
    return this.#active.filter((b) => b.hasFreeSlot && (model === undefined || b.serves(model)));
  }

  /**
   * The served models of the ready backends, deduplicated by id, in backend order: the first is the default
   * model. Ready, not "usable": a briefly ejected backend's models stay listed, so /v1/models does not flap.
   */
  models(): ServedModel[] {
    const out: ServedModel[] = [];
    const ids = new Set<string>();
    for (const b of this.#active) {
      if (!b.readiness.isReady) continue;
      for (const m of b.models) {
        if (ids.has(m.id)) continue;
        ids.add(m.id);
        out.push(m);
      }
    }
    return out;
  }

  /**
   * The model a request without `model` gets: the first model of the first backend in VLLM_URL order, as
   * last listed, ready or not (never silently another backend's model while that one restarts); undefined
   * until it has listed its models.
   */
  defaultModel(): ServedModel | undefined {
    return this.#active[0]?.models[0];
  }

  get anyReady(): boolean {
    return this.#active.some((b) => b.readiness.isReady);
  }

  /** Some backend that might serve the model is still starting (one with no model list yet counts for all). */
  anyStarting(model?: string): boolean {
    return this.#active.some((b) => b.state === 'starting' && (model === undefined || b.models.length === 0 || b.serves(model)));
  }

  /** No other usable backend serves the model: passive failures must not eject `b`. */
  isLastUsable(b: Backend, model: string | undefined): boolean {
    return !this.usableFor(model).some((x) => x !== b);
  }

  /** Resolves true once a backend for the model is usable, false after `ms` or on abort. */
  waitUsable(model: string | undefined, ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.usableFor(model).length > 0) return Promise.resolve(true);
    if (ms <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = { model, resolve, timer: setTimeout(() => this.#settle(waiter, false), ms), signal };
      if (signal) {
        waiter.onAbort = () => this.#settle(waiter, false);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.add(waiter);
    });
  }

  /** A backend freed a slot (or gained capacity). Returns the unsubscribe function. */
  onSlotFree(listener: (b: Backend) => void): () => void {
    this.#slotListeners.add(listener);
    return () => this.#slotListeners.delete(listener);
  }

  /** A backend became usable or unusable, or the list changed (`undefined`). Returns the unsubscribe function. */
  onChange(listener: (b: Backend | undefined) => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  start(): void {
    this.#started = true;
    for (const b of this.#active) b.start();
  }

  /** Stops every backend; resolves when their pools are closed (in-flight requests end first). */
  async stop(): Promise<void> {
    this.#started = false;
    for (const w of this.#waiters) this.#settle(w, false);
    const all = this.all();
    await Promise.all(all.map((b) => b.stop()));
  }

  #create(spec: BackendSpec): Backend {
    return new Backend(spec, {
      config: this.#opts.config,
      logger: this.#opts.logger,
      now: this.#opts.now,
      readiness: this.#opts.readiness,
      onChange: (b) => this.#emitChange(b),
      onSlotFree: (b) => {
        for (const l of this.#slotListeners) l(b);
      },
    });
  }

  #drain(b: Backend): void {
    this.#draining.add(b);
    void b.drain().finally(() => {
      this.#draining.delete(b);
      this.#emitChange(b);
    });
  }

  #emitChange(b: Backend | undefined): void {
    for (const l of this.#changeListeners) l(b);
    for (const w of this.#waiters) if (this.usableFor(w.model).length > 0) this.#settle(w, true);
  }

  #settle(w: Waiter, ok: boolean): void {
    if (!this.#waiters.delete(w)) return;
    clearTimeout(w.timer);
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve(ok);
  }
}

/** Same origin but a different key or virtual host: a new backend (the old one drains). */
function sameConnection(b: Backend, spec: BackendSpec, config: Config): boolean {
  const apiKey = spec.apiKey ?? parseBackendUrl(spec.url).credential ?? config.vllmApiKey;
  return b.apiKey === apiKey && b.hostHeader === spec.hostHeader;
}

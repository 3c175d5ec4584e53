/**
 * @module upstream/readiness
 * Knows whether vLLM can serve, and what it serves. vLLM refuses connections while it loads, answers
 * `/health` 200 once the engine is up, and 503 (then exits) when the engine dies (vllm.md 1.1, 9 rule 6).
 * We call it ready only when `/health` is 200 AND `/v1/models` has told us the served model names.
 */
import type { Pool } from 'undici';

export type ReadinessState = 'starting' | 'ready' | 'unhealthy';

/** What one active probe found: ready, connection refused (vLLM loading or gone), or any other failure. */
export type ProbeOutcome = 'ready' | 'refused' | 'failed';

export interface ServedModel {
  id: string;
  maxModelLen: number | undefined;
  /** The raw model card as vLLM sent it (vllm.md 3.4), re-served by GET /v1/models. */
  card: Record<string, unknown>;
}

export interface ReadinessOptions {
  pool: Pool;
  apiKey: string | undefined;
  /** Poll period while not ready. */
  pollMs?: number;
  /** Poll period while ready: a cheap GET /health. */
  readyPollMs?: number;
  probeTimeoutMs?: number;
  onChange?: (state: ReadinessState, reason: string) => void;
  /** Called after every probe (the backend set counts failed probes to tell "down" from "starting"). */
  onProbe?: (outcome: ProbeOutcome) => void;
  /** Extra headers on every probe (e.g. Host for a backend dialled by address). */
  headers?: Record<string, string>;
}

type Waiter = { resolve: (ready: boolean) => void; timer: NodeJS.Timeout; signal?: AbortSignal; onAbort?: () => void };

export class Readiness {
  #state: ReadinessState = 'starting';
  #reason = 'waiting for vLLM to accept connections';
  #models: ServedModel[] = [];
  #modelsAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #probing: Promise<void> | undefined;
  #stopped = false;
  readonly #waiters = new Set<Waiter>();
  readonly #opts: Required<Omit<ReadinessOptions, 'onChange' | 'apiKey' | 'onProbe' | 'headers'>> &
    Pick<ReadinessOptions, 'onChange' | 'apiKey' | 'onProbe' | 'headers'>;

  constructor(options: ReadinessOptions) {
    this.#opts = { pollMs: 500, readyPollMs: 5_000, probeTimeoutMs: 3_000, ...options };
  }

  get state(): ReadinessState {
    return this.#state;
  }
  get reason(): string {
    return this.#reason;
  }
  get isReady(): boolean {
    return this.#state === 'ready';
  }
  /** Served models as of the last successful probe (first = vLLM's default model, vllm.md 2.1). */
  get models(): readonly ServedModel[] {
    return this.#models;
  }
  get modelsAgeMs(): number {
    return Date.now() - this.#modelsAt;
  }

  start(): void {
    this.#stopped = false;
    void this.probeNow();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    for (const w of this.#waiters) this.#settle(w, false);
  }

  /** A request saw the upstream refuse or drop a connection: stop calling it ready and probe at once. */
  reportFailure(reason: string): void {
    if (this.#state === 'ready') this.#set('starting', reason);
    void this.probeNow();
  }

  /** Probes now (coalescing concurrent calls) and re-arms the poll timer. */
  probeNow(): Promise<void> {
    this.#probing ??= this.#probe()
      .then((outcome) => this.#opts.onProbe?.(outcome))
      .finally(() => {
        this.#probing = undefined;
        if (!this.#stopped) {
          clearTimeout(this.#timer);
          this.#timer = setTimeout(() => void this.probeNow(), this.isReady ? this.#opts.readyPollMs : this.#opts.pollMs);
          this.#timer.unref();
        }
      });
    return this.#probing;
  }

  /** Resolves true as soon as vLLM is ready, false after `ms` or when `signal` aborts. */
  waitReady(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (this.isReady) return Promise.resolve(true);
    if (ms <= 0 || signal?.aborted || this.#stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve, timer: setTimeout(() => this.#settle(waiter, false), ms), signal };
      if (signal) {
        waiter.onAbort = () => this.#settle(waiter, false);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.add(waiter);
    });
  }

  async #probe(): Promise<ProbeOutcome> {
    try {
      const health = await this.#opts.pool.request({
        path: '/health',
        method: 'GET',
        headers: this.#opts.headers,
        headersTimeout: this.#opts.probeTimeoutMs,
        bodyTimeout: this.#opts.probeTimeoutMs,
      });
      await health.body.dump();
      if (health.statusCode !== 200) {
        // vLLM answers 503 (500 before v0.11) when the engine is dead; the process exits soon after (vllm.md 1.1).
        this.#set('unhealthy', `vLLM /health answered ${health.statusCode}`);
        return 'failed';
      }
      if (!this.isReady || this.modelsAgeMs > 60_000) await this.refreshModels();
      if (this.#models.length > 0) {
        this.#set('ready', 'vLLM is healthy');
        return 'ready';
      }
      this.#set('starting', 'vLLM /v1/models lists no model yet');
      return 'failed';
    } catch (err) {
      const code = (err as { code?: string }).code;
      const message = err instanceof Error ? err.message : String(err);
      this.#set('starting', code === 'ECONNREFUSED' ? 'vLLM is not accepting connections yet (loading)' : `vLLM probe failed: ${message}`);
      return code === 'ECONNREFUSED' ? 'refused' : 'failed';
    }
  }

  /** Fetches GET /v1/models. Throws when vLLM cannot answer. */
  async refreshModels(): Promise<readonly ServedModel[]> {
    const headers: Record<string, string> = { ...this.#opts.headers };
    if (this.#opts.apiKey) headers.authorization = `Bearer ${this.#opts.apiKey}`;
    const res = await this.#opts.pool.request({
      path: '/v1/models',
      method: 'GET',
      headers,
      headersTimeout: this.#opts.probeTimeoutMs,
      bodyTimeout: this.#opts.probeTimeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403) throw new Error(`vLLM /v1/models answered ${res.statusCode}: check VLLM_API_KEY`);
    if (res.statusCode !== 200) throw new Error(`vLLM /v1/models answered ${res.statusCode}`);
    const parsed = JSON.parse(text) as { data?: Array<Record<string, unknown>> };
    const models: ServedModel[] = [];
    for (const card of parsed.data ?? []) {
      if (typeof card.id !== 'string') continue;
      models.push({ id: card.id, maxModelLen: typeof card.max_model_len === 'number' ? card.max_model_len : undefined, card });
    }
    this.#models = models;
    this.#modelsAt = Date.now();
    return models;
  }

  #set(state: ReadinessState, reason: string): void {
    const changed = state !== this.#state;
    this.#state = state;
    this.#reason = reason;
    if (changed) this.#opts.onChange?.(state, reason);
    if (state === 'ready') for (const w of this.#waiters) this.#settle(w, true);
  }

  #settle(w: Waiter, ready: boolean): void {
    if (!this.#waiters.delete(w)) return;
    clearTimeout(w.timer);
    if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
    w.resolve(ready);
  }
}

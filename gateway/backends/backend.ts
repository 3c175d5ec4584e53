/**
 * @module backends/backend
 * One vLLM server behind the gateway: its connection pool, its readiness (/health + /v1/models), its load
 * (/metrics), its circuit breaker and its exact in-flight count. Everything the picker and the admission
 * queue ask about a backend is answered here, synchronously, from state this object owns.
 *
 * Identity is the dialled origin, so a backend listed twice (VLLM_URL and a backends file, or one address
 * found by two DNS names) is one backend. A URL may carry userinfo; it is never shown (name, displayUrl,
 * logs, metrics) and is used only as the bearer key when the spec gives none (vLLM knows only
 * `--api-key`, vllm.md 6).
 */
import type { Pool } from 'undici';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { FailureKind } from '../upstream/failures.js';
import { createUpstreamPool } from '../upstream/pool.js';
import { Readiness, type ServedModel } from '../upstream/readiness.js';
import { Breaker, ProbeHistory, countsAgainstBackend } from './health.js';
import { LoadScraper, computeLoad, type VllmReading } from './load.js';
import { parseBackendUrl } from './url.js';

export { parseBackendUrl, redactUrl, type ParsedBackendUrl } from './url.js';

export interface BackendSpec {
  url: string;
  /** Metric and log label; default host:port. */
  name?: string;
  /** Relative share of new requests (default 1). */
  weight?: number;
  /** In-flight cap (default MAX_CONCURRENT_REQUESTS): match this vLLM's --max-num-seqs. */
  maxConcurrent?: number;
  /** Bearer key for this vLLM (default VLLM_API_KEY). */
  apiKey?: string;
  /** Host header when the URL names an address found by DNS (https virtual hosts). */
  hostHeader?: string;
  /** TLS server name when the URL names an address found by DNS. */
  servername?: string;
}

export type BackendState = 'starting' | 'ready' | 'unhealthy' | 'down' | 'ejected' | 'draining';

export interface BackendOptions {
  config: Config;
  logger?: Pick<Logger, 'info' | 'warn'>;
  now?: () => number;
  /** Usable/unusable, state or capacity changed. */
  onChange?: (b: Backend) => void;
  /** A slot was freed (`put`) or capacity grew. */
  onSlotFree?: (b: Backend) => void;
  /** Readiness polling (tests shorten it). */
  readiness?: { pollMs?: number; readyPollMs?: number; probeTimeoutMs?: number };
}

export class Backend {
  readonly id: string;
  readonly displayUrl: string;
  readonly apiKey: string | undefined;
  readonly hostHeader: string | undefined;
  readonly servername: string | undefined;
  readonly pool: Pool;
  readonly readiness: Readiness;
  name: string;
  weight: number;
  maxConcurrent: number;
  lastError: { kind: FailureKind; detail: string; at: number } | undefined;

  readonly #opts: BackendOptions;
  readonly #now: () => number;
  readonly #breaker: Breaker;
  readonly #history: ProbeHistory;
  readonly #scraper: LoadScraper;
  readonly #metricsIntervalMs: number;
  readonly #defaultName: string;
  #reading: VllmReading | undefined;
  #inFlight = 0;
  #draining = false;
  #stopped = false;
  #halfOpenTimer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;
  #idle: (() => void) | undefined;

  constructor(spec: BackendSpec, options: BackendOptions) {
    const { config } = options;
    const parsed = parseBackendUrl(spec.url);
    this.#opts = options;
    this.#now = options.now ?? Date.now;
    this.id = spec.servername ? `${parsed.origin}#${spec.servername}` : parsed.origin;
    this.displayUrl = parsed.displayUrl;
    this.#defaultName = parsed.hostPort;
    this.name = spec.name ?? parsed.hostPort;
    this.weight = spec.weight ?? 1;
    this.maxConcurrent = spec.maxConcurrent ?? config.admission.maxConcurrent;
    this.apiKey = spec.apiKey ?? parsed.credential ?? config.vllmApiKey;
    this.hostHeader = spec.hostHeader;
    this.servername = spec.servername;
    this.#metricsIntervalMs = config.backends.metricsIntervalMs;
    this.#breaker = new Breaker(config.backends);
    this.#history = new ProbeHistory(config.backends.ejectFailures);
    this.pool = createUpstreamPool(config, parsed.origin, { maxConcurrent: this.maxConcurrent, servername: spec.servername });
    const headers = spec.hostHeader ? { host: spec.hostHeader } : undefined;
    this.readiness = new Readiness({
      pool: this.pool,
      apiKey: this.apiKey,
      headers,
      ...options.readiness,
      onChange: (state, reason) => {
        this.#opts.logger?.info({ backend: this.name, state, reason }, 'backend readiness changed');
        this.#changed();
      },
      onProbe: (outcome) => {
        const wasDown = this.#history.down;
        this.#history.record(outcome);
        if (wasDown !== this.#history.down) this.#changed();
      },
    });
    this.#scraper = new LoadScraper({
      pool: this.pool,
      intervalMs: this.#metricsIntervalMs,
      headers,
      now: this.#now,
      inFlight: () => this.#inFlight,
      active: () => !this.#stopped && this.readiness.isReady,
      onReading: (reading) => this.recordReading(reading),
    });
  }

  get models(): readonly ServedModel[] {
    return this.readiness.models;
  }

  serves(model: string): boolean {
    return this.readiness.models.some((m) => m.id === model);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Breaker state, for /system/status and tests. */
  get breaker(): { state: 'closed' | 'open' | 'half-open'; failures: number; backoffMs: number } {
    return { state: this.#breaker.state(this.#now()), failures: this.#breaker.failures, backoffMs: this.#breaker.backoffMs };
  }

  /** Has been ready at least once since the gateway started. */
  get everReady(): boolean {
    return this.#history.everReady;
  }

  get usable(): boolean {
    return !this.#draining && !this.#stopped && this.readiness.isReady && this.#breaker.state(this.#now()) !== 'open';
  }

  get hasFreeSlot(): boolean {
    return this.usable && this.#inFlight < this.maxConcurrent && this.#breaker.admits(this.#now());
  }

  get state(): BackendState {
    if (this.#draining) return 'draining';
    if (this.#breaker.state(this.#now()) === 'open') return 'ejected';
    if (this.#history.down) return 'down';
    // Never ready yet: a 503 comes from something in front of a loading vLLM (an ingress, a Service without
    // ready endpoints), since vLLM itself refuses connections while it loads (vllm.md 1.1).
    if (this.readiness.state === 'unhealthy' && !this.#history.everReady) return 'starting';
    return this.readiness.state;
  }

  /** The last /metrics reading, if any. */
  get vllm(): VllmReading | undefined {
    return this.#reading;
  }

  recordReading(reading: VllmReading): void {
    this.#reading = reading;
  }

  /** (vLLM's running + waiting, corrected by our in-flight changes since) / maxConcurrent; see load.ts. */
  load(now: number = this.#now()): number {
    return computeLoad(this.#reading, this.#inFlight, this.maxConcurrent, now, this.#metricsIntervalMs);
  }

  /** A request is sent to this backend. */
  take(): void {
    this.#inFlight++;
    this.#breaker.onTake(this.#now());
  }

  /** That request ended (whatever its outcome). */
  put(): void {
    if (this.#inFlight > 0) this.#inFlight--;
    this.#breaker.onRelease();
    if (this.#inFlight === 0) this.#idle?.();
    if (!this.#draining && !this.#stopped) this.#opts.onSlotFree?.(this);
  }

  reportSuccess(): void {
    if (this.#breaker.success(this.#now())) {
      this.#opts.logger?.info({ backend: this.name }, 'backend back in rotation after a successful probe request');
      this.#changed();
    }
  }

  /** Passive health: a request to this backend failed. `lastUsable`: no other usable backend serves its model. */
  reportFailure(kind: FailureKind, detail: string, lastUsable: boolean): void {
    const now = this.#now();
    this.lastError = { kind, detail, at: now };
    // vLLM refuses connections while it (re)loads (vllm.md 1.1): not ready until a probe says so.
    if (kind === 'connect_refused') this.readiness.reportFailure(detail);
    if (!countsAgainstBackend(kind)) return;
    if (!this.#breaker.failure(now, lastUsable)) return;
    const backoffMs = this.#breaker.backoffMs;
    this.#opts.logger?.warn({ backend: this.name, kind, failures: this.#breaker.failures, backoffMs }, 'backend ejected after consecutive failures');
    clearTimeout(this.#halfOpenTimer);
    // The ejection ends by the clock; tell the set so queued requests can try the half-open probe.
    this.#halfOpenTimer = setTimeout(() => this.#changed(), backoffMs);
    this.#halfOpenTimer.unref();
    this.#changed();
  }

  /** Weight and concurrency may change in place; the pool keeps its socket cap (maxConcurrent at creation + 8). */
  update(spec: BackendSpec): void {
    const grew = (spec.maxConcurrent ?? this.maxConcurrent) > this.maxConcurrent;
    this.name = spec.name ?? this.#defaultName;
    this.weight = spec.weight ?? 1;
    this.maxConcurrent = spec.maxConcurrent ?? this.#opts.config.admission.maxConcurrent;
    if (grew) this.#opts.onSlotFree?.(this);
  }

  start(): void {
    if (this.#stopped) return;
    this.readiness.start();
    this.#scraper.start();
  }

  /** Stops probing at once; closes the pool when the last in-flight request has ended. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopped = true;
      this.readiness.stop();
      this.#scraper.stop();
      clearTimeout(this.#halfOpenTimer);
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      await this.pool.close();
    })();
    return this.#stopping;
  }

  /** Removed from discovery: no new requests, in-flight ones finish, then the pool closes. */
  drain(): Promise<void> {
    if (!this.#draining) {
      this.#draining = true;
      this.#opts.logger?.info({ backend: this.name, inFlight: this.#inFlight }, 'backend draining');
      this.#changed();
    }
    return this.stop();
  }

  /** See ProbeHistory.countRefused. */
  set refusalsMeanDown(value: boolean) {
    this.#history.countRefused = value;
  }

  /** Reads vLLM's /metrics now (the status page asks when no reading has arrived yet). */
  refreshLoad(): Promise<void> {
    return this.#scraper.scrapeNow();
  }

  #changed(): void {
    this.#opts.onChange?.(this);
  }
}

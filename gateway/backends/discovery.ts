/**
 * @module backends/discovery
 * Turns configuration into backend specs and keeps them current; the set does the rest (`set.update`).
 *
 * Sources, in this order (the first ready backend's first model is the default model):
 *   1. VLLM_URL entries, in the order written (so one VLLM_URL behaves as before);
 *   2. VLLM_BACKENDS_FILE entries, in file order. `reload()` (SIGHUP) re-reads the file; a bad file keeps
 *      the previous list and reports why. An origin listed twice is one backend: the first listing wins.
 *
 * VLLM_DISCOVERY=dns: every hostname (from either source) stands for all the addresses it resolves to,
 * looked up every VLLM_DISCOVERY_INTERVAL_MS through `dns.lookup(host, {all: true})`, the system resolver,
 * so /etc/hosts names work and a headless Kubernetes Service lists its pods. Each address is a backend
 * named `<name or host>/<address>:<port>`; https keeps the hostname as TLS server name and Host header.
 * A failed lookup keeps the addresses last seen (and logs); an address that disappears drains. IP
 * literals are used as they are.
 */
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { BackendSpec } from './backend.js';
import { parseBackendsFile } from './backends-file.js';

export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

export interface DiscoveryOptions {
  config: Pick<Config, 'vllmUrls' | 'backends'>;
  onSpecs: (specs: BackendSpec[]) => void;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  resolve?: Resolver;
  readFile?: (path: string) => Promise<string>;
}

export class Discovery {
  readonly #opts: DiscoveryOptions;
  readonly #resolve: Resolver;
  readonly #read: (path: string) => Promise<string>;
  #fileSpecs: BackendSpec[] = [];
  /** Last addresses seen per hostname: kept when a lookup fails. */
  readonly #addresses = new Map<string, string[]>();
  #specs: BackendSpec[] = [];
  #emitted = '';
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(options: DiscoveryOptions) {
    this.#opts = options;
    this.#resolve = options.resolve ?? systemResolver;
    this.#read = options.readFile ?? ((p) => readFile(p, 'utf8'));
  }

  /** The specs last handed to `onSpecs`. */
  get specs(): readonly BackendSpec[] {
    return this.#specs;
  }

  /** Reads the file (throws on a bad one: the gateway should not start on it), resolves once, starts polling. */
  async start(): Promise<void> {
    const file = this.#opts.config.backends.file;
    if (file) this.#fileSpecs = parseBackendsFile(await this.#read(file), file);
    await this.refresh();
    if (this.#opts.config.backends.discovery === 'dns' && !this.#timer) {
      this.#timer = setInterval(() => void this.refresh(), this.#opts.config.backends.discoveryIntervalMs);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Re-reads the backends file (SIGHUP). On error the previous list stays and the error is returned. */
  async reload(): Promise<{ ok: true; backends: number } | { ok: false; error: string }> {
    const file = this.#opts.config.backends.file;
    if (file) {
      try {
        this.#fileSpecs = parseBackendsFile(await this.#read(file), file);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        this.#opts.logger?.error({ err: error }, 'backends file not reloaded; keeping the previous list');
        return { ok: false, error };
      }
    }
    await this.refresh();
    return { ok: true, backends: this.#specs.length };
  }

  /** One round: expand hostnames (dns mode) and hand the specs on if they changed. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const sources: BackendSpec[] = [...this.#opts.config.vllmUrls.map((url) => ({ url })), ...this.#fileSpecs];
    const specs = this.#opts.config.backends.discovery === 'dns' ? await this.#expand(sources) : sources;
    const key = JSON.stringify(specs);
    if (key === this.#emitted) return;
    this.#emitted = key;
    this.#specs = specs;
    this.#opts.onSpecs(specs);
  }

  async #expand(sources: BackendSpec[]): Promise<BackendSpec[]> {
    const hosts = new Set<string>();
    for (const s of sources) {
      const host = new URL(s.url).hostname;
      if (!isIP(unbracket(host))) hosts.add(host);
    }
    await Promise.all([...hosts].map((h) => this.#lookup(h)));
    const out: BackendSpec[] = [];
    for (const s of sources) {
      const url = new URL(s.url);
      if (isIP(unbracket(url.hostname))) {
        out.push(s);
        continue;
      }
      const port = url.port || (url.protocol === 'https:' ? '443' : '80');
      for (const address of this.#addresses.get(url.hostname) ?? []) {
        const host = isIP(address) === 6 ? `[${address}]` : address;
        const dialled = new URL(s.url);
        dialled.hostname = host;
        dialled.port = port;
        const spec: BackendSpec = { ...s, url: dialled.href.replace(/\/+$/, ''), name: `${s.name ?? url.hostname}/${host}:${port}` };
        if (url.protocol === 'https:') {
          spec.servername = url.hostname;
          spec.hostHeader = url.host;
        }
        out.push(spec);
      }
    }
    return out;
  }

  async #lookup(host: string): Promise<void> {
    try {
      const found = [...new Set(await this.#resolve(host))].sort();
      if (found.length === 0) throw new Error('no addresses');
      this.#addresses.set(host, found);
    } catch (err) {
      const kept = this.#addresses.get(host)?.length ?? 0;
      this.#opts.logger?.warn({ host, err: err instanceof Error ? err.message : String(err), kept }, 'backend DNS lookup failed; keeping the last known addresses');
    }
  }
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

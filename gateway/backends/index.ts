/**
 * @module backends
 * The wiring of the backend modules, so `server.ts` makes one call: discovery feeds the set, the set's
 * backends probe and scrape themselves, the picker chooses among the set's candidates, and the metrics
 * read the set at scrape time. See README.md for what each routing signal reads and why.
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { Backend } from './backend.js';
import { Discovery, type Resolver } from './discovery.js';
import { registerBackendMetrics } from './metrics.js';
import { Picker } from './picker.js';
import { BackendSet, type BackendSetOptions } from './set.js';

export { Backend, type BackendSpec, type BackendState } from './backend.js';
export { BackendSet, MAX_BACKENDS } from './set.js';
export { Discovery, systemResolver, type Resolver } from './discovery.js';
export { BackendsFileError } from './backends-file.js';
export { Picker, type PickContext } from './picker.js';
export { registerBackendMetrics } from './metrics.js';
export { countsAgainstBackend } from './health.js';

export interface BackendsOptions {
  config: Config;
  logger?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Registers gateway_backend_* gauges when given. */
  registry?: Registry;
  /** Overrides config.vllmUrls (e.g. the in-process simulator's URL when VLLM_URL is unset). */
  urls?: readonly string[];
  resolve?: Resolver;
  readiness?: BackendSetOptions['readiness'];
}

export interface Backends {
  set: BackendSet;
  discovery: Discovery;
  picker: Picker;
  /** A backend for the model with a free slot, by ROUTING / ROUTING_AFFINITY; undefined when none has one. */
  pick(model: string | undefined, sessionKey?: string, exclude?: ReadonlySet<Backend>): Backend | undefined;
  /** SIGHUP: re-read VLLM_BACKENDS_FILE (a bad file keeps the old list). */
  reload: Discovery['reload'];
  /** Stops discovery and every backend; resolves when the pools are closed (in-flight requests end first). */
  stop(): Promise<void>;
}

/** Builds and starts the backends. Rejects on a bad backends file (the gateway should not start on it). */
export async function startBackends(options: BackendsOptions): Promise<Backends> {
  const { config, logger } = options;
  const set = new BackendSet({ config, logger, readiness: options.readiness });
  const picker = new Picker();
  const discovery = new Discovery({
    config: { vllmUrls: options.urls ?? config.vllmUrls, backends: config.backends },
    onSpecs: (specs) => set.update(specs),
    logger,
    resolve: options.resolve,
  });
  set.onChange((b) => {
    // The list changed (b undefined) or a drained backend left: forget ring members that are gone.
    if (b === undefined || b.draining) picker.retain(set.all().map((x) => x.id));
  });
  if (options.registry) registerBackendMetrics(options.registry, set);
  set.start();
  try {
    await discovery.start();
  } catch (err) {
    await set.stop();
    throw err;
  }
  const routing = config.routing;
  return {
    set,
    discovery,
    picker,
    pick(model, sessionKey, exclude) {
      let candidates = set.withFreeSlot(model);
      if (exclude && exclude.size > 0) candidates = candidates.filter((b) => !exclude.has(b));
      return picker.pick(candidates, { strategy: routing.strategy, affinity: routing.affinity, affinityBound: routing.affinityBound, sessionKey, now: Date.now() });
    },
    reload: () => discovery.reload(),
    async stop() {
      discovery.stop();
      await set.stop();
    },
  };
}

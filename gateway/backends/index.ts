/**
 * @module backends
 * The wiring of the backend modules, so `server.ts` makes one call: discovery feeds the set, the set's
 * backends probe and scrape themselves, the picker chooses among the set's candidates, and the metrics
 * read the set at scrape time. See README.md for what each routing signal reads and why.
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
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
  /** Chooses among candidates; admission hands it the set's backends with a free slot (pipeline/inference.ts). */
  picker: Picker;
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
  return {
    set,
    discovery,
    picker,
    reload: () => discovery.reload(),
    async stop() {
      discovery.stop();
      await set.stop();
    },
  };
}

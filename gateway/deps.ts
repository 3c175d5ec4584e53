/**
 * @module deps
 * What the routes need, assembled once by `server.ts` and passed to `createApp`. A plain typed
 * object: no service locator on the Hono context (STYLE.md "Not to imitate").
 */
import type { Pool } from 'undici';
import type { Admission } from './admission.js';
import type { KeyRegistry } from './auth/keys.js';
import type { Config } from './config.js';
import type { Lifecycle } from './lifecycle.js';
import type { LatencyWindow } from './observability/latency-window.js';
import type { Logger } from './observability/logger.js';
import type { GatewayMetrics } from './observability/metrics.js';
import type { SseKeepalive } from './proxy/sse-keepalive.js';
import type { RateLimitStore } from './rate-limit/store.js';
import type { Readiness } from './upstream/readiness.js';

export interface GatewayDeps {
  config: Config;
  version: string;
  startedAt: number;
  logger: Logger;
  metrics: GatewayMetrics;
  latency: LatencyWindow;
  pool: Pool;
  readiness: Readiness;
  admission: Admission;
  rateLimits: RateLimitStore;
  /** The current key list; undefined = anonymous mode (ALLOW_ANONYMOUS or the simulator). Re-read on SIGHUP. */
  keys: () => KeyRegistry | undefined;
  lifecycle: Lifecycle;
  /** Undefined when SSE_KEEPALIVE_MS is 0. */
  keepalive: SseKeepalive | undefined;
}

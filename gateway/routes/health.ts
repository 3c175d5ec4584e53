/**
 * @module routes/health
 * Liveness, readiness and Function Compute's lifecycle hooks (fc3.md 3.3, 3.4). These stay open
 * (no API key): FC, compose and Kubernetes probes call them.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { GatewayDeps } from '../deps.js';
import { PATHS } from './paths.js';

export function healthRoutes(deps: GatewayDeps, drain: () => Promise<void>): Hono<AppEnv> {
  const { readiness, lifecycle, config } = deps;
  const app = new Hono<AppEnv>();

  app.get(PATHS.livez, (c) => c.json({ status: 'alive' }));

  // 200 only when vLLM is ready, so FC and compose route traffic only to an instance that can answer.
  app.get(PATHS.health, (c) => {
    if (lifecycle.draining) return c.json({ status: 'draining', reason: 'the gateway is shutting down' }, 503);
    if (!readiness.isReady) return c.json({ status: readiness.state, reason: readiness.reason }, 503);
    return c.json({ status: 'ready', model: readiness.models[0]?.id ?? null });
  });

  // FC's initializer runs before the first request reaches the instance: block until vLLM has loaded.
  app.post(PATHS.initialize, async (c) => {
    const ready = await readiness.waitReady(config.initializeTimeoutMs, c.req.raw.signal);
    if (!ready) return c.json({ status: readiness.state, reason: readiness.reason }, 503);
    return c.json({ status: 'ready', model: readiness.models[0]?.id ?? null });
  });

  // FC's pre-stop hook: drain in-flight requests (bounded by SHUTDOWN_GRACE_MS), then answer.
  app.get(PATHS.preStop, async (c) => {
    await drain();
    return c.json({ status: 'drained' });
  });

  return app;
}

/**
 * @module routes/health
 * Liveness, readiness and Function Compute's lifecycle hooks (fc3.md 3.3, 3.4). These stay open
 * (no API key): FC, compose and Kubernetes probes call them.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { BackendSet } from '../backends/set.js';
import type { Lifecycle } from '../lifecycle.js';
import { PATHS } from './paths.js';

export interface HealthSources {
  backends: BackendSet;
  lifecycle: Lifecycle;
  initializeTimeoutMs: number;
}

export function healthRoutes({ backends, lifecycle, initializeTimeoutMs }: HealthSources, drain: () => Promise<void>): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const ready = () => ({ status: 'ready', model: backends.defaultModel()?.id ?? null, backends_ready: backends.all().filter((b) => b.usable).length });
  const notReady = () => {
    const first = backends.all()[0];
    return { status: first?.state === 'unhealthy' ? 'unhealthy' : 'starting', reason: first?.readiness.reason ?? 'no backend configured' };
  };

  app.get(PATHS.livez, (c) => c.json({ status: 'alive' }));

  // 200 while at least one backend is ready, so FC, compose and Kubernetes route traffic only to an instance that can answer.
  app.get(PATHS.health, (c) => {
    if (lifecycle.draining) return c.json({ status: 'draining', reason: 'the gateway is shutting down' }, 503);
    if (!backends.anyReady) return c.json(notReady(), 503);
    return c.json(ready());
  });

  // FC's initializer runs before the first request reaches the instance: block until a backend has loaded.
  app.post(PATHS.initialize, async (c) => {
    const ok = await backends.waitUsable(undefined, initializeTimeoutMs, c.req.raw.signal);
    if (!ok) return c.json(notReady(), 503);
    return c.json(ready());
  });

  // FC's pre-stop hook: drain in-flight requests (bounded by SHUTDOWN_GRACE_MS), then answer. The process
  // stays up (health 503, inference 503) until SIGTERM: it never exits on its own (issue 9).
  app.get(PATHS.preStop, async (c) => {
    await drain();
    return c.json({ status: 'drained' });
  });

  return app;
}

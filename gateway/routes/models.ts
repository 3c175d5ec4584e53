/**
 * @module routes/models
 * GET /v1/models: the union of the ready backends' model cards plus one card per alias whose target a
 * ready backend serves (each backend's list is refreshed by its readiness poll).
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { BackendSet } from '../backends/set.js';
import { modelList } from '../models.js';
import { modelStarting } from '../upstream/failures.js';

export function modelRoutes({ backends, aliases }: { backends: BackendSet; aliases: ReadonlyMap<string, string> }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/v1/models', (c) => {
    const served = backends.models();
    if (served.length === 0) throw modelStarting(5);
    return c.json(modelList(served, aliases));
  });
  return app;
}

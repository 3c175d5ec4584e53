/**
 * @module routes/models
 * GET /v1/models: vLLM's model cards plus one card per alias, re-fetched at most every MODELS_CACHE_MS.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { GatewayDeps } from '../deps.js';
import { modelList } from '../models.js';
import { modelStarting } from '../upstream/failures.js';

export function modelRoutes(deps: GatewayDeps): Hono<AppEnv> {
  const { readiness, config } = deps;
  const app = new Hono<AppEnv>();
  app.get('/v1/models', async (c) => {
    if (readiness.models.length === 0 || readiness.modelsAgeMs > config.modelsCacheMs) {
      try {
        await readiness.refreshModels();
      } catch {
        if (readiness.models.length === 0) throw modelStarting(5);
        // vLLM did not answer this time: the last list we had is still the best answer.
      }
    }
    return c.json(modelList(readiness.models, config.modelAliases));
  });
  return app;
}

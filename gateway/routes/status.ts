/**
 * @module routes/status
 * GET /system/status and GET /model/info, behind the API key like the API itself.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { GatewayDeps } from '../deps.js';
import { VllmLoadReader } from '../upstream/vllm-load.js';

export function statusRoutes(deps: GatewayDeps): Hono<AppEnv> {
  const { readiness, admission, config, latency } = deps;
  const load = new VllmLoadReader(deps.pool);
  const app = new Hono<AppEnv>();

  app.get('/system/status', async (c) =>
    c.json({
      version: deps.version,
      uptime_s: Math.round((Date.now() - deps.startedAt) / 1000),
      upstream: {
        state: readiness.state,
        reason: readiness.reason,
        ready: readiness.isReady,
        model: readiness.models[0]?.id ?? null,
      },
      gateway: {
        in_flight: admission.inFlight,
        queued: admission.queued,
        draining: deps.lifecycle.draining,
      },
      latency: latency.summary(),
      vllm: readiness.isReady ? await load.read() : null,
    }),
  );

  app.get('/model/info', (c) => {
    const model = readiness.models[0];
    return c.json({
      model: model?.id ?? null,
      served_models: readiness.models.map((m) => m.id),
      max_model_len: model?.maxModelLen ?? null,
      aliases: Object.fromEntries(config.modelAliases),
      limits: {
        max_concurrent_requests: config.admission.maxConcurrent,
        max_queue: config.admission.maxQueue,
        queue_timeout_ms: config.admission.queueTimeoutMs,
        rate_limit_rpm: config.rateLimit.rpm || null,
        rate_limit_tpm: config.rateLimit.tpm || null,
        max_tokens_limit: config.maxTokensLimit ?? null,
        max_messages: config.maxMessages,
        max_body_bytes: config.maxBodyBytes,
        request_timeout_ms: config.timeouts.requestMs,
      },
    });
  });
  return app;
}

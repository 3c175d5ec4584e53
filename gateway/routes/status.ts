/**
 * @module routes/status
 * GET /system/status and GET /model/info, behind the API key like the API itself. Backend URLs are shown
 * without userinfo or keys.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { BackendSet } from '../backends/set.js';
import type { Config } from '../config.js';
import type { Lifecycle } from '../lifecycle.js';
import type { LatencyWindow } from '../observability/latency-window.js';
import type { StoreStatus } from '../rate-limit/index.js';

export interface StatusSources {
  version: string;
  startedAt: number;
  config: Config;
  backends: BackendSet;
  lifecycle: Lifecycle;
  latency: LatencyWindow;
  admission: { inFlight: number; queued: number };
  rateLimitStore: () => StoreStatus;
  stateStore?: () => Record<string, unknown>;
}

export function statusRoutes(s: StatusSources): Hono<AppEnv> {
  const { backends, config } = s;
  const app = new Hono<AppEnv>();

  app.get('/system/status', async (c) => {
    const list = backends.all();
    // A backend that became ready since the last scrape tick has no reading yet: read it now.
    await Promise.all(list.filter((b) => b.usable && !b.vllm).map((b) => b.refreshLoad()));
    const first = list[0];
    return c.json({
      version: s.version,
      uptime_s: Math.round((Date.now() - s.startedAt) / 1000),
      upstream: {
        state: backends.anyReady ? 'ready' : (first?.state ?? 'starting'),
        ready: backends.anyReady,
        model: backends.defaultModel()?.id ?? null,
        backends_ready: list.filter((b) => b.usable).length,
        backends_total: list.length,
      },
      backends: list.map((b) => {
        const v = b.vllm;
        return {
          name: b.name,
          url: b.displayUrl,
          state: b.state,
          models: b.models.map((m) => m.id),
          weight: b.weight,
          max_concurrent: b.maxConcurrent,
          in_flight: b.inFlight,
          load: Math.round(b.load() * 1000) / 1000,
          vllm: v ? { running: v.running, waiting: v.waiting, kv_cache_usage: v.kvCacheUsage, age_ms: Math.round(Date.now() - v.at) } : null,
          breaker: b.breaker,
          last_error: b.lastError ? { kind: b.lastError.kind, detail: b.lastError.detail, at: new Date(b.lastError.at).toISOString() } : null,
        };
      }),
      gateway: {
        in_flight: s.admission.inFlight,
        queued: s.admission.queued,
        draining: s.lifecycle.draining,
      },
      // vLLM's own load summed over the backends that have a reading (each backend's is above).
      vllm: vllmTotals(list),
      rate_limit_store: s.rateLimitStore(),
      state_store: s.stateStore?.() ?? null,
      latency: s.latency.summary(),
    });
  });

  app.get('/model/info', (c) => {
    const model = backends.defaultModel();
    return c.json({
      model: model?.id ?? null,
      served_models: backends.models().map((m) => m.id),
      max_model_len: model?.maxModelLen ?? null,
      aliases: Object.fromEntries(config.modelAliases),
      fallbacks: Object.fromEntries(config.routing.fallbacks),
      limits: {
        max_concurrent_requests: config.admission.maxConcurrent,
        max_queue: config.admission.maxQueue,
        queue_timeout_ms: config.admission.queueTimeoutMs,
        rate_limit_rpm: config.rateLimit.rpm || null,
        rate_limit_tpm: config.rateLimit.tpm || null,
        max_tokens_limit: config.maxTokensLimit ?? null,
        max_messages: config.maxMessages,
        max_body_bytes: config.maxBodyBytes,
        max_json_depth: config.maxJsonDepth,
        request_timeout_ms: config.timeouts.requestMs,
      },
    });
  });
  return app;
}

function vllmTotals(list: ReturnType<BackendSet['all']>): { running: number; waiting: number; kvCacheUsage: number | null } | null {
  let out: { running: number; waiting: number; kvCacheUsage: number | null } | null = null;
  for (const b of list) {
    const v = b.vllm;
    if (!v) continue;
    out ??= { running: 0, waiting: 0, kvCacheUsage: null };
    out.running += v.running;
    out.waiting += v.waiting;
    if (v.kvCacheUsage !== null) out.kvCacheUsage = Math.max(out.kvCacheUsage ?? 0, v.kvCacheUsage);
  }
  return out;
}

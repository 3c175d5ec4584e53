/**
 * @module app
 * Assembles the Hono app: the observe middleware, CORS preflights, API-key auth, the routes (each API
 * surface through the one inference pipeline), and the one error answer for every error, unknown path
 * and wrong method. Each route gets only the parts it uses.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { Hono } from 'hono';
import type { AppEnv } from './app-env.js';
import { apiKeyAuth } from './auth/middleware.js';
import type { KeyRegistry } from './auth/keys.js';
import type { BackendSet } from './backends/set.js';
import { callHeaders, type ErrorShape } from './call/client-response.js';
import type { CorsPolicy } from './call/cors.js';
import type { Config } from './config.js';
import { GatewayError, envelope } from './errors.js';
import type { Lifecycle } from './lifecycle.js';
import type { LatencyWindow } from './observability/latency-window.js';
import type { Logger } from './observability/logger.js';
import type { GatewayMetrics } from './observability/metrics.js';
import { observe } from './observability/observe.js';
import { inferenceHandler, type InferenceStages } from './pipeline/inference.js';
import { healthRoutes } from './routes/health.js';
import { modelRoutes } from './routes/models.js';
import { PATHS } from './routes/paths.js';
import { statusRoutes, type StatusSources } from './routes/status.js';
import { chatSurface, completionSurface, openAiErrors } from './surfaces/openai.js';
import type { Surface } from './surfaces/surface.js';

export interface AppParts {
  config: Config;
  logger: Logger;
  metrics: GatewayMetrics;
  latency: LatencyWindow;
  cors: CorsPolicy;
  keys: () => KeyRegistry | undefined;
  lifecycle: Lifecycle;
  backends: BackendSet;
  inference: InferenceStages;
  status: StatusSources;
  /** Drain without closing the listener (FC's pre-stop). */
  drain: () => Promise<void>;
  /** Extra routes (stored state surfaces), mounted behind auth. */
  extraRoutes?: Array<{ paths: Record<string, string[]>; mount: (app: Hono<AppEnv>) => void }>;
  /** Extra inference surfaces beyond chat and completions, with their paths. */
  surfaces?: Array<{ path: string; surface: Surface }>;
}

/**
 * Inference surfaces and their paths. `/generate` is the seed service's name for completions; `/chat`
 * (chat completions, or the seed chatbot body) comes with the stored-state surfaces from server.ts.
 */
const CORE_SURFACES: Array<{ path: string; surface: Surface }> = [
  { path: '/v1/chat/completions', surface: chatSurface },
  { path: '/v1/completions', surface: completionSurface },
  { path: '/generate', surface: completionSurface },
];

/** Every other path we serve and its methods, for 405 answers (Hono itself only knows "not found"). */
const METHODS: Record<string, string[]> = {
  '/v1/models': ['GET'],
  '/system/status': ['GET'],
  '/model/info': ['GET'],
  [PATHS.health]: ['GET'],
  [PATHS.livez]: ['GET'],
  [PATHS.initialize]: ['POST'],
  [PATHS.preStop]: ['GET'],
  [PATHS.metrics]: ['GET'],
};

export function createApp(parts: AppParts): Hono<AppEnv> {
  const { config, logger, metrics } = parts;
  const app = new Hono<AppEnv>();
  const surfaces = [...CORE_SURFACES, ...(parts.surfaces ?? [])];
  const methods: Record<string, string[]> = { ...METHODS };
  for (const { path } of surfaces) methods[path] = ['POST'];
  for (const extra of parts.extraRoutes ?? []) Object.assign(methods, extra.paths);
  const shapes = new Map<string, ErrorShape>(surfaces.map(({ surface }) => [surface.name, surface]));
  const surfaceByPath = new Map<string, ErrorShape>(surfaces.map(({ path, surface }) => [path, surface]));

  app.use('*', observe({ metrics, logger, latency: parts.latency, cors: parts.cors }));
  if (parts.cors.enabled) app.use('*', parts.cors.preflight());

  app.route('/', healthRoutes({ backends: parts.backends, lifecycle: parts.lifecycle, initializeTimeoutMs: config.initializeTimeoutMs }, parts.drain));

  app.get(PATHS.metrics, async (c) => {
    if (config.metricsToken && !bearerMatches(c.req.header('authorization'), config.metricsToken)) {
      return c.json(envelope('A valid metrics token is required.', 'authentication_error', null, 'invalid_metrics_token'), 401);
    }
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  const authOptions = {
    registry: parts.keys,
    onReject: () => {
      // Counted here; the 401 itself is the middleware's.
      metrics.rejections.inc({ reason: 'auth' });
    },
  };
  const auth = apiKeyAuth(authOptions);
  // Each surface's 401 in its own error shape (Anthropic's on /v1/messages).
  for (const { path, surface } of surfaces) app.post(path, apiKeyAuth({ ...authOptions, shape: surface }), inferenceHandler(surface, parts.inference));
  app.use('/v1/models', auth);
  app.route('/', modelRoutes({ backends: parts.backends, aliases: config.modelAliases }));
  app.use('/system/status', auth);
  app.use('/model/info', auth);
  app.route('/', statusRoutes(parts.status));
  for (const extra of parts.extraRoutes ?? []) {
    for (const path of Object.keys(extra.paths)) app.use(path, auth);
    extra.mount(app);
  }

  app.notFound((c) => {
    const allowed = methods[c.req.path] ?? methodsOfPattern(methods, c.req.path);
    if (allowed && !allowed.includes(c.req.method)) {
      // In the shape of the surface that owns the path (Anthropic's on /v1/messages).
      const shape = surfaceByPath.get(c.req.path) ?? openAiErrors;
      const err = new GatewayError(405, `Method ${c.req.method} is not allowed on ${c.req.path.slice(0, 200)}; use ${allowed.join(', ')}.`, { type: 'invalid_request_error', code: 'method_not_allowed' });
      return c.body(shape.errorBody(err), 405, { 'content-type': 'application/json', allow: allowed.join(', ') });
    }
    return c.json(envelope(`Unknown path ${c.req.path.slice(0, 200)}.`, 'not_found_error', null, 'unknown_url'), 404);
  });

  app.onError((err, c) => {
    const call = c.get('call');
    const shape = (call?.surface && shapes.get(call.surface)) || openAiErrors;
    if (err instanceof GatewayError) {
      return c.body(shape.errorBody(err), err.status as 400, { 'content-type': 'application/json', ...err.headers });
    }
    // A 500 from the gateway itself is always a defect: counted, alerted on, logged with its stack.
    metrics.internalErrors.inc({ where: 'request' });
    logger.error({ reqId: call?.id, err: { name: err.name, message: err.message, stack: err.stack } }, 'unhandled error');
    const internal = new GatewayError(500, 'The gateway failed to process the request.', { type: 'server_error', code: 'internal_error' });
    const res = c.body(shape.errorBody(internal), 500, { 'content-type': 'application/json' });
    if (call) for (const [name, value] of Object.entries(callHeaders(call))) res.headers.set(name, value);
    return res;
  });

  return app;
}

/** Methods of a parameterised path (`/v1/responses/:id`), for 405 answers. */
function methodsOfPattern(methods: Record<string, string[]>, path: string): string[] | undefined {
  for (const [pattern, allowed] of Object.entries(methods)) {
    if (!pattern.includes(':')) continue;
    const re = new RegExp(`^${pattern.replace(/:[^/]+/g, '[^/]+')}$`);
    if (re.test(path)) return allowed;
  }
  return undefined;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = header?.match(/^Bearer\s+(.+)$/i)?.[1] ?? '';
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

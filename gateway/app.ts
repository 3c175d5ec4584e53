/**
 * @module app
 * Assembles the Hono app: the observe middleware, CORS, API-key auth, the routes, and the one
 * OpenAI-shaped answer for every error, unknown path and wrong method.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from './app-env.js';
import { apiKeyAuth } from './auth/middleware.js';
import type { GatewayDeps } from './deps.js';
import { GatewayError, envelope } from './errors.js';
import { observe } from './observability/observe.js';
import { healthRoutes } from './routes/health.js';
import { inferenceHandler } from './routes/inference.js';
import { modelRoutes } from './routes/models.js';
import { PATHS } from './routes/paths.js';
import { statusRoutes } from './routes/status.js';

/** Every path we serve and its methods, for 405 answers (Hono itself only knows "not found"). */
const METHODS: Record<string, string[]> = {
  '/v1/chat/completions': ['POST'],
  '/chat': ['POST'],
  '/v1/completions': ['POST'],
  '/generate': ['POST'],
  '/v1/models': ['GET'],
  '/system/status': ['GET'],
  '/model/info': ['GET'],
  [PATHS.health]: ['GET'],
  [PATHS.livez]: ['GET'],
  [PATHS.initialize]: ['POST'],
  [PATHS.preStop]: ['GET'],
  [PATHS.metrics]: ['GET'],
};

export function createApp(deps: GatewayDeps, drain: () => Promise<void>): Hono<AppEnv> {
  const { config, logger, metrics } = deps;
  const app = new Hono<AppEnv>();

  app.use('*', observe(deps));
  if (config.corsOrigins.length > 0) {
    app.use('*', cors({ origin: [...config.corsOrigins], allowHeaders: ['authorization', 'api-key', 'content-type', 'x-request-id'], exposeHeaders: ['x-request-id', 'server-timing', 'retry-after', 'x-ratelimit-remaining-requests', 'x-ratelimit-remaining-tokens'], maxAge: 600 }));
  }

  app.route('/', healthRoutes(deps, drain));

  app.get(PATHS.metrics, async (c) => {
    if (config.metricsToken && !bearerMatches(c.req.header('authorization'), config.metricsToken)) {
      return c.json(envelope('A valid metrics token is required.', 'authentication_error', null, 'invalid_metrics_token'), 401);
    }
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  const auth = apiKeyAuth({
    registry: deps.keys,
    onReject: () => {
      // Counted here; the 401 itself is the middleware's.
      metrics.rejections.inc({ reason: 'auth' });
    },
  });
  const chat = inferenceHandler(deps, 'chat');
  const completion = inferenceHandler(deps, 'completion');
  app.post('/v1/chat/completions', auth, chat);
  app.post('/chat', auth, chat);
  app.post('/v1/completions', auth, completion);
  app.post('/generate', auth, completion);
  app.use('/v1/models', auth);
  app.route('/', modelRoutes(deps));
  app.use('/system/status', auth);
  app.use('/model/info', auth);
  app.route('/', statusRoutes(deps));

  app.notFound((c) => {
    const allowed = METHODS[c.req.path];
    if (allowed && !allowed.includes(c.req.method)) {
      return c.json(envelope(`Method ${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(', ')}.`, 'invalid_request_error', null, 'method_not_allowed'), 405, { allow: allowed.join(', ') });
    }
    return c.json(envelope(`Unknown path ${c.req.path.slice(0, 200)}.`, 'not_found_error', null, 'unknown_url'), 404);
  });

  app.onError((err, c) => {
    if (err instanceof GatewayError) {
      return c.json(err.toJSON(), err.status as 400, err.headers);
    }
    logger.error({ reqId: c.get('rec')?.id, err: { name: err.name, message: err.message, stack: err.stack } }, 'unhandled error');
    return c.json(envelope('The gateway failed to process the request.', 'server_error', null, 'internal_error'), 500);
  });

  return app;
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = header?.match(/^Bearer\s+(.+)$/i)?.[1] ?? '';
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/**
 * @module sim/server
 * The HTTP face of the simulator: vLLM's routes on a generate-model server (vllm.md 1.2), the
 * --api-key middleware (vllm.md 6), FastAPI's 404/405 answers, the JSON content-type dependency
 * (vllm.md 1.3) and the hand-off of inference requests to a streaming or a blocking run.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockingRun } from './blocking-run.js';
import type { SimContext } from './context.js';
import { UNSUPPORTED_MEDIA_TYPE, type SimError } from './errors.js';
import { readBody, sendEmpty, sendError, sendJson } from './http-io.js';
import { SIM_VLLM_VERSION } from './options.js';
import { planChat } from './plan-chat.js';
import { planCompletion } from './plan-completion.js';
import { validationFailure } from './pydantic.js';
import { modelsBody, randomHex16 } from './responses.js';
import { StreamRun } from './stream-run.js';
import { isRecord } from './text.js';
import { tokenizeBody } from './tokenize-route.js';

type Handler = (ctx: SimContext, req: IncomingMessage, res: ServerResponse, path: string) => void | Promise<void>;

/** vllm.md 6, [A]: paths under these prefixes need the bearer token when --api-key is set. */
const GUARDED_PREFIXES = ['/v1', '/v2', '/inference', '/cohere'];
/** prometheus_client's text exposition content type. */
const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const health: Handler = (ctx, _req, res) => sendEmpty(res, ctx.engineDead ? 503 : 200);

const ROUTES: Readonly<Record<string, Readonly<Record<string, Handler>>>> = {
  '/health': { GET: health },
  // SageMaker's /ping answers like /health, on GET and POST (vllm.md 1.2).
  '/ping': { GET: health, POST: health },
  '/version': { GET: (_ctx, _req, res) => sendJson(res, 200, JSON.stringify({ version: SIM_VLLM_VERSION })) },
  // Always 0 without --enable-server-load-tracking (vllm.md 1.2).
  '/load': { GET: (_ctx, _req, res) => sendJson(res, 200, '{"server_load":0}') },
  '/metrics': { GET: metrics },
  '/metrics/': { GET: metrics },
  '/v1/models': { GET: (ctx, _req, res) => sendJson(res, 200, modelsBody(ctx.config)) },
  '/v1/chat/completions': { POST: (ctx, req, res, path) => inference(ctx, req, res, path, 'chat') },
  '/v1/completions': { POST: (ctx, req, res, path) => inference(ctx, req, res, path, 'completion') },
  '/tokenize': { POST: tokenizeRoute },
  // SageMaker's dispatcher: full inference, chosen by the body's shape, outside --api-key (vllm.md 1.2, 6).
  '/invocations': { POST: (ctx, req, res, path) => inference(ctx, req, res, path, 'by-body') },
};

/** "GET /health, GET|POST /ping, …", for the startup log line (vLLM logs its routes at startup). */
export function routeSummary(): string {
  return Object.entries(ROUTES).map(([path, methods]) => `${Object.keys(methods).join('|')} ${path}`).join(', ');
}

export function createRequestHandler(ctx: SimContext): (req: IncomingMessage, res: ServerResponse) => void {
  const keyDigests = ctx.config.apiKeys.map(sha256);
  return function handleSimRequest(req, res) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (keyDigests.length > 0 && method !== 'OPTIONS' && GUARDED_PREFIXES.some((p) => path.startsWith(p)) && !authorized(req, keyDigests)) {
      // No WWW-Authenticate header, a string error (vllm.md 6).
      sendJson(res, 401, '{"error":"Unauthorized"}');
      req.resume();
      return;
    }
    const route = ROUTES[path];
    const handler = route?.[method];
    if (!route) {
      sendJson(res, 404, '{"detail":"Not Found"}');
    } else if (!handler) {
      sendJson(res, 405, '{"detail":"Method Not Allowed"}', { allow: Object.keys(route).join(', ') });
    } else {
      const done = handler(ctx, req, res, path);
      if (done instanceof Promise) done.catch(() => res.destroy());
      return;
    }
    req.resume();
  };
}

function metrics(ctx: SimContext, _req: IncomingMessage, res: ServerResponse): void {
  const body = ctx.renderMetrics();
  res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The scheme is compared case-insensitively; the token by SHA-256 digest in constant time (vllm.md 6). */
function authorized(req: IncomingMessage, keyDigests: readonly Buffer[]): boolean {
  const header = req.headers.authorization;
  if (!header) return false;
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return false;
  const digest = sha256(space < 0 ? '' : header.slice(space + 1));
  let ok = false;
  for (const key of keyDigests) ok = timingSafeEqual(digest, key) || ok;
  return ok;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

type JsonRead = { body: unknown; error?: undefined } | { body: undefined; error: SimError };

/** The content-type dependency, then the JSON body, as FastAPI sees them (vllm.md 1.3, 5.2). */
async function readJson(req: IncomingMessage): Promise<JsonRead> {
  const raw = await readBody(req);
  const mediaType = (req.headers['content-type'] ?? '').toLowerCase().split(';', 1)[0]?.trim();
  if (mediaType !== 'application/json') return { body: undefined, error: UNSUPPORTED_MEDIA_TYPE };
  const text = raw.toString('utf8');
  try {
    return { body: JSON.parse(text) as unknown };
  } catch (err) {
    const position = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
    const error = validationFailure([{ type: 'json_invalid', loc: ['body', position === undefined ? text.length : Number(position)], msg: 'JSON decode error', input: {} }]);
    return { body: undefined, error };
  }
}

async function inference(ctx: SimContext, req: IncomingMessage, res: ServerResponse, path: string, route: 'chat' | 'completion' | 'by-body'): Promise<void> {
  const { body, error } = await readJson(req);
  const kind = route !== 'by-body' ? route : isRecord(body) && 'messages' in body ? 'chat' : 'completion';
  const streamed = isRecord(body) && body.stream === true;
  const record = ctx.log.start(req.method ?? 'POST', path, req.headers, body, streamed);
  if (error) {
    sendError(res, error);
    ctx.log.end(record, 'error');
    return;
  }
  const planContext = { config: ctx.config, engineDead: ctx.engineDead };
  const result = kind === 'chat' ? planChat(body, planContext) : planCompletion(body, planContext);
  if (result.error) {
    sendError(res, result.error);
    ctx.log.end(record, 'error');
    return;
  }
  // vllm.md 3.1: the response id is X-Request-Id if sent, else the body's request_id, else 16 hex.
  const header = req.headers['x-request-id'];
  const requestId = (typeof header === 'string' && header.length > 0 ? header : undefined) ?? result.plan.bodyRequestId ?? randomHex16();
  const run = result.plan.stream
    ? new StreamRun(ctx, result.plan, res, record, requestId)
    : new BlockingRun(ctx, result.plan, res, record, requestId);
  run.begin();
}

async function tokenizeRoute(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { body, error } = await readJson(req);
  if (error) {
    sendError(res, error);
    return;
  }
  const result = tokenizeBody(body, ctx.config);
  if ('error' in result) sendError(res, result.error);
  else sendJson(res, 200, result.json);
}

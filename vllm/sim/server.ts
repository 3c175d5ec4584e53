/**
 * @module sim/server
 * The HTTP face of the simulator: vLLM's routes on a generate-model server (vllm.md 1.2), the
 * --api-key middleware (vllm.md 6), FastAPI's 404/405 answers, the JSON content-type dependency
 * (vllm.md 1.3) and the hand-off of inference requests to a streaming or a blocking run. /v1/messages is
 * served like chat and answered in Anthropic's shapes (plan-messages.ts, anthropic-frames.ts); its auth is
 * vLLM's, `Authorization: Bearer` only (an `x-api-key` header alone is a 401, as in vLLM).
 * GET /sim/stats is the simulator's own (real vLLM answers 404): the totals of Simulator.stats().
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockingRun } from './blocking-run.js';
import type { SimContext } from './context.js';
import { readJson, sendEmpty, sendError, sendJson } from './http-io.js';
import { SIM_VLLM_VERSION } from './options.js';
import type { PlanResult } from './plan.js';
import { planChat } from './plan-chat.js';
import { planCompletion } from './plan-completion.js';
import { countMessageTokens, planMessages } from './plan-messages.js';
import type { SimRoute } from './records.js';
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
  '/v1/messages': { POST: (ctx, req, res, path) => inference(ctx, req, res, path, 'messages') },
  '/v1/messages/count_tokens': { POST: countTokensRoute },
  '/tokenize': { POST: tokenizeRoute },
  // SageMaker's dispatcher: full inference, chosen by the body's shape, outside --api-key (vllm.md 1.2, 6).
  '/invocations': { POST: (ctx, req, res, path) => inference(ctx, req, res, path, 'by-body') },
  '/sim/stats': { GET: (ctx, _req, res) => sendJson(res, 200, JSON.stringify(ctx.log.stats())) },
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

async function inference(ctx: SimContext, req: IncomingMessage, res: ServerResponse, path: string, surface: SimRoute | 'by-body'): Promise<void> {
  const { body, error } = await readJson(req);
  const route: SimRoute | undefined = error ? undefined : surface !== 'by-body' ? surface : isRecord(body) && 'messages' in body ? 'chat' : 'completion';
  const streamed = isRecord(body) && body.stream === true;
  const record = ctx.log.start(req.method ?? 'POST', path, req.headers, body, streamed, route);
  if (error || route === undefined) {
    // Content type and JSON decoding fail in FastAPI, before any route: vLLM's envelope on every route.
    if (error) sendError(res, error);
    ctx.log.end(record, 'error');
    return;
  }
  const planContext = { config: ctx.config, engineDead: ctx.engineDead };
  let result: PlanResult;
  if (route === 'messages') {
    const planned = planMessages(body, planContext);
    if (planned.error) {
      sendError(res, planned.error, planned.envelope === 'anthropic' ? 'anthropic' : 'nested');
      ctx.log.end(record, 'error');
      return;
    }
    result = planned;
  } else {
    result = route === 'chat' ? planChat(body, planContext) : planCompletion(body, planContext);
  }
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

async function countTokensRoute(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { body, error } = await readJson(req);
  if (error) {
    sendError(res, error);
    return;
  }
  const result = countMessageTokens(body, { config: ctx.config, engineDead: ctx.engineDead });
  if (result.error) sendError(res, result.error, result.envelope === 'anthropic' ? 'anthropic' : 'nested');
  else sendJson(res, 200, result.json);
}

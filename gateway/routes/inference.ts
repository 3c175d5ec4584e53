/**
 * @module routes/inference
 * POST /v1/chat/completions (and /chat), POST /v1/completions (and the legacy /generate).
 *
 * The line of checks, in order: content type and body size → JSON → schema (400) → model (404, after
 * waiting for vLLM's readiness if it is starting) → the key's rate limits (429) → admission (queue,
 * 503) → vLLM. The answer is written straight to Node's response by `Exchange`; the handler then
 * returns RESPONSE_ALREADY_SENT so Hono does not touch it.
 */
import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { Release } from '../admission.js';
import type { AppEnv } from '../app-env.js';
import type { GatewayDeps } from '../deps.js';
import { GatewayError } from '../errors.js';
import { resolveModel } from '../models.js';
import type { RejectionReason } from '../observability/metrics.js';
import type { RequestRecord } from '../observability/request-record.js';
import { Exchange, type ExchangeOutcome } from '../proxy/exchange.js';
import { checkJsonContentType, readJsonBody } from '../proxy/read-body.js';
import { rateLimitHeaders } from '../rate-limit/headers.js';
import type { Reservation } from '../rate-limit/store.js';
import { parseChatRequest, parseCompletionRequest, type ParsedRequest } from '../schemas/index.js';
import { ClientGone, modelStarting } from '../upstream/failures.js';

type Kind = 'chat' | 'completion';
const UPSTREAM_PATH: Record<Kind, string> = { chat: '/v1/chat/completions', completion: '/v1/completions' };
/** A refused connection is the only failure we retry, and only before the first byte (issue 2). */
const MAX_ATTEMPTS = 3;

export function inferenceHandler(deps: GatewayDeps, kind: Kind) {
  const parse = kind === 'chat' ? parseChatRequest : parseCompletionRequest;
  const limits = { maxTokensLimit: deps.config.maxTokensLimit, maxMessages: deps.config.maxMessages };

  return async function inference(c: Context<AppEnv>): Promise<Response> {
    const rec = c.get('rec');
    const { incoming, outgoing } = c.env;
    rec.inference = true;
    const { config, lifecycle } = deps;
    if (lifecycle.draining) throw shuttingDown();
    lifecycle.enter();
    // One signal for "the client went away" during the phases before an exchange owns the request.
    const gone = new AbortController();
    const onClose = () => {
      if (!outgoing.writableFinished) gone.abort(new ClientGone('client closed the connection'));
    };
    outgoing.on('close', onClose);
    let release: Release | undefined;
    let reservation: Reservation | undefined;
    let settled: number | undefined;
    try {
      checkJsonContentType(incoming.headers['content-type']);
      const parsed = await readJsonBody(incoming, config.maxBodyBytes).then((json) => parse(json, limits));
      rec.stream = parsed.stream;
      rec.model = parsed.model;

      // Awaited only while vLLM starts: the usual request takes no extra turn of the event loop.
      const served = deps.readiness.isReady ? deps.readiness.models : await waitForModels(deps, rec, gone.signal);
      const model = resolveModel(parsed.model, served, config.modelAliases);
      rec.model = model;
      parsed.body.model = model;
      let maxTokens = parsed.maxTokens;
      if (maxTokens === undefined && config.maxTokensLimit !== undefined) {
        // Without max_tokens vLLM generates up to max_model_len (vllm.md 2.2); the configured cap applies instead.
        parsed.body.max_tokens = config.maxTokensLimit;
        maxTokens = config.maxTokensLimit;
      }

      const principal = c.get('principal');
      const headers: Record<string, string> = { 'x-request-id': rec.id };
      const rpm = principal.rpm ?? config.rateLimit.rpm;
      const tpm = principal.tpm ?? config.rateLimit.tpm;
      if (rpm > 0 || tpm > 0) {
        const cost = parsed.promptTokensEstimate + (maxTokens ?? config.rateLimit.defaultMaxTokens);
        const decision = await deps.rateLimits.reserve(principal.name, { rpm, tpm }, cost, Date.now());
        Object.assign(headers, rateLimitHeaders(decision));
        if (!decision.allowed) throw rateLimited(decision.reason, headers);
        reservation = decision.reservation;
      }

      release = deps.admission.tryAcquire(principal.name);
      rec.queueMs = 0;
      if (!release) {
        const queuedAt = performance.now();
        rec.abortPhase = 'queued';
        release = await deps.admission.acquire(principal.name, gone.signal);
        rec.queueMs = performance.now() - queuedAt;
        rec.waitedMs += rec.queueMs;
      }
      rec.abortPhase = 'upstream';

      const outcome = await forward(deps, rec, kind, parsed, headers, outgoing, gone.signal);
      rec.status = outcome.status;
      rec.usage = outcome.usage;
      rec.finishReason = outcome.finishReason;
      rec.clientAborted = outcome.clientAborted;
      rec.upstreamFailure = outcome.failureKind;
      rec.upstreamDetail = outcome.upstreamDetail;
      if (parsed.stream && outcome.firstByteMs !== undefined && outcome.status === 200) {
        rec.ttftMs = performance.now() - rec.startedAt - outcome.upstreamMs + outcome.firstByteMs;
      }
      // Unknown usage after an answer began keeps the whole reservation; no answer at all costs nothing.
      settled = outcome.usage ? outcome.usage.total_tokens : outcome.responded ? undefined : 0;
      if (!outcome.responded && outcome.error && !outcome.clientAborted) sendError(outgoing, outcome.error, headers);
      return RESPONSE_ALREADY_SENT;
    } catch (err) {
      if (gone.signal.aborted) {
        rec.clientAborted = true;
        rec.status = 499;
        return RESPONSE_ALREADY_SENT;
      }
      if (err instanceof GatewayError) rec.rejection ??= rejectionOf(err);
      settled = 0;
      throw err;
    } finally {
      outgoing.off('close', onClose);
      release?.();
      if (reservation) void deps.rateLimits.settle(reservation, settled, Date.now());
      lifecycle.leave();
    }
  };
}

/** Served models, waiting up to READY_WAIT_MS while vLLM starts (its port refuses connections while loading, vllm.md 1.1). */
async function waitForModels(deps: GatewayDeps, rec: RequestRecord, signal: AbortSignal) {
  const { readiness, config } = deps;
  const t0 = performance.now();
  rec.abortPhase = 'waiting';
  const ready = await readiness.waitReady(config.readyWaitMs, signal);
  rec.waitedMs += performance.now() - t0;
  if (signal.aborted) throw signal.reason;
  if (!ready) {
    rec.rejection = 'not_ready';
    throw modelStarting(5);
  }
  return readiness.models;
}

async function forward(
  deps: GatewayDeps,
  rec: RequestRecord,
  kind: Kind,
  parsed: ParsedRequest,
  headers: Record<string, string>,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<ExchangeOutcome> {
  const { config, readiness, lifecycle } = deps;
  const body = JSON.stringify(parsed.body);
  const deadline = rec.startedAt + config.timeouts.requestMs;
  const gatewayMs = performance.now() - rec.startedAt - rec.waitedMs;
  rec.overheadMs = gatewayMs;
  const serverTiming = () => `gw;dur=${gatewayMs.toFixed(2)}${rec.queueMs ? `, queue;dur=${rec.queueMs.toFixed(2)}` : ''}`;
  for (let attempt = 1; ; attempt++) {
    const exchange = new Exchange({
      pool: deps.pool,
      path: UPSTREAM_PATH[kind],
      body,
      stream: parsed.stream,
      dropUsageChunk: !parsed.clientWantsUsage,
      requestId: rec.id,
      apiKey: config.vllmApiKey,
      timeouts: config.timeouts,
      remainingMs: deadline - performance.now(),
      res,
      headers,
      serverTiming,
      keepalive: deps.keepalive,
    });
    lifecycle.track(exchange);
    const outcome = await exchange.start().outcome;
    lifecycle.untrack(exchange);
    if (outcome.responded || outcome.failureKind !== 'connect_refused' || attempt >= MAX_ATTEMPTS) return outcome;
    // Refused before anything was sent: vLLM is (re)starting. Wait for it, then try again (issue 2).
    deps.metrics.upstreamErrors.inc({ kind: 'connect_refused' });
    readiness.reportFailure('connection refused');
    const t0 = performance.now();
    const ready = await readiness.waitReady(Math.min(config.readyWaitMs, deadline - performance.now()), signal);
    rec.waitedMs += performance.now() - t0;
    if (!ready || signal.aborted) return { ...outcome, error: modelStarting(5), status: 503 };
  }
}

export function sendError(res: ServerResponse, err: GatewayError, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(err.toJSON());
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
    ...err.headers,
  });
  res.end(body);
}

function rateLimited(reason: string | undefined, headers: Record<string, string>): GatewayError {
  const tokens = reason === 'tokens' || reason === 'tokens_exceed_limit';
  const message =
    reason === 'tokens_exceed_limit'
      ? 'This request alone needs more tokens than your key may use per minute; lower max_tokens or the prompt size.'
      : `Rate limit reached for ${tokens ? 'tokens' : 'requests'} per minute on this API key; retry after the time in Retry-After.`;
  return new GatewayError(429, message, { type: tokens ? 'tokens' : 'requests', code: 'rate_limit_exceeded', headers });
}

function shuttingDown(): GatewayError {
  return new GatewayError(503, 'The gateway is shutting down; retry shortly.', { type: 'server_error', code: 'shutting_down', headers: { 'retry-after': '5' } });
}

function rejectionOf(err: GatewayError): RejectionReason | undefined {
  if (err.status === 413) return 'too_large';
  if (err.status === 400) return 'invalid';
  if (err.code === 'model_not_found') return 'model_not_found';
  if (err.status === 429) return err.type === 'tokens' ? 'rate_limit_tokens' : 'rate_limit_requests';
  if (err.code === 'server_overloaded') return /timed out|timeout/i.test(err.message) ? 'queue_timeout' : 'queue_full';
  if (err.code === 'model_not_ready') return 'not_ready';
  return undefined;
}

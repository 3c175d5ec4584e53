/**
 * @module observability/observe
 * The outermost middleware: gives each request its Call (id, clock, CORS grant), puts the call's headers
 * on every answer Hono builds (proxied answers carry them from client-response), and when the request
 * ends writes its one log line and its metric updates, all read from the call.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import { Call } from '../call/call.js';
import { callHeaders } from '../call/client-response.js';
import type { CorsPolicy } from '../call/cors.js';
import { requestIdOf } from '../request-id.js';
import type { LatencyWindow } from './latency-window.js';
import type { Logger } from './logger.js';
import type { GatewayMetrics } from './metrics.js';

export interface ObserveOptions {
  metrics: GatewayMetrics;
  logger: Logger;
  latency: LatencyWindow;
  cors: CorsPolicy;
}

export function observe({ metrics, logger, latency, cors }: ObserveOptions): MiddlewareHandler<AppEnv> {
  return async function observeRequest(c, next) {
    const startedAt = performance.now();
    const headers = c.env.incoming.headers;
    const call = new Call(requestIdOf(header(headers['x-request-id']), header(headers['x-fc-request-id'])), startedAt, cors.grant(header(headers.origin)));
    c.set('call', call);
    await next();
    call.route = c.req.routePath === '/*' || c.req.routePath === '*' ? 'unmatched' : c.req.routePath;
    if (call.status === 0) {
      // Hono-built answers (errors, health, models, 401): the same headers a proxied answer carries.
      call.status = c.res.status;
      for (const [name, value] of Object.entries(callHeaders(call))) c.res.headers.set(name, value);
      c.res.headers.set('server-timing', `gw;dur=${(performance.now() - startedAt).toFixed(2)}`);
    }
    const durationMs = performance.now() - startedAt;
    record(metrics, call, durationMs);
    if (call.inference) latency.record(durationMs, call.ttftMs);
    if (call.inference || call.status >= 400) {
      logger.info(
        {
          reqId: call.id,
          route: call.route,
          surface: call.surface ?? null,
          key: call.key,
          model: call.model ?? null,
          stream: call.stream,
          status: call.status,
          backend: call.backend ?? null,
          failovers: call.failovers,
          fallback: call.fallback ?? null,
          ttftMs: round(call.ttftMs),
          durationMs: round(durationMs),
          queueMs: round(call.queueMs),
          overheadMs: round(call.overheadMs),
          tokensIn: call.usage?.prompt_tokens ?? null,
          tokensOut: call.usage?.completion_tokens ?? null,
          finishReason: call.finishReason ?? null,
          clientAborted: call.clientAborted,
          rejection: call.rejection ?? null,
          upstreamError: call.upstreamFailure ? { kind: call.upstreamFailure, detail: call.upstreamDetail } : null,
        },
        'request',
      );
    } else {
      logger.debug({ reqId: call.id, route: call.route, status: call.status }, 'request');
    }
  };
}

function record(metrics: GatewayMetrics, call: Call, durationMs: number): void {
  const model = call.model ?? 'none';
  metrics.requests.inc({ route: call.route, model, key: call.key, status: String(call.status) });
  if (call.rejection) metrics.rejections.inc({ reason: call.rejection });
  if (!call.inference) return;
  metrics.duration.observe({ route: call.route, model }, durationMs / 1000);
  if (call.ttftMs !== undefined) {
    metrics.ttft.observe({ route: call.route, model, backend: metrics.backendLabel(call.backend ?? 'none') }, call.ttftMs / 1000);
    const out = call.usage?.completion_tokens ?? 0;
    if (out > 1 && !call.clientAborted && !call.upstreamFailure) {
      metrics.timePerOutputToken.observe({ route: call.route, model }, (durationMs - call.ttftMs) / (out - 1) / 1000);
    }
  }
  if (call.overheadMs !== undefined) metrics.overhead.observe({ route: call.route }, call.overheadMs / 1000);
  if (call.queueMs !== undefined) metrics.queueWait.observe(call.queueMs / 1000);
  if (call.usage) {
    metrics.tokens.inc({ model, key: call.key, type: 'input' }, call.usage.prompt_tokens);
    metrics.tokens.inc({ model, key: call.key, type: 'output' }, call.usage.completion_tokens);
  }
  if (call.clientAborted) metrics.clientAborts.inc({ route: call.route, phase: call.abortPhase ?? 'upstream' });
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function round(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.round(ms * 100) / 100;
}

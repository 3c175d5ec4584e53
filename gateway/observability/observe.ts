/**
 * @module observability/observe
 * The outermost middleware: gives each request its id and record, sets `x-request-id` on every
 * answer, and when the request ends writes its one log line and its metric updates.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.js';
import type { GatewayDeps } from '../deps.js';
import { requestIdOf } from '../request-id.js';
import { RequestRecord } from './request-record.js';

export function observe(deps: GatewayDeps): MiddlewareHandler<AppEnv> {
  const { metrics, logger, latency } = deps;
  return async function observeRequest(c, next) {
    const startedAt = performance.now();
    const headers = c.env.incoming.headers;
    const rec = new RequestRecord(requestIdOf(header(headers['x-request-id']), header(headers['x-fc-request-id'])), startedAt);
    c.set('rec', rec);
    await next();
    rec.route = c.req.routePath === '/*' || c.req.routePath === '*' ? 'unmatched' : c.req.routePath;
    if (rec.status === 0) {
      rec.status = c.res.status;
      // Hono-built answers (errors, health, models): add the id and timing here; proxied answers carry them already.
      c.res.headers.set('x-request-id', rec.id);
      c.res.headers.set('server-timing', `gw;dur=${(performance.now() - startedAt).toFixed(2)}`);
    }
    const principal = c.get('principal');
    if (principal) rec.key = principal.name;
    record(deps, rec, performance.now() - startedAt);
    if (rec.inference) latency.record(performance.now() - startedAt, rec.ttftMs);
    if (rec.inference || rec.status >= 400) {
      logger.info(
        {
          reqId: rec.id,
          route: rec.route,
          key: rec.key,
          model: rec.model ?? null,
          stream: rec.stream,
          status: rec.status,
          ttftMs: round(rec.ttftMs),
          durationMs: round(performance.now() - startedAt),
          queueMs: round(rec.queueMs),
          overheadMs: round(rec.overheadMs),
          tokensIn: rec.usage?.prompt_tokens ?? null,
          tokensOut: rec.usage?.completion_tokens ?? null,
          finishReason: rec.finishReason ?? null,
          clientAborted: rec.clientAborted,
          rejection: rec.rejection ?? null,
          upstreamError: rec.upstreamFailure ? { kind: rec.upstreamFailure, detail: rec.upstreamDetail } : null,
        },
        'request',
      );
    } else {
      logger.debug({ reqId: rec.id, route: rec.route, status: rec.status }, 'request');
    }
  };

  function record(d: GatewayDeps, rec: RequestRecord, durationMs: number): void {
    const model = rec.model ?? 'none';
    metrics.requests.inc({ route: rec.route, model, key: rec.key, status: String(rec.status) });
    if (rec.rejection) metrics.rejections.inc({ reason: rec.rejection });
    if (!rec.inference) return;
    metrics.duration.observe({ route: rec.route, model }, durationMs / 1000);
    if (rec.ttftMs !== undefined) {
      metrics.ttft.observe({ route: rec.route, model }, rec.ttftMs / 1000);
      const out = rec.usage?.completion_tokens ?? 0;
      if (out > 1 && !rec.clientAborted && !rec.upstreamFailure) {
        metrics.timePerOutputToken.observe({ route: rec.route, model }, (durationMs - rec.ttftMs) / (out - 1) / 1000);
      }
    }
    if (rec.overheadMs !== undefined) metrics.overhead.observe({ route: rec.route }, rec.overheadMs / 1000);
    if (rec.queueMs !== undefined) metrics.queueWait.observe(rec.queueMs / 1000);
    if (rec.usage) {
      metrics.tokens.inc({ model, key: rec.key, type: 'input' }, rec.usage.prompt_tokens);
      metrics.tokens.inc({ model, key: rec.key, type: 'output' }, rec.usage.completion_tokens);
    }
    if (rec.upstreamFailure) metrics.upstreamErrors.inc({ kind: rec.upstreamFailure });
    if (rec.clientAborted) metrics.clientAborts.inc({ route: rec.route, phase: rec.abortPhase ?? 'upstream' });
    void d;
  }
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function round(ms: number | undefined): number | null {
  return ms === undefined ? null : Math.round(ms * 100) / 100;
}

/**
 * @module pipeline/inference
 * The line every inference request walks, whatever its API surface:
 *
 *   body → parse (surface) → target model → key limits → admission + pick → forward (failover) → finish
 *
 * 413/400 for the body, 400 for the schema, 404 for an unknown model (after waiting while backends
 * start), 503 fast when every backend of the model is down (or the fallback tier), 429 for the key's
 * own limits, 503 when the queue is full or times out (or the fallback tier). The answer itself is
 * written by the exchange through the call's ClientResponse; the handler returns RESPONSE_ALREADY_SENT so
 * Hono does not touch it. Errors thrown here reach `app.onError`, which writes them in the surface's
 * shape with the call's headers.
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { AdmissionRefused, type Admission, type Slot } from '../admission.js';
import type { AppEnv } from '../app-env.js';
import type { Backend } from '../backends/backend.js';
import type { Picker } from '../backends/picker.js';
import type { Config } from '../config.js';
import type { Call } from '../call/call.js';
import { ClientResponse } from '../call/client-response.js';
import { GatewayError } from '../errors.js';
import type { Lifecycle } from '../lifecycle.js';
import type { GatewayMetrics, RejectionReason } from '../observability/metrics.js';
import { checkJsonContentType, readJsonBody } from '../proxy/read-body.js';
import type { Reservation } from '../rate-limit/store.js';
import type { Surface, SurfaceRequest } from '../surfaces/surface.js';
import { ClientGone, ShutdownAbort, TotalTimeout, failureBeforeResponse, shuttingDown } from '../upstream/failures.js';
import { forward, type ForwardOptions } from './forward.js';
import type { KeyLimits } from './limits.js';
import type { TargetResolver } from './target.js';

export interface InferenceStages {
  config: Pick<Config, 'maxBodyBytes' | 'maxJsonDepth' | 'maxTokensLimit' | 'maxMessages' | 'routing'>;
  lifecycle: Lifecycle;
  targets: TargetResolver;
  limits: KeyLimits;
  admission: Admission<Backend>;
  picker: Picker;
  metrics: GatewayMetrics;
  forward: ForwardOptions;
}

export function inferenceHandler(surface: Surface, stages: InferenceStages) {
  const { config, lifecycle, targets, limits, admission, picker, metrics } = stages;
  const ctxBase = { maxTokensLimit: config.maxTokensLimit, maxMessages: config.maxMessages };
  const { strategy, affinity, affinityBound } = config.routing;

  return async function inference(c: Context<AppEnv>): Promise<Response> {
    const call = c.get('call');
    const { incoming, outgoing } = c.env;
    call.surface = surface.name;
    if (lifecycle.draining) throw shuttingDown();
    const principal = c.get('principal');
    call.key = principal.name;
    const leave = lifecycle.enter(call);
    const onClose = () => {
      if (!outgoing.writableFinished) call.abort(new ClientGone('client closed the connection'));
    };
    outgoing.on('close', onClose);
    const out = new ClientResponse(outgoing, call, surface);
    let slot: Slot<Backend> | undefined;
    let reservation: Reservation | undefined;
    let settled: number | undefined;
    let request: SurfaceRequest | undefined;
    try {
      checkJsonContentType(incoming.headers['content-type']);
      const json = await readJsonBody(incoming, config.maxBodyBytes, config.maxJsonDepth);
      request = await surface.parse(json, { ...ctxBase, owner: principal.name });
      call.stream = request.stream;
      call.model = request.model;

      const allowFallback = c.req.header('x-gateway-fallback')?.toLowerCase() !== 'off';
      let target = await targets.resolve(request.model, call, allowFallback);
      let maxTokens = request.maxTokens;
      if (maxTokens === undefined && config.maxTokensLimit !== undefined) {
        // Without max_tokens vLLM generates up to max_model_len (vllm.md 2.2); the configured cap applies instead.
        request.body.max_tokens = config.maxTokensLimit;
        maxTokens = config.maxTokensLimit;
      }
      reservation = await limits.reserve(call, principal, request.promptTokensEstimate, maxTokens);

      const session = sessionOf(c.req.header('x-session-id'), request.session, principal.name);
      const choose = (candidates: Backend[]) => picker.pick(candidates, { strategy, affinity, affinityBound, sessionKey: session });
      try {
        slot = await admit(admission, call, target.model, choose);
      } catch (err) {
        // A full queue sends the request to the fallback tier when there is one (issue 10).
        const to = err instanceof AdmissionRefused && err.reason === 'queue_full' && allowFallback ? targets.fallbackFor(target.model) : undefined;
        if (!to) throw err;
        target = { model: to, fallbackFrom: target.model };
        slot = await admit(admission, call, to, choose);
      }
      if (target.fallbackFrom) {
        call.fallback = `${target.fallbackFrom}->${target.model}`;
        call.addHeaders({ 'x-gateway-fallback': call.fallback });
        metrics.fallbacks.inc({ from: target.fallbackFrom, to: target.model });
      }
      call.model = target.model;
      request.body.model = target.model;
      call.abortPhase = 'upstream';

      const fallback = (model: string) => (allowFallback ? targets.fallbackFor(model) : undefined);
      const result = await forward(stages.forward, { call, surface, request, model: target.model, body: JSON.stringify(request.body), out, slot, choose, fallback });
      slot = result.slot;
      call.model = result.model;
      const { outcome } = result;
      call.status = outcome.status;
      call.usage = outcome.usage;
      call.finishReason = outcome.finishReason;
      call.clientAborted = outcome.clientAborted;
      call.upstreamFailure = outcome.failureKind;
      call.upstreamDetail = outcome.upstreamDetail;
      if (request.stream && outcome.firstByteMs !== undefined && outcome.status === 200) {
        call.ttftMs = performance.now() - call.startedAt - outcome.upstreamMs + outcome.firstByteMs;
      }
      // Unknown usage after an answer began keeps the whole reservation; no answer at all costs nothing.
      settled = outcome.usage ? outcome.usage.total_tokens : outcome.responded ? undefined : 0;
      if (!outcome.responded && outcome.error && !outcome.clientAborted) out.error(outcome.error);
      if (outcome.clientAborted) call.status = 499;
      await request.finish?.({ ok: outcome.responded && !outcome.failureKind && !outcome.clientAborted, model: result.model });
      return RESPONSE_ALREADY_SENT;
    } catch (err) {
      settled = 0;
      const reason: unknown = call.signal.aborted ? call.signal.reason : undefined;
      if (reason instanceof ClientGone) {
        call.clientAborted = true;
        call.status = 499;
        return RESPONSE_ALREADY_SENT;
      }
      if (reason instanceof ShutdownAbort) throw shuttingDown();
      if (reason instanceof TotalTimeout) throw failureBeforeResponse('total_timeout', stages.forward.timeouts);
      if (err instanceof GatewayError) call.rejection ??= rejectionOf(err);
      throw err;
    } finally {
      outgoing.off('close', onClose);
      slot?.release();
      if (reservation) limits.settle(reservation, settled, call.id);
      leave();
    }
  };
}

/** A slot on a backend of the model: at once when one is free, else through the fair queue. */
async function admit(admission: Admission<Backend>, call: Call, model: string, choose: (c: Backend[]) => Backend | undefined): Promise<Slot<Backend>> {
  const req = { key: call.key, model, choose };
  const now = admission.tryAcquire(req);
  call.queueMs = 0;
  if (now) return now;
  const queuedAt = performance.now();
  call.abortPhase = 'queued';
  const slot = await admission.acquire(req, call.signal);
  call.queueMs = performance.now() - queuedAt;
  call.waitedMs += call.queueMs;
  return slot;
}

/** Affinity key: `x-session-id` wins over the body's `user`; scoped per API key so keys never share a session. */
function sessionOf(header: string | undefined, fromBody: string | undefined, keyName: string): string | undefined {
  const session = header !== undefined && header !== '' ? header : fromBody;
  return session === undefined ? undefined : `${keyName}\u0000${session.slice(0, 256)}`;
}

function rejectionOf(err: GatewayError): RejectionReason | undefined {
  if (err.status === 413) return 'too_large';
  if (err.status === 400) return 'invalid';
  if (err.code === 'model_not_found') return 'model_not_found';
  if (err.status === 429) return err.type === 'tokens' ? 'rate_limit_tokens' : 'rate_limit_requests';
  if (err instanceof AdmissionRefused) return err.reason;
  if (err.code === 'model_not_ready' || err.code === 'model_unavailable') return 'not_ready';
  return undefined;
}

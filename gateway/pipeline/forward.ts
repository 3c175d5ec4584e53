/**
 * @module pipeline/forward
 * Sends a call to its backend and, when that attempt fails before any byte reached the client, to
 * another backend serving the model (failover), within the call's total deadline and at most
 * FAILOVER_ATTEMPTS more times. What fails over: a refused connection, a reset before any byte, a 502 or
 * 503 before any byte, a stream's first-byte timeout. A 500 counts toward the backend's ejection but is
 * answered (it may be the request's own fault); a 4xx is the client's answer and is never retried. Never
 * after the first byte: a stream cut mid-way ends with one error event.
 *
 * A refused connection means the backend is (re)starting (vllm.md 1.1): it is not excluded; the call
 * waits up to READY_WAIT_MS for any backend of the model, as one VLLM_URL always did.
 */
import type { Admission, Slot } from '../admission.js';
import type { Backend } from '../backends/backend.js';
import { countsAgainstBackend } from '../backends/health.js';
import type { BackendSet } from '../backends/set.js';
import type { Call } from '../call/call.js';
import type { ClientResponse } from '../call/client-response.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { Exchange, type ExchangeOutcome } from '../proxy/exchange.js';
import type { SseKeepalive } from '../proxy/sse-keepalive.js';
import type { Surface, SurfaceRequest } from '../surfaces/surface.js';

export interface ForwardOptions {
  set: BackendSet;
  admission: Admission<Backend>;
  metrics: GatewayMetrics;
  timeouts: { firstByteMs: number; idleMs: number; requestMs: number };
  failoverAttempts: number;
  readyWaitMs: number;
  keepalive: SseKeepalive | undefined;
}

export interface ForwardInput {
  call: Call;
  surface: Surface;
  request: SurfaceRequest;
  model: string;
  /** JSON text for vLLM, serialised once for every attempt. */
  body: string;
  out: ClientResponse;
  slot: Slot<Backend>;
  /** Picks among candidates for a further attempt (the same picker as the first). */
  choose: (candidates: Backend[]) => Backend | undefined;
  /** The fallback tier for `model` when it has no backend left (undefined: none, or refused by the client). */
  fallback: (model: string) => string | undefined;
}

export async function forward(opts: ForwardOptions, input: ForwardInput): Promise<{ outcome: ExchangeOutcome; slot: Slot<Backend> | undefined; model: string }> {
  const { call, request, out } = input;
  const deadline = call.startedAt + opts.timeouts.requestMs;
  const tried = new Set<string>();
  let slot: Slot<Backend> = input.slot;
  let model = input.model;
  let body = input.body;
  call.overheadMs = performance.now() - call.startedAt - call.waitedMs;
  for (let attempt = 0; ; attempt++) {
    const backend = slot.backend;
    call.backend = backend.name;
    const outcome = await new Exchange({
      pool: backend.pool,
      apiKey: backend.apiKey,
      hostHeader: backend.hostHeader,
      path: input.surface.upstreamPath,
      body,
      request,
      requestId: call.id,
      timeouts: opts.timeouts,
      remainingMs: deadline - performance.now(),
      out,
      signal: call.signal,
      keepalive: opts.keepalive,
    }).start().outcome;
    judge(opts, backend, model, outcome);
    if (outcome.responded || outcome.clientAborted || call.signal.aborted || !failsOver(outcome, request.stream) || attempt >= opts.failoverAttempts) {
      return { outcome, slot, model };
    }
    const refused = outcome.failureKind === 'connect_refused';
    if (!refused) tried.add(backend.id);
    slot.release();
    let next = await nextSlot(opts, input, model, tried, refused && !input.fallback(model), deadline);
    if (!next) {
      // The model has no backend left: its fallback tier takes the request, when there is one (issue 10).
      const to = input.fallback(model);
      if (to === undefined) return { outcome, slot: undefined, model };
      next = await nextSlot(opts, input, to, tried, false, deadline);
      if (!next) return { outcome, slot: undefined, model };
      call.fallback = `${model}->${to}`;
      call.addHeaders({ 'x-gateway-fallback': call.fallback });
      opts.metrics.fallbacks.inc({ from: model, to });
      model = to;
      request.body.model = to;
      body = JSON.stringify(request.body);
    }
    slot = next;
    call.failovers++;
    opts.metrics.failovers.inc({ from: opts.metrics.backendLabel(backend.name), kind: outcome.failureKind ?? 'other' });
  }
}

/** Passive health: what this attempt says about its backend. */
function judge(opts: ForwardOptions, backend: Backend, model: string, o: ExchangeOutcome): void {
  const kind = o.failureKind;
  if (kind && !o.clientAborted) opts.metrics.upstreamErrors.inc({ kind, backend: opts.metrics.backendLabel(backend.name) });
  if (o.clientAborted) return;
  if (kind && countsAgainstBackend(kind)) {
    if (kind === 'connect_refused') backend.readiness.reportFailure('connection refused');
    backend.reportFailure(kind, o.upstreamDetail ?? kind, opts.set.isLastUsable(backend, model));
  } else if (o.upstreamStatus !== undefined && o.upstreamStatus < 500) {
    backend.reportSuccess();
  }
}

function failsOver(o: ExchangeOutcome, stream: boolean): boolean {
  switch (o.failureKind) {
    case 'connect_refused':
    case 'connect_timeout':
    case 'reset':
      return true;
    case 'first_byte_timeout':
      return stream;
    case 'http_5xx':
      return o.upstreamStatus === 502 || o.upstreamStatus === 503;
    default:
      return false;
  }
}

/** A slot on another backend of the model (or, after a refusal, the same one once it is back). */
async function nextSlot(opts: ForwardOptions, input: ForwardInput, model: string, tried: ReadonlySet<string>, waitForRestart: boolean, deadline: number): Promise<Slot<Backend> | undefined> {
  const { call } = input;
  const others = () => opts.set.usableFor(model).filter((b) => !tried.has(b.id));
  if (others().length === 0) {
    if (!waitForRestart) return undefined;
    const t0 = performance.now();
    const ready = await opts.set.waitUsable(model, Math.min(opts.readyWaitMs, deadline - performance.now()), call.signal);
    call.waitedMs += performance.now() - t0;
    if (!ready || call.signal.aborted || others().length === 0) return undefined;
  }
  const req = { key: call.key, model, exclude: tried, choose: input.choose };
  try {
    return opts.admission.tryAcquire(req) ?? (await opts.admission.acquire(req, call.signal));
  } catch {
    return undefined;
  }
}

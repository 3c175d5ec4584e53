/**
 * @module sim/run
 * The life of one accepted inference request, shared by the streaming and the non-streaming kind:
 * faults that strike before any header, admission through the scheduler, time to first token, the end
 * (completed, aborted by the client, failed by engine death or a fault), its record and its metrics.
 *
 * A client disconnect ends the request at any point (vllm.md 4 "Client disconnect"): the response's
 * 'close' event fires when the socket goes away, and the request leaves the queue or stops generating
 * and frees its slot in the same tick.
 *
 * Time to first token, counted from the moment the request gets its slot: ttftMs + prefillMsPerToken x the
 * prompt tokens the prefix cache did not hold (looked up at that moment, prefix-cache.ts), rounded to whole
 * milliseconds; the `ttft=` fault replaces the whole of it. Queue time comes on top, as in vLLM.
 */
import type { ServerResponse } from 'node:http';
import type { ActiveRun, SimContext } from './context.js';
import { ENGINE_DEAD, injectedError, type ErrorShape } from './errors.js';
import { sendError } from './http-io.js';
import type { FinishedReason } from './metrics.js';
import { outputShape, type FinishReason, type OutputShape } from './output.js';
import type { GenerationPlan } from './plan.js';
import type { SimOutcome, SimRequestRecord } from './records.js';
import type { ResponseHeader } from './responses.js';

/** Mid-stream faults strike after this many token events (or before the last one, if sooner). */
export const FAULT_AFTER_EVENTS = 3;

const ignoreError = (): void => undefined;

export abstract class Run implements ActiveRun {
  protected readonly ctx: SimContext;
  protected readonly plan: GenerationPlan;
  protected readonly res: ServerResponse;
  protected readonly record: SimRequestRecord;
  protected readonly header: ResponseHeader;
  protected readonly shape: OutputShape;
  protected readonly itlMs: number;
  /** The error body shape of this dialect: vLLM's nested envelope, or Anthropic's on /v1/messages. */
  protected readonly errorShape: ErrorShape;
  protected timer: NodeJS.Timeout | undefined;
  protected immediate: NodeJS.Immediate | undefined;
  /** performance.now() of the first token; -1 before it. */
  protected firstTokenAt = -1;
  #submitted = false;
  #ended = false;

  constructor(ctx: SimContext, plan: GenerationPlan, res: ServerResponse, record: SimRequestRecord, requestId: string) {
    this.ctx = ctx;
    this.plan = plan;
    this.res = res;
    this.record = record;
    this.header = {
      id: `${plan.kind === 'chat' ? 'chatcmpl-' : 'cmpl-'}${requestId}`,
      created: Math.floor(Date.now() / 1000),
      model: ctx.config.modelName,
      fingerprint: ctx.fingerprint,
    };
    this.shape = outputShape(plan, ctx.config);
    this.itlMs = plan.faults.itlMs ?? ctx.config.itlMs;
    this.errorShape = plan.dialect === 'anthropic' ? 'anthropic' : 'nested';
    record.promptTokens = plan.promptTokens;
  }

  protected get ended(): boolean {
    return this.#ended;
  }

  begin(): void {
    this.ctx.active.add(this);
    if (this.res.closed || this.res.destroyed || this.res.socket?.destroyed !== false) {
      // The client left while its body was being read: 'close' has already fired.
      this.end('aborted');
      return;
    }
    this.res.on('close', this.#onClose);
    // A write racing a reset must not become an unhandled 'error' event.
    this.res.on('error', ignoreError);
    const faults = this.plan.faults;
    if (faults.http !== undefined) {
      sendError(this.res, injectedError(faults.http), faults.shape ?? this.errorShape);
      this.end('fault');
      return;
    }
    if (faults.resetBeforeHeaders) {
      this.res.socket?.destroy();
      this.end('fault');
      return;
    }
    // A hung request never reaches the engine; only the client leaving (or engine death) ends it.
    if (faults.hang) return;
    this.accepted();
    this.#submitted = true;
    this.ctx.scheduler.submit(this);
  }

  onAdmitted(): void {
    const { config, metrics } = this.ctx;
    const { queried, hit } = this.ctx.prefixCache.admit(this.plan.prompts);
    metrics.prefixCacheQueries += queried;
    metrics.prefixCacheHits += hit;
    this.record.cachedTokens = hit;
    const ttftMs = this.plan.faults.ttftMs ?? config.ttftMs + Math.round(config.prefillMsPerToken * (this.plan.promptTokens - hit));
    this.record.ttftMs = ttftMs;
    // Node clamps setTimeout(fn, 0) to 1 ms: with no configured delay that floor would dominate a
    // benchmark's fast path, so the first token comes on the next turn of the loop instead.
    if (ttftMs > 0) this.timer = setTimeout(this.#onFirstToken, ttftMs);
    else this.immediate = setImmediate(this.#onFirstToken);
  }

  kvBlocks(shared: Set<number>): number {
    const { blockSize, enablePrefixCaching } = this.ctx.config;
    const { prompts, n, seeds } = this.plan;
    // All choices advance together, so each holds the same number of generated tokens.
    const perChoice = this.generatedTokens() / seeds.length;
    let own = 0;
    for (const seq of prompts) {
      const full = seq.blocks.length;
      own += (Math.ceil((seq.tokens + perChoice) / blockSize) - full) * n;
      // vLLM runs n > 1 as n requests; only the prefix cache lets them (and others) share prompt blocks.
      if (enablePrefixCaching) for (const block of seq.blocks) shared.add(block);
      else own += full * n;
    }
    return own;
  }

  engineDied(): void {
    if (this.#ended) return;
    this.clearTimers();
    this.failOnEngineDeath();
    this.end('error');
  }

  #onFirstToken = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    this.firstTokenAt = performance.now();
    const m = this.ctx.metrics;
    m.ttft.observe((this.firstTokenAt - this.record.startedAt) / 1000);
    m.promptTokens += this.plan.promptTokens;
    this.generate();
  };

  #onClose = (): void => {
    if (!this.#ended) this.end('aborted', this.#submitted ? 'abort' : undefined);
  };

  /** Ends the request once: frees its slot, completes its record, counts it. */
  protected end(outcome: SimOutcome, reason?: FinishedReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.clearTimers();
    this.ctx.scheduler.release(this);
    this.ctx.active.delete(this);
    const generated = this.generatedTokens();
    this.record.completionTokens = generated;
    if (reason !== undefined) this.ctx.metrics.finished(reason, this.plan.promptTokens, generated, (performance.now() - this.record.startedAt) / 1000);
    this.ctx.log.end(this.record, outcome);
  }

  protected clearTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** Before headers, vLLM answers a dead engine with a 500 JSON error (vllm.md 5.2). */
  protected failOnEngineDeath(): void {
    if (!this.res.headersSent) sendError(this.res, ENGINE_DEAD, this.errorShape);
    else this.res.socket?.destroy();
  }

  /** The request passed its pre-header faults and enters the engine. */
  protected abstract accepted(): void;
  /** Time to first token has passed: produce the output. */
  protected abstract generate(): void;
  /** Tokens generated so far, all choices together. */
  protected abstract generatedTokens(): number;
}

/** The engine's finish reason behind a response's finish_reason (tool_calls is added by the server layer). */
export function engineReason(reason: FinishReason): FinishedReason {
  return reason === 'length' ? 'length' : 'stop';
}

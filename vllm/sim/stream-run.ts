/**
 * @module sim/stream-run
 * A streaming request (vllm.md 4). The 200 and its headers go out as soon as the request is accepted,
 * before queueing and TTFT, because Starlette's StreamingResponse sends them before it iterates vLLM's
 * generator. At TTFT come the role chunk (chat) and the first token; then one event per
 * `tokensPerChunk` tokens every `itl`, the last token inside the finish chunk, the usage chunk when
 * asked for, and `data: [DONE]`. On /v1/messages the same steps are written as Anthropic events
 * (anthropic-frames.ts), the way vLLM converts its own chat stream.
 *
 * Speed: one `write` per event, no closure or timer per token (one bound pump, re-armed), and
 * backpressure respected: when `write` returns false the pump waits for 'drain'. Tokens that came due
 * while it waited are merged into one event, as vLLM merges deltas for a slow consumer. With itl=0 the
 * pump writes as fast as the socket takes it, yielding to the event loop every BURST events.
 */
import type { ServerResponse } from 'node:http';
import type { SimContext } from './context.js';
import { AnthropicFrames } from './anthropic-frames.js';
import { ENGINE_DEAD, GENERATION_ERROR } from './errors.js';
import { SseFrames, usageField, type StreamFrames } from './frames.js';
import { ChoiceText } from './output.js';
import type { GenerationPlan } from './plan.js';
import type { SimRequestRecord } from './records.js';
import { randomHex16 } from './responses.js';
import { engineReason, FAULT_AFTER_EVENTS, Run } from './run.js';

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8' } as const;
/** Events written back to back before yielding, when itl=0. */
const BURST = 64;

export class StreamRun extends Run {
  readonly #frames: StreamFrames;
  readonly #texts: ChoiceText[];
  readonly #callIds: string[];
  readonly #chunk: number;
  /** Tokens emitted so far, per choice (all choices advance together). */
  #emitted = 0;
  #events = 0;
  #mergeOnResume = false;
  #malformedSent = false;

  constructor(ctx: SimContext, plan: GenerationPlan, res: ServerResponse, record: SimRequestRecord, requestId: string) {
    super(ctx, plan, res, record, requestId);
    const h = this.header;
    this.#frames =
      plan.dialect === 'anthropic' ? new AnthropicFrames(h.id, h.model, plan.promptTokens) : new SseFrames(plan.kind, h.id, h.created, h.model, h.fingerprint);
    this.#texts = plan.seeds.map((seed) => new ChoiceText(seed, this.shape));
    this.#callIds = plan.tool ? plan.seeds.map(() => `chatcmpl-tool-${randomHex16()}`) : [];
    this.#chunk = plan.tool ? 1 : ctx.config.tokensPerChunk;
  }

  protected accepted(): void {
    this.res.writeHead(200, SSE_HEADERS);
    this.res.flushHeaders();
  }

  protected generate(): void {
    const usage = this.plan.continuousUsage ? usageField(this.plan.promptTokens, 0) : '';
    if (this.plan.kind === 'chat') {
      for (let i = 0; i < this.#texts.length; i++) this.res.write(this.#frames.role(i, usage));
    }
    if (this.plan.faults.hangAfterHeaders) {
      // Headers and a first chunk, then silence until the client gives up.
      if (this.plan.kind === 'completion') this.#emit(Math.min(1, this.shape.total), false);
      return;
    }
    this.#pump();
  }

  protected generatedTokens(): number {
    return this.#emitted * this.#texts.length;
  }

  /** After the 200, a dead engine shows as vLLM's error event then [DONE] (vllm.md 1.1, 4). */
  protected override failOnEngineDeath(): void {
    if (!this.res.headersSent) {
      super.failOnEngineDeath();
      return;
    }
    if (this.res.writableEnded || this.res.destroyed) return;
    this.res.end(this.#frames.failure(ENGINE_DEAD));
  }

  #pump = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    for (let burst = 1; !this.ended; burst++) {
      // The socket is gone: the 'close' event ends the request in a moment.
      if (this.res.destroyed) return;
      const total = this.shape.total;
      const target = this.#nextTarget();
      if (this.#midStreamFaultDue(target) && this.#injectMidStreamFault()) return;
      const final = target >= total;
      const flushed = this.#emit(target, final);
      if (final) {
        this.#complete();
        return;
      }
      if (!flushed) {
        this.#mergeOnResume = this.itlMs > 0;
        this.res.once('drain', this.#pump);
        return;
      }
      if (this.itlMs > 0) {
        const delay = this.#dueAt(Math.min(this.#emitted + this.#chunk, total)) - performance.now();
        // Running late by less than a millisecond is not worth a timer.
        if (delay >= 1) {
          // Whole milliseconds: Node keeps one timer list per distinct duration.
          this.timer = setTimeout(this.#pump, Math.round(delay));
          return;
        }
      } else if (burst >= BURST) {
        this.immediate = setImmediate(this.#pump);
        return;
      }
    }
  };

  /** The token count after the next event: 1 first, then tokensPerChunk more, or all that came due during a drain wait. */
  #nextTarget(): number {
    let target = this.#emitted === 0 ? 1 : this.#emitted + this.#chunk;
    if (this.#mergeOnResume) {
      this.#mergeOnResume = false;
      if (!this.plan.tool) target = Math.max(target, Math.floor((performance.now() - this.firstTokenAt) / this.itlMs) + 1);
    }
    return Math.min(target, this.shape.total);
  }

  /** Token i (0-based) is due `i * itl` after the first token. */
  #dueAt(tokens: number): number {
    return this.firstTokenAt + (tokens - 1) * this.itlMs;
  }

  /** Writes one event per choice carrying tokens [emitted, target); false when the socket buffer is full. */
  #emit(target: number, final: boolean): boolean {
    const f = this.#frames;
    const tool = this.plan.tool;
    const usage = this.plan.continuousUsage ? usageField(this.plan.promptTokens, target) : '';
    const fingerprint = !this.plan.includeUsage;
    const reason = this.shape.finishReason;
    let flushed = true;
    for (let i = 0; i < this.#texts.length; i++) {
      let event: string;
      if (tool) {
        const fragment = this.shape.argumentFragments?.[target - 2] ?? '';
        if (this.#emitted === 0) event = f.toolStart(i, this.#callIds[i] as string, tool.name, usage);
        else if (final) event = f.toolFinish(i, fragment, reason, usage, fingerprint);
        else event = f.toolArguments(i, fragment, usage);
      } else {
        const text = (this.#texts[i] as ChoiceText).take(target - this.#emitted);
        event = final ? f.textFinish(i, text, reason, usage, fingerprint) : f.text(i, text, usage);
      }
      // The Anthropic dialect has nothing to send for an empty delta (the EOS token).
      if (event !== '') flushed = this.res.write(event) && flushed;
    }
    this.#emitted = target;
    this.#events++;
    this.record.completionTokens = target * this.#texts.length;
    return flushed;
  }

  #complete(): void {
    if (this.plan.includeUsage) this.res.write(this.#frames.usageChunk(this.plan.promptTokens, this.generatedTokens()));
    this.res.end(this.#frames.done());
    this.end('completed', engineReason(this.shape.finishReason));
  }

  #midStreamFaultDue(target: number): boolean {
    const f = this.plan.faults;
    if (!f.resetMidStream && !f.errorMidStream && !(f.malformedLine && !this.#malformedSent)) return false;
    return this.#events >= FAULT_AFTER_EVENTS || target >= this.shape.total;
  }

  /** Returns true when the fault ended the request. */
  #injectMidStreamFault(): boolean {
    const f = this.plan.faults;
    if (f.resetMidStream) {
      // No terminating chunk, no [DONE]: the client sees the connection drop mid-body. node:http corks
      // the socket within a tick; flush what was written before closing, or the last events vanish.
      const socket = this.res.socket;
      while (socket?.writableCorked) socket.uncork();
      socket?.destroy();
      this.end('fault');
      return true;
    }
    if (f.errorMidStream) {
      this.res.end(this.#frames.failure(GENERATION_ERROR));
      this.end('fault');
      return true;
    }
    this.#malformedSent = true;
    this.res.write(this.#frames.malformed());
    return false;
  }
}

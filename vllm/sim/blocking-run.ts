/**
 * @module sim/blocking-run
 * A non-streaming request: after TTFT the remaining tokens take `itl` each, then the whole JSON body
 * goes out at once (vllm.md 3). One timer for the whole generation, since nothing is sent per token.
 *
 * Faults that strike "mid-stream" have a non-streaming meaning: error-mid-stream fails the request with
 * vLLM's 500 after a few tokens; reset-mid-stream sends the headers and half the body, then drops the
 * connection; hang-after-headers sends the headers and half the body, then nothing; malformed-line
 * answers 200 with a body cut in half (not valid JSON).
 */
import type { ServerResponse } from 'node:http';
import { anthropicMessageBody } from './anthropic-frames.js';
import type { SimContext } from './context.js';
import { GENERATION_ERROR } from './errors.js';
import { sendError, sendJson } from './http-io.js';
import { ChoiceText } from './output.js';
import type { GenerationPlan } from './plan.js';
import type { SimRequestRecord } from './records.js';
import { chatCompletionBody, completionBody, randomHex16, type ChoiceResult } from './responses.js';
import { engineReason, FAULT_AFTER_EVENTS, Run } from './run.js';

export class BlockingRun extends Run {
  /** Tokens (all choices) once generation stopped; undefined while it runs. */
  #finalTokens: number | undefined;

  constructor(ctx: SimContext, plan: GenerationPlan, res: ServerResponse, record: SimRequestRecord, requestId: string) {
    super(ctx, plan, res, record, requestId);
  }

  protected accepted(): void {
    // Nothing goes out before the body is complete.
  }

  protected generate(): void {
    const faults = this.plan.faults;
    if (faults.hangAfterHeaders) {
      const body = this.#body();
      this.#writePartial(body);
      return;
    }
    const lastIndex = faults.errorMidStream ? Math.min(FAULT_AFTER_EVENTS, this.shape.total - 1) : this.shape.total - 1;
    const delayMs = lastIndex * this.itlMs;
    // No setTimeout(fn, 0): Node makes it 1 ms (see Run.onAdmitted).
    if (delayMs > 0) this.timer = setTimeout(this.#onGenerated, delayMs, lastIndex + 1);
    else this.#onGenerated(lastIndex + 1);
  }

  protected generatedTokens(): number {
    if (this.#finalTokens !== undefined) return this.#finalTokens;
    if (this.firstTokenAt < 0) return 0;
    const perChoice = this.itlMs > 0 ? Math.floor((performance.now() - this.firstTokenAt) / this.itlMs) + 1 : this.shape.total;
    return Math.min(perChoice, this.shape.total) * this.plan.seeds.length;
  }

  #onGenerated = (tokens: number): void => {
    this.timer = undefined;
    const faults = this.plan.faults;
    this.#finalTokens = tokens * this.plan.seeds.length;
    if (faults.errorMidStream) {
      sendError(this.res, GENERATION_ERROR, this.errorShape);
      this.end('fault');
      return;
    }
    const body = this.#body();
    if (faults.resetMidStream) {
      // Drop the connection once the partial body has reached the socket.
      this.#writePartial(body, () => this.res.socket?.destroy());
      this.end('fault');
      return;
    }
    sendJson(this.res, 200, faults.malformedLine ? body.slice(0, Math.floor(body.length / 2)) : body);
    this.end('completed', engineReason(this.shape.finishReason));
  };

  /** 200 with the full content-length, then only the first half of the body. */
  #writePartial(body: string, written?: () => void): void {
    const bytes = Buffer.from(body);
    this.res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
    this.res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), written);
  }

  #body(): string {
    const { total, finishReason, argumentFragments } = this.shape;
    const tool = this.plan.tool;
    const choices: ChoiceResult[] = this.plan.seeds.map((seed, index) => ({
      index,
      text: tool ? '' : new ChoiceText(seed, this.shape).take(total),
      toolCall: tool ? { id: `chatcmpl-tool-${randomHex16()}`, name: tool.name, arguments: (argumentFragments ?? []).join('') } : undefined,
      finishReason,
    }));
    const completionTokens = total * choices.length;
    if (this.plan.dialect === 'anthropic') return anthropicMessageBody(this.header, choices[0] as ChoiceResult, this.plan.promptTokens, completionTokens);
    return this.plan.kind === 'chat'
      ? chatCompletionBody(this.header, choices, this.plan.promptTokens, completionTokens)
      : completionBody(this.header, choices, this.plan.promptTokens, completionTokens);
  }
}

/**
 * @module sim/output
 * What a request generates: how many tokens per choice, why it finishes, and the piece of text each
 * token carries.
 *
 * Text: the natural length is `outputTokens` (or the `tokens=` fault) and its last token is EOS, whose
 * text is "" (vllm.md 4: "For EOS it is usually """). When max_tokens cuts first, the finish reason is
 * "length" and every token is a word; otherwise "stop" (EOS wins a tie). So a request cut by
 * max_tokens=M returns simulatedText(seed, M), and one that stops naturally after L tokens returns
 * simulatedText(seed, L - 1) with completion_tokens L.
 * Degenerate (vllm.md 8, fp16 Qwen GPTQ on a T4): every token is "!" and EOS never comes, so the output
 * runs to max_tokens, or to the natural length when the request has no max_tokens; finish "length".
 * Tool call (hermes): token 0 opens the call (id, name), the others are fragments of the arguments.
 */
import type { GenerationPlan } from './plan.js';
import type { SimConfig } from './options.js';
import { WordStream } from './text.js';

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface OutputShape {
  /** Tokens generated per choice. */
  total: number;
  finishReason: FinishReason;
  /** The last token is EOS (its text is ""). */
  eos: boolean;
  degenerate: boolean;
  /** Tool-call streams: the argument fragments, one per token after the first. */
  argumentFragments: string[] | undefined;
}

/** Characters of JSON arguments per streamed fragment: a few deltas for a small call. */
const FRAGMENT_CHARS = 8;

export function outputShape(plan: GenerationPlan, config: SimConfig): OutputShape {
  const natural = plan.faults.tokens ?? config.outputTokens;
  if (plan.tool) {
    const fragments = splitFragments(plan.tool.arguments);
    // At least the opening delta and one fragment, so the call is always well formed.
    const total = Math.max(2, Math.min(fragments.length + 1, plan.maxTokens));
    const truncated = total < fragments.length + 1;
    return { total, finishReason: truncated ? 'length' : plan.tool.finishReason, eos: false, degenerate: false, argumentFragments: fragments.slice(0, total - 1) };
  }
  if (plan.faults.degenerate) {
    return { total: Math.min(natural, plan.maxTokens), finishReason: 'length', eos: false, degenerate: true, argumentFragments: undefined };
  }
  if (natural <= plan.maxTokens) return { total: natural, finishReason: 'stop', eos: true, degenerate: false, argumentFragments: undefined };
  return { total: plan.maxTokens, finishReason: 'length', eos: false, degenerate: false, argumentFragments: undefined };
}

function splitFragments(args: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += FRAGMENT_CHARS) out.push(args.slice(i, i + FRAGMENT_CHARS));
  return out.length > 0 ? out : [''];
}

/** The text pieces of one choice, token by token, without materialising the whole output. */
export class ChoiceText {
  readonly #words: WordStream;
  readonly #lastWordIndex: number;
  readonly #degenerate: boolean;
  #index = 0;

  constructor(seed: string, shape: OutputShape) {
    this.#words = new WordStream(seed);
    this.#degenerate = shape.degenerate;
    this.#lastWordIndex = shape.eos ? shape.total - 2 : shape.total - 1;
  }

  /** The concatenated text of the next `count` tokens. */
  take(count: number): string {
    let text = '';
    for (let i = 0; i < count; i++, this.#index++) {
      if (this.#index > this.#lastWordIndex) continue;
      text += this.#degenerate ? '!' : this.#words.next();
    }
    return text;
  }
}

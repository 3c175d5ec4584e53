/**
 * @module sim/plan-completion
 * POST /v1/completions: from the parsed JSON body to a generation plan or vLLM's error (vllm.md 2.3).
 * `prompt` is a string, a list of strings, a list of token ids or a list of token-id lists; several
 * prompts give choices `prompt_idx * n + i`. `max_tokens` defaults to 16 here (chat has no default).
 */
import { badRequest } from './errors.js';
import {
  checkModelAndEngine, checkSampling, checkStreamOptions, choiceSeeds, collectFaults, readFields, readStop, readStreamFlags, tokenCap,
  type PlanContext, type PlanResult,
} from './plan.js';
import { modelValidatorIssue, validationFailure, type FieldKind, type PydanticIssue } from './pydantic.js';
import { idSequence, textSequence, type PromptSeq } from './prefix-cache.js';
import { isRecord } from './text.js';

const COMPLETION_FIELDS: ReadonlyArray<readonly [string, FieldKind]> = [
  ['model', 'str'], ['echo', 'bool'], ['frequency_penalty', 'float'], ['logprobs', 'int'], ['max_tokens', 'int'], ['n', 'int'],
  ['presence_penalty', 'float'], ['seed', 'int'], ['stream', 'bool'], ['stream_options', 'dict'], ['suffix', 'str'],
  ['temperature', 'float'], ['top_p', 'float'], ['user', 'str'], ['top_k', 'int'], ['min_p', 'float'], ['repetition_penalty', 'float'],
  ['min_tokens', 'int'], ['ignore_eos', 'bool'], ['request_id', 'str'], ['add_special_tokens', 'bool'], ['use_beam_search', 'bool'],
];

const DEFAULT_MAX_TOKENS = 16;
/** VLLM_MAX_COMPLETION_PROMPTS. */
const MAX_PROMPTS = 1024;

interface Prompt {
  /** The deterministic-text seed and fault-marker text of this prompt. */
  text: string;
  tokens: number;
  seq: PromptSeq;
}

export function planCompletion(body: unknown, ctx: PlanContext): PlanResult {
  if (!isRecord(body)) {
    return { error: validationFailure([{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body }]) };
  }
  const validatorIssue = checkStreamOptions(body) ?? checkPromptPresent(body);
  if (validatorIssue) return { error: validationFailure([validatorIssue]) };

  const issues: PydanticIssue[] = [];
  const prompts = readPrompts(body.prompt, ctx.config.blockSize, issues);
  const values = readFields(body, COMPLETION_FIELDS, issues);
  const stop = readStop(body, issues);
  const flags = readStreamFlags(values, issues);
  if (issues.length > 0) return { error: validationFailure(issues) };

  const modelError = checkModelAndEngine(values, ctx);
  if (modelError) return { error: modelError };
  if (prompts.length > MAX_PROMPTS) return { error: badRequest(`The number of prompts (${prompts.length}) exceeds the maximum allowed (${MAX_PROMPTS}).`, 'prompt') };
  if (flags.stream && values.get('use_beam_search') === true) return { error: badRequest('Streaming is not currently supported with beam search') };

  const faults = collectFaults(ctx.config.fault, prompts.map((p) => p.text));
  if ('status' in faults) return { error: faults };

  // An explicit `"max_tokens": null` means "no cap", like chat without max_tokens.
  const explicit = 'max_tokens' in body ? (values.get('max_tokens') as number | undefined) : DEFAULT_MAX_TOKENS;
  const cap = tokenCap(explicit, prompts.map((p) => p.tokens), ctx.config.maxModelLen);
  if (typeof cap !== 'number') return { error: cap };
  const samplingError = checkSampling(values, stop, explicit, values.get('logprobs') as number | undefined);
  if (samplingError) return { error: samplingError };

  const n = (values.get('n') as number | undefined) ?? 1;
  return {
    plan: {
      kind: 'completion',
      dialect: 'openai',
      ...flags,
      promptTokens: prompts.reduce((sum, p) => sum + p.tokens, 0),
      prompts: prompts.map((p) => p.seq),
      n,
      seeds: choiceSeeds(prompts.map((p) => p.text), n),
      maxTokens: cap,
      tool: undefined,
      faults,
      bodyRequestId: values.get('request_id') as string | undefined,
    },
  };
}

/** CompletionRequest's validator: a prompt (or prompt_embeds, which the simulator does not take) is required. */
function checkPromptPresent(body: Record<string, unknown>): PydanticIssue | undefined {
  const p = body.prompt;
  const empty = p === undefined || p === null || p === '' || (Array.isArray(p) && p.length === 0);
  if (empty && body.prompt_embeds === undefined) return modelValidatorIssue('Either prompt or prompt_embeds must be provided and non-empty.', 'prompt');
  return undefined;
}

function readPrompts(prompt: unknown, blockSize: number, issues: PydanticIssue[]): Prompt[] {
  const fromText = (text: string): Prompt => {
    const seq = textSequence(text, blockSize);
    return { text, tokens: seq.tokens, seq };
  };
  const fromIds = (ids: number[]): Prompt => ({ text: ids.join(' '), tokens: ids.length, seq: idSequence(ids, blockSize) });
  if (typeof prompt === 'string') return [fromText(prompt)];
  if (Array.isArray(prompt)) {
    if (prompt.every((x) => typeof x === 'string')) return prompt.map(fromText);
    if (prompt.every(isTokenId)) return [fromIds(prompt)];
    if (prompt.every((x) => Array.isArray(x) && x.length > 0 && x.every(isTokenId))) return prompt.map(fromIds);
  }
  issues.push({ type: 'string_type', loc: ['body', 'prompt'], msg: 'Input should be a valid string', input: prompt });
  return [];
}

function isTokenId(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

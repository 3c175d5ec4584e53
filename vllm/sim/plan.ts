/**
 * @module sim/plan
 * What both inference routes share between "JSON body" and "generation plan": the plan type, the
 * checks vLLM runs in the same order for chat and completions (vllm.md 2.1: schema → model → dead
 * engine → template/tools → length → sampling), and the sampling checks of SamplingParams (vllm.md 2.2,
 * each a 400 BadRequestError with vLLM's message).
 */
import { badRequest, contextLengthError, ENGINE_DEAD, inputTooLongError, modelNotFound, type SimError } from './errors.js';
import { applyFaultMarkers, FaultMarkerError, type FaultSpec } from './faults.js';
import type { SimConfig } from './options.js';
import type { PromptSeq } from './prefix-cache.js';
import { coerce, modelValidatorIssue, pyFloat, type FieldKind, type PydanticIssue } from './pydantic.js';

export interface ToolCallPlan {
  name: string;
  /** The JSON arguments string, as the hermes parser would return it. */
  arguments: string;
  /** "tool_calls" for auto/required, "stop" for a named tool_choice (vllm.md 3.1). */
  finishReason: 'tool_calls' | 'stop';
}

export interface GenerationPlan {
  kind: 'chat' | 'completion';
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
  /** The answer's dialect: OpenAI's (chat, completions) or Anthropic's Messages, which vLLM serves as a chat request. */
  dialect: 'openai' | 'anthropic';
  /** usage.prompt_tokens: summed over the prompts of a multi-prompt completion. */
  promptTokens: number;
  /** The token sequences the engine prefills, one per prompt, with their block hashes (prefix-cache.ts). */
  prompts: PromptSeq[];
  /** Choices per prompt (`n`): choice i belongs to prompt floor(i / n). */
  n: number;
  /** One deterministic-text seed per choice, in choice-index order. */
  seeds: string[];
  /** Cap on generated tokens per choice: max_tokens, or what is left of the context. */
  maxTokens: number;
  tool: ToolCallPlan | undefined;
  faults: FaultSpec;
  /** The body's request_id; the X-Request-Id header wins over it (vllm.md 3.1). */
  bodyRequestId: string | undefined;
}

export type PlanResult = { plan: GenerationPlan; error?: undefined } | { error: SimError; plan?: undefined };

export interface PlanContext {
  config: SimConfig;
  engineDead: boolean;
}

/** VLLM_MAX_N_SEQUENCES and --max-logprobs defaults. */
const MAX_N = 16_384;
const MAX_LOGPROBS = 20;
/** VLLM_MAX_STOP_STRINGS (vllm.md 2.2, since 2026-08-11). */
export const MAX_STOP_STRINGS = 4;

/** Reads the typed fields pydantic would validate; wrong types become issues. */
export function readFields(body: Record<string, unknown>, rules: ReadonlyArray<readonly [string, FieldKind]>, issues: PydanticIssue[]): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const [name, kind] of rules) {
    if (!(name in body)) continue;
    const v = coerce(body[name], kind, ['body', name], issues);
    if (v !== undefined && v !== null) values.set(name, v);
  }
  return values;
}

/** `stop`: a string or a list of at most MAX_STOP_STRINGS strings (a pydantic constraint). */
export function readStop(body: Record<string, unknown>, issues: PydanticIssue[]): string[] {
  const stop = body.stop;
  if (stop === undefined || stop === null) return [];
  if (typeof stop === 'string') return [stop];
  if (!Array.isArray(stop)) {
    issues.push({ type: 'string_type', loc: ['body', 'stop'], msg: 'Input should be a valid string', input: stop });
    return [];
  }
  const bad = stop.findIndex((s) => typeof s !== 'string');
  if (bad >= 0) {
    issues.push({ type: 'string_type', loc: ['body', 'stop', bad], msg: 'Input should be a valid string', input: stop[bad] });
  } else if (stop.length > MAX_STOP_STRINGS) {
    issues.push({ type: 'too_long', loc: ['body', 'stop'], msg: `List should have at most ${MAX_STOP_STRINGS} items after validation, not ${stop.length}`, input: stop });
  }
  return stop.filter((s): s is string => typeof s === 'string');
}

/** The `stream_options` model validator and the shape of stream_options (shared by both request models). */
export function checkStreamOptions(body: Record<string, unknown>): PydanticIssue | undefined {
  if (isTruthy(body.stream_options) && !isTruthy(body.stream)) {
    return modelValidatorIssue('Stream options can only be defined when `stream=True`.', 'stream_options');
  }
  return undefined;
}

export interface StreamFlags {
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
}

export function readStreamFlags(values: Map<string, unknown>, issues: PydanticIssue[]): StreamFlags {
  const stream = values.get('stream') === true;
  const opts = values.get('stream_options') as Record<string, unknown> | undefined;
  let includeUsage = false;
  let continuousUsage = false;
  if (opts) {
    // vllm.md 4: include_usage defaults to false since #36379; continuous stats only with include_usage.
    includeUsage = coerce(opts.include_usage ?? null, 'bool', ['body', 'stream_options', 'include_usage'], issues) === true;
    continuousUsage = includeUsage && coerce(opts.continuous_usage_stats ?? null, 'bool', ['body', 'stream_options', 'continuous_usage_stats'], issues) === true;
  }
  return { stream, includeUsage, continuousUsage };
}

/** Model check then "engine already dead" (vllm.md 2.1 steps 3 and 4). */
export function checkModelAndEngine(values: Map<string, unknown>, ctx: PlanContext): SimError | undefined {
  const model = values.get('model');
  if (typeof model === 'string' && !ctx.config.servedModelNames.includes(model)) return modelNotFound(model);
  if (ctx.engineDead) return ENGINE_DEAD;
  return undefined;
}

/** Fault markers in the prompt texts, on top of the configured ones. A bad marker is a 400. */
export function collectFaults(base: Readonly<FaultSpec>, texts: readonly string[]): FaultSpec | SimError {
  const spec: FaultSpec = { ...base };
  try {
    for (const t of texts) applyFaultMarkers(spec, t);
  } catch (err) {
    if (err instanceof FaultMarkerError) return badRequest(err.message);
    throw err;
  }
  return spec;
}

/**
 * The token cap and the context-length check (vllm.md 2.2 "max_tokens semantics", 5.3): an explicit
 * max_tokens must fit beside every prompt; without one, generation may use what is left of the context.
 */
export function tokenCap(explicit: number | undefined, promptLengths: readonly number[], maxModelLen: number): number | SimError {
  const longest = Math.max(...promptLengths);
  if (explicit === undefined) {
    if (longest >= maxModelLen) return inputTooLongError(maxModelLen, longest);
    return maxModelLen - longest;
  }
  // max_tokens < 1 is reported by the sampling checks that follow, with vLLM's message.
  if (explicit >= 1 && longest + explicit > maxModelLen) return contextLengthError(maxModelLen, longest, explicit);
  return explicit;
}

/** SamplingParams._verify_args and the greedy check, in vLLM's order (vllm.md 2.2). */
export function checkSampling(values: Map<string, unknown>, stop: readonly string[], maxTokens: number | undefined, logprobs: number | undefined): SimError | undefined {
  const num = (name: string): number | undefined => values.get(name) as number | undefined;
  const n = num('n') ?? 1;
  if (n < 1) return badRequest(`n must be at least 1, got ${n}.`);
  if (n > MAX_N) return badRequest(`n must be at most ${MAX_N}, got ${n}. To increase this limit, set the VLLM_MAX_N_SEQUENCES environment variable.`);
  for (const name of ['presence_penalty', 'frequency_penalty']) {
    const v = num(name);
    if (v !== undefined && (v < -2 || v > 2)) return badRequest(`${name} must be in [-2, 2], got ${pyFloat(v)}.`);
  }
  const rep = num('repetition_penalty');
  if (rep !== undefined && rep <= 0) return badRequest(`repetition_penalty must be greater than zero, got ${pyFloat(rep)}.`);
  const temperature = num('temperature');
  if (temperature !== undefined && temperature < 0) {
    return badRequest(`temperature must be non-negative, got ${pyFloat(temperature)}.`, 'temperature', pyFloat(temperature));
  }
  if (temperature !== undefined && temperature > 2) {
    return badRequest(`temperature must be in [0, 2], got ${pyFloat(temperature)}.`, 'temperature', pyFloat(temperature));
  }
  const topP = num('top_p');
  if (topP !== undefined && !(topP > 0 && topP <= 1)) return badRequest(`top_p must be in (0, 1], got ${pyFloat(topP)}.`, 'top_p', pyFloat(topP));
  const topK = num('top_k');
  if (topK !== undefined && topK < -1) return badRequest(`top_k must be 0 (disable), or at least 1, got ${topK}.`);
  const minP = num('min_p');
  if (minP !== undefined && !(minP >= 0 && minP <= 1)) return badRequest(`min_p must be in [0, 1], got ${pyFloat(minP)}.`);
  if (maxTokens !== undefined && maxTokens < 1) return badRequest(`max_tokens must be at least 1, got ${maxTokens}.`, 'max_tokens', String(maxTokens));
  const minTokens = num('min_tokens') ?? 0;
  if (minTokens < 0) return badRequest(`min_tokens must be greater than or equal to 0, got ${minTokens}.`);
  if (maxTokens !== undefined && minTokens > maxTokens) return badRequest(`min_tokens must be less than or equal to max_tokens=${maxTokens}, got ${minTokens}.`);
  if (logprobs !== undefined && logprobs !== -1 && logprobs < 0) return badRequest(`logprobs must be non-negative or -1, got ${logprobs}.`, 'logprobs', String(logprobs));
  if (stop.some((s) => s.length === 0)) return badRequest('stop cannot contain an empty string.');
  if (temperature === 0 && n > 1) return badRequest(`n must be 1 when using greedy sampling, got ${n}.`);
  if (logprobs !== undefined && logprobs > MAX_LOGPROBS) return badRequest(`Requested sample logprobs of ${logprobs}, which is greater than max allowed: ${MAX_LOGPROBS}`);
  return undefined;
}

/** Choice seeds: the prompt seed for choice 0 of each prompt, `${seed}#${i}` for the others (text.ts). */
export function choiceSeeds(promptSeeds: readonly string[], n: number): string[] {
  const seeds: string[] = [];
  for (const seed of promptSeeds) for (let i = 0; i < n; i++) seeds.push(i === 0 ? seed : `${seed}#${i}`);
  return seeds;
}

/** Python truthiness of a JSON value, as vLLM's `data.get(...)` checks see it. */
export function isTruthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

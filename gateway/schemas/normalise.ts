/**
 * @module schemas/normalise
 * The checks and rewrites chat and completion requests share, run after the zod parse on the parsed
 * copy of the body (the client's object is never touched). vllm.md 9 rule 4 lists what must never
 * reach vLLM because it either turns into a 400 there or is silently dropped: each rewrite below cites it.
 */
import { invalidRequest } from '../errors.js';
import { isRecord, type ParseLimits } from './parsed-request.js';

/** Removed `guided_*` fields and their `structured_outputs` keys (vllm.md 2.2 "Structured output"). */
const GUIDED_FIELDS: readonly (readonly [string, string])[] = [
  ['guided_json', 'json'],
  ['guided_regex', 'regex'],
  ['guided_choice', 'choice'],
  ['guided_grammar', 'grammar'],
  ['guided_whitespace_pattern', 'whitespace_pattern'],
];

export interface StreamMode {
  stream: boolean;
  clientWantsUsage: boolean;
}

/**
 * `stream_options` without `stream: true` is a 400 in vLLM and OpenAI alike (vllm.md 2.2), so we answer
 * it ourselves. A stream always asks vLLM for usage, to account for it: `stream_options: {}` no longer
 * implies usage (#36379, vllm.md 9), so `include_usage: true` is sent explicitly. Whether the client
 * gets the usage chunk depends only on what the client itself asked for.
 */
export function normaliseStreaming(body: Record<string, unknown>): StreamMode {
  const options = body.stream_options;
  if (body.stream !== true) {
    if (options != null) throw invalidRequest('stream_options can only be set when stream is true', 'stream_options', 'invalid_value');
    if (options === null) delete body.stream_options;
    return { stream: false, clientWantsUsage: false };
  }
  if (isRecord(options)) {
    const clientWantsUsage = options.include_usage === true;
    body.stream_options = { ...options, include_usage: true };
    return { stream: true, clientWantsUsage };
  }
  body.stream_options = { include_usage: true };
  return { stream: true, clientWantsUsage: false };
}

/**
 * vLLM ignores `guided_*` since v0.12 (#29326, vllm.md 9 rule 4), so a client relying on them would get
 * unconstrained output without a word. They become the `structured_outputs` keys that replaced them;
 * `guided_decoding_backend` has no per-request successor and is dropped. Then vLLM's own rule: at most
 * one of json / regex / choice.
 */
export function normaliseStructuredOutputs(body: Record<string, unknown>): void {
  let mapped: Record<string, unknown> | undefined;
  for (const [field, key] of GUIDED_FIELDS) {
    if (!(field in body)) continue;
    const value = body[field];
    delete body[field];
    if (value == null) continue;
    if (body.structured_outputs != null) {
      throw invalidRequest(`${field} cannot be combined with structured_outputs; use structured_outputs.${key} alone`, field, 'invalid_value');
    }
    mapped ??= {};
    mapped[key] = value;
  }
  if ('guided_decoding_backend' in body) delete body.guided_decoding_backend;
  if (mapped) body.structured_outputs = mapped;

  const so = body.structured_outputs;
  if (!isRecord(so)) return;
  const kinds = (so.json != null ? 1 : 0) + (so.regex != null ? 1 : 0) + (so.choice != null ? 1 : 0);
  if (kinds > 1) {
    const origin = mapped ? ' (guided_json, guided_regex and guided_choice become these)' : '';
    throw invalidRequest(`structured_outputs accepts only one of json, regex or choice${origin}`, 'structured_outputs', 'invalid_value');
  }
}

/**
 * `best_of` was removed from vLLM (#29090) and is silently ignored, which would mislead a client that
 * expects a best-of-N answer (vllm.md 9 rule 4). A value equal to n asks for nothing extra and is
 * dropped; anything else is refused.
 */
export function normaliseBestOf(body: Record<string, unknown>): void {
  if (!('best_of' in body)) return;
  const bestOf = body.best_of;
  const n = typeof body.n === 'number' ? body.n : 1;
  if (bestOf != null && bestOf !== n) {
    throw invalidRequest('best_of is not supported by vLLM (it would be ignored); remove it, or set it equal to n', 'best_of', 'invalid_value');
  }
  delete body.best_of;
}

/** Cross-field sampling checks vLLM would answer with a 400 (vllm.md 2.2 "Sampling checks" and validators). */
export function checkSamplingCombinations(body: Record<string, unknown>, stream: boolean): void {
  // Greedy decoding has one answer; beam search is the exception (it takes n as its beam width).
  if (body.temperature === 0 && typeof body.n === 'number' && body.n > 1 && body.use_beam_search !== true) {
    throw invalidRequest('n must be 1 when temperature is 0 (greedy sampling has a single answer)', 'n', 'invalid_value');
  }
  // vLLM refuses prompt_logprobs on streams; 0 asks for none and passes there too.
  if (stream && typeof body.prompt_logprobs === 'number' && body.prompt_logprobs !== 0) {
    throw invalidRequest('prompt_logprobs is not available when stream is true', 'prompt_logprobs', 'invalid_value');
  }
  const format = body.response_format;
  if (isRecord(format) && format.type === 'json_schema' && format.json_schema == null) {
    throw invalidRequest('response_format.json_schema is required when response_format.type is "json_schema"', 'response_format.json_schema', 'missing_field');
  }
}

/** MAX_TOKENS_LIMIT: larger values are refused, not clamped, so the client learns the real cap. */
export function checkMaxTokens(body: Record<string, unknown>, limits: ParseLimits | undefined): void {
  const limit = limits?.maxTokensLimit;
  if (limit === undefined) return;
  for (const field of ['max_tokens', 'max_completion_tokens'] as const) {
    const value = body[field];
    if (typeof value === 'number' && value > limit) {
      throw invalidRequest(`${field} must be at most ${limit} on this gateway (larger values are rejected, not clamped)`, field, 'invalid_value');
    }
  }
}

/** The shared tail of both parsers, in the order a client would fix things. */
export function normaliseShared(body: Record<string, unknown>, limits: ParseLimits | undefined): StreamMode {
  const mode = normaliseStreaming(body);
  checkMaxTokens(body, limits);
  checkSamplingCombinations(body, mode.stream);
  normaliseBestOf(body);
  normaliseStructuredOutputs(body);
  return mode;
}

/**
 * @module schemas/completion
 * `POST /v1/completions` and the legacy `/generate`: the request schema (vllm.md 2.3). `prompt` has four
 * shapes, told apart by its first element; it is checked by hand so the message can say which element
 * is wrong. Unknown fields pass through untouched (2.1).
 */
import { z } from 'zod';
import { invalidRequest } from '../errors.js';
import { estimatePromptTokens } from '../token-estimate.js';
import { PARSE_PARAMS, toInvalidRequest } from './issues.js';
import { normaliseShared } from './normalise.js';
import { requireObject, type ParseLimits, type ParsedRequest } from './parsed-request.js';
import { intBetween, MAX_LOGPROBS, samplingFields } from './sampling.js';

/** vLLM's VLLM_MAX_COMPLETION_PROMPTS (vllm.md 2.3). */
export const MAX_PROMPTS = 1024;
/** vLLM's `max_tokens` default for completions (vllm.md 2.3); chat has none. */
export const COMPLETION_DEFAULT_MAX_TOKENS = 16;

const SHAPES = 'a string, an array of strings, an array of token ids or an array of token-id arrays';

const completionRequest = z.looseObject({
  ...samplingFields,
  // On completions logprobs is the number of top alternatives, not a flag.
  logprobs: intBetween(0, MAX_LOGPROBS),
});

function isTokenId(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function checkTokenIds(ids: readonly unknown[], param: string): void {
  if (ids.length === 0) throw invalidRequest(`${param} must not be empty`, param, 'invalid_value');
  for (let i = 0; i < ids.length; i++) {
    if (!isTokenId(ids[i])) throw invalidRequest(`${param}[${i}] must be a token id (an integer of at least 0)`, `${param}[${i}]`, 'invalid_type');
  }
}

/** `prompt` or vLLM's `prompt_embeds` is required; an empty prompt is refused upstream too (2.3). */
function checkPrompt(body: Record<string, unknown>): void {
  const prompt = body.prompt;
  if (prompt == null) {
    if (body.prompt_embeds != null) return;
    throw invalidRequest('prompt is required', 'prompt', 'missing_field');
  }
  if (typeof prompt === 'string') {
    if (prompt === '') throw invalidRequest('prompt must not be empty', 'prompt', 'invalid_value');
    return;
  }
  if (!Array.isArray(prompt)) throw invalidRequest(`prompt must be ${SHAPES}`, 'prompt', 'invalid_type');
  if (prompt.length === 0) throw invalidRequest('prompt must not be empty', 'prompt', 'invalid_value');
  const first: unknown = prompt[0];
  // A flat array of ints is one tokenised prompt, so the batch limit does not apply to it.
  if (typeof first === 'number') return checkTokenIds(prompt, 'prompt');
  if (prompt.length > MAX_PROMPTS) {
    throw invalidRequest(`prompt accepts at most ${MAX_PROMPTS} prompts per request (vLLM's limit)`, 'prompt', 'invalid_value');
  }
  if (typeof first === 'string') {
    for (let i = 0; i < prompt.length; i++) {
      const p: unknown = prompt[i];
      if (typeof p !== 'string') throw invalidRequest(`prompt[${i}] must be a string, like prompt[0]`, `prompt[${i}]`, 'invalid_type');
      if (p === '') throw invalidRequest(`prompt[${i}] must not be empty`, `prompt[${i}]`, 'invalid_value');
    }
    return;
  }
  if (Array.isArray(first)) {
    for (let i = 0; i < prompt.length; i++) {
      const p: unknown = prompt[i];
      if (!Array.isArray(p)) throw invalidRequest(`prompt[${i}] must be an array of token ids, like prompt[0]`, `prompt[${i}]`, 'invalid_type');
      checkTokenIds(p, `prompt[${i}]`);
    }
    return;
  }
  throw invalidRequest('prompt[0] must be a string, a token id or an array of token ids', 'prompt[0]', 'invalid_type');
}

/**
 * vLLM's CompletionRequest has no `max_completion_tokens` (vllm.md 2.3): it would be ignored and 16
 * tokens generated. We forward it as `max_tokens`, so the effective value is the same on both routes.
 * Without either, vLLM's default of 16 applies, or the gateway's cap if that is lower.
 */
function effectiveMaxTokens(body: Record<string, unknown>, limits: ParseLimits | undefined): number {
  const explicit = body.max_completion_tokens ?? body.max_tokens;
  if ('max_completion_tokens' in body) delete body.max_completion_tokens;
  if (typeof explicit === 'number') {
    body.max_tokens = explicit;
    return explicit;
  }
  const limit = limits?.maxTokensLimit;
  if (limit !== undefined && limit < COMPLETION_DEFAULT_MAX_TOKENS) {
    body.max_tokens = limit;
    return limit;
  }
  return COMPLETION_DEFAULT_MAX_TOKENS;
}

/** Validates and normalises a completion request; throws the GatewayError 400 for the first problem found. */
export function parseCompletionRequest(input: unknown, limits?: ParseLimits): ParsedRequest {
  const object = requireObject(input);
  checkPrompt(object);
  const result = completionRequest.safeParse(object, PARSE_PARAMS);
  if (!result.success) throw toInvalidRequest(result.error.issues);
  const data = result.data;
  const body: Record<string, unknown> = data;

  const { stream, clientWantsUsage } = normaliseShared(body, limits);
  return {
    kind: 'completion',
    body,
    model: data.model ?? undefined,
    stream,
    clientWantsUsage,
    maxTokens: effectiveMaxTokens(body, limits),
    promptTokensEstimate: estimatePromptTokens(body, 'completion'),
  };
}

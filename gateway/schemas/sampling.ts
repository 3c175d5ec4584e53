/**
 * @module schemas/sampling
 * The fields chat and completion requests share, as zod fields to spread into each request schema.
 * Ranges follow vLLM's own `SamplingParams` checks (vllm.md 2.2 "Sampling checks"), so a request the
 * gateway accepts is one vLLM accepts too, whichever version runs behind it.
 *
 * Every field is `nullish`: vLLM types them `X | None` and treats null as "not set"; the checks in
 * normalise.ts do the same.
 */
import { z } from 'zod';

/** Our cap on `n`: vLLM allows 16384 (VLLM_MAX_N_SEQUENCES), but every extra sequence costs GPU time. */
export const MAX_N = 16;
/** vLLM's VLLM_MAX_STOP_STRINGS (vllm.md 2.2, #51447). */
export const MAX_STOP_STRINGS = 4;
/** vLLM's default --max-logprobs (vllm.md 2.2). */
export const MAX_LOGPROBS = 20;

/**
 * An integer. A non-number would otherwise read "must be a number", since zod checks the type before
 * the integer format; returning undefined for other issues leaves them to the shared phrases.
 */
const integerType = { error: (iss: { code?: string; input?: unknown }) => (iss.code === 'invalid_type' && iss.input !== undefined ? 'must be an integer' : undefined) };

export function int() {
  return z.int(integerType);
}

function between(lo: number, hi: number) {
  const message = `must be between ${lo} and ${hi}`;
  return z.number().min(lo, message).max(hi, message).nullish();
}

/** An integer count in [lo, hi], e.g. top_logprobs. */
export function intBetween(lo: number, hi: number) {
  const message = `must be an integer between ${lo} and ${hi}`;
  return int().min(lo, message).max(hi, message).nullish();
}

const positiveInt = int().min(1).nullish();
const nonEmpty = z.string().min(1);

export const samplingFields = {
  model: z.string().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z
    .looseObject({ include_usage: z.boolean().nullish(), continuous_usage_stats: z.boolean().nullish() })
    .nullish(),
  n: int().min(1).max(MAX_N, `must be at most ${MAX_N} (this gateway's limit)`).nullish(),
  // The upper bound of 2 is new in vLLM (#44965); older servers accept more, we reject consistently (vllm.md 9).
  temperature: between(0, 2),
  top_p: z.number().gt(0, 'must be greater than 0 and at most 1').max(1, 'must be greater than 0 and at most 1').nullish(),
  // -1 and 0 both mean "off"; any other value must be a positive integer.
  top_k: int().min(-1, 'must be -1, 0 or a positive integer').nullish(),
  min_p: between(0, 1),
  presence_penalty: between(-2, 2),
  frequency_penalty: between(-2, 2),
  repetition_penalty: z.number().gt(0, 'must be greater than 0').nullish(),
  max_tokens: positiveInt,
  max_completion_tokens: positiveInt,
  min_tokens: int().min(0).nullish(),
  // vLLM takes any int64; JSON numbers beyond 2^53 arrive rounded, which is still an integer.
  seed: z.number(integerType).refine(Number.isInteger, 'must be an integer').nullish(),
  stop: z
    .union([nonEmpty, z.array(nonEmpty).max(MAX_STOP_STRINGS, `accepts at most ${MAX_STOP_STRINGS} sequences (vLLM's limit)`)], {
      error: 'must be a string or an array of strings',
    })
    .nullish(),
  stop_token_ids: z.array(int()).nullish(),
  prompt_logprobs: int().min(-1, 'must be -1 (all) or a non-negative integer').nullish(),
  use_beam_search: z.boolean().nullish(),
  // vLLM also accepts "structural_tag" here (its AnyResponseFormat), so rejecting it would break a working feature.
  response_format: z
    .looseObject({
      type: z.enum(['text', 'json_object', 'json_schema', 'structural_tag']),
      json_schema: z.looseObject({}).nullish(),
    })
    .nullish(),
  structured_outputs: z.looseObject({}).nullish(),
};

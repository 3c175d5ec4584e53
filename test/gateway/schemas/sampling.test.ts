/**
 * Rules chat and completion requests share: sampling ranges (vllm.md 2.2 "Sampling checks") and the
 * normalisations of vllm.md 9 rule 4. Every case runs through both parsers.
 */
import { describe, expect, it } from 'vitest';
import { parseChatRequest, parseCompletionRequest, type ParseLimits } from '../../../gateway/schemas/index.js';
import { expectRejection } from './expect-rejection.js';

const KINDS = [
  { kind: 'chat', base: { messages: [{ role: 'user', content: 'hi' }] }, parse: parseChatRequest },
  { kind: 'completion', base: { prompt: 'Once upon a time' }, parse: parseCompletionRequest },
] as const;

function forBoth(name: string, fn: (parse: (extra: Record<string, unknown>, limits?: ParseLimits) => ReturnType<typeof parseChatRequest>) => void) {
  describe.each(KINDS)(`${name} ($kind)`, ({ base, parse }) => {
    fn((extra, limits) => parse({ ...base, ...extra }, limits));
  });
}

const INVALID: [string, Record<string, unknown>, string, string, RegExp?][] = [
  ['temperature above 2 (vLLM #44965)', { temperature: 2.01 }, 'temperature', 'invalid_value', /^temperature must be between 0 and 2$/],
  ['temperature below 0', { temperature: -0.1 }, 'temperature', 'invalid_value'],
  ['temperature as a string', { temperature: '1' }, 'temperature', 'invalid_type', /must be a number/],
  ['top_p of 0', { top_p: 0 }, 'top_p', 'invalid_value', /greater than 0/],
  ['top_p above 1', { top_p: 1.01 }, 'top_p', 'invalid_value'],
  ['top_k of -2', { top_k: -2 }, 'top_k', 'invalid_value', /-1, 0 or a positive integer/],
  ['fractional top_k', { top_k: 1.5 }, 'top_k', 'invalid_type', /must be an integer/],
  ['min_p above 1', { min_p: 1.5 }, 'min_p', 'invalid_value'],
  ['min_p below 0', { min_p: -0.1 }, 'min_p', 'invalid_value'],
  ['presence_penalty above 2', { presence_penalty: 2.5 }, 'presence_penalty', 'invalid_value', /between -2 and 2/],
  ['frequency_penalty below -2', { frequency_penalty: -3 }, 'frequency_penalty', 'invalid_value'],
  ['repetition_penalty of 0', { repetition_penalty: 0 }, 'repetition_penalty', 'invalid_value', /greater than 0/],
  ['max_tokens of 0', { max_tokens: 0 }, 'max_tokens', 'invalid_value', /at least 1/],
  ['max_tokens as text', { max_tokens: 'ten' }, 'max_tokens', 'invalid_type', /must be an integer/],
  ['fractional max_tokens', { max_tokens: 1.5 }, 'max_tokens', 'invalid_type'],
  ['max_completion_tokens of 0', { max_completion_tokens: 0 }, 'max_completion_tokens', 'invalid_value'],
  ['fractional seed', { seed: 1.5 }, 'seed', 'invalid_value', /must be an integer/],
  ['seed as text', { seed: 'x' }, 'seed', 'invalid_type', /must be an integer/],
  ['five stop strings (VLLM_MAX_STOP_STRINGS, #51447)', { stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', 'invalid_value', /^stop accepts at most 4 sequences \(vLLM's limit\)$/],
  ['an empty stop string in a list', { stop: ['a', ''] }, 'stop[1]', 'invalid_value', /must not be empty/],
  ['an empty stop string', { stop: '' }, 'stop', 'invalid_value'],
  ['stop as a number', { stop: 5 }, 'stop', 'invalid_type', /a string or an array of strings/],
  ['stop_token_ids with text', { stop_token_ids: [1, 'a'] }, 'stop_token_ids[1]', 'invalid_type'],
  ['negative min_tokens', { min_tokens: -1 }, 'min_tokens', 'invalid_value'],
  ['stream as text', { stream: 'true' }, 'stream', 'invalid_type', /true or false/],
  ['stream_options.include_usage as text', { stream: true, stream_options: { include_usage: 'yes' } }, 'stream_options.include_usage', 'invalid_type'],
  ['stream_options as a list', { stream: true, stream_options: [] }, 'stream_options', 'invalid_type'],
  ['n of 0', { n: 0 }, 'n', 'invalid_value'],
  ['n above our cap of 16', { n: 17 }, 'n', 'invalid_value', /at most 16/],
  ['fractional n', { n: 2.5 }, 'n', 'invalid_type'],
  ['an unknown response_format type', { response_format: { type: 'xml' } }, 'response_format.type', 'invalid_value'],
  ['response_format json_schema without json_schema', { response_format: { type: 'json_schema' } }, 'response_format.json_schema', 'missing_field'],
  ['structured_outputs as text', { structured_outputs: 'json' }, 'structured_outputs', 'invalid_type'],
  ['prompt_logprobs of -2', { prompt_logprobs: -2 }, 'prompt_logprobs', 'invalid_value'],
  ['model as a number', { model: 7 }, 'model', 'invalid_type'],
];

const VALID: [string, Record<string, unknown>][] = [
  ['temperature 0', { temperature: 0 }],
  ['temperature 2', { temperature: 2 }],
  ['top_p 1', { top_p: 1 }],
  ['top_k -1', { top_k: -1 }],
  ['top_k 0', { top_k: 0 }],
  ['top_k 40', { top_k: 40 }],
  ['min_p 1', { min_p: 1 }],
  ['penalties at ±2', { presence_penalty: -2, frequency_penalty: 2 }],
  ['a small repetition_penalty', { repetition_penalty: 0.01 }],
  ['n 16', { n: 16, temperature: 0.8 }],
  ['four stop strings', { stop: ['a', 'b', 'c', 'd'] }],
  ['a stop string', { stop: '\n\n' }],
  ['min_tokens 0', { min_tokens: 0 }],
  ['a 64-bit seed', { seed: 2 ** 62 }],
  ['negative seed', { seed: -5 }],
  ['nulls where vLLM takes None', { temperature: null, top_p: null, max_tokens: null, stop: null, seed: null, n: null }],
  ['response_format json_object', { response_format: { type: 'json_object' } }],
  ['response_format json_schema', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } } }],
  ['response_format structural_tag (vLLM accepts it)', { response_format: { type: 'structural_tag', format: {} } }],
];

forBoth('sampling fields', (parse) => {
  it.each(INVALID)('rejects %s', (_name, extra, param, code, message) => {
    expectRejection(() => parse(extra), { param, code, message });
  });

  it.each(VALID)('accepts %s', (_name, extra) => {
    const { body } = parse(extra);
    expect(body).toMatchObject(extra);
  });
});

forBoth('cross-field sampling rules', (parse) => {
  it('refuses n > 1 with temperature 0 (vLLM: greedy sampling has one answer)', () => {
    expectRejection(() => parse({ n: 2, temperature: 0 }), { param: 'n', code: 'invalid_value', message: /n must be 1 when temperature is 0/ });
    expect(parse({ n: 2, temperature: 0.5 }).body.n).toBe(2);
    expect(parse({ n: 1, temperature: 0 }).body.temperature).toBe(0);
    expect(parse({ n: 2, temperature: 0, use_beam_search: true }).body.use_beam_search).toBe(true);
  });

  it('refuses prompt_logprobs on a stream, but not 0 or without stream', () => {
    expectRejection(() => parse({ stream: true, prompt_logprobs: 1 }), { param: 'prompt_logprobs', code: 'invalid_value' });
    expectRejection(() => parse({ stream: true, prompt_logprobs: -1 }), { param: 'prompt_logprobs' });
    expect(parse({ stream: true, prompt_logprobs: 0 }).stream).toBe(true);
    expect(parse({ prompt_logprobs: 5 }).body.prompt_logprobs).toBe(5);
  });

  it('rejects max_tokens / max_completion_tokens above MAX_TOKENS_LIMIT instead of clamping', () => {
    const limits = { maxTokensLimit: 64 };
    expectRejection(() => parse({ max_tokens: 65 }, limits), { param: 'max_tokens', code: 'invalid_value', message: /^max_tokens must be at most 64\b.*rejected, not clamped/ });
    expectRejection(() => parse({ max_completion_tokens: 65 }, limits), { param: 'max_completion_tokens', message: /^max_completion_tokens must be at most 64/ });
    expect(parse({ max_tokens: 64 }, limits).maxTokens).toBe(64);
    expect(parse({ max_tokens: 5000 }).maxTokens).toBe(5000);
  });
});

forBoth('streaming (vllm.md 9 rule 4, #36379)', (parse) => {
  it('refuses stream_options unless stream is true', () => {
    for (const extra of [{ stream_options: { include_usage: true } }, { stream: false, stream_options: {} }, { stream: null, stream_options: {} }]) {
      expectRejection(() => parse(extra), { param: 'stream_options', code: 'invalid_value', message: /stream_options can only be set when stream is true/ });
    }
  });

  it('drops a null stream_options on a non-stream request and adds none', () => {
    const res = parse({ stream_options: null });
    expect(res.stream).toBe(false);
    expect(res.clientWantsUsage).toBe(false);
    expect('stream_options' in res.body).toBe(false);
    expect('stream_options' in parse({}).body).toBe(false);
  });

  it('always asks vLLM for usage on a stream; clientWantsUsage only when the client asked', () => {
    const cases: [unknown, boolean][] = [
      [undefined, false],
      [null, false],
      [{}, false],
      [{ include_usage: false }, false],
      [{ include_usage: true }, true],
    ];
    for (const [options, wants] of cases) {
      const res = parse(options === undefined ? { stream: true } : { stream: true, stream_options: options });
      expect(res.stream).toBe(true);
      expect(res.clientWantsUsage).toBe(wants);
      expect(res.body.stream_options).toEqual({ include_usage: true });
    }
  });

  it("keeps the client's other stream_options fields", () => {
    const res = parse({ stream: true, stream_options: { continuous_usage_stats: true, future_flag: 1 } });
    expect(res.body.stream_options).toEqual({ continuous_usage_stats: true, future_flag: 1, include_usage: true });
    expect(res.clientWantsUsage).toBe(false);
  });
});

forBoth('guided_* → structured_outputs (vLLM ignores guided_* since #29326)', (parse) => {
  it.each([
    ['guided_json', { type: 'object' }, 'json'],
    ['guided_regex', '[a-z]+', 'regex'],
    ['guided_choice', ['yes', 'no'], 'choice'],
    ['guided_grammar', 'root ::= "a"', 'grammar'],
    ['guided_whitespace_pattern', '\\s*', 'whitespace_pattern'],
  ])('maps %s to structured_outputs', (field, value, key) => {
    const { body } = parse({ [field]: value });
    expect(body.structured_outputs).toEqual({ [key]: value });
    expect(field in body).toBe(false);
  });

  it('combines several guided_* fields and drops guided_decoding_backend', () => {
    const { body } = parse({ guided_json: { type: 'object' }, guided_whitespace_pattern: ' ', guided_decoding_backend: 'xgrammar' });
    expect(body.structured_outputs).toEqual({ json: { type: 'object' }, whitespace_pattern: ' ' });
    expect(Object.keys(body).filter((k) => k.startsWith('guided_'))).toEqual([]);
  });

  it('drops guided_decoding_backend alone and null guided_* without inventing structured_outputs', () => {
    const { body } = parse({ guided_decoding_backend: 'outlines', guided_json: null });
    expect(Object.keys(body).filter((k) => k.startsWith('guided_') || k === 'structured_outputs')).toEqual([]);
  });

  it('refuses guided_* together with structured_outputs', () => {
    expectRejection(() => parse({ guided_regex: 'a', structured_outputs: { regex: 'b' } }), { param: 'guided_regex', code: 'invalid_value', message: /cannot be combined with structured_outputs/ });
  });

  it('refuses more than one of json / regex / choice, however they were sent', () => {
    expectRejection(() => parse({ structured_outputs: { json: {}, choice: ['a'] } }), { param: 'structured_outputs', code: 'invalid_value', message: /only one of json, regex or choice/ });
    expectRejection(() => parse({ guided_json: {}, guided_regex: 'a' }), { param: 'structured_outputs', message: /guided_json/ });
  });

  it('forwards a structured_outputs with one constraint untouched', () => {
    const so = { grammar: 'root ::= "x"', disable_any_whitespace: true };
    expect(parse({ structured_outputs: so }).body.structured_outputs).toEqual(so);
  });
});

forBoth('best_of (removed in vLLM #29090, ignored upstream)', (parse) => {
  it('removes a best_of equal to n (or to the default n of 1), or null', () => {
    for (const extra of [{ best_of: 1 }, { best_of: 3, n: 3, temperature: 1 }, { best_of: null }]) {
      const { body } = parse(extra);
      expect('best_of' in body).toBe(false);
    }
  });

  it('refuses any other best_of', () => {
    expectRejection(() => parse({ best_of: 4 }), { param: 'best_of', code: 'invalid_value', message: /best_of is not supported/ });
    expectRejection(() => parse({ best_of: 2, n: 3 }), { param: 'best_of' });
    expectRejection(() => parse({ best_of: 'all' }), { param: 'best_of' });
  });
});

forBoth('pass-through', (parse) => {
  it('forwards unknown fields and vLLM extras unchanged', () => {
    const extras = {
      top_k: 20,
      min_p: 0.05,
      repetition_penalty: 1.05,
      stop_token_ids: [151645],
      structured_outputs: { regex: '\\d+' },
      response_format: { type: 'json_object' },
      chat_template_kwargs: { enable_thinking: false },
      logit_bias: { '42': -100 },
      ignore_eos: false,
      some_future_field: { nested: [1, 2, { deep: true }] },
    };
    const { body } = parse(extras);
    expect(body).toMatchObject(extras);
    expect(body.some_future_field).toBe(extras.some_future_field);
  });

  it('returns the model as sent, or undefined', () => {
    expect(parse({ model: 'gpt-4o-mini' }).model).toBe('gpt-4o-mini');
    expect(parse({}).model).toBeUndefined();
    expect(parse({ model: null }).model).toBeUndefined();
  });

  it("never mutates the client's object", () => {
    const input = { stream: true, stream_options: { include_usage: false }, guided_json: {}, best_of: 1 };
    const before = structuredClone(input);
    parse(input);
    expect(input).toEqual(before);
  });
});

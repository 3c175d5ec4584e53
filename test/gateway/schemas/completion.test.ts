/** Completion-only rules (vllm.md 2.3): the four prompt shapes, logprobs as a count, max_tokens' default. */
import { describe, expect, it } from 'vitest';
import { parseCompletionRequest } from '../../../gateway/schemas/index.js';
import { expectRejection } from './expect-rejection.js';

const completion = (extra: Record<string, unknown> = {}) => ({ prompt: 'Once upon', ...extra });

describe('the request body', () => {
  it.each([null, ['Once'], 'Once upon', 3])('refuses %j: not a JSON object', (input) => {
    expectRejection(() => parseCompletionRequest(input), { param: null, code: 'invalid_type', message: 'Request body must be a JSON object' });
  });

  it('parses a plain request into what the proxy needs', () => {
    const res = parseCompletionRequest({ model: 'qwen2.5-7b-instruct', prompt: 'Once upon a time', max_tokens: 5, stream: true });
    expect(res).toEqual({
      kind: 'completion',
      body: { model: 'qwen2.5-7b-instruct', prompt: 'Once upon a time', max_tokens: 5, stream: true, stream_options: { include_usage: true } },
      model: 'qwen2.5-7b-instruct',
      stream: true,
      clientWantsUsage: false,
      maxTokens: 5,
      promptTokensEstimate: 4,
    });
  });
});

describe('prompt', () => {
  it.each([
    ['a string', 'Hello'],
    ['an array of strings', ['Hello', 'World']],
    ['1024 strings (VLLM_MAX_COMPLETION_PROMPTS)', Array.from({ length: 1024 }, () => 'x')],
    ['token ids', [9707, 11, 1879]],
    ['a long token-id prompt (one prompt, not a batch)', Array.from({ length: 5000 }, (_, i) => i)],
    ['arrays of token ids', [[9707], [1879, 0]]],
  ])('accepts %s', (_name, prompt) => {
    expect(parseCompletionRequest({ prompt }).body.prompt).toEqual(prompt);
  });

  it.each([
    ['absent', {}, 'prompt', 'missing_field'],
    ['null', { prompt: null }, 'prompt', 'missing_field'],
    ['an empty string', { prompt: '' }, 'prompt', 'invalid_value'],
    ['a number', { prompt: 5 }, 'prompt', 'invalid_type'],
    ['an object', { prompt: { text: 'x' } }, 'prompt', 'invalid_type'],
    ['an empty array', { prompt: [] }, 'prompt', 'invalid_value'],
    ['an empty string in a list', { prompt: ['a', ''] }, 'prompt[1]', 'invalid_value'],
    ['mixed strings and ids', { prompt: ['a', 1] }, 'prompt[1]', 'invalid_type'],
    ['1025 strings', { prompt: Array.from({ length: 1025 }, () => 'x') }, 'prompt', 'invalid_value'],
    ['a negative token id', { prompt: [1, -1] }, 'prompt[1]', 'invalid_type'],
    ['a fractional token id', { prompt: [1, 1.5] }, 'prompt[1]', 'invalid_type'],
    ['an empty token-id array', { prompt: [[1], []] }, 'prompt[1]', 'invalid_value'],
    ['a bad id inside a token-id array', { prompt: [[1], [2, 'x']] }, 'prompt[1][1]', 'invalid_type'],
    ['a string among token-id arrays', { prompt: [[1], 'a'] }, 'prompt[1]', 'invalid_type'],
    ['1025 token-id arrays', { prompt: Array.from({ length: 1025 }, () => [1]) }, 'prompt', 'invalid_value'],
    ['objects', { prompt: [{}] }, 'prompt[0]', 'invalid_type'],
  ])('refuses %s', (_name, body, param, code) => {
    expectRejection(() => parseCompletionRequest(body), { param, code });
  });

  it('lets prompt_embeds stand in for prompt, untouched', () => {
    const { body } = parseCompletionRequest({ prompt_embeds: 'AAAA' });
    expect(body).toEqual({ prompt_embeds: 'AAAA' });
  });
});

describe('logprobs, echo, suffix', () => {
  it('takes logprobs as a count from 0 to 20', () => {
    expect(parseCompletionRequest(completion({ logprobs: 5 })).body.logprobs).toBe(5);
    expect(parseCompletionRequest(completion({ logprobs: 0 })).body.logprobs).toBe(0);
    expectRejection(() => parseCompletionRequest(completion({ logprobs: true })), { param: 'logprobs', code: 'invalid_type', message: /must be an integer/ });
    expectRejection(() => parseCompletionRequest(completion({ logprobs: 21 })), { param: 'logprobs', code: 'invalid_value', message: /between 0 and 20/ });
  });

  it('passes echo and suffix through', () => {
    expect(parseCompletionRequest(completion({ echo: true, suffix: '!' })).body).toMatchObject({ echo: true, suffix: '!' });
  });

  it('does not treat tools as a completions field: forwarded unvalidated, as vLLM ignores them here', () => {
    expect(parseCompletionRequest(completion({ tools: 'whatever' })).body.tools).toBe('whatever');
  });
});

describe('max_tokens', () => {
  it("defaults to vLLM's 16 without sending it", () => {
    const res = parseCompletionRequest(completion());
    expect(res.maxTokens).toBe(16);
    expect('max_tokens' in res.body).toBe(false);
    expect(parseCompletionRequest(completion({ max_tokens: null })).maxTokens).toBe(16);
  });

  it('forwards max_completion_tokens as max_tokens, which is the only one vLLM reads on completions', () => {
    const only = parseCompletionRequest(completion({ max_completion_tokens: 7 }));
    expect(only.maxTokens).toBe(7);
    expect(only.body.max_tokens).toBe(7);
    expect('max_completion_tokens' in only.body).toBe(false);
    const both = parseCompletionRequest(completion({ max_tokens: 3, max_completion_tokens: 9 }));
    expect(both.maxTokens).toBe(9);
    expect(both.body.max_tokens).toBe(9);
  });

  it('sends the gateway cap when it is below the default of 16', () => {
    const res = parseCompletionRequest(completion(), { maxTokensLimit: 8 });
    expect(res.maxTokens).toBe(8);
    expect(res.body.max_tokens).toBe(8);
    expect('max_tokens' in parseCompletionRequest(completion(), { maxTokensLimit: 100 }).body).toBe(false);
  });
});

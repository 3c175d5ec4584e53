/**
 * Each timeout is its own setting and ends the request the documented way: 504 before a response
 * began, one error event then the end of the stream after (never a clean-looking truncated answer).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, nextRequestEnd, post, startStack, type Stack } from '../../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { FIRST_BYTE_TIMEOUT_MS: '400', IDLE_TIMEOUT_MS: '400', REQUEST_TIMEOUT_MS: '1500' } });
});
afterAll(() => stack.close());

describe('timeouts', () => {
  it('first byte: a stream whose headers never come → 504, and vLLM sees the abort', async () => {
    const ended = nextRequestEnd(stack.sim);
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('x [[sim:hang]]', { stream: true }));
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upstream_first_byte_timeout');
    expect((await ended).outcome).toBe('aborted');
  });

  it('idle: a stream that goes quiet gets one error event and ends, without [DONE]', async () => {
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('x [[sim:hang-after-headers]]', { stream: true }));
    expect(res.status).toBe(200);
    const text = await res.text();
    const events = text.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toMatch(/^data: \{"error":\{"message":"The model server stopped sending tokens/);
    expect(text).not.toContain('[DONE]');
    const stream = await stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'x [[sim:hang-after-headers]]' }], stream: true });
    await expect(async () => {
      for await (const _c of stream) void _c;
    }).rejects.toBeInstanceOf(OpenAI.APIError);
  });

  it('total: a non-streaming answer slower than REQUEST_TIMEOUT_MS → 504 in the OpenAI shape', async () => {
    const ended = nextRequestEnd(stack.sim);
    const t0 = performance.now();
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('x [[sim:itl=100]]', { max_tokens: 100 }));
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('timeout_error');
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect((await ended).outcome).toBe('aborted');
  });

  it('a slow but steady stream longer than the idle limit is not cut', async () => {
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('x [[sim:itl=100]]', { stream: true, max_tokens: 8 }));
    const text = await res.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});

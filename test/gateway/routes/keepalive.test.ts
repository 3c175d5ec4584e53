/**
 * SSE_KEEPALIVE_MS: a `: ping` comment on a stream that has been silent that long (a long prefill, a
 * long queue inside vLLM), so idle-timeout proxies between client and gateway keep the stream. Off by
 * default, when streams stay byte for byte vLLM's. The simulator sends a stream's headers at once and
 * its first token after the marker's ttft, like vLLM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../gateway/config.js';
import { chatBody, post, startStack, type Stack } from '../../support/stack.js';

const SLOW_START = 'Think first [[sim:ttft=2600]]';

async function streamText(stack: Stack): Promise<string> {
  const res = await post(`${stack.url}/v1/chat/completions`, chatBody(SLOW_START, { stream: true, max_tokens: 4 }));
  expect(res.status).toBe(200);
  return res.text();
}

describe('SSE keep-alive on (SSE_KEEPALIVE_MS=1000)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ env: { SSE_KEEPALIVE_MS: '1000' } });
  });
  afterAll(() => stack.close());

  it('sends `: ping` between whole events while vLLM is silent, and the events are untouched', async () => {
    const text = await streamText(stack);
    const pings = text.split(': ping\n\n').length - 1;
    // 2.6 s of silence before the first token, a tick a second: one or two pings, all before the first event.
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(pings).toBeLessThanOrEqual(2);
    expect(text.startsWith(': ping\n\n')).toBe(true);
    const events = text.replaceAll(': ping\n\n', '');
    expect(events).toMatch(/^(data: \{[^\n]*\}\n\n)+data: \[DONE\]\n\n$/);
  });

  it('is invisible to the OpenAI SDK', async () => {
    const stream = await stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: SLOW_START }], max_tokens: 4, stream: true });
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    const raw = await streamText(stack);
    const expected = [...raw.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('');
    expect(content).toBe(expected);
    expect(content.length).toBeGreaterThan(0);
  });

  it('never pings a stream whose tokens come more often than SSE_KEEPALIVE_MS', async () => {
    // 8 tokens 400 ms apart: 3 s of streaming, never a whole second of silence.
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('Slow and steady [[sim:itl=400]]', { stream: true, max_tokens: 8 }));
    const text = await res.text();
    expect(text).not.toContain(': ping');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });
});

describe('SSE keep-alive off (default)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(() => stack.close());

  it('adds nothing to a stream, however long vLLM is silent', async () => {
    const text = await streamText(stack);
    expect(text).not.toContain(': ping');
    expect(text.startsWith('data: ')).toBe(true);
  });
});

describe('SSE_KEEPALIVE_MS', () => {
  it('is 0 (off) or at least 1000', () => {
    expect(parseConfig({}).sseKeepaliveMs).toBe(0);
    expect(parseConfig({ SSE_KEEPALIVE_MS: '15000' }).sseKeepaliveMs).toBe(15_000);
    expect(() => parseConfig({ SSE_KEEPALIVE_MS: '500' })).toThrow(/SSE_KEEPALIVE_MS: must be 0 \(off\) or at least 1000/);
  });
});

/**
 * Auth and errors on /v1/messages, through real sockets and @anthropic-ai/sdk 1.15.0: the key from
 * `x-api-key` or `Authorization: Bearer` (the SDK sends Bearer), one Anthropic-shaped 401 for every
 * failure, our 400s, vLLM's 400/404/500 in Anthropic's shape, 413, the key's 429 with retry-after, the
 * admission 503 as overloaded_error (which the SDK retries), and the client's key never sent to vLLM.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../support/stack.js';
import { KEY, MODEL, messagesBody, postMessages, sdk, startAnthropicStack } from './support.js';

const UPSTREAM_KEY = 'sk-vllm-upstream';
const LIMITED = 'sk-limited';
let stack: Stack;
beforeAll(async () => {
  stack = await startAnthropicStack({
    sim: { apiKeys: [UPSTREAM_KEY] },
    env: { API_KEYS: `claude:${KEY},limited:${LIMITED} rpm=1`, VLLM_API_KEY: UPSTREAM_KEY, MAX_TOKENS_LIMIT: '2000', MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUE: '0' },
  });
});
afterAll(() => stack.close());

type ErrorBody = { type: string; error: { type: string; message: string } };

describe('the API key', () => {
  it('the SDK sends it as Authorization: Bearer, never x-api-key', async () => {
    let seen: Headers | undefined;
    const client = sdk(stack, {
      fetch: (url: string | URL | Request, init?: RequestInit) => {
        seen = new Headers(init?.headers);
        return fetch(url, init);
      },
    });
    await client.messages.create({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
    expect(seen?.get('authorization')).toBe(`Bearer ${KEY}`);
    expect(seen?.has('x-api-key')).toBe(false);
  });

  it('is accepted from x-api-key (Anthropic API, Claude Code) and from Authorization: Bearer', async () => {
    const variants: Array<Record<string, string>> = [{ 'x-api-key': KEY }, { authorization: `Bearer ${KEY}` }, { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' }];
    for (const headers of variants) {
      const res = await postMessages(stack, messagesBody('hi', { max_tokens: 2 }), headers);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { type: string }).type).toBe('message');
    }
  });

  it("is never sent to vLLM: the gateway's own VLLM_API_KEY goes as Bearer", async () => {
    const res = await postMessages(stack, messagesBody('hi', { max_tokens: 2 }), { 'x-api-key': KEY });
    await res.text();
    const headers = stack.sim.requests.at(-1)?.headers ?? {};
    expect(headers['x-api-key']).toBeUndefined();
    expect(headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
  });

  it('missing, wrong and malformed keys get one Anthropic-shaped 401, byte for byte', async () => {
    const attempts: Array<Record<string, string>> = [{}, { 'x-api-key': 'sk-wrong' }, { authorization: 'Bearer sk-wrong' }, { authorization: 'Basic abc' }, { 'x-api-key': 'two words' }];
    const bodies = new Set<string>();
    for (const headers of attempts) {
      for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
        const res = await postMessages(stack, messagesBody('hi'), headers, path);
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer');
        bodies.add(await res.text());
      }
    }
    expect(bodies.size).toBe(1);
    const body = JSON.parse([...bodies][0] as string) as ErrorBody;
    expect(body).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.stringContaining('Invalid API key') as unknown } });
    // Chat keeps the OpenAI envelope.
    const chat = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(((await chat.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
  });

  it('the SDK raises AuthenticationError with the body', async () => {
    const err = await sdk(stack, { apiKey: 'sk-wrong' }).messages.create({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });
});

describe('400s, 404, 413 and 500 in Anthropic shape', () => {
  async function expectError(res: Response, status: number, type: string, message?: RegExp): Promise<ErrorBody> {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as ErrorBody;
    expect(Object.keys(body)).toEqual(['type', 'error']);
    expect(body.type).toBe('error');
    expect(Object.keys(body.error)).toEqual(['type', 'message']);
    expect(body.error.type).toBe(type);
    if (message) expect(body.error.message).toMatch(message);
    return body;
  }

  it('our own validation: max_tokens required, ≥ 1, integer, under MAX_TOKENS_LIMIT; messages; JSON', async () => {
    await expectError(await postMessages(stack, { model: MODEL, messages: [{ role: 'user', content: 'hi' }] }), 400, 'invalid_request_error', /^max_tokens is required/);
    await expectError(await postMessages(stack, messagesBody('hi', { max_tokens: 0 })), 400, 'invalid_request_error', /^max_tokens must be at least 1/);
    await expectError(await postMessages(stack, messagesBody('hi', { max_tokens: 2.5 })), 400, 'invalid_request_error', /^max_tokens/);
    await expectError(await postMessages(stack, messagesBody('hi', { max_tokens: 5000 })), 400, 'invalid_request_error', /^max_tokens must be at most 2000 on this gateway/);
    await expectError(await postMessages(stack, { model: MODEL, max_tokens: 5, messages: [] }), 400, 'invalid_request_error', /^messages must contain at least one message/);
    await expectError(await postMessages(stack, { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 7 }] }), 400, 'invalid_request_error', /^messages\[0\]\.content/);
    await expectError(await postMessages(stack, messagesBody('hi', { stream: 'yes' })), 400, 'invalid_request_error', /^stream/);
    await expectError(await postMessages(stack, '{not json'), 400, 'invalid_request_error', /not valid JSON/);
    await expectError(await postMessages(stack, { max_tokens: 5 }, { 'x-api-key': KEY }, '/v1/messages/count_tokens'), 400, 'invalid_request_error', /^messages is required/);
    expect(stack.sim.requests.filter((r) => r.body && (r.body as { max_tokens?: unknown }).max_tokens === 5000)).toHaveLength(0);
  });

  it('the SDK raises BadRequestError', async () => {
    const err = await sdk(stack).messages.create({ model: MODEL, max_tokens: 0, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it("vLLM's OpenAI-shaped schema 400 and its Anthropic-shaped BadRequestError become Anthropic's invalid_request_error", async () => {
    // tool_choice is vLLM's to judge: its pydantic error comes back in vLLM's OpenAI envelope.
    const schema = await expectError(await postMessages(stack, messagesBody('hi', { tool_choice: { type: 'bogus' } })), 400, 'invalid_request_error');
    expect(schema.error.message).toMatch(/tool_choice/);
    // A prompt over the context: vLLM's `{"type":"error","error":{"type":"BadRequestError",…}}`.
    const long = await expectError(await postMessages(stack, messagesBody('word '.repeat(20_000), { max_tokens: 100 })), 400, 'invalid_request_error');
    expect(long.error.message).toMatch(/maximum context length/);
  });

  it('an unknown model is not_found_error (SDK NotFoundError)', async () => {
    await expectError(await postMessages(stack, messagesBody('hi', { model: 'claude-nonexistent' })), 404, 'not_found_error', /claude-nonexistent/);
    const err = await sdk(stack).messages.create({ model: 'claude-nonexistent', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("vLLM's 500 is api_error without vLLM's words", async () => {
    const body = await expectError(await postMessages(stack, messagesBody('boom [[sim:http=500]] [[sim:shape=anthropic]]')), 500, 'api_error');
    expect(body.error.message).toBe('The model server failed to process the request.');
  });

  it('a body over MAX_BODY_BYTES is request_too_large', async () => {
    await expectError(await postMessages(stack, messagesBody('x'.repeat(3 * 1024 * 1024))), 413, 'request_too_large');
  });
});

describe('429 and 503', () => {
  it("the key's rate limit: 429 rate_limit_error with retry-after (SDK RateLimitError)", async () => {
    const first = await postMessages(stack, messagesBody('hi', { max_tokens: 2 }), { 'x-api-key': LIMITED });
    expect(first.status).toBe(200);
    await first.text();
    const res = await postMessages(stack, messagesBody('hi', { max_tokens: 2 }), { 'x-api-key': LIMITED });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as ErrorBody).error.type).toBe('rate_limit_error');
    const err = await sdk(stack, { apiKey: LIMITED }).messages.create({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('admission refused: 503 overloaded_error with retry-after, which the SDK retries', async () => {
    // One slot and no queue: a hanging stream holds the slot.
    const ac = new AbortController();
    const holder = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: JSON.stringify(messagesBody('hold [[sim:hang-after-headers]]', { stream: true })), signal: ac.signal });
    expect(holder.status).toBe(200);
    try {
      const res = await postMessages(stack, messagesBody('hi', { max_tokens: 2 }));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(((await res.json()) as ErrorBody).error.type).toBe('overloaded_error');
      const refusedBefore = stack.logs.filter((l) => l.msg === 'request' && l.rejection === 'queue_full').length;
      const err = await sdk(stack, { maxRetries: 1 }).messages.create({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.ServiceUnavailableError);
      // The SDK tried twice (status ≥ 500 is retried): two more refusals.
      expect(stack.logs.filter((l) => l.msg === 'request' && l.rejection === 'queue_full').length).toBe(refusedBefore + 2);
    } finally {
      ac.abort();
    }
  });
});

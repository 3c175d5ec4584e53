/**
 * Every error path reaches the OpenAI SDK as the right error class and status, in the OpenAI envelope,
 * and none of them takes the gateway down.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, post, startStack, type Stack } from '../../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { MAX_BODY_BYTES: '2048' } });
});
afterAll(() => stack.close());

async function expectEnvelope(res: Response, status: number, match: Record<string, unknown> = {}) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  const body = (await res.json()) as { error: Record<string, unknown> };
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error).toMatchObject(match);
  return body.error;
}

async function sdkError(fn: () => Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OpenAI.APIError);
    return err as InstanceType<typeof OpenAI.APIError>;
  }
  throw new Error('expected an error');
}

describe('request validation (400 before anything goes upstream)', () => {
  it('invalid JSON', async () => {
    const before = stack.sim.requests.length;
    await expectEnvelope(await post(`${stack.url}/v1/chat/completions`, '{"messages": ['), 400, { type: 'invalid_request_error', code: 'invalid_json' });
    expect(stack.sim.requests.length).toBe(before);
  });

  it('wrong content type', async () => {
    const res = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(chatBody('x')) });
    await expectEnvelope(res, 400, { code: 'invalid_content_type' });
  });

  it('empty messages, wrong types and out-of-range sampling values name the field', async () => {
    const client = stack.client();
    const empty = await sdkError(() => client.chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [] }));
    expect(empty).toBeInstanceOf(OpenAI.BadRequestError);
    expect(empty.param).toBe('messages');
    const hot = await sdkError(() => client.chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'x' }], temperature: 3 } as never));
    expect(hot.status).toBe(400);
    expect(hot.param).toBe('temperature');
    const res = await post(`${stack.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }], max_tokens: 'ten' });
    await expectEnvelope(res, 400, { param: 'max_tokens' });
  });

  it('413 past MAX_BODY_BYTES', async () => {
    await expectEnvelope(await post(`${stack.url}/v1/chat/completions`, chatBody('x'.repeat(4096))), 413, { code: 'request_too_large' });
  });

  it('404 model_not_found for an unknown model, before anything goes upstream', async () => {
    const before = stack.sim.requests.length;
    const err = await sdkError(() => stack.client().chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'x' }] }));
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.code).toBe('model_not_found');
    expect(stack.sim.requests.length).toBe(before);
  });

  it('404 for unknown paths and 405 for wrong methods, both in the OpenAI shape', async () => {
    await expectEnvelope(await fetch(`${stack.url}/v1/nope`), 404, { type: 'not_found_error' });
    const res = await fetch(`${stack.url}/v1/chat/completions`);
    expect(res.headers.get('allow')).toBe('POST');
    await expectEnvelope(res, 405, { code: 'method_not_allowed' });
  });
});

describe('upstream errors become the OpenAI envelope with the same status', () => {
  it('vLLM 500 → InternalServerError, without vLLM internals', async () => {
    const err = await sdkError(() => stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'boom [[sim:http=500]]' }] }));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.status).toBe(500);
    expect(err.message).not.toMatch(/EngineCore|Traceback|127\.0\.0\.1/);
  });

  it('vLLM 400 in the old flat shape → BadRequestError carrying its message', async () => {
    const err = await sdkError(() => stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'x [[sim:http=400]] [[sim:shape=flat]]' }] }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message.length).toBeGreaterThan(10);
  });

  it('vLLM 404 detail shape and empty bodies keep their status', async () => {
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('x [[sim:http=404]] [[sim:shape=detail]]'));
    await expectEnvelope(res, 404);
    await expectEnvelope(await post(`${stack.url}/v1/chat/completions`, chatBody('x [[sim:http=503]] [[sim:shape=empty]]')), 503);
  });

  it('a connection reset before headers → 502 (not retried: vLLM may have started the work)', async () => {
    const before = stack.sim.requests.length;
    const err = await sdkError(() => stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'x [[sim:reset-before-headers]]' }] }));
    expect(err.status).toBe(502);
    expect(stack.sim.requests.length).toBe(before + 1);
  });

  it('a reset mid-stream reaches the SDK as an error; the gateway stays healthy', async () => {
    const stream = await stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'x [[sim:reset-mid-stream]]' }], max_tokens: 50, stream: true });
    await expect(async () => {
      for await (const _chunk of stream) void _chunk;
    }).rejects.toThrow(/incomplete|lost/);
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    const ok = await stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'after' }], max_tokens: 2 });
    expect(ok.choices[0]!.finish_reason).toBe('length');
  });

  it("vLLM's own error event mid-stream passes through to the SDK", async () => {
    const stream = await stack.client().chat.completions.create({ model: 'qwen2.5-7b-instruct', messages: [{ role: 'user', content: 'x [[sim:error-mid-stream]]' }], max_tokens: 50, stream: true });
    await expect(async () => {
      for await (const _chunk of stream) void _chunk;
    }).rejects.toBeInstanceOf(OpenAI.APIError);
  });
});

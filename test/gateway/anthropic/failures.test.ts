/**
 * Streams that do not end well on /v1/messages: the client leaving mid-stream aborts vLLM's request (the
 * simulator records the abort); a stream vLLM cuts ends with one Anthropic `event: error`, which the SDK
 * raises; vLLM's own error event (an internal_error over a validation dump) is replaced by ours. Checked
 * through real sockets with @anthropic-ai/sdk 1.15.0.
 */
import { request } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRequestEnd, type Stack } from '../../support/stack.js';
import { KEY, MODEL, events, messagesBody, postMessages, requestLine, sdk, startAnthropicStack } from './support.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startAnthropicStack();
});
afterAll(() => stack.close());

/** Sends a streaming request and destroys the socket after the first body bytes. */
function sendAndDrop(body: unknown): Promise<void> {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const url = new URL(`${stack.url}/v1/messages`);
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-api-key': KEY } });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.on('response', (res) => res.once('data', () => req.destroy()));
    req.end(payload);
  });
}

describe('client abort', () => {
  it('a client leaving mid-stream aborts the vLLM request at once', async () => {
    const ended = nextRequestEnd(stack.sim);
    const t0 = performance.now();
    await sendAndDrop(messagesBody('long answer [[sim:itl=50]]', { stream: true, max_tokens: 500 }));
    expect((await ended).outcome).toBe('aborted');
    expect(performance.now() - t0).toBeLessThan(2_000);
    await new Promise((r) => setTimeout(r, 50));
    const line = stack.logs.findLast((l) => l.msg === 'request' && l.surface === 'messages');
    expect(line).toMatchObject({ clientAborted: true, status: 499 });
  });

  it('the SDK aborting its stream aborts vLLM too', async () => {
    const ended = nextRequestEnd(stack.sim);
    const stream = sdk(stack).messages.stream({ model: MODEL, max_tokens: 500, messages: [{ role: 'user', content: 'long [[sim:itl=50]]' }] });
    await new Promise<void>((resolve) => stream.once('text', () => resolve()));
    stream.abort();
    await expect(stream.finalMessage()).rejects.toBeInstanceOf(Anthropic.APIUserAbortError);
    expect((await ended).outcome).toBe('aborted');
  });
});

describe('a stream vLLM does not finish', () => {
  it('cut by vLLM (connection reset): whole events, then one Anthropic error event, never message_stop', async () => {
    const res = await postMessages(stack, messagesBody('cut [[sim:reset-mid-stream]]', { stream: true, max_tokens: 50 }), { 'x-api-key': KEY, 'x-request-id': 'anth-cut-1' });
    expect(res.status).toBe(200);
    const parsed = events(await res.text());
    expect(parsed[0]?.event).toBe('message_start');
    expect(parsed.map((e) => e.event)).not.toContain('message_stop');
    expect(parsed.filter((e) => e.event === 'error')).toHaveLength(1);
    const last = parsed.at(-1);
    expect(last?.event).toBe('error');
    expect(last?.data).toEqual({ type: 'error', error: { type: 'api_error', message: 'The connection to the model server was lost; the answer is incomplete.' } });
    const line = await requestLine(stack, 'anth-cut-1');
    expect(line).toMatchObject({ status: 200, tokensOut: null, upstreamError: { kind: 'reset' } });
  });

  it('the SDK raises the error event as an APIError of type api_error', async () => {
    const stream = sdk(stack).messages.stream({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'cut [[sim:reset-mid-stream]]' }] });
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect(texts.length).toBeGreaterThan(0);
  });

  it("vLLM's own error event is replaced by ours; its text stays in the log", async () => {
    const res = await postMessages(stack, messagesBody('fails [[sim:error-mid-stream]]', { stream: true, max_tokens: 50 }), { 'x-api-key': KEY, 'x-request-id': 'anth-err-1' });
    const text = await res.text();
    expect(text).not.toContain('internal_error');
    expect(text).not.toContain('validation error');
    const parsed = events(text);
    expect(parsed.filter((e) => e.event === 'error')).toHaveLength(1);
    expect(parsed.at(-1)?.data).toEqual({ type: 'error', error: { type: 'api_error', message: 'The model server failed while generating; the answer is incomplete.' } });
    const line = await requestLine(stack, 'anth-err-1');
    expect(line.upstreamError).toMatchObject({ kind: 'stream_error', detail: expect.stringContaining('validation errors') as unknown });
  });
});

/** A wrong method on a surface's path answers 405 with `Allow`, in that surface's error shape. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

describe('405 per surface', () => {
  it('Anthropic shape on /v1/messages, OpenAI envelope elsewhere', async () => {
    const messages = await fetch(`${stack.url}/v1/messages`);
    expect(messages.status).toBe(405);
    expect(messages.headers.get('allow')).toBe('POST');
    expect(await messages.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const responses = await fetch(`${stack.url}/v1/responses`, { method: 'PUT' });
    expect(responses.status).toBe(405);
    expect(await responses.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
    const stored = await fetch(`${stack.url}/v1/responses/resp_x`, { method: 'PUT' });
    expect(stored.status).toBe(405);
    expect(stored.headers.get('allow')).toBe('GET, DELETE');
  });
});

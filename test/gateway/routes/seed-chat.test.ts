/**
 * The seed chatbot body on /chat (issue 12): `{message, conversation_id?, temperature?, max_length?}` in,
 * `{response, conversation_id, timestamp, model_info, processing_time}` out, the history kept in the
 * conversation store that /v1/conversations reads; a body with `messages` stays chat completions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, post, startStack, type Stack } from '../../support/stack.js';

let stack: Stack;
let dir: string;
const alice = { authorization: 'Bearer sk-alice' };
const bob = { authorization: 'Bearer sk-bob' };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vg-seed-'));
  stack = await startStack({ env: { API_KEYS: 'alice:sk-alice,bob:sk-bob', DATA_DIR: dir, MAX_TOKENS_LIMIT: '256' } });
});
afterAll(async () => {
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

interface SeedReply {
  response: string;
  conversation_id: string;
  timestamp: string;
  model_info: { model: string };
  processing_time: number;
}

describe('/chat with the seed chatbot body', () => {
  it('answers in the seed shape and starts a conversation', async () => {
    const res = await post(`${stack.url}/chat`, { message: 'Hello there', temperature: 0.7, max_length: 12 }, alice);
    expect(res.status).toBe(200);
    const reply = (await res.json()) as SeedReply;
    expect(reply.response.length).toBeGreaterThan(0);
    expect(reply.conversation_id).toMatch(/^conv_/);
    expect(Number.isNaN(Date.parse(reply.timestamp))).toBe(false);
    expect(reply.model_info.model).toBe('qwen2.5-7b-instruct');
    expect(reply.processing_time).toBeGreaterThanOrEqual(0);
    const sent = stack.sim.requests.at(-1)!.body as { messages: unknown[]; max_tokens: number; temperature: number };
    expect(sent).toMatchObject({ messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 12, temperature: 0.7 });
  });

  it('keeps the history by conversation_id, readable through /v1/conversations', async () => {
    const first = (await (await post(`${stack.url}/chat`, { message: 'My name is Ada' }, alice)).json()) as SeedReply;
    const second = await post(`${stack.url}/chat`, { message: 'What is my name?', conversation_id: first.conversation_id }, alice);
    expect(second.status).toBe(200);
    expect(((await second.json()) as SeedReply).conversation_id).toBe(first.conversation_id);
    const sent = stack.sim.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(sent.messages[0]!.content).toBe('My name is Ada');
    const items = (await (await fetch(`${stack.url}/v1/conversations/${first.conversation_id}/items?order=asc`, { headers: alice })).json()) as { data: Array<{ role: string }> };
    expect(items.data.map((i) => i.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });

  it('404 for an unknown conversation, and for another key\'s', async () => {
    const unknown = await post(`${stack.url}/chat`, { message: 'hi', conversation_id: 'conv_nope' }, alice);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { param: string } }).error.param).toBe('conversation_id');
    const mine = (await (await post(`${stack.url}/chat`, { message: 'secret' }, alice)).json()) as SeedReply;
    const theirs = await post(`${stack.url}/chat`, { message: 'hi', conversation_id: mine.conversation_id }, bob);
    expect(theirs.status).toBe(404);
  });

  it('refuses bad values by name, and max_length above MAX_TOKENS_LIMIT', async () => {
    for (const [body, param] of [
      [{ message: '' }, 'message'],
      [{ message: 'x', temperature: 5 }, 'temperature'],
      [{ message: 'x', max_length: 0 }, 'max_length'],
      [{ message: 'x', max_length: 1000 }, 'max_length'],
    ] as const) {
      const res = await post(`${stack.url}/chat`, body, alice);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
  });

  it('a body with messages stays OpenAI chat completions', async () => {
    const res = await post(`${stack.url}/chat`, chatBody('plain chat'), alice);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { object: string }).object).toBe('chat.completion');
  });
});

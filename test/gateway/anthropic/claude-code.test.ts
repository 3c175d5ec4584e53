/**
 * Requests shaped as Claude Code sends them (ANTHROPIC_BASE_URL at the gateway, ANTHROPIC_API_KEY as
 * x-api-key): `?beta=true`, anthropic-* headers, a Claude model name mapped by MODEL_ALIASES, system
 * blocks with cache_control, tools, a tool_result turn, metadata.user_id (the affinity session); and
 * count_tokens. Also the key headers' precedence (presentedKey).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presentedKey } from '../../../gateway/auth/keys.js';
import { startSimulator } from '../../../vllm/sim/index.js';
import type { Stack } from '../../support/stack.js';
import { KEY, MODEL, events, sdk, startAnthropicStack } from './support.js';

const CLAUDE_MODEL = 'claude-sonnet-4-5-20250929';
let stack: Stack;
beforeAll(async () => {
  stack = await startAnthropicStack({ env: { MODEL_ALIASES: `${CLAUDE_MODEL}=${MODEL}`, SSE_KEEPALIVE_MS: '1000' } });
});
afterAll(() => stack.close());

const HEADERS = {
  'content-type': 'application/json',
  'x-api-key': KEY,
  'anthropic-version': '2023-06-01',
  'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14',
  'x-app': 'cli',
  'user-agent': 'claude-cli/2.1.0 (external, cli)',
};

const TOOLS = [{ name: 'Read', description: 'Reads a file', input_schema: { type: 'object', properties: { file_path: { type: 'string' } }, required: ['file_path'] } }];

function claudeCodeBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: CLAUDE_MODEL,
    max_tokens: 4000,
    stream: true,
    system: [
      { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.0' },
      { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
    ],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'read the README', cache_control: { type: 'ephemeral' } }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: 'README.md' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '# vllm-gateway\nA gateway.' }] },
    ],
    tools: TOOLS,
    metadata: { user_id: 'user_0123_account__session_5f0c' },
    temperature: 1,
    ...extra,
  };
}

describe('Claude Code', () => {
  it('a streaming turn after a tool result is served under the aliased model', async () => {
    const res = await fetch(`${stack.url}/v1/messages?beta=true`, { method: 'POST', headers: HEADERS, body: JSON.stringify(claudeCodeBody()) });
    expect(res.status).toBe(200);
    const parsed = events(await res.text());
    expect(parsed[0]?.event).toBe('message_start');
    expect(parsed.at(-1)?.event).toBe('message_stop');
    const rec = stack.sim.requests.at(-1);
    expect(rec?.body).toMatchObject({ model: MODEL, metadata: { user_id: 'user_0123_account__session_5f0c' }, tools: TOOLS });
    expect(rec?.headers['x-api-key']).toBeUndefined();
    expect(rec?.headers['anthropic-beta']).toBeUndefined();
    const line = stack.logs.findLast((l) => l.msg === 'request' && l.surface === 'messages');
    expect(line).toMatchObject({ status: 200, model: MODEL, key: 'claude', tokensOut: expect.any(Number) as unknown });
  });

  it('count_tokens with tools and system blocks', async () => {
    const body = claudeCodeBody();
    delete body.max_tokens;
    delete body.stream;
    const res = await fetch(`${stack.url}/v1/messages/count_tokens?beta=true`, { method: 'POST', headers: HEADERS, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    const counted = (await res.json()) as { input_tokens: number };
    expect(counted.input_tokens).toBeGreaterThan(10);
  });
});

describe('SSE_KEEPALIVE_MS', () => {
  it('": ping" comments during a long prefill, between whole events; the SDK skips them', async () => {
    const body = JSON.stringify(claudeCodeBody({ messages: [{ role: 'user', content: 'slow start [[sim:ttft=2500]]' }], max_tokens: 3 }));
    const raw = await (await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: HEADERS, body })).text();
    expect(raw).toMatch(/^: ping\n\n/);
    expect(events(raw.replaceAll(': ping\n\n', '')).at(-1)?.event).toBe('message_stop');
    const msg = await sdk(stack).messages.stream({ model: CLAUDE_MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'slow start [[sim:ttft=2500]]' }] }).finalMessage();
    expect(msg.usage.output_tokens).toBe(3);
  });
});

describe('presentedKey', () => {
  it('Authorization decides alone when present; then x-api-key; then api-key', () => {
    expect(presentedKey(undefined, undefined, 'sk-x')).toBe('sk-x');
    expect(presentedKey(undefined, 'sk-azure', 'sk-x')).toBe('sk-x');
    expect(presentedKey('Bearer sk-b', 'sk-azure', 'sk-x')).toBe('sk-b');
    expect(presentedKey('Basic abc', undefined, 'sk-x')).toBeUndefined();
    expect(presentedKey(undefined, 'sk-azure', '')).toBe('sk-azure');
    expect(presentedKey(undefined, undefined, ' sk-x ')).toBe('sk-x');
    expect(presentedKey(undefined, undefined, 'two words')).toBeUndefined();
  });
});

describe('affinity', () => {
  it('metadata.user_id keeps a session on one backend of two', async () => {
    const other = startSimulator({ ttftMs: 1, itlMs: 1 });
    await other.ready;
    const two = await startAnthropicStack({ env: { VLLM_URL: `${stack.sim.url},${other.url}`, ROUTING: 'round-robin' } });
    try {
      await two.gw.waitReady(5_000);
      const backendsOf = async (metadata: (i: number) => unknown) => {
        const backends = new Set<unknown>();
        for (let i = 0; i < 6; i++) {
          const res = await fetch(`${two.url}/v1/messages`, { method: 'POST', headers: HEADERS, body: JSON.stringify({ model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: `turn ${i}` }], metadata: metadata(i) }) });
          expect(res.status).toBe(200);
          await res.text();
          backends.add(two.logs.findLast((l) => l.msg === 'request' && l.surface === 'messages')?.backend);
        }
        return backends.size;
      };
      // Round-robin spreads requests without a session; one session stays put.
      expect(await backendsOf(() => ({}))).toBe(2);
      expect(await backendsOf(() => ({ user_id: 'user_1_session_same' }))).toBe(1);
    } finally {
      await two.close();
      await other.close();
    }
  });
});

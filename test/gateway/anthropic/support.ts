/** Shared bits of the Anthropic surface tests: a stack with keys, an SDK client, SSE event parsing, metrics. */
import Anthropic from '@anthropic-ai/sdk';
import { startStack, type Stack, type StackOptions } from '../../support/stack.js';

export const MODEL = 'qwen2.5-7b-instruct';
export const KEY = 'sk-anthropic-test';

export function startAnthropicStack(options: StackOptions = {}): Promise<Stack> {
  return startStack({ ...options, env: { API_KEYS: `claude:${KEY}`, ALLOW_ANONYMOUS: 'false', ...options.env } });
}

export function sdk(stack: Stack, extra: Partial<ConstructorParameters<typeof Anthropic>[0]> = {}): Anthropic {
  return new Anthropic({ baseURL: stack.url, apiKey: KEY, maxRetries: 0, timeout: 15_000, ...extra });
}

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
  raw: string;
}

/** `event:`/`data:` pairs of an Anthropic SSE body; throws on anything else, so a stray byte fails the test. */
export function events(body: string): SseEvent[] {
  return body
    .split('\n\n')
    .filter((e) => e.length > 0)
    .map((raw) => {
      const m = /^event: (\S+)\ndata: (.*)$/s.exec(raw);
      if (!m) throw new Error(`not an Anthropic SSE event: ${JSON.stringify(raw)}`);
      return { event: m[1] as string, data: JSON.parse(m[2] as string) as Record<string, unknown>, raw };
    });
}

export function messagesBody(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: MODEL, max_tokens: 8, messages: [{ role: 'user', content }], ...extra };
}

export async function postMessages(stack: Stack, body: unknown, headers: Record<string, string> = { 'x-api-key': KEY }, path = '/v1/messages'): Promise<Response> {
  return fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Sum of a counter's samples whose labels include all of `labels`. */
export async function metricValue(stack: Stack, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The gateway's request log line for a request id (the log is written when the request ends). */
export async function requestLine(stack: Stack, reqId: string, ms = 2_000): Promise<Record<string, unknown>> {
  const until = performance.now() + ms;
  for (;;) {
    const line = stack.logs.find((l) => l.msg === 'request' && l.reqId === reqId);
    if (line) return line;
    if (performance.now() > until) throw new Error(`no request log line for ${reqId}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

import { describe, expect, it } from 'vitest';
import { SseUsageScanner } from '../../../gateway/proxy/sse-usage.js';

const role = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n';
const tok = (t: string) => `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"${t}"},"logprobs":null,"finish_reason":null}]}\n\n`;
const finish = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":"length","stop_reason":null}]}\n\n';
const usage = 'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":30,"total_tokens":38,"completion_tokens":8}}\n\n';
const done = 'data: [DONE]\n\n';

function run(scanner: SseUsageScanner, chunks: string[]): string {
  let out = '';
  for (const c of chunks) out += scanner.push(Buffer.from(c))?.toString() ?? '';
  out += scanner.flush()?.toString() ?? '';
  return out;
}

describe('SseUsageScanner', () => {
  const stream = [role, tok('Hel'), tok('lo'), finish, usage, done];

  it('forwards every byte unchanged when the client asked for usage, and reads usage and finish reason', () => {
    const s = new SseUsageScanner(false);
    expect(run(s, stream)).toBe(stream.join(''));
    expect(s.usage).toEqual({ prompt_tokens: 30, completion_tokens: 8, total_tokens: 38 });
    expect(s.finishReason).toBe('length');
    expect(s.sawDone).toBe(true);
  });

  it('drops exactly the usage-only chunk when the client did not ask for usage', () => {
    const s = new SseUsageScanner(true);
    expect(run(s, stream)).toBe([role, tok('Hel'), tok('lo'), finish, done].join(''));
    expect(s.usage?.total_tokens).toBe(38);
  });

  it('says whether it holds part of an event back (no keep-alive comment may be written then)', () => {
    const s = new SseUsageScanner(true);
    expect(s.atEventBoundary).toBe(true);
    s.push(Buffer.from(role.slice(0, 20)));
    expect(s.atEventBoundary).toBe(false);
    s.push(Buffer.from(role.slice(20)));
    expect(s.atEventBoundary).toBe(true);
  });

  it('handles events split across chunks at any byte, and several events per chunk', () => {
    const all = stream.join('');
    for (const step of [1, 7, 50, 333]) {
      const chunks: string[] = [];
      for (let i = 0; i < all.length; i += step) chunks.push(all.slice(i, i + step));
      const s = new SseUsageScanner(true);
      expect(run(s, chunks)).toBe([role, tok('Hel'), tok('lo'), finish, done].join(''));
      expect(s.usage?.completion_tokens).toBe(8);
    }
  });

  it('holds an incomplete event until its end arrives (never forwards half an event)', () => {
    const s = new SseUsageScanner(false);
    const half = tok('abc').slice(0, 20);
    expect(s.push(Buffer.from(role + half))?.toString()).toBe(role);
    expect(s.push(Buffer.from(tok('abc').slice(20)))?.toString()).toBe(tok('abc'));
  });

  it('keeps continuous usage on content chunks and drops only the final choices:[] chunk', () => {
    const withUsage = tok('x').replace(']}\n\n', '],"usage":{"prompt_tokens":3,"total_tokens":4,"completion_tokens":1}}\n\n');
    const s = new SseUsageScanner(true);
    expect(run(s, [withUsage, usage, done])).toBe(withUsage + done);
    expect(s.usage?.total_tokens).toBe(38);
  });

  it('reads a vLLM error event after the 200 and passes it through', () => {
    const err = 'data: {"error":{"message":"boom","type":"InternalServerError","param":null,"code":500}}\n\n';
    const s = new SseUsageScanner(true);
    expect(run(s, [role, err, done])).toBe(role + err + done);
    expect(s.upstreamError).toBe('boom');
  });

  it('reports no [DONE] and unknown usage for a stream that ends early', () => {
    const s = new SseUsageScanner(true);
    run(s, [role, tok('a')]);
    expect(s.sawDone).toBe(false);
    expect(s.usage).toBeUndefined();
  });
});
